/*  monitor_dgram: the monitor's messages as UDP multicast datagrams, for when the broker
    is away (and always in multicast-only mode, as in the paper), and the filter every
    receiver puts them through. proto/BUS.md, "Multicast", has the layout:

        0  2  magic 'M' 'K'
        2  1  version (1)
        3  1  flags (bit 0: signed, with the signature in the trailer; no other bit is
              defined and a datagram with one set is refused)
        4  8  the cloud's id
       12  8  the sender's id (a hash of its node's name: the same at every start)
       20  8  the sender's sequence number: its clock in microseconds when it sent,
              kept strictly increasing, so it grows across the sender's restarts too
       28  2  payload size N
       30  N  payload: the Envelope the monitor publishes on the stream (a HostSample)
     30+N  2  trailer size M: 0 unsigned, 32 signed
     32+N  M  trailer: the signature, HMAC-SHA-512-256 (libsodium's crypto_auth) with the
              cloud's multicast key over every byte before it (header, payload and M)

    All numbers big-endian. A receiver drops and counts a datagram that is malformed
    (bad magic, version, flags or sizes), truncated, from another cloud, replayed (a
    sequence number not above the last taken from that sender) or stale (sent more than
    a window away from the receiver's clock: a replay after the receiver restarted); a
    receiver with the cloud's key also one unsigned, or forged (its signature not the
    key's: anyone on the group may send, only the cloud's monitors hold the key). The
    signature is checked before the sender's sequence is looked at: a forged datagram
    cannot move it. */
#ifndef MONITOR_DGRAM_H_INCLUDED
#define MONITOR_DGRAM_H_INCLUDED

#include "maekin.h"

#define MONITOR_DGRAM_HEADER 30
//  The cloud's multicast key, and a signature.
#define MONITOR_DGRAM_KEY 32
#define MONITOR_DGRAM_SIG 32
//  The most a datagram may hold: UDP's limit, less IP's and UDP's headers.
#define MONITOR_DGRAM_MAX 65507
//  Senders a filter remembers; a new one beyond is refused until one goes quiet.
#define MONITOR_DGRAM_SENDERS_MAX 4096

//  The datagram of payload from sender as the next of its sequence, signed with key
//  (MONITOR_DGRAM_KEY bytes; NULL: unsigned); its size, or 0 if it does not fit in size
//  bytes (the payload is too big for a datagram).
size_t monitor_dgram_pack (uint64_t cloud, uint64_t sender, uint64_t seq, const void *payload,
                           size_t payload_size, const uint8_t *key, uint8_t *out, size_t size);

//  A sender's id from its node's name.
uint64_t monitor_dgram_sender (const char *node);

//  A cloud's id from its name (the configuration's cloud/name).
uint64_t monitor_dgram_cloud (const char *name);

typedef enum {
    MONITOR_DGRAM_OK,
    MONITOR_DGRAM_MALFORMED,
    MONITOR_DGRAM_TRUNCATED,
    MONITOR_DGRAM_FOREIGN,
    MONITOR_DGRAM_REPLAYED,
    MONITOR_DGRAM_STALE,
    MONITOR_DGRAM_CROWDED,  //  a new sender beyond MONITOR_DGRAM_SENDERS_MAX
    MONITOR_DGRAM_UNSIGNED, //  not signed, where the receiver has the cloud's key
    MONITOR_DGRAM_FORGED,   //  signed, but not with the cloud's key (or changed since)
    MONITOR_DGRAM_VERDICTS
} monitor_dgram_verdict_t;

typedef struct _monitor_dgram_filter_t monitor_dgram_filter_t;

//  A filter for the cloud's datagrams, taking those sent within window_ms of now and,
//  with key (MONITOR_DGRAM_KEY bytes, copied), signed with it alone; without, the
//  signatures are not checked (a cloud whose bus is plain text too).
monitor_dgram_filter_t *monitor_dgram_filter_new (uint64_t cloud, int64_t window_ms,
                                                  const uint8_t *key);
void monitor_dgram_filter_destroy (monitor_dgram_filter_t **self_p);

//  What to do with a datagram that came at now_us (the receiver's clock, microseconds):
//  on MONITOR_DGRAM_OK, *payload and *payload_size are its payload (inside data) and
//  the sender's sequence is taken. Every verdict is counted.
monitor_dgram_verdict_t monitor_dgram_filter_check (monitor_dgram_filter_t *self,
                                                    const uint8_t *data, size_t size,
                                                    int64_t now_us, const uint8_t **payload,
                                                    size_t *payload_size);

//  How many datagrams got this verdict so far.
uint64_t monitor_dgram_filter_count (monitor_dgram_filter_t *self, monitor_dgram_verdict_t verdict);

//  The verdict's name, for logs and counters ("replayed").
const char *monitor_dgram_verdict_name (monitor_dgram_verdict_t verdict);

void monitor_dgram_test (bool verbose);

#endif

/*  monitor_mcast: the monitor's UDP socket on the multicast group: it sends a host's
    messages as datagrams (monitor_dgram) and reads the group's, each through the filter,
    so monitors hear each other with no broker (the paper's host monitoring system).
    The group may also be a unicast address, for a test on loopback. */
#ifndef MONITOR_MCAST_H_INCLUDED
#define MONITOR_MCAST_H_INCLUDED

#include "maekin.h"

#include "monitor_dgram.h"

typedef struct {
    const char *group;     //  IPv4 multicast group (or a unicast address: tests)
    int port;              //  1 .. 65535
    const char *interface; //  the IPv4 address of the interface to use; NULL or "": the
                           //  route's (in a namespace: `ip route add 224.0.0.0/4 dev eth0`)
    uint64_t cloud;        //  monitor_dgram_cloud of the cloud's name
    int64_t window_ms;     //  datagrams sent further from our clock are stale
    const uint8_t *key;    //  the cloud's multicast key (MONITOR_DGRAM_KEY bytes, copied):
                           //  what it sends is signed, what it takes must be; NULL: neither
} monitor_mcast_opts_t;

typedef struct _monitor_mcast_t monitor_mcast_t;

//  NULL, or what is wrong with the options (a new string).
char *monitor_mcast_check (const monitor_mcast_opts_t *opts);

//  The socket, bound to the port and joined to the group; NULL and *error (a new
//  string) if the options are bad or the system refuses.
monitor_mcast_t *monitor_mcast_new (const monitor_mcast_opts_t *opts, char **error);
void monitor_mcast_destroy (monitor_mcast_t **self_p);

//  Its file descriptor, to poll for datagrams to read.
int monitor_mcast_fd (monitor_mcast_t *self);

//  Send payload as sender's next datagram. 0, or -1 (too big, or the system refused:
//  counted, the message is not sent this interval).
int monitor_mcast_send (monitor_mcast_t *self, uint64_t sender, const void *payload, size_t size);

//  Read one datagram, if one waits: -1 if none, else its verdict; on MONITOR_DGRAM_OK
//  *payload (valid until the next read) and *size are its payload.
int monitor_mcast_recv (monitor_mcast_t *self, const uint8_t **payload, size_t *size);

//  What was sent, failed to send, and each verdict on what came.
uint64_t monitor_mcast_sent (monitor_mcast_t *self);
uint64_t monitor_mcast_send_failed (monitor_mcast_t *self);
monitor_dgram_filter_t *monitor_mcast_filter (monitor_mcast_t *self);

void monitor_mcast_test (bool verbose);

#endif

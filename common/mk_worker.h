/*  mk_worker: a worker on the bus (proto/BUS.md). Serves one or more services on one
    socket, heartbeats, and registers again when the broker restarts. The caller polls
    mk_worker_sock, calls mk_worker_recv when it is readable and mk_worker_tick at least
    twice a heartbeat interval. */
#ifndef MK_WORKER_H_INCLUDED
#define MK_WORKER_H_INCLUDED

#include "maekin.h"

typedef struct _mk_worker_t mk_worker_t;

//  One request as received: the broker's token (give it back with the reply), the
//  service it was sent to, its envelope (owned by the request), and on a CURVE bus the
//  public key of the sender as the broker vouches for it ("" on a plain-text bus).
typedef struct {
    uint64_t token;
    char service[64];
    Maekin__Envelope *env;
    char caller[41]; //  Z85, 40 characters, or ""
} mk_request_t;

//  Connect to the broker and offer the services (1..64 names).
mk_worker_t *mk_worker_new (const char *endpoint, const char **services, size_t count);

//  Say DISCONNECT and close.
void mk_worker_destroy (mk_worker_t **self_p);

zsock_t *mk_worker_sock (mk_worker_t *self);

//  Read one message. 1 and *request filled if it was a request; 0 if it was bus traffic
//  or a request the worker already answered itself (malformed body: status 400, other
//  message version: 505); -1 if nothing could be read.
int mk_worker_recv (mk_worker_t *self, mk_request_t *request);
//  The same without waiting: -1 when nothing is waiting. To drain a batch, this is
//  cheaper than asking mk_worker_pending before each message.
int mk_worker_recv_nowait (mk_worker_t *self, mk_request_t *request);

//  True if a message is waiting (to drain a batch without polling again).
bool mk_worker_pending (mk_worker_t *self);

//  Send the reply (final) or a progress message for a request's token.
int mk_worker_reply (mk_worker_t *self, uint64_t token, Maekin__Envelope *env);
int mk_worker_progress (mk_worker_t *self, uint64_t token, Maekin__Envelope *env);

//  Send a reply whose envelope is packed already (a remembered answer); takes the frame.
int mk_worker_reply_frame (mk_worker_t *self, uint64_t token, zframe_t **body_p);
//  Answer a task_batch: count packed answers, one per item in its order (destroyed).
int mk_worker_reply_batch (mk_worker_t *self, uint64_t token, zframe_t **answers, size_t count);

//  Heartbeat if nothing was sent for an interval, and register again if the broker was
//  silent too long; call at least twice an interval (a heartbeat is then never more than
//  1.5 intervals after the last message, well inside the broker's MK_WIRE_LIVENESS).
void mk_worker_tick (mk_worker_t *self);

//  True if the broker was heard from within the liveness period.
bool mk_worker_connected (mk_worker_t *self);

//  How many times the worker said READY: when it grows, the broker had forgotten us (it
//  restarted, or the link was down), and whoever depends on us may want to know now.
uint64_t mk_worker_readies (mk_worker_t *self);

//  Heartbeat interval in ms (default MK_WIRE_HEARTBEAT_MS), mostly for tests.
void mk_worker_set_heartbeat (mk_worker_t *self, int interval_ms);

void mk_request_clear (mk_request_t *request);

void mk_worker_test (bool verbose);

#endif

/*  mk_fake_peer: a peer on the bus whose answers a self-test writes. A worker on its own
    thread serves the given services (`cloud` for a fake controller, `node/...` for a
    fake agent) and hands each request to the test's handler; the test asks what the
    peer heard through mk_fake_peer_ask, which runs on the peer's thread, so the test's
    state needs no lock. The one fake every self-test uses for the peers it does not test. */
#ifndef MK_FAKE_PEER_H_INCLUDED
#define MK_FAKE_PEER_H_INCLUDED

#include "mk_worker.h"

typedef struct _mk_fake_peer_t mk_fake_peer_t;

//  What a handler does after a request.
typedef enum {
    MK_FAKE_ANSWERED, //  answered it, or left it unanswered on purpose (a lost reply)
    MK_FAKE_RESTART,  //  disconnect now and come back, as a restarting peer does
} mk_fake_next_t;

//  Answers one request with mk_worker_reply (or not), on the peer's thread.
typedef mk_fake_next_t (mk_fake_handle_fn) (void *state, mk_worker_t *worker,
                                            const mk_request_t *request);

//  Answers a test's question about what the peer heard, on the peer's thread: a new
//  string. `arg` may be NULL.
typedef char *(mk_fake_ask_fn) (void *state, const char *question, const char *arg);

//  A real broker (broker_router) on a free loopback port, for the peers and the test's
//  clients: heartbeats every second, at most max_pending open requests a worker, 504
//  after a minute; *endpoint is its endpoint (a new string).
zactor_t *mk_fake_peer_broker (int max_pending, char **endpoint);

//  Serve `services` (1..64 names, copied) at the broker's endpoint. `state` stays the caller's
//  and is touched only by handle and ask on the peer's thread until the peer is destroyed.
//  A heartbeat of 100 ms, so a test sees the broker notice a restart quickly.
mk_fake_peer_t *mk_fake_peer_new (const char *endpoint, const char **services, size_t count,
                                  mk_fake_handle_fn *handle, mk_fake_ask_fn *ask, void *state);

//  Stop serving (DISCONNECT) and free the peer; the state is the caller's to free.
void mk_fake_peer_destroy (mk_fake_peer_t **self_p);

//  The answer of `ask` on the peer's thread (a new string).
char *mk_fake_peer_ask (mk_fake_peer_t *self, const char *question, const char *arg);

//  The same, read as a number (0 if the answer is not one).
long mk_fake_peer_ask_number (mk_fake_peer_t *self, const char *question, const char *arg);

#endif

/*  mk_client: a client of the bus. Sends requests to a service by name and receives
    their replies, pipelined: many requests may be in flight, matched by correlation id.
    mk_client_call is the synchronous form with timeout and retry (same request id). */
#ifndef MK_CLIENT_H_INCLUDED
#define MK_CLIENT_H_INCLUDED

#include "maekin.h"

typedef struct _mk_client_t mk_client_t;

//  One reply as received: the bus's correlation id, the service that answered, whether
//  it is an intermediate progress message, and the envelope (owned by the reply).
//  Errors made by the broker (no such service, worker lost, busy, timeout) arrive as
//  envelopes holding only status and reason.
typedef struct {
    uint64_t corr;
    char service[64];
    bool progress;
    bool broker; //  an error made by the broker (proto/BUS.md), not the service
    Maekin__Envelope *env;
    zframe_t *body; //  with mk_client_set_packed, a service's answer as it came (env NULL)
} mk_reply_t;

//  Connect to the broker's request endpoint.
mk_client_t *mk_client_new (const char *endpoint);
void mk_client_destroy (mk_client_t **self_p);

//  The credential (a session's token or an API key) every request sent from now on
//  carries, unless it names its own; NULL or "" for none. Copied.
void mk_client_set_token (mk_client_t *self, const char *token);

//  Replies of services keep their Envelope packed in reply->body (env NULL), for a
//  caller that unpacks them elsewhere (the gateway: on the thread that waits for each);
//  the broker's errors still come as env. Not for mk_client_call.
void mk_client_set_packed (mk_client_t *self, bool packed);

//  The socket, for a poller or zloop of the caller's.
zsock_t *mk_client_sock (mk_client_t *self);

//  Now and then (its owner's tick): while the broker's key changes, the socket follows it
//  (mk_sock_rekey). Cheap otherwise.
void mk_client_tick (mk_client_t *self);

//  Send a request; returns its correlation id (never 0), or 0 if the bus refused it.
uint64_t mk_client_send (mk_client_t *self, const char *service, Maekin__Envelope *env);

//  Send a request with a correlation id of the caller's choosing (unique among the
//  client's open requests, never 0): 0 or -1. The controller uses task ids, so a reply
//  or a bus error finds its task without a table.
int mk_client_send_as (mk_client_t *self, const char *service, uint64_t corr,
                       Maekin__Envelope *env);

//  The same with the envelope packed already; takes the frame.
int mk_client_send_frame_as (mk_client_t *self, const char *service, uint64_t corr,
                             zframe_t **body_p);

//  Receive the next reply, waiting up to timeout_ms (-1: forever). 0 on success, -1 on
//  timeout or interrupt. Frames that are not a valid reply are logged and skipped.
int mk_client_recv (mk_client_t *self, mk_reply_t *reply, int timeout_ms);

//  Free the envelope a reply holds.
void mk_reply_clear (mk_reply_t *reply);

//  Synchronous call: send, wait for the final reply for up to timeout_ms, resend up to
//  `retries` more times (the request id is kept, so the server does the work once).
//  The broker's "worker lost" (503) and "busy" (429), and its "no worker" (404) after a
//  loss (the service restarting), are retried too, after a short pause. The whole call
//  takes at most (retries + 1) * timeout_ms, except that a progress message restarts
//  the wait: a service that says it is working is waited for.
//  Progress messages are passed to the callback, if any. Returns a reply envelope the
//  caller frees with mk_msg_free; never NULL: on failure it is an envelope with status
//  MK_TIMEOUT or MK_UNAVAILABLE and a reason.
typedef void (mk_progress_fn) (Maekin__Envelope *progress, void *arg);
Maekin__Envelope *mk_client_call (mk_client_t *self, const char *service, Maekin__Envelope *env,
                                  int timeout_ms, int retries, mk_progress_fn *progress, void *arg);

//  True if the answer of the last mk_client_call was made by the broker, not the service
//  (e.g. 404 "no worker serves 'cloud'" rather than the controller's "no such VM").
bool mk_client_last_broker (mk_client_t *self);

//  True if the last mk_client_call ran out of time after its request may have reached
//  the service (an attempt went unanswered, or the broker lost the worker holding it)
//  while the bus was there (it answered something, a "no worker" say):
//  its outcome is unknown, and only asking the service tells. Its answer is then status
//  MK_TIMEOUT with a reason that says so.
bool mk_client_last_unknown (mk_client_t *self);

void mk_client_test (bool verbose);

#endif

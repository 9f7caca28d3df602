/*  gateway_bus: the gateway's one bus client, shared by civetweb's threads. A thread
    that serves an HTTP request calls gateway_bus_call and sleeps; the gateway's actor,
    the only thread that touches the bus socket, sends what the threads queued (one
    wake-up for a burst, every request pipelined on one DEALER, matched by correlation
    id) and hands each reply to the thread that waits for it. So a thousand connections
    cost one bus connection and one CURVE handshake, not a thousand. */
#ifndef GATEWAY_BUS_H_INCLUDED
#define GATEWAY_BUS_H_INCLUDED

#include "maekin.h"

typedef struct _gateway_bus_t gateway_bus_t;

//  A bus client connected to the broker's request endpoint.
gateway_bus_t *gateway_bus_new (const char *endpoint);
void gateway_bus_destroy (gateway_bus_t **self_p);

//  For the actor: serve the bus from its loop (a reader for replies, a poller for
//  what threads queued, a timer that follows a change of the broker's key). 0, or -1.
//  Nothing else touches the bus socket.
int gateway_bus_attach (gateway_bus_t *self, zloop_t *loop);

//  Any thread: send the envelope (packed here; the caller keeps it) to `service` and
//  wait up to timeout_ms for the reply. Progress messages restart the wait. Returns the
//  reply (the caller frees it with gateway_bus_reply_free: it lives in memory of its
//  own, freed at once); never NULL: when the bus answers
//  nothing in time, status MK_TIMEOUT with a reason; when the gateway is stopping,
//  MK_UNAVAILABLE. *broker is set when the answer was made by the broker, not the
//  service (no worker serves it, the worker was lost, busy).
Maekin__Envelope *gateway_bus_call (gateway_bus_t *self, const char *service, Maekin__Envelope *env,
                                    int timeout_ms, bool *broker);

//  Frees a reply of gateway_bus_call, and nulls the pointer.
void gateway_bus_reply_free (Maekin__Envelope **reply_p);

//  Any thread: every waiting call is answered MK_UNAVAILABLE at once, and every later
//  one too (the gateway is stopping).
void gateway_bus_close (gateway_bus_t *self);

//  Requests sent and replies taken so far, and calls waiting now.
void gateway_bus_stats (gateway_bus_t *self, uint64_t *sent, uint64_t *taken, size_t *waiting);

void gateway_bus_test (bool verbose);

#endif

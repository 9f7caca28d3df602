/*  gateway_stream: GET /api/v1/stream, the cloud's events and metrics over WebSocket, each
    text frame a StreamMessage in JSON (the one mapping, mk_codec). The query says what a
    client wants: `events=vm,task,host` (default all three), `after_vm=N` (and
    after_task, after_host: the last sequence number it saw; given, what it missed is
    sent first, then `caught_up`), `metrics=all` or `metrics=node1,node2` (default none).
    Filtered to what the caller may see: the administrator everything; anyone else the
    hosts' events and samples (without their VMs' values) and the events of the VIs they
    hold a role in. Catching up asks the controller (events_since, with the caller's
    credential): it decides what is seen.

    The actor hands each message of the broker's stream to the hub (one shared packed
    copy, a reference in each subscriber's queue: the actor never encodes, filters or
    writes); each subscriber has a thread of its own that catches up, filters, encodes
    and writes, so a slow client holds up no one else, and one whose queue overflows is
    closed ("too slow"). Over HTTPS that writer is civetweb's own thread (OpenSSL allows
    one thread at a time on a connection). */
#ifndef GATEWAY_STREAM_H_INCLUDED
#define GATEWAY_STREAM_H_INCLUDED

#include "maekin.h"

#include "gateway_bus.h"

#include <civetweb.h>

typedef struct _gateway_stream_t gateway_stream_t;

//  A hub whose subscribers catch up through `bus` (borrowed); each holds at most
//  queue_max messages not yet written, and has a thread of `stack` bytes of stack.
gateway_stream_t *gateway_stream_new (gateway_bus_t *bus, size_t queue_max, size_t stack);
//  Every subscriber must be gone (civetweb stopped) before.
void gateway_stream_destroy (gateway_stream_t **self_p);

//  The actor: a message of the broker's stream (topic, and the packed Envelope).
void gateway_stream_publish (gateway_stream_t *self, const char *topic, const void *body,
                             size_t size);

//  civetweb's WebSocket handlers (cbdata: the hub).
int gateway_stream_connect (const struct mg_connection *conn, void *cbdata);
void gateway_stream_ready (struct mg_connection *conn, void *cbdata);
int gateway_stream_data (struct mg_connection *conn, int bits, char *data, size_t size,
                         void *cbdata);
void gateway_stream_close (const struct mg_connection *conn, void *cbdata);

//  Before civetweb stops: every subscriber's writer ends (and its connection closes).
void gateway_stream_stop (gateway_stream_t *self);

//  Subscribers now, and messages handed to them so far.
void gateway_stream_stats (gateway_stream_t *self, size_t *subscribers, uint64_t *handed);

#endif

/*  mk_sock: makes every bus socket Maekin uses, so that socket options (and, later,
    CURVE security) are set in one place. Every socket takes messages of at most
    MK_MSG_MAX bytes (mk_limits.h). Endpoints follow CZMQ: "@tcp://..." binds,
    ">tcp://..." connects, a plain endpoint uses the socket type's usual direction. */
#ifndef MK_SOCK_H_INCLUDED
#define MK_SOCK_H_INCLUDED

#include "maekin.h"

//  A new socket of a ZeroMQ type (ZMQ_DEALER, ZMQ_ROUTER, ZMQ_PUB, ...) attached to the
//  endpoint(s) (comma-separated). NULL and a logged error if an endpoint is invalid or
//  cannot be bound.
zsock_t *mk_sock_new (int type, const char *endpoints);

//  The real endpoint of a socket bound to an ephemeral port ("tcp://127.0.0.1:*").
//  A new string; the caller frees it.
char *mk_sock_endpoint (zsock_t *sock);

//  The next message waiting on the socket, or NULL if none is: never blocks. Cheaper
//  than asking ZMQ_EVENTS first, which costs two system calls every time.
zmsg_t *mk_sock_recv_nowait (zsock_t *sock);

void mk_sock_test (bool verbose);

#endif

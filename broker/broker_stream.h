/*  broker_stream: the metric and event streams: publishers' PUB to our XSUB, our XPUB to
    subscribers' SUB, forwarding messages one way and subscriptions the other. */
#ifndef BROKER_STREAM_H_INCLUDED
#define BROKER_STREAM_H_INCLUDED

#include "maekin.h"

//  Start the proxy actor bound to the two endpoints; NULL (logged) if either cannot be
//  bound. Send it "ENDPOINTS" to read back the two bound endpoints. With CURVE,
//  controller_keys (broker_keys_new) starts the table of who may publish what, which
//  follows the lists the router takes (BROKER_KEYS_ENDPOINT); NULL: anyone may.
zactor_t *broker_stream_new (const char *xsub_endpoint, const char *xpub_endpoint,
                             const char *controller_keys);
void broker_stream_actor (zsock_t *pipe, void *args);

void broker_stream_test (bool verbose);

#endif

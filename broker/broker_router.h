/*  broker_router: routes requests to workers by service name (proto/BUS.md): spreads
    load over a service's workers, heartbeats both ways, forgets dead workers and answers
    their open requests, bounds what it holds, and never blocks on a slow worker. */
#ifndef BROKER_ROUTER_H_INCLUDED
#define BROKER_ROUTER_H_INCLUDED

#include "maekin.h"

typedef struct {
    const char *endpoint; //  where the ROUTER binds, e.g. "tcp://127.0.0.1:7010"
    int heartbeat_ms;     //  heartbeat interval
    int max_pending;      //  open requests one worker may hold
    int timeout_ms;       //  a request with no reply after this gets 504
    const char *events;   //  where to publish "bus.gone" (services left without a
                          //  worker) to the stream; NULL: nowhere
    //  With CURVE: the controller's public keys (broker_keys_new); NULL: a plain-text
    //  bus, where every peer may do anything.
    const char *controller_keys;
} broker_router_opts_t;

//  The endpoint inside the broker's process where the stream takes its router's events.
#define BROKER_EVENTS_ENDPOINT "inproc://maekin-broker-events"

//  Start the router actor; NULL (logged) if its endpoint cannot be bound. Commands on
//  the actor: "ENDPOINT" returns the bound endpoint; "STATS" returns four numbers as
//  strings: workers, services, open requests, requests routed so far.
zactor_t *broker_router_new (const broker_router_opts_t *opts);
void broker_router_actor (zsock_t *pipe, void *args);

void broker_router_test (bool verbose);

#endif

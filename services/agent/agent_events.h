/*  agent_events: libvirt's event loop in a thread of its own, and the domain lifecycle
    events of watched connections sent on as messages, so that the agent's actor hears
    of them on a socket like anything else and no state is shared between threads. */
#ifndef AGENT_EVENTS_H_INCLUDED
#define AGENT_EVENTS_H_INCLUDED

#include "maekin.h"

#include <libvirt/libvirt.h>

typedef struct _agent_events_t agent_events_t;

//  One lifecycle event as the actor receives it.
typedef struct {
    char *host;  //  the host whose connection saw it
    char *uuid;  //  the domain's UUID, lower case
    char *name;  //  the domain's name
    char *state; //  the state the event implies (running, paused, stopped, "" for
                 //  undefined), or "?" when it implies none (defined, shut down,
                 //  crashed): ask libvirt
    char *event; //  the event's name, for logs ("started", "suspended", ...)
} agent_event_t;

//  Register libvirt's default event loop (do it before opening any connection) and run
//  it in a new thread. Events are sent to `endpoint` (a PUSH socket connects to it; the
//  actor binds a PULL there first). NULL (logged) if libvirt refuses.
agent_events_t *agent_events_new (const char *endpoint);

//  Stop the thread. Unwatch every connection and close it first: libvirt finishes
//  releasing them on the loop's last turns.
void agent_events_destroy (agent_events_t **self_p);

//  Forward the lifecycle events of a host's connection. 0, or -1 (logged).
int agent_events_watch (agent_events_t *self, const char *host, virConnectPtr conn);

//  Stop forwarding a connection's events (before it is closed).
void agent_events_unwatch (agent_events_t *self, virConnectPtr conn);

//  Receive one event from the actor's PULL socket: 0, or -1 if the message is not one.
int agent_event_recv (zsock_t *pull, agent_event_t *event);
void agent_event_clear (agent_event_t *event);

//  Self-test: the events of a domain's life on libvirt's test driver.
void agent_events_test (bool verbose);

#endif

/*  agent_events: libvirt's event loop in its own thread, lifecycle events as messages.

    libvirt calls the lifecycle callback in the thread that runs its event loop. The
    callback only turns the event into a message on a PUSH socket that no other thread
    touches; the actor reads the other end. The loop is stopped with a flag, and a
    periodic timer makes sure each turn of the loop ends so that the flag is seen. */
#include "agent_events.h"

#include <assert.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvirt/virterror.h>

//  How often the loop wakes up with nothing to do, to see the stop flag.
#define S_WAKEUP_MS 50
//  The loop turns at most this often.
#define S_TURN_MS 5

typedef struct _watch_t watch_t;

struct _agent_events_t {
    zsock_t *push;        //  events out; used by the loop thread only once it runs
    pthread_t thread;     //  runs libvirt's event loop
    atomic_bool stop;     //  set by the owner to end the thread
    int timer;            //  libvirt timer that wakes the loop
    zlistx_t *watches;    //  watch_t: every connection ever watched, freed at the end
    pthread_mutex_t lock; //  guards watches: each host's thread watches its own
    uint64_t dropped;     //  events the PUSH socket could not take (loop thread only)
};

//  One watched connection; the callback's argument. It stays allocated until the loop
//  thread has ended, because libvirt may still be running the callback when the owner
//  deregisters it.
struct _watch_t {
    agent_events_t *events; //  the owner, for its PUSH socket
    char *host;             //  the host's name
    virConnectPtr conn;     //  the connection (borrowed), NULL once unwatched
    int callback;           //  libvirt's id of the registration
};

static const char *s_event_names[] = {"defined", "undefined", "started",     "suspended", "resumed",
                                      "stopped", "shutdown",  "pmsuspended", "crashed"};

//  The state an event implies, or "?" if it implies none.
static const char *
s_event_state (int event)
{
    switch (event) {
    case VIR_DOMAIN_EVENT_UNDEFINED:
        return "";
    case VIR_DOMAIN_EVENT_STARTED:
    case VIR_DOMAIN_EVENT_RESUMED:
        return "running";
    case VIR_DOMAIN_EVENT_SUSPENDED:
    case VIR_DOMAIN_EVENT_PMSUSPENDED:
        return "paused";
    case VIR_DOMAIN_EVENT_STOPPED:
        return "stopped";
    default:
        //  Defined (maybe running, maybe not), shut down (still active for a moment),
        //  crashed (off or preserved, as on_crash says).
        return "?";
    }
}

//  Called by libvirt in the loop thread.
static int
s_lifecycle (virConnectPtr conn, virDomainPtr dom, int event, int detail, void *arg)
{
    watch_t *watch = (watch_t *) arg;
    agent_events_t *self = watch->events;
    char uuid[VIR_UUID_STRING_BUFLEN];
    const char *name = virDomainGetName (dom);
    if (virDomainGetUUIDString (dom, uuid) < 0 || !name)
        return 0;
    const char *event_name =
        event >= 0 && (size_t) event < sizeof s_event_names / sizeof s_event_names[0]
            ? s_event_names[event]
            : "unknown";
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, watch->host);
    zmsg_addstr (msg, uuid);
    zmsg_addstr (msg, name);
    zmsg_addstr (msg, s_event_state (event));
    zmsg_addstr (msg, event_name);
    //  Never block libvirt's loop (its keepalives run there too): with the actor that
    //  far behind, an event is dropped; the next one of that domain says where it is.
    if (zmsg_send (&msg, self->push) != 0) {
        zmsg_destroy (&msg);
        if (self->dropped++ % 1000 == 0)
            mk_warn ("agent_events: the agent is behind; dropped %" PRIu64 " domain event%s so far",
                     self->dropped, self->dropped == 1 ? "" : "s");
    }
    return 0;
}

static void
s_wakeup (int timer, void *arg)
{
}

static void *
s_run (void *arg)
{
    agent_events_t *self = (agent_events_t *) arg;
    bool failed = false;
    //  After the flag is seen, two more turns: libvirt releases what a closed connection
    //  held in callbacks it queued on the loop ("idle" work), which a turn runs first.
    int last_turns = 2;
    while (last_turns > 0) {
        if (atomic_load (&self->stop))
            last_turns--;
        if (virEventRunDefaultImpl () < 0 && !failed) {
            mk_error ("agent_events: libvirt's event loop failed: %s", virGetLastErrorMessage ());
            failed = true;
        }
        //  A pause between turns: the events of a burst of tasks (each queues two or
        //  three) are then dispatched in one turn, instead of each waking this thread,
        //  which costs the agent more than libvirt's own work for the event.
        zclock_sleep (S_TURN_MS);
    }
    return NULL;
}

static void
s_watch_free (void **item)
{
    watch_t *watch = (watch_t *) *item;
    free (watch->host);
    free (watch);
    *item = NULL;
}

agent_events_t *
agent_events_new (const char *endpoint)
{
    if (virEventRegisterDefaultImpl () < 0) {
        mk_error ("agent_events: cannot register libvirt's event loop: %s",
                  virGetLastErrorMessage ());
        return NULL;
    }
    zsock_t *push = zsock_new (ZMQ_PUSH);
    assert (push);
    zsock_set_sndhwm (push, 100000);
    zsock_set_sndtimeo (push, 0);
    if (zsock_connect (push, "%s", endpoint) != 0) {
        mk_error ("agent_events: cannot connect to '%s'", endpoint);
        zsock_destroy (&push);
        return NULL;
    }
    int timer = virEventAddTimeout (S_WAKEUP_MS, s_wakeup, NULL, NULL);
    if (timer < 0) {
        mk_error ("agent_events: cannot add a timer to libvirt's event loop: %s",
                  virGetLastErrorMessage ());
        zsock_destroy (&push);
        return NULL;
    }
    agent_events_t *self = (agent_events_t *) zmalloc (sizeof (agent_events_t));
    self->push = push;
    self->timer = timer;
    atomic_init (&self->stop, false);
    self->watches = zlistx_new ();
    zlistx_set_destructor (self->watches, s_watch_free);
    pthread_mutex_init (&self->lock, NULL);
    //  Creating the thread is a full memory barrier: the socket passes to it whole.
    if (pthread_create (&self->thread, NULL, s_run, self) != 0)
        abort ();
    return self;
}

void
agent_events_destroy (agent_events_t **self_p)
{
    assert (self_p);
    agent_events_t *self = *self_p;
    if (self) {
        atomic_store (&self->stop, true);
        pthread_join (self->thread, NULL);
        virEventRemoveTimeout (self->timer);
        for (watch_t *watch = (watch_t *) zlistx_first (self->watches); watch;
             watch = (watch_t *) zlistx_next (self->watches))
            if (watch->conn)
                mk_warn ("agent_events: host '%s' still watched at the end", watch->host);
        zlistx_destroy (&self->watches);
        pthread_mutex_destroy (&self->lock);
        zsock_destroy (&self->push);
        free (self);
        *self_p = NULL;
    }
}

int
agent_events_watch (agent_events_t *self, const char *host, virConnectPtr conn)
{
    assert (self && host && conn);
    watch_t *watch = (watch_t *) zmalloc (sizeof (watch_t));
    watch->events = self;
    watch->host = strdup (host);
    if (!watch->host)
        abort ();
    watch->conn = conn;
    watch->callback =
        virConnectDomainEventRegisterAny (conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                          VIR_DOMAIN_EVENT_CALLBACK (s_lifecycle), watch, NULL);
    if (watch->callback < 0) {
        mk_error ("agent_events: cannot watch the domain events of host '%s': %s", host,
                  virGetLastErrorMessage ());
        watch->conn = NULL;
    }
    pthread_mutex_lock (&self->lock);
    zlistx_add_end (self->watches, watch);
    pthread_mutex_unlock (&self->lock);
    return watch->conn ? 0 : -1;
}

void
agent_events_unwatch (agent_events_t *self, virConnectPtr conn)
{
    assert (self && conn);
    //  Each watch is claimed under the lock and deregistered outside it: that call can
    //  wait on a slow libvirtd, and other hosts' threads must not wait with it.
    while (true) {
        watch_t *found = NULL;
        pthread_mutex_lock (&self->lock);
        for (watch_t *watch = (watch_t *) zlistx_first (self->watches); watch && !found;
             watch = (watch_t *) zlistx_next (self->watches))
            if (watch->conn == conn) {
                found = watch;
                found->conn = NULL;
            }
        pthread_mutex_unlock (&self->lock);
        if (!found)
            break;
        //  A connection that died refuses; its callbacks die with it.
        if (virConnectDomainEventDeregisterAny (conn, found->callback) < 0)
            mk_debug ("agent_events: host '%s': deregistering events failed: %s", found->host,
                      virGetLastErrorMessage ());
    }
}

int
agent_event_recv (zsock_t *pull, agent_event_t *event)
{
    memset (event, 0, sizeof *event);
    zmsg_t *msg = zmsg_recv (pull);
    if (!msg)
        return -1;
    if (zmsg_size (msg) != 5) {
        zmsg_destroy (&msg);
        return -1;
    }
    event->host = zmsg_popstr (msg);
    event->uuid = zmsg_popstr (msg);
    event->name = zmsg_popstr (msg);
    event->state = zmsg_popstr (msg);
    event->event = zmsg_popstr (msg);
    zmsg_destroy (&msg);
    return 0;
}

void
agent_event_clear (agent_event_t *event)
{
    zstr_free (&event->host);
    zstr_free (&event->uuid);
    zstr_free (&event->name);
    zstr_free (&event->state);
    zstr_free (&event->event);
}

//  --------------------------------------------------------------------------
//  Self-test

//  Waits for the next event and checks what it says.
static void
s_expect (zsock_t *pull, const char *event_name, const char *state, bool verbose)
{
    zpoller_t *poller = zpoller_new (pull, NULL);
    void *which = zpoller_wait (poller, 2000);
    zpoller_destroy (&poller);
    if (!which)
        fprintf (stderr, "agent_events_test: no '%s' event within 2 s\n", event_name);
    assert (which == pull);
    agent_event_t event;
    assert (agent_event_recv (pull, &event) == 0);
    if (verbose)
        printf ("  %s %s '%s' %s -> '%s'\n", event.host, event.uuid, event.name, event.event,
                event.state);
    assert (streq (event.host, "h1"));
    assert (streq (event.uuid, "5d1a7e3c-2b4f-4e6a-9c8d-0f1e2d3c4b5a"));
    assert (streq (event.name, "ev-1"));
    assert (streq (event.event, event_name));
    assert (streq (event.state, state));
    agent_event_clear (&event);
}

void
agent_events_test (bool verbose)
{
    zsock_t *pull = zsock_new_pull ("@inproc://agent_events_test");
    assert (pull);
    agent_events_t *self = agent_events_new ("inproc://agent_events_test");
    assert (self);
    virConnectPtr conn = virConnectOpen ("test:///default");
    assert (conn);
    assert (agent_events_watch (self, "h1", conn) == 0);

    const char *xml = "<domain type='test'><name>ev-1</name>"
                      "<uuid>5d1a7e3c-2b4f-4e6a-9c8d-0f1e2d3c4b5a</uuid>"
                      "<memory unit='MiB'>64</memory><vcpu>1</vcpu>"
                      "<os><type>hvm</type></os></domain>";
    virDomainPtr dom = virDomainDefineXML (conn, xml);
    assert (dom);
    s_expect (pull, "defined", "?", verbose);
    assert (virDomainCreate (dom) == 0);
    s_expect (pull, "started", "running", verbose);
    assert (virDomainSuspend (dom) == 0);
    s_expect (pull, "suspended", "paused", verbose);
    assert (virDomainResume (dom) == 0);
    s_expect (pull, "resumed", "running", verbose);
    assert (virDomainDestroy (dom) == 0);
    s_expect (pull, "stopped", "stopped", verbose);
    assert (virDomainUndefine (dom) == 0);
    s_expect (pull, "undefined", "", verbose);
    virDomainFree (dom);

    //  A malformed message on the socket is refused, not trusted.
    zsock_t *push = zsock_new_push (">inproc://agent_events_test");
    zstr_send (push, "one frame");
    agent_event_t event;
    assert (agent_event_recv (pull, &event) == -1);
    assert (event.host == NULL);
    zsock_destroy (&push);

    agent_events_unwatch (self, conn);
    agent_events_unwatch (self, conn);
    assert (virConnectClose (conn) == 0);
    agent_events_destroy (&self);
    assert (self == NULL);
    agent_events_destroy (&self);
    zsock_destroy (&pull);
}

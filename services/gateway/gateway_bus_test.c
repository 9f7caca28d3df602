/*  gateway_bus's self-test: many threads through one bus client, against a real broker and
    a fake cloud that echoes each request's id, holds the ones asked to, and answers them
    when the test says. */
#include "gateway_bus.h"

#include "broker_router.h"
#include "mk_fake_peer.h"
#include "mk_msg.h"

#include <pthread.h>

#define THREADS 8
#define CALLS   200

typedef struct {
    uint64_t held[16]; //  the tokens of requests left unanswered ("hold-..." ids)
    size_t held_count;
    mk_worker_t *worker; //  the peer's worker, to answer them later
} fake_t;

static mk_fake_next_t
s_fake_handle (void *state, mk_worker_t *worker, const mk_request_t *request)
{
    fake_t *fake = (fake_t *) state;
    const char *id = request->env->request_id;
    fake->worker = worker;
    if (strncmp (id, "hold-", 5) == 0 && fake->held_count < 16) {
        fake->held[fake->held_count++] = request->token;
        return MK_FAKE_ANSWERED;
    }
    Maekin__Envelope reply = MAEKIN__ENVELOPE__INIT;
    reply.status = MK_OK;
    reply.reason = (char *) id; //  the echo the caller checks
    mk_worker_reply (worker, request->token, &reply);
    return MK_FAKE_ANSWERED;
}

//  "held": how many are held; "answer": answer them all (late) and forget them.
static char *
s_fake_ask (void *state, const char *question, const char *arg)
{
    fake_t *fake = (fake_t *) state;
    if (streq (question, "answer")) {
        for (size_t i = 0; i < fake->held_count; i++) {
            Maekin__Envelope reply = MAEKIN__ENVELOPE__INIT;
            reply.status = MK_OK;
            reply.reason = "late";
            mk_worker_reply (fake->worker, fake->held[i], &reply);
        }
        fake->held_count = 0;
    }
    return zsys_sprintf ("%zu", fake->held_count);
}

static int
s_stop (zloop_t *loop, zsock_t *pipe, void *arg)
{
    return -1; //  any message on the pipe ($TERM): stop
}

//  The actor of the test: the loop the gateway's server runs, with only the bus in it.
static void
s_actor (zsock_t *pipe, void *arg)
{
    zloop_t *loop = zloop_new ();
    assert (gateway_bus_attach ((gateway_bus_t *) arg, loop) == 0);
    zloop_reader (loop, pipe, s_stop, NULL);
    zsock_signal (pipe, 0);
    zloop_start (loop);
    zloop_destroy (&loop);
}

typedef struct {
    gateway_bus_t *bus;
    int index;
    int wrong; //  replies that were not this thread's
} worker_args_t;

static void *
s_caller (void *arg)
{
    worker_args_t *args = (worker_args_t *) arg;
    for (int i = 0; i < CALLS; i++) {
        char id[32];
        snprintf (id, sizeof id, "t%d-%d", args->index, i);
        Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
        Maekin__WhoamiRequest whoami = MAEKIN__WHOAMI_REQUEST__INIT;
        env.request_id = id;
        env.body_case = MAEKIN__ENVELOPE__BODY_WHOAMI;
        env.whoami = &whoami;
        bool broker;
        Maekin__Envelope *reply = gateway_bus_call (args->bus, "cloud", &env, 10000, &broker);
        if (reply->status != MK_OK || !streq (reply->reason, id) || broker)
            args->wrong++;
        gateway_bus_reply_free (&reply);
    }
    return NULL;
}

static Maekin__Envelope *
s_call (gateway_bus_t *bus, const char *service, const char *id, int timeout_ms, bool *broker)
{
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    Maekin__WhoamiRequest whoami = MAEKIN__WHOAMI_REQUEST__INIT;
    env.request_id = (char *) id;
    env.body_case = MAEKIN__ENVELOPE__BODY_WHOAMI;
    env.whoami = &whoami;
    return gateway_bus_call (bus, service, &env, timeout_ms, broker);
}

//  A call that waits, and the gateway stopping under it.
static void *
s_held_caller (void *arg)
{
    bool broker;
    return s_call ((gateway_bus_t *) arg, "cloud", "hold-stop", 60000, &broker);
}

void
gateway_bus_test (bool verbose)
{
    char *endpoint;
    zactor_t *router = mk_fake_peer_broker (1000, &endpoint);
    fake_t fake;
    memset (&fake, 0, sizeof fake);
    const char *served[] = {"cloud"};
    mk_fake_peer_t *cloud =
        mk_fake_peer_new (endpoint, served, 1, s_fake_handle, s_fake_ask, &fake);
    gateway_bus_t *bus = gateway_bus_new (endpoint);
    assert (bus);
    zactor_t *actor = zactor_new (s_actor, bus);

    //  The cloud is there once a call is answered by it rather than by the broker.
    bool broker = true;
    for (int tries = 0; broker && tries < 500; tries++) {
        Maekin__Envelope *reply = s_call (bus, "cloud", "ready", 10000, &broker);
        gateway_bus_reply_free (&reply);
        if (broker)
            zclock_sleep (20);
    }
    assert (!broker);

    //  Threads at once, each gets its own answers.
    pthread_t threads[THREADS];
    worker_args_t args[THREADS];
    int64_t start = zclock_usecs ();
    for (int t = 0; t < THREADS; t++) {
        args[t] = (worker_args_t){bus, t, 0};
        assert (pthread_create (&threads[t], NULL, s_caller, &args[t]) == 0);
    }
    for (int t = 0; t < THREADS; t++) {
        pthread_join (threads[t], NULL);
        assert (args[t].wrong == 0);
    }
    if (verbose)
        printf ("  %d calls from %d threads in %.1f ms\n", THREADS * CALLS, THREADS,
                (double) (zclock_usecs () - start) / 1000.0);
    uint64_t sent, taken;
    size_t waiting;
    gateway_bus_stats (bus, &sent, &taken, &waiting);
    assert (sent >= THREADS * CALLS + 1 && taken == sent && waiting == 0);

    //  A service nobody serves: the broker's answer, said to be the broker's.
    Maekin__Envelope *reply = s_call (bus, "nobody", "x", 10000, &broker);
    assert (reply->status == MK_NOT_FOUND && broker);
    gateway_bus_reply_free (&reply);

    //  A call nobody answers in time: 504, and its late answer is dropped.
    reply = s_call (bus, "cloud", "hold-1", 50, &broker);
    assert (reply->status == MK_TIMEOUT && !broker && strstr (reply->reason, "Idempotency-Key"));
    gateway_bus_reply_free (&reply);
    assert (mk_fake_peer_ask_number (cloud, "held", NULL) == 1);
    free (mk_fake_peer_ask (cloud, "answer", NULL));
    reply = s_call (bus, "cloud", "after", 10000, &broker);
    assert (reply->status == MK_OK && streq (reply->reason, "after"));
    gateway_bus_reply_free (&reply);

    //  Stopping answers a waiting call at once, and every later one.
    pthread_t held;
    assert (pthread_create (&held, NULL, s_held_caller, bus) == 0);
    for (int tries = 0; tries < 1000; tries++) {
        gateway_bus_stats (bus, &sent, &taken, &waiting);
        if (waiting == 1 && mk_fake_peer_ask_number (cloud, "held", NULL) == 1)
            break;
        zclock_sleep (10);
    }
    gateway_bus_close (bus);
    void *result;
    pthread_join (held, &result);
    reply = (Maekin__Envelope *) result;
    assert (reply->status == MK_UNAVAILABLE && strstr (reply->reason, "stopping"));
    gateway_bus_reply_free (&reply);
    reply = s_call (bus, "cloud", "later", 10000, &broker);
    assert (reply->status == MK_UNAVAILABLE && broker);
    gateway_bus_reply_free (&reply);
    free (mk_fake_peer_ask (cloud, "answer", NULL));

    zactor_destroy (&actor);
    gateway_bus_destroy (&bus);
    mk_fake_peer_destroy (&cloud);
    zstr_free (&endpoint);
    zactor_destroy (&router);
}

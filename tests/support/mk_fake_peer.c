/*  mk_fake_peer: a peer on the bus whose answers a self-test writes (mk_fake_peer.h). */
#include "mk_fake_peer.h"

#include "broker_router.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

//  How long a restarting peer stays away: long enough for the broker to answer the open
//  request 503 and forget the service, as it does when a real peer restarts.
#define MK_FAKE_AWAY_MS 400

struct _mk_fake_peer_t {
    zactor_t *actor;
    //  Read by the actor; fixed before it starts (copies of the caller's).
    char *endpoint;
    char **services;
    size_t count;
    mk_fake_handle_fn *handle;
    mk_fake_ask_fn *ask;
    void *state;
};

//  A worker for the peer's services.
static mk_worker_t *
s_worker_new (mk_fake_peer_t *self)
{
    mk_worker_t *worker =
        mk_worker_new (self->endpoint, (const char **) self->services, self->count);
    assert (worker);
    mk_worker_set_heartbeat (worker, 100);
    return worker;
}

//  Answers one question from the pipe; false on $TERM.
static bool
s_answer_pipe (mk_fake_peer_t *self, zsock_t *pipe)
{
    char *question = NULL, *arg = NULL;
    if (zstr_recvx (pipe, &question, &arg, NULL) < 1 || streq (question, "$TERM")) {
        zstr_free (&question);
        zstr_free (&arg);
        return false;
    }
    //  A lone frame "-" stands for no argument.
    char *answer =
        self->ask ? self->ask (self->state, question, arg && !streq (arg, "-") ? arg : NULL) : NULL;
    zstr_send (pipe, answer ? answer : "");
    free (answer);
    zstr_free (&question);
    zstr_free (&arg);
    return true;
}

//  The peer's thread: serves requests and questions until $TERM.
static void
s_actor (zsock_t *pipe, void *args)
{
    mk_fake_peer_t *self = (mk_fake_peer_t *) args;
    mk_worker_t *worker = s_worker_new (self);
    zpoller_t *poller = zpoller_new (pipe, mk_worker_sock (worker), NULL);
    zsock_signal (pipe, 0);
    bool running = true;
    while (running) {
        void *which = zpoller_wait (poller, 50);
        mk_fake_next_t next = MK_FAKE_ANSWERED;
        if (which == pipe)
            running = s_answer_pipe (self, pipe);
        else if (which) {
            mk_request_t request;
            if (mk_worker_recv (worker, &request) == 1) {
                next = self->handle (self->state, worker, &request);
                mk_request_clear (&request);
            }
        }
        if (running && next == MK_FAKE_RESTART) {
            //  DISCONNECT, away for a while (questions still answered), then back.
            zpoller_destroy (&poller);
            mk_worker_destroy (&worker);
            zpoller_t *away = zpoller_new (pipe, NULL);
            int64_t back = zclock_mono () + MK_FAKE_AWAY_MS;
            while (running && zclock_mono () < back)
                if (zpoller_wait (away, (int) (back - zclock_mono ())) == pipe)
                    running = s_answer_pipe (self, pipe);
            zpoller_destroy (&away);
            worker = s_worker_new (self);
            poller = zpoller_new (pipe, mk_worker_sock (worker), NULL);
        }
        mk_worker_tick (worker);
    }
    zpoller_destroy (&poller);
    mk_worker_destroy (&worker);
}

mk_fake_peer_t *
mk_fake_peer_new (const char *endpoint, const char **services, size_t count,
                  mk_fake_handle_fn *handle, mk_fake_ask_fn *ask, void *state)
{
    assert (endpoint && services && count && handle);
    mk_fake_peer_t *self = (mk_fake_peer_t *) zmalloc (sizeof (mk_fake_peer_t));
    self->endpoint = strdup (endpoint);
    self->services = (char **) zmalloc (count * sizeof (char *));
    for (size_t i = 0; i < count; i++)
        self->services[i] = strdup (services[i]);
    self->count = count;
    self->handle = handle;
    self->ask = ask;
    self->state = state;
    self->actor = zactor_new (s_actor, self);
    assert (self->actor);
    return self;
}

void
mk_fake_peer_destroy (mk_fake_peer_t **self_p)
{
    assert (self_p);
    mk_fake_peer_t *self = *self_p;
    if (!self)
        return;
    zactor_destroy (&self->actor);
    for (size_t i = 0; i < self->count; i++)
        free (self->services[i]);
    free (self->services);
    free (self->endpoint);
    free (self);
    *self_p = NULL;
}

char *
mk_fake_peer_ask (mk_fake_peer_t *self, const char *question, const char *arg)
{
    assert (self && question);
    zstr_sendx (self->actor, question, arg ? arg : "-", NULL);
    char *answer = zstr_recv (self->actor);
    assert (answer);
    return answer;
}

long
mk_fake_peer_ask_number (mk_fake_peer_t *self, const char *question, const char *arg)
{
    char *answer = mk_fake_peer_ask (self, question, arg);
    long number = strtol (answer, NULL, 10);
    zstr_free (&answer);
    return number;
}

zactor_t *
mk_fake_peer_broker (int max_pending, char **endpoint)
{
    broker_router_opts_t opts = {"tcp://127.0.0.1:*", 1000, max_pending, 60000, NULL, NULL};
    zactor_t *router = broker_router_new (&opts);
    assert (router);
    zstr_send (router, "ENDPOINT");
    *endpoint = zstr_recv (router);
    return router;
}

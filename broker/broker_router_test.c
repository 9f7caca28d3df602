/*  broker_router's self-test: a real router on loopback, with real clients and workers. */
#include "broker_router.h"
#include "broker_stream.h"

#include "mk_client.h"
#include "mk_msg.h"
#include "mk_sock.h"
#include "mk_wire.h"
#include "mk_worker.h"

//  A raw DEALER speaking the wire by hand, for the malformed cases.
static zsock_t *
s_raw (const char *endpoint)
{
    zsock_t *sock = mk_sock_new (ZMQ_DEALER, endpoint);
    zsock_set_rcvtimeo (sock, 2000);
    return sock;
}

//  Waits until the router counts `count` workers (a worker's READY has arrived): tests
//  wait for that, not for a time, however slow the machine.
static size_t
s_workers (zactor_t *router)
{
    zstr_send (router, "STATS");
    char *workers, *services, *open, *routed;
    zstr_recvx (router, &workers, &services, &open, &routed, NULL);
    size_t count = (size_t) atol (workers);
    zstr_free (&workers);
    zstr_free (&services);
    zstr_free (&open);
    zstr_free (&routed);
    return count;
}

static void
s_until_served (zactor_t *router, const char *service)
{
    for (int64_t until = zclock_mono () + 30000; zclock_mono () < until; zclock_sleep (5)) {
        zstr_sendx (router, "SERVED", service, NULL);
        char *served = zstr_recv (router);
        bool yes = served && streq (served, "1");
        zstr_free (&served);
        if (yes)
            return;
    }
    assert (!"the service has a worker within 30 s");
}

static void
s_until_workers (zactor_t *router, size_t count)
{
    for (int64_t until = zclock_mono () + 30000; zclock_mono () < until; zclock_sleep (5))
        if (s_workers (router) == count)
            return;
    assert (!"the workers registered within 30 s");
}

//  One request, one answer, no retries: the broker's own answer is what is tested.
static int
s_call_status (mk_client_t *client, const char *service, int timeout_ms)
{
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    uint64_t corr = mk_client_send (client, service, &env);
    mk_reply_t reply;
    int status = 0;
    while (!status && mk_client_recv (client, &reply, timeout_ms) == 0) {
        if (reply.corr == corr)
            status = reply.env->status;
        mk_reply_clear (&reply);
    }
    return status;
}

//  Serves one request on a worker: waits for it, answers with a status.
static void
s_serve_one (mk_worker_t *worker, int status, const char *expect_service)
{
    zsock_set_rcvtimeo (mk_worker_sock (worker), 2000);
    mk_request_t request;
    int rc;
    while ((rc = mk_worker_recv (worker, &request)) == 0)
        ;
    assert (rc == 1);
    assert (!expect_service || streq (request.service, expect_service));
    Maekin__Envelope answer = MAEKIN__ENVELOPE__INIT;
    answer.status = status;
    mk_worker_reply (worker, request.token, &answer);
    mk_request_clear (&request);
}

//  What the tests share: a router, its endpoint, a client, and the worker that serves
//  "cloud" and "node/a" from the second test until it says goodbye.
typedef struct {
    zactor_t *router;    //  the router under test
    char *endpoint;      //  its endpoint
    mk_client_t *client; //  a client connected to it
    mk_worker_t *worker; //  the worker serving "cloud" and "node/a"
} fixture_t;

//  No worker: an answer at once, not a timeout.
static void
s_test_no_worker (fixture_t *fx)
{
    int64_t start = zclock_mono ();
    assert (s_call_status (fx->client, "cloud", 2000) == 404);
    assert (zclock_mono () - start < 1000);
}

//  A worker serving two services gets requests for each; replies come back.
static void
s_test_two_services (fixture_t *fx)
{
    const char *services[] = {"cloud", "node/a"};
    fx->worker = mk_worker_new (fx->endpoint, services, 2);
    mk_worker_set_heartbeat (fx->worker, 50);
    s_until_workers (fx->router, 1);
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    uint64_t corr = mk_client_send (fx->client, "node/a", &env);
    s_serve_one (fx->worker, 201, "node/a");
    mk_reply_t reply;
    assert (mk_client_recv (fx->client, &reply, 2000) == 0);
    assert (reply.corr == corr && reply.env->status == 201 && streq (reply.service, "node/a"));
    mk_reply_clear (&reply);
}

//  Two workers of one service share the load.
static void
s_test_share_load (fixture_t *fx)
{
    const char *cloud[] = {"cloud"};
    mk_worker_t *second = mk_worker_new (fx->endpoint, cloud, 1);
    s_until_workers (fx->router, 2);
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    mk_client_send (fx->client, "cloud", &env);
    mk_client_send (fx->client, "cloud", &env);
    s_serve_one (fx->worker, 200, "cloud");
    s_serve_one (second, 200, "cloud");
    mk_reply_t reply;
    for (int i = 0; i < 2; i++) {
        assert (mk_client_recv (fx->client, &reply, 2000) == 0 && reply.env->status == 200);
        mk_reply_clear (&reply);
    }
    mk_worker_destroy (&second);
}

//  Bounded: with max_pending 2 and a silent worker, the third open request is refused.
static void
s_test_bounded (fixture_t *fx)
{
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    mk_client_send (fx->client, "node/a", &env);
    mk_client_send (fx->client, "node/a", &env);
    assert (s_call_status (fx->client, "node/a", 2000) == 429);
}

//  A worker that says goodbye leaves its open requests answered with 503.
static void
s_test_goodbye (fixture_t *fx)
{
    mk_worker_destroy (&fx->worker);
    mk_reply_t reply;
    for (int i = 0; i < 2; i++) {
        assert (mk_client_recv (fx->client, &reply, 2000) == 0);
        assert (reply.env->status == 503 && strstr (reply.env->reason, "lost"));
        mk_reply_clear (&reply);
    }
    assert (s_call_status (fx->client, "node/a", 2000) == 404);
}

//  Malformed traffic is answered or dropped, and the broker carries on.
static void
s_test_malformed (fixture_t *fx)
{
    zsock_t *raw = s_raw (fx->endpoint);
    zstr_send (raw, "not a maekin frame");
    zmsg_t *msg = zmsg_new ();
    zmsg_append (msg, &(zframe_t *){mk_wire_header (MK_WIRE_REQUEST)});
    zmsg_addstr (msg, "cloud");
    zmsg_addstr (msg, "short");
    zmsg_addstr (msg, "body");
    zmsg_send (&msg, raw);
    msg = zmsg_recv (raw);
    assert (msg && zmsg_size (msg) == 5);
    assert (mk_wire_parse_header (zmsg_first (msg), NULL) == MK_WIRE_ERROR);
    zframe_t *status = zmsg_next (msg);
    status = zmsg_next (msg);
    status = zmsg_next (msg);
    assert (zframe_data (status)[1] == (400 & 255));
    zmsg_destroy (&msg);
    byte v9[4] = {'M', 'K', 9, MK_WIRE_REQUEST};
    msg = zmsg_new ();
    zmsg_addmem (msg, v9, 4);
    zmsg_addstr (msg, "cloud");
    zmsg_append (msg, &(zframe_t *){mk_wire_id_frame (7)});
    zmsg_addstr (msg, "body");
    zmsg_send (&msg, raw);
    msg = zmsg_recv (raw);
    assert (msg && zmsg_size (msg) == 5);
    zmsg_last (msg);
    char *reason = zframe_strdup (zmsg_last (msg));
    assert (strstr (reason, "speaks 1"));
    free (reason);
    zmsg_destroy (&msg);
    //  A stranger's heartbeat is told to register.
    msg = zmsg_new ();
    zmsg_append (msg, &(zframe_t *){mk_wire_header (MK_WIRE_HEARTBEAT)});
    zmsg_send (&msg, raw);
    msg = zmsg_recv (raw);
    assert (msg && mk_wire_parse_header (zmsg_first (msg), NULL) == MK_WIRE_DISCONNECT);
    zmsg_destroy (&msg);
    //  A worker that READYs and then stays silent is expired after its liveness.
    msg = zmsg_new ();
    zmsg_append (msg, &(zframe_t *){mk_wire_header (MK_WIRE_READY)});
    zmsg_addstr (msg, "quiet");
    zmsg_send (&msg, raw);
    s_until_served (fx->router, "quiet");
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    mk_client_send (fx->client, "quiet", &env);
    mk_reply_t reply;
    assert (mk_client_recv (fx->client, &reply, 2000) == 0);
    assert (reply.env->status == 503);
    mk_reply_clear (&reply);
    zsock_destroy (&raw);
}

//  A raw worker READYs for service and then its connection goes: linger 0, closed.
static void
s_raw_worker_gone (fixture_t *fx, const char *service)
{
    zsock_t *raw = s_raw (fx->endpoint);
    zmsg_t *msg = zmsg_new ();
    zmsg_append (msg, &(zframe_t *){mk_wire_header (MK_WIRE_READY)});
    zmsg_addstr (msg, service);
    zmsg_send (&msg, raw);
    s_until_served (fx->router, service);
    zsock_set_linger (raw, 0);
    zsock_destroy (&raw);
}

//  A worker whose connection is gone is dropped at the first failed send, and the
//  request goes to a live worker of the service instead of failing.
static void
s_test_dead_worker (fixture_t *fx)
{
    size_t before = s_workers (fx->router);
    s_raw_worker_gone (fx, "svc");
    const char *svc[] = {"svc"};
    mk_worker_t *live = mk_worker_new (fx->endpoint, svc, 1);
    s_until_workers (fx->router, before + 2);
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    mk_reply_t reply;
    for (int i = 0; i < 2; i++) {
        uint64_t asked = mk_client_send (fx->client, "svc", &env);
        s_serve_one (live, 200, "svc");
        assert (mk_client_recv (fx->client, &reply, 2000) == 0);
        assert (reply.corr == asked && reply.env->status == 200);
        mk_reply_clear (&reply);
    }
    mk_worker_destroy (&live);
}

//  The only worker of a service is gone: the service goes with it, and the request
//  that found out is answered, not lost (nor read after the service was freed).
static void
s_test_lonely_worker_gone (fixture_t *fx)
{
    s_raw_worker_gone (fx, "lonely");
    zclock_sleep (30);
    int lonely = s_call_status (fx->client, "lonely", 2000);
    assert (lonely == 404 || lonely == 503);
}

//  The router's counts: nothing left open, every request routed counted.
static void
s_test_stats (fixture_t *fx)
{
    zstr_send (fx->router, "STATS");
    char *workers, *services_n, *open, *routed;
    zstr_recvx (fx->router, &workers, &services_n, &open, &routed, NULL);
    assert (streq (open, "0") && atoi (routed) >= 5);
    zstr_free (&workers);
    zstr_free (&services_n);
    zstr_free (&open);
    zstr_free (&routed);
}

//  A timeout of its own answers 504 for a worker that never replies.
static void
s_test_timeout (void)
{
    broker_router_opts_t quick = {"tcp://127.0.0.1:*", 50, 10, 100, NULL, NULL};
    zactor_t *router = broker_router_new (&quick);
    zstr_send (router, "ENDPOINT");
    char *endpoint = zstr_recv (router);
    mk_client_t *client = mk_client_new (endpoint);
    const char *slow[] = {"slow"};
    mk_worker_t *worker = mk_worker_new (endpoint, slow, 1);
    mk_worker_set_heartbeat (worker, 50);
    s_until_workers (router, 1);
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    mk_client_send (client, "slow", &env);
    int64_t until = zclock_mono () + 2000;
    bool got = false;
    mk_reply_t reply;
    while (!got && zclock_mono () < until) {
        mk_worker_tick (worker);
        if (mk_client_recv (client, &reply, 20) == 0) {
            assert (reply.env->status == 504);
            mk_reply_clear (&reply);
            got = true;
        }
        while (mk_worker_pending (worker)) {
            mk_request_t request;
            if (mk_worker_recv (worker, &request) == 1)
                mk_request_clear (&request);
        }
    }
    assert (got);
    mk_worker_destroy (&worker);
    mk_client_destroy (&client);
    free (endpoint);
    zactor_destroy (&router);
}

void
broker_router_test (bool verbose)
{
    //  What the router says of workers it loses, through a stream as in the broker.
    zactor_t *stream =
        broker_stream_new ("inproc://broker-router-test-events", "tcp://127.0.0.1:*", NULL);
    assert (stream);
    zstr_send (stream, "ENDPOINTS");
    char *stream_in, *stream_out;
    zstr_recvx (stream, &stream_in, &stream_out, NULL);
    zsock_t *said = zsock_new_sub (stream_out, "bus.gone");
    assert (said);
    broker_router_opts_t opts = {
        "tcp://127.0.0.1:*", 50, 2, 60000, "inproc://broker-router-test-events", NULL};
    fixture_t fx = {NULL};
    fx.router = broker_router_new (&opts);
    assert (fx.router);
    zstr_send (fx.router, "ENDPOINT");
    fx.endpoint = zstr_recv (fx.router);
    fx.client = mk_client_new (fx.endpoint);

    s_test_no_worker (&fx);
    s_test_two_services (&fx);
    s_test_share_load (&fx);
    s_test_bounded (&fx);
    s_test_goodbye (&fx);
    s_test_malformed (&fx);
    s_test_dead_worker (&fx);
    s_test_lonely_worker_gone (&fx);
    s_test_stats (&fx);

    //  The quiet worker's service was said gone, with why; every message is whole.
    bool quiet_said = false;
    zmsg_t *msg;
    zsock_set_rcvtimeo (said, 5000);
    while (!quiet_said && (msg = zmsg_recv (said))) {
        assert (zmsg_size (msg) == 2);
        char *topic = zmsg_popstr (msg);
        zframe_t *body = zmsg_pop (msg);
        const char *why = NULL;
        Maekin__Envelope *env = mk_msg_unpack (zframe_data (body), zframe_size (body), &why);
        assert (streq (topic, "bus.gone") && env
                && env->body_case == MAEKIN__ENVELOPE__BODY_SERVICES_GONE);
        for (size_t i = 0; i < env->services_gone->n_services; i++)
            if (streq (env->services_gone->services[i], "quiet")) {
                assert (strstr (env->services_gone->reason, "heartbeat"));
                quiet_said = true;
            }
        mk_msg_free (&env);
        zframe_destroy (&body);
        zstr_free (&topic);
        zmsg_destroy (&msg);
    }
    assert (quiet_said);
    if (verbose)
        printf (" * a worker expired: its service said gone on the stream\n");

    mk_client_destroy (&fx.client);
    free (fx.endpoint);
    zactor_destroy (&fx.router);

    s_test_timeout ();

    //  An endpoint that cannot be bound is refused.
    broker_router_opts_t bad = {"nonsense://", 50, 10, 100, NULL, NULL};
    assert (broker_router_new (&bad) == NULL);
    zsock_destroy (&said);
    zactor_destroy (&stream);
    zstr_free (&stream_in);
    zstr_free (&stream_out);
}

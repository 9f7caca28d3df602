/*  gateway_server's self-test: the gateway over real HTTP (civetweb's client) against a
    real broker and a fake cloud: it starts and stops, answers through the bus, says 503
    past its connections and when the cloud is away, and refuses what cannot serve. The
    REST API against the real controller is tests/integration/gateway.sh's. */
#include "gateway_server.h"

#include "broker_router.h"
#include "mk_fake_peer.h"
#include "mk_msg.h"

#include <civetweb.h>

static mk_fake_next_t
s_fake_handle (void *state, mk_worker_t *worker, const mk_request_t *request)
{
    const Maekin__Envelope *env = request->env;
    Maekin__Envelope reply = MAEKIN__ENVELOPE__INIT;
    Maekin__User user = MAEKIN__USER__INIT;
    Maekin__WhoamiReply whoami = MAEKIN__WHOAMI_REPLY__INIT;
    Maekin__TaskAccepted accepted = MAEKIN__TASK_ACCEPTED__INIT;
    if (env->body_case == MAEKIN__ENVELOPE__BODY_WHOAMI) {
        //  The credential the gateway passed on is the user's name here.
        user.name = env->credential ? env->credential->token : "";
        whoami.user = &user;
        reply.status = MK_OK;
        reply.body_case = MAEKIN__ENVELOPE__BODY_WHOAMI_REPLY;
        reply.whoami_reply = &whoami;
    } else if (env->body_case == MAEKIN__ENVELOPE__BODY_VM_CREATE) {
        accepted.task_id = 41;
        reply.status = MK_ACCEPTED;
        reply.body_case = MAEKIN__ENVELOPE__BODY_TASK_ACCEPTED;
        reply.task_accepted = &accepted;
    } else {
        reply.status = MK_BAD_REQUEST;
        reply.reason = "the fake knows only whoami and vm_create";
    }
    mk_worker_reply (worker, request->token, &reply);
    return MK_FAKE_ANSWERED;
}

static char *
s_fake_ask (void *state, const char *question, const char *arg)
{
    return strdup ("");
}

//  One request on a new connection: the status, and the body into `body`.
static int
s_http (int port, const char *request, char *body, size_t size)
{
    char error[256] = "";
    struct mg_connection *conn = mg_connect_client ("127.0.0.1", port, 0, error, sizeof error);
    assert (conn);
    mg_printf (conn, "%s", request);
    int status = -1;
    if (mg_get_response (conn, error, sizeof error, 10000) >= 0) {
        status = mg_get_response_info (conn)->status_code;
        int got = 0, total = 0;
        while (total + 1 < (int) size && (got = mg_read (conn, body + total, size - total - 1)) > 0)
            total += got;
        body[total] = 0;
    }
    mg_close_connection (conn);
    return status;
}

static char *
s_stats (zactor_t *gateway)
{
    zstr_send (gateway, "STATS");
    return zstr_recv (gateway);
}

//  Connections the gateway has open now (its STATS' last number).
static int
s_connections (zactor_t *gateway)
{
    char *stats = s_stats (gateway);
    const char *last = stats ? strrchr (stats, ' ') : NULL;
    int count = last ? atoi (last + 1) : -1;
    zstr_free (&stats);
    return count;
}

//  One request once the gateway has closed every connection before it: with one
//  connection allowed, one still closing would make it answer 503.
static int
s_http_alone (zactor_t *gateway, int port, const char *request, char *body, size_t size)
{
    for (int tries = 0; tries < 1000 && s_connections (gateway) != 0; tries++)
        zclock_sleep (10);
    return s_http (port, request, body, size);
}

static gateway_opts_t
s_opts (const char *endpoint)
{
    return (gateway_opts_t){.endpoint = endpoint,
                            .listen = "127.0.0.1:0",
                            .max_connections = 100,
                            .max_body_kb = 64,
                            .bus_timeout_ms = 5000,
                            .wait_max_ms = 1000,
                            .request_timeout_ms = 10000,
                            .keep_alive_ms = 1000,
                            .thread_stack_kb = 256};
}

static void
s_test_opts (void)
{
    const char *bad[] = {"max_connections", "max_body_kb", "bus_timeout_ms", "listen", "stack"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        gateway_opts_t opts = s_opts ("tcp://127.0.0.1:1");
        if (i == 0)
            opts.max_connections = 0;
        else if (i == 1)
            opts.max_body_kb = 100000;
        else if (i == 2)
            opts.bus_timeout_ms = 1;
        else if (i == 3)
            opts.listen = "127.0.0.1:1,127.0.0.1:2";
        else
            opts.thread_stack_kb = 8;
        char *why = gateway_opts_check (&opts);
        assert (why && strstr (why, i == 4 ? "thread_stack_kb" : bad[i]));
        free (why);
    }
    gateway_opts_t opts = s_opts ("tcp://127.0.0.1:1");
    opts.certificate = "/nonexistent/gateway.pem";
    char *why = gateway_opts_check (&opts);
    assert (why && strstr (why, "cannot be read"));
    free (why);
}

void
gateway_server_test (bool verbose)
{
    s_test_opts ();
    char *endpoint;
    zactor_t *router = mk_fake_peer_broker (1000, &endpoint);
    gateway_opts_t opts = s_opts (endpoint);
    opts.max_connections = 1;
    zactor_t *gateway = gateway_server_new (&opts);
    assert (gateway);
    zstr_send (gateway, "PORT");
    char *text = zstr_recv (gateway);
    int port = atoi (text);
    zstr_free (&text);
    assert (port > 0);

    //  Another gateway on the same port cannot start.
    char taken[32];
    snprintf (taken, sizeof taken, "127.0.0.1:%d", port);
    gateway_opts_t again = s_opts (endpoint);
    again.listen = taken;
    assert (gateway_server_new (&again) == NULL);

    //  Without the cloud on the bus: 503, the reason the gateway's.
    char body[2048];
    const char *whoami = "GET /api/v1/session HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer "
                         "tester\r\nConnection: close\r\n\r\n";
    assert (s_http_alone (gateway, port, whoami, body, sizeof body) == 503);
    assert (strstr (body, "controller is not on the bus"));

    const char *served[] = {"cloud"};
    mk_fake_peer_t *cloud = mk_fake_peer_new (endpoint, served, 1, s_fake_handle, s_fake_ask, NULL);
    int status = 503;
    for (int tries = 0; status == 503 && tries < 500; tries++) {
        status = s_http_alone (gateway, port, whoami, body, sizeof body);
        if (status == 503)
            zclock_sleep (20);
    }
    //  The credential went through, the reply came back as JSON.
    assert (status == 200);
    assert (strstr (body, "\"name\":\"tester\""));
    status = s_http_alone (gateway, port,
                           "POST /api/v1/vis/web/vms HTTP/1.1\r\nHost: t\r\nContent-Type: "
                           "application/json\r\nContent-Length: 14\r\nConnection: close\r\n\r\n"
                           "{\"name\": \"a1\"}",
                           body, sizeof body);
    assert (status == 202 && strstr (body, "\"task_id\":41"));

    //  Past its one connection: the next is answered 503 at once.
    char error[256];
    struct mg_connection *idle = mg_connect_client ("127.0.0.1", port, 0, error, sizeof error);
    assert (idle);
    for (int tries = 0; tries < 1000 && s_connections (gateway) != 1; tries++)
        zclock_sleep (10);
    assert (s_http (port, whoami, body, sizeof body) == 503);
    assert (strstr (body, "1 connections at once"));
    mg_close_connection (idle);
    char *stats = s_stats (gateway);
    if (verbose)
        printf ("  stats: %s\n", stats);
    //  Sent at least the two that were answered; the 2xx and 5xx counted.
    uint64_t sent, taken_replies, ok, client, server;
    size_t waiting;
    int connections;
    size_t subscribers;
    uint64_t handed;
    assert (sscanf (stats,
                    "%" SCNu64 " %" SCNu64 " %zu %" SCNu64 ",%" SCNu64 ",%" SCNu64 " %zu %" SCNu64
                    " %d",
                    &sent, &taken_replies, &waiting, &ok, &client, &server, &subscribers, &handed,
                    &connections)
            == 9);
    assert (subscribers == 0 && handed == 0);
    assert (sent >= 3 && ok == 2 && server >= 2 && waiting == 0);
    zstr_free (&stats);

    mk_fake_peer_destroy (&cloud);
    zactor_destroy (&gateway);
    zstr_free (&endpoint);
    zactor_destroy (&router);
}

/*  mk_sock: makes every bus socket Maekin uses. */
#include "mk_sock.h"

#include "mk_curve.h"
#include "mk_limits.h"
#include "mk_testdir.h"
#include "mk_zap.h"

//  Generous queues: a client may keep thousands of requests in flight and the broker
//  must not drop or block on a burst; memory is bounded by the broker's own limits.
#define MK_SOCK_HWM 200000

//  The process's security: its key pair (NULL: plain text), the broker's public key
//  and whether it is the broker. Set once at start, before any socket (mk_sock.h).
static zcert_t *s_cert;
static char s_broker_key[MK_CURVE_KEY_TEXT + 1];
static bool s_server;

void
mk_sock_secure (zcert_t *cert, const char *broker_key, bool server)
{
    zcert_destroy (&s_cert);
    s_cert = cert;
    snprintf (s_broker_key, sizeof s_broker_key, "%s", broker_key ? broker_key : "");
    s_server = server;
}

zcert_t *
mk_sock_cert (void)
{
    return s_cert;
}

int
mk_sock_secure_cfg (mk_cfg_t *cfg, bool server, char **error)
{
    *error = NULL;
    const char *security = mk_cfg_str (cfg, "bus/security");
    const char *key = mk_cfg_str (cfg, "bus/key");
    const char *broker_key = server ? "" : mk_cfg_str (cfg, "bus/broker_key");
    if (streq (security, "none")) {
        mk_sock_secure (NULL, NULL, server);
        return 0;
    }
    if (!streq (security, "curve")) {
        *error = zsys_sprintf ("bus/security is 'curve' or 'none', not '%s'", security);
        return -1;
    }
    if (!*key || (!server && !*broker_key)) {
        *error = zsys_sprintf (
            "%s not set: this program needs its key pair and the broker's public key "
            "(maekinsh admin keygen DIR NAME makes them), or bus/security=none for a bus "
            "without encryption",
            !*key ? "bus/key is" : "bus/broker_key is");
        return -1;
    }
    char public_key[MK_CURVE_KEY_TEXT + 1] = "";
    if (!server && mk_curve_public (broker_key, public_key, error) != 0)
        return -1;
    zcert_t *cert = mk_curve_load (key, error);
    if (!cert)
        return -1;
    mk_sock_secure (cert, server ? NULL : public_key, server);
    return 0;
}

bool
mk_sock_secure_main (mk_cfg_t *cfg, const char *program)
{
    char *error = NULL;
    if (mk_sock_secure_cfg (cfg, false, &error) == 0)
        return true;
    fprintf (stderr, "%s: %s\n", program, error);
    free (error);
    return false;
}

int
mk_sock_secure_env (char **error)
{
    *error = NULL;
    const char *key = getenv ("MAEKIN_BUS_KEY");
    const char *broker_key = getenv ("MAEKIN_BROKER_KEY");
    if (!key || !*key) {
        mk_sock_secure (NULL, NULL, false);
        return 0;
    }
    char public_key[MK_CURVE_KEY_TEXT + 1];
    if (!broker_key || mk_curve_public (broker_key, public_key, error) != 0) {
        if (!*error)
            *error = strdup ("$MAEKIN_BUS_KEY is set but not $MAEKIN_BROKER_KEY");
        return -1;
    }
    zcert_t *cert = mk_curve_load (key, error);
    if (!cert)
        return -1;
    mk_sock_secure (cert, public_key, false);
    return 0;
}

//  CURVE for a new socket, by who this process is and what the socket does.
static void
s_secure (zsock_t *sock, int type)
{
    if (!s_cert)
        return;
    if (s_server && (type == ZMQ_ROUTER || type == ZMQ_XSUB || type == ZMQ_XPUB))
        mk_curve_server (sock, s_cert,
                         type == ZMQ_ROUTER ? MK_SOCK_ZAP_REQUESTS : MK_SOCK_ZAP_STREAMS);
    else if (!s_server && type != ZMQ_ROUTER)
        mk_curve_client (sock, s_cert, s_broker_key);
}

zsock_t *
mk_sock_new (int type, const char *endpoints)
{
    zsock_t *sock = zsock_new (type);
    assert (sock);
    zsock_set_linger (sock, 200);
    zsock_set_sndhwm (sock, MK_SOCK_HWM);
    zsock_set_rcvhwm (sock, MK_SOCK_HWM);
    //  A larger message is not read into memory: ZeroMQ drops it and the connection.
    zsock_set_maxmsgsize (sock, MK_MSG_MAX);
    if (type == ZMQ_ROUTER)
        zsock_set_router_mandatory (sock, 1);
    if (type == ZMQ_DEALER || type == ZMQ_SUB || type == ZMQ_PUB) {
        zsock_set_reconnect_ivl (sock, 100);
        zsock_set_reconnect_ivl_max (sock, 2000);
    }
    if (type == ZMQ_XPUB)
        zsock_set_xpub_verbose (sock, 1);
    s_secure (sock, type);
    bool serverish = type == ZMQ_ROUTER || type == ZMQ_XPUB || type == ZMQ_XSUB;
    if (endpoints && zsock_attach (sock, endpoints, serverish) != 0) {
        mk_error ("mk_sock: cannot attach %s socket to '%s': %s", zsock_type_str (sock), endpoints,
                  zmq_strerror (zmq_errno ()));
        zsock_destroy (&sock);
        return NULL;
    }
    return sock;
}

zmsg_t *
mk_sock_recv_nowait (zsock_t *sock)
{
    void *handle = zsock_resolve (sock);
    zmq_msg_t part;
    zmq_msg_init (&part);
    if (zmq_msg_recv (&part, handle, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close (&part);
        return NULL;
    }
    //  The other parts of a message arrive with its first.
    zmsg_t *msg = zmsg_new ();
    while (true) {
        zmsg_addmem (msg, zmq_msg_data (&part), zmq_msg_size (&part));
        bool more = zmq_msg_more (&part);
        zmq_msg_close (&part);
        if (!more)
            return msg;
        zmq_msg_init (&part);
        if (zmq_msg_recv (&part, handle, 0) < 0) {
            zmq_msg_close (&part);
            zmsg_destroy (&msg);
            return NULL;
        }
    }
}

char *
mk_sock_endpoint (zsock_t *sock)
{
    return zsock_last_endpoint (sock);
}

//  The settings: a key is needed unless the bus says it is plain; a bad key is named.
static void
s_test_cfg (const char *keys)
{
    static const mk_cfg_item_t schema[] = {MK_SOCK_CFG_ITEMS, {NULL, 0, NULL, NULL}};
    struct {
        const char *args[4];
        const char *error; //  NULL: accepted
    } cases[] = {
        {{"t", NULL}, "bus/key is not set"},
        {{"t", "--bus-security=none", NULL}, NULL},
        {{"t", "--bus-security=tls", NULL}, "'curve' or 'none'"},
        {{"t", "--bus-key=/nonexistent/a.key", NULL}, "bus/broker_key is not set"},
        {{"t", "--bus-key=/nonexistent/a.key", "--bus-broker_key=short", NULL}, "neither"},
        {{"t", "--bus-key=/nonexistent/a.key", "--bus-broker_key=BROKER", NULL}, "no secret"},
        {{"t", "--bus-key=KEYS/client.key_secret", "--bus-broker_key=BROKER", NULL}, NULL},
    };
    char *broker = zsys_sprintf ("%s/broker.key", keys);
    char *client = zsys_sprintf ("--bus-key=%s/client.key_secret", keys);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *argv[4] = {NULL};
        int argc = 0;
        char *owned[4] = {NULL};
        for (; cases[i].args[argc]; argc++) {
            const char *arg = cases[i].args[argc];
            if (streq (arg, "--bus-broker_key=BROKER"))
                arg = owned[argc] = zsys_sprintf ("--bus-broker_key=%s", broker);
            else if (strstr (arg, "KEYS/"))
                arg = client;
            argv[argc] = (char *) arg;
        }
        char *error = NULL, *help = NULL;
        mk_cfg_t *cfg = mk_cfg_new ("t", "test", schema, argc, argv, &error, &help);
        assert (cfg && !error);
        int rc = mk_sock_secure_cfg (cfg, false, &error);
        if (cases[i].error)
            assert (rc == -1 && error && strstr (error, cases[i].error));
        else
            assert (rc == 0 && !error);
        freen (error);
        mk_cfg_destroy (&cfg);
        for (int j = 0; j < argc; j++)
            freen (owned[j]);
    }
    assert (mk_sock_cert () != NULL); //  the last case's
    mk_sock_secure (NULL, NULL, false);
    assert (mk_sock_cert () == NULL);
    free (broker);
    free (client);
}

//  With CURVE, a client's socket reaches the server's and its messages carry its key;
//  a stranger reaches a socket whose ZAP domain is open (here the request socket's) and
//  not one whose domain holds a list (here the streams').
static void
s_test_secure (bool verbose)
{
    char *dir = mk_testdir_new ("mk_sock");
    char *keys = zsys_sprintf ("%s/keys", dir);
    char *error = NULL;
    assert (mk_curve_keygen (keys, "broker", &error) == 0);
    assert (mk_curve_keygen (keys, "client", &error) == 0);
    assert (mk_curve_keygen (keys, "stranger", &error) == 0);
    s_test_cfg (keys);
    char *path = zsys_sprintf ("%s/broker.key_secret", keys);
    zcert_t *broker = mk_curve_load (path, &error);
    char broker_key[MK_CURVE_KEY_TEXT + 1];
    snprintf (broker_key, sizeof broker_key, "%s", zcert_public_txt (broker));
    free (path);
    mk_zap_t *zap = mk_zap_new ();
    assert (zap);
    mk_zap_open (zap, MK_SOCK_ZAP_REQUESTS);
    path = zsys_sprintf ("%s/client.key_secret", keys);
    zcert_t *client = mk_curve_load (path, &error);
    mk_zap_allow (zap, zcert_public_txt (client), "client");
    char client_key[MK_CURVE_KEY_TEXT + 1];
    snprintf (client_key, sizeof client_key, "%s", zcert_public_txt (client));
    free (path);

    mk_sock_secure (broker, NULL, true);
    zsock_t *router = mk_sock_new (ZMQ_ROUTER, "@tcp://127.0.0.1:*");
    zsock_t *xpub = mk_sock_new (ZMQ_XPUB, "@tcp://127.0.0.1:*");
    char *requests = mk_sock_endpoint (router), *stream = mk_sock_endpoint (xpub);
    mk_sock_secure (client, broker_key, false);
    zsock_t *dealer = mk_sock_new (ZMQ_DEALER, requests);
    zsock_t *sub = mk_sock_new (ZMQ_SUB, stream);
    zsock_set_subscribe (sub, "");
    zstr_send (dealer, "hello");
    zsock_set_rcvtimeo (router, 10000);
    zmsg_t *msg = zmsg_recv (router);
    assert (msg && streq (zframe_meta (zmsg_last (msg), "User-Id"), client_key));
    zmsg_destroy (&msg);
    zsock_set_rcvtimeo (xpub, 10000);
    msg = zmsg_recv (xpub); //  the subscription
    assert (msg && streq (zframe_meta (zmsg_first (msg), "User-Id"), client_key));
    zmsg_destroy (&msg);

    path = zsys_sprintf ("%s/stranger.key_secret", keys);
    mk_sock_secure (mk_curve_load (path, &error), broker_key, false);
    free (path);
    zsock_t *stranger = mk_sock_new (ZMQ_DEALER, requests);
    zsock_t *lurker = mk_sock_new (ZMQ_SUB, stream);
    zsock_set_subscribe (lurker, "");
    zstr_send (stranger, "enrol me");
    msg = zmsg_recv (router);
    assert (msg && zframe_streq (zmsg_last (msg), "enrol me"));
    zmsg_destroy (&msg);
    uint64_t allowed = 0, denied = 0;
    for (int i = 0; i < 5000 && denied == 0; i++) {
        mk_zap_counts (zap, &allowed, &denied);
        zclock_sleep (denied ? 0 : 2);
    }
    assert (denied >= 1); //  the lurker, on the stream
    zsock_set_rcvtimeo (xpub, 0);
    assert (!zmsg_recv (xpub));
    if (verbose)
        printf (" * CURVE: keys carried, strangers in an open domain only\n");
    mk_sock_secure (NULL, NULL, false);
    zsock_destroy (&lurker);
    zsock_destroy (&stranger);
    zsock_destroy (&sub);
    zsock_destroy (&dealer);
    zsock_destroy (&xpub);
    zsock_destroy (&router);
    mk_zap_destroy (&zap);
    free (requests);
    free (stream);
    free (keys);
    mk_testdir_remove (&dir);
}

void
mk_sock_test (bool verbose)
{
    zsock_t *router = mk_sock_new (ZMQ_ROUTER, "@tcp://127.0.0.1:*");
    assert (router);
    char *endpoint = mk_sock_endpoint (router);
    assert (strncmp (endpoint, "tcp://127.0.0.1:", 16) == 0);
    zsock_t *dealer = mk_sock_new (ZMQ_DEALER, endpoint);
    assert (dealer);
    zstr_send (dealer, "hello");
    zmsg_t *msg = zmsg_recv (router);
    assert (msg && zmsg_size (msg) == 2);
    zmsg_destroy (&msg);
    //  Receiving without waiting: nothing, then a whole message of several parts (an
    //  empty one and binary ones kept as they are), then nothing again.
    int64_t start = zclock_mono ();
    assert (mk_sock_recv_nowait (router) == NULL);
    assert (zclock_mono () - start < 100);
    zmsg_t *parts = zmsg_new ();
    zmsg_addstr (parts, "one");
    zmsg_addmem (parts, "", 0);
    zmsg_addmem (parts, "\0\1\2", 3);
    assert (zmsg_send (&parts, dealer) == 0);
    zpoller_t *poller = zpoller_new (router, NULL);
    assert (zpoller_wait (poller, 2000) == router);
    zpoller_destroy (&poller);
    msg = mk_sock_recv_nowait (router);
    assert (msg && zmsg_size (msg) == 4); //  the dealer's routing id first
    zframe_destroy (&(zframe_t *){zmsg_pop (msg)});
    assert (zframe_streq (zmsg_first (msg), "one"));
    assert (zframe_size (zmsg_next (msg)) == 0);
    zframe_t *binary = zmsg_next (msg);
    assert (zframe_size (binary) == 3 && memcmp (zframe_data (binary), "\0\1\2", 3) == 0);
    zmsg_destroy (&msg);
    assert (mk_sock_recv_nowait (router) == NULL);
    //  A message over MK_MSG_MAX never arrives (ZeroMQ drops it with its connection);
    //  the dealer connects again and what it sends next does.
    zframe_t *huge = zframe_new (NULL, MK_MSG_MAX + 1);
    memset (zframe_data (huge), 'x', zframe_size (huge));
    assert (zframe_send (&huge, dealer, 0) == 0);
    zstr_send (dealer, "after");
    poller = zpoller_new (router, NULL);
    assert (zpoller_wait (poller, 10000) == router);
    zpoller_destroy (&poller);
    msg = zmsg_recv (router);
    assert (msg && zmsg_size (msg) == 2);
    assert (zframe_streq (zmsg_last (msg), "after"));
    zmsg_destroy (&msg);
    //  Bad endpoints are refused with a logged error, not an abort.
    assert (mk_sock_new (ZMQ_ROUTER, "@nonsense://x") == NULL);
    zsock_destroy (&dealer);
    zsock_destroy (&router);
    freen (endpoint);
    s_test_secure (verbose);
}

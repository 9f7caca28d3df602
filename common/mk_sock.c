/*  mk_sock: makes every bus socket Maekin uses. */
#include "mk_sock.h"

#include "mk_curve.h"
#include "mk_limits.h"
#include "mk_testdir.h"
#include "mk_zap.h"

#include <pthread.h>

//  Generous queues: a client may keep thousands of requests in flight and the broker
//  must not drop or block on a burst; memory is bounded by the broker's own limits.
#define MK_SOCK_HWM 200000

static size_t
s_pointer_hash (const void *key)
{
    return (size_t) (uintptr_t) key >> 4;
}

static int
s_pointer_compare (const void *a, const void *b)
{
    return a == b ? 0 : a < b ? -1 : 1;
}

//  The process's security: its key pair (NULL: plain text), the broker's public key
//  and whether it is the broker. Set once at start, before any socket (mk_sock.h).
static zcert_t *s_cert;
static bool s_server;
//  The broker's public keys: one, or two while it changes (the first tried first).
static char s_broker_keys[2][MK_CURVE_KEY_TEXT + 1];
static int s_broker_key_count;

//  A client socket that may have to change broker keys (mk_sock_rekey).
typedef struct {
    zsock_t *monitor; //  its connections, as ZeroMQ's socket monitor tells them
    char *endpoint;   //  where it connects
    int key;          //  which of s_broker_keys it uses
    int failures;     //  handshakes the broker ended since the last that held
    bool shook;       //  the connection now up did its handshake
    bool switched;    //  connected anew: what the old connection still says is not ours
} rekey_t;

//  Every such socket, by its address; its owner alone touches its entry, the table is
//  shared by the process's threads.
static zhashx_t *s_rekeys;
static pthread_mutex_t s_rekeys_lock = PTHREAD_MUTEX_INITIALIZER;

void
mk_sock_secure (zcert_t *cert, const char *broker_keys, bool server)
{
    zcert_destroy (&s_cert);
    s_cert = cert;
    s_server = server;
    s_broker_key_count = 0;
    const char *at = broker_keys ? broker_keys : "";
    while (*at && s_broker_key_count < 2) {
        size_t length = strcspn (at, ",");
        snprintf (s_broker_keys[s_broker_key_count++], MK_CURVE_KEY_TEXT + 1, "%.*s", (int) length,
                  at);
        at += length + (at[length] == ',');
    }
}

//  The broker's keys from a setting: one or two (comma-separated), each a key file or
//  40 characters; into keys as "KEY" or "KEY,KEY". 0, or -1 and *error.
static int
s_broker_keys_parse (const char *setting, char *keys, char **error)
{
    char *list = strdup (setting), *rest = list, *item;
    int count = 0;
    keys[0] = 0;
    while (!*error && (item = strsep (&rest, ","))) {
        char key[MK_CURVE_KEY_TEXT + 1];
        if (++count > 2)
            *error = strdup ("bus/broker_key holds one key, or two while the broker's changes");
        else if (mk_curve_public (item, key, error) == 0)
            strcat (strcat (keys, count > 1 ? "," : ""), key);
    }
    free (list);
    return *error ? -1 : 0;
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
            "%s not set: this program needs its key pair%s (maekinsh admin keygen DIR NAME "
            "makes them), or bus/security=none for a bus without encryption",
            !*key ? "bus/key is" : "bus/broker_key is",
            server ? "" : " and the broker's public key");
        return -1;
    }
    char public_keys[2 * MK_CURVE_KEY_TEXT + 2] = "";
    if (!server && s_broker_keys_parse (broker_key, public_keys, error) != 0)
        return -1;
    zcert_t *cert = mk_curve_load (key, error);
    if (!cert)
        return -1;
    mk_sock_secure (cert, server ? NULL : public_keys, server);
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
    char public_keys[2 * MK_CURVE_KEY_TEXT + 2];
    if (!broker_key || s_broker_keys_parse (broker_key, public_keys, error) != 0) {
        if (!*error)
            *error = strdup ("$MAEKIN_BUS_KEY is set but not $MAEKIN_BROKER_KEY");
        return -1;
    }
    zcert_t *cert = mk_curve_load (key, error);
    if (!cert)
        return -1;
    mk_sock_secure (cert, public_keys, false);
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
        mk_curve_client (sock, s_cert, s_broker_keys[0]);
}

//  With two broker keys, a client socket's connections are watched (before it connects,
//  so that no event is missed), for mk_sock_rekey; or, with watch false, followed from
//  the events its owner's own socket monitor hears (mk_sock_rekey_note).
static void
s_rekey_follow (zsock_t *sock, const char *endpoint, bool watch)
{
    rekey_t *rekey = (rekey_t *) zmalloc (sizeof (rekey_t));
    if (watch) {
        char address[64];
        snprintf (address, sizeof address, "inproc://mk-sock-rekey-%p", (void *) sock);
        int rc = zmq_socket_monitor (zsock_resolve (sock), address, MK_SOCK_REKEY_EVENTS);
        assert (rc == 0);
        rekey->monitor = zsock_new (ZMQ_PAIR);
        assert (rekey->monitor && zsock_connect (rekey->monitor, "%s", address) == 0);
    }
    rekey->endpoint = strdup (endpoint[0] == '>' ? endpoint + 1 : endpoint);
    pthread_mutex_lock (&s_rekeys_lock);
    if (!s_rekeys) {
        s_rekeys = zhashx_new ();
        zhashx_set_key_hasher (s_rekeys, s_pointer_hash);
        zhashx_set_key_comparator (s_rekeys, s_pointer_compare);
        zhashx_set_key_duplicator (s_rekeys, NULL);
        zhashx_set_key_destructor (s_rekeys, NULL);
    }
    zhashx_insert (s_rekeys, sock, rekey);
    pthread_mutex_unlock (&s_rekeys_lock);
}

static rekey_t *
s_rekey_find (zsock_t *sock, bool take)
{
    rekey_t *rekey = NULL;
    pthread_mutex_lock (&s_rekeys_lock);
    if (s_rekeys && (rekey = (rekey_t *) zhashx_lookup (s_rekeys, sock)) && take)
        zhashx_delete (s_rekeys, sock);
    pthread_mutex_unlock (&s_rekeys_lock);
    return rekey;
}

void
mk_sock_rekey_follow (zsock_t *sock, const char *endpoint)
{
    if (s_cert && !s_server && s_broker_key_count == 2 && endpoint && !strchr (endpoint, ','))
        s_rekey_follow (sock, endpoint, false);
}

//  One event of the socket's connections. Each attempt that fails ends DISCONNECTED
//  before its handshake held (the broker closes a handshake with a key not its own);
//  after a switch, what the old connection still says is let go until the new one
//  connects.
static void
s_rekey_note (rekey_t *rekey, int event)
{
    if (event == ZMQ_EVENT_CONNECTED) {
        rekey->shook = false;
        rekey->switched = false;
    } else if (rekey->switched)
        return;
    else if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
        rekey->shook = true;
        rekey->failures = 0;
    } else if (event == ZMQ_EVENT_DISCONNECTED)
        rekey->failures += !rekey->shook;
}

//  After two failed handshakes running, the other key (the broker serves it now). The
//  old connection's session ends when the socket does its ZeroMQ commands, which
//  mk_sock_rekey has it do at each call (a PUB with nothing to send would not).
static bool
s_rekey_switch (zsock_t *sock, rekey_t *rekey)
{
    if (rekey->failures < 2 || s_broker_key_count < 2)
        return false;
    //  The other key: the broker has changed its own (or not yet).
    rekey->key = (rekey->key + 1) % s_broker_key_count;
    rekey->failures = 0;
    rekey->switched = true;
    //  Without lingering: a session left to deliver what it holds would go on trying
    //  the old key, and its failures, told by the same socket monitor, would count
    //  against the new one.
    int linger = zsock_linger (sock);
    zsock_set_linger (sock, 0);
    zsock_disconnect (sock, "%s", rekey->endpoint);
    zsock_set_linger (sock, linger);
    zsock_set_curve_serverkey (sock, s_broker_keys[rekey->key]);
    zsock_connect (sock, "%s", rekey->endpoint);
    mk_info ("mk_sock: the broker at %s did not take the handshake; trying its key %s",
             rekey->endpoint, s_broker_keys[rekey->key]);
    return true;
}

bool
mk_sock_rekey (zsock_t *sock)
{
    rekey_t *rekey = s_rekeys && sock ? s_rekey_find (sock, false) : NULL;
    if (!rekey)
        return false;
    //  A socket does its ZeroMQ commands only when it is used: an old connection's
    //  session waits for that to end (and goes on trying its key meanwhile) on a socket
    //  that is seldom used, as a PUB with nothing to say. Asking its events does them.
    zsock_events (sock);
    zmsg_t *event;
    while (rekey->monitor && (event = mk_sock_recv_nowait (rekey->monitor))) {
        zframe_t *head = zmsg_first (event);
        uint16_t what = 0;
        if (head && zframe_size (head) >= 2)
            memcpy (&what, zframe_data (head), 2);
        s_rekey_note (rekey, what);
        zmsg_destroy (&event);
    }
    return s_rekey_switch (sock, rekey);
}

bool
mk_sock_rekey_note (zsock_t *sock, int event)
{
    rekey_t *rekey = s_rekeys && sock ? s_rekey_find (sock, false) : NULL;
    if (!rekey)
        return false;
    zsock_events (sock);
    s_rekey_note (rekey, event);
    return s_rekey_switch (sock, rekey);
}

void
mk_sock_destroy (zsock_t **sock_p)
{
    if (!*sock_p)
        return;
    rekey_t *rekey = s_rekeys ? s_rekey_find (*sock_p, true) : NULL;
    if (rekey) {
        if (rekey->monitor)
            zmq_socket_monitor (zsock_resolve (*sock_p), NULL, 0);
        zsock_destroy (&rekey->monitor);
        free (rekey->endpoint);
        free (rekey);
    }
    zsock_destroy (sock_p);
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
    if (s_cert && !s_server && type != ZMQ_ROUTER && s_broker_key_count == 2 && endpoints
        && *endpoints && !strchr (endpoints, ','))
        s_rekey_follow (sock, endpoints, true);
    bool serverish = type == ZMQ_ROUTER || type == ZMQ_XPUB || type == ZMQ_XSUB;
    if (endpoints && zsock_attach (sock, endpoints, serverish) != 0) {
        mk_error ("mk_sock: cannot attach %s socket to '%s': %s", zsock_type_str (sock), endpoints,
                  zmq_strerror (zmq_errno ()));
        mk_sock_destroy (&sock);
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

static void s_test_rekey (const char *keys, bool verbose);

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
    s_test_rekey (keys, verbose);
    free (requests);
    free (stream);
    free (keys);
    mk_testdir_remove (&dir);
}

//  A ROUTER serving with cert at endpoint ("tcp://127.0.0.1:*" the first time; the same
//  port again after, once the old listener has let it go).
static zsock_t *
s_test_server (zcert_t *cert, const char *endpoint)
{
    mk_sock_secure (zcert_dup (cert), NULL, true);
    zsock_t *server = NULL;
    for (int tries = 0; tries < 500 && !server; tries++)
        if (!(server = mk_sock_new (ZMQ_ROUTER, endpoint)))
            zclock_sleep (10);
    assert (server);
    zsock_set_rcvtimeo (server, 50);
    return server;
}

//  Whether the client's text reaches the server within 10 s, the client's owner calling
//  mk_sock_rekey as it would at its ticks (and sending again after a switch: what was
//  queued for the old connection went with it, or comes late, as an earlier text).
static bool
s_test_reaches (zsock_t *client, zsock_t *server, int *switches, const char *text)
{
    zstr_send (client, text);
    for (int64_t end = zclock_mono () + 10000; zclock_mono () < end;) {
        if (mk_sock_rekey (client)) {
            (*switches)++;
            zstr_send (client, text);
        }
        zmsg_t *msg = zmsg_recv (server);
        bool reached = msg && zframe_streq (zmsg_last (msg), text);
        zmsg_destroy (&msg);
        if (reached)
            return true;
    }
    return false;
}

//  The broker's key changes: a client given both keys (the new first) finds the one the
//  broker serves, and finds the other when the broker restarts with it.
static void
s_test_rekey (const char *keys, bool verbose)
{
    char *error = NULL;
    char *path = zsys_sprintf ("%s/broker.key_secret", keys);
    zcert_t *old_cert = mk_curve_load (path, &error);
    free (path);
    assert (mk_curve_keygen (keys, "broker-next", &error) == 0);
    path = zsys_sprintf ("%s/broker-next.key_secret", keys);
    zcert_t *new_cert = mk_curve_load (path, &error);
    free (path);
    path = zsys_sprintf ("%s/client.key_secret", keys);
    zcert_t *client_cert = mk_curve_load (path, &error);
    free (path);
    assert (old_cert && new_cert && client_cert);
    mk_zap_t *zap = mk_zap_new ();
    assert (zap);
    mk_zap_open (zap, MK_SOCK_ZAP_REQUESTS);

    zsock_t *server = s_test_server (old_cert, "@tcp://127.0.0.1:*");
    char *endpoint = mk_sock_endpoint (server);
    char both[2 * MK_CURVE_KEY_TEXT + 2];
    snprintf (both, sizeof both, "%s,%s", zcert_public_txt (new_cert), zcert_public_txt (old_cert));
    mk_sock_secure (zcert_dup (client_cert), both, false);
    zsock_t *client = mk_sock_new (ZMQ_DEALER, endpoint);
    int switches = 0;
    assert (s_test_reaches (client, server, &switches, "hello") && switches == 1);
    //  The broker restarts with its new key: the client goes back to the first.
    zsock_destroy (&server);
    char *again = zsys_sprintf ("@%s", endpoint);
    server = s_test_server (new_cert, again);
    mk_sock_secure (zcert_dup (client_cert), both, false);
    assert (s_test_reaches (client, server, &switches, "again") && switches == 2);
    if (verbose)
        printf (" * a client with the broker's two keys follows it from one to the other\n");
    mk_sock_destroy (&client);
    mk_sock_destroy (&server);
    mk_sock_secure (NULL, NULL, false);
    assert (!mk_sock_rekey (server) && !mk_sock_rekey (NULL));
    mk_zap_destroy (&zap);
    zcert_destroy (&old_cert);
    zcert_destroy (&new_cert);
    zcert_destroy (&client_cert);
    free (again);
    free (endpoint);
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

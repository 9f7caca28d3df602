/*  controller_enrol's self-test: join tokens and the enrolment door on the real controller
    and broker (controller_fixture). On a CURVE bus, where the broker tells the controller
    which key sent each request: a token made by the administrator and used once by a new
    key (admitted as a node key for that host alone, the token gone), refused the second
    time; an expired token, an unknown one, a key that is not the caller's, a key admitted
    under another name, a wrong body through `enrol` and an enrolment through `cloud`, each
    refused with its reason and nothing changed; a host enrolled again replaces its old
    key; the audit log. On a plain-text bus the door is shut. */
#include "controller_fixture_test.h"

#include <ctype.h>

typedef controller_fixture_t test_t;

#define REFUSED "this join token is not valid (unknown, used or expired)"

//  A join token for a host, asked as `token` (the administrator's session: self->token):
//  the status (its reason holding `reason`, if given), and the token into text (128
//  bytes) when made.
static int
s_join (test_t *self, const char *token, const char *host, uint32_t ttl_s, const char *reason,
        char *text)
{
    Maekin__JoinTokenRequest ask = MAEKIN__JOIN_TOKEN_REQUEST__INIT;
    ask.host = (char *) host;
    ask.ttl_s = ttl_s;
    Maekin__Envelope *reply =
        controller_fixture_as (self->client, token, MAEKIN__ENVELOPE__BODY_JOIN_TOKEN, &ask);
    int status = reply->status;
    if (reason && !(reply->reason && strstr (reply->reason, reason))) {
        fprintf (stderr, "expected '%s' in '%s'\n", reason, reply->reason ? reply->reason : "");
        assert (false);
    }
    if (status == MK_OK) {
        int64_t now = zclock_time () / 1000;
        const Maekin__JoinTokenReply *made = reply->join_token_reply;
        assert (reply->body_case == MAEKIN__ENVELOPE__BODY_JOIN_TOKEN_REPLY);
        assert (strncmp (made->token, "mkj_", 4) == 0 && strlen (made->token) == 47
                && streq (made->host, host));
        int64_t ttl = ttl_s ? ttl_s : 3600;
        assert (made->expires >= now + ttl - 2 && made->expires <= now + ttl);
        snprintf (text, 128, "%s", made->token);
    }
    mk_msg_free (&reply);
    return status;
}

//  An enrolment sent by a client to a service: the reply (the caller's).
static Maekin__Envelope *
s_send (mk_client_t *client, const char *service, const char *token, const char *key)
{
    Maekin__EnrolRequest enrol = MAEKIN__ENROL_REQUEST__INIT;
    enrol.token = (char *) token;
    enrol.key = (char *) key;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_ENROL;
    env.enrol = &enrol;
    return mk_client_call (client, service, &env, 5000, 0, NULL, NULL);
}

//  An enrolment through `enrol`: its status, its reason holding `reason` if given.
static int
s_enrol (mk_client_t *client, const char *token, const char *key, const char *reason)
{
    Maekin__Envelope *reply = s_send (client, "enrol", token, key);
    int status = reply->status;
    if (reason && !(reply->reason && strstr (reply->reason, reason))) {
        fprintf (stderr, "expected '%s' in '%s' (%d)\n", reason, reply->reason ? reply->reason : "",
                 status);
        assert (false);
    }
    //  A node admitted is given the cloud's multicast key, for its monitor.
    if (status == MK_OK)
        assert (reply->body_case == MAEKIN__ENVELOPE__BODY_ENROL_REPLY
                && reply->enrol_reply->multicast_key.len == MK_CURVE_SECRET
                && !memcmp (reply->enrol_reply->multicast_key.data,
                            controller_fixture_multicast_key, MK_CURVE_SECRET));
    else
        assert (reply->body_case != MAEKIN__ENVELOPE__BODY_ENROL_REPLY);
    mk_msg_free (&reply);
    return status;
}

//  The keys of a name: how many, the first's text into key (41 bytes) if any, checking
//  that each is a node key for that host alone, admitted by the door.
static size_t
s_named (test_t *self, const char *name, char *key)
{
    Maekin__BusKeyListRequest list = MAEKIN__BUS_KEY_LIST_REQUEST__INIT;
    list.name = (char *) name;
    Maekin__Envelope *reply = controller_fixture_as (self->client, self->token,
                                                     MAEKIN__ENVELOPE__BODY_BUS_KEY_LIST, &list);
    size_t count = 0;
    if (reply->status == MK_OK) {
        const Maekin__BusKeyListReply *keys = reply->bus_key_list_reply;
        count = keys->n_keys;
        for (size_t i = 0; i < count; i++)
            assert (keys->keys[i]->role == MAEKIN__BUS_ROLE__BUS_ROLE_NODE
                    && keys->keys[i]->n_hosts == 1 && streq (keys->keys[i]->hosts[0], name)
                    && streq (keys->keys[i]->created_by, "enrol"));
        if (count && key)
            snprintf (key, 41, "%s", keys->keys[0]->key);
    } else
        assert (reply->status == MK_NOT_FOUND);
    mk_msg_free (&reply);
    return count;
}

//  Rows in a table of the database, read beside the controller.
static int64_t
s_rows (test_t *self, const char *table)
{
    char *error = NULL;
    mk_db_t *db = mk_db_open (self->url, &error);
    assert (db);
    int64_t rows = mk_db_count (db, table, NULL);
    mk_db_destroy (&db);
    return rows;
}

//  A request without a credential from a client to `cloud`: its status (504: the broker
//  said nothing, as it does to a key it does not know).
static int
s_knock_cloud (mk_client_t *client, int timeout_ms)
{
    Maekin__WhoamiRequest whoami = MAEKIN__WHOAMI_REQUEST__INIT;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_WHOAMI;
    env.whoami = &whoami;
    Maekin__Envelope *reply = mk_client_call (client, "cloud", &env, timeout_ms, 0, NULL, NULL);
    int status = reply->status;
    mk_msg_free (&reply);
    return status;
}

//  Whether a client reaches `cloud` (is answered, 401 without a credential) within 5 s.
static bool
s_reaches_cloud (mk_client_t *client)
{
    for (int64_t until = zclock_mono () + 5000; zclock_mono () < until;)
        if (s_knock_cloud (client, 300) == MK_UNAUTHORIZED)
            return true;
    return false;
}

//  The audit log's entries of a request: how many have the status and a reason holding
//  `reason` ("" for any) and, if given, the subject.
static int
s_audited (test_t *self, const char *request, int status, const char *reason, const char *subject)
{
    Maekin__Envelope *reply = controller_fixture_audit (self->client, self->token);
    int count = 0;
    for (size_t i = 0; i < reply->audit_list_reply->n_entries; i++) {
        const Maekin__AuditEntry *entry = reply->audit_list_reply->entries[i];
        count += streq (entry->request, request) && entry->status == status
                 && strstr (entry->reason, reason) && (!subject || streq (entry->subject, subject));
    }
    mk_msg_free (&reply);
    return count;
}

//  Refused, each with its reason, and nothing changed: no key, every token still there.
static void
s_test_refusals (test_t *self, mk_client_t *stranger, const char *own, const char *other,
                 const char *token)
{
    int64_t tokens = s_rows (self, "join_tokens"), keys = s_rows (self, "bus_keys");
    char random[128];
    snprintf (random, sizeof random, "mkj_%s", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    assert (s_enrol (stranger, random, own, REFUSED) == MK_FORBIDDEN);
    assert (s_enrol (stranger, "", own, REFUSED) == MK_FORBIDDEN);
    char *long_token = (char *) malloc (4096);
    memset (long_token, 'x', 4095);
    long_token[4095] = 0;
    assert (s_enrol (stranger, long_token, own, REFUSED) == MK_FORBIDDEN);
    free (long_token);
    //  A key that is not the caller's: the node must hold the secret of what it gives.
    assert (s_enrol (stranger, token, other, "not the one this node connects with")
            == MK_FORBIDDEN);
    assert (s_enrol (stranger, token, "short", "40 characters") == MK_FORBIDDEN);
    assert (s_enrol (stranger, token, "", "40 characters") == MK_FORBIDDEN);
    //  A wrong body through `enrol`, an enrolment through `cloud` (the controller's own key
    //  may send anywhere; a stranger could not reach `cloud` at all).
    Maekin__HostListRequest list = MAEKIN__HOST_LIST_REQUEST__INIT;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_HOST_LIST;
    env.host_list = &list;
    Maekin__Envelope *reply = mk_client_call (self->client, "enrol", &env, 5000, 0, NULL, NULL);
    assert (reply->status == MK_BAD_REQUEST
            && strstr (reply->reason, "takes an enrolment (EnrolRequest) alone, not 'host_list'"));
    mk_msg_free (&reply);
    reply = s_send (self->client, "cloud", token, zcert_public_txt (self->controller_cert));
    assert (reply->status == MK_BAD_REQUEST
            && strstr (reply->reason, "an enrolment goes to the service 'enrol', not 'cloud'"));
    mk_msg_free (&reply);
    assert (s_rows (self, "join_tokens") == tokens && s_rows (self, "bus_keys") == keys);
}

//  A machine added to be a host, asked as `token`: the status (its reason holding `reason`,
//  if given); its token (128 bytes) and address (64) when added.
static int
s_host_add (test_t *self, const char *token, const char *name, const char *mac, const char *pool,
            const char *ip, uint32_t ttl_s, const char *reason, char *text, char *address)
{
    Maekin__HostAddRequest add = MAEKIN__HOST_ADD_REQUEST__INIT;
    add.name = (char *) name;
    add.mac = (char *) mac;
    add.pool = (char *) pool;
    add.ip = (char *) ip;
    add.ttl_s = ttl_s;
    Maekin__Envelope *reply =
        controller_fixture_as (self->client, token, MAEKIN__ENVELOPE__BODY_HOST_ADD, &add);
    int status = reply->status;
    if (reason && !(reply->reason && strstr (reply->reason, reason))) {
        fprintf (stderr, "expected '%s' in '%s'\n", reason, reply->reason ? reply->reason : "");
        assert (false);
    }
    if (status == MK_OK) {
        const Maekin__HostAddReply *made = reply->host_add_reply;
        assert (reply->body_case == MAEKIN__ENVELOPE__BODY_HOST_ADD_REPLY);
        assert (strncmp (made->token, "mkj_", 4) == 0 && streq (made->name, name)
                && streq (made->pool, pool) && strlen (made->mac) == 17);
        for (const char *c = made->mac; *c; c++)
            assert (!isupper ((unsigned char) *c));
        snprintf (text, 128, "%s", made->token);
        snprintf (address, 64, "%s", made->ip);
    }
    mk_msg_free (&reply);
    return status;
}

static int
s_host_remove (test_t *self, const char *name, const char *reason)
{
    Maekin__HostRemoveRequest remove = MAEKIN__HOST_REMOVE_REQUEST__INIT;
    remove.name = (char *) name;
    return controller_fixture_status_as (self->client, self->token,
                                         MAEKIN__ENVELOPE__BODY_HOST_REMOVE, &remove, reason);
}

//  The host a pool's lease of an address is bound to ("" if a VM's, NULL if none), and
//  whether that host enrolled.
static char *
s_bound_host (test_t *self, const char *ip, bool *enrolled)
{
    Maekin__PoolLeasesRequest list = MAEKIN__POOL_LEASES_REQUEST__INIT;
    Maekin__Envelope *reply = controller_fixture_as (self->client, self->token,
                                                     MAEKIN__ENVELOPE__BODY_POOL_LEASES, &list);
    assert (reply->status == MK_OK);
    char *host = NULL;
    for (size_t i = 0; i < reply->pool_leases_reply->n_leases; i++) {
        const Maekin__Lease *lease = reply->pool_leases_reply->leases[i];
        if (streq (lease->ip, ip)) {
            assert (!*lease->vm && !*lease->vi);
            host = strdup (lease->host);
            *enrolled = lease->enrolled;
        }
    }
    mk_msg_free (&reply);
    return host;
}

//  host add: a MAC bound to an address and a token that enrols the host; bad asks refused
//  changing nothing; host remove: binding, tokens and keys gone, the node cut off.
static void
s_test_host_add (test_t *self, mk_client_t *node, const char *key)
{
    Maekin__Pool pool = MAEKIN__POOL__INIT;
    pool.name = "mgmt";
    pool.network = "10.66.0.0/24";
    pool.bridge = "mkbr0";
    Maekin__IpRange range = MAEKIN__IP_RANGE__INIT;
    range.first = "10.66.0.50";
    range.last = "10.66.0.52";
    Maekin__IpRange *ranges[] = {&range};
    pool.ranges = ranges;
    pool.n_ranges = 1;
    Maekin__PoolCreateRequest create = MAEKIN__POOL_CREATE_REQUEST__INIT;
    create.pool = &pool;
    assert (controller_fixture_status_as (self->client, self->token,
                                          MAEKIN__ENVELOPE__BODY_POOL_CREATE, &create, NULL)
            == MK_OK);
    char token[128], ip[64];
    int64_t tokens = s_rows (self, "join_tokens"), leases = s_rows (self, "leases");
    const struct {
        const char *name, *mac, *pool, *ip;
        uint32_t ttl_s;
        int status;
        const char *reason;
    } bad[] = {
        {"Node_10", "52:54:00:aa:00:10", "mgmt", "", 0, MK_BAD_REQUEST, "host name 'Node_10'"},
        {"node10", "52:54:00:aa:00", "mgmt", "", 0, MK_BAD_REQUEST, "six pairs of hex digits"},
        {"node10", "52-54-00-aa-00-10", "mgmt", "", 0, MK_BAD_REQUEST, "six pairs"},
        {"node10", "01:00:5e:00:00:01", "mgmt", "", 0, MK_BAD_REQUEST, "multicast"},
        {"node10", "00:00:00:00:00:00", "mgmt", "", 0, MK_BAD_REQUEST, "all zeros"},
        {"node10", "52:54:00:aa:00:10", "", "", 0, MK_BAD_REQUEST, "name the IP pool"},
        {"node10", "52:54:00:aa:00:10", "nope", "", 0, MK_NOT_FOUND, "no IP pool named 'nope'"},
        {"node10", "52:54:00:aa:00:10", "mgmt", "10.66.0.99", 0, MK_BAD_REQUEST, "not in a range"},
        {"node10", "52:54:00:aa:00:10", "mgmt", "", 604801, MK_BAD_REQUEST, "at most a week"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert (s_host_add (self, self->token, bad[i].name, bad[i].mac, bad[i].pool, bad[i].ip,
                            bad[i].ttl_s, bad[i].reason, token, ip)
                == bad[i].status);
    char alice[64];
    assert (controller_fixture_login (self->client, "alice", "alice-secret-1", alice) == MK_OK);
    assert (s_host_add (self, alice, "node10", "52:54:00:aa:00:10", "mgmt", "", 0, "administrator",
                        token, ip)
            == MK_FORBIDDEN);
    assert (s_rows (self, "join_tokens") == tokens && s_rows (self, "leases") == leases);
    //  Added: the lowest free address (the refusals held none), the MAC in lower case.
    assert (s_host_add (self, self->token, "node10", "52:54:00:AA:00:10", "mgmt", "", 0, NULL,
                        token, ip)
            == MK_OK);
    assert (streq (ip, "10.66.0.50"));
    bool enrolled = true;
    char *bound = s_bound_host (self, "10.66.0.50", &enrolled);
    assert (bound && streq (bound, "node10") && !enrolled);
    free (bound);
    char other[128], other_ip[64];
    assert (s_host_add (self, self->token, "node10", "52:54:00:aa:00:11", "mgmt", "", 0,
                        "added already, with 10.66.0.50", other, other_ip)
            == MK_CONFLICT);
    assert (s_host_add (self, self->token, "node11", "52:54:00:aa:00:10", "mgmt", "", 0,
                        "bound already, to host 'node10'", other, other_ip)
            == MK_CONFLICT);
    assert (s_host_add (self, self->token, "node11", "52:54:00:aa:00:11", "mgmt", "10.66.0.52", 0,
                        NULL, other, other_ip)
            == MK_OK);
    assert (streq (other_ip, "10.66.0.52"));
    //  The token enrols the host.
    assert (s_enrol (node, token, key, NULL) == MK_OK);
    assert (s_named (self, "node10", NULL) == 1 && s_reaches_cloud (node));
    //  Enrolled: it boots from its disk now (maekin-dhcp gives it no boot file); node11
    //  has not.
    bound = s_bound_host (self, "10.66.0.50", &enrolled);
    assert (bound && streq (bound, "node10") && enrolled);
    free (bound);
    bound = s_bound_host (self, "10.66.0.52", &enrolled);
    assert (bound && streq (bound, "node11") && !enrolled);
    free (bound);
    //  Its key is node10's alone: a report about another host is refused.
    Maekin__Host other_host = MAEKIN__HOST__INIT;
    other_host.name = "node12";
    other_host.state = "up";
    Maekin__HostRegisterRequest report = MAEKIN__HOST_REGISTER_REQUEST__INIT;
    report.host = &other_host;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_HOST_REGISTER;
    env.host_register = &report;
    Maekin__Envelope *reply = mk_client_call (node, "cloud", &env, 5000, 0, NULL, NULL);
    assert (reply->status == MK_FORBIDDEN && strstr (reply->reason, "not admitted for that host"));
    mk_msg_free (&reply);
    //  Removed: its address free again, its keys gone and the node cut off; node11's
    //  token goes with node11.
    assert (s_host_remove (self, "node10", NULL) == MK_OK);
    assert (s_named (self, "node10", NULL) == 0);
    assert (s_knock_cloud (node, 500) == MK_TIMEOUT);
    assert (!s_bound_host (self, "10.66.0.50", &enrolled));
    tokens = s_rows (self, "join_tokens");
    assert (s_host_remove (self, "node11", NULL) == MK_OK);
    assert (s_rows (self, "join_tokens") == tokens - 1 && s_rows (self, "leases") == leases);
    assert (s_host_remove (self, "node11", "no host named 'node11'") == MK_NOT_FOUND);
    assert (s_host_remove (self, "Bad_Host", "host name") == MK_BAD_REQUEST);
    //  A removed host's spent token opens nothing.
    assert (s_enrol (node, token, key, REFUSED) == MK_FORBIDDEN);
    assert (s_audited (self, "host_add", MK_OK, "", "node10") == 1);
    assert (s_audited (self, "host_remove", MK_OK, "", "node10") == 1);
    assert (s_audited (self, "host_add", MK_FORBIDDEN, "administrator", "node10") == 1);
}

//  Someone who is not the administrator gets no token; bad asks are refused.
static void
s_test_tokens (test_t *self)
{
    char text[128];
    int64_t tokens = s_rows (self, "join_tokens");
    assert (s_join (self, self->token, "Bad_Host", 0, "host name 'Bad_Host'", text)
            == MK_BAD_REQUEST);
    assert (s_join (self, self->token, "", 0, "host name ''", text) == MK_BAD_REQUEST);
    assert (s_join (self, self->token, "node7", 604801, "at most a week", text) == MK_BAD_REQUEST);
    char alice[64];
    controller_fixture_user (self->client, self->token, "alice", "alice-secret-1", alice);
    assert (s_join (self, alice, "node7", 0, "administrator", text) == MK_FORBIDDEN);
    assert (s_join (self, NULL, "node7", 0, "credential", text) == MK_UNAUTHORIZED);
    assert (s_rows (self, "join_tokens") == tokens);
    //  A week, at most.
    assert (s_join (self, self->token, "node6", 604800, NULL, text) == MK_OK);
}

static void
s_test_curve (bool verbose)
{
    test_t test, *self = &test;
    controller_fixture_start_curve (self, "controller_enrol_test");
    zcert_t *certs[3] = {zcert_new (), zcert_new (), zcert_new ()};
    const char *keys[3];
    mk_client_t *nodes[3];
    for (int i = 0; i < 3; i++) {
        keys[i] = zcert_public_txt (certs[i]);
        nodes[i] = controller_fixture_client (self, certs[i]);
    }
    s_test_tokens (self);
    //  A token for node7: the door refuses everything else, then takes it once.
    char token[128];
    assert (s_join (self, self->token, "node7", 0, NULL, token) == MK_OK);
    s_test_refusals (self, nodes[0], keys[0], keys[1], token);
    assert (s_named (self, "node7", NULL) == 0);
    int64_t tokens = s_rows (self, "join_tokens");
    assert (s_enrol (nodes[0], token, keys[0], NULL) == MK_OK);
    char key[41];
    assert (s_named (self, "node7", key) == 1 && streq (key, keys[0]));
    assert (s_rows (self, "join_tokens") == tokens - 1);
    //  The key works at once: the broker was sent the list, and the node reaches `cloud`.
    assert (s_reaches_cloud (nodes[0]));
    //  The same token again, by another new key: refused, nothing changed.
    int64_t rows = s_rows (self, "bus_keys");
    assert (s_enrol (nodes[1], token, keys[1], REFUSED) == MK_FORBIDDEN);
    assert (s_rows (self, "bus_keys") == rows && s_named (self, "node7", NULL) == 1);
    //  An expired token: refused, and the host gets no key.
    char expiring[128];
    assert (s_join (self, self->token, "node8", 1, NULL, expiring) == MK_OK);
    zclock_sleep (2100);
    assert (s_enrol (nodes[1], expiring, keys[1], REFUSED) == MK_FORBIDDEN);
    assert (s_named (self, "node8", NULL) == 0 && s_rows (self, "bus_keys") == rows);
    //  A key admitted under another name (here the controller's own, which alone of
    //  admitted keys may reach `enrol`): 409, and the token is not used up.
    Maekin__BusKey alias = MAEKIN__BUS_KEY__INIT;
    alias.name = "ops";
    alias.key = (char *) zcert_public_txt (self->controller_cert);
    alias.role = MAEKIN__BUS_ROLE__BUS_ROLE_CLIENT;
    Maekin__BusKeyAdmitRequest admit = MAEKIN__BUS_KEY_ADMIT_REQUEST__INIT;
    admit.key = &alias;
    assert (controller_fixture_status_as (self->client, self->token,
                                          MAEKIN__ENVELOPE__BODY_BUS_KEY_ADMIT, &admit, NULL)
            == MK_OK);
    char taken[128];
    assert (s_join (self, self->token, "node9", 0, NULL, taken) == MK_OK);
    tokens = s_rows (self, "join_tokens");
    assert (s_enrol (self->client, taken, alias.key, "admitted already, as 'ops'") == MK_CONFLICT);
    assert (s_rows (self, "join_tokens") == tokens && s_named (self, "node9", NULL) == 0);
    //  node7 enrolled again, with a new key: the old one is cut off at once.
    char again[128];
    assert (s_join (self, self->token, "node7", 0, NULL, again) == MK_OK);
    assert (s_enrol (nodes[2], again, keys[2], NULL) == MK_OK);
    assert (s_named (self, "node7", key) == 1 && streq (key, keys[2]));
    assert (s_reaches_cloud (nodes[2]));
    assert (s_knock_cloud (nodes[0], 500) == MK_TIMEOUT);
    //  The audit log: every enrolment, allowed or refused, with its precise cause.
    assert (s_audited (self, "enrol", MK_OK, "", "node7") == 2);
    assert (s_audited (self, "enrol", MK_FORBIDDEN, "no such join token", NULL) == 2);
    assert (s_audited (self, "enrol", MK_FORBIDDEN, "no token given", NULL) == 1);
    assert (s_audited (self, "enrol", MK_FORBIDDEN, "too long", NULL) == 1);
    assert (s_audited (self, "enrol", MK_FORBIDDEN, "expired", "node8") == 1);
    assert (s_audited (self, "enrol", MK_FORBIDDEN, "not the one this node connects with", NULL)
            == 1);
    assert (s_audited (self, "enrol", MK_CONFLICT, "as 'ops'", "node9") == 1);
    assert (s_audited (self, "join_token", MK_OK, "", "node7") == 2);
    assert (s_audited (self, "join_token", MK_FORBIDDEN, "administrator", "node7") == 1);
    //  A machine added to be a host, with the stranger's key of the first enrolment.
    zcert_t *cert = zcert_new ();
    mk_client_t *node = controller_fixture_client (self, cert);
    s_test_host_add (self, node, zcert_public_txt (cert));
    mk_client_destroy (&node);
    zcert_destroy (&cert);
    if (verbose)
        printf (" * CURVE: a token used once, every other enrolment refused, a host re-enrolled, "
                "a host added and removed\n");
    for (int i = 0; i < 3; i++) {
        mk_client_destroy (&nodes[i]);
        zcert_destroy (&certs[i]);
    }
    controller_fixture_stop (self);
}

//  On a plain-text bus no key proves anything: the door is shut, the token kept.
static void
s_test_plain (bool verbose)
{
    test_t test, *self = &test;
    controller_fixture_start (self, "controller_enrol_plain");
    char token[128];
    assert (s_join (self, self->token, "node7", 0, NULL, token) == MK_OK);
    zcert_t *cert = zcert_new ();
    assert (s_enrol (self->client, token, zcert_public_txt (cert), "enrolment needs a CURVE bus")
            == MK_BAD_REQUEST);
    assert (s_rows (self, "join_tokens") == 1 && s_rows (self, "bus_keys") == 0);
    zcert_destroy (&cert);
    if (verbose)
        printf (" * plain text: the door is shut\n");
    controller_fixture_stop (self);
}

void
controller_enrol_test (bool verbose)
{
    s_test_plain (verbose);
    s_test_curve (verbose);
}

/*  controller_buskey's self-test: the bus's allow-list on the real controller and broker
    (controller_fixture): admit, list, revoke and rotate by the administrator, every bad
    request refused with its reason and nothing changed, others refused, the audit log,
    expired keys purged; then the pushes to `bus/keys`, served here by a fake broker
    service (on a bus without security the broker routes it like any other), and the
    bootstrap key. */
#include "controller_fixture_test.h"

#include "mk_testdir.h"
#include "mk_wire.h"

typedef controller_fixture_t test_t;

//  Key pairs for the test; their public keys as text.
#define KEYS 6
static zcert_t *s_certs[KEYS];

static const char *
s_key (int i)
{
    return zcert_public_txt (s_certs[i]);
}

static int
s_admit (test_t *self, const char *token, const char *name, const char *key, Maekin__BusRole role,
         const char *hosts, const char *reason)
{
    char *list[8];
    size_t count = 0;
    char *copy = strdup (hosts ? hosts : "");
    for (char *host = strtok (copy, ","); host && count < 8; host = strtok (NULL, ","))
        list[count++] = host;
    Maekin__BusKey bus_key = MAEKIN__BUS_KEY__INIT;
    bus_key.name = (char *) name;
    bus_key.key = (char *) key;
    bus_key.role = role;
    bus_key.hosts = list;
    bus_key.n_hosts = count;
    Maekin__BusKeyAdmitRequest admit = MAEKIN__BUS_KEY_ADMIT_REQUEST__INIT;
    admit.key = &bus_key;
    int status = controller_fixture_status_as (
        self->client, token, MAEKIN__ENVELOPE__BODY_BUS_KEY_ADMIT, &admit, reason);
    free (copy);
    return status;
}

//  The list (of one name, or all): the reply (status 200 asserted).
static Maekin__Envelope *
s_list (test_t *self, const char *name)
{
    Maekin__BusKeyListRequest list = MAEKIN__BUS_KEY_LIST_REQUEST__INIT;
    list.name = (char *) (name ? name : "");
    Maekin__Envelope *reply = controller_fixture_as (self->client, self->token,
                                                     MAEKIN__ENVELOPE__BODY_BUS_KEY_LIST, &list);
    assert (reply->status == MK_OK
            && reply->body_case == MAEKIN__ENVELOPE__BODY_BUS_KEY_LIST_REPLY);
    return reply;
}

static size_t
s_count (test_t *self)
{
    Maekin__Envelope *reply = s_list (self, NULL);
    size_t count = reply->bus_key_list_reply->n_keys;
    mk_msg_free (&reply);
    return count;
}

static int
s_rotate (test_t *self, const char *token, const char *name, const char *key, uint32_t grace,
          const char *reason)
{
    Maekin__BusKeyRotateRequest rotate = MAEKIN__BUS_KEY_ROTATE_REQUEST__INIT;
    rotate.name = (char *) name;
    rotate.key = (char *) key;
    rotate.grace_s = grace;
    return controller_fixture_status_as (self->client, token, MAEKIN__ENVELOPE__BODY_BUS_KEY_ROTATE,
                                         &rotate, reason);
}

static int
s_revoke (test_t *self, const char *token, const char *name, const char *reason)
{
    Maekin__BusKeyRevokeRequest revoke = MAEKIN__BUS_KEY_REVOKE_REQUEST__INIT;
    revoke.name = (char *) name;
    return controller_fixture_status_as (self->client, token, MAEKIN__ENVELOPE__BODY_BUS_KEY_REVOKE,
                                         &revoke, reason);
}

//  Rows in the database's table, read beside the controller.
static int64_t
s_rows (test_t *self)
{
    char *error = NULL;
    mk_db_t *db = mk_db_open (self->url, &error);
    assert (db);
    int64_t rows = mk_db_count (db, "bus_keys", NULL);
    mk_db_destroy (&db);
    return rows;
}

#define NODE   MAEKIN__BUS_ROLE__BUS_ROLE_NODE
#define CLIENT MAEKIN__BUS_ROLE__BUS_ROLE_CLIENT

//  Every bad request is refused with its reason, and changes nothing.
static void
s_test_refusals (test_t *self)
{
    const char *token = self->token;
    size_t before = s_count (self);
    Maekin__BusKeyAdmitRequest empty = MAEKIN__BUS_KEY_ADMIT_REQUEST__INIT;
    assert (controller_fixture_status_as (self->client, token, MAEKIN__ENVELOPE__BODY_BUS_KEY_ADMIT,
                                          &empty, "its name, its key and its role")
            == MK_BAD_REQUEST);
    char long_name[80];
    memset (long_name, 'x', 64);
    long_name[64] = 0;
    const struct {
        const char *name, *key;
        Maekin__BusRole role;
        const char *hosts, *reason;
        int status;
    } bad[] = {
        {"", s_key (2), CLIENT, NULL, "must not be empty", MK_BAD_REQUEST},
        {"a b", s_key (2), CLIENT, NULL, "letters, digits", MK_BAD_REQUEST},
        {long_name, s_key (2), CLIENT, NULL, "63", MK_BAD_REQUEST},
        {"ci", "short", CLIENT, NULL, "40 characters", MK_BAD_REQUEST},
        {"ci", "0123456789012345678901234567890123456789\"", CLIENT, NULL, "40", MK_BAD_REQUEST},
        {"ci", "012345678901234567890123456789012345678\"", CLIENT, NULL, "Z85", MK_BAD_REQUEST},
        {"ci", s_key (2), MAEKIN__BUS_ROLE__BUS_ROLE_CONTROLLER, NULL, "broker's configuration",
         MK_BAD_REQUEST},
        {"ci", s_key (2), MAEKIN__BUS_ROLE__BUS_ROLE_UNSET, NULL, "node", MK_BAD_REQUEST},
        {"ci", s_key (2), (Maekin__BusRole) 9, NULL, "node", MK_BAD_REQUEST},
        {"ci", s_key (2), NODE, NULL, "names its hosts", MK_BAD_REQUEST},
        {"ci", s_key (2), NODE, "n1,Bad", "host name 'Bad'", MK_BAD_REQUEST},
        {"ci", s_key (2), NODE, "n1,n1", "twice", MK_BAD_REQUEST},
        {"ci", s_key (2), CLIENT, "n1", "client key has no hosts", MK_BAD_REQUEST},
        //  A key admitted already, under any name; a name in use.
        {"ci", s_key (0), CLIENT, NULL, "admitted already, as 'maekinsh'", MK_CONFLICT},
        {"maekinsh", s_key (2), CLIENT, NULL, "rotate it instead", MK_CONFLICT},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert (
            s_admit (self, token, bad[i].name, bad[i].key, bad[i].role, bad[i].hosts, bad[i].reason)
            == bad[i].status);
    assert (s_rotate (self, token, "nobody", s_key (2), 0, "no key named 'nobody'")
            == MK_NOT_FOUND);
    assert (s_rotate (self, token, "maekinsh", s_key (2), 604801, "at most a week")
            == MK_BAD_REQUEST);
    assert (s_rotate (self, token, "maekinsh", s_key (1), 0, "admitted already, as 'agent-1'")
            == MK_CONFLICT);
    assert (s_rotate (self, token, "maekinsh", "not a key", 0, "40 characters") == MK_BAD_REQUEST);
    assert (s_rotate (self, token, "no/name", s_key (2), 0, "letters") == MK_BAD_REQUEST);
    assert (s_revoke (self, token, "nobody", "no key named") == MK_NOT_FOUND);
    assert (s_revoke (self, token, "", "must not be empty") == MK_BAD_REQUEST);
    Maekin__BusKeyListRequest list = MAEKIN__BUS_KEY_LIST_REQUEST__INIT;
    list.name = "nobody";
    assert (controller_fixture_status_as (self->client, token, MAEKIN__ENVELOPE__BODY_BUS_KEY_LIST,
                                          &list, "no key named")
            == MK_NOT_FOUND);
    assert (s_count (self) == before && s_rows (self) == (int64_t) before);
}

//  Someone who is not the administrator may neither change nor read the list.
static void
s_test_others (test_t *self)
{
    char alice[64];
    controller_fixture_user (self->client, self->token, "alice", "alice-secret-1", alice);
    size_t before = s_count (self);
    assert (s_admit (self, alice, "mine", s_key (2), CLIENT, NULL, "administrator")
            == MK_FORBIDDEN);
    assert (s_rotate (self, alice, "maekinsh", s_key (2), 0, "administrator") == MK_FORBIDDEN);
    assert (s_revoke (self, alice, "maekinsh", "administrator") == MK_FORBIDDEN);
    Maekin__BusKeyListRequest list = MAEKIN__BUS_KEY_LIST_REQUEST__INIT;
    assert (controller_fixture_status_as (self->client, alice, MAEKIN__ENVELOPE__BODY_BUS_KEY_LIST,
                                          &list, "administrator")
            == MK_FORBIDDEN);
    assert (s_admit (self, NULL, "mine", s_key (2), CLIENT, NULL, "credential") == MK_UNAUTHORIZED);
    assert (s_count (self) == before);
}

//  The audit log holds every change asked, allowed or refused.
static void
s_test_audit (test_t *self)
{
    Maekin__Envelope *reply = controller_fixture_audit (self->client, self->token);
    int admitted = 0, refused = 0, forbidden = 0, rotated = 0, revoked = 0;
    for (size_t i = 0; i < reply->audit_list_reply->n_entries; i++) {
        const Maekin__AuditEntry *entry = reply->audit_list_reply->entries[i];
        if (streq (entry->request, "bus_key_admit")) {
            admitted += entry->status == MK_OK && streq (entry->user, "admin");
            refused += entry->status == MK_CONFLICT && streq (entry->subject, "maekinsh")
                       && strstr (entry->reason, "rotate it instead");
            forbidden += entry->status == MK_FORBIDDEN && streq (entry->user, "alice");
        }
        rotated += streq (entry->request, "bus_key_rotate") && entry->status == MK_OK;
        revoked += streq (entry->request, "bus_key_revoke") && entry->status == MK_OK;
    }
    assert (admitted == 3 && refused == 1 && forbidden == 1 && rotated == 4 && revoked == 1);
    mk_msg_free (&reply);
}

static void
s_test_requests (bool verbose)
{
    test_t test, *self = &test;
    controller_fixture_start (self, "controller_buskey_test");
    const char *token = self->token;
    //  Admitted: the key as stored.
    Maekin__BusKey bus_key = MAEKIN__BUS_KEY__INIT;
    bus_key.name = "maekinsh";
    bus_key.key = (char *) s_key (0);
    bus_key.role = CLIENT;
    bus_key.created_by = "someone else"; //  the controller's to say
    Maekin__BusKeyAdmitRequest admit = MAEKIN__BUS_KEY_ADMIT_REQUEST__INIT;
    admit.key = &bus_key;
    int64_t before = zclock_time ();
    Maekin__Envelope *reply =
        controller_fixture_as (self->client, token, MAEKIN__ENVELOPE__BODY_BUS_KEY_ADMIT, &admit);
    assert (reply->status == MK_OK && reply->bus_key_list_reply->n_keys == 1);
    const Maekin__BusKey *stored = reply->bus_key_list_reply->keys[0];
    assert (streq (stored->name, "maekinsh") && streq (stored->key, s_key (0))
            && stored->role == CLIENT && stored->n_hosts == 0 && stored->expires == 0
            && stored->created >= before && stored->created <= zclock_time ()
            && streq (stored->created_by, "admin"));
    mk_msg_free (&reply);
    assert (s_admit (self, token, "agent-1", s_key (1), NODE, "node2,node1", NULL) == MK_OK);
    //  The list: by name, each key with its hosts as given.
    reply = s_list (self, NULL);
    Maekin__BusKeyListReply *list = reply->bus_key_list_reply;
    assert (list->n_keys == 2 && streq (list->keys[0]->name, "agent-1")
            && list->keys[0]->role == NODE && list->keys[0]->n_hosts == 2
            && streq (list->keys[0]->hosts[0], "node2") && streq (list->keys[1]->name, "maekinsh"));
    mk_msg_free (&reply);
    s_test_refusals (self);
    s_test_others (self);

    //  Rotated: the new key has the old one's role and hosts; the old one works 300 s more.
    before = zclock_time ();
    assert (s_rotate (self, token, "agent-1", s_key (2), 0, NULL) == MK_OK);
    reply = s_list (self, "agent-1");
    list = reply->bus_key_list_reply;
    assert (list->n_keys == 2 && streq (list->keys[0]->key, s_key (2))
            && list->keys[0]->expires == 0 && list->keys[0]->n_hosts == 2
            && streq (list->keys[0]->hosts[1], "node1") && list->keys[0]->role == NODE);
    int64_t first = list->keys[1]->expires;
    assert (streq (list->keys[1]->key, s_key (1)) && first >= before + 300000
            && first <= zclock_time () + 300000);
    mk_msg_free (&reply);
    //  Again, longer: the first old key keeps its earlier end; then shorter, and both
    //  old ones end then.
    assert (s_rotate (self, token, "agent-1", s_key (3), 600, NULL) == MK_OK);
    reply = s_list (self, "agent-1");
    list = reply->bus_key_list_reply;
    assert (list->n_keys == 3 && list->keys[0]->expires == 0
            && list->keys[1]->expires > first + 200000 && list->keys[2]->expires == first);
    mk_msg_free (&reply);
    assert (s_rotate (self, token, "agent-1", s_key (4), 1, NULL) == MK_OK);
    reply = s_list (self, "agent-1");
    list = reply->bus_key_list_reply;
    assert (list->n_keys == 4 && streq (list->keys[0]->key, s_key (4)));
    for (size_t i = 1; i < 4; i++)
        assert (list->keys[i]->expires > 0 && list->keys[i]->expires <= zclock_time () + 1000);
    mk_msg_free (&reply);
    assert (s_rows (self) == 5);
    //  A second later they are gone from the list; purged at the next change.
    zclock_sleep (1100);
    reply = s_list (self, NULL);
    assert (reply->bus_key_list_reply->n_keys == 2);
    mk_msg_free (&reply);
    //  An expired key's text may be admitted anew once purged (under another name).
    assert (s_admit (self, token, "ci", s_key (1), CLIENT, NULL, NULL) == MK_OK);
    assert (s_rows (self) == 3);
    //  Revoked: every key of the name at once.
    assert (s_rotate (self, token, "ci", s_key (5), 0, NULL) == MK_OK);
    assert (s_count (self) == 4);
    assert (s_revoke (self, token, "ci", NULL) == MK_OK);
    assert (s_count (self) == 2 && s_rows (self) == 2);
    s_test_audit (self);
    if (verbose)
        printf (" * requests: admit, list, rotate, revoke, refusals\n");
    controller_fixture_stop (self);
}

//  ---------------------------------------------------------------- the pushes

//  What the fake `bus/keys` heard, and the digest of the list it holds.
typedef struct {
    int full, probes;
    size_t keys;     //  in the last whole list
    char names[256]; //  their names, comma-joined
    bool consistent; //  every whole list came with its own digest
    uint8_t digest[MK_BUSKEY_DIGEST];
    size_t digest_size; //  0: it holds no list
    bool refuse;        //  whole lists are refused (403), as a broker may
} fake_keys_t;

static mk_fake_next_t
s_fake_keys (void *state, mk_worker_t *worker, const mk_request_t *request)
{
    fake_keys_t *self = (fake_keys_t *) state;
    assert (streq (request->service, "bus/keys")
            && request->env->body_case == MAEKIN__ENVELOPE__BODY_BUS_KEYS);
    const Maekin__BusKeys *pushed = request->env->bus_keys;
    assert (pushed->digest.len == MK_BUSKEY_DIGEST);
    if (pushed->full && self->refuse) {
        self->full++;
        Maekin__Envelope refused = MAEKIN__ENVELOPE__INIT;
        refused.status = MK_FORBIDDEN;
        refused.reason = "refused by the test";
        mk_worker_reply (worker, request->token, &refused);
        return MK_FAKE_ANSWERED;
    }
    if (pushed->full) {
        self->full++;
        self->keys = pushed->n_keys;
        self->names[0] = 0;
        for (size_t i = 0; i < pushed->n_keys; i++)
            snprintf (self->names + strlen (self->names), sizeof self->names - strlen (self->names),
                      "%s%s", i ? "," : "", pushed->keys[i]->name);
        uint8_t digest[MK_BUSKEY_DIGEST];
        mk_buskey_digest (pushed->keys, pushed->n_keys, digest);
        self->consistent =
            self->consistent && memcmp (digest, pushed->digest.data, sizeof digest) == 0;
        memcpy (self->digest, pushed->digest.data, sizeof self->digest);
        self->digest_size = sizeof self->digest;
    } else
        self->probes++;
    Maekin__BusKeys have = MAEKIN__BUS_KEYS__INIT;
    have.digest.data = self->digest;
    have.digest.len = self->digest_size;
    Maekin__Envelope reply = MAEKIN__ENVELOPE__INIT;
    reply.status = MK_OK;
    reply.body_case = MAEKIN__ENVELOPE__BODY_BUS_KEYS;
    reply.bus_keys = &have;
    mk_worker_reply (worker, request->token, &reply);
    return MK_FAKE_ANSWERED;
}

static char *
s_fake_keys_ask (void *state, const char *question, const char *arg)
{
    fake_keys_t *self = (fake_keys_t *) state;
    if (streq (question, "FORGET")) //  as a restarted broker would
        self->digest_size = 0;
    if (streq (question, "REFUSE") || streq (question, "TAKE"))
        self->refuse = streq (question, "REFUSE");
    return streq (question, "FULL")         ? zsys_sprintf ("%d", self->full)
           : streq (question, "PROBES")     ? zsys_sprintf ("%d", self->probes)
           : streq (question, "KEYS")       ? zsys_sprintf ("%zu", self->keys)
           : streq (question, "CONSISTENT") ? zsys_sprintf ("%d", self->consistent)
           : streq (question, "NAMES")      ? strdup (self->names)
                                            : strdup ("");
}

//  Waits until the fake's answer to question is at least `least`: true, or false after 5 s.
static bool
s_until (mk_fake_peer_t *fake, const char *question, long least)
{
    for (int64_t until = zclock_mono () + 5000; zclock_mono () < until; zclock_sleep (20))
        if (mk_fake_peer_ask_number (fake, question, NULL) >= least)
            return true;
    return false;
}

static mk_fake_peer_t *
s_fake_new (const char *endpoint, fake_keys_t *state, mk_client_t *client)
{
    *state = (fake_keys_t){.consistent = true};
    const char *services[] = {"bus/keys"};
    mk_fake_peer_t *fake =
        mk_fake_peer_new (endpoint, services, 1, s_fake_keys, s_fake_keys_ask, state);
    //  Serving once the broker answers through it (a probe of the test's own).
    Maekin__BusKeys probe = MAEKIN__BUS_KEYS__INIT;
    uint8_t zeros[MK_BUSKEY_DIGEST] = {0};
    probe.digest.data = zeros;
    probe.digest.len = sizeof zeros;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_BUS_KEYS;
    env.bus_keys = &probe;
    for (int64_t until = zclock_mono () + 5000;; zclock_sleep (20)) {
        Maekin__Envelope *reply = mk_client_call (client, "bus/keys", &env, 2000, 0, NULL, NULL);
        int status = reply->status;
        mk_msg_free (&reply);
        if (status == MK_OK)
            break;
        assert (zclock_mono () < until);
    }
    return fake;
}

static zactor_t *
s_controller_new (controller_opts_t *opts, const char *client_key)
{
    opts->client_key = client_key;
    zactor_t *controller = controller_server_new (opts, NULL);
    assert (controller);
    return controller;
}

static void
s_test_pushes (bool verbose)
{
    char *dir = mk_testdir_new ("controller_buskey_push");
    char *url = zsys_sprintf ("sqlite:%s/state.db", dir);
    char *password = zsys_sprintf ("%s/admin-password", dir);
    broker_router_opts_t bopts = {.endpoint = "tcp://127.0.0.1:*",
                                  .heartbeat_ms = MK_WIRE_HEARTBEAT_MS,
                                  .max_pending = 1000,
                                  .timeout_ms = 30000};
    zactor_t *broker = broker_router_new (&bopts);
    zstr_send (broker, "ENDPOINT");
    char *endpoint = zstr_recv (broker);
    mk_client_t *client = mk_client_new (endpoint);
    fake_keys_t state;
    mk_fake_peer_t *fake = s_fake_new (endpoint, &state, client);
    assert (mk_fake_peer_ask_number (fake, "PROBES", NULL) == 1); //  the test's
    controller_opts_t opts =
        controller_fixture_opts (endpoint, "inproc://controller_buskey_push", url, password);
    opts.enforce = false; //  the list and its pushes alone, no sessions in the way
    //  At start: the CLI's key admitted as `maekinsh`, and the whole list pushed.
    zactor_t *controller = s_controller_new (&opts, s_key (0));
    assert (s_until (fake, "FULL", 1));
    char *names = mk_fake_peer_ask (fake, "NAMES", NULL);
    assert (streq (names, "maekinsh") && mk_fake_peer_ask_number (fake, "CONSISTENT", NULL) == 1);
    free (names);
    //  Then a probe a second; the broker has the list, so nothing more.
    assert (s_until (fake, "PROBES", 3));
    assert (mk_fake_peer_ask_number (fake, "FULL", NULL) == 1);
    //  A broker that holds another list (restarted) is sent the whole list again.
    free (mk_fake_peer_ask (fake, "FORGET", NULL));
    assert (s_until (fake, "FULL", 2));
    //  A change goes at once (no credential: this controller enforces nothing).
    test_t view = {.client = client, .url = url};
    assert (s_admit (&view, NULL, "agent-1", s_key (1), NODE, "n1", NULL) == MK_OK);
    assert (s_until (fake, "FULL", 3) && mk_fake_peer_ask_number (fake, "KEYS", NULL) == 2);
    assert (s_revoke (&view, NULL, "agent-1", NULL) == MK_OK);
    assert (s_until (fake, "FULL", 4) && mk_fake_peer_ask_number (fake, "KEYS", NULL) == 1);
    //  A broker that refuses the list is sent it again at the next probes, not in a loop.
    free (mk_fake_peer_ask (fake, "REFUSE", NULL));
    free (mk_fake_peer_ask (fake, "FORGET", NULL));
    assert (s_until (fake, "FULL", 5));
    zclock_sleep (2500);
    assert (mk_fake_peer_ask_number (fake, "FULL", NULL) <= 8);
    free (mk_fake_peer_ask (fake, "TAKE", NULL));
    int full = (int) mk_fake_peer_ask_number (fake, "FULL", NULL);
    assert (s_until (fake, "FULL", full + 1) && mk_fake_peer_ask_number (fake, "KEYS", NULL) == 1);
    //  Started again with another key, `maekinsh` is the one it was.
    zactor_destroy (&controller);
    full = (int) mk_fake_peer_ask_number (fake, "FULL", NULL);
    controller = s_controller_new (&opts, s_key (5));
    assert (s_until (fake, "FULL", full + 1) && mk_fake_peer_ask_number (fake, "KEYS", NULL) == 1);
    Maekin__Envelope *reply = s_list (&view, "maekinsh");
    assert (reply->bus_key_list_reply->n_keys == 1
            && streq (reply->bus_key_list_reply->keys[0]->key, s_key (0))
            && !*reply->bus_key_list_reply->keys[0]->created_by);
    mk_msg_free (&reply);
    assert (mk_fake_peer_ask_number (fake, "CONSISTENT", NULL) == 1);
    //  No broker service (the broker says so: 404): the controller stops pushing.
    mk_fake_peer_destroy (&fake);
    //  A probe or two meet no service (one on its way as the service went may be lost).
    zclock_sleep (3500);
    fake = s_fake_new (endpoint, &state, client);
    assert (s_admit (&view, NULL, "ci", s_key (2), CLIENT, NULL, NULL) == MK_OK);
    zclock_sleep (1500);
    assert (mk_fake_peer_ask_number (fake, "FULL", NULL) == 0
            && mk_fake_peer_ask_number (fake, "PROBES", NULL) == 1);
    if (verbose)
        printf (" * pushes: at start, on a change, on another digest; none after a 404\n");
    zactor_destroy (&controller);
    mk_fake_peer_destroy (&fake);
    mk_client_destroy (&client);
    zactor_destroy (&broker);
    free (endpoint);
    free (password);
    free (url);
    mk_testdir_remove (&dir);
}

void
controller_buskey_test (bool verbose)
{
    for (int i = 0; i < KEYS; i++)
        s_certs[i] = zcert_new ();
    s_test_requests (verbose);
    s_test_pushes (verbose);
    for (int i = 0; i < KEYS; i++)
        zcert_destroy (&s_certs[i]);
}

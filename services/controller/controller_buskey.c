/*  controller_buskey: the bus's allow-list: the administrator's requests (admit, list,
    revoke, rotate), the CLI installations' key admitted at start, and the list pushed to
    the broker's own service `bus/keys`.

    Each change is written in the batch's transaction, then made in memory
    (controller_buskeys), and after the commit the whole list goes to the broker, so an
    admitted key works, and a revoked one stops, at once. Every second the controller asks
    the broker for the digest of the list it holds (a probe: the digest alone); a broker
    that holds another list (restarted, say) is sent the whole list. One push is on the
    bus at a time; nothing waits for it. A broker without the service (no security, or an
    older broker) answers 404, and the controller stops pushing. */
#include "controller_core.h"

#include "mk_name.h"

//  A rotation's old key works this long by default, and at most.
#define GRACE_DEFAULT_S 300
#define GRACE_MAX_S     604800
//  A probe every second; a push unanswered this long is taken as lost.
#define PROBE_MS     1000
#define PUSH_MS      5000
#define KEYS_SERVICE "bus/keys"

//  ---------------------------------------------------------------- checks

//  Keys that expired are purged whenever the list is next changed or pushed: from the
//  database in the batch, then from memory. False having answered a database error.
bool
controller_buskey_purge (controller_t *self, const mk_request_t *request, int64_t now)
{
    if (controller_buskeys_expired (self->buskeys, now) == 0)
        return true;
    if (store_buskey_purge (self->db, now) < 0) {
        if (request)
            controller_reply_db_error (self, request);
        else
            self->failed = true;
        return false;
    }
    controller_buskeys_drop_expired (self->buskeys, now);
    self->keypush.changed = true;
    return true;
}

//  A key's name: true, or false having answered 400.
static bool
s_name_ok (controller_t *self, const mk_request_t *request, const char *name)
{
    const char *why = mk_buskey_name_check (name);
    if (why)
        controller_reply_status (self, request, MK_BAD_REQUEST, "a key's name %s", why);
    return !why;
}

//  A new key's text: true, or false having answered (400: not a key; 409: admitted).
static bool
s_text_ok (controller_t *self, const mk_request_t *request, const char *text)
{
    const char *why = mk_buskey_text_check (text);
    if (why) {
        controller_reply_status (self, request, MK_BAD_REQUEST, "the key %s", why);
        return false;
    }
    const store_buskey_t *held = controller_buskeys_get (self->buskeys, text);
    if (held)
        controller_reply_status (self, request, MK_CONFLICT,
                                 "that key is admitted already, as '%s' (maekinsh key list)",
                                 held->name);
    return !held;
}

//  Room for one more key of `hosts` hosts: true, or false having answered 409.
bool
controller_buskey_room (controller_t *self, const mk_request_t *request, size_t hosts)
{
    if (controller_buskeys_count (self->buskeys) >= MK_BUS_KEYS_MAX) {
        controller_reply_status (self, request, MK_CONFLICT,
                                 "the list holds %d keys, the most it may: revoke one first",
                                 MK_BUS_KEYS_MAX);
        return false;
    }
    if (controller_buskeys_hosts (self->buskeys) + hosts > MK_BUS_KEY_HOSTS_TOTAL_MAX) {
        controller_reply_status (self, request, MK_CONFLICT,
                                 "the list's keys name %d hosts in all at most; this one would "
                                 "make %zu: revoke a node key first",
                                 MK_BUS_KEY_HOSTS_TOTAL_MAX,
                                 controller_buskeys_hosts (self->buskeys) + hosts);
        return false;
    }
    return true;
}

//  A node key's hosts, checked and comma-joined into a new string; NULL having answered
//  400.
static char *
s_hosts (controller_t *self, const mk_request_t *request, const Maekin__BusKey *key)
{
    if (key->role == MAEKIN__BUS_ROLE__BUS_ROLE_CLIENT) {
        if (key->n_hosts)
            controller_reply_status (self, request, MK_BAD_REQUEST,
                                     "a client key has no hosts (a node key does)");
        return key->n_hosts ? NULL : strdup ("");
    }
    if (key->n_hosts == 0 || key->n_hosts > MK_BUS_KEY_HOSTS_MAX) {
        controller_reply_status (self, request, MK_BAD_REQUEST,
                                 "a node key names its hosts: 1 to %d, not %zu",
                                 MK_BUS_KEY_HOSTS_MAX, key->n_hosts);
        return NULL;
    }
    size_t size = key->n_hosts * (MK_NAME_MAX + 1);
    char *joined = (char *) zmalloc (size);
    for (size_t i = 0; i < key->n_hosts; i++) {
        const char *host = key->hosts[i];
        const char *why = mk_name_check (host);
        bool twice = false;
        for (size_t j = 0; !why && j < i; j++)
            twice = twice || streq (key->hosts[j], host);
        if (why || twice) {
            if (why)
                controller_reply_status (self, request, MK_BAD_REQUEST, "host name '%.64s' %s",
                                         host, why);
            else
                controller_reply_status (self, request, MK_BAD_REQUEST, "host '%s' is named twice",
                                         host);
            free (joined);
            return NULL;
        }
        snprintf (joined + strlen (joined), size - strlen (joined), "%s%s", i ? "," : "", host);
    }
    return joined;
}

//  ---------------------------------------------------------------- answers

//  A BusKeyListReply holding the keys of a list (a zlistx_t of store_buskey_t).
static void
s_reply_keys (controller_t *self, const mk_request_t *request, zlistx_t *keys)
{
    Maekin__BusKeyListReply reply = MAEKIN__BUS_KEY_LIST_REPLY__INIT;
    reply.keys = (Maekin__BusKey **) controller_arena_new (self, (zlistx_size (keys) + 1)
                                                                     * sizeof (Maekin__BusKey *));
    for (store_buskey_t *key = (store_buskey_t *) zlistx_first (keys); key;
         key = (store_buskey_t *) zlistx_next (keys))
        reply.keys[reply.n_keys++] = controller_buskeys_msg (key, self->arena);
    controller_reply_body (self, request, MK_OK, MAEKIN__ENVELOPE__BODY_BUS_KEY_LIST_REPLY, &reply);
}

//  Writes a new key and holds it: true, or false having answered.
static bool
s_insert (controller_t *self, const mk_request_t *request, const store_buskey_t *row)
{
    int rc = store_buskey_insert (self->db, row);
    if (rc == MK_DB_CONSTRAINT)
        controller_reply_status (self, request, MK_CONFLICT, "that key is admitted already");
    else if (rc != 1)
        controller_reply_db_error (self, request);
    if (rc != 1)
        return false;
    controller_buskeys_put (self->buskeys, row);
    self->keypush.changed = true;
    return true;
}

static const char *
s_caller (controller_t *self)
{
    return self->caller.user ? self->caller.user->name : "";
}

//  ---------------------------------------------------------------- requests

void
controller_buskey_admit (controller_t *self, const mk_request_t *request)
{
    const Maekin__BusKey *key = request->env->bus_key_admit->key;
    int64_t now = zclock_time ();
    if (!key) {
        controller_reply_status (self, request, MK_BAD_REQUEST,
                                 "a key to admit: its name, its key and its role");
        return;
    }
    if (!controller_buskey_purge (self, request, now) || !s_name_ok (self, request, key->name))
        return;
    if (key->role == MAEKIN__BUS_ROLE__BUS_ROLE_CONTROLLER) {
        controller_reply_status (self, request, MK_BAD_REQUEST,
                                 "the controller's key is the broker's configuration, not the "
                                 "list's: a key is admitted as a node or a client");
        return;
    }
    if (key->role != MAEKIN__BUS_ROLE__BUS_ROLE_NODE
        && key->role != MAEKIN__BUS_ROLE__BUS_ROLE_CLIENT) {
        controller_reply_status (self, request, MK_BAD_REQUEST,
                                 "a key's role is node (with its hosts) or client");
        return;
    }
    if (!s_text_ok (self, request, key->key))
        return;
    zlistx_t *named = controller_buskeys_list (self->buskeys, key->name, now);
    size_t live = zlistx_size (named);
    zlistx_destroy (&named);
    if (live) {
        controller_reply_status (self, request, MK_CONFLICT,
                                 "a key named '%s' is admitted already: rotate it instead "
                                 "(maekinsh key rotate), or revoke it first",
                                 key->name);
        return;
    }
    char *hosts = s_hosts (self, request, key);
    if (!hosts || !controller_buskey_room (self, request, key->n_hosts)) {
        free (hosts);
        return;
    }
    store_buskey_t row = {.role = key->role, .hosts = hosts, .created = now};
    snprintf (row.key, sizeof row.key, "%s", key->key);
    snprintf (row.name, sizeof row.name, "%s", key->name);
    snprintf (row.created_by, sizeof row.created_by, "%s", s_caller (self));
    if (s_insert (self, request, &row)) {
        zlistx_t *keys = zlistx_new ();
        zlistx_add_end (keys, (void *) controller_buskeys_get (self->buskeys, row.key));
        s_reply_keys (self, request, keys);
        zlistx_destroy (&keys);
    }
    free (hosts);
}

void
controller_buskey_list (controller_t *self, const mk_request_t *request)
{
    const char *name = request->env->bus_key_list->name;
    if (*name && !s_name_ok (self, request, name))
        return;
    zlistx_t *keys = controller_buskeys_list (self->buskeys, name, zclock_time ());
    if (*name && zlistx_size (keys) == 0)
        controller_reply_status (self, request, MK_NOT_FOUND,
                                 "no key named '%s' (maekinsh key list)", name);
    else
        s_reply_keys (self, request, keys);
    zlistx_destroy (&keys);
}

void
controller_buskey_revoke (controller_t *self, const mk_request_t *request)
{
    const char *name = request->env->bus_key_revoke->name;
    int64_t now = zclock_time ();
    if (!controller_buskey_purge (self, request, now) || !s_name_ok (self, request, name))
        return;
    zlistx_t *keys = controller_buskeys_list (self->buskeys, name, now);
    if (zlistx_size (keys) == 0)
        controller_reply_status (self, request, MK_NOT_FOUND,
                                 "no key named '%s' (maekinsh key list)", name);
    else if (store_buskey_delete_name (self->db, name) < 0)
        controller_reply_db_error (self, request);
    else {
        //  The answer: the keys that stopped working, as they were.
        s_reply_keys (self, request, keys);
        zlistx_purge (keys); //  borrowed entries, about to go
        controller_buskeys_drop_name (self->buskeys, name);
        self->keypush.changed = true;
    }
    zlistx_destroy (&keys);
}

void
controller_buskey_rotate (controller_t *self, const mk_request_t *request)
{
    const Maekin__BusKeyRotateRequest *rotate = request->env->bus_key_rotate;
    int64_t now = zclock_time ();
    if (!controller_buskey_purge (self, request, now) || !s_name_ok (self, request, rotate->name))
        return;
    if (rotate->grace_s > GRACE_MAX_S) {
        controller_reply_status (self, request, MK_BAD_REQUEST,
                                 "the old key works at most a week (%d s) more, not %u s",
                                 GRACE_MAX_S, rotate->grace_s);
        return;
    }
    zlistx_t *keys = controller_buskeys_list (self->buskeys, rotate->name, now);
    if (zlistx_size (keys) == 0) {
        controller_reply_status (self, request, MK_NOT_FOUND,
                                 "no key named '%s' to rotate (maekinsh key list; a new name is "
                                 "admitted)",
                                 rotate->name);
        zlistx_destroy (&keys);
        return;
    }
    //  The new key is what the current one is: the first, which works longest.
    const store_buskey_t *current = (const store_buskey_t *) zlistx_first (keys);
    size_t hosts = 0;
    for (const char *c = current->hosts; *c; c++)
        hosts += *c == ',';
    hosts += *current->hosts != 0;
    if (!s_text_ok (self, request, rotate->key) || !controller_buskey_room (self, request, hosts)) {
        zlistx_destroy (&keys);
        return;
    }
    store_buskey_t row = *current;
    snprintf (row.key, sizeof row.key, "%s", rotate->key);
    snprintf (row.created_by, sizeof row.created_by, "%s", s_caller (self));
    row.created = now;
    row.expires = 0;
    if (!s_insert (self, request, &row)) {
        zlistx_destroy (&keys);
        return;
    }
    //  The old keys work for the grace period more, or less if they were to end sooner.
    int64_t until = now + 1000LL * (rotate->grace_s ? rotate->grace_s : GRACE_DEFAULT_S);
    for (const store_buskey_t *key = (const store_buskey_t *) zlistx_first (keys); key;
         key = (const store_buskey_t *) zlistx_next (keys)) {
        if (key->expires && key->expires <= until)
            continue;
        if (store_buskey_expire (self->db, key->key, until) < 0) {
            controller_reply_db_error (self, request);
            zlistx_destroy (&keys);
            return;
        }
        controller_buskeys_set_expires (self->buskeys, key->key, until);
    }
    zlistx_destroy (&keys);
    //  The answer: the name's keys as they are now, the new one first.
    keys = controller_buskeys_list (self->buskeys, rotate->name, now);
    s_reply_keys (self, request, keys);
    zlistx_destroy (&keys);
}

//  ---------------------------------------------------------------- at start

const char *
controller_buskey_reporter (controller_t *self, const mk_request_t *request)
{
    if (!*request->caller)
        return NULL; //  a plain-text bus: nobody is vouched for
    const Maekin__Envelope *env = request->env;
    const char *host = NULL;
    if (env->body_case == MAEKIN__ENVELOPE__BODY_HOST_REGISTER && env->host_register->host)
        host = env->host_register->host->name;
    else if (env->body_case == MAEKIN__ENVELOPE__BODY_DOMAIN_EVENT)
        host = env->domain_event->host;
    const store_buskey_t *key = controller_buskeys_get (self->buskeys, request->caller);
    if (!key || key->role != MAEKIN__BUS_ROLE__BUS_ROLE_NODE
        || (key->expires && key->expires <= zclock_time ()))
        return "only a node's key reports about hosts";
    //  Its hosts, comma-joined: the host must be one of them, whole.
    size_t length = host ? strlen (host) : 0;
    for (const char *at = key->hosts; length && at && *at;) {
        const char *end = strchr (at, ',');
        size_t size = end ? (size_t) (end - at) : strlen (at);
        if (size == length && memcmp (at, host, length) == 0)
            return NULL;
        at = end ? end + 1 : NULL;
    }
    return "this node's key is not admitted for that host";
}

int
controller_buskey_init (controller_t *self)
{
    const char *text = self->opts.client_key;
    if (!text || !*text)
        return 0;
    //  The name's keys, live or not (a rotation's old one too: the list from the start of
    //  time holds them all).
    int64_t now = zclock_time ();
    zlistx_t *named = controller_buskeys_list (self->buskeys, "maekinsh", INT64_MIN + 1);
    size_t held = zlistx_size (named);
    zlistx_destroy (&named);
    if (held)
        return 0;
    const store_buskey_t *other = controller_buskeys_get (self->buskeys, text);
    if (other) {
        mk_warn ("controller: bus/client_key is admitted already, as '%s'; not admitted as "
                 "'maekinsh'",
                 other->name);
        return 0;
    }
    store_buskey_t row = {
        .name = "maekinsh", .role = MAEKIN__BUS_ROLE__BUS_ROLE_CLIENT, .hosts = "", .created = now};
    snprintf (row.key, sizeof row.key, "%s", text);
    store_audit_t entry = {.time_us = now * 1000, .status = MK_OK};
    snprintf (entry.credential, sizeof entry.credential, "none");
    snprintf (entry.request, sizeof entry.request, "bus_key_admit");
    snprintf (entry.subject, sizeof entry.subject, "maekinsh");
    snprintf (entry.reason, sizeof entry.reason, "bus/client_key, at start");
    if (mk_db_begin (self->db) != 0 || store_buskey_insert (self->db, &row) != 1
        || store_audit_insert (self->db, &entry) < 0 || mk_db_commit (self->db) != 0) {
        mk_db_rollback (self->db);
        mk_error ("controller: cannot admit bus/client_key as 'maekinsh': %s",
                  mk_db_error (self->db));
        return -1;
    }
    controller_buskeys_put (self->buskeys, &row);
    mk_info ("controller: bus/client_key admitted as the bus key 'maekinsh' (client)");
    return 0;
}

//  ---------------------------------------------------------------- to the broker

void
controller_buskey_tick (controller_t *self)
{
    if (!self->keypush.off)
        controller_buskey_purge (self, NULL, zclock_time ());
}

//  Sends the list whole, or its digest alone.
static void
s_send (controller_t *self, bool whole)
{
    keypush_t *push = &self->keypush;
    int64_t now = zclock_time ();
    zlistx_t *arena = zlistx_new ();
    zlistx_set_destructor (arena, controller_free);
    Maekin__BusKeys keys = MAEKIN__BUS_KEYS__INIT;
    keys.digest.data = (uint8_t *) controller_buskeys_digest (self->buskeys, now);
    keys.digest.len = MK_BUSKEY_DIGEST;
    keys.full = whole;
    if (whole)
        keys.keys = controller_buskeys_msgs (self->buskeys, now, arena, &keys.n_keys);
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_BUS_KEYS;
    env.bus_keys = &keys;
    uint64_t corr = CORR_KEYS | ++push->next;
    //  No credential: the broker knows the controller by its CURVE key.
    if (mk_client_send_as (self->client, KEYS_SERVICE, corr, &env) == 0) {
        push->corr = corr;
        push->full = whole;
        push->sent_at = zclock_mono ();
        if (whole) {
            push->owed = false;
            mk_debug ("controller: the bus's list (%zu key%s) pushed to the broker", keys.n_keys,
                      keys.n_keys == 1 ? "" : "s");
        }
    } else
        push->owed = push->owed || whole;
    zlistx_destroy (&arena);
}

void
controller_buskey_push (controller_t *self, bool whole)
{
    keypush_t *push = &self->keypush;
    if (push->off || !self->client)
        return;
    int64_t mono = zclock_mono ();
    push->owed = push->owed || whole || push->changed;
    push->changed = false;
    if (push->corr && mono - push->sent_at >= PUSH_MS) {
        mk_debug ("controller: the broker did not answer a push of the bus's list; again");
        push->owed = push->owed || push->full;
        push->corr = 0;
    }
    if (push->corr)
        return; //  one at a time: what is owed goes when it is answered
    if (push->owed)
        s_send (self, true);
    else if (mono >= push->next_probe) {
        s_send (self, false);
        push->next_probe = mono + PROBE_MS;
    }
}

void
controller_buskey_answer (controller_t *self, const mk_reply_t *reply)
{
    keypush_t *push = &self->keypush;
    if (reply->corr != push->corr || reply->progress)
        return; //  an answer to a push given up on
    push->corr = 0;
    const Maekin__Envelope *env = reply->env;
    if (env->status == MK_NOT_FOUND && reply->broker) {
        mk_info ("controller: the broker serves no '%s' (a bus without security, or an older "
                 "broker): the bus's list is not pushed",
                 KEYS_SERVICE);
        push->off = true;
        return;
    }
    if (env->status != MK_OK || env->body_case != MAEKIN__ENVELOPE__BODY_BUS_KEYS) {
        //  The next probe finds out what the broker holds, and a whole list follows if need
        //  be: once a second at most, never in a loop with a broker that refuses it. A
        //  refusal is said once while the broker keeps answering so; a busy or restarting
        //  broker's answer (429, 5xx) is no news.
        bool passing = env->status == MK_TOO_MANY || env->status >= 500;
        if (passing)
            mk_debug ("controller: the broker answered a push of the bus's list %d%s%s",
                      env->status, env->reason && *env->reason ? ": " : "",
                      env->reason ? env->reason : "");
        else if (env->status != push->last_status)
            mk_warn ("controller: the broker refused the bus's list (%d%s%s); trying again",
                     env->status, env->reason && *env->reason ? ": " : "",
                     env->reason ? env->reason : "");
        if (!passing)
            push->last_status = env->status;
        return;
    }
    //  A probe's answer is no news of whether the broker takes the whole list.
    if (push->full && push->last_status != MK_OK && push->last_status != 0)
        mk_info ("controller: the broker takes the bus's list again");
    if (push->full || !push->last_status)
        push->last_status = MK_OK;
    const ProtobufCBinaryData *theirs = &env->bus_keys->digest;
    bool same = theirs->len == MK_BUSKEY_DIGEST
                && memcmp (theirs->data, controller_buskeys_digest (self->buskeys, zclock_time ()),
                           MK_BUSKEY_DIGEST)
                       == 0;
    //  After a probe, a broker holding another list is owed the whole one (sent after the
    //  batch commits, as every push is); after a whole list (changed meanwhile, or
    //  digested otherwise), the next probe asks again.
    if (!same && !push->full)
        push->owed = true;
    else if (!same)
        mk_debug ("controller: the broker's digest differs from the list just pushed");
}

/*  controller_auth: who is calling, and whether they may. */
#include "controller_auth.h"

#include "mk_hash.h"
#include "mk_msg.h"
#include "mk_secret.h"

#include <sodium.h>

//  Failed logins: this many are free, per user name and per source; each one more
//  doubles the wait before the next try, from a second up to THROTTLE_MAX_S. A name
//  or source without a failure for THROTTLE_FORGET_S starts afresh.
#define THROTTLE_FREE_USER   5
#define THROTTLE_FREE_SOURCE 20
#define THROTTLE_MAX_S       300
#define THROTTLE_FORGET_S    900
//  Names and sources followed at most (bounded memory under a spray of names).
#define THROTTLE_MAX 10000

typedef struct {
    uint32_t failures;
    int64_t last_ms;       //  the latest failure (mono ms)
    int64_t not_before_ms; //  no try before this (mono ms)
} throttle_t;

//  The longest token whose digest is remembered (tokens and keys are 47 characters).
#define LAST_TOKEN_MAX 64

struct _controller_auth_t {
    bool enforce;
    //  The last token checked and its digest: a client sends the same one many times in a
    //  row, and its digest need not be taken again (the lookup by digest still decides).
    char last_token[LAST_TOKEN_MAX + 1];
    char last_digest[MK_SECRET_DIGEST_HEX + 1];
    zhashx_t *users;     //  name -> store_user_t (owned)
    zhashx_t *user_ids;  //  id -> store_user_t (borrowed from users)
    zhashx_t *creds;     //  digest -> store_cred_t (owned)
    zhashx_t *by_user;   //  user names -> throttle_t (owned)
    zhashx_t *by_source; //  sources -> throttle_t (owned)
};

static void
s_free (void **item)
{
    free (*item);
    *item = NULL;
}

static zhashx_t *
s_owning_hash (void)
{
    zhashx_t *hash = zhashx_new ();
    zhashx_set_destructor (hash, s_free);
    return hash;
}

controller_auth_t *
controller_auth_new (bool enforce)
{
    controller_auth_t *self = (controller_auth_t *) zmalloc (sizeof (controller_auth_t));
    self->enforce = enforce;
    self->users = s_owning_hash ();
    self->user_ids = mk_hash_ids_new ();
    self->creds = s_owning_hash ();
    self->by_user = s_owning_hash ();
    self->by_source = s_owning_hash ();
    return self;
}

void
controller_auth_destroy (controller_auth_t **self_p)
{
    controller_auth_t *self = *self_p;
    if (!self)
        return;
    zhashx_destroy (&self->user_ids);
    zhashx_destroy (&self->users);
    zhashx_destroy (&self->creds);
    zhashx_destroy (&self->by_user);
    zhashx_destroy (&self->by_source);
    free (self);
    *self_p = NULL;
}

#define ID_KEY(id) ((void *) (uintptr_t) (id))

//  ---------------------------------------------------------------- users and credentials

static void
s_user_forget (controller_auth_t *self, const store_user_t *user)
{
    zhashx_delete (self->user_ids, ID_KEY (user->id));
    zhashx_delete (self->users, user->name); //  frees it
}

void
controller_auth_user_put (controller_auth_t *self, const store_user_t *user)
{
    store_user_t *old = (store_user_t *) controller_auth_user_id (self, user->id);
    if (old) {
        //  Changed in place, so that whoever holds the entry (the caller of the request
        //  that changed it) still does; renamed, it moves to its new name.
        if (!streq (old->name, user->name)) {
            //  A stale entry of the new name (another id) cannot stay beside it.
            const store_user_t *stale = controller_auth_user (self, user->name);
            if (stale)
                s_user_forget (self, stale);
            int rc = zhashx_rename (self->users, old->name, user->name);
            assert (rc == 0);
        }
        *old = *user;
        return;
    }
    store_user_t *copy = (store_user_t *) malloc (sizeof *copy);
    assert (copy);
    *copy = *user;
    zhashx_update (self->users, copy->name, copy);
    zhashx_update (self->user_ids, ID_KEY (copy->id), copy);
}

void
controller_auth_user_drop (controller_auth_t *self, int64_t id)
{
    controller_auth_cred_drop_user (self, id, true, NULL);
    const store_user_t *user = controller_auth_user_id (self, id);
    if (user)
        s_user_forget (self, user);
}

const store_user_t *
controller_auth_user (controller_auth_t *self, const char *name)
{
    return (const store_user_t *) zhashx_lookup (self->users, name);
}

const store_user_t *
controller_auth_user_id (controller_auth_t *self, int64_t id)
{
    return id ? (const store_user_t *) zhashx_lookup (self->user_ids, ID_KEY (id)) : NULL;
}

size_t
controller_auth_user_count (controller_auth_t *self)
{
    return zhashx_size (self->users);
}

static int
s_by_name (const void *a, const void *b)
{
    return strcmp (((const store_user_t *) a)->name, ((const store_user_t *) b)->name);
}

zlistx_t *
controller_auth_user_list (controller_auth_t *self)
{
    zlistx_t *list = zlistx_new ();
    zlistx_set_comparator (list, s_by_name);
    for (void *user = zhashx_first (self->users); user; user = zhashx_next (self->users))
        zlistx_add_end (list, user);
    zlistx_sort (list);
    return list;
}

void
controller_auth_cred_put (controller_auth_t *self, const store_cred_t *cred)
{
    store_cred_t *copy = (store_cred_t *) malloc (sizeof *copy);
    assert (copy);
    *copy = *cred;
    zhashx_update (self->creds, copy->digest, copy);
}

void
controller_auth_cred_drop (controller_auth_t *self, const char *digest)
{
    zhashx_delete (self->creds, digest);
}

void
controller_auth_cred_drop_user (controller_auth_t *self, int64_t user_id, bool keys,
                                const char *except)
{
    zlistx_t *doomed = zlistx_new ();
    for (store_cred_t *cred = (store_cred_t *) zhashx_first (self->creds); cred;
         cred = (store_cred_t *) zhashx_next (self->creds))
        if (cred->user_id == user_id && (keys || cred->kind == STORE_CRED_SESSION)
            && !(except && streq (cred->digest, except)))
            zlistx_add_end (doomed, cred->digest);
    for (char *digest = (char *) zlistx_first (doomed); digest;
         digest = (char *) zlistx_next (doomed))
        zhashx_delete (self->creds, digest);
    zlistx_destroy (&doomed);
}

const store_cred_t *
controller_auth_cred (controller_auth_t *self, const char *digest)
{
    return (const store_cred_t *) zhashx_lookup (self->creds, digest);
}

const store_cred_t *
controller_auth_key (controller_auth_t *self, int64_t user_id, const char *name)
{
    for (store_cred_t *cred = (store_cred_t *) zhashx_first (self->creds); cred;
         cred = (store_cred_t *) zhashx_next (self->creds))
        if (cred->kind == STORE_CRED_APIKEY && cred->user_id == user_id && streq (cred->name, name))
            return cred;
    return NULL;
}

zlistx_t *
controller_auth_keys (controller_auth_t *self, int64_t user_id)
{
    zlistx_t *list = zlistx_new ();
    for (store_cred_t *cred = (store_cred_t *) zhashx_first (self->creds); cred;
         cred = (store_cred_t *) zhashx_next (self->creds))
        if (cred->kind == STORE_CRED_APIKEY && (!user_id || cred->user_id == user_id))
            zlistx_add_end (list, cred);
    return list;
}

uint32_t
controller_auth_sessions (controller_auth_t *self, int64_t user_id, int64_t now)
{
    uint32_t count = 0;
    for (store_cred_t *cred = (store_cred_t *) zhashx_first (self->creds); cred;
         cred = (store_cred_t *) zhashx_next (self->creds))
        count += cred->user_id == user_id && cred->kind == STORE_CRED_SESSION
                 && (!cred->expires || cred->expires > now);
    return count;
}

static void
s_load_user (const void *row, void *arg)
{
    controller_auth_user_put ((controller_auth_t *) arg, (const store_user_t *) row);
}

static void
s_load_cred (const void *row, void *arg)
{
    controller_auth_cred_put ((controller_auth_t *) arg, (const store_cred_t *) row);
}

int
controller_auth_load (controller_auth_t *self, mk_db_t *db, int64_t now)
{
    zhashx_purge (self->user_ids);
    zhashx_purge (self->users);
    zhashx_purge (self->creds);
    if (store_user_all (db, s_load_user, self) < 0
        || store_cred_live (db, now, s_load_cred, self) < 0)
        return -1;
    return 0;
}

//  ---------------------------------------------------------------- the check

int
controller_auth_check (controller_auth_t *self, const Maekin__Envelope *request,
                       controller_auth_action_t action, int64_t now, controller_caller_t *caller,
                       const char **reason)
{
    caller->user = NULL;
    caller->cred = NULL;
    const Maekin__Credential *credential = request->credential;
    const char *token = credential && credential->token ? credential->token : "";
    if (!self->enforce || action == AUTH_ANYONE || (action == AUTH_AGENT && !*token))
        return 0;
    if (!*token) {
        *reason = "this request needs a credential: log in ('maekinsh login') or give an API key";
        return MK_UNAUTHORIZED;
    }
    //  Compared in constant time: how long a comparison took tells nothing of the last.
    char *digest = self->last_digest;
    size_t length = strlen (token);
    if (length > LAST_TOKEN_MAX || length != strlen (self->last_token)
        || sodium_memcmp (token, self->last_token, length) != 0) {
        mk_secret_digest (token, digest);
        memcpy (self->last_token, length <= LAST_TOKEN_MAX ? token : "",
                length <= LAST_TOKEN_MAX ? length + 1 : 1);
    }
    store_cred_t *cred = (store_cred_t *) zhashx_lookup (self->creds, digest);
    if (!cred) {
        *reason = "the credential is not valid (revoked, expired or never given): log in again";
        return MK_UNAUTHORIZED;
    }
    if (cred->expires && cred->expires <= now) {
        *reason = cred->kind == STORE_CRED_SESSION ? "the session has expired: log in again"
                                                   : "the API key has expired: ask for a new one";
        zhashx_delete (self->creds, digest); //  frees cred
        return MK_UNAUTHORIZED;
    }
    const store_user_t *user = controller_auth_user_id (self, cred->user_id);
    if (!user || user->disabled) {
        *reason = "the credential's user is disabled or deleted";
        return MK_UNAUTHORIZED;
    }
    if (credential->user && *credential->user && !streq (credential->user, user->name)) {
        *reason = "the credential belongs to another user than the one named";
        return MK_UNAUTHORIZED;
    }
    caller->user = user;
    caller->cred = cred;
    if (action == AUTH_SELF_READ)
        return 0;
    if (cred->read_only && action != AUTH_READ && action != AUTH_VI_READ
        && action != AUTH_ADMIN_READ) {
        *reason = "a read-only API key may only read";
        return MK_FORBIDDEN;
    }
    //  In a VI, the caller's role there decides (controller_auth_vi_check); what the
    //  cloud offers, a role in any VI (controller_request).
    if (action == AUTH_SELF || action == AUTH_READ || action == AUTH_VI_READ || action == AUTH_VI
        || user->admin)
        return 0;
    switch (action) {
    case AUTH_AGENT:
        *reason = "only agents report about hosts";
        break;
    case AUTH_ADMIN:
        *reason = "only the cloud's administrator may do this";
        break;
    default:
        *reason = "only the cloud's administrator may do this";
    }
    return MK_FORBIDDEN;
}

//  ---------------------------------------------------------------- roles in a VI

static const char *s_role_names[VI_ROLES] = {"", "viewer", "operator", "manager", "owner", "admin"};

//  The table of roles: which role may do what in a VI. Enforced as it stands, and printed
//  for the docs; a refusal says what the operation needs.
static const struct {
    const char *what;
    const char *refusal;
    bool may[VI_ROLES];
} s_table[VI_OPS] = {
    [VI_OP_SEE] = {"see the VI, its VMs, tasks and their history",
                   "you hold no role in this Virtual Infrastructure",
                   {false, true, true, true, true, true}},
    [VI_OP_OPERATE] = {"start, stop, reboot, suspend, resume, destroy its VMs",
                       "starting and stopping VMs needs the operator role or above in the VI",
                       {false, false, true, true, true, true}},
    [VI_OP_BUILD] =
        {"create and delete its VMs and its own templates",
         "creating and deleting VMs and templates needs the manager role or above in the VI",
         {false, false, false, true, true, true}},
    [VI_OP_MEMBERS] = {"invite members, change their roles, remove them",
                       "only the VI's owners change its members",
                       {false, false, false, false, true, true}},
    [VI_OP_AUDIT] = {"read its audit log",
                     "only the VI's owners read its audit log",
                     {false, false, false, false, true, true}},
    [VI_OP_GOVERN] = {"create or delete it, set its quotas and templates",
                      "only the cloud's administrator creates, deletes and gives VIs resources",
                      {false, false, false, false, false, true}},
};

const char *
controller_auth_role_name (vi_role_t role)
{
    return role < VI_ROLES ? s_role_names[role] : "";
}

vi_role_t
controller_auth_role_parse (const char *name)
{
    for (int role = VI_ROLE_VIEWER; role <= VI_ROLE_OWNER; role++)
        if (name && streq (name, s_role_names[role]))
            return (vi_role_t) role;
    return VI_ROLE_NONE;
}

vi_role_t
controller_auth_vi_role (const controller_caller_t *caller, vi_role_t member)
{
    return !caller->user || caller->user->admin ? VI_ROLE_ADMIN : member;
}

int
controller_auth_vi_check (vi_role_t role, vi_op_t op, const char **reason)
{
    assert (role < VI_ROLES && op < VI_OPS);
    if (s_table[op].may[role])
        return 0;
    *reason = s_table[op].refusal;
    return MK_FORBIDDEN;
}

void
controller_auth_vi_print (FILE *file)
{
    fprintf (file, "| in a Virtual Infrastructure, ... |");
    for (int role = VI_ROLE_VIEWER; role < VI_ROLES; role++)
        fprintf (file, " %s |", s_role_names[role]);
    fprintf (file, "\n|---|");
    for (int role = VI_ROLE_VIEWER; role < VI_ROLES; role++)
        fprintf (file, ":-:|");
    fprintf (file, "\n");
    for (int op = 0; op < VI_OPS; op++) {
        fprintf (file, "| %s |", s_table[op].what);
        for (int role = VI_ROLE_VIEWER; role < VI_ROLES; role++)
            fprintf (file, " %s |", s_table[op].may[role] ? "yes" : "");
        fprintf (file, "\n");
    }
}

//  ---------------------------------------------------------------- failed logins

static throttle_t *
s_throttle (zhashx_t *table, const char *key, int64_t now_ms, bool create)
{
    throttle_t *entry = (throttle_t *) zhashx_lookup (table, key);
    if (entry && now_ms - entry->last_ms > THROTTLE_FORGET_S * 1000LL) {
        zhashx_delete (table, key);
        entry = NULL;
    }
    if (entry || !create)
        return entry;
    if (zhashx_size (table) >= THROTTLE_MAX) {
        //  Forget what is stale; if nothing is, the oldest state is lost, not memory.
        zlistx_t *stale = zlistx_new ();
        for (throttle_t *t = (throttle_t *) zhashx_first (table); t;
             t = (throttle_t *) zhashx_next (table))
            if (now_ms - t->last_ms > THROTTLE_FORGET_S * 1000LL)
                zlistx_add_end (stale, (void *) zhashx_cursor (table));
        for (void *k = zlistx_first (stale); k; k = zlistx_next (stale))
            zhashx_delete (table, k);
        zlistx_destroy (&stale);
        if (zhashx_size (table) >= THROTTLE_MAX) {
            mk_warn ("auth: over %d names or sources with failed logins; forgetting them",
                     THROTTLE_MAX);
            zhashx_purge (table);
        }
    }
    entry = (throttle_t *) zmalloc (sizeof (throttle_t));
    zhashx_insert (table, key, entry);
    return entry;
}

static int
s_wait_s (zhashx_t *table, const char *key, int64_t now_ms)
{
    throttle_t *entry = s_throttle (table, key, now_ms, false);
    if (!entry || entry->not_before_ms <= now_ms)
        return 0;
    return (int) ((entry->not_before_ms - now_ms + 999) / 1000);
}

int
controller_auth_login_wait (controller_auth_t *self, const char *user, const char *source,
                            int64_t now_ms)
{
    int by_user = s_wait_s (self->by_user, user, now_ms);
    int by_source = *source ? s_wait_s (self->by_source, source, now_ms) : 0;
    return by_user > by_source ? by_user : by_source;
}

static void
s_fail (zhashx_t *table, const char *key, uint32_t free_tries, int64_t now_ms)
{
    throttle_t *entry = s_throttle (table, key, now_ms, true);
    entry->failures++;
    entry->last_ms = now_ms;
    if (entry->failures >= free_tries) {
        uint32_t over = entry->failures - free_tries;
        int64_t wait_s = over >= 9 ? THROTTLE_MAX_S : 1LL << over;
        if (wait_s > THROTTLE_MAX_S)
            wait_s = THROTTLE_MAX_S;
        entry->not_before_ms = now_ms + wait_s * 1000;
    }
}

void
controller_auth_login_failed (controller_auth_t *self, const char *user, const char *source,
                              int64_t now_ms)
{
    s_fail (self->by_user, user, THROTTLE_FREE_USER, now_ms);
    if (*source)
        s_fail (self->by_source, source, THROTTLE_FREE_SOURCE, now_ms);
}

void
controller_auth_login_passed (controller_auth_t *self, const char *user)
{
    zhashx_delete (self->by_user, user);
}

//  ---------------------------------------------------------------- self-test

void
controller_auth_test (bool verbose)
{
    controller_auth_t *self = controller_auth_new (true);
    store_user_t admin = {.id = 1, .name = "root", .admin = true, .created = 5};
    store_user_t alice = {.id = 2, .name = "alice", .created = 6};
    controller_auth_user_put (self, &admin);
    controller_auth_user_put (self, &alice);
    assert (controller_auth_user_count (self) == 2);
    char *tokens[4];
    const char *prefixes[] = {"mkt_", "mkt_", "mka_", "mka_"};
    int64_t users[] = {1, 2, 2, 1};
    for (int i = 0; i < 4; i++) {
        tokens[i] = mk_secret_token_new (prefixes[i]);
        store_cred_t cred = {.kind = i < 2 ? STORE_CRED_SESSION : STORE_CRED_APIKEY,
                             .user_id = users[i],
                             .read_only = i >= 2,
                             .expires = i < 2 ? 100 : 0};
        mk_secret_digest (tokens[i], cred.digest);
        controller_auth_cred_put (self, &cred);
    }
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    Maekin__Credential credential = MAEKIN__CREDENTIAL__INIT;
    controller_caller_t caller;
    const char *reason = NULL;
    //  No credential: a login and an agent's report only.
    assert (controller_auth_check (self, &env, AUTH_ANYONE, 50, &caller, &reason) == 0);
    assert (controller_auth_check (self, &env, AUTH_AGENT, 50, &caller, &reason) == 0);
    for (int action = AUTH_SELF_READ; action <= AUTH_ADMIN_READ; action++)
        assert (controller_auth_check (self, &env, (controller_auth_action_t) action, 50, &caller,
                                       &reason)
                    == MK_UNAUTHORIZED
                && strstr (reason, "log in"));
    //  The administrator may do anything.
    env.credential = &credential;
    credential.token = tokens[0];
    for (int action = AUTH_ANYONE; action <= AUTH_AGENT; action++)
        assert (controller_auth_check (self, &env, (controller_auth_action_t) action, 50, &caller,
                                       &reason)
                == 0);
    assert (caller.user && streq (caller.user->name, "root")
            && caller.cred->kind == STORE_CRED_SESSION);
    assert (controller_auth_vi_role (&caller, VI_ROLE_NONE) == VI_ROLE_ADMIN);
    //  Alice about herself, and in VIs as her roles there say (the handlers ask).
    credential.token = tokens[1];
    assert (controller_auth_check (self, &env, AUTH_SELF, 50, &caller, &reason) == 0
            && streq (caller.user->name, "alice"));
    assert (controller_auth_check (self, &env, AUTH_VI, 50, &caller, &reason) == 0);
    assert (controller_auth_vi_role (&caller, VI_ROLE_VIEWER) == VI_ROLE_VIEWER);
    assert (controller_auth_check (self, &env, AUTH_ADMIN, 50, &caller, &reason) == MK_FORBIDDEN
            && strstr (reason, "administrator"));
    //  A named user must be the token's.
    credential.user = "root";
    assert (controller_auth_check (self, &env, AUTH_SELF, 50, &caller, &reason) == MK_UNAUTHORIZED);
    credential.user = "alice";
    assert (controller_auth_check (self, &env, AUTH_SELF, 50, &caller, &reason) == 0);
    //  Expired: refused, and forgotten.
    assert (controller_auth_sessions (self, 2, 50) == 1);
    assert (controller_auth_check (self, &env, AUTH_SELF, 100, &caller, &reason) == MK_UNAUTHORIZED
            && strstr (reason, "expired"));
    assert (controller_auth_check (self, &env, AUTH_SELF, 50, &caller, &reason) == MK_UNAUTHORIZED
            && strstr (reason, "not valid"));
    //  A forged token, a token of the wrong length, bytes that are not text.
    credential.user = NULL;
    const char *forged[] = {"mkt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "x", "\xff\xfe"};
    for (int i = 0; i < 3; i++) {
        credential.token = (char *) forged[i];
        assert (controller_auth_check (self, &env, AUTH_SELF, 50, &caller, &reason)
                == MK_UNAUTHORIZED);
    }
    //  A read-only key reads only (and here holds no role to read with): about its user
    //  too, whose password and keys it cannot change.
    credential.token = tokens[2];
    assert (controller_auth_check (self, &env, AUTH_SELF_READ, 50, &caller, &reason) == 0
            && caller.cred->read_only);
    assert (controller_auth_check (self, &env, AUTH_SELF, 50, &caller, &reason) == MK_FORBIDDEN
            && strstr (reason, "read-only"));
    assert (controller_auth_key (self, 2, "") == caller.cred);
    assert (controller_auth_key (self, 1, "") && controller_auth_key (self, 1, "") != caller.cred);
    zlistx_t *keys = controller_auth_keys (self, 2);
    assert (zlistx_size (keys) == 1 && zlistx_first (keys) == caller.cred);
    zlistx_destroy (&keys);
    keys = controller_auth_keys (self, 0);
    assert (zlistx_size (keys) == 2);
    zlistx_destroy (&keys);
    assert (controller_auth_check (self, &env, AUTH_VI, 50, &caller, &reason) == MK_FORBIDDEN
            && strstr (reason, "read-only"));
    assert (controller_auth_check (self, &env, AUTH_VI_READ, 50, &caller, &reason) == 0);
    //  The cloud's figures: the administrator's read-only key reads them (a scraper's),
    //  not another user's, and it changes nothing.
    assert (controller_auth_check (self, &env, AUTH_ADMIN_READ, 50, &caller, &reason)
                == MK_FORBIDDEN
            && strstr (reason, "administrator"));
    credential.token = tokens[3];
    assert (controller_auth_check (self, &env, AUTH_ADMIN_READ, 50, &caller, &reason) == 0);
    assert (controller_auth_check (self, &env, AUTH_ADMIN, 50, &caller, &reason) == MK_FORBIDDEN
            && strstr (reason, "read-only"));
    credential.token = tokens[2];
    //  A disabled user's live key is refused; a deleted user's credentials go with them.
    alice.disabled = true;
    controller_auth_user_put (self, &alice);
    assert (controller_auth_check (self, &env, AUTH_SELF, 50, &caller, &reason) == MK_UNAUTHORIZED
            && strstr (reason, "disabled"));
    controller_auth_user_drop (self, 2);
    assert (!controller_auth_user (self, "alice") && !controller_auth_user_id (self, 2));
    assert (controller_auth_check (self, &env, AUTH_SELF, 50, &caller, &reason) == MK_UNAUTHORIZED
            && strstr (reason, "not valid"));
    //  A renamed user is one entry.
    admin.id = 1;
    snprintf (admin.name, sizeof admin.name, "boss");
    controller_auth_user_put (self, &admin);
    assert (controller_auth_user_count (self) == 1 && controller_auth_user (self, "boss")
            && !controller_auth_user (self, "root"));
    zlistx_t *list = controller_auth_user_list (self);
    assert (zlistx_size (list) == 1);
    zlistx_destroy (&list);
    //  Failed logins: five free for a name, then 1, 2, 4 s ... to wait; a success forgets.
    int64_t t = 1000000;
    for (int i = 0; i < 4; i++)
        controller_auth_login_failed (self, "bob", "", t);
    assert (controller_auth_login_wait (self, "bob", "", t) == 0);
    controller_auth_login_failed (self, "bob", "", t);
    assert (controller_auth_login_wait (self, "bob", "", t) == 1);
    controller_auth_login_failed (self, "bob", "", t);
    assert (controller_auth_login_wait (self, "bob", "", t) == 2);
    assert (controller_auth_login_wait (self, "bob", "", t + 2000) == 0);
    assert (controller_auth_login_wait (self, "carol", "", t) == 0);
    for (int i = 0; i < 30; i++)
        controller_auth_login_failed (self, "bob", "", t);
    assert (controller_auth_login_wait (self, "bob", "", t) == THROTTLE_MAX_S);
    controller_auth_login_passed (self, "bob");
    assert (controller_auth_login_wait (self, "bob", "", t) == 0);
    //  ... and twenty for a source, whatever names it tries.
    char name[32];
    for (int i = 0; i < THROTTLE_FREE_SOURCE; i++) {
        snprintf (name, sizeof name, "u%d", i);
        controller_auth_login_failed (self, name, "192.0.2.7", t);
    }
    assert (controller_auth_login_wait (self, "newname", "192.0.2.7", t) == 1);
    assert (controller_auth_login_wait (self, "newname", "192.0.2.8", t) == 0);
    //  A quarter of an hour without failures forgets them.
    assert (controller_auth_login_wait (self, "newname", "192.0.2.7", t + 901000) == 0);
    //  A spray of names stays bounded.
    for (int i = 0; i < THROTTLE_MAX + 10; i++) {
        snprintf (name, sizeof name, "spray%d", i);
        controller_auth_login_failed (self, name, "", t + i);
    }
    assert (zhashx_size (self->by_user) <= THROTTLE_MAX);
    for (int i = 0; i < 4; i++)
        free (tokens[i]);
    controller_auth_destroy (&self);
    //  Enforcement off: everyone is admitted, as no one in particular.
    self = controller_auth_new (false);
    env.credential = NULL;
    assert (controller_auth_check (self, &env, AUTH_ADMIN, 50, &caller, &reason) == 0
            && !caller.user);
    controller_auth_destroy (&self);
}

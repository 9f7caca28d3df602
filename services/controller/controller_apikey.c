/*  controller_apikey: API keys, the long-lived credentials of programs (a scraper, a
    script, a third-party tool): create (the key shown once), list and revoke, for
    oneself, or for any user by the administrator (a service account is a user made to
    hold keys). A key is used where a session's token is; a read-only one may only read,
    whatever its user may do. The keys live in controller_auth, as every credential. */
#include "controller_core.h"

#include "mk_name.h"
#include "mk_secret.h"

#include <sodium.h>

#define KEYS_PER_USER_MAX 100
#define KEY_DAYS_MAX      3650

static Maekin__ApiKey *
s_msg_key (controller_t *self, const store_cred_t *cred)
{
    Maekin__ApiKey *key = (Maekin__ApiKey *) controller_arena_new (self, sizeof (Maekin__ApiKey));
    maekin__api_key__init (key);
    const store_user_t *user = controller_auth_user_id (self->auth, cred->user_id);
    key->name = controller_arena_str (self, cred->name);
    key->user = controller_arena_str (self, user ? user->name : "");
    key->read_only = cred->read_only;
    key->created = cred->created;
    key->expires = cred->expires;
    return key;
}

//  Whose keys a request is about: the named user's, or the caller's own; NULL after
//  answering (authorisation off, another user's for one who is not the administrator,
//  no such user).
static const store_user_t *
s_owner (controller_t *self, const mk_request_t *request, const char *name)
{
    const store_user_t *caller = self->caller.user;
    if (!caller) {
        controller_reply_status (self, request, MK_BAD_REQUEST,
                                 "authorisation is off on this cloud: there are no keys");
        return NULL;
    }
    if (!name || !*name || streq (name, caller->name))
        return caller;
    if (!caller->admin) {
        controller_reply_status (self, request, MK_FORBIDDEN,
                                 "only the administrator may handle another user's keys");
        return NULL;
    }
    const char *why = mk_name_check (name);
    const store_user_t *user = why ? NULL : controller_auth_user (self->auth, name);
    if (why)
        controller_reply_status (self, request, MK_BAD_REQUEST, "a user name %s", why);
    else if (!user)
        controller_reply_status (self, request, MK_NOT_FOUND, "no user '%s'", name);
    return user;
}

void
controller_apikey_create (controller_t *self, const mk_request_t *request)
{
    Maekin__ApiKeyCreateRequest *create = request->env->apikey_create;
    const store_user_t *owner = s_owner (self, request, create->user);
    if (!owner)
        return;
    const char *why = mk_name_check (create->name);
    if (why) {
        controller_reply_status (self, request, MK_BAD_REQUEST, "a key name %s", why);
        return;
    }
    if (create->ttl_days > KEY_DAYS_MAX) {
        controller_reply_status (self, request, MK_BAD_REQUEST,
                                 "a key lasts at most %d days (0: until revoked), not %u",
                                 KEY_DAYS_MAX, create->ttl_days);
        return;
    }
    if (controller_auth_key (self->auth, owner->id, create->name)) {
        controller_reply_status (self, request, MK_CONFLICT,
                                 "'%s' has a key named '%s' already: revoke it first, or "
                                 "choose another name",
                                 owner->name, create->name);
        return;
    }
    zlistx_t *keys = controller_auth_keys (self->auth, owner->id);
    size_t count = zlistx_size (keys);
    zlistx_destroy (&keys);
    if (count >= KEYS_PER_USER_MAX) {
        controller_reply_status (self, request, MK_CONFLICT,
                                 "'%s' has %d keys, the most a user may: revoke one first",
                                 owner->name, KEYS_PER_USER_MAX);
        return;
    }
    char *secret = mk_secret_token_new ("mka_");
    store_cred_t cred = {.kind = STORE_CRED_APIKEY,
                         .user_id = owner->id,
                         .read_only = create->read_only,
                         .created = self->now,
                         .expires = create->ttl_days ? self->now + 86400LL * create->ttl_days : 0};
    snprintf (cred.name, sizeof cred.name, "%s", create->name);
    mk_secret_digest (secret, cred.digest);
    if (store_cred_insert (self->db, &cred) != 1) {
        sodium_memzero (secret, strlen (secret));
        free (secret);
        controller_reply_db_error (self, request);
        return;
    }
    controller_auth_cred_put (self->auth, &cred);
    Maekin__ApiKeyCreateReply reply = MAEKIN__API_KEY_CREATE_REPLY__INIT;
    reply.key = secret;
    reply.api_key = s_msg_key (self, &cred);
    controller_reply_body (self, request, MK_OK, MAEKIN__ENVELOPE__BODY_APIKEY_CREATE_REPLY,
                           &reply);
    sodium_memzero (secret, strlen (secret));
    free (secret);
}

void
controller_apikey_revoke (controller_t *self, const mk_request_t *request)
{
    Maekin__ApiKeyRevokeRequest *revoke = request->env->apikey_revoke;
    const store_user_t *owner = s_owner (self, request, revoke->user);
    if (!owner)
        return;
    const store_cred_t *key = controller_auth_key (self->auth, owner->id, revoke->name);
    if (!key) {
        controller_reply_status (self, request, MK_NOT_FOUND, "'%s' has no key named '%.64s'",
                                 owner->name, revoke->name);
        return;
    }
    if (store_cred_revoke (self->db, key->digest, self->now) < 0) {
        controller_reply_db_error (self, request);
        return;
    }
    Maekin__ApiKeyRevokeReply reply = MAEKIN__API_KEY_REVOKE_REPLY__INIT;
    reply.api_key = s_msg_key (self, key);
    char digest[sizeof key->digest];
    memcpy (digest, key->digest, sizeof digest);
    controller_auth_cred_drop (self->auth, digest);
    controller_reply_body (self, request, MK_OK, MAEKIN__ENVELOPE__BODY_APIKEY_REVOKE_REPLY,
                           &reply);
}

//  A list's order and cursor: "USER/NAME".
typedef struct {
    char key[130];
    const store_cred_t *cred;
} listed_t;

static int
s_by_key (const void *a, const void *b)
{
    return strcmp (((const listed_t *) a)->key, ((const listed_t *) b)->key);
}

static bool
s_cursor_ok (const char *after)
{
    const char *slash = strchr (after, '/');
    if (!slash || slash - after >= 64)
        return false;
    char user[64];
    snprintf (user, sizeof user, "%.*s", (int) (slash - after), after);
    return mk_name_check (user) == NULL && mk_name_check (slash + 1) == NULL;
}

void
controller_apikey_list (controller_t *self, const mk_request_t *request)
{
    Maekin__ApiKeyListRequest *list = request->env->apikey_list;
    bool everyone = self->caller.user && self->caller.user->admin && !*list->user;
    const store_user_t *owner = everyone ? NULL : s_owner (self, request, list->user);
    if (!everyone && !owner)
        return;
    store_page_t page;
    if (controller_list_page (self, request, list->page, NULL, s_cursor_ok, &page) != 0)
        return;
    zlistx_t *keys = controller_auth_keys (self->auth, owner ? owner->id : 0);
    size_t count = zlistx_size (keys);
    listed_t *sorted = (listed_t *) malloc ((count ? count : 1) * sizeof (listed_t));
    assert (sorted);
    size_t n = 0;
    for (const store_cred_t *cred = (const store_cred_t *) zlistx_first (keys); cred;
         cred = (const store_cred_t *) zlistx_next (keys)) {
        const store_user_t *user = controller_auth_user_id (self->auth, cred->user_id);
        snprintf (sorted[n].key, sizeof sorted[n].key, "%s/%s", user ? user->name : "", cred->name);
        sorted[n++].cred = cred;
    }
    zlistx_destroy (&keys);
    qsort (sorted, n, sizeof (listed_t), s_by_key);
    Maekin__ApiKeyListReply reply = MAEKIN__API_KEY_LIST_REPLY__INIT;
    reply.api_keys =
        (Maekin__ApiKey **) controller_arena_new (self, page.limit * sizeof (Maekin__ApiKey *));
    for (size_t i = 0; i < n; i++) {
        if (strcmp (sorted[i].key, page.after) <= 0)
            continue;
        if (reply.n_api_keys == page.limit) {
            reply.next = controller_arena_str (self, sorted[i - 1].key);
            break;
        }
        reply.api_keys[reply.n_api_keys++] = s_msg_key (self, sorted[i].cred);
    }
    free (sorted);
    controller_reply_body (self, request, MK_OK, MAEKIN__ENVELOPE__BODY_APIKEY_LIST_REPLY, &reply);
}

/*  controller_enrol: the bus's enrolment door, and the join tokens that open it.

    The administrator asks for a join token for a host (JoinTokenRequest): a random token,
    shown once, kept only as its digest, good for an hour by default. A new node makes a
    key pair, connects to the broker with it (a stranger: the broker lets it reach the
    service `enrol` alone, a few times a second) and presents the token with its public
    key (EnrolRequest). The broker vouches for the key the request came with, which proves
    the node holds its secret. The controller then, in the batch's transaction, uses the
    token up, drops every key named after the host (a re-installed node's old key stops
    at once) and admits the new one as a node key for that host alone; the list goes to
    the broker after the commit, as after any change.

    A refused token costs one lookup and an audit entry, nothing more: the caller hears one
    reason whatever the cause, which the log and the audit entry tell precisely. */
#include "controller_core.h"

#include "mk_buskey.h"
#include "mk_curve.h"
#include "mk_name.h"
#include "mk_secret.h"

#include <inttypes.h>
#include <sodium.h>

//  A token's text: its prefix says what it is; a longer text is none of ours.
#define TOKEN_PREFIX   "mkj_"
#define TOKEN_TEXT_MAX 128
//  How long a token is good for, by default and at most (seconds).
#define TTL_DEFAULT_S 3600
#define TTL_MAX_S     604800
//  Who admits an enrolled key, as `maekinsh key list` shows it.
#define ENROL_CREATOR "enrol"

//  What a caller hears for any refused token.
static const char *s_refused = "this join token is not valid (unknown, used or expired): ask the "
                               "administrator for a new one";

char *
controller_enrol_token_new (controller_t *self, const mk_request_t *request, const char *host,
                            uint32_t ttl_s, store_join_token_t *row)
{
    if (ttl_s > TTL_MAX_S) {
        controller_reply_status (self, request, MK_BAD_REQUEST,
                                 "a join token is good for at most a week (%d s), not %u s",
                                 TTL_MAX_S, ttl_s);
        return NULL;
    }
    int64_t held = mk_db_count (self->db, "join_tokens", NULL);
    if (held < 0) {
        controller_reply_db_error (self, request);
        return NULL;
    }
    if (held >= MK_JOIN_TOKENS_MAX) {
        controller_reply_status (self, request, MK_CONFLICT,
                                 "%d join tokens wait to be used, the most there may be: let "
                                 "some expire first",
                                 MK_JOIN_TOKENS_MAX);
        return NULL;
    }
    char *token = mk_secret_token_new (TOKEN_PREFIX);
    memset (row, 0, sizeof *row);
    row->expires = self->now + (ttl_s ? ttl_s : TTL_DEFAULT_S);
    row->created = self->now;
    mk_secret_digest (token, row->digest);
    snprintf (row->host, sizeof row->host, "%s", host);
    snprintf (row->created_by, sizeof row->created_by, "%s",
              self->caller.user ? self->caller.user->name : "");
    if (store_join_token_insert (self->db, row) != 1) {
        controller_enrol_token_free (&token);
        controller_reply_db_error (self, request);
        return NULL;
    }
    mk_info ("controller: a join token for host '%s' made, good until %" PRId64, row->host,
             row->expires);
    return token;
}

void
controller_enrol_token_free (char **token_p)
{
    if (*token_p) {
        sodium_memzero (*token_p, strlen (*token_p));
        free (*token_p);
        *token_p = NULL;
    }
}

void
controller_enrol_token (controller_t *self, const mk_request_t *request)
{
    const Maekin__JoinTokenRequest *ask = request->env->join_token;
    const char *why = mk_name_check (ask->host);
    if (why) {
        controller_reply_status (self, request, MK_BAD_REQUEST, "host name '%.64s' %s", ask->host,
                                 why);
        return;
    }
    store_join_token_t row;
    char *token = controller_enrol_token_new (self, request, ask->host, ask->ttl_s, &row);
    if (!token)
        return;
    Maekin__JoinTokenReply reply = MAEKIN__JOIN_TOKEN_REPLY__INIT;
    reply.token = token;
    reply.host = row.host;
    reply.expires = row.expires;
    controller_reply_body (self, request, MK_OK, MAEKIN__ENVELOPE__BODY_JOIN_TOKEN_REPLY, &reply);
    controller_enrol_token_free (&token);
}

//  A token refused: the precise cause logged and audited, the one reason answered.
static void
s_refuse_token (controller_t *self, const mk_request_t *request, const char *cause)
{
    mk_warn ("controller: enrolment of the key '%s' refused: %s", request->caller, cause);
    controller_audit_write (self, MK_FORBIDDEN, cause);
    controller_reply_status (self, request, MK_FORBIDDEN, "%s", s_refused);
}

//  The token of a request, found and live: true and *row, or false having answered.
static bool
s_token (controller_t *self, const mk_request_t *request, const char *text, store_join_token_t *row)
{
    size_t length = strnlen (text, TOKEN_TEXT_MAX + 1);
    if (length == 0 || length > TOKEN_TEXT_MAX) {
        s_refuse_token (self, request,
                        length ? "the token is too long to be a join token" : "no token given");
        return false;
    }
    char digest[MK_SECRET_DIGEST_HEX + 1];
    mk_secret_digest (text, digest);
    int rc = store_join_token_find (self->db, digest, row);
    if (rc < 0) {
        controller_reply_db_error (self, request);
        return false;
    }
    if (rc == 0) {
        s_refuse_token (self, request,
                        "no such join token (never made, used already, or expired and forgotten)");
        return false;
    }
    if (row->expires <= self->now) {
        char cause[160];
        snprintf (cause, sizeof cause,
                  "the join token for host '%s' expired %" PRId64 " s ago (at %" PRId64 ")",
                  row->host, self->now - row->expires, row->expires);
        snprintf (self->audit_subject, sizeof self->audit_subject, "%s", row->host);
        s_refuse_token (self, request, cause);
        return false;
    }
    return true;
}

void
controller_enrol_door (controller_t *self, const mk_request_t *request)
{
    const Maekin__EnrolRequest *enrol = request->env->enrol;
    if (!*request->caller) {
        controller_reply_status (self, request, MK_BAD_REQUEST,
                                 "enrolment needs a CURVE bus: on this plain-text bus no key "
                                 "proves who a node is (bus/security = none)");
        return;
    }
    snprintf (self->audit_subject, sizeof self->audit_subject, "%s", request->caller);
    const char *why = mk_buskey_text_check (enrol->key);
    if (why) {
        controller_reply_status (self, request, MK_FORBIDDEN,
                                 "the key to admit %s: give the public key this node connects "
                                 "with",
                                 why);
        return;
    }
    if (!streq (enrol->key, request->caller)) {
        controller_reply_status (self, request, MK_FORBIDDEN,
                                 "the key to admit is not the one this node connects with: "
                                 "enrol with the key pair whose public key you give "
                                 "(maekinsh --bus-key=NODE.key_secret enrol TOKEN)");
        return;
    }
    store_join_token_t token;
    if (!s_token (self, request, enrol->token, &token))
        return;
    snprintf (self->audit_subject, sizeof self->audit_subject, "%s", token.host);
    int64_t now = zclock_time ();
    if (!controller_buskey_purge (self, request, now))
        return;
    const store_buskey_t *held = controller_buskeys_get (self->buskeys, enrol->key);
    if (held && !streq (held->name, token.host)) {
        controller_reply_status (self, request, MK_CONFLICT,
                                 "this key is admitted already, as '%s': a node enrols with a key "
                                 "pair of its own (maekinsh admin keygen DIR NAME)",
                                 held->name);
        return;
    }
    if (!controller_buskey_room (self, request, 1))
        return;
    //  The token used up, the host's old keys gone, the new one in: one transaction.
    store_buskey_t row = {.role = MAEKIN__BUS_ROLE__BUS_ROLE_NODE,
                          .hosts = token.host,
                          .created = now,
                          .created_by = ENROL_CREATOR};
    snprintf (row.key, sizeof row.key, "%s", enrol->key);
    snprintf (row.name, sizeof row.name, "%s", token.host);
    if (store_join_token_delete (self->db, token.digest) != 1
        || store_buskey_delete_name (self->db, token.host) < 0
        || store_buskey_insert (self->db, &row) != 1) {
        controller_reply_db_error (self, request);
        return;
    }
    zlistx_t *old = controller_buskeys_list (self->buskeys, token.host, INT64_MIN + 1);
    size_t replaced = zlistx_size (old);
    zlistx_destroy (&old);
    controller_buskeys_drop_name (self->buskeys, token.host);
    controller_buskeys_put (self->buskeys, &row);
    self->keypush.changed = true;
    mk_info ("controller: the key '%s' enrolled as the node key '%s' for host '%s'%s", row.key,
             row.name, token.host, replaced ? " (its old key cut off)" : "");
    //  Said on event.host: maekin-dhcp stops booting a host added from the network.
    controller_events_add (self->events, EVENTS_HOST, token.host, NULL, "enrolled", "", 0);
    Maekin__EnrolReply reply = MAEKIN__ENROL_REPLY__INIT;
    reply.host = token.host;
    reply.name = row.name;
    if (self->opts.multicast_key) {
        reply.multicast_key.data = (uint8_t *) self->opts.multicast_key;
        reply.multicast_key.len = MK_CURVE_SECRET;
    }
    controller_reply_body (self, request, MK_OK, MAEKIN__ENVELOPE__BODY_ENROL_REPLY, &reply);
}

/*  controller_auth: who is calling, and whether they may make a request: the one place
    that decides. Every request passes here before anything else reads it, with the
    action its row in the request table (controller_request.c) names.

    A caller is known by the credential in the request's envelope: a session's token
    (given at login) or an API key, which is looked up by the digest of its text among
    the live credentials held in memory (loaded at start, changed only by this
    controller): microseconds, no query, no password hashing per request. Users are few
    and held in memory too. Repeated failed logins are slowed down here, per user name
    and per source.

    Until Virtual Infrastructures exist, roles are the administrator and everyone else:
    the administrator may do anything; another user may only see to themselves (whoami,
    logout, their password) and is refused the rest with the reason. Agents' reports
    carry no credential (their keys come with CURVE). With enforcement off (a lab or a
    benchmark), every request is admitted as the administrator's. */
#ifndef CONTROLLER_AUTH_H_INCLUDED
#define CONTROLLER_AUTH_H_INCLUDED

#include "controller_store.h"
#include "maekin.h"

//  What a request does, as far as authorisation cares.
typedef enum {
    AUTH_ANYONE,    //  login: needs no credential
    AUTH_SELF_READ, //  a signed-in user reads about themselves (whoami, own keys)
    AUTH_SELF,      //  ... changes themselves (logout, own password, own keys)
    AUTH_READ,      //  reads the cloud's state (lists, shows, waits, events)
    AUTH_OPERATE,   //  acts on VMs (create, start, stop, delete, ...)
    AUTH_ADMIN,     //  changes what the cloud offers (templates, users) or asks hosts directly
    AUTH_AGENT      //  an agent's report or event about its host
} controller_auth_action_t;

//  Who made a request: NULL user for none (a login, an agent's report, enforcement off).
typedef struct {
    const store_user_t *user;
    const store_cred_t *cred;
} controller_caller_t;

typedef struct _controller_auth_t controller_auth_t;

controller_auth_t *controller_auth_new (bool enforce);
void controller_auth_destroy (controller_auth_t **self_p);

//  Forget what is held and read the users and the live credentials: 0 or -1.
int controller_auth_load (controller_auth_t *self, mk_db_t *db, int64_t now);

//  0 and *caller if the request may be made; else the status to answer (401: no valid
//  credential, 403: not allowed) with *reason (static text).
int controller_auth_check (controller_auth_t *self, const Maekin__Envelope *request,
                           controller_auth_action_t action, int64_t now,
                           controller_caller_t *caller, const char **reason);

//  The users: by name, by id (NULL if none), how many, all of them sorted by name (a new
//  list of borrowed store_user_t *).
const store_user_t *controller_auth_user (controller_auth_t *self, const char *name);
const store_user_t *controller_auth_user_id (controller_auth_t *self, int64_t id);
size_t controller_auth_user_count (controller_auth_t *self);
zlistx_t *controller_auth_user_list (controller_auth_t *self);

//  What the database now says, held in memory too (the caller wrote it first).
void controller_auth_user_put (controller_auth_t *self, const store_user_t *user);
void controller_auth_user_drop (controller_auth_t *self, int64_t id);
void controller_auth_cred_put (controller_auth_t *self, const store_cred_t *cred);
void controller_auth_cred_drop (controller_auth_t *self, const char *digest);
//  Drops the user's sessions (and with keys, API keys too) except one ("" or NULL: none).
void controller_auth_cred_drop_user (controller_auth_t *self, int64_t user_id, bool keys,
                                     const char *except);
//  The user's live sessions.
//  A live credential by its digest, or NULL.
const store_cred_t *controller_auth_cred (controller_auth_t *self, const char *digest);
//  A user's live API key by its name, or NULL.
const store_cred_t *controller_auth_key (controller_auth_t *self, int64_t user_id,
                                         const char *name);
//  The live API keys of a user (0: everyone's), in no order (a new list of borrowed
//  entries, valid until the next change).
zlistx_t *controller_auth_keys (controller_auth_t *self, int64_t user_id);

uint32_t controller_auth_sessions (controller_auth_t *self, int64_t user_id, int64_t now);

//  Failed logins: seconds a login for this user from this source must still wait (0:
//  none), a failure, a success. source may be "" (not known).
int controller_auth_login_wait (controller_auth_t *self, const char *user, const char *source,
                                int64_t now_ms);
void controller_auth_login_failed (controller_auth_t *self, const char *user, const char *source,
                                   int64_t now_ms);
void controller_auth_login_passed (controller_auth_t *self, const char *user);

void controller_auth_test (bool verbose);

#endif

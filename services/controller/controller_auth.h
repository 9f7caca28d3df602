/*  controller_auth: who is calling, and whether they may make a request: the one place
    that decides. Every request passes here before anything else reads it, with the
    action its row in the request table (controller_request.c) names.

    A caller is known by the credential in the request's envelope: a session's token
    (given at login) or an API key, which is looked up by the digest of its text among
    the live credentials held in memory (loaded at start, changed only by this
    controller): microseconds, no query, no password hashing per request. Users are few
    and held in memory too. Repeated failed logins are slowed down here, per user name
    and per source.

    The administrator may do anything. Another user may see to themselves (whoami,
    logout, their password, their keys), read what the cloud offers once they hold a role
    in a Virtual Infrastructure, and act in a VI as their role there allows: the one
    table of roles and operations (controller_auth_vi_check) decides, and prints itself
    for the docs (maekin-controller --roles). Agents' reports carry no credential (their
    keys come with CURVE). With enforcement off (a lab or a benchmark), every request is
    admitted as the administrator's. */
#ifndef CONTROLLER_AUTH_H_INCLUDED
#define CONTROLLER_AUTH_H_INCLUDED

#include "controller_store.h"
#include "maekin.h"

//  What a request does, as far as authorisation cares.
typedef enum {
    AUTH_ANYONE,     //  login: needs no credential
    AUTH_SELF_READ,  //  a signed-in user reads about themselves (whoami, own keys)
    AUTH_SELF,       //  ... changes themselves (logout, own password, own keys)
    AUTH_READ,       //  reads what the cloud offers (hosts, templates): a role in some VI
    AUTH_VI_READ,    //  reads in a VI (its VMs, tasks): the handler checks the role there
    AUTH_VI,         //  acts in a VI (VMs, members): the handler checks the role there
    AUTH_ADMIN,      //  changes what the cloud offers (templates, users, VIs) or asks hosts
    AUTH_ADMIN_READ, //  reads what only the administrator sees (the cloud's figures): a
                     //  read-only key of theirs may (a monitoring scraper's)
    AUTH_AGENT       //  an agent's report or event about its host
} controller_auth_action_t;

//  Who made a request: NULL user for none (a login, an agent's report, enforcement off).
typedef struct {
    const store_user_t *user;
    const store_cred_t *cred;
} controller_caller_t;

//  A user's role in a Virtual Infrastructure; each may do what the ones before it may.
//  The administrator is above them all, in every VI.
typedef enum {
    VI_ROLE_NONE,
    VI_ROLE_VIEWER,
    VI_ROLE_OPERATOR,
    VI_ROLE_MANAGER,
    VI_ROLE_OWNER,
    VI_ROLE_ADMIN,
    VI_ROLES
} vi_role_t;

//  What a request does in a VI: the rows of the table of roles.
typedef enum {
    VI_OP_SEE,     //  see the VI, its VMs, tasks and history
    VI_OP_OPERATE, //  start, stop, reboot, suspend, resume, destroy its VMs
    VI_OP_BUILD,   //  create and delete its VMs, and its own templates
    VI_OP_MEMBERS, //  invite members, change their roles, remove them
    VI_OP_AUDIT,   //  read its audit log
    VI_OP_GOVERN,  //  create or delete it, set its quotas and templates
    VI_OPS
} vi_op_t;

//  A role's name (owner, manager, operator, viewer, admin; "" for none), and the role
//  of a name that may be given to a member (VI_ROLE_NONE if it is not one).
const char *controller_auth_role_name (vi_role_t role);
vi_role_t controller_auth_role_parse (const char *name);

//  The caller's role in a VI whose members give them `member` (admin for the
//  administrator, and for everyone with enforcement off).
vi_role_t controller_auth_vi_role (const controller_caller_t *caller, vi_role_t member);
//  0 if `role` may do `op` in a VI; else MK_FORBIDDEN with *reason (static text).
int controller_auth_vi_check (vi_role_t role, vi_op_t op, const char **reason);
//  The table of roles and operations, as a Markdown table (for the docs).
void controller_auth_vi_print (FILE *file);

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

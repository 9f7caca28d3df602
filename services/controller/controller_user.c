/*  controller_user: users and their sessions: login, logout, whoami and the users'
    requests. A request that needs a password checked or hashed is parked as a job while
    controller_pwhash works on it, and finished in the batch its answer arrives in, as if
    it had just come: its reply, its writes and a mutating request's remembered answer
    all happen then. The administrator is made at the first start (controller_user_init). */
#include "controller_core.h"

#include "controller_auth.h"
#include "mk_name.h"
#include "mk_secret.h"

#include <sodium.h>
#include <sys/stat.h>

//  Jobs parked at once at most: beyond, a login is told to try again (429).
#define JOBS_MAX 64

//  A password's bytes: printable text, no control characters.
static const char *
s_password_check (const char *password, bool new_one)
{
    if (strlen (password) > MK_SECRET_PASSWORD_MAX)
        return "a password is at most " MK_STRINGIFY (MK_SECRET_PASSWORD_MAX) " bytes";
    return new_one ? mk_secret_password_refused (password) : NULL;
}

//  ---------------------------------------------------------------- jobs

typedef void (job_done_fn) (controller_t *self, const mk_request_t *request,
                            const controller_pwhash_result_t *result);

typedef struct {
    uint64_t id;          //  the job's, as the password checker answers it
    mk_request_t request; //  a copy, owned
    uint64_t fingerprint; //  a mutating request's (see controller_reply)
    int64_t caller_id;    //  the caller's user id, 0 for none
    bool audited;         //  its answer goes into the audit log
    char caller_cred[65]; //  the caller's credential's digest, "" for none
    job_done_fn *done;
} job_t;

static void
s_job_free (void **item)
{
    job_t *job = (job_t *) *item;
    if (job) {
        mk_msg_free (&job->request.env);
        free (job);
    }
    *item = NULL;
}

//  Parks the request and sends its job. 0, or -1 after answering (too many jobs).
static int
s_job_start (controller_t *self, const mk_request_t *request, job_done_fn *done, const char *hash,
             const char *password, const char *fresh)
{
    //  A retry of a request still being checked (the broker lost the controller for a
    //  moment, and the client sent it again) takes over the first one's job, whose answer
    //  goes to the retry's reply slot: a second job would open a second session, or fail
    //  a creation the first carries out.
    const char *rid = request->env->request_id;
    uint64_t fingerprint = 0;
    for (job_t *job = (job_t *) zlistx_first (self->jobs); job && rid && *rid;
         job = (job_t *) zlistx_next (self->jobs)) {
        const char *other = job->request.env->request_id;
        if (!other || !streq (other, rid))
            continue;
        if (!fingerprint)
            fingerprint = controller_request_fingerprint (request->env);
        if (controller_request_fingerprint (job->request.env) == fingerprint) {
            job->request.token = request->token;
            return 0;
        }
    }
    if (zlistx_size (self->jobs) >= JOBS_MAX) {
        controller_reply_status (self, request, MK_TOO_MANY,
                                 "the cloud is busy checking passwords; try again in a moment");
        return -1;
    }
    job_t *job = (job_t *) zmalloc (sizeof (job_t));
    job->request.token = request->token;
    snprintf (job->request.service, sizeof job->request.service, "%s", request->service);
    zframe_t *frame = mk_msg_pack (request->env);
    const char *why;
    job->request.env = mk_msg_unpack (zframe_data (frame), zframe_size (frame), &why);
    sodium_memzero (zframe_data (frame), zframe_size (frame));
    zframe_destroy (&frame);
    assert (job->request.env);
    job->fingerprint = self->fingerprint;
    job->audited = self->audited != NULL;
    if (self->caller.user) {
        job->caller_id = self->caller.user->id;
        snprintf (job->caller_cred, sizeof job->caller_cred, "%s", self->caller.cred->digest);
    }
    job->done = done;
    job->id = ++self->next_job;
    void *handle = zlistx_add_end (self->jobs, job);
    if (controller_pwhash_send (self->pwhash, job->id, hash, password, fresh) != 0) {
        zlistx_delete (self->jobs, handle);
        controller_reply_status (self, request, MK_INTERNAL, "the password checker is gone");
        return -1;
    }
    return 0;
}

void
controller_user_jobs (controller_t *self)
{
    controller_pwhash_result_t result;
    while (controller_pwhash_recv (self->pwhash, &result) == 0) {
        //  A few dozen at most (JOBS_MAX): a list is enough.
        job_t *job = (job_t *) zlistx_first (self->jobs);
        while (job && job->id != result.job)
            job = (job_t *) zlistx_next (self->jobs);
        if (job) {
            //  The caller as they are now: deleted or disabled meanwhile, they are no one.
            const store_user_t *user = controller_auth_user_id (self->auth, job->caller_id);
            self->caller.user = user && !user->disabled ? user : NULL;
            self->caller.cred = NULL;
            self->fingerprint = job->fingerprint;
            strcpy (self->caller_digest, job->caller_cred);
            self->audited = job->audited ? job->request.env : NULL;
            job->done (self, &job->request, &result);
            self->audited = NULL;
            self->fingerprint = 0;
            self->caller.user = NULL;
            self->caller_digest[0] = 0;
            zlistx_delete (self->jobs, zlistx_cursor (self->jobs));
        }
        if (result.hash) {
            sodium_memzero (result.hash, strlen (result.hash));
            free (result.hash);
        }
    }
}

void
controller_user_jobs_init (controller_t *self)
{
    self->jobs = zlistx_new ();
    zlistx_set_destructor (self->jobs, s_job_free);
}

//  ---------------------------------------------------------------- messages

static Maekin__User *
s_msg_user (controller_t *self, const store_user_t *row)
{
    Maekin__User *user = (Maekin__User *) controller_arena_new (self, sizeof (Maekin__User));
    maekin__user__init (user);
    user->name = controller_arena_str (self, row->name);
    user->admin = row->admin;
    user->disabled = row->disabled;
    user->created = row->created;
    user->last_login = row->last_login;
    user->sessions = controller_auth_sessions (self->auth, row->id, self->now);
    return user;
}

static void
s_reply_user (controller_t *self, const mk_request_t *request, const store_user_t *row)
{
    Maekin__UserShowReply show = MAEKIN__USER_SHOW_REPLY__INIT;
    show.user = s_msg_user (self, row);
    controller_reply_body (self, request, MK_OK, MAEKIN__ENVELOPE__BODY_USER_SHOW_REPLY, &show);
}

//  The user a request names, or NULL after answering 400 or 404.
static const store_user_t *
s_named (controller_t *self, const mk_request_t *request, const char *name)
{
    const char *why = mk_name_check (name);
    if (why) {
        controller_reply_status (self, request, MK_BAD_REQUEST, "a user name %s", why);
        return NULL;
    }
    const store_user_t *user = controller_auth_user (self->auth, name);
    if (!user)
        controller_reply_status (self, request, MK_NOT_FOUND, "no user '%s'", name);
    return user;
}

//  With authorisation off there is no one to be.
static bool
s_someone (controller_t *self, const mk_request_t *request)
{
    if (self->caller.user)
        return true;
    controller_reply_status (self, request, MK_BAD_REQUEST,
                             "authorisation is off on this cloud: requests are no one's");
    return false;
}

//  ---------------------------------------------------------------- login, logout, whoami

static void
s_login_done (controller_t *self, const mk_request_t *request,
              const controller_pwhash_result_t *result)
{
    Maekin__LoginRequest *login = request->env->login;
    const char *source = login->source ? login->source : "";
    const store_user_t *user = controller_auth_user (self->auth, login->user);
    if (!result->ok || !user) {
        controller_auth_login_failed (self->auth, login->user, source, zclock_mono ());
        controller_reply_status (self, request, MK_UNAUTHORIZED, "wrong user name or password");
        return;
    }
    if (user->disabled) {
        controller_reply_status (self, request, MK_FORBIDDEN,
                                 "the user '%s' is disabled: ask the administrator", user->name);
        return;
    }
    controller_auth_login_passed (self->auth, login->user);
    int64_t ttl = login->ttl_s ? (int64_t) login->ttl_s : self->opts.session_ttl_s;
    char *token = mk_secret_token_new ("mkt_");
    store_cred_t cred = {.kind = STORE_CRED_SESSION,
                         .user_id = user->id,
                         .created = self->now,
                         .expires = self->now + ttl};
    mk_secret_digest (token, cred.digest);
    store_user_t changed = *user;
    changed.last_login = self->now;
    if (store_cred_insert (self->db, &cred) != 1 || store_user_update (self->db, &changed) != 1) {
        free (token);
        controller_reply_db_error (self, request);
        return;
    }
    controller_auth_cred_put (self->auth, &cred);
    controller_auth_user_put (self->auth, &changed);
    Maekin__LoginReply reply = MAEKIN__LOGIN_REPLY__INIT;
    reply.token = token;
    reply.expires = cred.expires;
    reply.user = s_msg_user (self, &changed);
    controller_reply_body (self, request, MK_OK, MAEKIN__ENVELOPE__BODY_LOGIN_REPLY, &reply);
    sodium_memzero (token, strlen (token));
    free (token);
}

void
controller_user_login (controller_t *self, const mk_request_t *request)
{
    Maekin__LoginRequest *login = request->env->login;
    const char *why = mk_name_check (login->user);
    if (why) {
        controller_reply_status (self, request, MK_BAD_REQUEST, "a user name %s", why);
        return;
    }
    if ((why = s_password_check (login->password, false))) {
        controller_reply_status (self, request, MK_BAD_REQUEST, "%s", why);
        return;
    }
    if (login->ttl_s && (login->ttl_s < 60 || login->ttl_s > (uint32_t) self->opts.session_ttl_s)) {
        controller_reply_status (self, request, MK_BAD_REQUEST,
                                 "a session lasts 60 to %d seconds, not %u",
                                 self->opts.session_ttl_s, login->ttl_s);
        return;
    }
    const char *source = login->source ? login->source : "";
    bool printable = strlen (source) <= 64;
    for (const char *c = source; *c && printable; c++)
        printable = *c > ' ' && *c <= '~';
    if (!printable) {
        controller_reply_status (self, request, MK_BAD_REQUEST,
                                 "a source is an address: at most 64 printable characters");
        return;
    }
    int wait = controller_auth_login_wait (self->auth, login->user, source, zclock_mono ());
    if (wait) {
        controller_reply_status (self, request, MK_TOO_MANY,
                                 "too many failed logins for '%s'%s%s: try again in %d s",
                                 login->user, *source ? " or from " : "", source, wait);
        return;
    }
    //  An unknown user, or one without a password, is checked against "": as slow, and
    //  as wrong.
    const store_user_t *user = controller_auth_user (self->auth, login->user);
    s_job_start (self, request, s_login_done, user ? user->password : "", login->password, NULL);
}

void
controller_user_logout (controller_t *self, const mk_request_t *request)
{
    if (!s_someone (self, request))
        return;
    if (self->caller.cred->kind != STORE_CRED_SESSION) {
        controller_reply_status (self, request, MK_BAD_REQUEST,
                                 "this credential is an API key, not a session: revoke it instead");
        return;
    }
    char digest[65];
    snprintf (digest, sizeof digest, "%s", self->caller.cred->digest);
    if (store_cred_revoke (self->db, digest, self->now) < 0) {
        controller_reply_db_error (self, request);
        return;
    }
    controller_auth_cred_drop (self->auth, digest);
    self->caller.cred = NULL;
    Maekin__LogoutReply reply = MAEKIN__LOGOUT_REPLY__INIT;
    controller_reply_body (self, request, MK_OK, MAEKIN__ENVELOPE__BODY_LOGOUT_REPLY, &reply);
}

void
controller_user_whoami (controller_t *self, const mk_request_t *request)
{
    if (!s_someone (self, request))
        return;
    Maekin__WhoamiReply reply = MAEKIN__WHOAMI_REPLY__INIT;
    reply.user = s_msg_user (self, self->caller.user);
    reply.credential = self->caller.cred->kind == STORE_CRED_SESSION ? "session" : "apikey";
    reply.expires = self->caller.cred->expires;
    controller_reply_body (self, request, MK_OK, MAEKIN__ENVELOPE__BODY_WHOAMI_REPLY, &reply);
}

//  ---------------------------------------------------------------- users

static void
s_create_done (controller_t *self, const mk_request_t *request,
               const controller_pwhash_result_t *result)
{
    Maekin__UserCreateRequest *create = request->env->user_create;
    if (!result->hash) {
        controller_reply_status (self, request, MK_INTERNAL, "the password could not be hashed");
        return;
    }
    store_user_t user = {.admin = create->admin, .created = self->now};
    snprintf (user.name, sizeof user.name, "%s", create->name);
    snprintf (user.password, sizeof user.password, "%s", result->hash);
    int rc = controller_auth_user (self->auth, user.name) ? MK_DB_CONSTRAINT
                                                          : store_user_insert (self->db, &user);
    if (rc == MK_DB_CONSTRAINT)
        controller_reply_status (self, request, MK_CONFLICT, "a user '%s' exists", user.name);
    else if (rc != 1)
        controller_reply_db_error (self, request);
    else {
        controller_auth_user_put (self->auth, &user);
        s_reply_user (self, request, &user);
    }
    sodium_memzero (user.password, sizeof user.password);
}

void
controller_user_create (controller_t *self, const mk_request_t *request)
{
    Maekin__UserCreateRequest *create = request->env->user_create;
    const char *why = mk_name_check (create->name);
    if (why) {
        controller_reply_status (self, request, MK_BAD_REQUEST, "a user name %s", why);
        return;
    }
    if ((why = s_password_check (create->password, true))) {
        controller_reply_status (self, request, MK_BAD_REQUEST, "%s", why);
        return;
    }
    if (controller_auth_user (self->auth, create->name)) {
        controller_reply_status (self, request, MK_CONFLICT, "a user '%s' exists", create->name);
        return;
    }
    s_job_start (self, request, s_create_done, NULL, NULL, create->password);
}

void
controller_user_show (controller_t *self, const mk_request_t *request)
{
    const store_user_t *caller = self->caller.user;
    const char *name = request->env->user_show->name;
    if (caller && !caller->admin && !streq (name, caller->name)) {
        controller_reply_status (self, request, MK_FORBIDDEN,
                                 "only the administrator may see other users");
        return;
    }
    const store_user_t *user = s_named (self, request, name);
    if (user)
        s_reply_user (self, request, user);
}

static bool
s_cursor_ok (const char *after)
{
    return mk_name_check (after) == NULL;
}

void
controller_user_list (controller_t *self, const mk_request_t *request)
{
    store_page_t page;
    if (controller_list_page (self, request, request->env->user_list->page, NULL, s_cursor_ok,
                              &page)
        != 0)
        return;
    if (!page.prefix)
        page.prefix = "";
    Maekin__UserListReply reply = MAEKIN__USER_LIST_REPLY__INIT;
    Maekin__User **users =
        (Maekin__User **) controller_arena_new (self, page.limit * sizeof (Maekin__User *));
    zlistx_t *all = controller_auth_user_list (self->auth);
    size_t prefix = strlen (page.prefix);
    for (store_user_t *user = (store_user_t *) zlistx_first (all); user;
         user = (store_user_t *) zlistx_next (all)) {
        if (strcmp (user->name, page.after) <= 0 || strncmp (user->name, page.prefix, prefix) != 0)
            continue;
        if (reply.n_users == page.limit) {
            reply.next = users[reply.n_users - 1]->name;
            break;
        }
        users[reply.n_users++] = s_msg_user (self, user);
    }
    zlistx_destroy (&all);
    reply.users = users;
    controller_reply_body (self, request, MK_OK, MAEKIN__ENVELOPE__BODY_USER_LIST_REPLY, &reply);
}

//  Whose password a request sets: the named user's, or the caller's own.
static const char *
s_passwd_name (controller_t *self, const Maekin__UserPasswdRequest *passwd)
{
    if (*passwd->name)
        return passwd->name;
    return self->caller.user ? self->caller.user->name : "";
}

static void
s_passwd_done (controller_t *self, const mk_request_t *request,
               const controller_pwhash_result_t *result)
{
    const char *name = s_passwd_name (self, request->env->user_passwd);
    const store_user_t *user = controller_auth_user (self->auth, name);
    if (!result->ok) {
        controller_reply_status (self, request, MK_FORBIDDEN, "the old password is wrong");
        return;
    }
    if (!user || !result->hash) {
        controller_reply_status (self, request, MK_NOT_FOUND, "no user '%s'", name);
        return;
    }
    store_user_t changed = *user;
    snprintf (changed.password, sizeof changed.password, "%s", result->hash);
    //  Every other session of the user ends; their API keys are not their password.
    const char *keep =
        self->caller.user && self->caller.user->id == user->id ? self->caller_digest : "";
    if (store_user_update (self->db, &changed) != 1
        || store_cred_revoke_user (self->db, user->id, false, keep, self->now) < 0) {
        controller_reply_db_error (self, request);
        return;
    }
    controller_auth_user_put (self->auth, &changed);
    controller_auth_cred_drop_user (self->auth, changed.id, false, keep);
    sodium_memzero (changed.password, sizeof changed.password);
    s_reply_user (self, request, &changed);
}

void
controller_user_passwd (controller_t *self, const mk_request_t *request)
{
    if (!s_someone (self, request))
        return;
    Maekin__UserPasswdRequest *passwd = request->env->user_passwd;
    const store_user_t *caller = self->caller.user;
    const char *name = s_passwd_name (self, passwd);
    bool own = streq (name, caller->name);
    if (!own && !caller->admin) {
        controller_reply_status (self, request, MK_FORBIDDEN,
                                 "only the administrator may set another user's password");
        return;
    }
    const store_user_t *user = s_named (self, request, name);
    if (!user)
        return;
    const char *why = s_password_check (passwd->password, true);
    if (why) {
        controller_reply_status (self, request, MK_BAD_REQUEST, "%s", why);
        return;
    }
    //  One's own password only with the old one: a session left open is not the password.
    if (own && !*passwd->old_password) {
        controller_reply_status (self, request, MK_BAD_REQUEST,
                                 "give your current password to change it");
        return;
    }
    if ((why = s_password_check (passwd->old_password, false))) {
        controller_reply_status (self, request, MK_BAD_REQUEST, "%s", why);
        return;
    }
    s_job_start (self, request, s_passwd_done, own ? user->password : NULL,
                 own ? passwd->old_password : NULL, passwd->password);
}

void
controller_user_disable (controller_t *self, const mk_request_t *request)
{
    Maekin__UserDisableRequest *disable = request->env->user_disable;
    const store_user_t *user = s_named (self, request, disable->name);
    if (!user)
        return;
    if (self->caller.user && self->caller.user->id == user->id) {
        controller_reply_status (self, request, MK_CONFLICT, "you cannot disable yourself");
        return;
    }
    store_user_t changed = *user;
    changed.disabled = !disable->enable;
    //  Disabled, their sessions end; their API keys are refused while it lasts.
    if (store_user_update (self->db, &changed) != 1
        || (changed.disabled
            && store_cred_revoke_user (self->db, user->id, false, "", self->now) < 0)) {
        controller_reply_db_error (self, request);
        return;
    }
    if (changed.disabled)
        controller_auth_cred_drop_user (self->auth, changed.id, false, "");
    controller_auth_user_put (self->auth, &changed);
    s_reply_user (self, request, &changed);
}

void
controller_user_delete (controller_t *self, const mk_request_t *request)
{
    const store_user_t *user = s_named (self, request, request->env->user_delete->name);
    if (!user)
        return;
    if (self->caller.user && self->caller.user->id == user->id) {
        controller_reply_status (self, request, MK_CONFLICT, "you cannot delete yourself");
        return;
    }
    store_user_t gone = *user;
    if (store_member_drop_user (self->db, gone.id) < 0
        || store_user_delete (self->db, gone.id) != 1) {
        controller_reply_db_error (self, request);
        return;
    }
    controller_auth_user_drop (self->auth, gone.id);
    controller_vis_drop_user (self->vis, gone.id);
    s_reply_user (self, request, &gone);
}

//  ---------------------------------------------------------------- the first administrator

//  Writes the password to a new file of mode 0600: 0 or -1 (logged).
static int
s_write_secret (const char *path, const char *password)
{
    (void) unlink (path);
    int fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        mk_error ("controller: cannot write the administrator's password to %s: %s", path,
                  strerror (errno));
        return -1;
    }
    size_t length = strlen (password);
    //  On the disk before the user is committed: a crash between the two must not leave
    //  an administrator whose password is nowhere.
    bool ok = write (fd, password, length) == (ssize_t) length && write (fd, "\n", 1) == 1
              && fsync (fd) == 0;
    ok = close (fd) == 0 && ok;
    if (!ok)
        mk_error ("controller: cannot write the administrator's password to %s", path);
    return ok ? 0 : -1;
}

int
controller_user_init (controller_t *self)
{
    if (!self->opts.enforce || controller_auth_user_count (self->auth) > 0)
        return 0;
    const char *path = self->opts.admin_password_file;
    if (!path || !*path) {
        mk_error ("controller: no users, and no file to put the administrator's password in "
                  "(auth/admin_password_file)");
        return -1;
    }
    //  24 characters of base64url: 144 bits, and short enough to type.
    char *token = mk_secret_token_new ("");
    token[24] = 0;
    int rc = s_write_secret (path, token);
    const char *why = NULL;
    char *hash = rc == 0 ? mk_secret_password_hash (token, &why) : NULL;
    sodium_memzero (token, strlen (token));
    free (token);
    if (rc != 0 || !hash) {
        free (hash);
        return -1;
    }
    store_user_t admin = {.admin = true, .created = zclock_time () / 1000};
    snprintf (admin.name, sizeof admin.name, "admin");
    snprintf (admin.password, sizeof admin.password, "%s", hash);
    free (hash);
    if (mk_db_begin (self->db) != 0 || store_user_insert (self->db, &admin) != 1
        || mk_db_commit (self->db) != 0) {
        mk_db_rollback (self->db);
        (void) unlink (path);
        mk_error ("controller: cannot create the administrator: %s", mk_db_error (self->db));
        return -1;
    }
    controller_auth_user_put (self->auth, &admin);
    mk_info ("controller: created the administrator 'admin'; its password is in %s (log in "
             "with 'maekinsh login admin', then change it with 'maekinsh user passwd')",
             path);
    return 0;
}

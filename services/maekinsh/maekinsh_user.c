/*  maekinsh_user: the rows of maekinsh_cmd's table for who one is and for users: login,
    logout, whoami (commands of one word), and user create, list, show, passwd, disable,
    enable, delete; their builders, and how people see a list of users. Passwords are
    read as maekinsh_session says; the session's token is kept there too. */
#include "maekinsh_cmd_def.h"
#include "maekinsh_session.h"

#include "mk_msg.h"
#include "mk_testdir.h"

#include <inttypes.h>
#include <sodium.h>

static const maekinsh_cmd_opt_t s_login_opts[] = {
    {"--password-file", "FILE", false,
     "read the password from FILE's first line ('-': the standard input); default: ask"},
    {"--ttl", "S", false, "end the session after S seconds (default: the cloud's, 12 hours)"},
    {NULL, NULL, false, NULL}};
static const maekinsh_cmd_opt_t s_user_create_opts[] = {
    {"--admin", NULL, false, "make the user an administrator of the cloud"},
    {"--password-file", "FILE", false,
     "read the password from FILE's first line ('-': the standard input); default: ask"},
    {NULL, NULL, false, NULL}};
static const maekinsh_cmd_opt_t s_user_passwd_opts[] = {
    {"--password-file", "FILE", false,
     "read the new password from FILE's first line ('-': the standard input); default: ask"},
    {"--old-password-file", "FILE", false,
     "your own password: read the current one from FILE; default: ask"},
    {NULL, NULL, false, NULL}};
static const maekinsh_cmd_opt_t s_user_list_opts[] = {
    {"--limit", "N", false, "at most N users (1..1000), one page; default: all"},
    {NULL, NULL, false, NULL}};

const maekinsh_out_table_t maekinsh_user_table = {
    &maekin__user__descriptor,
    {{"NAME", "name", MAEKINSH_OUT_COL_TEXT},
     {"ADMIN", "admin", MAEKINSH_OUT_COL_TEXT},
     {"DISABLED", "disabled", MAEKINSH_OUT_COL_TEXT},
     {"SESSIONS", "sessions", MAEKINSH_OUT_COL_TEXT},
     {"LAST LOGIN", "last_login", MAEKINSH_OUT_COL_TIME},
     {"CREATED", "created", MAEKINSH_OUT_COL_TIME}}};

//  ---------------------------------------------------------------- login, logout, whoami

static char *
s_build_login (maekinsh_cmd_t *self, const maekinsh_cmd_args_t *args)
{
    Maekin__LoginRequest login = MAEKIN__LOGIN_REQUEST__INIT;
    login.user = (char *) args->operand;
    const char *value = maekinsh_cmd_arg (self, args, "--ttl");
    uint64_t ttl;
    char *why;
    if (value && (why = maekinsh_cmd_number ("--ttl", value, 60, 31536000, &ttl)))
        return why;
    login.ttl_s = value ? (uint32_t) ttl : 0;
    char prompt[96];
    snprintf (prompt, sizeof prompt, "password of %s", args->operand);
    char *password = maekinsh_session_password (maekinsh_cmd_arg (self, args, "--password-file"),
                                                prompt, false, &why);
    if (!password)
        return why;
    login.password = password;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKINSH_BODY (LOGIN);
    env.login = &login;
    maekinsh_cmd_finish (self, &env);
    maekinsh_session_wipe (&password);
    return NULL;
}

//  Unix seconds as local time, "2026-12-06 17:03", into buf.
static const char *
s_local_time (int64_t seconds, char *buf, size_t size)
{
    time_t when = (time_t) seconds;
    struct tm local;
    strftime (buf, size, "%Y-%m-%d %H:%M", localtime_r (&when, &local));
    return buf;
}

//  Logs in, and keeps the token for this endpoint; says who and until when.
static int
s_login (maekinsh_cmd_t *self)
{
    int status;
    Maekin__Envelope *reply =
        maekinsh_cmd_ask (self, (Maekin__Envelope *) maekinsh_cmd_request (self),
                          MAEKINSH_BODY (LOGIN_REPLY), &status);
    if (!reply)
        return status;
    const Maekin__LoginReply *login = reply->login_reply;
    char *error = NULL;
    if (maekinsh_session_keep (self->endpoint, login->token, login->user->name, &error) != 0) {
        maekinsh_out_error (self->out, MK_INTERNAL, "logged in, but %s", error);
        free (error);
        status = MAEKINSH_EXIT_ERROR;
    } else if (maekinsh_out_format (self->out) == MAEKINSH_OUT_TABLE) {
        char until[32], line[192];
        snprintf (line, sizeof line, "logged in as %s%s until %s", login->user->name,
                  login->user->admin ? " (administrator)" : "",
                  s_local_time (login->expires, until, sizeof until));
        maekinsh_out_line (self->out, line);
    } else {
        //  A program gets the token too (for $MAEKIN_TOKEN; the token file has it).
        char expires[24];
        snprintf (expires, sizeof expires, "%" PRId64, login->expires);
        const char *keys[] = {"user", "admin", "token", "expires"};
        const char *values[] = {login->user->name, login->user->admin ? "true" : "false",
                                login->token, expires};
        maekinsh_out_record (self->out, "login", keys, values, 4);
    }
    sodium_memzero (login->token, strlen (login->token));
    mk_msg_free (&reply);
    return status;
}

//  Who the credential is, what it is, until when.
static int
s_whoami (maekinsh_cmd_t *self)
{
    int status;
    Maekin__Envelope *reply =
        maekinsh_cmd_ask (self, (Maekin__Envelope *) maekinsh_cmd_request (self),
                          MAEKINSH_BODY (WHOAMI_REPLY), &status);
    if (!reply)
        return status;
    const Maekin__WhoamiReply *whoami = reply->whoami_reply;
    bool people = maekinsh_out_format (self->out) == MAEKINSH_OUT_TABLE;
    char expires[32], sessions[16];
    if (!whoami->expires)
        snprintf (expires, sizeof expires, people ? "never" : "0");
    else if (people)
        s_local_time (whoami->expires, expires, sizeof expires);
    else
        snprintf (expires, sizeof expires, "%" PRId64, whoami->expires);
    snprintf (sessions, sizeof sessions, "%u", whoami->user->sessions);
    const char *keys[] = {"user", "admin", "credential", "expires", "sessions"};
    const char *values[] = {whoami->user->name, whoami->user->admin ? "true" : "false",
                            whoami->credential, expires, sessions};
    maekinsh_out_record (self->out, "whoami", keys, values, 5);
    mk_msg_free (&reply);
    return MAEKINSH_EXIT_OK;
}

static char *
s_build_empty (maekinsh_cmd_t *self, const maekinsh_cmd_args_t *args)
{
    (void) args;
    Maekin__LogoutRequest empty = MAEKIN__LOGOUT_REQUEST__INIT; //  as WhoamiRequest
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = self->def->request;
    env.logout = &empty;
    maekinsh_cmd_finish (self, &env);
    return NULL;
}

//  Ends the session, and forgets its token even if the cloud had ended it already.
static int
s_logout (maekinsh_cmd_t *self)
{
    char user[64];
    char *token = maekinsh_session_token (self->endpoint, user);
    if (!token) {
        maekinsh_out_error (self->out, MK_BAD_REQUEST, "not logged in to %s", self->endpoint);
        return MAEKINSH_EXIT_ERROR;
    }
    maekinsh_session_wipe (&token);
    if (getenv ("MAEKIN_TOKEN") && *getenv ("MAEKIN_TOKEN")) {
        maekinsh_out_error (self->out, MK_BAD_REQUEST,
                            "the credential is $MAEKIN_TOKEN's: unset it to log out of the "
                            "session kept for %s",
                            self->endpoint);
        return MAEKINSH_EXIT_ERROR;
    }
    Maekin__Envelope *reply =
        maekinsh_cmd_call (self, (Maekin__Envelope *) maekinsh_cmd_request (self));
    //  Refused as no longer valid, the session had ended (expired, or ended by a new
    //  password or the administrator): forgetting it is all that is left to do.
    bool ended = reply->status == MK_UNAUTHORIZED;
    int status = ended ? MAEKINSH_EXIT_OK : maekinsh_cmd_check (self, reply, self->def->reply);
    mk_msg_free (&reply);
    if (status != MAEKINSH_EXIT_OK)
        return status;
    char *error = NULL;
    if (maekinsh_session_keep (self->endpoint, NULL, NULL, &error) != 0) {
        maekinsh_out_error (self->out, MK_INTERNAL, "%s", error);
        free (error);
        return MAEKINSH_EXIT_ERROR;
    }
    char line[160];
    snprintf (line, sizeof line, "logged out%s%s%s%s", *user ? " of " : "", user,
              *user ? "'s session" : "", ended ? " (it had already ended)" : "");
    maekinsh_out_line (self->out, line);
    return MAEKINSH_EXIT_OK;
}

//  ---------------------------------------------------------------- users

static char *
s_build_user_create (maekinsh_cmd_t *self, const maekinsh_cmd_args_t *args)
{
    Maekin__UserCreateRequest create = MAEKIN__USER_CREATE_REQUEST__INIT;
    create.name = (char *) args->operand;
    create.admin = maekinsh_cmd_arg (self, args, "--admin") != NULL;
    char prompt[96], *why;
    snprintf (prompt, sizeof prompt, "password of the new user %s", args->operand);
    char *password = maekinsh_session_password (maekinsh_cmd_arg (self, args, "--password-file"),
                                                prompt, true, &why);
    if (!password)
        return why;
    create.password = password;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKINSH_BODY (USER_CREATE);
    env.user_create = &create;
    maekinsh_cmd_finish (self, &env);
    maekinsh_session_wipe (&password);
    return NULL;
}

//  The new password now; the current one, if it is one's own, once the endpoint (and
//  so the session's user) is known: s_passwd.
static char *
s_build_user_passwd (maekinsh_cmd_t *self, const maekinsh_cmd_args_t *args)
{
    Maekin__UserPasswdRequest passwd = MAEKIN__USER_PASSWD_REQUEST__INIT;
    passwd.name = (char *) args->operand;
    char prompt[96], *why;
    snprintf (prompt, sizeof prompt, "new password of %s", args->operand);
    char *password = maekinsh_session_password (maekinsh_cmd_arg (self, args, "--password-file"),
                                                prompt, true, &why);
    if (!password)
        return why;
    char *old = NULL;
    const char *old_file = maekinsh_cmd_arg (self, args, "--old-password-file");
    if (old_file && !(old = maekinsh_session_password (old_file, "", false, &why))) {
        maekinsh_session_wipe (&password);
        return why;
    }
    passwd.password = password;
    passwd.old_password = old ? old : "";
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKINSH_BODY (USER_PASSWD);
    env.user_passwd = &passwd;
    maekinsh_cmd_finish (self, &env);
    maekinsh_session_wipe (&password);
    maekinsh_session_wipe (&old);
    return NULL;
}

static int
s_passwd (maekinsh_cmd_t *self)
{
    const Maekin__Envelope *request = maekinsh_cmd_request (self);
    Maekin__UserPasswdRequest passwd = *request->user_passwd;
    Maekin__Envelope env = *request;
    env.user_passwd = &passwd;
    char user[64];
    char *token = maekinsh_session_token (self->endpoint, user);
    maekinsh_session_wipe (&token);
    char *old = NULL;
    if (!*passwd.old_password && streq (user, passwd.name)) {
        //  One's own password is changed with the current one.
        char *error = NULL;
        old = maekinsh_session_password (NULL, "your current password", false, &error);
        if (!old) {
            maekinsh_out_error (self->out, MK_BAD_REQUEST, "%s", error);
            free (error);
            return MAEKINSH_EXIT_USAGE;
        }
        passwd.old_password = old;
    }
    int status;
    Maekin__Envelope *reply =
        maekinsh_cmd_ask (self, &env, MAEKINSH_BODY (USER_SHOW_REPLY), &status);
    maekinsh_session_wipe (&old);
    if (reply)
        maekinsh_out_add (self->out, &reply);
    mk_msg_free (&reply);
    return status;
}

static char *
s_build_user_enable (maekinsh_cmd_t *self, const maekinsh_cmd_args_t *args)
{
    Maekin__UserDisableRequest disable = MAEKIN__USER_DISABLE_REQUEST__INIT;
    disable.name = (char *) args->operand;
    disable.enable = streq (self->def->verb, "enable");
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKINSH_BODY (USER_DISABLE);
    env.user_disable = &disable;
    maekinsh_cmd_finish (self, &env);
    return NULL;
}

const maekinsh_cmd_def_t maekinsh_user_commands[] = {
    {.group = "login",
     .verb = "",
     .operand = "USER",
     .subject = "user",
     .summary = "log in, and keep the session's token for this cloud",
     .opts = s_login_opts,
     .build = s_build_login,
     .run = MAEKINSH_CMD_FOLLOW,
     .request = MAEKINSH_BODY (LOGIN),
     .reply = MAEKINSH_BODY (LOGIN_REPLY),
     .follow = s_login},
    {.group = "logout",
     .verb = "",
     .summary = "end the session and forget its token",
     .opts = maekinsh_cmd_no_opts,
     .build = s_build_empty,
     .run = MAEKINSH_CMD_FOLLOW,
     .request = MAEKINSH_BODY (LOGOUT),
     .reply = MAEKINSH_BODY (LOGOUT_REPLY),
     .follow = s_logout},
    {.group = "whoami",
     .verb = "",
     .summary = "whose credential maekinsh sends, and until when",
     .opts = maekinsh_cmd_no_opts,
     .build = s_build_empty,
     .run = MAEKINSH_CMD_FOLLOW,
     .request = MAEKINSH_BODY (WHOAMI),
     .reply = MAEKINSH_BODY (WHOAMI_REPLY),
     .follow = s_whoami},
    {.group = "user",
     .verb = "create",
     .operand = "NAME",
     .subject = "user",
     .summary = "create a user (administrator only; asks the password)",
     .opts = s_user_create_opts,
     .build = s_build_user_create,
     .request = MAEKINSH_BODY (USER_CREATE),
     .reply = MAEKINSH_BODY (USER_SHOW_REPLY),
     .mutating = true},
    {.group = "user",
     .verb = "list",
     .summary = "list the users (administrator only)",
     .opts = s_user_list_opts,
     .build = maekinsh_cmd_build_list,
     .run = MAEKINSH_CMD_LIST,
     .request = MAEKINSH_BODY (USER_LIST),
     .reply = MAEKINSH_BODY (USER_LIST_REPLY),
     .table = &maekinsh_user_table},
    {.group = "user",
     .verb = "show",
     .operand = "NAME",
     .subject = "user",
     .summary = "show a user (oneself, or anyone for the administrator)",
     .opts = maekinsh_cmd_no_opts,
     .build = maekinsh_cmd_build_show,
     .request = MAEKINSH_BODY (USER_SHOW),
     .reply = MAEKINSH_BODY (USER_SHOW_REPLY)},
    {.group = "user",
     .verb = "passwd",
     .operand = "NAME",
     .subject = "user",
     .summary = "set a password (one's own with the current one); other sessions end",
     .opts = s_user_passwd_opts,
     .build = s_build_user_passwd,
     .run = MAEKINSH_CMD_FOLLOW,
     .request = MAEKINSH_BODY (USER_PASSWD),
     .reply = MAEKINSH_BODY (USER_SHOW_REPLY),
     .mutating = true,
     .follow = s_passwd},
    {.group = "user",
     .verb = "disable",
     .operand = "NAME",
     .subject = "user",
     .summary = "end a user's sessions, refuse their logins (administrator only)",
     .opts = maekinsh_cmd_no_opts,
     .build = s_build_user_enable,
     .request = MAEKINSH_BODY (USER_DISABLE),
     .reply = MAEKINSH_BODY (USER_SHOW_REPLY),
     .mutating = true},
    {.group = "user",
     .verb = "enable",
     .operand = "NAME",
     .subject = "user",
     .summary = "let a disabled user log in again (administrator only)",
     .opts = maekinsh_cmd_no_opts,
     .build = s_build_user_enable,
     .request = MAEKINSH_BODY (USER_DISABLE),
     .reply = MAEKINSH_BODY (USER_SHOW_REPLY),
     .mutating = true},
    {.group = "user",
     .verb = "delete",
     .operand = "NAME",
     .subject = "user",
     .summary = "delete a user, their sessions and keys (administrator only)",
     .opts = maekinsh_cmd_no_opts,
     .build = maekinsh_cmd_build_show,
     .request = MAEKINSH_BODY (USER_DELETE),
     .reply = MAEKINSH_BODY (USER_SHOW_REPLY),
     .mutating = true},
    {.group = NULL}};

//  ---------------------------------------------------------------- self-test

static char *
s_test_file (const char *dir, const char *name, const char *text)
{
    char *path = zsys_sprintf ("%s/%s", dir, name);
    FILE *file = fopen (path, "w");
    assert (file);
    fputs (text, file);
    fclose (file);
    return path;
}

void
maekinsh_user_test (bool verbose)
{
    (void) verbose;
    char *dir = mk_testdir_new ("maekinsh_user");
    char *secret = s_test_file (dir, "secret", "s3cret-enough\n");
    char *old = s_test_file (dir, "old", "was-this\n");
    maekinsh_cmd_t *cmd;
    const Maekin__Envelope *env;

    cmd = maekinsh_cmd_test_good (
        MAEKINSH_WORDS ("login", "alice", "--password-file", secret, "--ttl", "600"));
    env = maekinsh_cmd_request (cmd);
    assert (env->body_case == MAEKINSH_BODY (LOGIN) && streq (env->login->user, "alice"));
    assert (streq (env->login->password, "s3cret-enough") && env->login->ttl_s == 600);
    assert (!*env->request_id); //  a login is not kept by id: its answer holds the token
    maekinsh_cmd_destroy (&cmd);
    cmd = maekinsh_cmd_test_good (MAEKINSH_WORDS ("whoami"));
    assert (maekinsh_cmd_request (cmd)->body_case == MAEKINSH_BODY (WHOAMI));
    maekinsh_cmd_destroy (&cmd);
    cmd = maekinsh_cmd_test_good (MAEKINSH_WORDS ("logout"));
    assert (maekinsh_cmd_request (cmd)->body_case == MAEKINSH_BODY (LOGOUT));
    maekinsh_cmd_destroy (&cmd);

    cmd = maekinsh_cmd_test_good (
        MAEKINSH_WORDS ("user", "create", "bob", "--admin", "--password-file", secret));
    env = maekinsh_cmd_request (cmd);
    assert (env->body_case == MAEKINSH_BODY (USER_CREATE) && streq (env->user_create->name, "bob"));
    assert (env->user_create->admin && streq (env->user_create->password, "s3cret-enough"));
    assert (maekinsh_cmd_test_is_uuid (env->request_id));
    maekinsh_cmd_destroy (&cmd);
    cmd = maekinsh_cmd_test_good (MAEKINSH_WORDS ("user", "passwd", "bob", "--password-file",
                                                  secret, "--old-password-file", old));
    env = maekinsh_cmd_request (cmd);
    assert (streq (env->user_passwd->password, "s3cret-enough"));
    assert (streq (env->user_passwd->old_password, "was-this"));
    maekinsh_cmd_destroy (&cmd);
    cmd = maekinsh_cmd_test_good (MAEKINSH_WORDS ("user", "enable", "bob"));
    env = maekinsh_cmd_request (cmd);
    assert (streq (env->user_disable->name, "bob") && env->user_disable->enable);
    maekinsh_cmd_destroy (&cmd);
    cmd = maekinsh_cmd_test_good (MAEKINSH_WORDS ("user", "disable", "bob"));
    assert (!maekinsh_cmd_request (cmd)->user_disable->enable);
    maekinsh_cmd_destroy (&cmd);
    cmd = maekinsh_cmd_test_good (MAEKINSH_WORDS ("user", "delete", "bob"));
    assert (streq (maekinsh_cmd_request (cmd)->user_delete->name, "bob"));
    maekinsh_cmd_destroy (&cmd);
    cmd = maekinsh_cmd_test_good (MAEKINSH_WORDS ("user", "list", "--limit", "5"));
    assert (maekinsh_cmd_request (cmd)->user_list->page->limit == 5);
    maekinsh_cmd_destroy (&cmd);

    //  Bad arguments: said, nothing built.
    struct {
        const char *words[8];
        const char *error;
    } bad[] = {
        {{"login", NULL}, "login: missing USER"},
        {{"login", "alice", "--password-file", "/nonexistent/pw", NULL},
         "cannot read the password file /nonexistent/pw"},
        {{"login", "alice", "--ttl", "5", "--password-file", secret, NULL}, "--ttl"},
        {{"whoami", "extra", NULL}, "unexpected argument 'extra'"},
        {{"user", "create", "Bad Name", "--password-file", secret, NULL}, "user"},
        {{"user", "passwd", "bob", "--password-file", secret, "--old-password-file",
          "/nonexistent/old", NULL},
         "cannot read the password file /nonexistent/old"},
        {{"user", "enable", NULL}, "missing NAME"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int argc = 0;
        while (bad[i].words[argc])
            argc++;
        char *error = NULL, *help = NULL;
        assert (!maekinsh_cmd_new (argc, (char **) bad[i].words, &error, &help) && !help);
        if (!error || !strstr (error, bad[i].error)) {
            fprintf (stderr, "maekinsh_user_test: %s: '%s', not '%s'\n", bad[i].words[0],
                     error ? error : "", bad[i].error);
            assert (false);
        }
        free (error);
    }
    free (secret);
    free (old);
    mk_testdir_remove (&dir);
}

/*  maekinsh_apikey: the rows of maekinsh_cmd's table for API keys (apikey create, list,
    revoke), their builders, and how people see a list of keys. A new key's secret is
    printed once, as the cloud shows it once. */
#include "maekinsh_cmd_def.h"

#include "mk_msg.h"

#include <inttypes.h>

static const maekinsh_cmd_opt_t s_create_opts[] = {
    {"--user", "U", false, "a key of user U (the administrator only; default: your own)"},
    {"--read-only", NULL, false, "the key may only read, whatever its user may do"},
    {"--days", "N", false, "the key ends after N days (1..3650; default: when revoked)"},
    {NULL, NULL, false, NULL}};
static const maekinsh_cmd_opt_t s_list_opts[] = {
    {"--user", "U", false,
     "user U's keys (the administrator only; default: your own, or "
     "the administrator's everyone's)"},
    {"--limit", "N", false, "at most N keys (1..1000), one page; default: all"},
    {NULL, NULL, false, NULL}};
static const maekinsh_cmd_opt_t s_revoke_opts[] = {
    {"--user", "U", false, "a key of user U (the administrator only; default: your own)"},
    {NULL, NULL, false, NULL}};

const maekinsh_out_table_t maekinsh_apikey_table = {
    &maekin__api_key__descriptor,
    {{"USER", "user", MAEKINSH_OUT_COL_TEXT},
     {"NAME", "name", MAEKINSH_OUT_COL_TEXT},
     {"READ-ONLY", "read_only", MAEKINSH_OUT_COL_TEXT},
     {"CREATED", "created", MAEKINSH_OUT_COL_TIME},
     {"EXPIRES", "expires", MAEKINSH_OUT_COL_TIME}}};

//  --user: a user's name, or NULL (one's own).
static char *
s_user (maekinsh_cmd_t *self, const maekinsh_cmd_args_t *args, char **user)
{
    const char *value = maekinsh_cmd_arg (self, args, "--user");
    char *why = value ? maekinsh_cmd_name ("user", value) : NULL;
    *user = why || !value ? "" : (char *) value;
    return why;
}

static char *
s_build_create (maekinsh_cmd_t *self, const maekinsh_cmd_args_t *args)
{
    Maekin__ApiKeyCreateRequest create = MAEKIN__API_KEY_CREATE_REQUEST__INIT;
    create.name = (char *) args->operand;
    create.read_only = maekinsh_cmd_arg (self, args, "--read-only") != NULL;
    char *why = s_user (self, args, &create.user);
    const char *days = maekinsh_cmd_arg (self, args, "--days");
    uint64_t number = 0;
    if (!why && days)
        why = maekinsh_cmd_number ("--days", days, 1, 3650, &number);
    if (why)
        return why;
    create.ttl_days = (uint32_t) number;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKINSH_BODY (APIKEY_CREATE);
    env.apikey_create = &create;
    maekinsh_cmd_finish (self, &env);
    return NULL;
}

//  Prints the new key: for people with a word that it is shown once.
static int
s_created (maekinsh_cmd_t *self)
{
    int status;
    Maekin__Envelope *reply =
        maekinsh_cmd_ask (self, (Maekin__Envelope *) maekinsh_cmd_request (self),
                          MAEKINSH_BODY (APIKEY_CREATE_REPLY), &status);
    if (!reply)
        return status;
    const Maekin__ApiKeyCreateReply *made = reply->apikey_create_reply;
    char expires[24];
    snprintf (expires, sizeof expires, "%" PRId64, made->api_key->expires);
    const char *keys[] = {"name", "user", "read_only", "expires", "key"};
    const char *values[] = {made->api_key->name, made->api_key->user,
                            made->api_key->read_only ? "true" : "false", expires, made->key};
    maekinsh_out_record (self->out, "api_key", keys, values, 5);
    if (maekinsh_out_format (self->out) == MAEKINSH_OUT_TABLE)
        maekinsh_out_line (self->out, "(the key is shown this once: keep it now; give it to a "
                                      "program as $MAEKIN_TOKEN)");
    mk_msg_free (&reply);
    return MAEKINSH_EXIT_OK;
}

static char *
s_build_list (maekinsh_cmd_t *self, const maekinsh_cmd_args_t *args)
{
    char *why = maekinsh_cmd_build_list (self, args);
    char *user;
    if (!why)
        why = s_user (self, args, &user);
    if (!why && *user) {
        //  The list request is built; name the user in it (a field of its own).
        Maekin__ApiKeyListRequest list = *maekinsh_cmd_request (self)->apikey_list;
        list.user = user;
        Maekin__Envelope env = *maekinsh_cmd_request (self);
        env.apikey_list = &list;
        maekinsh_cmd_finish (self, &env);
    }
    return why;
}

static char *
s_build_revoke (maekinsh_cmd_t *self, const maekinsh_cmd_args_t *args)
{
    Maekin__ApiKeyRevokeRequest revoke = MAEKIN__API_KEY_REVOKE_REQUEST__INIT;
    revoke.name = (char *) args->operand;
    char *why = s_user (self, args, &revoke.user);
    if (why)
        return why;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKINSH_BODY (APIKEY_REVOKE);
    env.apikey_revoke = &revoke;
    maekinsh_cmd_finish (self, &env);
    return NULL;
}

const maekinsh_cmd_def_t maekinsh_apikey_commands[] = {
    {.group = "apikey",
     .verb = "create",
     .operand = "NAME",
     .subject = "key",
     .summary = "make an API key for a program (shown once)",
     .opts = s_create_opts,
     .build = s_build_create,
     .run = MAEKINSH_CMD_FOLLOW,
     .request = MAEKINSH_BODY (APIKEY_CREATE),
     .reply = MAEKINSH_BODY (APIKEY_CREATE_REPLY),
     .follow = s_created},
    {.group = "apikey",
     .verb = "list",
     .summary = "list API keys (never their secrets)",
     .opts = s_list_opts,
     .build = s_build_list,
     .run = MAEKINSH_CMD_LIST,
     .request = MAEKINSH_BODY (APIKEY_LIST),
     .reply = MAEKINSH_BODY (APIKEY_LIST_REPLY),
     .table = &maekinsh_apikey_table},
    {.group = "apikey",
     .verb = "revoke",
     .operand = "NAME",
     .subject = "key",
     .summary = "revoke an API key: refused from now on",
     .opts = s_revoke_opts,
     .build = s_build_revoke,
     .request = MAEKINSH_BODY (APIKEY_REVOKE),
     .reply = MAEKINSH_BODY (APIKEY_REVOKE_REPLY),
     .mutating = true},
    {.group = NULL}};

void
maekinsh_apikey_test (bool verbose)
{
    (void) verbose;
    maekinsh_cmd_t *cmd = maekinsh_cmd_test_good (MAEKINSH_WORDS (
        "apikey", "create", "scraper", "--user", "prom", "--read-only", "--days", "90"));
    const Maekin__Envelope *env = maekinsh_cmd_request (cmd);
    assert (env->body_case == MAEKINSH_BODY (APIKEY_CREATE));
    assert (streq (env->apikey_create->name, "scraper")
            && streq (env->apikey_create->user, "prom"));
    assert (env->apikey_create->read_only && env->apikey_create->ttl_days == 90);
    assert (!*env->request_id); //  its answer holds the secret: not kept by id
    maekinsh_cmd_destroy (&cmd);
    cmd = maekinsh_cmd_test_good (
        MAEKINSH_WORDS ("apikey", "list", "--user", "prom", "--limit", "3"));
    env = maekinsh_cmd_request (cmd);
    assert (streq (env->apikey_list->user, "prom") && env->apikey_list->page->limit == 3);
    maekinsh_cmd_destroy (&cmd);
    cmd = maekinsh_cmd_test_good (MAEKINSH_WORDS ("apikey", "list"));
    env = maekinsh_cmd_request (cmd);
    assert (!*env->apikey_list->user && cmd->every_page);
    maekinsh_cmd_destroy (&cmd);
    cmd = maekinsh_cmd_test_good (MAEKINSH_WORDS ("apikey", "revoke", "ci"));
    env = maekinsh_cmd_request (cmd);
    assert (streq (env->apikey_revoke->name, "ci") && !*env->apikey_revoke->user);
    assert (maekinsh_cmd_test_is_uuid (env->request_id));
    maekinsh_cmd_destroy (&cmd);
    const char *bad[][6] = {{"apikey", "create", "ci", "--days", "0", NULL},
                            {"apikey", "create", "ci", "--user", "Bad User", NULL},
                            {"apikey", "create", NULL},
                            {"apikey", "list", "--user", "x y", NULL}};
    const char *errors[] = {"--days", "user", "missing NAME", "user"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int argc = 0;
        while (bad[i][argc])
            argc++;
        char *error = NULL, *help = NULL;
        assert (!maekinsh_cmd_new (argc, (char **) bad[i], &error, &help) && !help);
        assert (error && strstr (error, errors[i]));
        free (error);
    }
}

/*  maekinsh_key: the rows of maekinsh_cmd's table for the bus's allow-list (key admit,
    list, revoke, rotate: the administrator's), their builders, and how people see a list
    of keys. A key is given as a NAME.key file (as 'maekinsh admin keygen' writes it) or
    its 40 characters, read here: only the public key travels. */
#include "maekinsh_cmd_def.h"

#include "mk_buskey.h"
#include "mk_curve.h"
#include "mk_limits.h"
#include "mk_msg.h"
#include "mk_testdir.h"

static const maekinsh_cmd_opt_t s_admit_opts[] = {
    {"--role", "ROLE", true, "node (an agent's or a monitor's: give --hosts) or client"},
    {"--hosts", "H1,H2", false, "a node key's hosts, comma-separated"},
    {NULL, NULL, false, NULL}};
static const maekinsh_cmd_opt_t s_rotate_opts[] = {
    {"--grace", "SECONDS", false,
     "the old key works this long more (1..604800; default 300), then stops"},
    {NULL, NULL, false, NULL}};

const maekinsh_out_table_t maekinsh_key_table = {
    &maekin__bus_key__descriptor,
    {{"NAME", "name", MAEKINSH_OUT_COL_TEXT},
     {"ROLE", "role", MAEKINSH_OUT_COL_TEXT},
     {"HOSTS", "hosts", MAEKINSH_OUT_COL_TEXT},
     {"KEY", "key", MAEKINSH_OUT_COL_TEXT},
     {"EXPIRES", "expires", MAEKINSH_OUT_COL_TIME_MS},
     {"CREATED", "created", MAEKINSH_OUT_COL_TIME_MS}}};

//  A public key from a file or its 40 characters, into key (41 bytes).
static char *
s_public (const char *what, const char *text, char *key)
{
    char *error = NULL;
    if (mk_curve_public (text, key, &error) == 0)
        return NULL;
    char *why = zsys_sprintf ("%s: %s", what, error);
    free (error);
    return why;
}

static char *
s_build_admit (maekinsh_cmd_t *self, const maekinsh_cmd_args_t *args)
{
    char key[MK_CURVE_KEY_TEXT + 1];
    const char *roles[] = {"node", "client", NULL};
    const char *role = maekinsh_cmd_arg (self, args, "--role");
    const char *hosts = maekinsh_cmd_arg (self, args, "--hosts");
    char *why = maekinsh_cmd_one_of ("--role", role, roles);
    if (!why && streq (role, "node") && !hosts)
        why = maekinsh_cmd_usage_error (self->def, "a node key needs its --hosts");
    if (!why && streq (role, "client") && hosts)
        why = maekinsh_cmd_usage_error (self->def, "a client key has no --hosts");
    if (!why)
        why = s_public ("KEY", args->operand2, key);
    if (why)
        return why;
    char *copy = strdup (hosts ? hosts : "");
    char *list[MK_BUS_KEY_HOSTS_MAX];
    size_t count = 0;
    for (char *host = hosts ? copy : NULL, *next; host && !why; host = next) {
        next = strchr (host, ',');
        if (next)
            *next++ = 0;
        if (count == MK_BUS_KEY_HOSTS_MAX)
            why = zsys_sprintf ("--hosts names at most %d hosts", MK_BUS_KEY_HOSTS_MAX);
        else
            why = maekinsh_cmd_name ("host", list[count++] = host);
    }
    if (!why) {
        Maekin__BusKey bus_key = MAEKIN__BUS_KEY__INIT;
        bus_key.name = (char *) args->operand;
        bus_key.key = key;
        bus_key.role = mk_buskey_role_parse (role);
        bus_key.hosts = list;
        bus_key.n_hosts = count;
        Maekin__BusKeyAdmitRequest admit = MAEKIN__BUS_KEY_ADMIT_REQUEST__INIT;
        admit.key = &bus_key;
        Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
        env.body_case = MAEKINSH_BODY (BUS_KEY_ADMIT);
        env.bus_key_admit = &admit;
        maekinsh_cmd_finish (self, &env);
    }
    free (copy);
    return why;
}

static char *
s_build_list (maekinsh_cmd_t *self, const maekinsh_cmd_args_t *args)
{
    Maekin__BusKeyListRequest list = MAEKIN__BUS_KEY_LIST_REQUEST__INIT;
    list.name = (char *) (args->operand ? args->operand : "");
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKINSH_BODY (BUS_KEY_LIST);
    env.bus_key_list = &list;
    maekinsh_cmd_finish (self, &env);
    return NULL;
}

static char *
s_build_revoke (maekinsh_cmd_t *self, const maekinsh_cmd_args_t *args)
{
    Maekin__BusKeyRevokeRequest revoke = MAEKIN__BUS_KEY_REVOKE_REQUEST__INIT;
    revoke.name = (char *) args->operand;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKINSH_BODY (BUS_KEY_REVOKE);
    env.bus_key_revoke = &revoke;
    maekinsh_cmd_finish (self, &env);
    return NULL;
}

//  Says what stopped working: for people a line, for programs the keys as they were.
static int
s_revoked (maekinsh_cmd_t *self)
{
    int status;
    Maekin__Envelope *reply =
        maekinsh_cmd_ask (self, (Maekin__Envelope *) maekinsh_cmd_request (self),
                          MAEKINSH_BODY (BUS_KEY_LIST_REPLY), &status);
    if (!reply)
        return status;
    if (maekinsh_out_format (self->out) == MAEKINSH_OUT_TABLE) {
        size_t count = reply->bus_key_list_reply->n_keys;
        char *line = zsys_sprintf ("revoked: key %s (%zu key%s, cut off at once)", self->subject,
                                   count, count == 1 ? "" : "s");
        maekinsh_out_line (self->out, line);
        free (line);
        mk_msg_free (&reply);
    } else
        maekinsh_out_add (self->out, &reply);
    return MAEKINSH_EXIT_OK;
}

static char *
s_build_rotate (maekinsh_cmd_t *self, const maekinsh_cmd_args_t *args)
{
    char key[MK_CURVE_KEY_TEXT + 1];
    const char *grace = maekinsh_cmd_arg (self, args, "--grace");
    uint64_t seconds = 0;
    char *why = grace ? maekinsh_cmd_number ("--grace", grace, 1, 604800, &seconds) : NULL;
    if (!why)
        why = s_public ("NEWKEY", args->operand2, key);
    if (why)
        return why;
    Maekin__BusKeyRotateRequest rotate = MAEKIN__BUS_KEY_ROTATE_REQUEST__INIT;
    rotate.name = (char *) args->operand;
    rotate.key = key;
    rotate.grace_s = (uint32_t) seconds;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKINSH_BODY (BUS_KEY_ROTATE);
    env.bus_key_rotate = &rotate;
    maekinsh_cmd_finish (self, &env);
    return NULL;
}

const maekinsh_cmd_def_t maekinsh_key_commands[] = {
    {.group = "key",
     .verb = "admit",
     .operand = "NAME",
     .operand2 = "KEY",
     .subject = "key",
     .name_check = mk_buskey_name_check,
     .summary = "let a program's key (a NAME.key file, or its 40 characters) onto the bus",
     .opts = s_admit_opts,
     .build = s_build_admit,
     .request = MAEKINSH_BODY (BUS_KEY_ADMIT),
     .reply = MAEKINSH_BODY (BUS_KEY_LIST_REPLY),
     .mutating = true,
     .table = &maekinsh_key_table},
    {.group = "key",
     .verb = "list",
     .operand = "NAME",
     .optional = true,
     .subject = "key",
     .name_check = mk_buskey_name_check,
     .summary = "list the keys the bus lets in (of one name)",
     .opts = maekinsh_cmd_no_opts,
     .build = s_build_list,
     .request = MAEKINSH_BODY (BUS_KEY_LIST),
     .reply = MAEKINSH_BODY (BUS_KEY_LIST_REPLY),
     .table = &maekinsh_key_table},
    {.group = "key",
     .verb = "revoke",
     .operand = "NAME",
     .subject = "key",
     .name_check = mk_buskey_name_check,
     .summary = "cut every key of a name off the bus at once",
     .opts = maekinsh_cmd_no_opts,
     .build = s_build_revoke,
     .run = MAEKINSH_CMD_FOLLOW,
     .request = MAEKINSH_BODY (BUS_KEY_REVOKE),
     .reply = MAEKINSH_BODY (BUS_KEY_LIST_REPLY),
     .mutating = true,
     .follow = s_revoked},
    {.group = "key",
     .verb = "rotate",
     .operand = "NAME",
     .operand2 = "NEWKEY",
     .subject = "key",
     .name_check = mk_buskey_name_check,
     .summary = "give a name a new key; the old one works a grace period more",
     .opts = s_rotate_opts,
     .build = s_build_rotate,
     .request = MAEKINSH_BODY (BUS_KEY_ROTATE),
     .reply = MAEKINSH_BODY (BUS_KEY_LIST_REPLY),
     .mutating = true,
     .table = &maekinsh_key_table},
    {.group = NULL}};

//  ---------------------------------------------------------------- self-test

static void
s_test_bad (const char **words, const char *expect)
{
    int argc = 0;
    while (words[argc])
        argc++;
    char *error = NULL, *help = NULL;
    assert (!maekinsh_cmd_new (argc, (char **) words, &error, &help) && !help);
    if (!error || !strstr (error, expect))
        fprintf (stderr, "maekinsh_key_test: '%s' not in '%s'\n", expect, error ? error : "");
    assert (error && strstr (error, expect));
    free (error);
}

void
maekinsh_key_test (bool verbose)
{
    (void) verbose;
    //  A key's text may begin with '-' (Z85 has it: one in 85): then it goes after --, as
    //  tested below; the other cases here take one that does not.
    zcert_t *cert = zcert_new ();
    while (zcert_public_txt (cert)[0] == '-') {
        zcert_destroy (&cert);
        cert = zcert_new ();
    }
    const char *text = zcert_public_txt (cert);
    //  A key as its text, or from a NAME.key file.
    char *dir = mk_testdir_new ("maekinsh_key_test");
    char *error = NULL;
    assert (mk_curve_keygen (dir, "agent-1", &error) == 0);
    char *path = zsys_sprintf ("%s/agent-1.key", dir);
    char from_file[MK_CURVE_KEY_TEXT + 1];
    assert (mk_curve_public (path, from_file, &error) == 0);
    maekinsh_cmd_t *cmd = maekinsh_cmd_test_good (MAEKINSH_WORDS (
        "key", "admit", "Agent-1", path, "--role", "node", "--hosts", "node1,node2"));
    const Maekin__Envelope *env = maekinsh_cmd_request (cmd);
    assert (env->body_case == MAEKINSH_BODY (BUS_KEY_ADMIT));
    const Maekin__BusKey *key = env->bus_key_admit->key;
    assert (streq (key->name, "Agent-1") && streq (key->key, from_file)
            && key->role == MAEKIN__BUS_ROLE__BUS_ROLE_NODE && key->n_hosts == 2
            && streq (key->hosts[1], "node2"));
    assert (maekinsh_cmd_test_is_uuid (env->request_id));
    maekinsh_cmd_destroy (&cmd);
    cmd = maekinsh_cmd_test_good (
        MAEKINSH_WORDS ("key", "admit", "maekinsh", text, "--role", "client"));
    key = maekinsh_cmd_request (cmd)->bus_key_admit->key;
    assert (streq (key->key, text) && key->role == MAEKIN__BUS_ROLE__BUS_ROLE_CLIENT
            && key->n_hosts == 0);
    maekinsh_cmd_destroy (&cmd);
    //  The list, whole or of one name.
    cmd = maekinsh_cmd_test_good (MAEKINSH_WORDS ("key", "list"));
    env = maekinsh_cmd_request (cmd);
    assert (env->body_case == MAEKINSH_BODY (BUS_KEY_LIST) && !*env->bus_key_list->name
            && !*env->request_id);
    maekinsh_cmd_destroy (&cmd);
    cmd = maekinsh_cmd_test_good (MAEKINSH_WORDS ("key", "list", "CI.runner"));
    assert (streq (maekinsh_cmd_request (cmd)->bus_key_list->name, "CI.runner"));
    maekinsh_cmd_destroy (&cmd);
    cmd = maekinsh_cmd_test_good (MAEKINSH_WORDS ("key", "revoke", "agent-1"));
    env = maekinsh_cmd_request (cmd);
    assert (streq (env->bus_key_revoke->name, "agent-1") && *env->request_id);
    maekinsh_cmd_destroy (&cmd);
    cmd = maekinsh_cmd_test_good (
        MAEKINSH_WORDS ("key", "rotate", "agent-1", text, "--grace", "3600"));
    env = maekinsh_cmd_request (cmd);
    assert (streq (env->bus_key_rotate->name, "agent-1") && streq (env->bus_key_rotate->key, text)
            && env->bus_key_rotate->grace_s == 3600);
    maekinsh_cmd_destroy (&cmd);
    cmd = maekinsh_cmd_test_good (MAEKINSH_WORDS ("key", "rotate", "agent-1", path));
    assert (maekinsh_cmd_request (cmd)->bus_key_rotate->grace_s == 0);
    maekinsh_cmd_destroy (&cmd);

    //  Bad usage: one line saying what, nothing sent.
    s_test_bad (MAEKINSH_WORDS ("key", "admit", "ci", "--role", "client"), "missing KEY");
    char dashed[MK_CURVE_KEY_TEXT + 1];
    snprintf (dashed, sizeof dashed, "-%s", text + 1);
    s_test_bad (MAEKINSH_WORDS ("key", "admit", "ci", dashed, "--role", "client"),
                "begins with '-' goes after --");
    cmd = maekinsh_cmd_test_good (
        MAEKINSH_WORDS ("key", "admit", "--role", "client", "--", "ci", dashed));
    assert (streq (maekinsh_cmd_request (cmd)->bus_key_admit->key->key, dashed));
    maekinsh_cmd_destroy (&cmd);
    s_test_bad (MAEKINSH_WORDS ("key", "admit", "ci", text), "missing --role ROLE");
    s_test_bad (MAEKINSH_WORDS ("key", "admit", "ci", text, "--role", "controller"),
                "--role must be one of node, client");
    s_test_bad (MAEKINSH_WORDS ("key", "admit", "ci", text, "--role", "node"),
                "a node key needs its --hosts");
    s_test_bad (MAEKINSH_WORDS ("key", "admit", "ci", text, "--role", "client", "--hosts", "n1"),
                "a client key has no --hosts");
    s_test_bad (MAEKINSH_WORDS ("key", "admit", "ci", text, "--role", "node", "--hosts", "n1,Bad"),
                "'Bad' is not a valid host name");
    s_test_bad (MAEKINSH_WORDS ("key", "admit", "ci", text, "--role", "node", "--hosts", "n1,"),
                "not a valid host name");
    s_test_bad (MAEKINSH_WORDS ("key", "admit", "ci", "not-a-key", "--role", "client"),
                "KEY: 'not-a-key' is neither a public key");
    s_test_bad (MAEKINSH_WORDS ("key", "admit", "a b", text, "--role", "client"),
                "'a b' is not a valid key name");
    s_test_bad (MAEKINSH_WORDS ("key", "admit", "ci", text, "extra", "--role", "client"),
                "unexpected argument 'extra'");
    s_test_bad (MAEKINSH_WORDS ("key", "list", "a", "b"), "unexpected argument 'b'");
    s_test_bad (MAEKINSH_WORDS ("key", "list", "a/b"), "not a valid key name");
    s_test_bad (MAEKINSH_WORDS ("key", "revoke"), "missing NAME");
    s_test_bad (MAEKINSH_WORDS ("key", "rotate", "ci"), "missing NEWKEY");
    s_test_bad (MAEKINSH_WORDS ("key", "rotate", "ci", text, "--grace", "0"),
                "--grace must be a whole number from 1 to 604800");
    s_test_bad (MAEKINSH_WORDS ("key", "rotate", "ci", text, "--grace", "604801"), "--grace");
    s_test_bad (MAEKINSH_WORDS ("key", "rotate", "ci", "/nonexistent.key"), "NEWKEY: ");
    s_test_bad (MAEKINSH_WORDS ("key", "frob"), "key has admit, list, revoke, rotate");

    //  The help says how each is given.
    char *help = NULL;
    assert (
        !maekinsh_cmd_new (3, (char **) MAEKINSH_WORDS ("key", "admit", "--help"), &error, &help));
    assert (help
            && strstr (help, "usage: maekinsh key admit NAME KEY --role ROLE [--hosts H1,H2]"));
    free (help);
    assert (
        !maekinsh_cmd_new (3, (char **) MAEKINSH_WORDS ("key", "list", "--help"), &error, &help));
    assert (help && strstr (help, "usage: maekinsh key list [NAME]"));
    free (help);
    zcert_destroy (&cert);
    free (path);
    mk_testdir_remove (&dir);
}

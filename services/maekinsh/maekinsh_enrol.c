/*  maekinsh_enrol: the row of maekinsh_cmd's table for a new node's enrolment: `enrol
    TOKEN`, run once on the node with the key pair it has just made, sends the join token
    the administrator gave (maekinsh host token NAME) and this maekinsh's own public key to
    the service `enrol`, the one a key the broker does not know may reach. It needs no
    login: the token and the key decide. With --multicast-key FILE, the cloud's multicast
    key the reply gives (for the node's monitor) is written there, mode 0600. */
#include "maekinsh_cmd_def.h"

#include "mk_curve.h"
#include "mk_msg.h"
#include "mk_sock.h"

//  A token longer than this is none the cloud gives.
#define TOKEN_MAX 128

static const maekinsh_cmd_opt_t s_enrol_opts[] = {
    {"--multicast-key", "FILE", false,
     "write the cloud's multicast key, which the monitor signs with, to FILE (0600)"},
    {NULL, NULL, false, NULL}};

static char *
s_build_enrol (maekinsh_cmd_t *self, const maekinsh_cmd_args_t *args)
{
    const char *token = args->operand;
    size_t length = strnlen (token, TOKEN_MAX + 1);
    bool printable = length > 0 && length <= TOKEN_MAX;
    for (const char *c = token; printable && *c; c++)
        printable = *c > ' ' && *c <= '~';
    if (!printable)
        return maekinsh_cmd_usage_error (self->def,
                                         "TOKEN is the join token the administrator gave "
                                         "('maekinsh host token NAME'), not '%.*s'",
                                         (int) (length > 64 ? 64 : length), token);
    self->secret_file = maekinsh_cmd_arg (self, args, "--multicast-key");
    if (self->secret_file && !maekinsh_out_plain (self->secret_file))
        return maekinsh_cmd_usage_error (self->def, "--multicast-key needs a FILE's path, not "
                                                    "control characters");
    //  The key is this maekinsh's own, known once its settings are read: put in at run.
    Maekin__EnrolRequest enrol = MAEKIN__ENROL_REQUEST__INIT;
    enrol.token = (char *) token;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKINSH_BODY (ENROL);
    env.enrol = &enrol;
    maekinsh_cmd_finish (self, &env);
    return NULL;
}

//  Sends the token with this key pair's public key, without a credential; says which
//  host the key now serves.
static int
s_enrol (maekinsh_cmd_t *self)
{
    zcert_t *cert = mk_sock_cert ();
    if (!cert) {
        maekinsh_out_error (self->out, MK_BAD_REQUEST,
                            "enrol needs a key pair: --bus-key=NODE.key_secret (made by "
                            "'maekinsh admin keygen DIR NODE'), and --bus-broker_key");
        return MAEKINSH_EXIT_USAGE;
    }
    Maekin__Envelope env = *maekinsh_cmd_request (self);
    Maekin__EnrolRequest enrol = *env.enrol;
    enrol.key = (char *) zcert_public_txt (cert);
    env.enrol = &enrol;
    mk_client_set_token (self->client, NULL);
    int status;
    Maekin__Envelope *reply = maekinsh_cmd_ask (self, &env, MAEKINSH_BODY (ENROL_REPLY), &status);
    if (!reply)
        return status;
    const Maekin__EnrolReply *enrolled = reply->enrol_reply;
    //  The key, if asked for: the enrolment is done, so a key not written is said, not
    //  taken back (the token is spent).
    const char *file = self->secret_file, *written = "";
    char *said = NULL, *error = NULL;
    if (file && enrolled->multicast_key.len != MK_CURVE_SECRET)
        said = zsys_sprintf ("the cloud gave no multicast key (its controller has no "
                             "enrol/multicast_key): %s not written",
                             file);
    else if (file && mk_curve_secret_save (file, enrolled->multicast_key.data, &error) == 0) {
        written = file;
        said = zsys_sprintf ("the cloud's multicast key is in %s", file);
    }
    if (maekinsh_out_format (self->out) == MAEKINSH_OUT_TABLE) {
        char *line = zsys_sprintf ("enrolled: host %s, key '%s'", enrolled->host, enrolled->name);
        maekinsh_out_line (self->out, line);
        free (line);
        if (said)
            maekinsh_out_line (self->out, said);
    } else {
        const char *keys[] = {"host", "name", "key", "multicast_key"};
        const char *values[] = {enrolled->host, enrolled->name, enrol.key, written};
        maekinsh_out_record (self->out, "enrolment", keys, values, file ? 4 : 3);
    }
    if (error)
        maekinsh_out_error (self->out, MK_INTERNAL,
                            "enrolled, but the cloud's multicast key could not be kept: %s", error);
    status = error ? MAEKINSH_EXIT_ERROR : MAEKINSH_EXIT_OK;
    free (said);
    free (error);
    mk_msg_free (&reply);
    return status;
}

const maekinsh_cmd_def_t maekinsh_enrol_commands[] = {
    {.group = "enrol",
     .verb = "",
     .operand = "TOKEN",
     .subject = "join token",
     .summary = "on a new node, with its own key pair (--bus-key): be admitted as the host of "
                "a join token",
     .opts = s_enrol_opts,
     .build = s_build_enrol,
     .run = MAEKINSH_CMD_FOLLOW,
     .request = MAEKINSH_BODY (ENROL),
     .reply = MAEKINSH_BODY (ENROL_REPLY),
     .follow = s_enrol,
     .service = "enrol"},
    {.group = NULL}};

//  ---------------------------------------------------------------- self-test

void
maekinsh_enrol_test (bool verbose)
{
    (void) verbose;
    const char *token = "mkj_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG";
    maekinsh_cmd_t *cmd = maekinsh_cmd_test_good (MAEKINSH_WORDS ("enrol", token));
    const Maekin__Envelope *env = maekinsh_cmd_request (cmd);
    assert (env->body_case == MAEKINSH_BODY (ENROL) && streq (env->enrol->token, token)
            && !*env->enrol->key && !*env->request_id && !env->credential);
    assert (streq (cmd->def->service, "enrol") && !cmd->secret_file);
    maekinsh_cmd_destroy (&cmd);
    cmd = maekinsh_cmd_test_good (
        MAEKINSH_WORDS ("enrol", token, "--multicast-key", "/etc/maekin/keys/multicast.key"));
    assert (streq (cmd->secret_file, "/etc/maekin/keys/multicast.key"));
    maekinsh_cmd_destroy (&cmd);
    //  Every other command goes to `cloud`.
    cmd = maekinsh_cmd_test_good (MAEKINSH_WORDS ("host", "token", "node7"));
    assert (!cmd->def->service);
    maekinsh_cmd_destroy (&cmd);
    char long_token[TOKEN_MAX + 2];
    memset (long_token, 'x', sizeof long_token - 1);
    long_token[sizeof long_token - 1] = 0;
    const struct {
        const char **words;
        const char *error;
    } bad[] = {
        {MAEKINSH_WORDS ("enrol"), "missing TOKEN"},
        {MAEKINSH_WORDS ("enrol", "a token"), "TOKEN is the join token the administrator gave"},
        {MAEKINSH_WORDS ("enrol", long_token), "TOKEN is the join token"},
        {MAEKINSH_WORDS ("enrol", token, "more"), "unexpected argument 'more'"},
        {MAEKINSH_WORDS ("enrol", token, "--key", "x"), "unknown option '--key'"},
        {MAEKINSH_WORDS ("enrol", token, "--multicast-key"), "--multicast-key needs"},
        {MAEKINSH_WORDS ("enrol", token, "--multicast-key", ""), "needs a value (FILE)"},
        {MAEKINSH_WORDS ("enrol", token, "--multicast-key", "a\nb"), "not control characters"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int argc = 0;
        while (bad[i].words[argc])
            argc++;
        char *error = NULL, *help = NULL;
        assert (!maekinsh_cmd_new (argc, (char **) bad[i].words, &error, &help) && !help);
        if (!error || !strstr (error, bad[i].error))
            fprintf (stderr, "maekinsh_enrol_test: '%s' not in '%s'\n", bad[i].error,
                     error ? error : "");
        assert (error && strstr (error, bad[i].error));
        free (error);
    }
    char *error = NULL, *help = NULL;
    assert (!maekinsh_cmd_new (2, (char **) MAEKINSH_WORDS ("enrol", "--help"), &error, &help));
    assert (help && strstr (help, "usage: maekinsh enrol TOKEN"));
    free (help);
}

/*  maekinsh_host: the rows of maekinsh_cmd's table for hosts, and how people see lists
    of hosts and of the domains libvirt has on one; and a host's join token (shown once),
    which a new node gives at the bus's enrolment door (maekinsh_enrol). */
#include "maekinsh_cmd_def.h"

#include "mk_msg.h"

#include <inttypes.h>
#include <sodium.h>
#include <time.h>

//  A host is up, down, or unknown after a controller restart until its agent reports.
static const char *const *
s_host_states (void)
{
    static const char *const states[] = {"up", "down", "unknown", NULL};
    return states;
}

static const maekinsh_cmd_opt_t s_host_list_opts[] = {
    {"--state", "S", false, "only hosts in this state: up or down"},
    {"--name-prefix", "P", false, "only hosts whose name starts with P"},
    {"--limit", "N", false, "at most N hosts (1..1000), one page; default: all"},
    {NULL, NULL, false, NULL}};

const maekinsh_out_table_t maekinsh_host_table = {&maekin__host__descriptor,
                                                  {{"NAME", "name", MAEKINSH_OUT_COL_TEXT},
                                                   {"STATE", "state", MAEKINSH_OUT_COL_TEXT},
                                                   {"VCPUS", "vcpus", MAEKINSH_OUT_COL_TEXT},
                                                   {"USED", "vcpus_used", MAEKINSH_OUT_COL_TEXT},
                                                   {"MEMORY", "memory_mb", MAEKINSH_OUT_COL_MB},
                                                   {"USED", "memory_mb_used", MAEKINSH_OUT_COL_MB},
                                                   {"VMS", "vm_count", MAEKINSH_OUT_COL_TEXT}}};

const maekinsh_out_table_t maekinsh_domain_table = {&maekin__domain__descriptor,
                                                    {{"NAME", "name", MAEKINSH_OUT_COL_TEXT},
                                                     {"STATE", "state", MAEKINSH_OUT_COL_TEXT},
                                                     {"UUID", "uuid", MAEKINSH_OUT_COL_TEXT}}};

static const maekinsh_cmd_opt_t s_host_info_opts[] = {
    {"--local", NULL, false, "ask this node's monitor only, not the cloud"},
    {"--monitor", "URL", false, "this node's monitor (default ipc://@maekin-monitor)"},
    {NULL, NULL, false, NULL}};

//  What the hosts were measured at, and how the answer knows it.
static const maekinsh_out_table_t s_host_info_table = {
    &maekin__host__descriptor,
    {{"NAME", "name", MAEKINSH_OUT_COL_TEXT},
     {"STATE", "state", MAEKINSH_OUT_COL_TEXT},
     {"CPU%", "cpu_busy_pct", MAEKINSH_OUT_COL_TEXT},
     {"LOAD*100", "load1_x100", MAEKINSH_OUT_COL_TEXT},
     {"MEMORY", "memory_mb", MAEKINSH_OUT_COL_MB},
     {"IN USE", "memory_used_mb", MAEKINSH_OUT_COL_MB},
     {"HEARD", "heard_via", MAEKINSH_OUT_COL_TEXT},
     {"LAST SEEN", "last_seen", MAEKINSH_OUT_COL_TIME}}};

static const maekinsh_cmd_opt_t s_host_token_opts[] = {
    {"--ttl", "SECONDS", false, "the token is good this long (1..604800; default 3600)"},
    {NULL, NULL, false, NULL}};

static char *
s_build_token (maekinsh_cmd_t *self, const maekinsh_cmd_args_t *args)
{
    const char *ttl = maekinsh_cmd_arg (self, args, "--ttl");
    uint64_t seconds = 0;
    char *why = ttl ? maekinsh_cmd_number ("--ttl", ttl, 1, 604800, &seconds) : NULL;
    if (why)
        return why;
    Maekin__JoinTokenRequest ask = MAEKIN__JOIN_TOKEN_REQUEST__INIT;
    ask.host = (char *) args->operand;
    ask.ttl_s = (uint32_t) seconds;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKINSH_BODY (JOIN_TOKEN);
    env.join_token = &ask;
    maekinsh_cmd_finish (self, &env);
    return NULL;
}

//  Prints a new token and what came with it (keys[0] is "token"): for people with when it
//  ends, that it is shown once, and how a new node uses it; then forgets the token.
static void
s_print_token (maekinsh_cmd_t *self, const char *record, const char **keys, const char **values,
               size_t count, int64_t expires_at, char *token)
{
    bool people = maekinsh_out_format (self->out) == MAEKINSH_OUT_TABLE;
    char expires[32];
    if (people) {
        time_t when = (time_t) expires_at;
        struct tm local;
        strftime (expires, sizeof expires, "%Y-%m-%d %H:%M:%S", localtime_r (&when, &local));
    } else
        snprintf (expires, sizeof expires, "%" PRId64, expires_at);
    values[count - 1] = expires; //  the last is when it ends
    maekinsh_out_record (self->out, record, keys, values, count);
    if (people)
        maekinsh_out_line (self->out, "(the token is shown this once, and works once: on the new "
                                      "node, 'maekinsh --bus-key=NODE.key_secret enrol TOKEN')");
    sodium_memzero (token, strlen (token));
}

static int
s_token (maekinsh_cmd_t *self)
{
    int status;
    Maekin__Envelope *reply =
        maekinsh_cmd_ask (self, (Maekin__Envelope *) maekinsh_cmd_request (self),
                          MAEKINSH_BODY (JOIN_TOKEN_REPLY), &status);
    if (!reply)
        return status;
    const Maekin__JoinTokenReply *made = reply->join_token_reply;
    const char *keys[] = {"token", "host", "expires"};
    const char *values[] = {made->token, made->host, NULL};
    s_print_token (self, "join_token", keys, values, 3, made->expires, made->token);
    mk_msg_free (&reply);
    return MAEKINSH_EXIT_OK;
}

static const maekinsh_cmd_opt_t s_host_add_opts[] = {
    {"--mac", "MAC", true, "its network card's MAC, as 52:54:00:12:34:56"},
    {"--pool", "POOL", true, "the IP pool of its network: its address comes from it"},
    {"--ip", "IP", false, "the address it is given (default: the pool's lowest free)"},
    {"--ttl", "SECONDS", false, "the join token is good this long (1..604800; default 3600)"},
    {NULL, NULL, false, NULL}};

static char *
s_build_add (maekinsh_cmd_t *self, const maekinsh_cmd_args_t *args)
{
    const char *ttl = maekinsh_cmd_arg (self, args, "--ttl");
    uint64_t seconds = 0;
    char *why = ttl ? maekinsh_cmd_number ("--ttl", ttl, 1, 604800, &seconds) : NULL;
    if (why)
        return why;
    Maekin__HostAddRequest add = MAEKIN__HOST_ADD_REQUEST__INIT;
    add.name = (char *) args->operand;
    add.mac = (char *) maekinsh_cmd_arg (self, args, "--mac");
    add.pool = (char *) maekinsh_cmd_arg (self, args, "--pool");
    const char *ip = maekinsh_cmd_arg (self, args, "--ip");
    add.ip = (char *) (ip ? ip : "");
    add.ttl_s = (uint32_t) seconds;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKINSH_BODY (HOST_ADD);
    env.host_add = &add;
    maekinsh_cmd_finish (self, &env);
    return NULL;
}

//  Prints the host added: its binding and its token, shown once.
static int
s_add (maekinsh_cmd_t *self)
{
    int status;
    Maekin__Envelope *reply =
        maekinsh_cmd_ask (self, (Maekin__Envelope *) maekinsh_cmd_request (self),
                          MAEKINSH_BODY (HOST_ADD_REPLY), &status);
    if (!reply)
        return status;
    const Maekin__HostAddReply *made = reply->host_add_reply;
    const char *keys[] = {"token", "host", "mac", "ip", "pool", "expires"};
    const char *values[] = {made->token, made->name, made->mac, made->ip, made->pool, NULL};
    s_print_token (self, "host_add", keys, values, 6, made->expires, made->token);
    mk_msg_free (&reply);
    return MAEKINSH_EXIT_OK;
}

static char *
s_build_info (maekinsh_cmd_t *self, const maekinsh_cmd_args_t *args)
{
    self->local = maekinsh_cmd_arg (self, args, "--local") != NULL;
    self->monitor = maekinsh_cmd_arg (self, args, "--monitor");
    if (!self->monitor)
        self->monitor = "ipc://@maekin-monitor";
    else if (!strstr (self->monitor, "://"))
        return maekinsh_cmd_usage_error (self->def,
                                         "--monitor takes an endpoint such as "
                                         "ipc://@maekin-monitor, not '%s'",
                                         self->monitor);
    return maekinsh_cmd_build_list (self, args);
}

//  The hosts as this node's monitor hears them (the paper's host information service).
static int
s_ask_monitor (maekinsh_cmd_t *self)
{
    zsock_t *req = zsock_new (ZMQ_REQ);
    assert (req);
    zsock_set_linger (req, 0);
    zsock_set_sndtimeo (req, self->timeout_ms);
    zsock_set_rcvtimeo (req, self->timeout_ms);
    zframe_t *question = mk_msg_pack (self->request);
    zframe_t *answer = NULL;
    if (zsock_connect (req, "%s", self->monitor) == 0 && zframe_send (&question, req, 0) == 0)
        answer = zframe_recv (req);
    zframe_destroy (&question);
    zsock_destroy (&req);
    const char *why = NULL;
    Maekin__Envelope *reply =
        answer ? mk_msg_unpack (zframe_data (answer), zframe_size (answer), &why) : NULL;
    zframe_destroy (&answer);
    if (!reply || reply->body_case != MAEKINSH_BODY (HOST_LIST_REPLY)) {
        maekinsh_out_error (self->out, MK_UNAVAILABLE,
                            "no monitor answers at %s (is maekin-monitor running on this node? "
                            "--monitor names another)",
                            self->monitor);
        mk_msg_free (&reply);
        return MAEKINSH_EXIT_UNREACHABLE;
    }
    maekinsh_out_add (self->out, &reply);
    return MAEKINSH_EXIT_OK;
}

//  The cloud's view through the broker; with the broker away, or with --local, this
//  node's monitor's.
static int
s_host_info (maekinsh_cmd_t *self)
{
    if (self->local)
        return s_ask_monitor (self);
    int status = maekinsh_cmd_run_list (self);
    if (status != MAEKINSH_EXIT_UNREACHABLE)
        return status;
    fprintf (stderr, "maekinsh: asking this node's monitor at %s instead\n", self->monitor);
    return s_ask_monitor (self);
}

const maekinsh_cmd_def_t maekinsh_host_commands[] = {
    {.group = "host",
     .verb = "list",
     .summary = "list the hosts of the cloud",
     .opts = s_host_list_opts,
     .build = maekinsh_cmd_build_list,
     .run = MAEKINSH_CMD_LIST,
     .request = MAEKINSH_BODY (HOST_LIST),
     .reply = MAEKINSH_BODY (HOST_LIST_REPLY),
     .states = s_host_states,
     .table = &maekinsh_host_table},
    {.group = "host",
     .verb = "show",
     .operand = "NAME",
     .subject = "host",
     .summary = "show one host",
     .opts = maekinsh_cmd_no_opts,
     .build = maekinsh_cmd_build_show,
     .request = MAEKINSH_BODY (HOST_SHOW),
     .reply = MAEKINSH_BODY (HOST_SHOW_REPLY)},
    {.group = "host",
     .verb = "domains",
     .operand = "NAME",
     .subject = "host",
     .summary = "list what libvirt on a host has, asked of it now",
     .opts = maekinsh_cmd_no_opts,
     .build = maekinsh_cmd_build_show,
     .request = MAEKINSH_BODY (HOST_DOMAINS),
     .reply = MAEKINSH_BODY (DOMAIN_LIST_REPLY),
     .table = &maekinsh_domain_table},
    {.group = "host",
     .verb = "info",
     .summary = "the hosts' measured load, from the cloud or, without it, this node's monitor",
     .opts = s_host_info_opts,
     .build = s_build_info,
     .run = MAEKINSH_CMD_FOLLOW,
     .follow = s_host_info,
     .request = MAEKINSH_BODY (HOST_LIST),
     .reply = MAEKINSH_BODY (HOST_LIST_REPLY),
     .table = &s_host_info_table},
    {.group = "host",
     .verb = "token",
     .operand = "NAME",
     .subject = "host",
     .summary = "a one-time join token for a new node to be host NAME (shown once)",
     .opts = s_host_token_opts,
     .build = s_build_token,
     .run = MAEKINSH_CMD_FOLLOW,
     .request = MAEKINSH_BODY (JOIN_TOKEN),
     .reply = MAEKINSH_BODY (JOIN_TOKEN_REPLY),
     .follow = s_token},
    {.group = "host",
     .verb = "add",
     .operand = "NAME",
     .subject = "host",
     .summary = "register a machine to be host NAME: its MAC bound to an address, booted from "
                "the network, and a join token (shown once)",
     .opts = s_host_add_opts,
     .build = s_build_add,
     .run = MAEKINSH_CMD_FOLLOW,
     .request = MAEKINSH_BODY (HOST_ADD),
     .reply = MAEKINSH_BODY (HOST_ADD_REPLY),
     .follow = s_add},
    {.group = "host",
     .verb = "remove",
     .operand = "NAME",
     .subject = "host",
     .summary = "take a host with no VMs away: its address, tokens and bus keys go with it",
     .opts = maekinsh_cmd_no_opts,
     .build = maekinsh_cmd_build_show,
     .request = MAEKINSH_BODY (HOST_REMOVE),
     .reply = MAEKINSH_BODY (HOST_REMOVE_REPLY),
     .mutating = true},
    {.group = NULL}};

void
maekinsh_host_test (bool verbose)
{
    maekinsh_cmd_t *cmd;
    const Maekin__Envelope *env;
    cmd = maekinsh_cmd_test_good (
        MAEKINSH_WORDS ("host", "list", "--state", "up", "--name-prefix", "node", "--limit", "5"));
    env = maekinsh_cmd_request (cmd);
    assert (env->body_case == MAEKINSH_BODY (HOST_LIST) && env->host_list->page);
    assert (env->host_list->page->limit == 5 && !cmd->every_page);
    assert (streq (env->host_list->page->filter_state, "up"));
    assert (streq (env->host_list->page->filter_name, "node"));
    assert (!*env->request_id && env->version == 1);
    maekinsh_cmd_destroy (&cmd);
    assert (cmd == NULL);
    cmd = maekinsh_cmd_test_good (MAEKINSH_WORDS ("host", "list"));
    env = maekinsh_cmd_request (cmd);
    assert (env->host_list->page->limit == 0 && cmd->every_page);
    assert (!*env->host_list->page->after && !*env->host_list->page->filter_state);
    maekinsh_cmd_destroy (&cmd);
    cmd = maekinsh_cmd_test_good (MAEKINSH_WORDS ("host", "show", "node1"));
    env = maekinsh_cmd_request (cmd);
    assert (env->body_case == MAEKINSH_BODY (HOST_SHOW) && streq (env->host_show->name, "node1"));
    maekinsh_cmd_destroy (&cmd);
    //  host info: every host, from the cloud or this node's monitor.
    cmd = maekinsh_cmd_test_good (MAEKINSH_WORDS ("host", "info"));
    env = maekinsh_cmd_request (cmd);
    assert (env->body_case == MAEKINSH_BODY (HOST_LIST) && cmd->every_page && !cmd->local);
    assert (streq (cmd->monitor, "ipc://@maekin-monitor"));
    maekinsh_cmd_destroy (&cmd);
    cmd = maekinsh_cmd_test_good (
        MAEKINSH_WORDS ("host", "info", "--local", "--monitor", "ipc://@elsewhere"));
    assert (cmd->local && streq (cmd->monitor, "ipc://@elsewhere"));
    maekinsh_cmd_destroy (&cmd);
    char *error = NULL, *help = NULL;
    const char **bad = MAEKINSH_WORDS ("host", "info", "--monitor", "somewhere");
    assert (!maekinsh_cmd_new (4, (char **) bad, &error, &help) && error
            && strstr (error, "--monitor takes an endpoint"));
    free (error);
    free (help);
    //  host token: a join token for a host, an hour by default; never with a request id
    //  (its answer holds the secret).
    cmd = maekinsh_cmd_test_good (MAEKINSH_WORDS ("host", "token", "node7"));
    env = maekinsh_cmd_request (cmd);
    assert (env->body_case == MAEKINSH_BODY (JOIN_TOKEN) && streq (env->join_token->host, "node7")
            && env->join_token->ttl_s == 0 && !*env->request_id && !env->credential);
    maekinsh_cmd_destroy (&cmd);
    cmd = maekinsh_cmd_test_good (MAEKINSH_WORDS ("host", "token", "node7", "--ttl", "604800"));
    assert (maekinsh_cmd_request (cmd)->join_token->ttl_s == 604800);
    maekinsh_cmd_destroy (&cmd);
    const struct {
        const char **words;
        const char *error;
    } bad_tokens[] = {
        {MAEKINSH_WORDS ("host", "token"), "missing NAME"},
        {MAEKINSH_WORDS ("host", "token", "Node_7"), "'Node_7' is not a valid host name"},
        {MAEKINSH_WORDS ("host", "token", "node7", "--ttl", "0"),
         "--ttl must be a whole number from 1 to 604800"},
        {MAEKINSH_WORDS ("host", "token", "node7", "--ttl", "604801"), "--ttl"},
        {MAEKINSH_WORDS ("host", "token", "node7", "node8"), "unexpected argument 'node8'"},
        {MAEKINSH_WORDS ("host", "add", "node9", "--pool", "mgmt"), "missing --mac MAC"},
        {MAEKINSH_WORDS ("host", "add", "node9", "--mac", "52:54:00:aa:00:09"),
         "missing --pool POOL"},
        {MAEKINSH_WORDS ("host", "add", "node9", "--mac", "m", "--pool", "p", "--ttl", "0"),
         "--ttl must be a whole number from 1 to 604800"},
        {MAEKINSH_WORDS ("host", "remove"), "missing NAME"},
    };
    //  host add: its MAC and pool, an address if asked; like a token, no request id.
    cmd = maekinsh_cmd_test_good (
        MAEKINSH_WORDS ("host", "add", "node9", "--mac", "52:54:00:AA:00:09", "--pool", "mgmt"));
    env = maekinsh_cmd_request (cmd);
    assert (env->body_case == MAEKINSH_BODY (HOST_ADD) && streq (env->host_add->name, "node9")
            && streq (env->host_add->mac, "52:54:00:AA:00:09")
            && streq (env->host_add->pool, "mgmt") && !*env->host_add->ip && !env->host_add->ttl_s
            && !*env->request_id);
    maekinsh_cmd_destroy (&cmd);
    cmd = maekinsh_cmd_test_good (MAEKINSH_WORDS ("host", "add", "node9", "--mac", "m", "--pool",
                                                  "mgmt", "--ip", "10.66.0.9", "--ttl", "60"));
    env = maekinsh_cmd_request (cmd);
    assert (streq (env->host_add->ip, "10.66.0.9") && env->host_add->ttl_s == 60);
    maekinsh_cmd_destroy (&cmd);
    //  host remove: a change, remembered by its request id.
    cmd = maekinsh_cmd_test_good (MAEKINSH_WORDS ("host", "remove", "node9"));
    env = maekinsh_cmd_request (cmd);
    assert (env->body_case == MAEKINSH_BODY (HOST_REMOVE) && streq (env->host_remove->name, "node9")
            && *env->request_id);
    maekinsh_cmd_destroy (&cmd);
    for (size_t i = 0; i < sizeof bad_tokens / sizeof bad_tokens[0]; i++) {
        int argc = 0;
        while (bad_tokens[i].words[argc])
            argc++;
        assert (!maekinsh_cmd_new (argc, (char **) bad_tokens[i].words, &error, &help) && !help);
        assert (error && strstr (error, bad_tokens[i].error));
        free (error);
    }
}

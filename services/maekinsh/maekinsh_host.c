/*  maekinsh_host: the rows of maekinsh_cmd's table for hosts, and how people see lists
    of hosts and of the domains libvirt has on one. */
#include "maekinsh_cmd_def.h"

#include "mk_msg.h"

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
}

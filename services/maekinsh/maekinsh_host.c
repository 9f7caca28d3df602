/*  maekinsh_host: the rows of maekinsh_cmd's table for hosts, and how people see lists
    of hosts and of the domains libvirt has on one. */
#include "maekinsh_cmd_def.h"

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
}

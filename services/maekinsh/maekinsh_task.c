/*  maekinsh_task: the rows of maekinsh_cmd's table for tasks, the builder of
    `task wait`, and how people see a list of tasks. */
#include "maekinsh_cmd_def.h"
#include "mk_state.h"

static const maekinsh_cmd_opt_t s_task_list_opts[] = {
    {"--state", "S", false, "only tasks in this state (queued, running, done, failed, ...)"},
    {"--host", "H", false, "only tasks on this host"},
    {"--vm", "NAME", false, "only the tasks of VM NAME"},
    {"--vi", "VI", false, "only the tasks of VI's VMs (default: every VI one may see)"},
    {"--limit", "N", false, "at most N tasks (1..1000), one page; default: all"},
    {NULL, NULL, false, NULL}};
static const maekinsh_cmd_opt_t s_task_wait_opts[] = {
    {"--timeout", "S", false, "stop waiting after S seconds (default 300)"},
    {NULL, NULL, false, NULL}};

const maekinsh_out_table_t maekinsh_task_table = {&maekin__task__descriptor,
                                                  {{"ID", "id", MAEKINSH_OUT_COL_TEXT},
                                                   {"STATE", "state", MAEKINSH_OUT_COL_TEXT},
                                                   {"OP", "op", MAEKINSH_OUT_COL_TEXT},
                                                   {"VM", "vm", MAEKINSH_OUT_COL_TEXT},
                                                   {"VI", "vi", MAEKINSH_OUT_COL_TEXT},
                                                   {"HOST", "host", MAEKINSH_OUT_COL_TEXT},
                                                   {"UPDATED", "updated", MAEKINSH_OUT_COL_TIME},
                                                   {"ERROR", "error", MAEKINSH_OUT_COL_TEXT}}};

static char *
s_build_task_wait (maekinsh_cmd_t *self, const maekinsh_cmd_args_t *args)
{
    char *why = maekinsh_cmd_task_id (self, args->operand);
    if (!why)
        why = maekinsh_cmd_wait_args (self, args, true);
    if (why)
        return why;
    Maekin__TaskWaitRequest wait = MAEKIN__TASK_WAIT_REQUEST__INIT;
    wait.id = self->task_id;
    wait.timeout_ms = MAEKINSH_WAIT_MS;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKINSH_BODY (TASK_WAIT);
    env.task_wait = &wait;
    maekinsh_cmd_finish (self, &env);
    return NULL;
}

const maekinsh_cmd_def_t maekinsh_task_commands[] = {
    {.group = "task",
     .verb = "list",
     .summary = "list the tasks, newest first",
     .opts = s_task_list_opts,
     .build = maekinsh_cmd_build_list,
     .run = MAEKINSH_CMD_LIST,
     .request = MAEKINSH_BODY (TASK_LIST),
     .reply = MAEKINSH_BODY (TASK_LIST_REPLY),
     .states = mk_state_task_names,
     .table = &maekinsh_task_table},
    {.group = "task",
     .verb = "show",
     .operand = "ID",
     .subject = "task",
     .summary = "show one task",
     .opts = maekinsh_cmd_no_opts,
     .build = maekinsh_cmd_build_show,
     .request = MAEKINSH_BODY (TASK_SHOW),
     .reply = MAEKINSH_BODY (TASK_SHOW_REPLY)},
    {.group = "task",
     .verb = "wait",
     .operand = "ID",
     .subject = "task",
     .summary = "wait until a task ends, showing its progress",
     .opts = s_task_wait_opts,
     .build = s_build_task_wait,
     .run = MAEKINSH_CMD_WAIT,
     .request = MAEKINSH_BODY (TASK_WAIT),
     .reply = MAEKINSH_BODY (TASK_SHOW_REPLY)},
    {.group = NULL}};

void
maekinsh_task_test (bool verbose)
{
    maekinsh_cmd_t *cmd;
    const Maekin__Envelope *env;
    cmd = maekinsh_cmd_test_good (MAEKINSH_WORDS ("task", "list", "--state", "failed", "--host",
                                                  "node1", "--vm", "web-1", "--limit", "3"));
    env = maekinsh_cmd_request (cmd);
    assert (env->body_case == MAEKINSH_BODY (TASK_LIST) && env->task_list->page->limit == 3);
    assert (streq (env->task_list->page->filter_name, "web-1"));
    assert (streq (env->task_list->page->filter_state, "failed"));
    assert (streq (env->task_list->page->filter_host, "node1"));
    maekinsh_cmd_destroy (&cmd);
    cmd = maekinsh_cmd_test_good (MAEKINSH_WORDS ("task", "show", "12"));
    env = maekinsh_cmd_request (cmd);
    assert (env->body_case == MAEKINSH_BODY (TASK_SHOW) && env->task_show->id == 12);
    maekinsh_cmd_destroy (&cmd);
    cmd = maekinsh_cmd_test_good (
        MAEKINSH_WORDS ("task", "wait", "18446744073709551615", "--timeout", "5"));
    env = maekinsh_cmd_request (cmd);
    assert (env->body_case == MAEKINSH_BODY (TASK_WAIT) && env->task_wait->id == UINT64_MAX);
    assert (env->task_wait->timeout_ms == MAEKINSH_WAIT_MS && cmd->wait_s == 5);
    maekinsh_cmd_destroy (&cmd);
}

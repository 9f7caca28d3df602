/*  maekinsh_vm: the rows of maekinsh_cmd's table for VMs, the builders of `vm create`
    and of the VM actions, and how people see a list of VMs. */
#include "maekinsh_cmd_def.h"
#include "mk_state.h"

static const maekinsh_cmd_opt_t s_vm_create_opts[] = {
    {"--template", "T", true, "the template to make it from"},
    {"--vi", "VI", false, "in this Virtual Infrastructure (default: one's only one)"},
    {"--host", "H", false, "put it on this host (default: the scheduler chooses)"},
    {"--ip", "IP", false, "this address of its VI's IP pool (default: the lowest free)"},
    {"--wait", NULL, false, "wait until it runs, showing the task's progress"},
    {"--timeout", "S", false, "with --wait: stop waiting after S seconds (default 300)"},
    {NULL, NULL, false, NULL}};
static const maekinsh_cmd_opt_t s_vm_action_opts[] = {
    {"--vi", "VI", false, "the VM's Virtual Infrastructure (default: one's only one)"},
    {"--wait", NULL, false, "wait until the task ends, showing its progress"},
    {"--timeout", "S", false, "with --wait: stop waiting after S seconds (default 300)"},
    {NULL, NULL, false, NULL}};
static const maekinsh_cmd_opt_t s_vm_show_opts[] = {
    {"--vi", "VI", false, "the VM's Virtual Infrastructure (default: one's only one)"},
    {NULL, NULL, false, NULL}};
static const maekinsh_cmd_opt_t s_vm_list_opts[] = {
    {"--host", "H", false, "only VMs on this host"},
    {"--state", "S", false, "only VMs in this state (running, stopped, paused, ...)"},
    {"--name-prefix", "P", false, "only VMs whose name starts with P"},
    {"--vi", "VI", false, "only VI's VMs (default: every VI one may see)"},
    {"--limit", "N", false, "at most N VMs (1..1000), one page; default: all"},
    {NULL, NULL, false, NULL}};

const maekinsh_out_table_t maekinsh_vm_table = {&maekin__vm__descriptor,
                                                {{"NAME", "name", MAEKINSH_OUT_COL_TEXT},
                                                 {"VI", "vi", MAEKINSH_OUT_COL_TEXT},
                                                 {"STATE", "state", MAEKINSH_OUT_COL_TEXT},
                                                 {"HOST", "host", MAEKINSH_OUT_COL_TEXT},
                                                 {"VCPUS", "vcpus", MAEKINSH_OUT_COL_TEXT},
                                                 {"MEMORY", "memory_mb", MAEKINSH_OUT_COL_MB},
                                                 {"TEMPLATE", "template", MAEKINSH_OUT_COL_TEXT}}};

static char *
s_build_vm_create (maekinsh_cmd_t *self, const maekinsh_cmd_args_t *args)
{
    Maekin__VmCreateRequest create = MAEKIN__VM_CREATE_REQUEST__INIT;
    create.name = (char *) args->operand;
    create.template_ = (char *) maekinsh_cmd_arg (self, args, "--template");
    char *why = maekinsh_cmd_name ("template", create.template_);
    if (why)
        return why;
    const char *host = maekinsh_cmd_arg (self, args, "--host");
    if (host && (why = maekinsh_cmd_name ("host", host)))
        return why;
    if (host)
        create.host = (char *) host;
    const char *vi = maekinsh_cmd_arg (self, args, "--vi");
    if (vi && (why = maekinsh_cmd_name ("VI", vi)))
        return why;
    if (vi)
        create.vi = (char *) vi;
    const char *ip = maekinsh_cmd_arg (self, args, "--ip");
    if (ip)
        create.ip = (char *) ip;
    if ((why = maekinsh_cmd_wait_args (self, args, false)))
        return why;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKINSH_BODY (VM_CREATE);
    env.vm_create = &create;
    maekinsh_cmd_finish (self, &env);
    return NULL;
}

static char *
s_build_vm_action (maekinsh_cmd_t *self, const maekinsh_cmd_args_t *args)
{
    char *why = maekinsh_cmd_wait_args (self, args, false);
    if (why)
        return why;
    Maekin__VmActionRequest action = MAEKIN__VM_ACTION_REQUEST__INIT;
    action.name = (char *) args->operand;
    const char *vi = maekinsh_cmd_arg (self, args, "--vi");
    if (vi && (why = maekinsh_cmd_name ("VI", vi)))
        return why;
    if (vi)
        action.vi = (char *) vi;
    action.op = self->def->op;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKINSH_BODY (VM_ACTION);
    env.vm_action = &action;
    maekinsh_cmd_finish (self, &env);
    return NULL;
}

//  The rows of the actions on a VM differ only in their verb, operation and summary.
#define VM_ACTION(verb_, op_, summary_)                                                            \
    {                                                                                              \
        .group = "vm", .verb = verb_, .operand = "NAME", .subject = "VM", .summary = summary_,     \
        .opts = s_vm_action_opts, .build = s_build_vm_action,                                      \
        .request = MAEKINSH_BODY (VM_ACTION), .reply = MAEKINSH_BODY (TASK_ACCEPTED),              \
        .mutating = true, .op = MAEKINSH_OP (op_)                                                  \
    }

const maekinsh_cmd_def_t maekinsh_vm_commands[] = {
    {.group = "vm",
     .verb = "create",
     .operand = "NAME",
     .subject = "VM",
     .summary = "create a VM from a template and start it",
     .opts = s_vm_create_opts,
     .build = s_build_vm_create,
     .request = MAEKINSH_BODY (VM_CREATE),
     .reply = MAEKINSH_BODY (TASK_ACCEPTED),
     .mutating = true,
     .op = MAEKINSH_OP (CREATE)},
    {.group = "vm",
     .verb = "list",
     .summary = "list the VMs",
     .opts = s_vm_list_opts,
     .build = maekinsh_cmd_build_list,
     .run = MAEKINSH_CMD_LIST,
     .request = MAEKINSH_BODY (VM_LIST),
     .reply = MAEKINSH_BODY (VM_LIST_REPLY),
     .states = mk_state_vm_names,
     .table = &maekinsh_vm_table},
    {.group = "vm",
     .verb = "show",
     .operand = "NAME",
     .subject = "VM",
     .summary = "show one VM (by name, or by UUID)",
     .opts = s_vm_show_opts,
     .build = maekinsh_cmd_build_show,
     .request = MAEKINSH_BODY (VM_SHOW),
     .reply = MAEKINSH_BODY (VM_SHOW_REPLY)},
    VM_ACTION ("start", START, "start a stopped VM"),
    VM_ACTION ("stop", STOP, "shut a VM down (forced if it does not in time)"),
    VM_ACTION ("reboot", REBOOT, "reboot a running VM"),
    VM_ACTION ("suspend", SUSPEND, "pause a running VM"),
    VM_ACTION ("resume", RESUME, "let a paused VM run again"),
    VM_ACTION ("destroy", DESTROY, "power a VM off at once"),
    VM_ACTION ("delete", DELETE, "delete a stopped VM: undefine it and forget it"),
    {.group = NULL}};

void
maekinsh_vm_test (bool verbose)
{
    maekinsh_cmd_t *cmd;
    const Maekin__Envelope *env;
    cmd = maekinsh_cmd_test_good (MAEKINSH_WORDS ("vm", "create", "--template", "tiny", "web-1",
                                                  "--host=node1", "--wait", "--timeout", "60"));
    env = maekinsh_cmd_request (cmd);
    assert (env->body_case == MAEKINSH_BODY (VM_CREATE) && streq (env->vm_create->name, "web-1"));
    assert (streq (env->vm_create->template_, "tiny") && streq (env->vm_create->host, "node1"));
    assert (maekinsh_cmd_test_is_uuid (env->request_id) && cmd->wait && cmd->wait_s == 60);
    maekinsh_cmd_destroy (&cmd);
    cmd = maekinsh_cmd_test_good (MAEKINSH_WORDS ("vm", "create", "web-1", "--template", "tiny"));
    env = maekinsh_cmd_request (cmd);
    assert (!*env->vm_create->host && !cmd->wait);
    maekinsh_cmd_destroy (&cmd);
    cmd = maekinsh_cmd_test_good (MAEKINSH_WORDS ("vm", "list", "--host", "node1", "--state",
                                                  "running", "--name-prefix", "web", "--limit",
                                                  "10"));
    env = maekinsh_cmd_request (cmd);
    assert (env->body_case == MAEKINSH_BODY (VM_LIST) && env->vm_list->page->limit == 10);
    assert (streq (env->vm_list->page->filter_host, "node1"));
    assert (streq (env->vm_list->page->filter_state, "running"));
    assert (streq (env->vm_list->page->filter_name, "web"));
    maekinsh_cmd_destroy (&cmd);
    cmd = maekinsh_cmd_test_good (MAEKINSH_WORDS ("vm", "show", "--", "web-1"));
    env = maekinsh_cmd_request (cmd);
    assert (env->body_case == MAEKINSH_BODY (VM_SHOW) && streq (env->vm_show->name, "web-1"));
    assert (!*env->vm_show->vi);
    maekinsh_cmd_destroy (&cmd);
    //  In a VI: show, create, act, list.
    cmd = maekinsh_cmd_test_good (MAEKINSH_WORDS ("vm", "show", "web-1", "--vi", "acme"));
    assert (streq (maekinsh_cmd_request (cmd)->vm_show->vi, "acme"));
    maekinsh_cmd_destroy (&cmd);
    cmd = maekinsh_cmd_test_good (
        MAEKINSH_WORDS ("vm", "create", "web-1", "--template", "tiny", "--vi", "acme"));
    assert (streq (maekinsh_cmd_request (cmd)->vm_create->vi, "acme"));
    maekinsh_cmd_destroy (&cmd);
    cmd = maekinsh_cmd_test_good (MAEKINSH_WORDS ("vm", "stop", "web-1", "--vi", "acme"));
    assert (streq (maekinsh_cmd_request (cmd)->vm_action->vi, "acme"));
    maekinsh_cmd_destroy (&cmd);
    cmd = maekinsh_cmd_test_good (MAEKINSH_WORDS ("vm", "list", "--vi", "acme"));
    assert (streq (maekinsh_cmd_request (cmd)->vm_list->page->filter_vi, "acme"));
    maekinsh_cmd_destroy (&cmd);
    struct {
        const char *verb;
        Maekin__VmOp op;
    } actions[] = {{"start", MAEKINSH_OP (START)},   {"stop", MAEKINSH_OP (STOP)},
                   {"reboot", MAEKINSH_OP (REBOOT)}, {"suspend", MAEKINSH_OP (SUSPEND)},
                   {"resume", MAEKINSH_OP (RESUME)}, {"destroy", MAEKINSH_OP (DESTROY)},
                   {"delete", MAEKINSH_OP (DELETE)}};
    for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++) {
        cmd = maekinsh_cmd_test_good (MAEKINSH_WORDS ("vm", actions[i].verb, "web-1", "--wait"));
        env = maekinsh_cmd_request (cmd);
        assert (env->body_case == MAEKINSH_BODY (VM_ACTION) && env->vm_action->op == actions[i].op);
        assert (streq (env->vm_action->name, "web-1")
                && maekinsh_cmd_test_is_uuid (env->request_id));
        assert (cmd->wait && cmd->wait_s == MAEKINSH_WAIT_DEFAULT_S);
        maekinsh_cmd_destroy (&cmd);
    }
}

/*  controller_fsm: the VM and task lifecycles as tables. */
#include "controller_fsm.h"

#include "mk_state.h"

static const char *s_op_names[] = {"none",    "create", "start",   "stop",   "reboot",
                                   "suspend", "resume", "destroy", "delete", "define"};
#define OP_COUNT (sizeof s_op_names / sizeof s_op_names[0])

//  (state, operation) -> busy, done, failed. A row absent is an illegal transition.
typedef struct {
    vm_state_t from;
    Maekin__VmOp op;
    vm_transition_t to;
} vm_row_t;

static const vm_row_t s_vm_table[] = {
    {VM_NONE, MAEKIN__VM_OP__VM_OP_CREATE, {VM_CREATING, VM_RUNNING, VM_ERROR}},
    {VM_STOPPED, MAEKIN__VM_OP__VM_OP_START, {VM_STARTING, VM_RUNNING, VM_STOPPED}},
    {VM_ERROR, MAEKIN__VM_OP__VM_OP_START, {VM_STARTING, VM_RUNNING, VM_ERROR}},
    {VM_RUNNING, MAEKIN__VM_OP__VM_OP_STOP, {VM_STOPPING, VM_STOPPED, VM_RUNNING}},
    {VM_PAUSED, MAEKIN__VM_OP__VM_OP_STOP, {VM_STOPPING, VM_STOPPED, VM_PAUSED}},
    {VM_ERROR, MAEKIN__VM_OP__VM_OP_STOP, {VM_STOPPING, VM_STOPPED, VM_ERROR}},
    {VM_RUNNING, MAEKIN__VM_OP__VM_OP_REBOOT, {VM_REBOOTING, VM_RUNNING, VM_RUNNING}},
    {VM_RUNNING, MAEKIN__VM_OP__VM_OP_SUSPEND, {VM_SUSPENDING, VM_PAUSED, VM_RUNNING}},
    {VM_PAUSED, MAEKIN__VM_OP__VM_OP_RESUME, {VM_RESUMING, VM_RUNNING, VM_PAUSED}},
    {VM_RUNNING, MAEKIN__VM_OP__VM_OP_DESTROY, {VM_STOPPING, VM_STOPPED, VM_ERROR}},
    {VM_PAUSED, MAEKIN__VM_OP__VM_OP_DESTROY, {VM_STOPPING, VM_STOPPED, VM_ERROR}},
    {VM_ERROR, MAEKIN__VM_OP__VM_OP_DESTROY, {VM_STOPPING, VM_STOPPED, VM_ERROR}},
    {VM_STOPPED, MAEKIN__VM_OP__VM_OP_DELETE, {VM_DELETING, VM_DELETED, VM_ERROR}},
    {VM_ERROR, MAEKIN__VM_OP__VM_OP_DELETE, {VM_DELETING, VM_DELETED, VM_ERROR}},
    //  Repair of a VM libvirt lost (the controller's own tasks, never a client's).
    {VM_RUNNING, MAEKIN__VM_OP__VM_OP_CREATE, {VM_CREATING, VM_RUNNING, VM_ERROR}},
    {VM_PAUSED, MAEKIN__VM_OP__VM_OP_CREATE, {VM_CREATING, VM_RUNNING, VM_ERROR}},
    {VM_STOPPED, MAEKIN__VM_OP__VM_OP_DEFINE, {VM_CREATING, VM_STOPPED, VM_ERROR}},
    {VM_ERROR, MAEKIN__VM_OP__VM_OP_DEFINE, {VM_CREATING, VM_STOPPED, VM_ERROR}},
};

//  Task lifecycle: allowed[from][to].
static const bool s_task_allowed[TASK_STATE_COUNT][TASK_STATE_COUNT] = {
    //                 queued dispatched running done  failed cancelled
    [TASK_QUEUED] = {false, true, true, true, true, true},
    [TASK_DISPATCHED] = {false, true, true, true, true, false},
    [TASK_RUNNING] = {false, false, false, true, true, false},
};

const char *
controller_fsm_vm_name (vm_state_t state)
{
    return mk_state_vm_name ((int) state);
}

int
controller_fsm_vm_parse (const char *name)
{
    return mk_state_vm_parse (name);
}

const char *const *
controller_fsm_vm_names (void)
{
    return mk_state_vm_names ();
}

bool
controller_fsm_vm_stable (vm_state_t state)
{
    return state == VM_RUNNING || state == VM_STOPPED || state == VM_PAUSED || state == VM_ERROR;
}

//  Why an operation is refused in a state, in words that say what to do instead.
static const char *
s_refusal (vm_state_t from, Maekin__VmOp op)
{
    bool starts = op == MAEKIN__VM_OP__VM_OP_START || op == MAEKIN__VM_OP__VM_OP_RESUME;
    bool stops = op == MAEKIN__VM_OP__VM_OP_STOP || op == MAEKIN__VM_OP__VM_OP_DESTROY;
    if (!controller_fsm_vm_stable (from) && from != VM_NONE)
        return "a task is already running on the VM; wait for it (maekinsh task wait)";
    if (op == MAEKIN__VM_OP__VM_OP_CREATE)
        return "the VM exists already";
    if (op == MAEKIN__VM_OP__VM_OP_DELETE)
        return "only a stopped VM can be deleted; stop or destroy it first";
    if (from == VM_RUNNING && starts)
        return "the VM is already running";
    if (from == VM_STOPPED && stops)
        return "the VM is already stopped";
    if (from == VM_PAUSED && op == MAEKIN__VM_OP__VM_OP_SUSPEND)
        return "the VM is already paused";
    if (from == VM_PAUSED && op == MAEKIN__VM_OP__VM_OP_START)
        return "the VM is paused; resume it";
    if (from == VM_STOPPED)
        return "the VM is stopped; start it first";
    if (op == MAEKIN__VM_OP__VM_OP_REBOOT)
        return "only a running VM can be rebooted";
    return "the VM is not in a state that allows this";
}

int
controller_fsm_vm (vm_state_t from, Maekin__VmOp op, vm_transition_t *transition,
                   const char **reason)
{
    for (size_t i = 0; i < sizeof s_vm_table / sizeof s_vm_table[0]; i++)
        if (s_vm_table[i].from == from && s_vm_table[i].op == op) {
            *transition = s_vm_table[i].to;
            return 0;
        }
    *reason = s_refusal (from, op);
    return -1;
}

const char *
controller_fsm_op_name (Maekin__VmOp op)
{
    return (unsigned) op < OP_COUNT ? s_op_names[op] : "?";
}

int
controller_fsm_op_parse (const char *name)
{
    for (size_t i = 1; i < OP_COUNT; i++)
        if (streq (name, s_op_names[i]))
            return (int) i;
    return -1;
}

const char *
controller_fsm_task_name (task_state_t state)
{
    return mk_state_task_name ((int) state);
}

const char *const *
controller_fsm_task_names (void)
{
    return mk_state_task_names ();
}

int
controller_fsm_task_parse (const char *name)
{
    return mk_state_task_parse (name);
}

bool
controller_fsm_task_allowed (task_state_t from, task_state_t to)
{
    return from < TASK_STATE_COUNT && to < TASK_STATE_COUNT && s_task_allowed[from][to];
}

bool
controller_fsm_task_final (task_state_t state)
{
    return state == TASK_DONE || state == TASK_FAILED || state == TASK_CANCELLED;
}

char *
controller_fsm_vm_markdown (void)
{
    char *text = strdup ("| the VM is | operation | while its task runs | done | failed |\n"
                         "|---|---|---|---|---|\n");
    for (size_t i = 0; i < sizeof s_vm_table / sizeof s_vm_table[0]; i++) {
        const vm_row_t *row = &s_vm_table[i];
        bool repair = (row->op == MAEKIN__VM_OP__VM_OP_CREATE && row->from != VM_NONE)
                      || row->op == MAEKIN__VM_OP__VM_OP_DEFINE;
        char *more = zsys_sprintf (
            "%s| %s | %s%s | %s | %s | %s |\n", text,
            row->from == VM_NONE ? "(no VM yet)" : controller_fsm_vm_name (row->from),
            s_op_names[row->op], repair ? " (the controller's repair)" : "",
            controller_fsm_vm_name (row->to.busy), controller_fsm_vm_name (row->to.done),
            controller_fsm_vm_name (row->to.failed));
        free (text);
        text = more;
    }
    return text;
}

//  The file's text, or NULL.
static char *
s_read (const char *path)
{
    FILE *file = fopen (path, "r");
    if (!file)
        return NULL;
    zchunk_t *chunk = zchunk_read (file, 1 << 20);
    fclose (file);
    char *text = zchunk_strdup (chunk);
    zchunk_destroy (&chunk);
    return text;
}

void
controller_fsm_test (bool verbose)
{
    //  The contract publishes the lifecycle table; it must be this one. Tests run from
    //  the source tree's top (make check), or MK_SRC names it.
    char *table = controller_fsm_vm_markdown ();
    const char *src = getenv ("MK_SRC");
    char *path = zsys_sprintf ("%s/proto/BUS.md", src ? src : ".");
    char *bus = s_read (path);
    if (!bus || !strstr (bus, table))
        fprintf (stderr,
                 "controller_fsm_test: %s does not hold the VM lifecycle table as "
                 "controller_fsm has it; put this in its place:\n%s",
                 path, table);
    assert (bus && strstr (bus, table));
    if (verbose)
        printf ("%s", table);
    free (bus);
    freen (path);
    free (table);

    vm_transition_t t;
    const char *reason = NULL;
    assert (controller_fsm_vm (VM_NONE, MAEKIN__VM_OP__VM_OP_CREATE, &t, &reason) == 0);
    assert (t.busy == VM_CREATING && t.done == VM_RUNNING && t.failed == VM_ERROR);
    assert (controller_fsm_vm (VM_RUNNING, MAEKIN__VM_OP__VM_OP_STOP, &t, &reason) == 0);
    assert (t.done == VM_STOPPED && t.failed == VM_RUNNING);
    //  Illegal: start a running VM, delete a running one, anything during a task.
    assert (controller_fsm_vm (VM_RUNNING, MAEKIN__VM_OP__VM_OP_START, &t, &reason) == -1);
    assert (strstr (reason, "already running"));
    assert (controller_fsm_vm (VM_RUNNING, MAEKIN__VM_OP__VM_OP_DELETE, &t, &reason) == -1);
    assert (strstr (reason, "stopped"));
    assert (controller_fsm_vm (VM_STOPPING, MAEKIN__VM_OP__VM_OP_DESTROY, &t, &reason) == -1);
    assert (strstr (reason, "task is already running"));
    assert (controller_fsm_vm (VM_PAUSED, MAEKIN__VM_OP__VM_OP_START, &t, &reason) == -1);
    assert (strstr (reason, "paused"));
    //  Each refusal says what the VM is and what to do, never the opposite of the truth.
    assert (controller_fsm_vm (VM_STOPPED, MAEKIN__VM_OP__VM_OP_RESUME, &t, &reason) == -1);
    assert (streq (reason, "the VM is stopped; start it first"));
    assert (controller_fsm_vm (VM_STOPPED, MAEKIN__VM_OP__VM_OP_STOP, &t, &reason) == -1);
    assert (streq (reason, "the VM is already stopped"));
    assert (controller_fsm_vm (VM_PAUSED, MAEKIN__VM_OP__VM_OP_SUSPEND, &t, &reason) == -1);
    assert (streq (reason, "the VM is already paused"));
    assert (controller_fsm_vm (VM_PAUSED, MAEKIN__VM_OP__VM_OP_REBOOT, &t, &reason) == -1);
    assert (streq (reason, "only a running VM can be rebooted"));
    assert (controller_fsm_vm (VM_RUNNING, MAEKIN__VM_OP__VM_OP_RESUME, &t, &reason) == -1);
    assert (streq (reason, "the VM is already running"));
    //  Every row starts from a stable state (or none) and is busy in a transitional one.
    for (size_t i = 0; i < sizeof s_vm_table / sizeof s_vm_table[0]; i++) {
        assert (controller_fsm_vm_stable (s_vm_table[i].from) || s_vm_table[i].from == VM_NONE);
        assert (!controller_fsm_vm_stable (s_vm_table[i].to.busy));
    }
    for (int i = 0; i < VM_STATE_COUNT; i++)
        assert (controller_fsm_vm_parse (controller_fsm_vm_name (i)) == i);
    assert (controller_fsm_vm_parse ("flying") == -1);
    assert (controller_fsm_op_parse ("reboot") == MAEKIN__VM_OP__VM_OP_REBOOT);
    assert (controller_fsm_op_parse ("none") == -1);
    assert (streq (controller_fsm_op_name (MAEKIN__VM_OP__VM_OP_SUSPEND), "suspend"));

    assert (controller_fsm_task_allowed (TASK_QUEUED, TASK_DISPATCHED));
    assert (controller_fsm_task_allowed (TASK_DISPATCHED, TASK_DONE));
    assert (controller_fsm_task_allowed (TASK_RUNNING, TASK_FAILED));
    assert (!controller_fsm_task_allowed (TASK_DONE, TASK_RUNNING));
    assert (!controller_fsm_task_allowed (TASK_FAILED, TASK_DONE));
    assert (!controller_fsm_task_allowed (TASK_RUNNING, TASK_QUEUED));
    assert (controller_fsm_task_final (TASK_CANCELLED)
            && !controller_fsm_task_final (TASK_RUNNING));
    for (int i = 0; i < TASK_STATE_COUNT; i++)
        assert (controller_fsm_task_parse (controller_fsm_task_name (i)) == i);
}

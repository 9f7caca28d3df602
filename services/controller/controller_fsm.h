/*  controller_fsm: the VM and task lifecycles as tables. Every state change of a VM or a
    task is checked here, in one place, so the whole lifecycle reads on one screen. */
#ifndef CONTROLLER_FSM_H_INCLUDED
#define CONTROLLER_FSM_H_INCLUDED

#include "maekin.h"

//  The VM's states are the proto's (VmState), their names mk_state's.
typedef enum {
    VM_NONE = MAEKIN__VM_STATE__VM_STATE_NONE, //  not yet created
    VM_CREATING = MAEKIN__VM_STATE__VM_STATE_CREATING,
    VM_RUNNING = MAEKIN__VM_STATE__VM_STATE_RUNNING,
    VM_STOPPED = MAEKIN__VM_STATE__VM_STATE_STOPPED,
    VM_PAUSED = MAEKIN__VM_STATE__VM_STATE_PAUSED,
    VM_STARTING = MAEKIN__VM_STATE__VM_STATE_STARTING,
    VM_STOPPING = MAEKIN__VM_STATE__VM_STATE_STOPPING,
    VM_REBOOTING = MAEKIN__VM_STATE__VM_STATE_REBOOTING,
    VM_SUSPENDING = MAEKIN__VM_STATE__VM_STATE_SUSPENDING,
    VM_RESUMING = MAEKIN__VM_STATE__VM_STATE_RESUMING,
    VM_DELETING = MAEKIN__VM_STATE__VM_STATE_DELETING,
    //  A task failed in a way that left the VM unknown; start/stop/destroy/delete repair it.
    VM_ERROR = MAEKIN__VM_STATE__VM_STATE_ERROR,
    VM_DELETED = MAEKIN__VM_STATE__VM_STATE_DELETED, //  gone: the row is removed
    VM_STATE_COUNT
} vm_state_t;

typedef enum {
    TASK_QUEUED = MAEKIN__TASK_STATE__TASK_STATE_QUEUED,
    TASK_DISPATCHED = MAEKIN__TASK_STATE__TASK_STATE_DISPATCHED,
    TASK_RUNNING = MAEKIN__TASK_STATE__TASK_STATE_RUNNING,
    TASK_DONE = MAEKIN__TASK_STATE__TASK_STATE_DONE,
    TASK_FAILED = MAEKIN__TASK_STATE__TASK_STATE_FAILED,
    TASK_CANCELLED = MAEKIN__TASK_STATE__TASK_STATE_CANCELLED,
    TASK_STATE_COUNT
} task_state_t;

//  What an operation does to a VM: the state while its task runs, on success, on failure.
typedef struct {
    vm_state_t busy;
    vm_state_t done;
    vm_state_t failed;
} vm_transition_t;

const char *controller_fsm_vm_name (vm_state_t state);
//  A state by name, or -1.
int controller_fsm_vm_parse (const char *name);
//  The transition for an operation from a state: 0, or -1 with *reason (static text,
//  e.g. "cannot start a running VM") when the table has no such row.
int controller_fsm_vm (vm_state_t from, Maekin__VmOp op, vm_transition_t *transition,
                       const char **reason);
//  The states a VM can be seen in (every one but none), NULL-terminated.
const char *const *controller_fsm_vm_names (void);
//  A stable state (no task running on the VM).
bool controller_fsm_vm_stable (vm_state_t state);
//  An operation's name ("create", "start", ...) and back (-1 if unknown).
const char *controller_fsm_op_name (Maekin__VmOp op);
int controller_fsm_op_parse (const char *name);

const char *controller_fsm_task_name (task_state_t state);
int controller_fsm_task_parse (const char *name);
//  Every task state, NULL-terminated.
const char *const *controller_fsm_task_names (void);
//  May a task move from one state to another?
bool controller_fsm_task_allowed (task_state_t from, task_state_t to);
bool controller_fsm_task_final (task_state_t state);

//  The VM lifecycle table as the Markdown table proto/BUS.md publishes (a new string,
//  the caller frees it). The self-test checks that BUS.md holds exactly this.
char *controller_fsm_vm_markdown (void);

void controller_fsm_test (bool verbose);

#endif

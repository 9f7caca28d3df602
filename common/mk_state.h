/*  mk_state: the names of VM and task states, taken from the enums VmState and TaskState
    of proto/maekin.proto, where they are said once: a state's name on the wire is its
    enum name in lower case without the prefix (VM_STATE_RUNNING is "running"). */
#ifndef MK_STATE_H_INCLUDED
#define MK_STATE_H_INCLUDED

#include "maekin.h"

//  A VM state's name ("running"), or "?" for a value the enum does not have.
const char *mk_state_vm_name (int state);
//  The VM state of a name, or -1.
int mk_state_vm_parse (const char *name);
//  Every VM state a client can see (all but none), NULL-terminated.
const char *const *mk_state_vm_names (void);

//  The same for tasks.
const char *mk_state_task_name (int state);
int mk_state_task_parse (const char *name);
const char *const *mk_state_task_names (void);

void mk_state_test (bool verbose);

#endif

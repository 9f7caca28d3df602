/*  mk_state: state names from the proto's enums. */
#include "mk_state.h"

#include <ctype.h>
#include <pthread.h>

#define STATES_MAX 32

//  One enum's names, lower case without the prefix, by value and in value order.
typedef struct {
    const ProtobufCEnumDescriptor *descriptor;
    const char *prefix;
    size_t first; //  the first value clients see (VM_STATE_NONE is not)
    char names[STATES_MAX][24];
    const char *by_value[STATES_MAX + 1];
    const char *seen[STATES_MAX + 1]; //  NULL-terminated, from `first` on
} states_t;

static states_t s_vm = {&maekin__vm_state__descriptor, "VM_STATE_", 1, {{0}}, {0}, {0}};
static states_t s_task = {&maekin__task_state__descriptor, "TASK_STATE_", 0, {{0}}, {0}, {0}};
static pthread_once_t s_once = PTHREAD_ONCE_INIT;

static void
s_states_fill (states_t *self)
{
    size_t prefix = strlen (self->prefix);
    for (unsigned i = 0; i < self->descriptor->n_values; i++) {
        const ProtobufCEnumValue *value = &self->descriptor->values[i];
        //  The enums are dense from 0 (the self-test checks it) and short.
        assert (value->value >= 0 && value->value < STATES_MAX);
        assert (strncmp (value->name, self->prefix, prefix) == 0);
        char *name = self->names[value->value];
        size_t n = 0;
        for (const char *c = value->name + prefix; *c && n < sizeof self->names[0] - 1; c++)
            name[n++] = (char) tolower ((unsigned char) *c);
        name[n] = 0;
        self->by_value[value->value] = name;
    }
    size_t seen = 0;
    for (size_t v = self->first; v < STATES_MAX && self->by_value[v]; v++)
        self->seen[seen++] = self->by_value[v];
}

static void
s_init (void)
{
    s_states_fill (&s_vm);
    s_states_fill (&s_task);
}

static const char *
s_name (states_t *self, int state)
{
    pthread_once (&s_once, s_init);
    return state >= 0 && state < STATES_MAX && self->by_value[state] ? self->by_value[state] : "?";
}

static int
s_parse (states_t *self, const char *name)
{
    pthread_once (&s_once, s_init);
    for (int v = 0; name && v < STATES_MAX && self->by_value[v]; v++)
        if (streq (self->by_value[v], name))
            return v;
    return -1;
}

const char *
mk_state_vm_name (int state)
{
    return s_name (&s_vm, state);
}

int
mk_state_vm_parse (const char *name)
{
    return s_parse (&s_vm, name);
}

const char *const *
mk_state_vm_names (void)
{
    pthread_once (&s_once, s_init);
    return s_vm.seen;
}

const char *
mk_state_task_name (int state)
{
    return s_name (&s_task, state);
}

int
mk_state_task_parse (const char *name)
{
    return s_parse (&s_task, name);
}

const char *const *
mk_state_task_names (void)
{
    pthread_once (&s_once, s_init);
    return s_task.seen;
}

void
mk_state_test (bool verbose)
{
    //  Every value of each enum has a name, and the values are dense from 0.
    assert (maekin__vm_state__descriptor.n_values == 13);
    for (int v = 0; v < 13; v++)
        assert (strcmp (mk_state_vm_name (v), "?") != 0);
    assert (streq (mk_state_vm_name (MAEKIN__VM_STATE__VM_STATE_RUNNING), "running"));
    assert (streq (mk_state_vm_name (MAEKIN__VM_STATE__VM_STATE_ERROR), "error"));
    assert (streq (mk_state_vm_name (99), "?") && streq (mk_state_vm_name (-1), "?"));
    assert (mk_state_vm_parse ("stopped") == MAEKIN__VM_STATE__VM_STATE_STOPPED);
    assert (mk_state_vm_parse ("Stopped") == -1 && mk_state_vm_parse (NULL) == -1);
    const char *const *seen = mk_state_vm_names ();
    assert (streq (seen[0], "creating") && streq (seen[11], "deleted") && seen[12] == NULL);
    assert (streq (mk_state_task_name (MAEKIN__TASK_STATE__TASK_STATE_DISPATCHED), "dispatched"));
    assert (mk_state_task_parse ("cancelled") == MAEKIN__TASK_STATE__TASK_STATE_CANCELLED);
    const char *const *tasks = mk_state_task_names ();
    assert (streq (tasks[0], "queued") && streq (tasks[5], "cancelled") && tasks[6] == NULL);
    if (verbose)
        printf (" * %s ... %s; %s ... %s\n", seen[0], seen[11], tasks[0], tasks[5]);
}

/*  controller_reconcile: a host's full report against the database. libvirt is the truth
    about what runs on a host, the database about what should: a VM libvirt lost is
    defined again (and started, if it ran) by a task of its own, a VM whose state
    differs takes libvirt's, and domains the cloud does not know are named. */
#include "controller_core.h"

typedef struct {
    char name[STORE_VM_KEY_MAX];
    char state[16];
    uint64_t last_task;
} vm_brief_t;

//  The answer's lists while they are made: names (in the arena) in zlistx, turned into
//  the reply's arrays once at the end, so a long report costs time linear in its length.
typedef struct {
    zlistx_t *missing;
    zlistx_t *changed;
} found_t;

static void
s_found_add (controller_t *self, zlistx_t *list, const char *name)
{
    zlistx_add_end (list, controller_arena_str (self, name));
}

static char **
s_found_array (controller_t *self, zlistx_t *list, size_t *count)
{
    *count = zlistx_size (list);
    char **array = (char **) controller_arena_new (self, (*count + 1) * sizeof (char *));
    size_t i = 0;
    for (char *name = (char *) zlistx_first (list); name; name = (char *) zlistx_next (list))
        array[i++] = name;
    return array;
}

//  Collects the VMs of a page; they are compared after the read, not during it.
static void
s_collect_vm (const void *row, void *arg)
{
    const store_vm_t *vm = (const store_vm_t *) row;
    vm_brief_t *brief = (vm_brief_t *) zmalloc (sizeof (vm_brief_t));
    snprintf (brief->name, sizeof brief->name, "%s", vm->name);
    snprintf (brief->state, sizeof brief->state, "%s", vm->state);
    brief->last_task = vm->last_task;
    zlistx_add_end ((zlistx_t *) arg, brief);
}

//  Compares one VM the database places on the host with what libvirt reports.
static void
s_reconcile_vm (controller_t *self, const char *host, const vm_brief_t *vm, zhashx_t *domains,
                found_t *found)
{
    Maekin__Domain *domain = (Maekin__Domain *) zhashx_lookup (domains, vm->name);
    if (domain)
        zhashx_delete (domains, vm->name);
    int state = controller_fsm_vm_parse (vm->state);
    if (state < 0 || !controller_fsm_vm_stable ((vm_state_t) state))
        return; //  a task is running on it; its result decides
    if (!domain) {
        //  libvirt lost it (a host reinstalled, a test driver restarted): the database
        //  says what should be, so the controller defines it again, and starts it if it ran.
        s_found_add (self, found->missing, vm->name);
        Maekin__VmOp op = state == VM_STOPPED || state == VM_ERROR ? MAEKIN__VM_OP__VM_OP_DEFINE
                                                                   : MAEKIN__VM_OP__VM_OP_CREATE;
        vm_transition_t to;
        const char *why;
        if (controller_fsm_vm ((vm_state_t) state, op, &to, &why) == 0) {
            uint64_t task =
                controller_task_new (self, vm->name, host, op, (vm_state_t) state, to, NULL);
            if (task)
                controller_task_vm_state (self, vm->name, to.busy, task,
                                          "missing from libvirt; repairing");
        }
        return;
    }
    int seen = controller_fsm_vm_parse (domain->state);
    if (seen >= 0 && seen != state && controller_fsm_vm_stable ((vm_state_t) seen)) {
        s_found_add (self, found->changed, vm->name);
        char detail[96];
        snprintf (detail, sizeof detail, "libvirt says %s (was %s)", domain->state, vm->state);
        controller_task_vm_state (self, vm->name, (vm_state_t) seen, vm->last_task, detail);
    }
}

//  Compares every VM the database places on a host with the host's full report.
void
controller_reconcile (controller_t *self, sched_host_t *host, Maekin__HostRegisterRequest *report,
                      Maekin__HostRegisterReply *answer)
{
    zhashx_t *domains = zhashx_new ();
    for (size_t i = 0; i < report->n_domains; i++)
        if (report->domains[i]->name)
            zhashx_insert (domains, report->domains[i]->name, report->domains[i]);
    found_t found = {zlistx_new (), zlistx_new ()};
    zlistx_t *vms = zlistx_new ();
    zlistx_set_destructor (vms, controller_free);
    char after[STORE_VM_KEY_MAX] = "";
    store_page_t page = {.limit = MK_LIST_MAX, .host = host->name, .after = after};
    int rows;
    do {
        //  A thousand at a time, so a host with many VMs costs no more memory than that.
        rows = store_vm_list (self->db, &page, s_collect_vm, vms);
        if (rows < 0) {
            self->failed = true;
            break;
        }
        for (vm_brief_t *vm = (vm_brief_t *) zlistx_first (vms); vm;
             vm = (vm_brief_t *) zlistx_next (vms)) {
            s_reconcile_vm (self, host->name, vm, domains, &found);
            snprintf (after, sizeof after, "%s", vm->name);
        }
        zlistx_purge (vms);
    } while (rows == (int) page.limit);
    zlistx_destroy (&vms);
    answer->missing = s_found_array (self, found.missing, &answer->n_missing);
    answer->changed = s_found_array (self, found.changed, &answer->n_changed);
    zlistx_destroy (&found.missing);
    zlistx_destroy (&found.changed);
    answer->unexpected =
        (char **) controller_arena_new (self, (zhashx_size (domains) + 1) * sizeof (char *));
    for (Maekin__Domain *d = (Maekin__Domain *) zhashx_first (domains); d;
         d = (Maekin__Domain *) zhashx_next (domains))
        answer->unexpected[answer->n_unexpected++] = controller_arena_str (self, d->name);
    zhashx_destroy (&domains);
    if (answer->n_missing || answer->n_changed || answer->n_unexpected)
        mk_info ("controller: host '%s' reconciled: %zu missing (repairing), %zu changed, "
                 "%zu unknown to the cloud",
                 host->name, answer->n_missing, answer->n_changed, answer->n_unexpected);
    //  Tasks that could not reach the host go out again now.
    for (inflight_t *t = (inflight_t *) zhashx_first (self->inflight); t;
         t = (inflight_t *) zhashx_next (self->inflight))
        if (!t->sent && streq (t->host, host->name))
            controller_task_retry_later (self, t, 1);
}

/*  controller_vm: the VM requests. A VM is found by VI and name or by UUID, and the
    caller's role in its VI decides what they may do (controller_vi). A create is checked
    against its VI's templates and quotas, placed, and written with its task in the
    batch's transaction: the controller is the one writer, and a batch's creates are
    counted against the quota one after another, so concurrent creates never exceed it. An
    action is checked against controller_fsm's VM table and becomes a task; shows and
    lists read the database. */
#include "controller_core.h"

#include "mk_name.h"
#include "mk_uuid.h"

//  ---------------------------------------------------------------- requests: VMs

static void
s_reply_accepted (controller_t *self, const mk_request_t *request, uint64_t task,
                  const store_vm_t *vm)
{
    Maekin__TaskAccepted accepted = MAEKIN__TASK_ACCEPTED__INIT;
    accepted.task_id = task;
    accepted.vm = controller_msg_vm (self, vm);
    controller_reply_body (self, request, MK_ACCEPTED, MAEKIN__ENVELOPE__BODY_TASK_ACCEPTED,
                           &accepted);
}

void
controller_vm_create (controller_t *self, const mk_request_t *request)
{
    Maekin__VmCreateRequest *create = request->env->vm_create;
    const char *why = mk_name_check (create->name);
    uint8_t uuid_form[16];
    if (!why && mk_uuid_parse (create->name, uuid_form) == 0)
        why = "may not have a UUID's form: it would be taken for one";
    if (why) {
        controller_reply_status (self, request, MK_BAD_REQUEST, "VM name %s", why);
        return;
    }
    vi_t *vi = controller_vi_resolve (self, request, create->vi, VI_OP_BUILD);
    if (!vi)
        return;
    //  The VI's own template of that name, else the cloud's.
    const char *tname = create->template_ ? create->template_ : "";
    char tkey[STORE_VM_KEY_MAX];
    store_template_key (tkey, sizeof tkey, vi->row.name, tname);
    const store_template_t *cached =
        mk_name_check (tname) ? NULL
                              : (const store_template_t *) zhashx_lookup (self->templates, tkey);
    if (!cached && !mk_name_check (tname))
        cached = (const store_template_t *) zhashx_lookup (self->templates, tname);
    if (!cached) {
        controller_reply_status (self, request, MK_NOT_FOUND,
                                 "no template named '%s' (maekinsh template list)",
                                 create->template_ ? create->template_ : "");
        return;
    }
    if (!controller_vis_template_ok (vi, cached->name)) {
        controller_reply_status (self, request, MK_FORBIDDEN,
                                 "VI '%s' may not use template '%s': the administrator gives "
                                 "templates (maekinsh vi template add)",
                                 vi->row.name, cached->name);
        return;
    }
    const store_template_t t = *cached;
    store_vm_t vm = {.spec = t.spec};
    char key[STORE_VM_KEY_MAX];
    store_vm_key (key, sizeof key, vi->row.name, create->name);
    //  A name the filter never saw is free: no question to the database.
    int rc = mk_bloom_maybe (self->vm_names, key) ? store_vm_get (self->db, key, &vm) : 0;
    if (rc != 0) {
        if (rc < 0)
            controller_reply_db_error (self, request);
        else
            controller_reply_status (self, request, MK_CONFLICT,
                                     "a VM named '%s' exists already in VI '%s' (%s on %s)",
                                     create->name, vi->row.name, vm.state, vm.host);
        return;
    }
    //  An address asked for: only of the VI's pool.
    const char *want_ip = create->ip ? create->ip : "";
    pool_t *pool = *vi->row.pool ? controller_pools_get (self->pools, vi->row.pool) : NULL;
    if (*want_ip && !pool) {
        controller_reply_status (self, request, MK_BAD_REQUEST,
                                 "VI '%s' has no IP pool: its VMs take no address (maekinsh vi "
                                 "pool %s POOL gives it one)",
                                 vi->row.name, vi->row.name);
        return;
    }
    char over[256];
    if (controller_vis_quota_check (vi, &t.spec, over, sizeof over)) {
        controller_reply_status (self, request, MK_FORBIDDEN,
                                 "over quota: %s (maekinsh vi show %s)", over, vi->row.name);
        return;
    }
    //  A host that does not exist is the caller's mistake; one that is down, a moment's.
    const char *want = create->host ? create->host : "";
    sched_host_t *wanted = *want ? controller_sched_host (self->sched, want) : NULL;
    if (*want && !wanted) {
        controller_reply_status (self, request, MK_NOT_FOUND,
                                 "no host named '%.64s' (maekinsh host list)", want);
        return;
    }
    if (wanted && !wanted->up) {
        controller_reply_status (self, request, MK_UNAVAILABLE,
                                 "host '%s' is %s; try again when its agent reports, or "
                                 "leave the host to the controller",
                                 wanted->name, controller_sched_state (wanted));
        return;
    }
    const char *reason = NULL;
    sched_host_t *host =
        controller_sched_place (self->sched, t.spec.vcpus, t.spec.memory_mb, create->host, &reason);
    size_t unknown = 0;
    for (size_t i = 0; !host && i < controller_sched_count (self->sched); i++)
        unknown += controller_sched_at (self->sched, i)->unknown;
    if (!host && unknown && !*want) {
        //  Right after a restart: the hosts are there, their agents not yet heard from.
        controller_reply_status (self, request, MK_UNAVAILABLE,
                                 "no room for '%s' yet: %zu host%s not reported since the "
                                 "controller started (agents report within seconds); retry",
                                 create->name, unknown, unknown == 1 ? " has" : "s have");
        return;
    }
    if (!host) {
        controller_reply_status (
            self, request, MK_INSUFFICIENT, "no room for '%s' (%u vCPU, %" PRIu64 " MiB)%s%s: %s",
            create->name, t.spec.vcpus, t.spec.memory_mb,
            create->host && *create->host ? " on " : "", create->host ? create->host : "", reason);
        return;
    }
    memset (&vm, 0, sizeof vm);
    vm.spec = t.spec;
    snprintf (vm.name, sizeof vm.name, "%s", key);
    snprintf (vm.vi, sizeof vm.vi, "%s", vi->row.name);
    snprintf (vm.template_, sizeof vm.template_, "%s", t.name);
    snprintf (vm.host, sizeof vm.host, "%s", host->name);
    snprintf (vm.state, sizeof vm.state, "%s", controller_fsm_vm_name (VM_CREATING));
    mk_uuid_t uuid;
    mk_uuid_new (&uuid);
    snprintf (vm.uuid, sizeof vm.uuid, "%s", uuid.text);
    if (controller_mac_next (&self->macs, self->db, vm.mac) != 0) {
        controller_reply_db_error (self, request);
        return;
    }
    //  Its address, in the batch that writes the VM: both or neither.
    store_lease_t lease = {.ip = ""};
    if (pool) {
        if (!controller_pool_take (self, request, pool, vm.name, vm.mac, want_ip, lease.ip))
            return;
        snprintf (lease.pool, sizeof lease.pool, "%s", pool->def.name);
        snprintf (lease.vm, sizeof lease.vm, "%s", vm.name);
        snprintf (lease.mac, sizeof lease.mac, "%s", vm.mac);
    }
    vm_transition_t to;
    controller_fsm_vm (VM_NONE, MAEKIN__VM_OP__VM_OP_CREATE, &to, &reason);
    uint64_t task =
        controller_task_new (self, vm.name, vm.host, MAEKIN__VM_OP__VM_OP_CREATE, VM_NONE, to, &vm);
    vm.last_task = task;
    vm.created = self->now;
    mk_bloom_add (self->vm_names, vm.name);
    if (!task || store_vm_insert (self->db, &vm, self->now) != 1
        || (pool && store_lease_insert (self->db, &lease, self->now) != 1)) {
        //  The batch is rolled back, and what is held in memory read again with it.
        controller_reply_db_error (self, request);
        return;
    }
    controller_sched_account (self->sched, host, t.spec.vcpus, t.spec.memory_mb, +1);
    controller_vis_use (vi, &t.spec, +1);
    controller_events_add (self->events, EVENTS_VM, vm.name, vm.name, vm.state, "", task);
    s_reply_accepted (self, request, task, &vm);
}

void
controller_vm_action (controller_t *self, const mk_request_t *request)
{
    Maekin__VmActionRequest *action = request->env->vm_action;
    Maekin__VmOp op = action->op;
    if (op < MAEKIN__VM_OP__VM_OP_START || op > MAEKIN__VM_OP__VM_OP_DELETE) {
        controller_reply_status (
            self, request, MK_BAD_REQUEST,
            "unknown VM operation %d (start, stop, reboot, suspend, resume, destroy "
            "or delete)",
            (int) op);
        return;
    }
    store_vm_t vm;
    vi_t *vi;
    bool builds = op == MAEKIN__VM_OP__VM_OP_DELETE;
    if (!controller_vi_vm (self, request, action->vi, action->name,
                           builds ? VI_OP_BUILD : VI_OP_OPERATE, &vm, &vi))
        return;
    const char *name = action->name;
    vm_state_t from = (vm_state_t) controller_fsm_vm_parse (vm.state);
    vm_transition_t to;
    const char *reason = NULL;
    if ((int) from < 0 || controller_fsm_vm (from, op, &to, &reason) != 0) {
        controller_reply_status (self, request, MK_CONFLICT, "cannot %s '%s', which is %s: %s",
                                 controller_fsm_op_name (op), name, vm.state,
                                 reason ? reason : "unknown state");
        return;
    }
    sched_host_t *host = controller_sched_host (self->sched, vm.host);
    if (!host || !host->up) {
        controller_reply_status (self, request, MK_UNAVAILABLE,
                                 "host '%s' of VM '%s' is %s; try again when its agent reports "
                                 "(maekinsh host list)",
                                 vm.host, name, host ? controller_sched_state (host) : "gone");
        return;
    }
    uint64_t task = controller_task_new (self, vm.name, vm.host, op, from, to, &vm);
    if (!task) {
        controller_reply_db_error (self, request);
        return;
    }
    controller_task_vm_state (self, vm.name, to.busy, task, "");
    snprintf (vm.state, sizeof vm.state, "%s", controller_fsm_vm_name (to.busy));
    vm.last_task = task;
    s_reply_accepted (self, request, task, &vm);
}

void
controller_vm_show (controller_t *self, const mk_request_t *request)
{
    const Maekin__VmShowRequest *ask = request->env->vm_show;
    store_vm_t vm;
    vi_t *vi;
    if (!controller_vi_vm (self, request, ask->vi, ask->name, VI_OP_SEE, &vm, &vi))
        return;
    Maekin__VmShowReply show = MAEKIN__VM_SHOW_REPLY__INIT;
    show.vm = controller_msg_vm (self, &vm);
    controller_reply_body (self, request, MK_OK, MAEKIN__ENVELOPE__BODY_VM_SHOW_REPLY, &show);
}

static void *
s_vm_item (controller_t *self, const void *row)
{
    return controller_msg_vm (self, (const store_vm_t *) row);
}

//  VMs are listed in the order of their keys: the cursor is the last VM's key.
static char *
s_vm_cursor (controller_t *self, const void *message)
{
    const Maekin__Vm *vm = (const Maekin__Vm *) message;
    char key[STORE_VM_KEY_MAX];
    store_vm_key (key, sizeof key, vm->vi, vm->name);
    return controller_arena_str (self, key);
}

void
controller_vm_list (controller_t *self, const mk_request_t *request)
{
    store_page_t page;
    char key[STORE_VM_KEY_MAX];
    const Maekin__ListRequest *ask = request->env->vm_list->page;
    if (controller_list_page (self, request, ask, controller_fsm_vm_names (), controller_vi_key_ok,
                              &page)
            == 0
        && controller_vi_scope (self, request, ask, &page, key) == 0)
        controller_list_reply (self, request, &page, store_vm_list, s_vm_item, s_vm_cursor,
                               MAEKIN__ENVELOPE__BODY_VM_LIST_REPLY);
}

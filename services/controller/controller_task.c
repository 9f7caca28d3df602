/*  controller_task: the task lifecycle. A task is born with its state change in one
    transaction (controller_task_new), moves through the states of controller_fsm's task
    table as its agent answers, and ends once (controller_task_finish), moving its VM to
    the state the VM table says; clients waiting for it are answered then. */
#include "controller_core.h"

#include <ctype.h>
#include <errno.h>

//  ---------------------------------------------------------------- tasks

//  Dispatch a task again at `at` (mono ms): the tick looks at this list only.
void
controller_task_retry_later (controller_t *self, inflight_t *task, int64_t at)
{
    task->retry_at = at;
    if (!task->retrying) {
        task->retrying = true;
        zlistx_add_end (self->retries, ID_KEY (task->id));
    }
}

//  A task's dispatch to its agent, packed: the op and the VM's spec.
zframe_t *
controller_task_frame (controller_t *self, const inflight_t *task, const store_vm_t *vm)
{
    Maekin__VmSpec spec = MAEKIN__VM_SPEC__INIT;
    spec.name = (char *) vm->name;
    spec.uuid = (char *) vm->uuid;
    spec.vcpus = vm->spec.vcpus;
    spec.memory_mb = vm->spec.memory_mb;
    spec.disk_gb = vm->spec.disk_gb;
    spec.image = (char *) vm->spec.image;
    spec.os_type = (char *) vm->spec.os_type;
    spec.network = (char *) vm->spec.network;
    spec.kernel = (char *) vm->spec.kernel;
    spec.initrd = (char *) vm->spec.initrd;
    spec.cmdline = (char *) vm->spec.cmdline;
    spec.mac = (char *) vm->mac;
    pool_t *pool = NULL;
    const char *ip = controller_pools_ip_of (self->pools, vm->name, &pool);
    if (ip) {
        spec.ip = (char *) ip;
        spec.bridge = pool->def.bridge;
    }
    Maekin__TaskDispatchRequest dispatch = MAEKIN__TASK_DISPATCH_REQUEST__INIT;
    dispatch.task_id = task->id;
    dispatch.op = task->op;
    dispatch.vm = &spec;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_TASK_DISPATCH;
    env.task_dispatch = &dispatch;
    return mk_msg_pack (&env);
}

//  Moves a VM to a state: its row and its event (a deleted VM's row is removed).
void
controller_task_vm_state (controller_t *self, const char *vm, vm_state_t state, uint64_t task,
                          const char *detail)
{
    int rc = store_vm_set_state (self->db, vm, controller_fsm_vm_name (state), task, self->now);
    if (rc < 0)
        self->failed = true;
    controller_events_add (self->events, EVENTS_VM, vm, vm, controller_fsm_vm_name (state), detail,
                           task);
}

//  Creates a task for a VM: the task row, its event, and its place in the dispatch queue.
//  The caller has checked the transition; `spec`, the VM's row, if the caller has it.
//  The task id, or 0 after a database error.
uint64_t
controller_task_new (controller_t *self, const char *vm, const char *host, Maekin__VmOp op,
                     vm_state_t from, vm_transition_t to, const store_vm_t *spec)
{
    store_task_t row = {.id = self->next_task, .op = op};
    snprintf (row.vm, sizeof row.vm, "%s", vm);
    snprintf (row.host, sizeof row.host, "%s", host);
    snprintf (row.state, sizeof row.state, "%s", controller_fsm_task_name (TASK_QUEUED));
    snprintf (row.from_state, sizeof row.from_state, "%s", controller_fsm_vm_name (from));
    if (store_task_insert (self->db, &row, self->now) != 1) {
        self->failed = true;
        return 0;
    }
    uint64_t id = self->next_task++;
    inflight_t *task = (inflight_t *) zmalloc (sizeof (inflight_t));
    task->id = id;
    snprintf (task->vm, sizeof task->vm, "%s", vm);
    snprintf (task->host, sizeof task->host, "%s", host);
    task->op = op;
    task->state = TASK_QUEUED;
    task->to = to;
    task->deadline = zclock_mono () + self->opts.task_timeout_ms;
    task->accepted_us = controller_stats_now_us ();
    //  Packed now, while the VM's row is at hand: dispatching reads nothing again.
    if (spec)
        task->packed = controller_task_frame (self, task, spec);
    zhashx_insert (self->inflight, ID_KEY (id), task);
    zlistx_add_end (self->dispatch, ID_KEY (id));
    char detail[128];
    snprintf (detail, sizeof detail, "%s %s on %s", controller_fsm_op_name (op), vm, host);
    char subject[24];
    snprintf (subject, sizeof subject, "%" PRIu64, task->id);
    controller_events_add (self->events, EVENTS_TASK, subject, vm, "queued", detail, task->id);
    self->accepted++;
    return task->id;
}

//  Answers the clients waiting for a task (their replies go out after the commit).
void
controller_task_waiters_answer (controller_t *self, uint64_t task_id, bool final)
{
    store_task_t row;
    bool found = false;
    for (waiter_t *w = (waiter_t *) zlistx_first (self->waiters); w;
         w = (waiter_t *) zlistx_next (self->waiters)) {
        if (w->task != task_id || (!final && w->deadline > zclock_mono ()))
            continue;
        if (!found) {
            int rc = store_task_get (self->db, task_id, &row);
            if (rc < 0) {
                self->failed = true;
                return;
            }
            if (rc == 0) {
                //  A task that never was (its batch rolled back): say so, once.
                Maekin__Envelope gone = MAEKIN__ENVELOPE__INIT;
                gone.version = MK_MSG_VERSION;
                gone.status = MK_NOT_FOUND;
                gone.reason = "no such task";
                zframe_t *frame = mk_msg_pack (&gone);
                controller_reply_queue (self, w->token, &frame);
                zlistx_delete (self->waiters, zlistx_cursor (self->waiters));
                continue;
            }
        }
        found = true;
        Maekin__TaskShowReply show = MAEKIN__TASK_SHOW_REPLY__INIT;
        show.task = controller_msg_task (self, &row);
        Maekin__Envelope reply = MAEKIN__ENVELOPE__INIT;
        reply.version = MK_MSG_VERSION;
        reply.status = final ? MK_OK : MK_ACCEPTED;
        reply.body_case = MAEKIN__ENVELOPE__BODY_TASK_SHOW_REPLY;
        reply.task_show_reply = &show;
        zframe_t *frame = mk_msg_pack (&reply);
        controller_reply_queue (self, w->token, &frame);
        controller_arena_reset (self);
        zlistx_delete (self->waiters, zlistx_cursor (self->waiters));
    }
}

//  Records a task's new state (not final): its event, and its row if `persist`.
//  "dispatched" is not written to the row: a restart dispatches every open task again
//  anyway, so the row would only cost a write per task; the event stream has it, and
//  reads of a task show the state held here.
void
controller_task_progress (controller_t *self, inflight_t *task, task_state_t state, bool persist)
{
    if (!controller_fsm_task_allowed (task->state, state))
        return;
    task->state = state;
    if (persist
        && store_task_update (self->db, task->id, controller_fsm_task_name (state), "",
                              task->attempts, self->now)
               < 0)
        self->failed = true;
    char subject[24];
    snprintf (subject, sizeof subject, "%" PRIu64, task->id);
    controller_events_add (self->events, EVENTS_TASK, subject, task->vm,
                           controller_fsm_task_name (state), "", task->id);
}

//  Ends a task: the task row, the VM's new state (libvirt's word wins on failure), the
//  events, the capacity of a deleted VM, the waiting clients.
void
controller_task_finish (controller_t *self, inflight_t *task, bool ok, const char *error,
                        const char *observed)
{
    task_state_t final = ok ? TASK_DONE : TASK_FAILED;
    if (!controller_fsm_task_allowed (task->state, final)) {
        mk_warn ("controller: task %" PRIu64 " cannot go from %s to %s; ignored", task->id,
                 controller_fsm_task_name (task->state), controller_fsm_task_name (final));
        return;
    }
    if (!ok)
        mk_warn ("controller: task %" PRIu64 " (%s %s on %s) failed: %s", task->id,
                 controller_fsm_op_name (task->op), task->vm, task->host, error);
    if (store_task_update (self->db, task->id, controller_fsm_task_name (final), ok ? "" : error,
                           task->attempts, self->now)
        < 0)
        self->failed = true;
    char subject[24];
    snprintf (subject, sizeof subject, "%" PRIu64, task->id);
    controller_events_add (self->events, EVENTS_TASK, subject, task->vm,
                           controller_fsm_task_name (final), ok ? "" : error, task->id);

    vm_state_t next = ok ? task->to.done : task->to.failed;
    int seen = observed && *observed ? controller_fsm_vm_parse (observed) : -1;
    if (!ok && seen >= 0 && controller_fsm_vm_stable ((vm_state_t) seen))
        next = (vm_state_t) seen;
    if (next == VM_DELETED) {
        store_vm_t vm;
        int rc = store_vm_get (self->db, task->vm, &vm);
        if (rc == 1) {
            sched_host_t *host = controller_sched_host (self->sched, vm.host);
            if (host)
                controller_sched_account (self->sched, host, vm.spec.vcpus, vm.spec.memory_mb, -1);
            vi_t *vi = controller_vis_get (self->vis, vm.vi);
            if (vi)
                controller_vis_use (vi, &vm.spec, -1);
            if (store_vm_delete (self->db, task->vm) < 0)
                self->failed = true;
            //  Its address is free again, in the batch that forgets the VM.
            pool_t *pool = NULL;
            const char *ip = controller_pools_ip_of (self->pools, task->vm, &pool);
            if (ip) {
                char held[MK_IP_TEXT];
                snprintf (held, sizeof held, "%s", ip);
                if (store_lease_delete (self->db, task->vm) < 0)
                    self->failed = true;
                controller_pools_give (self->pools, pool, held);
            }
            controller_events_add (self->events, EVENTS_VM, task->vm, task->vm, "deleted", "",
                                   task->id);
        } else if (rc < 0)
            self->failed = true;
    } else
        controller_task_vm_state (self, task->vm, next, task->id, ok ? "" : error);
    task->state = final;
    self->finished++;
    controller_stats_task_end (self, task, final);
    controller_task_waiters_answer (self, task->id, true);
    zhashx_delete (self->inflight, ID_KEY (task->id));
}

//  ---------------------------------------------------------------- requests: tasks, events

//  Retries that are due, at most RETRIES_PER_TICK of them a tick, so that thousands held
//  for an agent that is away go out over a few ticks, not in one batch that stalls every
//  request behind it; entries whose task ended or went out are dropped.
#define RETRIES_PER_TICK 1024
static void
s_retries_due (controller_t *self, int64_t mono)
{
    size_t due = 0;
    for (void *key = zlistx_first (self->retries); key && due < RETRIES_PER_TICK;
         key = zlistx_next (self->retries)) {
        inflight_t *task = (inflight_t *) zhashx_lookup (self->inflight, key);
        if (task && !task->sent && task->retry_at > mono)
            continue;
        if (task && !task->sent) {
            sched_host_t *host = controller_sched_host (self->sched, task->host);
            if (host && host->up) {
                zlistx_add_end (self->dispatch, key);
                due++;
            }
        }
        if (task) {
            task->retry_at = 0;
            task->retrying = false;
        }
        zlistx_delete (self->retries, zlistx_cursor (self->retries));
    }
}

//  Overdue tasks, and tasks whose dispatch went unanswered: a sweep of all open tasks,
//  once a second, not every tick.
static void
s_sweep (controller_t *self, int64_t mono)
{
    if (mono < self->next_sweep)
        return;
    self->next_sweep = mono + 1000;
    zlistx_t *expired = zlistx_new ();
    for (inflight_t *task = (inflight_t *) zhashx_first (self->inflight); task;
         task = (inflight_t *) zhashx_next (self->inflight)) {
        if (task->deadline < mono)
            zlistx_add_end (expired, task);
        else if (task->sent && mono - task->sent_at > REDISPATCH_MS) {
            mk_info ("controller: task %" PRIu64 ": no answer from host '%s' in %d s; "
                     "sending it again",
                     task->id, task->host, REDISPATCH_MS / 1000);
            task->sent = false;
            controller_task_retry_later (self, task, mono);
        }
    }
    //  A batch unanswered for this long is lost with its broker; its tasks went out
    //  again (above) and a late answer would find them answered or in a new batch.
    zlistx_t *lost = zlistx_new ();
    for (batch_t *batch = (batch_t *) zhashx_first (self->batches); batch;
         batch = (batch_t *) zhashx_next (self->batches))
        if (mono - batch->sent_at > 3 * REDISPATCH_MS)
            zlistx_add_end (lost, (void *) zhashx_cursor (self->batches));
    for (void *corr = zlistx_first (lost); corr; corr = zlistx_next (lost))
        zhashx_delete (self->batches, corr);
    zlistx_destroy (&lost);
    for (inflight_t *task = (inflight_t *) zlistx_first (expired); task;
         task = (inflight_t *) zlistx_next (expired)) {
        char error[160];
        snprintf (error, sizeof error, "no answer from host '%s' within %d s", task->host,
                  self->opts.task_timeout_ms / 1000);
        controller_task_finish (self, task, false, error, NULL);
    }
    zlistx_destroy (&expired);
}

void
controller_task_tick (controller_t *self, int64_t mono)
{
    s_retries_due (self, mono);
    s_sweep (self, mono);
    //  Waits that ended: the tasks first (answering changes the list), then each task's.
    zlistx_t *ended = zlistx_new ();
    for (waiter_t *w = (waiter_t *) zlistx_first (self->waiters); w;
         w = (waiter_t *) zlistx_next (self->waiters))
        if (w->deadline <= mono && !zlistx_find (ended, ID_KEY (w->task)))
            zlistx_add_end (ended, ID_KEY (w->task));
    for (void *task = zlistx_first (ended); task; task = zlistx_next (ended))
        controller_task_waiters_answer (self, (uint64_t) (uintptr_t) task, false);
    zlistx_destroy (&ended);
}

static void *
s_task_item (controller_t *self, const void *row)
{
    return controller_msg_task (self, (const store_task_t *) row);
}

//  Tasks are listed newest first: the cursor is the last task's id.
static char *
s_task_cursor (controller_t *self, const void *message)
{
    return controller_arena_strf (self, "%" PRIu64, ((const Maekin__Task *) message)->id);
}

static bool
s_task_cursor_ok (const char *text)
{
    char *end = NULL;
    errno = 0;
    unsigned long long id = strtoull (text, &end, 10);
    return isdigit ((unsigned char) *text) && *end == '\0' && errno == 0 && id > 0
           && id <= INT64_MAX;
}

void
controller_task_list (controller_t *self, const mk_request_t *request)
{
    store_page_t page;
    char key[STORE_VM_KEY_MAX];
    const Maekin__ListRequest *ask = request->env->task_list->page;
    if (controller_list_page (self, request, ask, controller_fsm_task_names (), s_task_cursor_ok,
                              &page)
            == 0
        && controller_vi_scope (self, request, ask, &page, key) == 0)
        controller_list_reply (self, request, &page, store_task_list, s_task_item, s_task_cursor,
                               MAEKIN__ENVELOPE__BODY_TASK_LIST_REPLY);
}

//  Show a task now, or (wait) when it ends or its wait times out.
static void
s_task_show (controller_t *self, const mk_request_t *request, uint64_t id, bool wait,
             uint32_t timeout_ms)
{
    store_task_t row;
    int rc = store_task_get (self->db, id, &row);
    if (rc == 1 && !controller_vi_sees (self, row.vm))
        rc = 0; //  another VI's task: not to be told from none
    if (rc != 1) {
        if (rc < 0)
            controller_reply_db_error (self, request);
        else
            controller_reply_status (self, request, MK_NOT_FOUND,
                                     "no task %" PRIu64 " (maekinsh task list)", id);
        return;
    }
    int state = controller_fsm_task_parse (row.state);
    if (wait && state >= 0 && !controller_fsm_task_final ((task_state_t) state)) {
        waiter_t *waiter = (waiter_t *) zmalloc (sizeof (waiter_t));
        waiter->token = request->token;
        waiter->task = id;
        waiter->deadline =
            zclock_mono () + (timeout_ms && timeout_ms < WAIT_MAX_MS ? timeout_ms : WAIT_MAX_MS);
        zlistx_add_end (self->waiters, waiter);
        return;
    }
    Maekin__TaskShowReply show = MAEKIN__TASK_SHOW_REPLY__INIT;
    show.task = controller_msg_task (self, &row);
    controller_reply_body (self, request, MK_OK, MAEKIN__ENVELOPE__BODY_TASK_SHOW_REPLY, &show);
}

void
controller_task_show (controller_t *self, const mk_request_t *request)
{
    s_task_show (self, request, request->env->task_show->id, false, 0);
}

//  Answered when the task ends, or when the wait's time is up (then 202 with the task as
//  it stands). timeout_ms 0 waits for the longest a wait may take, WAIT_MAX_MS.
void
controller_task_wait (controller_t *self, const mk_request_t *request)
{
    const Maekin__TaskWaitRequest *wait = request->env->task_wait;
    s_task_show (self, request, wait->id, true, wait->timeout_ms);
}

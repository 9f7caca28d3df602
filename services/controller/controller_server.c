/*  controller_server: the global controller as an actor. */
#include "controller_server.h"

#include "controller_auth.h"
#include "controller_events.h"
#include "controller_fsm.h"
#include "controller_sched.h"
#include "controller_store.h"
#include "mk_bloom.h"
#include "mk_client.h"
#include "mk_db.h"
#include "mk_msg.h"
#include "mk_name.h"
#include "mk_sock.h"
#include "mk_uuid.h"
#include "mk_wire.h"
#include "mk_worker.h"

#include <stdarg.h>
#include <stddef.h>

#define LIST_DEFAULT 100
#define LIST_MAX 1000
#define WAIT_MAX_MS 300000
#define TICK_MS 250
//  A dispatch unanswered this long is sent again (the broker that held it may have died;
//  agents are idempotent by task id, so a second copy does no harm).
#define REDISPATCH_MS 10000
//  Tasks in one task_batch to an agent process, at most: enough to pay one round trip
//  for many tasks, few enough that an agent has several batches in hand and works on
//  the next while the controller commits the answers to the last (measured: 16 to 128
//  do about as well with 256 creates in flight; 512 in one batch leaves both idle in
//  turn and is a third slower).
#define BATCH_MAX 64
//  Correlation ids: a task's dispatch is its task id; a task batch has bit 62 set; a
//  question asked of an agent for a client has bit 63 set.
#define CORR_BATCH (1ULL << 62)
#define CORR_ASK (1ULL << 63)
//  Request ids and VM names the filters hold at about 1% false positives; past that they
//  are rebuilt from the database (see s_filters_load).
#define FILTER_CAPACITY 500000
//  Who holds the database's claim, as messages name it.
#define ROLE "maekin-controller"

//  A task not yet final, as the controller follows it. Rebuilt from the database at start.
typedef struct {
    uint64_t id;
    char vm[64];
    char host[64];
    Maekin__VmOp op;
    task_state_t state;
    vm_transition_t to;     //  the VM's states while running, on success, on failure
    uint32_t attempts;      //  dispatches so far
    int64_t deadline;       //  fails after this if unanswered (mono ms)
    int64_t retry_at;       //  dispatch again at this time (mono ms), 0: not scheduled
    bool sent;              //  a dispatch is on the bus now
    int64_t sent_at;        //  when it was sent, or last said it is running (mono ms)
    bool marked;            //  its dispatch is recorded in the database
    bool retrying;          //  its id is in the server's retry list
    zframe_t *packed;       //  its dispatch, packed when it was accepted; NULL once sent
} inflight_t;

//  Tasks sent in one task_batch to an agent process: their ids, in the batch's order.
typedef struct {
    int64_t sent_at;        //  mono ms
    size_t count;
    uint64_t ids[];
} batch_t;

//  A client waiting for a task to end (TaskWaitRequest).
typedef struct {
    uint64_t token;
    uint64_t task;
    int64_t deadline;       //  answer 202 with the task as it stands after this (mono ms)
} waiter_t;

//  A reply to send once the batch commits.
typedef struct {
    uint64_t token;
    zframe_t *body;
} outgoing_t;

typedef struct {
    controller_opts_t opts;
    zsock_t *pipe;          //  our actor pipe
    mk_db_t *db;            //  the cloud's state
    mk_worker_t *worker;    //  serves `cloud`
    mk_client_t *client;    //  dispatches tasks to node/<host>
    zsock_t *pub;           //  publishes events to the broker's stream
    controller_sched_t *sched;      //  hosts and placement
    controller_events_t *events;    //  the event streams
    zhashx_t *inflight;     //  task id -> inflight_t (owned)
    zhashx_t *templates;    //  name -> store_template_t (owned): few, read by every create
    zhashx_t *asks;         //  correlation id of a question to an agent -> the asker's token
    uint64_t next_ask;      //  the next such correlation id (high bit set: never a task id)
    zhashx_t *batches;      //  correlation id of a task_batch on the bus -> batch_t (owned)
    mk_bloom_t *request_ids; //  every request id stored: most new ones need no lookup
    mk_bloom_t *vm_names;   //  every VM name stored: most new names need no lookup
    uint64_t next_batch;    //  the next task_batch's number
    zlistx_t *waiters;      //  waiter_t (owned)
    zlistx_t *out;          //  outgoing_t: replies of this batch (owned)
    zlistx_t *dispatch;     //  task ids to dispatch after this batch commits
    zlistx_t *marks;        //  task ids dispatched, to record as such in the next batch
    zlistx_t *retries;      //  task ids with a retry_at, so a tick reads these, not all tasks
    int64_t next_sweep;     //  when to look for overdue tasks (mono ms)
    zlistx_t *arena;        //  what the reply being built allocated
    bool failed;            //  a database error spoiled this batch
    bool reload;            //  the state in memory must be read from the database again
    int db_away;            //  ms to wait before trying the database again; 0 while it works
    int write_backoff;      //  ms between tries while the database refuses writes; 0: it takes them
    int64_t write_retry_at; //  when to try writing again (mono ms)
    char write_error[200];  //  why the last write failed, for the callers refused meanwhile
    int64_t now;            //  unix seconds at the start of this batch
    int64_t next_tick;      //  when to check hosts, tasks and waiters (mono ms)
    int64_t last_tick;      //  when they were last checked (mono ms)
    int64_t next_expiry;    //  when to forget old request ids (mono ms)
    uint64_t accepted;      //  tasks accepted since start
    uint64_t finished;      //  tasks finished since start
    bool claimed;           //  this controller holds the database's claim
    bool lost;              //  another controller took it over: stop at once
    int64_t next_claim;     //  when to renew the claim (mono ms)
} server_t;

//  ---------------------------------------------------------------- small helpers

static int s_filters_load (server_t *self);

static size_t
s_id_hash (const void *key)
{
    return (size_t) (((uint64_t) (uintptr_t) key) * 0x9E3779B97F4A7C15ULL >> 17);
}

static int
s_id_compare (const void *a, const void *b)
{
    uintptr_t x = (uintptr_t) a, y = (uintptr_t) b;
    return x < y ? -1 : x > y;
}

#define ID_KEY(id) ((void *) (uintptr_t) (id))

static void
s_free (void **item)
{
    free (*item);
    *item = NULL;
}

static void
s_inflight_free (void **item)
{
    inflight_t *task = (inflight_t *) *item;
    zframe_destroy (&task->packed);
    free (task);
    *item = NULL;
}

//  A task's dispatch to its agent, packed: the op and the VM's spec.
static zframe_t *
s_dispatch_frame (const inflight_t *task, const store_vm_t *vm)
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
    Maekin__TaskDispatchRequest dispatch = MAEKIN__TASK_DISPATCH_REQUEST__INIT;
    dispatch.task_id = task->id;
    dispatch.op = task->op;
    dispatch.vm = &spec;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_TASK_DISPATCH;
    env.task_dispatch = &dispatch;
    return mk_msg_pack (&env);
}

static void
s_outgoing_free (void **item)
{
    outgoing_t *out = (outgoing_t *) *item;
    zframe_destroy (&out->body);
    free (out);
    *item = NULL;
}

static void *
s_new (server_t *self, size_t size)
{
    void *memory = zmalloc (size);
    zlistx_add_end (self->arena, memory);
    return memory;
}

static char *
s_str (server_t *self, const char *text)
{
    char *copy = strdup (text ? text : "");
    zlistx_add_end (self->arena, copy);
    return copy;
}

static char *
s_strf (server_t *self, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    char *text = zsys_vprintf (format, args);
    va_end (args);
    zlistx_add_end (self->arena, text);
    return text;
}

static bool
s_mutating (Maekin__Envelope__BodyCase body)
{
    return body == MAEKIN__ENVELOPE__BODY_TEMPLATE_CREATE
           || body == MAEKIN__ENVELOPE__BODY_TEMPLATE_DELETE
           || body == MAEKIN__ENVELOPE__BODY_VM_CREATE || body == MAEKIN__ENVELOPE__BODY_VM_ACTION;
}

//  Requests that write to the database (the mutating ones, and agents' reports and
//  events, which may change hosts and VMs).
static bool
s_writes (Maekin__Envelope__BodyCase body)
{
    return s_mutating (body) || body == MAEKIN__ENVELOPE__BODY_HOST_REGISTER
           || body == MAEKIN__ENVELOPE__BODY_DOMAIN_EVENT;
}

static void
s_queue (server_t *self, uint64_t token, zframe_t **body_p)
{
    outgoing_t *out = (outgoing_t *) zmalloc (sizeof (outgoing_t));
    out->token = token;
    out->body = *body_p;
    *body_p = NULL;
    zlistx_add_end (self->out, out);
}

//  Queue the reply to a request; a mutating request's answer is remembered by its id.
static void
s_reply (server_t *self, const mk_request_t *request, Maekin__Envelope *reply)
{
    reply->version = MK_MSG_VERSION;
    zframe_t *frame = mk_msg_pack (reply);
    const char *id = request->env->request_id;
    if (id && *id && s_mutating (request->env->body_case) && reply->status < 500) {
        if (store_request_save (self->db, id, zframe_data (frame), zframe_size (frame)) == -1)
            self->failed = true;
        mk_bloom_add (self->request_ids, id);
    }
    s_queue (self, request->token, &frame);
    zlistx_purge (self->arena);
}

//  Queue a reply holding one message of the envelope's oneof. protobuf-c keeps the oneof's
//  members in one union, so the message is stored once whatever its type; body says which.
_Static_assert (offsetof (Maekin__Envelope, host_list)
                    == offsetof (Maekin__Envelope, events_since_reply),
                "the envelope's oneof members share one place");

static void
s_reply_body (server_t *self, const mk_request_t *request, int status,
              Maekin__Envelope__BodyCase body, void *message)
{
    Maekin__Envelope reply = MAEKIN__ENVELOPE__INIT;
    reply.status = status;
    reply.body_case = body;
    reply.host_list = (Maekin__HostListRequest *) message;
    s_reply (self, request, &reply);
}

static void
s_reply_status (server_t *self, const mk_request_t *request, int status, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    char *reason = zsys_vprintf (format, args);
    va_end (args);
    Maekin__Envelope reply = MAEKIN__ENVELOPE__INIT;
    reply.status = status;
    reply.reason = reason;
    s_reply (self, request, &reply);
    free (reason);
}

//  A database error: the batch will be rolled back; the client hears 503 then.
static void
s_reply_db_error (server_t *self, const mk_request_t *request)
{
    self->failed = true;
    s_reply_status (self, request, MK_UNAVAILABLE, "database error: %s", mk_db_error (self->db));
}

static uint32_t
s_limit (const Maekin__ListRequest *page)
{
    uint32_t limit = page && page->limit ? page->limit : LIST_DEFAULT;
    return limit > LIST_MAX ? LIST_MAX : limit;
}

static store_page_t
s_page (const Maekin__ListRequest *page)
{
    store_page_t result = {.limit = s_limit (page)};
    if (page) {
        result.after = page->after;
        result.host = page->filter_host;
        result.state = page->filter_state;
        result.prefix = page->filter_name;
    }
    return result;
}

//  ---------------------------------------------------------------- messages from rows

static Maekin__Task *
s_task_msg (server_t *self, const store_task_t *row)
{
    Maekin__Task *task = (Maekin__Task *) s_new (self, sizeof (Maekin__Task));
    maekin__task__init (task);
    task->id = row->id;
    task->vm = s_str (self, row->vm);
    task->host = s_str (self, row->host);
    task->op = (Maekin__VmOp) row->op;
    task->state = s_str (self, row->state);
    //  An open task's state and attempts as the controller holds them (see s_task_progress).
    const inflight_t *open = (const inflight_t *) zhashx_lookup (self->inflight, ID_KEY (row->id));
    if (open) {
        task->state = (char *) controller_fsm_task_name (open->state);
        task->attempts = open->attempts;
    }
    task->error = s_str (self, row->error);
    task->created = row->created;
    task->updated = row->updated;
    if (!open)
        task->attempts = row->attempts;
    return task;
}

static Maekin__Vm *
s_vm_msg (server_t *self, const store_vm_t *row)
{
    Maekin__Vm *vm = (Maekin__Vm *) s_new (self, sizeof (Maekin__Vm));
    maekin__vm__init (vm);
    vm->name = s_str (self, row->name);
    vm->uuid = s_str (self, row->uuid);
    vm->template_ = s_str (self, row->template_);
    vm->host = s_str (self, row->host);
    vm->state = s_str (self, row->state);
    vm->vcpus = row->spec.vcpus;
    vm->memory_mb = row->spec.memory_mb;
    vm->created = row->created;
    vm->last_task = row->last_task;
    vm->mac = s_str (self, row->mac);
    return vm;
}

static Maekin__Template *
s_template_msg (server_t *self, const store_template_t *row)
{
    Maekin__Template *t = (Maekin__Template *) s_new (self, sizeof (Maekin__Template));
    maekin__template__init (t);
    t->name = s_str (self, row->name);
    t->vcpus = row->spec.vcpus;
    t->memory_mb = row->spec.memory_mb;
    t->disk_gb = row->spec.disk_gb;
    t->image = s_str (self, row->spec.image);
    t->os_type = s_str (self, row->spec.os_type);
    t->network = s_str (self, row->spec.network);
    t->kernel = s_str (self, row->spec.kernel);
    t->initrd = s_str (self, row->spec.initrd);
    t->cmdline = s_str (self, row->spec.cmdline);
    t->created = row->created;
    return t;
}

static Maekin__Host *
s_host_msg (server_t *self, const sched_host_t *row)
{
    Maekin__Host *host = (Maekin__Host *) s_new (self, sizeof (Maekin__Host));
    maekin__host__init (host);
    host->name = s_str (self, row->name);
    host->state = s_str (self, row->up ? "up" : "down");
    host->vcpus = row->vcpus;
    host->memory_mb = row->memory_mb;
    host->vcpus_used = row->vcpus_used;
    host->memory_mb_used = row->memory_mb_used;
    host->vm_count = row->vm_count;
    host->last_seen = row->last_seen;
    host->uri = s_str (self, row->uri);
    return host;
}

//  ---------------------------------------------------------------- tasks

//  Dispatch a task again at `at` (mono ms): the tick looks at this list only.
static void
s_retry_later (server_t *self, inflight_t *task, int64_t at)
{
    task->retry_at = at;
    if (!task->retrying) {
        task->retrying = true;
        zlistx_add_end (self->retries, ID_KEY (task->id));
    }
}

//  Creates a task for a VM: the task row, its event, and its place in the dispatch queue.
//  The caller has checked the transition; `spec`, the VM's row, if the caller has it.
//  The task id, or 0 after a database error.
static uint64_t
s_task_new (server_t *self, const char *vm, const char *host, Maekin__VmOp op,
            vm_state_t from, vm_transition_t to, const store_vm_t *spec)
{
    store_task_t row = {.op = op};
    snprintf (row.vm, sizeof row.vm, "%s", vm);
    snprintf (row.host, sizeof row.host, "%s", host);
    snprintf (row.state, sizeof row.state, "%s", controller_fsm_task_name (TASK_QUEUED));
    snprintf (row.from_state, sizeof row.from_state, "%s", controller_fsm_vm_name (from));
    int64_t id = store_task_insert (self->db, &row, self->now);
    if (id <= 0) {
        self->failed = true;
        return 0;
    }
    inflight_t *task = (inflight_t *) zmalloc (sizeof (inflight_t));
    task->id = (uint64_t) id;
    snprintf (task->vm, sizeof task->vm, "%s", vm);
    snprintf (task->host, sizeof task->host, "%s", host);
    task->op = op;
    task->state = TASK_QUEUED;
    task->to = to;
    task->deadline = zclock_mono () + self->opts.task_timeout_ms;
    //  Packed now, while the VM's row is at hand: dispatching reads nothing again.
    if (spec)
        task->packed = s_dispatch_frame (task, spec);
    zhashx_insert (self->inflight, ID_KEY (id), task);
    zlistx_add_end (self->dispatch, ID_KEY (id));
    char detail[128];
    snprintf (detail, sizeof detail, "%s %s on %s", controller_fsm_op_name (op), vm, host);
    char subject[24];
    snprintf (subject, sizeof subject, "%" PRIu64, task->id);
    controller_events_add (self->events, EVENTS_TASK, subject, "queued", detail, task->id);
    self->accepted++;
    return task->id;
}

//  Moves a VM to a state: its row and its event (a deleted VM's row is removed).
static void
s_vm_set_state (server_t *self, const char *vm, vm_state_t state, uint64_t task,
                const char *detail)
{
    int rc = store_vm_set_state (self->db, vm, controller_fsm_vm_name (state), task, self->now);
    if (rc < 0)
        self->failed = true;
    controller_events_add (self->events, EVENTS_VM, vm, controller_fsm_vm_name (state), detail,
                           task);
}

//  Answers the clients waiting for a task (their replies go out after the commit).
static void
s_waiters_answer (server_t *self, uint64_t task_id, bool final)
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
                s_queue (self, w->token, &frame);
                zlistx_delete (self->waiters, zlistx_cursor (self->waiters));
                continue;
            }
        }
        found = true;
        Maekin__TaskShowReply show = MAEKIN__TASK_SHOW_REPLY__INIT;
        show.task = s_task_msg (self, &row);
        Maekin__Envelope reply = MAEKIN__ENVELOPE__INIT;
        reply.version = MK_MSG_VERSION;
        reply.status = final ? MK_OK : MK_ACCEPTED;
        reply.body_case = MAEKIN__ENVELOPE__BODY_TASK_SHOW_REPLY;
        reply.task_show_reply = &show;
        zframe_t *frame = mk_msg_pack (&reply);
        s_queue (self, w->token, &frame);
        zlistx_purge (self->arena);
        zlistx_delete (self->waiters, zlistx_cursor (self->waiters));
    }
}

//  Records a task's new state (not final): its event, and its row if `persist`.
//  "dispatched" is not written to the row: a restart dispatches every open task again
//  anyway, so the row would only cost a write per task; the event stream has it, and
//  reads of a task show the state held here.
static void
s_task_progress (server_t *self, inflight_t *task, task_state_t state, bool persist)
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
    controller_events_add (self->events, EVENTS_TASK, subject, controller_fsm_task_name (state),
                           "", task->id);
}

//  Ends a task: the task row, the VM's new state (libvirt's word wins on failure), the
//  events, the capacity of a deleted VM, the waiting clients.
static void
s_task_finish (server_t *self, inflight_t *task, bool ok, const char *error,
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
    if (store_task_update (self->db, task->id, controller_fsm_task_name (final),
                           ok ? "" : error, task->attempts, self->now)
        < 0)
        self->failed = true;
    char subject[24];
    snprintf (subject, sizeof subject, "%" PRIu64, task->id);
    controller_events_add (self->events, EVENTS_TASK, subject, controller_fsm_task_name (final),
                           ok ? "" : error, task->id);

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
            if (store_vm_delete (self->db, task->vm) < 0)
                self->failed = true;
            controller_events_add (self->events, EVENTS_VM, task->vm, "deleted", "", task->id);
        }
        else if (rc < 0)
            self->failed = true;
    }
    else
        s_vm_set_state (self, task->vm, next, task->id, ok ? "" : error);
    task->state = final;
    self->finished++;
    s_waiters_answer (self, task->id, true);
    zhashx_delete (self->inflight, ID_KEY (task->id));
}

//  ---------------------------------------------------------------- hosts

static void
s_host_state (server_t *self, sched_host_t *host, bool up, const char *detail)
{
    host->up = up;
    if (store_host_set_state (self->db, host->name, up ? "up" : "down", host->last_seen) < 0)
        self->failed = true;
    controller_events_add (self->events, EVENTS_HOST, host->name, up ? "up" : "down", detail, 0);
    mk_info ("controller: host '%s' is %s%s%s", host->name, up ? "up" : "down",
             *detail ? ": " : "", detail);
}

//  ---------------------------------------------------------------- requests: hosts

static void
s_handle_host_list (server_t *self, const mk_request_t *request)
{
    Maekin__ListRequest *page = request->env->host_list->page;
    store_page_t filter = s_page (page);
    size_t count = controller_sched_count (self->sched);
    Maekin__HostListReply list = MAEKIN__HOST_LIST_REPLY__INIT;
    list.hosts = (Maekin__Host **) s_new (self, (count + 1) * sizeof (Maekin__Host *));
    for (size_t i = 0; i < count && list.n_hosts < filter.limit; i++) {
        sched_host_t *host = controller_sched_at (self->sched, i);
        if ((filter.after && strcmp (host->name, filter.after) <= 0)
            || (filter.state && *filter.state && !streq (filter.state, host->up ? "up" : "down"))
            || (filter.prefix && strncmp (host->name, filter.prefix, strlen (filter.prefix))))
            continue;
        list.hosts[list.n_hosts++] = s_host_msg (self, host);
    }
    if (list.n_hosts == filter.limit)
        list.next = list.hosts[list.n_hosts - 1]->name;
    s_reply_body (self, request, MK_OK, MAEKIN__ENVELOPE__BODY_HOST_LIST_REPLY, &list);
}

static void
s_handle_host_show (server_t *self, const mk_request_t *request)
{
    const char *name = request->env->host_show->name;
    sched_host_t *host = controller_sched_host (self->sched, name);
    if (!host) {
        s_reply_status (self, request, MK_NOT_FOUND, "no host named '%s' (maekinsh host list)",
                        name);
        return;
    }
    Maekin__HostShowReply show = MAEKIN__HOST_SHOW_REPLY__INIT;
    show.host = s_host_msg (self, host);
    s_reply_body (self, request, MK_OK, MAEKIN__ENVELOPE__BODY_HOST_SHOW_REPLY, &show);
}

typedef struct {
    char name[64];
    char state[16];
    uint64_t last_task;
} vm_brief_t;

static void
s_list_add (server_t *self, char ***list, size_t *count, const char *name)
{
    char **grown = (char **) s_new (self, (*count + 1) * sizeof (char *));
    if (*count)
        memcpy (grown, *list, *count * sizeof (char *));
    grown[(*count)++] = s_str (self, name);
    *list = grown;
}

//  Collects the VMs of a page; they are compared after the read, not during it.
static void
s_collect_vm (const store_vm_t *vm, void *arg)
{
    vm_brief_t *brief = (vm_brief_t *) zmalloc (sizeof (vm_brief_t));
    snprintf (brief->name, sizeof brief->name, "%s", vm->name);
    snprintf (brief->state, sizeof brief->state, "%s", vm->state);
    brief->last_task = vm->last_task;
    zlistx_add_end ((zlistx_t *) arg, brief);
}

//  Compares one VM the database places on the host with what libvirt reports.
static void
s_reconcile_vm (server_t *self, const char *host, const vm_brief_t *vm, zhashx_t *domains,
                Maekin__HostRegisterReply *answer)
{
    Maekin__Domain *domain = (Maekin__Domain *) zhashx_lookup (domains, vm->name);
    if (domain)
        zhashx_delete (domains, vm->name);
    int state = controller_fsm_vm_parse (vm->state);
    if (state < 0 || !controller_fsm_vm_stable ((vm_state_t) state))
        return;     //  a task is running on it; its result decides
    if (!domain) {
        //  libvirt lost it (a host reinstalled, a test driver restarted): the database
        //  says what should be, so the controller defines it again, and starts it if it ran.
        s_list_add (self, &answer->missing, &answer->n_missing, vm->name);
        Maekin__VmOp op = state == VM_STOPPED || state == VM_ERROR ? MAEKIN__VM_OP__VM_OP_DEFINE
                                                                    : MAEKIN__VM_OP__VM_OP_CREATE;
        vm_transition_t to;
        const char *why;
        if (controller_fsm_vm ((vm_state_t) state, op, &to, &why) == 0) {
            uint64_t task = s_task_new (self, vm->name, host, op, (vm_state_t) state, to, NULL);
            if (task)
                s_vm_set_state (self, vm->name, to.busy, task, "missing from libvirt; repairing");
        }
        return;
    }
    int seen = controller_fsm_vm_parse (domain->state);
    if (seen >= 0 && seen != state && controller_fsm_vm_stable ((vm_state_t) seen)) {
        s_list_add (self, &answer->changed, &answer->n_changed, vm->name);
        char detail[96];
        snprintf (detail, sizeof detail, "libvirt says %s (was %s)", domain->state, vm->state);
        s_vm_set_state (self, vm->name, (vm_state_t) seen, vm->last_task, detail);
    }
}

//  Compares every VM the database places on a host with the host's full report.
static void
s_reconcile (server_t *self, sched_host_t *host, Maekin__HostRegisterRequest *report,
             Maekin__HostRegisterReply *answer)
{
    zhashx_t *domains = zhashx_new ();
    for (size_t i = 0; i < report->n_domains; i++)
        if (report->domains[i]->name)
            zhashx_insert (domains, report->domains[i]->name, report->domains[i]);
    zlistx_t *vms = zlistx_new ();
    zlistx_set_destructor (vms, s_free);
    char after[64] = "";
    store_page_t page = {.limit = LIST_MAX, .host = host->name, .after = after};
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
            s_reconcile_vm (self, host->name, vm, domains, answer);
            snprintf (after, sizeof after, "%s", vm->name);
        }
        zlistx_purge (vms);
    } while (rows == (int) page.limit);
    zlistx_destroy (&vms);
    for (Maekin__Domain *d = (Maekin__Domain *) zhashx_first (domains); d;
         d = (Maekin__Domain *) zhashx_next (domains))
        s_list_add (self, &answer->unexpected, &answer->n_unexpected, d->name);
    zhashx_destroy (&domains);
    if (answer->n_missing || answer->n_changed || answer->n_unexpected)
        mk_info ("controller: host '%s' reconciled: %zu missing (repairing), %zu changed, "
                 "%zu unknown to the cloud",
                 host->name, answer->n_missing, answer->n_changed, answer->n_unexpected);
    //  Tasks that could not reach the host go out again now.
    for (inflight_t *t = (inflight_t *) zhashx_first (self->inflight); t;
         t = (inflight_t *) zhashx_next (self->inflight))
        if (!t->sent && streq (t->host, host->name))
            s_retry_later (self, t, 1);
}

//  A host's report gives other figures than the controller has.
static bool
s_host_changed (const sched_host_t *host, const Maekin__Host *h)
{
    return host->vcpus != h->vcpus || host->memory_mb != h->memory_mb
           || strcmp (host->uri, h->uri ? h->uri : "") != 0;
}

//  A report that only says its host is alive: light, from the agent of the last full
//  report, for a host up with the same figures. Handling it writes nothing.
static bool
s_report_is_ping (server_t *self, const Maekin__HostRegisterRequest *report)
{
    const Maekin__Host *h = report->host;
    const sched_host_t *host = h && h->name ? controller_sched_host (self->sched, h->name) : NULL;
    return host && host->up && !report->full && !s_host_changed (host, h)
           && (!report->agent || !*report->agent || streq (report->agent, host->agent));
}

static void
s_handle_host_register (server_t *self, const mk_request_t *request)
{
    Maekin__HostRegisterRequest *report = request->env->host_register;
    const char *why = report->host ? mk_name_check (report->host->name) : "is missing";
    if (why) {
        s_reply_status (self, request, MK_BAD_REQUEST, "host name %s", why);
        return;
    }
    const char *agent = report->agent ? report->agent : "";
    if (*agent && (strncmp (agent, "agent/", 6) != 0 || !agent[6]
                   || !mk_wire_service_name_valid (agent))) {
        s_reply_status (self, request, MK_BAD_REQUEST,
                        "agent service '%.80s' is not agent/<id> of at most %d printable bytes",
                        agent, MK_WIRE_SERVICE_MAX);
        return;
    }
    Maekin__Host *h = report->host;
    sched_host_t *host = controller_sched_require (self->sched, h->name);
    //  Another agent process than the one whose full report we had (or none since we
    //  started): it may have restarted, on a libvirt that lost domains, between two light
    //  reports. Known once its full report is in.
    bool new_agent = *agent && strcmp (host->agent, agent) != 0;
    if (report->full)
        snprintf (host->agent, sizeof host->agent, "%s", agent);
    bool was_up = host->up;
    bool changed = s_host_changed (host, h);
    host->vcpus = h->vcpus;
    host->memory_mb = h->memory_mb;
    snprintf (host->uri, sizeof host->uri, "%s", h->uri ? h->uri : "");
    host->last_seen = self->now;
    host->last_seen_mono = zclock_mono ();

    Maekin__HostRegisterReply answer = MAEKIN__HOST_REGISTER_REPLY__INIT;
    if (!was_up || changed) {
        store_host_t row = {.vcpus = host->vcpus, .memory_mb = host->memory_mb,
                            .last_seen = self->now};
        snprintf (row.name, sizeof row.name, "%s", host->name);
        //  Up only once its domains are known (a light report from a down host is not).
        snprintf (row.state, sizeof row.state, "%s", was_up || report->full ? "up" : "down");
        snprintf (row.uri, sizeof row.uri, "%s", host->uri);
        if (store_host_save (self->db, &row) < 0)
            self->failed = true;
    }
    if (!report->full && (!was_up || new_agent)) {
        //  Up again, or served by a new agent process, and we do not know what it runs:
        //  ask for the full report first.
        if (was_up)
            mk_info ("controller: host '%s' has a new agent (%s); asking for its domains",
                     host->name, agent);
        answer.send_full = true;
        s_reply_body (self, request, MK_OK, MAEKIN__ENVELOPE__BODY_HOST_REGISTER_REPLY,
                      &answer);
        return;
    }
    if (!was_up)
        s_host_state (self, host, true, "its agent reported");
    if (report->full)
        s_reconcile (self, host, report, &answer);
    s_reply_body (self, request, MK_OK, MAEKIN__ENVELOPE__BODY_HOST_REGISTER_REPLY, &answer);
}

//  What libvirt on a host has: asked of its agent now; the answer goes to the asker as
//  the agent gave it (see s_handle_result).
static void
s_handle_host_domains (server_t *self, const mk_request_t *request)
{
    const char *name = request->env->host_domains->name;
    sched_host_t *host = controller_sched_host (self->sched, name ? name : "");
    if (!host) {
        s_reply_status (self, request, MK_NOT_FOUND, "no host named '%s' (maekinsh host list)",
                        name ? name : "");
        return;
    }
    if (!host->up) {
        s_reply_status (self, request, MK_UNAVAILABLE, "host '%s' is down", host->name);
        return;
    }
    Maekin__DomainListRequest list = MAEKIN__DOMAIN_LIST_REQUEST__INIT;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_DOMAIN_LIST;
    env.domain_list = &list;
    char service[80];
    snprintf (service, sizeof service, "node/%s", host->name);
    uint64_t corr = CORR_ASK | ++self->next_ask;
    if (mk_client_send_as (self->client, service, corr, &env) != 0) {
        s_reply_status (self, request, MK_UNAVAILABLE, "cannot reach host '%s'", host->name);
        return;
    }
    zhashx_insert (self->asks, ID_KEY (corr), ID_KEY (request->token));
}

static void
s_handle_domain_event (server_t *self, const mk_request_t *request)
{
    Maekin__DomainEventRequest *event = request->env->domain_event;
    if (!event->domain || !event->domain->name) {
        s_reply_status (self, request, MK_BAD_REQUEST, "domain event without a domain");
        return;
    }
    store_vm_t vm;
    int rc = store_vm_get (self->db, event->domain->name, &vm);
    if (rc < 0) {
        s_reply_db_error (self, request);
        return;
    }
    int state = rc == 1 ? controller_fsm_vm_parse (vm.state) : -1;
    int seen = controller_fsm_vm_parse (event->domain->state ? event->domain->state : "");
    if (rc == 1 && streq (vm.host, event->host ? event->host : "") && state >= 0 && seen >= 0
        && seen != state && controller_fsm_vm_stable ((vm_state_t) state)
        && controller_fsm_vm_stable ((vm_state_t) seen)) {
        char detail[128];
        snprintf (detail, sizeof detail, "libvirt event on %s (was %s)", vm.host, vm.state);
        s_vm_set_state (self, vm.name, (vm_state_t) seen, vm.last_task, detail);
    }
    Maekin__DomainEventReply ack = MAEKIN__DOMAIN_EVENT_REPLY__INIT;
    s_reply_body (self, request, MK_OK, MAEKIN__ENVELOPE__BODY_DOMAIN_EVENT_REPLY, &ack);
}

//  ---------------------------------------------------------------- requests: templates

//  Checks a template; a static reason or NULL.
static const char *
s_template_check (const Maekin__Template *t)
{
    if (t->vcpus < 1 || t->vcpus > 256)
        return "vcpus must be 1 to 256";
    if (t->memory_mb < 16 || t->memory_mb > 4194304)
        return "memory must be 16 MiB to 4 TiB";
    const char *os = t->os_type ? t->os_type : "";
    if (*os && !streq (os, "hvm") && !streq (os, "linux"))
        return "os type must be hvm or linux";
    const char *paths[] = {t->image, t->kernel, t->initrd};
    for (int i = 0; i < 3; i++) {
        if (paths[i] && *paths[i] && paths[i][0] != '/')
            return "image, kernel and initrd must be absolute paths";
        if (paths[i] && strlen (paths[i]) >= STORE_PATH_MAX)
            return "a path is longer than 511 bytes";
    }
    if (t->cmdline && strlen (t->cmdline) >= STORE_CMDLINE_MAX)
        return "the kernel command line is longer than 1023 bytes";
    if (t->network && *t->network && mk_name_check (t->network))
        return "the network name is not a valid name";
    bool kernel = t->kernel && *t->kernel;
    if (!kernel && ((t->initrd && *t->initrd) || (t->cmdline && *t->cmdline)))
        return "an initrd or a command line needs a kernel";
    if (streq (os, "linux") && !kernel)
        return "os type linux boots a kernel directly: give --kernel";
    return NULL;
}

static void
s_handle_template_create (server_t *self, const mk_request_t *request)
{
    const Maekin__Template *t = request->env->template_create->template_;
    const char *why = t ? mk_name_check (t->name) : "is missing";
    if (why) {
        s_reply_status (self, request, MK_BAD_REQUEST, "template name %s", why);
        return;
    }
    if ((why = s_template_check (t))) {
        s_reply_status (self, request, MK_BAD_REQUEST, "template '%s': %s", t->name, why);
        return;
    }
    store_template_t row = {.created = self->now};
    snprintf (row.name, sizeof row.name, "%s", t->name);
    row.spec.vcpus = t->vcpus;
    row.spec.memory_mb = t->memory_mb;
    row.spec.disk_gb = t->disk_gb;
    snprintf (row.spec.image, sizeof row.spec.image, "%s", t->image ? t->image : "");
    snprintf (row.spec.os_type, sizeof row.spec.os_type, "%s", t->os_type ? t->os_type : "");
    snprintf (row.spec.network, sizeof row.spec.network, "%s", t->network ? t->network : "");
    snprintf (row.spec.kernel, sizeof row.spec.kernel, "%s", t->kernel ? t->kernel : "");
    snprintf (row.spec.initrd, sizeof row.spec.initrd, "%s", t->initrd ? t->initrd : "");
    snprintf (row.spec.cmdline, sizeof row.spec.cmdline, "%s", t->cmdline ? t->cmdline : "");
    int rc = store_template_insert (self->db, &row);
    if (rc == MK_DB_CONSTRAINT) {
        s_reply_status (self, request, MK_CONFLICT, "a template named '%s' exists already",
                        t->name);
        return;
    }
    if (rc != 1) {
        s_reply_db_error (self, request);
        return;
    }
    store_template_t *copy = (store_template_t *) malloc (sizeof (store_template_t));
    *copy = row;
    zhashx_update (self->templates, row.name, copy);
    Maekin__TemplateCreateReply created = MAEKIN__TEMPLATE_CREATE_REPLY__INIT;
    created.template_ = s_template_msg (self, &row);
    s_reply_body (self, request, MK_OK, MAEKIN__ENVELOPE__BODY_TEMPLATE_CREATE_REPLY, &created);
}

static void
s_handle_template_show (server_t *self, const mk_request_t *request)
{
    const char *name = request->env->template_show->name;
    store_template_t row;
    int rc = store_template_get (self->db, name ? name : "", &row);
    if (rc < 0) {
        s_reply_db_error (self, request);
        return;
    }
    if (rc == 0) {
        s_reply_status (self, request, MK_NOT_FOUND,
                        "no template named '%s' (maekinsh template list)", name ? name : "");
        return;
    }
    Maekin__TemplateShowReply show = MAEKIN__TEMPLATE_SHOW_REPLY__INIT;
    show.template_ = s_template_msg (self, &row);
    s_reply_body (self, request, MK_OK, MAEKIN__ENVELOPE__BODY_TEMPLATE_SHOW_REPLY, &show);
}

static void
s_handle_template_delete (server_t *self, const mk_request_t *request)
{
    const char *name = request->env->template_delete->name;
    int rc = store_template_delete (self->db, name ? name : "");
    if (rc < 0) {
        s_reply_db_error (self, request);
        return;
    }
    if (rc == 0) {
        s_reply_status (self, request, MK_NOT_FOUND, "no template named '%s'", name ? name : "");
        return;
    }
    zhashx_delete (self->templates, name);
    Maekin__TemplateDeleteReply deleted = MAEKIN__TEMPLATE_DELETE_REPLY__INIT;
    s_reply_body (self, request, MK_OK, MAEKIN__ENVELOPE__BODY_TEMPLATE_DELETE_REPLY, &deleted);
}

typedef struct {
    server_t *self;
    void **items;
    size_t count;
} collect_t;

static void
s_collect_template (const store_template_t *row, void *arg)
{
    collect_t *c = (collect_t *) arg;
    c->items[c->count++] = s_template_msg (c->self, row);
}

static void
s_handle_template_list (server_t *self, const mk_request_t *request)
{
    store_page_t page = s_page (request->env->template_list->page);
    collect_t c = {self, (void **) s_new (self, page.limit * sizeof (void *)), 0};
    if (store_template_list (self->db, &page, s_collect_template, &c) < 0) {
        s_reply_db_error (self, request);
        return;
    }
    Maekin__TemplateListReply list = MAEKIN__TEMPLATE_LIST_REPLY__INIT;
    list.templates = (Maekin__Template **) c.items;
    list.n_templates = c.count;
    if (c.count == page.limit)
        list.next = list.templates[c.count - 1]->name;
    s_reply_body (self, request, MK_OK, MAEKIN__ENVELOPE__BODY_TEMPLATE_LIST_REPLY, &list);
}

//  ---------------------------------------------------------------- requests: VMs

static void
s_reply_accepted (server_t *self, const mk_request_t *request, uint64_t task,
                  const store_vm_t *vm)
{
    Maekin__TaskAccepted accepted = MAEKIN__TASK_ACCEPTED__INIT;
    accepted.task_id = task;
    accepted.vm = s_vm_msg (self, vm);
    s_reply_body (self, request, MK_ACCEPTED, MAEKIN__ENVELOPE__BODY_TASK_ACCEPTED, &accepted);
}

static void
s_handle_vm_create (server_t *self, const mk_request_t *request)
{
    Maekin__VmCreateRequest *create = request->env->vm_create;
    const char *why = mk_name_check (create->name);
    if (why) {
        s_reply_status (self, request, MK_BAD_REQUEST, "VM name %s", why);
        return;
    }
    const store_template_t *cached = (const store_template_t *) zhashx_lookup (
        self->templates, create->template_ ? create->template_ : "");
    if (!cached) {
        s_reply_status (self, request, MK_NOT_FOUND,
                        "no template named '%s' (maekinsh template list)",
                        create->template_ ? create->template_ : "");
        return;
    }
    const store_template_t t = *cached;
    store_vm_t vm = {.spec = t.spec};
    //  A name the filter never saw is free: no question to the database.
    int rc = mk_bloom_maybe (self->vm_names, create->name)
                 ? store_vm_get (self->db, create->name, &vm)
                 : 0;
    if (rc != 0) {
        if (rc < 0)
            s_reply_db_error (self, request);
        else
            s_reply_status (self, request, MK_CONFLICT, "a VM named '%s' exists already (%s on %s)",
                            create->name, vm.state, vm.host);
        return;
    }
    const char *reason = NULL;
    sched_host_t *host = controller_sched_place (self->sched, t.spec.vcpus, t.spec.memory_mb,
                                                 create->host, &reason);
    if (!host) {
        s_reply_status (self, request, MK_INSUFFICIENT,
                        "no room for '%s' (%u vCPU, %" PRIu64 " MiB)%s%s: %s", create->name,
                        t.spec.vcpus, t.spec.memory_mb, create->host && *create->host ? " on " : "",
                        create->host ? create->host : "", reason);
        return;
    }
    memset (&vm, 0, sizeof vm);
    vm.spec = t.spec;
    snprintf (vm.name, sizeof vm.name, "%s", create->name);
    snprintf (vm.template_, sizeof vm.template_, "%s", t.name);
    snprintf (vm.host, sizeof vm.host, "%s", host->name);
    snprintf (vm.state, sizeof vm.state, "%s", controller_fsm_vm_name (VM_CREATING));
    mk_uuid_t uuid;
    mk_uuid_new (&uuid);
    snprintf (vm.uuid, sizeof vm.uuid, "%s", uuid.text);
    //  A locally administered MAC in QEMU's range, from the UUID's random bytes.
    snprintf (vm.mac, sizeof vm.mac, "52:54:00:%02x:%02x:%02x", uuid.bytes[13],
              uuid.bytes[14], uuid.bytes[15]);
    vm_transition_t to;
    controller_fsm_vm (VM_NONE, MAEKIN__VM_OP__VM_OP_CREATE, &to, &reason);
    uint64_t task
        = s_task_new (self, vm.name, vm.host, MAEKIN__VM_OP__VM_OP_CREATE, VM_NONE, to, &vm);
    vm.last_task = task;
    vm.created = self->now;
    mk_bloom_add (self->vm_names, vm.name);
    if (!task || store_vm_insert (self->db, &vm, self->now) != 1) {
        s_reply_db_error (self, request);
        return;
    }
    controller_sched_account (self->sched, host, t.spec.vcpus, t.spec.memory_mb, +1);
    controller_events_add (self->events, EVENTS_VM, vm.name, vm.state, "", task);
    s_reply_accepted (self, request, task, &vm);
}

static void
s_handle_vm_action (server_t *self, const mk_request_t *request)
{
    Maekin__VmActionRequest *action = request->env->vm_action;
    Maekin__VmOp op = action->op;
    if (op < MAEKIN__VM_OP__VM_OP_START || op > MAEKIN__VM_OP__VM_OP_DELETE) {
        s_reply_status (self, request, MK_BAD_REQUEST,
                        "unknown VM operation %d (start, stop, reboot, suspend, resume, destroy "
                        "or delete)",
                        (int) op);
        return;
    }
    const char *name = action->name ? action->name : "";
    store_vm_t vm;
    int rc = store_vm_get (self->db, name, &vm);
    if (rc != 1) {
        if (rc < 0)
            s_reply_db_error (self, request);
        else
            s_reply_status (self, request, MK_NOT_FOUND, "no VM named '%s' (maekinsh vm list)", name);
        return;
    }
    vm_state_t from = (vm_state_t) controller_fsm_vm_parse (vm.state);
    vm_transition_t to;
    const char *reason = NULL;
    if ((int) from < 0 || controller_fsm_vm (from, op, &to, &reason) != 0) {
        s_reply_status (self, request, MK_CONFLICT, "cannot %s '%s', which is %s: %s",
                        controller_fsm_op_name (op), name, vm.state,
                        reason ? reason : "unknown state");
        return;
    }
    sched_host_t *host = controller_sched_host (self->sched, vm.host);
    if (!host || !host->up) {
        s_reply_status (self, request, MK_UNAVAILABLE,
                        "host '%s' of VM '%s' is down; try again when its agent is back "
                        "(maekinsh host list)",
                        vm.host, name);
        return;
    }
    uint64_t task = s_task_new (self, vm.name, vm.host, op, from, to, &vm);
    if (!task) {
        s_reply_db_error (self, request);
        return;
    }
    s_vm_set_state (self, vm.name, to.busy, task, "");
    snprintf (vm.state, sizeof vm.state, "%s", controller_fsm_vm_name (to.busy));
    vm.last_task = task;
    s_reply_accepted (self, request, task, &vm);
}

static void
s_handle_vm_show (server_t *self, const mk_request_t *request)
{
    const char *name = request->env->vm_show->name ? request->env->vm_show->name : "";
    store_vm_t vm;
    int rc = store_vm_get (self->db, name, &vm);
    if (rc != 1) {
        if (rc < 0)
            s_reply_db_error (self, request);
        else
            s_reply_status (self, request, MK_NOT_FOUND, "no VM named '%s' (maekinsh vm list)", name);
        return;
    }
    Maekin__VmShowReply show = MAEKIN__VM_SHOW_REPLY__INIT;
    show.vm = s_vm_msg (self, &vm);
    s_reply_body (self, request, MK_OK, MAEKIN__ENVELOPE__BODY_VM_SHOW_REPLY, &show);
}

static void
s_collect_vm_msg (const store_vm_t *row, void *arg)
{
    collect_t *c = (collect_t *) arg;
    c->items[c->count++] = s_vm_msg (c->self, row);
}

static void
s_handle_vm_list (server_t *self, const mk_request_t *request)
{
    store_page_t page = s_page (request->env->vm_list->page);
    collect_t c = {self, (void **) s_new (self, page.limit * sizeof (void *)), 0};
    if (store_vm_list (self->db, &page, s_collect_vm_msg, &c) < 0) {
        s_reply_db_error (self, request);
        return;
    }
    Maekin__VmListReply list = MAEKIN__VM_LIST_REPLY__INIT;
    list.vms = (Maekin__Vm **) c.items;
    list.n_vms = c.count;
    if (c.count == page.limit)
        list.next = list.vms[c.count - 1]->name;
    s_reply_body (self, request, MK_OK, MAEKIN__ENVELOPE__BODY_VM_LIST_REPLY, &list);
}

//  ---------------------------------------------------------------- requests: tasks, events

static void
s_collect_task_msg (const store_task_t *row, void *arg)
{
    collect_t *c = (collect_t *) arg;
    c->items[c->count++] = s_task_msg (c->self, row);
}

static void
s_handle_task_list (server_t *self, const mk_request_t *request)
{
    store_page_t page = s_page (request->env->task_list->page);
    collect_t c = {self, (void **) s_new (self, page.limit * sizeof (void *)), 0};
    if (store_task_list (self->db, &page, s_collect_task_msg, &c) < 0) {
        s_reply_db_error (self, request);
        return;
    }
    Maekin__TaskListReply list = MAEKIN__TASK_LIST_REPLY__INIT;
    list.tasks = (Maekin__Task **) c.items;
    list.n_tasks = c.count;
    if (c.count == page.limit)
        list.next = s_strf (self, "%" PRIu64, list.tasks[c.count - 1]->id);
    s_reply_body (self, request, MK_OK, MAEKIN__ENVELOPE__BODY_TASK_LIST_REPLY, &list);
}

//  Show a task now, or (wait) when it ends or its wait times out.
static void
s_handle_task_show (server_t *self, const mk_request_t *request, uint64_t id, bool wait,
                    uint32_t timeout_ms)
{
    store_task_t row;
    int rc = store_task_get (self->db, id, &row);
    if (rc != 1) {
        if (rc < 0)
            s_reply_db_error (self, request);
        else
            s_reply_status (self, request, MK_NOT_FOUND, "no task %" PRIu64 " (maekinsh task list)",
                            id);
        return;
    }
    int state = controller_fsm_task_parse (row.state);
    if (wait && state >= 0 && !controller_fsm_task_final ((task_state_t) state)) {
        waiter_t *waiter = (waiter_t *) zmalloc (sizeof (waiter_t));
        waiter->token = request->token;
        waiter->task = id;
        waiter->deadline = zclock_mono () + (timeout_ms && timeout_ms < WAIT_MAX_MS ? timeout_ms
                                                                                    : WAIT_MAX_MS);
        zlistx_add_end (self->waiters, waiter);
        return;
    }
    Maekin__TaskShowReply show = MAEKIN__TASK_SHOW_REPLY__INIT;
    show.task = s_task_msg (self, &row);
    s_reply_body (self, request, MK_OK, MAEKIN__ENVELOPE__BODY_TASK_SHOW_REPLY, &show);
}

static void
s_handle_events_since (server_t *self, const mk_request_t *request)
{
    Maekin__EventsSinceRequest *since = request->env->events_since;
    int stream = controller_events_parse (since->stream ? since->stream : "");
    if (stream < 0) {
        s_reply_status (self, request, MK_BAD_REQUEST,
                        "unknown stream '%s' (event.vm, event.task or event.host)",
                        since->stream ? since->stream : "");
        return;
    }
    uint32_t limit = since->limit && since->limit < LIST_MAX ? since->limit : LIST_MAX;
    Maekin__EventsSinceReply *events = controller_events_since (
        self->events, self->db, (events_stream_t) stream, since->after, limit);
    if (!events) {
        s_reply_db_error (self, request);
        return;
    }
    s_reply_body (self, request, MK_OK, MAEKIN__ENVELOPE__BODY_EVENTS_SINCE_REPLY, events);
    maekin__events_since_reply__free_unpacked (events, NULL);
}

//  ---------------------------------------------------------------- dispatch

static void
s_handle_request (server_t *self, const mk_request_t *request)
{
    Maekin__Envelope *env = request->env;
    const char *reason = NULL;
    if (controller_auth_check (env, &reason) != 0) {
        s_reply_status (self, request, MK_FORBIDDEN, "%s", reason);
        return;
    }
    const char *id = env->request_id;
    if (s_mutating (env->body_case) && id && *id) {
        //  Printable ASCII without blanks: MySQL compares keys ignoring trailing blanks,
        //  and the id filter must see the same id the database does.
        bool printable = true;
        for (const char *c = id; *c; c++)
            printable &= *c > ' ' && *c <= '~';
        if (strlen (id) > 64 || !printable) {
            s_reply_status (self, request, MK_BAD_REQUEST,
                            "a request id is 1 to 64 printable ASCII characters, no blanks");
            return;
        }
        //  A retry: the first answer again, and no work done twice.
        zchunk_t *first = NULL;
        int rc = mk_bloom_maybe (self->request_ids, id)
                     ? store_request_find (self->db, id, &first)
                     : 0;
        if (rc < 0) {
            s_reply_db_error (self, request);
            return;
        }
        if (rc == 1) {
            zframe_t *frame = zframe_new (zchunk_data (first), zchunk_size (first));
            zchunk_destroy (&first);
            s_queue (self, request->token, &frame);
            return;
        }
    }
    switch (env->body_case) {
        case MAEKIN__ENVELOPE__BODY_HOST_LIST: s_handle_host_list (self, request); break;
        case MAEKIN__ENVELOPE__BODY_HOST_SHOW: s_handle_host_show (self, request); break;
        case MAEKIN__ENVELOPE__BODY_HOST_REGISTER: s_handle_host_register (self, request); break;
        case MAEKIN__ENVELOPE__BODY_DOMAIN_EVENT: s_handle_domain_event (self, request); break;
        case MAEKIN__ENVELOPE__BODY_HOST_DOMAINS: s_handle_host_domains (self, request); break;
        case MAEKIN__ENVELOPE__BODY_TEMPLATE_CREATE: s_handle_template_create (self, request); break;
        case MAEKIN__ENVELOPE__BODY_TEMPLATE_LIST: s_handle_template_list (self, request); break;
        case MAEKIN__ENVELOPE__BODY_TEMPLATE_SHOW: s_handle_template_show (self, request); break;
        case MAEKIN__ENVELOPE__BODY_TEMPLATE_DELETE: s_handle_template_delete (self, request); break;
        case MAEKIN__ENVELOPE__BODY_VM_CREATE: s_handle_vm_create (self, request); break;
        case MAEKIN__ENVELOPE__BODY_VM_ACTION: s_handle_vm_action (self, request); break;
        case MAEKIN__ENVELOPE__BODY_VM_LIST: s_handle_vm_list (self, request); break;
        case MAEKIN__ENVELOPE__BODY_VM_SHOW: s_handle_vm_show (self, request); break;
        case MAEKIN__ENVELOPE__BODY_TASK_LIST: s_handle_task_list (self, request); break;
        case MAEKIN__ENVELOPE__BODY_TASK_SHOW:
            s_handle_task_show (self, request, env->task_show->id, false, 0);
            break;
        case MAEKIN__ENVELOPE__BODY_TASK_WAIT:
            s_handle_task_show (self, request, env->task_wait->id, true, env->task_wait->timeout_ms);
            break;
        case MAEKIN__ENVELOPE__BODY_EVENTS_SINCE: s_handle_events_since (self, request); break;
        default:
            s_reply_status (self, request, MK_BAD_REQUEST,
                            "'%s' is not a request the controller serves", mk_msg_body_name (env));
    }
}

//  An agent's answer for one task: its result, a refusal, or the broker's word that no
//  agent could take it.
static void
s_task_answer (server_t *self, inflight_t *task, const Maekin__Envelope *env, bool progress,
               bool broker)
{
    if (progress) {
        //  A task that says it works is not overdue.
        task->deadline = zclock_mono () + self->opts.task_timeout_ms;
        task->sent_at = zclock_mono ();
        s_task_progress (self, task, TASK_RUNNING, true);
        return;
    }
    task->sent = false;
    if (env->status == MK_OK && env->body_case == MAEKIN__ENVELOPE__BODY_TASK_RESULT
        && env->task_result->task_id == task->id) {
        Maekin__TaskResultReply *result = env->task_result;
        s_task_finish (self, task, result->ok, result->error, result->state);
    }
    else if (broker && (env->status == MK_NOT_FOUND || env->status == MK_UNAVAILABLE)) {
        //  No agent serves the host now: the task waits until it registers again.
        sched_host_t *host = controller_sched_host (self->sched, task->host);
        if (host && host->up)
            s_host_state (self, host, false, env->reason);
        mk_info ("controller: task %" PRIu64 " waits for host '%s': %s", task->id, task->host,
                 env->reason);
    }
    else if (env->status == MK_UNAVAILABLE) {
        //  The agent is there but cannot act now (its libvirt is away): try again later.
        int backoff = 250 << (task->attempts < 6 ? task->attempts : 6);
        s_retry_later (self, task, zclock_mono () + backoff);
        mk_info ("controller: task %" PRIu64 " on host '%s' retried in %d ms: %s", task->id,
                 task->host, backoff, env->reason);
    }
    else if (env->status == MK_TOO_MANY) {
        int backoff = 100 << (task->attempts < 8 ? task->attempts : 8);
        s_retry_later (self, task, zclock_mono () + backoff);
    }
    else {
        char error[600];
        snprintf (error, sizeof error, "host '%s' answered %d: %s", task->host, env->status,
                  env->reason && *env->reason ? env->reason : "no reason given");
        s_task_finish (self, task, false, error, NULL);
    }
}

//  An agent's answer to a task_batch: each item's answer, in the batch's order, or one
//  answer (an error, progress) for every task in it.
static void
s_handle_batch_result (server_t *self, const mk_reply_t *reply)
{
    batch_t *batch = (batch_t *) zhashx_lookup (self->batches, ID_KEY (reply->corr));
    if (!batch)
        return;
    const Maekin__Envelope *env = reply->env;
    const Maekin__TaskBatchReply *answers =
        env->body_case == MAEKIN__ENVELOPE__BODY_TASK_BATCH_REPLY ? env->task_batch_reply : NULL;
    Maekin__Envelope *whole = NULL;
    if (!reply->progress && env->status == MK_OK
        && (!answers || answers->n_replies != batch->count)) {
        whole = mk_msg_new_status (MK_INTERNAL,
                                   "the agent answered a batch of %zu tasks with %zu answers",
                                   batch->count, answers ? answers->n_replies : 0);
        mk_error ("controller: %s", whole->reason);
    }
    for (size_t i = 0; i < batch->count; i++) {
        inflight_t *task = (inflight_t *) zhashx_lookup (self->inflight, ID_KEY (batch->ids[i]));
        if (!task)
            continue;
        if (reply->progress || env->status != MK_OK || whole) {
            s_task_answer (self, task, whole ? whole : env, reply->progress,
                           !whole && reply->broker);
            continue;
        }
        const char *why = NULL;
        Maekin__Envelope *answer =
            mk_msg_unpack (answers->replies[i].data, answers->replies[i].len, &why);
        if (!answer)
            answer = mk_msg_new_status (MK_INTERNAL, "the agent's answer is unreadable: %s", why);
        s_task_answer (self, task, answer, false, false);
        mk_msg_free (&answer);
    }
    mk_msg_free (&whole);
    if (!reply->progress)
        zhashx_delete (self->batches, ID_KEY (reply->corr));
}

//  An agent's answer to a dispatched task (its correlation id is the task id), to a task
//  batch, or to a question asked for a client.
static void
s_handle_result (server_t *self, const mk_reply_t *reply)
{
    if (reply->corr & CORR_ASK) {
        //  An agent's answer to a question a client asked through us: pass it on.
        void *token = zhashx_lookup (self->asks, ID_KEY (reply->corr));
        if (token && !reply->progress) {
            zframe_t *frame = mk_msg_pack (reply->env);
            mk_worker_reply_frame (self->worker, (uint64_t) (uintptr_t) token, &frame);
            zhashx_delete (self->asks, ID_KEY (reply->corr));
        }
        return;
    }
    if (reply->corr & CORR_BATCH) {
        s_handle_batch_result (self, reply);
        return;
    }
    inflight_t *task = (inflight_t *) zhashx_lookup (self->inflight, ID_KEY (reply->corr));
    if (!task) {
        mk_debug ("controller: answer for task %" PRIu64 ", which is over, ignored", reply->corr);
        return;
    }
    s_task_answer (self, task, reply->env, reply->progress, reply->broker);
}

//  A task on its way out: sent, or in a task_batch.
static void
s_task_sent (server_t *self, inflight_t *task, zlistx_t *marks)
{
    task->sent = true;
    task->sent_at = zclock_mono ();
    task->retry_at = 0;
    task->attempts++;
    task->deadline = zclock_mono () + self->opts.task_timeout_ms;
    if (!task->marked)
        zlistx_add_end (marks, ID_KEY (task->id));
}

//  A task to send, with its packed dispatch.
typedef struct {
    inflight_t *task;
    zframe_t *frame;
} outbound_t;

static void
s_outbound_free (void **item)
{
    outbound_t *out = (outbound_t *) *item;
    zframe_destroy (&out->frame);
    free (out);
    *item = NULL;
}

//  Sends one task on its own, to node/<host>.
static void
s_send_one (server_t *self, outbound_t *out, zlistx_t *marks)
{
    char service[80];
    snprintf (service, sizeof service, "node/%s", out->task->host);
    if (mk_client_send_frame_as (self->client, service, out->task->id, &out->frame) != 0) {
        zframe_destroy (&out->frame);
        s_retry_later (self, out->task, zclock_mono () + 1000);
        return;
    }
    s_task_sent (self, out->task, marks);
}

//  Sends up to BATCH_MAX tasks of one agent process, from `first` on, as one task_batch;
//  returns the first not sent.
static outbound_t *
s_send_batch (server_t *self, const char *agent, zlistx_t *list, outbound_t *first,
              zlistx_t *marks)
{
    Maekin__TaskBatchItem *items =
        (Maekin__TaskBatchItem *) zmalloc (BATCH_MAX * sizeof (Maekin__TaskBatchItem));
    Maekin__TaskBatchItem **pointers =
        (Maekin__TaskBatchItem **) zmalloc (BATCH_MAX * sizeof (Maekin__TaskBatchItem *));
    char (*services)[80] = (char (*)[80]) zmalloc (BATCH_MAX * sizeof *services);
    batch_t *batch = (batch_t *) zmalloc (sizeof (batch_t) + BATCH_MAX * sizeof (uint64_t));
    outbound_t *out = first;
    size_t count = 0;
    for (; out && count < BATCH_MAX; out = (outbound_t *) zlistx_next (list), count++) {
        items[count] = (Maekin__TaskBatchItem) MAEKIN__TASK_BATCH_ITEM__INIT;
        snprintf (services[count], sizeof services[count], "node/%s", out->task->host);
        items[count].service = services[count];
        items[count].request.data = zframe_data (out->frame);
        items[count].request.len = zframe_size (out->frame);
        pointers[count] = &items[count];
        batch->ids[count] = out->task->id;
    }
    batch->count = count;
    batch->sent_at = zclock_mono ();
    Maekin__TaskBatchRequest request = MAEKIN__TASK_BATCH_REQUEST__INIT;
    request.items = pointers;
    request.n_items = count;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_TASK_BATCH;
    env.task_batch = &request;
    uint64_t corr = CORR_BATCH | ++self->next_batch;
    bool sent = mk_client_send_as (self->client, agent, corr, &env) == 0;
    for (size_t i = 0; i < count; i++) {
        inflight_t *task = (inflight_t *) zhashx_lookup (self->inflight, ID_KEY (batch->ids[i]));
        if (sent)
            s_task_sent (self, task, marks);
        else
            s_retry_later (self, task, zclock_mono () + 1000);
    }
    if (sent)
        zhashx_insert (self->batches, ID_KEY (corr), batch);
    else
        free (batch);
    free (services);
    free (pointers);
    free (items);
    return out;
}

//  Sends the batch's new tasks to their agents (after the commit: nothing unrecorded
//  ever reaches a host). The tasks of the hosts of one agent process go in one
//  task_batch; a graceful stop, which answers only when its guest is off, and the tasks
//  of an agent that takes no batches, go on their own.
static void
s_dispatch (server_t *self, zlistx_t *marks)
{
    zhashx_t *agents = zhashx_new ();    //  agent service -> zlistx_t of outbound_t
    zhashx_set_destructor (agents, (zhashx_destructor_fn *) zlistx_destroy);
    for (void *key = zlistx_first (self->dispatch); key; key = zlistx_next (self->dispatch)) {
        inflight_t *task = (inflight_t *) zhashx_lookup (self->inflight, key);
        if (!task || task->sent)
            continue;
        zframe_t *frame = task->packed;
        task->packed = NULL;
        if (!frame) {
            //  Sent before and lost, or resumed after a restart: from the VM's row.
            store_vm_t vm;
            int rc = store_vm_get (self->db, task->vm, &vm);
            if (rc != 1) {
                if (rc < 0)
                    s_retry_later (self, task, zclock_mono () + 1000);
                else
                    mk_error ("controller: task %" PRIu64 " names VM '%s', which is gone",
                              task->id, task->vm);
                continue;
            }
            frame = s_dispatch_frame (task, &vm);
        }
        outbound_t *out = (outbound_t *) zmalloc (sizeof (outbound_t));
        out->task = task;
        out->frame = frame;
        sched_host_t *host = controller_sched_host (self->sched, task->host);
        if (!host || !*host->agent || task->op == MAEKIN__VM_OP__VM_OP_STOP) {
            s_send_one (self, out, marks);
            s_outbound_free ((void **) &out);
            continue;
        }
        zlistx_t *list = (zlistx_t *) zhashx_lookup (agents, host->agent);
        if (!list) {
            list = zlistx_new ();
            zlistx_set_destructor (list, s_outbound_free);
            zhashx_insert (agents, host->agent, list);
        }
        zlistx_add_end (list, out);
    }
    zlistx_purge (self->dispatch);
    for (zlistx_t *list = (zlistx_t *) zhashx_first (agents); list;
         list = (zlistx_t *) zhashx_next (agents)) {
        const char *agent = (const char *) zhashx_cursor (agents);
        if (zlistx_size (list) == 1)
            s_send_one (self, (outbound_t *) zlistx_first (list), marks);
        else {
            outbound_t *out = (outbound_t *) zlistx_first (list);
            while (out)
                out = s_send_batch (self, agent, list, out, marks);
        }
    }
    zhashx_destroy (&agents);
}

//  Periodic work inside a batch: hosts that stopped reporting, tasks to retry or time
//  out, waits that end, request ids to forget.
static void
s_tick (server_t *self)
{
    int64_t mono = zclock_mono ();
    //  Time the controller itself stood still (stopped, starved, a slow disk) is not
    //  silence of the agents: their reports may still sit unread in our queues.
    int64_t stall = self->last_tick ? mono - self->last_tick - TICK_MS : 0;
    self->last_tick = mono;
    for (size_t i = 0; i < controller_sched_count (self->sched); i++) {
        sched_host_t *host = controller_sched_at (self->sched, i);
        if (stall > TICK_MS)
            host->last_seen_mono += stall;
        if (host->up && host->last_seen_mono + self->opts.host_timeout_ms < mono) {
            char detail[96];
            snprintf (detail, sizeof detail, "no report from its agent for %d s",
                      self->opts.host_timeout_ms / 1000);
            s_host_state (self, host, false, detail);
        }
    }
    //  Retries that are due; entries whose task ended or went out are dropped.
    for (void *key = zlistx_first (self->retries); key; key = zlistx_next (self->retries)) {
        inflight_t *task = (inflight_t *) zhashx_lookup (self->inflight, key);
        if (task && !task->sent && task->retry_at > mono)
            continue;
        if (task && !task->sent) {
            sched_host_t *host = controller_sched_host (self->sched, task->host);
            if (host && host->up)
                zlistx_add_end (self->dispatch, key);
        }
        if (task) {
            task->retry_at = 0;
            task->retrying = false;
        }
        zlistx_delete (self->retries, zlistx_cursor (self->retries));
    }
    //  Overdue tasks: a sweep of all open tasks, once a second, not every tick.
    zlistx_t *expired = zlistx_new ();
    if (mono >= self->next_sweep) {
        for (inflight_t *task = (inflight_t *) zhashx_first (self->inflight); task;
             task = (inflight_t *) zhashx_next (self->inflight)) {
            if (task->deadline < mono)
                zlistx_add_end (expired, task);
            else if (task->sent && mono - task->sent_at > REDISPATCH_MS) {
                mk_info ("controller: task %" PRIu64 ": no answer from host '%s' in %d s; "
                         "sending it again",
                         task->id, task->host, REDISPATCH_MS / 1000);
                task->sent = false;
                s_retry_later (self, task, mono);
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
        self->next_sweep = mono + 1000;
    }
    for (inflight_t *task = (inflight_t *) zlistx_first (expired); task;
         task = (inflight_t *) zlistx_next (expired)) {
        char error[160];
        snprintf (error, sizeof error, "no answer from host '%s' within %d s", task->host,
                  self->opts.task_timeout_ms / 1000);
        s_task_finish (self, task, false, error, NULL);
    }
    zlistx_destroy (&expired);
    //  Waits that ended: the tasks first (answering changes the list), then each task's.
    zlistx_t *ended = zlistx_new ();
    for (waiter_t *w = (waiter_t *) zlistx_first (self->waiters); w;
         w = (waiter_t *) zlistx_next (self->waiters))
        if (w->deadline <= mono && !zlistx_find (ended, ID_KEY (w->task)))
            zlistx_add_end (ended, ID_KEY (w->task));
    for (void *task = zlistx_first (ended); task; task = zlistx_next (ended))
        s_waiters_answer (self, (uint64_t) (uintptr_t) task, false);
    zlistx_destroy (&ended);
    if (mono >= self->next_expiry) {
        if (store_request_expire (self->db, self->now - self->opts.request_ttl_s) < 0)
            self->failed = true;
        else if (mk_bloom_count (self->request_ids) > FILTER_CAPACITY
                 || mk_bloom_count (self->vm_names) > FILTER_CAPACITY) {
            if (s_filters_load (self) < 0)
                self->failed = true;
        }
        self->next_expiry = mono + 60000;
    }
    //  The claim on the database, renewed. Taken over, it means another controller
    //  writes the cloud's state now (this one stood still past the lapse): stop.
    if (mono >= self->next_claim) {
        int rc = mk_db_claim_renew (self->db, ROLE);
        if (rc < 0)
            self->failed = true;
        else if (rc == 1)
            self->lost = true;
        self->next_claim = mono + MK_DB_CLAIM_RENEW_MS;
    }
    self->next_tick = mono + TICK_MS;
}

//  ---------------------------------------------------------------- state from the db

static void
s_load_host (const store_host_t *row, void *arg)
{
    server_t *self = (server_t *) arg;
    sched_host_t *host = controller_sched_require (self->sched, row->name);
    host->up = streq (row->state, "up");
    host->vcpus = row->vcpus;
    host->memory_mb = row->memory_mb;
    snprintf (host->uri, sizeof host->uri, "%s", row->uri);
    host->last_seen = row->last_seen;
    //  Give agents a full timeout to report to a restarted controller.
    host->last_seen_mono = zclock_mono ();
}

static void
s_load_template (const store_template_t *row, void *arg)
{
    server_t *self = (server_t *) arg;
    store_template_t *copy = (store_template_t *) malloc (sizeof (store_template_t));
    *copy = *row;
    zhashx_update (self->templates, row->name, copy);
}

//  Every template, a page at a time.
static int
s_load_templates (server_t *self)
{
    zhashx_purge (self->templates);
    char after[64] = "";
    store_page_t page = {.limit = LIST_MAX, .after = after};
    int rows;
    do {
        rows = store_template_list (self->db, &page, s_load_template, self);
        if (rows < 0)
            return -1;
        //  The cursor: the greatest name read (the page is in name order).
        for (store_template_t *t = (store_template_t *) zhashx_first (self->templates); t;
             t = (store_template_t *) zhashx_next (self->templates))
            if (strcmp (t->name, after) > 0)
                snprintf (after, sizeof after, "%s", t->name);
    } while (rows == (int) page.limit);
    return 0;
}

static void
s_load_usage (const char *name, uint64_t vcpus, uint64_t memory_mb, uint64_t count, void *arg)
{
    server_t *self = (server_t *) arg;
    sched_host_t *host = controller_sched_require (self->sched, name);
    host->vcpus_used = (uint32_t) vcpus;
    host->memory_mb_used = memory_mb;
    host->vm_count = (uint32_t) count;
}

static void
s_load_task (const store_task_t *row, void *arg)
{
    server_t *self = (server_t *) arg;
    vm_transition_t to;
    const char *why;
    int from = controller_fsm_vm_parse (row->from_state);
    int state = controller_fsm_task_parse (row->state);
    if (from < 0 || state < 0 || controller_fsm_vm ((vm_state_t) from, (Maekin__VmOp) row->op, &to, &why)) {
        mk_error ("controller: task %" PRIu64 " in the database is inconsistent (%s from %s); "
                  "left as it is",
                  row->id, controller_fsm_op_name ((Maekin__VmOp) row->op), row->from_state);
        return;
    }
    inflight_t *task = (inflight_t *) zmalloc (sizeof (inflight_t));
    task->id = row->id;
    snprintf (task->vm, sizeof task->vm, "%s", row->vm);
    snprintf (task->host, sizeof task->host, "%s", row->host);
    task->op = (Maekin__VmOp) row->op;
    task->state = (task_state_t) state;
    task->to = to;
    task->attempts = row->attempts;
    task->marked = state != TASK_QUEUED;
    task->deadline = zclock_mono () + self->opts.task_timeout_ms;
    zhashx_insert (self->inflight, ID_KEY (task->id), task);
    //  Agents are idempotent by task id: sending again is always safe.
    zlistx_add_end (self->dispatch, ID_KEY (task->id));
}

//  (Re)builds everything the controller keeps in memory from the database.
static void
s_filter_add (const char *key, void *arg)
{
    mk_bloom_add ((mk_bloom_t *) arg, key);
}

//  The filters of request ids and VM names, from the database: at start, after a
//  rollback (which leaves keys of rows that never were), and when forgotten ids or
//  deleted names have filled them.
static int
s_filters_load (server_t *self)
{
    mk_bloom_clear (self->request_ids);
    mk_bloom_clear (self->vm_names);
    return store_request_ids (self->db, s_filter_add, self->request_ids) < 0
                   || store_vm_names (self->db, s_filter_add, self->vm_names) < 0
               ? -1
               : 0;
}

//  What the database does not keep of a host, kept across a reload.
typedef struct {
    char name[64];
    char agent[64];
    int64_t last_seen_mono;
} host_memory_t;

static int
s_load (server_t *self)
{
    //  A reload (after a rollback) must not forget which agent process serves a host,
    //  nor when it last reported: else every agent seems new, and a dead one never
    //  times out while batches keep failing.
    size_t hosts = controller_sched_count (self->sched);
    host_memory_t *memory = (host_memory_t *) zmalloc ((hosts + 1) * sizeof (host_memory_t));
    for (size_t i = 0; i < hosts; i++) {
        sched_host_t *host = controller_sched_at (self->sched, i);
        snprintf (memory[i].name, sizeof memory[i].name, "%s", host->name);
        snprintf (memory[i].agent, sizeof memory[i].agent, "%s", host->agent);
        memory[i].last_seen_mono = host->last_seen_mono;
    }
    controller_sched_clear (self->sched);
    zhashx_purge (self->inflight);
    zhashx_purge (self->batches);
    zlistx_purge (self->dispatch);
    zlistx_purge (self->retries);
    if (s_load_templates (self) < 0 || store_host_list (self->db, s_load_host, self) < 0
        || store_vm_usage (self->db, s_load_usage, self) < 0
        || store_task_open (self->db, s_load_task, self) < 0
        || controller_events_load (self->events, self->db) < 0 || s_filters_load (self) < 0) {
        free (memory);
        return -1;
    }
    for (size_t i = 0; i < hosts; i++) {
        sched_host_t *host = controller_sched_host (self->sched, memory[i].name);
        if (host) {
            snprintf (host->agent, sizeof host->agent, "%s", memory[i].agent);
            host->last_seen_mono = memory[i].last_seen_mono;
        }
    }
    free (memory);
    mk_info ("controller: loaded %zu hosts and %zu open tasks", controller_sched_count (self->sched),
             zhashx_size (self->inflight));
    return 0;
}

//  ---------------------------------------------------------------- the batch

static bool s_reload (server_t *self);

//  While the database refuses writes (a full disk, say): reads are answered from what is
//  committed, writes are refused at once with the cause, and agents' answers wait on
//  their socket; a batch tries to write again when the backoff ends. Without this, each
//  failed batch would reload, dispatch again, fail again on the answers, and refuse
//  every read in them, thousands of times a second.
static void
s_serve_reads (server_t *self)
{
    for (int handled = 0; handled < self->opts.batch_max; handled++) {
        mk_request_t request;
        int rc = mk_worker_recv_nowait (self->worker, &request);
        if (rc < 0)
            break;
        if (rc == 0)
            continue;
        //  Agents' liveness reports still count, or their hosts would go down meanwhile.
        bool ping = request.env->body_case == MAEKIN__ENVELOPE__BODY_HOST_REGISTER
                    && s_report_is_ping (self, request.env->host_register);
        if (s_writes (request.env->body_case) && !ping)
            s_reply_status (self, &request, MK_UNAVAILABLE,
                            "the database takes no writes now (%s); nothing was changed, "
                            "retry later",
                            self->write_error);
        else
            s_handle_request (self, &request);
        mk_request_clear (&request);
    }
    for (outgoing_t *out = (outgoing_t *) zlistx_first (self->out); out;
         out = (outgoing_t *) zlistx_next (self->out))
        mk_worker_reply_frame (self->worker, out->token, &out->body);
    zlistx_purge (self->out);
}

//  Instead of the replies a batch built, which did not happen: 503 with the reason.
static void
s_fail_replies (server_t *self, const char *reason)
{
    Maekin__Envelope failure = MAEKIN__ENVELOPE__INIT;
    failure.status = MK_UNAVAILABLE;
    failure.reason = (char *) reason;
    for (outgoing_t *out = (outgoing_t *) zlistx_first (self->out); out;
         out = (outgoing_t *) zlistx_next (self->out)) {
        zframe_t *frame = mk_msg_pack (&failure);
        mk_worker_reply_frame (self->worker, out->token, &frame);
    }
    zlistx_purge (self->out);
}

//  Another controller took the database over: nothing of this batch is written, its
//  callers hear why, and the owner of the actor is told to stop it.
static void
s_stop_lost (server_t *self)
{
    char *holder = NULL;
    mk_db_rollback (self->db);
    controller_events_abort (self->events);
    int held = mk_db_claim_holder (self->db, &holder);
    //  To another controller: it runs, so this one is not to be started again (LOST).
    //  To a restore or a migration, or given up: start again, on what it leaves (GONE).
    if (held == 1)
        mk_error ("controller: another controller holds the database now (%s); stopping",
                  holder);
    else
        mk_error ("controller: the database's claim was taken from this controller (%s); "
                  "stopping, to start again on what it leaves",
                  holder ? holder : "by a restore or a migration that has ended");
    free (holder);
    const char *reason = "this controller stopped: another took over its database; nothing "
                         "was changed, retry";
    //  Those waiting for a task hear it too, not only this batch's callers.
    for (waiter_t *w = (waiter_t *) zlistx_first (self->waiters); w;
         w = (waiter_t *) zlistx_next (self->waiters))
        s_queue (self, w->token, &(zframe_t *) {zframe_new_empty ()});
    zlistx_purge (self->waiters);
    s_fail_replies (self, reason);
    self->lost = true;
    zstr_send (self->pipe, held == 1 ? "LOST" : "GONE");
}

//  Whether the claim is still this controller's, before tasks go out after a reload
//  (which no batch fences): stops it when not; false also when it cannot tell (the
//  tasks then wait for the next batch, which checks).
static bool
s_owned (server_t *self)
{
    int rc = mk_db_claim_check (self->db);
    if (rc == 1)
        s_stop_lost (self);
    return rc == 0;
}

//  Everything waiting, in one transaction; then replies, events and dispatches.
static void
s_batch (server_t *self)
{
    if (self->lost)
        return;
    if (self->reload && !s_reload (self))
        return;
    if (self->write_backoff && zclock_mono () < self->write_retry_at) {
        if (mk_worker_pending (self->worker))
            s_serve_reads (self);
        else
            zclock_sleep (10);
        return;
    }
    zsock_t *client = mk_client_sock (self->client);
    bool requests = mk_worker_pending (self->worker);
    bool results = (zsock_events (client) & ZMQ_POLLIN) != 0;
    bool tick = zclock_mono () >= self->next_tick;
    if (!requests && !results && !tick && zlistx_size (self->marks) == 0)
        return;
    self->now = zclock_time () / 1000;
    self->failed = false;
    if (mk_db_begin (self->db) != 0) {
        //  Leave everything queued on the sockets and try again, less often the longer
        //  the database is away (each failure is logged where it happened).
        if (!self->db_away)
            mk_warn ("controller: the database is unavailable; requests wait");
        self->db_away = self->db_away ? (self->db_away < 800 ? self->db_away * 2 : 1000) : 100;
        zclock_sleep (self->db_away);
        return;
    }
    if (self->db_away) {
        mk_info ("controller: the database is back");
        self->db_away = 0;
    }
    //  Still ours? Checked first, this keeps a takeover out until the batch commits.
    int claim = mk_db_claim_check (self->db);
    if (claim == 1) {
        s_stop_lost (self);
        return;
    }
    if (claim < 0)
        self->failed = true;
    //  After a failed write, this batch must write something, or its commit proves
    //  nothing: a row rewritten as it is.
    if (self->write_backoff
        && mk_db_exec (self->db, "UPDATE meta SET value = value WHERE name = 'schema_version'")
               != 0)
        self->failed = true;
    for (void *key = zlistx_first (self->marks); key; key = zlistx_next (self->marks)) {
        inflight_t *task = (inflight_t *) zhashx_lookup (self->inflight, key);
        if (task && !task->marked) {
            s_task_progress (self, task, TASK_DISPATCHED, false);
            task->marked = true;
        }
    }
    zlistx_purge (self->marks);
    int handled = 0;
    //  A probe after failed writes takes no client requests: should it fail too, they
    //  are better served by s_serve_reads (reads answered) than refused with it.
    bool probe = self->write_backoff != 0;
    while (!probe && handled < self->opts.batch_max) {
        mk_request_t request;
        int rc = mk_worker_recv_nowait (self->worker, &request);
        if (rc < 0)
            break;
        if (rc == 1) {
            s_handle_request (self, &request);
            mk_request_clear (&request);
        }
        handled++;
    }
    while (handled < 2 * self->opts.batch_max) {
        mk_reply_t reply;
        if (mk_client_recv (self->client, &reply, 0) != 0)
            break;
        s_handle_result (self, &reply);
        mk_reply_clear (&reply);
        handled++;
    }
    if (tick)
        s_tick (self);
    if (self->lost) {
        s_stop_lost (self);
        return;
    }
    if (!self->failed && controller_events_save (self->events, self->db, self->now) != 0)
        self->failed = true;
    if (!self->failed && mk_db_commit (self->db) == 0) {
        if (self->write_backoff) {
            mk_info ("controller: the database takes writes again");
            self->write_backoff = 0;
        }
        for (outgoing_t *out = (outgoing_t *) zlistx_first (self->out); out;
             out = (outgoing_t *) zlistx_next (self->out))
            mk_worker_reply_frame (self->worker, out->token, &out->body);
        zlistx_purge (self->out);
        controller_events_publish (self->events);
        s_dispatch (self, self->marks);
        return;
    }
    //  Nothing of this batch happened: say so to every caller and rebuild from the db.
    mk_error ("controller: a batch of %d messages was rolled back: %s", handled,
              mk_db_error (self->db));
    snprintf (self->write_error, sizeof self->write_error, "%s", mk_db_error (self->db));
    mk_db_rollback (self->db);
    controller_events_abort (self->events);
    //  Try writing again after a pause that grows while it keeps failing.
    self->write_backoff =
        self->write_backoff ? (self->write_backoff < 500 ? self->write_backoff * 2 : 1000) : 50;
    self->write_retry_at = zclock_mono () + self->write_backoff;
    char reason[300];
    snprintf (reason, sizeof reason, "the database failed (%s); nothing was changed, retry",
              self->write_error);
    s_fail_replies (self, reason);
    zlistx_purge (self->marks);
    if (s_load (self) != 0) {
        mk_error ("controller: cannot reload the state from the database; trying again");
        self->reload = true;
        return;
    }
    if (s_owned (self))
        s_dispatch (self, self->marks);
}

//  While the state cannot be read from the database, the controller serves nothing: it
//  says so to every request and tries again. Agents' answers wait (their tasks are
//  dispatched again once the state is back).
static bool
s_reload (server_t *self)
{
    if (s_load (self) == 0) {
        mk_info ("controller: state reloaded from the database");
        self->reload = false;
        if (!s_owned (self))
            return false;
        s_dispatch (self, self->marks);
        return true;
    }
    while (mk_worker_pending (self->worker)) {
        mk_request_t request;
        if (mk_worker_recv (self->worker, &request) == 1) {
            Maekin__Envelope busy = MAEKIN__ENVELOPE__INIT;
            busy.status = MK_UNAVAILABLE;
            busy.reason = "the controller cannot read its database; nothing was changed, retry";
            mk_worker_reply (self->worker, request.token, &busy);
            mk_request_clear (&request);
        }
    }
    zclock_sleep (200);
    return false;
}

static bool
s_handle_pipe (server_t *self)
{
    char *command = zstr_recv (self->pipe);
    bool running = command && !streq (command, "$TERM");
    if (command && streq (command, "STATS")) {
        char numbers[3][24];
        snprintf (numbers[0], 24, "%" PRIu64, self->accepted);
        snprintf (numbers[1], 24, "%" PRIu64, self->finished);
        snprintf (numbers[2], 24, "%zu", zhashx_size (self->inflight));
        zstr_sendx (self->pipe, numbers[0], numbers[1], numbers[2], NULL);
    }
    free (command);
    return running;
}

static void
s_server_destroy (server_t *self)
{
    if (self->claimed && !self->lost && mk_db_claim_release (self->db) != 0)
        mk_warn ("controller: could not give up the claim on the database; the next "
                 "controller takes it over after %d s", MK_DB_CLAIM_LAPSE_MS / 1000);
    mk_worker_destroy (&self->worker);
    mk_client_destroy (&self->client);
    zsock_destroy (&self->pub);
    controller_events_destroy (&self->events);
    controller_sched_destroy (&self->sched);
    zhashx_destroy (&self->inflight);
    zhashx_destroy (&self->templates);
    zhashx_destroy (&self->asks);
    zhashx_destroy (&self->batches);
    mk_bloom_destroy (&self->request_ids);
    mk_bloom_destroy (&self->vm_names);
    zlistx_destroy (&self->waiters);
    zlistx_destroy (&self->out);
    zlistx_destroy (&self->dispatch);
    zlistx_destroy (&self->marks);
    zlistx_destroy (&self->retries);
    zlistx_destroy (&self->arena);
    mk_db_destroy (&self->db);
}

//  Takes the database's claim: 0; 1 when another controller holds it; -1 on an error.
//  A restore or a migration holding it is waited for: it ends by itself.
static int
s_claim (server_t *self)
{
    bool waited = false;
    while (true) {
        char *holder = NULL;
        int rc = mk_db_claim (self->db, ROLE, true, &holder);
        if (rc == 2 && !zsys_interrupted) {
            if (!waited)
                mk_warn ("controller: the database is claimed by %s; waiting for it to end",
                         holder);
            waited = true;
            free (holder);
            zclock_sleep (1000);
            continue;
        }
        if (rc == 1)
            mk_error ("controller: another controller holds this database (%s); stop it "
                      "first (a holder that stops renewing its claim loses it after %d s)",
                      holder, MK_DB_CLAIM_LAPSE_MS / 1000);
        else if (rc < 0)
            mk_error ("controller: cannot take the claim on the database: %s",
                      mk_db_error (self->db));
        free (holder);
        self->claimed = rc == 0;
        return rc == 2 ? -1 : rc;   //  2: interrupted while waiting
    }
}

//  Opens the database, takes its claim and brings its schema up to date: 0; 1 when
//  another controller holds it; -1 on another failure (logged).
static int
s_server_open (server_t *self)
{
    char *error = NULL;
    self->db = mk_db_open (self->opts.db_url, &error);
    if (!self->db) {
        mk_error ("controller: %s", error ? error : "cannot open the database");
        free (error);
        return -1;
    }
    //  One controller per database: two would each act on their own picture of it. The
    //  claim comes before a migration (one under a running controller would change its
    //  schema under it), unless there is no schema yet to hold a claim.
    int version = mk_db_schema_version (self->db);
    if (version < 0) {
        mk_error ("controller: cannot read the schema version: %s", mk_db_error (self->db));
        return -1;
    }
    //  (A schema newer than this program is refused by mk_db_migrate, below, before any
    //  claim: that is what to say first.)
    bool claim_first = version > 0 && version <= mk_db_latest_version ();
    int rc = claim_first ? s_claim (self) : 0;
    if (rc != 0)
        return rc;
    if (mk_db_migrate (self->db, &error) != 0) {
        mk_error ("controller: %s", error);
        free (error);
        return -1;
    }
    return claim_first ? 0 : s_claim (self);
}

static int
s_server_init (server_t *self)
{
    int rc = s_server_open (self);
    if (rc != 0)
        return rc;
    const char *services[] = {"cloud"};
    self->worker = mk_worker_new (self->opts.endpoint, services, 1);
    self->client = mk_client_new (self->opts.endpoint);
    self->pub = mk_sock_new (ZMQ_PUB, self->opts.stream_in);
    if (!self->worker || !self->client || !self->pub)
        return -1;
    self->sched = controller_sched_new (self->opts.cpu_ratio, self->opts.mem_ratio);
    self->events = controller_events_new (self->pub);
    self->inflight = zhashx_new ();
    zhashx_set_key_hasher (self->inflight, s_id_hash);
    zhashx_set_key_comparator (self->inflight, s_id_compare);
    zhashx_set_key_duplicator (self->inflight, NULL);
    zhashx_set_key_destructor (self->inflight, NULL);
    zhashx_set_destructor (self->inflight, s_inflight_free);
    self->templates = zhashx_new ();
    zhashx_set_destructor (self->templates, s_free);
    self->asks = zhashx_new ();
    zhashx_set_key_hasher (self->asks, s_id_hash);
    zhashx_set_key_comparator (self->asks, s_id_compare);
    zhashx_set_key_duplicator (self->asks, NULL);
    zhashx_set_key_destructor (self->asks, NULL);
    self->request_ids = mk_bloom_new (FILTER_CAPACITY);
    self->vm_names = mk_bloom_new (FILTER_CAPACITY);
    self->batches = zhashx_new ();
    zhashx_set_key_hasher (self->batches, s_id_hash);
    zhashx_set_key_comparator (self->batches, s_id_compare);
    zhashx_set_key_duplicator (self->batches, NULL);
    zhashx_set_key_destructor (self->batches, NULL);
    zhashx_set_destructor (self->batches, s_free);
    self->waiters = zlistx_new ();
    zlistx_set_destructor (self->waiters, s_free);
    self->out = zlistx_new ();
    zlistx_set_destructor (self->out, s_outgoing_free);
    self->dispatch = zlistx_new ();
    self->marks = zlistx_new ();
    self->retries = zlistx_new ();
    self->arena = zlistx_new ();
    zlistx_set_destructor (self->arena, s_free);
    if (s_load (self) != 0)
        return -1;
    return 0;
}

static void
s_server_actor (zsock_t *pipe, void *args)
{
    server_t self = {0};
    self.pipe = pipe;
    self.opts = *(controller_opts_t *) args;
    zsock_signal (pipe, 0);
    int rc = s_server_init (&self);
    if (rc != 0) {
        s_server_destroy (&self);
        zstr_send (pipe, rc == 1 ? "HELD" : "ERROR");
        return;
    }
    zstr_send (pipe, "OK");
    s_dispatch (&self, self.marks);
    zpoller_t *poller = zpoller_new (pipe, mk_worker_sock (self.worker),
                                     mk_client_sock (self.client), NULL);
    bool running = true;
    while (running) {
        if (self.lost) {            //  nothing more to do but wait for the end
            running = s_handle_pipe (&self);
            continue;
        }
        int wait = (int) (self.next_tick - zclock_mono ());
        zsock_t *which = (zsock_t *) zpoller_wait (poller, wait > 0 ? wait : 0);
        if (which == pipe)
            running = s_handle_pipe (&self);
        else if (zpoller_terminated (poller))
            break;
        s_batch (&self);
        mk_worker_tick (self.worker);
    }
    zpoller_destroy (&poller);
    s_server_destroy (&self);
}

zactor_t *
controller_server_new (const controller_opts_t *opts, bool *held)
{
    mk_db_library_init ();
    zactor_t *self = zactor_new (s_server_actor, (void *) opts);
    char *status = zstr_recv (self);
    if (held)
        *held = status && streq (status, "HELD");
    if (!status || !streq (status, "OK"))
        zactor_destroy (&self);
    free (status);
    return self;
}

//  ---------------------------------------------------------------- self-test

#include "broker_router.h"

//  Task batches the stand-in agent was sent.
static int s_fake_batches;

//  The stand-in agent's answer to one task, packed; a VM named bad-* fails, as an agent's
//  own error (not the broker's): the task fails, the host stays up.
static zframe_t *
s_fake_answer (const Maekin__Envelope *env)
{
    Maekin__TaskDispatchRequest *task = env->task_dispatch;
    assert (task && task->vm && task->vm->uuid && strlen (task->vm->uuid) == 36);
    static const char *after[] = {"", "running", "running", "stopped", "running",
                                  "paused", "running", "stopped", "", "stopped"};
    Maekin__TaskResultReply result = MAEKIN__TASK_RESULT_REPLY__INIT;
    result.task_id = task->task_id;
    result.ok = true;
    result.state = (char *) after[task->op];
    Maekin__Envelope reply = MAEKIN__ENVELOPE__INIT;
    reply.status = MK_OK;
    if (strncmp (task->vm->name, "bad-", 4) == 0) {
        reply.status = MK_NOT_FOUND;
        reply.reason = "domain not found";
    }
    else {
        reply.body_case = MAEKIN__ENVELOPE__BODY_TASK_RESULT;
        reply.task_result = &result;
    }
    return mk_msg_pack (&reply);
}

//  A stand-in agent for host "n1" (and agent/fake, for batches): answers every task at
//  once, as libvirt would.
static void
s_fake_agent (zsock_t *pipe, void *args)
{
    const char *services[] = {"node/n1", "agent/fake"};
    mk_worker_t *worker = mk_worker_new ((const char *) args, services, 2);
    zsock_signal (pipe, 0);
    zpoller_t *poller = zpoller_new (pipe, mk_worker_sock (worker), NULL);
    while (true) {
        void *which = zpoller_wait (poller, 100);
        if (which == pipe)
            break;
        mk_worker_tick (worker);
        if (which != mk_worker_sock (worker))
            continue;
        mk_request_t request;
        if (mk_worker_recv (worker, &request) != 1)
            continue;
        if (streq (request.service, "agent/fake")) {
            //  Each item answered as on its own, in order; never a graceful stop.
            s_fake_batches++;
            Maekin__TaskBatchRequest *batch = request.env->task_batch;
            assert (batch && batch->n_items >= 2);
            zframe_t **frames = (zframe_t **) zmalloc (batch->n_items * sizeof *frames);
            for (size_t i = 0; i < batch->n_items; i++) {
                assert (streq (batch->items[i]->service, "node/n1"));
                Maekin__Envelope *item = mk_msg_unpack (batch->items[i]->request.data,
                                                        batch->items[i]->request.len, NULL);
                assert (item && item->task_dispatch->op != MAEKIN__VM_OP__VM_OP_STOP);
                frames[i] = s_fake_answer (item);
                mk_msg_free (&item);
            }
            mk_worker_reply_batch (worker, request.token, frames, batch->n_items);
            free (frames);
            mk_request_clear (&request);
            continue;
        }
        zframe_t *answer = s_fake_answer (request.env);
        if (request.env->task_dispatch->op == MAEKIN__VM_OP__VM_OP_STOP) {
            Maekin__Envelope running = MAEKIN__ENVELOPE__INIT;
            running.status = MK_OK;
            mk_worker_progress (worker, request.token, &running);
        }
        mk_worker_reply_frame (worker, request.token, &answer);
        mk_request_clear (&request);
    }
    zpoller_destroy (&poller);
    mk_worker_destroy (&worker);
}

static Maekin__Envelope *
s_call (mk_client_t *client, Maekin__Envelope *env)
{
    return mk_client_call (client, "cloud", env, 5000, 0, NULL, NULL);
}

//  Registers host n1 (32 CPUs, 8 GiB) with its agent's service for batches, if any;
//  returns the status, and whether the controller asks for a full report.
static int
s_register_as (mk_client_t *client, bool full, size_t domains, const char *agent,
               bool *send_full)
{
    Maekin__Host host = MAEKIN__HOST__INIT;
    host.name = "n1";
    host.vcpus = 32;
    host.memory_mb = 8192;
    host.uri = "test:///default";
    Maekin__HostRegisterRequest report = MAEKIN__HOST_REGISTER_REQUEST__INIT;
    report.host = &host;
    report.full = full;
    report.agent = (char *) agent;
    report.n_domains = domains;
    Maekin__Domain domain = MAEKIN__DOMAIN__INIT;
    domain.name = "web-1";
    domain.state = "running";
    Maekin__Domain *list[] = {&domain};
    report.domains = list;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_HOST_REGISTER;
    env.host_register = &report;
    Maekin__Envelope *reply = s_call (client, &env);
    int status = reply->status;
    if (send_full)
        *send_full = status == MK_OK && reply->host_register_reply->send_full;
    mk_msg_free (&reply);
    return status;
}

static void
s_register (mk_client_t *client, bool full, size_t domains)
{
    assert (s_register_as (client, full, domains, NULL, NULL) == MK_OK);
}

//  Sends a VM action; returns the status, and the task id in *task.
static int
s_action (mk_client_t *client, const char *vm, Maekin__VmOp op, uint64_t *task)
{
    Maekin__VmActionRequest action = MAEKIN__VM_ACTION_REQUEST__INIT;
    action.name = (char *) vm;
    action.op = op;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_VM_ACTION;
    env.vm_action = &action;
    Maekin__Envelope *reply = s_call (client, &env);
    int status = reply->status;
    if (task)
        *task = status == MK_ACCEPTED ? reply->task_accepted->task_id : 0;
    mk_msg_free (&reply);
    return status;
}

//  Waits for a task to end; returns its final state's name (static).
static const char *
s_wait (mk_client_t *client, uint64_t id)
{
    Maekin__TaskWaitRequest wait = MAEKIN__TASK_WAIT_REQUEST__INIT;
    wait.id = id;
    wait.timeout_ms = 3000;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_TASK_WAIT;
    env.task_wait = &wait;
    Maekin__Envelope *reply = s_call (client, &env);
    assert (reply->status == MK_OK);
    const char *state = streq (reply->task_show_reply->task->state, "done") ? "done" : "failed";
    mk_msg_free (&reply);
    return state;
}

static char *
s_vm_state (mk_client_t *client, const char *name)
{
    Maekin__VmShowRequest show = MAEKIN__VM_SHOW_REQUEST__INIT;
    show.name = (char *) name;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_VM_SHOW;
    env.vm_show = &show;
    Maekin__Envelope *reply = s_call (client, &env);
    char *state = strdup (reply->status == MK_OK ? reply->vm_show_reply->vm->state : "");
    mk_msg_free (&reply);
    return state;
}

static int
s_create (mk_client_t *client, const char *name, const char *template_, const char *request_id,
          uint64_t *task)
{
    Maekin__VmCreateRequest create = MAEKIN__VM_CREATE_REQUEST__INIT;
    create.name = (char *) name;
    create.template_ = (char *) template_;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.request_id = (char *) request_id;
    env.body_case = MAEKIN__ENVELOPE__BODY_VM_CREATE;
    env.vm_create = &create;
    Maekin__Envelope *reply = s_call (client, &env);
    int status = reply->status;
    if (task)
        *task = status == MK_ACCEPTED ? reply->task_accepted->task_id : 0;
    mk_msg_free (&reply);
    return status;
}

void
controller_server_test (bool verbose)
{
    char dir[] = "/tmp/controller_server_test.XXXXXX";
    assert (mkdtemp (dir));
    char url[128];
    snprintf (url, sizeof url, "sqlite:%s/state.db", dir);
    broker_router_opts_t bopts = {"tcp://127.0.0.1:*", 100, 1000, 30000};
    zactor_t *broker = broker_router_new (&bopts);
    zstr_send (broker, "ENDPOINT");
    char *endpoint = zstr_recv (broker);
    controller_opts_t opts = {endpoint, "inproc://controller_server_test", url, 1000, 5000,
                              100, 100, 256, 3600};
    zactor_t *controller = controller_server_new (&opts, NULL);
    assert (controller);
    mk_client_t *client = mk_client_new (endpoint);
    zclock_sleep (200);

    //  A template, and its mistakes.
    Maekin__Template tiny = MAEKIN__TEMPLATE__INIT;
    tiny.name = "tiny";
    tiny.vcpus = 1;
    tiny.memory_mb = 256;
    Maekin__TemplateCreateRequest tcreate = MAEKIN__TEMPLATE_CREATE_REQUEST__INIT;
    tcreate.template_ = &tiny;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_TEMPLATE_CREATE;
    env.template_create = &tcreate;
    Maekin__Envelope *reply = s_call (client, &env);
    assert (reply->status == MK_OK && reply->template_create_reply->template_->vcpus == 1);
    mk_msg_free (&reply);
    reply = s_call (client, &env);
    assert (reply->status == MK_CONFLICT && strstr (reply->reason, "exists already"));
    mk_msg_free (&reply);
    tiny.name = "huge";
    tiny.vcpus = 0;
    reply = s_call (client, &env);
    assert (reply->status == MK_BAD_REQUEST && strstr (reply->reason, "vcpus"));
    mk_msg_free (&reply);
    tiny.vcpus = 1;
    tiny.kernel = "relative/vmlinuz";
    reply = s_call (client, &env);
    assert (reply->status == MK_BAD_REQUEST && strstr (reply->reason, "absolute"));
    mk_msg_free (&reply);

    //  A deleted template is gone for new VMs at once.
    tiny.name = "gone";
    tiny.kernel = "";
    env = (Maekin__Envelope) MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_TEMPLATE_CREATE;
    env.template_create = &tcreate;
    reply = s_call (client, &env);
    assert (reply->status == MK_OK);
    mk_msg_free (&reply);
    Maekin__TemplateDeleteRequest tdelete = MAEKIN__TEMPLATE_DELETE_REQUEST__INIT;
    tdelete.name = "gone";
    env = (Maekin__Envelope) MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_TEMPLATE_DELETE;
    env.template_delete = &tdelete;
    reply = s_call (client, &env);
    assert (reply->status == MK_OK);
    mk_msg_free (&reply);
    assert (s_create (client, "web-9", "gone", NULL, NULL) == MK_NOT_FOUND);

    //  No host is up yet: nowhere to place a VM.
    assert (s_create (client, "web-1", "tiny", NULL, NULL) == MK_INSUFFICIENT);
    zactor_t *agent = zactor_new (s_fake_agent, endpoint);
    s_register (client, true, 0);

    //  Create, with a request id; the retry gets the first answer and makes nothing new.
    uint64_t task = 0, again = 0;
    assert (s_create (client, "web-1", "tiny", "req-create-1", &task) == MK_ACCEPTED);
    assert (s_create (client, "web-1", "tiny", "req-create-1", &again) == MK_ACCEPTED);
    assert (task && again == task);
    //  A request id MySQL would read as another (trailing blank) or a control: refused.
    assert (s_create (client, "web-8", "tiny", "req 1 ", NULL) == MK_BAD_REQUEST);
    assert (s_create (client, "web-8", "tiny", "req\t2", NULL) == MK_BAD_REQUEST);
    assert (streq (s_wait (client, task), "done"));
    char *state = s_vm_state (client, "web-1");
    assert (streq (state, "running"));
    free (state);
    assert (s_create (client, "web-1", "tiny", NULL, NULL) == MK_CONFLICT);
    assert (s_create (client, "Bad Name", "tiny", NULL, NULL) == MK_BAD_REQUEST);
    assert (s_create (client, "web-2", "nothing", NULL, NULL) == MK_NOT_FOUND);

    //  An agent's own 404 fails the task; it does not take the host down.
    assert (s_create (client, "bad-1", "tiny", NULL, &task) == MK_ACCEPTED);
    assert (streq (s_wait (client, task), "failed"));
    state = s_vm_state (client, "bad-1");
    assert (streq (state, "error"));
    free (state);
    assert (s_action (client, "web-1", MAEKIN__VM_OP__VM_OP_SUSPEND, &task) == MK_ACCEPTED);
    assert (streq (s_wait (client, task), "done"));
    assert (s_action (client, "web-1", MAEKIN__VM_OP__VM_OP_RESUME, &task) == MK_ACCEPTED);
    assert (streq (s_wait (client, task), "done"));

    //  The lifecycle; illegal transitions are refused with 409.
    assert (s_action (client, "web-1", MAEKIN__VM_OP__VM_OP_START, NULL) == MK_CONFLICT);
    assert (s_action (client, "web-1", MAEKIN__VM_OP__VM_OP_DELETE, NULL) == MK_CONFLICT);
    assert (s_action (client, "nothing", MAEKIN__VM_OP__VM_OP_STOP, NULL) == MK_NOT_FOUND);
    assert (s_action (client, "web-1", MAEKIN__VM_OP__VM_OP_CREATE, NULL) == MK_BAD_REQUEST);
    Maekin__VmOp ops[] = {MAEKIN__VM_OP__VM_OP_SUSPEND, MAEKIN__VM_OP__VM_OP_RESUME,
                          MAEKIN__VM_OP__VM_OP_REBOOT,  MAEKIN__VM_OP__VM_OP_STOP,
                          MAEKIN__VM_OP__VM_OP_START,   MAEKIN__VM_OP__VM_OP_DESTROY};
    const char *expect[] = {"paused", "running", "running", "stopped", "running", "stopped"};
    for (int i = 0; i < 6; i++) {
        assert (s_action (client, "web-1", ops[i], &task) == MK_ACCEPTED);
        assert (streq (s_wait (client, task), "done"));
        state = s_vm_state (client, "web-1");
        if (verbose)
            printf ("  %s -> %s\n", controller_fsm_op_name (ops[i]), state);
        assert (streq (state, expect[i]));
        free (state);
    }

    //  The controller restarts; what it accepted is still there.
    zactor_destroy (&controller);
    controller = controller_server_new (&opts, NULL);
    assert (controller);
    zclock_sleep (200);
    state = s_vm_state (client, "web-1");
    assert (streq (state, "stopped"));
    free (state);
    s_register (client, true, 0);

    //  The host lost the VM (an agent restarted on a fresh test driver): a full report
    //  without it makes the controller define it again.
    s_register (client, true, 0);
    zclock_sleep (300);
    Maekin__TaskListRequest tlist = MAEKIN__TASK_LIST_REQUEST__INIT;
    env = (Maekin__Envelope) MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_TASK_LIST;
    env.task_list = &tlist;
    reply = s_call (client, &env);
    assert (reply->status == MK_OK && reply->task_list_reply->n_tasks >= 8);
    assert (reply->task_list_reply->tasks[0]->op == MAEKIN__VM_OP__VM_OP_DEFINE);
    mk_msg_free (&reply);

    //  Delete, then the events tell the whole story in order.
    assert (s_action (client, "web-1", MAEKIN__VM_OP__VM_OP_DELETE, &task) == MK_ACCEPTED);
    assert (streq (s_wait (client, task), "done"));
    state = s_vm_state (client, "web-1");
    assert (streq (state, ""));
    free (state);
    Maekin__EventsSinceRequest since = MAEKIN__EVENTS_SINCE_REQUEST__INIT;
    since.stream = "event.vm";
    env = (Maekin__Envelope) MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_EVENTS_SINCE;
    env.events_since = &since;
    reply = s_call (client, &env);
    assert (reply->status == MK_OK);
    Maekin__EventsSinceReply *events = reply->events_since_reply;
    assert (events->n_events >= 14);
    for (size_t i = 0; i < events->n_events; i++)
        assert (events->events[i]->seq == i + 1);
    assert (streq (events->events[0]->state, "creating"));
    assert (streq (events->events[events->n_events - 1]->state, "deleted"));
    mk_msg_free (&reply);

    //  Bad input: a reply sent as a request, an unknown stream, a stranger.
    Maekin__TaskAccepted bogus = MAEKIN__TASK_ACCEPTED__INIT;
    env = (Maekin__Envelope) MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_TASK_ACCEPTED;
    env.task_accepted = &bogus;
    reply = s_call (client, &env);
    assert (reply->status == MK_BAD_REQUEST && strstr (reply->reason, "not a request"));
    mk_msg_free (&reply);
    since.stream = "event.nope";
    env = (Maekin__Envelope) MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_EVENTS_SINCE;
    env.events_since = &since;
    reply = s_call (client, &env);
    assert (reply->status == MK_BAD_REQUEST);
    mk_msg_free (&reply);
    Maekin__Credential who = MAEKIN__CREDENTIAL__INIT;
    who.user = "mallory";
    env.credential = &who;
    reply = s_call (client, &env);
    assert (reply->status == MK_FORBIDDEN);
    mk_msg_free (&reply);

    //  An agent process that names its own service gets a batch's tasks in one message;
    //  each task ends on its own item's answer.
    assert (s_register_as (client, true, 0, "node/n1", NULL) == MK_BAD_REQUEST);
    assert (s_register_as (client, true, 0, "agent/", NULL) == MK_BAD_REQUEST);
    //  A light report from another agent process than the last full one's: it may have
    //  restarted on a libvirt that lost domains, so the controller asks what it has,
    //  until it hears.
    bool send_full = false;
    assert (s_register_as (client, true, 0, "agent/old", &send_full) == MK_OK && !send_full);
    assert (s_register_as (client, false, 0, "agent/old", &send_full) == MK_OK && !send_full);
    assert (s_register_as (client, false, 0, "agent/fake", &send_full) == MK_OK && send_full);
    assert (s_register_as (client, false, 0, "agent/fake", &send_full) == MK_OK && send_full);
    assert (s_register_as (client, true, 0, "agent/fake", &send_full) == MK_OK && !send_full);
    assert (s_register_as (client, false, 0, "agent/fake", &send_full) == MK_OK && !send_full);
    //  Two creates at once are one batch of the controller's unless it happened to read
    //  the first alone: a few rounds make that certain.
    for (int round = 0; round < 10 && !s_fake_batches; round++) {
        char names[2][24];
        snprintf (names[0], sizeof names[0], "b-%d", round);
        snprintf (names[1], sizeof names[1], "bad-b%d", round);
        uint64_t tasks[2];
        for (int i = 0; i < 2; i++) {
            Maekin__VmCreateRequest create = MAEKIN__VM_CREATE_REQUEST__INIT;
            create.name = names[i];
            create.template_ = "tiny";
            env = (Maekin__Envelope) MAEKIN__ENVELOPE__INIT;
            env.body_case = MAEKIN__ENVELOPE__BODY_VM_CREATE;
            env.vm_create = &create;
            assert (mk_client_send_as (client, "cloud", 100 + (uint64_t) i, &env) == 0);
        }
        for (int i = 0; i < 2; i++) {
            mk_reply_t answer;
            assert (mk_client_recv (client, &answer, 5000) == 0);
            assert (answer.env->status == MK_ACCEPTED);
            tasks[answer.corr - 100] = answer.env->task_accepted->task_id;
            mk_reply_clear (&answer);
        }
        assert (streq (s_wait (client, tasks[0]), "done"));
        assert (streq (s_wait (client, tasks[1]), "failed"));
        state = s_vm_state (client, names[0]);
        assert (streq (state, "running"));
        free (state);
    }
    if (verbose)
        printf ("  task batches: %d\n", s_fake_batches);
    assert (s_fake_batches >= 1);

    //  The agent goes away: the host goes down, and actions on its VMs fail clearly.
    assert (s_create (client, "web-3", "tiny", NULL, &task) == MK_ACCEPTED);
    assert (streq (s_wait (client, task), "done"));
    zactor_destroy (&agent);
    zclock_sleep (1500);
    Maekin__HostShowRequest hshow = MAEKIN__HOST_SHOW_REQUEST__INIT;
    hshow.name = "n1";
    env = (Maekin__Envelope) MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_HOST_SHOW;
    env.host_show = &hshow;
    reply = s_call (client, &env);
    assert (reply->status == MK_OK && streq (reply->host_show_reply->host->state, "down"));
    mk_msg_free (&reply);
    assert (s_action (client, "web-3", MAEKIN__VM_OP__VM_OP_STOP, NULL) == MK_UNAVAILABLE);

    mk_client_destroy (&client);
    zactor_destroy (&controller);
    zactor_destroy (&broker);
    free (endpoint);
    char command[160];
    snprintf (command, sizeof command, "rm -rf '%s'", dir);
    assert (system (command) == 0);
}

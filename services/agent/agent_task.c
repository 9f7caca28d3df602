/*  agent_task: the controller's tasks on the agent's side.

    A task_dispatch to node/<host> (alone, or as an item of a task_batch to agent/<id>)
    becomes a job for the host's libvirt thread; its answer goes to everyone waiting for
    it (a repeat of a task still running waits with the first) and is remembered by task
    id, so a task that comes again is answered without touching libvirt. A batch is
    answered once, when every item has its answer, in the items' order: items for
    different hosts run in parallel on their hosts' threads. A graceful stop sends a
    progress message when the shutdown begins and answers when the guest is off, or
    powers it off after the stop timeout. A job whose libvirt call overruns the deadline
    fails its task with a line saying so. */
#include "agent_server_int.h"
#include "mk_limits.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Graceful stops are polled this often.
#define S_STOP_POLL_MS 100

//  A task_batch being answered: the reply leaves when the last item has its answer.
typedef struct {
    uint64_t token;     //  the batch request's
    size_t count;       //  its items
    size_t missing;     //  answers still missing, plus one while items are read
    zframe_t **answers; //  packed, in the items' order
} s_batch_t;

//  Whoever waits for an answer: a request on the bus, or an item of a batch.
typedef struct {
    uint64_t token;   //  the request's, if not in a batch
    s_batch_t *batch; //  the batch, or NULL
    size_t index;     //  the item in the batch
} s_waiter_t;

//  A task in progress (with a host's thread, or a guest shutting down).
typedef struct {
    uint64_t task_id;
    int op;
    char uuid[VIR_UUID_STRING_BUFLEN]; //  its domain, as agent_server_uuid_key writes it
    char *name;                        //  its VM's name, for logs and DESTROY
    agent_server_host_t *host;         //  where its domain is
    zlistx_t *waiters;                 //  s_waiter_t *: who gets the answer
    bool stopping;                     //  a graceful stop waits for the guest
    bool checking;                     //  a STOP_CHECK job is with the thread
    int64_t stop_deadline;             //  mono ms: power off after this
} s_task_t;

//  A finished task's reply, and what the task was: a task id used again for another task
//  (a controller restored from an older backup counts its ids from there again) runs
//  anew instead of getting the other task's answer.
typedef struct {
    int op;
    char uuid[VIR_UUID_STRING_BUFLEN];
    zframe_t *packed;
} s_result_t;

struct _agent_task_t {
    zhashx_t *results; //  "task id" -> s_result_t *
    uint64_t *fifo;    //  task ids in results, oldest first (a ring)
    size_t fifo_head;  //  index of the oldest
    size_t fifo_count; //  how many
    zhashx_t *running; //  "task id" -> s_task_t *
    size_t stops;      //  tasks in running that are stopping
    int stop_timer;    //  the poll timer while stops run, else -1
};

static void
s_task_key (uint64_t task_id, char key[24])
{
    snprintf (key, 24, "%" PRIu64, task_id);
}

static void
s_result_free (void **item)
{
    s_result_t *result = (s_result_t *) *item;
    zframe_destroy (&result->packed);
    free (result);
    *item = NULL;
}

static void
s_running_free (void **item)
{
    s_task_t *task = (s_task_t *) *item;
    zlistx_destroy (&task->waiters);
    free (task->name);
    free (task);
    *item = NULL;
}

static void
s_waiter_free (void **item)
{
    free (*item);
    *item = NULL;
}

agent_task_t *
agent_task_new (void)
{
    agent_task_t *self = (agent_task_t *) zmalloc (sizeof (agent_task_t));
    self->results = zhashx_new ();
    zhashx_set_destructor (self->results, s_result_free);
    self->fifo = (uint64_t *) zmalloc (AGENT_SERVER_RESULTS * sizeof (uint64_t));
    self->running = zhashx_new ();
    zhashx_set_destructor (self->running, s_running_free);
    self->stop_timer = -1;
    return self;
}

void
agent_task_destroy (agent_task_t **self_p)
{
    agent_task_t *self = *self_p;
    if (!self)
        return;
    //  Batches still open are freed with their last waiter.
    zlistx_t *batches = zlistx_new ();
    for (s_task_t *task = (s_task_t *) zhashx_first (self->running); task;
         task = (s_task_t *) zhashx_next (self->running))
        for (s_waiter_t *w = (s_waiter_t *) zlistx_first (task->waiters); w;
             w = (s_waiter_t *) zlistx_next (task->waiters))
            if (w->batch && !zlistx_find (batches, w->batch))
                zlistx_add_end (batches, w->batch);
    for (s_batch_t *batch = (s_batch_t *) zlistx_first (batches); batch;
         batch = (s_batch_t *) zlistx_next (batches)) {
        for (size_t i = 0; i < batch->count; i++)
            zframe_destroy (&batch->answers[i]);
        free (batch->answers);
        free (batch);
    }
    zlistx_destroy (&batches);
    zhashx_destroy (&self->running);
    zhashx_destroy (&self->results);
    free (self->fifo);
    free (self);
    *self_p = NULL;
}

size_t
agent_task_stops (agent_task_t *self)
{
    return self->stops;
}

//  ---------------------------------------------------------------- answers

//  Answers a waiter; takes the frame. The last answer of a batch sends its reply.
static void
s_answer_frame (agent_server_t *self, const s_waiter_t *waiter, zframe_t **frame_p)
{
    s_batch_t *batch = waiter->batch;
    if (!batch) {
        mk_worker_reply_frame (self->worker, waiter->token, frame_p);
        return;
    }
    assert (waiter->index < batch->count && !batch->answers[waiter->index]);
    batch->answers[waiter->index] = *frame_p;
    *frame_p = NULL;
    if (--batch->missing == 0) {
        mk_worker_reply_batch (self->worker, batch->token, batch->answers, batch->count);
        free (batch->answers);
        free (batch);
    }
}

static void s_reply_status (agent_server_t *self, const s_waiter_t *waiter, int status,
                            const char *format, ...) __attribute__ ((format (printf, 4, 5)));

static void
s_reply_status (agent_server_t *self, const s_waiter_t *waiter, int status, const char *format, ...)
{
    char reason[512];
    va_list args;
    va_start (args, format);
    vsnprintf (reason, sizeof reason, format, args);
    va_end (args);
    mk_warn ("agent_server: refused a request: %s", reason);
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.status = status;
    env.reason = reason;
    zframe_t *frame = mk_msg_pack (&env);
    s_answer_frame (self, waiter, &frame);
}

static zframe_t *
s_result_pack (uint64_t task_id, bool ok, const char *error, const char *state)
{
    Maekin__TaskResultReply result = MAEKIN__TASK_RESULT_REPLY__INIT;
    result.task_id = task_id;
    result.ok = ok;
    result.error = (char *) (error ? error : "");
    result.state = (char *) state;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.status = MK_OK;
    env.body_case = MAEKIN__ENVELOPE__BODY_TASK_RESULT;
    env.task_result = &result;
    return mk_msg_pack (&env);
}

//  Remembers a finished task's reply, forgetting the oldest beyond AGENT_SERVER_RESULTS.
static void
s_result_keep (agent_task_t *self, uint64_t task_id, int op, const char *uuid, zframe_t *packed)
{
    s_result_t *result = (s_result_t *) zmalloc (sizeof (s_result_t));
    result->op = op;
    snprintf (result->uuid, sizeof result->uuid, "%s", uuid);
    result->packed = packed;
    char key[24];
    if (self->fifo_count == AGENT_SERVER_RESULTS) {
        s_task_key (self->fifo[self->fifo_head], key);
        zhashx_delete (self->results, key);
        self->fifo_head = (self->fifo_head + 1) % AGENT_SERVER_RESULTS;
        self->fifo_count--;
    }
    s_task_key (task_id, key);
    zhashx_update (self->results, key, result);
    self->fifo[(self->fifo_head + self->fifo_count) % AGENT_SERVER_RESULTS] = task_id;
    self->fifo_count++;
}

//  Ends a task: the reply to every waiter, remembered for repeats (unless remember is
//  false: a task refused for now may be sent again and must run then).
static void
s_task_end (agent_server_t *self, s_task_t *task, zframe_t *packed, bool remember)
{
    for (s_waiter_t *w = (s_waiter_t *) zlistx_first (task->waiters); w;
         w = (s_waiter_t *) zlistx_next (task->waiters)) {
        zframe_t *copy = zframe_dup (packed);
        s_answer_frame (self, w, &copy);
    }
    if (remember)
        s_result_keep (self->tasks, task->task_id, task->op, task->uuid, packed);
    else
        zframe_destroy (&packed);
    if (task->stopping)
        self->tasks->stops--;
    char key[24];
    s_task_key (task->task_id, key);
    zhashx_delete (self->tasks->running, key);
}

//  A task's result: what libvirt said and the state after ("unknown" if not known).
static void
s_task_finish (agent_server_t *self, s_task_t *task, bool ok, const char *error, const char *state)
{
    if (!state)
        state = "unknown";
    agent_server_known_set (task->host, task->uuid, state);
    s_task_end (self, task, s_result_pack (task->task_id, ok, error, state), true);
}

//  ---------------------------------------------------------------- requests

static agent_server_host_t *
s_host_by_service (agent_server_t *self, const char *service)
{
    return strncmp (service, "node/", 5) == 0 ? agent_server_host_by_name (self, service + 5)
                                              : NULL;
}

static s_task_t *
s_task_new (agent_server_t *self, agent_server_host_t *host,
            const Maekin__TaskDispatchRequest *request, const s_waiter_t *waiter)
{
    s_task_t *task = (s_task_t *) zmalloc (sizeof (s_task_t));
    task->task_id = request->task_id;
    task->op = (int) request->op;
    agent_server_uuid_key (request->vm->uuid, task->uuid);
    task->name = mk_strdup (request->vm->name);
    task->host = host;
    task->waiters = zlistx_new ();
    zlistx_set_destructor (task->waiters, s_waiter_free);
    s_waiter_t *copy = (s_waiter_t *) zmalloc (sizeof (s_waiter_t));
    *copy = *waiter;
    zlistx_add_end (task->waiters, copy);
    char key[24];
    s_task_key (task->task_id, key);
    zhashx_insert (self->tasks->running, key, task);
    return task;
}

//  A task seen before, or running now: answered (or joined) here. True if it was.
static bool
s_task_again (agent_server_t *self, const Maekin__TaskDispatchRequest *request,
              const s_waiter_t *waiter)
{
    char key[24], uuid[VIR_UUID_STRING_BUFLEN];
    s_task_key (request->task_id, key);
    agent_server_uuid_key (request->vm && request->vm->uuid ? request->vm->uuid : "", uuid);
    s_result_t *done = (s_result_t *) zhashx_lookup (self->tasks->results, key);
    if (done && done->op == (int) request->op && streq (done->uuid, uuid)) {
        mk_debug ("agent_server: task %" PRIu64 " again; answered as before", request->task_id);
        zframe_t *copy = zframe_dup (done->packed);
        s_answer_frame (self, waiter, &copy);
        return true;
    }
    if (done) {
        mk_info ("agent_server: task %" PRIu64 " comes again for another operation or VM "
                 "(the controller's ids started over?); it runs as a new task",
                 request->task_id);
        zhashx_delete (self->tasks->results, key);
    }
    s_task_t *task = (s_task_t *) zhashx_lookup (self->tasks->running, key);
    if (!task)
        return false;
    if (task->stopping && (waiter->batch || request->op != MAEKIN__VM_OP__VM_OP_STOP))
        s_reply_status (self, waiter, MK_CONFLICT,
                        "task %" PRIu64 " is a stop of '%s' in progress; it answers when "
                        "the guest is off",
                        request->task_id, task->name);
    else if (task->op != (int) request->op || !streq (task->uuid, uuid))
        s_reply_status (self, waiter, MK_CONFLICT,
                        "task %" PRIu64 " runs now as %s of '%s'; it cannot run for "
                        "another operation or VM until it ends",
                        request->task_id, agent_libvirt_op_name ((Maekin__VmOp) task->op),
                        task->name);
    else {
        mk_debug ("agent_server: task %" PRIu64 " again while it runs; both get the answer",
                  request->task_id);
        s_waiter_t *copy = (s_waiter_t *) zmalloc (sizeof (s_waiter_t));
        *copy = *waiter;
        zlistx_add_end (task->waiters, copy);
    }
    return true;
}

//  A task_dispatch for a host; takes *env_p when the task runs.
static void
s_handle_task (agent_server_t *self, agent_server_host_t *host, const s_waiter_t *waiter,
               Maekin__Envelope **env_p)
{
    Maekin__TaskDispatchRequest *request = (*env_p)->task_dispatch;
    if (request->task_id == 0) {
        s_reply_status (self, waiter, MK_BAD_REQUEST, "a task_dispatch to '%s' has no task_id",
                        host->service);
        return;
    }
    if (waiter->batch && request->op == MAEKIN__VM_OP__VM_OP_STOP) {
        s_reply_status (self, waiter, MK_BAD_REQUEST,
                        "task %" PRIu64 " is a stop, which answers when its guest is off: "
                        "send it to '%s' on its own, not in a task_batch",
                        request->task_id, host->service);
        return;
    }
    if (s_task_again (self, request, waiter))
        return;
    if (host->disconnected) {
        s_reply_status (self, waiter, MK_UNAVAILABLE,
                        "host '%s' has lost its connection to libvirt at '%s'; the agent is "
                        "connecting again",
                        host->name, host->uri);
        return;
    }
    if (!agent_libvirt_op_valid (request->op)) {
        s_reply_status (self, waiter, MK_BAD_REQUEST,
                        "task %" PRIu64 " has op %d; an agent runs 1..9 (create, start, stop, "
                        "reboot, suspend, resume, destroy, delete, define)",
                        request->task_id, (int) request->op);
        return;
    }
    if (!request->vm) {
        s_reply_status (self, waiter, MK_BAD_REQUEST, "task %" PRIu64 " (%s) has no vm spec",
                        request->task_id, agent_libvirt_op_name (request->op));
        return;
    }
    char *busy = agent_server_busy (self, host, 1);
    if (busy) {
        s_reply_status (self, waiter, MK_UNAVAILABLE, "%s", busy);
        free (busy);
        return;
    }
    mk_debug ("agent_server: task %" PRIu64 ": %s '%s' on host '%s'", request->task_id,
              agent_libvirt_op_name (request->op), request->vm->name, host->name);
    s_task_t *task = s_task_new (self, host, request, waiter);
    agent_job_t *job = agent_server_job (
        self, host, request->op == MAEKIN__VM_OP__VM_OP_STOP ? AGENT_JOB_STOP : AGENT_JOB_TASK,
        task);
    job->op = request->op;
    job->spec = *request->vm;
    job->env = *env_p;
    *env_p = NULL;
}

//  What libvirt on the host has, as it is now: asked of its thread.
static void
s_handle_domain_list (agent_server_t *self, agent_server_host_t *host, const s_waiter_t *waiter)
{
    char *busy = agent_server_busy (self, host, 1);
    if (busy) {
        s_reply_status (self, waiter, MK_UNAVAILABLE, "%s", busy);
        free (busy);
        return;
    }
    s_waiter_t *copy = (s_waiter_t *) zmalloc (sizeof (s_waiter_t));
    *copy = *waiter;
    agent_server_job (self, host, AGENT_JOB_LIST, copy);
}

static void
s_list_done (agent_server_t *self, agent_server_host_t *host, agent_job_t *job, const char *overdue)
{
    s_waiter_t *waiter = (s_waiter_t *) job->ref;
    if (overdue)
        s_reply_status (self, waiter, MK_TIMEOUT, "%s", overdue);
    else if (job->rc != 0)
        s_reply_status (self, waiter, MK_UNAVAILABLE, "host '%s': libvirt cannot list its domains",
                        host->name);
    else {
        size_t count = job->count;
        Maekin__Domain *items = (Maekin__Domain *) zmalloc ((count + 1) * sizeof (Maekin__Domain));
        Maekin__Domain **pointers =
            (Maekin__Domain **) zmalloc ((count + 1) * sizeof (Maekin__Domain *));
        for (size_t i = 0; i < count; i++) {
            items[i] = (Maekin__Domain) MAEKIN__DOMAIN__INIT;
            items[i].uuid = job->domains[i].uuid;
            items[i].name = job->domains[i].name;
            items[i].state = (char *) job->domains[i].state;
            pointers[i] = &items[i];
        }
        Maekin__DomainListReply list = MAEKIN__DOMAIN_LIST_REPLY__INIT;
        list.domains = pointers;
        list.n_domains = count;
        Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
        env.status = MK_OK;
        env.body_case = MAEKIN__ENVELOPE__BODY_DOMAIN_LIST_REPLY;
        env.domain_list_reply = &list;
        zframe_t *frame = mk_msg_pack (&env);
        s_answer_frame (self, waiter, &frame);
        free (pointers);
        free (items);
    }
    free (waiter);
    job->ref = NULL;
}

//  One request to node/<host>, alone or from a batch; may take *env_p.
static void
s_handle_node (agent_server_t *self, const char *service, const s_waiter_t *waiter,
               Maekin__Envelope **env_p)
{
    agent_server_host_t *host = s_host_by_service (self, service);
    Maekin__Envelope *env = *env_p;
    if (!host)
        s_reply_status (self, waiter, MK_NOT_FOUND, "this agent does not serve '%s'", service);
    else if (env->body_case == MAEKIN__ENVELOPE__BODY_DOMAIN_LIST)
        s_handle_domain_list (self, host, waiter);
    else if (env->body_case != MAEKIN__ENVELOPE__BODY_TASK_DISPATCH)
        s_reply_status (self, waiter, MK_BAD_REQUEST,
                        "'%s' takes task_dispatch and domain_list requests, not '%s'",
                        host->service, mk_msg_body_name (env));
    else
        s_handle_task (self, host, waiter, env_p);
}

//  A task_batch to agent/<id>: each item is handled as if it came on its own, and the
//  one reply carries every item's answer in the items' order.
static void
s_handle_batch (agent_server_t *self, const mk_request_t *request)
{
    const Maekin__Envelope *env = request->env;
    s_waiter_t whole = {request->token, NULL, 0};
    if (env->body_case != MAEKIN__ENVELOPE__BODY_TASK_BATCH) {
        s_reply_status (self, &whole, MK_BAD_REQUEST, "'%s' takes task_batch requests, not '%s'",
                        self->agent_service, mk_msg_body_name (env));
        return;
    }
    const Maekin__TaskBatchRequest *items = env->task_batch;
    if (items->n_items > MK_BATCH_MAX) {
        s_reply_status (self, &whole, MK_BAD_REQUEST,
                        "a task_batch of %zu tasks; an agent takes at most %d in one",
                        items->n_items, MK_BATCH_MAX);
        return;
    }
    s_batch_t *batch = (s_batch_t *) zmalloc (sizeof (s_batch_t));
    batch->token = request->token;
    batch->count = items->n_items;
    batch->missing = items->n_items + 1;
    batch->answers = (zframe_t **) zmalloc ((items->n_items + 1) * sizeof (zframe_t *));
    for (size_t i = 0; i < items->n_items; i++) {
        const Maekin__TaskBatchItem *item = items->items[i];
        s_waiter_t waiter = {0, batch, i};
        const char *why = NULL;
        Maekin__Envelope *inner = mk_msg_unpack (item->request.data, item->request.len, &why);
        if (!inner)
            s_reply_status (self, &waiter, MK_BAD_REQUEST, "item %zu of a task_batch: %s", i, why);
        else if (!item->service || strlen (item->service) > MK_WIRE_SERVICE_MAX)
            s_reply_status (self, &waiter, MK_BAD_REQUEST,
                            "item %zu of a task_batch names no service", i);
        else
            s_handle_node (self, item->service, &waiter, &inner);
        mk_msg_free (&inner);
    }
    //  Every item was answered or is with a host's thread: the last answer sends it.
    if (--batch->missing == 0) {
        mk_worker_reply_batch (self->worker, batch->token, batch->answers, batch->count);
        free (batch->answers);
        free (batch);
    }
}

void
agent_task_request (agent_server_t *self, mk_request_t *request)
{
    if (streq (request->service, self->agent_service)) {
        s_handle_batch (self, request);
        return;
    }
    s_waiter_t waiter = {request->token, NULL, 0};
    s_handle_node (self, request->service, &waiter, &request->env);
}

//  ---------------------------------------------------------------- results

//  A graceful stop began: the callers hear that it runs.
static void
s_stop_progress (agent_server_t *self, s_task_t *task)
{
    Maekin__TaskResultReply running = MAEKIN__TASK_RESULT_REPLY__INIT;
    running.task_id = task->task_id;
    running.ok = true;
    running.state = "stopping";
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.status = MK_OK;
    env.body_case = MAEKIN__ENVELOPE__BODY_TASK_RESULT;
    env.task_result = &running;
    for (s_waiter_t *w = (s_waiter_t *) zlistx_first (task->waiters); w;
         w = (s_waiter_t *) zlistx_next (task->waiters))
        if (!w->batch)
            mk_worker_progress (self->worker, w->token, &env);
}

//  A graceful stop runs: the guest is polled until it is off or its time is up.
static void
s_stop_begin (agent_server_t *self, s_task_t *task)
{
    task->stopping = true;
    task->stop_deadline = zclock_mono () + self->stop_timeout_ms;
    self->tasks->stops++;
    if (self->tasks->stop_timer < 0)
        self->tasks->stop_timer =
            zloop_timer (self->loop, S_STOP_POLL_MS, 0, agent_task_stop_poll, self);
}

void
agent_task_done (agent_server_t *self, agent_server_host_t *host, agent_job_t *job,
                 const char *overdue)
{
    if (job->kind == AGENT_JOB_LIST) {
        s_list_done (self, host, job, overdue);
        return;
    }
    s_task_t *task = (s_task_t *) job->ref;
    job->ref = NULL;
    if (overdue) {
        mk_error ("agent_server: task %" PRIu64 " (%s of '%s') failed: %s", task->task_id,
                  agent_libvirt_op_name ((Maekin__VmOp) task->op), task->name, overdue);
        s_task_finish (self, task, false, overdue, NULL);
        return;
    }
    if (job->unavailable) {
        //  The host is marked disconnected (and that logged) at the end of its work.
        char reason[512];
        snprintf (reason, sizeof reason,
                  "host '%s' has lost its connection to libvirt at '%s'; the agent is "
                  "connecting again",
                  host->name, host->uri);
        Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
        env.status = MK_UNAVAILABLE;
        env.reason = reason;
        s_task_end (self, task, mk_msg_pack (&env), false);
        return;
    }
    if (job->kind == AGENT_JOB_STOP && job->began)
        s_stop_progress (self, task);
    if (job->kind == AGENT_JOB_STOP && job->stopping) {
        s_stop_begin (self, task);
        return;
    }
    if (job->kind == AGENT_JOB_STOP_CHECK) {
        task->checking = false;
        bool off = job->state && (streq (job->state, "stopped") || !*job->state);
        if (job->forced)
            s_task_finish (self, task, job->rc == 0, job->error, job->state);
        else if (off)
            s_task_finish (self, task, true, NULL, job->state);
        return;
    }
    s_task_finish (self, task, job->rc == 0, job->error, job->state);
}

bool
agent_task_stopping (agent_server_t *self, agent_server_host_t *host, const char *uuid_key)
{
    if (self->tasks->stops == 0)
        return false;
    for (s_task_t *task = (s_task_t *) zhashx_first (self->tasks->running); task;
         task = (s_task_t *) zhashx_next (self->tasks->running))
        if (task->stopping && task->host == host && streq (task->uuid, uuid_key))
            return true;
    return false;
}

int
agent_task_stop_poll (zloop_t *loop, int timer_id, void *arg)
{
    agent_server_t *self = (agent_server_t *) arg;
    int64_t now = zclock_mono ();
    for (s_task_t *task = (s_task_t *) zhashx_first (self->tasks->running); task;
         task = (s_task_t *) zhashx_next (self->tasks->running)) {
        if (!task->stopping || task->checking || task->host->stuck_since)
            continue;
        bool force = now >= task->stop_deadline;
        if (force)
            mk_warn ("agent_server: '%s' on host '%s' did not stop within %d s; powering it "
                     "off",
                     task->name, task->host->name, self->stop_timeout_ms / 1000);
        agent_job_t *job = agent_server_job (self, task->host, AGENT_JOB_STOP_CHECK, task);
        agent_job_spec_copy (job, task->name, task->uuid);
        job->force = force;
        task->checking = true;
    }
    if (self->tasks->stops == 0 && self->tasks->stop_timer >= 0) {
        zloop_timer_end (loop, self->tasks->stop_timer);
        self->tasks->stop_timer = -1;
    }
    agent_server_flush (self);
    return 0;
}

/*  controller_dispatch: tasks on their way to agents, and the agents' answers. After a
    batch commits (nothing unrecorded ever reaches a host), its new tasks go out: the
    tasks for the hosts of one agent process in one task_batch to its agent/<id> (at most
    MK_BATCH_MAX a message), a graceful stop and the tasks of an agent that takes no
    batches alone to node/<host>. An answer ends a task, says it runs, or has it tried
    again later; the broker's word that no agent serves a host leaves it waiting. */
#include "controller_core.h"

//  Says that a host's tasks are tried again later: at most once a second per host, with
//  how many, so ten thousand tasks held for a silent agent are one line, not ten thousand.
static void
s_retry_said (controller_t *self, const inflight_t *task, int backoff, const char *why)
{
    sched_host_t *host = controller_sched_host (self->sched, task->host);
    int64_t now = zclock_mono ();
    if (host && now - host->retries_told < 1000) {
        host->retries_untold++;
        return;
    }
    uint64_t more = host ? host->retries_untold : 0;
    char others[64] = "";
    if (more)
        snprintf (others, sizeof others, " (and %" PRIu64 " more since the last such line)", more);
    mk_info ("controller: task %" PRIu64 " for host '%s' tried again in %d ms%s: %s", task->id,
             task->host, backoff, others, why);
    if (host) {
        host->retries_told = now;
        host->retries_untold = 0;
    }
}

//  An agent's answer for one task: its result, a refusal, or the broker's word that no
//  agent could take it.
static void
s_task_answer (controller_t *self, inflight_t *task, const Maekin__Envelope *env, bool progress,
               bool broker)
{
    if (progress) {
        //  A task that says it works is not overdue.
        task->deadline = zclock_mono () + self->opts.task_timeout_ms;
        task->sent_at = zclock_mono ();
        controller_task_progress (self, task, TASK_RUNNING, true);
        return;
    }
    task->sent = false;
    if (env->status == MK_OK && env->body_case == MAEKIN__ENVELOPE__BODY_TASK_RESULT
        && env->task_result->task_id == task->id) {
        Maekin__TaskResultReply *result = env->task_result;
        controller_task_finish (self, task, result->ok, result->error, result->state);
    } else if (broker && (env->status == MK_NOT_FOUND || env->status == MK_UNAVAILABLE)) {
        //  No agent serves the host on the bus now. That is not a dead host: right after a
        //  broker restart agents take a second to register again. The task is tried
        //  again shortly; whether the host is up is for its agent's reports to say (a
        //  host that stays silent goes down by its timeout, and a task for a down host
        //  waits until its agent reports again).
        int backoff = 250 << (task->attempts < 4 ? task->attempts : 4);
        controller_task_retry_later (self, task, zclock_mono () + backoff);
        s_retry_said (self, task, backoff, env->reason);
    } else if (env->status == MK_UNAVAILABLE) {
        //  The agent is there but cannot act now (its libvirt is away): try again later.
        int backoff = 250 << (task->attempts < 6 ? task->attempts : 6);
        controller_task_retry_later (self, task, zclock_mono () + backoff);
        s_retry_said (self, task, backoff, env->reason);
    } else if (env->status == MK_TOO_MANY) {
        int backoff = 100 << (task->attempts < 8 ? task->attempts : 8);
        controller_task_retry_later (self, task, zclock_mono () + backoff);
    } else {
        char error[600];
        snprintf (error, sizeof error, "host '%s' answered %d: %s", task->host, env->status,
                  env->reason && *env->reason ? env->reason : "no reason given");
        controller_task_finish (self, task, false, error, NULL);
    }
}

//  An agent's answer to a task_batch: each item's answer, in the batch's order, or one
//  answer (an error, progress) for every task in it.
static void
s_handle_batch_result (controller_t *self, const mk_reply_t *reply)
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
void
controller_dispatch_answer (controller_t *self, const mk_reply_t *reply)
{
    if ((reply->corr & (CORR_ASK | CORR_BATCH | CORR_KEYS)) == CORR_KEYS) {
        controller_buskey_answer (self, reply); //  the broker's, about the bus's list
        return;
    }
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
s_task_sent (controller_t *self, inflight_t *task, zlistx_t *marks)
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
s_send_one (controller_t *self, outbound_t *out, zlistx_t *marks)
{
    char service[80];
    snprintf (service, sizeof service, "node/%s", out->task->host);
    if (mk_client_send_frame_as (self->client, service, out->task->id, &out->frame) != 0) {
        zframe_destroy (&out->frame);
        controller_task_retry_later (self, out->task, zclock_mono () + 1000);
        return;
    }
    s_task_sent (self, out->task, marks);
}

//  Sends up to MK_BATCH_MAX tasks of one agent process, from `first` on, as one task_batch;
//  returns the first not sent.
static outbound_t *
s_send_batch (controller_t *self, const char *agent, zlistx_t *list, outbound_t *first,
              zlistx_t *marks)
{
    Maekin__TaskBatchItem *items =
        (Maekin__TaskBatchItem *) zmalloc (MK_BATCH_MAX * sizeof (Maekin__TaskBatchItem));
    Maekin__TaskBatchItem **pointers =
        (Maekin__TaskBatchItem **) zmalloc (MK_BATCH_MAX * sizeof (Maekin__TaskBatchItem *));
    char (*services)[80] = (char (*)[80]) zmalloc (MK_BATCH_MAX * sizeof *services);
    batch_t *batch = (batch_t *) zmalloc (sizeof (batch_t) + MK_BATCH_MAX * sizeof (uint64_t));
    outbound_t *out = first;
    size_t count = 0;
    for (; out && count < MK_BATCH_MAX; out = (outbound_t *) zlistx_next (list), count++) {
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
            controller_task_retry_later (self, task, zclock_mono () + 1000);
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
void
controller_dispatch_send (controller_t *self, zlistx_t *marks)
{
    zhashx_t *agents = zhashx_new (); //  agent service -> zlistx_t of outbound_t
    zhashx_set_destructor (agents, (zhashx_destructor_fn *) zlistx_destroy);
    for (void *key = zlistx_first (self->dispatch); key; key = zlistx_next (self->dispatch)) {
        inflight_t *task = (inflight_t *) zhashx_lookup (self->inflight, key);
        if (!task || task->sent)
            continue;
        //  The packed dispatch is kept until the task ends: a task tried again (its agent
        //  away, ten thousand of them say) reads nothing.
        zframe_t *frame = task->packed ? zframe_dup (task->packed) : NULL;
        if (!frame) {
            //  Resumed after a restart: from the VM's row.
            store_vm_t vm;
            int rc = store_vm_get (self->db, task->vm, &vm);
            if (rc != 1) {
                if (rc < 0)
                    controller_task_retry_later (self, task, zclock_mono () + 1000);
                else
                    mk_error ("controller: task %" PRIu64 " names VM '%s', which is gone", task->id,
                              task->vm);
                continue;
            }
            frame = controller_task_frame (self, task, &vm);
            task->packed = zframe_dup (frame);
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

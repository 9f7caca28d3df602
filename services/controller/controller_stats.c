/*  controller_stats: the cloud's figures for monitoring (CloudStatsRequest; the gateway's
    GET /metrics). What the controller holds in memory is answered from memory: hosts and
    their measures, open tasks by state, the tasks ended since it started and their
    latency (accepted to ended), counted as each ends. VMs by state are counted by the
    database, from the index on their state. */
#include "controller_core.h"

//  The histogram's upper bounds, seconds: a task on the test driver ends in
//  milliseconds, a real guest's create in seconds, a graceful stop in up to minutes.
static const double s_bounds[CONTROLLER_LATENCY_BUCKETS] = {
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300};

int64_t
controller_stats_now_us (void)
{
    struct timespec now;
    clock_gettime (CLOCK_REALTIME, &now);
    return (int64_t) now.tv_sec * 1000000 + now.tv_nsec / 1000;
}

void
controller_stats_task_end (controller_t *self, const inflight_t *task, task_state_t final)
{
    controller_stats_t *stats = &self->stats;
    stats->ended[final == TASK_DONE ? 0 : final == TASK_FAILED ? 1 : 2]++;
    if (!task->accepted_us)
        return;
    int64_t took_us = controller_stats_now_us () - task->accepted_us;
    double seconds = took_us > 0 ? (double) took_us / 1e6 : 0;
    for (size_t i = 0; i < CONTROLLER_LATENCY_BUCKETS; i++)
        if (seconds <= s_bounds[i])
            stats->buckets[i]++;
    stats->sum_s += seconds;
    stats->count++;
}

static Maekin__StateCount *
s_count (controller_t *self, const char *state, uint64_t count)
{
    Maekin__StateCount *item =
        (Maekin__StateCount *) controller_arena_new (self, sizeof (Maekin__StateCount));
    maekin__state_count__init (item);
    item->state = controller_arena_str (self, state);
    item->count = count;
    return item;
}

typedef struct {
    controller_t *self;
    Maekin__CloudStatsReply *reply;
    size_t room;
} s_vms_t;

static void
s_vm_state (const char *state, uint64_t count, void *arg)
{
    s_vms_t *vms = (s_vms_t *) arg;
    if (vms->reply->n_vms < vms->room)
        vms->reply->vms[vms->reply->n_vms++] = s_count (vms->self, state, count);
}

void
controller_stats_cloud (controller_t *self, const mk_request_t *request)
{
    Maekin__CloudStatsReply reply = MAEKIN__CLOUD_STATS_REPLY__INIT;
    size_t hosts = controller_sched_count (self->sched);
    reply.hosts = (Maekin__Host **) controller_arena_new (self, (hosts + 1) * sizeof (void *));
    for (size_t i = 0; i < hosts; i++)
        reply.hosts[reply.n_hosts++] =
            controller_msg_host (self, controller_sched_at (self->sched, i));

    //  Every state a VM may be in, and a few more should the database hold another.
    s_vms_t vms = {self, &reply, 32};
    reply.vms = (Maekin__StateCount **) controller_arena_new (self, vms.room * sizeof (void *));
    if (store_vm_states (self->db, s_vm_state, &vms) < 0) {
        controller_reply_db_error (self, request);
        return;
    }

    //  Open tasks by state, from memory.
    uint64_t open[3] = {0, 0, 0};
    for (inflight_t *task = (inflight_t *) zhashx_first (self->inflight); task;
         task = (inflight_t *) zhashx_next (self->inflight))
        if (task->state <= TASK_RUNNING)
            open[task->state]++;
    reply.tasks_open = (Maekin__StateCount **) controller_arena_new (self, 3 * sizeof (void *));
    for (task_state_t state = TASK_QUEUED; state <= TASK_RUNNING; state++)
        reply.tasks_open[reply.n_tasks_open++] =
            s_count (self, controller_fsm_task_name (state), open[state]);
    const controller_stats_t *stats = &self->stats;
    static const task_state_t ends[3] = {TASK_DONE, TASK_FAILED, TASK_CANCELLED};
    reply.tasks_ended = (Maekin__StateCount **) controller_arena_new (self, 3 * sizeof (void *));
    for (size_t i = 0; i < 3; i++)
        reply.tasks_ended[reply.n_tasks_ended++] =
            s_count (self, controller_fsm_task_name (ends[i]), stats->ended[i]);

    reply.task_latency = (Maekin__LatencyBucket **) controller_arena_new (
        self, (CONTROLLER_LATENCY_BUCKETS + 1) * sizeof (void *));
    for (size_t i = 0; i <= CONTROLLER_LATENCY_BUCKETS; i++) {
        Maekin__LatencyBucket *bucket =
            (Maekin__LatencyBucket *) controller_arena_new (self, sizeof (Maekin__LatencyBucket));
        maekin__latency_bucket__init (bucket);
        bucket->le_s = i < CONTROLLER_LATENCY_BUCKETS ? s_bounds[i] : INFINITY;
        bucket->count = i < CONTROLLER_LATENCY_BUCKETS ? stats->buckets[i] : stats->count;
        reply.task_latency[reply.n_task_latency++] = bucket;
    }
    reply.task_latency_sum_s = stats->sum_s;
    reply.task_latency_count = stats->count;
    reply.tasks_accepted = self->accepted;
    reply.started = stats->started;
    controller_reply_body (self, request, MK_OK, MAEKIN__ENVELOPE__BODY_CLOUD_STATS_REPLY, &reply);
}

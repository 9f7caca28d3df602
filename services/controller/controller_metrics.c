/*  controller_metrics: the monitors' samples (metric.host.<host> on the broker's stream),
    each kept as its host's measures: CPU busy since the host's previous sample, memory in
    use, load; and its VMs' latest values (mk_metric_vms merges a host's full and delta
    messages). Placement reads them (controller_sched) and `host show` shows them; the
    history (controller_history) averages them over time, written by the batches a
    bounded number of rows at a time, so samples never slow the task path. A message
    that is no sample is counted and ignored. */
#include "controller_core.h"

#include "mk_metric.h"
#include "mk_name.h"
#include "mk_sock.h"
#include "mk_uuid.h"

//  At most this many samples a turn of the loop: requests never wait behind a flood. A
//  host's sample with 50 VMs takes about 40 us to take (scale.sh), so 8 are a third of
//  a millisecond; 2,000 hosts sampled at once are 250 turns, each with its batch.
#define METRICS_PER_TURN 8

static void
s_take (controller_t *self, const Maekin__HostSample *sample)
{
    sched_host_t *host = controller_sched_host (self->sched, sample->host ? sample->host : "");
    if (!host || !sample->cpu) {
        self->metrics_ignored++; //  a host no agent serves here, or no CPU figures
        return;
    }
    uint64_t busy, all;
    mk_metric_cpu (sample->cpu, &busy, &all);
    uint64_t total_mb = sample->memory_total_kb / 1024;
    uint64_t available_mb = sample->memory_available_kb / 1024;
    controller_sched_measure (self->sched, host, busy, all,
                              total_mb > available_mb ? total_mb - available_mb : 0, total_mb,
                              sample->load1_x100, sample->time_ms);
    mk_metric_vms_t *vms = (mk_metric_vms_t *) zhashx_lookup (self->metric_vms, sample->host);
    if (!vms) {
        vms = mk_metric_vms_new ();
        zhashx_insert (self->metric_vms, sample->host, vms);
    }
    if (mk_metric_vms_take (vms, sample) > 0)
        self->metrics_ignored++; //  entries with no UUID: the rest is taken
    //  The history counts what each VM holds at this sample, told or unchanged.
    int64_t now_ms = zclock_time ();
    controller_history_add_host (self->history, sample, now_ms);
    for (const mk_metric_vm_t *vm = mk_metric_vms_first (vms); vm; vm = mk_metric_vms_next (vms))
        controller_history_add_vm (self->history, vm, now_ms);
    self->metrics_taken++;
}

//  The broker says services lost their last worker: the hosts of node/<host> among them
//  go down at a tick brought forward to this turn's batch, not when reports are missed.
static void
s_gone (controller_t *self, const Maekin__ServicesGone *gone)
{
    for (size_t i = 0; i < gone->n_services; i++) {
        const char *service = gone->services[i];
        if (strncmp (service, "node/", 5) != 0)
            continue;
        sched_host_t *host = controller_sched_host (self->sched, service + 5);
        if (!host)
            continue;
        host->gone = true;
        snprintf (host->gone_why, sizeof host->gone_why, "%s",
                  gone->reason && *gone->reason ? gone->reason : "gone");
        self->next_tick = 0;
    }
}

void
controller_metrics_drain (controller_t *self)
{
    for (int i = 0; i < METRICS_PER_TURN; i++) {
        zmsg_t *msg = mk_sock_recv_nowait (self->metrics);
        if (!msg)
            break;
        zframe_t *body = zmsg_size (msg) == 2 ? zmsg_last (msg) : NULL;
        const char *why = NULL;
        Maekin__Envelope *env =
            body ? mk_msg_unpack (zframe_data (body), zframe_size (body), &why) : NULL;
        zmsg_destroy (&msg);
        if (env && env->body_case == MAEKIN__ENVELOPE__BODY_HOST_SAMPLE)
            s_take (self, env->host_sample);
        else if (env && env->body_case == MAEKIN__ENVELOPE__BODY_SERVICES_GONE)
            s_gone (self, env->services_gone);
        else {
            if (self->metrics_ignored++ % 1000 == 0)
                mk_warn ("controller: a message on the stream is not a host's sample "
                         "(%s); ignored (%" PRIu64 " so far)",
                         why ? why : "another body", self->metrics_ignored);
        }
        mk_msg_free (&env);
    }
}

static void *
s_arena_alloc (void *arg, size_t size)
{
    return controller_arena_new ((controller_t *) arg, size);
}

void
controller_metrics_history (controller_t *self, const mk_request_t *request)
{
    const Maekin__MetricsHistoryRequest *ask = request->env->metrics_history;
    bool by_host = ask->host && *ask->host, by_vm = ask->vm && *ask->vm;
    if (by_host == by_vm) {
        controller_reply_status (self, request, MK_BAD_REQUEST,
                                 "name a host or a VM (one of them) for its history");
        return;
    }
    int64_t now = zclock_time () / 1000;
    if (ask->since_s < 0 || ask->since_s > now) {
        controller_reply_status (self, request, MK_BAD_REQUEST,
                                 "the history since %" PRId64 " is not in the past (unix seconds)",
                                 ask->since_s);
        return;
    }
    Maekin__MetricsHistoryReply reply = MAEKIN__METRICS_HISTORY_REPLY__INIT;
    uint8_t uuid[16];
    const void *subject;
    size_t size;
    if (by_host && !controller_vi_any_role (self, request))
        return;
    if (by_host) {
        if (!controller_sched_host (self->sched, ask->host)) {
            controller_reply_status (self, request, MK_NOT_FOUND,
                                     "no host named '%.64s' (maekinsh host list)", ask->host);
            return;
        }
        reply.host = ask->host;
        subject = ask->host;
        size = strlen (ask->host);
    } else {
        //  The administrator reads a VM's history by UUID after the VM is gone too.
        const store_user_t *user = self->caller.user;
        if (!(!user || user->admin) || mk_uuid_parse (ask->vm, uuid) != 0) {
            store_vm_t vm;
            vi_t *vi;
            if (!controller_vi_vm (self, request, ask->vi, ask->vm, VI_OP_SEE, &vm, &vi))
                return;
            if (mk_uuid_parse (vm.uuid, uuid) != 0) {
                controller_reply_status (self, request, MK_NOT_FOUND, "VM '%s' has no UUID",
                                         ask->vm);
                return;
            }
        }
        reply.vm = controller_arena_new (self, 37);
        mk_uuid_format (uuid, reply.vm);
        subject = uuid;
        size = sizeof uuid;
    }
    char *error = NULL;
    int status = controller_history_query (
        self->history, self->db, by_host ? HISTORY_HOST : HISTORY_VM, subject, size, ask->since_s,
        now, ask->step_s, s_arena_alloc, self, &reply, &error);
    if (status != 0) {
        if (status == MK_BAD_REQUEST)
            controller_reply_status (self, request, status, "%s", error);
        else
            controller_reply_db_error (self, request);
        free (error);
        return;
    }
    controller_reply_body (self, request, MK_OK, MAEKIN__ENVELOPE__BODY_METRICS_HISTORY_REPLY,
                           &reply);
}

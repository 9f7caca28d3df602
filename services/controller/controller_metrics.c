/*  controller_metrics: the monitors' samples (metric.host.<host> on the broker's stream),
    each kept as its host's measures: CPU busy since the host's previous sample, memory in
    use, load; and its VMs' latest values (mk_metric_vms merges a host's full and delta
    messages). Placement reads them (controller_sched) and `host show` shows them. Only
    the latest of each host and VM is kept, in memory; nothing is written here, so
    samples never slow the task path. A message that is no sample is counted and
    ignored. */
#include "controller_core.h"

#include "mk_metric.h"
#include "mk_sock.h"

//  At most this many samples a turn of the loop: requests never wait behind a flood.
#define METRICS_PER_TURN 1000

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
    self->metrics_taken++;
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
        else {
            if (self->metrics_ignored++ % 1000 == 0)
                mk_warn ("controller: a message on the metric stream is not a host's sample "
                         "(%s); ignored (%" PRIu64 " so far)",
                         why ? why : "another body", self->metrics_ignored);
        }
        mk_msg_free (&env);
    }
}

/*  monitor_encode's self-test: messages read back by the readers' own merge
    (mk_metric_vms), full and delta, with VMs that hold still, move, come and go. */
#include "monitor_encode.h"

#include "mk_metric.h"
#include "mk_msg.h"

#include <inttypes.h>

//  The message's HostSample (the caller frees the Envelope), checking its topic.
static Maekin__Envelope *
s_read (zmsg_t **msg_p, const char *topic)
{
    zmsg_t *msg = *msg_p;
    assert (msg && zmsg_size (msg) == 2);
    char *got = zmsg_popstr (msg);
    assert (streq (got, topic));
    free (got);
    zframe_t *body = zmsg_pop (msg);
    const char *why = NULL;
    Maekin__Envelope *env = mk_msg_unpack (zframe_data (body), zframe_size (body), &why);
    assert (env && env->body_case == MAEKIN__ENVELOPE__BODY_HOST_SAMPLE);
    zframe_destroy (&body);
    zmsg_destroy (msg_p);
    return env;
}

//  count VMs (UUID i in its last byte), CPU busy at busy_pct of 2 vCPUs and receiving
//  rx bytes a second since time 0, at time_ms.
static void
s_vms (monitor_vms_t *vms, monitor_vm_t *space, size_t count, int64_t time_ms,
       const unsigned *busy_pct, const uint64_t *rx)
{
    vms->time_ms = time_ms;
    vms->count = count;
    vms->vms = space;
    for (size_t i = 0; i < count; i++) {
        monitor_vm_t *vm = &space[i];
        memset (vm, 0, sizeof *vm);
        vm->uuid[15] = (uint8_t) (i + 1);
        vm->state = 1;
        vm->vcpus = 2;
        vm->memory_kb = 1 << 20;
        vm->rss_kb = 1 << 19;
        vm->cpu_ms = (uint64_t) time_ms * 2 * busy_pct[i] / 100;
        vm->net_rx_bytes = (uint64_t) time_ms * rx[i] / 1000;
    }
}

//  Encode, read back into the picture; returns the sample's VM entries and full flag.
static size_t
s_round (monitor_encoder_t *encoder, mk_metric_vms_t *picture, const monitor_sample_t *sample,
         const monitor_vms_t *vms, monitor_encode_stats_t *stats, bool *full)
{
    zmsg_t *msg =
        monitor_encoder_message (encoder, vms ? vms->time_ms : 1, sample, vms, stats, true);
    Maekin__Envelope *env = s_read (&msg, "metric.host.h1");
    const Maekin__HostSample *got = env->host_sample;
    assert (streq (got->host, "h1") && streq (got->source, "synthetic:1:1"));
    assert (got->cpu && got->memory_total_kb == sample->memory_total_kb);
    assert (mk_metric_vms_take (picture, got) == 0);
    if (vms)
        assert (got->vm_count == vms->count && mk_metric_vms_size (picture) == vms->count);
    *full = got->full;
    size_t n = got->n_vms;
    mk_msg_free (&env);
    return n;
}

static const mk_metric_vm_t *
s_vm (mk_metric_vms_t *picture, uint8_t last)
{
    uint8_t uuid[16] = {0};
    uuid[15] = last;
    return mk_metric_vms_lookup (picture, uuid);
}

void
monitor_encode_test (bool verbose)
{
    char *error = NULL;
    monitor_source_t *source = monitor_source_new ("h1", "synthetic:1:1", &error);
    monitor_sample_t sample;
    assert (monitor_source_sample (source, &sample) == 0);
    monitor_encoder_t *encoder = monitor_encoder_new ("h1", "synthetic:1:1", 5000, 4);
    mk_metric_vms_t *picture = mk_metric_vms_new ();
    monitor_encode_stats_t stats = {0};
    monitor_vm_t space[4];
    monitor_vms_t vms;
    bool full;
    unsigned busy[4] = {50, 20, 0, 70};
    uint64_t rx[4] = {100000, 0, 0, 5000};

    //  The first message is full: every VM, no rates yet.
    s_vms (&vms, space, 4, 5000, busy, rx);
    assert (s_round (encoder, picture, &sample, &vms, &stats, &full) == 4 && full);
    assert (s_vm (picture, 1)->cpu_permille == 0);
    //  The next: the VMs whose rates are now known (VM 3 is idle: it stays left out).
    s_vms (&vms, space, 4, 10000, busy, rx);
    assert (s_round (encoder, picture, &sample, &vms, &stats, &full) == 3 && !full);
    assert (s_vm (picture, 1)->cpu_permille == 500 && s_vm (picture, 1)->net_rx_bps == 100000);
    assert (s_vm (picture, 4)->cpu_permille == 700 && s_vm (picture, 3)->cpu_permille == 0);
    //  Holding still: none sent, the picture keeps their values.
    s_vms (&vms, space, 4, 15000, busy, rx);
    assert (s_round (encoder, picture, &sample, &vms, &stats, &full) == 0 && !full);
    assert (s_vm (picture, 1)->cpu_permille == 500 && stats.vms_left_out == 5);
    //  VM 2 busier beyond the threshold (and VM 1 within it); VM 4 gone: two entries.
    unsigned busier[3] = {50, 60, 0};
    rx[0] = 105000; //  5% more: within 10% (the counters below are set by hand)
    s_vms (&vms, space, 3, 20000, busier, rx);
    space[0].cpu_ms = 15000 + 5000 * 2 * 51 / 100; //  51% since the last: within a point
    space[1].cpu_ms = 6000 + 5000 * 2 * 60 / 100;  //  from 20% to 60%
    space[0].net_rx_bytes = 1500000 + 5 * 105000;
    uint64_t values = stats.values;
    assert (s_round (encoder, picture, &sample, &vms, &stats, &full) == 2 && !full);
    uint64_t three_vms = stats.values - values;
    assert (s_vm (picture, 2)->cpu_permille == 600 && !s_vm (picture, 4));
    assert (s_vm (picture, 1)->cpu_permille == 500 && s_vm (picture, 1)->net_rx_bps == 100000);
    //  No VM values this time (libvirt late): none sent, and the full message waits.
    values = stats.values;
    assert (s_round (encoder, picture, &sample, NULL, &stats, &full) == 0 && !full);
    assert (mk_metric_vms_size (picture) == 3);
    //  Values delivered: the host's, and eleven for each VM there, sent or left out as
    //  unchanged (VM 3); none for the gone one.
    uint64_t host_values = stats.values - values;
    assert (host_values >= 20 && three_vms == host_values + 3 * 11);
    //  Then the full one: every VM (the gone VM is not named again).
    s_vms (&vms, space, 3, 25000, busier, rx);
    space[0].cpu_ms = 20100 + 5000 * 2 * 50 / 100;
    space[1].cpu_ms = 12000 + 5000 * 2 * 60 / 100;
    space[0].net_rx_bytes = 2025000 + 5 * 105000;
    assert (s_round (encoder, picture, &sample, &vms, &stats, &full) == 3 && full);
    assert (s_vm (picture, 1)->net_rx_bps == 105000);
    assert (stats.messages == 6 && stats.full == 2);

    //  Fifty busy VMs that hold still: one host message with them all costs fewer bytes
    //  than a host message and one message per VM (what proto/BUS.md chose), and a
    //  delta far fewer than a full one.
    monitor_encoder_t *many = monitor_encoder_new ("h1", "synthetic:1:1", 5000, 12);
    monitor_vm_t space50[50];
    unsigned busy50[50];
    uint64_t rx50[50];
    for (int i = 0; i < 50; i++) {
        busy50[i] = (unsigned) (i * 2);
        rx50[i] = (uint64_t) i * 10000;
    }
    mk_metric_vms_t *picture50 = mk_metric_vms_new ();
    monitor_encode_stats_t first = {0}, second = {0}, third = {0};
    s_vms (&vms, space50, 50, 5000, busy50, rx50);
    s_round (many, picture50, &sample, &vms, &first, &full);
    s_vms (&vms, space50, 50, 10000, busy50, rx50);
    s_round (many, picture50, &sample, &vms, &second, &full);
    s_vms (&vms, space50, 50, 15000, busy50, rx50);
    s_round (many, picture50, &sample, &vms, &third, &full);
    if (verbose)
        printf (" * 50 VMs: first %" PRIu64 " bytes (per VM: %" PRIu64 "), with rates %" PRIu64
                " (per VM: %" PRIu64 "), holding still %" PRIu64 "\n",
                first.bytes, first.per_vm_bytes, second.bytes, second.per_vm_bytes, third.bytes);
    assert (second.bytes < second.per_vm_bytes && first.bytes < first.per_vm_bytes);
    assert (second.vms_left_out == 1); //  VM 0 is idle: its rates stay 0
    assert (third.bytes * 4 < second.bytes && third.vms_left_out == 50);
    //  Sent or left out, the receiver has every VM's values each time.
    assert (first.values == second.values && second.values == third.values);
    assert (third.values > 50 * 11);
    mk_metric_vms_destroy (&picture50);
    monitor_encoder_destroy (&many);

    mk_metric_vms_destroy (&picture);
    monitor_encoder_destroy (&encoder);
    monitor_source_destroy (&source);
}

/*  mk_metric: what a HostSample's figures mean (mk_metric.h). */
#include "mk_metric.h"

#include "mk_limits.h"
#include "mk_uuid.h"

void
mk_metric_cpu (const Maekin__CpuTimes *cpu, uint64_t *busy_ms, uint64_t *all_ms)
{
    *busy_ms = *all_ms = 0;
    if (!cpu)
        return;
    *busy_ms = cpu->user + cpu->nice + cpu->system + cpu->irq + cpu->softirq + cpu->steal;
    *all_ms = *busy_ms + cpu->idle + cpu->iowait;
}

unsigned
mk_metric_cpu_pct (const Maekin__CpuTimes *before, const Maekin__CpuTimes *after)
{
    uint64_t busy0, all0, busy1, all1;
    mk_metric_cpu (before, &busy0, &all0);
    mk_metric_cpu (after, &busy1, &all1);
    return mk_metric_busy_share (busy0, all0, busy1, all1, 100);
}

unsigned
mk_metric_busy_share (uint64_t busy0, uint64_t all0, uint64_t busy1, uint64_t all1, unsigned scale)
{
    if (all1 <= all0 || busy1 < busy0)
        return 0;
    return (unsigned) ((busy1 - busy0) * scale / (all1 - all0));
}

//  ---------------------------------------------------------------- a host's VMs

struct _mk_metric_vms_t {
    zhashx_t *vms; //  16-byte UUID -> mk_metric_vm_t
    uint64_t mark; //  the current full sample's, to drop the VMs it did not name
};

mk_metric_vms_t *
mk_metric_vms_new (void)
{
    mk_metric_vms_t *self = (mk_metric_vms_t *) zmalloc (sizeof (mk_metric_vms_t));
    self->vms = mk_uuid_table_new ();
    return self;
}

void
mk_metric_vms_destroy (mk_metric_vms_t **self_p)
{
    mk_metric_vms_t *self = *self_p;
    if (!self)
        return;
    zhashx_destroy (&self->vms);
    free (self);
    *self_p = NULL;
}

static void
s_vm_take (mk_metric_vm_t *vm, const Maekin__VmSample *in, int64_t time_ms)
{
    vm->time_ms = time_ms;
    vm->state = in->state;
    vm->vcpus = in->vcpus;
    vm->cpu_permille = in->cpu_permille;
    vm->memory_kb = in->memory_kb;
    vm->rss_kb = in->rss_kb;
    vm->disk_read_bps = in->disk_read_bps;
    vm->disk_write_bps = in->disk_write_bps;
    vm->net_rx_bps = in->net_rx_bps;
    vm->net_tx_bps = in->net_tx_bps;
    vm->net_rx_pps = in->net_rx_pps;
    vm->net_tx_pps = in->net_tx_pps;
}

size_t
mk_metric_vms_take (mk_metric_vms_t *self, const Maekin__HostSample *sample)
{
    assert (self && sample);
    size_t refused = 0;
    self->mark++;
    for (size_t i = 0; i < sample->n_vms; i++) {
        const Maekin__VmSample *in = sample->vms[i];
        if (in->uuid.len != 16) {
            refused++;
            continue;
        }
        mk_metric_vm_t *vm = (mk_metric_vm_t *) zhashx_lookup (self->vms, in->uuid.data);
        if (in->gone) {
            if (vm)
                zhashx_delete (self->vms, in->uuid.data);
            continue;
        }
        if (!vm && zhashx_size (self->vms) >= MK_REPORT_DOMAINS_MAX) {
            refused++; //  no host runs more guests than its agent may report
            continue;
        }
        if (!vm) {
            vm = (mk_metric_vm_t *) zmalloc (sizeof (mk_metric_vm_t));
            memcpy (vm->uuid, in->uuid.data, 16);
            zhashx_insert (self->vms, vm->uuid, vm);
        }
        s_vm_take (vm, in, sample->vms_time_ms);
        vm->mark = self->mark;
    }
    if (sample->full) {
        //  Those it did not name are gone: collect, then delete (not while iterating).
        zlistx_t *gone = zlistx_new ();
        for (mk_metric_vm_t *vm = (mk_metric_vm_t *) zhashx_first (self->vms); vm;
             vm = (mk_metric_vm_t *) zhashx_next (self->vms))
            if (vm->mark != self->mark)
                zlistx_add_end (gone, vm->uuid);
        for (void *uuid = zlistx_first (gone); uuid; uuid = zlistx_next (gone))
            zhashx_delete (self->vms, uuid);
        zlistx_destroy (&gone);
    }
    return refused;
}

const mk_metric_vm_t *
mk_metric_vms_lookup (mk_metric_vms_t *self, const uint8_t *uuid)
{
    return (const mk_metric_vm_t *) zhashx_lookup (self->vms, uuid);
}

size_t
mk_metric_vms_size (mk_metric_vms_t *self)
{
    return zhashx_size (self->vms);
}

const mk_metric_vm_t *
mk_metric_vms_first (mk_metric_vms_t *self)
{
    return (const mk_metric_vm_t *) zhashx_first (self->vms);
}

const mk_metric_vm_t *
mk_metric_vms_next (mk_metric_vms_t *self)
{
    return (const mk_metric_vm_t *) zhashx_next (self->vms);
}

//  ---------------------------------------------------------------- self-test

//  A sample naming n VMs (uuids), each with this CPU share and ten times it in bytes
//  received a second.
static void
s_test_sample (Maekin__HostSample *sample, Maekin__VmSample *vms, Maekin__VmSample **list, size_t n,
               bool full, int64_t time_ms, uint32_t cpu, uint8_t (*uuids)[16])
{
    maekin__host_sample__init (sample);
    sample->full = full;
    sample->vms_time_ms = time_ms;
    for (size_t i = 0; i < n; i++) {
        maekin__vm_sample__init (&vms[i]);
        vms[i].uuid.data = uuids[i];
        vms[i].uuid.len = 16;
        vms[i].vcpus = 2;
        vms[i].cpu_permille = cpu;
        vms[i].net_rx_bps = cpu * 10;
        list[i] = &vms[i];
    }
    sample->n_vms = n;
    sample->vms = list;
}

static void
s_test_vms (void)
{
    uint8_t uuids[3][16] = {{0}};
    for (int i = 0; i < 3; i++)
        uuids[i][15] = (uint8_t) (i + 1);
    Maekin__HostSample sample;
    Maekin__VmSample vms[3], *list[3];
    mk_metric_vms_t *set = mk_metric_vms_new ();
    s_test_sample (&sample, vms, list, 3, true, 1000, 100, uuids);
    assert (mk_metric_vms_take (set, &sample) == 0 && mk_metric_vms_size (set) == 3);
    assert (mk_metric_vms_lookup (set, uuids[0])->cpu_permille == 100);
    //  A delta naming the first VM only: the others keep their values.
    s_test_sample (&sample, vms, list, 1, false, 2000, 500, uuids);
    mk_metric_vms_take (set, &sample);
    const mk_metric_vm_t *vm = mk_metric_vms_lookup (set, uuids[0]);
    assert (vm->cpu_permille == 500 && vm->net_rx_bps == 5000 && vm->time_ms == 2000);
    vm = mk_metric_vms_lookup (set, uuids[2]);
    assert (mk_metric_vms_size (set) == 3 && vm->cpu_permille == 100 && vm->time_ms == 1000);
    //  A delta saying the second is gone, and an entry that is no UUID.
    s_test_sample (&sample, vms, list, 2, false, 3000, 1100, uuids);
    vms[1].gone = true;
    vms[0].uuid.len = 3;
    assert (mk_metric_vms_take (set, &sample) == 1);
    assert (mk_metric_vms_size (set) == 2 && !mk_metric_vms_lookup (set, uuids[1]));
    //  A full sample naming one VM: the others are gone.
    s_test_sample (&sample, vms, list, 1, true, 5000, 20, uuids + 2);
    mk_metric_vms_take (set, &sample);
    const mk_metric_vm_t *first = mk_metric_vms_first (set);
    assert (mk_metric_vms_next (set) == NULL);
    assert (mk_metric_vms_size (set) == 1 && first == mk_metric_vms_lookup (set, uuids[2]));
    //  Deltas naming ever more new VMs stop at what a host may run: the rest is refused.
    enum { MANY = MK_REPORT_DOMAINS_MAX + 10 };
    uint8_t (*many)[16] = (uint8_t (*)[16]) calloc (MANY, 16);
    Maekin__VmSample *more = (Maekin__VmSample *) calloc (MANY, sizeof (Maekin__VmSample));
    Maekin__VmSample **more_list = (Maekin__VmSample **) calloc (MANY, sizeof (void *));
    assert (many && more && more_list);
    for (uint32_t i = 0; i < MANY; i++)
        memcpy (many[i], &i, sizeof i);
    s_test_sample (&sample, more, more_list, MANY, false, 6000, 30, many);
    assert (mk_metric_vms_take (set, &sample) == 11);
    assert (mk_metric_vms_size (set) == MK_REPORT_DOMAINS_MAX);
    free (many);
    free (more);
    free (more_list);
    mk_metric_vms_destroy (&set);
}

void
mk_metric_test (bool verbose)
{
    Maekin__CpuTimes a = MAEKIN__CPU_TIMES__INIT, b = MAEKIN__CPU_TIMES__INIT;
    a.user = 100;
    a.system = 50;
    a.iowait = 50;
    a.idle = 800;
    uint64_t busy, all;
    mk_metric_cpu (&a, &busy, &all);
    assert (busy == 150 && all == 1000);
    mk_metric_cpu (NULL, &busy, &all);
    assert (busy == 0 && all == 0);
    b = a;
    b.user += 300;
    b.idle += 100;
    assert (mk_metric_cpu_pct (&a, &b) == 75);
    assert (mk_metric_cpu_pct (&b, &a) == 0); //  went back: a reboot
    assert (mk_metric_cpu_pct (&a, &a) == 0);
    //  In thousandths, and since boot from nothing before.
    assert (mk_metric_busy_share (100, 400, 850, 1400, 1000) == 750);
    assert (mk_metric_busy_share (0, 0, 250, 1000, 100) == 25);
    s_test_vms ();
}

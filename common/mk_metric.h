/*  mk_metric: what a HostSample's figures mean, said once for every reader of the
    metric stream (the controller, maekinsh, tests). */
#ifndef MK_METRIC_H_INCLUDED
#define MK_METRIC_H_INCLUDED

#include "maekin.h"

//  CPU time busy (every state but idle and iowait) and in all, in ms, from a sample's
//  counters; both 0 without them.
void mk_metric_cpu (const Maekin__CpuTimes *cpu, uint64_t *busy_ms, uint64_t *all_ms);

//  The share busy between two samples' counters, in percent (0 if no time passed or
//  the counters went back, as after a reboot).
unsigned mk_metric_cpu_pct (const Maekin__CpuTimes *before, const Maekin__CpuTimes *after);

//  The same from busy and total ms before and after, out of scale (100: percent, 1000:
//  thousandths); before 0 and 0: the share since boot.
unsigned mk_metric_busy_share (uint64_t busy0, uint64_t all0, uint64_t busy1, uint64_t all1,
                               unsigned scale);

//  A VM's latest values (its VmSample's).
typedef struct {
    uint8_t uuid[16];
    int64_t time_ms; //  when these values were taken
    uint32_t state, vcpus;
    uint32_t cpu_permille; //  busy share of its vCPUs
    uint64_t memory_kb, rss_kb;
    uint64_t disk_read_bps, disk_write_bps, net_rx_bps, net_tx_bps;
    uint32_t net_rx_pps, net_tx_pps;
    uint64_t mark; //  (the set's own)
} mk_metric_vm_t;

//  One host's VMs as its samples tell them: a full sample names them all, a delta only
//  those that moved and those gone (proto/BUS.md, "Metrics"). Every reader of the stream
//  merges them here.
typedef struct _mk_metric_vms_t mk_metric_vms_t;

mk_metric_vms_t *mk_metric_vms_new (void);
void mk_metric_vms_destroy (mk_metric_vms_t **self_p);

//  Take a sample's VMs: a full sample replaces the set; a delta adds and updates the VMs
//  it names and drops those gone. Returns how many entries were refused (a UUID that is
//  not 16 bytes, or a new VM beyond MK_REPORT_DOMAINS_MAX for one host): those are
//  ignored.
size_t mk_metric_vms_take (mk_metric_vms_t *self, const Maekin__HostSample *sample);

//  A VM's values, or NULL if the host has none for it.
const mk_metric_vm_t *mk_metric_vms_lookup (mk_metric_vms_t *self, const uint8_t *uuid);
size_t mk_metric_vms_size (mk_metric_vms_t *self);

//  Each VM in turn (any order): first, then next until NULL, with no other call on the
//  set between.
const mk_metric_vm_t *mk_metric_vms_first (mk_metric_vms_t *self);
const mk_metric_vm_t *mk_metric_vms_next (mk_metric_vms_t *self);

void mk_metric_test (bool verbose);

#endif

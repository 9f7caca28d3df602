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

void mk_metric_test (bool verbose);

#endif

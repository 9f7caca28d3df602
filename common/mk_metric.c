/*  mk_metric: what a HostSample's figures mean (mk_metric.h). */
#include "mk_metric.h"

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
    if (all1 <= all0 || busy1 < busy0)
        return 0;
    return (unsigned) ((busy1 - busy0) * 100 / (all1 - all0));
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
}

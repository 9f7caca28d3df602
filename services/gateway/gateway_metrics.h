/*  gateway_metrics: the cloud's figures (a CloudStatsReply) and the gateway's own, in
    Prometheus' text exposition format (version 0.0.4), for GET /metrics: hosts and VMs by
    state, open and ended tasks and the tasks' latency histogram, each host's CPU, memory,
    load and VMs, and the gateway's requests by class and its open connections. Names
    follow Prometheus' conventions (units in the name, counters in _total), so
    `promtool check metrics` passes them. */
#ifndef GATEWAY_METRICS_H_INCLUDED
#define GATEWAY_METRICS_H_INCLUDED

#include "maekin.h"

//  The exposition (a new string). answered: the gateway's HTTP answers by class (2xx,
//  4xx, 5xx); connections: open now.
char *gateway_metrics_text (const Maekin__CloudStatsReply *stats, const uint64_t answered[3],
                            int connections);

void gateway_metrics_test (bool verbose);

#endif

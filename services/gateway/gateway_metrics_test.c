/*  gateway_metrics' self-test: the exposition of a cloud's figures holds each family once
    with its HELP and TYPE, the states always listed, a histogram that ends in +Inf, and
    label values escaped. (promtool and a real Prometheus read it in prometheus.sh.) */
#include "gateway_metrics.h"

#include <math.h>

void
gateway_metrics_test (bool verbose)
{
    Maekin__Host hosts[2];
    Maekin__Host *host_list[2] = {&hosts[0], &hosts[1]};
    for (int i = 0; i < 2; i++) {
        maekin__host__init (&hosts[i]);
        hosts[i].state = i ? "down" : "up";
        hosts[i].vcpus = 8;
        hosts[i].memory_mb = 16384;
        hosts[i].memory_used_mb = 4096;
        hosts[i].cpu_busy_pct = 25;
        hosts[i].load1_x100 = 150;
        hosts[i].vm_count = 3;
    }
    hosts[0].name = "node1";
    hosts[1].name = "odd\"name\\";
    Maekin__StateCount running = MAEKIN__STATE_COUNT__INIT, creating = MAEKIN__STATE_COUNT__INIT;
    running.state = "running";
    running.count = 5;
    creating.state = "creating";
    creating.count = 2;
    Maekin__StateCount *vms[] = {&running, &creating};
    Maekin__LatencyBucket fast = MAEKIN__LATENCY_BUCKET__INIT, all = MAEKIN__LATENCY_BUCKET__INIT;
    fast.le_s = 0.005;
    fast.count = 3;
    all.le_s = INFINITY;
    all.count = 4;
    Maekin__LatencyBucket *buckets[] = {&fast, &all};
    Maekin__CloudStatsReply stats = MAEKIN__CLOUD_STATS_REPLY__INIT;
    stats.hosts = host_list;
    stats.n_hosts = 2;
    stats.vms = vms;
    stats.n_vms = 2;
    stats.task_latency = buckets;
    stats.n_task_latency = 2;
    stats.task_latency_sum_s = 1.5;
    stats.task_latency_count = 4;
    stats.tasks_accepted = 9;
    uint64_t answered[3] = {10, 2, 1};
    char *text = gateway_metrics_text (&stats, answered, 7);
    if (verbose)
        printf ("%s", text);
    const char *expected[] = {
        "# TYPE maekin_hosts gauge\n",
        "maekin_hosts{state=\"up\"} 1\n",
        "maekin_hosts{state=\"down\"} 1\n",
        "maekin_hosts{state=\"unknown\"} 0\n",
        "maekin_vms{state=\"running\"} 5\n",
        "maekin_vms{state=\"stopped\"} 0\n", //  always listed, even at 0
        "maekin_vms{state=\"creating\"} 2\n",
        "# TYPE maekin_task_latency_seconds histogram\n",
        "maekin_task_latency_seconds_bucket{le=\"0.005\"} 3\n",
        "maekin_task_latency_seconds_bucket{le=\"+Inf\"} 4\n",
        "maekin_task_latency_seconds_sum 1.5\n",
        "maekin_task_latency_seconds_count 4\n",
        "# TYPE maekin_tasks_accepted_total counter\n",
        "maekin_tasks_accepted_total 9\n",
        "maekin_host_up{host=\"node1\"} 1\n",
        "maekin_host_up{host=\"odd\\\"name\\\\\"} 0\n",
        "maekin_host_cpu_busy_ratio{host=\"node1\"} 0.25\n",
        "maekin_host_memory_bytes{host=\"node1\"} 17179869184\n",
        "maekin_host_load1{host=\"node1\"} 1.5\n",
        "maekin_gateway_responses_total{class=\"5xx\"} 1\n",
        "maekin_gateway_connections 7\n",
    };
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
        if (!strstr (text, expected[i]))
            printf ("missing: %s", expected[i]);
        assert (strstr (text, expected[i]));
    }
    //  Each family's TYPE once.
    size_t types = 0;
    for (const char *at = strstr (text, "# TYPE maekin_vms "); at;
         at = strstr (at + 1, "# TYPE maekin_vms "))
        types++;
    assert (types == 1);
    free (text);
}

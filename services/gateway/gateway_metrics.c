/*  gateway_metrics: Prometheus' text format from the cloud's figures. See gateway_metrics.h. */
#include "gateway_metrics.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>

#define PREFIX "maekin_"

typedef struct {
    char *text;
    size_t size, room;
} out_t;

static void s_put (out_t *out, const char *format, ...) __attribute__ ((format (printf, 2, 3)));

static void
s_put (out_t *out, const char *format, ...)
{
    while (true) {
        va_list args;
        va_start (args, format);
        int length = vsnprintf (out->text + out->size, out->room - out->size, format, args);
        va_end (args);
        assert (length >= 0);
        if ((size_t) length < out->room - out->size) {
            out->size += (size_t) length;
            return;
        }
        out->room = out->room * 2 + (size_t) length;
        out->text = (char *) realloc (out->text, out->room);
        if (!out->text)
            abort ();
    }
}

static void
s_family (out_t *out, const char *name, const char *type, const char *help)
{
    s_put (out, "# HELP " PREFIX "%s %s\n# TYPE " PREFIX "%s %s\n", name, help, name, type);
}

//  A label's value, escaped as the format says (backslash, quote, newline).
static const char *
s_label (const char *value, char *buf, size_t size)
{
    size_t length = 0;
    for (const char *c = value ? value : ""; *c && length + 3 < size; c++) {
        if (*c == '\\' || *c == '"')
            buf[length++] = '\\';
        if (*c == '\n') {
            buf[length++] = '\\';
            buf[length++] = 'n';
            continue;
        }
        buf[length++] = *c;
    }
    buf[length] = 0;
    return buf;
}

static void
s_counts (out_t *out, const char *name, const char *type, const char *help,
          Maekin__StateCount *const *counts, size_t count, const char *const *always)
{
    s_family (out, name, type, help);
    char label[128];
    //  The states always listed are written even at 0, so a series does not vanish.
    for (size_t a = 0; always && always[a]; a++) {
        uint64_t value = 0;
        for (size_t i = 0; i < count; i++)
            if (streq (counts[i]->state, always[a]))
                value = counts[i]->count;
        s_put (out, PREFIX "%s{state=\"%s\"} %" PRIu64 "\n", name, always[a], value);
    }
    for (size_t i = 0; i < count; i++) {
        bool listed = false;
        for (size_t a = 0; always && always[a]; a++)
            listed |= streq (counts[i]->state, always[a]);
        if (!listed)
            s_put (out, PREFIX "%s{state=\"%s\"} %" PRIu64 "\n", name,
                   s_label (counts[i]->state, label, sizeof label), counts[i]->count);
    }
}

//  One figure of every host.
typedef double (host_fn) (const Maekin__Host *host);
static double
s_up (const Maekin__Host *host)
{
    return streq (host->state, "up");
}
static double
s_cpus (const Maekin__Host *host)
{
    return host->vcpus;
}
static double
s_busy (const Maekin__Host *host)
{
    return host->cpu_busy_pct / 100.0;
}
static double
s_memory (const Maekin__Host *host)
{
    return (double) host->memory_mb * 1048576.0;
}
static double
s_used (const Maekin__Host *host)
{
    return (double) host->memory_used_mb * 1048576.0;
}
static double
s_load (const Maekin__Host *host)
{
    return host->load1_x100 / 100.0;
}
static double
s_vms (const Maekin__Host *host)
{
    return host->vm_count;
}
static double
s_vcpus_used (const Maekin__Host *host)
{
    return host->vcpus_used;
}
static double
s_placed (const Maekin__Host *host)
{
    return (double) host->memory_mb_used * 1048576.0;
}

static void
s_hosts (out_t *out, const Maekin__CloudStatsReply *stats)
{
    static const struct {
        const char *name;
        const char *help;
        host_fn *fn;
    } figures[] = {
        {"host_up", "1 while the host's agent reports it, else 0.", s_up},
        {"host_cpus", "The host's CPUs.", s_cpus},
        {"host_cpu_busy_ratio", "The host's CPUs busy between its monitor's last two samples.",
         s_busy},
        {"host_memory_bytes", "The host's memory.", s_memory},
        {"host_memory_used_bytes", "The host's memory in use (total less available), measured.",
         s_used},
        {"host_load1", "The host's load average over a minute.", s_load},
        {"host_vms", "VMs placed on the host.", s_vms},
        {"host_vcpus_placed", "vCPUs of the VMs placed on the host.", s_vcpus_used},
        {"host_memory_placed_bytes", "Memory of the VMs placed on the host.", s_placed},
    };
    char label[128];
    for (size_t f = 0; f < sizeof figures / sizeof figures[0]; f++) {
        s_family (out, figures[f].name, "gauge", figures[f].help);
        for (size_t i = 0; i < stats->n_hosts; i++)
            s_put (out, PREFIX "%s{host=\"%s\"} %.17g\n", figures[f].name,
                   s_label (stats->hosts[i]->name, label, sizeof label),
                   figures[f].fn (stats->hosts[i]));
    }
}

char *
gateway_metrics_text (const Maekin__CloudStatsReply *stats, const uint64_t answered[3],
                      int connections)
{
    out_t out = {NULL, 0, 0};
    out.room = 8192;
    out.text = (char *) malloc (out.room);
    if (!out.text)
        abort ();
    static const char *const host_states[] = {"up", "down", "unknown", NULL};
    uint64_t by_state[3] = {0, 0, 0};
    for (size_t i = 0; i < stats->n_hosts; i++)
        for (size_t s = 0; s < 3; s++)
            by_state[s] += streq (stats->hosts[i]->state, host_states[s]);
    s_family (&out, "hosts", "gauge", "Hosts by state.");
    for (size_t s = 0; s < 3; s++)
        s_put (&out, PREFIX "hosts{state=\"%s\"} %" PRIu64 "\n", host_states[s], by_state[s]);
    static const char *const vm_states[] = {"running", "stopped", "paused", "error", NULL};
    s_counts (&out, "vms", "gauge", "VMs by state.", stats->vms, stats->n_vms, vm_states);
    s_counts (&out, "tasks_open", "gauge", "Tasks not ended, by state.", stats->tasks_open,
              stats->n_tasks_open, NULL);
    s_counts (&out, "tasks_ended_total", "counter",
              "Tasks ended since the controller started, by outcome.", stats->tasks_ended,
              stats->n_tasks_ended, NULL);
    s_family (&out, "tasks_accepted_total", "counter",
              "Tasks accepted since the controller started.");
    s_put (&out, PREFIX "tasks_accepted_total %" PRIu64 "\n", stats->tasks_accepted);
    s_family (&out, "task_latency_seconds", "histogram",
              "Tasks ended since the controller started, from accepted to ended.");
    for (size_t i = 0; i < stats->n_task_latency; i++) {
        const Maekin__LatencyBucket *bucket = stats->task_latency[i];
        if (isinf (bucket->le_s))
            s_put (&out, PREFIX "task_latency_seconds_bucket{le=\"+Inf\"} %" PRIu64 "\n",
                   bucket->count);
        else
            s_put (&out, PREFIX "task_latency_seconds_bucket{le=\"%g\"} %" PRIu64 "\n",
                   bucket->le_s, bucket->count);
    }
    s_put (&out, PREFIX "task_latency_seconds_sum %.17g\n", stats->task_latency_sum_s);
    s_put (&out, PREFIX "task_latency_seconds_count %" PRIu64 "\n", stats->task_latency_count);
    s_family (&out, "controller_start_time_seconds", "gauge",
              "When the controller started, unix seconds.");
    s_put (&out, PREFIX "controller_start_time_seconds %" PRId64 "\n", stats->started);
    s_hosts (&out, stats);
    s_family (&out, "gateway_responses_total", "counter",
              "HTTP answers of this gateway since it started, by class.");
    static const char *const classes[] = {"2xx", "4xx", "5xx"};
    for (size_t i = 0; i < 3; i++)
        s_put (&out, PREFIX "gateway_responses_total{class=\"%s\"} %" PRIu64 "\n", classes[i],
               answered[i]);
    s_family (&out, "gateway_connections", "gauge", "HTTP connections this gateway has open.");
    s_put (&out, PREFIX "gateway_connections %d\n", connections);
    return out.text;
}

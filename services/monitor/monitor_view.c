/*  monitor_view: the cluster as one monitor hears it (monitor_view.h). */
#include "monitor_view.h"

#include "mk_metric.h"

typedef struct {
    Maekin__Host host; //  as it is answered; name points to name below
    char name[64];
    int64_t time_ms;  //  the sample's own time
    int64_t heard_ms; //  when it came
    uint32_t interval_ms;
    uint64_t busy_ms, all_ms; //  its CPU counters, for the busy share between two samples
} s_entry_t;

struct _monitor_view_t {
    zhashx_t *hosts; //  name -> s_entry_t
};

monitor_view_t *
monitor_view_new (void)
{
    monitor_view_t *self = (monitor_view_t *) zmalloc (sizeof (monitor_view_t));
    self->hosts = zhashx_new ();
    zhashx_set_destructor (self->hosts, (zhashx_destructor_fn *) zstr_free);
    return self;
}

void
monitor_view_destroy (monitor_view_t **self_p)
{
    monitor_view_t *self = *self_p;
    if (!self)
        return;
    zhashx_destroy (&self->hosts);
    free (self);
    *self_p = NULL;
}

bool
monitor_view_take (monitor_view_t *self, const Maekin__HostSample *sample, const char *via,
                   int64_t now_ms)
{
    if (!sample->host || !*sample->host || strlen (sample->host) > 63)
        return false;
    s_entry_t *entry = (s_entry_t *) zhashx_lookup (self->hosts, sample->host);
    if (entry && sample->time_ms <= entry->time_ms)
        return false;
    if (!entry) {
        if (zhashx_size (self->hosts) >= MONITOR_VIEW_MAX)
            return false;
        entry = (s_entry_t *) zmalloc (sizeof (s_entry_t));
        maekin__host__init (&entry->host);
        snprintf (entry->name, sizeof entry->name, "%s", sample->host);
        entry->host.name = entry->name;
        zhashx_insert (self->hosts, entry->name, entry);
    }
    Maekin__Host *host = &entry->host;
    if (sample->cpu) {
        uint64_t busy, all;
        mk_metric_cpu (sample->cpu, &busy, &all);
        //  Between its last two samples; at the first, or after a reboot, since boot.
        bool later = entry->all_ms && all > entry->all_ms && busy >= entry->busy_ms;
        host->cpu_busy_pct = mk_metric_busy_share (later ? entry->busy_ms : 0,
                                                   later ? entry->all_ms : 0, busy, all, 100);
        entry->busy_ms = busy;
        entry->all_ms = all;
    }
    host->vcpus = sample->cpus;
    host->memory_mb = sample->memory_total_kb / 1024;
    host->memory_used_mb = sample->memory_total_kb > sample->memory_available_kb
                               ? (sample->memory_total_kb - sample->memory_available_kb) / 1024
                               : 0;
    host->load1_x100 = sample->load1_x100;
    host->vm_count = sample->vm_count;
    host->sampled = sample->time_ms;
    host->last_seen = now_ms / 1000;
    host->heard_via = (char *) via;
    entry->time_ms = sample->time_ms;
    entry->heard_ms = now_ms;
    entry->interval_ms = sample->interval_ms;
    return true;
}

static int
s_by_name (const void *a, const void *b)
{
    return strcmp ((*(Maekin__Host *const *) a)->name, (*(Maekin__Host *const *) b)->name);
}

Maekin__Host **
monitor_view_hosts (monitor_view_t *self, int64_t now_ms, size_t *count)
{
    *count = zhashx_size (self->hosts);
    Maekin__Host **hosts = (Maekin__Host **) calloc (*count ? *count : 1, sizeof (Maekin__Host *));
    assert (hosts);
    size_t i = 0;
    for (s_entry_t *entry = (s_entry_t *) zhashx_first (self->hosts); entry;
         entry = (s_entry_t *) zhashx_next (self->hosts)) {
        int64_t quiet_ms = 3 * (int64_t) entry->interval_ms;
        entry->host.state =
            now_ms - entry->heard_ms <= (quiet_ms > 3000 ? quiet_ms : 3000) ? "up" : "silent";
        hosts[i++] = &entry->host;
    }
    qsort (hosts, *count, sizeof *hosts, s_by_name);
    return hosts;
}

size_t
monitor_view_size (monitor_view_t *self)
{
    return zhashx_size (self->hosts);
}

void
monitor_view_test (bool verbose)
{
    monitor_view_t *view = monitor_view_new ();
    Maekin__HostSample sample = MAEKIN__HOST_SAMPLE__INIT;
    Maekin__CpuTimes cpu = MAEKIN__CPU_TIMES__INIT;
    sample.cpu = &cpu;
    sample.interval_ms = 5000;
    sample.memory_total_kb = 4096 * 1024;
    sample.memory_available_kb = 1024 * 1024;
    sample.cpus = 8;
    //  node2 at 25% busy between two samples; node1 once.
    sample.host = "node2";
    sample.time_ms = 1000;
    cpu.user = 1000;
    cpu.idle = 3000;
    assert (monitor_view_take (view, &sample, "stream", 1000));
    sample.time_ms = 6000;
    cpu.user = 2000;
    cpu.idle = 6000;
    assert (monitor_view_take (view, &sample, "multicast", 6000));
    //  The same sample the other way, or an older one: nothing changes.
    assert (!monitor_view_take (view, &sample, "stream", 6100));
    sample.time_ms = 5000;
    assert (!monitor_view_take (view, &sample, "stream", 6100));
    sample.host = "node1";
    sample.time_ms = 2000;
    assert (monitor_view_take (view, &sample, "stream", 2000));
    //  A sample without a name, or with one too long, is not taken.
    sample.host = "";
    assert (!monitor_view_take (view, &sample, "stream", 2000));
    size_t count;
    Maekin__Host **hosts = monitor_view_hosts (view, 8000, &count);
    assert (count == 2 && streq (hosts[0]->name, "node1") && streq (hosts[1]->name, "node2"));
    assert (hosts[1]->cpu_busy_pct == 25 && hosts[1]->memory_used_mb == 3072);
    assert (hosts[1]->vcpus == 8 && streq (hosts[1]->heard_via, "multicast"));
    assert (streq (hosts[1]->state, "up") && streq (hosts[0]->state, "up"));
    free (hosts);
    //  Three intervals later node1 has been silent; node2 too after that.
    hosts = monitor_view_hosts (view, 17001, &count);
    assert (streq (hosts[0]->state, "silent") && streq (hosts[1]->state, "up"));
    free (hosts);
    if (verbose)
        printf (" * two hosts heard, one of them by both ways once\n");
    monitor_view_destroy (&view);
}

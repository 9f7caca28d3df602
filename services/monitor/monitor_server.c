/*  monitor_server: maekin-monitor's actor (monitor_server.h). A zloop: the pipe, and one
    timer that samples every host and publishes its samples in one pass. */
#include "monitor_server.h"

#include "monitor_source.h"

#include "mk_actor.h"
#include "mk_hosts.h"
#include "mk_msg.h"
#include "mk_sock.h"

#include <inttypes.h>

typedef struct {
    char name[64];
    char topic[80]; //  metric.host.<name>
    monitor_source_t *source;
} s_host_t;

typedef struct {
    zsock_t *pipe;
    zsock_t *pub; //  to the broker's stream_in
    s_host_t *hosts;
    size_t host_count;
    int interval_ms;
    uint64_t published; //  samples sent
    uint64_t failed;    //  samples a source could not take
    monitor_sample_t sample;
} s_server_t;

char *
monitor_opts_check (const monitor_opts_t *opts)
{
    if (!opts->stream_in || !*opts->stream_in)
        return zsys_sprintf ("'bus/stream_in' names no endpoint");
    if (opts->host_count < 1 || opts->host_count > MONITOR_HOSTS_MAX)
        return zsys_sprintf ("'monitor/hosts' must name 1 to %d hosts", MONITOR_HOSTS_MAX);
    if (opts->interval_ms < MONITOR_INTERVAL_MIN_MS || opts->interval_ms > MONITOR_INTERVAL_MAX_MS)
        return zsys_sprintf ("'monitor/interval_ms' must be at least %d and at most %d",
                             MONITOR_INTERVAL_MIN_MS, MONITOR_INTERVAL_MAX_MS);
    for (size_t i = 0; i < opts->host_count; i++) {
        char *why = NULL;
        monitor_source_t *source = monitor_source_new (opts->hosts[i].source, &why);
        monitor_source_destroy (&source);
        if (why) {
            char *error = zsys_sprintf ("'monitor/hosts': host '%s': %s", opts->hosts[i].name, why);
            free (why);
            return error;
        }
    }
    return NULL;
}

monitor_host_t *
monitor_hosts_parse (const char *text, size_t *count, char **error)
{
    //  The same layout as mk_hosts's pairs: name, then value.
    _Static_assert(sizeof (monitor_host_t) == sizeof (mk_host_pair_t), "one layout");
    return (monitor_host_t *) mk_hosts_parse (text, "monitor/hosts", "source", MONITOR_HOSTS_MAX,
                                              count, error);
}

//  The sample as the message it is published as: pointers into sample and parts.
typedef struct {
    Maekin__HostSample msg;
    Maekin__CpuTimes cpu;
    Maekin__FsSample fs[MONITOR_FS_MAX];
    Maekin__FsSample *fs_p[MONITOR_FS_MAX];
    Maekin__DiskSample disks[MONITOR_DISK_MAX];
    Maekin__DiskSample *disks_p[MONITOR_DISK_MAX];
    Maekin__NetSample nets[MONITOR_NET_MAX];
    Maekin__NetSample *nets_p[MONITOR_NET_MAX];
} s_message_t;

static void
s_message (s_message_t *m, const char *host, const char *source, int interval_ms,
           monitor_sample_t *sample)
{
    maekin__host_sample__init (&m->msg);
    maekin__cpu_times__init (&m->cpu);
    m->msg.host = (char *) host;
    m->msg.source = (char *) source;
    m->msg.time_ms = zclock_time ();
    m->msg.interval_ms = (uint32_t) interval_ms;
    m->msg.cpus = sample->cpus;
    uint64_t *cpu[] = {&m->cpu.user,   &m->cpu.nice, &m->cpu.system,  &m->cpu.idle,
                       &m->cpu.iowait, &m->cpu.irq,  &m->cpu.softirq, &m->cpu.steal};
    for (int i = 0; i < 8; i++)
        *cpu[i] = sample->cpu_ms[i];
    m->msg.cpu = &m->cpu;
    m->msg.load1_x100 = sample->load_x100[0];
    m->msg.load5_x100 = sample->load_x100[1];
    m->msg.load15_x100 = sample->load_x100[2];
    m->msg.memory_total_kb = sample->memory_total_kb;
    m->msg.memory_available_kb = sample->memory_available_kb;
    m->msg.swap_total_kb = sample->swap_total_kb;
    m->msg.swap_free_kb = sample->swap_free_kb;
    for (size_t i = 0; i < sample->fs_count; i++) {
        maekin__fs_sample__init (&m->fs[i]);
        m->fs[i].mount = sample->fs[i].name;
        m->fs[i].total_kb = sample->fs[i].a;
        m->fs[i].free_kb = sample->fs[i].b;
        m->fs_p[i] = &m->fs[i];
    }
    m->msg.n_filesystems = sample->fs_count;
    m->msg.filesystems = m->fs_p;
    for (size_t i = 0; i < sample->disk_count; i++) {
        maekin__disk_sample__init (&m->disks[i]);
        m->disks[i].name = sample->disks[i].name;
        m->disks[i].read_bytes = sample->disks[i].a;
        m->disks[i].write_bytes = sample->disks[i].b;
        m->disks[i].reads = sample->disks[i].c;
        m->disks[i].writes = sample->disks[i].d;
        m->disks_p[i] = &m->disks[i];
    }
    m->msg.n_disks = sample->disk_count;
    m->msg.disks = m->disks_p;
    for (size_t i = 0; i < sample->net_count; i++) {
        maekin__net_sample__init (&m->nets[i]);
        m->nets[i].name = sample->nets[i].name;
        m->nets[i].rx_bytes = sample->nets[i].a;
        m->nets[i].tx_bytes = sample->nets[i].b;
        m->nets[i].rx_packets = sample->nets[i].c;
        m->nets[i].tx_packets = sample->nets[i].d;
        m->nets_p[i] = &m->nets[i];
    }
    m->msg.n_interfaces = sample->net_count;
    m->msg.interfaces = m->nets_p;
}

//  Sample every host and publish: two frames, the topic and the envelope.
static int
s_sample_all (zloop_t *loop, int timer_id, void *arg)
{
    s_server_t *self = (s_server_t *) arg;
    s_message_t *m = (s_message_t *) malloc (sizeof (s_message_t));
    assert (m);
    for (size_t i = 0; i < self->host_count; i++) {
        s_host_t *host = &self->hosts[i];
        if (monitor_source_sample (host->source, &self->sample) != 0) {
            self->failed++;
            continue;
        }
        s_message (m, host->name, monitor_source_name (host->source), self->interval_ms,
                   &self->sample);
        Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
        env.status = MK_OK;
        env.body_case = MAEKIN__ENVELOPE__BODY_HOST_SAMPLE;
        env.host_sample = &m->msg;
        zmsg_t *msg = zmsg_new ();
        zmsg_addstr (msg, host->topic);
        zmsg_append (msg, &(zframe_t *){mk_msg_pack (&env)});
        if (zmsg_send (&msg, self->pub) == 0)
            self->published++;
        zmsg_destroy (&msg);
    }
    free (m);
    return 0;
}

static int
s_handle_pipe (zloop_t *loop, zsock_t *reader, void *arg)
{
    s_server_t *self = (s_server_t *) arg;
    char *command = zstr_recv (reader);
    int rc = 0;
    if (!command || streq (command, "$TERM"))
        rc = -1;
    else if (streq (command, "STATS"))
        zstr_sendf (reader, "%" PRIu64 " %" PRIu64, self->published, self->failed);
    zstr_free (&command);
    return rc;
}

static void
s_server_destroy (s_server_t **self_p)
{
    s_server_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->host_count; i++)
        monitor_source_destroy (&self->hosts[i].source);
    free (self->hosts);
    zsock_destroy (&self->pub);
    free (self);
    *self_p = NULL;
}

//  The actor's state from the options, or NULL and *error (a new string).
static s_server_t *
s_server_new (zsock_t *pipe, const monitor_opts_t *opts, char **error)
{
    *error = monitor_opts_check (opts);
    if (*error)
        return NULL;
    s_server_t *self = (s_server_t *) zmalloc (sizeof (s_server_t));
    self->pipe = pipe;
    self->interval_ms = opts->interval_ms;
    self->hosts = (s_host_t *) zmalloc (opts->host_count * sizeof (s_host_t));
    for (size_t i = 0; i < opts->host_count; i++) {
        s_host_t *host = &self->hosts[i];
        snprintf (host->name, sizeof host->name, "%s", opts->hosts[i].name);
        snprintf (host->topic, sizeof host->topic, "metric.host.%s", host->name);
        char *why = NULL;
        host->source = monitor_source_new (opts->hosts[i].source, &why);
        self->host_count = i + 1;
        if (!host->source) {
            *error = zsys_sprintf ("monitor: host '%s': %s", host->name, why);
            free (why);
            s_server_destroy (&self);
            return NULL;
        }
    }
    self->pub = mk_sock_new (ZMQ_PUB, opts->stream_in);
    if (!self->pub) {
        *error = zsys_sprintf ("monitor: cannot publish to '%s'", opts->stream_in);
        s_server_destroy (&self);
    }
    return self;
}

static void
s_actor (zsock_t *pipe, void *args)
{
    char *error = NULL;
    s_server_t *self = s_server_new (pipe, (const monitor_opts_t *) args, &error);
    mk_actor_ready (pipe, error);
    if (!self)
        return;
    mk_info ("monitor: %zu host%s sampled every %d ms, published to %s", self->host_count,
             self->host_count == 1 ? "" : "s", self->interval_ms,
             ((const monitor_opts_t *) args)->stream_in);
    zloop_t *loop = zloop_new ();
    zloop_reader (loop, pipe, s_handle_pipe, self);
    zloop_timer (loop, (size_t) self->interval_ms, 0, s_sample_all, self);
    zloop_start (loop);
    zloop_destroy (&loop);
    s_server_destroy (&self);
}

zactor_t *
monitor_server_new (const monitor_opts_t *opts)
{
    assert (opts);
    return mk_actor_start (s_actor, (void *) opts);
}

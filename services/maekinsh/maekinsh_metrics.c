/*  maekinsh_metrics: the rows of maekinsh_cmd's table for metrics. `metrics tail`
    follows the monitors' samples on the broker's stream (metric.host.<host>), as they
    come: a line a sample for people (rates from the host's previous sample), or one
    JSON object (or XML document) a line with --output. */
#include "maekinsh_cmd_def.h"

#include "mk_codec.h"
#include "mk_metric.h"
#include "mk_msg.h"
#include "mk_sock.h"

#include <inttypes.h>

static const maekinsh_cmd_opt_t s_tail_opts[] = {
    {"--host", "NAME", false, "only this host's samples"},
    {"--count", "N", false, "stop after N samples (default: until interrupted)"},
    {NULL, NULL, false, NULL}};

static char *
s_build_tail (maekinsh_cmd_t *self, const maekinsh_cmd_args_t *args)
{
    const char *host = maekinsh_cmd_arg (self, args, "--host");
    char *why = host ? maekinsh_cmd_name ("host", host) : NULL;
    if (why)
        return why;
    snprintf (self->topic, sizeof self->topic, "metric.host.%s", host ? host : "");
    const char *count = maekinsh_cmd_arg (self, args, "--count");
    if (count && (why = maekinsh_cmd_number ("--count", count, 1, 1000000000, &self->count)))
        return why;
    return NULL;
}

//  What the line of a host's previous sample needs, to print rates.
typedef struct {
    int64_t time_ms;
    uint64_t busy_ms, all_ms; //  CPU time, all CPUs
    uint64_t disk_read, disk_written, net_rx, net_tx;
} s_last_t;

//  Bytes as 812, 12K, 3.4M, 1.2G (powers of 1024).
static void
s_bytes (char *text, size_t size, double bytes)
{
    const char *units = "BKMGTP";
    int unit = 0;
    while (bytes >= 1024 && unit < 5) {
        bytes /= 1024;
        unit++;
    }
    if (unit == 0)
        snprintf (text, size, "%.0f", bytes);
    else
        snprintf (text, size, bytes < 10 ? "%.1f%c" : "%.0f%c", bytes, units[unit]);
}

//  One line for people: CPU use and rates since the host's previous sample (since boot
//  for its first), load, memory.
static void
s_line (const Maekin__HostSample *sample, s_last_t *last, char *line, size_t size)
{
    s_last_t now = {.time_ms = sample->time_ms};
    mk_metric_cpu (sample->cpu, &now.busy_ms, &now.all_ms);
    for (size_t i = 0; i < sample->n_disks; i++) {
        now.disk_read += sample->disks[i]->read_bytes;
        now.disk_written += sample->disks[i]->write_bytes;
    }
    for (size_t i = 0; i < sample->n_interfaces; i++) {
        now.net_rx += sample->interfaces[i]->rx_bytes;
        now.net_tx += sample->interfaces[i]->tx_bytes;
    }
    bool rates = last->time_ms && now.time_ms > last->time_ms && now.all_ms >= last->all_ms;
    uint64_t all = now.all_ms - (rates ? last->all_ms : 0);
    uint64_t busy = now.busy_ms - (rates ? last->busy_ms : 0);
    double seconds = rates ? (now.time_ms - last->time_ms) / 1000.0 : 0;
    char when[32], memory[16], total[16], io[4][16];
    time_t secs = (time_t) (sample->time_ms / 1000);
    struct tm tm;
    strftime (when, sizeof when, "%Y-%m-%d %H:%M:%S", localtime_r (&secs, &tm));
    s_bytes (memory, sizeof memory,
             (double) (sample->memory_total_kb - sample->memory_available_kb) * 1024);
    s_bytes (total, sizeof total, (double) sample->memory_total_kb * 1024);
    uint64_t deltas[4] = {now.disk_read - last->disk_read, now.disk_written - last->disk_written,
                          now.net_rx - last->net_rx, now.net_tx - last->net_tx};
    for (int i = 0; i < 4; i++)
        if (rates)
            s_bytes (io[i], sizeof io[i], (double) deltas[i] / seconds);
        else
            snprintf (io[i], sizeof io[i], "-");
    snprintf (line, size,
              "%s  %s  cpu %3" PRIu64 "%%  load %.2f  mem %s/%s  disk r %s/s w %s/s  "
              "net rx %s/s tx %s/s",
              when, sample->host, all ? busy * 100 / all : 0, sample->load1_x100 / 100.0, memory,
              total, io[0], io[1], io[2], io[3]);
    *last = now;
}

//  Follows the stream until --count samples, or until interrupted.
static int
s_follow (maekinsh_cmd_t *self)
{
    zsock_t *sub = mk_sock_new (ZMQ_SUB, self->stream_out ? self->stream_out : "");
    if (!sub) {
        maekinsh_out_error (self->out, MK_BAD_REQUEST,
                            "cannot follow the stream at '%s' (expected tcp://HOST:PORT)",
                            self->stream_out ? self->stream_out : "");
        return MAEKINSH_EXIT_USAGE;
    }
    zsock_set_subscribe (sub, self->topic);
    zsock_set_rcvtimeo (sub, 200);
    zhashx_t *hosts = zhashx_new (); //  host -> s_last_t
    zhashx_set_destructor (hosts, (zhashx_destructor_fn *) zstr_free);
    uint64_t samples = 0, garbage = 0;
    int status = MAEKINSH_EXIT_OK;
    while (!zsys_interrupted && (!self->count || samples < self->count)) {
        zmsg_t *msg = zmsg_recv (sub);
        if (!msg)
            continue;
        zframe_t *body = zmsg_size (msg) == 2 ? zmsg_last (msg) : NULL;
        const char *why = NULL;
        Maekin__Envelope *env =
            body ? mk_msg_unpack (zframe_data (body), zframe_size (body), &why) : NULL;
        zmsg_destroy (&msg);
        if (!env || env->body_case != MAEKIN__ENVELOPE__BODY_HOST_SAMPLE
            || !env->host_sample->host) {
            garbage++;
            mk_msg_free (&env);
            continue;
        }
        const Maekin__HostSample *sample = env->host_sample;
        char *line = NULL;
        if (maekinsh_out_format (self->out) == MAEKINSH_OUT_TABLE) {
            s_last_t *last = (s_last_t *) zhashx_lookup (hosts, sample->host);
            if (!last) {
                last = (s_last_t *) zmalloc (sizeof (s_last_t));
                zhashx_insert (hosts, sample->host, last);
            }
            line = (char *) malloc (512);
            s_line (sample, last, line, 512);
        } else
            line = mk_codec_write (
                (const ProtobufCMessage *) sample,
                maekinsh_out_format (self->out) == MAEKINSH_OUT_JSON ? MK_CODEC_JSON : MK_CODEC_XML,
                false);
        mk_msg_free (&env);
        int rc = line ? maekinsh_out_line (self->out, line) : -1;
        free (line);
        if (rc != 0) {
            status = MAEKINSH_EXIT_ERROR;
            break;
        }
        samples++;
    }
    if (garbage)
        maekinsh_out_error (self->out, MK_OK,
                            "%" PRIu64 " message%s on the stream %s not a host's sample; ignored",
                            garbage, garbage == 1 ? "" : "s", garbage == 1 ? "was" : "were");
    zhashx_destroy (&hosts);
    zsock_destroy (&sub);
    return status;
}

const maekinsh_cmd_def_t maekinsh_metrics_commands[] = {
    {.group = "metrics",
     .verb = "tail",
     .summary = "follow the hosts' metrics as the monitors publish them",
     .opts = s_tail_opts,
     .build = s_build_tail,
     .run = MAEKINSH_CMD_FOLLOW,
     .follow = s_follow},
    {.group = NULL}};

void
maekinsh_metrics_test (bool verbose)
{
    maekinsh_cmd_t *cmd = maekinsh_cmd_test_good (MAEKINSH_WORDS ("metrics", "tail"));
    assert (streq (cmd->topic, "metric.host.") && cmd->count == 0 && !maekinsh_cmd_request (cmd));
    maekinsh_cmd_destroy (&cmd);
    cmd = maekinsh_cmd_test_good (
        MAEKINSH_WORDS ("metrics", "tail", "--host", "node1", "--count", "3"));
    assert (streq (cmd->topic, "metric.host.node1") && cmd->count == 3);
    maekinsh_cmd_destroy (&cmd);
    //  A line for people: CPU since the previous sample, rates over its time.
    Maekin__CpuTimes cpu = MAEKIN__CPU_TIMES__INIT;
    cpu.user = 1000;
    cpu.idle = 3000;
    Maekin__NetSample eth = MAEKIN__NET_SAMPLE__INIT;
    eth.name = "eth0";
    Maekin__NetSample *nets[] = {&eth};
    Maekin__HostSample sample = MAEKIN__HOST_SAMPLE__INIT;
    sample.host = "node1";
    sample.time_ms = 1700000000000;
    sample.cpu = &cpu;
    sample.load1_x100 = 125;
    sample.memory_total_kb = 16 * 1024 * 1024;
    sample.memory_available_kb = 12 * 1024 * 1024;
    sample.n_interfaces = 1;
    sample.interfaces = nets;
    s_last_t last = {0};
    char line[512];
    s_line (&sample, &last, line, sizeof line);
    if (verbose)
        printf ("  %s\n", line);
    assert (strstr (line, "node1  cpu  25%  load 1.25  mem 4.0G/16G") && strstr (line, "rx -/s"));
    sample.time_ms += 2000;
    cpu.user += 1800;
    cpu.idle += 200;
    eth.rx_bytes = 2 * 1024 * 1024;
    s_line (&sample, &last, line, sizeof line);
    if (verbose)
        printf ("  %s\n", line);
    assert (strstr (line, "cpu  90%") && strstr (line, "net rx 1.0M/s tx 0/s"));
}

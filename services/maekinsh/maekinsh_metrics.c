/*  maekinsh_metrics: the rows of maekinsh_cmd's table for metrics. `metrics tail`
    follows the monitors' samples on the broker's stream (metric.host.<host>), as they
    come: a line a sample for people (rates from the host's previous sample), or one
    JSON object (or XML document) a line with --output, the HostSample as published.
    With --vm, a line each time the VM's host publishes, with the VM's latest values
    (a host's message leaves out the VMs whose values held still: mk_metric_vms keeps
    the picture); with --output, a HostSample holding that VM alone. */
#include "maekinsh_cmd_def.h"

#include "mk_codec.h"
#include "mk_metric.h"
#include "mk_msg.h"
#include "mk_sock.h"
#include "mk_uuid.h"

#include <inttypes.h>

static const maekinsh_cmd_opt_t s_tail_opts[] = {
    {"--host", "NAME", false, "only this host's samples"},
    {"--vm", "NAME|UUID", false, "this VM's values (each time its host publishes)"},
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
    self->vm = maekinsh_cmd_arg (self, args, "--vm");
    uint8_t uuid[16];
    if (self->vm && mk_uuid_parse (self->vm, uuid) != 0) {
        //  A name: the follow asks the cloud for its UUID first.
        if ((why = maekinsh_cmd_name ("VM", self->vm)))
            return why;
        Maekin__VmShowRequest show = MAEKIN__VM_SHOW_REQUEST__INIT;
        show.name = (char *) self->vm;
        Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
        env.body_case = MAEKIN__ENVELOPE__BODY_VM_SHOW;
        env.vm_show = &show;
        maekinsh_cmd_finish (self, &env);
    }
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

//  One line for people of a VM's latest values.
static void
s_vm_line (const Maekin__HostSample *sample, const char *vm_name, const mk_metric_vm_t *vm,
           char *line, size_t size)
{
    char when[32], memory[16], rss[16], io[4][16];
    time_t secs = (time_t) (vm->time_ms / 1000);
    struct tm tm;
    strftime (when, sizeof when, "%Y-%m-%d %H:%M:%S", localtime_r (&secs, &tm));
    s_bytes (memory, sizeof memory, (double) vm->memory_kb * 1024);
    s_bytes (rss, sizeof rss, (double) vm->rss_kb * 1024);
    uint64_t rates[4] = {vm->disk_read_bps, vm->disk_write_bps, vm->net_rx_bps, vm->net_tx_bps};
    for (int i = 0; i < 4; i++)
        s_bytes (io[i], sizeof io[i], (double) rates[i]);
    snprintf (line, size,
              "%s  %s on %s  cpu %3u.%u%%  mem %s used of %s  disk r %s/s w %s/s  "
              "net rx %s/s tx %s/s (%u/%u packets/s)",
              when, vm_name, sample->host, vm->cpu_permille / 10, vm->cpu_permille % 10, rss,
              memory, io[0], io[1], io[2], io[3], vm->net_rx_pps, vm->net_tx_pps);
}

//  The VM's values as a HostSample holding it alone, for --output.
static char *
s_vm_doc (const Maekin__HostSample *sample, const mk_metric_vm_t *vm, mk_codec_format_t format)
{
    Maekin__VmSample one = MAEKIN__VM_SAMPLE__INIT;
    one.uuid.data = (uint8_t *) vm->uuid;
    one.uuid.len = 16;
    one.state = vm->state;
    one.vcpus = vm->vcpus;
    one.cpu_permille = vm->cpu_permille;
    one.memory_kb = vm->memory_kb;
    one.rss_kb = vm->rss_kb;
    one.disk_read_bps = vm->disk_read_bps;
    one.disk_write_bps = vm->disk_write_bps;
    one.net_rx_bps = vm->net_rx_bps;
    one.net_tx_bps = vm->net_tx_bps;
    one.net_rx_pps = vm->net_rx_pps;
    one.net_tx_pps = vm->net_tx_pps;
    Maekin__VmSample *list[] = {&one};
    Maekin__HostSample doc = MAEKIN__HOST_SAMPLE__INIT;
    doc.host = sample->host;
    doc.time_ms = sample->time_ms;
    doc.interval_ms = sample->interval_ms;
    doc.vms_time_ms = vm->time_ms;
    doc.vm_count = sample->vm_count;
    doc.n_vms = 1;
    doc.vms = list;
    return mk_codec_write ((const ProtobufCMessage *) &doc, format, false);
}

//  What a follow keeps: each host's last line's figures and its VMs' picture.
typedef struct {
    s_last_t last;
    mk_metric_vms_t *vms;
} s_host_state_t;

static void
s_host_state_destroy (s_host_state_t **self_p)
{
    if (*self_p) {
        mk_metric_vms_destroy (&(*self_p)->vms);
        free (*self_p);
        *self_p = NULL;
    }
}

//  The line (a new string) for one sample, or NULL if it has none to print: with --vm,
//  a host that does not have the VM. Its host's state is kept in hosts.
static char *
s_sample_line (maekinsh_cmd_t *self, zhashx_t *hosts, const Maekin__HostSample *sample,
               const uint8_t *vm_uuid)
{
    s_host_state_t *host = (s_host_state_t *) zhashx_lookup (hosts, sample->host);
    if (!host) {
        host = (s_host_state_t *) zmalloc (sizeof (s_host_state_t));
        host->vms = mk_metric_vms_new ();
        zhashx_insert (hosts, sample->host, host);
    }
    mk_metric_vms_take (host->vms, sample);
    maekinsh_out_format_t format = maekinsh_out_format (self->out);
    mk_codec_format_t codec = format == MAEKINSH_OUT_JSON ? MK_CODEC_JSON : MK_CODEC_XML;
    if (vm_uuid) {
        const mk_metric_vm_t *vm = mk_metric_vms_lookup (host->vms, vm_uuid);
        if (!vm)
            return NULL;
        if (format != MAEKINSH_OUT_TABLE)
            return s_vm_doc (sample, vm, codec);
        char *line = (char *) malloc (512);
        s_vm_line (sample, self->vm, vm, line, 512);
        return line;
    }
    if (format != MAEKINSH_OUT_TABLE)
        return mk_codec_write ((const ProtobufCMessage *) sample, codec, false);
    char *line = (char *) malloc (512);
    s_line (sample, &host->last, line, 512);
    return line;
}

//  --vm: its UUID, parsed or asked of the cloud (the request the build made).
static int
s_vm_uuid (maekinsh_cmd_t *self, uint8_t *uuid)
{
    if (!self->vm || mk_uuid_parse (self->vm, uuid) == 0)
        return MAEKINSH_EXIT_OK;
    int status;
    Maekin__Envelope *reply =
        maekinsh_cmd_ask (self, self->request, MAEKIN__ENVELOPE__BODY_VM_SHOW_REPLY, &status);
    if (!reply)
        return status;
    const Maekin__Vm *vm = reply->vm_show_reply->vm;
    if (!vm || mk_uuid_parse (vm->uuid, uuid) != 0) {
        maekinsh_out_error (self->out, MK_INTERNAL, "the cloud gave VM '%s' no UUID", self->vm);
        status = MAEKINSH_EXIT_ERROR;
    }
    mk_msg_free (&reply);
    return status;
}

//  Follows the stream until --count lines, or until interrupted.
static int
s_follow (maekinsh_cmd_t *self)
{
    uint8_t vm_uuid[16];
    int status = s_vm_uuid (self, vm_uuid);
    if (status != MAEKINSH_EXIT_OK)
        return status;
    zsock_t *sub = mk_sock_new (ZMQ_SUB, self->stream_out ? self->stream_out : "");
    if (!sub) {
        maekinsh_out_error (self->out, MK_BAD_REQUEST,
                            "cannot follow the stream at '%s' (expected tcp://HOST:PORT)",
                            self->stream_out ? self->stream_out : "");
        return MAEKINSH_EXIT_USAGE;
    }
    zsock_set_subscribe (sub, self->topic);
    zsock_set_rcvtimeo (sub, 200);
    zhashx_t *hosts = zhashx_new (); //  host -> s_host_state_t
    zhashx_set_destructor (hosts, (zhashx_destructor_fn *) s_host_state_destroy);
    uint64_t lines = 0, garbage = 0;
    while (!zsys_interrupted && (!self->count || lines < self->count)) {
        zmsg_t *msg = zmsg_recv (sub);
        if (!msg) {
            mk_sock_rekey (sub); //  the broker's key may be changing
            continue;
        }
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
        char *line = s_sample_line (self, hosts, env->host_sample, self->vm ? vm_uuid : NULL);
        mk_msg_free (&env);
        if (!line)
            continue;
        int rc = maekinsh_out_line (self->out, line);
        free (line);
        if (rc != 0) {
            status = MAEKINSH_EXIT_ERROR;
            break;
        }
        lines++;
    }
    if (garbage)
        maekinsh_out_error (self->out, MK_OK,
                            "%" PRIu64 " message%s on the stream %s not a host's sample; ignored",
                            garbage, garbage == 1 ? "" : "s", garbage == 1 ? "was" : "were");
    zhashx_destroy (&hosts);
    mk_sock_destroy (&sub);
    return status;
}

static const maekinsh_cmd_opt_t s_history_opts[] = {
    {"--host", "NAME", false, "this host's history"},
    {"--vm", "NAME|UUID", false, "this VM's history"},
    {"--vi", "VI", false, "the VM's Virtual Infrastructure (default: one's only one)"},
    {"--since", "DURATION", false, "this far back: 90s, 30m, 6h, 7d (default: 1h)"},
    {"--step", "DURATION", false, "one point a step (default: the finest kept that long)"},
    {NULL, NULL, false, NULL}};

//  "90", "90s", "30m", "6h", "7d": seconds, or a usage error (a new string).
static char *
s_duration (const char *what, const char *text, uint64_t max, uint64_t *seconds)
{
    size_t length = strlen (text);
    uint64_t unit = 1;
    char digits[24];
    if (length > 0 && length < sizeof digits) {
        char last = text[length - 1];
        unit = last == 'd' ? 86400 : last == 'h' ? 3600 : last == 'm' ? 60 : 1;
        memcpy (digits, text, length + 1);
        if (last == 'd' || last == 'h' || last == 'm' || last == 's')
            digits[length - 1] = 0;
    } else
        digits[0] = 0;
    uint64_t count = 0;
    char *why = *digits ? maekinsh_cmd_number (what, digits, 1, max / unit, &count) : NULL;
    bool bad = !*digits || why;
    free (why);
    if (bad)
        return zsys_sprintf ("%s must be a duration from 1s to %" PRIu64
                             "d, as 90s, 30m, 6h or 7d (not '%.32s')",
                             what, max / 86400, text);
    *seconds = count * unit;
    return NULL;
}

static char *
s_build_history (maekinsh_cmd_t *self, const maekinsh_cmd_args_t *args)
{
    const char *host = maekinsh_cmd_arg (self, args, "--host");
    const char *vm = maekinsh_cmd_arg (self, args, "--vm");
    if (!host == !vm)
        return strdup ("name a host (--host) or a VM (--vm), one of them");
    uint8_t uuid[16];
    char *why = host                            ? maekinsh_cmd_name ("host", host)
                : mk_uuid_parse (vm, uuid) != 0 ? maekinsh_cmd_name ("VM", vm)
                                                : NULL;
    if (why)
        return why;
    const char *since = maekinsh_cmd_arg (self, args, "--since");
    const char *step = maekinsh_cmd_arg (self, args, "--step");
    uint64_t back = 3600, step_s = 0;
    if (since && (why = s_duration ("--since", since, 3650 * 86400ULL, &back)))
        return why;
    if (step && (why = s_duration ("--step", step, 86400 * 10ULL, &step_s)))
        return why;
    Maekin__MetricsHistoryRequest ask = MAEKIN__METRICS_HISTORY_REQUEST__INIT;
    ask.host = (char *) host;
    ask.vm = (char *) vm;
    const char *vi = maekinsh_cmd_arg (self, args, "--vi");
    if (vi && (why = maekinsh_cmd_name ("VI", vi)))
        return why;
    ask.vi = (char *) vi;
    int64_t now = zclock_time () / 1000;
    ask.since_s = now > (int64_t) back ? now - (int64_t) back : 0;
    ask.step_s = (uint32_t) step_s;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_METRICS_HISTORY;
    env.metrics_history = &ask;
    maekinsh_cmd_finish (self, &env);
    return NULL;
}

//  A history's points for people: averages of each step (CPU in thousandths of a CPU).
static const maekinsh_out_table_t s_point_table = {
    &maekin__metric_point__descriptor,
    {{"TIME", "t", MAEKINSH_OUT_COL_TIME},
     {"SAMPLES", "samples", MAEKINSH_OUT_COL_ID},
     {"CPU/1000", "cpu_permille", MAEKINSH_OUT_COL_ID},
     {"MEM_KB", "mem_kb", MAEKINSH_OUT_COL_ID},
     {"RX_B/S", "net_rx_bps", MAEKINSH_OUT_COL_ID},
     {"TX_B/S", "net_tx_bps", MAEKINSH_OUT_COL_ID},
     {"READ_B/S", "disk_read_bps", MAEKINSH_OUT_COL_ID},
     {"WRITE_B/S", "disk_write_bps", MAEKINSH_OUT_COL_ID}}};

const maekinsh_cmd_def_t maekinsh_metrics_commands[] = {
    {.group = "metrics",
     .verb = "history",
     .summary = "a host's or VM's averages over time, as the controller keeps them",
     .opts = s_history_opts,
     .build = s_build_history,
     .request = MAEKINSH_BODY (METRICS_HISTORY),
     .reply = MAEKINSH_BODY (METRICS_HISTORY_REPLY),
     .table = &s_point_table},
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
    //  --vm by UUID needs nothing of the cloud; by name, the build asks for its UUID.
    cmd = maekinsh_cmd_test_good (
        MAEKINSH_WORDS ("metrics", "tail", "--vm", "0190a5c4-2b3d-7e4f-8a1b-2c3d4e5f6a7b"));
    assert (!maekinsh_cmd_request (cmd) && streq (cmd->vm, "0190a5c4-2b3d-7e4f-8a1b-2c3d4e5f6a7b"));
    maekinsh_cmd_destroy (&cmd);
    cmd = maekinsh_cmd_test_good (MAEKINSH_WORDS ("metrics", "tail", "--vm", "web-1"));
    const Maekin__Envelope *show = maekinsh_cmd_request (cmd);
    assert (show && show->body_case == MAEKIN__ENVELOPE__BODY_VM_SHOW);
    assert (streq (show->vm_show->name, "web-1"));
    maekinsh_cmd_destroy (&cmd);
    char *error = NULL, *help = NULL;
    const char **bad = MAEKINSH_WORDS ("metrics", "tail", "--vm", "bad name");
    assert (!maekinsh_cmd_new (4, (char **) bad, &error, &help) && error && strstr (error, "VM"));
    free (error);
    free (help);
    //  history: durations in s, m, h, d; a host or a VM, one of them.
    cmd = maekinsh_cmd_test_good (
        MAEKINSH_WORDS ("metrics", "history", "--vm", "web-1", "--since", "2h", "--step", "10m"));
    const Maekin__Envelope *ask = maekinsh_cmd_request (cmd);
    assert (ask && ask->body_case == MAEKIN__ENVELOPE__BODY_METRICS_HISTORY);
    assert (streq (ask->metrics_history->vm, "web-1") && ask->metrics_history->step_s == 600);
    int64_t back = zclock_time () / 1000 - ask->metrics_history->since_s;
    assert (back >= 7200 && back <= 7260);
    maekinsh_cmd_destroy (&cmd);
    const char *bad_history[][8] = {{"metrics", "history", NULL},
                                    {"metrics", "history", "--host", "a", "--vm", "b", NULL},
                                    {"metrics", "history", "--host", "a", "--since", "h", NULL},
                                    {"metrics", "history", "--host", "a", "--since", "-1h", NULL},
                                    {"metrics", "history", "--host", "a", "--step", "0s", NULL},
                                    {"metrics", "history", "--host", "a", "--step", "1w", NULL},
                                    {"metrics", "history", "--host", "bad name", NULL}};
    for (size_t i = 0; i < sizeof bad_history / sizeof bad_history[0]; i++) {
        int argc = 0;
        while (bad_history[i][argc])
            argc++;
        assert (!maekinsh_cmd_new (argc, (char **) bad_history[i], &error, &help) && error);
        free (error);
        free (help);
    }
    //  A VM's line: its rates as the monitor measured them.
    mk_metric_vm_t vm = {.time_ms = 1700000000000,
                         .vcpus = 2,
                         .cpu_permille = 505,
                         .memory_kb = 2 * 1024 * 1024,
                         .rss_kb = 1024 * 1024,
                         .net_rx_bps = 2048,
                         .net_rx_pps = 3};
    Maekin__HostSample on = MAEKIN__HOST_SAMPLE__INIT;
    on.host = "node2";
    char vm_line[512];
    s_vm_line (&on, "web-1", &vm, vm_line, sizeof vm_line);
    if (verbose)
        printf ("  %s\n", vm_line);
    assert (strstr (vm_line, "web-1 on node2  cpu  50.5%  mem 1.0G used of 2.0G"));
    assert (strstr (vm_line, "net rx 2.0K/s tx 0/s (3/0 packets/s)"));
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

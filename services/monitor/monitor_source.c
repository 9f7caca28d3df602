/*  monitor_source: a host's samples from /proc and statvfs, or from a generator that
    stands in for them (monitor_source.h). */
#include "monitor_source.h"

#include "mk_str.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

//  The most read of one /proc file: more is cut (a host with that many disks or
//  interfaces has its first ones sampled).
#define S_FILE_MAX 65536

//  The synthetic host.
#define S_SYNTH_CPUS      8
#define S_SYNTH_MEMORY_KB (16ULL * 1024 * 1024)

//  A synthetic host's guests: each has 2 vCPUs and 2 GiB.
#define S_SYNTH_VM_VCPUS     2
#define S_SYNTH_VM_MEMORY_KB (2ULL * 1024 * 1024)

struct _monitor_source_t {
    char *name;       //  as given
    char *host;       //  the host it samples
    bool synthetic;   //  else /proc
    unsigned cpu_pct; //  synthetic: CPUs this busy
    unsigned mem_pct; //  synthetic: memory this used
    unsigned vms;     //  synthetic: guests
    int64_t started;  //  synthetic: mono ms its counters start from
    long hz;          //  /proc/stat's ticks a second
    char *text;       //  a buffer for one file
};

monitor_source_t *
monitor_source_new (const char *host, const char *description, char **error)
{
    assert (host && description && error);
    *error = NULL;
    monitor_source_t *self = (monitor_source_t *) zmalloc (sizeof (monitor_source_t));
    self->name = mk_strdup (description);
    self->host = mk_strdup (host);
    if (strncmp (description, "synthetic:", 10) == 0) {
        unsigned cpu = 0, mem = 0, vms = 0;
        char tail = 0;
        int fields = sscanf (description + 10, "%u:%u%c%u%c", &cpu, &mem, &tail, &vms, &tail);
        if ((fields != 2 && (fields != 4 || tail != ':')) || cpu > 100 || mem > 100
            || vms > MONITOR_SYNTH_VMS_MAX || strchr (description, '-')) {
            *error = zsys_sprintf ("monitor source '%.64s': write synthetic:CPU:MEMORY[:VMS], CPU "
                                   "and MEMORY percentages from 0 to 100, VMS from 0 to %d "
                                   "(synthetic:40:60:10)",
                                   description, MONITOR_SYNTH_VMS_MAX);
            monitor_source_destroy (&self);
            return NULL;
        }
        self->synthetic = true;
        self->cpu_pct = cpu;
        self->mem_pct = mem;
        self->vms = vms;
        self->started = zclock_mono ();
    } else if (!streq (description, "proc")) {
        *error = zsys_sprintf ("monitor source '%.64s': 'proc' (this machine's /proc) or "
                               "'synthetic:CPU:MEMORY[:VMS]'",
                               description);
        monitor_source_destroy (&self);
        return NULL;
    }
    self->hz = sysconf (_SC_CLK_TCK);
    if (self->hz <= 0)
        self->hz = 100;
    self->text = (char *) malloc (S_FILE_MAX);
    assert (self->text);
    return self;
}

void
monitor_source_destroy (monitor_source_t **self_p)
{
    assert (self_p);
    monitor_source_t *self = *self_p;
    if (self) {
        free (self->name);
        free (self->host);
        free (self->text);
        free (self);
        *self_p = NULL;
    }
}

const char *
monitor_source_name (monitor_source_t *self)
{
    return self->name;
}

//  ---------------------------------------------------------------- /proc

//  The file's text into self->text (cut at S_FILE_MAX - 1 bytes): 0, or -1 (logged).
static int
s_read (monitor_source_t *self, const char *path)
{
    FILE *file = fopen (path, "r");
    if (!file) {
        mk_warn ("monitor: cannot read %s: %s", path, strerror (errno));
        return -1;
    }
    size_t size = fread (self->text, 1, S_FILE_MAX - 1, file);
    self->text[size] = 0;
    fclose (file);
    return 0;
}

//  The first line of /proc/stat: CPU time per state, in ms; and the CPUs counted.
static int
s_parse_stat (const char *text, long hz, monitor_sample_t *sample)
{
    unsigned long long ticks[8] = {0};
    if (sscanf (text, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &ticks[0], &ticks[1],
                &ticks[2], &ticks[3], &ticks[4], &ticks[5], &ticks[6], &ticks[7])
        < 4)
        return -1;
    for (int i = 0; i < 8; i++)
        sample->cpu_ms[i] = ticks[i] * 1000 / (unsigned long long) hz;
    sample->cpus = 0;
    for (const char *line = strstr (text, "\ncpu"); line; line = strstr (line + 1, "\ncpu"))
        sample->cpus += line[4] >= '0' && line[4] <= '9';
    return sample->cpus ? 0 : -1;
}

static int
s_parse_loadavg (const char *text, monitor_sample_t *sample)
{
    double load[3];
    if (sscanf (text, "%lf %lf %lf", &load[0], &load[1], &load[2]) != 3)
        return -1;
    for (int i = 0; i < 3; i++)
        sample->load_x100[i] = load[i] < 0 ? 0 : (uint32_t) (load[i] * 100 + 0.5);
    return 0;
}

//  A "Name:   N kB" line of /proc/meminfo, or 0.
static uint64_t
s_meminfo (const char *text, const char *name)
{
    size_t length = strlen (name);
    for (const char *line = text; line; line = strchr (line, '\n')) {
        line += *line == '\n';
        if (strncmp (line, name, length) == 0 && line[length] == ':')
            return strtoull (line + length + 1, NULL, 10);
    }
    return 0;
}

static int
s_parse_meminfo (const char *text, monitor_sample_t *sample)
{
    sample->memory_total_kb = s_meminfo (text, "MemTotal");
    sample->memory_available_kb = s_meminfo (text, "MemAvailable");
    sample->swap_total_kb = s_meminfo (text, "SwapTotal");
    sample->swap_free_kb = s_meminfo (text, "SwapFree");
    return sample->memory_total_kb ? 0 : -1;
}

//  /proc/diskstats: each disk but loop and ram devices; sectors are 512 bytes.
static void
s_parse_diskstats (const char *text, monitor_sample_t *sample)
{
    sample->disk_count = 0;
    for (const char *line = text; *line && sample->disk_count < MONITOR_DISK_MAX;) {
        char name[64];
        unsigned long long reads, read_sectors, writes, write_sectors, skip;
        if (sscanf (line, "%*u %*u %63s %llu %llu %llu %llu %llu %llu %llu", name, &reads, &skip,
                    &read_sectors, &skip, &writes, &skip, &write_sectors)
                == 8
            && strncmp (name, "loop", 4) != 0 && strncmp (name, "ram", 3) != 0) {
            monitor_counters_t *disk = &sample->disks[sample->disk_count++];
            snprintf (disk->name, sizeof disk->name, "%s", name);
            disk->a = read_sectors * 512;
            disk->b = write_sectors * 512;
            disk->c = reads;
            disk->d = writes;
        }
        const char *end = strchr (line, '\n');
        line = end ? end + 1 : line + strlen (line);
    }
}

//  /proc/net/dev: two lines of headers, then "name: rx_bytes rx_packets ... tx_bytes
//  tx_packets ...".
static void
s_parse_netdev (const char *text, monitor_sample_t *sample)
{
    sample->net_count = 0;
    const char *line = text;
    for (int i = 0; i < 2 && line; i++)
        line = strchr (line, '\n') ? strchr (line, '\n') + 1 : NULL;
    while (line && *line && sample->net_count < MONITOR_NET_MAX) {
        const char *colon = strchr (line, ':');
        const char *end = strchr (line, '\n');
        if (colon && (!end || colon < end)) {
            while (*line == ' ')
                line++;
            unsigned long long rx, rx_packets, tx, tx_packets, skip;
            if (sscanf (colon + 1, "%llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &rx,
                        &rx_packets, &skip, &skip, &skip, &skip, &skip, &skip, &tx, &tx_packets)
                == 10) {
                monitor_counters_t *net = &sample->nets[sample->net_count++];
                snprintf (net->name, sizeof net->name, "%.*s", (int) (colon - line), line);
                net->a = rx;
                net->b = tx;
                net->c = rx_packets;
                net->d = tx_packets;
            }
        }
        line = end ? end + 1 : NULL;
    }
}

//  The filesystems on block devices in /proc/self/mounts, each mount point once, with
//  statvfs's figures.
static void
s_filesystems (monitor_source_t *self, monitor_sample_t *sample)
{
    sample->fs_count = 0;
    if (s_read (self, "/proc/self/mounts") != 0)
        return;
    char *rest = NULL;
    for (char *line = strtok_r (self->text, "\n", &rest); line && sample->fs_count < MONITOR_FS_MAX;
         line = strtok_r (NULL, "\n", &rest)) {
        char device[256], mount[256];
        if (sscanf (line, "%255s %255s", device, mount) != 2 || device[0] != '/')
            continue;
        bool seen = false;
        for (size_t i = 0; i < sample->fs_count && !seen; i++)
            seen = streq (sample->fs[i].name, mount);
        struct statvfs info;
        if (seen || strlen (mount) >= sizeof sample->fs[0].name || statvfs (mount, &info) != 0)
            continue;
        monitor_counters_t *fs = &sample->fs[sample->fs_count++];
        snprintf (fs->name, sizeof fs->name, "%.63s", mount); //  (shorter, as checked)
        fs->a = (uint64_t) info.f_blocks * info.f_frsize / 1024;
        fs->b = (uint64_t) info.f_bavail * info.f_frsize / 1024;
    }
}

static int
s_sample_proc (monitor_source_t *self, monitor_sample_t *sample)
{
    if (s_read (self, "/proc/stat") != 0 || s_parse_stat (self->text, self->hz, sample) != 0
        || s_read (self, "/proc/loadavg") != 0 || s_parse_loadavg (self->text, sample) != 0
        || s_read (self, "/proc/meminfo") != 0 || s_parse_meminfo (self->text, sample) != 0) {
        mk_warn ("monitor: /proc does not read as Linux writes it; no sample");
        return -1;
    }
    if (s_read (self, "/proc/diskstats") == 0)
        s_parse_diskstats (self->text, sample);
    if (s_read (self, "/proc/net/dev") == 0)
        s_parse_netdev (self->text, sample);
    s_filesystems (self, sample);
    return 0;
}

//  ---------------------------------------------------------------- synthetic

//  Counters that grow with the time since the source was made, at the set load.
static void
s_sample_synthetic (monitor_source_t *self, monitor_sample_t *sample)
{
    uint64_t elapsed = (uint64_t) (zclock_mono () - self->started) + 1;
    uint64_t all = elapsed * S_SYNTH_CPUS;
    uint64_t busy = all * self->cpu_pct / 100;
    sample->cpus = S_SYNTH_CPUS;
    sample->cpu_ms[0] = busy * 7 / 10;        //  user
    sample->cpu_ms[2] = busy - busy * 7 / 10; //  system
    sample->cpu_ms[3] = all - busy;           //  idle
    for (int i = 0; i < 3; i++)
        sample->load_x100[i] = S_SYNTH_CPUS * self->cpu_pct;
    sample->memory_total_kb = S_SYNTH_MEMORY_KB;
    sample->memory_available_kb = S_SYNTH_MEMORY_KB * (100 - self->mem_pct) / 100;
    sample->swap_total_kb = S_SYNTH_MEMORY_KB / 4;
    sample->swap_free_kb = S_SYNTH_MEMORY_KB / 4;
    sample->fs_count = 1;
    sample->fs[0] = (monitor_counters_t){"/", 100ULL << 20, 60ULL << 20, 0, 0};
    //  Disk and network in proportion to the CPU load: 1 MB/s and 100 KB/s at 100%.
    uint64_t io = elapsed * self->cpu_pct;
    sample->disk_count = 1;
    sample->disks[0] = (monitor_counters_t){"vda", io * 10, io * 5, io / 40, io / 80};
    sample->net_count = 2;
    sample->nets[0] = (monitor_counters_t){"lo", io / 10, io / 10, io / 100, io / 100};
    sample->nets[1] = (monitor_counters_t){"eth0", io, io / 2, io / 15, io / 30};
}

//  Guest i's CPU time after elapsed ms: even guests busy at the host's share, odd ones
//  swinging 20 points about it over a period of their own (one to seven minutes), as a
//  real guest's load moves. The time is the integral of that share.
static uint64_t
s_synthetic_cpu_ms (unsigned cpu_pct, unsigned i, uint64_t elapsed)
{
    double base = cpu_pct / 100.0 * (double) elapsed;
    if (i % 2 == 0)
        return (uint64_t) (base * S_SYNTH_VM_VCPUS);
    double period = 60000.0 * (1 + i % 7), swing = 0.2 * period / (2 * M_PI);
    double wave = swing * (1 - cos (2 * M_PI * (double) elapsed / period));
    return (uint64_t) ((base + wave) * S_SYNTH_VM_VCPUS);
}

monitor_vms_t *
monitor_source_guests (monitor_source_t *self)
{
    if (!self->synthetic)
        return NULL;
    monitor_vms_t *vms = (monitor_vms_t *) zmalloc (sizeof (monitor_vms_t));
    vms->time_ms = zclock_time ();
    vms->count = self->vms;
    vms->vms = (monitor_vm_t *) calloc (self->vms ? self->vms : 1, sizeof (monitor_vm_t));
    assert (vms->vms);
    uint64_t elapsed = (uint64_t) (zclock_mono () - self->started) + 1;
    //  Each guest's UUID from the host's name and its number, the same at every start.
    unsigned char digest[crypto_generichash_BYTES_MIN];
    crypto_generichash (digest, sizeof digest, (const unsigned char *) self->host,
                        strlen (self->host), NULL, 0);
    for (unsigned i = 0; i < self->vms; i++) {
        monitor_vm_t *vm = &vms->vms[i];
        memcpy (vm->uuid, digest, 16);
        vm->uuid[6] = (uint8_t) (0x40 | (vm->uuid[6] & 0x0f)); //  version 4: made up
        vm->uuid[8] = (uint8_t) (0x80 | (vm->uuid[8] & 0x3f));
        vm->uuid[14] = (uint8_t) (i >> 8);
        vm->uuid[15] = (uint8_t) i;
        vm->state = 1; //  running
        vm->vcpus = S_SYNTH_VM_VCPUS;
        vm->cpu_ms = s_synthetic_cpu_ms (self->cpu_pct, i, elapsed);
        vm->memory_kb = S_SYNTH_VM_MEMORY_KB;
        vm->rss_kb = S_SYNTH_VM_MEMORY_KB * self->mem_pct / 100;
        //  Steady I/O, a different rate for each guest: (1 + i % 5) * 10 kB/s received.
        uint64_t io = elapsed * (1 + i % 5) * 10;
        vm->disk_read_bytes = io / 2;
        vm->disk_write_bytes = io;
        vm->net_rx_bytes = io;
        vm->net_tx_bytes = io / 4;
        vm->net_rx_packets = io / 1000;
        vm->net_tx_packets = io / 4000;
    }
    return vms;
}

int
monitor_source_sample (monitor_source_t *self, monitor_sample_t *sample)
{
    assert (self && sample);
    memset (sample, 0, sizeof *sample);
    if (self->synthetic) {
        s_sample_synthetic (self, sample);
        return 0;
    }
    return s_sample_proc (self, sample);
}

//  ---------------------------------------------------------------- self-test

//  Samples of the parsers from a Linux of our time, and the edges they must survive.
static void
s_test_parsers (void)
{
    monitor_sample_t sample;
    memset (&sample, 0, sizeof sample);
    const char *stat = "cpu  100 2 30 400 5 6 7 8 0 0\ncpu0 50 1 15 200 2 3 3 4 0 0\n"
                       "cpu1 50 1 15 200 3 3 4 4 0 0\nintr 1 2 3\n";
    assert (s_parse_stat (stat, 100, &sample) == 0);
    assert (sample.cpus == 2 && sample.cpu_ms[0] == 1000 && sample.cpu_ms[3] == 4000);
    assert (sample.cpu_ms[7] == 80);
    assert (s_parse_stat ("intr 1 2\n", 100, &sample) == -1);
    assert (s_parse_stat ("cpu  1 2 3 4\n", 100, &sample) == -1); //  no cpuN line
    assert (s_parse_loadavg ("0.83 1.39 12.25 2/300 4242\n", &sample) == 0);
    assert (sample.load_x100[0] == 83 && sample.load_x100[2] == 1225);
    assert (s_parse_loadavg ("garbage", &sample) == -1);
    const char *meminfo = "MemTotal:       24572380 kB\nMemFree:  1 kB\n"
                          "MemAvailable:   20000000 kB\nSwapTotal:  0 kB\nSwapFree: 0 kB\n";
    assert (s_parse_meminfo (meminfo, &sample) == 0);
    assert (sample.memory_total_kb == 24572380 && sample.memory_available_kb == 20000000);
    assert (s_parse_meminfo ("nothing here\n", &sample) == -1);
    const char *diskstats = "   7       0 loop0 1 0 2 0 0 0 0 0 0 0 0\n"
                            " 254       0 vda 10 0 20 5 30 0 40 7 0 9 12 0 0 0 0\n"
                            " 254       1 vda1 short\n";
    s_parse_diskstats (diskstats, &sample);
    assert (sample.disk_count == 1 && streq (sample.disks[0].name, "vda"));
    assert (sample.disks[0].a == 20 * 512 && sample.disks[0].b == 40 * 512);
    assert (sample.disks[0].c == 10 && sample.disks[0].d == 30);
    const char *netdev = "Inter-|   Receive\n face |bytes packets\n"
                         "    lo: 100 2 0 0 0 0 0 0 100 2 0 0 0 0 0 0\n"
                         "  eth0: 5000 40 0 0 0 0 0 0 3000 30 0 0 0 0 0 0\n"
                         "  bad: 1 2\n";
    s_parse_netdev (netdev, &sample);
    assert (sample.net_count == 2 && streq (sample.nets[1].name, "eth0"));
    assert (sample.nets[1].a == 5000 && sample.nets[1].b == 3000 && sample.nets[1].d == 30);
    s_parse_netdev ("", &sample);
    assert (sample.net_count == 0);
}

void
monitor_source_test (bool verbose)
{
    s_test_parsers ();
    char *error = NULL;
    //  This machine's /proc: some CPU time, memory, an interface (lo at least), "/".
    monitor_source_t *proc = monitor_source_new ("h", "proc", &error);
    assert (proc && !error);
    monitor_sample_t sample;
    assert (monitor_source_sample (proc, &sample) == 0);
    if (verbose)
        printf (" * proc: %u CPUs, %" PRIu64 " of %" PRIu64 " kB available, %zu fs, %zu disks, "
                "%zu interfaces\n",
                sample.cpus, sample.memory_available_kb, sample.memory_total_kb, sample.fs_count,
                sample.disk_count, sample.net_count);
    assert (sample.cpus >= 1 && sample.cpu_ms[0] + sample.cpu_ms[2] + sample.cpu_ms[3] > 0);
    assert (sample.memory_total_kb > 0 && sample.memory_available_kb <= sample.memory_total_kb);
    bool lo = false;
    for (size_t i = 0; i < sample.net_count; i++)
        lo = lo || streq (sample.nets[i].name, "lo");
    assert (lo);
    monitor_source_destroy (&proc);

    //  A synthetic host at 25% CPU and 50% memory: its figures say so.
    monitor_source_t *synth = monitor_source_new ("h", "synthetic:25:50", &error);
    assert (synth && !error && streq (monitor_source_name (synth), "synthetic:25:50"));
    zclock_sleep (20);
    assert (monitor_source_sample (synth, &sample) == 0);
    uint64_t busy = sample.cpu_ms[0] + sample.cpu_ms[2];
    uint64_t all = busy + sample.cpu_ms[3];
    assert (all > 0 && busy * 100 / all == 25);
    assert (sample.memory_available_kb * 2 == sample.memory_total_kb);
    assert (sample.load_x100[0] == 200);
    monitor_vms_t *vms = monitor_source_guests (synth);
    assert (vms && vms->count == 0);
    monitor_vms_destroy (&vms);
    monitor_source_destroy (&synth);
    monitor_source_t *proc_again = monitor_source_new ("h", "proc", &error);
    assert (monitor_source_guests (proc_again) == NULL); //  those come from libvirt
    monitor_source_destroy (&proc_again);

    //  With guests: each its own UUID, the same for the same host; running; CPU time
    //  that grows at about the host's share (the odd ones swing about it).
    synth = monitor_source_new ("h", "synthetic:50:25:300", &error);
    monitor_source_t *twin = monitor_source_new ("h", "synthetic:50:25:300", &error);
    monitor_source_t *other = monitor_source_new ("h2", "synthetic:50:25:300", &error);
    zclock_sleep (100);
    vms = monitor_source_guests (synth);
    monitor_vms_t *same = monitor_source_guests (twin), *not_same = monitor_source_guests (other);
    assert (vms->count == 300 && vms->time_ms > 0);
    for (size_t i = 0; i < vms->count; i++) {
        monitor_vm_t *vm = &vms->vms[i];
        assert (memcmp (vm->uuid, same->vms[i].uuid, 16) == 0);
        assert (memcmp (vm->uuid, not_same->vms[i].uuid, 16) != 0);
        for (size_t j = 0; j < i; j++)
            assert (memcmp (vm->uuid, vms->vms[j].uuid, 16) != 0);
        assert (vm->state == 1 && vm->vcpus == 2 && vm->rss_kb * 4 == vm->memory_kb);
        assert (vm->cpu_ms >= 90 && vm->cpu_ms <= 300); //  ~100 ms at 50% of 2 vCPUs
        assert (vm->net_rx_bytes > 0 && vm->disk_write_bytes > vm->disk_read_bytes);
    }
    monitor_vms_destroy (&vms);
    monitor_vms_destroy (&same);
    monitor_vms_destroy (&not_same);
    monitor_source_destroy (&synth);
    monitor_source_destroy (&twin);
    monitor_source_destroy (&other);

    //  Descriptions that are not one: refused with what to write.
    const char *bad[] = {"",
                         "procs",
                         "synthetic:",
                         "synthetic:101:0",
                         "synthetic:5",
                         "synthetic:5,5",
                         "synthetic:5:5:",
                         "synthetic:5:5:x",
                         "synthetic:5:5:5:5",
                         "synthetic:5:5:5000000",
                         "synthetic:5:5:-1",
                         "synthetic:-1:5"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert (monitor_source_new ("h", bad[i], &error) == NULL);
        assert (error && (strstr (error, "synthetic:CPU:MEMORY[:VMS]")));
        zstr_free (&error);
    }
}

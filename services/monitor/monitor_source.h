/*  monitor_source: where a host's samples come from. "proc" reads this machine's /proc
    and statvfs (no shell-outs). Simulated hosts share one /proc (network namespaces do
    too), so a host may instead name "synthetic:CPU:MEMORY": a generator of the figures
    of an 8-CPU, 16 GiB host whose CPUs are CPU percent busy and whose memory is MEMORY
    percent used, its counters moving with time as a real host's do, and
    "synthetic:CPU:MEMORY:VMS" gives it VMS guests with figures of their own (the test
    driver's domains have none). It stands in for /proc and a hypervisor's statistics
    as libvirt's test driver stands in for a hypervisor: the sample says which source
    made it. */
#ifndef MONITOR_SOURCE_H_INCLUDED
#define MONITOR_SOURCE_H_INCLUDED

#include "maekin.h"

#include "monitor_guests.h"

//  At most this many of each are sampled (the first found).
#define MONITOR_FS_MAX   32
#define MONITOR_DISK_MAX 32
#define MONITOR_NET_MAX  32

typedef struct {
    char name[64];
    uint64_t a, b, c, d; //  see monitor_sample_t: which counters, by list
} monitor_counters_t;

//  One sample of a host, as the source read it.
typedef struct {
    uint32_t cpus;
    uint64_t cpu_ms[8]; //  user, nice, system, idle, iowait, irq, softirq, steal
    uint32_t load_x100[3];
    uint64_t memory_total_kb, memory_available_kb, swap_total_kb, swap_free_kb;
    size_t fs_count;
    monitor_counters_t fs[MONITOR_FS_MAX]; //  mount; a total_kb, b free_kb
    size_t disk_count;
    monitor_counters_t disks[MONITOR_DISK_MAX]; //  a read, b written bytes; c reads, d writes
    size_t net_count;
    monitor_counters_t nets[MONITOR_NET_MAX]; //  a rx, b tx bytes; c rx, d tx packets
} monitor_sample_t;

typedef struct _monitor_source_t monitor_source_t;

//  At most this many synthetic guests a host.
#define MONITOR_SYNTH_VMS_MAX 4096

//  The source of host's samples by its description ("proc", or "synthetic:CPU:MEMORY" or
//  "synthetic:CPU:MEMORY:VMS", percentages 0..100 and a number of guests). NULL and
//  *error (a new string) if the description is not one.
monitor_source_t *monitor_source_new (const char *host, const char *description, char **error);
void monitor_source_destroy (monitor_source_t **self_p);

//  The description it was made from.
const char *monitor_source_name (monitor_source_t *self);

//  Take a sample now: 0, or -1 (logged) if the source could not be read.
int monitor_source_sample (monitor_source_t *self, monitor_sample_t *sample);

//  A synthetic host's guests now (the caller's), or NULL for /proc, whose guests come
//  from libvirt (monitor_guests). Each has a made-up UUID (version 4) from the host's
//  name and its number, the same at every start, and figures that move with time.
monitor_vms_t *monitor_source_guests (monitor_source_t *self);

void monitor_source_test (bool verbose);

#endif

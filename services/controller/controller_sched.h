/*  controller_sched: the hosts as the controller sees them, and placement. Capacities and
    use are kept in memory and rebuilt from the database at start; placement is first fit
    by free vCPU and memory over the hosts that are up, in name order. */
#ifndef CONTROLLER_SCHED_H_INCLUDED
#define CONTROLLER_SCHED_H_INCLUDED

#include "maekin.h"

typedef struct {
    char name[64];           //  the host's name (its agent serves node/<name>)
    char uri[256];           //  the libvirt URI its agent drives
    char agent[64];          //  its agent process's service (agent/<id>), for task batches;
                             //  "" if unknown or the agent takes none
    bool up;                 //  its agent reported within the host timeout
    bool unknown;            //  up in the database when this controller started, not heard
                             //  from since: neither up nor down until its agent reports
    bool unsaved;            //  up in memory only: its agent came back while the database
                             //  took no writes; its next report once it does records it
    uint32_t vcpus;          //  physical CPUs
    uint64_t memory_mb;      //  physical memory
    uint32_t vcpus_used;     //  vCPUs of the VMs placed on it
    uint64_t memory_mb_used; //  memory of the VMs placed on it
    uint32_t vm_count;       //  VMs placed on it
    int64_t last_seen;       //  unix seconds of its last report
    int64_t last_seen_mono;  //  the same, monotonic ms, for the timeout
    bool gone;               //  the broker said its agent left the bus: down at the next tick
    char gone_why[64];       //  ... and why (the broker's words)
    int64_t retries_told;    //  mono ms the log last said its tasks are retried
    uint64_t retries_untold; //  tasks retried since, not yet in the log
    //  Measured by the host's monitor (controller_sched_measure); 0 before a sample.
    int64_t sampled;         //  unix ms of its latest sample
    int64_t sampled_mono;    //  mono ms that sample arrived: an old one measures nothing
    uint32_t cpu_busy_pct;   //  CPU busy between its last two samples
    uint64_t memory_used_mb; //  memory in use
    uint64_t memory_seen_mb; //  memory the host has, as measured
    uint32_t load1_x100;     //  load average over a minute, times 100
    uint64_t cpu_busy_ms;    //  the latest sample's CPU counters (all CPUs), for the next
    uint64_t cpu_all_ms;
} sched_host_t;

//  Placement by measured load: a host whose latest sample (no older than this) shows its
//  CPUs at least this busy, or less memory available than a VM asks, is chosen only when
//  no other host with room is free of both.
#define SCHED_BUSY_PCT_DEFAULT 85
#define SCHED_SAMPLE_FRESH_MS  30000

typedef struct _controller_sched_t controller_sched_t;

//  cpu_ratio and mem_ratio are overcommit percentages (400: four vCPUs per CPU).
controller_sched_t *controller_sched_new (int cpu_ratio, int mem_ratio);
void controller_sched_destroy (controller_sched_t **self_p);
void controller_sched_clear (controller_sched_t *self);

sched_host_t *controller_sched_host (controller_sched_t *self, const char *name);
//  The host by name, created (down, empty) if new.
sched_host_t *controller_sched_require (controller_sched_t *self, const char *name);
//  A host forgotten (host remove); nothing if it is not known.
void controller_sched_remove (controller_sched_t *self, const char *name);
//  Count a VM in (+1) or out (-1) of a host's use.
void controller_sched_account (controller_sched_t *self, sched_host_t *host, uint32_t vcpus,
                               uint64_t memory_mb, int sign);
//  A host's sample: CPU time busy and in all (ms, all CPUs, since boot), memory used and
//  in all (MiB), the load (times 100), when it was taken (unix ms). CPU busy is the
//  share between this sample and the one before (none for the first, or after a reboot).
void controller_sched_measure (controller_sched_t *self, sched_host_t *host, uint64_t busy_ms,
                               uint64_t all_ms, uint64_t memory_used_mb, uint64_t memory_mb,
                               uint32_t load1_x100, int64_t sampled);
//  The CPU percentage from which a host counts as busy (SCHED_BUSY_PCT_DEFAULT).
void controller_sched_set_busy (controller_sched_t *self, int busy_pct);

//  The host for a new VM: `want` if given (NULL with *reason if it is unknown, down or
//  full), else the first up host in name order with room that its measured load does not
//  make busy, else the first with room. NULL and *reason if none.
sched_host_t *controller_sched_place (controller_sched_t *self, uint32_t vcpus, uint64_t memory_mb,
                                      const char *want, const char **reason);
//  Hosts in name order: index 0..count-1.
size_t controller_sched_count (controller_sched_t *self);
sched_host_t *controller_sched_at (controller_sched_t *self, size_t index);

//  The host's state as clients see it: "up", "down" or "unknown".
const char *controller_sched_state (const sched_host_t *host);

void controller_sched_test (bool verbose);

#endif

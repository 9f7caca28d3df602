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
    int64_t retries_told;    //  mono ms the log last said its tasks are retried
    uint64_t retries_untold; //  tasks retried since, not yet in the log
} sched_host_t;

typedef struct _controller_sched_t controller_sched_t;

//  cpu_ratio and mem_ratio are overcommit percentages (400: four vCPUs per CPU).
controller_sched_t *controller_sched_new (int cpu_ratio, int mem_ratio);
void controller_sched_destroy (controller_sched_t **self_p);
void controller_sched_clear (controller_sched_t *self);

sched_host_t *controller_sched_host (controller_sched_t *self, const char *name);
//  The host by name, created (down, empty) if new.
sched_host_t *controller_sched_require (controller_sched_t *self, const char *name);
//  Count a VM in (+1) or out (-1) of a host's use.
void controller_sched_account (controller_sched_t *self, sched_host_t *host, uint32_t vcpus,
                               uint64_t memory_mb, int sign);
//  The host for a new VM: `want` if given (NULL with *reason if it is unknown, down or
//  full), else the first up host in name order with room. NULL and *reason if none.
sched_host_t *controller_sched_place (controller_sched_t *self, uint32_t vcpus, uint64_t memory_mb,
                                      const char *want, const char **reason);
//  Hosts in name order: index 0..count-1.
size_t controller_sched_count (controller_sched_t *self);
sched_host_t *controller_sched_at (controller_sched_t *self, size_t index);

//  The host's state as clients see it: "up", "down" or "unknown".
const char *controller_sched_state (const sched_host_t *host);

void controller_sched_test (bool verbose);

#endif

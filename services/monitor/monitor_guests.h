/*  monitor_guests: the guests' samples of a host, from its hypervisor. One bulk libvirt
    call an interval, virConnectGetAllDomainStats with the no-wait flag (a guest busy in
    a job is skipped, not waited for), on a thread of its own: the actor asks, and takes
    the result when it comes. A libvirt that hangs (its daemon stopped) holds only that
    thread; the actor's host samples go on, and it asks again once the call returns.

    Simulated hosts have no hypervisor whose guests have figures (libvirt's test driver
    answers only their state), so monitor_source makes synthetic guests for them into
    the same monitor_vms_t (monitor_source.h). */
#ifndef MONITOR_GUESTS_H_INCLUDED
#define MONITOR_GUESTS_H_INCLUDED

#include "maekin.h"

#include <libvirt/libvirt.h>

//  One guest's values: counters since it started (VmSample in proto/maekin.proto).
typedef struct {
    uint8_t uuid[16];
    uint32_t state, vcpus;
    uint64_t cpu_ms, memory_kb, rss_kb;
    uint64_t disk_read_bytes, disk_write_bytes;
    uint64_t net_rx_bytes, net_tx_bytes, net_rx_packets, net_tx_packets;
} monitor_vm_t;

//  A host's guests at one moment.
typedef struct {
    int64_t time_ms; //  unix ms they were taken
    size_t count;
    monitor_vm_t *vms; //  count of them (malloc'd)
} monitor_vms_t;

void monitor_vms_destroy (monitor_vms_t **self_p);

typedef struct _monitor_guests_t monitor_guests_t;

//  A guest sampler for the hypervisor at uri; it connects on its first call, and again
//  after a failure (said in the log once a minute at most).
monitor_guests_t *monitor_guests_new (const char *uri);

//  Stop it. A call still out after half a second is taken as hung and left to its
//  thread, which frees what it has when the call returns: destroy never waits longer
//  for a hung libvirt.
void monitor_guests_destroy (monitor_guests_t **self_p);

//  Ask for a sample: true, or false if the one asked before has not come back yet.
bool monitor_guests_ask (monitor_guests_t *self);

//  A file descriptor readable when a sample has come back (for the actor's zloop).
int monitor_guests_fd (monitor_guests_t *self);

//  The sample that came back (the caller's), or NULL if none did or the call failed.
monitor_vms_t *monitor_guests_take (monitor_guests_t *self);

//  The guests in libvirt's records, for whoever reads them: fills out (count and vms).
void monitor_guests_parse (virDomainStatsRecordPtr *records, int count, monitor_vms_t *out);

void monitor_guests_test (bool verbose);

#endif

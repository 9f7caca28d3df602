/*  monitor_encode: a host's samples as the messages the monitor publishes, made small
    (proto/BUS.md, "Metrics"). One message a host an interval, its VMs in it: a VM's
    values are its rates over the last interval and its memory, and a VM whose values
    moved less than the thresholds since they were last sent is left out, except in a
    full message, which names every VM and comes every full_every messages. A VM gone
    since the last message is named once, as gone. The host's own values are in every
    message: they are a few hundred bytes, where 50 VMs are a few thousand. */
#ifndef MONITOR_ENCODE_H_INCLUDED
#define MONITOR_ENCODE_H_INCLUDED

#include "maekin.h"

#include "monitor_guests.h"
#include "monitor_source.h"

//  What was published so far, for the log and the benchmark.
typedef struct {
    uint64_t messages, bytes; //  messages and their bytes on the wire (topic included)
    uint64_t full;            //  full messages among them
    uint64_t vms_sent;        //  VM entries sent (gone ones included)
    uint64_t vms_left_out;    //  VM entries left out as unchanged
    uint64_t values;          //  metric values the messages deliver: every number that
                              //  measures something (not times, flags or names), those
                              //  of the VMs left out as unchanged included
    uint64_t per_vm_bytes;    //  what the same values would have cost as a host message
                              //  and one message per VM (measured only when asked)
} monitor_encode_stats_t;

typedef struct _monitor_encoder_t monitor_encoder_t;

//  The encoder of one host's messages; full_every >= 1 (1: every message full).
monitor_encoder_t *monitor_encoder_new (const char *host, const char *source, int interval_ms,
                                        unsigned full_every);
void monitor_encoder_destroy (monitor_encoder_t **self_p);

//  The message (topic and Envelope frames) for the host's sample taken at time_ms and
//  its guests' (vms NULL: none came this time, so none is sent and no full message is
//  made until they do). Adds to stats; with compare, also measures per_vm_bytes.
zmsg_t *monitor_encoder_message (monitor_encoder_t *self, int64_t time_ms,
                                 const monitor_sample_t *sample, const monitor_vms_t *vms,
                                 monitor_encode_stats_t *stats, bool compare);

void monitor_encode_test (bool verbose);

#endif

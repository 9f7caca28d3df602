/*  monitor_view: the cluster as one monitor hears it (the paper's host information
    service): each host's latest sample, from the broker's stream or from the multicast
    group, and how it came. Any node's monitor answers for every host it hears, so the
    cluster can be seen from any node with the broker down. */
#ifndef MONITOR_VIEW_H_INCLUDED
#define MONITOR_VIEW_H_INCLUDED

#include "maekin.h"

//  Hosts a view holds at most: a new one beyond is not taken.
#define MONITOR_VIEW_MAX 10000

typedef struct _monitor_view_t monitor_view_t;

monitor_view_t *monitor_view_new (void);
void monitor_view_destroy (monitor_view_t **self_p);

//  A sample heard at now_ms, via "stream" or "multicast" (a static string). A sample no
//  newer than the one held (the same one by the other way) changes nothing: false.
bool monitor_view_take (monitor_view_t *self, const Maekin__HostSample *sample, const char *via,
                        int64_t now_ms);

//  The hosts as a host list (sorted by name; strings borrowed from the view, valid until
//  its next change; free the array with free ()): a host is "up" when heard within three
//  of its intervals (at least 3 s), else "silent".
Maekin__Host **monitor_view_hosts (monitor_view_t *self, int64_t now_ms, size_t *count);

size_t monitor_view_size (monitor_view_t *self);

void monitor_view_test (bool verbose);

#endif

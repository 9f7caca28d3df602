/*  monitor_server: maekin-monitor's actor. Every interval it takes a sample of each host
    it serves (monitor_source) and publishes it on the broker's stream as
    "metric.host.<host>": an Envelope holding a HostSample (proto/BUS.md, "Metrics").
    Nothing in it calls libvirt, so a hung hypervisor never stops a host's samples. */
#ifndef MONITOR_SERVER_H_INCLUDED
#define MONITOR_SERVER_H_INCLUDED

#include "maekin.h"

//  One host: its name (as the agent serves node/<name>) and its source's description.
typedef struct {
    const char *name;
    const char *source;
} monitor_host_t;

typedef struct {
    const char *stream_in;       //  the broker's publishers' endpoint
    const monitor_host_t *hosts; //  the hosts to sample
    size_t host_count;           //  1 .. MONITOR_HOSTS_MAX
    int interval_ms;             //  MONITOR_INTERVAL_MIN_MS .. MONITOR_INTERVAL_MAX_MS
} monitor_opts_t;

#define MONITOR_HOSTS_MAX       4096
#define MONITOR_INTERVAL_MIN_MS 10
#define MONITOR_INTERVAL_MAX_MS 3600000

//  Check the options: NULL, or why not (a new string).
char *monitor_opts_check (const monitor_opts_t *opts);

//  Parse "name=source,name=source": an array of count hosts whose strings point into a
//  copy kept with it (free the array with free ()), or NULL and *error (a new string).
monitor_host_t *monitor_hosts_parse (const char *text, size_t *count, char **error);

//  Start the actor; NULL (logged) if the options are bad or a source cannot be made.
//  Its pipe answers "STATS" with one frame: "PUBLISHED FAILED", the samples published and
//  those a source could not take, so far.
zactor_t *monitor_server_new (const monitor_opts_t *opts);

void monitor_server_test (bool verbose);

#endif

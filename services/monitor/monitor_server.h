/*  monitor_server: maekin-monitor's actor. Every interval it takes a sample of each host
    it serves (monitor_source) and of its guests (monitor_guests, or the synthetic
    source's), and publishes it on the broker's stream as "metric.host.<host>": an
    Envelope holding a HostSample (monitor_encode; proto/BUS.md, "Metrics"). libvirt is
    called on the guests' threads only, so a hung hypervisor never stops a host's
    samples: its message goes out without guests' values until the call returns. */
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
    int full_every;              //  a full message every this many (1 .. MONITOR_FULL_EVERY_MAX)
    const char *guests_uri;      //  libvirt of the host sampled from /proc; NULL or "": none
    bool compare;                //  also measure what one message per VM would cost
} monitor_opts_t;

#define MONITOR_HOSTS_MAX       4096
#define MONITOR_INTERVAL_MIN_MS 10
#define MONITOR_INTERVAL_MAX_MS 3600000
#define MONITOR_FULL_EVERY_MAX  10000

//  Check the options: NULL, or why not (a new string).
char *monitor_opts_check (const monitor_opts_t *opts);

//  Parse "name=source,name=source": an array of count hosts whose strings point into a
//  copy kept with it (free the array with free ()), or NULL and *error (a new string).
monitor_host_t *monitor_hosts_parse (const char *text, size_t *count, char **error);

//  Start the actor; NULL (logged) if the options are bad or a source cannot be made.
//  Its pipe answers "STATS" with one frame: "PUBLISHED FAILED LATE", the samples
//  published, those a source could not take, and the intervals at which a libvirt call
//  for the guests' values was still out, so far.
zactor_t *monitor_server_new (const monitor_opts_t *opts);

void monitor_server_test (bool verbose);

#endif

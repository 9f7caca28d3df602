/*  monitor_server: maekin-monitor's actor. Every interval it takes a sample of each host
    it serves (monitor_source) and of its guests (monitor_guests, or the synthetic
    source's), and publishes it on the broker's stream as "metric.host.<host>": an
    Envelope holding a HostSample (monitor_encode; proto/BUS.md, "Metrics"). libvirt is
    called on the guests' threads only, so a hung hypervisor never stops a host's
    samples: its message goes out without guests' values until the call returns. */
#ifndef MONITOR_SERVER_H_INCLUDED
#define MONITOR_SERVER_H_INCLUDED

#include "maekin.h"

#include "monitor_mcast.h"

//  When the monitor sends its messages to the multicast group.
typedef enum {
    MONITOR_MCAST_OFF,      //  never: the broker's stream only
    MONITOR_MCAST_FALLBACK, //  while the broker's stream does not bring its own back
    MONITOR_MCAST_ONLY      //  always, and never to the broker (the paper's mode)
} monitor_mcast_mode_t;

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
    const char *info_endpoint;   //  where the view is answered (host info); NULL or "": not
    monitor_mcast_mode_t mcast_mode;
    monitor_mcast_opts_t mcast; //  the group, when mcast_mode is not off
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
//  Its pipe answers "STATS" with one frame: "PUBLISHED FAILED LATE AWAY", the samples
//  published, those a source could not take, the intervals at which a libvirt call
//  for the guests' values was still out, so far, and 1 if the broker is taken to be
//  away (0 if not).
//
//  The view (monitor_view) holds its own hosts' samples and every host heard on the
//  group; the info endpoint (a ROUTER) answers an Envelope asking host_list with a
//  host_list_reply of it. The broker is away from the first sample after the connection
//  to its stream has been down for an interval (at least a second): closed by the
//  broker, or ended by the kernel when our samples go unacknowledged for two intervals
//  (ZMQ_TCP_MAXRT) or its keepalive probes are not answered. In fallback mode the
//  messages then go to the group too, until the connection is back.
zactor_t *monitor_server_new (const monitor_opts_t *opts);

void monitor_server_test (bool verbose);

#endif

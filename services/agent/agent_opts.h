/*  agent_opts: the agent's settings as main() gives them to the actor, and their checks:
    the hosts setting ("name=uri,...") parsed, and every value judged before the actor
    starts, so that a bad configuration is one clear line and exit status 2. */
#ifndef AGENT_OPTS_H_INCLUDED
#define AGENT_OPTS_H_INCLUDED

#include "maekin.h"
#include "mk_hosts.h"
#include "mk_wire.h"

//  The longest report period, graceful stop and libvirt deadline the options take.
#define AGENT_REPORT_MS_MAX  3600000
#define AGENT_STOP_S_MAX     86400
#define AGENT_LIBVIRT_MS_MIN 100
#define AGENT_LIBVIRT_MS_MAX 3600000

//  The default report period: a light report (a host's domains unchanged) is a backstop,
//  not the liveness signal; the bus's heartbeats find a dead node within 3 s.
#define AGENT_REPORT_MS 10000
//  How often a lost libvirt connection is tried again (the report period if shorter).
#define AGENT_CHECK_MS 2000
//  A libvirt call that has not answered after this long fails its task (the default).
#define AGENT_LIBVIRT_MS_DEFAULT 30000

//  Hosts one agent drives: each is a service in the worker's READY, and so is the
//  agent's own (agent/<id>, for task batches).
#define AGENT_HOSTS_MAX (MK_WIRE_SERVICES_MAX - 1)

//  One host the agent drives: served as node/<name>; its value, its libvirt URI
//  (qemu:///system).
typedef mk_host_pair_t agent_opts_host_t;

typedef struct {
    const char *endpoint;           //  the broker's request endpoint
    const agent_opts_host_t *hosts; //  the hosts, 1..AGENT_HOSTS_MAX
    size_t host_count;
    const char *domain_type; //  kvm (NULL or ""), qemu or test: see agent_domxml
    const char *console_dir; //  NULL/"" for a pty console, else a directory for logs
    int report_ms;           //  period of the light reports to `cloud`
    int stop_timeout_ms;     //  a graceful stop is forced after this long
    int libvirt_timeout_ms;  //  a libvirt call's deadline; 0 for the default
    int heartbeat_ms;        //  bus heartbeat interval; 0 for the default
} agent_opts_t;

//  Parse the hosts setting, "name=uri,name=uri". Returns one block (hosts and their
//  strings; release it with free) and *count, or NULL with *error (malloc'd, one line
//  saying which pair is wrong and why).
agent_opts_host_t *agent_opts_hosts_parse (const char *text, size_t *count, char **error);

//  Check the options main() builds: NULL if they are fine, else a new string saying
//  what is wrong (an unknown domain type, a relative console directory, ...).
char *agent_opts_check (const agent_opts_t *opts);

//  Self-test: good and bad hosts settings and options.
void agent_opts_test (bool verbose);

#endif

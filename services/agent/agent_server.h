/*  agent_server: the agent's actor, the "local controller" of the paper. Serves
    node/<host> on the bus for every host it drives, runs the tasks the controller
    dispatches there through libvirt, idempotently by task id, reports each host to the
    service `cloud` (in full at start and when asked, lightly every report period), and
    forwards the libvirt lifecycle events its own tasks did not cause. It never waits
    for the controller: requests to `cloud` go out and their replies are handled when
    they come. */
#ifndef AGENT_SERVER_H_INCLUDED
#define AGENT_SERVER_H_INCLUDED

#include "maekin.h"
#include "mk_wire.h"

//  The results of this many finished tasks are remembered to answer a repeated task.
#define AGENT_SERVER_RESULTS 65536

//  The longest report period and graceful stop the options take.
#define AGENT_REPORT_MS_MAX 3600000
#define AGENT_STOP_S_MAX    86400

//  Hosts one agent drives: each is a service in the worker's READY, and so is the
//  agent's own (agent/<id>, for task batches).
#define AGENT_HOSTS_MAX (MK_WIRE_SERVICES_MAX - 1)

//  One host the agent drives.
typedef struct {
    const char *name; //  served as node/<name>; a valid mk_name, <= 58 bytes
    const char *uri;  //  its libvirt URI, e.g. qemu:///system
} agent_host_t;

typedef struct {
    const char *endpoint;      //  the broker's request endpoint
    const agent_host_t *hosts; //  the hosts, 1..AGENT_HOSTS_MAX
    size_t host_count;
    const char *domain_type; //  kvm (NULL or ""), qemu or test: see agent_domxml
    const char *console_dir; //  NULL/"" for a pty console, else a directory for logs
    int report_ms;           //  period of the light reports to `cloud`
    int stop_timeout_ms;     //  a graceful stop is forced after this long
    int heartbeat_ms;        //  bus heartbeat interval; 0 for the default
} agent_opts_t;

//  Start the actor: registers libvirt's event loop, opens every host's connection,
//  connects to the broker and sends the first full reports. NULL (the cause logged,
//  e.g. "cannot connect to libvirt at 'URI': ...") if a connection cannot be opened.
//  The options are copied; they need not outlive the call. Stop it with
//  zactor_destroy.
zactor_t *agent_server_new (const agent_opts_t *opts);
void agent_server_actor (zsock_t *pipe, void *args);

//  Parse the hosts setting, "name=uri,name=uri". Returns one block (hosts and their
//  strings; release it with free) and *count, or NULL with *error (malloc'd, one line
//  saying which pair is wrong and why).
agent_host_t *agent_server_hosts_parse (const char *text, size_t *count, char **error);

//  Check the options main() builds: NULL if they are fine, else a new string saying
//  what is wrong (an unknown domain type, a relative console directory, ...).
char *agent_server_opts_check (const agent_opts_t *opts);

void agent_server_test (bool verbose);

#endif

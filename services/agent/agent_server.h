/*  agent_server: the agent's actor, the "local controller" of the paper. Serves
    node/<host> on the bus for every host it drives, runs the tasks the controller
    dispatches there through libvirt, idempotently by task id, reports each host to the
    service `cloud` (in full at start and when asked, lightly every report period), and
    forwards the libvirt lifecycle events its own tasks did not cause. It never waits
    for the controller nor for libvirt: requests to `cloud` go out and their replies are
    handled when they come, and each host's libvirt calls run in a thread of their own
    (agent_host) with a deadline, so one hung libvirtd fails its own tasks only. */
#ifndef AGENT_SERVER_H_INCLUDED
#define AGENT_SERVER_H_INCLUDED

#include "maekin.h"
#include "mk_wire.h"

#include "agent_opts.h"

//  The results of this many finished tasks are remembered to answer a repeated task.
#define AGENT_SERVER_RESULTS 65536

//  Start the actor: registers libvirt's event loop, starts every host's thread (which
//  opens its connection), connects to the broker and asks for the first full reports.
//  NULL (the cause logged, e.g. "cannot connect to libvirt at 'URI': ...") if a
//  connection cannot be opened. The options are copied; they need not outlive the
//  call. Stop it with zactor_destroy.
zactor_t *agent_server_new (const agent_opts_t *opts);
void agent_server_actor (zsock_t *pipe, void *args);

void agent_server_test (bool verbose);

#endif

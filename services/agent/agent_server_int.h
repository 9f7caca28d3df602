/*  agent_server's private parts: the actor's state, shared by the files that make the
    actor (agent_server.c: the loop and the hand-off to the hosts' threads; agent_task.c:
    tasks, batches, graceful stops, remembered answers; agent_report.c: reports to
    `cloud`, drift, forwarded events). Not for anything outside the agent's actor. */
#ifndef AGENT_SERVER_INT_H_INCLUDED
#define AGENT_SERVER_INT_H_INCLUDED

#include "agent_server.h"

#include "agent_events.h"
#include "agent_host.h"
#include "agent_libvirt.h"
#include "mk_client.h"
#include "mk_msg.h"
#include "mk_str.h"
#include "mk_wire.h"
#include "mk_worker.h"

//  Jobs one host may have waiting for its libvirt thread; more are refused with 503.
#define AGENT_SERVER_QUEUE_MAX 4096

typedef struct _agent_task_t agent_task_t;

//  A work with a host's thread, as the actor follows it.
typedef struct {
    agent_work_t *work; //  the thread's until its last word
    size_t answered;    //  jobs whose results were handled (or failed as overdue)
    int64_t heard_at;   //  mono ms: handed over, or last heard of, or its turn began
    bool overdue;       //  its jobs failed by the deadline; the thread still has it
} agent_server_pending_t;

//  One host as the actor sees it: its thread, what `cloud` was told, its hand-off.
typedef struct {
    char *name;                            //  the host's name
    char *uri;                             //  its libvirt URI
    char service[MK_WIRE_SERVICE_MAX + 1]; //  node/<name>
    size_t index;                          //  its place in the server's hosts
    agent_host_t *thread;                  //  runs its libvirt calls
    zhashx_t *known;                       //  uuid -> state the controller was last told (char *)
    //  reports (agent_report.c)
    uint32_t vcpus;           //  CPUs, from libvirt's node info
    uint64_t memory_mb;       //  memory, from libvirt's node info
    uint64_t full_wanted;     //  counts reasons to send a full report
    uint64_t full_done;       //  the count a successful full report answered
    uint64_t full_sent_count; //  full_wanted when the unanswered full report left
    int64_t full_sent_at;     //  mono ms it left; 0 if none is unanswered
    bool full_ever;           //  a full report left once: light ones may follow
    bool report_queued;       //  a REPORT job is with the thread
    bool check_queued;        //  a CHECK job is with the thread
    bool unreachable;         //  said once that `cloud` cannot be reached
    bool disconnected;        //  libvirt's connection is lost; reconnecting
    char *drift;              //  the drift last logged, to log each once
    //  hand-off (agent_server.c)
    agent_work_t *filling; //  jobs gathered for the next hand-off
    zlistx_t *pending;     //  s_pending_t: works with the thread, oldest first
    size_t queued;         //  jobs handed over and not answered
    int64_t stuck_since;   //  mono ms the thread overran a deadline; 0 if it did not
} agent_server_host_t;

typedef struct {
    zsock_t *pipe;              //  the actor's pipe
    char *endpoint;             //  the broker's endpoint
    char *domain_type;          //  for new domains: kvm, qemu or test
    char *console_dir;          //  for new domains: where serial consoles write
    int report_ms;              //  period of the light reports
    int stop_timeout_ms;        //  graceful stop, then power off
    int libvirt_timeout_ms;     //  a libvirt call's deadline
    int heartbeat_ms;           //  bus heartbeat interval
    uint64_t readies;           //  the worker's READYs when we last looked
    int64_t next_report;        //  when the next light reports are due (mono ms)
    agent_server_host_t *hosts; //  the hosts served
    size_t host_count;          //  how many
    agent_events_t *events;     //  libvirt's event loop thread
    zsock_t *event_pull;        //  its events
    zsock_t *results;           //  PULL: every host's thread's words on its works
    char results_endpoint[64];  //  where it is bound
    mk_worker_t *worker;        //  serves node/<host> for every host, and agent/<id>
    char agent_service[MK_WIRE_SERVICE_MAX + 1]; //  agent/<id>: task batches
    mk_client_t *client;                         //  reports and events to `cloud`
    zloop_t *loop;                               //  the actor's loop
    agent_task_t *tasks;                         //  tasks in progress and remembered (agent_task.c)
    uint64_t seq;                                //  sequence of requests to `cloud`
} agent_server_t;

//  agent_server_int.c: hosts, the hand-off, helpers.
agent_server_host_t *agent_server_host_by_name (agent_server_t *self, const char *name);
//  A new job for a host's thread, handed over at the end of this turn of the loop.
agent_job_t *agent_server_job (agent_server_t *self, agent_server_host_t *host,
                               agent_job_kind_t kind, void *ref);
//  Hands every host's gathered jobs to its thread: each handler calls it at its end.
void agent_server_flush (agent_server_t *self);
//  Why a host takes no more jobs now (a new string), or NULL if it takes them.
char *agent_server_busy (agent_server_t *self, agent_server_host_t *host, size_t jobs);
//  True if the host's queue cannot take this many more jobs.
bool agent_server_full (agent_server_t *self, agent_server_host_t *host, size_t jobs);
//  A libvirt call's deadline, in seconds.
double agent_server_deadline_s (agent_server_t *self);
//  How often each host's libvirt connection is checked (and opened again if lost): the
//  report period, at most AGENT_CHECK_MS; the light reports go every report_ms.
int agent_server_check_ms (agent_server_t *self);
//  "libvirt on host 'X' did not answer within N s" (a new string).
char *agent_server_overdue (agent_server_t *self, agent_server_host_t *host);
//  What the controller now knows of a domain.
void agent_server_known_set (agent_server_host_t *host, const char *uuid, const char *state);
//  A UUID as the tables keep it: lower case, as libvirt writes it.
void agent_server_uuid_key (const char *uuid, char key[VIR_UUID_STRING_BUFLEN]);

//  agent_task.c: requests to node/<host> and agent/<id>, and their jobs' results.
agent_task_t *agent_task_new (void);
void agent_task_destroy (agent_task_t **self_p);
//  A request from the bus; takes the request's envelope when a job needs it.
void agent_task_request (agent_server_t *self, mk_request_t *request);
//  A TASK, STOP, STOP_CHECK or LIST job's result, or (overdue set) its deadline passed.
void agent_task_done (agent_server_t *self, agent_server_host_t *host, agent_job_t *job,
                      const char *overdue);
//  Polls graceful stops (a timer of its own while any runs).
int agent_task_stop_poll (zloop_t *loop, int timer_id, void *arg);
//  True if a graceful stop of this domain runs on the host.
bool agent_task_stopping (agent_server_t *self, agent_server_host_t *host, const char *uuid_key);
//  Graceful stops running.
size_t agent_task_stops (agent_task_t *self);

//  agent_report.c: reports to `cloud`, drift, libvirt's events forwarded.
//  Checks each idle host's connection, and sends the light reports when they are due
//  (at once if next_report is 0).
int agent_report_all (zloop_t *loop, int timer_id, void *arg);
//  A REPORT, STATE or CHECK job's result, or (overdue set) its deadline passed.
void agent_report_done (agent_server_t *self, agent_server_host_t *host, agent_job_t *job,
                        const char *overdue);
//  How the host's connection was at the end of a work.
void agent_report_link (agent_server_t *self, agent_server_host_t *host, const agent_work_t *work);
//  Answers from `cloud`.
int agent_report_replies (zloop_t *loop, zsock_t *reader, void *arg);
//  Events from libvirt's loop.
int agent_report_events (zloop_t *loop, zsock_t *reader, void *arg);

#endif

/*  agent_host: one host's libvirt work in a thread of its own.

    The thread owns the host's libvirt connection; nothing else touches it. The agent's
    actor hands it work (a batch of jobs, one message however many jobs) over the actor
    pipe; every host's thread says what it did on a PUSH socket to one PULL of the
    actor's (one socket to poll however many hosts). A libvirt call that hangs holds up
    this host only: the actor keeps heartbeating, reporting and serving the other
    hosts, and fails the jobs that overrun their deadline.

    A work passes whole between the threads: the actor fills it and sends it; from then
    the thread writes its jobs' results, and says how many are done (after a job that
    took 20 ms or more, at least every 20 ms, and once at the end); the actor reads a job's results
   only once the thread said it is done, and frees the work only after the thread's last word on it.
 */
#ifndef AGENT_HOST_H_INCLUDED
#define AGENT_HOST_H_INCLUDED

#include "maekin.h"

#include "agent_domxml.h"
#include "agent_events.h"
#include "agent_libvirt.h"

typedef struct _agent_host_t agent_host_t;

typedef enum {
    AGENT_JOB_TASK = 1,   //  run op on spec, then read the domain's state
    AGENT_JOB_STOP,       //  begin a graceful stop of a running domain
    AGENT_JOB_STOP_CHECK, //  is the stopping domain off? if not and force: power it off
    AGENT_JOB_STATE,      //  the state of spec's domain (an event's)
    AGENT_JOB_LIST,       //  every domain libvirt has
    AGENT_JOB_REPORT,     //  node info and every domain, for a full report
    AGENT_JOB_CHECK,      //  nothing: the work's alive/reconnected say how the link is
} agent_job_kind_t;

//  One job. The actor fills the first part; the thread writes the results.
typedef struct {
    agent_job_kind_t kind;
    Maekin__VmOp op;       //  TASK
    Maekin__VmSpec spec;   //  its strings point into env or owned (below)
    Maekin__Envelope *env; //  the request the spec came in, owned, or NULL
    char *owned[2];        //  name and uuid when the spec was copied, owned
    bool force;            //  STOP_CHECK: power off if still running
    void *ref;             //  the actor's: what the result answers; never touched here
    //  results
    bool unavailable;                //  the connection is lost: nothing was tried
    int rc;                          //  0, or -1 with error
    char *error;                     //  owned; one line naming the domain, host and cause
    const char *state;               //  static; the domain's state after, NULL if unknown
    bool began;                      //  STOP: the domain ran and its shutdown began
    bool stopping;                   //  STOP: ... and it is not off yet: poll it with STOP_CHECK
    bool forced;                     //  STOP_CHECK: it was powered off
    agent_libvirt_domain_t *domains; //  LIST, REPORT: owned
    size_t count;
    bool node_ok; //  REPORT: vcpus and memory_mb are libvirt's
    uint32_t vcpus;
    uint64_t memory_mb;
} agent_job_t;

//  Jobs for one host, handed over in one message.
typedef struct {
    agent_job_t *jobs;
    size_t count;
    size_t alloc;
    void *owner; //  the actor's: whose work it is; never touched by the thread
    //  written by the thread before its last word
    bool alive;       //  the connection was up at the end
    bool reconnected; //  it was lost and is open again: the host needs a full report
    char *lost;       //  owned: why it could not connect again, or NULL
} agent_work_t;

//  Start the thread: it opens the host's connection, watches its events and reads its
//  node info. Its words on works go to results (an endpoint the caller's PULL socket is
//  bound to). NULL with *error (a new string: "cannot connect to libvirt at 'URI':
//  ...") if the connection cannot be opened. events is borrowed: it must outlive this.
agent_host_t *agent_host_new (const char *name, const char *uri, const agent_domxml_opts_t *opts,
                              agent_events_t *events, const char *results, char **error);

//  Stop the thread after the work it was given (a call stuck in libvirt is waited for:
//  libvirt ends it when its keepalive gives up on the daemon).
void agent_host_destroy (agent_host_t **self_p);

//  The host's name.
const char *agent_host_name (agent_host_t *self);

//  The node info read at start.
void agent_host_node (agent_host_t *self, uint32_t *vcpus, uint64_t *memory_mb);

//  A new work, and a new job at its end (zeroed, of that kind).
agent_work_t *agent_work_new (void);
agent_job_t *agent_work_add (agent_work_t *self, agent_job_kind_t kind);
//  A job's spec as a copy of name and uuid (for jobs not made from a request).
void agent_job_spec_copy (agent_job_t *job, const char *name, const char *uuid);
void agent_work_destroy (agent_work_t **self_p);

//  Hand a work to the thread; it is the thread's until its last word.
void agent_host_send (agent_host_t *self, agent_work_t **work_p);

//  Read one word of a host's thread from the results PULL socket: the work and how many
//  of its jobs are done (all of them: the thread is finished with it). NULL if the
//  message is not one.
agent_work_t *agent_work_recv (zsock_t *results, size_t *done);

//  Self-test: work on a test-driver host, its results read back.
void agent_host_test (bool verbose);

#endif

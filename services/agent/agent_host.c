/*  agent_host: one host's libvirt work in a thread of its own. See agent_host.h. */
#include "agent_host.h"
#include "mk_str.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mk_msg.h"

//  The thread says which jobs are done at least this often while a work runs, and
//  after any job that took this long, so that the actor's deadline is per job.
#define S_FLUSH_MS 20

struct _agent_host_t {
    zactor_t *actor; //  the thread
    char *name;      //  the host's name
    uint32_t vcpus;  //  node info read at start
    uint64_t memory_mb;
};

//  What the thread is given to start; its own afterwards.
typedef struct {
    char *name;
    char *uri;
    agent_domxml_opts_t opts;
    char *domain_type, *console_dir, *emulator; //  owned strings of opts
    agent_events_t *events;                     //  borrowed
    char *results;                              //  the actor's PULL endpoint
} s_args_t;

//  The thread's state.
typedef struct {
    zsock_t *pipe; //  work in
    zsock_t *push; //  words on works out, to the actor's PULL
    s_args_t *args;
    agent_libvirt_t *libvirt; //  the connection
    bool watched;             //  its events are watched
} s_thread_t;

static void
s_args_free (s_args_t **args_p)
{
    s_args_t *args = *args_p;
    free (args->name);
    free (args->uri);
    free (args->domain_type);
    free (args->console_dir);
    free (args->emulator);
    free (args->results);
    free (args);
    *args_p = NULL;
}

//  ---------------------------------------------------------------- works and jobs

agent_work_t *
agent_work_new (void)
{
    agent_work_t *self = (agent_work_t *) zmalloc (sizeof (agent_work_t));
    return self;
}

agent_job_t *
agent_work_add (agent_work_t *self, agent_job_kind_t kind)
{
    if (self->count == self->alloc) {
        self->alloc = self->alloc ? self->alloc * 2 : 8;
        self->jobs = (agent_job_t *) realloc (self->jobs, self->alloc * sizeof (agent_job_t));
        if (!self->jobs)
            abort ();
    }
    agent_job_t *job = &self->jobs[self->count++];
    memset (job, 0, sizeof *job);
    job->kind = kind;
    job->spec = (Maekin__VmSpec) MAEKIN__VM_SPEC__INIT;
    return job;
}

void
agent_job_spec_copy (agent_job_t *job, const char *name, const char *uuid)
{
    job->owned[0] = mk_strdup (name);
    job->owned[1] = mk_strdup (uuid);
    job->spec.name = job->owned[0];
    job->spec.uuid = job->owned[1];
}

void
agent_work_destroy (agent_work_t **self_p)
{
    agent_work_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->count; i++) {
        agent_job_t *job = &self->jobs[i];
        mk_msg_free (&job->env);
        free (job->owned[0]);
        free (job->owned[1]);
        free (job->error);
        agent_libvirt_list_free (&job->domains, job->count);
    }
    free (self->jobs);
    free (self->lost);
    free (self);
    *self_p = NULL;
}

//  ---------------------------------------------------------------- the thread

//  True when a domain in this state is off (or gone).
static bool
s_off (const char *state)
{
    return state && (streq (state, "stopped") || !*state);
}

//  A lost connection is opened again, and its events watched again.
static void
s_reconnect (s_thread_t *self, agent_work_t *work)
{
    if (agent_libvirt_alive (self->libvirt))
        return;
    if (self->watched) {
        agent_events_unwatch (self->args->events, agent_libvirt_conn (self->libvirt));
        self->watched = false;
    }
    char *error = NULL;
    if (agent_libvirt_reconnect (self->libvirt, &error) != 0) {
        free (work->lost);
        work->lost = error;
        return;
    }
    //  Without events the agent still works: full reports find every change.
    self->watched = agent_events_watch (self->args->events, self->args->name,
                                        agent_libvirt_conn (self->libvirt))
                    == 0;
    work->reconnected = true;
}

static void
s_run_task (s_thread_t *self, agent_job_t *job)
{
    agent_libvirt_t *lv = self->libvirt;
    if (job->kind == AGENT_JOB_STOP) {
        //  Only a domain that runs has a shutdown to wait for.
        const char *before = agent_libvirt_state (lv, job->spec.uuid);
        job->rc = agent_libvirt_run (lv, job->op, &job->spec, &job->error);
        job->state = agent_libvirt_state (lv, job->spec.uuid);
        //  A guest that is quick (or a test driver, which is instant) is done already.
        job->began = job->rc == 0 && before && *before && !streq (before, "stopped");
        job->stopping = job->began && !s_off (job->state);
        return;
    }
    job->rc = agent_libvirt_run (lv, job->op, &job->spec, &job->error);
    job->state =
        job->spec.uuid && *job->spec.uuid ? agent_libvirt_state (lv, job->spec.uuid) : NULL;
}

static void
s_run_job (s_thread_t *self, agent_job_t *job)
{
    agent_libvirt_t *lv = self->libvirt;
    switch (job->kind) {
    case AGENT_JOB_TASK:
    case AGENT_JOB_STOP:
        if (!agent_libvirt_alive (lv))
            job->unavailable = true;
        else
            s_run_task (self, job);
        break;
    case AGENT_JOB_STOP_CHECK:
        job->state = agent_libvirt_state (lv, job->spec.uuid);
        if (!s_off (job->state) && job->force) {
            job->forced = true;
            job->rc = agent_libvirt_run (lv, MAEKIN__VM_OP__VM_OP_DESTROY, &job->spec, &job->error);
            job->state = agent_libvirt_state (lv, job->spec.uuid);
        }
        break;
    case AGENT_JOB_STATE:
        job->state = agent_libvirt_state (lv, job->spec.uuid);
        break;
    case AGENT_JOB_LIST:
        job->rc = agent_libvirt_list (lv, &job->domains, &job->count);
        break;
    case AGENT_JOB_REPORT:
        job->node_ok = agent_libvirt_node (lv, &job->vcpus, &job->memory_mb) == 0;
        job->rc = agent_libvirt_list (lv, &job->domains, &job->count);
        break;
    case AGENT_JOB_CHECK:
        break;
    default:
        assert (false);
    }
}

static void
s_run_work (s_thread_t *self, agent_work_t *work)
{
    s_reconnect (self, work);
    //  After the last word the work is the actor's: nothing here reads it again.
    size_t count = work->count;
    if (count == 0) {
        work->alive = agent_libvirt_alive (self->libvirt);
        zsock_send (self->push, "pi", work, 0);
        return;
    }
    int64_t flushed = zclock_mono ();
    for (size_t i = 0; i < count; i++) {
        int64_t began = zclock_mono ();
        s_run_job (self, &work->jobs[i]);
        int64_t now = zclock_mono ();
        if (i + 1 == count) {
            work->alive = agent_libvirt_alive (self->libvirt);
            if (!work->alive && !work->lost)
                work->lost = mk_strdup ("the connection is closed");
            zsock_send (self->push, "pi", work, (int) count);
        } else if (now - began >= S_FLUSH_MS || now - flushed >= S_FLUSH_MS) {
            zsock_send (self->push, "pi", work, (int) (i + 1));
            flushed = now;
        }
    }
}

static void
s_thread (zsock_t *pipe, void *arg)
{
    s_thread_t self = {pipe, NULL, (s_args_t *) arg, NULL, false};
    //  Never block on either side: the actor bounds how much work a host has.
    zsock_set_rcvhwm (pipe, 0);
    self.push = zsock_new (ZMQ_PUSH);
    assert (self.push);
    zsock_set_sndhwm (self.push, 0);
    if (zsock_connect (self.push, "%s", self.args->results) != 0)
        abort (); //  the actor bound it first: a bug if not
    char *error = NULL;
    self.libvirt = agent_libvirt_new (self.args->name, self.args->uri, &self.args->opts, &error);
    uint32_t vcpus = 0;
    uint64_t memory_mb = 0;
    if (self.libvirt) {
        self.watched = agent_events_watch (self.args->events, self.args->name,
                                           agent_libvirt_conn (self.libvirt))
                       == 0;
        if (agent_libvirt_node (self.libvirt, &vcpus, &memory_mb) != 0)
            vcpus = 0, memory_mb = 0;
    }
    zsock_signal (pipe, 0);
    zsock_send (pipe, "s48", error ? error : "", vcpus, memory_mb);
    free (error);
    while (self.libvirt) {
        zmsg_t *msg = zmsg_recv (pipe);
        //  A signal (SIGCONT after SIGSTOP, SIGTERM) interrupts the wait: only $TERM
        //  or the end of the process ends the thread, never an interrupted call.
        if (!msg && zmq_errno () == ETERM)
            break;
        if (!msg)
            continue;
        zframe_t *first = zmsg_first (msg);
        //  Work is a pointer frame; anything else ($TERM) ends the thread.
        if (zframe_size (first) != sizeof (void *)) {
            zmsg_destroy (&msg);
            break;
        }
        agent_work_t *work;
        memcpy (&work, zframe_data (first), sizeof work);
        zmsg_destroy (&msg);
        s_run_work (&self, work);
    }
    if (self.libvirt && self.watched)
        agent_events_unwatch (self.args->events, agent_libvirt_conn (self.libvirt));
    agent_libvirt_destroy (&self.libvirt);
    zsock_destroy (&self.push);
    s_args_free (&self.args);
}

//  ---------------------------------------------------------------- the actor's side

agent_host_t *
agent_host_new (const char *name, const char *uri, const agent_domxml_opts_t *opts,
                agent_events_t *events, const char *results, char **error)
{
    assert (name && uri && opts && events && results && error);
    *error = NULL;
    s_args_t *args = (s_args_t *) zmalloc (sizeof (s_args_t));
    args->name = mk_strdup (name);
    args->uri = mk_strdup (uri);
    args->domain_type = mk_strdup (opts->domain_type);
    args->console_dir = mk_strdup (opts->console_dir);
    args->emulator = mk_strdup (opts->emulator);
    args->opts.domain_type = args->domain_type;
    args->opts.console_dir = args->console_dir;
    args->opts.emulator = opts->emulator ? args->emulator : NULL;
    args->events = events;
    args->results = mk_strdup (results);
    agent_host_t *self = (agent_host_t *) zmalloc (sizeof (agent_host_t));
    self->name = mk_strdup (name);
    self->actor = zactor_new (s_thread, args);
    zsock_set_sndhwm (zactor_sock (self->actor), 0);
    char *why = NULL;
    zsock_recv (self->actor, "s48", &why, &self->vcpus, &self->memory_mb);
    if (!why || *why) {
        *error = why ? why : mk_strdup ("agent_host: the thread did not start");
        why = NULL;
        zactor_destroy (&self->actor);
        free (self->name);
        free (self);
        return NULL;
    }
    zstr_free (&why);
    return self;
}

void
agent_host_destroy (agent_host_t **self_p)
{
    assert (self_p);
    agent_host_t *self = *self_p;
    if (!self)
        return;
    //  The thread ends after the work it was given; results it still sends are dropped.
    zactor_destroy (&self->actor);
    free (self->name);
    free (self);
    *self_p = NULL;
}

const char *
agent_host_name (agent_host_t *self)
{
    return self->name;
}

void
agent_host_node (agent_host_t *self, uint32_t *vcpus, uint64_t *memory_mb)
{
    *vcpus = self->vcpus;
    *memory_mb = self->memory_mb;
}

void
agent_host_send (agent_host_t *self, agent_work_t **work_p)
{
    assert (work_p && *work_p);
    zsock_send (self->actor, "p", *work_p);
    *work_p = NULL;
}

agent_work_t *
agent_work_recv (zsock_t *results, size_t *done)
{
    void *work = NULL;
    int count = 0;
    if (zsock_recv (results, "pi", &work, &count) != 0 || !work || count < 0)
        return NULL;
    *done = (size_t) count;
    return (agent_work_t *) work;
}

//  --------------------------------------------------------------------------
//  Self-test

void
agent_host_test (bool verbose)
{
    agent_events_t *events = agent_events_new ("inproc://agent_host_test-events");
    assert (events);
    zsock_t *results = zsock_new_pull ("@inproc://agent_host_test-results");
    assert (results);
    agent_domxml_opts_t opts = {"test", NULL, NULL};
    char *error = NULL;
    agent_host_t *host = agent_host_new ("nowhere", "test:///nowhere/node.xml", &opts, events,
                                         "inproc://agent_host_test-results", &error);
    assert (!host && error && strstr (error, "cannot connect to libvirt"));
    if (verbose)
        printf ("  %s\n", error);
    free (error);

    host = agent_host_new ("node1", "test:///default", &opts, events,
                           "inproc://agent_host_test-results", &error);
    assert (host && !error);
    assert (streq (agent_host_name (host), "node1"));
    uint32_t vcpus;
    uint64_t memory_mb;
    agent_host_node (host, &vcpus, &memory_mb);
    assert (vcpus > 0 && memory_mb > 0);

    //  One work: create, list, stop (instant on the test driver), state, a failure.
    agent_work_t *work = agent_work_new ();
    agent_job_t *job = agent_work_add (work, AGENT_JOB_TASK);
    job->op = MAEKIN__VM_OP__VM_OP_CREATE;
    agent_job_spec_copy (job, "host-1", "0b1c2d3e-4f50-4162-8374-95a6b7c8d9e0");
    job->spec.vcpus = 1;
    job->spec.memory_mb = 64;
    agent_work_add (work, AGENT_JOB_LIST);
    job = agent_work_add (work, AGENT_JOB_STOP);
    job->op = MAEKIN__VM_OP__VM_OP_STOP;
    agent_job_spec_copy (job, "host-1", "0b1c2d3e-4f50-4162-8374-95a6b7c8d9e0");
    job = agent_work_add (work, AGENT_JOB_STATE);
    agent_job_spec_copy (job, "host-1", "0b1c2d3e-4f50-4162-8374-95a6b7c8d9e0");
    job = agent_work_add (work, AGENT_JOB_TASK);
    job->op = MAEKIN__VM_OP__VM_OP_START;
    agent_job_spec_copy (job, "ghost", "0b1c2d3e-4f50-4162-8374-95a6b7c8d9e1");
    agent_work_add (work, AGENT_JOB_REPORT);
    job = agent_work_add (work, AGENT_JOB_TASK);
    job->op = MAEKIN__VM_OP__VM_OP_DELETE;
    agent_job_spec_copy (job, "host-1", "0b1c2d3e-4f50-4162-8374-95a6b7c8d9e0");
    size_t count = work->count;
    agent_work_t *sent = work;
    agent_host_send (host, &work);
    assert (!work);
    size_t done = 0;
    while (done < count) {
        work = agent_work_recv (results, &done);
        assert (work == sent);
    }
    assert (work->alive && !work->reconnected && !work->lost);
    agent_job_t *jobs = work->jobs;
    assert (jobs[0].rc == 0 && streq (jobs[0].state, "running"));
    assert (jobs[1].rc == 0 && jobs[1].count >= 1);
    assert (jobs[2].rc == 0 && !jobs[2].stopping && streq (jobs[2].state, "stopped"));
    assert (streq (jobs[3].state, "stopped"));
    assert (jobs[4].rc == -1 && strstr (jobs[4].error, "'ghost' is not defined"));
    if (verbose)
        printf ("  %s\n", jobs[4].error);
    assert (jobs[5].rc == 0 && jobs[5].node_ok && jobs[5].vcpus == vcpus);
    assert (jobs[6].rc == 0 && streq (jobs[6].state, ""));
    agent_work_destroy (&work);

    //  An empty work comes back at once, saying how the connection is.
    work = agent_work_new ();
    agent_work_add (work, AGENT_JOB_CHECK);
    agent_host_send (host, &work);
    work = agent_work_recv (results, &done);
    assert (work && done == 1 && work->alive);
    agent_work_destroy (&work);

    agent_host_destroy (&host);
    assert (!host);
    zsock_destroy (&results);
    agent_events_destroy (&events);
}

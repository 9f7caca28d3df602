/*  agent_server: the agent's actor.

    One zloop: the pipe, the worker socket (tasks from the controller: agent_task.c), the
    client socket (answers from `cloud`: agent_report.c), the PULL socket of libvirt's
    events (agent_report.c), and the PULL socket where every host's libvirt thread
    (agent_host) says what it did. Timers: bus heartbeats, reports, the libvirt deadline, and
   graceful stops while any runs.

    The actor never calls libvirt. Whatever a request or a timer needs of a host's
    libvirt becomes a job; a turn of the loop gathers each host's jobs and hands them to
    its thread in one message. A host's works are answered in the order they were
    handed over; when the oldest has not been heard from within the deadline, every job
    the host still has fails ("libvirt on host 'X' did not answer within N s"), the host
    is stuck, and until its thread answers again new tasks for it are refused with 503
    and nothing more is queued for it, while its light reports go on: the host stays
    up, and the other hosts never wait for it. */
#include "agent_server_int.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libvirt/virterror.h>

#include "agent_domxml.h"
#include "mk_actor.h"

//  The deadline is checked this often (or at a quarter of it, if less).
#define S_DEADLINE_POLL_MS 100

//  One job's result (or its failure by the deadline) to the file that asked for it.
static void
s_job_done (agent_server_t *self, agent_server_host_t *host, agent_job_t *job, const char *overdue)
{
    switch (job->kind) {
    case AGENT_JOB_TASK:
    case AGENT_JOB_STOP:
    case AGENT_JOB_STOP_CHECK:
    case AGENT_JOB_LIST:
        agent_task_done (self, host, job, overdue);
        break;
    default:
        agent_report_done (self, host, job, overdue);
    }
}

//  A word from a host's thread: results of its oldest work, maybe all of them.
static void
s_host_word (agent_server_t *self, agent_work_t *work, size_t done)
{
    agent_server_host_t *host = (agent_server_host_t *) work->owner;
    agent_server_pending_t *pending = (agent_server_pending_t *) zlistx_first (host->pending);
    assert (work && pending && pending->work == work && done <= work->count);
    int64_t now = zclock_mono ();
    pending->heard_at = now;
    //  The thread's last word says how the connection is: known before the results.
    if (done == work->count)
        agent_report_link (self, host, work);
    for (size_t i = pending->answered; i < done; i++)
        s_job_done (self, host, &work->jobs[i], NULL);
    if (done > pending->answered) {
        host->queued -= done - pending->answered;
        pending->answered = done;
    }
    if (done < work->count)
        return;
    bool was_overdue = pending->overdue;
    zlistx_delete (host->pending, zlistx_cursor (host->pending));
    free (pending);
    agent_work_destroy (&work);
    agent_server_pending_t *next = (agent_server_pending_t *) zlistx_first (host->pending);
    if (next)
        next->heard_at = now;
    if (was_overdue && !(next && next->overdue)) {
        mk_warn ("agent_server: libvirt on host '%s' answered again after %.1f s; what "
                 "it did late goes into a full report",
                 host->name, (now - host->stuck_since) / 1000.0 + agent_server_deadline_s (self));
        host->stuck_since = 0;
        host->full_wanted++;
    }
}

//  Words from the hosts' threads, a burst at a time.
static int
s_handle_results (zloop_t *loop, zsock_t *reader, void *arg)
{
    agent_server_t *self = (agent_server_t *) arg;
    for (int i = 0; i < 1000; i++) {
        size_t done = 0;
        agent_work_t *work = agent_work_recv (reader, &done);
        if (!work)
            break; //  interrupted: the loop calls again
        s_host_word (self, work, done);
        if (!(zsock_events (reader) & ZMQ_POLLIN))
            break;
    }
    agent_server_flush (self);
    return 0;
}

//  Fails every job of a host whose oldest work overran the deadline.
static void
s_host_overdue (agent_server_t *self, agent_server_host_t *host)
{
    char *why = agent_server_overdue (self, host);
    size_t failed = 0;
    for (agent_server_pending_t *p = (agent_server_pending_t *) zlistx_first (host->pending); p;
         p = (agent_server_pending_t *) zlistx_next (host->pending)) {
        for (size_t i = p->answered; i < p->work->count; i++, failed++)
            s_job_done (self, host, &p->work->jobs[i], why);
        p->answered = p->work->count;
        p->overdue = true;
    }
    host->queued = 0;
    if (!host->stuck_since)
        mk_error ("agent_server: %s; %zu job%s failed, and its tasks are refused until it "
                  "answers",
                  why, failed, failed == 1 ? "" : "s");
    host->stuck_since = zclock_mono ();
    free (why);
}

static int
s_check_deadlines (zloop_t *loop, int timer_id, void *arg)
{
    agent_server_t *self = (agent_server_t *) arg;
    int64_t now = zclock_mono ();
    for (size_t i = 0; i < self->host_count; i++) {
        agent_server_host_t *host = &self->hosts[i];
        agent_server_pending_t *oldest = (agent_server_pending_t *) zlistx_first (host->pending);
        if (oldest && !oldest->overdue && now - oldest->heard_at >= self->libvirt_timeout_ms)
            s_host_overdue (self, host);
    }
    agent_server_flush (self);
    return 0;
}

//  ---------------------------------------------------------------- the actor

static int
s_handle_worker (zloop_t *loop, zsock_t *reader, void *arg)
{
    agent_server_t *self = (agent_server_t *) arg;
    //  A batch at a time, so that heartbeats and events still get their turn.
    for (int i = 0; i < 1000; i++) {
        mk_request_t request;
        int rc = mk_worker_recv_nowait (self->worker, &request);
        if (rc < 0)
            break;
        if (rc == 1) {
            agent_task_request (self, &request);
            mk_request_clear (&request);
        }
    }
    agent_server_flush (self);
    return 0;
}

static int
s_handle_pipe (zloop_t *loop, zsock_t *reader, void *arg)
{
    char *command = zstr_recv (reader);
    bool term = !command || streq (command, "$TERM");
    zstr_free (&command);
    return term ? -1 : 0;
}

static int
s_tick (zloop_t *loop, int timer_id, void *arg)
{
    agent_server_t *self = (agent_server_t *) arg;
    mk_worker_tick (self->worker);
    mk_client_tick (self->client);
    //  Registered again: the broker had lost us (the link was down, or it restarted) and
    //  may have said so; the controller hears from us now, not at the next report.
    uint64_t readies = mk_worker_readies (self->worker);
    if (readies != self->readies) {
        self->readies = readies;
        self->next_report = 0;
        //  A full report on its way may have gone with the old connection: not waited for.
        for (size_t i = 0; i < self->host_count; i++)
            self->hosts[i].full_sent_at = 0;
        agent_report_all (loop, timer_id, self);
    }
    return 0;
}

static void
s_string_free (void **item)
{
    free (*item);
    *item = NULL;
}

static void
s_server_destroy (agent_server_t **self_p)
{
    agent_server_t *self = *self_p;
    if (!self)
        return;
    if (self->tasks && agent_task_stops (self->tasks))
        mk_info ("agent_server: %zu graceful stop%s still running; the controller will "
                 "ask again",
                 agent_task_stops (self->tasks), agent_task_stops (self->tasks) == 1 ? "" : "s");
    zloop_destroy (&self->loop);
    //  Each thread ends after its work (unwatching its events, closing its connection);
    //  then libvirt's loop thread, which releases what they held.
    for (size_t i = 0; i < self->host_count; i++) {
        agent_server_host_t *host = &self->hosts[i];
        if (host->thread && zlistx_size (host->pending))
            mk_info ("agent_server: host '%s': waiting for libvirt to end its calls", host->name);
        agent_host_destroy (&host->thread);
        for (agent_server_pending_t *p = (agent_server_pending_t *) zlistx_first (host->pending); p;
             p = (agent_server_pending_t *) zlistx_next (host->pending)) {
            //  Lists and events not answered are now (tasks are not: the controller
            //  sends them again), so that what they refer to is freed.
            for (size_t j = p->answered; j < p->work->count; j++)
                if (self->worker
                    && (p->work->jobs[j].kind == AGENT_JOB_STATE
                        || p->work->jobs[j].kind == AGENT_JOB_LIST))
                    s_job_done (self, host, &p->work->jobs[j], "the agent stops");
            agent_work_destroy (&p->work);
            free (p);
        }
        zlistx_destroy (&host->pending);
        agent_work_destroy (&host->filling);
        zhashx_destroy (&host->known);
        free (host->name);
        free (host->uri);
        free (host->drift);
    }
    mk_worker_destroy (&self->worker);
    mk_client_destroy (&self->client);
    agent_task_destroy (&self->tasks);
    agent_events_destroy (&self->events);
    zsock_destroy (&self->event_pull);
    zsock_destroy (&self->results);
    free (self->hosts);
    free (self->endpoint);
    free (self->domain_type);
    free (self->console_dir);
    free (self);
    *self_p = NULL;
}

//  The hosts and their threads; -1 with *error if one cannot start.
static int
s_hosts_start (agent_server_t *self, const agent_opts_t *opts, char **error)
{
    self->hosts = (agent_server_host_t *) zmalloc (opts->host_count * sizeof (agent_server_host_t));
    self->host_count = opts->host_count;
    for (size_t i = 0; i < self->host_count; i++) {
        agent_server_host_t *host = &self->hosts[i];
        host->name = mk_strdup (opts->hosts[i].name);
        host->uri = mk_strdup (opts->hosts[i].value);
        host->index = i;
        host->known = zhashx_new ();
        zhashx_set_destructor (host->known, s_string_free);
        host->pending = zlistx_new ();
        host->full_wanted = 1;
        snprintf (host->service, sizeof host->service, "node/%s", host->name);
    }
    agent_domxml_opts_t domxml = {self->domain_type, self->console_dir, NULL};
    for (size_t i = 0; i < self->host_count; i++) {
        agent_server_host_t *host = &self->hosts[i];
        host->thread = agent_host_new (host->name, host->uri, &domxml, self->events,
                                       self->results_endpoint, error);
        if (!host->thread)
            return -1;
        agent_host_node (host->thread, &host->vcpus, &host->memory_mb);
        mk_info ("agent_server: host '%s' at %s: %" PRIu32 " CPUs, %" PRIu64 " MiB", host->name,
                 host->uri, host->vcpus, host->memory_mb);
    }
    return 0;
}

//  The bus: the worker serving node/<host> for every host and agent/<id>, the client
//  for `cloud`. -1 if the broker's endpoint is no good.
static int
s_bus_start (agent_server_t *self)
{
    //  The process's own service, for task batches: unique to this run of this process.
    char machine[64] = "localhost";
    if (gethostname (machine, sizeof machine) != 0)
        snprintf (machine, sizeof machine, "localhost");
    machine[sizeof machine - 1] = 0;
    snprintf (self->agent_service, sizeof self->agent_service, "agent/%.40s-%d-%04x", machine,
              (int) getpid (), (unsigned) randof (0x10000));
    const char **services = (const char **) zmalloc ((self->host_count + 1) * sizeof (char *));
    for (size_t i = 0; i < self->host_count; i++)
        services[i] = self->hosts[i].service;
    services[self->host_count] = self->agent_service;
    self->worker = mk_worker_new (self->endpoint, services, self->host_count + 1);
    free (services);
    self->client = self->worker ? mk_client_new (self->endpoint) : NULL;
    if (!self->client)
        return -1;
    mk_worker_set_heartbeat (self->worker, self->heartbeat_ms);
    self->readies = mk_worker_readies (self->worker);
    return 0;
}

//  Everything but the loop; NULL with *error (a new string) if something cannot start.
static agent_server_t *
s_server_new (zsock_t *pipe, const agent_opts_t *opts, char **error)
{
    assert (opts->endpoint && opts->hosts);
    agent_server_t *self = (agent_server_t *) zmalloc (sizeof (agent_server_t));
    self->pipe = pipe;
    self->endpoint = mk_strdup (opts->endpoint);
    self->domain_type = mk_strdup (opts->domain_type);
    self->console_dir = mk_strdup (opts->console_dir);
    self->report_ms = opts->report_ms > 0 ? opts->report_ms : AGENT_REPORT_MS;
    self->stop_timeout_ms = opts->stop_timeout_ms;
    self->libvirt_timeout_ms =
        opts->libvirt_timeout_ms > 0 ? opts->libvirt_timeout_ms : AGENT_LIBVIRT_MS_DEFAULT;
    self->heartbeat_ms = opts->heartbeat_ms > 0 ? opts->heartbeat_ms : MK_WIRE_HEARTBEAT_MS;
    self->tasks = agent_task_new ();
    if (opts->host_count < 1 || opts->host_count > AGENT_HOSTS_MAX) {
        *error = zsys_sprintf ("agent_server: %zu hosts; an agent serves 1..%d", opts->host_count,
                               AGENT_HOSTS_MAX);
        s_server_destroy (&self);
        return NULL;
    }
    //  libvirt's event loop must be there before the first connection opens.
    char endpoint[64];
    snprintf (endpoint, sizeof endpoint, "inproc://agent_server-events-%p", (void *) self);
    self->event_pull = zsock_new (ZMQ_PULL);
    assert (self->event_pull);
    zsock_set_rcvhwm (self->event_pull, 100000);
    if (zsock_bind (self->event_pull, "%s", endpoint) != 0
        || !(self->events = agent_events_new (endpoint))) {
        *error = zsys_sprintf ("agent_server: cannot start libvirt's event loop");
        s_server_destroy (&self);
        return NULL;
    }
    snprintf (self->results_endpoint, sizeof self->results_endpoint,
              "inproc://agent_server-results-%p", (void *) self);
    self->results = zsock_new (ZMQ_PULL);
    assert (self->results);
    zsock_set_rcvhwm (self->results, 0);
    if (zsock_bind (self->results, "%s", self->results_endpoint) != 0) {
        *error = zsys_sprintf ("agent_server: cannot bind '%s'", self->results_endpoint);
        s_server_destroy (&self);
        return NULL;
    }
    if (s_hosts_start (self, opts, error) != 0) {
        s_server_destroy (&self);
        return NULL;
    }
    if (s_bus_start (self) != 0) {
        *error =
            zsys_sprintf ("agent_server: cannot connect to the broker at '%s'", self->endpoint);
        s_server_destroy (&self);
        return NULL;
    }
    self->loop = zloop_new ();
    zloop_set_nonstop (self->loop, true);
    zloop_reader (self->loop, pipe, s_handle_pipe, self);
    zloop_reader (self->loop, mk_worker_sock (self->worker), s_handle_worker, self);
    zloop_reader (self->loop, mk_client_sock (self->client), agent_report_replies, self);
    zloop_reader (self->loop, self->event_pull, agent_report_events, self);
    zloop_reader (self->loop, self->results, s_handle_results, self);
    zloop_timer (self->loop, (size_t) (self->heartbeat_ms / 2 > 0 ? self->heartbeat_ms / 2 : 1), 0,
                 s_tick, self);
    zloop_timer (self->loop, (size_t) agent_server_check_ms (self), 0, agent_report_all, self);
    int poll_ms = self->libvirt_timeout_ms / 4;
    zloop_timer (self->loop, (size_t) (poll_ms < S_DEADLINE_POLL_MS ? poll_ms : S_DEADLINE_POLL_MS),
                 0, s_check_deadlines, self);
    return self;
}

void
agent_server_actor (zsock_t *pipe, void *args)
{
    char *error = NULL;
    agent_server_t *self = s_server_new (pipe, (const agent_opts_t *) args, &error);
    mk_actor_ready (pipe, error);
    if (!self)
        return;
    mk_info ("agent_server: serving %zu host%s on %s; libvirt calls have %g s", self->host_count,
             self->host_count == 1 ? "" : "s", self->endpoint, agent_server_deadline_s (self));
    agent_report_all (self->loop, -1, self);
    zloop_start (self->loop);
    s_server_destroy (&self);
}

zactor_t *
agent_server_new (const agent_opts_t *opts)
{
    //  libvirt's one-time setup also sets up OpenSSL (through curl and libssh2), whose
    //  state for the thread doing it leaks when that thread ends: let it be the caller's,
    //  which lives as long as the program, not the actor's.
    if (virInitialize () < 0) {
        mk_error ("agent_server: libvirt cannot start: %s", virGetLastErrorMessage ());
        return NULL;
    }
    return mk_actor_start (agent_server_actor, (void *) opts);
}

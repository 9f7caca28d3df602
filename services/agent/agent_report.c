/*  agent_report: what the agent tells `cloud` of its hosts, and what it hears back.

    Every report period each host is reported: lightly (its liveness and size), or in
    full (every domain libvirt has) at start, when `cloud` asks, and after the host's
    libvirt connection came back. A full report's domains come from the host's thread
    (a REPORT job), so a host whose libvirt is slow or stuck still sends its light
    reports and stays up; a host whose connection is lost is not reported until it is
    open again, so that the controller sees it down.

    What the controller was last told of each domain (by a task's reply, a report or a
    forwarded event) is kept per host. A libvirt event is a hint that a domain changed:
    the host's thread is asked for the domain's state now (a STATE job, behind the tasks
    already queued, so a task's own result always comes first) and the state is
    forwarded only if it differs from what the controller was told. So the agent's own
    tasks do not echo back, nor do the steps on their way (a create defines before it
    starts; a delete stops before it undefines), nor events that arrive after a later
    task already changed the domain again. */
#include "agent_server_int.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  A full report not answered within this long may be sent again.
#define S_FULL_PATIENCE_MS 30000
//  Names listed in one log line of drift, before "and N more".
#define S_DRIFT_NAMES 10

//  What a request to `cloud` was, kept in its correlation id: kind, host, sequence.
typedef enum { S_REPORT_LIGHT = 1, S_REPORT_FULL = 2, S_EVENT = 3 } s_kind_t;
#define S_CORR(kind, host, seq)                                                                    \
    (((uint64_t) (kind) << 56) | ((uint64_t) (host) << 40) | ((seq) &0xffffffffffULL))
#define S_CORR_KIND(corr) ((int) ((corr) >> 56))
#define S_CORR_HOST(corr) ((size_t) (((corr) >> 40) & 0xffff))

//  ---------------------------------------------------------------- reports

//  Sends a report: full with the domains of a REPORT job, else light.
static void
s_report_send (agent_server_t *self, agent_server_host_t *host, const agent_job_t *job)
{
    bool full = job != NULL;
    Maekin__Host info = MAEKIN__HOST__INIT;
    info.name = host->name;
    info.state = host->disconnected ? "down" : "up";
    info.vcpus = host->vcpus;
    info.memory_mb = host->memory_mb;
    info.uri = host->uri;
    Maekin__HostRegisterRequest report = MAEKIN__HOST_REGISTER_REQUEST__INIT;
    report.host = &info;
    report.full = full;
    report.agent = self->agent_service;
    Maekin__Domain *items = NULL;
    Maekin__Domain **pointers = NULL;
    size_t count = full ? job->count : 0;
    if (full) {
        info.vm_count = (uint32_t) count;
        items = (Maekin__Domain *) zmalloc ((count ? count : 1) * sizeof (Maekin__Domain));
        pointers = (Maekin__Domain **) zmalloc ((count ? count : 1) * sizeof (Maekin__Domain *));
        //  The controller is told everything: that is now what it knows.
        zhashx_purge (host->known);
        for (size_t i = 0; i < count; i++) {
            items[i] = (Maekin__Domain) MAEKIN__DOMAIN__INIT;
            items[i].uuid = job->domains[i].uuid;
            items[i].name = job->domains[i].name;
            items[i].state = (char *) job->domains[i].state;
            pointers[i] = &items[i];
            agent_server_known_set (host, job->domains[i].uuid, job->domains[i].state);
        }
        report.domains = pointers;
        report.n_domains = count;
    }
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_HOST_REGISTER;
    env.host_register = &report;
    uint64_t corr = S_CORR (full ? S_REPORT_FULL : S_REPORT_LIGHT, host->index, ++self->seq);
    if (mk_client_send_as (self->client, "cloud", corr, &env) == 0 && full) {
        host->full_sent_at = zclock_mono ();
        host->full_sent_count = host->full_wanted;
        host->full_ever = true;
    }
    if (full)
        mk_debug ("agent_server: host '%s': full report sent, %zu domain%s", host->name, count,
                  count == 1 ? "" : "s");
    free (items);
    free (pointers);
}

//  Whether a full report is on its way to the controller, or being made by the host's
//  thread.
static bool
s_full_pending (agent_server_host_t *host)
{
    return host->report_queued
           || (host->full_sent_at && zclock_mono () - host->full_sent_at < S_FULL_PATIENCE_MS);
}

//  A full report asked of the host's thread if one is wanted and none is pending.
static void
s_full_ask (agent_server_t *self, agent_server_host_t *host)
{
    if (host->full_wanted > host->full_done && !s_full_pending (host) && !host->stuck_since
        && !agent_server_full (self, host, 1)) {
        agent_server_job (self, host, AGENT_JOB_REPORT, NULL);
        host->report_queued = true;
    }
}

//  A host's report: a full one is asked of its thread when due (unless one is on its
//  way), and a light one goes now unless the host was never reported in full.
static void
s_report_host (agent_server_t *self, agent_server_host_t *host)
{
    s_full_ask (self, host);
    //  A full report its thread is making stands for the light one, which would only be
    //  answered with an ask for it; unless the thread is stuck in libvirt.
    if (host->full_ever && !(host->report_queued && !host->stuck_since))
        s_report_send (self, host, NULL);
}

int
agent_report_all (zloop_t *loop, int timer_id, void *arg)
{
    agent_server_t *self = (agent_server_t *) arg;
    //  Due within half a tick counts as due: a timer that fires a little early does not
    //  push the reports a whole tick late.
    int64_t now = zclock_mono ();
    bool report = now + agent_server_check_ms (self) / 2 >= self->next_report;
    if (report)
        self->next_report = now + self->report_ms;
    for (size_t i = 0; i < self->host_count; i++) {
        agent_server_host_t *host = &self->hosts[i];
        //  An idle thread is asked how its connection is (and to open it again).
        if (!zlistx_size (host->pending) && !host->check_queued
            && !(host->filling && host->filling->count)) {
            agent_server_job (self, host, AGENT_JOB_CHECK, NULL);
            host->check_queued = true;
        }
        //  Until it is open again, the host's report says it is down (the first went when
        //  the connection was lost; these in case that one was not heard).
        if (report && host->disconnected && host->full_ever)
            s_report_send (self, host, NULL);
        else if (report && !host->disconnected)
            s_report_host (self, host);
    }
    agent_server_flush (self);
    return 0;
}

void
agent_report_link (agent_server_t *self, agent_server_host_t *host, const agent_work_t *work)
{
    if (work->reconnected) {
        mk_info ("agent_server: host '%s': connected to libvirt at '%s' again", host->name,
                 host->uri);
        host->disconnected = false;
        host->full_wanted++;
        s_report_host (self, host); //  its full report now, not at the next slot
    }
    if (!work->alive && !host->disconnected)
        mk_error ("agent_server: host '%s': lost the connection to libvirt at '%s'; "
                  "connecting again every %d ms",
                  host->name, host->uri, agent_server_check_ms (self));
    if (!work->alive) {
        bool news = !host->disconnected;
        host->disconnected = true;
        if (work->lost)
            mk_debug ("agent_server: host '%s': %s", host->name, work->lost);
        //  Said now: the controller takes the host down at once (it would after three
        //  missed reports), and again at each report until libvirt answers.
        if (news && host->full_ever)
            s_report_send (self, host, NULL);
    }
}

//  ---------------------------------------------------------------- events

//  An event's domain, waiting for its state from the host's thread.
typedef struct {
    char uuid[VIR_UUID_STRING_BUFLEN];
    char *name;  //  the domain's name
    char *event; //  the event's name, for logs
    char *hint;  //  the state the event implies, or "?"
} s_event_t;

static void
s_event_free (s_event_t **event_p)
{
    s_event_t *event = *event_p;
    free (event->name);
    free (event->event);
    free (event->hint);
    free (event);
    *event_p = NULL;
}

//  True if the event says nothing the controller does not know.
static bool
s_event_known (agent_server_t *self, agent_server_host_t *host, const char *uuid, const char *state)
{
    if (agent_task_stopping (self, host, uuid))
        return true; //  its task's reply will say
    const char *known = (const char *) zhashx_lookup (host->known, uuid);
    return streq (state, known ? known : "");
}

static void
s_event_arrived (agent_server_t *self, const agent_event_t *event)
{
    agent_server_host_t *host = agent_server_host_by_name (self, event->host);
    if (!host)
        return;
    char uuid[VIR_UUID_STRING_BUFLEN];
    agent_server_uuid_key (event->uuid, uuid);
    if (s_event_known (self, host, uuid, event->state))
        return;
    //  A domain defined (again) keeps the state it had: if the controller knows the
    //  domain, there is nothing to ask libvirt (this is every create's first event).
    if (streq (event->event, "defined") && zhashx_lookup (host->known, uuid))
        return;
    //  A host whose libvirt does not answer now: its next full report tells all.
    if (host->stuck_since || agent_server_full (self, host, 1)) {
        host->full_wanted++;
        return;
    }
    s_event_t *pending = (s_event_t *) zmalloc (sizeof (s_event_t));
    memcpy (pending->uuid, uuid, sizeof uuid);
    pending->name = mk_strdup (event->name);
    pending->event = mk_strdup (event->event);
    pending->hint = mk_strdup (event->state);
    agent_job_t *job = agent_server_job (self, host, AGENT_JOB_STATE, pending);
    agent_job_spec_copy (job, event->name, uuid);
}

//  The state of an event's domain now: forwarded if the controller does not know it.
static void
s_event_state (agent_server_t *self, agent_server_host_t *host, s_event_t *event, const char *now)
{
    bool hint = !streq (event->hint, "?");
    if (!now && !hint)
        return;
    if (!now)
        now = event->hint;
    if (s_event_known (self, host, event->uuid, now)) {
        mk_debug ("agent_server: host '%s': '%s' %s, still %s as the cloud knows", host->name,
                  event->name, event->event, *now ? now : "undefined");
        return;
    }
    mk_info ("agent_server: host '%s': '%s' is now %s (libvirt: %s), not by a task", host->name,
             event->name, *now ? now : "undefined", event->event);
    Maekin__Domain domain = MAEKIN__DOMAIN__INIT;
    domain.uuid = event->uuid;
    domain.name = event->name;
    domain.state = (char *) now;
    Maekin__DomainEventRequest request = MAEKIN__DOMAIN_EVENT_REQUEST__INIT;
    request.host = host->name;
    request.domain = &domain;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_DOMAIN_EVENT;
    env.domain_event = &request;
    if (mk_client_send_as (self->client, "cloud", S_CORR (S_EVENT, host->index, ++self->seq), &env)
        != 0)
        host->full_wanted++;
    agent_server_known_set (host, event->uuid, now);
}

int
agent_report_events (zloop_t *loop, zsock_t *reader, void *arg)
{
    agent_server_t *self = (agent_server_t *) arg;
    for (int i = 0; i < 1000; i++) {
        agent_event_t event;
        if (agent_event_recv (reader, &event) == 0)
            s_event_arrived (self, &event);
        agent_event_clear (&event);
        if (!(zsock_events (reader) & ZMQ_POLLIN))
            break;
    }
    agent_server_flush (self);
    return 0;
}

void
agent_report_done (agent_server_t *self, agent_server_host_t *host, agent_job_t *job,
                   const char *overdue)
{
    if (job->kind == AGENT_JOB_CHECK) {
        host->check_queued = false;
        return;
    }
    if (job->kind == AGENT_JOB_STATE) {
        s_event_t *event = (s_event_t *) job->ref;
        job->ref = NULL;
        if (overdue)
            host->full_wanted++;
        else
            s_event_state (self, host, event, job->state);
        s_event_free (&event);
        return;
    }
    assert (job->kind == AGENT_JOB_REPORT);
    host->report_queued = false;
    if (overdue || host->disconnected)
        return;
    if (job->node_ok) {
        host->vcpus = job->vcpus;
        host->memory_mb = job->memory_mb;
    }
    //  Without the list a full report would say the host has nothing.
    if (job->rc == 0)
        s_report_send (self, host, job);
}

//  ---------------------------------------------------------------- answers from `cloud`

//  Appends "N things (a, b, ...)<tail>" for one list of the reply, if it has any.
static void
s_drift_part (zchunk_t *text, size_t count, char **names, const char *singular, const char *plural,
              const char *tail_one, const char *tail_more)
{
    const char *tail = count == 1 ? tail_one : tail_more;
    if (count == 0)
        return;
    char *part = zsys_sprintf ("%s%zu %s (", zchunk_size (text) ? "; " : "", count,
                               count == 1 ? singular : plural);
    zchunk_extend (text, part, strlen (part));
    free (part);
    for (size_t i = 0; i < count && i < S_DRIFT_NAMES; i++) {
        if (i)
            zchunk_extend (text, ", ", 2);
        zchunk_extend (text, names[i], strlen (names[i]));
    }
    if (count > S_DRIFT_NAMES) {
        part = zsys_sprintf (" and %zu more", count - S_DRIFT_NAMES);
        zchunk_extend (text, part, strlen (part));
        free (part);
    }
    zchunk_extend (text, ")", 1);
    zchunk_extend (text, tail, strlen (tail));
}

//  Logs what the controller found different, once for as long as it stays the same.
static void
s_log_drift (agent_server_host_t *host, const Maekin__HostRegisterReply *reply)
{
    zchunk_t *text = zchunk_new (NULL, 256);
    s_drift_part (text, reply->n_missing, reply->missing, "VM missing from libvirt",
                  "VMs missing from libvirt", "; the controller repairs it",
                  "; the controller repairs them");
    s_drift_part (text, reply->n_unexpected, reply->unexpected,
                  "domain in libvirt the cloud does not know",
                  "domains in libvirt the cloud does not know", "", "");
    s_drift_part (text, reply->n_changed, reply->changed, "VM in another state than the cloud had",
                  "VMs in another state than the cloud had", "; the cloud now has libvirt's",
                  "; the cloud now has libvirt's");
    zchunk_extend (text, "", 1);
    const char *line = (const char *) zchunk_data (text);
    if (*line && !(host->drift && streq (host->drift, line)))
        mk_warn ("agent_server: host '%s': %s", host->name, line);
    free (host->drift);
    host->drift = *line ? mk_strdup (line) : NULL;
    zchunk_destroy (&text);
}

//  `cloud` could not be reached: said once, until it answers again.
static void
s_unreachable (agent_server_t *self, agent_server_host_t *host, const Maekin__Envelope *env)
{
    if (host->unreachable)
        return;
    host->unreachable = true;
    mk_warn ("agent_server: host '%s': cannot report to 'cloud' (%d: %s); trying again every "
             "%d ms",
             host->name, env->status, env->reason && *env->reason ? env->reason : "no reason",
             self->report_ms);
}

static void
s_handle_report_reply (agent_server_t *self, agent_server_host_t *host, bool full,
                       const Maekin__Envelope *env)
{
    if (full)
        host->full_sent_at = 0;
    if (env->status != MK_OK || env->body_case != MAEKIN__ENVELOPE__BODY_HOST_REGISTER_REPLY) {
        s_unreachable (self, host, env);
        return;
    }
    if (host->unreachable) {
        host->unreachable = false;
        mk_info ("agent_server: host '%s': reporting to 'cloud' again", host->name);
    }
    const Maekin__HostRegisterReply *reply = env->host_register_reply;
    if (full) {
        host->full_done = host->full_sent_count;
        s_log_drift (host, reply);
    }
    //  Asked for a full report: its thread makes one, unless one is on its way or being
    //  made, and no light report goes with it. The controller answers every light report
    //  the same until the full one is in, so one sent meanwhile came back asking again, as
    //  fast as the bus goes, for as long as libvirt took to list the domains (a real
    //  libvirtd: a burst of asks at each report; a full report lost with a connection:
    //  30 s of them).
    if (reply->send_full) {
        host->full_wanted++;
        if (!s_full_pending (host)) {
            mk_info ("agent_server: host '%s': 'cloud' asks for a full report", host->name);
            s_full_ask (self, host);
        }
    }
}

int
agent_report_replies (zloop_t *loop, zsock_t *reader, void *arg)
{
    agent_server_t *self = (agent_server_t *) arg;
    mk_reply_t reply;
    for (int i = 0; i < 1000 && mk_client_recv (self->client, &reply, 0) == 0; i++) {
        size_t index = S_CORR_HOST (reply.corr);
        int kind = S_CORR_KIND (reply.corr);
        if (reply.progress || index >= self->host_count)
            ;
        else if (kind == S_REPORT_LIGHT || kind == S_REPORT_FULL)
            s_handle_report_reply (self, &self->hosts[index], kind == S_REPORT_FULL, reply.env);
        else if (kind == S_EVENT && reply.env->status != MK_OK) {
            //  The controller may have missed a change: the next report tells all.
            s_unreachable (self, &self->hosts[index], reply.env);
            self->hosts[index].full_wanted++;
        }
        mk_reply_clear (&reply);
    }
    agent_server_flush (self);
    return 0;
}

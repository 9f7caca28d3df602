/*  controller_host: hosts. Agents report their hosts (light reports say a host is alive;
    a full one lists its domains, reconciled by controller_reconcile); a host whose agent
    stops reporting goes down. Clients list and show hosts, and ask what libvirt on a
    host has (the controller asks the host's agent and passes the answer on). */
#include "controller_core.h"

#include "mk_name.h"
#include "mk_wire.h"

void
controller_host_set_state (controller_t *self, sched_host_t *host, bool up, const char *detail)
{
    host->up = up;
    host->unsaved = false;
    host->unknown = false;
    if (store_host_set_state (self->db, host->name, up ? "up" : "down", host->last_seen) < 0)
        self->failed = true;
    controller_events_add (self->events, EVENTS_HOST, host->name, NULL, up ? "up" : "down", detail,
                           0);
    mk_info ("controller: host '%s' is %s%s%s", host->name, up ? "up" : "down", *detail ? ": " : "",
             detail);
}

//  ---------------------------------------------------------------- requests: hosts

static bool
s_name_cursor_ok (const char *text)
{
    return mk_name_check (text) == NULL;
}

//  Hosts are few and held in memory (controller_sched), in name order.
void
controller_host_list (controller_t *self, const mk_request_t *request)
{
    static const char *const states[] = {"up", "down", "unknown", NULL};
    store_page_t filter;
    if (controller_list_page (self, request, request->env->host_list->page, states,
                              s_name_cursor_ok, &filter)
        != 0)
        return;
    size_t count = controller_sched_count (self->sched);
    Maekin__HostListReply list = MAEKIN__HOST_LIST_REPLY__INIT;
    list.hosts =
        (Maekin__Host **) controller_arena_new (self, (count + 1) * sizeof (Maekin__Host *));
    for (size_t i = 0; i < count && list.n_hosts < filter.limit; i++) {
        sched_host_t *host = controller_sched_at (self->sched, i);
        if ((*filter.after && strcmp (host->name, filter.after) <= 0)
            || (*filter.state && !streq (filter.state, controller_sched_state (host)))
            || (filter.prefix && strncmp (host->name, filter.prefix, strlen (filter.prefix))))
            continue;
        list.hosts[list.n_hosts++] = controller_msg_host (self, host);
    }
    if (list.n_hosts == filter.limit)
        list.next = list.hosts[list.n_hosts - 1]->name;
    controller_reply_body (self, request, MK_OK, MAEKIN__ENVELOPE__BODY_HOST_LIST_REPLY, &list);
}

void
controller_host_show (controller_t *self, const mk_request_t *request)
{
    const char *name = request->env->host_show->name;
    sched_host_t *host = controller_sched_host (self->sched, name);
    if (!host) {
        controller_reply_status (self, request, MK_NOT_FOUND,
                                 "no host named '%s' (maekinsh host list)", name);
        return;
    }
    Maekin__HostShowReply show = MAEKIN__HOST_SHOW_REPLY__INIT;
    show.host = controller_msg_host (self, host);
    controller_reply_body (self, request, MK_OK, MAEKIN__ENVELOPE__BODY_HOST_SHOW_REPLY, &show);
}

//  A host's report gives other figures than the controller has.
static bool
s_host_changed (const sched_host_t *host, const Maekin__Host *h)
{
    return host->vcpus != h->vcpus || host->memory_mb != h->memory_mb
           || strcmp (host->uri, h->uri ? h->uri : "") != 0;
}

//  A report that says its agent cannot reach the host's libvirt.
static bool
s_says_down (const Maekin__Host *h)
{
    return h->state && streq (h->state, "down");
}

//  A report that only says its host is alive: light, from the agent of the last full
//  report, for a host up with the same figures. Handling it writes nothing.
bool
controller_host_report_is_ping (controller_t *self, const Maekin__HostRegisterRequest *report)
{
    const Maekin__Host *h = report->host;
    const sched_host_t *host = h && h->name ? controller_sched_host (self->sched, h->name) : NULL;
    return host && host->up && !host->unsaved && !report->full && !s_host_changed (host, h)
           && !s_says_down (h)
           && (!report->agent || !*report->agent || streq (report->agent, host->agent));
}

void
controller_host_register (controller_t *self, const mk_request_t *request)
{
    Maekin__HostRegisterRequest *report = request->env->host_register;
    const char *why = report->host ? mk_name_check (report->host->name) : "is missing";
    if (why) {
        controller_reply_status (self, request, MK_BAD_REQUEST, "host name %s", why);
        return;
    }
    if (report->n_domains > MK_REPORT_DOMAINS_MAX) {
        controller_reply_status (self, request, MK_BAD_REQUEST,
                                 "a host report lists at most %d domains; this one has %zu",
                                 MK_REPORT_DOMAINS_MAX, report->n_domains);
        return;
    }
    const char *agent = report->agent ? report->agent : "";
    if (*agent
        && (strncmp (agent, "agent/", 6) != 0 || !agent[6]
            || !mk_wire_service_name_valid (agent))) {
        controller_reply_status (
            self, request, MK_BAD_REQUEST,
            "agent service '%.80s' is not agent/<id> of at most %d printable bytes", agent,
            MK_WIRE_SERVICE_MAX);
        return;
    }
    Maekin__Host *h = report->host;
    if (s_says_down (h) && !report->full) {
        //  Its agent lost libvirt: down now, not when three reports are missed. The agent
        //  reports again (a full report) once libvirt answers.
        sched_host_t *known = controller_sched_host (self->sched, h->name);
        if (known && (known->up || known->unknown))
            controller_host_set_state (self, known, false, "its agent cannot reach libvirt");
        Maekin__HostRegisterReply noted = MAEKIN__HOST_REGISTER_REPLY__INIT;
        controller_reply_body (self, request, MK_OK, MAEKIN__ENVELOPE__BODY_HOST_REGISTER_REPLY,
                               &noted);
        return;
    }
    sched_host_t *host = controller_sched_require (self->sched, h->name);
    //  Another agent process than the one whose full report we had (or none since we
    //  started): it may have restarted, on a libvirt that lost domains, between two light
    //  reports. Known once its full report is in.
    bool new_agent = *agent && strcmp (host->agent, agent) != 0;
    if (report->full)
        snprintf (host->agent, sizeof host->agent, "%s", agent);
    bool was_up = host->up && !host->unsaved;
    bool changed = s_host_changed (host, h);
    host->vcpus = h->vcpus;
    host->memory_mb = h->memory_mb;
    snprintf (host->uri, sizeof host->uri, "%s", h->uri ? h->uri : "");
    host->last_seen = self->now;
    host->last_seen_mono = zclock_mono ();
    host->gone = false;

    Maekin__HostRegisterReply answer = MAEKIN__HOST_REGISTER_REPLY__INIT;
    if (!was_up || changed) {
        store_host_t row = {
            .vcpus = host->vcpus, .memory_mb = host->memory_mb, .last_seen = self->now};
        snprintf (row.name, sizeof row.name, "%s", host->name);
        //  Up only once its domains are known (a light report from a down host is not).
        snprintf (row.state, sizeof row.state, "%s", was_up || report->full ? "up" : "down");
        snprintf (row.uri, sizeof row.uri, "%s", host->uri);
        if (store_host_save (self->db, &row) < 0)
            self->failed = true;
    }
    if (!report->full && (!was_up || new_agent)) {
        //  Up again, or served by a new agent process, and we do not know what it runs:
        //  ask for the full report first.
        if (was_up)
            mk_info ("controller: host '%s' has a new agent (%s); asking for its domains",
                     host->name, agent);
        answer.send_full = true;
        controller_reply_body (self, request, MK_OK, MAEKIN__ENVELOPE__BODY_HOST_REGISTER_REPLY,
                               &answer);
        return;
    }
    if (!was_up)
        controller_host_set_state (self, host, true, "its agent reported");
    if (report->full)
        controller_reconcile (self, host, report, &answer);
    controller_reply_body (self, request, MK_OK, MAEKIN__ENVELOPE__BODY_HOST_REGISTER_REPLY,
                           &answer);
}

//  What libvirt on a host has: asked of its agent now; the answer goes to the asker as
//  the agent gave it (see controller_dispatch_answer).
void
controller_host_domains (controller_t *self, const mk_request_t *request)
{
    const char *name = request->env->host_domains->name;
    sched_host_t *host = controller_sched_host (self->sched, name ? name : "");
    if (!host) {
        controller_reply_status (self, request, MK_NOT_FOUND,
                                 "no host named '%s' (maekinsh host list)", name ? name : "");
        return;
    }
    if (!host->up) {
        controller_reply_status (self, request, MK_UNAVAILABLE,
                                 "host '%s' is %s: its agent has not reported%s", host->name,
                                 controller_sched_state (host),
                                 host->unknown ? " since the controller started" : "");
        return;
    }
    Maekin__DomainListRequest list = MAEKIN__DOMAIN_LIST_REQUEST__INIT;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_DOMAIN_LIST;
    env.domain_list = &list;
    char service[80];
    snprintf (service, sizeof service, "node/%s", host->name);
    uint64_t corr = CORR_ASK | ++self->next_ask;
    if (mk_client_send_as (self->client, service, corr, &env) != 0) {
        controller_reply_status (self, request, MK_UNAVAILABLE, "cannot reach host '%s'",
                                 host->name);
        return;
    }
    zhashx_insert (self->asks, ID_KEY (corr), ID_KEY (request->token));
}

void
controller_host_domain_event (controller_t *self, const mk_request_t *request)
{
    Maekin__DomainEventRequest *event = request->env->domain_event;
    if (!event->domain || !event->domain->name) {
        controller_reply_status (self, request, MK_BAD_REQUEST, "domain event without a domain");
        return;
    }
    store_vm_t vm;
    int rc = store_vm_get (self->db, event->domain->name, &vm);
    if (rc < 0) {
        controller_reply_db_error (self, request);
        return;
    }
    int state = rc == 1 ? controller_fsm_vm_parse (vm.state) : -1;
    int seen = controller_fsm_vm_parse (event->domain->state ? event->domain->state : "");
    if (rc == 1 && streq (vm.host, event->host ? event->host : "") && state >= 0 && seen >= 0
        && seen != state && controller_fsm_vm_stable ((vm_state_t) state)
        && controller_fsm_vm_stable ((vm_state_t) seen)) {
        char detail[128];
        snprintf (detail, sizeof detail, "libvirt event on %s (was %s)", vm.host, vm.state);
        controller_task_vm_state (self, vm.name, (vm_state_t) seen, vm.last_task, detail);
    }
    Maekin__DomainEventReply ack = MAEKIN__DOMAIN_EVENT_REPLY__INIT;
    controller_reply_body (self, request, MK_OK, MAEKIN__ENVELOPE__BODY_DOMAIN_EVENT_REPLY, &ack);
}

void
controller_host_tick (controller_t *self, int64_t mono, int64_t stall)
{
    for (size_t i = 0; i < controller_sched_count (self->sched); i++) {
        sched_host_t *host = controller_sched_at (self->sched, i);
        if (stall > TICK_MS)
            host->last_seen_mono += stall;
        if (host->gone) {
            host->gone = false;
            if (host->up || host->unknown) {
                char detail[128];
                snprintf (detail, sizeof detail, "its agent left the bus (%s)", host->gone_why);
                controller_host_set_state (self, host, false, detail);
                continue;
            }
        }
        if ((host->up || host->unknown)
            && host->last_seen_mono + self->opts.host_timeout_ms < mono) {
            char detail[96];
            snprintf (detail, sizeof detail, "no report from its agent for %d s",
                      self->opts.host_timeout_ms / 1000);
            controller_host_set_state (self, host, false, detail);
        }
    }
}

bool
controller_host_seen_unwritable (controller_t *self, const mk_request_t *request)
{
    const Maekin__HostRegisterRequest *report = request->env->host_register;
    const char *name = report->host ? report->host->name : NULL;
    sched_host_t *host = name ? controller_sched_host (self->sched, name) : NULL;
    if (!host)
        return false;
    if (s_says_down (report->host) && !report->full) {
        //  Down in memory at once (placement passes it over); the database keeps what it
        //  had, and the agent's full report, once it has libvirt again, makes it up.
        if (host->up)
            mk_warn ("controller: host '%s' is down: its agent cannot reach libvirt (not "
                     "recorded: the database takes no writes)",
                     host->name);
        host->up = false;
        host->unsaved = false;
    } else if (!host->up || host->unsaved) {
        if (!host->unsaved)
            mk_info ("controller: host '%s' reported while the database takes no writes: "
                     "up, and recorded when the database takes writes again",
                     host->name);
        host->up = true;
        host->unsaved = true;
    }
    host->last_seen = zclock_time () / 1000;
    host->last_seen_mono = zclock_mono ();
    Maekin__HostRegisterReply answer = MAEKIN__HOST_REGISTER_REPLY__INIT;
    controller_reply_body (self, request, MK_OK, MAEKIN__ENVELOPE__BODY_HOST_REGISTER_REPLY,
                           &answer);
    return true;
}

/*  agent_server_int: what the agent actor's files share (agent_server_int.h): finding a
    host, gathering its jobs and handing them to its thread, whether it takes more, and
    what the controller was last told of each of its domains. Below the files that use
    it: agent_server.c (the loop, results, deadlines), agent_task.c and agent_report.c. */
#include "agent_server_int.h"

#include <ctype.h>

void
agent_server_uuid_key (const char *uuid, char key[VIR_UUID_STRING_BUFLEN])
{
    size_t i = 0;
    for (; uuid && uuid[i] && i < VIR_UUID_STRING_BUFLEN - 1; i++)
        key[i] = (char) tolower ((unsigned char) uuid[i]);
    key[i] = 0;
}

void
agent_server_known_set (agent_server_host_t *host, const char *uuid, const char *state)
{
    char key[VIR_UUID_STRING_BUFLEN];
    agent_server_uuid_key (uuid, key);
    if (!*key)
        return;
    //  Not defined, or libvirt could not say: the controller knows nothing for sure.
    if (!state || !*state || streq (state, "unknown"))
        zhashx_delete (host->known, key);
    else
        zhashx_update (host->known, key, mk_strdup (state));
}

agent_server_host_t *
agent_server_host_by_name (agent_server_t *self, const char *name)
{
    for (size_t i = 0; i < self->host_count; i++)
        if (streq (self->hosts[i].name, name))
            return &self->hosts[i];
    return NULL;
}

//  ---------------------------------------------------------------- the hand-off

agent_job_t *
agent_server_job (agent_server_t *self, agent_server_host_t *host, agent_job_kind_t kind, void *ref)
{
    if (!host->filling)
        host->filling = agent_work_new ();
    agent_job_t *job = agent_work_add (host->filling, kind);
    job->ref = ref;
    return job;
}

void
agent_server_flush (agent_server_t *self)
{
    for (size_t i = 0; i < self->host_count; i++) {
        agent_server_host_t *host = &self->hosts[i];
        if (!host->filling || !host->filling->count)
            continue;
        agent_server_pending_t *pending =
            (agent_server_pending_t *) zmalloc (sizeof (agent_server_pending_t));
        host->filling->owner = host;
        pending->work = host->filling;
        pending->heard_at = zclock_mono ();
        host->queued += host->filling->count;
        zlistx_add_end (host->pending, pending);
        agent_host_send (host->thread, &host->filling);
    }
}

int
agent_server_check_ms (agent_server_t *self)
{
    return self->report_ms < AGENT_CHECK_MS ? self->report_ms : AGENT_CHECK_MS;
}

double
agent_server_deadline_s (agent_server_t *self)
{
    return self->libvirt_timeout_ms / 1000.0;
}

bool
agent_server_full (agent_server_t *self, agent_server_host_t *host, size_t jobs)
{
    size_t gathered = host->filling ? host->filling->count : 0;
    return host->queued + gathered + jobs > AGENT_SERVER_QUEUE_MAX;
}

char *
agent_server_busy (agent_server_t *self, agent_server_host_t *host, size_t jobs)
{
    if (host->stuck_since)
        return zsys_sprintf ("libvirt on host '%s' has not answered for %.0f s; the host "
                             "takes tasks again once it does",
                             host->name,
                             (zclock_mono () - host->stuck_since) / 1000.0
                                 + agent_server_deadline_s (self));
    if (agent_server_full (self, host, jobs))
        return zsys_sprintf ("host '%s' is busy: %zu jobs wait for its libvirt (at most %d)",
                             host->name, host->queued, AGENT_SERVER_QUEUE_MAX);
    return NULL;
}

char *
agent_server_overdue (agent_server_t *self, agent_server_host_t *host)
{
    return zsys_sprintf ("libvirt on host '%s' did not answer within %g s", host->name,
                         agent_server_deadline_s (self));
}

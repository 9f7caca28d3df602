/*  agent_server: the agent's actor.

    One zloop: the pipe, the worker socket (tasks from the controller), the client socket
    (answers from `cloud`), the PULL socket of libvirt's events; a timer for bus
    heartbeats, one for the reports, and one that polls graceful stops while any runs.

    What the controller was last told of each domain (by a task's reply, a report or a
    forwarded event) is kept per host. A libvirt event is a hint that a domain changed:
    the actor asks libvirt for the domain's state now and forwards it only if it differs
    from what the controller was told. So the agent's own tasks do not echo back, nor do
    the steps on their way (a create defines before it starts; a delete stops before it
    undefines), nor events that arrive after a later task already changed the domain
    again. */
#include "agent_server.h"

#include <assert.h>
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libvirt/virterror.h>

#include "agent_domxml.h"
#include "agent_events.h"
#include "agent_libvirt.h"
#include "mk_client.h"
#include "mk_msg.h"
#include "mk_name.h"
#include "mk_wire.h"
#include "mk_worker.h"

//  Graceful stops are polled this often.
#define S_STOP_POLL_MS 100
//  A full report not answered within this long may be sent again.
#define S_FULL_PATIENCE_MS 30000
//  Names listed in one log line of drift, before "and N more".
#define S_DRIFT_NAMES 10
//  Tasks one task_batch may carry.
#define S_BATCH_MAX 4096
//  The token of a request that came inside a task_batch: its answer goes into the batch's
//  reply, not on the bus (the broker's tokens count up from 1 and never reach it).
#define S_IN_BATCH UINT64_MAX

//  What a request to `cloud` was, kept in its correlation id: kind, host, sequence.
typedef enum { S_REPORT_LIGHT = 1, S_REPORT_FULL = 2, S_EVENT = 3 } s_kind_t;
#define S_CORR(kind, host, seq)                                                          \
    (((uint64_t)(kind) << 56) | ((uint64_t)(host) << 40) | ((seq)&0xffffffffffULL))
#define S_CORR_KIND(corr) ((int)((corr) >> 56))
#define S_CORR_HOST(corr) ((size_t)(((corr) >> 40) & 0xffff))

typedef struct {
    char *name;                            //  the host's name
    char *uri;                             //  its libvirt URI
    char service[MK_WIRE_SERVICE_MAX + 1]; //  node/<name>
    size_t index;                          //  its place in the server's hosts
    agent_libvirt_t *libvirt;              //  the connection
    zhashx_t *known;          //  uuid -> state the controller was last told (char *)
    uint32_t vcpus;           //  CPUs, from libvirt's node info
    uint64_t memory_mb;       //  memory, from libvirt's node info
    uint64_t full_wanted;     //  counts reasons to send a full report
    uint64_t full_done;       //  the count a successful full report answered
    uint64_t full_sent_count; //  full_wanted when the unanswered full report left
    int64_t full_sent_at;     //  mono ms it left; 0 if none is unanswered
    bool unreachable;         //  said once that `cloud` cannot be reached
    bool disconnected;        //  libvirt's connection is lost; reconnecting
    char *drift;              //  the drift last logged, to log each once
} host_t;

//  A finished task's reply, and what the task was: a task id used again for another task
//  (a controller restored from an older backup counts its ids from there again) runs
//  anew instead of getting the other task's answer.
typedef struct {
    int op;
    char uuid[VIR_UUID_STRING_BUFLEN]; //  its domain, as s_uuid_key writes it
    zframe_t *packed;
} result_t;

//  A graceful stop in progress.
typedef struct {
    uint64_t task_id;    //  the STOP task
    host_t *host;        //  where its domain is
    Maekin__VmSpec spec; //  name and uuid (owned copies), for DESTROY and logs
    zlistx_t *tokens;    //  uint64_t *: the requests waiting for the answer
    int64_t deadline;    //  mono ms: power off after this
} stop_t;

typedef struct {
    zsock_t *pipe;          //  the actor's pipe
    char *endpoint;         //  the broker's endpoint
    char *domain_type;      //  for new domains: kvm, qemu or test
    char *console_dir;      //  for new domains: where serial consoles write
    int report_ms;          //  period of the light reports
    int stop_timeout_ms;    //  graceful stop, then power off
    int heartbeat_ms;       //  bus heartbeat interval
    host_t *hosts;          //  the hosts served
    size_t host_count;      //  how many
    agent_events_t *events; //  libvirt's event loop thread
    zsock_t *event_pull;    //  its events
    mk_worker_t *worker;    //  serves node/<host> for every host, and agent/<id>
    char agent_service[MK_WIRE_SERVICE_MAX + 1]; //  agent/<id>: task batches
    zframe_t *batch_answer; //  the answer to the batch item being run
    mk_client_t *client;    //  reports and events to `cloud`
    zloop_t *loop;          //  the actor's loop
    zhashx_t *results;      //  "task id" -> zframe_t *, the packed reply
    uint64_t *fifo;         //  task ids in results, oldest first (a ring)
    size_t fifo_head;       //  index of the oldest
    size_t fifo_count;      //  how many
    zhashx_t *stops;        //  "task id" -> stop_t *, graceful stops in progress
    int stop_timer;         //  the poll timer while stops run, else -1
    uint64_t seq;           //  sequence of requests to `cloud`
} server_t;


static char *
s_strdup (const char *text)
{
    char *copy = strdup (text ? text : "");
    if (!copy)
        abort ();
    return copy;
}

//  The key of a task id in the tables.
static void
s_task_key (uint64_t task_id, char key[24])
{
    snprintf (key, 24, "%" PRIu64, task_id);
}

//  A UUID as the tables keep it: lower case, as libvirt writes it.
static void
s_uuid_key (const char *uuid, char key[VIR_UUID_STRING_BUFLEN])
{
    size_t i = 0;
    for (; uuid && uuid[i] && i < VIR_UUID_STRING_BUFLEN - 1; i++)
        key[i] = (char)tolower ((unsigned char)uuid[i]);
    key[i] = 0;
}

//  ---------------------------------------------------------------- options

agent_host_t *
agent_server_hosts_parse (const char *text, size_t *count, char **error)
{
    assert (text && count && error);
    *count = 0;
    *error = NULL;
    if (text[strspn (text, " \t\r\n")] == 0) {
        *error = zsys_sprintf ("'agent/hosts' names no host (name=uri,...)");
        return NULL;
    }
    //  One block: the array, then a copy of the text cut into its strings.
    size_t pairs = 1;
    for (const char *c = text; *c; c++)
        pairs += *c == ',';
    size_t head = pairs * sizeof (agent_host_t);
    agent_host_t *hosts = (agent_host_t *)zmalloc (head + strlen (text) + 1);
    char *copy = (char *)hosts + head;
    strcpy (copy, text);

    size_t found = 0;
    char *rest = copy;
    while (rest) {
        char *pair = rest;
        rest = strchr (rest, ',');
        if (rest)
            *rest++ = 0;
        //  Blanks around a pair or its parts are the writer's layout, not the value.
        while (isspace ((unsigned char)*pair))
            pair++;
        char *end = pair + strlen (pair);
        while (end > pair && isspace ((unsigned char)end[-1]))
            *--end = 0;
        if (!*pair && pairs > 1 && !rest)
            break; //  a trailing comma
        char *equals = strchr (pair, '=');
        if (!equals) {
            *error = zsys_sprintf ("'agent/hosts': '%s' is not a name=uri pair", pair);
            break;
        }
        *equals = 0;
        char *name = pair, *uri = equals + 1;
        for (end = equals; end > name && isspace ((unsigned char)end[-1]);)
            *--end = 0;
        while (isspace ((unsigned char)*uri))
            uri++;
        const char *why = mk_name_check (name);
        if (why) {
            *error = zsys_sprintf ("'agent/hosts': host name '%s' %s", name, why);
            break;
        }
        if (strlen ("node/") + strlen (name) > MK_WIRE_SERVICE_MAX) {
            *error =
                zsys_sprintf ("'agent/hosts': host name '%s' is longer than %d characters "
                          "(it is served as node/<name>)",
                          name, (int)(MK_WIRE_SERVICE_MAX - strlen ("node/")));
            break;
        }
        if (!*uri) {
            *error = zsys_sprintf ("'agent/hosts': host '%s' has no libvirt URI", name);
            break;
        }
        for (size_t i = 0; i < found; i++)
            if (streq (hosts[i].name, name))
                *error = zsys_sprintf ("'agent/hosts': host '%s' is named twice", name);
        if (*error)
            break;
        if (found == AGENT_HOSTS_MAX) {
            *error = zsys_sprintf ("'agent/hosts': more than %d hosts", AGENT_HOSTS_MAX);
            break;
        }
        hosts[found].name = name;
        hosts[found].uri = uri;
        found++;
    }
    if (*error) {
        free (hosts);
        return NULL;
    }
    *count = found;
    return hosts;
}

char *
agent_server_opts_check (const agent_opts_t *opts)
{
    if (opts->report_ms < 10 || opts->report_ms > AGENT_REPORT_MS_MAX)
        return zsys_sprintf ("'agent/report_ms' must be at least 10 and at most %d",
                         AGENT_REPORT_MS_MAX);
    if (opts->stop_timeout_ms < 0 || opts->stop_timeout_ms > AGENT_STOP_S_MAX * 1000)
        return zsys_sprintf ("'agent/stop_timeout_s' must be at most %d (a day)",
                         AGENT_STOP_S_MAX);
    //  agent_domxml knows what its options may be: let it judge a small domain.
    Maekin__VmSpec probe = MAEKIN__VM_SPEC__INIT;
    probe.name = "probe";
    probe.uuid = "00000000-0000-4000-8000-000000000000";
    probe.vcpus = 1;
    probe.memory_mb = 64;
    agent_domxml_opts_t domxml = {opts->domain_type, opts->console_dir, NULL};
    char *error = NULL;
    char *xml = agent_domxml_build (&probe, &domxml, &error);
    free (xml);
    return error;
}

//  ---------------------------------------------------------------- replies to tasks

//  Answers a request with a status and a reason.
//  Answers a request: on the bus, or into the task batch it came in. Takes the frame.
static void
s_answer_frame (server_t *self, uint64_t token, zframe_t **frame_p)
{
    if (token == S_IN_BATCH) {
        assert (!self->batch_answer);
        self->batch_answer = *frame_p;
        *frame_p = NULL;
    }
    else
        mk_worker_reply_frame (self->worker, token, frame_p);
}

static void
s_answer (server_t *self, uint64_t token, Maekin__Envelope *env)
{
    zframe_t *frame = mk_msg_pack (env);
    s_answer_frame (self, token, &frame);
}

static void s_reply_status (server_t *self, uint64_t token, int status,
                            const char *format, ...)
    __attribute__ ((format (printf, 4, 5)));

static void
s_reply_status (server_t *self, uint64_t token, int status, const char *format, ...)
{
    char reason[512];
    va_list args;
    va_start (args, format);
    vsnprintf (reason, sizeof reason, format, args);
    va_end (args);
    mk_warn ("agent_server: refused a request: %s", reason);
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.status = status;
    env.reason = reason;
    s_answer (self, token, &env);
}

static zframe_t *
s_result_pack (uint64_t task_id, bool ok, const char *error, const char *state)
{
    Maekin__TaskResultReply result = MAEKIN__TASK_RESULT_REPLY__INIT;
    result.task_id = task_id;
    result.ok = ok;
    result.error = (char *)(error ? error : "");
    result.state = (char *)state;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.status = MK_OK;
    env.body_case = MAEKIN__ENVELOPE__BODY_TASK_RESULT;
    env.task_result = &result;
    return mk_msg_pack (&env);
}

//  Remembers a finished task's reply, forgetting the oldest beyond AGENT_SERVER_RESULTS.
static void
s_result_keep (server_t *self, uint64_t task_id, int op, const char *uuid, zframe_t *packed)
{
    result_t *result = (result_t *)zmalloc (sizeof (result_t));
    result->op = op;
    s_uuid_key (uuid ? uuid : "", result->uuid);
    result->packed = packed;
    char key[24];
    if (self->fifo_count == AGENT_SERVER_RESULTS) {
        s_task_key (self->fifo[self->fifo_head], key);
        zhashx_delete (self->results, key);
        self->fifo_head = (self->fifo_head + 1) % AGENT_SERVER_RESULTS;
        self->fifo_count--;
    }
    s_task_key (task_id, key);
    zhashx_update (self->results, key, result);
    self->fifo[(self->fifo_head + self->fifo_count) % AGENT_SERVER_RESULTS] = task_id;
    self->fifo_count++;
}

//  What the controller now knows of a domain.
static void
s_known_set (host_t *host, const char *uuid, const char *state)
{
    char key[VIR_UUID_STRING_BUFLEN];
    s_uuid_key (uuid, key);
    if (!*key)
        return;
    //  Not defined, or libvirt could not say: the controller knows nothing for sure.
    if (!state || !*state || streq (state, "unknown"))
        zhashx_delete (host->known, key);
    else
        zhashx_update (host->known, key, s_strdup (state));
}

//  The state after a task, for its reply: libvirt's word, or "unknown" if libvirt could
//  not say.
static const char *
s_state_now (host_t *host, const char *uuid)
{
    const char *state = uuid && *uuid ? agent_libvirt_state (host->libvirt, uuid) : NULL;
    return state ? state : "unknown";
}

//  Ends a task: the reply to every waiting token, remembered for repeats.
static void
s_task_finish (server_t *self, host_t *host, uint64_t task_id, int op, const char *uuid,
               const uint64_t *tokens, size_t token_count, bool ok, const char *error)
{
    const char *state = s_state_now (host, uuid);
    s_known_set (host, uuid, state);
    zframe_t *packed = s_result_pack (task_id, ok, error, state);
    for (size_t i = 0; i < token_count; i++) {
        zframe_t *copy = zframe_dup (packed);
        s_answer_frame (self, tokens[i], &copy);
    }
    s_result_keep (self, task_id, op, uuid, packed);
}

//  ---------------------------------------------------------------- graceful stops

static void
s_stop_free (void **item)
{
    stop_t *stop = (stop_t *)*item;
    free (stop->spec.name);
    free (stop->spec.uuid);
    zlistx_destroy (&stop->tokens);
    free (stop);
    *item = NULL;
}

static void
s_token_free (void **item)
{
    free (*item);
    *item = NULL;
}

static bool
s_stopping (server_t *self, host_t *host, const char *uuid_key)
{
    for (stop_t *stop = (stop_t *)zhashx_first (self->stops); stop;
         stop = (stop_t *)zhashx_next (self->stops)) {
        char key[VIR_UUID_STRING_BUFLEN];
        s_uuid_key (stop->spec.uuid, key);
        if (stop->host == host && streq (key, uuid_key))
            return true;
    }
    return false;
}

static void
s_stop_finish (server_t *self, stop_t *stop, bool ok, const char *error)
{
    size_t count = zlistx_size (stop->tokens);
    uint64_t *tokens = (uint64_t *)zmalloc ((count ? count : 1) * sizeof (uint64_t));
    size_t i = 0;
    for (uint64_t *token = (uint64_t *)zlistx_first (stop->tokens); token;
         token = (uint64_t *)zlistx_next (stop->tokens))
        tokens[i++] = *token;
    s_task_finish (self, stop->host, stop->task_id, MAEKIN__VM_OP__VM_OP_STOP, stop->spec.uuid,
                   tokens, count, ok,
                   error);
    free (tokens);
    char key[24];
    s_task_key (stop->task_id, key);
    zhashx_delete (self->stops, key);
}

//  True when a stopping domain is off (or gone).
static bool
s_stop_done (stop_t *stop)
{
    const char *state = agent_libvirt_state (stop->host->libvirt, stop->spec.uuid);
    return state && (streq (state, "stopped") || !*state);
}

//  The poll of graceful stops: finish those that are off, power off those past their
//  deadline.
static int
s_stop_poll (zloop_t *loop, int timer_id, void *arg)
{
    server_t *self = (server_t *)arg;
    int64_t now = zclock_mono ();
    zlistx_t *over = zlistx_new ();
    for (stop_t *stop = (stop_t *)zhashx_first (self->stops); stop;
         stop = (stop_t *)zhashx_next (self->stops))
        if (s_stop_done (stop) || now >= stop->deadline)
            zlistx_add_end (over, stop);
    for (stop_t *stop = (stop_t *)zlistx_first (over); stop;
         stop = (stop_t *)zlistx_next (over)) {
        if (s_stop_done (stop)) {
            s_stop_finish (self, stop, true, NULL);
            continue;
        }
        mk_warn (
            "agent_server: '%s' on host '%s' did not stop within %d s; powering it off",
            stop->spec.name, stop->host->name, self->stop_timeout_ms / 1000);
        char *error = NULL;
        int rc = agent_libvirt_run (stop->host->libvirt, MAEKIN__VM_OP__VM_OP_DESTROY,
                                    &stop->spec, &error);
        s_stop_finish (self, stop, rc == 0, error);
        free (error);
    }
    zlistx_destroy (&over);
    if (zhashx_size (self->stops) == 0 && self->stop_timer >= 0) {
        zloop_timer_end (loop, self->stop_timer);
        self->stop_timer = -1;
    }
    return 0;
}

//  A graceful stop was asked of libvirt: tell the caller it runs, then wait for it.
static void
s_stop_begin (server_t *self, host_t *host, uint64_t task_id, const Maekin__VmSpec *spec,
              uint64_t token)
{
    Maekin__TaskResultReply running = MAEKIN__TASK_RESULT_REPLY__INIT;
    running.task_id = task_id;
    running.ok = true;
    running.state = "stopping";
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.status = MK_OK;
    env.body_case = MAEKIN__ENVELOPE__BODY_TASK_RESULT;
    env.task_result = &running;
    mk_worker_progress (self->worker, token, &env);

    stop_t *stop = (stop_t *)zmalloc (sizeof (stop_t));
    stop->task_id = task_id;
    stop->host = host;
    stop->spec = (Maekin__VmSpec)MAEKIN__VM_SPEC__INIT;
    stop->spec.name = s_strdup (spec->name);
    stop->spec.uuid = s_strdup (spec->uuid);
    stop->tokens = zlistx_new ();
    zlistx_set_destructor (stop->tokens, s_token_free);
    uint64_t *copy = (uint64_t *)zmalloc (sizeof (uint64_t));
    *copy = token;
    zlistx_add_end (stop->tokens, copy);
    stop->deadline = zclock_mono () + self->stop_timeout_ms;
    //  A guest that is quick (or a test driver, which is instant) is done already.
    if (s_stop_done (stop)) {
        s_task_finish (self, host, task_id, MAEKIN__VM_OP__VM_OP_STOP, stop->spec.uuid, &token,
                       1, true, NULL);
        void *item = stop;
        s_stop_free (&item);
        return;
    }
    char key[24];
    s_task_key (task_id, key);
    zhashx_insert (self->stops, key, stop);
    if (self->stop_timer < 0)
        self->stop_timer = zloop_timer (self->loop, S_STOP_POLL_MS, 0, s_stop_poll, self);
}

//  ---------------------------------------------------------------- tasks

static host_t *
s_host_by_name (server_t *self, const char *name)
{
    for (size_t i = 0; i < self->host_count; i++)
        if (streq (self->hosts[i].name, name))
            return &self->hosts[i];
    return NULL;
}

//  The host a service names: node/<name>.
static host_t *
s_host_by_service (server_t *self, const char *service)
{
    return strncmp (service, "node/", 5) == 0 ? s_host_by_name (self, service + 5) : NULL;
}

static void
s_task_run (server_t *self, host_t *host, const Maekin__TaskDispatchRequest *task,
            uint64_t token)
{
    const Maekin__VmSpec *spec = task->vm;
    mk_debug ("agent_server: task %" PRIu64 ": %s '%s' on host '%s'", task->task_id,
              agent_libvirt_op_name (task->op), spec->name, host->name);
    char *error = NULL;
    if (task->op == MAEKIN__VM_OP__VM_OP_STOP) {
        //  Only a domain that runs has a shutdown to wait for.
        const char *before = agent_libvirt_state (host->libvirt, spec->uuid);
        if (before && *before && !streq (before, "stopped")) {
            if (agent_libvirt_run (host->libvirt, task->op, spec, &error) == 0)
                s_stop_begin (self, host, task->task_id, spec, token);
            else
                s_task_finish (self, host, task->task_id, task->op, spec->uuid, &token, 1, false,
                               error);
            free (error);
            return;
        }
    }
    int rc = agent_libvirt_run (host->libvirt, task->op, spec, &error);
    s_task_finish (self, host, task->task_id, task->op, spec->uuid, &token, 1, rc == 0, error);
    free (error);
}

//  What libvirt on the host has, as it is now.
static void
s_handle_domain_list (server_t *self, host_t *host, uint64_t token)
{
    agent_libvirt_domain_t *domains = NULL;
    size_t count = 0;
    if (agent_libvirt_list (host->libvirt, &domains, &count) != 0) {
        s_reply_status (self, token, MK_UNAVAILABLE, "host '%s': libvirt cannot list its domains",
                        host->name);
        return;
    }
    Maekin__Domain *items = (Maekin__Domain *) zmalloc ((count + 1) * sizeof (Maekin__Domain));
    Maekin__Domain **pointers = (Maekin__Domain **) zmalloc ((count + 1) * sizeof (Maekin__Domain *));
    for (size_t i = 0; i < count; i++) {
        items[i] = (Maekin__Domain) MAEKIN__DOMAIN__INIT;
        items[i].uuid = domains[i].uuid;
        items[i].name = domains[i].name;
        items[i].state = (char *) domains[i].state;
        pointers[i] = &items[i];
    }
    Maekin__DomainListReply list = MAEKIN__DOMAIN_LIST_REPLY__INIT;
    list.domains = pointers;
    list.n_domains = count;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.status = MK_OK;
    env.body_case = MAEKIN__ENVELOPE__BODY_DOMAIN_LIST_REPLY;
    env.domain_list_reply = &list;
    s_answer (self, token, &env);
    free (pointers);
    free (items);
    agent_libvirt_list_free (&domains, count);
}

static void s_handle_batch (server_t *self, const mk_request_t *request);

static void
s_handle_request (server_t *self, const mk_request_t *request)
{
    Maekin__Envelope *env = request->env;
    uint64_t token = request->token;
    host_t *host = s_host_by_service (self, request->service);
    if (!host && token != S_IN_BATCH && streq (request->service, self->agent_service)) {
        s_handle_batch (self, request);
        return;
    }
    if (!host) {
        s_reply_status (self, token, MK_NOT_FOUND, "this agent does not serve '%s'",
                        request->service);
        return;
    }
    if (env->body_case == MAEKIN__ENVELOPE__BODY_DOMAIN_LIST) {
        s_handle_domain_list (self, host, token);
        return;
    }
    if (env->body_case != MAEKIN__ENVELOPE__BODY_TASK_DISPATCH) {
        s_reply_status (self, token, MK_BAD_REQUEST,
                        "'%s' takes task_dispatch and domain_list requests, not '%s'",
                        host->service, mk_msg_body_name (env));
        return;
    }
    Maekin__TaskDispatchRequest *task = env->task_dispatch;
    if (task->task_id == 0) {
        s_reply_status (self, token, MK_BAD_REQUEST,
                        "a task_dispatch to '%s' has no task_id", host->service);
        return;
    }
    if (token == S_IN_BATCH && task->op == MAEKIN__VM_OP__VM_OP_STOP) {
        s_reply_status (self, token, MK_BAD_REQUEST,
                        "task %" PRIu64 " is a stop, which answers when its guest is off: "
                        "send it to '%s' on its own, not in a task_batch",
                        task->task_id, host->service);
        return;
    }
    //  A task seen before: its answer, and libvirt is not touched again.
    char key[24];
    s_task_key (task->task_id, key);
    result_t *done = (result_t *)zhashx_lookup (self->results, key);
    char uuid[VIR_UUID_STRING_BUFLEN];
    s_uuid_key (task->vm && task->vm->uuid ? task->vm->uuid : "", uuid);
    if (done && done->op == (int)task->op && streq (done->uuid, uuid)) {
        mk_debug ("agent_server: task %" PRIu64 " again; answered as before",
                  task->task_id);
        zframe_t *copy = zframe_dup (done->packed);
        s_answer_frame (self, token, &copy);
        return;
    }
    if (done) {
        mk_info ("agent_server: task %" PRIu64 " comes again for another operation or VM "
                 "(the controller's ids started over?); it runs as a new task",
                 task->task_id);
        zhashx_delete (self->results, key);
    }
    stop_t *stop = (stop_t *)zhashx_lookup (self->stops, key);
    if (stop && (token == S_IN_BATCH || task->op != MAEKIN__VM_OP__VM_OP_STOP)) {
        s_reply_status (self, token, MK_CONFLICT,
                        "task %" PRIu64 " is a stop of '%s' in progress; it answers when the "
                        "guest is off",
                        task->task_id, stop->spec.name);
        return;
    }
    if (stop) {
        mk_debug ("agent_server: task %" PRIu64
                  " again while it stops '%s'; both get the answer",
                  task->task_id, stop->spec.name);
        uint64_t *copy = (uint64_t *)zmalloc (sizeof (uint64_t));
        *copy = token;
        zlistx_add_end (stop->tokens, copy);
        return;
    }
    if (!agent_libvirt_alive (host->libvirt)) {
        s_reply_status (
            self, token, MK_UNAVAILABLE,
            "host '%s' has lost its connection to libvirt at '%s'; the agent is "
            "connecting again",
            host->name, host->uri);
        return;
    }
    if (!agent_libvirt_op_valid (task->op)) {
        s_reply_status (self, token, MK_BAD_REQUEST,
                        "task %" PRIu64
                        " has op %d; an agent runs 1..9 (create, start, stop, "
                        "reboot, suspend, resume, destroy, delete, define)",
                        task->task_id, (int)task->op);
        return;
    }
    if (!task->vm) {
        s_reply_status (self, token, MK_BAD_REQUEST,
                        "task %" PRIu64 " (%s) has no vm spec", task->task_id,
                        agent_libvirt_op_name (task->op));
        return;
    }
    s_task_run (self, host, task, token);
}

//  A task_batch to agent/<id>: each item runs as if it came on its own, in order, and
//  the one reply carries every item's answer in the same order.
static void
s_handle_batch (server_t *self, const mk_request_t *request)
{
    const Maekin__Envelope *env = request->env;
    if (env->body_case != MAEKIN__ENVELOPE__BODY_TASK_BATCH) {
        s_reply_status (self, request->token, MK_BAD_REQUEST,
                        "'%s' takes task_batch requests, not '%s'", self->agent_service,
                        mk_msg_body_name (env));
        return;
    }
    const Maekin__TaskBatchRequest *batch = env->task_batch;
    if (batch->n_items > S_BATCH_MAX) {
        s_reply_status (self, request->token, MK_BAD_REQUEST,
                        "a task_batch of %zu tasks; an agent takes at most %d in one",
                        batch->n_items, S_BATCH_MAX);
        return;
    }
    zframe_t **answers = (zframe_t **)zmalloc ((batch->n_items + 1) * sizeof (zframe_t *));
    for (size_t i = 0; i < batch->n_items; i++) {
        const Maekin__TaskBatchItem *item = batch->items[i];
        const char *why = NULL;
        mk_request_t inner = {.token = S_IN_BATCH};
        inner.env = mk_msg_unpack (item->request.data, item->request.len, &why);
        if (!inner.env)
            s_reply_status (self, S_IN_BATCH, MK_BAD_REQUEST,
                            "item %zu of a task_batch: %s", i, why);
        else if (!item->service || strlen (item->service) >= sizeof inner.service)
            s_reply_status (self, S_IN_BATCH, MK_BAD_REQUEST,
                            "item %zu of a task_batch names no service", i);
        else {
            snprintf (inner.service, sizeof inner.service, "%s", item->service);
            s_handle_request (self, &inner);
        }
        mk_msg_free (&inner.env);
        //  Every path through s_handle_request answers once; should one not, the item
        //  says so rather than the batch going unanswered.
        if (!self->batch_answer) {
            mk_error ("agent_server: item %zu of a task_batch got no answer", i);
            s_reply_status (self, S_IN_BATCH, MK_INTERNAL, "the agent had no answer");
        }
        answers[i] = self->batch_answer;
        self->batch_answer = NULL;
        //  Tasks on a real hypervisor take seconds: the broker must still hear from us.
        mk_worker_tick (self->worker);
    }
    mk_worker_reply_batch (self->worker, request->token, answers, batch->n_items);
    free (answers);
}

static int
s_handle_worker (zloop_t *loop, zsock_t *reader, void *arg)
{
    server_t *self = (server_t *)arg;
    //  A batch at a time, so that heartbeats and events still get their turn.
    for (int i = 0; i < 1000; i++) {
        mk_request_t request;
        int rc = mk_worker_recv_nowait (self->worker, &request);
        if (rc < 0)
            break;
        if (rc == 1) {
            s_handle_request (self, &request);
            mk_request_clear (&request);
        }
    }
    return 0;
}

//  ---------------------------------------------------------------- reports to `cloud`

static void
s_report (server_t *self, host_t *host, bool full)
{
    agent_libvirt_domain_t *domains = NULL;
    size_t count = 0;
    if (full) {
        uint32_t vcpus;
        uint64_t memory_mb;
        if (agent_libvirt_node (host->libvirt, &vcpus, &memory_mb) == 0) {
            host->vcpus = vcpus;
            host->memory_mb = memory_mb;
        }
        //  Without the list a full report would say the host has nothing.
        full = agent_libvirt_list (host->libvirt, &domains, &count) == 0;
    }
    Maekin__Host info = MAEKIN__HOST__INIT;
    info.name = host->name;
    info.state = "up";
    info.vcpus = host->vcpus;
    info.memory_mb = host->memory_mb;
    info.uri = host->uri;
    Maekin__HostRegisterRequest report = MAEKIN__HOST_REGISTER_REQUEST__INIT;
    report.host = &info;
    report.full = full;
    report.agent = self->agent_service;
    Maekin__Domain *items = NULL;
    Maekin__Domain **pointers = NULL;
    if (full) {
        info.vm_count = (uint32_t)count;
        items = (Maekin__Domain *)zmalloc ((count ? count : 1) * sizeof (Maekin__Domain));
        pointers =
            (Maekin__Domain **)zmalloc ((count ? count : 1) * sizeof (Maekin__Domain *));
        //  The controller is told everything: that is now what it knows.
        zhashx_purge (host->known);
        for (size_t i = 0; i < count; i++) {
            items[i] = (Maekin__Domain)MAEKIN__DOMAIN__INIT;
            items[i].uuid = domains[i].uuid;
            items[i].name = domains[i].name;
            items[i].state = (char *)domains[i].state;
            pointers[i] = &items[i];
            s_known_set (host, domains[i].uuid, domains[i].state);
        }
        report.domains = pointers;
        report.n_domains = count;
    }
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_HOST_REGISTER;
    env.host_register = &report;
    uint64_t corr =
        S_CORR (full ? S_REPORT_FULL : S_REPORT_LIGHT, host->index, ++self->seq);
    if (mk_client_send_as (self->client, "cloud", corr, &env) == 0 && full) {
        host->full_sent_at = zclock_mono ();
        host->full_sent_count = host->full_wanted;
    }
    if (full)
        mk_debug ("agent_server: host '%s': full report sent, %zu domain%s", host->name,
                  count, count == 1 ? "" : "s");
    free (items);
    free (pointers);
    agent_libvirt_list_free (&domains, count);
}

//  A full report is due unless one is on its way.
static void
s_report_host (server_t *self, host_t *host)
{
    bool wanted = host->full_wanted > host->full_done;
    bool waiting =
        host->full_sent_at && zclock_mono () - host->full_sent_at < S_FULL_PATIENCE_MS;
    s_report (self, host, wanted && !waiting);
}

//  A connection that died (libvirtd restarted) is opened again. Until it is, the host
//  is not reported, so that the controller soon sees it down; once it is, a full report
//  tells the controller what libvirt has.
static bool
s_reconnect (server_t *self, host_t *host)
{
    if (agent_libvirt_alive (host->libvirt))
        return true;
    if (!host->disconnected) {
        mk_error ("agent_server: host '%s': lost the connection to libvirt at '%s'; "
                  "connecting again every %d ms",
                  host->name, host->uri, self->report_ms);
        host->disconnected = true;
        agent_events_unwatch (self->events, agent_libvirt_conn (host->libvirt));
    }
    char *error = NULL;
    if (agent_libvirt_reconnect (host->libvirt, &error) != 0) {
        mk_debug ("agent_server: host '%s': %s", host->name, error);
        free (error);
        return false;
    }
    agent_events_watch (self->events, host->name, agent_libvirt_conn (host->libvirt));
    mk_info ("agent_server: host '%s': connected to libvirt at '%s' again", host->name,
             host->uri);
    host->disconnected = false;
    host->full_wanted++;
    return true;
}

static int
s_report_all (zloop_t *loop, int timer_id, void *arg)
{
    server_t *self = (server_t *)arg;
    for (size_t i = 0; i < self->host_count; i++)
        if (s_reconnect (self, &self->hosts[i]))
            s_report_host (self, &self->hosts[i]);
    return 0;
}

//  Appends "N things (a, b, ...)<tail>" for one list of the reply, if it has any.
static void
s_drift_part (zchunk_t *text, size_t count, char **names, const char *singular,
              const char *plural, const char *tail_one, const char *tail_more)
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
s_log_drift (host_t *host, const Maekin__HostRegisterReply *reply)
{
    zchunk_t *text = zchunk_new (NULL, 256);
    s_drift_part (text, reply->n_missing, reply->missing, "VM missing from libvirt",
                  "VMs missing from libvirt", "; the controller repairs it",
                  "; the controller repairs them");
    s_drift_part (text, reply->n_unexpected, reply->unexpected,
                  "domain in libvirt the cloud does not know",
                  "domains in libvirt the cloud does not know", "", "");
    s_drift_part (text, reply->n_changed, reply->changed,
                  "VM in another state than the cloud had",
                  "VMs in another state than the cloud had",
                  "; the cloud now has libvirt's", "; the cloud now has libvirt's");
    zchunk_extend (text, "", 1);
    const char *line = (const char *)zchunk_data (text);
    if (*line && !(host->drift && streq (host->drift, line)))
        mk_warn ("agent_server: host '%s': %s", host->name, line);
    free (host->drift);
    host->drift = *line ? s_strdup (line) : NULL;
    zchunk_destroy (&text);
}

//  `cloud` could not be reached: said once, until it answers again.
static void
s_unreachable (server_t *self, host_t *host, const Maekin__Envelope *env)
{
    if (host->unreachable)
        return;
    host->unreachable = true;
    mk_warn (
        "agent_server: host '%s': cannot report to 'cloud' (%d: %s); trying again every "
        "%d ms",
        host->name, env->status, env->reason && *env->reason ? env->reason : "no reason",
        self->report_ms);
}

static void
s_handle_report_reply (server_t *self, host_t *host, bool full,
                       const Maekin__Envelope *env)
{
    if (full)
        host->full_sent_at = 0;
    if (env->status != MK_OK ||
        env->body_case != MAEKIN__ENVELOPE__BODY_HOST_REGISTER_REPLY) {
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
    if (reply->send_full) {
        mk_info ("agent_server: host '%s': 'cloud' asks for a full report", host->name);
        host->full_wanted++;
        s_report_host (self, host);
    }
}

static int
s_handle_client (zloop_t *loop, zsock_t *reader, void *arg)
{
    server_t *self = (server_t *)arg;
    mk_reply_t reply;
    for (int i = 0; i < 1000 && mk_client_recv (self->client, &reply, 0) == 0; i++) {
        size_t index = S_CORR_HOST (reply.corr);
        int kind = S_CORR_KIND (reply.corr);
        if (reply.progress || index >= self->host_count)
            ;
        else if (kind == S_REPORT_LIGHT || kind == S_REPORT_FULL)
            s_handle_report_reply (self, &self->hosts[index], kind == S_REPORT_FULL,
                                   reply.env);
        else if (kind == S_EVENT && reply.env->status != MK_OK) {
            //  The controller may have missed a change: the next report tells all.
            s_unreachable (self, &self->hosts[index], reply.env);
            self->hosts[index].full_wanted++;
        }
        mk_reply_clear (&reply);
    }
    return 0;
}

//  ---------------------------------------------------------------- libvirt events

static void
s_handle_event (server_t *self, const agent_event_t *event)
{
    host_t *host = s_host_by_name (self, event->host);
    if (!host)
        return;
    char uuid[VIR_UUID_STRING_BUFLEN];
    s_uuid_key (event->uuid, uuid);
    if (s_stopping (self, host, uuid))
        return; //  its task's reply will say
    const char *known = (const char *)zhashx_lookup (host->known, uuid);
    if (!known)
        known = "";
    bool hint = !streq (event->state, "?");
    if (hint && streq (event->state, known))
        return;
    const char *now = agent_libvirt_state (host->libvirt, uuid);
    if (!now && !hint)
        return;
    if (!now)
        now = event->state;
    if (streq (now, known)) {
        mk_debug ("agent_server: host '%s': '%s' %s, still %s as the cloud knows",
                  host->name, event->name, event->event, *now ? now : "undefined");
        return;
    }
    mk_info ("agent_server: host '%s': '%s' is now %s (libvirt: %s), not by a task",
             host->name, event->name, *now ? now : "undefined", event->event);
    Maekin__Domain domain = MAEKIN__DOMAIN__INIT;
    domain.uuid = uuid;
    domain.name = event->name;
    domain.state = (char *)now;
    Maekin__DomainEventRequest request = MAEKIN__DOMAIN_EVENT_REQUEST__INIT;
    request.host = host->name;
    request.domain = &domain;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_DOMAIN_EVENT;
    env.domain_event = &request;
    if (mk_client_send_as (self->client, "cloud",
                           S_CORR (S_EVENT, host->index, ++self->seq), &env) != 0)
        host->full_wanted++;
    s_known_set (host, uuid, now);
}

static int
s_handle_events (zloop_t *loop, zsock_t *reader, void *arg)
{
    server_t *self = (server_t *)arg;
    for (int i = 0; i < 1000; i++) {
        agent_event_t event;
        if (agent_event_recv (reader, &event) == 0)
            s_handle_event (self, &event);
        agent_event_clear (&event);
        if (!(zsock_events (reader) & ZMQ_POLLIN))
            break;
    }
    return 0;
}

//  ---------------------------------------------------------------- the actor

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
    server_t *self = (server_t *)arg;
    mk_worker_tick (self->worker);
    return 0;
}

static void
s_server_destroy (server_t **self_p)
{
    server_t *self = *self_p;
    if (!self)
        return;
    if (self->stops && zhashx_size (self->stops))
        mk_info ("agent_server: %zu graceful stop%s still running; the controller will "
                 "ask again",
                 zhashx_size (self->stops), zhashx_size (self->stops) == 1 ? "" : "s");
    zloop_destroy (&self->loop);
    zhashx_destroy (&self->stops);
    zhashx_destroy (&self->results);
    free (self->fifo);
    mk_worker_destroy (&self->worker);
    mk_client_destroy (&self->client);
    //  Events first, then connections, then the loop thread that releases them.
    for (size_t i = 0; i < self->host_count; i++)
        if (self->hosts[i].libvirt && self->events)
            agent_events_unwatch (self->events,
                                  agent_libvirt_conn (self->hosts[i].libvirt));
    for (size_t i = 0; i < self->host_count; i++) {
        host_t *host = &self->hosts[i];
        agent_libvirt_destroy (&host->libvirt);
        zhashx_destroy (&host->known);
        free (host->name);
        free (host->uri);
        free (host->drift);
    }
    agent_events_destroy (&self->events);
    zsock_destroy (&self->event_pull);
    free (self->hosts);
    free (self->endpoint);
    free (self->domain_type);
    free (self->console_dir);
    free (self);
    *self_p = NULL;
}

static void
s_result_free (void **item)
{
    result_t *result = (result_t *)*item;
    zframe_destroy (&result->packed);
    free (result);
    *item = NULL;
}

static void
s_string_free (void **item)
{
    free (*item);
    *item = NULL;
}

//  Everything but the loop; NULL with *error (a new string) if something cannot start.
static server_t *
s_server_new (zsock_t *pipe, const agent_opts_t *opts, char **error)
{
    assert (opts->endpoint && opts->hosts);
    server_t *self = (server_t *)zmalloc (sizeof (server_t));
    self->pipe = pipe;
    self->endpoint = s_strdup (opts->endpoint);
    self->domain_type = s_strdup (opts->domain_type);
    self->console_dir = s_strdup (opts->console_dir);
    self->report_ms = opts->report_ms > 0 ? opts->report_ms : 2000;
    self->stop_timeout_ms = opts->stop_timeout_ms;
    self->heartbeat_ms =
        opts->heartbeat_ms > 0 ? opts->heartbeat_ms : MK_WIRE_HEARTBEAT_MS;
    self->stop_timer = -1;
    if (opts->host_count < 1 || opts->host_count > AGENT_HOSTS_MAX) {
        *error = zsys_sprintf ("agent_server: %zu hosts; an agent serves 1..%d",
                           opts->host_count, AGENT_HOSTS_MAX);
        s_server_destroy (&self);
        return NULL;
    }
    self->hosts = (host_t *)zmalloc (opts->host_count * sizeof (host_t));
    self->host_count = opts->host_count;
    for (size_t i = 0; i < self->host_count; i++) {
        host_t *host = &self->hosts[i];
        host->name = s_strdup (opts->hosts[i].name);
        host->uri = s_strdup (opts->hosts[i].uri);
        host->index = i;
        host->known = zhashx_new ();
        zhashx_set_destructor (host->known, s_string_free);
        host->full_wanted = 1;
        snprintf (host->service, sizeof host->service, "node/%s", host->name);
    }

    //  libvirt's event loop must be there before the first connection opens.
    char endpoint[64];
    snprintf (endpoint, sizeof endpoint, "inproc://agent_server-events-%p", (void *)self);
    self->event_pull = zsock_new (ZMQ_PULL);
    assert (self->event_pull);
    zsock_set_rcvhwm (self->event_pull, 100000);
    if (zsock_bind (self->event_pull, "%s", endpoint) != 0 ||
        !(self->events = agent_events_new (endpoint))) {
        *error = zsys_sprintf ("agent_server: cannot start libvirt's event loop");
        s_server_destroy (&self);
        return NULL;
    }
    agent_domxml_opts_t domxml = {self->domain_type, self->console_dir, NULL};
    for (size_t i = 0; i < self->host_count; i++) {
        host_t *host = &self->hosts[i];
        host->libvirt = agent_libvirt_new (host->name, host->uri, &domxml, error);
        if (!host->libvirt) {
            s_server_destroy (&self);
            return NULL;
        }
        //  Without events the agent still works: full reports find every change.
        agent_events_watch (self->events, host->name, agent_libvirt_conn (host->libvirt));
        if (agent_libvirt_node (host->libvirt, &host->vcpus, &host->memory_mb) == 0)
            mk_info ("agent_server: host '%s' at %s: %" PRIu32 " CPUs, %" PRIu64 " MiB",
                     host->name, host->uri, host->vcpus, host->memory_mb);
    }

    //  The process's own service, for task batches: unique to this run of this process.
    char machine[64] = "localhost";
    if (gethostname (machine, sizeof machine) != 0)
        snprintf (machine, sizeof machine, "localhost");
    machine[sizeof machine - 1] = 0;
    snprintf (self->agent_service, sizeof self->agent_service, "agent/%.40s-%d-%04x",
              machine, (int)getpid (), (unsigned)randof (0x10000));
    const char **services =
        (const char **)zmalloc ((self->host_count + 1) * sizeof (char *));
    for (size_t i = 0; i < self->host_count; i++)
        services[i] = self->hosts[i].service;
    services[self->host_count] = self->agent_service;
    self->worker = mk_worker_new (self->endpoint, services, self->host_count + 1);
    free (services);
    self->client = self->worker ? mk_client_new (self->endpoint) : NULL;
    if (!self->client) {
        *error = zsys_sprintf ("agent_server: cannot connect to the broker at '%s'",
                           self->endpoint);
        s_server_destroy (&self);
        return NULL;
    }
    mk_worker_set_heartbeat (self->worker, self->heartbeat_ms);

    self->results = zhashx_new ();
    zhashx_set_destructor (self->results, s_result_free);
    self->fifo = (uint64_t *)zmalloc (AGENT_SERVER_RESULTS * sizeof (uint64_t));
    self->stops = zhashx_new ();
    zhashx_set_destructor (self->stops, s_stop_free);

    self->loop = zloop_new ();
    zloop_set_nonstop (self->loop, true);
    zloop_reader (self->loop, pipe, s_handle_pipe, self);
    zloop_reader (self->loop, mk_worker_sock (self->worker), s_handle_worker, self);
    zloop_reader (self->loop, mk_client_sock (self->client), s_handle_client, self);
    zloop_reader (self->loop, self->event_pull, s_handle_events, self);
    zloop_timer (self->loop, (size_t)self->heartbeat_ms, 0, s_tick, self);
    zloop_timer (self->loop, (size_t)self->report_ms, 0, s_report_all, self);
    return self;
}

void
agent_server_actor (zsock_t *pipe, void *args)
{
    char *error = NULL;
    server_t *self = s_server_new (pipe, (const agent_opts_t *)args, &error);
    zsock_signal (pipe, 0);
    if (!self) {
        zstr_sendx (pipe, "ERROR", error, NULL);
        free (error);
        return;
    }
    zstr_send (pipe, "OK");
    mk_info ("agent_server: serving %zu host%s on %s", self->host_count,
             self->host_count == 1 ? "" : "s", self->endpoint);
    s_report_all (self->loop, -1, self);
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
    zactor_t *self = zactor_new (agent_server_actor, (void *)opts);
    char *status = NULL, *error = NULL;
    zstr_recvx (self, &status, &error, NULL);
    if (!status || !streq (status, "OK")) {
        mk_error ("%s", error ? error : "agent_server: the actor did not start");
        zactor_destroy (&self);
    }
    zstr_free (&status);
    zstr_free (&error);
    return self;
}

//  --------------------------------------------------------------------------
//  Self-test

#include "broker_router.h"

//  What the fake controller heard from one host.
typedef struct {
    size_t fulls;   //  full reports
    size_t lights;  //  light reports
    uint32_t vcpus; //  of the last full report
    uint64_t memory_mb;
    char domains[1024]; //  names of the last full report, each followed by ','
    bool send_full;     //  answer the next light report with send_full
    char agent[64];     //  the agent's own service, as the reports name it
} s_heard_t;

//  The fake `cloud`: answers reports and events, and records them. Pipe commands:
//  "HOST name" -> "fulls lights vcpus memory_mb [name,name,]"; "EVENTS" -> one frame per
//  event "host uuid name state" after a count; "SENDFULL name" -> "OK".
static void
s_cloud_actor (zsock_t *pipe, void *args)
{
    const char *endpoint = (const char *)args;
    const char *services[] = {"cloud"};
    mk_worker_t *worker = mk_worker_new (endpoint, services, 1);
    assert (worker);
    mk_worker_set_heartbeat (worker, 100);
    zhashx_t *hosts = zhashx_new ();
    zhashx_set_destructor (hosts, s_string_free);
    zlistx_t *events = zlistx_new ();
    zlistx_set_destructor (events, s_string_free);
    zsock_signal (pipe, 0);
    zpoller_t *poller = zpoller_new (pipe, mk_worker_sock (worker), NULL);
    while (true) {
        void *which = zpoller_wait (poller, 50);
        mk_worker_tick (worker);
        if (which == pipe) {
            char *command = NULL, *name = NULL;
            zstr_recvx (pipe, &command, &name, NULL);
            bool term = !command || streq (command, "$TERM");
            if (!term && streq (command, "EVENTS")) {
                zmsg_t *msg = zmsg_new ();
                zmsg_addstrf (msg, "%zu", zlistx_size (events));
                for (char *e = (char *)zlistx_first (events); e;
                     e = (char *)zlistx_next (events))
                    zmsg_addstr (msg, e);
                zmsg_send (&msg, pipe);
            } else if (!term) {
                s_heard_t *heard = (s_heard_t *)zhashx_lookup (hosts, name ? name : "");
                if (streq (command, "SENDFULL") && heard)
                    heard->send_full = true;
                if (streq (command, "SENDFULL"))
                    zstr_send (pipe, "OK");
                else if (streq (command, "AGENT"))
                    zstr_send (pipe, heard ? heard->agent : "");
                else if (heard)
                    zstr_sendf (pipe, "%zu %zu %" PRIu32 " %" PRIu64 " [%s]",
                                heard->fulls, heard->lights, heard->vcpus,
                                heard->memory_mb, heard->domains);
                else
                    zstr_send (pipe, "0 0 0 0 []");
            }
            zstr_free (&command);
            zstr_free (&name);
            if (term)
                break;
        } else if (which) {
            mk_request_t request;
            if (mk_worker_recv (worker, &request) != 1)
                continue;
            Maekin__Envelope *env = request.env;
            Maekin__Envelope answer = MAEKIN__ENVELOPE__INIT;
            answer.status = MK_OK;
            Maekin__HostRegisterReply registered = MAEKIN__HOST_REGISTER_REPLY__INIT;
            Maekin__DomainEventReply noted = MAEKIN__DOMAIN_EVENT_REPLY__INIT;
            char *ghosts[] = {"ghost-1", "ghost-2"};
            if (env->body_case == MAEKIN__ENVELOPE__BODY_HOST_REGISTER) {
                Maekin__HostRegisterRequest *report = env->host_register;
                assert (report->host && streq (report->host->state, "up"));
                s_heard_t *heard = (s_heard_t *)zhashx_lookup (hosts, report->host->name);
                if (!heard) {
                    heard = (s_heard_t *)zmalloc (sizeof (s_heard_t));
                    zhashx_insert (hosts, report->host->name, heard);
                }
                snprintf (heard->agent, sizeof heard->agent, "%s",
                          report->agent ? report->agent : "");
                if (report->full) {
                    heard->fulls++;
                    heard->vcpus = report->host->vcpus;
                    heard->memory_mb = report->host->memory_mb;
                    heard->domains[0] = 0;
                    for (size_t i = 0; i < report->n_domains; i++) {
                        size_t used = strlen (heard->domains);
                        snprintf (heard->domains + used, sizeof heard->domains - used,
                                  "%s,", report->domains[i]->name);
                    }
                    //  The drift a controller finds, for the agent to log once.
                    if (streq (report->host->name, "node1")) {
                        registered.missing = ghosts;
                        registered.n_missing = 2;
                    }
                } else {
                    heard->lights++;
                    registered.send_full = heard->send_full;
                    heard->send_full = false;
                }
                answer.body_case = MAEKIN__ENVELOPE__BODY_HOST_REGISTER_REPLY;
                answer.host_register_reply = &registered;
            } else if (env->body_case == MAEKIN__ENVELOPE__BODY_DOMAIN_EVENT) {
                Maekin__DomainEventRequest *event = env->domain_event;
                assert (event->domain);
                zlistx_add_end (events,
                                zsys_sprintf ("%s %s %s %s", event->host, event->domain->uuid,
                                          event->domain->name, event->domain->state));
                answer.body_case = MAEKIN__ENVELOPE__BODY_DOMAIN_EVENT_REPLY;
                answer.domain_event_reply = &noted;
            } else
                answer.status = MK_BAD_REQUEST;
            mk_worker_reply (worker, request.token, &answer);
            mk_request_clear (&request);
        }
    }
    zpoller_destroy (&poller);
    zlistx_destroy (&events);
    zhashx_destroy (&hosts);
    mk_worker_destroy (&worker);
}

//  What the fake cloud heard from a host (a new string).
static char *
s_cloud_host (zactor_t *cloud, const char *name)
{
    zstr_sendx (cloud, "HOST", name, NULL);
    return zstr_recv (cloud);
}

//  Waits until the fake cloud has at least `fulls` full reports from a host.
static char *
s_cloud_wait_full (zactor_t *cloud, const char *name, size_t fulls)
{
    int64_t deadline = zclock_mono () + 3000;
    while (true) {
        char *heard = s_cloud_host (cloud, name);
        if ((size_t)atol (heard) >= fulls)
            return heard;
        assert (zclock_mono () < deadline);
        free (heard);
        zclock_sleep (20);
    }
}

//  The events the fake cloud received, as one string "count|e1|e2...".
static char *
s_cloud_events (zactor_t *cloud)
{
    zstr_send (cloud, "EVENTS");
    zmsg_t *msg = zmsg_recv (cloud);
    zchunk_t *text = zchunk_new (NULL, 256);
    for (char *part = zmsg_popstr (msg); part; part = zmsg_popstr (msg)) {
        if (zchunk_size (text))
            zchunk_extend (text, "|", 1);
        zchunk_extend (text, part, strlen (part));
        free (part);
    }
    zchunk_extend (text, "", 1);
    char *events = s_strdup ((char *)zchunk_data (text));
    zchunk_destroy (&text);
    zmsg_destroy (&msg);
    return events;
}

//  A task's outcome as the test client saw it.
typedef struct {
    int status;
    char reason[512];
    size_t progress; //  progress messages before the reply
    bool ok;
    char error[512];
    char state[32];
    uint64_t task_id;
    char domains[512];  //  a domain list's "name:state" words
} s_outcome_t;

//  Sends a request to node/<host> and waits for its reply.
static s_outcome_t
s_call (mk_client_t *client, const char *host, Maekin__Envelope *env)
{
    char service[80];
    snprintf (service, sizeof service, "node/%s", host);
    uint64_t corr = mk_client_send (client, service, env);
    assert (corr);
    s_outcome_t outcome;
    memset (&outcome, 0, sizeof outcome);
    while (true) {
        mk_reply_t reply;
        assert (mk_client_recv (client, &reply, 3000) == 0);
        assert (reply.corr == corr);
        Maekin__Envelope *answer = reply.env;
        if (reply.progress) {
            assert (answer->body_case == MAEKIN__ENVELOPE__BODY_TASK_RESULT);
            assert (answer->task_result->ok &&
                    streq (answer->task_result->state, "stopping"));
            outcome.progress++;
            mk_reply_clear (&reply);
            continue;
        }
        outcome.status = answer->status;
        snprintf (outcome.reason, sizeof outcome.reason, "%s",
                  answer->reason ? answer->reason : "");
        if (answer->body_case == MAEKIN__ENVELOPE__BODY_TASK_RESULT) {
            Maekin__TaskResultReply *result = answer->task_result;
            outcome.ok = result->ok;
            outcome.task_id = result->task_id;
            snprintf (outcome.error, sizeof outcome.error, "%s", result->error);
            snprintf (outcome.state, sizeof outcome.state, "%s", result->state);
        }
        if (answer->body_case == MAEKIN__ENVELOPE__BODY_DOMAIN_LIST_REPLY)
            for (size_t i = 0; i < answer->domain_list_reply->n_domains; i++) {
                Maekin__Domain *d = answer->domain_list_reply->domains[i];
                size_t used = strlen (outcome.domains);
                snprintf (outcome.domains + used, sizeof outcome.domains - used, "%s:%s ",
                          d->name, d->state);
            }
        mk_reply_clear (&reply);
        return outcome;
    }
}

//  What libvirt on a host has, asked of the agent.
static s_outcome_t
s_domains (mk_client_t *client, const char *host)
{
    Maekin__DomainListRequest domain_list = MAEKIN__DOMAIN_LIST_REQUEST__INIT;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_DOMAIN_LIST;
    env.domain_list = &domain_list;
    return s_call (client, host, &env);
}

//  One item of a task batch: a task_dispatch to node/<host>, packed.
static zframe_t *
s_batch_item (uint64_t task_id, int op, const Maekin__VmSpec *spec)
{
    Maekin__TaskDispatchRequest task = MAEKIN__TASK_DISPATCH_REQUEST__INIT;
    task.task_id = task_id;
    task.op = (Maekin__VmOp)op;
    task.vm = (Maekin__VmSpec *)spec;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_TASK_DISPATCH;
    env.task_dispatch = &task;
    return mk_msg_pack (&env);
}

static s_outcome_t
s_task (mk_client_t *client, const char *host, uint64_t task_id, int op,
        const Maekin__VmSpec *spec, bool verbose)
{
    Maekin__TaskDispatchRequest task = MAEKIN__TASK_DISPATCH_REQUEST__INIT;
    task.task_id = task_id;
    task.op = (Maekin__VmOp)op;
    task.vm = (Maekin__VmSpec *)spec;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_TASK_DISPATCH;
    env.task_dispatch = &task;
    s_outcome_t outcome = s_call (client, host, &env);
    if (verbose) {
        printf ("  task %" PRIu64 " %s '%s' on %s: %d %s%s%s%s\n", task_id,
                agent_libvirt_op_name ((Maekin__VmOp)op), spec ? spec->name : "-", host,
                outcome.status,
                outcome.status == MK_OK ? (outcome.ok ? "ok" : "failed") : outcome.reason,
                outcome.progress ? " after progress" : "",
                outcome.status == MK_OK ? ", state " : "",
                outcome.status == MK_OK ? (*outcome.state ? outcome.state : "''") : "");
        if (*outcome.error)
            printf ("    %s\n", outcome.error);
    }
    return outcome;
}

//  A task that must succeed and leave the domain in a state.
static void
s_task_ok (mk_client_t *client, const char *host, uint64_t task_id, int op,
           const Maekin__VmSpec *spec, const char *state, bool verbose)
{
    s_outcome_t outcome = s_task (client, host, task_id, op, spec, verbose);
    assert (outcome.status == MK_OK && outcome.ok && outcome.task_id == task_id);
    assert (!*outcome.error && streq (outcome.state, state));
    //  Only a stop of a running domain says that it runs.
    assert (outcome.progress ==
            (op == MAEKIN__VM_OP__VM_OP_STOP && streq (state, "stopped") && task_id != 104
                 ? 1u
                 : 0u));
}

//  Waits until the fake cloud's events are as expected.
static void
s_expect_events (zactor_t *cloud, const char *expected, int wait_ms)
{
    int64_t deadline = zclock_mono () + wait_ms;
    char *events = s_cloud_events (cloud);
    while (!streq (events, expected) && zclock_mono () < deadline) {
        zclock_sleep (20);
        free (events);
        events = s_cloud_events (cloud);
    }
    if (!streq (events, expected))
        fprintf (stderr, "agent_server_test: events '%s', expected '%s'\n", events,
                 expected);
    assert (streq (events, expected));
    free (events);
}

static void
s_test_parse (bool verbose)
{
    size_t count;
    char *error;
    agent_host_t *hosts = agent_server_hosts_parse (
        " node1 = test:///tmp/a.xml ,node2=qemu:///system,", &count, &error);
    assert (hosts && count == 2 && !error);
    assert (streq (hosts[0].name, "node1") && streq (hosts[0].uri, "test:///tmp/a.xml"));
    assert (streq (hosts[1].name, "node2") && streq (hosts[1].uri, "qemu:///system"));
    free (hosts);
    hosts = agent_server_hosts_parse ("n=qemu+ssh://root@h/system?keyfile=/k=1", &count,
                                      &error);
    assert (hosts && count == 1 &&
            streq (hosts[0].uri, "qemu+ssh://root@h/system?keyfile=/k=1"));
    free (hosts);
    const struct {
        const char *text;
        const char *phrase;
    } bad[] = {
        {"Bad!=x", "host name 'Bad!' must"},
        {"node1", "'node1' is not a name=uri pair"},
        {"node1=", "host 'node1' has no libvirt URI"},
        {"=qemu:///system", "host name ''"},
        {"a=x,a=y", "host 'a' is named twice"},
        {"", "names no host"},
        {",", "is not a name=uri pair"},
        {"a=x,,b=y", "'' is not a name=uri pair"},
        {"abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghi=x",
         "longer than 58"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        hosts = agent_server_hosts_parse (bad[i].text, &count, &error);
        if (hosts || !error || !strstr (error, bad[i].phrase))
            fprintf (stderr, "agent_server_test: '%s' gave '%s'\n", bad[i].text,
                     error ? error : "no error");
        assert (!hosts && error && strstr (error, bad[i].phrase));
        if (verbose)
            printf ("  %s\n", error);
        free (error);
    }
    //  64 hosts is one too many: with the agent's own service, 65 for a READY.
    zchunk_t *many = zchunk_new (NULL, 1024);
    for (int i = 0; i < 64; i++) {
        char pair[32];
        snprintf (pair, sizeof pair, "%sh%d=test:///default", i ? "," : "", i);
        zchunk_extend (many, pair, strlen (pair));
    }
    zchunk_extend (many, "", 1);
    hosts = agent_server_hosts_parse ((char *)zchunk_data (many), &count, &error);
    assert (!hosts && strstr (error, "more than 63 hosts"));
    free (error);
    zchunk_destroy (&many);

    agent_opts_t opts = {.report_ms = 2000,
                         .stop_timeout_ms = 60000,
                         .domain_type = "kvm",
                         .console_dir = ""};
    assert (agent_server_opts_check (&opts) == NULL);
    opts.domain_type = "xen";
    error = agent_server_opts_check (&opts);
    assert (error && strstr (error, "domain type 'xen' is not kvm, qemu or test"));
    free (error);
    opts.domain_type = "qemu";
    opts.console_dir = "logs";
    error = agent_server_opts_check (&opts);
    assert (error && strstr (error, "console directory 'logs' is not an absolute path"));
    free (error);
    opts.console_dir = NULL;
    opts.report_ms = 5;
    error = agent_server_opts_check (&opts);
    assert (error && strstr (error, "'agent/report_ms' must be at least 10"));
    free (error);
    opts.report_ms = 100;
    opts.stop_timeout_ms = (AGENT_STOP_S_MAX + 1) * 1000;
    error = agent_server_opts_check (&opts);
    assert (error && strstr (error, "'agent/stop_timeout_s' must be at most 86400"));
    free (error);
}

void
agent_server_test (bool verbose)
{
    s_test_parse (verbose);

    char dir[] = "/tmp/agent_server_test.XXXXXX";
    assert (mkdtemp (dir));
    const char *srcdir = getenv ("MK_SRCDIR");
    if (!srcdir || !*srcdir)
        srcdir = ".";
    char *command = zsys_sprintf (
        "sh '%s/deploy/make-node.sh' node1 6 12288 > '%s/node1.xml'", srcdir, dir);
    assert (system (command) == 0);
    free (command);
    char *node1_uri = zsys_sprintf ("test://%s/node1.xml", dir);

    broker_router_opts_t broker_opts = {"tcp://127.0.0.1:*", 100, 1000, 60000};
    zactor_t *broker = broker_router_new (&broker_opts);
    assert (broker);
    zstr_send (broker, "ENDPOINT");
    char *endpoint = zstr_recv (broker);

    //  A host libvirt cannot open stops the agent from starting, and says why.
    agent_host_t nowhere[] = {{"node1", node1_uri},
                              {"node9", "test:///nowhere/node9.xml"}};
    agent_opts_t opts = {.endpoint = endpoint,
                         .hosts = nowhere,
                         .host_count = 2,
                         .domain_type = "test",
                         .report_ms = 100,
                         .stop_timeout_ms = 2000,
                         .heartbeat_ms = 100};
    assert (agent_server_new (&opts) == NULL);
    opts.endpoint = "nonsense";
    opts.host_count = 1;
    assert (agent_server_new (&opts) == NULL);

    //  The agent starts before `cloud` is there: it keeps reporting until it is.
    agent_host_t hosts[] = {{"node1", node1_uri}, {"node2", "test:///default"}};
    opts.endpoint = endpoint;
    opts.hosts = hosts;
    opts.host_count = 2;
    zactor_t *agent = agent_server_new (&opts);
    assert (agent);
    zclock_sleep (300);
    zactor_t *cloud = zactor_new (s_cloud_actor, endpoint);

    //  Full reports for both hosts, with libvirt's figures and domains.
    char *heard = s_cloud_wait_full (cloud, "node1", 1);
    if (verbose)
        printf ("  cloud heard from node1: %s\n", heard);
    assert (strstr (heard, " 6 12288 []"));
    free (heard);
    heard = s_cloud_wait_full (cloud, "node2", 1);
    if (verbose)
        printf ("  cloud heard from node2: %s\n", heard);
    assert (strstr (heard, " 16 3072 [") && strstr (heard, "test,"));
    free (heard);

    mk_client_t *client = mk_client_new (endpoint);
    Maekin__VmSpec web = MAEKIN__VM_SPEC__INIT;
    web.name = "web-1";
    web.uuid = "2E4B6D8F-1A3C-4E5F-9A7B-6C5D4E3F2A1B"; //  upper case is the same domain
    web.vcpus = 2;
    web.memory_mb = 512;

    //  The whole lifecycle on node1.
    s_task_ok (client, "node1", 101, MAEKIN__VM_OP__VM_OP_CREATE, &web, "running",
               verbose);
    s_task_ok (client, "node1", 102, MAEKIN__VM_OP__VM_OP_START, &web, "running",
               verbose);
    s_task_ok (client, "node1", 103, MAEKIN__VM_OP__VM_OP_STOP, &web, "stopped", verbose);
    //  Stopping a stopped domain has nothing to wait for.
    s_task_ok (client, "node1", 104, MAEKIN__VM_OP__VM_OP_STOP, &web, "stopped", verbose);
    s_task_ok (client, "node1", 105, MAEKIN__VM_OP__VM_OP_START, &web, "running",
               verbose);
    //  Task 103 again: the remembered answer; the domain keeps running (suspend works).
    s_outcome_t again =
        s_task (client, "node1", 103, MAEKIN__VM_OP__VM_OP_STOP, &web, verbose);
    assert (again.status == MK_OK && again.ok && again.task_id == 103 &&
            again.progress == 0);
    assert (streq (again.state, "stopped"));
    s_task_ok (client, "node1", 106, MAEKIN__VM_OP__VM_OP_SUSPEND, &web, "paused",
               verbose);
    s_task_ok (client, "node1", 107, MAEKIN__VM_OP__VM_OP_RESUME, &web, "running",
               verbose);
    s_task_ok (client, "node1", 108, MAEKIN__VM_OP__VM_OP_REBOOT, &web, "running",
               verbose);
    s_task_ok (client, "node1", 109, MAEKIN__VM_OP__VM_OP_DESTROY, &web, "stopped",
               verbose);
    //  What libvirt has, on demand.
    {
        s_outcome_t listed = s_domains (client, "node1");
        if (verbose)
            printf ("  node1 has: %s\n", listed.domains);
        assert (listed.status == MK_OK && strstr (listed.domains, "web-1:stopped "));
    }
    s_task_ok (client, "node1", 110, MAEKIN__VM_OP__VM_OP_DELETE, &web, "", verbose);
    //  Create again by its old task id: answered, not done (start then finds nothing).
    again = s_task (client, "node1", 101, MAEKIN__VM_OP__VM_OP_CREATE, &web, verbose);
    assert (again.ok && streq (again.state, "running"));
    s_outcome_t outcome =
        s_task (client, "node1", 111, MAEKIN__VM_OP__VM_OP_START, &web, verbose);
    assert (outcome.status == MK_OK && !outcome.ok && streq (outcome.state, ""));
    assert (strstr (outcome.error, "vm 'web-1' is not defined on host 'node1'"));
    //  The same failure, asked again, is the same answer.
    again = s_task (client, "node1", 111, MAEKIN__VM_OP__VM_OP_START, &web, verbose);
    assert (!again.ok && streq (again.error, outcome.error));

    //  A task batch to the agent's own service: each item is answered in order, exactly
    //  as it would be on its own.
    {
        zstr_sendx (cloud, "AGENT", "node1", NULL);
        char *own = zstr_recv (cloud);
        if (verbose)
            printf ("  the agent's own service: %s\n", own);
        assert (own && strncmp (own, "agent/", 6) == 0 && strlen (own) > 6);
        Maekin__VmSpec one = web, two = web;
        one.name = "batch-1";
        one.uuid = "6a1f0c4e-2b3d-4e5f-8a9b-0c1d2e3f4a51";
        two.name = "batch-2";
        two.uuid = "6a1f0c4e-2b3d-4e5f-8a9b-0c1d2e3f4a52";
        struct {
            const char *service;
            zframe_t *request;
        } items[] = {
            {"node/node1", s_batch_item (301, MAEKIN__VM_OP__VM_OP_CREATE, &one)},
            {"node/node2", s_batch_item (302, MAEKIN__VM_OP__VM_OP_CREATE, &two)},
            {"node/node1", s_batch_item (301, MAEKIN__VM_OP__VM_OP_CREATE, &one)},
            {"node/node1", s_batch_item (303, MAEKIN__VM_OP__VM_OP_STOP, &one)},
            {"node/node1", zframe_new ("\xff\xff garbage", 10)},
            {"node/nowhere", s_batch_item (304, MAEKIN__VM_OP__VM_OP_START, &one)},
            {"node/node1", s_batch_item (305, MAEKIN__VM_OP__VM_OP_DESTROY, &one)},
        };
        enum { N = sizeof items / sizeof items[0] };
        Maekin__TaskBatchItem item[N];
        Maekin__TaskBatchItem *pointers[N];
        for (size_t i = 0; i < N; i++) {
            item[i] = (Maekin__TaskBatchItem)MAEKIN__TASK_BATCH_ITEM__INIT;
            item[i].service = (char *)items[i].service;
            item[i].request.data = zframe_data (items[i].request);
            item[i].request.len = zframe_size (items[i].request);
            pointers[i] = &item[i];
        }
        Maekin__TaskBatchRequest batch = MAEKIN__TASK_BATCH_REQUEST__INIT;
        batch.items = pointers;
        batch.n_items = N;
        Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
        env.body_case = MAEKIN__ENVELOPE__BODY_TASK_BATCH;
        env.task_batch = &batch;
        Maekin__Envelope *reply = mk_client_call (client, own, &env, 5000, 0, NULL, NULL);
        assert (reply && reply->status == MK_OK);
        assert (reply->body_case == MAEKIN__ENVELOPE__BODY_TASK_BATCH_REPLY);
        assert (reply->task_batch_reply->n_replies == N);
        Maekin__Envelope *answers[N];
        for (size_t i = 0; i < N; i++) {
            ProtobufCBinaryData *bytes = &reply->task_batch_reply->replies[i];
            answers[i] = mk_msg_unpack (bytes->data, bytes->len, NULL);
            assert (answers[i]);
            if (verbose)
                printf ("  batch item %zu: %d %s%s\n", i, answers[i]->status,
                        answers[i]->reason ? answers[i]->reason : "",
                        answers[i]->task_result ? answers[i]->task_result->state : "");
        }
        for (size_t i = 0; i < N; i++)
            if (i != 3 && i != 4 && i != 5)
                assert (answers[i]->status == MK_OK && answers[i]->task_result->ok);
        assert (answers[0]->task_result->task_id == 301 &&
                streq (answers[0]->task_result->state, "running"));
        assert (answers[1]->task_result->task_id == 302 &&
                streq (answers[1]->task_result->state, "running"));
        //  A task seen before: the same answer, libvirt not touched again.
        assert (answers[2]->task_result->task_id == 301 &&
                streq (answers[2]->task_result->state, "running"));
        assert (answers[3]->status == MK_BAD_REQUEST &&
                strstr (answers[3]->reason, "on its own, not in a task_batch"));
        assert (answers[4]->status == MK_BAD_REQUEST &&
                strstr (answers[4]->reason, "item 4 of a task_batch"));
        assert (answers[5]->status == MK_NOT_FOUND &&
                strstr (answers[5]->reason, "does not serve 'node/nowhere'"));
        assert (answers[6]->task_result->task_id == 305 &&
                streq (answers[6]->task_result->state, "stopped"));
        for (size_t i = 0; i < N; i++)
            mk_msg_free (&answers[i]);
        mk_msg_free (&reply);
        //  A batch goes to the agent's service, and only a batch does.
        outcome = s_call (client, "node1", &env);
        assert (outcome.status == MK_BAD_REQUEST &&
                strstr (outcome.reason, "takes task_dispatch and domain_list"));
        for (size_t i = 0; i < N; i++)
            zframe_destroy (&items[i].request);
        Maekin__TaskDispatchRequest lone = MAEKIN__TASK_DISPATCH_REQUEST__INIT;
        lone.task_id = 306;
        lone.op = MAEKIN__VM_OP__VM_OP_START;
        lone.vm = &one;
        env = (Maekin__Envelope)MAEKIN__ENVELOPE__INIT;
        env.body_case = MAEKIN__ENVELOPE__BODY_TASK_DISPATCH;
        env.task_dispatch = &lone;
        reply = mk_client_call (client, own, &env, 5000, 0, NULL, NULL);
        assert (reply && reply->status == MK_BAD_REQUEST &&
                strstr (reply->reason, "takes task_batch requests"));
        mk_msg_free (&reply);
        s_task_ok (client, "node1", 307, MAEKIN__VM_OP__VM_OP_DELETE, &one, "", verbose);
        s_task_ok (client, "node2", 308, MAEKIN__VM_OP__VM_OP_DELETE, &two, "", verbose);
        zstr_free (&own);
    }

    //  A task id seen before, for another VM (a controller restored from an older backup
    //  counts its ids again): it runs; it is not answered from memory.
    {
        Maekin__VmSpec reused = web;
        reused.name = "reused-1";
        reused.uuid = "6a1f0c4e-2b3d-4e5f-8a9b-0c1d2e3f4a59";
        s_task_ok (client, "node1", 101, MAEKIN__VM_OP__VM_OP_CREATE, &reused, "running",
                   verbose);
        s_outcome_t listed = s_domains (client, "node1");
        assert (listed.status == MK_OK && strstr (listed.domains, "reused-1:running "));
        s_task_ok (client, "node1", 309, MAEKIN__VM_OP__VM_OP_DELETE, &reused, "", verbose);
    }

    //  A spec agent_domxml refuses fails the task with its reason.
    Maekin__VmSpec bad = web;
    bad.name = "bad";
    bad.vcpus = 0;
    outcome = s_task (client, "node1", 112, MAEKIN__VM_OP__VM_OP_CREATE, &bad, verbose);
    assert (outcome.status == MK_OK && !outcome.ok && streq (outcome.state, ""));
    assert (strstr (outcome.error, "agent_domxml: vm 'bad' has no vcpus"));

    //  Requests an agent does not take: 400 with a reason.
    outcome = s_task (client, "node1", 113, 42, &web, verbose);
    assert (outcome.status == MK_BAD_REQUEST && strstr (outcome.reason, "has op 42"));
    outcome = s_task (client, "node1", 114, MAEKIN__VM_OP__VM_OP_NONE, &web, verbose);
    assert (outcome.status == MK_BAD_REQUEST && strstr (outcome.reason, "has op 0"));
    outcome = s_task (client, "node1", 0, MAEKIN__VM_OP__VM_OP_START, &web, verbose);
    assert (outcome.status == MK_BAD_REQUEST && strstr (outcome.reason, "no task_id"));
    outcome = s_task (client, "node1", 115, MAEKIN__VM_OP__VM_OP_START, NULL, verbose);
    assert (outcome.status == MK_BAD_REQUEST &&
            strstr (outcome.reason, "has no vm spec"));
    Maekin__VmShowRequest show = MAEKIN__VM_SHOW_REQUEST__INIT;
    show.name = "web-1";
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_VM_SHOW;
    env.vm_show = &show;
    outcome = s_call (client, "node1", &env);
    assert (outcome.status == MK_BAD_REQUEST &&
            strstr (outcome.reason, "'node/node1' takes task_dispatch and domain_list "
                                    "requests, not 'vm_show'"));

    //  Deleted: libvirt's list no longer has it.
    Maekin__DomainListRequest gone_list = MAEKIN__DOMAIN_LIST_REQUEST__INIT;
    env = (Maekin__Envelope) MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_DOMAIN_LIST;
    env.domain_list = &gone_list;
    outcome = s_call (client, "node1", &env);
    assert (outcome.status == MK_OK && !strstr (outcome.domains, "web-1:"));

    //  A host that asks again gets a full report at once.
    zstr_sendx (cloud, "SENDFULL", "node1", NULL);
    char *ok = zstr_recv (cloud);
    free (ok);
    heard = s_cloud_wait_full (cloud, "node1", 2);
    free (heard);

    //  node2 shares test:///default with this process: the agent's own tasks do not come
    //  back as events, a change made behind its back does.
    Maekin__VmSpec app = web;
    app.name = "app-1";
    app.uuid = "8f7e6d5c-4b3a-4291-8f7e-6d5c4b3a2918";
    s_task_ok (client, "node2", 201, MAEKIN__VM_OP__VM_OP_CREATE, &app, "running",
               verbose);
    s_task_ok (client, "node2", 202, MAEKIN__VM_OP__VM_OP_SUSPEND, &app, "paused",
               verbose);
    s_task_ok (client, "node2", 203, MAEKIN__VM_OP__VM_OP_RESUME, &app, "running",
               verbose);
    s_task_ok (client, "node2", 204, MAEKIN__VM_OP__VM_OP_STOP, &app, "stopped", verbose);
    s_task_ok (client, "node2", 205, MAEKIN__VM_OP__VM_OP_START, &app, "running",
               verbose);
    zclock_sleep (300);
    s_expect_events (cloud, "0", 0);

    virConnectPtr behind = virConnectOpen ("test:///default");
    assert (behind);
    virDomainPtr dom = virDomainLookupByUUIDString (behind, app.uuid);
    assert (dom);
    assert (virDomainSuspend (dom) == 0);
    s_expect_events (cloud, "1|node2 8f7e6d5c-4b3a-4291-8f7e-6d5c4b3a2918 app-1 paused",
                     2000);
    assert (virDomainResume (dom) == 0);
    s_expect_events (cloud,
                     "2|node2 8f7e6d5c-4b3a-4291-8f7e-6d5c4b3a2918 app-1 paused"
                     "|node2 8f7e6d5c-4b3a-4291-8f7e-6d5c4b3a2918 app-1 running",
                     2000);
    //  Its own delete (a destroy, then an undefine) is no event either.
    s_task_ok (client, "node2", 206, MAEKIN__VM_OP__VM_OP_DELETE, &app, "", verbose);
    int state, reason;
    assert (virDomainGetState (dom, &state, &reason, 0) < 0);
    virDomainFree (dom);
    assert (virConnectClose (behind) == 0);
    zclock_sleep (300);
    s_expect_events (cloud,
                     "2|node2 8f7e6d5c-4b3a-4291-8f7e-6d5c4b3a2918 app-1 paused"
                     "|node2 8f7e6d5c-4b3a-4291-8f7e-6d5c4b3a2918 app-1 running",
                     0);

    //  What a create (define+start) costs through the bus, the agent and libvirt, one
    //  task at a time.
    const int rounds = 100;
    char name[32], uuid[VIR_UUID_STRING_BUFLEN];
    Maekin__VmSpec spec = web;
    spec.name = name;
    spec.uuid = uuid;
    int64_t start = zclock_usecs ();
    for (int i = 0; i < rounds; i++) {
        snprintf (name, sizeof name, "bench-%d", i);
        snprintf (uuid, sizeof uuid, "00000000-0000-4000-8000-%012d", i);
        outcome = s_task (client, "node1", 1000 + (uint64_t)i,
                          MAEKIN__VM_OP__VM_OP_CREATE, &spec, false);
        assert (outcome.ok);
    }
    int64_t created = zclock_usecs ();
    for (int i = 0; i < rounds; i++) {
        snprintf (name, sizeof name, "bench-%d", i);
        snprintf (uuid, sizeof uuid, "00000000-0000-4000-8000-%012d", i);
        outcome = s_task (client, "node1", 2000 + (uint64_t)i,
                          MAEKIN__VM_OP__VM_OP_DELETE, &spec, false);
        assert (outcome.ok);
    }
    if (verbose)
        printf ("  create through the bus: %.1f us per task, delete %.1f us (%d, one at "
                "a time)\n",
                (double)(created - start) / rounds,
                (double)(zclock_usecs () - created) / rounds, rounds);

    mk_client_destroy (&client);
    zactor_destroy (&agent);
    zactor_destroy (&cloud);
    zactor_destroy (&broker);
    free (endpoint);
    char *path = zsys_sprintf ("%s/node1.xml", dir);
    assert (remove (path) == 0);
    free (path);
    assert (rmdir (dir) == 0);
    free (node1_uri);
}

/*  agent_server's self-test: a broker, a fake `cloud`, and an agent serving two hosts on
    libvirt's test driver, driven through the bus as the controller drives it. */
#include "agent_server.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libvirt/libvirt.h>

#include "agent_libvirt.h"
#include "broker_router.h"
#include "mk_client.h"
#include "mk_fake_peer.h"
#include "mk_msg.h"
#include "mk_worker.h"

//  Frees one of the fake cloud's records (a zhashx or zlistx destructor).
static void
s_string_free (void **item)
{
    free (*item);
    *item = NULL;
}

//  What the fake controller heard from one host.
typedef struct {
    size_t fulls;   //  full reports
    size_t lights;  //  light reports
    uint32_t vcpus; //  of the last full report
    uint64_t memory_mb;
    char domains[1024]; //  names of the last full report, each followed by ','
    bool send_full;     //  answer light reports with send_full until a full one comes
    size_t asked;       //  light reports answered so
    char agent[64];     //  the agent's own service, as the reports name it
} s_heard_t;

//  What the fake `cloud` heard: each host's reports, and the events in order.
typedef struct {
    zhashx_t *hosts;  //  of s_heard_t by host name
    zlistx_t *events; //  "host uuid name state"
} s_cloud_t;

//  The fake `cloud`'s answer to a report or an event, recorded in hosts and events.
static mk_fake_next_t
s_cloud_answer (void *state, mk_worker_t *worker, const mk_request_t *request)
{
    zhashx_t *hosts = ((s_cloud_t *) state)->hosts;
    zlistx_t *events = ((s_cloud_t *) state)->events;
    Maekin__Envelope *env = request->env;
    Maekin__Envelope answer = MAEKIN__ENVELOPE__INIT;
    answer.status = MK_OK;
    Maekin__HostRegisterReply registered = MAEKIN__HOST_REGISTER_REPLY__INIT;
    Maekin__DomainEventReply noted = MAEKIN__DOMAIN_EVENT_REPLY__INIT;
    char *ghosts[] = {"ghost-1", "ghost-2"};
    if (env->body_case == MAEKIN__ENVELOPE__BODY_HOST_REGISTER) {
        Maekin__HostRegisterRequest *report = env->host_register;
        assert (report->host && streq (report->host->state, "up"));
        s_heard_t *heard = (s_heard_t *) zhashx_lookup (hosts, report->host->name);
        if (!heard) {
            heard = (s_heard_t *) zmalloc (sizeof (s_heard_t));
            zhashx_insert (hosts, report->host->name, heard);
        }
        snprintf (heard->agent, sizeof heard->agent, "%s", report->agent ? report->agent : "");
        if (report->full) {
            heard->fulls++;
            heard->send_full = false;
            heard->vcpus = report->host->vcpus;
            heard->memory_mb = report->host->memory_mb;
            heard->domains[0] = 0;
            for (size_t i = 0; i < report->n_domains; i++) {
                size_t used = strlen (heard->domains);
                snprintf (heard->domains + used, sizeof heard->domains - used, "%s,",
                          report->domains[i]->name);
            }
            //  The drift a controller finds, for the agent to log once.
            if (streq (report->host->name, "node1")) {
                registered.missing = ghosts;
                registered.n_missing = 2;
            }
        } else {
            heard->lights++;
            registered.send_full = heard->send_full;
            heard->asked += heard->send_full;
        }
        answer.body_case = MAEKIN__ENVELOPE__BODY_HOST_REGISTER_REPLY;
        answer.host_register_reply = &registered;
    } else if (env->body_case == MAEKIN__ENVELOPE__BODY_DOMAIN_EVENT) {
        Maekin__DomainEventRequest *event = env->domain_event;
        assert (event->domain);
        zlistx_add_end (events, zsys_sprintf ("%s %s %s %s", event->host, event->domain->uuid,
                                              event->domain->name, event->domain->state));
        answer.body_case = MAEKIN__ENVELOPE__BODY_DOMAIN_EVENT_REPLY;
        answer.domain_event_reply = &noted;
    } else
        answer.status = MK_BAD_REQUEST;
    mk_worker_reply (worker, request->token, &answer);
    return MK_FAKE_ANSWERED;
}

//  The fake `cloud`'s answers to the test: "HOST name" -> "fulls lights vcpus memory_mb
//  [name,name,]"; "EVENTS" -> "count|e1|e2..." (each "host uuid name state"); "SENDFULL
//  name" -> "OK" (light reports are answered send_full until a full one comes, as the
//  controller does for a host it does not know up); "ASKED name" -> how many were;
//  "AGENT name" -> the agent's own service as its reports name it.
static char *
s_cloud_ask (void *state, const char *question, const char *name)
{
    s_cloud_t *cloud = (s_cloud_t *) state;
    if (streq (question, "EVENTS")) {
        char *text = zsys_sprintf ("%zu", zlistx_size (cloud->events));
        for (char *e = (char *) zlistx_first (cloud->events); e;
             e = (char *) zlistx_next (cloud->events)) {
            char *longer = zsys_sprintf ("%s|%s", text, e);
            free (text);
            text = longer;
        }
        return text;
    }
    s_heard_t *heard = (s_heard_t *) zhashx_lookup (cloud->hosts, name ? name : "");
    if (streq (question, "SENDFULL")) {
        if (heard)
            heard->send_full = true;
        return strdup ("OK");
    }
    if (streq (question, "AGENT"))
        return strdup (heard ? heard->agent : "");
    if (streq (question, "ASKED"))
        return zsys_sprintf ("%zu", heard ? heard->asked : 0);
    assert (streq (question, "HOST"));
    if (!heard)
        return strdup ("0 0 0 0 []");
    return zsys_sprintf ("%zu %zu %" PRIu32 " %" PRIu64 " [%s]", heard->fulls, heard->lights,
                         heard->vcpus, heard->memory_mb, heard->domains);
}

//  Waits until the fake cloud has at least `fulls` full reports from a host.
static char *
s_cloud_wait_full (mk_fake_peer_t *cloud, const char *name, size_t fulls)
{
    int64_t deadline = zclock_mono () + 3000;
    while (true) {
        char *heard = mk_fake_peer_ask (cloud, "HOST", name);
        if ((size_t) atol (heard) >= fulls)
            return heard;
        assert (zclock_mono () < deadline);
        free (heard);
        zclock_sleep (20);
    }
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
    char domains[512]; //  a domain list's "name:state" words
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
            assert (answer->task_result->ok && streq (answer->task_result->state, "stopping"));
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
                snprintf (outcome.domains + used, sizeof outcome.domains - used, "%s:%s ", d->name,
                          d->state);
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
    task.op = (Maekin__VmOp) op;
    task.vm = (Maekin__VmSpec *) spec;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_TASK_DISPATCH;
    env.task_dispatch = &task;
    return mk_msg_pack (&env);
}

static s_outcome_t
s_task (mk_client_t *client, const char *host, uint64_t task_id, int op, const Maekin__VmSpec *spec,
        bool verbose)
{
    Maekin__TaskDispatchRequest task = MAEKIN__TASK_DISPATCH_REQUEST__INIT;
    task.task_id = task_id;
    task.op = (Maekin__VmOp) op;
    task.vm = (Maekin__VmSpec *) spec;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_TASK_DISPATCH;
    env.task_dispatch = &task;
    s_outcome_t outcome = s_call (client, host, &env);
    if (verbose) {
        printf ("  task %" PRIu64 " %s '%s' on %s: %d %s%s%s%s\n", task_id,
                agent_libvirt_op_name ((Maekin__VmOp) op), spec ? spec->name : "-", host,
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
    assert (outcome.progress
            == (op == MAEKIN__VM_OP__VM_OP_STOP && streq (state, "stopped") && task_id != 104
                    ? 1u
                    : 0u));
}

//  Waits until the fake cloud's events are as expected.
static void
s_expect_events (mk_fake_peer_t *cloud, const char *expected, int wait_ms)
{
    int64_t deadline = zclock_mono () + wait_ms;
    char *events = mk_fake_peer_ask (cloud, "EVENTS", NULL);
    while (!streq (events, expected) && zclock_mono () < deadline) {
        zclock_sleep (20);
        free (events);
        events = mk_fake_peer_ask (cloud, "EVENTS", NULL);
    }
    if (!streq (events, expected))
        fprintf (stderr, "agent_server_test: events '%s', expected '%s'\n", events, expected);
    assert (streq (events, expected));
    free (events);
}

//  The whole lifecycle of a domain on node1, repeats answered from memory.
static void
s_test_lifecycle (mk_client_t *client, mk_fake_peer_t *cloud, Maekin__VmSpec web, bool verbose)
{
    //  The whole lifecycle on node1.
    s_task_ok (client, "node1", 101, MAEKIN__VM_OP__VM_OP_CREATE, &web, "running", verbose);
    s_task_ok (client, "node1", 102, MAEKIN__VM_OP__VM_OP_START, &web, "running", verbose);
    s_task_ok (client, "node1", 103, MAEKIN__VM_OP__VM_OP_STOP, &web, "stopped", verbose);
    //  Stopping a stopped domain has nothing to wait for.
    s_task_ok (client, "node1", 104, MAEKIN__VM_OP__VM_OP_STOP, &web, "stopped", verbose);
    s_task_ok (client, "node1", 105, MAEKIN__VM_OP__VM_OP_START, &web, "running", verbose);
    //  Task 103 again: the remembered answer; the domain keeps running (suspend works).
    s_outcome_t again = s_task (client, "node1", 103, MAEKIN__VM_OP__VM_OP_STOP, &web, verbose);
    assert (again.status == MK_OK && again.ok && again.task_id == 103 && again.progress == 0);
    assert (streq (again.state, "stopped"));
    s_task_ok (client, "node1", 106, MAEKIN__VM_OP__VM_OP_SUSPEND, &web, "paused", verbose);
    s_task_ok (client, "node1", 107, MAEKIN__VM_OP__VM_OP_RESUME, &web, "running", verbose);
    s_task_ok (client, "node1", 108, MAEKIN__VM_OP__VM_OP_REBOOT, &web, "running", verbose);
    s_task_ok (client, "node1", 109, MAEKIN__VM_OP__VM_OP_DESTROY, &web, "stopped", verbose);
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
    s_outcome_t outcome = s_task (client, "node1", 111, MAEKIN__VM_OP__VM_OP_START, &web, verbose);
    assert (outcome.status == MK_OK && !outcome.ok && streq (outcome.state, ""));
    assert (strstr (outcome.error, "vm 'web-1' is not defined on host 'node1'"));
    //  The same failure, asked again, is the same answer.
    again = s_task (client, "node1", 111, MAEKIN__VM_OP__VM_OP_START, &web, verbose);
    assert (!again.ok && streq (again.error, outcome.error));
}

//  Checks the answers to the batch s_test_batch sends: each item is answered in order,
//  exactly as it would be on its own.
static void
s_check_batch_answers (Maekin__Envelope **answers, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (i != 3 && i != 4 && i != 5)
            assert (answers[i]->status == MK_OK && answers[i]->task_result->ok);
    assert (answers[0]->task_result->task_id == 301
            && streq (answers[0]->task_result->state, "running"));
    assert (answers[1]->task_result->task_id == 302
            && streq (answers[1]->task_result->state, "running"));
    //  A task seen before: the same answer, libvirt not touched again.
    assert (answers[2]->task_result->task_id == 301
            && streq (answers[2]->task_result->state, "running"));
    assert (answers[3]->status == MK_BAD_REQUEST
            && strstr (answers[3]->reason, "on its own, not in a task_batch"));
    assert (answers[4]->status == MK_BAD_REQUEST
            && strstr (answers[4]->reason, "item 4 of a task_batch"));
    assert (answers[5]->status == MK_NOT_FOUND
            && strstr (answers[5]->reason, "does not serve 'node/nowhere'"));
    assert (answers[6]->task_result->task_id == 305
            && streq (answers[6]->task_result->state, "stopped"));
}

//  A batch larger than MK_BATCH_MAX is refused whole, with the limit.
static void
s_test_batch_too_big (mk_client_t *client, const char *own, Maekin__Envelope *env,
                      Maekin__TaskBatchItem **pointers, size_t count)
{
    Maekin__TaskBatchRequest *batch = env->task_batch;
    Maekin__TaskBatchItem **many =
        (Maekin__TaskBatchItem **) zmalloc ((MK_BATCH_MAX + 1) * sizeof (Maekin__TaskBatchItem *));
    for (size_t i = 0; i <= MK_BATCH_MAX; i++)
        many[i] = pointers[i % count];
    batch->items = many;
    batch->n_items = MK_BATCH_MAX + 1;
    Maekin__Envelope *reply = mk_client_call (client, own, env, 5000, 0, NULL, NULL);
    assert (reply->status == MK_BAD_REQUEST && strstr (reply->reason, "at most 64"));
    mk_msg_free (&reply);
    free (many);
    batch->items = pointers;
    batch->n_items = count;
}

//  The agent's own service takes a task batch, not a task on its own.
static void
s_test_lone_dispatch (mk_client_t *client, const char *own, Maekin__VmSpec *one)
{
    Maekin__TaskDispatchRequest lone = MAEKIN__TASK_DISPATCH_REQUEST__INIT;
    lone.task_id = 306;
    lone.op = MAEKIN__VM_OP__VM_OP_START;
    lone.vm = one;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_TASK_DISPATCH;
    env.task_dispatch = &lone;
    Maekin__Envelope *reply = mk_client_call (client, own, &env, 5000, 0, NULL, NULL);
    assert (reply && reply->status == MK_BAD_REQUEST
            && strstr (reply->reason, "takes task_batch requests"));
    mk_msg_free (&reply);
}

//  A task batch to the agent's own service.
static void
s_test_batch (mk_client_t *client, mk_fake_peer_t *cloud, Maekin__VmSpec web, bool verbose)
{
    s_outcome_t outcome;
    //  A task batch to the agent's own service: each item is answered in order, exactly
    //  as it would be on its own.
    {
        char *own = mk_fake_peer_ask (cloud, "AGENT", "node1");
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
            item[i] = (Maekin__TaskBatchItem) MAEKIN__TASK_BATCH_ITEM__INIT;
            item[i].service = (char *) items[i].service;
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
        s_check_batch_answers (answers, N);
        for (size_t i = 0; i < N; i++)
            mk_msg_free (&answers[i]);
        mk_msg_free (&reply);
        s_test_batch_too_big (client, own, &env, pointers, N);
        //  A batch goes to the agent's service, and only a batch does.
        outcome = s_call (client, "node1", &env);
        assert (outcome.status == MK_BAD_REQUEST
                && strstr (outcome.reason, "takes task_dispatch and domain_list"));
        for (size_t i = 0; i < N; i++)
            zframe_destroy (&items[i].request);
        s_test_lone_dispatch (client, own, &one);
        s_task_ok (client, "node1", 307, MAEKIN__VM_OP__VM_OP_DELETE, &one, "", verbose);
        s_task_ok (client, "node2", 308, MAEKIN__VM_OP__VM_OP_DELETE, &two, "", verbose);
        zstr_free (&own);
    }
}

//  A task id used again, requests refused, and a full report asked for.
static void
s_test_refusals (mk_client_t *client, mk_fake_peer_t *cloud, Maekin__VmSpec web, bool verbose)
{
    s_outcome_t outcome;
    char *heard;
    //  A task id seen before, for another VM (a controller restored from an older backup
    //  counts its ids again): it runs; it is not answered from memory.
    {
        Maekin__VmSpec reused = web;
        reused.name = "reused-1";
        reused.uuid = "6a1f0c4e-2b3d-4e5f-8a9b-0c1d2e3f4a59";
        s_task_ok (client, "node1", 101, MAEKIN__VM_OP__VM_OP_CREATE, &reused, "running", verbose);
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
    assert (outcome.status == MK_BAD_REQUEST && strstr (outcome.reason, "has no vm spec"));
    Maekin__VmShowRequest show = MAEKIN__VM_SHOW_REQUEST__INIT;
    show.name = "web-1";
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_VM_SHOW;
    env.vm_show = &show;
    outcome = s_call (client, "node1", &env);
    assert (outcome.status == MK_BAD_REQUEST
            && strstr (outcome.reason, "'node/node1' takes task_dispatch and domain_list "
                                       "requests, not 'vm_show'"));

    //  Deleted: libvirt's list no longer has it.
    Maekin__DomainListRequest gone_list = MAEKIN__DOMAIN_LIST_REQUEST__INIT;
    env = (Maekin__Envelope) MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_DOMAIN_LIST;
    env.domain_list = &gone_list;
    outcome = s_call (client, "node1", &env);
    assert (outcome.status == MK_OK && !strstr (outcome.domains, "web-1:"));

    //  A host that asks again gets a full report at once, asked once: no light report
    //  goes while it is made, to be answered with another ask.
    char *ok = mk_fake_peer_ask (cloud, "SENDFULL", "node1");
    free (ok);
    heard = s_cloud_wait_full (cloud, "node1", 2);
    free (heard);
    char *asked = mk_fake_peer_ask (cloud, "ASKED", "node1");
    assert (streq (asked, "1"));
    free (asked);
}

//  Events: the agent's own tasks do not echo, changes behind its back do.
static void
s_test_events (mk_client_t *client, mk_fake_peer_t *cloud, Maekin__VmSpec web, bool verbose)
{
    //  node2 shares test:///default with this process: the agent's own tasks do not come
    //  back as events, a change made behind its back does.
    Maekin__VmSpec app = web;
    app.name = "app-1";
    app.uuid = "8f7e6d5c-4b3a-4291-8f7e-6d5c4b3a2918";
    s_task_ok (client, "node2", 201, MAEKIN__VM_OP__VM_OP_CREATE, &app, "running", verbose);
    s_task_ok (client, "node2", 202, MAEKIN__VM_OP__VM_OP_SUSPEND, &app, "paused", verbose);
    s_task_ok (client, "node2", 203, MAEKIN__VM_OP__VM_OP_RESUME, &app, "running", verbose);
    s_task_ok (client, "node2", 204, MAEKIN__VM_OP__VM_OP_STOP, &app, "stopped", verbose);
    s_task_ok (client, "node2", 205, MAEKIN__VM_OP__VM_OP_START, &app, "running", verbose);
    zclock_sleep (300);
    s_expect_events (cloud, "0", 0);

    virConnectPtr behind = virConnectOpen ("test:///default");
    assert (behind);
    virDomainPtr dom = virDomainLookupByUUIDString (behind, app.uuid);
    assert (dom);
    assert (virDomainSuspend (dom) == 0);
    s_expect_events (cloud, "1|node2 8f7e6d5c-4b3a-4291-8f7e-6d5c4b3a2918 app-1 paused", 2000);
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
}

//  What a create (define+start) costs through the bus, the agent and libvirt, one task
//  at a time.
static void
s_test_timing (mk_client_t *client, Maekin__VmSpec web, bool verbose)
{
    s_outcome_t outcome;
    const int rounds = 100;
    char name[32], uuid[VIR_UUID_STRING_BUFLEN];
    Maekin__VmSpec spec = web;
    spec.name = name;
    spec.uuid = uuid;
    int64_t start = zclock_usecs ();
    for (int i = 0; i < rounds; i++) {
        snprintf (name, sizeof name, "bench-%d", i);
        snprintf (uuid, sizeof uuid, "00000000-0000-4000-8000-%012d", i);
        outcome = s_task (client, "node1", 1000 + (uint64_t) i, MAEKIN__VM_OP__VM_OP_CREATE, &spec,
                          false);
        assert (outcome.ok);
    }
    int64_t created = zclock_usecs ();
    for (int i = 0; i < rounds; i++) {
        snprintf (name, sizeof name, "bench-%d", i);
        snprintf (uuid, sizeof uuid, "00000000-0000-4000-8000-%012d", i);
        outcome = s_task (client, "node1", 2000 + (uint64_t) i, MAEKIN__VM_OP__VM_OP_DELETE, &spec,
                          false);
        assert (outcome.ok);
    }
    if (verbose)
        printf ("  create through the bus: %.1f us per task, delete %.1f us (%d, one at "
                "a time)\n",
                (double) (created - start) / rounds, (double) (zclock_usecs () - created) / rounds,
                rounds);
}

void
agent_server_test (bool verbose)
{
    char dir[] = "/tmp/agent_server_test.XXXXXX";
    assert (mkdtemp (dir));
    const char *srcdir = getenv ("MK_SRCDIR");
    if (!srcdir || !*srcdir)
        srcdir = ".";
    char *command =
        zsys_sprintf ("sh '%s/deploy/make-node.sh' node1 6 12288 > '%s/node1.xml'", srcdir, dir);
    assert (system (command) == 0);
    free (command);
    char *node1_uri = zsys_sprintf ("test://%s/node1.xml", dir);

    broker_router_opts_t broker_opts = {"tcp://127.0.0.1:*", 100, 1000, 60000, NULL, NULL};
    zactor_t *broker = broker_router_new (&broker_opts);
    assert (broker);
    zstr_send (broker, "ENDPOINT");
    char *endpoint = zstr_recv (broker);

    //  A host libvirt cannot open stops the agent from starting, and says why.
    agent_opts_host_t nowhere[] = {{"node1", node1_uri}, {"node9", "test:///nowhere/node9.xml"}};
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
    agent_opts_host_t hosts[] = {{"node1", node1_uri}, {"node2", "test:///default"}};
    opts.endpoint = endpoint;
    opts.hosts = hosts;
    opts.host_count = 2;
    zactor_t *agent = agent_server_new (&opts);
    assert (agent);
    zclock_sleep (300);
    s_cloud_t heard_by_cloud = {zhashx_new (), zlistx_new ()};
    zhashx_set_destructor (heard_by_cloud.hosts, s_string_free);
    zlistx_set_destructor (heard_by_cloud.events, s_string_free);
    const char *services[] = {"cloud"};
    mk_fake_peer_t *cloud =
        mk_fake_peer_new (endpoint, services, 1, s_cloud_answer, s_cloud_ask, &heard_by_cloud);

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

    s_test_lifecycle (client, cloud, web, verbose);
    s_test_batch (client, cloud, web, verbose);
    s_test_refusals (client, cloud, web, verbose);
    s_test_events (client, cloud, web, verbose);
    s_test_timing (client, web, verbose);

    mk_client_destroy (&client);
    zactor_destroy (&agent);
    mk_fake_peer_destroy (&cloud);
    zhashx_destroy (&heard_by_cloud.hosts);
    zlistx_destroy (&heard_by_cloud.events);
    zactor_destroy (&broker);
    free (endpoint);
    char *path = zsys_sprintf ("%s/node1.xml", dir);
    assert (remove (path) == 0);
    free (path);
    assert (rmdir (dir) == 0);
    free (node1_uri);
}

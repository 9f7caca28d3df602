/*  controller_server's self-test: the real controller on a real broker and SQLite, with
    a stand-in agent, driven through the client library. */
#include "controller_fixture_test.h"

#include "mk_limits.h"
#include "mk_testdir.h"
#include "mk_wire.h"

#include <sys/stat.h>

#include "broker_router.h"
#include "mk_fake_peer.h"

typedef controller_fixture_t test_t;

//  The stand-in agent's answer to one task, packed; a VM named bad-* fails, as an agent's
//  own error (not the broker's): the task fails, the host stays up.
static zframe_t *
s_fake_answer (const Maekin__Envelope *env)
{
    Maekin__TaskDispatchRequest *task = env->task_dispatch;
    assert (task && task->vm && task->vm->uuid && strlen (task->vm->uuid) == 36);
    static const char *after[] = {"",       "running", "running", "stopped", "running",
                                  "paused", "running", "stopped", "",        "stopped"};
    Maekin__TaskResultReply result = MAEKIN__TASK_RESULT_REPLY__INIT;
    result.task_id = task->task_id;
    result.ok = true;
    result.state = (char *) after[task->op];
    Maekin__Envelope reply = MAEKIN__ENVELOPE__INIT;
    reply.status = MK_OK;
    if (strncmp (task->vm->name, "bad-", 4) == 0) {
        reply.status = MK_NOT_FOUND;
        reply.reason = "domain not found";
    } else {
        reply.body_case = MAEKIN__ENVELOPE__BODY_TASK_RESULT;
        reply.task_result = &result;
    }
    return mk_msg_pack (&reply);
}

//  A batch for agent/fake: each item answered as on its own, in order; never a graceful
//  stop.
static void
s_fake_batch (mk_worker_t *worker, const mk_request_t *request)
{
    Maekin__TaskBatchRequest *batch = request->env->task_batch;
    assert (batch && batch->n_items >= 2);
    zframe_t **frames = (zframe_t **) zmalloc (batch->n_items * sizeof *frames);
    for (size_t i = 0; i < batch->n_items; i++) {
        assert (streq (batch->items[i]->service, "node/n1"));
        Maekin__Envelope *item =
            mk_msg_unpack (batch->items[i]->request.data, batch->items[i]->request.len, NULL);
        assert (item && item->task_dispatch->op != MAEKIN__VM_OP__VM_OP_STOP);
        frames[i] = s_fake_answer (item);
        mk_msg_free (&item);
    }
    mk_worker_reply_batch (worker, request->token, frames, batch->n_items);
    free (frames);
}

//  The stand-in agent for host "n1" (and agent/fake, for batches): answers every task at
//  once, as libvirt would, and counts the batches (its state).
static mk_fake_next_t
s_fake_handle (void *state, mk_worker_t *worker, const mk_request_t *request)
{
    if (streq (request->service, "agent/fake")) {
        (*(int *) state)++;
        s_fake_batch (worker, request);
        return MK_FAKE_ANSWERED;
    }
    zframe_t *answer = s_fake_answer (request->env);
    if (request->env->task_dispatch->op == MAEKIN__VM_OP__VM_OP_STOP) {
        Maekin__Envelope running = MAEKIN__ENVELOPE__INIT;
        running.status = MK_OK;
        mk_worker_progress (worker, request->token, &running);
    }
    mk_worker_reply_frame (worker, request->token, &answer);
    return MK_FAKE_ANSWERED;
}

//  "BATCHES": how many task batches the stand-in agent was sent.
static char *
s_fake_ask (void *state, const char *question, const char *arg)
{
    assert (streq (question, "BATCHES"));
    return zsys_sprintf ("%d", *(int *) state);
}

//  Registers host n1 (32 CPUs, 8 GiB) with its agent's service for batches, if any;
//  returns the status, and whether the controller asks for a full report.
static int
s_register_as (mk_client_t *client, bool full, size_t domains, const char *agent, bool *send_full)
{
    Maekin__Host host = MAEKIN__HOST__INIT;
    host.name = "n1";
    host.vcpus = 32;
    host.memory_mb = 8192;
    host.uri = "test:///default";
    Maekin__HostRegisterRequest report = MAEKIN__HOST_REGISTER_REQUEST__INIT;
    report.host = &host;
    report.full = full;
    report.agent = (char *) agent;
    report.n_domains = domains;
    Maekin__Domain domain = MAEKIN__DOMAIN__INIT;
    domain.name = "web-1";
    domain.state = "running";
    Maekin__Domain *list[] = {&domain};
    report.domains = list;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_HOST_REGISTER;
    env.host_register = &report;
    Maekin__Envelope *reply = controller_fixture_call (client, &env);
    int status = reply->status;
    if (send_full)
        *send_full = status == MK_OK && reply->host_register_reply->send_full;
    mk_msg_free (&reply);
    return status;
}

//  A full report of `count` domains libvirt has and the cloud does not know: the status,
//  and how many the answer names.
static int
s_register_many (mk_client_t *client, size_t count, size_t *unexpected)
{
    Maekin__Host host = MAEKIN__HOST__INIT;
    host.name = "n1";
    host.vcpus = 32;
    host.memory_mb = 8192;
    host.uri = "test:///default";
    Maekin__Domain *domains = (Maekin__Domain *) zmalloc (count * sizeof (Maekin__Domain));
    Maekin__Domain **list = (Maekin__Domain **) zmalloc (count * sizeof (Maekin__Domain *));
    char (*names)[32] = (char (*)[32]) zmalloc (count * sizeof *names);
    for (size_t i = 0; i < count; i++) {
        domains[i] = (Maekin__Domain) MAEKIN__DOMAIN__INIT;
        snprintf (names[i], sizeof names[i], "stray-%zu", i);
        domains[i].name = names[i];
        domains[i].state = "running";
        list[i] = &domains[i];
    }
    Maekin__HostRegisterRequest report = MAEKIN__HOST_REGISTER_REQUEST__INIT;
    report.host = &host;
    report.full = true;
    report.domains = list;
    report.n_domains = count;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_HOST_REGISTER;
    env.host_register = &report;
    Maekin__Envelope *reply = controller_fixture_call (client, &env);
    int status = reply->status;
    *unexpected = status == MK_OK ? reply->host_register_reply->n_unexpected : 0;
    mk_msg_free (&reply);
    free (names);
    free (list);
    free (domains);
    return status;
}

static void
s_register (mk_client_t *client, bool full, size_t domains)
{
    assert (s_register_as (client, full, domains, NULL, NULL) == MK_OK);
}

//  Sends a VM action; returns the status, and the task id in *task.
static int
s_action (mk_client_t *client, const char *vm, Maekin__VmOp op, uint64_t *task)
{
    Maekin__VmActionRequest action = MAEKIN__VM_ACTION_REQUEST__INIT;
    action.name = (char *) vm;
    action.op = op;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_VM_ACTION;
    env.vm_action = &action;
    Maekin__Envelope *reply = controller_fixture_call (client, &env);
    int status = reply->status;
    if (task)
        *task = status == MK_ACCEPTED ? reply->task_accepted->task_id : 0;
    mk_msg_free (&reply);
    return status;
}

//  Waits for a task to end; returns its final state's name (static).
static const char *
s_wait (mk_client_t *client, uint64_t id)
{
    Maekin__TaskWaitRequest wait = MAEKIN__TASK_WAIT_REQUEST__INIT;
    wait.id = id;
    wait.timeout_ms = 3000;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_TASK_WAIT;
    env.task_wait = &wait;
    Maekin__Envelope *reply = controller_fixture_call (client, &env);
    assert (reply->status == MK_OK);
    const char *state = streq (reply->task_show_reply->task->state, "done") ? "done" : "failed";
    mk_msg_free (&reply);
    return state;
}

static char *
s_vm_state (mk_client_t *client, const char *name)
{
    Maekin__VmShowRequest show = MAEKIN__VM_SHOW_REQUEST__INIT;
    show.name = (char *) name;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_VM_SHOW;
    env.vm_show = &show;
    Maekin__Envelope *reply = controller_fixture_call (client, &env);
    char *state = strdup (reply->status == MK_OK ? reply->vm_show_reply->vm->state : "");
    mk_msg_free (&reply);
    return state;
}

static int
s_create (mk_client_t *client, const char *name, const char *template_, const char *request_id,
          uint64_t *task)
{
    Maekin__VmCreateRequest create = MAEKIN__VM_CREATE_REQUEST__INIT;
    create.name = (char *) name;
    create.template_ = (char *) template_;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.request_id = (char *) request_id;
    env.body_case = MAEKIN__ENVELOPE__BODY_VM_CREATE;
    env.vm_create = &create;
    Maekin__Envelope *reply = controller_fixture_call (client, &env);
    int status = reply->status;
    if (task)
        *task = status == MK_ACCEPTED ? reply->task_accepted->task_id : 0;
    mk_msg_free (&reply);
    return status;
}

static void
s_test_templates (test_t *self)
{
    mk_client_t *client = self->client;
    //  A template, and its mistakes.
    Maekin__Template tiny = MAEKIN__TEMPLATE__INIT;
    tiny.name = "tiny";
    tiny.vcpus = 1;
    tiny.memory_mb = 256;
    Maekin__TemplateCreateRequest tcreate = MAEKIN__TEMPLATE_CREATE_REQUEST__INIT;
    tcreate.template_ = &tiny;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_TEMPLATE_CREATE;
    env.template_create = &tcreate;
    Maekin__Envelope *reply = controller_fixture_call (client, &env);
    assert (reply->status == MK_OK && reply->template_create_reply->template_->vcpus == 1);
    mk_msg_free (&reply);
    reply = controller_fixture_call (client, &env);
    assert (reply->status == MK_CONFLICT && strstr (reply->reason, "exists already"));
    mk_msg_free (&reply);
    tiny.name = "huge";
    tiny.vcpus = 0;
    reply = controller_fixture_call (client, &env);
    assert (reply->status == MK_BAD_REQUEST && strstr (reply->reason, "vcpus"));
    mk_msg_free (&reply);
    tiny.vcpus = 1;
    tiny.kernel = "relative/vmlinuz";
    reply = controller_fixture_call (client, &env);
    assert (reply->status == MK_BAD_REQUEST && strstr (reply->reason, "absolute"));
    mk_msg_free (&reply);
    //  Images, kernels and initrds come from the storage directories, nowhere else.
    tiny.name = "disk";
    tiny.kernel = "";
    const char *outside[] = {"/dev/sda",
                             "/srv/images",
                             "/srv/images/",
                             "/srv/imagesX/a",
                             "/srv/images/../../etc/shadow",
                             "/srv/images/./a",
                             "/srv/images//a",
                             "/srv/images/a/.."};
    for (size_t i = 0; i < sizeof outside / sizeof outside[0]; i++) {
        tiny.image = (char *) outside[i];
        reply = controller_fixture_call (client, &env);
        assert (reply->status == MK_BAD_REQUEST
                && strstr (reply->reason, "is not a file in a storage directory"));
        mk_msg_free (&reply);
    }
    tiny.image = "/var/lib/maekin/images/base.qcow2";
    tiny.kernel = "/dev/mem";
    reply = controller_fixture_call (client, &env);
    assert (reply->status == MK_BAD_REQUEST && strstr (reply->reason, "kernel '/dev/mem'"));
    mk_msg_free (&reply);
    tiny.image = "/srv/images/debian/base.qcow2";
    tiny.kernel = "/var/lib/maekin/images/vmlinuz";
    tiny.initrd = "/var/lib/maekin/images/..initrd";
    reply = controller_fixture_call (client, &env);
    assert (reply->status == MK_OK);
    mk_msg_free (&reply);
    tiny.image = tiny.initrd = "";

    //  A deleted template is gone for new VMs at once.
    tiny.name = "gone";
    tiny.kernel = "";
    env = (Maekin__Envelope) MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_TEMPLATE_CREATE;
    env.template_create = &tcreate;
    reply = controller_fixture_call (client, &env);
    assert (reply->status == MK_OK);
    mk_msg_free (&reply);
    Maekin__TemplateDeleteRequest tdelete = MAEKIN__TEMPLATE_DELETE_REQUEST__INIT;
    tdelete.name = "gone";
    env = (Maekin__Envelope) MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_TEMPLATE_DELETE;
    env.template_delete = &tdelete;
    reply = controller_fixture_call (client, &env);
    assert (reply->status == MK_OK);
    mk_msg_free (&reply);
    assert (s_create (client, "web-9", "gone", NULL, NULL) == MK_NOT_FOUND);
}

static void
s_test_vms (test_t *self, bool verbose)
{
    mk_client_t *client = self->client;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    Maekin__Envelope *reply = NULL;
    //  No host is up yet: nowhere to place a VM.
    assert (s_create (client, "web-1", "tiny", NULL, NULL) == MK_INSUFFICIENT);
    const char *services[] = {"node/n1", "agent/fake"};
    self->agent =
        mk_fake_peer_new (self->endpoint, services, 2, s_fake_handle, s_fake_ask, &self->batches);
    s_register (client, true, 0);

    //  Create, with a request id; the retry gets the first answer and makes nothing new.
    uint64_t task = 0, again = 0;
    assert (s_create (client, "web-1", "tiny", "req-create-1", &task) == MK_ACCEPTED);
    assert (s_create (client, "web-1", "tiny", "req-create-1", &again) == MK_ACCEPTED);
    assert (task && again == task);
    //  A request id MySQL would read as another (trailing blank) or a control: refused.
    assert (s_create (client, "web-8", "tiny", "req 1 ", NULL) == MK_BAD_REQUEST);
    assert (s_create (client, "web-8", "tiny", "req\t2", NULL) == MK_BAD_REQUEST);
    //  The same id with another request is refused, not answered with the first answer.
    assert (s_create (client, "web-8", "tiny", "req-create-1", NULL) == MK_UNPROCESSABLE);
    Maekin__VmActionRequest stop = MAEKIN__VM_ACTION_REQUEST__INIT;
    stop.name = "web-1";
    stop.op = MAEKIN__VM_OP__VM_OP_STOP;
    env = (Maekin__Envelope) MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_VM_ACTION;
    env.vm_action = &stop;
    env.request_id = "req-create-1";
    reply = controller_fixture_call (client, &env);
    assert (reply->status == MK_UNPROCESSABLE
            && strstr (reply->reason, "'req-create-1' was already used for another request"));
    mk_msg_free (&reply);
    assert (streq (s_wait (client, task), "done"));
    char *state = s_vm_state (client, "web-1");
    assert (streq (state, "running"));
    free (state);
    assert (s_create (client, "web-1", "tiny", NULL, NULL) == MK_CONFLICT);
    assert (s_create (client, "Bad Name", "tiny", NULL, NULL) == MK_BAD_REQUEST);
    assert (s_create (client, "web-2", "nothing", NULL, NULL) == MK_NOT_FOUND);

    //  An agent's own 404 fails the task; it does not take the host down.
    assert (s_create (client, "bad-1", "tiny", NULL, &task) == MK_ACCEPTED);
    assert (streq (s_wait (client, task), "failed"));
    state = s_vm_state (client, "bad-1");
    assert (streq (state, "error"));
    free (state);
    assert (s_action (client, "web-1", MAEKIN__VM_OP__VM_OP_SUSPEND, &task) == MK_ACCEPTED);
    assert (streq (s_wait (client, task), "done"));
    assert (s_action (client, "web-1", MAEKIN__VM_OP__VM_OP_RESUME, &task) == MK_ACCEPTED);
    assert (streq (s_wait (client, task), "done"));

    //  The lifecycle; illegal transitions are refused with 409.
    assert (s_action (client, "web-1", MAEKIN__VM_OP__VM_OP_START, NULL) == MK_CONFLICT);
    assert (s_action (client, "web-1", MAEKIN__VM_OP__VM_OP_DELETE, NULL) == MK_CONFLICT);
    assert (s_action (client, "nothing", MAEKIN__VM_OP__VM_OP_STOP, NULL) == MK_NOT_FOUND);
    assert (s_action (client, "web-1", MAEKIN__VM_OP__VM_OP_CREATE, NULL) == MK_BAD_REQUEST);
    Maekin__VmOp ops[] = {MAEKIN__VM_OP__VM_OP_SUSPEND, MAEKIN__VM_OP__VM_OP_RESUME,
                          MAEKIN__VM_OP__VM_OP_REBOOT,  MAEKIN__VM_OP__VM_OP_STOP,
                          MAEKIN__VM_OP__VM_OP_START,   MAEKIN__VM_OP__VM_OP_DESTROY};
    const char *expect[] = {"paused", "running", "running", "stopped", "running", "stopped"};
    for (int i = 0; i < 6; i++) {
        assert (s_action (client, "web-1", ops[i], &task) == MK_ACCEPTED);
        assert (streq (s_wait (client, task), "done"));
        state = s_vm_state (client, "web-1");
        if (verbose)
            printf ("  %s -> %s\n", controller_fsm_op_name (ops[i]), state);
        assert (streq (state, expect[i]));
        free (state);
    }
}

static void
s_test_restart (test_t *self)
{
    mk_client_t *client = self->client;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    Maekin__Envelope *reply = NULL;
    char *state = NULL;
    uint64_t task = 0;
    //  The controller restarts; what it accepted is still there.
    zactor_destroy (&self->controller);
    self->controller = controller_server_new (&self->opts, NULL);
    assert (self->controller);
    controller_fixture_until_serving (client);
    state = s_vm_state (client, "web-1");
    assert (streq (state, "stopped"));
    free (state);
    s_register (client, true, 0);

    //  The host lost the VM (an agent restarted on a fresh test driver): a full report
    //  without it makes the controller define it again.
    s_register (client, true, 0);
    Maekin__TaskListRequest tlist = MAEKIN__TASK_LIST_REQUEST__INIT;
    env = (Maekin__Envelope) MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_TASK_LIST;
    env.task_list = &tlist;
    reply = controller_fixture_call (client, &env);
    assert (reply->status == MK_OK && reply->task_list_reply->n_tasks >= 8);
    assert (reply->task_list_reply->tasks[0]->op == MAEKIN__VM_OP__VM_OP_DEFINE);
    mk_msg_free (&reply);

    //  Delete, then the events tell the whole story in order.
    assert (s_action (client, "web-1", MAEKIN__VM_OP__VM_OP_DELETE, &task) == MK_ACCEPTED);
    assert (streq (s_wait (client, task), "done"));
    state = s_vm_state (client, "web-1");
    assert (streq (state, ""));
    free (state);
    Maekin__EventsSinceRequest since = MAEKIN__EVENTS_SINCE_REQUEST__INIT;
    since.stream = "event.vm";
    env = (Maekin__Envelope) MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_EVENTS_SINCE;
    env.events_since = &since;
    reply = controller_fixture_call (client, &env);
    assert (reply->status == MK_OK);
    Maekin__EventsSinceReply *events = reply->events_since_reply;
    assert (events->n_events >= 14);
    for (size_t i = 0; i < events->n_events; i++)
        assert (events->events[i]->seq == i + 1);
    assert (streq (events->events[0]->state, "creating"));
    assert (streq (events->events[events->n_events - 1]->state, "deleted"));
    mk_msg_free (&reply);
}

static void
s_test_bad_input (test_t *self)
{
    mk_client_t *client = self->client;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    Maekin__Envelope *reply = NULL;
    Maekin__EventsSinceRequest since = MAEKIN__EVENTS_SINCE_REQUEST__INIT;
    Maekin__TaskListRequest tlist = MAEKIN__TASK_LIST_REQUEST__INIT;
    //  Bad input: a reply sent as a request, an unknown stream, a stranger.
    Maekin__TaskAccepted bogus = MAEKIN__TASK_ACCEPTED__INIT;
    env = (Maekin__Envelope) MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_TASK_ACCEPTED;
    env.task_accepted = &bogus;
    reply = controller_fixture_call (client, &env);
    assert (reply->status == MK_BAD_REQUEST && strstr (reply->reason, "not a request"));
    mk_msg_free (&reply);
    since.stream = "event.nope";
    env = (Maekin__Envelope) MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_EVENTS_SINCE;
    env.events_since = &since;
    reply = controller_fixture_call (client, &env);
    assert (reply->status == MK_BAD_REQUEST);
    mk_msg_free (&reply);
    //  A stranger: another user's name on the administrator's token, a forged token.
    Maekin__Credential who = MAEKIN__CREDENTIAL__INIT;
    who.user = "mallory";
    who.token = self->token;
    env.credential = &who;
    reply = controller_fixture_call (client, &env);
    assert (reply->status == MK_UNAUTHORIZED && strstr (reply->reason, "another user"));
    mk_msg_free (&reply);
    who.user = NULL;
    who.token = "mkt_forgedforgedforgedforgedforgedforgedfor";
    reply = controller_fixture_call (client, &env);
    assert (reply->status == MK_UNAUTHORIZED && strstr (reply->reason, "not valid"));
    mk_msg_free (&reply);
    //  Lists say what they allow: a page of at most MK_LIST_MAX, a known state, a cursor
    //  of the list's own kind; events too.
    Maekin__ListRequest page = MAEKIN__LIST_REQUEST__INIT;
    Maekin__VmListRequest vlist = MAEKIN__VM_LIST_REQUEST__INIT;
    vlist.page = &page;
    struct {
        uint32_t limit;
        const char *state, *after, *expect;
    } pages[] = {{MK_LIST_MAX + 1, "", "", "at most 1000"},
                 {0, "runing", "", "no state 'runing' to filter by (creating, running"},
                 {0, "", "not a name!", "is not a cursor of this list"},
                 {MK_LIST_MAX, "running", "a", NULL}};
    for (size_t i = 0; i < sizeof pages / sizeof pages[0]; i++) {
        page.limit = pages[i].limit;
        page.filter_state = (char *) pages[i].state;
        page.after = (char *) pages[i].after;
        env = (Maekin__Envelope) MAEKIN__ENVELOPE__INIT;
        env.body_case = MAEKIN__ENVELOPE__BODY_VM_LIST;
        env.vm_list = &vlist;
        reply = controller_fixture_call (client, &env);
        if (pages[i].expect)
            assert (reply->status == MK_BAD_REQUEST && strstr (reply->reason, pages[i].expect));
        else
            assert (reply->status == MK_OK);
        mk_msg_free (&reply);
    }
    page = (Maekin__ListRequest) MAEKIN__LIST_REQUEST__INIT;
    page.after = "12x";
    tlist.page = &page;
    env = (Maekin__Envelope) MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_TASK_LIST;
    env.task_list = &tlist;
    reply = controller_fixture_call (client, &env);
    assert (reply->status == MK_BAD_REQUEST && strstr (reply->reason, "'12x' is not a cursor"));
    mk_msg_free (&reply);
    page.after = "3";
    page.filter_state = "done";
    reply = controller_fixture_call (client, &env);
    assert (reply->status == MK_OK);
    for (size_t i = 0; i < reply->task_list_reply->n_tasks; i++)
        assert (reply->task_list_reply->tasks[i]->id < 3
                && streq (reply->task_list_reply->tasks[i]->state, "done"));
    mk_msg_free (&reply);
    tlist.page = NULL;
    since.stream = "event.vm";
    since.limit = MK_LIST_MAX + 1;
    env = (Maekin__Envelope) MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_EVENTS_SINCE;
    env.events_since = &since;
    reply = controller_fixture_call (client, &env);
    assert (reply->status == MK_BAD_REQUEST && strstr (reply->reason, "at most 1000 events"));
    mk_msg_free (&reply);
    //  A report's domains are capped, and the longest allowed is answered in full.
    size_t unexpected = 0;
    assert (s_register_many (client, MK_REPORT_DOMAINS_MAX + 1, &unexpected) == MK_BAD_REQUEST);
    assert (s_register_many (client, MK_REPORT_DOMAINS_MAX, &unexpected) == MK_OK);
    assert (unexpected == MK_REPORT_DOMAINS_MAX);
    //  A host that does not exist is the caller's mistake (404), not a lack of room.
    Maekin__VmCreateRequest elsewhere = MAEKIN__VM_CREATE_REQUEST__INIT;
    elsewhere.name = "web-7";
    elsewhere.template_ = "tiny";
    elsewhere.host = "node9";
    env = (Maekin__Envelope) MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_VM_CREATE;
    env.vm_create = &elsewhere;
    reply = controller_fixture_call (client, &env);
    assert (reply->status == MK_NOT_FOUND && strstr (reply->reason, "no host named 'node9'"));
    mk_msg_free (&reply);
}

static void
s_test_batches (test_t *self, bool verbose)
{
    mk_client_t *client = self->client;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    char *state = NULL;
    //  An agent process that names its own service gets a batch's tasks in one message;
    //  each task ends on its own item's answer.
    assert (s_register_as (client, true, 0, "node/n1", NULL) == MK_BAD_REQUEST);
    assert (s_register_as (client, true, 0, "agent/", NULL) == MK_BAD_REQUEST);
    //  A light report from another agent process than the last full one's: it may have
    //  restarted on a libvirt that lost domains, so the controller asks what it has,
    //  until it hears.
    bool send_full = false;
    assert (s_register_as (client, true, 0, "agent/old", &send_full) == MK_OK && !send_full);
    assert (s_register_as (client, false, 0, "agent/old", &send_full) == MK_OK && !send_full);
    assert (s_register_as (client, false, 0, "agent/fake", &send_full) == MK_OK && send_full);
    assert (s_register_as (client, false, 0, "agent/fake", &send_full) == MK_OK && send_full);
    assert (s_register_as (client, true, 0, "agent/fake", &send_full) == MK_OK && !send_full);
    assert (s_register_as (client, false, 0, "agent/fake", &send_full) == MK_OK && !send_full);
    //  Two creates at once are one batch of the controller's unless it happened to read
    //  the first alone: a few rounds make that certain.
    long batches = 0;
    for (int round = 0; round < 10 && !batches; round++) {
        char names[2][24];
        snprintf (names[0], sizeof names[0], "b-%d", round);
        snprintf (names[1], sizeof names[1], "bad-b%d", round);
        uint64_t tasks[2];
        for (int i = 0; i < 2; i++) {
            Maekin__VmCreateRequest create = MAEKIN__VM_CREATE_REQUEST__INIT;
            create.name = names[i];
            create.template_ = "tiny";
            env = (Maekin__Envelope) MAEKIN__ENVELOPE__INIT;
            env.body_case = MAEKIN__ENVELOPE__BODY_VM_CREATE;
            env.vm_create = &create;
            assert (mk_client_send_as (client, "cloud", 100 + (uint64_t) i, &env) == 0);
        }
        for (int i = 0; i < 2; i++) {
            mk_reply_t answer;
            assert (mk_client_recv (client, &answer, 5000) == 0);
            assert (answer.env->status == MK_ACCEPTED);
            tasks[answer.corr - 100] = answer.env->task_accepted->task_id;
            mk_reply_clear (&answer);
        }
        assert (streq (s_wait (client, tasks[0]), "done"));
        assert (streq (s_wait (client, tasks[1]), "failed"));
        state = s_vm_state (client, names[0]);
        assert (streq (state, "running"));
        free (state);
        batches = mk_fake_peer_ask_number (self->agent, "BATCHES", NULL);
    }
    if (verbose)
        printf ("  task batches: %ld\n", batches);
    assert (batches >= 1);
}

static void
s_test_agent_gone (test_t *self)
{
    mk_client_t *client = self->client;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    Maekin__Envelope *reply = NULL;
    uint64_t task = 0;
    //  The agent goes away: the host goes down, and actions on its VMs fail clearly.
    assert (s_create (client, "web-3", "tiny", NULL, &task) == MK_ACCEPTED);
    assert (streq (s_wait (client, task), "done"));
    //  (Its host goes down by its silence, whatever the broker says of its service.)
    mk_fake_peer_destroy (&self->agent);
    Maekin__HostShowRequest hshow = MAEKIN__HOST_SHOW_REQUEST__INIT;
    hshow.name = "n1";
    env = (Maekin__Envelope) MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_HOST_SHOW;
    env.host_show = &hshow;
    bool down = false;
    for (int64_t until = zclock_mono () + 30000; !down && zclock_mono () < until;) {
        reply = controller_fixture_call (client, &env);
        assert (reply->status == MK_OK);
        down = streq (reply->host_show_reply->host->state, "down");
        mk_msg_free (&reply);
        if (!down)
            zclock_sleep (50);
    }
    assert (down);
    assert (s_action (client, "web-3", MAEKIN__VM_OP__VM_OP_STOP, NULL) == MK_UNAVAILABLE);
}

void
controller_server_test (bool verbose)
{
    test_t self;
    controller_fixture_start (&self, "controller_server");
    s_test_templates (&self);
    s_test_vms (&self, verbose);
    s_test_restart (&self);
    s_test_bad_input (&self);
    s_test_batches (&self, verbose);
    s_test_agent_gone (&self);
    controller_fixture_stop (&self);
}

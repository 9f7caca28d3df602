/*  maekinsh_shell_test: maekinsh_shell's self-test: the whole shell against a real broker
    and a fake cloud (a worker serving `cloud` with known answers): every page of a list,
    each format, maekinsh's options anywhere, retries with one request id through a lost
    controller, --wait, errors, usage errors that send nothing, an unreachable cloud, and
    where the configuration is found. */
#include "maekinsh_shell.h"

#include "maekinsh_cmd_def.h"

#include "broker_router.h"
#include "mk_fake_peer.h"
#include "mk_msg.h"
#include "mk_testdir.h"
#include "mk_worker.h"

#include <inttypes.h>

#define WORDS(...) ((const char *[]){__VA_ARGS__, NULL})

//  What one run of the shell did.
typedef struct {
    int status;
    char *out;
    char *err;
    int64_t ms;
} run_t;

//  maekinsh with these words; the fake cloud's bus is plain text (the shell's CURVE is
//  tested with the real programs, tests/integration/curve.sh), unless words say.
static run_t
s_test_shell (const char **words)
{
    char *argv[48] = {"maekinsh", "--bus-security=none"};
    int argc = 2;
    for (; words[argc - 2]; argc++) {
        assert (argc < 47);
        argv[argc] = (char *) words[argc - 2];
    }
    run_t run = {0, NULL, NULL, 0};
    size_t out_size, err_size;
    FILE *out = open_memstream (&run.out, &out_size);
    FILE *err = open_memstream (&run.err, &err_size);
    assert (out && err);
    int64_t start = zclock_mono ();
    run.status = maekinsh_shell_run (argc, argv, out, err);
    run.ms = zclock_mono () - start;
    fclose (out);
    fclose (err);
    return run;
}

static void
s_test_expect (run_t *run, int status, const char *in_out, const char *in_err)
{
    bool good = run->status == status && (!in_out || strstr (run->out, in_out))
                && (!in_err || strstr (run->err, in_err));
    if (!good)
        fprintf (stderr,
                 "maekinsh_cmd_test: exit %d (expected %d)\n--- out (expected '%s')\n%s"
                 "--- err (expected '%s')\n%s---\n",
                 run->status, status, in_out ? in_out : "", run->out, in_err ? in_err : "",
                 run->err);
    assert (good);
    free (run->out);
    free (run->err);
}

//  The fake cloud: a worker serving `cloud` with a few known answers.
typedef struct {
    int requests;    //  requests received
    char ids[8][40]; //  request ids of the VmActionRequests received
    int id_count;
    bool ignored; //  the first VmActionRequest went unanswered
    bool died;    //  the worker disconnected and came back, once
    int waits;    //  TaskWaitRequests for task 7 so far
} fake_t;

static void
s_fake_vm (Maekin__Vm *vm, const char *name, const char *state, const char *host)
{
    maekin__vm__init (vm);
    vm->name = (char *) name;
    vm->state = (char *) state;
    vm->host = (char *) host;
    vm->template_ = "tiny";
    vm->vcpus = 1;
    vm->memory_mb = 64;
}

//  Task 7 goes dispatched, running, done; 8 fails; 9 runs on; others are unknown.
static void
s_fake_task_wait (fake_t *fake, mk_worker_t *worker, const mk_request_t *request)
{
    const Maekin__Envelope *env = request->env;
    Maekin__Envelope reply = MAEKIN__ENVELOPE__INIT;
    Maekin__Task task = MAEKIN__TASK__INIT;
    Maekin__TaskShowReply task_reply = MAEKIN__TASK_SHOW_REPLY__INIT;
    char reason[128];
    task.id = env->task_wait->id;
    task.op = task.id == 7 ? MAEKINSH_OP (START) : MAEKINSH_OP (CREATE);
    task.vm = task.id == 7 ? "web-1" : "web-9";
    task.host = task.id == 7 ? "node1" : "node2";
    if (task.id == 7) {
        const char *states[] = {"dispatched", "running", "done"};
        task.state = (char *) states[fake->waits < 2 ? fake->waits : 2];
        fake->waits++;
    } else if (task.id == 8) {
        task.state = "failed";
        task.error = "libvirt: no space left on the pool";
    } else if (task.id == 9)
        task.state = "running";
    else {
        snprintf (reason, sizeof reason, "no task %" PRIu64, task.id);
        reply.status = MK_NOT_FOUND;
        reply.reason = reason;
        mk_worker_reply (worker, request->token, &reply);
        return;
    }
    //  As the controller does: 202 for a task that is not final yet.
    reply.status = maekinsh_cmd_final (task.state) ? MK_OK : MK_ACCEPTED;
    task_reply.task = &task;
    reply.body_case = MAEKINSH_BODY (TASK_SHOW_REPLY);
    reply.task_show_reply = &task_reply;
    mk_worker_reply (worker, request->token, &reply);
}

static mk_fake_next_t
s_fake_handle (void *state, mk_worker_t *worker, const mk_request_t *request)
{
    fake_t *fake = (fake_t *) state;
    const Maekin__Envelope *env = request->env;
    fake->requests++;
    Maekin__Envelope reply = MAEKIN__ENVELOPE__INIT;
    reply.status = MK_OK;
    Maekin__Vm vms[3];
    s_fake_vm (&vms[0], "web-1", "running", "node1");
    s_fake_vm (&vms[1], "db-1", "stopped", "");
    s_fake_vm (&vms[2], "web-2", "running", "node2");
    Maekin__Vm *pointers[] = {&vms[0], &vms[1], &vms[2]};
    Maekin__VmListReply list = MAEKIN__VM_LIST_REPLY__INIT;
    Maekin__TaskAccepted accepted = MAEKIN__TASK_ACCEPTED__INIT;
    Maekin__VmShowReply vm_reply = MAEKIN__VM_SHOW_REPLY__INIT;
    Maekin__TemplateDeleteReply deleted = MAEKIN__TEMPLATE_DELETE_REPLY__INIT;
    char reason[128];
    switch (env->body_case) {
    case MAEKINSH_BODY (VM_LIST): {
        const Maekin__ListRequest *page = env->vm_list->page;
        bool first = !page || !*page->after;
        list.vms = first ? pointers : pointers + 2;
        list.n_vms = first ? (page && page->limit == 1 ? 1 : 2) : 1;
        list.next = first ? (page && page->limit == 1 ? "web-1" : "db-1") : "";
        reply.body_case = MAEKINSH_BODY (VM_LIST_REPLY);
        reply.vm_list_reply = &list;
        break;
    }
    case MAEKINSH_BODY (VM_ACTION):
        if (fake->id_count < 8)
            snprintf (fake->ids[fake->id_count++], 40, "%s", env->request_id);
        if (streq (env->vm_action->name, "p5")) {
            //  The controller's own 503: an answer, not a loss.
            reply.status = MK_UNAVAILABLE;
            reply.reason = "host 'node2' of VM 'p5' is down";
            break;
        }
        if (streq (env->vm_action->name, "flaky") && !fake->died) {
            //  As if the controller restarted mid-request: the broker answers the open
            //  request 503, then knows no worker for 'cloud' until this one comes back.
            fake->died = true;
            return MK_FAKE_RESTART;
        }
        if (!fake->ignored) {
            fake->ignored = true; //  as if the reply were lost: the client retries
            return MK_FAKE_ANSWERED;
        }
        vms[0].name = env->vm_action->name;
        vms[0].state = "starting";
        accepted.task_id = 7;
        accepted.vm = &vms[0];
        reply.status = MK_ACCEPTED;
        reply.body_case = MAEKINSH_BODY (TASK_ACCEPTED);
        reply.task_accepted = &accepted;
        break;
    case MAEKINSH_BODY (VM_CREATE):
        s_fake_vm (&vms[0], env->vm_create->name, "creating", "node2");
        accepted.task_id = 8;
        accepted.vm = &vms[0];
        reply.status = MK_ACCEPTED;
        reply.body_case = MAEKINSH_BODY (TASK_ACCEPTED);
        reply.task_accepted = &accepted;
        break;
    case MAEKINSH_BODY (TASK_WAIT):
        s_fake_task_wait (fake, worker, request);
        return MK_FAKE_ANSWERED;
    case MAEKINSH_BODY (VM_SHOW):
        if (streq (env->vm_show->name, "web-1")) {
            vm_reply.vm = &vms[0];
            reply.body_case = MAEKINSH_BODY (VM_SHOW_REPLY);
            reply.vm_show_reply = &vm_reply;
        } else {
            snprintf (reason, sizeof reason, "no VM named '%s'", env->vm_show->name);
            reply.status = MK_NOT_FOUND;
            reply.reason = reason;
        }
        break;
    case MAEKINSH_BODY (TEMPLATE_DELETE):
        reply.body_case = MAEKINSH_BODY (TEMPLATE_DELETE_REPLY);
        reply.template_delete_reply = &deleted;
        break;
    default:
        reply.status = MK_BAD_REQUEST;
        reply.reason = "the fake cloud does not know this request";
    }
    mk_worker_reply (worker, request->token, &reply);
    return MK_FAKE_ANSWERED;
}

//  The fake cloud's answers to the test: "COUNT" (requests so far), "IDS" (how many
//  VmActionRequests, and the last two request ids).
static char *
s_fake_ask (void *state, const char *question, const char *arg)
{
    fake_t *fake = (fake_t *) state;
    if (streq (question, "COUNT"))
        return zsys_sprintf ("%d", fake->requests);
    assert (streq (question, "IDS"));
    return zsys_sprintf ("%d %s %s", fake->id_count,
                         fake->ids[fake->id_count > 1 ? fake->id_count - 2 : 0],
                         fake->ids[fake->id_count > 0 ? fake->id_count - 1 : 0]);
}

static void
s_test_write (const char *path, const char *text)
{
    FILE *file = fopen (path, "w");
    assert (file);
    fputs (text, file);
    fclose (file);
}

//  Saves an environment variable and clears it; s_test_env_restore puts it back.
static char *
s_test_env_clear (const char *name)
{
    char *saved = getenv (name) ? strdup (getenv (name)) : NULL;
    unsetenv (name);
    return saved;
}

static void
s_test_env_restore (const char *name, char *saved)
{
    if (saved)
        setenv (name, saved, 1);
    else
        unsetenv (name);
    free (saved);
}

//  A list fetches every page; --limit one; in each format; maekinsh's own options
//  anywhere.
static void
s_test_pages (const char *bus, mk_fake_peer_t *cloud, bool verbose)
{
    run_t run;
    int before;
    //  A list fetches every page; --limit one; in each format.
    run = s_test_shell (WORDS ("--bus-endpoint", bus, "--timeout-ms", "2000", "vm", "list"));
    if (verbose)
        printf ("%s", run.out);
    s_test_expect (&run, MAEKINSH_EXIT_OK,
                   "NAME   VI  STATE    HOST   VCPUS  MEMORY  TEMPLATE\n"
                   "web-1  -   running  node1  1      64M     tiny\n"
                   "db-1   -   stopped  -      1      64M     tiny\n"
                   "web-2  -   running  node2  1      64M     tiny\n",
                   NULL);
    assert (mk_fake_peer_ask_number (cloud, "COUNT", NULL) == 2);
    run = s_test_shell (WORDS ("--bus-endpoint", bus, "vm", "list", "--limit", "1"));
    s_test_expect (&run, MAEKINSH_EXIT_OK, "web-1", NULL);
    assert (mk_fake_peer_ask_number (cloud, "COUNT", NULL) == 3);
    run = s_test_shell (WORDS ("--bus-endpoint=", bus, "vm", "list"));
    s_test_expect (&run, MAEKINSH_EXIT_USAGE, NULL, NULL);
    run = s_test_shell (WORDS ("--output", "json", "--bus-endpoint", bus, "vm", "list"));
    s_test_expect (&run, MAEKINSH_EXIT_OK, "{\n  \"vms\": [\n    {\n      \"name\": \"web-1\",",
                   NULL);
    run = s_test_shell (WORDS ("--output=xml", "--bus-endpoint", bus, "vm", "list"));
    s_test_expect (&run, MAEKINSH_EXIT_OK, "<VmListReply>\n  <vms>\n    <name>web-1</name>", NULL);
    assert (mk_fake_peer_ask_number (cloud, "COUNT", NULL) == 7);

    //  maekinsh's own options anywhere on the command line, as in other clouds' CLIs;
    //  not after "--", nor where they are the value of a command's option (below).
    run = s_test_shell (WORDS ("vm", "show", "web-1", "--output", "json", "--bus-endpoint", bus));
    s_test_expect (&run, MAEKINSH_EXIT_OK, "{\n  \"name\": \"web-1\",", NULL);
    run = s_test_shell (WORDS ("--bus-endpoint", bus, "vm", "list", "--limit", "1", "--output=xml",
                               "-v", "--timeout-ms", "2000"));
    s_test_expect (&run, MAEKINSH_EXIT_OK, "<VmListReply>\n  <vms>\n    <name>web-1</name>", NULL);
    mk_log_init ("selftest", verbose ? MK_LOG_DEBUG : MK_LOG_WARN); //  after -v
    run = s_test_shell (WORDS ("vm", "list", "-n", "--bus-endpoint", bus));
    s_test_expect (&run, MAEKINSH_EXIT_OK, "configuration ok (the broker at tcp://", NULL);
    before = mk_fake_peer_ask_number (cloud, "COUNT", NULL);
    run = s_test_shell (WORDS ("--bus-endpoint", bus, "vm", "list", "--output"));
    s_test_expect (&run, MAEKINSH_EXIT_USAGE, NULL, "maekinsh: --output needs a value\n");
    run = s_test_shell (WORDS ("--bus-endpoint", bus, "vm", "list", "--timeout-ms", "0"));
    s_test_expect (&run, MAEKINSH_EXIT_USAGE, NULL, "--timeout-ms must be from 1");
    run = s_test_shell (WORDS ("--bus-endpoint", bus, "vm", "list", "--", "--output", "json"));
    s_test_expect (&run, MAEKINSH_EXIT_USAGE, NULL, "unexpected argument '--output'");
    //  A CURVE bus without a key: said, and nothing sent in plain text instead.
    run = s_test_shell (WORDS ("--bus-endpoint", bus, "--bus-security", "curve", "vm", "list"));
    s_test_expect (&run, MAEKINSH_EXIT_USAGE, NULL, "bus/key is not set");
    run = s_test_shell (WORDS ("--bus-endpoint", bus, "--bus-security", "tls", "vm", "list"));
    s_test_expect (&run, MAEKINSH_EXIT_USAGE, NULL, "'curve' or 'none', not 'tls'");
    assert (mk_fake_peer_ask_number (cloud, "COUNT", NULL) == before);
}

static void
s_test_retries (const char *bus, mk_fake_peer_t *cloud, bool verbose)
{
    run_t run;
    //  A retried mutation keeps its request id: the first try goes unanswered.
    run =
        s_test_shell (WORDS ("--bus-endpoint", bus, "--timeout-ms", "300", "vm", "start", "web-1"));
    assert (run.ms >= 300);
    s_test_expect (&run, MAEKINSH_EXIT_OK, "accepted: task 7 (start web-1 on node1)\n", NULL);
    char *ids = mk_fake_peer_ask (cloud, "IDS", NULL);
    char id1[40], id2[40];
    int count = 0;
    assert (sscanf (ids, "%d %39s %39s", &count, id1, id2) == 3);
    assert (count == 2 && maekinsh_cmd_test_is_uuid (id1) && streq (id1, id2));
    zstr_free (&ids);

    //  A controller lost mid-request (503), then away for a while (404), then back: the
    //  request is tried again until it is answered, with the same request id.
    run =
        s_test_shell (WORDS ("--bus-endpoint", bus, "--timeout-ms", "2000", "vm", "stop", "flaky"));
    if (verbose)
        printf ("  answered through a lost controller after %" PRId64 " ms\n", run.ms);
    assert (run.ms >= 400 && run.ms < 2000);
    s_test_expect (&run, MAEKINSH_EXIT_OK, "accepted: task 7 (stop flaky on node1)\n", NULL);
    ids = mk_fake_peer_ask (cloud, "IDS", NULL);
    assert (sscanf (ids, "%d %39s %39s", &count, id1, id2) == 3);
    assert (count == 4 && maekinsh_cmd_test_is_uuid (id1) && streq (id1, id2));
    zstr_free (&ids);

    //  A controller's own 503 is its answer: not tried again.
    run = s_test_shell (WORDS ("--bus-endpoint", bus, "vm", "stop", "p5"));
    assert (run.ms < 1000);
    s_test_expect (&run, MAEKINSH_EXIT_ERROR, NULL, "maekinsh: host 'node2' of VM 'p5' is down\n");
    ids = mk_fake_peer_ask (cloud, "IDS", NULL);
    assert (sscanf (ids, "%d %39s %39s", &count, id1, id2) == 3 && count == 5);
    zstr_free (&ids);
}

static void
s_test_waits (const char *bus, bool verbose)
{
    run_t run;
    //  --wait follows the task: progress on err, the end on out.
    run = s_test_shell (WORDS ("--bus-endpoint", bus, "vm", "start", "web-1", "--wait"));
    if (verbose)
        printf ("%s%s", run.err, run.out);
    s_test_expect (&run, MAEKINSH_EXIT_OK,
                   "accepted: task 7 (start web-1 on node1)\n"
                   "done: task 7 (start web-1): running on node1\n",
                   "task 7 (start web-1): dispatched\ntask 7 (start web-1): running\n");
    run = s_test_shell (WORDS ("--bus-endpoint", bus, "--output", "json", "vm", "create", "web-9",
                               "--template", "tiny", "--wait"));
    s_test_expect (&run, MAEKINSH_EXIT_ERROR, "\"state\": \"failed\"",
                   "maekinsh: task 8 (create web-9 on node2) failed: libvirt: no space left "
                   "on the pool\n");
    run = s_test_shell (WORDS ("--bus-endpoint", bus, "task", "wait", "9", "--timeout", "1"));
    assert (run.ms >= 1000 && run.ms < 3000);
    s_test_expect (&run, MAEKINSH_EXIT_ERROR, NULL,
                   "is still running after 1 s; it goes on: follow it with `maekinsh task "
                   "wait 9`");
    run = s_test_shell (WORDS ("--bus-endpoint", bus, "task", "wait", "99"));
    s_test_expect (&run, MAEKINSH_EXIT_ERROR, NULL, "maekinsh: no task 99\n");

    //  Errors from the cloud; a deletion.
    run = s_test_shell (WORDS ("--bus-endpoint", bus, "vm", "show", "ghost"));
    s_test_expect (&run, MAEKINSH_EXIT_ERROR, NULL, "maekinsh: no VM named 'ghost'\n");
    run = s_test_shell (WORDS ("--bus-endpoint", bus, "vm", "show", "web-1"));
    s_test_expect (&run, MAEKINSH_EXIT_OK, "name: web-1\nuuid: \ntemplate: tiny\n", NULL);
    run = s_test_shell (WORDS ("--bus-endpoint", bus, "template", "delete", "tiny"));
    s_test_expect (&run, MAEKINSH_EXIT_OK, "deleted: template tiny\n", NULL);
    run = s_test_shell (WORDS ("--bus-endpoint", bus, "host", "list"));
    s_test_expect (&run, MAEKINSH_EXIT_ERROR, NULL,
                   "maekinsh: the fake cloud does not know this request\n");
}

static void
s_test_usage (const char *bus, mk_fake_peer_t *cloud)
{
    run_t run;
    int before;
    //  A usage error sends nothing.
    before = mk_fake_peer_ask_number (cloud, "COUNT", NULL);
    run = s_test_shell (WORDS ("--bus-endpoint", bus, "vm", "create", "web-1"));
    s_test_expect (&run, MAEKINSH_EXIT_USAGE, NULL, "maekinsh: vm create: missing --template");
    run = s_test_shell (WORDS ("--bus-endpoint", bus, "--output", "yaml", "vm", "list"));
    s_test_expect (&run, MAEKINSH_EXIT_USAGE, NULL, "--output must be table, json or xml");
    run = s_test_shell (WORDS ("--bus-endpoint", bus, "--timeout-ms", "0", "vm", "list"));
    s_test_expect (&run, MAEKINSH_EXIT_USAGE, NULL, "--timeout-ms must be from 1");
    run = s_test_shell (WORDS ("--bus-endpoint", bus, "--frobnicate=1", "vm", "list"));
    s_test_expect (&run, MAEKINSH_EXIT_USAGE, NULL, "unknown option '--frobnicate=1'");
    run = s_test_shell (WORDS ("--bus-endpoint", bus));
    s_test_expect (&run, MAEKINSH_EXIT_USAGE, NULL, "maekinsh: no command given\n");
    run = s_test_shell (WORDS ("--bus-endpoint", bus, "--help"));
    s_test_expect (&run, MAEKINSH_EXIT_OK, "usage: maekinsh [OPTIONS] COMMAND", NULL);
    run = s_test_shell (WORDS ("vm", "stop", "--help"));
    s_test_expect (&run, MAEKINSH_EXIT_OK, "usage: maekinsh vm stop NAME [--vi VI] [--wait]", NULL);
    //  A "-c" among a command's arguments is not the configuration option.
    run = s_test_shell (WORDS ("--bus-endpoint", bus, "template", "create", "t", "--vcpus", "1",
                               "--memory", "64", "--kernel", "/k", "--cmdline", "-c"));
    s_test_expect (&run, MAEKINSH_EXIT_ERROR, NULL, "the fake cloud does not know");
    assert (mk_fake_peer_ask_number (cloud, "COUNT", NULL) == before + 1);
}

static void
s_test_unreachable (broker_router_opts_t *opts, bool verbose)
{
    run_t run;
    //  No controller behind the broker, and no broker at all: exit 3, within the time.
    zactor_t *empty = broker_router_new (opts);
    zstr_send (empty, "ENDPOINT");
    char *empty_endpoint = zstr_recv (empty);
    run = s_test_shell (WORDS ("--bus-endpoint", empty_endpoint, "vm", "list"));
    assert (run.ms < 2000);
    s_test_expect (&run, MAEKINSH_EXIT_UNREACHABLE, NULL,
                   "no controller serves 'cloud'; is maekin-controller running? ('make run' "
                   "starts one)\n");
    zstr_free (&empty_endpoint);
    zactor_destroy (&empty);
    run = s_test_shell (
        WORDS ("--bus-endpoint", "tcp://127.0.0.1:1", "--timeout-ms", "100", "vm", "list"));
    if (verbose)
        printf ("%s", run.err);
    assert (run.ms >= 300 && run.ms < 2000);
    s_test_expect (&run, MAEKINSH_EXIT_UNREACHABLE, NULL,
                   "maekinsh: the cloud could not be reached at tcp://127.0.0.1:1: no answer "
                   "within 100 ms, 3 tries; is it running? ('make run' starts one; a CURVE "
                   "broker says nothing to plain text: give bus/key and bus/broker_key)\n");
    run = s_test_shell (WORDS ("--bus-endpoint", "tcp://127.0.0.1:1", "--timeout-ms", "100",
                               "--output", "json", "vm", "create", "x", "--template", "t"));
    s_test_expect (&run, MAEKINSH_EXIT_UNREACHABLE, "\"status\": 504", "could not be reached");
}

static void
s_test_config (const char *bus, const char *dir)
{
    run_t run;
    //  Finding the cloud without options: $MAEKINSH_CONFIG, ./var/maekinsh.cfg, $HOME's,
    //  then /etc's; $MAEKIN_BUS over the file; options over both.
    char *text = zsys_sprintf ("# as 'make run' writes it\nbus\n    endpoint = %s\n"
                               "    stream_out = tcp://127.0.0.1:7012\n",
                               bus);
    char named[128], home[128], home_file[160];
    snprintf (named, sizeof named, "%s/named.cfg", dir);
    snprintf (home, sizeof home, "%s/home", dir);
    snprintf (home_file, sizeof home_file, "%s/.config/maekin/maekinsh.cfg", home);
    s_test_write (named, text);
    setenv ("MAEKINSH_CONFIG", named, 1);
    char *found = maekinsh_shell_config_file ();
    assert (found && streq (found, named));
    free (found);
    run = s_test_shell (WORDS ("vm", "list", "--limit", "1"));
    s_test_expect (&run, MAEKINSH_EXIT_OK, "web-1", NULL);
    setenv ("MAEKIN_BUS", "tcp://127.0.0.1:1", 1);
    run = s_test_shell (WORDS ("--timeout-ms", "100", "vm", "list"));
    s_test_expect (&run, MAEKINSH_EXIT_UNREACHABLE, NULL, "reached at tcp://127.0.0.1:1:");
    run = s_test_shell (WORDS ("--bus-endpoint", bus, "vm", "list", "--limit", "1"));
    s_test_expect (&run, MAEKINSH_EXIT_OK, "web-1", NULL);
    run = s_test_shell (WORDS ("-n"));
    s_test_expect (&run, MAEKINSH_EXIT_OK,
                   "configuration ok (the broker at tcp://127.0.0.1:1, settings from ", NULL);
    unsetenv ("MAEKIN_BUS");

    assert (mkdir ("var", 0700) == 0);
    s_test_write ("var/maekinsh.cfg", text);
    assert (zsys_dir_create ("%s/.config/maekin", home) == 0);
    s_test_write (home_file, "bus\n    endpoint = tcp://127.0.0.1:2\n");
    setenv ("HOME", home, 1);
    setenv ("MAEKINSH_CONFIG", "/nonexistent/maekinsh.cfg", 1);
    found = maekinsh_shell_config_file ();
    assert (found && streq (found, "var/maekinsh.cfg"));
    free (found);
    run = s_test_shell (WORDS ("vm", "list", "--limit", "1"));
    s_test_expect (&run, MAEKINSH_EXIT_OK, "web-1", NULL);
    run = s_test_shell (WORDS ("-n"));
    s_test_expect (&run, MAEKINSH_EXIT_OK, "settings from var/maekinsh.cfg", NULL);
    unlink ("var/maekinsh.cfg");
    found = maekinsh_shell_config_file ();
    assert (found && streq (found, home_file));
    free (found);
    run = s_test_shell (WORDS ("-n"));
    s_test_expect (&run, MAEKINSH_EXIT_OK, "the broker at tcp://127.0.0.1:2", NULL);
    //  -c wins over what would be found; a bad file is refused.
    run = s_test_shell (WORDS ("-c", named, "-n"));
    s_test_expect (&run, MAEKINSH_EXIT_OK, bus, NULL);
    s_test_write (home_file, "bus\n    endpiont = tcp://127.0.0.1:2\n");
    run = s_test_shell (WORDS ("vm", "list"));
    s_test_expect (&run, MAEKINSH_EXIT_USAGE, NULL, "unknown setting 'bus/endpiont'");
    unsetenv ("MAEKINSH_CONFIG");
    free (text);
}

void
maekinsh_shell_test (bool verbose)
{
    //  The shell, against a real broker and a fake cloud. Nothing of this machine's
    //  configuration may leak in: the test runs in a directory of its own.
    char *saved_config = s_test_env_clear ("MAEKINSH_CONFIG");
    char *saved_bus = s_test_env_clear ("MAEKIN_BUS");
    char *saved_home = s_test_env_clear ("HOME");
    char *saved_cwd = getcwd (NULL, 0);
    char *dir = mk_testdir_new ("maekinsh_shell_test");
    assert (chdir (dir) == 0);

    broker_router_opts_t opts = {"tcp://127.0.0.1:*", 1000, 100, 60000, NULL, NULL};
    char *endpoint;
    zactor_t *router = mk_fake_peer_broker (100, &endpoint);
    fake_t fake;
    memset (&fake, 0, sizeof fake);
    const char *served[] = {"cloud"};
    mk_fake_peer_t *cloud =
        mk_fake_peer_new (endpoint, served, 1, s_fake_handle, s_fake_ask, &fake);
    for (int tries = 0; tries < 100; tries++) {
        zstr_send (router, "STATS");
        char *workers, *services, *open, *routed;
        zstr_recvx (router, &workers, &services, &open, &routed, NULL);
        bool ready = streq (workers, "1");
        zstr_free (&workers);
        zstr_free (&services);
        zstr_free (&open);
        zstr_free (&routed);
        if (ready)
            break;
        zclock_sleep (20);
    }
    const char *bus = endpoint;
    s_test_pages (bus, cloud, verbose);
    s_test_retries (bus, cloud, verbose);
    s_test_waits (bus, verbose);
    s_test_usage (bus, cloud);
    s_test_unreachable (&opts, verbose);
    s_test_config (bus, dir);

    mk_fake_peer_destroy (&cloud);
    zstr_free (&endpoint);
    zactor_destroy (&router);
    assert (chdir (saved_cwd) == 0);
    mk_testdir_remove (&dir);
    free (saved_cwd);
    s_test_env_restore ("MAEKINSH_CONFIG", saved_config);
    s_test_env_restore ("MAEKIN_BUS", saved_bus);
    s_test_env_restore ("HOME", saved_home);
    //  The shell named the log after itself.
    mk_log_init ("selftest", verbose ? MK_LOG_DEBUG : MK_LOG_WARN);
}

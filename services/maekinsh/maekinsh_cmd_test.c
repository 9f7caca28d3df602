/*  maekinsh_cmd_test: maekinsh_cmd's self-test. Every command from its words to its
    request; bad commands refused with one line; help from the table; then the whole
    shell against a real broker and a fake cloud: pages, formats, retries with one
    request id, --wait, errors, global options anywhere, finding the configuration. */
#include "maekinsh_cmd_def.h"

//  The shell runs against a real broker and a worker.
#include "broker_router.h"
#include "mk_msg.h"
#include "mk_worker.h"

#include <ctype.h>
#include <inttypes.h>

#define WORDS(...) ((const char *[]){__VA_ARGS__, NULL})

static int
s_test_count (const char **words)
{
    int count = 0;
    while (words[count])
        count++;
    return count;
}

//  Parses a command; a usage error leaves NULL and *error.
static maekinsh_cmd_t *
s_test_parse (const char **words, char **error)
{
    char *help = NULL;
    maekinsh_cmd_t *cmd =
        maekinsh_cmd_new (s_test_count (words), (char **)words, error, &help);
    assert (!help);
    if (!cmd && !*error)
        assert (false);
    return cmd;
}

//  Parses a command that must be good.
static maekinsh_cmd_t *
s_test_good (const char **words)
{
    char *error = NULL;
    maekinsh_cmd_t *cmd = s_test_parse (words, &error);
    if (!cmd)
        fprintf (stderr, "maekinsh_cmd_test: %s %s: %s\n", words[0], words[1], error);
    assert (cmd && !error);
    return cmd;
}

bool
maekinsh_cmd_test_is_uuid (const char *text)
{
    if (!text || strlen (text) != 36)
        return false;
    for (int i = 0; i < 36; i++)
        if (i == 8 || i == 13 || i == 18 || i == 23 ? text[i] != '-'
                                                    : !isxdigit ((unsigned char)text[i]))
            return false;
    return true;
}

//  Hosts and templates, argv to envelope.
static void
s_test_hosts_templates (void)
{
    maekinsh_cmd_t *cmd;
    const Maekin__Envelope *env;
    cmd = s_test_good (
        WORDS ("host", "list", "--state", "up", "--name-prefix", "node", "--limit", "5"));
    env = maekinsh_cmd_request (cmd);
    assert (env->body_case == MAEKINSH_BODY (HOST_LIST) && env->host_list->page);
    assert (env->host_list->page->limit == 5 && !cmd->every_page);
    assert (streq (env->host_list->page->filter_state, "up"));
    assert (streq (env->host_list->page->filter_name, "node"));
    assert (!*env->request_id && env->version == 1);
    maekinsh_cmd_destroy (&cmd);
    assert (cmd == NULL);
    cmd = s_test_good (WORDS ("host", "list"));
    env = maekinsh_cmd_request (cmd);
    assert (env->host_list->page->limit == 0 && cmd->every_page);
    assert (!*env->host_list->page->after && !*env->host_list->page->filter_state);
    maekinsh_cmd_destroy (&cmd);
    cmd = s_test_good (WORDS ("host", "show", "node1"));
    env = maekinsh_cmd_request (cmd);
    assert (env->body_case == MAEKINSH_BODY (HOST_SHOW) &&
            streq (env->host_show->name, "node1"));
    maekinsh_cmd_destroy (&cmd);

    cmd =
        s_test_good (WORDS ("template", "create", "small", "--vcpus", "2", "--memory=512",
                            "--disk", "10", "--image", "/var/lib/maekin/base.qcow2",
                            "--os-type", "hvm", "--network", "default"));
    env = maekinsh_cmd_request (cmd);
    assert (env->body_case == MAEKINSH_BODY (TEMPLATE_CREATE) &&
            env->template_create->template_);
    const Maekin__Template *made = env->template_create->template_;
    assert (streq (made->name, "small") && made->vcpus == 2 && made->memory_mb == 512);
    assert (made->disk_gb == 10 && streq (made->image, "/var/lib/maekin/base.qcow2"));
    assert (streq (made->os_type, "hvm") && streq (made->network, "default"));
    assert (maekinsh_cmd_test_is_uuid (env->request_id));
    char first_id[40];
    snprintf (first_id, sizeof first_id, "%s", env->request_id);
    maekinsh_cmd_destroy (&cmd);
    cmd = s_test_good (WORDS ("template", "create", "kern", "--vcpus", "1", "--memory",
                              "64", "--os-type", "linux", "--kernel", "/boot/vmlinuz",
                              "--initrd", "/boot/initrd.img", "--cmdline",
                              "console=ttyS0 quiet"));
    env = maekinsh_cmd_request (cmd);
    made = env->template_create->template_;
    assert (streq (made->kernel, "/boot/vmlinuz") &&
            streq (made->initrd, "/boot/initrd.img"));
    assert (streq (made->cmdline, "console=ttyS0 quiet") && made->disk_gb == 0);
    assert (maekinsh_cmd_test_is_uuid (env->request_id) &&
            !streq (env->request_id, first_id));
    maekinsh_cmd_destroy (&cmd);
    cmd = s_test_good (
        WORDS ("template", "create", "zero", "--vcpus", "0", "--memory", "0"));
    env = maekinsh_cmd_request (cmd);
    made = env->template_create->template_;
    assert (made->vcpus == 0 && made->memory_mb == 0);
    maekinsh_cmd_destroy (&cmd);
    cmd = s_test_good (WORDS ("template", "list"));
    env = maekinsh_cmd_request (cmd);
    assert (env->body_case == MAEKINSH_BODY (TEMPLATE_LIST) && env->template_list->page);
    maekinsh_cmd_destroy (&cmd);
    cmd = s_test_good (WORDS ("template", "show", "small"));
    env = maekinsh_cmd_request (cmd);
    assert (env->body_case == MAEKINSH_BODY (TEMPLATE_SHOW) &&
            streq (env->template_show->name, "small"));
    assert (!*env->request_id);
    maekinsh_cmd_destroy (&cmd);
    cmd = s_test_good (WORDS ("template", "delete", "small"));
    env = maekinsh_cmd_request (cmd);
    assert (env->body_case == MAEKINSH_BODY (TEMPLATE_DELETE));
    assert (streq (env->template_delete->name, "small") &&
            maekinsh_cmd_test_is_uuid (env->request_id));
    maekinsh_cmd_destroy (&cmd);
}

//  VMs, tasks and events, argv to envelope.
static void
s_test_vms_tasks (void)
{
    maekinsh_cmd_t *cmd;
    const Maekin__Envelope *env;
    cmd = s_test_good (WORDS ("vm", "create", "--template", "tiny", "web-1",
                              "--host=node1", "--wait", "--timeout", "60"));
    env = maekinsh_cmd_request (cmd);
    assert (env->body_case == MAEKINSH_BODY (VM_CREATE) &&
            streq (env->vm_create->name, "web-1"));
    assert (streq (env->vm_create->template_, "tiny") &&
            streq (env->vm_create->host, "node1"));
    assert (maekinsh_cmd_test_is_uuid (env->request_id) && cmd->wait &&
            cmd->wait_s == 60);
    maekinsh_cmd_destroy (&cmd);
    cmd = s_test_good (WORDS ("vm", "create", "web-1", "--template", "tiny"));
    env = maekinsh_cmd_request (cmd);
    assert (!*env->vm_create->host && !cmd->wait);
    maekinsh_cmd_destroy (&cmd);
    cmd = s_test_good (WORDS ("vm", "list", "--host", "node1", "--state", "running",
                              "--name-prefix", "web", "--limit", "10"));
    env = maekinsh_cmd_request (cmd);
    assert (env->body_case == MAEKINSH_BODY (VM_LIST) && env->vm_list->page->limit == 10);
    assert (streq (env->vm_list->page->filter_host, "node1"));
    assert (streq (env->vm_list->page->filter_state, "running"));
    assert (streq (env->vm_list->page->filter_name, "web"));
    maekinsh_cmd_destroy (&cmd);
    cmd = s_test_good (WORDS ("vm", "show", "--", "web-1"));
    env = maekinsh_cmd_request (cmd);
    assert (env->body_case == MAEKINSH_BODY (VM_SHOW) &&
            streq (env->vm_show->name, "web-1"));
    maekinsh_cmd_destroy (&cmd);
    struct {
        const char *verb;
        Maekin__VmOp op;
    } actions[] = {{"start", MAEKINSH_OP (START)},   {"stop", MAEKINSH_OP (STOP)},
                   {"reboot", MAEKINSH_OP (REBOOT)}, {"suspend", MAEKINSH_OP (SUSPEND)},
                   {"resume", MAEKINSH_OP (RESUME)}, {"destroy", MAEKINSH_OP (DESTROY)},
                   {"delete", MAEKINSH_OP (DELETE)}};
    for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++) {
        cmd = s_test_good (WORDS ("vm", actions[i].verb, "web-1", "--wait"));
        env = maekinsh_cmd_request (cmd);
        assert (env->body_case == MAEKINSH_BODY (VM_ACTION) &&
                env->vm_action->op == actions[i].op);
        assert (streq (env->vm_action->name, "web-1") &&
                maekinsh_cmd_test_is_uuid (env->request_id));
        assert (cmd->wait && cmd->wait_s == MAEKINSH_WAIT_DEFAULT_S);
        maekinsh_cmd_destroy (&cmd);
    }
    cmd = s_test_good (WORDS ("task", "list", "--state", "failed", "--host", "node1",
                              "--vm", "web-1", "--limit", "3"));
    env = maekinsh_cmd_request (cmd);
    assert (env->body_case == MAEKINSH_BODY (TASK_LIST) &&
            env->task_list->page->limit == 3);
    assert (streq (env->task_list->page->filter_name, "web-1"));
    assert (streq (env->task_list->page->filter_state, "failed"));
    assert (streq (env->task_list->page->filter_host, "node1"));
    maekinsh_cmd_destroy (&cmd);
    cmd = s_test_good (WORDS ("task", "show", "12"));
    env = maekinsh_cmd_request (cmd);
    assert (env->body_case == MAEKINSH_BODY (TASK_SHOW) && env->task_show->id == 12);
    maekinsh_cmd_destroy (&cmd);
    cmd = s_test_good (WORDS ("task", "wait", "18446744073709551615", "--timeout", "5"));
    env = maekinsh_cmd_request (cmd);
    assert (env->body_case == MAEKINSH_BODY (TASK_WAIT) &&
            env->task_wait->id == UINT64_MAX);
    assert (env->task_wait->timeout_ms == MAEKINSH_WAIT_MS && cmd->wait_s == 5);
    maekinsh_cmd_destroy (&cmd);
    cmd = s_test_good (
        WORDS ("event", "list", "event.task", "--since", "4", "--limit", "2"));
    env = maekinsh_cmd_request (cmd);
    assert (env->body_case == MAEKINSH_BODY (EVENTS_SINCE));
    assert (streq (env->events_since->stream, "event.task") &&
            env->events_since->after == 4);
    assert (env->events_since->limit == 2 && !cmd->every_page);
    maekinsh_cmd_destroy (&cmd);
    cmd = s_test_good (WORDS ("event", "list", "vm"));
    env = maekinsh_cmd_request (cmd);
    assert (streq (env->events_since->stream, "event.vm") && cmd->every_page);
    maekinsh_cmd_destroy (&cmd);
}

//  Every usage error: one line naming the mistake, and no command to send.
static const struct {
    const char **words; //  the command
    const char *expect; //  in the error
} s_bad[] = {
    {WORDS ("vm", "create"), "vm create: missing NAME (usage: maekinsh vm create "
                             "NAME --template T [--host H] "
                             "[--wait] [--timeout S])"},
    {WORDS ("vm", "create", "web-1"), "vm create: missing --template T (usage: "},
    {WORDS ("vm", "create", "Web-1", "--template", "tiny"),
     "vm create: 'Web-1' is not a valid VM name: it must start with a lower-case "
     "letter"},
    {WORDS ("vm", "create", "web/1", "--template", "tiny"), "not a valid VM name"},
    {WORDS ("vm", "create", "web-1", "--template", "Tiny"), "not a valid template name"},
    {WORDS ("vm", "create", "web-1", "--template", "tiny", "--host", "x y"),
     "'x y' is not a valid host name"},
    {WORDS ("vm", "create", "web-1", "--template", "tiny", "--frobnicate"),
     "vm create: unknown option '--frobnicate' (usage: "},
    {WORDS ("vm", "create", "web-1", "extra", "--template", "tiny"),
     "vm create: unexpected argument 'extra'"},
    {WORDS ("vm", "create", "web-1", "--template"), "--template needs a value (T)"},
    {WORDS ("vm", "create", "web-1", "--template", "a", "--template", "b"),
     "--template is given twice"},
    {WORDS ("vm", "create", "web-1", "--template="), "not an empty one"},
    {WORDS ("vm", "start", "web-1", "--wait=yes"), "--wait takes no value"},
    {WORDS ("vm", "start", "web-1", "--timeout", "5"), "--timeout applies to --wait"},
    {WORDS ("vm", "start", "web-1", "--wait", "--timeout", "0"),
     "--timeout must be a whole number from 1 to 604800, not '0'"},
    {WORDS ("vm", "start"), "vm start: missing NAME"},
    {WORDS ("vm", "frob", "web-1"), "unknown command 'vm frob': vm has create, list"},
    {WORDS ("fly"), "unknown command 'fly'"},
    {WORDS ("vm"), "vm: which? create, list, show, start"},
    {WORDS ("template", "create", "t", "--vcpus", "two", "--memory", "64"),
     "template create: --vcpus must be a whole number from 0 to 4294967295, not "
     "'two'"},
    {WORDS ("template", "create", "t", "--vcpus", "-1", "--memory", "64"), "not '-1'"},
    {WORDS ("template", "create", "t", "--vcpus", " 1", "--memory", "64"), "not ' 1'"},
    {WORDS ("template", "create", "t", "--vcpus", "4294967296", "--memory", "64"),
     "not '4294967296'"},
    {WORDS ("template", "create", "t", "--vcpus", "1", "--memory",
            "99999999999999999999"),
     "--memory must be a whole number"},
    {WORDS ("template", "create", "t", "--vcpus", "1"), "missing --memory MB"},
    {WORDS ("template", "create", "t", "--vcpus", "1", "--memory", "64", "--os-type",
            "bsd"),
     "--os-type must be one of hvm, linux; not 'bsd'"},
    {WORDS ("template", "create", "t", "--vcpus", "1", "--memory", "64", "--image",
            "disk.img"),
     "--image must be an absolute path"},
    {WORDS ("template", "create", "t", "--vcpus", "1", "--memory", "64", "--os-type",
            "linux"),
     "--os-type linux boots a kernel: give --kernel"},
    {WORDS ("template", "create", "t", "--vcpus", "1", "--memory", "64", "--initrd",
            "/boot/initrd.img"),
     "--initrd and --cmdline need --kernel"},
    {WORDS ("template", "create", "t", "--vcpus", "1", "--memory", "64", "--kernel", "/k",
            "--cmdline", "a\nb"),
     "--cmdline holds a control character"},
    {WORDS ("template", "create", "t", "--vcpus", "1", "--memory", "64", "--network",
            "a/b"),
     "--network must be a libvirt network name"},
    {WORDS ("vm", "list", "--state", "runing"),
     "--state must be one of creating, running, stopped"},
    {WORDS ("host", "list", "--state", "running"), "--state must be one of up, down;"},
    {WORDS ("vm", "list", "--limit", "0"),
     "--limit must be a whole number from 1 to 1000, not '0'"},
    {WORDS ("vm", "list", "--limit", "5x"), "not '5x'"},
    {WORDS ("vm", "list", "--limit", "1001"), "not '1001'"},
    {WORDS ("vm", "list", "web-1"), "vm list: unexpected argument 'web-1'"},
    {WORDS ("vm", "list", "--host", "Node1"), "'Node1' is not a valid host name"},
    {WORDS ("vm", "list", "--output", "json"),
     "--output is an option of maekinsh itself, not of 'vm list'"},
    {WORDS ("vm", "list", "-v"), "-v is an option of maekinsh itself"},
    {WORDS ("vm", "list", "-x"), "unknown option '-x'"},
    {WORDS ("task", "show", "twelve"),
     "task show: a task ID must be a whole number of at least 1, not 'twelve'"},
    {WORDS ("task", "show", "0"), "not '0'"},
    {WORDS ("task", "show", "18446744073709551616"), "not '18446744073709551616'"},
    {WORDS ("task", "wait", "12", "--timeout", "soon"), "--timeout must be"},
    {WORDS ("task", "wait", "12", "--wait"), "unknown option '--wait'"},
    {WORDS ("task", "list", "--vm", "Web"), "'Web' is not a valid VM name"},
    {WORDS ("event", "list", "event.disk"),
     "STREAM must be one of event.vm, event.task, event.host; not 'event.disk'"},
    {WORDS ("event", "list"), "event list: missing STREAM"},
    {WORDS ("event", "list", "vm", "--since", "-3"), "--since must be"},
    {WORDS ("host", "show", "a/b"), "not a valid host name"},
    {WORDS ("help", "vm", "fly"), "help: no command 'vm fly'"},
};

static void
s_test_bad (bool verbose)
{
    char *error = NULL;
    maekinsh_cmd_t *cmd;
    for (size_t i = 0; i < sizeof s_bad / sizeof s_bad[0]; i++) {
        error = NULL;
        cmd = s_test_parse (s_bad[i].words, &error);
        if (cmd || !strstr (error, s_bad[i].expect) || strchr (error, '\n') != NULL)
            fprintf (stderr, "maekinsh_cmd_test: '%s %s': '%s', expected '%s'\n",
                     s_bad[i].words[0], s_bad[i].words[1] ? s_bad[i].words[1] : "",
                     error ? error : "(accepted)", s_bad[i].expect);
        assert (!cmd && error && strstr (error, s_bad[i].expect));
        if (verbose)
            printf ("  maekinsh: %s\n", error);
        free (error);
    }
}

static void
s_test_help (void)
{
    char *error = NULL;
    //  Help: for each command, a group, everything; --help wins over other mistakes.
    char *help = maekinsh_cmd_help ();
    int commands = 0;
    for (const maekinsh_cmd_def_t *def = maekinsh_cmd_def_next (NULL); def;
         def = maekinsh_cmd_def_next (def)) {
        commands++;
        char line[64];
        snprintf (line, sizeof line, "  %s %s", def->group, def->verb);
        assert (strstr (help, line));
        const char *words[] = {def->group, def->verb, "--help", NULL};
        char *text = NULL;
        assert (!maekinsh_cmd_new (3, (char **)words, &error, &text) && !error && text);
        snprintf (line, sizeof line, "usage: maekinsh %s %s", def->group, def->verb);
        assert (strstr (text, line));
        for (const maekinsh_cmd_opt_t *opt = def->opts; opt->name; opt++)
            assert (strstr (text, opt->name));
        free (text);
    }
    assert (commands == 21); //  every noun's rows, each once
    assert (strstr (help, "exit status") && strstr (help, "--output FORMAT"));
    free (help);
    const char *asked[] = {"vm", "create", "Bad", "--bogus", "-h", NULL};
    assert (!maekinsh_cmd_new (5, (char **)asked, &error, &help) && !error);
    assert (strstr (help, "usage: maekinsh vm create NAME --template T [--host H]"));
    free (help);
    const char *group[] = {"vm", "--help", NULL};
    assert (!maekinsh_cmd_new (2, (char **)group, &error, &help) && !error);
    assert (strstr (help, "vm reboot NAME") && !strstr (help, "task list"));
    free (help);
    const char *helped[] = {"help", "task", "wait", NULL};
    assert (!maekinsh_cmd_new (3, (char **)helped, &error, &help) && !error);
    assert (strstr (help, "usage: maekinsh task wait ID [--timeout S]"));
    free (help);
}

void
maekinsh_cmd_test (bool verbose)
{
    s_test_hosts_templates ();
    s_test_vms_tasks ();
    s_test_bad (verbose);
    s_test_help ();
}

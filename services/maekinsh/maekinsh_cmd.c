/*  maekinsh_cmd: maekinsh's commands, as a table: each row names a command, its operand,
    its options, the function that turns them into a request, and the reply it expects.
    Help, usage lines and option parsing come from the table, so they cannot disagree. */
#include "maekinsh_cmd.h"

#include "maekinsh_admin.h"

#include "mk_cfg.h"
#include "mk_msg.h"
#include "mk_name.h"
//  For the self-test, which runs the shell against a real broker and a worker.
#include "broker_router.h"
#include "mk_worker.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>

#define OPTS_MAX 12

//  One option of a command.
typedef struct {
    const char *name; //  "--vcpus"
    const char *meta; //  what its value is, "N"; NULL for a flag
    bool required;    //  must be given
    const char *help; //  one line
} opt_t;

//  What the command line gave: the operand and each option's value, by the option's
//  place in the command's list ("" for a flag; NULL when not given).
typedef struct {
    const char *operand;
    const char *values[OPTS_MAX];
} args_t;

typedef struct _cmd_def_t cmd_def_t;

//  Fills self->request from the arguments: NULL, or a usage error (a new string).
typedef char *(build_fn)(maekinsh_cmd_t *self, const args_t *args);

struct _cmd_def_t {
    const char *group;                //  "vm"
    const char *verb;                 //  "create"
    const char *operand;              //  "NAME", "ID", "STREAM"; NULL for none
    const char *subject;              //  what the operand names, for errors: "VM"
    const char *summary;              //  one line of help
    const opt_t *opts;                //  terminated by a NULL name
    build_fn *build;                  //  makes the request
    Maekin__Envelope__BodyCase reply; //  the body of a good reply
    Maekin__VmOp op;                  //  the operation of a VM action
    const char *const *states;        //  what --state may name, for lists
};

struct _maekinsh_cmd_t {
    const cmd_def_t *def;      //  the command's row in the table
    Maekin__Envelope *request; //  the first request to send, owned
    const char *subject;       //  the operand, borrowed from argv
    bool every_page;           //  a list without --limit: fetch all its pages
    bool wait;                 //  --wait: follow the accepted task to its end
    int wait_s;                //  give up waiting after this many seconds
    uint64_t task_id;          //  task wait: the task
    //  Borrowed while the command runs:
    mk_client_t *client;  //  the bus
    const char *endpoint; //  the broker's endpoint, for errors
    int timeout_ms;       //  each attempt of a request
    maekinsh_out_t *out;  //  where replies go
};

//  ------------------------------------------------------------------ the table

static const char *const s_vm_states[] = {
    "creating",  "running",    "stopped",  "paused",   "starting", "stopping",
    "rebooting", "suspending", "resuming", "deleting", "error",    NULL};
static const char *const s_task_states[] = {"queued", "dispatched", "running", "done",
                                            "failed", "cancelled",  NULL};
static const char *const s_host_states[] = {"up", "down", NULL};

static const opt_t s_no_opts[] = {{NULL, NULL, false, NULL}};
static const opt_t s_wait_opts[] = {
    {"--wait", NULL, false, "wait until the task ends, showing its progress"},
    {"--timeout", "S", false, "with --wait: stop waiting after S seconds (default 300)"},
    {NULL, NULL, false, NULL}};
static const opt_t s_host_list_opts[] = {
    {"--state", "S", false, "only hosts in this state: up or down"},
    {"--name-prefix", "P", false, "only hosts whose name starts with P"},
    {"--limit", "N", false, "at most N hosts (1..1000), one page; default: all"},
    {NULL, NULL, false, NULL}};
static const opt_t s_template_create_opts[] = {
    {"--vcpus", "N", true, "virtual CPUs"},
    {"--memory", "MB", true, "memory in MiB"},
    {"--disk", "GB", false, "size of a new empty disk in GiB (default: none)"},
    {"--image", "PATH", false, "a base disk image to use instead of an empty disk"},
    {"--os-type", "hvm|linux", false, "hvm boots a disk (default), linux boots --kernel"},
    {"--network", "NET", false, "the libvirt network of its NIC (default: none)"},
    {"--kernel", "PATH", false, "direct kernel boot: the kernel"},
    {"--initrd", "PATH", false, "direct kernel boot: the initrd"},
    {"--cmdline", "TEXT", false, "direct kernel boot: the kernel command line"},
    {NULL, NULL, false, NULL}};
static const opt_t s_template_list_opts[] = {
    {"--name-prefix", "P", false, "only templates whose name starts with P"},
    {"--limit", "N", false, "at most N templates (1..1000), one page; default: all"},
    {NULL, NULL, false, NULL}};
static const opt_t s_vm_create_opts[] = {
    {"--template", "T", true, "the template to make it from"},
    {"--host", "H", false, "put it on this host (default: the scheduler chooses)"},
    {"--wait", NULL, false, "wait until it runs, showing the task's progress"},
    {"--timeout", "S", false, "with --wait: stop waiting after S seconds (default 300)"},
    {NULL, NULL, false, NULL}};
static const opt_t s_vm_list_opts[] = {
    {"--host", "H", false, "only VMs on this host"},
    {"--state", "S", false, "only VMs in this state (running, stopped, paused, ...)"},
    {"--name-prefix", "P", false, "only VMs whose name starts with P"},
    {"--limit", "N", false, "at most N VMs (1..1000), one page; default: all"},
    {NULL, NULL, false, NULL}};
static const opt_t s_task_list_opts[] = {
    {"--state", "S", false,
     "only tasks in this state (queued, running, done, failed, ...)"},
    {"--host", "H", false, "only tasks on this host"},
    {"--vm", "NAME", false, "only tasks of VMs whose name starts with NAME"},
    {"--limit", "N", false, "at most N tasks (1..1000), one page; default: all"},
    {NULL, NULL, false, NULL}};
static const opt_t s_task_wait_opts[] = {
    {"--timeout", "S", false, "stop waiting after S seconds (default 300)"},
    {NULL, NULL, false, NULL}};
static const opt_t s_event_list_opts[] = {
    {"--since", "N", false, "only events after sequence number N (default 0: all)"},
    {"--limit", "N", false, "at most N events (1..1000), one page; default: all"},
    {NULL, NULL, false, NULL}};

static build_fn s_build_list, s_build_show, s_build_template_create, s_build_vm_create,
    s_build_vm_action, s_build_task_wait, s_build_events;

#define BODY(name) MAEKIN__ENVELOPE__BODY_##name
#define OP(name)   MAEKIN__VM_OP__VM_OP_##name

static const cmd_def_t s_commands[] = {
    {"host", "list", NULL, NULL, "list the hosts of the cloud", s_host_list_opts,
     s_build_list, BODY (HOST_LIST_REPLY), OP (NONE), s_host_states},
    {"host", "show", "NAME", "host", "show one host", s_no_opts, s_build_show,
     BODY (HOST_SHOW_REPLY), OP (NONE), NULL},
    {"host", "domains", "NAME", "host", "list what libvirt on a host has, asked of it now",
     s_no_opts, s_build_show, BODY (DOMAIN_LIST_REPLY), OP (NONE), NULL},
    {"template", "create", "NAME", "template", "create a template: the shape of new VMs",
     s_template_create_opts, s_build_template_create, BODY (TEMPLATE_CREATE_REPLY),
     OP (NONE), NULL},
    {"template", "list", NULL, NULL, "list the templates", s_template_list_opts,
     s_build_list, BODY (TEMPLATE_LIST_REPLY), OP (NONE), NULL},
    {"template", "show", "NAME", "template", "show one template", s_no_opts, s_build_show,
     BODY (TEMPLATE_SHOW_REPLY), OP (NONE), NULL},
    {"template", "delete", "NAME", "template", "delete a template", s_no_opts,
     s_build_show, BODY (TEMPLATE_DELETE_REPLY), OP (NONE), NULL},
    {"vm", "create", "NAME", "VM", "create a VM from a template and start it",
     s_vm_create_opts, s_build_vm_create, BODY (TASK_ACCEPTED), OP (CREATE), NULL},
    {"vm", "list", NULL, NULL, "list the VMs", s_vm_list_opts, s_build_list,
     BODY (VM_LIST_REPLY), OP (NONE), s_vm_states},
    {"vm", "show", "NAME", "VM", "show one VM", s_no_opts, s_build_show,
     BODY (VM_SHOW_REPLY), OP (NONE), NULL},
    {"vm", "start", "NAME", "VM", "start a stopped VM", s_wait_opts, s_build_vm_action,
     BODY (TASK_ACCEPTED), OP (START), NULL},
    {"vm", "stop", "NAME", "VM", "shut a VM down (forced if it does not in time)",
     s_wait_opts, s_build_vm_action, BODY (TASK_ACCEPTED), OP (STOP), NULL},
    {"vm", "reboot", "NAME", "VM", "reboot a running VM", s_wait_opts, s_build_vm_action,
     BODY (TASK_ACCEPTED), OP (REBOOT), NULL},
    {"vm", "suspend", "NAME", "VM", "pause a running VM", s_wait_opts, s_build_vm_action,
     BODY (TASK_ACCEPTED), OP (SUSPEND), NULL},
    {"vm", "resume", "NAME", "VM", "let a paused VM run again", s_wait_opts,
     s_build_vm_action, BODY (TASK_ACCEPTED), OP (RESUME), NULL},
    {"vm", "destroy", "NAME", "VM", "power a VM off at once", s_wait_opts,
     s_build_vm_action, BODY (TASK_ACCEPTED), OP (DESTROY), NULL},
    {"vm", "delete", "NAME", "VM", "delete a stopped VM: undefine it and forget it",
     s_wait_opts, s_build_vm_action, BODY (TASK_ACCEPTED), OP (DELETE), NULL},
    {"task", "list", NULL, NULL, "list the tasks, newest first", s_task_list_opts,
     s_build_list, BODY (TASK_LIST_REPLY), OP (NONE), s_task_states},
    {"task", "show", "ID", "task", "show one task", s_no_opts, s_build_show,
     BODY (TASK_SHOW_REPLY), OP (NONE), NULL},
    {"task", "wait", "ID", "task", "wait until a task ends, showing its progress",
     s_task_wait_opts, s_build_task_wait, BODY (TASK_SHOW_REPLY), OP (NONE), NULL},
    {"event", "list", "STREAM", "stream",
     "list the events of a stream (event.vm, .task, .host)", s_event_list_opts,
     s_build_events, BODY (EVENTS_SINCE_REPLY), OP (NONE), NULL},
};
#define COMMANDS (sizeof s_commands / sizeof s_commands[0])

//  ------------------------------------------------------------------- help texts

static int
s_opt_count (const opt_t *opts)
{
    int count = 0;
    while (opts[count].name)
        count++;
    return count;
}

//  "maekinsh vm create NAME --template T [--host H] [--wait] [--timeout S]", or with
//  brief, only the operand and the required options.
static char *
s_usage (const cmd_def_t *def, bool brief)
{
    char *text = zsys_sprintf ("%s %s%s%s", def->group, def->verb,
                               def->operand ? " " : "", def->operand ? def->operand : "");
    for (const opt_t *opt = def->opts; opt->name; opt++) {
        if (brief && !opt->required)
            continue;
        char *longer = zsys_sprintf (
            "%s %s%s%s%s%s", text, opt->required ? "" : "[", opt->name,
            opt->meta ? " " : "", opt->meta ? opt->meta : "", opt->required ? "" : "]");
        free (text);
        text = longer;
    }
    return text;
}

static char *
s_command_help (const cmd_def_t *def)
{
    char *usage = s_usage (def, false);
    char *help = NULL;
    size_t size = 0;
    FILE *file = open_memstream (&help, &size);
    if (!file)
        abort ();
    fprintf (file, "usage: maekinsh %s\n%c%s.\n\n", usage,
             toupper ((unsigned char)def->summary[0]), def->summary + 1);
    free (usage);
    for (const opt_t *opt = def->opts; opt->name; opt++) {
        char flag[48];
        snprintf (flag, sizeof flag, "%s%s%s", opt->name, opt->meta ? " " : "",
                  opt->meta ? opt->meta : "");
        fprintf (file, "  %-20s %s%s\n", flag, opt->help,
                 opt->required ? " (required)" : "");
    }
    fprintf (file, "  %-20s %s\n", "-h, --help", "this help");
    if (def->reply == BODY (TASK_ACCEPTED))
        fprintf (
            file,
            "\nThe cloud answers at once with the task it made (\"accepted: task N\");"
            "\n--wait follows it to its end, as 'maekinsh task wait N' does.\n");
    fclose (file);
    return help;
}

static const mk_cfg_item_t s_schema[] = {
    {"bus/endpoint", MK_CFG_STR, "tcp://127.0.0.1:7010", "the broker's request endpoint"},
    {"bus/stream_out", MK_CFG_STR, "tcp://127.0.0.1:7012",
     "the broker's stream endpoint (XPUB), for commands that follow streams"},
    {"bus/timeout_ms", MK_CFG_INT, "5000",
     "wait this long for each try of a request (ms)"},
    {"output/format", MK_CFG_STR, "table", "table, json or xml"},
    {"log/level", MK_CFG_STR, "warn", "debug, info, warn or error"},
    {"db/url", MK_CFG_STR, "", "the controller's database, for 'admin db' commands only"},
    {NULL, 0, NULL, NULL}};

static const char *
s_default (const char *key)
{
    for (const mk_cfg_item_t *item = s_schema; item->key; item++)
        if (streq (item->key, key))
            return item->value;
    assert (false);
    return "";
}

//  The command list, for maekinsh --help (group NULL) or maekinsh GROUP --help.
static void
s_list_commands (FILE *file, const char *group)
{
    for (size_t i = 0; i < COMMANDS; i++) {
        const cmd_def_t *def = &s_commands[i];
        if (group && !streq (def->group, group))
            continue;
        char *usage = s_usage (def, true);
        if (strlen (usage) <= 30)
            fprintf (file, "  %-30s  %s\n", usage, def->summary);
        else
            fprintf (file, "  %s\n  %-30s  %s\n", usage, "", def->summary);
        free (usage);
    }
}

static char *
s_group_help (const char *group)
{
    char *help = NULL;
    size_t size = 0;
    FILE *file = open_memstream (&help, &size);
    if (!file)
        abort ();
    fprintf (file, "usage: maekinsh %s COMMAND [ARGUMENTS]\n\n", group);
    s_list_commands (file, group);
    fprintf (file,
             "\n'maekinsh %s COMMAND --help' describes a command and its options.\n",
             group);
    fclose (file);
    return help;
}

char *
maekinsh_cmd_help (void)
{
    char *help = NULL;
    size_t size = 0;
    FILE *file = open_memstream (&help, &size);
    if (!file)
        abort ();
    fprintf (file,
             "usage: maekinsh [OPTIONS] COMMAND [ARGUMENTS]\n"
             "The Maekin shell: drives a Maekin cloud over its bus.\n\ncommands:\n");
    s_list_commands (file, NULL);
    fputs (maekinsh_admin_help (), file);
    fprintf (
        file,
        "\noptions (before the command or among its arguments):\n"
        "  -c FILE               read settings from FILE (ZPL: bus/endpoint, ...)\n"
        "  --bus-endpoint URL    the broker's request endpoint (default %s)\n"
        "  --output FORMAT       table (default), json or xml\n"
        "  --timeout-ms N        wait N ms for each try of a request (default %s;\n"
        "                        %d retries, with the same request id)\n"
        "  --log-level LEVEL     debug, info, warn (default) or error\n"
        "  --db-url URL          the controller's database (admin commands only)\n"
        "  -v                    log debug lines\n"
        "  -n                    check the configuration and exit\n"
        "  -h, --help            this help\n"
        "\n'maekinsh COMMAND --help' describes a command and its options.\n"
        "\nWithout -c, maekinsh reads the first of these files that exists:\n"
        "$MAEKINSH_CONFIG, ./var/maekinsh.cfg (written by 'make run'),\n"
        "$HOME/.config/maekin/maekinsh.cfg, /etc/maekin/maekinsh.cfg.\n"
        "$MAEKIN_BUS overrides the endpoint of the file; options override both.\n"
        "\nexit status: 0 done; 1 the cloud answered with an error, or a task waited\n"
        "for failed or did not end in time; 2 bad usage or configuration (nothing\n"
        "was sent); 3 the cloud could not be reached.\n",
        s_default ("bus/endpoint"), s_default ("bus/timeout_ms"), MAEKINSH_RETRIES);
    fclose (file);
    return help;
}

//  ---------------------------------------------------------------- parsing

static bool
s_is_help (const char *arg)
{
    return streq (arg, "-h") || streq (arg, "--help");
}

static int
s_opt_index (const cmd_def_t *def, const char *name)
{
    for (int i = 0; def->opts[i].name; i++)
        if (streq (def->opts[i].name, name))
            return i;
    return -1;
}

//  The value of an option of the command, NULL if it was not given.
static const char *
s_arg (maekinsh_cmd_t *self, const args_t *args, const char *name)
{
    int index = s_opt_index (self->def, name);
    return index < 0 ? NULL : args->values[index];
}

//  A usage error with the command's usage line (a new string).
static char *s_usage_error (const cmd_def_t *def, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));

static char *
s_usage_error (const cmd_def_t *def, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    char *what = zsys_vprintf (format, args);
    va_end (args);
    char *usage = s_usage (def, false);
    char *error = zsys_sprintf ("%s (usage: maekinsh %s)", what, usage);
    free (what);
    free (usage);
    return error;
}

//  Options of maekinsh itself, given before the command or among its arguments.
static bool
s_is_global (const char *name)
{
    const char *globals[] = {"-c",
                             "-v",
                             "-n",
                             "--output",
                             "--timeout-ms",
                             "--bus-endpoint",
                             "--output-format",
                             "--bus-timeout_ms",
                             "--log-level",
                             "--bus-stream_out",
                             "--db-url"};
    for (size_t i = 0; i < sizeof globals / sizeof globals[0]; i++)
        if (streq (name, globals[i]))
            return true;
    return false;
}

//  The operand and the options: NULL, or a usage error (a new string).
static char *
s_parse (const cmd_def_t *def, int argc, char **argv, args_t *args)
{
    bool options = true;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (options && streq (arg, "--")) {
            options = false;
            continue;
        }
        if (options && arg[0] == '-' && arg[1]) {
            const char *equals = strchr (arg, '=');
            char name[64];
            snprintf (name, sizeof name, "%.*s",
                      equals ? (int)(equals - arg) : (int)strlen (arg), arg);
            const char *value = equals ? equals + 1 : NULL;
            int index = s_opt_index (def, name);
            //  The shell takes these out of a command's arguments (s_global_args).
            if (index < 0 && s_is_global (name))
                return zsys_sprintf ("%s is an option of maekinsh itself, not of '%s %s'",
                                     name, def->group, def->verb);
            if (index < 0)
                return s_usage_error (def, "unknown option '%s'", name);
            const opt_t *opt = &def->opts[index];
            if (args->values[index])
                return s_usage_error (def, "%s is given twice", name);
            if (!opt->meta) {
                if (value)
                    return s_usage_error (def, "%s takes no value", name);
                args->values[index] = "";
                continue;
            }
            if (!value) {
                if (i + 1 >= argc)
                    return s_usage_error (def, "%s needs a value (%s)", name, opt->meta);
                value = argv[++i];
            }
            if (!*value)
                return s_usage_error (def, "%s needs a value (%s), not an empty one",
                                      name, opt->meta);
            args->values[index] = value;
        } else if (def->operand && !args->operand)
            args->operand = arg;
        else
            return s_usage_error (def, "unexpected argument '%s'", arg);
    }
    if (def->operand && !args->operand)
        return s_usage_error (def, "missing %s", def->operand);
    for (int i = 0; def->opts[i].name; i++)
        if (def->opts[i].required && !args->values[i])
            return s_usage_error (def, "missing %s %s", def->opts[i].name,
                                  def->opts[i].meta);
    return NULL;
}

//  A whole number from min to max into *value: NULL, or an error (a new string).
static char *
s_number (const char *what, const char *text, uint64_t min, uint64_t max, uint64_t *value)
{
    errno = 0;
    char *end = NULL;
    unsigned long long number =
        isdigit ((unsigned char)text[0]) ? strtoull (text, &end, 10) : 0;
    if (end && !*end && errno == 0 && number >= min && number <= max) {
        *value = number;
        return NULL;
    }
    if (max == UINT64_MAX)
        return zsys_sprintf ("%s must be a whole number of at least %" PRIu64
                             ", not '%s'%s",
                             what, min, text, errno == ERANGE ? " (too large)" : "");
    return zsys_sprintf ("%s must be a whole number from %" PRIu64 " to %" PRIu64
                         ", not '%s'",
                         what, min, max, text);
}

//  A name of a VM, template or host: NULL, or why not (a new string).
static char *
s_name (const char *what, const char *name)
{
    const char *why = mk_name_check (name);
    return why ? zsys_sprintf ("'%s' is not a valid %s name: it %s", name, what, why)
               : NULL;
}

//  One of a list of words: NULL, or why not (a new string).
static char *
s_one_of (const char *what, const char *value, const char *const *words)
{
    for (int i = 0; words[i]; i++)
        if (streq (value, words[i]))
            return NULL;
    char *list = strdup (words[0]);
    for (int i = 1; words[i]; i++) {
        char *longer = zsys_sprintf ("%s, %s", list, words[i]);
        free (list);
        list = longer;
    }
    char *error = zsys_sprintf ("%s must be one of %s; not '%s'", what, list, value);
    free (list);
    return error;
}

//  The paging and filters of a list.
static char *
s_page (maekinsh_cmd_t *self, const args_t *args, Maekin__ListRequest *page)
{
    const char *value;
    char *why = NULL;
    uint64_t number;
    self->every_page = true;
    if ((value = s_arg (self, args, "--limit"))) {
        if ((why = s_number ("--limit", value, 1, 1000, &number)))
            return why;
        page->limit = (uint32_t)number;
        self->every_page = false;
    }
    if ((value = s_arg (self, args, "--state"))) {
        if ((why = s_one_of ("--state", value, self->def->states)))
            return why;
        page->filter_state = (char *)value;
    }
    if ((value = s_arg (self, args, "--host"))) {
        if ((why = s_name ("host", value)))
            return why;
        page->filter_host = (char *)value;
    }
    //  A prefix of a valid name is itself a valid name.
    if ((value = s_arg (self, args, "--name-prefix"))) {
        if ((why = s_name ("name prefix", value)))
            return why;
        page->filter_name = (char *)value;
    }
    if ((value = s_arg (self, args, "--vm"))) {
        if ((why = s_name ("VM", value)))
            return why;
        page->filter_name = (char *)value;
    }
    return NULL;
}

//  --wait and --timeout.
static char *
s_wait_args (maekinsh_cmd_t *self, const args_t *args, bool always)
{
    self->wait = always || s_arg (self, args, "--wait");
    const char *value = s_arg (self, args, "--timeout");
    if (value && !self->wait)
        return s_usage_error (self->def, "--timeout applies to --wait");
    uint64_t seconds = MAEKINSH_WAIT_DEFAULT_S;
    char *why = value ? s_number ("--timeout", value, 1, 86400 * 7, &seconds) : NULL;
    self->wait_s = (int)seconds;
    return why;
}

//  Keeps the request built on the caller's stack as a heap envelope (packed and unpacked,
//  so it is freed like any other); a mutating request gets a new request id first.
static void
s_finish (maekinsh_cmd_t *self, Maekin__Envelope *env, bool mutating)
{
    char request_id[40] = "";
    if (mutating) {
        zuuid_t *uuid = zuuid_new ();
        snprintf (request_id, sizeof request_id, "%s", zuuid_str_canonical (uuid));
        zuuid_destroy (&uuid);
        env->request_id = request_id;
    }
    zframe_t *frame = mk_msg_pack (env);
    const char *why;
    self->request = mk_msg_unpack (zframe_data (frame), zframe_size (frame), &why);
    assert (self->request);
    zframe_destroy (&frame);
}

static char *
s_build_list (maekinsh_cmd_t *self, const args_t *args)
{
    Maekin__ListRequest page = MAEKIN__LIST_REQUEST__INIT;
    char *why = s_page (self, args, &page);
    if (why)
        return why;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    Maekin__HostListRequest hosts = MAEKIN__HOST_LIST_REQUEST__INIT;
    Maekin__TemplateListRequest templates = MAEKIN__TEMPLATE_LIST_REQUEST__INIT;
    Maekin__VmListRequest vms = MAEKIN__VM_LIST_REQUEST__INIT;
    Maekin__TaskListRequest tasks = MAEKIN__TASK_LIST_REQUEST__INIT;
    switch (self->def->reply) {
    case BODY (HOST_LIST_REPLY):
        hosts.page = &page;
        env.body_case = BODY (HOST_LIST);
        env.host_list = &hosts;
        break;
    case BODY (TEMPLATE_LIST_REPLY):
        templates.page = &page;
        env.body_case = BODY (TEMPLATE_LIST);
        env.template_list = &templates;
        break;
    case BODY (VM_LIST_REPLY):
        vms.page = &page;
        env.body_case = BODY (VM_LIST);
        env.vm_list = &vms;
        break;
    case BODY (TASK_LIST_REPLY):
        tasks.page = &page;
        env.body_case = BODY (TASK_LIST);
        env.task_list = &tasks;
        break;
    default:
        assert (false); //  a list in the table without a request here
    }
    s_finish (self, &env, false);
    return NULL;
}

//  A task id: NULL, or why not (a new string).
static char *
s_task_id (maekinsh_cmd_t *self, const char *text)
{
    return s_number ("a task ID", text, 1, UINT64_MAX, &self->task_id);
}

//  The requests that name one object: show, and template delete.
static char *
s_build_show (maekinsh_cmd_t *self, const args_t *args)
{
    char *name = (char *)args->operand;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    Maekin__HostShowRequest host = MAEKIN__HOST_SHOW_REQUEST__INIT;
    Maekin__HostDomainsRequest domains = MAEKIN__HOST_DOMAINS_REQUEST__INIT;
    Maekin__TemplateShowRequest template_show = MAEKIN__TEMPLATE_SHOW_REQUEST__INIT;
    Maekin__TemplateDeleteRequest template_delete = MAEKIN__TEMPLATE_DELETE_REQUEST__INIT;
    Maekin__VmShowRequest vm = MAEKIN__VM_SHOW_REQUEST__INIT;
    Maekin__TaskShowRequest task = MAEKIN__TASK_SHOW_REQUEST__INIT;
    bool mutating = false;
    switch (self->def->reply) {
    case BODY (HOST_SHOW_REPLY):
        host.name = name;
        env.body_case = BODY (HOST_SHOW);
        env.host_show = &host;
        break;
    case BODY (DOMAIN_LIST_REPLY):
        domains.name = name;
        env.body_case = BODY (HOST_DOMAINS);
        env.host_domains = &domains;
        break;
    case BODY (TEMPLATE_SHOW_REPLY):
        template_show.name = name;
        env.body_case = BODY (TEMPLATE_SHOW);
        env.template_show = &template_show;
        break;
    case BODY (TEMPLATE_DELETE_REPLY):
        template_delete.name = name;
        env.body_case = BODY (TEMPLATE_DELETE);
        env.template_delete = &template_delete;
        mutating = true;
        break;
    case BODY (VM_SHOW_REPLY):
        vm.name = name;
        env.body_case = BODY (VM_SHOW);
        env.vm_show = &vm;
        break;
    case BODY (TASK_SHOW_REPLY): {
        char *why = s_task_id (self, name);
        if (why)
            return why;
        task.id = self->task_id;
        env.body_case = BODY (TASK_SHOW);
        env.task_show = &task;
        break;
    }
    default:
        assert (false);
    }
    s_finish (self, &env, mutating);
    return NULL;
}

//  An absolute path without control characters: NULL, or why not (a new string).
static char *
s_path (const char *option, const char *path)
{
    if (!maekinsh_out_plain (path))
        return zsys_sprintf ("%s holds a control character or bytes that are not UTF-8",
                             option);
    if (path[0] != '/')
        return zsys_sprintf (
            "%s must be an absolute path (the agent opens it on its node), "
            "not '%s'",
            option, path);
    return NULL;
}

static char *
s_build_template_create (maekinsh_cmd_t *self, const args_t *args)
{
    Maekin__Template template_ = MAEKIN__TEMPLATE__INIT;
    template_.name = (char *)args->operand;
    //  Only that they are numbers: how many vCPUs and how much memory a template may
    //  have is the controller's to say.
    uint64_t number;
    char *why =
        s_number ("--vcpus", s_arg (self, args, "--vcpus"), 0, UINT32_MAX, &number);
    if (why)
        return why;
    template_.vcpus = (uint32_t)number;
    if ((why = s_number ("--memory", s_arg (self, args, "--memory"), 0, UINT64_MAX,
                         &template_.memory_mb)))
        return why;
    const char *value;
    if ((value = s_arg (self, args, "--disk")) &&
        (why = s_number ("--disk", value, 0, UINT64_MAX, &template_.disk_gb)))
        return why;
    const char *paths[] = {"--image", "--kernel", "--initrd"};
    char **fields[] = {&template_.image, &template_.kernel, &template_.initrd};
    for (int i = 0; i < 3; i++)
        if ((value = s_arg (self, args, paths[i]))) {
            if ((why = s_path (paths[i], value)))
                return why;
            *fields[i] = (char *)value;
        }
    if ((value = s_arg (self, args, "--os-type"))) {
        static const char *const os_types[] = {"hvm", "linux", NULL};
        if ((why = s_one_of ("--os-type", value, os_types)))
            return why;
        template_.os_type = (char *)value;
    }
    if ((value = s_arg (self, args, "--network"))) {
        if (!maekinsh_out_plain (value) || strchr (value, '/'))
            return zsys_sprintf ("--network must be a libvirt network name, not '%s'",
                                 value);
        template_.network = (char *)value;
    }
    if ((value = s_arg (self, args, "--cmdline"))) {
        if (!maekinsh_out_plain (value))
            return zsys_sprintf (
                "--cmdline holds a control character or bytes that are not "
                "UTF-8");
        template_.cmdline = (char *)value;
    }
    bool kernel = s_arg (self, args, "--kernel") != NULL;
    if (!kernel && streq (template_.os_type, "linux"))
        return s_usage_error (self->def, "--os-type linux boots a kernel: give --kernel");
    if (!kernel && (*template_.initrd || *template_.cmdline))
        return s_usage_error (self->def, "--initrd and --cmdline need --kernel");
    Maekin__TemplateCreateRequest create = MAEKIN__TEMPLATE_CREATE_REQUEST__INIT;
    create.template_ = &template_;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = BODY (TEMPLATE_CREATE);
    env.template_create = &create;
    s_finish (self, &env, true);
    return NULL;
}

static char *
s_build_vm_create (maekinsh_cmd_t *self, const args_t *args)
{
    Maekin__VmCreateRequest create = MAEKIN__VM_CREATE_REQUEST__INIT;
    create.name = (char *)args->operand;
    create.template_ = (char *)s_arg (self, args, "--template");
    char *why = s_name ("template", create.template_);
    if (why)
        return why;
    const char *host = s_arg (self, args, "--host");
    if (host && (why = s_name ("host", host)))
        return why;
    if (host)
        create.host = (char *)host;
    if ((why = s_wait_args (self, args, false)))
        return why;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = BODY (VM_CREATE);
    env.vm_create = &create;
    s_finish (self, &env, true);
    return NULL;
}

static char *
s_build_vm_action (maekinsh_cmd_t *self, const args_t *args)
{
    char *why = s_wait_args (self, args, false);
    if (why)
        return why;
    Maekin__VmActionRequest action = MAEKIN__VM_ACTION_REQUEST__INIT;
    action.name = (char *)args->operand;
    action.op = self->def->op;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = BODY (VM_ACTION);
    env.vm_action = &action;
    s_finish (self, &env, true);
    return NULL;
}

static char *
s_build_task_wait (maekinsh_cmd_t *self, const args_t *args)
{
    char *why = s_task_id (self, args->operand);
    if (!why)
        why = s_wait_args (self, args, true);
    if (why)
        return why;
    Maekin__TaskWaitRequest wait = MAEKIN__TASK_WAIT_REQUEST__INIT;
    wait.id = self->task_id;
    wait.timeout_ms = MAEKINSH_WAIT_MS;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = BODY (TASK_WAIT);
    env.task_wait = &wait;
    s_finish (self, &env, false);
    return NULL;
}

static char *
s_build_events (maekinsh_cmd_t *self, const args_t *args)
{
    static const char *const streams[] = {"event.vm", "event.task", "event.host", NULL};
    //  "vm" is short for "event.vm".
    const char *stream = args->operand;
    char full[32];
    if (!strchr (stream, '.') && strlen (stream) < 16) {
        snprintf (full, sizeof full, "event.%s", stream);
        stream = full;
    }
    char *why = s_one_of ("STREAM", stream, streams);
    if (why)
        return why;
    Maekin__EventsSinceRequest since = MAEKIN__EVENTS_SINCE_REQUEST__INIT;
    since.stream = (char *)stream;
    const char *value;
    if ((value = s_arg (self, args, "--since")) &&
        (why = s_number ("--since", value, 0, UINT64_MAX, &since.after)))
        return why;
    self->every_page = true;
    uint64_t limit;
    if ((value = s_arg (self, args, "--limit"))) {
        if ((why = s_number ("--limit", value, 1, 1000, &limit)))
            return why;
        since.limit = (uint32_t)limit;
        self->every_page = false;
    }
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = BODY (EVENTS_SINCE);
    env.events_since = &since;
    s_finish (self, &env, false);
    return NULL;
}

static const cmd_def_t *
s_find (const char *group, const char *verb)
{
    for (size_t i = 0; i < COMMANDS; i++)
        if (streq (s_commands[i].group, group) &&
            (!verb || streq (s_commands[i].verb, verb)))
            return &s_commands[i];
    return NULL;
}

//  "create, list, show, ...": a group's commands.
static char *
s_verbs (const char *group)
{
    char *list = NULL;
    for (size_t i = 0; i < COMMANDS; i++) {
        if (!streq (s_commands[i].group, group))
            continue;
        char *longer = list ? zsys_sprintf ("%s, %s", list, s_commands[i].verb)
                            : strdup (s_commands[i].verb);
        free (list);
        list = longer;
    }
    return list;
}

maekinsh_cmd_t *
maekinsh_cmd_new (int argc, char **argv, char **error, char **help)
{
    *error = NULL;
    *help = NULL;
    if (argc < 1) {
        *error = strdup ("no command given ('maekinsh --help' lists them)");
        return NULL;
    }
    //  "help", "help vm", "help vm create" are --help in other words.
    if (streq (argv[0], "help")) {
        if (argc == 1)
            *help = maekinsh_cmd_help ();
        else if (argc == 2 && s_find (argv[1], NULL))
            *help = s_group_help (argv[1]);
        else if (argc == 3 && s_find (argv[1], argv[2]))
            *help = s_command_help (s_find (argv[1], argv[2]));
        else
            *error =
                zsys_sprintf ("help: no command '%s%s%s' ('maekinsh --help' lists them)",
                              argv[1], argc > 2 ? " " : "", argc > 2 ? argv[2] : "");
        return NULL;
    }
    const char *group = argv[0];
    if (!s_find (group, NULL)) {
        *error = zsys_sprintf (
            "unknown command '%s' ('maekinsh --help' lists the commands)", group);
        return NULL;
    }
    if (argc == 1 || s_is_help (argv[1])) {
        if (argc > 1)
            *help = s_group_help (group);
        else {
            char *verbs = s_verbs (group);
            *error = zsys_sprintf ("%s: which? %s ('maekinsh %s --help' tells more)",
                                   group, verbs, group);
            free (verbs);
        }
        return NULL;
    }
    const cmd_def_t *def = s_find (group, argv[1]);
    if (!def) {
        char *verbs = s_verbs (group);
        *error = zsys_sprintf ("unknown command '%s %s': %s has %s", group, argv[1],
                               group, verbs);
        free (verbs);
        return NULL;
    }
    for (int i = 2; i < argc && !streq (argv[i], "--"); i++)
        if (s_is_help (argv[i])) {
            *help = s_command_help (def);
            return NULL;
        }
    maekinsh_cmd_t *self = (maekinsh_cmd_t *)zmalloc (sizeof (maekinsh_cmd_t));
    self->def = def;
    self->wait_s = MAEKINSH_WAIT_DEFAULT_S;
    args_t args;
    memset (&args, 0, sizeof args);
    assert (s_opt_count (def->opts) <= OPTS_MAX);
    char *why = s_parse (def, argc - 2, argv + 2, &args);
    if (!why && def->operand && streq (def->operand, "NAME"))
        why = s_name (def->subject, args.operand);
    if (!why)
        why = def->build (self, &args);
    if (why) {
        *error = zsys_sprintf ("%s %s: %s", def->group, def->verb, why);
        free (why);
        maekinsh_cmd_destroy (&self);
        return NULL;
    }
    self->subject = args.operand;
    return self;
}

void
maekinsh_cmd_destroy (maekinsh_cmd_t **self_p)
{
    assert (self_p);
    maekinsh_cmd_t *self = *self_p;
    if (self) {
        mk_msg_free (&self->request);
        free (self);
        *self_p = NULL;
    }
}

const Maekin__Envelope *
maekinsh_cmd_request (maekinsh_cmd_t *self)
{
    return self->request;
}

//  ---------------------------------------------------------------- running

//  What the broker (not the controller) answered: "no worker serves 'cloud'" (404)
//  when no controller is registered, or a loss it could not recover from in time (503).
//  A controller's own 404 or 503 (no such VM, a host down) is an answer, not a loss.
typedef enum { BUS_NONE, BUS_NO_CONTROLLER, BUS_LOST } bus_error_t;

static bus_error_t
s_bus_error (maekinsh_cmd_t *self, const Maekin__Envelope *reply)
{
    if (!mk_client_last_broker (self->client))
        return BUS_NONE;
    return reply->status == MK_NOT_FOUND     ? BUS_NO_CONTROLLER
           : reply->status == MK_UNAVAILABLE ? BUS_LOST
                                             : BUS_NONE;
}

//  Sends a request and returns the answer (never NULL). mk_client_call tries again, with
//  the same request id, when no answer comes and when the broker lost the controller
//  mid-request or is busy, so the controller does the work once.
static Maekin__Envelope *
s_call (maekinsh_cmd_t *self, Maekin__Envelope *request, int timeout_ms)
{
    mk_debug ("sending %s to 'cloud' at %s", mk_msg_body_name (request), self->endpoint);
    Maekin__Envelope *reply = mk_client_call (self->client, "cloud", request, timeout_ms,
                                              MAEKINSH_RETRIES, NULL, NULL);
    mk_debug ("answer: status %d, %s%s%s", reply->status, mk_msg_body_name (reply),
              reply->reason && *reply->reason ? ": " : "", reply->reason ? reply->reason : "");
    return reply;
}

//  0 if the reply is a good one of the kind expected; else prints what is wrong and
//  returns the exit status.
static int
s_check (maekinsh_cmd_t *self, const Maekin__Envelope *reply,
         Maekin__Envelope__BodyCase expect)
{
    int status = reply->status;
    const char *reason = reply->reason && *reply->reason ? reply->reason : NULL;
    //  mk_client_call's own timeout and the broker's both say 504; the broker says 404
    //  "no worker serves" when no controller is there. Either way the cloud is out of
    //  reach.
    if (status == MK_TIMEOUT) {
        maekinsh_out_error (
            self->out, status,
            "the cloud could not be reached at %s: no answer within %d ms, "
            "%d tries; is it running? ('make run' starts one)",
            self->endpoint, self->timeout_ms, MAEKINSH_RETRIES + 1);
        return MAEKINSH_EXIT_UNREACHABLE;
    }
    if (s_bus_error (self, reply) == BUS_NO_CONTROLLER) {
        maekinsh_out_error (
            self->out, status,
            "the cloud could not be reached at %s: the broker is there but "
            "no controller serves 'cloud'; is maekin-controller running? "
            "('make run' starts one)",
            self->endpoint);
        return MAEKINSH_EXIT_UNREACHABLE;
    }
    if (status >= 300) {
        if (reason)
            maekinsh_out_error (self->out, status, "%s", reason);
        else
            maekinsh_out_error (self->out, status, "the cloud answered status %d",
                                status);
        return MAEKINSH_EXIT_ERROR;
    }
    if (reply->body_case != expect) {
        const ProtobufCFieldDescriptor *field = protobuf_c_message_descriptor_get_field (
            &maekin__envelope__descriptor, (unsigned)expect);
        maekinsh_out_error (
            self->out, MK_INTERNAL,
            "the cloud answered %s where maekinsh expects %s; are they of "
            "the same version?",
            mk_msg_body_name (reply), field ? field->name : "?");
        return MAEKINSH_EXIT_ERROR;
    }
    return MAEKINSH_EXIT_OK;
}

//  Where a list request keeps its paging.
static Maekin__ListRequest **
s_page_slot (Maekin__Envelope *request)
{
    switch (request->body_case) {
    case BODY (HOST_LIST):
        return &request->host_list->page;
    case BODY (TEMPLATE_LIST):
        return &request->template_list->page;
    case BODY (VM_LIST):
        return &request->vm_list->page;
    case BODY (TASK_LIST):
        return &request->task_list->page;
    default:
        return NULL;
    }
}

//  A list reply's cursor for the next page ("" at the end).
static const char *
s_next (const Maekin__Envelope *reply)
{
    switch (reply->body_case) {
    case BODY (HOST_LIST_REPLY):
        return reply->host_list_reply->next;
    case BODY (TEMPLATE_LIST_REPLY):
        return reply->template_list_reply->next;
    case BODY (VM_LIST_REPLY):
        return reply->vm_list_reply->next;
    case BODY (TASK_LIST_REPLY):
        return reply->task_list_reply->next;
    default:
        return "";
    }
}

//  A list, page after page until the cloud says there are no more (or one page with
//  --limit). The pages go to the output, which prints them as one.
static int
s_run_list (maekinsh_cmd_t *self)
{
    Maekin__Envelope *request = self->request;
    Maekin__ListRequest **slot = s_page_slot (request);
    Maekin__ListRequest *page = slot ? *slot : NULL;
    char *first_after = page ? page->after : NULL;
    Maekin__EventsSinceRequest *since =
        request->body_case == BODY (EVENTS_SINCE) ? request->events_since : NULL;
    assert (page || since);
    uint64_t first_since = since ? since->after : 0;
    int status;
    while (true) {
        Maekin__Envelope *reply = s_call (self, request, self->timeout_ms);
        status = s_check (self, reply, self->def->reply);
        if (status != MAEKINSH_EXIT_OK) {
            mk_msg_free (&reply);
            break;
        }
        bool more = false;
        if (page) {
            //  The cursor stays in the reply, which the output keeps until it prints.
            const char *next = s_next (reply);
            more = self->every_page && next && *next;
            if (more && streq (next, page->after)) {
                mk_warn ("the cloud gave the cursor '%s' twice; the list ends there",
                         next);
                more = false;
            }
            if (more)
                page->after = (char *)next;
        } else {
            const Maekin__EventsSinceReply *events = reply->events_since_reply;
            more =
                self->every_page && events->n_events > 0 && events->last > since->after;
            if (more)
                since->after = events->last;
        }
        maekinsh_out_add (self->out, &reply);
        if (!more)
            break;
    }
    if (page)
        page->after = first_after;
    if (since)
        since->after = first_since;
    return status;
}

static bool
s_final (const char *state)
{
    return streq (state, "done") || streq (state, "failed") || streq (state, "cancelled");
}

//  Follows a task to its end: TaskWaitRequest after TaskWaitRequest, each held by the
//  controller for up to MAEKINSH_WAIT_MS, until the task is final or wait_s have passed.
//  Prints each new state as progress, then the end.
static int
s_wait (maekinsh_cmd_t *self, uint64_t id, const char *known_state)
{
    char last[32];
    snprintf (last, sizeof last, "%s", known_state);
    int64_t deadline = zclock_mono () + (int64_t)self->wait_s * 1000;
    Maekin__Envelope *reply = NULL;
    int status = MAEKINSH_EXIT_OK;
    while (true) {
        int64_t asked = zclock_mono ();
        int64_t left = deadline - asked;
        if (left <= 0 && reply)
            break;
        Maekin__TaskWaitRequest wait = MAEKIN__TASK_WAIT_REQUEST__INIT;
        wait.id = id;
        wait.timeout_ms = (uint32_t)(left < 1                  ? 1
                                     : left < MAEKINSH_WAIT_MS ? left
                                                               : MAEKINSH_WAIT_MS);
        Maekin__Envelope request = MAEKIN__ENVELOPE__INIT;
        request.body_case = BODY (TASK_WAIT);
        request.task_wait = &wait;
        Maekin__Envelope *answer =
            s_call (self, &request, self->timeout_ms + (int)wait.timeout_ms);
        status = s_check (self, answer, BODY (TASK_SHOW_REPLY));
        if (status == MAEKINSH_EXIT_OK && !answer->task_show_reply->task) {
            maekinsh_out_error (self->out, MK_INTERNAL,
                                "the cloud's answer holds no task");
            status = MAEKINSH_EXIT_ERROR;
        }
        if (status != MAEKINSH_EXIT_OK) {
            mk_msg_free (&answer);
            break;
        }
        mk_msg_free (&reply);
        reply = answer;
        const Maekin__Task *task = reply->task_show_reply->task;
        if (s_final (task->state))
            break;
        if (!streq (task->state, last)) {
            maekinsh_out_progress (self->out, task);
            snprintf (last, sizeof last, "%s", task->state);
        }
        //  A controller that answers at once instead of holding the request is asked
        //  again a little later, not in a tight loop.
        if (zclock_mono () - asked < 100)
            zclock_sleep (200);
    }
    if (status == MAEKINSH_EXIT_OK) {
        const Maekin__Task *task = reply->task_show_reply->task;
        bool final = s_final (task->state);
        //  "done: ... running on node1" says what became of the VM.
        Maekin__Envelope *shown = NULL;
        const Maekin__Vm *vm = NULL;
        if (streq (task->state, "done") && task->op != OP (DELETE) && *task->vm) {
            Maekin__VmShowRequest show = MAEKIN__VM_SHOW_REQUEST__INIT;
            show.name = task->vm;
            Maekin__Envelope request = MAEKIN__ENVELOPE__INIT;
            request.body_case = BODY (VM_SHOW);
            request.vm_show = &show;
            shown = s_call (self, &request, self->timeout_ms);
            if (shown->status < 300 && shown->body_case == BODY (VM_SHOW_REPLY))
                vm = shown->vm_show_reply->vm;
        }
        maekinsh_out_task_end (self->out, task, vm, final ? 0 : self->wait_s);
        status = streq (task->state, "done") ? MAEKINSH_EXIT_OK : MAEKINSH_EXIT_ERROR;
        mk_msg_free (&shown);
    }
    mk_msg_free (&reply);
    return status;
}

//  A request with one answer: shown, or "accepted: task N" (and with --wait, followed),
//  or "deleted".
static int
s_run_one (maekinsh_cmd_t *self)
{
    Maekin__Envelope *reply = s_call (self, self->request, self->timeout_ms);
    int status = s_check (self, reply, self->def->reply);
    if (status == MAEKINSH_EXIT_OK) {
        if (reply->body_case == BODY (TASK_ACCEPTED)) {
            const Maekin__TaskAccepted *accepted = reply->task_accepted;
            maekinsh_out_accepted (self->out, self->def->op, self->subject, accepted,
                                   self->wait);
            if (self->wait)
                status = s_wait (self, accepted->task_id, "queued");
        } else if (reply->body_case == BODY (TEMPLATE_DELETE_REPLY))
            maekinsh_out_deleted (self->out, self->def->group, self->subject);
        else
            maekinsh_out_add (self->out, &reply);
    }
    mk_msg_free (&reply);
    return status;
}

int
maekinsh_cmd_run (maekinsh_cmd_t *self, mk_client_t *client, const char *endpoint,
                  int timeout_ms, maekinsh_out_t *out)
{
    assert (self && client && out);
    self->client = client;
    self->endpoint = endpoint;
    self->timeout_ms = timeout_ms;
    self->out = out;
    int status;
    if (self->def->build == s_build_task_wait)
        status = s_wait (self, self->task_id, "");
    else if (self->def->build == s_build_list || self->def->build == s_build_events)
        status = s_run_list (self);
    else
        status = s_run_one (self);
    //  A list that failed half way is not printed in part.
    if (status == MAEKINSH_EXIT_OK && maekinsh_out_flush (out) != 0) {
        maekinsh_out_error (out, MK_INTERNAL, "cannot write the output: %s",
                            strerror (errno));
        status = MAEKINSH_EXIT_ERROR;
    }
    self->client = NULL;
    self->endpoint = NULL;
    self->out = NULL;
    return status;
}

//  ----------------------------------------------------------- configuration, shell

static bool
s_is_file (const char *path)
{
    struct stat info;
    return stat (path, &info) == 0 && S_ISREG (info.st_mode);
}

char *
maekinsh_cmd_config_file (void)
{
    const char *named = getenv ("MAEKINSH_CONFIG");
    if (named && *named && s_is_file (named))
        return strdup (named);
    if (s_is_file ("var/maekinsh.cfg"))
        return strdup ("var/maekinsh.cfg");
    const char *home = getenv ("HOME");
    if (home && *home) {
        char *path = zsys_sprintf ("%s/.config/maekin/maekinsh.cfg", home);
        if (s_is_file (path))
            return path;
        free (path);
    }
    if (s_is_file ("/etc/maekin/maekinsh.cfg"))
        return strdup ("/etc/maekin/maekinsh.cfg");
    return NULL;
}

//  An argv of new strings.
typedef struct {
    int argc;
    char **argv;
} argv_t;

static void
s_push (argv_t *list, char *arg)
{
    list->argv =
        (char **)realloc (list->argv, (size_t)(list->argc + 2) * sizeof (char *));
    if (!list->argv)
        abort ();
    list->argv[list->argc++] = arg;
    list->argv[list->argc] = NULL;
}

static void
s_argv_free (argv_t *list)
{
    for (int i = 0; i < list->argc; i++)
        free (list->argv[i]);
    free (list->argv);
    list->argv = NULL;
    list->argc = 0;
}

//  One of maekinsh's own options at argv[*i] (and its value, moving *i past it) for
//  mk_cfg, which knows maekinsh's spellings --output and --timeout-ms as the settings
//  --output-format and --bus-timeout_ms. NULL, or an error (a new string).
static char *
s_push_global (argv_t *globals, int argc, char **argv, int *i, bool *config_given)
{
    const char *arg = argv[*i];
    bool output = streq (arg, "--output");
    if (output || streq (arg, "--timeout-ms")) {
        if (*i + 1 >= argc)
            return zsys_sprintf ("%s needs a value", arg);
        s_push (globals, zsys_sprintf ("%s=%s",
                                       output ? "--output-format" : "--bus-timeout_ms",
                                       argv[++*i]));
    } else if (strncmp (arg, "--output=", 9) == 0)
        s_push (globals, zsys_sprintf ("--output-format=%s", arg + 9));
    else if (strncmp (arg, "--timeout-ms=", 13) == 0)
        s_push (globals, zsys_sprintf ("--bus-timeout_ms=%s", arg + 13));
    else {
        //  As mk_cfg reads them: -c FILE and --key VALUE take the next argument.
        bool takes_value = streq (arg, "-c") || (strncmp (arg, "--", 2) == 0 &&
                                                 !strchr (arg, '=') && !streq (arg, "--help"));
        *config_given |= streq (arg, "-c");
        s_push (globals, strdup (arg));
        if (takes_value && *i + 1 < argc)
            s_push (globals, strdup (argv[++*i]));
    }
    return NULL;
}

//  True if arg, after the command, is one of maekinsh's own options ("--output json",
//  "--output=json", "-v"), not the command's.
static bool
s_global_after (const char *arg)
{
    char name[64];
    const char *equals = strchr (arg, '=');
    snprintf (name, sizeof name, "%.*s", equals ? (int)(equals - arg) : (int)strlen (arg),
              arg);
    return arg[0] == '-' && s_is_global (name);
}

//  True if arg is an option of the command that takes the next argument as its value.
static bool
s_takes_value (const cmd_def_t *def, const char *arg)
{
    int index = def && !strchr (arg, '=') ? s_opt_index (def, arg) : -1;
    return index >= 0 && def->opts[index].meta;
}

//  The arguments mk_cfg reads, made from main's: the configuration file found (when -c
//  is not given) and $MAEKIN_BUS come first, so that the user's options override them;
//  then maekinsh's own options, from before the command and among its arguments (as in
//  other clouds' CLIs: `maekinsh vm show web-1 --output json`), except after "--" and
//  as the value of a command's option (`--cmdline -c`); then "--" and the command, so
//  that nothing left among its arguments is taken for a setting. NULL, or an error (a
//  new string).
static char *
s_global_args (int argc, char **argv, argv_t *list, char **file_p)
{
    argv_t globals = {0, NULL};
    argv_t words = {0, NULL};
    bool config_given = false;
    char *error = NULL;
    int i = 1;
    bool options = true;
    for (; i < argc && !error; i++) {
        const char *arg = argv[i];
        if (streq (arg, "--")) {
            options = false;
            i++;
            break;
        }
        if (arg[0] != '-' || !arg[1])
            break;
        error = s_push_global (&globals, argc, argv, &i, &config_given);
    }
    const cmd_def_t *def = i + 1 < argc ? s_find (argv[i], argv[i + 1]) : NULL;
    for (; i < argc && !error; i++) {
        const char *arg = argv[i];
        if (options && s_global_after (arg))
            error = s_push_global (&globals, argc, argv, &i, &config_given);
        else {
            s_push (&words, strdup (arg));
            if (options && streq (arg, "--"))
                options = false;
            else if (options && s_takes_value (def, arg) && i + 1 < argc)
                s_push (&words, strdup (argv[++i]));
        }
    }
    if (error) {
        s_argv_free (&globals);
        s_argv_free (&words);
        return error;
    }
    s_push (list, strdup (argc > 0 ? argv[0] : "maekinsh"));
    *file_p = config_given ? NULL : maekinsh_cmd_config_file ();
    if (*file_p) {
        s_push (list, strdup ("-c"));
        s_push (list, strdup (*file_p));
    }
    const char *bus = getenv ("MAEKIN_BUS");
    if (bus && *bus)
        s_push (list, zsys_sprintf ("--bus-endpoint=%s", bus));
    for (int g = 0; g < globals.argc; g++)
        s_push (list, globals.argv[g]);
    free (globals.argv);
    s_push (list, strdup ("--"));
    for (int w = 0; w < words.argc; w++)
        s_push (list, words.argv[w]);
    free (words.argv);
    return NULL;
}

//  The settings that must make sense before anything is sent: NULL, or an error.
static char *
s_check_settings (mk_cfg_t *cfg, int *format, int *level)
{
    *format = maekinsh_out_format_parse (mk_cfg_str (cfg, "output/format"));
    if (*format < 0)
        return zsys_sprintf ("--output must be table, json or xml, not '%s'",
                             mk_cfg_str (cfg, "output/format"));
    int64_t timeout_ms = mk_cfg_int (cfg, "bus/timeout_ms");
    if (timeout_ms < 1 || timeout_ms > 3600000)
        return zsys_sprintf ("--timeout-ms must be from 1 to 3600000 ms, not %" PRId64,
                             timeout_ms);
    if (!*mk_cfg_str (cfg, "bus/endpoint"))
        return strdup ("the bus endpoint is empty; give --bus-endpoint=tcp://HOST:7010");
    *level = mk_log_level_parse (mk_cfg_str (cfg, "log/level"));
    if (*level < 0)
        return zsys_sprintf ("'log/level' must be debug, info, warn or error, not '%s'",
                             mk_cfg_str (cfg, "log/level"));
    return NULL;
}

int
maekinsh_cmd_shell (int argc, char **argv, FILE *out, FILE *err)
{
    argv_t args = {0, NULL};
    char *file = NULL;
    char *error = s_global_args (argc, argv, &args, &file);
    char *help = NULL;
    mk_cfg_t *cfg = NULL;
    maekinsh_cmd_t *cmd = NULL;
    int status = MAEKINSH_EXIT_USAGE;
    int format = MAEKINSH_OUT_TABLE, level = MK_LOG_WARN;
    if (!error)
        cfg = mk_cfg_new ("maekinsh", "The Maekin shell.", s_schema, args.argc, args.argv,
                          &error, &help);
    if (help) {
        free (help);
        help = maekinsh_cmd_help ();
        fputs (help, out);
        status = MAEKINSH_EXIT_OK;
        goto cleanup;
    }
    if (!error)
        error = s_check_settings (cfg, &format, &level);
    if (error)
        goto cleanup;
    mk_log_init ("maekinsh", mk_cfg_verbose (cfg) ? MK_LOG_DEBUG : (mk_log_level_t)level);
    const char *endpoint = mk_cfg_str (cfg, "bus/endpoint");
    const char *named = getenv ("MAEKINSH_CONFIG");
    if (named && *named && !s_is_file (named))
        mk_debug ("MAEKINSH_CONFIG names '%s', which is not a file: looked further",
                  named);
    mk_debug ("settings from %s; the broker at %s", file ? file : "no file", endpoint);
    if (mk_cfg_check_only (cfg)) {
        fprintf (out, "maekinsh: configuration ok (the broker at %s, settings from %s)\n",
                 endpoint, file ? file : "no file");
        status = MAEKINSH_EXIT_OK;
        goto cleanup;
    }
    if (mk_cfg_argc (cfg) == 0) {
        help = maekinsh_cmd_help ();
        fputs (help, err);
        error = strdup ("no command given");
        goto cleanup;
    }
    if (maekinsh_admin_is (mk_cfg_argc (cfg), mk_cfg_argv (cfg))) {
        status = maekinsh_admin_run (mk_cfg_argc (cfg), mk_cfg_argv (cfg),
                                     mk_cfg_str (cfg, "db/url"), format, out, err);
        goto cleanup;
    }
    cmd = maekinsh_cmd_new (mk_cfg_argc (cfg), mk_cfg_argv (cfg), &error, &help);
    if (help) {
        fputs (help, out);
        status = MAEKINSH_EXIT_OK;
    }
    if (!cmd)
        goto cleanup;
    mk_client_t *client = mk_client_new (endpoint);
    if (!client) {
        error = zsys_sprintf (
            "cannot use '%s' as the bus endpoint (expected tcp://HOST:PORT)", endpoint);
        goto cleanup;
    }
    maekinsh_out_t *output = maekinsh_out_new ((maekinsh_out_format_t)format, out, err);
    status = maekinsh_cmd_run (cmd, client, endpoint,
                               (int)mk_cfg_int (cfg, "bus/timeout_ms"), output);
    maekinsh_out_destroy (&output);
    //  A request still queued for a broker that never answered must not leave after
    //  maekinsh has said it failed.
    zsock_set_linger (mk_client_sock (client), 0);
    mk_client_destroy (&client);
cleanup:
    if (error)
        fprintf (err, "maekinsh: %s\n", error);
    fflush (out);
    fflush (err);
    free (error);
    free (help);
    free (file);
    maekinsh_cmd_destroy (&cmd);
    mk_cfg_destroy (&cfg);
    s_argv_free (&args);
    return status;
}

//  --------------------------------------------------------------------- self-test

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

static bool
s_test_is_uuid (const char *text)
{
    if (!text || strlen (text) != 36)
        return false;
    for (int i = 0; i < 36; i++)
        if (i == 8 || i == 13 || i == 18 || i == 23 ? text[i] != '-'
                                                    : !isxdigit ((unsigned char)text[i]))
            return false;
    return true;
}

//  What one run of the shell did.
typedef struct {
    int status;
    char *out;
    char *err;
    int64_t ms;
} run_t;

static run_t
s_test_shell (const char **words)
{
    char *argv[48] = {"maekinsh"};
    int argc = 1;
    for (; words[argc - 1]; argc++) {
        assert (argc < 47);
        argv[argc] = (char *)words[argc - 1];
    }
    run_t run = {0, NULL, NULL, 0};
    size_t out_size, err_size;
    FILE *out = open_memstream (&run.out, &out_size);
    FILE *err = open_memstream (&run.err, &err_size);
    assert (out && err);
    int64_t start = zclock_mono ();
    run.status = maekinsh_cmd_shell (argc, argv, out, err);
    run.ms = zclock_mono () - start;
    fclose (out);
    fclose (err);
    return run;
}

static void
s_test_expect (run_t *run, int status, const char *in_out, const char *in_err)
{
    bool good = run->status == status && (!in_out || strstr (run->out, in_out)) &&
                (!in_err || strstr (run->err, in_err));
    if (!good)
        fprintf (stderr,
                 "maekinsh_cmd_test: exit %d (expected %d)\n--- out (expected '%s')\n%s"
                 "--- err (expected '%s')\n%s---\n",
                 run->status, status, in_out ? in_out : "", run->out,
                 in_err ? in_err : "", run->err);
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
    bool die;     //  the worker is to disconnect now, and come back
    bool died;    //  it did, once
    int waits;    //  TaskWaitRequests for task 7 so far
} fake_t;

static void
s_fake_vm (Maekin__Vm *vm, const char *name, const char *state, const char *host)
{
    maekin__vm__init (vm);
    vm->name = (char *)name;
    vm->state = (char *)state;
    vm->host = (char *)host;
    vm->template_ = "tiny";
    vm->vcpus = 1;
    vm->memory_mb = 64;
}

static void
s_fake_handle (fake_t *fake, mk_worker_t *worker, const mk_request_t *request)
{
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
    Maekin__Task task = MAEKIN__TASK__INIT;
    Maekin__TaskShowReply task_reply = MAEKIN__TASK_SHOW_REPLY__INIT;
    Maekin__VmShowReply vm_reply = MAEKIN__VM_SHOW_REPLY__INIT;
    Maekin__TemplateDeleteReply deleted = MAEKIN__TEMPLATE_DELETE_REPLY__INIT;
    char reason[128];
    switch (env->body_case) {
    case BODY (VM_LIST): {
        const Maekin__ListRequest *page = env->vm_list->page;
        bool first = !page || !*page->after;
        list.vms = first ? pointers : pointers + 2;
        list.n_vms = first ? (page && page->limit == 1 ? 1 : 2) : 1;
        list.next = first ? (page && page->limit == 1 ? "web-1" : "db-1") : "";
        reply.body_case = BODY (VM_LIST_REPLY);
        reply.vm_list_reply = &list;
        break;
    }
    case BODY (VM_ACTION):
        if (fake->id_count < 8)
            snprintf (fake->ids[fake->id_count++], 40, "%s", env->request_id);
        if (streq (env->vm_action->name, "p5")) {
            //  The controller's own 503: an answer, not a loss.
            reply.status = MK_UNAVAILABLE;
            reply.reason = "host 'node2' of VM 'p5' is down";
            break;
        }
        if (streq (env->vm_action->name, "flaky") && !fake->died) {
            fake->die = true; //  as if the controller restarted mid-request
            return;
        }
        if (!fake->ignored) {
            fake->ignored = true; //  as if the reply were lost: the client retries
            return;
        }
        vms[0].name = env->vm_action->name;
        vms[0].state = "starting";
        accepted.task_id = 7;
        accepted.vm = &vms[0];
        reply.status = MK_ACCEPTED;
        reply.body_case = BODY (TASK_ACCEPTED);
        reply.task_accepted = &accepted;
        break;
    case BODY (VM_CREATE):
        s_fake_vm (&vms[0], env->vm_create->name, "creating", "node2");
        accepted.task_id = 8;
        accepted.vm = &vms[0];
        reply.status = MK_ACCEPTED;
        reply.body_case = BODY (TASK_ACCEPTED);
        reply.task_accepted = &accepted;
        break;
    case BODY (TASK_WAIT):
        task.id = env->task_wait->id;
        task.op = task.id == 7 ? OP (START) : OP (CREATE);
        task.vm = task.id == 7 ? "web-1" : "web-9";
        task.host = task.id == 7 ? "node1" : "node2";
        if (task.id == 7) {
            const char *states[] = {"dispatched", "running", "done"};
            task.state = (char *)states[fake->waits < 2 ? fake->waits : 2];
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
            break;
        }
        //  As the controller does: 202 for a task that is not final yet.
        reply.status = s_final (task.state) ? MK_OK : MK_ACCEPTED;
        task_reply.task = &task;
        reply.body_case = BODY (TASK_SHOW_REPLY);
        reply.task_show_reply = &task_reply;
        break;
    case BODY (VM_SHOW):
        if (streq (env->vm_show->name, "web-1")) {
            vm_reply.vm = &vms[0];
            reply.body_case = BODY (VM_SHOW_REPLY);
            reply.vm_show_reply = &vm_reply;
        } else {
            snprintf (reason, sizeof reason, "no VM named '%s'", env->vm_show->name);
            reply.status = MK_NOT_FOUND;
            reply.reason = reason;
        }
        break;
    case BODY (TEMPLATE_DELETE):
        reply.body_case = BODY (TEMPLATE_DELETE_REPLY);
        reply.template_delete_reply = &deleted;
        break;
    default:
        reply.status = MK_BAD_REQUEST;
        reply.reason = "the fake cloud does not know this request";
    }
    mk_worker_reply (worker, request->token, &reply);
}

//  The fake cloud as an actor. Commands: "COUNT" (requests so far), "IDS" (how many
//  VmActionRequests, and the first two request ids).
static void
s_fake_cloud (zsock_t *pipe, void *args)
{
    const char *services[] = {"cloud"};
    mk_worker_t *worker = mk_worker_new ((const char *)args, services, 1);
    assert (worker);
    fake_t fake;
    memset (&fake, 0, sizeof fake);
    zpoller_t *poller = zpoller_new (pipe, mk_worker_sock (worker), NULL);
    zsock_signal (pipe, 0);
    while (true) {
        void *which = zpoller_wait (poller, 100);
        if (which == pipe) {
            char *command = zstr_recv (pipe);
            if (!command || streq (command, "$TERM")) {
                zstr_free (&command);
                break;
            }
            if (streq (command, "COUNT"))
                zstr_sendf (pipe, "%d", fake.requests);
            else if (streq (command, "IDS"))
                zstr_sendf (pipe, "%d %s %s", fake.id_count,
                            fake.ids[fake.id_count > 1 ? fake.id_count - 2 : 0],
                            fake.ids[fake.id_count > 0 ? fake.id_count - 1 : 0]);
            zstr_free (&command);
        } else if (which) {
            mk_request_t request;
            if (mk_worker_recv (worker, &request) == 1) {
                s_fake_handle (&fake, worker, &request);
                mk_request_clear (&request);
            }
        }
        if (fake.die) {
            //  DISCONNECT: the broker answers the open request 503, then knows no
            //  worker for 'cloud' until this one comes back.
            zpoller_destroy (&poller);
            mk_worker_destroy (&worker);
            zclock_sleep (400);
            worker = mk_worker_new ((const char *)args, services, 1);
            poller = zpoller_new (pipe, mk_worker_sock (worker), NULL);
            fake.die = false;
            fake.died = true;
        }
        mk_worker_tick (worker);
    }
    zpoller_destroy (&poller);
    mk_worker_destroy (&worker);
}

static int
s_fake_count (zactor_t *cloud)
{
    zstr_send (cloud, "COUNT");
    char *count = zstr_recv (cloud);
    int number = atoi (count);
    zstr_free (&count);
    return number;
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

void
maekinsh_cmd_test (bool verbose)
{
    char *error = NULL;
    maekinsh_cmd_t *cmd;
    const Maekin__Envelope *env;

    //  Every command, argv to envelope.
    cmd = s_test_good (
        WORDS ("host", "list", "--state", "up", "--name-prefix", "node", "--limit", "5"));
    env = maekinsh_cmd_request (cmd);
    assert (env->body_case == BODY (HOST_LIST) && env->host_list->page);
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
    assert (env->body_case == BODY (HOST_SHOW) && streq (env->host_show->name, "node1"));
    maekinsh_cmd_destroy (&cmd);

    cmd =
        s_test_good (WORDS ("template", "create", "small", "--vcpus", "2", "--memory=512",
                            "--disk", "10", "--image", "/var/lib/maekin/base.qcow2",
                            "--os-type", "hvm", "--network", "default"));
    env = maekinsh_cmd_request (cmd);
    assert (env->body_case == BODY (TEMPLATE_CREATE) && env->template_create->template_);
    const Maekin__Template *made = env->template_create->template_;
    assert (streq (made->name, "small") && made->vcpus == 2 && made->memory_mb == 512);
    assert (made->disk_gb == 10 && streq (made->image, "/var/lib/maekin/base.qcow2"));
    assert (streq (made->os_type, "hvm") && streq (made->network, "default"));
    assert (s_test_is_uuid (env->request_id));
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
    assert (s_test_is_uuid (env->request_id) && !streq (env->request_id, first_id));
    maekinsh_cmd_destroy (&cmd);
    cmd = s_test_good (
        WORDS ("template", "create", "zero", "--vcpus", "0", "--memory", "0"));
    env = maekinsh_cmd_request (cmd);
    made = env->template_create->template_;
    assert (made->vcpus == 0 && made->memory_mb == 0);
    maekinsh_cmd_destroy (&cmd);
    cmd = s_test_good (WORDS ("template", "list"));
    env = maekinsh_cmd_request (cmd);
    assert (env->body_case == BODY (TEMPLATE_LIST) && env->template_list->page);
    maekinsh_cmd_destroy (&cmd);
    cmd = s_test_good (WORDS ("template", "show", "small"));
    env = maekinsh_cmd_request (cmd);
    assert (env->body_case == BODY (TEMPLATE_SHOW) &&
            streq (env->template_show->name, "small"));
    assert (!*env->request_id);
    maekinsh_cmd_destroy (&cmd);
    cmd = s_test_good (WORDS ("template", "delete", "small"));
    env = maekinsh_cmd_request (cmd);
    assert (env->body_case == BODY (TEMPLATE_DELETE));
    assert (streq (env->template_delete->name, "small") &&
            s_test_is_uuid (env->request_id));
    maekinsh_cmd_destroy (&cmd);

    cmd = s_test_good (WORDS ("vm", "create", "--template", "tiny", "web-1",
                              "--host=node1", "--wait", "--timeout", "60"));
    env = maekinsh_cmd_request (cmd);
    assert (env->body_case == BODY (VM_CREATE) && streq (env->vm_create->name, "web-1"));
    assert (streq (env->vm_create->template_, "tiny") &&
            streq (env->vm_create->host, "node1"));
    assert (s_test_is_uuid (env->request_id) && cmd->wait && cmd->wait_s == 60);
    maekinsh_cmd_destroy (&cmd);
    cmd = s_test_good (WORDS ("vm", "create", "web-1", "--template", "tiny"));
    env = maekinsh_cmd_request (cmd);
    assert (!*env->vm_create->host && !cmd->wait);
    maekinsh_cmd_destroy (&cmd);
    cmd = s_test_good (WORDS ("vm", "list", "--host", "node1", "--state", "running",
                              "--name-prefix", "web", "--limit", "10"));
    env = maekinsh_cmd_request (cmd);
    assert (env->body_case == BODY (VM_LIST) && env->vm_list->page->limit == 10);
    assert (streq (env->vm_list->page->filter_host, "node1"));
    assert (streq (env->vm_list->page->filter_state, "running"));
    assert (streq (env->vm_list->page->filter_name, "web"));
    maekinsh_cmd_destroy (&cmd);
    cmd = s_test_good (WORDS ("vm", "show", "--", "web-1"));
    env = maekinsh_cmd_request (cmd);
    assert (env->body_case == BODY (VM_SHOW) && streq (env->vm_show->name, "web-1"));
    maekinsh_cmd_destroy (&cmd);
    struct {
        const char *verb;
        Maekin__VmOp op;
    } actions[] = {{"start", OP (START)},   {"stop", OP (STOP)},
                   {"reboot", OP (REBOOT)}, {"suspend", OP (SUSPEND)},
                   {"resume", OP (RESUME)}, {"destroy", OP (DESTROY)},
                   {"delete", OP (DELETE)}};
    for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++) {
        cmd = s_test_good (WORDS ("vm", actions[i].verb, "web-1", "--wait"));
        env = maekinsh_cmd_request (cmd);
        assert (env->body_case == BODY (VM_ACTION) &&
                env->vm_action->op == actions[i].op);
        assert (streq (env->vm_action->name, "web-1") &&
                s_test_is_uuid (env->request_id));
        assert (cmd->wait && cmd->wait_s == MAEKINSH_WAIT_DEFAULT_S);
        maekinsh_cmd_destroy (&cmd);
    }
    cmd = s_test_good (WORDS ("task", "list", "--state", "failed", "--host", "node1",
                              "--vm", "web-1", "--limit", "3"));
    env = maekinsh_cmd_request (cmd);
    assert (env->body_case == BODY (TASK_LIST) && env->task_list->page->limit == 3);
    assert (streq (env->task_list->page->filter_name, "web-1"));
    assert (streq (env->task_list->page->filter_state, "failed"));
    assert (streq (env->task_list->page->filter_host, "node1"));
    maekinsh_cmd_destroy (&cmd);
    cmd = s_test_good (WORDS ("task", "show", "12"));
    env = maekinsh_cmd_request (cmd);
    assert (env->body_case == BODY (TASK_SHOW) && env->task_show->id == 12);
    maekinsh_cmd_destroy (&cmd);
    cmd = s_test_good (WORDS ("task", "wait", "18446744073709551615", "--timeout", "5"));
    env = maekinsh_cmd_request (cmd);
    assert (env->body_case == BODY (TASK_WAIT) && env->task_wait->id == UINT64_MAX);
    assert (env->task_wait->timeout_ms == MAEKINSH_WAIT_MS && cmd->wait_s == 5);
    maekinsh_cmd_destroy (&cmd);
    cmd = s_test_good (
        WORDS ("event", "list", "event.task", "--since", "4", "--limit", "2"));
    env = maekinsh_cmd_request (cmd);
    assert (env->body_case == BODY (EVENTS_SINCE));
    assert (streq (env->events_since->stream, "event.task") &&
            env->events_since->after == 4);
    assert (env->events_since->limit == 2 && !cmd->every_page);
    maekinsh_cmd_destroy (&cmd);
    cmd = s_test_good (WORDS ("event", "list", "vm"));
    env = maekinsh_cmd_request (cmd);
    assert (streq (env->events_since->stream, "event.vm") && cmd->every_page);
    maekinsh_cmd_destroy (&cmd);

    //  Every usage error: one line naming the mistake, and no command to send.
    struct {
        const char **words;
        const char *expect;
    } bad[] = {
        {WORDS ("vm", "create"), "vm create: missing NAME (usage: maekinsh vm create "
                                 "NAME --template T [--host H] "
                                 "[--wait] [--timeout S])"},
        {WORDS ("vm", "create", "web-1"), "vm create: missing --template T (usage: "},
        {WORDS ("vm", "create", "Web-1", "--template", "tiny"),
         "vm create: 'Web-1' is not a valid VM name: it must start with a lower-case "
         "letter"},
        {WORDS ("vm", "create", "web/1", "--template", "tiny"), "not a valid VM name"},
        {WORDS ("vm", "create", "web-1", "--template", "Tiny"),
         "not a valid template name"},
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
        {WORDS ("template", "create", "t", "--vcpus", "-1", "--memory", "64"),
         "not '-1'"},
        {WORDS ("template", "create", "t", "--vcpus", " 1", "--memory", "64"),
         "not ' 1'"},
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
        {WORDS ("template", "create", "t", "--vcpus", "1", "--memory", "64", "--kernel",
                "/k", "--cmdline", "a\nb"),
         "--cmdline holds a control character"},
        {WORDS ("template", "create", "t", "--vcpus", "1", "--memory", "64", "--network",
                "a/b"),
         "--network must be a libvirt network name"},
        {WORDS ("vm", "list", "--state", "runing"),
         "--state must be one of creating, running, stopped"},
        {WORDS ("host", "list", "--state", "running"),
         "--state must be one of up, down;"},
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
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        error = NULL;
        cmd = s_test_parse (bad[i].words, &error);
        if (cmd || !strstr (error, bad[i].expect) || strchr (error, '\n') != NULL)
            fprintf (stderr, "maekinsh_cmd_test: '%s %s': '%s', expected '%s'\n",
                     bad[i].words[0], bad[i].words[1] ? bad[i].words[1] : "",
                     error ? error : "(accepted)", bad[i].expect);
        assert (!cmd && error && strstr (error, bad[i].expect));
        if (verbose)
            printf ("  maekinsh: %s\n", error);
        free (error);
    }

    //  Help: for each command, a group, everything; --help wins over other mistakes.
    char *help = maekinsh_cmd_help ();
    for (size_t i = 0; i < COMMANDS; i++) {
        char line[64];
        snprintf (line, sizeof line, "  %s %s", s_commands[i].group, s_commands[i].verb);
        assert (strstr (help, line));
        const char *words[] = {s_commands[i].group, s_commands[i].verb, "--help", NULL};
        char *text = NULL;
        assert (!maekinsh_cmd_new (3, (char **)words, &error, &text) && !error && text);
        snprintf (line, sizeof line, "usage: maekinsh %s %s", s_commands[i].group,
                  s_commands[i].verb);
        assert (strstr (text, line));
        for (const opt_t *opt = s_commands[i].opts; opt->name; opt++)
            assert (strstr (text, opt->name));
        free (text);
    }
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

    //  The shell, against a real broker and a fake cloud. Nothing of this machine's
    //  configuration may leak in: the test runs in a directory of its own.
    char *saved_config = s_test_env_clear ("MAEKINSH_CONFIG");
    char *saved_bus = s_test_env_clear ("MAEKIN_BUS");
    char *saved_home = s_test_env_clear ("HOME");
    char *saved_cwd = getcwd (NULL, 0);
    char dir[] = "/tmp/maekinsh_cmd_test.XXXXXX";
    assert (mkdtemp (dir) && chdir (dir) == 0);

    broker_router_opts_t opts = {"tcp://127.0.0.1:*", 1000, 100, 60000};
    zactor_t *router = broker_router_new (&opts);
    assert (router);
    zstr_send (router, "ENDPOINT");
    char *endpoint = zstr_recv (router);
    zactor_t *cloud = zactor_new (s_fake_cloud, endpoint);
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
    run_t run;
    int before;

    //  A list fetches every page; --limit one; in each format.
    run = s_test_shell (
        WORDS ("--bus-endpoint", bus, "--timeout-ms", "2000", "vm", "list"));
    if (verbose)
        printf ("%s", run.out);
    s_test_expect (&run, MAEKINSH_EXIT_OK,
                   "NAME   STATE    HOST   VCPUS  MEMORY  TEMPLATE\n"
                   "web-1  running  node1  1      64M     tiny\n"
                   "db-1   stopped  -      1      64M     tiny\n"
                   "web-2  running  node2  1      64M     tiny\n",
                   NULL);
    assert (s_fake_count (cloud) == 2);
    run = s_test_shell (WORDS ("--bus-endpoint", bus, "vm", "list", "--limit", "1"));
    s_test_expect (&run, MAEKINSH_EXIT_OK, "web-1", NULL);
    assert (s_fake_count (cloud) == 3);
    run = s_test_shell (WORDS ("--bus-endpoint=", bus, "vm", "list"));
    s_test_expect (&run, MAEKINSH_EXIT_USAGE, NULL, NULL);
    run = s_test_shell (WORDS ("--output", "json", "--bus-endpoint", bus, "vm", "list"));
    s_test_expect (&run, MAEKINSH_EXIT_OK, "{\n  \"vms\": [\n    {\n      \"name\": \"web-1\",",
                   NULL);
    run = s_test_shell (WORDS ("--output=xml", "--bus-endpoint", bus, "vm", "list"));
    s_test_expect (&run, MAEKINSH_EXIT_OK,
                   "<VmListReply>\n  <vms>\n    <name>web-1</name>", NULL);
    assert (s_fake_count (cloud) == 7);

    //  maekinsh's own options anywhere on the command line, as in other clouds' CLIs;
    //  not after "--", nor where they are the value of a command's option (below).
    run = s_test_shell (
        WORDS ("vm", "show", "web-1", "--output", "json", "--bus-endpoint", bus));
    s_test_expect (&run, MAEKINSH_EXIT_OK, "{\n  \"name\": \"web-1\",", NULL);
    run = s_test_shell (WORDS ("--bus-endpoint", bus, "vm", "list", "--limit", "1",
                               "--output=xml", "-v", "--timeout-ms", "2000"));
    s_test_expect (&run, MAEKINSH_EXIT_OK,
                   "<VmListReply>\n  <vms>\n    <name>web-1</name>", NULL);
    mk_log_init ("selftest", verbose ? MK_LOG_DEBUG : MK_LOG_WARN); //  after -v
    run = s_test_shell (WORDS ("vm", "list", "-n", "--bus-endpoint", bus));
    s_test_expect (&run, MAEKINSH_EXIT_OK, "configuration ok (the broker at tcp://", NULL);
    before = s_fake_count (cloud);
    run = s_test_shell (WORDS ("--bus-endpoint", bus, "vm", "list", "--output"));
    s_test_expect (&run, MAEKINSH_EXIT_USAGE, NULL, "maekinsh: --output needs a value\n");
    run = s_test_shell (WORDS ("--bus-endpoint", bus, "vm", "list", "--timeout-ms", "0"));
    s_test_expect (&run, MAEKINSH_EXIT_USAGE, NULL, "--timeout-ms must be from 1");
    run = s_test_shell (WORDS ("--bus-endpoint", bus, "vm", "list", "--", "--output", "json"));
    s_test_expect (&run, MAEKINSH_EXIT_USAGE, NULL, "unexpected argument '--output'");
    assert (s_fake_count (cloud) == before);

    //  A retried mutation keeps its request id: the first try goes unanswered.
    run = s_test_shell (
        WORDS ("--bus-endpoint", bus, "--timeout-ms", "300", "vm", "start", "web-1"));
    assert (run.ms >= 300);
    s_test_expect (&run, MAEKINSH_EXIT_OK, "accepted: task 7 (start web-1 on node1)\n",
                   NULL);
    zstr_send (cloud, "IDS");
    char *ids = zstr_recv (cloud);
    char id1[40], id2[40];
    int count = 0;
    assert (sscanf (ids, "%d %39s %39s", &count, id1, id2) == 3);
    assert (count == 2 && s_test_is_uuid (id1) && streq (id1, id2));
    zstr_free (&ids);

    //  A controller lost mid-request (503), then away for a while (404), then back: the
    //  request is tried again until it is answered, with the same request id.
    run = s_test_shell (
        WORDS ("--bus-endpoint", bus, "--timeout-ms", "2000", "vm", "stop", "flaky"));
    if (verbose)
        printf ("  answered through a lost controller after %" PRId64 " ms\n", run.ms);
    assert (run.ms >= 400 && run.ms < 2000);
    s_test_expect (&run, MAEKINSH_EXIT_OK, "accepted: task 7 (stop flaky on node1)\n",
                   NULL);
    zstr_send (cloud, "IDS");
    ids = zstr_recv (cloud);
    assert (sscanf (ids, "%d %39s %39s", &count, id1, id2) == 3);
    assert (count == 4 && s_test_is_uuid (id1) && streq (id1, id2));
    zstr_free (&ids);

    //  A controller's own 503 is its answer: not tried again.
    run = s_test_shell (WORDS ("--bus-endpoint", bus, "vm", "stop", "p5"));
    assert (run.ms < 1000);
    s_test_expect (&run, MAEKINSH_EXIT_ERROR, NULL,
                   "maekinsh: host 'node2' of VM 'p5' is down\n");
    zstr_send (cloud, "IDS");
    ids = zstr_recv (cloud);
    assert (sscanf (ids, "%d %39s %39s", &count, id1, id2) == 3 && count == 5);
    zstr_free (&ids);

    //  --wait follows the task: progress on err, the end on out.
    run = s_test_shell (WORDS ("--bus-endpoint", bus, "vm", "start", "web-1", "--wait"));
    if (verbose)
        printf ("%s%s", run.err, run.out);
    s_test_expect (&run, MAEKINSH_EXIT_OK,
                   "accepted: task 7 (start web-1 on node1)\n"
                   "done: task 7 (start web-1): running on node1\n",
                   "task 7 (start web-1): dispatched\ntask 7 (start web-1): running\n");
    run = s_test_shell (WORDS ("--bus-endpoint", bus, "--output", "json", "vm", "create",
                               "web-9", "--template", "tiny", "--wait"));
    s_test_expect (
        &run, MAEKINSH_EXIT_ERROR, "\"state\": \"failed\"",
        "maekinsh: task 8 (create web-9 on node2) failed: libvirt: no space left "
        "on the pool\n");
    run = s_test_shell (
        WORDS ("--bus-endpoint", bus, "task", "wait", "9", "--timeout", "1"));
    assert (run.ms >= 1000 && run.ms < 3000);
    s_test_expect (
        &run, MAEKINSH_EXIT_ERROR, NULL,
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

    //  A usage error sends nothing.
    before = s_fake_count (cloud);
    run = s_test_shell (WORDS ("--bus-endpoint", bus, "vm", "create", "web-1"));
    s_test_expect (&run, MAEKINSH_EXIT_USAGE, NULL,
                   "maekinsh: vm create: missing --template");
    run = s_test_shell (WORDS ("--bus-endpoint", bus, "--output", "yaml", "vm", "list"));
    s_test_expect (&run, MAEKINSH_EXIT_USAGE, NULL,
                   "--output must be table, json or xml");
    run = s_test_shell (WORDS ("--bus-endpoint", bus, "--timeout-ms", "0", "vm", "list"));
    s_test_expect (&run, MAEKINSH_EXIT_USAGE, NULL, "--timeout-ms must be from 1");
    run = s_test_shell (WORDS ("--bus-endpoint", bus, "--frobnicate=1", "vm", "list"));
    s_test_expect (&run, MAEKINSH_EXIT_USAGE, NULL, "unknown option '--frobnicate=1'");
    run = s_test_shell (WORDS ("--bus-endpoint", bus));
    s_test_expect (&run, MAEKINSH_EXIT_USAGE, NULL, "maekinsh: no command given\n");
    run = s_test_shell (WORDS ("--bus-endpoint", bus, "--help"));
    s_test_expect (&run, MAEKINSH_EXIT_OK, "usage: maekinsh [OPTIONS] COMMAND", NULL);
    run = s_test_shell (WORDS ("vm", "stop", "--help"));
    s_test_expect (&run, MAEKINSH_EXIT_OK, "usage: maekinsh vm stop NAME [--wait]", NULL);
    //  A "-c" among a command's arguments is not the configuration option.
    run =
        s_test_shell (WORDS ("--bus-endpoint", bus, "template", "create", "t", "--vcpus",
                             "1", "--memory", "64", "--kernel", "/k", "--cmdline", "-c"));
    s_test_expect (&run, MAEKINSH_EXIT_ERROR, NULL, "the fake cloud does not know");
    assert (s_fake_count (cloud) == before + 1);

    //  No controller behind the broker, and no broker at all: exit 3, within the time.
    zactor_t *empty = broker_router_new (&opts);
    zstr_send (empty, "ENDPOINT");
    char *empty_endpoint = zstr_recv (empty);
    run = s_test_shell (WORDS ("--bus-endpoint", empty_endpoint, "vm", "list"));
    assert (run.ms < 2000);
    s_test_expect (
        &run, MAEKINSH_EXIT_UNREACHABLE, NULL,
        "no controller serves 'cloud'; is maekin-controller running? ('make run' "
        "starts one)\n");
    zstr_free (&empty_endpoint);
    zactor_destroy (&empty);
    run = s_test_shell (WORDS ("--bus-endpoint", "tcp://127.0.0.1:1", "--timeout-ms",
                               "100", "vm", "list"));
    if (verbose)
        printf ("%s", run.err);
    assert (run.ms >= 300 && run.ms < 2000);
    s_test_expect (
        &run, MAEKINSH_EXIT_UNREACHABLE, NULL,
        "maekinsh: the cloud could not be reached at tcp://127.0.0.1:1: no answer "
        "within 100 ms, 3 tries; is it running? ('make run' starts one)\n");
    run =
        s_test_shell (WORDS ("--bus-endpoint", "tcp://127.0.0.1:1", "--timeout-ms", "100",
                             "--output", "json", "vm", "create", "x", "--template", "t"));
    s_test_expect (&run, MAEKINSH_EXIT_UNREACHABLE, "\"status\": 504",
                   "could not be reached");

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
    char *found = maekinsh_cmd_config_file ();
    assert (found && streq (found, named));
    free (found);
    run = s_test_shell (WORDS ("vm", "list", "--limit", "1"));
    s_test_expect (&run, MAEKINSH_EXIT_OK, "web-1", NULL);
    setenv ("MAEKIN_BUS", "tcp://127.0.0.1:1", 1);
    run = s_test_shell (WORDS ("--timeout-ms", "100", "vm", "list"));
    s_test_expect (&run, MAEKINSH_EXIT_UNREACHABLE, NULL,
                   "reached at tcp://127.0.0.1:1:");
    run = s_test_shell (WORDS ("--bus-endpoint", bus, "vm", "list", "--limit", "1"));
    s_test_expect (&run, MAEKINSH_EXIT_OK, "web-1", NULL);
    run = s_test_shell (WORDS ("-n"));
    s_test_expect (&run, MAEKINSH_EXIT_OK,
                   "configuration ok (the broker at tcp://127.0.0.1:1, settings from ",
                   NULL);
    unsetenv ("MAEKIN_BUS");

    assert (mkdir ("var", 0700) == 0);
    s_test_write ("var/maekinsh.cfg", text);
    assert (zsys_dir_create ("%s/.config/maekin", home) == 0);
    s_test_write (home_file, "bus\n    endpoint = tcp://127.0.0.1:2\n");
    setenv ("HOME", home, 1);
    setenv ("MAEKINSH_CONFIG", "/nonexistent/maekinsh.cfg", 1);
    found = maekinsh_cmd_config_file ();
    assert (found && streq (found, "var/maekinsh.cfg"));
    free (found);
    run = s_test_shell (WORDS ("vm", "list", "--limit", "1"));
    s_test_expect (&run, MAEKINSH_EXIT_OK, "web-1", NULL);
    run = s_test_shell (WORDS ("-n"));
    s_test_expect (&run, MAEKINSH_EXIT_OK, "settings from var/maekinsh.cfg", NULL);
    unlink ("var/maekinsh.cfg");
    found = maekinsh_cmd_config_file ();
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

    zactor_destroy (&cloud);
    zstr_free (&endpoint);
    zactor_destroy (&router);
    unlink (named);
    unlink (home_file);
    rmdir ("var");
    zsys_dir_delete ("%s/.config/maekin", home);
    zsys_dir_delete ("%s/.config", home);
    rmdir (home);
    assert (chdir (saved_cwd) == 0);
    assert (rmdir (dir) == 0);
    free (saved_cwd);
    s_test_env_restore ("MAEKINSH_CONFIG", saved_config);
    s_test_env_restore ("MAEKIN_BUS", saved_bus);
    s_test_env_restore ("HOME", saved_home);
    //  The shell named the log after itself.
    mk_log_init ("selftest", verbose ? MK_LOG_DEBUG : MK_LOG_WARN);
}

/*  maekinsh_cmd: maekinsh's commands, as a table: each row names a command, its operand,
    its options, the function that turns them into a request, and the reply it expects.
    Help, usage lines and option parsing come from the table, so they cannot disagree. */
#include "maekinsh_cmd_def.h"

#include "maekinsh_admin.h"

#include "maekinsh_settings.h"
#include "mk_msg.h"
#include "mk_name.h"
#include "mk_sock.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>

//  ------------------------------------------------------------------ the table

//  The nouns, in the order the help lists them; each file holds its rows.
static const maekinsh_cmd_def_t *const s_nouns[] = {
    maekinsh_host_commands,  maekinsh_template_commands, maekinsh_vm_commands,
    maekinsh_user_commands,  maekinsh_apikey_commands,   maekinsh_task_commands,
    maekinsh_event_commands, maekinsh_metrics_commands,  maekinsh_audit_commands,
    maekinsh_vi_commands,    maekinsh_pool_commands,     maekinsh_key_commands,
    maekinsh_enrol_commands};
#define NOUNS (sizeof s_nouns / sizeof s_nouns[0])

const maekinsh_cmd_opt_t maekinsh_cmd_no_opts[] = {{NULL, NULL, false, NULL}};
const maekinsh_cmd_opt_t maekinsh_cmd_wait_opts[] = {
    {"--wait", NULL, false, "wait until the task ends, showing its progress"},
    {"--timeout", "S", false, "with --wait: stop waiting after S seconds (default 300)"},
    {NULL, NULL, false, NULL}};

const maekinsh_cmd_def_t *
maekinsh_cmd_def_next (const maekinsh_cmd_def_t *def)
{
    size_t noun = 0;
    if (def) {
        if ((def + 1)->group)
            return def + 1;
        //  The end of a noun's rows: the next noun.
        while (noun < NOUNS) {
            const maekinsh_cmd_def_t *end = s_nouns[noun++];
            while (end->group)
                end++;
            if (end == def + 1)
                break;
        }
    }
    return noun < NOUNS ? s_nouns[noun] : NULL;
}

//  ------------------------------------------------------------------- help texts

const char *
maekinsh_cmd_words (const maekinsh_cmd_def_t *def)
{
    static char words[64];
    snprintf (words, sizeof words, "%s%s%s", def->group, *def->verb ? " " : "", def->verb);
    return words;
}

static int
s_opt_count (const maekinsh_cmd_opt_t *opts)
{
    int count = 0;
    while (opts[count].name)
        count++;
    return count;
}

//  "maekinsh vm create NAME --template T [--host H] [--wait] [--timeout S]", or with
//  brief, only the operand and the required options.
static char *
s_usage (const maekinsh_cmd_def_t *def, bool brief)
{
    char *text = zsys_sprintf ("%s", maekinsh_cmd_words (def));
    if (def->operand) {
        char *longer = zsys_sprintf ("%s %s%s%s", text, def->optional ? "[" : "", def->operand,
                                     def->optional ? "]" : "");
        free (text);
        text = longer;
    }
    if (def->operand2) {
        char *longer = zsys_sprintf ("%s %s", text, def->operand2);
        free (text);
        text = longer;
    }
    for (const maekinsh_cmd_opt_t *opt = def->opts; opt->name; opt++) {
        if (brief && !opt->required)
            continue;
        char *longer = zsys_sprintf ("%s %s%s%s%s%s", text, opt->required ? "" : "[", opt->name,
                                     opt->meta ? " " : "", opt->meta ? opt->meta : "",
                                     opt->required ? "" : "]");
        free (text);
        text = longer;
    }
    return text;
}

static char *
s_command_help (const maekinsh_cmd_def_t *def)
{
    char *usage = s_usage (def, false);
    char *help = NULL;
    size_t size = 0;
    FILE *file = open_memstream (&help, &size);
    if (!file)
        abort ();
    fprintf (file, "usage: maekinsh %s\n%c%s.\n\n", usage,
             toupper ((unsigned char) def->summary[0]), def->summary + 1);
    free (usage);
    for (const maekinsh_cmd_opt_t *opt = def->opts; opt->name; opt++) {
        char flag[48];
        snprintf (flag, sizeof flag, "%s%s%s", opt->name, opt->meta ? " " : "",
                  opt->meta ? opt->meta : "");
        fprintf (file, "  %-20s %s%s\n", flag, opt->help, opt->required ? " (required)" : "");
    }
    fprintf (file, "  %-20s %s\n", "-h, --help", "this help");
    if (def->reply == MAEKINSH_BODY (TASK_ACCEPTED))
        fprintf (file, "\nThe cloud answers at once with the task it made (\"accepted: task N\");"
                       "\n--wait follows it to its end, as 'maekinsh task wait N' does.\n");
    fclose (file);
    return help;
}

//  The command list, for maekinsh --help (group NULL) or maekinsh GROUP --help.
static void
s_list_commands (FILE *file, const char *group)
{
    for (const maekinsh_cmd_def_t *def = maekinsh_cmd_def_next (NULL); def;
         def = maekinsh_cmd_def_next (def)) {
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
    fprintf (file, "\n'maekinsh %s COMMAND --help' describes a command and its options.\n", group);
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
    fprintf (file, "usage: maekinsh [OPTIONS] COMMAND [ARGUMENTS]\n"
                   "The Maekin shell: drives a Maekin cloud over its bus.\n\ncommands:\n");
    s_list_commands (file, NULL);
    fputs (maekinsh_admin_help (), file);
    fprintf (file,
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
             "\n'maekinsh login' keeps the session's token for the endpoint in\n"
             "$XDG_CONFIG_HOME/maekin/tokens (~/.config/maekin/tokens); $MAEKIN_TOKEN,\n"
             "when set, is sent instead.\n"
             "\nexit status: 0 done; 1 the cloud answered with an error, or a task waited\n"
             "for failed or did not end in time; 2 bad usage or configuration (nothing\n"
             "was sent); 3 the cloud could not be reached; 4 the outcome is unknown (the\n"
             "cloud took the request and did not answer in time: see 'maekinsh task list').\n",
             maekinsh_settings_default ("bus/endpoint"),
             maekinsh_settings_default ("bus/timeout_ms"), MAEKINSH_RETRIES);
    fclose (file);
    return help;
}

//  ---------------------------------------------------------------- parsing

static bool
s_is_help (const char *arg)
{
    return streq (arg, "-h") || streq (arg, "--help");
}

int
maekinsh_cmd_opt_index (const maekinsh_cmd_def_t *def, const char *name)
{
    for (int i = 0; def->opts[i].name; i++)
        if (streq (def->opts[i].name, name))
            return i;
    return -1;
}

//  The value of an option of the command, NULL if it was not given.
const char *
maekinsh_cmd_arg (maekinsh_cmd_t *self, const maekinsh_cmd_args_t *args, const char *name)
{
    int index = maekinsh_cmd_opt_index (self->def, name);
    return index < 0 ? NULL : args->values[index];
}

//  A usage error with the command's usage line (a new string).
char *
maekinsh_cmd_usage_error (const maekinsh_cmd_def_t *def, const char *format, ...)
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

//  The operand and the options: NULL, or a usage error (a new string).
static char *
s_parse (const maekinsh_cmd_def_t *def, int argc, char **argv, maekinsh_cmd_args_t *args)
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
            snprintf (name, sizeof name, "%.*s", equals ? (int) (equals - arg) : (int) strlen (arg),
                      arg);
            const char *value = equals ? equals + 1 : NULL;
            int index = maekinsh_cmd_opt_index (def, name);
            //  The shell takes these out of a command's arguments (s_global_args).
            if (index < 0 && maekinsh_settings_is_global (name))
                return zsys_sprintf ("%s is an option of maekinsh itself, not of '%s'", name,
                                     maekinsh_cmd_words (def));
            //  Options are --words: a word with one '-' is likelier an operand (a key's
            //  text may begin with one), which goes after --.
            if (index < 0 && arg[1] != '-')
                return maekinsh_cmd_usage_error (def,
                                                 "unknown option '%s' (an argument that begins "
                                                 "with '-' goes after --)",
                                                 name);
            if (index < 0)
                return maekinsh_cmd_usage_error (def, "unknown option '%s'", name);
            const maekinsh_cmd_opt_t *opt = &def->opts[index];
            if (args->values[index])
                return maekinsh_cmd_usage_error (def, "%s is given twice", name);
            if (!opt->meta) {
                if (value)
                    return maekinsh_cmd_usage_error (def, "%s takes no value", name);
                args->values[index] = "";
                continue;
            }
            if (!value) {
                if (i + 1 >= argc)
                    return maekinsh_cmd_usage_error (def, "%s needs a value (%s)", name, opt->meta);
                value = argv[++i];
            }
            if (!*value)
                return maekinsh_cmd_usage_error (def, "%s needs a value (%s), not an empty one",
                                                 name, opt->meta);
            args->values[index] = value;
        } else if (def->operand && !args->operand)
            args->operand = arg;
        else if (def->operand2 && !args->operand2)
            args->operand2 = arg;
        else
            return maekinsh_cmd_usage_error (def, "unexpected argument '%s'", arg);
    }
    if (def->operand && !args->operand && !def->optional)
        return maekinsh_cmd_usage_error (def, "missing %s", def->operand);
    if (def->operand2 && !args->operand2)
        return maekinsh_cmd_usage_error (def, "missing %s", def->operand2);
    for (int i = 0; def->opts[i].name; i++)
        if (def->opts[i].required && !args->values[i])
            return maekinsh_cmd_usage_error (def, "missing %s %s", def->opts[i].name,
                                             def->opts[i].meta);
    return NULL;
}

//  A whole number from min to max into *value: NULL, or an error (a new string).
char *
maekinsh_cmd_number (const char *what, const char *text, uint64_t min, uint64_t max,
                     uint64_t *value)
{
    errno = 0;
    char *end = NULL;
    unsigned long long number = isdigit ((unsigned char) text[0]) ? strtoull (text, &end, 10) : 0;
    if (end && !*end && errno == 0 && number >= min && number <= max) {
        *value = number;
        return NULL;
    }
    if (max == UINT64_MAX)
        return zsys_sprintf ("%s must be a whole number of at least %" PRIu64 ", not '%s'%s", what,
                             min, text, errno == ERANGE ? " (too large)" : "");
    return zsys_sprintf ("%s must be a whole number from %" PRIu64 " to %" PRIu64 ", not '%s'",
                         what, min, max, text);
}

//  A name of a VM, template or host: NULL, or why not (a new string).
char *
maekinsh_cmd_name (const char *what, const char *name)
{
    const char *why = mk_name_check (name);
    return why ? zsys_sprintf ("'%s' is not a valid %s name: it %s", name, what, why) : NULL;
}

//  One of a list of words: NULL, or why not (a new string).
char *
maekinsh_cmd_one_of (const char *what, const char *value, const char *const *words)
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
s_page (maekinsh_cmd_t *self, const maekinsh_cmd_args_t *args, Maekin__ListRequest *page)
{
    const char *value;
    char *why = NULL;
    uint64_t number;
    self->every_page = true;
    if ((value = maekinsh_cmd_arg (self, args, "--limit"))) {
        if ((why = maekinsh_cmd_number ("--limit", value, 1, 1000, &number)))
            return why;
        page->limit = (uint32_t) number;
        self->every_page = false;
    }
    if ((value = maekinsh_cmd_arg (self, args, "--state"))) {
        if ((why = maekinsh_cmd_one_of ("--state", value, self->def->states ())))
            return why;
        page->filter_state = (char *) value;
    }
    if ((value = maekinsh_cmd_arg (self, args, "--host"))) {
        if ((why = maekinsh_cmd_name ("host", value)))
            return why;
        page->filter_host = (char *) value;
    }
    //  A prefix of a valid name is itself a valid name.
    if ((value = maekinsh_cmd_arg (self, args, "--name-prefix"))) {
        if ((why = maekinsh_cmd_name ("name prefix", value)))
            return why;
        page->filter_name = (char *) value;
    }
    if ((value = maekinsh_cmd_arg (self, args, "--vm"))) {
        if ((why = maekinsh_cmd_name ("VM", value)))
            return why;
        page->filter_name = (char *) value;
    }
    if ((value = maekinsh_cmd_arg (self, args, "--vi"))) {
        if ((why = maekinsh_cmd_name ("VI", value)))
            return why;
        page->filter_vi = (char *) value;
    }
    return NULL;
}

//  --wait and --timeout.
char *
maekinsh_cmd_wait_args (maekinsh_cmd_t *self, const maekinsh_cmd_args_t *args, bool always)
{
    self->wait = always || maekinsh_cmd_arg (self, args, "--wait");
    const char *value = maekinsh_cmd_arg (self, args, "--timeout");
    if (value && !self->wait)
        return maekinsh_cmd_usage_error (self->def, "--timeout applies to --wait");
    uint64_t seconds = MAEKINSH_WAIT_DEFAULT_S;
    char *why = value ? maekinsh_cmd_number ("--timeout", value, 1, 86400 * 7, &seconds) : NULL;
    self->wait_s = (int) seconds;
    return why;
}

//  Keeps the request built on the caller's stack as a heap envelope (packed and unpacked,
//  so it is freed like any other); a mutating request gets a new request id first.
void
maekinsh_cmd_finish (maekinsh_cmd_t *self, Maekin__Envelope *env)
{
    char request_id[40] = "";
    if (self->def->mutating) {
        zuuid_t *uuid = zuuid_new ();
        snprintf (request_id, sizeof request_id, "%s", zuuid_str_canonical (uuid));
        zuuid_destroy (&uuid);
        env->request_id = request_id;
    }
    zframe_t *frame = mk_msg_pack (env);
    const char *why;
    //  A builder may finish twice (a generic list, then its own fields), borrowing from
    //  the first request: it goes once the second is packed.
    Maekin__Envelope *built = self->request;
    self->request = mk_msg_unpack (zframe_data (frame), zframe_size (frame), &why);
    assert (self->request);
    zframe_destroy (&frame);
    mk_msg_free (&built);
}

//  The message type of an envelope's body, by the body's case.
static const ProtobufCFieldDescriptor *
s_body_field (Maekin__Envelope__BodyCase body)
{
    const ProtobufCFieldDescriptor *field =
        protobuf_c_message_descriptor_get_field (&maekin__envelope__descriptor, (unsigned) body);
    assert (field && field->type == PROTOBUF_C_TYPE_MESSAGE);
    return field;
}

//  A field of a message, by its name in the .proto (NULL if it has none).
static void *
s_field (const ProtobufCMessage *msg, const char *name, ProtobufCType type)
{
    const ProtobufCFieldDescriptor *field =
        protobuf_c_message_descriptor_get_field_by_name (msg->descriptor, name);
    return field && field->type == type && field->label != PROTOBUF_C_LABEL_REPEATED
               ? (char *) msg + field->offset
               : NULL;
}

//  The row's request body, new and empty: the generic builders fill it through the
//  descriptors, so a new list or show is a row, not code. Its fields are borrowed.
static ProtobufCMessage *
s_body_new (const maekinsh_cmd_def_t *def)
{
    const ProtobufCMessageDescriptor *type =
        (const ProtobufCMessageDescriptor *) s_body_field (def->request)->descriptor;
    ProtobufCMessage *body = (ProtobufCMessage *) zmalloc (type->sizeof_message);
    protobuf_c_message_init (type, body);
    return body;
}

//  Sends the body in an envelope (copied into self->request) and frees it.
static void
s_finish_body (maekinsh_cmd_t *self, ProtobufCMessage *body)
{
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = self->def->request;
    *(ProtobufCMessage **) ((char *) &env + s_body_field (env.body_case)->offset) = body;
    maekinsh_cmd_finish (self, &env);
    free (body);
}

char *
maekinsh_cmd_build_list (maekinsh_cmd_t *self, const maekinsh_cmd_args_t *args)
{
    Maekin__ListRequest page = MAEKIN__LIST_REQUEST__INIT;
    char *why = s_page (self, args, &page);
    if (why)
        return why;
    ProtobufCMessage *body = s_body_new (self->def);
    ProtobufCMessage **slot = (ProtobufCMessage **) s_field (body, "page", PROTOBUF_C_TYPE_MESSAGE);
    assert (slot); //  a list in the table whose request has no page
    *slot = &page.base;
    s_finish_body (self, body);
    return NULL;
}

char *
maekinsh_cmd_task_id (maekinsh_cmd_t *self, const char *text)
{
    return maekinsh_cmd_number ("a task ID", text, 1, UINT64_MAX, &self->task_id);
}

char *
maekinsh_cmd_build_show (maekinsh_cmd_t *self, const maekinsh_cmd_args_t *args)
{
    ProtobufCMessage *body = s_body_new (self->def);
    char **name = (char **) s_field (body, "name", PROTOBUF_C_TYPE_STRING);
    uint64_t *id = (uint64_t *) s_field (body, "id", PROTOBUF_C_TYPE_UINT64);
    assert (name || id); //  a request that names nothing
    char **vi = (char **) s_field (body, "vi", PROTOBUF_C_TYPE_STRING);
    const char *value = maekinsh_cmd_arg (self, args, "--vi");
    char *why = vi && value ? maekinsh_cmd_name ("VI", value) : NULL;
    if (vi && value)
        *vi = (char *) value;
    if (why)
        ;
    else if (name)
        *name = (char *) args->operand;
    else if (!(why = maekinsh_cmd_task_id (self, args->operand)))
        *id = self->task_id;
    if (why)
        free (body);
    else
        s_finish_body (self, body);
    return why;
}

const maekinsh_cmd_def_t *
maekinsh_cmd_def_find (const char *group, const char *verb)
{
    for (const maekinsh_cmd_def_t *def = maekinsh_cmd_def_next (NULL); def;
         def = maekinsh_cmd_def_next (def))
        if (streq (def->group, group) && (!verb || streq (def->verb, verb)))
            return def;
    return NULL;
}

//  "create, list, show, ...": a group's commands.
static char *
s_verbs (const char *group)
{
    char *list = NULL;
    for (const maekinsh_cmd_def_t *def = maekinsh_cmd_def_next (NULL); def;
         def = maekinsh_cmd_def_next (def)) {
        if (!streq (def->group, group) || !*def->verb)
            continue;
        char *longer = list ? zsys_sprintf ("%s, %s", list, def->verb) : strdup (def->verb);
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
        else if (argc == 2 && maekinsh_cmd_def_find (argv[1], NULL))
            *help = s_group_help (argv[1]);
        else if (argc == 3 && maekinsh_cmd_def_find (argv[1], argv[2]))
            *help = s_command_help (maekinsh_cmd_def_find (argv[1], argv[2]));
        else
            *error = zsys_sprintf ("help: no command '%s%s%s' ('maekinsh --help' lists them)",
                                   argv[1], argc > 2 ? " " : "", argc > 2 ? argv[2] : "");
        return NULL;
    }
    const char *group = argv[0];
    if (!maekinsh_cmd_def_find (group, NULL)) {
        *error =
            zsys_sprintf ("unknown command '%s' ('maekinsh --help' lists the commands)", group);
        return NULL;
    }
    //  A command of one word (login, whoami): its arguments follow it; one of three
    //  (vi member add): its verb is two.
    const maekinsh_cmd_def_t *single = maekinsh_cmd_def_find (group, "");
    int words = single ? 1 : 2;
    char pair[64] = "";
    if (!single && argc > 2 && !maekinsh_cmd_def_find (group, argv[1])) {
        snprintf (pair, sizeof pair, "%s %s", argv[1], argv[2]);
        if (maekinsh_cmd_def_find (group, pair))
            words = 3;
    }
    if (!single && (argc == 1 || s_is_help (argv[1]))) {
        if (argc > 1)
            *help = s_group_help (group);
        else {
            char *verbs = s_verbs (group);
            *error = zsys_sprintf ("%s: which? %s ('maekinsh %s --help' tells more)", group, verbs,
                                   group);
            free (verbs);
        }
        return NULL;
    }
    const maekinsh_cmd_def_t *def =
        single ? single : maekinsh_cmd_def_find (group, words == 3 ? pair : argv[1]);
    if (!def) {
        char *verbs = s_verbs (group);
        *error = zsys_sprintf ("unknown command '%s %s': %s has %s", group, argv[1], group, verbs);
        free (verbs);
        return NULL;
    }
    for (int i = words; i < argc && !streq (argv[i], "--"); i++)
        if (s_is_help (argv[i])) {
            *help = s_command_help (def);
            return NULL;
        }
    maekinsh_cmd_t *self = (maekinsh_cmd_t *) zmalloc (sizeof (maekinsh_cmd_t));
    self->def = def;
    self->wait_s = MAEKINSH_WAIT_DEFAULT_S;
    maekinsh_cmd_args_t args;
    memset (&args, 0, sizeof args);
    assert (s_opt_count (def->opts) <= MAEKINSH_CMD_OPTS_MAX);
    char *why = s_parse (def, argc - words, argv + words, &args);
    if (!why && def->operand && streq (def->operand, "NAME") && args.operand) {
        const char *bad = (def->name_check ? def->name_check : mk_name_check) (args.operand);
        if (bad)
            why = zsys_sprintf ("'%s' is not a valid %s name: it %s", args.operand, def->subject,
                                bad);
    }
    if (!why)
        why = def->build (self, &args);
    if (why) {
        *error = zsys_sprintf ("%s: %s", maekinsh_cmd_words (def), why);
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
    const char *service = self->def->service ? self->def->service : "cloud";
    mk_debug ("sending %s to '%s' at %s", mk_msg_body_name (request), service, self->endpoint);
    Maekin__Envelope *reply =
        mk_client_call (self->client, service, request, timeout_ms, MAEKINSH_RETRIES, NULL, NULL);
    mk_debug ("answer: status %d, %s%s%s", reply->status, mk_msg_body_name (reply),
              reply->reason && *reply->reason ? ": " : "", reply->reason ? reply->reason : "");
    return reply;
}

//  0 if the reply is a good one of the kind expected; else prints what is wrong and
//  returns the exit status.
static int
s_check (maekinsh_cmd_t *self, const Maekin__Envelope *reply, Maekin__Envelope__BodyCase expect)
{
    int status = reply->status;
    const char *reason = reply->reason && *reply->reason ? reply->reason : NULL;
    //  mk_client_call's own timeout and the broker's both say 504; the broker says 404
    //  "no worker serves" when no controller is there. Either way the cloud is out of
    //  reach.
    if (status == MK_TIMEOUT && mk_client_last_unknown (self->client)) {
        //  Sent, perhaps done, and unanswered in the time given: neither a failure nor
        //  "unreachable". Retrying the same command is safe (a create finds its name
        //  taken if it was made); asking is better.
        const Maekin__Envelope *request = self->request;
        const char *vm =
            request->body_case == MAEKIN__ENVELOPE__BODY_VM_CREATE   ? request->vm_create->name
            : request->body_case == MAEKIN__ENVELOPE__BODY_VM_ACTION ? request->vm_action->name
                                                                     : NULL;
        maekinsh_out_error (self->out, status,
                            "the outcome is unknown: the cloud took the request but did not "
                            "answer within %d ms, %d tries; see 'maekinsh task list'%s%s%s",
                            self->timeout_ms, MAEKINSH_RETRIES + 1,
                            vm ? " or 'maekinsh vm show " : "", vm ? vm : "", vm ? "'" : "");
        return MAEKINSH_EXIT_UNKNOWN;
    }
    if (status == MK_TIMEOUT) {
        //  A CURVE broker tells a key it does not know nothing at all: say what to look at.
        maekinsh_out_error (self->out, status,
                            "the cloud could not be reached at %s: no answer within %d ms, "
                            "%d tries; is it running? ('make run' starts one; %s)",
                            self->endpoint, self->timeout_ms, MAEKINSH_RETRIES + 1,
                            mk_sock_cert ()
                                ? "a CURVE broker says nothing to a key it does not know: "
                                  "is this one admitted? 'maekinsh key list'"
                                : "a CURVE broker says nothing to plain text: give bus/key "
                                  "and bus/broker_key");
        return MAEKINSH_EXIT_UNREACHABLE;
    }
    if (s_bus_error (self, reply) == BUS_NO_CONTROLLER) {
        maekinsh_out_error (self->out, status,
                            "the cloud could not be reached at %s: the broker is there but "
                            "no controller serves '%s'; is maekin-controller running? "
                            "('make run' starts one)",
                            self->endpoint, self->def->service ? self->def->service : "cloud");
        return MAEKINSH_EXIT_UNREACHABLE;
    }
    if (status >= 300) {
        if (reason)
            maekinsh_out_error (self->out, status, "%s", reason);
        else
            maekinsh_out_error (self->out, status, "the cloud answered status %d", status);
        return MAEKINSH_EXIT_ERROR;
    }
    if (reply->body_case != expect) {
        const ProtobufCFieldDescriptor *field = protobuf_c_message_descriptor_get_field (
            &maekin__envelope__descriptor, (unsigned) expect);
        maekinsh_out_error (self->out, MK_INTERNAL,
                            "the cloud answered %s where maekinsh expects %s; are they of "
                            "the same version?",
                            mk_msg_body_name (reply), field ? field->name : "?");
        return MAEKINSH_EXIT_ERROR;
    }
    return MAEKINSH_EXIT_OK;
}

//  Where a list request keeps its paging (NULL for events, which have their own).
static Maekin__ListRequest **
s_page_slot (Maekin__Envelope *request)
{
    const ProtobufCMessage *body =
        *(const ProtobufCMessage **) ((char *) request + s_body_field (request->body_case)->offset);
    return (Maekin__ListRequest **) s_field (body, "page", PROTOBUF_C_TYPE_MESSAGE);
}

//  A list reply's cursor for the next page ("" at the end, or for a reply without one).
static const char *
s_next (const Maekin__Envelope *reply)
{
    const ProtobufCMessage *body = *(
        const ProtobufCMessage **) ((const char *) reply + s_body_field (reply->body_case)->offset);
    char **next = (char **) s_field (body, "next", PROTOBUF_C_TYPE_STRING);
    return next ? *next : "";
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
        request->body_case == MAEKINSH_BODY (EVENTS_SINCE) ? request->events_since : NULL;
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
                mk_warn ("the cloud gave the cursor '%s' twice; the list ends there", next);
                more = false;
            }
            if (more)
                page->after = (char *) next;
        } else {
            const Maekin__EventsSinceReply *events = reply->events_since_reply;
            more = self->every_page && events->n_events > 0 && events->last > since->after;
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

int
maekinsh_cmd_run_list (maekinsh_cmd_t *self)
{
    return s_run_list (self);
}

bool
maekinsh_cmd_final (const char *state)
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
    int64_t deadline = zclock_mono () + (int64_t) self->wait_s * 1000;
    Maekin__Envelope *reply = NULL;
    int status = MAEKINSH_EXIT_OK;
    while (true) {
        int64_t asked = zclock_mono ();
        int64_t left = deadline - asked;
        if (left <= 0 && reply)
            break;
        Maekin__TaskWaitRequest wait = MAEKIN__TASK_WAIT_REQUEST__INIT;
        wait.id = id;
        wait.timeout_ms = (uint32_t) (left < 1                  ? 1
                                      : left < MAEKINSH_WAIT_MS ? left
                                                                : MAEKINSH_WAIT_MS);
        Maekin__Envelope request = MAEKIN__ENVELOPE__INIT;
        request.body_case = MAEKINSH_BODY (TASK_WAIT);
        request.task_wait = &wait;
        Maekin__Envelope *answer =
            s_call (self, &request, self->timeout_ms + (int) wait.timeout_ms);
        status = s_check (self, answer, MAEKINSH_BODY (TASK_SHOW_REPLY));
        if (status == MAEKINSH_EXIT_OK && !answer->task_show_reply->task) {
            maekinsh_out_error (self->out, MK_INTERNAL, "the cloud's answer holds no task");
            status = MAEKINSH_EXIT_ERROR;
        }
        if (status != MAEKINSH_EXIT_OK) {
            mk_msg_free (&answer);
            break;
        }
        mk_msg_free (&reply);
        reply = answer;
        const Maekin__Task *task = reply->task_show_reply->task;
        if (maekinsh_cmd_final (task->state))
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
        bool final = maekinsh_cmd_final (task->state);
        //  "done: ... running on node1" says what became of the VM.
        Maekin__Envelope *shown = NULL;
        const Maekin__Vm *vm = NULL;
        if (streq (task->state, "done") && task->op != MAEKINSH_OP (DELETE) && *task->vm) {
            Maekin__VmShowRequest show = MAEKIN__VM_SHOW_REQUEST__INIT;
            show.name = task->vm;
            Maekin__Envelope request = MAEKIN__ENVELOPE__INIT;
            request.body_case = MAEKINSH_BODY (VM_SHOW);
            request.vm_show = &show;
            shown = s_call (self, &request, self->timeout_ms);
            if (shown->status < 300 && shown->body_case == MAEKINSH_BODY (VM_SHOW_REPLY))
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
        if (reply->body_case == MAEKINSH_BODY (TASK_ACCEPTED)) {
            const Maekin__TaskAccepted *accepted = reply->task_accepted;
            maekinsh_out_accepted (self->out, self->def->op, self->subject, accepted, self->wait);
            if (self->wait)
                status = s_wait (self, accepted->task_id, "queued");
        } else if (reply->body_case == MAEKINSH_BODY (TEMPLATE_DELETE_REPLY))
            maekinsh_out_deleted (self->out, self->def->group, self->subject);
        else
            maekinsh_out_add (self->out, &reply);
    }
    mk_msg_free (&reply);
    return status;
}

Maekin__Envelope *
maekinsh_cmd_call (maekinsh_cmd_t *self, Maekin__Envelope *request)
{
    return s_call (self, request, self->timeout_ms);
}

int
maekinsh_cmd_check (maekinsh_cmd_t *self, const Maekin__Envelope *reply,
                    Maekin__Envelope__BodyCase expect)
{
    return s_check (self, reply, expect);
}

Maekin__Envelope *
maekinsh_cmd_ask (maekinsh_cmd_t *self, Maekin__Envelope *request,
                  Maekin__Envelope__BodyCase expect, int *status)
{
    Maekin__Envelope *reply = s_call (self, request, self->timeout_ms);
    *status = s_check (self, reply, expect);
    if (*status != MAEKINSH_EXIT_OK)
        mk_msg_free (&reply);
    return reply;
}

void
maekinsh_cmd_set_stream (maekinsh_cmd_t *self, const char *stream_out)
{
    self->stream_out = stream_out;
}

int
maekinsh_cmd_run (maekinsh_cmd_t *self, mk_client_t *client, const char *endpoint, int timeout_ms,
                  maekinsh_out_t *out)
{
    assert (self && client && out);
    self->client = client;
    self->endpoint = endpoint;
    self->timeout_ms = timeout_ms;
    self->out = out;
    int status;
    maekinsh_out_set_table (out, self->def->table);
    if (self->def->run == MAEKINSH_CMD_WAIT)
        status = s_wait (self, self->task_id, "");
    else if (self->def->run == MAEKINSH_CMD_FOLLOW)
        status = self->def->follow (self);
    else if (self->def->run == MAEKINSH_CMD_LIST)
        status = s_run_list (self);
    else
        status = s_run_one (self);
    //  A list that failed half way is not printed in part.
    if (status == MAEKINSH_EXIT_OK && maekinsh_out_flush (out) != 0) {
        maekinsh_out_error (out, MK_INTERNAL, "cannot write the output: %s", strerror (errno));
        status = MAEKINSH_EXIT_ERROR;
    }
    self->client = NULL;
    self->endpoint = NULL;
    self->out = NULL;
    return status;
}

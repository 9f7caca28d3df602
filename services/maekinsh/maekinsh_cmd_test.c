/*  maekinsh_cmd_test: maekinsh_cmd's self-test: bad commands refused with one line, and
    help from the table. Each noun's file tests its own commands' requests with the
    helpers here; maekinsh_shell_test runs them against a broker and a fake cloud. */
#include "maekinsh_cmd_def.h"

#include <ctype.h>
#include <inttypes.h>

#define WORDS MAEKINSH_WORDS

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
    maekinsh_cmd_t *cmd = maekinsh_cmd_new (s_test_count (words), (char **) words, error, &help);
    assert (!help);
    if (!cmd && !*error)
        assert (false);
    return cmd;
}

//  Parses a command that must be good.
maekinsh_cmd_t *
maekinsh_cmd_test_good (const char **words)
{
    char *error = NULL;
    maekinsh_cmd_t *cmd = s_test_parse (words, &error);
    if (!cmd)
        fprintf (stderr, "maekinsh_cmd_test: %s %s: %s\n", words[0], words[1], error);
    assert (cmd && !error);
    return cmd;
}

void
maekinsh_cmd_test_bad (const char **words, const char *expect)
{
    char *error = NULL;
    maekinsh_cmd_t *cmd = s_test_parse (words, &error);
    if (cmd || !error || !strstr (error, expect) || strchr (error, '\n'))
        fprintf (stderr, "maekinsh_cmd_test: '%s %s': '%s', expected '%s'\n", words[0],
                 words[1] ? words[1] : "", error ? error : "(accepted)", expect);
    assert (!cmd && error && strstr (error, expect) && !strchr (error, '\n'));
    free (error);
}

bool
maekinsh_cmd_test_is_uuid (const char *text)
{
    if (!text || strlen (text) != 36)
        return false;
    for (int i = 0; i < 36; i++)
        if (i == 8 || i == 13 || i == 18 || i == 23 ? text[i] != '-'
                                                    : !isxdigit ((unsigned char) text[i]))
            return false;
    return true;
}

//  Every usage error: one line naming the mistake, and no command to send.
static const struct {
    const char **words; //  the command
    const char *expect; //  in the error
} s_bad[] = {
    {WORDS ("vm", "create"), "vm create: missing NAME (usage: maekinsh vm create "
                             "NAME --template T [--vi VI] [--host H] [--ip IP] "
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
    {WORDS ("template", "create", "t", "--vcpus", "1", "--memory", "99999999999999999999"),
     "--memory must be a whole number"},
    {WORDS ("template", "create", "t", "--vcpus", "1"), "missing --memory MB"},
    {WORDS ("template", "create", "t", "--vcpus", "1", "--memory", "64", "--os-type", "bsd"),
     "--os-type must be one of hvm, linux; not 'bsd'"},
    {WORDS ("template", "create", "t", "--vcpus", "1", "--memory", "64", "--image", "disk.img"),
     "--image must be an absolute path"},
    {WORDS ("template", "create", "t", "--vcpus", "1", "--memory", "64", "--os-type", "linux"),
     "--os-type linux boots a kernel: give --kernel"},
    {WORDS ("template", "create", "t", "--vcpus", "1", "--memory", "64", "--initrd",
            "/boot/initrd.img"),
     "--initrd and --cmdline need --kernel"},
    {WORDS ("template", "create", "t", "--vcpus", "1", "--memory", "64", "--kernel", "/k",
            "--cmdline", "a\nb"),
     "--cmdline holds a control character"},
    {WORDS ("template", "create", "t", "--vcpus", "1", "--memory", "64", "--network", "a/b"),
     "--network must be a libvirt network name"},
    {WORDS ("vm", "list", "--state", "runing"),
     "--state must be one of creating, running, stopped"},
    {WORDS ("host", "list", "--state", "running"), "--state must be one of up, down, unknown;"},
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
    {WORDS ("vi", "quota", "acme"), "give at least one of --vcpus"},
    {WORDS ("vi", "quota", "acme", "--vcpus", "-1"), "--vcpus must be a whole number"},
    {WORDS ("vi", "create", "Acme"), "'Acme' is not a valid VI name"},
    {WORDS ("vi", "member", "add", "acme", "--user", "bob"), "missing --role"},
    {WORDS ("vi", "member", "add", "acme", "--user", "bob", "--role", "admin"),
     "--role must be one of owner, manager, operator, viewer; not 'admin'"},
    {WORDS ("vi", "member", "remove", "acme", "--user", "bob", "--role", "viewer"),
     "a member removed has no --role"},
    {WORDS ("vi", "template", "add", "acme"), "missing --template T"},
    {WORDS ("vi", "member", "acme"), "unknown command 'vi member': vi has create, list"},
    {WORDS ("vm", "show", "web-1", "--vi", "Acme"), "'Acme' is not a valid VI name"},
    {WORDS ("vm", "list", "--vi", "a b"), "'a b' is not a valid VI name"},
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
            fprintf (stderr, "maekinsh_cmd_test: '%s %s': '%s', expected '%s'\n", s_bad[i].words[0],
                     s_bad[i].words[1] ? s_bad[i].words[1] : "", error ? error : "(accepted)",
                     s_bad[i].expect);
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
        snprintf (line, sizeof line, "  %s", maekinsh_cmd_words (def));
        assert (strstr (help, line));
        bool single = !*def->verb;
        const char *words[] = {def->group, single ? "--help" : def->verb, "--help", NULL};
        char *text = NULL;
        assert (!maekinsh_cmd_new (single ? 2 : 3, (char **) words, &error, &text) && !error
                && text);
        snprintf (line, sizeof line, "usage: maekinsh %s", maekinsh_cmd_words (def));
        assert (strstr (text, line));
        for (const maekinsh_cmd_opt_t *opt = def->opts; opt->name; opt++)
            assert (strstr (text, opt->name));
        free (text);
    }
    assert (commands == 64); //  every noun's rows, each once
    assert (strstr (help, "exit status") && strstr (help, "--output FORMAT"));
    free (help);
    const char *asked[] = {"vm", "create", "Bad", "--bogus", "-h", NULL};
    assert (!maekinsh_cmd_new (5, (char **) asked, &error, &help) && !error);
    assert (strstr (help, "usage: maekinsh vm create NAME --template T [--vi VI] [--host H]"));
    free (help);
    const char *group[] = {"vm", "--help", NULL};
    assert (!maekinsh_cmd_new (2, (char **) group, &error, &help) && !error);
    assert (strstr (help, "vm reboot NAME") && !strstr (help, "task list"));
    free (help);
    const char *helped[] = {"help", "task", "wait", NULL};
    assert (!maekinsh_cmd_new (3, (char **) helped, &error, &help) && !error);
    assert (strstr (help, "usage: maekinsh task wait ID [--timeout S]"));
    free (help);
}

void
maekinsh_cmd_test (bool verbose)
{
    s_test_bad (verbose);
    s_test_help ();
}

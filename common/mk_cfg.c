/*  mk_cfg: a program's configuration, checked against its schema. */
#include "mk_cfg.h"

#include <errno.h>
#include <stdarg.h>

struct _mk_cfg_t {
    const mk_cfg_item_t *schema; //  the program's settings
    char **values;               //  one value per schema item, owned
    bool check_only;             //  -n
    bool verbose;                //  -v
    int argc;                    //  arguments left over
    char **argv;                 //  borrowed from main
};

static int
s_index (const mk_cfg_item_t *schema, const char *key)
{
    for (int i = 0; schema[i].key; i++)
        if (streq (schema[i].key, key))
            return i;
    return -1;
}

//  Checks a value against its item's type; a new error string, or NULL if it is fine.
static char *
s_check (const mk_cfg_item_t *item, const char *value, const char *where)
{
    if (item->type == MK_CFG_INT) {
        char *end;
        errno = 0;
        long long n = strtoll (value, &end, 10);
        if (errno || end == value || *end || n < 0 || n > INT32_MAX)
            return zsys_sprintf ("%s: '%s' must be a whole number from 0 to 2147483647, not '%s'",
                                 where, item->key, value);
    } else if (item->type == MK_CFG_BOOL) {
        if (!streq (value, "true") && !streq (value, "false") && !streq (value, "1")
            && !streq (value, "0"))
            return zsys_sprintf ("%s: '%s' must be true or false, not '%s'", where, item->key,
                                 value);
    }
    return NULL;
}

static int
s_set (mk_cfg_t *self, const char *key, const char *value, const char *where, char **error)
{
    int index = s_index (self->schema, key);
    if (index < 0) {
        *error = zsys_sprintf ("%s: unknown setting '%s' (-h lists them)", where, key);
        return -1;
    }
    *error = s_check (&self->schema[index], value, where);
    if (*error)
        return -1;
    free (self->values[index]);
    self->values[index] = strdup (value);
    return 0;
}

//  Walks a ZPL tree; every leaf with a value must be a known setting.
static int
s_load_tree (mk_cfg_t *self, zconfig_t *node, const char *prefix, const char *file, char **error)
{
    for (zconfig_t *child = zconfig_child (node); child; child = zconfig_next (child)) {
        char path[256];
        snprintf (path, sizeof path, "%s%s%s", prefix, *prefix ? "/" : "", zconfig_name (child));
        if (zconfig_child (child)) {
            if (s_load_tree (self, child, path, file, error))
                return -1;
        } else if (s_set (self, path, zconfig_value (child) ? zconfig_value (child) : "", file,
                          error))
            return -1;
    }
    return 0;
}

static char *
s_help (const char *program, const char *summary, const mk_cfg_item_t *schema)
{
    zchunk_t *text = zchunk_new (NULL, 4096);
    char *line =
        zsys_sprintf ("usage: %s [-c FILE] [-n] [-v] [--SECTION-KEY=VALUE ...]\n%s\n\n"
                      "  -c FILE   read settings from FILE (ZPL: sections, 4-space indent)\n"
                      "  -n        check the configuration and exit\n"
                      "  -v        log debug lines\n  -h        this help\n\nsettings:\n",
                      program, summary);
    zchunk_extend (text, line, strlen (line));
    free (line);
    for (int i = 0; schema[i].key; i++) {
        char flag[128];
        snprintf (flag, sizeof flag, "%s", schema[i].key);
        for (char *c = flag; *c; c++)
            if (*c == '/')
                *c = '-';
        line = zsys_sprintf ("  --%-26s %s (default: %s)\n", flag, schema[i].help,
                             *schema[i].value ? schema[i].value : "none");
        zchunk_extend (text, line, strlen (line));
        free (line);
    }
    zchunk_extend (text, "", 1);
    char *result = strdup ((char *) zchunk_data (text));
    zchunk_destroy (&text);
    return result;
}

//  Finds the file that -c names, if any. The options end at "--" or the first argument
//  that is not one (a command's own -c is the command's). Returns 0, or -1 with error.
static int
s_find_file (int argc, char **argv, const char **file, char **error)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (streq (arg, "--") || arg[0] != '-' || !arg[1])
            break;
        if (streq (arg, "-c")) {
            if (i + 1 >= argc) {
                *error = zsys_sprintf ("-c needs a file name");
                return -1;
            }
            *file = argv[++i];
        } else if (strncmp (arg, "--", 2) == 0 && !strchr (arg, '=') && !streq (arg, "--help"))
            i++; //  --section-key VALUE: skip the value
    }
    return 0;
}

//  Loads the values the ZPL file sets. Returns 0, or -1 with error.
static int
s_load_file (mk_cfg_t *self, const char *file, char **error)
{
    if (!zsys_file_exists (file)) {
        *error = zsys_sprintf ("config '%s': no such file", file);
        return -1;
    }
    zconfig_t *root = zconfig_load (file);
    if (!root) {
        *error = zsys_sprintf ("config '%s': not valid ZPL (sections and 'key = value' lines, "
                               "indented by 4 spaces)",
                               file);
        return -1;
    }
    char where[300];
    snprintf (where, sizeof where, "config '%s'", file);
    int rc = s_load_tree (self, root, "", where, error);
    zconfig_destroy (&root);
    return rc;
}

//  Sets the value a --section-key=VALUE or --section-key VALUE option at argv[*i]
//  gives, moving *i past a separate value. Returns 0, or -1 with error.
static int
s_set_option (mk_cfg_t *self, int argc, char **argv, int *i, char **error)
{
    const char *arg = argv[*i];
    //  The key is short; the value is taken whole, however long.
    const char *equals = strchr (arg, '=');
    size_t length = equals ? (size_t) (equals - arg - 2) : strlen (arg + 2);
    char key[128];
    if (length >= sizeof key) {
        *error = zsys_sprintf ("unknown option '%.40s...' (-h lists them)", arg);
        return -1;
    }
    memcpy (key, arg + 2, length);
    key[length] = 0;
    const char *value = equals ? equals + 1 : NULL;
    for (char *c = key; *c; c++)
        if (*c == '-')
            *c = '/';
    if (!value) {
        if (*i + 1 >= argc) {
            *error = zsys_sprintf ("%s needs a value", arg);
            return -1;
        }
        value = argv[++*i];
    }
    if (s_index (self->schema, key) < 0) {
        *error = zsys_sprintf ("unknown option '%s' (-h lists them)", arg);
        return -1;
    }
    return s_set (self, key, value, "option", error) ? -1 : 0;
}

mk_cfg_t *
mk_cfg_new (const char *program, const char *summary, const mk_cfg_item_t *schema, int argc,
            char **argv, char **error, char **help)
{
    *error = NULL;
    *help = NULL;
    mk_cfg_t *self = (mk_cfg_t *) zmalloc (sizeof (mk_cfg_t));
    self->schema = schema;
    int count = 0;
    while (schema[count].key)
        count++;
    self->values = (char **) zmalloc ((count + 1) * sizeof (char *));
    for (int i = 0; i < count; i++)
        self->values[i] = strdup (schema[i].value);

    //  The file first, wherever -c stands among the options, so flags override it.
    const char *file = NULL;
    if (s_find_file (argc, argv, &file, error) || (file && s_load_file (self, file, error)))
        goto fail;
    int i = 1;
    for (; i < argc; i++) {
        const char *arg = argv[i];
        if (streq (arg, "-c"))
            i++;
        else if (streq (arg, "-n"))
            self->check_only = true;
        else if (streq (arg, "-v"))
            self->verbose = true;
        else if (streq (arg, "-h") || streq (arg, "--help")) {
            *help = s_help (program, summary, schema);
            goto fail;
        } else if (streq (arg, "--")) {
            i++;
            break;
        } else if (strncmp (arg, "--", 2) == 0 && strlen (arg) > 2) {
            if (s_set_option (self, argc, argv, &i, error))
                goto fail;
        } else if (arg[0] == '-' && arg[1]) {
            *error = zsys_sprintf ("unknown option '%s' (-h lists them)", arg);
            goto fail;
        } else
            break;
    }
    self->argc = argc - i;
    self->argv = argv + i;
    return self;
fail:
    mk_cfg_destroy (&self);
    return NULL;
}

void
mk_cfg_destroy (mk_cfg_t **self_p)
{
    assert (self_p);
    mk_cfg_t *self = *self_p;
    if (self) {
        for (int i = 0; self->schema[i].key; i++)
            free (self->values[i]);
        free (self->values);
        free (self);
        *self_p = NULL;
    }
}

const char *
mk_cfg_str (mk_cfg_t *self, const char *key)
{
    int index = s_index (self->schema, key);
    assert (index >= 0); //  a key not in the schema is a bug of the program
    return self->values[index];
}

int64_t
mk_cfg_int (mk_cfg_t *self, const char *key)
{
    assert (self->schema[s_index (self->schema, key)].type == MK_CFG_INT);
    return strtoll (mk_cfg_str (self, key), NULL, 10);
}

bool
mk_cfg_bool (mk_cfg_t *self, const char *key)
{
    const char *value = mk_cfg_str (self, key);
    return streq (value, "true") || streq (value, "1");
}

bool
mk_cfg_check_only (mk_cfg_t *self)
{
    return self->check_only;
}

int
mk_cfg_check_done (mk_cfg_t **self_p, const char *program)
{
    printf ("%s: configuration ok\n", program);
    mk_cfg_destroy (self_p);
    return 0;
}

bool
mk_cfg_verbose (mk_cfg_t *self)
{
    return self->verbose;
}

int
mk_cfg_argc (mk_cfg_t *self)
{
    return self->argc;
}

char **
mk_cfg_argv (mk_cfg_t *self)
{
    return self->argv;
}

mk_cfg_t *
mk_cfg_main (const char *program, const char *summary, const mk_cfg_item_t *schema, int argc,
             char **argv, int *exit_code)
{
    char *error, *help;
    mk_cfg_t *self = mk_cfg_new (program, summary, schema, argc, argv, &error, &help);
    if (!self) {
        if (help)
            fputs (help, stdout);
        else
            fprintf (stderr, "%s: %s\n", program, error);
        *exit_code = help ? 0 : 2;
        free (help);
        free (error);
        return NULL;
    }
    int level = MK_LOG_INFO;
    if (s_index (schema, "log/level") >= 0) {
        level = mk_log_level_parse (mk_cfg_str (self, "log/level"));
        if (level < 0) {
            fprintf (stderr, "%s: 'log/level' must be debug, info, warn or error, not '%s'\n",
                     program, mk_cfg_str (self, "log/level"));
            mk_cfg_destroy (&self);
            *exit_code = 2;
            return NULL;
        }
    }
    mk_log_init (program, self->verbose ? MK_LOG_DEBUG : (mk_log_level_t) level);
    return self;
}

void
mk_cfg_test (bool verbose)
{
    static const mk_cfg_item_t schema[] = {
        {"bus/endpoint", MK_CFG_STR, "tcp://127.0.0.1:7010", "the broker's request endpoint"},
        {"bus/heartbeat_ms", MK_CFG_INT, "1000", "heartbeat interval"},
        {"db/sync", MK_CFG_BOOL, "true", "fsync each commit"},
        {NULL, 0, NULL, NULL}};
    char *error, *help;
    char dir[] = "/tmp/mk_cfg_test.XXXXXX";
    assert (mkdtemp (dir));
    char path[128];
    snprintf (path, sizeof path, "%s/test.cfg", dir);

    char *args1[] = {"prog", NULL};
    mk_cfg_t *cfg = mk_cfg_new ("prog", "test", schema, 1, args1, &error, &help);
    assert (cfg && streq (mk_cfg_str (cfg, "bus/endpoint"), "tcp://127.0.0.1:7010"));
    assert (mk_cfg_int (cfg, "bus/heartbeat_ms") == 1000 && mk_cfg_bool (cfg, "db/sync"));
    mk_cfg_destroy (&cfg);

    //  A file, then a flag that overrides it, then the arguments left over.
    FILE *f = fopen (path, "w");
    fprintf (f, "bus\n    endpoint = tcp://10.0.0.1:1\n    heartbeat_ms = 250\n");
    fclose (f);
    char *args2[] = {"prog", "--bus-heartbeat_ms=500", "-c", path, "-n", "vm", "list", "-c", "x",
                     NULL};
    cfg = mk_cfg_new ("prog", "test", schema, 9, args2, &error, &help);
    assert (cfg);
    assert (streq (mk_cfg_str (cfg, "bus/endpoint"), "tcp://10.0.0.1:1"));
    assert (mk_cfg_int (cfg, "bus/heartbeat_ms") == 500);
    assert (mk_cfg_check_only (cfg));
    //  A -c after the command is the command's, not ours.
    assert (mk_cfg_argc (cfg) == 4 && streq (mk_cfg_argv (cfg)[0], "vm"));
    mk_cfg_destroy (&cfg);

    //  Each mistake is named.
    struct {
        const char *content;
        const char *arg;
        const char *expect;
    } bad[] = {
        {"bus\n    endpiont = x\n", NULL, "unknown setting 'bus/endpiont'"},
        {"bus\n    heartbeat_ms = soon\n", NULL, "must be a whole number"},
        {"db\n    sync = maybe\n", NULL, "must be true or false"},
        {NULL, "--bus-nothing=1", "unknown option '--bus-nothing=1'"},
        {NULL, "--bus-heartbeat_ms=-5", "must be a whole number"},
        {NULL, "--bus-heartbeat_ms=4294967297", "must be a whole number from 0 to 2147483647"},
        {NULL, "-x", "unknown option '-x'"},
        {NULL, "--bus-endpoint", "needs a value"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *args[] = {"prog", "-c", path, NULL};
        int argc = 3;
        if (bad[i].content) {
            f = fopen (path, "w");
            fputs (bad[i].content, f);
            fclose (f);
        } else {
            args[1] = (char *) bad[i].arg;
            argc = 2;
        }
        cfg = mk_cfg_new ("prog", "test", schema, argc, args, &error, &help);
        assert (!cfg && error);
        if (verbose)
            printf ("  %s\n", error);
        assert (strstr (error, bad[i].expect));
        free (error);
    }
    //  A long value is taken whole.
    char long_arg[1100] = "--bus-endpoint=";
    memset (long_arg + 15, 'x', 1000);
    long_arg[1015] = 0;
    char *args5[] = {"prog", long_arg, NULL};
    cfg = mk_cfg_new ("prog", "test", schema, 2, args5, &error, &help);
    assert (cfg && strlen (mk_cfg_str (cfg, "bus/endpoint")) == 1000);
    mk_cfg_destroy (&cfg);

    char *args3[] = {"prog", "-c", "/nonexistent/x.cfg", NULL};
    assert (!mk_cfg_new ("prog", "test", schema, 3, args3, &error, &help));
    assert (strstr (error, "no such file"));
    free (error);

    char *args4[] = {"prog", "-h", NULL};
    assert (!mk_cfg_new ("prog", "test", schema, 2, args4, &error, &help));
    assert (!error && strstr (help, "--bus-heartbeat_ms") && strstr (help, "usage: prog"));
    free (help);
    unlink (path);
    rmdir (dir);
}

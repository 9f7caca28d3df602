/*  maekinsh_shell: the whole maekinsh program as main() runs it: the configuration
    (found as maekinsh_shell_config_file says, or -c), maekinsh's own options wherever
    they are on the command line, the settings checked, then the command (maekinsh_cmd,
    or maekinsh_admin) run against the bus and printed (maekinsh_out). */
#include "maekinsh_shell.h"

#include "maekinsh_admin.h"
#include "maekinsh_cmd_def.h"
#include "maekinsh_session.h"
#include "maekinsh_settings.h"

#include "mk_cfg.h"
#include "mk_sock.h"

#include <inttypes.h>
#include <sys/stat.h>

static bool
s_is_file (const char *path)
{
    struct stat info;
    return stat (path, &info) == 0 && S_ISREG (info.st_mode);
}

char *
maekinsh_shell_config_file (void)
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
    list->argv = (char **) realloc (list->argv, (size_t) (list->argc + 2) * sizeof (char *));
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
        s_push (globals, zsys_sprintf ("%s=%s", output ? "--output-format" : "--bus-timeout_ms",
                                       argv[++*i]));
    } else if (strncmp (arg, "--output=", 9) == 0)
        s_push (globals, zsys_sprintf ("--output-format=%s", arg + 9));
    else if (strncmp (arg, "--timeout-ms=", 13) == 0)
        s_push (globals, zsys_sprintf ("--bus-timeout_ms=%s", arg + 13));
    else {
        //  As mk_cfg reads them: -c FILE and --key VALUE take the next argument.
        bool takes_value =
            streq (arg, "-c")
            || (strncmp (arg, "--", 2) == 0 && !strchr (arg, '=') && !streq (arg, "--help"));
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
    snprintf (name, sizeof name, "%.*s", equals ? (int) (equals - arg) : (int) strlen (arg), arg);
    return arg[0] == '-' && maekinsh_settings_is_global (name);
}

//  True if arg is an option of the command that takes the next argument as its value.
static bool
s_takes_value (const maekinsh_cmd_def_t *def, const char *arg)
{
    int index = def && !strchr (arg, '=') ? maekinsh_cmd_opt_index (def, arg) : -1;
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
    const maekinsh_cmd_def_t *def = i < argc ? maekinsh_cmd_def_find (argv[i], "") : NULL;
    if (!def && i + 1 < argc)
        def = maekinsh_cmd_def_find (argv[i], argv[i + 1]);
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
    *file_p = config_given ? NULL : maekinsh_shell_config_file ();
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
        return zsys_sprintf ("--timeout-ms must be from 1 to 3600000 ms, not %" PRId64, timeout_ms);
    if (!*mk_cfg_str (cfg, "bus/endpoint"))
        return strdup ("the bus endpoint is empty; give --bus-endpoint=tcp://HOST:7010");
    *level = mk_log_level_parse (mk_cfg_str (cfg, "log/level"));
    if (*level < 0)
        return zsys_sprintf ("'log/level' must be debug, info, warn or error, not '%s'",
                             mk_cfg_str (cfg, "log/level"));
    return NULL;
}

int
maekinsh_shell_run (int argc, char **argv, FILE *out, FILE *err)
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
        cfg = mk_cfg_new ("maekinsh", "The Maekin shell.", maekinsh_settings_schema (), args.argc,
                          args.argv, &error, &help);
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
    mk_log_init ("maekinsh", mk_cfg_verbose (cfg) ? MK_LOG_DEBUG : (mk_log_level_t) level);
    const char *endpoint = mk_cfg_str (cfg, "bus/endpoint");
    const char *named = getenv ("MAEKINSH_CONFIG");
    if (named && *named && !s_is_file (named))
        mk_debug ("MAEKINSH_CONFIG names '%s', which is not a file: looked further", named);
    mk_debug ("settings from %s; the broker at %s", file ? file : "no file", endpoint);
    if (mk_cfg_check_only (cfg)) {
        fprintf (out, "maekinsh: configuration ok (the broker at %s, settings from %s)\n", endpoint,
                 file ? file : "no file");
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
    if (mk_sock_secure_cfg (cfg, false, &error) != 0)
        goto cleanup;
    mk_client_t *client = mk_client_new (endpoint);
    if (!client) {
        error = zsys_sprintf ("cannot use '%s' as the bus endpoint (expected tcp://HOST:PORT)",
                              endpoint);
        goto cleanup;
    }
    //  The credential kept for this cloud (or $MAEKIN_TOKEN), on every request.
    char *token = maekinsh_session_token (endpoint, NULL);
    mk_client_set_token (client, token);
    maekinsh_session_wipe (&token);
    maekinsh_out_t *output = maekinsh_out_new ((maekinsh_out_format_t) format, out, err);
    maekinsh_cmd_set_stream (cmd, mk_cfg_str (cfg, "bus/stream_out"));
    status =
        maekinsh_cmd_run (cmd, client, endpoint, (int) mk_cfg_int (cfg, "bus/timeout_ms"), output);
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

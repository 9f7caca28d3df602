/*  maekin-controller: the global controller. Serves `cloud` on the bus and owns the
    cloud's state in the database. */
#include "maekin.h"

#include "controller_auth.h"
#include "controller_server.h"
#include "mk_cfg.h"
#include "mk_curve.h"
#include "mk_db.h"
#include "mk_sock.h"

//  The exit status when another controller holds the database, at start or since: not
//  worth restarting for (the systemd unit says so).
#define S_HELD 3

static const mk_cfg_item_t s_schema[] = {
    {"bus/endpoint", MK_CFG_STR, "tcp://127.0.0.1:7010", "the broker's request endpoint"},
    {"bus/stream_in", MK_CFG_STR, "tcp://127.0.0.1:7011", "the broker's publishers' endpoint"},
    {"bus/stream_out", MK_CFG_STR, "tcp://127.0.0.1:7012",
     "the broker's subscribers' endpoint, for the monitors' metrics"},
    {"bus/client_key", MK_CFG_STR, "",
     "the CLI installations' public key (a NAME.key file or 40 characters of Z85), admitted "
     "at start as the bus key 'maekinsh' when no key has that name; \"\": none"},
    {"db/url", MK_CFG_STR, "sqlite:var/maekin.db",
     "the database: sqlite:PATH or mysql://USER:PASSWORD@HOST[:PORT]/DATABASE"},
    {"controller/host_timeout_ms", MK_CFG_INT, "30000",
     "a host whose agent sent no report this long is down (three of its 10 s reports)"},
    {"controller/task_timeout_s", MK_CFG_INT, "600", "a task unanswered this long fails"},
    {"controller/batch_max", MK_CFG_INT, "1024", "messages handled in one transaction"},
    {"controller/request_ttl_s", MK_CFG_INT, "86400", "how long retries are recognised"},
    {"sched/cpu_ratio", MK_CFG_INT, "400", "vCPU overcommit in percent"},
    {"sched/mem_ratio", MK_CFG_INT, "100", "memory overcommit in percent"},
    {"storage/image_dirs", MK_CFG_STR, "/var/lib/maekin/images:/var/lib/libvirt/images",
     "directories (':'-separated) that templates' images, kernels and initrds must be in"},
    {"metrics/raw_points", MK_CFG_INT, "12",
     "each host's and VM's latest samples kept in memory (12: a minute at the monitor's 5 s)"},
    {"metrics/fine_step_s", MK_CFG_INT, "60", "the history's fine averages: over this long"},
    {"metrics/fine_keep_s", MK_CFG_INT, "86400", "... kept this long"},
    {"metrics/coarse_step_s", MK_CFG_INT, "600",
     "the history's coarse averages: over this long (a multiple of the fine step)"},
    {"metrics/coarse_keep_s", MK_CFG_INT, "2592000", "... kept this long"},
    {"auth/enforce", MK_CFG_BOOL, "true",
     "requests need a credential (false admits everyone as the administrator: a closed lab "
     "or a benchmark only)"},
    {"auth/session_ttl_s", MK_CFG_INT, "43200", "a login's session lasts this long at most"},
    {"auth/audit_keep_days", MK_CFG_INT, "90", "keep the audit log's entries this many days"},
    {"auth/admin_password_file", MK_CFG_STR, "var/admin-password",
     "at the first start, the administrator 'admin' is made and its password written here"},
    {"enrol/multicast_key", MK_CFG_STR, "",
     "the monitors' multicast key (maekinsh admin secret), given to each node that enrols "
     "so its monitor can sign and check datagrams; \"\": none (its monitor has no multicast)"},
    MK_SOCK_CFG_ITEMS,
    {"log/level", MK_CFG_STR, "info", "debug, info, warn or error"},
    {NULL, 0, NULL, NULL}};

int
main (int argc, char **argv)
{
    //  The table of roles and operations it enforces, for the docs (README).
    if (argc == 2 && streq (argv[1], "--roles")) {
        controller_auth_vi_print (stdout);
        return 0;
    }
    int exit_code;
    mk_cfg_t *cfg = mk_cfg_main ("maekin-controller",
                                 "The Maekin global controller. (--roles prints the table of "
                                 "roles it enforces in Virtual Infrastructures.)",
                                 s_schema, argc, argv, &exit_code);
    if (!cfg)
        return exit_code;
    //  Ranges first, in 64 bits: nothing is narrowed or multiplied until it fits.
    static const struct {
        const char *key;
        int64_t min, max;
    } ranges[] = {{"controller/host_timeout_ms", 100, 3600000},
                  {"controller/task_timeout_s", 1, 604800},
                  {"controller/batch_max", 1, 65536},
                  {"controller/request_ttl_s", 60, 31536000},
                  {"sched/cpu_ratio", 1, 10000},
                  {"sched/mem_ratio", 1, 10000},
                  {"metrics/raw_points", 1, 100000},
                  {"metrics/fine_step_s", 1, 86400},
                  {"metrics/fine_keep_s", 1, 315360000},
                  {"metrics/coarse_step_s", 1, 864000},
                  {"metrics/coarse_keep_s", 1, 315360000},
                  {"auth/session_ttl_s", 60, 31536000},
                  {"auth/audit_keep_days", 1, 3650}};
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++) {
        int64_t value = mk_cfg_int (cfg, ranges[i].key);
        if (value < ranges[i].min || value > ranges[i].max) {
            fprintf (stderr,
                     "maekin-controller: '%s' must be %" PRId64 "..%" PRId64 ", not %" PRId64 "\n",
                     ranges[i].key, ranges[i].min, ranges[i].max, value);
            mk_cfg_destroy (&cfg);
            return 2;
        }
    }
    controller_opts_t opts = {
        .endpoint = mk_cfg_str (cfg, "bus/endpoint"),
        .stream_in = mk_cfg_str (cfg, "bus/stream_in"),
        .stream_out = mk_cfg_str (cfg, "bus/stream_out"),
        .db_url = mk_cfg_str (cfg, "db/url"),
        .host_timeout_ms = (int) mk_cfg_int (cfg, "controller/host_timeout_ms"),
        .task_timeout_ms = (int) (mk_cfg_int (cfg, "controller/task_timeout_s") * 1000),
        .batch_max = (int) mk_cfg_int (cfg, "controller/batch_max"),
        .request_ttl_s = (int) mk_cfg_int (cfg, "controller/request_ttl_s"),
        .cpu_ratio = (int) mk_cfg_int (cfg, "sched/cpu_ratio"),
        .mem_ratio = (int) mk_cfg_int (cfg, "sched/mem_ratio"),
        .image_dirs = mk_cfg_str (cfg, "storage/image_dirs"),
        .history = {(int) mk_cfg_int (cfg, "metrics/raw_points"),
                    (int) mk_cfg_int (cfg, "metrics/fine_step_s"),
                    (int) mk_cfg_int (cfg, "metrics/fine_keep_s"),
                    (int) mk_cfg_int (cfg, "metrics/coarse_step_s"),
                    (int) mk_cfg_int (cfg, "metrics/coarse_keep_s")},
        .enforce = mk_cfg_bool (cfg, "auth/enforce"),
        .session_ttl_s = (int) mk_cfg_int (cfg, "auth/session_ttl_s"),
        .audit_keep_days = (int) mk_cfg_int (cfg, "auth/audit_keep_days"),
        .admin_password_file = mk_cfg_str (cfg, "auth/admin_password_file"),
    };
    char *why = controller_history_check (&opts.history);
    if (why) {
        fprintf (stderr, "maekin-controller: %s\n", why);
        free (why);
        mk_cfg_destroy (&cfg);
        return 2;
    }
    //  Each storage directory absolute, and not the root: "/" would let in every file.
    const char *dirs = opts.image_dirs;
    while (*dirs) {
        const char *end = strchr (dirs, ':');
        size_t length = end ? (size_t) (end - dirs) : strlen (dirs);
        if (length < 2 || dirs[0] != '/' || (length == 2 && dirs[1] == '/')) {
            fprintf (stderr,
                     "maekin-controller: 'storage/image_dirs' must be absolute "
                     "directories other than '/', separated by ':' (not '%s')\n",
                     opts.image_dirs);
            mk_cfg_destroy (&cfg);
            return 2;
        }
        dirs = end ? end + 1 : "";
    }
    //  The bus last: -n checks the keys too, after what the program checks itself.
    if (!mk_sock_secure_main (cfg, "maekin-controller")) {
        mk_cfg_destroy (&cfg);
        return 2;
    }
    //  The CLI installations' key: a key file read now, so a bad one stops the start.
    char client_key[MK_CURVE_KEY_TEXT + 1] = "";
    const char *client = mk_cfg_str (cfg, "bus/client_key");
    char *error = NULL;
    if (*client && mk_curve_public (client, client_key, &error) != 0) {
        fprintf (stderr, "maekin-controller: 'bus/client_key': %s\n", error);
        free (error);
        mk_cfg_destroy (&cfg);
        return 2;
    }
    opts.client_key = client_key;
    //  The multicast key too: a bad one (or one others may read) stops the start.
    uint8_t multicast_key[MK_CURVE_SECRET];
    const char *multicast = mk_cfg_str (cfg, "enrol/multicast_key");
    if (*multicast && mk_curve_secret_load (multicast, multicast_key, &error) != 0) {
        fprintf (stderr, "maekin-controller: 'enrol/multicast_key': %s\n", error);
        free (error);
        mk_cfg_destroy (&cfg);
        return 2;
    }
    opts.multicast_key = *multicast ? multicast_key : NULL;
    if (mk_cfg_check_only (cfg))
        return mk_cfg_check_done (&cfg, "maekin-controller");
    bool held = false;
    zactor_t *server = controller_server_new (&opts, &held);
    if (!server) {
        fprintf (stderr, "maekin-controller: cannot start (see the log above)\n");
        mk_cfg_destroy (&cfg);
        return held ? S_HELD : 1;
    }
    //  The URL may carry a password: the log shows what is after the credentials only.
    char *shown = mk_db_url_safe (opts.db_url);
    mk_info ("serving 'cloud' and 'enrol' via %s, database %s", opts.endpoint, shown);
    free (shown);
    //  Until interrupted, or until the server says another controller took over.
    int rc = 0;
    zpoller_t *poller = zpoller_new (server, NULL);
    while (!zsys_interrupted && rc == 0) {
        if (zpoller_wait (poller, 100) != server)
            continue;
        char *what = zstr_recv (server);
        if (what && streq (what, "LOST"))
            rc = S_HELD; //  another controller runs
        else if (what && streq (what, "GONE"))
            rc = 1; //  a restore took the claim: start again on what it left
        zstr_free (&what);
    }
    zpoller_destroy (&poller);
    mk_info ("stopping");
    zactor_destroy (&server);
    mk_cfg_destroy (&cfg);
    return rc;
}

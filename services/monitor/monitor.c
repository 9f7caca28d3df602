/*  maekin-monitor: one per node (the paper's monitoring agent). Samples each host it
    serves every interval and publishes the samples on the broker's stream as
    metric.host.<host>. See monitor_server.h and monitor_source.h. */
#include "maekin.h"

#include "mk_actor.h"
#include "mk_cfg.h"
#include "mk_curve.h"
#include "mk_hosts.h"
#include "mk_sock.h"
#include "monitor_server.h"

static mk_cfg_item_t s_schema[] = {
    {"bus/stream_in", MK_CFG_STR, "tcp://127.0.0.1:7011", "the broker's publishers' endpoint"},
    {"monitor/hosts", MK_CFG_STR, "",
     "hosts to sample, comma-separated name=source pairs (source: proc, or "
     "synthetic:CPU:MEMORY[:VMS] for a simulated host and its guests)"},
    {"monitor/interval_ms", MK_CFG_INT, "5000", "how often each host is sampled"},
    {"monitor/guests_uri", MK_CFG_STR, "qemu:///system",
     "libvirt of the host sampled from /proc, for its guests' values (empty: none)"},
    {"monitor/full_every", MK_CFG_INT, "12",
     "every this many messages name all of a host's VMs; the others only those that moved"},
    {"monitor/compare_encodings", MK_CFG_BOOL, "false",
     "also measure what one message per VM would cost, said in the log at exit (benchmark)"},
    {"monitor/info_endpoint", MK_CFG_STR, "ipc://@maekin-monitor",
     "where this node's view of the cluster is answered (maekinsh host info --local)"},
    {"cloud/name", MK_CFG_STR, "maekin", "the cloud's name: datagrams of another are dropped"},
    {"multicast/mode", MK_CFG_STR, "fallback",
     "off; fallback: to the group too while the broker is away; only: never to the broker"},
    {"multicast/group", MK_CFG_STR, "239.192.77.1", "the monitors' multicast group"},
    {"multicast/port", MK_CFG_INT, "7020", "... and its UDP port"},
    {"multicast/interface", MK_CFG_STR, "",
     "the IPv4 address of the interface for the group (empty: the route's; 127.0.0.1: "
     "this machine only)"},
    {"multicast/key", MK_CFG_STR, "",
     "the cloud's multicast key ('maekinsh admin secret FILE'): datagrams signed and checked; "
     "needed unless multicast is off or bus/security is none"},
    {"multicast/window_ms", MK_CFG_INT, "30000",
     "datagrams sent further than this from our clock are dropped as stale"},
    MK_SOCK_CFG_ITEMS,
    {"log/level", MK_CFG_STR, "info", "debug, info, warn or error"},
    {NULL, 0, NULL, NULL}};

int
main (int argc, char **argv)
{
    //  By default the monitor samples this machine's /proc, under the machine's name.
    char hosts[MK_HOSTS_DEFAULT_MAX];
    mk_hosts_this_machine (hosts, sizeof hosts, "proc");
    s_schema[1].value = hosts; //  "monitor/hosts"

    int exit_code;
    mk_cfg_t *cfg = mk_cfg_main ("maekin-monitor",
                                 "The Maekin monitor: samples this node's hosts and "
                                 "publishes their metrics on the bus.",
                                 s_schema, argc, argv, &exit_code);
    if (!cfg)
        return exit_code;
    size_t count = 0;
    char *error = NULL;
    monitor_host_t *list = monitor_hosts_parse (mk_cfg_str (cfg, "monitor/hosts"), &count, &error);
    int64_t interval_ms = mk_cfg_int (cfg, "monitor/interval_ms");
    int64_t full_every = mk_cfg_int (cfg, "monitor/full_every");
    monitor_opts_t opts = {
        .stream_in = mk_cfg_str (cfg, "bus/stream_in"),
        .hosts = list,
        .host_count = count,
        //  Out of range is refused by the check, not wrapped around.
        .interval_ms = (int) (interval_ms > MONITOR_INTERVAL_MAX_MS ? MONITOR_INTERVAL_MAX_MS + 1
                              : interval_ms < 0                     ? -1
                                                                    : interval_ms),
        .full_every = (int) (full_every > MONITOR_FULL_EVERY_MAX ? MONITOR_FULL_EVERY_MAX + 1
                             : full_every < 0                    ? 0
                                                                 : full_every),
        .guests_uri = mk_cfg_str (cfg, "monitor/guests_uri"),
        .compare = mk_cfg_bool (cfg, "monitor/compare_encodings"),
        .info_endpoint = mk_cfg_str (cfg, "monitor/info_endpoint"),
    };
    const char *mode = mk_cfg_str (cfg, "multicast/mode");
    opts.mcast_mode = streq (mode, "only")       ? MONITOR_MCAST_ONLY
                      : streq (mode, "fallback") ? MONITOR_MCAST_FALLBACK
                                                 : MONITOR_MCAST_OFF;
    if (!error && !streq (mode, "off") && !streq (mode, "only") && !streq (mode, "fallback"))
        error = zsys_sprintf ("'multicast/mode' must be off, fallback or only, not '%.32s'", mode);
    int64_t port = mk_cfg_int (cfg, "multicast/port"),
            window = mk_cfg_int (cfg, "multicast/window_ms");
    opts.mcast = (monitor_mcast_opts_t){
        .group = mk_cfg_str (cfg, "multicast/group"),
        .port = (int) (port < 0 || port > 65535 ? 0 : port),
        .interface = mk_cfg_str (cfg, "multicast/interface"),
        .cloud = monitor_dgram_cloud (mk_cfg_str (cfg, "cloud/name")),
        .window_ms = window < 0 ? 0 : window,
    };
    if (!error)
        error = monitor_opts_check (&opts);
    //  The bus last (-n checks the keys too); multicast alone needs none. On a CURVE bus
    //  the datagrams are signed too: a key is needed, as the bus's are.
    if (!error && opts.mcast_mode != MONITOR_MCAST_ONLY)
        mk_sock_secure_cfg (cfg, false, &error);
    uint8_t mcast_key[MK_CURVE_SECRET];
    const char *key_file = mk_cfg_str (cfg, "multicast/key");
    if (!error && *key_file && mk_curve_secret_load (key_file, mcast_key, &error) == 0)
        opts.mcast.key = mcast_key;
    else if (!error && !*key_file && opts.mcast_mode != MONITOR_MCAST_OFF
             && !streq (mk_cfg_str (cfg, "bus/security"), "none"))
        error = strdup ("multicast/key is not set: the datagrams are signed with the cloud's "
                        "key ('maekinsh admin secret FILE' makes one), unless multicast/mode is "
                        "off or bus/security is none");
    if (!error && mk_cfg_check_only (cfg)) {
        free (list);
        return mk_cfg_check_done (&cfg, "maekin-monitor");
    }
    zactor_t *server = error ? NULL : monitor_server_new (&opts);
    exit_code = mk_actor_serve ("maekin-monitor", &server, error);
    free (error);
    free (list);
    mk_cfg_destroy (&cfg);
    return exit_code;
}

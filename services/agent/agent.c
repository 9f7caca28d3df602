/*  maekin-agent: the per-node executor (the paper's local controller). Serves
    node/<host> on the bus for each libvirt host it drives and runs the controller's
    tasks there. See agent_server.h. */
#include "maekin.h"

#include "agent_opts.h"
#include "agent_server.h"
#include "mk_actor.h"
#include "mk_cfg.h"
#include "mk_hosts.h"
#include "mk_limits.h"
#include "mk_sock.h"

static mk_cfg_item_t s_schema[] = {
    {"bus/endpoint", MK_CFG_STR, "tcp://127.0.0.1:7010", "the broker's request endpoint"},
    {"agent/hosts", MK_CFG_STR, "", "hosts to drive, comma-separated name=uri pairs"},
    {"agent/domain_type", MK_CFG_STR, "kvm", "domain type of new VMs: kvm, qemu or test"},
    {"agent/console_dir", MK_CFG_STR, "", "directory for serial console logs; none: a pty"},
    {"agent/report_ms", MK_CFG_INT, MK_STRINGIFY (AGENT_REPORT_MS),
     "period of the light report to the controller (liveness is the bus's heartbeats)"},
    {"agent/stop_timeout_s", MK_CFG_INT, "60", "a graceful stop is forced after this long"},
    {"agent/libvirt_timeout_ms", MK_CFG_INT, "30000",
     "a task whose libvirt call takes longer fails; other hosts never wait for it"},
    MK_SOCK_CFG_ITEMS,
    {"log/level", MK_CFG_STR, "info", "debug, info, warn or error"},
    {NULL, 0, NULL, NULL}};

int
main (int argc, char **argv)
{
    //  By default the agent drives this machine's libvirt, under the machine's name.
    char hosts[MK_HOSTS_DEFAULT_MAX];
    mk_hosts_this_machine (hosts, sizeof hosts, "qemu:///system");
    s_schema[1].value = hosts;

    int exit_code;
    mk_cfg_t *cfg = mk_cfg_main ("maekin-agent",
                                 "The Maekin agent: runs the controller's "
                                 "tasks on this node's libvirt.",
                                 s_schema, argc, argv, &exit_code);
    if (!cfg)
        return exit_code;
    size_t count = 0;
    char *error = NULL;
    agent_opts_host_t *list =
        agent_opts_hosts_parse (mk_cfg_str (cfg, "agent/hosts"), &count, &error);
    int64_t report_ms = mk_cfg_int (cfg, "agent/report_ms");
    int64_t stop_s = mk_cfg_int (cfg, "agent/stop_timeout_s");
    int64_t libvirt_ms = mk_cfg_int (cfg, "agent/libvirt_timeout_ms");
    agent_opts_t opts = {
        .endpoint = mk_cfg_str (cfg, "bus/endpoint"),
        .hosts = list,
        .host_count = count,
        .domain_type = mk_cfg_str (cfg, "agent/domain_type"),
        .console_dir = mk_cfg_str (cfg, "agent/console_dir"),
        //  Out of range is refused by the check, not wrapped around.
        .report_ms = (int) (report_ms > AGENT_REPORT_MS_MAX ? AGENT_REPORT_MS_MAX + 1 : report_ms),
        .stop_timeout_ms = (int) (stop_s > AGENT_STOP_S_MAX ? AGENT_STOP_S_MAX + 1 : stop_s) * 1000,
        //  0 would mean the default: from the configuration it is refused, as -1.
        .libvirt_timeout_ms = (int) (libvirt_ms > AGENT_LIBVIRT_MS_MAX ? AGENT_LIBVIRT_MS_MAX + 1
                                     : libvirt_ms <= 0                 ? -1
                                                                       : libvirt_ms),
    };
    if (!error)
        error = agent_opts_check (&opts);
    //  The bus last: -n checks the keys too, after what the program checks itself.
    if (!error)
        mk_sock_secure_cfg (cfg, false, &error);
    if (!error && mk_cfg_check_only (cfg)) {
        free (list);
        return mk_cfg_check_done (&cfg, "maekin-agent");
    }
    zactor_t *server = error ? NULL : agent_server_new (&opts);
    exit_code = mk_actor_serve ("maekin-agent", &server, error);
    free (error);
    free (list);
    mk_cfg_destroy (&cfg);
    return exit_code;
}

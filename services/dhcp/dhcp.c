/*  maekin-dhcp: the DHCP controller (the paper's section 3.2.4, issue 21), on the global
    controller's node: serves each VM the address its VI's IP pool bound to its MAC,
    through dnsmasq, which it configures, runs and keeps running. See dhcp_server.h. */
#include "maekin.h"

#include "dhcp_server.h"
#include "mk_actor.h"
#include "mk_cfg.h"
#include "mk_secret.h"
#include "mk_sock.h"

static const mk_cfg_item_t s_schema[] = {
    {"bus/endpoint", MK_CFG_STR, "tcp://127.0.0.1:7010", "the broker's request endpoint"},
    {"bus/stream_out", MK_CFG_STR, "tcp://127.0.0.1:7012",
     "the broker's stream, subscribers' side: VM events, each soon followed by a sync"},
    {"dhcp/key_file", MK_CFG_STR, "",
     "a file (mode 600) holding an API key of the administrator's, read-only will do "
     "('maekinsh apikey create dhcp --read-only'): how the pools and leases are read"},
    {"dhcp/dir", MK_CFG_STR, "/var/lib/maekin-dhcp",
     "dnsmasq's files: dnsmasq.conf, hosts, leases, dnsmasq.log"},
    {"dhcp/dnsmasq", MK_CFG_STR, "/usr/sbin/dnsmasq",
     "dnsmasq's program (Debian's dnsmasq-base); empty: write the files, run none"},
    {"dhcp/pools", MK_CFG_STR, "", "the pools served, comma-separated; empty: every pool"},
    {"dhcp/resync_ms", MK_CFG_INT, "30000",
     "a full sync at least this often (besides one soon after each VM event)"},
    {"dhcp/pxe", MK_CFG_BOOL, "true",
     "boot the hosts added (maekinsh host add) from the network: TFTP from dir/tftp"},
    {"dhcp/ipxe_dir", MK_CFG_STR, "/usr/lib/ipxe",
     "iPXE's boot files for plain PXE ROMs (undionly.kpxe, ipxe.efi: Debian's ipxe)"},
    MK_SOCK_CFG_ITEMS,
    {"log/level", MK_CFG_STR, "info", "debug, info, warn or error"},
    {NULL, 0, NULL, NULL}};

int
main (int argc, char **argv)
{
    int exit_code;
    mk_cfg_t *cfg = mk_cfg_main ("maekin-dhcp",
                                 "The Maekin DHCP controller: serves each VM the address its IP "
                                 "pool bound to its MAC, through dnsmasq.",
                                 s_schema, argc, argv, &exit_code);
    if (!cfg)
        return exit_code;
    char *error = NULL;
    char key[128] = "";
    const char *key_file = mk_cfg_str (cfg, "dhcp/key_file");
    if (!*key_file)
        error = strdup ("dhcp/key_file is needed: an API key of the administrator's "
                        "('maekinsh apikey create dhcp --read-only', kept in a file of mode 600)");
    else
        error = mk_secret_key_file ("dhcp/key_file", key_file, key, sizeof key);
    int64_t resync = mk_cfg_int (cfg, "dhcp/resync_ms");
    if (!error && (resync < 1000 || resync > 3600000))
        error =
            zsys_sprintf ("dhcp/resync_ms must be 1000 to 3600000, not %lld", (long long) resync);
    const char *dnsmasq = mk_cfg_str (cfg, "dhcp/dnsmasq");
    if (!error && *dnsmasq && access (dnsmasq, X_OK) != 0)
        error = zsys_sprintf ("dhcp/dnsmasq '%s' cannot be run: %s (Debian's dnsmasq-base has "
                              "it)",
                              dnsmasq, strerror (errno));
    if (!error)
        mk_sock_secure_cfg (cfg, false, &error);
    if (!error && mk_cfg_check_only (cfg))
        return mk_cfg_check_done (&cfg, "maekin-dhcp");
    dhcp_opts_t opts = {.endpoint = mk_cfg_str (cfg, "bus/endpoint"),
                        .stream_out = mk_cfg_str (cfg, "bus/stream_out"),
                        .token = key,
                        .dir = mk_cfg_str (cfg, "dhcp/dir"),
                        .dnsmasq = dnsmasq,
                        .pools = mk_cfg_str (cfg, "dhcp/pools"),
                        .resync_ms = (int) resync,
                        .pxe = mk_cfg_bool (cfg, "dhcp/pxe"),
                        .ipxe_dir = mk_cfg_str (cfg, "dhcp/ipxe_dir")};
    zactor_t *server = error ? NULL : dhcp_server_new (&opts);
    exit_code = mk_actor_serve ("maekin-dhcp", &server, error);
    free (error);
    mk_cfg_destroy (&cfg);
    return exit_code;
}

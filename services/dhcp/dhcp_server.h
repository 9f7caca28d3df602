/*  dhcp_server: maekin-dhcp's actor (issue 21). Follows the controller's IP pools and the
    addresses VMs hold (pool_list and pool_leases, with the administrator's read-only key):
    in full at start and every resync_ms, and again soon after each VM or host event of
    the broker's stream (a burst of them is one sync, at most one a second); writes
    dnsmasq's configuration and hosts file (dhcp_files: only for a change); and runs
    dnsmasq, started again when it dies, told to read the hosts file again (SIGHUP) after
    bindings were added, and restarted when one was taken away (its lease, which lives in
    dnsmasq's memory alone, goes with it, so its address can go to the next VM) or the
    pools it serves changed. A sync the cloud did not answer is tried again in 2 s. With the
    controller away, dnsmasq keeps serving what it has. With PXE on, the hosts added (their
    bindings tagged) boot from the network: dnsmasq serves dir/tftp over TFTP, where this
    program puts boot.ipxe and iPXE's files for plain PXE ROMs; each host's own script,
    tftp/maekin/MAC.ipxe, is the installer's (install/). */
#ifndef DHCP_SERVER_H_INCLUDED
#define DHCP_SERVER_H_INCLUDED

#include "maekin.h"

typedef struct {
    const char *endpoint;   //  the broker's request endpoint
    const char *stream_out; //  the broker's stream (VM events); "" for none
    const char *token;      //  the administrator's read-only API key
    const char *dir;        //  dnsmasq's files: dnsmasq.conf, hosts, leases, dnsmasq.log
    const char *dnsmasq;    //  dnsmasq's program; "" runs none (the files alone)
    const char *pools;      //  the pools served, comma-separated; "" every pool
    int resync_ms;          //  a full sync at least this often
    bool pxe;               //  boot the hosts added from the network (dir/tftp)
    const char *ipxe_dir;   //  where iPXE's boot files for plain PXE ROMs are (Debian's ipxe)
} dhcp_opts_t;

//  The actor; NULL (logged) if it cannot start. Its pipe answers "STATS" with "SYNCS
//  WRITES SIGNALS STARTS BINDINGS": syncs done, hosts files written, SIGHUPs sent,
//  dnsmasq started, bindings served now.
zactor_t *dhcp_server_new (const dhcp_opts_t *opts);

#endif

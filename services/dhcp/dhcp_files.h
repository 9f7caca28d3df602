/*  dhcp_files: what maekin-dhcp writes for dnsmasq (issue 21): its configuration, made from
    the IP pools it serves, and the hosts file of the bindings (a MAC and its address).
    Each is written whole to a temporary file and renamed over the old one, and only when
    its text changed: dnsmasq never reads half a file, and is told to read again only
    after a change. The range of each pool is "static": dnsmasq answers the MACs of the
    hosts file alone, and nothing else on the bridge. */
#ifndef DHCP_FILES_H_INCLUDED
#define DHCP_FILES_H_INCLUDED

#include "maekin.h"

//  A pool as dnsmasq serves it.
typedef struct {
    char name[64];
    char network[64]; //  CIDR
    char gateway[46]; //  "" for none
    char dns[4][46];  //  "" ends the list
    char bridge[16];  //  the interface dnsmasq answers on
} dhcp_pool_t;

//  An address bound to a MAC: a VM's, or a host's (host add), which boots from the network
//  until it enrolls, then from its own disk.
typedef struct {
    char ip[46];
    char mac[20];
    bool host;     //  a host's that boots from the network: given a boot file
    bool enrolled; //  a host's that enrolled: none, and its boot script goes
} dhcp_binding_t;

//  The tag dnsmasq gives the MACs of the hosts added: they alone are booted (PXE).
#define DHCP_HOST_TAG "maekin-host"

//  The configuration (a new string) for the pools, with its files in dir, dnsmasq running
//  as `user` once it has its sockets (the one that writes the files, so it may read them
//  again on SIGHUP): NULL and *error (a new string) if a pool cannot be served (its
//  network unreadable). With pxe, dnsmasq serves dir/tftp over TFTP and boots the hosts
//  added (DHCP_HOST_TAG): iPXE (the firmware of QEMU's NICs, or one chained from a plain
//  PXE ROM: undionly.kpxe for BIOS, ipxe.efi for UEFI) is given boot.ipxe.
char *dhcp_files_conf (const dhcp_pool_t *pools, size_t count, const char *dir, const char *user,
                       bool pxe, char **error);
//  boot.ipxe: the script every host added boots first. It chains the host's own,
//  maekin/MAC.ipxe (MAC in lower case, '-' between its pairs), written when the host was
//  added (install/), and says so when there is none.
extern const char dhcp_files_boot_ipxe[];
//  The hosts file's text (a new string): one line a binding, in the order given.
char *dhcp_files_hosts (const dhcp_binding_t *bindings, size_t count);
//  Writes text at path if it differs from what is there: 1 written, 0 the same already,
//  -1 (and *error, a new string) if it could not be written.
int dhcp_files_write (const char *path, const char *text, char **error);

void dhcp_files_test (bool verbose);

#endif

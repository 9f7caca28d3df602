/*  dhcp_files: dnsmasq's configuration and hosts file. See dhcp_files.h. */
#include "dhcp_files.h"

#include "mk_ip.h"

#include <arpa/inet.h>

//  A text written as a stream into memory (open_memstream): one copy, whatever its size.
static FILE *
s_open (char **text, size_t *size)
{
    FILE *out = open_memstream (text, size);
    if (!out)
        abort ();
    return out;
}

const char dhcp_files_boot_ipxe[] =
    "#!ipxe\n"
    "# Written by maekin-dhcp: every host added (maekinsh host add) boots this first.\n"
    "chain maekin/${mac:hexhyp}.ipxe && exit ||\n"
    "echo maekin: no boot script maekin/${mac:hexhyp}.ipxe for this machine (${mac}):\n"
    "echo maekin: write it with install/maekin-pxe, or boot it otherwise\n"
    "sleep 30\n"
    "exit\n";

//  What boots the hosts added, and them alone (the last dhcp-boot that matches wins: the
//  three exclude each other).
static void
s_pxe_conf (FILE *out, const char *dir)
{
    fprintf (out,
             "# Hosts added (maekinsh host add) boot from the network: TFTP from %s/tftp (files\n"
             "# of this user's alone), iPXE given boot.ipxe, plain PXE ROMs iPXE first.\n"
             "enable-tftp\n"
             "tftp-root=%s/tftp\n"
             "tftp-secure\n"
             "dhcp-userclass=set:ipxe,iPXE\n"
             "dhcp-match=set:efi64,option:client-arch,7\n"
             "dhcp-match=set:efi64,option:client-arch,9\n"
             "dhcp-boot=tag:" DHCP_HOST_TAG ",tag:ipxe,boot.ipxe\n"
             "dhcp-boot=tag:" DHCP_HOST_TAG ",tag:!ipxe,tag:efi64,ipxe.efi\n"
             "dhcp-boot=tag:" DHCP_HOST_TAG ",tag:!ipxe,tag:!efi64,undionly.kpxe\n",
             dir, dir);
}

char *
dhcp_files_conf (const dhcp_pool_t *pools, size_t count, const char *dir, const char *user,
                 bool pxe, char **error)
{
    char *text = NULL;
    size_t size;
    FILE *out = s_open (&text, &size);
    fprintf (out,
             "# Written by maekin-dhcp from the cloud's IP pools: do not edit, it is rewritten.\n"
             "port=0\n" //  no DNS: only DHCP
             //  The pools' bridges, not every interface; a bridge not there (yet: at boot,
             //  or a pool made before it) is served when it comes, and the others meanwhile.
             "bind-dynamic\n"
             "except-interface=lo\n"
             "dhcp-authoritative\n"      //  the only server on its bridges
             "dhcp-hostsfile=%s/hosts\n" //  read again on SIGHUP
             //  No lease database: a lease lives in dnsmasq's memory alone, so a binding
             //  taken away goes with a restart (a SIGHUP would keep its lease, infinite, and
             //  the address could not go to the next VM). Renewals need none: every address
             //  is a bound MAC's, answered by the hosts file whatever dnsmasq remembers.
             "leasefile-ro\n"
             "log-dhcp\n"
             "user=%s\n",
             dir, user);
    if (pxe)
        s_pxe_conf (out, dir);
    for (size_t i = 0; i < count; i++) {
        const dhcp_pool_t *pool = &pools[i];
        mk_ip_t net;
        int prefix;
        const char *why = mk_ip_net_parse (pool->network, &net, &prefix);
        if (why) {
            *error = zsys_sprintf ("pool '%s': network '%s': %s", pool->name, pool->network, why);
            fclose (out);
            free (text);
            return NULL;
        }
        char address[MK_IP_TEXT];
        mk_ip_format (&net, address);
        fprintf (out, "interface=%s\n", pool->bridge);
        if (net.family == 4) {
            struct in_addr mask = {htonl (prefix ? 0xffffffffu << (32 - prefix) : 0)};
            fprintf (out, "dhcp-range=set:%s,%s,static,%s,infinite\n", pool->name, address,
                     inet_ntoa (mask));
            if (*pool->gateway)
                fprintf (out, "dhcp-option=tag:%s,option:router,%s\n", pool->name, pool->gateway);
        } else
            fprintf (out, "dhcp-range=set:%s,%s,static,%d,infinite\n", pool->name, address, prefix);
        //  The DNS servers of the pool's own family (DHCPv4 and DHCPv6 options apart).
        char servers[256] = "";
        for (int d = 0; d < 4 && *pool->dns[d]; d++) {
            mk_ip_t server;
            if (mk_ip_parse (pool->dns[d], &server) != 0 || server.family != net.family)
                continue;
            size_t at = strlen (servers);
            snprintf (servers + at, sizeof servers - at, net.family == 4 ? ",%s" : ",[%s]",
                      pool->dns[d]);
        }
        if (*servers)
            fprintf (out, "dhcp-option=tag:%s,%s%s\n", pool->name,
                     net.family == 4 ? "option:dns-server" : "option6:dns-server", servers);
    }
    fclose (out);
    return text;
}

char *
dhcp_files_hosts (const dhcp_binding_t *bindings, size_t count)
{
    char *text = NULL;
    size_t size;
    FILE *out = s_open (&text, &size);
    for (size_t i = 0; i < count; i++) {
        mk_ip_t ip;
        bool six = mk_ip_parse (bindings[i].ip, &ip) == 0 && ip.family == 6;
        fprintf (out, six ? "%s,%s[%s],infinite\n" : "%s,%s%s,infinite\n", bindings[i].mac,
                 bindings[i].host ? "set:" DHCP_HOST_TAG "," : "", bindings[i].ip);
    }
    fclose (out);
    return text;
}

int
dhcp_files_write (const char *path, const char *text, char **error)
{
    size_t size = strlen (text);
    FILE *file = fopen (path, "rb");
    if (file) {
        char *old = (char *) malloc (size + 2);
        size_t got = old ? fread (old, 1, size + 1, file) : 0;
        bool same = old && got == size && memcmp (old, text, size) == 0;
        free (old);
        fclose (file);
        if (same)
            return 0;
    }
    char *temporary = zsys_sprintf ("%s.new", path);
    file = fopen (temporary, "wb");
    bool good = file && fwrite (text, 1, size, file) == size;
    if (file)
        good = (fflush (file) == 0) && (fsync (fileno (file)) == 0) && good;
    if (file)
        good = (fclose (file) == 0) && good;
    if (good && rename (temporary, path) != 0)
        good = false;
    if (!good) {
        *error = zsys_sprintf ("cannot write '%s': %s", path, strerror (errno));
        unlink (temporary);
    }
    free (temporary);
    return good ? 1 : -1;
}

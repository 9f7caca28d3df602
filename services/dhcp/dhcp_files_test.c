/*  dhcp_files' self-test: the configuration dnsmasq itself says is good, the hosts file,
    and writes that happen only for a change. */
#include "dhcp_files.h"

#include "mk_testdir.h"

static char *
s_read (const char *path)
{
    FILE *file = fopen (path, "rb");
    assert (file);
    char *text = (char *) zmalloc (65536);
    size_t got = fread (text, 1, 65535, file);
    text[got] = 0;
    fclose (file);
    return text;
}

void
dhcp_files_test (bool verbose)
{
    char *dir = mk_testdir_new ("dhcp_files_test");
    dhcp_pool_t pools[2] = {
        {.name = "lab",
         .network = "10.88.0.0/24",
         .gateway = "10.88.0.1",
         .dns = {"10.88.0.1", "fd00::53", "1.1.1.1"},
         .bridge = "mkbr0"},
        {.name = "six", .network = "fd00:88::/64", .dns = {"fd00::53"}, .bridge = "mkbr6"}};
    char *error = NULL;
    char *conf = dhcp_files_conf (pools, 2, dir, "maekin", false, &error);
    assert (conf && !error);
    assert (!strstr (conf, "tftp") && !strstr (conf, "dhcp-boot"));
    assert (strstr (conf, "interface=mkbr0\n") && strstr (conf, "interface=mkbr6\n"));
    assert (strstr (conf, "dhcp-range=set:lab,10.88.0.0,static,255.255.255.0,infinite\n"));
    assert (strstr (conf, "dhcp-option=tag:lab,option:router,10.88.0.1\n"));
    //  Each family's servers in its own option.
    assert (strstr (conf, "dhcp-option=tag:lab,option:dns-server,10.88.0.1,1.1.1.1\n"));
    assert (strstr (conf, "dhcp-range=set:six,fd00:88::,static,64,infinite\n"));
    assert (strstr (conf, "dhcp-option=tag:six,option6:dns-server,[fd00::53]\n"));
    assert (strstr (conf, "port=0\n") && strstr (conf, "dhcp-hostsfile="));
    assert (strstr (conf, "user=maekin\n") && strstr (conf, "leasefile-ro\n"));

    //  dnsmasq itself reads it (its own syntax check), when it is installed.
    char *path = zsys_sprintf ("%s/dnsmasq.conf", dir);
    assert (dhcp_files_write (path, conf, &error) == 1);
    if (access ("/usr/sbin/dnsmasq", X_OK) == 0) {
        char *command = zsys_sprintf ("/usr/sbin/dnsmasq --test --conf-file=%s 2>&1", path);
        FILE *run = popen (command, "r");
        char said[256] = "";
        assert (run && fgets (said, sizeof said, run));
        int status = pclose (run);
        if (status != 0 || !strstr (said, "syntax check OK"))
            fprintf (stderr, "dhcp_files: dnsmasq said: %s\n%s", said, conf);
        assert (status == 0 && strstr (said, "syntax check OK"));
        free (command);
    } else if (verbose)
        printf ("  dhcp_files: no dnsmasq here to check the configuration\n");
    free (conf);
    //  With PXE: TFTP from dir/tftp, and a boot file for the hosts added alone, iPXE's or
    //  one for a plain PXE ROM of each firmware.
    conf = dhcp_files_conf (pools, 2, dir, "maekin", true, &error);
    char *root = zsys_sprintf ("tftp-root=%s/tftp\n", dir);
    assert (conf && strstr (conf, "enable-tftp\n") && strstr (conf, root)
            && strstr (conf, "tftp-secure\n"));
    free (root);
    assert (strstr (conf, "dhcp-boot=tag:maekin-host,tag:ipxe,boot.ipxe\n")
            && strstr (conf, "dhcp-boot=tag:maekin-host,tag:!ipxe,tag:efi64,ipxe.efi\n")
            && strstr (conf, "dhcp-boot=tag:maekin-host,tag:!ipxe,tag:!efi64,undionly.kpxe\n"));
    if (access ("/usr/sbin/dnsmasq", X_OK) == 0) {
        char *tftp = zsys_sprintf ("%s/tftp", dir);
        assert (mkdir (tftp, 0750) == 0);
        assert (dhcp_files_write (path, conf, &error) == 1);
        char *command = zsys_sprintf ("/usr/sbin/dnsmasq --test --conf-file=%s 2>&1", path);
        FILE *run = popen (command, "r");
        char said[256] = "";
        assert (run && fgets (said, sizeof said, run));
        assert (pclose (run) == 0 && strstr (said, "syntax check OK"));
        free (command);
        free (tftp);
    }
    free (conf);
    assert (strncmp (dhcp_files_boot_ipxe, "#!ipxe\n", 7) == 0
            && strstr (dhcp_files_boot_ipxe, "chain maekin/${mac:hexhyp}.ipxe"));

    dhcp_pool_t bad = pools[0];
    snprintf (bad.network, sizeof bad.network, "10.88.0.1/24");
    assert (dhcp_files_conf (&bad, 1, dir, "maekin", false, &error) == NULL);
    assert (strstr (error, "pool 'lab'") && strstr (error, "host bits"));
    free (error);
    error = NULL;

    //  The hosts file: written once for a change, not again for the same text.
    dhcp_binding_t bindings[4] = {{"10.88.0.100", "52:54:00:00:00:01", false, false},
                                  {"fd00:88::10", "52:54:00:00:00:02", false, false},
                                  {"10.88.0.50", "52:54:00:aa:00:07", true, false},
                                  {"10.88.0.51", "52:54:00:aa:00:08", false, true}};
    char *hosts = dhcp_files_hosts (bindings, 4);
    //  A host's binding is tagged: it alone boots from the network, until it enrolled.
    assert (streq (hosts, "52:54:00:00:00:01,10.88.0.100,infinite\n"
                          "52:54:00:00:00:02,[fd00:88::10],infinite\n"
                          "52:54:00:aa:00:07,set:maekin-host,10.88.0.50,infinite\n"
                          "52:54:00:aa:00:08,10.88.0.51,infinite\n"));
    char *hosts_path = zsys_sprintf ("%s/hosts", dir);
    assert (dhcp_files_write (hosts_path, hosts, &error) == 1);
    assert (dhcp_files_write (hosts_path, hosts, &error) == 0);
    char *read = s_read (hosts_path);
    assert (streq (read, hosts));
    free (read);
    free (hosts);
    hosts = dhcp_files_hosts (bindings, 1);
    assert (dhcp_files_write (hosts_path, hosts, &error) == 1);
    read = s_read (hosts_path);
    assert (streq (read, "52:54:00:00:00:01,10.88.0.100,infinite\n"));
    free (read);
    char *temporary = zsys_sprintf ("%s.new", hosts_path);
    assert (access (temporary, F_OK) != 0); //  no temporary file left behind
    free (temporary);
    free (hosts);
    hosts = dhcp_files_hosts (NULL, 0);
    assert (streq (hosts, "") && dhcp_files_write (hosts_path, hosts, &error) == 1);
    free (hosts);

    //  A directory that is none: the error says where.
    assert (dhcp_files_write ("/nowhere/at/all/hosts", "x", &error) == -1);
    assert (strstr (error, "/nowhere/at/all/hosts"));
    free (error);
    free (hosts_path);
    free (path);
    mk_testdir_remove (&dir);
    if (verbose)
        printf ("dhcp_files: ok\n");
}

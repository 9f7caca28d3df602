/*  agent_opts: the agent's settings, parsed and checked. */
#include "agent_opts.h"

#include <assert.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_domxml.h"
#include "mk_name.h"

agent_opts_host_t *
agent_opts_hosts_parse (const char *text, size_t *count, char **error)
{
    return mk_hosts_parse (text, "agent/hosts", "uri", AGENT_HOSTS_MAX, count, error);
}

char *
agent_opts_check (const agent_opts_t *opts)
{
    if (opts->report_ms < 10 || opts->report_ms > AGENT_REPORT_MS_MAX)
        return zsys_sprintf ("'agent/report_ms' must be at least 10 and at most %d",
                             AGENT_REPORT_MS_MAX);
    if (opts->stop_timeout_ms < 0 || opts->stop_timeout_ms > AGENT_STOP_S_MAX * 1000)
        return zsys_sprintf ("'agent/stop_timeout_s' must be at most %d (a day)", AGENT_STOP_S_MAX);
    //  0 is the default; main() gives anything out of range as itself or -1.
    if (opts->libvirt_timeout_ms != 0
        && (opts->libvirt_timeout_ms < AGENT_LIBVIRT_MS_MIN
            || opts->libvirt_timeout_ms > AGENT_LIBVIRT_MS_MAX))
        return zsys_sprintf ("'agent/libvirt_timeout_ms' must be at least %d and at most %d",
                             AGENT_LIBVIRT_MS_MIN, AGENT_LIBVIRT_MS_MAX);
    //  agent_domxml knows what its options may be: let it judge a small domain.
    Maekin__VmSpec probe = MAEKIN__VM_SPEC__INIT;
    probe.name = "probe";
    probe.uuid = "00000000-0000-4000-8000-000000000000";
    probe.vcpus = 1;
    probe.memory_mb = 64;
    agent_domxml_opts_t domxml = {opts->domain_type, opts->console_dir, NULL};
    char *error = NULL;
    char *xml = agent_domxml_build (&probe, &domxml, &error);
    free (xml);
    return error;
}

//  --------------------------------------------------------------------------
//  Self-test

void
agent_opts_test (bool verbose)
{
    //  The rules of the pairs are mk_hosts's (tested there); here, the agent's names.
    size_t count;
    char *error;
    agent_opts_host_t *hosts =
        agent_opts_hosts_parse ("node1=test:///tmp/a.xml,node2=qemu:///system", &count, &error);
    assert (hosts && count == 2 && streq (hosts[1].value, "qemu:///system"));
    free (hosts);
    assert (!agent_opts_hosts_parse ("node1=", &count, &error));
    assert (streq (error, "'agent/hosts': host 'node1' has no uri"));
    free (error);
    //  64 hosts is one too many: with the agent's own service, 65 for a READY.
    zchunk_t *many = zchunk_new (NULL, 1024);
    for (int i = 0; i < 64; i++) {
        char pair[32];
        snprintf (pair, sizeof pair, "%sh%d=test:///default", i ? "," : "", i);
        zchunk_extend (many, pair, strlen (pair));
    }
    zchunk_extend (many, "", 1);
    hosts = agent_opts_hosts_parse ((char *) zchunk_data (many), &count, &error);
    assert (!hosts && strstr (error, "more than 63 hosts"));
    free (error);
    zchunk_destroy (&many);

    agent_opts_t opts = {.report_ms = AGENT_REPORT_MS,
                         .stop_timeout_ms = 60000,
                         .domain_type = "kvm",
                         .console_dir = ""};
    assert (agent_opts_check (&opts) == NULL);
    opts.domain_type = "xen";
    error = agent_opts_check (&opts);
    assert (error && strstr (error, "domain type 'xen' is not kvm, qemu or test"));
    free (error);
    opts.domain_type = "qemu";
    opts.console_dir = "logs";
    error = agent_opts_check (&opts);
    assert (error && strstr (error, "console directory 'logs' is not an absolute path"));
    free (error);
    opts.console_dir = NULL;
    opts.report_ms = 5;
    error = agent_opts_check (&opts);
    assert (error && strstr (error, "'agent/report_ms' must be at least 10"));
    free (error);
    opts.report_ms = 100;
    opts.stop_timeout_ms = (AGENT_STOP_S_MAX + 1) * 1000;
    error = agent_opts_check (&opts);
    assert (error && strstr (error, "'agent/stop_timeout_s' must be at most 86400"));
    free (error);
    opts.stop_timeout_ms = 1000;
    const int deadlines[] = {-1, 99, AGENT_LIBVIRT_MS_MAX + 1};
    for (size_t i = 0; i < sizeof deadlines / sizeof deadlines[0]; i++) {
        opts.libvirt_timeout_ms = deadlines[i];
        error = agent_opts_check (&opts);
        assert (error && strstr (error, "'agent/libvirt_timeout_ms' must be at least 100"));
        if (verbose && i == 0)
            printf ("  %s\n", error);
        free (error);
    }
    opts.libvirt_timeout_ms = AGENT_LIBVIRT_MS_MIN;
    assert (agent_opts_check (&opts) == NULL);
}

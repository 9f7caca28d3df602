/*  bench_libvirt_floor: the libvirt floor, a baseline that `make bench` prints beside
    Maekin's own figures.

    One thread per simulated host (default: one per online CPU), each with its own
    connection to libvirt's test driver on its own node file, so no state is shared
    between them. Every thread defines and starts N domains (virDomainDefineXML, then
    virDomainCreate), then destroys and undefines them; the two phases are timed
    separately, over all threads, from a common start to the last thread's end.
    The domain XML is generated with libxml2 before the clock starts.

    Output, one line:
    libvirt_floor threads=2 define_start_per_s=10400 destroy_undefine_per_s=52000
        define_start_us=192.3 destroy_undefine_us=38.5 n=20000
    where *_us is the wall time per domain on one thread. */

#include <errno.h>
#include <getopt.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent_domxml.h"

#define S_THREADS_MAX 256
#define S_COUNT_MAX   200000

//  One simulated host: its thread's own state, shared with no other thread but for
//  the phase barrier.
typedef struct {
    int index;                //  thread number, names the node file and the domains
    char uri[PATH_MAX + 16];  //  test:///<dir>/node<index>.xml
    size_t count;             //  domains to define and start
    double limit_s;           //  time limit per phase, seconds
    pthread_barrier_t *phase; //  the barrier that starts and ends each phase
    size_t started;           //  domains defined and started
    size_t removed;           //  domains destroyed and undefined
    int rc;                   //  0, or -1 after an error (reported once)
} s_host_t;

//  The options of one run.
typedef struct {
    int threads;    //  simulated hosts, one thread each
    size_t count;   //  domains per thread
    double limit_s; //  time limit per phase, seconds
} s_options_t;

static double
s_now (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

//  libvirt's default handler prints every error; ours are reported once, in context.
static void
s_quiet (void *data, virErrorPtr error)
{
    (void) data;
    (void) error;
}

static xmlNodePtr
s_child (xmlNodePtr parent, const char *name, const char *content)
{
    xmlNodePtr node = xmlNewChild (parent, NULL, BAD_CAST name, BAD_CAST content);
    if (!node)
        abort ();
    return node;
}

static void
s_child_number (xmlNodePtr parent, const char *name, unsigned long long value)
{
    char text[32];
    snprintf (text, sizeof text, "%llu", value);
    s_child (parent, name, text);
}

//  Write a test-driver node file: a host with `cpus` cores and a memory large enough
//  that it never limits the benchmark, and no domains. 0, or -1 (reported).
static int
s_node_write (const char *path, int cpus)
{
    xmlDocPtr doc = xmlNewDoc (BAD_CAST "1.0");
    xmlNodePtr node = xmlNewNode (NULL, BAD_CAST "node");
    if (!doc || !node)
        abort ();
    xmlDocSetRootElement (doc, node);
    xmlNodePtr cpu = s_child (node, "cpu", NULL);
    s_child_number (cpu, "nodes", 1);
    s_child_number (cpu, "sockets", 1);
    s_child_number (cpu, "cores", (unsigned long long) cpus);
    s_child_number (cpu, "threads", 1);
    s_child_number (cpu, "active", (unsigned long long) cpus);
    s_child_number (cpu, "mhz", 2000);
    s_child (cpu, "model", "x86_64");
    s_child_number (node, "memory", 16ULL << 30); //  KiB: 16 TiB
    int rc = xmlSaveFormatFileEnc (path, doc, "UTF-8", 1) < 0 ? -1 : 0;
    if (rc)
        fprintf (stderr, "bench_libvirt_floor: cannot write node file '%s'\n", path);
    xmlFreeDoc (doc);
    return rc;
}

//  -a: the domains are the agent's own XML for Maekin's `tiny` template, so the floor
//  is the very define+start calls the agent makes; else a minimal domain.
static bool s_agent_xml = false;

static char **
s_agent_xml_new (int host, size_t count)
{
    char **xml = (char **) calloc (count, sizeof (char *));
    agent_domxml_opts_t opts = {.domain_type = "test"};
    for (size_t i = 0; i < count; i++) {
        char name[64], uuid[64], mac[32];
        snprintf (name, sizeof name, "bench-%d-%zu", host, i);
        snprintf (uuid, sizeof uuid, "%08x-0000-4000-8000-%012zx", (unsigned) host, i);
        snprintf (mac, sizeof mac, "52:54:00:%02x:%02x:%02x", host & 255, (int) (i >> 8) & 255,
                  (int) i & 255);
        Maekin__VmSpec spec = MAEKIN__VM_SPEC__INIT;
        spec.name = name;
        spec.uuid = uuid;
        spec.vcpus = 1;
        spec.memory_mb = 64;
        spec.mac = mac;
        char *error = NULL;
        xml[i] = agent_domxml_build (&spec, &opts, &error);
        if (!xml[i])
            abort ();
    }
    return xml;
}

//  The XML of `count` small test domains named bench-<host>-<i>; free with s_xml_free.
static char **
s_domain_xml_new (int host, size_t count)
{
    if (s_agent_xml)
        return s_agent_xml_new (host, count);
    xmlDocPtr doc = xmlNewDoc (BAD_CAST "1.0");
    xmlNodePtr domain = xmlNewNode (NULL, BAD_CAST "domain");
    if (!doc || !domain)
        abort ();
    xmlDocSetRootElement (doc, domain);
    if (!xmlNewProp (domain, BAD_CAST "type", BAD_CAST "test"))
        abort ();
    xmlNodePtr name = s_child (domain, "name", NULL);
    xmlNodePtr memory = s_child (domain, "memory", "64");
    if (!xmlNewProp (memory, BAD_CAST "unit", BAD_CAST "MiB"))
        abort ();
    s_child (domain, "vcpu", "1");
    xmlNodePtr os = s_child (domain, "os", NULL);
    s_child (os, "type", "hvm");

    char **xml = (char **) calloc (count, sizeof (char *));
    if (!xml)
        abort ();
    for (size_t i = 0; i < count; i++) {
        char text[64];
        snprintf (text, sizeof text, "bench-%d-%zu", host, i);
        xmlNodeSetContent (name, BAD_CAST text);
        xmlChar *mem = NULL;
        int size = 0;
        xmlDocDumpMemory (doc, &mem, &size);
        if (!mem)
            abort ();
        xml[i] = (char *) mem;
    }
    xmlFreeDoc (doc);
    return xml;
}

static void
s_xml_free (char ***xml_p, size_t count)
{
    if (!*xml_p)
        return;
    for (size_t i = 0; i < count; i++)
        free ((*xml_p)[i]); //  xmlFree is free here: libxml2's default allocator
    free (*xml_p);
    *xml_p = NULL;
}

//  Define and start the domains, until all are or the time limit passes.
static void
s_host_define_start (s_host_t *self, virConnectPtr conn, char **xml, virDomainPtr *domains)
{
    double deadline = s_now () + self->limit_s;
    for (size_t i = 0; i < self->count && s_now () < deadline; i++) {
        virDomainPtr domain = virDomainDefineXML (conn, xml[i]);
        if (!domain) {
            fprintf (stderr,
                     "bench_libvirt_floor: define of 'bench-%d-%zu' on '%s' "
                     "failed: %s\n",
                     self->index, i, self->uri, virGetLastErrorMessage ());
            self->rc = -1;
            return;
        }
        if (virDomainCreate (domain) < 0) {
            fprintf (stderr, "bench_libvirt_floor: start of '%s' on '%s' failed: %s\n",
                     virDomainGetName (domain), self->uri, virGetLastErrorMessage ());
            virDomainFree (domain);
            self->rc = -1;
            return;
        }
        domains[self->started++] = domain;
    }
}

//  Destroy and undefine the started domains, until all are or the time limit passes.
static void
s_host_destroy_undefine (s_host_t *self, virDomainPtr *domains)
{
    double deadline = s_now () + self->limit_s;
    while (self->removed < self->started && s_now () < deadline) {
        virDomainPtr domain = domains[self->removed];
        const char *action = "destroy";
        int rc = virDomainDestroy (domain);
        if (rc == 0) {
            action = "undefine";
            rc = virDomainUndefine (domain);
        }
        if (rc < 0) {
            fprintf (stderr, "bench_libvirt_floor: %s of '%s' on '%s' failed: %s\n", action,
                     virDomainGetName (domain), self->uri, virGetLastErrorMessage ());
            self->rc = -1;
            return;
        }
        virDomainFree (domain);
        domains[self->removed++] = NULL;
    }
}

//  A host's thread: connect, prepare, then run each phase between two barriers, so
//  the main thread's clock covers every thread's work and nothing else.
static void *
s_host_run (void *arg)
{
    s_host_t *self = (s_host_t *) arg;
    char **xml = s_domain_xml_new (self->index, self->count);
    virDomainPtr *domains = (virDomainPtr *) calloc (self->count, sizeof (virDomainPtr));
    if (!domains)
        abort ();
    virConnectPtr conn = virConnectOpen (self->uri);
    if (!conn) {
        fprintf (stderr, "bench_libvirt_floor: cannot open '%s': %s\n", self->uri,
                 virGetLastErrorMessage ());
        self->rc = -1;
    }
    pthread_barrier_wait (self->phase);
    if (self->rc == 0)
        s_host_define_start (self, conn, xml, domains);
    pthread_barrier_wait (self->phase);
    if (self->rc == 0)
        s_host_destroy_undefine (self, domains);
    pthread_barrier_wait (self->phase);

    for (size_t i = self->removed; i < self->started; i++)
        virDomainFree (domains[i]);
    free (domains);
    s_xml_free (&xml, self->count);
    if (conn)
        virConnectClose (conn);
    return NULL;
}

static void
s_usage (FILE *out)
{
    fprintf (out,
             "usage: bench_libvirt_floor [-a] [-j THREADS] [-n COUNT] [-t SECONDS]\n"
             "  The libvirt floor: each thread, on its own test-driver host, defines and\n"
             "  starts COUNT domains, then destroys and undefines them.\n"
             "  -j THREADS  simulated hosts, one thread each, 1..%d (default: online "
             "CPUs)\n"
             "  -n COUNT    domains per thread, 1..%d (default 10000)\n"
             "  -t SECONDS  time limit per phase (default 8); stops early if reached\n"
             "  -a          the agent's domain XML (Maekin's tiny template), not a minimal one\n"
             "  -h          this help\n",
             S_THREADS_MAX, S_COUNT_MAX);
}

//  Parse a whole decimal number in [min, max]. 0, or -1 with an error printed.
static int
s_parse_count (const char *option, const char *text, long min, long max, long *value)
{
    char *end;
    errno = 0;
    long number = strtol (text, &end, 10);
    if (errno || end == text || *end || number < min || number > max) {
        fprintf (stderr, "bench_libvirt_floor: %s '%s' is not a number from %ld to %ld\n", option,
                 text, min, max);
        return -1;
    }
    *value = number;
    return 0;
}

//  Parse the options into opts. 0 to run, 1 after -h, 2 on a bad option.
static int
s_parse_options (int argc, char **argv, s_options_t *opts)
{
    long cpus = sysconf (_SC_NPROCESSORS_ONLN);
    *opts = (s_options_t){.threads = cpus < 1               ? 1
                                     : cpus > S_THREADS_MAX ? S_THREADS_MAX
                                                            : (int) cpus,
                          .count = 10000,
                          .limit_s = 8};
    int opt;
    opterr = 0;
    while ((opt = getopt (argc, argv, ":ahj:n:t:")) != -1) {
        long value;
        char *end;
        switch (opt) {
        case 'a':
            s_agent_xml = true;
            break;
        case 'h':
            s_usage (stdout);
            return 1;
        case 'j':
            if (s_parse_count ("-j", optarg, 1, S_THREADS_MAX, &value))
                return 2;
            opts->threads = (int) value;
            break;
        case 'n':
            if (s_parse_count ("-n", optarg, 1, S_COUNT_MAX, &value))
                return 2;
            opts->count = (size_t) value;
            break;
        case 't':
            errno = 0;
            opts->limit_s = strtod (optarg, &end);
            if (errno || end == optarg || *end || !(opts->limit_s > 0) || opts->limit_s > 86400) {
                fprintf (stderr,
                         "bench_libvirt_floor: -t '%s' is not a number of "
                         "seconds above 0\n",
                         optarg);
                return 2;
            }
            break;
        case ':':
            fprintf (stderr, "bench_libvirt_floor: option -%c needs a value\n", optopt);
            s_usage (stderr);
            return 2;
        default:
            fprintf (stderr, "bench_libvirt_floor: unknown option -%c\n", optopt);
            s_usage (stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf (stderr, "bench_libvirt_floor: unexpected argument '%s'\n", argv[optind]);
        s_usage (stderr);
        return 2;
    }
    return 0;
}

//  Write one node file per host into dir and fill in the hosts. 0, or -1 (reported).
static int
s_hosts_prepare (s_host_t *hosts, const s_options_t *opts, const char *dir,
                 pthread_barrier_t *phase)
{
    long cpus = sysconf (_SC_NPROCESSORS_ONLN);
    for (int i = 0; i < opts->threads; i++) {
        char path[PATH_MAX];
        snprintf (path, sizeof path, "%s/node%d.xml", dir, i);
        if (s_node_write (path, cpus < 1 ? 1 : (int) cpus))
            return -1;
        hosts[i] =
            (s_host_t){.index = i, .count = opts->count, .limit_s = opts->limit_s, .phase = phase};
        snprintf (hosts[i].uri, sizeof hosts[i].uri, "test://%s", path);
    }
    return 0;
}

//  Run every host's thread and print the figures. 0, or -1 (reported).
static int
s_run (s_host_t *hosts, int threads, pthread_barrier_t *phase)
{
    pthread_t *tids = (pthread_t *) calloc ((size_t) threads, sizeof (pthread_t));
    if (!tids)
        abort ();
    for (int i = 0; i < threads; i++) {
        int rc = pthread_create (&tids[i], NULL, s_host_run, &hosts[i]);
        if (rc) {
            //  The barrier counts every thread: without one, nothing can proceed.
            fprintf (stderr, "bench_libvirt_floor: cannot start a thread: %s\n", strerror (rc));
            abort ();
        }
    }
    pthread_barrier_wait (phase);
    double t0 = s_now ();
    pthread_barrier_wait (phase);
    double t1 = s_now ();
    pthread_barrier_wait (phase);
    double t2 = s_now ();
    int rc = 0;
    size_t started = 0, removed = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join (tids[i], NULL);
        started += hosts[i].started;
        removed += hosts[i].removed;
        rc = hosts[i].rc ? -1 : rc;
    }
    free (tids);
    if (rc == 0 && (started == 0 || removed == 0)) {
        fprintf (stderr, "bench_libvirt_floor: no domain was %s within the time limit\n",
                 started == 0 ? "defined and started" : "destroyed and undefined");
        rc = -1;
    }
    if (rc == 0) {
        printf ("libvirt_floor xml=%s threads=%d define_start_per_s=%.0f "
                "destroy_undefine_per_s=%.0f define_start_us=%.1f "
                "destroy_undefine_us=%.1f n=%zu\n",
                s_agent_xml ? "agent" : "minimal", threads, (double) started / (t1 - t0),
                (double) removed / (t2 - t1), (t1 - t0) * threads / (double) started * 1e6,
                (t2 - t1) * threads / (double) removed * 1e6, started);
        if (removed < started)
            fprintf (stderr,
                     "bench_libvirt_floor: the time limit stopped destroy and "
                     "undefine after %zu of %zu domains\n",
                     removed, started);
    }
    return rc;
}

int
main (int argc, char **argv)
{
    s_options_t opts;
    int rc = s_parse_options (argc, argv, &opts);
    if (rc)
        return rc == 1 ? 0 : rc;

    //  Both libraries are initialised once here, before any thread uses them.
    xmlInitParser ();
    if (virInitialize () < 0) {
        fprintf (stderr, "bench_libvirt_floor: libvirt failed to initialise\n");
        return 1;
    }
    virSetErrorFunc (NULL, s_quiet);

    const char *tmp = getenv ("TMPDIR");
    char dir[PATH_MAX - 32];
    snprintf (dir, sizeof dir, "%s/bench_libvirt_floor.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp (dir)) {
        fprintf (stderr, "bench_libvirt_floor: cannot create a directory from '%s': %s\n", dir,
                 strerror (errno));
        return 1;
    }
    //  The URI needs an absolute path, and TMPDIR may be relative.
    char *absolute = realpath (dir, NULL);
    if (!absolute) {
        fprintf (stderr, "bench_libvirt_floor: cannot resolve '%s': %s\n", dir, strerror (errno));
        rmdir (dir);
        return 1;
    }
    snprintf (dir, sizeof dir, "%s", absolute);
    free (absolute);
    s_host_t *hosts = (s_host_t *) calloc ((size_t) opts.threads, sizeof (s_host_t));
    if (!hosts)
        abort ();
    pthread_barrier_t phase;
    pthread_barrier_init (&phase, NULL, (unsigned) opts.threads + 1);
    rc = 1;
    if (s_hosts_prepare (hosts, &opts, dir, &phase) == 0
        && s_run (hosts, opts.threads, &phase) == 0)
        rc = 0;

    pthread_barrier_destroy (&phase);
    for (int i = 0; i < opts.threads; i++) {
        char path[PATH_MAX];
        snprintf (path, sizeof path, "%s/node%d.xml", dir, i);
        unlink (path);
    }
    rmdir (dir);
    free (hosts);
    return rc;
}

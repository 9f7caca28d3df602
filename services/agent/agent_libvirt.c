/*  agent_libvirt: one host's libvirt connection and the operations on it.

    Each operation looks at the domain first and does only what is missing, so a task
    the controller sends again (after a lost reply, or after the agent restarted) finds
    the work done and succeeds without doing it twice. An error names the operation,
    the VM, the host and libvirt's own words, in one line. */
#include "agent_libvirt.h"
#include "mk_str.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libvirt/virterror.h>

struct _agent_libvirt_t {
    char *host;               //  the host's name, for messages
    char *uri;                //  the libvirt URI
    virConnectPtr conn;       //  the connection
    agent_domxml_opts_t opts; //  domain type and console dir for new domains
    char *domain_type;        //  owned copies of the strings in opts
    char *console_dir;
    char *emulator;
    size_t undefine_level; //  the first set of undefine flags this driver took
    bool filter_ipv6;      //  this connection's libvirt has our IPv6 filter
};

//  What the agent needs to know of a domain's state to act on it.
typedef enum {
    S_UNDEFINED, //  libvirt does not have it
    S_OFF,       //  defined, not active
    S_RUNNING,
    S_PAUSED,  //  paused or suspended to memory
    S_HALTING, //  active, but shut down or crashed (on its way off, or preserved)
} s_state_t;

static const char *s_op_names[] = {"none",    "create", "start",   "stop",   "reboot",
                                   "suspend", "resume", "destroy", "delete", "define"};
#define S_OP_COUNT (sizeof s_op_names / sizeof s_op_names[0])

//  Undefine flags from the most thorough down to none: a driver that refuses some
//  flag as unsupported gets the next set. Managed save, snapshot and checkpoint
//  metadata, NVRAM and TPM state all belong to the VM being deleted.
static const unsigned int s_undefine_flags[] = {
    VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
        | VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA | VIR_DOMAIN_UNDEFINE_NVRAM
#if LIBVIR_CHECK_VERSION(8, 9, 0)
        | VIR_DOMAIN_UNDEFINE_TPM
#endif
    ,
    VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
        | VIR_DOMAIN_UNDEFINE_NVRAM,
    VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA,
    VIR_DOMAIN_UNDEFINE_MANAGED_SAVE,
};
#define S_UNDEFINE_LEVELS (sizeof s_undefine_flags / sizeof s_undefine_flags[0])

//  libvirt prints every error to stderr unless told otherwise; we report each one
//  ourselves, once, where its context is known.
static void
s_ignore_error (void *arg, virErrorPtr error)
{
}

static bool
s_set (const char *text)
{
    return text && *text;
}

//  Logs an error once and hands it to the caller (or frees it); always -1.
static int s_fail (char **error, const char *format, ...) __attribute__ ((format (printf, 2, 3)));

static int
s_fail (char **error, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    char *body = NULL;
    if (vasprintf (&body, format, args) < 0)
        abort ();
    va_end (args);
    char *text = zsys_sprintf ("agent_libvirt: %s", body);
    free (body);
    mk_error ("%s", text);
    if (error)
        *error = text;
    else
        free (text);
    return -1;
}

//  The VM's name for messages: its name, else its uuid.
static const char *
s_vm_name (const Maekin__VmSpec *spec)
{
    return s_set (spec->name) ? spec->name : s_set (spec->uuid) ? spec->uuid : "?";
}

const char *
agent_libvirt_op_name (Maekin__VmOp op)
{
    return (unsigned) op < S_OP_COUNT ? s_op_names[op] : "unknown op";
}

bool
agent_libvirt_op_valid (int op)
{
    return op >= MAEKIN__VM_OP__VM_OP_CREATE && op < (int) S_OP_COUNT;
}

static s_state_t
s_state_of (int state)
{
    switch (state) {
    case VIR_DOMAIN_SHUTOFF:
        return S_OFF;
    case VIR_DOMAIN_PAUSED:
    case VIR_DOMAIN_PMSUSPENDED:
        return S_PAUSED;
    case VIR_DOMAIN_SHUTDOWN:
    case VIR_DOMAIN_CRASHED:
        return S_HALTING;
    default:
        return S_RUNNING;
    }
}

static const char *
s_state_name (s_state_t state)
{
    switch (state) {
    case S_UNDEFINED:
        return "";
    case S_RUNNING:
        return "running";
    case S_PAUSED:
        return "paused";
    default:
        return "stopped";
    }
}

const char *
agent_libvirt_state_name (int state)
{
    return s_state_name (s_state_of (state));
}

//  Closes a connection; a positive count means someone still holds a reference (a
//  domain object not freed): a leak of ours, worth a line.
static void
s_close (agent_libvirt_t *self, virConnectPtr conn)
{
    int refs = virConnectClose (conn);
    if (refs > 0)
        mk_warn ("agent_libvirt: connection to '%s' still has %d reference%s at close", self->uri,
                 refs, refs == 1 ? "" : "s");
}

agent_libvirt_t *
agent_libvirt_new (const char *host, const char *uri, const agent_domxml_opts_t *opts, char **error)
{
    assert (host && uri && opts && error);
    *error = NULL;
    virSetErrorFunc (NULL, s_ignore_error);
    virConnectPtr conn = virConnectOpen (uri);
    if (!conn) {
        *error =
            zsys_sprintf ("cannot connect to libvirt at '%s': %s", uri, virGetLastErrorMessage ());
        return NULL;
    }
    agent_libvirt_t *self = (agent_libvirt_t *) zmalloc (sizeof (agent_libvirt_t));
    self->host = mk_strdup (host);
    self->uri = mk_strdup (uri);
    self->conn = conn;
    self->domain_type = mk_strdup (opts->domain_type);
    self->console_dir = mk_strdup (opts->console_dir);
    self->emulator = mk_strdup (opts->emulator);
    self->opts.domain_type = self->domain_type;
    self->opts.console_dir = self->console_dir;
    self->opts.emulator = self->emulator;
    return self;
}

void
agent_libvirt_destroy (agent_libvirt_t **self_p)
{
    assert (self_p);
    agent_libvirt_t *self = *self_p;
    if (self) {
        s_close (self, self->conn);
        free (self->host);
        free (self->uri);
        free (self->domain_type);
        free (self->console_dir);
        free (self->emulator);
        free (self);
        *self_p = NULL;
    }
}

bool
agent_libvirt_alive (agent_libvirt_t *self)
{
    return virConnectIsAlive (self->conn) == 1;
}

int
agent_libvirt_reconnect (agent_libvirt_t *self, char **error)
{
    assert (error);
    *error = NULL;
    virConnectPtr conn = virConnectOpen (self->uri);
    if (!conn) {
        *error = zsys_sprintf ("cannot connect to libvirt at '%s': %s", self->uri,
                               virGetLastErrorMessage ());
        return -1;
    }
    s_close (self, self->conn);
    self->conn = conn;
    self->filter_ipv6 = false; //  another libvirtd, maybe
    return 0;
}

const char *
agent_libvirt_host (agent_libvirt_t *self)
{
    return self->host;
}

const char *
agent_libvirt_uri (agent_libvirt_t *self)
{
    return self->uri;
}

virConnectPtr
agent_libvirt_conn (agent_libvirt_t *self)
{
    return self->conn;
}

//  Finds the domain by UUID: 0 with *dom and *state (S_UNDEFINED and *dom NULL if libvirt
//  does not have it), or -1 with the error reported.
static int
s_lookup (agent_libvirt_t *self, const char *what, const Maekin__VmSpec *spec, virDomainPtr *dom,
          s_state_t *state, char **error)
{
    *dom = NULL;
    *state = S_UNDEFINED;
    if (!s_set (spec->uuid))
        return s_fail (error, "%s of '%s' on host '%s' failed: the vm has no uuid", what,
                       s_vm_name (spec), self->host);
    *dom = virDomainLookupByUUIDString (self->conn, spec->uuid);
    if (!*dom) {
        if (virGetLastErrorCode () == VIR_ERR_NO_DOMAIN)
            return 0;
        return s_fail (error, "%s of '%s' on host '%s' failed: %s", what, s_vm_name (spec),
                       self->host, virGetLastErrorMessage ());
    }
    int code, reason;
    if (virDomainGetState (*dom, &code, &reason, 0) < 0) {
        //  Undefined between the lookup and now: as good as never found.
        if (virGetLastErrorCode () == VIR_ERR_NO_DOMAIN) {
            virDomainFree (*dom);
            *dom = NULL;
            return 0;
        }
        s_fail (error, "%s of '%s' on host '%s' failed: %s", what, s_vm_name (spec), self->host,
                virGetLastErrorMessage ());
        virDomainFree (*dom);
        *dom = NULL;
        return -1;
    }
    *state = s_state_of (code);
    return 0;
}

//  Reports the failure of a libvirt call on a domain, with libvirt's message.
static int
s_libvirt_fail (agent_libvirt_t *self, const char *what, const Maekin__VmSpec *spec, char **error)
{
    return s_fail (error, "%s of '%s' on host '%s' failed: %s", what, s_vm_name (spec), self->host,
                   virGetLastErrorMessage ());
}

static int
s_not_defined (agent_libvirt_t *self, const char *what, const Maekin__VmSpec *spec, char **error)
{
    return s_fail (error, "%s of '%s' on host '%s' failed: vm '%s' is not defined on host '%s'",
                   what, s_vm_name (spec), self->host, s_vm_name (spec), self->host);
}

static int
s_not_running (agent_libvirt_t *self, const char *what, const Maekin__VmSpec *spec, s_state_t state,
               char **error)
{
    return s_fail (error, "%s of '%s' on host '%s' failed: vm '%s' is %s, not running", what,
                   s_vm_name (spec), self->host, s_vm_name (spec), s_state_name (state));
}

//  Gives libvirt our IPv6 filter (agent_domxml), once a connection, before a domain that
//  refers to it (one that refers to a filter libvirt lacks does not start). Defined again
//  even if libvirt has one of that name: an older agent's may differ. A driver without
//  filters (the test driver) ignores a domain's filterref: nothing to give it.
static int
s_filter_ipv6 (agent_libvirt_t *self, const char *what, const Maekin__VmSpec *spec, char **error)
{
    if (self->filter_ipv6)
        return 0;
    virNWFilterPtr filter = virNWFilterDefineXML (self->conn, agent_domxml_filter_ipv6_xml);
    if (filter) {
        virNWFilterFree (filter);
        mk_info ("agent_libvirt: gave libvirt on host '%s' the network filter %s", self->host,
                 AGENT_DOMXML_FILTER_IPV6);
    } else if (virGetLastErrorCode () != VIR_ERR_NO_SUPPORT)
        return s_fail (error, "%s of '%s' on host '%s' failed: libvirt took no filter %s: %s", what,
                       s_vm_name (spec), self->host, AGENT_DOMXML_FILTER_IPV6,
                       virGetLastErrorMessage ());
    self->filter_ipv6 = true;
    return 0;
}

//  Defines the domain from the spec; *dom is the new domain.
static int
s_define (agent_libvirt_t *self, const char *what, const Maekin__VmSpec *spec, virDomainPtr *dom,
          char **error)
{
    if (spec->ip && strchr (spec->ip, ':') && s_filter_ipv6 (self, what, spec, error) != 0)
        return -1;
    char *reason = NULL;
    char *xml = agent_domxml_build (spec, &self->opts, &reason);
    if (!xml) {
        //  agent_domxml logged it already.
        if (error)
            *error = reason;
        else
            free (reason);
        return -1;
    }
    *dom = virDomainDefineXML (self->conn, xml);
    free (xml);
    if (!*dom)
        return s_libvirt_fail (self, what, spec, error);
    return 0;
}

//  Makes an inactive, halting or paused domain run.
static int
s_make_running (agent_libvirt_t *self, const char *what, const Maekin__VmSpec *spec,
                virDomainPtr dom, s_state_t state, char **error)
{
    if (state == S_RUNNING)
        return 0;
    if (state == S_PAUSED)
        return virDomainResume (dom) == 0 ? 0 : s_libvirt_fail (self, what, spec, error);
    //  Shut down or crashed but not off yet: power it off so that it can start.
    if (state == S_HALTING && virDomainDestroy (dom) < 0)
        return s_libvirt_fail (self, what, spec, error);
    return virDomainCreate (dom) == 0 ? 0 : s_libvirt_fail (self, what, spec, error);
}

static int
s_undefine (agent_libvirt_t *self, const char *what, const Maekin__VmSpec *spec, virDomainPtr dom,
            char **error)
{
    for (size_t level = self->undefine_level; level < S_UNDEFINE_LEVELS; level++) {
        if (virDomainUndefineFlags (dom, s_undefine_flags[level]) == 0) {
            self->undefine_level = level;
            return 0;
        }
        int code = virGetLastErrorCode ();
        if (code != VIR_ERR_INVALID_ARG && code != VIR_ERR_NO_SUPPORT)
            return s_libvirt_fail (self, what, spec, error);
    }
    //  A driver without virDomainUndefineFlags, or refusing every flag.
    if (virDomainUndefine (dom) < 0)
        return s_libvirt_fail (self, what, spec, error);
    self->undefine_level = S_UNDEFINE_LEVELS;
    return 0;
}

int
agent_libvirt_run (agent_libvirt_t *self, Maekin__VmOp op, const Maekin__VmSpec *spec, char **error)
{
    assert (self);
    assert (spec);
    if (error)
        *error = NULL;
    if (!agent_libvirt_op_valid (op))
        return s_fail (error, "vm '%s' on host '%s': op %d is not one an agent runs",
                       s_vm_name (spec), self->host, (int) op);
    const char *what = s_op_names[op];
    virDomainPtr dom;
    s_state_t state;
    int rc = 0;
    if (op == MAEKIN__VM_OP__VM_OP_CREATE || op == MAEKIN__VM_OP__VM_OP_DEFINE) {
        //  Define first: defining a domain libvirt has (same uuid and name) only rewrites
        //  its configuration, so this is idempotent, and the common case (a new domain)
        //  skips a lookup that fails, which libvirt reports at some cost.
        if (s_define (self, what, spec, &dom, error))
            return -1;
        int code, reason;
        if (virDomainGetState (dom, &code, &reason, 0) < 0) {
            rc = s_libvirt_fail (self, what, spec, error);
            virDomainFree (dom);
            return rc;
        }
        state = s_state_of (code);
    } else if (s_lookup (self, what, spec, &dom, &state, error))
        return -1;

    switch (op) {
    case MAEKIN__VM_OP__VM_OP_CREATE:
        rc = s_make_running (self, what, spec, dom, state, error);
        break;
    case MAEKIN__VM_OP__VM_OP_DEFINE:
        break;
    case MAEKIN__VM_OP__VM_OP_START:
        if (state == S_UNDEFINED)
            rc = s_not_defined (self, what, spec, error);
        else
            rc = s_make_running (self, what, spec, dom, state, error);
        break;
    case MAEKIN__VM_OP__VM_OP_STOP:
        //  A paused guest cannot act on the power button: it is powered off at once.
        //  Shut down but not off yet: only the power-off is missing.
        if (state == S_PAUSED || state == S_HALTING) {
            if (virDomainDestroy (dom) < 0)
                rc = s_libvirt_fail (self, what, spec, error);
        } else if (state == S_RUNNING && virDomainShutdown (dom) < 0) {
            //  No way to ask the guest (no ACPI, no agent): the caller's timeout would
            //  only delay the power-off it ends in.
            mk_warn ("agent_libvirt: graceful stop of '%s' on host '%s' is not possible "
                     "(%s); powering it off",
                     s_vm_name (spec), self->host, virGetLastErrorMessage ());
            if (virDomainDestroy (dom) < 0)
                rc = s_libvirt_fail (self, what, spec, error);
        }
        break;
    case MAEKIN__VM_OP__VM_OP_REBOOT:
        if (state == S_UNDEFINED)
            rc = s_not_defined (self, what, spec, error);
        else if (state != S_RUNNING)
            rc = s_not_running (self, what, spec, state, error);
        else if (virDomainReboot (dom, 0) < 0)
            rc = s_libvirt_fail (self, what, spec, error);
        break;
    case MAEKIN__VM_OP__VM_OP_SUSPEND:
        if (state == S_UNDEFINED)
            rc = s_not_defined (self, what, spec, error);
        else if (state == S_OFF || state == S_HALTING)
            rc = s_not_running (self, what, spec, state, error);
        else if (state == S_RUNNING && virDomainSuspend (dom) < 0)
            rc = s_libvirt_fail (self, what, spec, error);
        break;
    case MAEKIN__VM_OP__VM_OP_RESUME:
        if (state == S_UNDEFINED)
            rc = s_not_defined (self, what, spec, error);
        else if (state == S_OFF || state == S_HALTING)
            rc = s_not_running (self, what, spec, state, error);
        else if (state == S_PAUSED && virDomainResume (dom) < 0)
            rc = s_libvirt_fail (self, what, spec, error);
        break;
    case MAEKIN__VM_OP__VM_OP_DESTROY:
        if (state != S_UNDEFINED && state != S_OFF && virDomainDestroy (dom) < 0)
            rc = s_libvirt_fail (self, what, spec, error);
        break;
    case MAEKIN__VM_OP__VM_OP_DELETE:
        if (state != S_UNDEFINED && state != S_OFF && virDomainDestroy (dom) < 0)
            rc = s_libvirt_fail (self, what, spec, error);
        else if (state != S_UNDEFINED)
            rc = s_undefine (self, what, spec, dom, error);
        break;
    default:
        assert (false);
    }
    if (dom)
        virDomainFree (dom);
    return rc;
}

const char *
agent_libvirt_state (agent_libvirt_t *self, const char *uuid)
{
    assert (self);
    Maekin__VmSpec spec = MAEKIN__VM_SPEC__INIT;
    spec.uuid = (char *) uuid;
    virDomainPtr dom;
    s_state_t state;
    if (s_lookup (self, "state", &spec, &dom, &state, NULL))
        return NULL;
    if (dom)
        virDomainFree (dom);
    return s_state_name (state);
}

int
agent_libvirt_node (agent_libvirt_t *self, uint32_t *vcpus, uint64_t *memory_mb)
{
    virNodeInfo info;
    if (virNodeGetInfo (self->conn, &info) < 0)
        return s_fail (NULL, "node info of host '%s' failed: %s", self->host,
                       virGetLastErrorMessage ());
    *vcpus = info.cpus;
    *memory_mb = (uint64_t) info.memory / 1024;
    return 0;
}

int
agent_libvirt_list (agent_libvirt_t *self, agent_libvirt_domain_t **domains, size_t *count)
{
    *domains = NULL;
    *count = 0;
    virDomainPtr *list = NULL;
    int found = virConnectListAllDomains (self->conn, &list, 0);
    if (found < 0)
        return s_fail (NULL, "listing the domains of host '%s' failed: %s", self->host,
                       virGetLastErrorMessage ());
    agent_libvirt_domain_t *result =
        (agent_libvirt_domain_t *) zmalloc ((size_t) (found ? found : 1) * sizeof *result);
    size_t kept = 0;
    for (int i = 0; i < found; i++) {
        int code, reason;
        agent_libvirt_domain_t *domain = &result[kept];
        //  A domain undefined while we list it is simply not there.
        if (virDomainGetUUIDString (list[i], domain->uuid) == 0
            && virDomainGetState (list[i], &code, &reason, 0) == 0) {
            const char *name = virDomainGetName (list[i]);
            domain->name = mk_strdup (name);
            domain->state = s_state_name (s_state_of (code));
            kept++;
        }
        virDomainFree (list[i]);
    }
    free (list);
    *domains = result;
    *count = kept;
    return 0;
}

void
agent_libvirt_list_free (agent_libvirt_domain_t **domains, size_t count)
{
    assert (domains);
    if (*domains) {
        for (size_t i = 0; i < count; i++)
            free ((*domains)[i].name);
        free (*domains);
        *domains = NULL;
    }
}

//  --------------------------------------------------------------------------
//  Self-test

//  Writes a test-driver node file with deploy/make-node.sh; returns its URI (a new
//  string).
static char *
s_test_node (const char *dir, const char *name, int cpus, int memory_mb)
{
    const char *srcdir = getenv ("MK_SRCDIR");
    if (!s_set (srcdir))
        srcdir = ".";
    char *command = zsys_sprintf ("sh '%s/deploy/make-node.sh' %s %d %d > '%s/%s.xml'", srcdir,
                                  name, cpus, memory_mb, dir, name);
    int rc = system (command);
    assert (rc == 0);
    free (command);
    return zsys_sprintf ("test://%s/%s.xml", dir, name);
}

//  Runs an operation that must succeed and leave the domain in a state.
static void
s_expect_ok (agent_libvirt_t *self, Maekin__VmOp op, const Maekin__VmSpec *spec, const char *state,
             bool verbose)
{
    char *error = NULL;
    int rc = agent_libvirt_run (self, op, spec, &error);
    if (rc != 0)
        fprintf (stderr, "agent_libvirt_test: %s failed: %s\n", agent_libvirt_op_name (op), error);
    assert (rc == 0 && error == NULL);
    const char *now = agent_libvirt_state (self, spec->uuid);
    if (!now || strcmp (now, state) != 0)
        fprintf (stderr, "agent_libvirt_test: after %s '%s' is '%s', not '%s'\n",
                 agent_libvirt_op_name (op), spec->name, now ? now : "(error)", state);
    assert (now && strcmp (now, state) == 0);
    if (verbose)
        printf ("  %s '%s': %s\n", agent_libvirt_op_name (op), spec->name,
                *state ? state : "(not defined)");
}

//  Runs an operation that must fail with a one-line error holding a phrase.
static void
s_expect_error (agent_libvirt_t *self, Maekin__VmOp op, const Maekin__VmSpec *spec,
                const char *phrase, bool verbose)
{
    char *error = NULL;
    int rc = agent_libvirt_run (self, op, spec, &error);
    if (rc == 0 || !error || !strstr (error, phrase))
        fprintf (stderr, "agent_libvirt_test: %s: expected an error with '%s', got %s\n",
                 agent_libvirt_op_name (op), phrase, error ? error : "none");
    assert (rc == -1 && error && strstr (error, phrase) && !strchr (error, '\n'));
    if (verbose)
        printf ("  refused: %s\n", error);
    free (error);
}

//  Each operation on a domain in each state, and its repeat.
static void
s_test_ops (agent_libvirt_t *self, Maekin__VmSpec web, Maekin__VmSpec db, bool verbose)
{
    //  Nothing defined: only the operations that have nothing to do succeed.
    assert (agent_libvirt_state (self, web.uuid) && !*agent_libvirt_state (self, web.uuid));
    s_expect_error (self, MAEKIN__VM_OP__VM_OP_START, &web,
                    "vm 'web-1' is not defined on host 'node1'", verbose);
    s_expect_error (self, MAEKIN__VM_OP__VM_OP_SUSPEND, &web, "is not defined", verbose);
    s_expect_error (self, MAEKIN__VM_OP__VM_OP_RESUME, &web, "is not defined", verbose);
    s_expect_error (self, MAEKIN__VM_OP__VM_OP_REBOOT, &web, "is not defined", verbose);
    s_expect_ok (self, MAEKIN__VM_OP__VM_OP_DESTROY, &web, "", verbose);
    s_expect_ok (self, MAEKIN__VM_OP__VM_OP_DELETE, &web, "", verbose);
    s_expect_ok (self, MAEKIN__VM_OP__VM_OP_STOP, &web, "", verbose);

    //  Every operation, then its repeat.
    const struct {
        Maekin__VmOp op;
        const char *state;
    } steps[] = {
        {MAEKIN__VM_OP__VM_OP_DEFINE, "stopped"}, {MAEKIN__VM_OP__VM_OP_START, "running"},
        {MAEKIN__VM_OP__VM_OP_SUSPEND, "paused"}, {MAEKIN__VM_OP__VM_OP_RESUME, "running"},
        {MAEKIN__VM_OP__VM_OP_REBOOT, "running"}, {MAEKIN__VM_OP__VM_OP_STOP, "stopped"},
        {MAEKIN__VM_OP__VM_OP_CREATE, "running"}, {MAEKIN__VM_OP__VM_OP_DESTROY, "stopped"},
        {MAEKIN__VM_OP__VM_OP_DELETE, ""},        {MAEKIN__VM_OP__VM_OP_CREATE, "running"},
        {MAEKIN__VM_OP__VM_OP_SUSPEND, "paused"}, {MAEKIN__VM_OP__VM_OP_CREATE, "running"},
        {MAEKIN__VM_OP__VM_OP_SUSPEND, "paused"}, {MAEKIN__VM_OP__VM_OP_START, "running"},
        {MAEKIN__VM_OP__VM_OP_SUSPEND, "paused"}, {MAEKIN__VM_OP__VM_OP_STOP, "stopped"},
        {MAEKIN__VM_OP__VM_OP_DEFINE, "stopped"}, {MAEKIN__VM_OP__VM_OP_CREATE, "running"},
        {MAEKIN__VM_OP__VM_OP_SUSPEND, "paused"}, {MAEKIN__VM_OP__VM_OP_DELETE, ""},
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        //  REBOOT twice is two reboots, never a no-op; its state is what must not change.
        s_expect_ok (self, steps[i].op, &web, steps[i].state, verbose);
        s_expect_ok (self, steps[i].op, &web, steps[i].state, verbose);
    }

    //  Operations that need a running domain say what it is instead.
    s_expect_ok (self, MAEKIN__VM_OP__VM_OP_DEFINE, &db, "stopped", verbose);
    s_expect_error (self, MAEKIN__VM_OP__VM_OP_SUSPEND, &db,
                    "suspend of 'db-1' on host 'node1' failed: vm 'db-1' is stopped, not "
                    "running",
                    verbose);
    s_expect_error (self, MAEKIN__VM_OP__VM_OP_RESUME, &db, "is stopped, not running", verbose);
    s_expect_error (self, MAEKIN__VM_OP__VM_OP_REBOOT, &db, "is stopped, not running", verbose);
}

//  Specs, uuids and ops the class refuses, and libvirt's own refusals passed on.
static void
s_test_refusals (agent_libvirt_t *self, Maekin__VmSpec web, bool verbose)
{
    //  A spec agent_domxml refuses, a missing or malformed uuid, an op out of range.
    Maekin__VmSpec bad = web;
    bad.vcpus = 0;
    s_expect_error (self, MAEKIN__VM_OP__VM_OP_CREATE, &bad,
                    "agent_domxml: vm 'web-1' has no vcpus", verbose);
    s_expect_error (self, MAEKIN__VM_OP__VM_OP_DEFINE, &bad, "has no vcpus", verbose);
    assert (!*agent_libvirt_state (self, web.uuid));
    bad = web;
    bad.uuid = "";
    s_expect_error (self, MAEKIN__VM_OP__VM_OP_START, &bad,
                    "start of 'web-1' on host 'node1' failed: the vm has no uuid", verbose);
    bad.uuid = "not-a-uuid";
    s_expect_error (self, MAEKIN__VM_OP__VM_OP_STOP, &bad,
                    "stop of 'web-1' on host 'node1' failed: ", verbose);
    assert (agent_libvirt_state (self, "not-a-uuid") == NULL);
    s_expect_error (self, (Maekin__VmOp) 42, &web, "op 42 is not one an agent runs", verbose);
    s_expect_error (self, MAEKIN__VM_OP__VM_OP_NONE, &web, "op 0", verbose);
    assert (!agent_libvirt_op_valid (0) && !agent_libvirt_op_valid (10));
    assert (agent_libvirt_op_valid (MAEKIN__VM_OP__VM_OP_DEFINE));
    assert (strcmp (agent_libvirt_op_name (MAEKIN__VM_OP__VM_OP_DELETE), "delete") == 0);
    assert (strcmp (agent_libvirt_op_name ((Maekin__VmOp) 77), "unknown op") == 0);
    //  A name libvirt holds already, under another uuid: libvirt's refusal, passed on.
    bad = web;
    bad.name = "db-1";
    s_expect_error (self, MAEKIN__VM_OP__VM_OP_CREATE, &bad,
                    "create of 'db-1' on host 'node1' failed: ", verbose);
    assert (strcmp (agent_libvirt_state_name (VIR_DOMAIN_CRASHED), "stopped") == 0);
    assert (strcmp (agent_libvirt_state_name (VIR_DOMAIN_PMSUSPENDED), "paused") == 0);
    assert (strcmp (agent_libvirt_state_name (VIR_DOMAIN_BLOCKED), "running") == 0);
}

//  The listing, and a connection opened again.
static void
s_test_listing (agent_libvirt_t *self, Maekin__VmSpec web, Maekin__VmSpec db, const char *dir,
                bool verbose)
{
    agent_libvirt_domain_t *domains;
    size_t count;
    char *error = NULL;
    //  The listing has each domain once, with its state.
    s_expect_ok (self, MAEKIN__VM_OP__VM_OP_CREATE, &web, "running", verbose);
    assert (agent_libvirt_list (self, &domains, &count) == 0 && count == 2);
    for (size_t i = 0; i < count; i++) {
        bool is_web = strcmp (domains[i].name, "web-1") == 0;
        assert (is_web || strcmp (domains[i].name, "db-1") == 0);
        assert (strcmp (domains[i].uuid, is_web ? web.uuid : db.uuid) == 0);
        assert (strcmp (domains[i].state, is_web ? "running" : "stopped") == 0);
        if (verbose)
            printf ("  listed %s %s %s\n", domains[i].uuid, domains[i].name, domains[i].state);
    }
    agent_libvirt_list_free (&domains, count);
    s_expect_ok (self, MAEKIN__VM_OP__VM_OP_DELETE, &web, "", verbose);
    s_expect_ok (self, MAEKIN__VM_OP__VM_OP_DELETE, &db, "", verbose);

    //  A new connection to a node file is a new host: nothing defined there. One that
    //  cannot open leaves the old connection in place.
    s_expect_ok (self, MAEKIN__VM_OP__VM_OP_DEFINE, &db, "stopped", verbose);
    assert (agent_libvirt_reconnect (self, &error) == 0 && !error);
    assert (agent_libvirt_alive (self) && !*agent_libvirt_state (self, db.uuid));
    char *uri_copy = self->uri;
    self->uri = zsys_sprintf ("test://%s/missing.xml", dir);
    assert (agent_libvirt_reconnect (self, &error) == -1 && strstr (error, "missing.xml"));
    free (error);
    free (self->uri);
    self->uri = uri_copy;
    assert (agent_libvirt_alive (self) && !*agent_libvirt_state (self, db.uuid));
}

//  What a define+start costs through this class on the test driver.
static void
s_test_timing (agent_libvirt_t *self, Maekin__VmSpec web, bool verbose)
{
    int64_t start = zclock_usecs ();
    const int rounds = 200;
    char name[32], uuid[VIR_UUID_STRING_BUFLEN];
    Maekin__VmSpec spec = web;
    spec.name = name;
    spec.uuid = uuid;
    for (int i = 0; i < rounds; i++) {
        snprintf (name, sizeof name, "bench-%d", i);
        snprintf (uuid, sizeof uuid, "00000000-0000-4000-8000-%012d", i);
        assert (agent_libvirt_run (self, MAEKIN__VM_OP__VM_OP_CREATE, &spec, NULL) == 0);
    }
    int64_t created = zclock_usecs ();
    for (int i = 0; i < rounds; i++) {
        snprintf (uuid, sizeof uuid, "00000000-0000-4000-8000-%012d", i);
        assert (agent_libvirt_run (self, MAEKIN__VM_OP__VM_OP_DELETE, &spec, NULL) == 0);
    }
    int64_t deleted = zclock_usecs ();
    if (verbose)
        printf ("  create (define+start) %.1f us, delete (destroy+undefine) %.1f us per "
                "domain over %d\n",
                (double) (created - start) / rounds, (double) (deleted - created) / rounds, rounds);
}

void
agent_libvirt_test (bool verbose)
{
    char dir[] = "/tmp/agent_libvirt_test.XXXXXX";
    assert (mkdtemp (dir));
    char *uri = s_test_node (dir, "node1", 6, 12288);
    agent_domxml_opts_t opts = {"test", NULL, NULL};

    //  A connection that cannot open says where and why, and logs nothing itself.
    char *error = NULL;
    char *missing = zsys_sprintf ("test://%s/missing.xml", dir);
    assert (agent_libvirt_new ("node1", missing, &opts, &error) == NULL);
    assert (error && strstr (error, "cannot connect to libvirt at 'test://")
            && strstr (error, "missing.xml': "));
    if (verbose)
        printf ("  %s\n", error);
    free (error);
    free (missing);

    agent_libvirt_t *self = agent_libvirt_new ("node1", uri, &opts, &error);
    assert (self && !error);
    assert (strcmp (agent_libvirt_host (self), "node1") == 0);
    assert (strcmp (agent_libvirt_uri (self), uri) == 0);
    assert (agent_libvirt_conn (self));
    assert (agent_libvirt_alive (self));

    uint32_t vcpus = 0;
    uint64_t memory_mb = 0;
    assert (agent_libvirt_node (self, &vcpus, &memory_mb) == 0);
    assert (vcpus == 6 && memory_mb == 12288);

    agent_libvirt_domain_t *domains;
    size_t count;
    assert (agent_libvirt_list (self, &domains, &count) == 0 && count == 0);
    agent_libvirt_list_free (&domains, count);
    assert (domains == NULL);

    Maekin__VmSpec web = MAEKIN__VM_SPEC__INIT;
    web.name = "web-1";
    web.uuid = "3b0e8d52-5f3a-4c1e-9d7a-2f6b1c0e4a91";
    web.vcpus = 2;
    web.memory_mb = 1024;
    Maekin__VmSpec db = web;
    db.name = "db-1";
    db.uuid = "7c9d2e14-8a6b-4f3c-b1d0-5e4f3a2b1c0d";

    s_test_ops (self, web, db, verbose);
    s_test_refusals (self, web, verbose);
    s_test_listing (self, web, db, dir, verbose);
    s_test_timing (self, web, verbose);

    agent_libvirt_destroy (&self);
    assert (self == NULL);
    agent_libvirt_destroy (&self);
    char *path = zsys_sprintf ("%s/node1.xml", dir);
    assert (remove (path) == 0);
    assert (rmdir (dir) == 0);
    free (path);
    free (uri);
}

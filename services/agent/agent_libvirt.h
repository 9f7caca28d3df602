/*  agent_libvirt: one host's libvirt connection and the operations on it. Every
    operation is idempotent (doing it twice leaves the domain as doing it once does) and
    finds its domain by UUID. States are the strings of Maekin's protocol: "running",
    "paused", "stopped", and "" for a domain libvirt does not have. */
#ifndef AGENT_LIBVIRT_H_INCLUDED
#define AGENT_LIBVIRT_H_INCLUDED

#include "maekin.h"

#include <libvirt/libvirt.h>

#include "agent_domxml.h"

typedef struct _agent_libvirt_t agent_libvirt_t;

//  One domain as a listing sees it.
typedef struct {
    char uuid[VIR_UUID_STRING_BUFLEN]; //  canonical, lower case
    char *name;                        //  libvirt's name, owned
    const char *state;                 //  static: running, paused, stopped
} agent_libvirt_domain_t;

//  Open the connection for a host. NULL with *error (malloc'd, one line, e.g.
//  "cannot connect to libvirt at 'qemu:///system': <libvirt's message>"), not logged:
//  the caller knows whether it is fatal. Opts shape the domains CREATE and DEFINE write;
//  it is copied.
agent_libvirt_t *agent_libvirt_new (const char *host, const char *uri,
                                    const agent_domxml_opts_t *opts, char **error);

//  Close the connection. Whoever watches its events must stop first.
void agent_libvirt_destroy (agent_libvirt_t **self_p);

//  True while the connection is there (one to a libvirtd dies when the daemon restarts).
bool agent_libvirt_alive (agent_libvirt_t *self);

//  Open the connection again, closing the old one if the new one opens. 0, or -1 with
//  *error as agent_libvirt_new's (the old connection stays). Unwatch the old
//  connection's events first, and watch the new one's after.
int agent_libvirt_reconnect (agent_libvirt_t *self, char **error);

//  The host's name and URI, and the connection itself (to watch its events).
const char *agent_libvirt_host (agent_libvirt_t *self);
const char *agent_libvirt_uri (agent_libvirt_t *self);
virConnectPtr agent_libvirt_conn (agent_libvirt_t *self);

//  Run one operation on the domain of a spec (CREATE and DEFINE use all of it, the
//  others its uuid and name). 0 on success; -1 with *error (malloc'd, one line naming
//  the domain, the host and the cause; logged once here, so the caller passes it on).
//  STOP only begins a graceful shutdown: the caller polls agent_libvirt_state and, after
//  its timeout, runs DESTROY. error may be NULL.
int agent_libvirt_run (agent_libvirt_t *self, Maekin__VmOp op, const Maekin__VmSpec *spec,
                       char **error);

//  The state of the domain with this UUID: a static string, "" if libvirt does not have
//  it, or NULL if libvirt could not be asked (logged).
const char *agent_libvirt_state (agent_libvirt_t *self, const char *uuid);

//  The host's CPUs and memory in MiB. 0, or -1 (logged).
int agent_libvirt_node (agent_libvirt_t *self, uint32_t *vcpus, uint64_t *memory_mb);

//  Every domain libvirt has, defined or running. 0 with *domains (free with
//  agent_libvirt_list_free) and *count, or -1 (logged).
int agent_libvirt_list (agent_libvirt_t *self, agent_libvirt_domain_t **domains, size_t *count);
void agent_libvirt_list_free (agent_libvirt_domain_t **domains, size_t count);

//  The name of an operation ("create", ...), "op N" for one out of range; static.
const char *agent_libvirt_op_name (Maekin__VmOp op);

//  True if op is one an agent runs (CREATE ... DEFINE).
bool agent_libvirt_op_valid (int op);

//  The protocol's state for a libvirt state (VIR_DOMAIN_*); static.
const char *agent_libvirt_state_name (int state);

//  Self-test: every operation on a test-driver node and its repeat, the error cases.
void agent_libvirt_test (bool verbose);

#endif

/*  agent_domxml: the libvirt domain XML for a VM spec, written with libxml2. */
#ifndef AGENT_DOMXML_H_INCLUDED
#define AGENT_DOMXML_H_INCLUDED

#include "maekin.h"
#include "mk_limits.h"

//  The limits a spec must keep to become a domain: the cloud's (mk_limits.h).
#define AGENT_DOMXML_VCPUS_MAX     MK_VCPUS_MAX
#define AGENT_DOMXML_MEMORY_MIN_MB MK_MEMORY_MIN_MB
#define AGENT_DOMXML_MEMORY_MAX_MB ((unsigned long long) MK_MEMORY_MAX_MB) //  4 TiB

//  Settings of the agent that shape every domain it writes.
typedef struct {
    const char *domain_type; //  "kvm" (production default, also for NULL), "qemu", "test"
    const char *console_dir; //  if set, the serial console goes to console_dir/<name>.log
                             //  (file); else a pty
    const char *emulator;    //  optional <emulator> path; NULL to let libvirt choose
} agent_domxml_opts_t;

//  The network filter on the bridge port of a VM with an IPv6 address (libvirt's
//  clean-traffic holds IPv4 alone: an IPv6 address in its IP parameter fails the domain's
//  start), and its definition, which the agent gives libvirt before such a domain.
#define AGENT_DOMXML_FILTER_IPV6 "maekin-clean-traffic-ipv6"
extern const char agent_domxml_filter_ipv6_xml[];

//  The domain XML for a VM spec; a new string the caller frees. NULL with *error
//  (malloc'd, one line, e.g. "agent_domxml: vm 'x' has no vcpus") when the spec or the
//  options cannot make a domain; the error is logged here, once, so the caller only
//  passes it on. error may be NULL.
char *agent_domxml_build (const Maekin__VmSpec *spec, const agent_domxml_opts_t *opts,
                          char **error);

//  Self-test: golden files in tests/golden/domxml/, libvirt's test driver, bad specs.
void agent_domxml_test (bool verbose);

#endif

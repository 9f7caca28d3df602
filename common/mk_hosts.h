/*  mk_hosts: the "name=value,name=value" setting that names the hosts a per-node program
    serves (the agent's hosts and their libvirt URIs, the monitor's hosts and their
    sources): one parser, one set of rules and messages. */
#ifndef MK_HOSTS_H_INCLUDED
#define MK_HOSTS_H_INCLUDED

#include "maekin.h"

//  One host: its name, served as node/<name> (a valid mk_name, at most 58 bytes), and
//  its value.
typedef struct {
    const char *name;
    const char *value;
} mk_host_pair_t;

//  Parse text, the value of `setting` ("agent/hosts"), as name=value pairs, at most
//  `max` of them; `value_name` says what a value is in messages ("uri", "source").
//  Blanks around pairs and their parts are layout; one trailing comma is allowed.
//  Returns one block (the pairs and their strings; release it with free) and *count, or
//  NULL with *error (a new string, one line saying which pair is wrong and why).
mk_host_pair_t *mk_hosts_parse (const char *text, const char *setting, const char *value_name,
                                size_t max, size_t *count, char **error);

//  The setting's default: this machine's name, in lower case ("localhost" if it has none),
//  "=" and value, into text (MK_HOSTS_DEFAULT_MAX bytes hold any).
#define MK_HOSTS_DEFAULT_MAX 320
void mk_hosts_this_machine (char *text, size_t size, const char *value);

void mk_hosts_test (bool verbose);

#endif

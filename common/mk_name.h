/*  mk_name: what a name of a VM, template or host may be: 1..63 characters of lower-case
    letters, digits, '-', '_' and '.', starting with a letter or digit. Safe in a file
    name, a libvirt domain name, a DNS label and a URL path. */
#ifndef MK_NAME_H_INCLUDED
#define MK_NAME_H_INCLUDED

#include "maekin.h"

#define MK_NAME_MAX 63

//  NULL if the name is valid, else a static reason ("must start with a letter or digit").
const char *mk_name_check (const char *name);

void mk_name_test (bool verbose);

#endif

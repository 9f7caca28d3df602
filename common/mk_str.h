/*  mk_str: the string helpers every program needs, said once. */
#ifndef MK_STR_H_INCLUDED
#define MK_STR_H_INCLUDED

#include <stdlib.h>
#include <string.h>

//  A copy of text ("" for NULL) that the caller frees. Out of memory aborts, as
//  everywhere in Maekin.
static inline char *
mk_strdup (const char *text)
{
    char *copy = strdup (text ? text : "");
    if (!copy)
        abort ();
    return copy;
}

#endif

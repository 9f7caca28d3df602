/*  mk_utf8: strict UTF-8, for text that came from outside and goes into a terminal or
    a document. */
#ifndef MK_UTF8_H_INCLUDED
#define MK_UTF8_H_INCLUDED

#include "maekin.h"

//  The code point that starts at s and its length in bytes in *size; -1 (and *size 1)
//  where the bytes are not UTF-8: overlong forms, surrogates, past U+10FFFF, a NUL
//  inside a sequence.
int32_t mk_utf8_decode (const unsigned char *s, int *size);

//  Text fit for a JSON document, or with xml for an XML 1.0 one (a new string): bytes
//  that are not UTF-8 and, for XML, characters XML cannot hold become U+FFFD.
char *mk_utf8_clean (const char *text, bool xml);

void mk_utf8_test (bool verbose);

#endif

/*  mk_testdir: a private directory for a self-test's files, under $TMPDIR (or /tmp),
    removed with everything in it when the test is done. */
#ifndef MK_TESTDIR_H_INCLUDED
#define MK_TESTDIR_H_INCLUDED

#include "maekin.h"

//  A new directory "$TMPDIR/NAME.XXXXXX" (mkdtemp's template); its path, a new string.
//  Aborts if it cannot be made: a test cannot go on without it.
char *mk_testdir_new (const char *name);

//  Remove the directory and everything in it, free the path and null the pointer.
void mk_testdir_remove (char **dir_p);

void mk_testdir_test (bool verbose);

#endif

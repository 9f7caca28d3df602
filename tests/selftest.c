/*  mk_selftest: runs the self-test of every class, or of those named on the command line.
    usage: mk_selftest [-v] [--list] [NAME ...] */
#include "maekin.h"

#include <stdio.h>
#include <string.h>

typedef struct {
    const char *name;
    void (*test) (bool verbose);
} selftest_t;

#define MK_SELFTEST(name) void name##_test (bool verbose);
#include "selftests.h"
#undef MK_SELFTEST

static const selftest_t s_tests[] = {
#define MK_SELFTEST(name) {#name, name##_test},
#include "selftests.h"
#undef MK_SELFTEST
};

int
main (int argc, char **argv)
{
    bool verbose = false;
    int first = 1;
    if (argc > 1 && strcmp (argv[1], "-v") == 0) {
        verbose = true;
        first = 2;
    }
    if (argc > first && strcmp (argv[first], "--list") == 0) {
        for (size_t i = 0; i < sizeof s_tests / sizeof s_tests[0]; i++)
            printf ("%s\n", s_tests[i].name);
        return 0;
    }
    mk_log_init ("selftest", verbose ? MK_LOG_DEBUG : MK_LOG_WARN);
    int ran = 0;
    for (size_t i = 0; i < sizeof s_tests / sizeof s_tests[0]; i++) {
        bool wanted = argc <= first;
        for (int a = first; a < argc; a++)
            wanted |= strcmp (argv[a], s_tests[i].name) == 0;
        if (!wanted)
            continue;
        int64_t start = zclock_usecs ();
        s_tests[i].test (verbose);
        printf ("ok %s (%.1f ms)\n", s_tests[i].name, (zclock_usecs () - start) / 1000.0);
        ran++;
    }
    if (ran == 0) {
        fprintf (stderr, "mk_selftest: no test by that name; --list shows them\n");
        return 2;
    }
    return 0;
}

/*  mk_testdir: a private directory for a self-test's files. */
#include "mk_testdir.h"

char *
mk_testdir_new (const char *name)
{
    const char *tmp = getenv ("TMPDIR");
    char *dir = zsys_sprintf ("%s/%s.XXXXXX", tmp && *tmp ? tmp : "/tmp", name);
    assert (dir);
    if (!mkdtemp (dir)) {
        fprintf (stderr, "mk_testdir: cannot make '%s': %s\n", dir, strerror (errno));
        abort ();
    }
    return dir;
}

void
mk_testdir_remove (char **dir_p)
{
    assert (dir_p);
    if (!*dir_p)
        return;
    zdir_t *tree = zdir_new (*dir_p, NULL);
    if (tree) {
        zdir_remove (tree, true);
        zdir_destroy (&tree);
    }
    zstr_free (dir_p);
}

void
mk_testdir_test (bool verbose)
{
    char *dir = mk_testdir_new ("mk_testdir_test");
    assert (zsys_file_exists (dir));
    char *inner = zsys_sprintf ("%s/sub", dir);
    assert (zsys_dir_create ("%s", inner) == 0);
    char *file = zsys_sprintf ("%s/sub/file", dir);
    FILE *handle = fopen (file, "w");
    assert (handle && fputs ("x", handle) >= 0 && fclose (handle) == 0);
    char *copy = strdup (dir);
    mk_testdir_remove (&dir);
    assert (dir == NULL && !zsys_file_exists (copy));
    mk_testdir_remove (&dir); //  twice is harmless
    if (verbose)
        printf (" * made and removed %s\n", copy);
    free (copy);
    free (file);
    free (inner);
}

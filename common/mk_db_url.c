/*  mk_db_url: the parts of a database URL that more than the driver reads. */
#include "mk_db.h"

#include <czmq.h>

const char *
mk_db_url_userinfo_end (const char *url)
{
    const char *options = strchr (url, '?');
    size_t length = options ? (size_t) (options - url) : strlen (url);
    const char *at = NULL;
    for (const char *c = url; c < url + length; c++)
        if (*c == '@')
            at = c;
    return at;
}

char *
mk_db_url_safe (const char *url)
{
    const char *at = mk_db_url_userinfo_end (url);
    const char *scheme = strstr (url, "://");
    if (at && scheme && scheme < at)
        return zsys_sprintf ("%.*s://...@%s", (int) (scheme - url), url, at + 1);
    return strdup (url);
}

void
mk_db_url_test (bool verbose)
{
    const char *urls[][2] = {
        {"mysql://u:p@ss@db1/m", "mysql://...@db1/m"},
        {"mysql://u:p@s/s@db1:3306/m?socket=/x@y", "mysql://...@db1:3306/m?socket=/x@y"},
        {"mysql://u@/m?socket=/run/a@b.sock", "mysql://...@/m?socket=/run/a@b.sock"},
        {"sqlite:/var/lib/maekin@1/maekin.db", "sqlite:/var/lib/maekin@1/maekin.db"},
    };
    for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
        char *safe = mk_db_url_safe (urls[i][0]);
        if (!streq (safe, urls[i][1]))
            fprintf (stderr, "mk_db_url_test: '%s' shown as '%s'\n", urls[i][0], safe);
        assert (streq (safe, urls[i][1]) && !strstr (safe, "ss"));
        free (safe);
    }

    if (verbose)
        printf (" * passwords with '@', '/' and options are hidden whole\n");
}

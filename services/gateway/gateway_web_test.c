/*  gateway_web's self-test: the files of a web root as they are served. */
#include "gateway_web.h"

#include "mk_testdir.h"

#include <sys/stat.h>

static void
s_write (const char *dir, const char *name, const char *text)
{
    char *path = zsys_sprintf ("%s/%s", dir, name);
    FILE *file = fopen (path, "w");
    assert (file);
    fputs (text, file);
    fclose (file);
    free (path);
}

void
gateway_web_test (bool verbose)
{
    char *root = mk_testdir_new ("maekin-web-test");
    char *assets = zsys_sprintf ("%s/assets", root);
    char *error = NULL;

    //  No index.html: refused with what to do.
    assert (gateway_web_new (root, &error) == NULL);
    assert (strstr (error, "index.html") && strstr (error, "make web"));
    free (error);
    //  Not a directory.
    assert (gateway_web_new ("/nowhere/at/all", &error) == NULL);
    assert (strstr (error, "/nowhere/at/all"));
    free (error);

    s_write (root, "index.html", "<!doctype html><title>Maekin</title>");
    s_write (root, ".hidden", "secret");
    assert (mkdir (assets, 0700) == 0);
    s_write (assets, "app-2F4A.js", "console.log(1)");
    s_write (assets, "app-2F4A.js.gz", "GZ");
    s_write (assets, "app-9B1C.css", "body{}");
    s_write (assets, "lonely.txt.gz", "only compressed");
    gateway_web_t *web = gateway_web_new (root, &error);
    assert (web && !error);
    size_t bytes;
    //  index.html, the script (with its .gz), the style, lonely.txt.gz on its own.
    assert (gateway_web_count (web, &bytes) == 4);
    //  The compressed copy of the script not counted: it is the script's other form.
    assert (bytes == strlen ("<!doctype html><title>Maekin</title>") + 14 + 6 + 15);
    const gateway_web_file_t *index = gateway_web_find (web, "/");
    assert (index && index == gateway_web_find (web, "/index.html"));
    assert (streq (index->type, "text/html; charset=utf-8"));
    assert (streq (index->cache_control, "no-cache"));
    assert (!index->gz && index->etag[0] == '"' && strlen (index->etag) == 34);
    const gateway_web_file_t *script = gateway_web_find (web, "/assets/app-2F4A.js");
    assert (script && script->gz && script->gz_size == 2 && memcmp (script->gz, "GZ", 2) == 0);
    assert (streq (script->type, "text/javascript; charset=utf-8"));
    assert (strstr (script->cache_control, "immutable"));
    //  Each form its own tag, the compressed copy's marked so.
    assert (strncmp (script->etag, script->gz_etag, 33) != 0
            && streq (script->gz_etag + 33, "-gz\""));
    assert (
        streq (gateway_web_find (web, "/assets/app-9B1C.css")->type, "text/css; charset=utf-8"));
    assert (gateway_web_find (web, "/assets/app-2F4A.js.gz") == NULL);
    assert (gateway_web_find (web, "/assets/lonely.txt.gz"));
    assert (gateway_web_find (web, "/.hidden") == NULL);
    assert (gateway_web_find (web, "/assets/../index.html") == NULL);
    assert (gateway_web_find (web, "/assets") == NULL);
    assert (gateway_web_find (web, "/api/v1/vms") == NULL);
    gateway_web_destroy (&web);
    assert (!web);

    assert (gateway_web_accepts_gzip ("gzip, deflate, br"));
    assert (gateway_web_accepts_gzip ("br;q=1.0, gzip;q=0.8"));
    assert (!gateway_web_accepts_gzip ("gzip;q=0"));
    assert (!gateway_web_accepts_gzip ("deflate"));
    assert (!gateway_web_accepts_gzip (NULL));
    assert (gateway_web_accepts_gzip ("GZIP"));
    assert (gateway_web_accepts_gzip ("gzip;level=1, br;q=0"));
    assert (!gateway_web_accepts_gzip ("br, gzip; q=0, deflate"));
    assert (gateway_web_accepts_gzip ("deflate;q=0, gzip"));
    assert (!gateway_web_accepts_gzip ("x-gzip"));

    free (assets);
    mk_testdir_remove (&root);
    if (verbose)
        printf ("gateway_web: ok\n");
}

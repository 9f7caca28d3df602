/*  gateway_web: the dashboard's files, served by the gateway. The build (web/build.mjs)
    writes a directory of index.html and assets/NAME-HASH.js and .css, each beside its
    gzip-compressed copy (NAME.gz). The gateway reads them all into memory when it starts
    (a few hundred KiB; nothing is read from the disk afterwards, so no request can name a
    file outside them) and answers GET and HEAD: the compressed copy to a client that
    accepts gzip; the hashed assets cached for a year (their names change with their
    contents), index.html revalidated every time (no-cache, ETag); the page's
    Content-Security-Policy allows only the gateway's own scripts, styles and stream. */
#ifndef GATEWAY_WEB_H_INCLUDED
#define GATEWAY_WEB_H_INCLUDED

#include "maekin.h"

#include <civetweb.h>

typedef struct _gateway_web_t gateway_web_t;

//  One file as it is served.
typedef struct {
    const char *path;          //  its URI path: "/index.html", "/assets/app-2F4A.js"
    const char *type;          //  its Content-Type
    const char *cache_control; //  its Cache-Control
    const char *body;          //  the file
    size_t size;
    const char *gz; //  its gzip-compressed copy, or NULL
    size_t gz_size;
    char etag[40];    //  of the file
    char gz_etag[40]; //  of the compressed copy (another representation, another tag)
} gateway_web_file_t;

//  The files under `root` (at most 256, 32 MiB): NULL and *error (a new string) if root
//  is not a readable directory or holds no index.html.
gateway_web_t *gateway_web_new (const char *root, char **error);
void gateway_web_destroy (gateway_web_t **self_p);

//  How many files it serves, and their bytes (the compressed copies not counted).
size_t gateway_web_count (gateway_web_t *self, size_t *bytes);

//  The file a request's path names ("/" is index.html), or NULL.
const gateway_web_file_t *gateway_web_find (gateway_web_t *self, const char *path);

//  Whether an Accept-Encoding takes gzip (and does not refuse it with q=0).
bool gateway_web_accepts_gzip (const char *accept);

//  civetweb's request handler for the dashboard's paths (cbdata: the gateway_web_t);
//  any other path is 404 in the API's format.
int gateway_web_handle (struct mg_connection *conn, void *cbdata);

void gateway_web_test (bool verbose);

#endif

/*  gateway_web: the dashboard's files, from memory. See gateway_web.h. */
#include "gateway_web.h"

#include "gateway_http.h"

#include <dirent.h>
#include <sys/stat.h>

#define FILES_MAX 256
#define BYTES_MAX (32u << 20)
#define DEPTH_MAX 3

struct _gateway_web_t {
    gateway_web_file_t files[FILES_MAX];
    size_t count;
    size_t bytes;
};

//  What the page may load: its own scripts and styles only (no inline script, no other
//  site), the API and the stream of the gateway itself; it may not be framed.
#define CSP                                                                                        \
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "              \
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

static const struct {
    const char *extension;
    const char *type;
} s_types[] = {{".html", "text/html; charset=utf-8"},
               {".js", "text/javascript; charset=utf-8"},
               {".css", "text/css; charset=utf-8"},
               {".json", "application/json; charset=utf-8"},
               {".svg", "image/svg+xml"},
               {".png", "image/png"},
               {".ico", "image/x-icon"},
               {".woff2", "font/woff2"},
               {".map", "application/json; charset=utf-8"},
               {".txt", "text/plain; charset=utf-8"}};

static const char *
s_type (const char *path)
{
    const char *dot = strrchr (path, '.');
    for (size_t i = 0; dot && i < sizeof s_types / sizeof s_types[0]; i++)
        if (streq (dot, s_types[i].extension))
            return s_types[i].type;
    return "application/octet-stream";
}

//  A whole file into a new buffer: NULL and *error if it cannot be read.
static char *
s_slurp (const char *path, size_t *size, char **error)
{
    FILE *file = fopen (path, "rb");
    struct stat info;
    char *data = NULL;
    if (file && fstat (fileno (file), &info) == 0 && info.st_size >= 0) {
        data = (char *) malloc ((size_t) info.st_size + 1);
        if (!data)
            abort ();
        *size = fread (data, 1, (size_t) info.st_size, file);
        data[*size] = 0;
        if (*size != (size_t) info.st_size) {
            free (data);
            data = NULL;
        }
    }
    if (!data)
        *error = zsys_sprintf ("cannot read '%s': %s", path, strerror (errno));
    if (file)
        fclose (file);
    return data;
}

static gateway_web_file_t *
s_lookup (gateway_web_t *self, const char *path)
{
    for (size_t i = 0; i < self->count; i++)
        if (streq (self->files[i].path, path))
            return &self->files[i];
    return NULL;
}

//  Reads the directory `dir` (its URI path `prefix`), depth levels deep: NULL or why not.
static char *
s_read_dir (gateway_web_t *self, const char *dir, const char *prefix, int depth)
{
    DIR *handle = opendir (dir);
    if (!handle)
        return zsys_sprintf ("cannot read the directory '%s': %s", dir, strerror (errno));
    char *error = NULL;
    struct dirent *entry;
    while (!error && (entry = readdir (handle))) {
        if (entry->d_name[0] == '.')
            continue; //  ., .. and hidden files are not served
        char *path = zsys_sprintf ("%s/%s", dir, entry->d_name);
        char *uri = zsys_sprintf ("%s/%s", prefix, entry->d_name);
        struct stat info;
        if (stat (path, &info) != 0)
            error = zsys_sprintf ("cannot read '%s': %s", path, strerror (errno));
        else if (S_ISDIR (info.st_mode) && depth < DEPTH_MAX)
            error = s_read_dir (self, path, uri, depth + 1);
        else if (S_ISREG (info.st_mode)) {
            if (self->count == FILES_MAX)
                error = zsys_sprintf ("more than %d files under the web root", FILES_MAX);
            else if (self->bytes + (size_t) info.st_size > BYTES_MAX)
                error = zsys_sprintf ("more than %u MiB under the web root", BYTES_MAX >> 20);
            else {
                gateway_web_file_t *file = &self->files[self->count];
                char *body = s_slurp (path, &file->size, &error);
                if (body) {
                    file->path = uri;
                    uri = NULL;
                    file->body = body;
                    self->bytes += file->size;
                    self->count++;
                }
            }
        }
        free (path);
        free (uri);
    }
    closedir (handle);
    return error;
}

static bool
s_compressed (const char *path, size_t length)
{
    return length > 3 && streq (path + length - 3, ".gz");
}

//  Pairs each NAME.gz with NAME (then served as its compressed copy, not on its own).
static void
s_pair_compressed (gateway_web_t *self)
{
    bool paired[FILES_MAX] = {false};
    for (size_t i = 0; i < self->count; i++) {
        const gateway_web_file_t *file = &self->files[i];
        size_t length = strlen (file->path);
        if (!s_compressed (file->path, length))
            continue;
        for (size_t j = 0; j < self->count && !paired[i]; j++) {
            gateway_web_file_t *plain = &self->files[j];
            size_t plain_length = strlen (plain->path);
            if (plain_length == length - 3 && !s_compressed (plain->path, plain_length)
                && memcmp (plain->path, file->path, plain_length) == 0) {
                plain->gz = file->body;
                plain->gz_size = file->size;
                paired[i] = true;
            }
        }
    }
    size_t kept = 0;
    for (size_t i = 0; i < self->count; i++)
        if (paired[i]) {
            free ((char *) self->files[i].path);
            self->bytes -= self->files[i].size; //  counted with the file it compresses
        } else
            self->files[kept++] = self->files[i];
    self->count = kept;
    for (size_t i = 0; i < self->count; i++) {
        gateway_web_file_t *file = &self->files[i];
        file->type = s_type (file->path);
        //  Built assets carry their contents' hash in their names: cached for good.
        file->cache_control = strncmp (file->path, "/assets/", 8) == 0
                                  ? "public, max-age=31536000, immutable"
                                  : "no-cache";
        gateway_http_etag (file->body, file->size, file->etag);
        if (file->gz) {
            //  The compressed copy's own tag, -gz inside its quotes: one per representation.
            gateway_http_etag (file->gz, file->gz_size, file->gz_etag);
            memcpy (file->gz_etag + 33, "-gz\"", 5);
        }
    }
}

gateway_web_t *
gateway_web_new (const char *root, char **error)
{
    gateway_web_t *self = (gateway_web_t *) zmalloc (sizeof (gateway_web_t));
    *error = s_read_dir (self, root, "", 0);
    if (!*error) {
        //  A .gz is paired only after every file is read: readdir's order is the disk's.
        s_pair_compressed (self);
        if (!s_lookup (self, "/index.html"))
            *error = zsys_sprintf ("the web root '%s' holds no index.html (built by 'make "
                                   "web')",
                                   root);
    }
    if (*error)
        gateway_web_destroy (&self);
    return self;
}

void
gateway_web_destroy (gateway_web_t **self_p)
{
    gateway_web_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->count; i++) {
        free ((char *) self->files[i].path);
        free ((char *) self->files[i].body);
        free ((char *) self->files[i].gz);
    }
    free (self);
    *self_p = NULL;
}

size_t
gateway_web_count (gateway_web_t *self, size_t *bytes)
{
    if (bytes)
        *bytes = self->bytes;
    return self->count;
}

const gateway_web_file_t *
gateway_web_find (gateway_web_t *self, const char *path)
{
    return s_lookup (self, streq (path, "/") ? "/index.html" : path);
}

//  Whether Accept-Encoding takes gzip (and does not refuse it with q=0).
bool
gateway_web_accepts_gzip (const char *accept)
{
    //  A list of codings (RFC 9110 12.5.3), each with parameters after ';': gzip's own
    //  q=0 refuses it, another coding's does not.
    for (const char *at = accept; at && *at;) {
        at += strspn (at, " \t,");
        size_t length = strcspn (at, ",");
        size_t name = strcspn (at, " \t;,");
        if (name == 4 && strncasecmp (at, "gzip", 4) == 0) {
            const char *q = at + name;
            const char *end = at + length;
            while ((q = strchr (q, ';')) && q < end) {
                q++;
                q += strspn (q, " \t");
                if ((q[0] == 'q' || q[0] == 'Q') && q[1] == '=')
                    return strtod (q + 2, NULL) > 0;
            }
            return true;
        }
        at += length;
    }
    return false;
}

int
gateway_web_handle (struct mg_connection *conn, void *cbdata)
{
    gateway_web_t *self = (gateway_web_t *) cbdata;
    const struct mg_request_info *info = mg_get_request_info (conn);
    const gateway_web_file_t *file = gateway_web_find (self, info->local_uri);
    if (!file)
        return gateway_http_other (conn, cbdata);
    if (!streq (info->request_method, "GET") && !streq (info->request_method, "HEAD")) {
        gateway_header_t allow = {"Allow", "GET, HEAD"};
        gateway_http_send (conn, 405, "text/plain; charset=utf-8", "GET or HEAD\n", 12, &allow, 1);
        return 405;
    }
    bool gz = file->gz && gateway_web_accepts_gzip (mg_get_header (conn, "Accept-Encoding"));
    const char *etag = gz ? file->gz_etag : file->etag;
    bool html = streq (file->type, s_types[0].type);
    gateway_header_t headers[8] = {
        {"Cache-Control", file->cache_control},          {"ETag", etag},
        {"Vary", file->gz ? "Accept-Encoding" : NULL},   {"Content-Encoding", gz ? "gzip" : NULL},
        {"Content-Security-Policy", html ? CSP : NULL},  {"X-Frame-Options", html ? "DENY" : NULL},
        {"Referrer-Policy", html ? "no-referrer" : NULL}};
    if (gateway_http_not_modified (conn, etag)) {
        gateway_http_send (conn, 304, NULL, NULL, 0, headers, 7);
        return 304;
    }
    gateway_http_send (conn, 200, file->type, gz ? file->gz : file->body,
                       gz ? file->gz_size : file->size, headers, 7);
    return 200;
}

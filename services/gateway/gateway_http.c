/*  gateway_http: an HTTP request in, a bus request out, the answer back. See
    gateway_http.h; the API itself is the table in gateway_routes.c. */
#include "gateway_http.h"

#include "gateway_metrics.h"
#include "gateway_openapi.h"
#include "gateway_routes.h"
#include "mk_codec.h"
#include "mk_msg.h"
#include "mk_str.h"
#include "mk_uuid.h"

#include <stdarg.h>
#include <stdatomic.h>

#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include <sodium.h>

#define COOKIE    "maekin_session"
#define TOKEN_MAX 128 //  longer than any credential the controller gives (47 characters)

struct _gateway_http_t {
    gateway_http_opts_t opts;
    char *openapi;                    //  the API's description, made once
    char openapi_etag[36];            //  ... and its ETag
    atomic_int connections;           //  open now
    atomic_uint_fast64_t answered[3]; //  2xx (and 3xx), 4xx, 5xx
};

//  Past this many connections open, a thread gives back the stack it used (s_trim_stack).
#define TRIM_CONNECTIONS 64

gateway_http_t *
gateway_http_new (const gateway_http_opts_t *opts)
{
    gateway_http_t *self = (gateway_http_t *) zmalloc (sizeof (gateway_http_t));
    self->opts = *opts;
    self->openapi = gateway_openapi_document ();
    gateway_http_etag (self->openapi, strlen (self->openapi), self->openapi_etag);
    atomic_init (&self->connections, 0);
    for (int i = 0; i < 3; i++)
        atomic_init (&self->answered[i], 0);
    return self;
}

void
gateway_http_destroy (gateway_http_t **self_p)
{
    if (*self_p)
        free ((*self_p)->openapi);
    free (*self_p);
    *self_p = NULL;
}

static gateway_http_t *
s_self (const struct mg_connection *conn)
{
    return (gateway_http_t *) mg_get_user_data (mg_get_context (conn));
}

//  Whether this thread's connection was counted: civetweb closes a connection whose TLS
//  handshake failed without having opened it. One connection a thread at a time.
static __thread bool s_counted;

int
gateway_http_connection_open (const struct mg_connection *conn, void **conn_data)
{
    atomic_fetch_add (&s_self (conn)->connections, 1);
    s_counted = true;
    return 0;
}

void
gateway_http_connection_close (const struct mg_connection *conn)
{
    if (s_counted)
        atomic_fetch_sub (&s_self (conn)->connections, 1);
    s_counted = false;
}

void
gateway_http_stats (gateway_http_t *self, uint64_t counts[3], int *connections)
{
    for (int i = 0; i < 3; i++)
        counts[i] = atomic_load (&self->answered[i]);
    *connections = atomic_load (&self->connections);
}

//  ------------------------------------------------------------------ formats

//  The format the client accepts: JSON unless it prefers XML; -1 if it takes neither.
//  "Accept: application/xml;q=0.5, application/json" is JSON: the highest q wins, the
//  first listed among equals.
static int
s_accepted (const struct mg_connection *conn)
{
    const char *accept = mg_get_header (conn, "Accept");
    if (!accept || !*accept)
        return MK_CODEC_JSON;
    int best = -1;
    double best_q = 0;
    char copy[512];
    snprintf (copy, sizeof copy, "%s", accept);
    for (char *save = NULL, *item = strtok_r (copy, ",", &save); item;
         item = strtok_r (NULL, ",", &save)) {
        char *params = strchr (item, ';');
        double q = 1;
        if (params) {
            *params++ = 0;
            char *qs = strstr (params, "q=");
            if (qs)
                q = strtod (qs + 2, NULL);
        }
        while (*item == ' ' || *item == '\t')
            item++;
        item[strcspn (item, " \t")] = 0;
        int format = -1;
        if (!strcasecmp (item, "application/json") || !strcasecmp (item, "application/*")
            || !strcasecmp (item, "*/*"))
            format = MK_CODEC_JSON;
        else if (!strcasecmp (item, "application/xml") || !strcasecmp (item, "text/xml"))
            format = MK_CODEC_XML;
        if (format >= 0 && q > 0 && q > best_q) {
            best = format;
            best_q = q;
        }
    }
    return best;
}

static const char *
s_content_type (mk_codec_format_t format)
{
    return format == MK_CODEC_XML ? "application/xml; charset=utf-8"
                                  : "application/json; charset=utf-8";
}

//  ------------------------------------------------------------------ answers

typedef gateway_header_t header_t;

void
gateway_http_send (struct mg_connection *conn, int status, const char *content_type,
                   const char *body, size_t size, const gateway_header_t *headers, size_t count)
{
    gateway_http_t *self = s_self (conn);
    atomic_fetch_add (&self->answered[status >= 500 ? 2 : status >= 400 ? 1 : 0], 1);
    char length[24];
    snprintf (length, sizeof length, "%zu", size);
    mg_response_header_start (conn, status);
    if (content_type)
        mg_response_header_add (conn, "Content-Type", content_type, -1);
    if (status != 304)
        mg_response_header_add (conn, "Content-Length", length, -1);
    mg_response_header_add (conn, "X-Content-Type-Options", "nosniff", -1);
    for (size_t i = 0; i < count; i++)
        if (headers[i].name)
            mg_response_header_add (conn, headers[i].name, headers[i].value, -1);
    mg_response_header_send (conn);
    if (size && strcmp (mg_get_request_info (conn)->request_method, "HEAD"))
        mg_write (conn, body, size);
}

//  "Retry-After" for a reason that says "try again in N s", else 1.
static void
s_retry_after (const char *reason, char *value, size_t size)
{
    const char *in = reason ? strstr (reason, " in ") : NULL;
    long seconds = in ? strtol (in + 4, NULL, 10) : 0;
    snprintf (value, size, "%ld", seconds > 0 && seconds < 86400 ? seconds : 1);
}

static void
s_error (struct mg_connection *conn, int status, const char *reason, const header_t *extra)
{
    int accepted = s_accepted (conn);
    mk_codec_format_t format = accepted < 0 ? MK_CODEC_JSON : (mk_codec_format_t) accepted;
    Maekin__Error error = MAEKIN__ERROR__INIT;
    error.status = status;
    error.reason = (char *) reason;
    char *body = mk_codec_write (&error.base, format, false);
    char retry[24];
    s_retry_after (reason, retry, sizeof retry);
    header_t headers[2] = {{NULL, NULL}, {NULL, NULL}};
    if (status == 429 || status == 503)
        headers[0] = (header_t){"Retry-After", retry};
    if (extra)
        headers[1] = *extra;
    gateway_http_send (conn, status, s_content_type (format), body, strlen (body), headers, 2);
    free (body);
}

void
gateway_http_error (struct mg_connection *conn, int status, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    char *reason = zsys_vprintf (format, args);
    va_end (args);
    s_error (conn, status, reason, NULL);
    free (reason);
}

//  ------------------------------------------------------------------ credentials

void
gateway_http_csrf (const char *token, char csrf[44])
{
    static const unsigned char key[] = "maekin gateway csrf token v1";
    unsigned char hash[32];
    crypto_generichash (hash, sizeof hash, (const unsigned char *) token, strlen (token), key,
                        sizeof key - 1);
    sodium_bin2base64 (csrf, 44, hash, sizeof hash, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

int
gateway_http_credential (struct mg_connection *conn, bool unsafe, char *token, size_t size,
                         bool *cookie, const char **why)
{
    *token = 0;
    *cookie = false;
    const char *authorization = mg_get_header (conn, "Authorization");
    if (authorization) {
        if (strncasecmp (authorization, "Bearer ", 7) != 0) {
            *why = "the Authorization header must be 'Bearer TOKEN' (a session's token or an API "
                   "key)";
            return 401;
        }
        const char *value = authorization + 7;
        size_t length = strlen (value);
        if (length == 0 || length >= size || length > TOKEN_MAX
            || strspn (value, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
                   != length) {
            *why = "the bearer token is not one the cloud gives; log in again";
            return 401;
        }
        memcpy (token, value, length + 1);
        return 0;
    }
    const char *cookies = mg_get_header (conn, "Cookie");
    if (!cookies || mg_get_cookie (cookies, COOKIE, token, size) <= 0) {
        *token = 0;
        return 0; //  none: the cloud says what needs one
    }
    *cookie = true;
    if (unsafe) {
        //  A page of another site can make the browser send the cookie, never this header.
        char csrf[44];
        gateway_http_csrf (token, csrf);
        const char *given = mg_get_header (conn, "X-CSRF-Token");
        if (!given || strlen (given) != 43 || sodium_memcmp (given, csrf, 43) != 0) {
            *why = "a change made with the session cookie needs its CSRF token in the "
                   "X-CSRF-Token header (given at login, and by GET /api/v1/session)";
            return 403;
        }
    }
    return 0;
}

//  ------------------------------------------------------------------ the request

//  The path's segments, each decoded: 0, or -2 with why (a path trick, an empty segment).
static int
s_segments (const char *uri, char *buf, size_t size, char **segments, size_t *count,
            const char **why)
{
    *count = 0;
    if (strlen (uri) >= size / 2) {
        *why = "the path is too long";
        return -2;
    }
    const char *at = uri;
    char *out = buf;
    while (*at == '/' && at[1]) {
        at++;
        size_t length = strcspn (at, "/");
        if (*count == GATEWAY_SEGMENTS_MAX + 2) {
            *why = "no such resource: the path is too deep";
            return -2;
        }
        int decoded = mg_url_decode (at, (int) length, out, (int) (buf + size - out), 0);
        if (decoded < 0 || (size_t) decoded != strlen (out) || strchr (out, '/')
            || strchr (out, '\\') || !*out || streq (out, ".") || streq (out, "..")) {
            *why = "the path holds an empty segment, '.', '..', or an encoded '/', '\\' or NUL";
            return -2;
        }
        segments[(*count)++] = out;
        out += decoded + 1;
        at += length;
    }
    if (*at) {
        *why = "the path holds an empty segment, '.', '..', or an encoded '/', '\\' or NUL";
        return -2;
    }
    return 0;
}

//  The body, read whole: a new buffer (NUL-terminated), or NULL and the status (413
//  when it is over the limit, then the connection is closed: the rest is not read).
static char *
s_body (struct mg_connection *conn, size_t max, size_t *size, int *status)
{
    const struct mg_request_info *info = mg_get_request_info (conn);
    *size = 0;
    *status = 0;
    if (info->content_length > (long long) max) {
        *status = 413;
        return NULL;
    }
    size_t room = info->content_length >= 0 ? (size_t) info->content_length + 1 : 4096;
    char *body = (char *) malloc (room);
    if (!body)
        abort ();
    while (true) {
        if (*size + 1 >= room) {
            room *= 2;
            body = (char *) realloc (body, room);
            if (!body)
                abort ();
        }
        int got = mg_read (conn, body + *size, room - *size - 1);
        if (got <= 0)
            break;
        *size += (size_t) got;
        if (*size > max) {
            free (body);
            *status = 413;
            return NULL;
        }
    }
    body[*size] = 0;
    return body;
}

//  A request id from Idempotency-Key, or a new one for a change; 0, or -2 (bad key).
static int
s_request_id (struct mg_connection *conn, bool unsafe, char *id, size_t size)
{
    const char *key = mg_get_header (conn, "Idempotency-Key");
    *id = 0;
    if (key) {
        size_t length = strlen (key);
        if (length == 0 || length > 64 || length >= size)
            return -2;
        for (const char *c = key; *c; c++)
            if (*c <= ' ' || *c > '~')
                return -2;
        memcpy (id, key, length + 1);
    } else if (unsafe) {
        mk_uuid_t uuid;
        mk_uuid_new (&uuid);
        mk_uuid_format (uuid.bytes, id);
    }
    return 0;
}

//  The HTTP status for a bus answer: the cloud's own, but what the broker says about the
//  bus is the gateway's trouble, not the caller's.
static int
s_status (const Maekin__Envelope *reply, bool broker, const char **reason)
{
    int status = reply->status;
    if (broker && status == MK_NOT_FOUND) {
        *reason = "the cloud's controller is not on the bus now; retry in a moment";
        return 503;
    }
    if (broker && (status == MK_FORBIDDEN || status == MK_BAD_REQUEST)) {
        *reason = "the bus refused the gateway's request (is the gateway's bus key admitted as "
                  "a client key?); the gateway's log says more";
        return 502;
    }
    if (status == MK_VERSION_UNSUPPORTED)
        return 502;
    if (status < 200 || status > 599)
        return 502;
    return status;
}

//  The ETag of a body: a strong validator, its hash.
void
gateway_http_etag (const char *body, size_t size, char etag[36])
{
    unsigned char hash[16];
    crypto_generichash (hash, sizeof hash, (const unsigned char *) body, size, NULL, 0);
    etag[0] = '"';
    sodium_bin2hex (etag + 1, 33, hash, sizeof hash);
    etag[33] = '"';
    etag[34] = 0;
}

bool
gateway_http_not_modified (struct mg_connection *conn, const char *etag)
{
    const char *match = mg_get_header (conn, "If-None-Match");
    return match && (strstr (match, etag) || streq (match, "*"));
}

//  Answers the cloud's reply to a route: the HTTP status sent.
static int
s_answer (struct mg_connection *conn, const gateway_route_t *route, mk_codec_format_t format,
          const Maekin__Envelope *reply, bool broker, const char *token_used)
{
    const char *reason = reply->reason;
    int status = s_status (reply, broker, &reason);
    if (status >= 400) {
        s_error (conn, status, reason && *reason ? reason : "the cloud gave no reason", NULL);
        return status;
    }
    const ProtobufCMessage *result = gateway_routes_result (route, reply);
    if (!result && route->status != 204) {
        mk_warn ("gateway_http: '%s %s' was answered with '%s', not '%s'", route->method,
                 route->path, mk_msg_body_name (reply), route->reply);
        s_error (conn, 502, "the cloud answered with an unexpected message", NULL);
        return 502;
    }
    if (status == MK_OK && route->status)
        status = route->status;
    header_t headers[6] = {{NULL, NULL}};
    size_t count = 0;
    bool reading = streq (route->method, "GET");
    headers[count++] = (header_t){"Cache-Control", reading ? "private, no-cache" : "no-store"};
    char *location =
        (status == 201 || status == 202) ? gateway_routes_location (route, result) : NULL;
    if (location)
        headers[count++] = (header_t){"Location", location};
    //  A login's token becomes the cookie (HTTP-only: no script reads it), and the
    //  CSRF token a page sends back with each change.
    char cookie[256], csrf[44];
    const char *token = NULL;
    int64_t lifetime = 0;
    if ((route->flags & GATEWAY_LOGIN) && reply->login_reply) {
        token = reply->login_reply->token;
        lifetime = reply->login_reply->expires - (int64_t) time (NULL);
    } else if (token_used && reply->body_case == MAEKIN__ENVELOPE__BODY_WHOAMI_REPLY)
        token = token_used;
    if (token && strlen (token) <= TOKEN_MAX) {
        gateway_http_csrf (token, csrf);
        headers[count++] = (header_t){"X-CSRF-Token", csrf};
    }
    bool tls = mg_get_request_info (conn)->is_ssl;
    if (route->flags & GATEWAY_LOGIN && token && strlen (token) <= TOKEN_MAX) {
        snprintf (cookie, sizeof cookie,
                  COOKIE "=%s; Path=/; Max-Age=%lld; HttpOnly; SameSite=Strict%s", token,
                  (long long) (lifetime > 0 ? lifetime : 0), tls ? "; Secure" : "");
        headers[count++] = (header_t){"Set-Cookie", cookie};
    } else if (route->flags & GATEWAY_LOGOUT) {
        snprintf (cookie, sizeof cookie, COOKIE "=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict%s",
                  tls ? "; Secure" : "");
        headers[count++] = (header_t){"Set-Cookie", cookie};
    }
    if (route->status == 204 && (status == 204 || !result)) {
        status = 204;
        gateway_http_send (conn, 204, NULL, NULL, 0, headers, count);
    } else {
        char *body = mk_codec_write (result, format, false);
        size_t size = strlen (body);
        char etag[36];
        if (reading && status == 200) {
            gateway_http_etag (body, size, etag);
            headers[count++] = (header_t){"ETag", etag};
            if (gateway_http_not_modified (conn, etag))
                status = 304;
        }
        gateway_http_send (conn, status, s_content_type (format), body, status == 304 ? 0 : size,
                           headers, count);
        free (body);
    }
    free (location);
    return status;
}

//  GET /api/v1/openapi.json: the description, for anyone.
static int
s_openapi (struct mg_connection *conn, gateway_http_t *self)
{
    if (!streq (mg_get_request_info (conn)->request_method, "GET")) {
        header_t allow = {"Allow", "GET"};
        s_error (conn, 405, "the API's description is read with GET", &allow);
        return 405;
    }
    size_t size = strlen (self->openapi);
    header_t headers[2] = {{"ETag", self->openapi_etag}, {"Cache-Control", "no-cache"}};
    bool same = gateway_http_not_modified (conn, self->openapi_etag);
    gateway_http_send (conn, same ? 304 : 200, "application/json; charset=utf-8", self->openapi,
                       same ? 0 : size, headers, 2);
    return 200;
}

static int
s_api (struct mg_connection *conn, gateway_http_t *self)
{
    const struct mg_request_info *info = mg_get_request_info (conn);
    if (atomic_load (&self->connections) > self->opts.max_connections) {
        mg_disable_connection_keep_alive (conn);
        gateway_http_error (conn, 503,
                            "the gateway serves %d connections at once, and has them: retry in a "
                            "moment",
                            self->opts.max_connections);
        return 503;
    }
    int accepted = s_accepted (conn);
    if (accepted < 0) {
        gateway_http_error (conn, 406, "this API answers application/json or application/xml");
        return 406;
    }
    mk_codec_format_t format = (mk_codec_format_t) accepted;

    //  The route.
    char buf[4096];
    char *segments[GATEWAY_SEGMENTS_MAX + 2];
    size_t count = 0;
    const char *why = NULL;
    const char *uri = info->local_uri_raw ? info->local_uri_raw : info->local_uri;
    if (s_segments (uri, buf, sizeof buf, segments, &count, &why) != 0) {
        gateway_http_error (conn, 400, "%s", why);
        return 400;
    }
    if (count < 2 || !streq (segments[0], "api") || !streq (segments[1], "v1")) {
        gateway_http_error (conn, 404, "no such resource; the API is under /api/v1");
        return 404;
    }
    if (count == 3 && streq (segments[2], "openapi.json"))
        return s_openapi (conn, self);
    if (count == 3 && streq (segments[2], "stream") && !streq (info->request_method, "GET")) {
        header_t allow = {"Allow", "GET"};
        s_error (conn, 405, "the stream is a WebSocket, opened with GET", &allow);
        return 405;
    }
    if (count == 3 && streq (segments[2], "stream")) {
        //  civetweb hands a WebSocket's upgrade to gateway_stream; this is a plain request.
        header_t upgrade = {"Upgrade", "websocket"};
        s_error (conn, 426,
                 "the stream is a WebSocket: connect with 'Upgrade: websocket' (ws:// or wss://)",
                 &upgrade);
        return 426;
    }
    bool path_known;
    char allow[64];
    const gateway_route_t *route = gateway_routes_match (
        info->request_method, segments + 2, count - 2, &path_known, allow, sizeof allow);
    if (!route && path_known) {
        header_t header = {"Allow", allow};
        char *reason = zsys_sprintf ("%s is not allowed here; %s is", info->request_method, allow);
        s_error (conn, 405, reason, &header);
        free (reason);
        return 405;
    }
    if (!route) {
        gateway_http_error (conn, 404,
                            "no such resource; /api/v1/openapi.json describes every one");
        return 404;
    }

    //  Who asks.
    bool unsafe = !streq (route->method, "GET");
    char token[TOKEN_MAX + 1];
    bool cookie = false;
    int refused = route->flags & GATEWAY_OPEN
                      ? 0
                      : gateway_http_credential (conn, unsafe, token, sizeof token, &cookie, &why);
    if (route->flags & GATEWAY_OPEN)
        *token = 0;
    if (refused) {
        gateway_http_error (conn, refused, "%s", why);
        return refused;
    }
    char request_id[65];
    if (s_request_id (conn, unsafe, request_id, sizeof request_id) != 0) {
        gateway_http_error (conn, 400,
                            "the Idempotency-Key must be 1 to 64 printable ASCII characters "
                            "without blanks (a UUID does)");
        return 400;
    }

    //  What it sends.
    size_t size = 0;
    char *body = NULL;
    mk_codec_format_t body_format = MK_CODEC_JSON;
    if (info->content_length != 0) {
        int status;
        body = s_body (conn, self->opts.max_body, &size, &status);
        if (!body) {
            mg_disable_connection_keep_alive (conn);
            gateway_http_error (conn, status, "the body is over %zu bytes", self->opts.max_body);
            return status;
        }
    }
    if (size > 0 && route->body) {
        const char *type = mg_get_header (conn, "Content-Type");
        char base[64] = "";
        if (type)
            snprintf (base, sizeof base, "%.*s", (int) strcspn (type, "; \t"), type);
        if (!strcasecmp (base, "application/xml") || !strcasecmp (base, "text/xml"))
            body_format = MK_CODEC_XML;
        else if (strcasecmp (base, "application/json")) {
            free (body);
            gateway_http_error (conn, 415,
                                "the body must be application/json or application/xml, not "
                                "'%.64s'",
                                type ? type : "(none given)");
            return 415;
        }
    }
    gateway_input_t input = {segments + 2, count - 2,   info->query_string, body,
                             size,         body_format, info->remote_addr};
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    char *error = NULL;
    int rc = gateway_routes_build (route, &input, &env, &error);
    free (body);
    if (rc) {
        gateway_http_error (conn, rc == -1 ? 413 : 400, "%s", error);
        free (error);
        return rc == -1 ? 413 : 400;
    }
    Maekin__Credential credential = MAEKIN__CREDENTIAL__INIT;
    if (*token) {
        credential.token = token;
        env.credential = &credential;
    }
    if (*request_id)
        env.request_id = request_id;

    //  A wait waits as long as it asks, up to the gateway's longest; others the bus's time.
    int timeout_ms = self->opts.bus_timeout_ms;
    if (route->flags & GATEWAY_WAIT) {
        Maekin__TaskWaitRequest *wait = env.task_wait;
        if (wait->timeout_ms == 0 || wait->timeout_ms > (uint32_t) self->opts.wait_max_ms)
            wait->timeout_ms = (uint32_t) self->opts.wait_max_ms;
        timeout_ms = (int) wait->timeout_ms + self->opts.bus_timeout_ms;
    }
    bool broker;
    Maekin__Envelope *reply = gateway_bus_call (self->opts.bus, "cloud", &env, timeout_ms, &broker);
    gateway_routes_clear (&env);
    int status = s_answer (conn, route, format, reply, broker, cookie ? token : NULL);
    gateway_bus_reply_free (&reply);
    return status;
}

//  GET /metrics: the cloud's figures for Prometheus, with the scraper's credential (a
//  read-only API key of the administrator's), or the gateway's own when it has one
//  (gateway/metrics_key: the figures are open to whoever reaches the gateway).
int
gateway_http_metrics (struct mg_connection *conn, void *cbdata)
{
    gateway_http_t *self = (gateway_http_t *) cbdata;
    const struct mg_request_info *info = mg_get_request_info (conn);
    if (!streq (info->request_method, "GET")) {
        header_t allow = {"Allow", "GET"};
        s_error (conn, 405, "the metrics are read with GET", &allow);
        return 405;
    }
    if (!streq (info->local_uri_raw ? info->local_uri_raw : info->local_uri, "/metrics")) {
        gateway_http_error (conn, 404, "no such resource; the metrics are at /metrics");
        return 404;
    }
    char token[TOKEN_MAX + 1];
    bool cookie;
    const char *why = NULL;
    int refused = gateway_http_credential (conn, false, token, sizeof token, &cookie, &why);
    if (refused) {
        gateway_http_error (conn, refused, "%s", why);
        return refused;
    }
    if (!*token && self->opts.metrics_key && *self->opts.metrics_key)
        snprintf (token, sizeof token, "%s", self->opts.metrics_key);
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    Maekin__CloudStatsRequest stats = MAEKIN__CLOUD_STATS_REQUEST__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_CLOUD_STATS;
    env.cloud_stats = &stats;
    Maekin__Credential credential = MAEKIN__CREDENTIAL__INIT;
    if (*token) {
        credential.token = token;
        env.credential = &credential;
    }
    bool broker;
    Maekin__Envelope *reply =
        gateway_bus_call (self->opts.bus, "cloud", &env, self->opts.bus_timeout_ms, &broker);
    const char *reason = reply->reason;
    int status = s_status (reply, broker, &reason);
    if (status == 200 && reply->body_case != MAEKIN__ENVELOPE__BODY_CLOUD_STATS_REPLY) {
        status = 502;
        reason = "the cloud answered with an unexpected message";
    }
    if (status != 200)
        s_error (conn, status, reason && *reason ? reason : "the cloud gave no reason", NULL);
    else {
        uint64_t answered[3];
        int connections;
        gateway_http_stats (self, answered, &connections);
        char *text = gateway_metrics_text (reply->cloud_stats_reply, answered, connections);
        header_t headers[1] = {{"Cache-Control", "no-store"}};
        gateway_http_send (conn, 200, "text/plain; version=0.0.4; charset=utf-8", text,
                           strlen (text), headers, 1);
        free (text);
    }
    gateway_bus_reply_free (&reply);
    return status;
}

int
gateway_http_other (struct mg_connection *conn, void *cbdata)
{
    gateway_http_error (conn, 404, "no such resource; the API is under /api/v1");
    return 404;
}

//  A thread keeps every stack page it ever touched. civetweb's request frames and ours
//  reach ~36 KiB, where a worker that waits for a request needs 12: with a thousand
//  keep-alive connections, 24 MiB held for nothing. So, once many connections are open,
//  a thread that has answered gives the pages below its frame back (they come back
//  zeroed when next touched); with few open, it keeps them and saves the faults.
static void __attribute__ ((noinline)) s_trim_stack (void)
{
    static __thread uintptr_t low, high; //  this thread's stack
    if (!low) {
        pthread_attr_t attr;
        void *addr;
        size_t size;
        if (pthread_getattr_np (pthread_self (), &attr) != 0)
            return;
        if (pthread_attr_getstack (&attr, &addr, &size) == 0) {
            low = (uintptr_t) addr;
            high = low + size;
        }
        pthread_attr_destroy (&attr);
        if (!low)
            return;
    }
    uintptr_t page = (uintptr_t) sysconf (_SC_PAGESIZE);
    //  This frame's address (a local's may live on a stack ASan keeps apart); a page
    //  below it is kept for the calls that run before the thread waits.
    uintptr_t frame = (uintptr_t) __builtin_frame_address (0);
    uintptr_t top = (frame & ~(page - 1)) - page;
    if (frame < high && top > low)
        madvise ((void *) low, top - low, MADV_DONTNEED);
}

int
gateway_http_api (struct mg_connection *conn, void *cbdata)
{
    gateway_http_t *self = (gateway_http_t *) cbdata;
    int status = s_api (conn, self);
    if (atomic_load (&self->connections) > TRIM_CONNECTIONS)
        s_trim_stack ();
    return status;
}

/*  gateway_http: one HTTP request of the REST API, on a civetweb thread. Finds its route
    (gateway_routes), reads its credential (a bearer token, or the session cookie with its
    CSRF token for a change), its body (JSON or XML, by Content-Type, size-limited), asks
    the bus (gateway_bus) and answers in the format the client accepts (JSON or XML, by
    Accept), with the status the cloud gave, a Location for what was made or accepted,
    and an ETag on reads. Every refusal is an Error document saying what to do. The
    gateway holds no state: a session is the controller's token. */
#ifndef GATEWAY_HTTP_H_INCLUDED
#define GATEWAY_HTTP_H_INCLUDED

#include "maekin.h"

#include "gateway_bus.h"

#include <civetweb.h>

typedef struct {
    gateway_bus_t *bus;      //  where requests go (borrowed)
    size_t max_body;         //  the largest request body read, bytes
    int bus_timeout_ms;      //  how long a request waits for the cloud
    int wait_max_ms;         //  the longest task wait (a wait asking more or 0 gets this)
    int max_connections;     //  past this many at once, requests are answered 503
    const char *metrics_key; //  the credential of a scrape of /metrics that has none; NULL: none
} gateway_http_opts_t;

typedef struct _gateway_http_t gateway_http_t;

gateway_http_t *gateway_http_new (const gateway_http_opts_t *opts);
void gateway_http_destroy (gateway_http_t **self_p);

//  civetweb's request handler for /api/v1 (cbdata: the gateway_http_t).
int gateway_http_api (struct mg_connection *conn, void *cbdata);

//  civetweb's handler for /metrics: Prometheus' text (gateway_metrics).
int gateway_http_metrics (struct mg_connection *conn, void *cbdata);

//  civetweb's handler for any other path: 404 in the client's format.
int gateway_http_other (struct mg_connection *conn, void *cbdata);

//  civetweb's connection callbacks: they count the connections open.
int gateway_http_connection_open (const struct mg_connection *conn, void **conn_data);
void gateway_http_connection_close (const struct mg_connection *conn);

//  The CSRF token of a session's token (43 characters and NUL into csrf): a keyed hash,
//  so only a page that was given it (at login, or by GET /api/v1/session) can send it.
void gateway_http_csrf (const char *token, char csrf[44]);

//  The caller's credential: a bearer token, else the session cookie (with `unsafe`, a
//  change, only with its CSRF token). 0 and the token (or "" for none); or the HTTP
//  status of the refusal and *why (static text).
int gateway_http_credential (struct mg_connection *conn, bool unsafe, char *token, size_t size,
                             bool *cookie, const char **why);

typedef struct {
    const char *name;
    const char *value;
} gateway_header_t;

//  Sends a whole answer: the status, the headers (NULL names skipped), the body (none to
//  HEAD), counted in gateway_http_stats.
void gateway_http_send (struct mg_connection *conn, int status, const char *content_type,
                        const char *body, size_t size, const gateway_header_t *headers,
                        size_t count);

//  A strong ETag of a body (BLAKE2b, quoted: 35 characters and NUL); and whether the
//  request's If-None-Match holds it.
void gateway_http_etag (const char *body, size_t size, char etag[36]);
bool gateway_http_not_modified (struct mg_connection *conn, const char *etag);

//  Answer an error in the client's format (an Error document), with the status.
void gateway_http_error (struct mg_connection *conn, int status, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

//  Requests answered so far, by class: 2xx (and 3xx), 4xx, 5xx; and connections open now.
//  (Its self-test is gateway_server's, which serves it.)
void gateway_http_stats (gateway_http_t *self, uint64_t counts[3], int *connections);

#endif

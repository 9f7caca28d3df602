/*  gateway_server: the actor that serves HTTP and the bus. See gateway_server.h. */
#include "gateway_server.h"

#include "gateway_bus.h"
#include "gateway_http.h"
#include "gateway_stream.h"
#include "gateway_web.h"
#include "mk_actor.h"
#include "mk_sock.h"

#include <civetweb.h>
#include <dlfcn.h>
#include <libgen.h>
#include <pthread.h>

#define TLS_COMPAT "libmaekin-tls-compat.so"

typedef struct {
    gateway_opts_t opts;
    zsock_t *pipe;
    gateway_bus_t *bus;
    gateway_http_t *http;
    zsock_t *stream;       //  the broker's stream (SUB): events and metrics
    gateway_stream_t *hub; //  ... handed to the WebSocket subscribers
    struct mg_context *web;
    gateway_web_t *files; //  the dashboard's, or NULL
    bool library;         //  mg_init_library was called (for TLS)
    int port;
} server_t;

char *
gateway_opts_check (const gateway_opts_t *opts)
{
    if (!opts->endpoint || !*opts->endpoint)
        return strdup ("bus/endpoint is empty");
    if (!opts->listen || !*opts->listen || strchr (opts->listen, ','))
        return strdup ("gateway/listen must be one ADDRESS:PORT, e.g. 127.0.0.1:8080");
    if (opts->max_connections < 1 || opts->max_connections > 20000)
        return zsys_sprintf ("gateway/max_connections must be 1 to 20000, not %d",
                             opts->max_connections);
    if (opts->max_body_kb < 1 || opts->max_body_kb > 8192)
        return zsys_sprintf ("gateway/max_body_kb must be 1 to 8192, not %d", opts->max_body_kb);
    if (opts->bus_timeout_ms < 100 || opts->bus_timeout_ms > 600000)
        return zsys_sprintf ("gateway/bus_timeout_ms must be 100 to 600000, not %d",
                             opts->bus_timeout_ms);
    if (opts->wait_max_ms < 0 || opts->wait_max_ms > 300000)
        return zsys_sprintf ("gateway/wait_max_ms must be 0 to 300000, not %d", opts->wait_max_ms);
    if (opts->request_timeout_ms < 100 || opts->request_timeout_ms > 600000)
        return zsys_sprintf ("gateway/request_timeout_ms must be 100 to 600000, not %d",
                             opts->request_timeout_ms);
    if (opts->keep_alive_ms < 0 || opts->keep_alive_ms > 600000)
        return zsys_sprintf ("gateway/keep_alive_ms must be 0 to 600000, not %d",
                             opts->keep_alive_ms);
    if (opts->thread_stack_kb < 64 || opts->thread_stack_kb > 65536)
        return zsys_sprintf ("gateway/thread_stack_kb must be 64 to 65536, not %d",
                             opts->thread_stack_kb);
    if (opts->certificate && *opts->certificate && access (opts->certificate, R_OK) != 0)
        return zsys_sprintf ("gateway/certificate '%s' cannot be read: %s", opts->certificate,
                             strerror (errno));
    return NULL;
}

//  Loads the object that lets civetweb find TLS in OpenSSL 3 (services/gateway/tls/),
//  from beside the program or from ../lib/maekin: NULL, or why not (a new string).
static char *
s_tls_compat (void)
{
    static void *handle = NULL; //  kept for the process's life: civetweb holds its symbols
    if (handle)
        return NULL;
    char exe[4096];
    ssize_t length = readlink ("/proc/self/exe", exe, sizeof exe - 1);
    if (length <= 0)
        return strdup ("cannot find the program's own path");
    exe[length] = 0;
    const char *dir = dirname (exe);
    char path[4200];
    snprintf (path, sizeof path, "%s/" TLS_COMPAT, dir);
    if (access (path, R_OK) != 0)
        snprintf (path, sizeof path, "%s/../lib/maekin/" TLS_COMPAT, dir);
    handle = dlopen (path, RTLD_NOW | RTLD_GLOBAL);
    return handle ? NULL : zsys_sprintf ("%s", dlerror ());
}

//  The dashboard's files: NULL, or why not (a new string). Found beside the program
//  unless the options name a directory; none there is no error (the API alone is served).
static char *
s_web_files (server_t *self)
{
    const char *root = self->opts.web_root;
    if (root && streq (root, "none"))
        return NULL;
    char *error = NULL;
    if (root && *root) {
        self->files = gateway_web_new (root, &error);
        if (error) {
            char *why = zsys_sprintf ("gateway/web_root: %s", error);
            free (error);
            return why;
        }
        return NULL;
    }
    char exe[4096];
    ssize_t length = readlink ("/proc/self/exe", exe, sizeof exe - 1);
    if (length <= 0)
        return NULL;
    exe[length] = 0;
    const char *dir = dirname (exe);
    const char *places[] = {"%s/web", "%s/../share/maekin/web"};
    for (size_t i = 0; i < 2 && !self->files; i++) {
        char path[4200];
        snprintf (path, sizeof path, places[i], dir);
        if (access (path, R_OK) == 0)
            self->files = gateway_web_new (path, &error);
        if (error) {
            mk_warn ("gateway: no dashboard from %s: %s", path, error);
            free (error);
            error = NULL;
        }
    }
    if (!self->files)
        mk_info ("gateway: no dashboard: none beside the program (make web), and "
                 "gateway/web_root names none");
    return NULL;
}

//  civetweb's own complaints, into our log.
static int
s_log (const struct mg_connection *conn, const char *message)
{
    mk_warn ("gateway: %s", message);
    return 1;
}

//  Starts civetweb: NULL, or why not (a new string).
static char *
s_web_start (server_t *self)
{
    const gateway_opts_t *opts = &self->opts;

    bool tls = opts->certificate && *opts->certificate;
    char ports[128], threads[16], request_timeout[16], keep_alive[16];
    snprintf (ports, sizeof ports, "%s%s", opts->listen, tls ? "s" : "");
    //  The connections served, and some more threads to tell those past them so (503).
    int margin = opts->max_connections / 10 > 16 ? opts->max_connections / 10 : 16;
    snprintf (threads, sizeof threads, "%d", opts->max_connections + margin);
    snprintf (request_timeout, sizeof request_timeout, "%d", opts->request_timeout_ms);
    snprintf (keep_alive, sizeof keep_alive, "%d", opts->keep_alive_ms);
    const char *options[40];
    size_t count = 0;
#define OPTION(name, value) (options[count++] = (name), options[count++] = (value))
    OPTION ("listening_ports", ports);
    OPTION ("num_threads", threads);
    //  Without it, a keep-alive request's answer waits ~40 ms for the client's ACK (Nagle).
    OPTION ("tcp_nodelay", "1");
    OPTION ("enable_keep_alive", "yes");
    OPTION ("keep_alive_timeout_ms", keep_alive);
    OPTION ("request_timeout_ms", request_timeout);
    OPTION ("decode_url", "no"); //  each segment is decoded alone: %2F stays inside it
    OPTION ("access_control_allow_origin", ""); //  no CORS: the API is the dashboard's origin
    OPTION ("enable_directory_listing", "no");
    OPTION ("max_request_size", "16384");
    //  A WebSocket client that says nothing for this long is pinged (a stream's client
    //  only listens), and closed if it does not answer.
    OPTION ("websocket_timeout_ms", "30000");
    OPTION ("enable_websocket_ping_pong", "yes");
    if (tls) {
        OPTION ("ssl_certificate", opts->certificate);
        OPTION ("ssl_protocol_version", "4"); //  TLS 1.2 and later
    }
#undef OPTION
    options[count] = NULL;
    //  civetweb loads libssl at run time, when the library is set up for TLS; without
    //  the compat object it would start and then call a function it did not find.
    char *compat = tls ? s_tls_compat () : NULL;
    if (compat) {
        char *why = zsys_sprintf ("gateway: cannot serve HTTPS: %s (built with the gateway, "
                                  "installed in PREFIX/lib/maekin)",
                                  compat);
        free (compat);
        return why;
    }
    if (tls && !(mg_init_library (MG_FEATURES_TLS) & MG_FEATURES_TLS))
        return strdup ("gateway: cannot serve HTTPS: civetweb found no TLS in libssl.so and "
                       "libcrypto.so ('make deps' installs them: libssl-dev)");
    self->library = tls;
    struct mg_callbacks callbacks;
    memset (&callbacks, 0, sizeof callbacks);
    callbacks.init_connection = gateway_http_connection_open;
    callbacks.connection_close = gateway_http_connection_close;
    callbacks.log_message = s_log;
    struct mg_init_data init = {&callbacks, self->http, options};
    struct mg_error_data error;
    memset (&error, 0, sizeof error);
    char text[256] = "";
    error.text = text;
    error.text_buffer_size = sizeof text;
    self->web = mg_start2 (&init, &error);
    if (!self->web)
        return zsys_sprintf ("gateway: cannot serve HTTP at '%s': %s", opts->listen,
                             *text ? text : "civetweb would not start");
    mg_set_request_handler (self->web, "/api/v1", gateway_http_api, self->http);
    mg_set_request_handler (self->web, "/metrics", gateway_http_metrics, self->http);
    mg_set_websocket_handler (self->web, "/api/v1/stream", gateway_stream_connect,
                              gateway_stream_ready, gateway_stream_data, gateway_stream_close,
                              self->hub);
    if (self->files)
        mg_set_request_handler (self->web, "/", gateway_web_handle, self->files);
    else
        mg_set_request_handler (self->web, "/", gateway_http_other, self->http);
    struct mg_server_port port;
    if (mg_get_server_ports (self->web, 1, &port) == 1)
        self->port = port.port;
    size_t bytes = 0;
    size_t files = self->files ? gateway_web_count (self->files, &bytes) : 0;
    mk_info ("gateway: serving %s on port %d, %s threads; the dashboard: %zu files, %zu KiB",
             tls ? "HTTPS" : "HTTP", self->port, threads, files, bytes / 1024);
    return NULL;
}

//  The broker's stream: each message (topic, Envelope) to the hub, a bounded number a
//  turn so the bus's replies never wait behind a flood.
static int
s_on_stream (zloop_t *loop, zsock_t *sock, void *arg)
{
    server_t *self = (server_t *) arg;
    for (int i = 0; i < 256; i++) {
        zmsg_t *msg = mk_sock_recv_nowait (sock);
        if (!msg)
            break;
        zframe_t *topic = zmsg_first (msg);
        zframe_t *body = zmsg_next (msg);
        if (topic && body && zframe_size (topic) < 128) {
            char name[128];
            memcpy (name, zframe_data (topic), zframe_size (topic));
            name[zframe_size (topic)] = 0;
            gateway_stream_publish (self->hub, name, zframe_data (body), zframe_size (body));
        }
        zmsg_destroy (&msg);
    }
    return 0;
}

static int
s_on_tick (zloop_t *loop, int timer_id, void *arg)
{
    mk_sock_rekey (((server_t *) arg)->stream); //  the broker's key may be changing
    return 0;
}

static int
s_on_pipe (zloop_t *loop, zsock_t *pipe, void *arg)
{
    server_t *self = (server_t *) arg;
    char *command = zstr_recv (pipe);
    int rc = 0;
    if (!command || streq (command, "$TERM"))
        rc = -1;
    else if (streq (command, "PORT"))
        zstr_sendf (pipe, "%d", self->port);
    else if (streq (command, "STATS")) {
        uint64_t sent, taken, answered[3];
        size_t waiting;
        int connections;
        gateway_bus_stats (self->bus, &sent, &taken, &waiting);
        gateway_http_stats (self->http, answered, &connections);
        size_t subscribers;
        uint64_t handed;
        gateway_stream_stats (self->hub, &subscribers, &handed);
        zstr_sendf (pipe,
                    "%" PRIu64 " %" PRIu64 " %zu %" PRIu64 ",%" PRIu64 ",%" PRIu64 " %zu %" PRIu64
                    " %d",
                    sent, taken, waiting, answered[0], answered[1], answered[2], subscribers,
                    handed, connections);
    } else
        mk_warn ("gateway: unknown command '%s' on the pipe", command);
    zstr_free (&command);
    return rc;
}

//  OpenSSL keeps state for each thread that used it (this actor's thread made the TLS
//  context), freed by a destructor when the thread exits. An actor's thread is not joined:
//  its exit could free that state while the program's own exit runs OpenSSL's cleanup,
//  which frees it too (ASan caught the double free at a gateway's stop). So it is freed
//  here, before the actor says it is done. civetweb loaded libcrypto: looked up, not
//  linked.
static void
s_openssl_thread_stop (void)
{
    void *crypto = dlopen ("libcrypto.so.3", RTLD_LAZY | RTLD_NOLOAD);
    if (!crypto)
        return;
    void (*stop) (void) = (void (*) (void)) dlsym (crypto, "OPENSSL_thread_stop");
    if (stop)
        stop ();
    dlclose (crypto);
}

static void
s_actor (zsock_t *pipe, void *args)
{
    server_t self;
    memset (&self, 0, sizeof self);
    self.opts = *(const gateway_opts_t *) args;
    self.pipe = pipe;
    char *error = gateway_opts_check (&self.opts);
    if (!error) {
        self.bus = gateway_bus_new (self.opts.endpoint);
        if (!self.bus)
            error = zsys_sprintf ("gateway: cannot make a bus client for '%s'", self.opts.endpoint);
    }
    gateway_http_opts_t http_opts = {self.bus,
                                     (size_t) self.opts.max_body_kb * 1024,
                                     self.opts.bus_timeout_ms,
                                     self.opts.wait_max_ms,
                                     self.opts.max_connections,
                                     self.opts.metrics_key};
    self.http = gateway_http_new (&http_opts);
    self.hub = gateway_stream_new (self.bus, 10000, (size_t) self.opts.thread_stack_kb * 1024);
    zloop_t *loop = zloop_new ();
    if (!error && gateway_bus_attach (self.bus, loop) != 0)
        error = strdup ("gateway: cannot watch the bus client");
    if (!error && self.opts.stream_out && *self.opts.stream_out) {
        self.stream = mk_sock_new (ZMQ_SUB, self.opts.stream_out);
        if (!self.stream)
            error = zsys_sprintf ("gateway: cannot reach the broker's stream at '%s'",
                                  self.opts.stream_out);
        else {
            zsock_set_subscribe (self.stream, "event.");
            zsock_set_subscribe (self.stream, "metric.host.");
            zloop_reader (loop, self.stream, s_on_stream, &self);
            zloop_timer (loop, 200, 0, s_on_tick, &self);
        }
    }
    if (!error)
        error = s_web_files (&self);
    if (!error)
        error = s_web_start (&self);
    bool good = !error;
    mk_actor_ready (pipe, error);
    if (good) {
        zloop_reader (loop, pipe, s_on_pipe, &self);
        zloop_start (loop);
    }
    //  Waiting requests are answered at once (503), so civetweb's threads end quickly.
    if (self.bus)
        gateway_bus_close (self.bus);
    if (self.hub)
        gateway_stream_stop (self.hub);
    if (self.web)
        mg_stop (self.web); //  every WebSocket subscriber is closed before it returns
    if (self.library) {
        mg_exit_library ();
        s_openssl_thread_stop ();
    }
    zloop_destroy (&loop);
    mk_sock_destroy (&self.stream);
    gateway_stream_destroy (&self.hub);
    gateway_web_destroy (&self.files);
    gateway_http_destroy (&self.http);
    gateway_bus_destroy (&self.bus);
}

zactor_t *
gateway_server_new (const gateway_opts_t *opts)
{
    return mk_actor_start (s_actor, (void *) opts);
}

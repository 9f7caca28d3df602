/*  bench_civetweb: the floor the gateway's HTTP is measured beside: a bare civetweb
    handler answering every GET with the same body (a file's bytes) as application/json,
    keep-alive and tcp_nodelay on, as the gateway runs civetweb. What it costs per request
    is civetweb's and the kernel's alone: no bus, no codec.
    usage: bench_civetweb PORT BODY_FILE [THREADS]   (serves until SIGINT or SIGTERM) */
#include <civetweb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *s_body;
static size_t s_size;
static volatile sig_atomic_t s_stop;

static int
s_handler (struct mg_connection *conn, void *cbdata)
{
    (void) cbdata;
    char length[24];
    snprintf (length, sizeof length, "%zu", s_size);
    mg_response_header_start (conn, 200);
    mg_response_header_add (conn, "Content-Type", "application/json; charset=utf-8", -1);
    mg_response_header_add (conn, "Content-Length", length, -1);
    mg_response_header_send (conn);
    mg_write (conn, s_body, s_size);
    return 200;
}

static void
s_signal (int signal)
{
    (void) signal;
    s_stop = 1;
}

int
main (int argc, char **argv)
{
    if (argc < 3) {
        fprintf (stderr, "usage: bench_civetweb PORT BODY_FILE [THREADS]\n");
        return 2;
    }
    FILE *file = fopen (argv[2], "rb");
    if (!file) {
        perror (argv[2]);
        return 1;
    }
    fseek (file, 0, SEEK_END);
    s_size = (size_t) ftell (file);
    rewind (file);
    s_body = malloc (s_size + 1);
    if (!s_body || fread (s_body, 1, s_size, file) != s_size)
        return 1;
    fclose (file);
    char ports[64];
    snprintf (ports, sizeof ports, "127.0.0.1:%s", argv[1]);
    const char *options[] = {"listening_ports",
                             ports,
                             "num_threads",
                             argc > 3 ? argv[3] : "64",
                             "tcp_nodelay",
                             "1",
                             "enable_keep_alive",
                             "yes",
                             "keep_alive_timeout_ms",
                             "15000",
                             NULL};
    struct mg_callbacks callbacks;
    memset (&callbacks, 0, sizeof callbacks);
    struct mg_context *web = mg_start (&callbacks, NULL, options);
    if (!web) {
        fprintf (stderr, "bench_civetweb: cannot serve on %s\n", ports);
        return 1;
    }
    mg_set_request_handler (web, "/", s_handler, NULL);
    signal (SIGINT, s_signal);
    signal (SIGTERM, s_signal);
    while (!s_stop)
        pause ();
    mg_stop (web);
    free (s_body);
    return 0;
}

/*  maekin-gateway: the cloud's REST API over HTTP (the paper's API service), for the
    dashboard and every other tool: each request becomes one bus request to the
    controller, which alone decides what is allowed. See gateway_server.h. */
#include "maekin.h"

#include "gateway_server.h"
#include "mk_actor.h"
#include "mk_cfg.h"
#include "mk_secret.h"
#include "mk_sock.h"

#include <malloc.h>
#include <sys/resource.h>
#include <sys/stat.h>

static const mk_cfg_item_t s_schema[] = {
    {"bus/endpoint", MK_CFG_STR, "tcp://127.0.0.1:7010", "the broker's request endpoint"},
    {"bus/stream_out", MK_CFG_STR, "tcp://127.0.0.1:7012",
     "the broker's stream, subscribers' side: events and metrics for the WebSocket stream"},
    {"gateway/listen", MK_CFG_STR, "127.0.0.1:8080", "where HTTP is served: ADDRESS:PORT"},
    {"gateway/certificate", MK_CFG_STR, "",
     "a PEM file with the certificate and its private key: HTTPS instead of HTTP"},
    {"gateway/max_connections", MK_CFG_INT, "1000",
     "connections served at once (one thread each); past them requests are answered 503"},
    {"gateway/max_body_kb", MK_CFG_INT, "1024", "the largest request body, KiB (413 past it)"},
    {"gateway/bus_timeout_ms", MK_CFG_INT, "30000", "how long a request waits for the cloud"},
    {"gateway/wait_max_ms", MK_CFG_INT, "60000",
     "the longest a task wait (GET /api/v1/tasks/ID/wait) holds its connection"},
    {"gateway/request_timeout_ms", MK_CFG_INT, "10000",
     "a client that takes longer to send its request is cut off (a slow client holds a thread)"},
    {"gateway/keep_alive_ms", MK_CFG_INT, "15000",
     "an idle keep-alive connection is closed after this"},
    {"gateway/thread_stack_kb", MK_CFG_INT, "256",
     "the stack of the gateway's own threads (a stream subscriber's writer), KiB; civetweb's "
     "connection threads have civetweb's own"},
    {"gateway/metrics_key_file", MK_CFG_STR, "",
     "a file holding an API key (a read-only one of the administrator's): GET /metrics without "
     "a credential is made with it, open to whoever reaches the gateway; empty: a scrape "
     "brings its own (Authorization: Bearer)"},
    {"gateway/web_root", MK_CFG_STR, "",
     "the dashboard's built files (index.html, assets/); empty: web/ beside the program or "
     "../share/maekin/web, if there; none: no dashboard, the API alone"},
    MK_SOCK_CFG_ITEMS,
    {"log/level", MK_CFG_STR, "info", "debug, info, warn or error"},
    {NULL, 0, NULL, NULL}};

//  A setting that must fit an int: out of range becomes -1, which the check refuses.
static int
s_int (mk_cfg_t *cfg, const char *key)
{
    int64_t value = mk_cfg_int (cfg, key);
    return value < 0 || value > INT32_MAX ? -1 : (int) value;
}

int
main (int argc, char **argv)
{
    int exit_code;
    mk_cfg_t *cfg = mk_cfg_main ("maekin-gateway",
                                 "The Maekin gateway: the cloud's REST API (JSON and XML) over "
                                 "HTTP.",
                                 s_schema, argc, argv, &exit_code);
    if (!cfg)
        return exit_code;
    gateway_opts_t opts = {
        .endpoint = mk_cfg_str (cfg, "bus/endpoint"),
        .stream_out = mk_cfg_str (cfg, "bus/stream_out"),
        .listen = mk_cfg_str (cfg, "gateway/listen"),
        .certificate = mk_cfg_str (cfg, "gateway/certificate"),
        .max_connections = s_int (cfg, "gateway/max_connections"),
        .max_body_kb = s_int (cfg, "gateway/max_body_kb"),
        .bus_timeout_ms = s_int (cfg, "gateway/bus_timeout_ms"),
        .wait_max_ms = s_int (cfg, "gateway/wait_max_ms"),
        .request_timeout_ms = s_int (cfg, "gateway/request_timeout_ms"),
        .keep_alive_ms = s_int (cfg, "gateway/keep_alive_ms"),
        .thread_stack_kb = s_int (cfg, "gateway/thread_stack_kb"),
        .web_root = mk_cfg_str (cfg, "gateway/web_root"),
    };
    char *error = gateway_opts_check (&opts);
    char metrics_key[128] = "";
    const char *key_file = mk_cfg_str (cfg, "gateway/metrics_key_file");
    if (!error && *key_file)
        error = mk_secret_key_file ("gateway/metrics_key_file", key_file, metrics_key,
                                    sizeof metrics_key);
    opts.metrics_key = metrics_key;
    if (!error)
        mk_sock_secure_cfg (cfg, false, &error);
    if (!error && mk_cfg_check_only (cfg))
        return mk_cfg_check_done (&cfg, "maekin-gateway");
    //  A thousand threads each allocating would make glibc's malloc give many of them an
    //  arena of its own, each holding memory the others cannot reuse: two are enough for
    //  threads that mostly wait.
    mallopt (M_ARENA_MAX, 2);
    //  Each connection is a descriptor: as many as the system lets this process have.
    struct rlimit files;
    if (!error && getrlimit (RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
        files.rlim_cur = files.rlim_max;
        setrlimit (RLIMIT_NOFILE, &files);
    }
    if (!error && getrlimit (RLIMIT_NOFILE, &files) == 0
        && files.rlim_cur < (rlim_t) opts.max_connections + 64)
        mk_warn ("gateway: %llu open files allowed, fewer than gateway/max_connections (%d) need",
                 (unsigned long long) files.rlim_cur, opts.max_connections);
    zactor_t *server = error ? NULL : gateway_server_new (&opts);
    exit_code = mk_actor_serve ("maekin-gateway", &server, error);
    free (error);
    mk_cfg_destroy (&cfg);
    return exit_code;
}

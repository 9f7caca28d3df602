/*  maekin-broker: the bus. Routes requests to workers by service name and proxies the
    metric and event streams. See proto/BUS.md. */
#include "maekin.h"

#include "broker_router.h"
#include "broker_stream.h"
#include "mk_cfg.h"
#include "mk_limits.h"
#include "mk_wire.h"

static const mk_cfg_item_t s_schema[] = {
    {"bus/endpoint", MK_CFG_STR, "tcp://127.0.0.1:7010", "request endpoint (ROUTER) to bind"},
    {"bus/stream_in", MK_CFG_STR, "tcp://127.0.0.1:7011", "publishers' endpoint (XSUB) to bind"},
    {"bus/stream_out", MK_CFG_STR, "tcp://127.0.0.1:7012", "subscribers' endpoint (XPUB) to bind"},
    {"bus/heartbeat_ms", MK_CFG_INT, MK_STRINGIFY (MK_WIRE_HEARTBEAT_MS),
     "the workers' heartbeat interval in ms (theirs is " MK_STRINGIFY (
         MK_WIRE_HEARTBEAT_MS) "): one silent for three of these is forgotten"},
    {"broker/max_pending", MK_CFG_INT, "20000", "open requests one worker may hold"},
    {"broker/timeout_s", MK_CFG_INT, "300", "answer 504 after this long without a reply"},
    {"log/level", MK_CFG_STR, "info", "debug, info, warn or error"},
    {NULL, 0, NULL, NULL}};

int
main (int argc, char **argv)
{
    int exit_code;
    mk_cfg_t *cfg =
        mk_cfg_main ("maekin-broker", "The Maekin bus.", s_schema, argc, argv, &exit_code);
    if (!cfg)
        return exit_code;
    int64_t heartbeat_ms = mk_cfg_int (cfg, "bus/heartbeat_ms");
    int64_t max_pending = mk_cfg_int (cfg, "broker/max_pending");
    int64_t timeout_s = mk_cfg_int (cfg, "broker/timeout_s");
    if (heartbeat_ms < 10 || heartbeat_ms > 60000 || max_pending < 1 || max_pending > 65536
        || timeout_s < 1 || timeout_s > 604800) {
        fprintf (stderr, "maekin-broker: heartbeat_ms must be 10..60000, max_pending 1..65536 "
                         "and timeout_s 1..604800 (a week)\n");
        mk_cfg_destroy (&cfg);
        return 2;
    }
    broker_router_opts_t opts = {
        .endpoint = mk_cfg_str (cfg, "bus/endpoint"),
        .heartbeat_ms = (int) heartbeat_ms,
        .max_pending = (int) max_pending,
        .timeout_ms = (int) (timeout_s * 1000),
        .events = BROKER_EVENTS_ENDPOINT,
    };
    if (mk_cfg_check_only (cfg))
        return mk_cfg_check_done (&cfg, "maekin-broker");
    zactor_t *router = broker_router_new (&opts);
    //  The stream takes the router's own events too, inside the process (bound first:
    //  the last endpoint bound is the one the stream says it has).
    char *stream_in =
        zsys_sprintf ("%s,%s", BROKER_EVENTS_ENDPOINT, mk_cfg_str (cfg, "bus/stream_in"));
    zactor_t *stream = broker_stream_new (stream_in, mk_cfg_str (cfg, "bus/stream_out"));
    free (stream_in);
    if (!router || !stream) {
        fprintf (stderr, "maekin-broker: cannot bind its endpoints (in use? see the log above)\n");
        zactor_destroy (&router);
        zactor_destroy (&stream);
        mk_cfg_destroy (&cfg);
        return 1;
    }
    mk_info ("requests on %s, streams in %s out %s", opts.endpoint,
             mk_cfg_str (cfg, "bus/stream_in"), mk_cfg_str (cfg, "bus/stream_out"));
    //  Wait for SIGINT or SIGTERM: CZMQ's handler sets zsys_interrupted.
    while (!zsys_interrupted)
        zclock_sleep (100);
    mk_info ("stopping");
    zactor_destroy (&router);
    zactor_destroy (&stream);
    mk_cfg_destroy (&cfg);
    return 0;
}

/*  maekin-broker: the bus. Routes requests to workers by service name and proxies the
    metric and event streams. See proto/BUS.md. */
#include "maekin.h"

#include "broker_router.h"
#include "broker_stream.h"
#include "mk_cfg.h"
#include "mk_limits.h"
#include "mk_sock.h"
#include "mk_wire.h"
#include "mk_zap.h"

static const mk_cfg_item_t s_schema[] = {
    {"bus/endpoint", MK_CFG_STR, "tcp://127.0.0.1:7010", "request endpoint (ROUTER) to bind"},
    {"bus/stream_in", MK_CFG_STR, "tcp://127.0.0.1:7011", "publishers' endpoint (XSUB) to bind"},
    {"bus/stream_out", MK_CFG_STR, "tcp://127.0.0.1:7012", "subscribers' endpoint (XPUB) to bind"},
    {"bus/heartbeat_ms", MK_CFG_INT, MK_STRINGIFY (MK_WIRE_HEARTBEAT_MS),
     "the workers' heartbeat interval in ms (theirs is " MK_STRINGIFY (
         MK_WIRE_HEARTBEAT_MS) "): one silent for three of these is forgotten"},
    {"broker/max_pending", MK_CFG_INT, "20000", "open requests one worker may hold"},
    {"broker/timeout_s", MK_CFG_INT, "300", "answer 504 after this long without a reply"},
    {"bus/security", MK_CFG_STR, "curve",
     "curve: the bus encrypted and every key checked; none: plain text, for benchmarks"},
    {"bus/key", MK_CFG_STR, "",
     "the broker's key pair: broker.key_secret, made by 'maekinsh admin keygen DIR broker'"},
    {"bus/controller_key", MK_CFG_STR, "",
     "the controller's public key (its .key file or 40 characters of Z85); during a "
     "rotation, the old and the new, comma-separated"},
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
    char *error = NULL;
    bool secure = streq (mk_cfg_str (cfg, "bus/security"), "curve");
    const char *controller_key = mk_cfg_str (cfg, "bus/controller_key");
    if (mk_sock_secure_cfg (cfg, true, &error) != 0
        || (secure && !*controller_key
            && (error = strdup ("bus/controller_key is not set: the broker lets in the "
                                "controller by its public key")))) {
        fprintf (stderr, "maekin-broker: %s\n", error);
        free (error);
        mk_cfg_destroy (&cfg);
        return 2;
    }
    broker_router_opts_t opts = {
        .endpoint = mk_cfg_str (cfg, "bus/endpoint"),
        .heartbeat_ms = (int) heartbeat_ms,
        .max_pending = (int) max_pending,
        .timeout_ms = (int) (timeout_s * 1000),
        .events = BROKER_EVENTS_ENDPOINT,
        .controller_keys = secure ? controller_key : NULL,
    };
    if (mk_cfg_check_only (cfg))
        return mk_cfg_check_done (&cfg, "maekin-broker");
    //  With CURVE, ZAP lets every key in (plain text never): what each message may do is
    //  decided by its key, in the router and the stream (broker_keys).
    mk_zap_t *zap = secure ? mk_zap_new () : NULL;
    if (secure && !zap) {
        mk_cfg_destroy (&cfg);
        return 1;
    }
    if (zap) {
        mk_zap_open (zap, MK_SOCK_ZAP_REQUESTS);
        mk_zap_open (zap, MK_SOCK_ZAP_STREAMS);
    }
    zactor_t *router = broker_router_new (&opts);
    //  The stream takes the router's own events too, inside the process (bound first:
    //  the last endpoint bound is the one the stream says it has).
    char *stream_in =
        zsys_sprintf ("%s,%s", BROKER_EVENTS_ENDPOINT, mk_cfg_str (cfg, "bus/stream_in"));
    zactor_t *stream =
        broker_stream_new (stream_in, mk_cfg_str (cfg, "bus/stream_out"), opts.controller_keys);
    free (stream_in);
    if (!router || !stream) {
        fprintf (stderr, "maekin-broker: cannot bind its endpoints (in use? see the log above)\n");
        zactor_destroy (&router);
        zactor_destroy (&stream);
        mk_zap_destroy (&zap);
        mk_cfg_destroy (&cfg);
        return 1;
    }
    mk_info ("requests on %s, streams in %s out %s, %s", opts.endpoint,
             mk_cfg_str (cfg, "bus/stream_in"), mk_cfg_str (cfg, "bus/stream_out"),
             secure ? "CURVE" : "in plain text (bus/security = none)");
    //  Wait for SIGINT or SIGTERM: CZMQ's handler sets zsys_interrupted.
    while (!zsys_interrupted)
        zclock_sleep (100);
    mk_info ("stopping");
    zactor_destroy (&router);
    zactor_destroy (&stream);
    mk_zap_destroy (&zap);
    mk_sock_secure (NULL, NULL, false);
    mk_cfg_destroy (&cfg);
    return 0;
}

/*  bench_echo: the bare bus floor, a baseline that `make bench` prints beside Maekin's
    own figures.

    One process, three threads, all over tcp://127.0.0.1 on ephemeral ports:
    - a broker actor with a ROUTER for clients and a ROUTER for workers, routing each
      request by service name to the worker registered for it and the reply back;
    - one worker actor (DEALER) that registers for the service "echo" and echoes;
    - the client (DEALER) in the main thread, keeping a window of requests in flight.

    Frames are shaped like Maekin's: a 4-byte header, a service name, an 8-byte
    correlation id and a ~100-byte body. There is no envelope, no protobuf, no
    heartbeat and no retry: whatever Maekin measures above this is its own cost.

    With -c every connection is CURVE, as Maekin's bus is: the broker's two sockets serve
    with a key pair, the worker and the client each have theirs, and a ZAP handler
    (CZMQ's zauth) lets any key in: the floor of encryption and authentication.

    Output, one line per window:
    echo window=1 roundtrips_per_s=24000 p50_us=38.2 p99_us=70.1 n=20000
    (echo curve=on window=1 ... with -c) */

#include <czmq.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define S_SERVICE     "echo"
#define S_BODY_SIZE   100
#define S_WINDOW_MAX  1000 //  below the sockets' high-water marks: nothing is dropped
#define S_WINDOWS_MAX 8
#define S_WARMUP      1000 //  round trips per window before measuring
#define S_TIMEOUT_MS  5000 //  a reply later than this is a failure, not a figure

//  The header: two magic bytes, the version and the command.
enum {
    S_CMD_REQUEST = 1,
    S_CMD_REPLY = 2,
    S_CMD_READY = 3,      //  worker -> broker: serve the service in the next frame
    S_CMD_READY_ACK = 4,  //  broker -> worker: registered
    S_CMD_NO_SERVICE = 5, //  broker -> client: no worker for that service
};
#define S_MAGIC0  'M'
#define S_MAGIC1  'K'
#define S_VERSION 1

//  With -c: the broker's key pair and the peers' (one for the worker and the client: who
//  they are does not change what encryption costs). NULL: plain text.
static zcert_t *s_server_cert;
static zcert_t *s_peer_cert;

//  CURVE on a socket, before it binds or connects (nothing without -c).
static void
s_curve_server (zsock_t *sock)
{
    if (s_server_cert) {
        zcert_apply (s_server_cert, sock);
        zsock_set_curve_server (sock, 1);
        zsock_set_zap_domain (sock, "bench");
    }
}

static zsock_t *
s_dealer (const char *endpoint)
{
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    if (dealer && s_server_cert) {
        zcert_apply (s_peer_cert, dealer);
        zsock_set_curve_serverkey (dealer, zcert_public_txt (s_server_cert));
    }
    if (dealer && zsock_connect (dealer, "%s", endpoint) != 0)
        zsock_destroy (&dealer);
    return dealer;
}

//  The broker actor's state.
typedef struct {
    zsock_t *pipe;      //  the actor's pipe to its owner
    zsock_t *clients;   //  ROUTER facing clients
    zsock_t *workers;   //  ROUTER facing workers
    zhashx_t *services; //  service name -> routing id of its worker (zframe_t)
    uint64_t dropped;   //  malformed or unroutable messages
} s_broker_t;

//  The options of one run.
typedef struct {
    size_t count;               //  round trips per window; 0: the default per window
    double limit_s;             //  time limit per window, seconds
    int windows[S_WINDOWS_MAX]; //  windows to measure, in order
    int nwindows;               //  how many
    bool curve;                 //  -c: every connection CURVE
} s_options_t;

//  The figures of one window.
typedef struct {
    size_t done;      //  round trips completed
    double elapsed_s; //  from first send to last reply
    uint64_t *rtt_ns; //  each round trip's latency (done of them)
} s_result_t;

static uint64_t
s_now_ns (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

static void
s_header_set (byte *header, int command)
{
    header[0] = S_MAGIC0;
    header[1] = S_MAGIC1;
    header[2] = S_VERSION;
    header[3] = (byte) command;
}

//  The command of a header frame, or -2 if the frame is not a header of ours.
static int
s_header_command (zframe_t *frame)
{
    if (!frame || zframe_size (frame) != 4)
        return -2;
    const byte *data = zframe_data (frame);
    if (data[0] != S_MAGIC0 || data[1] != S_MAGIC1 || data[2] != S_VERSION)
        return -2;
    return data[3];
}

static zframe_t *
s_header_new (int command)
{
    byte header[4];
    s_header_set (header, command);
    return zframe_new (header, sizeof header);
}

//  Copy a service-name frame into name (a C string). -2 if it is empty or too long.
static int
s_service_name (zframe_t *frame, char *name, size_t size)
{
    if (!frame || zframe_size (frame) == 0 || zframe_size (frame) >= size)
        return -2;
    memcpy (name, zframe_data (frame), zframe_size (frame));
    name[zframe_size (frame)] = '\0';
    return 0;
}

static void
s_worker_frame_destroy (void **item)
{
    zframe_destroy ((zframe_t **) item);
}

//  Send a message and take it; one that cannot be sent (its peer is gone) is dropped.
static void
s_broker_send (s_broker_t *self, zmsg_t **msg_p, zsock_t *sock)
{
    if (zmsg_send (msg_p, sock) != 0) {
        self->dropped++;
        zmsg_destroy (msg_p);
    }
}

//  [worker id][READY][service]: remember the worker for that service and acknowledge.
static void
s_broker_handle_ready (s_broker_t *self, zframe_t *worker_id, zmsg_t *msg)
{
    char name[64];
    zframe_t *service = zmsg_pop (msg);
    if (s_service_name (service, name, sizeof name) == 0) {
        zhashx_update (self->services, name, zframe_dup (worker_id));
        zmsg_t *ack = zmsg_new ();
        zframe_t *header = s_header_new (S_CMD_READY_ACK);
        zmsg_append (ack, &worker_id);
        zmsg_append (ack, &header);
        s_broker_send (self, &ack, self->workers);
    } else
        self->dropped++;
    zframe_destroy (&service);
    zframe_destroy (&worker_id);
}

//  From a client, [client id][header][service][corr][body]: to the service's worker as
//  [worker id][header][client id][service][corr][body].
static void
s_broker_handle_client (s_broker_t *self, zmsg_t *msg)
{
    zframe_t *client_id = zmsg_pop (msg);
    zframe_t *header = zmsg_pop (msg);
    char name[64];
    if (!client_id || s_header_command (header) != S_CMD_REQUEST
        || s_service_name (zmsg_first (msg), name, sizeof name) != 0) {
        self->dropped++;
        zframe_destroy (&client_id);
        zframe_destroy (&header);
        zmsg_destroy (&msg);
        return;
    }
    zframe_t *worker_id = (zframe_t *) zhashx_lookup (self->services, name);
    if (!worker_id) {
        s_header_set (zframe_data (header), S_CMD_NO_SERVICE);
        zmsg_prepend (msg, &header);
        zmsg_prepend (msg, &client_id);
        s_broker_send (self, &msg, self->clients);
        return;
    }
    zmsg_prepend (msg, &client_id);
    zmsg_prepend (msg, &header);
    zmsg_pushmem (msg, zframe_data (worker_id), zframe_size (worker_id));
    s_broker_send (self, &msg, self->workers);
}

//  From a worker, a READY or [worker id][REPLY][client id][service][corr][body]: the
//  reply goes to its client as [client id][REPLY][service][corr][body].
static void
s_broker_handle_worker (s_broker_t *self, zmsg_t *msg)
{
    zframe_t *worker_id = zmsg_pop (msg);
    zframe_t *header = zmsg_pop (msg);
    int command = s_header_command (header);
    if (worker_id && command == S_CMD_READY)
        s_broker_handle_ready (self, worker_id, msg);
    else if (worker_id && command == S_CMD_REPLY && zmsg_size (msg) >= 2) {
        zframe_t *client_id = zmsg_pop (msg);
        zmsg_prepend (msg, &header);
        zmsg_prepend (msg, &client_id);
        s_broker_send (self, &msg, self->clients);
        zframe_destroy (&worker_id);
    } else {
        self->dropped++;
        zframe_destroy (&worker_id);
    }
    zframe_destroy (&header);
    zmsg_destroy (&msg);
}

//  Handle what a socket holds without waiting, at most `batch` messages, so a busy
//  socket costs one poll per batch rather than one per message. False if interrupted.
static bool
s_broker_drain (s_broker_t *self, zsock_t *sock, int batch)
{
    while (batch-- > 0 && (zsock_events (sock) & ZMQ_POLLIN)) {
        zmsg_t *msg = zmsg_recv (sock);
        if (!msg)
            return false;
        if (sock == self->clients)
            s_broker_handle_client (self, msg);
        else
            s_broker_handle_worker (self, msg);
    }
    return true;
}

//  The broker actor. Signals once bound, then sends its two endpoints on the pipe.
static void
s_broker_actor (zsock_t *pipe, void *args)
{
    (void) args;
    s_broker_t self = {.pipe = pipe};
    self.clients = zsock_new (ZMQ_ROUTER);
    self.workers = zsock_new (ZMQ_ROUTER);
    self.services = zhashx_new ();
    assert (self.clients && self.workers && self.services);
    zhashx_set_destructor (self.services, s_worker_frame_destroy);
    //  A reply to a peer that is gone is an error we want to see, not a silent drop.
    zsock_set_router_mandatory (self.clients, 1);
    zsock_set_router_mandatory (self.workers, 1);
    s_curve_server (self.clients);
    s_curve_server (self.workers);
    int client_port = zsock_bind (self.clients, "tcp://127.0.0.1:*");
    int worker_port = zsock_bind (self.workers, "tcp://127.0.0.1:*");
    zsock_signal (pipe, 0);
    if (client_port < 0 || worker_port < 0)
        zstr_send (pipe, "");
    else
        zstr_sendf (pipe, "tcp://127.0.0.1:%d\ntcp://127.0.0.1:%d", client_port, worker_port);

    zpoller_t *poller = zpoller_new (pipe, self.clients, self.workers, NULL);
    assert (poller);
    bool running = true;
    while (running) {
        void *which = zpoller_wait (poller, -1);
        if (!which)
            break; //  interrupted
        if (which == pipe) {
            char *command = zstr_recv (pipe);
            running = command && streq (command, "$TERM") ? false : running;
            zstr_free (&command);
        }
        running = running && s_broker_drain (&self, self.clients, 256)
                  && s_broker_drain (&self, self.workers, 256);
    }
    if (self.dropped)
        fprintf (stderr, "bench_echo: broker dropped %" PRIu64 " messages\n", self.dropped);
    zpoller_destroy (&poller);
    zhashx_destroy (&self.services);
    zsock_destroy (&self.clients);
    zsock_destroy (&self.workers);
}

//  The worker actor: registers for S_SERVICE at the endpoint in args, tells its owner
//  "READY" or "FAILED" on the pipe, then echoes every request as a reply.
static void
s_worker_actor (zsock_t *pipe, void *args)
{
    zsock_t *dealer = s_dealer ((const char *) args);
    zsock_signal (pipe, 0);
    if (!dealer) {
        zstr_send (pipe, "FAILED");
        return;
    }
    zsock_set_rcvtimeo (dealer, S_TIMEOUT_MS);
    zmsg_t *ready = zmsg_new ();
    zframe_t *ready_header = s_header_new (S_CMD_READY);
    zmsg_append (ready, &ready_header);
    zmsg_addstr (ready, S_SERVICE);
    if (zmsg_send (&ready, dealer) != 0)
        zmsg_destroy (&ready);
    zmsg_t *ack = zmsg_recv (dealer);
    bool registered = ack && s_header_command (zmsg_first (ack)) == S_CMD_READY_ACK;
    zmsg_destroy (&ack);
    zstr_send (pipe, registered ? "READY" : "FAILED");
    zsock_set_rcvtimeo (dealer, -1);

    zpoller_t *poller = zpoller_new (pipe, dealer, NULL);
    assert (poller);
    bool running = registered;
    while (running) {
        void *which = zpoller_wait (poller, -1);
        if (!which)
            break;
        if (which == pipe) {
            char *command = zstr_recv (pipe);
            running = command && streq (command, "$TERM") ? false : running;
            zstr_free (&command);
        }
        int batch = 256;
        while (running && batch-- > 0 && (zsock_events (dealer) & ZMQ_POLLIN)) {
            zmsg_t *msg = zmsg_recv (dealer);
            if (!msg) {
                running = false;
                break;
            }
            zframe_t *header = zmsg_first (msg);
            if (s_header_command (header) == S_CMD_REQUEST) {
                s_header_set (zframe_data (header), S_CMD_REPLY);
                zmsg_send (&msg, dealer);
            }
            zmsg_destroy (&msg);
        }
    }
    zpoller_destroy (&poller);
    zsock_destroy (&dealer);
}

static int
s_send_request (zsock_t *client, uint64_t corr, const byte *body)
{
    byte header[4];
    s_header_set (header, S_CMD_REQUEST);
    zmsg_t *msg = zmsg_new ();
    zmsg_addmem (msg, header, sizeof header);
    zmsg_addstr (msg, S_SERVICE);
    zmsg_addmem (msg, &corr, sizeof corr);
    zmsg_addmem (msg, body, S_BODY_SIZE);
    if (zmsg_send (&msg, client) == 0)
        return 0;
    fprintf (stderr, "bench_echo: send failed: %s\n", zmq_strerror (errno));
    zmsg_destroy (&msg);
    return -1;
}

//  Receive one reply and return its correlation id. -1 on timeout or interrupt, -2 if
//  the reply is malformed or says the service has no worker; reported here.
static int64_t
s_recv_reply (zsock_t *client)
{
    zmsg_t *msg = zmsg_recv (client);
    if (!msg) {
        fprintf (stderr, "bench_echo: no reply within %d ms%s\n", S_TIMEOUT_MS,
                 zsys_interrupted ? " (interrupted)" : "");
        return -1;
    }
    int command = s_header_command (zmsg_first (msg));
    zmsg_next (msg); //  the service
    zframe_t *corr = zmsg_next (msg);
    int64_t rc = -2;
    if (command == S_CMD_NO_SERVICE)
        fprintf (stderr, "bench_echo: the broker has no worker for '%s'\n", S_SERVICE);
    else if (command != S_CMD_REPLY || zmsg_size (msg) != 4 || !corr
             || zframe_size (corr) != sizeof (uint64_t)
             || zframe_size (zmsg_last (msg)) != S_BODY_SIZE)
        fprintf (stderr, "bench_echo: malformed reply (%zu frames)\n", zmsg_size (msg));
    else {
        uint64_t value;
        memcpy (&value, zframe_data (corr), sizeof value);
        rc = value > INT64_MAX ? -2 : (int64_t) value;
    }
    zmsg_destroy (&msg);
    return rc;
}

//  Run `count` round trips keeping `window` in flight, stopping early (after draining
//  what is in flight) once limit_s has passed. Fills result if given. 0, or -1.
static int
s_run_window (zsock_t *client, int window, size_t count, double limit_s, s_result_t *result)
{
    byte body[S_BODY_SIZE];
    for (size_t i = 0; i < sizeof body; i++)
        body[i] = (byte) ('a' + i % 26);
    //  sent_ns[corr] is the send time of a request in flight, 0 once it is answered.
    uint64_t *sent_ns = (uint64_t *) calloc (count, sizeof (uint64_t));
    uint64_t *rtt_ns = (uint64_t *) calloc (count, sizeof (uint64_t));
    assert (sent_ns && rtt_ns);
    int rc = 0;
    size_t next = 0, done = 0;
    uint64_t start = s_now_ns ();
    uint64_t deadline = start + (uint64_t) (limit_s * 1e9);
    uint64_t now = start;
    while (next < count && next < (size_t) window) {
        sent_ns[next] = s_now_ns ();
        if (s_send_request (client, next, body) != 0) {
            rc = -1;
            break;
        }
        next++;
    }
    while (rc == 0 && done < next) {
        int64_t corr = s_recv_reply (client);
        now = s_now_ns ();
        if (corr < 0 || (size_t) corr >= next || sent_ns[corr] == 0) {
            if (corr >= 0)
                fprintf (stderr, "bench_echo: unexpected correlation id %" PRId64 "\n", corr);
            rc = -1;
            break;
        }
        rtt_ns[done++] = now - sent_ns[corr];
        sent_ns[corr] = 0;
        if (next < count && now < deadline) {
            sent_ns[next] = now;
            if (s_send_request (client, next, body) != 0)
                rc = -1;
            next++;
        }
    }
    free (sent_ns);
    if (result && rc == 0) {
        result->done = done;
        result->elapsed_s = (double) (now - start) / 1e9;
        result->rtt_ns = rtt_ns;
    } else
        free (rtt_ns);
    return rc;
}

static int
s_compare_u64 (const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return x < y ? -1 : x > y;
}

//  The nearest-rank percentile of sorted values, in microseconds.
static double
s_percentile_us (const uint64_t *sorted, size_t n, double p)
{
    size_t rank = (size_t) (p * (double) n + 0.999999);
    rank = rank < 1 ? 1 : rank > n ? n : rank;
    return (double) sorted[rank - 1] / 1000.0;
}

static void
s_usage (FILE *out)
{
    fprintf (out,
             "usage: bench_echo [-c] [-n COUNT] [-t SECONDS] [-w LIST]\n"
             "  The bare bus floor: client DEALER -> broker ROUTER -> worker DEALER ->\n"
             "  broker -> client over tcp://127.0.0.1, one line of figures per window.\n"
             "  -n COUNT    round trips per window (default 20000 for window 1,\n"
             "              200000 for larger windows)\n"
             "  -t SECONDS  time limit per window (default 8); stops early if reached\n"
             "  -w LIST     windows of requests in flight, comma-separated, each 1..%d\n"
             "              (default 1,256)\n"
             "  -c          every connection CURVE (a ZAP handler lets any key in)\n"
             "  -h          this help\n",
             S_WINDOW_MAX);
}

//  Parse a whole decimal number in [min, max]. 0, or -1 with an error printed.
static int
s_parse_count (const char *option, const char *text, unsigned long long min, unsigned long long max,
               unsigned long long *value)
{
    char *end;
    errno = 0;
    unsigned long long number = strtoull (text, &end, 10);
    if (errno || end == text || *end || *text == '-' || number < min || number > max) {
        fprintf (stderr, "bench_echo: %s '%s' is not a number from %llu to %llu\n", option, text,
                 min, max);
        return -1;
    }
    *value = number;
    return 0;
}

//  Parse the options into opts. 0 to run, 1 after -h, 2 on a bad option.
static int
s_parse_options (int argc, char **argv, s_options_t *opts)
{
    *opts = (s_options_t){.limit_s = 8, .windows = {1, 256}, .nwindows = 2};
    int opt;
    opterr = 0;
    while ((opt = getopt (argc, argv, ":chn:t:w:")) != -1) {
        unsigned long long value;
        char *end;
        switch (opt) {
        case 'h':
            s_usage (stdout);
            return 1;
        case 'c':
            opts->curve = true;
            break;
        case 'n':
            if (s_parse_count ("-n", optarg, 1, 10000000, &value))
                return 2;
            opts->count = (size_t) value;
            break;
        case 't':
            errno = 0;
            opts->limit_s = strtod (optarg, &end);
            if (errno || end == optarg || *end || !(opts->limit_s > 0) || opts->limit_s > 86400) {
                fprintf (stderr,
                         "bench_echo: -t '%s' is not a number of seconds "
                         "above 0\n",
                         optarg);
                return 2;
            }
            break;
        case 'w': {
            opts->nwindows = 0;
            char *list = strdup (optarg);
            assert (list);
            char *save = NULL;
            int rc = 0;
            for (char *item = strtok_r (list, ",", &save); item && rc == 0;
                 item = strtok_r (NULL, ",", &save)) {
                if (opts->nwindows == S_WINDOWS_MAX) {
                    fprintf (stderr, "bench_echo: -w lists more than %d windows\n", S_WINDOWS_MAX);
                    rc = 2;
                } else if (s_parse_count ("-w", item, 1, S_WINDOW_MAX, &value))
                    rc = 2;
                else
                    opts->windows[opts->nwindows++] = (int) value;
            }
            free (list);
            if (rc == 0 && opts->nwindows == 0) {
                fprintf (stderr, "bench_echo: -w '%s' lists no window\n", optarg);
                rc = 2;
            }
            if (rc)
                return rc;
            break;
        }
        case ':':
            fprintf (stderr, "bench_echo: option -%c needs a value\n", optopt);
            s_usage (stderr);
            return 2;
        default:
            fprintf (stderr, "bench_echo: unknown option -%c\n", optopt);
            s_usage (stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf (stderr, "bench_echo: unexpected argument '%s'\n", argv[optind]);
        s_usage (stderr);
        return 2;
    }
    return 0;
}

//  Measure one window and print its line. 0, or -1 (reported).
static int
s_measure (zsock_t *client, int window, size_t count, double limit_s)
{
    s_result_t result;
    if (s_run_window (client, window, S_WARMUP, limit_s, NULL)
        || s_run_window (client, window, count, limit_s, &result))
        return -1;
    qsort (result.rtt_ns, result.done, sizeof (uint64_t), s_compare_u64);
    printf ("echo %swindow=%d roundtrips_per_s=%.0f p50_us=%.1f p99_us=%.1f n=%zu\n",
            s_server_cert ? "curve=on " : "", window, (double) result.done / result.elapsed_s,
            s_percentile_us (result.rtt_ns, result.done, 0.50),
            s_percentile_us (result.rtt_ns, result.done, 0.99), result.done);
    fflush (stdout);
    free (result.rtt_ns);
    return 0;
}

int
main (int argc, char **argv)
{
    s_options_t opts;
    int rc = s_parse_options (argc, argv, &opts);
    if (rc)
        return rc == 1 ? 0 : rc;

    zactor_t *auth = NULL;
    if (opts.curve) {
        s_server_cert = zcert_new ();
        s_peer_cert = zcert_new ();
        auth = zactor_new (zauth, NULL);
        assert (auth);
        zstr_sendx (auth, "CURVE", CURVE_ALLOW_ANY, NULL);
        zsock_wait (auth);
    }
    zactor_t *worker = NULL;
    zsock_t *client = NULL;
    char *status = NULL;
    char *client_endpoint = NULL, *worker_endpoint = NULL;
    zactor_t *broker = zactor_new (s_broker_actor, NULL);
    assert (broker);
    char *endpoints = zstr_recv (broker);
    char *newline = endpoints ? strchr (endpoints, '\n') : NULL;
    if (newline) {
        *newline = '\0';
        client_endpoint = endpoints;
        worker_endpoint = newline + 1;
    }
    rc = 1;
    if (!client_endpoint) {
        fprintf (stderr, "bench_echo: the broker could not bind to tcp://127.0.0.1\n");
        goto cleanup;
    }
    worker = zactor_new (s_worker_actor, worker_endpoint);
    assert (worker);
    status = zstr_recv (worker);
    if (!status || !streq (status, "READY")) {
        fprintf (stderr, "bench_echo: the worker could not register at '%s'\n", worker_endpoint);
        goto cleanup;
    }
    client = s_dealer (client_endpoint);
    if (!client) {
        fprintf (stderr, "bench_echo: cannot connect to '%s'\n", client_endpoint);
        goto cleanup;
    }
    zsock_set_rcvtimeo (client, S_TIMEOUT_MS);
    for (int i = 0; i < opts.nwindows; i++) {
        int window = opts.windows[i];
        size_t count = opts.count ? opts.count : window == 1 ? 20000 : 200000;
        if (s_measure (client, window, count, opts.limit_s))
            goto cleanup;
    }
    rc = 0;

cleanup:
    zsock_destroy (&client);
    zactor_destroy (&worker);
    zactor_destroy (&broker);
    zactor_destroy (&auth);
    zcert_destroy (&s_server_cert);
    zcert_destroy (&s_peer_cert);
    zstr_free (&status);
    zstr_free (&endpoints);
    return rc;
}

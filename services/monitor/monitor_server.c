/*  monitor_server: maekin-monitor's actor (monitor_server.h). A zloop: the pipe, and one
    timer that samples every host and publishes its samples in one pass. */
#include "monitor_server.h"

#include "monitor_encode.h"
#include "monitor_guests.h"
#include "monitor_source.h"
#include "monitor_view.h"

#include "mk_actor.h"
#include "mk_hosts.h"
#include "mk_msg.h"
#include "mk_sock.h"

#include <inttypes.h>

typedef struct {
    char name[64];
    uint64_t sender; //  its id on the multicast group
    monitor_source_t *source;
    monitor_encoder_t *encoder;
    monitor_guests_t *guests; //  its guests' values from libvirt, or NULL
    monitor_vms_t *vms;       //  ... as they came back, for the next message
} s_host_t;

typedef struct {
    zsock_t *pipe;
    zsock_t *pub; //  to the broker's stream_in
    s_host_t *hosts;
    size_t host_count;
    int interval_ms;
    bool compare;         //  measure what one message per VM would cost
    uint64_t published;   //  samples sent
    uint64_t failed;      //  samples a source could not take
    uint64_t guests_late; //  intervals a libvirt call was still out
    monitor_encode_stats_t stats;
    monitor_sample_t sample;
    zsock_t *pub_events;    //  the stream connection's events (ZeroMQ's socket monitor)
    zsock_t *info;          //  the view's endpoint, or NULL
    monitor_view_t *view;   //  every host heard
    monitor_mcast_t *mcast; //  the group, or NULL
    monitor_mcast_mode_t mode;
    bool connected;       //  the stream's connection is up
    int64_t lost_ms;      //  when it went down (or we started), mono
    bool away;            //  the broker is taken to be away
    uint64_t undecodable; //  datagrams that passed the filter but held no sample
} s_server_t;

char *
monitor_opts_check (const monitor_opts_t *opts)
{
    if (!opts->stream_in || !*opts->stream_in)
        return zsys_sprintf ("'bus/stream_in' names no endpoint");
    if (opts->host_count < 1 || opts->host_count > MONITOR_HOSTS_MAX)
        return zsys_sprintf ("'monitor/hosts' must name 1 to %d hosts", MONITOR_HOSTS_MAX);
    if (opts->full_every < 1 || opts->full_every > MONITOR_FULL_EVERY_MAX)
        return zsys_sprintf ("'monitor/full_every' must be at least 1 and at most %d",
                             MONITOR_FULL_EVERY_MAX);
    if (opts->interval_ms < MONITOR_INTERVAL_MIN_MS || opts->interval_ms > MONITOR_INTERVAL_MAX_MS)
        return zsys_sprintf ("'monitor/interval_ms' must be at least %d and at most %d",
                             MONITOR_INTERVAL_MIN_MS, MONITOR_INTERVAL_MAX_MS);
    if (opts->mcast_mode != MONITOR_MCAST_OFF) {
        char *why = monitor_mcast_check (&opts->mcast);
        if (why)
            return why;
    }
    for (size_t i = 0; i < opts->host_count; i++) {
        char *why = NULL;
        monitor_source_t *source =
            monitor_source_new (opts->hosts[i].name, opts->hosts[i].source, &why);
        monitor_source_destroy (&source);
        if (why) {
            char *error = zsys_sprintf ("'monitor/hosts': host '%s': %s", opts->hosts[i].name, why);
            free (why);
            return error;
        }
    }
    return NULL;
}

monitor_host_t *
monitor_hosts_parse (const char *text, size_t *count, char **error)
{
    //  The same layout as mk_hosts's pairs: name, then value.
    _Static_assert(sizeof (monitor_host_t) == sizeof (mk_host_pair_t), "one layout");
    return (monitor_host_t *) mk_hosts_parse (text, "monitor/hosts", "source", MONITOR_HOSTS_MAX,
                                              count, error);
}

//  Take the guests' values that came back from libvirt: the next message carries them.
static int
s_guests_back (zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    s_host_t *host = (s_host_t *) arg;
    monitor_vms_destroy (&host->vms);
    host->vms = monitor_guests_take (host->guests);
    return 0;
}

//  The view takes a sample: our own, or one heard on the group.
static void
s_hear (s_server_t *self, const void *data, size_t size, const char *via)
{
    const char *why = NULL;
    Maekin__Envelope *env = mk_msg_unpack (data, size, &why);
    if (env && env->body_case == MAEKIN__ENVELOPE__BODY_HOST_SAMPLE)
        monitor_view_take (self->view, env->host_sample, via, zclock_time ());
    else
        self->undecodable++;
    mk_msg_free (&env);
}

//  Sample one host and publish its message: two frames, the topic and the envelope.
static void
s_sample_host (s_server_t *self, s_host_t *host)
{
    if (monitor_source_sample (host->source, &self->sample) != 0) {
        self->failed++;
        return;
    }
    int64_t now = zclock_time ();
    monitor_vms_t none = {now, 0, NULL};
    monitor_vms_t *vms = monitor_source_guests (host->source);
    const monitor_vms_t *carried = vms ? vms : host->guests ? host->vms : &none;
    zmsg_t *msg = monitor_encoder_message (host->encoder, now, &self->sample, carried, &self->stats,
                                           self->compare);
    s_hear (self, zframe_data (zmsg_last (msg)), zframe_size (zmsg_last (msg)), "local");
    if (self->mcast && (self->mode == MONITOR_MCAST_ONLY || self->away)) {
        zframe_t *body = zmsg_last (msg);
        monitor_mcast_send (self->mcast, host->sender, zframe_data (body), zframe_size (body));
    }
    if (self->mode == MONITOR_MCAST_ONLY || zmsg_send (&msg, self->pub) == 0)
        self->published++;
    zmsg_destroy (&msg);
    monitor_vms_destroy (&vms);
    if (host->guests) {
        //  Values go out once; then ask for the next (unless the last call still hangs).
        monitor_vms_destroy (&host->vms);
        if (!monitor_guests_ask (host->guests))
            self->guests_late++;
    }
}

//  Whether the broker is away: its stream's connection has been down for an interval
//  (at least a second). The connection says so at no cost in bytes: a broker that stops
//  closes it, and one whose node dies leaves our samples unacknowledged, which ends it
//  after ZMQ_TCP_MAXRT. (An echo of our own samples said it too, at the price of every
//  sample coming back to every node.)
static void
s_check_broker (s_server_t *self)
{
    int64_t grace = self->interval_ms > 1000 ? self->interval_ms : 1000;
    int64_t lost_for = zclock_mono () - self->lost_ms;
    bool away = !self->connected && lost_for >= grace;
    if (away && !self->away)
        mk_warn ("monitor: the broker's stream has been unreachable for %" PRId64 " ms%s", lost_for,
                 self->mode == MONITOR_MCAST_FALLBACK ? "; sending to the multicast group too"
                                                      : "");
    else if (!away && self->away)
        mk_info ("monitor: the broker's stream is back%s",
                 self->mode == MONITOR_MCAST_FALLBACK ? "; multicast stops" : "");
    self->away = away;
}

//  The stream's connection went up or down.
static int
s_pub_event (zloop_t *loop, zsock_t *reader, void *arg)
{
    s_server_t *self = (s_server_t *) arg;
    zmsg_t *msg = mk_sock_recv_nowait (reader);
    zframe_t *head = msg ? zmsg_first (msg) : NULL;
    if (head && zframe_size (head) >= 2) {
        uint16_t event;
        memcpy (&event, zframe_data (head), 2); //  host order, as libzmq writes it
        mk_sock_rekey_note (self->pub, event);  //  the broker's key may be changing
        if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
            self->connected = true;
        else if (event == ZMQ_EVENT_DISCONNECTED && self->connected) {
            self->connected = false;
            self->lost_ms = zclock_mono ();
        }
        s_check_broker (self);
    }
    zmsg_destroy (&msg);
    return 0;
}

static int
s_mcast_in (zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    s_server_t *self = (s_server_t *) arg;
    const uint8_t *payload;
    size_t size;
    for (int i = 0; i < 256; i++) {
        int verdict = monitor_mcast_recv (self->mcast, &payload, &size);
        if (verdict < 0)
            break;
        if (verdict == MONITOR_DGRAM_OK)
            s_hear (self, payload, size, "multicast");
    }
    return 0;
}

//  A question about the view: an Envelope asking host_list, answered with all of it.
static int
s_info_in (zloop_t *loop, zsock_t *reader, void *arg)
{
    s_server_t *self = (s_server_t *) arg;
    zmsg_t *msg = mk_sock_recv_nowait (reader);
    if (!msg)
        return 0;
    //  From a REQ: identity, empty delimiter, body.
    zframe_t *identity = zmsg_pop (msg);
    zframe_t *empty = zmsg_pop (msg);
    zframe_t *body = zmsg_pop (msg);
    Maekin__Envelope answer = MAEKIN__ENVELOPE__INIT;
    Maekin__HostListReply list = MAEKIN__HOST_LIST_REPLY__INIT;
    const char *why = NULL;
    Maekin__Envelope *ask = body && zmsg_size (msg) == 0
                                ? mk_msg_unpack (zframe_data (body), zframe_size (body), &why)
                                : NULL;
    if (ask && ask->body_case == MAEKIN__ENVELOPE__BODY_HOST_LIST) {
        list.hosts = monitor_view_hosts (self->view, zclock_time (), &list.n_hosts);
        answer.body_case = MAEKIN__ENVELOPE__BODY_HOST_LIST_REPLY;
        answer.host_list_reply = &list;
    } else {
        answer.status = MK_BAD_REQUEST;
        answer.reason = "a monitor answers only host_list (maekinsh host info --local)";
    }
    if (identity && empty && zframe_size (empty) == 0) {
        zmsg_t *reply = zmsg_new ();
        zmsg_append (reply, &identity);
        zmsg_append (reply, &empty);
        zframe_t *packed = mk_msg_pack (&answer);
        zmsg_append (reply, &packed);
        zmsg_send (&reply, reader);
    }
    free (list.hosts);
    mk_msg_free (&ask);
    zframe_destroy (&identity);
    zframe_destroy (&empty);
    zframe_destroy (&body);
    zmsg_destroy (&msg);
    return 0;
}

static int
s_sample_all (zloop_t *loop, int timer_id, void *arg)
{
    s_server_t *self = (s_server_t *) arg;
    s_check_broker (self);
    for (size_t i = 0; i < self->host_count; i++)
        s_sample_host (self, &self->hosts[i]);
    return 0;
}

static int
s_handle_pipe (zloop_t *loop, zsock_t *reader, void *arg)
{
    s_server_t *self = (s_server_t *) arg;
    char *command = zstr_recv (reader);
    int rc = 0;
    if (!command || streq (command, "$TERM"))
        rc = -1;
    else if (streq (command, "STATS"))
        zstr_sendf (reader, "%" PRIu64 " %" PRIu64 " %" PRIu64 " %d", self->published, self->failed,
                    self->guests_late, self->away);
    zstr_free (&command);
    return rc;
}

static void
s_server_destroy (s_server_t **self_p)
{
    s_server_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->host_count; i++) {
        s_host_t *host = &self->hosts[i];
        monitor_source_destroy (&host->source);
        monitor_encoder_destroy (&host->encoder);
        monitor_guests_destroy (&host->guests);
        monitor_vms_destroy (&host->vms);
    }
    free (self->hosts);
    mk_sock_destroy (&self->pub);
    zsock_destroy (&self->pub_events);
    zsock_destroy (&self->info);
    monitor_view_destroy (&self->view);
    monitor_mcast_destroy (&self->mcast);
    free (self);
    *self_p = NULL;
}

//  The actor's state from the options, or NULL and *error (a new string).
static s_server_t *
s_server_new (zsock_t *pipe, const monitor_opts_t *opts, char **error)
{
    *error = monitor_opts_check (opts);
    if (*error)
        return NULL;
    s_server_t *self = (s_server_t *) zmalloc (sizeof (s_server_t));
    self->pipe = pipe;
    self->interval_ms = opts->interval_ms;
    self->hosts = (s_host_t *) zmalloc (opts->host_count * sizeof (s_host_t));
    for (size_t i = 0; i < opts->host_count; i++) {
        s_host_t *host = &self->hosts[i];
        snprintf (host->name, sizeof host->name, "%s", opts->hosts[i].name);
        char *why = NULL;
        host->source = monitor_source_new (opts->hosts[i].name, opts->hosts[i].source, &why);
        self->host_count = i + 1;
        if (!host->source) {
            *error = zsys_sprintf ("monitor: host '%s': %s", host->name, why);
            free (why);
            s_server_destroy (&self);
            return NULL;
        }
        host->sender = monitor_dgram_sender (host->name);
        host->encoder = monitor_encoder_new (host->name, opts->hosts[i].source, opts->interval_ms,
                                             (unsigned) opts->full_every);
        //  A real host's guests come from its hypervisor; a synthetic host makes its own.
        if (opts->guests_uri && *opts->guests_uri && streq (opts->hosts[i].source, "proc"))
            host->guests = monitor_guests_new (opts->guests_uri);
    }
    self->compare = opts->compare;
    self->view = monitor_view_new ();
    self->mode = opts->mcast_mode;
    self->lost_ms = zclock_mono (); //  a start's grace before the broker is missed
    //  Samples not acknowledged for two intervals (at least 2 s) end the connection:
    //  the broker's node is gone. With no sample in flight (nobody subscribes), TCP's
    //  keepalive finds it: probes after an interval of silence, two a second apart. A
    //  connection attempt to a node that does not answer gives up after 2 s and the
    //  next begins, so the stream is back soon after the node. The connection's events
    //  say when it is up (the bus's handshake done) or down. All are set before it
    //  connects (options apply to the connections made after them).
    self->pub = mk_sock_new (ZMQ_PUB, NULL);
    int maxrt = self->interval_ms > 1000 ? 2 * self->interval_ms : 2000;
    int idle_s = self->interval_ms > 1000 ? self->interval_ms / 1000 : 1;
    int on = 1, probes = 2, probe_s = 1, connect_ms = 2000;
    void *handle = zsock_resolve (self->pub);
    char *events = zsys_sprintf ("inproc://monitor-pub-events-%p", (void *) self);
    int rc = zmq_setsockopt (handle, ZMQ_TCP_MAXRT, &maxrt, sizeof maxrt);
    rc = rc ? rc : zmq_setsockopt (handle, ZMQ_TCP_KEEPALIVE, &on, sizeof on);
    rc = rc ? rc : zmq_setsockopt (handle, ZMQ_TCP_KEEPALIVE_IDLE, &idle_s, sizeof idle_s);
    rc = rc ? rc : zmq_setsockopt (handle, ZMQ_TCP_KEEPALIVE_INTVL, &probe_s, sizeof probe_s);
    rc = rc ? rc : zmq_setsockopt (handle, ZMQ_TCP_KEEPALIVE_CNT, &probes, sizeof probes);
    rc = rc ? rc : zmq_setsockopt (handle, ZMQ_CONNECT_TIMEOUT, &connect_ms, sizeof connect_ms);
    if (rc == 0)
        rc = zmq_socket_monitor (handle, events, MK_SOCK_REKEY_EVENTS);
    self->pub_events = rc == 0 ? zsock_new_pair (events) : NULL;
    zstr_free (&events);
    if (!self->pub_events)
        *error = zsys_sprintf ("monitor: cannot watch the stream's connection: %s",
                               zmq_strerror (zmq_errno ()));
    else if ((mk_sock_rekey_follow (self->pub, opts->stream_in),
              zsock_attach (self->pub, opts->stream_in, false) != 0))
        *error = zsys_sprintf ("monitor: cannot publish to '%s': %s", opts->stream_in,
                               zmq_strerror (zmq_errno ()));
    if (!*error && opts->info_endpoint && *opts->info_endpoint) {
        //  Another monitor answering there (two on one machine) costs this one only
        //  its answers: it samples and publishes all the same.
        self->info = mk_sock_new (ZMQ_ROUTER, opts->info_endpoint);
        if (!self->info)
            mk_warn ("monitor: cannot answer at '%s' (monitor/info_endpoint: another monitor "
                     "there?); maekinsh host info --local will not reach this one",
                     opts->info_endpoint);
    }
    if (!*error && self->mode != MONITOR_MCAST_OFF)
        self->mcast = monitor_mcast_new (&opts->mcast, error);
    if (*error)
        s_server_destroy (&self);
    return self;
}

static void
s_actor (zsock_t *pipe, void *args)
{
    char *error = NULL;
    s_server_t *self = s_server_new (pipe, (const monitor_opts_t *) args, &error);
    mk_actor_ready (pipe, error);
    if (!self)
        return;
    mk_info ("monitor: %zu host%s sampled every %d ms, published to %s", self->host_count,
             self->host_count == 1 ? "" : "s", self->interval_ms,
             ((const monitor_opts_t *) args)->stream_in);
    zloop_t *loop = zloop_new ();
    zloop_reader (loop, pipe, s_handle_pipe, self);
    for (size_t i = 0; i < self->host_count; i++)
        if (self->hosts[i].guests) {
            zmq_pollitem_t item = {NULL, monitor_guests_fd (self->hosts[i].guests), ZMQ_POLLIN, 0};
            zloop_poller (loop, &item, s_guests_back, &self->hosts[i]);
            monitor_guests_ask (self->hosts[i].guests); //  ready for the first message
        }
    zloop_reader (loop, self->pub_events, s_pub_event, self);
    if (self->info)
        zloop_reader (loop, self->info, s_info_in, self);
    if (self->mcast) {
        zmq_pollitem_t item = {NULL, monitor_mcast_fd (self->mcast), ZMQ_POLLIN, 0};
        zloop_poller (loop, &item, s_mcast_in, self);
    }
    zloop_timer (loop, (size_t) self->interval_ms, 0, s_sample_all, self);
    zloop_start (loop);
    zloop_destroy (&loop);
    monitor_encode_stats_t *st = &self->stats;
    mk_info ("monitor: published %" PRIu64 " messages, %" PRIu64 " bytes (%" PRIu64
             " full; VM entries: %" PRIu64 " sent, %" PRIu64 " left out as unchanged; %" PRIu64
             " metric values); %" PRIu64 " samples failed, %" PRIu64
             " intervals with a libvirt call still out",
             st->messages, st->bytes, st->full, st->vms_sent, st->vms_left_out, st->values,
             self->failed, self->guests_late);
    if (self->compare)
        mk_info ("monitor: as one message per VM, the same values: %" PRIu64 " bytes",
                 st->per_vm_bytes);
    if (self->mcast) {
        monitor_dgram_filter_t *filter = monitor_mcast_filter (self->mcast);
        char counts[256] = "";
        for (int v = 0; v < MONITOR_DGRAM_VERDICTS; v++)
            snprintf (counts + strlen (counts), sizeof counts - strlen (counts), "%s%s %" PRIu64,
                      v ? ", " : "", monitor_dgram_verdict_name ((monitor_dgram_verdict_t) v),
                      monitor_dgram_filter_count (filter, (monitor_dgram_verdict_t) v));
        mk_info ("monitor: multicast: %" PRIu64 " datagrams sent, %" PRIu64
                 " not sent; received: %s; %" PRIu64 " taken held no sample",
                 monitor_mcast_sent (self->mcast), monitor_mcast_send_failed (self->mcast), counts,
                 self->undecodable);
    }
    s_server_destroy (&self);
}

zactor_t *
monitor_server_new (const monitor_opts_t *opts)
{
    assert (opts);
    return mk_actor_start (s_actor, (void *) opts);
}

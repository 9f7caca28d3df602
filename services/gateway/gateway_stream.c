/*  gateway_stream: the WebSocket stream's hub and its subscribers. See gateway_stream.h.
    One mutex guards the list of subscribers and their queues; a subscriber's thread waits
    on its own condition variable. A message of the broker's stream is one shared item,
    freed by the last subscriber done with it. */
#include "gateway_stream.h"

#include "gateway_http.h"
#include "mk_codec.h"
#include "mk_msg.h"

#include <pthread.h>
#include <stdatomic.h>

#define STREAMS 3 //  event.vm, event.task, event.host
static const char *const s_streams[STREAMS] = {"event.vm", "event.task", "event.host"};
static const char *const s_short[STREAMS] = {"vm", "task", "host"};

#define VIS_MAX   64  //  the VIs a subscriber is told of (more: it sees the first 64's)
#define HOSTS_MAX 256 //  the hosts a subscriber may name in metrics=

//  A message of the broker's stream, shared by the queues it is in.
typedef struct {
    atomic_int refs;
    int stream;    //  0..2 an event stream, -1 a host's sample
    char host[64]; //  the sample's host
    size_t size;
    uint8_t body[]; //  the packed Envelope
} item_t;

typedef struct sub_s {
    struct sub_s *next;
    gateway_stream_t *hub;
    struct mg_connection *conn;
    char token[160]; //  the caller's credential, for catching up
    bool admin;      //  sees everything
    char (*vis)[64]; //  the VIs they hold a role in (vi_count of them)
    size_t vi_count;
    bool want[STREAMS];      //  the event streams asked for
    bool catch_up[STREAMS];  //  ... and from where: after[] given
    uint64_t after[STREAMS]; //  the last seq sent (or seen, as the client said)
    bool metrics_all;        //  every host's samples
    char (*hosts)[64];       //  ... or these hosts' (host_count of them)
    size_t host_count;
    zlistx_t *queue;     //  item_t *, not yet written
    bool overflow;       //  more than queue_max: closed as too slow
    bool closing;        //  the connection is closing: the thread ends
    pthread_cond_t cond; //  signalled on a new item or closing
    pthread_t thread;    //  writes to the connection
    bool started;        //  ... started (plain HTTP)
    bool tls;            //  written on civetweb's own thread (HTTPS)
} sub_t;

struct _gateway_stream_t {
    gateway_bus_t *bus;
    size_t queue_max;
    size_t stack; //  a subscriber's thread's stack, bytes
    pthread_mutex_t lock;
    sub_t *subs; //  every subscriber that is ready
    size_t count;
    uint64_t handed;
    bool stopping; //  the gateway is stopping: every writer ends
};

gateway_stream_t *
gateway_stream_new (gateway_bus_t *bus, size_t queue_max, size_t stack)
{
    gateway_stream_t *self = (gateway_stream_t *) zmalloc (sizeof (gateway_stream_t));
    self->bus = bus;
    self->queue_max = queue_max;
    self->stack = stack;
    pthread_mutex_init (&self->lock, NULL);
    return self;
}

void
gateway_stream_destroy (gateway_stream_t **self_p)
{
    gateway_stream_t *self = *self_p;
    if (!self)
        return;
    assert (!self->subs);
    pthread_mutex_destroy (&self->lock);
    free (self);
    *self_p = NULL;
}

static void
s_item_drop (item_t *item)
{
    if (atomic_fetch_sub (&item->refs, 1) == 1)
        free (item);
}

static bool
s_wants (const sub_t *sub, const item_t *item)
{
    if (item->stream >= 0)
        return sub->want[item->stream];
    if (sub->metrics_all)
        return true;
    for (size_t i = 0; i < sub->host_count; i++)
        if (streq (sub->hosts[i], item->host))
            return true;
    return false;
}

void
gateway_stream_publish (gateway_stream_t *self, const char *topic, const void *body, size_t size)
{
    int stream = -1;
    for (int i = 0; i < STREAMS; i++)
        if (streq (topic, s_streams[i]))
            stream = i;
    if (stream < 0 && strncmp (topic, "metric.host.", 12) != 0)
        return;
    item_t *item = (item_t *) malloc (sizeof (item_t) + size);
    if (!item)
        abort ();
    atomic_init (&item->refs, 1); //  the publisher's own, dropped below
    item->stream = stream;
    snprintf (item->host, sizeof item->host, "%s", stream < 0 ? topic + 12 : "");
    item->size = size;
    memcpy (item->body, body, size);
    pthread_mutex_lock (&self->lock);
    for (sub_t *sub = self->subs; sub; sub = sub->next) {
        if (sub->overflow || sub->closing || !s_wants (sub, item))
            continue;
        if (zlistx_size (sub->queue) >= self->queue_max) {
            sub->overflow = true; //  its thread closes it
            pthread_cond_signal (&sub->cond);
            continue;
        }
        atomic_fetch_add (&item->refs, 1);
        zlistx_add_end (sub->queue, item);
        self->handed++;
        pthread_cond_signal (&sub->cond);
    }
    pthread_mutex_unlock (&self->lock);
    s_item_drop (item);
}

void
gateway_stream_stop (gateway_stream_t *self)
{
    pthread_mutex_lock (&self->lock);
    self->stopping = true;
    for (sub_t *sub = self->subs; sub; sub = sub->next)
        pthread_cond_signal (&sub->cond);
    pthread_mutex_unlock (&self->lock);
}

void
gateway_stream_stats (gateway_stream_t *self, size_t *subscribers, uint64_t *handed)
{
    pthread_mutex_lock (&self->lock);
    *subscribers = self->count;
    *handed = self->handed;
    pthread_mutex_unlock (&self->lock);
}

//  ------------------------------------------------------------------ connecting

//  A bus request with the subscriber's credential: the reply (never NULL).
static Maekin__Envelope *
s_ask (gateway_stream_t *hub, const sub_t *sub, Maekin__Envelope *env)
{
    Maekin__Credential credential = MAEKIN__CREDENTIAL__INIT;
    credential.token = (char *) sub->token;
    if (*sub->token)
        env->credential = &credential;
    bool broker;
    Maekin__Envelope *reply = gateway_bus_call (hub->bus, "cloud", env, 30000, &broker);
    env->credential = NULL;
    return reply;
}

//  Who the caller is and which VIs they hold a role in: 0, or the HTTP status and why.
static int
s_whoami (gateway_stream_t *hub, sub_t *sub, char *why, size_t size)
{
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    Maekin__WhoamiRequest whoami = MAEKIN__WHOAMI_REQUEST__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_WHOAMI;
    env.whoami = &whoami;
    Maekin__Envelope *reply = s_ask (hub, sub, &env);
    int status = reply->status;
    if (status == MK_OK && reply->whoami_reply && reply->whoami_reply->user)
        sub->admin = reply->whoami_reply->user->admin;
    else if (status == MK_OK) { //  a credential that is no one's
        status = MK_UNAUTHORIZED;
        snprintf (why, size, "the credential names no user");
    } else
        snprintf (why, size, "%s", reply->reason && *reply->reason ? reply->reason : "refused");
    //  whoami has no 404 of its own: that is the broker's, no controller on the bus.
    if (status == MK_NOT_FOUND) {
        status = MK_UNAVAILABLE;
        snprintf (why, size, "the cloud's controller is not on the bus now; retry in a moment");
    }
    gateway_bus_reply_free (&reply);
    if (status != MK_OK || sub->admin)
        return status == MK_OK ? 0 : status;
    Maekin__Envelope list = MAEKIN__ENVELOPE__INIT;
    Maekin__ViListRequest vis = MAEKIN__VI_LIST_REQUEST__INIT;
    Maekin__ListRequest page = MAEKIN__LIST_REQUEST__INIT;
    page.limit = VIS_MAX;
    vis.page = &page;
    list.body_case = MAEKIN__ENVELOPE__BODY_VI_LIST;
    list.vi_list = &vis;
    reply = s_ask (hub, sub, &list);
    status = reply->status;
    if (status == MK_OK && reply->vi_list_reply) {
        size_t count =
            reply->vi_list_reply->n_vis < VIS_MAX ? reply->vi_list_reply->n_vis : VIS_MAX;
        sub->vis = (char (*)[64]) zmalloc ((count + 1) * 64);
        for (size_t i = 0; i < count; i++)
            snprintf (sub->vis[sub->vi_count++], 64, "%s", reply->vi_list_reply->vis[i]->name);
    } else
        snprintf (why, size, "%s", reply->reason && *reply->reason ? reply->reason : "refused");
    gateway_bus_reply_free (&reply);
    return status == MK_OK ? 0 : status;
}

//  The query string into what the subscriber wants: NULL, or why not (static text).
static const char *
s_query (sub_t *sub, const char *query)
{
    for (int i = 0; i < STREAMS; i++)
        sub->want[i] = true;
    char copy[2048];
    if (query && strlen (query) >= sizeof copy)
        return "the query string is too long";
    snprintf (copy, sizeof copy, "%s", query ? query : "");
    for (char *save = NULL, *pair = strtok_r (copy, "&", &save); pair;
         pair = strtok_r (NULL, "&", &save)) {
        char *value = strchr (pair, '=');
        if (!value)
            return "each query parameter needs a value: events=, after_vm=, metrics=";
        *value++ = 0;
        char decoded[1024];
        if (mg_url_decode (value, (int) strlen (value), decoded, sizeof decoded, 1) < 0)
            return "a query parameter's value is too long";
        if (streq (pair, "events")) {
            for (int i = 0; i < STREAMS; i++)
                sub->want[i] = false;
            for (char *s2 = NULL, *name = strtok_r (decoded, ",", &s2); name;
                 name = strtok_r (NULL, ",", &s2)) {
                int found = -1;
                for (int i = 0; i < STREAMS; i++)
                    if (streq (name, s_short[i]))
                        found = i;
                if (found < 0)
                    return "events= names vm, task and host (comma-separated)";
                sub->want[found] = true;
            }
        } else if (strncmp (pair, "after_", 6) == 0) {
            int found = -1;
            for (int i = 0; i < STREAMS; i++)
                if (streq (pair + 6, s_short[i]))
                    found = i;
            char *end = NULL;
            unsigned long long after = strtoull (decoded, &end, 10);
            if (found < 0 || !*decoded || *end || *decoded == '-')
                return "after_vm=, after_task= and after_host= take a sequence number";
            sub->after[found] = after;
            sub->catch_up[found] = true;
        } else if (streq (pair, "metrics")) {
            if (streq (decoded, "all"))
                sub->metrics_all = true;
            else if (!streq (decoded, "none"))
                for (char *s2 = NULL, *name = strtok_r (decoded, ",", &s2); name;
                     name = strtok_r (NULL, ",", &s2)) {
                    if (sub->host_count == HOSTS_MAX || strlen (name) >= 64)
                        return "metrics= names at most 256 hosts";
                    if (!sub->hosts) //  a subscriber's memory: only as many as it names
                        sub->hosts = (char (*)[64]) zmalloc (HOSTS_MAX * 64);
                    snprintf (sub->hosts[sub->host_count++], 64, "%s", name);
                }
        } else
            return "unknown query parameter: the stream takes events=, after_vm=, after_task=, "
                   "after_host= and metrics=";
    }
    for (int i = 0; i < STREAMS; i++)
        if (sub->catch_up[i] && !sub->want[i])
            return "an after_ for a stream that events= leaves out";
    return NULL;
}

//  Refuses the handshake with an HTTP error: civetweb's response functions do not
//  work before a WebSocket's handshake, so the answer is written whole here.
static int
s_refuse (const struct mg_connection *conn, int status, const char *reason)
{
    Maekin__Error error = MAEKIN__ERROR__INIT;
    error.status = status;
    error.reason = (char *) reason;
    char *body = mk_codec_write (&error.base, MK_CODEC_JSON, false);
    struct mg_connection *writable = (struct mg_connection *) conn;
    mg_printf (writable,
               "HTTP/1.1 %d %s\r\nContent-Type: application/json; charset=utf-8\r\n"
               "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
               status, mg_get_response_code_text (conn, status), strlen (body), body);
    free (body);
    return 1;
}

int
gateway_stream_connect (const struct mg_connection *conn, void *cbdata)
{
    gateway_stream_t *hub = (gateway_stream_t *) cbdata;
    struct mg_connection *writable = (struct mg_connection *) conn;
    //  A page of another site may open a WebSocket with the user's cookie: a browser
    //  says where the page came from, and it must be this gateway.
    const char *origin = mg_get_header (conn, "Origin");
    const char *host = mg_get_header (conn, "Host");
    char http[300], https[300];
    snprintf (http, sizeof http, "http://%s", host ? host : "");
    snprintf (https, sizeof https, "https://%s", host ? host : "");
    if (origin && (!host || (strcasecmp (origin, http) && strcasecmp (origin, https))))
        return s_refuse (conn, 403,
                         "the stream is opened from the gateway's own pages only "
                         "(another site's Origin)");
    //  civetweb answers the handshake with the key as it came: one that is not a
    //  handshake's (24 characters of base64) would fail it after this, and then civetweb
    //  would close the connection without telling the stream, which keeps its subscriber.
    const char *key = mg_get_header (conn, "Sec-WebSocket-Key");
    if (!key || strlen (key) != 24
        || strspn (key, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") != 24)
        return s_refuse (conn, 400, "Sec-WebSocket-Key must be 24 characters of base64 (RFC 6455)");
    sub_t *sub = (sub_t *) zmalloc (sizeof (sub_t));
    sub->hub = hub;
    const char *why = NULL;
    bool cookie;
    int status =
        gateway_http_credential (writable, false, sub->token, sizeof sub->token, &cookie, &why);
    char reason[256] = "";
    if (status == 0 && (why = s_query (sub, mg_get_request_info (conn)->query_string)))
        status = 400;
    if (status == 0)
        status = s_whoami (hub, sub, reason, sizeof reason);
    if (status) {
        free (sub->vis);
        free (sub->hosts);
        free (sub);
        return s_refuse (conn, status >= 400 && status < 600 ? status : 502, why ? why : reason);
    }
    sub->queue = zlistx_new ();
    pthread_condattr_t attr;
    pthread_condattr_init (&attr);
    pthread_condattr_setclock (&attr, CLOCK_MONOTONIC);
    pthread_cond_init (&sub->cond, &attr);
    pthread_condattr_destroy (&attr);
    mg_set_user_connection_data (conn, sub);
    return 0;
}

//  ------------------------------------------------------------------ writing

//  One StreamMessage as a text frame: 0, or -1 if the connection took it not.
static int
s_write (sub_t *sub, const Maekin__StreamMessage *message)
{
    char *text = mk_codec_write (&message->base, MK_CODEC_JSON, false);
    int rc = mg_websocket_write (sub->conn, MG_WEBSOCKET_OPCODE_TEXT, text, strlen (text));
    free (text);
    return rc > 0 ? 0 : -1;
}

static bool
s_vi_seen (const sub_t *sub, const char *vi)
{
    if (sub->admin)
        return true;
    for (size_t i = 0; i < sub->vi_count; i++)
        if (streq (sub->vis[i], vi))
            return true;
    return false;
}

//  What the subscriber missed of one stream, page by page, then `caught_up`: 0 or -1.
static int
s_catch_up (sub_t *sub, int stream)
{
    while (true) {
        Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
        Maekin__EventsSinceRequest since = MAEKIN__EVENTS_SINCE_REQUEST__INIT;
        since.stream = (char *) s_streams[stream];
        since.after = sub->after[stream];
        env.body_case = MAEKIN__ENVELOPE__BODY_EVENTS_SINCE;
        env.events_since = &since;
        Maekin__Envelope *reply = s_ask (sub->hub, sub, &env);
        Maekin__StreamMessage message = MAEKIN__STREAM_MESSAGE__INIT;
        message.topic = (char *) s_streams[stream];
        Maekin__Error error = MAEKIN__ERROR__INIT;
        int rc = 0;
        bool more = false;
        if (reply->status != MK_OK || !reply->events_since_reply) {
            error.status = reply->status;
            error.reason = reply->reason;
            message.error = &error;
            rc = -1;
        } else {
            Maekin__EventsSinceReply *page = reply->events_since_reply;
            more = page->n_events > 0 && page->last > sub->after[stream];
            if (page->last > sub->after[stream])
                sub->after[stream] = page->last;
            message.events = page;
            message.caught_up = !more;
        }
        if ((message.events && message.events->n_events) || message.caught_up || message.error)
            if (s_write (sub, &message) != 0)
                rc = -1;
        gateway_bus_reply_free (&reply);
        if (rc || !more)
            return rc;
    }
}

//  One message of the broker's stream, as this subscriber may see it: 0 or -1.
static int
s_write_item (sub_t *sub, const item_t *item)
{
    const char *why = NULL;
    Maekin__Envelope *env = mk_msg_unpack (item->body, item->size, &why);
    if (!env)
        return 0; //  not ours to judge: the broker passed it, the controller made it
    Maekin__StreamMessage message = MAEKIN__STREAM_MESSAGE__INIT;
    int rc = 0;
    if (item->stream >= 0 && env->body_case == MAEKIN__ENVELOPE__BODY_EVENTS_SINCE_REPLY) {
        //  Only events newer than what was sent, of the VIs the subscriber may see.
        Maekin__EventsSinceReply *events = env->events_since_reply;
        size_t kept = 0;
        for (size_t i = 0; i < events->n_events; i++) {
            Maekin__Event *event = events->events[i];
            bool keep = event->seq > sub->after[item->stream]
                        && (item->stream == 2 || s_vi_seen (sub, event->vi));
            if (event->seq > sub->after[item->stream])
                sub->after[item->stream] = event->seq;
            if (keep)
                events->events[kept++] = event;
            else
                maekin__event__free_unpacked (event, NULL);
        }
        events->n_events = kept;
        message.topic = (char *) s_streams[item->stream];
        message.events = events;
        if (kept)
            rc = s_write (sub, &message);
    } else if (item->stream < 0 && env->body_case == MAEKIN__ENVELOPE__BODY_HOST_SAMPLE) {
        //  A VM's values are its VI's: the administrator's alone here.
        Maekin__HostSample *sample = env->host_sample;
        if (!sub->admin) {
            for (size_t i = 0; i < sample->n_vms; i++)
                maekin__vm_sample__free_unpacked (sample->vms[i], NULL);
            sample->n_vms = 0;
        }
        char topic[80];
        snprintf (topic, sizeof topic, "metric.host.%s", item->host);
        message.topic = topic;
        message.sample = sample;
        rc = s_write (sub, &message);
    }
    mk_msg_free (&env);
    return rc;
}

//  Over TLS nothing reads the client while the stream is written (s_writer): a ping this
//  often finds a client that went away without a word, as civetweb's own pings do over HTTP.
#define TLS_PING_MS 30000

static void *
s_writer (void *arg)
{
    sub_t *sub = (sub_t *) arg;
    gateway_stream_t *hub = sub->hub;
    int rc = 0;
    for (int i = 0; i < STREAMS && rc == 0; i++)
        if (sub->catch_up[i])
            rc = s_catch_up (sub, i);
    pthread_mutex_lock (&hub->lock);
    while (rc == 0 && !sub->closing && !sub->overflow && !hub->stopping) {
        item_t *item = (item_t *) zlistx_first (sub->queue);
        if (!item && sub->tls) {
            struct timespec until;
            clock_gettime (CLOCK_MONOTONIC, &until);
            until.tv_sec += TLS_PING_MS / 1000;
            if (pthread_cond_timedwait (&sub->cond, &hub->lock, &until) == ETIMEDOUT) {
                pthread_mutex_unlock (&hub->lock);
                if (mg_websocket_write (sub->conn, MG_WEBSOCKET_OPCODE_PING, NULL, 0) <= 0)
                    rc = -1;
                pthread_mutex_lock (&hub->lock);
            }
            continue;
        }
        if (!item) {
            pthread_cond_wait (&sub->cond, &hub->lock);
            continue;
        }
        zlistx_delete (sub->queue, zlistx_cursor (sub->queue));
        pthread_mutex_unlock (&hub->lock);
        rc = s_write_item (sub, item);
        s_item_drop (item);
        pthread_mutex_lock (&hub->lock);
    }
    bool overflow = sub->overflow;
    sub->closing = true; //  nothing more is queued for it
    pthread_mutex_unlock (&hub->lock);
    if (overflow || rc) {
        const char *why = overflow ? "too slow: more messages waited than the gateway keeps"
                                   : "the stream failed";
        mg_websocket_write (sub->conn, MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE, why, strlen (why));
    }
    return NULL;
}

void
gateway_stream_ready (struct mg_connection *conn, void *cbdata)
{
    gateway_stream_t *hub = (gateway_stream_t *) cbdata;
    sub_t *sub = (sub_t *) mg_get_user_connection_data (conn);
    sub->conn = conn;
    //  On the list first: what is published from now on is queued while it catches up.
    pthread_mutex_lock (&hub->lock);
    sub->next = hub->subs;
    hub->subs = sub;
    hub->count++;
    pthread_mutex_unlock (&hub->lock);
    //  OpenSSL forbids one connection's reads and writes on two threads at once, and
    //  civetweb reads a WebSocket on its own thread (after this returns) without the lock
    //  its writes take. So over HTTPS the stream is written here, on civetweb's thread,
    //  and the client is read only once it ends (a client of the stream only listens: its
    //  close is seen when a write or a ping fails).
    if (mg_get_request_info (conn)->is_ssl) {
        sub->tls = true;
        s_writer (sub);
        return;
    }
    pthread_attr_t attr;
    pthread_attr_init (&attr);
    pthread_attr_setstacksize (&attr, hub->stack);
    sub->started = pthread_create (&sub->thread, &attr, s_writer, sub) == 0;
    pthread_attr_destroy (&attr);
}

int
gateway_stream_data (struct mg_connection *conn, int bits, char *data, size_t size, void *cbdata)
{
    //  The client says nothing the stream needs; a close ends it.
    return (bits & 0x0f) != MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE;
}

void
gateway_stream_close (const struct mg_connection *conn, void *cbdata)
{
    gateway_stream_t *hub = (gateway_stream_t *) cbdata;
    sub_t *sub = (sub_t *) mg_get_user_connection_data (conn);
    if (!sub)
        return;
    pthread_mutex_lock (&hub->lock);
    sub->closing = true;
    pthread_cond_signal (&sub->cond);
    for (sub_t **at = &hub->subs; *at; at = &(*at)->next)
        if (*at == sub) {
            *at = sub->next;
            hub->count--;
            break;
        }
    pthread_mutex_unlock (&hub->lock);
    if (sub->started)
        pthread_join (sub->thread, NULL);
    while (zlistx_size (sub->queue))
        s_item_drop ((item_t *) zlistx_detach (sub->queue, NULL));
    zlistx_destroy (&sub->queue);
    pthread_cond_destroy (&sub->cond);
    free (sub->vis);
    free (sub->hosts);
    free (sub);
    mg_set_user_connection_data (conn, NULL);
}

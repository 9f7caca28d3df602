/*  bench_tasks: VM creations through Maekin's whole path: this client (mk_client, the
    client library maekinsh uses) -> broker -> controller -> database -> agent -> libvirt
    -> back, with a window of requests in flight. Completion is read from the event.task
    stream, as a dashboard would.

    usage: bench_tasks -e ENDPOINT -s STREAM_OUT [-n COUNT] [-w WINDOW] [-m done|accept|read|page]
                       [-r RATE] [-t TEMPLATE] [-p PREFIX] [-l FILE]
    -l FILE:   write each request's send time and latencies (usecs from the start) to
               FILE, to see where the slow ones fall;
    -r RATE:   send at most RATE requests a second (open loop, for latency at a set load);
    -m done:   the window counts tasks not yet done (the done rate);
    -m accept: the window counts requests not yet accepted (the durable accept rate);
    -m read:   template shows instead of creations, through the same path (a baseline:
               the bus and the controller answering, with no write and no sync);
    -m page:   pages of 100 VMs (the first page of the cloud's list) in the same way. */
#include "maekin.h"
#include "mk_client.h"
#include "mk_msg.h"
#include "mk_sock.h"

#include <getopt.h>
#include <poll.h>
#include <time.h>

typedef struct {
    int64_t sent;     //  when the request left (usecs)
    int64_t accepted; //  when "accepted, task N" came back
    int64_t done;     //  when the task's final event came
    uint64_t task;
} item_t;

static int
s_compare (const void *a, const void *b)
{
    int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
    return x < y ? -1 : x > y;
}

static int64_t
s_percentile (int64_t *values, size_t count, double p)
{
    if (count == 0)
        return 0;
    qsort (values, count, sizeof *values, s_compare);
    size_t index = (size_t) (p * (double) (count - 1));
    return values[index];
}

static void
s_usage (FILE *out)
{
    fprintf (out,
             "usage: bench_tasks -e ENDPOINT -s STREAM_OUT [-n COUNT] [-w WINDOW] "
             "[-m done|accept|read|page] [-r RATE] [-t TEMPLATE] [-p PREFIX] [-l FILE] [-v VI]\n");
}

//  One run: the options it was given and what it has seen so far.
typedef struct {
    const char *endpoint;  //  the broker's client endpoint
    const char *stream;    //  the broker's stream (XPUB) endpoint
    const char *template_; //  the template each VM is created from
    const char *vi;        //  the Virtual Infrastructure they go into ("": the caller's)
    const char *prefix;    //  the prefix of VM names and request ids
    const char *log_path;  //  where to write each request's latencies, or NULL
    int count;             //  how many requests to send
    int window;            //  how many may be open at once
    int rate;              //  requests a second at most, or 0 for no limit
    bool accept_mode;      //  the window counts requests not yet answered
    bool read_mode;        //  template shows instead of creations
    bool page_mode;        //  ... or pages of 100 VMs
    mk_client_t *client;   //  the client the requests go through
    zsock_t *sub;          //  the subscription to event.task
    item_t *items;         //  one per request, by send order
    uint64_t *corrs;       //  each request's correlation id, by send order
    uint64_t task_base;    //  the first task id: by_task is indexed by id - base
    int *by_task;          //  request index by task, -1 unknown, -2 done before accepted
    int sent, accepted, done, failed, errors;
    uint64_t first_corr; //  the correlation id of the first request
    int64_t start;       //  when the run started (usecs)
} bench_t;

//  Reads the command line into self. Returns -1 to go on, else the exit status.
static int
s_parse_args (bench_t *self, int argc, char **argv)
{
    int opt;
    while ((opt = getopt (argc, argv, "e:s:n:w:m:r:t:p:l:v:h")) != -1) {
        switch (opt) {
        case 'e':
            self->endpoint = optarg;
            break;
        case 's':
            self->stream = optarg;
            break;
        case 'n':
            self->count = atoi (optarg);
            break;
        case 'w':
            self->window = atoi (optarg);
            break;
        case 'm':
            self->page_mode = streq (optarg, "page");
            self->read_mode = streq (optarg, "read") || self->page_mode;
            self->accept_mode = self->read_mode || streq (optarg, "accept");
            if (!self->accept_mode && !streq (optarg, "done")) {
                s_usage (stderr);
                return 2;
            }
            break;
        case 'r':
            self->rate = atoi (optarg);
            break;
        case 't':
            self->template_ = optarg;
            break;
        case 'p':
            self->prefix = optarg;
            break;
        case 'l':
            self->log_path = optarg;
            break;
        case 'v':
            self->vi = optarg;
            break;
        case 'h':
            s_usage (stdout);
            return 0;
        default:
            s_usage (stderr);
            return 2;
        }
    }
    if (!self->endpoint || !self->stream || self->count < 1 || self->window < 1) {
        s_usage (stderr);
        return 2;
    }
    return -1;
}

//  Sends requests while the window has room and the rate allows.
static void
s_send_requests (bench_t *self)
{
    int open = self->accept_mode ? self->sent - self->accepted - self->errors
                                 : self->sent - self->done - self->errors;
    int rate = self->rate;
    //  Paced: the i-th request may leave at start + i / rate.
    int64_t due = rate ? self->start + (int64_t) self->sent * 1000000 / rate : 0;
    while (self->sent < self->count && open < self->window && (!rate || zclock_usecs () >= due)) {
        int sent = self->sent;
        due = rate ? self->start + (int64_t) (sent + 1) * 1000000 / rate : 0;
        char name[64], request_id[80];
        snprintf (name, sizeof name, "%s-%d", self->prefix, sent);
        snprintf (request_id, sizeof request_id, "%s-%d-%" PRId64, self->prefix, sent, self->start);
        Maekin__VmCreateRequest create = MAEKIN__VM_CREATE_REQUEST__INIT;
        create.name = name;
        create.template_ = (char *) self->template_;
        create.vi = (char *) (self->vi ? self->vi : "");
        Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
        env.request_id = request_id;
        env.body_case = MAEKIN__ENVELOPE__BODY_VM_CREATE;
        env.vm_create = &create;
        Maekin__TemplateShowRequest show = MAEKIN__TEMPLATE_SHOW_REQUEST__INIT;
        Maekin__ListRequest list = MAEKIN__LIST_REQUEST__INIT;
        list.limit = 100;
        Maekin__VmListRequest page = MAEKIN__VM_LIST_REQUEST__INIT;
        page.page = &list;
        if (self->page_mode) {
            env.body_case = MAEKIN__ENVELOPE__BODY_VM_LIST;
            env.vm_list = &page;
        } else if (self->read_mode) {
            show.name = (char *) self->template_;
            env.body_case = MAEKIN__ENVELOPE__BODY_TEMPLATE_SHOW;
            env.template_show = &show;
        }
        self->items[sent].sent = zclock_usecs ();
        uint64_t corr = mk_client_send (self->client, "cloud", &env);
        if (!self->first_corr)
            self->first_corr = corr;
        self->corrs[sent] = corr;
        self->sent++;
        open++;
    }
}

//  Waits for answers or events, or (open loop) for the next request's time. Returns the
//  client's socket if it has answers to read, else NULL or the subscription.
static void *
s_wait (bench_t *self, zpoller_t *poller)
{
    zsock_t *client_sock = mk_client_sock (self->client);
    int rate = self->rate;
    if (!(rate && self->sent < self->count))
        return zpoller_wait (poller, 1000);
    //  Open loop: sleep to the next request's time, to the microsecond (poll's
    //  milliseconds would send bursts). Answers are stamped when we wake, so at
    //  rates with more than 200 us between requests an answer wakes us too; at
    //  higher rates that stamp is at most one interval late, and waking for
    //  every answer would cost the machine under test more than it corrects.
    int64_t next = self->start + (int64_t) self->sent * 1000000 / rate - zclock_usecs ();
    bool ready =
        (zsock_events (client_sock) & ZMQ_POLLIN) || (zsock_events (self->sub) & ZMQ_POLLIN);
    if (next > 0 && !ready) {
        //  ZMQ_FD only signals new events, so the event flags are read first.
        struct pollfd fds[2] = {{.fd = zsock_fd (client_sock), .events = POLLIN},
                                {.fd = zsock_fd (self->sub), .events = POLLIN}};
        struct timespec pause = {next / 1000000, (next % 1000000) * 1000};
        ppoll (fds, 1000000 / rate > 200 ? 2 : 0, &pause, NULL);
    }
    return (zsock_events (client_sock) & ZMQ_POLLIN) ? client_sock : NULL;
}

//  Records a creation's acceptance at now, and its completion if its event came first.
static void
s_accept_task (bench_t *self, int i, uint64_t task, int64_t now)
{
    item_t *item = &self->items[i];
    item->accepted = now;
    item->task = task;
    if (!self->task_base)
        self->task_base = item->task > (uint64_t) i ? item->task - (uint64_t) i : 1;
    uint64_t slot = item->task - self->task_base;
    if (item->task >= self->task_base && slot < (uint64_t) self->count * 4) {
        if (self->by_task[slot] == -2) { //  its event came first
            item->done = now;
            self->done++;
        }
        self->by_task[slot] = i;
    }
    self->accepted++;
}

//  Reads every answer waiting on the client's socket, stamping them with now.
static void
s_read_replies (bench_t *self, int64_t now)
{
    mk_reply_t reply;
    while (mk_client_recv (self->client, &reply, 0) == 0) {
        int i = (int) (reply.corr - self->first_corr);
        if (i >= 0 && i < self->count) {
            if (self->read_mode && reply.env->status == MK_OK) {
                self->items[i].accepted = now;
                self->accepted++;
            } else if (!self->read_mode && reply.env->status == MK_ACCEPTED)
                s_accept_task (self, i, reply.env->task_accepted->task_id, now);
            else {
                if (self->errors < 5)
                    fprintf (stderr, "bench_tasks: %s: %d %s\n",
                             self->page_mode   ? "vm list"
                             : self->read_mode ? "template show"
                                               : "create",
                             reply.env->status, reply.env->reason);
                self->errors++;
            }
        }
        mk_reply_clear (&reply);
    }
}

//  Reads every event batch waiting on the subscription, stamping final ones with now.
static void
s_read_events (bench_t *self, int64_t now)
{
    while (zsock_events (self->sub) & ZMQ_POLLIN) {
        zmsg_t *msg = zmsg_recv (self->sub);
        zframe_t *body = zmsg_last (msg);
        const char *why;
        Maekin__Envelope *env = mk_msg_unpack (zframe_data (body), zframe_size (body), &why);
        bool batch = env && env->body_case == MAEKIN__ENVELOPE__BODY_EVENTS_SINCE_REPLY;
        for (size_t k = 0; batch && self->task_base && k < env->events_since_reply->n_events; k++) {
            Maekin__Event *e = env->events_since_reply->events[k];
            bool final = streq (e->state, "done") || streq (e->state, "failed");
            uint64_t slot = e->task_id - self->task_base;
            if (final && e->task_id >= self->task_base && slot < (uint64_t) self->count * 4) {
                int i = self->by_task[slot];
                if (i >= 0 && !self->items[i].done) {
                    self->items[i].done = now;
                    self->done++;
                    self->failed += streq (e->state, "failed");
                } else if (i == -1)
                    self->by_task[slot] = -2;
            }
        }
        mk_msg_free (&env);
        zmsg_destroy (&msg);
    }
}

//  Writes each request's send time and latencies to the -l file, if one was given.
static void
s_write_log (bench_t *self)
{
    FILE *log = self->log_path ? fopen (self->log_path, "w") : NULL;
    if (self->log_path && !log)
        fprintf (stderr, "bench_tasks: cannot write '%s'\n", self->log_path);
    for (int i = 0; log && i < self->count; i++)
        fprintf (log, "%" PRId64 " %" PRId64 " %" PRId64 "\n", self->items[i].sent - self->start,
                 self->items[i].accepted ? self->items[i].accepted - self->items[i].sent : -1,
                 self->items[i].done ? self->items[i].done - self->items[i].sent : -1);
    if (log)
        fclose (log);
}

//  Prints the run's one line of figures.
static void
s_print_figures (bench_t *self, int64_t elapsed)
{
    item_t *items = self->items;
    int count = self->count;
    int64_t *accept_lat = (int64_t *) malloc ((size_t) count * sizeof (int64_t));
    int64_t *done_lat = (int64_t *) malloc ((size_t) count * sizeof (int64_t));
    size_t na = 0, nd = 0;
    for (int i = 0; i < count; i++) {
        if (items[i].accepted)
            accept_lat[na++] = items[i].accepted - items[i].sent;
        if (items[i].done)
            done_lat[nd++] = items[i].done - items[i].sent;
    }
    bool read_mode = self->read_mode, accept_mode = self->accept_mode;
    double seconds = (double) elapsed / 1e6;
    const char *answer = read_mode ? "answer" : "accept";
    printf ("tasks mode=%s rate=%d window=%d n=%d seconds=%.2f %s_per_s=%.0f %s_p50_us=%" PRId64
            " %s_p99_us=%" PRId64 " done_p50_us=%" PRId64 " done_p99_us=%" PRId64
            " failed=%d errors=%d\n",
            read_mode     ? "read"
            : accept_mode ? "accept"
                          : "done",
            self->rate, self->window, count, seconds,
            read_mode     ? "answered"
            : accept_mode ? "accepted"
                          : "done",
            (accept_mode ? self->accepted : self->done) / seconds, answer,
            s_percentile (accept_lat, na, 0.5), answer, s_percentile (accept_lat, na, 0.99),
            s_percentile (done_lat, nd, 0.5), s_percentile (done_lat, nd, 0.99), self->failed,
            self->errors);
    free (accept_lat);
    free (done_lat);
}

int
main (int argc, char **argv)
{
    bench_t bench = {.template_ = "tiny", .prefix = "bench", .count = 2000, .window = 1};
    bench_t *self = &bench;
    int status = s_parse_args (self, argc, argv);
    if (status >= 0)
        return status;
    int count = self->count;
    mk_log_init ("bench_tasks", MK_LOG_WARN);
    char *error = NULL;
    if (mk_sock_secure_env (&error) != 0) {
        fprintf (stderr, "bench_tasks: %s\n", error);
        free (error);
        return 2;
    }
    self->client = mk_client_new (self->endpoint);
    mk_client_set_token (self->client, getenv ("MAEKIN_TOKEN")); //  the harness logs in
    self->sub = mk_sock_new (ZMQ_SUB, self->stream);
    if (!self->accept_mode) //  accepting needs no events; reading them would slow us
        zsock_set_subscribe (self->sub, "event.task");
    zclock_sleep (300); //  let the subscription reach the broker
    self->items = (item_t *) zmalloc ((size_t) count * sizeof (item_t));
    self->corrs = (uint64_t *) zmalloc ((size_t) count * sizeof (uint64_t));
    //  Task ids grow from the first one accepted: an array indexed by id - base.
    self->by_task = (int *) malloc ((size_t) count * 4 * sizeof (int));
    for (int i = 0; i < count * 4; i++)
        self->by_task[i] = -1;

    self->start = zclock_usecs ();
    zpoller_t *poller = zpoller_new (mk_client_sock (self->client), self->sub, NULL);
    int64_t deadline = zclock_mono () + 600000;
    while ((self->accept_mode ? self->accepted + self->errors : self->done + self->errors)
           < count) {
        s_send_requests (self);
        if (zclock_mono () > deadline) {
            fprintf (stderr, "bench_tasks: gave up after 600 s: %d accepted, %d done of %d\n",
                     self->accepted, self->done, count);
            return 1;
        }
        void *which = s_wait (self, poller);
        int64_t now = zclock_usecs ();
        if (which == mk_client_sock (self->client))
            s_read_replies (self, now);
        s_read_events (self, now);
    }
    int64_t elapsed = zclock_usecs () - self->start;
    s_write_log (self);
    s_print_figures (self, elapsed);
    free (self->by_task);
    free (self->corrs);
    free (self->items);
    zpoller_destroy (&poller);
    zsock_destroy (&self->sub);
    mk_client_destroy (&self->client);
    return self->errors || self->failed ? 1 : 0;
}

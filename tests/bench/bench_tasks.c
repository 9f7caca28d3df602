/*  bench_tasks: VM creations through Maekin's whole path: this client (mk_client, the
    client library maekinsh uses) -> broker -> controller -> database -> agent -> libvirt
    -> back, with a window of requests in flight. Completion is read from the event.task
    stream, as a dashboard would.

    usage: bench_tasks -e ENDPOINT -s STREAM_OUT [-n COUNT] [-w WINDOW] [-m done|accept|read]
                       [-r RATE] [-t TEMPLATE] [-p PREFIX] [-l FILE]
    -l FILE:   write each request's send time and latencies (usecs from the start) to
               FILE, to see where the slow ones fall;
    -r RATE:   send at most RATE requests a second (open loop, for latency at a set load);
    -m done:   the window counts tasks not yet done (the done rate);
    -m accept: the window counts requests not yet accepted (the durable accept rate);
    -m read:   template shows instead of creations, through the same path (a baseline:
               the bus and the controller answering, with no write and no sync). */
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
    fprintf (out, "usage: bench_tasks -e ENDPOINT -s STREAM_OUT [-n COUNT] [-w WINDOW] "
                  "[-m done|accept|read] [-r RATE] [-t TEMPLATE] [-p PREFIX] [-l FILE]\n");
}

int
main (int argc, char **argv)
{
    const char *endpoint = NULL, *stream = NULL, *template_ = "tiny", *prefix = "bench";
    const char *log_path = NULL;
    int count = 2000, window = 1, rate = 0;
    bool accept_mode = false, read_mode = false;
    int opt;
    while ((opt = getopt (argc, argv, "e:s:n:w:m:r:t:p:l:h")) != -1) {
        switch (opt) {
        case 'e':
            endpoint = optarg;
            break;
        case 's':
            stream = optarg;
            break;
        case 'n':
            count = atoi (optarg);
            break;
        case 'w':
            window = atoi (optarg);
            break;
        case 'm':
            read_mode = streq (optarg, "read");
            accept_mode = read_mode || streq (optarg, "accept");
            if (!accept_mode && !streq (optarg, "done")) {
                s_usage (stderr);
                return 2;
            }
            break;
        case 'r':
            rate = atoi (optarg);
            break;
        case 't':
            template_ = optarg;
            break;
        case 'p':
            prefix = optarg;
            break;
        case 'l':
            log_path = optarg;
            break;
        case 'h':
            s_usage (stdout);
            return 0;
        default:
            s_usage (stderr);
            return 2;
        }
    }
    if (!endpoint || !stream || count < 1 || window < 1) {
        s_usage (stderr);
        return 2;
    }
    mk_log_init ("bench_tasks", MK_LOG_WARN);
    mk_client_t *client = mk_client_new (endpoint);
    zsock_t *sub = mk_sock_new (ZMQ_SUB, stream);
    if (!accept_mode) //  accepting needs no events; reading them would slow us
        zsock_set_subscribe (sub, "event.task");
    zclock_sleep (300); //  let the subscription reach the broker
    item_t *items = (item_t *) zmalloc ((size_t) count * sizeof (item_t));
    uint64_t *corrs = (uint64_t *) zmalloc ((size_t) count * sizeof (uint64_t));
    //  Task ids grow from the first one accepted: an array indexed by id - base.
    uint64_t task_base = 0;
    int *by_task = (int *) malloc ((size_t) count * 4 * sizeof (int));
    for (int i = 0; i < count * 4; i++)
        by_task[i] = -1;

    int sent = 0, accepted = 0, done = 0, failed = 0, errors = 0;
    uint64_t first_corr = 0;
    int64_t start = zclock_usecs ();
    zpoller_t *poller = zpoller_new (mk_client_sock (client), sub, NULL);
    int64_t deadline = zclock_mono () + 600000;
    while ((accept_mode ? accepted + errors : done + errors) < count) {
        int open = accept_mode ? sent - accepted - errors : sent - done - errors;
        //  Paced: the i-th request may leave at start + i / rate.
        int64_t due = rate ? start + (int64_t) sent * 1000000 / rate : 0;
        while (sent < count && open < window && (!rate || zclock_usecs () >= due)) {
            due = rate ? start + (int64_t) (sent + 1) * 1000000 / rate : 0;
            char name[64], request_id[80];
            snprintf (name, sizeof name, "%s-%d", prefix, sent);
            snprintf (request_id, sizeof request_id, "%s-%d-%" PRId64, prefix, sent, start);
            Maekin__VmCreateRequest create = MAEKIN__VM_CREATE_REQUEST__INIT;
            create.name = name;
            create.template_ = (char *) template_;
            Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
            env.request_id = request_id;
            env.body_case = MAEKIN__ENVELOPE__BODY_VM_CREATE;
            env.vm_create = &create;
            Maekin__TemplateShowRequest show = MAEKIN__TEMPLATE_SHOW_REQUEST__INIT;
            if (read_mode) {
                show.name = (char *) template_;
                env.body_case = MAEKIN__ENVELOPE__BODY_TEMPLATE_SHOW;
                env.template_show = &show;
            }
            items[sent].sent = zclock_usecs ();
            uint64_t corr = mk_client_send (client, "cloud", &env);
            if (!first_corr)
                first_corr = corr;
            corrs[sent] = corr;
            sent++;
            open++;
        }
        if (zclock_mono () > deadline) {
            fprintf (stderr, "bench_tasks: gave up after 600 s: %d accepted, %d done of %d\n",
                     accepted, done, count);
            return 1;
        }
        void *which;
        if (rate && sent < count) {
            //  Open loop: sleep to the next request's time, to the microsecond (poll's
            //  milliseconds would send bursts). Answers are stamped when we wake, so at
            //  rates with more than 200 us between requests an answer wakes us too; at
            //  higher rates that stamp is at most one interval late, and waking for
            //  every answer would cost the machine under test more than it corrects.
            int64_t next = start + (int64_t) sent * 1000000 / rate - zclock_usecs ();
            bool ready = (zsock_events (mk_client_sock (client)) & ZMQ_POLLIN)
                         || (zsock_events (sub) & ZMQ_POLLIN);
            if (next > 0 && !ready) {
                //  ZMQ_FD only signals new events, so the event flags are read first.
                struct pollfd fds[2] = {
                    {.fd = zsock_fd (mk_client_sock (client)), .events = POLLIN},
                    {.fd = zsock_fd (sub), .events = POLLIN}};
                struct timespec pause = {next / 1000000, (next % 1000000) * 1000};
                ppoll (fds, 1000000 / rate > 200 ? 2 : 0, &pause, NULL);
            }
            which = (zsock_events (mk_client_sock (client)) & ZMQ_POLLIN) ? mk_client_sock (client)
                                                                          : NULL;
        } else
            which = zpoller_wait (poller, 1000);
        int64_t now = zclock_usecs ();
        if (which == mk_client_sock (client)) {
            mk_reply_t reply;
            while (mk_client_recv (client, &reply, 0) == 0) {
                int i = (int) (reply.corr - first_corr);
                if (i >= 0 && i < count) {
                    if (read_mode && reply.env->status == MK_OK) {
                        items[i].accepted = now;
                        accepted++;
                    } else if (!read_mode && reply.env->status == MK_ACCEPTED) {
                        items[i].accepted = now;
                        items[i].task = reply.env->task_accepted->task_id;
                        if (!task_base)
                            task_base =
                                items[i].task > (uint64_t) i ? items[i].task - (uint64_t) i : 1;
                        uint64_t slot = items[i].task - task_base;
                        if (items[i].task >= task_base && slot < (uint64_t) count * 4) {
                            if (by_task[slot] == -2) { //  its event came first
                                items[i].done = now;
                                done++;
                            }
                            by_task[slot] = i;
                        }
                        accepted++;
                    } else {
                        if (errors < 5)
                            fprintf (stderr, "bench_tasks: %s: %d %s\n",
                                     read_mode ? "template show" : "create", reply.env->status,
                                     reply.env->reason);
                        errors++;
                    }
                }
                mk_reply_clear (&reply);
            }
        }
        while (zsock_events (sub) & ZMQ_POLLIN) {
            zmsg_t *msg = zmsg_recv (sub);
            zframe_t *body = zmsg_last (msg);
            const char *why;
            Maekin__Envelope *env = mk_msg_unpack (zframe_data (body), zframe_size (body), &why);
            bool batch = env && env->body_case == MAEKIN__ENVELOPE__BODY_EVENTS_SINCE_REPLY;
            for (size_t k = 0; batch && task_base && k < env->events_since_reply->n_events; k++) {
                Maekin__Event *e = env->events_since_reply->events[k];
                bool final = streq (e->state, "done") || streq (e->state, "failed");
                uint64_t slot = e->task_id - task_base;
                if (final && e->task_id >= task_base && slot < (uint64_t) count * 4) {
                    int i = by_task[slot];
                    if (i >= 0 && !items[i].done) {
                        items[i].done = now;
                        done++;
                        failed += streq (e->state, "failed");
                    } else if (i == -1)
                        by_task[slot] = -2;
                }
            }
            mk_msg_free (&env);
            zmsg_destroy (&msg);
        }
    }
    int64_t elapsed = zclock_usecs () - start;
    FILE *log = log_path ? fopen (log_path, "w") : NULL;
    if (log_path && !log)
        fprintf (stderr, "bench_tasks: cannot write '%s'\n", log_path);
    for (int i = 0; log && i < count; i++)
        fprintf (log, "%" PRId64 " %" PRId64 " %" PRId64 "\n", items[i].sent - start,
                 items[i].accepted ? items[i].accepted - items[i].sent : -1,
                 items[i].done ? items[i].done - items[i].sent : -1);
    if (log)
        fclose (log);
    int64_t *accept_lat = (int64_t *) malloc ((size_t) count * sizeof (int64_t));
    int64_t *done_lat = (int64_t *) malloc ((size_t) count * sizeof (int64_t));
    size_t na = 0, nd = 0;
    for (int i = 0; i < count; i++) {
        if (items[i].accepted)
            accept_lat[na++] = items[i].accepted - items[i].sent;
        if (items[i].done)
            done_lat[nd++] = items[i].done - items[i].sent;
    }
    double seconds = (double) elapsed / 1e6;
    const char *answer = read_mode ? "answer" : "accept";
    printf ("tasks mode=%s rate=%d window=%d n=%d seconds=%.2f %s_per_s=%.0f %s_p50_us=%" PRId64
            " %s_p99_us=%" PRId64 " done_p50_us=%" PRId64 " done_p99_us=%" PRId64
            " failed=%d errors=%d\n",
            read_mode     ? "read"
            : accept_mode ? "accept"
                          : "done",
            rate, window, count, seconds,
            read_mode     ? "answered"
            : accept_mode ? "accepted"
                          : "done",
            (accept_mode ? accepted : done) / seconds, answer, s_percentile (accept_lat, na, 0.5),
            answer, s_percentile (accept_lat, na, 0.99), s_percentile (done_lat, nd, 0.5),
            s_percentile (done_lat, nd, 0.99), failed, errors);
    free (accept_lat);
    free (done_lat);
    free (by_task);
    free (corrs);
    free (items);
    zpoller_destroy (&poller);
    zsock_destroy (&sub);
    mk_client_destroy (&client);
    return errors || failed ? 1 : 0;
}

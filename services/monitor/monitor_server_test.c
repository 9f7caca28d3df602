/*  monitor_server's self-test: a monitor for two simulated hosts publishing through a
    real stream proxy (broker_stream) to a subscriber, which reads each host's samples. */
#include "monitor_server.h"

#include "broker_stream.h"
#include "mk_metric.h"
#include "mk_msg.h"
#include "mk_sock.h"

//  The next sample on sub (topic and message); false if none came within a while.
static bool
s_next (zsock_t *sub, char **topic, Maekin__Envelope **env)
{
    zmsg_t *msg = zmsg_recv (sub);
    if (!msg)
        return false;
    *topic = zmsg_popstr (msg);
    zframe_t *body = zmsg_pop (msg);
    assert (*topic && body && zmsg_size (msg) == 0);
    const char *why = NULL;
    *env = mk_msg_unpack (zframe_data (body), zframe_size (body), &why);
    zframe_destroy (&body);
    zmsg_destroy (&msg);
    assert (*env && (*env)->body_case == MAEKIN__ENVELOPE__BODY_HOST_SAMPLE);
    return true;
}

//  Whether the monitor takes the broker to be away: the fourth of its STATS.
static int
s_away (zactor_t *monitor)
{
    zstr_send (monitor, "STATS");
    char *stats = zstr_recv (monitor);
    assert (stats);
    unsigned long long published, failed, late;
    int away = -1;
    assert (sscanf (stats, "%llu %llu %llu %d", &published, &failed, &late, &away) == 4);
    zstr_free (&stats);
    return away;
}

//  Bad options: refused with what is wrong, nothing started.
static void
s_test_refusals (const char *in)
{
    monitor_host_t one[] = {{"n1", "synthetic:1:1"}};
    monitor_opts_t opts = {
        .stream_in = in, .hosts = one, .host_count = 1, .interval_ms = 5, .full_every = 12};
    char *error = monitor_opts_check (&opts);
    assert (error && strstr (error, "'monitor/interval_ms' must be at least 10"));
    free (error);
    opts.interval_ms = 100;
    opts.full_every = 0;
    error = monitor_opts_check (&opts);
    assert (error && strstr (error, "'monitor/full_every' must be at least 1"));
    free (error);
    opts.full_every = 12;
    opts.interval_ms = 5;
    assert (monitor_server_new (&opts) == NULL);
    opts.interval_ms = 100;
    opts.host_count = 0;
    error = monitor_opts_check (&opts);
    assert (error && strstr (error, "must name 1 to"));
    free (error);
    monitor_host_t bad[] = {{"n1", "synthetic:500:1"}};
    opts = (monitor_opts_t){
        .stream_in = in, .hosts = bad, .host_count = 1, .interval_ms = 100, .full_every = 12};
    assert (monitor_server_new (&opts) == NULL);
    size_t count = 0;
    monitor_host_t *hosts = monitor_hosts_parse ("a=proc, b = synthetic:5:6", &count, &error);
    assert (hosts && count == 2 && streq (hosts[1].name, "b"));
    assert (streq (hosts[1].source, "synthetic:5:6"));
    free (hosts);
    assert (!monitor_hosts_parse ("a", &count, &error) && strstr (error, "name=source"));
    free (error);
}

void
monitor_server_test (bool verbose)
{
    zactor_t *stream = broker_stream_new ("tcp://127.0.0.1:*", "tcp://127.0.0.1:*", NULL);
    assert (stream);
    zstr_send (stream, "ENDPOINTS");
    char *in, *out;
    zstr_recvx (stream, &in, &out, NULL);
    s_test_refusals (in);
    zsock_t *sub = mk_sock_new (ZMQ_SUB, out);
    zsock_set_subscribe (sub, "metric.host.");
    zsock_set_rcvtimeo (sub, 10000);

    //  Two simulated hosts (one with three guests), and this machine with the guests of
    //  libvirt's test driver (one domain, "test", whose state is all it tells).
    monitor_host_t hosts[] = {
        {"busy", "synthetic:80:50:3"}, {"idle", "synthetic:10:20"}, {"real", "proc"}};
    //  It answers what it knows at an endpoint of its own.
    char *info = zsys_sprintf ("ipc://@maekin-monitor-test-%d", (int) getpid ());
    monitor_opts_t opts = {.stream_in = in,
                           .hosts = hosts,
                           .host_count = 3,
                           .interval_ms = 20,
                           .full_every = 4,
                           .guests_uri = "test:///default",
                           .info_endpoint = info};
    zactor_t *monitor = monitor_server_new (&opts);
    assert (monitor);
    //  Two samples of each simulated host: their load is the one each source was given.
    Maekin__CpuTimes first[2];
    int seen[3] = {0, 0, 0};
    bool full_seen = false, real_guest = false;
    while (seen[0] < 2 || seen[1] < 2 || !full_seen || !real_guest) {
        char *topic = NULL;
        Maekin__Envelope *env = NULL;
        assert (s_next (sub, &topic, &env));
        Maekin__HostSample *sample = env->host_sample;
        int which = streq (sample->host, "busy") ? 0 : streq (sample->host, "idle") ? 1 : 2;
        assert (streq (topic + strlen ("metric.host."), sample->host));
        assert (streq (sample->source, hosts[which].source) && sample->interval_ms == 20);
        if (which == 2) {
            //  The test driver's domain, once the first call came back.
            real_guest = real_guest || (sample->n_vms == 1 && sample->vms[0]->state == 1);
            assert (sample->vm_count <= 1);
        } else {
            assert (sample->cpus == 8 && sample->cpu && sample->n_interfaces == 2);
            uint64_t free_pct = (sample->memory_available_kb * 100 + sample->memory_total_kb / 2)
                                / sample->memory_total_kb;
            assert (free_pct == (which ? 80u : 50u));
            assert (sample->vm_count == (which ? 0u : 3u) && sample->vms_time_ms > 0);
            full_seen = full_seen || (which == 0 && sample->full && sample->n_vms == 3);
            if (seen[which] == 0)
                first[which] = *sample->cpu;
            else if (seen[which] == 1) {
                unsigned busy = mk_metric_cpu_pct (&first[which], sample->cpu);
                if (verbose)
                    printf (" * host %s: %u%% busy between two samples\n", sample->host, busy);
                assert (busy >= (which ? 9u : 79u) && busy <= (which ? 11u : 81u));
            }
        }
        seen[which]++;
        zstr_free (&topic);
        mk_msg_free (&env);
    }
    //  Its view: the three hosts, its own, up; a question it does not answer is refused
    //  with a reason.
    zsock_t *ask = zsock_new_req (info);
    Maekin__Envelope question = MAEKIN__ENVELOPE__INIT;
    Maekin__HostListRequest list = MAEKIN__HOST_LIST_REQUEST__INIT;
    question.body_case = MAEKIN__ENVELOPE__BODY_HOST_LIST;
    question.host_list = &list;
    Maekin__Envelope *answer = NULL;
    const char *why = NULL;
    for (int tries = 0; tries < 500; tries++) {
        zframe_t *packed = mk_msg_pack (&question);
        zframe_send (&packed, ask, 0);
        zframe_t *back = zframe_recv (ask);
        assert (back);
        mk_msg_free (&answer);
        answer = mk_msg_unpack (zframe_data (back), zframe_size (back), &why);
        zframe_destroy (&back);
        assert (answer && answer->body_case == MAEKIN__ENVELOPE__BODY_HOST_LIST_REPLY);
        if (answer->host_list_reply->n_hosts == 3)
            break;
        zclock_sleep (10);
    }
    Maekin__HostListReply *heard = answer->host_list_reply;
    assert (heard->n_hosts == 3 && streq (heard->hosts[0]->name, "busy"));
    for (size_t i = 0; i < 3; i++)
        assert (streq (heard->hosts[i]->state, "up")
                && streq (heard->hosts[i]->heard_via, "local"));
    assert (heard->hosts[0]->cpu_busy_pct >= 70 && heard->hosts[0]->cpu_busy_pct <= 90);
    mk_msg_free (&answer);
    zstr_send (ask, "not an envelope");
    zframe_t *back = zframe_recv (ask);
    answer = mk_msg_unpack (zframe_data (back), zframe_size (back), &why);
    assert (answer && answer->status == MK_BAD_REQUEST && strstr (answer->reason, "host_list"));
    zframe_destroy (&back);
    mk_msg_free (&answer);
    zsock_destroy (&ask);
    free (info);

    zstr_send (monitor, "STATS");
    char *stats = zstr_recv (monitor);
    assert (stats && strtoull (stats, NULL, 10) >= 4 && strstr (stats, " 0 "));
    assert (s_away (monitor) == 0);
    zstr_free (&stats);

    //  The broker's stream gone: the connection says so, and the monitor takes the broker
    //  to be away after its grace (a second); the stream back where it was, it is not.
    zsock_destroy (&sub);
    zactor_destroy (&stream);
    int64_t since = zclock_mono ();
    while (s_away (monitor) != 1 && zclock_mono () - since < 30000)
        zclock_sleep (20);
    assert (s_away (monitor) == 1);
    stream = broker_stream_new (in, out, NULL);
    assert (stream);
    since = zclock_mono ();
    while (s_away (monitor) != 0 && zclock_mono () - since < 30000)
        zclock_sleep (20);
    assert (s_away (monitor) == 0);
    if (verbose)
        printf (" * the stream's connection lost and back: away, then not\n");
    zactor_destroy (&monitor);
    zactor_destroy (&stream);
    free (in);
    free (out);
}

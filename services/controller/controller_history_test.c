/*  controller_history's self-test: two simulated hours of a host and a VM sampled every
    5 s, at a compressed clock, into a real SQLite database: the averages are right, the
    rows stay within their bound, a failed batch loses nothing, a restart writes nothing
    twice and a pass over many subjects is made in slices. */
#include "controller_history.h"

#include "mk_testdir.h"

static int64_t
s_count (mk_db_t *db, int step)
{
    mk_stmt_t *stmt = mk_db_prepare (db, "SELECT count(*) FROM metrics WHERE step = ?");
    mk_stmt_bind_int (stmt, 1, step);
    assert (mk_stmt_step (stmt) == MK_DB_ROW);
    int64_t count = mk_stmt_int (stmt, 0);
    mk_stmt_reset (stmt);
    return count;
}

//  One batch: roll, save, commit (or roll back), as the controller's loop does.
static void
s_batch (controller_history_t *history, mk_db_t *db, int64_t now_s, bool commit)
{
    controller_history_roll (history, now_s);
    assert (mk_db_begin (db) == 0);
    assert (controller_history_save (history, db, now_s, 50) == 0);
    if (commit)
        assert (mk_db_commit (db) == 0);
    else
        assert (mk_db_rollback (db) == 0);
    controller_history_saved (history, commit);
}

static void *
s_alloc (void *arg, size_t size)
{
    zlistx_t *arena = (zlistx_t *) arg;
    void *block = zmalloc (size);
    zlistx_add_end (arena, block);
    return block;
}

//  The points of a subject, as the controller would answer.
static size_t
s_query (controller_history_t *history, mk_db_t *db, int kind, const void *key, size_t size,
         int64_t since, int64_t now, uint32_t step, zlistx_t *arena,
         Maekin__MetricsHistoryReply *reply)
{
    char *error = NULL;
    maekin__metrics_history_reply__init (reply);
    int rc = controller_history_query (history, db, kind, key, size, since, now, step, s_alloc,
                                       arena, reply, &error);
    assert (rc == 0 && !error);
    return reply->n_points;
}

//  A host's sample at now_ms: CPU busy at busy_permille of its 1,000 ms a second.
static void
s_host_sample (Maekin__HostSample *sample, Maekin__CpuTimes *cpu, int64_t now_ms, uint64_t *busy_ms,
               uint64_t busy_permille)
{
    maekin__host_sample__init (sample);
    maekin__cpu_times__init (cpu);
    *busy_ms += 5000 * busy_permille / 1000;
    cpu->user = *busy_ms;
    cpu->idle = (uint64_t) now_ms - *busy_ms;
    sample->host = "node1";
    sample->time_ms = now_ms;
    sample->cpu = cpu;
    sample->memory_total_kb = 1000000;
    sample->memory_available_kb = 250000;
}

//  The whole history on one database, its metrics table emptied first.
static void
s_test_on (const char *url, bool verbose)
{
    mk_db_t *db = mk_db_open (url, NULL);
    assert (db && mk_db_migrate (db, NULL) == 0);
    assert (mk_db_exec (db, "DELETE FROM metrics") == 0);
    if (verbose)
        printf (" * on %s\n", mk_db_backend (db));
    controller_history_opts_t opts = {5, 60, 600, 300, 3600};
    char *error = NULL;
    controller_history_opts_t bad = opts;
    bad.coarse_step_s = 90;
    assert (!controller_history_new (&bad, &error) && strstr (error, "multiple"));
    zstr_free (&error);
    controller_history_t *history = controller_history_new (&opts, &error);
    assert (history);

    //  Two hours from t0 (a coarse step's start) at 5 s: the VM busy at 100 in even
    //  minutes and 300 in odd ones (thousandths), the host at 400.
    mk_metric_vm_t vm = {.uuid = {1, 2, 3}, .rss_kb = 1024, .net_rx_bps = 5000};
    int64_t t0 = 1800000000 - 1800000000 % 300, now = t0;
    uint64_t busy = 0;
    Maekin__HostSample sample;
    Maekin__CpuTimes cpu;
    for (; now < t0 + 7200; now += 5) {
        vm.cpu_permille = (now / 60) % 2 ? 300 : 100;
        controller_history_add_vm (history, &vm, now * 1000);
        s_host_sample (&sample, &cpu, now * 1000, &busy, 400);
        controller_history_add_host (history, &sample, now * 1000);
        s_batch (history, db, now, true);
    }
    //  Within their bound: two subjects, fine rows for fine_keep_s, coarse for
    //  coarse_keep_s (and the step just ended, until the next expiry pass).
    int64_t fine = s_count (db, 60), coarse = s_count (db, 300);
    if (verbose)
        printf (" * after 2 h: %" PRId64 " minute rows, %" PRId64 " 5-minute rows\n", fine, coarse);
    assert (fine >= 2 * 9 && fine <= 2 * (600 / 60 + 1));
    assert (coarse >= 2 * 11 && coarse <= 2 * (3600 / 300 + 1));

    zlistx_t *arena = zlistx_new ();
    zlistx_set_destructor (arena, (zlistx_destructor_fn *) zstr_free);
    Maekin__MetricsHistoryReply reply;
    //  Minute averages of the last 5 minutes: 100 and 300 in turn, 12 samples each.
    size_t n = s_query (history, db, HISTORY_VM, vm.uuid, 16, now - 300, now, 60, arena, &reply);
    assert (n >= 5 && n <= 6 && reply.step_s == 60);
    for (size_t i = 0; i < n; i++) {
        Maekin__MetricPoint *p = reply.points[i];
        assert (p->t % 60 == 0 && p->cpu_permille == ((p->t / 60) % 2 ? 300u : 100u));
        assert (p->mem_kb == 1024 && p->net_rx_bps == 5000);
        assert (p->samples == 12 || i == n - 1);
    }
    //  Two-minute steps from the minutes: 200 each.
    n = s_query (history, db, HISTORY_VM, vm.uuid, 16, now - 480, now, 120, arena, &reply);
    assert (n >= 4 && reply.points[1]->cpu_permille == 200 && reply.points[1]->samples == 24);
    //  Five-minute (coarse) steps over the last hour: 12 of them, about 200 each.
    n = s_query (history, db, HISTORY_VM, vm.uuid, 16, now - 3600, now, 300, arena, &reply);
    assert (n >= 12 && n <= 13);
    for (size_t i = 0; i + 1 < n; i++)
        assert (reply.points[i]->cpu_permille >= 160 && reply.points[i]->cpu_permille <= 240);
    //  The host's CPU and memory, from its counters.
    n = s_query (history, db, HISTORY_HOST, "node1", 5, now - 120, now, 60, arena, &reply);
    assert (n >= 2 && reply.points[0]->cpu_permille == 400 && reply.points[0]->mem_kb == 750000);
    //  The raw samples: what the window holds since then (step 0: the finest that goes
    //  back that far), or all five kept (a step under the fine one).
    n = s_query (history, db, HISTORY_VM, vm.uuid, 16, now - 20, now, 0, arena, &reply);
    assert (n == 4 && reply.step_s == 0 && reply.points[3]->samples == 1);
    assert (reply.points[3]->t == now - 5);
    n = s_query (history, db, HISTORY_VM, vm.uuid, 16, now - 60, now, 1, arena, &reply);
    assert (n == 5 && reply.step_s == 0);
    //  Step 0 further back than the raw samples: minutes; further than those: coarse.
    s_query (history, db, HISTORY_VM, vm.uuid, 16, now - 60, now, 0, arena, &reply);
    assert (reply.step_s == 60);
    s_query (history, db, HISTORY_VM, vm.uuid, 16, now - 1200, now, 0, arena, &reply);
    assert (reply.step_s == 300);
    //  No step fits, or too many points: refused with what to ask.
    assert (controller_history_query (history, db, HISTORY_VM, vm.uuid, 16, now - 60, now, 90,
                                      s_alloc, arena, &reply, &error)
                == 400
            && strstr (error, "multiple of 60s or of 300s"));
    zstr_free (&error);
    controller_history_opts_t month = {60, 60, 86400, 600, 30 * 86400};
    controller_history_t *long_kept = controller_history_new (&month, &error);
    assert (controller_history_query (long_kept, db, HISTORY_VM, vm.uuid, 16, 0, now, 60, s_alloc,
                                      arena, &reply, &error)
                == 400
            && strstr (error, "a larger step"));
    zstr_free (&error);
    controller_history_destroy (&long_kept);
    zlistx_destroy (&arena);

    //  A batch rolled back keeps its rows for the next.
    now += 60;
    controller_history_add_vm (history, &vm, now * 1000);
    now += 60;
    controller_history_roll (history, now);
    size_t queued = controller_history_queued (history);
    assert (queued >= 1);
    s_batch (history, db, now, false);
    assert (controller_history_queued (history) == queued);
    int64_t rows = s_count (db, 60);
    s_batch (history, db, now, true);
    assert (controller_history_queued (history) == 0 && s_count (db, 60) > rows);

    //  After a restart, a step written already is not written again: the sample counts
    //  in the new controller's step only if that step is new.
    controller_history_destroy (&history);
    history = controller_history_new (&opts, &error);
    assert (controller_history_load (history, db) == 0);
    controller_history_add_vm (history, &vm, (now - 120) * 1000); //  a step written
    controller_history_roll (history, now + 60);
    assert (controller_history_queued (history) == 0);

    //  A subject silent for a coarse step is forgotten, its raw samples with it.
    arena = zlistx_new ();
    zlistx_set_destructor (arena, (zlistx_destructor_fn *) zstr_free);
    assert (s_query (history, db, HISTORY_VM, vm.uuid, 16, now - 300, now, 1, arena, &reply) == 1);
    controller_history_roll (history, now + 60 + 300 + 60);
    assert (s_query (history, db, HISTORY_VM, vm.uuid, 16, now - 300, now, 1, arena, &reply) == 0);
    zlistx_destroy (&arena);

    //  A pass over many subjects is made in slices: 3,000 VMs sampled once in a step,
    //  silent since. The first roll of the next step closes some of their steps, not all;
    //  the history wants batches until the pass is done, and then every step is queued.
    int64_t step = now + 900 - (now + 900) % 300; //  a coarse step's start: it stays open
    while (controller_history_busy (history))
        s_batch (history, db, step, true);
    for (unsigned i = 0; i < 3000; i++) {
        mk_metric_vm_t many = {.uuid = {9, (uint8_t) (i >> 8), (uint8_t) i}, .cpu_permille = 5};
        controller_history_add_vm (history, &many, step * 1000);
    }
    controller_history_roll (history, step + 60);
    size_t first = controller_history_queued (history);
    assert (first > 0 && first < 3000 && controller_history_busy (history));
    int slices = 1;
    while (controller_history_queued (history) < 3000) {
        controller_history_roll (history, step + 60);
        assert (++slices < 10);
    }
    assert (slices >= 3 && controller_history_queued (history) == 3000);
    while (controller_history_busy (history))
        s_batch (history, db, step + 60, true);
    if (verbose)
        printf (" * 3,000 subjects closed in %d slices of the pass\n", slices);

    controller_history_destroy (&history);
    mk_db_destroy (&db);
}

void
controller_history_test (bool verbose)
{
    char *dir = mk_testdir_new ("controller_history");
    char *url = zsys_sprintf ("sqlite:%s/history.db", dir);
    s_test_on (url, verbose);
    free (url);
    mk_testdir_remove (&dir);
    //  INSERT IGNORE and MySQL's deletes, when the tests were given a server.
    const char *mysql = getenv ("MK_TEST_MYSQL_URL");
    if (mysql && *mysql)
        s_test_on (mysql, verbose);
}

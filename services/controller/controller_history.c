/*  controller_history: the monitoring history (controller_history.h). */
#include "controller_history.h"

#include "mk_msg.h"
#include "mk_uuid.h"

#include <inttypes.h>

//  Rows waiting at most: beyond (a database that takes no writes for hours), the oldest
//  are dropped, and the log says so.
#define S_QUEUE_MAX   1000000
#define S_SUBJECT_MAX 64
//  At most this many points in one answer.
#define S_POINTS_MAX 10000
//  Subjects a roll looks at: a pass over 100,000 is a hundred short slices, not one stall.
#define S_SWEEP_SLICE 1024

//  One raw sample's values; rates in bytes a second (up to 4 GB/s).
typedef struct {
    int64_t t_ms;
    uint64_t mem_kb;
    uint32_t cpu, rx, tx, rd, wr;
} s_point_t;

//  The same, as the ring keeps it: 28 bytes, as 100,000 VMs keep raw_points of them.
typedef struct {
    uint32_t t_s, mem_kb; //  memory clipped at 4 TiB
    uint32_t cpu, rx, tx, rd, wr;
} s_raw_t;

//  The sums of a step being filled.
typedef struct {
    int64_t start; //  unix s
    uint32_t n;
    uint64_t cpu, mem, rx, tx, rd, wr;
} s_acc_t;

//  A host's counters in its sample before, for its rates.
typedef struct {
    int64_t ms;
    uint64_t busy, all, rx, tx, rd, wr;
} s_prev_t;

//  One host or VM: what a VM needs in about 520 bytes with the default 12 raw points, a
//  host's name and counters after its ring, a VM's UUID there (100,000 VMs keep this).
typedef struct {
    uint8_t kind, size;
    uint32_t index; //  in the history's array of all subjects
    uint32_t ring_at, ring_count;
    int64_t last_ms;  //  its last sample came
    uint8_t *subject; //  its key: a host's name (a string) or a VM's UUID, after the ring
    s_prev_t *prev;   //  a host's, after its name; NULL for a VM
    s_acc_t fine, coarse;
    s_raw_t ring[]; //  opts.raw_points of them
} s_subject_t;

typedef struct {
    int step, kind;
    uint8_t subject[S_SUBJECT_MAX];
    size_t size;
    int64_t t;
    uint32_t n, cpu;
    uint64_t mem, rx, tx, rd, wr;
} s_row_t;

struct _controller_history_t {
    controller_history_opts_t opts;
    zhashx_t *hosts;   //  name -> s_subject_t
    zhashx_t *vms;     //  UUID (16 bytes, held by the item) -> s_subject_t
    s_subject_t **all; //  every subject, for the rolls' passes
    size_t all_count, all_capacity;
    size_t cursor; //  the pass under way is at this index
    bool passing;  //  a pass is under way
    s_row_t *rows; //  the queue: count rows from head
    size_t head, count, capacity;
    size_t in_flight;  //  rows at the head written in the open transaction
    int64_t floor[2];  //  the last step written, fine and coarse (unix s)
    int64_t fine_now;  //  the fine step being filled
    int64_t expire_at; //  unix s the next expiry pass is due
    uint64_t dropped;  //  rows dropped from a full queue
};

char *
controller_history_check (const controller_history_opts_t *opts)
{
    if (opts->raw_points < 1 || opts->raw_points > 100000)
        return zsys_sprintf ("'metrics/raw_points' must be from 1 to 100000");
    if (opts->fine_step_s < 1 || opts->coarse_step_s < opts->fine_step_s
        || opts->coarse_step_s % opts->fine_step_s != 0)
        return zsys_sprintf ("'metrics/coarse_step_s' must be a multiple of "
                             "'metrics/fine_step_s', which must be at least 1");
    if (opts->fine_keep_s < opts->fine_step_s || opts->coarse_keep_s < opts->coarse_step_s)
        return zsys_sprintf ("'metrics/fine_keep_s' and 'metrics/coarse_keep_s' must each "
                             "keep at least one step");
    return NULL;
}

controller_history_t *
controller_history_new (const controller_history_opts_t *opts, char **error)
{
    *error = controller_history_check (opts);
    if (*error)
        return NULL;
    controller_history_t *self = (controller_history_t *) zmalloc (sizeof (controller_history_t));
    self->opts = *opts;
    self->hosts = zhashx_new ();
    zhashx_set_destructor (self->hosts, (zhashx_destructor_fn *) zstr_free);
    self->vms = mk_uuid_table_new ();
    return self;
}

void
controller_history_destroy (controller_history_t **self_p)
{
    controller_history_t *self = *self_p;
    if (!self)
        return;
    zhashx_destroy (&self->hosts);
    zhashx_destroy (&self->vms);
    free (self->all);
    free (self->rows);
    free (self);
    *self_p = NULL;
}

int
controller_history_load (controller_history_t *self, mk_db_t *db)
{
    int steps[2] = {self->opts.fine_step_s, self->opts.coarse_step_s};
    for (int i = 0; i < 2; i++) {
        mk_stmt_t *stmt = mk_db_prepare (db, "SELECT MAX(t) FROM metrics WHERE step = ?");
        if (!stmt || mk_stmt_bind_int (stmt, 1, steps[i]) != 0)
            return -1;
        int rc = mk_stmt_step (stmt);
        if (rc != MK_DB_ROW)
            return -1;
        self->floor[i] = mk_stmt_int (stmt, 0);
        mk_stmt_reset (stmt);
    }
    return 0;
}

//  ---------------------------------------------------------------- taking samples

//  A host by its name (a string), a VM by its 16-byte UUID.
static zhashx_t *
s_table (controller_history_t *self, int kind)
{
    return kind == HISTORY_HOST ? self->hosts : self->vms;
}

static s_subject_t *
s_subject (controller_history_t *self, int kind, const void *subject, size_t size)
{
    zhashx_t *table = s_table (self, kind);
    s_subject_t *it = (s_subject_t *) zhashx_lookup (table, subject);
    if (!it) {
        //  A host's name stays a string (its NUL from zmalloc): names are at most 63.
        size_t ring = (size_t) self->opts.raw_points * sizeof (s_raw_t);
        size_t key = kind == HISTORY_HOST ? S_SUBJECT_MAX : 16;
        size_t prev = kind == HISTORY_HOST ? sizeof (s_prev_t) : 0;
        //  After the ring (28 bytes a point), the counters at an 8-byte boundary.
        size_t tail = (sizeof (s_subject_t) + ring + 7) & ~(size_t) 7;
        uint8_t *block = (uint8_t *) zmalloc (tail + prev + key);
        it = (s_subject_t *) block;
        it->kind = (uint8_t) kind;
        it->size = (uint8_t) (size < key - 1 ? size : key - 1);
        if (kind == HISTORY_VM)
            it->size = 16;
        it->prev = prev ? (s_prev_t *) (block + tail) : NULL;
        it->subject = block + tail + prev;
        memcpy (it->subject, subject, it->size);
        zhashx_insert (table, it->subject, it);
        if (self->all_count == self->all_capacity) {
            self->all_capacity = self->all_capacity ? self->all_capacity * 2 : 256;
            self->all =
                (s_subject_t **) realloc (self->all, self->all_capacity * sizeof (s_subject_t *));
            assert (self->all);
        }
        it->index = (uint32_t) self->all_count;
        self->all[self->all_count++] = it;
    }
    return it;
}

static void
s_queue (controller_history_t *self, int which, const s_subject_t *subject, const s_acc_t *acc)
{
    if (acc->n == 0 || acc->start <= self->floor[which])
        return; //  nothing in it, or written before a restart
    if (self->count == S_QUEUE_MAX) {
        if (self->dropped++ % 100000 == 0)
            mk_warn ("controller: history: %d rows wait to be written; newer ones are dropped "
                     "(%" PRIu64 " so far)",
                     S_QUEUE_MAX, self->dropped);
        return;
    }
    if (self->count == self->capacity) {
        size_t capacity = self->capacity ? self->capacity * 2 : 1024;
        s_row_t *rows = (s_row_t *) malloc (capacity * sizeof (s_row_t));
        assert (rows);
        for (size_t i = 0; i < self->count; i++)
            rows[i] = self->rows[(self->head + i) % self->capacity];
        free (self->rows);
        self->rows = rows;
        self->capacity = capacity;
        self->head = 0;
    }
    s_row_t *row = &self->rows[(self->head + self->count++) % self->capacity];
    row->step = which ? self->opts.coarse_step_s : self->opts.fine_step_s;
    row->kind = subject->kind;
    memcpy (row->subject, subject->subject, subject->size);
    row->size = subject->size;
    row->t = acc->start;
    row->n = acc->n;
    row->cpu = (uint32_t) (acc->cpu / acc->n);
    row->mem = acc->mem / acc->n;
    row->rx = acc->rx / acc->n;
    row->tx = acc->tx / acc->n;
    row->rd = acc->rd / acc->n;
    row->wr = acc->wr / acc->n;
}

static void
s_acc_add (controller_history_t *self, int which, s_subject_t *subject, int64_t now_s,
           const s_point_t *p)
{
    s_acc_t *acc = which ? &subject->coarse : &subject->fine;
    int step = which ? self->opts.coarse_step_s : self->opts.fine_step_s;
    int64_t start = now_s - now_s % step;
    if (acc->start != start) {
        s_queue (self, which, subject, acc);
        memset (acc, 0, sizeof *acc);
        acc->start = start;
    }
    acc->n++;
    acc->cpu += p->cpu;
    acc->mem += p->mem_kb;
    acc->rx += p->rx;
    acc->tx += p->tx;
    acc->rd += p->rd;
    acc->wr += p->wr;
}

static void
s_take (controller_history_t *self, s_subject_t *subject, const s_point_t *p)
{
    s_raw_t *raw = &subject->ring[subject->ring_at];
    raw->t_s = (uint32_t) (p->t_ms / 1000);
    raw->mem_kb = p->mem_kb > UINT32_MAX ? UINT32_MAX : (uint32_t) p->mem_kb;
    raw->cpu = p->cpu;
    raw->rx = p->rx;
    raw->tx = p->tx;
    raw->rd = p->rd;
    raw->wr = p->wr;
    subject->ring_at = (subject->ring_at + 1) % (uint32_t) self->opts.raw_points;
    if (subject->ring_count < (uint32_t) self->opts.raw_points)
        subject->ring_count++;
    subject->last_ms = p->t_ms;
    int64_t now_s = p->t_ms / 1000;
    s_acc_add (self, 0, subject, now_s, p);
    s_acc_add (self, 1, subject, now_s, p);
}

//  A rate a second between two counters, clipped to 32 bits (0 if it went back).
static uint32_t
s_rate (uint64_t before, uint64_t after, int64_t ms)
{
    uint64_t rate = after >= before ? (after - before) * 1000 / (uint64_t) ms : 0;
    return rate > UINT32_MAX ? UINT32_MAX : (uint32_t) rate;
}

void
controller_history_add_host (controller_history_t *self, const Maekin__HostSample *sample,
                             int64_t now_ms)
{
    if (!sample->host || !sample->cpu)
        return;
    s_subject_t *subject = s_subject (self, HISTORY_HOST, sample->host, strlen (sample->host));
    uint64_t busy, all, rx = 0, tx = 0, rd = 0, wr = 0;
    mk_metric_cpu (sample->cpu, &busy, &all);
    for (size_t i = 0; i < sample->n_interfaces; i++) {
        rx += sample->interfaces[i]->rx_bytes;
        tx += sample->interfaces[i]->tx_bytes;
    }
    for (size_t i = 0; i < sample->n_disks; i++) {
        rd += sample->disks[i]->read_bytes;
        wr += sample->disks[i]->write_bytes;
    }
    s_prev_t *prev = subject->prev;
    int64_t ms = sample->time_ms - prev->ms;
    if (prev->ms && ms > 0 && all > prev->all && busy >= prev->busy) {
        s_point_t p = {.t_ms = now_ms};
        p.cpu = mk_metric_busy_share (prev->busy, prev->all, busy, all, 1000);
        p.mem_kb = sample->memory_total_kb > sample->memory_available_kb
                       ? sample->memory_total_kb - sample->memory_available_kb
                       : 0;
        p.rx = s_rate (prev->rx, rx, ms);
        p.tx = s_rate (prev->tx, tx, ms);
        p.rd = s_rate (prev->rd, rd, ms);
        p.wr = s_rate (prev->wr, wr, ms);
        s_take (self, subject, &p);
    }
    *prev = (s_prev_t){sample->time_ms, busy, all, rx, tx, rd, wr};
}

static uint32_t
s_clip (uint64_t value)
{
    return value > UINT32_MAX ? UINT32_MAX : (uint32_t) value;
}

void
controller_history_add_vm (controller_history_t *self, const mk_metric_vm_t *vm, int64_t now_ms)
{
    s_subject_t *subject = s_subject (self, HISTORY_VM, vm->uuid, 16);
    s_point_t p = {.t_ms = now_ms,
                   .mem_kb = vm->rss_kb,
                   .cpu = vm->cpu_permille,
                   .rx = s_clip (vm->net_rx_bps),
                   .tx = s_clip (vm->net_tx_bps),
                   .rd = s_clip (vm->disk_read_bps),
                   .wr = s_clip (vm->disk_write_bps)};
    s_take (self, subject, &p);
}

//  Forgets a subject: the last of the array takes its place.
static void
s_forget (controller_history_t *self, s_subject_t *subject)
{
    uint32_t index = subject->index;
    self->all[index] = self->all[--self->all_count];
    self->all[index]->index = index;
    //  Deleted by a copy of the key: the item holding it is freed on the way.
    uint8_t key[S_SUBJECT_MAX] = {0};
    memcpy (key, subject->subject, subject->size);
    zhashx_delete (s_table (self, subject->kind), key);
}

void
controller_history_roll (controller_history_t *self, int64_t now_s)
{
    int64_t fine = now_s - now_s % self->opts.fine_step_s;
    if (fine != self->fine_now) {
        self->fine_now = fine;
        self->passing = true;
        self->cursor = 0;
    }
    if (!self->passing)
        return;
    //  A slice of the pass: steps that ended are closed (those of a subject still sampled
    //  close at its next sample too, whichever comes first: the row is the same), and
    //  those silent for a coarse step, their steps closed, are forgotten.
    int64_t coarse = now_s - now_s % self->opts.coarse_step_s;
    int64_t idle_ms = (now_s - self->opts.coarse_step_s) * 1000;
    size_t end = self->cursor + S_SWEEP_SLICE;
    while (self->cursor < self->all_count && self->cursor < end) {
        s_subject_t *subject = self->all[self->cursor];
        if (subject->fine.start < fine) {
            s_queue (self, 0, subject, &subject->fine);
            memset (&subject->fine, 0, sizeof subject->fine);
        }
        if (subject->coarse.start < coarse) {
            s_queue (self, 1, subject, &subject->coarse);
            memset (&subject->coarse, 0, sizeof subject->coarse);
        }
        if (subject->last_ms < idle_ms)
            s_forget (self, subject); //  the last takes its place, looked at next
        else
            self->cursor++;
    }
    if (self->cursor >= self->all_count)
        self->passing = false;
}

bool
controller_history_busy (controller_history_t *self)
{
    return self->count > 0 || self->passing;
}

size_t
controller_history_queued (controller_history_t *self)
{
    return self->count;
}

//  ---------------------------------------------------------------- writing

//  Up to max rows of a step older than keep deleted: how many, or -1.
static int
s_expire (mk_db_t *db, int step, int64_t before, size_t max)
{
    bool mysql = streq (mk_db_backend (db), "mysql");
    mk_stmt_t *stmt = mk_db_prepare (
        db, mysql ? "DELETE FROM metrics WHERE step = ? AND t < ? ORDER BY t LIMIT ?"
                  : "DELETE FROM metrics WHERE (step, kind, subject, t) IN (SELECT step, kind, "
                    "subject, t FROM metrics WHERE step = ? AND t < ? LIMIT ?)");
    if (!stmt || mk_stmt_bind_int (stmt, 1, step) != 0 || mk_stmt_bind_int (stmt, 2, before) != 0
        || mk_stmt_bind_int (stmt, 3, (int64_t) max) != 0 || mk_stmt_step (stmt) != MK_DB_DONE)
        return -1;
    return mk_db_changes (db);
}

int
controller_history_save (controller_history_t *self, mk_db_t *db, int64_t now_s, size_t max)
{
    assert (self->in_flight == 0);
    size_t n = self->count < max ? self->count : max;
    const char *sql = streq (mk_db_backend (db), "mysql")
                          ? "INSERT IGNORE INTO metrics (step, kind, subject, t, samples, cpu, "
                            "mem_kb, rx, tx, rd, wr) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                          : "INSERT OR IGNORE INTO metrics (step, kind, subject, t, samples, "
                            "cpu, mem_kb, rx, tx, rd, wr) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
    if (n) {
        for (size_t i = 0; i < n; i++) {
            //  Prepared for each row: the cache hands it back reset, ready to bind.
            mk_stmt_t *stmt = mk_db_prepare (db, sql);
            if (!stmt)
                return -1;
            const s_row_t *row = &self->rows[(self->head + i) % self->capacity];
            int64_t values[] = {row->step,
                                row->kind,
                                0,
                                row->t,
                                row->n,
                                row->cpu,
                                (int64_t) row->mem,
                                (int64_t) row->rx,
                                (int64_t) row->tx,
                                (int64_t) row->rd,
                                (int64_t) row->wr};
            int rc = 0;
            for (int v = 0; v < 11; v++)
                rc |= v == 2 ? mk_stmt_bind_blob (stmt, 3, row->subject, row->size)
                             : mk_stmt_bind_int (stmt, v + 1, values[v]);
            if (rc != 0 || mk_stmt_queue (stmt) != 0)
                return -1;
        }
        self->in_flight = n;
    }
    if (now_s >= self->expire_at) {
        //  What expired, a bounded number a batch: back next batch while more is left.
        int fine = s_expire (db, self->opts.fine_step_s, now_s - self->opts.fine_keep_s, max);
        int coarse = fine < 0 ? -1
                              : s_expire (db, self->opts.coarse_step_s,
                                          now_s - self->opts.coarse_keep_s, max);
        if (fine < 0 || coarse < 0)
            return -1;
        if ((size_t) fine < max && (size_t) coarse < max)
            self->expire_at = now_s + self->opts.fine_step_s;
    }
    return 0;
}

void
controller_history_saved (controller_history_t *self, bool committed)
{
    if (committed && self->in_flight) {
        self->head = (self->head + self->in_flight) % self->capacity;
        self->count -= self->in_flight;
    }
    self->in_flight = 0;
}

//  ---------------------------------------------------------------- reading

//  Points being summed into steps.
typedef struct {
    Maekin__MetricPoint **points;
    size_t count, max;
    uint32_t step;
    //  The step being summed (weighted by samples).
    int64_t t;
    uint64_t n, cpu, mem, rx, tx, rd, wr;
} s_sum_t;

static void
s_sum_flush (s_sum_t *sum, controller_history_alloc_fn *alloc, void *arg)
{
    if (sum->n == 0 || sum->count == sum->max)
        return;
    Maekin__MetricPoint *p = (Maekin__MetricPoint *) alloc (arg, sizeof (Maekin__MetricPoint));
    maekin__metric_point__init (p);
    p->t = sum->t;
    p->samples = (uint32_t) sum->n;
    p->cpu_permille = (uint32_t) (sum->cpu / sum->n);
    p->mem_kb = sum->mem / sum->n;
    p->net_rx_bps = sum->rx / sum->n;
    p->net_tx_bps = sum->tx / sum->n;
    p->disk_read_bps = sum->rd / sum->n;
    p->disk_write_bps = sum->wr / sum->n;
    sum->points[sum->count++] = p;
    sum->n = sum->cpu = sum->mem = sum->rx = sum->tx = sum->rd = sum->wr = 0;
}

//  A step's averages (n samples) into the sum, in time order.
static void
s_sum_add (s_sum_t *sum, int64_t t, uint64_t n, uint64_t cpu, uint64_t mem, uint64_t rx,
           uint64_t tx, uint64_t rd, uint64_t wr, controller_history_alloc_fn *alloc, void *arg)
{
    int64_t start = sum->step ? t - t % sum->step : t;
    if (start != sum->t)
        s_sum_flush (sum, alloc, arg);
    sum->t = start;
    sum->n += n;
    sum->cpu += cpu * n;
    sum->mem += mem * n;
    sum->rx += rx * n;
    sum->tx += tx * n;
    sum->rd += rd * n;
    sum->wr += wr * n;
}

//  The rows of a step size since since_s, then the step still being filled.
static int
s_query_rows (controller_history_t *self, mk_db_t *db, int which, s_subject_t *subject, int kind,
              const void *key, size_t size, int64_t since_s, s_sum_t *sum,
              controller_history_alloc_fn *alloc, void *arg)
{
    int step = which ? self->opts.coarse_step_s : self->opts.fine_step_s;
    mk_stmt_t *stmt = mk_db_prepare (db, "SELECT t, samples, cpu, mem_kb, rx, tx, rd, wr FROM "
                                         "metrics WHERE step = ? AND kind = ? AND subject = ? "
                                         "AND t >= ? ORDER BY t");
    if (!stmt || mk_stmt_bind_int (stmt, 1, step) != 0 || mk_stmt_bind_int (stmt, 2, kind) != 0
        || mk_stmt_bind_blob (stmt, 3, key, size) != 0
        || mk_stmt_bind_int (stmt, 4, since_s - since_s % step) != 0)
        return -1;
    int rc;
    while ((rc = mk_stmt_step (stmt)) == MK_DB_ROW) {
        int64_t v[8];
        for (int i = 0; i < 8; i++)
            v[i] = mk_stmt_int (stmt, i);
        s_sum_add (sum, v[0], (uint64_t) v[1], (uint64_t) v[2], (uint64_t) v[3], (uint64_t) v[4],
                   (uint64_t) v[5], (uint64_t) v[6], (uint64_t) v[7], alloc, arg);
    }
    if (rc != MK_DB_DONE)
        return -1;
    //  The step being filled, in memory (and rows queued, not yet written, are not
    //  shown: they are at most a few batches old).
    const s_acc_t *acc = subject ? (which ? &subject->coarse : &subject->fine) : NULL;
    if (acc && acc->n && acc->start >= since_s - since_s % step)
        s_sum_add (sum, acc->start, 1, acc->cpu / acc->n, acc->mem / acc->n, acc->rx / acc->n,
                   acc->tx / acc->n, acc->rd / acc->n, acc->wr / acc->n, alloc, arg);
    return 0;
}

int
controller_history_query (controller_history_t *self, mk_db_t *db, int kind, const void *key,
                          size_t size, int64_t since_s, int64_t now_s, uint32_t step_s,
                          controller_history_alloc_fn *alloc, void *arg,
                          Maekin__MetricsHistoryReply *reply, char **error)
{
    *error = NULL;
    const controller_history_opts_t *o = &self->opts;
    if (since_s <= 0 || since_s < now_s - o->coarse_keep_s)
        since_s = now_s - o->coarse_keep_s;
    s_subject_t *subject = (s_subject_t *) zhashx_lookup (s_table (self, kind), key);
    //  The source: raw samples, fine steps or coarse steps.
    int64_t oldest_raw = now_s;
    if (subject && subject->ring_count) {
        size_t first = (subject->ring_at + (size_t) o->raw_points - subject->ring_count)
                       % (size_t) o->raw_points;
        oldest_raw = subject->ring[first].t_s;
    }
    if (step_s == 0)
        step_s = since_s >= oldest_raw               ? 0
                 : since_s >= now_s - o->fine_keep_s ? (uint32_t) o->fine_step_s
                                                     : (uint32_t) o->coarse_step_s;
    int which = -1; //  raw
    if (step_s >= (uint32_t) o->coarse_step_s && step_s % (uint32_t) o->coarse_step_s == 0)
        which = 1;
    else if (step_s >= (uint32_t) o->fine_step_s && step_s % (uint32_t) o->fine_step_s == 0)
        which = 0;
    else if (step_s >= (uint32_t) o->fine_step_s) {
        *error = zsys_sprintf ("a step must be under %ds (the samples as they came), or a "
                               "multiple of %ds or of %ds",
                               o->fine_step_s, o->fine_step_s, o->coarse_step_s);
        return MK_BAD_REQUEST;
    } else
        step_s = 0;
    uint64_t span = (uint64_t) (now_s - since_s);
    size_t max = which < 0 ? (size_t) o->raw_points : (size_t) (span / step_s + 2);
    if (max > S_POINTS_MAX) {
        *error = zsys_sprintf ("%zu points asked; at most %d: a larger step or a later since", max,
                               S_POINTS_MAX);
        return MK_BAD_REQUEST;
    }
    s_sum_t sum = {.max = max, .step = step_s, .t = -1};
    sum.points = (Maekin__MetricPoint **) alloc (arg, (max + 1) * sizeof (Maekin__MetricPoint *));
    if (which < 0) {
        for (size_t i = 0; subject && i < subject->ring_count; i++) {
            size_t at = (subject->ring_at + (size_t) o->raw_points - subject->ring_count + i)
                        % (size_t) o->raw_points;
            const s_raw_t *p = &subject->ring[at];
            if (p->t_s >= since_s)
                s_sum_add (&sum, p->t_s, 1, p->cpu, p->mem_kb, p->rx, p->tx, p->rd, p->wr, alloc,
                           arg);
        }
    } else if (s_query_rows (self, db, which, subject, kind, key, size, since_s, &sum, alloc, arg)
               != 0) {
        *error = zsys_sprintf ("the history could not be read: %s", mk_db_error (db));
        return MK_INTERNAL;
    }
    s_sum_flush (&sum, alloc, arg);
    reply->step_s = step_s;
    reply->points = sum.points;
    reply->n_points = sum.count;
    return 0;
}

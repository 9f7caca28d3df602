/*  controller_store: the controller's SQL. */
#include "controller_store.h"

#include "mk_testdir.h"

#define SPEC_COLUMNS "vcpus, memory_mb, disk_gb, image, os_type, network, kernel, initrd, cmdline"

void
store_copy (char *to, size_t size, const char *from)
{
    //  As snprintf ("%s") would, without its cost: a row of a list copies a dozen of these.
    size_t length = from ? strnlen (from, size - 1) : 0;
    memcpy (to, from ? from : "", length);
    to[length] = 0;
}
#define COPY(field, text) store_copy ((field), sizeof (field), (text))

//  Binds a spec's nine columns from index `at`.
static void
s_bind_spec (mk_stmt_t *stmt, int at, const store_spec_t *spec)
{
    mk_stmt_bind_int (stmt, at, spec->vcpus);
    mk_stmt_bind_int (stmt, at + 1, (int64_t) spec->memory_mb);
    mk_stmt_bind_int (stmt, at + 2, (int64_t) spec->disk_gb);
    mk_stmt_bind_text (stmt, at + 3, spec->image);
    mk_stmt_bind_text (stmt, at + 4, spec->os_type);
    mk_stmt_bind_text (stmt, at + 5, spec->network);
    mk_stmt_bind_text (stmt, at + 6, spec->kernel);
    mk_stmt_bind_text (stmt, at + 7, spec->initrd);
    mk_stmt_bind_text (stmt, at + 8, spec->cmdline);
}

static void
s_read_spec (mk_stmt_t *stmt, int at, store_spec_t *spec)
{
    spec->vcpus = (uint32_t) mk_stmt_int (stmt, at);
    spec->memory_mb = (uint64_t) mk_stmt_int (stmt, at + 1);
    spec->disk_gb = (uint64_t) mk_stmt_int (stmt, at + 2);
    COPY (spec->image, mk_stmt_text (stmt, at + 3));
    COPY (spec->os_type, mk_stmt_text (stmt, at + 4));
    COPY (spec->network, mk_stmt_text (stmt, at + 5));
    COPY (spec->kernel, mk_stmt_text (stmt, at + 6));
    COPY (spec->initrd, mk_stmt_text (stmt, at + 7));
    COPY (spec->cmdline, mk_stmt_text (stmt, at + 8));
}

int
store_change (mk_db_t *db, mk_stmt_t *stmt)
{
    int rc = mk_stmt_step (stmt);
    mk_stmt_reset (stmt);
    if (rc == MK_DB_DONE)
        return mk_db_changes (db);
    return rc == MK_DB_CONSTRAINT ? MK_DB_CONSTRAINT : -1;
}

//  Queues the statement's row (mk_stmt_queue): 1, or MK_DB_CONSTRAINT or -1 when it, or
//  rows it made run first, failed.
static int
s_queue (mk_stmt_t *stmt)
{
    int rc = mk_stmt_queue (stmt);
    return rc == 0 ? 1 : rc == MK_DB_CONSTRAINT ? MK_DB_CONSTRAINT : -1;
}

int
store_rows (mk_stmt_t *stmt, void (*read) (mk_stmt_t *, void *), size_t size, store_row_fn *fn,
            void *arg)
{
    if (!stmt)
        return -1;
    _Alignas(max_align_t) uint8_t row[STORE_ROW_MAX];
    assert (size <= sizeof row);
    int count = 0, rc;
    while ((rc = mk_stmt_step (stmt)) == MK_DB_ROW) {
        read (stmt, row);
        fn (row, arg);
        count++;
    }
    mk_stmt_reset (stmt);
    return rc == MK_DB_DONE ? count : -1;
}

void
store_test_backends (const char *name, void (*fn) (mk_db_t *db, bool verbose), bool verbose)
{
    char *dir = mk_testdir_new (name);
    char *sqlite = zsys_sprintf ("sqlite:%s/state.db?synchronous=off", dir);
    const char *urls[] = {sqlite, getenv ("MK_TEST_MYSQL_URL")};
    for (size_t i = 0; i < 2; i++) {
        if (!urls[i] || !*urls[i]) {
            printf ("%s: MK_TEST_MYSQL_URL is not set; not tested on MySQL\n", name);
            continue;
        }
        char *error = NULL;
        mk_db_t *db = mk_db_open (urls[i], &error);
        if (!db)
            printf ("%s: cannot open the database: %s\n", name, error);
        assert (db);
        if (i == 1) { //  the server's database may hold an earlier test's tables
            char *drop = mk_db_drop_all_sql ();
            assert (mk_db_exec (db, drop) == 0);
            free (drop);
        }
        assert (mk_db_migrate (db, &error) == 0);
        if (verbose)
            printf (" * %s on %s\n", name, mk_db_backend (db));
        fn (db, verbose);
        mk_db_destroy (&db);
    }
    free (sqlite);
    mk_testdir_remove (&dir);
}

//  Steps through rows, calling read for each; the count or -1.
static int
s_rows (mk_stmt_t *stmt, void (*read) (mk_stmt_t *, store_row_fn *, void *), store_row_fn *fn,
        void *arg)
{
    int count = 0, rc;
    while ((rc = mk_stmt_step (stmt)) == MK_DB_ROW) {
        read (stmt, fn, arg);
        count++;
    }
    mk_stmt_reset (stmt);
    return rc == MK_DB_DONE ? count : -1;
}

//  The upper bound of names starting with a prefix ('~' sorts after every name character).
static void
s_prefix_end (const char *prefix, char *end, size_t size)
{
    snprintf (end, size, "%s~", prefix ? prefix : "");
}

//  ---------------------------------------------------------------- requests

int
store_request_find (mk_db_t *db, const char *id, uint64_t *fingerprint, zchunk_t **reply)
{
    mk_stmt_t *stmt = mk_db_prepare (db, "SELECT reply, fingerprint FROM requests WHERE id = ?");
    if (!stmt)
        return -1;
    mk_stmt_bind_text (stmt, 1, id);
    int rc = mk_stmt_step (stmt);
    if (rc == MK_DB_ROW) {
        size_t size;
        const void *data = mk_stmt_blob (stmt, 0, &size);
        *reply = zchunk_new (data, size);
        *fingerprint = (uint64_t) mk_stmt_int (stmt, 1);
    }
    mk_stmt_reset (stmt);
    return rc == MK_DB_ROW ? 1 : rc == MK_DB_DONE ? 0 : -1;
}

int
store_request_save (mk_db_t *db, const char *id, uint64_t fingerprint, const void *reply,
                    size_t size)
{
    mk_stmt_t *stmt = mk_db_prepare (
        db, "INSERT INTO requests (id, reply, created, fingerprint) VALUES (?, ?, ?, ?)");
    if (!stmt)
        return -1;
    mk_stmt_bind_text (stmt, 1, id);
    mk_stmt_bind_blob (stmt, 2, reply, size);
    mk_stmt_bind_int (stmt, 3, zclock_time () / 1000);
    mk_stmt_bind_int (stmt, 4, (int64_t) fingerprint);
    return s_queue (stmt);
}

int
store_request_expire (mk_db_t *db, int64_t before)
{
    mk_stmt_t *stmt = mk_db_prepare (db, "DELETE FROM requests WHERE created < ?");
    if (!stmt)
        return -1;
    mk_stmt_bind_int (stmt, 1, before);
    return store_change (db, stmt);
}

//  ---------------------------------------------------------------- templates

int
store_template_insert (mk_db_t *db, const store_template_t *t)
{
    mk_stmt_t *stmt = mk_db_prepare (db, "INSERT INTO templates (name, " SPEC_COLUMNS ", created) "
                                         "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    if (!stmt)
        return -1;
    mk_stmt_bind_text (stmt, 1, t->name);
    s_bind_spec (stmt, 2, &t->spec);
    mk_stmt_bind_int (stmt, 11, t->created);
    return store_change (db, stmt);
}

static void
s_read_template (mk_stmt_t *stmt, store_template_t *t)
{
    memset (t, 0, sizeof *t);
    COPY (t->name, mk_stmt_text (stmt, 0));
    s_read_spec (stmt, 1, &t->spec);
    t->created = mk_stmt_int (stmt, 10);
}

int
store_template_get (mk_db_t *db, const char *name, store_template_t *t)
{
    mk_stmt_t *stmt =
        mk_db_prepare (db, "SELECT name, " SPEC_COLUMNS ", created FROM templates WHERE name = ?");
    if (!stmt)
        return -1;
    mk_stmt_bind_text (stmt, 1, name);
    int rc = mk_stmt_step (stmt);
    if (rc == MK_DB_ROW)
        s_read_template (stmt, t);
    mk_stmt_reset (stmt);
    return rc == MK_DB_ROW ? 1 : rc == MK_DB_DONE ? 0 : -1;
}

int
store_template_delete (mk_db_t *db, const char *name)
{
    mk_stmt_t *stmt = mk_db_prepare (db, "DELETE FROM templates WHERE name = ?");
    if (!stmt)
        return -1;
    mk_stmt_bind_text (stmt, 1, name);
    return store_change (db, stmt);
}

static void
s_template_row (mk_stmt_t *stmt, store_row_fn *fn, void *arg)
{
    store_template_t t;
    s_read_template (stmt, &t);
    fn (&t, arg);
}

int
store_template_list (mk_db_t *db, const store_page_t *page, store_row_fn *fn, void *arg)
{
    mk_stmt_t *stmt =
        mk_db_prepare (db, "SELECT name, " SPEC_COLUMNS ", created FROM templates "
                           "WHERE name > ? AND name >= ? AND name < ? ORDER BY name LIMIT ?");
    if (!stmt)
        return -1;
    char end[80];
    s_prefix_end (page->prefix, end, sizeof end);
    mk_stmt_bind_text (stmt, 1, page->after ? page->after : "");
    mk_stmt_bind_text (stmt, 2, page->prefix ? page->prefix : "");
    mk_stmt_bind_text (stmt, 3, end);
    mk_stmt_bind_int (stmt, 4, page->limit);
    return s_rows (stmt, s_template_row, fn, arg);
}

//  ---------------------------------------------------------------- VMs

void
store_vm_key (char *key, size_t size, const char *vi, const char *name)
{
    if (!vi || !*vi || streq (vi, STORE_VI_DEFAULT))
        snprintf (key, size, "%s", name);
    else
        snprintf (key, size, "%s:%s", vi, name);
}

void
store_vm_split (const char *key, char *vi, const char **name)
{
    const char *colon = strchr (key, ':');
    if (colon)
        snprintf (vi, 64, "%.*s", (int) (colon - key) < 63 ? (int) (colon - key) : 63, key);
    else
        snprintf (vi, 64, "%s", STORE_VI_DEFAULT);
    if (name)
        *name = colon ? colon + 1 : key;
}

void
store_template_key (char *key, size_t size, const char *vi, const char *name)
{
    if (vi && *vi)
        snprintf (key, size, "%s:%s", vi, name);
    else
        snprintf (key, size, "%s", name);
}

void
store_template_split (const char *key, char *vi, const char **name)
{
    if (strchr (key, ':'))
        store_vm_split (key, vi, name);
    else {
        *vi = 0;
        if (name)
            *name = key;
    }
}

//  Binds a list's scope from index `at` (four parameters): one VI, or the VIs a user
//  holds a role in.
static void
s_bind_scope (mk_stmt_t *stmt, int at, const store_page_t *page)
{
    const char *vi = page->vi ? page->vi : "";
    mk_stmt_bind_text (stmt, at, vi);
    mk_stmt_bind_text (stmt, at + 1, vi);
    mk_stmt_bind_int (stmt, at + 2, page->member);
    mk_stmt_bind_int (stmt, at + 3, page->member);
}

#define VM_COLUMNS "name, uuid, template, host, state, mac, last_task, created, vi, " SPEC_COLUMNS

int
store_vm_insert (mk_db_t *db, const store_vm_t *vm, int64_t now)
{
    mk_stmt_t *stmt =
        mk_db_prepare (db, "INSERT INTO vms (" VM_COLUMNS ", updated) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    if (!stmt)
        return -1;
    char vi[64];
    store_vm_split (vm->name, vi, NULL);
    mk_stmt_bind_text (stmt, 1, vm->name);
    mk_stmt_bind_text (stmt, 2, vm->uuid);
    mk_stmt_bind_text (stmt, 3, vm->template_);
    mk_stmt_bind_text (stmt, 4, vm->host);
    mk_stmt_bind_text (stmt, 5, vm->state);
    mk_stmt_bind_text (stmt, 6, vm->mac);
    mk_stmt_bind_int (stmt, 7, (int64_t) vm->last_task);
    mk_stmt_bind_int (stmt, 8, now);
    mk_stmt_bind_text (stmt, 9, vi);
    s_bind_spec (stmt, 10, &vm->spec);
    mk_stmt_bind_int (stmt, 19, now);
    return s_queue (stmt);
}

static void
s_read_vm (mk_stmt_t *stmt, store_vm_t *vm)
{
    memset (vm, 0, sizeof *vm);
    COPY (vm->name, mk_stmt_text (stmt, 0));
    COPY (vm->uuid, mk_stmt_text (stmt, 1));
    COPY (vm->template_, mk_stmt_text (stmt, 2));
    COPY (vm->host, mk_stmt_text (stmt, 3));
    COPY (vm->state, mk_stmt_text (stmt, 4));
    COPY (vm->mac, mk_stmt_text (stmt, 5));
    vm->last_task = (uint64_t) mk_stmt_int (stmt, 6);
    vm->created = mk_stmt_int (stmt, 7);
    COPY (vm->vi, mk_stmt_text (stmt, 8));
    s_read_spec (stmt, 9, &vm->spec);
}

int
store_vm_get (mk_db_t *db, const char *name, store_vm_t *vm)
{
    mk_stmt_t *stmt = mk_db_prepare (db, "SELECT " VM_COLUMNS " FROM vms WHERE name = ?");
    if (!stmt)
        return -1;
    mk_stmt_bind_text (stmt, 1, name);
    int rc = mk_stmt_step (stmt);
    if (rc == MK_DB_ROW)
        s_read_vm (stmt, vm);
    mk_stmt_reset (stmt);
    return rc == MK_DB_ROW ? 1 : rc == MK_DB_DONE ? 0 : -1;
}

int
store_vm_get_uuid (mk_db_t *db, const char *uuid, store_vm_t *vm)
{
    mk_stmt_t *stmt = mk_db_prepare (db, "SELECT " VM_COLUMNS " FROM vms WHERE uuid = ?");
    if (!stmt)
        return -1;
    mk_stmt_bind_text (stmt, 1, uuid);
    int rc = mk_stmt_step (stmt);
    if (rc == MK_DB_ROW)
        s_read_vm (stmt, vm);
    mk_stmt_reset (stmt);
    return rc == MK_DB_ROW ? 1 : rc == MK_DB_DONE ? 0 : -1;
}

int
store_vm_set_state (mk_db_t *db, const char *name, const char *state, uint64_t last_task,
                    int64_t now)
{
    mk_stmt_t *stmt =
        mk_db_prepare (db, "UPDATE vms SET state = ?, last_task = ?, updated = ? WHERE name = ?");
    if (!stmt)
        return -1;
    mk_stmt_bind_text (stmt, 1, state);
    mk_stmt_bind_int (stmt, 2, (int64_t) last_task);
    mk_stmt_bind_int (stmt, 3, now);
    mk_stmt_bind_text (stmt, 4, name);
    return s_queue (stmt);
}

int
store_vm_delete (mk_db_t *db, const char *name)
{
    mk_stmt_t *stmt = mk_db_prepare (db, "DELETE FROM vms WHERE name = ?");
    if (!stmt)
        return -1;
    mk_stmt_bind_text (stmt, 1, name);
    return store_change (db, stmt);
}

//  A list shows what a VM message carries: its spec's sizes, not its image, kernel and
//  command line (a third of a row's columns, and most of its bytes).
#define VM_LIST_COLUMNS                                                                            \
    "name, uuid, template, host, state, mac, last_task, created, vi, vcpus, memory_mb"

static void
s_vm_row (mk_stmt_t *stmt, store_row_fn *fn, void *arg)
{
    store_vm_t vm;
    COPY (vm.name, mk_stmt_text (stmt, 0));
    COPY (vm.uuid, mk_stmt_text (stmt, 1));
    COPY (vm.template_, mk_stmt_text (stmt, 2));
    COPY (vm.host, mk_stmt_text (stmt, 3));
    COPY (vm.state, mk_stmt_text (stmt, 4));
    COPY (vm.mac, mk_stmt_text (stmt, 5));
    vm.last_task = (uint64_t) mk_stmt_int (stmt, 6);
    vm.created = mk_stmt_int (stmt, 7);
    COPY (vm.vi, mk_stmt_text (stmt, 8));
    vm.spec.vcpus = (uint32_t) mk_stmt_int (stmt, 9);
    vm.spec.memory_mb = (uint64_t) mk_stmt_int (stmt, 10);
    vm.spec.disk_gb = 0;
    vm.spec.image[0] = vm.spec.os_type[0] = vm.spec.network[0] = 0;
    vm.spec.kernel[0] = vm.spec.initrd[0] = vm.spec.cmdline[0] = 0;
    fn (&vm, arg);
}

int
store_vm_list (mk_db_t *db, const store_page_t *page, store_row_fn *fn, void *arg)
{
    mk_stmt_t *stmt = mk_db_prepare (
        db, "SELECT " VM_LIST_COLUMNS " FROM vms WHERE name > ? AND name >= ? AND name < ? "
            "AND (? = '' OR host = ?) AND (? = '' OR state = ?) AND (? = '' OR vi = ?) "
            "AND (? = 0 OR vi IN (SELECT vi FROM vi_members WHERE user_id = ?)) "
            "ORDER BY name LIMIT ?");
    if (!stmt)
        return -1;
    char end[160];
    s_prefix_end (page->prefix, end, sizeof end);
    const char *host = page->host ? page->host : "";
    const char *state = page->state ? page->state : "";
    mk_stmt_bind_text (stmt, 1, page->after ? page->after : "");
    mk_stmt_bind_text (stmt, 2, page->prefix ? page->prefix : "");
    mk_stmt_bind_text (stmt, 3, end);
    mk_stmt_bind_text (stmt, 4, host);
    mk_stmt_bind_text (stmt, 5, host);
    mk_stmt_bind_text (stmt, 6, state);
    mk_stmt_bind_text (stmt, 7, state);
    s_bind_scope (stmt, 8, page);
    mk_stmt_bind_int (stmt, 12, page->limit);
    return s_rows (stmt, s_vm_row, fn, arg);
}

//  The first column of every row of a query without parameters, to fn.
static int
s_each_text (mk_db_t *db, const char *sql, void (*fn) (const char *, void *), void *arg)
{
    mk_stmt_t *stmt = mk_db_prepare (db, sql);
    if (!stmt)
        return -1;
    int count = 0, rc;
    while ((rc = mk_stmt_step (stmt)) == MK_DB_ROW) {
        fn (mk_stmt_text (stmt, 0), arg);
        count++;
    }
    mk_stmt_reset (stmt);
    return rc == MK_DB_DONE ? count : -1;
}

int
store_request_ids (mk_db_t *db, void (*fn) (const char *, void *), void *arg)
{
    return s_each_text (db, "SELECT id FROM requests", fn, arg);
}

int
store_vm_names (mk_db_t *db, void (*fn) (const char *, void *), void *arg)
{
    return s_each_text (db, "SELECT name FROM vms", fn, arg);
}

int
store_vm_usage (mk_db_t *db, void (*fn) (const char *, uint64_t, uint64_t, uint64_t, void *),
                void *arg)
{
    mk_stmt_t *stmt = mk_db_prepare (
        db, "SELECT host, SUM(vcpus), SUM(memory_mb), COUNT(*) FROM vms GROUP BY host");
    if (!stmt)
        return -1;
    int count = 0, rc;
    while ((rc = mk_stmt_step (stmt)) == MK_DB_ROW) {
        fn (mk_stmt_text (stmt, 0), (uint64_t) mk_stmt_int (stmt, 1),
            (uint64_t) mk_stmt_int (stmt, 2), (uint64_t) mk_stmt_int (stmt, 3), arg);
        count++;
    }
    mk_stmt_reset (stmt);
    return rc == MK_DB_DONE ? count : -1;
}

//  ---------------------------------------------------------------- tasks

#define TASK_COLUMNS "id, vm, host, op, state, from_state, error, attempts, created, updated"

int
store_task_insert (mk_db_t *db, const store_task_t *task, int64_t now)
{
    mk_stmt_t *stmt = mk_db_prepare (
        db, "INSERT INTO tasks (id, vm, host, op, state, from_state, error, attempts, created, "
            "updated, vi) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    if (!stmt)
        return -1;
    char vi[64];
    store_vm_split (task->vm, vi, NULL);
    mk_stmt_bind_int (stmt, 1, (int64_t) task->id);
    mk_stmt_bind_text (stmt, 2, task->vm);
    mk_stmt_bind_text (stmt, 3, task->host);
    mk_stmt_bind_int (stmt, 4, task->op);
    mk_stmt_bind_text (stmt, 5, task->state);
    mk_stmt_bind_text (stmt, 6, task->from_state);
    mk_stmt_bind_text (stmt, 7, task->error);
    mk_stmt_bind_int (stmt, 8, task->attempts);
    mk_stmt_bind_int (stmt, 9, now);
    mk_stmt_bind_int (stmt, 10, now);
    mk_stmt_bind_text (stmt, 11, vi);
    return s_queue (stmt);
}

int
store_task_update (mk_db_t *db, uint64_t id, const char *state, const char *error,
                   uint32_t attempts, int64_t now)
{
    mk_stmt_t *stmt = mk_db_prepare (
        db, "UPDATE tasks SET state = ?, error = ?, attempts = ?, updated = ? WHERE id = ?");
    if (!stmt)
        return -1;
    mk_stmt_bind_text (stmt, 1, state);
    mk_stmt_bind_text (stmt, 2, error ? error : "");
    mk_stmt_bind_int (stmt, 3, attempts);
    mk_stmt_bind_int (stmt, 4, now);
    mk_stmt_bind_int (stmt, 5, (int64_t) id);
    return s_queue (stmt);
}

int64_t
store_task_last_id (mk_db_t *db)
{
    mk_stmt_t *stmt = mk_db_prepare (db, "SELECT COALESCE(MAX(id), 0) FROM tasks");
    if (!stmt)
        return -1;
    int rc = mk_stmt_step (stmt);
    int64_t last = rc == MK_DB_ROW ? mk_stmt_int (stmt, 0) : -1;
    mk_stmt_reset (stmt);
    return last;
}

static void
s_read_task (mk_stmt_t *stmt, store_task_t *task)
{
    memset (task, 0, sizeof *task);
    task->id = (uint64_t) mk_stmt_int (stmt, 0);
    COPY (task->vm, mk_stmt_text (stmt, 1));
    COPY (task->host, mk_stmt_text (stmt, 2));
    task->op = (int) mk_stmt_int (stmt, 3);
    COPY (task->state, mk_stmt_text (stmt, 4));
    COPY (task->from_state, mk_stmt_text (stmt, 5));
    COPY (task->error, mk_stmt_text (stmt, 6));
    task->attempts = (uint32_t) mk_stmt_int (stmt, 7);
    task->created = mk_stmt_int (stmt, 8);
    task->updated = mk_stmt_int (stmt, 9);
}

int
store_task_get (mk_db_t *db, uint64_t id, store_task_t *task)
{
    mk_stmt_t *stmt = mk_db_prepare (db, "SELECT " TASK_COLUMNS " FROM tasks WHERE id = ?");
    if (!stmt)
        return -1;
    mk_stmt_bind_int (stmt, 1, (int64_t) id);
    int rc = mk_stmt_step (stmt);
    if (rc == MK_DB_ROW)
        s_read_task (stmt, task);
    mk_stmt_reset (stmt);
    return rc == MK_DB_ROW ? 1 : rc == MK_DB_DONE ? 0 : -1;
}

static void
s_task_row (mk_stmt_t *stmt, store_row_fn *fn, void *arg)
{
    store_task_t task;
    s_read_task (stmt, &task);
    fn (&task, arg);
}

int
store_task_list (mk_db_t *db, const store_page_t *page, store_row_fn *fn, void *arg)
{
    mk_stmt_t *stmt = mk_db_prepare (
        db, "SELECT " TASK_COLUMNS " FROM tasks WHERE id < ? AND (? = '' OR host = ?) "
            "AND (? = '' OR state = ?) AND (? = '' OR vm = ?) AND (? = '' OR vi = ?) "
            "AND (? = 0 OR vi IN (SELECT vi FROM vi_members WHERE user_id = ?)) "
            "ORDER BY id DESC LIMIT ?");
    if (!stmt)
        return -1;
    int64_t after = page->after && *page->after ? strtoll (page->after, NULL, 10) : INT64_MAX;
    const char *host = page->host ? page->host : "";
    const char *state = page->state ? page->state : "";
    const char *vm = page->prefix ? page->prefix : "";
    mk_stmt_bind_int (stmt, 1, after);
    mk_stmt_bind_text (stmt, 2, host);
    mk_stmt_bind_text (stmt, 3, host);
    mk_stmt_bind_text (stmt, 4, state);
    mk_stmt_bind_text (stmt, 5, state);
    mk_stmt_bind_text (stmt, 6, vm);
    mk_stmt_bind_text (stmt, 7, vm);
    s_bind_scope (stmt, 8, page);
    mk_stmt_bind_int (stmt, 12, page->limit);
    return s_rows (stmt, s_task_row, fn, arg);
}

int
store_task_open (mk_db_t *db, store_row_fn *fn, void *arg)
{
    mk_stmt_t *stmt =
        mk_db_prepare (db, "SELECT " TASK_COLUMNS " FROM tasks "
                           "WHERE state IN ('queued', 'dispatched', 'running') ORDER BY id");
    if (!stmt)
        return -1;
    return s_rows (stmt, s_task_row, fn, arg);
}

//  ---------------------------------------------------------------- hosts

int
store_host_save (mk_db_t *db, const store_host_t *host)
{
    //  Update, else insert: portable where upsert syntax is not.
    mk_stmt_t *stmt = mk_db_prepare (
        db, "UPDATE hosts SET state = ?, uri = ?, vcpus = ?, memory_mb = ?, last_seen = ? "
            "WHERE name = ?");
    if (!stmt)
        return -1;
    mk_stmt_bind_text (stmt, 1, host->state);
    mk_stmt_bind_text (stmt, 2, host->uri);
    mk_stmt_bind_int (stmt, 3, host->vcpus);
    mk_stmt_bind_int (stmt, 4, (int64_t) host->memory_mb);
    mk_stmt_bind_int (stmt, 5, host->last_seen);
    mk_stmt_bind_text (stmt, 6, host->name);
    int rc = store_change (db, stmt);
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    stmt = mk_db_prepare (db, "INSERT INTO hosts (name, state, uri, vcpus, memory_mb, last_seen) "
                              "VALUES (?, ?, ?, ?, ?, ?)");
    if (!stmt)
        return -1;
    mk_stmt_bind_text (stmt, 1, host->name);
    mk_stmt_bind_text (stmt, 2, host->state);
    mk_stmt_bind_text (stmt, 3, host->uri);
    mk_stmt_bind_int (stmt, 4, host->vcpus);
    mk_stmt_bind_int (stmt, 5, (int64_t) host->memory_mb);
    mk_stmt_bind_int (stmt, 6, host->last_seen);
    return store_change (db, stmt) == 1 ? 0 : -1;
}

int
store_host_set_state (mk_db_t *db, const char *name, const char *state, int64_t last_seen)
{
    mk_stmt_t *stmt =
        mk_db_prepare (db, "UPDATE hosts SET state = ?, last_seen = ? WHERE name = ?");
    if (!stmt)
        return -1;
    mk_stmt_bind_text (stmt, 1, state);
    mk_stmt_bind_int (stmt, 2, last_seen);
    mk_stmt_bind_text (stmt, 3, name);
    return store_change (db, stmt);
}

int
store_host_delete (mk_db_t *db, const char *name)
{
    mk_stmt_t *stmt = mk_db_prepare (db, "DELETE FROM hosts WHERE name = ?");
    if (!stmt)
        return -1;
    mk_stmt_bind_text (stmt, 1, name);
    return store_change (db, stmt);
}

static void
s_host_row (mk_stmt_t *stmt, store_row_fn *fn, void *arg)
{
    store_host_t host;
    memset (&host, 0, sizeof host);
    COPY (host.name, mk_stmt_text (stmt, 0));
    COPY (host.state, mk_stmt_text (stmt, 1));
    COPY (host.uri, mk_stmt_text (stmt, 2));
    host.vcpus = (uint32_t) mk_stmt_int (stmt, 3);
    host.memory_mb = (uint64_t) mk_stmt_int (stmt, 4);
    host.last_seen = mk_stmt_int (stmt, 5);
    fn (&host, arg);
}

int
store_host_list (mk_db_t *db, store_row_fn *fn, void *arg)
{
    mk_stmt_t *stmt = mk_db_prepare (
        db, "SELECT name, state, uri, vcpus, memory_mb, last_seen FROM hosts ORDER BY name");
    if (!stmt)
        return -1;
    return s_rows (stmt, s_host_row, fn, arg);
}

//  ---------------------------------------------------------------- events

int
store_events_save (mk_db_t *db, const char *stream, uint64_t last_seq, const void *body,
                   size_t size, int64_t now)
{
    mk_stmt_t *stmt =
        mk_db_prepare (db, "INSERT INTO events (stream, seq, body, created) VALUES (?, ?, ?, ?)");
    if (!stmt)
        return -1;
    mk_stmt_bind_text (stmt, 1, stream);
    mk_stmt_bind_int (stmt, 2, (int64_t) last_seq);
    mk_stmt_bind_blob (stmt, 3, body, size);
    mk_stmt_bind_int (stmt, 4, now);
    return s_queue (stmt);
}

int64_t
store_events_last (mk_db_t *db, const char *stream)
{
    mk_stmt_t *stmt = mk_db_prepare (db, "SELECT MAX(seq) FROM events WHERE stream = ?");
    if (!stmt)
        return -1;
    mk_stmt_bind_text (stmt, 1, stream);
    int rc = mk_stmt_step (stmt);
    int64_t last = rc == MK_DB_ROW ? mk_stmt_int (stmt, 0) : -1;
    mk_stmt_reset (stmt);
    return last;
}

int
store_events_since (mk_db_t *db, const char *stream, uint64_t after, uint32_t limit,
                    void (*fn) (const void *, size_t, void *), void *arg)
{
    mk_stmt_t *stmt = mk_db_prepare (
        db, "SELECT body FROM events WHERE stream = ? AND seq > ? ORDER BY seq LIMIT ?");
    if (!stmt)
        return -1;
    mk_stmt_bind_text (stmt, 1, stream);
    mk_stmt_bind_int (stmt, 2, (int64_t) after);
    mk_stmt_bind_int (stmt, 3, limit);
    int count = 0, rc;
    while ((rc = mk_stmt_step (stmt)) == MK_DB_ROW) {
        size_t size;
        const void *body = mk_stmt_blob (stmt, 0, &size);
        fn (body, size, arg);
        count++;
    }
    mk_stmt_reset (stmt);
    return rc == MK_DB_DONE ? count : -1;
}

//  ---------------------------------------------------------------- meta, MACs

//  The first text column of a query's one row: 1, 0 if none, or -1.
static int
s_one_text (mk_stmt_t *stmt, char *value, size_t size)
{
    int rc = mk_stmt_step (stmt);
    if (rc == MK_DB_ROW) {
        const char *text = mk_stmt_text (stmt, 0);
        snprintf (value, size, "%s", text ? text : "");
    }
    mk_stmt_reset (stmt);
    return rc == MK_DB_ROW ? (value[0] ? 1 : 0) : rc == MK_DB_DONE ? 0 : -1;
}

int
store_meta_get (mk_db_t *db, const char *name, char *value, size_t size)
{
    mk_stmt_t *stmt = mk_db_prepare (db, "SELECT value FROM meta WHERE name = ?");
    if (!stmt)
        return -1;
    mk_stmt_bind_text (stmt, 1, name);
    return s_one_text (stmt, value, size);
}

int
store_meta_set (mk_db_t *db, const char *name, const char *value)
{
    mk_stmt_t *stmt = mk_db_prepare (db, "UPDATE meta SET value = ? WHERE name = ?");
    if (!stmt)
        return -1;
    mk_stmt_bind_text (stmt, 1, value);
    mk_stmt_bind_text (stmt, 2, name);
    int rc = store_change (db, stmt);
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    stmt = mk_db_prepare (db, "INSERT INTO meta (name, value) VALUES (?, ?)");
    if (!stmt)
        return -1;
    mk_stmt_bind_text (stmt, 1, name);
    mk_stmt_bind_text (stmt, 2, value);
    return store_change (db, stmt) == 1 ? 0 : -1;
}

int
store_vm_mac_used (mk_db_t *db, const char *mac)
{
    mk_stmt_t *stmt = mk_db_prepare (db, "SELECT mac FROM vms WHERE mac = ?");
    if (!stmt)
        return -1;
    mk_stmt_bind_text (stmt, 1, mac);
    char found[20] = "";
    return s_one_text (stmt, found, sizeof found);
}

int
store_vm_mac_max (mk_db_t *db, char *mac, size_t size)
{
    mk_stmt_t *stmt = mk_db_prepare (db, "SELECT max(mac) FROM vms");
    if (!stmt)
        return -1;
    mac[0] = 0;
    return s_one_text (stmt, mac, size);
}

//  ---------------------------------------------------------------- self-test

static void
s_count_vm (const void *row, void *arg)
{
    const store_vm_t *vm = (const store_vm_t *) row;
    zlistx_add_end ((zlistx_t *) arg, (void *) vm->name);
}

static void
s_count_task (const void *row, void *arg)
{
    (*(int *) arg)++;
}

static void
s_usage (const char *host, uint64_t vcpus, uint64_t memory, uint64_t count, void *arg)
{
    if (streq (host, "node1"))
        *(uint64_t *) arg = vcpus * 1000000 + memory * 10 + count;
}

static void
s_event_body (const void *body, size_t size, void *arg)
{
    (*(size_t *) arg) += size;
}

//  Templates: insert once, read back, none by an unknown name.
static void
s_test_templates (mk_db_t *db, int64_t now, store_template_t *tiny)
{
    *tiny =
        (store_template_t){.name = "tiny", .spec = {.vcpus = 1, .memory_mb = 64}, .created = now};
    COPY (tiny->spec.kernel, "/boot/vmlinuz");
    assert (store_template_insert (db, tiny) == 1);
    assert (store_template_insert (db, tiny) == MK_DB_CONSTRAINT);
    store_template_t got;
    assert (store_template_get (db, "tiny", &got) == 1);
    assert (got.spec.memory_mb == 64 && streq (got.spec.kernel, "/boot/vmlinuz"));
    assert (store_template_get (db, "huge", &got) == 0);
}

//  VMs: insert, read, page through with filters, usage per host.
static void
s_test_vms (mk_db_t *db, int64_t now, const store_template_t *tiny)
{
    assert (mk_db_begin (db) == 0);
    for (int i = 0; i < 5; i++) {
        store_vm_t vm = {.spec = tiny->spec, .last_task = (uint64_t) i + 1};
        snprintf (vm.name, sizeof vm.name, "web-%d", i);
        snprintf (vm.uuid, sizeof vm.uuid, "00000000-0000-0000-0000-00000000000%d", i % 10);
        COPY (vm.template_, "tiny");
        COPY (vm.host, i < 3 ? "node1" : "node2");
        COPY (vm.state, i == 4 ? "stopped" : "running");
        snprintf (vm.mac, sizeof vm.mac, "52:54:00:00:00:%02x", i);
        assert (store_vm_insert (db, &vm, now) == 1);
    }
    assert (mk_db_commit (db) == 0);
    //  Names and MACs are unique. (A queued row is refused when it runs: at once on
    //  SQLite, at the flush on MySQL; here outside a transaction, which a refused queued
    //  row would fail.)
    store_vm_t dup = {.spec = tiny->spec};
    COPY (dup.name, "web-0");
    COPY (dup.uuid, "x");
    COPY (dup.mac, "52:54:00:00:01:00");
    int rc = store_vm_insert (db, &dup, now);
    assert (rc == MK_DB_CONSTRAINT || (rc == 1 && mk_db_flush (db) == MK_DB_CONSTRAINT));
    COPY (dup.name, "web-x");
    COPY (dup.mac, "52:54:00:00:00:03");
    rc = store_vm_insert (db, &dup, now);
    assert (rc == MK_DB_CONSTRAINT || (rc == 1 && mk_db_flush (db) == MK_DB_CONSTRAINT));
    store_vm_t vm;
    assert (store_vm_get (db, "web-3", &vm) == 1 && streq (vm.host, "node2"));
    assert (vm.last_task == 4 && vm.spec.vcpus == 1);
    zlistx_t *names = zlistx_new ();
    store_page_t page = {.limit = 2};
    assert (store_vm_list (db, &page, s_count_vm, names) == 2);
    page.after = "web-1";
    assert (store_vm_list (db, &page, s_count_vm, names) == 2);
    page = (store_page_t){.limit = 100, .host = "node2"};
    assert (store_vm_list (db, &page, s_count_vm, names) == 2);
    page = (store_page_t){.limit = 100, .state = "stopped"};
    assert (store_vm_list (db, &page, s_count_vm, names) == 1);
    page = (store_page_t){.limit = 100, .prefix = "web-"};
    assert (store_vm_list (db, &page, s_count_vm, names) == 5);
    page = (store_page_t){.limit = 100, .prefix = "db"};
    assert (store_vm_list (db, &page, s_count_vm, names) == 0);
    zlistx_destroy (&names);
    uint64_t usage = 0;
    assert (store_vm_usage (db, s_usage, &usage) == 2);
    assert (usage == 3 * 1000000 + 192 * 10 + 3);
    assert (store_vm_set_state (db, "web-4", "deleting", 9, now) == 1);
    assert (store_vm_get (db, "web-4", &vm) == 1 && streq (vm.state, "deleting"));
    assert (vm.last_task == 9);
    assert (store_vm_delete (db, "web-4") == 1);
    assert (store_vm_get (db, "web-4", &vm) == 0);
}

//  Tasks: ids grow, updates stick, open ones are found, paging newest first.
static void
s_test_tasks (mk_db_t *db, int64_t now)
{
    //  Tasks: ids grow, updates stick, open ones are found, paging newest first.
    store_task_t task = {.op = MAEKIN__VM_OP__VM_OP_CREATE};
    COPY (task.vm, "web-0");
    COPY (task.host, "node1");
    COPY (task.state, "queued");
    assert (store_task_last_id (db) == 0);
    int64_t first = 1;
    task.id = 1;
    assert (store_task_insert (db, &task, now) == 1);
    task.id = 2;
    assert (store_task_insert (db, &task, now) == 1);
    assert (store_task_last_id (db) == 2);
    assert (store_task_update (db, (uint64_t) first, "failed", "libvirt said no", 2, now + 1) == 1);
    store_task_t read;
    assert (store_task_get (db, (uint64_t) first, &read) == 1);
    assert (streq (read.state, "failed") && streq (read.error, "libvirt said no"));
    assert (read.attempts == 2 && read.updated == now + 1);
    int open = 0;
    assert (store_task_open (db, s_count_task, &open) == 1 && open == 1);
    store_page_t page = (store_page_t){.limit = 10, .state = "failed"};
    open = 0;
    assert (store_task_list (db, &page, s_count_task, &open) == 1);
}

//  Hosts: save twice (update), change state, list.
static void
s_test_hosts (mk_db_t *db, int64_t now)
{
    //  Hosts: save twice (update), change state, list.
    store_host_t host = {.name = "node1", .state = "up", .vcpus = 4, .memory_mb = 8192};
    assert (store_host_save (db, &host) == 0);
    host.vcpus = 8;
    assert (store_host_save (db, &host) == 0);
    assert (store_host_save (db, &host) == 0); //  unchanged: found, so not inserted again
    assert (store_host_set_state (db, "node1", "down", now) == 1);
}

//  Requests remember their first reply, and a fingerprint of the request.
static void
s_test_requests (mk_db_t *db)
{
    //  (All 64 bits of the fingerprint; a queued row is refused when it runs.)
    zchunk_t *reply = NULL;
    uint64_t fingerprint = 0;
    assert (store_request_find (db, "r-1", &fingerprint, &reply) == 0);
    assert (store_request_save (db, "r-1", 0xfedcba9876543210ULL, "answer", 6) == 1);
    assert (mk_db_flush (db) == 0);
    int rc = store_request_save (db, "r-1", 1, "other", 5);
    assert (rc == MK_DB_CONSTRAINT || (rc == 1 && mk_db_flush (db) == MK_DB_CONSTRAINT));
    assert (store_request_find (db, "r-1", &fingerprint, &reply) == 1);
    assert (fingerprint == 0xfedcba9876543210ULL);
    assert (zchunk_size (reply) == 6 && memcmp (zchunk_data (reply), "answer", 6) == 0);
    zchunk_destroy (&reply);
}

//  Events in batches.
static void
s_test_events (mk_db_t *db, int64_t now)
{
    //  Events in batches.
    assert (store_events_last (db, "event.vm") == 0);
    assert (store_events_save (db, "event.vm", 3, "abc", 3, now) == 1);
    assert (store_events_save (db, "event.vm", 5, "de", 2, now) == 1);
    assert (store_events_last (db, "event.vm") == 5);
    size_t bytes = 0;
    assert (store_events_since (db, "event.vm", 3, 10, s_event_body, &bytes) == 1 && bytes == 2);
    bytes = 0;
    assert (store_events_since (db, "event.vm", 0, 10, s_event_body, &bytes) == 2 && bytes == 5);
}

//  The store's checks on a database with the schema and no rows.
static void
s_test_store (mk_db_t *db, bool verbose)
{
    (void) verbose;
    int64_t now = 1700000000;
    store_template_t tiny;
    s_test_templates (db, now, &tiny);
    s_test_vms (db, now, &tiny);
    s_test_tasks (db, now);
    s_test_hosts (db, now);
    s_test_requests (db);
    s_test_events (db, now);
}

void
controller_store_test (bool verbose)
{
    store_test_backends ("controller_store", s_test_store, verbose);
}

/*  controller_store_vi: the SQL of Virtual Infrastructures, their members and the
    templates they may use. All are few and read whole into memory at load
    (controller_vi): here are the writes of the requests that change them, the reads of a
    load, and what each VI's VMs take. */
#include "controller_store.h"

#define COPY(field, text) store_copy ((field), sizeof (field), (text))

//  Runs a statement with text parameters (NULL ends them) that changes rows.
static int
s_change (mk_db_t *db, const char *sql, int64_t number, const char *first, ...)
{
    mk_stmt_t *stmt = mk_db_prepare (db, sql);
    if (!stmt)
        return -1;
    va_list args;
    va_start (args, first);
    int at = 1;
    for (const char *text = first; text; text = va_arg (args, const char *))
        mk_stmt_bind_text (stmt, at++, text);
    va_end (args);
    if (number >= 0)
        mk_stmt_bind_int (stmt, at, number);
    return store_change (db, stmt);
}

//  A SELECT without parameters, each row to fn (store_rows): the count, or -1.
static int
s_rows (mk_db_t *db, const char *sql, void (*read) (mk_stmt_t *, void *), size_t size,
        store_row_fn *fn, void *arg)
{
    return store_rows (mk_db_prepare (db, sql), read, size, fn, arg);
}

//  ---------------------------------------------------------------- VIs

static void
s_bind_vi (mk_stmt_t *stmt, const store_vi_t *vi)
{
    mk_stmt_bind_text (stmt, 1, vi->description);
    mk_stmt_bind_int (stmt, 2, vi->quota.vcpus);
    mk_stmt_bind_int (stmt, 3, (int64_t) vi->quota.memory_mb);
    mk_stmt_bind_int (stmt, 4, (int64_t) vi->quota.disk_gb);
    mk_stmt_bind_int (stmt, 5, vi->quota.vms);
    mk_stmt_bind_int (stmt, 6, vi->created);
    mk_stmt_bind_text (stmt, 7, vi->pool);
    mk_stmt_bind_text (stmt, 8, vi->name);
}

int
store_vi_insert (mk_db_t *db, const store_vi_t *vi)
{
    mk_stmt_t *stmt =
        mk_db_prepare (db, "INSERT INTO vis (description, vcpus, memory_mb, disk_gb, vms, "
                           "created, pool, name) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    if (!stmt)
        return -1;
    s_bind_vi (stmt, vi);
    return store_change (db, stmt);
}

int
store_vi_update (mk_db_t *db, const store_vi_t *vi)
{
    mk_stmt_t *stmt =
        mk_db_prepare (db, "UPDATE vis SET description = ?, vcpus = ?, memory_mb = ?, "
                           "disk_gb = ?, vms = ?, created = ?, pool = ? WHERE name = ?");
    if (!stmt)
        return -1;
    s_bind_vi (stmt, vi);
    return store_change (db, stmt);
}

int
store_vi_delete (mk_db_t *db, const char *name)
{
    if (s_change (db, "DELETE FROM vi_members WHERE vi = ?", -1, name, NULL) < 0
        || s_change (db, "DELETE FROM vi_templates WHERE vi = ?", -1, name, NULL) < 0)
        return -1;
    return s_change (db, "DELETE FROM vis WHERE name = ?", -1, name, NULL);
}

static void
s_read_vi (mk_stmt_t *stmt, void *row)
{
    store_vi_t *vi = (store_vi_t *) row;
    memset (vi, 0, sizeof *vi);
    COPY (vi->name, mk_stmt_text (stmt, 0));
    COPY (vi->description, mk_stmt_text (stmt, 1));
    vi->quota.vcpus = (uint32_t) mk_stmt_int (stmt, 2);
    vi->quota.memory_mb = (uint64_t) mk_stmt_int (stmt, 3);
    vi->quota.disk_gb = (uint64_t) mk_stmt_int (stmt, 4);
    vi->quota.vms = (uint32_t) mk_stmt_int (stmt, 5);
    vi->created = mk_stmt_int (stmt, 6);
    COPY (vi->pool, mk_stmt_text (stmt, 7));
}

int
store_vi_all (mk_db_t *db, store_row_fn *fn, void *arg)
{
    return s_rows (db,
                   "SELECT name, description, vcpus, memory_mb, disk_gb, vms, created, pool "
                   "FROM vis ORDER BY name",
                   s_read_vi, sizeof (store_vi_t), fn, arg);
}

int
store_vi_usage (mk_db_t *db, void (*fn) (const char *, const store_quota_t *, void *), void *arg)
{
    mk_stmt_t *stmt = mk_db_prepare (db, "SELECT vi, SUM(vcpus), SUM(memory_mb), SUM(disk_gb), "
                                         "COUNT(*) FROM vms GROUP BY vi");
    if (!stmt)
        return -1;
    int count = 0, rc;
    while ((rc = mk_stmt_step (stmt)) == MK_DB_ROW) {
        store_quota_t use = {(uint32_t) mk_stmt_int (stmt, 1), (uint64_t) mk_stmt_int (stmt, 2),
                             (uint64_t) mk_stmt_int (stmt, 3), (uint32_t) mk_stmt_int (stmt, 4)};
        fn (mk_stmt_text (stmt, 0), &use, arg);
        count++;
    }
    mk_stmt_reset (stmt);
    return rc == MK_DB_DONE ? count : -1;
}

int
store_vm_states (mk_db_t *db, void (*fn) (const char *, uint64_t, void *), void *arg)
{
    //  The index on vms (state) holds the answer: no row is read.
    mk_stmt_t *stmt = mk_db_prepare (db, "SELECT state, COUNT(*) FROM vms GROUP BY state");
    if (!stmt)
        return -1;
    int count = 0, rc;
    while ((rc = mk_stmt_step (stmt)) == MK_DB_ROW) {
        fn (mk_stmt_text (stmt, 0), (uint64_t) mk_stmt_int (stmt, 1), arg);
        count++;
    }
    mk_stmt_reset (stmt);
    return rc == MK_DB_DONE ? count : -1;
}

//  ---------------------------------------------------------------- members, templates

int
store_member_insert (mk_db_t *db, const store_member_t *member)
{
    return s_change (db, "INSERT INTO vi_members (vi, role, user_id) VALUES (?, ?, ?)",
                     member->user_id, member->vi, member->role, NULL);
}

int
store_member_update (mk_db_t *db, const store_member_t *member)
{
    return s_change (db, "UPDATE vi_members SET role = ? WHERE vi = ? AND user_id = ?",
                     member->user_id, member->role, member->vi, NULL);
}

int
store_member_delete (mk_db_t *db, const char *vi, int64_t user_id)
{
    return s_change (db, "DELETE FROM vi_members WHERE vi = ? AND user_id = ?", user_id, vi, NULL);
}

int
store_member_drop_user (mk_db_t *db, int64_t user_id)
{
    mk_stmt_t *stmt = mk_db_prepare (db, "DELETE FROM vi_members WHERE user_id = ?");
    if (!stmt)
        return -1;
    mk_stmt_bind_int (stmt, 1, user_id);
    return store_change (db, stmt);
}

static void
s_read_member (mk_stmt_t *stmt, void *row)
{
    store_member_t *member = (store_member_t *) row;
    memset (member, 0, sizeof *member);
    COPY (member->vi, mk_stmt_text (stmt, 0));
    member->user_id = mk_stmt_int (stmt, 1);
    COPY (member->role, mk_stmt_text (stmt, 2));
}

int
store_member_all (mk_db_t *db, store_row_fn *fn, void *arg)
{
    return s_rows (db, "SELECT vi, user_id, role FROM vi_members ORDER BY vi, user_id",
                   s_read_member, sizeof (store_member_t), fn, arg);
}

int
store_vi_template_insert (mk_db_t *db, const char *vi, const char *template_)
{
    return s_change (db, "INSERT INTO vi_templates (vi, template) VALUES (?, ?)", -1, vi, template_,
                     NULL);
}

int
store_vi_template_delete (mk_db_t *db, const char *vi, const char *template_)
{
    return s_change (db, "DELETE FROM vi_templates WHERE vi = ? AND template = ?", -1, vi,
                     template_, NULL);
}

int
store_vi_template_drop (mk_db_t *db, const char *template_)
{
    return s_change (db, "DELETE FROM vi_templates WHERE template = ?", -1, template_, NULL);
}

static void
s_read_vi_template (mk_stmt_t *stmt, void *row)
{
    store_vi_template_t *grant = (store_vi_template_t *) row;
    COPY (grant->vi, mk_stmt_text (stmt, 0));
    COPY (grant->template_, mk_stmt_text (stmt, 1));
}

int
store_vi_template_all (mk_db_t *db, store_row_fn *fn, void *arg)
{
    return s_rows (db, "SELECT vi, template FROM vi_templates ORDER BY vi, template",
                   s_read_vi_template, sizeof (store_vi_template_t), fn, arg);
}

//  ---------------------------------------------------------------- self-test

static void
s_count (const void *row, void *arg)
{
    (void) row;
    (*(int *) arg)++;
}

static void
s_usage (const char *vi, const store_quota_t *use, void *arg)
{
    if (streq (vi, "acme"))
        *(store_quota_t *) arg = *use;
}

static void
s_test_vis (mk_db_t *db, bool verbose)
{
    (void) verbose;
    store_vi_t acme = {.name = "acme", .description = "the ACME company", .created = 10};
    acme.quota = (store_quota_t){8, 16384, 100, 4};
    assert (mk_db_begin (db) == 0);
    assert (store_vi_insert (db, &acme) == 1);
    assert (store_vi_insert (db, &acme) == MK_DB_CONSTRAINT);
    store_vi_t other = {.name = "other", .created = 11};
    assert (store_vi_insert (db, &other) == 1);
    acme.quota.vcpus = 12;
    assert (store_vi_update (db, &acme) == 1);
    store_member_t member = {.vi = "acme", .user_id = 7, .role = "owner"};
    assert (store_member_insert (db, &member) == 1);
    assert (store_member_insert (db, &member) == MK_DB_CONSTRAINT);
    snprintf (member.role, sizeof member.role, "viewer");
    assert (store_member_update (db, &member) == 1);
    member = (store_member_t){.vi = "other", .user_id = 7, .role = "operator"};
    assert (store_member_insert (db, &member) == 1);
    member = (store_member_t){.vi = "acme", .user_id = 8, .role = "manager"};
    assert (store_member_insert (db, &member) == 1);
    assert (store_vi_template_insert (db, "acme", "tiny") == 1);
    assert (store_vi_template_insert (db, "acme", "tiny") == MK_DB_CONSTRAINT);
    assert (store_vi_template_insert (db, "other", "tiny") == 1);
    assert (mk_db_exec (db, "INSERT INTO vms (uuid, name, vi, template, host, vcpus, memory_mb, "
                            "disk_gb, mac, state, created, updated) VALUES ('u1', 'acme:a', "
                            "'acme', 'tiny', 'n1', 2, 512, 10, 'm1', 'running', 1, 1), ('u2', "
                            "'acme:b', 'acme', 'tiny', 'n1', 1, 256, 0, 'm2', 'running', 1, 1)")
            == 0);
    //  A VM from before VIs (a row without one, as the migration found them) is in default.
    assert (mk_db_exec (db, "INSERT INTO vms (uuid, name, template, host, vcpus, memory_mb, mac, "
                            "state, created, updated) VALUES ('u0', 'old', 'tiny', 'n1', 1, 64, "
                            "'m0', 'running', 1, 1)")
            == 0);
    assert (mk_db_exec (db, "INSERT INTO tasks (vm, host, op, state, created, updated) VALUES "
                            "('old', 'n1', 1, 'done', 1, 1)")
            == 0);
    assert (mk_db_commit (db) == 0);
    assert (mk_db_count (db, "vms", "vi = 'default'") == 1);
    assert (mk_db_count (db, "tasks", "vi = 'default'") == 1);

    int vis = 0, members = 0, grants = 0;
    assert (store_vi_all (db, s_count, &vis) == 2);
    assert (store_member_all (db, s_count, &members) == 3);
    assert (store_vi_template_all (db, s_count, &grants) == 2);
    store_quota_t use = {0};
    assert (store_vi_usage (db, s_usage, &use) == 2); //  acme and default
    assert (use.vcpus == 3 && use.memory_mb == 768 && use.disk_gb == 10 && use.vms == 2);

    assert (mk_db_begin (db) == 0);
    assert (store_member_drop_user (db, 7) == 2);
    assert (store_member_delete (db, "acme", 8) == 1);
    assert (store_member_delete (db, "acme", 8) == 0);
    assert (store_vi_template_delete (db, "other", "tiny") == 1);
    assert (store_vi_template_insert (db, "other", "big") == 1);
    assert (store_vi_template_drop (db, "big") == 1);
    assert (store_vi_delete (db, "acme") == 1);
    assert (mk_db_commit (db) == 0);
    vis = members = grants = 0;
    assert (store_vi_all (db, s_count, &vis) == 1);
    assert (store_member_all (db, s_count, &members) == 0);
    assert (store_vi_template_all (db, s_count, &grants) == 0);
}

void
controller_store_vi_test (bool verbose)
{
    store_test_backends ("controller_store_vi", s_test_vis, verbose);
}

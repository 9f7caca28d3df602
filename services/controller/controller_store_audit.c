/*  controller_store_audit: the SQL of the audit log: one row written in the batch of the
    request it records, pages of it newest first, and old rows forgotten. */
#include "controller_store.h"

int
store_audit_insert (mk_db_t *db, const store_audit_t *entry)
{
    mk_stmt_t *stmt =
        mk_db_prepare (db, "INSERT INTO audit (time, actor, credential, request, subject, status, "
                           "reason, vi) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    if (!stmt)
        return -1;
    mk_stmt_bind_int (stmt, 1, entry->time_us);
    mk_stmt_bind_text (stmt, 2, entry->actor);
    mk_stmt_bind_text (stmt, 3, entry->credential);
    mk_stmt_bind_text (stmt, 4, entry->request);
    mk_stmt_bind_text (stmt, 5, entry->subject);
    mk_stmt_bind_int (stmt, 6, entry->status);
    mk_stmt_bind_text (stmt, 7, entry->reason);
    mk_stmt_bind_text (stmt, 8, entry->vi);
    return store_change (db, stmt);
}

//  Rows a statement of SQLite's writes at most: one statement for many rows saves
//  most of a row's cost there. MariaDB's driver runs per-row inserts as one bulk
//  execution already (mk_db_mysql_stmt).
#define ROWS_MAX 32

int
store_audit_insert_many (mk_db_t *db, const store_audit_t *entries, size_t count)
{
    if (!streq (mk_db_backend (db), "sqlite")) {
        for (size_t i = 0; i < count; i++)
            if (store_audit_insert (db, &entries[i]) != 1)
                return -1;
        return 0;
    }
    while (count > 0) {
        size_t rows = count < ROWS_MAX ? count : ROWS_MAX;
        char sql[128 + ROWS_MAX * 28] = "INSERT INTO audit (time, actor, credential, request, "
                                        "subject, status, reason, vi) VALUES (?, ?, ?, ?, ?, ?, "
                                        "?, ?)";
        for (size_t i = 1; i < rows; i++)
            strcat (sql, ", (?, ?, ?, ?, ?, ?, ?, ?)");
        mk_stmt_t *stmt = mk_db_prepare (db, sql);
        if (!stmt)
            return -1;
        for (size_t i = 0; i < rows; i++) {
            const store_audit_t *entry = &entries[i];
            int at = (int) i * 8;
            mk_stmt_bind_int (stmt, at + 1, entry->time_us);
            mk_stmt_bind_text (stmt, at + 2, entry->actor);
            mk_stmt_bind_text (stmt, at + 3, entry->credential);
            mk_stmt_bind_text (stmt, at + 4, entry->request);
            mk_stmt_bind_text (stmt, at + 5, entry->subject);
            mk_stmt_bind_int (stmt, at + 6, entry->status);
            mk_stmt_bind_text (stmt, at + 7, entry->reason);
            mk_stmt_bind_text (stmt, at + 8, entry->vi);
        }
        if (store_change (db, stmt) != (int) rows)
            return -1;
        entries += rows;
        count -= rows;
    }
    return 0;
}

#define AUDIT_COLUMNS "id, time, actor, credential, request, subject, status, reason, vi"

int
store_audit_list (mk_db_t *db, const char *actor, const char *vi, int64_t since_us,
                  int64_t before_id, uint32_t limit, store_row_fn *fn, void *arg)
{
    //  Three statements, so that each is one an index answers: by VI, by actor, or by id.
    mk_stmt_t *stmt = mk_db_prepare (
        db, *vi      ? "SELECT " AUDIT_COLUMNS " FROM audit WHERE vi = ? AND (? = '' OR "
                       "actor = ?) AND id < ? AND time >= ? ORDER BY id DESC LIMIT ?"
            : *actor ? "SELECT " AUDIT_COLUMNS " FROM audit WHERE ? = '' AND actor = ? AND "
                       "actor = ? AND id < ? AND time >= ? ORDER BY id DESC LIMIT ?"
                     : "SELECT " AUDIT_COLUMNS " FROM audit WHERE ? = '' AND ? = '' AND ? = '' "
                       "AND id < ? AND time >= ? ORDER BY id DESC LIMIT ?");
    if (!stmt)
        return -1;
    mk_stmt_bind_text (stmt, 1, vi);
    mk_stmt_bind_text (stmt, 2, actor);
    mk_stmt_bind_text (stmt, 3, actor);
    mk_stmt_bind_int (stmt, 4, before_id > 0 ? before_id : INT64_MAX);
    mk_stmt_bind_int (stmt, 5, since_us);
    mk_stmt_bind_int (stmt, 6, limit);
    int count = 0;
    int rc;
    while ((rc = mk_stmt_step (stmt)) == MK_DB_ROW) {
        store_audit_t entry = {.id = mk_stmt_int (stmt, 0), .time_us = mk_stmt_int (stmt, 1)};
        store_copy (entry.actor, sizeof entry.actor, mk_stmt_text (stmt, 2));
        store_copy (entry.credential, sizeof entry.credential, mk_stmt_text (stmt, 3));
        store_copy (entry.request, sizeof entry.request, mk_stmt_text (stmt, 4));
        store_copy (entry.subject, sizeof entry.subject, mk_stmt_text (stmt, 5));
        entry.status = (int) mk_stmt_int (stmt, 6);
        store_copy (entry.reason, sizeof entry.reason, mk_stmt_text (stmt, 7));
        store_copy (entry.vi, sizeof entry.vi, mk_stmt_text (stmt, 8));
        fn (&entry, arg);
        count++;
    }
    mk_stmt_reset (stmt);
    return rc == MK_DB_DONE ? count : -1;
}

int
store_audit_expire (mk_db_t *db, int64_t before_us)
{
    mk_stmt_t *stmt = mk_db_prepare (db, "DELETE FROM audit WHERE time < ?");
    if (!stmt)
        return -1;
    mk_stmt_bind_int (stmt, 1, before_us);
    return store_change (db, stmt);
}

//  ---------------------------------------------------------------- self-test

static void
s_count_entry (const void *row, void *arg)
{
    const store_audit_t *entry = (const store_audit_t *) row;
    int64_t *last = (int64_t *) arg;
    //  Newest first: each id below the one before.
    assert (last[0] == 0 || entry->id < last[0]);
    last[0] = entry->id;
    last[1]++;
}

//  The audit log: many entries written at once (in statements of many rows), read newest
//  first by actor and time, a page at a time; old ones forgotten.
static void
s_test_audit (mk_db_t *db, int64_t now)
{
    store_audit_t entries[70];
    for (int i = 0; i < 70; i++) {
        entries[i] = (store_audit_t){.time_us = (now + i) * 1000000, .status = 200};
        snprintf (entries[i].actor, sizeof entries[i].actor, "%s", i % 2 ? "alice" : "bob");
        snprintf (entries[i].credential, sizeof entries[i].credential, "session");
        snprintf (entries[i].request, sizeof entries[i].request, "vm_create");
        snprintf (entries[i].subject, sizeof entries[i].subject, "web-%d", i);
        snprintf (entries[i].vi, sizeof entries[i].vi, "%s", i % 7 ? "" : "acme");
    }
    assert (mk_db_begin (db) == 0);
    assert (store_audit_insert_many (db, entries, 70) == 0);
    assert (store_audit_insert (db, &entries[0]) == 1);
    assert (mk_db_commit (db) == 0);
    int64_t seen[2] = {0, 0};
    assert (store_audit_list (db, "", "", 0, 0, 1000, s_count_entry, seen) == 71 && seen[1] == 71);
    int64_t oldest = seen[0];
    int64_t acme[2] = {0, 0};
    assert (store_audit_list (db, "", "acme", 0, 0, 1000, s_count_entry, acme) == 11);
    int64_t alices[2] = {0, 0}; //  i = 7, 21, 35, 49, 63
    assert (store_audit_list (db, "alice", "acme", 0, 0, 1000, s_count_entry, alices) == 5);
    int64_t mine[2] = {0, 0};
    assert (store_audit_list (db, "alice", "", 0, 0, 1000, s_count_entry, mine) == 35);
    int64_t page[2] = {0, 0};
    assert (store_audit_list (db, "", "", (now + 60) * 1000000, 0, 1000, s_count_entry, page)
            == 10);
    int64_t older[2] = {0, 0};
    assert (store_audit_list (db, "bob", "", 0, oldest + 10, 3, s_count_entry, older) == 3
            && older[0] < oldest + 10);
    assert (mk_db_begin (db) == 0);
    assert (store_audit_expire (db, (now + 35) * 1000000) == 36); //  and the extra one
    assert (mk_db_commit (db) == 0);
    int64_t left[2] = {0, 0};
    assert (store_audit_list (db, "", "", 0, 0, 1000, s_count_entry, left) == 35);
}

static void
s_test_backend (mk_db_t *db, bool verbose)
{
    (void) verbose;
    s_test_audit (db, 1700000000);
}

void
controller_store_audit_test (bool verbose)
{
    store_test_backends ("controller_store_audit", s_test_backend, verbose);
}

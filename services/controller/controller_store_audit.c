/*  controller_store_audit: the SQL of the audit log: one row written in the batch of the
    request it records, pages of it newest first, and old rows forgotten. */
#include "controller_store.h"

int
store_audit_insert (mk_db_t *db, const store_audit_t *entry)
{
    mk_stmt_t *stmt = mk_db_prepare (db, "INSERT INTO audit (time, actor, credential, request, "
                                         "subject, status, reason) VALUES (?, ?, ?, ?, ?, ?, ?)");
    if (!stmt)
        return -1;
    mk_stmt_bind_int (stmt, 1, entry->time_us);
    mk_stmt_bind_text (stmt, 2, entry->actor);
    mk_stmt_bind_text (stmt, 3, entry->credential);
    mk_stmt_bind_text (stmt, 4, entry->request);
    mk_stmt_bind_text (stmt, 5, entry->subject);
    mk_stmt_bind_int (stmt, 6, entry->status);
    mk_stmt_bind_text (stmt, 7, entry->reason);
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
        char sql[128 + ROWS_MAX * 24] = "INSERT INTO audit (time, actor, credential, request, "
                                        "subject, status, reason) VALUES (?, ?, ?, ?, ?, ?, ?)";
        for (size_t i = 1; i < rows; i++)
            strcat (sql, ", (?, ?, ?, ?, ?, ?, ?)");
        mk_stmt_t *stmt = mk_db_prepare (db, sql);
        if (!stmt)
            return -1;
        for (size_t i = 0; i < rows; i++) {
            const store_audit_t *entry = &entries[i];
            int at = (int) i * 7;
            mk_stmt_bind_int (stmt, at + 1, entry->time_us);
            mk_stmt_bind_text (stmt, at + 2, entry->actor);
            mk_stmt_bind_text (stmt, at + 3, entry->credential);
            mk_stmt_bind_text (stmt, at + 4, entry->request);
            mk_stmt_bind_text (stmt, at + 5, entry->subject);
            mk_stmt_bind_int (stmt, at + 6, entry->status);
            mk_stmt_bind_text (stmt, at + 7, entry->reason);
        }
        if (store_change (db, stmt) != (int) rows)
            return -1;
        entries += rows;
        count -= rows;
    }
    return 0;
}

int
store_audit_list (mk_db_t *db, const char *actor, int64_t since_us, int64_t before_id,
                  uint32_t limit, store_row_fn *fn, void *arg)
{
    //  Two statements, so that each is one the index answers: by actor, or by id alone.
    mk_stmt_t *stmt = mk_db_prepare (
        db, *actor ? "SELECT id, time, actor, credential, request, subject, status, reason "
                     "FROM audit WHERE actor = ? AND id < ? AND time >= ? ORDER BY id DESC "
                     "LIMIT ?"
                   : "SELECT id, time, actor, credential, request, subject, status, reason "
                     "FROM audit WHERE ? = '' AND id < ? AND time >= ? ORDER BY id DESC LIMIT ?");
    if (!stmt)
        return -1;
    mk_stmt_bind_text (stmt, 1, actor);
    mk_stmt_bind_int (stmt, 2, before_id > 0 ? before_id : INT64_MAX);
    mk_stmt_bind_int (stmt, 3, since_us);
    mk_stmt_bind_int (stmt, 4, limit);
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

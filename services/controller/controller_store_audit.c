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

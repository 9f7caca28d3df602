/*  controller_store_auth: the SQL of users and their credentials. Both are few and read
    whole into memory at load (controller_auth), so there are no lookups here: only the
    writes of the requests that change them, and the reads of a load. */
#include "controller_store.h"

#define COPY(field, text) store_copy ((field), sizeof (field), (text))

#define USER_COLUMNS "name, password, admin, disabled, created, last_login"

static void
s_bind_user (mk_stmt_t *stmt, const store_user_t *user)
{
    mk_stmt_bind_text (stmt, 1, user->name);
    mk_stmt_bind_text (stmt, 2, user->password);
    mk_stmt_bind_int (stmt, 3, user->admin);
    mk_stmt_bind_int (stmt, 4, user->disabled);
    mk_stmt_bind_int (stmt, 5, user->created);
    mk_stmt_bind_int (stmt, 6, user->last_login);
}

int
store_user_insert (mk_db_t *db, store_user_t *user)
{
    mk_stmt_t *stmt =
        mk_db_prepare (db, "INSERT INTO users (" USER_COLUMNS ") VALUES (?, ?, ?, ?, ?, ?)");
    if (!stmt)
        return -1;
    s_bind_user (stmt, user);
    int rc = store_change (db, stmt);
    if (rc == 1)
        user->id = mk_db_last_insert_id (db);
    return rc;
}

int
store_user_update (mk_db_t *db, const store_user_t *user)
{
    mk_stmt_t *stmt = mk_db_prepare (db, "UPDATE users SET name = ?, password = ?, admin = ?, "
                                         "disabled = ?, created = ?, last_login = ? WHERE id = ?");
    if (!stmt)
        return -1;
    s_bind_user (stmt, user);
    mk_stmt_bind_int (stmt, 7, user->id);
    return store_change (db, stmt);
}

int
store_user_delete (mk_db_t *db, int64_t id)
{
    mk_stmt_t *stmt = mk_db_prepare (db, "DELETE FROM credentials WHERE user_id = ?");
    if (!stmt)
        return -1;
    mk_stmt_bind_int (stmt, 1, id);
    if (store_change (db, stmt) < 0)
        return -1;
    stmt = mk_db_prepare (db, "DELETE FROM users WHERE id = ?");
    if (!stmt)
        return -1;
    mk_stmt_bind_int (stmt, 1, id);
    return store_change (db, stmt);
}

static void
s_read_user (mk_stmt_t *stmt, void *row)
{
    store_user_t *user = (store_user_t *) row;
    memset (user, 0, sizeof *user);
    user->id = mk_stmt_int (stmt, 0);
    COPY (user->name, mk_stmt_text (stmt, 1));
    COPY (user->password, mk_stmt_text (stmt, 2));
    user->admin = mk_stmt_int (stmt, 3) != 0;
    user->disabled = mk_stmt_int (stmt, 4) != 0;
    user->created = mk_stmt_int (stmt, 5);
    user->last_login = mk_stmt_int (stmt, 6);
}

int
store_user_all (mk_db_t *db, store_row_fn *fn, void *arg)
{
    mk_stmt_t *stmt = mk_db_prepare (db, "SELECT id, " USER_COLUMNS " FROM users ORDER BY id");
    return store_rows (stmt, s_read_user, sizeof (store_user_t), fn, arg);
}

int
store_cred_insert (mk_db_t *db, const store_cred_t *cred)
{
    mk_stmt_t *stmt =
        mk_db_prepare (db, "INSERT INTO credentials (digest, kind, user_id, name, read_only, "
                           "created, expires) VALUES (?, ?, ?, ?, ?, ?, ?)");
    if (!stmt)
        return -1;
    mk_stmt_bind_text (stmt, 1, cred->digest);
    mk_stmt_bind_int (stmt, 2, cred->kind);
    mk_stmt_bind_int (stmt, 3, cred->user_id);
    mk_stmt_bind_text (stmt, 4, cred->name);
    mk_stmt_bind_int (stmt, 5, cred->read_only);
    mk_stmt_bind_int (stmt, 6, cred->created);
    mk_stmt_bind_int (stmt, 7, cred->expires);
    return store_change (db, stmt);
}

int
store_cred_revoke (mk_db_t *db, const char *digest, int64_t now)
{
    mk_stmt_t *stmt =
        mk_db_prepare (db, "UPDATE credentials SET revoked = ? WHERE digest = ? AND revoked = 0");
    if (!stmt)
        return -1;
    mk_stmt_bind_int (stmt, 1, now);
    mk_stmt_bind_text (stmt, 2, digest);
    return store_change (db, stmt);
}

int
store_cred_revoke_user (mk_db_t *db, int64_t user_id, bool keys, const char *except, int64_t now)
{
    mk_stmt_t *stmt = mk_db_prepare (db, "UPDATE credentials SET revoked = ? WHERE user_id = ? "
                                         "AND revoked = 0 AND kind <= ? AND digest <> ?");
    if (!stmt)
        return -1;
    mk_stmt_bind_int (stmt, 1, now);
    mk_stmt_bind_int (stmt, 2, user_id);
    mk_stmt_bind_int (stmt, 3, keys ? STORE_CRED_APIKEY : STORE_CRED_SESSION);
    mk_stmt_bind_text (stmt, 4, except ? except : "");
    return store_change (db, stmt);
}

static void
s_read_cred (mk_stmt_t *stmt, void *row)
{
    store_cred_t *cred = (store_cred_t *) row;
    memset (cred, 0, sizeof *cred);
    COPY (cred->digest, mk_stmt_text (stmt, 0));
    cred->kind = (store_cred_kind_t) mk_stmt_int (stmt, 1);
    cred->user_id = mk_stmt_int (stmt, 2);
    COPY (cred->name, mk_stmt_text (stmt, 3));
    cred->read_only = mk_stmt_int (stmt, 4) != 0;
    cred->created = mk_stmt_int (stmt, 5);
    cred->expires = mk_stmt_int (stmt, 6);
}

int
store_cred_live (mk_db_t *db, int64_t now, store_row_fn *fn, void *arg)
{
    mk_stmt_t *stmt =
        mk_db_prepare (db, "SELECT digest, kind, user_id, name, read_only, created, expires "
                           "FROM credentials WHERE revoked = 0 AND (expires = 0 OR expires > ?)");
    if (!stmt)
        return -1;
    mk_stmt_bind_int (stmt, 1, now);
    return store_rows (stmt, s_read_cred, sizeof (store_cred_t), fn, arg);
}

int
store_cred_expire (mk_db_t *db, int64_t before)
{
    mk_stmt_t *stmt =
        mk_db_prepare (db, "DELETE FROM credentials WHERE (revoked > 0 AND revoked < ?) "
                           "OR (expires > 0 AND expires < ?)");
    if (!stmt)
        return -1;
    mk_stmt_bind_int (stmt, 1, before);
    mk_stmt_bind_int (stmt, 2, before);
    return store_change (db, stmt);
}

/*  controller_store_jointoken: the SQL of join tokens, the one-time tokens a new node
    presents at the bus's enrolment door (controller_enrol). A token is kept as the digest
    of its text alone, so the table holds nothing a node could present; times are unix
    seconds. */
#include "controller_store.h"

#include "mk_secret.h"

int
store_join_token_insert (mk_db_t *db, const store_join_token_t *token)
{
    mk_stmt_t *stmt = mk_db_prepare (db, "INSERT INTO join_tokens (digest, host, expires, "
                                         "created, created_by) VALUES (?, ?, ?, ?, ?)");
    if (!stmt)
        return -1;
    mk_stmt_bind_text (stmt, 1, token->digest);
    mk_stmt_bind_text (stmt, 2, token->host);
    mk_stmt_bind_int (stmt, 3, token->expires);
    mk_stmt_bind_int (stmt, 4, token->created);
    mk_stmt_bind_text (stmt, 5, token->created_by);
    return store_change (db, stmt);
}

int
store_join_token_find (mk_db_t *db, const char *digest, store_join_token_t *token)
{
    mk_stmt_t *stmt = mk_db_prepare (db, "SELECT digest, host, expires, created, created_by "
                                         "FROM join_tokens WHERE digest = ?");
    if (!stmt)
        return -1;
    mk_stmt_bind_text (stmt, 1, digest);
    int rc = mk_stmt_step (stmt);
    if (rc == MK_DB_ROW) {
        memset (token, 0, sizeof *token);
        store_copy (token->digest, sizeof token->digest, mk_stmt_text (stmt, 0));
        store_copy (token->host, sizeof token->host, mk_stmt_text (stmt, 1));
        token->expires = mk_stmt_int (stmt, 2);
        token->created = mk_stmt_int (stmt, 3);
        store_copy (token->created_by, sizeof token->created_by, mk_stmt_text (stmt, 4));
    }
    mk_stmt_reset (stmt);
    return rc == MK_DB_ROW ? 1 : rc == MK_DB_DONE ? 0 : -1;
}

int
store_join_token_delete (mk_db_t *db, const char *digest)
{
    mk_stmt_t *stmt = mk_db_prepare (db, "DELETE FROM join_tokens WHERE digest = ?");
    if (!stmt)
        return -1;
    mk_stmt_bind_text (stmt, 1, digest);
    return store_change (db, stmt);
}

int
store_join_token_delete_host (mk_db_t *db, const char *host)
{
    mk_stmt_t *stmt = mk_db_prepare (db, "DELETE FROM join_tokens WHERE host = ?");
    if (!stmt)
        return -1;
    mk_stmt_bind_text (stmt, 1, host);
    return store_change (db, stmt);
}

int
store_join_token_expire (mk_db_t *db, int64_t now)
{
    mk_stmt_t *stmt = mk_db_prepare (db, "DELETE FROM join_tokens WHERE expires <= ?");
    if (!stmt)
        return -1;
    mk_stmt_bind_int (stmt, 1, now);
    return store_change (db, stmt);
}

//  ---------------------------------------------------------------- self-test

//  A database of schema 7 (the table dropped, the version put back) migrates to 8 with
//  what it held.
static void
s_test_migration (mk_db_t *db)
{
    assert (mk_db_exec (db, "INSERT INTO bus_keys (pubkey, name, role, hosts, expires, created, "
                            "created_by) VALUES ('rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7', "
                            "'agent-1', 'node', 'n1', 0, 1700000000000, 'admin')")
            == 0);
    assert (mk_db_exec (db, "DROP TABLE join_tokens") == 0);
    store_test_drop_pools (db); //  a later migration's
    assert (mk_db_exec (db, "UPDATE meta SET value = '7' WHERE name = 'schema_version'") == 0);
    assert (mk_db_schema_version (db) == 7);
    char *error = NULL;
    assert (mk_db_migrate (db, &error) == 0 && !error);
    assert (mk_db_schema_version (db) == mk_db_latest_version () && mk_db_latest_version () >= 8);
    assert (mk_db_count (db, "join_tokens", NULL) == 0 && mk_db_count (db, "bus_keys", NULL) == 1);
    assert (mk_db_exec (db, "DELETE FROM bus_keys") == 0);
}

static void
s_test_tokens (mk_db_t *db, bool verbose)
{
    (void) verbose;
    s_test_migration (db);
    //  Two tokens of one host, one of another; kept by digest alone.
    char *texts[3];
    store_join_token_t rows[3];
    const char *hosts[] = {"node7", "node7", "node8"};
    for (int i = 0; i < 3; i++) {
        texts[i] = mk_secret_token_new ("mkj_");
        rows[i] = (store_join_token_t){
            .expires = 1700003600 + i, .created = 1700000000, .created_by = "admin"};
        mk_secret_digest (texts[i], rows[i].digest);
        snprintf (rows[i].host, sizeof rows[i].host, "%s", hosts[i]);
    }
    assert (mk_db_begin (db) == 0);
    for (int i = 0; i < 3; i++)
        assert (store_join_token_insert (db, &rows[i]) == 1);
    assert (store_join_token_insert (db, &rows[0]) == MK_DB_CONSTRAINT);
    assert (mk_db_commit (db) == 0);
    store_join_token_t found;
    assert (store_join_token_find (db, rows[1].digest, &found) == 1);
    assert (streq (found.digest, rows[1].digest) && streq (found.host, "node7")
            && found.expires == 1700003601 && found.created == 1700000000
            && streq (found.created_by, "admin"));
    char digest[MK_SECRET_DIGEST_HEX + 1];
    mk_secret_digest ("mkj_not-a-token", digest);
    assert (store_join_token_find (db, digest, &found) == 0);
    //  Used once: gone.
    assert (mk_db_begin (db) == 0);
    assert (store_join_token_delete (db, rows[0].digest) == 1);
    assert (store_join_token_delete (db, rows[0].digest) == 0);
    assert (mk_db_commit (db) == 0);
    assert (store_join_token_find (db, rows[0].digest, &found) == 0);
    //  Expired: forgotten, the others kept.
    assert (mk_db_begin (db) == 0);
    assert (store_join_token_expire (db, 1700003600) == 0);
    assert (store_join_token_expire (db, 1700003601) == 1);
    assert (mk_db_commit (db) == 0);
    assert (mk_db_count (db, "join_tokens", NULL) == 1);
    assert (store_join_token_find (db, rows[2].digest, &found) == 1 && streq (found.host, "node8"));
    for (int i = 0; i < 3; i++)
        free (texts[i]);
}

void
controller_store_jointoken_test (bool verbose)
{
    store_test_backends ("controller_store_jointoken", s_test_tokens, verbose);
}

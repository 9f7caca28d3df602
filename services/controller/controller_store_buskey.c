/*  controller_store_buskey: the SQL of the bus's allow-list. The keys are few and read
    whole into memory at load (controller_buskeys): here are the writes of the requests
    that change them, the purge of those that expired, and the read of a load. A role is
    kept by its name ('node', 'client'), times in unix milliseconds. */
#include "controller_store.h"

#include "mk_buskey.h"
#include "mk_limits.h"

int
store_buskey_insert (mk_db_t *db, const store_buskey_t *key)
{
    mk_stmt_t *stmt =
        mk_db_prepare (db, "INSERT INTO bus_keys (pubkey, name, role, hosts, expires, created, "
                           "created_by) VALUES (?, ?, ?, ?, ?, ?, ?)");
    if (!stmt)
        return -1;
    mk_stmt_bind_text (stmt, 1, key->key);
    mk_stmt_bind_text (stmt, 2, key->name);
    mk_stmt_bind_text (stmt, 3, mk_buskey_role_name (key->role));
    mk_stmt_bind_text (stmt, 4, key->hosts ? key->hosts : "");
    mk_stmt_bind_int (stmt, 5, key->expires);
    mk_stmt_bind_int (stmt, 6, key->created);
    mk_stmt_bind_text (stmt, 7, key->created_by);
    return store_change (db, stmt);
}

int
store_buskey_delete_name (mk_db_t *db, const char *name)
{
    mk_stmt_t *stmt = mk_db_prepare (db, "DELETE FROM bus_keys WHERE name = ?");
    if (!stmt)
        return -1;
    mk_stmt_bind_text (stmt, 1, name);
    return store_change (db, stmt);
}

int
store_buskey_expire (mk_db_t *db, const char *key, int64_t expires)
{
    mk_stmt_t *stmt = mk_db_prepare (db, "UPDATE bus_keys SET expires = ? WHERE pubkey = ?");
    if (!stmt)
        return -1;
    mk_stmt_bind_int (stmt, 1, expires);
    mk_stmt_bind_text (stmt, 2, key);
    return store_change (db, stmt);
}

int
store_buskey_purge (mk_db_t *db, int64_t now)
{
    mk_stmt_t *stmt = mk_db_prepare (db, "DELETE FROM bus_keys WHERE expires > 0 AND expires <= ?");
    if (!stmt)
        return -1;
    mk_stmt_bind_int (stmt, 1, now);
    return store_change (db, stmt);
}

int
store_buskey_all (mk_db_t *db, store_row_fn *fn, void *arg)
{
    //  Not store_rows: a node key's hosts may be long, and are lent to fn as they are.
    mk_stmt_t *stmt = mk_db_prepare (db, "SELECT pubkey, name, role, hosts, expires, created, "
                                         "created_by FROM bus_keys ORDER BY name, created");
    if (!stmt)
        return -1;
    int count = 0, rc;
    while ((rc = mk_stmt_step (stmt)) == MK_DB_ROW) {
        store_buskey_t key = {.role = mk_buskey_role_parse (mk_stmt_text (stmt, 2)),
                              .hosts = mk_stmt_text (stmt, 3),
                              .expires = mk_stmt_int (stmt, 4),
                              .created = mk_stmt_int (stmt, 5)};
        store_copy (key.key, sizeof key.key, mk_stmt_text (stmt, 0));
        store_copy (key.name, sizeof key.name, mk_stmt_text (stmt, 1));
        store_copy (key.created_by, sizeof key.created_by, mk_stmt_text (stmt, 6));
        fn (&key, arg);
        count++;
    }
    mk_stmt_reset (stmt);
    return rc == MK_DB_DONE ? count : -1;
}

//  ---------------------------------------------------------------- self-test

typedef struct {
    int count;
    store_buskey_t last; //  its hosts a copy of the row's
} seen_t;

static void
s_seen (const void *row, void *arg)
{
    seen_t *seen = (seen_t *) arg;
    free ((char *) seen->last.hosts);
    seen->last = *(const store_buskey_t *) row;
    seen->last.hosts = strdup (seen->last.hosts);
    seen->count++;
}

//  A database of schema 6 (the table dropped, the version put back) migrates to 7, and on
//  to the latest, with what it held.
static void
s_test_migration (mk_db_t *db)
{
    assert (mk_db_exec (db, "INSERT INTO users (name, password, admin, created) VALUES "
                            "('admin', '', 1, 10)")
            == 0);
    assert (mk_db_exec (db, "DROP TABLE bus_keys") == 0);
    assert (mk_db_exec (db, "DROP TABLE join_tokens") == 0); //  later migrations'
    store_test_drop_pools (db);
    assert (mk_db_exec (db, "UPDATE meta SET value = '6' WHERE name = 'schema_version'") == 0);
    assert (mk_db_schema_version (db) == 6);
    char *error = NULL;
    assert (mk_db_migrate (db, &error) == 0 && !error);
    assert (mk_db_schema_version (db) == mk_db_latest_version () && mk_db_latest_version () >= 7);
    assert (mk_db_count (db, "bus_keys", NULL) == 0 && mk_db_count (db, "users", NULL) == 1);
}

static void
s_test_buskeys (mk_db_t *db, bool verbose)
{
    (void) verbose;
    s_test_migration (db);
    //  A node key of the most hosts, of the longest names.
    size_t size = MK_BUS_KEY_HOSTS_MAX * 64;
    char *hosts = (char *) malloc (size);
    assert (hosts);
    hosts[0] = 0;
    for (int i = 0; i < MK_BUS_KEY_HOSTS_MAX; i++)
        snprintf (hosts + strlen (hosts), size - strlen (hosts), "%shost-%058d", i ? "," : "", i);
    assert (strlen (hosts) == MK_BUS_KEY_HOSTS_MAX * 64 - 1); //  names of 63
    store_buskey_t node = {.key = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7",
                           .name = "agent-1",
                           .role = MAEKIN__BUS_ROLE__BUS_ROLE_NODE,
                           .hosts = hosts,
                           .created = 1700000000000,
                           .created_by = "admin"};
    store_buskey_t client = {.key = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID",
                             .name = "maekinsh",
                             .role = MAEKIN__BUS_ROLE__BUS_ROLE_CLIENT,
                             .created = 1700000000001};
    assert (mk_db_begin (db) == 0);
    assert (store_buskey_insert (db, &node) == 1);
    assert (store_buskey_insert (db, &client) == 1);
    assert (store_buskey_insert (db, &client) == MK_DB_CONSTRAINT);
    assert (mk_db_commit (db) == 0);
    seen_t seen = {0};
    assert (store_buskey_all (db, s_seen, &seen) == 2 && seen.count == 2);
    //  In name order: maekinsh last, as written.
    assert (streq (seen.last.key, client.key) && streq (seen.last.name, "maekinsh")
            && seen.last.role == MAEKIN__BUS_ROLE__BUS_ROLE_CLIENT && !*seen.last.hosts
            && seen.last.expires == 0 && seen.last.created == 1700000000001
            && !*seen.last.created_by);
    free ((char *) seen.last.hosts);
    //  The old key of a rotation expires; purged once it has.
    assert (mk_db_begin (db) == 0);
    assert (store_buskey_expire (db, client.key, 1700000300000) == 1);
    assert (store_buskey_purge (db, 1700000299999) == 0);
    assert (store_buskey_purge (db, 1700000300000) == 1);
    assert (mk_db_commit (db) == 0);
    seen = (seen_t){0};
    assert (store_buskey_all (db, s_seen, &seen) == 1);
    assert (streq (seen.last.name, "agent-1") && seen.last.role == MAEKIN__BUS_ROLE__BUS_ROLE_NODE
            && streq (seen.last.hosts, hosts) && streq (seen.last.created_by, "admin"));
    free ((char *) seen.last.hosts);
    assert (mk_db_begin (db) == 0);
    assert (store_buskey_delete_name (db, "agent-1") == 1);
    assert (store_buskey_delete_name (db, "agent-1") == 0);
    assert (mk_db_commit (db) == 0);
    assert (mk_db_count (db, "bus_keys", NULL) == 0);
    free (hosts);
}

void
controller_store_buskey_test (bool verbose)
{
    store_test_backends ("controller_store_buskey", s_test_buskeys, verbose);
}

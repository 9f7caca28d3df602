/*  mk_db_copy: every row of the cloud's tables from one database to another.

    This is backup, restore and a move between backends in one: a backup is a copy into
    a new SQLite file, a restore is a copy out of one, and a copy from SQLite to MariaDB
    (or back) moves a cloud. The source is read in one consistent snapshot (a read
    transaction in SQLite's WAL, a consistent-snapshot transaction in InnoDB), so the
    controller may go on writing it; the destination is written in one transaction. Rows
    keep their ids, so the destination's sequences go on after them. */
#include "mk_db.h"
#include "mk_db_driver.h"
#include "mk_testdir.h"

#include <czmq.h>

static char *s_sql (const char *format, ...) __attribute__ ((format (printf, 1, 2)));

static char *
s_sql (const char *format, ...)
{
    va_list args;
    va_start (args, format);
    char *text = zsys_vprintf (format, args);
    va_end (args);
    return text;
}

int64_t
mk_db_count (mk_db_t *db, const char *table, const char *where)
{
    char *sql =
        s_sql ("SELECT COUNT(*) FROM %s%s%s", table, where ? " WHERE " : "", where ? where : "");
    mk_stmt_t *stmt = mk_db_prepare (db, sql);
    free (sql);
    int64_t rows = stmt && mk_stmt_step (stmt) == MK_DB_ROW ? mk_stmt_int (stmt, 0) : -1;
    if (stmt)
        mk_stmt_reset (stmt);
    return rows;
}

//  Copies one table's rows; the number copied, or -1 (*error set).
static int64_t
s_copy_table (mk_db_t *from, mk_db_t *to, const mk_db_table_t *table, char **error)
{
    size_t columns = strlen (table->kinds);
    //  "?, ?, ..." for the insert.
    char marks[256] = "";
    for (size_t i = 0; i < columns && strlen (marks) + 3 < sizeof marks; i++)
        strcat (marks, i ? ", ?" : "?");
    char *select = s_sql ("SELECT %s FROM %s", table->columns, table->name);
    char *insert = s_sql ("INSERT INTO %s (%s) VALUES (%s)", table->name, table->columns, marks);
    mk_stmt_t *read = mk_db_prepare (from, select);
    mk_stmt_t *write = mk_db_prepare (to, insert);
    int64_t rows = 0;
    int rc = read && write ? mk_stmt_step (read) : MK_DB_ERROR;
    while (rc == MK_DB_ROW) {
        int bound = 0;
        for (size_t i = 0; i < columns; i++) {
            int index = (int) i + 1;
            if (table->kinds[i] == 'i')
                bound |= mk_stmt_bind_int (write, index, mk_stmt_int (read, (int) i));
            else if (table->kinds[i] == 'b') {
                size_t size = 0;
                const void *data = mk_stmt_blob (read, (int) i, &size);
                bound |= mk_stmt_bind_blob (write, index, data, size);
            } else
                bound |= mk_stmt_bind_text (write, index, mk_stmt_text (read, (int) i));
        }
        if (bound != 0 || mk_stmt_step (write) != MK_DB_DONE) {
            *error = s_sql ("cannot write a row of %s: %s", table->name, mk_db_error (to));
            rows = -1;
            break;
        }
        mk_stmt_reset (write);
        rows++;
        rc = mk_stmt_step (read);
    }
    if (rows >= 0 && rc != MK_DB_DONE) {
        *error = !write ? s_sql ("cannot write %s: %s", table->name, mk_db_error (to))
                        : s_sql ("cannot read %s: %s", table->name, mk_db_error (from));
        rows = -1;
    }
    if (read)
        mk_stmt_reset (read);
    if (write)
        mk_stmt_reset (write);
    free (select);
    free (insert);
    return rows;
}

int64_t
mk_db_copy (mk_db_t *from, mk_db_t *to, bool replace, bool fenced, char **error)
{
    assert (from && to && error);
    *error = NULL;
    int latest = mk_db_latest_version ();
    int have = mk_db_schema_version (from), want = mk_db_schema_version (to);
    if (have != latest || want != latest) {
        *error = s_sql ("the schema versions differ: %d to copy from, %d to copy to, and "
                        "this program knows %d (migrate both to it first)",
                        have, want, latest);
        return -1;
    }
    size_t count;
    const mk_db_table_t *tables = mk_db_tables (&count);
    if (mk_db_begin_snapshot (from) != 0) {
        *error = s_sql ("cannot read the database to copy: %s", mk_db_error (from));
        return -1;
    }
    if (mk_db_begin (to) != 0) {
        *error = s_sql ("cannot write the database to copy to: %s", mk_db_error (to));
        mk_db_rollback (from);
        return -1;
    }
    //  The claim checked inside the transaction keeps a controller out until it commits.
    int claim = fenced ? mk_db_claim_check (to) : 0;
    if (claim != 0) {
        *error = claim < 0 ? s_sql ("cannot check the claim on the database to copy to: %s",
                                    mk_db_error (to))
                           : s_sql ("the database to copy to was taken over by another "
                                    "process meanwhile");
        mk_db_rollback (to);
        mk_db_rollback (from);
        return -1;
    }
    int64_t total = 0;
    //  Children first when deleting, parents first when inserting: there are no foreign
    //  keys today, but the order is the one a schema with them would need.
    for (size_t i = count; i-- > 0 && total >= 0;) {
        int64_t rows = mk_db_count (to, tables[i].name, NULL);
        if (rows > 0 && !replace) {
            *error = s_sql ("the database to copy to is not empty (%s has rows); copy "
                            "into an empty one, or replace what it holds",
                            tables[i].name);
            total = -1;
        } else if (rows < 0) {
            *error = s_sql ("cannot read %s: %s", tables[i].name, mk_db_error (to));
            total = -1;
        } else if (rows > 0) {
            char *sql = s_sql ("DELETE FROM %s", tables[i].name);
            if (mk_db_exec (to, sql) != 0) {
                *error = s_sql ("cannot empty %s: %s", tables[i].name, mk_db_error (to));
                total = -1;
            }
            free (sql);
        }
    }
    for (size_t i = 0; i < count && total >= 0; i++) {
        int64_t rows = s_copy_table (from, to, &tables[i], error);
        total = rows < 0 ? -1 : total + rows;
    }
    mk_db_rollback (from);
    if (total >= 0 && mk_db_commit (to) != 0) {
        *error = s_sql ("cannot commit the copy: %s", mk_db_error (to));
        total = -1;
    }
    if (total < 0)
        mk_db_rollback (to);
    return total;
}

//  ---------------------------------------------------------------- self-test

//  A database by URL, migrated and empty (the MySQL test database's tables are dropped).
static mk_db_t *
s_fresh (const char *url)
{
    char *error = NULL;
    mk_db_t *db = mk_db_open (url, &error);
    if (!db) {
        printf ("mk_db_copy_test: cannot open %s: %s\n", url, error);
        assert (false);
    }
    if (streq (mk_db_backend (db), "mysql")) {
        char *drop = mk_db_drop_all_sql ();
        assert (mk_db_exec (db, drop) == 0);
        free (drop);
    }
    assert (mk_db_migrate (db, &error) == 0);
    return db;
}

//  What a copy must carry: a row in every table, text with quotes and UTF-8, a blob with
//  a NUL in it, ids with gaps.
static void
s_fill (mk_db_t *db)
{
    assert (mk_db_begin (db) == 0);
    assert (mk_db_exec (db, "INSERT INTO hosts (id, name, state, uri, vcpus, memory_mb, last_seen) "
                            "VALUES (7, 'n1', 'up', 'test:///default', 8, 4096, 1700000000)")
            == 0);
    assert (mk_db_exec (db, "INSERT INTO templates (id, name, vcpus, memory_mb, cmdline, "
                            "created) VALUES (3, 'tiny', 1, 64, 'console=ttyS0 \"q\" é', 5)")
            == 0);
    assert (mk_db_exec (db, "INSERT INTO vms (id, uuid, name, template, host, vcpus, "
                            "memory_mb, mac, state, last_task, created, updated) VALUES "
                            "(12, '01a2b3c4-0000-7000-8000-000000000001', 'web-1', 'tiny', "
                            "'n1', 1, 64, '52:54:00:00:00:01', 'running', 40, 6, 7)")
            == 0);
    assert (mk_db_exec (db, "INSERT INTO tasks (id, vm, host, op, state, error, created, "
                            "updated) VALUES (40, 'web-1', 'n1', 1, 'done', 'it''s fine', "
                            "6, 7), (41, 'web-1', 'n1', 3, 'queued', '', 8, 8)")
            == 0);
    mk_stmt_t *stmt =
        mk_db_prepare (db, "INSERT INTO requests (id, reply, created) VALUES (?, ?, ?)");
    assert (stmt && mk_stmt_bind_text (stmt, 1, "req-1") == 0
            && mk_stmt_bind_blob (stmt, 2, "a\0b", 3) == 0 && mk_stmt_bind_int (stmt, 3, 9) == 0
            && mk_stmt_step (stmt) == MK_DB_DONE);
    stmt =
        mk_db_prepare (db, "INSERT INTO events (stream, seq, body, created) VALUES (?, ?, ?, ?)");
    assert (stmt && mk_stmt_bind_text (stmt, 1, "event.vm") == 0
            && mk_stmt_bind_int (stmt, 2, 1) == 0 && mk_stmt_bind_blob (stmt, 3, "", 0) == 0
            && mk_stmt_bind_int (stmt, 4, 6) == 0 && mk_stmt_step (stmt) == MK_DB_DONE);
    stmt = mk_db_prepare (db, "INSERT INTO metrics (step, kind, subject, t, samples, cpu, mem_kb, "
                              "rx, tx, rd, wr) VALUES (60, 1, ?, 120, 12, 250, 1024, 1, 2, 3, 4)");
    assert (stmt && mk_stmt_bind_blob (stmt, 1, "\x01\x00\x02", 3) == 0
            && mk_stmt_step (stmt) == MK_DB_DONE);
    assert (mk_db_exec (db, "INSERT INTO users (id, name, password, admin, created) VALUES "
                            "(5, 'admin', '$argon2id$x', 1, 10)")
            == 0);
    assert (mk_db_exec (db, "INSERT INTO credentials (digest, kind, user_id, created, expires) "
                            "VALUES ('00ff', 1, 5, 10, 20)")
            == 0);
    assert (mk_db_exec (db, "INSERT INTO audit (id, time, actor, credential, request, subject, "
                            "status, reason) VALUES (3, 10000000, 'admin', 'session', "
                            "'vm_create', 'web-1', 202, '')")
            == 0);
    assert (mk_db_exec (db, "INSERT INTO vis (id, name, vcpus, created) VALUES "
                            "(1, 'default', 0, 10), (2, 'acme', 8, 11)")
            == 0);
    assert (mk_db_exec (db, "INSERT INTO vi_members (vi, user_id, role) VALUES "
                            "('acme', 5, 'owner')")
            == 0);
    assert (mk_db_exec (db, "INSERT INTO vi_templates (vi, template) VALUES ('acme', 'tiny')")
            == 0);
    assert (mk_db_exec (db, "INSERT INTO bus_keys (pubkey, name, role, hosts, expires, created, "
                            "created_by) VALUES ('rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7', "
                            "'agent-1', 'node', 'n1,n2', 0, 1700000000000, 'admin')")
            == 0);
    assert (mk_db_exec (
                db, "INSERT INTO join_tokens (digest, host, expires, created, created_by) "
                    "VALUES ('0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef', "
                    "'node7', 1700003600, 1700000000, 'admin')")
            == 0);
    assert (mk_db_exec (db, "INSERT INTO pools (name, network, gateway, dns, bridge, created) "
                            "VALUES ('lab', '10.88.0.0/24', '10.88.0.1', '10.88.0.1', 'mkbr0', "
                            "12)")
            == 0);
    assert (mk_db_exec (db, "INSERT INTO pool_ranges (pool, first, last) VALUES "
                            "('lab', '10.88.0.100', '10.88.0.199'), ('lab', '10.88.0.20', "
                            "'10.88.0.29')")
            == 0);
    assert (mk_db_exec (db, "INSERT INTO leases (ip, pool, vm, mac, created) VALUES "
                            "('10.88.0.100', 'lab', 'acme:web-1', '52:54:00:00:00:01', 13)")
            == 0);
    assert (mk_db_commit (db) == 0);
}

//  The copy holds what s_fill wrote, and new rows take ids after the copied ones.
static void
s_check (mk_db_t *db)
{
    size_t count;
    const mk_db_table_t *tables = mk_db_tables (&count);
    int64_t expect[] = {1, 1, 1, 2, 1, 1, 1, 1, 1, 1, 2, 1, 1, 1, 1, 1, 2, 1};
    assert (count == sizeof expect / sizeof expect[0]);
    for (size_t i = 0; i < count; i++)
        assert (mk_db_count (db, tables[i].name, NULL) == expect[i]);
    mk_stmt_t *stmt = mk_db_prepare (db, "SELECT cmdline FROM templates WHERE id = 3");
    assert (stmt && mk_stmt_step (stmt) == MK_DB_ROW);
    assert (streq (mk_stmt_text (stmt, 0), "console=ttyS0 \"q\" é"));
    mk_stmt_reset (stmt);
    stmt = mk_db_prepare (db, "SELECT cpu FROM metrics WHERE subject = ?");
    assert (stmt && mk_stmt_bind_blob (stmt, 1, "\x01\x00\x02", 3) == 0
            && mk_stmt_step (stmt) == MK_DB_ROW && mk_stmt_int (stmt, 0) == 250);
    mk_stmt_reset (stmt);
    stmt = mk_db_prepare (db, "SELECT reply FROM requests WHERE id = 'req-1'");
    assert (stmt && mk_stmt_step (stmt) == MK_DB_ROW);
    size_t size = 0;
    const void *reply = mk_stmt_blob (stmt, 0, &size);
    assert (size == 3 && memcmp (reply, "a\0b", 3) == 0);
    mk_stmt_reset (stmt);
    stmt = mk_db_prepare (db, "SELECT error FROM tasks WHERE id = 40");
    assert (stmt && mk_stmt_step (stmt) == MK_DB_ROW
            && streq (mk_stmt_text (stmt, 0), "it's fine"));
    mk_stmt_reset (stmt);
    assert (mk_db_begin (db) == 0);
    assert (mk_db_exec (db, "INSERT INTO tasks (vm, host, op, state, created, updated) "
                            "VALUES ('web-1', 'n1', 2, 'queued', 9, 9)")
            == 0);
    assert (mk_db_last_insert_id (db) > 41);
    assert (mk_db_rollback (db) == 0);
}

void
mk_db_copy_test (bool verbose)
{
    char *dir = mk_testdir_new ("mk_db_copy_test");
    char *url_a = zsys_sprintf ("sqlite:%s/a.db", dir);
    char *url_b = zsys_sprintf ("sqlite:%s/b.db", dir);
    mk_db_t *a = s_fresh (url_a);
    mk_db_t *b = s_fresh (url_b);

    //  The list of tables is the schema's: every column, of the right kind.
    size_t count;
    const mk_db_table_t *tables = mk_db_tables (&count);
    for (size_t i = 0; i < count; i++) {
        char *sql =
            s_sql ("SELECT name, type FROM pragma_table_info('%s') ORDER BY cid", tables[i].name);
        mk_stmt_t *stmt = mk_db_prepare (a, sql);
        free (sql);
        char columns[512] = "", kinds[64] = "";
        while (stmt && mk_stmt_step (stmt) == MK_DB_ROW) {
            const char *type = mk_stmt_text (stmt, 1);
            snprintf (columns + strlen (columns), sizeof columns - strlen (columns), "%s%s",
                      *columns ? ", " : "", mk_stmt_text (stmt, 0));
            char kind = strstr (type, "INT") ? 'i' : strstr (type, "BLOB") ? 'b' : 't';
            kinds[strlen (kinds)] = kind;
        }
        if (verbose || !streq (columns, tables[i].columns) || !streq (kinds, tables[i].kinds))
            printf ("  %s: %s (%s)\n", tables[i].name, columns, kinds);
        assert (streq (columns, tables[i].columns) && streq (kinds, tables[i].kinds));
    }

    //  A copy, and a second one that finds the destination full.
    s_fill (a);
    char *error = NULL;
    assert (mk_db_copy (a, b, false, false, &error) == 21 && !error);
    s_check (b);
    assert (mk_db_copy (a, b, false, false, &error) == -1);
    if (verbose)
        printf ("  %s\n", error);
    assert (strstr (error, "not empty"));
    free (error);
    assert (mk_db_count (b, "tasks", NULL) == 2);
    //  Replacing: what was there is gone, the copy is whole.
    assert (mk_db_begin (b) == 0);
    assert (mk_db_exec (b, "INSERT INTO hosts (name, state, vcpus, memory_mb) VALUES "
                           "('extra', 'down', 1, 1)")
            == 0);
    assert (mk_db_commit (b) == 0);
    assert (mk_db_copy (a, b, true, false, &error) == 21 && !error);
    s_check (b);
    //  Fenced, the copy needs the claim on its destination: not held, or held by
    //  another, it writes nothing; ours, it copies.
    assert (mk_db_exec (b, "INSERT INTO hosts (name, state, vcpus, memory_mb) VALUES "
                           "('extra', 'down', 1, 1)")
            == 0);
    assert (mk_db_copy (a, b, true, true, &error) == -1 && strstr (error, "taken over"));
    free (error);
    error = NULL;
    assert (mk_db_count (b, "hosts", "name = 'extra'") == 1);
    char *holder = NULL;
    assert (mk_db_claim (b, "test", false, &holder) == 0);
    assert (mk_db_copy (a, b, true, true, &error) == 21 && !error);
    s_check (b);
    assert (mk_db_claim_release (b) == 0);
    //  A source at another schema version is refused before anything is written.
    char *url_c = zsys_sprintf ("sqlite:%s/c.db", dir);
    mk_db_t *c = mk_db_open (url_c, &error);
    free (url_c);
    assert (c);
    assert (mk_db_copy (c, b, true, false, &error) == -1
            && strstr (error, "schema versions differ"));
    free (error);
    s_check (b);
    mk_db_destroy (&c);

    //  Into MySQL and back out (a move between backends), when a server is given.
    const char *mysql = getenv ("MK_TEST_MYSQL_URL");
    if (mysql && *mysql) {
        mk_db_t *m = s_fresh (mysql);
        assert (mk_db_copy (a, m, false, false, &error) == 21 && !error);
        s_check (m);
        char *url_d = zsys_sprintf ("sqlite:%s/d.db", dir);
        mk_db_t *d = s_fresh (url_d);
        free (url_d);
        assert (mk_db_copy (m, d, false, false, &error) == 21 && !error);
        s_check (d);
        mk_db_destroy (&d);
        mk_db_destroy (&m);
    } else
        printf ("mk_db_copy_test: MK_TEST_MYSQL_URL is not set; the MySQL backend is not "
                "tested\n");
    mk_db_destroy (&a);
    mk_db_destroy (&b);
    mk_testdir_remove (&dir);
    free (url_a);
    free (url_b);
}

/*  mk_db's self-test: the layer on SQLite, and on MySQL/MariaDB when MK_TEST_MYSQL_URL
    names a server (tests/run.sh starts a private one). */
#include "maekin.h"
#include "mk_db_driver.h"
#include "mk_testdir.h"
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <sys/stat.h>

//  A fresh URL for a file in dir; the caller frees it.
static char *
s_url (const char *dir, const char *file, const char *options)
{
    return zsys_sprintf ("sqlite:%s/%s%s", dir, file, options ? options : "");
}

static int64_t
s_count (mk_db_t *db, const char *sql)
{
    mk_stmt_t *stmt = mk_db_prepare (db, sql);
    assert (stmt);
    assert (mk_stmt_step (stmt) == MK_DB_ROW);
    int64_t count = mk_stmt_int (stmt, 0);
    mk_stmt_reset (stmt);
    return count;
}

static void
s_insert_host (mk_db_t *db, const char *name, int expected)
{
    mk_stmt_t *stmt =
        mk_db_prepare (db, "INSERT INTO hosts (name, state, vcpus, memory_mb) VALUES (?, ?, ?, ?)");
    assert (stmt);
    assert (mk_stmt_bind_text (stmt, 1, name) == 0);
    assert (mk_stmt_bind_text (stmt, 2, "up") == 0);
    assert (mk_stmt_bind_int (stmt, 3, 8) == 0);
    assert (mk_stmt_bind_int (stmt, 4, 16384) == 0);
    assert (mk_stmt_step (stmt) == expected);
}

//  Opening url must fail with an error that contains want (or equals it, if exact).
static void
s_assert_open_fails (const char *url, const char *want, bool exact, bool verbose)
{
    char *error = NULL;
    mk_db_t *db = mk_db_open (url, &error);
    assert (db == NULL);
    assert (error);
    if (verbose)
        printf (" * open '%s': %s\n", url, error);
    bool matched = exact ? streq (error, want) : strstr (error, want) != NULL;
    if (!matched)
        fprintf (stderr, "mk_db_test: open '%s' failed with '%s', not '%s'\n", url, error, want);
    assert (matched);
    free (error);
}

//  A cached statement inserts; a duplicate is a constraint violation; a row reads back.
static void
s_test_insert (mk_db_t *db, bool mysql, bool verbose)
{
    //  Insert through a cached statement: the same text gives the same statement.
    const char *insert = "INSERT INTO hosts (name, state, vcpus, memory_mb) VALUES (?, ?, ?, ?)";
    mk_stmt_t *first = mk_db_prepare (db, insert);
    assert (first);
    assert (mk_db_prepare (db, insert) == first);
    s_insert_host (db, "node-1", MK_DB_DONE);
    assert (mk_db_last_insert_id (db) == 1);
    assert (mk_db_changes (db) == 1);
    assert (mk_db_prepare (db, insert) == first);

    //  A duplicate name is a constraint violation, not an error, and says so.
    s_insert_host (db, "node-1", MK_DB_CONSTRAINT);
    assert (strstr (mk_db_error (db), mysql ? "Duplicate entry 'node-1'" : "UNIQUE"));
    if (verbose)
        printf (" * duplicate: %s\n", mk_db_error (db));
    s_insert_host (db, "node-2", MK_DB_DONE);
    //  InnoDB spends an id on the refused insert; SQLite does not.
    assert (mysql ? mk_db_last_insert_id (db) > 1 : mk_db_last_insert_id (db) == 2);

    //  Select it back; a default column reads back as its default.
    const char *select =
        "SELECT id, name, state, uri, vcpus, memory_mb, last_seen FROM hosts WHERE name = ?";
    mk_stmt_t *stmt = mk_db_prepare (db, select);
    assert (stmt);
    assert (mk_stmt_bind_text (stmt, 1, "node-1") == 0);
    assert (mk_stmt_step (stmt) == MK_DB_ROW);
    assert (mk_stmt_int (stmt, 0) == 1);
    assert (streq (mk_stmt_text (stmt, 0), "1"));
    assert (streq (mk_stmt_text (stmt, 1), "node-1"));
    assert (streq (mk_stmt_text (stmt, 2), "up"));
    assert (streq (mk_stmt_text (stmt, 3), ""));
    assert (mk_stmt_int (stmt, 4) == 8);
    assert (mk_stmt_int (stmt, 5) == 16384);
    assert (mk_stmt_int (stmt, 6) == 0);
    assert (mk_stmt_step (stmt) == MK_DB_DONE);
}

//  What a change counts, and how a statement starts over, binds NULL and sums.
static void
s_test_statements (mk_db_t *db)
{
    //  An UPDATE that changes nothing still counts the rows it found, on every backend.
    assert (mk_db_exec (db, "UPDATE hosts SET state = 'up' WHERE name = 'node-1'") == 0);
    assert (mk_db_changes (db) == 1);
    mk_stmt_t *stmt = mk_db_prepare (db, "UPDATE hosts SET vcpus = ? WHERE name = ?");
    assert (mk_stmt_bind_int (stmt, 1, 8) == 0);
    assert (mk_stmt_bind_text (stmt, 2, "node-1") == 0);
    assert (mk_stmt_step (stmt) == MK_DB_DONE);
    assert (mk_db_changes (db) == 1);
    assert (mk_stmt_bind_int (stmt, 3, 1) == -1); //  no such parameter
    mk_stmt_reset (stmt);

    //  Preparing a statement left on a row starts it over, with no bindings.
    stmt = mk_db_prepare (db, "SELECT name FROM hosts ORDER BY id");
    assert (mk_stmt_step (stmt) == MK_DB_ROW);
    assert (streq (mk_stmt_text (stmt, 0), "node-1"));
    assert (mk_db_prepare (db, "SELECT name FROM hosts ORDER BY id") == stmt);
    assert (mk_stmt_step (stmt) == MK_DB_ROW);
    assert (streq (mk_stmt_text (stmt, 0), "node-1"));
    //  Another statement may run while one rests on a row.
    assert (s_count (db, "SELECT count(*) FROM hosts") == 2);
    assert (mk_stmt_step (stmt) == MK_DB_ROW);
    assert (streq (mk_stmt_text (stmt, 0), "node-2"));
    assert (mk_stmt_step (stmt) == MK_DB_DONE);
    mk_stmt_reset (stmt);
    stmt = mk_db_prepare (db, "SELECT ?");
    assert (mk_stmt_bind_int (stmt, 1, 7) == 0);
    assert (mk_db_prepare (db, "SELECT ?") == stmt);
    assert (mk_stmt_step (stmt) == MK_DB_ROW);
    assert (streq (mk_stmt_text (stmt, 0), "")); //  the binding was cleared
    mk_stmt_reset (stmt);

    //  NULL text binds NULL and reads back as "".
    stmt = mk_db_prepare (db, "SELECT ?, ? IS NULL");
    assert (mk_stmt_bind_text (stmt, 1, NULL) == 0);
    assert (mk_stmt_bind_text (stmt, 2, NULL) == 0);
    assert (mk_stmt_step (stmt) == MK_DB_ROW);
    assert (streq (mk_stmt_text (stmt, 0), ""));
    assert (mk_stmt_int (stmt, 1) == 1);
    mk_stmt_reset (stmt);

    //  Sums and counts read as numbers (MySQL gives SUM as a decimal).
    assert (s_count (db, "SELECT SUM(memory_mb) FROM hosts") == 2 * 16384);
}

//  Blobs round-trip, zero bytes and all; an empty blob is a blob, not NULL.
static void
s_test_blobs (mk_db_t *db)
{
    uint8_t data[300];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t) (i * 7);
    assert (data[0] == 0 && memchr (data + 1, 0, sizeof data - 1));
    const char *put = "INSERT INTO requests (id, reply, created) VALUES (?, ?, ?)";
    mk_stmt_t *stmt = mk_db_prepare (db, put);
    assert (mk_stmt_bind_text (stmt, 1, "req-1") == 0);
    assert (mk_stmt_bind_blob (stmt, 2, data, sizeof data) == 0);
    assert (mk_stmt_bind_int (stmt, 3, 1700000000123) == 0);
    assert (mk_stmt_step (stmt) == MK_DB_DONE);
    stmt = mk_db_prepare (db, put);
    assert (mk_stmt_bind_text (stmt, 1, "req-2") == 0);
    assert (mk_stmt_bind_blob (stmt, 2, NULL, 0) == 0);
    assert (mk_stmt_bind_int (stmt, 3, 1) == 0);
    assert (mk_stmt_step (stmt) == MK_DB_DONE);
    stmt = mk_db_prepare (db, put); //  the same id again
    assert (mk_stmt_bind_text (stmt, 1, "req-1") == 0);
    assert (mk_stmt_bind_blob (stmt, 2, data, 1) == 0);
    assert (mk_stmt_bind_int (stmt, 3, 1) == 0);
    assert (mk_stmt_step (stmt) == MK_DB_CONSTRAINT);
    const char *get = "SELECT reply, created FROM requests WHERE id = ?";
    stmt = mk_db_prepare (db, get);
    assert (mk_stmt_bind_text (stmt, 1, "req-1") == 0);
    assert (mk_stmt_step (stmt) == MK_DB_ROW);
    size_t size = 0;
    const void *blob = mk_stmt_blob (stmt, 0, &size);
    assert (size == sizeof data && memcmp (blob, data, size) == 0);
    assert (mk_stmt_int (stmt, 1) == 1700000000123);
    stmt = mk_db_prepare (db, get);
    assert (mk_stmt_bind_text (stmt, 1, "req-2") == 0);
    assert (mk_stmt_step (stmt) == MK_DB_ROW);
    blob = mk_stmt_blob (stmt, 0, &size);
    assert (blob && size == 0);
    mk_stmt_reset (stmt);
}

//  100 KB of text and of blob round-trip whole, after shorter values in the same
//  statement.
static void
s_test_big_values (mk_db_t *db)
{
    const char *put = "INSERT INTO requests (id, reply, created) VALUES (?, ?, ?)";
    size_t big = 100 * 1024;
    char *text = (char *) malloc (big + 1);
    assert (text);
    for (size_t i = 0; i < big; i++)
        text[i] = (char) ('a' + i % 26);
    text[big] = 0;
    mk_stmt_t *stmt = mk_db_prepare (db, "SELECT ?");
    assert (mk_stmt_bind_text (stmt, 1, "short") == 0);
    assert (mk_stmt_step (stmt) == MK_DB_ROW);
    assert (streq (mk_stmt_text (stmt, 0), "short"));
    stmt = mk_db_prepare (db, "SELECT ?");
    assert (mk_stmt_bind_text (stmt, 1, text) == 0);
    assert (mk_stmt_step (stmt) == MK_DB_ROW);
    assert (streq (mk_stmt_text (stmt, 0), text));
    mk_stmt_reset (stmt);
    stmt = mk_db_prepare (db, put);
    assert (mk_stmt_bind_text (stmt, 1, "req-big") == 0);
    assert (mk_stmt_bind_blob (stmt, 2, text, big) == 0);
    assert (mk_stmt_bind_int (stmt, 3, 2) == 0);
    assert (mk_stmt_step (stmt) == MK_DB_DONE);
    stmt = mk_db_prepare (db, "SELECT id, reply FROM requests ORDER BY created, id");
    int rows = 0;
    while (mk_stmt_step (stmt) == MK_DB_ROW) {
        size_t size = 0;
        const void *blob = mk_stmt_blob (stmt, 1, &size);
        if (streq (mk_stmt_text (stmt, 0), "req-big"))
            assert (size == big && memcmp (blob, text, big) == 0);
        rows++;
    }
    assert (rows == 3);
    mk_stmt_reset (stmt);
    free (text);
}

//  Transactions roll back and commit; bad SQL fails cleanly and says why.
static void
s_test_transactions (mk_db_t *db)
{
    //  A rollback undoes; rolling back with no transaction open is harmless.
    assert (mk_db_begin (db) == 0);
    assert (mk_db_begin (db) == -1); //  one at a time
    s_insert_host (db, "node-3", MK_DB_DONE);
    assert (s_count (db, "SELECT count(*) FROM hosts") == 3);
    assert (mk_db_rollback (db) == 0);
    assert (s_count (db, "SELECT count(*) FROM hosts") == 2);
    assert (mk_db_rollback (db) == 0);

    //  A constraint violation inside a transaction leaves the transaction usable.
    assert (mk_db_begin (db) == 0);
    s_insert_host (db, "node-1", MK_DB_CONSTRAINT);
    s_insert_host (db, "node-3", MK_DB_DONE);
    assert (mk_db_commit (db) == 0);
    assert (mk_db_commit (db) == -1); //  none open
    assert (strstr (mk_db_error (db), "no transaction"));

    //  Bad SQL fails cleanly and says why.
    assert (mk_db_exec (db, "CREATE TABLE hosts (x INT)") == -1);
    assert (strstr (mk_db_error (db), "already exists"));
    assert (mk_db_prepare (db, "SELECT name FROM nowhere") == NULL);
    assert (strstr (mk_db_error (db), "nowhere"));
    assert (s_count (db, "SELECT count(*) FROM hosts") == 3); //  still usable
}

//  Queues one request row: id, a reply of `size` bytes of `fill`.
static void
s_queue_request (mk_db_t *db, const char *id, size_t size, char fill, int expected)
{
    mk_stmt_t *stmt = mk_db_prepare (
        db, "INSERT INTO requests (id, reply, created, fingerprint) VALUES (?, ?, ?, ?)");
    assert (stmt);
    char *reply = (char *) malloc (size + 1);
    memset (reply, fill, size);
    assert (mk_stmt_bind_text (stmt, 1, id) == 0);
    assert (mk_stmt_bind_blob (stmt, 2, reply, size) == 0);
    assert (mk_stmt_bind_int (stmt, 3, 1) == 0);
    assert (mk_stmt_bind_int (stmt, 4, (int64_t) size) == 0);
    free (reply);
    assert (mk_stmt_queue (stmt) == expected);
}

//  Queues an event row of stream "q" (another table than requests).
static void
s_queue_event (mk_db_t *db, int64_t seq)
{
    mk_stmt_t *stmt =
        mk_db_prepare (db, "INSERT INTO events (stream, seq, body, created) VALUES ('q', ?, ?, ?)");
    assert (stmt);
    assert (mk_stmt_bind_int (stmt, 1, seq) == 0);
    assert (mk_stmt_bind_blob (stmt, 2, "", 0) == 0);
    assert (mk_stmt_bind_int (stmt, 3, seq) == 0);
    assert (mk_stmt_queue (stmt) == 0);
}

//  Queued rows: run before any read, commit or exec, in order; a rollback drops them; a
//  refused row fails the commit and nothing of the transaction is kept. Empties the
//  requests and events tables.
static void
s_test_queue (mk_db_t *db)
{
    assert (mk_db_exec (db, "DELETE FROM requests") == 0);
    assert (mk_db_exec (db, "DELETE FROM events") == 0);
    //  Many rows of two tables, interleaved, with blobs big and empty; a read sees them.
    assert (mk_db_begin (db) == 0);
    char id[32];
    for (int i = 0; i < 300; i++) {
        snprintf (id, sizeof id, "q-%d", i);
        s_queue_request (db, id, i == 7 ? 100000 : (size_t) i % 3, 'a' + (char) (i % 26), 0);
        s_queue_event (db, i);
    }
    assert (s_count (db, "SELECT count(*) FROM requests") == 300);
    assert (s_count (db, "SELECT count(*) FROM events WHERE stream = 'q'") == 300);
    assert (s_count (db, "SELECT length(reply) FROM requests WHERE id = 'q-7'") == 100000);
    assert (s_count (db, "SELECT sum(fingerprint = length(reply)) FROM requests") == 300);
    mk_stmt_t *stmt = mk_db_prepare (db, "SELECT reply FROM requests WHERE id = 'q-28'");
    assert (mk_stmt_step (stmt) == MK_DB_ROW);
    size_t size = 0;
    assert (memcmp (mk_stmt_blob (stmt, 0, &size), "c", 1) == 0 && size == 1);
    mk_stmt_reset (stmt);
    //  Rows of one statement run in order, and inserts before updates, so an update
    //  finds the row queued before it.
    s_queue_request (db, "q-300", 1, 'x', 0);
    stmt = mk_db_prepare (db, "UPDATE requests SET created = ? WHERE id = ?");
    assert (mk_stmt_bind_int (stmt, 1, 42) == 0 && mk_stmt_bind_text (stmt, 2, "q-300") == 0);
    assert (mk_stmt_queue (stmt) == 0);
    stmt = mk_db_prepare (db, "UPDATE requests SET created = ? WHERE id = ?");
    assert (mk_stmt_bind_int (stmt, 1, 43) == 0 && mk_stmt_bind_text (stmt, 2, "q-300") == 0);
    assert (mk_stmt_queue (stmt) == 0);
    assert (mk_db_flush (db) == 0);
    assert (s_count (db, "SELECT created FROM requests WHERE id = 'q-300'") == 43);
    assert (mk_db_commit (db) == 0);
    assert (s_count (db, "SELECT count(*) FROM requests") == 301);

    //  A rollback drops what is queued: nothing runs later.
    assert (mk_db_begin (db) == 0);
    s_queue_request (db, "q-dropped", 1, 'd', 0);
    s_queue_event (db, 1000);
    assert (mk_db_rollback (db) == 0);
    assert (s_count (db, "SELECT count(*) FROM requests WHERE id = 'q-dropped'") == 0);
    assert (s_count (db, "SELECT count(*) FROM events WHERE seq = 1000") == 0);

    //  A duplicate among queued rows fails the commit; nothing of the transaction stays.
    //  (SQLite runs each row at once: the duplicate is refused as it is queued.)
    bool sqlite = streq (mk_db_backend (db), "sqlite");
    assert (mk_db_begin (db) == 0);
    s_queue_event (db, 2000);
    s_queue_request (db, "q-new", 1, 'n', 0);
    s_queue_request (db, "q-5", 1, 'n', sqlite ? MK_DB_CONSTRAINT : 0); //  there already
    s_queue_request (db, "q-newer", 1, 'n', 0);
    if (!sqlite)
        assert (mk_db_commit (db) == -1);
    assert (strstr (mk_db_error (db), "q-5") || strstr (mk_db_error (db), "UNIQUE"));
    assert (mk_db_rollback (db) == 0);
    assert (s_count (db, "SELECT count(*) FROM requests WHERE id LIKE 'q-new%'") == 0);
    assert (s_count (db, "SELECT count(*) FROM events WHERE seq = 2000") == 0);
    //  Queued rows that fail when a read runs them fail the read, and the commit after,
    //  even if the read's caller went on: they were some other caller's.
    assert (mk_db_begin (db) == 0);
    s_queue_request (db, "q-6", 1, 'n', sqlite ? MK_DB_CONSTRAINT : 0); //  there already
    if (!sqlite) {
        stmt = mk_db_prepare (db, "SELECT count(*) FROM hosts");
        assert (mk_stmt_step (stmt) == MK_DB_CONSTRAINT);
        assert (s_count (db, "SELECT count(*) FROM requests WHERE id = 'q-6'") == 1);
        assert (mk_db_commit (db) == -1);
        assert (strstr (mk_db_error (db), "rows queued in this transaction failed"));
    }
    assert (mk_db_rollback (db) == 0);
    //  The statements work again after.
    assert (mk_db_begin (db) == 0);
    s_queue_request (db, "q-again", 1, 'g', 0);
    assert (mk_db_commit (db) == 0);
    assert (s_count (db, "SELECT count(*) FROM requests") == 302);
    assert (mk_db_exec (db, "DELETE FROM requests") == 0);
    assert (mk_db_exec (db, "DELETE FROM events") == 0);
}

//  The checks every backend passes, on a database just migrated, its tables empty.
static void
s_test_common (mk_db_t *db, bool verbose)
{
    bool mysql = streq (mk_db_backend (db), "mysql");
    s_test_insert (db, mysql, verbose);
    s_test_statements (db);
    s_test_blobs (db);
    s_test_big_values (db);
    s_test_transactions (db);
    s_test_queue (db);
}

//  The tables of the schema, for a test to start from an empty MySQL database.
//  Every table dropped: the next migration starts from nothing.
static void
s_mysql_drop_all (mk_db_t *db)
{
    char *sql = mk_db_drop_all_sql ();
    assert (mk_db_exec (db, sql) == 0);
    free (sql);
}

//  The MySQL URL with its password replaced; the caller frees it.
static char *
s_url_with_password (const char *url, const char *password)
{
    const char *user = strstr (url, "//");
    const char *at = strrchr (url, '@');
    assert (user && at && at > user);
    const char *colon = memchr (user, ':', (size_t) (at - user));
    size_t head = (size_t) ((colon ? colon : at) - url);
    return zsys_sprintf ("%.*s:%s%s", (int) head, url, password, at);
}

//  The id the server gives this connection.
static int64_t
s_connection_id (mk_db_t *db)
{
    return s_count (db, "SELECT CONNECTION_ID()");
}

//  Kill connection id from another one, as a server restart would end it.
static void
s_kill_id (mk_db_t *killer, int64_t id)
{
    char *sql = zsys_sprintf ("KILL CONNECTION %" PRId64, id);
    assert (mk_db_exec (killer, sql) == 0);
    zstr_free (&sql);
    //  KILL returns before the connection is gone: wait until the server has ended it,
    //  as a restart between two calls would have.
    sql = zsys_sprintf ("SELECT count(*) FROM information_schema.processlist WHERE id = %" PRId64,
                        id);
    int waits = 0;
    while (s_count (killer, sql) > 0) {
        assert (++waits < 1000);
        zclock_sleep (1);
    }
    zstr_free (&sql);
}

//  Kill db's connection from another one.
static void
s_kill (mk_db_t *db, mk_db_t *killer)
{
    s_kill_id (killer, s_connection_id (db));
}

//  Opens the MySQL database at url, emptied and migrated, and checks its session and
//  that migrating again changes nothing.
static mk_db_t *
s_mysql_open (const char *url)
{
    int latest = mk_db_latest_version ();
    char *error = NULL;
    mk_db_t *db = mk_db_open (url, &error);
    if (!db)
        printf ("mk_db_test: cannot open MK_TEST_MYSQL_URL: %s\n", error);
    assert (db && !error);
    assert (streq (mk_db_backend (db), "mysql"));
    s_mysql_drop_all (db);
    assert (mk_db_schema_version (db) == 0);
    assert (mk_db_migrate (db, &error) == 0);
    assert (error == NULL);
    assert (mk_db_schema_version (db) == latest);
    assert (!mk_db_begin (db) && !mk_db_rollback (db)); //  the migration left none open

    //  The session is strict and reads committed data.
    mk_stmt_t *stmt = mk_db_prepare (db, "SELECT @@SESSION.sql_mode, @@SESSION.tx_isolation");
    assert (stmt && mk_stmt_step (stmt) == MK_DB_ROW);
    assert (strstr (mk_stmt_text (stmt, 0), "STRICT_ALL_TABLES"));
    assert (streq (mk_stmt_text (stmt, 1), "READ-COMMITTED"));
    mk_stmt_reset (stmt);

    //  Migrating again changes nothing.
    const char *tables = "SELECT count(*) FROM information_schema.tables "
                         "WHERE table_schema = DATABASE()";
    int64_t objects = s_count (db, tables);
    size_t schema_tables;
    mk_db_tables (&schema_tables);
    assert (objects == (int64_t) schema_tables + 1); //  and meta
    assert (mk_db_migrate (db, &error) == 0);
    assert (s_count (db, tables) == objects);
    assert (s_count (db, "SELECT count(*) FROM meta") == 1);
    return db;
}

//  The server drops the connection between two calls (as a restart would): the next
//  call outside a transaction connects again, its statement prepared again.
static void
s_test_mysql_reconnect (mk_db_t *db, mk_db_t *killer)
{
    int64_t before = s_connection_id (db);
    s_kill (db, killer);
    assert (s_count (db, "SELECT count(*) FROM hosts") == 3); //  cached statement
    assert (s_connection_id (db) != before);
    s_kill (db, killer);
    assert (mk_db_exec (db, "UPDATE hosts SET last_seen = 6 WHERE name = 'node-4'") == 0);
    assert (mk_db_changes (db) == 1);
    s_kill (db, killer);
    s_insert_host (db, "node-5", MK_DB_DONE);
    s_kill (db, killer);
    assert (mk_db_prepare (db, "SELECT name, uri FROM hosts WHERE id = ?")); //  a new one
    s_kill (db, killer);
    //  A statement resting on a row when another call connects again has lost its rows,
    //  and says so; it runs again once reset.
    mk_stmt_t *stmt = mk_db_prepare (db, "SELECT name FROM hosts ORDER BY id");
    assert (mk_stmt_step (stmt) == MK_DB_ROW);
    assert (streq (mk_stmt_text (stmt, 0), "node-1"));
    s_kill (db, killer);
    assert (s_count (db, "SELECT count(*) FROM hosts") == 4);
    assert (mk_stmt_step (stmt) == MK_DB_ERROR);
    assert (strstr (mk_db_error (db), "connection lost while the statement's rows were read"));
    assert (mk_stmt_step (stmt) == MK_DB_ROW);
    assert (streq (mk_stmt_text (stmt, 0), "node-1"));
    mk_stmt_reset (stmt);
    s_kill (db, killer);
    assert (mk_db_begin (db) == 0); //  a begin after the loss starts on a new connection
    s_insert_host (db, "node-6", MK_DB_DONE);
    assert (mk_db_commit (db) == 0);
    assert (s_count (db, "SELECT count(*) FROM hosts") == 5);
}

//  Inside a transaction the loss fails the call and every call after it until the
//  caller rolls back: nothing of the transaction is applied.
static void
s_test_mysql_lost_transaction (mk_db_t *db, mk_db_t *killer, bool verbose)
{
    assert (mk_db_begin (db) == 0);
    s_insert_host (db, "node-7", MK_DB_DONE);
    s_kill (db, killer);
    s_insert_host (db, "node-8", MK_DB_ERROR);
    if (verbose)
        printf (" * lost in a transaction: %s\n", mk_db_error (db));
    assert (streq (mk_db_error (db), "connection lost during a transaction; rolled back"));
    s_insert_host (db, "node-9", MK_DB_ERROR);
    assert (mk_db_exec (db, "DELETE FROM hosts") == -1);
    assert (mk_db_commit (db) == -1);
    assert (strstr (mk_db_error (db), "rolled back"));
    assert (mk_db_rollback (db) == 0);
    assert (s_count (db, "SELECT count(*) FROM hosts") == 5);
    assert (s_count (db, "SELECT count(*) FROM hosts WHERE name LIKE 'node-7'") == 0);
    //  ... or begins again, on a new connection.
    assert (mk_db_begin (db) == 0);
    s_kill (db, killer);
    assert (mk_db_exec (db, "DELETE FROM hosts") == -1);
    assert (mk_db_begin (db) == 0);
    s_insert_host (db, "node-7", MK_DB_DONE);
    assert (mk_db_commit (db) == 0);
    assert (s_count (db, "SELECT count(*) FROM hosts") == 6);
    //  A rollback after a loss is a rollback.
    assert (mk_db_begin (db) == 0);
    s_insert_host (db, "node-8", MK_DB_DONE);
    s_kill (db, killer);
    assert (mk_db_rollback (db) == 0);
    assert (s_count (db, "SELECT count(*) FROM hosts") == 6);
    //  Rows queued when the connection goes fail the commit, and none is kept.
    int64_t id = s_connection_id (db);
    assert (mk_db_begin (db) == 0);
    s_queue_request (db, "lost-1", 1, 'l', 0);
    s_queue_request (db, "lost-2", 1, 'l', 0);
    s_kill_id (killer, id);
    assert (mk_db_commit (db) == -1);
    assert (strstr (mk_db_error (db), "rolled back"));
    assert (mk_db_rollback (db) == 0);
    assert (s_count (db, "SELECT count(*) FROM requests WHERE id LIKE 'lost-%'") == 0);
}

//  A database from a newer program is refused; the database is dropped after.
static void
s_test_mysql_newer (mk_db_t **db_p, const char *url)
{
    mk_db_t *db = *db_p;
    *db_p = NULL;
    int latest = mk_db_latest_version ();
    char *error = NULL;
    assert (mk_db_exec (db, "UPDATE meta SET value = '99' WHERE name = 'schema_version'") == 0);
    mk_db_destroy (&db);
    db = mk_db_open (url, &error);
    assert (db);
    assert (mk_db_schema_version (db) == 99);
    assert (mk_db_migrate (db, &error) == -1);
    char *want = zsys_sprintf (
        "db: schema version 99 is newer than this program's %d; upgrade Maekin", latest);
    assert (error && streq (error, want));
    zstr_free (&error);
    zstr_free (&want);
    s_mysql_drop_all (db);
    mk_db_destroy (&db);
}

//  A wrong password, an unreachable server and bad URLs fail, and say why without
//  quoting the password.
static void
s_test_mysql_bad_urls (const char *url, bool verbose)
{
    char *error = NULL;
    //  A wrong password names the user and the host, never the password.
    char *wrong = s_url_with_password (url, "not-the-Secret");
    s_assert_open_fails (wrong, "Access denied for user", false, verbose);
    assert (mk_db_open (wrong, &error) == NULL);
    assert (strstr (error, "db: cannot connect to MySQL as '") && strstr (error, "'@'"));
    assert (strstr (error, "(check the user and password)"));
    assert (!strstr (error, "not-the-Secret"));
    zstr_free (&error);
    zstr_free (&wrong);

    //  An address where no server listens says where it tried.
    s_assert_open_fails ("mysql://maekin:Secret@127.0.0.1:1/maekin",
                         "db: cannot connect to MySQL as 'maekin'@'127.0.0.1:1': ", false, verbose);
    s_assert_open_fails ("mysql://maekin:Secret@127.0.0.1:1/maekin", "is the server running", false,
                         false);
    s_assert_open_fails ("mysql://maekin:Secret@/maekin?socket=/nonexistent/mysqld.sock",
                         "'maekin'@'/nonexistent/mysqld.sock'", false, verbose);

    //  A password holding '@' and '/': the driver and the log's redaction read the URL by
    //  one rule, so the connection names the right user and host and no log shows any
    //  part of the password.
    s_assert_open_fails ("mysql://maekin:p@ss/w@127.0.0.1:1/maekin",
                         "db: cannot connect to MySQL as 'maekin'@'127.0.0.1:1': ", false, verbose);
    //  URLs that cannot work say how to write one, and never quote the password.
    const char *bad[][2] = {
        {"mysql:maekin:Secret@db1/maekin", "db: bad MySQL URL (use mysql://USER"},
        {"mysql://db1/maekin", "no user"},
        {"mysql://:Secret@db1/maekin", "no user"},
        {"mysql://maekin:Secret@db1", "no database"},
        {"mysql://maekin:Secret@db1/", "no database"},
        {"mysql://maekin:Secret@db1:99999/maekin", "bad port '99999'"},
        {"mysql://maekin:Secret@db1:x/maekin", "bad port 'x'"},
        {"mysql://maekin:Secret@/maekin", "no host"},
        {"mysql://maekin:Secret@db1/maekin?socket=/x.sock", "both a host 'db1' and a socket"},
        {"mysql://maekin:Se%zzret@db1/maekin", "bad %-escape"},
        {"mysql://maekin:Secret@db1/maekin?synchronous=off", "unknown option 'synchronous'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        s_assert_open_fails (bad[i][0], bad[i][1], false, verbose);
        assert (mk_db_open (bad[i][0], &error) == NULL);
        assert (!strstr (error, "Secret") && !strstr (error, "Se%zzret"));
        zstr_free (&error);
    }
}

//  The same checks on a MySQL or MariaDB server, and what only a server can do: refuse a
//  password, be unreachable, drop a connection.
static void
s_test_mysql (const char *url, bool verbose)
{
    char *error = NULL;
    mk_db_t *db = s_mysql_open (url);
    s_test_common (db, verbose);

    //  Several statements in one exec, every result drained; the connection goes on.
    assert (mk_db_exec (db, "SELECT 1; UPDATE hosts SET last_seen = 5; SELECT 2") == 0);
    assert (s_count (db, "SELECT count(*) FROM hosts WHERE last_seen = 5") == 3);
    assert (mk_db_exec (db, "SELECT 1; SELECT nothing FROM nowhere; SELECT 2") == -1);
    assert (strstr (mk_db_error (db), "nowhere"));
    assert (s_count (db, "SELECT count(*) FROM hosts") == 3);

    //  A commit persists across close and reopen; a deleted row's id is not given again.
    mk_db_destroy (&db);
    db = mk_db_open (url, &error);
    assert (db && !error);
    assert (mk_db_migrate (db, NULL) == 0);
    assert (s_count (db, "SELECT count(*) FROM hosts WHERE name = 'node-3'") == 1);
    int64_t last = s_count (db, "SELECT MAX(id) FROM hosts");
    assert (mk_db_exec (db, "DELETE FROM hosts WHERE name = 'node-3'") == 0);
    assert (mk_db_changes (db) == 1);
    s_insert_host (db, "node-4", MK_DB_DONE);
    assert (mk_db_last_insert_id (db) > last);
    mk_db_t *killer = mk_db_open (url, &error);
    assert (killer && !error);
    s_test_mysql_reconnect (db, killer);
    s_test_mysql_lost_transaction (db, killer, verbose);
    mk_db_destroy (&killer);

    s_test_mysql_newer (&db, url);
    s_test_mysql_bad_urls (url, verbose);
}

//  The schema: versions 1, 2, ... each written for every dialect.
static void
s_test_schema (void)
{
    size_t count;
    const mk_db_migration_t *migrations = mk_db_schema (&count);
    assert (count > 0);
    for (size_t i = 0; i < count; i++) {
        assert (migrations[i].version == (int) i + 1);
        for (int dialect = 0; dialect < MK_DB_DIALECTS; dialect++)
            assert (migrations[i].sql[dialect] && *migrations[i].sql[dialect]);
    }
    int latest = mk_db_latest_version ();
    assert (latest == (int) count);
}

//  Open and migrate a new SQLite database, run the common checks, and reopen it.
static void
s_test_sqlite (const char *dir, bool verbose)
{
    int latest = mk_db_latest_version ();
    //  Open and migrate a new database.
    char *error = NULL;
    char *url = s_url (dir, "maekin.db", NULL);
    mk_db_t *db = mk_db_open (url, &error);
    assert (db);
    assert (error == NULL);
    assert (streq (mk_db_backend (db), "sqlite"));
    assert (streq (mk_db_error (db), ""));
    assert (mk_db_schema_version (db) == 0);
    assert (mk_db_migrate (db, &error) == 0);
    assert (error == NULL);
    assert (mk_db_schema_version (db) == latest);

    //  The settings asked for at open.
    mk_stmt_t *stmt = mk_db_prepare (db, "PRAGMA journal_mode");
    assert (stmt && mk_stmt_step (stmt) == MK_DB_ROW);
    assert (streq (mk_stmt_text (stmt, 0), "wal"));
    mk_stmt_reset (stmt);
    assert (s_count (db, "PRAGMA synchronous") == 2); //  FULL
    assert (s_count (db, "PRAGMA foreign_keys") == 1);
    assert (s_count (db, "PRAGMA busy_timeout") == 5000);

    //  Migrating again changes nothing.
    int64_t objects = s_count (db, "SELECT count(*) FROM sqlite_master");
    assert (mk_db_migrate (db, &error) == 0);
    assert (error == NULL);
    assert (mk_db_schema_version (db) == latest);
    assert (s_count (db, "SELECT count(*) FROM sqlite_master") == objects);
    assert (s_count (db, "SELECT count(*) FROM meta") == 1);

    s_test_common (db, verbose);

    //  A commit persists across close and reopen; a plain path opens SQLite too.
    mk_db_destroy (&db);
    assert (db == NULL);
    mk_db_destroy (&db);
    char *path = zsys_sprintf ("%s/maekin.db?synchronous=normal", dir);
    db = mk_db_open (path, &error);
    assert (db && !error);
    zstr_free (&path);
    assert (s_count (db, "PRAGMA synchronous") == 1); //  NORMAL
    assert (mk_db_migrate (db, NULL) == 0);
    assert (s_count (db, "SELECT count(*) FROM hosts") == 3);
    assert (s_count (db, "SELECT count(*) FROM hosts WHERE name = 'node-3'") == 1);
    //  The id of a deleted row is never given again.
    assert (mk_db_exec (db, "DELETE FROM hosts WHERE name = 'node-3'") == 0);
    assert (mk_db_changes (db) == 1);
    s_insert_host (db, "node-4", MK_DB_DONE);
    assert (mk_db_last_insert_id (db) > 3);
    mk_db_destroy (&db);
    zstr_free (&url);
}

//  The WAL is checkpointed in the background: the database file grows while the
//  connection stays open, without a commit doing the copying.
static void
s_test_sqlite_checkpoint (const char *dir, bool verbose)
{
    char *error = NULL;
    char *url = s_url (dir, "checkpoint.db", NULL);
    mk_db_t *db = mk_db_open (url, &error);
    assert (db && mk_db_migrate (db, NULL) == 0);
    char *dbfile = zsys_sprintf ("%s/checkpoint.db", dir);
    struct stat before;
    assert (stat (dbfile, &before) == 0);
    char payload[4000];
    memset (payload, 'x', sizeof payload);
    assert (mk_db_begin (db) == 0);
    for (int i = 0; i < 1500; i++) {
        mk_stmt_t *insert =
            mk_db_prepare (db, "INSERT INTO requests (id, reply, created) VALUES (?, ?, 0)");
        char id[32];
        snprintf (id, sizeof id, "r-%d", i);
        mk_stmt_bind_text (insert, 1, id);
        mk_stmt_bind_blob (insert, 2, payload, sizeof payload);
        assert (mk_stmt_step (insert) == MK_DB_DONE);
    }
    assert (mk_db_commit (db) == 0);
    struct stat after = before;
    for (int i = 0; i < 100 && after.st_size < before.st_size + 4000000; i++) {
        zclock_sleep (20);
        assert (stat (dbfile, &after) == 0);
    }
    if (verbose)
        printf (" * checkpoint: %lld -> %lld bytes\n", (long long) before.st_size,
                (long long) after.st_size);
    assert (after.st_size >= before.st_size + 4000000);
    zstr_free (&dbfile);
    mk_db_destroy (&db);
    zstr_free (&url);
}

//  A failed migration leaves nothing behind.
static void
s_test_sqlite_failed_migration (const char *dir, bool verbose)
{
    char *error = NULL;
    char *url = s_url (dir, "clash.db", "?synchronous=off");
    mk_db_t *db = mk_db_open (url, &error);
    assert (db);
    assert (mk_db_exec (db, "CREATE TABLE tasks (x INT)") == 0);
    assert (mk_db_migrate (db, &error) == -1);
    assert (error);
    if (verbose)
        printf (" * clash: %s\n", error);
    assert (strstr (error, "db: migration to schema version 1 failed: "));
    assert (strstr (error, "tasks"));
    assert (streq (mk_db_error (db), error));
    zstr_free (&error);
    assert (mk_db_schema_version (db) == 0);
    assert (s_count (db, "SELECT count(*) FROM sqlite_master WHERE name IN ('meta', 'hosts')")
            == 0);
    mk_db_destroy (&db);
    zstr_free (&url);
}

//  A database from a newer program is refused, as is a bad schema version.
static void
s_test_sqlite_newer (const char *dir, bool verbose)
{
    int latest = mk_db_latest_version ();
    char *error = NULL;
    char *url = s_url (dir, "newer.db", NULL);
    mk_db_t *db = mk_db_open (url, &error);
    assert (db && mk_db_migrate (db, &error) == 0);
    assert (mk_db_exec (db, "UPDATE meta SET value = '99' WHERE name = 'schema_version'") == 0);
    mk_db_destroy (&db);
    db = mk_db_open (url, &error);
    assert (db);
    assert (mk_db_schema_version (db) == 99);
    assert (mk_db_migrate (db, &error) == -1);
    char *want = zsys_sprintf (
        "db: schema version 99 is newer than this program's %d; upgrade Maekin", latest);
    assert (error && streq (error, want));
    assert (streq (mk_db_error (db), want));
    zstr_free (&error);
    zstr_free (&want);
    assert (mk_db_migrate (db, NULL) == -1); //  logged instead
    assert (mk_db_exec (db, "UPDATE meta SET value = 'x1' WHERE name = 'schema_version'") == 0);
    assert (mk_db_schema_version (db) == -1);
    assert (strstr (mk_db_error (db), "bad schema version 'x1'"));
    mk_db_destroy (&db);
    zstr_free (&url);
}

//  A database in memory, for tests that need no file.
static void
s_test_sqlite_memory (void)
{
    int latest = mk_db_latest_version ();
    char *error = NULL;
    mk_db_t *db = mk_db_open ("sqlite::memory:", &error);
    assert (db && !error);
    assert (mk_db_migrate (db, &error) == 0);
    assert (mk_db_schema_version (db) == latest);
    mk_db_destroy (&db);
}

//  URLs that cannot work fail with a message and no file left behind.
static void
s_test_sqlite_bad_urls (const char *dir, bool verbose)
{
    s_assert_open_fails ("foo:bar",
                         "db: unsupported database 'foo:' (this build supports sqlite:, mysql:)",
                         true, verbose);
    s_assert_open_fails ("postgres://maekin:secret@db1/maekin", "unsupported database 'postgres:'",
                         false, verbose);
    char *error = NULL;
    assert (mk_db_open ("postgres://maekin:secret@db1/maekin", &error) == NULL);
    assert (!strstr (error, "secret"));
    zstr_free (&error);
    assert (mk_db_open ("foo:bar", NULL) == NULL); //  logged instead
    s_assert_open_fails ("", "db: no database given", false, verbose);
    assert (mk_db_open (NULL, &error) == NULL && error);
    zstr_free (&error);
    s_assert_open_fails ("sqlite:", "no SQLite file given", false, verbose);
    char *url = s_url (dir, "never.db", "?synchronous=fast");
    s_assert_open_fails (url, "bad synchronous 'fast'", false, verbose);
    zstr_free (&url);
    url = s_url (dir, "never.db", "?cache=big");
    s_assert_open_fails (url, "db: unknown option 'cache' for a sqlite database", true, verbose);
    zstr_free (&url);
    url = s_url (dir, "never.db", "?synchronous");
    s_assert_open_fails (url, "bad option 'synchronous'", false, verbose);
    zstr_free (&url);
    url = s_url (dir, "never.db", "?synchronous=off&synchronous=full");
    s_assert_open_fails (url, "given twice", false, verbose);
    zstr_free (&url);
    char *path = zsys_sprintf ("%s/never.db", dir);
    assert (!zsys_file_exists (path));
    zstr_free (&path);
}

//  Files that cannot be opened say what to check.
static void
s_test_sqlite_bad_files (const char *dir, bool verbose)
{
    char *path = zsys_sprintf ("%s/missing/maekin.db", dir);
    char *want = zsys_sprintf (
        "db: cannot open '%s': unable to open database file (does the directory exist?)", path);
    s_assert_open_fails (path, want, true, verbose);
    zstr_free (&want);
    zstr_free (&path);
    char *url = zsys_sprintf ("sqlite:%s", dir);
    s_assert_open_fails (url, "(it is a directory)", false, verbose);
    zstr_free (&url);
    path = zsys_sprintf ("%s/notes.txt", dir);
    FILE *file = fopen (path, "w");
    assert (file);
    for (int i = 0; i < 100; i++)
        fprintf (file, "This is not a database, line %d.\n", i);
    fclose (file);
    s_assert_open_fails (path, "file is not a database", false, verbose);
    zstr_free (&path);
}

void
mk_db_test (bool verbose)
{
    s_test_schema ();
    char *dir = mk_testdir_new ("mk_db_test");
    s_test_sqlite (dir, verbose);
    s_test_sqlite_checkpoint (dir, verbose);
    s_test_sqlite_failed_migration (dir, verbose);
    s_test_sqlite_newer (dir, verbose);
    s_test_sqlite_memory ();
    s_test_sqlite_bad_urls (dir, verbose);
    s_test_sqlite_bad_files (dir, verbose);

    char *gone = strdup (dir);
    mk_testdir_remove (&dir);
    assert (!zsys_file_exists (gone));
    free (gone);

    //  The same checks on a MySQL or MariaDB server, when the tests were given one.
    const char *mysql = getenv ("MK_TEST_MYSQL_URL");
    if (mysql && *mysql)
        s_test_mysql (mysql, verbose);
    else
        printf ("mk_db_test: MK_TEST_MYSQL_URL is not set; the MySQL backend is not tested\n");
}

/*  mk_db_sqlite: the SQLite backend of mk_db. The connection is a sqlite3 * and a
    statement a sqlite3_stmt *; mk_db_test exercises it. */
#include "maekin.h"
#include "mk_db_driver.h"

#include <assert.h>
#include <errno.h>
#include <libgen.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

//  How long a statement waits for another connection's lock before it fails.
#define BUSY_TIMEOUT_MSECS 5000

//  A hint for a file SQLite could not open, from what the file system says; "" if none.
static const char *
s_open_hint (const char *path, char *hint, size_t size)
{
    char *copy = strdup (path);
    assert (copy);
    const char *dir = dirname (copy);
    struct stat st;
    if (stat (path, &st) == 0 && S_ISDIR (st.st_mode))
        snprintf (hint, size, " (it is a directory)");
    else if (stat (dir, &st) != 0 && errno == ENOENT)
        snprintf (hint, size, " (does the directory exist?)");
    else if (stat (dir, &st) == 0 && !S_ISDIR (st.st_mode))
        snprintf (hint, size, " ('%s' is not a directory)", dir);
    else if (access (dir, W_OK | X_OK) != 0)
        snprintf (hint, size, " (can this user write to '%s'?)", dir);
    else
        snprintf (hint, size, "%s", "");
    free (copy);
    return hint;
}

//  Turn on WAL and read back the journal mode SQLite agreed to; NULL on error.
static char *
s_journal_wal (sqlite3 *conn)
{
    sqlite3_stmt *stmt = NULL;
    char *mode = NULL;
    if (sqlite3_prepare_v2 (conn, "PRAGMA journal_mode = WAL", -1, &stmt, NULL) != SQLITE_OK)
        return NULL;
    if (sqlite3_step (stmt) == SQLITE_ROW) {
        const unsigned char *text = sqlite3_column_text (stmt, 0);
        mode = strdup (text ? (const char *) text : "");
        assert (mode);
    }
    sqlite3_finalize (stmt);
    return mode;
}

static void *
s_open (const char *path, zhashx_t *options, char **error)
{
    const char *sync = "FULL";
    const char *value = (const char *) zhashx_lookup (options, "synchronous");
    if (value) {
        if (streq (value, "full"))
            sync = "FULL";
        else if (streq (value, "normal"))
            sync = "NORMAL";
        else if (streq (value, "off"))
            sync = "OFF";
        else {
            *error = zsys_sprintf (
                "db: bad synchronous '%s' for '%s' (use full, normal or off)", value, path);
            return NULL;
        }
    }
    if (*path == 0) {
        *error = zsys_sprintf ("db: no SQLite file given (use sqlite:PATH)");
        return NULL;
    }
    sqlite3 *conn = NULL;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2 (path, &conn, flags, NULL) != SQLITE_OK) {
        char hint[300];
        *error = zsys_sprintf ("db: cannot open '%s': %s%s", path,
                               conn ? sqlite3_errmsg (conn) : "out of memory",
                               s_open_hint (path, hint, sizeof hint));
        sqlite3_close (conn);
        return NULL;
    }
    sqlite3_extended_result_codes (conn, 1);
    sqlite3_busy_timeout (conn, BUSY_TIMEOUT_MSECS);

    //  The journal mode is the first thing that reads the file, so a file that is not a
    //  database fails here.
    char *mode = s_journal_wal (conn);
    if (!mode) {
        char hint[300];
        *error = zsys_sprintf ("db: cannot open '%s': %s%s", path, sqlite3_errmsg (conn),
                               s_open_hint (path, hint, sizeof hint));
        sqlite3_close (conn);
        return NULL;
    }
    if (!streq (mode, "wal") && !streq (path, ":memory:"))
        mk_warn ("db: '%s' stays in journal mode '%s': the file system refused WAL", path,
                 mode);
    free (mode);

    char pragmas[100];
    snprintf (pragmas, sizeof pragmas, "PRAGMA synchronous = %s; PRAGMA foreign_keys = ON",
              sync);
    if (sqlite3_exec (conn, pragmas, NULL, NULL, NULL) != SQLITE_OK) {
        *error = zsys_sprintf ("db: cannot set up '%s': %s", path, sqlite3_errmsg (conn));
        sqlite3_close (conn);
        return NULL;
    }
    return conn;
}

static void
s_close (void *conn)
{
    //  Every statement is finalized by now; one left over is a bug in mk_db.c.
    int rc = sqlite3_close ((sqlite3 *) conn);
    assert (rc == SQLITE_OK);
    (void) rc;
}

static const char *
s_errmsg (void *conn)
{
    return sqlite3_errmsg ((sqlite3 *) conn);
}

static int
s_exec (void *conn, const char *sql)
{
    return sqlite3_exec ((sqlite3 *) conn, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

static bool
s_in_transaction (void *conn)
{
    return sqlite3_get_autocommit ((sqlite3 *) conn) == 0;
}

static int64_t
s_last_insert_id (void *conn)
{
    return sqlite3_last_insert_rowid ((sqlite3 *) conn);
}

static int
s_changes (void *conn)
{
    return sqlite3_changes ((sqlite3 *) conn);
}

static void *
s_prepare (void *conn, const char *sql)
{
    sqlite3_stmt *stmt = NULL;
    const char *tail = NULL;
    //  Cached statements live as long as the connection: tell SQLite so.
    if (sqlite3_prepare_v3 ((sqlite3 *) conn, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt,
                            &tail)
        != SQLITE_OK)
        return NULL;
    //  SQLite would silently ignore all but the first statement; the SQL is ours, so
    //  more than one, or none, is a bug.
    assert (stmt);
    if (*tail) {
        sqlite3_stmt *next = NULL;
        int rc = sqlite3_prepare_v2 ((sqlite3 *) conn, tail, -1, &next, NULL);
        bool more = rc != SQLITE_OK || next != NULL;
        sqlite3_finalize (next);
        assert (!more);
        (void) more;
    }
    return stmt;
}

static void
s_finalize (void *stmt)
{
    sqlite3_finalize ((sqlite3_stmt *) stmt);
}

static int
s_bind_int (void *stmt, int index, int64_t value)
{
    return sqlite3_bind_int64 ((sqlite3_stmt *) stmt, index, value) == SQLITE_OK ? 0 : -1;
}

static int
s_bind_text (void *stmt, int index, const char *value)
{
    int rc = value ? sqlite3_bind_text ((sqlite3_stmt *) stmt, index, value, -1,
                                        SQLITE_TRANSIENT)
                   : sqlite3_bind_null ((sqlite3_stmt *) stmt, index);
    return rc == SQLITE_OK ? 0 : -1;
}

static int
s_bind_blob (void *stmt, int index, const void *data, size_t size)
{
    assert (data || size == 0);
    //  sqlite3_bind_blob binds NULL for a NULL pointer; an empty blob is not NULL.
    int rc = size == 0 ? sqlite3_bind_zeroblob ((sqlite3_stmt *) stmt, index, 0)
                       : sqlite3_bind_blob64 ((sqlite3_stmt *) stmt, index, data,
                                              (sqlite3_uint64) size, SQLITE_TRANSIENT);
    return rc == SQLITE_OK ? 0 : -1;
}

static int
s_step (void *stmt)
{
    int rc = sqlite3_step ((sqlite3_stmt *) stmt);
    switch (rc) {
    case SQLITE_ROW:
        return MK_DB_ROW;
    case SQLITE_DONE:
        return MK_DB_DONE;
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
    case SQLITE_CONSTRAINT_ROWID:
        return MK_DB_CONSTRAINT;
    default:
        return MK_DB_ERROR;
    }
}

//  Reading a column that is not there (no row, or past the last) is a bug.
static void
s_check_column (sqlite3_stmt *stmt, int column)
{
    assert (column >= 0 && column < sqlite3_data_count (stmt));
    (void) stmt;
    (void) column;
}

static int64_t
s_column_int (void *stmt, int column)
{
    s_check_column ((sqlite3_stmt *) stmt, column);
    return sqlite3_column_int64 ((sqlite3_stmt *) stmt, column);
}

static const char *
s_column_text (void *stmt, int column)
{
    s_check_column ((sqlite3_stmt *) stmt, column);
    const unsigned char *text = sqlite3_column_text ((sqlite3_stmt *) stmt, column);
    return text ? (const char *) text : "";
}

static const void *
s_column_blob (void *stmt, int column, size_t *size)
{
    s_check_column ((sqlite3_stmt *) stmt, column);
    //  In this order: asking the size first could convert the value under the pointer.
    const void *data = sqlite3_column_blob ((sqlite3_stmt *) stmt, column);
    *size = (size_t) sqlite3_column_bytes ((sqlite3_stmt *) stmt, column);
    return data ? data : "";
}

static void
s_reset (void *stmt)
{
    sqlite3_reset ((sqlite3_stmt *) stmt);
    sqlite3_clear_bindings ((sqlite3_stmt *) stmt);
}

static const char *const s_options[] = {"synchronous", NULL};

const mk_db_driver_t mk_db_sqlite_driver = {
    .name = "sqlite",
    .dialect = MK_DB_SQLITE,
    //  IMMEDIATE takes the write lock now: a deferred transaction that reads and then
    //  writes can fail with "database is locked" that no busy timeout waits out.
    .begin_sql = "BEGIN IMMEDIATE",
    .has_table_sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
    .options = s_options,
    .open = s_open,
    .close = s_close,
    .errmsg = s_errmsg,
    .exec = s_exec,
    .in_transaction = s_in_transaction,
    .last_insert_id = s_last_insert_id,
    .changes = s_changes,
    .prepare = s_prepare,
    .finalize = s_finalize,
    .bind_int = s_bind_int,
    .bind_text = s_bind_text,
    .bind_blob = s_bind_blob,
    .step = s_step,
    .column_int = s_column_int,
    .column_text = s_column_text,
    .column_blob = s_column_blob,
    .reset = s_reset,
};

/*  mk_db_sqlite: the SQLite backend of mk_db. The connection is a sqlite3 * and a
    statement a sqlite3_stmt *; mk_db_test exercises it. */
#include "maekin.h"
#include "mk_db_driver.h"

#include <assert.h>
#include <errno.h>
#include <libgen.h>
#include <pthread.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

//  How long a statement waits for another connection's lock before it fails.
#define BUSY_TIMEOUT_MSECS 5000
//  The checkpointer wakes this often, or when the WAL has grown by this many pages.
#define CHECKPOINT_MSECS 1000
#define CHECKPOINT_PAGES 4000

//  A connection, and the thread that checkpoints its WAL. SQLite would checkpoint in
//  the commit that crosses its threshold, copying pages and syncing the database file
//  while the controller's batch waits; a passive checkpoint from a second connection
//  does the same work beside the writer instead of in its way.
typedef struct {
    sqlite3 *db;           //  the connection mk_db uses
    sqlite3 *checkpointer; //  the thread's own connection; NULL without WAL
    pthread_t thread;      //  runs s_checkpoint_loop
    pthread_mutex_t lock;  //  guards stop and wakes the thread
    pthread_cond_t wake;
    bool stop; //  destroy asked the thread to end
} conn_t;

#define DB(conn) (((conn_t *) (conn))->db)

static char *s_journal_wal (sqlite3 *conn);

static void *
s_checkpoint_loop (void *arg)
{
    conn_t *self = (conn_t *) arg;
    pthread_mutex_lock (&self->lock);
    while (!self->stop) {
        struct timespec until;
        clock_gettime (CLOCK_REALTIME, &until);
        until.tv_nsec += CHECKPOINT_MSECS * 1000000L;
        until.tv_sec += until.tv_nsec / 1000000000L;
        until.tv_nsec %= 1000000000L;
        pthread_cond_timedwait (&self->wake, &self->lock, &until);
        if (self->stop)
            break;
        pthread_mutex_unlock (&self->lock);
        int frames = 0, done = 0;
        //  Passive: never waits for the writer, never blocks it; what it cannot copy now
        //  it copies next time.
        sqlite3_wal_checkpoint_v2 (self->checkpointer, NULL, SQLITE_CHECKPOINT_PASSIVE, &frames,
                                   &done);
        pthread_mutex_lock (&self->lock);
    }
    pthread_mutex_unlock (&self->lock);
    return NULL;
}

//  Called by SQLite after each commit with the WAL's size: wake the checkpointer early
//  when the WAL grows fast. Replaces SQLite's own automatic checkpoint.
static int
s_wal_hook (void *arg, sqlite3 *db, const char *name, int pages)
{
    conn_t *self = (conn_t *) arg;
    if (pages >= CHECKPOINT_PAGES) {
        pthread_mutex_lock (&self->lock);
        pthread_cond_signal (&self->wake);
        pthread_mutex_unlock (&self->lock);
    }
    return SQLITE_OK;
}

//  Starts the checkpointer for a file database in WAL mode; 0, or -1 (logged, and the
//  connection then checkpoints by itself as SQLite does by default).
static int
s_checkpointer_start (conn_t *self, const char *path)
{
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
    //  A new connection knows the file is in WAL mode only once it has read it.
    char *mode = NULL;
    if (sqlite3_open_v2 (path, &self->checkpointer, flags, NULL) != SQLITE_OK
        || !(mode = s_journal_wal (self->checkpointer)) || !streq (mode, "wal")) {
        free (mode);
        mk_warn ("db: no background checkpoints for '%s': %s", path,
                 self->checkpointer ? sqlite3_errmsg (self->checkpointer) : "out of memory");
        sqlite3_close (self->checkpointer);
        self->checkpointer = NULL;
        return -1;
    }
    free (mode);
    pthread_mutex_init (&self->lock, NULL);
    pthread_cond_init (&self->wake, NULL);
    if (pthread_create (&self->thread, NULL, s_checkpoint_loop, self) != 0) {
        sqlite3_close (self->checkpointer);
        self->checkpointer = NULL;
        pthread_mutex_destroy (&self->lock);
        pthread_cond_destroy (&self->wake);
        return -1;
    }
    sqlite3_wal_hook (self->db, s_wal_hook, self);
    return 0;
}

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
            *error = zsys_sprintf ("db: bad synchronous '%s' for '%s' (use full, normal or off)",
                                   value, path);
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
        mk_warn ("db: '%s' stays in journal mode '%s': the file system refused WAL", path, mode);

    bool wal = streq (mode, "wal");
    free (mode);

    char pragmas[100];
    snprintf (pragmas, sizeof pragmas, "PRAGMA synchronous = %s; PRAGMA foreign_keys = ON", sync);
    if (sqlite3_exec (conn, pragmas, NULL, NULL, NULL) != SQLITE_OK) {
        *error = zsys_sprintf ("db: cannot set up '%s': %s", path, sqlite3_errmsg (conn));
        sqlite3_close (conn);
        return NULL;
    }
    conn_t *self = (conn_t *) zmalloc (sizeof (conn_t));
    self->db = conn;
    if (wal)
        s_checkpointer_start (self, path);
    return self;
}

static void
s_close (void *conn)
{
    conn_t *self = (conn_t *) conn;
    if (self->checkpointer) {
        pthread_mutex_lock (&self->lock);
        self->stop = true;
        pthread_cond_signal (&self->wake);
        pthread_mutex_unlock (&self->lock);
        pthread_join (self->thread, NULL);
        sqlite3_close (self->checkpointer);
        pthread_mutex_destroy (&self->lock);
        pthread_cond_destroy (&self->wake);
    }
    //  Every statement is finalized by now; one left over is a bug in mk_db.c.
    int rc = sqlite3_close (self->db);
    assert (rc == SQLITE_OK);
    (void) rc;
    free (self);
}

static const char *
s_errmsg (void *conn)
{
    return sqlite3_errmsg (DB (conn));
}

static int
s_exec (void *conn, const char *sql)
{
    return sqlite3_exec (DB (conn), sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

static bool
s_in_transaction (void *conn)
{
    return sqlite3_get_autocommit (DB (conn)) == 0;
}

static int64_t
s_last_insert_id (void *conn)
{
    return sqlite3_last_insert_rowid (DB (conn));
}

static int
s_changes (void *conn)
{
    return sqlite3_changes (DB (conn));
}

static void *
s_prepare (void *conn, const char *sql)
{
    sqlite3_stmt *stmt = NULL;
    const char *tail = NULL;
    //  Cached statements live as long as the connection: tell SQLite so.
    if (sqlite3_prepare_v3 (DB (conn), sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, &tail)
        != SQLITE_OK)
        return NULL;
    //  SQLite would silently ignore all but the first statement; the SQL is ours, so
    //  more than one, or none, is a bug.
    assert (stmt);
    if (*tail) {
        sqlite3_stmt *next = NULL;
        int rc = sqlite3_prepare_v2 (DB (conn), tail, -1, &next, NULL);
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
    int rc = value ? sqlite3_bind_text ((sqlite3_stmt *) stmt, index, value, -1, SQLITE_TRANSIENT)
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
    //  Deferred: the snapshot is the one its first read sees, kept to the end.
    .snapshot_sql = "BEGIN DEFERRED",
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

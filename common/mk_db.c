/*  mk_db: the database API over its backend drivers, the statement cache and the
    migration runner. */
#include "maekin.h"
#include "mk_db_driver.h"
#include "mk_str.h"
#include "mk_testdir.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <sys/stat.h>

//  The most statements with rows queued at once (mk_stmt_queue).
#define QUEUED_MAX 16

struct _mk_db_t {
    const mk_db_driver_t *driver;  //  the backend's functions
    void *conn;                    //  the backend's connection
    zhashx_t *stmts;               //  SQL text -> mk_stmt_t, each prepared once
    char *error;                   //  the last error's text, "" if none yet
    mk_stmt_t *queued[QUEUED_MAX]; //  statements with rows queued, in order
    size_t nqueued;                //  how many
    char *poison;                  //  why queued rows of the open transaction failed, or NULL
};

struct _mk_stmt_t {
    mk_db_t *db;    //  the database that prepared and caches it
    void *handle;   //  the backend's statement
    char *sql;      //  its text, for messages
    char table[64]; //  the table an INSERT, UPDATE or DELETE writes, else ""
    int kind;       //  0 INSERT, 1 UPDATE, 2 DELETE: the order queued rows run in
    size_t rows;    //  rows queued
};

//  The backends this build has; the first also opens a URL without a scheme.
static const mk_db_driver_t *const s_drivers[] = {&mk_db_sqlite_driver, &mk_db_mysql_driver};
#define DRIVERS (sizeof s_drivers / sizeof s_drivers[0])

#define SCHEMA_VERSION_SQL "SELECT value FROM meta WHERE name = 'schema_version'"
#define UPDATE_VERSION_SQL "UPDATE meta SET value = ? WHERE name = 'schema_version'"
#define INSERT_VERSION_SQL "INSERT INTO meta (name, value) VALUES ('schema_version', ?)"

static void
s_set_error (mk_db_t *self, const char *text)
{
    char *copy = strdup (text);
    assert (copy);
    free (self->error);
    self->error = copy;
}

//  Record a failure of mk_db_open or mk_db_migrate, and hand it to the caller in *error,
//  or log it when the caller gave no error. Returns -1.
static int
s_fail (mk_db_t *self, char **error, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    char *message = zsys_vprintf (format, args);
    va_end (args);
    assert (message);
    if (self)
        s_set_error (self, message);
    if (error)
        *error = message;
    else {
        mk_error ("%s", message);
        free (message);
    }
    return -1;
}

//  The length of the URL's scheme ("sqlite" in "sqlite:x.db"), 0 if it has none.
static size_t
s_scheme_length (const char *url)
{
    if (!isalpha ((unsigned char) url[0]))
        return 0;
    size_t length = 1;
    while (isalnum ((unsigned char) url[length]) || url[length] == '+' || url[length] == '-'
           || url[length] == '.')
        length++;
    return url[length] == ':' ? length : 0;
}

static bool
s_known_option (const mk_db_driver_t *driver, const char *name)
{
    for (const char *const *option = driver->options; option && *option; option++)
        if (streq (*option, name))
            return true;
    return false;
}

//  The options of a URL's query ("a=1&b=2") as name -> value, every name one the driver
//  knows. NULL with *error set if one is malformed, unknown or given twice.
static zhashx_t *
s_options_new (const char *query, const mk_db_driver_t *driver, char **error)
{
    zhashx_t *options = zhashx_new ();
    assert (options);
    zhashx_set_duplicator (options, (zhashx_duplicator_fn *) strdup);
    zhashx_set_destructor (options, (zhashx_destructor_fn *) zstr_free);
    char *copy = strdup (query ? query : "");
    assert (copy);
    char *saved = NULL;
    for (char *item = strtok_r (copy, "&", &saved); item; item = strtok_r (NULL, "&", &saved)) {
        char *equals = strchr (item, '=');
        if (!equals || equals == item) {
            s_fail (NULL, error, "db: bad option '%s' in the database URL (use name=value)", item);
            break;
        }
        *equals = 0;
        if (!s_known_option (driver, item)) {
            s_fail (NULL, error, "db: unknown option '%s' for a %s database", item, driver->name);
            break;
        }
        if (zhashx_insert (options, item, equals + 1) != 0) {
            s_fail (NULL, error, "db: option '%s' given twice in the database URL", item);
            break;
        }
    }
    free (copy);
    if (*error)
        zhashx_destroy (&options);
    return options;
}

static void
s_stmt_destroy (mk_stmt_t **self_p)
{
    mk_stmt_t *self = *self_p;
    if (self) {
        self->db->driver->finalize (self->handle);
        free (self->sql);
        free (self);
        *self_p = NULL;
    }
}

void
mk_db_library_init (void)
{
    mk_db_mysql_library_init ();
}

mk_db_t *
mk_db_open (const char *url, char **error)
{
    char *message = NULL;
    if (error)
        *error = NULL;
    if (!url || !*url) {
        s_fail (NULL, error, "db: no database given (use sqlite:PATH)");
        return NULL;
    }
    const mk_db_driver_t *driver = s_drivers[0];
    const char *location = url;
    size_t scheme = s_scheme_length (url);
    if (scheme) {
        driver = NULL;
        for (size_t i = 0; i < DRIVERS && !driver; i++)
            if (strlen (s_drivers[i]->name) == scheme
                && strncmp (s_drivers[i]->name, url, scheme) == 0)
                driver = s_drivers[i];
        //  Only the scheme is quoted: the rest of a URL may hold a password.
        if (!driver) {
            char known[100] = "";
            for (size_t i = 0; i < DRIVERS; i++)
                snprintf (known + strlen (known), sizeof known - strlen (known),
                          "%s%s:", i ? ", " : "", s_drivers[i]->name);
            s_fail (NULL, error, "db: unsupported database '%.*s:' (this build supports %s)",
                    (int) scheme, url, known);
            return NULL;
        }
        location = url + scheme + 1;
    }
    char *path = strdup (location);
    assert (path);
    char *query = strchr (path, '?');
    if (query)
        *query++ = 0;
    zhashx_t *options = s_options_new (query, driver, &message);
    void *conn = options ? driver->open (path, options, &message) : NULL;
    zhashx_destroy (&options);
    free (path);
    if (!conn) {
        assert (message);
        s_fail (NULL, error, "%s", message);
        free (message);
        return NULL;
    }
    mk_db_t *self = (mk_db_t *) zmalloc (sizeof (mk_db_t));
    assert (self);
    self->driver = driver;
    self->conn = conn;
    self->stmts = zhashx_new ();
    assert (self->stmts);
    zhashx_set_destructor (self->stmts, (zhashx_destructor_fn *) s_stmt_destroy);
    s_set_error (self, "");
    return self;
}

static void s_discard (mk_db_t *self);

void
mk_db_destroy (mk_db_t **self_p)
{
    assert (self_p);
    mk_db_t *self = *self_p;
    if (self) {
        s_discard (self);
        zstr_free (&self->poison);
        zhashx_destroy (&self->stmts);
        self->driver->close (self->conn);
        free (self->error);
        free (self);
        *self_p = NULL;
    }
}

const char *
mk_db_backend (mk_db_t *self)
{
    assert (self);
    return self->driver->name;
}

const char *
mk_db_error (mk_db_t *self)
{
    assert (self);
    return self->error;
}

int64_t
mk_db_last_insert_id (mk_db_t *self)
{
    assert (self);
    return self->driver->last_insert_id (self->conn);
}

int
mk_db_changes (mk_db_t *self)
{
    assert (self);
    return self->driver->changes (self->conn);
}

//  Drop every queued row.
static void
s_discard (mk_db_t *self)
{
    for (size_t i = 0; i < self->nqueued; i++) {
        self->driver->discard (self->queued[i]->handle);
        self->queued[i]->rows = 0;
    }
    self->nqueued = 0;
}

//  Run the queued rows, statement after statement: the inserts, then the updates, then
//  the deletes, each in the order first queued. MK_DB_DONE, or the first failure's code
//  (logged, with the cause recorded) after dropping the rest.
static int
s_flush (mk_db_t *self)
{
    //  A stable sort by kind (few statements: an insertion sort).
    for (size_t i = 1; i < self->nqueued; i++)
        for (size_t j = i; j > 0 && self->queued[j - 1]->kind > self->queued[j]->kind; j--) {
            mk_stmt_t *swap = self->queued[j];
            self->queued[j] = self->queued[j - 1];
            self->queued[j - 1] = swap;
        }
    int rc = MK_DB_DONE;
    size_t i = 0;
    for (; rc == MK_DB_DONE && i < self->nqueued; i++) {
        mk_stmt_t *stmt = self->queued[i];
        rc = self->driver->flush (stmt->handle);
        if (rc != MK_DB_DONE) {
            s_set_error (self, self->driver->errmsg (self->conn));
            //  Rows the transaction's caller was told were written are not: it must not
            //  commit (whatever step or exec ran them first failed too, but may have been
            //  some other caller's).
            if (!self->poison && self->driver->in_transaction (self->conn))
                self->poison = mk_strdup (self->error);
            if (rc == MK_DB_CONSTRAINT)
                mk_debug ("db: '%s' (%zu rows) refused: %s", stmt->sql, stmt->rows, self->error);
            else
                mk_error ("db: '%s' (%zu rows) failed: %s", stmt->sql, stmt->rows, self->error);
        }
        stmt->rows = 0;
    }
    for (; i < self->nqueued; i++) {
        self->driver->discard (self->queued[i]->handle);
        self->queued[i]->rows = 0;
    }
    self->nqueued = 0;
    return rc;
}

//  The quiet versions of exec, prepare and step record the cause and leave the telling
//  to their caller: the public function logs it, mk_db_migrate returns it. Each runs the
//  queued rows first (a rollback drops them).
static int
s_exec (mk_db_t *self, const char *sql)
{
    bool ending = streq (sql, "ROLLBACK") || streq (sql, self->driver->begin_sql)
                  || streq (sql, self->driver->snapshot_sql);
    if (streq (sql, "ROLLBACK"))
        s_discard (self);
    else if (self->nqueued && s_flush (self) != MK_DB_DONE)
        return -1;
    if (self->poison && streq (sql, "COMMIT")) {
        char *cause = zsys_sprintf ("rows queued in this transaction failed (%s); roll it back",
                                    self->poison);
        s_set_error (self, cause);
        free (cause);
        return -1;
    }
    if (ending)
        zstr_free (&self->poison);
    if (self->driver->exec (self->conn, sql) == 0)
        return 0;
    s_set_error (self, self->driver->errmsg (self->conn));
    return -1;
}

//  The table a statement that writes one table names ("INSERT INTO t", "UPDATE t",
//  "DELETE FROM t"), into table ("" for any other), and which of the three it is.
static void
s_written_table (const char *sql, char *table, size_t size, int *kind)
{
    //  An insert that ignores a row whose key is there already is still an insert:
    //  SQLite says "OR IGNORE", MySQL "IGNORE".
    static const struct {
        const char *verb;
        int kind;
    } verbs[] = {{"INSERT INTO ", 0},
                 {"INSERT OR IGNORE INTO ", 0},
                 {"INSERT IGNORE INTO ", 0},
                 {"UPDATE ", 1},
                 {"DELETE FROM ", 2}};
    *table = 0;
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++) {
        size_t length = strlen (verbs[i].verb);
        if (strncasecmp (sql, verbs[i].verb, length) == 0) {
            const char *name = sql + length;
            size_t n = strspn (name, "abcdefghijklmnopqrstuvwxyz"
                                     "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
            if (n < size)
                snprintf (table, size, "%.*s", (int) n, name);
            *kind = verbs[i].kind;
        }
    }
}

static mk_stmt_t *
s_prepare (mk_db_t *self, const char *sql)
{
    mk_stmt_t *stmt = (mk_stmt_t *) zhashx_lookup (self->stmts, sql);
    if (stmt) {
        self->driver->reset (stmt->handle);
        return stmt;
    }
    void *handle = self->driver->prepare (self->conn, sql);
    if (!handle) {
        s_set_error (self, self->driver->errmsg (self->conn));
        return NULL;
    }
    stmt = (mk_stmt_t *) zmalloc (sizeof (mk_stmt_t));
    assert (stmt);
    stmt->db = self;
    stmt->handle = handle;
    stmt->sql = strdup (sql);
    assert (stmt->sql);
    s_written_table (sql, stmt->table, sizeof stmt->table, &stmt->kind);
    zhashx_insert (self->stmts, sql, stmt);
    return stmt;
}

static int
s_step (mk_stmt_t *self)
{
    const mk_db_driver_t *driver = self->db->driver;
    if (self->db->nqueued) {
        int flushed = s_flush (self->db);
        if (flushed != MK_DB_DONE) {
            driver->reset (self->handle);
            return flushed;
        }
    }
    int rc = driver->step (self->handle);
    if (rc == MK_DB_ERROR || rc == MK_DB_CONSTRAINT) {
        s_set_error (self->db, driver->errmsg (self->db->conn));
        driver->reset (self->handle);
    }
    return rc;
}

int
mk_db_exec (mk_db_t *self, const char *sql)
{
    assert (self);
    assert (sql);
    if (s_exec (self, sql) == 0)
        return 0;
    mk_error ("db: '%s' failed: %s", sql, self->error);
    return -1;
}

int
mk_db_begin (mk_db_t *self)
{
    assert (self);
    if (s_exec (self, self->driver->begin_sql) == 0)
        return 0;
    mk_error ("db: cannot begin a transaction: %s", self->error);
    return -1;
}

int
mk_db_begin_snapshot (mk_db_t *self)
{
    assert (self);
    if (s_exec (self, self->driver->snapshot_sql) == 0)
        return 0;
    mk_error ("db: cannot begin a read transaction: %s", self->error);
    return -1;
}

int
mk_db_commit (mk_db_t *self)
{
    assert (self);
    if (s_exec (self, "COMMIT") == 0)
        return 0;
    mk_error ("db: cannot commit a transaction: %s", self->error);
    return -1;
}

int
mk_db_rollback (mk_db_t *self)
{
    assert (self);
    s_discard (self);
    if (!self->driver->in_transaction (self->conn) || s_exec (self, "ROLLBACK") == 0)
        return 0;
    mk_error ("db: cannot roll back a transaction: %s", self->error);
    return -1;
}

mk_stmt_t *
mk_db_prepare (mk_db_t *self, const char *sql)
{
    assert (self);
    assert (sql);
    mk_stmt_t *stmt = s_prepare (self, sql);
    if (!stmt)
        mk_error ("db: cannot prepare '%s': %s", sql, self->error);
    return stmt;
}

//  Log a failed bind. Returns -1.
static int
s_bind_failed (mk_stmt_t *self, int index)
{
    s_set_error (self->db, self->db->driver->errmsg (self->db->conn));
    mk_error ("db: cannot bind parameter %d of '%s': %s", index, self->sql, self->db->error);
    return -1;
}

int
mk_stmt_bind_int (mk_stmt_t *self, int index, int64_t value)
{
    assert (self);
    if (self->db->driver->bind_int (self->handle, index, value) == 0)
        return 0;
    return s_bind_failed (self, index);
}

int
mk_stmt_bind_text (mk_stmt_t *self, int index, const char *value)
{
    assert (self);
    if (self->db->driver->bind_text (self->handle, index, value) == 0)
        return 0;
    return s_bind_failed (self, index);
}

int
mk_stmt_bind_blob (mk_stmt_t *self, int index, const void *data, size_t size)
{
    assert (self);
    assert (data || size == 0);
    if (self->db->driver->bind_blob (self->handle, index, data, size) == 0)
        return 0;
    return s_bind_failed (self, index);
}

int
mk_stmt_step (mk_stmt_t *self)
{
    assert (self);
    int rc = s_step (self);
    if (rc == MK_DB_ERROR)
        mk_error ("db: '%s' failed: %s", self->sql, self->db->error);
    else if (rc == MK_DB_CONSTRAINT)
        mk_debug ("db: '%s' refused: %s", self->sql, self->db->error);
    return rc;
}

int64_t
mk_stmt_int (mk_stmt_t *self, int column)
{
    assert (self);
    return self->db->driver->column_int (self->handle, column);
}

const char *
mk_stmt_text (mk_stmt_t *self, int column)
{
    assert (self);
    return self->db->driver->column_text (self->handle, column);
}

const void *
mk_stmt_blob (mk_stmt_t *self, int column, size_t *size)
{
    assert (self);
    assert (size);
    return self->db->driver->column_blob (self->handle, column, size);
}

void
mk_stmt_reset (mk_stmt_t *self)
{
    assert (self);
    self->db->driver->reset (self->handle);
}

int
mk_stmt_queue (mk_stmt_t *self)
{
    assert (self);
    assert (*self->table); //  only a statement that writes one table
    mk_db_t *db = self->db;
    if (!db->driver->queue) {
        int rc = mk_stmt_step (self);
        return rc == MK_DB_DONE ? 0 : rc == MK_DB_ROW ? MK_DB_ERROR : rc;
    }
    if (!self->rows) {
        int rc = db->nqueued == QUEUED_MAX ? s_flush (db) : MK_DB_DONE;
        if (rc != MK_DB_DONE) {
            db->driver->reset (self->handle);
            return rc;
        }
        db->queued[db->nqueued++] = self;
    }
    if (db->driver->queue (self->handle) != 0) {
        s_set_error (db, db->driver->errmsg (db->conn));
        mk_error ("db: cannot queue a row of '%s': %s", self->sql, db->error);
        return MK_DB_ERROR;
    }
    self->rows++;
    return 0;
}

int
mk_db_flush (mk_db_t *self)
{
    assert (self);
    int rc = s_flush (self);
    return rc == MK_DB_DONE ? 0 : rc;
}

int
mk_db_latest_version (void)
{
    size_t count;
    const mk_db_migration_t *migrations = mk_db_schema (&count);
    return count ? migrations[count - 1].version : 0;
}

//  The schema version without logging: 0 if there is no meta table or no version in it,
//  -1 with the cause recorded on error.
static int
s_schema_version (mk_db_t *self)
{
    mk_stmt_t *stmt = s_prepare (self, self->driver->has_table_sql);
    if (!stmt || mk_stmt_bind_text (stmt, 1, "meta"))
        return -1;
    int rc = s_step (stmt);
    mk_stmt_reset (stmt);
    if (rc != MK_DB_ROW)
        return rc == MK_DB_DONE ? 0 : -1;

    stmt = s_prepare (self, SCHEMA_VERSION_SQL);
    if (!stmt)
        return -1;
    int version = 0;
    rc = s_step (stmt);
    if (rc == MK_DB_ROW) {
        const char *text = mk_stmt_text (stmt, 0);
        char *end = NULL;
        errno = 0;
        long value = strtol (text, &end, 10);
        if (end == text || *end || errno || value < 0 || value > INT_MAX) {
            char *cause = zsys_sprintf ("bad schema version '%s' in table meta", text);
            s_set_error (self, cause);
            free (cause);
            version = -1;
        } else
            version = (int) value;
    } else if (rc != MK_DB_DONE)
        version = -1;
    mk_stmt_reset (stmt);
    return version;
}

int
mk_db_schema_version (mk_db_t *self)
{
    assert (self);
    int version = s_schema_version (self);
    if (version < 0)
        mk_error ("db: cannot read the schema version: %s", self->error);
    return version;
}

//  Record the schema version in meta, inside the migration's transaction.
static int
s_set_version (mk_db_t *self, int version)
{
    char value[16];
    snprintf (value, sizeof value, "%d", version);
    mk_stmt_t *stmt = s_prepare (self, UPDATE_VERSION_SQL);
    if (!stmt || mk_stmt_bind_text (stmt, 1, value) || s_step (stmt) != MK_DB_DONE)
        return -1;
    if (mk_db_changes (self) > 0)
        return 0;
    stmt = s_prepare (self, INSERT_VERSION_SQL);
    if (!stmt || mk_stmt_bind_text (stmt, 1, value) || s_step (stmt) != MK_DB_DONE)
        return -1;
    return 0;
}

int
mk_db_migrate (mk_db_t *self, char **error)
{
    assert (self);
    if (error)
        *error = NULL;
    int latest = mk_db_latest_version ();
    int version = s_schema_version (self);
    if (version < 0)
        return s_fail (self, error, "db: cannot read the schema version: %s", self->error);
    if (version > latest)
        return s_fail (self, error,
                       "db: schema version %d is newer than this program's %d; upgrade Maekin",
                       version, latest);
    size_t count;
    const mk_db_migration_t *migrations = mk_db_schema (&count);
    for (size_t i = 0; i < count; i++) {
        const mk_db_migration_t *migration = &migrations[i];
        if (migration->version <= version)
            continue;
        if (s_exec (self, self->driver->begin_sql))
            return s_fail (self, error, "db: cannot start migration to schema version %d: %s",
                           migration->version, self->error);
        //  Another program may have migrated while this one waited for the write lock.
        version = s_schema_version (self);
        if (version >= migration->version) {
            s_exec (self, "ROLLBACK");
            continue;
        }
        if (version < 0 || s_exec (self, migration->sql[self->driver->dialect])
            || s_set_version (self, migration->version) || s_exec (self, "COMMIT")) {
            char *cause = strdup (self->error);
            assert (cause);
            if (self->driver->in_transaction (self->conn))
                s_exec (self, "ROLLBACK");
            s_fail (self, error, "db: migration to schema version %d failed: %s",
                    migration->version, cause);
            free (cause);
            return -1;
        }
        mk_info ("db: %s database migrated to schema version %d", self->driver->name,
                 migration->version);
        version = migration->version;
    }
    return 0;
}

/*  mk_db: the database API over its backend drivers, the statement cache and the
    migration runner. */
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

struct _mk_db_t {
    const mk_db_driver_t *driver; //  the backend's functions
    void *conn;                   //  the backend's connection
    zhashx_t *stmts;              //  SQL text -> mk_stmt_t, each prepared once
    char *error;                  //  the last error's text, "" if none yet
};

struct _mk_stmt_t {
    mk_db_t *db;  //  the database that prepared and caches it
    void *handle; //  the backend's statement
    char *sql;    //  its text, for messages
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
            s_fail (NULL, error, "db: bad option '%s' in the database URL (use name=value)",
                    item);
            break;
        }
        *equals = 0;
        if (!s_known_option (driver, item)) {
            s_fail (NULL, error, "db: unknown option '%s' for a %s database", item,
                    driver->name);
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
                snprintf (known + strlen (known), sizeof known - strlen (known), "%s%s:",
                          i ? ", " : "", s_drivers[i]->name);
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

void
mk_db_destroy (mk_db_t **self_p)
{
    assert (self_p);
    mk_db_t *self = *self_p;
    if (self) {
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

//  The quiet versions of exec, prepare and step record the cause and leave the telling
//  to their caller: the public function logs it, mk_db_migrate returns it.
static int
s_exec (mk_db_t *self, const char *sql)
{
    if (self->driver->exec (self->conn, sql) == 0)
        return 0;
    s_set_error (self, self->driver->errmsg (self->conn));
    return -1;
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
    zhashx_insert (self->stmts, sql, stmt);
    return stmt;
}

static int
s_step (mk_stmt_t *self)
{
    const mk_db_driver_t *driver = self->db->driver;
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

const char *
mk_db_url_userinfo_end (const char *url)
{
    const char *options = strchr (url, '?');
    size_t length = options ? (size_t) (options - url) : strlen (url);
    const char *at = NULL;
    for (const char *c = url; c < url + length; c++)
        if (*c == '@')
            at = c;
    return at;
}

char *
mk_db_url_safe (const char *url)
{
    const char *at = mk_db_url_userinfo_end (url);
    const char *scheme = strstr (url, "://");
    if (at && scheme && scheme < at)
        return zsys_sprintf ("%.*s://...@%s", (int) (scheme - url), url, at + 1);
    return strdup (url);
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
        }
        else
            version = (int) value;
    }
    else if (rc != MK_DB_DONE)
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

//  --------------------------------------------------------------------------
//  Self-test

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
    mk_stmt_t *stmt = mk_db_prepare (
        db, "INSERT INTO hosts (name, state, vcpus, memory_mb) VALUES (?, ?, ?, ?)");
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
        fprintf (stderr, "mk_db_test: open '%s' failed with '%s', not '%s'\n", url, error,
                 want);
    assert (matched);
    free (error);
}

//  The checks every backend passes, on a database just migrated, its tables empty.
static void
s_test_common (mk_db_t *db, bool verbose)
{
    bool mysql = streq (mk_db_backend (db), "mysql");

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

    //  An UPDATE that changes nothing still counts the rows it found, on every backend.
    assert (mk_db_exec (db, "UPDATE hosts SET state = 'up' WHERE name = 'node-1'") == 0);
    assert (mk_db_changes (db) == 1);
    stmt = mk_db_prepare (db, "UPDATE hosts SET vcpus = ? WHERE name = ?");
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

    //  Blobs round-trip, zero bytes and all; an empty blob is a blob, not NULL.
    uint8_t data[300];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t) (i * 7);
    assert (data[0] == 0 && memchr (data + 1, 0, sizeof data - 1));
    const char *put = "INSERT INTO requests (id, reply, created) VALUES (?, ?, ?)";
    stmt = mk_db_prepare (db, put);
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

    //  100 KB of text and of blob round-trip whole, after shorter values in the same
    //  statement.
    size_t big = 100 * 1024;
    char *text = (char *) malloc (big + 1);
    assert (text);
    for (size_t i = 0; i < big; i++)
        text[i] = (char) ('a' + i % 26);
    text[big] = 0;
    stmt = mk_db_prepare (db, "SELECT ?");
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
        blob = mk_stmt_blob (stmt, 1, &size);
        if (streq (mk_stmt_text (stmt, 0), "req-big"))
            assert (size == big && memcmp (blob, text, big) == 0);
        rows++;
    }
    assert (rows == 3);
    mk_stmt_reset (stmt);
    free (text);

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

//  The tables of the schema, for a test to start from an empty MySQL database.
#define MYSQL_DROP_ALL "DROP TABLE IF EXISTS meta, hosts, templates, vms, tasks, requests, events"

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

//  Kill db's connection from another one, as a server restart would end it.
static void
s_kill (mk_db_t *db, mk_db_t *killer)
{
    int64_t id = s_connection_id (db);
    char *sql = zsys_sprintf ("KILL CONNECTION %" PRId64, id);
    assert (mk_db_exec (killer, sql) == 0);
    zstr_free (&sql);
    //  KILL returns before the connection is gone: wait until the server has ended it,
    //  as a restart between two calls would have.
    sql = zsys_sprintf (
        "SELECT count(*) FROM information_schema.processlist WHERE id = %" PRId64, id);
    int waits = 0;
    while (s_count (killer, sql) > 0) {
        assert (++waits < 1000);
        zclock_sleep (1);
    }
    zstr_free (&sql);
}

//  The same checks on a MySQL or MariaDB server, and what only a server can do: refuse a
//  password, be unreachable, drop a connection.
static void
s_test_mysql (const char *url, bool verbose)
{
    int latest = mk_db_latest_version ();
    char *error = NULL;
    mk_db_t *db = mk_db_open (url, &error);
    if (!db)
        printf ("mk_db_test: cannot open MK_TEST_MYSQL_URL: %s\n", error);
    assert (db && !error);
    assert (streq (mk_db_backend (db), "mysql"));
    assert (mk_db_exec (db, MYSQL_DROP_ALL) == 0);
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
    assert (objects == 7);
    assert (mk_db_migrate (db, &error) == 0);
    assert (s_count (db, tables) == objects);
    assert (s_count (db, "SELECT count(*) FROM meta") == 1);

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

    //  The server drops the connection between two calls (as a restart would): the next
    //  call outside a transaction connects again, its statement prepared again.
    mk_db_t *killer = mk_db_open (url, &error);
    assert (killer && !error);
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
    stmt = mk_db_prepare (db, "SELECT name FROM hosts ORDER BY id");
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

    //  Inside a transaction the loss fails the call and every call after it until the
    //  caller rolls back: nothing of the transaction is applied.
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
    mk_db_destroy (&killer);

    //  A database from a newer program is refused.
    assert (mk_db_exec (db, "UPDATE meta SET value = '99' WHERE name = 'schema_version'")
            == 0);
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
    assert (mk_db_exec (db, MYSQL_DROP_ALL) == 0);
    mk_db_destroy (&db);

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
                         "db: cannot connect to MySQL as 'maekin'@'127.0.0.1:1': ", false,
                         verbose);
    s_assert_open_fails ("mysql://maekin:Secret@127.0.0.1:1/maekin", "is the server running",
                         false, false);
    s_assert_open_fails ("mysql://maekin:Secret@/maekin?socket=/nonexistent/mysqld.sock",
                         "'maekin'@'/nonexistent/mysqld.sock'", false, verbose);

    //  A password holding '@' and '/': the driver and the log's redaction read the URL by
    //  one rule, so the connection names the right user and host and no log shows any
    //  part of the password.
    s_assert_open_fails ("mysql://maekin:p@ss/w@127.0.0.1:1/maekin",
                         "db: cannot connect to MySQL as 'maekin'@'127.0.0.1:1': ", false,
                         verbose);
    const char *urls[][2] = {
        {"mysql://u:p@ss@db1/m", "mysql://...@db1/m"},
        {"mysql://u:p@s/s@db1:3306/m?socket=/x@y", "mysql://...@db1:3306/m?socket=/x@y"},
        {"mysql://u@/m?socket=/run/a@b.sock", "mysql://...@/m?socket=/run/a@b.sock"},
        {"sqlite:/var/lib/maekin@1/maekin.db", "sqlite:/var/lib/maekin@1/maekin.db"},
    };
    for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
        char *safe = mk_db_url_safe (urls[i][0]);
        if (!streq (safe, urls[i][1]))
            fprintf (stderr, "mk_db_test: '%s' shown as '%s'\n", urls[i][0], safe);
        assert (streq (safe, urls[i][1]) && !strstr (safe, "ss"));
        free (safe);
    }

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

void
mk_db_test (bool verbose)
{
    //  The schema: versions 1, 2, ... each written for every dialect.
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

    char *dir = mk_testdir_new ("mk_db_test");

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

    //  The WAL is checkpointed in the background: the database file grows while the
    //  connection stays open, without a commit doing the copying.
    url = s_url (dir, "checkpoint.db", NULL);
    db = mk_db_open (url, &error);
    assert (db && mk_db_migrate (db, NULL) == 0);
    char *dbfile = zsys_sprintf ("%s/checkpoint.db", dir);
    struct stat before;
    assert (stat (dbfile, &before) == 0);
    char payload[4000];
    memset (payload, 'x', sizeof payload);
    assert (mk_db_begin (db) == 0);
    for (int i = 0; i < 1500; i++) {
        mk_stmt_t *insert = mk_db_prepare (
            db, "INSERT INTO requests (id, reply, created) VALUES (?, ?, 0)");
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

    //  A failed migration leaves nothing behind.
    url = s_url (dir, "clash.db", "?synchronous=off");
    db = mk_db_open (url, &error);
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

    //  A database from a newer program is refused.
    url = s_url (dir, "newer.db", NULL);
    db = mk_db_open (url, &error);
    assert (db && mk_db_migrate (db, &error) == 0);
    assert (mk_db_exec (db, "UPDATE meta SET value = '99' WHERE name = 'schema_version'")
            == 0);
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
    assert (mk_db_exec (db, "UPDATE meta SET value = 'x1' WHERE name = 'schema_version'")
            == 0);
    assert (mk_db_schema_version (db) == -1);
    assert (strstr (mk_db_error (db), "bad schema version 'x1'"));
    mk_db_destroy (&db);
    zstr_free (&url);

    //  A database in memory, for tests that need no file.
    db = mk_db_open ("sqlite::memory:", &error);
    assert (db && !error);
    assert (mk_db_migrate (db, &error) == 0);
    assert (mk_db_schema_version (db) == latest);
    mk_db_destroy (&db);

    //  URLs that cannot work fail with a message and no file left behind.
    s_assert_open_fails ("foo:bar",
                         "db: unsupported database 'foo:' (this build supports sqlite:, mysql:)",
                         true, verbose);
    s_assert_open_fails ("postgres://maekin:secret@db1/maekin",
                         "unsupported database 'postgres:'", false, verbose);
    error = NULL;
    assert (mk_db_open ("postgres://maekin:secret@db1/maekin", &error) == NULL);
    assert (!strstr (error, "secret"));
    zstr_free (&error);
    assert (mk_db_open ("foo:bar", NULL) == NULL); //  logged instead
    s_assert_open_fails ("", "db: no database given", false, verbose);
    assert (mk_db_open (NULL, &error) == NULL && error);
    zstr_free (&error);
    s_assert_open_fails ("sqlite:", "no SQLite file given", false, verbose);
    url = s_url (dir, "never.db", "?synchronous=fast");
    s_assert_open_fails (url, "bad synchronous 'fast'", false, verbose);
    zstr_free (&url);
    url = s_url (dir, "never.db", "?cache=big");
    s_assert_open_fails (url, "db: unknown option 'cache' for a sqlite database", true,
                         verbose);
    zstr_free (&url);
    url = s_url (dir, "never.db", "?synchronous");
    s_assert_open_fails (url, "bad option 'synchronous'", false, verbose);
    zstr_free (&url);
    url = s_url (dir, "never.db", "?synchronous=off&synchronous=full");
    s_assert_open_fails (url, "given twice", false, verbose);
    zstr_free (&url);
    path = zsys_sprintf ("%s/never.db", dir);
    assert (!zsys_file_exists (path));
    zstr_free (&path);

    //  Files that cannot be opened say what to check.
    path = zsys_sprintf ("%s/missing/maekin.db", dir);
    want = zsys_sprintf (
        "db: cannot open '%s': unable to open database file (does the directory exist?)",
        path);
    s_assert_open_fails (path, want, true, verbose);
    zstr_free (&want);
    zstr_free (&path);
    url = zsys_sprintf ("sqlite:%s", dir);
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

/*  mk_db_mysql: the MySQL and MariaDB backend of mk_db, over libmysqlclient (MariaDB
    Connector/C on Debian). The connection is an s_conn_t and a statement an s_stmt_t;
    mk_db_test and controller_store_test run their checks here too when
    MK_TEST_MYSQL_URL names a server.

    URL: mysql://USER[:PASSWORD]@HOST[:PORT]/DATABASE, or for a unix socket
    mysql://USER@/DATABASE?socket=PATH. User and password may be percent-encoded. The
    password is kept for reconnecting and never written into a message.

    Every statement is a server-side prepared statement, its whole result stored on the
    client at execute (mysql_stmt_store_result), so that several statements can be read
    in turn as SQLite allows, then fetched row by row into buffers sized from the
    result's metadata.

    Reconnecting: a call that fails because the connection is gone (the server restarted,
    the connection was killed) outside a transaction connects again and runs once more;
    the statements prepare again on the new connection when they are next used. Inside
    a transaction the server has rolled the transaction back, so the call fails, as does
    every call after it, until the caller rolls back or begins again: nothing of a
    transaction is ever applied in part. A statement resting on its rows when the
    connection goes has lost them: its next step fails, and after a reset it runs again.
    A statement whose reply was lost (CR_SERVER_LOST) may have been applied before the
    retry; outside a transaction that is the price of surviving a restart. */
#include "maekin.h"
#include "mk_db_driver.h"
#include "mk_str.h"

#include <assert.h>
#include <ctype.h>
#include <errmsg.h>
#include <errno.h>
#include <limits.h>
#include <mysql.h>
#include <mysqld_error.h>
#include <pthread.h>
#include <stdarg.h>

#if !defined(MARIADB_BASE_VERSION) && !defined(MARIADB_PACKAGE_VERSION_ID)                         \
    && MYSQL_VERSION_ID >= 80000
typedef bool my_bool; //  MySQL 8 dropped the type its MYSQL_BIND used to take
#endif

//  How long connecting waits for a server that does not answer.
#define CONNECT_TIMEOUT_SECS 5

#define BEGIN_SQL "START TRANSACTION"
//  Our sessions read committed rows; one consistent snapshot needs repeatable read,
//  set for this one transaction just before it starts.
#define SNAPSHOT_SQL       "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY"
#define SNAPSHOT_LEVEL_SQL "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"

//  Each new session: compare and store as SQLite does (strict: a value too long for its
//  column is an error, not cut short), and READ COMMITTED. The controller is the only
//  writer, so REPEATABLE READ's snapshot would shield its transactions from no one;
//  READ COMMITTED takes no gap locks, so a reader's scan never blocks the controller's
//  inserts and each statement sees what was last committed.
#define SESSION_SQL                                                                                \
    "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION';"                           \
    "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED"

#define LOST_IN_TRANSACTION "connection lost during a transaction; rolled back"
#define LOST_IN_COMMIT                                                                             \
    "connection lost during commit; the transaction may or may not have been applied"
#define DEADLOCK "deadlock; the transaction was rolled back"

typedef struct _s_stmt_t s_stmt_t;

typedef struct {
    MYSQL *mysql;           //  the connection, NULL while there is none
    s_stmt_t *stmts;        //  its statements, linked through next
    char *user;             //  whom to connect as
    char *password;         //  NULL for none; never in a message
    char *host;             //  NULL for the socket
    unsigned port;          //  0 for the default
    char *socket;           //  a unix socket's path, or NULL
    char *database;         //  the database to use
    char *who;              //  'user'@'host:port' for messages
    unsigned generation;    //  connections made so far; a statement prepared on an
                            //  older one prepares again
    bool transaction;       //  a transaction was begun and is not ended yet
    const char *aborted;    //  why the server ended the open transaction, else NULL
    int64_t last_insert_id; //  the id given by the last INSERT
    int changes;            //  rows changed (found) by the last change
    char error[1024];       //  the last failure's cause
} s_conn_t;

//  A result column of the current row.
typedef struct {
    bool integer;         //  read as a number into value, else as bytes into data
    bool is_unsigned;     //  value is unsigned
    long long value;      //  an integer column's value
    char *data;           //  other columns' bytes, NUL-terminated
    unsigned long size;   //  bytes allocated for data
    unsigned long length; //  bytes in the value
    my_bool is_null;      //  the value is NULL
    my_bool truncated;    //  the value did not fit in data
    char number[24];      //  value as text, when read so
} s_column_t;

//  A parameter's value, owned by the statement.
typedef struct {
    enum enum_field_types type; //  MYSQL_TYPE_NULL until bound
    long long value;            //  an integer
    char *data;                 //  a copy of text or blob bytes
    unsigned long length;       //  bytes in data
} s_param_t;

//  A statement is ready to execute, resting on its rows, done with them, or cut off from
//  its rows by a lost connection.
typedef enum { STMT_READY, STMT_ROWS, STMT_DONE, STMT_LOST } s_state_t;

struct _s_stmt_t {
    s_conn_t *conn;           //  the connection that prepared it
    s_stmt_t *next;           //  the connection's next statement
    char *sql;                //  its text, to prepare again after a reconnect
    MYSQL_STMT *handle;       //  the server's statement, NULL until prepared
    unsigned generation;      //  the connection handle was prepared on
    s_state_t state;          //  executed or not, and rows left or not
    unsigned nparams;         //  placeholders in sql
    s_param_t *params;        //  their values
    s_param_t *queued;        //  rows queued to run in one execution, nparams each
    unsigned nqueued;         //  how many rows
    unsigned max_queued;      //  rows allocated
    MYSQL_BIND *param_binds;  //  the same, as the library takes them
    unsigned ncolumns;        //  columns of the current result, 0 if none
    unsigned max_columns;     //  columns allocated below
    s_column_t *columns;      //  the current row
    MYSQL_BIND *column_binds; //  the same, as the library takes them
};

//  The client library's global state is made once, before any thread's first handle.
static pthread_once_t s_library_once = PTHREAD_ONCE_INIT;
static int s_library_rc;

static void
s_library_init (void)
{
    s_library_rc = mysql_library_init (0, NULL, NULL);
}

void
mk_db_mysql_library_init (void)
{
    pthread_once (&s_library_once, s_library_init);
}

static void s_set_error (s_conn_t *self, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));

static void
s_set_error (s_conn_t *self, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    vsnprintf (self->error, sizeof self->error, format, args);
    va_end (args);
}

//  Whether a client or server error means the connection is gone.
static bool
s_connection_error (unsigned error)
{
    switch (error) {
    case CR_SERVER_GONE_ERROR:
    case CR_SERVER_LOST:
    case CR_SERVER_LOST_EXTENDED:
    case CR_CONNECTION_ERROR:
    case CR_CONN_HOST_ERROR:
    case ER_CONNECTION_KILLED:
    case ER_SERVER_SHUTDOWN:
        return true;
    default:
        return false;
    }
}

//  ---------------------------------------------------------------- the URL

//  Percent-decode text in place; false if an escape is malformed.
static bool
s_decode (char *text)
{
    char *to = text;
    for (const char *from = text; *from; from++) {
        if (*from == '%') {
            if (!isxdigit ((unsigned char) from[1]) || !isxdigit ((unsigned char) from[2]))
                return false;
            char hex[3] = {from[1], from[2], 0};
            *to++ = (char) strtol (hex, NULL, 16);
            from += 2;
        } else
            *to++ = *from;
    }
    *to = 0;
    return true;
}

static void
s_conn_free (s_conn_t *self)
{
    if (self->password)
        explicit_bzero (self->password, strlen (self->password));
    free (self->user);
    free (self->password);
    free (self->host);
    free (self->socket);
    free (self->database);
    free (self->who);
    free (self);
}

#define URL_FORMS                                                                                  \
    "use mysql://USER[:PASSWORD]@HOST[:PORT]/DATABASE or "                                         \
    "mysql://USER@/DATABASE?socket=PATH"

//  Parse "//USER[:PASSWORD]@HOST[:PORT]/DATABASE" into a new connection, not connected.
//  NULL with *error set on a malformed URL; the message never quotes the user part.
static s_conn_t *
s_conn_new (const char *location, zhashx_t *options, char **error)
{
    if (strncmp (location, "//", 2) != 0) {
        *error = zsys_sprintf ("db: bad MySQL URL (%s)", URL_FORMS);
        return NULL;
    }
    char *copy = mk_strdup (location + 2);
    s_conn_t *self = (s_conn_t *) zmalloc (sizeof (s_conn_t));
    assert (self);
    //  The user part ends at the last '@', so a password may hold '@' and '/'.
    char *at = (char *) mk_db_url_userinfo_end (copy);
    char *rest = at ? at + 1 : copy;
    char *slash = strchr (rest, '/');
    const char *socket = (const char *) zhashx_lookup (options, "socket");
    char *colon = at ? strchr (copy, ':') : NULL;
    if (!at || at == copy || colon == copy) {
        *error = zsys_sprintf ("db: no user in the MySQL URL (%s)", URL_FORMS);
        goto failed;
    }
    *at = 0;
    colon = strchr (copy, ':');
    if (colon) {
        *colon = 0;
        self->password = mk_strdup (colon + 1);
    }
    self->user = mk_strdup (copy);
    if (!s_decode (self->user) || (self->password && !s_decode (self->password))) {
        *error = zsys_sprintf ("db: bad %%-escape in the user or password of the MySQL URL");
        goto failed;
    }
    if (!slash || !slash[1] || strchr (slash + 1, '/')) {
        *error = zsys_sprintf ("db: no database in the MySQL URL (%s)", URL_FORMS);
        goto failed;
    }
    *slash = 0;
    self->database = mk_strdup (slash + 1);
    //  The host: a name, an IPv4 address or [an IPv6 address], then maybe :PORT.
    char *port = NULL;
    if (*rest == '[') {
        char *close = strchr (rest, ']');
        if (!close || (close[1] && close[1] != ':')) {
            *error = zsys_sprintf ("db: bad host '%s' in the MySQL URL", rest);
            goto failed;
        }
        *close = 0;
        port = close[1] == ':' ? close + 2 : NULL;
        rest++;
    } else if ((port = strchr (rest, ':')))
        *port++ = 0;
    if (port) {
        char *end = NULL;
        errno = 0;
        long number = strtol (port, &end, 10);
        if (!*port || *end || errno || number < 1 || number > 65535) {
            *error = zsys_sprintf ("db: bad port '%s' in the MySQL URL", port);
            goto failed;
        }
        self->port = (unsigned) number;
    }
    if (*rest && socket) {
        *error = zsys_sprintf ("db: the MySQL URL gives both a host '%s' and a socket", rest);
        goto failed;
    }
    if (!*rest && !socket) {
        *error = zsys_sprintf ("db: no host in the MySQL URL (%s)", URL_FORMS);
        goto failed;
    }
    if (socket && !*socket) {
        *error = zsys_sprintf ("db: empty socket in the MySQL URL");
        goto failed;
    }
    if (socket) {
        self->socket = mk_strdup (socket);
        self->who = zsys_sprintf ("'%s'@'%s'", self->user, socket);
    } else {
        self->host = mk_strdup (rest);
        self->who = self->port ? zsys_sprintf ("'%s'@'%s:%u'", self->user, rest, self->port)
                               : zsys_sprintf ("'%s'@'%s'", self->user, rest);
    }
    assert (self->who);
    free (copy);
    return self;

failed:
    explicit_bzero (copy, strlen (location + 2));
    free (copy);
    s_conn_free (self);
    return NULL;
}

//  ---------------------------------------------------------------- the connection

//  Run SQL that may hold several statements and drain every result, so the connection
//  is ready for the next command. Returns 0, or -1 with the error in *code and the cause
//  recorded.
static int
s_query (s_conn_t *self, const char *sql, unsigned *code)
{
    MYSQL *mysql = self->mysql;
    //  mysql_real_query: 0 or an error; mysql_next_result: 0 more, -1 none, > 0 an error.
    bool failed = mysql_real_query (mysql, sql, (unsigned long) strlen (sql)) != 0;
    while (!failed) {
        MYSQL_RES *result = mysql_store_result (mysql);
        if (result)
            mysql_free_result (result);
        else if (mysql_field_count (mysql) == 0) {
            my_ulonglong affected = mysql_affected_rows (mysql);
            if (affected != (my_ulonglong) -1)
                self->changes = (int) affected;
            if (mysql_insert_id (mysql))
                self->last_insert_id = (int64_t) mysql_insert_id (mysql);
        } else {
            failed = true; //  a result that could not be stored
            break;
        }
        int next = mysql_next_result (mysql);
        if (next < 0)
            return 0;
        failed = next > 0;
    }
    *code = mysql_errno (mysql);
    s_set_error (self, "%s", mysql_error (mysql));
    return -1;
}

static void
s_disconnect (s_conn_t *self)
{
    if (self->mysql) {
        //  Closing invalidates the statements prepared on it: each is closed when it is
        //  next used or finalized. Their stored rows go now, while that is still safe
        //  (the library would read the closed connection fetching them).
        for (s_stmt_t *stmt = self->stmts; stmt; stmt = stmt->next)
            if (stmt->state == STMT_ROWS) {
                mysql_stmt_free_result (stmt->handle);
                stmt->state = STMT_LOST;
            }
        mysql_close (self->mysql);
        self->mysql = NULL;
    }
}

//  Connect and set the session up: 0, or -1 with the cause recorded.
static int
s_connect (s_conn_t *self)
{
    assert (!self->mysql);
    pthread_once (&s_library_once, s_library_init);
    if (s_library_rc != 0) {
        s_set_error (self, "cannot initialise the MySQL client library");
        return -1;
    }
    MYSQL *mysql = mysql_init (NULL);
    assert (mysql); //  out of memory
    unsigned timeout = CONNECT_TIMEOUT_SECS;
    my_bool off = 0;
    unsigned protocol = self->socket ? MYSQL_PROTOCOL_SOCKET : MYSQL_PROTOCOL_TCP;
    mysql_options (mysql, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
    //  The library's own reconnect would lose the session's settings and an open
    //  transaction without a word; this driver reconnects itself.
    mysql_options (mysql, MYSQL_OPT_RECONNECT, &off);
    mysql_options (mysql, MYSQL_OPT_LOCAL_INFILE, &off);
    mysql_options (mysql, MYSQL_OPT_PROTOCOL, &protocol);
    mysql_options (mysql, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    //  FOUND_ROWS: an UPDATE counts the rows it matched, as SQLite does, not only those
    //  whose values changed; "update, else insert" depends on it.
    unsigned long flags = CLIENT_MULTI_STATEMENTS | CLIENT_FOUND_ROWS;
    if (!mysql_real_connect (mysql, self->host, self->user, self->password, self->database,
                             self->port, self->socket, flags)) {
        unsigned code = mysql_errno (mysql);
        const char *hint =
            code == ER_ACCESS_DENIED_ERROR ? " (check the user and password)"
            : code == CR_CONNECTION_ERROR || code == CR_CONN_HOST_ERROR || code == CR_UNKNOWN_HOST
                ? " (is the server running, and is the address right?)"
                : "";
        s_set_error (self, "cannot connect to MySQL as %s: %s%s", self->who, mysql_error (mysql),
                     hint);
        mysql_close (mysql);
        return -1;
    }
    self->mysql = mysql;
    unsigned code = 0;
    if (s_query (self, SESSION_SQL, &code)) {
        char cause[sizeof self->error];
        snprintf (cause, sizeof cause, "%s", self->error);
        s_set_error (self, "cannot set up the MySQL session as %s: %s", self->who, cause);
        s_disconnect (self);
        return -1;
    }
    self->generation++;
    return 0;
}

//  Run an operation on the connection, connecting first if there is none. When it fails
//  because the connection is gone: outside a transaction, connect again and run it once
//  more; inside one, the transaction is gone with the connection, and so fail.
//  The operation returns 0, MK_DB_CONSTRAINT or -1 with *code and the cause set.
typedef int (s_operation_fn) (s_conn_t *self, void *arg, unsigned *code);

static int
s_run (s_conn_t *self, s_operation_fn *operation, void *arg)
{
    for (int attempt = 0;; attempt++) {
        if (self->aborted) {
            s_set_error (self, "%s", self->aborted);
            return -1;
        }
        if (!self->mysql && s_connect (self))
            return -1;
        unsigned code = 0;
        int rc = operation (self, arg, &code);
        if (rc == 0 || rc == MK_DB_CONSTRAINT)
            return rc;
        if (code == ER_LOCK_DEADLOCK && self->transaction) {
            //  InnoDB rolled the whole transaction back.
            self->aborted = DEADLOCK;
            s_set_error (self, "%s", DEADLOCK);
            return -1;
        }
        if (!s_connection_error (code))
            return -1;
        s_disconnect (self);
        if (self->transaction) {
            self->aborted = LOST_IN_TRANSACTION;
            s_set_error (self, "%s", LOST_IN_TRANSACTION);
            return -1;
        }
        if (attempt > 0)
            return -1;
        mk_warn ("db: connection to MySQL as %s lost (%s); connecting again", self->who,
                 self->error);
    }
}

static void *
s_open (const char *location, zhashx_t *options, char **error)
{
    s_conn_t *self = s_conn_new (location, options, error);
    if (!self)
        return NULL;
    if (s_connect (self)) {
        *error = zsys_sprintf ("db: %s", self->error);
        s_conn_free (self);
        return NULL;
    }
    return self;
}

static void
s_close (void *conn)
{
    s_conn_t *self = (s_conn_t *) conn;
    assert (!self->stmts); //  every statement is finalized first
    //  The server rolls back a transaction still open.
    s_disconnect (self);
    s_conn_free (self);
}

static const char *
s_errmsg (void *conn)
{
    return ((s_conn_t *) conn)->error;
}

static int
s_exec_operation (s_conn_t *self, void *sql, unsigned *code)
{
    return s_query (self, (const char *) sql, code);
}

//  The isolation level and the snapshot's start in one operation: should the connection
//  be made again in between, both run again on the new one (a new session reads
//  committed rows, and its snapshot would not be one).
static int
s_snapshot_operation (s_conn_t *self, void *arg, unsigned *code)
{
    if (s_query (self, SNAPSHOT_LEVEL_SQL, code) != 0)
        return -1;
    return s_query (self, SNAPSHOT_SQL, code);
}

//  Starts a transaction with begin_sql or snapshot_sql.
static int
s_begin (s_conn_t *self, const char *sql)
{
    if (self->transaction && !self->aborted) {
        s_set_error (self, "cannot start a transaction within a transaction");
        return -1;
    }
    //  A transaction the server ended is over: begin anew, on a new connection if it
    //  was lost.
    self->transaction = false;
    self->aborted = NULL;
    if (streq (sql, SNAPSHOT_SQL) ? s_run (self, s_snapshot_operation, NULL)
                                  : s_run (self, s_exec_operation, (void *) sql))
        return -1;
    self->transaction = true;
    return 0;
}

static int
s_commit (s_conn_t *self)
{
    if (!self->transaction) {
        s_set_error (self, "cannot commit - no transaction is active");
        return -1;
    }
    if (self->aborted || !self->mysql) {
        s_set_error (self, "%s", self->aborted ? self->aborted : LOST_IN_TRANSACTION);
        return -1;
    }
    unsigned code = 0;
    if (s_query (self, "COMMIT", &code) == 0) {
        self->transaction = false;
        return 0;
    }
    if (s_connection_error (code)) {
        s_disconnect (self);
        self->aborted = LOST_IN_COMMIT;
        s_set_error (self, "%s", LOST_IN_COMMIT);
    } else if (!(self->mysql->server_status & SERVER_STATUS_IN_TRANS))
        self->transaction = false; //  the server ended it
    return -1;
}

static int
s_rollback (s_conn_t *self)
{
    bool open = self->transaction && !self->aborted && self->mysql;
    self->transaction = false;
    self->aborted = NULL;
    if (!open)
        return 0;
    unsigned code = 0;
    if (s_query (self, "ROLLBACK", &code) == 0)
        return 0;
    if (s_connection_error (code)) {
        s_disconnect (self); //  the server rolls back a lost connection's transaction
        return 0;
    }
    return -1;
}

//  The generic layer passes begin_sql, "COMMIT" and "ROLLBACK" alone through exec; they
//  are the transaction's edges, which this driver must see to know when it may retry.
static int
s_exec (void *conn, const char *sql)
{
    s_conn_t *self = (s_conn_t *) conn;
    if (streq (sql, BEGIN_SQL) || streq (sql, SNAPSHOT_SQL))
        return s_begin (self, sql);
    if (streq (sql, "COMMIT"))
        return s_commit (self);
    if (streq (sql, "ROLLBACK"))
        return s_rollback (self);
    return s_run (self, s_exec_operation, (void *) sql);
}

static bool
s_in_transaction (void *conn)
{
    return ((s_conn_t *) conn)->transaction;
}

static int64_t
s_last_insert_id (void *conn)
{
    return ((s_conn_t *) conn)->last_insert_id;
}

static int
s_changes (void *conn)
{
    return ((s_conn_t *) conn)->changes;
}

//  ---------------------------------------------------------------- statements

static void
s_free_result (s_stmt_t *self)
{
    if (self->handle && self->state == STMT_ROWS)
        mysql_stmt_free_result (self->handle);
    self->state = STMT_READY;
}

static void
s_unlink (s_stmt_t *self)
{
    s_stmt_t **link = &self->conn->stmts;
    while (*link != self)
        link = &(*link)->next;
    *link = self->next;
}

//  Prepare the statement on the current connection, closing one made on an older one.
static int
s_prepare_handle (s_stmt_t *self, unsigned *code)
{
    s_conn_t *conn = self->conn;
    if (self->handle) {
        s_free_result (self);
        mysql_stmt_close (self->handle);
        self->handle = NULL;
    }
    self->handle = mysql_stmt_init (conn->mysql);
    assert (self->handle); //  out of memory
    my_bool on = 1;
    mysql_stmt_attr_set (self->handle, STMT_ATTR_UPDATE_MAX_LENGTH, &on);
    if (mysql_stmt_prepare (self->handle, self->sql, (unsigned long) strlen (self->sql))) {
        *code = mysql_stmt_errno (self->handle);
        s_set_error (conn, "%s", mysql_stmt_error (self->handle));
        mysql_stmt_close (self->handle);
        self->handle = NULL;
        return -1;
    }
    self->generation = conn->generation;
    return 0;
}

static int
s_prepare_operation (s_conn_t *conn, void *arg, unsigned *code)
{
    return s_prepare_handle ((s_stmt_t *) arg, code);
}

static void s_finalize (void *stmt);
static void s_discard (void *stmt);

static void *
s_prepare (void *conn, const char *sql)
{
    s_stmt_t *self = (s_stmt_t *) zmalloc (sizeof (s_stmt_t));
    assert (self);
    self->conn = (s_conn_t *) conn;
    self->sql = mk_strdup (sql);
    self->next = self->conn->stmts;
    self->conn->stmts = self;
    if (s_run (self->conn, s_prepare_operation, self)) {
        s_finalize (self);
        return NULL;
    }
    self->nparams = (unsigned) mysql_stmt_param_count (self->handle);
    if (self->nparams) {
        self->params = (s_param_t *) zmalloc (self->nparams * sizeof (s_param_t));
        self->param_binds = (MYSQL_BIND *) zmalloc (self->nparams * sizeof (MYSQL_BIND));
        assert (self->params && self->param_binds);
        for (unsigned i = 0; i < self->nparams; i++)
            self->params[i].type = MYSQL_TYPE_NULL;
    }
    return self;
}

static void
s_clear_params (s_stmt_t *self)
{
    for (unsigned i = 0; i < self->nparams; i++) {
        free (self->params[i].data);
        self->params[i] = (s_param_t){.type = MYSQL_TYPE_NULL};
    }
}

static void
s_finalize (void *stmt)
{
    s_stmt_t *self = (s_stmt_t *) stmt;
    s_unlink (self);
    if (self->handle) {
        s_free_result (self);
        mysql_stmt_close (self->handle);
    }
    s_clear_params (self);
    s_discard (self);
    free (self->queued);
    for (unsigned i = 0; i < self->max_columns; i++)
        free (self->columns[i].data);
    free (self->columns);
    free (self->column_binds);
    free (self->params);
    free (self->param_binds);
    free (self->sql);
    free (self);
}

//  The parameter at index (from 1), reset to NULL; NULL with the cause recorded if there
//  is no such parameter.
static s_param_t *
s_param (s_stmt_t *self, int index)
{
    if (index < 1 || (unsigned) index > self->nparams) {
        s_set_error (self->conn, "parameter index %d out of range (the statement has %u)", index,
                     self->nparams);
        return NULL;
    }
    s_param_t *param = &self->params[index - 1];
    free (param->data);
    *param = (s_param_t){.type = MYSQL_TYPE_NULL};
    return param;
}

static int
s_bind_int (void *stmt, int index, int64_t value)
{
    s_param_t *param = s_param ((s_stmt_t *) stmt, index);
    if (!param)
        return -1;
    param->type = MYSQL_TYPE_LONGLONG;
    param->value = value;
    return 0;
}

static int
s_bind_bytes (s_stmt_t *self, int index, enum enum_field_types type, const void *data, size_t size)
{
    s_param_t *param = s_param (self, index);
    if (!param)
        return -1;
    if (size > ULONG_MAX - 1) {
        s_set_error (self->conn, "string or blob too big");
        return -1;
    }
    param->type = type;
    //  Never a NULL buffer: an empty value is not NULL.
    param->data = (char *) malloc (size + 1);
    assert (param->data);
    if (size)
        memcpy (param->data, data, size);
    param->data[size] = 0;
    param->length = (unsigned long) size;
    return 0;
}

static int
s_bind_text (void *stmt, int index, const char *value)
{
    if (!value)
        return s_param ((s_stmt_t *) stmt, index) ? 0 : -1;
    return s_bind_bytes ((s_stmt_t *) stmt, index, MYSQL_TYPE_STRING, value, strlen (value));
}

static int
s_bind_blob (void *stmt, int index, const void *data, size_t size)
{
    assert (data || size == 0);
    return s_bind_bytes ((s_stmt_t *) stmt, index, MYSQL_TYPE_BLOB, data, size);
}

//  Whether a column of this type is read as a number.
static bool
s_integer_type (enum enum_field_types type)
{
    switch (type) {
    case MYSQL_TYPE_TINY:
    case MYSQL_TYPE_SHORT:
    case MYSQL_TYPE_INT24:
    case MYSQL_TYPE_LONG:
    case MYSQL_TYPE_LONGLONG:
    case MYSQL_TYPE_YEAR:
        return true;
    default:
        return false;
    }
}

//  Make room in a byte column for size bytes and its NUL, and point its bind there.
static void
s_column_reserve (s_stmt_t *self, unsigned i, unsigned long size)
{
    s_column_t *column = &self->columns[i];
    if (column->size < size + 1) {
        free (column->data);
        column->size = size + 1;
        column->data = (char *) malloc (column->size);
        assert (column->data);
    }
    MYSQL_BIND *bind = &self->column_binds[i];
    bind->buffer = column->data;
    bind->buffer_length = column->size - 1;
}

//  Bind the result's columns, with buffers as large as the longest value stored.
static int
s_bind_columns (s_stmt_t *self, unsigned *code)
{
    MYSQL_RES *meta = mysql_stmt_result_metadata (self->handle);
    if (!meta) {
        *code = mysql_stmt_errno (self->handle);
        s_set_error (self->conn, "%s", mysql_stmt_error (self->handle));
        return -1;
    }
    unsigned count = mysql_num_fields (meta);
    MYSQL_FIELD *fields = mysql_fetch_fields (meta);
    if (count > self->max_columns) {
        self->columns = (s_column_t *) realloc (self->columns, count * sizeof (s_column_t));
        self->column_binds =
            (MYSQL_BIND *) realloc (self->column_binds, count * sizeof (MYSQL_BIND));
        assert (self->columns && self->column_binds);
        memset (self->columns + self->max_columns, 0,
                (count - self->max_columns) * sizeof (s_column_t));
        self->max_columns = count;
    }
    self->ncolumns = count;
    memset (self->column_binds, 0, count * sizeof (MYSQL_BIND));
    for (unsigned i = 0; i < count; i++) {
        s_column_t *column = &self->columns[i];
        MYSQL_BIND *bind = &self->column_binds[i];
        column->integer = s_integer_type (fields[i].type);
        column->is_unsigned = (fields[i].flags & UNSIGNED_FLAG) != 0;
        bind->is_null = &column->is_null;
        bind->length = &column->length;
        bind->error = &column->truncated;
        if (column->integer) {
            bind->buffer_type = MYSQL_TYPE_LONGLONG;
            bind->buffer = &column->value;
            bind->is_unsigned = column->is_unsigned;
        } else {
            //  Any other type reads as its bytes (numbers as their text).
            bind->buffer_type = MYSQL_TYPE_STRING;
            s_column_reserve (self, i, fields[i].max_length);
        }
    }
    mysql_free_result (meta);
    if (mysql_stmt_bind_result (self->handle, self->column_binds)) {
        *code = mysql_stmt_errno (self->handle);
        s_set_error (self->conn, "%s", mysql_stmt_error (self->handle));
        return -1;
    }
    return 0;
}

//  Execute the statement and store its result, preparing it first on a new connection.
static int
s_execute_operation (s_conn_t *conn, void *arg, unsigned *code)
{
    s_stmt_t *self = (s_stmt_t *) arg;
    if (!self->handle || self->generation != conn->generation)
        if (s_prepare_handle (self, code))
            return -1;
    MYSQL_STMT *handle = self->handle;
    //  A statement prepared again must still take the same parameters.
    assert (mysql_stmt_param_count (handle) == self->nparams);
    for (unsigned i = 0; i < self->nparams; i++) {
        s_param_t *param = &self->params[i];
        MYSQL_BIND *bind = &self->param_binds[i];
        memset (bind, 0, sizeof *bind);
        bind->buffer_type = param->type;
        if (param->type == MYSQL_TYPE_LONGLONG)
            bind->buffer = &param->value;
        else if (param->type != MYSQL_TYPE_NULL) {
            bind->buffer = param->data;
            bind->buffer_length = param->length;
        }
    }
    if ((self->nparams && mysql_stmt_bind_param (handle, self->param_binds))
        || mysql_stmt_execute (handle)) {
        *code = mysql_stmt_errno (handle);
        s_set_error (conn, "%s", mysql_stmt_error (handle));
        if (*code == ER_DUP_ENTRY || *code == ER_DUP_ENTRY_WITH_KEY_NAME)
            return MK_DB_CONSTRAINT;
        return -1;
    }
    if (mysql_stmt_field_count (handle) == 0) {
        self->ncolumns = 0;
        conn->changes = (int) mysql_stmt_affected_rows (handle);
        if (mysql_stmt_insert_id (handle))
            conn->last_insert_id = (int64_t) mysql_stmt_insert_id (handle);
        self->state = STMT_DONE;
        return 0;
    }
    if (mysql_stmt_store_result (handle)) {
        *code = mysql_stmt_errno (handle);
        s_set_error (conn, "%s", mysql_stmt_error (handle));
        return -1;
    }
    self->state = STMT_ROWS;
    return s_bind_columns (self, code);
}

//  Read the next stored row into the columns.
static int
s_fetch (s_stmt_t *self)
{
    int rc = mysql_stmt_fetch (self->handle);
    if (rc == MYSQL_NO_DATA) {
        s_free_result (self);
        self->state = STMT_DONE;
        return MK_DB_DONE;
    }
    if (rc == MYSQL_DATA_TRUNCATED) {
        //  Longer than any value the metadata reported: grow and read that column again.
        bool grew = false;
        for (unsigned i = 0; i < self->ncolumns; i++) {
            s_column_t *column = &self->columns[i];
            if (column->integer || !column->truncated)
                continue;
            s_column_reserve (self, i, column->length);
            if (mysql_stmt_fetch_column (self->handle, &self->column_binds[i], i, 0)) {
                rc = 1;
                break;
            }
            grew = true;
        }
        if (grew && rc != 1 && mysql_stmt_bind_result (self->handle, self->column_binds))
            rc = 1;
        if (rc != 1)
            rc = 0;
    }
    if (rc != 0) {
        s_set_error (self->conn, "%s", mysql_stmt_error (self->handle));
        return MK_DB_ERROR;
    }
    for (unsigned i = 0; i < self->ncolumns; i++) {
        s_column_t *column = &self->columns[i];
        if (!column->integer)
            column->data[column->is_null ? 0 : column->length] = 0;
    }
    return MK_DB_ROW;
}

static int
s_step (void *stmt)
{
    s_stmt_t *self = (s_stmt_t *) stmt;
    if (self->state == STMT_DONE)
        return MK_DB_DONE;
    if (self->state == STMT_LOST) {
        s_set_error (self->conn, "connection lost while the statement's rows were read");
        return MK_DB_ERROR;
    }
    if (self->state == STMT_READY) {
        int rc = s_run (self->conn, s_execute_operation, self);
        if (rc != 0) {
            s_free_result (self);
            return rc == MK_DB_CONSTRAINT ? MK_DB_CONSTRAINT : MK_DB_ERROR;
        }
        if (self->state == STMT_DONE)
            return MK_DB_DONE;
    }
    return s_fetch (self);
}

//  The column of the current row; reading one that is not there is a bug.
static s_column_t *
s_column (s_stmt_t *self, int column)
{
    assert (self->state == STMT_ROWS);
    assert (column >= 0 && (unsigned) column < self->ncolumns);
    return &self->columns[column];
}

static int64_t
s_column_int (void *stmt, int index)
{
    s_column_t *column = s_column ((s_stmt_t *) stmt, index);
    if (column->is_null)
        return 0;
    if (column->integer)
        return (int64_t) column->value;
    return (int64_t) strtoll (column->data, NULL, 10);
}

static const char *
s_column_text (void *stmt, int index)
{
    s_column_t *column = s_column ((s_stmt_t *) stmt, index);
    if (column->is_null)
        return "";
    if (!column->integer)
        return column->data;
    if (column->is_unsigned)
        snprintf (column->number, sizeof column->number, "%llu",
                  (unsigned long long) column->value);
    else
        snprintf (column->number, sizeof column->number, "%lld", column->value);
    return column->number;
}

static const void *
s_column_blob (void *stmt, int index, size_t *size)
{
    s_column_t *column = s_column ((s_stmt_t *) stmt, index);
    if (column->is_null || !column->integer) {
        *size = column->is_null ? 0 : column->length;
        return column->is_null ? "" : column->data;
    }
    const char *text = s_column_text (stmt, index);
    *size = strlen (text);
    return text;
}

static void
s_reset (void *stmt)
{
    s_stmt_t *self = (s_stmt_t *) stmt;
    s_free_result (self);
    s_clear_params (self);
}

//  ---------------------------------------------------------------- queued rows

//  Move the bound row to the queue.
static int
s_queue (void *stmt)
{
    s_stmt_t *self = (s_stmt_t *) stmt;
    if (self->nqueued == self->max_queued) {
        unsigned more = self->max_queued ? 2 * self->max_queued : 64;
        s_param_t *grown = (s_param_t *) realloc (
            self->queued, (size_t) more * (self->nparams ? self->nparams : 1) * sizeof (s_param_t));
        assert (grown);
        self->queued = grown;
        self->max_queued = more;
    }
    //  The values move with their buffers; the bindings are left clear.
    memcpy (self->queued + (size_t) self->nqueued * self->nparams, self->params,
            self->nparams * sizeof (s_param_t));
    for (unsigned i = 0; i < self->nparams; i++)
        self->params[i] = (s_param_t){.type = MYSQL_TYPE_NULL};
    self->nqueued++;
    return 0;
}

static void
s_discard (void *stmt)
{
    s_stmt_t *self = (s_stmt_t *) stmt;
    for (size_t i = 0; i < (size_t) self->nqueued * self->nparams; i++)
        free (self->queued[i].data);
    self->nqueued = 0;
}

//  One parameter's values for every queued row, as array binding takes them: a column of
//  numbers or of pointers and lengths, and a NULL indicator per row.
typedef struct {
    long long *numbers;
    char **data;
    unsigned long *lengths;
    char *indicators;
} s_column_values_t;

//  Bind parameter i of every queued row into bind, its arrays in values.
static void
s_bind_queued (s_stmt_t *self, unsigned i, MYSQL_BIND *bind, s_column_values_t *values)
{
    unsigned rows = self->nqueued;
    memset (bind, 0, sizeof *bind);
    bind->buffer_type = MYSQL_TYPE_NULL;
    values->indicators = (char *) zmalloc (rows);
    for (unsigned row = 0; row < rows; row++) {
        enum enum_field_types type = self->queued[(size_t) row * self->nparams + i].type;
        values->indicators[row] =
            type == MYSQL_TYPE_NULL ? STMT_INDICATOR_NULL : STMT_INDICATOR_NONE;
        //  One column has one type: the store binds each the same way every row.
        assert (type == MYSQL_TYPE_NULL || bind->buffer_type == MYSQL_TYPE_NULL
                || bind->buffer_type == type);
        if (type != MYSQL_TYPE_NULL)
            bind->buffer_type = type;
    }
    bind->u.indicator = values->indicators;
    if (bind->buffer_type == MYSQL_TYPE_LONGLONG) {
        values->numbers = (long long *) zmalloc (rows * sizeof (long long));
        for (unsigned row = 0; row < rows; row++)
            values->numbers[row] = self->queued[(size_t) row * self->nparams + i].value;
        bind->buffer = values->numbers;
    } else if (bind->buffer_type != MYSQL_TYPE_NULL) {
        values->data = (char **) zmalloc (rows * sizeof (char *));
        values->lengths = (unsigned long *) zmalloc (rows * sizeof (unsigned long));
        for (unsigned row = 0; row < rows; row++) {
            s_param_t *param = &self->queued[(size_t) row * self->nparams + i];
            values->data[row] = param->data ? param->data : (char *) "";
            values->lengths[row] = param->length;
        }
        bind->buffer = values->data;
        bind->length = values->lengths;
    }
}

//  Execute every queued row in one round trip (MariaDB's bulk execution).
static int
s_bulk_operation (s_conn_t *conn, void *arg, unsigned *code)
{
    s_stmt_t *self = (s_stmt_t *) arg;
    if (!self->handle || self->generation != conn->generation)
        if (s_prepare_handle (self, code))
            return -1;
    MYSQL_STMT *handle = self->handle;
    s_column_values_t *values =
        (s_column_values_t *) zmalloc ((self->nparams ? self->nparams : 1) * sizeof *values);
    for (unsigned i = 0; i < self->nparams; i++)
        s_bind_queued (self, i, &self->param_binds[i], &values[i]);
    unsigned rows = self->nqueued, none = 0;
    int rc = 0;
    if (mysql_stmt_attr_set (handle, STMT_ATTR_ARRAY_SIZE, &rows)
        || mysql_stmt_bind_param (handle, self->param_binds) || mysql_stmt_execute (handle)) {
        *code = mysql_stmt_errno (handle);
        s_set_error (conn, "%s", mysql_stmt_error (handle));
        rc = *code == ER_DUP_ENTRY || *code == ER_DUP_ENTRY_WITH_KEY_NAME ? MK_DB_CONSTRAINT : -1;
    } else
        conn->changes = (int) mysql_stmt_affected_rows (handle);
    mysql_stmt_attr_set (handle, STMT_ATTR_ARRAY_SIZE, &none);
    for (unsigned i = 0; i < self->nparams; i++) {
        free (values[i].numbers);
        free (values[i].data);
        free (values[i].lengths);
        free (values[i].indicators);
    }
    free (values);
    return rc;
}

static int
s_flush (void *stmt)
{
    s_stmt_t *self = (s_stmt_t *) stmt;
    if (self->nqueued == 0)
        return MK_DB_DONE;
    int rc;
    s_free_result (self);
    if (self->nqueued == 1) {
        //  One row: executed as any statement is, with the queued values in place of the
        //  bindings (which may hold the row a caller is about to step).
        s_param_t *bound = self->params;
        self->params = self->queued;
        rc = s_step (self);
        self->params = bound;
        s_free_result (self);
        s_discard (self);
        return rc;
    }
    s_free_result (self);
    rc = s_run (self->conn, s_bulk_operation, self);
    s_discard (self);
    self->state = STMT_READY;
    return rc == 0 ? MK_DB_DONE : rc == MK_DB_CONSTRAINT ? MK_DB_CONSTRAINT : MK_DB_ERROR;
}

static const char *const s_options[] = {"socket", NULL};

const mk_db_driver_t mk_db_mysql_driver = {
    .name = "mysql",
    .dialect = MK_DB_MYSQL,
    .begin_sql = BEGIN_SQL,
    .snapshot_sql = SNAPSHOT_SQL,
    .has_table_sql = "SELECT 1 FROM information_schema.tables "
                     "WHERE table_schema = DATABASE() AND table_name = ?",
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
    .queue = s_queue,
    .flush = s_flush,
    .discard = s_discard,
};

/*  mk_db_mysql: the MySQL and MariaDB backend of mk_db, over libmysqlclient (MariaDB
    Connector/C on Debian). The connection is an mk_mysql_conn_t (here) and a statement an
    mk_mysql_stmt_t (mk_db_mysql_stmt.c);
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
#include "mk_db_mysql.h"

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

void
mk_mysql_set_error (mk_mysql_conn_t *self, const char *format, ...)
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
s_conn_free (mk_mysql_conn_t *self)
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
static mk_mysql_conn_t *
s_conn_new (const char *location, zhashx_t *options, char **error)
{
    if (strncmp (location, "//", 2) != 0) {
        *error = zsys_sprintf ("db: bad MySQL URL (%s)", URL_FORMS);
        return NULL;
    }
    char *copy = mk_strdup (location + 2);
    mk_mysql_conn_t *self = (mk_mysql_conn_t *) zmalloc (sizeof (mk_mysql_conn_t));
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
s_query (mk_mysql_conn_t *self, const char *sql, unsigned *code)
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
    mk_mysql_set_error (self, "%s", mysql_error (mysql));
    return -1;
}

static void
s_disconnect (mk_mysql_conn_t *self)
{
    if (self->mysql) {
        //  Closing invalidates the statements prepared on it: each is closed when it is
        //  next used or finalized. Their stored rows go now, while that is still safe
        //  (the library would read the closed connection fetching them).
        for (mk_mysql_stmt_t *stmt = self->stmts; stmt; stmt = stmt->next)
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
s_connect (mk_mysql_conn_t *self)
{
    assert (!self->mysql);
    pthread_once (&s_library_once, s_library_init);
    if (s_library_rc != 0) {
        mk_mysql_set_error (self, "cannot initialise the MySQL client library");
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
        mk_mysql_set_error (self, "cannot connect to MySQL as %s: %s%s", self->who,
                            mysql_error (mysql), hint);
        mysql_close (mysql);
        return -1;
    }
    self->mysql = mysql;
    unsigned code = 0;
    if (s_query (self, SESSION_SQL, &code)) {
        char cause[sizeof self->error];
        snprintf (cause, sizeof cause, "%s", self->error);
        mk_mysql_set_error (self, "cannot set up the MySQL session as %s: %s", self->who, cause);
        s_disconnect (self);
        return -1;
    }
    self->generation++;
    return 0;
}

int
mk_mysql_run (mk_mysql_conn_t *self, mk_mysql_operation_fn *operation, void *arg)
{
    for (int attempt = 0;; attempt++) {
        if (self->aborted) {
            mk_mysql_set_error (self, "%s", self->aborted);
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
            mk_mysql_set_error (self, "%s", DEADLOCK);
            return -1;
        }
        if (!s_connection_error (code))
            return -1;
        s_disconnect (self);
        if (self->transaction) {
            self->aborted = LOST_IN_TRANSACTION;
            mk_mysql_set_error (self, "%s", LOST_IN_TRANSACTION);
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
    mk_mysql_conn_t *self = s_conn_new (location, options, error);
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
    mk_mysql_conn_t *self = (mk_mysql_conn_t *) conn;
    assert (!self->stmts); //  every statement is finalized first
    //  The server rolls back a transaction still open.
    s_disconnect (self);
    s_conn_free (self);
}

static const char *
s_errmsg (void *conn)
{
    return ((mk_mysql_conn_t *) conn)->error;
}

static int
s_exec_operation (mk_mysql_conn_t *self, void *sql, unsigned *code)
{
    return s_query (self, (const char *) sql, code);
}

//  The isolation level and the snapshot's start in one operation: should the connection
//  be made again in between, both run again on the new one (a new session reads
//  committed rows, and its snapshot would not be one).
static int
s_snapshot_operation (mk_mysql_conn_t *self, void *arg, unsigned *code)
{
    if (s_query (self, SNAPSHOT_LEVEL_SQL, code) != 0)
        return -1;
    return s_query (self, SNAPSHOT_SQL, code);
}

//  Starts a transaction with begin_sql or snapshot_sql.
static int
s_begin (mk_mysql_conn_t *self, const char *sql)
{
    if (self->transaction && !self->aborted) {
        mk_mysql_set_error (self, "cannot start a transaction within a transaction");
        return -1;
    }
    //  A transaction the server ended is over: begin anew, on a new connection if it
    //  was lost.
    self->transaction = false;
    self->aborted = NULL;
    if (streq (sql, SNAPSHOT_SQL) ? mk_mysql_run (self, s_snapshot_operation, NULL)
                                  : mk_mysql_run (self, s_exec_operation, (void *) sql))
        return -1;
    self->transaction = true;
    return 0;
}

static int
s_commit (mk_mysql_conn_t *self)
{
    if (!self->transaction) {
        mk_mysql_set_error (self, "cannot commit - no transaction is active");
        return -1;
    }
    if (self->aborted || !self->mysql) {
        mk_mysql_set_error (self, "%s", self->aborted ? self->aborted : LOST_IN_TRANSACTION);
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
        mk_mysql_set_error (self, "%s", LOST_IN_COMMIT);
    } else if (!(self->mysql->server_status & SERVER_STATUS_IN_TRANS))
        self->transaction = false; //  the server ended it
    return -1;
}

static int
s_rollback (mk_mysql_conn_t *self)
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
    mk_mysql_conn_t *self = (mk_mysql_conn_t *) conn;
    if (streq (sql, BEGIN_SQL) || streq (sql, SNAPSHOT_SQL))
        return s_begin (self, sql);
    if (streq (sql, "COMMIT"))
        return s_commit (self);
    if (streq (sql, "ROLLBACK"))
        return s_rollback (self);
    return mk_mysql_run (self, s_exec_operation, (void *) sql);
}

static bool
s_in_transaction (void *conn)
{
    return ((mk_mysql_conn_t *) conn)->transaction;
}

static int64_t
s_last_insert_id (void *conn)
{
    return ((mk_mysql_conn_t *) conn)->last_insert_id;
}

static int
s_changes (void *conn)
{
    return ((mk_mysql_conn_t *) conn)->changes;
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
    .prepare = mk_mysql_prepare,
    .finalize = mk_mysql_finalize,
    .bind_int = mk_mysql_bind_int,
    .bind_text = mk_mysql_bind_text,
    .bind_blob = mk_mysql_bind_blob,
    .step = mk_mysql_step,
    .column_int = mk_mysql_column_int,
    .column_text = mk_mysql_column_text,
    .column_blob = mk_mysql_column_blob,
    .reset = mk_mysql_reset,
    .queue = mk_mysql_queue,
    .flush = mk_mysql_flush,
    .discard = mk_mysql_discard,
};

/*  mk_db_mysql_stmt: the statements of the MySQL and MariaDB backend (mk_db_mysql.c has
    the rest): server-side prepared statements, their parameters, rows queued to run in
    one bulk execution (MariaDB's array binding), and results stored on the client and
    fetched row by row into buffers sized from their metadata. */
#include "mk_db_mysql.h"

//  ---------------------------------------------------------------- statements

static void
s_free_result (mk_mysql_stmt_t *self)
{
    if (self->handle && self->state == STMT_ROWS)
        mysql_stmt_free_result (self->handle);
    self->state = STMT_READY;
}

static void
s_unlink (mk_mysql_stmt_t *self)
{
    mk_mysql_stmt_t **link = &self->conn->stmts;
    while (*link != self)
        link = &(*link)->next;
    *link = self->next;
}

//  Prepare the statement on the current connection, closing one made on an older one.
static int
s_prepare_handle (mk_mysql_stmt_t *self, unsigned *code)
{
    mk_mysql_conn_t *conn = self->conn;
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
        mk_mysql_set_error (conn, "%s", mysql_stmt_error (self->handle));
        mysql_stmt_close (self->handle);
        self->handle = NULL;
        return -1;
    }
    self->generation = conn->generation;
    return 0;
}

static int
s_prepare_operation (mk_mysql_conn_t *conn, void *arg, unsigned *code)
{
    return s_prepare_handle ((mk_mysql_stmt_t *) arg, code);
}

void *
mk_mysql_prepare (void *conn, const char *sql)
{
    mk_mysql_stmt_t *self = (mk_mysql_stmt_t *) zmalloc (sizeof (mk_mysql_stmt_t));
    assert (self);
    self->conn = (mk_mysql_conn_t *) conn;
    self->sql = mk_strdup (sql);
    self->next = self->conn->stmts;
    self->conn->stmts = self;
    if (mk_mysql_run (self->conn, s_prepare_operation, self)) {
        mk_mysql_finalize (self);
        return NULL;
    }
    self->nparams = (unsigned) mysql_stmt_param_count (self->handle);
    if (self->nparams) {
        self->params = (mk_mysql_param_t *) zmalloc (self->nparams * sizeof (mk_mysql_param_t));
        self->param_binds = (MYSQL_BIND *) zmalloc (self->nparams * sizeof (MYSQL_BIND));
        assert (self->params && self->param_binds);
        for (unsigned i = 0; i < self->nparams; i++)
            self->params[i].type = MYSQL_TYPE_NULL;
    }
    return self;
}

static void
s_clear_params (mk_mysql_stmt_t *self)
{
    for (unsigned i = 0; i < self->nparams; i++) {
        free (self->params[i].data);
        self->params[i] = (mk_mysql_param_t){.type = MYSQL_TYPE_NULL};
    }
}

void
mk_mysql_finalize (void *stmt)
{
    mk_mysql_stmt_t *self = (mk_mysql_stmt_t *) stmt;
    s_unlink (self);
    if (self->handle) {
        s_free_result (self);
        mysql_stmt_close (self->handle);
    }
    s_clear_params (self);
    mk_mysql_discard (self);
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
static mk_mysql_param_t *
s_param (mk_mysql_stmt_t *self, int index)
{
    if (index < 1 || (unsigned) index > self->nparams) {
        mk_mysql_set_error (self->conn, "parameter index %d out of range (the statement has %u)",
                            index, self->nparams);
        return NULL;
    }
    mk_mysql_param_t *param = &self->params[index - 1];
    free (param->data);
    *param = (mk_mysql_param_t){.type = MYSQL_TYPE_NULL};
    return param;
}

int
mk_mysql_bind_int (void *stmt, int index, int64_t value)
{
    mk_mysql_param_t *param = s_param ((mk_mysql_stmt_t *) stmt, index);
    if (!param)
        return -1;
    param->type = MYSQL_TYPE_LONGLONG;
    param->value = value;
    return 0;
}

static int
s_bind_bytes (mk_mysql_stmt_t *self, int index, enum enum_field_types type, const void *data,
              size_t size)
{
    mk_mysql_param_t *param = s_param (self, index);
    if (!param)
        return -1;
    if (size > ULONG_MAX - 1) {
        mk_mysql_set_error (self->conn, "string or blob too big");
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

int
mk_mysql_bind_text (void *stmt, int index, const char *value)
{
    if (!value)
        return s_param ((mk_mysql_stmt_t *) stmt, index) ? 0 : -1;
    return s_bind_bytes ((mk_mysql_stmt_t *) stmt, index, MYSQL_TYPE_STRING, value, strlen (value));
}

int
mk_mysql_bind_blob (void *stmt, int index, const void *data, size_t size)
{
    assert (data || size == 0);
    return s_bind_bytes ((mk_mysql_stmt_t *) stmt, index, MYSQL_TYPE_BLOB, data, size);
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
s_column_reserve (mk_mysql_stmt_t *self, unsigned i, unsigned long size)
{
    mk_mysql_column_t *column = &self->columns[i];
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
s_bind_columns (mk_mysql_stmt_t *self, unsigned *code)
{
    MYSQL_RES *meta = mysql_stmt_result_metadata (self->handle);
    if (!meta) {
        *code = mysql_stmt_errno (self->handle);
        mk_mysql_set_error (self->conn, "%s", mysql_stmt_error (self->handle));
        return -1;
    }
    unsigned count = mysql_num_fields (meta);
    MYSQL_FIELD *fields = mysql_fetch_fields (meta);
    if (count > self->max_columns) {
        self->columns =
            (mk_mysql_column_t *) realloc (self->columns, count * sizeof (mk_mysql_column_t));
        self->column_binds =
            (MYSQL_BIND *) realloc (self->column_binds, count * sizeof (MYSQL_BIND));
        assert (self->columns && self->column_binds);
        memset (self->columns + self->max_columns, 0,
                (count - self->max_columns) * sizeof (mk_mysql_column_t));
        self->max_columns = count;
    }
    self->ncolumns = count;
    memset (self->column_binds, 0, count * sizeof (MYSQL_BIND));
    for (unsigned i = 0; i < count; i++) {
        mk_mysql_column_t *column = &self->columns[i];
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
        mk_mysql_set_error (self->conn, "%s", mysql_stmt_error (self->handle));
        return -1;
    }
    return 0;
}

//  Execute the statement and store its result, preparing it first on a new connection.
static int
s_execute_operation (mk_mysql_conn_t *conn, void *arg, unsigned *code)
{
    mk_mysql_stmt_t *self = (mk_mysql_stmt_t *) arg;
    if (!self->handle || self->generation != conn->generation)
        if (s_prepare_handle (self, code))
            return -1;
    MYSQL_STMT *handle = self->handle;
    //  A statement prepared again must still take the same parameters.
    assert (mysql_stmt_param_count (handle) == self->nparams);
    for (unsigned i = 0; i < self->nparams; i++) {
        mk_mysql_param_t *param = &self->params[i];
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
        mk_mysql_set_error (conn, "%s", mysql_stmt_error (handle));
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
        mk_mysql_set_error (conn, "%s", mysql_stmt_error (handle));
        return -1;
    }
    self->state = STMT_ROWS;
    return s_bind_columns (self, code);
}

//  Read the next stored row into the columns.
static int
s_fetch (mk_mysql_stmt_t *self)
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
            mk_mysql_column_t *column = &self->columns[i];
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
        mk_mysql_set_error (self->conn, "%s", mysql_stmt_error (self->handle));
        return MK_DB_ERROR;
    }
    for (unsigned i = 0; i < self->ncolumns; i++) {
        mk_mysql_column_t *column = &self->columns[i];
        if (!column->integer)
            column->data[column->is_null ? 0 : column->length] = 0;
    }
    return MK_DB_ROW;
}

int
mk_mysql_step (void *stmt)
{
    mk_mysql_stmt_t *self = (mk_mysql_stmt_t *) stmt;
    if (self->state == STMT_DONE)
        return MK_DB_DONE;
    if (self->state == STMT_LOST) {
        mk_mysql_set_error (self->conn, "connection lost while the statement's rows were read");
        return MK_DB_ERROR;
    }
    if (self->state == STMT_READY) {
        int rc = mk_mysql_run (self->conn, s_execute_operation, self);
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
static mk_mysql_column_t *
s_column (mk_mysql_stmt_t *self, int column)
{
    assert (self->state == STMT_ROWS);
    assert (column >= 0 && (unsigned) column < self->ncolumns);
    return &self->columns[column];
}

int64_t
mk_mysql_column_int (void *stmt, int index)
{
    mk_mysql_column_t *column = s_column ((mk_mysql_stmt_t *) stmt, index);
    if (column->is_null)
        return 0;
    if (column->integer)
        return (int64_t) column->value;
    return (int64_t) strtoll (column->data, NULL, 10);
}

const char *
mk_mysql_column_text (void *stmt, int index)
{
    mk_mysql_column_t *column = s_column ((mk_mysql_stmt_t *) stmt, index);
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

const void *
mk_mysql_column_blob (void *stmt, int index, size_t *size)
{
    mk_mysql_column_t *column = s_column ((mk_mysql_stmt_t *) stmt, index);
    if (column->is_null || !column->integer) {
        *size = column->is_null ? 0 : column->length;
        return column->is_null ? "" : column->data;
    }
    const char *text = mk_mysql_column_text (stmt, index);
    *size = strlen (text);
    return text;
}

void
mk_mysql_reset (void *stmt)
{
    mk_mysql_stmt_t *self = (mk_mysql_stmt_t *) stmt;
    s_free_result (self);
    s_clear_params (self);
}

//  ---------------------------------------------------------------- queued rows

//  Move the bound row to the queue.
int
mk_mysql_queue (void *stmt)
{
    mk_mysql_stmt_t *self = (mk_mysql_stmt_t *) stmt;
    if (self->nqueued == self->max_queued) {
        unsigned more = self->max_queued ? 2 * self->max_queued : 64;
        mk_mysql_param_t *grown = (mk_mysql_param_t *) realloc (
            self->queued,
            (size_t) more * (self->nparams ? self->nparams : 1) * sizeof (mk_mysql_param_t));
        assert (grown);
        self->queued = grown;
        self->max_queued = more;
    }
    //  The values move with their buffers; the bindings are left clear.
    memcpy (self->queued + (size_t) self->nqueued * self->nparams, self->params,
            self->nparams * sizeof (mk_mysql_param_t));
    for (unsigned i = 0; i < self->nparams; i++)
        self->params[i] = (mk_mysql_param_t){.type = MYSQL_TYPE_NULL};
    self->nqueued++;
    return 0;
}

void
mk_mysql_discard (void *stmt)
{
    mk_mysql_stmt_t *self = (mk_mysql_stmt_t *) stmt;
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
s_bind_queued (mk_mysql_stmt_t *self, unsigned i, MYSQL_BIND *bind, s_column_values_t *values)
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
            mk_mysql_param_t *param = &self->queued[(size_t) row * self->nparams + i];
            values->data[row] = param->data ? param->data : (char *) "";
            values->lengths[row] = param->length;
        }
        bind->buffer = values->data;
        bind->length = values->lengths;
    }
}

//  Execute every queued row in one round trip (MariaDB's bulk execution).
static int
s_bulk_operation (mk_mysql_conn_t *conn, void *arg, unsigned *code)
{
    mk_mysql_stmt_t *self = (mk_mysql_stmt_t *) arg;
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
        mk_mysql_set_error (conn, "%s", mysql_stmt_error (handle));
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

int
mk_mysql_flush (void *stmt)
{
    mk_mysql_stmt_t *self = (mk_mysql_stmt_t *) stmt;
    if (self->nqueued == 0)
        return MK_DB_DONE;
    int rc;
    s_free_result (self);
    if (self->nqueued == 1) {
        //  One row: executed as any statement is, with the queued values in place of the
        //  bindings (which may hold the row a caller is about to step).
        mk_mysql_param_t *bound = self->params;
        self->params = self->queued;
        rc = mk_mysql_step (self);
        self->params = bound;
        s_free_result (self);
        mk_mysql_discard (self);
        return rc;
    }
    s_free_result (self);
    rc = mk_mysql_run (self->conn, s_bulk_operation, self);
    mk_mysql_discard (self);
    self->state = STMT_READY;
    return rc == 0 ? MK_DB_DONE : rc == MK_DB_CONSTRAINT ? MK_DB_CONSTRAINT : MK_DB_ERROR;
}

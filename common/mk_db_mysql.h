/*  mk_db_mysql: what the two files of the MySQL and MariaDB backend share (private to
    them): the connection (mk_db_mysql.c: the URL, connecting, transactions, the driver
    table) and the statement (mk_db_mysql_stmt.c: parameters, queued rows, results). */
#ifndef MK_DB_MYSQL_H_INCLUDED
#define MK_DB_MYSQL_H_INCLUDED

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

typedef struct _mk_mysql_stmt_t mk_mysql_stmt_t;

typedef struct {
    MYSQL *mysql;           //  the connection, NULL while there is none
    mk_mysql_stmt_t *stmts; //  its statements, linked through next
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
} mk_mysql_conn_t;

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
} mk_mysql_column_t;

//  A parameter's value, owned by the statement.
typedef struct {
    enum enum_field_types type; //  MYSQL_TYPE_NULL until bound
    long long value;            //  an integer
    char *data;                 //  a copy of text or blob bytes
    unsigned long length;       //  bytes in data
} mk_mysql_param_t;

//  A statement is ready to execute, resting on its rows, done with them, or cut off from
//  its rows by a lost connection.
typedef enum { STMT_READY, STMT_ROWS, STMT_DONE, STMT_LOST } mk_mysql_stmt_state_t;

struct _mk_mysql_stmt_t {
    mk_mysql_conn_t *conn;       //  the connection that prepared it
    mk_mysql_stmt_t *next;       //  the connection's next statement
    char *sql;                   //  its text, to prepare again after a reconnect
    MYSQL_STMT *handle;          //  the server's statement, NULL until prepared
    unsigned generation;         //  the connection handle was prepared on
    mk_mysql_stmt_state_t state; //  executed or not, and rows left or not
    unsigned nparams;            //  placeholders in sql
    mk_mysql_param_t *params;    //  their values
    mk_mysql_param_t *queued;    //  rows queued to run in one execution, nparams each
    unsigned nqueued;            //  how many rows
    unsigned max_queued;         //  rows allocated
    MYSQL_BIND *param_binds;     //  the same, as the library takes them
    unsigned ncolumns;           //  columns of the current result, 0 if none
    unsigned max_columns;        //  columns allocated below
    mk_mysql_column_t *columns;  //  the current row
    MYSQL_BIND *column_binds;    //  the same, as the library takes them
};

//  The client library's global state is made once, before any thread's first handle.

//  Record the cause of a failure, for errmsg.
void mk_mysql_set_error (mk_mysql_conn_t *self, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));

//  Run an operation on the connection, connecting first if there is none. When it fails
//  because the connection is gone: outside a transaction, connect again and run it once
//  more; inside one, the transaction is gone with the connection, and so fail.
//  The operation returns 0, MK_DB_CONSTRAINT or -1 with *code and the cause set.
typedef int (mk_mysql_operation_fn) (mk_mysql_conn_t *self, void *arg, unsigned *code);
int mk_mysql_run (mk_mysql_conn_t *self, mk_mysql_operation_fn *operation, void *arg);

//  The statement's functions of the driver table (mk_db_driver.h says what each does).
void *mk_mysql_prepare (void *conn, const char *sql);
void mk_mysql_finalize (void *stmt);
int mk_mysql_bind_int (void *stmt, int index, int64_t value);
int mk_mysql_bind_text (void *stmt, int index, const char *value);
int mk_mysql_bind_blob (void *stmt, int index, const void *data, size_t size);
int mk_mysql_step (void *stmt);
int64_t mk_mysql_column_int (void *stmt, int column);
const char *mk_mysql_column_text (void *stmt, int column);
const void *mk_mysql_column_blob (void *stmt, int column, size_t *size);
void mk_mysql_reset (void *stmt);
int mk_mysql_queue (void *stmt);
int mk_mysql_flush (void *stmt);
void mk_mysql_discard (void *stmt);

#endif

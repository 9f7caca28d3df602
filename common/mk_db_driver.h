/*  mk_db_driver: what mk_db.c, its backends (mk_db_sqlite.c, mk_db_mysql.c) and
    the schema (mk_db_schema.c) share. Private to the db layer: include mk_db.h instead.

    A backend is a table of functions over its own connection and statement handles,
    which the generic layer never looks into. A function that fails returns -1 (step:
    MK_DB_ERROR) and leaves the cause where errmsg () finds it; the generic layer records
    and logs it. Only open composes its own message, as there is no connection yet. */
#ifndef MK_DB_DRIVER_H_INCLUDED
#define MK_DB_DRIVER_H_INCLUDED

#include "mk_db.h"

#include <czmq.h>

//  The SQL dialects a migration is written in; each backend speaks one.
typedef enum { MK_DB_SQLITE, MK_DB_MYSQL, MK_DB_DIALECTS } mk_db_dialect_t;

//  One step of the schema: the SQL that takes a database from version - 1 to version,
//  one text per dialect, each possibly several statements.
typedef struct {
    int version;                     //  1, 2, ... in order, none skipped
    const char *sql[MK_DB_DIALECTS]; //  the statements, per dialect
} mk_db_migration_t;

//  The schema's migrations in order (mk_db_schema.c); *count gets their number.
const mk_db_migration_t *mk_db_schema (size_t *count);

//  A table of the latest schema as mk_db_copy moves it: its columns, and each one's
//  kind, one letter per column: 'i' an integer, 't' text, 'b' a blob.
typedef struct {
    const char *name;
    const char *columns; //  "id, name, ...", in the order of kinds
    const char *kinds;   //  "it..."
} mk_db_table_t;

//  Every table of the latest schema but meta, parents before the rows that name them.
const mk_db_table_t *mk_db_tables (size_t *count);

typedef struct {
    const char *name;           //  the URL scheme, and what mk_db_backend () says
    mk_db_dialect_t dialect;    //  which text of each migration to run
    const char *begin_sql;      //  starts a transaction that will write
    const char *snapshot_sql;   //  starts a transaction that reads one consistent snapshot
    const char *has_table_sql;  //  one parameter, a table name: a row if it exists
    const char *const *options; //  the URL options it knows, NULL-terminated

    //  Connect to location (the URL after "scheme:" and before "?"), with options
    //  (name -> value, only names from the list above). NULL with a malloc'd message
    //  in *error on failure.
    void *(*open) (const char *location, zhashx_t *options, char **error);
    void (*close) (void *conn);
    //  The cause of the connection's last failure.
    const char *(*errmsg) (void *conn);
    //  Run SQL without parameters or rows; it may hold several statements. Transactions
    //  start, commit and roll back through here as begin_sql, "COMMIT" and "ROLLBACK",
    //  each alone, so a backend can tell a transaction's edges.
    int (*exec) (void *conn, const char *sql);
    bool (*in_transaction) (void *conn);
    int64_t (*last_insert_id) (void *conn);
    int (*changes) (void *conn);

    //  Prepare one statement; NULL on error.
    void *(*prepare) (void *conn, const char *sql);
    void (*finalize) (void *stmt);
    int (*bind_int) (void *stmt, int index, int64_t value);
    int (*bind_text) (void *stmt, int index, const char *value);
    int (*bind_blob) (void *stmt, int index, const void *data, size_t size);
    int (*step) (void *stmt);
    int64_t (*column_int) (void *stmt, int column);
    const char *(*column_text) (void *stmt, int column);
    const void *(*column_blob) (void *stmt, int column, size_t *size);
    //  Reset the statement and clear its bindings.
    void (*reset) (void *stmt);

    //  Rows to run later in one round trip, for a backend that has round trips (NULL
    //  where each row is as cheap run at once; mk_db then steps it). queue moves the
    //  bound row to the statement's queue and clears the bindings (0 or -1); flush runs
    //  the queued rows in order as one execution and empties the queue (MK_DB_DONE,
    //  MK_DB_CONSTRAINT or MK_DB_ERROR); discard empties it. reset leaves the queue be.
    int (*queue) (void *stmt);
    int (*flush) (void *stmt);
    void (*discard) (void *stmt);
} mk_db_driver_t;

extern const mk_db_driver_t mk_db_sqlite_driver;
extern const mk_db_driver_t mk_db_mysql_driver;
void mk_db_mysql_library_init (void);

#endif

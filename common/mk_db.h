/*  mk_db: the database. One API over a table of backend drivers (SQLite, and MySQL or
    MariaDB), prepared statements cached by their SQL text, and the versioned
    schema migrations.

    SQL written for this API is backend-neutral: `?` placeholders, parameters bound from
    1, columns read from 0. A mk_db_t is used by one thread at a time.

    Errors: a failure of the database (a prepare, a step, an exec, a transaction) is
    logged here, once, with the SQL and the cause; mk_db_error () then gives the cause
    for a reply, so callers need not log it again. MK_DB_CONSTRAINT is an expected
    outcome (a duplicate name) and is not logged. mk_db_open and mk_db_migrate hand their
    error to the caller in *error instead, or log it when error is NULL. */
#ifndef MK_DB_H_INCLUDED
#define MK_DB_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct _mk_db_t mk_db_t;
typedef struct _mk_stmt_t mk_stmt_t;

#include "mk_db_codes.h"

//  Open a database by URL: "sqlite:PATH" or a plain PATH (SQLite), with optional
//  "?synchronous=full|normal|off" (default full); or
//  "mysql://USER[:PASSWORD]@HOST[:PORT]/DATABASE" (MySQL or MariaDB), or
//  "mysql://USER[:PASSWORD]@/DATABASE?socket=PATH" over a unix socket. Returns NULL and
//  sets *error (when error is not NULL; else the message is logged) to a malloc'd
//  one-line message a person can act on. An unknown scheme is refused; only the scheme
//  is quoted, so a password in a URL never reaches a log. A MySQL connection that is
//  lost is made again by the next call outside a transaction; inside one, the call and
//  the rest of the transaction fail (the server has rolled it back).
mk_db_t *mk_db_open (const char *url, char **error);

//  The URL as it may be shown: without the credentials of a mysql:// URL (a new string).
char *mk_db_url_safe (const char *url);
//  Where a URL's user part (USER[:PASSWORD]) ends: its '@', the last one before the
//  options ('?'), or NULL if it has none. The one rule by which both the MySQL driver
//  reads a URL and mk_db_url_safe hides its password: a password may hold '@' and '/'
//  as they are, and '?' written %3F.
const char *mk_db_url_userinfo_end (const char *url);

//  Set up the client libraries' global state in this thread. Call it in main () (or the
//  thread that outlives the others) before a thread of its own opens a database: the
//  MySQL client initialises OpenSSL, whose state belongs to the thread that made it and
//  is lost when that thread ends.
void mk_db_library_init (void);

//  Finalize every cached statement, close the database and null the pointer. A
//  transaction still open is rolled back.
void mk_db_destroy (mk_db_t **self_p);

//  The backend's name: "sqlite" or "mysql".
const char *mk_db_backend (mk_db_t *self);

//  Apply the pending migrations, each in its own transaction. Returns 0, or -1 with
//  *error set (or logged, when error is NULL) when one fails or when the database's
//  schema is newer than this program knows.
int mk_db_migrate (mk_db_t *self, char **error);

//  The database's schema version: 0 for an empty database, -1 on error.
int mk_db_schema_version (mk_db_t *self);

//  The newest schema version this program knows.
int mk_db_latest_version (void);

//  Start, commit or roll back a transaction: 0 or -1. A SQLite transaction takes the
//  write lock at begin, so two writers queue there instead of failing at commit. Rolling
//  back when no transaction is open (the database may have ended it after an I/O error)
//  is a no-op that returns 0, so a cleanup path can always call it.
int mk_db_begin (mk_db_t *self);
//  Start a transaction that only reads, and reads one consistent snapshot throughout
//  (while others write); end it with mk_db_rollback. 0 or -1.
int mk_db_begin_snapshot (mk_db_t *self);
int mk_db_commit (mk_db_t *self);
int mk_db_rollback (mk_db_t *self);

//  Run SQL that has no parameters and returns no rows: 0 or -1.
int mk_db_exec (mk_db_t *self, const char *sql);

//  A prepared statement for this SQL text (one statement, normally a constant), prepared
//  once and cached by the db, keyed by the text; returned reset with its bindings
//  cleared. Borrowed: never freed by the caller. One use at a time per text: preparing
//  the same text again resets it. NULL on a prepare error (logged with the SQL and the
//  cause). Reset a statement you stop reading before MK_DB_DONE: while it rests on a row
//  it holds SQLite's read snapshot open, which also keeps the WAL from being recycled.
mk_stmt_t *mk_db_prepare (mk_db_t *self, const char *sql);

//  Bind parameter index (from 1): 0 or -1. Text and blobs are copied. NULL text binds
//  NULL; a blob of size 0 binds an empty blob, not NULL.
int mk_stmt_bind_int (mk_stmt_t *self, int index, int64_t value);
int mk_stmt_bind_text (mk_stmt_t *self, int index, const char *value);
int mk_stmt_bind_blob (mk_stmt_t *self, int index, const void *data, size_t size);

//  Run the statement to its next row: MK_DB_ROW, MK_DB_DONE, MK_DB_CONSTRAINT or
//  MK_DB_ERROR. After MK_DB_CONSTRAINT or MK_DB_ERROR the statement is reset and its
//  bindings cleared.
int mk_stmt_step (mk_stmt_t *self);

//  Column (from 0) of the current row. Text is "" for NULL; a blob is never NULL (an
//  empty or NULL blob gives size 0). Both stay valid until the next step or reset.
int64_t mk_stmt_int (mk_stmt_t *self, int column);
const char *mk_stmt_text (mk_stmt_t *self, int column);
const void *mk_stmt_blob (mk_stmt_t *self, int column, size_t *size);

//  Reset the statement and clear its bindings.
void mk_stmt_reset (mk_stmt_t *self);

//  Queue the row bound to a statement that writes one table (INSERT INTO, UPDATE,
//  DELETE FROM) to run with the statement's other queued rows in one round trip: one bulk
//  execution on MySQL; SQLite, which has no round trips to save, runs it at once. The
//  bindings are cleared for the next row. Queued rows run before anything else does on
//  the database (another statement's step, an exec, a commit; mk_db_flush runs them on
//  demand), and a rollback drops them: a transaction still reads its own writes. They
//  run statement by statement: every queued INSERT's rows, then every UPDATE's, then
//  every DELETE's, each statement's rows in order. So queue only rows whose order
//  against other statements' rows does not matter but for that: an update of a row
//  inserted before it is fine; a delete then an insert of the same key is not (read in
//  between, and the delete runs first). And queue only rows whose outcome the caller
//  knows (an insert of a key it knows to be new, an update of a row it holds): how many
//  rows a queued one changed is not told. Returns 0, or MK_DB_CONSTRAINT or MK_DB_ERROR
//  if the rows this one made run first failed (then this row is dropped too).
int mk_stmt_queue (mk_stmt_t *self);

//  Run every queued row now: 0, or MK_DB_CONSTRAINT or MK_DB_ERROR (logged), after
//  which the rows not run are dropped. Queued rows that fail inside a transaction, run by
//  whatever call, make its commit fail: roll it back.
int mk_db_flush (mk_db_t *self);

//  The id given to the row last inserted through this database.
int64_t mk_db_last_insert_id (mk_db_t *self);

//  The number of rows changed by the last INSERT, UPDATE or DELETE.
int mk_db_changes (mk_db_t *self);

//  The last error's text ("" if none yet), e.g. for a reply to a client.
const char *mk_db_error (mk_db_t *self);

//  The rows of a table (named by the caller, never by input), those matching `where`
//  (SQL, or NULL for all); -1 on error.
int64_t mk_db_count (mk_db_t *self, const char *table, const char *where);

//  Copy every row of the cloud's tables from one database to another (any backends,
//  both at this program's schema version): `from` read in one consistent snapshot, so
//  a controller may keep writing it meanwhile; `to` written in one transaction, all or
//  nothing. `to` must hold no rows, unless `replace`: then its rows are deleted first,
//  in the same transaction. fenced: the claim on `to` must be this process's, checked
//  in that transaction (see mk_db_claim_check), so no controller takes `to` over before
//  the copy commits. Returns the number of rows copied, or -1 with *error (a new
//  string, one line). See mk_db_copy.c.
int64_t mk_db_copy (mk_db_t *from, mk_db_t *to, bool replace, bool fenced, char **error);

//  One controller per database: a claim, a row in meta naming its holder (a random
//  token per process, a role for messages, its host, pid, boot and pid namespace). The
//  holder renews it every MK_DB_CLAIM_RENEW_MS and checks it at the start of each write
//  transaction, which keeps a takeover out until that transaction ends. A claim binds
//  until MK_DB_CLAIM_LAPSE_MS after its last renewal, and not at all once its holder is
//  a process of this boot and pid namespace that is gone (a controller killed and
//  started again takes over at once). One from another machine or namespace is judged
//  by watching it: renewed within the lapse, by the taker's own clock, it is alive. See
//  mk_db_claim.c.
#define MK_DB_CLAIM_RENEW_MS 1000
#define MK_DB_CLAIM_LAPSE_MS 10000

//  Take the claim as role (e.g. "maekin-controller"), in transactions of its own; a
//  claim that lapses binds only while renewed, one that does not while its process
//  lives (for work that cannot renew, like a restore's one long transaction). May wait
//  up to the lapse to judge a holder it cannot test. 0: taken; 1: a live holder whose
//  claim lapses has it (a controller), 2: one whose claim does not (it will end), with
//  *holder a new string saying which, for a message; -1 on a database error.
int mk_db_claim (mk_db_t *self, const char *role, bool lapses, char **holder);
//  Inside a transaction: 0 if the claim is this process's, 1 if it is not (another took
//  it over, or gave it up for a restore); -1 on an error. On MySQL it locks the claim's
//  row to the transaction's end.
int mk_db_claim_check (mk_db_t *self);
//  Renew this process's claim, inside the caller's transaction: 0; 1 when the claim is
//  not this process's; -1 on an error.
int mk_db_claim_renew (mk_db_t *self, const char *role);
//  Give it up, if it is this process's: 0 or -1.
int mk_db_claim_release (mk_db_t *self);
//  Who holds the claim now, this process included, without waiting: 1 or 2 (as
//  mk_db_claim) and *holder (a new string); 0 and NULL when nobody does; -1 on an error.
int mk_db_claim_holder (mk_db_t *self, char **holder);

//  For tests on a shared MySQL database: "DROP TABLE IF EXISTS" every table of the
//  schema, meta too (a new string).
char *mk_db_drop_all_sql (void);

void mk_db_test (bool verbose);
void mk_db_url_test (bool verbose);
void mk_db_claim_test (bool verbose);
void mk_db_copy_test (bool verbose);

#endif

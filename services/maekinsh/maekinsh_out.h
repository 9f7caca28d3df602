/*  maekinsh_out: what maekinsh prints. Replies become aligned tables and `key: value`
    lines for people, or documents for programs: JSON or XML as mk_codec writes the
    messages (proto/BUS.md, "JSON and XML"); a list is its reply message holding every
    page's items. Errors and progress go to the error
    stream, one line each. Text from the cloud is never trusted to be printable: control
    characters and bytes that are not UTF-8 are escaped (tables, JSON) or replaced (XML,
    which cannot hold them). */
#ifndef MAEKINSH_OUT_H_INCLUDED
#define MAEKINSH_OUT_H_INCLUDED

#include "maekin.h"

#include <stdio.h>

typedef enum { MAEKINSH_OUT_TABLE, MAEKINSH_OUT_JSON, MAEKINSH_OUT_XML } maekinsh_out_format_t;

typedef struct _maekinsh_out_t maekinsh_out_t;

//  How a table shows a field.
typedef enum {
    MAEKINSH_OUT_COL_TEXT,    //  as it is; "-" for an empty string
    MAEKINSH_OUT_COL_ID,      //  a number; "-" for 0 (none)
    MAEKINSH_OUT_COL_MB,      //  MiB, shown as 512M, 2G, 1.5G
    MAEKINSH_OUT_COL_GB,      //  GiB, shown as 20G; "-" for 0 (none)
    MAEKINSH_OUT_COL_TIME,    //  unix seconds, shown as local time
    MAEKINSH_OUT_COL_TIME_US, //  unix microseconds, shown as local time
    MAEKINSH_OUT_COL_TIME_MS, //  unix milliseconds, shown as local time
} maekinsh_out_col_kind_t;

typedef struct {
    const char *header;           //  the column's title
    const char *field;            //  the proto field it shows ("used.vms": one of a message in
                                  //  it; a repeated string's items are joined by commas)
    maekinsh_out_col_kind_t kind; //  how
} maekinsh_out_col_t;

#define MAEKINSH_OUT_COLS_MAX 10

//  The columns of a list of one message type, for people; each noun's file has its own.
typedef struct {
    const ProtobufCMessageDescriptor *item;         //  the message of a row
    maekinsh_out_col_t cols[MAEKINSH_OUT_COLS_MAX]; //  terminated by a NULL header
} maekinsh_out_table_t;

//  Print documents to `out` and errors and progress to `err` (both borrowed).
maekinsh_out_t *maekinsh_out_new (maekinsh_out_format_t format, FILE *out, FILE *err);
void maekinsh_out_destroy (maekinsh_out_t **self_p);

//  "table", "json" or "xml": the format, or -1 if the name is none of them.
int maekinsh_out_format_parse (const char *name);

//  Keep a reply (takes it): a page of a list, or a show or create reply. What is kept is
//  printed by maekinsh_out_flush as one document, so a list's pages make one table.
void maekinsh_out_add (maekinsh_out_t *self, Maekin__Envelope **reply_p);

//  Print lists of the table's message type as the table (borrowed); other lists, and
//  lists without a table, as `key: value` lines.
void maekinsh_out_set_table (maekinsh_out_t *self, const maekinsh_out_table_t *table);

//  Print what was kept and forget it: 0, or -1 if the output could not be written.
int maekinsh_out_flush (maekinsh_out_t *self);

//  A mutation was accepted: "accepted: task 12 (create web-1 on node1)", or the
//  TaskAccepted as a document. `vm` names the VM if the reply does not. With `waiting`
//  (the task's end follows) a document is left to maekinsh_out_task_end, so that
//  programs read one document.
void maekinsh_out_accepted (maekinsh_out_t *self, Maekin__VmOp op, const char *vm,
                            const Maekin__TaskAccepted *accepted, bool waiting);

//  Something was deleted at once (no task): "deleted: template tiny".
void maekinsh_out_deleted (maekinsh_out_t *self, const char *kind, const char *name);

//  A record of named values, printed at once: "key  value" lines for people, one JSON
//  object (a value of digits only is a number, true and false are booleans) or one XML
//  element named `root`.
void maekinsh_out_record (maekinsh_out_t *self, const char *root, const char *const *keys,
                          const char *const *values, size_t count);

//  A task being waited for changed state: "task 12 (create web-1): dispatched" on err.
void maekinsh_out_progress (maekinsh_out_t *self, const Maekin__Task *task);

//  A wait is over. The task as it last stood; the VM it acted on (NULL if unknown or
//  deleted); gave_up_s > 0 if the wait stopped after that many seconds with the task
//  still going. Prints "done: task 12 (create web-1): running on node1", or the task as
//  a document, and for a task that failed, was cancelled or still runs, its error on err.
void maekinsh_out_task_end (maekinsh_out_t *self, const Maekin__Task *task, const Maekin__Vm *vm,
                            int gave_up_s);

//  An error: "maekinsh: <reason>" on err; in JSON or XML also {status, reason} on out.
void maekinsh_out_error (maekinsh_out_t *self, int status, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

//  True if text is UTF-8 without control characters (fit for a path or a name).
bool maekinsh_out_plain (const char *text);

//  An enum value's short name, e.g. "create" for VM_OP_CREATE (into buf, returned).
const char *maekinsh_out_enum (const ProtobufCEnumDescriptor *descriptor, int value, char *buf,
                               size_t size);

//  The format asked for.
maekinsh_out_format_t maekinsh_out_format (maekinsh_out_t *self);

//  Print one line now (a followed stream's), with a newline: 0, or -1 if it could not
//  be written.
int maekinsh_out_line (maekinsh_out_t *self, const char *line);

void maekinsh_out_test (bool verbose);

#endif

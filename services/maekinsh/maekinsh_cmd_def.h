/*  maekinsh_cmd_def: what maekinsh_cmd's table is made of, for the files that hold its
    rows, one per noun (maekinsh_host.c, maekinsh_template.c, maekinsh_vm.c,
    maekinsh_task.c, maekinsh_event.c, ...). A row names a command, its operand and options,
    the request it sends (built by the generic list and show builders here, or by a
    builder of its own), the reply it expects and the table its list prints for people.
    A new noun is a new file of rows and a line in maekinsh_cmd.c's list of nouns. */
#ifndef MAEKINSH_CMD_DEF_H_INCLUDED
#define MAEKINSH_CMD_DEF_H_INCLUDED

#include "maekinsh_cmd.h"

#define MAEKINSH_CMD_OPTS_MAX 12

//  One option of a command.
typedef struct {
    const char *name; //  "--vcpus"
    const char *meta; //  what its value is, "N"; NULL for a flag
    bool required;    //  must be given
    const char *help; //  one line
} maekinsh_cmd_opt_t;

//  What the command line gave: the operands and each option's value, by the option's
//  place in the command's list ("" for a flag; NULL when not given).
typedef struct {
    const char *operand;
    const char *operand2;
    const char *values[MAEKINSH_CMD_OPTS_MAX];
} maekinsh_cmd_args_t;

//  Fills self->request from the arguments: NULL, or a usage error (a new string).
typedef char *(maekinsh_cmd_build_fn) (maekinsh_cmd_t *self, const maekinsh_cmd_args_t *args);

//  How a command runs once its request is built.
typedef enum {
    MAEKINSH_CMD_ONE,    //  one request, one answer (and with --wait, the task followed)
    MAEKINSH_CMD_LIST,   //  page after page
    MAEKINSH_CMD_WAIT,   //  a task followed to its end
    MAEKINSH_CMD_FOLLOW, //  a stream followed: the row's follow prints what comes
} maekinsh_cmd_run_t;

typedef struct {
    const char *group;    //  "vm"; NULL ends a noun's rows
    const char *verb;     //  "create", "member add"; "" for a command of one word
    const char *operand;  //  "NAME", "ID", "STREAM"; NULL for none
    bool optional;        //  the operand may be left out
    const char *operand2; //  a second one, after it ("KEY"); NULL for none
    const char *subject;  //  what the operand names, for errors
    const char *(*name_check) (const char *); //  how a NAME is checked (NULL: mk_name_check)
    const char *summary;                      //  one line of help
    const maekinsh_cmd_opt_t *opts;           //  terminated by a NULL name
    maekinsh_cmd_build_fn *build;             //  makes the request
    maekinsh_cmd_run_t run;                   //  how it runs
    Maekin__Envelope__BodyCase request;       //  the body of its request
    Maekin__Envelope__BodyCase reply;         //  the body of a good reply
    bool mutating;                            //  its request carries a request id
    Maekin__VmOp op;                          //  the operation of a VM action
    const char *const *(*states) (void);      //  what --state may name, for lists
    const maekinsh_out_table_t *table;        //  a list's columns for people
    int (*follow) (maekinsh_cmd_t *self);     //  MAEKINSH_CMD_FOLLOW: its exit status
    const char *service;                      //  where its requests go; NULL: `cloud`
} maekinsh_cmd_def_t;

struct _maekinsh_cmd_t {
    const maekinsh_cmd_def_t *def; //  the command's row in the table
    Maekin__Envelope *request;     //  the first request to send, owned
    const char *subject;           //  the operand, borrowed from argv
    bool every_page;               //  a list without --limit: fetch all its pages
    bool wait;                     //  --wait: follow the accepted task to its end
    int wait_s;                    //  give up waiting after this many seconds
    uint64_t task_id;              //  task wait: the task
    char topic[96];                //  a followed stream's topic (prefix)
    uint64_t count;                //  a followed stream: stop after this many; 0: never
    const char *vm;                //  metrics tail --vm: the VM's name or UUID, borrowed
    bool local;                    //  host info --local: this node's monitor only
    const char *monitor;           //  host info: this node's monitor's endpoint, borrowed
    const char *secret_file;       //  enrol --multicast-key: where the key goes, borrowed
    //  Borrowed while the command runs:
    mk_client_t *client;    //  the bus
    const char *endpoint;   //  the broker's endpoint, for errors
    const char *stream_out; //  the broker's stream endpoint, for followed streams
    int timeout_ms;         //  each attempt of a request
    maekinsh_out_t *out;    //  where replies go
};

#define MAEKINSH_BODY(name) MAEKIN__ENVELOPE__BODY_##name
#define MAEKINSH_OP(name)   MAEKIN__VM_OP__VM_OP_##name

//  Each noun's rows, ended by a row without a group, and its tables.
extern const maekinsh_cmd_def_t maekinsh_host_commands[];
extern const maekinsh_cmd_def_t maekinsh_template_commands[];
extern const maekinsh_cmd_def_t maekinsh_vm_commands[];
extern const maekinsh_cmd_def_t maekinsh_task_commands[];
extern const maekinsh_cmd_def_t maekinsh_event_commands[];
extern const maekinsh_cmd_def_t maekinsh_metrics_commands[];
extern const maekinsh_cmd_def_t maekinsh_user_commands[];
extern const maekinsh_cmd_def_t maekinsh_apikey_commands[];
extern const maekinsh_cmd_def_t maekinsh_audit_commands[];
extern const maekinsh_cmd_def_t maekinsh_vi_commands[];
extern const maekinsh_cmd_def_t maekinsh_key_commands[];
extern const maekinsh_cmd_def_t maekinsh_enrol_commands[];
extern const maekinsh_cmd_def_t maekinsh_pool_commands[];
extern const maekinsh_out_table_t maekinsh_host_table;
extern const maekinsh_out_table_t maekinsh_domain_table;
extern const maekinsh_out_table_t maekinsh_template_table;
extern const maekinsh_out_table_t maekinsh_vm_table;
extern const maekinsh_out_table_t maekinsh_task_table;
extern const maekinsh_out_table_t maekinsh_event_table;
extern const maekinsh_out_table_t maekinsh_user_table;
extern const maekinsh_out_table_t maekinsh_apikey_table;
extern const maekinsh_out_table_t maekinsh_audit_table;
extern const maekinsh_out_table_t maekinsh_vi_table;
extern const maekinsh_out_table_t maekinsh_key_table;

//  The first row of the table (def NULL) or the one after def; NULL after the last.
const maekinsh_cmd_def_t *maekinsh_cmd_def_next (const maekinsh_cmd_def_t *def);

//  The row of a command ("vm", "create"), or of the group's first with verb NULL.
const maekinsh_cmd_def_t *maekinsh_cmd_def_find (const char *group, const char *verb);

//  "vm create", or "login" for a command of one word (verb ""): in a static buffer.
const char *maekinsh_cmd_words (const maekinsh_cmd_def_t *def);

//  The place of an option in the row's list, or -1.
int maekinsh_cmd_opt_index (const maekinsh_cmd_def_t *def, const char *name);

//  True if a task in this state has ended: done, failed or cancelled.
bool maekinsh_cmd_final (const char *state);

//  Runs the command's list request, every page, into its output: its exit status.
int maekinsh_cmd_run_list (maekinsh_cmd_t *self);

//  Helpers for the builders. Those that return char * return NULL, or a usage error (a
//  new string, one line).

//  Options that every command with --wait shares, and a command without options.
extern const maekinsh_cmd_opt_t maekinsh_cmd_no_opts[];
extern const maekinsh_cmd_opt_t maekinsh_cmd_wait_opts[];

//  The list request of the row (ListRequest `page`), from --limit, --state, --host,
//  --name-prefix, --vm and --vi.
maekinsh_cmd_build_fn maekinsh_cmd_build_list;
//  The request that names one object by its operand: a `name`, or a task's `id`; and
//  its `vi`, if it has one, from --vi.
maekinsh_cmd_build_fn maekinsh_cmd_build_show;

//  The value of an option of the command, NULL if it was not given.
const char *maekinsh_cmd_arg (maekinsh_cmd_t *self, const maekinsh_cmd_args_t *args,
                              const char *name);
//  A usage error ending in the command's usage line.
char *maekinsh_cmd_usage_error (const maekinsh_cmd_def_t *def, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));
//  A whole number from min to max into *value.
char *maekinsh_cmd_number (const char *what, const char *text, uint64_t min, uint64_t max,
                           uint64_t *value);
//  A name of a VM, template or host.
char *maekinsh_cmd_name (const char *what, const char *name);
//  One of a NULL-ended list of words.
char *maekinsh_cmd_one_of (const char *what, const char *value, const char *const *words);
//  --wait (always, for task wait) and --timeout.
char *maekinsh_cmd_wait_args (maekinsh_cmd_t *self, const maekinsh_cmd_args_t *args, bool always);
//  A task id into self->task_id.
char *maekinsh_cmd_task_id (maekinsh_cmd_t *self, const char *text);
//  Keeps the request built on the caller's stack as self->request (replacing one built
//  before, which env may borrow from); a mutating row's request gets a new request id.
void maekinsh_cmd_finish (maekinsh_cmd_t *self, Maekin__Envelope *env);

//  For a row's follow: one request to the row's service, `cloud` unless it names another
//  (the caller's), and its reply if it is a good one of the kind expected (the caller's
//  too); else NULL, the error printed and *status the exit status.
//  For a row's follow that looks at the reply itself: one request to the row's service
//  (the caller's, and so is the reply); then whether the reply is a good one of the kind
//  expected (0), or its error printed and the exit status.
Maekin__Envelope *maekinsh_cmd_call (maekinsh_cmd_t *self, Maekin__Envelope *request);
int maekinsh_cmd_check (maekinsh_cmd_t *self, const Maekin__Envelope *reply,
                        Maekin__Envelope__BodyCase expect);
Maekin__Envelope *maekinsh_cmd_ask (maekinsh_cmd_t *self, Maekin__Envelope *request,
                                    Maekin__Envelope__BodyCase expect, int *status);

//  For the self-tests: a NULL-ended list of words; a command parsed that must be good;
//  true if text is a UUID in its canonical form. Each noun tests its rows.
#define MAEKINSH_WORDS(...) ((const char *[]){__VA_ARGS__, NULL})
maekinsh_cmd_t *maekinsh_cmd_test_good (const char **words);
//  A command that must be refused, with an error (one line) that holds expect.
void maekinsh_cmd_test_bad (const char **words, const char *expect);
bool maekinsh_cmd_test_is_uuid (const char *text);
void maekinsh_host_test (bool verbose);
void maekinsh_template_test (bool verbose);
void maekinsh_vm_test (bool verbose);
void maekinsh_task_test (bool verbose);
void maekinsh_event_test (bool verbose);
void maekinsh_metrics_test (bool verbose);
void maekinsh_user_test (bool verbose);
void maekinsh_apikey_test (bool verbose);
void maekinsh_audit_test (bool verbose);
void maekinsh_vi_test (bool verbose);
void maekinsh_key_test (bool verbose);
void maekinsh_enrol_test (bool verbose);
void maekinsh_pool_test (bool verbose);

#endif

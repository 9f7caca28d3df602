/*  controller_history: the monitoring history, as the paper logs it in the database.
    Each host's and VM's values as the samples bring them: the last raw_points of them
    in memory, and their averages over each fine step (a minute by default) and each
    coarse step (ten minutes) in the metrics table, kept fine_keep_s and coarse_keep_s
    (a day, a month). A step is the controller's own clock's: a sample counts in the step
    in which it came.

    Never in the task path's way: a step's rows are made when it ends (at a subject's
    first sample in the next step, or by a pass over the subjects each fine step, made
    in slices of a bounded size, one a batch), queued in memory, and written a bounded
    number a batch inside the batch's own transaction (one bulk statement on MySQL);
    expired rows are deleted a bounded number a batch too. A row is dropped from the queue only once
   its batch committed; a failed batch leaves it for the next. Rows are written with INSERT OR
    IGNORE, so a step written twice (a commit whose answer was lost) is no failure. */
#ifndef CONTROLLER_HISTORY_H_INCLUDED
#define CONTROLLER_HISTORY_H_INCLUDED

#include "maekin.h"

#include "mk_db.h"
#include "mk_metric.h"

typedef struct {
    int raw_points;    //  samples of each subject kept in memory (1 ..)
    int fine_step_s;   //  60: minute averages
    int fine_keep_s;   //  86400: for a day
    int coarse_step_s; //  600: ten-minute averages, a multiple of fine_step_s
    int coarse_keep_s; //  2592000: for 30 days
} controller_history_opts_t;

//  The defaults: 12 samples (a minute at 5 s), minutes for a day, ten minutes for 30 days.
#define CONTROLLER_HISTORY_DEFAULTS                                                                \
    {                                                                                              \
        12, 60, 86400, 600, 2592000                                                                \
    }

#define HISTORY_HOST 0
#define HISTORY_VM   1

typedef struct _controller_history_t controller_history_t;

//  NULL, or what is wrong with the options (a new string).
char *controller_history_check (const controller_history_opts_t *opts);

//  NULL and *error (a new string) if the options do not fit together.
controller_history_t *controller_history_new (const controller_history_opts_t *opts, char **error);
void controller_history_destroy (controller_history_t **self_p);

//  What is written already: each step's last row, so that none is written twice.
int controller_history_load (controller_history_t *self, mk_db_t *db);

//  A host's sample (its rates from its sample before), and a VM's latest values, taken
//  at now_ms (the controller's clock).
void controller_history_add_host (controller_history_t *self, const Maekin__HostSample *sample,
                                  int64_t now_ms);
void controller_history_add_vm (controller_history_t *self, const mk_metric_vm_t *vm,
                                int64_t now_ms);

//  Close the steps that ended by now_s: their averages join the queue of rows. One
//  slice of the pass each call; the pass starts when a fine step does.
void controller_history_roll (controller_history_t *self, int64_t now_s);

//  True while rows wait to be written or a pass is under way: batches are wanted.
bool controller_history_busy (controller_history_t *self);

//  In the caller's transaction: up to max rows of the queue, then up to max expired rows
//  deleted. 0, or -1 (the transaction is to be rolled back). Then say whether it was
//  committed: only then are the rows it wrote gone from the queue.
int controller_history_save (controller_history_t *self, mk_db_t *db, int64_t now_s, size_t max);
void controller_history_saved (controller_history_t *self, bool committed);

//  Rows waiting to be written.
size_t controller_history_queued (controller_history_t *self);

//  A subject's points (a host: its name, a string of size bytes; a VM: its 16-byte UUID)
//  since since_s, at step_s (0: the finest kept that far back; below
//  the fine step, the raw samples; else a multiple of the fine or the coarse step):
//  into reply's points (allocated by the caller's alloc), with its step. 0, or an HTTP
//  status with *error (a new string) saying what to ask instead.
typedef void *(controller_history_alloc_fn) (void *arg, size_t size);
int controller_history_query (controller_history_t *self, mk_db_t *db, int kind,
                              const void *subject, size_t size, int64_t since_s, int64_t now_s,
                              uint32_t step_s, controller_history_alloc_fn *alloc, void *arg,
                              Maekin__MetricsHistoryReply *reply, char **error);

void controller_history_test (bool verbose);

#endif

/*  controller_events: the event streams (event.vm, event.task, event.host). Each event
    gets the next gapless sequence number of its stream; a batch's events are written to
    the database in the batch's transaction (one row per stream per batch) and published
    only after it commits, so a subscriber never sees what the database does not hold,
    and one that missed some asks for "events since N". */
#ifndef CONTROLLER_EVENTS_H_INCLUDED
#define CONTROLLER_EVENTS_H_INCLUDED

#include "maekin.h"
#include "mk_db.h"

typedef enum { EVENTS_VM, EVENTS_TASK, EVENTS_HOST, EVENTS_STREAMS } events_stream_t;

typedef struct _controller_events_t controller_events_t;

//  pub (borrowed, may be NULL) is where events are published after commit.
controller_events_t *controller_events_new (zsock_t *pub);
void controller_events_destroy (controller_events_t **self_p);

//  Read each stream's last sequence number from the database: 0 or -1.
int controller_events_load (controller_events_t *self, mk_db_t *db);

//  Add an event to the current batch. vm: the key of the VM it is about ("VI:NAME", or
//  NAME in `default`), whose VI the event carries; NULL for a host's.
void controller_events_add (controller_events_t *self, events_stream_t stream, const char *subject,
                            const char *vm, const char *state, const char *detail,
                            uint64_t task_id);

//  Write the batch (inside the caller's transaction): 0 or -1.
int controller_events_save (controller_events_t *self, mk_db_t *db, int64_t now);
//  After the commit: publish the batch and clear it.
void controller_events_publish (controller_events_t *self);
//  After a rollback: forget the batch and give its sequence numbers back.
void controller_events_abort (controller_events_t *self);

//  The stream's name ("event.vm"), and back (-1 if unknown).
const char *controller_events_name (events_stream_t stream);
int controller_events_parse (const char *name);

//  Committed events of a stream after `after`, at most `limit` of those `visible` says
//  the caller may see (NULL: all), into a new reply the caller frees with
//  maekin__events_since_reply__free_unpacked; its `last` is past the hidden ones too.
//  NULL on a db error.
typedef bool (controller_events_visible_fn) (const Maekin__Event *event, void *arg);
Maekin__EventsSinceReply *controller_events_since (controller_events_t *self, mk_db_t *db,
                                                   events_stream_t stream, uint64_t after,
                                                   uint32_t limit,
                                                   controller_events_visible_fn *visible,
                                                   void *arg);

void controller_events_test (bool verbose);

#endif

/*  controller_events: the event streams, sequenced, stored in batches, published. */
#include "controller_events.h"

#include "controller_store.h"
#include "mk_msg.h"

static const char *s_names[EVENTS_STREAMS] = {"event.vm", "event.task", "event.host"};

struct _controller_events_t {
    zsock_t *pub;                    //  where to publish, borrowed
    uint64_t last[EVENTS_STREAMS];   //  the last committed sequence number
    uint64_t next[EVENTS_STREAMS];   //  the last one given out in this batch
    zlistx_t *batch[EVENTS_STREAMS]; //  Maekin__Event * of this batch, owned
};

static void
s_event_free (void **item)
{
    Maekin__Event *event = (Maekin__Event *) *item;
    free (event->subject);
    free (event->state);
    free (event->detail);
    free (event->vi);
    free (event);
    *item = NULL;
}

controller_events_t *
controller_events_new (zsock_t *pub)
{
    controller_events_t *self = (controller_events_t *) zmalloc (sizeof (controller_events_t));
    self->pub = pub;
    for (int i = 0; i < EVENTS_STREAMS; i++) {
        self->batch[i] = zlistx_new ();
        zlistx_set_destructor (self->batch[i], s_event_free);
    }
    return self;
}

void
controller_events_destroy (controller_events_t **self_p)
{
    assert (self_p);
    controller_events_t *self = *self_p;
    if (self) {
        for (int i = 0; i < EVENTS_STREAMS; i++)
            zlistx_destroy (&self->batch[i]);
        free (self);
        *self_p = NULL;
    }
}

int
controller_events_load (controller_events_t *self, mk_db_t *db)
{
    for (int i = 0; i < EVENTS_STREAMS; i++) {
        int64_t last = store_events_last (db, s_names[i]);
        if (last < 0)
            return -1;
        self->last[i] = self->next[i] = (uint64_t) last;
        zlistx_purge (self->batch[i]);
    }
    return 0;
}

void
controller_events_add (controller_events_t *self, events_stream_t stream, const char *subject,
                       const char *vm, const char *state, const char *detail, uint64_t task_id)
{
    assert (stream < EVENTS_STREAMS);
    Maekin__Event *event = (Maekin__Event *) zmalloc (sizeof (Maekin__Event));
    maekin__event__init (event);
    event->stream = (char *) s_names[stream];
    event->seq = ++self->next[stream];
    event->time_us = zclock_time () * 1000;
    event->subject = strdup (subject ? subject : "");
    event->state = strdup (state ? state : "");
    event->detail = strdup (detail ? detail : "");
    event->task_id = task_id;
    const char *colon = vm ? strchr (vm, ':') : NULL;
    event->vi = colon ? strndup (vm, (size_t) (colon - vm)) : strdup (vm ? "default" : "");
    zlistx_add_end (self->batch[stream], event);
}

//  A stream's batch as a message (the same shape as an "events since" reply); the
//  caller frees batch->events.
static void
s_batch_message (controller_events_t *self, int stream, Maekin__EventsSinceReply *batch)
{
    size_t count = zlistx_size (self->batch[stream]);
    maekin__events_since_reply__init (batch);
    batch->events = (Maekin__Event **) malloc ((count + 1) * sizeof (Maekin__Event *));
    for (Maekin__Event *e = (Maekin__Event *) zlistx_first (self->batch[stream]); e;
         e = (Maekin__Event *) zlistx_next (self->batch[stream]))
        batch->events[batch->n_events++] = e;
    batch->last = self->next[stream];
}

int
controller_events_save (controller_events_t *self, mk_db_t *db, int64_t now)
{
    for (int i = 0; i < EVENTS_STREAMS; i++) {
        if (zlistx_size (self->batch[i]) == 0)
            continue;
        Maekin__EventsSinceReply batch;
        s_batch_message (self, i, &batch);
        size_t size = maekin__events_since_reply__get_packed_size (&batch);
        uint8_t *body = (uint8_t *) malloc (size);
        maekin__events_since_reply__pack (&batch, body);
        int rc = store_events_save (db, s_names[i], self->next[i], body, size, now);
        free (body);
        free (batch.events);
        if (rc != 1)
            return -1;
    }
    return 0;
}

void
controller_events_publish (controller_events_t *self)
{
    for (int i = 0; i < EVENTS_STREAMS; i++) {
        //  One message per stream per batch: a busy controller publishes a few messages
        //  a batch, not several per task.
        if (self->pub && zlistx_size (self->batch[i])) {
            Maekin__EventsSinceReply batch;
            s_batch_message (self, i, &batch);
            Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
            env.status = MK_OK;
            env.body_case = MAEKIN__ENVELOPE__BODY_EVENTS_SINCE_REPLY;
            env.events_since_reply = &batch;
            zmsg_t *msg = zmsg_new ();
            zmsg_addstr (msg, s_names[i]);
            zmsg_append (msg, &(zframe_t *){mk_msg_pack (&env)});
            zmsg_send (&msg, self->pub);
            free (batch.events);
        }
        zlistx_purge (self->batch[i]);
        self->last[i] = self->next[i];
    }
}

void
controller_events_abort (controller_events_t *self)
{
    for (int i = 0; i < EVENTS_STREAMS; i++) {
        zlistx_purge (self->batch[i]);
        self->next[i] = self->last[i];
    }
}

const char *
controller_events_name (events_stream_t stream)
{
    return stream < EVENTS_STREAMS ? s_names[stream] : "?";
}

int
controller_events_parse (const char *name)
{
    for (int i = 0; i < EVENTS_STREAMS; i++)
        if (streq (name, s_names[i]))
            return i;
    return -1;
}

typedef struct {
    Maekin__EventsSinceReply *reply;
    uint64_t after;
    uint32_t limit;
    bool failed;
    controller_events_visible_fn *visible; //  NULL: every event
    void *arg;
    uint64_t seen; //  the last seq looked at: returned, or hidden from the caller
} since_t;

static void
s_since_batch (const void *body, size_t size, void *arg)
{
    since_t *since = (since_t *) arg;
    Maekin__EventsSinceReply *batch =
        maekin__events_since_reply__unpack (NULL, size, (const uint8_t *) body);
    if (!batch) {
        since->failed = true;
        return;
    }
    //  Move the events we want out of the stored batch into the reply.
    Maekin__EventsSinceReply *reply = since->reply;
    for (size_t i = 0; i < batch->n_events; i++) {
        Maekin__Event *e = batch->events[i];
        if (e->seq <= since->after || reply->n_events >= since->limit)
            continue;
        since->seen = e->seq;
        if (since->visible && !since->visible (e, since->arg))
            continue;
        Maekin__Event *copy = (Maekin__Event *) zmalloc (sizeof (Maekin__Event));
        maekin__event__init (copy);
        copy->stream = strdup (e->stream);
        copy->seq = e->seq;
        copy->time_us = e->time_us;
        copy->subject = strdup (e->subject);
        copy->state = strdup (e->state);
        copy->detail = strdup (e->detail);
        copy->task_id = e->task_id;
        copy->vi = strdup (e->vi);
        reply->events = (Maekin__Event **) realloc (reply->events, (reply->n_events + 1)
                                                                       * sizeof (Maekin__Event *));
        reply->events[reply->n_events++] = copy;
        reply->last = copy->seq;
    }
    maekin__events_since_reply__free_unpacked (batch, NULL);
}

Maekin__EventsSinceReply *
controller_events_since (controller_events_t *self, mk_db_t *db, events_stream_t stream,
                         uint64_t after, uint32_t limit, controller_events_visible_fn *visible,
                         void *arg)
{
    //  Built with the same allocator protobuf-c frees with, so one call frees it all.
    Maekin__EventsSinceReply *reply =
        (Maekin__EventsSinceReply *) zmalloc (sizeof (Maekin__EventsSinceReply));
    maekin__events_since_reply__init (reply);
    since_t since = {reply, after, limit ? limit : 1000, false, visible, arg, 0};
    //  Each stored row holds a batch; enough rows to fill `limit` events at worst.
    int rc = store_events_since (db, s_names[stream], after, since.limit, s_since_batch, &since);
    if (rc < 0 || since.failed) {
        maekin__events_since_reply__free_unpacked (reply, NULL);
        return NULL;
    }
    //  Past the events hidden from the caller too, so its next page starts after them.
    if (since.seen > after)
        reply->last = since.seen;
    else if (reply->n_events == 0)
        reply->last = self->last[stream] > after ? after : self->last[stream];
    return reply;
}

static bool
s_lab_only (const Maekin__Event *event, void *arg)
{
    return streq (event->vi, "lab");
}

void
controller_events_test (bool verbose)
{
    char dir[] = "/tmp/controller_events_test.XXXXXX";
    assert (mkdtemp (dir));
    char url[128];
    snprintf (url, sizeof url, "sqlite:%s/state.db?synchronous=off", dir);
    mk_db_t *db = mk_db_open (url, NULL);
    assert (db && mk_db_migrate (db, NULL) == 0);

    zsock_t *pub = zsock_new_pub ("inproc://controller_events_test");
    zsock_t *sub = zsock_new_sub ("inproc://controller_events_test", "event.vm");
    controller_events_t *events = controller_events_new (pub);
    assert (controller_events_load (events, db) == 0);

    //  A batch: two VM events, one task event, committed and published.
    assert (mk_db_begin (db) == 0);
    controller_events_add (events, EVENTS_VM, "web-1", "web-1", "creating", "", 1);
    controller_events_add (events, EVENTS_TASK, "1", "lab:web-1", "queued", "create web-1", 1);
    controller_events_add (events, EVENTS_VM, "web-1", "web-1", "running", "", 1);
    assert (controller_events_save (events, db, 1) == 0);
    assert (mk_db_commit (db) == 0);
    controller_events_publish (events);
    zmsg_t *msg = zmsg_recv (sub);
    char *topic = zmsg_popstr (msg);
    assert (streq (topic, "event.vm"));
    zframe_t *body = zmsg_pop (msg);
    const char *why;
    Maekin__Envelope *env = mk_msg_unpack (zframe_data (body), zframe_size (body), &why);
    assert (env && env->body_case == MAEKIN__ENVELOPE__BODY_EVENTS_SINCE_REPLY);
    Maekin__EventsSinceReply *live = env->events_since_reply;
    assert (live->n_events == 2 && live->last == 2);
    for (uint64_t seq = 1; seq <= 2; seq++)
        assert (live->events[seq - 1]->seq == seq);
    assert (streq (live->events[1]->state, "running"));
    mk_msg_free (&env);
    zframe_destroy (&body);
    free (topic);
    zmsg_destroy (&msg);

    //  A rolled back batch gives its numbers back: the next event is seq 3, not 4.
    assert (mk_db_begin (db) == 0);
    controller_events_add (events, EVENTS_VM, "web-1", "web-1", "stopping", "", 2);
    assert (controller_events_save (events, db, 2) == 0);
    assert (mk_db_rollback (db) == 0);
    controller_events_abort (events);
    assert (mk_db_begin (db) == 0);
    controller_events_add (events, EVENTS_VM, "web-1", "web-1", "stopped", "", 2);
    assert (controller_events_save (events, db, 3) == 0);
    assert (mk_db_commit (db) == 0);
    controller_events_publish (events);

    //  Since: all, after 1, after the end; and a restart reads the last seq back.
    Maekin__EventsSinceReply *since =
        controller_events_since (events, db, EVENTS_VM, 0, 100, NULL, NULL);
    assert (since->n_events == 3 && since->events[2]->seq == 3);
    assert (streq (since->events[2]->state, "stopped") && since->last == 3);
    maekin__events_since_reply__free_unpacked (since, NULL);
    since = controller_events_since (events, db, EVENTS_VM, 1, 1, NULL, NULL);
    assert (since->n_events == 1 && since->events[0]->seq == 2);
    maekin__events_since_reply__free_unpacked (since, NULL);
    since = controller_events_since (events, db, EVENTS_VM, 3, 100, NULL, NULL);
    assert (since->n_events == 0 && since->last == 3);
    maekin__events_since_reply__free_unpacked (since, NULL);
    controller_events_t *again = controller_events_new (NULL);
    assert (controller_events_load (again, db) == 0);
    controller_events_add (again, EVENTS_VM, "web-2", "web-2", "creating", "", 3);
    controller_events_add (again, EVENTS_TASK, "3", "web-2", "queued", "", 3);
    assert (controller_events_save (again, db, 4) == 0);
    controller_events_publish (again);
    since = controller_events_since (again, db, EVENTS_TASK, 0, 100, NULL, NULL);
    assert (since->n_events == 2 && since->events[1]->seq == 2);
    //  Each carries its VM's VI.
    assert (streq (since->events[0]->vi, "lab") && streq (since->events[1]->vi, "default"));
    maekin__events_since_reply__free_unpacked (since, NULL);
    //  A caller who may see only lab's: the other is left out, and `last` passes it.
    since = controller_events_since (again, db, EVENTS_TASK, 0, 100, s_lab_only, NULL);
    assert (since->n_events == 1 && streq (since->events[0]->vi, "lab") && since->last == 2);
    maekin__events_since_reply__free_unpacked (since, NULL);
    since = controller_events_since (again, db, EVENTS_TASK, 1, 100, s_lab_only, NULL);
    assert (since->n_events == 0 && since->last == 2);
    maekin__events_since_reply__free_unpacked (since, NULL);
    assert (controller_events_parse ("event.host") == EVENTS_HOST);
    assert (controller_events_parse ("event.nope") == -1);

    controller_events_destroy (&again);
    controller_events_destroy (&events);
    zsock_destroy (&sub);
    zsock_destroy (&pub);
    mk_db_destroy (&db);
    char command[160];
    snprintf (command, sizeof command, "rm -rf '%s'", dir);
    assert (system (command) == 0);
}

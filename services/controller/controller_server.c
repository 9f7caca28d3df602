/*  controller_server: the global controller as an actor: its loop, the batch that
    handles everything waiting in one transaction, the claim on the database, and what
    it does while the database is away or refuses writes. What a request does is in the
    file of its resource (see controller_core.h). */
#include "controller_core.h"

#include "mk_hash.h"

#include "mk_metric.h"

#include "mk_sock.h"
#include "mk_wire.h"

void
controller_free (void **item)
{
    free (*item);
    *item = NULL;
}

static void
s_inflight_free (void **item)
{
    inflight_t *task = (inflight_t *) *item;
    zframe_destroy (&task->packed);
    free (task);
    *item = NULL;
}

static void
s_outgoing_free (void **item)
{
    outgoing_t *out = (outgoing_t *) *item;
    zframe_destroy (&out->body);
    free (out);
    *item = NULL;
}

//  Periodic work inside a batch: hosts that stopped reporting, tasks to retry or time
//  out, waits that end, request ids to forget, the claim to renew.
static void
s_tick (controller_t *self)
{
    int64_t mono = zclock_mono ();
    //  Time the controller itself stood still (stopped, starved, a slow disk) is not
    //  silence of the agents: their reports may still sit unread in our queues.
    int64_t stall = self->last_tick ? mono - self->last_tick - TICK_MS : 0;
    self->last_tick = mono;
    controller_host_tick (self, mono, stall);
    controller_task_tick (self, mono);
    controller_buskey_tick (self);
    if (mono >= self->next_expiry) {
        //  Ended credentials are kept a while (who held what, when), then forgotten.
        if (store_request_expire (self->db, self->now - self->opts.request_ttl_s) < 0
            || store_cred_expire (self->db, self->now - CRED_KEEP_S) < 0
            || store_join_token_expire (self->db, self->now) < 0
            || store_audit_expire (self->db,
                                   (self->now - 86400LL * self->opts.audit_keep_days) * 1000000)
                   < 0)
            self->failed = true;
        else if (mk_bloom_count (self->request_ids) > FILTER_CAPACITY
                 || mk_bloom_count (self->vm_names) > FILTER_CAPACITY) {
            if (controller_load_filters (self) < 0)
                self->failed = true;
        }
        self->next_expiry = mono + 60000;
    }
    //  The claim on the database, renewed. Taken over, it means another controller
    //  writes the cloud's state now (this one stood still past the lapse): stop.
    if (mono >= self->next_claim) {
        int rc = mk_db_claim_renew (self->db, ROLE);
        if (rc < 0)
            self->failed = true;
        else if (rc == 1)
            self->lost = true;
        self->next_claim = mono + MK_DB_CLAIM_RENEW_MS;
    }
    self->next_tick = mono + TICK_MS;
}

//  ---------------------------------------------------------------- the batch

static bool s_reload (controller_t *self);

//  While the database refuses writes (a full disk, say): reads are answered from what is
//  committed, writes are refused at once with the cause, and agents' answers wait on
//  their socket; a batch tries to write again when the backoff ends. Without this, each
//  failed batch would reload, dispatch again, fail again on the answers, and refuse
//  every read in them, thousands of times a second.
static void
s_serve_reads (controller_t *self)
{
    self->now = zclock_time () / 1000;
    for (int handled = 0; handled < self->opts.batch_max; handled++) {
        mk_request_t request;
        int rc = mk_worker_recv_nowait (self->worker, &request);
        if (rc < 0)
            break;
        if (rc == 0)
            continue;
        //  Agents' liveness reports still count, or their hosts would go down meanwhile.
        bool ping = request.env->body_case == MAEKIN__ENVELOPE__BODY_HOST_REGISTER
                    && controller_host_report_is_ping (self, request.env->host_register);
        if (controller_request_writes (request.env->body_case) && !ping
            && !(request.env->body_case == MAEKIN__ENVELOPE__BODY_HOST_REGISTER
                 && controller_host_seen_unwritable (self, &request)))
            controller_reply_status (self, &request, MK_UNAVAILABLE,
                                     "the database takes no writes now (%s); nothing was changed, "
                                     "retry later",
                                     self->write_error);
        else
            controller_request_handle (self, &request);
        mk_request_clear (&request);
    }
    for (outgoing_t *out = (outgoing_t *) zlistx_first (self->out); out;
         out = (outgoing_t *) zlistx_next (self->out))
        mk_worker_reply_frame (self->worker, out->token, &out->body);
    zlistx_purge (self->out);
}

//  Instead of the replies a batch built, which did not happen: 503 with the reason.
static void
s_fail_replies (controller_t *self, const char *reason)
{
    Maekin__Envelope failure = MAEKIN__ENVELOPE__INIT;
    failure.status = MK_UNAVAILABLE;
    failure.reason = (char *) reason;
    for (outgoing_t *out = (outgoing_t *) zlistx_first (self->out); out;
         out = (outgoing_t *) zlistx_next (self->out)) {
        zframe_t *frame = mk_msg_pack (&failure);
        mk_worker_reply_frame (self->worker, out->token, &frame);
    }
    zlistx_purge (self->out);
}

//  Another controller took the database over: nothing of this batch is written, its
//  callers hear why, and the owner of the actor is told to stop it.
static void
s_stop_lost (controller_t *self)
{
    char *holder = NULL;
    mk_db_rollback (self->db);
    controller_events_abort (self->events);
    int held = mk_db_claim_holder (self->db, &holder);
    //  To another controller: it runs, so this one is not to be started again (LOST).
    //  To a restore or a migration, or given up: start again, on what it leaves (GONE).
    if (held == 1)
        mk_error ("controller: another controller holds the database now (%s); stopping", holder);
    else
        mk_error ("controller: the database's claim was taken from this controller (%s); "
                  "stopping, to start again on what it leaves",
                  holder ? holder : "by a restore or a migration that has ended");
    free (holder);
    const char *reason = "this controller stopped: another took over its database; nothing "
                         "was changed, retry";
    //  Those waiting for a task hear it too, not only this batch's callers.
    for (waiter_t *w = (waiter_t *) zlistx_first (self->waiters); w;
         w = (waiter_t *) zlistx_next (self->waiters))
        controller_reply_queue (self, w->token, &(zframe_t *){zframe_new_empty ()});
    zlistx_purge (self->waiters);
    s_fail_replies (self, reason);
    self->lost = true;
    zstr_send (self->pipe, held == 1 ? "LOST" : "GONE");
}

//  Whether the claim is still this controller's, before tasks go out after a reload
//  (which no batch fences): stops it when not; false also when it cannot tell (the
//  tasks then wait for the next batch, which checks).
static bool
s_owned (controller_t *self)
{
    int rc = mk_db_claim_check (self->db);
    if (rc == 1)
        s_stop_lost (self);
    return rc == 0;
}

//  Handle nothing but the pipe for `ms`: the actor's loop waits, it does not sleep.
static void
s_pause (controller_t *self, int ms)
{
    self->pause_until = zclock_mono () + ms;
}

//  Opens the batch's transaction and checks the claim: 0; -1 if the database is away
//  (everything stays queued on the sockets) or the claim was lost.
static int
s_batch_begin (controller_t *self)
{
    if (mk_db_begin (self->db) != 0) {
        //  Try again, less often the longer the database is away (each failure is
        //  logged where it happened).
        if (!self->db_away)
            mk_warn ("controller: the database is unavailable; requests wait");
        self->db_away = self->db_away ? (self->db_away < 800 ? self->db_away * 2 : 1000) : 100;
        s_pause (self, self->db_away);
        return -1;
    }
    if (self->db_away) {
        mk_info ("controller: the database is back");
        self->db_away = 0;
    }
    //  Still ours? Checked first, this keeps a takeover out until the batch commits.
    int claim = mk_db_claim_check (self->db);
    if (claim == 1) {
        s_stop_lost (self);
        return -1;
    }
    if (claim < 0)
        self->failed = true;
    //  After a failed write, this batch must write something, or its commit proves
    //  nothing: a row rewritten as it is.
    if (self->write_backoff
        && mk_db_exec (self->db, "UPDATE meta SET value = value WHERE name = 'schema_version'")
               != 0)
        self->failed = true;
    return 0;
}

//  The batch's messages: dispatches to record, requests, agents' answers. How many.
static int
s_batch_read (controller_t *self)
{
    for (void *key = zlistx_first (self->marks); key; key = zlistx_next (self->marks)) {
        inflight_t *task = (inflight_t *) zhashx_lookup (self->inflight, key);
        if (task && !task->marked) {
            controller_task_progress (self, task, TASK_DISPATCHED, false);
            task->marked = true;
        }
    }
    zlistx_purge (self->marks);
    int handled = 0;
    //  A probe after failed writes takes no client requests: should it fail too, they
    //  are better served by s_serve_reads (reads answered) than refused with it.
    bool probe = self->write_backoff != 0;
    while (!probe && handled < self->opts.batch_max) {
        mk_request_t request;
        int rc = mk_worker_recv_nowait (self->worker, &request);
        if (rc < 0)
            break;
        if (rc == 1) {
            controller_request_handle (self, &request);
            mk_request_clear (&request);
        }
        handled++;
    }
    controller_user_jobs (self);
    while (handled < 2 * self->opts.batch_max) {
        mk_reply_t reply;
        if (mk_client_recv (self->client, &reply, 0) != 0)
            break;
        controller_dispatch_answer (self, &reply);
        mk_reply_clear (&reply);
        handled++;
    }
    return handled;
}

//  After the commit: the replies, the events, the dispatches.
static void
s_batch_release (controller_t *self)
{
    if (self->write_backoff) {
        mk_info ("controller: the database takes writes again");
        self->write_backoff = 0;
    }
    for (outgoing_t *out = (outgoing_t *) zlistx_first (self->out); out;
         out = (outgoing_t *) zlistx_next (self->out))
        mk_worker_reply_frame (self->worker, out->token, &out->body);
    zlistx_purge (self->out);
    controller_events_publish (self->events);
    controller_dispatch_send (self, self->marks);
    controller_buskey_push (self, false);
}

//  Nothing of the batch happened: say so to every caller, rebuild from the database,
//  and try writing again after a pause that grows while it keeps failing.
static void
s_batch_undo (controller_t *self, int handled)
{
    mk_error ("controller: a batch of %d messages was rolled back: %s", handled,
              mk_db_error (self->db));
    snprintf (self->write_error, sizeof self->write_error, "%s", mk_db_error (self->db));
    mk_db_rollback (self->db);
    controller_events_abort (self->events);
    self->write_backoff =
        self->write_backoff ? (self->write_backoff < 500 ? self->write_backoff * 2 : 1000) : 50;
    self->write_retry_at = zclock_mono () + self->write_backoff;
    char reason[300];
    snprintf (reason, sizeof reason, "the database failed (%s); nothing was changed, retry",
              self->write_error);
    s_fail_replies (self, reason);
    zlistx_purge (self->marks);
    if (controller_load (self) != 0) {
        mk_error ("controller: cannot reload the state from the database; trying again");
        self->reload = true;
        return;
    }
    if (s_owned (self))
        controller_dispatch_send (self, self->marks);
}

//  Everything waiting, in one transaction; then replies, events and dispatches.
static void
s_batch (controller_t *self)
{
    if (self->lost || zclock_mono () < self->pause_until)
        return;
    if (self->reload && !s_reload (self))
        return;
    if (self->write_backoff && zclock_mono () < self->write_retry_at) {
        s_serve_reads (self);
        return;
    }
    zsock_t *client = mk_client_sock (self->client);
    bool requests = mk_worker_pending (self->worker);
    bool results = (zsock_events (client) & ZMQ_POLLIN) != 0
                   || (zsock_events (zactor_sock (self->pwhash)) & ZMQ_POLLIN) != 0;
    bool tick = zclock_mono () >= self->next_tick;
    bool history = controller_history_busy (self->history);
    if (!requests && !results && !tick && !history && zlistx_size (self->marks) == 0)
        return;
    self->now = zclock_time () / 1000;
    self->failed = false;
    self->audit_count = 0; //  a batch that did not reach its commit kept none
    if (s_batch_begin (self) != 0)
        return;
    int handled = s_batch_read (self);
    if (tick)
        s_tick (self);
    if (self->lost) {
        s_stop_lost (self);
        return;
    }
    if (!self->failed
        && (controller_events_save (self->events, self->db, self->now) != 0
            || controller_mac_save (&self->macs, self->db) != 0))
        self->failed = true;
    //  The metrics' history rides along, a little a batch, less while requests wait:
    //  512 rows take about 2.5 ms to write here (SQLite), 128 a little over half a ms.
    controller_history_roll (self->history, self->now);
    if (!self->failed
        && controller_history_save (self->history, self->db, self->now, requests ? 128 : 512) != 0)
        self->failed = true;
    if (!self->failed && controller_audit_flush (self) != 0)
        self->failed = true;
    bool committed = !self->failed && mk_db_commit (self->db) == 0;
    controller_history_saved (self->history, committed);
    if (committed)
        s_batch_release (self);
    else
        s_batch_undo (self, handled);
}

//  While the state cannot be read from the database, the controller serves nothing: it
//  says so to every request and tries again. Agents' answers wait (their tasks are
//  dispatched again once the state is back).
static bool
s_reload (controller_t *self)
{
    if (controller_load (self) == 0) {
        mk_info ("controller: state reloaded from the database");
        self->reload = false;
        if (!s_owned (self))
            return false;
        controller_dispatch_send (self, self->marks);
        return true;
    }
    while (mk_worker_pending (self->worker)) {
        mk_request_t request;
        if (mk_worker_recv (self->worker, &request) == 1) {
            Maekin__Envelope busy = MAEKIN__ENVELOPE__INIT;
            busy.status = MK_UNAVAILABLE;
            busy.reason = "the controller cannot read its database; nothing was changed, retry";
            mk_worker_reply (self->worker, request.token, &busy);
            mk_request_clear (&request);
        }
    }
    s_pause (self, 200);
    return false;
}

static bool
s_handle_pipe (controller_t *self)
{
    char *command = zstr_recv (self->pipe);
    bool running = command && !streq (command, "$TERM");
    if (command && streq (command, "STATS")) {
        char numbers[3][24];
        snprintf (numbers[0], 24, "%" PRIu64, self->accepted);
        snprintf (numbers[1], 24, "%" PRIu64, self->finished);
        snprintf (numbers[2], 24, "%zu", zhashx_size (self->inflight));
        zstr_sendx (self->pipe, numbers[0], numbers[1], numbers[2], NULL);
    }
    free (command);
    return running;
}

static void
s_server_destroy (controller_t *self)
{
    if (self->claimed && !self->lost && mk_db_claim_release (self->db) != 0)
        mk_warn ("controller: could not give up the claim on the database; the next "
                 "controller takes it over after %d s",
                 MK_DB_CLAIM_LAPSE_MS / 1000);
    mk_worker_destroy (&self->worker);
    mk_client_destroy (&self->client);
    mk_sock_destroy (&self->pub);
    mk_sock_destroy (&self->metrics);
    zhashx_destroy (&self->metric_vms);
    controller_history_destroy (&self->history);
    controller_events_destroy (&self->events);
    controller_sched_destroy (&self->sched);
    zhashx_destroy (&self->inflight);
    zhashx_destroy (&self->templates);
    zhashx_destroy (&self->asks);
    zhashx_destroy (&self->batches);
    mk_bloom_destroy (&self->request_ids);
    mk_bloom_destroy (&self->vm_names);
    zlistx_destroy (&self->waiters);
    zlistx_destroy (&self->out);
    zlistx_destroy (&self->dispatch);
    zlistx_destroy (&self->marks);
    zlistx_destroy (&self->retries);
    controller_arena_destroy (self);
    zlistx_destroy (&self->jobs);
    free (self->audit_rows);
    zactor_destroy (&self->pwhash);
    controller_auth_destroy (&self->auth);
    controller_vis_destroy (&self->vis);
    controller_pools_destroy (&self->pools);
    controller_buskeys_destroy (&self->buskeys);
    mk_db_destroy (&self->db);
}

//  Takes the database's claim: 0; 1 when another controller holds it; -1 on an error.
//  A restore or a migration holding it is waited for: it ends by itself.
static int
s_claim (controller_t *self)
{
    bool waited = false;
    while (true) {
        char *holder = NULL;
        int rc = mk_db_claim (self->db, ROLE, true, &holder);
        if (rc == 2 && !zsys_interrupted) {
            if (!waited)
                mk_warn ("controller: the database is claimed by %s; waiting for it to end",
                         holder);
            waited = true;
            free (holder);
            zclock_sleep (1000);
            continue;
        }
        if (rc == 1)
            mk_error ("controller: another controller holds this database (%s); stop it "
                      "first (a holder that stops renewing its claim loses it after %d s)",
                      holder, MK_DB_CLAIM_LAPSE_MS / 1000);
        else if (rc < 0)
            mk_error ("controller: cannot take the claim on the database: %s",
                      mk_db_error (self->db));
        free (holder);
        self->claimed = rc == 0;
        return rc == 2 ? -1 : rc; //  2: interrupted while waiting
    }
}

//  Opens the database, takes its claim and brings its schema up to date: 0; 1 when
//  another controller holds it; -1 on another failure (logged).
static int
s_server_open (controller_t *self)
{
    char *error = NULL;
    self->db = mk_db_open (self->opts.db_url, &error);
    if (!self->db) {
        mk_error ("controller: %s", error ? error : "cannot open the database");
        free (error);
        return -1;
    }
    //  One controller per database: two would each act on their own picture of it. The
    //  claim comes before a migration (one under a running controller would change its
    //  schema under it), unless there is no schema yet to hold a claim.
    int version = mk_db_schema_version (self->db);
    if (version < 0) {
        mk_error ("controller: cannot read the schema version: %s", mk_db_error (self->db));
        return -1;
    }
    //  (A schema newer than this program is refused by mk_db_migrate, below, before any
    //  claim: that is what to say first.)
    bool claim_first = version > 0 && version <= mk_db_latest_version ();
    int rc = claim_first ? s_claim (self) : 0;
    if (rc != 0)
        return rc;
    if (mk_db_migrate (self->db, &error) != 0) {
        mk_error ("controller: %s", error);
        free (error);
        return -1;
    }
    return claim_first ? 0 : s_claim (self);
}

static int
s_server_init (controller_t *self)
{
    int rc = s_server_open (self);
    if (rc != 0)
        return rc;
    self->client = mk_client_new (self->opts.endpoint);
    self->pub = mk_sock_new (ZMQ_PUB, self->opts.stream_in);
    if (!self->client || !self->pub)
        return -1;
    if (self->opts.stream_out && *self->opts.stream_out) {
        self->metrics = mk_sock_new (ZMQ_SUB, self->opts.stream_out);
        if (!self->metrics)
            return -1;
        zsock_set_subscribe (self->metrics, "metric.host.");
        zsock_set_subscribe (self->metrics, "bus.gone");
        self->metric_vms = zhashx_new ();
        zhashx_set_destructor (self->metric_vms, (zhashx_destructor_fn *) mk_metric_vms_destroy);
    }
    controller_history_opts_t history = CONTROLLER_HISTORY_DEFAULTS;
    if (self->opts.history.raw_points)
        history = self->opts.history;
    char *error = NULL;
    self->history = controller_history_new (&history, &error);
    if (!self->history) {
        mk_error ("controller: %s", error);
        free (error);
        return -1;
    }
    self->sched = controller_sched_new (self->opts.cpu_ratio, self->opts.mem_ratio);
    self->events = controller_events_new (self->pub);
    self->inflight = mk_hash_ids_new ();
    zhashx_set_destructor (self->inflight, s_inflight_free);
    self->templates = zhashx_new ();
    zhashx_set_destructor (self->templates, controller_free);
    self->asks = mk_hash_ids_new ();
    self->request_ids = mk_bloom_new (FILTER_CAPACITY);
    self->vm_names = mk_bloom_new (FILTER_CAPACITY);
    self->batches = mk_hash_ids_new ();
    zhashx_set_destructor (self->batches, controller_free);
    self->waiters = zlistx_new ();
    zlistx_set_destructor (self->waiters, controller_free);
    self->out = zlistx_new ();
    zlistx_set_destructor (self->out, s_outgoing_free);
    self->dispatch = zlistx_new ();
    self->marks = zlistx_new ();
    self->retries = zlistx_new ();
    self->arena = zlistx_new ();
    zlistx_set_destructor (self->arena, controller_free);
    self->auth = controller_auth_new (self->opts.enforce);
    self->vis = controller_vis_new ();
    self->pools = controller_pools_new ();
    self->buskeys = controller_buskeys_new ();
    self->pwhash = controller_pwhash_new ();
    controller_user_jobs_init (self);
    if (!self->opts.enforce)
        mk_warn ("controller: authorisation is OFF: every request is admitted, as the "
                 "administrator's; for a closed lab or a benchmark only");
    if (controller_load (self) != 0 || controller_history_load (self->history, self->db) != 0
        || controller_user_init (self) != 0 || controller_vi_init (self) != 0
        || controller_buskey_init (self) != 0)
        return -1;
    //  On the bus last: loading, and hashing a first administrator's password, take time
    //  the broker would count as missed heartbeats.
    const char *services[] = {CONTROLLER_SERVICE, CONTROLLER_ENROL_SERVICE};
    self->worker = mk_worker_new (self->opts.endpoint, services, 2);
    return self->worker ? 0 : -1;
}

//  What the loop waits on, and for how long: only the pipe while paused (the database away, a
//  reload failed); the pipe and the requests while writes back off (agents' answers wait on their
//  socket); everything otherwise.
static zpoller_t *
s_poller_for (controller_t *self, zpoller_t *all, zpoller_t *reads, zpoller_t *pipe_only,
              int64_t *until)
{
    if (zclock_mono () < self->pause_until) {
        *until = self->pause_until;
        return pipe_only;
    }
    if (self->write_backoff && zclock_mono () < self->write_retry_at) {
        *until = self->write_retry_at;
        return reads;
    }
    //  While the history has work, batches follow one another (each bounded).
    *until = controller_history_busy (self->history) ? 0 : self->next_tick;
    return all;
}

//  The poller of this turn and how long it may wait: never over half a heartbeat
//  interval, paused or not, so that the worker's heartbeat goes out in time.
static zpoller_t *
s_poller (controller_t *self, zpoller_t *all, zpoller_t *reads, zpoller_t *pipe_only, int *wait)
{
    int64_t until;
    zpoller_t *poller = s_poller_for (self, all, reads, pipe_only, &until);
    int64_t left = until - zclock_mono ();
    int64_t most = MK_WIRE_HEARTBEAT_MS / 2;
    *wait = (int) (left <= 0 ? 0 : left < most ? left : most);
    return poller;
}

static void
s_server_actor (zsock_t *pipe, void *args)
{
    controller_t self = {0};
    self.pipe = pipe;
    self.opts = *(controller_opts_t *) args;
    self.stats.started = zclock_time () / 1000;
    zsock_signal (pipe, 0);
    int rc = s_server_init (&self);
    if (rc != 0) {
        s_server_destroy (&self);
        zstr_send (pipe, rc == 1 ? "HELD" : "ERROR");
        return;
    }
    zstr_send (pipe, "OK");
    controller_dispatch_send (&self, self.marks);
    controller_buskey_push (&self, true);
    zpoller_t *all = zpoller_new (pipe, mk_worker_sock (self.worker), mk_client_sock (self.client),
                                  self.pwhash, NULL);
    zpoller_t *reads = zpoller_new (pipe, mk_worker_sock (self.worker), NULL);
    zpoller_t *pipe_only = zpoller_new (pipe, NULL);
    //  Samples are read whenever requests are: they write nothing.
    if (self.metrics) {
        zpoller_add (all, self.metrics);
        zpoller_add (reads, self.metrics);
    }
    bool running = true;
    while (running) {
        if (self.lost) { //  nothing more to do but wait for the end
            running = s_handle_pipe (&self);
            continue;
        }
        int wait;
        zpoller_t *poller = s_poller (&self, all, reads, pipe_only, &wait);
        void *which = zpoller_wait (poller, wait);
        if (which == pipe)
            running = s_handle_pipe (&self);
        else if (zpoller_terminated (poller))
            break;
        //  Every turn, not only when the poller names it first: a busy worker socket
        //  would otherwise leave the samples to pile up unread.
        if (self.metrics)
            controller_metrics_drain (&self);
        s_batch (&self);
        mk_worker_tick (self.worker);
        //  While the broker's key changes, the other sockets follow it too.
        mk_client_tick (self.client);
        mk_sock_rekey (self.pub);
        mk_sock_rekey (self.metrics);
    }
    zpoller_destroy (&all);
    zpoller_destroy (&reads);
    zpoller_destroy (&pipe_only);
    s_server_destroy (&self);
}

zactor_t *
controller_server_new (const controller_opts_t *opts, bool *held)
{
    mk_db_library_init ();
    zactor_t *self = zactor_new (s_server_actor, (void *) opts);
    char *status = zstr_recv (self);
    if (held)
        *held = status && streq (status, "HELD");
    if (!status || !streq (status, "OK"))
        zactor_destroy (&self);
    free (status);
    return self;
}

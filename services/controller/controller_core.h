/*  controller_core: what the controller's files share, and nothing else reads.

    The controller is one actor (controller_server.c) that handles everything waiting on
    its sockets as one batch in one transaction. Its work is split by responsibility:

      controller_server.c     the actor, the batch and its commit, the claim, backoffs
      controller_request.c    the table of requests: handler, authorisation, mutating
      controller_reply.c      replies, the arena they are built in, messages from rows, lists
      controller_vm.c         VM requests: create, action, show, list
      controller_template.c   template requests
      controller_host.c       host requests, agents' reports, host liveness
      controller_reconcile.c  a host's full report against the database
      controller_task.c       the task lifecycle, waits, task requests
      controller_dispatch.c   tasks to agents (alone or in task batches) and their answers
      controller_load.c       the state in memory, rebuilt from the database
      controller_buskey.c     the bus's allow-list: its requests, its pushes to the broker
      controller_enrol.c      join tokens and the bus's enrolment door

    A handler reads the request, checks it, changes the state through controller_store
    and controller_task, and queues exactly one reply; the reply leaves after the commit. */
#ifndef CONTROLLER_CORE_H_INCLUDED
#define CONTROLLER_CORE_H_INCLUDED

#include "controller_auth.h"
#include "controller_buskeys.h"
#include "controller_events.h"
#include "controller_fsm.h"
#include "controller_mac.h"
#include "controller_pools.h"
#include "controller_pwhash.h"
#include "controller_sched.h"
#include "controller_server.h"
#include "controller_store.h"
#include "controller_vis.h"
#include "maekin.h"
#include "mk_bloom.h"
#include "mk_client.h"
#include "mk_db.h"
#include "mk_limits.h"
#include "mk_msg.h"
#include "mk_worker.h"

#define TICK_MS     250
#define WAIT_MAX_MS 300000
//  A dispatch unanswered this long is sent again (the broker that held it may have died;
//  agents are idempotent by task id, so a second copy does no harm).
#define REDISPATCH_MS 10000
//  Revoked and expired credentials are forgotten this long after they ended.
#define CRED_KEEP_S (30 * 86400)
//  Correlation ids: a task's dispatch is its task id; a task batch has bit 62 set; a
//  question asked of an agent for a client has bit 63 set.
#define CORR_BATCH (1ULL << 62)
#define CORR_ASK   (1ULL << 63)
//  ... and a push of the bus's allow-list to the broker has bit 61 set.
#define CORR_KEYS (1ULL << 61)
//  Request ids and VM names the filters hold at about 1% false positives; past that they
//  are rebuilt from the database (see controller_load_filters).
#define FILTER_CAPACITY 500000
//  Who holds the database's claim, as messages name it.
#define ROLE "maekin-controller"
//  The services the controller serves: the cloud's requests, and the enrolment door (the
//  one a key the broker does not know may reach).
#define CONTROLLER_SERVICE       "cloud"
#define CONTROLLER_ENROL_SERVICE "enrol"

#define ID_KEY(id) ((void *) (uintptr_t) (id))

//  A task not yet final, as the controller follows it. Rebuilt from the database at start.
typedef struct {
    uint64_t id;
    char vm[STORE_VM_KEY_MAX];
    char host[64];
    Maekin__VmOp op;
    task_state_t state;
    vm_transition_t to;  //  the VM's states while running, on success, on failure
    uint32_t attempts;   //  dispatches so far
    int64_t deadline;    //  fails after this if unanswered (mono ms)
    int64_t retry_at;    //  dispatch again at this time (mono ms), 0: not scheduled
    bool sent;           //  a dispatch is on the bus now
    int64_t sent_at;     //  when it was sent, or last said it is running (mono ms)
    bool marked;         //  its dispatch is recorded in the database
    bool retrying;       //  its id is in the retry list
    zframe_t *packed;    //  its dispatch, packed when it was accepted (or first read), kept
                         //  until it ends
    int64_t accepted_us; //  when it was accepted (unix us; from its row's second after a
                         //  restart), for its latency (controller_stats)
} inflight_t;

//  The cloud's figures kept as tasks end (controller_stats.c): the latency histogram.
#define CONTROLLER_LATENCY_BUCKETS 14
typedef struct {
    int64_t started;                              //  unix seconds the controller started
    uint64_t ended[3];                            //  tasks done, failed, cancelled
    uint64_t buckets[CONTROLLER_LATENCY_BUCKETS]; //  cumulative counts by upper bound
    double sum_s;                                 //  their latencies, added
    uint64_t count;                               //  tasks timed
} controller_stats_t;

//  Tasks sent in one task_batch to an agent process: their ids, in the batch's order.
typedef struct {
    int64_t sent_at; //  mono ms
    size_t count;
    uint64_t ids[];
} batch_t;

//  A client waiting for a task to end (TaskWaitRequest).
typedef struct {
    uint64_t token;
    uint64_t task;
    int64_t deadline; //  answer 202 with the task as it stands after this (mono ms)
} waiter_t;

//  The pushes of the bus's allow-list to the broker's `bus/keys` (controller_buskey.c):
//  one on the bus at a time.
typedef struct {
    bool off;           //  the broker has no such service: nothing more is pushed
    bool changed;       //  the list changed in this batch: pushed whole after its commit
    bool owed;          //  a whole list is owed once the push on the bus is answered
    uint64_t corr;      //  the push on the bus (0: none)
    bool full;          //  ... whether it holds the whole list
    int64_t sent_at;    //  ... when it went (mono ms)
    uint64_t next;      //  the number of the next push
    int64_t next_probe; //  when to ask the broker for its digest (mono ms)
    int last_status;    //  the broker's last answer, so a change of it is said once
} keypush_t;

//  A reply to send once the batch commits.
typedef struct {
    uint64_t token;
    zframe_t *body;
} outgoing_t;

typedef struct {
    controller_opts_t opts;
    zsock_t *pipe;                 //  our actor pipe
    mk_db_t *db;                   //  the cloud's state
    mk_worker_t *worker;           //  serves `cloud`
    mk_client_t *client;           //  dispatches tasks to node/<host> and agent/<id>
    zsock_t *pub;                  //  publishes events to the broker's stream
    zsock_t *metrics;              //  the monitors' samples (SUB), or NULL (controller_metrics.c)
    uint64_t metrics_taken;        //  samples kept
    uint64_t metrics_ignored;      //  messages on the metric topics that were not samples
    uint64_t reports_refused;      //  hosts' news from keys not admitted for those hosts
    zhashx_t *metric_vms;          //  host -> mk_metric_vms_t: its VMs' latest values
    controller_history_t *history; //  the hosts' and VMs' values over time
    controller_sched_t *sched;     //  hosts and placement
    controller_events_t *events;   //  the event streams
    zhashx_t *templates;           //  name -> store_template_t (owned): few, read by every create
    mk_bloom_t *request_ids;       //  every request id stored: most new ones need no lookup
    mk_bloom_t *vm_names;          //  every VM name stored: most new names need no lookup
    controller_mac_t macs;         //  the MACs of new VMs

    //  Users and their credentials (controller_auth.c, controller_user.c).
    controller_auth_t *auth;         //  users, live credentials, failed logins
    controller_vis_t *vis;           //  Virtual Infrastructures: members, quotas, use
    controller_pools_t *pools;       //  IP pools and the addresses VMs hold (issue 21)
    controller_buskeys_t *buskeys;   //  the bus's allow-list
    keypush_t keypush;               //  ... and its pushes to the broker
    controller_caller_t caller;      //  who made the request being handled
    char caller_digest[65];          //  a parked request's caller's credential (controller_user.c)
    const Maekin__Envelope *audited; //  the request being answered, if the audit log
                                     //  records it (controller_audit)
    char audit_vi[64];               //  the VI it was about, "" if none (controller_vi)
    char audit_subject[128];         //  what it was about, when its body does not say (an
                                     //  enrolment's host), "" if none
    store_audit_t *audit_rows;       //  the batch's audit entries, written before commit
    size_t audit_count, audit_size;
    zactor_t *pwhash;  //  checks and hashes passwords off this thread
    zlistx_t *jobs;    //  requests parked while their passwords are checked
    uint64_t next_job; //  the next job's id

    //  Tasks (controller_task.c, controller_dispatch.c).
    zhashx_t *inflight;       //  task id -> inflight_t (owned)
    zlistx_t *dispatch;       //  task ids to dispatch after this batch commits
    zlistx_t *marks;          //  task ids dispatched, to record as such in the next batch
    zlistx_t *retries;        //  task ids with a retry_at, so a tick reads these, not all tasks
    zhashx_t *batches;        //  correlation id of a task_batch on the bus -> batch_t (owned)
    uint64_t next_batch;      //  the next task_batch's number
    zhashx_t *asks;           //  correlation id of a question to an agent -> the asker's token
    uint64_t next_ask;        //  the next such correlation id (high bit set: never a task id)
    zlistx_t *waiters;        //  waiter_t (owned)
    int64_t next_sweep;       //  when to look for overdue tasks (mono ms)
    uint64_t next_task;       //  the id the next task gets (the controller gives them)
    uint64_t accepted;        //  tasks accepted since start
    uint64_t finished;        //  tasks finished since start
    controller_stats_t stats; //  ... and what monitoring reads of them

    //  The batch being handled (controller_server.c, controller_reply.c).
    zlistx_t *out;   //  outgoing_t: replies of this batch (owned)
    zlistx_t *arena; //  what the reply being built allocated elsewhere (freed with it)
    struct controller_block_s *blocks; //  ... and its messages and strings, in blocks
                                       //  (controller_reply.c), the first kept for the next
    bool failed;                       //  a database error spoiled this batch
    uint64_t fingerprint; //  the request being handled is a mutating one with an id: its
                          //  answer is remembered with this fingerprint; 0: it is not
    int64_t now;          //  unix seconds at the start of this batch
    int64_t next_tick;    //  when to check hosts, tasks and waiters (mono ms)
    int64_t last_tick;    //  when they were last checked (mono ms)
    int64_t next_expiry;  //  when to forget old request ids (mono ms)

    bool loaded; //  the state was loaded once: hosts are no longer unknown by default

    //  The database's health and claim (controller_server.c).
    bool reload;            //  the state in memory must be read from the database again
    int db_away;            //  ms to wait before trying the database again; 0 while it works
    int write_backoff;      //  ms between tries while the database refuses writes; 0: it takes them
    int64_t write_retry_at; //  when to try writing again (mono ms)
    int64_t pause_until;    //  handle nothing but the pipe until then (mono ms)
    char write_error[200];  //  why the last write failed, for the callers refused meanwhile
    bool claimed;           //  this controller holds the database's claim
    bool lost;              //  another controller took it over: stop at once
    int64_t next_claim;     //  when to renew the claim (mono ms)
} controller_t;

//  ---------------------------------------------------------------- controller_server.c

//  Destructors for the containers' items.
void controller_free (void **item);

//  ---------------------------------------------------------------- controller_request.c

typedef void (controller_handler_fn) (controller_t *self, const mk_request_t *request);

//  Authorises a request, answers a retried one with its first answer, and calls its
//  handler from the table; a request the controller does not serve gets 400.
void controller_request_handle (controller_t *self, const mk_request_t *request);
//  A request that writes to the database: the mutating ones, and agents' reports and
//  events, which may change hosts and VMs.
bool controller_request_writes (Maekin__Envelope__BodyCase body);
//  The fingerprint of a request's body, to tell a retry from another request that
//  reuses its id.
uint64_t controller_request_fingerprint (const Maekin__Envelope *env);
//  The key a mutating request's answer is remembered by: its id, scoped to the caller
//  ("USERID/ID", into key: CONTROLLER_REQUEST_KEY_MAX bytes) when there is one.
#define CONTROLLER_REQUEST_KEY_MAX 96
const char *controller_request_key (controller_t *self, const Maekin__Envelope *env, char *key);

//  ---------------------------------------------------------------- controller_reply.c

//  Memory for the reply being built, freed once it is packed: in blocks, a bump each
//  (a list of 1,000 VMs is thousands of strings); controller_arena_reset frees it all.
void *controller_arena_new (controller_t *self, size_t size);
char *controller_arena_str (controller_t *self, const char *text);
char *controller_arena_strf (controller_t *self, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));
void controller_arena_reset (controller_t *self);
void controller_arena_destroy (controller_t *self);

//  A packed reply for a token, sent after the commit (takes the frame).
void controller_reply_queue (controller_t *self, uint64_t token, zframe_t **body_p);
//  The reply to a request; a mutating request's answer is remembered by its id.
void controller_reply (controller_t *self, const mk_request_t *request, Maekin__Envelope *reply);
//  A reply holding one message of the envelope's oneof, of type `body`.
void controller_reply_body (controller_t *self, const mk_request_t *request, int status,
                            Maekin__Envelope__BodyCase body, void *message);
void controller_reply_status (controller_t *self, const mk_request_t *request, int status,
                              const char *format, ...) __attribute__ ((format (printf, 4, 5)));
//  A database error: the batch will be rolled back; the client hears 503 then.
void controller_reply_db_error (controller_t *self, const mk_request_t *request);

//  Messages from rows, allocated in the arena.
Maekin__Task *controller_msg_task (controller_t *self, const store_task_t *row);
Maekin__Vm *controller_msg_vm (controller_t *self, const store_vm_t *row);
Maekin__Template *controller_msg_template (controller_t *self, const store_template_t *row);
Maekin__Host *controller_msg_host (controller_t *self, const sched_host_t *row);

//  What a list request asks: its page, checked. 0, or -1 after answering 400 (a limit
//  over MK_LIST_MAX, a state that is not one of `states`, a cursor `cursor_ok` refuses).
int controller_list_page (controller_t *self, const mk_request_t *request,
                          const Maekin__ListRequest *page, const char *const *states,
                          bool (*cursor_ok) (const char *), store_page_t *result);

//  One list in the database, answered: a page of rows from `list`, each made a message
//  by `msg`, in a reply of type `body` (a message with one repeated field of items and
//  a string `next`: the cursor after the last item, `cursor` of it, if the page is full).
typedef int (controller_list_fn) (mk_db_t *db, const store_page_t *page, store_row_fn *fn,
                                  void *arg);
typedef void *(controller_msg_fn) (controller_t *self, const void *row);
typedef char *(controller_cursor_fn) (controller_t *self, const void *message);
void controller_list_reply (controller_t *self, const mk_request_t *request,
                            const store_page_t *page, controller_list_fn *list,
                            controller_msg_fn *msg, controller_cursor_fn *cursor,
                            Maekin__Envelope__BodyCase body);

//  ---------------------------------------------------------------- controller_vm.c

void controller_vm_create (controller_t *self, const mk_request_t *request);
void controller_vm_action (controller_t *self, const mk_request_t *request);
void controller_vm_show (controller_t *self, const mk_request_t *request);
void controller_vm_list (controller_t *self, const mk_request_t *request);

//  ---------------------------------------------------------------- controller_user.c

void controller_user_login (controller_t *self, const mk_request_t *request);
void controller_user_logout (controller_t *self, const mk_request_t *request);
void controller_user_whoami (controller_t *self, const mk_request_t *request);
void controller_user_create (controller_t *self, const mk_request_t *request);
void controller_user_list (controller_t *self, const mk_request_t *request);
void controller_user_show (controller_t *self, const mk_request_t *request);
void controller_user_passwd (controller_t *self, const mk_request_t *request);
void controller_user_disable (controller_t *self, const mk_request_t *request);
void controller_user_delete (controller_t *self, const mk_request_t *request);
//  The parked requests whose passwords were checked: finished, inside the batch.
//  The audit log (controller_audit.c): the entry of self->audited, with its answer's
//  status and reason (controller_reply calls it); and its list.
void controller_audit_write (controller_t *self, int status, const char *reason);
//  Writes the batch's entries (in its transaction, before the commit): 0, or -1.
int controller_audit_flush (controller_t *self);
void controller_audit_list (controller_t *self, const mk_request_t *request);

//  API keys (controller_apikey.c).
void controller_apikey_create (controller_t *self, const mk_request_t *request);
void controller_apikey_list (controller_t *self, const mk_request_t *request);
void controller_apikey_revoke (controller_t *self, const mk_request_t *request);

void controller_user_jobs (controller_t *self);
void controller_user_jobs_init (controller_t *self);
//  At start: with no users, the administrator, its password in a file. 0 or -1.
int controller_user_init (controller_t *self);

//  The self-test of users, sessions, API keys and the audit log (controller_user_test.c).
void controller_user_test (bool verbose);

//  ---------------------------------------------------------------- controller_vi.c

//  The VI a request names ("" or NULL: the caller's own: the only one they hold a role
//  in, `default` for the administrator), where the caller may do `op`: the VI, or NULL
//  having answered (404 for a VI they hold no role in, 403 for a role too small).
vi_t *controller_vi_resolve (controller_t *self, const mk_request_t *request, const char *vi,
                             vi_op_t op);
//  The VM a request names, by VI and name or by UUID (in `name`), where the caller may
//  do `op`: true, *vm and *vi_p; else false having answered.
bool controller_vi_vm (controller_t *self, const mk_request_t *request, const char *vi,
                       const char *name, vi_op_t op, store_vm_t *vm, vi_t **vi_p);
//  A list's scope from its page: the VI named, or the caller's VIs (none for the
//  administrator); a VM named in filter_name becomes its key. 0, or -1 having answered.
int controller_vi_scope (controller_t *self, const mk_request_t *request,
                         const Maekin__ListRequest *page, store_page_t *result, char *key);
//  Whether the caller may read what the cloud offers (hosts, the cloud's templates): the
//  administrator, or a user holding a role in some VI. False having answered 403.
bool controller_vi_any_role (controller_t *self, const mk_request_t *request);
//  Whether the caller may see a VM of this key (its VI's viewer or above).
bool controller_vi_sees (controller_t *self, const char *key);
//  Whether text is a VM's key (a list's cursor).
bool controller_vi_key_ok (const char *text);
//  At start: the `default` VI, made if there is none. 0 or -1.
int controller_vi_init (controller_t *self);

void controller_vi_create (controller_t *self, const mk_request_t *request);
void controller_vi_list (controller_t *self, const mk_request_t *request);
void controller_vi_show (controller_t *self, const mk_request_t *request);
void controller_vi_delete (controller_t *self, const mk_request_t *request);
void controller_vi_quota (controller_t *self, const mk_request_t *request);
void controller_vi_template (controller_t *self, const mk_request_t *request);
void controller_vi_member (controller_t *self, const mk_request_t *request);
void controller_vi_pool (controller_t *self, const mk_request_t *request);

//  IP pools (controller_pool.c).
void controller_pool_create (controller_t *self, const mk_request_t *request);
void controller_pool_list (controller_t *self, const mk_request_t *request);
void controller_pool_show (controller_t *self, const mk_request_t *request);
void controller_pool_delete (controller_t *self, const mk_request_t *request);
void controller_pool_range (controller_t *self, const mk_request_t *request);
void controller_pool_leases (controller_t *self, const mk_request_t *request);
//  An address of a pool for a holder (a VM's key, or a host's: controller_pools_take)
//  into ip: true, or false having answered with the refusal (507 full, 409 taken, 400).
bool controller_pool_take (controller_t *self, const mk_request_t *request, pool_t *pool,
                           const char *holder, const char *mac, const char *want,
                           char ip[MK_IP_TEXT]);

//  ---------------------------------------------------------------- controller_buskey.c

//  The requests of the bus's allow-list (the administrator's); their self-test
//  (controller_buskey_test.c).
void controller_buskey_admit (controller_t *self, const mk_request_t *request);
void controller_buskey_list (controller_t *self, const mk_request_t *request);
void controller_buskey_revoke (controller_t *self, const mk_request_t *request);
void controller_buskey_rotate (controller_t *self, const mk_request_t *request);
//  At start: the CLI installations' key (opts.client_key) admitted as `maekinsh` when no
//  key has that name. 0 or -1.
int controller_buskey_init (controller_t *self);
//  Inside a batch: the keys that expired, purged from the database and the list.
void controller_buskey_tick (controller_t *self);
//  Outside a batch (at start, after a commit): the list to the broker, whole if it
//  changed (or `whole`), else its digest when a probe is due.
void controller_buskey_push (controller_t *self, bool whole);
//  The broker's answer to a push.
void controller_buskey_answer (controller_t *self, const mk_reply_t *reply);
//  The keys that expired, purged (from the database in the batch, then from memory): true,
//  or false having answered a database error (request NULL: none to answer).
bool controller_buskey_purge (controller_t *self, const mk_request_t *request, int64_t now);
//  Room in the list for one more key of `hosts` hosts: true, or false having answered 409.
bool controller_buskey_room (controller_t *self, const mk_request_t *request, size_t hosts);
//  On a CURVE bus (the request names its sender's key), whether the sender may report
//  about the host an agent's report or event names: a live node key admitted for that
//  host. NULL if it may, else why not (a static string).
const char *controller_buskey_reporter (controller_t *self, const mk_request_t *request);
void controller_buskey_test (bool verbose);

//  ---------------------------------------------------------------- controller_enrol.c

//  A join token for a host (the administrator's), and the enrolment door (the service
//  `enrol`: a new node's key admitted for the host of its token); their self-test
//  (controller_enrol_test.c).
void controller_enrol_token (controller_t *self, const mk_request_t *request);
void controller_enrol_door (controller_t *self, const mk_request_t *request);
void controller_enrol_test (bool verbose);
//  A join token for host, good for ttl_s (0: an hour, at most a week), written in the
//  batch: its text (for controller_enrol_token_free) and *row; NULL having answered.
char *controller_enrol_token_new (controller_t *self, const mk_request_t *request, const char *host,
                                  uint32_t ttl_s, store_join_token_t *row);
void controller_enrol_token_free (char **token_p);

//  ---------------------------------------------------------------- controller_report.c

//  A service's report (service_report): said in the log, kept as its audit entry.
void controller_report_service (controller_t *self, const mk_request_t *request);

//  ---------------------------------------------------------------- controller_hostadd.c

//  A machine registered to be a host (its MAC bound to an address, a join token), and a
//  host taken away.
void controller_host_add (controller_t *self, const mk_request_t *request);
void controller_host_remove (controller_t *self, const mk_request_t *request);

//  ---------------------------------------------------------------- controller_template.c

void controller_template_create (controller_t *self, const mk_request_t *request);
void controller_template_show (controller_t *self, const mk_request_t *request);
void controller_template_delete (controller_t *self, const mk_request_t *request);
void controller_template_list (controller_t *self, const mk_request_t *request);

//  ---------------------------------------------------------------- controller_host.c

void controller_host_list (controller_t *self, const mk_request_t *request);
void controller_host_show (controller_t *self, const mk_request_t *request);
void controller_host_register (controller_t *self, const mk_request_t *request);
void controller_host_domains (controller_t *self, const mk_request_t *request);
void controller_host_domain_event (controller_t *self, const mk_request_t *request);
//  A report that only says its host is alive; handling it writes nothing.
bool controller_host_report_is_ping (controller_t *self, const Maekin__HostRegisterRequest *report);
void controller_host_set_state (controller_t *self, sched_host_t *host, bool up,
                                const char *detail);
//  A known host's report while the database takes no writes: the host is up in memory
//  (a returning agent is not a dead host), and its row and domains wait for its next
//  report after writes return. False, having answered nothing, for an unknown host.
bool controller_host_seen_unwritable (controller_t *self, const mk_request_t *request);
//  Hosts whose agents stopped reporting go down; `stall`: ms the controller itself
//  stood still, which is not the agents' silence.
void controller_host_tick (controller_t *self, int64_t mono, int64_t stall);

//  ---------------------------------------------------------------- controller_reconcile.c

//  Compares every VM the database places on a host with the host's full report, repairs
//  what libvirt lost and fills the answer's lists.
void controller_reconcile (controller_t *self, sched_host_t *host,
                           Maekin__HostRegisterRequest *report, Maekin__HostRegisterReply *answer);

//  ---------------------------------------------------------------- controller_task.c

//  Creates a task for a VM: the task row, its event, and its place in the dispatch queue.
//  The caller has checked the transition; `spec`, the VM's row, if the caller has it.
//  The task id, or 0 after a database error.
uint64_t controller_task_new (controller_t *self, const char *vm, const char *host, Maekin__VmOp op,
                              vm_state_t from, vm_transition_t to, const store_vm_t *spec);
void controller_task_progress (controller_t *self, inflight_t *task, task_state_t state,
                               bool persist);
//  Ends a task: its row, the VM's new state, the events, the waiting clients.
void controller_task_finish (controller_t *self, inflight_t *task, bool ok, const char *error,
                             const char *observed);
//  Moves a VM to a state: its row and its event (a deleted VM's row is removed).
void controller_task_vm_state (controller_t *self, const char *vm, vm_state_t state, uint64_t task,
                               const char *detail);
//  A task's dispatch to its agent, packed: the op and the VM's spec.
//  A VM holding an address of an IP pool is sent with it and the pool's bridge.
zframe_t *controller_task_frame (controller_t *self, const inflight_t *task, const store_vm_t *vm);
//  Dispatch a task again at `at` (mono ms).
void controller_task_retry_later (controller_t *self, inflight_t *task, int64_t at);
//  Answers the clients waiting for a task: all if `final`, else those whose wait ended.
void controller_task_waiters_answer (controller_t *self, uint64_t task_id, bool final);
//  Retries that are due, overdue tasks, waits that ended.
void controller_task_tick (controller_t *self, int64_t mono);
void controller_task_list (controller_t *self, const mk_request_t *request);
void controller_task_show (controller_t *self, const mk_request_t *request);
void controller_task_wait (controller_t *self, const mk_request_t *request);

//  ---------------------------------------------------------------- controller_stats.c

//  A task ended: counted by outcome, its latency into the histogram.
void controller_stats_task_end (controller_t *self, const inflight_t *task, task_state_t final);
//  The cloud's figures now (CloudStatsRequest).
void controller_stats_cloud (controller_t *self, const mk_request_t *request);
//  The time now, unix microseconds.
int64_t controller_stats_now_us (void);

//  ---------------------------------------------------------------- controller_dispatch.c

//  Sends the queued tasks to their agents, after the commit.
void controller_dispatch_send (controller_t *self, zlistx_t *marks);
//  An agent's answer to a task, a task batch, or a question asked for a client.
void controller_dispatch_answer (controller_t *self, const mk_reply_t *reply);

//  ---------------------------------------------------------------- controller_load.c

//  (Re)builds everything the controller keeps in memory from the database: 0 or -1.
int controller_load (controller_t *self);
//  The filters of request ids and VM names, from the database: 0 or -1.
int controller_load_filters (controller_t *self);

//  controller_metrics.c: take the monitors' samples waiting on self->metrics (a bounded
//  number a turn), each into its host's measures for placement and `host show`.
void controller_metrics_drain (controller_t *self);
//  A host's or VM's history: its averages since a time (maekinsh metrics history).
void controller_metrics_history (controller_t *self, const mk_request_t *request);

#endif

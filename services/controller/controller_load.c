/*  controller_load: what the controller keeps in memory, rebuilt from the database at
    start and after a rollback: hosts and their use, templates, open tasks (each to be
    dispatched again: agents are idempotent by task id), the event streams' sequence
    numbers, the filters of request ids and VM names, users, VIs and the bus's keys. */
#include "controller_core.h"

//  ---------------------------------------------------------------- state from the db

static void
s_load_host (const void *item, void *arg)
{
    const store_host_t *row = (const store_host_t *) item;
    controller_t *self = (controller_t *) arg;
    sched_host_t *host = controller_sched_require (self->sched, row->name);
    //  At start, a host the database says is up is not known to be until its agent
    //  reports (its domains may differ from what the database places there); after a
    //  rollback, the database's word stands.
    host->up = streq (row->state, "up") && self->loaded;
    host->unknown = streq (row->state, "up") && !self->loaded;
    host->vcpus = row->vcpus;
    host->memory_mb = row->memory_mb;
    snprintf (host->uri, sizeof host->uri, "%s", row->uri);
    host->last_seen = row->last_seen;
    //  Give agents a full timeout to report to a restarted controller.
    host->last_seen_mono = zclock_mono ();
}

static void
s_load_template (const void *item, void *arg)
{
    const store_template_t *row = (const store_template_t *) item;
    controller_t *self = (controller_t *) arg;
    store_template_t *copy = (store_template_t *) malloc (sizeof (store_template_t));
    *copy = *row;
    zhashx_update (self->templates, row->name, copy);
}

//  Every template, a page at a time.
static int
s_load_templates (controller_t *self)
{
    zhashx_purge (self->templates);
    char after[STORE_VM_KEY_MAX] = "";
    store_page_t page = {.limit = MK_LIST_MAX, .after = after};
    int rows;
    do {
        rows = store_template_list (self->db, &page, s_load_template, self);
        if (rows < 0)
            return -1;
        //  The cursor: the greatest name read (the page is in name order).
        for (store_template_t *t = (store_template_t *) zhashx_first (self->templates); t;
             t = (store_template_t *) zhashx_next (self->templates))
            if (strcmp (t->name, after) > 0)
                snprintf (after, sizeof after, "%s", t->name);
    } while (rows == (int) page.limit);
    return 0;
}

static void
s_load_usage (const char *name, uint64_t vcpus, uint64_t memory_mb, uint64_t count, void *arg)
{
    controller_t *self = (controller_t *) arg;
    sched_host_t *host = controller_sched_require (self->sched, name);
    host->vcpus_used = (uint32_t) vcpus;
    host->memory_mb_used = memory_mb;
    host->vm_count = (uint32_t) count;
}

static void
s_load_task (const void *item, void *arg)
{
    const store_task_t *row = (const store_task_t *) item;
    controller_t *self = (controller_t *) arg;
    vm_transition_t to;
    const char *why;
    int from = controller_fsm_vm_parse (row->from_state);
    int state = controller_fsm_task_parse (row->state);
    if (from < 0 || state < 0
        || controller_fsm_vm ((vm_state_t) from, (Maekin__VmOp) row->op, &to, &why)) {
        mk_error ("controller: task %" PRIu64 " in the database is inconsistent (%s from %s); "
                  "left as it is",
                  row->id, controller_fsm_op_name ((Maekin__VmOp) row->op), row->from_state);
        return;
    }
    inflight_t *task = (inflight_t *) zmalloc (sizeof (inflight_t));
    task->id = row->id;
    snprintf (task->vm, sizeof task->vm, "%s", row->vm);
    snprintf (task->host, sizeof task->host, "%s", row->host);
    task->op = (Maekin__VmOp) row->op;
    task->state = (task_state_t) state;
    task->to = to;
    task->attempts = row->attempts;
    task->marked = state != TASK_QUEUED;
    task->deadline = zclock_mono () + self->opts.task_timeout_ms;
    task->accepted_us = row->created * 1000000;
    zhashx_insert (self->inflight, ID_KEY (task->id), task);
    //  Agents are idempotent by task id: sending again is always safe.
    zlistx_add_end (self->dispatch, ID_KEY (task->id));
}

//  (Re)builds everything the controller keeps in memory from the database.
static void
s_filter_add (const char *key, void *arg)
{
    mk_bloom_add ((mk_bloom_t *) arg, key);
}

//  The filters of request ids and VM names, from the database: at start, after a
//  rollback (which leaves keys of rows that never were), and when forgotten ids or
//  deleted names have filled them.
int
controller_load_filters (controller_t *self)
{
    mk_bloom_clear (self->request_ids);
    mk_bloom_clear (self->vm_names);
    return store_request_ids (self->db, s_filter_add, self->request_ids) < 0
                   || store_vm_names (self->db, s_filter_add, self->vm_names) < 0
               ? -1
               : 0;
}

//  What the database does not keep of a host, kept across a reload.
typedef struct {
    char name[64];
    char agent[64];
    int64_t last_seen_mono;
    bool unsaved;
} host_memory_t;

int
controller_load (controller_t *self)
{
    //  A reload (after a rollback) must not forget which agent process serves a host,
    //  nor when it last reported: else every agent seems new, and a dead one never
    //  times out while batches keep failing.
    size_t hosts = controller_sched_count (self->sched);
    host_memory_t *memory = (host_memory_t *) zmalloc ((hosts + 1) * sizeof (host_memory_t));
    for (size_t i = 0; i < hosts; i++) {
        sched_host_t *host = controller_sched_at (self->sched, i);
        snprintf (memory[i].name, sizeof memory[i].name, "%s", host->name);
        snprintf (memory[i].agent, sizeof memory[i].agent, "%s", host->agent);
        memory[i].last_seen_mono = host->last_seen_mono;
        memory[i].unsaved = host->unsaved;
    }
    controller_sched_clear (self->sched);
    zhashx_purge (self->inflight);
    zhashx_purge (self->batches);
    zlistx_purge (self->dispatch);
    zlistx_purge (self->retries);
    if (s_load_templates (self) < 0 || store_host_list (self->db, s_load_host, self) < 0
        || store_vm_usage (self->db, s_load_usage, self) < 0
        || store_task_open (self->db, s_load_task, self) < 0
        || controller_events_load (self->events, self->db) < 0 || controller_load_filters (self) < 0
        || controller_mac_load (&self->macs, self->db) < 0
        || controller_auth_load (self->auth, self->db, zclock_time () / 1000) < 0
        || controller_vis_load (self->vis, self->db) < 0
        || controller_pools_load (self->pools, self->db) < 0
        || controller_buskeys_load (self->buskeys, self->db) < 0) {
        free (memory);
        return -1;
    }
    //  Task ids are the controller's to give, so a batch's task rows are written
    //  together; only the controller holding the claim writes them.
    int64_t last_task = store_task_last_id (self->db);
    if (last_task < 0) {
        free (memory);
        return -1;
    }
    self->next_task = (uint64_t) last_task + 1;
    for (size_t i = 0; i < hosts; i++) {
        sched_host_t *host = controller_sched_host (self->sched, memory[i].name);
        if (host) {
            snprintf (host->agent, sizeof host->agent, "%s", memory[i].agent);
            host->last_seen_mono = memory[i].last_seen_mono;
            if (memory[i].unsaved)
                host->up = host->unsaved = true;
        }
    }
    free (memory);
    self->loaded = true;
    mk_info ("controller: loaded %zu hosts and %zu open tasks",
             controller_sched_count (self->sched), zhashx_size (self->inflight));
    return 0;
}

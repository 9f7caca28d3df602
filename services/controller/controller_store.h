/*  controller_store: the controller's SQL, and only the controller's: every query of the
    cloud's state, through mk_db's cached prepared statements, so it runs unchanged on
    each backend. The caller owns the transaction around these calls.
    Rows are read into fixed structs (names are short; paths and command lines have
    limits checked when a template is created). */
#ifndef CONTROLLER_STORE_H_INCLUDED
#define CONTROLLER_STORE_H_INCLUDED

#include "maekin.h"
#include "mk_db.h"

#define STORE_PATH_MAX    512
#define STORE_CMDLINE_MAX 1024

//  The part of a template or VM that makes a domain.
typedef struct {
    uint32_t vcpus;
    uint64_t memory_mb;
    uint64_t disk_gb;
    char image[STORE_PATH_MAX];
    char os_type[16];
    char network[64];
    char kernel[STORE_PATH_MAX];
    char initrd[STORE_PATH_MAX];
    char cmdline[STORE_CMDLINE_MAX];
} store_spec_t;

//  A template's name across the cloud: its name for one of the cloud's, "VI:NAME" for
//  one a VI owns (STORE_VM_KEY_MAX bytes).
typedef struct {
    char name[128];
    store_spec_t spec;
    int64_t created;
} store_template_t;

//  A VM's name across the cloud (its key: its libvirt domain's, its tasks' and events'
//  name for it) is its name in the `default` VI, and "VI:NAME" in any other.
#define STORE_VI_DEFAULT "default"
#define STORE_VM_KEY_MAX 128
//  A lease's holder is a VM's key, or a host's (host add) as "host/NAME": no VM's key has
//  a '/'.
#define STORE_HOST_HOLDER "host/"

typedef struct {
    char name[STORE_VM_KEY_MAX]; //  its key
    char vi[64];
    char uuid[40];
    char template_[128]; //  its template's key
    char host[64];
    char state[16];
    char mac[20];
    store_spec_t spec;
    uint64_t last_task;
    int64_t created;
} store_vm_t;

typedef struct {
    uint64_t id;
    char vm[STORE_VM_KEY_MAX]; //  the VM's key
    char host[64];
    int op;
    char state[16];
    char from_state[16];
    char error[1024];
    uint32_t attempts;
    int64_t created;
    int64_t updated;
} store_task_t;

typedef struct {
    char name[64];
    char state[16];
    char uri[256];
    uint32_t vcpus;
    uint64_t memory_mb;
    int64_t last_seen;
} store_host_t;

//  A user (controller_auth keeps them all in memory).
typedef struct {
    int64_t id;
    char name[64];
    char password[128]; //  the Argon2id string (crypto_pwhash_STRBYTES); "" for none
    bool admin;
    bool disabled;
    int64_t created;
    int64_t last_login;
} store_user_t;

//  What a credential is.
typedef enum { STORE_CRED_SESSION = 1, STORE_CRED_APIKEY = 2 } store_cred_kind_t;

//  A session's token or an API key, by the digest of its text (mk_secret_digest).
typedef struct {
    char digest[65];
    store_cred_kind_t kind;
    int64_t user_id;
    char name[64]; //  an API key's name; "" for a session
    bool read_only;
    int64_t created;
    int64_t expires; //  unix seconds; 0: never
} store_cred_t;

//  One entry of the audit log (controller_audit).
typedef struct {
    int64_t id;
    int64_t time_us;
    char actor[64];      //  the user, "" if none was known
    char credential[80]; //  session, apikey:NAME, password (a login), none, invalid
    char request[40];    //  the request's body, e.g. vm_create, or vm_stop for an action
    char subject[128];   //  what it was about: a name, "user/key" for another's key
    int status;
    char reason[256];
    char vi[64]; //  the VI it was about, "" if none
} store_audit_t;

//  A Virtual Infrastructure's quotas, or what it uses (each 0: no limit).
typedef struct {
    uint32_t vcpus;
    uint64_t memory_mb;
    uint64_t disk_gb;
    uint32_t vms;
} store_quota_t;

typedef struct {
    char name[64];
    char description[256];
    store_quota_t quota;
    int64_t created;
    char pool[64]; //  the IP pool its VMs take addresses from; "" for none
} store_vi_t;

//  A user's role in a VI (owner, manager, operator, viewer), or a template it may use.
typedef struct {
    char vi[64];
    int64_t user_id;
    char role[16];
} store_member_t;

typedef struct {
    char vi[64];
    char template_[64];
} store_vi_template_t;

//  A key of the bus's allow-list (controller_buskeys keeps them all in memory). Its hosts
//  are a node key's, comma-joined: borrowed (a row read is valid during its callback).
typedef struct {
    char key[41]; //  the public key, 40 characters of Z85
    char name[64];
    Maekin__BusRole role;
    const char *hosts;
    int64_t expires; //  unix ms; 0: never
    int64_t created; //  unix ms
    char created_by[64];
} store_buskey_t;

//  A join token (controller_enrol): by the digest of its text (mk_secret_digest), never
//  the text itself; good for one enrolment of its host until it expires.
typedef struct {
    char digest[65];
    char host[64];
    int64_t expires; //  unix seconds
    int64_t created; //  unix seconds
    char created_by[64];
} store_join_token_t;

//  A page of a list: limit, the cursor to start after, filters ("" for none).
typedef struct {
    uint32_t limit;
    const char *after;
    const char *host;
    const char *state;
    const char *prefix;
    const char *vi; //  only this VI's ("": any)
    int64_t member; //  only the VIs this user holds a role in (0: any)
} store_page_t;

//  A row of a list, to a caller's function: a store_template_t, store_vm_t, store_task_t
//  or store_host_t, as the list says.
typedef void (store_row_fn) (const void *row, void *arg);

//  Every function returns 0 (or a count), 1 for "found", MK_DB_CONSTRAINT for a
//  duplicate, or -1 on a database error (logged by mk_db).
//
//  The writes of every accepted task are queued (mk_stmt_queue): request_save,
//  vm_insert, vm_set_state, task_insert, task_update and events_save return 1 once their row is
//  queued, and run with the other rows of their statement in one round trip before the
//  next read or the commit; a failure of theirs may show there instead. They are for rows
//  whose outcome the controller knows: a key it checked is new, a row it holds.

//  The first reply to a request id, if any: 1, *reply (a new chunk) and the fingerprint
//  of the request it answered (0 if not known), or 0.
int store_request_find (mk_db_t *db, const char *id, uint64_t *fingerprint, zchunk_t **reply);
int store_request_save (mk_db_t *db, const char *id, uint64_t fingerprint, const void *reply,
                        size_t size);
//  Forget request ids older than `before` (unix seconds): the count removed.
int store_request_expire (mk_db_t *db, int64_t before);
//  Every request id kept, and every VM's name: fn (text, arg) each; the count or -1.
int store_request_ids (mk_db_t *db, void (*fn) (const char *, void *), void *arg);
int store_vm_names (mk_db_t *db, void (*fn) (const char *, void *), void *arg);

int store_template_insert (mk_db_t *db, const store_template_t *t);
int store_template_get (mk_db_t *db, const char *name, store_template_t *t);
int store_template_delete (mk_db_t *db, const char *name);
//  Calls fn for each template of the page; returns the count or -1.
int store_template_list (mk_db_t *db, const store_page_t *page, store_row_fn *fn, void *arg);

//  A VM's key from its VI and name (into key, STORE_VM_KEY_MAX bytes); and its VI (into
//  vi, 64 bytes) and name (a pointer into key, if name is not NULL) from its key.
void store_vm_key (char *key, size_t size, const char *vi, const char *name);
void store_vm_split (const char *key, char *vi, const char **name);
//  The same for a template: "VI:NAME" for a VI's own, NAME for one of the cloud's (its
//  vi then "").
void store_template_key (char *key, size_t size, const char *vi, const char *name);
void store_template_split (const char *key, char *vi, const char **name);

int store_vm_insert (mk_db_t *db, const store_vm_t *vm, int64_t now);
int store_vm_get (mk_db_t *db, const char *name, store_vm_t *vm);
int store_vm_get_uuid (mk_db_t *db, const char *uuid, store_vm_t *vm);
int store_vm_set_state (mk_db_t *db, const char *name, const char *state, uint64_t last_task,
                        int64_t now);
int store_vm_delete (mk_db_t *db, const char *name);
//  A page of VMs to fn: of each spec, vcpus and memory_mb alone (the rest is left empty).
int store_vm_list (mk_db_t *db, const store_page_t *page, store_row_fn *fn, void *arg);
//  Per-host use: fn (host, vcpus, memory_mb, count) for each host with VMs.
int store_vm_usage (mk_db_t *db, void (*fn) (const char *, uint64_t, uint64_t, uint64_t, void *),
                    void *arg);

//  Inserts a task with the id the controller gave it (store_task_last_id + 1 and on).
int store_task_insert (mk_db_t *db, const store_task_t *task, int64_t now);
int store_task_update (mk_db_t *db, uint64_t id, const char *state, const char *error,
                       uint32_t attempts, int64_t now);
int store_task_get (mk_db_t *db, uint64_t id, store_task_t *task);
//  The highest task id given (0 if none), or -1.
int64_t store_task_last_id (mk_db_t *db);
//  Tasks newest first; page->after is a task id as text.
int store_task_list (mk_db_t *db, const store_page_t *page, store_row_fn *fn, void *arg);
//  Tasks not yet final, oldest first (to resume them after a restart).
int store_task_open (mk_db_t *db, store_row_fn *fn, void *arg);

//  Users and credentials (controller_store_auth.c). user_insert sets user->id.
int store_user_insert (mk_db_t *db, store_user_t *user);
int store_user_update (mk_db_t *db, const store_user_t *user);
//  Deletes the user and every credential of theirs.
int store_user_delete (mk_db_t *db, int64_t id);
int store_user_all (mk_db_t *db, store_row_fn *fn, void *arg);
int store_cred_insert (mk_db_t *db, const store_cred_t *cred);
//  Revokes one credential (by digest) or every session of a user but one (except may be
//  ""), or with keys too every credential of theirs: the count revoked.
int store_cred_revoke (mk_db_t *db, const char *digest, int64_t now);
int store_cred_revoke_user (mk_db_t *db, int64_t user_id, bool keys, const char *except,
                            int64_t now);
//  The credentials neither revoked nor expired at `now`.
int store_cred_live (mk_db_t *db, int64_t now, store_row_fn *fn, void *arg);
//  Forgets credentials that ended (expired or revoked) before `before`: the count.
int store_cred_expire (mk_db_t *db, int64_t before);

//  The audit log (controller_store_audit.c): an entry (its id is the database's); the
//  entries of one actor ("": everyone) and VI ("": any) from since_us on, older than before_id (0:
//  the newest), newest first, at most limit; and forgetting entries older than before_us.
int store_audit_insert (mk_db_t *db, const store_audit_t *entry);
//  Many entries, in order: 0, or -1.
int store_audit_insert_many (mk_db_t *db, const store_audit_t *entries, size_t count);
int store_audit_list (mk_db_t *db, const char *actor, const char *vi, int64_t since_us,
                      int64_t before_id, uint32_t limit, store_row_fn *fn, void *arg);
int store_audit_expire (mk_db_t *db, int64_t before_us);

//  Virtual Infrastructures (controller_store_vi.c): few, read whole at load
//  (controller_vi). vi_delete takes its members and templates along; member_drop_user a
//  deleted user's roles. vi_usage: fn (vi, use, arg) for each VI with VMs.
int store_vi_insert (mk_db_t *db, const store_vi_t *vi);
int store_vi_update (mk_db_t *db, const store_vi_t *vi);
int store_vi_delete (mk_db_t *db, const char *name);
int store_vi_all (mk_db_t *db, store_row_fn *fn, void *arg);
int store_vi_usage (mk_db_t *db, void (*fn) (const char *, const store_quota_t *, void *),
                    void *arg);
//  How many VMs are in each state: fn (state, count) for each state that has some.
int store_vm_states (mk_db_t *db, void (*fn) (const char *, uint64_t, void *), void *arg);
int store_member_insert (mk_db_t *db, const store_member_t *member);
int store_member_update (mk_db_t *db, const store_member_t *member);
int store_member_delete (mk_db_t *db, const char *vi, int64_t user_id);
int store_member_drop_user (mk_db_t *db, int64_t user_id);
int store_member_all (mk_db_t *db, store_row_fn *fn, void *arg);
int store_vi_template_insert (mk_db_t *db, const char *vi, const char *template_);
int store_vi_template_delete (mk_db_t *db, const char *vi, const char *template_);
int store_vi_template_all (mk_db_t *db, store_row_fn *fn, void *arg);

//  ---------------------------------------------------------------- IP pools (issue 21)

#define STORE_IP_MAX 46 //  an address's text and its NUL

//  A pool as its administrator defines it (controller_pools checks it).
typedef struct {
    char name[64];
    char network[64];           //  "10.88.0.0/24"
    char gateway[STORE_IP_MAX]; //  "" for none
    char dns[4 * STORE_IP_MAX]; //  comma-separated; "" for none
    char bridge[16];
    int64_t created;
} store_pool_t;

typedef struct {
    char pool[64];
    char first[STORE_IP_MAX];
    char last[STORE_IP_MAX];
} store_range_t;

//  An address a VM holds, by its key.
typedef struct {
    char ip[STORE_IP_MAX];
    char pool[64];
    char vm[STORE_VM_KEY_MAX];
    char mac[20];
} store_lease_t;

int store_pool_insert (mk_db_t *db, const store_pool_t *pool);
//  A pool and its ranges (its leases and VIs' use of it are the caller's to have checked).
int store_pool_delete (mk_db_t *db, const char *name);
int store_pool_all (mk_db_t *db, store_row_fn *fn, void *arg);
int store_range_insert (mk_db_t *db, const store_range_t *range);
int store_range_delete (mk_db_t *db, const char *pool, const char *first);
int store_range_all (mk_db_t *db, store_row_fn *fn, void *arg);
int store_lease_insert (mk_db_t *db, const store_lease_t *lease, int64_t now);
//  The lease of a VM (by its key): 1 if there was one, 0 if not, or -1.
int store_lease_delete (mk_db_t *db, const char *vm);
int store_lease_all (mk_db_t *db, store_row_fn *fn, void *arg);
//  The IP pool of a VI ("" for none).
int store_vi_set_pool (mk_db_t *db, const char *vi, const char *pool);
//  For the self-tests of the migrations before schema 9: what it made, taken away.
void store_test_drop_pools (mk_db_t *db);
//  A template of the cloud's deleted: taken from every VI given it.
int store_vi_template_drop (mk_db_t *db, const char *template_);

//  The bus's allow-list (controller_store_buskey.c): a key; every key of a name deleted;
//  a key's expiry; the keys that expired at `now` (unix ms) deleted; every key, to fn.
int store_buskey_insert (mk_db_t *db, const store_buskey_t *key);
int store_buskey_delete_name (mk_db_t *db, const char *name);
int store_buskey_expire (mk_db_t *db, const char *key, int64_t expires);
int store_buskey_purge (mk_db_t *db, int64_t now);
int store_buskey_all (mk_db_t *db, store_row_fn *fn, void *arg);

//  Join tokens (controller_store_jointoken.c): a new one; one by its digest (1 and
//  *token, 0 if there is none, -1); one deleted (the count); those expired at `now` (unix
//  s) deleted (the count).
int store_join_token_insert (mk_db_t *db, const store_join_token_t *token);
int store_join_token_find (mk_db_t *db, const char *digest, store_join_token_t *token);
int store_join_token_delete (mk_db_t *db, const char *digest);
//  Every join token for a host: how many, or -1.
int store_join_token_delete_host (mk_db_t *db, const char *host);
int store_join_token_expire (mk_db_t *db, int64_t now);

//  For the store's files: steps a statement that changes rows (the number changed,
//  MK_DB_CONSTRAINT or -1), and copies text into a fixed field.
int store_change (mk_db_t *db, mk_stmt_t *stmt);
//  ... runs a SELECT (NULL: its prepare failed: -1), each row read by `read` into a row
//  of `size` bytes (at most STORE_ROW_MAX) and given to fn: the count, or -1.
#define STORE_ROW_MAX 1024
int store_rows (mk_stmt_t *stmt, void (*read) (mk_stmt_t *, void *), size_t size, store_row_fn *fn,
                void *arg);
//  ... and for their self-tests: fn on a new SQLite database, then on the MySQL or
//  MariaDB server of $MK_TEST_MYSQL_URL (emptied first) when the tests were given one;
//  each migrated to the latest schema.
void store_test_backends (const char *name, void (*fn) (mk_db_t *db, bool verbose), bool verbose);
void store_copy (char *to, size_t size, const char *from);

int store_host_save (mk_db_t *db, const store_host_t *host);
int store_host_set_state (mk_db_t *db, const char *name, const char *state, int64_t last_seen);
//  A host's row taken away: 1 if there was one, 0 if not, or -1.
int store_host_delete (mk_db_t *db, const char *name);
int store_host_list (mk_db_t *db, store_row_fn *fn, void *arg);

//  Events are kept one row per stream per committed batch: seq is the batch's last.
int store_events_save (mk_db_t *db, const char *stream, uint64_t last_seq, const void *body,
                       size_t size, int64_t now);
//  The last sequence number of a stream (0 if none).
int64_t store_events_last (mk_db_t *db, const char *stream);
//  Batches holding events after `after`, oldest first, at most `limit` rows.
int store_events_since (mk_db_t *db, const char *stream, uint64_t after, uint32_t limit,
                        void (*fn) (const void *, size_t, void *), void *arg);

//  A value kept in meta, as text: 1 and *value, or 0 if there is none.
int store_meta_get (mk_db_t *db, const char *name, char *value, size_t size);
//  Writes it, inserting the row if there is none: 0 or -1.
int store_meta_set (mk_db_t *db, const char *name, const char *value);
//  Whether a VM has this MAC: 1, 0, or -1.
int store_vm_mac_used (mk_db_t *db, const char *mac);
//  The greatest MAC of any VM ("" if none): 1 or 0, or -1.
int store_vm_mac_max (mk_db_t *db, char *mac, size_t size);

void controller_store_test (bool verbose);
void controller_store_audit_test (bool verbose);
void controller_store_vi_test (bool verbose);
void controller_store_buskey_test (bool verbose);
void controller_store_jointoken_test (bool verbose);

#endif

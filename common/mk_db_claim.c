/*  mk_db_claim: one controller per database, by a claim in the meta table (see mk_db.h).

    The claim is the row meta('controller', "TOKEN ROLE LAPSES HOST PID BOOT PIDNS
    RENEWED"): TOKEN is random, made once per process, and is what the holder matches
    when it renews, checks or gives the claim up (a host name and a pid are not unique:
    two containers may each be pid 1 on one host name). BOOT (the kernel's boot id) and
    PIDNS say whether another process can test the holder's pid: only a process of the
    same boot and pid namespace can, and only it shares the holder's clock (RENEWED is
    CLOCK_BOOTTIME, which no clock step moves). LAPSES is 0 for a holder whose claim
    does not lapse while it lives (a restore, which cannot renew while it copies).

    Taking the claim replaces exactly the row that was read (or inserts one where there
    was none), so of two processes taking it at once one wins and the other finds the
    row changed under it. A holder checks the row at the start of each of its write
    transactions (mk_db_claim_check), which fences a takeover out until it commits:
    SQLite's BEGIN IMMEDIATE holds the whole database, and on MySQL the check reads the
    row FOR UPDATE, so a takeover's update waits for that commit. */
#include "maekin.h"
#include "mk_db.h"
#include "mk_testdir.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <sys/wait.h>
#include <unistd.h>

#define CLAIM_GET  "SELECT value FROM meta WHERE name = 'controller'"
#define CLAIM_LOCK "SELECT value FROM meta WHERE name = 'controller' FOR UPDATE"
#define CLAIM_PUT  "INSERT INTO meta (name, value) VALUES ('controller', ?)"
#define CLAIM_SWAP "UPDATE meta SET value = ? WHERE name = 'controller' AND value = ?"
#define CLAIM_RENEW                                                                                \
    "UPDATE meta SET value = ? WHERE name = 'controller' AND SUBSTR(value, 1, 32) = ?"
#define CLAIM_DROP "DELETE FROM meta WHERE name = 'controller' AND SUBSTR(value, 1, 32) = ?"
#define TOKEN_SIZE 32 //  hex digits
//  How often a taker looks again at a claim it cannot judge by itself.
#define WATCH_MS 200

//  A claim, as its row holds it: at most 32 + 32 + 1 + 64 + 10 + 39 + 23 + 20
//  characters and seven blanks, within meta.value's 255.
typedef struct {
    char token[TOKEN_SIZE + 1];
    char role[33];
    int lapses; //  1: binds only while renewed; 0: while its process lives
    char host[65];
    long pid;
    char boot[40];
    char pidns[24];
    int64_t renewed; //  CLOCK_BOOTTIME ms of its boot
} claim_t;
#define VALUE_SIZE 256

//  This process: its token and where it runs, made on first use, and again in a child
//  of fork () (a new process, with a token of its own).
static claim_t s_self;
static pthread_mutex_t s_self_lock = PTHREAD_MUTEX_INITIALIZER;

//  Milliseconds on CLOCK_BOOTTIME: this boot's clock, which no clock step moves.
static int64_t
s_boot_ms (void)
{
    struct timespec now;
    clock_gettime (CLOCK_BOOTTIME, &now);
    return (int64_t) now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

//  The first word of a file, or "-".
static void
s_read_word (const char *path, char *word, size_t size)
{
    FILE *file = fopen (path, "r");
    if (!file || size < 40 || fscanf (file, "%39s", word) != 1)
        snprintf (word, size, "-");
    if (file)
        fclose (file);
}

static void
s_self_init (void)
{
    if (sodium_init () < 0)
        abort ();
    uint8_t random[TOKEN_SIZE / 2];
    randombytes_buf (random, sizeof random);
    sodium_bin2hex (s_self.token, sizeof s_self.token, random, sizeof random);
    if (gethostname (s_self.host, sizeof s_self.host) != 0 || !*s_self.host)
        snprintf (s_self.host, sizeof s_self.host, "localhost");
    s_self.host[sizeof s_self.host - 1] = 0;
    //  One word each, printable, as the row holds them.
    for (char *c = s_self.host; *c; c++)
        if (*c <= ' ' || *c > '~')
            *c = '_';
    s_self.pid = (long) getpid ();
    s_read_word ("/proc/sys/kernel/random/boot_id", s_self.boot, sizeof s_self.boot);
    char link[64] = "";
    ssize_t size = readlink ("/proc/self/ns/pid", link, sizeof link - 1);
    //  "pid:[4026531836]": the number.
    if (size <= 0 || sscanf (link, "pid:[%23[0-9]]", s_self.pidns) != 1)
        snprintf (s_self.pidns, sizeof s_self.pidns, "-");
}

static const claim_t *
s_me (void)
{
    pthread_mutex_lock (&s_self_lock);
    if (s_self.pid != (long) getpid ())
        s_self_init ();
    pthread_mutex_unlock (&s_self_lock);
    return &s_self;
}

//  The row's value for this process, claiming as role, now.
static void
s_value (const char *role, bool lapses, char *value, size_t size)
{
    const claim_t *me = s_me ();
    snprintf (value, size, "%.32s %.32s %d %.64s %ld %.39s %.23s %" PRId64, me->token, role,
              lapses ? 1 : 0, me->host, me->pid, me->boot, me->pidns, s_boot_ms ());
}

static bool
s_parse (const char *value, claim_t *claim)
{
    long long renewed;
    if (sscanf (value, "%32s %32s %d %64s %ld %39s %23s %lld", claim->token, claim->role,
                &claim->lapses, claim->host, &claim->pid, claim->boot, claim->pidns, &renewed)
        != 8)
        return false;
    claim->renewed = renewed;
    return strlen (claim->token) == TOKEN_SIZE;
}

//  Whether this process can test the holder's pid and read its clock.
static bool
s_testable (const claim_t *claim)
{
    const claim_t *me = s_me ();
    return streq (claim->boot, me->boot) && streq (claim->pidns, me->pidns)
           && !streq (me->boot, "-") && !streq (me->pidns, "-") && claim->pid > 0;
}

static bool
s_ours (const claim_t *claim)
{
    return streq (claim->token, s_me ()->token);
}

static void
s_describe (const claim_t *claim, char *about, size_t size)
{
    int64_t age = s_boot_ms () - claim->renewed;
    if (!s_testable (claim))
        snprintf (about, size, "%s, process %ld on %s (another machine or namespace)", claim->role,
                  claim->pid, claim->host);
    else if (claim->lapses)
        snprintf (about, size, "%s, process %ld on %s, renewed %.1f s ago", claim->role, claim->pid,
                  claim->host, (double) (age > 0 ? age : 0) / 1000.0);
    else
        snprintf (about, size, "%s, process %ld on %s", claim->role, claim->pid, claim->host);
}

typedef enum {
    CLAIM_FREE, //  nobody's, or a holder that is gone or stood still past the lapse
    CLAIM_HELD, //  a live holder's
    CLAIM_WATCH //  a holder this process cannot test: free only if it stops renewing
} verdict_t;

static verdict_t
s_verdict (const claim_t *claim)
{
    if (s_ours (claim))
        return CLAIM_FREE;
    if (!s_testable (claim))
        return CLAIM_WATCH;
    //  Gone: a controller killed and started again takes over at once. (A zombie
    //  counts as alive until it is reaped.)
    if (kill ((pid_t) claim->pid, 0) != 0 && errno == ESRCH)
        return CLAIM_FREE;
    //  Alive on this boot: it binds while it lives, or until it lapses.
    if (!claim->lapses)
        return CLAIM_HELD;
    return s_boot_ms () - claim->renewed >= MK_DB_CLAIM_LAPSE_MS ? CLAIM_FREE : CLAIM_HELD;
}

//  What mk_db_claim and mk_db_claim_holder return for a holder.
static int
s_held (const claim_t *claim)
{
    return claim->lapses ? 1 : 2;
}

//  The claim's row as it is: 1 and value filled, 0 if there is none, -1 on error.
static int
s_read (mk_db_t *self, const char *sql, char *value, size_t size)
{
    mk_stmt_t *stmt = mk_db_prepare (self, sql);
    int rc = stmt ? mk_stmt_step (stmt) : MK_DB_ERROR;
    if (rc == MK_DB_ROW)
        snprintf (value, size, "%s", mk_stmt_text (stmt, 0));
    if (rc == MK_DB_ROW || rc == MK_DB_DONE)
        mk_stmt_reset (stmt);
    return rc == MK_DB_ROW ? 1 : rc == MK_DB_DONE ? 0 : -1;
}

//  Replaces the row read (old, or none when old is "") with ours, in the open
//  transaction, and commits: 0; 1 if another changed it first; -1 on an error.
static int
s_take (mk_db_t *self, const char *role, bool lapses, const char *old)
{
    char value[VALUE_SIZE];
    s_value (role, lapses, value, sizeof value);
    mk_stmt_t *stmt = mk_db_prepare (self, *old ? CLAIM_SWAP : CLAIM_PUT);
    int rc = MK_DB_ERROR;
    if (stmt) {
        mk_stmt_bind_text (stmt, 1, value);
        if (*old)
            mk_stmt_bind_text (stmt, 2, old);
        rc = mk_stmt_step (stmt); //  an insert another beat: MK_DB_CONSTRAINT
        if (rc == MK_DB_DONE && *old && mk_db_changes (self) != 1)
            rc = MK_DB_CONSTRAINT; //  changed since we read it
    }
    if (rc == MK_DB_DONE && mk_db_commit (self) == 0)
        return 0;
    mk_db_rollback (self);
    return rc == MK_DB_CONSTRAINT ? 1 : -1;
}

int
mk_db_claim (mk_db_t *self, const char *role, bool lapses, char **holder)
{
    assert (self && role && holder);
    *holder = NULL;
    char watched[VALUE_SIZE] = ""; //  the foreign claim being watched, as first read
    int64_t watch_since = 0;
    while (true) {
        char old[VALUE_SIZE] = "", about[400];
        if (mk_db_begin (self) != 0)
            return -1;
        int found = s_read (self, CLAIM_GET, old, sizeof old);
        if (found < 0) {
            mk_db_rollback (self);
            return -1;
        }
        claim_t claim;
        verdict_t verdict = found && s_parse (old, &claim) ? s_verdict (&claim) : CLAIM_FREE;
        if (verdict == CLAIM_WATCH && *watched && !streq (old, watched))
            verdict = CLAIM_HELD; //  renewed while we watched: alive
        if (verdict == CLAIM_WATCH && *watched
            && zclock_mono () - watch_since >= MK_DB_CLAIM_LAPSE_MS)
            verdict = CLAIM_FREE; //  not renewed for the lapse, by our own clock
        if (verdict == CLAIM_FREE) {
            int rc = s_take (self, role, lapses, old);
            if (rc != 1)
                return rc;
            continue; //  changed under us: judge the row as it is now
        }
        mk_db_rollback (self);
        s_describe (&claim, about, sizeof about);
        if (verdict == CLAIM_HELD) {
            *holder = strdup (about);
            return s_held (&claim);
        }
        if (!*watched) {
            //  Its clock is not ours, and its pid not ours to test: watch the row.
            mk_info ("db: the database is claimed by %s; waiting up to %d s to see "
                     "whether that claim is still renewed",
                     about, MK_DB_CLAIM_LAPSE_MS / 1000);
            snprintf (watched, sizeof watched, "%s", old);
            watch_since = zclock_mono ();
        }
        zclock_sleep (WATCH_MS);
    }
}

int
mk_db_claim_check (mk_db_t *self)
{
    assert (self);
    char value[VALUE_SIZE];
    bool mysql = streq (mk_db_backend (self), "mysql");
    int found = s_read (self, mysql ? CLAIM_LOCK : CLAIM_GET, value, sizeof value);
    if (found < 0)
        return -1;
    claim_t claim;
    return found && s_parse (value, &claim) && s_ours (&claim) ? 0 : 1;
}

int
mk_db_claim_renew (mk_db_t *self, const char *role)
{
    assert (self && role);
    char value[VALUE_SIZE];
    s_value (role, true, value, sizeof value);
    mk_stmt_t *stmt = mk_db_prepare (self, CLAIM_RENEW);
    if (!stmt)
        return -1;
    mk_stmt_bind_text (stmt, 1, value);
    mk_stmt_bind_text (stmt, 2, s_me ()->token);
    if (mk_stmt_step (stmt) != MK_DB_DONE)
        return -1;
    return mk_db_changes (self) == 1 ? 0 : 1;
}

int
mk_db_claim_release (mk_db_t *self)
{
    assert (self);
    mk_stmt_t *stmt = mk_db_prepare (self, CLAIM_DROP);
    if (!stmt)
        return -1;
    mk_stmt_bind_text (stmt, 1, s_me ()->token);
    return mk_stmt_step (stmt) == MK_DB_DONE ? 0 : -1;
}

int
mk_db_claim_holder (mk_db_t *self, char **holder)
{
    assert (self && holder);
    *holder = NULL;
    char value[VALUE_SIZE], about[400];
    int found = s_read (self, CLAIM_GET, value, sizeof value);
    if (found <= 0)
        return found;
    claim_t claim;
    if (!s_parse (value, &claim))
        return 0;
    s_describe (&claim, about, sizeof about);
    verdict_t verdict = s_verdict (&claim);
    if (s_ours (&claim))
        *holder = zsys_sprintf ("%s (this process)", about);
    else if (verdict != CLAIM_FREE)
        //  One this process cannot test is named as it stands: whether it still renews
        //  its claim takes a while to see.
        *holder = strdup (about);
    return *holder ? s_held (&claim) : 0;
}

//  ---------------------------------------------------------------- self-test

#define OTHER "0123456789abcdef0123456789abcdef"

//  Sets the claim's row by hand, as another process of this host would hold it.
static void
s_set (mk_db_t *db, int lapses, long pid, const char *pidns, int64_t renewed)
{
    const claim_t *me = s_me ();
    char value[VALUE_SIZE];
    snprintf (value, sizeof value, "%s other-role %d %.64s %ld %.39s %.23s %" PRId64, OTHER, lapses,
              me->host, pid, me->boot, pidns, renewed);
    assert (mk_db_exec (db, "DELETE FROM meta WHERE name = 'controller'") == 0);
    mk_stmt_t *stmt = mk_db_prepare (db, CLAIM_PUT);
    assert (stmt && mk_stmt_bind_text (stmt, 1, value) == 0);
    assert (mk_stmt_step (stmt) == MK_DB_DONE);
}

//  Nobody holds a new database; we take it, check it, renew it and take it again.
static void
s_test_claim_take (mk_db_t *db)
{
    const claim_t *me = s_me ();
    char *holder = NULL;
    //  Nobody holds a new database; we take it, and then it names this process.
    assert (mk_db_claim_holder (db, &holder) == 0 && holder == NULL);
    assert (mk_db_claim (db, "test", true, &holder) == 0 && holder == NULL);
    assert (mk_db_claim_holder (db, &holder) == 1);
    assert (strstr (holder, "test, process ") && strstr (holder, me->host)
            && strstr (holder, "(this process)"));
    zstr_free (&holder);
    //  Checked and renewed inside a transaction, it stays ours; taking it again is no
    //  conflict.
    assert (mk_db_begin (db) == 0);
    assert (mk_db_claim_check (db) == 0);
    assert (mk_db_claim_renew (db, "test") == 0);
    assert (mk_db_commit (db) == 0);
    assert (mk_db_claim (db, "test", true, &holder) == 0);
}

//  The check fences a takeover out until the holder's transaction ends.
static void
s_test_claim_fence (mk_db_t *db, const char *url)
{
    //  The check fences a takeover out until the holder's transaction ends: another
    //  connection can neither change the row (MySQL: the row is locked) nor write at
    //  all (SQLite: the holder has the database) meanwhile.
    mk_db_t *other = mk_db_open (url, NULL);
    assert (other);
    bool mysql = streq (mk_db_backend (db), "mysql");
    assert (mk_db_exec (other, mysql ? "SET SESSION innodb_lock_wait_timeout = 1"
                                     : "PRAGMA busy_timeout = 100")
            == 0);
    assert (mk_db_begin (db) == 0);
    assert (mk_db_claim_check (db) == 0);
    int64_t start = zclock_mono ();
    if (mysql)
        assert (mk_db_exec (other, "UPDATE meta SET value = value WHERE name = 'controller'")
                == -1);
    else
        assert (mk_db_begin (other) == -1);
    assert (zclock_mono () - start >= 90);
    assert (mk_db_commit (db) == 0);
    assert (mk_db_begin (other) == 0);
    assert (mk_db_exec (other, "UPDATE meta SET value = value WHERE name = 'controller'") == 0);
    assert (mk_db_commit (other) == 0);
    mk_db_destroy (&other);
}

//  A live process of this boot holds the claim while it renews it, or always if it
//  does not lapse.
static void
s_test_claim_live_holder (mk_db_t *db, bool verbose)
{
    const claim_t *me = s_me ();
    char *holder = NULL;
    //  A live process of this boot, renewed just now: refused, and the message says who.
    long parent = (long) getppid ();
    s_set (db, 1, parent, me->pidns, s_boot_ms () - 300);
    assert (mk_db_claim (db, "test", true, &holder) == 1);
    if (verbose)
        printf (" * held by %s\n", holder);
    char expect[300];
    snprintf (expect, sizeof expect, "other-role, process %ld on %s, renewed 0.", parent, me->host);
    assert (strstr (holder, expect));
    zstr_free (&holder);
    //  It took ours over: our check and renewal find the claim not ours and change
    //  nothing; nor does giving up a claim that is not ours.
    assert (mk_db_begin (db) == 0);
    assert (mk_db_claim_check (db) == 1);
    assert (mk_db_claim_renew (db, "test") == 1);
    assert (mk_db_commit (db) == 0);
    assert (mk_db_claim_release (db) == 0);
    assert (mk_db_claim_holder (db, &holder) == 1 && strstr (holder, expect));
    zstr_free (&holder);
    //  Not renewed for the lapse (by this boot's clock, the holder's own), it is free...
    s_set (db, 1, parent, me->pidns, s_boot_ms () - MK_DB_CLAIM_LAPSE_MS - 1);
    assert (mk_db_claim_holder (db, &holder) == 0 && holder == NULL);
    assert (mk_db_claim (db, "test", true, &holder) == 0);
    //  ... unless it does not lapse (a restore, which cannot renew while it copies):
    //  that binds while its process lives, and says so (2).
    s_set (db, 0, parent, me->pidns, s_boot_ms () - MK_DB_CLAIM_LAPSE_MS - 1);
    assert (mk_db_claim_holder (db, &holder) == 2);
    zstr_free (&holder);
    assert (mk_db_claim (db, "test", true, &holder) == 2);
    snprintf (expect, sizeof expect, "other-role, process %ld on %s", parent, me->host);
    assert (strstr (holder, expect) && !strstr (holder, "renewed"));
    zstr_free (&holder);
}

//  A gone process holds nothing; one in another pid namespace holds the claim while
//  it renews it.
static void
s_test_claim_foreign (mk_db_t *db, const char *url)
{
    const claim_t *me = s_me ();
    char *holder = NULL;
    //  A process of this boot that is gone holds nothing, however fresh its claim.
    pid_t child = fork ();
    assert (child >= 0);
    if (child == 0)
        _exit (0);
    assert (waitpid (child, NULL, 0) == child);
    s_set (db, 0, (long) child, me->pidns, s_boot_ms ());
    assert (mk_db_claim_holder (db, &holder) == 0);
    assert (mk_db_claim (db, "test", true, &holder) == 0);
    //  The same host name and pid in another pid namespace is another process: its pid
    //  is not ours to test, nor its clock ours to read. Renewed while we watch, it is
    //  alive; left alone for the lapse, by our own clock, it is free.
    s_set (db, 1, (long) child, "1", s_boot_ms ());
    assert (mk_db_claim_holder (db, &holder) == 1
            && strstr (holder, "another machine or namespace"));
    zstr_free (&holder);
    int64_t start = zclock_mono ();
    pid_t writer = fork ();
    assert (writer >= 0);
    if (writer == 0) {
        //  Renews the foreign claim once, after half a second.
        mk_db_t *renewer = mk_db_open (url, NULL);
        zclock_sleep (500);
        s_set (renewer, 1, (long) child, "1", s_boot_ms ());
        mk_db_destroy (&renewer);
        _exit (0);
    }
    assert (mk_db_claim (db, "test", true, &holder) == 1);
    assert (zclock_mono () - start >= 400 && zclock_mono () - start < 5000);
    zstr_free (&holder);
    assert (waitpid (writer, NULL, 0) == writer);
    start = zclock_mono ();
    assert (mk_db_claim (db, "test", true, &holder) == 0);
    assert (zclock_mono () - start >= MK_DB_CLAIM_LAPSE_MS);
}

//  A row that does not parse holds nothing; given up, the claim is gone.
static void
s_test_claim_garbage (mk_db_t *db)
{
    char *holder = NULL;
    //  A row that does not parse holds nothing; given up, the claim is gone.
    assert (mk_db_exec (db, "UPDATE meta SET value = 'garbage' WHERE name = 'controller'") == 0);
    assert (mk_db_claim_holder (db, &holder) == 0);
    assert (mk_db_claim (db, "test", true, &holder) == 0);
    assert (mk_db_claim_release (db) == 0);
    assert (mk_db_claim_holder (db, &holder) == 0);
    char value[VALUE_SIZE];
    assert (s_read (db, CLAIM_GET, value, sizeof value) == 0);
}

//  Every check of the claim, on the database at url, from no claim at all.
static void
s_test_claims (const char *url, bool verbose)
{
    mk_db_t *db = mk_db_open (url, NULL);
    assert (db && mk_db_migrate (db, NULL) == 0);
    assert (mk_db_exec (db, "DELETE FROM meta WHERE name = 'controller'") == 0);
    s_test_claim_take (db);
    s_test_claim_fence (db, url);
    s_test_claim_live_holder (db, verbose);
    s_test_claim_foreign (db, url);
    s_test_claim_garbage (db);
    mk_db_destroy (&db);
}

void
mk_db_claim_test (bool verbose)
{
    char *dir = mk_testdir_new ("mk_db_claim_test");
    char *url = zsys_sprintf ("sqlite:%s/claim.db?synchronous=off", dir);
    s_test_claims (url, verbose);
    mk_testdir_remove (&dir);
    zstr_free (&url);
    //  The same on MySQL or MariaDB, when the tests were given a server.
    const char *mysql = getenv ("MK_TEST_MYSQL_URL");
    if (mysql && *mysql)
        s_test_claims (mysql, verbose);
}

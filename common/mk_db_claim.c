/*  mk_db_claim: one controller per database, by a claim in the meta table (see mk_db.h).

    The claim is the row meta('controller', "HOST PID RENEWED_MS"). Taking it replaces
    exactly the row that was read (or inserts one where there was none), so of two
    controllers starting at once one takes it and the other finds the row changed under
    it; renewing and giving it up touch the row only while it still names this
    process. */
#include "maekin.h"
#include "mk_db.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#define CLAIM_GET   "SELECT value FROM meta WHERE name = 'controller'"
#define CLAIM_PUT   "INSERT INTO meta (name, value) VALUES ('controller', ?)"
#define CLAIM_SWAP  "UPDATE meta SET value = ? WHERE name = 'controller' AND value = ?"
#define CLAIM_RENEW "UPDATE meta SET value = ? WHERE name = 'controller' AND SUBSTR(value, 1, ?) = ?"
#define CLAIM_DROP  "DELETE FROM meta WHERE name = 'controller' AND SUBSTR(value, 1, ?) = ?"

typedef struct {
    char host[256];
    long pid;
    int64_t renewed;    //  unix ms
} claim_t;

//  This host's name as a claim holds it: one word.
static void
s_host (char *host, size_t size)
{
    if (gethostname (host, size) != 0 || !*host)
        snprintf (host, size, "localhost");
    host[size - 1] = 0;
    for (char *c = host; *c; c++)
        if (*c == ' ')
            *c = '_';
}

//  This process as a claim names it: "HOST PID ".
static void
s_prefix (char *prefix, size_t size)
{
    char host[256];
    s_host (host, sizeof host);
    snprintf (prefix, size, "%s %ld ", host, (long) getpid ());
}

static bool
s_parse (const char *value, claim_t *claim)
{
    long long renewed;
    if (sscanf (value, "%255s %ld %lld", claim->host, &claim->pid, &renewed) != 3)
        return false;
    claim->renewed = renewed;
    return true;
}

//  Whether a claim binds this process now; if so, who holds it, for a message.
static bool
s_binds (const claim_t *claim, char *about, size_t size)
{
    char host[256];
    s_host (host, sizeof host);
    bool here = streq (claim->host, host);
    if (here && claim->pid == (long) getpid ())
        return false;       //  our own, from before (a reload, a test)
    //  A process of this host that is gone holds nothing: a controller killed and
    //  started again takes over at once.
    if (here && kill ((pid_t) claim->pid, 0) != 0 && errno == ESRCH)
        return false;
    int64_t age = zclock_time () - claim->renewed;
    if (age >= MK_DB_CLAIM_LAPSE_MS)
        return false;
    snprintf (about, size, "process %ld on %s, renewed %.1f s ago", claim->pid, claim->host,
              (double) (age > 0 ? age : 0) / 1000.0);
    return true;
}

//  The claim's row as it is: 1 and value filled, 0 if there is none, -1 on error.
static int
s_read (mk_db_t *self, char *value, size_t size)
{
    mk_stmt_t *stmt = mk_db_prepare (self, CLAIM_GET);
    int rc = stmt ? mk_stmt_step (stmt) : MK_DB_ERROR;
    if (rc == MK_DB_ROW)
        snprintf (value, size, "%s", mk_stmt_text (stmt, 0));
    if (rc == MK_DB_ROW || rc == MK_DB_DONE)
        mk_stmt_reset (stmt);
    return rc == MK_DB_ROW ? 1 : rc == MK_DB_DONE ? 0 : -1;
}

int
mk_db_claim (mk_db_t *self, char **holder)
{
    assert (self && holder);
    *holder = NULL;
    char prefix[300], value[330], old[330] = "", about[400];
    s_prefix (prefix, sizeof prefix);
    snprintf (value, sizeof value, "%s%" PRId64, prefix, zclock_time ());
    if (mk_db_begin (self) != 0)
        return -1;
    int found = s_read (self, old, sizeof old);
    claim_t claim;
    if (found == 1 && s_parse (old, &claim) && s_binds (&claim, about, sizeof about)) {
        mk_db_rollback (self);
        *holder = strdup (about);
        return 1;
    }
    int rc = MK_DB_ERROR;
    mk_stmt_t *stmt = NULL;
    if (found == 1 && (stmt = mk_db_prepare (self, CLAIM_SWAP))) {
        mk_stmt_bind_text (stmt, 1, value);
        mk_stmt_bind_text (stmt, 2, old);
        rc = mk_stmt_step (stmt);
        if (rc == MK_DB_DONE && mk_db_changes (self) != 1)
            rc = MK_DB_CONSTRAINT;  //  changed since we read it: another took it
    }
    else if (found == 0 && (stmt = mk_db_prepare (self, CLAIM_PUT))) {
        mk_stmt_bind_text (stmt, 1, value);
        rc = mk_stmt_step (stmt);   //  MK_DB_CONSTRAINT: another inserted it first
    }
    if (rc == MK_DB_DONE && mk_db_commit (self) == 0)
        return 0;
    mk_db_rollback (self);
    if (rc != MK_DB_CONSTRAINT)
        return -1;
    *holder = strdup ("another controller, which took it just now");
    return 1;
}

int
mk_db_claim_renew (mk_db_t *self)
{
    assert (self);
    char prefix[300], value[330];
    s_prefix (prefix, sizeof prefix);
    snprintf (value, sizeof value, "%s%" PRId64, prefix, zclock_time ());
    mk_stmt_t *stmt = mk_db_prepare (self, CLAIM_RENEW);
    if (!stmt)
        return -1;
    mk_stmt_bind_text (stmt, 1, value);
    mk_stmt_bind_int (stmt, 2, (int64_t) strlen (prefix));
    mk_stmt_bind_text (stmt, 3, prefix);
    if (mk_stmt_step (stmt) != MK_DB_DONE)
        return -1;
    return mk_db_changes (self) == 1 ? 0 : 1;
}

int
mk_db_claim_release (mk_db_t *self)
{
    assert (self);
    char prefix[300];
    s_prefix (prefix, sizeof prefix);
    mk_stmt_t *stmt = mk_db_prepare (self, CLAIM_DROP);
    if (!stmt)
        return -1;
    mk_stmt_bind_int (stmt, 1, (int64_t) strlen (prefix));
    mk_stmt_bind_text (stmt, 2, prefix);
    return mk_stmt_step (stmt) == MK_DB_DONE ? 0 : -1;
}

int
mk_db_claim_holder (mk_db_t *self, char **holder)
{
    assert (self && holder);
    *holder = NULL;
    char value[330], about[400];
    int found = s_read (self, value, sizeof value);
    if (found <= 0)
        return found;
    claim_t claim;
    if (!s_parse (value, &claim))
        return 0;
    //  Here our own claim counts: the question is whether some controller holds it.
    if (claim.pid == (long) getpid ()) {
        char host[256];
        s_host (host, sizeof host);
        if (streq (claim.host, host)) {
            *holder = zsys_sprintf ("process %ld on %s (this one)", claim.pid, claim.host);
            return 1;
        }
    }
    if (!s_binds (&claim, about, sizeof about))
        return 0;
    *holder = strdup (about);
    return 1;
}

//  ---------------------------------------------------------------- self-test

//  Sets the claim's row by hand, as another process would hold it.
static void
s_set (mk_db_t *db, const char *host, long pid, int64_t renewed)
{
    char value[330];
    snprintf (value, sizeof value, "%s %ld %" PRId64, host, pid, renewed);
    assert (mk_db_exec (db, "DELETE FROM meta WHERE name = 'controller'") == 0);
    mk_stmt_t *stmt = mk_db_prepare (db, CLAIM_PUT);
    assert (stmt && mk_stmt_bind_text (stmt, 1, value) == 0);
    assert (mk_stmt_step (stmt) == MK_DB_DONE);
}

static void
s_test_claims (mk_db_t *db, bool verbose)
{
    assert (mk_db_exec (db, "DELETE FROM meta WHERE name = 'controller'") == 0);
    char host[256];
    s_host (host, sizeof host);

    //  Nobody holds a new database; we take it, and then it names this process.
    char *holder = NULL;
    assert (mk_db_claim_holder (db, &holder) == 0 && holder == NULL);
    assert (mk_db_claim (db, &holder) == 0 && holder == NULL);
    assert (mk_db_claim_holder (db, &holder) == 1);
    assert (strstr (holder, host) && strstr (holder, "this one"));
    zstr_free (&holder);
    //  Renewing, inside a transaction, keeps it ours; taking it again is no conflict.
    assert (mk_db_begin (db) == 0);
    assert (mk_db_claim_renew (db) == 0);
    assert (mk_db_commit (db) == 0);
    assert (mk_db_claim (db, &holder) == 0);

    //  A live process elsewhere, renewed just now: refused, and the message says who.
    s_set (db, "elsewhere", 4242, zclock_time () - 300);
    assert (mk_db_claim (db, &holder) == 1);
    if (verbose)
        printf (" * held by %s\n", holder);
    assert (strstr (holder, "process 4242 on elsewhere, renewed 0."));
    zstr_free (&holder);
    assert (mk_db_claim_holder (db, &holder) == 1 && strstr (holder, "4242"));
    zstr_free (&holder);
    //  It took ours over, so our renewal finds the claim gone, and changes nothing;
    //  nor does giving up a claim that is not ours.
    assert (mk_db_begin (db) == 0);
    assert (mk_db_claim_renew (db) == 1);
    assert (mk_db_commit (db) == 0);
    assert (mk_db_claim_release (db) == 0);
    assert (mk_db_claim_holder (db, &holder) == 1 && strstr (holder, "4242"));
    zstr_free (&holder);

    //  A claim not renewed for the lapse is free to take.
    s_set (db, "elsewhere", 4242, zclock_time () - MK_DB_CLAIM_LAPSE_MS - 1);
    assert (mk_db_claim_holder (db, &holder) == 0 && holder == NULL);
    assert (mk_db_claim (db, &holder) == 0);

    //  On this host, a live process binds us; one that is gone does not, however fresh.
    s_set (db, host, (long) getppid (), zclock_time ());
    assert (mk_db_claim (db, &holder) == 1 && strstr (holder, host));
    zstr_free (&holder);
    pid_t child = fork ();
    assert (child >= 0);
    if (child == 0)
        _exit (0);
    assert (waitpid (child, NULL, 0) == child);
    s_set (db, host, (long) child, zclock_time ());
    assert (mk_db_claim_holder (db, &holder) == 0);
    assert (mk_db_claim (db, &holder) == 0);

    //  A row that does not parse holds nothing; given up, the claim is gone.
    assert (mk_db_exec (db, "UPDATE meta SET value = 'garbage' WHERE name = 'controller'") == 0);
    assert (mk_db_claim_holder (db, &holder) == 0);
    assert (mk_db_claim (db, &holder) == 0);
    assert (mk_db_claim_release (db) == 0);
    assert (mk_db_claim_holder (db, &holder) == 0);
    char value[330];
    assert (s_read (db, value, sizeof value) == 0);
}

void
mk_db_claim_test (bool verbose)
{
    const char *tmp = getenv ("TMPDIR");
    char *dir = zsys_sprintf ("%s/mk_db_claim_test.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    assert (mkdtemp (dir));
    char *url = zsys_sprintf ("sqlite:%s/claim.db?synchronous=off", dir);
    mk_db_t *db = mk_db_open (url, NULL);
    assert (db && mk_db_migrate (db, NULL) == 0);
    s_test_claims (db, verbose);
    mk_db_destroy (&db);
    zdir_t *tree = zdir_new (dir, NULL);
    assert (tree);
    zdir_remove (tree, true);
    zdir_destroy (&tree);
    zstr_free (&url);
    zstr_free (&dir);
    //  The same on MySQL or MariaDB, when the tests were given a server.
    const char *mysql = getenv ("MK_TEST_MYSQL_URL");
    if (mysql && *mysql) {
        db = mk_db_open (mysql, NULL);
        assert (db && mk_db_migrate (db, NULL) == 0);
        s_test_claims (db, verbose);
        mk_db_destroy (&db);
    }
}

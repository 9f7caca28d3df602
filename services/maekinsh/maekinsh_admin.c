/*  maekinsh_admin: the commands that work on the cloud's files, not through the bus: the
    database's own, and the bus's key pairs. See maekinsh_admin.h. */
#include "maekinsh_admin.h"

#include "maekinsh_out.h"
#include "maekinsh_session.h"
#include "mk_curve.h"
#include "mk_db.h"
#include "mk_name.h"
#include "mk_secret.h"
#include "mk_testdir.h"

#include <signal.h>
#include <sodium.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

enum { S_OK = 0, S_FAILED = 1, S_USAGE = 2 };

static const char s_help[] =
    "  admin db status                 the controller's database: schema version, rows\n"
    "  admin db migrate                bring its schema to this version of Maekin\n"
    "  admin db backup FILE            a consistent copy into a new SQLite file, taken\n"
    "                                  while the controller runs\n"
    "  admin db restore FILE [--replace]\n"
    "                                  copy a backup into the database (refused while\n"
    "                                  a controller runs on it; --replace: drop what it\n"
    "                                  holds)\n"
    "  admin db passwd USER [--password-file F]\n"
    "                                  set a user's password in the database, when no\n"
    "                                  one can log in to do it (a lost administrator's\n"
    "                                  password); enables the user, ends its sessions;\n"
    "                                  refused while a controller runs on it\n"
    "  admin keygen DIR NAME...        make a CURVE key pair for each program NAME in\n"
    "                                  DIR (0700; NAME.key_secret 0600, never\n"
    "                                  overwritten) and print its public key\n"
    "  admin secret FILE               make the cloud's shared secret (the monitors'\n"
    "                                  multicast key, multicast/key) in FILE (0600,\n"
    "                                  never overwritten)\n"
    "  (admin db commands open the database itself: --db-url URL, or db/url in the\n"
    "  configuration, e.g. sqlite:/var/lib/maekin/maekin.db or mysql://USER:PW@HOST/DB)\n";

//  A user name as the controller takes them (mk_name).
static bool
s_user_name_ok (const char *name)
{
    return mk_name_check (name) == NULL;
}

bool
maekinsh_admin_is (int argc, char **argv)
{
    return argc > 0 && streq (argv[0], "admin");
}

const char *
maekinsh_admin_help (void)
{
    return s_help;
}

static int s_usage (FILE *err, const char *format, ...) __attribute__ ((format (printf, 2, 3)));

static int
s_usage (FILE *err, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    fprintf (err, "maekinsh: ");
    vfprintf (err, format, args);
    fprintf (err, "\nusage:\n%s", s_help);
    va_end (args);
    return S_USAGE;
}

//  A record being built: keys are constants, values owned.
typedef struct {
    const char *keys[16];
    char *values[16];
    size_t count;
} record_t;

static void s_put (record_t *record, const char *key, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

static void
s_put (record_t *record, const char *key, const char *format, ...)
{
    assert (record->count < 16);
    va_list args;
    va_start (args, format);
    record->keys[record->count] = key;
    record->values[record->count++] = zsys_vprintf (format, args);
    va_end (args);
}

//  Prints the record as the output format says, and frees its values.
static void
s_print (record_t *record, const char *root, maekinsh_out_t *out)
{
    maekinsh_out_record (out, root, record->keys, (const char *const *) record->values,
                         record->count);
    for (size_t i = 0; i < record->count; i++)
        free (record->values[i]);
    record->count = 0;
}

//  Opens a database; NULL (said on err) if it cannot be opened.
static mk_db_t *
s_open (const char *url, FILE *err)
{
    char *error = NULL;
    mk_db_t *db = mk_db_open (url, &error);
    if (!db) {
        char *shown = mk_db_url_safe (url);
        fprintf (err, "maekinsh: cannot open the database %s: %s\n", shown, error);
        free (shown);
        free (error);
    }
    return db;
}

static int
s_status (mk_db_t *db, const char *url, maekinsh_out_t *out, FILE *err)
{
    int version = mk_db_schema_version (db), latest = mk_db_latest_version ();
    if (version < 0) {
        fprintf (err, "maekinsh: cannot read the schema version: %s\n", mk_db_error (db));
        return S_FAILED;
    }
    record_t record = {.count = 0};
    char *shown = mk_db_url_safe (url);
    s_put (&record, "backend", "%s", mk_db_backend (db));
    s_put (&record, "database", "%s", shown);
    free (shown);
    const char *verdict = version == latest  ? "current"
                          : version == 0     ? "empty: maekinsh admin db migrate"
                          : version < latest ? "older: maekinsh admin db migrate"
                                             : "newer than this maekinsh: upgrade maekinsh";
    s_put (&record, "schema", "%d", version);
    s_put (&record, "latest", "%d", latest);
    s_put (&record, "verdict", "%s", verdict);
    static const char *tables[] = {"hosts", "templates", "vms", "tasks", "events"};
    for (size_t i = 0; version == latest && i < sizeof tables / sizeof tables[0]; i++) {
        int64_t rows = mk_db_count (db, tables[i], NULL);
        if (rows < 0) {
            fprintf (err, "maekinsh: cannot count %s: %s\n", tables[i], mk_db_error (db));
            s_print (&record, "status", out);
            return S_FAILED;
        }
        s_put (&record, tables[i], "%" PRId64, rows);
    }
    if (version == latest)
        s_put (&record, "open", "%" PRId64,
               mk_db_count (db, "tasks", "state IN ('queued', 'dispatched', 'running')"));
    char *holder = NULL;
    if (version >= 1 && mk_db_claim_holder (db, &holder) >= 0)
        s_put (&record, "controller", "%s", holder ? holder : "none");
    free (holder);
    s_print (&record, "status", out);
    return version > latest ? S_FAILED : S_OK;
}

static int
s_migrate (mk_db_t *db, maekinsh_out_t *out, FILE *err)
{
    int before = mk_db_schema_version (db);
    char *error = NULL;
    if (mk_db_migrate (db, &error) != 0) {
        fprintf (err, "maekinsh: %s\n", error);
        free (error);
        return S_FAILED;
    }
    record_t record = {.count = 0};
    s_put (&record, "before", "%d", before);
    s_put (&record, "schema", "%d", mk_db_schema_version (db));
    s_put (&record, "verdict", "%s",
           before == mk_db_schema_version (db) ? "already current" : "migrated");
    s_print (&record, "migrate", out);
    return S_OK;
}

//  A copy from one database to another, both open; says what it did.
//  A restore or a migration takes the database's claim for its time (see mk_db_claim),
//  as one that does not lapse while this process lives (it cannot renew it in the
//  middle of a copy): a controller working on the database meanwhile would keep its
//  picture of what was there. False, and said, when a controller or another admin
//  command holds it. Given up after, the claim is gone, so a controller that stood
//  still meanwhile finds it taken and stops, to start again on what is there.
static bool
s_claim (mk_db_t *db, const char *verb, FILE *err)
{
    char role[32], *holder = NULL;
    snprintf (role, sizeof role, "maekinsh-admin-db-%s", verb);
    int rc = mk_db_claim (db, role, false, &holder);
    if (rc < 0)
        fprintf (err, "maekinsh: cannot take the database's claim for '%s': %s\n", verb,
                 mk_db_error (db));
    else if (rc == 1)
        fprintf (err,
                 "maekinsh: a controller runs on this database (%s); stop it before "
                 "'admin db %s'\n",
                 holder, verb);
    else if (rc == 2)
        fprintf (err,
                 "maekinsh: another command works on this database (%s); try again "
                 "when it is done\n",
                 holder);
    free (holder);
    return rc == 0;
}

static void
s_release (mk_db_t *db, FILE *err)
{
    if (mk_db_claim_release (db) != 0)
        fprintf (err,
                 "maekinsh: warning: could not give the database's claim up (%s); a "
                 "controller takes it over once this process has ended\n",
                 mk_db_error (db));
}

static int
s_copy (mk_db_t *from, mk_db_t *to, bool replace, const char *what, const char *where,
        maekinsh_out_t *out, FILE *err)
{
    char *error = NULL;
    //  A restore's copy checks, in its own transaction, that the claim is still ours.
    int64_t rows = mk_db_copy (from, to, replace, streq (what, "restore"), &error);
    if (rows < 0) {
        fprintf (err, "maekinsh: %s failed, nothing was written: %s\n", what, error);
        free (error);
        return S_FAILED;
    }
    record_t record = {.count = 0};
    s_put (&record, "file", "%s", where);
    s_put (&record, "rows", "%" PRId64, rows);
    s_put (&record, "schema", "%d", mk_db_latest_version ());
    s_print (&record, what, out);
    return S_OK;
}

static int
s_backup (mk_db_t *db, const char *file, maekinsh_out_t *out, FILE *err)
{
    struct stat info;
    if (stat (file, &info) == 0) {
        fprintf (err, "maekinsh: '%s' exists; a backup goes into a new file\n", file);
        return S_FAILED;
    }
    char *url = zsys_sprintf ("sqlite:%s", file);
    mk_db_t *copy = s_open (url, err);
    free (url);
    if (!copy)
        return S_FAILED;
    char *error = NULL;
    int status = S_FAILED;
    if (mk_db_migrate (copy, &error) != 0) {
        fprintf (err, "maekinsh: cannot make the backup file: %s\n", error);
        free (error);
    } else
        status = s_copy (db, copy, false, "backup", file, out, err);
    mk_db_destroy (&copy);
    if (status != S_OK) {
        //  No half-made backup is left to be mistaken for a whole one.
        char *wal = zsys_sprintf ("%s-wal", file), *shm = zsys_sprintf ("%s-shm", file);
        unlink (file);
        unlink (wal);
        unlink (shm);
        free (wal);
        free (shm);
    }
    return status;
}

//  A user's new password written straight into the database (the controller, stopped,
//  reads it when it starts): enabled again, its sessions ended, in one transaction.
static int
s_passwd (mk_db_t *db, const char *user, const char *password_file, maekinsh_out_t *out, FILE *err)
{
    if (mk_db_schema_version (db) != mk_db_latest_version ()) {
        fprintf (err,
                 "maekinsh: the database's schema is not this maekinsh's (%d): 'admin db "
                 "migrate' first\n",
                 mk_db_latest_version ());
        return S_FAILED;
    }
    char prompt[96], *error = NULL;
    snprintf (prompt, sizeof prompt, "new password of %s", user);
    char *password = maekinsh_session_password (password_file, prompt, true, &error);
    const char *why = NULL;
    char *hash = password ? mk_secret_password_hash (password, &why) : NULL;
    maekinsh_session_wipe (&password);
    if (!hash) {
        fprintf (err, "maekinsh: %s\n", error ? error : why);
        free (error);
        return S_USAGE;
    }
    int status = S_FAILED;
    if (!s_claim (db, "passwd", err)) {
        free (hash);
        return S_FAILED;
    }
    int64_t now = zclock_time () / 1000;
    mk_stmt_t *set = NULL, *end = NULL;
    int changed = -1;
    if (mk_db_begin (db) == 0
        && (set = mk_db_prepare (db, "UPDATE users SET password = ?, disabled = 0 WHERE name = ?"))
        && mk_stmt_bind_text (set, 1, hash) == 0 && mk_stmt_bind_text (set, 2, user) == 0
        && mk_stmt_step (set) == MK_DB_DONE) {
        changed = mk_db_changes (db);
        mk_stmt_reset (set);
    }
    if (changed == 1
        && (end = mk_db_prepare (db, "UPDATE credentials SET revoked = ? WHERE kind = 1 AND "
                                     "revoked = 0 AND user_id = (SELECT id FROM users WHERE "
                                     "name = ?)"))
        && mk_stmt_bind_int (end, 1, now) == 0 && mk_stmt_bind_text (end, 2, user) == 0
        && mk_stmt_step (end) == MK_DB_DONE && mk_db_commit (db) == 0) {
        record_t record = {.count = 0};
        s_put (&record, "user", "%s", user);
        s_put (&record, "verdict", "%s",
               "password set, enabled, sessions ended: start the controller, then log in");
        s_print (&record, "passwd", out);
        status = S_OK;
    } else {
        if (changed == 0)
            fprintf (err, "maekinsh: no user '%s' in the database\n", user);
        else
            fprintf (err, "maekinsh: cannot set the password: %s\n", mk_db_error (db));
        mk_db_rollback (db);
    }
    if (end)
        mk_stmt_reset (end);
    s_release (db, err);
    sodium_memzero (hash, strlen (hash));
    free (hash);
    return status;
}

static int
s_restore (mk_db_t *db, const char *file, bool replace, maekinsh_out_t *out, FILE *err)
{
    struct stat info;
    if (stat (file, &info) != 0 || !S_ISREG (info.st_mode)) {
        fprintf (err, "maekinsh: no backup file '%s'\n", file);
        return S_FAILED;
    }
    char *url = zsys_sprintf ("sqlite:%s", file);
    mk_db_t *backup = s_open (url, err);
    free (url);
    if (!backup)
        return S_FAILED;
    int status = S_FAILED;
    int version = mk_db_schema_version (backup);
    char *error = NULL;
    if (version <= 0)
        fprintf (err, "maekinsh: '%s' is not a Maekin backup (no schema version in it)\n", file);
    else if (version != mk_db_latest_version ())
        //  Checked before the database is touched: nothing is written for a restore
        //  that cannot happen.
        fprintf (err,
                 "maekinsh: '%s' is a backup at schema %d; this maekinsh restores "
                 "schema %d\n",
                 file, version, mk_db_latest_version ());
    else if (mk_db_migrate (db, &error) != 0) {
        fprintf (err, "maekinsh: cannot prepare the database: %s\n", error);
        free (error);
    } else if (s_claim (db, "restore", err)) {
        status = s_copy (backup, db, replace, "restore", file, out, err);
        s_release (db, err);
    }
    mk_db_destroy (&backup);
    return status;
}

//  admin keygen DIR NAME...: every pair made, or the first failure said (those made
//  before it stay).
static int
s_keygen (int argc, char **argv, int format, FILE *out, FILE *err)
{
    if (argc < 2)
        return s_usage (err, "'admin keygen' needs a DIR and at least one NAME");
    for (int i = 1; i < argc; i++)
        if (mk_name_check (argv[i]))
            return s_usage (err, "'%s' is not a name for a key pair (%s)", argv[i],
                            mk_name_check (argv[i]));
    maekinsh_out_t *output = maekinsh_out_new ((maekinsh_out_format_t) format, out, err);
    int status = S_OK;
    for (int i = 1; i < argc && status == S_OK; i++) {
        char *error = NULL;
        char *path = zsys_sprintf ("%s/%s.key", argv[0], argv[i]);
        char key[MK_CURVE_KEY_TEXT + 1];
        if (mk_curve_keygen (argv[0], argv[i], &error) != 0
            || mk_curve_public (path, key, &error) != 0) {
            fprintf (err, "maekinsh: %s\n", error);
            free (error);
            status = S_FAILED;
        } else {
            record_t record = {.count = 0};
            s_put (&record, "name", "%s", argv[i]);
            s_put (&record, "public", "%s", key);
            s_put (&record, "secret", "%s_secret", path);
            s_print (&record, "key", output);
        }
        free (path);
    }
    maekinsh_out_destroy (&output);
    return status;
}

int
maekinsh_admin_run (int argc, char **argv, const char *db_url, int format, FILE *out, FILE *err)
{
    assert (maekinsh_admin_is (argc, argv));
    if (argc < 2 || streq (argv[1], "--help") || streq (argv[1], "-h")) {
        fprintf (argc < 2 ? err : out, "usage:\n%s", s_help);
        return argc < 2 ? S_USAGE : S_OK;
    }
    if (streq (argv[1], "keygen"))
        return s_keygen (argc - 2, argv + 2, format, out, err);
    if (streq (argv[1], "secret")) {
        if (argc != 3)
            return s_usage (err, "'admin secret' needs one FILE");
        char *error = NULL;
        if (mk_curve_secret_new (argv[2], &error) != 0) {
            fprintf (err, "maekinsh: %s\n", error);
            free (error);
            return S_FAILED;
        }
        fprintf (out, "the cloud's secret is in %s: give it to every monitor (multicast/key)\n",
                 argv[2]);
        return S_OK;
    }
    if (!streq (argv[1], "db"))
        return s_usage (err, "'admin %s' is not a command", argv[1]);
    if (argc < 3)
        return s_usage (err, "'admin db' needs a command: status, migrate, backup, restore");
    const char *verb = argv[2];
    if (streq (verb, "--help") || streq (verb, "-h")) {
        fprintf (out, "usage:\n%s", s_help);
        return S_OK;
    }
    bool replace = false;
    const char *file = NULL, *password_file = NULL;
    for (int i = 3; i < argc; i++) {
        if (streq (argv[i], "--help") || streq (argv[i], "-h")) {
            fprintf (out, "usage:\n%s", s_help);
            return S_OK;
        }
        if (streq (argv[i], "--replace") && streq (verb, "restore"))
            replace = true;
        else if (streq (argv[i], "--password-file") && streq (verb, "passwd") && i + 1 < argc
                 && !password_file)
            password_file = argv[++i];
        else if (argv[i][0] != '-' && !file)
            file = argv[i];
        else
            return s_usage (err, "'admin db %s' does not take '%s'", verb, argv[i]);
    }
    bool takes_file = streq (verb, "backup") || streq (verb, "restore");
    bool passwd = streq (verb, "passwd");
    if (!takes_file && !passwd && !streq (verb, "status") && !streq (verb, "migrate"))
        return s_usage (err, "'admin db %s' is not a command", verb);
    if (takes_file && !file)
        return s_usage (err, "'admin db %s' needs a FILE", verb);
    if (passwd && !file)
        return s_usage (err, "'admin db passwd' needs a USER");
    if (passwd && !s_user_name_ok (file))
        return s_usage (err, "'%s' is not a user name", file);
    takes_file |= passwd;
    if (!takes_file && file)
        return s_usage (err, "'admin db %s' takes no argument, not '%s'", verb, file);
    if (!db_url || !*db_url)
        return s_usage (err, "which database? give --db-url URL, or db/url in "
                             "maekinsh's configuration");
    //  Opening a SQLite path makes the file: a mistyped path must not look like an
    //  empty cloud (restore and migrate may make a new one).
    if (streq (verb, "status") || streq (verb, "backup") || passwd) {
        const char *path = strncmp (db_url, "sqlite:", 7) == 0 ? db_url + 7 : db_url;
        char *plain = strndup (path, strcspn (path, "?"));
        struct stat info;
        bool missing = !strstr (db_url, "://") && stat (plain, &info) != 0;
        if (missing)
            fprintf (err, "maekinsh: no database at '%s'\n", plain);
        free (plain);
        if (missing)
            return S_FAILED;
    }
    mk_db_t *db = s_open (db_url, err);
    if (!db)
        return S_FAILED;
    //  A migration claims the database first (a restore claims it in s_restore, once
    //  its schema is there); one with no schema yet has no controller to keep out.
    bool claims = streq (verb, "migrate") && mk_db_schema_version (db) > 0;
    if (claims && !s_claim (db, verb, err)) {
        mk_db_destroy (&db);
        return S_FAILED;
    }
    maekinsh_out_t *output = maekinsh_out_new ((maekinsh_out_format_t) format, out, err);
    int status = streq (verb, "status")    ? s_status (db, db_url, output, err)
                 : streq (verb, "migrate") ? s_migrate (db, output, err)
                 : streq (verb, "backup")  ? s_backup (db, file, output, err)
                 : passwd                  ? s_passwd (db, file, password_file, output, err)
                                           : s_restore (db, file, replace, output, err);
    maekinsh_out_destroy (&output);
    if (claims)
        s_release (db, err);
    mk_db_destroy (&db);
    return status;
}

//  ---------------------------------------------------------------- self-test

//  Runs an admin command; returns the status, with its output and errors in *text.
static int
s_run_as (const char *url, int format, char **text, const char **words)
{
    int argc = 0;
    while (words[argc])
        argc++;
    char *output = NULL;
    size_t size = 0;
    FILE *file = open_memstream (&output, &size);
    assert (file);
    int status = maekinsh_admin_run (argc, (char **) words, url, format, file, file);
    fclose (file);
    *text = output;
    return status;
}

static int
s_run (const char *url, char **text, const char **words)
{
    return s_run_as (url, MAEKINSH_OUT_TABLE, text, words);
}

#define WORDS(...) ((const char *[]){__VA_ARGS__, NULL})

//  A file holding a password, for admin db passwd (made by the test).
static char s_password_file[256];

//  While a controller runs on the database (a live process holds its claim), status
//  says which, and restore and migrate are refused with nothing changed.
static void
s_test_claimed (const char *url, const char *backup, mk_db_t *db, bool verbose)
{
    char *text = NULL;
    int link[2];
    assert (pipe (link) == 0);
    pid_t controller = fork ();
    assert (controller >= 0);
    if (controller == 0) {
        prctl (PR_SET_PDEATHSIG, SIGKILL); //  never outlives a failed test
        mk_db_t *mine = mk_db_open (url, NULL);
        char *holder = NULL;
        int rc = mine ? mk_db_claim (mine, "maekin-controller", true, &holder) : -1;
        assert (write (link[1], &rc, sizeof rc) == sizeof rc);
        pause ();
        _exit (0);
    }
    int claimed = -1;
    assert (read (link[0], &claimed, sizeof claimed) == sizeof claimed && claimed == 0);
    char expect[120];
    snprintf (expect, sizeof expect, "controller maekin-controller, process %d on ",
              (int) controller);
    assert (s_run (url, &text, WORDS ("admin", "db", "status")) == S_OK);
    assert (strstr (text, expect));
    free (text);
    assert (s_run (url, &text, WORDS ("admin", "db", "restore", backup, "--replace")) == S_FAILED);
    if (verbose)
        printf ("%s", text);
    snprintf (expect, sizeof expect,
              "a controller runs on this database (maekin-controller, "
              "process %d on ",
              (int) controller);
    assert (strstr (text, expect) && strstr (text, "stop it before 'admin db restore'"));
    free (text);
    assert (s_run (url, &text, WORDS ("admin", "db", "migrate")) == S_FAILED);
    assert (strstr (text, "stop it before 'admin db migrate'"));
    free (text);
    assert (s_run (url, &text,
                   WORDS ("admin", "db", "passwd", "admin", "--password-file", s_password_file))
            == S_FAILED);
    assert (strstr (text, "stop it before 'admin db passwd'"));
    free (text);
    //  Once it is gone, a restore takes the claim for its time and gives it up after.
    kill (controller, SIGKILL);
    assert (waitpid (controller, NULL, 0) == controller);
    close (link[0]);
    close (link[1]);
    assert (mk_db_count (db, "meta", "name = 'controller'") == 1); //  its claim, left over
    assert (s_run (url, &text, WORDS ("admin", "db", "restore", backup, "--replace")) == S_OK);
    free (text);
    //  The restore took that claim over and gave it up: no claim row is left.
    assert (mk_db_count (db, "meta", "name = 'controller'") == 0);
    assert (s_run (url, &text, WORDS ("admin", "db", "status")) == S_OK);
    assert (strstr (text, "controller none"));
    free (text);
}

//  Bad input: each a clear error, nothing done.
static void
s_test_bad_input (const char *url, const char *dir, bool verbose)
{
    char *text = NULL;
    struct {
        const char **words;
        const char *url;
        int status;
        const char *says;
    } bad[] = {
        {WORDS ("admin"), url, S_USAGE, "usage:"},
        {WORDS ("admin", "disk"), url, S_USAGE, "'admin disk' is not a command"},
        {WORDS ("admin", "db"), url, S_USAGE, "needs a command"},
        {WORDS ("admin", "db", "drop"), url, S_USAGE, "'admin db drop' is not a command"},
        {WORDS ("admin", "db", "backup"), url, S_USAGE, "needs a FILE"},
        {WORDS ("admin", "db", "status", "x"), url, S_USAGE, "takes no argument"},
        {WORDS ("admin", "db", "backup", "a", "--replace"), url, S_USAGE, "does not take"},
        {WORDS ("admin", "db", "status"), "", S_USAGE, "which database?"},
        {WORDS ("admin", "db", "status"), "postgres://x/y", S_FAILED, "cannot open"},
        {WORDS ("admin", "db", "restore", "/nonexistent/b.db"), url, S_FAILED, "no backup file"},
        {WORDS ("admin", "db", "restore", dir), url, S_FAILED, "no backup file"},
        {WORDS ("admin", "db", "passwd"), url, S_USAGE, "needs a USER"},
        {WORDS ("admin", "db", "passwd", "Bad Name"), url, S_USAGE, "not a user name"},
        {WORDS ("admin", "db", "passwd", "admin", "--password-file"), url, S_USAGE,
         "does not take"},
        {WORDS ("admin", "db", "passwd", "nobody", "--password-file", s_password_file), url,
         S_FAILED, "no user 'nobody'"},
        {WORDS ("admin", "db", "passwd", "admin", "--password-file", "/nonexistent/pw"), url,
         S_USAGE, "cannot read the password file"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int status = s_run (bad[i].url, &text, bad[i].words);
        if (verbose || status != bad[i].status || !strstr (text, bad[i].says))
            printf ("  bad %zu: %d %s", i, status, text);
        assert (status == bad[i].status && strstr (text, bad[i].says));
        free (text);
    }
    //  A file that is not a backup.
    char *junk = zsys_sprintf ("%s/junk.db", dir);
    FILE *file = fopen (junk, "w");
    assert (file);
    fputs ("not a database at all, just some text that is long enough", file);
    fclose (file);
    assert (s_run (url, &text, WORDS ("admin", "db", "restore", junk)) == S_FAILED);
    if (verbose)
        printf ("  %s", text);
    free (text);
    assert (s_run (url, &text, WORDS ("admin", "db", "status")) == S_OK);
    assert (strstr (text, "hosts      1"));
    free (text);
    free (junk);
}

void
maekinsh_admin_test (bool verbose)
{
    char *dir = mk_testdir_new ("maekinsh_admin_test");
    char *url = zsys_sprintf ("sqlite:%s/state.db", dir);
    char *other = zsys_sprintf ("sqlite:%s/other.db", dir);
    char *backup = zsys_sprintf ("%s/backup.db", dir);
    char *text = NULL;

    assert (maekinsh_admin_is (2, (char **) WORDS ("admin", "db")));
    assert (!maekinsh_admin_is (2, (char **) WORDS ("vm", "list")));
    //  No database there: said, and none made.
    assert (s_run (url, &text, WORDS ("admin", "db", "status")) == S_FAILED);
    assert (strstr (text, "no database at"));
    free (text);
    char *path = strchr (url, ':') + 1;
    struct stat info;
    assert (stat (path, &info) != 0);
    //  An empty database, then migrated.
    mk_db_t *empty = mk_db_open (url, NULL);
    assert (empty);
    mk_db_destroy (&empty);
    assert (s_run (url, &text, WORDS ("admin", "db", "status")) == S_OK);
    if (verbose)
        printf ("%s", text);
    assert (strstr (text, "backend    sqlite") && strstr (text, "schema     0\n")
            && strstr (text, "admin db migrate"));
    free (text);
    assert (s_run (url, &text, WORDS ("admin", "db", "migrate")) == S_OK);
    char *migrated =
        zsys_sprintf ("before     0\nschema     %d\nverdict    migrated", mk_db_latest_version ());
    assert (strstr (text, migrated));
    freen (migrated);
    free (text);
    assert (s_run (url, &text, WORDS ("admin", "db", "migrate")) == S_OK);
    assert (strstr (text, "already current"));
    free (text);

    //  Some state, its backup, and the backup restored elsewhere.
    char *error = NULL;
    mk_db_t *db = mk_db_open (url, &error);
    assert (db && mk_db_begin (db) == 0);
    assert (mk_db_exec (db, "INSERT INTO hosts (name, state, vcpus, memory_mb) VALUES "
                            "('n1', 'up', 4, 1024)")
            == 0);
    assert (mk_db_exec (db, "INSERT INTO tasks (vm, host, op, state, created, updated) "
                            "VALUES ('web-1', 'n1', 1, 'queued', 1, 1)")
            == 0);
    assert (mk_db_commit (db) == 0);
    assert (s_run (url, &text, WORDS ("admin", "db", "status")) == S_OK);
    if (verbose)
        printf ("%s", text);
    assert (strstr (text, "hosts      1") && strstr (text, "tasks      1\n")
            && strstr (text, "open       1\n"));
    free (text);
    //  A lost administrator's password, set in the database: enabled, its session ended.
    snprintf (s_password_file, sizeof s_password_file, "%s/new-password", dir);
    FILE *pw = fopen (s_password_file, "w");
    assert (pw);
    fputs ("a-new-secret\n", pw);
    fclose (pw);
    assert (mk_db_begin (db) == 0);
    assert (mk_db_exec (db, "INSERT INTO users (id, name, password, admin, disabled, created) "
                            "VALUES (1, 'admin', 'lost', 1, 1, 1)")
            == 0);
    assert (mk_db_exec (db, "INSERT INTO credentials (digest, kind, user_id, created) VALUES "
                            "('aa', 1, 1, 1), ('bb', 2, 1, 1)")
            == 0);
    assert (mk_db_commit (db) == 0);
    assert (s_run (url, &text,
                   WORDS ("admin", "db", "passwd", "admin", "--password-file", s_password_file))
            == S_OK);
    assert (strstr (text, "password set"));
    free (text);
    mk_stmt_t *stmt = mk_db_prepare (db, "SELECT password, disabled FROM users WHERE id = 1");
    assert (stmt && mk_stmt_step (stmt) == MK_DB_ROW);
    assert (mk_secret_password_check (mk_stmt_text (stmt, 0), "a-new-secret")
            && mk_stmt_int (stmt, 1) == 0);
    mk_stmt_reset (stmt);
    assert (mk_db_count (db, "credentials", "revoked > 0") == 1
            && mk_db_count (db, "credentials", "digest = 'bb' AND revoked = 0") == 1);
    assert (mk_db_count (db, "meta", "name = 'controller'") == 0); //  the claim given up
    assert (mk_db_begin (db) == 0 && mk_db_exec (db, "DELETE FROM credentials") == 0
            && mk_db_exec (db, "DELETE FROM users") == 0 && mk_db_commit (db) == 0);
    //  For scripts: JSON (numbers as numbers) and XML.
    assert (s_run_as (url, MAEKINSH_OUT_JSON, &text, WORDS ("admin", "db", "status")) == S_OK);
    if (verbose)
        printf ("%s", text);
    char *schema = zsys_sprintf ("\"schema\": %d,", mk_db_latest_version ());
    assert (strstr (text, "\"backend\": \"sqlite\"") && strstr (text, schema)
            && strstr (text, "\"open\": 1,") && strstr (text, "\"controller\": \"none\"\n}"));
    freen (schema);
    free (text);
    assert (s_run_as (url, MAEKINSH_OUT_XML, &text, WORDS ("admin", "db", "status")) == S_OK);
    assert (strstr (text, "<status>") && strstr (text, "<hosts>1</hosts>"));
    free (text);
    assert (s_run (url, &text, WORDS ("admin", "db", "backup", backup)) == S_OK);
    if (verbose)
        printf ("%s", text);
    assert (strstr (text, "rows       2\n"));
    free (text);
    //  Never over an existing file.
    assert (s_run (url, &text, WORDS ("admin", "db", "backup", backup)) == S_FAILED);
    assert (strstr (text, "exists; a backup goes into a new file"));
    free (text);
    assert (s_run (other, &text, WORDS ("admin", "db", "restore", backup)) == S_OK);
    assert (strstr (text, "rows       2\n"));
    free (text);
    //  Into a database that holds rows: only with --replace.
    assert (s_run (url, &text, WORDS ("admin", "db", "restore", backup)) == S_FAILED);
    assert (strstr (text, "not empty") && strstr (text, "nothing was written"));
    free (text);
    assert (s_run (url, &text, WORDS ("admin", "db", "restore", backup, "--replace")) == S_OK);
    free (text);

    s_test_claimed (url, backup, db, verbose);
    s_test_bad_input (url, dir, verbose);

    //  Key pairs: made and shown, never made twice; a bad name changes nothing.
    char *keys = zsys_sprintf ("%s/keys", dir);
    assert (s_run (NULL, &text, WORDS ("admin", "keygen", keys, "broker", "node1")) == S_OK);
    if (verbose)
        printf ("%s", text);
    assert (strstr (text, "broker\npublic ") && strstr (text, "node1\npublic "));
    assert (strstr (text, "node1.key_secret"));
    char *secret = zsys_sprintf ("%s/node1.key_secret", keys);
    struct stat key_info;
    assert (stat (secret, &key_info) == 0 && (key_info.st_mode & 0777) == 0600);
    free (text);
    assert (s_run (NULL, &text, WORDS ("admin", "keygen", keys, "node1")) == S_FAILED);
    assert (strstr (text, "remove it first"));
    free (text);
    assert (s_run (NULL, &text, WORDS ("admin", "keygen", keys, "Bad/Name")) == S_USAGE);
    assert (strstr (text, "not a name for a key pair"));
    free (text);
    assert (s_run (NULL, &text, WORDS ("admin", "keygen", keys)) == S_USAGE);
    free (text);
    char *shared = zsys_sprintf ("%s/multicast.key", keys);
    assert (s_run (NULL, &text, WORDS ("admin", "secret", shared)) == S_OK);
    assert (strstr (text, "multicast/key"));
    free (text);
    assert (s_run (NULL, &text, WORDS ("admin", "secret", shared)) == S_FAILED);
    assert (strstr (text, "remove it first"));
    free (text);
    assert (s_run (NULL, &text, WORDS ("admin", "secret")) == S_USAGE);
    free (text);
    free (shared);
    free (secret);
    free (keys);

    mk_db_destroy (&db);
    mk_testdir_remove (&dir);
    free (backup);
    free (other);
    free (url);
}

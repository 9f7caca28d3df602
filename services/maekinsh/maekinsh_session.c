/*  maekinsh_session: the token file and passwords. See maekinsh_session.h. */
#include "maekinsh_session.h"

#include "mk_testdir.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

//  A token line's longest: an endpoint, a token, a user name.
#define LINE_MAX_ 1024

void
maekinsh_session_wipe (char **secret_p)
{
    if (*secret_p) {
        sodium_memzero (*secret_p, strlen (*secret_p));
        free (*secret_p);
        *secret_p = NULL;
    }
}

char *
maekinsh_session_file (void)
{
    const char *config = getenv ("XDG_CONFIG_HOME");
    if (config && *config == '/')
        return zsys_sprintf ("%s/maekin/tokens", config);
    const char *home = getenv ("HOME");
    if (home && *home)
        return zsys_sprintf ("%s/.config/maekin/tokens", home);
    return NULL;
}

//  Splits a line of the file into its words (in place): true if it has the three.
static bool
s_split (char *line, char **endpoint, char **token, char **user)
{
    line[strcspn (line, "\n")] = 0;
    *endpoint = strtok (line, " ");
    *token = *endpoint ? strtok (NULL, " ") : NULL;
    *user = *token ? strtok (NULL, " ") : NULL;
    return *user != NULL;
}

char *
maekinsh_session_token (const char *endpoint, char *user)
{
    if (user)
        *user = 0;
    const char *named = getenv ("MAEKIN_TOKEN");
    if (named && *named)
        return strdup (named);
    char *path = maekinsh_session_file ();
    FILE *file = path ? fopen (path, "r") : NULL;
    free (path);
    if (!file)
        return NULL;
    char line[LINE_MAX_];
    char *found = NULL;
    char *words[3];
    while (!found && fgets (line, sizeof line, file))
        if (s_split (line, &words[0], &words[1], &words[2]) && streq (words[0], endpoint)) {
            found = strdup (words[1]);
            if (user)
                snprintf (user, 64, "%s", words[2]);
        }
    sodium_memzero (line, sizeof line);
    fclose (file);
    return found;
}

//  Makes the directories down to path's (the last mode 0700, as those made on the way)
//  where they are not there: 0, or -1.
static int
s_make_dir (const char *path)
{
    char *dir = strdup (path);
    int rc = 0;
    for (char *slash = strchr (dir + 1, '/'); slash && rc == 0; slash = strchr (slash + 1, '/')) {
        *slash = 0;
        if (mkdir (dir, 0700) != 0 && errno != EEXIST)
            rc = -1;
        *slash = '/';
    }
    free (dir);
    return rc;
}

int
maekinsh_session_keep (const char *endpoint, const char *token, const char *user, char **error)
{
    char *path = maekinsh_session_file ();
    if (!path) {
        *error = strdup ("neither $XDG_CONFIG_HOME nor $HOME is set: nowhere to keep the "
                         "session's token (set MAEKIN_TOKEN instead)");
        return -1;
    }
    if (s_make_dir (path) != 0) {
        *error = zsys_sprintf ("cannot make the directory of %s: %s", path, strerror (errno));
        free (path);
        return -1;
    }
    //  The other clouds' lines, then this one's, into a new file renamed over the old:
    //  a crash leaves the old file or the new, never half of one.
    char *temp = zsys_sprintf ("%s.%d", path, (int) getpid ());
    int fd = open (temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    FILE *out = fd >= 0 ? fdopen (fd, "w") : NULL;
    if (!out) {
        *error = zsys_sprintf ("cannot write %s: %s", temp, strerror (errno));
        if (fd >= 0)
            close (fd);
        free (temp);
        free (path);
        return -1;
    }
    FILE *in = fopen (path, "r");
    char line[LINE_MAX_], copy[LINE_MAX_];
    char *words[3];
    while (in && fgets (line, sizeof line, in)) {
        snprintf (copy, sizeof copy, "%s", line);
        if (s_split (copy, &words[0], &words[1], &words[2]) && !streq (words[0], endpoint))
            fputs (line, out);
    }
    sodium_memzero (line, sizeof line);
    sodium_memzero (copy, sizeof copy);
    if (in)
        fclose (in);
    if (token)
        fprintf (out, "%s %s %s\n", endpoint, token, user && *user ? user : "-");
    bool written = fflush (out) == 0 && fsync (fileno (out)) == 0;
    written &= fclose (out) == 0;
    if (!written || rename (temp, path) != 0) {
        *error = zsys_sprintf ("cannot write %s: %s", path, strerror (errno));
        (void) unlink (temp);
        free (temp);
        free (path);
        return -1;
    }
    free (temp);
    free (path);
    return 0;
}

//  The first line of a stream, without its newline: a new string, or NULL with *error.
static char *
s_read_line (FILE *file, const char *what, char **error)
{
    char *line = (char *) zmalloc (MAEKINSH_PASSWORD_MAX + 2);
    if (!fgets (line, MAEKINSH_PASSWORD_MAX + 2, file)) {
        *error = zsys_sprintf ("%s holds no password", what);
        free (line);
        return NULL;
    }
    size_t length = strcspn (line, "\n");
    if (line[length] != '\n' && length > MAEKINSH_PASSWORD_MAX) {
        *error = zsys_sprintf ("the password in %s is longer than %d bytes", what,
                               MAEKINSH_PASSWORD_MAX);
        maekinsh_session_wipe (&line);
        return NULL;
    }
    line[length] = 0;
    if (length == 0) {
        *error = zsys_sprintf ("%s holds no password (its first line is empty)", what);
        free (line);
        return NULL;
    }
    return line;
}

//  Asks on the terminal without echo: a new string, or NULL with *error.
static char *
s_ask (FILE *tty, const char *prompt, char **error)
{
    struct termios before, quiet;
    if (tcgetattr (fileno (tty), &before) != 0) {
        *error = zsys_sprintf ("cannot switch the terminal's echo off: %s", strerror (errno));
        return NULL;
    }
    quiet = before;
    quiet.c_lflag &= ~(tcflag_t) ECHO;
    quiet.c_lflag |= ECHONL;
    fprintf (tty, "%s: ", prompt);
    fflush (tty);
    (void) tcsetattr (fileno (tty), TCSAFLUSH, &quiet);
    char *line = s_read_line (tty, "the terminal", error);
    (void) tcsetattr (fileno (tty), TCSAFLUSH, &before);
    return line;
}

char *
maekinsh_session_password (const char *file, const char *prompt, bool confirm, char **error)
{
    *error = NULL;
    if (file) {
        bool standard = streq (file, "-");
        FILE *in = standard ? stdin : fopen (file, "r");
        if (!in) {
            *error = zsys_sprintf ("cannot read the password file %s: %s", file, strerror (errno));
            return NULL;
        }
        char *password = s_read_line (in, standard ? "the standard input" : file, error);
        if (!standard)
            fclose (in);
        return password;
    }
    FILE *tty = fopen ("/dev/tty", "r+");
    if (!tty) {
        *error = strdup ("no terminal to ask the password on: give --password-file FILE ('-' "
                         "for the standard input)");
        return NULL;
    }
    char *password = s_ask (tty, prompt, error);
    if (password && confirm) {
        char *again = s_ask (tty, "the same again", error);
        if (again && !streq (again, password)) {
            *error = strdup ("the two passwords differ; nothing was changed");
            maekinsh_session_wipe (&password);
        }
        maekinsh_session_wipe (&again);
        if (*error)
            maekinsh_session_wipe (&password);
    }
    fclose (tty);
    return password;
}

//  ---------------------------------------------------------------- self-test

void
maekinsh_session_test (bool verbose)
{
    (void) verbose;
    char *dir = mk_testdir_new ("maekinsh_session");
    char *config = zsys_sprintf ("%s/config", dir);
    char *old_config = getenv ("XDG_CONFIG_HOME") ? strdup (getenv ("XDG_CONFIG_HOME")) : NULL;
    char *old_token = getenv ("MAEKIN_TOKEN") ? strdup (getenv ("MAEKIN_TOKEN")) : NULL;
    setenv ("XDG_CONFIG_HOME", config, 1);
    unsetenv ("MAEKIN_TOKEN");
    char *error = NULL;
    char user[64];

    //  Nothing kept yet: no token, and no file made for asking.
    assert (maekinsh_session_token ("tcp://a:1", user) == NULL);
    //  Kept by endpoint, in a file and directory only the user reads.
    assert (maekinsh_session_keep ("tcp://a:1", "mkt_one", "alice", &error) == 0);
    assert (maekinsh_session_keep ("tcp://b:2", "mkt_two", "bob", &error) == 0);
    char *token = maekinsh_session_token ("tcp://a:1", user);
    assert (token && streq (token, "mkt_one") && streq (user, "alice"));
    free (token);
    token = maekinsh_session_token ("tcp://b:2", NULL);
    assert (token && streq (token, "mkt_two"));
    free (token);
    assert (maekinsh_session_token ("tcp://c:3", user) == NULL && !*user);
    char *path = maekinsh_session_file ();
    assert (streq (path + strlen (config), "/maekin/tokens"));
    struct stat info;
    assert (stat (path, &info) == 0 && (info.st_mode & 0777) == 0600);
    char *parent = zsys_sprintf ("%s/maekin", config);
    assert (stat (parent, &info) == 0 && (info.st_mode & 0777) == 0700);
    free (parent);
    //  Logging in again replaces the line; logging out forgets only that cloud's.
    assert (maekinsh_session_keep ("tcp://a:1", "mkt_three", "carol", &error) == 0);
    token = maekinsh_session_token ("tcp://a:1", user);
    assert (token && streq (token, "mkt_three") && streq (user, "carol"));
    free (token);
    assert (maekinsh_session_keep ("tcp://a:1", NULL, NULL, &error) == 0);
    assert (maekinsh_session_token ("tcp://a:1", NULL) == NULL);
    token = maekinsh_session_token ("tcp://b:2", NULL);
    assert (token && streq (token, "mkt_two"));
    free (token);
    //  $MAEKIN_TOKEN wins, for any endpoint.
    setenv ("MAEKIN_TOKEN", "mka_key", 1);
    token = maekinsh_session_token ("tcp://b:2", user);
    assert (token && streq (token, "mka_key") && !*user);
    free (token);
    unsetenv ("MAEKIN_TOKEN");
    //  A file that cannot be written says so and keeps nothing.
    char *blocked = zsys_sprintf ("%s/blocked", dir);
    FILE *file = fopen (blocked, "w");
    assert (file);
    fclose (file);
    setenv ("XDG_CONFIG_HOME", blocked, 1);
    assert (maekinsh_session_keep ("tcp://a:1", "mkt_x", "x", &error) == -1);
    assert (error && strstr (error, "cannot make the directory"));
    free (error);
    error = NULL;
    //  A relative $XDG_CONFIG_HOME is ignored, as the XDG rules say: $HOME's is used.
    setenv ("XDG_CONFIG_HOME", "relative", 1);
    char *home_path = maekinsh_session_file ();
    assert (home_path && strstr (home_path, "/.config/maekin/tokens"));
    free (home_path);

    //  Passwords from a file: its first line; none, too long or missing said.
    char *secret = zsys_sprintf ("%s/secret", dir);
    file = fopen (secret, "w");
    assert (file);
    fprintf (file, "correct horse\nsecond line\n");
    fclose (file);
    char *password = maekinsh_session_password (secret, "password", true, &error);
    assert (password && streq (password, "correct horse") && !error);
    maekinsh_session_wipe (&password);
    assert (!password);
    file = fopen (secret, "w");
    assert (file);
    fclose (file);
    assert (!maekinsh_session_password (secret, "password", false, &error));
    assert (error && strstr (error, "holds no password"));
    free (error);
    error = NULL;
    file = fopen (secret, "w");
    assert (file);
    for (int i = 0; i < MAEKINSH_PASSWORD_MAX + 10; i++)
        fputc ('x', file);
    fclose (file);
    assert (!maekinsh_session_password (secret, "password", false, &error));
    assert (error && strstr (error, "longer than"));
    free (error);
    error = NULL;
    assert (!maekinsh_session_password ("/nonexistent/pw", "password", false, &error));
    assert (error && strstr (error, "cannot read the password file /nonexistent/pw"));
    free (error);
    error = NULL;

    if (old_config)
        setenv ("XDG_CONFIG_HOME", old_config, 1);
    else
        unsetenv ("XDG_CONFIG_HOME");
    if (old_token)
        setenv ("MAEKIN_TOKEN", old_token, 1);
    free (old_config);
    free (old_token);
    free (secret);
    free (blocked);
    free (path);
    free (config);
    mk_testdir_remove (&dir);
}

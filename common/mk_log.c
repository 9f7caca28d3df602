/*  mk_log: one line per event, with time, program, level. */
#include "mk_log.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static char s_program[32] = "maekin";
static mk_log_level_t s_level = MK_LOG_INFO;
static const char *s_names[] = {"debug", "info", "warn", "error"};

void
mk_log_init (const char *program, mk_log_level_t level)
{
    snprintf (s_program, sizeof s_program, "%s", program);
    s_level = level;
}

int
mk_log_level_parse (const char *name)
{
    for (int i = 0; i < 4; i++)
        if (strcmp (name, s_names[i]) == 0)
            return i;
    return -1;
}

bool
mk_log_enabled (mk_log_level_t level)
{
    return level >= s_level;
}

void
mk_log_write (mk_log_level_t level, const char *format, ...)
{
    if (level < s_level)
        return;
    char line[2048];
    struct timeval tv;
    gettimeofday (&tv, NULL);
    struct tm tm;
    localtime_r (&tv.tv_sec, &tm);
    size_t n = strftime (line, sizeof line, "%Y-%m-%d %H:%M:%S", &tm);
    n += snprintf (line + n, sizeof line - n, ".%03d %s %s: ", (int) (tv.tv_usec / 1000), s_program,
                   s_names[level]);
    va_list args;
    va_start (args, format);
    int body = vsnprintf (line + n, sizeof line - n - 1, format, args);
    va_end (args);
    //  A long message is cut, never split: one event is one line.
    n = body < 0 ? n : n + (size_t) body;
    if (n > sizeof line - 2)
        n = sizeof line - 2;
    for (size_t i = 0; i < n; i++)
        if (line[i] == '\n')
            line[i] = ' ';
    line[n++] = '\n';
    ssize_t rc = write (STDERR_FILENO, line, n);
    (void) rc;
}

void
mk_log_test (bool verbose)
{
    assert (mk_log_level_parse ("warn") == MK_LOG_WARN);
    assert (mk_log_level_parse ("debug") == MK_LOG_DEBUG);
    assert (mk_log_level_parse ("loud") == -1);
    mk_log_init ("mk_log_test", MK_LOG_ERROR);
    assert (!mk_log_enabled (MK_LOG_INFO));
    assert (mk_log_enabled (MK_LOG_ERROR));
    mk_info ("not printed");
    mk_log_init ("maekin", verbose ? MK_LOG_DEBUG : MK_LOG_WARN);
}

/*  maekinsh_audit: the row of maekinsh_cmd's table for the audit log (audit list), its
    builder (--user, --since as a time or a time ago), and how people see the log. */
#include "maekinsh_cmd_def.h"

#include <time.h>

static const maekinsh_cmd_opt_t s_list_opts[] = {
    {"--user", "U", false, "only what user U did or tried"},
    {"--vi", "VI", false, "only what was about VI (its owners may read these)"},
    {"--since", "T", false,
     "only from T on: 2026-12-06, 2026-12-06T17:00 (local time), or 30m, 12h, 7d ago"},
    {"--limit", "N", false, "at most N entries (1..1000), the newest; default: all"},
    {NULL, NULL, false, NULL}};

const maekinsh_out_table_t maekinsh_audit_table = {
    &maekin__audit_entry__descriptor,
    {{"ID", "id", MAEKINSH_OUT_COL_TEXT},
     {"TIME", "time_us", MAEKINSH_OUT_COL_TIME_US},
     {"USER", "user", MAEKINSH_OUT_COL_TEXT},
     {"CREDENTIAL", "credential", MAEKINSH_OUT_COL_TEXT},
     {"REQUEST", "request", MAEKINSH_OUT_COL_TEXT},
     {"VI", "vi", MAEKINSH_OUT_COL_TEXT},
     {"SUBJECT", "subject", MAEKINSH_OUT_COL_TEXT},
     {"STATUS", "status", MAEKINSH_OUT_COL_TEXT},
     {"REASON", "reason", MAEKINSH_OUT_COL_TEXT}}};

//  --since: a local date or time, or a span ago, as unix seconds (now is `now`).
static char *
s_since (const char *text, time_t now, int64_t *since)
{
    char unit = 0, rest = 0;
    unsigned long long count;
    if (sscanf (text, "%llu%c%c", &count, &unit, &rest) == 2 && count <= 3650ULL * 86400) {
        int64_t seconds = unit == 's'   ? 1
                          : unit == 'm' ? 60
                          : unit == 'h' ? 3600
                          : unit == 'd' ? 86400
                                        : 0;
        if (seconds) {
            *since = (int64_t) now - (int64_t) count * seconds;
            return NULL;
        }
    }
    struct tm when = {0};
    const char *end = strptime (text, "%Y-%m-%dT%H:%M:%S", &when);
    if (!end || *end) {
        when = (struct tm){0};
        end = strptime (text, "%Y-%m-%dT%H:%M", &when);
    }
    if (!end || *end) {
        when = (struct tm){0};
        end = strptime (text, "%Y-%m-%d", &when);
    }
    if (end && !*end) {
        when.tm_isdst = -1;
        time_t local = mktime (&when);
        if (local != (time_t) -1 && local >= 0) {
            *since = (int64_t) local;
            return NULL;
        }
    }
    return zsys_sprintf ("--since must be a date (2026-12-06), a local time "
                         "(2026-12-06T17:00) or a span ago (30m, 12h, 7d), not '%s'",
                         text);
}

static char *
s_build_list (maekinsh_cmd_t *self, const maekinsh_cmd_args_t *args)
{
    char *why = maekinsh_cmd_build_list (self, args);
    if (why)
        return why;
    Maekin__AuditListRequest list = *maekinsh_cmd_request (self)->audit_list;
    const char *user = maekinsh_cmd_arg (self, args, "--user");
    if (user && (why = maekinsh_cmd_name ("user", user)))
        return why;
    list.user = user ? (char *) user : "";
    list.vi = list.page && list.page->filter_vi ? list.page->filter_vi : "";
    const char *since = maekinsh_cmd_arg (self, args, "--since");
    if (since && (why = s_since (since, time (NULL), &list.since)))
        return why;
    //  The list request is built: add what is not the page's.
    Maekin__Envelope env = *maekinsh_cmd_request (self);
    env.audit_list = &list;
    maekinsh_cmd_finish (self, &env);
    return NULL;
}

const maekinsh_cmd_def_t maekinsh_audit_commands[] = {
    {.group = "audit",
     .verb = "list",
     .summary = "what was done and tried, newest first (administrator only)",
     .opts = s_list_opts,
     .build = s_build_list,
     .run = MAEKINSH_CMD_LIST,
     .request = MAEKINSH_BODY (AUDIT_LIST),
     .reply = MAEKINSH_BODY (AUDIT_LIST_REPLY),
     .table = &maekinsh_audit_table},
    {.group = NULL}};

void
maekinsh_audit_test (bool verbose)
{
    (void) verbose;
    maekinsh_cmd_t *cmd = maekinsh_cmd_test_good (MAEKINSH_WORDS (
        "audit", "list", "--user", "alice", "--since", "2026-12-06", "--limit", "5"));
    const Maekin__Envelope *env = maekinsh_cmd_request (cmd);
    assert (env->body_case == MAEKINSH_BODY (AUDIT_LIST));
    assert (streq (env->audit_list->user, "alice") && env->audit_list->page->limit == 5);
    struct tm day = {.tm_year = 126, .tm_mon = 11, .tm_mday = 6, .tm_isdst = -1};
    assert (env->audit_list->since == (int64_t) mktime (&day));
    maekinsh_cmd_destroy (&cmd);
    cmd = maekinsh_cmd_test_good (MAEKINSH_WORDS ("audit", "list"));
    env = maekinsh_cmd_request (cmd);
    assert (!*env->audit_list->user && env->audit_list->since == 0 && cmd->every_page);
    maekinsh_cmd_destroy (&cmd);
    //  Spans ago, and times.
    int64_t since = 0;
    assert (!s_since ("90m", 100000, &since) && since == 100000 - 5400);
    assert (!s_since ("7d", 1000000, &since) && since == 1000000 - 7 * 86400);
    struct tm minute = {
        .tm_year = 126, .tm_mon = 11, .tm_mday = 6, .tm_hour = 17, .tm_min = 5, .tm_isdst = -1};
    assert (!s_since ("2026-12-06T17:05", 0, &since) && since == (int64_t) mktime (&minute));
    minute.tm_sec = 9;
    minute.tm_isdst = -1;
    assert (!s_since ("2026-12-06T17:05:09", 0, &since) && since == (int64_t) mktime (&minute));
    const char *bad[] = {"yesterday", "5y", "12", "2026-13-45", "2026-12-06T25:00", "-3d", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *why = s_since (bad[i], 1000000, &since);
        assert (why && strstr (why, "--since"));
        free (why);
    }
    char *error = NULL, *help = NULL;
    const char *words[] = {"audit", "list", "--user", "Not A Name", NULL};
    assert (!maekinsh_cmd_new (4, (char **) words, &error, &help) && error
            && strstr (error, "user"));
    free (error);
}

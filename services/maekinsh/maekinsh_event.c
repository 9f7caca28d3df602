/*  maekinsh_event: the row of maekinsh_cmd's table for event streams, its builder, and
    how people see a list of events. */
#include "maekinsh_cmd_def.h"

static const maekinsh_cmd_opt_t s_event_list_opts[] = {
    {"--since", "N", false, "only events after sequence number N (default 0: all)"},
    {"--limit", "N", false, "at most N events (1..1000), one page; default: all"},
    {NULL, NULL, false, NULL}};

const maekinsh_out_table_t maekinsh_event_table = {&maekin__event__descriptor,
                                                   {{"SEQ", "seq", MAEKINSH_OUT_COL_TEXT},
                                                    {"TIME", "time_us", MAEKINSH_OUT_COL_TIME_US},
                                                    {"SUBJECT", "subject", MAEKINSH_OUT_COL_TEXT},
                                                    {"STATE", "state", MAEKINSH_OUT_COL_TEXT},
                                                    {"TASK", "task_id", MAEKINSH_OUT_COL_ID},
                                                    {"DETAIL", "detail", MAEKINSH_OUT_COL_TEXT}}};

static char *
s_build_events (maekinsh_cmd_t *self, const maekinsh_cmd_args_t *args)
{
    static const char *const streams[] = {"event.vm", "event.task", "event.host", NULL};
    //  "vm" is short for "event.vm".
    const char *stream = args->operand;
    char full[32];
    if (!strchr (stream, '.') && strlen (stream) < 16) {
        snprintf (full, sizeof full, "event.%s", stream);
        stream = full;
    }
    char *why = maekinsh_cmd_one_of ("STREAM", stream, streams);
    if (why)
        return why;
    Maekin__EventsSinceRequest since = MAEKIN__EVENTS_SINCE_REQUEST__INIT;
    since.stream = (char *) stream;
    const char *value;
    if ((value = maekinsh_cmd_arg (self, args, "--since"))
        && (why = maekinsh_cmd_number ("--since", value, 0, UINT64_MAX, &since.after)))
        return why;
    self->every_page = true;
    uint64_t limit;
    if ((value = maekinsh_cmd_arg (self, args, "--limit"))) {
        if ((why = maekinsh_cmd_number ("--limit", value, 1, 1000, &limit)))
            return why;
        since.limit = (uint32_t) limit;
        self->every_page = false;
    }
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKINSH_BODY (EVENTS_SINCE);
    env.events_since = &since;
    maekinsh_cmd_finish (self, &env);
    return NULL;
}

const maekinsh_cmd_def_t maekinsh_event_commands[] = {
    {.group = "event",
     .verb = "list",
     .operand = "STREAM",
     .subject = "stream",
     .summary = "list the events of a stream (event.vm, .task, .host)",
     .opts = s_event_list_opts,
     .build = s_build_events,
     .run = MAEKINSH_CMD_LIST,
     .request = MAEKINSH_BODY (EVENTS_SINCE),
     .reply = MAEKINSH_BODY (EVENTS_SINCE_REPLY)},
    {.group = NULL}};

void
maekinsh_event_test (bool verbose)
{
    maekinsh_cmd_t *cmd;
    const Maekin__Envelope *env;
    cmd = maekinsh_cmd_test_good (
        MAEKINSH_WORDS ("event", "list", "event.task", "--since", "4", "--limit", "2"));
    env = maekinsh_cmd_request (cmd);
    assert (env->body_case == MAEKINSH_BODY (EVENTS_SINCE));
    assert (streq (env->events_since->stream, "event.task") && env->events_since->after == 4);
    assert (env->events_since->limit == 2 && !cmd->every_page);
    maekinsh_cmd_destroy (&cmd);
    cmd = maekinsh_cmd_test_good (MAEKINSH_WORDS ("event", "list", "vm"));
    env = maekinsh_cmd_request (cmd);
    assert (streq (env->events_since->stream, "event.vm") && cmd->every_page);
    maekinsh_cmd_destroy (&cmd);
}

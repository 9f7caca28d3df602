/*  maekinsh_cmd: maekinsh's commands. A table of commands turns the words after the
    global options into one request Envelope for the service `cloud`, or into a one-line
    usage error before anything is sent; running a command sends it with mk_client_call
    (timeout and retries, one request id; tried again, with the same id, when the broker
    answers that it lost the controller mid-request), fetches every page of a list,
    follows an accepted task with --wait, and hands the replies to maekinsh_out.

    The table's rows live in one file per noun (maekinsh_cmd_def.h); maekinsh_shell runs
    a command as the program (configuration, global options). Exit statuses: 0 done; 1
    the cloud answered with an error, or a task waited for failed, was cancelled or did
    not end in time; 2 a usage or configuration error (nothing was sent); 3 the cloud
    could not be reached. */
#ifndef MAEKINSH_CMD_H_INCLUDED
#define MAEKINSH_CMD_H_INCLUDED

#include "maekin.h"
#include "maekinsh_out.h"
#include "mk_client.h"

#include <stdio.h>

enum {
    MAEKINSH_EXIT_OK = 0,
    MAEKINSH_EXIT_ERROR = 1,       //  an error reply, a failed task, a wait that gave up
    MAEKINSH_EXIT_USAGE = 2,       //  bad arguments or configuration; nothing sent
    MAEKINSH_EXIT_UNREACHABLE = 3, //  no answer, or no controller behind the broker
    MAEKINSH_EXIT_UNKNOWN = 4,     //  the cloud may have done it, but did not say in time
};

//  Tries of a request: the first and this many retries, all with one request id.
#define MAEKINSH_RETRIES 2
//  The pause before trying again after the bus answered for a lost controller, in ms.
#define MAEKINSH_PAUSE_MS 100
//  How long the controller may hold one TaskWaitRequest, in ms.
#define MAEKINSH_WAIT_MS 10000
//  How long --wait and task wait wait by default, in seconds.
#define MAEKINSH_WAIT_DEFAULT_S 300

typedef struct _maekinsh_cmd_t maekinsh_cmd_t;

//  Parse a command: argv holds the command and its arguments ("vm", "create", "web-1",
//  "--template", "tiny"). NULL with *help (a new string) for --help, or with *error (a
//  new string, one line, without the "maekinsh: " prefix) for a usage error.
maekinsh_cmd_t *maekinsh_cmd_new (int argc, char **argv, char **error, char **help);
void maekinsh_cmd_destroy (maekinsh_cmd_t **self_p);

//  The request the command sends first (borrowed). A mutating request carries a new
//  request id.
const Maekin__Envelope *maekinsh_cmd_request (maekinsh_cmd_t *self);

//  Send the command to `cloud` through the client (borrowed; `endpoint` names it in
//  errors), waiting timeout_ms for each attempt, and print through out. Returns the exit
//  status.
int maekinsh_cmd_run (maekinsh_cmd_t *self, mk_client_t *client, const char *endpoint,
                      int timeout_ms, maekinsh_out_t *out);

//  The help listing every command (a new string).
//  The broker's stream endpoint (XPUB), for commands that follow a stream (borrowed).
void maekinsh_cmd_set_stream (maekinsh_cmd_t *self, const char *stream_out);

char *maekinsh_cmd_help (void);

void maekinsh_cmd_test (bool verbose);

#endif

/*  maekinsh: the Maekin shell, a command line for the cloud. It speaks to the bus
    directly; see maekinsh_shell.h for its options, maekinsh_cmd.h for its commands and
    exit statuses. */
#include "maekin.h"

#include "maekinsh_shell.h"

int
main (int argc, char **argv)
{
    //  A command line program stops at Ctrl-C; CZMQ's handler would only set a flag.
    zsys_handler_set (NULL);
    return maekinsh_shell_run (argc, argv, stdout, stderr);
}

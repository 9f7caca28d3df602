/*  maekinsh_shell: maekinsh as a program: configuration and maekinsh's own options, then
    one command (maekinsh_cmd.h says what the commands do and the exit statuses mean).

    Settings come from, in order, the first configuration file found (or -c FILE), then
    $MAEKIN_BUS, then maekinsh's own options (--bus-endpoint, --output, --timeout-ms,
    --log-level, --db-url, -c, -v, -n), which may be given before the command or among
    its arguments, as other clouds' CLIs take them: `maekinsh vm show web-1 --output
    json`. After "--", and as the value of a command's option, nothing is taken for
    one. */
#ifndef MAEKINSH_SHELL_H_INCLUDED
#define MAEKINSH_SHELL_H_INCLUDED

#include "maekin.h"

#include <stdio.h>

//  The whole shell, as main() runs it: argv as given to main. Returns the exit status.
int maekinsh_shell_run (int argc, char **argv, FILE *out, FILE *err);

//  The configuration file to read when -c is not given (a new string), or NULL: the
//  first that exists of $MAEKINSH_CONFIG, ./var/maekinsh.cfg,
//  $HOME/.config/maekin/maekinsh.cfg and /etc/maekin/maekinsh.cfg.
char *maekinsh_shell_config_file (void);

void maekinsh_shell_test (bool verbose);

#endif

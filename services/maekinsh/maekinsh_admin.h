/*  maekinsh_admin: `maekinsh admin db ...`, the commands that work on the controller's
    database itself rather than through the bus: what it holds and at which schema
    version, migrating it, and consistent backups and restores for both backends.

    The database is the one the controller uses: --db-url URL, or db/url in maekinsh's
    configuration (make run writes it; on a node, the controller's own setting). A
    backup is a SQLite file of the same schema, whatever the backend, so a backup of a
    MariaDB-backed cloud restores into SQLite and back; it is taken in one consistent
    snapshot while the controller runs. A restore writes everything in one transaction;
    stop the controller first (it keeps its state in memory and would not see it). */
#ifndef MAEKINSH_ADMIN_H_INCLUDED
#define MAEKINSH_ADMIN_H_INCLUDED

#include "maekin.h"

#include <stdio.h>

//  True if the command line's words are an admin command ("admin", ...).
bool maekinsh_admin_is (int argc, char **argv);

//  Run an admin command (argv starts at "admin") on the database at db_url (NULL or ""
//  if none is configured). Prints to out in the format (maekinsh_out_format_t: table,
//  json, xml), errors to err ("maekinsh: ..."). Returns the exit status: 0 done, 1 the
//  database refused or failed, 2 bad usage (nothing done).
int maekinsh_admin_run (int argc, char **argv, const char *db_url, int format, FILE *out,
                        FILE *err);

//  The lines maekinsh --help shows for the admin commands.
const char *maekinsh_admin_help (void);

void maekinsh_admin_test (bool verbose);

#endif

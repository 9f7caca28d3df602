/*  mk_db_codes: what a step of a statement returns, for mk_db's callers and its drivers
    alike. */
#ifndef MK_DB_CODES_H_INCLUDED
#define MK_DB_CODES_H_INCLUDED

#define MK_DB_ROW        1
#define MK_DB_DONE       0
#define MK_DB_ERROR      -1
#define MK_DB_CONSTRAINT -3 //  a UNIQUE or PRIMARY KEY violation from step()

#endif

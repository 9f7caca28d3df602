/*  mk_log: one line per event, with time, program, level. Thread-safe (one write(2) per line). */
#ifndef MK_LOG_H_INCLUDED
#define MK_LOG_H_INCLUDED

#include <stdbool.h>

typedef enum { MK_LOG_DEBUG, MK_LOG_INFO, MK_LOG_WARN, MK_LOG_ERROR } mk_log_level_t;

//  Set the program name shown in every line and the lowest level printed.
void mk_log_init (const char *program, mk_log_level_t level);

//  Parse "debug", "info", "warn" or "error"; -1 if it is none of them.
int mk_log_level_parse (const char *name);

//  Log one line at a level; use the macros below.
void mk_log_write (mk_log_level_t level, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));

//  True if lines at this level are printed (to skip building costly messages).
bool mk_log_enabled (mk_log_level_t level);

#define mk_debug(...) mk_log_write (MK_LOG_DEBUG, __VA_ARGS__)
#define mk_info(...)  mk_log_write (MK_LOG_INFO, __VA_ARGS__)
#define mk_warn(...)  mk_log_write (MK_LOG_WARN, __VA_ARGS__)
#define mk_error(...) mk_log_write (MK_LOG_ERROR, __VA_ARGS__)

void mk_log_test (bool verbose);

#endif

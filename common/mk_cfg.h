/*  mk_cfg: a program's configuration: defaults from its schema, then a ZPL file (-c),
    then command-line overrides (--section-key=value), all checked against the schema:
    an unknown key, a bad number or a bad flag is a clear error, never a surprise. */
#ifndef MK_CFG_H_INCLUDED
#define MK_CFG_H_INCLUDED

#include "maekin.h"

typedef enum { MK_CFG_STR, MK_CFG_INT, MK_CFG_BOOL } mk_cfg_type_t;

//  One setting: its path ("bus/endpoint"), type, default and one line of help.
typedef struct {
    const char *key;
    mk_cfg_type_t type;
    const char *value;
    const char *help;
} mk_cfg_item_t;

typedef struct _mk_cfg_t mk_cfg_t;

//  Parse argv against the schema (terminated by an item with a NULL key). Understood:
//  -c FILE, -n (check and exit), -v (debug logging), -h/--help, --section-key=VALUE and
//  --section-key VALUE. On error returns NULL with *error (a new string) saying what is
//  wrong. With -h it returns NULL, *error NULL, and *help holds the help text.
mk_cfg_t *mk_cfg_new (const char *program, const char *summary, const mk_cfg_item_t *schema,
                      int argc, char **argv, char **error, char **help);
void mk_cfg_destroy (mk_cfg_t **self_p);

const char *mk_cfg_str (mk_cfg_t *self, const char *key);
int64_t mk_cfg_int (mk_cfg_t *self, const char *key);
bool mk_cfg_bool (mk_cfg_t *self, const char *key);

//  -n was given: once the program has checked what it checks itself, it says so with
//  mk_cfg_check_done (prints "<program>: configuration ok", destroys, returns 0 for exit).
bool mk_cfg_check_only (mk_cfg_t *self);
int mk_cfg_check_done (mk_cfg_t **self_p, const char *program);
bool mk_cfg_verbose (mk_cfg_t *self);

//  Arguments left after the options (for maekinsh-like programs); borrowed.
int mk_cfg_argc (mk_cfg_t *self);
char **mk_cfg_argv (mk_cfg_t *self);

//  Standard main() prologue: parse, print help or the error, set up logging.
//  Returns the configuration or NULL with *exit_code set (0 after -h, 2 on error).
mk_cfg_t *mk_cfg_main (const char *program, const char *summary, const mk_cfg_item_t *schema,
                       int argc, char **argv, int *exit_code);

void mk_cfg_test (bool verbose);

#endif

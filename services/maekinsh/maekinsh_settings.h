/*  maekinsh_settings: maekinsh's own settings and options, for the shell and the
    commands alike. */
#ifndef MAEKINSH_SETTINGS_H_INCLUDED
#define MAEKINSH_SETTINGS_H_INCLUDED

#include "maekin.h"
#include "mk_cfg.h"

//  The configuration's schema (mk_cfg), ending with a NULL key.
const mk_cfg_item_t *maekinsh_settings_schema (void);

//  The default of a setting ("bus/endpoint"), for the help.
const char *maekinsh_settings_default (const char *key);

//  True if name ("--output", "-v") is an option of maekinsh itself, not of a command.
bool maekinsh_settings_is_global (const char *name);

#endif

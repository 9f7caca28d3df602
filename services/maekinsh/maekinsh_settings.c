/*  maekinsh_settings: maekinsh's own settings (its configuration file's schema and their
    defaults) and which options on a command line are maekinsh's, not a command's. Read
    by the shell, which applies them, and by the commands, which leave them alone and
    name the defaults in their help. */
#include "maekinsh_settings.h"

#include "mk_sock.h"

static const mk_cfg_item_t s_schema[] = {
    {"bus/endpoint", MK_CFG_STR, "tcp://127.0.0.1:7010", "the broker's request endpoint"},
    {"bus/stream_out", MK_CFG_STR, "tcp://127.0.0.1:7012",
     "the broker's stream endpoint (XPUB), for commands that follow streams"},
    MK_SOCK_CFG_ITEMS,
    {"bus/timeout_ms", MK_CFG_INT, "5000", "wait this long for each try of a request (ms)"},
    {"output/format", MK_CFG_STR, "table", "table, json or xml"},
    {"log/level", MK_CFG_STR, "warn", "debug, info, warn or error"},
    {"db/url", MK_CFG_STR, "", "the controller's database, for 'admin db' commands only"},
    {NULL, 0, NULL, NULL}};

const mk_cfg_item_t *
maekinsh_settings_schema (void)
{
    return s_schema;
}

const char *
maekinsh_settings_default (const char *key)
{
    for (const mk_cfg_item_t *item = s_schema; item->key; item++)
        if (streq (item->key, key))
            return item->value;
    assert (false);
    return "";
}

//  Options of maekinsh itself, given before the command or among its arguments.
bool
maekinsh_settings_is_global (const char *name)
{
    const char *globals[] = {"-c",
                             "-v",
                             "-n",
                             "--output",
                             "--timeout-ms",
                             "--bus-endpoint",
                             "--output-format",
                             "--bus-timeout_ms",
                             "--log-level",
                             "--bus-stream_out",
                             "--db-url"};
    for (size_t i = 0; i < sizeof globals / sizeof globals[0]; i++)
        if (streq (name, globals[i]))
            return true;
    return false;
}

/*  mk_hosts: the hosts setting of a per-node program, "name=value,..." (mk_hosts.h). */
#include "mk_hosts.h"

#include "mk_name.h"
#include "mk_wire.h"

#include <ctype.h>
#include <limits.h>
#include <unistd.h>

mk_host_pair_t *
mk_hosts_parse (const char *text, const char *setting, const char *value_name, size_t max,
                size_t *count, char **error)
{
    assert (text && count && error);
    *count = 0;
    *error = NULL;
    if (text[strspn (text, " \t\r\n")] == 0) {
        *error = zsys_sprintf ("'%s' names no host (name=%s,...)", setting, value_name);
        return NULL;
    }
    //  One block: the array, then a copy of the text cut into its strings.
    size_t pairs = 1;
    for (const char *c = text; *c; c++)
        pairs += *c == ',';
    size_t head = pairs * sizeof (mk_host_pair_t);
    mk_host_pair_t *hosts = (mk_host_pair_t *) zmalloc (head + strlen (text) + 1);
    char *copy = (char *) hosts + head;
    strcpy (copy, text);

    size_t found = 0;
    char *rest = copy;
    while (rest) {
        char *pair = rest;
        rest = strchr (rest, ',');
        if (rest)
            *rest++ = 0;
        //  Blanks around a pair or its parts are the writer's layout, not the value.
        while (isspace ((unsigned char) *pair))
            pair++;
        char *end = pair + strlen (pair);
        while (end > pair && isspace ((unsigned char) end[-1]))
            *--end = 0;
        if (!*pair && pairs > 1 && !rest)
            break; //  a trailing comma
        char *equals = strchr (pair, '=');
        if (!equals) {
            *error = zsys_sprintf ("'%s': '%s' is not a name=%s pair", setting, pair, value_name);
            break;
        }
        *equals = 0;
        char *name = pair, *value = equals + 1;
        for (end = equals; end > name && isspace ((unsigned char) end[-1]);)
            *--end = 0;
        while (isspace ((unsigned char) *value))
            value++;
        const char *why = mk_name_check (name);
        if (why) {
            *error = zsys_sprintf ("'%s': host name '%s' %s", setting, name, why);
            break;
        }
        if (strlen ("node/") + strlen (name) > MK_WIRE_SERVICE_MAX) {
            *error = zsys_sprintf ("'%s': host name '%s' is longer than %d characters "
                                   "(it is served as node/<name>)",
                                   setting, name, (int) (MK_WIRE_SERVICE_MAX - strlen ("node/")));
            break;
        }
        if (!*value) {
            *error = zsys_sprintf ("'%s': host '%s' has no %s", setting, name, value_name);
            break;
        }
        for (size_t i = 0; i < found; i++)
            if (streq (hosts[i].name, name))
                *error = zsys_sprintf ("'%s': host '%s' is named twice", setting, name);
        if (*error)
            break;
        if (found == max) {
            *error = zsys_sprintf ("'%s': more than %zu hosts", setting, max);
            break;
        }
        hosts[found].name = name;
        hosts[found].value = value;
        found++;
    }
    if (*error) {
        free (hosts);
        return NULL;
    }
    *count = found;
    return hosts;
}

void
mk_hosts_this_machine (char *text, size_t size, const char *value)
{
    char name[HOST_NAME_MAX + 1] = "";
    if (gethostname (name, sizeof name) != 0 || !*name)
        snprintf (name, sizeof name, "localhost");
    name[HOST_NAME_MAX] = 0;
    for (char *c = name; *c; c++)
        *c = (char) tolower ((unsigned char) *c);
    snprintf (text, size, "%s=%s", name, value);
}

void
mk_hosts_test (bool verbose)
{
    char mine[MK_HOSTS_DEFAULT_MAX];
    mk_hosts_this_machine (mine, sizeof mine, "proc");
    size_t length = strlen (mine);
    assert (length > 5 && streq (mine + length - 5, "=proc") && mine[0] != '=');
    for (char *c = mine; *c; c++)
        assert (!isupper ((unsigned char) *c));
    size_t count;
    char *error;
    mk_host_pair_t *hosts = mk_hosts_parse (" node1 = test:///tmp/a.xml ,node2=qemu:///system,",
                                            "agent/hosts", "uri", 63, &count, &error);
    assert (hosts && count == 2 && !error);
    assert (streq (hosts[0].name, "node1") && streq (hosts[0].value, "test:///tmp/a.xml"));
    assert (streq (hosts[1].name, "node2") && streq (hosts[1].value, "qemu:///system"));
    free (hosts);
    hosts = mk_hosts_parse ("n=qemu+ssh://root@h/system?keyfile=/k=1", "agent/hosts", "uri", 63,
                            &count, &error);
    assert (hosts && count == 1 && streq (hosts[0].value, "qemu+ssh://root@h/system?keyfile=/k=1"));
    free (hosts);
    const struct {
        const char *text;
        const char *phrase;
    } bad[] = {
        {"Bad!=x", "'monitor/hosts': host name 'Bad!' must"},
        {"node1", "'node1' is not a name=source pair"},
        {"node1=", "host 'node1' has no source"},
        {"=proc", "host name ''"},
        {"a=x,a=y", "host 'a' is named twice"},
        {"", "'monitor/hosts' names no host (name=source,...)"},
        {",", "is not a name=source pair"},
        {"a=x,,b=y", "'' is not a name=source pair"},
        {"abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghi=x", "longer than 58"},
        {"a=x,b=y,c=z", "more than 2 hosts"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        hosts = mk_hosts_parse (bad[i].text, "monitor/hosts", "source", 2, &count, &error);
        if (hosts || !error || !strstr (error, bad[i].phrase))
            fprintf (stderr, "mk_hosts_test: '%s' gave '%s'\n", bad[i].text,
                     error ? error : "no error");
        assert (!hosts && error && strstr (error, bad[i].phrase));
        if (verbose)
            printf ("  %s\n", error);
        free (error);
    }
}

/*  mk_name: what a name may be. */
#include "mk_name.h"

const char *
mk_name_check (const char *name)
{
    if (!name || !*name)
        return "must not be empty";
    size_t length = strlen (name);
    if (length > MK_NAME_MAX)
        return "must be at most 63 characters";
    if (!isalnum ((unsigned char) name[0]) || isupper ((unsigned char) name[0]))
        return "must start with a lower-case letter or a digit";
    for (size_t i = 0; i < length; i++) {
        unsigned char c = (unsigned char) name[i];
        if (!(islower (c) || isdigit (c) || c == '-' || c == '_' || c == '.'))
            return "may hold only lower-case letters, digits, '-', '_' and '.'";
    }
    return NULL;
}

void
mk_name_test (bool verbose)
{
    assert (mk_name_check ("web-1") == NULL);
    assert (mk_name_check ("a") == NULL);
    assert (mk_name_check ("node1.example_x") == NULL);
    assert (mk_name_check ("") && mk_name_check (NULL));
    assert (mk_name_check ("-web"));
    assert (mk_name_check ("Web"));
    assert (mk_name_check ("web 1"));
    assert (mk_name_check ("web/1"));
    assert (mk_name_check ("we'b"));
    char long_name[80];
    memset (long_name, 'a', 64);
    long_name[64] = 0;
    assert (strstr (mk_name_check (long_name), "63"));
    long_name[63] = 0;
    assert (mk_name_check (long_name) == NULL);
}

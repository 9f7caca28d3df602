/*  mk_buskey: a key of the bus's allow-list, and the digest of a list of them. */
#include "mk_buskey.h"

#include <ctype.h>
#include <sodium.h>

const char *
mk_buskey_name_check (const char *name)
{
    if (!name || !*name)
        return "must not be empty";
    size_t length = strlen (name);
    if (length > MK_BUSKEY_NAME_MAX)
        return "must be at most 63 characters";
    for (size_t i = 0; i < length; i++) {
        unsigned char c = (unsigned char) name[i];
        if (!(isascii (c) && (isalnum (c) || c == '-' || c == '_' || c == '.')))
            return "may hold only letters, digits, '-', '_' and '.'";
    }
    return NULL;
}

const char *
mk_buskey_text_check (const char *text)
{
    uint8_t bytes[32];
    if (!text || strlen (text) != MK_BUSKEY_TEXT)
        return "must be 40 characters of Z85 (a NAME.key file's public-key, as 'maekinsh admin "
               "keygen' prints it)";
    if (!zmq_z85_decode (bytes, text))
        return "is not Z85 (its 40 characters do not decode to a public key)";
    return NULL;
}

static const char *s_roles[] = {"", "controller", "node", "client"};

const char *
mk_buskey_role_name (Maekin__BusRole role)
{
    return (unsigned) role < sizeof s_roles / sizeof s_roles[0] ? s_roles[role] : "";
}

Maekin__BusRole
mk_buskey_role_parse (const char *name)
{
    for (size_t i = 1; name && i < sizeof s_roles / sizeof s_roles[0]; i++)
        if (streq (name, s_roles[i]))
            return (Maekin__BusRole) i;
    return MAEKIN__BUS_ROLE__BUS_ROLE_UNSET;
}

static int
s_by_text (const void *a, const void *b)
{
    return strcmp ((*(Maekin__BusKey *const *) a)->key, (*(Maekin__BusKey *const *) b)->key);
}

static int
s_by_host (const void *a, const void *b)
{
    return strcmp (*(char *const *) a, *(char *const *) b);
}

static void
s_number (crypto_generichash_state *state, uint64_t value, size_t bytes)
{
    uint8_t le[8];
    for (size_t i = 0; i < bytes; i++)
        le[i] = (uint8_t) (value >> (8 * i));
    crypto_generichash_update (state, le, bytes);
}

static void
s_text (crypto_generichash_state *state, const char *text)
{
    crypto_generichash_update (state, (const uint8_t *) (text ? text : ""),
                               strlen (text ? text : "") + 1);
}

void
mk_buskey_digest (Maekin__BusKey *const *keys, size_t count, uint8_t digest[MK_BUSKEY_DIGEST])
{
    Maekin__BusKey **sorted = (Maekin__BusKey **) malloc ((count + 1) * sizeof *sorted);
    assert (sorted);
    if (count)
        memcpy (sorted, keys, count * sizeof *sorted);
    qsort (sorted, count, sizeof *sorted, s_by_text);
    crypto_generichash_state state;
    crypto_generichash_init (&state, NULL, 0, MK_BUSKEY_DIGEST);
    for (size_t i = 0; i < count; i++) {
        const Maekin__BusKey *key = sorted[i];
        s_text (&state, key->key);
        s_number (&state, (uint32_t) key->role, 4);
        s_number (&state, (uint32_t) key->n_hosts, 4);
        char **hosts = (char **) malloc ((key->n_hosts + 1) * sizeof *hosts);
        assert (hosts);
        if (key->n_hosts)
            memcpy (hosts, key->hosts, key->n_hosts * sizeof *hosts);
        qsort (hosts, key->n_hosts, sizeof *hosts, s_by_host);
        for (size_t h = 0; h < key->n_hosts; h++)
            s_text (&state, hosts[h]);
        free (hosts);
        s_number (&state, (uint64_t) key->expires, 8);
    }
    crypto_generichash_final (&state, digest, MK_BUSKEY_DIGEST);
    free (sorted);
}

//  ---------------------------------------------------------------- self-test

void
mk_buskey_test (bool verbose)
{
    assert (!mk_buskey_name_check ("node1") && !mk_buskey_name_check ("CI.Runner_2-b"));
    assert (mk_buskey_name_check ("") && mk_buskey_name_check (NULL));
    assert (strstr (mk_buskey_name_check ("a b"), "letters"));
    assert (mk_buskey_name_check ("caf\xc3\xa9") && mk_buskey_name_check ("a/b"));
    char name[80];
    memset (name, 'k', 64);
    name[64] = 0;
    assert (strstr (mk_buskey_name_check (name), "63"));
    name[63] = 0;
    assert (!mk_buskey_name_check (name));

    //  Keys: 40 characters of Z85 that decode.
    zcert_t *cert = zcert_new ();
    const char *text = zcert_public_txt (cert);
    assert (!mk_buskey_text_check (text));
    assert (strstr (mk_buskey_text_check ("short"), "40"));
    char bad[41];
    memcpy (bad, text, 41);
    bad[7] = '"'; //  not a Z85 character
    assert (strstr (mk_buskey_text_check (bad), "Z85"));
    bad[7] = '~';
    assert (mk_buskey_text_check (bad));

    assert (streq (mk_buskey_role_name (MAEKIN__BUS_ROLE__BUS_ROLE_NODE), "node"));
    assert (streq (mk_buskey_role_name ((Maekin__BusRole) 99), ""));
    assert (mk_buskey_role_parse ("client") == MAEKIN__BUS_ROLE__BUS_ROLE_CLIENT);
    assert (mk_buskey_role_parse ("") == MAEKIN__BUS_ROLE__BUS_ROLE_UNSET);
    assert (mk_buskey_role_parse ("admin") == MAEKIN__BUS_ROLE__BUS_ROLE_UNSET);

    //  The digest: the order given makes no difference, every field that counts does.
    zcert_t *other = zcert_new ();
    char *hosts_a[] = {"node2", "node1"}, *hosts_b[] = {"node1", "node2"};
    Maekin__BusKey a = MAEKIN__BUS_KEY__INIT, b = MAEKIN__BUS_KEY__INIT;
    a.key = (char *) text;
    a.name = "agent";
    a.role = MAEKIN__BUS_ROLE__BUS_ROLE_NODE;
    a.hosts = hosts_a;
    a.n_hosts = 2;
    b.key = (char *) zcert_public_txt (other);
    b.name = "maekinsh";
    b.role = MAEKIN__BUS_ROLE__BUS_ROLE_CLIENT;
    b.expires = 1700000000123;
    Maekin__BusKey *one[] = {&a, &b}, *two[] = {&b, &a};
    uint8_t d1[MK_BUSKEY_DIGEST], d2[MK_BUSKEY_DIGEST], empty[MK_BUSKEY_DIGEST];
    mk_buskey_digest (one, 2, d1);
    mk_buskey_digest (two, 2, d2);
    assert (memcmp (d1, d2, sizeof d1) == 0);
    a.hosts = hosts_b; //  the hosts' order neither
    a.name = "renamed";
    b.created = 5;
    mk_buskey_digest (one, 2, d2);
    assert (memcmp (d1, d2, sizeof d1) == 0);
    a.n_hosts = 1;
    mk_buskey_digest (one, 2, d2);
    assert (memcmp (d1, d2, sizeof d1) != 0);
    a.n_hosts = 2;
    b.expires++;
    mk_buskey_digest (one, 2, d2);
    assert (memcmp (d1, d2, sizeof d1) != 0);
    b.expires--;
    b.role = MAEKIN__BUS_ROLE__BUS_ROLE_NODE;
    mk_buskey_digest (one, 2, d2);
    assert (memcmp (d1, d2, sizeof d1) != 0);
    mk_buskey_digest (one, 1, d2);
    assert (memcmp (d1, d2, sizeof d1) != 0);
    //  A fixed list's digest, as the header writes it (checked with Python's hashlib), so
    //  that the encoding never changes unnoticed.
    char *fixed_hosts[] = {"node1"};
    Maekin__BusKey fixed = MAEKIN__BUS_KEY__INIT;
    fixed.key = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
    fixed.role = MAEKIN__BUS_ROLE__BUS_ROLE_NODE;
    fixed.hosts = fixed_hosts;
    fixed.n_hosts = 1;
    fixed.expires = 1700000000000;
    Maekin__BusKey *fixed_list[] = {&fixed};
    mk_buskey_digest (fixed_list, 1, d2);
    char hex[2 * MK_BUSKEY_DIGEST + 1];
    sodium_bin2hex (hex, sizeof hex, d2, sizeof d2);
    if (verbose)
        printf (" * a fixed list's digest: %s\n", hex);
    assert (streq (hex, "513b3f180bd0a5a190d92f176b9ca940e9811765417b11181c13d6ab91f79590"));
    //  The empty list: BLAKE2b-256 of nothing.
    mk_buskey_digest (NULL, 0, empty);
    uint8_t nothing[MK_BUSKEY_DIGEST];
    crypto_generichash (nothing, sizeof nothing, NULL, 0, NULL, 0);
    assert (memcmp (empty, nothing, sizeof empty) == 0);
    zcert_destroy (&cert);
    zcert_destroy (&other);
}

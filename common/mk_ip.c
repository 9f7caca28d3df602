/*  mk_ip: IPv4 and IPv6 addresses for the IP pools. See mk_ip.h. */
#include "mk_ip.h"

#include <arpa/inet.h>

int
mk_ip_parse (const char *text, mk_ip_t *ip)
{
    memset (ip, 0, sizeof *ip);
    if (!text)
        return -1;
    if (inet_pton (AF_INET, text, ip->bytes + 12) == 1) {
        ip->family = 4;
        return 0;
    }
    if (inet_pton (AF_INET6, text, ip->bytes) == 1) {
        ip->family = 6;
        return 0;
    }
    return -1;
}

void
mk_ip_format (const mk_ip_t *ip, char text[MK_IP_TEXT])
{
    if (!inet_ntop (ip->family == 4 ? AF_INET : AF_INET6,
                    ip->family == 4 ? ip->bytes + 12 : ip->bytes, text, MK_IP_TEXT))
        snprintf (text, MK_IP_TEXT, "?");
}

//  The first byte of the family's address, and its bits.
static int
s_start (const mk_ip_t *ip)
{
    return ip->family == 4 ? 12 : 0;
}

static int
s_bits (const mk_ip_t *ip)
{
    return ip->family == 4 ? 32 : 128;
}

//  Whether bit `at` (0: the address's first) is set.
static bool
s_bit (const mk_ip_t *ip, int at)
{
    int byte = s_start (ip) + at / 8;
    return (ip->bytes[byte] >> (7 - at % 8)) & 1;
}

const char *
mk_ip_net_parse (const char *text, mk_ip_t *net, int *prefix)
{
    char address[64];
    const char *slash = text ? strchr (text, '/') : NULL;
    if (!slash || (size_t) (slash - text) >= sizeof address)
        return "a network is ADDRESS/PREFIX, e.g. 10.88.0.0/24 or fd00:88::/64";
    memcpy (address, text, (size_t) (slash - text));
    address[slash - text] = 0;
    if (mk_ip_parse (address, net) != 0)
        return "the network's address is not an IPv4 or IPv6 address";
    char *end = NULL;
    long bits = strtol (slash + 1, &end, 10);
    if (!slash[1] || *end || bits < 0 || bits > s_bits (net))
        return net->family == 4 ? "an IPv4 network's prefix is 0 to 32"
                                : "an IPv6 network's prefix is 0 to 128";
    for (int at = (int) bits; at < s_bits (net); at++)
        if (s_bit (net, at))
            return "the network's address has host bits set (10.88.0.0/24, not 10.88.0.1/24)";
    *prefix = (int) bits;
    return NULL;
}

bool
mk_ip_in_net (const mk_ip_t *ip, const mk_ip_t *net, int prefix)
{
    if (ip->family != net->family)
        return false;
    for (int at = 0; at < prefix; at++)
        if (s_bit (ip, at) != s_bit (net, at))
            return false;
    return true;
}

bool
mk_ip_reserved (const mk_ip_t *ip, const mk_ip_t *net, int prefix)
{
    int bits = s_bits (net);
    if (!mk_ip_in_net (ip, net, prefix) || bits - prefix < 2)
        return false; //  a /31 or /32 (a /127, /128) has no network or broadcast address
    bool zeros = true, ones = true;
    for (int at = prefix; at < bits; at++) {
        zeros = zeros && !s_bit (ip, at);
        ones = ones && s_bit (ip, at);
    }
    return zeros || (ip->family == 4 && ones);
}

int
mk_ip_cmp (const mk_ip_t *a, const mk_ip_t *b)
{
    if (a->family != b->family)
        return a->family - b->family;
    return memcmp (a->bytes, b->bytes, sizeof a->bytes);
}

int
mk_ip_add (mk_ip_t *ip, uint64_t n)
{
    mk_ip_t sum = *ip;
    unsigned carry = 0;
    for (int byte = 15; byte >= s_start (ip); byte--) {
        unsigned value = sum.bytes[byte] + (unsigned) (n & 0xff) + carry;
        sum.bytes[byte] = (uint8_t) value;
        carry = value >> 8;
        n >>= 8;
    }
    if (carry || n)
        return -1;
    *ip = sum;
    return 0;
}

uint64_t
mk_ip_span (const mk_ip_t *first, const mk_ip_t *last)
{
    if (first->family != last->family || mk_ip_cmp (last, first) < 0)
        return 0;
    //  last - first, in bytes from the end, borrowing.
    uint8_t diff[16];
    int borrow = 0;
    for (int byte = 15; byte >= 0; byte--) {
        int value = last->bytes[byte] - first->bytes[byte] - borrow;
        borrow = value < 0;
        diff[byte] = (uint8_t) (value + (borrow ? 256 : 0));
    }
    for (int byte = 0; byte < 8; byte++)
        if (diff[byte])
            return UINT64_MAX;
    uint64_t span = 0;
    for (int byte = 8; byte < 16; byte++)
        span = span << 8 | diff[byte];
    return span == UINT64_MAX ? UINT64_MAX : span + 1;
}

//  ---------------------------------------------------------------- self-test

static mk_ip_t
s_ip (const char *text)
{
    mk_ip_t ip;
    assert (mk_ip_parse (text, &ip) == 0);
    return ip;
}

static void
s_expect_text (const mk_ip_t *ip, const char *text)
{
    char out[MK_IP_TEXT];
    mk_ip_format (ip, out);
    if (!streq (out, text))
        fprintf (stderr, "mk_ip: '%s', not '%s'\n", out, text);
    assert (streq (out, text));
}

void
mk_ip_test (bool verbose)
{
    mk_ip_t a, net;
    int prefix;

    //  Parsing and writing, both families.
    a = s_ip ("10.88.0.1");
    assert (a.family == 4);
    s_expect_text (&a, "10.88.0.1");
    a = s_ip ("FD00:88::0001");
    assert (a.family == 6);
    s_expect_text (&a, "fd00:88::1");
    const char *bad[] = {"", "10.88.0", "10.88.0.256", "10.88.0.1 ", "fd00::88::1", "host", NULL};
    for (int i = 0; bad[i]; i++)
        assert (mk_ip_parse (bad[i], &a) == -1);
    assert (mk_ip_parse (NULL, &a) == -1);

    //  Networks.
    assert (mk_ip_net_parse ("10.88.0.0/24", &net, &prefix) == NULL && prefix == 24);
    assert (strstr (mk_ip_net_parse ("10.88.0.1/24", &net, &prefix), "host bits"));
    assert (strstr (mk_ip_net_parse ("10.88.0.0", &net, &prefix), "ADDRESS/PREFIX"));
    assert (strstr (mk_ip_net_parse ("10.88.0.0/33", &net, &prefix), "0 to 32"));
    assert (strstr (mk_ip_net_parse ("10.88.0.0/", &net, &prefix), "0 to 32"));
    assert (strstr (mk_ip_net_parse ("10.88.0.0/2x", &net, &prefix), "0 to 32"));
    assert (strstr (mk_ip_net_parse ("fd00::/129", &net, &prefix), "0 to 128"));
    assert (strstr (mk_ip_net_parse ("nowhere/8", &net, &prefix), "not an IPv4"));
    assert (mk_ip_net_parse ("fd00:88::/64", &net, &prefix) == NULL && prefix == 64);
    assert (mk_ip_in_net (&(mk_ip_t){0}, &net, 0) == false); //  family 0: no network's

    assert (mk_ip_net_parse ("10.88.0.0/24", &net, &prefix) == NULL);
    a = s_ip ("10.88.0.200");
    assert (mk_ip_in_net (&a, &net, prefix));
    a = s_ip ("10.88.1.1");
    assert (!mk_ip_in_net (&a, &net, prefix));
    a = s_ip ("::ffff:10.88.0.1"); //  IPv6, whatever it holds
    assert (!mk_ip_in_net (&a, &net, prefix));
    a = s_ip ("10.88.0.0");
    assert (mk_ip_reserved (&a, &net, prefix));
    a = s_ip ("10.88.0.255");
    assert (mk_ip_reserved (&a, &net, prefix));
    a = s_ip ("10.88.0.254");
    assert (!mk_ip_reserved (&a, &net, prefix));
    assert (mk_ip_net_parse ("10.88.0.4/31", &net, &prefix) == NULL);
    a = s_ip ("10.88.0.4");
    assert (!mk_ip_reserved (&a, &net, prefix)); //  a point-to-point /31
    assert (mk_ip_net_parse ("fd00:88::/64", &net, &prefix) == NULL);
    a = s_ip ("fd00:88::ffff:ffff:ffff:ffff");
    assert (!mk_ip_reserved (&a, &net, prefix)); //  IPv6 has no broadcast
    a = s_ip ("fd00:88::");
    assert (mk_ip_reserved (&a, &net, prefix));

    //  Order, steps and spans.
    mk_ip_t b = s_ip ("10.88.0.9");
    a = s_ip ("10.88.0.10");
    assert (mk_ip_cmp (&b, &a) < 0 && mk_ip_cmp (&a, &b) > 0 && mk_ip_cmp (&a, &a) == 0);
    mk_ip_t six = s_ip ("::1");
    assert (mk_ip_cmp (&a, &six) < 0);
    a = s_ip ("10.88.0.255");
    assert (mk_ip_add (&a, 1) == 0);
    s_expect_text (&a, "10.88.1.0");
    assert (mk_ip_add (&a, 65536) == 0);
    s_expect_text (&a, "10.89.1.0");
    a = s_ip ("255.255.255.254");
    assert (mk_ip_add (&a, 2) == -1);
    s_expect_text (&a, "255.255.255.254");
    a = s_ip ("fd00::ffff:ffff:ffff:ffff");
    assert (mk_ip_add (&a, 1) == 0);
    s_expect_text (&a, "fd00:0:0:1::");

    assert (mk_ip_span (&(mk_ip_t){0}, &(mk_ip_t){0}) == 1);
    a = s_ip ("10.88.0.100");
    b = s_ip ("10.88.0.199");
    assert (mk_ip_span (&a, &b) == 100);
    assert (mk_ip_span (&b, &a) == 0);
    assert (mk_ip_span (&a, &a) == 1);
    assert (mk_ip_span (&a, &six) == 0);
    a = s_ip ("10.88.0.250");
    b = s_ip ("10.88.1.5");
    assert (mk_ip_span (&a, &b) == 12);
    a = s_ip ("fd00::");
    b = s_ip ("fd00::ffff:ffff:ffff:ffff");
    assert (mk_ip_span (&a, &b) == UINT64_MAX);
    b = s_ip ("fd00::1:0:0:0");
    assert (mk_ip_span (&a, &b) == (1ULL << 48) + 1);
    b = s_ip ("fd00:0:0:1::");
    assert (mk_ip_span (&a, &b) == UINT64_MAX);
    b = s_ip ("fd00::fff");
    assert (mk_ip_span (&a, &b) == 4096);
    if (verbose)
        printf ("mk_ip: ok\n");
}

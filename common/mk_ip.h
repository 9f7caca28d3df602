/*  mk_ip: IPv4 and IPv6 addresses as the IP pools use them: parsed and written in their
    usual text (inet_pton's and inet_ntop's), networks in CIDR notation, compared, counted
    and stepped through. An IPv4 address is kept in the last four bytes, with family 4;
    the two families never compare equal. */
#ifndef MK_IP_H_INCLUDED
#define MK_IP_H_INCLUDED

#include "maekin.h"

#define MK_IP_TEXT 46 //  the longest address text and its NUL (INET6_ADDRSTRLEN)

typedef struct {
    uint8_t bytes[16];
    int family; //  4 or 6
} mk_ip_t;

//  An address from its text: 0, or -1 if it is none ("10.0.0.1", "fd00::1").
int mk_ip_parse (const char *text, mk_ip_t *ip);
//  Its text into text (MK_IP_TEXT bytes).
void mk_ip_format (const mk_ip_t *ip, char text[MK_IP_TEXT]);

//  A network "ADDRESS/PREFIX" (its host bits zero): NULL, or why not (static text).
const char *mk_ip_net_parse (const char *text, mk_ip_t *net, int *prefix);
//  Whether an address is in a network (of its family).
bool mk_ip_in_net (const mk_ip_t *ip, const mk_ip_t *net, int prefix);
//  Whether an address is one a host may not have in a network: the network's own
//  address, and for IPv4 its broadcast address (the last), when the prefix leaves room.
bool mk_ip_reserved (const mk_ip_t *ip, const mk_ip_t *net, int prefix);

//  <0, 0, >0 as a comes before, is, or comes after b (IPv4 before IPv6).
int mk_ip_cmp (const mk_ip_t *a, const mk_ip_t *b);
//  The address n after ip: 0, or -1 past the family's last address (ip unchanged).
int mk_ip_add (mk_ip_t *ip, uint64_t n);
//  How many addresses from first to last, both counted (0 if last comes before first, or
//  they are of two families); UINT64_MAX when more.
uint64_t mk_ip_span (const mk_ip_t *first, const mk_ip_t *last);

void mk_ip_test (bool verbose);

#endif

/*  controller_pools: the IP pools (issue 21), held in memory as the VIs are: each pool's
    network, gateway, DNS servers, host bridge and ranges, and which of its addresses VMs
    hold. The controller alone hands addresses out, on its one thread, right before it
    writes the VM's row and its lease in the same batch: so no address is given twice and
    none outside a pool's ranges (the leases table's unique key holds the rest).

    What a pool may be: a network in CIDR (IPv4 or IPv6), a gateway in it (or none), DNS
    servers of either family, a bridge named as a host interface may be, and ranges in
    its network that hold neither its own address, its broadcast address nor the gateway,
    and overlap no range of any pool (two pools on one network share the space of their
    addresses). */
#ifndef CONTROLLER_POOLS_H_INCLUDED
#define CONTROLLER_POOLS_H_INCLUDED

#include "controller_store.h"
#include "mk_ip.h"

#define POOL_RANGES_MAX 64 //  ranges of one pool
#define POOL_DNS_MAX    4  //  DNS servers of one pool
#define POOL_BRIDGE_MAX 15 //  a host interface's name (IFNAMSIZ less its NUL)

typedef struct {
    mk_ip_t first, last;
} pool_range_t;

//  A pool as its administrator defines it (text, as stored and shown).
typedef store_pool_t pool_def_t;

typedef struct {
    pool_def_t def;
    mk_ip_t net;
    int prefix;
    pool_range_t ranges[POOL_RANGES_MAX];
    size_t range_count;
    zhashx_t *leases; //  address text -> the VM's key (strings, owned)
} pool_t;

typedef struct _controller_pools_t controller_pools_t;

controller_pools_t *controller_pools_new (void);
void controller_pools_destroy (controller_pools_t **self_p);

//  NULL if a new pool's definition is one a pool may have (and its name is free); else
//  why not, written into why.
const char *controller_pools_check (controller_pools_t *self, const pool_def_t *def, char *why,
                                    size_t size);
//  A pool of a checked definition, with no ranges yet; one by name (NULL if none); one
//  taken away (its leases with it); how many; all, sorted by name (a new list of borrowed
//  pool_t *).
pool_t *controller_pools_add (controller_pools_t *self, const pool_def_t *def);
pool_t *controller_pools_get (controller_pools_t *self, const char *name);
void controller_pools_drop (controller_pools_t *self, const char *name);
size_t controller_pools_count (controller_pools_t *self);
zlistx_t *controller_pools_list (controller_pools_t *self);

//  NULL if the range FIRST-LAST (text) may be added to the pool; else why not. Parsed into
//  *range when it may.
const char *controller_pools_range_check (controller_pools_t *self, const pool_t *pool,
                                          const char *first, const char *last, pool_range_t *range,
                                          char *why, size_t size);
void controller_pools_range_add (pool_t *pool, const pool_range_t *range);
//  Takes a range away (0), or -1 if the pool has none from FIRST to LAST exactly (LAST ""
//  or NULL: none starting at FIRST), or -2 if a VM holds an address in it (*holder: that
//  VM's key).
int controller_pools_range_remove (pool_t *pool, const char *first, const char *last,
                                   const char **holder);

//  Addresses in the pool's ranges (UINT64_MAX when more), and held now.
uint64_t controller_pools_size (const pool_t *pool);
size_t controller_pools_used (const pool_t *pool);

//  An address for a VM (its key): the one it asks for (want, "" for any), which must be
//  in a range and free, or the lowest free; into ip. NULL, or why not.
const char *controller_pools_take (controller_pools_t *self, pool_t *pool, const char *vm,
                                   const char *mac, const char *want, char ip[MK_IP_TEXT],
                                   char *why, size_t size);
//  An address held again (at load) or given back (the VM deleted).
void controller_pools_hold (controller_pools_t *self, pool_t *pool, const char *ip, const char *vm,
                            const char *mac);
void controller_pools_give (controller_pools_t *self, pool_t *pool, const char *ip);
//  The address a VM (its key) holds, and its pool's (NULL if none).
const char *controller_pools_ip_of (controller_pools_t *self, const char *vm, pool_t **pool);

//  An address held, as the DHCP controller serves it.
typedef struct {
    const pool_t *pool;
    mk_ip_t address;
    const char *ip, *vm, *mac; //  borrowed until the next change
} pool_lease_t;
//  The leases of one pool (NULL: of every pool), in order of pool and address: a new
//  array (free it) of *count.
pool_lease_t *controller_pools_leases (controller_pools_t *self, const pool_t *pool, size_t *count);

//  Forget what is held and read every pool, range and lease: 0 or -1.
int controller_pools_load (controller_pools_t *self, mk_db_t *db);

void controller_pools_test (bool verbose);

#endif

/*  controller_store_pool: the IP pools' rows (issue 21): pools, their ranges, the leases
    VMs hold, and each VI's pool. See controller_store.h. */
#include "controller_store.h"

#define COPY(field, text) store_copy ((field), sizeof (field), (text))

int
store_pool_insert (mk_db_t *db, const store_pool_t *pool)
{
    mk_stmt_t *stmt = mk_db_prepare (db, "INSERT INTO pools (name, network, gateway, dns, "
                                         "bridge, created) VALUES (?, ?, ?, ?, ?, ?)");
    if (!stmt)
        return -1;
    mk_stmt_bind_text (stmt, 1, pool->name);
    mk_stmt_bind_text (stmt, 2, pool->network);
    mk_stmt_bind_text (stmt, 3, pool->gateway);
    mk_stmt_bind_text (stmt, 4, pool->dns);
    mk_stmt_bind_text (stmt, 5, pool->bridge);
    mk_stmt_bind_int (stmt, 6, pool->created);
    return store_change (db, stmt);
}

//  A statement with one or two text parameters that changes rows.
static int
s_change (mk_db_t *db, const char *sql, const char *a, const char *b)
{
    mk_stmt_t *stmt = mk_db_prepare (db, sql);
    if (!stmt)
        return -1;
    mk_stmt_bind_text (stmt, 1, a);
    if (b)
        mk_stmt_bind_text (stmt, 2, b);
    return store_change (db, stmt);
}

int
store_pool_delete (mk_db_t *db, const char *name)
{
    if (s_change (db, "DELETE FROM pool_ranges WHERE pool = ?", name, NULL) < 0)
        return -1;
    return s_change (db, "DELETE FROM pools WHERE name = ?", name, NULL);
}

static void
s_read_pool (mk_stmt_t *stmt, void *row)
{
    store_pool_t *pool = (store_pool_t *) row;
    COPY (pool->name, mk_stmt_text (stmt, 0));
    COPY (pool->network, mk_stmt_text (stmt, 1));
    COPY (pool->gateway, mk_stmt_text (stmt, 2));
    COPY (pool->dns, mk_stmt_text (stmt, 3));
    COPY (pool->bridge, mk_stmt_text (stmt, 4));
    pool->created = mk_stmt_int (stmt, 5);
}

int
store_pool_all (mk_db_t *db, store_row_fn *fn, void *arg)
{
    return store_rows (mk_db_prepare (db, "SELECT name, network, gateway, dns, bridge, created "
                                          "FROM pools ORDER BY name"),
                       s_read_pool, sizeof (store_pool_t), fn, arg);
}

int
store_range_insert (mk_db_t *db, const store_range_t *range)
{
    mk_stmt_t *stmt =
        mk_db_prepare (db, "INSERT INTO pool_ranges (pool, first, last) VALUES (?, ?, ?)");
    if (!stmt)
        return -1;
    mk_stmt_bind_text (stmt, 1, range->pool);
    mk_stmt_bind_text (stmt, 2, range->first);
    mk_stmt_bind_text (stmt, 3, range->last);
    return store_change (db, stmt);
}

int
store_range_delete (mk_db_t *db, const char *pool, const char *first)
{
    return s_change (db, "DELETE FROM pool_ranges WHERE pool = ? AND first = ?", pool, first);
}

static void
s_read_range (mk_stmt_t *stmt, void *row)
{
    store_range_t *range = (store_range_t *) row;
    COPY (range->pool, mk_stmt_text (stmt, 0));
    COPY (range->first, mk_stmt_text (stmt, 1));
    COPY (range->last, mk_stmt_text (stmt, 2));
}

int
store_range_all (mk_db_t *db, store_row_fn *fn, void *arg)
{
    return store_rows (mk_db_prepare (db, "SELECT pool, first, last FROM pool_ranges"),
                       s_read_range, sizeof (store_range_t), fn, arg);
}

int
store_lease_insert (mk_db_t *db, const store_lease_t *lease, int64_t now)
{
    mk_stmt_t *stmt = mk_db_prepare (
        db, "INSERT INTO leases (ip, pool, vm, mac, created) VALUES (?, ?, ?, ?, ?)");
    if (!stmt)
        return -1;
    mk_stmt_bind_text (stmt, 1, lease->ip);
    mk_stmt_bind_text (stmt, 2, lease->pool);
    mk_stmt_bind_text (stmt, 3, lease->vm);
    mk_stmt_bind_text (stmt, 4, lease->mac);
    mk_stmt_bind_int (stmt, 5, now);
    return store_change (db, stmt);
}

int
store_lease_delete (mk_db_t *db, const char *vm)
{
    return s_change (db, "DELETE FROM leases WHERE vm = ?", vm, NULL);
}

static void
s_read_lease (mk_stmt_t *stmt, void *row)
{
    store_lease_t *lease = (store_lease_t *) row;
    COPY (lease->ip, mk_stmt_text (stmt, 0));
    COPY (lease->pool, mk_stmt_text (stmt, 1));
    COPY (lease->vm, mk_stmt_text (stmt, 2));
    COPY (lease->mac, mk_stmt_text (stmt, 3));
}

int
store_lease_all (mk_db_t *db, store_row_fn *fn, void *arg)
{
    return store_rows (mk_db_prepare (db, "SELECT ip, pool, vm, mac FROM leases"), s_read_lease,
                       sizeof (store_lease_t), fn, arg);
}

int
store_vi_set_pool (mk_db_t *db, const char *vi, const char *pool)
{
    return s_change (db, "UPDATE vis SET pool = ? WHERE name = ?", pool, vi);
}

void
store_test_drop_pools (mk_db_t *db)
{
    assert (mk_db_exec (db, "DROP TABLE leases") == 0);
    assert (mk_db_exec (db, "DROP TABLE pool_ranges") == 0);
    assert (mk_db_exec (db, "DROP TABLE pools") == 0);
    assert (mk_db_exec (db, "ALTER TABLE vis DROP COLUMN pool") == 0);
}

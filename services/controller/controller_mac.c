/*  controller_mac: MAC addresses for new VMs, unique by construction. */
#include "controller_mac.h"

#include "controller_store.h"
#include "mk_testdir.h"

static void
s_format (uint64_t value, char *mac)
{
    uint32_t low = (uint32_t) (value % CONTROLLER_MAC_SPACE);
    snprintf (mac, 18, "52:54:00:%02x:%02x:%02x", (low >> 16) & 0xff, (low >> 8) & 0xff,
              low & 0xff);
}

int
controller_mac_load (controller_mac_t *self, mk_db_t *db)
{
    char text[32] = "";
    *self = (controller_mac_t){.next = 1};
    int rc = store_meta_get (db, "mac_next", text, sizeof text);
    if (rc < 0)
        return -1;
    if (rc == 1) {
        char *end = NULL;
        unsigned long long next = strtoull (text, &end, 10);
        if (*end == '\0' && next > 0) {
            self->next = next;
            return 0;
        }
        mk_warn ("controller_mac: meta 'mac_next' holds '%s', not a number; starting after "
                 "the greatest MAC in use",
                 text);
    }
    char max[20] = "";
    rc = store_vm_mac_max (db, max, sizeof max);
    if (rc < 0)
        return -1;
    unsigned a, b, c;
    if (rc == 1 && sscanf (max, "52:54:00:%2x:%2x:%2x", &a, &b, &c) == 3)
        self->next = ((uint64_t) a << 16 | b << 8 | c) + 1;
    return 0;
}

int
controller_mac_next (controller_mac_t *self, mk_db_t *db, char *mac)
{
    for (uint64_t tries = 0; tries < CONTROLLER_MAC_SPACE; tries++) {
        uint64_t value = self->next++;
        self->dirty = true;
        if (value % CONTROLLER_MAC_SPACE == 0)
            continue; //  52:54:00:00:00:00 is never handed out
        s_format (value, mac);
        if (value < CONTROLLER_MAC_SPACE)
            return 0; //  the first time round, every address ahead is free
        int used = store_vm_mac_used (db, mac);
        if (used < 0)
            return -1;
        if (used == 0)
            return 0;
    }
    mk_error ("controller_mac: every one of the %llu MAC addresses is in use",
              CONTROLLER_MAC_SPACE - 1);
    return -1;
}

int
controller_mac_save (controller_mac_t *self, mk_db_t *db)
{
    if (!self->dirty)
        return 0;
    char text[32];
    snprintf (text, sizeof text, "%" PRIu64, self->next);
    if (store_meta_set (db, "mac_next", text) != 0)
        return -1;
    self->dirty = false;
    return 0;
}

//  ---------------------------------------------------------------- self-test

static void
s_test_vm (mk_db_t *db, const char *name, const char *mac)
{
    store_vm_t vm = {.spec = {.vcpus = 1, .memory_mb = 64}};
    snprintf (vm.name, sizeof vm.name, "%s", name);
    snprintf (vm.uuid, sizeof vm.uuid, "uuid-%s", name);
    snprintf (vm.mac, sizeof vm.mac, "%s", mac);
    assert (store_vm_insert (db, &vm, 1) == 1);
}

void
controller_mac_test (bool verbose)
{
    char *dir = mk_testdir_new ("controller_mac");
    char *url = zsys_sprintf ("sqlite:%s/mac.db", dir);
    mk_db_t *db = mk_db_open (url, NULL);
    assert (db && mk_db_migrate (db, NULL) == 0);

    //  100,000 addresses in a row: all different, all QEMU's, and the counter survives.
    controller_mac_t macs;
    assert (controller_mac_load (&macs, db) == 0 && macs.next == 1);
    zhashx_t *seen = zhashx_new ();
    char mac[18];
    for (int i = 0; i < 100000; i++) {
        assert (controller_mac_next (&macs, db, mac) == 0);
        assert (strncmp (mac, "52:54:00:", 9) == 0 && strlen (mac) == 17);
        assert (zhashx_insert (seen, mac, "") == 0);
    }
    zhashx_destroy (&seen);
    assert (streq (mac, "52:54:00:01:86:a0"));
    assert (mk_db_begin (db) == 0 && controller_mac_save (&macs, db) == 0
            && mk_db_commit (db) == 0);
    controller_mac_t again;
    assert (controller_mac_load (&again, db) == 0 && again.next == 100001);

    //  Without a counter (a restored backup does not carry meta), it starts after the
    //  greatest MAC of any VM.
    assert (mk_db_exec (db, "DELETE FROM meta WHERE name = 'mac_next'") == 0);
    s_test_vm (db, "a", "52:54:00:00:00:05");
    s_test_vm (db, "b", "52:54:00:00:10:00");
    assert (controller_mac_load (&again, db) == 0 && again.next == 0x1001);

    //  After the counter wrapped, addresses still in use are skipped; the schema refuses
    //  a duplicate whatever made it.
    again.next = CONTROLLER_MAC_SPACE + 4;
    assert (controller_mac_next (&again, db, mac) == 0 && streq (mac, "52:54:00:00:00:04"));
    assert (controller_mac_next (&again, db, mac) == 0 && streq (mac, "52:54:00:00:00:06"));
    again.next = 2 * CONTROLLER_MAC_SPACE - 1;
    assert (controller_mac_next (&again, db, mac) == 0 && streq (mac, "52:54:00:ff:ff:ff"));
    assert (controller_mac_next (&again, db, mac) == 0 && streq (mac, "52:54:00:00:00:01"));
    store_vm_t dup = {.spec = {.vcpus = 1, .memory_mb = 64}};
    snprintf (dup.name, sizeof dup.name, "c");
    snprintf (dup.uuid, sizeof dup.uuid, "uuid-c");
    snprintf (dup.mac, sizeof dup.mac, "52:54:00:00:10:00");
    assert (store_vm_insert (db, &dup, 1) == MK_DB_CONSTRAINT);
    if (verbose)
        printf (" * 100,000 MACs unique; wrap skips those in use\n");

    mk_db_destroy (&db);
    freen (url);
    mk_testdir_remove (&dir);
}

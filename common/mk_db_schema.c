/*  mk_db_schema: the database schema as migrations, one per version, each written once
    per SQL dialect. A released migration is never edited: a change to the schema is a
    new migration at the end of the table.

    SQLite runs a migration in one transaction, DDL included. MySQL commits each CREATE
    on its own, so its text says IF NOT EXISTS and keeps its indexes inside CREATE TABLE:
    a migration that failed halfway can then simply run again. MySQL tables compare text
    byte by byte (utf8mb4_bin) as SQLite does; MySQL's default collation would make
    "web-1" and "Web-1" the same name there and different ones here. MySQL's BLOB holds
    only 64 KiB, so replies and event bodies are MEDIUMBLOB there. */
#include "mk_db_driver.h"

//  What ends every MySQL CREATE TABLE.
#define MYSQL_TABLE ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;\n"

static const mk_db_migration_t s_migrations[] = {
    {.version = 1,
     .sql[MK_DB_SQLITE] = "CREATE TABLE meta (\n"
                          "    name VARCHAR(64) NOT NULL PRIMARY KEY,\n"
                          "    value VARCHAR(255) NOT NULL\n"
                          ");\n"
                          "CREATE TABLE hosts (\n"
                          "    id INTEGER PRIMARY KEY AUTOINCREMENT,\n"
                          "    name VARCHAR(64) NOT NULL UNIQUE,\n"
                          "    state VARCHAR(16) NOT NULL,\n"
                          "    uri VARCHAR(255) NOT NULL DEFAULT '',\n"
                          "    vcpus INT NOT NULL,\n"
                          "    memory_mb BIGINT NOT NULL,\n"
                          "    last_seen BIGINT NOT NULL DEFAULT 0\n"
                          ");\n"
                          "CREATE TABLE templates (\n"
                          "    id INTEGER PRIMARY KEY AUTOINCREMENT,\n"
                          "    name VARCHAR(64) NOT NULL UNIQUE,\n"
                          "    vcpus INT NOT NULL,\n"
                          "    memory_mb BIGINT NOT NULL,\n"
                          "    disk_gb BIGINT NOT NULL DEFAULT 0,\n"
                          "    image VARCHAR(255) NOT NULL DEFAULT '',\n"
                          "    os_type VARCHAR(255) NOT NULL DEFAULT '',\n"
                          "    network VARCHAR(255) NOT NULL DEFAULT '',\n"
                          "    kernel VARCHAR(255) NOT NULL DEFAULT '',\n"
                          "    initrd VARCHAR(255) NOT NULL DEFAULT '',\n"
                          "    cmdline TEXT NOT NULL DEFAULT '',\n"
                          "    created BIGINT NOT NULL\n"
                          ");\n"
                          "CREATE TABLE vms (\n"
                          "    id INTEGER PRIMARY KEY AUTOINCREMENT,\n"
                          "    uuid CHAR(36) NOT NULL UNIQUE,\n"
                          "    name VARCHAR(64) NOT NULL UNIQUE,\n"
                          "    template VARCHAR(64) NOT NULL,\n"
                          "    host VARCHAR(64) NOT NULL,\n"
                          "    vcpus INT NOT NULL,\n"
                          "    memory_mb BIGINT NOT NULL,\n"
                          "    disk_gb BIGINT NOT NULL DEFAULT 0,\n"
                          "    image VARCHAR(255) NOT NULL DEFAULT '',\n"
                          "    os_type VARCHAR(255) NOT NULL DEFAULT '',\n"
                          "    network VARCHAR(255) NOT NULL DEFAULT '',\n"
                          "    kernel VARCHAR(255) NOT NULL DEFAULT '',\n"
                          "    initrd VARCHAR(255) NOT NULL DEFAULT '',\n"
                          "    cmdline TEXT NOT NULL DEFAULT '',\n"
                          "    mac VARCHAR(17) NOT NULL,\n"
                          "    state VARCHAR(16) NOT NULL,\n"
                          "    last_task BIGINT NOT NULL DEFAULT 0,\n"
                          "    created BIGINT NOT NULL,\n"
                          "    updated BIGINT NOT NULL\n"
                          ");\n"
                          "CREATE INDEX vms_host ON vms (host);\n"
                          "CREATE INDEX vms_state ON vms (state);\n"
                          "CREATE TABLE tasks (\n"
                          "    id INTEGER PRIMARY KEY AUTOINCREMENT,\n"
                          "    vm VARCHAR(64) NOT NULL,\n"
                          "    host VARCHAR(64) NOT NULL,\n"
                          "    op INT NOT NULL,\n"
                          "    state VARCHAR(16) NOT NULL,\n"
                          "    from_state VARCHAR(16) NOT NULL DEFAULT '',\n"
                          "    error TEXT NOT NULL DEFAULT '',\n"
                          "    attempts INT NOT NULL DEFAULT 0,\n"
                          "    created BIGINT NOT NULL,\n"
                          "    updated BIGINT NOT NULL\n"
                          ");\n"
                          "CREATE INDEX tasks_state ON tasks (state);\n"
                          "CREATE INDEX tasks_vm ON tasks (vm);\n"
                          "CREATE TABLE requests (\n"
                          "    id VARCHAR(64) NOT NULL PRIMARY KEY,\n"
                          "    reply BLOB NOT NULL,\n"
                          "    created BIGINT NOT NULL\n"
                          ");\n"
                          "CREATE INDEX requests_created ON requests (created);\n"
                          "CREATE TABLE events (\n"
                          "    stream VARCHAR(32) NOT NULL,\n"
                          "    seq BIGINT NOT NULL,\n"
                          "    body BLOB NOT NULL,\n"
                          "    created BIGINT NOT NULL,\n"
                          "    PRIMARY KEY (stream, seq)\n"
                          ");\n",
     .sql[MK_DB_MYSQL] =
         "CREATE TABLE IF NOT EXISTS meta (\n"
         "    name VARCHAR(64) NOT NULL PRIMARY KEY,\n"
         "    value VARCHAR(255) NOT NULL\n" MYSQL_TABLE "CREATE TABLE IF NOT EXISTS hosts (\n"
         "    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,\n"
         "    name VARCHAR(64) NOT NULL,\n"
         "    state VARCHAR(16) NOT NULL,\n"
         "    uri VARCHAR(255) NOT NULL DEFAULT '',\n"
         "    vcpus INT NOT NULL,\n"
         "    memory_mb BIGINT NOT NULL,\n"
         "    last_seen BIGINT NOT NULL DEFAULT 0,\n"
         "    UNIQUE KEY hosts_name (name)\n" MYSQL_TABLE "CREATE TABLE IF NOT EXISTS templates (\n"
         "    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,\n"
         "    name VARCHAR(64) NOT NULL,\n"
         "    vcpus INT NOT NULL,\n"
         "    memory_mb BIGINT NOT NULL,\n"
         "    disk_gb BIGINT NOT NULL DEFAULT 0,\n"
         "    image VARCHAR(255) NOT NULL DEFAULT '',\n"
         "    os_type VARCHAR(255) NOT NULL DEFAULT '',\n"
         "    network VARCHAR(255) NOT NULL DEFAULT '',\n"
         "    kernel VARCHAR(255) NOT NULL DEFAULT '',\n"
         "    initrd VARCHAR(255) NOT NULL DEFAULT '',\n"
         "    cmdline VARCHAR(1024) NOT NULL DEFAULT '',\n"
         "    created BIGINT NOT NULL,\n"
         "    UNIQUE KEY templates_name (name)\n" MYSQL_TABLE "CREATE TABLE IF NOT EXISTS vms (\n"
         "    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,\n"
         "    uuid CHAR(36) NOT NULL,\n"
         "    name VARCHAR(64) NOT NULL,\n"
         "    template VARCHAR(64) NOT NULL,\n"
         "    host VARCHAR(64) NOT NULL,\n"
         "    vcpus INT NOT NULL,\n"
         "    memory_mb BIGINT NOT NULL,\n"
         "    disk_gb BIGINT NOT NULL DEFAULT 0,\n"
         "    image VARCHAR(255) NOT NULL DEFAULT '',\n"
         "    os_type VARCHAR(255) NOT NULL DEFAULT '',\n"
         "    network VARCHAR(255) NOT NULL DEFAULT '',\n"
         "    kernel VARCHAR(255) NOT NULL DEFAULT '',\n"
         "    initrd VARCHAR(255) NOT NULL DEFAULT '',\n"
         "    cmdline VARCHAR(1024) NOT NULL DEFAULT '',\n"
         "    mac VARCHAR(17) NOT NULL,\n"
         "    state VARCHAR(16) NOT NULL,\n"
         "    last_task BIGINT NOT NULL DEFAULT 0,\n"
         "    created BIGINT NOT NULL,\n"
         "    updated BIGINT NOT NULL,\n"
         "    UNIQUE KEY vms_uuid (uuid),\n"
         "    UNIQUE KEY vms_name (name),\n"
         "    KEY vms_host (host),\n"
         "    KEY vms_state (state)\n" MYSQL_TABLE "CREATE TABLE IF NOT EXISTS tasks (\n"
         "    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,\n"
         "    vm VARCHAR(64) NOT NULL,\n"
         "    host VARCHAR(64) NOT NULL,\n"
         "    op INT NOT NULL,\n"
         "    state VARCHAR(16) NOT NULL,\n"
         "    from_state VARCHAR(16) NOT NULL DEFAULT '',\n"
         "    error VARCHAR(1024) NOT NULL DEFAULT '',\n"
         "    attempts INT NOT NULL DEFAULT 0,\n"
         "    created BIGINT NOT NULL,\n"
         "    updated BIGINT NOT NULL,\n"
         "    KEY tasks_state (state),\n"
         "    KEY tasks_vm (vm)\n" MYSQL_TABLE "CREATE TABLE IF NOT EXISTS requests (\n"
         "    id VARCHAR(64) NOT NULL PRIMARY KEY,\n"
         "    reply MEDIUMBLOB NOT NULL,\n"
         "    created BIGINT NOT NULL,\n"
         "    KEY requests_created (created)\n" MYSQL_TABLE "CREATE TABLE IF NOT EXISTS events (\n"
         "    stream VARCHAR(32) NOT NULL,\n"
         "    seq BIGINT NOT NULL,\n"
         "    body MEDIUMBLOB NOT NULL,\n"
         "    created BIGINT NOT NULL,\n"
         "    PRIMARY KEY (stream, seq)\n" MYSQL_TABLE},
    //  A request id's first request, by a fingerprint of its body: a retry gets the first
    //  answer, another request reusing the id is refused (0: unknown, rows of version 1).
    //  MAC addresses unique, as DHCP will bind addresses to them.
    {.version = 2,
     .sql[MK_DB_SQLITE] = "ALTER TABLE requests ADD COLUMN fingerprint BIGINT NOT NULL DEFAULT 0;\n"
                          "CREATE UNIQUE INDEX vms_mac ON vms (mac);\n",
     .sql[MK_DB_MYSQL] =
         "ALTER TABLE requests ADD COLUMN IF NOT EXISTS fingerprint BIGINT NOT NULL DEFAULT 0;\n"
         "CREATE UNIQUE INDEX IF NOT EXISTS vms_mac ON vms (mac);\n"},
    //  Monitoring history (controller_history): the averages of each host and VM over
    //  each step (a minute, ten minutes) that ended; subject is a host's name or a VM's
    //  UUID (16 bytes), by kind. Rows are found by subject and time, and expire by time.
    {.version = 3,
     .sql[MK_DB_SQLITE] = "CREATE TABLE metrics (\n"
                          "    step INTEGER NOT NULL,\n"
                          "    kind INTEGER NOT NULL,\n"
                          "    subject BLOB NOT NULL,\n"
                          "    t INTEGER NOT NULL,\n"
                          "    samples INTEGER NOT NULL,\n"
                          "    cpu INTEGER NOT NULL,\n"
                          "    mem_kb INTEGER NOT NULL,\n"
                          "    rx INTEGER NOT NULL,\n"
                          "    tx INTEGER NOT NULL,\n"
                          "    rd INTEGER NOT NULL,\n"
                          "    wr INTEGER NOT NULL,\n"
                          "    PRIMARY KEY (step, kind, subject, t)\n"
                          ") WITHOUT ROWID;\n"
                          "CREATE INDEX metrics_t ON metrics (step, t);\n",
     .sql[MK_DB_MYSQL] = "CREATE TABLE IF NOT EXISTS metrics (\n"
                         "    step INT NOT NULL,\n"
                         "    kind TINYINT NOT NULL,\n"
                         "    subject VARBINARY(64) NOT NULL,\n"
                         "    t BIGINT NOT NULL,\n"
                         "    samples INT NOT NULL,\n"
                         "    cpu INT NOT NULL,\n"
                         "    mem_kb BIGINT NOT NULL,\n"
                         "    rx BIGINT NOT NULL,\n"
                         "    tx BIGINT NOT NULL,\n"
                         "    rd BIGINT NOT NULL,\n"
                         "    wr BIGINT NOT NULL,\n"
                         "    PRIMARY KEY (step, kind, subject, t),\n"
                         "    KEY metrics_t (step, t)\n" MYSQL_TABLE},
    //  Users and their credentials (issue 17). A password is kept as its Argon2id string
    //  ('' for none: the user cannot log in); a session's token or an API key only as the
    //  BLAKE2b digest of its text (mk_secret), which is how a request's is looked up.
    //  expires and revoked are unix seconds, 0 for never.
    {.version = 4,
     .sql[MK_DB_SQLITE] = "CREATE TABLE users (\n"
                          "    id INTEGER PRIMARY KEY AUTOINCREMENT,\n"
                          "    name VARCHAR(64) NOT NULL UNIQUE,\n"
                          "    password VARCHAR(255) NOT NULL DEFAULT '',\n"
                          "    admin INT NOT NULL DEFAULT 0,\n"
                          "    disabled INT NOT NULL DEFAULT 0,\n"
                          "    created BIGINT NOT NULL,\n"
                          "    last_login BIGINT NOT NULL DEFAULT 0\n"
                          ");\n"
                          "CREATE TABLE credentials (\n"
                          "    digest CHAR(64) NOT NULL PRIMARY KEY,\n"
                          "    kind INT NOT NULL,\n"
                          "    user_id BIGINT NOT NULL,\n"
                          "    name VARCHAR(64) NOT NULL DEFAULT '',\n"
                          "    read_only INT NOT NULL DEFAULT 0,\n"
                          "    created BIGINT NOT NULL,\n"
                          "    expires BIGINT NOT NULL DEFAULT 0,\n"
                          "    revoked BIGINT NOT NULL DEFAULT 0\n"
                          ");\n"
                          "CREATE INDEX credentials_user ON credentials (user_id);\n",
     .sql[MK_DB_MYSQL] = "CREATE TABLE IF NOT EXISTS users (\n"
                         "    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,\n"
                         "    name VARCHAR(64) NOT NULL,\n"
                         "    password VARCHAR(255) NOT NULL DEFAULT '',\n"
                         "    admin INT NOT NULL DEFAULT 0,\n"
                         "    disabled INT NOT NULL DEFAULT 0,\n"
                         "    created BIGINT NOT NULL,\n"
                         "    last_login BIGINT NOT NULL DEFAULT 0,\n"
                         "    UNIQUE KEY users_name (name)\n" MYSQL_TABLE
                         "CREATE TABLE IF NOT EXISTS credentials (\n"
                         "    digest CHAR(64) NOT NULL PRIMARY KEY,\n"
                         "    kind INT NOT NULL,\n"
                         "    user_id BIGINT NOT NULL,\n"
                         "    name VARCHAR(64) NOT NULL DEFAULT '',\n"
                         "    read_only INT NOT NULL DEFAULT 0,\n"
                         "    created BIGINT NOT NULL,\n"
                         "    expires BIGINT NOT NULL DEFAULT 0,\n"
                         "    revoked BIGINT NOT NULL DEFAULT 0,\n"
                         "    KEY credentials_user (user_id)\n" MYSQL_TABLE},
    //  The audit log (issue 17): every request that would change the cloud, allowed or
    //  refused, and every login: when (unix microseconds), who (the user's name, '' if
    //  none was known) with which credential ('session', 'apikey:NAME', 'none',
    //  'invalid'), what (the request's body, e.g. vm_create) on what (a name), and how
    //  it ended (the status, and the reason of a refusal or failure). In SQLite the id
    //  is the rowid without AUTOINCREMENT (whose sqlite_sequence row would be one more
    //  write an entry): ids still grow, as entries are forgotten oldest first.
    {.version = 5,
     .sql[MK_DB_SQLITE] = "CREATE TABLE audit (\n"
                          "    id INTEGER PRIMARY KEY,\n"
                          "    time BIGINT NOT NULL,\n"
                          "    actor VARCHAR(64) NOT NULL DEFAULT '',\n"
                          "    credential VARCHAR(80) NOT NULL DEFAULT '',\n"
                          "    request VARCHAR(40) NOT NULL,\n"
                          "    subject VARCHAR(128) NOT NULL DEFAULT '',\n"
                          "    status INT NOT NULL,\n"
                          "    reason VARCHAR(255) NOT NULL DEFAULT ''\n"
                          ");\n"
                          "CREATE INDEX audit_actor ON audit (actor, id);\n",
     .sql[MK_DB_MYSQL] = "CREATE TABLE IF NOT EXISTS audit (\n"
                         "    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,\n"
                         "    time BIGINT NOT NULL,\n"
                         "    actor VARCHAR(64) NOT NULL DEFAULT '',\n"
                         "    credential VARCHAR(80) NOT NULL DEFAULT '',\n"
                         "    request VARCHAR(40) NOT NULL,\n"
                         "    subject VARCHAR(128) NOT NULL DEFAULT '',\n"
                         "    status INT NOT NULL,\n"
                         "    reason VARCHAR(255) NOT NULL DEFAULT '',\n"
                         "    KEY audit_actor (actor, id)\n" MYSQL_TABLE},
    //  Virtual Infrastructures (issue 17). A VM belongs to one VI and is named within it:
    //  vms.name is its name across the cloud, which is also its libvirt domain's, tasks'
    //  and events' name for it: its name in `default`, "VI:NAME" in any other VI (a name
    //  holds no ':'), so VMs from before VIs keep their names and their domains. MySQL's
    //  name columns grow to hold both. A VI's quotas are 0 for no limit; its members'
    //  roles are owner, manager, operator, viewer; vi_templates, the cloud's templates it
    //  may use (`default` may use all). A VI's own template is "VI:NAME" in
    //  templates.name. Tasks and audit entries carry their VI, to list a VI's.
    //  The controller makes `default` at its first start, as it makes the first user.
    //  A request's id is kept as "USERID/ID" (up to 84 characters) when it has a user.
    {.version = 6,
     .sql[MK_DB_SQLITE] =
         "CREATE TABLE vis (\n"
         "    id INTEGER PRIMARY KEY AUTOINCREMENT,\n"
         "    name VARCHAR(64) NOT NULL UNIQUE,\n"
         "    description VARCHAR(255) NOT NULL DEFAULT '',\n"
         "    vcpus INT NOT NULL DEFAULT 0,\n"
         "    memory_mb BIGINT NOT NULL DEFAULT 0,\n"
         "    disk_gb BIGINT NOT NULL DEFAULT 0,\n"
         "    vms INT NOT NULL DEFAULT 0,\n"
         "    created BIGINT NOT NULL\n"
         ");\n"
         "CREATE TABLE vi_members (\n"
         "    vi VARCHAR(64) NOT NULL,\n"
         "    user_id BIGINT NOT NULL,\n"
         "    role VARCHAR(16) NOT NULL,\n"
         "    PRIMARY KEY (vi, user_id)\n"
         ");\n"
         "CREATE INDEX vi_members_user ON vi_members (user_id);\n"
         "CREATE TABLE vi_templates (\n"
         "    vi VARCHAR(64) NOT NULL,\n"
         "    template VARCHAR(64) NOT NULL,\n"
         "    PRIMARY KEY (vi, template)\n"
         ");\n"
         "ALTER TABLE vms ADD COLUMN vi VARCHAR(64) NOT NULL DEFAULT 'default';\n"
         "CREATE INDEX vms_vi ON vms (vi, name);\n"
         "ALTER TABLE tasks ADD COLUMN vi VARCHAR(64) NOT NULL DEFAULT 'default';\n"
         "CREATE INDEX tasks_vi ON tasks (vi, id);\n"
         "ALTER TABLE audit ADD COLUMN vi VARCHAR(64) NOT NULL DEFAULT '';\n"
         "CREATE INDEX audit_vi ON audit (vi, id);\n",
     .sql[MK_DB_MYSQL] =
         "CREATE TABLE IF NOT EXISTS vis (\n"
         "    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,\n"
         "    name VARCHAR(64) NOT NULL,\n"
         "    description VARCHAR(255) NOT NULL DEFAULT '',\n"
         "    vcpus INT NOT NULL DEFAULT 0,\n"
         "    memory_mb BIGINT NOT NULL DEFAULT 0,\n"
         "    disk_gb BIGINT NOT NULL DEFAULT 0,\n"
         "    vms INT NOT NULL DEFAULT 0,\n"
         "    created BIGINT NOT NULL,\n"
         "    UNIQUE KEY vis_name (name)\n" MYSQL_TABLE "CREATE TABLE IF NOT EXISTS vi_members (\n"
         "    vi VARCHAR(64) NOT NULL,\n"
         "    user_id BIGINT NOT NULL,\n"
         "    role VARCHAR(16) NOT NULL,\n"
         "    PRIMARY KEY (vi, user_id),\n"
         "    KEY vi_members_user (user_id)\n" MYSQL_TABLE
         "CREATE TABLE IF NOT EXISTS vi_templates (\n"
         "    vi VARCHAR(64) NOT NULL,\n"
         "    template VARCHAR(64) NOT NULL,\n"
         "    PRIMARY KEY (vi, template)\n" MYSQL_TABLE
         "ALTER TABLE requests MODIFY id VARCHAR(96) NOT NULL;\n"
         "ALTER TABLE vms MODIFY name VARCHAR(128) NOT NULL;\n"
         "ALTER TABLE vms MODIFY template VARCHAR(128) NOT NULL;\n"
         "ALTER TABLE templates MODIFY name VARCHAR(128) NOT NULL;\n"
         "ALTER TABLE vms ADD COLUMN IF NOT EXISTS vi VARCHAR(64) NOT NULL DEFAULT 'default';\n"
         "CREATE INDEX IF NOT EXISTS vms_vi ON vms (vi, name);\n"
         "ALTER TABLE tasks MODIFY vm VARCHAR(128) NOT NULL;\n"
         "ALTER TABLE tasks ADD COLUMN IF NOT EXISTS vi VARCHAR(64) NOT NULL DEFAULT 'default';\n"
         "CREATE INDEX IF NOT EXISTS tasks_vi ON tasks (vi, id);\n"
         "ALTER TABLE audit ADD COLUMN IF NOT EXISTS vi VARCHAR(64) NOT NULL DEFAULT '';\n"
         "CREATE INDEX IF NOT EXISTS audit_vi ON audit (vi, id);\n"},
    //  The bus's allow-list (issue 18): the CURVE public keys the broker lets in, kept by
    //  the controller and pushed to the broker. pubkey is the key's 40 characters of Z85
    //  (KEY is a reserved word in MySQL); name what it is for, several rows during a
    //  rotation; role 'node' or 'client'; hosts a node key's, comma-joined; expires and
    //  created unix milliseconds (expires 0: never); created_by the user who admitted it
    //  ('' at bootstrap). A node key of many hosts outgrows MySQL's TEXT.
    {.version = 7,
     .sql[MK_DB_SQLITE] = "CREATE TABLE bus_keys (\n"
                          "    pubkey TEXT NOT NULL PRIMARY KEY,\n"
                          "    name VARCHAR(64) NOT NULL,\n"
                          "    role VARCHAR(16) NOT NULL,\n"
                          "    hosts TEXT NOT NULL DEFAULT '',\n"
                          "    expires BIGINT NOT NULL DEFAULT 0,\n"
                          "    created BIGINT NOT NULL,\n"
                          "    created_by VARCHAR(64) NOT NULL DEFAULT ''\n"
                          ");\n"
                          "CREATE INDEX bus_keys_name ON bus_keys (name);\n",
     .sql[MK_DB_MYSQL] = "CREATE TABLE IF NOT EXISTS bus_keys (\n"
                         "    pubkey VARCHAR(40) NOT NULL PRIMARY KEY,\n"
                         "    name VARCHAR(64) NOT NULL,\n"
                         "    role VARCHAR(16) NOT NULL,\n"
                         "    hosts MEDIUMTEXT NOT NULL,\n"
                         "    expires BIGINT NOT NULL DEFAULT 0,\n"
                         "    created BIGINT NOT NULL,\n"
                         "    created_by VARCHAR(64) NOT NULL DEFAULT '',\n"
                         "    KEY bus_keys_name (name)\n" MYSQL_TABLE},
    //  Join tokens (issue 18's enrolment door): what a new node presents, once, with the
    //  public key it made, to be admitted for its host. Kept as the BLAKE2b digest of the
    //  token's text (mk_secret), as credentials are; expires and created unix seconds;
    //  created_by the administrator who made it. A host may have several.
    {.version = 8,
     .sql[MK_DB_SQLITE] = "CREATE TABLE join_tokens (\n"
                          "    digest CHAR(64) NOT NULL PRIMARY KEY,\n"
                          "    host VARCHAR(64) NOT NULL,\n"
                          "    expires BIGINT NOT NULL,\n"
                          "    created BIGINT NOT NULL,\n"
                          "    created_by VARCHAR(64) NOT NULL DEFAULT ''\n"
                          ");\n"
                          "CREATE INDEX join_tokens_expires ON join_tokens (expires);\n",
     .sql[MK_DB_MYSQL] = "CREATE TABLE IF NOT EXISTS join_tokens (\n"
                         "    digest CHAR(64) NOT NULL PRIMARY KEY,\n"
                         "    host VARCHAR(64) NOT NULL,\n"
                         "    expires BIGINT NOT NULL,\n"
                         "    created BIGINT NOT NULL,\n"
                         "    created_by VARCHAR(64) NOT NULL DEFAULT '',\n"
                         "    KEY join_tokens_expires (expires)\n" MYSQL_TABLE},
    //  IP pools (issue 21): a pool's network (CIDR), gateway, DNS servers (comma-joined)
    //  and host bridge; its ranges (addresses in their usual text); the leases, one an
    //  address, one a VM (its key), written in the batch that makes the VM and deleted in
    //  the one that forgets it; and each VI's pool ('' for none).
    {.version = 9,
     .sql[MK_DB_SQLITE] = "CREATE TABLE pools (\n"
                          "    name VARCHAR(64) NOT NULL PRIMARY KEY,\n"
                          "    network VARCHAR(64) NOT NULL,\n"
                          "    gateway VARCHAR(46) NOT NULL DEFAULT '',\n"
                          "    dns VARCHAR(255) NOT NULL DEFAULT '',\n"
                          "    bridge VARCHAR(16) NOT NULL,\n"
                          "    created BIGINT NOT NULL\n"
                          ");\n"
                          "CREATE TABLE pool_ranges (\n"
                          "    pool VARCHAR(64) NOT NULL,\n"
                          "    first VARCHAR(46) NOT NULL,\n"
                          "    last VARCHAR(46) NOT NULL,\n"
                          "    PRIMARY KEY (pool, first)\n"
                          ");\n"
                          "CREATE TABLE leases (\n"
                          "    ip VARCHAR(46) NOT NULL PRIMARY KEY,\n"
                          "    pool VARCHAR(64) NOT NULL,\n"
                          "    vm VARCHAR(128) NOT NULL UNIQUE,\n"
                          "    mac VARCHAR(17) NOT NULL,\n"
                          "    created BIGINT NOT NULL\n"
                          ");\n"
                          "CREATE INDEX leases_pool ON leases (pool);\n"
                          "ALTER TABLE vis ADD COLUMN pool VARCHAR(64) NOT NULL DEFAULT '';\n",
     .sql[MK_DB_MYSQL] =
         "CREATE TABLE IF NOT EXISTS pools (\n"
         "    name VARCHAR(64) NOT NULL PRIMARY KEY,\n"
         "    network VARCHAR(64) NOT NULL,\n"
         "    gateway VARCHAR(46) NOT NULL DEFAULT '',\n"
         "    dns VARCHAR(255) NOT NULL DEFAULT '',\n"
         "    bridge VARCHAR(16) NOT NULL,\n"
         "    created BIGINT NOT NULL\n" MYSQL_TABLE "CREATE TABLE IF NOT EXISTS pool_ranges (\n"
         "    pool VARCHAR(64) NOT NULL,\n"
         "    first VARCHAR(46) NOT NULL,\n"
         "    last VARCHAR(46) NOT NULL,\n"
         "    PRIMARY KEY (pool, first)\n" MYSQL_TABLE "CREATE TABLE IF NOT EXISTS leases (\n"
         "    ip VARCHAR(46) NOT NULL PRIMARY KEY,\n"
         "    pool VARCHAR(64) NOT NULL,\n"
         "    vm VARCHAR(128) NOT NULL,\n"
         "    mac VARCHAR(17) NOT NULL,\n"
         "    created BIGINT NOT NULL,\n"
         "    UNIQUE KEY leases_vm (vm),\n"
         "    KEY leases_pool (pool)\n" MYSQL_TABLE
         "ALTER TABLE vis ADD COLUMN IF NOT EXISTS pool VARCHAR(64) NOT NULL "
         "DEFAULT '';\n"},
};

const mk_db_migration_t *
mk_db_schema (size_t *count)
{
    *count = sizeof s_migrations / sizeof s_migrations[0];
    return s_migrations;
}

//  The tables as of the latest migration, for mk_db_copy. A migration that adds a table
//  or a column changes this list with it (mk_db_copy's test compares it with SQLite's
//  own description of the tables).
static const mk_db_table_t s_tables[] = {
    {"hosts", "id, name, state, uri, vcpus, memory_mb, last_seen", "itttiii"},
    {"templates",
     "id, name, vcpus, memory_mb, disk_gb, image, os_type, network, kernel, initrd, "
     "cmdline, created",
     "itiiitttttti"},
    {"vms",
     "id, uuid, name, template, host, vcpus, memory_mb, disk_gb, image, os_type, network, "
     "kernel, initrd, cmdline, mac, state, last_task, created, updated, vi",
     "ittttiiittttttttiiit"},
    {"tasks", "id, vm, host, op, state, from_state, error, attempts, created, updated, vi",
     "ittitttiiit"},
    {"requests", "id, reply, created, fingerprint", "tbii"},
    {"events", "stream, seq, body, created", "tibi"},
    {"metrics", "step, kind, subject, t, samples, cpu, mem_kb, rx, tx, rd, wr", "iibiiiiiiii"},
    {"users", "id, name, password, admin, disabled, created, last_login", "ittiiii"},
    {"credentials", "digest, kind, user_id, name, read_only, created, expires, revoked",
     "tiitiiii"},
    {"audit", "id, time, actor, credential, request, subject, status, reason, vi", "iittttitt"},
    {"vis", "id, name, description, vcpus, memory_mb, disk_gb, vms, created, pool", "ittiiiiit"},
    {"vi_members", "vi, user_id, role", "tit"},
    {"vi_templates", "vi, template", "tt"},
    {"bus_keys", "pubkey, name, role, hosts, expires, created, created_by", "ttttiit"},
    {"join_tokens", "digest, host, expires, created, created_by", "ttiit"},
    {"pools", "name, network, gateway, dns, bridge, created", "ttttti"},
    {"pool_ranges", "pool, first, last", "ttt"},
    {"leases", "ip, pool, vm, mac, created", "tttti"},
};

const mk_db_table_t *
mk_db_tables (size_t *count)
{
    *count = sizeof s_tables / sizeof s_tables[0];
    return s_tables;
}

char *
mk_db_drop_all_sql (void)
{
    char *sql = strdup ("DROP TABLE IF EXISTS meta");
    for (size_t i = 0; sql && i < sizeof s_tables / sizeof s_tables[0]; i++) {
        char *longer = zsys_sprintf ("%s, %s", sql, s_tables[i].name);
        free (sql);
        sql = longer;
    }
    assert (sql);
    return sql;
}

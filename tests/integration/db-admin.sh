#!/bin/bash
# maekinsh admin db: status, migrate, and a backup taken while the cloud runs and
# creates VMs, restored into a new SQLite database (a controller started on it has the
# cloud as it was) and into MariaDB (the same rows: a move between backends).
set -u
. "$(dirname "$0")/lib.bash"
[ -n "${MK_TEST_MYSQL_URL:-}" ] || fail "MK_TEST_MYSQL_URL is not set (tests/run.sh starts a private MariaDB and sets it)"
admin() { "$MK_BUILD/maekinsh" --db-url="$1" admin db "${@:2}"; }
state=sqlite:$T/maekin.db

# A new database: made and migrated by the admin command, before any controller.
expect_fail "status of a database that is not there" 1 "no database at" admin "$state" status
expect_ok "migrate makes the schema" admin "$state" migrate
status=$(admin "$state" status)
latest=$(awk '/^latest/ { print $2 }' <<<"$status")
[ "$(awk '/^schema/ { print $2 }' <<<"$status")" = "$latest" ] && [ "${latest:-0}" -ge 3 ] \
    && grep -q "^verdict  *current" <<<"$status" || fail "status after migrate: $status"
ok "status says schema $latest, current"

start_broker
start_controller
start_agent node1 "$(node node1 64 65536)"
eventually 10 "node1 is up" is host node1 state up
expect_ok "template tiny" sh template create tiny --vcpus 1 --memory 64
for i in $(seq 10); do sh vm create "before-$i" --template tiny >/dev/null || fail "create before-$i"; done
eventually 20 "the first VMs run" \
    bash -c "[ \$('$MK_BUILD/maekinsh' --bus-endpoint=$BUS vm list --state running | tail -n +2 | wc -l) -eq 10 ]"

# A backup while creates go on: it holds a consistent state (every VM it has, the task
# that made it; never a VM without its task).
( for i in $(seq 30); do sh vm create "during-$i" --template tiny >/dev/null 2>&1; done ) &
burst=$!
sleep 0.3
expect_ok "backup while the cloud works" admin "$state" backup "$T/backup.db"
wait $burst
expect_fail "a backup never overwrites a file" 1 "exists" admin "$state" backup "$T/backup.db"
python3 - "$T/backup.db" <<'PY' || fail "the backup is not consistent"
import sqlite3, sys
db = sqlite3.connect (sys.argv[1])
assert db.execute ("PRAGMA integrity_check").fetchone ()[0] == "ok"
vms = {name for (name,) in db.execute ("SELECT name FROM vms")}
made = {vm for (vm,) in db.execute ("SELECT vm FROM tasks WHERE op = 1")}
assert vms == made, (vms ^ made)
assert {"before-%d" % i for i in range (1, 11)} <= vms, vms
print ("backup: %d VMs, each with its create task" % len (vms))
PY
ok "the backup is whole: every VM with its task, the first ten among them"
in_backup=$(admin "sqlite:$T/backup.db" status | awk '/^vms/ { print $2 }')
sh vm create after-1 --template tiny --wait >/dev/null || fail "create after-1"

# Restored into a new SQLite database, a controller has the cloud as it was.
stop controller
expect_ok "restore into a new database" admin "sqlite:$T/restored.db" restore "$T/backup.db"
DB_URL=sqlite:$T/restored.db start_controller
eventually 10 "the controller on the restored database answers" sh vm show before-1
[ "$(sh vm list | tail -n +2 | wc -l)" -eq "$in_backup" ] || fail "the restored cloud has $(sh vm list | tail -n +2 | wc -l) VMs, the backup $in_backup"
expect_fail "a VM made after the backup is not in the restored cloud" 1 "no VM" sh vm show after-1
ok "the restored cloud has the backup's $in_backup VMs"
eventually 10 "node1 is up for the controller on the restored database" is host node1 state up
expect_ok "a new VM in the restored cloud" sh vm create restored-1 --template tiny --wait
stop controller

# Into MariaDB: the same rows; a second restore only with --replace.
mysql_fresh
expect_ok "restore into MariaDB" admin "$url" restore "$T/backup.db"
[ "$(admin "$url" status | awk '/^vms/ { print $2 }')" = "$in_backup" ] || fail "MariaDB has other VMs than the backup"
ok "MariaDB holds the backup's VMs"
expect_fail "restore over rows needs --replace" 1 "not empty" admin "$url" restore "$T/backup.db"
expect_ok "restore --replace" admin "$url" restore "$T/backup.db" --replace
expect_ok "backup of MariaDB" admin "$url" backup "$T/from-mariadb.db"
[ "$(admin "sqlite:$T/from-mariadb.db" status | awk '/^vms/ { print $2 }')" = "$in_backup" ] || fail "the MariaDB backup differs"
ok "MariaDB's backup holds the same VMs"
admin "$url" status | grep -q "mysql://...@" || fail "status shows the password"
ok "status hides the password"
expect_fail "restore of a file that is no backup" 1 "not a database" admin "sqlite:$T/x.db" restore "$MK_BUILD/maekinsh"

#!/bin/bash
# One controller per database. A second controller on a database in use is refused and
# says who holds it; so are 'admin db restore' and 'migrate'. A controller that stood
# still longer than its claim lasts (SIGSTOP here; a hung disk in life) finds, when it
# moves again, that another controller took the claim (it stops with status 3, not to
# be restarted) or a restore did (status 1: start again on what the restore left),
# having written nothing. A controller started while a restore holds the claim waits
# for it. One killed by SIGKILL is taken over at once by the next; one stopped cleanly
# gives the claim up.
set -u
. "$(dirname "$0")/lib.bash"
admin() { "$MK_BUILD/maekinsh" --db-url="sqlite:$T/maekin.db" admin db "$@"; }
vms() { sh vm list | tail -n +2 | wc -l; }

# stall NAME: SIGSTOPs a controller while it is between batches, and waits out its
# claim's lapse. (Stopped inside a batch, it would hold SQLite's write lock, and
# nothing else could write until it moved again: try again then.)
stall() {
    local pid=${PIDS[$1]} _
    for _ in 1 2 3 4 5; do
        kill -STOP "$pid"
        sqlite3 -cmd ".timeout 1000" "$T/maekin.db" "BEGIN IMMEDIATE; ROLLBACK;" >/dev/null 2>&1 \
            && break
        kill -CONT "$pid"
        sleep 0.3
    done
    sleep 10.5
}
# lost NAME STATUS: the controller, moving again, stops with STATUS.
lost() {
    local pid=${PIDS[$1]} rc _
    kill -CONT "$pid"
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && fail "$1 runs on after losing its database"
    wait "$pid"; rc=$?
    unset "PIDS[$1]"
    [ $rc -eq "$2" ] || fail "$1 exited $rc, not $2"
}

start_broker
start_controller
start_agent node1 "$(node node1 64 65536)"
eventually 10 "node1 is up" is host node1 state up
expect_ok "template tiny" sh template create tiny --vcpus 1 --memory 64
expect_ok "a VM" sh vm create first --template tiny --wait
expect_ok "a backup" admin backup "$T/backup.db"

first=${PIDS[controller]}
expect_fail "a second controller on the same database is refused (status 3)" 3 \
    "another controller holds this database \(maekin-controller, process $first on [^ ]+, renewed" \
    timeout 20 "$MK_BUILD/maekin-controller" $(bus_opts controller) --bus-endpoint=$BUS --bus-stream_in=$STREAM_IN --bus-stream_out=$STREAM_OUT \
    --db-url="sqlite:$T/maekin.db"
expect_ok "the first still serves" sh vm create second --template tiny --wait
admin status | grep -qE "^controller +maekin-controller, process $first on " \
    || fail "status does not name the controller: $(admin status)"
ok "admin db status names the controller"
expect_fail "restore is refused while it runs" 1 \
    "a controller runs on this database \(maekin-controller, process $first .*stop it before 'admin db restore'" \
    admin restore "$T/backup.db" --replace
expect_fail "migrate is refused while it runs" 1 "stop it before 'admin db migrate'" admin migrate
[ "$(vms)" -eq 2 ] || fail "not two VMs after the refused restore: $(sh vm list)"
ok "the refused restore changed nothing"

# It stands still past the claim's lapse (10 s) and another controller takes over.
stall controller
start controller2 "$MK_BUILD/maekin-controller" $(bus_opts controller) --bus-endpoint=$BUS --bus-stream_in=$STREAM_IN --bus-stream_out=$STREAM_OUT \
    --db-url="sqlite:$T/maekin.db" --controller-host_timeout_ms=1500
eventually 10 "the second controller serves" sh vm show second
# A restarted controller knows its hosts once their agents report (until then a create
# is answered 503, retry): scripts wait for that as for any host being up.
eventually 10 "node1 is up for the second controller" is host node1 state up
expect_ok "and writes" sh vm create third --template tiny --wait
lost controller 3
grep -q "another controller holds the database now (maekin-controller, process ${PIDS[controller2]} " \
    "$T/controller.log" || fail "the first controller's log does not say why it stopped: $(tail -n 3 "$T/controller.log")"
ok "the first controller, moving again, found it taken over and stopped"
expect_ok "the cloud goes on under the second" sh vm create fourth --template tiny --wait
[ "$(vms)" -eq 4 ] || fail "not four VMs: $(sh vm list)"
ok "four VMs, each once"

# It stands still past the lapse, and a restore takes the claim for its time.
stall controller2
expect_ok "a restore under a controller that stood still past the lapse" \
    admin restore "$T/backup.db" --replace
lost controller2 1
grep -q "claim was taken from this controller (by a restore or a migration that has ended); stopping, to start again" \
    "$T/controller2.log" || fail "the second controller's log does not say why it stopped: $(tail -n 3 "$T/controller2.log")"
ok "the second controller, moving again, found the claim gone and stopped (status 1: start again)"

# A restore holding the claim (here a stand-in process, with the claim a restore takes:
# one that does not lapse while its process lives) is waited for.
sleep 3 & restore=$!
sqlite3 "$T/maekin.db" "DELETE FROM meta WHERE name = 'controller';
    INSERT INTO meta (name, value) VALUES ('controller', '0123456789abcdef0123456789abcdef \
maekinsh-admin-db-restore 0 $(hostname) $restore $(cat /proc/sys/kernel/random/boot_id) \
$(readlink /proc/self/ns/pid | tr -dc 0-9) 0')" || fail "cannot write the stand-in claim"
start_controller
eventually 5 "a controller started under a restore waits for it" \
    grep -q "claimed by maekinsh-admin-db-restore, process $restore on .*; waiting for it to end" \
    "$T/controller.log"
sh vm show first >/dev/null 2>&1 && fail "the controller served while the restore held the claim"
wait $restore
eventually 10 "and starts once the restore has ended" sh vm show first
stop controller

# Killed, it is taken over at once; stopped cleanly, it gives the claim up.
start_controller
eventually 10 "a controller on the restored database serves" sh vm show first
[ "$(vms)" -eq 1 ] || fail "the restored cloud has $(vms) VMs, the backup one"
ok "the restored cloud is the backup's"
stop controller KILL
start_controller
eventually 5 "a controller started after a SIGKILL takes over at once" sh vm show first
stop controller
admin status | grep -qE "^controller +none" || fail "the claim outlived a clean stop: $(admin status)"
ok "a clean stop gives the claim up"
expect_ok "restore works once it is stopped" admin restore "$T/backup.db" --replace

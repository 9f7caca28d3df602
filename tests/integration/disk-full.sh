#!/bin/bash
# A full disk under the controller's database: its SQLite file on a 4 MiB tmpfs that
# this test mounts in a private mount namespace of its own (invisible outside, gone
# with the test). Five VMs are made with room to spare. Then node2's agent is stopped
# with one create accepted for it ('held'), a filler file leaves 8 KiB, and VMs are
# created one by one until none has fitted for 2.5 s: each create that does not fit
# fails with one clear line (503, nothing was changed). The agent goes on, so held's answer comes
# while the disk is full, as answers do in a cloud that is busy when its disk fills.
# On the full disk the controller must not spin, reads must work, every VM accepted is
# listed, every one whose start was recorded runs. The filler removed, creates work
# again with nothing restarted, and held runs. Stopped cleanly, the database passes
# SQLite's integrity check and holds exactly the VMs whose create was accepted, each
# with its one create task, done: none half-made, none lost.

# The whole test runs in a private mount namespace: mounting the tmpfs there changes
# nothing outside, and the mount goes away with the last process of the test.
if [ "${MK_DISK_FULL_NS:-}" != 1 ]; then
    if ! why=$(unshare --mount --propagation private true 2>&1); then
        printf '%s FAIL: %s\n' "$(date +%T.%3N)" "this test needs a private mount namespace \
('unshare --mount' from util-linux, run as root or with CAP_SYS_ADMIN) to mount its own \
tmpfs; 'unshare --mount true' said: ${why:-nothing, but failed}" >&2
        exit 1
    fi
    exec unshare --mount --propagation private env MK_DISK_FULL_NS=1 bash "$0" "$@"
fi
. "$(dirname "$0")/lib.bash"

disk=$T/disk
mkdir "$disk" || fail "cannot make $disk"
trap 'rc=$?
      [ -n "${PIDS[agent-node2]:-}" ] && kill -CONT "${PIDS[agent-node2]}" 2>/dev/null
      if [ $rc -ne 0 ] && mountpoint -q "$disk"; then
          mkdir -p "$T/disk-at-exit" && cp "$disk"/maekin.db* "$T/disk-at-exit/" 2>/dev/null
      fi
      umount -l "$disk" 2>/dev/null
      cleanup $rc' EXIT
why=$(mount -t tmpfs -o size=4m,mode=0700 maekin-disk-full "$disk" 2>&1) \
    || fail "cannot mount a 4 MiB tmpfs on $disk in the private mount namespace (needs root or CAP_SYS_ADMIN, and tmpfs in the kernel): ${why:-mount failed}"
mountpoint -q "$disk" || fail "the tmpfs is not mounted on $disk"
[ "$(readlink /proc/self/ns/mnt)" != "$(readlink /proc/$PPID/ns/mnt)" ] \
    || fail "the test is not in a mount namespace of its own"
ok "a 4 MiB tmpfs in a private mount namespace holds the database"

avail() { df --output=avail -B1 "$disk" | tail -n 1 | tr -d ' '; }
# names: the first column of a maekinsh table, sorted, on one line.
names() { tail -n +2 | awk '{ print $1 }' | sort | tr '\n' ' '; }
sorted() { printf '%s\n' "$@" | sed '/^$/d' | sort | tr '\n' ' '; }
rolled_back() { grep -c "rolled back" "$T/controller.log"; }
# subset A B: every word of A is in B.
subset() { [ -z "$(comm -23 <(tr ' ' '\n' <<<"$1" | sed '/^$/d' | sort) <(tr ' ' '\n' <<<"$2" | sed '/^$/d' | sort))" ]; }
no_vm() { local out; out=$(sh vm show "$1" 2>&1); [ $? -eq 1 ] && grep -q "no VM named '$1'" <<<"$out"; }
# What is checked while the disk is full is recorded, not fatal at once, so that the
# recovery and the database are checked too; the test fails at the end if any failed.
problems=()
soft() {
    local what=$1; shift
    if "$@"; then ok "$what"; else log "NOT OK: $what"; problems+=("$what"); fi
}

DB_URL=sqlite:$disk/maekin.db
start_broker
# node2 stays up while its agent is stopped for a few seconds.
start_controller --controller-host_timeout_ms=60000
controller_pid=${PIDS[controller]}
# Room for every VM on either host: 64 CPUs at 400% vCPU overcommit, 64 MiB each.
start_agent node1 "$(node node1 64 65536)"
start_agent node2 "$(node node2 64 65536)"
up_hosts() { [ "$(sh host list --state up | tail -n +2 | wc -l)" -eq 2 ]; }
eventually 10 "two hosts are up" up_hosts
expect_ok "template tiny" sh template create tiny --vcpus 1 --memory 64

# --- a few VMs while there is room
accepted=()        # every VM whose create was accepted
for n in a1 a2 a3 a4 a5; do
    expect_ok "vm create $n --wait, with room on the disk" sh vm create $n --template tiny --wait
    accepted+=($n)
done

# --- the filler: everything but 8 KiB
# First the schema and the setup must be checkpointed from the WAL into the database
# file (the background checkpointer runs every second): else that checkpoint, not the
# creates, would be the first thing the full disk refuses.
size() { stat -c %s "$disk/maekin.db"; }
for _ in $(seq 10); do
    before=$(size); sleep 1.5
    [ "$(size)" -eq "$before" ] && [ "$before" -gt 4096 ] && break
done
[ "$(size)" -eq "$before" ] || fail "the database file keeps growing: $(size) bytes"
ok "the database file is checkpointed: $(size) bytes"
# A create in flight across the fill: node2's agent stopped, its answer comes later.
kill -STOP "${PIDS[agent-node2]}"
expect_ok "vm create held on node2 is accepted (its agent is stopped)" \
    sh vm create held --template tiny --host node2
accepted+=(held)
headroom=$((8 * 1024))
free=$(avail)
[ "$free" -gt $((headroom + 1024 * 1024)) ] || fail "only $free bytes free on the new tmpfs"
head -c $((free - headroom)) /dev/zero > "$disk/filler" || fail "cannot write the filler"
[ "$(avail)" -le "$headroom" ] || fail "$(avail) bytes free after the filler, not $headroom"
ok "the filler leaves $(avail) bytes free"

# --- create VMs until the disk is full
# One at a time on node1, each done before the next is asked for; one whose start is
# not recorded in 5 s fell on the full disk: it is in flight like held. SQLite reuses
# its WAL after each checkpoint (the controller checkpoints every second), so after the
# first failure some creates may still fit: they go on until none has for 2.5 s.
create_done() { [ "$(sh task list --vm "$1" --state "done" | awk -v n="$1" '$4 == n' | wc -l)" -eq 1 ]; }
ms() { echo $(( $(date +%s%N) / 1000000 )); }
in_flight=(held)
failed=()
streak=0
i=0
while [ $streak -lt 5 ] || [ $(( $(ms) - streak_from )) -lt 2500 ]; do
    i=$((i + 1))
    # Bounded by count, not by time: a slower machine takes longer, not more creates.
    [ $i -le 100 ] \
        || fail "the disk is not full after $((i - 1)) creates (${#failed[@]} failed)"
    if sh --output json vm create f$i --template tiny --host node1 > "$T/create.out" 2> "$T/create.err"; then
        accepted+=(f$i)
        streak=0
        [ ${#in_flight[@]} -eq 1 ] || { in_flight+=(f$i); continue; }
        for _ in $(seq 50); do create_done f$i && break; sleep 0.1; done
        create_done f$i || in_flight+=(f$i)
        continue
    fi
    err=$(cat "$T/create.err")
    what="create f$i, which does not fit,"
    [ "$(wc -l < "$T/create.err")" -eq 1 ] || fail "$what said more than one line: $err"
    grep -qE '^maekinsh: .*database.*nothing was changed' <<<"$err" \
        || fail "$what said '$err', not that the database failed and nothing was changed"
    python3 -c 'import json, sys; d = json.load (open (sys.argv[1])); sys.exit (d["status"] != 503)' \
        "$T/create.out" || fail "$what did not get status 503: $(cat "$T/create.out")"
    [ ${#failed[@]} -gt 0 ] || ok "the first create that does not fit, f$i (after $((i - 1)) on the filled disk), exits 1 with one line and status 503: $err"
    failed+=(f$i)
    [ $streak -gt 0 ] || streak_from=$(ms)
    streak=$((streak + 1))
    sleep 0.2
done
ok "the disk is full: ${#failed[@]} creates failed, each with that line and 503, the last $streak over 2.5 s; $((${#accepted[@]} - 6)) were accepted"
[ "$(avail)" -lt 8192 ] || fail "the disk is not full: $(avail) bytes free"
ok "the tmpfs has $(avail) bytes free"
grep -q "database or disk is full" "$T/controller.log" \
    || fail "the controller's log does not name the full disk"
ok "the controller's log names the cause: $(grep -m 1 'database or disk is full' "$T/controller.log" | sed 's/^.*maekin-controller //')"

# --- while the disk is full, with held's answer arriving
kill -CONT "${PIDS[agent-node2]}"
sleep 1
before=$(rolled_back)
sleep 2
spin=$(( $(rolled_back) - before ))
# A batch that cannot commit is retried, but not thousands of times a second.
soft "the controller does not spin on the full disk ($spin batches rolled back in 2 s, asked nothing)" \
    [ $spin -le 10 ]
soft "host list works on the full disk" sh host list
soft "both hosts are up" up_hosts
listed=$(sh vm list 2>&1 | names)
soft "vm list on the full disk shows exactly the ${#accepted[@]} accepted VMs (it shows '$listed')" \
    [ "$listed" = "$(sorted "${accepted[@]}")" ]
running=$(sh vm list --state running 2>&1 | names)
# The starts recorded before the disk filled.
started=$(sorted "${accepted[@]}" | tr ' ' '\n' | grep -vxF "$(printf '%s\n' "${in_flight[@]}")" | tr '\n' ' ')
soft "every accepted VM runs on the full disk, but ${in_flight[*]}, in flight (running: '$running')" \
    subset "$started" "$running"
soft "vm show works on the full disk" sh vm show a1
soft "${failed[0]}, whose create failed, does not exist" no_vm "${failed[0]}"
[ "${PIDS[controller]}" = "$controller_pid" ] && kill -0 "$controller_pid" 2>/dev/null \
    || fail "the controller died on the full disk"
ok "the controller is still running"

# --- room again: creates work with nothing restarted
rm -f "$disk/filler"
ok "filler removed: $(avail) bytes free"
# The controller tries writing again after a backoff of at most a second: until then a
# create is refused with "retry later", and nothing is made.
# (The backoff is a second at most; the bound only ends a test that would hang.)
eventually 30 "a create is accepted after the backoff once the disk has room again" \
    sh vm create r1 --template tiny
accepted+=(r1)
grep -q "the database takes writes again" "$T/controller.log" \
    || fail "the controller's log does not say the database takes writes again"
ok "the controller's log says the database takes writes again"
# From here on (a commit has worked), no batch may fail.
since=$(rolled_back)
for n in r2 r3; do
    expect_ok "vm create $n --wait" sh vm create $n --template tiny --wait
    accepted+=($n)
done
all_running() { [ "$(sh vm list --state running | names)" = "$(sorted "${accepted[@]}")" ]; }
eventually 15 "all ${#accepted[@]} accepted VMs run, ${in_flight[*]} too" all_running
[ "$(rolled_back)" -eq "$since" ] \
    || fail "the controller rolled back batches after the disk had room: $(grep "rolled back" "$T/controller.log" | tail -n 2)"
ok "the controller's log shows no rolled back batch since the disk has room: it recovered"
kill -0 "$controller_pid" 2>/dev/null && [ "$(grep -c "serving 'cloud'" "$T/controller.log")" -eq 1 ] \
    || fail "the controller was restarted"
ok "the same controller process served throughout"

# --- stopped cleanly: the database is whole and holds exactly what was accepted
kill -TERM "$controller_pid"
wait "$controller_pid"
rc=$?
unset "PIDS[controller]"
[ $rc -eq 0 ] || fail "the controller exited $rc on SIGTERM"
ok "the controller stops cleanly"
[ ! -e "$disk/maekin.db-wal" ] || fail "the WAL is still there after a clean stop: $(ls -l "$disk")"
ok "at the clean stop the WAL was checkpointed into the database file and removed"
python3 - "$disk/maekin.db" "${accepted[@]}" <<'PY' || fail "the database after the full disk is wrong (see above)"
import sqlite3, sys
path, accepted = sys.argv[1], sorted (sys.argv[2:])
db = sqlite3.connect (path)
check = [row[0] for row in db.execute ("PRAGMA integrity_check")]
assert check == ["ok"], "integrity_check: %s" % check[:5]
vms = sorted (row[0] for row in db.execute ("SELECT name FROM vms"))
assert vms == accepted, "the database has VMs %s, not the accepted %s" % (vms, accepted)
bad = db.execute ("SELECT name, state FROM vms WHERE state != 'running'").fetchall ()
assert not bad, "VMs not running in the database: %s" % bad
tasks = db.execute ("SELECT vm, op, state FROM tasks").fetchall ()
per_vm = {}
for vm, op, state in tasks:
    per_vm.setdefault (vm, []).append ((op, state))
assert sorted (per_vm) == accepted, "tasks name VMs %s, not %s" % (sorted (per_vm), accepted)
CREATE = 1  # VM_OP_CREATE in proto/maekin.proto
bad = {vm: ts for vm, ts in per_vm.items () if ts != [(CREATE, "done")]}
assert not bad, "VMs without exactly one create task, done: %s" % bad
print ("integrity_check ok; %d VMs, each with one create task, done" % len (vms))
PY
ok "PRAGMA integrity_check says ok, and the database holds exactly the ${#accepted[@]} accepted VMs, one done create task each"

[ ${#problems[@]} -eq 0 ] || fail "on the full disk: $(printf '%s; ' "${problems[@]}")"

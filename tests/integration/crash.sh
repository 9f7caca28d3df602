#!/bin/bash
# Crash safety: a burst of VM creations from eight clients while the controller, the
# broker, an agent and the MariaDB server are each SIGKILLed at random moments, one at a
# time, and started again. At the end every accepted task has reached a final state
# once, every VM exists once and runs, libvirt on every host has exactly the VMs the
# database places there, and the event stream reports each task's end exactly once.
#   CRASH_VMS   how many VMs (default 240; `make bench` runs 1000)
#   CRASH_DB    mysql (default: the private MariaDB of tests/run.sh) or sqlite (then
#               there is no database server to kill; crash-sqlite.sh)
. "$(dirname "$0")/lib.bash"

vms=${CRASH_VMS:-240}
backend=${CRASH_DB:-mysql}
clients=()
victims=(controller broker agent-node1 mariadb controller agent-node2 broker mariadb)
if [ "$backend" = sqlite ]; then
    DB_URL=sqlite:$T/maekin.db
    victims=(controller broker agent-node1 controller agent-node2 broker controller)
    trap 'rc=$?; for c in "${clients[@]}"; do kill "$c" 2>/dev/null; done; cleanup $rc' EXIT
else
    mysql_fresh
    trap 'rc=$?; for c in "${clients[@]}"; do kill "$c" 2>/dev/null; done
          "$MK_SRC/tests/mariadb.sh" resume "$server" >/dev/null 2>&1; cleanup $rc' EXIT
    DB_URL=$url
fi
# Room for every VM on either host alone (1 vCPU each, four per CPU; 64 MiB each).
cpus=$(( vms / 4 + 16 ))
memory=$(( vms * 64 + 8192 ))
uri1=$(node node1 $cpus $memory)
uri2=$(node node2 $cpus $memory)
start_broker
start_controller
start_agent node1 "$uri1"
start_agent node2 "$uri2"
up_hosts() { [ "$(sh host list --state up | tail -n +2 | wc -l)" -eq 2 ]; }
eventually 15 "two hosts are up" up_hosts
expect_ok "template tiny" sh template create tiny --vcpus 1 --memory 64

per=$(( (vms + 7) / 8 ))
for c in $(seq 0 7); do
    ( for i in $(seq 0 $((per - 1))); do
          n=$((c * per + i)); [ $n -lt $vms ] || break
          create_until_done "c$n" || exit 1
      done ) 2>>"$T/clients.log" &
    clients+=($!)
done

# One victim at a time, at random moments, each started again on what it had.
kills=0
for victim in "${victims[@]}"; do
    sleep "0.$((3 + RANDOM % 7))"
    running=0
    for pid in "${clients[@]}"; do kill -0 "$pid" 2>/dev/null && running=1; done
    [ $running -eq 1 ] || break
    case $victim in
        mariadb) "$MK_SRC/tests/mariadb.sh" kill "$server" 2>>"$T/mariadb.log"
                 sleep 0.3; "$MK_SRC/tests/mariadb.sh" resume "$server" 2>>"$T/mariadb.log" \
                     || fail "cannot restart mariadbd" ;;
        controller) stop controller KILL; start_controller ;;
        broker) stop broker KILL; start_broker ;;
        agent-node1) stop agent-node1 KILL; start_agent node1 "$uri1" ;;
        agent-node2) stop agent-node2 KILL; start_agent node2 "$uri2" ;;
    esac
    kills=$((kills + 1))
    log "killed and restarted $victim"
done
[ $kills -ge 4 ] || fail "only $kills kills happened before the clients finished; make CRASH_VMS larger"
ok "$kills processes SIGKILLed and restarted during the burst"
for pid in "${clients[@]}"; do
    wait "$pid" || fail "a client could not create its VMs: $(tail -n 3 "$T/clients.log")"
done
ok "every create was answered, or retried until it was"

eventually 30 "both hosts are up again" up_hosts
no_open() { [ "$(sh task list --state queued | tail -n +2 | wc -l)" -eq 0 ] \
    && [ "$(sh task list --state dispatched | tail -n +2 | wc -l)" -eq 0 ] \
    && [ "$(sh task list --state running | tail -n +2 | wc -l)" -eq 0 ]; }
for _ in $(seq 900); do no_open && break; sleep 0.1; done
no_open || { for st in queued dispatched running; do sh task list --state $st | head -5 >&2; done
             fail "tasks left open after 90 s"; }
ok "no task is left open"
[ "$(sh vm list | tail -n +2 | wc -l)" -eq "$vms" ] || fail "$(sh vm list | tail -n +2 | wc -l) VMs, not $vms"
ok "$vms VMs, each once"
all_running() { [ "$(sh vm list --state running | tail -n +2 | wc -l)" -eq "$vms" ]; }
eventually 30 "every VM runs" all_running
for h in node1 node2; do
    in_db=$(sh vm list --host $h | tail -n +2 | awk '{ print $1 }' | sort | tr '\n' ' ')
    in_libvirt=$(sh host domains $h | tail -n +2 | awk '{ print $1 }' | sort | tr '\n' ' ')
    if [ "$in_db" != "$in_libvirt" ]; then
        # What happened to the first VMs that differ, for whoever reads the failure.
        for vm in $(diff <(tr ' ' '\n' <<<"$in_db") <(tr ' ' '\n' <<<"$in_libvirt") \
                | sed -n 's/^[<>] //p' | head -2); do
            echo "--- tasks and events of $vm" >&2
            sh task list --vm "$vm" >&2
            sh event list event.vm | awk -v vm="$vm" '$0 ~ " "vm" " || NR == 1' >&2
        done
        fail "$h: the database and libvirt differ: $(diff <(tr ' ' '\n' <<<"$in_db") <(tr ' ' '\n' <<<"$in_libvirt") | head -5)"
    fi
    ok "$h: libvirt has exactly the VMs the database places there"
done
sh --output json task list > "$T/tasks.json" || fail "task list"
sh --output json event list event.task > "$T/events.json" || fail "event list"
python3 - "$T/tasks.json" "$T/events.json" <<'PY' || fail "the task table and the event stream disagree (see above)"
import json, sys, collections
tasks = json.load (open (sys.argv[1]))["tasks"]
events = json.load (open (sys.argv[2]))["events"]
seqs = [e["seq"] for e in events]
assert seqs == list (range (1, len (seqs) + 1)), "event.task has gaps or repeats"
finals = collections.Counter ()
last = {}
for e in events:
    if e["state"] in ("done", "failed", "cancelled"):
        finals[e["task_id"]] += 1
        last[e["task_id"]] = e["state"]
bad = [t["id"] for t in tasks if finals[t["id"]] != 1 or last.get (t["id"]) != t["state"]]
assert not bad, "tasks whose end the stream does not report exactly once: %s" % bad[:10]
print ("%d tasks, %d events, each task's end reported once" % (len (tasks), len (events)))
PY
ok "the event stream reports each task's end exactly once, gapless"

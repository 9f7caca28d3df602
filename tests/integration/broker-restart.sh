#!/bin/bash
# The broker SIGKILLed and restarted twice under a burst of creates. Agents register
# with the new broker about a second after it comes back; a task dispatched in that
# second meets the broker's "no worker serves 'node/X'". That is not a dead host: the
# task is tried again, the host stays up (its agent reports through it all), and no
# create is refused for lack of room while both hosts have room for every VM. At the
# end every VM exists once and runs.
. "$(dirname "$0")/lib.bash"

vms=${BROKER_RESTART_VMS:-160}
clients=()
trap 'rc=$?; for c in "${clients[@]}"; do kill "$c" 2>/dev/null; done; cleanup $rc' EXIT
# Room for every VM on either host alone (1 vCPU each, four per CPU; 64 MiB each).
uri1=$(node node1 $(( vms / 4 + 8 )) $(( vms * 64 + 4096 )))
uri2=$(node node2 $(( vms / 4 + 8 )) $(( vms * 64 + 4096 )))
start_broker
# Hosts go down only after a long silence: a broker away for a moment is not a reason.
start_controller --controller-host_timeout_ms=60000
start_agent node1 "$uri1"
start_agent node2 "$uri2"
up_hosts() { [ "$(sh host list --state up | tail -n +2 | wc -l)" -eq 2 ]; }
eventually 15 "two hosts are up" up_hosts
expect_ok "template tiny" sh template create tiny --vcpus 1 --memory 64

# Each client creates its VMs one by one; an answer that the cloud could not be reached
# (the broker away) is tried again with a new request; a refusal for lack of room, or
# any other error, is written down and counted.
create_once() {
    local out
    for _ in $(seq 100); do
        out=$(sh --timeout-ms 3000 vm create "$1" --template tiny 2>&1) && return 0
        grep -q "exists already" <<<"$out" && return 0
        grep -qiE "reach|no reply|unknown|lost|busy|retry" <<<"$out" || break
        sleep 0.1
    done
    echo "create $1: $out" >> "$T/refused.log"
}
per=$(( vms / 4 ))
for c in 0 1 2 3; do
    ( for i in $(seq 0 $((per - 1))); do create_once "b$((c * per + i))"; done ) &
    clients+=($!)
done
for round in 1 2; do
    # Wait until the burst is under way, then kill the broker.
    want=$(( round * vms / 3 ))
    under_way() { [ "$(sh vm list --limit 1000 2>/dev/null | tail -n +2 | wc -l)" -ge "$want" ]; }
    eventually 60 "$want VMs created before broker kill $round" under_way
    stop broker KILL
    start_broker
    log "broker killed and restarted ($round)"
done
for pid in "${clients[@]}"; do wait "$pid"; done
clients=()
[ ! -s "$T/refused.log" ] || fail "creates were refused: $(head -n 5 "$T/refused.log")"
ok "no create was refused, none for lack of room"
! grep -q "host 'node[12]' is down" "$T/controller.log" \
    || fail "a host went down while its agent was alive: $(grep -m 2 "is down" "$T/controller.log")"
ok "neither host went down: a missing worker right after the broker returned is not a dead host"
[ "$(sh vm list --limit 1000 | tail -n +2 | wc -l)" -eq "$vms" ] \
    || fail "$(sh vm list --limit 1000 | tail -n +2 | wc -l) VMs, not $vms"
ok "$vms VMs, each once"
all_running() { [ "$(sh vm list --state running --limit 1000 | tail -n +2 | wc -l)" -eq "$vms" ]; }
eventually 60 "every VM runs" all_running
log "$(grep -c 'tried again in' "$T/controller.log") dispatches met a broker without their host's agent and were tried again"

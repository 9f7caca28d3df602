#!/bin/bash
# An agent that loses its host's libvirt says so at once: 'real' (a private libvirtd,
# tests/guest/libvirtd.sh) goes down when its libvirtd stops, for that reason, while the
# agent stays on the bus and 'sim' (the test driver) stays up; with libvirtd back, the
# agent connects again by itself and 'real' is up. The agent reports every 10 s (its
# default) and the controller would take a silent host down only after a minute here:
# neither is what takes 'real' down.
. "$(dirname "$0")/lib.bash"

lv=$T/lv
uri=$(bash "$MK_SRC/tests/guest/libvirtd.sh" start "$lv" 2>"$T/libvirtd-start.log") \
    || fail "the private libvirtd did not start: $(tail -n 5 "$T/libvirtd-start.log")"
uri=${uri##*$'\n'}
trap 'rc=$?; bash "$MK_SRC/tests/guest/libvirtd.sh" stop "$lv" >/dev/null 2>&1; cleanup $rc' EXIT
ok "private libvirtd at $uri"

start_broker
start_controller --controller-host_timeout_ms=60000
start agent "$MK_BUILD/maekin-agent" --bus-endpoint=$BUS $(node_key agent real,sim) \
    --agent-hosts="real=$uri,sim=$(node sim 16 65536)" --agent-domain_type=qemu
eventually 60 "both hosts of the agent are up" is host real state up
eventually 10 "... sim too" is host sim state up

bash "$MK_SRC/tests/guest/libvirtd.sh" stop "$lv" >"$T/libvirtd-stop.log" 2>&1 \
    || fail "the private libvirtd did not stop: $(tail -n 5 "$T/libvirtd-stop.log")"
eventually 60 "with its libvirtd stopped, 'real' goes down" is host real state down
grep -q "host 'real' is down: its agent cannot reach libvirt" "$T/controller.log" \
    || fail "'real' went down otherwise: $(grep "'real'" "$T/controller.log" | tail -n 3)"
events=$(sh event list event.host --output json) || fail "event list: $events"
grep -q '"detail": "its agent cannot reach libvirt"' <<<"$events" \
    || fail "no event.host saying why 'real' is down: $events"
ok "the agent said so: the controller's log and event.host give the reason"
is host sim state up || fail "'sim' is $(sh host show sim | awk '$1 == "state" { print $2 }')"
ok "'sim', on the same agent, stays up"

uri=$(bash "$MK_SRC/tests/guest/libvirtd.sh" start "$lv" 2>"$T/libvirtd-start.log") \
    || fail "the private libvirtd did not start again: $(tail -n 5 "$T/libvirtd-start.log")"
eventually 60 "with libvirtd back, 'real' is up again" is host real state up
grep -q "host 'real': connected to libvirt at .* again" "$T/agent.log" \
    || fail "the agent did not say it connected again: $(tail -n 3 "$T/agent.log")"
ok "the agent connected again by itself"

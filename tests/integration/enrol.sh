#!/bin/bash
# The bus's enrolment door, with the real programs: the administrator makes a join token
# for a host; a new node's key pair, which the broker does not know, enrols with it and
# its agent then brings the host up; the token works once, a made-up one never; the
# enrolled key serves its host alone; a second enrolment of the host replaces the first
# key, which stops working at once; a stranger still reaches nothing else; and every
# refusal is in the audit log. A machine added to be a host (host add) enrols with the
# token it got, and once removed (host remove) its address, tokens and key go.
. "$(dirname "$0")/lib.bash"

start_broker
start_controller

# join_token HOST [--ttl S]: a join token for HOST, as the administrator asks for one.
join_token() {
    local out
    out=$(sh host token "$@") || fail "host token $*: $out"
    awk '$1 == "token" { print $2 }' <<<"$out"
}
# enrol_as KEY TOKEN: maekinsh with the key pair KEY (and no login) at the door.
enrol_as() {
    local key=$1; shift
    "$MK_BUILD/maekinsh" --bus-endpoint=$BUS --bus-key="$KEYS/$key.key_secret" --timeout-ms 2000 enrol "$@"
}

# ---- A token, used once
out=$(sh host token node7 --ttl 600) || fail "host token: $out"
grep -qE "^token +mkj_[A-Za-z0-9_-]{43}$" <<<"$out" && grep -qE "^host +node7$" <<<"$out" \
    && grep -qE "^expires +[0-9]{4}-" <<<"$out" && grep -q "shown this once" <<<"$out" \
    || fail "host token printed: $out"
first=$(awk '$1 == "token" { print $2 }' <<<"$out")
json=$(sh --output json host token node7) || fail "host token --output json: $json"
grep -q '"token": "mkj_' <<<"$json" && grep -q '"host": "node7"' <<<"$json" \
    || fail "host token --output json printed: $json"
ok "host token prints the token, its host and when it expires (table and JSON)"
keys node7 node7b node8 stranger
expect_fail "a random token is refused" 1 "this join token is not valid \(unknown, used or expired\)" \
    enrol_as node7 mkj_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
out=$(enrol_as node7 "$first") || fail "enrol: $out"
[ "$out" = "enrolled: host node7, key 'node7'" ] || fail "enrol said: $out"
ok "a new key pair enrols with the token, without a login"
sh key list node7 | grep -q "node7 .*node.*node7" || fail "key list node7: $(sh key list node7)"
ok "its key is admitted as the node key 'node7', for node7"
expect_fail "the same token again is refused" 1 "this join token is not valid" enrol_as node7b "$first"
expect_fail "enrol without a key pair is a usage error" 2 "enrol needs a key pair" \
    "$MK_BUILD/maekinsh" --bus-endpoint=$BUS --bus-security=none enrol "$first"

# ---- The enrolled key's agent brings node7 up, and serves no other host
start agent7 "$MK_BUILD/maekin-agent" --bus-endpoint=$BUS --agent-hosts="node7=$(node node7 4 4096)" \
    --agent-report_ms=300 --agent-domain_type=test $(bus_opts node7)
eventually 20 "an agent with the enrolled key brings node7 up" is host node7 state up
start agent8 "$MK_BUILD/maekin-agent" --bus-endpoint=$BUS --agent-hosts="node8=$(node node8 4 4096)" \
    --agent-report_ms=300 --agent-domain_type=test $(bus_opts node7)
eventually 20 "the broker refuses node7's key for node/node8" \
    grep -q "the key 'node7' may not serve 'node/node8'" "$T/broker.log"
stop agent8
sh host show node8 >/dev/null 2>&1 && fail "node8 is known to the cloud: $(sh host show node8)"
ok "the enrolled key cannot serve another host"

# ---- Enrolled again (a re-installed node): the old key stops at once
second=$(join_token node7)
[ -n "$second" ] || fail "no second token"
# This controller has no multicast key to give (enrol/multicast_key): said, nothing written.
out=$(enrol_as node7b "$second" --multicast-key "$T/multicast-node7.key") || fail "the second enrolment: $out"
[ "$out" = "enrolled: host node7, key 'node7'
the cloud gave no multicast key (its controller has no enrol/multicast_key): $T/multicast-node7.key not written" ] \
    || fail "the second enrolment said: $out"
[ ! -e "$T/multicast-node7.key" ] || fail "a multicast key was written though the cloud gave none"
second_key=$(awk -F'"' '/public-key/ { print $2 }' "$KEYS/node7b.key")
keys_now=$(sh --output json key list node7)
[ "$(grep -c '"key": ' <<<"$keys_now")" -eq 1 ] && grep -qF "\"key\": \"$second_key\"" <<<"$keys_now" \
    || fail "key list node7 after the second enrolment: $keys_now"
ok "the host's key is the second pair's alone"
eventually 10 "the first key's agent is cut off: node7 goes down" is host node7 state down
stop agent7
start agent7b "$MK_BUILD/maekin-agent" --bus-endpoint=$BUS --agent-hosts="node7=$(node node7 4 4096)" \
    --agent-report_ms=300 --agent-domain_type=test $(bus_opts node7b)
eventually 20 "an agent with the new key brings node7 up again" is host node7 state up

# ---- A stranger still reaches nothing but the door
expect_fail "a stranger's vm list gets nothing" 3 "could not be reached" \
    "$MK_BUILD/maekinsh" --bus-endpoint=$BUS --bus-key="$KEYS/stranger.key_secret" --timeout-ms 300 vm list
expect_fail "nor does the first key, replaced" 3 "could not be reached" \
    "$MK_BUILD/maekinsh" --bus-endpoint=$BUS --bus-key="$KEYS/node7.key_secret" --timeout-ms 300 vm list

# ---- The audit log: every enrolment, allowed or refused, with its precise cause
audit=$(sh --output json audit list) || fail "audit list: $audit"
count() { grep -c "$1" <<<"$audit"; }
[ "$(grep -c '"request": "enrol"' <<<"$audit")" -eq 4 ] \
    || fail "the audit log holds $(grep -c '"request": "enrol"' <<<"$audit") enrolments, not 4: $audit"
[ "$(count 'no such join token')" -eq 2 ] || fail "the refused tokens are not in the audit log: $audit"
[ "$(count '"status": 403')" -eq 2 ] && [ "$(count '"subject": "node7"')" -ge 2 ] \
    || fail "the audit log's enrolments: $audit"
ok "every enrolment is in the audit log, the refusals with their cause"

# ---- A machine added to be a host (issue 22): its MAC bound to an address, a token that
# enrols it; removed, refused while a VM is on it, then its address, tokens and key go
expect_ok "a pool for the nodes' network" sh pool create mgmt --network 10.66.0.0/24 --bridge mkbr0 \
    --range 10.66.0.50-10.66.0.59
expect_fail "host add without a pool" 2 "missing --pool" sh host add node20 --mac 52:54:00:aa:00:20
expect_fail "host add with a MAC that is none" 1 "six pairs of hex digits" \
    sh host add node20 --mac 52:54:00:aa:00 --pool mgmt
added=$(sh host add node20 --mac 52:54:00:AA:00:20 --pool mgmt) || fail "host add: $added"
grep -qE "^token +mkj_" <<<"$added" && grep -qE "^ip +10\.66\.0\.50$" <<<"$added" \
    && grep -qE "^mac +52:54:00:aa:00:20$" <<<"$added" && grep -q "shown this once" <<<"$added" \
    || fail "host add printed: $added"
ok "host add binds the MAC to 10.66.0.50 and prints a token"
leases=$(sh --output json pool leases mgmt)
grep -q '"host": "node20"' <<<"$leases" && grep -q '"mac": "52:54:00:aa:00:20"' <<<"$leases" \
    || fail "pool leases mgmt: $leases"
ok "the binding is among the pool's leases, as host node20's"
expect_fail "its pool kept while it holds an address" 1 "held by VMs or added hosts" sh pool delete mgmt
expect_fail "and its range" 1 "host 'node20' holds an address of range" \
    sh pool range remove mgmt --range 10.66.0.50-10.66.0.59
expect_fail "the same host again" 1 "added already, with 10.66.0.50" \
    sh host add node20 --mac 52:54:00:aa:00:21 --pool mgmt
keys node20
out=$(enrol_as node20 "$(awk '$1 == "token" { print $2 }' <<<"$added")") || fail "enrol node20: $out"
[ "$out" = "enrolled: host node20, key 'node20'" ] || fail "enrol node20 said: $out"
ok "host add's token enrols node20"
start agent20 "$MK_BUILD/maekin-agent" --bus-endpoint=$BUS --agent-hosts="node20=$(node node20 4 4096)" \
    --agent-report_ms=300 --agent-domain_type=test $(bus_opts node20)
eventually 20 "node20's agent brings it up" is host node20 state up

expect_ok "a template" sh template create tiny --vcpus 1 --memory 64
expect_ok "a VM on node20 (first by name)" sh vm create on20 --template tiny --wait
[ "$(field vm on20 host)" = node20 ] || fail "on20 is on $(field vm on20 host)"
expect_fail "removing a host with a VM" 1 "has 1 VM defined on it" sh host remove node20
expect_ok "on20 stopped" sh vm stop on20 --wait
expect_ok "on20 deleted" sh vm delete on20 --wait
expect_ok "host remove node20" sh host remove node20
sh host show node20 >/dev/null 2>&1 && fail "node20 is still a host: $(sh host show node20)"
sh key list node20 2>/dev/null | grep -q node20 && fail "node20's key is still admitted: $(sh key list node20)"
grep -q node20 <<<"$(sh --output json pool leases mgmt)" && fail "node20's binding is left: $(sh pool leases mgmt)"
ok "node20 is gone: its row, its key and its address"
# Its agent, still running with the revoked key, is cut off by the broker: the host stays gone.
eventually 20 "the broker cuts node20's agent off" grep -q "serving 'node/node20' and more gone: its key was revoked" "$T/broker.log"
sh host show node20 >/dev/null 2>&1 && fail "node20 came back: $(sh host show node20)"
stop agent20
expect_fail "and its old key reaches nothing" 3 "could not be reached" \
    "$MK_BUILD/maekinsh" --bus-endpoint=$BUS --bus-key="$KEYS/node20.key_secret" --timeout-ms 300 vm list
ok "a removed host's old key cannot bring it back"

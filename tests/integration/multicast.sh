#!/bin/bash
# Monitors without the broker (deploy/cluster.sh, three nodes in namespaces): with the
# broker up each monitor's view has its own host and the cloud answers host info for
# all; with it stopped (its stream's connection closed) the monitors send to the
# multicast group and hear each other, so `host info --local` answers on every node,
# and `host info` falls back to it; garbage, truncated, foreign and replayed datagrams
# on the group are dropped and counted while the monitors go on; with the broker back
# each monitor says its stream is back and the stream has each sample once.
. "$(dirname "$0")/lib.bash"

dir=$T/cluster
cluster() { "$MK_SRC/deploy/cluster.sh" "$@"; }
trap 'rc=$?; cluster stop -d "$dir" >/dev/null 2>&1; cleanup $rc' EXIT
on() { local node=$1; shift; cluster exec -d "$dir" "$node" "$@"; }
# Each node's view has its own host, up (its own samples: "local"), and no other.
own_local() {
    local node out
    for node in 1 2 3; do
        out=$(on $node maekinsh host info --local 2>&1) || return 1
        grep -qE "^node$node +up .* local " <<<"$out" || return 1
        [ "$(grep -cE '^node[123] ' <<<"$out")" -eq 1 ] || return 1
    done
}
# Every monitor said its stream is back after it was away.
all_back() {
    local n
    for n in 1 2 3; do
        grep -q "the broker's stream is back" "$dir/logs/monitor$n.log" || return 1
    done
}
# The cloud, through the broker, has all three up.
cloud_has_all() {
    [ "$(on 2 maekinsh host info 2>/dev/null | grep -cE '^node[123] +up ')" -eq 3 ]
}
# Every node's view names all three hosts, up: the two others heard over multicast.
all_heard_via_multicast() {
    local node out
    for node in 1 2 3; do
        out=$(on $node maekinsh host info --local 2>&1) || return 1
        [ "$(grep -cE "^node[123] +up .* multicast " <<<"$out")" -ge 2 ] || return 1
        [ "$(grep -cE "^node[123] +up " <<<"$out")" -eq 3 ] || return 1
    done
}

out=$(cluster start -n 3 -d "$dir" -b "$MK_BUILD" -i 300 2>&1) || fail "start: $out"
eventually 60 "every node's view has its own host, and no other while the broker is there" own_local
eventually 30 "host info through the broker: all three up" cloud_has_all

cluster down -d "$dir" broker || fail "the broker would not stop"
eventually 60 "with the broker stopped, every node hears the others over multicast" \
    all_heard_via_multicast
out=$(on 3 maekinsh --timeout-ms 500 host info 2>"$T/err") || fail "host info: $out $(cat "$T/err")"
grep -q "asking this node's monitor" "$T/err" && [ "$(grep -c '^node[123] ' <<<"$out")" -eq 3 ] \
    || fail "host info without the broker: $out $(cat "$T/err")"
ok "host info without the broker answers from this node's monitor"

# From node 3, on the group: one real datagram heard (signed with the cloud's key), then
# sent back as it was (a replay), cut short, with another cloud's id, bytes that are no
# datagram at all, unsigned (a sender without the key) and forged (its sample changed,
# newer, the signature left as it was).
cat >"$T/inject.py" <<'PY'
import socket, sys, time
group, port = "239.192.77.1", 7020
r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
r.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
r.bind(("", port))
r.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
             socket.inet_aton(group) + socket.inet_aton("0.0.0.0"))
r.settimeout(30)
real = r.recv(65535)
assert real[:2] == b"MK", real[:8]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
foreign = real[:4] + bytes(b ^ 0xFF for b in real[4:12]) + real[12:]
assert real[3] == 1 and real[-34:-32] == b"\x00\x20", "the real datagram is not signed"
unsigned = real[:3] + b"\x00" + real[4:20] + (int.from_bytes(real[20:28], "big") + 1).to_bytes(8, "big") \
    + real[28:-34] + b"\x00\x00"
forged = bytearray(real)
forged[20:28] = (int.from_bytes(real[20:28], "big") + 2).to_bytes(8, "big")
forged[31] ^= 0x01
for d in (real, real[:len(real) // 2], foreign, b"garbage on the group", unsigned, bytes(forged)):
    s.sendto(d, (group, port))
print(len(real), int(time.time() * 1000))  # the size, and when the last was sent
PY
read -r size sent_ms < <(on 3 python3 "$T/inject.py") && [ -n "$sent_ms" ] \
    || fail "the datagrams could not be sent"
ok "a real datagram of $size bytes replayed, cut, made foreign, unsigned and forged, and garbage sent to the group"
# Each monitor reads the group in order: once every node holds samples of all three
# taken after the bad datagrams went out, it has read them, and it went on hearing.
heard_after() { # ms
    local node out
    for node in 1 2 3; do
        out=$(on $node maekinsh host info --local --output json) || return 1
        [ "$(grep -oE '"sampled": *[0-9]+' <<<"$out" | grep -oE '[0-9]+$' \
            | awk -v t="$1" '$1 > t' | wc -l)" -eq 3 ] || return 1
    done
}
eventually 30 "the monitors read them and go on hearing each other" heard_after "$sent_ms"

cluster up -d "$dir" broker || fail "the broker would not start again"
eventually 60 "with the broker back, every monitor says its stream is back" all_back
eventually 30 "and host info through the broker has all three up" cloud_has_all
# What the monitors sent to the group is not sent again to the stream: a tail after the
# broker's return has each host's samples once each.
out=$(timeout 60 "$MK_SRC/deploy/cluster.sh" exec -d "$dir" 2 maekinsh metrics tail --count 12 \
    --output json) || fail "metrics tail after the broker's return: $out"
pairs=$(grep -oE '"(host|time_ms)": *"?[^",]+' <<<"$out" | paste - - | sort)
[ "$(wc -l <<<"$pairs")" -eq 12 ] && [ -z "$(uniq -d <<<"$pairs")" ] \
    || fail "12 samples, each once, expected: $pairs"
ok "the stream resumes with nothing duplicated: 12 samples, 12 (host, time) pairs"

# The broker's node cut off (its link down: nothing is closed): with the controller
# subscribed, the samples of nodes 2 and 3 go unacknowledged and the kernel ends their
# connections; with nobody subscribed, no sample is sent and TCP's keepalive finds it.
# Either way they fall back to the group, where they hear each other; with the link
# back, their streams are back.
said() { grep -c "$1" "$dir/logs/monitor$2.log"; }
both_said() { # what count2 count3
    [ "$(said "$1" 2)" -gt "$2" ] && [ "$(said "$1" 3)" -gt "$3" ]
}
hear_each_other() {
    local node
    for node in 2 3; do
        on $node maekinsh host info --local --output json | python3 -c '
import json, sys
hosts = {h["name"]: h for h in json.load(sys.stdin)["hosts"]}
other = hosts.get(sys.argv[1])
sys.exit(0 if other and other["heard_via"] == "multicast" and other["sampled"] > int(sys.argv[2])
         else 1)' "node$((5 - node))" "$down_ms" || return 1
    done
}
cut_off() { # how
    local away2 away3 back2 back3
    away2=$(said "unreachable for" 2) away3=$(said "unreachable for" 3)
    back2=$(said "stream is back" 2) back3=$(said "stream is back" 3)
    down_ms=$(date +%s%3N)
    cluster link -d "$dir" 1 down || fail "node 1's link would not go down"
    eventually 60 "node 1 cut off ($1): nodes 2 and 3 take the broker to be away" \
        both_said "unreachable for" "$away2" "$away3"
    eventually 30 "and hear each other over multicast" hear_each_other
    cluster link -d "$dir" 1 up || fail "node 1's link would not come up"
    eventually 60 "with the link back, their streams are back" \
        both_said "stream is back" "$back2" "$back3"
}
cut_off "samples in flight"
cluster down -d "$dir" controller || fail "the controller would not stop"
cut_off "nobody subscribed"
cluster up -d "$dir" controller || fail "the controller would not start again"

# Each monitor says at exit what it dropped: every kind was seen by every monitor.
cluster stop -d "$dir" || fail "stop"
for n in 1 2 3; do
    line=$(grep "multicast: .* datagrams sent" "$dir/logs/monitor$n.log") \
        || fail "monitor $n said nothing of multicast at exit"
    for kind in malformed truncated foreign replayed unsigned forged; do
        grep -qE "$kind [1-9]" <<<"$line" || fail "monitor $n counted no $kind datagram: $line"
    done
done
ok "every monitor dropped and counted the malformed, truncated, foreign, replayed, unsigned and forged datagrams"

#!/bin/bash
# Monitors without the broker (deploy/cluster.sh, three nodes in namespaces): with the
# broker up each monitor hears its own samples come back on the stream and the cloud
# answers host info for all; with it stopped the monitors
# send to the multicast group and hear each other, so `host info --local` answers on
# every node, and `host info` falls back to it; garbage, truncated, foreign and replayed
# datagrams on the group are dropped and counted while the monitors go on; with the
# broker back the views come through the stream again.
. "$(dirname "$0")/lib.bash"

dir=$T/cluster
cluster() { "$MK_SRC/deploy/cluster.sh" "$@"; }
trap 'rc=$?; cluster stop -d "$dir" >/dev/null 2>&1; cleanup $rc' EXIT
on() { local node=$1; shift; cluster exec -d "$dir" "$node" "$@"; }
# Each node's view has its own host, up, heard through the stream (a monitor hears only
# its own hosts' topics there: the echo that says the broker is there).
own_heard_via_stream() {
    local node out
    for node in 1 2 3; do
        out=$(on $node maekinsh host info --local 2>&1) || return 1
        grep -qE "^node$node +up .* stream " <<<"$out" || return 1
    done
}
# The cloud, through the broker, has all three up.
cloud_has_all() {
    [ "$(on 2 maekinsh host info 2>/dev/null | grep -cE '^node[123] +up ')" -eq 3 ]
}
# Every node's view names all three hosts, up, heard via $1.
all_heard_via() {
    local node out
    for node in 1 2 3; do
        out=$(on $node maekinsh host info --local 2>&1) || return 1
        [ "$(grep -cE "^node[123] +up .* $1 " <<<"$out")" -eq 3 ] || return 1
    done
}

out=$(cluster start -n 3 -d "$dir" -b "$MK_BUILD" -i 300 2>&1) || fail "start: $out"
eventually 60 "every node hears its own host through the broker's stream" own_heard_via_stream
eventually 30 "host info through the broker: all three up" cloud_has_all

cluster down -d "$dir" broker || fail "the broker would not stop"
eventually 60 "with the broker stopped, every node hears all three over multicast" \
    all_heard_via multicast
out=$(on 3 maekinsh --timeout-ms 500 host info 2>"$T/err") || fail "host info: $out $(cat "$T/err")"
grep -q "asking this node's monitor" "$T/err" && [ "$(grep -c '^node[123] ' <<<"$out")" -eq 3 ] \
    || fail "host info without the broker: $out $(cat "$T/err")"
ok "host info without the broker answers from this node's monitor"

# From node 3, on the group: one real datagram heard, then sent back as it was (a replay),
# cut short, with another cloud's id, and bytes that are no datagram at all.
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
for d in (real, real[:len(real) // 2], foreign, b"garbage on the group"):
    s.sendto(d, (group, port))
print(len(real), int(time.time() * 1000))  # the size, and when the last was sent
PY
read -r size sent_ms < <(on 3 python3 "$T/inject.py") && [ -n "$sent_ms" ] \
    || fail "the datagrams could not be sent"
ok "a real datagram of $size bytes replayed, cut, made foreign, and garbage sent to the group"
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
eventually 60 "with the broker back, every node hears its own through the stream again" \
    own_heard_via_stream
eventually 30 "and host info through the broker has all three up" cloud_has_all
# What the monitors sent to the group is not sent again to the stream: a tail after the
# broker's return has each host's samples once each.
out=$(timeout 60 "$MK_SRC/deploy/cluster.sh" exec -d "$dir" 2 maekinsh metrics tail --count 12 \
    --output json) || fail "metrics tail after the broker's return: $out"
pairs=$(grep -oE '"(host|time_ms)": *"?[^",]+' <<<"$out" | paste - - | sort)
[ "$(wc -l <<<"$pairs")" -eq 12 ] && [ -z "$(uniq -d <<<"$pairs")" ] \
    || fail "12 samples, each once, expected: $pairs"
ok "the stream resumes with nothing duplicated: 12 samples, 12 (host, time) pairs"

# Each monitor says at exit what it dropped: every kind was seen by every monitor.
cluster stop -d "$dir" || fail "stop"
for n in 1 2 3; do
    line=$(grep "multicast: .* datagrams sent" "$dir/logs/monitor$n.log") \
        || fail "monitor $n said nothing of multicast at exit"
    for kind in malformed truncated foreign replayed; do
        grep -qE "$kind [1-9]" <<<"$line" || fail "monitor $n counted no $kind datagram: $line"
    done
done
ok "every monitor dropped and counted the malformed, truncated, foreign and replayed datagrams"

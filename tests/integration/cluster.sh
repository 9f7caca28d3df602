#!/bin/bash
# deploy/cluster.sh: three nodes in network namespaces on a bridge, each with its own
# hostname; the broker and the controller on node 1 hear every node's agent and monitor
# across the bridge; status names every process; bad arguments are refused with one
# line; stop leaves no process and no namespace behind.
. "$(dirname "$0")/lib.bash"

dir=$T/cluster
cluster() { "$MK_SRC/deploy/cluster.sh" "$@"; }
trap 'rc=$?; cluster stop -d "$dir" >/dev/null 2>&1; cleanup $rc' EXIT

out=$(cluster start -n 0 -d "$dir" -b "$MK_BUILD" 2>&1) && fail "0 nodes started: $out"
grep -q "from 1 to 200, not '0'" <<<"$out" || fail "0 nodes: $out"
out=$(cluster frobnicate -d "$dir" 2>&1) && fail "an unknown command ran: $out"
grep -q "unknown command 'frobnicate'" <<<"$out" || fail "unknown command: $out"
ok "bad arguments are refused with one line"

out=$(cluster start -n 3 -d "$dir" -b "$MK_BUILD" 2>&1) || fail "start: $out"
ok "three nodes started, every host up: $(tail -n 2 <<<"$out" | head -n 1)"
out=$(cluster start -n 3 -d "$dir" -b "$MK_BUILD" 2>&1) && fail "started twice: $out"
grep -q "runs from .* already" <<<"$out" || fail "started twice: $out"
ok "a second start in the same directory is refused"

out=$(cluster status -d "$dir") || fail "status: $out"
[ "$(grep -c ': running (pid' <<<"$out")" -eq 8 ] || fail "8 processes expected running: $out"
[ "$(grep -cE '^node[123] +up ' <<<"$out")" -eq 3 ] || fail "3 hosts expected up: $out"
ok "status: broker, controller, 3 agents and 3 monitors running, 3 hosts up"

[ "$(cluster exec -d "$dir" 2 hostname)" = node2 ] || fail "node 2 is not named node2"
[ "$(hostname)" != node2 ] || fail "the machine was renamed"
addr=$(cluster exec -d "$dir" 3 ip -4 -o addr show dev eth0) || fail "no eth0 on node 3"
grep -q "10.88.0.3/24" <<<"$addr" || fail "node 3's address: $addr"
ok "each node its own hostname and address; the machine's name untouched"

out=$(timeout 60 "$MK_SRC/deploy/cluster.sh" exec -d "$dir" 2 maekinsh metrics tail --count 9) \
    || fail "metrics tail on node 2: $out"
for n in node1 node2 node3; do
    grep -q "  $n  cpu " <<<"$out" || fail "no sample of $n in: $out"
done
ok "every node's monitor reaches metrics tail on node 2 through the broker on node 1"

out=$(cluster exec -d "$dir" 9 hostname 2>&1) && fail "node 9 ran: $out"
grep -q "no node 9" <<<"$out" || fail "node 9: $out"
ok "exec on a node that is not there is refused"

prefix=$(sed -n 's/^cluster of 3 nodes from .* (namespaces \(mk[0-9a-f]*\)-\*)$/\1/p' \
    <<<"$(cluster status -d "$dir")")
[ -n "$prefix" ] || fail "status names no namespaces"
pids=$(awk '{ print $1 }' "$dir/pids")
cluster stop -d "$dir" || fail "stop failed"
for p in $pids; do kill -0 "$p" 2>/dev/null && fail "process $p still runs after stop"; done
ip netns list | grep -q "^$prefix-" && fail "namespaces left: $(ip netns list | grep "^$prefix-")"
out=$(cluster status -d "$dir") && fail "status after stop: $out"
ok "stop: no process and no namespace left"

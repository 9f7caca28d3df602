# tests/bench/keys.bash: the bus's keys for a benchmark's cloud, sourced by run.sh and
# scale.sh (after they set $build and $T). The bus is CURVE, as a cloud's is, unless
# PLAIN is set (the baseline of what encryption costs). Every program has its key pair
# in $keys; maekinsh and the benches' own clients use maekinsh's (their configuration
# file, and $MAEKIN_BUS_KEY).
keys=$T/keys
export MAEKINSH_CONFIG=$T/maekinsh.cfg

# bench_keys NAME...: a key pair for each (made once).
bench_keys() {
    local name
    for name; do
        [ -f "$keys/$name.key_secret" ] || "$build/maekinsh" admin keygen "$keys" "$name" >/dev/null \
            || { echo "bench: cannot make the key pair $name" >&2; exit 1; }
    done
}
# bus_opts NAME: the options of a program with the key pair NAME, or of a plain bus.
bus_opts() {
    [ -n "${PLAIN:-}" ] && echo "--bus-security=none" && return
    echo "--bus-key=$keys/$1.key_secret --bus-broker_key=$keys/broker.key"
}
# broker_opts, controller_opts: theirs.
broker_opts() {
    [ -n "${PLAIN:-}" ] && echo "--bus-security=none" && return
    echo "--bus-key=$keys/broker.key_secret --bus-controller_key=$keys/controller.key"
}
controller_opts() {
    bus_opts controller
    [ -n "${PLAIN:-}" ] || echo "--bus-client_key=$keys/maekinsh.key"
}
# bench_clients: maekinsh and the benches reach this bus (CURVE or plain, as PLAIN says).
bench_clients() {
    if [ -n "${PLAIN:-}" ]; then
        printf 'bus\n    security = none\n' >"$MAEKINSH_CONFIG"
        unset MAEKIN_BUS_KEY MAEKIN_BROKER_KEY
    else
        printf 'bus\n    key = "%s"\n    broker_key = "%s"\n' "$keys/maekinsh.key_secret" \
            "$keys/broker.key" >"$MAEKINSH_CONFIG"
        export MAEKIN_BUS_KEY=$keys/maekinsh.key_secret MAEKIN_BROKER_KEY=$keys/broker.key
    fi
}
# admit NAME HOSTS: the node key NAME for those hosts (comma-separated), on a CURVE bus.
admit() {
    [ -n "${PLAIN:-}" ] && return
    "$build/maekinsh" --bus-endpoint="$bus" key admit "$1" "$keys/$1.key" --role node --hosts "$2" \
        >/dev/null || { echo "bench: cannot admit the key $1" >&2; exit 1; }
}
# mcast_opts: a monitor's multicast key (its datagrams signed), or none on a plain bus.
mcast_opts() { [ -n "${PLAIN:-}" ] || echo "--multicast-key=$keys/multicast.key"; }
bench_keys broker controller maekinsh
[ -f "$keys/multicast.key" ] || "$build/maekinsh" admin secret "$keys/multicast.key" >/dev/null \
    || { echo "bench: cannot make the multicast key" >&2; exit 1; }

#!/bin/bash
# make run: a whole Maekin cloud on this machine, in the foreground. The broker, the
# controller (SQLite in var/), three agents, each driving its own simulated host on
# libvirt's test driver (node1..node3, of different sizes), a monitor, and the gateway
# (the REST API on http://127.0.0.1:8080/). Ctrl-C stops everything.
#   MAEKIN_PORT   first of the three bus ports (default 7010)
#   MAEKIN_HTTP   the gateway's port (default 8080)
#   MAEKIN_TLS    1: the gateway serves HTTPS with a self-signed certificate made once
#                 in $MAEKIN_VAR/gateway.pem (openssl)
#   MAEKIN_VAR    state directory (default ./var)
set -u
cd "$(dirname "$0")/.."
build=${MAEKIN_BUILD:-build}
var=$(mkdir -p "${MAEKIN_VAR:-var}" && cd "${MAEKIN_VAR:-var}" && pwd)
port=${MAEKIN_PORT:-7010}
bus=tcp://127.0.0.1:$port
stream_in=tcp://127.0.0.1:$((port + 1))
stream_out=tcp://127.0.0.1:$((port + 2))
http=${MAEKIN_HTTP:-8080}

for program in maekin-broker maekin-controller maekin-agent maekin-monitor maekin-gateway maekinsh; do
    [ -x "$build/$program" ] || { echo "run: $build/$program is missing; run 'make' first" >&2; exit 1; }
done
for p in $port $((port + 1)) $((port + 2)) $http; do
    if (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then
        echo "run: port $p is in use (another 'make run'?); stop it or set MAEKIN_PORT (the bus) or MAEKIN_HTTP (the gateway)" >&2
        exit 1
    fi
done

mkdir -p "$var/nodes" "$var/consoles"
# Three hosts of different sizes: CPUs and memory in MiB.
hosts=""
for spec in "node1 4 8192" "node2 8 16384" "node3 16 32768"; do
    set -- $spec
    [ -f "$var/nodes/$1.xml" ] || deploy/make-node.sh "$1" "$2" "$3" > "$var/nodes/$1.xml"
    hosts="$hosts $1"
done
# The bus is CURVE: a key pair for each program, made once and kept in $var/keys. The
# broker knows the controller's public key; the controller admits maekinsh's at its
# first start, and the agents' and the monitor's once the administrator is logged in.
keys=$var/keys
for name in broker controller maekinsh monitor gateway $hosts; do
    [ -f "$keys/$name.key_secret" ] || "$build/maekinsh" admin keygen "$keys" "$name" >/dev/null \
        || { echo "run: cannot make the key pair $name in $keys" >&2; exit 1; }
done
[ -f "$keys/multicast.key" ] || "$build/maekinsh" admin secret "$keys/multicast.key" >/dev/null \
    || { echo "run: cannot make the multicast key in $keys" >&2; exit 1; }
keyed() { echo "--bus-key=$keys/$1.key_secret --bus-broker_key=$keys/broker.key"; }
# Every maekinsh below (and login-admin.sh's) with this cloud's file, its keys in it.
export MAEKINSH_CONFIG=$var/maekinsh.cfg
cat > "$var/maekinsh.cfg" <<CFG
# Written by 'make run': how maekinsh finds this cloud.
bus
    endpoint = $bus
    stream_out = $stream_out
    key = "$keys/maekinsh.key_secret"
    broker_key = "$keys/broker.key"
db
    url = "sqlite:$var/maekin.db"
CFG

pids=()
stop() {
    trap - INT TERM EXIT
    echo
    echo "run: stopping"
    [ ${#pids[@]} -gt 0 ] && kill -TERM "${pids[@]}" 2>/dev/null
    wait
    exit 0
}
trap stop INT TERM EXIT

"$build/maekin-broker" --bus-endpoint="$bus" --bus-stream_in="$stream_in" \
    --bus-stream_out="$stream_out" --bus-key="$keys/broker.key_secret" \
    --bus-controller_key="$keys/controller.key" &
pids+=($!)
"$build/maekin-controller" --bus-endpoint="$bus" --bus-stream_in="$stream_in" --bus-stream_out="$stream_out" \
    --db-url="sqlite:$var/maekin.db" --auth-admin_password_file="$var/admin-password" \
    $(keyed controller) --bus-client_key="$keys/maekinsh.key" --enrol-multicast_key="$keys/multicast.key" &
pids+=($!)
# maekinsh logs in as the administrator (the token kept in ~/.config/maekin/tokens), with
# the password the controller made at its first start.
if deploy/login-admin.sh "$build" "$bus" "$var/admin-password" >/dev/null 2>"$var/login.err"; then
    login="maekinsh is logged in as admin; its first password is in $var/admin-password
(change it with 'build/maekinsh user passwd admin')."
else
    login="maekinsh could not log in as admin ($(tail -n 1 "$var/login.err"));
log in with 'build/maekinsh login admin'."
fi
sh="$build/maekinsh --bus-endpoint=$bus"
# admit NAME HOSTS: the node key NAME for those hosts (once: it stays on the list).
admit() {
    $sh key list "$1" 2>/dev/null | grep -q "$1" && return
    $sh key admit "$1" "$keys/$1.key" --role node --hosts "$2" >/dev/null \
        || echo "run: could not admit the key $1; see 'build/maekinsh key list'" >&2
}
for host in $hosts; do
    admit "$host" "$host"
    "$build/maekin-agent" --bus-endpoint="$bus" --agent-hosts="$host=test://$var/nodes/$host.xml" \
        --agent-domain_type=test --agent-console_dir="$var/consoles" $(keyed "$host") &
    pids+=($!)
done
# The gateway, with its own key, a client's.
$sh key list gateway 2>/dev/null | grep -q gateway \
    || $sh key admit gateway "$keys/gateway.key" --role client >/dev/null \
    || echo "run: could not admit the gateway's key; see 'build/maekinsh key list'" >&2
scheme=http tls=""
if [ "${MAEKIN_TLS:-0}" = 1 ]; then
    if [ ! -f "$var/gateway.pem" ]; then
        openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj /CN=127.0.0.1 \
            -addext subjectAltName=IP:127.0.0.1,DNS:localhost -keyout "$var/gateway.key" \
            -out "$var/gateway.crt" 2>/dev/null \
            && cat "$var/gateway.crt" "$var/gateway.key" > "$var/gateway.pem" \
            && chmod 600 "$var/gateway.pem" "$var/gateway.key" \
            || { echo "run: cannot make a certificate with openssl" >&2; exit 1; }
    fi
    scheme=https tls="--gateway-certificate=$var/gateway.pem"
fi
"$build/maekin-gateway" --bus-endpoint="$bus" --bus-stream_out="$stream_out" $tls \
    --gateway-listen="127.0.0.1:$http" $(keyed gateway) &
pids+=($!)
# One monitor for the simulated hosts: each its own synthetic load (they share this
# machine's /proc, as the test driver's domains share no real hypervisor).
monitored="" load=15
for host in $hosts; do
    monitored="$monitored${monitored:+,}$host=synthetic:$load:$((load + 20))"
    load=$((load + 25))
done
admit monitor "$(tr ' ' ',' <<<"${hosts# }")"
"$build/maekin-monitor" --bus-stream_in="$stream_in" $(keyed monitor) \
    --multicast-key="$keys/multicast.key" \
    --multicast-interface=127.0.0.1 \
    --monitor-hosts="$monitored" &
pids+=($!)

for i in $(seq 50); do
    $sh host list >/dev/null 2>&1 && [ "$($sh host list --state up 2>/dev/null | tail -n +2 | wc -l)" -ge 3 ] && break
    sleep 0.2
done
$sh template show tiny >/dev/null 2>&1 || $sh template create tiny --vcpus 1 --memory 64 >/dev/null
$sh template show small >/dev/null 2>&1 || $sh template create small --vcpus 2 --memory 512 >/dev/null

cat <<TEXT

Maekin is running: broker at $bus, controller with its database in $var/maekin.db,
agents for$hosts on libvirt's test driver, and a monitor publishing their (synthetic)
metrics every 5 s. The bus is CURVE: each program's key pair is in $keys
('build/maekinsh key list' shows the keys the broker lets in).

The dashboard: $scheme://127.0.0.1:$http/ (log in as admin, with the password in
$var/admin-password: $(cat "$var/admin-password" 2>/dev/null)).

The REST API: $scheme://127.0.0.1:$http/api/v1/ (JSON, or XML with 'Accept: application/xml';
its description at /api/v1/openapi.json$([ $scheme = https ] && echo "; the certificate is $var/gateway.crt, give curl --cacert")).
Log in as admin with the password in $var/admin-password:

    curl -s -X POST $scheme://127.0.0.1:$http/api/v1/session -H 'Content-Type: application/json' \\
        --data "{\"user\": \"admin\", \"password\": \"\$(cat $var/admin-password)\"}"
    curl -s $scheme://127.0.0.1:$http/api/v1/vms -H "Authorization: Bearer TOKEN"

$login

In another terminal, from this directory:

    build/maekinsh whoami
    build/maekinsh host list
    build/maekinsh template list
    build/maekinsh vm create web-1 --template tiny --wait
    build/maekinsh vm list
    build/maekinsh vm stop web-1 --wait
    build/maekinsh task list
    build/maekinsh metrics tail --count 6
    build/maekinsh host info --local
    build/maekinsh --help

Ctrl-C stops the cloud; its state stays in $var for the next 'make run'.

TEXT
wait

#!/bin/bash
# GET /metrics for Prometheus: refused without an administrator's credential, read with
# a read-only API key of the administrator's (or open, with the gateway's own key
# file), clean under `promtool check metrics`, and scraped by a real Prometheus (both
# from Debian's prometheus package, unpacked rather than installed: installing it starts
# a server on :9090), whose queries then see the cloud's hosts, VMs and tasks.
set -u
. "$(dirname "$0")/lib.bash"

# promtool and prometheus, unpacked once into the build directory.
PROM=$MK_BUILD/tools/prometheus
if [ ! -x "$PROM/usr/bin/prometheus" ]; then
    mkdir -p "$PROM" && cd "$PROM" || fail "cannot make $PROM"
    apt-get download prometheus >"$T/apt.log" 2>&1 \
        || { apt-get update -qq >>"$T/apt.log" 2>&1 && apt-get download prometheus >>"$T/apt.log" 2>&1; } \
        || fail "cannot download Debian's prometheus package: $(tail -n 3 "$T/apt.log")"
    dpkg-deb -x prometheus_*.deb . && rm -f prometheus_*.deb || fail "cannot unpack prometheus"
    cd - >/dev/null
fi
ok "promtool and prometheus $("$PROM/usr/bin/prometheus" --version 2>&1 | head -n 1 | awk '{print $3}')"

HTTP_PORT=$(free_port)
OPEN_PORT=$(free_port)
PROM_PORT=$(free_port)
start_broker
start_controller
eventually 30 "the controller writes the first administrator's password" test -s "$T/admin-password"
start_gateway gateway $HTTP_PORT
start_agent node1 "$(node node1 8 16384)"
eventually 30 "node1 comes up" is host node1 state up
expect_ok "a template" sh template create tiny --vcpus 1 --memory 64

# The scraper's key: read-only, the administrator's. Another user's is refused.
sh apikey create scraper --read-only >"$T/key.out" 2>&1 || fail "apikey create: $(cat "$T/key.out")"
grep -o 'mka_[A-Za-z0-9_-]*' "$T/key.out" | head -n 1 > "$T/scraper.key"
chmod 600 "$T/scraper.key"
[ "$(wc -c <"$T/scraper.key")" -eq 48 ] || fail "no key in $(cat "$T/key.out")"
expect_ok "a user who is not the administrator" sh user create ann --password-file <(echo ann-password)
XDG_CONFIG_HOME=$T/ann "$MK_BUILD/maekinsh" --bus-endpoint=$BUS login ann --password-file <(echo ann-password) >/dev/null \
    || fail "ann cannot log in"
ANN=$(awk -v e="$BUS" '$1 == e { print $2 }' "$T/ann/maekin/tokens")
M=http://127.0.0.1:$HTTP_PORT/metrics
code() { curl -s -o "$T/metrics.txt" -w '%{http_code}' "$@"; }
[ "$(code "$M")" = 401 ] || fail "/metrics without a credential: $(cat "$T/metrics.txt")"
ok "/metrics without a credential: 401"
[ "$(code "$M" -H "Authorization: Bearer $ANN")" = 403 ] || fail "/metrics as ann: $(cat "$T/metrics.txt")"
grep -q administrator "$T/metrics.txt" || fail "ann's refusal says $(cat "$T/metrics.txt")"
ok "/metrics as a user who is not the administrator: 403"
[ "$(code -X POST "$M" -H "Authorization: Bearer $(cat "$T/scraper.key")")" = 405 ] || fail "POST /metrics"
ok "POST /metrics: 405"
[ "$(code "$M" -H "Authorization: Bearer $(cat "$T/scraper.key")")" = 200 ] || fail "/metrics with the key: $(cat "$T/metrics.txt")"
grep -q '^maekin_hosts{state="up"} 1$' "$T/metrics.txt" || fail "no host up in $(head -n 20 "$T/metrics.txt")"
ok "/metrics with the administrator's read-only key"
out=$("$PROM/usr/bin/promtool" check metrics <"$T/metrics.txt" 2>&1) || fail "promtool: $out"
ok "promtool check metrics: clean"

# Open: a gateway with a key file of its own answers anyone.
start_gateway gateway-open $OPEN_PORT --gateway-metrics_key_file="$T/scraper.key"
eventually 30 "an open gateway's /metrics needs no credential" \
    bash -c "curl -sf http://127.0.0.1:$OPEN_PORT/metrics | grep -q '^maekin_hosts{state=\"up\"} 1$'"
chmod 644 "$T/scraper.key"
out=$("$MK_BUILD/maekin-gateway" --bus-endpoint=$BUS $(bus_opts gateway) --gateway-metrics_key_file="$T/scraper.key" -n 2>&1) \
    && fail "a key file others may read was taken"
grep -q "chmod 600" <<<"$out" || fail "the refusal says: $out"
ok "a key file others may read is refused: $out"
chmod 600 "$T/scraper.key"

# Work for the figures: two VMs created.
for vm in web-1 web-2; do expect_ok "$vm is created" sh vm create "$vm" --template tiny --wait; done

# A real Prometheus scrapes the gateway every second with the key.
cat > "$T/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: maekin
    authorization:
      credentials_file: $T/scraper.key
    static_configs:
      - targets: ['127.0.0.1:$HTTP_PORT']
YML
start prometheus "$PROM/usr/bin/prometheus" --config.file="$T/prometheus.yml" \
    --storage.tsdb.path="$T/prom-data" --web.listen-address=127.0.0.1:$PROM_PORT
# query EXPR: the value of an instant query's first result, or nothing.
query() {
    curl -s --max-time 5 "http://127.0.0.1:$PROM_PORT/api/v1/query" --data-urlencode "query=$1" \
        | python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "")'
}
# is EXPR VALUE: the query answers VALUE now.
is_now() { [ "$(query "$1")" = "$2" ]; }
eventually 60 "Prometheus scrapes the gateway (up == 1)" is_now 'up{job="maekin"}' 1
eventually 60 "Prometheus sees node1 up" is_now 'maekin_hosts{state="up"}' 1
eventually 60 "... two VMs running" is_now 'maekin_vms{state="running"}' 2
eventually 60 "... two create tasks done, timed" is_now 'maekin_task_latency_seconds_count' 2
eventually 60 "... both within 10 s" is_now 'maekin_task_latency_seconds_bucket{le="10"}' 2
eventually 60 "... node1's CPUs" is_now 'maekin_host_cpus{host="node1"}' 8

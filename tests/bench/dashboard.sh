#!/bin/bash
# The dashboard in Debian's Chromium (playwright-core), against an optimised build with
# 1,000 VMs on 100 hosts (tests/bench/gateway-cloud.bash): the time from navigation to
# the performance mark the page sets once the VM list's data is drawn, and the same for
# the overview (median and worst of REPEAT loads each, the browser's cache warm, as a
# person's second visit); and the bytes of script and style a cold load downloads,
# gzip-compressed as the gateway serves them. Targets: each view within 1 s; under
# 300 KB on a cold load.
# usage: tests/bench/dashboard.sh BUILD_DIR  (environment: HOSTS=100 AGENTS=2 REPEAT=5)
set -u
build=$(cd "${1:-build}" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
hosts=${HOSTS:-100}
agents=${AGENTS:-2}
what="dashboard bench"
"$src/deploy/deps.sh" "$src/tests/web/packages.txt" || { echo "$what: cannot install Chromium"; exit 1; }
[ -r /etc/ssl/certs/ca-certificates.crt ] && export NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
(cd "$src/tests/web" && npm ci --no-audit --no-fund --loglevel=error) >/dev/null \
    || { echo "$what: npm ci in tests/web failed"; exit 1; }
[ -s "$build/web/index.html" ] || { echo "$what: no dashboard built in $build/web (make web)"; exit 1; }
. "$src/tests/bench/gateway-cloud.bash"
echo "== dashboard: Chromium, 1,000 VMs on $hosts hosts, an optimised build"
node "$src/tests/web/bench.mjs" "http://127.0.0.1:$http" "$(cat "$T/admin-password")" "${REPEAT:-5}" \
    || { echo "$what: the browser failed"; exit 1; }

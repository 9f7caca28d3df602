#!/bin/bash
# The dashboard (web/) in a real browser: Debian's Chromium driven by playwright-core
# (tests/web/dashboard.mjs), against the cloud's programs on free ports: the broker, the
# controller, two hosts on libvirt's test driver, a monitor and the gateway serving the
# built dashboard. Log in; create a VM from a template and watch it reach running; stop
# it; a live chart moves; a create over the VI's quota shows the reason; the VM list with
# 1,000 VMs draws and filters; a drag onto another host is refused with the reason; a
# viewer is offered no action and a forged one is refused by the API; no console error
# on any page but the refusals asked for. Screenshots of each view: build/screenshots/.
set -u
. "$(dirname "$0")/lib.bash"

# Chromium, Node.js and playwright-core (from the lockfile); the dashboard built.
"$MK_SRC/deploy/deps.sh" "$MK_SRC/tests/web/packages.txt" || fail "cannot install Chromium"
command -v npm >/dev/null || "$MK_SRC/deploy/deps.sh" "$MK_SRC/tests/node-packages.txt" \
    || fail "cannot install Node.js and npm"
cafile=/etc/ssl/certs/ca-certificates.crt
[ -r "$cafile" ] && export NODE_EXTRA_CA_CERTS=$cafile
(cd "$MK_SRC/tests/web" && npm ci --no-audit --no-fund --loglevel=error) >"$T/npm.log" 2>&1 \
    || fail "npm ci in tests/web failed: $(tail -n 5 "$T/npm.log")"
make -s -C "$MK_SRC" web >"$T/web.log" 2>&1 || fail "make web: $(tail -n 5 "$T/web.log")"
[ -s "$MK_SRC/build/web/index.html" ] || fail "make web made no build/web/index.html"

HTTP_PORT=$(free_port)
start_broker
start_controller
eventually 30 "the controller writes the first administrator's password" test -s "$T/admin-password"
start_gateway gateway $HTTP_PORT --bus-stream_out=$STREAM_OUT --gateway-web_root="$MK_SRC/build/web"
start_agent node1 "$(node node1 8 16384)"
start_agent big "$(node big 1024 262144)"
start monitor "$MK_BUILD/maekin-monitor" --bus-stream_in=$STREAM_IN $(monitor_opts monitor node1) \
    --multicast-interface=127.0.0.1 --monitor-hosts="node1=synthetic:30:40:2" --monitor-interval_ms=300
eventually 30 "node1 comes up" is host node1 state up
eventually 30 "big comes up" is host big state up
eventually 30 "the gateway serves the dashboard" curl -sf -o /dev/null --max-time 2 "http://127.0.0.1:$HTTP_PORT/"

# The files as HTTP serves them: compressed to who takes gzip, the same bytes as the build
# either way; the page revalidated, the hashed assets cached for good; 304 on a tag that
# still holds; only GET and HEAD; nothing but the built files.
WEB=http://127.0.0.1:$HTTP_PORT
get() { curl -s -D "$T/headers" -o "$T/body" -w '%{http_code}' "$@"; }
header() { tr -d '\r' <"$T/headers" | awk -v h="$1" 'tolower($1) == tolower(h) ":" { sub(/^[^:]*: /, ""); print; exit }'; }
[ "$(get "$WEB/")" = 200 ] && cmp -s "$T/body" "$MK_SRC/build/web/index.html" \
    || fail "GET / is not build/web/index.html"
[ -z "$(header Content-Encoding)" ] || fail "plain asked, $(header Content-Encoding) sent"
grep -q "script-src 'self'" <<<"$(header Content-Security-Policy)" \
    || fail "the page's CSP: $(header Content-Security-Policy)"
[ "$(header Cache-Control)" = no-cache ] || fail "the page's Cache-Control: $(header Cache-Control)"
[ "$(get "$WEB/" -H "If-None-Match: $(header ETag)")" = 304 ] || fail "the page again with its tag: not 304"
script=$(grep -o '/assets/main-[A-Z0-9]*\.js' "$T/body")
[ -n "$script" ] || fail "the page names no script"
[ "$(get "$WEB$script" -H 'Accept-Encoding: gzip, br')" = 200 ] || fail "GET $script"
[ "$(header Content-Encoding)" = gzip ] && [ "$(header Vary)" = Accept-Encoding ] \
    || fail "the script is not sent compressed: $(cat "$T/headers")"
gunzip -c "$T/body" | cmp -s - "$MK_SRC/build/web$script" || fail "the compressed script is not the script"
grep -q immutable <<<"$(header Cache-Control)" || fail "the script's Cache-Control: $(header Cache-Control)"
etag=$(header ETag)
[ "$(get "$WEB$script" -H 'Accept-Encoding: gzip' -H "If-None-Match: $etag")" = 304 ] \
    || fail "the script again with its tag: not 304"
[ "$(get "$WEB$script" -H "If-None-Match: $etag")" = 200 ] || fail "the plain script with the compressed one's tag: not 200"
[ "$(get -I "$WEB/")" = 200 ] && [ "$(header Content-Length)" = "$(stat -c %s "$MK_SRC/build/web/index.html")" ] \
    || fail "HEAD /: $(cat "$T/headers")"
[ "$(get -X POST "$WEB/")" = 405 ] && [ "$(header Allow)" = "GET, HEAD" ] || fail "POST / is not 405"
[ "$(get "$WEB/assets/nothing.js")" = 404 ] || fail "a file not built is not 404"
[ "$(get --path-as-is "$WEB/assets/../../../etc/passwd")" = 404 ] || fail "a path out of the web root is not 404"
[ "$(get "$WEB/api/v1/openapi.json")" = 200 ] || fail "the API is not served beside the dashboard"
ok "the dashboard's files over HTTP: gzip or not, cached, 304, HEAD, 405, 404"

expect_ok "a template" sh template create tiny --vcpus 1 --memory 64
expect_ok "a VI, lab, of one VM at most" sh vi create lab --vms 1
expect_ok "lab may use tiny" sh vi template add lab --template tiny
expect_ok "a user, vera" sh user create vera --password-file <(echo vera-password)
expect_ok "vera views lab" sh vi member add lab --user vera --role viewer

# A thousand VMs in the default VI, made through the gateway on one keep-alive connection.
python3 - "$HTTP_PORT" "$(cat "$T/admin-password")" <<'PY' || fail "the thousand VMs"
import http.client, json, sys
port, password = int(sys.argv[1]), sys.argv[2]
c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
c.request("POST", "/api/v1/session", json.dumps({"user": "admin", "password": password}),
          {"Content-Type": "application/json"})
r = c.getresponse()
token = json.loads(r.read())["token"]
for i in range(1000):
    c.request("POST", "/api/v1/vis/default/vms", json.dumps({"name": f"bulk-{i:04d}", "template": "tiny"}),
              {"Content-Type": "application/json", "Authorization": "Bearer " + token})
    r = c.getresponse()
    body = r.read()
    assert r.status == 202, (i, r.status, body)
PY
ok "a thousand VMs asked for"
running() { [ "$(sh vm list --state running --limit 1000 2>/dev/null | grep -c 'bulk-')" -eq 1000 ]; }
eventually 300 "the thousand VMs run" running

rm -rf "$MK_SRC/build/screenshots"
mkdir -p "$MK_SRC/build/screenshots"
command node "$MK_SRC/tests/web/dashboard.mjs" "http://127.0.0.1:$HTTP_PORT" "$(cat "$T/admin-password")" \
    vera-password "$MK_SRC/build/screenshots" >"$T/browser.log" 2>&1
rc=$?
sed 's/^/  browser: /' "$T/browser.log" >&2
[ $rc -eq 0 ] || fail "the dashboard in Chromium (screenshots in build/screenshots)"
checks=$((checks + $(grep -c '^ok ' "$T/browser.log")))
ok "the dashboard in Chromium"

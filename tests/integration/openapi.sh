#!/bin/bash
# The gateway's OpenAPI description, checked three ways: by an OpenAPI 3 validator from
# npm (@apidevtools/swagger-parser: Debian has none for version 3), against what the
# running gateway serves (every path and method in it is served; on each path, every
# other method is 405 with exactly the description's methods in Allow), and a path it
# does not describe is 404.
set -u
. "$(dirname "$0")/lib.bash"

# Node.js and the validator, from the lockfile.
command -v npm >/dev/null || "$MK_SRC/deploy/deps.sh" "$MK_SRC/tests/node-packages.txt" \
    || fail "cannot install Node.js and npm"
# npm trusts the system's certificates too (a registry reached through a proxy that the
# machine's CA bundle vouches for); the lockfile's hashes check every package's bytes.
cafile=/etc/ssl/certs/ca-certificates.crt
[ -r "$cafile" ] && export NODE_EXTRA_CA_CERTS=$cafile
(cd "$MK_SRC/tests/openapi" && npm ci --no-audit --no-fund --loglevel=error) >"$T/npm.log" 2>&1 \
    || fail "npm ci in tests/openapi failed: $(tail -n 5 "$T/npm.log")$(grep -q CERT "$T/npm.log" \
        && echo " (this machine does not trust the certificate the npm registry is reached with:" \
                "a TLS-intercepting proxy's CA missing from $cafile?)")"

HTTP_PORT=$(free_port)
API=http://127.0.0.1:$HTTP_PORT/api/v1
start_broker
start_controller
eventually 30 "the controller writes the first administrator's password" test -s "$T/admin-password"
start_gateway gateway $HTTP_PORT
eventually 30 "the gateway serves its description" curl -sf -o "$T/openapi.json" --max-time 2 "$API/openapi.json"
out=$(command node "$MK_SRC/tests/openapi/validate.js" "$T/openapi.json" 2>&1) || fail "the validator: $out"
ok "the validator: $out"
TOKEN=$(curl -s -X POST "$API/session" -H 'Content-Type: application/json' \
    --data "{\"user\": \"admin\", \"password\": \"$(cat "$T/admin-password")\"}" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])') || fail "cannot log in"

python3 - "$T/openapi.json" "http://127.0.0.1:$HTTP_PORT" "$TOKEN" <<'PY' || fail "the description and the gateway differ"
import json, sys, urllib.request, urllib.error
doc, base, token = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH"]
GATEWAY_404 = "openapi.json describes every one"

def ask(method, path):
    request = urllib.request.Request(base + path, method=method,
                                     headers={"Authorization": "Bearer " + token, "Accept": "application/json"})
    if method in ("POST", "PUT"):
        request.data = b"{}"
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()

def sample(path):
    out = []
    for segment in path.split("/"):
        if segment.startswith("{"):
            name = segment[1:-1]
            segment = {"uuid": "0b6a1d3e-2c7f-4e55-9a0e-3f1e2d4c5b6a", "id": "999999"}.get(name, "nothing-here")
        out.append(segment)
    return "/".join(out)

served = 0
operations = [(p, m) for p, item in doc["paths"].items() for m in item]
# The logout last: it ends the session every other request uses.
operations.sort(key=lambda o: o == ("/api/v1/session", "delete"))
for path, method in operations:
    status, headers, body = ask(method.upper(), sample(path))
    if status == 405 or (status == 404 and GATEWAY_404.encode() in body):
        sys.exit(f"{method.upper()} {path} is described but not served: {status} {body[:200]}")
    served += 1
print(f"ok: each of the {served} described operations is served")

# Every other method on a described path is 405, and Allow lists the described ones.
for path, item in doc["paths"].items():
    described = sorted(m.upper() for m in item)
    for method in METHODS:
        if method.lower() in item:
            continue
        status, headers, body = ask(method, sample(path))
        allow = sorted(m.strip() for m in headers.get("Allow", "").split(",") if m.strip())
        if status != 405 or allow != described:
            sys.exit(f"{method} {path}: {status}, Allow {allow}; the description has {described}")
print("ok: no path serves a method the description leaves out")

for path in ["/api/v1/volcanoes", "/api/v1/vms/x/y/z", "/api/v1/hosts/a/b", "/api/v2/vms"]:
    status, headers, body = ask("GET", path)
    if status != 404:
        sys.exit(f"{path} is not described but answered {status}")
print("ok: paths it does not describe are 404")
PY
ok "the description is what the gateway serves, both ways"

#!/bin/bash
# The REST gateway over real HTTP (curl), in JSON and XML, against the real controller,
# broker and an agent on libvirt's test driver: login and the session cookie with its
# CSRF token, every kind of resource, a VM's life through its task, paging, idempotent
# retries, ETags, the errors a client can make, and what the gateway refuses at its edge.
set -u
. "$(dirname "$0")/lib.bash"

HTTP_PORT=$(free_port)
API=http://127.0.0.1:$HTTP_PORT/api/v1
start_broker
start_controller
eventually 30 "the controller writes the first administrator's password" test -s "$T/admin-password"
start_gateway gateway $HTTP_PORT --gateway-max_body_kb=64 --gateway-request_timeout_ms=2000
start_agent node1 "$(node node1 8 16384)"
eventually 30 "node1 comes up" is host node1 state up

# call METHOD PATH [curl options...]: the status on the first line, then the body;
# headers in $T/headers.
call() {
    local method=$1 path=$2
    shift 2
    rm -f "$T/body"
    curl -sS -o "$T/body" -D "$T/headers" -w '%{http_code}\n' -X "$method" "$API$path" "$@" \
        && { [ -f "$T/body" ] && cat "$T/body"; true; }
}
status() { call "$@" | head -1; }
body() { call "$@" | tail -n +2; }
header() { tr -d '\r' <"$T/headers" | awk -v h="$1" 'tolower($1) == tolower(h) ":" { sub(/^[^:]*: /, ""); print; exit }'; }
json() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1], {"d": d}))' "$1"; }
# expect_status DESCRIPTION STATUS METHOD PATH [curl options]: the answer's status.
expect_status() {
    local what=$1 want=$2 got
    shift 2
    got=$(status "$@") || fail "$what: curl failed"
    [ "$got" = "$want" ] || fail "$what: $* answered $got, not $want: $(cat "$T/body")"
    ok "$what"
}
# expect_error DESCRIPTION STATUS PATTERN METHOD PATH [curl options]: status, and the
# Error document's reason matches.
expect_error() {
    local what=$1 want=$2 pattern=$3
    shift 3
    expect_status "$what" "$want" "$@"
    local reason
    reason=$(json 'd["reason"]' <"$T/body") || fail "$what: the body is no Error document: $(cat "$T/body")"
    [ "$(json 'd["status"]' <"$T/body")" = "$want" ] || fail "$what: the Error's status is not $want"
    grep -qiE -- "$pattern" <<<"$reason" || fail "$what: the reason '$reason' is not /$pattern/"
}

eventually 30 "the gateway answers" curl -s -o /dev/null --max-time 2 "$API/session"
PASSWORD=$(cat "$T/admin-password")
login() { printf '{"user": "%s", "password": "%s"}' "$1" "$2"; }

# Sessions.
expect_error "no credential: 401 from the controller" 401 "credential" GET /vms
expect_error "a wrong password: 401" 401 "wrong user name or password" POST /session \
    -H 'Content-Type: application/json' --data "$(login admin nope-nope)"
expect_status "the administrator logs in: 201" 201 POST /session -H 'Content-Type: application/json' \
    --data "$(login admin "$PASSWORD")"
TOKEN=$(json 'd["token"]' <"$T/body")
[[ $TOKEN == mkt_* ]] || fail "no session token in $(cat "$T/body")"
COOKIE=$(header Set-Cookie)
grep -q "maekin_session=$TOKEN; Path=/; Max-Age=[0-9]*; HttpOnly; SameSite=Strict" <<<"$COOKIE" \
    || fail "the cookie is '$COOKIE'"
CSRF=$(header X-CSRF-Token)
[ ${#CSRF} -eq 43 ] || fail "no CSRF token at login"
ok "login gives the token, an HTTP-only SameSite=Strict cookie and a CSRF token"
AUTH=(-H "Authorization: Bearer $TOKEN")
expect_status "whoami by bearer token" 200 GET /session "${AUTH[@]}"
[ "$(json 'd["user"]["name"]' <"$T/body")" = admin ] || fail "whoami says $(cat "$T/body")"
expect_status "whoami by the cookie gives the CSRF token again" 200 GET /session -b "maekin_session=$TOKEN"
[ "$(header X-CSRF-Token)" = "$CSRF" ] || fail "the CSRF token differs"

# A cookie change needs its CSRF token; a bearer token needs none.
JSONC=(-H 'Content-Type: application/json')
expect_error "a change with the cookie but no CSRF token: 403" 403 "CSRF" POST /templates \
    -b "maekin_session=$TOKEN" "${JSONC[@]}" --data '{"name": "csrf", "vcpus": 1, "memory_mb": 64}'
expect_error "... or a wrong one: 403" 403 "CSRF" POST /templates -b "maekin_session=$TOKEN" \
    -H "X-CSRF-Token: ${CSRF%?}x" "${JSONC[@]}" --data '{"name": "csrf", "vcpus": 1, "memory_mb": 64}'
expect_status "... with it: made (201), at its Location" 201 POST /templates -b "maekin_session=$TOKEN" \
    -H "X-CSRF-Token: $CSRF" "${JSONC[@]}" --data '{"name": "tiny", "vcpus": 1, "memory_mb": 64}'
[ "$(header Location)" = /api/v1/templates/tiny ] || fail "Location is '$(header Location)'"
expect_status "the template, in XML" 200 GET /templates/tiny "${AUTH[@]}" -H 'Accept: application/xml'
grep -q '<Template><name>tiny</name><vcpus>1</vcpus><memory_mb>64</memory_mb>' "$T/body" \
    || fail "the XML is $(cat "$T/body")"
[[ $(header Content-Type) == application/xml* ]] || fail "not XML: $(header Content-Type)"

# A VI, a user, and a VM's life in it.
expect_status "a VI is made (201)" 201 POST /vis "${AUTH[@]}" "${JSONC[@]}" \
    --data '{"name": "lab", "quota": {"vms": 3}}'
[ "$(header Location)" = /api/v1/vis/lab ] || fail "Location is '$(header Location)'"
expect_status "it is given the template" 200 PUT /vis/lab/grants/tiny "${AUTH[@]}"
[ "$(json 'd["templates"]' <"$T/body")" = "['tiny']" ] || fail "grants: $(cat "$T/body")"
for who in ann bob cat dan; do
    expect_status "user $who is made" 201 POST /users "${AUTH[@]}" "${JSONC[@]}" \
        --data "{\"name\": \"$who\", \"password\": \"$who-password\"}"
done
n=0
for pair in ann:owner bob:manager cat:operator dan:viewer; do
    expect_status "${pair%%:*} joins lab as ${pair#*:}" 200 POST /vis/lab/members "${AUTH[@]}" "${JSONC[@]}" \
        --data "{\"user\": \"${pair%%:*}\", \"role\": \"${pair#*:}\"}"
done
declare -A AS
for who in ann bob cat dan; do
    status POST /session "${JSONC[@]}" --data "$(login $who $who-password)" >/dev/null
    AS[$who]="Authorization: Bearer $(json 'd["token"]' <"$T/body")"
done
ok "each member logs in"

# create NAME [curl options]: POST a VM into lab as the administrator; its task id.
create() {
    local name=$1
    shift
    status POST /vis/lab/vms "${AUTH[@]}" "${JSONC[@]}" --data "{\"name\": \"$name\", \"template\": \"tiny\"}" "$@"
}
expect_status "a VM's create is accepted (202)" 202 POST /vis/lab/vms -H "${AS[bob]}" "${JSONC[@]}" \
    --data '{"name": "web-1", "template": "tiny"}'
TASK=$(json 'd["task_id"]' <"$T/body")
[ "$(header Location)" = "/api/v1/tasks/$TASK" ] || fail "Location is '$(header Location)', task $TASK"
expect_status "its task, waited for at its Location, is done" 200 GET "/tasks/$TASK/wait?timeout_ms=20000" "${AUTH[@]}"
[ "$(json 'd["state"]' <"$T/body")" = done ] || fail "the task: $(cat "$T/body")"
expect_status "the VM, by VI and name" 200 GET /vis/lab/vms/web-1 -H "${AS[dan]}"
[ "$(json 'd["state"]' <"$T/body")" = running ] || fail "the VM: $(cat "$T/body")"
UUID=$(json 'd["uuid"]' <"$T/body")
ETAG=$(header ETag)
expect_status "... by UUID" 200 GET "/vms/$UUID" -H "${AS[dan]}"
[ "$(json 'd["name"]' <"$T/body")" = web-1 ] || fail "by UUID: $(cat "$T/body")"
expect_status "an unchanged VM with its ETag: 304" 304 GET /vis/lab/vms/web-1 -H "${AS[dan]}" -H "If-None-Match: $ETAG"
[ ! -s "$T/body" ] || fail "a 304 with a body"

# The roles, as on the bus: a viewer reads, an operator acts, a manager creates and
# deletes, an owner manages members; each refusal 403 with the reason, nothing changed.
expect_error "a viewer may not stop it" 403 "operator" POST /vis/lab/vms/web-1/stop -H "${AS[dan]}"
expect_error "an operator may not create" 403 "manager" POST /vis/lab/vms -H "${AS[cat]}" "${JSONC[@]}" \
    --data '{"name": "web-9", "template": "tiny"}'
expect_error "a manager may not add members" 403 "owner" POST /vis/lab/members -H "${AS[bob]}" "${JSONC[@]}" \
    --data '{"user": "dan", "role": "owner"}'
expect_error "an owner may not make users" 403 "administrator" POST /users -H "${AS[ann]}" "${JSONC[@]}" \
    --data '{"name": "eve", "password": "eve-password"}'
expect_status "an operator stops it (202)" 202 POST /vis/lab/vms/web-1/stop -H "${AS[cat]}"
STOP=$(json 'd["task_id"]' <"$T/body")
expect_status "... done" 200 GET "/tasks/$STOP/wait?timeout_ms=20000" -H "${AS[cat]}"
expect_status "the VM is stopped" 200 GET /vis/lab/vms/web-1 -H "${AS[dan]}"
[ "$(json 'd["state"]' <"$T/body")" = stopped ] || fail "after stop: $(cat "$T/body")"
expect_error "an operator may not delete it" 403 "manager" DELETE /vis/lab/vms/web-1 -H "${AS[cat]}"
expect_error "starting a stopped VM twice? no: stopping it again is a conflict" 409 "stopped" \
    POST /vis/lab/vms/web-1/stop -H "${AS[cat]}"
expect_status "a manager deletes it by UUID (202)" 202 DELETE "/vms/$UUID" -H "${AS[bob]}"
DEL=$(json 'd["task_id"]' <"$T/body")
expect_status "... done" 200 GET "/tasks/$DEL/wait?timeout_ms=20000" -H "${AS[bob]}"
expect_error "the VM is gone: 404" 404 "" GET /vis/lab/vms/web-1 -H "${AS[dan]}"

# An Idempotency-Key makes a retried POST one create; the same key for another is 422.
expect_status "a create with an Idempotency-Key" 202 POST /vis/lab/vms "${AUTH[@]}" "${JSONC[@]}" \
    -H 'Idempotency-Key: create-db-1' --data '{"name": "db-1", "template": "tiny"}'
FIRST=$(json 'd["task_id"]' <"$T/body")
expect_status "... retried: the first answer" 202 POST /vis/lab/vms "${AUTH[@]}" "${JSONC[@]}" \
    -H 'Idempotency-Key: create-db-1' --data '{"name": "db-1", "template": "tiny"}'
[ "$(json 'd["task_id"]' <"$T/body")" = "$FIRST" ] || fail "the retry made task $(json 'd["task_id"]' <"$T/body"), not $FIRST"
expect_error "the key for another request: 422" 422 "" POST /vis/lab/vms "${AUTH[@]}" "${JSONC[@]}" \
    -H 'Idempotency-Key: create-db-1' --data '{"name": "db-2", "template": "tiny"}'
expect_error "a key that is no key: 400" 400 "Idempotency-Key" POST /vis/lab/vms "${AUTH[@]}" "${JSONC[@]}" \
    -H 'Idempotency-Key: two words' --data '{"name": "db-2", "template": "tiny"}'

# XML in, XML out; and a create past the VI's quota, refused with the reason.
expect_status "a create in XML" 202 POST /vis/lab/vms "${AUTH[@]}" -H 'Content-Type: application/xml' \
    -H 'Accept: application/xml' --data '<VmCreateRequest><name>db-2</name><template>tiny</template></VmCreateRequest>'
grep -q '<TaskAccepted><task_id>[0-9]*</task_id>' "$T/body" || fail "XML answer: $(cat "$T/body")"
expect_status "a third" 202 POST /vis/lab/vms "${AUTH[@]}" "${JSONC[@]}" --data '{"name": "db-3", "template": "tiny"}'
expect_error "a fourth is over the quota of 3: 403 with it" 403 "quota" POST /vis/lab/vms "${AUTH[@]}" \
    "${JSONC[@]}" --data '{"name": "db-4", "template": "tiny"}'

# Paging and filters, as on the bus.
expect_status "a page of 2" 200 GET "/vis/lab/vms?limit=2" "${AUTH[@]}"
[ "$(json 'len(d["vms"])' <"$T/body")" = 2 ] || fail "page 1: $(cat "$T/body")"
NEXT=$(json 'd["next"]' <"$T/body")
[ -n "$NEXT" ] || fail "no cursor after a full page"
expect_status "the next page" 200 GET "/vis/lab/vms?limit=2&after=$(python3 -c 'import urllib.parse,sys; print(urllib.parse.quote(sys.argv[1]))' "$NEXT")" "${AUTH[@]}"
[ "$(json '[v["name"] for v in d["vms"]]' <"$T/body")" = "['db-3']" ] || fail "page 2: $(cat "$T/body")"
[ "$(json 'd["next"]' <"$T/body")" = "" ] || fail "a cursor after the last page"
expect_error "a filter by an unknown state: 400" 400 "state" GET "/vms?state=sleeping" "${AUTH[@]}"
expect_error "an unknown query parameter: 400" 400 "unknown query parameter 'colour'" GET "/vms?colour=red" "${AUTH[@]}"
expect_status "hosts" 200 GET /hosts "${AUTH[@]}"
[ "$(json 'd["hosts"][0]["name"]' <"$T/body")" = node1 ] || fail "hosts: $(cat "$T/body")"
expect_status "events since 0" 200 GET "/events?stream=event.vm&after=0&limit=5" "${AUTH[@]}"
[ "$(json 'len(d["events"])' <"$T/body")" = 5 ] || fail "events: $(cat "$T/body")"
# Events are filtered to what the caller may see: a VM of default is not lab's members'.
expect_status "a VM in default" 202 POST /vis/default/vms "${AUTH[@]}" "${JSONC[@]}" \
    --data '{"name": "solo", "template": "tiny"}'
expect_status "... created" 200 GET "/tasks/$(json 'd["task_id"]' <"$T/body")/wait?timeout_ms=20000" "${AUTH[@]}"
expect_status "lab's operator reads the VM events" 200 GET "/events?stream=event.vm&after=0&limit=1000" -H "${AS[cat]}"
[ "$(json 'sorted(set(e["vi"] for e in d["events"]))' <"$T/body")" = "['lab']" ] \
    || fail "cat sees $(json '[(e["vi"], e["subject"]) for e in d["events"]]' <"$T/body")"
CAT_LAST=$(json 'd["last"]' <"$T/body")
expect_status "... the administrator reads them all" 200 GET "/events?stream=event.vm&after=0&limit=1000" "${AUTH[@]}"
[ "$(json 'sorted(set(e["vi"] for e in d["events"]))' <"$T/body")" = "['default', 'lab']" ] \
    || fail "admin sees $(json '[e["vi"] for e in d["events"]]' <"$T/body")"
[ "$(json 'd["last"]' <"$T/body")" = "$CAT_LAST" ] || fail "cat's last $CAT_LAST is not past the hidden ones"
ok "an operator's events are their VI's alone, and their cursor passes the others"
expect_status "the audit log names ann's refusal" 200 GET "/audit?user=ann" "${AUTH[@]}"
grep -q '"request":"user_create"' "$T/body" || fail "audit: $(cat "$T/body")"

# Bad input at the edge: each a clear error, nothing made, the gateway serving on.
vms() { body GET /vis/lab/vms "${AUTH[@]}" | json '[v["name"] for v in d["vms"]]'; }
BEFORE=$(vms)
expect_error "malformed JSON: 400 with where" 400 "^JSON: " POST /vis/lab/vms "${AUTH[@]}" "${JSONC[@]}" \
    --data '{"name": "x", '
expect_error "a field of the wrong type: 400 naming it" 400 "JSON: 'name'" POST /vis/lab/vms "${AUTH[@]}" \
    "${JSONC[@]}" --data '{"name": 7}'
expect_error "an unknown field: 400" 400 "colour" POST /vis/lab/vms "${AUTH[@]}" "${JSONC[@]}" \
    --data '{"name": "x", "colour": "red"}'
XMLC=(-H 'Content-Type: application/xml')
expect_error "malformed XML: 400" 400 "^XML: " POST /vis/lab/vms "${AUTH[@]}" "${XMLC[@]}" --data '<VmCreateRequest><name>x'
BOMB='<?xml version="1.0"?><!DOCTYPE VmCreateRequest [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;"><!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;"><!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;"><!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;"><!ENTITY h "&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;">]><VmCreateRequest><name>&h;</name></VmCreateRequest>'
expect_error "an entity bomb: 400, nothing expanded" 400 "DOCTYPE|entit" POST /vis/lab/vms "${AUTH[@]}" "${XMLC[@]}" \
    --data "$BOMB"
XXE='<?xml version="1.0"?><!DOCTYPE VmCreateRequest [<!ENTITY x SYSTEM "file:///etc/passwd">]><VmCreateRequest><name>&x;</name></VmCreateRequest>'
expect_error "an external entity: 400, nothing read" 400 "DOCTYPE|entit" POST /vis/lab/vms "${AUTH[@]}" "${XMLC[@]}" \
    --data "$XXE"
grep -q root: "$T/body" && fail "the external entity was read"
head -c 70000 /dev/zero | tr '\0' a > "$T/big"
expect_error "a body over gateway/max_body_kb: 413" 413 "over 65536 bytes" POST /vis/lab/vms "${AUTH[@]}" \
    "${JSONC[@]}" --data-binary "@$T/big"
expect_error "a body of another type: 415" 415 "application/json or application/xml" POST /vis/lab/vms \
    "${AUTH[@]}" -H 'Content-Type: text/plain' --data 'name=x'
expect_error "an answer in a format it has not: 406" 406 "application/json or application/xml" GET /vms \
    "${AUTH[@]}" -H 'Accept: text/html'
expect_error "a body where none is taken: 400" 400 "takes no body" POST /vis/lab/vms/db-1/stop "${AUTH[@]}" \
    "${JSONC[@]}" --data '{"op": "VM_OP_DELETE"}'
expect_error "a forged token: 401" 401 "not valid" GET /vms -H "Authorization: Bearer mkt_$(head -c 32 /dev/urandom | base64 | tr -dc A-Za-z0-9 | head -c 43)"
expect_error "another scheme than Bearer: 401" 401 "Bearer" GET /vms -H "Authorization: Basic YWRtaW46YWRtaW4="
expect_error "a token that is no token: 401" 401 "not one the cloud gives" GET /vms -H 'Authorization: Bearer a"b'
expect_status "dan logs out (204), the cookie cleared" 204 DELETE /session -H "${AS[dan]}"
grep -q "maekin_session=; Path=/; Max-Age=0" <<<"$(header Set-Cookie)" || fail "logout's cookie: $(header Set-Cookie)"
expect_error "the ended session's token: 401" 401 "not valid" GET /vms -H "${AS[dan]}"
expect_error "a path with ..: 400" 400 "'\.\.'" GET /vis/../users "${AUTH[@]}" --path-as-is
expect_error "an encoded dot-dot: 400" 400 "'\.\.'" GET /vis/%2e%2e/users "${AUTH[@]}" --path-as-is
expect_error "an encoded slash: 400" 400 "encoded" GET /vis/lab%2Fx/vms "${AUTH[@]}"
expect_error "an encoded NUL: 400" 400 "NUL" GET /vis/lab%00/vms "${AUTH[@]}"
expect_error "an empty segment: 400" 400 "empty segment" GET /vis//vms "${AUTH[@]}" --path-as-is
expect_error "no such resource: 404" 404 "openapi" GET /volcanoes "${AUTH[@]}"
expect_error "a method the path has not: 405 with Allow" 405 "GET, DELETE" PUT /vis/lab/vms/db-1 "${AUTH[@]}"
[ "$(header Allow)" = "GET, DELETE" ] || fail "Allow: $(header Allow)"
expect_error "a UUID that is none: 400" 400 "not a UUID" GET /vms/web-1 "${AUTH[@]}"
expect_error "a task id that is none: 400" 400 "whole number" GET /tasks/seven "${AUTH[@]}"
[ "$(vms)" = "$BEFORE" ] || fail "the VMs changed: $(vms), was $BEFORE"
ok "none of it changed the VMs: $BEFORE"

# A slow client (slowloris) is cut off after gateway/request_timeout_ms, and others are
# served meanwhile.
python3 - "$HTTP_PORT" "$API" "$TOKEN" <<'PY' || fail "the slow client"
import socket, sys, time, urllib.request
port, api, token = int(sys.argv[1]), sys.argv[2], sys.argv[3]
slow = socket.create_connection(("127.0.0.1", port))
slow.sendall(b"GET /api/v1/vms HTTP/1.1\r\nHost: x\r\n")   # and never the end of the headers
request = urllib.request.Request(api + "/hosts", headers={"Authorization": "Bearer " + token})
assert urllib.request.urlopen(request, timeout=30).status == 200, "not served beside it"
slow.settimeout(60)
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    try:
        slow.sendall(b"X")          # a header a byte at a time
        if slow.recv(4096) == b"":  # closed by the gateway
            sys.exit(0)
    except (ConnectionResetError, BrokenPipeError):
        sys.exit(0)
    except socket.timeout:
        pass
sys.exit("the slow client was never cut off")
PY
ok "a slow client is cut off; others are served meanwhile"

# Many keep-alive connections at once (past 64, each thread gives back the stack it used
# after answering): every one answered twice, right, on its own connection.
python3 - "$HTTP_PORT" "$TOKEN" "$BEFORE" <<'PY' || fail "many connections"
import json, socket, sys
port, token, before = int(sys.argv[1]), sys.argv[2], sys.argv[3]
def ask(s):
    s.sendall(b"GET /api/v1/vis/lab/vms HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
              + token.encode() + b"\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data:
        data += s.recv(65536)
    head, body = data.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 200"), head
    size = int([l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")][0])
    while len(body) < size:
        body += s.recv(65536)
    names = str([v["name"] for v in json.loads(body)["vms"]])
    assert names == before, names
held = [socket.create_connection(("127.0.0.1", port)) for _ in range(100)]
for round in range(2):
    for s in held:
        ask(s)
PY
ok "100 keep-alive connections, each answered twice"

# HTTPS with a certificate: the same API, the cookie marked Secure; plain HTTP refused.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/tls.key" -out "$T/tls.crt" -days 2 \
    -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>/dev/null || fail "openssl cannot make a certificate"
cat "$T/tls.crt" "$T/tls.key" > "$T/gateway.pem"
TLS_PORT=$(free_port)
start_gateway gateway-tls $TLS_PORT --gateway-certificate="$T/gateway.pem" --bus-stream_out=$STREAM_OUT
eventually 30 "the HTTPS gateway answers" curl -s -o /dev/null --cacert "$T/tls.crt" --max-time 2 \
    "https://127.0.0.1:$TLS_PORT/api/v1/session"
API=https://127.0.0.1:$TLS_PORT/api/v1
expect_status "a login over HTTPS (the certificate checked)" 201 POST /session --cacert "$T/tls.crt" \
    "${JSONC[@]}" --data "$(login admin "$PASSWORD")"
grep -q "HttpOnly; SameSite=Strict; Secure" <<<"$(header Set-Cookie)" || fail "the cookie over HTTPS: $(header Set-Cookie)"
expect_status "the VMs over HTTPS" 200 GET /vis/lab/vms --cacert "$T/tls.crt" \
    -H "Authorization: Bearer $(json 'd["token"]' <"$T/body")"
[ "$(json '[v["name"] for v in d["vms"]]' <"$T/body")" = "$BEFORE" ] || fail "over HTTPS: $(cat "$T/body")"
# The stream over wss://: what was missed, then live, on the same TLS connection.
PYTHONPATH="$(dirname "$0")" python3 - "$TLS_PORT" "$TOKEN" "$T/tls.crt" <<'PY' || fail "the stream over HTTPS"
import json, ssl, sys, time, urllib.request
from ws import WebSocket
deadline = time.monotonic() + 60  # the gateway's pings would keep recv() waiting forever
port, token, ca = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ws = WebSocket(port, "/api/v1/stream?events=vm&after_vm=0", {"Authorization": "Bearer " + token}, cafile=ca)
assert ws.status == 101, ws.head
seen = []
while time.monotonic() < deadline:
    message = ws.recv()
    assert message and not message.get("error"), message
    seen += [e["subject"] for e in message.get("events", {}).get("events", [])]
    if message.get("caught_up"):
        break
else:
    sys.exit("never caught up")
assert "lab:web-1" in seen, seen
request = urllib.request.Request(f"https://127.0.0.1:{port}/api/v1/vis/default/vms", method="POST",
    data=json.dumps({"name": "tls-1", "template": "tiny"}).encode(),
    headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
context = ssl.create_default_context(cafile=ca)
assert urllib.request.urlopen(request, context=context, timeout=30).status == 202
while time.monotonic() < deadline:
    message = ws.recv()
    assert message and not message.get("error"), message
    states = [e["state"] for e in message.get("events", {}).get("events", []) if e["subject"] == "tls-1"]
    if "running" in states:
        break
else:
    sys.exit("tls-1 was never seen running")
ws.close()
PY
ok "the stream over wss://: caught up, then a VM created over HTTPS seen running, live"
curl -s -o /dev/null --max-time 5 "http://127.0.0.1:$TLS_PORT/api/v1/session" && fail "plain HTTP was answered on the HTTPS port"
ok "plain HTTP gets no answer on the HTTPS port"

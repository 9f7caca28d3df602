#!/bin/bash
# The gateway's WebSocket stream (GET /api/v1/stream), through a client of the test's own
# (ws.py): live events as the cloud changes; a client that reconnects with the last
# sequence numbers it saw gets what it missed first, with no gap and no repeat, then
# live; a user who is not the administrator sees only the events of their VIs and hosts'
# samples without their VMs' values; refusals at the handshake (no credential, another
# site's Origin, a bad query), and a plain GET told to upgrade.
set -u
. "$(dirname "$0")/lib.bash"

start_gateway_cloud synthetic:30:40:2
expect_ok "a template" sh template create tiny --vcpus 1 --memory 64
expect_ok "a VI, lab" sh vi create lab
expect_ok "lab may use tiny" sh vi template add lab --template tiny
expect_ok "a user, ann" sh user create ann --password-file <(echo ann-password)
expect_ok "ann views lab" sh vi member add lab --user ann --role viewer

PYTHONPATH="$MK_SRC/tests/integration" python3 - "$HTTP_PORT" "$(cat "$T/admin-password")" <<'PY' || fail "the stream"
import json, sys, urllib.request, urllib.error
from ws import WebSocket

port, password = int(sys.argv[1]), sys.argv[2]
api = f"http://127.0.0.1:{port}/api/v1"

def rest(method, path, body=None, token=None):
    request = urllib.request.Request(api + path, method=method, data=json.dumps(body).encode() if body else None,
                                     headers={"Content-Type": "application/json"})
    if token:
        request.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")

def login(user, secret):
    status, body = rest("POST", "/session", {"user": user, "password": secret})
    assert status == 201, body
    return body["token"]

def create(vi, name, token):
    status, body = rest("POST", f"/vis/{vi}/vms", {"name": name, "template": "tiny"}, token)
    assert status == 202, body
    status, task = rest("GET", f"/tasks/{body['task_id']}/wait?timeout_ms=30000", token=token)
    assert status == 200 and task["state"] == "done", task

def ok(what):
    print(f"ok: {what}", flush=True)

admin, ann = login("admin", password), login("ann", "ann-password")
bearer = lambda token: {"Authorization": "Bearer " + token}

# Refusals at the handshake, and a plain GET.
ws = WebSocket(port, "/api/v1/stream")
assert ws.status == 401 and b"credential" in ws.body, (ws.status, ws.body)
ws = WebSocket(port, "/api/v1/stream", {**bearer(admin), "Origin": "http://evil.example"})
assert ws.status == 403 and b"Origin" in ws.body, (ws.status, ws.body)
ws = WebSocket(port, "/api/v1/stream?events=vm,bogus", bearer(admin))
assert ws.status == 400 and b"events=" in ws.body, (ws.status, ws.body)
ws = WebSocket(port, "/api/v1/stream?after_vm=-3", bearer(admin))
assert ws.status == 400, (ws.status, ws.body)
import socket
raw = socket.create_connection(("127.0.0.1", port), timeout=30)
raw.sendall(b"GET /api/v1/stream HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: " + b"A" * 80 + b"\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer "
            + admin.encode() + b"\r\n\r\n")
answer = raw.recv(4096)
assert answer.startswith(b"HTTP/1.1 400") and b"Sec-WebSocket-Key" in answer, answer
raw.close()
status, body = rest("GET", "/stream", token=admin)
assert status == 426 and "WebSocket" in body["reason"], body
ok("refused at the handshake: no credential 401, another site's Origin 403, a bad query or key 400; plain GET 426")

# events of one stream until `until` holds of the last one; returns them all.
def events_until(ws, topic, until):
    seen = []
    while True:
        message = ws.recv()
        assert message is not None, f"closed: {getattr(ws, 'closed', '')}"
        assert not message.get("error"), message
        if message["topic"] != topic or not message.get("events"):
            continue
        seen += message["events"]["events"]
        if seen and until(seen[-1]):
            return seen

# Live: the administrator sees a VM of default come to running.
live = WebSocket(port, "/api/v1/stream?events=vm,task", bearer(admin))
assert live.status == 101, live.head
create("default", "web-1", admin)
events = events_until(live, "event.vm", lambda e: e["subject"] == "web-1" and e["state"] == "running")
assert [e["state"] for e in events if e["subject"] == "web-1"][-2:] == ["creating", "running"], events
last = events[-1]["seq"]
live.close()
ok(f"live: web-1 creating, running (event.vm up to {last})")

# Missed while away: two VMs made with nobody listening; reconnecting with the last seq
# seen brings them first, in order, without a gap or a repeat, then `caught_up`, then live.
create("default", "web-2", admin)
create("lab", "db-1", admin)
again = WebSocket(port, f"/api/v1/stream?events=vm&after_vm={last}", bearer(admin))
assert again.status == 101, again.head
missed = []
while True:
    message = again.recv()
    assert message["topic"] == "event.vm", message
    missed += message["events"]["events"] if message.get("events") else []
    if message.get("caught_up"):
        break
seqs = [e["seq"] for e in missed]
assert seqs == list(range(last + 1, last + 1 + len(seqs))), seqs
subjects = {e["subject"] for e in missed}
assert {"web-2", "lab:db-1"} <= subjects, subjects
ok(f"caught up after reconnecting: {len(missed)} missed events, seq {seqs[0]}..{seqs[-1]}, no gap")
create("default", "web-3", admin)
after = events_until(again, "event.vm", lambda e: e["subject"] == "web-3" and e["state"] == "running")
assert after[0]["seq"] == seqs[-1] + 1, (after[0], seqs[-1])
ok("then live, from the next sequence number")

# ann, a viewer of lab: from the beginning, only lab's events; live, lab's and not default's.
mine = WebSocket(port, "/api/v1/stream?events=vm&after_vm=0&metrics=node1", bearer(ann))
assert mine.status == 101, mine.head
caught, sample = [], None
while True:
    message = mine.recv()
    if message["topic"] == "metric.host.node1":
        sample = message["sample"]
        continue
    caught += message["events"]["events"] if message.get("events") else []
    if message.get("caught_up"):
        break
assert caught and {e["vi"] for e in caught} == {"lab"}, [(e["vi"], e["subject"]) for e in caught]
ok(f"ann's catch-up: {len(caught)} events, all of lab")
create("default", "web-4", admin)
create("lab", "db-2", admin)
live_ann = events_until(mine, "event.vm", lambda e: e["subject"] == "lab:db-2" and e["state"] == "running")
assert all(e["vi"] == "lab" for e in live_ann), [(e["vi"], e["subject"]) for e in live_ann]
assert not any(e["subject"] == "web-4" for e in live_ann)
ok("ann's live events: lab's db-2, never default's web-4")
while sample is None:
    message = mine.recv()
    if message["topic"] == "metric.host.node1":
        sample = message["sample"]
assert sample["host"] == "node1" and sample["vms"] == [] and sample["vm_count"] == 2, sample
mine.close()
ok("ann's samples of node1: the host's values, not its VMs'")

full = WebSocket(port, "/api/v1/stream?events=host&metrics=all", bearer(admin))
while True:
    message = full.recv()
    if message["topic"] == "metric.host.node1" and message["sample"]["full"]:
        assert len(message["sample"]["vms"]) == 2, message["sample"]
        break
full.close()
ok("the administrator's samples hold the VMs' values")
PY
ok "the stream"

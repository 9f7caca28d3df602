#!/bin/bash
# Every route of the REST API over real HTTP, each in JSON and then in XML (the same
# resource read back in the other format): the resources, the VM actions, users and
# their keys, VIs and their quotas, grants and members, hosts, tasks, events, the audit
# log, the bus's keys and join tokens. tests/integration/gateway.sh holds the errors and
# the edge; this one, that each route does what it says.
set -u
. "$(dirname "$0")/lib.bash"

start_gateway_cloud synthetic:30:40
keys spare

PYTHONPATH="$MK_SRC/tests/integration" python3 - "$HTTP_PORT" "$(cat "$T/admin-password")" "$KEYS/spare.key" <<'PY' || fail "a route"
import json, sys, urllib.request, urllib.error, xml.etree.ElementTree as ET

port, password, spare_key = int(sys.argv[1]), sys.argv[2], open(sys.argv[3]).read()
spare = [l.split('"')[1] for l in spare_key.splitlines() if "public-key" in l][0]
api = f"http://127.0.0.1:{port}/api/v1"
checks = 0

def xml_value(element):
    """An XML element as the JSON mapping would be (lists for repeated children)."""
    children = list(element)
    if not children:
        return element.text or ""
    out = {}
    for child in children:
        value = xml_value(child)
        if child.tag in out:
            out[child.tag] = out[child.tag] if isinstance(out[child.tag], list) else [out[child.tag]]
            out[child.tag].append(value)
        else:
            out[child.tag] = value
    return out

def call(method, path, body=None, token=None, fmt="json", expect=200):
    global checks
    headers = {"Accept": "application/" + fmt}
    data = None
    if body is not None:
        if fmt == "json":
            data = json.dumps(body).encode()
        else:
            root, fields = body
            element = ET.Element(root)
            for name, value in fields.items():
                ET.SubElement(element, name).text = str(value).lower() if isinstance(value, bool) else str(value)
            data = ET.tostring(element)
        headers["Content-Type"] = "application/" + fmt
    if token:
        headers["Authorization"] = "Bearer " + token
    request = urllib.request.Request(api + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            status, raw, head = answer.status, answer.read(), answer.headers
    except urllib.error.HTTPError as error:
        status, raw, head = error.code, error.read(), error.headers
    if status != expect:
        sys.exit(f"{method} {path} ({fmt}): {status}, not {expect}: {raw[:300]!r}")
    checks += 1
    if not raw:
        return None
    if fmt == "json":
        return json.loads(raw)
    return xml_value(ET.fromstring(raw))

def both(method, path, json_body=None, xml_body=None, **kw):
    """The same read in JSON and XML: the two must say the same of its plain fields."""
    a = call(method, path, json_body, fmt="json", **kw)
    b = call(method, path, xml_body, fmt="xml", **kw)
    for key, value in a.items():
        if isinstance(value, (str, int, bool)) and not isinstance(value, bool) and key in b:
            assert str(value) == str(b[key]), (path, key, value, b[key])
    return a

def ok(what):
    print(f"ok: {what}", flush=True)

login = call("POST", "/session", {"user": "admin", "password": password}, expect=201)
admin = login["token"]
assert call("GET", "/session", token=admin, fmt="xml")["user"]["name"] == "admin"
ok("session: login (JSON), whoami (XML)")

# Templates: the cloud's and a VI's own.
call("POST", "/templates", {"name": "tiny", "vcpus": 1, "memory_mb": 64}, token=admin, expect=201)
call("POST", "/templates", ("Template", {"name": "small", "vcpus": 2, "memory_mb": 128}), token=admin, fmt="xml", expect=201)
assert both("GET", "/templates/small", token=admin)["vcpus"] == 2
assert {t["name"] for t in call("GET", "/templates", token=admin)["templates"]} == {"tiny", "small"}
call("DELETE", "/templates/small", token=admin, expect=204)
call("GET", "/templates/small", token=admin, expect=404)
ok("templates: create in JSON and XML, show in both, list, delete (204)")

# VIs, quotas, grants, members; users and their keys.
call("POST", "/vis", {"name": "lab", "description": "a lab"}, token=admin, expect=201)
assert call("PUT", "/vis/lab/quota", ("ViQuota", {"vcpus": 8, "vms": 4}), token=admin, fmt="xml")["quota"]["vms"] == "4"
assert call("PUT", "/vis/lab/grants/tiny", token=admin)["templates"] == ["tiny"]
call("POST", "/vis/lab/templates", {"name": "own", "vcpus": 1, "memory_mb": 32}, token=admin, expect=201)
assert both("GET", "/vis/lab/templates/own", token=admin)["vi"] == "lab"
assert "own" in {t["name"] for t in call("GET", "/vis/lab/templates", token=admin)["templates"]}
call("DELETE", "/vis/lab/templates/own", token=admin, expect=204)
call("POST", "/users", ("UserCreateRequest", {"name": "ann", "password": "ann-password"}), token=admin, fmt="xml", expect=201)
call("POST", "/users", {"name": "bob", "password": "bob-password"}, token=admin, expect=201)
assert {u["name"] for u in call("GET", "/users", token=admin)["users"]} == {"admin", "ann", "bob"}
vi = call("POST", "/vis/lab/members", {"user": "ann", "role": "viewer"}, token=admin)
assert {"user": "ann", "role": "viewer"} in vi["members"]
vi = call("PUT", "/vis/lab/members/ann", ("ViMemberRequest", {"role": "manager"}), token=admin, fmt="xml")
assert vi["members"]["role"] == "manager", vi["members"]
call("POST", "/vis/lab/members", {"user": "bob", "role": "viewer"}, token=admin)
assert "bob" not in json.dumps(call("DELETE", "/vis/lab/members/bob", token=admin)["members"])
assert both("GET", "/vis/lab", token=admin)["description"] == "a lab"
assert {v["name"] for v in call("GET", "/vis", token=admin)["vis"]} == {"default", "lab"}
ok("VIs: create, quota (XML), grant, own templates, members add/role (XML)/remove, show, list")
ann = call("POST", "/session", {"user": "ann", "password": "ann-password"}, expect=201)["token"]
assert call("GET", "/users/ann", token=ann)["name"] == "ann"
call("PUT", "/users/ann/password", {"password": "ann-password-2", "old_password": "ann-password"}, token=ann)
ann = call("POST", "/session", {"user": "ann", "password": "ann-password-2"}, expect=201)["token"]
key = call("POST", "/apikeys", {"name": "script", "read_only": True}, token=ann, expect=201)
assert key["key"].startswith("mka_") and key["api_key"]["read_only"] is True
assert call("GET", "/apikeys", token=ann, fmt="xml")["api_keys"]["name"] == "script"  # one: an element
assert call("GET", "/vis/lab", token=key["key"])["name"] == "lab"
assert call("DELETE", "/apikeys/script", token=ann)["name"] == "script"
call("GET", "/vis/lab", token=key["key"], expect=401)
assert call("POST", "/users/bob/disable", token=admin)["disabled"] is True
assert call("POST", "/users/bob/enable", token=admin, fmt="xml")["disabled"] == "false"
assert call("DELETE", "/users/bob", token=admin)["name"] == "bob"
call("GET", "/users/bob", token=admin, expect=404)
ok("users: show, own password, API key (create, list in XML, use, revoke), disable, enable, delete")

# A VM's whole life by VI and name, and by UUID; each action's task waited for.
def act(method, path, state, token=admin, fmt="json"):
    accepted = call(method, path, token=token, fmt=fmt, expect=202)
    task = call("GET", f"/tasks/{accepted['task_id']}/wait?timeout_ms=30000", token=token)
    assert task["state"] == "done", task
    if state:
        assert call("GET", "/vis/lab/vms/web-1", token=token)["state"] == state
    return task

accepted = call("POST", "/vis/lab/vms", ("VmCreateRequest", {"name": "web-1", "template": "tiny"}), token=ann, fmt="xml", expect=202)
assert call("GET", f"/tasks/{accepted['task_id']}/wait?timeout_ms=30000", token=ann, fmt="xml")["state"] == "done"
vm = both("GET", "/vis/lab/vms/web-1", token=ann)
uuid = vm["uuid"]
assert vm["state"] == "running" and vm["vi"] == "lab"
act("POST", "/vis/lab/vms/web-1/suspend", "paused", token=ann)
act("POST", f"/vms/{uuid}/resume", "running", token=ann, fmt="xml")
act("POST", "/vis/lab/vms/web-1/reboot", "running", token=ann)
act("POST", f"/vms/{uuid}/stop", "stopped", token=ann)
act("POST", "/vis/lab/vms/web-1/start", "running", token=ann)
act("POST", f"/vms/{uuid}/destroy", "stopped", token=ann)
assert both("GET", f"/vms/{uuid}", token=ann)["name"] == "web-1"
assert [v["name"] for v in call("GET", "/vms", token=ann)["vms"]] == ["web-1"]
tasks = call("GET", "/tasks?limit=3", token=ann)["tasks"]
assert len(tasks) == 3 and tasks[0]["op"] == "VM_OP_DESTROY", tasks
assert both("GET", f"/tasks/{tasks[0]['id']}", token=ann)["state"] == "done"
history = call("GET", f"/vms/{uuid}/history", token=ann)
assert history["vm"] == uuid
assert call("GET", "/vis/lab/vms/web-1/history", token=ann)["vm"] == uuid
act("DELETE", "/vis/lab/vms/web-1", None, token=admin)
call("GET", f"/vms/{uuid}", token=ann, expect=404)
ok("a VM: create (XML), suspend, resume by UUID (XML), reboot, stop, start, destroy, show both ways, list, tasks, history, delete")

# Hosts, their domains and history; events; the audit log; the cloud's figures.
host = both("GET", "/hosts/node1", token=admin)
assert host["state"] == "up" and host["vcpus"] == 8
assert call("GET", "/hosts", token=admin)["hosts"][0]["name"] == "node1"
assert call("GET", "/hosts/node1/domains", token=admin)["domains"] == []
assert call("GET", "/hosts/node1/history", token=admin)["host"] == "node1"
events = call("GET", "/events?stream=event.task&after=0", token=admin)
assert len(events["events"]) >= 8 and events["last"] == events["events"][-1]["seq"]
assert call("GET", "/audit?user=ann&limit=5", token=admin)["entries"][0]["user"] == "ann"
stats = both("GET", "/stats", token=admin)
assert {h["name"] for h in stats["hosts"]} == {"node1"} and stats["tasks_accepted"] >= 8
ok("hosts (show both ways, list, domains, history), events, audit, stats")

# The bus's keys and a join token.
listed = call("POST", "/buskeys", {"name": "spare", "key": spare, "role": "BUS_ROLE_CLIENT"}, token=admin, expect=201)
assert listed["keys"][0]["name"] == "spare"
assert "spare" in {k["name"] for k in call("GET", "/buskeys", token=admin)["keys"]}
rotated = call("POST", "/buskeys/spare/rotate", {"key": spare[:-1] + ("A" if spare[-1] != "A" else "B"), "grace_s": 60}, token=admin,
               expect=200)
assert len(rotated["keys"]) == 2, rotated
assert {k["name"] for k in call("DELETE", "/buskeys/spare", token=admin)["keys"]} == {"spare"}
token = call("POST", "/hosts/node9/token", {"ttl_s": 600}, token=admin, expect=201)
assert token["host"] == "node9" and token["token"]
ok("bus keys: admit, list, rotate, revoke; a join token")

# IP pools: made, read both ways, listed, a range added and taken away by its first
# address, given to a VI whose next VM takes an address, taken away, deleted.
pool = call("POST", "/pools", {"name": "net", "network": "10.66.0.0/24", "bridge": "mkbr0",
                               "gateway": "10.66.0.1", "dns": ["10.66.0.1"],
                               "ranges": [{"first": "10.66.0.10", "last": "10.66.0.19"}]},
            token=admin, expect=201)
assert pool["size"] == 10 and pool["used"] == 0, pool
assert both("GET", "/pools/net", token=admin)["network"] == "10.66.0.0/24"
assert [p["name"] for p in call("GET", "/pools", token=admin)["pools"]] == ["net"]
pool = call("POST", "/pools/net/ranges", {"first": "10.66.0.100", "last": "10.66.0.101"}, token=admin)
assert pool["size"] == 12, pool
pool = call("DELETE", "/pools/net/ranges/10.66.0.100", token=admin)
assert pool["size"] == 10, pool
assert call("PUT", "/vis/lab/pool", {"pool": "net"}, token=admin)["pool"] == "net"
accepted = call("POST", "/vis/lab/vms", {"name": "addr-1", "template": "tiny", "ip": "10.66.0.15"},
                token=admin, expect=202)
assert accepted["vm"]["ip"] == "10.66.0.15", accepted
task = call("GET", f"/tasks/{accepted['task_id']}/wait?timeout_ms=30000", token=admin)
assert task["state"] == "done", task
assert call("GET", "/vis/lab/vms/addr-1", token=admin)["ip"] == "10.66.0.15"
assert call("GET", "/pools/net", token=admin)["used"] == 1
assert both("GET", "/pools/net/leases", token=admin)["leases"][0]["ip"] == "10.66.0.15"
call("GET", "/pools/net/leases?after=net/not-an-address", token=admin, expect=400)
leases = call("GET", "/leases", token=admin)["leases"]
assert [(l["ip"], l["vm"], l["vi"], l["pool"]) for l in leases] == [("10.66.0.15", "addr-1", "lab", "net")], leases
assert leases[0]["mac"] == call("GET", "/vis/lab/vms/addr-1", token=admin)["mac"]
for op, state in (("stop", "stopped"),):
    done = call("GET", f"/tasks/{call('POST', '/vis/lab/vms/addr-1/' + op, token=admin, expect=202)['task_id']}/wait?timeout_ms=30000", token=admin)
    assert done["state"] == "done", done
done = call("GET", f"/tasks/{call('DELETE', '/vis/lab/vms/addr-1', token=admin, expect=202)['task_id']}/wait?timeout_ms=30000", token=admin)
assert done["state"] == "done", done
assert call("PUT", "/vis/lab/pool", {"pool": ""}, token=admin)["pool"] == ""
assert call("DELETE", "/pools/net", token=admin)["name"] == "net"
call("GET", "/pools/net", token=admin, expect=404)
ok("IP pools: create, show both ways, list, a range added and removed, a VI's pool, a VM's address, delete")

assert call("DELETE", "/vis/lab", token=admin)["name"] == "lab"
call("DELETE", "/session", token=ann, expect=204)
call("GET", "/session", token=ann, expect=401)
ok(f"a VI deleted; ann logged out ({checks} answers checked)")
PY
ok "every route"

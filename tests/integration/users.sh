#!/bin/bash
# Users and sessions through maekinsh, on the real controller: the first administrator
# and its password file; nothing without a credential; login right and wrong (no token
# kept for a wrong one), failed logins slowed down; a user who is not the administrator
# refused what needs a role; one's own password with the old one, which ends one's other
# sessions; disable, enable, delete, and what they do to live tokens; a forged token;
# sessions kept over a controller's restart; logout, twice; bad arguments change nothing.
set -u
. "$(dirname "$0")/lib.bash"

# as_user WHO ARGS...: maekinsh with WHO's own token file ($T/as-WHO).
as_user() {
    local who=$1
    shift
    XDG_CONFIG_HOME=$T/as-$who "$MK_BUILD/maekinsh" --bus-endpoint=$BUS "$@"
}
# with_token TOKEN ARGS...: maekinsh sending TOKEN ($MAEKIN_TOKEN wins over the file).
with_token() { MAEKIN_TOKEN=$1 as_user nobody "${@:2}"; }
secret() { printf '%s\n' "$2" >"$T/$1.pw"; echo "$T/$1.pw"; }
mode() { stat -c %a "$1"; }

start_broker
start_controller
eventually 30 "the controller writes the first administrator's password" test -s "$T/admin-password"
[ "$(mode "$T/admin-password")" = 600 ] || fail "the password file is mode $(mode "$T/admin-password")"
ok "the password file is the administrator's only (0600)"
[ "$(wc -c <"$T/admin-password")" -eq 25 ] || fail "the first password is not 24 characters"
eventually 30 "the controller serves, and refuses requests without a credential" \
    bash -c "'$MK_BUILD/maekinsh' --bus-endpoint=$BUS vm list 2>&1 | grep -q 'needs a credential'"
expect_fail "no credential: exit 1, and what to do" 1 "log in \('maekinsh login'\)" as_user nobody vm list

# Login, wrong then right.
expect_fail "a wrong password is refused" 1 "wrong user name or password" \
    as_user admin login admin --password-file "$(secret wrong not-the-password)"
[ ! -e "$T/as-admin/maekin/tokens" ] || fail "a token file was written for a failed login"
ok "a failed login keeps no token"
expect_fail "an unknown user is refused alike" 1 "wrong user name or password" \
    as_user admin login nobody --password-file "$T/admin-password"
expect_fail "the administrator logs in" 0 "logged in as admin \(administrator\) until" \
    as_user admin login admin --password-file "$T/admin-password"
[ "$(mode "$T/as-admin/maekin/tokens")" = 600 ] && [ "$(mode "$T/as-admin/maekin")" = 700 ] \
    || fail "the token file is not the user's only"
grep -q "^$BUS mkt_[A-Za-z0-9_-]\{43\} admin$" "$T/as-admin/maekin/tokens" \
    || fail "the token file does not hold this cloud's token: $(cat "$T/as-admin/maekin/tokens")"
ok "the token is kept for this endpoint, mode 0600 in a 0700 directory"
expect_fail "whoami says who" 0 "credential +session" as_user admin whoami
json=$(as_user admin --output json whoami) || fail "whoami --output json failed"
python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["user"] == "admin" and d["admin"] is True and d["sessions"] == 1, d' "$json" \
    || fail "whoami as JSON: $json"
ok "whoami as JSON: the user, an administrator, one session"
expect_ok "the administrator may do anything" as_user admin template create tiny --vcpus 1 --memory 64

# A user who is not the administrator.
expect_fail "user create" 0 "name: alice" \
    as_user admin user create alice --password-file "$(secret alice alice-secret-1)"
expect_fail "a user is not made twice" 1 "a user 'alice' exists" \
    as_user admin user create alice --password-file "$T/alice.pw"
expect_fail "a short password is refused" 1 "at least 8 bytes" \
    as_user admin user create bob --password-file "$(secret short 1234567)"
expect_fail "a bad user name is refused before anything is sent" 2 "user" \
    as_user admin user create "Bad Name" --password-file "$T/alice.pw"
list=$(as_user admin user list) || fail "user list failed"
[ "$(tail -n +2 <<<"$list" | awk '{ print $1 }' | tr '\n' ' ')" = "admin alice " ] \
    || fail "user list: $list"
ok "user list: admin and alice"
as_user admin --output json user show alice | grep -qi "password\|argon" && fail "a user's password hash is shown"
ok "no password or hash is ever shown"
expect_fail "alice logs in" 0 "logged in as alice until" as_user alice login alice --password-file "$T/alice.pw"
expect_fail "alice holds no role yet" 1 "no role in any Virtual Infrastructure" as_user alice vm list
expect_fail "alice may not list users" 1 "only the cloud's administrator" as_user alice user list
expect_fail "alice may not create users" 1 "only the cloud's administrator" \
    as_user alice user create mallory --password-file "$T/alice.pw"
expect_fail "alice may see herself" 0 "name: alice" as_user alice user show alice
expect_fail "alice may not see the administrator" 1 "administrator" as_user alice user show admin
expect_fail "alice may not set another's password" 1 "only the administrator" \
    as_user alice user passwd admin --password-file "$T/alice.pw"
as_user admin whoami >/dev/null || fail "the administrator's session broke"
ok "nothing alice was refused changed the administrator's session"

# Her own password, with the old one; her other sessions end, the one she used stays.
XDG_CONFIG_HOME=$T/as-alice2 "$MK_BUILD/maekinsh" --bus-endpoint=$BUS login alice \
    --password-file "$T/alice.pw" >/dev/null || fail "alice's second login"
expect_fail "one's own password needs the old one" 2 "no terminal to ask" \
    as_user alice user passwd alice --password-file "$(secret alice2 alice-secret-2)" </dev/null
expect_fail "a wrong old password is refused" 1 "the old password is wrong" \
    as_user alice user passwd alice --password-file "$T/alice2.pw" --old-password-file "$T/wrong.pw"
expect_ok "alice sets her password" \
    as_user alice user passwd alice --password-file "$T/alice2.pw" --old-password-file "$T/alice.pw"
expect_fail "the session she used stays" 0 "alice" as_user alice whoami
expect_fail "her other session ended" 1 "not valid" as_user alice2 whoami
expect_fail "the old password no longer works" 1 "wrong user name or password" \
    as_user alice3 login alice --password-file "$T/alice.pw"

# Failed logins slow down: five free, then 429 with how long to wait.
for _ in 1 2 3 4 5; do as_user bob login bob --password-file "$T/wrong.pw" >/dev/null 2>&1; done
expect_fail "the sixth failed login in a row is slowed down" 1 "too many failed logins for 'bob'.*try again in [0-9]+ s" \
    as_user bob login bob --password-file "$T/wrong.pw"
expect_fail "other users are not slowed down" 0 "logged in as alice" \
    as_user alice3 login alice --password-file "$T/alice2.pw"

# Disable, enable, delete.
expect_fail "the administrator disables alice" 0 "disabled: true" as_user admin user disable alice
expect_fail "a disabled user's live session is refused" 1 "not valid" as_user alice whoami
expect_fail "a disabled user cannot log in" 1 "disabled" as_user alice login alice --password-file "$T/alice2.pw"
expect_fail "the administrator cannot disable itself" 1 "cannot disable yourself" as_user admin user disable admin
expect_fail "enabled again" 0 "disabled: false" as_user admin user enable alice
expect_fail "and she logs in" 0 "logged in as alice" as_user alice login alice --password-file "$T/alice2.pw"
expect_fail "the administrator sets her password" 0 "name: alice" \
    as_user admin user passwd alice --password-file "$(secret alice3 alice-secret-3)"
expect_fail "which ends her sessions" 1 "not valid" as_user alice whoami
expect_fail "logout after the session ended forgets the token" 0 "already ended" as_user alice logout
[ -z "$(awk -v e="$BUS" '$1 == e' "$T/as-alice/maekin/tokens")" ] || fail "the token was kept"
expect_fail "logout when not logged in says so" 1 "not logged in to $BUS" as_user alice logout
as_user alice login alice --password-file "$T/alice3.pw" >/dev/null || fail "alice's login with the new password"
expect_fail "the administrator deletes alice" 0 "name: alice" as_user admin user delete alice
expect_fail "a deleted user's session is refused" 1 "not valid" as_user alice whoami
expect_fail "a deleted user cannot log in" 1 "wrong user name or password" \
    as_user alice login alice --password-file "$T/alice3.pw"
expect_fail "deleting a user who is not there" 1 "no user 'alice'" as_user admin user delete alice

# Forged and foreign tokens.
expect_fail "a forged token is refused" 1 "not valid" \
    with_token mkt_forgedforgedforgedforgedforgedforgedforged whoami
expect_fail "garbage as a token is refused" 1 "not valid" with_token 'x y' vm list

# API keys: shown once, used as $MAEKIN_TOKEN; a read-only one reads only; revoked, refused.
out=$(as_user admin apikey create ci) || fail "apikey create: $out"
grep -q "shown this once" <<<"$out" || fail "apikey create does not say the key is shown once: $out"
key=$(awk '$1 == "key" { print $2 }' <<<"$out")
[[ $key =~ ^mka_[A-Za-z0-9_-]{43}$ ]] || fail "not a key: '$key'"
ok "apikey create shows the key once"
expect_fail "a key is used as \$MAEKIN_TOKEN" 0 "credential +apikey" with_token "$key" whoami
expect_fail "a key's name is its user's once" 1 "has a key named 'ci' already" as_user admin apikey create ci
json=$(as_user admin --output json apikey create watcher --read-only --days 30) || fail "apikey create --read-only"
ro=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["key"])' "$json")
expect_fail "a read-only key reads" 0 "NAME" with_token "$ro" template list
expect_fail "a read-only key changes nothing" 1 "read-only" with_token "$ro" template create x --vcpus 1 --memory 64
expect_fail "nor its user's keys" 1 "read-only" with_token "$ro" apikey create more
list=$(as_user admin apikey list) || fail "apikey list"
grep -q "mka_" <<<"$list" && fail "apikey list shows a secret: $list"
[ "$(tail -n +2 <<<"$list" | awk '{ print $2 }' | tr '\n' ' ')" = "ci watcher " ] || fail "apikey list: $list"
ok "apikey list: the keys by name, no secrets"
expect_fail "apikey revoke" 0 "name: ci" as_user admin apikey revoke ci
expect_fail "a revoked key is refused" 1 "not valid" with_token "$key" whoami
expect_fail "revoking it again" 1 "no key named 'ci'" as_user admin apikey revoke ci
expect_fail "a key for a user who is not there" 1 "no user 'nobody'" as_user admin apikey create x --user nobody

# Sessions are in the database: a restarted controller knows them.
stop controller
start_controller
eventually 30 "after a restart the administrator's session still works" as_user admin whoami
expect_fail "and its read-only key" 0 "credential +apikey" with_token "$ro" whoami

# The audit log: what was done and tried, by whom, with which credential.
log=$(as_user admin audit list) || fail "audit list: $log"
head -n 1 <<<"$log" | grep -q "^ID  *TIME  *USER  *CREDENTIAL  *REQUEST  *VI  *SUBJECT  *STATUS  *REASON" \
    || fail "audit list's header: $(head -n 1 <<<"$log")"
grep -qE " alice +session +user_create +- +mallory +403 +only the cloud's administrator" <<<"$log" \
    || fail "alice's refused user create is not in the audit log: $log"
grep -qE " admin +session +user_disable +- +alice +200" <<<"$log" || fail "the disable is not logged"
grep -qE " admin +apikey:watcher +template_create +- +x +403 +a read-only API key" <<<"$log" \
    || fail "the read-only key's refusal is not logged"
grep -qE " +password +login +- +bob +401 +wrong user name or password" <<<"$log" \
    || fail "bob's failed logins are not logged"
grep -qE "template_list|whoami|apikey_list" <<<"$log" && fail "reads are in the audit log"
ok "the audit log holds what was done and tried, allowed and refused, and no reads"
json=$(as_user admin --output json audit list --user alice --limit 2) || fail "audit list json"
python3 -c 'import json,sys; d=json.loads(sys.argv[1]); e=d["entries"]; assert len(e) == 2 and all(x["user"] == "alice" for x in e) and e[0]["id"] > e[1]["id"], d' "$json" \
    || fail "audit list --user alice --limit 2: $json"
ok "audit list --user alice --limit 2: hers, newest first"
expect_fail "audit list --since in the future is empty" 0 "^no entries" as_user admin audit list --since "$(date -d tomorrow +%F)"
expect_fail "a bad --since is said" 2 "--since must be" as_user admin audit list --since yesterday

# Bad arguments: said, nothing sent.
expect_fail "login without a user" 2 "missing USER" as_user admin login
expect_fail "a session too short" 2 "--ttl" as_user admin login admin --ttl 5 --password-file "$T/admin-password"
expect_fail "an empty password file" 2 "holds no password" \
    as_user admin login admin --password-file "$(secret empty '')"
: >"$T/empty.pw"
expect_fail "a password file of no lines" 2 "holds no password" \
    as_user admin login admin --password-file "$T/empty.pw"
expect_fail "a password from the standard input" 0 "logged in as admin" \
    as_user admin login admin --password-file - <"$T/admin-password"
expect_fail "logout" 0 "logged out of admin's session" as_user admin logout
expect_fail "after logout nothing is allowed" 1 "needs a credential" as_user admin vm list

# A lost administrator's password: set in the database while the controller is stopped.
expect_fail "admin db passwd is refused while the controller runs" 1 "stop it before 'admin db passwd'" \
    "$MK_BUILD/maekinsh" --db-url="sqlite:$T/maekin.db" admin db passwd admin --password-file "$(secret lost admin-found-again)"
stop controller
expect_fail "admin db passwd sets it in the database" 0 "password set" \
    "$MK_BUILD/maekinsh" --db-url="sqlite:$T/maekin.db" admin db passwd admin --password-file "$T/lost.pw"
start_controller
eventually 30 "the restarted controller takes the new password" \
    as_user admin login admin --password-file "$T/lost.pw"
expect_fail "and not the old one" 1 "wrong user name or password" \
    as_user admin2 login admin --password-file "$T/admin-password"

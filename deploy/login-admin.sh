#!/bin/bash
# Logs maekinsh in as the cloud's administrator once the controller has written its
# first password and serves, and prints the session's token (for $MAEKIN_TOKEN: the
# benches' own clients send it). maekinsh keeps the token too, in
# ${XDG_CONFIG_HOME:-$HOME/.config}/maekin/tokens.
# usage: deploy/login-admin.sh BUILD_DIR ENDPOINT PASSWORD_FILE [SECONDS (default 60)]
set -u
build=${1:?usage: login-admin.sh BUILD_DIR ENDPOINT PASSWORD_FILE [SECONDS]}
endpoint=${2:?usage: login-admin.sh BUILD_DIR ENDPOINT PASSWORD_FILE [SECONDS]}
password_file=${3:?usage: login-admin.sh BUILD_DIR ENDPOINT PASSWORD_FILE [SECONDS]}
limit=${4:-60}
config=${XDG_CONFIG_HOME:-}
[ "${config:0:1}" = / ] || config=$HOME/.config
tokens=$config/maekin/tokens
out="no $password_file yet"
until=$((SECONDS + limit))
while [ $SECONDS -lt $until ]; do
    if [ -s "$password_file" ]; then
        out=$(MAEKIN_TOKEN= "$build/maekinsh" --bus-endpoint="$endpoint" login admin \
            --password-file "$password_file" 2>&1)
        rc=$?
        if [ $rc -eq 0 ]; then
            awk -v e="$endpoint" '$1 == e { print $2 }' "$tokens"
            exit 0
        fi
        # A configuration error (no key, say) will not mend itself.
        [ $rc -eq 2 ] && break
    fi
    # A wrong password will not become right: the administrator changed it.
    grep -q "wrong user name or password" <<<"$out" && break
    sleep 0.1
done
echo "login-admin: cannot log in as admin at $endpoint: $out" >&2
exit 1

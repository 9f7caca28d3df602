#!/bin/sh
# Installs the Debian packages listed in the given files (default: deploy/packages.txt)
# that are not installed yet. Safe to run again: with everything present it does nothing.
# With DEPS_NO_DAEMONS=1, the packages' daemons are not started (a policy-rc.d while they
# install): the tests and benchmarks start the servers they use themselves.
set -eu
here=$(dirname "$0")
[ $# -gt 0 ] || set -- "$here/packages.txt"
missing=""
for pkg in $(cat "$@" | sed 's/#.*//'); do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    case "$status" in
        *"ok installed") ;;
        *) missing="$missing $pkg" ;;
    esac
done
[ -n "$missing" ] || exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "deps: missing Debian packages:$missing" >&2
    echo "deps: run 'sudo make deps' (or install them with apt-get) and try again" >&2
    exit 1
fi
echo "deps: installing$missing"
policy=/usr/sbin/policy-rc.d
if [ "${DEPS_NO_DAEMONS:-0}" = 1 ] && [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy"
    trap 'rm -f "$policy"' EXIT
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing >/dev/null

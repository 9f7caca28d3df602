# The start of a benchmark on several nodes in namespaces (deploy/cluster.sh), sourced
# by detect.sh and traffic.sh after `name=...`: the build directory from $1, the
# sources, root, a scratch directory T whose cluster (T/c) is stopped and removed at
# exit, and `cluster` to drive it.
set -u
build=$(cd "${1:-build}" && pwd)
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
[ "$(id -u)" -eq 0 ] || { echo "$name: needs root (network namespaces)"; exit 2; }
T=$(mktemp -d "/tmp/maekin-$name.XXXXXX") # mktemp's template, not a placeholder
cluster() { "$src/deploy/cluster.sh" "$@"; }
trap 'cluster stop -d "$T/c" >/dev/null 2>&1; rm -rf "$T"' EXIT
trap 'exit 1' INT TERM

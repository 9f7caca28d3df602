# Shared helpers for tests/guest/*.sh (sourced, not run).
guest_kit_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
guest_repo_dir=$(cd "$guest_kit_dir/../.." && pwd)

die() { echo "${0##*/}: error: $*" >&2; exit 1; }
say() { echo "${0##*/}: $*" >&2; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# Installs the kit's Debian packages that are missing (through the project's deploy/deps.sh).
guest_need_packages() {
    if ! timeout 900 "$guest_repo_dir/deploy/deps.sh" "$guest_kit_dir/packages.txt" >&2; then
        die "could not install the packages in $guest_kit_dir/packages.txt (run as root, with apt reachable)"
    fi
}

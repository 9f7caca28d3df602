# install/maekin-checks.sh: the checks install/'s scripts share, on the values they write
# into configuration files, kickstarts and command lines as they are. Sourced, not run.

# maekin_valid_name NAME: a host's name as the cloud takes it (common/mk_name.c).
maekin_valid_name() { [[ $1 =~ ^[a-z0-9][a-z0-9._-]{0,62}$ ]]; }

# maekin_valid_host HOST: a DNS name or an IPv4 address.
maekin_valid_host() {
    [ ${#1} -le 253 ] && [[ $1 =~ ^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$ ]]
}

# maekin_valid_token TOKEN: the form of a join token ('maekinsh host token NAME').
maekin_valid_token() { [[ $1 =~ ^mkj_[A-Za-z0-9_-]{43}$ ]]; }

# maekin_broker_key FILE: prints the public key of a broker.key file (40 characters of
# Z85, none a quote, a backslash or a space); fails for any other file, a secret one too.
maekin_broker_key() {
    local key
    [ -r "$1" ] || return 1
    key=$(sed -n 's/^ *public-key = "\([^"\\ ]\{40\}\)"$/\1/p' "$1")
    [ -n "$key" ] && ! grep -q secret-key "$1" && printf '%s\n' "$key"
}

/*  mk_secret: the secrets users hold, as the cloud keeps them (issue 17's users and
    sessions). A password is kept only as libsodium's Argon2id string (crypto_pwhash_str,
    its interactive limits: some 64 MiB and tens of milliseconds to check, which is the
    point), checked at login and never again: a login gives a token, and a token or an
    API key is 32 random bytes that the cloud keeps only as their BLAKE2b digest, so
    checking one is a table lookup of its digest, microseconds, and the database holds
    nothing a caller could present. Thread-safe. */
#ifndef MK_SECRET_H_INCLUDED
#define MK_SECRET_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>

#define MK_SECRET_PASSWORD_MIN 8    //  bytes in a password
#define MK_SECRET_PASSWORD_MAX 1024 //  bytes in a password
#define MK_SECRET_PREFIX_MAX   8    //  bytes in a token's prefix
#define MK_SECRET_DIGEST_HEX   64   //  hex digits of a digest

//  Why a password cannot be set (a static string), or NULL if it can.
const char *mk_secret_password_refused (const char *password);

//  The Argon2id string of a password (a new string), or NULL with *why (a static
//  string) if it is refused or memory is short.
char *mk_secret_password_hash (const char *password, const char **why);

//  True if password is the one hashed into hash (an mk_secret_password_hash string).
bool mk_secret_password_check (const char *hash, const char *password);

//  A new token: prefix (which says what it is: "mkt_" a session, "mka_" an API key;
//  letters, digits and '_', at most MK_SECRET_PREFIX_MAX bytes), then 32 random bytes
//  in base64url without padding (43 characters). A new string.
char *mk_secret_token_new (const char *prefix);

//  The digest under which a token is kept and looked up: BLAKE2b-256 of its text, in
//  lowercase hex, into digest (MK_SECRET_DIGEST_HEX + 1 bytes).
void mk_secret_digest (const char *token, char *digest);

//  Whether two strings are equal, in time that does not depend on where they differ.
bool mk_secret_equal (const char *a, const char *b);

//  The API key in a file (its first line), which only its owner may read, for a program's
//  setting (named in the errors): NULL, or why not (a new string).
char *mk_secret_key_file (const char *setting, const char *path, char *key, size_t size);

void mk_secret_test (bool verbose);

#endif

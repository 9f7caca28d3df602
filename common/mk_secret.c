/*  mk_secret: passwords, tokens and their digests (mk_secret.h). */
#include "maekin.h"

#include "mk_limits.h"
#include "mk_secret.h"

#include <sys/stat.h>

#include <pthread.h>
#include <sodium.h>

#define S_TOKEN_BYTES 32

static pthread_once_t s_once = PTHREAD_ONCE_INIT;

static void
s_init (void)
{
    if (sodium_init () < 0)
        abort ();
}

const char *
mk_secret_password_refused (const char *password)
{
    size_t size = password ? strlen (password) : 0;
    if (size < MK_SECRET_PASSWORD_MIN)
        return "a password has at least " MK_STRINGIFY (MK_SECRET_PASSWORD_MIN) " bytes";
    if (size > MK_SECRET_PASSWORD_MAX)
        return "a password has at most " MK_STRINGIFY (MK_SECRET_PASSWORD_MAX) " bytes";
    return NULL;
}

char *
mk_secret_password_hash (const char *password, const char **why)
{
    pthread_once (&s_once, s_init);
    *why = mk_secret_password_refused (password);
    if (*why)
        return NULL;
    char *hash = (char *) malloc (crypto_pwhash_STRBYTES);
    assert (hash);
    if (crypto_pwhash_str (hash, password, strlen (password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                           crypto_pwhash_MEMLIMIT_INTERACTIVE)
        != 0) {
        free (hash);
        *why = "not enough memory to hash a password";
        return NULL;
    }
    return hash;
}

bool
mk_secret_password_check (const char *hash, const char *password)
{
    pthread_once (&s_once, s_init);
    if (!hash || !password || mk_secret_password_refused (password)
        || strnlen (hash, crypto_pwhash_STRBYTES) >= crypto_pwhash_STRBYTES)
        return false;
    return crypto_pwhash_str_verify (hash, password, strlen (password)) == 0;
}

char *
mk_secret_token_new (const char *prefix)
{
    pthread_once (&s_once, s_init);
    size_t size = strlen (prefix);
    assert (size <= MK_SECRET_PREFIX_MAX);
    for (size_t i = 0; i < size; i++)
        assert (isalnum ((unsigned char) prefix[i]) || prefix[i] == '_');
    unsigned char bytes[S_TOKEN_BYTES];
    randombytes_buf (bytes, sizeof bytes);
    size_t encoded =
        sodium_base64_ENCODED_LEN (S_TOKEN_BYTES, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *token = (char *) malloc (size + encoded);
    assert (token);
    memcpy (token, prefix, size);
    sodium_bin2base64 (token + size, encoded, bytes, sizeof bytes,
                       sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero (bytes, sizeof bytes);
    return token;
}

void
mk_secret_digest (const char *token, char *digest)
{
    pthread_once (&s_once, s_init);
    unsigned char out[MK_SECRET_DIGEST_HEX / 2];
    crypto_generichash (out, sizeof out, (const unsigned char *) token, strlen (token), NULL, 0);
    sodium_bin2hex (digest, MK_SECRET_DIGEST_HEX + 1, out, sizeof out);
}

bool
mk_secret_equal (const char *a, const char *b)
{
    size_t size = strlen (a);
    if (size != strlen (b))
        return false;
    return sodium_memcmp (a, b, size) == 0;
}

char *
mk_secret_key_file (const char *setting, const char *path, char *key, size_t size)
{
    struct stat info;
    if (stat (path, &info) != 0)
        return zsys_sprintf ("%s '%s': %s", setting, path, strerror (errno));
    if (info.st_mode & (S_IRWXG | S_IRWXO))
        return zsys_sprintf ("%s '%s' may be read by others than its owner: chmod 600 it", setting,
                             path);
    FILE *file = fopen (path, "r");
    if (!file || !fgets (key, (int) size, file)) {
        if (file)
            fclose (file);
        return zsys_sprintf ("%s '%s' cannot be read", setting, path);
    }
    fclose (file);
    key[strcspn (key, "\r\n")] = 0;
    if (strncmp (key, "mka_", 4) != 0 || strlen (key) != 47)
        return zsys_sprintf ("%s '%s' holds no API key ('maekinsh apikey create NAME "
                             "--read-only' makes one)",
                             setting, path);
    return NULL;
}

void
mk_secret_test (bool verbose)
{
    //  Passwords: too short or too long refused with why; the right one checks, a wrong
    //  one, an empty one and a damaged hash do not; two hashes of one password differ.
    const char *why = NULL;
    assert (!mk_secret_password_hash ("short", &why) && strstr (why, "at least 8"));
    char *long_one = (char *) malloc (MK_SECRET_PASSWORD_MAX + 2);
    memset (long_one, 'p', MK_SECRET_PASSWORD_MAX + 1);
    long_one[MK_SECRET_PASSWORD_MAX + 1] = 0;
    assert (!mk_secret_password_hash (long_one, &why) && strstr (why, "at most 1024"));
    assert (!mk_secret_password_check ("$argon2id$", long_one));
    free (long_one);
    int64_t start = zclock_mono ();
    char *hash = mk_secret_password_hash ("correct horse", &why);
    int64_t took = zclock_mono () - start;
    assert (hash && strncmp (hash, "$argon2id$", 10) == 0 && !strstr (hash, "correct"));
    assert (mk_secret_password_check (hash, "correct horse"));
    assert (!mk_secret_password_check (hash, "correct horsE"));
    assert (!mk_secret_password_check (hash, ""));
    assert (!mk_secret_password_check (NULL, "correct horse"));
    char *other = mk_secret_password_hash ("correct horse", &why);
    assert (other && !streq (other, hash) && mk_secret_password_check (other, "correct horse"));
    other[strlen (other) - 2] ^= 1;
    assert (!mk_secret_password_check (other, "correct horse"));
    free (other);
    free (hash);
    if (verbose)
        printf (" * an Argon2id hash of a password: %d ms\n", (int) took);

    //  Tokens: the prefix, then 43 base64url characters; never the same twice.
    char *token = mk_secret_token_new ("mkt_");
    assert (strlen (token) == 4 + 43 && strncmp (token, "mkt_", 4) == 0);
    for (const char *c = token + 4; *c; c++)
        assert (isalnum ((unsigned char) *c) || *c == '-' || *c == '_');
    char *again = mk_secret_token_new ("mkt_");
    assert (!streq (token, again));

    //  Digests: 64 hex digits, the same for the same token, another for another.
    char digest[MK_SECRET_DIGEST_HEX + 1], same[MK_SECRET_DIGEST_HEX + 1],
        different[MK_SECRET_DIGEST_HEX + 1];
    mk_secret_digest (token, digest);
    mk_secret_digest (token, same);
    mk_secret_digest (again, different);
    assert (strlen (digest) == MK_SECRET_DIGEST_HEX && streq (digest, same));
    assert (!streq (digest, different) && !strstr (digest, token + 4));
    assert (mk_secret_equal (digest, same) && !mk_secret_equal (digest, different));
    assert (!mk_secret_equal (digest, "") && mk_secret_equal ("", ""));
    free (token);
    free (again);
}

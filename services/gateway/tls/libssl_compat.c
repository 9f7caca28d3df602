/*  libssl_compat: lets Debian 12's civetweb (1.15) serve TLS with OpenSSL 3. civetweb
    loads "libssl.so" at run time and asks it for SSL_get_peer_certificate, which OpenSSL
    3 keeps only as a macro for SSL_get1_peer_certificate (civetweb's issue #1334), so it
    finds no TLS at all. This object is named libssl.so (its soname), depends on the real
    libssl.so.3 and adds that one function; the gateway loads it before civetweb does,
    and civetweb's dlopen ("libssl.so") then returns it: every other symbol is found in
    the real library beneath it. Built apart from the program (a shared object, without
    the sanitizers); nothing else links it. */

struct ssl_st;
struct x509_st;
struct x509_st *SSL_get1_peer_certificate (const struct ssl_st *ssl);
struct x509_st *SSL_get_peer_certificate (const struct ssl_st *ssl);

struct x509_st *
SSL_get_peer_certificate (const struct ssl_st *ssl)
{
    return SSL_get1_peer_certificate (ssl);
}

/*  mk_curve: the bus's keys. Every program has its own CURVE key pair, kept as CZMQ
    certificates in a directory of keys: NAME.key (the public key, to hand out) and
    NAME.key_secret (both keys, readable by its owner alone: a secret file any other user
    may read is refused, as ssh refuses one). The broker's public key is what every other
    program needs to reach it. Who may connect is the broker's allow-list (mk_zap). */
#ifndef MK_CURVE_H_INCLUDED
#define MK_CURVE_H_INCLUDED

#include "maekin.h"

//  A public key as text: Z85, 40 characters.
#define MK_CURVE_KEY_TEXT 40

//  Makes a key pair NAME in dir (made 0700 if missing): 0, or -1 and *error (a new
//  string). An existing pair is never overwritten.
int mk_curve_keygen (const char *dir, const char *name, char **error);

//  A program's key pair from its secret file: the certificate, or NULL and *error.
zcert_t *mk_curve_load (const char *secret_path, char **error);

//  A public key from a NAME.key file or as 40 characters of Z85: 0 and key (41 bytes),
//  or -1 and *error.
int mk_curve_public (const char *file_or_key, char *key, char **error);

//  A secret the cloud's programs share (the monitors' multicast key): MK_CURVE_SECRET
//  random bytes, as hex in a file its owner alone may read. Made (never over another
//  file): 0, or -1 and *error; read (refused if others may read it): 0 and secret, or
//  -1 and *error.
#define MK_CURVE_SECRET 32
int mk_curve_secret_new (const char *path, char **error);
int mk_curve_secret_load (const char *path, uint8_t *secret, char **error);
//  A secret given (a node's at its enrolment) kept in such a file: written whole beside it
//  and renamed over what was there. 0, or -1 and *error.
int mk_curve_secret_save (const char *path, const uint8_t *secret, char **error);

//  Sets a socket, before it binds or connects, to serve with its key pair (the broker's
//  sockets; its clients are asked about in the ZAP domain, mk_zap), or to reach a server
//  whose public key is server_key (everyone else's).
void mk_curve_server (zsock_t *sock, zcert_t *cert, const char *domain);
void mk_curve_client (zsock_t *sock, zcert_t *cert, const char *server_key);

void mk_curve_test (bool verbose);

#endif

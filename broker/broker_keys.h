/*  broker_keys: who may do what on the bus (proto/BUS.md, "Security"). The broker knows
    each message's sender by its CURVE public key; this table says what that key may do:

    - the controller's keys (the broker's configuration) do anything: serve `cloud` and
      `enrol`, send to every service, publish every topic, push the list;
    - a node key serves `node/<host>` for its hosts and `agent/<id>` services, sends to
      `cloud`, and publishes `metric.host.<host>` for its hosts;
    - a client key sends to `cloud` and listens to the streams;
    - any other key (a stranger) may only send to `enrol`.

    The rest of the list is the controller's: it pushes it whole (BusKeys) and the table
    takes it in place of the last, keeping the configuration's keys. A key past its
    expiry (the old key of a rotation) is a stranger.

    ZAP lets every CURVE key in, on every socket of the broker: each message is judged by
    its key here instead. (A connection ZAP turns away is not tried again by ZeroMQ: a
    monitor that reached a restarted broker before the controller pushed the list would
    stay cut off for good.) */
#ifndef BROKER_KEYS_H_INCLUDED
#define BROKER_KEYS_H_INCLUDED

#include "maekin.h"
#include "mk_msg.h"

//  What a stranger may reach: the enrolment door, at most BROKER_ENROL_RATE requests a
//  second from all strangers together (BROKER_ENROL_BURST at once).
#define BROKER_ENROL_SERVICE "enrol"
#define BROKER_ENROL_RATE    10
#define BROKER_ENROL_BURST   20
//  The broker's own service, where the controller pushes the list.
#define BROKER_KEYS_SERVICE "bus/keys"
//  Where, inside the broker's process, the router passes the lists on to the stream.
#define BROKER_KEYS_ENDPOINT "inproc://maekin-broker-keys"

typedef struct _broker_keys_t broker_keys_t;
typedef struct _broker_key_t broker_key_t;

//  A table with the configuration's controller keys (comma-separated, each a public key
//  file or 40 characters of Z85) and nothing else; NULL and *error if one is no key.
broker_keys_t *broker_keys_new (const char *controller_keys, char **error);
void broker_keys_destroy (broker_keys_t **self_p);

//  Takes a pushed list in place of the last (the configuration's keys stay): 0, or -1
//  and *error (a new string) if one entry is malformed (then nothing changes).
int broker_keys_take (broker_keys_t *self, const Maekin__BusKeys *keys, char **error);

//  The digest the controller gave with the list the table has (empty before one).
const uint8_t *broker_keys_digest (broker_keys_t *self, size_t *size);

//  The entry of a key (Z85 text) that works at now (unix ms), or NULL: a stranger.
const broker_key_t *broker_keys_find (broker_keys_t *self, const char *key, int64_t now);

//  Forgets keys past their expiry; true if there were any (their connections should be
//  cut). Cheap when none is due.
bool broker_keys_expire (broker_keys_t *self, int64_t now);

//  What a key (NULL: a stranger) may do. Any admitted key may listen to the streams.
bool broker_key_may_send (const broker_key_t *key, const char *service);
bool broker_key_may_serve (const broker_key_t *key, const char *service);
bool broker_key_may_publish (const broker_key_t *key, const byte *topic, size_t size);
//  Controller keys may serve a service another key's workers serve too.
bool broker_key_is_controller (const broker_key_t *key);
const char *broker_key_name (const broker_key_t *key);

void broker_keys_test (bool verbose);

#endif

/*  controller_fixture: what the controller's self-tests share (controller_server_test,
    controller_user_test): a real broker and the real controller on SQLite with
    authorisation on, the administrator logged in, and the calls the tests make. Test
    code only (built into mk_selftest). */
#ifndef CONTROLLER_FIXTURE_TEST_H_INCLUDED
#define CONTROLLER_FIXTURE_TEST_H_INCLUDED

#include "controller_core.h"

#include "broker_router.h"
#include "mk_curve.h"
#include "mk_fake_peer.h"
#include "mk_zap.h"

typedef struct {
    char *dir;       //  the test directory, the database in it
    char *url;       //  the database's
    char *stream_in; //  the controller's stream (inproc)
    char *endpoint;  //  the broker's
    zactor_t *broker;
    controller_opts_t opts;
    zactor_t *controller;
    mk_fake_peer_t *agent; //  a stand-in agent, once a test starts one
    int batches;           //  task batches it was sent (its state)
    mk_client_t *client;   //  logged in as the administrator
    char token[64];        //  its session's token
    char *password_file;   //  where the controller put the administrator's password
    //  On a CURVE bus (controller_fixture_start_curve): the broker's and the controller's
    //  key pairs (the client is the controller's key, which may do anything), the
    //  broker's ZAP handler.
    zcert_t *broker_cert;
    zcert_t *controller_cert;
    mk_zap_t *zap;
} controller_fixture_t;

//  The controller's options the self-tests share: short timeouts, small batches,
//  authorisation on; a test changes what it needs.
controller_opts_t controller_fixture_opts (const char *endpoint, const char *stream_in,
                                           const char *db_url, const char *password_file);

//  Starts the broker and the controller in a new test directory named after the test,
//  and logs the client in as the administrator once the controller serves.
void controller_fixture_start (controller_fixture_t *self, const char *name);
//  The same on a CURVE bus: the broker judges each message by its sender's key, and tells
//  the controller who sent each request (mk_request_t's caller). The controller has the
//  multicast key below to give at enrolments.
void controller_fixture_start_curve (controller_fixture_t *self, const char *name);
extern const uint8_t controller_fixture_multicast_key[MK_CURVE_SECRET];
//  On a CURVE bus: a new client connected with a copy of the key pair `cert` (a key the
//  broker does not know is a stranger, who reaches `enrol` alone).
mk_client_t *controller_fixture_client (controller_fixture_t *self, zcert_t *cert);
void controller_fixture_stop (controller_fixture_t *self);

//  One request to 'cloud' (5 s, no retry): the reply.
Maekin__Envelope *controller_fixture_call (mk_client_t *client, Maekin__Envelope *env);
//  One request with a body of `type`, as `token` (NULL: none): the reply; or its status,
//  asserting that its reason holds `reason` if given.
Maekin__Envelope *controller_fixture_as (mk_client_t *client, const char *token,
                                         Maekin__Envelope__BodyCase type, void *body);
int controller_fixture_status_as (mk_client_t *client, const char *token,
                                  Maekin__Envelope__BodyCase type, void *body, const char *reason);
//  Logs in: the status, and the token into token (64 bytes) if 200.
int controller_fixture_login (mk_client_t *client, const char *user, const char *password,
                              char *token);
//  The audit log as the administrator (token) reads it: its newest 1,000 entries, the
//  answer asserted 200 (the caller frees it).
Maekin__Envelope *controller_fixture_audit (mk_client_t *client, const char *token);
//  A user who is not the administrator, made by the administrator (admin_token) and
//  logged in: the session's token into token (64 bytes). Asserts it all went well.
void controller_fixture_user (mk_client_t *client, const char *admin_token, const char *user,
                              const char *password, char *token);
//  The administrator's password, as the controller wrote it at its first start (a new
//  string; the file must be mode 0600).
char *controller_fixture_admin_password (controller_fixture_t *self);
//  Waits until the controller serves 'cloud' (it registers as it starts).
void controller_fixture_until_serving (mk_client_t *client);

#endif

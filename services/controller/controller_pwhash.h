/*  controller_pwhash: passwords checked and hashed off the controller's thread. Argon2id
    takes tens of milliseconds and 64 MiB by design; the controller hands each such job
    to this actor and goes on accepting requests, and finishes the request the job
    belongs to when its answer comes (controller_user.c). Jobs run one at a time, in
    order: logins cannot take more than a core, whatever is thrown at them.

    A job is a check (is `password` the one hashed in `hash`?), a hash (of `fresh`), or
    both (check, and only if it passes, hash the fresh one: a user's own new password).
    A check against "" spends the same time and fails, so an unknown user name answers
    as slowly as a wrong password. */
#ifndef CONTROLLER_PWHASH_H_INCLUDED
#define CONTROLLER_PWHASH_H_INCLUDED

#include "maekin.h"

//  What a job found: whether the check passed (true if there was none), and the fresh
//  password's hash (a new string; NULL if none was asked or the check failed).
typedef struct {
    uint64_t job;
    bool ok;
    char *hash;
} controller_pwhash_result_t;

zactor_t *controller_pwhash_new (void);

//  Queue a job: check `password` against `hash` (if password is not NULL), then hash
//  `fresh` (if not NULL). 0, or -1 if the actor is gone.
int controller_pwhash_send (zactor_t *self, uint64_t job, const char *hash, const char *password,
                            const char *fresh);

//  The next result, without waiting: 0 and *result filled, or -1 if none is ready.
int controller_pwhash_recv (zactor_t *self, controller_pwhash_result_t *result);

void controller_pwhash_test (bool verbose);

#endif

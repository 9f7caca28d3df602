/*  controller_auth: the one place that decides whether a caller may make a request. */
#include "controller_auth.h"

int
controller_auth_check (const Maekin__Envelope *request, controller_auth_action_t action,
                       const char **reason)
{
    const Maekin__Credential *credential = request->credential;
    if (!credential || !credential->user || !*credential->user || streq (credential->user, "admin"))
        return 0;
    *reason = "unknown user: this cloud has only its local administrator for now";
    return -1;
}

void
controller_auth_test (bool verbose)
{
    const char *reason = NULL;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    assert (controller_auth_check (&env, AUTH_OPERATE, &reason) == 0);
    Maekin__Credential credential = MAEKIN__CREDENTIAL__INIT;
    env.credential = &credential;
    assert (controller_auth_check (&env, AUTH_OPERATE, &reason) == 0);
    credential.user = "admin";
    assert (controller_auth_check (&env, AUTH_OPERATE, &reason) == 0);
    credential.user = "mallory";
    for (int action = AUTH_READ; action <= AUTH_AGENT; action++)
        assert (controller_auth_check (&env, (controller_auth_action_t) action, &reason) == -1
                && strstr (reason, "unknown user"));
}

/*  controller_auth: the one place that decides whether a caller may make a request.
    Every request passes here before anything else reads it. Until users, roles and VIs
    exist, the rule is: a request from the local administrator (no credential, or user
    "admin") is admitted; any other named user is refused, so that nothing written
    before roles exist can grant what roles will not. */
#ifndef CONTROLLER_AUTH_H_INCLUDED
#define CONTROLLER_AUTH_H_INCLUDED

#include "maekin.h"

//  0 if the caller may make the request, else -1 with *reason (static text).
int controller_auth_check (const Maekin__Envelope *request, const char **reason);

void controller_auth_test (bool verbose);

#endif

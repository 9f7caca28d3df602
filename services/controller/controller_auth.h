/*  controller_auth: the one place that decides whether a caller may make a request.
    Every request passes here before anything else reads it, with the action its row in
    the request table (controller_request.c) names. Until users, roles and VIs exist,
    the rule is: a request from the local administrator (no credential, or user "admin")
    is admitted for every action; any other named user is refused, so that nothing
    written before roles exist can grant what roles will not. */
#ifndef CONTROLLER_AUTH_H_INCLUDED
#define CONTROLLER_AUTH_H_INCLUDED

#include "maekin.h"

//  What a request does, as far as authorisation cares.
typedef enum {
    AUTH_READ,    //  reads the cloud's state (lists, shows, waits, events)
    AUTH_OPERATE, //  acts on VMs (create, start, stop, delete, ...)
    AUTH_ADMIN,   //  changes what the cloud offers (templates) or asks hosts directly
    AUTH_AGENT    //  an agent's report or event about its host
} controller_auth_action_t;

//  0 if the caller may make the request, else -1 with *reason (static text).
int controller_auth_check (const Maekin__Envelope *request, controller_auth_action_t action,
                           const char **reason);

void controller_auth_test (bool verbose);

#endif

/*  controller_server: the global controller as an actor. It serves `cloud` (and the
    enrolment door, `enrol`) on the bus, keeps the cloud's state in the database, turns
    every change into a task written in the same transaction as the state change,
    dispatches tasks to agents and moves VMs through their lifecycle as results come
    back.

    It works in batches: every request and agent result waiting on its sockets is handled
    in one transaction, committed once (one fsync), and only then are replies sent,
    events published and tasks dispatched. Nothing a client heard as accepted can be lost,
    and the fsync is shared by the whole batch. */
#ifndef CONTROLLER_SERVER_H_INCLUDED
#define CONTROLLER_SERVER_H_INCLUDED

#include "maekin.h"

#include "controller_history.h"

typedef struct {
    const char *endpoint;   //  the broker's request endpoint
    const char *stream_in;  //  the broker's publishers' endpoint (XSUB)
    const char *stream_out; //  the broker's subscribers' endpoint (XPUB), for the monitors'
                            //  metrics; NULL or "" for none
    const char *db_url;     //  the database, e.g. "sqlite:var/maekin.db"
    int host_timeout_ms;    //  a host whose agent has not reported for this long is down
    int task_timeout_ms;    //  a dispatched task without an answer for this long fails
    int cpu_ratio;          //  vCPU overcommit, percent
    int mem_ratio;          //  memory overcommit, percent
    int batch_max;          //  messages handled in one transaction at most
    int request_ttl_s;      //  how long a request id's answer is remembered
    const char *image_dirs; //  where templates' images, kernels and initrds may be (':')
    controller_history_opts_t history; //  the metrics' history; all 0: the defaults
    bool enforce;                      //  authorisation on: requests need a credential
    int session_ttl_s;                 //  a session's life at most (and by default)
    const char *admin_password_file;   //  where the first administrator's password goes
    int audit_keep_days;               //  the audit log's entries are kept this long
    const char *client_key;       //  the CLI installations' public key (Z85), admitted at start
                                  //  as the bus key `maekinsh` if none has that name; NULL: none
    const uint8_t *multicast_key; //  the monitors' multicast key (MK_CURVE_SECRET bytes),
                                  //  given to each node at its enrolment; NULL: none
} controller_opts_t;

//  Open the database, take its claim (one controller per database, see mk_db_claim;
//  a restore or a migration holding it is waited for), migrate it, load the state and
//  start serving. NULL, with the cause logged, if the database cannot be opened or
//  migrated, or another controller holds it (then *held, if given, is true). Should the
//  claim be taken from it later (it stood still longer than a claim lasts), the actor
//  stops serving and says on its pipe "LOST" (another controller has it) or "GONE" (a
//  restore or a migration took it: start again on what it leaves); its owner should
//  then destroy it.
zactor_t *controller_server_new (const controller_opts_t *opts, bool *held);

void controller_server_test (bool verbose);

#endif

/*  gateway_server: maekin-gateway's actor. Serves HTTP with civetweb (its threads run the
    REST API's requests: gateway_http) and owns the one bus client they share
    (gateway_bus), whose socket only this actor's loop touches. */
#ifndef GATEWAY_SERVER_H_INCLUDED
#define GATEWAY_SERVER_H_INCLUDED

#include "maekin.h"

typedef struct {
    const char *endpoint;    //  the broker's request endpoint
    const char *stream_out;  //  the broker's stream (its subscribers' side); NULL or "": none
    const char *listen;      //  where HTTP is served: "127.0.0.1:8080" (port 0: any free one)
    const char *certificate; //  a PEM file holding the certificate and its key: HTTPS; NULL or
                             //  "": plain HTTP
    int max_connections;     //  connections served at once; past them 503
    int max_body_kb;         //  the largest request body
    int bus_timeout_ms;      //  how long a request waits for the cloud
    int wait_max_ms;         //  the longest task wait
    int request_timeout_ms;  //  a client slower than this to send its request is cut off
    int keep_alive_ms;       //  an idle keep-alive connection is closed after this
    int thread_stack_kb;     //  the stack of the gateway's own threads (civetweb's are its own)
    const char *metrics_key; //  the API key a scrape of /metrics without one is made with
                             //  (NULL or "": none, the scrape must bring its own)
    const char *web_root;    //  the dashboard's files (gateway_web); NULL or "": web/ beside
                             //  the program or ../share/maekin/web, if there; "none": none
} gateway_opts_t;

//  Check the options: NULL, or why not (a new string).
char *gateway_opts_check (const gateway_opts_t *opts);

//  Start the actor; NULL (logged) if HTTP cannot be served (the port is taken, the
//  certificate is bad). Its pipe answers "PORT" with the port it serves, and "STATS"
//  with "SENT TAKEN WAITING ANSWERS SUBSCRIBERS HANDED CONNECTIONS": bus requests sent,
//  replies taken, calls waiting now, HTTP answers by class ("2xx,4xx,5xx"), WebSocket
//  subscribers now, stream messages handed to them, connections open now.
zactor_t *gateway_server_new (const gateway_opts_t *opts);

void gateway_server_test (bool verbose);

#endif

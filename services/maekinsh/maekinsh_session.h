/*  maekinsh_session: who maekinsh is on a cloud. `maekinsh login USER` asks for the
    password (on the terminal without echo, or from --password-file FILE, '-' for the
    standard input), and keeps the session's token in the token file; `logout` ends the
    session and forgets it; `whoami` says whose the credential is. Every other command
    carries the token kept for its bus endpoint, or $MAEKIN_TOKEN when set (an API key,
    or a token a script got from login --output json).

    The token file is $XDG_CONFIG_HOME/maekin/tokens, or $HOME/.config/maekin/tokens,
    mode 0600 in a directory of mode 0700: one line a cloud, "ENDPOINT TOKEN USER". A
    token goes only to the endpoint it came from: pointing maekinsh at another cloud
    never hands that cloud a credential of this one. */
#ifndef MAEKINSH_SESSION_H_INCLUDED
#define MAEKINSH_SESSION_H_INCLUDED

#include "maekin.h"

//  The longest password maekinsh reads (the controller refuses longer ones itself).
#define MAEKINSH_PASSWORD_MAX 1024

//  The token file's path (a new string), or NULL if neither variable is set.
char *maekinsh_session_file (void);

//  The credential to send to endpoint: $MAEKIN_TOKEN, or the token kept for it (a new
//  string), or NULL. If user is not NULL, the kept session's user ("" if unknown) goes
//  there (64 bytes).
char *maekinsh_session_token (const char *endpoint, char *user);

//  Keeps a session's token for endpoint (replacing the one kept), or with token NULL
//  forgets it. 0, or -1 with *error (a new string).
int maekinsh_session_keep (const char *endpoint, const char *token, const char *user, char **error);

//  A password: the first line of file ("-": the standard input), or asked on the
//  terminal with prompt (twice with confirm). A new string, or NULL with *error (a new
//  string). The caller wipes and frees it (maekinsh_session_wipe).
char *maekinsh_session_password (const char *file, const char *prompt, bool confirm, char **error);

//  Overwrites a secret and frees it.
void maekinsh_session_wipe (char **secret_p);

void maekinsh_session_test (bool verbose);

#endif

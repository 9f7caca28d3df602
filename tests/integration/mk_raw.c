/*  mk_raw: sends one hand-made multipart message to a Maekin bus endpoint and prints
    the answer, to test how the real programs take malformed input.
    usage: mk_raw ENDPOINT TIMEOUT_MS FRAME...
           mk_raw pub:STREAM_IN DURATION_MS FRAME...  (publishes the message every 20 ms
           for DURATION_MS, to a broker's stream: what a subscriber makes of it)
    FRAME: hdr:COMMAND (a Maekin header, e.g. hdr:REQUEST, hdr9:REQUEST for version 9),
           id:N (an 8-byte correlation id), hex:BYTES, env:BODY (a valid envelope of an
           empty message, e.g. env:vm_list, with $MAEKIN_TOKEN as its credential), or
           text as it is. On a CURVE bus, $MAEKIN_BUS_KEY and $MAEKIN_BROKER_KEY say
           the key pair to use and the broker's public key (mk_sock_secure_env).
    Prints the answer's frames, one a line: the header, text, or a decoded envelope's
    status and reason. Exit 0 if an answer came, 1 if none within the timeout. */
#include "maekin.h"
#include "mk_msg.h"
#include "mk_sock.h"
#include "mk_wire.h"

static zframe_t *
s_frame (const char *spec)
{
    if (strncmp (spec, "hdr", 3) == 0 && strchr (spec, ':')) {
        int version = isdigit ((unsigned char) spec[3]) ? atoi (spec + 3) : MK_WIRE_VERSION;
        const char *name = strchr (spec, ':') + 1;
        for (int command = 1; command <= 7; command++)
            if (streq (name, mk_wire_command_name (command))) {
                byte header[4] = {'M', 'K', (byte) version, (byte) command};
                return zframe_new (header, 4);
            }
    }
    if (strncmp (spec, "id:", 3) == 0)
        return mk_wire_id_frame (strtoull (spec + 3, NULL, 10));
    if (strncmp (spec, "hex:", 4) == 0) {
        size_t size = strlen (spec + 4) / 2;
        byte *data = (byte *) malloc (size + 1);
        for (size_t i = 0; i < size; i++)
            sscanf (spec + 4 + 2 * i, "%2hhx", &data[i]);
        zframe_t *frame = zframe_new (data, size);
        free (data);
        return frame;
    }
    if (strncmp (spec, "env:", 4) == 0) {
        Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
        Maekin__VmListRequest list = MAEKIN__VM_LIST_REQUEST__INIT;
        Maekin__Credential credential = MAEKIN__CREDENTIAL__INIT;
        if (getenv ("MAEKIN_TOKEN")) {
            credential.token = getenv ("MAEKIN_TOKEN");
            env.credential = &credential;
        }
        if (streq (spec + 4, "vm_list")) {
            env.body_case = MAEKIN__ENVELOPE__BODY_VM_LIST;
            env.vm_list = &list;
        }
        return mk_msg_pack (&env);
    }
    return zframe_new (spec, strlen (spec));
}

int
main (int argc, char **argv)
{
    if (argc < 4) {
        fprintf (stderr, "usage: mk_raw ENDPOINT TIMEOUT_MS FRAME...\n");
        return 2;
    }
    mk_log_init ("mk_raw", MK_LOG_WARN);
    char *error = NULL;
    if (mk_sock_secure_env (&error) != 0) {
        fprintf (stderr, "mk_raw: %s\n", error);
        free (error);
        return 2;
    }
    if (strncmp (argv[1], "pub:", 4) == 0) {
        zsock_t *pub = mk_sock_new (ZMQ_PUB, argv[1] + 4);
        if (!pub)
            return 2;
        for (int64_t end = zclock_mono () + atoi (argv[2]); zclock_mono () < end;
             zclock_sleep (20)) {
            zmsg_t *msg = zmsg_new ();
            for (int i = 3; i < argc; i++)
                zmsg_append (msg, &(zframe_t *){s_frame (argv[i])});
            zmsg_send (&msg, pub);
        }
        zsock_destroy (&pub);
        return 0;
    }
    zsock_t *sock = mk_sock_new (ZMQ_DEALER, argv[1]);
    if (!sock)
        return 2;
    zmsg_t *msg = zmsg_new ();
    for (int i = 3; i < argc; i++)
        zmsg_append (msg, &(zframe_t *){s_frame (argv[i])});
    zmsg_send (&msg, sock);
    zsock_set_rcvtimeo (sock, atoi (argv[2]));
    msg = zmsg_recv (sock);
    if (!msg) {
        printf ("no answer\n");
        zsock_destroy (&sock);
        return 1;
    }
    for (zframe_t *frame = zmsg_first (msg); frame; frame = zmsg_next (msg)) {
        int version = 0;
        int command = mk_wire_parse_header (frame, &version);
        const char *why;
        Maekin__Envelope *env = NULL;
        if (command > 0)
            printf ("header %s\n", mk_wire_command_name (command));
        else if (zframe_size (frame) == 2)
            printf ("status %d\n", (zframe_data (frame)[0] << 8) | zframe_data (frame)[1]);
        else if (zframe_size (frame) > 2
                 && (env = mk_msg_unpack (zframe_data (frame), zframe_size (frame), &why))) {
            printf ("envelope status %d reason %s\n", env->status, env->reason);
            mk_msg_free (&env);
        } else {
            char *text = zframe_strdup (frame);
            bool printable = true;
            for (char *c = text; *c; c++)
                printable &= *c >= ' ' && *c < 127;
            printf ("frame %s\n", printable ? text : "(binary)");
            free (text);
        }
    }
    zmsg_destroy (&msg);
    zsock_destroy (&sock);
    return 0;
}

/*  mk_wire: the bus frames of proto/BUS.md. */
#include "mk_wire.h"

zframe_t *
mk_wire_header (mk_wire_command_t command)
{
    byte header[4] = {'M', 'K', MK_WIRE_VERSION, (byte) command};
    return zframe_new (header, 4);
}

int
mk_wire_parse_header (zframe_t *frame, int *version)
{
    if (!frame || zframe_size (frame) != 4)
        return -2;
    byte *h = zframe_data (frame);
    if (h[0] != 'M' || h[1] != 'K')
        return -2;
    if (version)
        *version = h[2];
    if (h[2] != MK_WIRE_VERSION)
        return -3;
    if (h[3] < MK_WIRE_READY || h[3] > MK_WIRE_DISCONNECT)
        return -2;
    return h[3];
}

zframe_t *
mk_wire_id_frame (uint64_t id)
{
    return zframe_new (&id, sizeof id);
}

int
mk_wire_id (zframe_t *frame, uint64_t *id)
{
    if (!frame || zframe_size (frame) != sizeof *id)
        return -2;
    memcpy (id, zframe_data (frame), sizeof *id);
    return 0;
}

static bool
s_service_valid (const byte *data, size_t size)
{
    if (size == 0 || size > MK_WIRE_SERVICE_MAX)
        return false;
    for (size_t i = 0; i < size; i++)
        if (data[i] <= ' ' || data[i] >= 127)
            return false;
    return true;
}

bool
mk_wire_service_valid (zframe_t *frame)
{
    return frame && s_service_valid (zframe_data (frame), zframe_size (frame));
}

bool
mk_wire_service_name_valid (const char *name)
{
    return name && s_service_valid ((const byte *) name, strlen (name));
}

const char *
mk_wire_command_name (int command)
{
    static const char *names[] = {"?",        "READY", "REQUEST",   "REPLY",
                                  "PROGRESS", "ERROR", "HEARTBEAT", "DISCONNECT"};
    return command >= 1 && command <= 7 ? names[command] : "?";
}

void
mk_wire_test (bool verbose)
{
    zframe_t *h = mk_wire_header (MK_WIRE_REPLY);
    int version = 0;
    assert (mk_wire_parse_header (h, &version) == MK_WIRE_REPLY && version == 1);
    zframe_destroy (&h);

    byte v2[4] = {'M', 'K', 2, MK_WIRE_REQUEST};
    h = zframe_new (v2, 4);
    assert (mk_wire_parse_header (h, &version) == -3 && version == 2);
    zframe_destroy (&h);
    byte junk[4] = {'X', 'K', 1, 1};
    h = zframe_new (junk, 4);
    assert (mk_wire_parse_header (h, NULL) == -2);
    zframe_destroy (&h);
    byte badcmd[4] = {'M', 'K', 1, 99};
    h = zframe_new (badcmd, 4);
    assert (mk_wire_parse_header (h, NULL) == -2);
    zframe_destroy (&h);
    h = zframe_new ("MK", 2);
    assert (mk_wire_parse_header (h, NULL) == -2);
    zframe_destroy (&h);
    assert (mk_wire_parse_header (NULL, NULL) == -2);

    uint64_t id = 0;
    zframe_t *f = mk_wire_id_frame (0x1122334455667788ULL);
    assert (mk_wire_id (f, &id) == 0 && id == 0x1122334455667788ULL);
    zframe_destroy (&f);
    f = zframe_new ("abc", 3);
    assert (mk_wire_id (f, &id) == -2);
    assert (mk_wire_service_valid (f));
    zframe_destroy (&f);
    f = zframe_new ("a b", 3);
    assert (!mk_wire_service_valid (f));
    zframe_destroy (&f);
    f = zframe_new ("", 0);
    assert (!mk_wire_service_valid (f));
    zframe_destroy (&f);
    assert (streq (mk_wire_command_name (MK_WIRE_READY), "READY"));
    assert (mk_wire_service_name_valid ("node/a") && !mk_wire_service_name_valid ("a b"));
    assert (!mk_wire_service_name_valid ("") && !mk_wire_service_name_valid (NULL));
}

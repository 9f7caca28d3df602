/*  mk_msg: the protobuf Envelope on the wire. */
#include "mk_msg.h"

#include <stdarg.h>

const char mk_msg_other_version[] = "unsupported message version (this program speaks version 1)";

Maekin__Envelope *
mk_msg_unpack (const void *data, size_t size, const char **reason)
{
    Maekin__Envelope *env = maekin__envelope__unpack (NULL, size, data);
    if (!env) {
        *reason = "malformed protobuf envelope";
        return NULL;
    }
    //  No version at all (an empty body, say) is a malformed envelope, not another version.
    if (env->version == 0) {
        *reason = "malformed envelope: it has no version (this program speaks version 1)";
        maekin__envelope__free_unpacked (env, NULL);
        return NULL;
    }
    if (env->version != MK_MSG_VERSION) {
        *reason = mk_msg_other_version;
        maekin__envelope__free_unpacked (env, NULL);
        return NULL;
    }
    return env;
}

zframe_t *
mk_msg_pack (Maekin__Envelope *env)
{
    if (env->version == 0)
        env->version = MK_MSG_VERSION;
    size_t size = maekin__envelope__get_packed_size (env);
    zframe_t *frame = zframe_new (NULL, size);
    assert (frame);
    maekin__envelope__pack (env, zframe_data (frame));
    return frame;
}

void
mk_msg_free (Maekin__Envelope **env_p)
{
    assert (env_p);
    if (*env_p) {
        maekin__envelope__free_unpacked (*env_p, NULL);
        *env_p = NULL;
    }
}

Maekin__Envelope *
mk_msg_new_status (int status, const char *format, ...)
{
    //  Built through pack/unpack so it is freed like any received envelope.
    char reason[512];
    va_list args;
    va_start (args, format);
    vsnprintf (reason, sizeof reason, format, args);
    va_end (args);
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.version = MK_MSG_VERSION;
    env.status = status;
    env.reason = reason;
    zframe_t *frame = mk_msg_pack (&env);
    const char *why;
    Maekin__Envelope *copy = mk_msg_unpack (zframe_data (frame), zframe_size (frame), &why);
    assert (copy);
    zframe_destroy (&frame);
    return copy;
}

const char *
mk_msg_body_name (const Maekin__Envelope *env)
{
    if (env->body_case == MAEKIN__ENVELOPE__BODY__NOT_SET)
        return "empty";
    const ProtobufCFieldDescriptor *field = protobuf_c_message_descriptor_get_field (
        &maekin__envelope__descriptor, (unsigned) env->body_case);
    return field ? field->name : "unknown";
}

void
mk_msg_test (bool verbose)
{
    Maekin__VmCreateRequest create = MAEKIN__VM_CREATE_REQUEST__INIT;
    create.name = "web-1";
    create.template_ = "tiny";
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.request_id = "r-1";
    env.body_case = MAEKIN__ENVELOPE__BODY_VM_CREATE;
    env.vm_create = &create;
    zframe_t *frame = mk_msg_pack (&env);
    const char *reason = NULL;
    Maekin__Envelope *copy = mk_msg_unpack (zframe_data (frame), zframe_size (frame), &reason);
    assert (copy);
    assert (copy->version == MK_MSG_VERSION);
    assert (copy->body_case == MAEKIN__ENVELOPE__BODY_VM_CREATE);
    assert (streq (copy->vm_create->name, "web-1"));
    assert (streq (mk_msg_body_name (copy), "vm_create"));
    mk_msg_free (&copy);
    assert (copy == NULL);

    //  Malformed bytes and another version are refused with a reason.
    assert (mk_msg_unpack ("\xff\xff\xff\xff", 4, &reason) == NULL);
    assert (strstr (reason, "malformed"));
    env.version = 9;
    zframe_destroy (&frame);
    frame = mk_msg_pack (&env);
    assert (mk_msg_unpack (zframe_data (frame), zframe_size (frame), &reason) == NULL);
    assert (reason == mk_msg_other_version);
    zframe_destroy (&frame);
    //  An empty body has no version: malformed, not another version.
    assert (mk_msg_unpack ("", 0, &reason) == NULL);
    assert (strstr (reason, "malformed") && reason != mk_msg_other_version);

    Maekin__Envelope *err = mk_msg_new_status (MK_NOT_FOUND, "vm '%s' not found", "x");
    assert (err->status == MK_NOT_FOUND && streq (err->reason, "vm 'x' not found"));
    assert (streq (mk_msg_body_name (err), "empty"));
    mk_msg_free (&err);
}

/*  controller_audit_read: the audit log read, newest first, by user, VI and time, a page
    at a time: all of it by the administrator, a VI's entries by its owners. Its entries are written
   by controller_audit. */
#include "controller_core.h"

#include "mk_name.h"

#include <errno.h>
#include <inttypes.h>

static void
s_entry (const void *row, void *arg)
{
    controller_t *self = (controller_t *) ((void **) arg)[0];
    Maekin__AuditListReply *reply = (Maekin__AuditListReply *) ((void **) arg)[1];
    const store_audit_t *entry = (const store_audit_t *) row;
    Maekin__AuditEntry *msg =
        (Maekin__AuditEntry *) controller_arena_new (self, sizeof (Maekin__AuditEntry));
    maekin__audit_entry__init (msg);
    msg->id = (uint64_t) entry->id;
    msg->time_us = entry->time_us;
    msg->user = controller_arena_str (self, entry->actor);
    msg->credential = controller_arena_str (self, entry->credential);
    msg->request = controller_arena_str (self, entry->request);
    msg->subject = controller_arena_str (self, entry->subject);
    msg->status = entry->status;
    msg->reason = controller_arena_str (self, entry->reason);
    msg->vi = controller_arena_str (self, entry->vi);
    reply->entries[reply->n_entries++] = msg;
}

static bool
s_cursor_ok (const char *after)
{
    char *end;
    errno = 0;
    long long id = strtoll (after, &end, 10);
    return errno == 0 && *after && !*end && id > 0;
}

void
controller_audit_list (controller_t *self, const mk_request_t *request)
{
    Maekin__AuditListRequest *list = request->env->audit_list;
    store_page_t page;
    if (controller_list_page (self, request, list->page, NULL, s_cursor_ok, &page) != 0)
        return;
    const char *why = *list->user ? mk_name_check (list->user) : NULL;
    if (why) {
        controller_reply_status (self, request, MK_BAD_REQUEST, "a user name %s", why);
        return;
    }
    //  The administrator reads it all; a VI's owners, their VI's entries.
    const store_user_t *caller = self->caller.user;
    if (caller && !caller->admin && !*list->vi) {
        controller_reply_status (self, request, MK_FORBIDDEN,
                                 "only the cloud's administrator reads the whole audit log; a "
                                 "VI's owners read their VI's (--vi)");
        return;
    }
    if (*list->vi && !controller_vi_resolve (self, request, list->vi, VI_OP_AUDIT))
        return;
    if (list->since < 0 || list->since > INT64_MAX / 1000000) {
        controller_reply_status (self, request, MK_BAD_REQUEST,
                                 "since is a time in unix seconds, not %" PRId64, list->since);
        return;
    }
    Maekin__AuditListReply reply = MAEKIN__AUDIT_LIST_REPLY__INIT;
    //  One more than the page, to know whether another follows.
    reply.entries = (Maekin__AuditEntry **) controller_arena_new (
        self, (page.limit + 1) * sizeof (Maekin__AuditEntry *));
    void *arg[] = {self, &reply};
    if (store_audit_list (self->db, list->user, list->vi, list->since * 1000000,
                          *page.after ? strtoll (page.after, NULL, 10) : 0, page.limit + 1, s_entry,
                          arg)
        < 0) {
        controller_reply_db_error (self, request);
        return;
    }
    if (reply.n_entries > page.limit) {
        reply.n_entries = page.limit;
        reply.next = controller_arena_strf (self, "%" PRIu64, reply.entries[page.limit - 1]->id);
    }
    controller_reply_body (self, request, MK_OK, MAEKIN__ENVELOPE__BODY_AUDIT_LIST_REPLY, &reply);
}

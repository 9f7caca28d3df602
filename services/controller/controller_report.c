/*  controller_report: what a service of the cloud's own tells the controller for its
    administrator (service_report): maekin-dhcp, that its dnsmasq died and is started
    again. Said in the controller's log, and kept as the request's audit entry (its reason
    is what was said: controller_audit). */
#include "controller_core.h"

#include "mk_name.h"
#include "mk_utf8.h"

//  Whether text is one line a person may read: 1 to max bytes of UTF-8, no control
//  characters.
static bool
s_one_line (const char *text, size_t max)
{
    size_t length = strlen (text);
    if (length == 0 || length > max)
        return false;
    for (const unsigned char *at = (const unsigned char *) text; *at;) {
        int size;
        int32_t code = mk_utf8_decode (at, &size);
        if (code < 0x20 || (code >= 0x7f && code < 0xa0))
            return false;
        at += size;
    }
    return true;
}

void
controller_report_service (controller_t *self, const mk_request_t *request)
{
    const Maekin__ServiceReportRequest *report = request->env->service_report;
    const char *why =
        mk_name_check (report->service) ? "service is not a name"
        : mk_name_check (report->node)  ? "node is not a name"
        : !s_one_line (report->what, 240)
            ? "what must be one line of 1 to 240 bytes of UTF-8, no control characters"
            : NULL;
    if (why) {
        controller_reply_status (self, request, MK_BAD_REQUEST, "service_report: %s", why);
        return;
    }
    snprintf (self->audit_subject, sizeof self->audit_subject, "%s@%s", report->service,
              report->node);
    mk_warn ("controller: %s on %s says: %s", report->service, report->node, report->what);
    Maekin__ServiceReportReply reply = MAEKIN__SERVICE_REPORT_REPLY__INIT;
    controller_reply_body (self, request, MK_OK, MAEKIN__ENVELOPE__BODY_SERVICE_REPORT_REPLY,
                           &reply);
}

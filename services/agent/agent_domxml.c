/*  agent_domxml: the libvirt domain XML for a VM spec, written with libxml2's tree API.

    The spec comes from the controller, that is from outside: every field is checked
    before it reaches libvirt, so a bad spec gives one line a person can act on rather
    than a domain libvirt half-accepts or a document that does not parse. */
#include "agent_domxml.h"

#include "mk_ip.h"

#include <assert.h>
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvirt/libvirt.h>
#include <libxml/chvalid.h>
#include <libxml/parser.h>
#include <libxml/relaxng.h>
#include <libxml/tree.h>
#include <libxml/xmlsave.h>
#include <libxml/xmlstring.h>
#include <libxml/xpath.h>

//  True if an optional string is given; protobuf-c gives "" for an unset string, a
//  spec built by hand may hold NULL.
static bool
s_set (const char *text)
{
    return text && *text;
}

//  True if text is UTF-8 without control characters. libxml2 escapes markup but writes
//  most control characters as they are, and such a document never parses again; the
//  others (tab, newline) have no place in a name or a path, and would split the
//  one-line error that quotes the value. xmlGetUTF8Char takes overlong forms, which
//  could hide a '/', so the length of each character is checked too.
static bool
s_is_plain_text (const char *text)
{
    const unsigned char *cursor = (const unsigned char *) text;
    while (*cursor) {
        int size = 4;
        int c = xmlGetUTF8Char (cursor, &size);
        if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || !xmlIsCharQ (c))
            return false;
        int shortest = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
        if (size != shortest)
            return false;
        cursor += size;
    }
    return true;
}

//  True if text is a UUID in its canonical form, 8-4-4-4-12 hex digits.
static bool
s_is_uuid (const char *text)
{
    if (strlen (text) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? text[i] != '-' : !isxdigit ((unsigned char) text[i]))
            return false;
    }
    return true;
}

//  True if text is a unicast MAC address, xx:xx:xx:xx:xx:xx. The low bit of the first
//  octet marks a multicast address, which libvirt refuses for a NIC.
static bool
s_is_unicast_mac (const char *text)
{
    if (strlen (text) != 17)
        return false;
    for (int i = 0; i < 17; i++) {
        bool colon = i % 3 == 2;
        if (colon ? text[i] != ':' : !isxdigit ((unsigned char) text[i]))
            return false;
    }
    int low = tolower ((unsigned char) text[1]);
    int value = isdigit (low) ? low - '0' : low - 'a' + 10;
    return (value & 1) == 0;
}

//  Why the agent's options cannot make a domain (a new string), or NULL.
static char *
s_check_opts (const char *type, const agent_domxml_opts_t *opts)
{
    if (!s_is_plain_text (type) || (opts->console_dir && !s_is_plain_text (opts->console_dir))
        || (opts->emulator && !s_is_plain_text (opts->emulator)))
        return zsys_sprintf ("agent_domxml: an option of the agent has a control character or "
                             "bytes that are not UTF-8");
    if (strcmp (type, "kvm") != 0 && strcmp (type, "qemu") != 0 && strcmp (type, "test") != 0)
        return zsys_sprintf ("agent_domxml: domain type '%s' is not kvm, qemu or test", type);
    if (s_set (opts->console_dir) && opts->console_dir[0] != '/')
        return zsys_sprintf ("agent_domxml: console directory '%s' is not an absolute path",
                             opts->console_dir);
    if (s_set (opts->emulator) && opts->emulator[0] != '/')
        return zsys_sprintf ("agent_domxml: emulator '%s' is not an absolute path", opts->emulator);
    return NULL;
}

//  Why the spec cannot make a domain (a new string), or NULL.
static char *
s_check_spec (const Maekin__VmSpec *spec)
{
    if (!s_set (spec->name))
        return zsys_sprintf ("agent_domxml: vm has no name");
    if (!s_is_plain_text (spec->name))
        return zsys_sprintf (
            "agent_domxml: vm name has a control character or bytes that are not UTF-8");
    //  libvirt refuses a '/' too; here it would also lead the console file out of its
    //  directory.
    if (strchr (spec->name, '/'))
        return zsys_sprintf ("agent_domxml: vm '%s' has a '/' in its name", spec->name);
    const char *name = spec->name;

    const struct {
        const char *field;
        const char *value;
    } texts[] = {{"a uuid", spec->uuid},        {"an image", spec->image},
                 {"an os_type", spec->os_type}, {"a network", spec->network},
                 {"a kernel", spec->kernel},    {"an initrd", spec->initrd},
                 {"a cmdline", spec->cmdline},  {"a mac", spec->mac},
                 {"a bridge", spec->bridge},    {"an ip", spec->ip}};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        if (texts[i].value && !s_is_plain_text (texts[i].value))
            return zsys_sprintf ("agent_domxml: vm '%s' has %s with a control character or "
                                 "bytes that are not UTF-8",
                                 name, texts[i].field);

    if (!s_set (spec->uuid))
        return zsys_sprintf ("agent_domxml: vm '%s' has no uuid", name);
    if (!s_is_uuid (spec->uuid))
        return zsys_sprintf ("agent_domxml: vm '%s' has uuid '%s', not of the form "
                             "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx",
                             name, spec->uuid);
    if (spec->vcpus == 0)
        return zsys_sprintf ("agent_domxml: vm '%s' has no vcpus", name);
    if (spec->vcpus > AGENT_DOMXML_VCPUS_MAX)
        return zsys_sprintf ("agent_domxml: vm '%s' has %" PRIu32 " vcpus, more than %d", name,
                             spec->vcpus, AGENT_DOMXML_VCPUS_MAX);
    if (spec->memory_mb < AGENT_DOMXML_MEMORY_MIN_MB)
        return zsys_sprintf ("agent_domxml: vm '%s' has %" PRIu64
                             " MiB of memory, less than %d MiB",
                             name, spec->memory_mb, AGENT_DOMXML_MEMORY_MIN_MB);
    if (spec->memory_mb > AGENT_DOMXML_MEMORY_MAX_MB)
        return zsys_sprintf ("agent_domxml: vm '%s' has %" PRIu64 " MiB of memory, more than "
                             "%llu MiB (4 TiB)",
                             name, spec->memory_mb, AGENT_DOMXML_MEMORY_MAX_MB);

    //  os_type comes from the template: hvm boots a disk, linux boots a kernel directly.
    //  Both are libvirt's os type hvm.
    const char *os_type = s_set (spec->os_type) ? spec->os_type : "hvm";
    bool linux_boot = strcmp (os_type, "linux") == 0;
    if (!linux_boot && strcmp (os_type, "hvm") != 0)
        return zsys_sprintf ("agent_domxml: vm '%s' has os_type '%s', not hvm or linux", name,
                             os_type);
    if (!s_set (spec->kernel)) {
        if (linux_boot)
            return zsys_sprintf ("agent_domxml: vm '%s' has os_type 'linux' but no kernel", name);
        if (s_set (spec->initrd))
            return zsys_sprintf ("agent_domxml: vm '%s' has an initrd but no kernel", name);
        if (s_set (spec->cmdline))
            return zsys_sprintf ("agent_domxml: vm '%s' has a kernel cmdline but no kernel", name);
    }
    //  libvirtd opens these, from its own working directory.
    const struct {
        const char *field;
        const char *value;
    } paths[] = {{"kernel", spec->kernel}, {"initrd", spec->initrd}, {"image", spec->image}};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        if (s_set (paths[i].value) && paths[i].value[0] != '/')
            return zsys_sprintf ("agent_domxml: vm '%s' has %s '%s', not an absolute path", name,
                                 paths[i].field, paths[i].value);
    if (s_set (spec->mac) && !s_is_unicast_mac (spec->mac))
        return zsys_sprintf ("agent_domxml: vm '%s' has mac '%s', not a unicast address like "
                             "52:54:00:12:34:56",
                             name, spec->mac);
    //  A host interface's name: at most 15 bytes (IFNAMSIZ), none of '/', ':' or blanks.
    if (s_set (spec->bridge)
        && (strlen (spec->bridge) > 15 || strcspn (spec->bridge, "/: \t") != strlen (spec->bridge)))
        return zsys_sprintf ("agent_domxml: vm '%s' has bridge '%s', not an interface name (at "
                             "most 15 characters, no '/', ':' or blank)",
                             name, spec->bridge);
    mk_ip_t ip;
    if (s_set (spec->ip) && mk_ip_parse (spec->ip, &ip) != 0)
        return zsys_sprintf ("agent_domxml: vm '%s' has ip '%s', not an IPv4 or IPv6 address", name,
                             spec->ip);
    //  An address is held to the VM by the filter on its bridge port: none without both.
    if (s_set (spec->ip) && (!s_set (spec->bridge) || !s_set (spec->mac)))
        return zsys_sprintf ("agent_domxml: vm '%s' has an ip but no %s", name,
                             s_set (spec->bridge) ? "mac" : "bridge");
    return NULL;
}

//  A new child element holding text (escaped when written), or empty if text is NULL.
//  libxml2 returns NULL only when out of memory.
static xmlNodePtr
s_child (xmlNodePtr parent, const char *element, const char *text)
{
    xmlNodePtr node = xmlNewTextChild (parent, NULL, BAD_CAST element, BAD_CAST text);
    if (!node)
        abort ();
    return node;
}

//  Sets an attribute (escaped when written).
static void
s_attr (xmlNodePtr node, const char *name, const char *value)
{
    if (!xmlNewProp (node, BAD_CAST name, BAD_CAST value))
        abort ();
}

static void
s_add_os (xmlNodePtr domain, const Maekin__VmSpec *spec)
{
    xmlNodePtr os = s_child (domain, "os", NULL);
    //  The machine type is left to libvirt, which picks the emulator's default.
    s_attr (s_child (os, "type", "hvm"), "arch", "x86_64");
    if (s_set (spec->kernel)) {
        s_child (os, "kernel", spec->kernel);
        if (s_set (spec->initrd))
            s_child (os, "initrd", spec->initrd);
        if (s_set (spec->cmdline))
            s_child (os, "cmdline", spec->cmdline);
    } else
        s_attr (s_child (os, "boot", NULL), "dev", "hd");
}

static void
s_add_disk (xmlNodePtr devices, const char *image)
{
    xmlNodePtr disk = s_child (devices, "disk", NULL);
    s_attr (disk, "type", "file");
    s_attr (disk, "device", "disk");
    xmlNodePtr driver = s_child (disk, "driver", NULL);
    s_attr (driver, "name", "qemu");
    s_attr (driver, "type", "qcow2");
    s_attr (s_child (disk, "source", NULL), "file", image);
    xmlNodePtr target = s_child (disk, "target", NULL);
    s_attr (target, "dev", "vda");
    s_attr (target, "bus", "virtio");
}

//  clean-traffic for a guest whose address is IPv6, made of libvirt's own filters: what
//  it sends with another MAC is dropped, and IPv6 from another address than its own (but
//  UDP from its link-local one: DHCPv6); every IPv6 packet to it is let in; nothing but
//  IPv6 either way (no IPv4, no ARP). ebtables cannot look into neighbour discovery: a
//  guest's forged neighbour advertisement from its own address is not stopped (ARP's
//  counterpart, which clean-traffic stops for IPv4). The rule that lets IPv6 out comes
//  after no-ipv6-spoofing's chain (priority -610; clean-traffic's -650 sits after IPv4's
//  -700): before it, it would let every source out (guest-dhcp.sh caught that).
const char agent_domxml_filter_ipv6_xml[] =
    "<filter name='" AGENT_DOMXML_FILTER_IPV6 "' chain='root'>\n"
    "  <filterref filter='no-mac-spoofing'/>\n"
    "  <filterref filter='no-ipv6-spoofing'/>\n"
    "  <rule direction='out' action='accept' priority='-600'>\n"
    "    <mac protocolid='ipv6'/>\n"
    "  </rule>\n"
    "  <filterref filter='allow-incoming-ipv6'/>\n"
    "  <filterref filter='no-other-l2-traffic'/>\n"
    "  <filterref filter='qemu-announce-self'/>\n"
    "</filter>\n";

//  The VM's NIC: on a libvirt network, or (a VM with an address from an IP pool) on the
//  pool's host bridge, where libvirt's clean-traffic filter (or ours for IPv6) drops what
//  the guest sends with another MAC or IP than its own, and what a guest would answer for
//  another's.
static void
s_add_interface (xmlNodePtr devices, const Maekin__VmSpec *spec)
{
    bool bridge = s_set (spec->bridge);
    xmlNodePtr interface = s_child (devices, "interface", NULL);
    s_attr (interface, "type", bridge ? "bridge" : "network");
    if (s_set (spec->mac))
        s_attr (s_child (interface, "mac", NULL), "address", spec->mac);
    s_attr (s_child (interface, "source", NULL), bridge ? "bridge" : "network",
            bridge ? spec->bridge : spec->network);
    s_attr (s_child (interface, "model", NULL), "type", "virtio");
    if (s_set (spec->ip)) {
        bool six = strchr (spec->ip, ':') != NULL; //  checked: an IPv4 or IPv6 address
        xmlNodePtr filter = s_child (interface, "filterref", NULL);
        s_attr (filter, "filter", six ? AGENT_DOMXML_FILTER_IPV6 : "clean-traffic");
        xmlNodePtr parameter = s_child (filter, "parameter", NULL);
        s_attr (parameter, "name", six ? "IPV6" : "IP");
        s_attr (parameter, "value", spec->ip);
    }
}

//  The serial port, to a file in console_dir or to a pty, and the console on it.
static void
s_add_console (xmlNodePtr devices, const char *name, const char *console_dir)
{
    char *path = NULL;
    if (s_set (console_dir)) {
        size_t length = strlen (console_dir);
        while (length > 1 && console_dir[length - 1] == '/')
            length--;
        path = zsys_sprintf ("%.*s/%s.log", (int) length, console_dir, name);
    }
    const char *type = path ? "file" : "pty";
    xmlNodePtr serial = s_child (devices, "serial", NULL);
    s_attr (serial, "type", type);
    if (path)
        s_attr (s_child (serial, "source", NULL), "path", path);
    s_attr (s_child (serial, "target", NULL), "port", "0");

    xmlNodePtr console = s_child (devices, "console", NULL);
    s_attr (console, "type", type);
    if (path)
        s_attr (s_child (console, "source", NULL), "path", path);
    xmlNodePtr target = s_child (console, "target", NULL);
    s_attr (target, "type", "serial");
    s_attr (target, "port", "0");
    free (path);
}

//  The domain document for a checked spec.
static xmlDocPtr
s_domain_new (const Maekin__VmSpec *spec, const char *type, const agent_domxml_opts_t *opts)
{
    xmlDocPtr doc = xmlNewDoc (BAD_CAST "1.0");
    xmlNodePtr domain = xmlNewDocNode (doc, NULL, BAD_CAST "domain", NULL);
    if (!doc || !domain)
        abort ();
    xmlDocSetRootElement (doc, domain);
    s_attr (domain, "type", type);
    s_child (domain, "name", spec->name);
    s_child (domain, "uuid", spec->uuid);

    char number[32];
    snprintf (number, sizeof number, "%" PRIu64, spec->memory_mb);
    s_attr (s_child (domain, "memory", number), "unit", "MiB");
    s_attr (s_child (domain, "currentMemory", number), "unit", "MiB");
    snprintf (number, sizeof number, "%" PRIu32, spec->vcpus);
    s_child (domain, "vcpu", number);

    s_add_os (domain, spec);
    xmlNodePtr features = s_child (domain, "features", NULL);
    s_child (features, "acpi", NULL);
    s_child (features, "apic", NULL);
    s_attr (s_child (domain, "clock", NULL), "offset", "utc");
    s_child (domain, "on_poweroff", "destroy");
    s_child (domain, "on_reboot", "restart");
    s_child (domain, "on_crash", "destroy");

    xmlNodePtr devices = s_child (domain, "devices", NULL);
    if (s_set (opts->emulator))
        s_child (devices, "emulator", opts->emulator);
    if (s_set (spec->image))
        s_add_disk (devices, spec->image);
    if (s_set (spec->network) || s_set (spec->bridge))
        s_add_interface (devices, spec);
    s_add_console (devices, spec->name, opts->console_dir);
    return doc;
}

//  The document as indented UTF-8 text without an XML declaration, as libvirt writes
//  its own; a new string.
static char *
s_serialize (xmlDocPtr doc)
{
    xmlBufferPtr buffer = xmlBufferCreate ();
    if (!buffer)
        abort ();
    xmlSaveCtxtPtr save = xmlSaveToBuffer (buffer, "UTF-8", XML_SAVE_FORMAT | XML_SAVE_NO_DECL);
    if (!save)
        abort ();
    //  The text was checked to be UTF-8 XML can hold, so only memory can fail here.
    long written = xmlSaveDoc (save, doc);
    if (xmlSaveClose (save) < 0 || written < 0)
        abort ();
    char *xml = strdup ((const char *) xmlBufferContent (buffer));
    if (!xml)
        abort ();
    xmlBufferFree (buffer);
    return xml;
}

char *
agent_domxml_build (const Maekin__VmSpec *spec, const agent_domxml_opts_t *opts, char **error)
{
    assert (spec);
    assert (opts);
    if (error)
        *error = NULL;
    const char *type = s_set (opts->domain_type) ? opts->domain_type : "kvm";
    char *reason = s_check_opts (type, opts);
    if (!reason)
        reason = s_check_spec (spec);
    if (reason) {
        mk_error ("%s", reason);
        if (error)
            *error = reason;
        else
            free (reason);
        return NULL;
    }
    xmlDocPtr doc = s_domain_new (spec, type, opts);
    char *xml = s_serialize (doc);
    xmlFreeDoc (doc);
    return xml;
}

//  --------------------------------------------------------------------------
//  Self-test

//  A file's whole content, NUL-terminated, or NULL if it cannot be read.
static char *
s_slurp (const char *path, size_t *size)
{
    FILE *file = fopen (path, "rb");
    if (!file)
        return NULL;
    char *text = NULL;
    size_t length = 0;
    char chunk[4096];
    size_t got;
    while ((got = fread (chunk, 1, sizeof chunk, file)) > 0) {
        text = realloc (text, length + got + 1);
        assert (text);
        memcpy (text + length, chunk, got);
        length += got;
    }
    fclose (file);
    if (!text)
        text = strdup ("");
    assert (text);
    text[length] = 0;
    *size = length;
    return text;
}

//  Compares xml with tests/golden/domxml/<name>.xml, byte for byte. With
//  MK_UPDATE_GOLDEN=1 the golden file is rewritten instead: that is how a deliberate
//  change of the XML is recorded (and then reviewed in the diff).
static void
s_golden_check (const char *name, const char *xml, bool verbose)
{
    const char *srcdir = getenv ("MK_SRCDIR");
    if (!s_set (srcdir))
        srcdir = ".";
    char *path = zsys_sprintf ("%s/tests/golden/domxml/%s.xml", srcdir, name);
    const char *update = getenv ("MK_UPDATE_GOLDEN");
    if (update && strcmp (update, "1") == 0) {
        assert (zsys_dir_create ("%s/tests/golden/domxml", srcdir) == 0);
        FILE *file = fopen (path, "wb");
        assert (file);
        assert (fputs (xml, file) >= 0);
        assert (fclose (file) == 0);
        printf ("agent_domxml: MK_UPDATE_GOLDEN=1, rewrote %s\n", path);
    }
    size_t size = 0;
    char *golden = s_slurp (path, &size);
    if (!golden || size != strlen (xml) || memcmp (golden, xml, size) != 0) {
        fprintf (stderr,
                 "agent_domxml: %s %s; the XML built now is:\n%s"
                 "(after a deliberate change, record it with MK_UPDATE_GOLDEN=1)\n",
                 path, golden ? "differs" : "cannot be read", xml);
        assert (!"golden file differs");
    }
    if (verbose)
        printf ("  %s matches\n", path);
    free (golden);
    free (path);
}

//  The string value of an XPath expression over a document, a new string.
static char *
s_xpath (xmlDocPtr doc, const char *expression)
{
    xmlXPathContextPtr context = xmlXPathNewContext (doc);
    assert (context);
    xmlXPathObjectPtr result = xmlXPathEvalExpression (BAD_CAST expression, context);
    assert (result);
    xmlChar *value = xmlXPathCastToString (result);
    assert (value);
    char *text = strdup ((const char *) value);
    assert (text);
    xmlFree (value);
    xmlXPathFreeObject (result);
    xmlXPathFreeContext (context);
    return text;
}

static xmlDocPtr
s_parse (const char *xml)
{
    xmlDocPtr doc = xmlReadMemory (xml, (int) strlen (xml), "domain.xml", NULL,
                                   XML_PARSE_NONET | XML_PARSE_NOBLANKS);
    assert (doc);
    return doc;
}

//  What libvirt must have kept of our XML, as it gives the domain back.
static const char *s_kept[] = {
    "string(/domain/@type)",
    "string(/domain/os/type)",
    "string(/domain/os/type/@arch)",
    "string(/domain/os/kernel)",
    "string(/domain/os/initrd)",
    "string(/domain/os/cmdline)",
    "count(/domain/features/acpi)",
    "count(/domain/features/apic)",
    "string(/domain/on_poweroff)",
    "string(/domain/on_reboot)",
    "string(/domain/on_crash)",
    "string(/domain/devices/emulator)",
    "count(/domain/devices/disk)",
    "string(/domain/devices/disk/driver/@type)",
    "string(/domain/devices/disk/source/@file)",
    "string(/domain/devices/disk/target/@dev)",
    "string(/domain/devices/disk/target/@bus)",
    "count(/domain/devices/interface)",
    "string(/domain/devices/interface/@type)",
    "string(/domain/devices/interface/source/@network)",
    "string(/domain/devices/interface/source/@bridge)",
    "string(/domain/devices/interface/filterref/@filter)",
    "string(/domain/devices/interface/filterref/parameter[@name='IP']/@value)",
    "string(/domain/devices/interface/filterref/parameter[@name='IPV6']/@value)",
    "string(/domain/devices/interface/model/@type)",
    "string(/domain/devices/serial/@type)",
    "string(/domain/devices/serial/source/@path)",
    "string(/domain/devices/console/@type)",
    "count(/domain/devices/graphics)",
};

static void
s_same_devices (const char *ours, const char *theirs)
{
    xmlDocPtr our_doc = s_parse (ours);
    xmlDocPtr their_doc = s_parse (theirs);
    for (size_t i = 0; i < sizeof s_kept / sizeof s_kept[0]; i++) {
        char *our_value = s_xpath (our_doc, s_kept[i]);
        char *their_value = s_xpath (their_doc, s_kept[i]);
        if (strcmp (our_value, their_value) != 0) {
            fprintf (stderr, "agent_domxml: %s is '%s' in ours, '%s' in libvirt's:\n%s", s_kept[i],
                     our_value, their_value, theirs);
            assert (!"libvirt changed the domain");
        }
        free (our_value);
        free (their_value);
    }
    //  libvirt makes up a MAC when we give none.
    char *our_mac = s_xpath (our_doc, "string(/domain/devices/interface/mac/@address)");
    char *their_mac = s_xpath (their_doc, "string(/domain/devices/interface/mac/@address)");
    assert (!*our_mac || strcasecmp (our_mac, their_mac) == 0);
    free (our_mac);
    free (their_mac);
    xmlFreeDoc (our_doc);
    xmlFreeDoc (their_doc);
}

//  Defines the domain in libvirt's test driver, validated against libvirt's own schema,
//  reads it back through the API, and undefines it.
static void
s_libvirt_check (virConnectPtr conn, const Maekin__VmSpec *spec, const char *xml, bool verbose)
{
    virDomainPtr dom = virDomainDefineXMLFlags (conn, xml, VIR_DOMAIN_DEFINE_VALIDATE);
    if (!dom)
        fprintf (stderr, "agent_domxml: libvirt refused:\n%s", xml);
    assert (dom);
    assert (strcmp (virDomainGetName (dom), spec->name) == 0);
    char uuid[VIR_UUID_STRING_BUFLEN];
    assert (virDomainGetUUIDString (dom, uuid) == 0);
    assert (strcasecmp (uuid, spec->uuid) == 0);
    virDomainInfo info;
    assert (virDomainGetInfo (dom, &info) == 0);
    assert (info.nrVirtCpu == spec->vcpus);
    assert (info.maxMem == spec->memory_mb * 1024);
    assert (info.memory == spec->memory_mb * 1024);
    assert (virDomainGetMaxMemory (dom) == spec->memory_mb * 1024);
    char *theirs = virDomainGetXMLDesc (dom, VIR_DOMAIN_XML_INACTIVE);
    assert (theirs);
    s_same_devices (xml, theirs);
    if (verbose)
        printf ("  libvirt defined '%s':\n%s", spec->name, theirs);
    free (theirs);
    assert (virDomainUndefine (dom) == 0);
    virDomainFree (dom);
}

//  Our IPv6 filter is valid by libvirt's own schema for filters (libvirt0 ships it).
static void
s_filter_check (bool verbose)
{
    const char *schema_path = "/usr/share/libvirt/schemas/nwfilter.rng";
    xmlRelaxNGParserCtxtPtr parser = xmlRelaxNGNewParserCtxt (schema_path);
    xmlRelaxNGPtr schema = parser ? xmlRelaxNGParse (parser) : NULL;
    if (!schema)
        fprintf (stderr, "agent_domxml: cannot read libvirt's schema %s (libvirt0)\n", schema_path);
    assert (schema);
    xmlRelaxNGValidCtxtPtr valid = xmlRelaxNGNewValidCtxt (schema);
    xmlDocPtr doc =
        xmlReadMemory (agent_domxml_filter_ipv6_xml, (int) strlen (agent_domxml_filter_ipv6_xml),
                       "filter.xml", NULL, XML_PARSE_NONET);
    assert (doc && valid);
    assert (xmlRelaxNGValidateDoc (valid, doc) == 0);
    if (verbose)
        printf ("  %s is valid by %s\n", AGENT_DOMXML_FILTER_IPV6, schema_path);
    xmlFreeDoc (doc);
    xmlRelaxNGFreeValidCtxt (valid);
    xmlRelaxNGFree (schema);
    xmlRelaxNGFreeParserCtxt (parser);
}

//  Builds a spec that must be refused, and checks the error says why in one line.
static void
s_expect_error (const Maekin__VmSpec *spec, const agent_domxml_opts_t *opts, const char *phrase,
                bool verbose)
{
    char *error = NULL;
    char *xml = agent_domxml_build (spec, opts, &error);
    if (xml || !error || !strstr (error, phrase))
        fprintf (stderr, "agent_domxml: expected an error with '%s', got %s\n", phrase,
                 error ? error : "none");
    assert (xml == NULL);
    assert (error);
    assert (strncmp (error, "agent_domxml: ", 14) == 0);
    assert (strstr (error, phrase));
    assert (!strchr (error, '\n'));
    if (verbose)
        printf ("  refused: %s\n", error);
    free (error);
}

//  Specs and options the class refuses, each with its reason.
static void
s_test_refusals (Maekin__VmSpec minimal, Maekin__VmSpec kernel, Maekin__VmSpec network,
                 bool verbose)
{
    agent_domxml_opts_t kvm_pty = {NULL, NULL, NULL};
    agent_domxml_opts_t qemu_file = {"qemu", "/var/lib/maekin/console", NULL};
    //  Without somewhere to put the error, the build still refuses and logs.
    Maekin__VmSpec bad = minimal;
    bad.vcpus = 0;
    assert (agent_domxml_build (&bad, &kvm_pty, NULL) == NULL);

    //  Bad specs and bad options.
    bad = minimal;
    bad.name = "";
    s_expect_error (&bad, &kvm_pty, "vm has no name", verbose);
    bad.name = NULL;
    s_expect_error (&bad, &kvm_pty, "vm has no name", verbose);
    bad.name = "a\001b";
    s_expect_error (&bad, &kvm_pty, "control character", verbose);
    bad.name = "caf\xc3";
    s_expect_error (&bad, &kvm_pty, "not UTF-8", verbose);
    bad.name = "a\xc0\xaf"
               "b";
    s_expect_error (&bad, &kvm_pty, "not UTF-8", verbose);
    bad.name = "a\xef\xbf\xbe";
    s_expect_error (&bad, &kvm_pty, "not UTF-8", verbose);
    bad.name = "../etc/x";
    s_expect_error (&bad, &qemu_file, "'/' in its name", verbose);
    bad = minimal;
    bad.uuid = "";
    s_expect_error (&bad, &kvm_pty, "vm 'minimal' has no uuid", verbose);
    bad.uuid = "6f1c2a3e9b7d4e58a1c03d2b4f5e6a70";
    s_expect_error (&bad, &kvm_pty, "has uuid '6f1c2a3e9b7d4e58a1c03d2b4f5e6a70'", verbose);
    bad.uuid = "6f1c2a3e-9b7d-4e58-a1c0-3d2b4f5e6a7g";
    s_expect_error (&bad, &kvm_pty, "not of the form", verbose);
    bad.uuid = "6f1c2a3e-9b7d-4e58-a1c0-3d2b4f5e6a700";
    s_expect_error (&bad, &kvm_pty, "not of the form", verbose);
    bad = minimal;
    bad.vcpus = 0;
    s_expect_error (&bad, &kvm_pty, "vm 'minimal' has no vcpus", verbose);
    bad.vcpus = AGENT_DOMXML_VCPUS_MAX + 1;
    s_expect_error (&bad, &kvm_pty, "257 vcpus, more than 256", verbose);
    bad = minimal;
    bad.memory_mb = AGENT_DOMXML_MEMORY_MIN_MB - 1;
    s_expect_error (&bad, &kvm_pty, "15 MiB of memory, less than 16 MiB", verbose);
    bad.memory_mb = 0;
    s_expect_error (&bad, &kvm_pty, "0 MiB of memory", verbose);
    bad.memory_mb = AGENT_DOMXML_MEMORY_MAX_MB + 1;
    s_expect_error (&bad, &kvm_pty, "more than 4194304 MiB", verbose);
    bad = minimal;
    bad.os_type = "windows";
    s_expect_error (&bad, &kvm_pty, "os_type 'windows', not hvm or linux", verbose);
    bad.os_type = "linux";
    s_expect_error (&bad, &kvm_pty, "os_type 'linux' but no kernel", verbose);
    bad = minimal;
    bad.initrd = "/boot/initrd.img";
    s_expect_error (&bad, &kvm_pty, "an initrd but no kernel", verbose);
    bad = minimal;
    bad.cmdline = "console=ttyS0";
    s_expect_error (&bad, &kvm_pty, "a kernel cmdline but no kernel", verbose);
    bad = kernel;
    bad.kernel = "boot/vmlinuz";
    s_expect_error (&bad, &kvm_pty, "kernel 'boot/vmlinuz', not an absolute path", verbose);
    bad = kernel;
    bad.cmdline = "console=ttyS0\nquiet";
    s_expect_error (&bad, &kvm_pty, "has a cmdline with a control character", verbose);
    bad = network;
    bad.mac = "52:54:00:12:34:5\t";
    s_expect_error (&bad, &kvm_pty, "has a mac with a control character", verbose);
    bad.mac = "52:54:00:12:34:\xc2\x85";
    s_expect_error (&bad, &kvm_pty, "has a mac with a control character", verbose);
    bad = network;
    bad.network = "def\xed\xa0\x80";
    s_expect_error (&bad, &kvm_pty, "has a network with a control character", verbose);
    bad = network;
    bad.bridge = "a-bridge-name-too-long";
    s_expect_error (&bad, &kvm_pty, "bridge 'a-bridge-name-too-long', not an interface name",
                    verbose);
    bad.bridge = "br/0";
    s_expect_error (&bad, &kvm_pty, "bridge 'br/0', not an interface name", verbose);
    bad.bridge = "mkbr0";
    bad.ip = "10.88.0.300";
    s_expect_error (&bad, &kvm_pty, "ip '10.88.0.300', not an IPv4 or IPv6 address", verbose);
    bad.ip = "10.88.0.1\n";
    s_expect_error (&bad, &kvm_pty, "has an ip with a control character", verbose);
    bad.bridge = "";
    bad.ip = "10.88.0.100";
    s_expect_error (&bad, &kvm_pty, "has an ip but no bridge", verbose);
    bad.bridge = "mkbr0";
    bad.mac = "";
    s_expect_error (&bad, &kvm_pty, "has an ip but no mac", verbose);
    bad = network;
    bad.image = "web-1.qcow2";
    s_expect_error (&bad, &kvm_pty, "image 'web-1.qcow2', not an absolute path", verbose);
    bad.image = network.image;
    bad.mac = "01:00:5e:00:00:01";
    s_expect_error (&bad, &kvm_pty, "mac '01:00:5e:00:00:01', not a unicast", verbose);
    bad.mac = "52-54-00-12-34-56";
    s_expect_error (&bad, &kvm_pty, "not a unicast address", verbose);
    bad.mac = "52:54:00:12:34";
    s_expect_error (&bad, &kvm_pty, "not a unicast address", verbose);
    agent_domxml_opts_t bad_opts = {"xen", NULL, NULL};
    s_expect_error (&minimal, &bad_opts, "domain type 'xen' is not kvm, qemu or test", verbose);
    bad_opts = (agent_domxml_opts_t){"kvm\n", NULL, NULL};
    s_expect_error (&minimal, &bad_opts, "an option of the agent has a control character", verbose);
    bad_opts = (agent_domxml_opts_t){"qemu", "console", NULL};
    s_expect_error (&minimal, &bad_opts, "console directory 'console' is not an absolute", verbose);
    bad_opts = (agent_domxml_opts_t){"qemu", NULL, "qemu-system-x86_64"};
    s_expect_error (&minimal, &bad_opts, "emulator 'qemu-system-x86_64' is not an absolute",
                    verbose);
}

//  Text XML must escape, non-ASCII text, and a sparse spec built by hand.
static void
s_test_escapes (virConnectPtr conn, Maekin__VmSpec minimal, bool verbose)
{
    agent_domxml_opts_t qemu_file = {"qemu", "/var/lib/maekin/console", NULL};
    //  A name with characters XML must escape comes back whole from the document, and
    //  libvirt takes it too. Non-ASCII text is written as UTF-8.
    Maekin__VmSpec odd = minimal;
    odd.name = "a<b&\"c";
    odd.cmdline = "x='1' y=\"2\" <&>";
    odd.kernel = "/boot/vmlinuz-\xc3\xa9t\xc3\xa9";
    char *xml = agent_domxml_build (&odd, &qemu_file, NULL);
    assert (xml);
    assert (strstr (xml, "<name>a&lt;b&amp;\"c</name>"));
    assert (strstr (xml, "/boot/vmlinuz-\xc3\xa9t\xc3\xa9"));
    xmlDocPtr doc = s_parse (xml);
    char *value = s_xpath (doc, "string(/domain/name)");
    assert (strcmp (value, odd.name) == 0);
    free (value);
    value = s_xpath (doc, "string(/domain/os/cmdline)");
    assert (strcmp (value, odd.cmdline) == 0);
    free (value);
    value = s_xpath (doc, "string(/domain/devices/serial/source/@path)");
    assert (strcmp (value, "/var/lib/maekin/console/a<b&\"c.log") == 0);
    free (value);
    xmlFreeDoc (doc);
    s_libvirt_check (conn, &odd, xml, verbose);
    free (xml);

    //  A spec built by hand with NULL strings is a minimal one; a console directory
    //  given with a trailing '/' gives the same path as without.
    Maekin__VmSpec sparse = {.base = PROTOBUF_C_MESSAGE_INIT (&maekin__vm_spec__descriptor)};
    sparse.name = "sparse";
    sparse.uuid = minimal.uuid;
    sparse.vcpus = 2;
    sparse.memory_mb = AGENT_DOMXML_MEMORY_MAX_MB;
    agent_domxml_opts_t slash = {"", "/var/log/maekin//", ""};
    xml = agent_domxml_build (&sparse, &slash, NULL);
    assert (xml);
    doc = s_parse (xml);
    value = s_xpath (doc, "string(/domain/devices/console/source/@path)");
    assert (strcmp (value, "/var/log/maekin/sparse.log") == 0);
    free (value);
    value = s_xpath (doc, "concat(/domain/@type, ' ', /domain/memory, ' ', "
                          "count(/domain/devices/*))");
    assert (strcmp (value, "kvm 4194304 2") == 0);
    free (value);
    xmlFreeDoc (doc);
    s_libvirt_check (conn, &sparse, xml, verbose);
    free (xml);
}

void
agent_domxml_test (bool verbose)
{
    //  The golden cases.
    agent_domxml_opts_t kvm_pty = {NULL, NULL, NULL};
    Maekin__VmSpec minimal = MAEKIN__VM_SPEC__INIT;
    minimal.name = "minimal";
    minimal.uuid = "6f1c2a3e-9b7d-4e58-a1c0-3d2b4f5e6a70";
    minimal.vcpus = 1;
    minimal.memory_mb = 512;

    agent_domxml_opts_t qemu_file = {"qemu", "/var/lib/maekin/console", NULL};
    Maekin__VmSpec kernel = MAEKIN__VM_SPEC__INIT;
    kernel.name = "tiny";
    kernel.uuid = "0b9e4c4d-2f61-4a7c-8e15-7d9a3c2b1f04";
    kernel.vcpus = 1;
    kernel.memory_mb = 256;
    kernel.os_type = "linux";
    kernel.kernel = "/var/lib/maekin/boot/vmlinuz";
    kernel.initrd = "/var/lib/maekin/boot/initrd.img";
    kernel.cmdline = "console=ttyS0 quiet";

    agent_domxml_opts_t kvm_emulator = {"kvm", NULL, "/usr/bin/qemu-system-x86_64"};
    Maekin__VmSpec network = MAEKIN__VM_SPEC__INIT;
    network.name = "web-1";
    network.uuid = "c2d7e8f9-5a4b-4c3d-9e2f-1a0b9c8d7e6f";
    network.vcpus = 4;
    network.memory_mb = 4096;
    network.disk_gb = 20;
    network.image = "/var/lib/maekin/images/web-1.qcow2";
    network.os_type = "hvm";
    network.network = "default";
    network.mac = "52:54:00:12:34:56";

    //  A VM with an address from an IP pool: on the pool's bridge, held to its MAC and IP.
    Maekin__VmSpec bridge = network;
    bridge.network = "";
    bridge.bridge = "mkbr0";
    bridge.ip = "10.88.0.100";
    //  ... and with an IPv6 address, held by our filter.
    Maekin__VmSpec bridge6 = bridge;
    bridge6.ip = "fd00:88::100";

    agent_domxml_opts_t test_pty = {"test", NULL, NULL};
    Maekin__VmSpec test = MAEKIN__VM_SPEC__INIT;
    test.name = "test-vm";
    test.uuid = "9A8B7C6D-5E4F-4A3B-8C2D-1E0F9A8B7C6D";
    test.vcpus = 256;
    test.memory_mb = 16;
    test.image = "/var/lib/maekin/images/test-vm.qcow2";
    test.network = "default";

    const struct {
        const char *name;
        const Maekin__VmSpec *spec;
        const agent_domxml_opts_t *opts;
    } cases[] = {{"minimal", &minimal, &kvm_pty},      {"kernel", &kernel, &qemu_file},
                 {"network", &network, &kvm_emulator}, {"bridge", &bridge, &kvm_emulator},
                 {"bridge6", &bridge6, &kvm_emulator}, {"test", &test, &test_pty}};
    size_t ncases = sizeof cases / sizeof cases[0];

    //  The test driver of libvirt 9.0 accepts domain types kvm and qemu as well as
    //  test, so every golden XML is defined as it is, no copy with type 'test' needed.
    virConnectPtr conn = virConnectOpen ("test:///default");
    assert (conn);
    for (size_t i = 0; i < ncases; i++) {
        char *error = NULL;
        char *xml = agent_domxml_build (cases[i].spec, cases[i].opts, &error);
        assert (xml);
        assert (error == NULL);
        s_golden_check (cases[i].name, xml, verbose);
        s_libvirt_check (conn, cases[i].spec, xml, verbose);
        free (xml);
    }

    s_test_refusals (minimal, kernel, network, verbose);
    s_test_escapes (conn, minimal, verbose);
    s_filter_check (verbose);
    assert (virConnectClose (conn) == 0);
}

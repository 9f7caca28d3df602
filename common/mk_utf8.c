/*  mk_utf8: reading UTF-8 strictly, and making text fit for a JSON or XML document. */
#include "mk_utf8.h"

#include <libxml/chvalid.h>

int32_t
mk_utf8_decode (const unsigned char *s, int *size)
{
    unsigned char c = s[0];
    int length;
    int32_t code;
    *size = 1;
    if (c < 0x80)
        return c;
    if (c >= 0xc2 && c <= 0xdf) {
        length = 2;
        code = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        length = 3;
        code = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        length = 4;
        code = c & 0x07;
    } else
        return -1;
    for (int i = 1; i < length; i++) {
        if ((s[i] & 0xc0) != 0x80) //  a NUL ends here too
            return -1;
        code = (code << 6) | (s[i] & 0x3f);
    }
    if ((length == 3 && code < 0x800) || (length == 4 && (code < 0x10000 || code > 0x10ffff))
        || (code >= 0xd800 && code <= 0xdfff))
        return -1;
    *size = length;
    return code;
}

char *
mk_utf8_clean (const char *text, bool xml)
{
    size_t length = strlen (text);
    //  U+FFFD takes three bytes where it replaces at least one.
    char *clean = (char *) malloc (length * 3 + 1);
    if (!clean)
        abort ();
    char *to = clean;
    const unsigned char *cursor = (const unsigned char *) text;
    while (*cursor) {
        int size;
        int32_t code = mk_utf8_decode (cursor, &size);
        if (code < 0 || (xml && !xmlIsCharQ (code))) {
            memcpy (to, "\xef\xbf\xbd", 3);
            to += 3;
        } else {
            memcpy (to, cursor, (size_t) size);
            to += size;
        }
        cursor += size;
    }
    *to = 0;
    return clean;
}

void
mk_utf8_test (bool verbose)
{
    int size;
    assert (mk_utf8_decode ((const unsigned char *) "a", &size) == 'a' && size == 1);
    assert (mk_utf8_decode ((const unsigned char *) "\xc3\xa9", &size) == 0xe9 && size == 2);
    assert (mk_utf8_decode ((const unsigned char *) "\xe2\x9c\x93", &size) == 0x2713);
    assert (mk_utf8_decode ((const unsigned char *) "\xf0\x9f\x98\x80", &size) == 0x1f600);
    assert (size == 4);
    //  Overlong forms, surrogates, past U+10FFFF, a sequence cut by NUL, a lone byte.
    const char *bad[] = {"\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
                         "\xe2\x9c", "\xff",         "\x80"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert (mk_utf8_decode ((const unsigned char *) bad[i], &size) == -1);
        assert (size == 1);
    }
    char *clean = mk_utf8_clean ("\xc0\xaf ok \x02 \xc3\xa9", true);
    assert (streq (clean, "\xef\xbf\xbd\xef\xbf\xbd ok \xef\xbf\xbd \xc3\xa9"));
    free (clean);
    clean = mk_utf8_clean ("\xff ok \x02\t", false);
    assert (streq (clean, "\xef\xbf\xbd ok \x02\t"));
    free (clean);
}

/* monitor/out: see out.h. */
#include "monitor/out.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void out_init(struct out *o, char *buf, size_t cap)
{
    *o = (struct out){ .buf = buf, .cap = cap, .len = 0 };
    if (cap > 0)
        buf[0] = '\0';
}

void out_mem(struct out *o, const char *s, size_t n)
{
    size_t room;

    if (o->cap == 0)
        return;
    room = o->cap - 1 - o->len;
    if (n > room)
        n = room;
    memcpy(o->buf + o->len, s, n);
    o->len += n;
    o->buf[o->len] = '\0';
}

void out_str(struct out *o, const char *s)
{
    out_mem(o, s, strlen(s));
}

void out_printf(struct out *o, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    out_mem(o, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* Length of a valid UTF-8 sequence at s[0..n), or 0 if it is not one. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    size_t need;
    unsigned char lo = 0x80, hi = 0xbf;

    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        need = 2;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        need = 3;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        need = 4;
    else
        return 0;
    /* exclude overlong forms, surrogates and code points past U+10FFFF */
    if (s[0] == 0xe0)
        lo = 0xa0;
    else if (s[0] == 0xed)
        hi = 0x9f;
    else if (s[0] == 0xf0)
        lo = 0x90;
    else if (s[0] == 0xf4)
        hi = 0x8f;
    if (n < need || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < need; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return need;
}

static void out_json_char(struct out *o, unsigned char c)
{
    switch (c) {
    case '"':  out_str(o, "\\\""); break;
    case '\\': out_str(o, "\\\\"); break;
    case '\n': out_str(o, "\\n"); break;
    case '\r': out_str(o, "\\r"); break;
    case '\t': out_str(o, "\\t"); break;
    default:
        if (c < 0x20 || c == 0x7f)
            out_printf(o, "\\u%04x", c);
        else
            out_mem(o, (const char *)&c, 1);
    }
}

void out_json_str(struct out *o, const char *s, size_t max)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = s != NULL ? strnlen(s, max) : 0;

    out_str(o, "\"");
    for (size_t i = 0; i < n;) {
        size_t k = p[i] < 0x80 ? 1 : utf8_seq(p + i, n - i);

        if (k == 1)
            out_json_char(o, p[i]);
        else if (k > 1)
            out_mem(o, (const char *)p + i, k);
        else
            out_str(o, "\\ufffd");
        i += k > 0 ? k : 1;
    }
    out_str(o, "\"");
}

void out_json_num(struct out *o, double v, bool valid)
{
    if (valid && isfinite(v))
        out_printf(o, "%.9f", v);
    else
        out_str(o, "null");
}

void out_json_bool(struct out *o, bool b)
{
    out_str(o, b ? "true" : "false");
}

/* Prometheus escapes backslash, double quote and newline; other control
 * bytes are replaced so the sample stays one line. */
void out_prom_label(struct out *o, const char *s, size_t max)
{
    size_t n = strnlen(s, max);

    out_str(o, "\"");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '\\')
            out_str(o, "\\\\");
        else if (c == '"')
            out_str(o, "\\\"");
        else if (c == '\n')
            out_str(o, "\\n");
        else if (c < 0x20 || c == 0x7f)
            out_str(o, "?");
        else
            out_mem(o, (const char *)&c, 1);
    }
    out_str(o, "\"");
}

void out_ident(struct out *o, const char *name)
{
    for (size_t i = 0; name != NULL && name[i] != '\0' && i < 64; i++) {
        char c = name[i];

        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            c = '_';
        out_mem(o, &c, 1);
    }
}

/* libFuzzer harness for monitor/control: the request parser, and the
 * formatters fed with attacker-shaped strings (a peer chooses its refid;
 * the config chooses names).
 *
 * Checks, beyond "no crash / no UB": an accepted request names what it
 * asks for; formatting into any capacity stays inside it, is
 * NUL-terminated and is a prefix of the untruncated output; JSON strings
 * carry no raw control byte and the brackets balance.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/control.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)

static void check_parse(const uint8_t *data, size_t size)
{
    enum ctl_request req;
    enum ctl_format fmt;

    if (ctl_parse_request((const char *)data, size, &req, &fmt) != 0)
        return;
    CHECK(req >= 0 && req < CTL_REQ__COUNT);
    CHECK(memmem(data, size, ctl_request_name(req), strlen(ctl_request_name(req))) != NULL);
    CHECK(fmt == CTL_TEXT || memmem(data, size, "json", 4) != NULL);
}

static void check_json(const char *s)
{
    int depth = 0;
    int in_str = 0;

    for (; *s != '\0'; s++) {
        if (in_str) {
            CHECK((unsigned char)*s >= 0x20);
            if (*s == '\\')
                CHECK(*++s != '\0');
            else if (*s == '"')
                in_str = 0;
            continue;
        }
        if (*s == '"')
            in_str = 1;
        else if (*s == '{' || *s == '[')
            depth++;
        else if (*s == '}' || *s == ']')
            CHECK(--depth >= 0);
    }
    CHECK(!in_str && depth == 0);
}

static void fill(struct report_source *s, struct report_tracking *t,
                 const uint8_t *data, size_t size)
{
    memset(s, 0, sizeof(*s));
    memset(t, 0, sizeof(*t));
    /* no terminator when the input is long: the formatter must cope */
    memcpy(s->name, data, size < sizeof(s->name) ? size : sizeof(s->name));
    memcpy(s->address, data, size < sizeof(s->address) ? size : sizeof(s->address));
    memcpy(s->refid, data, size < sizeof(s->refid) ? size : sizeof(s->refid));
    memcpy(t->reference, data, size < sizeof(t->reference) ? size : sizeof(t->reference));
    memcpy(t->refid, data, size < sizeof(t->refid) ? size : sizeof(t->refid));
    if (size > 0) {
        s->state = (char)data[0];
        s->stratum = (int8_t)data[0];
        s->poll = (int8_t)data[size - 1];
        s->reach = data[size / 2];
        s->last_ns = (int64_t)data[0] << (data[size - 1] % 48);
        s->have_sample = data[0] & 1;
        s->offset_s = (double)(int8_t)data[size / 2] * 1e-3;
        t->leap = data[0] % 5;
        t->precision = (int8_t)data[size - 1];
        t->update_age_ns = -(int64_t)(data[0] & 1);
    }
    t->state = "fuzz";
}

static void check_format(const struct report_source *s, const struct report_tracking *t,
                         enum ctl_format fmt, size_t cap)
{
    static char full[CTL_MAX_REPLY], part[CTL_MAX_REPLY];
    size_t n_full, n;

    for (int which = 0; which < 2; which++) {
        n_full = which == 0 ? ctl_format_sources(s, 1, fmt, full, sizeof(full))
                            : ctl_format_tracking(t, fmt, full, sizeof(full));
        CHECK(n_full < sizeof(full) && full[n_full] == '\0');
        if (fmt == CTL_JSON)
            check_json(full);
        n = which == 0 ? ctl_format_sources(s, 1, fmt, part, cap)
                       : ctl_format_tracking(t, fmt, part, cap);
        CHECK(cap == 0 ? n == 0 : n < cap && part[n] == '\0');
        CHECK(memcmp(part, full, n) == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct report_source s;
    struct report_tracking t;
    size_t cap = size > 0 ? (size_t)data[size - 1] * 4 : 0;

    check_parse(data, size);
    fill(&s, &t, data, size);
    check_format(&s, &t, CTL_TEXT, cap);
    check_format(&s, &t, CTL_JSON, cap);
    return 0;
}

/* core/restrict: see restrict.h. */
#include "core/restrict.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void mask_bytes(uint8_t a[16], unsigned prefix)
{
    for (unsigned i = 0; i < 16; i++) {
        unsigned bit = i * 8;

        if (bit >= prefix)
            a[i] = 0;
        else if (prefix - bit < 8)
            a[i] &= (uint8_t)(0xffu << (8 - (prefix - bit)));
    }
}

void res_addr_from_ipv6(const uint8_t a6[16], struct res_addr *out)
{
    static const uint8_t v4mapped[12] = { [10] = 0xff, [11] = 0xff };

    memset(out, 0, sizeof(*out));
    if (memcmp(a6, v4mapped, 12) == 0) {
        out->family = 4;
        out->v4mapped = true;
        memcpy(out->a, a6 + 12, 4);
        return;
    }
    out->family = 6;
    memcpy(out->a, a6, 16);
}

bool res_addr_is_loopback(const struct res_addr *a)
{
    static const uint8_t lo6[16] = { [15] = 1 };

    if (a->v4mapped)
        return false;
    if (a->family == 4)
        return a->a[0] == 127;
    return a->family == 6 && memcmp(a->a, lo6, 16) == 0;
}

static unsigned max_prefix(uint8_t family)
{
    return family == 4 ? 32 : 128;
}

static struct res_entry *find(struct res_entry *e, size_t n, uint8_t family,
                              const uint8_t a[16], unsigned prefix)
{
    for (size_t i = 0; i < n; i++)
        if (e[i].family == family && e[i].prefix == prefix &&
            memcmp(e[i].a, a, 16) == 0)
            return &e[i];
    return NULL;
}

/* Apply one rule for one family. */
static void apply(struct res_entry *e, size_t *n, uint8_t family, const uint8_t a_in[16],
                  unsigned prefix, uint32_t flags, bool remove, bool builtin)
{
    uint8_t a[16];
    struct res_entry *x;

    if (prefix > max_prefix(family))
        prefix = max_prefix(family);
    memcpy(a, a_in, 16);
    if (family == 4)
        memset(a + 4, 0, 12);
    mask_bytes(a, prefix);
    x = find(e, *n, family, a, prefix);
    if (remove) {
        if (x) {
            *x = e[*n - 1];
            (*n)--;
        }
        return;
    }
    if (x) {
        /* A config line replaces a built-in entry; config lines naming the
         * same address and mask accumulate (ntpd). */
        if (x->builtin && !builtin)
            x->flags = 0;
        x->builtin = builtin;
        x->flags |= flags;
        return;
    }
    x = &e[(*n)++];
    memset(x, 0, sizeof(*x));
    x->family = family;
    memcpy(x->a, a, 16);
    x->prefix = prefix;
    x->flags = flags;
    x->builtin = builtin;
}

static int by_prefix_desc(const void *pa, const void *pb)
{
    const struct res_entry *a = pa, *b = pb;

    if (a->prefix != b->prefix)
        return a->prefix > b->prefix ? -1 : 1;
    if (a->family != b->family)
        return a->family < b->family ? -1 : 1;
    return memcmp(a->a, b->a, 16);
}

int restrict_compile(struct restrict_table *t, const struct res_rule *rules, size_t n)
{
    static const uint8_t zero[16];
    uint8_t lo4[16] = { 127, 0, 0, 1 }, lo6[16] = { [15] = 1 };
    size_t cap = 2 * n + 4, cnt = 0;
    struct res_entry *e = calloc(cap, sizeof(*e));

    memset(t, 0, sizeof(*t));
    if (!e)
        return -1;
    apply(e, &cnt, 4, zero, 0, RF_SECURE_DEFAULT, false, true);
    apply(e, &cnt, 6, zero, 0, RF_SECURE_DEFAULT, false, true);
    apply(e, &cnt, 4, lo4, 32, 0, false, true);
    apply(e, &cnt, 6, lo6, 128, 0, false, true);
    for (size_t i = 0; i < n; i++) {
        const struct res_rule *r = &rules[i];

        if (r->family == 4 || r->family == 0)
            apply(e, &cnt, 4, r->a, r->family ? r->prefix : 0, r->flags, r->remove, false);
        if (r->family == 6 || r->family == 0)
            apply(e, &cnt, 6, r->a, r->family ? r->prefix : 0, r->flags, r->remove, false);
    }
    qsort(e, cnt, sizeof(*e), by_prefix_desc);
    t->e = e;
    t->n = cnt;
    return 0;
}

void restrict_free(struct restrict_table *t)
{
    free(t->e);
    memset(t, 0, sizeof(*t));
}

static bool contains(const struct res_entry *e, const struct res_addr *a)
{
    unsigned full = e->prefix / 8, rest = e->prefix % 8;

    if (e->family != a->family)
        return false;
    if (memcmp(e->a, a->a, full) != 0)
        return false;
    if (rest) {
        uint8_t m = (uint8_t)(0xffu << (8 - rest));

        if ((a->a[full] & m) != e->a[full])
            return false;
    }
    return true;
}

const struct res_entry *restrict_lookup(const struct restrict_table *t,
                                        const struct res_addr *a)
{
    if (!a || (a->family != 4 && a->family != 6))
        return NULL;
    for (size_t i = 0; i < t->n; i++)
        if (contains(&t->e[i], a))
            return &t->e[i];
    return NULL;
}

uint32_t restrict_match(const struct restrict_table *t, const struct res_addr *a)
{
    const struct res_entry *e = restrict_lookup(t, a);

    return e ? e->flags : 0;
}

const char *restrict_flags_str(uint32_t flags, char *buf, size_t cap)
{
    static const struct { uint32_t bit; const char *name; } names[] = {
        { RF_IGNORE, "ignore" }, { RF_KOD, "kod" }, { RF_LIMITED, "limited" },
        { RF_NOMODIFY, "nomodify" }, { RF_NOMRULIST, "nomrulist" },
        { RF_NOPEER, "nopeer" }, { RF_NOQUERY, "noquery" },
        { RF_NOSERVE, "noserve" }, { RF_NOTRAP, "notrap" },
    };
    size_t off = 0;

    if (cap == 0)
        return buf;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        int w;

        if (!(flags & names[i].bit))
            continue;
        w = snprintf(buf + off, cap - off, "%s%s", off ? " " : "", names[i].name);
        if (w < 0 || (size_t)w >= cap - off)
            break;
        off += (size_t)w;
    }
    return buf;
}

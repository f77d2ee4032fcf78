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

static int bit_at(const uint8_t a[16], unsigned i)
{
    return (a[i / 8] >> (7 - i % 8)) & 1;
}

/* Leading bits a and b share, at most max. */
static unsigned common_bits(const uint8_t a[16], const uint8_t b[16], unsigned max)
{
    unsigned n = 0;

    for (unsigned i = 0; i < 16 && n < max; i++) {
        uint8_t x = a[i] ^ b[i];

        if (x == 0) {
            n += 8;
            continue;
        }
        while (!(x & 0x80)) {
            x = (uint8_t)(x << 1);
            n++;
        }
        break;
    }
    return n < max ? n : max;
}

/* A new node for a/bits (a masked by the caller); 0 when out of memory. */
static uint32_t new_node(struct restrict_table *t, const uint8_t a[16], unsigned bits)
{
    struct res_node *x;

    if (t->n_nodes == t->cap_nodes) {
        size_t cap = t->cap_nodes ? 2 * t->cap_nodes : 64;
        struct res_node *nn = realloc(t->node, cap * sizeof(*nn));

        if (!nn || cap > UINT32_MAX)
            return 0;
        t->node = nn;
        t->cap_nodes = cap;
    }
    x = &t->node[t->n_nodes];
    memset(x, 0, sizeof(*x));
    memcpy(x->a, a, 16);
    mask_bytes(x->a, bits);
    x->bits = (uint8_t)bits;
    x->entry = -1;
    return (uint32_t)t->n_nodes++;
}

/* The node for exactly a/bits (a masked), made if missing: O(bits). */
static uint32_t tree_insert(struct restrict_table *t, int fam, const uint8_t a[16],
                            unsigned bits)
{
    uint32_t n = t->root[fam];

    for (;;) {
        int b;
        uint32_t c, m, leaf;
        unsigned cl;

        if (t->node[n].bits == bits)
            return n;
        b = bit_at(a, t->node[n].bits);
        c = t->node[n].child[b];
        if (c == 0) {
            if ((leaf = new_node(t, a, bits)) != 0)
                t->node[n].child[b] = leaf;
            return leaf;
        }
        cl = common_bits(a, t->node[c].a, bits < t->node[c].bits ? bits : t->node[c].bits);
        if (cl == t->node[c].bits) {
            n = c;              /* c's prefix contains a/bits: go down */
            continue;
        }
        /* a/bits and c part ways at bit cl (or a/bits is c's ancestor) */
        if ((m = new_node(t, a, cl)) == 0)
            return 0;
        t->node[m].child[bit_at(t->node[c].a, cl)] = c;
        t->node[n].child[b] = m;
        if (cl == bits)
            return m;
        if ((leaf = new_node(t, a, bits)) != 0)
            t->node[m].child[bit_at(a, cl)] = leaf;
        return leaf;
    }
}

/* Apply one rule for one family; the tree finds the entry, e[] holds it.
 * Returns 0, or -1 when out of memory. */
static int apply(struct restrict_table *t, uint8_t family, const uint8_t a_in[16],
                 unsigned prefix, uint32_t flags, bool remove, bool builtin)
{
    uint8_t a[16];
    struct res_entry *x;
    uint32_t nd;

    if (prefix > max_prefix(family))
        prefix = max_prefix(family);
    memcpy(a, a_in, 16);
    if (family == 4)
        memset(a + 4, 0, 12);
    mask_bytes(a, prefix);
    if ((nd = tree_insert(t, family == 6, a, prefix)) == 0)
        return -1;
    if (remove) {
        if (t->node[nd].entry >= 0)
            t->e[t->node[nd].entry].family = 0;     /* dead: dropped below */
        t->node[nd].entry = -1;
        return 0;
    }
    if (t->node[nd].entry >= 0) {
        x = &t->e[t->node[nd].entry];
        /* A config line replaces a built-in entry; config lines naming the
         * same address and mask accumulate (ntpd). */
        if (x->builtin && !builtin)
            x->flags = 0;
        x->builtin = builtin;
        x->flags |= flags;
        return 0;
    }
    t->node[nd].entry = (int32_t)t->n;
    x = &t->e[t->n++];
    memset(x, 0, sizeof(*x));
    x->family = family;
    memcpy(x->a, a, 16);
    x->prefix = prefix;
    x->flags = flags;
    x->builtin = builtin;
    return 0;
}

static int by_prefix_desc(const void *pa, const void *pb, void *base)
{
    const struct res_entry *a = &((const struct res_entry *)base)[*(const uint32_t *)pa];
    const struct res_entry *b = &((const struct res_entry *)base)[*(const uint32_t *)pb];

    if (a->prefix != b->prefix)
        return a->prefix > b->prefix ? -1 : 1;
    if (a->family != b->family)
        return a->family < b->family ? -1 : 1;
    return memcmp(a->a, b->a, 16);
}

/* Drop removed entries and sort the rest longest prefix first (for the
 * log and restrict_lookup's callers), re-pointing the tree. */
static int finish(struct restrict_table *t)
{
    uint32_t *order = malloc((t->n + 1) * sizeof(*order));
    int32_t *where = malloc((t->n + 1) * sizeof(*where));
    struct res_entry *e = malloc((t->n + 1) * sizeof(*e));
    size_t live = 0;

    if (!order || !where || !e) {
        free(order);
        free(where);
        free(e);
        return -1;
    }
    for (size_t i = 0; i < t->n; i++)
        if (t->e[i].family != 0)
            order[live++] = (uint32_t)i;
    qsort_r(order, live, sizeof(*order), by_prefix_desc, t->e);
    for (size_t i = 0; i < t->n; i++)
        where[i] = -1;
    for (size_t k = 0; k < live; k++) {
        e[k] = t->e[order[k]];
        where[order[k]] = (int32_t)k;
    }
    for (size_t i = 1; i < t->n_nodes; i++)
        if (t->node[i].entry >= 0)
            t->node[i].entry = where[t->node[i].entry];
    free(t->e);
    t->e = e;
    t->n = live;
    free(order);
    free(where);
    return 0;
}

int restrict_compile(struct restrict_table *t, const struct res_rule *rules, size_t n)
{
    static const uint8_t zero[16];
    uint8_t lo4[16] = { 127, 0, 0, 1 }, lo6[16] = { [15] = 1 };
    int rc = 0;

    memset(t, 0, sizeof(*t));
    t->e = calloc(2 * n + 4, sizeof(*t->e));
    if (!t->e || new_node(t, zero, 0) != 0 ||           /* node 0: "none" */
        (t->root[0] = new_node(t, zero, 0)) == 0 || (t->root[1] = new_node(t, zero, 0)) == 0) {
        restrict_free(t);
        return -1;
    }
    rc |= apply(t, 4, zero, 0, RF_SECURE_DEFAULT, false, true);
    rc |= apply(t, 6, zero, 0, RF_SECURE_DEFAULT, false, true);
    rc |= apply(t, 4, lo4, 32, 0, false, true);
    rc |= apply(t, 6, lo6, 128, 0, false, true);
    for (size_t i = 0; i < n && rc == 0; i++) {
        const struct res_rule *r = &rules[i];

        if (r->family == 4 || r->family == 0)
            rc |= apply(t, 4, r->a, r->family ? r->prefix : 0, r->flags, r->remove, false);
        if (r->family == 6 || r->family == 0)
            rc |= apply(t, 6, r->a, r->family ? r->prefix : 0, r->flags, r->remove, false);
    }
    if (rc != 0 || finish(t) < 0) {
        restrict_free(t);
        return -1;
    }
    return 0;
}

void restrict_free(struct restrict_table *t)
{
    free(t->e);
    free(t->node);
    memset(t, 0, sizeof(*t));
}

/* Longest-prefix match: one node per step, at most one per address bit. */
const struct res_entry *restrict_lookup(const struct restrict_table *t,
                                        const struct res_addr *a)
{
    unsigned maxb;
    int32_t best = -1;
    uint32_t n;

    if (!a || (a->family != 4 && a->family != 6) || t->node == NULL)
        return NULL;
    maxb = max_prefix(a->family);
    n = t->root[a->family == 6];
    while (n != 0) {
        const struct res_node *x = &t->node[n];

        if (common_bits(x->a, a->a, x->bits) < x->bits)
            break;
        if (x->entry >= 0)
            best = x->entry;
        if (x->bits >= maxb)
            break;
        n = x->child[bit_at(a->a, x->bits)];
    }
    return best >= 0 ? &t->e[best] : NULL;
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

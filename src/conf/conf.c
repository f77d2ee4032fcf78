/* conf: ntp.conf directives -> struct config.
 *
 * One static table maps each directive to its handler and argument counts,
 * so the argument-count errors are uniform and the list of what chime
 * understands is in one place. Handlers validate every word and write into
 * the config being built; all strings and arrays are arena-allocated, so a
 * parse that fails half-way is cleaned up by freeing the arena.
 *
 * Directives chime will implement later are kept verbatim in cfg->stored:
 * a real ntp.conf that uses them still loads, and nothing is lost silently.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "conf/conf_int.h"
#include "core/ratelimit.h"

enum {
    CONF_MAX_DEPTH = 5,                 /* includefile nesting */
    CONF_MAX_FILE = 16 << 20,           /* bytes: room for ~400,000 restrict lines */
    ARGS_MANY = INT_MAX,
};

/* Parse state; the growable arrays' capacities live here, not in config. */
struct parser {
    struct config *cfg;
    struct conf_arena *arena;
    char *err;
    size_t errlen;
    int depth;
    size_t cap_sources, cap_restricts, cap_ifaces, cap_statistics,
           cap_filegens, cap_trustedkeys, cap_stored;
};

struct directive;
struct line {
    const struct directive *d;
    const struct conf_tok *arg;    /* arguments after the directive word */
    size_t nargs;
    struct conf_loc loc;
};

typedef int (*handler_fn)(struct parser *p, const struct line *l);

struct directive {
    const char *name;
    handler_fn handler;
    int min_args, max_args;
    const char *needs;      /* completes "'NAME' needs ..." */
    const char *doc;
};

static int parse_text(struct parser *p, const char *file, const char *text, size_t len);

/* ---- small helpers ---------------------------------------------------------- */

__attribute__((format(printf, 3, 4)))
static int fail(struct parser *p, const struct conf_loc *loc, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    conf_verrorf(p->err, p->errlen, loc->file, loc->line, fmt, ap);
    va_end(ap);
    return -1;
}

static int oom(struct parser *p, const struct conf_loc *loc)
{
    return fail(p, loc, "out of memory");
}

static const char *dup_str(struct parser *p, const char *s)
{
    return conf_arena_strdup(p->arena, s, strlen(s));
}

/* Make room for one more element in an arena array; the old copy stays in
 * the arena (doubling keeps the waste below the final size). */
static void *grow(struct parser *p, void *arr, size_t n, size_t *cap, size_t elsz)
{
    size_t ncap;
    void *na;

    if (n < *cap)
        return arr;
    ncap = *cap ? *cap * 2 : 8;
    if (ncap > SIZE_MAX / elsz)
        return NULL;
    na = conf_arena_alloc(p->arena, ncap * elsz);
    if (!na)
        return NULL;
    if (n)
        memcpy(na, arr, n * elsz);
    *cap = ncap;
    return na;
}

/* The restrict lines grow on the heap, not in the arena: 100,000 of them
 * are tens of MB that the daemon drops once they are compiled into the
 * lookup tree (conf_release_restricts), and realloc leaves no old copies. */
static struct conf_restrict *push_restrict(struct parser *p)
{
    struct config *c = p->cfg;

    if (c->n_restricts == p->cap_restricts) {
        size_t ncap = p->cap_restricts ? p->cap_restricts * 2 : 8;
        struct conf_restrict *na;

        if (ncap > SIZE_MAX / sizeof(*na))
            return NULL;
        na = realloc(c->restricts, ncap * sizeof(*na));
        if (!na)
            return NULL;
        c->restricts = na;
        p->cap_restricts = ncap;
    }
    memset(&c->restricts[c->n_restricts], 0, sizeof(c->restricts[0]));
    return &c->restricts[c->n_restricts++];
}

/* Append a zeroed element to cfg->FIELD; evaluates to a pointer or NULL. */
#define PUSH(p, field, capfield)                                              \
    ((p)->cfg->field = grow((p), (p)->cfg->field, (p)->cfg->n_##field,       \
                            &(p)->capfield, sizeof *(p)->cfg->field),        \
     (p)->cfg->field ? &(p)->cfg->field[(p)->cfg->n_##field++] : NULL)

static bool streq(const char *a, const char *b)
{
    return strcmp(a, b) == 0;
}

/* Decimal integer, whole word, within lo..hi. */
static bool parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    long v = 0;

    if (!(*s == '-' || (*s >= '0' && *s <= '9')))
        return false;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

/* Finite decimal number within lo..hi (no hex, no "nan"/"inf"). */
static bool parse_double(const char *s, double lo, double hi, double *out)
{
    char *end;
    double v;

    if (!*s || strspn(s, "0123456789.eE+-") != strlen(s))
        return false;
    errno = 0;
    v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

static int want_long(struct parser *p, const struct conf_tok *t, const char *what,
                     long lo, long hi, long *out)
{
    if (!parse_long(t->s, lo, hi, out))
        return fail(p, &t->loc, "bad value '%s' for %s (expected %ld..%ld)",
                    t->s, what, lo, hi);
    return 0;
}

static int want_double(struct parser *p, const struct conf_tok *t, const char *what,
                       double lo, double hi, double *out)
{
    if (!parse_double(t->s, lo, hi, out))
        return fail(p, &t->loc, "bad value '%s' for %s (expected %g..%g)",
                    t->s, what, lo, hi);
    return 0;
}

/* The value after keyword arg[*i]; advances *i onto it. */
static const struct conf_tok *value_of(struct parser *p, const struct line *l, size_t *i)
{
    if (*i + 1 >= l->nargs) {
        fail(p, &l->arg[*i].loc, "'%s' needs a value", l->arg[*i].s);
        return NULL;
    }
    return &l->arg[++*i];
}

static int keyword_long(struct parser *p, const struct line *l, size_t *i,
                        long lo, long hi, long *out)
{
    const char *what = l->arg[*i].s;
    const struct conf_tok *v = value_of(p, l, i);

    return v ? want_long(p, v, what, lo, hi, out) : -1;
}

/* ---- addresses -------------------------------------------------------------- */

/* Numeric address, optionally "/len". family AF_UNSPEC accepts either.
 * Returns 0, -1 when `s` is not an address, -2 for a bad prefix length. */
static int parse_addr(const char *s, int family, struct sockaddr_storage *ss,
                      unsigned *prefix, bool *has_prefix)
{
    char buf[INET6_ADDRSTRLEN + 1];
    const char *slash = strchr(s, '/');
    size_t n = slash ? (size_t)(slash - s) : strlen(s);
    long len = 0;

    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    memset(ss, 0, sizeof *ss);
    if ((family == AF_UNSPEC || family == AF_INET) &&
        inet_pton(AF_INET, buf, &((struct sockaddr_in *)ss)->sin_addr) == 1) {
        ss->ss_family = AF_INET;
        *prefix = 32;
    } else if ((family == AF_UNSPEC || family == AF_INET6) &&
               inet_pton(AF_INET6, buf, &((struct sockaddr_in6 *)ss)->sin6_addr) == 1) {
        ss->ss_family = AF_INET6;
        *prefix = 128;
    } else {
        return -1;
    }
    *has_prefix = slash != NULL;
    if (slash) {
        if (!parse_long(slash + 1, 0, (long)*prefix, &len))
            return -2;
        *prefix = (unsigned)len;
    }
    return 0;
}

static unsigned char *addr_bytes(struct sockaddr_storage *ss, size_t *n)
{
    if (ss->ss_family == AF_INET) {
        *n = 4;
        return (unsigned char *)&((struct sockaddr_in *)ss)->sin_addr;
    }
    *n = 16;
    return (unsigned char *)&((struct sockaddr_in6 *)ss)->sin6_addr;
}

/* Zero the host bits so equal networks compare equal later. */
static void mask_addr(struct sockaddr_storage *ss, unsigned prefix)
{
    size_t n;
    unsigned char *b = addr_bytes(ss, &n);

    for (size_t i = 0; i < n; i++) {
        unsigned keep = prefix >= 8 * (i + 1) ? 8 : prefix > 8 * i ? prefix - 8 * i : 0;
        b[i] &= (unsigned char)(0xff00u >> keep);
    }
}

/* A netmask's prefix length, or -1 when the ones are not contiguous. */
static int mask_prefix(struct sockaddr_storage *m)
{
    size_t n;
    unsigned char *b = addr_bytes(m, &n);
    int len = 0;
    bool zero_seen = false;

    for (size_t i = 0; i < n; i++) {
        for (int bit = 7; bit >= 0; bit--) {
            bool one = (b[i] >> bit) & 1;
            if (one && zero_seen)
                return -1;
            if (one)
                len++;
            else
                zero_seen = true;
        }
    }
    return len;
}

/* Host names and numeric addresses: letters, digits and . - _ : % [ ]. */
static bool plausible_host(const char *s)
{
    return *s && *s != '-' &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                     "0123456789.-_:%[]") == strlen(s);
}

static int want_family(struct parser *p, const struct line *l, size_t *i, int *family)
{
    *family = AF_UNSPEC;
    if (*i < l->nargs && streq(l->arg[*i].s, "-4")) {
        *family = AF_INET;
        ++*i;
    } else if (*i < l->nargs && streq(l->arg[*i].s, "-6")) {
        *family = AF_INET6;
        ++*i;
    }
    if (*i >= l->nargs)
        return fail(p, &l->loc, "'%s' needs %s", l->d->name, l->d->needs);
    return 0;
}

/* ---- server / pool / peer ---------------------------------------------------- */

struct src_flag { const char *name; size_t off; };
static const struct src_flag src_flags[] = {
    { "iburst", offsetof(struct conf_source, iburst) },
    { "burst", offsetof(struct conf_source, burst) },
    { "prefer", offsetof(struct conf_source, prefer) },
    { "noselect", offsetof(struct conf_source, noselect) },
    { "true", offsetof(struct conf_source, true_) },
    { "xleave", offsetof(struct conf_source, xleave) },
    { "preempt", offsetof(struct conf_source, preempt) },
    { NULL, 0 },
};

static bool source_flag(struct conf_source *s, const char *w)
{
    for (const struct src_flag *f = src_flags; f->name; f++) {
        if (streq(w, f->name)) {
            *(bool *)((char *)s + f->off) = true;
            return true;
        }
    }
    if (streq(w, "nts")) {
        s->nts = 1;
        return true;
    }
    return false;
}

static int source_option(struct parser *p, const struct line *l, size_t *i,
                         struct conf_source *s, bool *set_min, bool *set_max)
{
    const char *w = l->arg[*i].s;
    long v = 0;

    if (source_flag(s, w))
        return 0;
    if (streq(w, "minpoll") || streq(w, "maxpoll")) {
        if (keyword_long(p, l, i, 3, 17, &v) < 0)
            return -1;
        *(w[1] == 'i' ? &s->minpoll : &s->maxpoll) = (int)v;
        *(w[1] == 'i' ? set_min : set_max) = true;
        return 0;
    }
    if (streq(w, "key")) {
        if (keyword_long(p, l, i, 1, 65535, &v) < 0)
            return -1;
        s->key = (uint32_t)v;
        return 0;
    }
    if (streq(w, "ntsport")) {
        if (keyword_long(p, l, i, 1, 65535, &v) < 0)
            return -1;
        s->ntsport = (uint16_t)v;
        return 0;
    }
    if (streq(w, "version")) {
        if (keyword_long(p, l, i, 1, 4, &v) < 0)
            return -1;
        s->version = (int)v;
        return 0;
    }
    if (streq(w, "port")) {
        if (keyword_long(p, l, i, 1, 65535, &v) < 0)
            return -1;
        s->port = (uint16_t)v;
        return 0;
    }
    if (streq(w, "mode")) {
        if (keyword_long(p, l, i, 0, INT_MAX, &v) < 0)
            return -1;
        s->mode = (uint32_t)v;
        return 0;
    }
    if (streq(w, "ttl")) {
        if (keyword_long(p, l, i, 1, 255, &v) < 0)
            return -1;
        s->ttl = (int)v;
        return 0;
    }
    return fail(p, &l->arg[*i].loc, "unknown %s option '%s'", l->d->name, w);
}

/* Only one poll bound given: move the default one rather than reject a
 * line like "server x minpoll 12" that ntpd users expect to work. */
static int check_polls(struct parser *p, const struct line *l, struct conf_source *s,
                       bool set_min, bool set_max)
{
    if (s->minpoll <= s->maxpoll)
        return 0;
    if (set_min && !set_max) {
        s->maxpoll = s->minpoll;
        return 0;
    }
    if (set_max && !set_min) {
        s->minpoll = s->maxpoll;
        return 0;
    }
    return fail(p, &l->loc, "minpoll %d is greater than maxpoll %d",
                s->minpoll, s->maxpoll);
}

static int h_source(struct parser *p, const struct line *l)
{
    struct conf_source *s;
    bool set_min = false, set_max = false;
    size_t i = 0;
    int family;

    if (want_family(p, l, &i, &family) < 0)
        return -1;
    if (!plausible_host(l->arg[i].s))
        return fail(p, &l->arg[i].loc, "bad address '%s' for %s", l->arg[i].s, l->d->name);
    s = PUSH(p, sources, cap_sources);
    if (!s)
        return oom(p, &l->loc);
    s->kind = streq(l->d->name, "pool") ? CONF_POOL :
              streq(l->d->name, "peer") ? CONF_PEER : CONF_SERVER;
    s->family = family;
    s->host = dup_str(p, l->arg[i].s);
    s->port = 123;
    s->minpoll = 6;
    s->maxpoll = 10;
    s->version = 4;
    s->loc = l->loc;
    if (!s->host)
        return oom(p, &l->loc);
    for (i++; i < l->nargs; i++)
        if (source_option(p, l, &i, s, &set_min, &set_max) < 0)
            return -1;
    return check_polls(p, l, s, set_min, set_max);
}

/* ---- restrict / unrestrict ------------------------------------------------ */

const struct conf_name_bit conf_restrict_flag_names[] = {
    { "ignore", RES_IGNORE },       { "kod", RES_KOD },
    { "limited", RES_LIMITED },     { "lowpriotrap", RES_LOWPRIOTRAP },
    { "mssntp", RES_MSSNTP },       { "nomodify", RES_NOMODIFY },
    { "nomrulist", RES_NOMRULIST }, { "nopeer", RES_NOPEER },
    { "noquery", RES_NOQUERY },     { "noserve", RES_NOSERVE },
    { "notrap", RES_NOTRAP },       { "notrust", RES_NOTRUST },
    { "ntpport", RES_NTPPORT },     { "version", RES_VERSION },
    { "noepeer", RES_NOEPEER },
    { "serverresponse fuzz", RES_SERVERRESPONSE_FUZZ },
    { NULL, 0 },
};

static int restrict_flag(struct parser *p, const struct line *l, size_t *i,
                         struct conf_restrict *r)
{
    const char *w = l->arg[*i].s;

    if (streq(w, "remove")) {           /* ntpsec spelling of unrestrict */
        r->unrestrict = true;
        return 0;
    }
    if (streq(w, "serverresponse")) {
        if (*i + 1 >= l->nargs || !streq(l->arg[*i + 1].s, "fuzz"))
            return fail(p, &l->arg[*i].loc, "'serverresponse' needs 'fuzz'");
        ++*i;
        r->flags |= RES_SERVERRESPONSE_FUZZ;
        return 0;
    }
    for (const struct conf_name_bit *f = conf_restrict_flag_names; f->name; f++) {
        if (streq(w, f->name)) {
            r->flags |= f->bit;
            return 0;
        }
    }
    return fail(p, &l->arg[*i].loc, "unknown restrict flag '%s'", w);
}

static int restrict_mask(struct parser *p, const struct line *l, size_t *i,
                         struct conf_restrict *r, bool has_prefix)
{
    const struct conf_tok *t = value_of(p, l, i);
    struct sockaddr_storage m;
    unsigned plen;
    bool mp;
    int len;

    if (!t)
        return -1;
    if (r->is_default || r->is_source)
        return fail(p, &l->arg[*i - 1].loc, "'mask' needs an address before it");
    if (has_prefix)
        return fail(p, &t->loc, "'mask' after a /length address at '%s'", t->s);
    if (parse_addr(t->s, r->addr.ss_family, &m, &plen, &mp) != 0 || mp)
        return fail(p, &t->loc, "bad mask '%s'", t->s);
    len = mask_prefix(&m);
    if (len < 0)
        return fail(p, &t->loc, "bad mask '%s' (not contiguous)", t->s);
    r->prefix_len = (unsigned)len;
    return 0;
}

static int restrict_target(struct parser *p, const struct line *l, const struct conf_tok *t,
                           struct conf_restrict *r, bool *has_prefix)
{
    int rc;

    if (streq(t->s, "default")) {
        r->is_default = true;
        return 0;
    }
    if (streq(t->s, "source")) {
        r->is_source = true;
        return 0;
    }
    rc = parse_addr(t->s, r->family, &r->addr, &r->prefix_len, has_prefix);
    if (rc == -2)
        return fail(p, &t->loc, "bad prefix length in '%s'", t->s);
    if (rc < 0 && r->family != AF_UNSPEC &&
        parse_addr(t->s, AF_UNSPEC, &r->addr, &r->prefix_len, has_prefix) == 0)
        return fail(p, &t->loc, "address '%s' does not match %s", t->s,
                    r->family == AF_INET ? "-4" : "-6");
    if (rc < 0)
        return fail(p, &t->loc, "bad address '%s' for %s (numeric address expected)",
                    t->s, l->d->name);
    r->family = r->addr.ss_family;
    return 0;
}

static int h_restrict(struct parser *p, const struct line *l)
{
    struct conf_restrict *r;
    bool has_prefix = false;
    size_t i = 0;
    int family;

    if (want_family(p, l, &i, &family) < 0)
        return -1;
    r = push_restrict(p);
    if (!r)
        return oom(p, &l->loc);
    r->family = family;
    r->loc = l->loc;
    r->unrestrict = streq(l->d->name, "unrestrict");
    if (restrict_target(p, l, &l->arg[i], r, &has_prefix) < 0)
        return -1;
    for (i++; i < l->nargs; i++) {
        int rc = streq(l->arg[i].s, "mask") ? restrict_mask(p, l, &i, r, has_prefix)
                                            : restrict_flag(p, l, &i, r);
        if (rc < 0)
            return -1;
    }
    if (!r->is_default && !r->is_source)
        mask_addr(&r->addr, r->prefix_len);
    return 0;
}

/* ---- interface / nic --------------------------------------------------------- */

static bool plausible_ifname(const char *s)
{
    size_t n = strlen(s);

    return n > 0 && n < 16 && *s != '-' &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                     "0123456789._:@-") == n;
}

static int h_interface(struct parser *p, const struct line *l)
{
    static const char *const actions[] = { "listen", "ignore", "drop" };
    static const char *const matches[] = { "all", "ipv4", "ipv6", "wildcard" };
    const struct conf_tok *t = &l->arg[1];
    struct conf_iface *f = PUSH(p, ifaces, cap_ifaces);
    bool has_prefix;
    size_t k;

    if (!f)
        return oom(p, &l->loc);
    f->loc = l->loc;
    for (k = 0; k < 3 && !streq(l->arg[0].s, actions[k]); k++)
        ;
    if (k == 3)
        return fail(p, &l->arg[0].loc, "unknown interface action '%s' (expected listen, ignore or drop)",
                    l->arg[0].s);
    f->action = (enum conf_iface_action)k;
    for (k = 0; k < 4 && !streq(t->s, matches[k]); k++)
        ;
    if (k < 4) {
        f->match = (enum conf_iface_match)k;
        return 0;
    }
    switch (parse_addr(t->s, AF_UNSPEC, &f->addr, &f->prefix_len, &has_prefix)) {
    case 0:
        f->match = IFACE_ADDR;
        mask_addr(&f->addr, f->prefix_len);
        return 0;
    case -2:
        return fail(p, &t->loc, "bad prefix length in '%s'", t->s);
    default:
        break;
    }
    if (!plausible_ifname(t->s))
        return fail(p, &t->loc, "bad interface '%s'", t->s);
    f->match = IFACE_NAME;
    f->name = dup_str(p, t->s);
    return f->name ? 0 : oom(p, &l->loc);
}

/* ---- simple values ------------------------------------------------------------ */

static int h_port(struct parser *p, const struct line *l)
{
    long v = 0;

    if (want_long(p, &l->arg[0], "port", 1, 65535, &v) < 0)
        return -1;
    p->cfg->port = (uint16_t)v;
    return 0;
}

/* "threads N": server worker threads (0 = not set: one per CPU the
 * daemon may run on, capped; the daemon resolves it at start-up). */
static int h_threads(struct parser *p, const struct line *l)
{
    long v = 0;

    if (want_long(p, &l->arg[0], "threads", 1, CONF_MAX_THREADS, &v) < 0)
        return -1;
    p->cfg->threads = (int)v;
    return 0;
}

static int h_refclock(struct parser *p, const struct line *l)
{
    return conf_refclock_line(p->cfg, p->arena, l->arg, l->nargs, &l->loc, p->err, p->errlen);
}

static int h_local(struct parser *p, const struct line *l)
{
    long v = 0;

    if (!streq(l->arg[0].s, "stratum"))
        return fail(p, &l->arg[0].loc, "expected 'stratum' after 'local', got '%s'", l->arg[0].s);
    if (l->nargs < 2)
        return fail(p, &l->arg[0].loc, "'stratum' needs a value");
    if (want_long(p, &l->arg[1], "stratum", 1, 15, &v) < 0)
        return -1;
    p->cfg->local_stratum = (int)v;
    p->cfg->local_loc = l->loc;
    return 0;
}

static int key_number(struct parser *p, const struct conf_tok *t, uint32_t *out)
{
    long v = 0;

    if (want_long(p, t, "key", 1, 65535, &v) < 0)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

static int h_controlkey(struct parser *p, const struct line *l)
{
    return key_number(p, &l->arg[0], streq(l->d->name, "controlkey") ?
                      &p->cfg->controlkey : &p->cfg->requestkey);
}

/* leapsmearinterval SECONDS (ntpd) or leapsmear SECONDS [linear|cosine]. */
static int h_leapsmear(struct parser *p, const struct line *l)
{
    /* ntpd suggests a day or more; a month is a generous ceiling. */
    if (want_double(p, &l->arg[0], "leapsmearinterval", 0, 2592000,
                    &p->cfg->leapsmearinterval) < 0)
        return -1;
    p->cfg->leapsmear_cosine = false;
    if (l->nargs < 2 || streq(l->arg[1].s, "linear"))
        return 0;
    if (streq(l->arg[1].s, "cosine")) {
        p->cfg->leapsmear_cosine = true;
        return 0;
    }
    return fail(p, &l->arg[1].loc, "bad smear shape '%s' (linear or cosine)", l->arg[1].s);
}

/* leapsecmode system|step|slew|ignore (chrony's names) */
static int h_leapsecmode(struct parser *p, const struct line *l)
{
    static const char *const modes[] = { "system", "step", "slew", "ignore" };

    for (int i = 0; i < 4; i++) {
        if (streq(l->arg[0].s, modes[i])) {
            p->cfg->leapsecmode = i;
            return 0;
        }
    }
    return fail(p, &l->arg[0].loc, "bad leapsecmode '%s' (system, step, slew or ignore)",
                l->arg[0].s);
}

/* driftfile, leapfile, ...: one path; the last line wins, as in ntpd. */
static const char **path_field(struct config *c, const char *name)
{
    if (streq(name, "driftfile"))     return &c->driftfile;
    if (streq(name, "leapfile"))      return &c->leapfile;
    if (streq(name, "logfile"))       return &c->logfile;
    if (streq(name, "pidfile"))       return &c->pidfile;
    if (streq(name, "statsdir"))      return &c->statsdir;
    if (streq(name, "keys"))          return &c->keys;
    if (streq(name, "ntsdir"))        return &c->ntsdir;
    return &c->controlsocket;
}

static struct conf_loc *path_loc(struct config *c, const char *name)
{
    if (streq(name, "driftfile"))     return &c->driftfile_loc;
    if (streq(name, "leapfile"))      return &c->leapfile_loc;
    if (streq(name, "logfile"))       return &c->logfile_loc;
    if (streq(name, "pidfile"))       return &c->pidfile_loc;
    if (streq(name, "statsdir"))      return &c->statsdir_loc;
    if (streq(name, "keys"))          return &c->keys_loc;
    if (streq(name, "ntsdir"))        return &c->ntsdir_loc;
    return &c->controlsocket_loc;
}

static int h_path(struct parser *p, const struct line *l)
{
    const char **field = path_field(p->cfg, l->d->name);

    if (!*l->arg[0].s)
        return fail(p, &l->arg[0].loc, "empty path for %s", l->d->name);
    *field = dup_str(p, l->arg[0].s);
    *path_loc(p->cfg, l->d->name) = l->loc;
    return *field ? 0 : oom(p, &l->loc);
}

/* controlgroup NAME: only the name is checked here (a group database is
 * the daemon's business, and --check reports an unknown group). */
static int h_controlgroup(struct parser *p, const struct line *l)
{
    const char *s = l->arg[0].s;

    if (!*s || strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                         "0123456789_-.$") != strlen(s))
        return fail(p, &l->arg[0].loc, "bad group name '%s'", s);
    p->cfg->controlgroup = dup_str(p, s);
    p->cfg->controlgroup_loc = l->loc;
    return p->cfg->controlgroup ? 0 : oom(p, &l->loc);
}

/* metrics-listen ADDR:PORT or [IPV6]:PORT; a numeric address only, so the
 * listener never depends on DNS at start-up. */
static int h_metrics_listen(struct parser *p, const struct line *l)
{
    const char *s = l->arg[0].s, *colon, *host = s;
    char buf[INET6_ADDRSTRLEN + 1];
    struct sockaddr_storage ss;
    unsigned prefix;
    bool has_prefix;
    size_t n;
    long port;

    colon = strrchr(s, ':');
    if (colon == NULL)
        return fail(p, &l->arg[0].loc, "metrics-listen needs ADDRESS:PORT, got '%s'", s);
    n = (size_t)(colon - s);
    if (s[0] == '[') {
        if (n < 2 || s[n - 1] != ']')
            return fail(p, &l->arg[0].loc, "bad metrics-listen address '%s'", s);
        host = s + 1;
        n -= 2;
    }
    if (n == 0 || n >= sizeof(buf))
        return fail(p, &l->arg[0].loc, "bad metrics-listen address '%s'", s);
    if (host == s && memchr(s, ':', n) != NULL)
        return fail(p, &l->arg[0].loc, "metrics-listen: write an IPv6 address as [%.*s]:PORT",
                    (int)n, s);
    memcpy(buf, host, n);
    buf[n] = '\0';
    if (strchr(buf, '/') != NULL || parse_addr(buf, AF_UNSPEC, &ss, &prefix, &has_prefix) < 0)
        return fail(p, &l->arg[0].loc, "bad metrics-listen address '%s' (numeric only)", buf);
    if (!parse_long(colon + 1, 1, 65535, &port))
        return fail(p, &l->arg[0].loc, "bad metrics-listen port '%s' (1-65535)", colon + 1);
    if (ss.ss_family == AF_INET)
        ((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
    p->cfg->metrics_listen = (struct conf_listen){ .set = true, .addr = ss, .loc = l->loc };
    return 0;
}

/* ---- statistics / filegen -------------------------------------------------------- */

static const char *const stat_names[] = {
    "loopstats", "peerstats", "clockstats", "rawstats", "sysstats",
    "protostats", "cryptostats", "timingstats", "usestats", NULL,
};

static const char *stat_name(const char *w)
{
    for (const char *const *n = stat_names; *n; n++)
        if (streq(w, *n))
            return *n;
    return NULL;
}

static int h_statistics(struct parser *p, const struct line *l)
{
    struct config *c = p->cfg;

    for (size_t i = 0; i < l->nargs; i++) {
        const char *n = stat_name(l->arg[i].s);
        const char **slot;
        bool dup = false;

        if (!n)
            return fail(p, &l->arg[i].loc, "unknown statistics name '%s'", l->arg[i].s);
        for (size_t k = 0; k < c->n_statistics; k++)
            dup = dup || c->statistics[k] == n;
        if (dup)
            continue;
        slot = PUSH(p, statistics, cap_statistics);
        if (!slot)
            return oom(p, &l->loc);
        *slot = n;      /* static string: immutable and outlives the config */
    }
    return 0;
}

static const char *const filegen_types[] = {
    "none", "pid", "day", "week", "month", "year", "age", NULL,
};

static int filegen_option(struct parser *p, const struct line *l, size_t *i,
                          struct conf_filegen *g)
{
    const char *w = l->arg[*i].s;
    const struct conf_tok *v;

    if (streq(w, "enable") || streq(w, "disable")) {
        g->enable = w[0] == 'e';
        return 0;
    }
    if (streq(w, "link") || streq(w, "nolink")) {
        g->link = w[0] == 'l';
        return 0;
    }
    if (!streq(w, "file") && !streq(w, "type"))
        return fail(p, &l->arg[*i].loc, "unknown filegen option '%s'", w);
    v = value_of(p, l, i);
    if (!v)
        return -1;
    if (w[0] == 'f') {
        if (!*v->s)
            return fail(p, &v->loc, "empty path for filegen file");
        g->file = dup_str(p, v->s);
        return g->file ? 0 : oom(p, &l->loc);
    }
    for (const char *const *t = filegen_types; *t; t++) {
        if (streq(v->s, *t)) {
            g->type = *t;
            return 0;
        }
    }
    return fail(p, &v->loc, "unknown filegen type '%s'", v->s);
}

static int h_filegen(struct parser *p, const struct line *l)
{
    const char *n = stat_name(l->arg[0].s);
    struct conf_filegen *g;

    if (!n)
        return fail(p, &l->arg[0].loc, "unknown statistics name '%s'", l->arg[0].s);
    g = PUSH(p, filegens, cap_filegens);
    if (!g)
        return oom(p, &l->loc);
    g->name = n;
    g->enable = true;
    g->link = true;
    g->loc = l->loc;
    for (size_t i = 1; i < l->nargs; i++)
        if (filegen_option(p, l, &i, g) < 0)
            return -1;
    return 0;
}

/* ---- keys ---------------------------------------------------------------------- */

/* "(" N "..." M ")" starting at arg[*i] == "("; leaves *i on ")". The
 * range may also be written "(N...M)", one word between the parentheses. */
static int key_range(struct parser *p, const struct line *l, size_t *i,
                     struct conf_keyref *k)
{
    const struct conf_tok *a = l->arg;
    const struct conf_tok *paren = &a[*i];
    struct conf_tok lo, hi;
    char buf[2][32];
    const char *dots;
    size_t j = *i, n;

    if (j + 4 < l->nargs && streq(a[j + 2].s, "...") && streq(a[j + 4].s, ")")) {
        lo = a[j + 1];
        hi = a[j + 3];
        *i = j + 4;
    } else if (j + 2 < l->nargs && streq(a[j + 2].s, ")") &&
               (dots = strstr(a[j + 1].s, "...")) != NULL &&
               (n = (size_t)(dots - a[j + 1].s)) < sizeof buf[0] &&
               strlen(dots + 3) < sizeof buf[1]) {
        memcpy(buf[0], a[j + 1].s, n);
        buf[0][n] = '\0';
        snprintf(buf[1], sizeof buf[1], "%s", dots + 3);
        lo = hi = a[j + 1];
        lo.s = buf[0];
        hi.s = buf[1];
        *i = j + 2;
    } else {
        return fail(p, &paren->loc, "bad key range (expected '(N ... M)')");
    }
    if (key_number(p, &lo, &k->lo) < 0 || key_number(p, &hi, &k->hi) < 0)
        return -1;
    if (k->lo > k->hi)
        return fail(p, &paren->loc, "bad key range '(%s ... %s)' (first above last)",
                    lo.s, hi.s);
    return 0;
}

static int h_trustedkey(struct parser *p, const struct line *l)
{
    for (size_t i = 0; i < l->nargs; i++) {
        struct conf_keyref *k = PUSH(p, trustedkeys, cap_trustedkeys);
        int rc;

        if (!k)
            return oom(p, &l->loc);
        k->loc = l->loc;
        if (streq(l->arg[i].s, "("))
            rc = key_range(p, l, &i, k);
        else
            rc = key_number(p, &l->arg[i], &k->lo);
        if (rc < 0)
            return -1;
        if (k->hi < k->lo)
            k->hi = k->lo;
    }
    return 0;
}

/* ---- discard / ratelimit ----------------------------------------------------------- */

/* discard average N minimum N monitor N (ntpd);
 * ratelimit interval N burst N leak N prefix4 N prefix6 N entries N (chime). */
static int h_ratelimit(struct parser *p, const struct line *l)
{
    static const struct { const char *dir, *name; long lo, hi; size_t off; } opts[] = {
        { "discard", "average", 0, 16, offsetof(struct conf_ratelimit, average) },
        { "discard", "minimum", 0, 60, offsetof(struct conf_ratelimit, minimum) },
        { "discard", "monitor", 0, 100000000, offsetof(struct conf_ratelimit, monitor) },
        { "ratelimit", "interval", 0, 16, offsetof(struct conf_ratelimit, average) },
        { "ratelimit", "burst", 1, 256, offsetof(struct conf_ratelimit, burst) },
        { "ratelimit", "leak", 0, 16, offsetof(struct conf_ratelimit, leak) },
        { "ratelimit", "minimum", 0, 60, offsetof(struct conf_ratelimit, minimum) },
        { "ratelimit", "prefix4", 1, 32, offsetof(struct conf_ratelimit, prefix4) },
        { "ratelimit", "prefix6", 1, 128, offsetof(struct conf_ratelimit, prefix6) },
        { "ratelimit", "entries", 64, RL_MAX_ENTRIES, offsetof(struct conf_ratelimit, entries) },
    };
    struct conf_ratelimit *r = &p->cfg->ratelimit;

    for (size_t i = 0; i < l->nargs; i++) {
        const char *w = l->arg[i].s;
        const struct conf_tok *v;
        size_t k;
        long val = 0;

        for (k = 0; k < sizeof opts / sizeof opts[0]; k++)
            if (streq(opts[k].dir, l->d->name) && streq(opts[k].name, w))
                break;
        if (k == sizeof opts / sizeof opts[0])
            return fail(p, &l->arg[i].loc, "unknown %s option '%s'", l->d->name, w);
        v = value_of(p, l, &i);
        if (!v || want_long(p, v, w, opts[k].lo, opts[k].hi, &val) < 0)
            return -1;
        *(int *)(void *)((char *)r + opts[k].off) = (int)val;
    }
    r->set = true;
    r->loc = l->loc;
    return 0;
}

/* ---- tos / tinker -------------------------------------------------------------------- */

#define KNOB(s, f, lo, hi) { #f, offsetof(struct s, f), lo, hi }
const struct conf_knob conf_tos_knobs[] = {
    KNOB(conf_tos, minclock, 1, 100),     KNOB(conf_tos, maxclock, 1, 100),
    KNOB(conf_tos, minsane, 0, 100),      KNOB(conf_tos, floor, 0, 16),
    KNOB(conf_tos, ceiling, 0, 16),       KNOB(conf_tos, cohort, 0, 1),
    KNOB(conf_tos, mindist, 0, 10),       KNOB(conf_tos, maxdist, 0, 100),
    KNOB(conf_tos, orphan, 1, 16),        KNOB(conf_tos, orphanwait, 0, 86400),
    KNOB(conf_tos, beacon, 0, 86400),     KNOB(conf_tos, bcpollbstep, 0, 4),
    { NULL, 0, 0, 0 },
};
const struct conf_knob conf_tinker_knobs[] = {
    KNOB(conf_tinker, step, 0, 86400),        KNOB(conf_tinker, stepout, 0, 86400),
    KNOB(conf_tinker, panic, 0, 1e9),         KNOB(conf_tinker, dispersion, 0, 1000),
    KNOB(conf_tinker, allan, 0, 1e6),         KNOB(conf_tinker, huffpuff, 0, 1e6),
    KNOB(conf_tinker, freq, -500, 500),       KNOB(conf_tinker, stepback, 0, 86400),
    KNOB(conf_tinker, stepfwd, 0, 86400),
    { NULL, 0, 0, 0 },
};
#undef KNOB

static int knobs(struct parser *p, const struct line *l, const struct conf_knob *tab,
                 void *base)
{
    for (size_t i = 0; i < l->nargs; i++) {
        const struct conf_knob *k = tab;
        const struct conf_tok *v;

        while (k->name && !streq(k->name, l->arg[i].s))
            k++;
        if (!k->name)
            return fail(p, &l->arg[i].loc, "unknown %s option '%s'", l->d->name, l->arg[i].s);
        v = value_of(p, l, &i);
        if (!v || want_double(p, v, k->name, k->lo, k->hi,
                              (double *)((char *)base + k->off)) < 0)
            return -1;
    }
    return 0;
}

static int h_tos(struct parser *p, const struct line *l)
{
    const struct conf_tos *t = &p->cfg->tos;

    if (knobs(p, l, conf_tos_knobs, &p->cfg->tos) < 0)
        return -1;
    /* NaN compares false, so these only fire when both are set. */
    if (t->minclock > t->maxclock)
        return fail(p, &l->loc, "tos minclock %g is greater than maxclock %g",
                    t->minclock, t->maxclock);
    if (t->floor > t->ceiling)
        return fail(p, &l->loc, "tos floor %g is greater than ceiling %g",
                    t->floor, t->ceiling);
    return 0;
}

static int h_tinker(struct parser *p, const struct line *l)
{
    return knobs(p, l, conf_tinker_knobs, &p->cfg->tinker);
}

/* ---- enable / disable ------------------------------------------------------------------- */

const struct conf_name_bit conf_sys_flag_names[] = {
    { "auth", CONF_FLAG_AUTH },         { "bclient", CONF_FLAG_BCLIENT },
    { "calibrate", CONF_FLAG_CALIBRATE }, { "kernel", CONF_FLAG_KERNEL },
    { "monitor", CONF_FLAG_MONITOR },   { "ntp", CONF_FLAG_NTP },
    { "stats", CONF_FLAG_STATS },       { "mode7", CONF_FLAG_MODE7 },
    { "pps", CONF_FLAG_PPS },
    { NULL, 0 },
};

static int h_enable(struct parser *p, const struct line *l)
{
    bool on = streq(l->d->name, "enable");
    uint32_t *set = on ? &p->cfg->enable_flags : &p->cfg->disable_flags;
    uint32_t *clr = on ? &p->cfg->disable_flags : &p->cfg->enable_flags;

    for (size_t i = 0; i < l->nargs; i++) {
        const struct conf_name_bit *f = conf_sys_flag_names;

        while (f->name && !streq(f->name, l->arg[i].s))
            f++;
        if (!f->name)
            return fail(p, &l->arg[i].loc, "unknown %s flag '%s'", l->d->name, l->arg[i].s);
        *set |= f->bit;     /* the later line wins */
        *clr &= ~f->bit;
    }
    return 0;
}

/* ---- stored verbatim ----------------------------------------------------------------- */

static int h_stored(struct parser *p, const struct line *l);

/* NTS, NTPsec's syntax: "nts ca FILE", "nts enable", "nts cert FILE",
 * "nts key FILE"; its other nts options are kept as written. */
static int h_nts(struct parser *p, const struct line *l)
{
    struct conf_nts *n = &p->cfg->nts;
    const char *w = l->arg[0].s, **field = NULL;

    n->loc = l->loc;
    if (streq(w, "enable") || streq(w, "disable")) {
        if (l->nargs != 1)
            return fail(p, &l->arg[1].loc, "'nts %s' takes no argument", w);
        n->enable = streq(w, "enable");
        return 0;
    }
    if (streq(w, "readonly")) {     /* chime: a fleet member that only reads ntsdir */
        if (l->nargs != 1)
            return fail(p, &l->arg[1].loc, "'nts readonly' takes no argument");
        n->readonly = true;
        return 0;
    }
    /* chime extensions with a number: the KE port, the NTP port record,
     * the rotation interval and the KE server's limits */
    static const struct { const char *w; long lo, hi; } nums[] = {
        { "port", 1, 65535 }, { "ntpport", 1, 65535 }, { "rotate", 1, 366L * 86400 },
        { "maxsessions", 1, 4096 }, { "perclient", 1, 4096 }, { "timeout", 1, 300 },
    };
    for (size_t k = 0; k < sizeof(nums) / sizeof(nums[0]); k++) {
        long v;
        size_t i = 0;

        if (!streq(w, nums[k].w))
            continue;
        if (l->nargs != 2)
            return fail(p, &l->loc, "'nts %s' needs a number", w);
        if (keyword_long(p, l, &i, nums[k].lo, nums[k].hi, &v) < 0)
            return -1;
        if (k == 0)
            n->port = (uint16_t)v;
        else if (k == 1)
            n->ntp_port = (uint16_t)v;
        else if (k == 2)
            n->rotate_s = v;
        else if (k == 3)
            n->max_sessions = v;
        else if (k == 4)
            n->per_client = v;
        else
            n->timeout_s = v;
        return 0;
    }
    if (streq(w, "ntpserver")) {
        if (l->nargs != 2 || !*l->arg[1].s || strlen(l->arg[1].s) >= 255)
            return fail(p, &l->loc, "'nts ntpserver' needs a host name or address");
        n->ntp_server = dup_str(p, l->arg[1].s);
        return n->ntp_server ? 0 : oom(p, &l->loc);
    }
    if (streq(w, "ca"))
        field = &n->ca;
    else if (streq(w, "cert"))
        field = &n->cert;
    else if (streq(w, "key"))
        field = &n->key;
    else if (streq(w, "cookie")) {
        if (l->nargs == 2 && l->arg[1].s[0] != '/')
            return fail(p, &l->arg[1].loc, "'nts cookie' needs an absolute path");
        if (!p->cfg->ntsdir)
            p->cfg->ntsdir_loc = l->loc;    /* where a derived ntsdir came from */
        field = &n->cookie;
    }
    if (!field)
        return h_stored(p, l);      /* mintls, maxtls, ...: later */
    if (l->nargs != 2 || !*l->arg[1].s)
        return fail(p, &l->loc, "'nts %s' needs a file", w);
    *field = dup_str(p, l->arg[1].s);
    return *field ? 0 : oom(p, &l->loc);
}

static int h_stored(struct parser *p, const struct line *l)
{
    struct conf_stored *s = PUSH(p, stored, cap_stored);
    size_t len = 0, off = 0;
    char *args;

    if (!s)
        return oom(p, &l->loc);
    for (size_t i = 0; i < l->nargs; i++)
        len += strlen(l->arg[i].s) + 3;     /* two quotes and a separator */
    args = conf_arena_alloc(p->arena, len + 1);
    if (!args)
        return oom(p, &l->loc);
    for (size_t i = 0; i < l->nargs; i++) {
        const char *q = l->arg[i].quoted ? "\"" : "";
        int n = snprintf(args + off, len + 1 - off, "%s%s%s%s", i ? " " : "", q,
                         l->arg[i].s, q);
        if (n > 0)
            off += (size_t)n;
    }
    s->directive = l->d->name;
    s->args = args;
    s->loc = l->loc;
    return 0;
}

/* ---- includefile ------------------------------------------------------------------- */

/* Read a regular file of at most CONF_MAX_FILE bytes into a malloc'd buffer.
 * Devices and FIFOs are refused so "includefile /dev/zero" cannot hang. */
static int read_file(const char *path, char **out, size_t *len, int *err_no, const char **why)
{
    struct stat st;
    char *buf;
    FILE *f = fopen(path, "rb");

    *why = "cannot open";
    if (!f) {
        *err_no = errno;
        return -1;
    }
    *why = "not a regular file";
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return -2;
    }
    buf = malloc(CONF_MAX_FILE + 1);
    if (!buf) {
        fclose(f);
        *why = "out of memory";
        return -2;
    }
    *len = fread(buf, 1, CONF_MAX_FILE + 1, f);
    *why = ferror(f) ? "read error" : "file too large";
    if (ferror(f) || *len > CONF_MAX_FILE) {
        fclose(f);
        free(buf);
        return -2;
    }
    fclose(f);
    *out = buf;
    return 0;
}

/* A relative include path is taken from the including file's directory. */
static const char *resolve_include(struct parser *p, const char *from, const char *path)
{
    const char *slash = strrchr(from, '/');
    size_t dl = slash ? (size_t)(slash - from) + 1 : 0;
    size_t pl = strlen(path);
    char *r;

    if (path[0] == '/' || dl == 0)
        return dup_str(p, path);
    r = conf_arena_alloc(p->arena, dl + pl + 1);
    if (!r)
        return NULL;
    memcpy(r, from, dl);
    memcpy(r + dl, path, pl);
    r[dl + pl] = '\0';
    return r;
}

static int h_includefile(struct parser *p, const struct line *l)
{
    const struct conf_tok *t = &l->arg[0];
    const char *path, *why;
    char *text = NULL;
    size_t len = 0;
    int rc, err_no = 0;

    if (!*t->s)
        return fail(p, &t->loc, "empty path for includefile");
    if (p->depth >= CONF_MAX_DEPTH)
        return fail(p, &t->loc, "includefile '%s' nested too deeply (limit %d)",
                    t->s, CONF_MAX_DEPTH);
    path = resolve_include(p, l->loc.file, t->s);
    if (!path)
        return oom(p, &l->loc);
    rc = read_file(path, &text, &len, &err_no, &why);
    if (rc == -1)
        return fail(p, &t->loc, "includefile '%s': %s: %s", path, why, strerror(err_no));
    if (rc < 0)
        return fail(p, &t->loc, "includefile '%s': %s", path, why);
    p->depth++;
    rc = parse_text(p, path, text, len);
    p->depth--;
    free(text);
    return rc;
}

/* ---- the directive table --------------------------------------------------------------- */

#define PATHD(n, doc) { n, h_path, 1, 1, "a path", doc }
#define STORED(n, min, doc) { n, h_stored, min, ARGS_MANY, "an argument", doc }
static const struct directive directives[] = {
    { "server", h_source, 1, ARGS_MANY, "an address", "server [-4|-6] ADDRESS [options]" },
    { "pool", h_source, 1, ARGS_MANY, "an address", "pool [-4|-6] NAME [options]" },
    { "peer", h_source, 1, ARGS_MANY, "an address", "peer [-4|-6] ADDRESS [options]" },
    { "restrict", h_restrict, 1, ARGS_MANY, "an address",
      "restrict [-4|-6] default|source|ADDR[/LEN] [mask M] [flags]" },
    { "unrestrict", h_restrict, 1, ARGS_MANY, "an address",
      "unrestrict [-4|-6] default|source|ADDR[/LEN] [mask M]" },
    { "interface", h_interface, 2, 2, "an action and an interface",
      "interface listen|ignore|drop all|ipv4|ipv6|wildcard|ADDR[/LEN]|NAME" },
    { "nic", h_interface, 2, 2, "an action and an interface", "same as interface" },
    { "port", h_port, 1, 1, "a number", "port N: serve NTP on UDP port N" },
    { "threads", h_threads, 1, 1, "a number",
      "threads N: answer clients on N threads (chime extension; default one per CPU)" },
    { "local", h_local, 1, 2, "'stratum N'",
      "local stratum N: serve our own clock at stratum N when no source is usable" },
    PATHD("driftfile", "driftfile PATH: frequency kept across restarts"),
    PATHD("leapfile", "leapfile PATH: leap-seconds.list"),
    PATHD("logfile", "logfile PATH"),
    PATHD("pidfile", "pidfile PATH"),
    PATHD("statsdir", "statsdir DIR: where filegen files go"),
    PATHD("keys", "keys PATH: symmetric key file"),
    PATHD("controlsocket", "controlsocket PATH: chimectl socket (chime extension)"),
    PATHD("ntsdir", "ntsdir DIR: the NTS server's cookie keys (chime extension)"),
    { "controlgroup", h_controlgroup, 1, 1, "a group name",
      "controlgroup NAME: group that may use the control socket (chime extension)" },
    { "metrics-listen", h_metrics_listen, 1, 1, "ADDRESS:PORT",
      "metrics-listen ADDRESS:PORT: Prometheus metrics over HTTP (chime extension)" },
    { "statistics", h_statistics, 1, ARGS_MANY, "a statistics name", "statistics NAME..." },
    { "filegen", h_filegen, 1, ARGS_MANY, "a statistics name",
      "filegen NAME [file F] [type T] [enable|disable] [link|nolink]" },
    { "trustedkey", h_trustedkey, 1, ARGS_MANY, "a key number", "trustedkey N... (N ... M)" },
    { "controlkey", h_controlkey, 1, 1, "a key number", "controlkey N" },
    { "requestkey", h_controlkey, 1, 1, "a key number", "requestkey N" },
    { "tos", h_tos, 1, ARGS_MANY, "an option", "tos NAME VALUE..." },
    { "tinker", h_tinker, 1, ARGS_MANY, "an option", "tinker NAME VALUE..." },
    { "enable", h_enable, 1, ARGS_MANY, "a flag name", "enable FLAG..." },
    { "disable", h_enable, 1, ARGS_MANY, "a flag name", "disable FLAG..." },
    { "leapsmearinterval", h_leapsmear, 1, 1, "a number", "leapsmearinterval SECONDS" },
    { "leapsmear", h_leapsmear, 1, 2, "a number", "leapsmear SECONDS [linear|cosine]" },
    { "leapsecmode", h_leapsecmode, 1, 1, "a mode", "leapsecmode system|step|slew|ignore" },
    { "includefile", h_includefile, 1, 1, "a path", "includefile PATH" },
    { "nts", h_nts, 1, ARGS_MANY, "an option",
      "nts ca FILE | enable | cert FILE | key FILE: NTS (RFC 8915), NTPsec syntax; chime: "
      "port N | rotate S | readonly | ntpserver HOST | ntpport N | maxsessions N | "
      "perclient N | timeout S" },
    STORED("logconfig", 1, "log classes (later release)"),
    STORED("mru", 1, "MRU list limits (later release)"),
    STORED("rlimit", 1, "resource limits (later release)"),
    STORED("setvar", 1, "mode 6 variables (later release)"),
    STORED("broadcastdelay", 1, "broadcast delay (later release)"),
    STORED("broadcast", 1, "broadcast server (later release)"),
    STORED("broadcastclient", 0, "broadcast client (later release)"),
    STORED("multicastclient", 0, "multicast client (later release)"),
    STORED("manycastserver", 1, "manycast server (later release)"),
    STORED("manycastclient", 1, "manycast client (later release)"),
    STORED("fudge", 1, "reference clock tuning (later release)"),
    { "refclock", h_refclock, 1, ARGS_MANY, "a driver name",
      "refclock shm unit U [refid R] [time1 S] [prefer] [noselect] (NTPsec); "
      "refclock SHM U|SOCK PATH [refid R] [offset S] [delay S] [poll N] [prefer] "
      "[noselect] (chrony); refclock PPS DEV [lock REFID] [clear]; refclock pps unit U "
      "[flag2]; refclock PHC DEV [dpoll N] [tai]" },
    { "discard", h_ratelimit, 1, ARGS_MANY, "an option",
      "discard [average LOG2S] [minimum S] [monitor N]: rate limits for 'limited'" },
    { "ratelimit", h_ratelimit, 1, ARGS_MANY, "an option",
      "ratelimit [interval LOG2S] [burst N] [leak N] [minimum S] [prefix4 N] [prefix6 N] "
      "[entries N] (chime extension)" },
    STORED("crypto", 0, "autokey (not planned; stored)"),
    STORED("revoke", 1, "autokey (not planned; stored)"),
    STORED("automax", 1, "autokey (not planned; stored)"),
    STORED("ttl", 1, "manycast TTLs (later release)"),
    STORED("trap", 1, "mode 6 traps (not planned; stored)"),
    STORED("phone", 1, "modem refclock (not planned; stored)"),
    STORED("saveconfigdir", 1, "ntpq saveconfig (not planned; stored)"),
    STORED("ntpsigndsocket", 1, "Samba signing (later release)"),
    STORED("dscp", 1, "DSCP of sent packets (later release)"),
    STORED("mdnstries", 1, "mDNS registration (not planned; stored)"),
};
#undef PATHD
#undef STORED

const char *conf_directive_name(size_t i)
{
    return i < sizeof directives / sizeof directives[0] ? directives[i].name : NULL;
}

static const struct directive *find_directive(const char *name)
{
    for (size_t i = 0; i < sizeof directives / sizeof directives[0]; i++)
        if (streq(directives[i].name, name))
            return &directives[i];
    return NULL;
}

/* ---- driver --------------------------------------------------------------------------- */

static int run_line(struct parser *p, const struct conf_lexer *lx)
{
    const struct conf_tok *t = &lx->toks[0];
    struct line l;

    l.d = find_directive(t->s);
    if (!l.d)
        return fail(p, &t->loc, "unknown directive '%s'", t->s);
    l.arg = lx->toks + 1;
    l.nargs = lx->ntoks - 1;
    l.loc = t->loc;
    if (l.nargs < (size_t)l.d->min_args)
        return fail(p, &l.loc, "'%s' needs %s", l.d->name, l.d->needs);
    if (l.nargs > (size_t)l.d->max_args)
        return fail(p, &l.arg[l.d->max_args].loc, "too many arguments for '%s' at '%s'",
                    l.d->name, l.arg[l.d->max_args].s);
    return l.d->handler(p, &l);
}

static int parse_text(struct parser *p, const char *file, const char *text, size_t len)
{
    struct conf_lexer lx;
    const char *name = dup_str(p, file);    /* locations outlive the caller's string */
    int rc;

    if (!name) {
        conf_errorf(p->err, p->errlen, file, 0, "out of memory");
        return -1;
    }
    conf_lex_init(&lx, name, text, len);
    while ((rc = conf_lex_line(&lx, p->err, p->errlen)) > 0) {
        if (lx.ntoks > 0 && run_line(p, &lx) < 0) {
            rc = -1;
            break;
        }
    }
    conf_lex_fini(&lx);
    return rc;
}

/* NTPsec keeps its cookie keys in the file "nts cookie" names; chime keeps
 * them in DIR/ntskeys. Without an ntsdir line, that file's directory is
 * the ntsdir, so an NTPsec configuration keeps its clients' cookies good
 * across a restart here too (in a file of chime's own beside NTPsec's). */
static int nts_cookie_dir(struct config *c, struct conf_arena *a, char *err, size_t errlen)
{
    const char *slash;
    char *dir;
    size_t n;

    if (!c->nts.cookie || c->ntsdir)
        return 0;
    slash = strrchr(c->nts.cookie, '/');
    n = slash == c->nts.cookie ? 1 : (size_t)(slash - c->nts.cookie);
    dir = conf_arena_alloc(a, n + 1);
    if (!dir) {
        conf_errorf(err, errlen, c->ntsdir_loc.file, c->ntsdir_loc.line, "out of memory");
        return -1;
    }
    memcpy(dir, c->nts.cookie, n);
    dir[n] = '\0';
    c->ntsdir = dir;
    return 0;
}

static void set_defaults(struct config *c)
{
    c->port = 123;
    c->local_stratum = 0;
    c->leapsmearinterval = 0;
    c->ratelimit = (struct conf_ratelimit){ .average = -1, .minimum = -1, .monitor = -1,
        .burst = -1, .leak = -1, .prefix4 = -1, .prefix6 = -1, .entries = -1 };
    for (const struct conf_knob *k = conf_tos_knobs; k->name; k++)
        *(double *)((char *)&c->tos + k->off) = NAN;
    for (const struct conf_knob *k = conf_tinker_knobs; k->name; k++)
        *(double *)((char *)&c->tinker + k->off) = NAN;
}

int conf_load_string(const char *name, const char *text, size_t len,
                     struct config **out, char *err, size_t errlen)
{
    struct parser p;

    *out = NULL;
    memset(&p, 0, sizeof p);
    p.err = err;
    p.errlen = errlen;
    if (err && errlen)
        err[0] = '\0';
    if (!name)
        name = "(string)";
    p.arena = conf_arena_new();
    p.cfg = p.arena ? conf_arena_alloc(p.arena, sizeof *p.cfg) : NULL;
    if (!p.cfg) {
        conf_arena_free(p.arena);
        conf_errorf(err, errlen, name, 0, "out of memory");
        return -1;
    }
    p.cfg->arena = p.arena;
    set_defaults(p.cfg);
    if (parse_text(&p, name, text ? text : "", text ? len : 0) < 0 ||
        conf_legacy_refclocks(p.cfg, p.arena, err, errlen) < 0 ||
        nts_cookie_dir(p.cfg, p.arena, err, errlen) < 0) {
        conf_free(p.cfg);
        return -1;
    }
    *out = p.cfg;
    return 0;
}

int conf_load_file(const char *path, struct config **out, char *err, size_t errlen)
{
    const char *why;
    char *text = NULL;
    size_t len = 0;
    int rc, err_no = 0;

    *out = NULL;
    rc = read_file(path, &text, &len, &err_no, &why);
    if (rc == -1) {
        conf_errorf(err, errlen, path, 0, "%s: %s", why, strerror(err_no));
        return -1;
    }
    if (rc < 0) {
        conf_errorf(err, errlen, path, 0, "%s", why);
        return -1;
    }
    rc = conf_load_string(path, text, len, out, err, errlen);
    free(text);
    return rc;
}

void conf_release_restricts(struct config *cfg)
{
    cfg->n_restricts_released += cfg->n_restricts;
    free(cfg->restricts);
    cfg->restricts = NULL;
    cfg->n_restricts = 0;
}

void conf_free(struct config *cfg)
{
    /* cfg itself lives in its arena; only the restrict lines do not. */
    if (cfg) {
        free(cfg->restricts);
        conf_arena_free(cfg->arena);
    }
}

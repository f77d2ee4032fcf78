/* conf/refclock: ntpd's legacy reference-clock addresses.
 *
 * ntpd reads "server 127.127.T.U" as reference clock driver T, unit U,
 * tuned by "fudge 127.127.T.U ...". Taken as a unicast server, such a line
 * made chimed poll 127.127.T.U, i.e. itself over loopback, with no
 * fallback and no word said. Here, after the whole file is parsed:
 *   - driver 1 (LOCAL, the undisciplined local clock) becomes what it
 *     meant, "local stratum N", N from the matching "fudge ... stratum N"
 *     (the driver's default, 5, without one), with a note;
 *   - driver 28 (SHM) becomes a reference clock, tuned by its fudge line
 *     (time1, refid, stratum), the same as "refclock shm unit U";
 *   - every other driver is removed from the sources with a warning that
 *     names the line and the driver (not supported yet).
 * The "refclock" directive is parsed here too, in NTPsec's form
 * ("refclock shm unit 0 refid GPS time1 0.1 prefer") and chrony's
 * ("refclock SHM 0 refid GPS offset 0.1 delay 0.2", "refclock SOCK PATH").
 * Neither is ever sent a packet. Notes land in cfg->notes: --check prints
 * them, start-up logs them. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf/conf_int.h"

#define LOCAL_DRIVER 1
#define PPS_DRIVER 22
#define SHM_DRIVER 28
#define MAX_UNIT 255
#define LOCAL_DEFAULT_STRATUM 5     /* ntpd's LOCAL driver without fudge */

static const char *driver_name(unsigned t)
{
    switch (t) {
    case 1:  return "LOCAL, undisciplined local clock";
    case 3:  return "PST, PSTI/Traconex WWV/WWVH receiver";
    case 4:  return "WWVB, Spectracom receiver";
    case 5:  return "TRUETIME, TrueTime GPS/GOES/OMEGA";
    case 8:  return "PARSE, generic reference clock";
    case 11: return "ARBITER, Arbiter 1088A/B GPS";
    case 18: return "ACTS, NIST/USNO/PTB modem time services";
    case 20: return "NMEA, generic NMEA GPS receiver";
    case 22: return "PPS, PPSAPI pulse-per-second (ATOM)";
    case 26: return "HPGPS, Hewlett Packard 58503A GPS";
    case 28: return "SHM, shared memory, as gpsd writes it";
    case 29: return "PALISADE, Trimble Palisade GPS";
    case 30: return "ONCORE, Motorola Oncore GPS";
    case 40: return "JJY, Japanese JJY receivers";
    case 44: return "NEOCLOCK4X";
    case 45: return "SPECTRACOM TSYNC PCI";
    case 46: return "GPSD, gpsd JSON";
    default: return "unknown driver";
    }
}

/* 127.127.T.U: true with the driver type and unit. */
static bool refclock_addr(const char *host, unsigned *type, unsigned *unit)
{
    struct in_addr a;
    uint32_t v;

    if (!host || inet_pton(AF_INET, host, &a) != 1)
        return false;
    v = ntohl(a.s_addr);
    if ((v >> 16) != 0x7f7f)
        return false;
    *type = (v >> 8) & 0xff;
    *unit = v & 0xff;
    return true;
}

/* The stratum of "fudge ADDR ... stratum N" for this address, or -1. */
static int fudge_stratum(const struct config *c, const char *host, struct conf_loc *where)
{
    int found = -1;

    for (size_t i = 0; i < c->n_stored; i++) {
        const struct conf_stored *s = &c->stored[i];
        size_t hl = strlen(host);
        const char *st;
        long v;
        char *end;

        if (strcmp(s->directive, "fudge") || strncmp(s->args, host, hl) ||
            (s->args[hl] != ' ' && s->args[hl] != '\0'))
            continue;
        st = strstr(s->args + hl, " stratum ");
        if (!st)
            continue;
        v = strtol(st + 9, &end, 10);
        if (end != st + 9 && (*end == ' ' || *end == '\0') && v >= 0 && v <= 15) {
            found = (int)v;     /* the last fudge line wins, as in ntpd */
            *where = s->loc;
        }
    }
    return found;
}

static int add_note(struct config *c, struct conf_arena *a, size_t *cap, bool warn,
                    const struct conf_loc *loc, const char *text)
{
    if (c->n_notes == *cap) {
        size_t ncap = *cap ? *cap * 2 : 4;
        struct conf_note *nn = conf_arena_alloc(a, ncap * sizeof(*nn));

        if (!nn)
            return -1;
        if (c->n_notes)
            memcpy(nn, c->notes, c->n_notes * sizeof(*nn));
        c->notes = nn;
        *cap = ncap;
    }
    c->notes[c->n_notes].warn = warn;
    c->notes[c->n_notes].loc = *loc;
    c->notes[c->n_notes].text = conf_arena_strdup(a, text, strlen(text));
    if (!c->notes[c->n_notes].text)
        return -1;
    c->n_notes++;
    return 0;
}

static int legacy_clock(struct config *c, struct conf_arena *a, size_t *cap,
                        const struct conf_source *s, unsigned type, unsigned unit);

/* One legacy line: becomes "local stratum N" or a warning; never a source. */
static int convert_one(struct config *c, struct conf_arena *a, size_t *cap,
                       const struct conf_source *s, unsigned type, unsigned unit)
{
    char text[300];
    struct conf_loc fl = s->loc;
    int stratum;

    if (type == SHM_DRIVER || type == PPS_DRIVER)
        return legacy_clock(c, a, cap, s, type, unit);
    if (type != LOCAL_DRIVER) {
        snprintf(text, sizeof(text), "'%s' is reference clock driver %u unit %u (%s): "
                 "not supported yet (chime has LOCAL 1, PPS 22, SHM 28, and SOCK and PHC "
                 "in the refclock form); the line is ignored and nothing is sent to that "
                 "address", s->host, type, unit, driver_name(type));
        return add_note(c, a, cap, true, &s->loc, text);
    }
    stratum = fudge_stratum(c, s->host, &fl);
    if (c->local_stratum > 0) {
        snprintf(text, sizeof(text), "'%s' (ntpd's local clock) ignored: 'local stratum "
                 "%d' at %s:%d already says when to serve our own clock", s->host,
                 c->local_stratum, c->local_loc.file, c->local_loc.line);
        return add_note(c, a, cap, false, &s->loc, text);
    }
    /* stratum 0 ("a bona fide stratum-1 source" to ntpd) is not ours to
     * claim for an undisciplined clock: serve it at 1 */
    if (stratum < 0)
        stratum = LOCAL_DEFAULT_STRATUM;
    else if (stratum == 0)
        stratum = 1;
    c->local_stratum = stratum;
    c->local_loc = s->loc;
    snprintf(text, sizeof(text), "'%s' (ntpd's local clock driver) read as 'local stratum "
             "%d'%s: our own clock is served when no source is usable; it is not "
             "polled", s->host, stratum, fl.line != s->loc.line || fl.file != s->loc.file ?
             " (from its fudge line)" : " (the driver's default stratum)");
    return add_note(c, a, cap, false, &s->loc, text);
}

int conf_legacy_refclocks(struct config *c, struct conf_arena *a, char *err, size_t errlen)
{
    size_t cap = c->n_notes, kept = 0;

    for (size_t i = 0; i < c->n_sources; i++) {
        const struct conf_source *s = &c->sources[i];
        unsigned type, unit;

        if (!refclock_addr(s->host, &type, &unit)) {
            c->sources[kept++] = *s;
            continue;
        }
        if (!strcmp(driver_name(type), "unknown driver")) {
            conf_errorf(err, errlen, s->loc.file, s->loc.line, "'%s': 127.127.%u.%u names "
                        "reference clock driver %u, which ntpd never had (LOCAL is 1, PPS 22, "
                        "SHM 28)", s->host, type, unit, type);
            return -1;
        }
        if (convert_one(c, a, &cap, s, type, unit) < 0) {
            conf_errorf(err, errlen, s->loc.file, s->loc.line, "out of memory");
            return -1;
        }
    }
    c->n_sources = kept;
    return 0;
}

/* ---- reference clocks ------------------------------------------------------ */

static struct conf_refclock *push_refclock(struct config *c, struct conf_arena *a)
{
    struct conf_refclock *n = conf_arena_alloc(a, (c->n_refclocks + 1) * sizeof(*n));

    if (!n)
        return NULL;
    if (c->n_refclocks)
        memcpy(n, c->refclocks, c->n_refclocks * sizeof(*n));
    c->refclocks = n;
    return &n[c->n_refclocks++];
}

static bool word_double(const char *w, double lo, double hi, double *out)
{
    char *end;
    double v;

    if (!w || !*w || strspn(w, "0123456789.eE+-") != strlen(w))
        return false;
    v = strtod(w, &end);
    if (*end || !(v >= lo && v <= hi))
        return false;
    *out = v;
    return true;
}

static bool word_long(const char *w, long lo, long hi, long *out)
{
    char *end;
    long v;

    if (!w || !*w || strspn(w, "0123456789-") != strlen(w))
        return false;
    v = strtol(w, &end, 10);
    if (*end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

static void rc_defaults(struct conf_refclock *r, const struct conf_loc *loc)
{
    memset(r, 0, sizeof(*r));
    snprintf(r->refid, sizeof(r->refid), "GPS");
    r->loc = *loc;
}

/* ntpd's permissions: units 0 and 1 are root's, from 2 on any local user
 * may write the segment, i.e. set our time. */
static int note_shm_perm(struct config *c, struct conf_arena *a, const struct conf_refclock *r)
{
    size_t cap = c->n_notes;
    char text[200];

    if (r->driver != CONF_RC_SHM || r->unit < 2)
        return 0;
    snprintf(text, sizeof(text), "SHM unit %d: its segment (key 0x%x) is world-writable "
             "(mode 0666, as ntpd makes units 2 and up): any local user can set this "
             "clock's time; units 0 and 1 are root only (0600)", r->unit,
             0x4e545030 + r->unit);
    return add_note(c, a, &cap, true, &r->loc, text);
}

/* An option with one value; *i moves past it. -1 with err when bad. */
struct rc_ctx {
    const struct conf_tok *arg;
    size_t nargs, i;
    char *err;
    size_t errlen;
};

static const char *rc_value(struct rc_ctx *x, const char *name)
{
    const struct conf_tok *t = &x->arg[x->i];

    if (x->i + 1 >= x->nargs) {
        conf_errorf(x->err, x->errlen, t->loc.file, t->loc.line,
                    "refclock: '%s' needs a value", name);
        return NULL;
    }
    return x->arg[++x->i].s;
}

static int rc_bad(struct rc_ctx *x, const char *name, const char *v)
{
    const struct conf_tok *t = &x->arg[x->i];

    conf_errorf(x->err, x->errlen, t->loc.file, t->loc.line,
                "refclock: bad value '%s' for '%s'", v, name);
    return -1;
}

/* The options both syntaxes share, by either name; 1 = not one of them. */
static int rc_common(struct rc_ctx *x, struct conf_refclock *r, const char *o)
{
    const char *v;
    double d;
    long l;

    if (!strcmp(o, "prefer")) {
        r->prefer = true;
    } else if (!strcmp(o, "noselect")) {
        r->noselect = true;
    } else if (!strcmp(o, "refid")) {
        if (!(v = rc_value(x, o)))
            return -1;
        if (!*v || strlen(v) > 4)
            return rc_bad(x, o, v);
        snprintf(r->refid, sizeof(r->refid), "%s", v);
    } else if (!strcmp(o, "time1") || !strcmp(o, "offset")) {
        if (!(v = rc_value(x, o)))
            return -1;
        if (!word_double(v, -1e3, 1e3, &d))
            return rc_bad(x, o, v);
        r->offset = d;
    } else if (!strcmp(o, "delay")) {
        if (!(v = rc_value(x, o)))
            return -1;
        if (!word_double(v, 0, 1.0, &d))
            return rc_bad(x, o, v);
        r->delay = d;
    } else if (!strcmp(o, "stratum")) {
        if (!(v = rc_value(x, o)))
            return -1;
        if (!word_long(v, 0, 15, &l))
            return rc_bad(x, o, v);
        r->stratum = (int)l;
    } else if (!strcmp(o, "poll") || !strcmp(o, "minpoll")) {
        if (!(v = rc_value(x, o)))
            return -1;
        if (!word_long(v, 0, 10, &l))
            return rc_bad(x, o, v);
        r->poll = l == 0 ? 0 : (int)l;
    } else {
        return 1;
    }
    return 0;
}

/* Options that mean something to ntpd or chrony but not (yet) to us: the
 * value is checked for presence and the option noted, never silently. */
static bool rc_ignored(const char *o, bool *has_value)
{
    static const char *const with_value[] = { "maxpoll", "mode", "time2", "filter",
                                              "rate", "precision", "maxdispersion",
                                              "width", "maxlockage", "baud", "dpoll",
                                              "lock", NULL };
    static const char *const flags[] = { "flag1", "flag2", "flag3", "flag4", "trust",
                                         "require", "burst", "iburst", "pps", "local", "tai",
                                         "clear", NULL };

    for (int k = 0; with_value[k]; k++) {
        if (!strcmp(o, with_value[k])) {
            *has_value = true;
            return true;
        }
    }
    for (int k = 0; flags[k]; k++) {
        if (!strcmp(o, flags[k])) {
            *has_value = false;
            return true;
        }
    }
    return false;
}

/* Options of one driver: PPS's edge and coarse source, PHC's read rate
 * and time scale; 1 = not one of them (or not this driver's). */
static int rc_driver_opt(struct rc_ctx *x, struct conf_arena *a, struct conf_refclock *r,
                         const char *o)
{
    const char *v;
    long l;

    if (r->driver == CONF_RC_PPS && (!strcmp(o, "clear") || !strcmp(o, "flag2"))) {
        r->clear = true;
        /* ntpd's fudge spells it "flag2 1" ("flag2 0": the assert edge) */
        if (!strcmp(o, "flag2") && x->i + 1 < x->nargs &&
            (!strcmp(x->arg[x->i + 1].s, "0") || !strcmp(x->arg[x->i + 1].s, "1")))
            r->clear = x->arg[++x->i].s[0] == '1';
    } else if (r->driver == CONF_RC_PPS && !strcmp(o, "lock")) {
        if (!(v = rc_value(x, o)))
            return -1;
        if (!*v || strlen(v) > 4)
            return rc_bad(x, o, v);
        snprintf(r->lock, sizeof(r->lock), "%s", v);
    } else if (r->driver == CONF_RC_PPS && (!strcmp(o, "path") || !strcmp(o, "ppspath"))) {
        if (!(v = rc_value(x, o)))
            return -1;
        if (v[0] != '/' || strlen(v) >= 108)
            return rc_bad(x, o, v);
        if (!(r->path = conf_arena_strdup(a, v, strlen(v))))
            return -1;
    } else if (r->driver == CONF_RC_PHC && !strcmp(o, "dpoll")) {
        if (!(v = rc_value(x, o)))
            return -1;
        if (!word_long(v, -6, 6, &l))
            return rc_bad(x, o, v);
        r->dpoll = (int)l;
    } else if (r->driver == CONF_RC_PHC && !strcmp(o, "tai")) {
        r->tai = true;
    } else {
        return 1;
    }
    return 0;
}

static int rc_options(struct config *c, struct conf_arena *a, struct rc_ctx *x,
                      struct conf_refclock *r)
{
    for (; x->i < x->nargs; x->i++) {
        const char *o = x->arg[x->i].s;
        bool has_value = false;
        int k = rc_common(x, r, o);

        if (k > 0)
            k = rc_driver_opt(x, a, r, o);

        if (k < 0)
            return -1;
        if (k == 0)
            continue;
        if (rc_ignored(o, &has_value)) {
            size_t cap = c->n_notes;
            char text[160];

            if (has_value && !rc_value(x, o))
                return -1;
            snprintf(text, sizeof(text), "refclock option '%s' is not supported yet: ignored",
                     o);
            if (add_note(c, a, &cap, true, &x->arg[x->i].loc, text) < 0)
                return -1;
            continue;
        }
        conf_errorf(x->err, x->errlen, x->arg[x->i].loc.file, x->arg[x->i].loc.line,
                    "refclock: unknown option '%s'", o);
        return -1;
    }
    return 0;
}

/* NTPsec's drivers by name, for a clear word on the ones not done yet. */
static bool ntpsec_driver_known(const char *name)
{
    static const char *const names[] = { "local", "spectracom", "truetime", "generic",
                                         "arbiter", "modem", "nmea", "pps", "hpgps", "shm",
                                         "trimble", "oncore", "jjy", "zyfer", "neoclock",
                                         "gpsd", NULL };

    for (int k = 0; names[k]; k++) {
        if (!strcasecmp(name, names[k]))
            return true;
    }
    return false;
}

static int unsupported_driver(struct config *c, struct conf_arena *a, const struct conf_loc *loc,
                              const char *name)
{
    size_t cap = c->n_notes;
    char text[200];

    snprintf(text, sizeof(text), "refclock driver '%s' is not supported yet (chime has SHM, "
             "SOCK, PPS and PHC): the line is ignored", name);
    return add_note(c, a, &cap, true, loc, text);
}

/* "/dev/ppsU" for a unit, into the arena; NULL when out of memory. */
static const char *unit_device(struct conf_arena *a, const char *base, long unit)
{
    char path[32];

    snprintf(path, sizeof(path), "%s%ld", base, unit);
    return conf_arena_strdup(a, path, strlen(path));
}

/* PPS and PHC: chrony's device path (refclock PPS /dev/pps0, refclock PHC
 * /dev/ptp0) or NTPsec's unit (refclock pps unit 0: /dev/pps0); the
 * options follow. -1 with err, 1 out of memory. */
static int device_args(struct rc_ctx *x, struct conf_refclock *r, const char *name,
                       long *unit, struct conf_arena *a)
{
    bool pps = !strcasecmp(name, "pps");
    const struct conf_tok *arg = x->arg;

    r->driver = pps ? CONF_RC_PPS : CONF_RC_PHC;
    snprintf(r->refid, sizeof(r->refid), pps ? "PPS" : "PHC0");
    if (x->nargs >= 2 && arg[1].s[0] == '/') {
        if (strlen(arg[1].s) >= 108 || strchr(arg[1].s, ':')) {
            conf_errorf(x->err, x->errlen, arg[1].loc.file, arg[1].loc.line,
                        "refclock %s: '%s': a device path of at most 107 bytes, without "
                        "chrony's ':option' suffixes", name, arg[1].s);
            return -1;
        }
        r->path = conf_arena_strdup(a, arg[1].s, strlen(arg[1].s));
        x->i = 2;
        /* /dev/ppsN: unit N, for ntpq's 127.127.22.N */
        if (!strncmp(arg[1].s, "/dev/pps", 8) && word_long(arg[1].s + 8, 0, MAX_UNIT, unit))
            r->unit = (int)*unit;
    } else if (x->nargs >= 3 && !strcmp(arg[1].s, "unit")) {
        if (!word_long(arg[2].s, 0, MAX_UNIT, unit)) {
            conf_errorf(x->err, x->errlen, arg[2].loc.file, arg[2].loc.line,
                        "refclock %s: bad unit '%s' (0-%d)", name, arg[2].s, MAX_UNIT);
            return -1;
        }
        r->unit = (int)*unit;
        r->path = unit_device(a, pps ? "/dev/pps" : "/dev/ptp", *unit);
        x->i = 3;
    } else {
        conf_errorf(x->err, x->errlen, arg[0].loc.file, arg[0].loc.line,
                    "refclock %s needs a device (refclock %s /dev/%s0) or a unit (refclock "
                    "%s unit 0)", name, name, pps ? "pps" : "ptp", name);
        return -1;
    }
    /* chrony's default refid: PHC and the device's number, when one digit */
    if (!pps && x->i == 3 && *unit < 10)
        r->refid[3] = (char)('0' + *unit);
    if (!pps && x->i == 2 && !strncmp(arg[1].s, "/dev/ptp", 8) && arg[1].s[8] >= '0' &&
        arg[1].s[8] <= '9' && !arg[1].s[9])
        r->refid[3] = arg[1].s[8];
    return r->path ? 0 : 1;
}

int conf_refclock_line(struct config *c, struct conf_arena *a, const struct conf_tok *arg,
                       size_t nargs, const struct conf_loc *loc, char *err, size_t errlen)
{
    struct rc_ctx x = { .arg = arg, .nargs = nargs, .i = 1, .err = err, .errlen = errlen };
    const char *name = arg[0].s;
    struct conf_refclock r;
    long unit = 0;

    rc_defaults(&r, loc);
    if (!strcasecmp(name, "sock")) {
        if (nargs < 2 || arg[1].s[0] != '/') {
            conf_errorf(err, errlen, arg[0].loc.file, arg[0].loc.line,
                        "refclock SOCK needs the socket's absolute path");
            return -1;
        }
        if (strlen(arg[1].s) >= 108) {
            conf_errorf(err, errlen, arg[1].loc.file, arg[1].loc.line,
                        "refclock SOCK: path too long (at most 107 bytes)");
            return -1;
        }
        r.driver = CONF_RC_SOCK;
        r.path = conf_arena_strdup(a, arg[1].s, strlen(arg[1].s));
        if (!r.path)
            goto oom;
        x.i = 2;
    } else if (!strcasecmp(name, "shm")) {
        r.driver = CONF_RC_SHM;
        if (nargs >= 2 && word_long(arg[1].s, 0, MAX_UNIT, &unit)) {
            x.i = 2;            /* chrony: refclock SHM U */
        } else if (nargs >= 2 && strchr(arg[1].s, ':')) {
            conf_errorf(err, errlen, arg[1].loc.file, arg[1].loc.line,
                        "refclock SHM: driver options ('%s') are not supported; the "
                        "segment's mode follows its unit, as in ntpd", arg[1].s);
            return -1;
        } else if (nargs >= 3 && !strcmp(arg[1].s, "unit")) {
            if (!word_long(arg[2].s, 0, MAX_UNIT, &unit)) {
                conf_errorf(err, errlen, arg[2].loc.file, arg[2].loc.line,
                            "refclock shm: bad unit '%s' (0-%d)", arg[2].s, MAX_UNIT);
                return -1;
            }
            x.i = 3;            /* NTPsec: refclock shm unit U */
        }
        r.unit = (int)unit;
    } else if (!strcasecmp(name, "pps") || !strcasecmp(name, "phc")) {
        int k = device_args(&x, &r, name, &unit, a);

        if (k < 0)
            return -1;
        if (k > 0)
            goto oom;
    } else if (ntpsec_driver_known(name)) {
        if (unsupported_driver(c, a, &arg[0].loc, name) < 0)
            goto oom;
        return 0;
    } else {
        conf_errorf(err, errlen, arg[0].loc.file, arg[0].loc.line,
                    "refclock: unknown driver '%s' (chime has SHM, SOCK, PPS and PHC)", name);
        return -1;
    }
    if (rc_options(c, a, &x, &r) < 0)
        return -1;
    if (!push_refclock(c, a))
        goto oom;
    c->refclocks[c->n_refclocks - 1] = r;
    if (note_shm_perm(c, a, &r) < 0)
        goto oom;
    return 0;
oom:
    conf_errorf(err, errlen, loc->file, loc->line, "out of memory");
    return -1;
}

/* The words of every "fudge ADDR ..." line for this address, in order
 * (the last setting wins, as in ntpd), through the common options. */
static int apply_fudge(struct config *c, struct conf_arena *a, const char *host,
                       struct conf_refclock *r)
{
    size_t hl = strlen(host);

    for (size_t i = 0; i < c->n_stored; i++) {
        const struct conf_stored *s = &c->stored[i];
        struct conf_tok toks[32];
        char buf[512], *save = NULL, *w;
        struct rc_ctx x = { .arg = toks };
        char err[CONF_ERR_LEN];
        size_t cap = c->n_notes;

        if (strcmp(s->directive, "fudge") || strncmp(s->args, host, hl) ||
            (s->args[hl] != ' ' && s->args[hl] != '\0'))
            continue;
        snprintf(buf, sizeof(buf), "%s", s->args + hl);
        for (w = strtok_r(buf, " \t", &save); w && x.nargs < 32; w = strtok_r(NULL, " \t", &save))
            toks[x.nargs++] = (struct conf_tok){ .s = w, .loc = s->loc };
        x.err = err;
        x.errlen = sizeof(err);
        for (; x.i < x.nargs; x.i++) {
            bool has_value = false;
            int k = rc_common(&x, r, toks[x.i].s);

            if (k > 0)
                k = rc_driver_opt(&x, a, r, toks[x.i].s);
            if (k == 0)
                continue;
            if (k > 0 && rc_ignored(toks[x.i].s, &has_value)) {
                /* ntpd's fudge flags carry a 0 or 1 */
                if (has_value || (!strncmp(toks[x.i].s, "flag", 4) && x.i + 1 < x.nargs &&
                                  strspn(toks[x.i + 1].s, "01") == strlen(toks[x.i + 1].s)))
                    x.i++;
                continue;       /* flag1-4, time2: nothing for these drivers */
            }
            /* a bad fudge word is worth a warning, not the whole daemon */
            if (k > 0)
                snprintf(err, sizeof(err), "fudge %s: unknown option '%s': ignored", host,
                         toks[x.i].s);
            if (add_note(c, a, &cap, true, &s->loc, err) < 0)
                return -1;
        }
    }
    return 0;
}

/* server 127.127.28.U [prefer] [noselect] [minpoll N] + fudge: an SHM
 * clock; 127.127.22.U: the PPS on /dev/ppsU (ntpd's ATOM driver), whose
 * second comes from the server marked prefer. */
static int legacy_clock(struct config *c, struct conf_arena *a, size_t *cap,
                        const struct conf_source *s, unsigned type, unsigned unit)
{
    struct conf_refclock r;
    char text[300];

    rc_defaults(&r, &s->loc);
    r.driver = type == PPS_DRIVER ? CONF_RC_PPS : CONF_RC_SHM;
    r.unit = (int)unit;
    r.prefer = s->prefer;
    r.noselect = s->noselect;
    /* "minpoll N" on the server line is the clock's poll; the server
     * default (6) is not written down, so it leaves the refclock's (4) */
    if (s->minpoll != 6 && s->minpoll >= 0 && s->minpoll <= 10)
        r.poll = s->minpoll;
    if (r.driver == CONF_RC_PPS) {
        snprintf(r.refid, sizeof(r.refid), "PPS");
        if (!(r.path = unit_device(a, "/dev/pps", unit)))
            return -1;
    }
    if (apply_fudge(c, a, s->host, &r) < 0 || !push_refclock(c, a))
        return -1;
    /* the helpers below grow the notes on their own: the caller's
     * capacity is only known to hold what is there now */
    *cap = c->n_notes;
    c->refclocks[c->n_refclocks - 1] = r;
    if (r.driver == CONF_RC_PPS)
        snprintf(text, sizeof(text), "'%s' (ntpd's PPS driver) read as 'refclock pps unit %u "
                 "refid %s time1 %g%s': the pulse on %s, its second from the source "
                 "marked prefer", s->host, unit, r.refid, r.offset,
                 r.clear ? " flag2 (clear edge)" : "", r.path);
    else
        snprintf(text, sizeof(text), "'%s' (ntpd's SHM driver) read as 'refclock shm unit %u "
                 "refid %s time1 %g stratum %d': a reference clock fed through shared memory "
                 "(gpsd)", s->host, unit, r.refid, r.offset, r.stratum);
    if (add_note(c, a, cap, false, &s->loc, text) < 0 || note_shm_perm(c, a, &r) < 0)
        return -1;
    *cap = c->n_notes;
    return 0;
}

/* conf/refclock: ntpd's legacy reference-clock addresses.
 *
 * ntpd reads "server 127.127.T.U" as reference clock driver T, unit U,
 * tuned by "fudge 127.127.T.U ...". Taken as a unicast server, such a line
 * made chimed poll 127.127.T.U, i.e. itself over loopback, with no
 * fallback and no word said. Here, after the whole file is parsed:
 *   - driver 1 (LOCAL, the undisciplined local clock) becomes what it
 *     meant, "local stratum N", N from the matching "fudge ... stratum N"
 *     (the driver's default, 5, without one), with a note;
 *   - every other driver is removed from the sources with a warning that
 *     names the line and the driver (reference clocks are a later
 *     release).
 * Neither is ever sent a packet. Notes land in cfg->notes: --check prints
 * them, start-up logs them. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf_int.h"

#define LOCAL_DRIVER 1
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

/* One legacy line: becomes "local stratum N" or a warning; never a source. */
static int convert_one(struct config *c, struct conf_arena *a, size_t *cap,
                       const struct conf_source *s, unsigned type, unsigned unit)
{
    char text[300];
    struct conf_loc fl = s->loc;
    int stratum;

    if (type != LOCAL_DRIVER) {
        snprintf(text, sizeof(text), "'%s' is reference clock driver %u unit %u (%s): "
                 "reference clocks are not supported yet; the line is ignored and "
                 "nothing is sent to that address", s->host, type, unit, driver_name(type));
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
        if (convert_one(c, a, &cap, s, type, unit) < 0) {
            conf_errorf(err, errlen, s->loc.file, s->loc.line, "out of memory");
            return -1;
        }
    }
    c->n_sources = kept;
    return 0;
}

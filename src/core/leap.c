/* core/leap: see leap.h. */
#include "core/leap.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/time.h"

/* Digits hashed: "#$" and "#@" (<= 12 each) and two numbers per data line. */
#define MAX_NUM_DIGITS 12
#define DIGITS_CAP (2 * MAX_NUM_DIGITS + LEAP_MAX_ENTRIES * 2 * MAX_NUM_DIGITS)

static const char *const result_names[LEAPF__COUNT] = {
    [LEAPF_OK] = "ok",
    [LEAPF_BAD_LINE] = "unrecognised line",
    [LEAPF_BAD_NUMBER] = "bad number",
    [LEAPF_DUP_SPECIAL] = "duplicate #$, #@ or #h line",
    [LEAPF_NO_UPDATE] = "no #$ (last update) line",
    [LEAPF_NO_EXPIRY] = "no #@ (expiry) line",
    [LEAPF_NO_HASH] = "no #h (hash) line",
    [LEAPF_NO_ENTRIES] = "no data lines",
    [LEAPF_TOO_MANY] = "too many data lines",
    [LEAPF_NOT_MIDNIGHT] = "entry not at 00:00 UTC on the first of a month",
    [LEAPF_NOT_INCREASING] = "entries not in increasing time order",
    [LEAPF_BAD_STEP] = "TAI-UTC changes by other than one second",
    [LEAPF_BAD_EXPIRY] = "expiry not after the last update",
    [LEAPF_HASH_ERROR] = "cannot compute SHA-1",
    [LEAPF_HASH_MISMATCH] = "SHA-1 hash mismatch (damaged or tampered file)",
};

const char *leap_file_result_name(enum leap_file_result r)
{
    return (unsigned)r < LEAPF__COUNT ? result_names[r] : "unknown";
}

/* ---- a bounded line reader ------------------------------------------------ */

struct cursor {
    const char *p, *end;    /* the current line, without its newline */
};

static bool is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\v' || ch == '\f';
}

static void skip_space(struct cursor *c)
{
    while (c->p < c->end && is_space(*c->p))
        c->p++;
}

/* A decimal number of 1..MAX_NUM_DIGITS digits; its digits are appended
 * to dig (bounded by the caller's capacity). */
static bool read_decimal(struct cursor *c, int64_t *v, char *dig, size_t *n_dig, size_t cap)
{
    int64_t x = 0;
    int k = 0;

    skip_space(c);
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
        if (++k > MAX_NUM_DIGITS)
            return false;
        x = x * 10 + (*c->p - '0');
        if (dig) {
            if (*n_dig >= cap)
                return false;
            dig[(*n_dig)++] = *c->p;
        }
        c->p++;
    }
    if (k == 0)
        return false;
    *v = x;
    return true;
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

static bool read_hex_word(struct cursor *c, uint32_t *v)
{
    uint32_t x = 0;
    int k = 0;

    skip_space(c);
    while (c->p < c->end && hexval(*c->p) >= 0) {
        if (++k > 8)
            return false;
        x = x << 4 | (uint32_t)hexval(*c->p);
        c->p++;
    }
    *v = x;
    return k > 0;
}

/* Only whitespace or a comment may follow. */
static bool at_line_end(struct cursor *c)
{
    skip_space(c);
    return c->p == c->end || *c->p == '#';
}

/* ---- the calendar ------------------------------------------------------------ */

/* Days since 1970-01-01 -> civil date (the well-known era/day-of-era
 * decomposition of the Gregorian 400-year cycle). */
static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t dd = doy - (153 * mp + 2) / 5 + 1;
    int64_t mm = mp < 10 ? mp + 3 : mp - 9;

    *y = (int)(yoe + era * 400 + (mm <= 2));
    *m = (int)mm;
    *d = (int)dd;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

void leap_civil(int64_t unix_s, int *year, int *month, int *day)
{
    civil_from_days(floor_div(unix_s, LEAP_SECS_PER_DAY), year, month, day);
}

int64_t leap_day_end(int64_t unix_s)
{
    return (floor_div(unix_s, LEAP_SECS_PER_DAY) + 1) * LEAP_SECS_PER_DAY;
}

bool leap_day_possible(int64_t unix_s)
{
    int y, m, d;

    leap_civil(unix_s, &y, &m, &d);
    return (m == 6 && d == 30) || (m == 12 && d == 31);
}

/* ---- the parser ----------------------------------------------------------------- */

struct parse {
    struct leap_table *t;
    bool have_update, have_expiry, have_hash;
    char upd[MAX_NUM_DIGITS], exp[MAX_NUM_DIGITS];
    size_t n_upd, n_exp;
    char data[DIGITS_CAP];
    size_t n_data;
};

static int64_t ntp_to_unix(int64_t ntp)
{
    return ntp - NTP_UNIX_OFFSET;
}

static enum leap_file_result special(struct parse *ps, struct cursor *c)
{
    char kind = c->p[1];
    int64_t v;

    c->p += 2;
    if (kind == '$' || kind == '@') {
        bool *have = kind == '$' ? &ps->have_update : &ps->have_expiry;
        char *dig = kind == '$' ? ps->upd : ps->exp;
        size_t *nd = kind == '$' ? &ps->n_upd : &ps->n_exp;

        if (*have)
            return LEAPF_DUP_SPECIAL;
        *nd = 0;
        if (!read_decimal(c, &v, dig, nd, MAX_NUM_DIGITS) || !at_line_end(c))
            return LEAPF_BAD_NUMBER;
        *have = true;
        if (kind == '$')
            ps->t->updated = ntp_to_unix(v);
        else
            ps->t->expires = ntp_to_unix(v);
        return LEAPF_OK;
    }
    /* "#h": five words; nothing but whitespace after them. */
    if (ps->have_hash)
        return LEAPF_DUP_SPECIAL;
    for (int i = 0; i < 5; i++) {
        if (!read_hex_word(c, &ps->t->hash[i]))
            return LEAPF_BAD_NUMBER;
    }
    skip_space(c);
    if (c->p != c->end)
        return LEAPF_BAD_NUMBER;
    ps->have_hash = true;
    return LEAPF_OK;
}

static enum leap_file_result data_line(struct parse *ps, struct cursor *c)
{
    struct leap_table *t = ps->t;
    int64_t when, tai;
    int y, m, d;

    if (!read_decimal(c, &when, ps->data, &ps->n_data, sizeof ps->data))
        return LEAPF_BAD_LINE;
    if (c->p < c->end && !is_space(*c->p))
        return LEAPF_BAD_LINE;
    if (!read_decimal(c, &tai, ps->data, &ps->n_data, sizeof ps->data) || tai > 1000)
        return LEAPF_BAD_NUMBER;
    if (!at_line_end(c))
        return LEAPF_BAD_LINE;
    if (t->n >= LEAP_MAX_ENTRIES)
        return LEAPF_TOO_MANY;
    when = ntp_to_unix(when);
    leap_civil(when, &y, &m, &d);
    if (when % LEAP_SECS_PER_DAY != 0 || d != 1)
        return LEAPF_NOT_MIDNIGHT;
    if (t->n > 0) {
        if (when <= t->e[t->n - 1].when)
            return LEAPF_NOT_INCREASING;
        if (tai - t->e[t->n - 1].tai != 1 && tai - t->e[t->n - 1].tai != -1)
            return LEAPF_BAD_STEP;
    }
    t->e[t->n++] = (struct leap_entry){ .when = when, .tai = (int)tai };
    return LEAPF_OK;
}

static enum leap_file_result one_line(struct parse *ps, struct cursor *c)
{
    skip_space(c);
    if (c->p == c->end)
        return LEAPF_OK;
    if (*c->p == '#') {
        if (c->end - c->p >= 2 && (c->p[1] == '$' || c->p[1] == '@' || c->p[1] == 'h'))
            return special(ps, c);
        return LEAPF_OK;        /* a comment */
    }
    return data_line(ps, c);
}

static enum leap_file_result verify(struct parse *ps, leap_sha1_fn sha1)
{
    char all[sizeof ps->upd + sizeof ps->exp + sizeof ps->data];
    uint8_t md[LEAP_SHA1_LEN];
    size_t n = 0;

    memcpy(all + n, ps->upd, ps->n_upd);
    n += ps->n_upd;
    memcpy(all + n, ps->exp, ps->n_exp);
    n += ps->n_exp;
    memcpy(all + n, ps->data, ps->n_data);
    n += ps->n_data;
    if (sha1(all, n, md) != 0)
        return LEAPF_HASH_ERROR;
    for (int i = 0; i < 5; i++) {
        uint32_t w = (uint32_t)md[4 * i] << 24 | (uint32_t)md[4 * i + 1] << 16 |
                     (uint32_t)md[4 * i + 2] << 8 | md[4 * i + 3];
        if (w != ps->t->hash[i])
            return LEAPF_HASH_MISMATCH;
    }
    return LEAPF_OK;
}

enum leap_file_result leap_file_parse(const char *buf, size_t len, leap_sha1_fn sha1,
                                      struct leap_table *out, int *line)
{
    struct parse ps;
    const char *p = buf, *end = buf + len;
    int lineno = 0;
    enum leap_file_result r;

    memset(&ps, 0, sizeof ps);
    memset(out, 0, sizeof *out);
    ps.t = out;
    if (line)
        *line = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        struct cursor c = { p, nl ? nl : end };

        lineno++;
        r = one_line(&ps, &c);
        if (r != LEAPF_OK) {
            if (line)
                *line = lineno;
            return r;
        }
        p = nl ? nl + 1 : end;
    }
    if (!ps.have_update)
        return LEAPF_NO_UPDATE;
    if (!ps.have_expiry)
        return LEAPF_NO_EXPIRY;
    if (!ps.have_hash)
        return LEAPF_NO_HASH;
    if (out->n == 0)
        return LEAPF_NO_ENTRIES;
    if (out->expires <= out->updated)
        return LEAPF_BAD_EXPIRY;
    return sha1 ? verify(&ps, sha1) : LEAPF_OK;
}

/* ---- lookups --------------------------------------------------------------------- */

bool leap_table_expired(const struct leap_table *t, int64_t now)
{
    return now >= t->expires;
}

bool leap_table_expires_soon(const struct leap_table *t, int64_t now)
{
    return !leap_table_expired(t, now) && t->expires - now <= LEAP_EXPIRY_WARN_S;
}

int leap_table_tai(const struct leap_table *t, int64_t now)
{
    int tai = 0;

    for (int i = 0; i < t->n && t->e[i].when <= now; i++)
        tai = t->e[i].tai;
    return tai;
}

bool leap_table_next(const struct leap_table *t, int64_t now, int64_t *when, int *dir)
{
    for (int i = 1; i < t->n; i++) {
        if (t->e[i].when > now) {
            *when = t->e[i].when;
            *dir = t->e[i].tai - t->e[i - 1].tai;
            return true;
        }
    }
    return false;
}

bool leap_table_last(const struct leap_table *t, int64_t *when, int *dir)
{
    if (t->n < 2)
        return false;
    *when = t->e[t->n - 1].when;
    *dir = t->e[t->n - 1].tai - t->e[t->n - 2].tai;
    return true;
}

/* ---- modes and smearing ------------------------------------------------------------- */

static const char *const mode_names[] = { "system", "step", "slew", "ignore" };

const char *leap_mode_name(enum leap_mode m)
{
    return (unsigned)m < 4 ? mode_names[m] : "?";
}

int leap_mode_parse(const char *s)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(s, mode_names[i]) == 0)
            return i;
    }
    return -1;
}

double leap_smear_fraction(int64_t at, double interval_s, enum leap_smear_shape shape,
                           int64_t p_ns)
{
    if (!(interval_s > 0))
        return 0.0;
    double x = ((double)(p_ns - at * NS_PER_S) * 1e-9 + interval_s / 2) / interval_s;

    if (x <= 0.0)
        return 0.0;
    if (x >= 1.0)
        return 1.0;
    return shape == LEAP_SMEAR_COSINE ? (1.0 - cos(M_PI * x)) / 2.0 : x;
}

void leap_format_date(int64_t unix_s, char *buf, size_t cap)
{
    int y, m, d;

    leap_civil(unix_s, &y, &m, &d);
    snprintf(buf, cap, "%04d-%02d-%02d", y, m, d);
}

/* monitor/control: request parsing and the text/JSON views of the snapshots.
 *
 * Every byte goes through one bounded appender, so a short buffer only
 * ever truncates the output; it never overflows and is always
 * NUL-terminated. Snapshot strings are read with strnlen() bounded by their
 * array size, so a snapshot missing its terminator cannot run us off the
 * end either.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "monitor/control.h"
#include "monitor/metrics.h"
#include "core/leap.h"

/* ---- bounded appender ------------------------------------------------------ */

struct out {
    char *buf;
    size_t cap;
    size_t len;     /* bytes in buf, always < cap when cap > 0 */
};

static void out_init(struct out *o, char *buf, size_t cap)
{
    *o = (struct out){ .buf = buf, .cap = cap, .len = 0 };
    if (cap > 0)
        buf[0] = '\0';
}

static void out_mem(struct out *o, const char *s, size_t n)
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

static void out_str(struct out *o, const char *s)
{
    out_mem(o, s, strlen(s));
}

__attribute__((format(printf, 2, 3)))
static void out_printf(struct out *o, const char *fmt, ...)
{
    char tmp[512];      /* every formatted piece is short; strings that can
                           be long go through out_mem/out_json_str */
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    out_mem(o, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* ---- request --------------------------------------------------------------- */

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Next whitespace-separated word of line[*pos..len): sets *w and *wn. */
static bool next_word(const char *line, size_t len, size_t *pos,
                      const char **w, size_t *wn)
{
    size_t i = *pos, start;

    while (i < len && is_space(line[i]))
        i++;
    if (i == len)
        return false;
    start = i;
    while (i < len && !is_space(line[i]))
        i++;
    *w = line + start;
    *wn = i - start;
    *pos = i;
    return true;
}

static bool word_is(const char *w, size_t wn, const char *lit)
{
    return wn == strlen(lit) && memcmp(w, lit, wn) == 0;
}

static const char *const request_names[CTL_REQ__COUNT] = {
    [CTL_REQ_SOURCES] = "sources",
    [CTL_REQ_TRACKING] = "tracking",
    [CTL_REQ_SOURCESTATS] = "sourcestats",
    [CTL_REQ_SERVERSTATS] = "serverstats",
    [CTL_REQ_ACTIVITY] = "activity",
    [CTL_REQ_METRICS] = "metrics",
    [CTL_REQ_MAKESTEP] = "makestep",
    [CTL_REQ_OFFLINE] = "offline",
    [CTL_REQ_ONLINE] = "online",
    [CTL_REQ_CLIENTS] = "clients",
    [CTL_REQ_RELOAD] = "reload",
};

const char *ctl_request_name(enum ctl_request r)
{
    return (unsigned)r < CTL_REQ__COUNT ? request_names[r] : "unknown";
}

int ctl_parse_request(const char *line, size_t len, enum ctl_request *req,
                      enum ctl_format *fmt)
{
    const char *w;
    size_t wn, pos = 0;
    enum ctl_request r;
    enum ctl_format f = CTL_TEXT;

    if (line == NULL || !next_word(line, len, &pos, &w, &wn))
        return -1;
    for (r = 0; r < CTL_REQ__COUNT; r++)
        if (word_is(w, wn, request_names[r]))
            break;
    if (r == CTL_REQ__COUNT)
        return -1;
    if (next_word(line, len, &pos, &w, &wn)) {
        if (word_is(w, wn, "json"))
            f = CTL_JSON;
        else if (!word_is(w, wn, "text"))
            return -1;
        if (next_word(line, len, &pos, &w, &wn))
            return -1;      /* trailing garbage: refuse rather than guess */
    }
    *req = r;
    *fmt = f;
    return 0;
}

/* ---- JSON helpers ------------------------------------------------------------ */

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

/* A JSON string from at most max bytes of s. Names come from the config
 * file and may hold any byte: valid UTF-8 passes through, anything else
 * becomes U+FFFD so the document stays valid. */
static void out_json_str(struct out *o, const char *s, size_t max)
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

/* JSON has no NaN or infinity: a non-finite value becomes null. */
static void out_json_num(struct out *o, double v, bool valid)
{
    if (valid && isfinite(v))
        out_printf(o, "%.9f", v);
    else
        out_str(o, "null");
}

static void out_json_bool(struct out *o, bool b)
{
    out_str(o, b ? "true" : "false");
}

/* ---- sources ----------------------------------------------------------------- */

/* A duration in whole seconds squeezed into ntpq's 4-character column:
 * plain seconds up to 2048, then minutes, hours, days, years. */
static void fmt_interval(char *dst, size_t n, int64_t s)
{
    if (s <= 2048) {
        snprintf(dst, n, "%lld", (long long)s);
        return;
    }
    s = (s + 30) / 60;
    if (s <= 300) {
        snprintf(dst, n, "%lldm", (long long)s);
        return;
    }
    s = (s + 30) / 60;
    if (s <= 96) {
        snprintf(dst, n, "%lldh", (long long)s);
        return;
    }
    s = (s + 12) / 24;
    if (s <= 999)
        snprintf(dst, n, "%lldd", (long long)s);
    else
        snprintf(dst, n, "%lldy", (long long)((s + 182) / 365));
}

static void fmt_poll(char *dst, size_t n, int poll)
{
    if (poll < 0)
        snprintf(dst, n, "<1");
    else if (poll > 40)
        snprintf(dst, n, "-");  /* nonsense from a broken snapshot */
    else
        fmt_interval(dst, n, (int64_t)1 << poll);
}

/* Single-character tally marks only; anything else shows as blank. */
static char tally(char c)
{
    return strchr("*+-x#o.", c) != NULL && c != '\0' ? c : ' ';
}

/* ASCII refids (reference clocks, kiss codes) are shown between dots as
 * ntpq does; addresses and hashes always contain a dot already. */
static void fmt_refid(char *dst, size_t n, const char *refid, size_t max)
{
    size_t len = strnlen(refid, max);

    if (len > 0 && memchr(refid, '.', len) == NULL)
        snprintf(dst, n, ".%.*s.", (int)len, refid);
    else
        snprintf(dst, n, "%.*s", (int)len, refid);
}

static void fmt_ms(char *dst, size_t n, double s, bool valid, int width)
{
    if (valid && isfinite(s))
        snprintf(dst, n, "%*.3f", width, s * 1e3);
    else
        snprintf(dst, n, "%*s", width, "-");
}

/* The name as configured, else the address,
 * cut to the 15-character column like ntpq, with control bytes shown as
 * '?' so a strange config entry cannot send escapes to a terminal. */
static void fmt_remote(char *dst, size_t n, const struct report_source *s)
{
    const char *src = strnlen(s->name, sizeof(s->name)) > 0 ? s->name : s->address;
    size_t len = strnlen(src, 15), i;

    for (i = 0; i < len && i + 1 < n; i++)
        dst[i] = ((unsigned char)src[i] < 0x20 || src[i] == 0x7f) ? '?' : src[i];
    dst[i] = '\0';
}

static void text_source(struct out *o, const struct report_source *s)
{
    char remote[16], refid[48], when[16], poll[16], delay[24], offset[24], jitter[24];

    fmt_remote(remote, sizeof(remote), s);
    fmt_refid(refid, sizeof(refid), s->refid, sizeof(s->refid));
    if (s->last_ns < 0)
        snprintf(when, sizeof(when), "-");
    else
        fmt_interval(when, sizeof(when), s->last_ns / 1000000000);
    fmt_poll(poll, sizeof(poll), s->poll);
    fmt_ms(delay, sizeof(delay), s->delay_s, s->have_sample, 8);
    fmt_ms(offset, sizeof(offset), s->offset_s, s->have_sample, 9);
    fmt_ms(jitter, sizeof(jitter), s->jitter_s, s->have_sample, 8);
    out_printf(o, "%c%-15.15s %-15.15s %2d u %4s %4s  %03o %s %s %s\n",
               tally(s->state), remote,
               refid, s->stratum, when, poll, (unsigned)s->reach,
               delay, offset, jitter);
}

static void text_sources(struct out *o, const struct report_source *s, int n)
{
    out_str(o, "     remote           refid      st t when poll reach"
               "   delay    offset   jitter\n");
    out_str(o, "=================================================="
               "==============================\n");
    for (int i = 0; i < n; i++)
        text_source(o, &s[i]);
}

static void json_source(struct out *o, const struct report_source *s)
{
    char state[2] = { tally(s->state), '\0' };
    bool have_addr = strnlen(s->address, sizeof(s->address)) > 0;

    out_str(o, "{\"address\":");
    if (have_addr)
        out_json_str(o, s->address, sizeof(s->address));
    else
        out_json_str(o, s->name, sizeof(s->name));
    out_str(o, ",\"name\":");
    out_json_str(o, s->name, sizeof(s->name));
    out_str(o, ",\"state\":");
    out_json_str(o, state, sizeof(state));
    out_printf(o, ",\"stratum\":%d,\"refid\":", s->stratum);
    out_json_str(o, s->refid, sizeof(s->refid));
    out_printf(o, ",\"poll\":%d,\"reach\":%u,\"last_s\":", s->poll,
               (unsigned)s->reach);
    out_json_num(o, (double)s->last_ns / 1e9, s->last_ns >= 0);
    out_str(o, ",\"offset_s\":");
    out_json_num(o, s->offset_s, s->have_sample);
    out_str(o, ",\"delay_s\":");
    out_json_num(o, s->delay_s, s->have_sample);
    out_str(o, ",\"jitter_s\":");
    out_json_num(o, s->jitter_s, s->have_sample);
    out_str(o, ",\"pool\":");
    out_json_bool(o, s->pool);
    out_str(o, ",\"denied\":");
    out_json_bool(o, s->denied);
    out_str(o, "}");
}

static void json_sources(struct out *o, const struct report_source *s, int n)
{
    out_str(o, "[");
    for (int i = 0; i < n; i++) {
        out_str(o, i > 0 ? ",\n " : "\n ");
        json_source(o, &s[i]);
    }
    out_str(o, n > 0 ? "\n]\n" : "]\n");
}

size_t ctl_format_sources(const struct report_source *s, int n, enum ctl_format fmt,
                          char *buf, size_t cap)
{
    struct out o;

    out_init(&o, buf, cap);
    if (s == NULL || n < 0)
        n = 0;
    if (fmt == CTL_JSON)
        json_sources(&o, s, n);
    else
        text_sources(&o, s, n);
    return o.len;
}

/* ---- tracking ----------------------------------------------------------------- */

static const char *leap_json(int leap)
{
    switch (leap) {
    case 0: return "none";
    case 1: return "insert";
    case 2: return "delete";
    default: return "unsynchronised";
    }
}

static const char *leap_text(int leap)
{
    switch (leap) {
    case 0: return "Normal";
    case 1: return "Insert second";
    case 2: return "Delete second";
    default: return "Not synchronised";
    }
}

/* 2^p seconds without libm; p is a clock precision, a small negative. */
static double pow2(int p)
{
    double v = 1.0;

    if (p < -64 || p > 64)
        return NAN;
    for (; p < 0; p++)
        v /= 2.0;
    for (; p > 0; p--)
        v *= 2.0;
    return v;
}

static void text_reference(struct out *o, const struct report_tracking *t)
{
    size_t rn = strnlen(t->reference, sizeof(t->reference));
    size_t in = strnlen(t->refid, sizeof(t->refid));

    out_printf(o, "Reference ID    : %.*s", (int)(in > 0 ? in : 1),
               in > 0 ? t->refid : "-");
    if (rn > 0)
        out_printf(o, " (%.*s)", (int)rn, t->reference);
    out_str(o, "\n");
}

static const char *leap_dir_name(int dir)
{
    return dir > 0 ? "insert" : dir < 0 ? "delete" : "none";
}

/* The leap is at the end of the day before the midnight `next_leap`. */
static void text_leap(struct out *o, const struct report_tracking *t)
{
    char day[LEAP_DATE_LEN];

    out_printf(o, "Leap mode       : %s\n", t->leap_mode ? t->leap_mode : "system");
    if (t->next_leap > 0) {
        leap_format_date(t->next_leap - 1, day, sizeof(day));
        out_printf(o, "Next leap       : %s 23:59:%s (%s, from %s)\n", day,
                   t->next_leap_dir > 0 ? "60" : "59", leap_dir_name(t->next_leap_dir),
                   t->leap_source ? t->leap_source : "none");
    } else {
        out_str(o, "Next leap       : none known\n");
    }
    if (!t->have_leapfile) {
        out_str(o, "Leap file       : none\n");
        return;
    }
    leap_format_date(t->leapfile_expires, day, sizeof(day));
    out_printf(o, "Leap file       : expires %s%s\n", day,
               t->leapfile_expired ? " (EXPIRED: update tzdata)"
               : t->leapfile_expires_soon ? " (expires within 28 days)" : "");
}

static void json_leap(struct out *o, const struct report_tracking *t)
{
    char day[LEAP_DATE_LEN];

    out_str(o, ",\"leap_mode\":");
    out_json_str(o, t->leap_mode ? t->leap_mode : "system", 16);
    if (t->next_leap > 0) {
        leap_format_date(t->next_leap - 1, day, sizeof(day));
        out_printf(o, ",\"next_leap\":\"%s\",\"next_leap_type\":\"%s\"", day,
                   leap_dir_name(t->next_leap_dir));
    } else {
        out_str(o, ",\"next_leap\":null,\"next_leap_type\":null");
    }
    out_str(o, ",\"leap_source\":");
    out_json_str(o, t->leap_source ? t->leap_source : "none", 16);
    if (t->have_leapfile) {
        leap_format_date(t->leapfile_expires, day, sizeof(day));
        out_printf(o, ",\"leapfile_expires\":\"%s\"", day);
    } else {
        out_str(o, ",\"leapfile_expires\":null");
    }
    out_str(o, ",\"leapfile_expired\":");
    out_json_bool(o, t->have_leapfile && t->leapfile_expired);
    out_str(o, ",\"leapfile_expires_soon\":");
    out_json_bool(o, t->have_leapfile && t->leapfile_expires_soon);
}

static void text_tracking(struct out *o, const struct report_tracking *t)
{
    text_reference(o, t);
    out_printf(o, "Stratum         : %d\n", t->stratum);
    out_printf(o, "Synchronised    : %s\n", t->synchronised ? "yes" : "no");
    out_printf(o, "System offset   : %+.9f seconds\n", t->offset_s);
    out_printf(o, "Frequency       : %+.3f ppm\n", t->frequency_ppm);
    out_printf(o, "Residual freq   : %+.3f ppm\n", t->residual_freq_ppm);
    out_printf(o, "Root delay      : %.9f seconds\n", t->root_delay_s);
    out_printf(o, "Root dispersion : %.9f seconds\n", t->root_dispersion_s);
    out_printf(o, "Jitter          : %.9f seconds\n", t->jitter_s);
    out_printf(o, "Leap status     : %s\n", leap_text(t->leap));
    out_printf(o, "State           : %s\n", t->state != NULL ? t->state : "unknown");
    out_printf(o, "Alarm           : %s\n",
               t->alarm ? "yes (offset past the panic threshold, not steering)" : "no");
    out_printf(o, "Clock control   : %s\n", t->clock_control ? "enabled" : "disabled");
    if (t->update_age_ns >= 0)
        out_printf(o, "Last update     : %.1f seconds ago\n",
                   (double)t->update_age_ns / 1e9);
    else
        out_str(o, "Last update     : never\n");
    out_printf(o, "Precision       : %d (%.9f seconds)\n", t->precision,
               pow2(t->precision));
    out_printf(o, "Clock steps     : %llu\n", (unsigned long long)t->steps);
    text_leap(o, t);
}

static void json_tracking(struct out *o, const struct report_tracking *t)
{
    out_str(o, "{\"synchronised\":");
    out_json_bool(o, t->synchronised);
    out_printf(o, ",\"stratum\":%d,\"reference\":", t->stratum);
    out_json_str(o, t->reference, sizeof(t->reference));
    out_str(o, ",\"refid\":");
    out_json_str(o, t->refid, sizeof(t->refid));
    out_str(o, ",\"offset_s\":");
    out_json_num(o, t->offset_s, true);
    out_str(o, ",\"frequency_ppm\":");
    out_json_num(o, t->frequency_ppm, true);
    out_str(o, ",\"residual_freq_ppm\":");
    out_json_num(o, t->residual_freq_ppm, true);
    out_str(o, ",\"root_delay_s\":");
    out_json_num(o, t->root_delay_s, true);
    out_str(o, ",\"root_dispersion_s\":");
    out_json_num(o, t->root_dispersion_s, true);
    out_str(o, ",\"jitter_s\":");
    out_json_num(o, t->jitter_s, true);
    out_printf(o, ",\"leap\":\"%s\",\"state\":", leap_json(t->leap));
    out_json_str(o, t->state != NULL ? t->state : "unknown", 64);
    out_str(o, ",\"alarm\":");
    out_json_bool(o, t->alarm);
    out_str(o, ",\"clock_control\":");
    out_json_bool(o, t->clock_control);
    out_str(o, ",\"last_update_s\":");
    out_json_num(o, (double)t->update_age_ns / 1e9, t->update_age_ns >= 0);
    out_printf(o, ",\"precision\":%d,\"steps\":%llu", t->precision,
               (unsigned long long)t->steps);
    json_leap(o, t);
    out_str(o, "}\n");
}

size_t ctl_format_tracking(const struct report_tracking *t, enum ctl_format fmt,
                           char *buf, size_t cap)
{
    struct out o;

    out_init(&o, buf, cap);
    if (t == NULL)
        return 0;
    if (fmt == CTL_JSON)
        json_tracking(&o, t);
    else
        text_tracking(&o, t);
    return o.len;
}

/* ---- sourcestats ---------------------------------------------------------------- */

static void text_sourcestat(struct out *o, const struct report_sourcestat *s)
{
    struct report_source tmp;
    char remote[16];

    memset(&tmp, 0, sizeof(tmp));
    memcpy(tmp.name, s->name, sizeof(tmp.name));
    memcpy(tmp.address, s->address, sizeof(tmp.address));
    tmp.name[sizeof(tmp.name) - 1] = tmp.address[sizeof(tmp.address) - 1] = '\0';
    fmt_remote(remote, sizeof(remote), &tmp);
    if (!s->valid) {
        out_printf(o, "%-15.15s %4d %4d %11s %10s %11s %10s\n", remote, s->samples,
                   s->used, "-", "-", "-", "-");
        return;
    }
    out_printf(o, "%-15.15s %4d %4d %+11.3f %10.3f %+11.6f %10.6f\n", remote,
               s->samples, s->used, s->freq_ppm, s->freq_sd_ppm,
               s->offset_s * 1e3, s->offset_sd_s * 1e3);
}

static void json_sourcestat(struct out *o, const struct report_sourcestat *s)
{
    bool have_addr = strnlen(s->address, sizeof(s->address)) > 0;

    out_str(o, "{\"address\":");
    if (have_addr)
        out_json_str(o, s->address, sizeof(s->address));
    else
        out_json_str(o, s->name, sizeof(s->name));
    out_str(o, ",\"name\":");
    out_json_str(o, s->name, sizeof(s->name));
    out_printf(o, ",\"samples\":%d,\"used\":%d,\"freq_ppm\":", s->samples, s->used);
    out_json_num(o, s->freq_ppm, s->valid);
    out_str(o, ",\"freq_sd_ppm\":");
    out_json_num(o, s->freq_sd_ppm, s->valid);
    out_str(o, ",\"offset_s\":");
    out_json_num(o, s->offset_s, s->valid);
    out_str(o, ",\"offset_sd_s\":");
    out_json_num(o, s->offset_sd_s, s->valid);
    out_str(o, ",\"jitter_s\":");
    out_json_num(o, s->jitter_s, s->valid);
    out_str(o, "}");
}

size_t ctl_format_sourcestats(const struct report_sourcestat *s, int n,
                              enum ctl_format fmt, char *buf, size_t cap)
{
    struct out o;

    out_init(&o, buf, cap);
    if (s == NULL || n < 0)
        n = 0;
    if (fmt == CTL_JSON) {
        out_str(&o, "[");
        for (int i = 0; i < n; i++) {
            out_str(&o, i > 0 ? ",\n " : "\n ");
            json_sourcestat(&o, &s[i]);
        }
        out_str(&o, n > 0 ? "\n]\n" : "]\n");
        return o.len;
    }
    out_str(&o, "     remote      smpl used   freq(ppm)  fsd(ppm) offset(ms)  osd(ms)\n");
    out_str(&o, "=====================================================================\n");
    for (int i = 0; i < n; i++)
        text_sourcestat(&o, &s[i]);
    return o.len;
}

/* ---- serverstats ------------------------------------------------------------------- */

/* Counter names come from the daemon's own tables; still, only
 * [a-z0-9_] reach the output so a name can never break JSON or
 * Prometheus syntax. */
static void out_ident(struct out *o, const char *name)
{
    for (size_t i = 0; name != NULL && name[i] != '\0' && i < 64; i++) {
        char c = name[i];

        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            c = '_';
        out_mem(o, &c, 1);
    }
}

static int clamp_n(int n)
{
    return n < 0 ? 0 : n > REPORT_MAX_COUNTERS ? REPORT_MAX_COUNTERS : n;
}

static void json_counters(struct out *o, const struct report_counter *c, int n)
{
    out_str(o, "{");
    for (int i = 0; i < clamp_n(n); i++) {
        out_str(o, i > 0 ? ",\"" : "\"");
        out_ident(o, c[i].name);
        out_printf(o, "\":%llu", (unsigned long long)c[i].value);
    }
    out_str(o, "}");
}

/* "PREFIX name      : value", the name column padded like the others. */
static void text_counter(struct out *o, const char *prefix, const struct report_counter *c)
{
    char label[96];
    struct out l;

    l = (struct out){ .buf = label, .cap = sizeof(label) };
    label[0] = '\0';
    out_str(&l, prefix);
    out_ident(&l, c->name);
    out_printf(o, "%-32s: %llu\n", label, (unsigned long long)c->value);
}

size_t ctl_format_serverstats(const struct report_serverstats *s, enum ctl_format fmt,
                              char *buf, size_t cap)
{
    struct out o;

    out_init(&o, buf, cap);
    if (s == NULL)
        return 0;
    if (fmt == CTL_JSON) {
        out_printf(&o, "{\"received\":%llu,\"replied\":%llu,\"dropped\":",
                   (unsigned long long)s->received, (unsigned long long)s->replied);
        json_counters(&o, s->dropped, s->n_dropped);
        out_printf(&o, ",\"truncated\":%llu,\"send_errors\":%llu,"
                   "\"mode6\":{\"requests\":%llu,\"answered\":%llu,\"errors\":%llu,"
                   "\"authenticated\":%llu,\"auth_failed\":%llu,\"dropped\":",
                   (unsigned long long)s->truncated, (unsigned long long)s->send_errors,
                   (unsigned long long)s->mode6_requests,
                   (unsigned long long)s->mode6_answered,
                   (unsigned long long)s->mode6_errors,
                   (unsigned long long)s->mode6_authenticated,
                   (unsigned long long)s->mode6_auth_failed);
        json_counters(&o, s->mode6_dropped, s->n_mode6_dropped);
        out_str(&o, "}}\n");
        return o.len;
    }
    out_printf(&o, "%-32s: %llu\n", "NTP requests received", (unsigned long long)s->received);
    out_printf(&o, "%-32s: %llu\n", "NTP replies sent", (unsigned long long)s->replied);
    for (int i = 0; i < clamp_n(s->n_dropped); i++) {
        text_counter(&o, "Dropped ", &s->dropped[i]);
    }
    out_printf(&o, "%-32s: %llu\n", "Truncated datagrams", (unsigned long long)s->truncated);
    out_printf(&o, "%-32s: %llu\n", "Send errors", (unsigned long long)s->send_errors);
    out_printf(&o, "%-32s: %llu\n", "Mode 6 requests", (unsigned long long)s->mode6_requests);
    out_printf(&o, "%-32s: %llu\n", "Mode 6 answered", (unsigned long long)s->mode6_answered);
    out_printf(&o, "%-32s: %llu\n", "Mode 6 error replies", (unsigned long long)s->mode6_errors);
    out_printf(&o, "%-32s: %llu\n", "Mode 6 authenticated",
               (unsigned long long)s->mode6_authenticated);
    out_printf(&o, "%-32s: %llu\n", "Mode 6 authentication failed",
               (unsigned long long)s->mode6_auth_failed);
    for (int i = 0; i < clamp_n(s->n_mode6_dropped); i++) {
        text_counter(&o, "Mode 6 dropped ", &s->mode6_dropped[i]);
    }
    return o.len;
}

/* ---- activity ------------------------------------------------------------------------- */

size_t ctl_format_activity(const struct report_activity *a, enum ctl_format fmt,
                           char *buf, size_t cap)
{
    struct out o;

    out_init(&o, buf, cap);
    if (a == NULL)
        return 0;
    if (fmt == CTL_JSON) {
        out_printf(&o, "{\"online\":%d,\"offline\":%d,\"unresolved\":%d,\"denied\":%d}\n",
                   a->online, a->offline, a->unresolved, a->denied);
        return o.len;
    }
    out_printf(&o, "%d sources online\n", a->online);
    out_printf(&o, "%d sources offline\n", a->offline);
    out_printf(&o, "%d sources with unknown address\n", a->unresolved);
    out_printf(&o, "%d sources denied (KoD)\n", a->denied);
    return o.len;
}

/* ---- clients ------------------------------------------------------------------------------ */

static void json_client(struct out *o, const struct report_client_entry *c)
{
    out_str(o, "{\"address\":");
    out_json_str(o, c->address, sizeof(c->address));
    out_printf(o, ",\"count\":%u,\"excess\":%u,\"last_s\":", c->count, c->excess);
    out_json_num(o, (double)c->last_ago_ns / 1e9, true);
    out_str(o, ",\"last_kod_s\":");
    out_json_num(o, (double)c->kod_ago_ns / 1e9, c->kod_ago_ns >= 0);
    out_str(o, "}");
}

static void json_clients(struct out *o, const struct report_clients *cl)
{
    out_printf(o, "{\"used\":%zu,\"capacity\":%zu,\"checked\":%llu,\"passed\":%llu,"
               "\"excess\":%llu,\"leaked\":%llu,\"kod\":%llu,\"dropped\":%llu,"
               "\"evicted\":%llu,\"clients\":[", cl->used, cl->capacity,
               (unsigned long long)cl->checked, (unsigned long long)cl->passed,
               (unsigned long long)cl->excess, (unsigned long long)cl->leaked,
               (unsigned long long)cl->kod, (unsigned long long)cl->dropped,
               (unsigned long long)cl->evicted);
    for (int i = 0; i < cl->n; i++) {
        if (i)
            out_str(o, ",");
        json_client(o, &cl->c[i]);
    }
    out_str(o, "]}\n");
}

size_t ctl_format_clients(const struct report_clients *cl, enum ctl_format fmt,
                          char *buf, size_t cap)
{
    struct out o;

    out_init(&o, buf, cap);
    if (cl == NULL)
        return 0;
    if (fmt == CTL_JSON) {
        json_clients(&o, cl);
        return o.len;
    }
    out_printf(&o, "%zu of %zu client entries in use; %llu checked, %llu over the limit "
               "(%llu answered by leak, %llu KoD, %llu dropped)\n", cl->used, cl->capacity,
               (unsigned long long)cl->checked, (unsigned long long)cl->excess,
               (unsigned long long)cl->leaked, (unsigned long long)cl->kod,
               (unsigned long long)cl->dropped);
    out_str(&o, "Address                                   Packets   Excess    Last  LastKoD\n");
    for (int i = 0; i < cl->n; i++) {
        const struct report_client_entry *c = &cl->c[i];
        char kod[24];

        if (c->kod_ago_ns >= 0)
            snprintf(kod, sizeof(kod), "%.0f", (double)c->kod_ago_ns / 1e9);
        else
            snprintf(kod, sizeof(kod), "-");
        out_printf(&o, "%-40.*s %8u %8u %7.0f %8s\n",
                   (int)strnlen(c->address, sizeof(c->address)), c->address, c->count,
                   c->excess, (double)c->last_ago_ns / 1e9, kod);
    }
    return o.len;
}

/* ---- metrics ---------------------------------------------------------------------------- */

/* A float sample value: Prometheus accepts NaN, which says "unknown". */
static void prom_value(struct out *o, double v, bool valid)
{
    if (valid && isfinite(v))
        out_printf(o, " %.9g\n", v);
    else
        out_str(o, " NaN\n");
}

static void prom_head(struct out *o, const char *name, const char *type, const char *help)
{
    out_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void prom_gauge(struct out *o, const char *name, const char *help, double v,
                       bool valid)
{
    prom_head(o, name, "gauge", help);
    out_str(o, name);
    prom_value(o, v, valid);
}

/* Label value: Prometheus escapes backslash, double quote and newline;
 * other control bytes are replaced so the line stays one line. */
static void prom_label(struct out *o, const char *s, size_t max)
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

static void prom_source_label(struct out *o, const struct report_source *s)
{
    bool have_addr = strnlen(s->address, sizeof(s->address)) > 0;

    /* bound each array by its own size: an unterminated address must not
     * run on into the fields after it */
    out_str(o, "{source=");
    if (have_addr)
        prom_label(o, s->address, sizeof(s->address));
    else
        prom_label(o, s->name, sizeof(s->name));
    out_str(o, ",name=");
    prom_label(o, s->name, sizeof(s->name));
    out_str(o, "}");
}

static void prom_counters(struct out *o, const char *name, const char *help,
                          const struct report_counter *c, int n)
{
    prom_head(o, name, "counter", help);
    for (int i = 0; i < clamp_n(n); i++) {
        out_printf(o, "%s{reason=\"", name);
        out_ident(o, c[i].name);
        out_printf(o, "\"} %llu\n", (unsigned long long)c[i].value);
    }
}

/* Drop a trailing newline (the pieces of a combined JSON document). */
static void trim_nl(struct out *o)
{
    if (o->len > 0 && o->buf[o->len - 1] == '\n')
        o->buf[--o->len] = '\0';
}

size_t metrics_format(const struct report_tracking *t, const struct report_source *s,
                          int n, const struct report_serverstats *ss,
                          enum ctl_format fmt, char *buf, size_t cap)
{
    struct out o;
    static const char *const src_metric[4][2] = {
        { "chime_source_reach", "Reachability register of the source (0-255)" },
        { "chime_source_offset_seconds", "Estimated offset of the source (server - local)" },
        { "chime_source_delay_seconds", "Round-trip delay to the source" },
        { "chime_source_stratum", "Stratum the source announces" },
    };

    out_init(&o, buf, cap);
    if (t == NULL || ss == NULL)
        return 0;
    if (s == NULL || n < 0)
        n = 0;
    if (fmt == CTL_JSON) {
        out_str(&o, "{\"tracking\":");
        json_tracking(&o, t);
        trim_nl(&o);
        out_str(&o, ",\"sources\":");
        json_sources(&o, s, n);
        trim_nl(&o);
        out_str(&o, ",\"server\":");
        if (o.cap > 0) {
            ctl_format_serverstats(ss, CTL_JSON, o.buf + o.len, o.cap - o.len);
            o.len += strnlen(o.buf + o.len, o.cap - o.len);
        }
        trim_nl(&o);
        out_str(&o, "}\n");
        return o.len;
    }
    prom_gauge(&o, "chime_synchronised", "1 when the clock is synchronised to a source",
               t->synchronised ? 1 : 0, true);
    prom_gauge(&o, "chime_stratum", "Stratum chimed serves (16: unsynchronised)",
               t->stratum, true);
    prom_gauge(&o, "chime_offset_seconds", "Last system offset estimate", t->offset_s, true);
    prom_gauge(&o, "chime_frequency_ppm", "Frequency correction in force",
               t->frequency_ppm, true);
    prom_gauge(&o, "chime_residual_frequency_ppm", "Frequency still to learn",
               t->residual_freq_ppm, true);
    prom_gauge(&o, "chime_jitter_seconds", "System jitter", t->jitter_s, true);
    prom_gauge(&o, "chime_root_delay_seconds", "Root delay", t->root_delay_s, true);
    prom_gauge(&o, "chime_root_dispersion_seconds", "Root dispersion",
               t->root_dispersion_s, true);
    prom_gauge(&o, "chime_root_distance_seconds",
               "Root distance: root delay / 2 + root dispersion",
               t->root_delay_s / 2 + t->root_dispersion_s, true);
    prom_gauge(&o, "chime_leap_status",
               "Leap indicator: 0 none, 1 insert, 2 delete, 3 unsynchronised",
               t->leap & 3, true);
    prom_head(&o, "chime_clock_steps_total", "counter", "Clock steps commanded");
    out_printf(&o, "chime_clock_steps_total %llu\n", (unsigned long long)t->steps);
    for (int m = 0; m < 4; m++) {
        prom_head(&o, src_metric[m][0], "gauge", src_metric[m][1]);
        for (int i = 0; i < n; i++) {
            double v;
            bool valid = true;

            switch (m) {
            case 0: v = s[i].reach; break;
            case 1: v = s[i].offset_s; valid = s[i].have_sample; break;
            case 2: v = s[i].delay_s; valid = s[i].have_sample; break;
            default: v = s[i].stratum; break;
            }
            out_str(&o, src_metric[m][0]);
            prom_source_label(&o, &s[i]);
            prom_value(&o, v, valid);
        }
    }
    prom_head(&o, "chime_server_requests_total", "counter", "NTP requests received");
    out_printf(&o, "chime_server_requests_total %llu\n", (unsigned long long)ss->received);
    prom_head(&o, "chime_server_replies_total", "counter", "NTP replies sent");
    out_printf(&o, "chime_server_replies_total %llu\n", (unsigned long long)ss->replied);
    prom_counters(&o, "chime_server_dropped_total", "Requests dropped, by reason",
                  ss->dropped, ss->n_dropped);
    prom_head(&o, "chime_mode6_requests_total", "counter", "Mode 6 (ntpq) requests");
    out_printf(&o, "chime_mode6_requests_total %llu\n",
               (unsigned long long)ss->mode6_requests);
    prom_counters(&o, "chime_mode6_dropped_total", "Mode 6 requests dropped, by reason",
                  ss->mode6_dropped, ss->n_mode6_dropped);
    prom_head(&o, "chime_mode6_auth_total", "counter",
              "Mode 6 requests with a MAC, by outcome (controlkey)");
    out_printf(&o, "chime_mode6_auth_total{result=\"ok\"} %llu\n",
               (unsigned long long)ss->mode6_authenticated);
    out_printf(&o, "chime_mode6_auth_total{result=\"failed\"} %llu\n",
               (unsigned long long)ss->mode6_auth_failed);
    return o.len;
}

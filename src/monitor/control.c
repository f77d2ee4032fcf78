/* monitor/control: request parsing and the chimectl views of the reports.
 *
 * JSON and key:value text come from each report's field table
 * (monitor/schema.c); the column tables (sources like ntpq -p,
 * sourcestats, clients) keep their hand-set layout here. Everything is
 * written through monitor/out, so a short buffer only truncates. Snapshot
 * strings are read with strnlen() bounded by their array size, so a
 * snapshot missing its terminator cannot run us off the end either.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "monitor/control.h"
#include "monitor/out.h"
#include "monitor/schema.h"

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
    out_printf(o, "%c%-15.15s %-15.15s %2d %c %4s %4s  %03o %s %s %s",
               schema_tally(s->state), remote,
               refid, s->stratum, s->refclock ? 'l' : s->peer ? 's' : 'u', when, poll, (unsigned)s->reach,
               delay, offset, jitter);
    /* after ntpq's columns, so the table stays what ntpq users parse */
    if (s->nts)
        out_printf(o, "  nts %d", s->nts_cookies);
    out_str(o, "\n");
}

static void text_sources(struct out *o, const void *recs, int n)
{
    const struct report_source *s = recs;

    out_str(o, "     remote           refid      st t when poll reach"
               "   delay    offset   jitter\n");
    out_str(o, "=================================================="
               "==============================\n");
    for (int i = 0; i < n; i++)
        text_source(o, &s[i]);
    for (int i = 0; i < n; i++) {
        if (!s[i].refclock)
            continue;
        out_printf(o, "  %s: %llu samples, %llu refused%s%s\n", s[i].name,
                   (unsigned long long)s[i].rc_samples, (unsigned long long)s[i].rc_refused,
                   s[i].rc_error[0] ? "; last: " : "", s[i].rc_error);
    }
}

/* ---- the two shapes of a view ------------------------------------------------- */

typedef void list_text_fn(struct out *o, const void *recs, int n);

/* A list of snapshots: JSON from the table, text in the view's columns. */
static size_t format_list(const struct field_table *t, const void *recs, int n,
                          size_t stride, list_text_fn *text, enum ctl_format fmt,
                          char *buf, size_t cap)
{
    struct out o;

    out_init(&o, buf, cap);
    if (recs == NULL || n < 0)
        n = 0;
    if (fmt == CTL_JSON) {
        field_json_list(&o, t, recs, n, stride);
        out_str(&o, "\n");
    } else {
        text(&o, recs, n);
    }
    return o.len;
}

/* One snapshot: JSON from the table, text as its key:value lines unless
 * the view has a layout of its own. */
static size_t format_object(const struct field_table *t, const void *rec,
                            field_text_fn *text, enum ctl_format fmt, char *buf, size_t cap)
{
    struct out o;

    out_init(&o, buf, cap);
    if (rec == NULL)
        return 0;
    if (fmt == CTL_JSON) {
        field_json_object(&o, t, rec);
        out_str(&o, "\n");
    } else if (text != NULL) {
        text(&o, rec);
    } else {
        field_text(&o, t, rec);
    }
    return o.len;
}

size_t ctl_format_sources(const struct report_source *s, int n, enum ctl_format fmt,
                          char *buf, size_t cap)
{
    return format_list(&schema_source, s, n, sizeof(*s), text_sources, fmt, buf, cap);
}

/* ---- tracking ----------------------------------------------------------------- */

size_t ctl_format_tracking(const struct report_tracking *t, enum ctl_format fmt,
                           char *buf, size_t cap)
{
    return format_object(&schema_tracking, t, NULL, fmt, buf, cap);
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

static void text_sourcestats(struct out *o, const void *recs, int n)
{
    const struct report_sourcestat *s = recs;

    out_str(o, "     remote      smpl used   freq(ppm)  fsd(ppm) offset(ms)  osd(ms)\n");
    out_str(o, "=====================================================================\n");
    for (int i = 0; i < n; i++)
        text_sourcestat(o, &s[i]);
}

size_t ctl_format_sourcestats(const struct report_sourcestat *s, int n,
                              enum ctl_format fmt, char *buf, size_t cap)
{
    return format_list(&schema_sourcestat, s, n, sizeof(*s), text_sourcestats, fmt,
                       buf, cap);
}

/* ---- serverstats, activity: key:value views ---------------------------------------- */

size_t ctl_format_serverstats(const struct report_serverstats *s, enum ctl_format fmt,
                              char *buf, size_t cap)
{
    return format_object(&schema_serverstats, s, NULL, fmt, buf, cap);
}

size_t ctl_format_activity(const struct report_activity *a, enum ctl_format fmt,
                           char *buf, size_t cap)
{
    return format_object(&schema_activity, a, NULL, fmt, buf, cap);
}

/* ---- clients ------------------------------------------------------------------------------ */

static void text_clients(struct out *o, const void *rec)
{
    const struct report_clients *cl = rec;

    out_printf(o, "%zu of %zu client entries in use; %llu checked, %llu over the limit "
               "(%llu answered by leak, %llu KoD, %llu dropped)\n", cl->used, cl->capacity,
               (unsigned long long)cl->checked, (unsigned long long)cl->excess,
               (unsigned long long)cl->leaked, (unsigned long long)cl->kod,
               (unsigned long long)cl->dropped);
    out_str(o, "Address                                   Packets   Excess    Last  LastKoD\n");
    for (int i = 0; i < cl->n; i++) {
        const struct report_client_entry *c = &cl->c[i];
        char kod[24];

        if (c->kod_ago_ns >= 0)
            snprintf(kod, sizeof(kod), "%.0f", (double)c->kod_ago_ns / 1e9);
        else
            snprintf(kod, sizeof(kod), "-");
        out_printf(o, "%-40.*s %8u %8u %7.0f %8s\n",
                   (int)strnlen(c->address, sizeof(c->address)), c->address, c->count,
                   c->excess, (double)c->last_ago_ns / 1e9, kod);
    }
}

size_t ctl_format_clients(const struct report_clients *cl, enum ctl_format fmt,
                          char *buf, size_t cap)
{
    return format_object(&schema_clients, cl, text_clients, fmt, buf, cap);
}

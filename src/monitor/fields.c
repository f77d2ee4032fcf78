/* monitor/fields: the emitters that walk a report's field table.
 *
 * Everything is written through monitor/out, so a short buffer truncates
 * and never overflows. Scalars are read by type at the row's offset; the
 * F_* macros in fields.h check at compile time that the type matches.
 */
#include "monitor/fields.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- reading ------------------------------------------------------------------ */

static void read_scalar(const struct field *f, const char *p, struct field_val *v)
{
    switch (f->type) {
    case FT_INT:
    case FT_ENUM:   v->type = FV_INT; v->i = *(const int *)p; break;
    case FT_U8:     v->type = FV_UINT; v->u = *(const uint8_t *)p; break;
    case FT_U32:    v->type = FV_UINT; v->u = *(const uint32_t *)p; break;
    case FT_U64:    v->type = FV_UINT; v->u = *(const uint64_t *)p; break;
    case FT_SIZE:   v->type = FV_UINT; v->u = *(const size_t *)p; break;
    case FT_DOUBLE: v->type = FV_DOUBLE; v->d = *(const double *)p; break;
    case FT_BOOL:   v->type = FV_BOOL; v->b = *(const bool *)p; break;
    case FT_CHAR:
        v->type = FV_STR;
        v->tmp[0] = *p;
        v->s = v->tmp;
        v->max = 1;
        break;
    case FT_STR:    v->type = FV_STR; v->s = p; v->max = f->size; break;
    case FT_CSTR:
        v->type = FV_STR;
        v->s = *(const char *const *)p != NULL ? *(const char *const *)p : f->dflt;
        v->max = f->size;
        break;
    case FT_NS:
    case FT_NS_OPT:
        v->type = FV_DOUBLE;
        v->d = (double)*(const int64_t *)p / 1e9;
        v->valid = f->type == FT_NS || *(const int64_t *)p >= 0;
        break;
    default:        v->type = FV_UINT; break;     /* compound: not a scalar */
    }
}

void field_read(const struct field *f, const void *rec, struct field_val *v)
{
    memset(v, 0, sizeof(*v));
    v->valid = true;
    if (f->get != NULL)
        f->get(rec, v);
    else
        read_scalar(f, (const char *)rec + f->off, v);
    if (f->gate != 0)
        v->valid = v->valid && *((const bool *)((const char *)rec + f->gate - 1));
}

/* An enumeration's name; anything out of range is the last one. */
static const char *enum_name(const char *const *names, int64_t i)
{
    int64_t n = 0;

    while (names[n] != NULL)
        n++;
    return i >= 0 && i < n ? names[i] : names[n - 1];
}

static int clamp_count(const struct field *f, const void *rec)
{
    int n = *(const int *)((const char *)rec + f->count);

    return n < 0 ? 0 : (size_t)n > f->size ? (int)f->size : n;
}

static const struct report_counter *counters(const struct field *f, const void *rec)
{
    return (const struct report_counter *)((const char *)rec + f->off);
}

/* ---- JSON ----------------------------------------------------------------------- */

static void json_counters(struct out *o, const struct field *f, const void *rec)
{
    const struct report_counter *c = counters(f, rec);

    out_str(o, "{");
    for (int i = 0; i < clamp_count(f, rec); i++) {
        out_str(o, i > 0 ? ",\"" : "\"");
        out_ident(o, c[i].name);
        out_printf(o, "\":%llu", (unsigned long long)c[i].value);
    }
    out_str(o, "}");
}

/* An inline list of nested objects: [{..},{..}]. */
static void json_array(struct out *o, const struct field *f, const void *rec)
{
    const char *elem = *(const char *const *)((const char *)rec + f->off);
    int n = elem != NULL ? *(const int *)((const char *)rec + f->count) : 0;

    out_str(o, "[");
    for (int i = 0; i < n; i++) {
        if (i > 0)
            out_str(o, ",");
        field_json_object(o, f->sub, elem + (size_t)i * f->size);
    }
    out_str(o, "]");
}

static void json_scalar(struct out *o, const struct field *f, const struct field_val *v)
{
    if (v->type == FV_DOUBLE) {
        out_json_num(o, v->d, v->valid);
        return;
    }
    if (!v->valid) {
        out_str(o, "null");
        return;
    }
    switch (v->type) {
    case FV_INT:
        if (f->names != NULL)
            out_json_str(o, enum_name(f->names, v->i), 64);
        else
            out_printf(o, "%lld", (long long)v->i);
        break;
    case FV_UINT: out_printf(o, "%llu", (unsigned long long)v->u); break;
    case FV_BOOL: out_json_bool(o, v->b); break;
    default:      out_json_str(o, v->s, v->max); break;
    }
}

static void json_value(struct out *o, const struct field *f, const void *rec)
{
    struct field_val v;

    switch (f->type) {
    case FT_COUNTERS: json_counters(o, f, rec); return;
    case FT_OBJECT:   field_json_object(o, f->sub, rec); return;
    case FT_ARRAY:    json_array(o, f, rec); return;
    default:
        field_read(f, rec, &v);
        json_scalar(o, f, &v);
    }
}

void field_json_object(struct out *o, const struct field_table *t, const void *rec)
{
    bool first = true;

    out_str(o, "{");
    for (size_t i = 0; i < t->n; i++) {
        const struct field *f = &t->f[i];

        if (f->no_json)
            continue;
        out_str(o, first ? "\"" : ",\"");
        out_str(o, f->name);
        out_str(o, "\":");
        json_value(o, f, rec);
        first = false;
    }
    out_str(o, "}");
}

void field_json_list(struct out *o, const struct field_table *t, const void *recs,
                     int n, size_t stride)
{
    out_str(o, "[");
    for (int i = 0; i < n; i++) {
        out_str(o, i > 0 ? ",\n " : "\n ");
        field_json_object(o, t, (const char *)recs + (size_t)i * stride);
    }
    out_str(o, n > 0 ? "\n]" : "]");
}

/* ---- Prometheus ------------------------------------------------------------------ */

static const struct field *at_seq(const struct field_table *t, int seq, bool prom)
{
    for (size_t i = 0; seq > 0 && i < t->n; i++)
        if ((prom ? t->f[i].prom_seq : t->f[i].text_seq) == seq)
            return &t->f[i];
    return NULL;
}

const struct field *field_prom_at(const struct field_table *t, int seq)
{
    return at_seq(t, seq, true);
}

const struct field *field_text_at(const struct field_table *t, int seq)
{
    return at_seq(t, seq, false);
}

static const char *unit_name(enum field_unit u)
{
    return u == FU_SECONDS ? "_seconds" : u == FU_PPM ? "_ppm" : "";
}

void field_prom_name(const struct field_table *t, const struct field *f,
                     char *buf, size_t cap)
{
    snprintf(buf, cap, "chime_%s%s%s%s", t->prom_prefix, f->prom != NULL ? f->prom : "",
             unit_name(f->unit), f->kind == FK_COUNTER ? "_total" : "");
}

/* A gauge is a float (NaN says "unknown"); a counter an integer. */
static void prom_value(struct out *o, const struct field *f, const struct field_val *v)
{
    double d = v->type == FV_DOUBLE ? v->d : v->type == FV_BOOL ? (v->b ? 1 : 0)
               : v->type == FV_INT ? (double)v->i : (double)v->u;

    if (f->kind == FK_COUNTER)
        out_printf(o, " %llu\n", v->type == FV_INT ? (unsigned long long)v->i
                                                   : (unsigned long long)v->u);
    else if (v->valid && isfinite(d))
        out_printf(o, " %.9g\n", d);
    else
        out_str(o, " NaN\n");
}

/* One sample a reason: name{reason="too_short"} 3. */
static void prom_counters(struct out *o, const struct field *f, const char *name,
                          const void *rec)
{
    const struct report_counter *c = counters(f, rec);

    for (int i = 0; i < clamp_count(f, rec); i++) {
        out_printf(o, "%s{reason=\"", name);
        out_ident(o, c[i].name);
        out_printf(o, "\"} %llu\n", (unsigned long long)c[i].value);
    }
}

static void prom_sample(struct out *o, const struct field_table *t, const struct field *f,
                        const char *name, const void *rec)
{
    struct field_val v;

    if (f->type == FT_COUNTERS) {
        prom_counters(o, f, name, rec);
        return;
    }
    out_str(o, name);
    if (t->prom_labels != NULL) {
        t->prom_labels(o, rec);
    } else if (f->prom_label != NULL) {
        out_str(o, "{");
        out_str(o, f->prom_label);
        out_str(o, "}");
    }
    field_read(f, rec, &v);
    prom_value(o, f, &v);
}

void field_prom(struct out *o, const struct field_table *t, const void *recs, int n,
                size_t stride)
{
    const struct field *f;
    char name[128], last[128] = "";

    for (int seq = 1; (f = field_prom_at(t, seq)) != NULL; seq++) {
        if (f->type == FT_OBJECT) {
            field_prom(o, f->sub, recs, n, stride);
            last[0] = '\0';
            continue;
        }
        field_prom_name(t, f, name, sizeof(name));
        /* rows with fixed labels share one family: one head for them all */
        if (strcmp(name, last) != 0)
            out_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, f->help, name,
                       f->kind == FK_COUNTER ? "counter" : "gauge");
        snprintf(last, sizeof(last), "%s", name);
        for (int i = 0; i < n; i++)
            prom_sample(o, t, f, name, (const char *)recs + (size_t)i * stride);
    }
}

/* ---- key:value text ---------------------------------------------------------------- */

static const char *text_suffix(const struct field *f)
{
    if (f->suffix != NULL)
        return f->suffix;
    return f->unit == FU_SECONDS ? " seconds" : f->unit == FU_PPM ? " ppm" : "";
}

static void text_value(struct out *o, const struct field *f, const void *rec)
{
    struct field_val v;

    field_read(f, rec, &v);
    if (!v.valid) {
        out_str(o, f->none != NULL ? f->none : "-");
        return;
    }
    switch (v.type) {
    case FV_BOOL:
        out_str(o, v.b ? (f->yes ? f->yes : "yes") : (f->no ? f->no : "no"));
        break;
    case FV_INT:
        if (f->text_names != NULL)
            out_str(o, enum_name(f->text_names, v.i));
        else
            out_printf(o, "%lld", (long long)v.i);
        break;
    case FV_UINT:
        out_printf(o, "%llu", (unsigned long long)v.u);
        break;
    case FV_DOUBLE:
        if (f->sign)
            out_printf(o, "%+.*f", f->prec, v.d);
        else
            out_printf(o, "%.*f", f->prec, v.d);
        break;
    default:
        out_mem(o, v.s, v.s != NULL ? strnlen(v.s, v.max) : 0);
        break;
    }
    out_str(o, text_suffix(f));
}

/* "PREFIX reason     : value", one line a reason. */
static void text_counters(struct out *o, const struct field_table *t,
                          const struct field *f, const void *rec)
{
    const struct report_counter *c = counters(f, rec);

    for (int i = 0; i < clamp_count(f, rec); i++) {
        char label[96];
        struct out l;

        out_init(&l, label, sizeof(label));
        out_str(&l, f->label != NULL ? f->label : "");
        out_ident(&l, c[i].name);
        out_printf(o, "%-*s: %llu\n", t->label_width, label,
                   (unsigned long long)c[i].value);
    }
}

void field_text(struct out *o, const struct field_table *t, const void *rec)
{
    const struct field *f;

    for (int seq = 1; (f = field_text_at(t, seq)) != NULL; seq++) {
        if (f->type == FT_OBJECT) {
            field_text(o, f->sub, rec);
            continue;
        }
        if (f->type == FT_COUNTERS) {
            text_counters(o, t, f, rec);
            continue;
        }
        if (f->label != NULL)
            out_printf(o, "%-*s: ", t->label_width, f->label);
        if (f->text != NULL)
            f->text(o, rec);
        else
            text_value(o, f, rec);
        out_str(o, "\n");
    }
}

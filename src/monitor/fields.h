/* monitor/fields: a report's fields declared once, shown three ways.
 *
 * Each report (core/report.h) has one table (monitor/schema.c) with a row
 * per field: its JSON key, type, unit, help text, where it lives in the
 * snapshot (offsetof), its Prometheus metric and its key:value text line.
 * The emitters here walk a table to write the JSON object, the Prometheus
 * families and the text lines, so a field added to the table shows up in
 * every form, and its names are spelled in one place.
 *
 * The three forms list fields in their own, historical order (the output
 * is a public interface): JSON in table order, Prometheus and text in
 * prom_seq / text_seq order (1, 2, ...; 0 = not in that form).
 */
#ifndef CHIME_MONITOR_FIELDS_H
#define CHIME_MONITOR_FIELDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/report.h"
#include "monitor/out.h"

enum field_type {
    FT_INT,         /* int */
    FT_U8,          /* uint8_t */
    FT_U32,         /* uint32_t */
    FT_U64,         /* uint64_t */
    FT_SIZE,        /* size_t */
    FT_DOUBLE,      /* double */
    FT_BOOL,        /* bool */
    FT_CHAR,        /* char, shown as a one-character string */
    FT_STR,         /* char[.size], perhaps without a terminator */
    FT_CSTR,        /* const char *: at most .size bytes, NULL shows .dflt */
    FT_NS,          /* int64_t nanoseconds, shown in seconds */
    FT_NS_OPT,      /* the same; negative means none (JSON null) */
    FT_ENUM,        /* int naming .names[i]; out of range: the last name */
    FT_COUNTERS,    /* struct report_counter[.size], how many in use: int at .count */
    FT_OBJECT,      /* .sub's fields over the same snapshot, nested */
    FT_ARRAY,       /* pointer to .sub snapshots, how many: int at .count */
};

enum field_unit { FU_NONE, FU_SECONDS, FU_PPM };
enum field_kind { FK_GAUGE, FK_COUNTER };

/* One value read out of a snapshot (or computed by a row's get). */
struct field_val {
    enum field_vtype { FV_INT, FV_UINT, FV_DOUBLE, FV_BOOL, FV_STR } type;
    bool valid;             /* false: JSON null, Prometheus NaN, text .none */
    int64_t i;
    uint64_t u;
    double d;
    bool b;
    const char *s;          /* FV_STR: at most max bytes */
    size_t max;
    char tmp[32];           /* room for a computed string (s may point here) */
};

struct field;
struct field_table;
typedef void field_get_fn(const void *rec, struct field_val *v);
typedef void field_text_fn(struct out *o, const void *rec);

struct field {
    const char *name;       /* JSON key; unique in its table */
    enum field_type type;
    size_t off;             /* where it lives in the snapshot */
    size_t size;            /* FT_STR/FT_CSTR bytes, FT_COUNTERS slots,
                               FT_ARRAY element size */
    size_t count;           /* FT_COUNTERS/FT_ARRAY: offset of the int count */
    size_t gate;            /* FIELD_GATE: offset + 1 of a bool that makes
                               the value valid; 0 = always valid */
    enum field_unit unit;
    const char *help;       /* what it means; Prometheus # HELP */
    const char *dflt;       /* FT_CSTR: shown for NULL */
    const char *const *names;       /* FT_ENUM: JSON names, NULL-terminated */
    const char *const *text_names;  /* FT_ENUM: text names, the same count */
    field_get_fn *get;      /* a value computed from the snapshot */
    const struct field_table *sub;  /* FT_OBJECT, FT_ARRAY */
    bool no_json;           /* a figure only Prometheus shows */
    /* Prometheus: chime_<table prefix><prom>[_<unit>][_total] */
    const char *prom;       /* NULL = not exported */
    int prom_seq;
    enum field_kind kind;
    const char *prom_label; /* a fixed label (result="ok"); rows that share
                               a family sit at consecutive prom_seq */
    /* key:value text: "<label padded>: <value><suffix>" */
    int text_seq;
    const char *label;      /* NULL: the value starts the line */
    int prec;               /* FT_DOUBLE digits after the point */
    bool sign;              /* FT_DOUBLE: always a sign */
    const char *suffix;     /* after the value; default " seconds"/" ppm" by unit */
    const char *yes, *no;   /* FT_BOOL */
    const char *none;       /* an invalid value */
    field_text_fn *text;    /* writes the value part itself */
};

struct field_table {
    const char *report;     /* the report it describes ("tracking", ...) */
    const char *prom_prefix;        /* after "chime_": "source_", "" */
    const struct field *f;
    size_t n;
    int label_width;        /* text labels are padded to this */
    field_text_fn *prom_labels;     /* per-snapshot labels: source="..." */
};

/* Compile-time check that a row's type matches the member it names: a
 * bit-field of width -1 does not compile. */
#define FIELD_IS_(T, m, ctype) \
    (0 * sizeof(struct { int ok_ : _Generic((((T *)0)->m), ctype: 1, default: -1); }))
#define FIELD_OF_(T, m, ft, ctype) .type = (ft), .off = offsetof(T, m) + FIELD_IS_(T, m, ctype)
#define F_INT(T, m)     FIELD_OF_(T, m, FT_INT, int)
#define F_U8(T, m)      FIELD_OF_(T, m, FT_U8, uint8_t)
#define F_U32(T, m)     FIELD_OF_(T, m, FT_U32, uint32_t)
#define F_U64(T, m)     FIELD_OF_(T, m, FT_U64, uint64_t)
#define F_SIZE(T, m)    FIELD_OF_(T, m, FT_SIZE, size_t)
#define F_DOUBLE(T, m)  FIELD_OF_(T, m, FT_DOUBLE, double)
#define F_BOOL(T, m)    FIELD_OF_(T, m, FT_BOOL, bool)
#define F_CHAR(T, m)    FIELD_OF_(T, m, FT_CHAR, char)
#define F_NS(T, m)      FIELD_OF_(T, m, FT_NS, int64_t)
#define F_NS_OPT(T, m)  FIELD_OF_(T, m, FT_NS_OPT, int64_t)
#define F_ENUM(T, m)    FIELD_OF_(T, m, FT_ENUM, int)
#define F_STR(T, m)     FIELD_OF_(T, m, FT_STR, char *), .size = sizeof(((T *)0)->m)
#define F_CSTR(T, m, max) FIELD_OF_(T, m, FT_CSTR, const char *), .size = (max)
#define F_COUNTERS(T, m, n) FIELD_OF_(T, m, FT_COUNTERS, struct report_counter *), \
    .size = sizeof(((T *)0)->m) / sizeof(struct report_counter), \
    .count = offsetof(T, n) + FIELD_IS_(T, n, int)
#define F_ARRAY(T, m, n, E, table) FIELD_OF_(T, m, FT_ARRAY, const E *), \
    .size = sizeof(E), .count = offsetof(T, n) + FIELD_IS_(T, n, int), .sub = &(table)
#define F_GATE(T, m)    .gate = offsetof(T, m) + 1 + FIELD_IS_(T, m, bool)

/* Read a row's value out of a snapshot (scalars only). */
void field_read(const struct field *f, const void *rec, struct field_val *v);
/* The row at position seq of the Prometheus (prom) or text form, or NULL. */
const struct field *field_prom_at(const struct field_table *t, int seq);
const struct field *field_text_at(const struct field_table *t, int seq);
/* A row's metric name, e.g. "chime_source_offset_seconds". */
void field_prom_name(const struct field_table *t, const struct field *f,
                     char *buf, size_t cap);

/* {"key":value,...}: every row not marked no_json, in table order. */
void field_json_object(struct out *o, const struct field_table *t, const void *rec);
/* A top-level list, one object a line: "[\n {..},\n {..}\n]" ("[]" when empty). */
void field_json_list(struct out *o, const struct field_table *t, const void *recs,
                     int n, size_t stride);
/* Every family of the table (# HELP, # TYPE, one sample per snapshot). */
void field_prom(struct out *o, const struct field_table *t, const void *recs, int n,
                size_t stride);
/* The key:value lines of one snapshot. */
void field_text(struct out *o, const struct field_table *t, const void *rec);

#endif

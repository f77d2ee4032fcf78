/* monitor/out: the bounded appender every monitoring formatter writes
 * through, and the JSON and Prometheus escapes.
 *
 * A short buffer only ever truncates the output: it never overflows and is
 * always NUL-terminated (when cap > 0), so each formatter's result is a
 * prefix of what a large enough buffer would hold.
 */
#ifndef CHIME_MONITOR_OUT_H
#define CHIME_MONITOR_OUT_H

#include <stdbool.h>
#include <stddef.h>

struct out {
    char *buf;
    size_t cap;
    size_t len;     /* bytes in buf, always < cap when cap > 0 */
};

void out_init(struct out *o, char *buf, size_t cap);
void out_mem(struct out *o, const char *s, size_t n);
void out_str(struct out *o, const char *s);
/* Each formatted piece is at most 511 bytes: strings that can be longer
 * go through out_mem() or out_json_str(). */
__attribute__((format(printf, 2, 3)))
void out_printf(struct out *o, const char *fmt, ...);

/* A JSON string from at most max bytes of s (NULL: ""). Names come from
 * the config file and may hold any byte: valid UTF-8 passes through,
 * anything else becomes U+FFFD so the document stays valid. */
void out_json_str(struct out *o, const char *s, size_t max);
/* "%.9f", or null when !valid or not finite (JSON has no NaN). */
void out_json_num(struct out *o, double v, bool valid);
void out_json_bool(struct out *o, bool b);
/* A Prometheus label value in quotes, from at most max bytes of s. */
void out_prom_label(struct out *o, const char *s, size_t max);
/* A counter name as [a-z0-9_] (at most 64 bytes): whatever a table
 * holds, it can never break JSON or Prometheus syntax. */
void out_ident(struct out *o, const char *name);

#endif

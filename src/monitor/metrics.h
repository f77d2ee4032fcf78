/* monitor/metrics: the `metrics` view, for Prometheus and for scripts.
 *
 * CTL_TEXT is the Prometheus text exposition format (version 0.0.4),
 * served by metrics-listen and `chimectl metrics`; CTL_JSON gives the same
 * snapshots as one JSON object of the tracking, sources and serverstats
 * views. Metric names, labels and HELP texts are a public interface
 * (dashboards and alerts use them): add, never rename. They are declared
 * once, next to the JSON names, in monitor/schema.c. Pure, no I/O.
 */
#ifndef CHIME_MONITOR_METRICS_H
#define CHIME_MONITOR_METRICS_H

#include <stddef.h>

#include "core/report.h"
#include "monitor/control.h"

/* Format into buf (NUL-terminated, truncated safely). Returns length. */
size_t metrics_format(const struct report_tracking *t, const struct report_source *s,
                      int n, const struct report_serverstats *ss,
                      enum ctl_format fmt, char *buf, size_t cap);

#endif

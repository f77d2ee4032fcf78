/* monitor/schema: the field table of every report (monitor/fields.h).
 *
 * The one place where a report's JSON keys, Prometheus metrics (names,
 * HELP, TYPE, labels) and key:value text labels are spelled. All of it is
 * a public interface that scripts, dashboards and tests read: add fields,
 * never rename or drop one.
 */
#ifndef CHIME_MONITOR_SCHEMA_H
#define CHIME_MONITOR_SCHEMA_H

#include "monitor/fields.h"

extern const struct field_table schema_source;        /* struct report_source */
extern const struct field_table schema_tracking;      /* struct report_tracking */
extern const struct field_table schema_sourcestat;    /* struct report_sourcestat */
extern const struct field_table schema_serverstats;   /* struct report_serverstats */
extern const struct field_table schema_activity;      /* struct report_activity */
extern const struct field_table schema_clients;       /* struct report_clients */
extern const struct field_table schema_client_entry;  /* struct report_client_entry */

/* The tally mark as shown: single known characters only, else blank. */
char schema_tally(char c);

#endif

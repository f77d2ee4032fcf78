/* monitor/control: the control protocol chimectl speaks, and the
 * text/JSON views of the report snapshots (core/report.h) it shows.
 *
 * Pure: no I/O; the output goes into a caller's buffer. The JSON field
 * names are a public interface that other tools script against: add,
 * never rename (they are declared once, in monitor/schema.c).
 */
#ifndef CHIME_MONITOR_CONTROL_H
#define CHIME_MONITOR_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/report.h"

#define CTL_MAX_REQUEST 256     /* one request line, bytes */
#define CTL_MAX_REPLY 65536     /* the largest reply the daemon builds */
#define CTL_DEFAULT_SOCKET "/run/chime/chimed.sock"  /* chimed and chimectl */

enum ctl_format { CTL_TEXT, CTL_JSON };

/* Request line -> what to show. Returns 0, or -1 for an unknown request
 * (with a message in the reply). Requests: "sources", "tracking", each
 * optionally followed by " json". */
enum ctl_request {
    CTL_REQ_SOURCES, CTL_REQ_TRACKING,
    CTL_REQ_SOURCESTATS, CTL_REQ_SERVERSTATS, CTL_REQ_ACTIVITY, CTL_REQ_METRICS,
    /* administrative: behind the socket's permissions (mode 0660) */
    CTL_REQ_MAKESTEP, CTL_REQ_OFFLINE, CTL_REQ_ONLINE, CTL_REQ_CLIENTS,
    CTL_REQ_RELOAD,             /* administrative: re-read the config file */
    CTL_REQ__COUNT
};
/* The request word of each request ("sources", "sourcestats", ...). */
const char *ctl_request_name(enum ctl_request r);
int ctl_parse_request(const char *line, size_t len, enum ctl_request *req,
                      enum ctl_format *fmt);

/* Format into buf (NUL-terminated, truncated safely). Returns length. */
size_t ctl_format_sources(const struct report_source *s, int n, enum ctl_format fmt,
                          char *buf, size_t cap);
size_t ctl_format_tracking(const struct report_tracking *t, enum ctl_format fmt,
                           char *buf, size_t cap);
size_t ctl_format_sourcestats(const struct report_sourcestat *s, int n,
                              enum ctl_format fmt, char *buf, size_t cap);
size_t ctl_format_serverstats(const struct report_serverstats *s, enum ctl_format fmt,
                              char *buf, size_t cap);
size_t ctl_format_activity(const struct report_activity *a, enum ctl_format fmt,
                           char *buf, size_t cap);
size_t ctl_format_clients(const struct report_clients *cl, enum ctl_format fmt,
                          char *buf, size_t cap);

#endif

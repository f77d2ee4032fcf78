/* sys/log: the one logging API. Every message carries a subsystem tag
 * ("net", "clock", "conf", ...). In the foreground messages go to stderr,
 * in the background to syslog, or to a logfile if one is opened; when
 * stderr is the systemd journal, levels go with it as "<N>" prefixes.
 * warn() appends strerror(errno). */
#ifndef CHIME_SYS_LOG_H
#define CHIME_SYS_LOG_H

#include <stdbool.h>
#include <stddef.h>

#include "core/time.h"

void log_init(const char *ident, bool use_syslog, bool debug);
/* Send every later message to PATH instead (the config's `logfile`):
 * opened for appending (logrotate's copytruncate works), line-buffered,
 * each line stamped with the local time. 0, or -1/errno with the previous
 * sink unchanged. log_init() closes it. */
int log_open_file(const char *path);
bool log_debug_enabled(void);

void log_warn(const char *tag, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void log_warnx(const char *tag, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* What makes chimed refuse to start or stop doing its job (a port in
 * use, no clock control): error level, so journalctl -p err finds it. */
void log_err(const char *tag, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void log_errx(const char *tag, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void log_info(const char *tag, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void log_debug(const char *tag, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Start-up errors and broken invariants only. Exit status 1. */
_Noreturn void fatal(const char *tag, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
_Noreturn void fatalx(const char *tag, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Allocation that cannot fail: aborts through fatalx() on ENOMEM. */
void *xcalloc(size_t n, size_t size);
/* Same for growing arrays; checks n * size for overflow. */
void *xreallocarray(void *p, size_t n, size_t size);

/* Rate limit for messages a remote peer can trigger: at most `burst`
 * messages per `interval_ns` window; the first message of a new window
 * reports how many were dropped. Zero-initialise, then set burst and
 * interval_ns. Returns true when the caller may log. */
struct log_ratelimit {
    int64_t interval_ns;
    unsigned burst;
    unsigned used;
    unsigned suppressed;
    mono_ns window_start;
};
bool log_ratelimit(struct log_ratelimit *rl, mono_ns now);

#endif

/* sys/log: stderr in the foreground, syslog(3) in the background, or the
 * config's `logfile` (appended to, one line per write, local timestamps).
 *
 * The sink below is the one piece of mutable module state allowed in
 * chime: logging must work from anywhere, including before and after
 * everything else exists. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sys/log.h"

static struct {
    const char *ident;  /* NULL: no "ident[pid]: " prefix on stderr */
    bool use_syslog;
    bool debug;
    FILE *file;         /* logfile: wins over syslog and stderr when set */
    bool journal;       /* stderr is systemd's journal stream: "<prio>" prefixes */
} sink;

/* systemd sets JOURNAL_STREAM=DEV:INODE when stderr goes to the journal;
 * then a "<N>" line prefix carries the level and the journal adds the
 * ident and pid itself (sd-daemon(3), systemd.exec(5)). */
static bool stderr_is_journal(void)
{
    const char *js = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat st;

    return js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 &&
           fstat(STDERR_FILENO, &st) == 0 &&
           (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_init(const char *ident, bool use_syslog, bool debug)
{
    if (sink.use_syslog)
        closelog();
    if (sink.file)
        fclose(sink.file);
    sink.file = NULL;
    sink.ident = ident;
    sink.use_syslog = use_syslog;
    sink.debug = debug;
    sink.journal = !use_syslog && stderr_is_journal();
    if (use_syslog)
        openlog(ident ? ident : "chimed", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

int log_open_file(const char *path)
{
    /* never through a symlink: chimed opens it as root */
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW,
                  0640);
    FILE *f = fd < 0 ? NULL : fdopen(fd, "a");

    if (f == NULL) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    setvbuf(f, NULL, _IOLBF, 0);
    if (sink.file)
        fclose(sink.file);
    if (sink.use_syslog)
        closelog();
    sink.use_syslog = false;
    sink.file = f;
    return 0;
}

bool log_debug_enabled(void)
{
    return sink.debug;
}

static const char *level_word(int prio)
{
    switch (prio) {
    case LOG_CRIT:    return "fatal: ";
    case LOG_ERR:     return "error: ";
    case LOG_WARNING: return "warning: ";
    case LOG_DEBUG:   return "debug: ";
    default:          return "";
    }
}

/* "2026-11-05T12:00:00+0100 chimed[42]: [tag] warning: msg\n" */
static const char *file_line(char *line, size_t cap, int prio, const char *tag,
                             const char *msg)
{
    char stamp[40] = "-";
    struct timespec ts;
    struct tm tm;

    if (clock_gettime(CLOCK_REALTIME, &ts) == 0 && localtime_r(&ts.tv_sec, &tm))
        strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S%z", &tm);
    snprintf(line, cap, "%s %s[%ld]: [%s] %s%s\n", stamp,
             sink.ident ? sink.ident : "chimed", (long)getpid(), tag,
             level_word(prio), msg);
    if (strlen(line) == cap - 1)
        line[cap - 2] = '\n';
    return line;
}

/* Format the whole line into a bounded buffer first, so that on stderr a
 * message is a single write and never interleaves mid-line. */
static void log_emit(int prio, const char *tag, int err, const char *fmt,
                     va_list ap)
{
    char msg[1024], line[1200];
    int n = vsnprintf(msg, sizeof(msg), fmt, ap);

    if (n < 0)
        snprintf(msg, sizeof(msg), "(unformattable message)");
    else if (err != 0 && (size_t)n < sizeof(msg))
        snprintf(msg + n, sizeof(msg) - (size_t)n, ": %s", strerror(err));
    if (tag == NULL)
        tag = "-";

    if (sink.use_syslog) {
        syslog(prio, "[%s] %s", tag, msg);
        return;
    }
    if (sink.file) {
        fputs(file_line(line, sizeof(line), prio, tag, msg), sink.file);
        return;
    }
    if (sink.journal)
        snprintf(line, sizeof(line), "<%d>[%s] %s%s\n", prio, tag, level_word(prio), msg);
    else if (sink.ident)
        snprintf(line, sizeof(line), "%s[%ld]: [%s] %s%s\n", sink.ident,
                 (long)getpid(), tag, level_word(prio), msg);
    else
        snprintf(line, sizeof(line), "[%s] %s%s\n", tag, level_word(prio), msg);
    /* a line cut short by the buffer still ends the line */
    if (strlen(line) == sizeof(line) - 1)
        line[sizeof(line) - 2] = '\n';
    fputs(line, stderr);
}

/* One body for the plain entry points: errno is kept for the caller, and
 * the "with errno" ones append strerror of the value it had on entry. */
#define LOG_ENTRY(name, prio, with_errno)                       \
    void name(const char *tag, const char *fmt, ...)            \
    {                                                           \
        int saved = errno;                                      \
        va_list ap;                                             \
                                                                \
        va_start(ap, fmt);                                      \
        log_emit(prio, tag, (with_errno) ? saved : 0, fmt, ap); \
        va_end(ap);                                             \
        errno = saved;                                          \
    }

LOG_ENTRY(log_warn, LOG_WARNING, 1)
LOG_ENTRY(log_warnx, LOG_WARNING, 0)
LOG_ENTRY(log_err, LOG_ERR, 1)
LOG_ENTRY(log_errx, LOG_ERR, 0)
LOG_ENTRY(log_info, LOG_INFO, 0)

void log_debug(const char *tag, const char *fmt, ...)
{
    int saved = errno;
    va_list ap;

    if (!sink.debug)
        return;
    va_start(ap, fmt);
    log_emit(LOG_DEBUG, tag, 0, fmt, ap);
    va_end(ap);
    errno = saved;
}

_Noreturn void fatal(const char *tag, const char *fmt, ...)
{
    int saved = errno;
    va_list ap;

    va_start(ap, fmt);
    log_emit(LOG_CRIT, tag, saved, fmt, ap);
    va_end(ap);
    exit(1);
}

_Noreturn void fatalx(const char *tag, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_emit(LOG_CRIT, tag, 0, fmt, ap);
    va_end(ap);
    exit(1);
}

void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);

    if (p == NULL)
        fatalx("mem", "out of memory allocating %zu x %zu bytes", n, size);
    return p;
}

void *xreallocarray(void *p, size_t n, size_t size)
{
    void *q;

    if (size != 0 && n > SIZE_MAX / size)
        fatalx("mem", "allocation overflow: %zu x %zu bytes", n, size);
    q = realloc(p, n * size != 0 ? n * size : 1);
    if (q == NULL)
        fatalx("mem", "out of memory allocating %zu x %zu bytes", n, size);
    return q;
}

bool log_ratelimit(struct log_ratelimit *rl, mono_ns now)
{
    if (rl->interval_ns <= 0 || now.ns - rl->window_start.ns >= rl->interval_ns
        || now.ns < rl->window_start.ns) {
        if (rl->suppressed > 0)
            log_warnx("log", "%u similar messages suppressed", rl->suppressed);
        rl->window_start = now;
        rl->used = 0;
        rl->suppressed = 0;
    }
    if (rl->used < rl->burst) {
        rl->used++;
        return true;
    }
    rl->suppressed++;
    return false;
}

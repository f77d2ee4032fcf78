/* daemon/stats: see stats.h. */
#include "daemon/stats.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "monitor/mode6.h"
#include "core/node_report.h"
#include "daemon/engine.h"
#include "sys/clock.h"
#include "sys/log.h"

#define TAG "stats"
#define STATS_FILE_MAX 64
/* a statsdir path plus "/.", a file name and ".YYYYMMDD" or ".link" */
#define STATS_PATH_MAX (PATH_MAX + STATS_FILE_MAX + 16)
#define STATS_LOG_BURST 3
#define STATS_LOG_INTERVAL_NS (60 * NS_PER_S)
/* Lines waiting for the writer: a few minutes' worth with many sources,
 * so a disk that stalls for that long loses nothing. */
#define STATS_QUEUE 128

struct stats_gen {
    const char *name;           /* "loopstats", "peerstats" */
    bool on;
    bool day;                   /* type day (else none: one file) */
    bool link;
    char file[STATS_FILE_MAX];  /* base name inside statsdir */
    int fd;                     /* the writer thread's */
    int64_t open_day;           /* day of the file open in fd */
    _Atomic uint64_t lines, errors;
    struct log_ratelimit rl;    /* the writer thread's */
};

/* A formatted line on its way to the writer thread. */
struct stats_job {
    enum stats_kind kind;
    int64_t unix_ns;
    mono_ns mono;
    size_t len;
    char line[STATSLINE_MAX];
};

struct stats_files {
    char dir[PATH_MAX];
    struct stats_gen gen[STATS__COUNT];
    /* The writer thread, started with the first line (after privileges
     * are dropped and the system-call filter is on, which it inherits).
     * mu guards the queue and the flags below. */
    pthread_mutex_t mu;
    pthread_cond_t wake;
    pthread_t thread;
    bool started, stopping, finished, orphan;
    unsigned head, n;
    struct stats_job q[STATS_QUEUE];
    _Atomic uint64_t dropped;   /* lines the full queue turned away */
    struct log_ratelimit drop_rl;
};

static const char *const gen_names[STATS__COUNT] = {
    [STATS_LOOP] = "loopstats",
    [STATS_PEER] = "peerstats",
};

/* ---- configuration ---------------------------------------------------------- */

static bool file_name_ok(const char *f)
{
    size_t n = strnlen(f, STATS_FILE_MAX);

    return n > 0 && n < STATS_FILE_MAX && strchr(f, '/') == NULL &&
           strcmp(f, ".") != 0 && strcmp(f, "..") != 0;
}

static int kind_of(const char *name)
{
    for (int k = 0; k < STATS__COUNT; k++)
        if (strcmp(name, gen_names[k]) == 0)
            return k;
    return -1;
}

/* "statistics NAME" switches a generation on; a filegen line for it (the
 * last one wins) sets file, type and link, and switches it on unless it
 * says disable. */
static void configure(struct stats_files *sf, const struct config *cfg)
{
    for (int k = 0; k < STATS__COUNT; k++) {
        struct stats_gen *g = &sf->gen[k];

        g->name = gen_names[k];
        g->day = true;
        g->link = true;
        g->fd = -1;
        g->rl = (struct log_ratelimit){ .burst = STATS_LOG_BURST,
                                        .interval_ns = STATS_LOG_INTERVAL_NS };
        snprintf(g->file, sizeof(g->file), "%s", g->name);
    }
    for (size_t i = 0; i < cfg->n_statistics; i++) {
        int k = kind_of(cfg->statistics[i]);

        if (k >= 0)
            sf->gen[k].on = true;
        else
            log_info(TAG, "statistics %s: not written by chimed (only loopstats "
                     "and peerstats)", cfg->statistics[i]);
    }
    for (size_t i = 0; i < cfg->n_filegens; i++) {
        const struct conf_filegen *fg = &cfg->filegens[i];
        int k = kind_of(fg->name);
        struct stats_gen *g;

        if (k < 0) {
            if (fg->enable)
                log_info(TAG, "%s:%d: filegen %s: not written by chimed", fg->loc.file,
                         fg->loc.line, fg->name);
            continue;
        }
        g = &sf->gen[k];
        g->on = fg->enable;
        g->link = fg->link;
        if (fg->file && !file_name_ok(fg->file)) {
            log_warnx(TAG, "%s:%d: filegen %s: file '%s' must be a plain name inside "
                      "statsdir; using %s", fg->loc.file, fg->loc.line, fg->name,
                      fg->file, g->file);
        } else if (fg->file) {
            snprintf(g->file, sizeof(g->file), "%s", fg->file);
        }
        if (fg->type && strcmp(fg->type, "none") == 0) {
            g->day = false;
        } else {
            g->day = true;
            if (fg->type && strcmp(fg->type, "day") != 0)
                log_warnx(TAG, "%s:%d: filegen %s: type %s is not supported; using day",
                          fg->loc.file, fg->loc.line, fg->name, fg->type);
        }
    }
}

struct stats_files *stats_open(const struct config *cfg)
{
    struct stats_files *sf = xcalloc(1, sizeof(*sf));
    bool any = false;

    configure(sf, cfg);
    sf->drop_rl = (struct log_ratelimit){ .burst = STATS_LOG_BURST,
                                          .interval_ns = STATS_LOG_INTERVAL_NS };
    for (int k = 0; k < STATS__COUNT; k++)
        any |= sf->gen[k].on;
    if (!any)
        goto none;
    if (cfg->disable_flags & CONF_FLAG_STATS) {
        log_info(TAG, "statistics files off (disable stats)");
        goto none;
    }
    if (!cfg->statsdir || !cfg->statsdir[0]) {
        log_warnx(TAG, "statistics enabled but no statsdir: no files written");
        goto none;
    }
    if (strnlen(cfg->statsdir, sizeof(sf->dir)) + STATS_FILE_MAX + 16 >= sizeof(sf->dir)) {
        log_warnx(TAG, "%s:%d: statsdir %s: path too long; no files written",
                  cfg->statsdir_loc.file, cfg->statsdir_loc.line, cfg->statsdir);
        goto none;
    }
    snprintf(sf->dir, sizeof(sf->dir), "%s", cfg->statsdir);
    for (int k = 0; k < STATS__COUNT; k++) {
        const struct stats_gen *g = &sf->gen[k];

        if (g->on)
            log_info(TAG, "%s to %s/%s%s%s", g->name, sf->dir, g->file,
                     g->day ? ".YYYYMMDD" : "", g->day && g->link ? " (linked)" : "");
    }
    pthread_mutex_init(&sf->mu, NULL);
    pthread_cond_init(&sf->wake, NULL);
    return sf;
none:
    free(sf);
    return NULL;
}

/* Close the files and free: the last one to let go of sf does it. */
static void stats_free(struct stats_files *sf)
{
    uint64_t dropped = atomic_load(&sf->dropped);

    for (int k = 0; k < STATS__COUNT; k++) {
        struct stats_gen *g = &sf->gen[k];
        uint64_t errors = atomic_load(&g->errors);

        if (g->fd >= 0)
            close(g->fd);
        if (errors)
            log_info(TAG, "%s: %llu lines, %llu failed", g->name,
                     (unsigned long long)atomic_load(&g->lines),
                     (unsigned long long)errors);
    }
    if (dropped)
        log_info(TAG, "%llu lines dropped while the disk was slow",
                 (unsigned long long)dropped);
    pthread_cond_destroy(&sf->wake);
    pthread_mutex_destroy(&sf->mu);
    free(sf);
}

/* A writer stuck in a system call (a hung NFS mount, a FIFO nobody
 * reads) cannot be cancelled safely: it is left to finish on its own and
 * to free sf then, or to end with the process. */
void stats_close(struct stats_files *sf, int64_t wait_ns)
{
    struct timespec until;
    bool joined = false;
    unsigned queued;

    if (!sf)
        return;
    if (!sf->started) {
        stats_free(sf);
        return;
    }
    pthread_mutex_lock(&sf->mu);
    sf->stopping = true;
    pthread_cond_signal(&sf->wake);
    pthread_mutex_unlock(&sf->mu);
    if (wait_ns > 0) {
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += (time_t)(wait_ns / NS_PER_S);
        until.tv_nsec += (long)(wait_ns % NS_PER_S);
        if (until.tv_nsec >= NS_PER_S) {
            until.tv_sec++;
            until.tv_nsec -= NS_PER_S;
        }
        joined = pthread_timedjoin_np(sf->thread, NULL, &until) == 0;
    }
    if (joined) {
        stats_free(sf);
        return;
    }
    pthread_mutex_lock(&sf->mu);
    if (sf->finished) {
        pthread_mutex_unlock(&sf->mu);
        pthread_join(sf->thread, NULL);
        stats_free(sf);
        return;
    }
    /* From the unlock on, the writer may free sf at any moment: take what
     * the log needs and detach while the lock still holds it off. */
    queued = sf->n;
    pthread_detach(sf->thread);
    sf->orphan = true;
    pthread_mutex_unlock(&sf->mu);
    if (wait_ns > 0)
        log_warnx(TAG, "the statistics writer is stuck on a slow disk (%u more lines "
                  "queued); leaving it behind", queued);
    else if (queued > 0)
        log_warnx(TAG, "the statistics writer is %u lines behind (slow disk?); it "
                  "finishes them on its own", queued);
}

/* ---- files -------------------------------------------------------------------- */

/* <dir>/<file> points at <file>.<date>: a new symlink renamed over the
 * old one, so readers never see it missing. A regular file there (left
 * by type none) is not clobbered. */
static void update_link(struct stats_files *sf, struct stats_gen *g, const char *date,
                        mono_ns now)
{
    char link[STATS_PATH_MAX], tmp[STATS_PATH_MAX], target[STATS_FILE_MAX + 16];
    struct stat st;

    snprintf(link, sizeof(link), "%s/%s", sf->dir, g->file);
    snprintf(tmp, sizeof(tmp), "%s/.%s.link", sf->dir, g->file);
    snprintf(target, sizeof(target), "%s.%s", g->file, date);
    if (lstat(link, &st) == 0 && !S_ISLNK(st.st_mode)) {
        if (log_ratelimit(&g->rl, now))
            log_warnx(TAG, "%s exists and is not a symlink: not linking it to %s",
                      link, target);
        return;
    }
    (void)unlink(tmp);
    if (symlink(target, tmp) < 0 || rename(tmp, link) < 0) {
        if (log_ratelimit(&g->rl, now))
            log_warn(TAG, "cannot link %s to %s", link, target);
        (void)unlink(tmp);
    }
}

static void gen_open(struct stats_files *sf, struct stats_gen *g, int64_t day, mono_ns now)
{
    char path[STATS_PATH_MAX], date[16];

    if (g->fd >= 0) {
        close(g->fd);
        g->fd = -1;
    }
    statsline_date(day, date, sizeof(date));
    if (g->day)
        snprintf(path, sizeof(path), "%s/%s.%s", sf->dir, g->file, date);
    else
        snprintf(path, sizeof(path), "%s/%s", sf->dir, g->file);
    g->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY,
                 0644);
    if (g->fd < 0) {
        atomic_fetch_add(&g->errors, 1);
        if (log_ratelimit(&g->rl, now))
            log_warn(TAG, "cannot open %s", path);
        return;
    }
    g->open_day = day;
    if (g->day && g->link)
        update_link(sf, g, date, now);
}

static void gen_write(struct stats_files *sf, enum stats_kind k, int64_t unix_ns,
                      mono_ns now, const char *line, size_t len)
{
    struct stats_gen *g = &sf->gen[k];
    int64_t day = statsline_day(unix_ns);
    ssize_t n;

    if (!g->on || len == 0)
        return;
    if (g->fd < 0 || (g->day && day != g->open_day))
        gen_open(sf, g, day, now);
    if (g->fd < 0)
        return;
    do {
        n = write(g->fd, line, len);
    } while (n < 0 && errno == EINTR);
    if (n == (ssize_t)len) {
        atomic_fetch_add(&g->lines, 1);
        return;
    }
    atomic_fetch_add(&g->errors, 1);
    if (log_ratelimit(&g->rl, now)) {
        if (n < 0)
            log_warn(TAG, "%s: write", g->name);
        else
            log_warnx(TAG, "%s: short write (%zd of %zu bytes)", g->name, n, len);
    }
}

/* ---- the writer thread ------------------------------------------------------------ */

/* Writers alive in the process, the current one and any left behind by a
 * reload while stuck on a hung disk. Process-wide by nature (threads
 * outlive the stats_files that started them); bounded so that reloads
 * against a dead NFS mount cannot pile up threads without end. */
#define STATS_MAX_WRITERS 2
static atomic_int live_writers;

static void *writer_main(void *arg)
{
    struct stats_files *sf = arg;
    struct stats_job job;
    bool orphan;

    pthread_mutex_lock(&sf->mu);
    for (;;) {
        while (sf->n == 0 && !sf->stopping)
            pthread_cond_wait(&sf->wake, &sf->mu);
        if (sf->n == 0)
            break;                      /* stopping, and all written */
        job = sf->q[sf->head];
        sf->head = (sf->head + 1) % STATS_QUEUE;
        sf->n--;
        pthread_mutex_unlock(&sf->mu);
        gen_write(sf, job.kind, job.unix_ns, job.mono, job.line, job.len);
        pthread_mutex_lock(&sf->mu);
    }
    sf->finished = true;
    orphan = sf->orphan;
    pthread_mutex_unlock(&sf->mu);
    if (orphan)
        stats_free(sf);
    atomic_fetch_sub(&live_writers, 1);
    return NULL;
}

/* Signals stay with the main thread (its loop's signal handlers). */
static bool writer_start(struct stats_files *sf)
{
    sigset_t all, old;
    int rc;

    if (atomic_fetch_add(&live_writers, 1) >= STATS_MAX_WRITERS) {
        atomic_fetch_sub(&live_writers, 1);
        if (log_ratelimit(&sf->drop_rl, clock_read_mono()))
            log_warnx(TAG, "earlier statistics writers are still stuck on the disk: "
                      "not starting another; lines are dropped");
        return false;
    }
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&sf->thread, NULL, writer_main, sf);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        atomic_fetch_sub(&live_writers, 1);
        errno = rc;
        if (log_ratelimit(&sf->drop_rl, clock_read_mono()))
            log_warn(TAG, "cannot start the statistics writer");
        return false;
    }
    sf->started = true;
    return true;
}

/* Never blocks: a full queue (the writer is stuck) drops the line. */
static void enqueue(struct stats_files *sf, enum stats_kind k, int64_t unix_ns, mono_ns mono,
                    const char *line, size_t len)
{
    struct stats_job *j;
    bool full;

    if (!sf->gen[k].on || len == 0 || len > sizeof(j->line))
        return;
    if (!sf->started && !writer_start(sf)) {
        atomic_fetch_add(&sf->dropped, 1);
        return;
    }
    pthread_mutex_lock(&sf->mu);
    full = sf->n == STATS_QUEUE;
    if (!full) {
        j = &sf->q[(sf->head + sf->n) % STATS_QUEUE];
        *j = (struct stats_job){ .kind = k, .unix_ns = unix_ns, .mono = mono, .len = len };
        memcpy(j->line, line, len);
        sf->n++;
        pthread_cond_signal(&sf->wake);
    }
    pthread_mutex_unlock(&sf->mu);
    if (full) {
        atomic_fetch_add(&sf->dropped, 1);
        if (log_ratelimit(&sf->drop_rl, mono))
            log_warnx(TAG, "%s: line dropped: the writer is %d lines behind (slow disk?)",
                      sf->gen[k].name, STATS_QUEUE);
    }
}

void stats_write_loop(struct stats_files *sf, int64_t unix_ns, int64_t mono,
                      const struct statsline_loop *l)
{
    char line[STATSLINE_MAX];

    if (sf)
        enqueue(sf, STATS_LOOP, unix_ns, (mono_ns){ mono }, line,
                statsline_loop(line, sizeof(line), unix_ns, l));
}

void stats_write_peer(struct stats_files *sf, int64_t unix_ns, int64_t mono,
                      const struct statsline_peer *p)
{
    char line[STATSLINE_MAX];

    if (sf)
        enqueue(sf, STATS_PEER, unix_ns, (mono_ns){ mono }, line,
                statsline_peer(line, sizeof(line), unix_ns, p));
}

uint64_t stats_lines(const struct stats_files *sf, enum stats_kind k)
{
    return sf && (unsigned)k < STATS__COUNT ? atomic_load(&sf->gen[k].lines) : 0;
}

uint64_t stats_errors(const struct stats_files *sf, enum stats_kind k)
{
    return sf && (unsigned)k < STATS__COUNT ? atomic_load(&sf->gen[k].errors) : 0;
}

uint64_t stats_dropped(const struct stats_files *sf)
{
    return sf ? atomic_load(&sf->dropped) : 0;
}

/* ---- engine glue ------------------------------------------------------------------ */

/* The address without the port, as ntpd writes it. */
static void peer_line(struct engine *e, int slot, const struct now *now)
{
    struct node_report_peer r;
    struct statsline_peer p;
    struct mode6_peer mp;

    node_report_peer(&e->client.node, slot, now->mono, &r);
    memset(&mp, 0, sizeof(mp));
    mp.configured = r.configured;
    mp.src.reach = r.reach;
    mp.src.state = r.mark;
    p = (struct statsline_peer){
        .address = r.address, .status = mode6_peer_status(&mp),
        .offset_s = r.offset_s, .delay_s = r.delay_s, .disp_s = r.disp_s,
        .jitter_s = r.jitter_s,
    };
    stats_write_peer(e->mon.statsf, now->real.ns, now->mono.ns, &p);
}

static void loop_line(struct engine *e, const struct now *now)
{
    struct node_report_loop r;
    struct statsline_loop l;

    node_report_loop(&e->client.node, &r);
    l = (struct statsline_loop){
        .offset_s = r.offset_s, .freq_ppm = r.freq_ppm, .jitter_s = r.jitter_s,
        .wander_ppm = r.wander_ppm, .tc = r.tc,
    };
    stats_write_loop(e->mon.statsf, now->real.ns, now->mono.ns, &l);
}

void engine_stats_reopen(struct engine *e, const struct config *cfg)
{
    stats_close(e->mon.statsf, 0);      /* the old writer finishes on its own */
    e->mon.statsf = stats_open(cfg);    /* the updates so far are in the files already */
}

void engine_stats_sample(struct engine *e, int slot, const struct now *now)
{
    if (e->mon.statsf)
        peer_line(e, slot, now);
}

void engine_stats_update(struct engine *e, const struct now *now)
{
    if (e->mon.statsf)
        loop_line(e, now);
}

/* daemon/stats: see stats.h. */
#include "daemon/stats.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/mode6.h"
#include "daemon/engine.h"
#include "sys/log.h"

#define TAG "stats"
#define STATS_FILE_MAX 64
/* a statsdir path plus "/.", a file name and ".YYYYMMDD" or ".link" */
#define STATS_PATH_MAX (PATH_MAX + STATS_FILE_MAX + 16)
#define STATS_LOG_BURST 3
#define STATS_LOG_INTERVAL_NS (60 * NS_PER_S)

struct stats_gen {
    const char *name;           /* "loopstats", "peerstats" */
    bool on;
    bool day;                   /* type day (else none: one file) */
    bool link;
    char file[STATS_FILE_MAX];  /* base name inside statsdir */
    int fd;
    int64_t open_day;           /* day of the file open in fd */
    uint64_t lines, errors;
    struct log_ratelimit rl;
};

struct stats_files {
    char dir[PATH_MAX];
    struct stats_gen gen[STATS__COUNT];
    int last_updates;           /* discipline updates already in loopstats */
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
        log_warnx(TAG, "statsdir %s: path too long; no files written", cfg->statsdir);
        goto none;
    }
    snprintf(sf->dir, sizeof(sf->dir), "%s", cfg->statsdir);
    for (int k = 0; k < STATS__COUNT; k++) {
        const struct stats_gen *g = &sf->gen[k];

        if (g->on)
            log_info(TAG, "%s to %s/%s%s%s", g->name, sf->dir, g->file,
                     g->day ? ".YYYYMMDD" : "", g->day && g->link ? " (linked)" : "");
    }
    return sf;
none:
    free(sf);
    return NULL;
}

void stats_close(struct stats_files *sf)
{
    if (!sf)
        return;
    for (int k = 0; k < STATS__COUNT; k++) {
        struct stats_gen *g = &sf->gen[k];

        if (g->fd >= 0)
            close(g->fd);
        if (g->errors)
            log_info(TAG, "%s: %llu lines, %llu failed", g->name,
                     (unsigned long long)g->lines, (unsigned long long)g->errors);
    }
    free(sf);
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
        g->errors++;
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
        g->lines++;
        return;
    }
    g->errors++;
    if (log_ratelimit(&g->rl, now)) {
        if (n < 0)
            log_warn(TAG, "%s: write", g->name);
        else
            log_warnx(TAG, "%s: short write (%zd of %zu bytes)", g->name, n, len);
    }
}

void stats_write_loop(struct stats_files *sf, int64_t unix_ns, int64_t mono,
                      const struct statsline_loop *l)
{
    char line[STATSLINE_MAX];

    if (sf)
        gen_write(sf, STATS_LOOP, unix_ns, (mono_ns){ mono }, line,
                  statsline_loop(line, sizeof(line), unix_ns, l));
}

void stats_write_peer(struct stats_files *sf, int64_t unix_ns, int64_t mono,
                      const struct statsline_peer *p)
{
    char line[STATSLINE_MAX];

    if (sf)
        gen_write(sf, STATS_PEER, unix_ns, (mono_ns){ mono }, line,
                  statsline_peer(line, sizeof(line), unix_ns, p));
}

uint64_t stats_lines(const struct stats_files *sf, enum stats_kind k)
{
    return sf && (unsigned)k < STATS__COUNT ? sf->gen[k].lines : 0;
}

uint64_t stats_errors(const struct stats_files *sf, enum stats_kind k)
{
    return sf && (unsigned)k < STATS__COUNT ? sf->gen[k].errors : 0;
}

/* ---- engine glue ------------------------------------------------------------------ */

/* The address without the port, as ntpd writes it. */
static void plain_address(const struct net_addr *a, char *buf, size_t cap)
{
    const void *src = NULL;

    buf[0] = '\0';
    if (a->ss.ss_family == AF_INET)
        src = &((const struct sockaddr_in *)&a->ss)->sin_addr;
    else if (a->ss.ss_family == AF_INET6)
        src = &((const struct sockaddr_in6 *)&a->ss)->sin6_addr;
    if (src == NULL || inet_ntop(a->ss.ss_family, src, buf, (socklen_t)cap) == NULL)
        buf[0] = '\0';
}

static void peer_line(struct engine *e, const struct engine_source *es,
                      const struct now *now)
{
    const struct client *c = &e->client;
    const struct source *s = &c->src[es->idx];
    struct statsline_peer p;
    struct mode6_peer mp;
    char addr[64];

    plain_address(&es->addr, addr, sizeof(addr));
    memset(&mp, 0, sizeof(mp));
    mp.configured = es->pool < 0;
    mp.src.reach = s->reach;
    mp.src.state = (char)c->marks[es->idx];
    memset(&p, 0, sizeof(p));
    p.address = addr;
    p.status = mode6_peer_status(&mp);
    if (s->est.valid) {
        p.offset_s = source_offset(s, now->mono, client_correction(c, now->mono));
        p.delay_s = s->est.delay;
        p.disp_s = s->est.disp;
        p.jitter_s = s->est.jitter;
    } else if (s->n_samples > 0) {
        const struct source_sample *x =
            &s->samples[(s->first + s->n_samples - 1) % SOURCE_MAX_SAMPLES];

        p.offset_s = x->offset;
        p.delay_s = x->delay;
        p.disp_s = x->disp;
    }
    stats_write_peer(e->statsf, now->real.ns, now->mono.ns, &p);
}

static void loop_line(struct engine *e, const struct now *now)
{
    const struct client *c = &e->client;
    const struct discipline *d = &c->disc;
    struct statsline_loop l = {
        .offset_s = d->offset,
        .freq_ppm = d->conf.clock_control ? d->freq_ppm : d->base_freq_ppm,
        .jitter_s = c->sel.jitter,
        .wander_ppm = d->base_var > 0 ? sqrt(d->base_var) : 0,
        .tc = 6,
    };

    if (c->sel.sys_peer >= 0 && c->sel.sys_peer < c->n)
        l.tc = c->src[c->sel.sys_peer].poll;
    stats_write_loop(e->statsf, now->real.ns, now->mono.ns, &l);
}

void engine_stats_reopen(struct engine *e, const struct config *cfg)
{
    stats_close(e->statsf);
    e->statsf = stats_open(cfg);
    if (e->statsf)      /* the updates so far are in the files already */
        e->statsf->last_updates = e->client.disc.updates;
}

void engine_stats_after_reply(struct engine *e, const struct engine_source *es,
                              int r, const struct now *now)
{
    struct stats_files *sf = e->statsf;

    if (!sf)
        return;
    if (r == SRC_RX_SAMPLE && es->idx >= 0)
        peer_line(e, es, now);
    if (e->client.disc.updates != sf->last_updates) {
        sf->last_updates = e->client.disc.updates;
        loop_line(e, now);
    }
}

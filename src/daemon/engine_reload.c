/* daemon/engine_reload: SIGHUP and `chimectl reload`.
 *
 * Parse the config file again. A config with an error changes nothing:
 * the daemon keeps running as it was and the error (FILE:LINE: ...) is
 * logged and returned to chimectl. Otherwise the restrict table and rate
 * limiter are compiled and swapped in, and sources and pools are
 * reconciled: an unchanged line keeps its association (state, samples,
 * reach), a line that is gone is dropped, a new line is resolved and
 * polled as at start.
 *
 * The keys file is read again (trustedkey, controlkey and every source's
 * key apply; see engine_auth.c), and the statistics files are closed and
 * reopened with the new statsdir/statistics/filegen lines, which is also
 * how a rotated statistics file is let go.
 *
 * Settings bound at start (sockets, files, the clock's knobs) are not
 * applied: each one that differs is logged once per reload with "restart
 * chimed to apply", and the value chimed started with stays in force
 * (they are always read from e->cfg, the start-up config).
 *
 * Parsing the file and compiling its restrict lines (100,000 lines: tens
 * of milliseconds) run in a worker thread, touching no engine state, while
 * this thread keeps answering the server sockets (engine_serve_pending);
 * everything after, and the swap, happens here, between two packets.
 *
 * Ownership: e->cfg is main's and lives until exit. The sources point
 * into the newest config; after a successful reload that is e->reloaded,
 * owned here, and the previous one is freed once nothing points into it.
 */
#include <malloc.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/keys.h"
#include "daemon/engine.h"
#include "daemon/stats.h"
#include "sys/log.h"

static bool same_str(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

static bool same_double(double a, double b)
{
    return (isnan(a) && isnan(b)) || a == b;
}

static bool same_ifaces(const struct config *a, const struct config *b)
{
    if (a->n_ifaces != b->n_ifaces)
        return false;
    for (size_t i = 0; i < a->n_ifaces; i++) {
        const struct conf_iface *x = &a->ifaces[i], *y = &b->ifaces[i];

        if (x->action != y->action || x->match != y->match ||
            x->prefix_len != y->prefix_len || !same_str(x->name, y->name) ||
            memcmp(&x->addr, &y->addr, sizeof(x->addr)) != 0)
            return false;
    }
    return true;
}

static bool same_tos(const struct conf_tos *a, const struct conf_tos *b)
{
    /* maxclock is applied by the reload (the pools' size) */
    return same_double(a->minclock, b->minclock) && same_double(a->minsane, b->minsane) &&
           same_double(a->floor, b->floor) && same_double(a->ceiling, b->ceiling) &&
           same_double(a->cohort, b->cohort) && same_double(a->mindist, b->mindist) &&
           same_double(a->maxdist, b->maxdist) && same_double(a->orphan, b->orphan) &&
           same_double(a->orphanwait, b->orphanwait) && same_double(a->beacon, b->beacon) &&
           same_double(a->bcpollbstep, b->bcpollbstep);
}

static bool same_tinker(const struct conf_tinker *a, const struct conf_tinker *b)
{
    return same_double(a->step, b->step) && same_double(a->stepout, b->stepout) &&
           same_double(a->panic, b->panic) && same_double(a->dispersion, b->dispersion) &&
           same_double(a->allan, b->allan) && same_double(a->huffpuff, b->huffpuff) &&
           same_double(a->freq, b->freq) && same_double(a->stepback, b->stepback) &&
           same_double(a->stepfwd, b->stepfwd);
}

/* Settings only a restart applies: say which differ from the start-up
 * config. Returns how many. */
static int restart_only(const struct config *old, const struct config *new)
{
    struct { const char *name; bool same; } s[] = {
        { "port", old->port == new->port },
        { "interface", same_ifaces(old, new) },
        { "controlsocket", same_str(old->controlsocket, new->controlsocket) },
        { "controlgroup", same_str(old->controlgroup, new->controlgroup) },
        { "metrics-listen", old->metrics_listen.set == new->metrics_listen.set &&
                            memcmp(&old->metrics_listen.addr, &new->metrics_listen.addr,
                                   sizeof(old->metrics_listen.addr)) == 0 },
        { "driftfile", same_str(old->driftfile, new->driftfile) },
        { "leapfile", same_str(old->leapfile, new->leapfile) },
        { "logfile", same_str(old->logfile, new->logfile) },
        { "pidfile", same_str(old->pidfile, new->pidfile) },
        { "local stratum", old->local_stratum == new->local_stratum },
        { "threads", old->threads == new->threads },
        { "tos", same_tos(&old->tos, &new->tos) },
        { "tinker", same_tinker(&old->tinker, &new->tinker) },
        { "enable/disable", old->enable_flags == new->enable_flags &&
                            old->disable_flags == new->disable_flags },
        { "leapsecmode", old->leapsecmode == new->leapsecmode },
        { "leapsmearinterval", same_double(old->leapsmearinterval, new->leapsmearinterval) &&
                               old->leapsmear_cosine == new->leapsmear_cosine },
    };
    int n = 0;

    for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
        if (s[i].same)
            continue;
        log_warnx("main", "reload: %s changed: restart chimed to apply", s[i].name);
        n++;
    }
    return n;
}

/* What the worker makes: pure work on its own memory. */
struct reload_job {
    const char *path;
    struct config *cfg;
    char err[CONF_ERR_LEN];
    int parsed;                 /* conf_load_file's result */
    int compiled;               /* engine_access_compile's, when parsed */
    struct restrict_table rt;
    atomic_bool done;
};

static void *reload_work(void *arg)
{
    struct reload_job *j = arg;

    j->parsed = conf_load_file(j->path, &j->cfg, j->err, sizeof(j->err));
    if (j->parsed >= 0)
        j->compiled = engine_access_compile(j->cfg, &j->rt);
    atomic_store(&j->done, true);
    return NULL;
}

/* Parse and compile off the packet path: in a thread while this one
 * serves, or here when no thread can be had. */
static void parse_and_compile(struct engine *e, struct reload_job *j)
{
    pthread_t th;

    if (pthread_create(&th, NULL, reload_work, j) != 0) {
        reload_work(j);
        return;
    }
    while (!atomic_load(&j->done))
        engine_serve_pending(e, 1);
    pthread_join(th, NULL);
}

int engine_reload(struct engine *e, struct engine_reload_counts *rc, char *msg, size_t cap)
{
    struct config *cfg = NULL;
    char err[CONF_ERR_LEN];
    struct auth_keytab keys;
    struct reload_job *job;
    int rules;

    memset(rc, 0, sizeof(*rc));
    if (!e->opts.config_path) {
        snprintf(msg, cap, "no configuration file to reload");
        log_warnx("main", "reload failed: %s", msg);
        return -1;
    }
    job = xcalloc(1, sizeof(*job));
    job->path = e->opts.config_path;
    atomic_init(&job->done, false);
    parse_and_compile(e, job);
    cfg = job->cfg;
    if (job->parsed < 0) {
        snprintf(msg, cap, "%s", job->err);
        log_warnx("main", "reload failed: %s; keeping the running configuration", job->err);
        free(job);
        return -1;
    }
    if (job->compiled < 0) {
        conf_free(cfg);
        free(job);
        snprintf(msg, cap, "out of memory for the restrict table");
        log_warnx("main", "reload failed: %s; keeping the running configuration", msg);
        return -1;
    }
    if (engine_auth_prepare(e, cfg, &keys, err, sizeof(err)) < 0) {
        restrict_free(&job->rt);
        free(job);
        conf_free(cfg);
        snprintf(msg, cap, "%s", err);
        log_warnx("main", "reload failed: %s; keeping the running configuration", err);
        return -1;
    }
    engine_log_notes(cfg);
    restart_only(e->cfg, cfg);
    rules = engine_access_reload(e, cfg, &job->rt);   /* takes the table over */
    free(job);
    if (rules < 0) {
        keys_free(&keys);
        conf_free(cfg);
        snprintf(msg, cap, "out of memory for the restrict table");
        log_warnx("main", "reload failed: %s; keeping the running configuration", msg);
        return -1;
    }
    (void)rules;
    rc->rules = (int)cfg->n_restricts;
    conf_release_restricts(cfg);    /* compiled: the tree holds them now */
    engine_client_reload(e, cfg, rc);
    engine_auth_swap(e, cfg, &keys);
    /* statistics files: closed and opened again, so a rotated file is
     * recreated and statsdir/statistics/filegen changes apply */
    if (!e->opts.once)
        engine_stats_reopen(e, cfg);
    /* Nothing points into the previous reloaded config any more. */
    conf_free(e->reloaded);
    e->reloaded = cfg;
    /* The previous tree and the parse were freed in two malloc arenas
     * (this thread's and the worker's): give the pages back, or every
     * reload of a big config would keep the last one's worth resident. */
    malloc_trim(0);
    snprintf(msg, cap, "reload: %d sources kept, %d added, %d removed; restrict rules: %d",
             rc->kept, rc->added, rc->removed, rc->rules);
    log_info("main", "%s", msg);
    return 0;
}

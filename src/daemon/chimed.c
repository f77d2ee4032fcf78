/* chimed: options, config load, start-up order.
 *
 * Order matters: parse options, load and validate the config (errors are
 * the user's and exit 2 before anything else happens), open the log, lock
 * the pidfile and open sockets (still in the foreground, so a second
 * instance or a bind error reaches the terminal and exits 1), then detach,
 * write our pid into the locked pidfile, tell systemd we are ready, and run
 * the loop. At SIGTERM/SIGINT: drift file, STOPPING=1, exit 0.
 *
 * Test hook, deliberately not in the man page: CHIME_TEST_DRIFT_INTERVAL_MS
 * makes chimed rewrite its drift file that often, so that
 * tests/system/t_lifecycle.sh can kill -9 it in the middle of writes. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/conf.h"
#include "conf/keys.h"
#include "conf/nodeconf.h"
#include "daemon/engine.h"
#include "sys/clock.h"
#include "sys/leapfile.h"
#include "sys/log.h"
#include "sys/loop.h"
#include "sys/notify.h"
#include "sys/sandbox.h"
#include "sys/statefile.h"

#define EXIT_CONFIG 2
#define DEFAULT_PIDFILE "/run/chimed.pid"
#define ONCE_TIMEOUT_S 15

struct options {
    const char *config;
    const char *pidfile;
    const char *user;       /* -u USER[:GROUP] */
    int filter;             /* -F: enum sandbox_filter */
    bool foreground, debug, no_clock, check, once;
};

static void usage(FILE *out)
{
    fprintf(out,
        "usage: chimed [options]\n"
        "chime NTP daemon " CHIME_VERSION "\n"
        "\n"
        "  -c, --config FILE   configuration file (default " CONF_DEFAULT_PATH ")\n"
        "  -n, --foreground    stay in the foreground, log to stderr\n"
        "  -d, --debug         log debug messages (implies nothing else)\n"
        "  -x, --no-clock      never adjust the system clock: measure and serve only\n"
        "                      (the driftfile is read, never written)\n"
        "  -q, --once          set the clock once from the configured servers and\n"
        "                      exit (like ntpdate); with -x print the offset only\n"
        "  -p, --pidfile FILE  write the process id to FILE (default: the config's\n"
        "                      'pidfile', else " DEFAULT_PIDFILE " when in the background)\n"
        "  -u, --user USER[:GROUP]  after opening sockets and files, run as USER\n"
        "                      keeping only CAP_SYS_TIME (none with -x)\n"
        "  -F, --filter N      system-call filter: 1 kill on violation (default),\n"
        "                      2 log violations only (debugging), 0 off\n"
        "      --check         validate the configuration as start-up does (keys,\n"
        "                      leapfile, controlgroup, -u) and exit (0 ok, 2 errors);\n"
        "                      with -d, print what was understood\n"
        "  -V, --version       print the version and exit\n"
        "  -h, --help          print this help and exit\n"
        "\n"
        "Signals: SIGTERM/SIGINT save the drift file and exit; SIGHUP reloads the\n"
        "configuration like 'chimectl reload' (sources, pools, restrict and rate\n"
        "limits, keys; a config with errors is logged and the running one kept),\n"
        "reopens the statistics files, re-reads the leap file and logs the\n"
        "counters; SIGUSR1 logs the counters. Under\n"
        "systemd (NOTIFY_SOCKET) chimed reports READY=1 once its sockets are bound.\n");
}

static void parse_options(int argc, char **argv, struct options *o)
{
    static const struct option longopts[] = {
        { "config", required_argument, NULL, 'c' },
        { "foreground", no_argument, NULL, 'n' },
        { "debug", no_argument, NULL, 'd' },
        { "no-clock", no_argument, NULL, 'x' },
        { "pidfile", required_argument, NULL, 'p' },
        { "once", no_argument, NULL, 'q' },
        { "check", no_argument, NULL, 'C' },
        { "user", required_argument, NULL, 'u' },
        { "filter", required_argument, NULL, 'F' },
        { "version", no_argument, NULL, 'V' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;

    memset(o, 0, sizeof(*o));
    o->config = CONF_DEFAULT_PATH;
#ifdef __SANITIZE_ADDRESS__
    /* The sanitizer runtime (LeakSanitizer at exit) makes calls chimed
     * never does: sanitizer builds log filter violations instead. */
    o->filter = SANDBOX_FILTER_LOG;
#else
    o->filter = SANDBOX_FILTER_KILL;
#endif
    while ((c = getopt_long(argc, argv, "c:ndxp:qu:F:Vh", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': o->config = optarg; break;
        case 'n': o->foreground = true; break;
        case 'd': o->debug = true; break;
        case 'x': o->no_clock = true; break;
        case 'p': o->pidfile = optarg; break;
        case 'q': o->once = true; o->foreground = true; break;
        case 'C': o->check = true; break;
        case 'u': o->user = optarg; break;
        case 'F':
            if (strcmp(optarg, "0") && strcmp(optarg, "1") && strcmp(optarg, "2")) {
                fprintf(stderr, "chimed: -F takes 0, 1 or 2\n");
                exit(EXIT_CONFIG);
            }
            o->filter = optarg[0] - '0';
            break;
        case 'V': printf("chimed " CHIME_VERSION "\n"); exit(0);
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); exit(EXIT_CONFIG);
        }
    }
    if (optind < argc) {
        fprintf(stderr, "chimed: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        exit(EXIT_CONFIG);
    }
}

static void print_line(void *arg, const char *line)
{
    fprintf(arg, "%s\n", line);
}

static struct config *load_config(const struct options *o)
{
    char err[CONF_ERR_LEN];
    struct config *cfg = NULL;

    if (conf_load_file(o->config, &cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "chimed: %s\n", err);
        exit(EXIT_CONFIG);
    }
    return cfg;
}

/* --check: what the verified leapfile says (engine_validate loaded it). */
static void print_leapfile(const char *path, const struct leap_table *t)
{
    int64_t when, now_s = clock_read_real().ns / NS_PER_S;
    char day[LEAP_DATE_LEN];
    int dir;

    printf("%s: OK (%d entries, hash verified)", path, t->n);
    if (leap_table_last(t, &when, &dir)) {
        leap_format_date(when - 1, day, sizeof(day));
        printf(", last leap %s 23:59:%s UTC (TAI-UTC %d)", day,
               dir > 0 ? "60" : "59 skipped", t->e[t->n - 1].tai);
    }
    leap_format_date(t->expires, day, sizeof(day));
    printf(", expires %s%s\n", day,
           leap_table_expired(t, now_s) ? " (EXPIRED: update it)" :
           leap_table_expires_soon(t, now_s) ? " (within 28 days)" : "");
}

/* Security findings for --check: things that are legal but risky. Each
 * line names where it comes from when a line is responsible. */
/* The default restrict entry of one family as ntpd builds it: repeated
 * lines add their flags, "unrestrict"/"remove" clears them. */
struct default_rule {
    bool present;
    uint32_t flags;
    struct conf_loc loc;
};

static void collect_defaults(const struct config *cfg, struct default_rule d[2])
{
    memset(d, 0, 2 * sizeof(*d));
    for (size_t i = 0; i < cfg->n_restricts; i++) {
        const struct conf_restrict *r = &cfg->restricts[i];

        if (!r->is_default)
            continue;
        for (int k = 0; k < 2; k++) {
            if (r->family == (k ? AF_INET : AF_INET6))
                continue;   /* -4 lines are not IPv6's and -6 not IPv4's */
            d[k].present = true;
            d[k].flags = r->unrestrict ? 0 : d[k].flags | r->flags;
            d[k].loc = r->loc;
        }
    }
}

static int security_findings(const struct config *cfg)
{
    struct default_rule defs[2];
    int n = 0;

    collect_defaults(cfg, defs);
    for (int k = 0; k < 2; k++) {
        const struct default_rule *d = &defs[k];
        const char *fam = k ? "IPv6" : "IPv4";

        if (!d->present)
            continue;   /* the built-in secure default applies */
        if (d->flags & RES_IGNORE)
            continue;
        if (!(d->flags & RES_NOQUERY)) {
            printf("%s:%d: security: mode 6 queries are open to every %s address "
                   "(add 'noquery' to 'restrict default')\n", d->loc.file, d->loc.line, fam);
            n++;
        }
        if (!(d->flags & RES_NOSERVE) && !(d->flags & RES_LIMITED)) {
            printf("%s:%d: security: no rate limiting for %s clients: the server can "
                   "be used in floods (add 'kod limited' to 'restrict default')\n",
                   d->loc.file, d->loc.line, fam);
            n++;
        }
        if (!(d->flags & RES_NOMODIFY)) {
            printf("%s:%d: security: 'restrict default' without 'nomodify' for %s\n",
                   d->loc.file, d->loc.line, fam);
            n++;
        }
    }
    if (cfg->keys) {
        struct stat st;

        if (stat(cfg->keys, &st) == 0 && (st.st_mode & (S_IROTH | S_IWOTH))) {
            printf("%s: security: keys file is readable by everyone (mode %03o): "
                   "chmod 600 it\n", cfg->keys, (unsigned)(st.st_mode & 0777));
            n++;
        } else if (stat(cfg->keys, &st) == 0 && (st.st_mode & S_IWGRP)) {
            printf("%s: security: keys file is writable by its group (mode %03o)\n",
                   cfg->keys, (unsigned)(st.st_mode & 0777));
            n++;
        }
    }
    if (cfg->nts.enable && cfg->nts.key) {
        struct stat st;

        if (stat(cfg->nts.key, &st) == 0 && (st.st_mode & S_IROTH)) {
            printf("%s: security: nts key file is readable by everyone (mode %03o): "
                   "chmod 600 it\n", cfg->nts.key, (unsigned)(st.st_mode & 0777));
            n++;
        }
    }
    if (cfg->nts.enable && cfg->ntsdir) {
        struct stat st;
        char path[4096];

        if (snprintf(path, sizeof(path), "%s/ntskeys", cfg->ntsdir) < (int)sizeof(path) &&
            stat(path, &st) == 0 && (st.st_mode & 077)) {
            printf("%s: security: NTS cookie keys readable by others (mode %03o): anyone "
                   "who reads them can forge cookies; chmod 600 it\n", path,
                   (unsigned)(st.st_mode & 0777));
            n++;
        }
    }
    n += engine_auth_check(cfg);
    for (size_t i = 0; i < cfg->n_sources; i++) {
        const struct conf_source *s = &cfg->sources[i];

        if (s->kind == CONF_PEER && s->key == 0) {
            printf("%s:%d: security: symmetric peer '%s' without a key: anyone who can "
                   "spoof its address can steer this clock (add 'key N')\n",
                   s->loc.file, s->loc.line, s->host);
            n++;
        }
    }
    if (cfg->enable_flags & CONF_FLAG_MODE7) {
        printf("security: 'enable mode7' is ignored: chime never answers mode 7\n");
        n++;
    }
    return n;
}

/* The checks start-up makes, or exit 2 naming what failed. */
static void validate_or_exit(const struct config *cfg, struct engine_prepared *prep)
{
    char err[CONF_ERR_LEN];

    if (engine_validate(cfg, prep, err, sizeof(err)) < 0) {
        fprintf(stderr, "chimed: %s\n", err);
        exit(EXIT_CONFIG);
    }
}

/* -u USER[:GROUP] exists, or exit 2. */
static void lookup_user(const struct options *o, struct sandbox_user *su)
{
    char err[256];

    if (o->user && sandbox_lookup_user(o->user, su, err, sizeof(err)) < 0) {
        fprintf(stderr, "chimed: -u: %s\n", err);
        exit(EXIT_CONFIG);
    }
}

/* The OK line counts what the node will use, not the lines: servers
 * beyond NODE_MAX_SLOTS are ignored, pools stop at tos maxclock. */
static void print_ok(const char *path, const struct config *cfg)
{
    int servers = 0, pools = 0, used_servers, used_pools;
    const struct conf_loc *first_ignored = NULL;

    for (size_t i = 0; i < cfg->n_sources; i++) {
        if (cfg->sources[i].kind == CONF_POOL) {
            pools++;
            continue;
        }
        if (++servers == NODE_MAX_SLOTS + 1)
            first_ignored = &cfg->sources[i].loc;
    }
    used_servers = servers < NODE_MAX_SLOTS ? servers : NODE_MAX_SLOTS;
    used_pools = pools < NODE_MAX_POOLS ? pools : NODE_MAX_POOLS;
    if (first_ignored)
        printf("%s:%d: note: this and the %d server lines after it are ignored: chime "
               "polls at most %d servers\n", first_ignored->file, first_ignored->line,
               servers - NODE_MAX_SLOTS - 1, NODE_MAX_SLOTS);
    if (pools > NODE_MAX_POOLS)
        printf("note: only the first %d of %d pool lines are used\n", NODE_MAX_POOLS, pools);
    printf("%s: OK (%d of %zu source lines used: %d server%s, %d pool%s", path,
           used_servers + used_pools, cfg->n_sources, used_servers, used_servers == 1 ? "" : "s",
           used_pools, used_pools == 1 ? "" : "s");
    if (used_pools)
        printf(" filling up to %d sources (tos maxclock)", nodeconf_max_sources(cfg));
    if (cfg->n_refclocks)
        printf("; %zu reference clock%s", cfg->n_refclocks, cfg->n_refclocks == 1 ? "" : "s");
    printf("; %zu restrict lines)\n", cfg->n_restricts);
}

/* --check runs start-up's own validation (engine_validate) and prints OK
 * only once it passed; what follows OK is advice, never a refusal. */
static int run_check(const struct options *o)
{
    struct config *cfg = load_config(o);
    struct engine_prepared prep;
    struct sandbox_user su;
    int findings;

    lookup_user(o, &su);
    validate_or_exit(cfg, &prep);
    if (o->debug)
        conf_dump(cfg, print_line, stdout);
    for (size_t i = 0; i < cfg->n_notes; i++)
        printf("%s:%d: %s: %s\n", cfg->notes[i].loc.file, cfg->notes[i].loc.line,
               cfg->notes[i].warn ? "warning" : "note", cfg->notes[i].text);
    findings = security_findings(cfg);
    if (findings)
        printf("%d security finding%s\n", findings, findings == 1 ? "" : "s");
    print_ok(o->config, cfg);
    if (prep.leap)
        print_leapfile(cfg->leapfile, prep.leap);
    engine_prepared_free(&prep);
    conf_free(cfg);
    return 0;
}

/* Detach from the terminal: fork, new session, fork again so we can never
 * reacquire a controlling tty; stdio to /dev/null. */
static void daemonize(void)
{
    pid_t pid = fork();
    int fd;

    if (pid < 0)
        fatal("main", "fork");
    if (pid > 0)
        _exit(0);
    if (setsid() < 0)
        fatal("main", "setsid");
    pid = fork();
    if (pid < 0)
        fatal("main", "fork");
    if (pid > 0)
        _exit(0);
    if (chdir("/") < 0)
        fatal("main", "chdir /");
    fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        fatal("main", "/dev/null");
    dup2(fd, 0);
    dup2(fd, 1);
    dup2(fd, 2);
    if (fd > 2)
        close(fd);
}

/* The pidfile is locked (flock, so the lock survives the forks of
 * daemonize()) for the whole life of the process: whoever holds the lock on
 * the file now at `path` is the running chimed. */
static int lock_pidfile(const char *path, bool echo_stderr)
{
    struct stat st_fd, st_path;
    char other[32] = "";

    for (int tries = 0; tries < 5; tries++) {
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW, 0644);

        if (fd < 0)
            fatal("main", "pidfile %s", path);
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
            if (errno != EWOULDBLOCK)
                fatal("main", "lock pidfile %s", path);
            statefile_read(path, other, sizeof(other));
            other[strcspn(other, "\n")] = '\0';
            if (echo_stderr)    /* the log is syslog or a file: tell the terminal too */
                fprintf(stderr, "chimed: another chimed is running (pid %s, pidfile %s "
                        "locked)\n", other[0] ? other : "unknown", path);
            fatalx("main", "another chimed is running (pid %s, pidfile %s locked)",
                   other[0] ? other : "unknown", path);
        }
        /* Locked the file that is still at `path`, not one a starting
         * chimed has just renamed over it? Then it is ours. */
        if (fstat(fd, &st_fd) == 0 && stat(path, &st_path) == 0 &&
            st_fd.st_dev == st_path.st_dev && st_fd.st_ino == st_path.st_ino)
            return fd;
        close(fd);
    }
    fatalx("main", "pidfile %s keeps changing under us", path);
}

/* Written atomically (a temporary, locked before it is renamed over the
 * pidfile): a reader never sees a half-written pid, and the lock never
 * lapses. Returns the fd that now holds the lock. */
static int write_pidfile(const char *path, int locked_fd)
{
    char tmp[4096], buf[32];
    int fd = statefile_tmp(path, tmp, sizeof(tmp));

    snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
    if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0 ||
        write(fd, buf, strlen(buf)) != (ssize_t)strlen(buf) || rename(tmp, path) < 0) {
        log_warn("main", "pidfile %s", path);
        if (fd >= 0) {
            close(fd);
            unlink(tmp);
        }
        return locked_fd;
    }
    close(locked_fd);
    return fd;
}

static void on_stop(void *arg, int signo, const struct now *now)
{
    (void)now;
    log_info("main", "signal %d: exiting", signo);
    loop_stop(arg);
}

/* SIGUSR1: counters. SIGHUP: counters, then reload the config as
 * `chimectl reload` does, and re-read the leap file. */
static void on_hup(void *arg, int signo, const struct now *now)
{
    struct engine_reload_counts rc;
    char msg[CONF_ERR_LEN + 64];

    (void)now;
    log_info("main", "signal %d: counters follow", signo);
    engine_log_stats(arg);
    if (signo != SIGHUP)
        return;
    engine_reload(arg, &rc, msg, sizeof(msg));  /* logs success or failure itself */
    engine_leap_reload(arg, true);
}

/* CHIME_TEST_DRIFT_INTERVAL_MS (see the top of this file). */
struct drift_hook {
    struct engine *engine;
    int64_t interval_ns;
};

static void drift_hook_fire(void *arg, const struct now *now)
{
    struct drift_hook *h = arg;

    engine_write_drift(h->engine);
    loop_timer_at(h->engine->loop, (mono_ns){ now->mono.ns + h->interval_ns },
                  drift_hook_fire, h);
}

static const char *choose_pidfile(const struct options *o, const struct config *cfg)
{
    if (o->pidfile)
        return o->pidfile;
    if (cfg->pidfile)
        return cfg->pidfile;
    return o->foreground ? NULL : DEFAULT_PIDFILE;
}

int main(int argc, char **argv)
{
    struct options o;
    struct config *cfg;
    struct engine *engine;
    struct engine_prepared prep;
    struct engine_opts eo;
    struct drift_hook hook = { 0 };
    struct loop *loop;
    const char *pidfile, *hook_ms;
    char pidpath[PATH_MAX];
    struct sandbox_user su;
    int pid_fd = -1, rc;

    /* A fixed mmap threshold: glibc would otherwise raise it when the 1 MB
     * config read buffer is freed, and the large, mostly empty tables that
     * follow (source slots, rate-limit buckets) would come from the heap
     * and be written through, instead of lazily zeroed pages that cost
     * memory only once used. */
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
    parse_options(argc, argv, &o);
    if (o.check)
        return run_check(&o);
    cfg = load_config(&o);
    lookup_user(&o, &su);
    log_init("chimed", !o.foreground, o.debug);
    validate_or_exit(cfg, &prep);
    engine_log_notes(cfg);
    if (cfg->logfile && log_open_file(cfg->logfile) < 0)
        log_warn("main", "%s:%d: logfile %s (logging here instead)", cfg->logfile_loc.file,
                 cfg->logfile_loc.line, cfg->logfile);
    signal(SIGPIPE, SIG_IGN);
    pidfile = o.once ? NULL : choose_pidfile(&o, cfg);
    if (pidfile) {
        pid_fd = lock_pidfile(pidfile, !o.foreground || cfg->logfile);
        if (realpath(pidfile, pidpath))     /* daemonize() changes to / */
            pidfile = pidpath;
    }

    loop = loop_new();
    memset(&eo, 0, sizeof(eo));
    eo.no_clock = o.no_clock;
    eo.once = o.once;
    eo.once_timeout_s = ONCE_TIMEOUT_S;
    eo.config_path = o.config;
    eo.control_gid = prep.control_gid;
    eo.keys = &prep.keys;
    /* Zeroed by calloc from its own mapping (see mallopt above): the
     * engine is mostly empty source slots, whose pages cost nothing until
     * a source uses them. */
    engine = xcalloc(1, sizeof(*engine));
    hook.engine = engine;
    if (engine_init(engine, cfg, &eo, loop) < 0) {
        log_errx("main", "start-up failed");
        engine_free(engine);
        free(engine);
        engine_prepared_free(&prep);    /* the keys, when start-up failed before taking them */
        loop_free(loop);
        conf_free(cfg);
        return 1;
    }
    engine_prepared_free(&prep);    /* the engine took the keys and reads the leapfile itself */
    /* The restrict lines live on in the compiled tree: 100,000 of them
     * are ~17 MB the process would otherwise hold to its end. */
    conf_release_restricts(cfg);
    malloc_trim(0);
    loop_on_signal(loop, SIGTERM, on_stop, loop);
    loop_on_signal(loop, SIGINT, on_stop, loop);
    loop_on_signal(loop, SIGHUP, on_hup, engine);
    loop_on_signal(loop, SIGUSR1, on_hup, engine);
    hook_ms = getenv("CHIME_TEST_DRIFT_INTERVAL_MS");
    if (hook_ms && atoi(hook_ms) > 0 && !o.once) {
        hook.interval_ns = (int64_t)atoi(hook_ms) * 1000000;
        loop_timer_at(loop, (mono_ns){ 0 }, drift_hook_fire, &hook);
    }

    if (!o.foreground)
        daemonize();
    if (pidfile)
        pid_fd = write_pidfile(pidfile, pid_fd);
    /* Least privilege, once every socket is bound and every file open:
     * another user (keeping only CAP_SYS_TIME), then the system-call
     * filter. Failing either is fatal: never serve the network with more
     * privilege than the administrator asked for. */
    if (o.user) {
        bool kept;

        if (sandbox_drop_user(&su, !o.no_clock, &kept) < 0)
            fatalx("sandbox", "cannot drop privileges to '%s'", o.user);
    }
    if (sandbox_seccomp(o.filter) < 0)
        fatalx("sandbox", "cannot install the system-call filter (-F 0 turns it off)");
    /* Server threads only now: daemonize()'s fork would have lost them,
     * and they start under the system-call filter (TSYNC covers them anyway). */
    engine_workers_start(engine);
    log_info("main", "chimed " CHIME_VERSION " running (%s)", o.config);
    if (notify_send("READY=1") < 0)
        log_warn("main", "NOTIFY_SOCKET");

    rc = loop_run(loop);
    if (rc < 0)
        log_warn("main", "event loop");
    if (o.once) {
        rc = engine->client.exit_code ? -2 : 0;
    } else {
        engine_write_drift(engine);
        engine_log_stats(engine);
    }
    notify_send("STOPPING=1");
    engine_free(engine);
    free(engine);
    loop_free(loop);
    if (pidfile) {
        unlink(pidfile);    /* still locked: no newcomer can own it yet */
        close(pid_fd);
    }
    conf_free(cfg);
    return rc < 0 ? 1 : 0;
}

/* chime-sim: run a scenario through chime's real client core on virtual
 * time and report how well the clock would be kept.
 *
 *   chime-sim [-s SEED] [-j] [-l] [--short] [-d DURATION] [-t FILE [-T SECONDS]] SCENARIO
 *
 * See docs/chime-sim.1 for the scenario language and the output.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "scenario.h"
#include "sim.h"

struct opts {
    uint64_t seed;
    bool have_seed, json, short_run;
    int64_t duration;           /* 0 = the scenario's */
    const char *trace_path;
    bool log;                   /* -l: the node's log lines on stderr */
    int trace_every;
    const char *path;
};

static void usage(FILE *f)
{
    fprintf(f, "usage: chime-sim [-s SEED] [-j] [-l] [--short] [-d DURATION] "
               "[-t TRACE [-T SECONDS]] SCENARIO\n"
               "  -l  the client's log lines on stderr, stamped with simulated seconds\n"
               "  exit status 3: an 'expect' line of the scenario failed\n");
}

static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int parse_duration_arg(const char *arg, int64_t *ns)
{
    struct scenario tmp;
    char text[128], err[SIM_ERR_LEN];
    /* Reuse the scenario language's units: "duration ARG". */
    snprintf(text, sizeof text, "duration %s\nserver X\n", arg);
    if (scenario_parse("-d", text, &tmp, err, sizeof err) < 0) {
        fprintf(stderr, "chime-sim: bad duration '%s'\n", arg);
        return -1;
    }
    *ns = tmp.duration;
    return 0;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
    static const struct option longopts[] = {
        { "short", no_argument, NULL, 'S' }, { "json", no_argument, NULL, 'j' },
        { "seed", required_argument, NULL, 's' }, { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int ch;
    char *end;
    memset(o, 0, sizeof *o);
    o->trace_every = 60;
    while ((ch = getopt_long(argc, argv, "s:jd:t:T:lh", longopts, NULL)) != -1) {
        switch (ch) {
        case 's':
            errno = 0;
            o->seed = strtoull(optarg, &end, 0);
            if (*end || errno || end == optarg) {
                fprintf(stderr, "chime-sim: bad seed '%s'\n", optarg);
                return -1;
            }
            o->have_seed = true;
            break;
        case 'j': o->json = true; break;
        case 'l': o->log = true; break;
        case 'S': o->short_run = true; break;
        case 'd':
            if (parse_duration_arg(optarg, &o->duration) < 0)
                return -1;
            break;
        case 't': o->trace_path = optarg; break;
        case 'T': o->trace_every = atoi(optarg); break;
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); return -1;
        }
    }
    if (optind != argc - 1) {
        usage(stderr);
        return -1;
    }
    o->path = argv[optind];
    return 0;
}

static double frac(uint64_t part, uint64_t whole)
{
    return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

static void print_text(const struct scenario *sc, const struct sim_result *r)
{
    char a[32], b[32], d[32];
    printf("scenario     %s (%s)\n", sc->name, sc->path);
    printf("seed         %" PRIu64 "\n", r->seed);
    printf("duration     %s, window %s-%s (%" PRIu64 " samples)\n",
           format_duration(r->duration, d, sizeof d),
           format_duration(r->win_from, a, sizeof a),
           format_duration(r->win_to, b, sizeof b), r->n_samples);
    printf("rms offset   %.3f us\n", r->rms * 1e6);
    printf("max offset   %.3f us\n", r->max_abs * 1e6);
    printf("mean offset  %+.3f us\n", r->mean * 1e6);
    printf("rms freq     %.5f ppm\n", r->freq_rms_ppm);
    if (r->converge_s < 0)
        printf("converge     never (|offset| >= 1 ms at the end)\n");
    else
        printf("converge     %.0f s (|offset| < 1 ms from then on)\n", r->converge_s);
    printf("packets      %" PRIu64 " sent, %" PRIu64 " replies used or dropped by the core\n",
           r->packets_sent, r->replies);
    printf("steps        %" PRIu64 "\n", r->steps);
    printf("sys peer     %" PRIu64 " changes, %" PRIu64 " log lines at info or above\n",
           r->peer_changes, r->log_lines);
    if (sc->client.jump_at > 0)
        printf("freq jump    below 200 us for good %.0f s after it (-1: never)\n",
               r->jump_recover_s);
    if (r->replaced)
        printf("pools        %" PRIu64 " members replaced\n", r->replaced);
    if (sc->once)
        printf("once         %s at %.3f s (exit %d), error then %+.6f s\n",
               r->once_exit < 0 ? "undecided" : "decided", r->once_done_s, r->once_exit,
               r->final_offset);
    printf("cpu          %.3f s\n", r->cpu_s);
    if (sc->leap_at || r->li_served_s || r->leap_armed) {
        printf("leap         %s, clock jump %+.0f s at %+.9f s, max error after %.6f s,"
               " < 1 ms from %+.0f s on\n", r->leap_armed ? "armed" : "NOT armed",
               r->leap_jump_s, r->leap_jump_at_s, r->leap_max_err_s, r->leap_recover_s);
        printf("served       LI for %" PRIu64 " s", r->li_served_s);
        if (r->smear_samples)
            printf("; smear max error %.3f us, %" PRIu64 " of %" PRIu64 " replies with LI",
                   r->smear_max_err_s * 1e6, r->smear_li, r->smear_samples);
        printf("\n");
    }
    printf("server       sent  samples  peer%%  surv%%  false%%  outl%%  unfit%%\n");
    for (int i = 0; i < r->n_servers; i++) {
        const struct sim_server_result *s = &r->srv[i];
        printf("  %-9s %6" PRIu64 " %8" PRIu64 " %6.1f %6.1f %6.1f %6.1f %6.1f\n",
               sc->srv[i].name, s->sent, s->samples, frac(s->sys_peer, r->n_samples),
               frac(s->survivor, r->n_samples), frac(s->falseticker, r->n_samples),
               frac(s->outlier, r->n_samples), frac(s->unfit, r->n_samples));
    }
}

static void print_json(const struct scenario *sc, const struct sim_result *r)
{
    printf("{\"scenario\":\"%s\",\"file\":\"%s\",\"seed\":%" PRIu64
           ",\"duration_s\":%.0f,\"window_s\":[%.0f,%.0f],\"samples\":%" PRIu64
           ",\"rms_offset_s\":%.9f,\"max_offset_s\":%.9f,\"mean_offset_s\":%.9f"
           ",\"rms_freq_ppm\":%.6f,\"converge_s\":%.0f,\"packets_sent\":%" PRIu64
           ",\"replies\":%" PRIu64 ",\"steps\":%" PRIu64 ",\"cpu_s\":%.3f,\"servers\":[",
           sc->name, sc->path, r->seed, (double)r->duration * 1e-9,
           (double)r->win_from * 1e-9, (double)r->win_to * 1e-9, r->n_samples,
           r->rms, r->max_abs, r->mean, r->freq_rms_ppm, r->converge_s,
           r->packets_sent, r->replies, r->steps, r->cpu_s);
    for (int i = 0; i < r->n_servers; i++) {
        const struct sim_server_result *s = &r->srv[i];
        printf("%s{\"name\":\"%s\",\"sent\":%" PRIu64 ",\"samples\":%" PRIu64
               ",\"sys_peer\":%.4f,\"survivor\":%.4f,\"falseticker\":%.4f"
               ",\"outlier\":%.4f,\"unfit\":%.4f}",
               i ? "," : "", sc->srv[i].name, s->sent, s->samples,
               frac(s->sys_peer, r->n_samples) / 100, frac(s->survivor, r->n_samples) / 100,
               frac(s->falseticker, r->n_samples) / 100,
               frac(s->outlier, r->n_samples) / 100, frac(s->unfit, r->n_samples) / 100);
    }
    printf("]");
    printf(",\"leap_armed\":%d,\"leap_jump_at_s\":%.9f,\"leap_jump_s\":%.9f"
               ",\"leap_max_err_s\":%.9f,\"leap_recover_s\":%.0f,\"li_served_s\":%" PRIu64
               ",\"smear_max_err_s\":%.9f,\"smear_li\":%" PRIu64 ",\"smear_samples\":%" PRIu64,
               r->leap_armed, isnan(r->leap_jump_at_s) ? -1e9 : r->leap_jump_at_s,
               r->leap_jump_s, r->leap_max_err_s, r->leap_recover_s, r->li_served_s,
               r->smear_max_err_s, r->smear_li, r->smear_samples);
    printf(",\"replaced\":%" PRIu64 ",\"once_exit\":%d,\"once_done_s\":%.3f"
           ",\"peer_changes\":%" PRIu64 ",\"log_lines\":%" PRIu64 ",\"jump_recover_s\":%.0f}\n",
           r->replaced, r->once_exit, r->once_done_s, r->peer_changes, r->log_lines,
           r->jump_recover_s);
}

/* A scenario's own bounds: "expect rms <= 30us" and friends. */
static double metric(const struct scenario *sc, const struct sim_result *r, const char *m)
{
    double days = (double)r->duration * 1e-9 / 86400.0;
    int configured = 0;
    for (int i = 0; i < sc->n_servers; i++)
        configured += sc->srv[i].configured;
    if (strcmp(m, "rms") == 0) return r->rms;
    if (strcmp(m, "max") == 0) return r->max_abs;
    if (strcmp(m, "mean") == 0) return r->mean;
    if (strcmp(m, "converge") == 0) return r->converge_s < 0 ? INFINITY : r->converge_s;
    if (strcmp(m, "packets_day") == 0)   /* per source line's host */
        return (double)r->packets_sent / days / (configured ? configured : 1);
    if (strcmp(m, "replaced") == 0) return (double)r->replaced;
    if (strcmp(m, "peer_changes") == 0) return (double)r->peer_changes;
    if (strcmp(m, "log_lines") == 0) return (double)r->log_lines;
    if (strcmp(m, "recover") == 0) return r->jump_recover_s < 0 ? INFINITY : r->jump_recover_s;
    if (strcmp(m, "exit") == 0) return r->once_exit;
    if (strcmp(m, "done_s") == 0) return r->once_exit < 0 ? INFINITY : r->once_done_s;
    return fabs(r->final_offset);       /* "error": at the end (after -q's step) */
}

static int check_expectations(const struct scenario *sc, const struct sim_result *r)
{
    int failed = 0;
    for (int i = 0; i < sc->n_expect; i++) {
        const struct sim_expect *x = &sc->expect[i];
        double v = metric(sc, r, x->metric);
        bool ok = strcmp(x->op, "<=") == 0 ? v <= x->value :
                  strcmp(x->op, ">=") == 0 ? v >= x->value : v == x->value;
        fprintf(ok ? stdout : stderr, "expect       %s:%d: %s %s %g: %s (%g)\n", sc->path,
                x->line, x->metric, x->op, x->value, ok ? "ok" : "FAILED", v);
        failed += !ok;
    }
    return failed;
}

int main(int argc, char **argv)
{
    struct opts o;
    struct scenario *sc;
    struct sim_result r;
    char err[SIM_ERR_LEN];
    FILE *trace = NULL;

    if (parse_args(argc, argv, &o) < 0)
        return 2;
    if (!(sc = malloc(sizeof *sc)))
        return 1;
    if (scenario_load(o.path, sc, err, sizeof err) < 0) {
        fprintf(stderr, "chime-sim: %s\n", err);
        free(sc);
        return 2;
    }
    if (o.trace_path && !(trace = fopen(o.trace_path, "w"))) {
        fprintf(stderr, "chime-sim: %s: %s\n", o.trace_path, strerror(errno));
        free(sc);
        return 1;
    }
    int64_t duration = o.duration ? o.duration :
                       o.short_run ? sc->short_duration : sc->duration;
    double cpu0 = cpu_seconds();
    if (sim_run(sc, o.have_seed ? o.seed : sc->seed, duration, trace, o.trace_every,
                o.log ? stderr : NULL, &r, err, sizeof err) < 0) {
        fprintf(stderr, "chime-sim: %s\n", err);
        if (trace)
            fclose(trace);
        free(sc);
        return 2;
    }
    r.cpu_s = cpu_seconds() - cpu0;
    if (trace)
        fclose(trace);
    if (o.json)
        print_json(sc, &r);
    else
        print_text(sc, &r);
    int failed = o.json ? 0 : check_expectations(sc, &r);
    free(sc);
    return failed ? 3 : 0;
}

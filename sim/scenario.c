/* sim/scenario: the scenario parser (see scenario.h for the grammar).
 *
 * Kept deliberately dull: a line is split into words, the first word
 * picks a directive, each directive walks its words as KEY VALUE pairs
 * or flags. Every error names the file, the line and the word.
 */
#include "scenario.h"

#include "core/leap.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WORDS 48
#define MAX_LINE 1024
#define MAX_FILE (256 * 1024)
#define NS_S 1000000000.0

struct ctx {
    struct scenario *sc;
    const char *path;
    int line;
    char *err;
    size_t errlen;
};

__attribute__((format(printf, 2, 3)))
static int fail(struct ctx *c, const char *fmt, ...)
{
    va_list ap;
    int n = snprintf(c->err, c->errlen, "%s:%d: ", c->path, c->line);
    if (n < 0 || (size_t)n >= c->errlen)
        return -1;
    va_start(ap, fmt);
    vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

/* ---- numbers with units ----------------------------------------------- */

struct unit {
    const char *suffix;
    double scale;
};

static const struct unit time_units[] = {
    { "ns", 1e-9 }, { "us", 1e-6 }, { "ms", 1e-3 }, { "s", 1.0 },
    { "m", 60.0 }, { "min", 60.0 }, { "h", 3600.0 }, { "d", 86400.0 },
    { "", 1.0 }, { NULL, 0 },
};
static const struct unit freq_units[] = {
    { "ppm", 1.0 }, { "ppb", 1e-3 }, { "", 1.0 }, { NULL, 0 },
};
static const struct unit prob_units[] = {
    { "%", 0.01 }, { "", 1.0 }, { NULL, 0 },
};

/* A number followed by one of the units; the whole word must match. */
static bool parse_unit(const char *w, const struct unit *u, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(w, &end);
    if (end == w || errno != 0 || !isfinite(v))
        return false;
    for (; u->suffix; u++) {
        if (strcmp(end, u->suffix) == 0) {
            *out = v * u->scale;
            return true;
        }
    }
    return false;
}

static int get_seconds(struct ctx *c, const char *w, double *s)
{
    if (!parse_unit(w, time_units, s))
        return fail(c, "bad time '%s' (e.g. 10ms, -50ms, 6h)", w);
    return 0;
}

static int get_duration(struct ctx *c, const char *w, int64_t *ns)
{
    double s;
    if (get_seconds(c, w, &s) < 0)
        return -1;
    if (s < 0 || s > 1e8)
        return fail(c, "duration out of range '%s'", w);
    *ns = (int64_t)llround(s * NS_S);
    return 0;
}

static int get_freq(struct ctx *c, const char *w, double *ppm)
{
    if (!parse_unit(w, freq_units, ppm) || fabs(*ppm) > 1e5)
        return fail(c, "bad frequency '%s' (e.g. 10ppm, -500ppb)", w);
    return 0;
}

static int get_prob(struct ctx *c, const char *w, double *p)
{
    if (!parse_unit(w, prob_units, p) || *p < 0 || *p > 1)
        return fail(c, "bad probability '%s' (e.g. 20%% or 0.2)", w);
    return 0;
}

static int get_int(struct ctx *c, const char *w, long lo, long hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(w, &end, 10);
    if (end == w || *end != '\0' || errno != 0 || v < lo || v > hi)
        return fail(c, "bad number '%s' (%ld..%ld)", w, lo, hi);
    *out = (int)v;
    return 0;
}

static int get_real(struct ctx *c, const char *w, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(w, &end);
    if (end == w || *end != '\0' || errno != 0 || !(v >= lo && v <= hi))
        return fail(c, "bad number '%s'", w);
    *out = v;
    return 0;
}

/* ---- delays: TERM[+TERM...] ------------------------------------------- */

/* "exp(10us)" -> kind and the text between the parentheses. */
static bool split_call(const char *w, const char *fn, char *args, size_t len)
{
    size_t n = strlen(fn), wl = strlen(w);
    if (strncmp(w, fn, n) != 0 || w[n] != '(' || wl < n + 2 || w[wl - 1] != ')')
        return false;
    if (wl - n - 2 >= len)
        return false;
    memcpy(args, w + n + 1, wl - n - 2);
    args[wl - n - 2] = '\0';
    return true;
}

/* One or two comma-separated non-negative durations (seconds). */
static int get_args(struct ctx *c, char *args, double *a, double *b, int *n)
{
    char *comma = strchr(args, ',');
    *n = 1;
    if (comma) {
        *comma = '\0';
        *n = 2;
        if (get_seconds(c, comma + 1, b) < 0)
            return -1;
    }
    if (get_seconds(c, args, a) < 0)
        return -1;
    if (*a < 0 || (*n == 2 && *b < 0))
        return fail(c, "negative delay parameter");
    return 0;
}

static int get_term(struct ctx *c, const char *w, struct dist_term *t)
{
    char args[64];
    double a = 0, b = 0;
    int n;
    if (split_call(w, "exp", args, sizeof args)) {
        if (get_args(c, args, &a, &b, &n) < 0 || n != 1)
            return n != 1 ? fail(c, "exp() takes one mean '%s'", w) : -1;
        *t = (struct dist_term){ DIST_EXP, a, 0 };
    } else if (split_call(w, "normal", args, sizeof args)) {
        if (get_args(c, args, &a, &b, &n) < 0)
            return -1;
        *t = n == 1 ? (struct dist_term){ DIST_NORMAL, 0, a }
                    : (struct dist_term){ DIST_NORMAL, a, b };
    } else if (split_call(w, "uniform", args, sizeof args)) {
        if (get_args(c, args, &a, &b, &n) < 0)
            return -1;
        *t = n == 1 ? (struct dist_term){ DIST_UNIFORM, 0, a }
                    : (struct dist_term){ DIST_UNIFORM, a, b };
        if (t->b < t->a)
            return fail(c, "uniform(MIN,MAX) needs MIN <= MAX '%s'", w);
    } else {
        if (get_seconds(c, w, &a) < 0)
            return -1;
        if (a < 0)
            return fail(c, "negative delay '%s'", w);
        *t = (struct dist_term){ DIST_CONST, a, 0 };
    }
    return 0;
}

static int get_delay(struct ctx *c, const char *w, struct delay_model *d)
{
    char buf[MAX_LINE];
    char *save = NULL;
    if (strlen(w) >= sizeof buf)
        return fail(c, "delay too long");
    snprintf(buf, sizeof buf, "%s", w);
    d->n = 0;
    for (char *t = strtok_r(buf, "+", &save); t; t = strtok_r(NULL, "+", &save)) {
        if (d->n == SIM_MAX_TERMS)
            return fail(c, "at most %d delay terms '%s'", SIM_MAX_TERMS, w);
        if (get_term(c, t, &d->t[d->n++]) < 0)
            return -1;
    }
    if (d->n == 0)
        return fail(c, "empty delay '%s'", w);
    return 0;
}

/* "FROM-TO": two durations, FROM < TO. */
static int get_period(struct ctx *c, const char *w, struct period *p)
{
    char buf[128];
    if (strlen(w) >= sizeof buf)
        return fail(c, "period too long");
    snprintf(buf, sizeof buf, "%s", w);
    char *dash = strchr(buf, '-');
    if (!dash || dash == buf)
        return fail(c, "bad period '%s' (FROM-TO, e.g. 2h-4h)", w);
    *dash = '\0';
    if (get_duration(c, buf, &p->from) < 0 || get_duration(c, dash + 1, &p->to) < 0)
        return -1;
    if (p->to <= p->from)
        return fail(c, "period ends before it starts '%s'", w);
    p->every = 0;
    return 0;
}

/* ---- directives --------------------------------------------------------- */

struct words {
    int n;
    char *w[MAX_WORDS];
};

/* The value after words[*i]; advances *i. */
static const char *value(struct ctx *c, const struct words *ws, int *i)
{
    if (*i + 1 >= ws->n) {
        fail(c, "'%s' needs a value", ws->w[*i]);
        return NULL;
    }
    return ws->w[++*i];
}

static struct sim_server *find_server(struct ctx *c, const char *name)
{
    for (int i = 0; i < c->sc->n_servers; i++)
        if (strcmp(c->sc->srv[i].name, name) == 0)
            return &c->sc->srv[i];
    fail(c, "unknown server '%s' (declare it with 'server' first)", name);
    return NULL;
}

/* Link options shared by 'network' and 'server'. Returns 1 if words[*i]
 * was one, 0 if not, -1 on error. */
static int link_option(struct ctx *c, const struct words *ws, int *i,
                       struct link_model *l)
{
    const char *k = ws->w[*i], *v;
    bool both = strcmp(k, "delay") == 0;
    if (!both && strcmp(k, "request") != 0 && strcmp(k, "reply") != 0 &&
        strcmp(k, "loss") != 0)
        return 0;
    if (!(v = value(c, ws, i)))
        return -1;
    if (strcmp(k, "loss") == 0) {
        l->has_loss = true;
        return get_prob(c, v, &l->loss) < 0 ? -1 : 1;
    }
    if (both || strcmp(k, "request") == 0) {
        l->has_request = true;
        if (get_delay(c, v, &l->request) < 0)
            return -1;
    }
    if (both || strcmp(k, "reply") == 0) {
        l->has_reply = true;
        if (get_delay(c, v, &l->reply) < 0)
            return -1;
    }
    return 1;
}

static int d_network(struct ctx *c, const struct words *ws)
{
    for (int i = 1; i < ws->n; i++) {
        int r = link_option(c, ws, &i, &c->sc->net);
        if (r < 0)
            return -1;
        if (r == 0)
            return fail(c, "unknown network option '%s'", ws->w[i]);
    }
    return 0;
}

static int client_option(struct ctx *c, const struct words *ws, int *i)
{
    struct client_model *m = &c->sc->client;
    const char *k = ws->w[*i], *v = value(c, ws, i);
    if (!v)
        return -1;
    if (strcmp(k, "freq") == 0)
        return get_freq(c, v, &m->freq_ppm);
    if (strcmp(k, "wander") == 0)
        return get_real(c, v, 0, 1e-3, &m->wander);
    if (strcmp(k, "offset") == 0)
        return get_seconds(c, v, &m->offset_s);
    if (strcmp(k, "temp") == 0)
        return get_freq(c, v, &m->temp_ppm);
    if (strcmp(k, "period") == 0) {
        int64_t ns;
        if (get_duration(c, v, &ns) < 0)
            return -1;
        if (ns <= 0)
            return fail(c, "period must be positive '%s'", v);
        m->temp_period_s = (double)ns / NS_S;
        return 0;
    }
    if (strcmp(k, "drift") == 0) {
        m->have_drift = true;
        return get_freq(c, v, &m->drift_ppm);
    }
    if (strcmp(k, "precision") == 0)
        return get_int(c, v, -30, 0, &m->precision);
    if (strcmp(k, "jump") == 0) {      /* jump F at D */
        if (get_freq(c, v, &m->jump_ppm) < 0)
            return -1;
        if (*i + 2 >= ws->n || strcmp(ws->w[*i + 1], "at") != 0)
            return fail(c, "client jump F at D");
        *i += 2;
        if (get_duration(c, ws->w[*i], &m->jump_at) < 0)
            return -1;
        return m->jump_at > 0 ? 0 : fail(c, "jump at must be after the start '%s'", ws->w[*i]);
    }
    return fail(c, "unknown client option '%s'", k);
}

static int d_client(struct ctx *c, const struct words *ws)
{
    for (int i = 1; i < ws->n; i++)
        if (client_option(c, ws, &i) < 0)
            return -1;
    return 0;
}

/* Append a chime.conf line at the scenario's line number, so that the
 * config parser's "FILE:LINE" names the scenario's own line. */
static int conf_add(struct ctx *c, const struct words *ws, int first, const char *head)
{
    struct scenario *sc = c->sc;
    char line[MAX_LINE];
    size_t n = 0;
    int w;

    while (sc->conf_lines < c->line - 1 && sc->conf_len + 1 < sizeof sc->conf) {
        sc->conf[sc->conf_len++] = '\n';
        sc->conf_lines++;
    }
    w = snprintf(line, sizeof line, "%s", head ? head : "");
    n = w > 0 ? (size_t)w : 0;
    for (int i = first; i < ws->n && n < sizeof line; i++) {
        w = snprintf(line + n, sizeof line - n, "%s%s", n ? " " : "", ws->w[i]);
        n += w > 0 ? (size_t)w : 0;
    }
    if (n >= sizeof line || sc->conf_len + n + 2 > sizeof sc->conf)
        return fail(c, "client configuration too long");
    memcpy(sc->conf + sc->conf_len, line, n);
    sc->conf_len += n;
    sc->conf[sc->conf_len++] = '\n';
    sc->conf[sc->conf_len] = '\0';
    sc->conf_lines++;
    return 0;
}

static int d_conf(struct ctx *c, const struct words *ws)
{
    return ws->n < 2 ? fail(c, "'conf' needs a chime.conf line") : conf_add(c, ws, 1, NULL);
}

static bool server_flag(struct sim_server *s, const char *k)
{
    bool *f = strcmp(k, "noleap") == 0 ? &s->noleap :
              strcmp(k, "bogusleap") == 0 ? &s->bogusleap : NULL;
    if (f)
        *f = true;
    return f != NULL;
}

/* The words of a server line that configure the client, not the host. */
static bool client_flag(const char *k)
{
    return strcmp(k, "iburst") == 0 || strcmp(k, "burst") == 0 ||
           strcmp(k, "prefer") == 0 || strcmp(k, "noselect") == 0;
}

static bool client_valued(const char *k)
{
    return strcmp(k, "minpoll") == 0 || strcmp(k, "maxpoll") == 0;
}

static int server_value(struct ctx *c, struct sim_server *s, const char *k,
                        const char *v)
{
    if (strcmp(k, "offset") == 0)
        return get_seconds(c, v, &s->offset);
    if (strcmp(k, "stratum") == 0)
        return get_int(c, v, 1, 15, &s->stratum);
    if (strcmp(k, "precision") == 0)
        return get_int(c, v, -30, 0, &s->precision);
    double *d = strcmp(k, "rootdelay") == 0 ? &s->root_delay :
                strcmp(k, "rootdisp") == 0 ? &s->root_disp :
                strcmp(k, "processing") == 0 ? &s->processing : NULL;
    if (!d)
        return fail(c, "unknown server option '%s'", k);
    if (get_seconds(c, v, d) < 0)
        return -1;
    return *d < 0 || *d > 10 ? fail(c, "out of range '%s'", v) : 0;
}

static void server_defaults(struct sim_server *s)
{
    memset(s, 0, sizeof *s);
    s->stratum = 1;
    s->precision = -20;
    s->processing = 20e-6;
}

static int host_options(struct ctx *c, const struct words *ws, struct sim_server *s,
                        struct words *client)
{
    for (int i = 2; i < ws->n; i++) {
        int r = link_option(c, ws, &i, &s->link);
        if (r < 0)
            return -1;
        if (r > 0 || server_flag(s, ws->w[i]))
            continue;
        if (client && client_flag(ws->w[i])) {
            client->w[client->n++] = ws->w[i];
            continue;
        }
        if (client && client_valued(ws->w[i])) {
            client->w[client->n++] = ws->w[i];
            const char *v = value(c, ws, &i);
            if (!v)
                return -1;
            client->w[client->n++] = ws->w[i];
            continue;
        }
        const char *v = value(c, ws, &i);
        if (!v || server_value(c, s, ws->w[i - 1], v) < 0)
            return -1;
    }
    return 0;
}

/* "server NAME ..." and "host NAME ...": a simulated host; a server line
 * also becomes the client's "server NAME <client options>". */
static int d_server(struct ctx *c, const struct words *ws)
{
    struct scenario *sc = c->sc;
    bool configured = strcmp(ws->w[0], "server") == 0;
    struct words client = { .n = 2, .w = { "server", ws->n > 1 ? ws->w[1] : "" } };
    if (ws->n < 2)
        return fail(c, "'%s' needs a name", ws->w[0]);
    if (sc->n_servers == SIM_MAX_SERVERS)
        return fail(c, "at most %d servers", SIM_MAX_SERVERS);
    if (strlen(ws->w[1]) >= SIM_NAME_LEN || strcmp(ws->w[1], "all") == 0)
        return fail(c, "bad server name '%s'", ws->w[1]);
    for (int i = 0; i < sc->n_servers; i++)
        if (strcmp(sc->srv[i].name, ws->w[1]) == 0)
            return fail(c, "server '%s' declared twice", ws->w[1]);
    struct sim_server *s = &sc->srv[sc->n_servers];
    server_defaults(s);
    snprintf(s->name, sizeof s->name, "%s", ws->w[1]);
    s->line = c->line;
    s->configured = configured;
    if (host_options(c, ws, s, configured ? &client : NULL) < 0)
        return -1;
    sc->n_servers++;
    return configured ? conf_add(c, &client, 0, NULL) : 0;
}

static int d_dns(struct ctx *c, const struct words *ws)
{
    struct scenario *sc = c->sc;
    if (ws->n < 3)
        return fail(c, "dns NAME HOST...");
    if (sc->n_dns == SIM_MAX_DNS || strlen(ws->w[1]) >= sizeof sc->dns[0].name)
        return fail(c, "too many dns names, or a name too long");
    struct sim_dns *d = &sc->dns[sc->n_dns++];
    snprintf(d->name, sizeof d->name, "%s", ws->w[1]);
    for (int i = 2; i < ws->n && d->n < SIM_MAX_SERVERS; i++) {
        struct sim_server *h = find_server(c, ws->w[i]);
        if (!h)
            return -1;
        d->srv[d->n++] = (int)(h - sc->srv);
    }
    return 0;
}

static int d_once(struct ctx *c, const struct words *ws)
{
    c->sc->once = true;
    c->sc->once_timeout = 60 * 1000000000LL;
    if (ws->n == 1)
        return 0;
    if (ws->n != 3 || strcmp(ws->w[1], "timeout") != 0)
        return fail(c, "once [timeout D]");
    return get_duration(c, ws->w[2], &c->sc->once_timeout);
}

static int d_expect(struct ctx *c, const struct words *ws)
{
    static const char *const metrics[] = {
        "rms", "max", "mean", "converge", "packets_day", "replaced", "exit", "done_s",
        "peer_changes", "log_lines", "recover",
        "error", NULL,
    };
    struct scenario *sc = c->sc;
    int k;
    if (ws->n != 4)
        return fail(c, "expect METRIC <=|>=|== VALUE");
    for (k = 0; metrics[k] && strcmp(metrics[k], ws->w[1]) != 0; k++)
        ;
    if (!metrics[k])
        return fail(c, "unknown metric '%s'", ws->w[1]);
    if (strcmp(ws->w[2], "<=") && strcmp(ws->w[2], ">=") && strcmp(ws->w[2], "=="))
        return fail(c, "expect: <=, >= or ==, not '%s'", ws->w[2]);
    if (sc->n_expect == SIM_MAX_EXPECT)
        return fail(c, "at most %d expectations", SIM_MAX_EXPECT);
    struct sim_expect *x = &sc->expect[sc->n_expect];
    double v;
    /* durations and counts: "30us", "2ms", "1s" or a bare number */
    if (!parse_unit(ws->w[3], time_units, &v) && get_real(c, ws->w[3], -1e18, 1e18, &v) < 0)
        return -1;
    snprintf(x->metric, sizeof x->metric, "%s", ws->w[1]);
    snprintf(x->op, sizeof x->op, "%s", ws->w[2]);
    x->value = v;
    x->line = c->line;
    sc->n_expect++;
    return 0;
}

static int d_step(struct ctx *c, const struct words *ws)
{
    struct sim_server *s;
    if (ws->n != 5 || strcmp(ws->w[3], "at") != 0)
        return fail(c, "usage: step SERVER OFFSET at TIME");
    if (!(s = find_server(c, ws->w[1])))
        return -1;
    if (s->n_steps == SIM_MAX_STEPS)
        return fail(c, "at most %d steps per server", SIM_MAX_STEPS);
    struct server_step *st = &s->steps[s->n_steps];
    if (get_seconds(c, ws->w[2], &st->by) < 0 || get_duration(c, ws->w[4], &st->at) < 0)
        return -1;
    s->n_steps++;
    return 0;
}

/* FROM-TO [every D] into a period list. */
static int add_period(struct ctx *c, const struct words *ws, int first,
                      struct period *list, int *n)
{
    struct period p;
    if (ws->n != first + 1 && !(ws->n == first + 3 && strcmp(ws->w[first + 1], "every") == 0))
        return fail(c, "usage: %s NAME FROM-TO [every PERIOD]", ws->w[0]);
    if (*n == SIM_MAX_PERIODS)
        return fail(c, "at most %d periods", SIM_MAX_PERIODS);
    if (get_period(c, ws->w[first], &p) < 0)
        return -1;
    if (ws->n == first + 3) {
        if (get_duration(c, ws->w[first + 2], &p.every) < 0)
            return -1;
        if (p.every < p.to - p.from || p.every <= 0)
            return fail(c, "repeat shorter than the period '%s'", ws->w[first + 2]);
    }
    list[(*n)++] = p;
    return 0;
}

static int d_outage(struct ctx *c, const struct words *ws)
{
    struct sim_server *s;
    if (ws->n < 3)
        return fail(c, "usage: outage SERVER FROM-TO [every PERIOD]");
    if (!(s = find_server(c, ws->w[1])))
        return -1;
    return add_period(c, ws, 2, s->outages, &s->n_outages);
}

static int d_linkdown(struct ctx *c, const struct words *ws)
{
    struct link_model *l = &c->sc->net;
    if (ws->n < 3)
        return fail(c, "usage: linkdown SERVER|all FROM-TO [every PERIOD]");
    if (strcmp(ws->w[1], "all") != 0) {
        struct sim_server *s = find_server(c, ws->w[1]);
        if (!s)
            return -1;
        l = &s->link;
    }
    return add_period(c, ws, 2, l->down, &l->n_down);
}

/* tinker, tos: chime.conf lines, checked by the config parser. */
static int d_conf_verbatim(struct ctx *c, const struct words *ws)
{
    return conf_add(c, ws, 0, NULL);
}

static int d_simple(struct ctx *c, const struct words *ws)
{
    struct scenario *sc = c->sc;
    const char *k = ws->w[0];
    if (strcmp(k, "name") == 0) {
        size_t used = 0;
        sc->name[0] = '\0';
        for (int i = 1; i < ws->n && used < sizeof sc->name; i++) {
            int n = snprintf(sc->name + used, sizeof sc->name - used, "%s%s",
                             i > 1 ? " " : "", ws->w[i]);
            used += n > 0 ? (size_t)n : 0;
        }
        return 0;
    }
    if (ws->n != 2)
        return fail(c, "'%s' takes one value", k);
    if (strcmp(k, "duration") == 0)
        return get_duration(c, ws->w[1], &sc->duration);
    if (strcmp(k, "short") == 0)
        return get_duration(c, ws->w[1], &sc->short_duration);
    if (strcmp(k, "seed") == 0) {
        char *end;
        errno = 0;
        sc->seed = strtoull(ws->w[1], &end, 0);
        return *end || errno ? fail(c, "bad seed '%s'", ws->w[1]) : 0;
    }
    /* measure FROM or FROM-TO */
    if (strchr(ws->w[1], '-')) {
        struct period p;
        if (get_period(c, ws->w[1], &p) < 0)
            return -1;
        sc->measure_from = p.from;
        sc->measure_to = p.to;
        return 0;
    }
    sc->measure_to = 0;
    return get_duration(c, ws->w[1], &sc->measure_from);
}

/* 2016-12-31T12:00:00Z (UTC only) -> Unix seconds. */
static int get_iso(struct ctx *c, const char *w, int64_t *out)
{
    int y, mo, d, h, mi, se;
    char z[2];
    if (sscanf(w, "%4d-%2d-%2dT%2d:%2d:%2d%1[Z]", &y, &mo, &d, &h, &mi, &se, z) != 7 ||
        mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 59)
        return fail(c, "bad time '%s' (want YYYY-MM-DDTHH:MM:SSZ)", w);
    /* days from civil (Gregorian, proleptic) */
    int64_t yy = y - (mo <= 2);
    int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
    int64_t yoe = yy - era * 400;
    int64_t doy = (153 * (mo > 2 ? mo - 3 : mo + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    int64_t days = era * 146097 + doe - 719468;
    *out = days * 86400 + h * 3600 + mi * 60 + se;
    return 0;
}

static int d_leap(struct ctx *c, const struct words *ws)
{
    struct scenario *sc = c->sc;
    const char *k = ws->w[0];
    if (strcmp(k, "start") == 0)
        return ws->n != 2 ? fail(c, "start ISO-TIME") : get_iso(c, ws->w[1], &sc->start_unix);
    if (strcmp(k, "leap") == 0) {
        if (ws->n < 2 || ws->n > 3)
            return fail(c, "leap ISO-MIDNIGHT [insert|delete]");
        if (get_iso(c, ws->w[1], &sc->leap_at) < 0)
            return -1;
        if (sc->leap_at % 86400 != 0)
            return fail(c, "a leap happens at a UTC midnight");
        sc->leap_dir = 1;
        if (ws->n == 3 && strcmp(ws->w[2], "delete") == 0)
            sc->leap_dir = -1;
        else if (ws->n == 3 && strcmp(ws->w[2], "insert") != 0)
            return fail(c, "leap: insert or delete, not '%s'", ws->w[2]);
        return 0;
    }
    if (strcmp(k, "leapsecmode") == 0) {
        if (ws->n != 2 || (sc->leap_mode = leap_mode_parse(ws->w[1])) < 0)
            return fail(c, "leapsecmode system|step|slew|ignore");
        return conf_add(c, ws, 0, NULL);
    }
    /* leapsmear INTERVAL [linear|cosine] */
    if (ws->n < 2 || ws->n > 3 || get_seconds(c, ws->w[1], &sc->smear_s) < 0)
        return fail(c, "leapsmear INTERVAL [linear|cosine]");
    sc->smear_shape = LEAP_SMEAR_LINEAR;
    if (ws->n == 3 && strcmp(ws->w[2], "cosine") == 0)
        sc->smear_shape = LEAP_SMEAR_COSINE;
    else if (ws->n == 3 && strcmp(ws->w[2], "linear") != 0)
        return fail(c, "leapsmear: linear or cosine, not '%s'", ws->w[2]);
    /* the client smears what it serves: chime.conf takes seconds */
    char secs[32];
    struct words line = { .n = 3, .w = { "leapsmear", secs,
        sc->smear_shape == LEAP_SMEAR_COSINE ? "cosine" : "linear" } };
    snprintf(secs, sizeof secs, "%.0f", sc->smear_s);
    return conf_add(c, &line, 0, NULL);
}

struct directive {
    const char *name;
    int (*fn)(struct ctx *, const struct words *);
};

static const struct directive directives[] = {
    { "name", d_simple }, { "duration", d_simple }, { "short", d_simple },
    { "seed", d_simple }, { "measure", d_simple }, { "client", d_client },
    { "network", d_network }, { "server", d_server }, { "step", d_step },
    { "outage", d_outage }, { "linkdown", d_linkdown }, { "tinker", d_conf_verbatim },
    { "tos", d_conf_verbatim }, { "start", d_leap }, { "leap", d_leap },
    { "host", d_server }, { "dns", d_dns }, { "conf", d_conf }, { "once", d_once },
    { "expect", d_expect },
    { "leapsecmode", d_leap }, { "leapsmear", d_leap }, { NULL, NULL },
};

/* ---- lines and files ----------------------------------------------------- */

static int split_words(struct ctx *c, char *line, struct words *ws)
{
    char *hash = strchr(line, '#'), *save = NULL;
    if (hash)
        *hash = '\0';
    ws->n = 0;
    for (char *t = strtok_r(line, " \t\r", &save); t; t = strtok_r(NULL, " \t\r", &save)) {
        if (ws->n == MAX_WORDS)
            return fail(c, "too many words");
        ws->w[ws->n++] = t;
    }
    return 0;
}

static int parse_line(struct ctx *c, char *line)
{
    struct words ws;
    if (split_words(c, line, &ws) < 0)
        return -1;
    if (ws.n == 0)
        return 0;
    for (const struct directive *d = directives; d->name; d++)
        if (strcmp(d->name, ws.w[0]) == 0)
            return d->fn(c, &ws);
    return fail(c, "unknown directive '%s'", ws.w[0]);
}

static void defaults(struct scenario *sc, const char *path)
{
    memset(sc, 0, sizeof *sc);
    snprintf(sc->path, sizeof sc->path, "%s", path);
    const char *base = strrchr(path, '/');
    snprintf(sc->name, sizeof sc->name, "%s", base ? base + 1 : path);
    char *dot = strrchr(sc->name, '.');
    if (dot && dot != sc->name)
        *dot = '\0';
    sc->duration = 86400LL * 1000000000LL;
    sc->short_duration = 6 * 3600LL * 1000000000LL;
    sc->measure_from = 3600LL * 1000000000LL;
    sc->seed = 1;
    sc->client.precision = -22;
    sc->client.temp_period_s = 86400.0;
    /* A link nobody described: a quiet LAN. */
    sc->net.request = (struct delay_model){ 1, { { DIST_CONST, 100e-6, 0 } } };
    sc->net.reply = sc->net.request;
    sc->start_unix = 1735689600;        /* 2025-01-01T00:00:00Z */
}

/* Links take the network's settings for whatever they did not set. */
static void finish(struct scenario *sc)
{
    for (int i = 0; i < sc->n_servers; i++) {
        struct link_model *l = &sc->srv[i].link;
        if (!l->has_request)
            l->request = sc->net.request;
        if (!l->has_reply)
            l->reply = sc->net.reply;
        if (!l->has_loss)
            l->loss = sc->net.loss;
        for (int k = 0; k < sc->net.n_down && l->n_down < SIM_MAX_PERIODS; k++)
            l->down[l->n_down++] = sc->net.down[k];
    }
    if (sc->short_duration > sc->duration)
        sc->short_duration = sc->duration;
}

int scenario_parse(const char *path, const char *text, struct scenario *sc,
                   char *err, size_t errlen)
{
    struct ctx c = { sc, path, 0, err, errlen };
    char line[MAX_LINE];
    defaults(sc, path);
    while (*text) {
        const char *nl = strchr(text, '\n');
        size_t len = nl ? (size_t)(nl - text) : strlen(text);
        c.line++;
        if (len >= sizeof line)
            return fail(&c, "line too long");
        memcpy(line, text, len);
        line[len] = '\0';
        if (parse_line(&c, line) < 0)
            return -1;
        text += len + (nl ? 1 : 0);
    }
    if (sc->n_servers == 0)
        return fail(&c, "no server: add a line like 'server A'");
    if (sc->measure_to && sc->measure_to <= sc->measure_from)
        return fail(&c, "empty measurement window");
    finish(sc);
    return 0;
}

int scenario_load(const char *path, struct scenario *sc, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    char *buf = malloc(MAX_FILE + 1);
    if (!buf) {
        fclose(f);
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    size_t n = fread(buf, 1, MAX_FILE + 1, f);
    bool bad = ferror(f) || n > MAX_FILE || memchr(buf, '\0', n);
    fclose(f);
    buf[n > MAX_FILE ? MAX_FILE : n] = '\0';
    int r = bad ? -1 : scenario_parse(path, buf, sc, err, errlen);
    if (bad)
        snprintf(err, errlen, "%s: unreadable, too large or binary", path);
    free(buf);
    return r;
}

bool period_contains(const struct period *p, int n, int64_t t)
{
    for (int i = 0; i < n; i++) {
        int64_t x = t;
        if (p[i].every > 0 && x >= p[i].from)
            x = p[i].from + (x - p[i].from) % p[i].every;
        if (x >= p[i].from && x < p[i].to)
            return true;
    }
    return false;
}

const char *format_duration(int64_t ns, char *buf, size_t len)
{
    double s = (double)ns / NS_S;
    if (ns % (3600LL * 1000000000LL) == 0 && ns != 0)
        snprintf(buf, len, "%.0fh", s / 3600);
    else if (s >= 1.0 || s == 0)
        snprintf(buf, len, "%gs", s);
    else if (s >= 1e-3)
        snprintf(buf, len, "%gms", s * 1e3);
    else
        snprintf(buf, len, "%gus", s * 1e6);
    return buf;
}

/* daemon/engine_access: the config's restrict / discard / ratelimit lines
 * -> the core's restrict table and rate limiter. */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "daemon/engine.h"
#include "sys/clock.h"
#include "sys/log.h"

void engine_res_addr(const struct net_addr *a, struct res_addr *out)
{
    memset(out, 0, sizeof(*out));
    if (a->ss.ss_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)&a->ss;

        out->family = 4;
        memcpy(out->a, &s4->sin_addr, 4);
    } else if (a->ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&a->ss;

        res_addr_from_ipv6(s6->sin6_addr.s6_addr, out);
    }
}

static void rule_from_conf(const struct conf_restrict *r, struct res_rule *out)
{
    memset(out, 0, sizeof(*out));
    out->flags = r->flags;
    out->remove = r->unrestrict;
    if (r->is_default) {
        out->family = r->family == AF_INET ? 4 : r->family == AF_INET6 ? 6 : 0;
        out->prefix = 0;
        return;
    }
    if (r->addr.ss_family == AF_INET) {
        out->family = 4;
        memcpy(out->a, &((const struct sockaddr_in *)&r->addr)->sin_addr, 4);
        out->prefix = r->prefix_len;
        return;
    }
    /* "restrict ::ffff:192.0.2.0/120" is the IPv4 rule 192.0.2.0/24, as
     * the sources it names are normalised to IPv4 before matching. */
    const uint8_t *a6 = ((const struct sockaddr_in6 *)&r->addr)->sin6_addr.s6_addr;
    struct res_addr n;

    res_addr_from_ipv6(a6, &n);
    if (n.v4mapped && r->prefix_len >= 96) {
        out->family = 4;
        memcpy(out->a, n.a, 4);
        out->prefix = (unsigned)r->prefix_len - 96;
        return;
    }
    out->family = 6;
    memcpy(out->a, a6, 16);
    out->prefix = r->prefix_len;
}

int engine_access_compile(const struct config *cfg, struct restrict_table *rt)
{
    struct res_rule *rules = xcalloc(cfg->n_restricts + 1, sizeof(*rules));
    size_t n = 0;
    int rc;

    for (size_t i = 0; i < cfg->n_restricts; i++) {
        /* "restrict source" concerns associations we start, not requests
         * we serve: nothing to match here. */
        if (cfg->restricts[i].is_source)
            continue;
        rule_from_conf(&cfg->restricts[i], &rules[n++]);
    }
    rc = restrict_compile(rt, rules, n);
    free(rules);
    return rc;      /* no log here: a reload runs this in a worker thread */
}

int engine_ratelimit_init(const struct config *cfg, struct ratelimit *rl, bool log)
{
    const struct conf_ratelimit *c = &cfg->ratelimit;
    struct rl_params p;
    uint64_t seed = 0;

    rl_params_default(&p);
    if (c->average >= 0) p.average = c->average;
    if (c->minimum >= 0) p.minimum = c->minimum;
    if (c->burst > 0) p.burst = c->burst;
    if (c->leak >= 0) p.leak = c->leak;
    if (c->prefix4 > 0) p.prefix4 = (unsigned)c->prefix4;
    if (c->prefix6 > 0) p.prefix6 = (unsigned)c->prefix6;
    if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
        seed = (uint64_t)clock_read_real().ns ^ 0x5bd1e995u;
    if (ratelimit_init(rl, &p, c->entries > 0 ? (size_t)c->entries : 0, seed) < 0) {
        log_warnx("server", "out of memory for the rate-limit table");
        return -1;
    }
    if (log)
        log_info("server", "rate limits: average 2^%d s, minimum %d s, burst %d, leak 1/%d, "
             "table %zu clients (%zu bytes)", p.average, p.minimum, p.burst,
             p.leak ? 1 << p.leak : 0, ratelimit_capacity(rl), ratelimit_memory(rl));
    return 0;
}

static void log_rules(const struct restrict_table *rt)
{
    if (!log_debug_enabled())
        return;     /* 100,000 lines: no formatting for nothing */
    for (size_t i = 0; i < rt->n; i++) {
        const struct res_entry *x = &rt->e[i];
        char fl[160];

        log_debug("server", "restrict %s%s/%u: %s%s", x->family == 4 ? "v4 " : "v6 ",
                  x->prefix == 0 ? "default" : "addr", x->prefix,
                  restrict_flags_str(x->flags, fl, sizeof(fl)),
                  x->builtin ? " (built-in)" : "");
    }
}

int engine_access_init(struct engine *e)
{
    if (engine_access_compile(e->cfg, &e->serve.rt) < 0) {
        log_warnx("server", "out of memory for the restrict table");
        return -1;
    }
    if (engine_ratelimit_init(e->cfg, &e->serve.rl, true) < 0)
        return -1;
    server_set_access(&e->serve.server, &e->serve.rt, &e->serve.rl);
    log_rules(&e->serve.rt);
    return 0;
}

/* The rate limiter's settings, without where they were written. */
static bool same_ratelimit(const struct conf_ratelimit *a, const struct conf_ratelimit *b)
{
    return a->average == b->average && a->minimum == b->minimum && a->burst == b->burst &&
           a->leak == b->leak && a->prefix4 == b->prefix4 && a->prefix6 == b->prefix6 &&
           a->entries == b->entries;
}

int engine_access_reload(struct engine *e, const struct config *cfg,
                         struct restrict_table *compiled)
{
    const struct config *cur = e->reloaded ? e->reloaded : e->cfg;
    struct restrict_table nt, ot;
    struct ratelimit nrl, orl;
    bool new_rl = !same_ratelimit(&cur->ratelimit, &cfg->ratelimit);

    memset(&nrl, 0, sizeof(nrl));
    if (compiled != NULL) {
        nt = *compiled;
    } else if (engine_access_compile(cfg, &nt) < 0) {
        log_warnx("server", "out of memory for the restrict table");
        return -1;
    }
    if (new_rl && engine_ratelimit_init(cfg, &nrl, true) < 0) {
        restrict_free(&nt);
        return -1;
    }
    /* Everything is built: swap. The event loop is single-threaded, so no
     * request is ever matched against a half-installed table; the old
     * ones are freed only once the server points at the new ones. */
    ot = e->serve.rt;
    e->serve.rt = nt;
    if (new_rl) {
        orl = e->serve.rl;
        e->serve.rl = nrl;
    }
    server_set_access(&e->serve.server, &e->serve.rt, &e->serve.rl);
    /* Worker threads read the table too: the old one goes only once none
     * of them can still be matching against it. */
    if (engine_workers_republish(e, cfg, new_rl) < 0)
        log_warnx("server", "out of memory for the workers' rate-limit tables: kept");
    restrict_free(&ot);
    if (new_rl)
        ratelimit_free(&orl);
    else
        log_info("server", "rate limits unchanged: client table kept");
    log_rules(&e->serve.rt);
    return (int)e->serve.rt.n;
}

void engine_access_free(struct engine *e)
{
    restrict_free(&e->serve.rt);
    ratelimit_free(&e->serve.rl);
}

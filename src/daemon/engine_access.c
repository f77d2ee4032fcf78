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
        static const uint8_t v4mapped[12] = { [10] = 0xff, [11] = 0xff };

        /* A v4-mapped source is the IPv4 host it stands for. */
        if (memcmp(s6->sin6_addr.s6_addr, v4mapped, 12) == 0) {
            out->family = 4;
            memcpy(out->a, s6->sin6_addr.s6_addr + 12, 4);
        } else {
            out->family = 6;
            memcpy(out->a, s6->sin6_addr.s6_addr, 16);
        }
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
    } else {
        out->family = 6;
        memcpy(out->a, &((const struct sockaddr_in6 *)&r->addr)->sin6_addr, 16);
    }
    out->prefix = r->prefix_len;
}

int engine_access_init(struct engine *e)
{
    const struct config *cfg = e->cfg;
    const struct conf_ratelimit *c = &cfg->ratelimit;
    struct res_rule *rules = xcalloc(cfg->n_restricts + 1, sizeof(*rules));
    struct rl_params p;
    size_t n = 0;
    uint64_t seed = 0;
    int rc;

    for (size_t i = 0; i < cfg->n_restricts; i++) {
        /* "restrict source" concerns associations we start, not requests
         * we serve: nothing to match here. */
        if (cfg->restricts[i].is_source)
            continue;
        rule_from_conf(&cfg->restricts[i], &rules[n++]);
    }
    rc = restrict_compile(&e->rt, rules, n);
    free(rules);
    if (rc < 0) {
        log_warnx("server", "out of memory for the restrict table");
        return -1;
    }
    rl_params_default(&p);
    if (c->average >= 0) p.average = c->average;
    if (c->minimum >= 0) p.minimum = c->minimum;
    if (c->burst > 0) p.burst = c->burst;
    if (c->leak >= 0) p.leak = c->leak;
    if (c->prefix4 > 0) p.prefix4 = (unsigned)c->prefix4;
    if (c->prefix6 > 0) p.prefix6 = (unsigned)c->prefix6;
    if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
        seed = (uint64_t)clock_read_real().ns ^ 0x5bd1e995u;
    if (ratelimit_init(&e->rl, &p, c->entries > 0 ? (size_t)c->entries : 0, seed) < 0) {
        log_warnx("server", "out of memory for the rate-limit table");
        return -1;
    }
    server_set_access(&e->server, &e->rt, &e->rl);
    for (size_t i = 0; i < e->rt.n; i++) {
        const struct res_entry *x = &e->rt.e[i];
        char fl[160];

        log_debug("server", "restrict %s%s/%u: %s%s", x->family == 4 ? "v4 " : "v6 ",
                  x->prefix == 0 ? "default" : "addr", x->prefix,
                  restrict_flags_str(x->flags, fl, sizeof(fl)),
                  x->builtin ? " (built-in)" : "");
    }
    log_info("server", "rate limits: average 2^%d s, minimum %d s, burst %d, leak 1/%d, "
             "table %zu clients (%zu bytes)", p.average, p.minimum, p.burst,
             p.leak ? 1 << p.leak : 0, ratelimit_capacity(&e->rl), ratelimit_memory(&e->rl));
    return 0;
}

void engine_access_free(struct engine *e)
{
    restrict_free(&e->rt);
    ratelimit_free(&e->rl);
}

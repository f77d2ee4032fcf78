/* daemon/engine_nts: the NTS server on chimed's packet path ("nts enable").
 *
 * An NTS request is answered in two steps: its 48-octet header goes
 * through core/server like any request (access control, rate limits,
 * KoD), then, once send_replies() has stamped the transmit time, the NTS
 * fields are sealed over the finished header (the authenticator covers
 * the transmit timestamp, so it cannot be computed earlier). A request
 * whose cookie or authenticator fails gets an NTS NAK. The cookie key is
 * random per start: a restart makes clients key again (keys on disk are
 * a later step). The NTS-KE server runs on its own thread
 * (sys/ntske_server). */
#include "daemon/engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "core/nts_server.h"
#include "sys/log.h"
#include "sys/ntscrypto.h"
#include "sys/ntske_server.h"

struct engine_nts {
    struct nts_server_keys keys;
    struct ntske_server *ke;
    enum nts_srv v[NET_BATCH];
    struct nts_server_req rq[NET_BATCH];
    uint64_t requests, naks, dropped;
};

int engine_nts_init(struct engine *e)
{
    const struct conf_nts *c = &e->cfg->nts;
    struct ntske_server_conf kc;
    uint8_t k[NTS_AEAD_KEY_LEN];
    uint32_t id;
    char err[320];

    if (!c->enable)
        return 0;
    if (!c->cert || !c->key) {
        log_warnx("nts", "%s:%d: nts enable needs nts cert FILE and nts key FILE",
                  c->loc.file ? c->loc.file : "?", c->loc.line);
        return -1;
    }
    if (ntscrypto_init() < 0 || getrandom(k, sizeof(k), 0) != (ssize_t)sizeof(k) ||
        getrandom(&id, sizeof(id), 0) != (ssize_t)sizeof(id)) {
        log_warnx("nts", "cannot set up the NTS cookie key");
        return -1;
    }
    e->serve.nts = calloc(1, sizeof(*e->serve.nts));
    if (!e->serve.nts)
        return -1;
    nts_server_rotate(&e->serve.nts->keys, id, k);
    explicit_bzero(k, sizeof(k));
    kc = (struct ntske_server_conf){ .cert = c->cert, .key = c->key,
                                     .port = c->port ? c->port : NTSKE_PORT,
                                     .ntp_port = e->cfg->port, .keys = &e->serve.nts->keys,
                                     .aead = &ntscrypto_openssl };
    e->serve.nts->ke = ntske_server_start(&kc, err, sizeof(err));
    if (!e->serve.nts->ke) {
        log_warnx("nts", "%s", err);
        return -1;
    }
    log_info("nts", "NTS-KE server on TCP port %u", (unsigned)kc.port);
    return 0;
}

/* Counters at exit. The KE thread may still read the keys: they stay
 * until the process ends. */
void engine_nts_log_stats(const struct engine *e)
{
    uint64_t ok = 0, failed = 0;

    if (!e->serve.nts)
        return;
    ntske_server_counts(e->serve.nts->ke, &ok, &failed);
    log_info("nts", "ke_sessions=%llu ke_failed=%llu nts_requests=%llu naks=%llu dropped=%llu",
             (unsigned long long)ok, (unsigned long long)failed,
             (unsigned long long)e->serve.nts->requests, (unsigned long long)e->serve.nts->naks,
             (unsigned long long)e->serve.nts->dropped);
}

int engine_nts_input(struct engine *e, int i, const uint8_t *buf, size_t len)
{
    struct engine_nts *t = e->serve.nts;

    if (!t)
        return 0;
    t->v[i] = nts_server_check(&ntscrypto_openssl, &t->keys, buf, len, &t->rq[i]);
    switch (t->v[i]) {
    case NTS_SRV_PLAIN:
        return 0;
    case NTS_SRV_DROP:
        t->dropped++;
        return -1;
    case NTS_SRV_NAK:
        t->naks++;
        return 1;
    case NTS_SRV_OK:
        t->requests++;
        return 1;
    }
    return -1;
}

/* The header reply exists: a NAK becomes the kiss "NTSN"; its identifier
 * is added at send time too (server_finish_reply() would take octets
 * after the header for a MAC trailer and clear them). */
void engine_nts_header(struct engine *e, int i, struct net_msg *out)
{
    struct engine_nts *t = e->serve.nts;

    if (!t || t->v[i] != NTS_SRV_NAK || out->len != NTP_HEADER_LEN)
        return;
    out->buf[1] = 0;                        /* stratum 0: a kiss */
    memcpy(out->buf + 12, "NTSN", 4);
}

/* After the transmit stamp: seal the fields over the final header, or
 * add a NAK's identifier. */
void engine_nts_finish(struct engine *e, int i, struct net_msg *out)
{
    struct engine_nts *t = e->serve.nts;
    uint8_t rnd[16 * (1 + NTS_MAX_COOKIES)];
    size_t n;

    if (!t || out->len != NTP_HEADER_LEN)
        return;
    if (t->v[i] == NTS_SRV_NAK && memcmp(out->buf + 12, "NTSN", 4) == 0) {
        n = nts_server_nak(&t->rq[i], out->buf, sizeof(out->buf));
        if (n)
            out->len = n;
        return;
    }
    if (t->v[i] != NTS_SRV_OK || out->buf[1] == 0)
        return;     /* a plain kiss (the rate limiter's) goes out as it is */
    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
        return;
    n = nts_server_reply(&ntscrypto_openssl, &t->keys, &t->rq[i], out->buf, sizeof(out->buf),
                         rnd);
    if (n)
        out->len = n;
}

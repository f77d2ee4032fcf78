/* daemon/engine_nts: the NTS server on chimed's packet path ("nts enable").
 *
 * An NTS request is answered in two steps: its 48-octet header goes
 * through core/server like any request (access control, rate limits,
 * KoD), then, once send_replies() has stamped the transmit time, the NTS
 * fields are sealed over the finished header (the authenticator covers
 * the transmit timestamp, so it cannot be computed earlier). A request
 * whose cookie or authenticator fails gets an NTS NAK. The NTS-KE server
 * runs on its own thread (sys/ntske_server).
 *
 * Cookie keys: with "ntsdir DIR" they live in DIR/ntskeys (sys/ntskeys),
 * loaded at start so that a restart keeps every client's cookies good.
 * The writer (the default) makes a new key every "nts rotate" seconds,
 * one rotation ahead (the next key, in the file before any cookie is
 * sealed with it, so the fleet can open those cookies as soon as they
 * exist), and keeps 3 retired keys: a cookie stays good for 3 rotations
 * after its key was retired (the grace period). A fleet member ("nts readonly") never writes: it looks
 * at the file once a second and re-reads it when it changed. Without
 * ntsdir the keys are random per start and rotate in memory. */
#include "daemon/engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "core/nts_server.h"
#include "core/report.h"
#include "sys/clock.h"
#include "sys/log.h"
#include "sys/ntscrypto.h"
#include "sys/ntske_server.h"
#include "sys/ntskeys.h"

#define ROTATE_DEFAULT_S 86400
#define READONLY_POLL_NS 1000000000LL   /* one stat a second */

struct engine_nts {
    struct engine *e;
    struct nts_server_keys keys;
    struct ntske_server *ke;            /* NULL: NTP only (a fleet member) */
    const char *dir;                    /* NULL: keys in memory only */
    int64_t rotate_s;
    bool readonly;
    struct ntskeys_stamp stamp;         /* of the file last read */
    uint64_t timer;
    enum nts_srv v[NET_BATCH];
    struct nts_server_req rq[NET_BATCH];
    uint64_t requests, naks, dropped, rotations, reloads;
    /* nonces for replies and their cookies, drawn from the kernel 4 KB at
     * a time: a getrandom() per reply cost 6% of an NTS server's CPU.
     * Not secret (they travel in the clear), so no wiping on use. */
    uint8_t pool[4096];
    size_t pool_left;
};

/* n octets from the pool, refilled when short; NULL if the kernel fails. */
static const uint8_t *nonces(struct engine_nts *t, size_t n)
{
    if (n > sizeof(t->pool))
        return NULL;
    if (t->pool_left < n) {
        if (getrandom(t->pool, sizeof(t->pool), 0) != (ssize_t)sizeof(t->pool))
            return NULL;
        t->pool_left = sizeof(t->pool);
    }
    t->pool_left -= n;
    return t->pool + t->pool_left;
}

static const char *where(const struct conf_loc *loc)
{
    return loc->file ? loc->file : "?";
}

static int64_t now_s(const struct now *now)
{
    return now->real.ns / 1000000000;
}

static int held(const struct nts_server_keys *ks)
{
    int order[NTS_SERVER_MAX_KEYS];

    return nts_server_order(ks, order);
}

static void push_keys(struct engine_nts *t)
{
    if (t->ke)
        ntske_server_set_keys(t->ke, &t->keys);
}

static void schedule(struct engine_nts *t, const struct now *now);

/* The writer, at start and on its timer: the next key becomes current
 * when the current one is due (a new one when there is none), a new next
 * key is made, keys past the grace period go, and the set is written
 * before any cookie is sealed with the new key. -1: nothing usable. */
static int advance(struct engine_nts *t, const struct now *now)
{
    int64_t ns = now_s(now);
    bool rotated = false, changed = false;
    char err[400];

    if (!nts_server_current(&t->keys) || nts_server_due_in(&t->keys, ns, t->rotate_s) <= 0) {
        if (nts_server_promote(&t->keys, ns) < 0 && ntskeys_new(&t->keys, ns, false) < 0) {
            log_warnx("nts", "cannot make a new NTS cookie key");
            return nts_server_current(&t->keys) ? 0 : -1;
        }
        rotated = changed = true;
        t->rotations++;
    }
    if (nts_server_expire(&t->keys, ns, t->rotate_s * NTS_SERVER_MAX_KEYS) > 0)
        changed = true;
    if (!t->keys.has_next &&
        ntskeys_new(&t->keys, nts_server_current(&t->keys)->created + t->rotate_s, true) == 0)
        changed = true;
    if (!changed)
        return 0;
    if (t->dir && ntskeys_write(t->dir, &t->keys, err, sizeof(err)) < 0) {
        const struct conf_loc *at = &t->e->cfg->ntsdir_loc;

        log_warnx("nts", "%s:%d: cannot save the NTS cookie keys: %s", where(at), at->line, err);
        return -1;
    }
    if (rotated)
        log_info("nts", "NTS cookie key %08x is now current (%d held%s%s)",
                 (unsigned)nts_server_current(&t->keys)->id, held(&t->keys),
                 t->dir ? ", saved in " : "", t->dir ? t->dir : "");
    return 0;
}

/* A fleet member: the file changed, take the new set. */
static void reread(struct engine_nts *t)
{
    struct ntskeys_stamp st;
    char err[400];
    bool loose;
    int rc;

    ntskeys_stamp(t->dir, &st);
    if (ntskeys_stamp_same(&st, &t->stamp))
        return;
    t->stamp = st;
    rc = ntskeys_read(t->dir, &t->keys, &loose, err, sizeof(err));
    if (rc < 0) {
        log_warnx("nts", "NTS cookie keys not re-read, the old ones stay: %s", err);
        return;
    }
    if (rc == 0)
        return;
    t->reloads++;
    push_keys(t);
    log_info("nts", "NTS cookie keys re-read from %s: %08x current, %d held", t->dir,
             (unsigned)nts_server_current(&t->keys)->id, held(&t->keys));
}

static void timer_cb(void *arg, const struct now *now)
{
    struct engine_nts *t = arg;

    t->timer = 0;
    if (t->readonly)
        reread(t);
    else if (advance(t, now) == 0)
        push_keys(t);
    schedule(t, now);
}

static void schedule(struct engine_nts *t, const struct now *now)
{
    int64_t in_ns = READONLY_POLL_NS;

    if (!t->readonly) {
        int64_t in_s = nts_server_due_in(&t->keys, now_s(now), t->rotate_s);

        if (in_s < 1)       /* the rotation failed: try again soon */
            in_s = t->rotate_s < 60 ? t->rotate_s : 60;
        in_ns = in_s * 1000000000LL;
    }
    t->timer = loop_timer_at(t->e->loop, mono_add(now->mono, in_ns), timer_cb, t);
}

/* The keys at start: from ntsdir when there, else new ones. */
static int load_keys(struct engine_nts *t, const struct conf_loc *loc, const struct now *now)
{
    char err[400];
    bool loose = false;
    int rc = 0;

    if (t->dir) {
        ntskeys_stamp(t->dir, &t->stamp);
        rc = ntskeys_read(t->dir, &t->keys, &loose, err, sizeof(err));
        if (rc < 0) {
            log_warnx("nts", "%s", err);
            return -1;
        }
        if (loose)
            log_warnx("nts", "%s/%s is readable by others: chmod 600 it (anyone who reads "
                      "it can forge cookies)", t->dir, NTSKEYS_FILE);
        if (rc > 0)
            log_info("nts", "NTS cookie keys loaded from %s: %08x current, %d held", t->dir,
                     (unsigned)nts_server_current(&t->keys)->id, held(&t->keys));
    }
    if (t->readonly) {
        if (rc == 0)
            log_warnx("nts", "%s:%d: no NTS cookie keys in %s yet (nts readonly): NTS "
                      "requests get NAKs until the writer makes them", loc->file ? loc->file
                      : "?", loc->line, t->dir);
        return 0;
    }
    return advance(t, now);
}

int engine_nts_init(struct engine *e)
{
    const struct conf_nts *c = &e->cfg->nts;
    struct engine_nts *t;
    struct ntske_server_conf kc;
    struct now now;
    char err[320];

    if (!c->enable)
        return 0;
    if (c->readonly && !e->cfg->ntsdir) {
        log_warnx("nts", "%s:%d: nts readonly needs ntsdir DIR (the keys it reads)",
                  where(&c->loc), c->loc.line);
        return -1;
    }
    if ((!c->cert || !c->key) && !c->readonly) {
        log_warnx("nts", "%s:%d: nts enable needs nts cert FILE and nts key FILE (or, for an "
                  "NTP server of a fleet, ntsdir DIR and nts readonly)", where(&c->loc),
                  c->loc.line);
        return -1;
    }
    if (ntscrypto_init() < 0) {
        log_warnx("nts", "cannot set up the NTS AEAD");
        return -1;
    }
    t = e->serve.nts = calloc(1, sizeof(*e->serve.nts));
    if (!t)
        return -1;
    t->e = e;
    t->dir = e->cfg->ntsdir;
    t->rotate_s = c->rotate_s ? c->rotate_s : ROTATE_DEFAULT_S;
    t->readonly = c->readonly;
    clock_read_now(&now);
    if (load_keys(t, &c->loc, &now) < 0)
        return -1;
    schedule(t, &now);
    if (!c->cert || !c->key) {
        log_info("nts", "NTS for NTP only (no NTS-KE server here): cookies from %s", t->dir);
        return 0;
    }
    if (!t->dir)
        log_warnx("nts", "%s:%d: no ntsdir: the cookie keys live in memory only, so a restart "
                  "sends every client back to key exchange (set ntsdir DIR, or NTPsec's nts "
                  "cookie FILE)", where(&c->loc), c->loc.line);
    kc = (struct ntske_server_conf){ .cert = c->cert, .key = c->key,
                                     .port = c->port ? c->port : NTSKE_PORT,
                                     .ntp_port = c->ntp_port ? c->ntp_port : e->cfg->port,
                                     .ntp_server = c->ntp_server, .keys = &t->keys,
                                     .max_sessions = (int)c->max_sessions,
                                     .per_client = (int)c->per_client,
                                     .timeout_s = (int)c->timeout_s,
                                     .aead = &ntscrypto_siv };
    t->ke = ntske_server_start(&kc, err, sizeof(err));
    if (!t->ke) {
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
    struct ntske_server_stats ks = { 0 };
    const struct engine_nts *t = e->serve.nts;

    if (!t)
        return;
    if (t->ke)
        ntske_server_counts(t->ke, &ks);
    log_info("nts", "ke_sessions=%llu ke_failed=%llu ke_refused_busy=%llu ke_refused_peer=%llu "
             "ke_timed_out=%llu nts_requests=%llu naks=%llu dropped=%llu "
             "key_rotations=%llu key_reloads=%llu",
             (unsigned long long)ks.ok, (unsigned long long)ks.failed,
             (unsigned long long)ks.refused_busy, (unsigned long long)ks.refused_peer,
             (unsigned long long)ks.timed_out,
             (unsigned long long)t->requests, (unsigned long long)t->naks,
             (unsigned long long)t->dropped, (unsigned long long)t->rotations,
             (unsigned long long)t->reloads);
}

void engine_nts_report(const struct engine *e, struct report_serverstats *o)
{
    const struct engine_nts *t = e->serve.nts;
    struct ntske_server_stats ks = { 0 };

    if (!t)
        return;
    if (t->ke)
        ntske_server_counts(t->ke, &ks);
    o->nts_ke_sessions = ks.ok;
    o->nts_ke_failed = ks.failed;
    o->nts_ke_refused_busy = ks.refused_busy;
    o->nts_ke_refused_peer = ks.refused_peer;
    o->nts_ke_timed_out = ks.timed_out;
    o->nts_requests = t->requests;
    o->nts_naks = t->naks;
    o->nts_dropped = t->dropped;
    o->nts_key_rotations = t->rotations;
    o->nts_key_reloads = t->reloads;
}

int engine_nts_input(struct engine *e, int i, const uint8_t *buf, size_t len)
{
    struct engine_nts *t = e->serve.nts;

    if (!t)
        return 0;
    t->v[i] = nts_server_check(&ntscrypto_siv, &t->keys, buf, len, &t->rq[i]);
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
    const uint8_t *rnd;
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
    rnd = nonces(t, 16 * (1 + NTS_MAX_COOKIES));
    if (!rnd)
        return;
    n = nts_server_reply(&ntscrypto_siv, &t->keys, &t->rq[i], out->buf, sizeof(out->buf),
                         rnd);
    if (n)
        out->len = n;
}

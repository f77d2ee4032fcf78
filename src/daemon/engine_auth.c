/* daemon/engine_auth: the "keys" file, "trustedkey" and "server ... key N"
 * -> the core's key table, attached to the server and to client sources.
 * Loaded in engine_init(), before privileges are dropped (the keys file
 * may be root's, mode 600) and before the sandbox (OpenSSL loads its
 * providers on first use); loaded again by every reload. A reload that
 * cannot read the file any more (EACCES after -u) keeps the keys loaded
 * at start and says so; a broken file fails the whole reload. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/keys.h"
#include "daemon/engine.h"
#include "sys/authcrypto.h"
#include "sys/log.h"

int engine_auth_init(struct engine *e)
{
    const struct config *cfg = e->cfg;
    size_t trusted = 0;

    /* main read and checked the keys already (engine_auth_prepare) */
    engine_auth_swap(e, cfg, e->opts.keys);
    if (cfg->keys == NULL || cfg->keys[0] == '\0')
        return 0;
    for (size_t i = 0; i < e->keys.n; i++)
        trusted += e->keys.keys[i].trusted;
    log_info("auth", "%zu keys from %s, %zu trusted", e->keys.n, cfg->keys, trusted);
    return 0;
}

void engine_auth_log_stats(const struct engine *e)
{
    struct server_stats tot;
    const struct server_stats *s = &tot;

    engine_server_totals(e, &tot, NULL, NULL);
    if (s->auth_ok || s->crypto_nak)
        log_info("server", "auth: ok=%llu crypto_nak=%llu auth_unknown_key=%llu auth_bad=%llu",
                 (unsigned long long)s->auth_ok, (unsigned long long)s->crypto_nak,
                 (unsigned long long)s->dropped[SRV_DROP_AUTH_UNKNOWN_KEY],
                 (unsigned long long)s->dropped[SRV_DROP_AUTH_BAD]);
    for (int i = 0; e->client.node_ready && i < e->client.node.n_slots; i++) {
        const struct source *src = node_slot_source(&e->client.node, i);

        if (src && src->key)
            log_info("client", "%s: auth key %u: sent=%llu received=%llu dropped_auth=%llu",
                     e->client.node.slot[i].name, src->key->id, (unsigned long long)src->sent,
                     (unsigned long long)src->received,
                     (unsigned long long)src->dropped[SRC_DROP_AUTH]);
    }
}

int engine_auth_check(const struct config *cfg)
{
    struct auth_keytab t;
    char err[300];
    int n = 0;

    if (cfg->keys == NULL || cfg->keys[0] == '\0')
        return 0;
    if (keys_load(cfg->keys, &t, err, sizeof(err)) < 0) {
        printf("%s\n", err);
        return 1;
    }
    for (size_t i = 0; i < cfg->n_trustedkeys; i++)
        (void)auth_trust_range(&t, cfg->trustedkeys[i].lo, cfg->trustedkeys[i].hi);
    if (cfg->controlkey && auth_find(&t, cfg->controlkey) == NULL) {
        printf("controlkey %u is not in %s\n", cfg->controlkey, cfg->keys);
        n++;
    }
    for (size_t i = 0; i < cfg->n_sources; i++) {
        const struct conf_source *cs = &cfg->sources[i];
        const struct auth_key *k = cs->key ? auth_find(&t, cs->key) : NULL;

        if (cs->key && (k == NULL || !k->trusted)) {
            printf("%s:%d: key %u of '%s' is %s\n", cs->loc.file, cs->loc.line, cs->key,
                   cs->host, k == NULL ? "not in the keys file" : "not a trustedkey");
            n++;
        } else if (k && k->alg == AUTH_MD5) {
            printf("%s:%d: security: '%s' uses MD5 key %u (prefer AES128CMAC)\n",
                   cs->loc.file, cs->loc.line, cs->host, cs->key);
            n++;
        }
    }
    keys_free(&t);
    return n;
}

static void copy_table(const struct auth_keytab *from, struct auth_keytab *to)
{
    to->n = from->n;
    to->keys = NULL;
    if (from->n == 0)
        return;
    to->keys = xcalloc(from->n, sizeof(*to->keys));
    memcpy(to->keys, from->keys, from->n * sizeof(*to->keys));
}

/* Every source's key, checked against table t. 0, or -1 with msg set. */
static int check_source_keys(const struct config *cfg, const struct auth_keytab *t,
                             char *msg, size_t cap)
{
    for (size_t i = 0; i < cfg->n_sources; i++) {
        const struct conf_source *cs = &cfg->sources[i];
        const struct auth_key *k = cs->key ? auth_find(t, cs->key) : NULL;

        if (cs->key && (k == NULL || !k->trusted)) {
            snprintf(msg, cap, "%s:%d: key %u of '%s' is %s", cs->loc.file, cs->loc.line,
                     cs->key, cs->host, cfg->keys == NULL ? "unusable: no keys file" :
                     k == NULL ? "not in the keys file" : "not a trustedkey");
            return -1;
        }
    }
    return 0;
}

/* trustedkey over a freshly read (or kept) table, then every source's key
 * checked against it. 0, or -1 with msg set. */
static int trust_and_check(const struct config *cfg, struct auth_keytab *t,
                           char *msg, size_t cap)
{
    for (size_t i = 0; i < t->n; i++)
        t->keys[i].trusted = false;
    for (size_t i = 0; i < cfg->n_trustedkeys; i++) {
        const struct conf_keyref *r = &cfg->trustedkeys[i];

        if (auth_trust_range(t, r->lo, r->hi) == 0)
            log_warnx("auth", "trustedkey %u..%u: no such key in %s", r->lo, r->hi,
                      cfg->keys ? cfg->keys : "(no keys file)");
    }
    return check_source_keys(cfg, t, msg, cap);
}

int engine_auth_prepare(const struct engine *e, const struct config *cfg,
                        struct auth_keytab *out, char *msg, size_t cap)
{
    char err[300];

    out->keys = NULL;
    out->n = 0;
    if (cfg->keys != NULL && cfg->keys[0] != '\0' &&
        keys_load(cfg->keys, out, err, sizeof(err)) < 0) {
        if ((errno != EACCES && errno != EPERM) || e == NULL || e->keys_path == NULL ||
            strcmp(e->keys_path, cfg->keys) != 0) {
            /* the admin fixes the 'keys' line or the file it names: both */
            snprintf(msg, cap, "%s:%d: keys: %s", cfg->keys_loc.file ? cfg->keys_loc.file : "?",
                     cfg->keys_loc.line, err);
            return -1;
        }
        log_warnx("auth", "%s; keeping the %zu keys read at start (give chimed's "
                  "user read access to reload them)", err, e->keys.n);
        copy_table(&e->keys, out);
    }
    if (out->n > 0 && authcrypto_init() < 0) {
        snprintf(msg, cap, "OpenSSL lacks MD5, SHA-1 or AES-128-CMAC");
        keys_free(out);
        return -1;
    }
    if (cfg->controlkey && auth_find(out, cfg->controlkey) == NULL)
        log_warnx("auth", "controlkey %u is not in %s: authenticated ntpq requests will be "
                  "refused", cfg->controlkey, cfg->keys ? cfg->keys : "(no keys file)");
    if (trust_and_check(cfg, out, msg, cap) < 0) {
        keys_free(out);
        return -1;
    }
    return 0;
}

void engine_auth_swap(struct engine *e, const struct config *cfg, struct auth_keytab *t)
{
    keys_free(&e->keys);
    e->keys = *t;
    t->keys = NULL;
    t->n = 0;
    e->keys_path = cfg->keys;
    server_set_auth(&e->serve.server, e->keys.n > 0 ? &e->keys : NULL, &authcrypto_nettle);
    /* the sources pointed into the old table */
    if (e->client.node_ready) {
        node_set_keys(&e->client.node, e->keys.n > 0 ? &e->keys : NULL, e->client.nout);
        engine_carry_out_logs(e);
    }
}

void engine_auth_free(struct engine *e)
{
    keys_free(&e->keys);
}

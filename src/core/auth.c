/* core/auth: see auth.h. */
#include "core/auth.h"

#include <string.h>

const char *auth_alg_name(enum auth_alg a)
{
    switch (a) {
    case AUTH_MD5: return "MD5";
    case AUTH_SHA1: return "SHA1";
    case AUTH_CMAC: return "AES128CMAC";
    }
    return "unknown";
}

size_t auth_digest_len(enum auth_alg a)
{
    switch (a) {
    case AUTH_MD5: return 16;
    case AUTH_SHA1: return 20;
    case AUTH_CMAC: return 16;
    }
    return 0;
}

const struct auth_key *auth_find(const struct auth_keytab *t, uint32_t id)
{
    size_t lo = 0, hi;

    if (t == NULL || t->keys == NULL)
        return NULL;
    hi = t->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (t->keys[mid].id == id)
            return &t->keys[mid];
        if (t->keys[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

size_t auth_trust_range(struct auth_keytab *t, uint32_t lo, uint32_t hi)
{
    size_t n = 0;

    for (size_t i = 0; t && i < t->n; i++) {
        if (t->keys[i].id >= lo && t->keys[i].id <= hi) {
            t->keys[i].trusted = true;
            n++;
        }
    }
    return n;
}

size_t auth_append(const struct auth_crypto *c, const struct auth_key *k,
                   uint8_t *buf, size_t len, size_t cap)
{
    size_t dl = auth_digest_len(k->alg);

    if (dl == 0 || len > cap || cap - len < 4 + dl)
        return 0;
    if (c->mac(k->alg, k->key, k->key_len, buf, len, buf + len + 4) != 0)
        return 0;
    buf[len] = (uint8_t)(k->id >> 24);
    buf[len + 1] = (uint8_t)(k->id >> 16);
    buf[len + 2] = (uint8_t)(k->id >> 8);
    buf[len + 3] = (uint8_t)k->id;
    return len + 4 + dl;
}

enum auth_result auth_verify_key(const struct auth_crypto *c, const struct auth_key *k,
                                 const uint8_t *msg, size_t len, uint32_t key_id,
                                 const uint8_t *digest, size_t digest_len)
{
    uint8_t want[AUTH_MAX_DIGEST];

    if (k == NULL || c == NULL || k->id != key_id)
        return AUTH_UNKNOWN_KEY;
    if (digest_len != auth_digest_len(k->alg))
        return AUTH_BAD;
    if (c->mac(k->alg, k->key, k->key_len, msg, len, want) != 0)
        return AUTH_BAD;
    if (!c->equal(want, digest, digest_len))
        return AUTH_BAD;
    return AUTH_OK;
}

enum auth_result auth_verify(const struct auth_crypto *c, const struct auth_keytab *t,
                             const uint8_t *msg, size_t len, uint32_t key_id,
                             const uint8_t *digest, size_t digest_len,
                             const struct auth_key **key)
{
    const struct auth_key *k = auth_find(t, key_id);
    enum auth_result r;

    if (key)
        *key = NULL;
    if (k == NULL || !k->trusted)
        return AUTH_UNKNOWN_KEY;
    r = auth_verify_key(c, k, msg, len, key_id, digest, digest_len);
    if (r == AUTH_OK && key)
        *key = k;
    return r;
}

/* core/nts_server: see nts_server.h. */
#include "core/nts_server.h"

#include <string.h>

#include "core/packet.h"

#define COOKIE_PT_LEN (4 + 2 * NTS_AEAD_KEY_LEN)

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static bool retired(const struct nts_server_keys *ks, int i)
{
    return i != ks->current && !(ks->has_next && i == ks->next);
}

/* A free slot, else the oldest retired key's. */
static int pick_slot(const struct nts_server_keys *ks)
{
    int best = -1;

    for (int i = 0; i < NTS_SERVER_MAX_KEYS; i++) {
        if (!retired(ks, i) && ks->key[i].valid)
            continue;
        if (!ks->key[i].valid)
            return i;
        if (best < 0 || ks->key[i].created < ks->key[best].created)
            best = i;
    }
    return best;
}

static int put_key(struct nts_server_keys *ks, uint32_t id, const uint8_t k[NTS_AEAD_KEY_LEN],
                   int64_t created)
{
    int i = pick_slot(ks);

    ks->key[i].id = id;
    memcpy(ks->key[i].k, k, NTS_AEAD_KEY_LEN);
    ks->key[i].created = created;
    ks->key[i].valid = true;
    return i;
}

void nts_server_rotate(struct nts_server_keys *ks, uint32_t id, const uint8_t k[NTS_AEAD_KEY_LEN],
                       int64_t created)
{
    ks->current = put_key(ks, id, k, created);
}

void nts_server_add_next(struct nts_server_keys *ks, uint32_t id,
                         const uint8_t k[NTS_AEAD_KEY_LEN], int64_t created)
{
    ks->has_next = false;
    ks->next = put_key(ks, id, k, created);
    ks->has_next = true;
}

int nts_server_promote(struct nts_server_keys *ks, int64_t now_s)
{
    if (!ks->has_next)
        return -1;
    ks->current = ks->next;
    ks->key[ks->current].created = now_s;
    ks->has_next = false;
    return 0;
}

const struct nts_server_key *nts_server_current(const struct nts_server_keys *ks)
{
    const struct nts_server_key *k = &ks->key[ks->current];

    return k->valid ? k : NULL;
}

int64_t nts_server_due_in(const struct nts_server_keys *ks, int64_t now_s, int64_t rotate_s)
{
    const struct nts_server_key *k = nts_server_current(ks);

    if (!k)
        return 0;
    if (k->created > now_s)
        return rotate_s;    /* made "in the future" (the clock was stepped back): keep it */
    return k->created + rotate_s - now_s;
}

int nts_server_expire(struct nts_server_keys *ks, int64_t now_s, int64_t max_age_s)
{
    int gone = 0;

    for (int i = 0; i < NTS_SERVER_MAX_KEYS; i++) {
        struct nts_server_key *k = &ks->key[i];

        if (!retired(ks, i) || !k->valid || k->created >= now_s - max_age_s)
            continue;
        memset(k, 0, sizeof(*k));
        gone++;
    }
    return gone;
}

int nts_server_order(const struct nts_server_keys *ks, int order[NTS_SERVER_MAX_KEYS])
{
    int n = 0;

    for (int i = 0; i < NTS_SERVER_MAX_KEYS; i++) {
        int j = n;

        if (!ks->key[i].valid || !retired(ks, i))
            continue;
        while (j > 0 && ks->key[order[j - 1]].created > ks->key[i].created) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = i;
        n++;
    }
    if (ks->key[ks->current].valid)
        order[n++] = ks->current;
    if (ks->has_next && ks->key[ks->next].valid)
        order[n++] = ks->next;
    return n;
}

int nts_cookie_seal(const struct nts_aead *ae, const struct nts_server_keys *ks,
                    const uint8_t c2s[NTS_AEAD_KEY_LEN], const uint8_t s2c[NTS_AEAD_KEY_LEN],
                    const uint8_t nonce[NTS_NONCE_LEN], uint8_t out[NTS_SERVER_COOKIE_LEN])
{
    const struct nts_server_key *k = &ks->key[ks->current];
    uint8_t pt[COOKIE_PT_LEN] = { 0, NTS_AEAD_AES_SIV_CMAC_256, 0, 0 };

    if (!k->valid)
        return -1;
    memcpy(pt + 4, c2s, NTS_AEAD_KEY_LEN);
    memcpy(pt + 4 + NTS_AEAD_KEY_LEN, s2c, NTS_AEAD_KEY_LEN);
    put32(out, k->id);
    memcpy(out + 4, nonce, NTS_NONCE_LEN);
    /* the key id is the associated data: a cookie cannot move to another key */
    return ae->seal(k->k, NTS_AEAD_KEY_LEN, nonce, NTS_NONCE_LEN, out, 4, pt, sizeof(pt),
                    out + 4 + NTS_NONCE_LEN);
}

int nts_cookie_open(const struct nts_aead *ae, const struct nts_server_keys *ks,
                    const uint8_t *cookie, size_t len, uint8_t c2s[NTS_AEAD_KEY_LEN],
                    uint8_t s2c[NTS_AEAD_KEY_LEN])
{
    uint8_t pt[COOKIE_PT_LEN];
    uint32_t id;

    if (len != NTS_SERVER_COOKIE_LEN)
        return -1;
    id = get32(cookie);
    for (int i = 0; i < NTS_SERVER_MAX_KEYS; i++) {
        const struct nts_server_key *k = &ks->key[i];

        if (!k->valid || k->id != id)
            continue;
        if (ae->open(k->k, NTS_AEAD_KEY_LEN, cookie + 4, NTS_NONCE_LEN, cookie, 4,
                     cookie + 4 + NTS_NONCE_LEN, len - 4 - NTS_NONCE_LEN, pt) != 0 ||
            pt[0] != 0 || pt[1] != NTS_AEAD_AES_SIV_CMAC_256)
            return -1;
        memcpy(c2s, pt + 4, NTS_AEAD_KEY_LEN);
        memcpy(s2c, pt + 4 + NTS_AEAD_KEY_LEN, NTS_AEAD_KEY_LEN);
        return 0;
    }
    return -1;
}

static const char *const srv_names[] = {
    [NTS_SRV_PLAIN] = "plain",
    [NTS_SRV_OK] = "ok",
    [NTS_SRV_NAK] = "nak",
    [NTS_SRV_DROP] = "drop",
};

const char *nts_srv_str(enum nts_srv r)
{
    return (unsigned)r < 4 ? srv_names[r] : "?";
}

/* The fields before the authenticator; false when malformed. */
struct walk {
    const uint8_t *cookie;
    size_t cookie_len;
    int uids, cookies;
    struct nts_field auth;
    bool have_auth;
};

static bool walk_request(const uint8_t *req, size_t len, struct walk *w,
                         struct nts_server_req *out)
{
    struct nts_field f;
    size_t off = NTP_HEADER_LEN;
    int r = 0;

    while (!w->have_auth && (r = nts_field_next(req, len, &off, 16, &f)) == 1) {
        switch (f.type) {
        case NTS_EF_UID:
            w->uids++;
            out->uid = f.value;
            out->uid_len = f.value_len;
            break;
        case NTS_EF_COOKIE:
            w->cookies++;
            w->cookie = f.value;
            w->cookie_len = f.value_len;
            break;
        case NTS_EF_PLACEHOLDER:
            out->placeholders++;
            break;
        case NTS_EF_AUTH:
            w->auth = f;
            w->have_auth = true;
            break;
        default:
            break;      /* unknown fields: ignored (RFC 7822 §3) */
        }
    }
    return w->have_auth || r == 0;
}

/* The authenticator's nonce, with its padding and any additional
 * padding, must come to 16 octets at least (RFC 8915 §5.6). */
static bool nonce_long_enough(const struct nts_field *auth)
{
    size_t nl, cl;

    if (auth->value_len < 4)
        return false;
    nl = (size_t)auth->value[0] << 8 | auth->value[1];
    cl = (size_t)auth->value[2] << 8 | auth->value[3];
    return nl >= 1 && auth->value_len >= 4 + ((cl + 3) & ~(size_t)3) &&
           auth->value_len - 4 - ((cl + 3) & ~(size_t)3) >= NTS_NONCE_LEN;
}

enum nts_srv nts_server_check(const struct nts_aead *ae, const struct nts_server_keys *ks,
                              const uint8_t *req, size_t len, struct nts_server_req *out)
{
    struct walk w = { 0 };
    uint8_t pt[NTP_MAX_PACKET];
    size_t n;

    memset(out, 0, sizeof(*out));
    out->req_len = len;
    if (len < NTP_HEADER_LEN || len % 4 != 0 || len > NTP_MAX_PACKET)
        return NTS_SRV_DROP;
    if (!walk_request(req, len, &w, out))
        return w.uids || w.cookies ? NTS_SRV_DROP : NTS_SRV_PLAIN;
    if (w.uids == 0 && w.cookies == 0 && !w.have_auth && out->placeholders == 0)
        return NTS_SRV_PLAIN;
    if (w.uids != 1 || out->uid_len < NTS_UID_LEN)
        return NTS_SRV_DROP;            /* nothing to name a NAK with */
    if (w.cookies != 1 || !w.have_auth || !nonce_long_enough(&w.auth))
        return NTS_SRV_DROP;
    if (nts_cookie_open(ae, ks, w.cookie, w.cookie_len, out->c2s, out->s2c) != 0)
        return NTS_SRV_NAK;
    if (nts_open_auth(ae, out->c2s, req, &w.auth, pt, sizeof(pt), &n) != 0)
        return NTS_SRV_NAK;
    return NTS_SRV_OK;
}

size_t nts_server_reply(const struct nts_aead *ae, const struct nts_server_keys *ks,
                        const struct nts_server_req *rq, uint8_t *reply, size_t cap,
                        const uint8_t *random)
{
    const size_t cookie_ef = 4 + NTS_SERVER_COOKIE_LEN;
    const size_t auth_fixed = 4 + 4 + NTS_NONCE_LEN + NTS_TAG_LEN;
    uint8_t pt[NTP_MAX_PACKET], ck[NTS_SERVER_COOKIE_LEN];
    size_t off = NTP_HEADER_LEN, pl = 0;
    int want = 1 + rq->placeholders;

    if (cap > rq->req_len)
        cap = rq->req_len;              /* never larger than the request */
    if (want > NTS_MAX_COOKIES)
        want = NTS_MAX_COOKIES;
    if (ntp_ef_write(reply, cap, &off, NTS_EF_UID, rq->uid, rq->uid_len, 0) < 0)
        return 0;
    for (int i = 0; i < want && off + auth_fixed + pl + cookie_ef <= cap; i++) {
        if (nts_cookie_seal(ae, ks, rq->c2s, rq->s2c, random + 16 * (1 + i), ck) != 0 ||
            ntp_ef_write(pt, sizeof(pt), &pl, NTS_EF_COOKIE, ck, sizeof(ck), 0) < 0)
            return 0;
    }
    if (nts_put_auth(ae, rq->s2c, reply, cap, &off, random, pt, pl) < 0)
        return 0;
    return off;
}

size_t nts_server_nak(const struct nts_server_req *rq, uint8_t *reply, size_t cap)
{
    size_t off = NTP_HEADER_LEN;

    if (cap > rq->req_len)
        cap = rq->req_len;
    if (ntp_ef_write(reply, cap, &off, NTS_EF_UID, rq->uid, rq->uid_len, 0) < 0)
        return 0;
    return off;
}

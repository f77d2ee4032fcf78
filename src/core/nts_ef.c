/* core/nts_ef: see nts_ef.h. */
#include "core/nts_ef.h"

#include <string.h>

#include "core/packet.h"

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static size_t pad4(size_t n)
{
    return (n + 3u) & ~(size_t)3u;
}

int nts_field_next(const uint8_t *buf, size_t len, size_t *off, size_t min_len,
                   struct nts_field *f)
{
    size_t o = *off, l;

    if (o >= len)
        return 0;
    if (len - o < 4)
        return -1;
    l = get16(buf + o + 2);
    if (l < 4 || l < min_len || l % 4 != 0 || l > len - o)
        return -1;
    f->type = get16(buf + o);
    f->value = buf + o + 4;
    f->value_len = l - 4;
    f->start = o;
    *off = o + l;
    return 1;
}

int nts_put_auth(const struct nts_aead *ae, const uint8_t *key, uint8_t *buf, size_t cap,
                 size_t *off, const uint8_t nonce[NTS_NONCE_LEN], const uint8_t *pt,
                 size_t pt_len)
{
    size_t ct_len = NTS_TAG_LEN + pt_len;
    size_t total = 4 + 4 + NTS_NONCE_LEN + pad4(ct_len);
    uint8_t *p;

    if (*off > cap || total > cap - *off || total > 65532)
        return -1;
    p = buf + *off;
    memset(p, 0, total);
    put16(p, NTS_EF_AUTH);
    put16(p + 2, (uint16_t)total);
    put16(p + 4, NTS_NONCE_LEN);
    put16(p + 6, (uint16_t)ct_len);
    memcpy(p + 8, nonce, NTS_NONCE_LEN);
    if (ae->seal(key, NTS_AEAD_KEY_LEN, nonce, NTS_NONCE_LEN, buf, *off, pt, pt_len,
                 p + 8 + NTS_NONCE_LEN) != 0)
        return -1;
    *off += total;
    return 0;
}

int nts_open_auth(const struct nts_aead *ae, const uint8_t *key, const uint8_t *buf,
                  const struct nts_field *f, uint8_t *pt, size_t cap, size_t *pt_len)
{
    size_t nl, cl;

    if (f->value_len < 4)
        return -1;
    nl = get16(f->value);
    cl = get16(f->value + 2);
    if (nl == 0 || cl < NTS_TAG_LEN || 4 + pad4(nl) + pad4(cl) > f->value_len ||
        cl - NTS_TAG_LEN > cap)
        return -1;
    if (ae->open(key, NTS_AEAD_KEY_LEN, f->value + 4, nl, buf, f->start,
                 f->value + 4 + pad4(nl), cl, pt) != 0)
        return -1;
    *pt_len = cl - NTS_TAG_LEN;
    return 0;
}

/* ---- client ------------------------------------------------------------------ */

void nts_client_key(struct nts_client *c, const uint8_t c2s[NTS_AEAD_KEY_LEN],
                    const uint8_t s2c[NTS_AEAD_KEY_LEN], const struct ntske_response *r)
{
    memcpy(c->c2s, c2s, NTS_AEAD_KEY_LEN);
    memcpy(c->s2c, s2c, NTS_AEAD_KEY_LEN);
    c->n_cookies = 0;
    for (int i = 0; i < r->n_cookies && i < NTS_MAX_COOKIES; i++) {
        c->cookie[i].len = r->cookie_len[i];
        memcpy(c->cookie[i].data, r->cookie[i], r->cookie_len[i]);
        c->n_cookies++;
    }
    c->keyed = c->n_cookies > 0;
    c->pending = false;
    c->nak = false;
}

size_t nts_client_request(struct nts_client *c, const struct nts_aead *ae, uint8_t *buf,
                          size_t cap, const uint8_t uid[NTS_UID_LEN],
                          const uint8_t nonce[NTS_NONCE_LEN])
{
    const size_t auth_len = 4 + 4 + NTS_NONCE_LEN + NTS_TAG_LEN;
    size_t off = NTP_HEADER_LEN;
    struct nts_cookie *ck;
    int want;

    if (!c->keyed || c->n_cookies == 0 || cap < NTP_HEADER_LEN)
        return 0;
    if (cap > NTS_MAX_REQUEST)
        cap = NTS_MAX_REQUEST;
    ck = &c->cookie[--c->n_cookies];    /* used once, whatever happens next */
    if (ntp_ef_write(buf, cap, &off, NTS_EF_UID, uid, NTS_UID_LEN, 0) < 0 ||
        ntp_ef_write(buf, cap, &off, NTS_EF_COOKIE, ck->data, ck->len, 0) < 0)
        return 0;
    /* Ask for the stock back to 8: this reply brings one, each
     * placeholder one more; never past the size limit. */
    want = NTS_MAX_COOKIES - 1 - c->n_cookies;
    for (int i = 0; i < want; i++) {
        size_t room = pad4(4u + ck->len);

        if (off + room + auth_len > cap)
            break;
        if (ntp_ef_write(buf, cap, &off, NTS_EF_PLACEHOLDER, NULL, 0, room) < 0)
            return 0;
    }
    if (nts_put_auth(ae, c->c2s, buf, cap, &off, nonce, NULL, 0) < 0)
        return 0;
    memcpy(c->uid, uid, NTS_UID_LEN);
    c->pending = true;
    c->requests++;
    return off;
}

static const char *const rx_names[] = {
    [NTS_RX_OK] = "ok",
    [NTS_RX_NAK] = "NTS NAK",
    [NTS_RX_NO_UID] = "unique identifier missing or not ours",
    [NTS_RX_MALFORMED] = "malformed extension fields",
    [NTS_RX_NO_AUTH] = "no authenticator",
    [NTS_RX_BAD_AUTH] = "authenticator does not verify",
};

const char *nts_rx_str(enum nts_rx r)
{
    if ((unsigned)r < sizeof(rx_names) / sizeof(rx_names[0]) && rx_names[r])
        return rx_names[r];
    return "?";
}

/* The cookies of a reply's plaintext join the stock (at most 8). */
static void take_cookies(struct nts_client *c, const uint8_t *pt, size_t n)
{
    struct nts_field f;
    size_t off = 0;

    while (nts_field_next(pt, n, &off, 4, &f) == 1) {
        if (f.type != NTS_EF_COOKIE || f.value_len == 0 || f.value_len > NTS_COOKIE_MAX ||
            c->n_cookies >= NTS_MAX_COOKIES)
            continue;
        /* the value may carry padding: cookies are kept as sent, which
         * is what the server needs back (its own cookies are 4-aligned) */
        c->cookie[c->n_cookies].len = (uint16_t)f.value_len;
        memcpy(c->cookie[c->n_cookies].data, f.value, f.value_len);
        c->n_cookies++;
    }
}

static bool is_nak(const uint8_t *buf)
{
    uint32_t refid = (uint32_t)buf[12] << 24 | (uint32_t)buf[13] << 16 |
                     (uint32_t)buf[14] << 8 | buf[15];

    return buf[1] == 0 && refid == NTS_KOD_NTSN;
}

enum nts_rx nts_client_reply(struct nts_client *c, const struct nts_aead *ae,
                             const uint8_t *buf, size_t len)
{
    uint8_t plain[NTP_MAX_PACKET];
    struct nts_field f, auth = { 0 };
    bool uid_ok = false, have_auth = false;
    size_t off = NTP_HEADER_LEN, n;
    int r = 0;

    if (len < NTP_HEADER_LEN || len % 4 != 0)
        return NTS_RX_MALFORMED;
    while (!have_auth && (r = nts_field_next(buf, len, &off, 16, &f)) == 1) {
        if (f.type == NTS_EF_UID)
            uid_ok = uid_ok || (c->pending && f.value_len == NTS_UID_LEN &&
                                memcmp(f.value, c->uid, NTS_UID_LEN) == 0);
        else if (f.type == NTS_EF_AUTH)
            auth = f, have_auth = true;
    }
    if (!have_auth && r < 0)
        return NTS_RX_MALFORMED;
    if (!uid_ok)
        return NTS_RX_NO_UID;
    if (!have_auth) {
        if (!is_nak(buf))
            return NTS_RX_NO_AUTH;
        c->nak = true;
        c->naks++;
        c->pending = false;
        return NTS_RX_NAK;
    }
    if (nts_open_auth(ae, c->s2c, buf, &auth, plain, sizeof(plain), &n) != 0) {
        c->bad++;
        return NTS_RX_BAD_AUTH;
    }
    take_cookies(c, plain, n);
    c->pending = false;
    c->replies++;
    return NTS_RX_OK;
}

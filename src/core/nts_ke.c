/* core/nts_ke: see nts_ke.h. */
#include "core/nts_ke.h"

#include <string.h>

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

int ntske_put(uint8_t *buf, size_t cap, size_t *off, uint16_t type, bool critical,
              const void *body, uint16_t len)
{
    if (*off > cap || cap - *off < 4u + len || type >= NTSKE_CRITICAL ||
        (body == NULL && len != 0))
        return -1;
    put16(buf + *off, (uint16_t)(type | (critical ? NTSKE_CRITICAL : 0)));
    put16(buf + *off + 2, len);
    if (len)
        memcpy(buf + *off + 4, body, len);
    *off += 4u + len;
    return 0;
}

int ntske_put_u16(uint8_t *buf, size_t cap, size_t *off, uint16_t type, bool critical,
                  uint16_t v)
{
    uint8_t b[2];

    put16(b, v);
    return ntske_put(buf, cap, off, type, critical, b, 2);
}

int ntske_next(const uint8_t *buf, size_t len, size_t *off, struct ntske_record *r)
{
    size_t o = *off;

    if (o > len || len - o < 4)
        return 0;
    uint16_t w = get16(buf + o), l = get16(buf + o + 2);
    if (len - o - 4 < l)
        return 0;
    r->type = w & (uint16_t)~NTSKE_CRITICAL;
    r->critical = (w & NTSKE_CRITICAL) != 0;
    r->body = buf + o + 4;
    r->len = l;
    *off = o + 4u + l;
    return 1;
}

size_t ntske_client_request(uint8_t *buf, size_t cap)
{
    size_t off = 0;

    if (ntske_put_u16(buf, cap, &off, NTSKE_NEXT_PROTO, true, NTSKE_PROTO_NTPV4) < 0 ||
        ntske_put_u16(buf, cap, &off, NTSKE_AEAD, true, NTS_AEAD_AES_SIV_CMAC_256) < 0 ||
        ntske_put(buf, cap, &off, NTSKE_END, true, NULL, 0) < 0)
        return 0;
    return off;
}

static const char *const result_names[] = {
    [NTSKE_OK] = "ok",
    [NTSKE_INCOMPLETE] = "incomplete message",
    [NTSKE_MALFORMED] = "malformed record",
    [NTSKE_SERVER_ERROR] = "error record",
    [NTSKE_WARNING_RECEIVED] = "unknown warning record",
    [NTSKE_UNKNOWN_CRITICAL] = "unknown critical record",
    [NTSKE_NO_PROTOCOL] = "no NTPv4 next protocol",
    [NTSKE_NO_AEAD] = "no common AEAD algorithm",
    [NTSKE_NO_COOKIES] = "no cookie",
    [NTSKE_TRAILING] = "data after end of message",
};

const char *ntske_result_str(enum ntske_result r)
{
    if ((unsigned)r < sizeof(result_names) / sizeof(result_names[0]) && result_names[r])
        return result_names[r];
    return "?";
}

/* Does a list of u16 (a next-protocol or AEAD body) hold v? -1 malformed. */
static int list_has(const struct ntske_record *r, uint16_t v)
{
    bool found = false;

    if (r->len % 2 != 0)
        return -1;
    for (uint16_t i = 0; i < r->len; i += 2)
        found = found || get16(r->body + i) == v;
    return found;
}

static bool printable(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] <= 0x20 || p[i] >= 0x7f)
            return false;
    }
    return true;
}

static enum ntske_result take_server(struct ntske_response *out, const struct ntske_record *r)
{
    if (r->len == 0 || r->len >= NTSKE_SERVER_MAX || !printable(r->body, r->len))
        return NTSKE_MALFORMED;
    memcpy(out->server, r->body, r->len);
    out->server[r->len] = '\0';
    return NTSKE_OK;
}

static void take_cookie(struct ntske_response *out, const struct ntske_record *r)
{
    if (out->n_cookies >= NTS_MAX_COOKIES || r->len == 0 || r->len > NTS_COOKIE_MAX)
        return;
    memcpy(out->cookie[out->n_cookies], r->body, r->len);
    out->cookie_len[out->n_cookies++] = r->len;
}

/* One record of a response; NTSKE_OK to go on. */
static enum ntske_result response_record(struct ntske_response *out, const struct ntske_record *r,
                                         int *protos)
{
    switch (r->type) {
    case NTSKE_NEXT_PROTO:
        /* the response names exactly one protocol, and it is ours */
        if (++*protos > 1 || r->len != 2 || get16(r->body) != NTSKE_PROTO_NTPV4)
            return NTSKE_NO_PROTOCOL;
        return NTSKE_OK;
    case NTSKE_ERROR:
    case NTSKE_WARNING:
        if (r->len != 2)
            return NTSKE_MALFORMED;
        out->error = get16(r->body);
        return r->type == NTSKE_ERROR ? NTSKE_SERVER_ERROR : NTSKE_WARNING_RECEIVED;
    case NTSKE_AEAD:
        if (r->len != 2)
            return r->len == 0 ? NTSKE_NO_AEAD : NTSKE_MALFORMED;
        out->aead = get16(r->body);
        return out->aead == NTS_AEAD_AES_SIV_CMAC_256 ? NTSKE_OK : NTSKE_NO_AEAD;
    case NTSKE_COOKIE:
        take_cookie(out, r);
        return NTSKE_OK;
    case NTSKE_SERVER:
        return take_server(out, r);
    case NTSKE_PORT_REC:
        if (r->len != 2 || get16(r->body) == 0)
            return NTSKE_MALFORMED;
        out->port = get16(r->body);
        return NTSKE_OK;
    default:
        return r->critical ? NTSKE_UNKNOWN_CRITICAL : NTSKE_OK;
    }
}

enum ntske_result ntske_parse_response(const uint8_t *buf, size_t len,
                                       struct ntske_response *out)
{
    struct ntske_record r;
    enum ntske_result res;
    size_t off = 0;
    int protos = 0;

    memset(out, 0, sizeof(*out));
    out->error = -1;
    while (ntske_next(buf, len, &off, &r) == 1) {
        if (r.type == NTSKE_END) {
            if (off != len)
                return NTSKE_TRAILING;
            if (protos != 1)
                return NTSKE_NO_PROTOCOL;
            if (out->aead != NTS_AEAD_AES_SIV_CMAC_256)
                return NTSKE_NO_AEAD;
            return out->n_cookies > 0 ? NTSKE_OK : NTSKE_NO_COOKIES;
        }
        res = response_record(out, &r, &protos);
        if (res != NTSKE_OK)
            return res;
    }
    return NTSKE_INCOMPLETE;
}

enum ntske_result ntske_parse_request(const uint8_t *buf, size_t len,
                                      struct ntske_request *out)
{
    struct ntske_record r;
    size_t off = 0;
    int protos = 0, aeads = 0, has;

    memset(out, 0, sizeof(*out));
    while (ntske_next(buf, len, &off, &r) == 1) {
        switch (r.type) {
        case NTSKE_END:
            if (off != len)
                return NTSKE_TRAILING;
            if (protos != 1)
                return NTSKE_MALFORMED;     /* exactly one next-protocol record */
            if (!out->ntpv4)
                return NTSKE_NO_PROTOCOL;
            return aeads == 1 && out->siv ? NTSKE_OK : NTSKE_NO_AEAD;
        case NTSKE_NEXT_PROTO:
            has = list_has(&r, NTSKE_PROTO_NTPV4);
            if (has < 0 || ++protos > 1)
                return NTSKE_MALFORMED;
            out->ntpv4 = has;
            break;
        case NTSKE_AEAD:
            has = list_has(&r, NTS_AEAD_AES_SIV_CMAC_256);
            if (has < 0 || ++aeads > 1)
                return NTSKE_MALFORMED;
            out->siv = has;
            break;
        case NTSKE_ERROR:
        case NTSKE_WARNING:
        case NTSKE_COOKIE:
            return NTSKE_MALFORMED;         /* not a client's to send */
        case NTSKE_SERVER:
        case NTSKE_PORT_REC:
            break;                          /* a client's wish: ignored */
        default:
            if (r.critical)
                return NTSKE_UNKNOWN_CRITICAL;
        }
    }
    return NTSKE_INCOMPLETE;
}

void ntske_exporter_context(uint16_t aead, bool s2c, uint8_t out[5])
{
    put16(out, NTSKE_PROTO_NTPV4);
    put16(out + 2, aead);
    out[4] = s2c ? 1 : 0;
}

/* core/packet: NTP header codec, datagram splitting and RFC 7822
 * extension fields. Pure functions over caller-supplied buffers.
 */
#include "core/packet.h"

#include <string.h>

#define EF_HDR_LEN   4
#define EF_MIN_LEN   16      /* RFC 7822 §3 */
#define EF_MAX_LEN   65532   /* RFC 7822 §3: largest multiple of 4 in u16 */
#define MAC_MD5_LEN  20      /* key id + 16-octet digest */
#define MAC_SHA1_LEN 24      /* key id + 20-octet digest */
#define NAK_LEN      4

/* ---- big-endian helpers ----------------------------------------------- */

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
           (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static uint64_t get64(const uint8_t *p)
{
    return (uint64_t)get32(p) << 32 | get32(p + 4);
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)(v >> 32));
    put32(p + 4, (uint32_t)v);
}

/* ---- header ----------------------------------------------------------- */

void ntp_header_encode(const struct ntp_header *h, uint8_t out[NTP_HEADER_LEN])
{
    /* Out-of-range leap/version/mode are masked so that one field can
     * never spill into its neighbour's bits. */
    out[0] = (uint8_t)((h->leap & 3u) << 6 | (h->version & 7u) << 3 |
                       (h->mode & 7u));
    out[1] = h->stratum;
    out[2] = (uint8_t)h->poll;
    out[3] = (uint8_t)h->precision;
    put32(out + 4, h->root_delay);
    put32(out + 8, h->root_disp);
    put32(out + 12, h->refid);
    put64(out + 16, h->ref);
    put64(out + 24, h->org);
    put64(out + 32, h->rec);
    put64(out + 40, h->xmt);
}

void ntp_header_decode(const uint8_t in[NTP_HEADER_LEN], struct ntp_header *h)
{
    h->leap = (uint8_t)(in[0] >> 6);
    h->version = (uint8_t)((in[0] >> 3) & 7u);
    h->mode = (uint8_t)(in[0] & 7u);
    h->stratum = in[1];
    /* Two's-complement reinterpretation without implementation-defined
     * narrowing of values above INT8_MAX. */
    h->poll = (int8_t)(in[2] < 128 ? in[2] : (int)in[2] - 256);
    h->precision = (int8_t)(in[3] < 128 ? in[3] : (int)in[3] - 256);
    h->root_delay = get32(in + 4);
    h->root_disp = get32(in + 8);
    h->refid = get32(in + 12);
    h->ref = get64(in + 16);
    h->org = get64(in + 24);
    h->rec = get64(in + 32);
    h->xmt = get64(in + 40);
}

/* ---- parse results ------------------------------------------------------ */

/* These strings double as statistics counter names: keep them stable. */
static const char *const parse_names[PARSE__COUNT] = {
    [PARSE_OK] = "ok",
    [PARSE_TOO_SHORT] = "too_short",
    [PARSE_BAD_LENGTH] = "bad_length",
    [PARSE_BAD_VERSION] = "bad_version",
    [PARSE_BAD_MODE] = "bad_mode",
    [PARSE_BAD_EXTENSION] = "bad_extension",
    [PARSE_BAD_MAC] = "bad_mac",
};

const char *ntp_parse_strerror(enum ntp_parse_result r)
{
    if ((unsigned)r >= PARSE__COUNT || parse_names[r] == NULL)
        return "unknown";
    return parse_names[r];
}

/* ---- datagram splitting ---------------------------------------------------- */

static int all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0)
            return 0;
    return 1;
}

/* Classify a trailer that can only be a crypto-NAK or a MAC. Returns 1 if
 * it was one (and fills out), 0 if it is neither. */
static int take_mac(const uint8_t *p, size_t rem, struct ntp_packet *out)
{
    if (rem == NAK_LEN && all_zero(p, rem)) {
        out->mac_kind = MAC_CRYPTO_NAK;
        return 1;
    }
    if (rem == MAC_MD5_LEN || rem == MAC_SHA1_LEN) {
        out->mac_kind = MAC_DIGEST;
        out->key_id = get32(p);
        out->digest = p + 4;
        out->digest_len = rem - 4;
        return 1;
    }
    return 0;
}

/* Length of the extension field at p if it is well formed within rem
 * octets, else 0. */
static size_t ef_len_at(const uint8_t *p, size_t rem)
{
    if (rem < EF_HDR_LEN)
        return 0;
    size_t l = get16(p + 2);
    if (l < EF_MIN_LEN || l % 4 != 0 || l > rem)
        return 0;
    return l;
}

/* NTPv4 walk after the header: extension fields until the remainder is
 * empty, a crypto-NAK or a MAC. A 20- or 24-octet remainder is always a
 * MAC, which is why RFC 7822 §7.5.1.4 makes a MAC-less last EF >= 28. */
static enum ntp_parse_result split_v4(const uint8_t *buf, size_t len,
                                      struct ntp_packet *out)
{
    size_t off = NTP_HEADER_LEN;
    while (off < len) {
        size_t rem = len - off;
        if (take_mac(buf + off, rem, out))
            break;
        size_t l = ef_len_at(buf + off, rem);
        if (l == 0)
            return PARSE_BAD_EXTENSION;
        off += l;
    }
    /* off is now the end of the last field: len, or where the MAC starts. */
    if (off > NTP_HEADER_LEN) {
        out->ext = buf + NTP_HEADER_LEN;
        out->ext_len = off - NTP_HEADER_LEN;
    }
    return PARSE_OK;
}

enum ntp_parse_result ntp_packet_parse(const uint8_t *buf, size_t len,
                                       struct ntp_packet *out)
{
    memset(out, 0, sizeof(*out));
    if (buf == NULL || len < NTP_HEADER_LEN)
        return PARSE_TOO_SHORT;
    if (len % 4 != 0 || len > NTP_MAX_PACKET)
        return PARSE_BAD_LENGTH;
    ntp_header_decode(buf, &out->h);
    if (out->h.version < 1 || out->h.version > 4)
        return PARSE_BAD_VERSION;
    if (out->h.mode == MODE_RESERVED)
        return PARSE_BAD_MODE;
    /* Control and private bodies are not NTP format: leave them alone. */
    if (out->h.mode == MODE_CONTROL || out->h.mode == MODE_PRIVATE)
        return PARSE_OK;
    if (out->h.version <= 3) {
        size_t rem = len - NTP_HEADER_LEN;
        if (rem == 0 || take_mac(buf + NTP_HEADER_LEN, rem, out))
            return PARSE_OK;
        return PARSE_BAD_MAC;
    }
    return split_v4(buf, len, out);
}

/* ---- extension field iterator / writer ------------------------------------ */

void ntp_ef_iter_init(struct ntp_ef_iter *it, const uint8_t *ext, size_t len)
{
    it->p = ext;
    it->len = ext != NULL ? len : 0;
    it->off = 0;
    it->error = 0;
}

int ntp_ef_next(struct ntp_ef_iter *it, struct ntp_ef *ef)
{
    if (it->error)
        return -1;
    if (it->off >= it->len)
        return 0;
    const uint8_t *p = it->p + it->off;
    size_t l = ef_len_at(p, it->len - it->off);
    if (l == 0) {
        it->error = 1;
        return -1;
    }
    ef->type = get16(p);
    ef->length = (uint16_t)l;
    ef->value = p + EF_HDR_LEN;
    ef->value_len = l - EF_HDR_LEN;
    it->off += l;
    return 1;
}

static size_t round_up4(size_t n)
{
    return (n + 3u) & ~(size_t)3u;
}

/* The field is also never shorter than 16 octets, whatever min_len says:
 * RFC 7822 forbids shorter fields and our own parser would reject them. */
int ntp_ef_write(uint8_t *buf, size_t cap, size_t *off, uint16_t type,
                 const void *value, size_t value_len, size_t min_len)
{
    if (value_len > EF_MAX_LEN - EF_HDR_LEN || min_len > EF_MAX_LEN ||
        (value == NULL && value_len != 0) || *off > cap)
        return -1;
    size_t total = round_up4(EF_HDR_LEN + value_len);
    if (total < min_len)
        total = round_up4(min_len);
    if (total < EF_MIN_LEN)
        total = EF_MIN_LEN;
    if (total > EF_MAX_LEN || total > cap - *off)
        return -1;
    uint8_t *p = buf + *off;
    put16(p, type);
    put16(p + 2, (uint16_t)total);
    if (value_len != 0)
        memmove(p + EF_HDR_LEN, value, value_len);
    memset(p + EF_HDR_LEN + value_len, 0, total - EF_HDR_LEN - value_len);
    *off += total;
    return 0;
}

/* ---- reference id ------------------------------------------------------------ */

uint32_t ntp_refid_from_ascii(const char *code)
{
    uint32_t v = 0;
    size_t i = 0;
    /* Left-justified, zero-padded (RFC 5905 §7.3). */
    for (; i < 4 && code != NULL && code[i] != '\0'; i++)
        v |= (uint32_t)(uint8_t)code[i] << (24 - 8 * i);
    return v;
}

void ntp_refid_to_ascii(uint32_t refid, char out[5])
{
    size_t n = 0;
    for (; n < 4; n++) {
        uint8_t c = (uint8_t)(refid >> (24 - 8 * n));
        if (c == 0)
            break;
        /* Refids come off the wire: never hand control bytes to a log. */
        out[n] = (c >= 0x20 && c <= 0x7e) ? (char)c : '.';
    }
    out[n] = '\0';
}

/* core/server: see server.h. */
#include "core/server.h"

#include <string.h>

static const char *const drop_names[SRV_DROP__COUNT] = {
    [SRV_DROP_TOO_SHORT] = "too_short",
    [SRV_DROP_BAD_LENGTH] = "bad_length",
    [SRV_DROP_BAD_VERSION] = "bad_version",
    [SRV_DROP_BAD_MODE] = "bad_mode",
    [SRV_DROP_BAD_EXTENSION] = "bad_extension",
    [SRV_DROP_BAD_MAC] = "bad_mac",
    [SRV_DROP_MODE7] = "mode7",
    [SRV_DROP_MODE6] = "mode6",
    [SRV_DROP_SYMMETRIC] = "symmetric_unknown_peer",
    [SRV_DROP_NOT_REQUEST] = "not_a_request",
    [SRV_DROP_TOO_SMALL_FOR_REPLY] = "too_small_for_reply",
    [SRV_DROP_IGNORE] = "ignore",
    [SRV_DROP_NOSERVE] = "noserve",
    [SRV_DROP_NOQUERY] = "noquery",
    [SRV_DROP_NOMODIFY] = "nomodify",
    [SRV_DROP_NOTRAP] = "notrap",
    [SRV_DROP_NOMRULIST] = "nomrulist",
    [SRV_DROP_NOPEER] = "nopeer",
    [SRV_DROP_RATE] = "ratelimit",
    [SRV_DROP_AUTH_UNKNOWN_KEY] = "auth_unknown_key",
    [SRV_DROP_AUTH_BAD] = "auth_bad",
    [SRV_DROP_V4MAPPED] = "v4mapped",
    [SRV_DROP_OVERLOAD] = "overload",
    [SRV_DROP_KERNEL_QUEUE] = "kernel_queue_full",
};

const char *srv_drop_name(enum srv_drop d)
{
    return (unsigned)d < SRV_DROP__COUNT ? drop_names[d] : "unknown";
}

void server_count_kernel_drops(struct server *s, uint64_t n)
{
    s->stats.received += n;
    s->stats.dropped[SRV_DROP_KERNEL_QUEUE] += n;
}

void server_init(struct server *s, int8_t precision)
{
    memset(s, 0, sizeof(*s));
    /* Nothing to serve yet: unsynchronised until told otherwise. */
    s->sys.leap = LEAP_UNSYNC;
    s->sys.stratum = 16;
    s->sys.precision = precision;
}

void server_set_sys(struct server *s, const struct sys_state *sys)
{
    s->sys = *sys;
}

void server_set_access(struct server *s, const struct restrict_table *rt,
                       struct ratelimit *rl)
{
    s->rt = rt;
    s->rl = rl;
}

void server_set_auth(struct server *s, const struct auth_keytab *keys,
                     const struct auth_crypto *crypto)
{
    s->keys = keys;
    s->crypto = crypto;
}

static enum srv_verdict drop(struct server *s, enum srv_drop why)
{
    s->stats.dropped[why]++;
    return SRV_DROP;
}

static enum srv_drop drop_for_parse(enum ntp_parse_result r)
{
    switch (r) {
    case PARSE_TOO_SHORT: return SRV_DROP_TOO_SHORT;
    case PARSE_BAD_LENGTH: return SRV_DROP_BAD_LENGTH;
    case PARSE_BAD_VERSION: return SRV_DROP_BAD_VERSION;
    case PARSE_BAD_MODE: return SRV_DROP_BAD_MODE;
    case PARSE_BAD_EXTENSION: return SRV_DROP_BAD_EXTENSION;
    case PARSE_BAD_MAC: return SRV_DROP_BAD_MAC;
    default: return SRV_DROP_BAD_LENGTH;
    }
}

/* Which requests this socket answers: mode 3, and mode 1 from a sender
 * that is no configured peer (those never get here: core/node takes
 * them), which gets one mode 2 answer built like a mode 4 one and no
 * association (no state kept, never larger than the request: what a
 * server risks anyway). Mode 7 never (amplification vector); mode 2 from
 * a stranger answers nothing of ours. */
static int classify_mode(uint8_t mode, enum srv_drop *why)
{
    switch (mode) {
    case MODE_CLIENT: return 1;
    case MODE_ACTIVE: return 1;
    case MODE_PRIVATE: *why = SRV_DROP_MODE7; return 0;
    case MODE_CONTROL: *why = SRV_DROP_MODE6; return 0;
    case MODE_PASSIVE: *why = SRV_DROP_SYMMETRIC; return 0;
    default: *why = SRV_DROP_NOT_REQUEST; return 0;
    }
}

static void build_reply(const struct sys_state *sys, const struct ntp_header *req,
                        real_ns rx_time, struct ntp_header *rep)
{
    bool unsynced = sys->stratum >= 16 || sys->leap == LEAP_UNSYNC;

    memset(rep, 0, sizeof(*rep));
    rep->leap = unsynced ? LEAP_UNSYNC : sys->leap;
    rep->version = req->version;    /* RFC 5905 Fig. 31: copy VN and poll */
    rep->mode = req->mode == MODE_ACTIVE ? MODE_PASSIVE : MODE_SERVER;
    /* An internal stratum of 16 goes out as 0 (RFC 5905 A.5.3). */
    rep->stratum = unsynced ? 0 : sys->stratum;
    rep->poll = req->poll;
    rep->precision = sys->precision;
    rep->root_delay = sys->root_delay;
    rep->root_disp = sys->root_disp;
    rep->refid = unsynced ? 0 : sys->refid;
    rep->ref = unsynced ? 0 : sys->reftime;
    rep->org = req->xmt;
    rep->rec = ntp64_from_real(real_add(rx_time, sys->smear_ns));
    rep->xmt = 0;                   /* server_stamp_xmt(), right before send */
}

/* Which restrict flag refuses a mode 6 request, SRV_DROP_MODE6 when none
 * does (the control path in the engine then answers it). Opcodes
 * (RFC 9327 / ntpd): 3 write variables, 5 write clock variables,
 * 8 configure, 9 save configuration; 6 set trap, 7 async message,
 * 31 unset trap; 10 read MRU list. */
static enum srv_drop mode6_reason(uint32_t flags, const uint8_t *req, size_t len)
{
    unsigned op = len >= 2 ? req[1] & 0x1fu : 0;

    if (flags & RF_NOQUERY)
        return SRV_DROP_NOQUERY;
    if ((flags & RF_NOMODIFY) && (op == 3 || op == 5 || op == 8 || op == 9))
        return SRV_DROP_NOMODIFY;
    if ((flags & RF_NOTRAP) && (op == 6 || op == 7 || op == 31))
        return SRV_DROP_NOTRAP;
    if ((flags & RF_NOMRULIST) && op == 10)
        return SRV_DROP_NOMRULIST;
    return SRV_DROP_MODE6;
}

/* RFC 5905 §7.4: a kiss-o'-death is stratum 0 with the code in the refid;
 * LI 3 (unsynchronised) so that clients which ignore kiss codes still
 * discard it. The poll field says how long to back off. */
static void build_kod(const struct ntp_header *req, real_ns rx_time, int8_t min_poll,
                      int8_t precision, struct ntp_header *rep)
{
    memset(rep, 0, sizeof(*rep));
    rep->leap = LEAP_UNSYNC;
    rep->version = req->version;
    rep->mode = MODE_SERVER;
    rep->stratum = 0;
    rep->poll = req->poll > min_poll ? req->poll : min_poll;
    rep->precision = precision;
    rep->refid = ntp_refid_from_ascii("RATE");
    rep->org = req->xmt;
    rep->rec = ntp64_from_real(rx_time);
}

/* The one rate limiter every answered mode passes (mode 3 here and in
 * server_handle_from, mode 6 in server_mode6_refusal): one bucket per
 * client prefix whatever it asks. kod: the request may get a RATE KoD
 * (mode 3 only; a mode 6 request over its limit is dropped). */
static enum rl_verdict limit(struct server *s, uint32_t flags, const srv_from *from,
                             mono_ns now, bool kod)
{
    if (!(flags & RF_LIMITED) || s->rl == NULL || from == NULL)
        return RL_PASS;
    return ratelimit_check(s->rl, from, now, kod && (flags & RF_KOD) != 0);
}

enum srv_drop server_mode6_refusal(struct server *s, const srv_from *from, mono_ns now,
                                   const uint8_t *req, size_t len)
{
    uint32_t flags = (from && s->rt) ? restrict_match(s->rt, from) : 0;
    enum srv_drop why = (flags & RF_IGNORE) ? SRV_DROP_IGNORE : mode6_reason(flags, req, len);

    if (from && from->v4mapped)
        why = SRV_DROP_V4MAPPED;
    if (why == SRV_DROP_MODE6) {
        switch (limit(s, flags, from, now, false)) {
        case RL_PASS: return SRV_DROP__COUNT;
        case RL_LEAK: s->stats.leaked++; return SRV_DROP__COUNT;
        case RL_SHED: why = SRV_DROP_OVERLOAD; break;
        default: why = SRV_DROP_RATE; break;
        }
    }
    s->stats.received++;
    s->stats.dropped[why]++;
    return why;
}

enum srv_verdict server_handle_from(struct server *s, const srv_from *from, mono_ns now,
                                    const uint8_t *req, size_t len, real_ns rx_time,
                                    uint8_t *reply, size_t cap, size_t *reply_len)
{
    struct ntp_packet pkt;
    struct ntp_header rep;
    enum ntp_parse_result pr;
    enum srv_drop why;
    uint32_t flags = (from && s->rt) ? restrict_match(s->rt, from) : 0;
    bool kod = false;
    const struct auth_key *key = NULL;
    enum auth_result ar = AUTH_OK;
    size_t trailer = 0;

    s->stats.received++;
    /* before any other decision: a forged mapped source must not be taken
     * for the IPv4 host it names (::ffff:127.0.0.1 for localhost) */
    if (from && from->v4mapped)
        return drop(s, SRV_DROP_V4MAPPED);
    if (flags & RF_IGNORE)
        return drop(s, SRV_DROP_IGNORE);
    /* Control and private modes are refused before any parsing: their
     * bodies are not NTP format, and ntpq's requests are shorter than 48. */
    if (len >= 1 && (req[0] & 7) == MODE_PRIVATE)
        return drop(s, SRV_DROP_MODE7);
    if (len >= 1 && (req[0] & 7) == MODE_CONTROL)
        return drop(s, mode6_reason(flags, req, len));
    pr = ntp_packet_parse(req, len, &pkt);
    if (pr != PARSE_OK)
        return drop(s, drop_for_parse(pr));
    s->stats.by_version[pkt.h.version & 7u]++;
    if (!classify_mode(pkt.h.mode, &why)) {
        if (why == SRV_DROP_SYMMETRIC && (flags & RF_NOPEER))
            why = SRV_DROP_NOPEER;
        return drop(s, why);
    }
    /* nopeer: a stranger's mode 1 would mobilise an association in ntpd */
    if (pkt.h.mode == MODE_ACTIVE && (flags & RF_NOPEER))
        return drop(s, SRV_DROP_NOPEER);
    if (flags & RF_NOSERVE)
        return drop(s, SRV_DROP_NOSERVE);
    /* Never answer with more octets than were asked (anti-amplification).
     * A parsed request is >= 48 octets, so this only guards the caller. */
    if (len < NTP_HEADER_LEN || cap < NTP_HEADER_LEN)
        return drop(s, SRV_DROP_TOO_SMALL_FOR_REPLY);
    switch (limit(s, flags, from, now, true)) {
    case RL_PASS: break;
    case RL_LEAK: s->stats.leaked++; break;
    case RL_KOD:
        if (pkt.h.mode != MODE_CLIENT)      /* a kiss is a mode 4 thing */
            return drop(s, SRV_DROP_RATE);
        kod = true;
        break;
    case RL_DROP: return drop(s, SRV_DROP_RATE);
    case RL_SHED: return drop(s, SRV_DROP_OVERLOAD);
    }

    /* Authentication after rate limiting: a flood of MACs costs one
     * bucket check each, not a digest each. The MAC covers everything
     * before the trailer (header and any extension fields). */
    if (pkt.mac_kind == MAC_DIGEST) {
        ar = auth_verify(s->crypto, s->keys, req, len - 4 - pkt.digest_len, pkt.key_id,
                         pkt.digest, pkt.digest_len, &key);
        if (ar == AUTH_OK) {
            trailer = 4 + auth_digest_len(key->alg);
            s->stats.auth_ok++;
        } else {
            trailer = 4;
            s->stats.dropped[ar == AUTH_BAD ? SRV_DROP_AUTH_BAD : SRV_DROP_AUTH_UNKNOWN_KEY]++;
            s->stats.crypto_nak++;
        }
        if (NTP_HEADER_LEN + trailer > len || NTP_HEADER_LEN + trailer > cap)
            return drop(s, SRV_DROP_TOO_SMALL_FOR_REPLY);
    }

    if (kod) {
        int avg = s->rl->p.average;

        build_kod(&pkt.h, rx_time, (int8_t)(avg < 4 ? 4 : avg > 17 ? 17 : avg),
                  s->sys.precision, &rep);
        s->stats.kod++;
    } else {
        build_reply(&s->sys, &pkt.h, rx_time, &rep);
    }
    ntp_header_encode(&rep, reply);
    *reply_len = NTP_HEADER_LEN + trailer;
    if (trailer) {
        /* key id (0 for a crypto-NAK), digest zero until
         * server_finish_reply() computes it over the stamped header */
        uint32_t id = ar == AUTH_OK ? key->id : 0;

        memset(reply + NTP_HEADER_LEN, 0, trailer);
        reply[48] = (uint8_t)(id >> 24);
        reply[49] = (uint8_t)(id >> 16);
        reply[50] = (uint8_t)(id >> 8);
        reply[51] = (uint8_t)id;
    }
    s->stats.replied++;
    return SRV_REPLY;
}

enum srv_verdict server_handle(struct server *s, const uint8_t *req, size_t len,
                               real_ns rx_time, uint8_t *reply, size_t cap,
                               size_t *reply_len)
{
    return server_handle_from(s, NULL, (mono_ns){ 0 }, req, len, rx_time, reply, cap,
                              reply_len);
}

void server_stamp_xmt(uint8_t *reply, real_ns now)
{
    ntp64 t = ntp64_from_real(now);

    /* 0 means "unknown" on the wire; never send it as a real time. */
    if (t == 0)
        t = 1;
    for (int i = 0; i < 8; i++)
        reply[40 + i] = (uint8_t)(t >> (56 - 8 * i));
}

void server_finish_reply(const struct server *s, uint8_t *reply, size_t len, real_ns now)
{
    const struct auth_key *k;
    uint32_t id;

    server_stamp_xmt(reply, now);
    if (len <= NTP_HEADER_LEN + 4 || s->crypto == NULL)
        return;
    id = (uint32_t)reply[48] << 24 | (uint32_t)reply[49] << 16 | (uint32_t)reply[50] << 8 |
         reply[51];
    k = auth_find(s->keys, id);
    if (k == NULL || len != NTP_HEADER_LEN + 4 + auth_digest_len(k->alg) ||
        auth_append(s->crypto, k, reply, NTP_HEADER_LEN, len) != len)
        memset(reply + NTP_HEADER_LEN + 4, 0, len - NTP_HEADER_LEN - 4); /* fails to verify */
}

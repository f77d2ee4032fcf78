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
};

const char *srv_drop_name(enum srv_drop d)
{
    return (unsigned)d < SRV_DROP__COUNT ? drop_names[d] : "unknown";
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

/* Which requests this socket answers. Everything but mode 3 is dropped:
 * mode 7 never (amplification vector), mode 6 until the control issue,
 * symmetric modes only with configured, authenticated peers (BCP 223). */
static int classify_mode(uint8_t mode, enum srv_drop *why)
{
    switch (mode) {
    case MODE_CLIENT: return 1;
    case MODE_PRIVATE: *why = SRV_DROP_MODE7; return 0;
    case MODE_CONTROL: *why = SRV_DROP_MODE6; return 0;
    case MODE_ACTIVE:
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
    rep->mode = MODE_SERVER;
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

enum srv_verdict server_handle(struct server *s, const uint8_t *req, size_t len,
                               real_ns rx_time, uint8_t *reply, size_t cap,
                               size_t *reply_len)
{
    struct ntp_packet pkt;
    struct ntp_header rep;
    enum ntp_parse_result pr;
    enum srv_drop why;

    s->stats.received++;
    pr = ntp_packet_parse(req, len, &pkt);
    if (pr != PARSE_OK)
        return drop(s, drop_for_parse(pr));
    if (!classify_mode(pkt.h.mode, &why))
        return drop(s, why);
    /* Never answer with more octets than were asked (anti-amplification).
     * A parsed request is >= 48 octets, so this only guards the caller. */
    if (len < NTP_HEADER_LEN || cap < NTP_HEADER_LEN)
        return drop(s, SRV_DROP_TOO_SMALL_FOR_REPLY);

    build_reply(&s->sys, &pkt.h, rx_time, &rep);
    ntp_header_encode(&rep, reply);
    *reply_len = NTP_HEADER_LEN;
    s->stats.replied++;
    return SRV_REPLY;
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

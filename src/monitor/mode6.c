/* monitor/mode6: see mode6.h.
 *
 * All output goes through one bounded appender that records overflow, so
 * an answer that would not fit is refused instead of being cut mid-way.
 * Strings from the configuration (host names) are filtered so they cannot
 * break ntpq's "name=value," syntax or reach its terminal as control
 * bytes.
 */
#include "monitor/mode6.h"

#include <stddef.h>

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/packet.h"

static const char *const drop_names[M6_DROP__COUNT] = {
    [M6_DROP_TOO_SHORT] = "too_short",
    [M6_DROP_TOO_LONG] = "too_long",
    [M6_DROP_NOT_MODE6] = "not_mode6",
    [M6_DROP_BAD_VERSION] = "bad_version",
    [M6_DROP_RESPONSE] = "response",
    [M6_DROP_FRAGMENT] = "fragment",
    [M6_DROP_BAD_COUNT] = "bad_count",
    [M6_DROP_REFUSED] = "refused",
};

const char *mode6_drop_name(enum mode6_drop d)
{
    return (unsigned)d < M6_DROP__COUNT ? drop_names[d] : "unknown";
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* ---- parsing ------------------------------------------------------------------ */

int mode6_parse(const uint8_t *buf, size_t len, struct mode6_request *out)
{
    uint8_t vn;

    if (buf == NULL || len < MODE6_HDR_LEN)
        return M6_DROP_TOO_SHORT;
    if (len > NTP_MAX_PACKET)
        return M6_DROP_TOO_LONG;
    if ((buf[0] & 7u) != MODE_CONTROL)
        return M6_DROP_NOT_MODE6;
    vn = (uint8_t)((buf[0] >> 3) & 7u);
    if (vn < 1 || vn > 4)
        return M6_DROP_BAD_VERSION;
    if (buf[1] & 0xc0)
        return M6_DROP_RESPONSE;
    if ((buf[1] & 0x20) || get16(buf + 8) != 0)
        return M6_DROP_FRAGMENT;
    out->version = vn;
    out->opcode = buf[1] & 0x1f;
    out->sequence = get16(buf + 2);
    out->status = get16(buf + 4);
    out->assoc = get16(buf + 6);
    out->offset = 0;
    out->count = get16(buf + 10);
    if (out->count > len - MODE6_HDR_LEN)
        return M6_DROP_BAD_COUNT;
    out->data = buf + MODE6_HDR_LEN;
    out->mac_off = (MODE6_HDR_LEN + (size_t)out->count + 7) & ~(size_t)7;
    out->mac_len = 0;
    if (len % 4 == 0 && len >= out->mac_off + 4 + 16 && len <= out->mac_off + 4 + 20)
        out->mac_len = len - out->mac_off;
    return M6_PARSE_OK;
}

/* ---- status words ---------------------------------------------------------------- */

int mode6_select_code(char tally)
{
    static const char codes[] = " x.-+#*o";

    for (int i = 0; i < 8; i++)
        if (codes[i] == tally)
            return i;
    return 0;
}

uint16_t mode6_sys_status(const struct mode6_sys *s)
{
    unsigned li = (unsigned)s->t.leap & 3u, src = 0;

    if (s->t.synchronised)
        src = 6;                /* NTP */
    else if (s->t.stratum < 16 && strncmp(s->t.reference, "LOCL", 4) == 0)
        src = 5;                /* local clock */
    if (!s->t.synchronised && s->t.stratum >= 16)
        li = 3;
    return (uint16_t)(li << 14 | src << 8);
}

uint16_t mode6_peer_status(const struct mode6_peer *p)
{
    unsigned flags = 0;

    if (p->configured)
        flags |= 0x80;
    if (p->src.reach != 0)
        flags |= 0x10;
    flags |= (unsigned)mode6_select_code(p->src.state) & 7u;
    return (uint16_t)(flags << 8);
}

/* ---- bounded appender -------------------------------------------------------------- */

struct out {
    uint8_t *buf;
    size_t cap, len;
    bool overflow;
};

static void out_mem(struct out *o, const char *s, size_t n)
{
    if (n > o->cap - o->len) {
        o->overflow = true;
        return;
    }
    memcpy(o->buf + o->len, s, n);
    o->len += n;
}

__attribute__((format(printf, 2, 3)))
static void out_printf(struct out *o, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(tmp)) {
        o->overflow = true;
        return;
    }
    out_mem(o, tmp, (size_t)n);
}

/* A value safe inside ntpq's syntax: printable ASCII without '"', ',' or
 * '='; anything else becomes '?'. At most max bytes of s. */
static void out_safe(struct out *o, const char *s, size_t max)
{
    size_t n = s != NULL ? strnlen(s, max) : 0;

    for (size_t i = 0; i < n; i++) {
        char c = s[i];

        if ((unsigned char)c < 0x20 || (unsigned char)c >= 0x7f ||
            c == '"' || c == ',' || c == '=')
            c = '?';
        out_mem(o, &c, 1);
    }
}

static void out_ms(struct out *o, const char *name, double s)
{
    if (!isfinite(s))
        s = 0;
    /* far beyond any real offset, but keeps %f short and finite */
    if (s > 1e9)
        s = 1e9;
    if (s < -1e9)
        s = -1e9;
    out_printf(o, "%s=%.6f", name, s * 1e3);
}

static void out_ts(struct out *o, const char *name, ntp64 t)
{
    out_printf(o, "%s=0x%08x.%08x", name, (unsigned)ntp64_sec(t),
               (unsigned)ntp64_frac(t));
}

/* A plain number (ppm): 6 decimals, non-finite or absurd values as 0. */
static void out_num(struct out *o, const char *name, double v)
{
    if (!isfinite(v) || v > 1e12 || v < -1e12)
        v = 0;
    out_printf(o, "%s=%.6f", name, v);
}

/* ---- variables ----------------------------------------------------------------------- */

/* ntpq -c sysinfo's variables beyond the default list. */
static bool sysinfo_var(struct out *o, const struct mode6_sys *s, const char *name)
{
    if (strcmp(name, "peeradr") == 0) {
        out_printf(o, "peeradr=");
        out_safe(o, s->peeradr, sizeof(s->peeradr));
    } else if (strcmp(name, "peermode") == 0) {
        out_printf(o, "peermode=%d", s->peer_assoc != 0 ? 3 : 0);
    } else if (strcmp(name, "rootdist") == 0) {
        out_ms(o, name, s->rootdist_s);
    } else if (strcmp(name, "authdelay") == 0) {
        out_ms(o, name, 0);
    } else {
        return false;
    }
    return true;
}

/* ntpq -c sysstats: "ss_NAME" and its since-reset twin "ss_NAME_r",
 * which are the same here (counters are never reset but by a restart);
 * and the NTS server's counters that ntpq -c ntsinfo asks for. */
static bool sysstats_var(struct out *o, const struct mode6_sysstats *ss, const char *name)
{
    static const struct { const char *name; size_t off; } vars[] = {
#define SS(n, f) { "ss_" n, offsetof(struct mode6_sysstats, f) }
        SS("uptime", uptime_s), SS("reset", uptime_s), SS("numctlreq", ctlreq),
        SS("received", received), SS("thisver", thisver), SS("oldver", oldver),
        SS("ver1", ver1), SS("ver1client", ver1), SS("badformat", badformat),
        SS("badauth", badauth), SS("declined", declined), SS("restricted", restricted),
        SS("limited", limited), SS("kodsent", kodsent), SS("processed", processed),
        /* NTPv1 mode 0 and symmetric requests: never answered */
        SS("ver1zero", never), SS("ver1symm", never),
#undef SS
#define NT(n) { #n, offsetof(struct mode6_sysstats, n) }
        NT(nts_server_send), NT(nts_server_recv_good), NT(nts_server_recv_bad),
        NT(nts_ke_serves_good), NT(nts_ke_serves_bad),
#undef NT
    };
    size_t n = strlen(name);
    bool since_reset = n > 2 && strcmp(name + n - 2, "_r") == 0;

    if (since_reset)
        n -= 2;
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
        if (strlen(vars[i].name) != n || strncmp(vars[i].name, name, n) != 0)
            continue;
        out_printf(o, "%s=%llu", name, (unsigned long long)*(const uint64_t *)
                   ((const char *)ss + vars[i].off));
        return true;
    }
    return false;
}

/* One variable by name into o; false when the name is unknown. Names that
 * a snapshot cannot fill (system with no system string) are still known
 * and print an empty string. */
static bool sys_var(struct out *o, const struct mode6_sys *s, const char *name)
{
    const struct report_tracking *t = &s->t;

    if (strcmp(name, "version") == 0 || strcmp(name, "system") == 0) {
        out_printf(o, "%s=\"", name);
        out_safe(o, name[0] == 'v' ? s->version : s->system, 128);
        out_mem(o, "\"", 1);
    } else if (strcmp(name, "leap") == 0) {
        out_printf(o, "leap=%d", t->leap & 3);
    } else if (strcmp(name, "stratum") == 0) {
        out_printf(o, "stratum=%d", t->stratum);
    } else if (strcmp(name, "precision") == 0) {
        out_printf(o, "precision=%d", t->precision);
    } else if (strcmp(name, "rootdelay") == 0) {
        out_ms(o, name, t->root_delay_s);
    } else if (strcmp(name, "rootdisp") == 0) {
        out_ms(o, name, t->root_dispersion_s);
    } else if (strcmp(name, "refid") == 0) {
        out_printf(o, "refid=");
        out_safe(o, t->refid, sizeof(t->refid));
    } else if (strcmp(name, "reftime") == 0) {
        out_ts(o, name, s->reftime);
    } else if (strcmp(name, "clock") == 0) {
        out_ts(o, name, s->clock);
    } else if (strcmp(name, "peer") == 0) {
        out_printf(o, "peer=%u", (unsigned)s->peer_assoc);
    } else if (strcmp(name, "tc") == 0) {
        out_printf(o, "tc=%d", s->tc);
    } else if (strcmp(name, "mintc") == 0) {
        out_printf(o, "mintc=%d", 3);
    } else if (strcmp(name, "offset") == 0) {
        out_ms(o, name, t->offset_s);
    } else if (strcmp(name, "frequency") == 0) {
        out_num(o, name, t->frequency_ppm);
    } else if (strcmp(name, "sys_jitter") == 0) {
        out_ms(o, name, t->jitter_s);
    } else if (strcmp(name, "clk_jitter") == 0) {
        out_ms(o, name, t->jitter_s);
    } else if (strcmp(name, "clk_wander") == 0) {
        out_num(o, name, s->wander_ppm);
    } else {
        return sysinfo_var(o, s, name) || sysstats_var(o, &s->ss, name);
    }
    return true;
}

static const char *const sys_names[] = {
    "version", "system", "leap", "stratum", "precision", "rootdelay", "rootdisp",
    "refid", "reftime", "clock", "peer", "tc", "mintc", "offset", "frequency",
    "sys_jitter", "clk_jitter", "clk_wander",
};

static bool has_srchost(const struct mode6_peer *p)
{
    size_t n = strnlen(p->src.name, sizeof(p->src.name));

    return n > 0 && !(n == strnlen(p->srcadr, sizeof(p->srcadr)) &&
                      memcmp(p->src.name, p->srcadr, n) == 0);
}

static bool peer_var(struct out *o, const struct mode6_peer *p, const char *name)
{
    const struct report_source *s = &p->src;

    if (strcmp(name, "srcadr") == 0) {
        out_printf(o, "srcadr=");
        if (strnlen(p->srcadr, sizeof(p->srcadr)) > 0)
            out_safe(o, p->srcadr, sizeof(p->srcadr));
        else
            out_printf(o, "0.0.0.0");
    } else if (strcmp(name, "srcport") == 0) {
        out_printf(o, "srcport=%u", (unsigned)p->srcport);
    } else if (strcmp(name, "srchost") == 0) {
        out_printf(o, "srchost=\"");
        out_safe(o, s->name, sizeof(s->name));
        out_mem(o, "\"", 1);
    } else if (strcmp(name, "leap") == 0) {
        out_printf(o, "leap=%d", p->leap & 3);
    } else if (strcmp(name, "stratum") == 0) {
        out_printf(o, "stratum=%d", s->stratum);
    } else if (strcmp(name, "precision") == 0) {
        out_printf(o, "precision=%d", p->precision);
    } else if (strcmp(name, "rootdelay") == 0) {
        out_ms(o, name, p->rootdelay_s);
    } else if (strcmp(name, "rootdisp") == 0) {
        out_ms(o, name, p->rootdisp_s);
    } else if (strcmp(name, "refid") == 0) {
        out_printf(o, "refid=");
        out_safe(o, s->refid, sizeof(s->refid));
    } else if (strcmp(name, "reftime") == 0) {
        out_ts(o, name, p->reftime);
    } else if (strcmp(name, "rec") == 0) {
        out_ts(o, name, p->rec);
    } else if (strcmp(name, "reach") == 0) {
        out_printf(o, "reach=0x%02x", (unsigned)s->reach);  /* ntpq shows octal */
    } else if (strcmp(name, "hmode") == 0) {
        out_printf(o, "hmode=%d", p->hmode);
    } else if (strcmp(name, "pmode") == 0) {
        out_printf(o, "pmode=%d", p->hmode == 3 ? 4 : p->hmode == 1 ? 2 : 0);
    } else if (strcmp(name, "hpoll") == 0) {
        out_printf(o, "hpoll=%d", s->poll);
    } else if (strcmp(name, "ppoll") == 0) {
        out_printf(o, "ppoll=%d", p->ppoll);
    } else if (strcmp(name, "offset") == 0) {
        out_ms(o, name, s->have_sample ? s->offset_s : 0);
    } else if (strcmp(name, "delay") == 0) {
        out_ms(o, name, s->have_sample ? s->delay_s : 0);
    } else if (strcmp(name, "dispersion") == 0) {
        out_ms(o, name, p->dispersion_s);
    } else if (strcmp(name, "jitter") == 0) {
        out_ms(o, name, s->have_sample ? s->jitter_s : 0);
    } else {
        return false;
    }
    return true;
}

static const char *const peer_names[] = {
    "srcadr", "srcport", "srchost", "leap", "stratum", "precision", "rootdelay",
    "rootdisp", "refid", "reftime", "rec", "reach", "hmode", "pmode", "hpoll",
    "ppoll", "offset", "delay", "dispersion", "jitter",
};

#define NAMES(a) (sizeof(a) / sizeof((a)[0]))

/* ---- READVAR ------------------------------------------------------------------------- */

struct target {
    const struct mode6_sys *sys;    /* one of the two */
    const struct mode6_peer *peer;
};

static bool put_var(struct out *o, const struct target *t, const char *name)
{
    return t->sys != NULL ? sys_var(o, t->sys, name) : peer_var(o, t->peer, name);
}

static bool is_blank(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\0';
}

/* All variables, or those named in the request's "a,b=c, d" list.
 * Returns 0 or an error code. */
static int readvar(struct out *o, const struct target *t, const uint8_t *list,
                   size_t n)
{
    bool first = true;
    size_t i = 0;

    if (n == 0) {
        const char *const *names = t->sys != NULL ? sys_names : peer_names;
        size_t count = t->sys != NULL ? NAMES(sys_names) : NAMES(peer_names);

        for (size_t k = 0; k < count; k++) {
            if (t->peer != NULL && strcmp(names[k], "srchost") == 0 &&
                !has_srchost(t->peer))
                continue;
            if (!first)
                out_mem(o, ", ", 2);
            put_var(o, t, names[k]);
            first = false;
        }
        out_mem(o, "\r\n", 2);
        return 0;
    }
    while (i < n) {
        char name[33];
        size_t start, end, k = 0;

        while (i < n && is_blank(list[i]))
            i++;
        start = i;
        while (i < n && list[i] != ',')
            i++;
        end = i;
        if (i < n)
            i++;                            /* the comma */
        for (size_t j = start; j < end && list[j] != '='; j++) {
            if (k == sizeof(name) - 1)
                return M6_ERR_UNKNOWNVAR;   /* no variable is that long */
            name[k++] = (char)list[j];
        }
        while (k > 0 && is_blank((uint8_t)name[k - 1]))
            k--;
        name[k] = '\0';
        if (k == 0)
            continue;
        if (memchr(name, '\0', k) != NULL)
            return M6_ERR_UNKNOWNVAR;
        if (!first)
            out_mem(o, ", ", 2);
        if (!put_var(o, t, name))
            return M6_ERR_UNKNOWNVAR;
        first = false;
    }
    out_mem(o, "\r\n", 2);
    return 0;
}

/* ---- answering ------------------------------------------------------------------------- */

static const struct mode6_peer *find_peer(const struct mode6_view *v, uint16_t assoc)
{
    for (int i = 0; i < v->n_peers; i++)
        if (v->peers[i].assoc == assoc)
            return &v->peers[i];
    return NULL;
}

static int set_error(struct mode6_reply *r, int code, struct mode6_stats *st)
{
    r->error = true;
    r->status = (uint16_t)(code << 8);
    r->data_len = 0;
    r->n_frags = 1;
    r->frag_data = 0;
    st->errors++;
    return 1;
}

static bool write_op(uint8_t op)
{
    return op == M6_OP_WRITEVAR || op == M6_OP_WRITECLOCK || op == M6_OP_SETTRAP ||
           op == M6_OP_UNSETTRAP || op == M6_OP_CONFIGURE || op == M6_OP_SAVECONFIG;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* A trailer: true when it verifies with the controlkey (sign the answer),
 * false (*bad set) when it does not; no trailer: false, *bad clear. */
static bool authenticated(const struct mode6_request *q, const uint8_t *req,
                          const struct mode6_auth *auth, bool *bad)
{
    *bad = false;
    if (q->mac_len == 0)
        return false;
    if (auth != NULL && auth->controlkey != NULL && auth->crypto != NULL &&
        auth_verify_key(auth->crypto, auth->controlkey, req, q->mac_off,
                        get32(req + q->mac_off), req + q->mac_off + 4,
                        q->mac_len - 4) == AUTH_OK)
        return true;
    *bad = true;
    return false;
}

int mode6_handle(const uint8_t *req, size_t len, bool local,
                 const struct mode6_view *v, struct mode6_reply *r,
                 struct mode6_stats *st, enum mode6_drop *why)
{
    return mode6_handle_auth(req, len, local, NULL, v, r, st, why);
}

int mode6_handle_auth(const uint8_t *req, size_t len, bool local,
                      const struct mode6_auth *auth, const struct mode6_view *v,
                      struct mode6_reply *r, struct mode6_stats *st, enum mode6_drop *why)
{
    struct mode6_request q;
    bool bad_mac;
    struct out o = { .buf = r->data, .cap = sizeof(r->data) };
    size_t frag_max;
    int pr, err = 0;

    st->requests++;
    pr = mode6_parse(req, len, &q);
    if (pr != M6_PARSE_OK) {
        *why = (enum mode6_drop)pr;
        st->dropped[pr]++;
        return 0;
    }
    r->version = q.version;
    r->opcode = q.opcode;
    r->sequence = q.sequence;
    r->assoc = q.assoc;
    r->status = 0;
    r->error = false;
    r->data_len = 0;
    r->key = NULL;
    r->crypto = NULL;
    if (authenticated(&q, req, auth, &bad_mac)) {
        r->key = auth->controlkey;
        r->crypto = auth->crypto;
        st->authenticated++;
    } else if (bad_mac) {
        st->auth_failed++;
        return set_error(r, M6_ERR_PERMISSION, st);
    }

    if (q.opcode == M6_OP_READSTAT || q.opcode == M6_OP_READVAR) {
        const struct mode6_peer *p = NULL;

        if (q.assoc != 0 && (p = find_peer(v, q.assoc)) == NULL)
            return set_error(r, M6_ERR_BADASSOC, st);
        if (q.opcode == M6_OP_READSTAT && p == NULL) {
            r->status = mode6_sys_status(v->sys);
            for (int i = 0; i < v->n_peers; i++) {
                uint8_t pair[4];

                put16(pair, v->peers[i].assoc);
                put16(pair + 2, mode6_peer_status(&v->peers[i]));
                out_mem(&o, (const char *)pair, 4);
            }
        } else if (q.opcode == M6_OP_READSTAT) {
            r->status = mode6_peer_status(p);
        } else {
            struct target t = { .sys = p == NULL ? v->sys : NULL, .peer = p };

            r->status = p == NULL ? mode6_sys_status(v->sys) : mode6_peer_status(p);
            err = readvar(&o, &t, q.data, q.count);
            if (err != 0)
                return set_error(r, err, st);
        }
    } else {
        return set_error(r, write_op(q.opcode) ? M6_ERR_PROHIBITED : M6_ERR_BADOP, st);
    }
    if (o.overflow)
        return set_error(r, M6_ERR_UNSPEC, st);
    r->data_len = o.len;

    /* The size policy: see mode6.h. */
    if (local) {
        frag_max = MODE6_MAX_DATA;
    } else if (r->key != NULL) {
        /* a signed fragment is its data padded to 8, then the trailer the
         * request also had: fit the padded part in the request's */
        frag_max = (q.mac_off - MODE6_HDR_LEN) & ~(size_t)3;
        if (frag_max > MODE6_MAX_DATA)
            frag_max = MODE6_MAX_DATA;
        if (r->data_len > frag_max) {
            st->too_big++;
            return set_error(r, M6_ERR_UNSPEC, st);
        }
    } else {
        frag_max = (len - MODE6_HDR_LEN) & ~(size_t)3;
        if (frag_max > MODE6_MAX_DATA)
            frag_max = MODE6_MAX_DATA;
        if (r->data_len > frag_max) {
            st->too_big++;
            return set_error(r, M6_ERR_UNSPEC, st);
        }
    }
    r->frag_data = frag_max;
    r->n_frags = r->data_len == 0 ? 1 : (int)((r->data_len + frag_max - 1) / frag_max);
    if (r->n_frags > MODE6_MAX_FRAGS)
        return set_error(r, M6_ERR_UNSPEC, st);
    st->answered++;
    return r->n_frags;
}

size_t mode6_fragment(const struct mode6_reply *r, int i, uint8_t *out, size_t cap)
{
    size_t off, count, total;
    bool more;

    if (i < 0 || i >= r->n_frags)
        return 0;
    off = r->error ? 0 : (size_t)i * r->frag_data;
    count = r->error ? 0 : r->data_len - off;
    if (count > r->frag_data)
        count = r->frag_data;
    more = i + 1 < r->n_frags;
    total = (MODE6_HDR_LEN + count + 3) & ~(size_t)3;
    if (cap < total)
        return 0;
    memset(out, 0, total);
    out[0] = (uint8_t)((r->version & 7u) << 3 | MODE_CONTROL);
    out[1] = (uint8_t)(0x80 | (r->error ? 0x40 : 0) | (more ? 0x20 : 0) |
                       (r->opcode & 0x1f));
    put16(out + 2, r->sequence);
    put16(out + 4, r->status);
    put16(out + 6, r->assoc);
    put16(out + 8, (uint16_t)off);
    put16(out + 10, (uint16_t)count);
    if (count > 0)
        memcpy(out + MODE6_HDR_LEN, r->data + off, count);
    if (r->key == NULL)
        return total;
    /* signed: pad to 8 octets, then key id and digest over all before */
    if (total % 8 != 0) {
        if (cap < total + 4)
            return 0;
        memset(out + total, 0, 4);
        total += 4;
    }
    return auth_append(r->crypto, r->key, out, total, cap);
}

/* sys/ntske_server: see ntske_server.h. */
#include "sys/ntske_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "core/nts_ke.h"
#include "sys/log.h"
#include "sys/ntske_tls.h"

#define REQUEST_MAX 4096        /* RFC 8915 §4: at least 1024 must be accepted */
#define SESSIONS_MAX 4096       /* "nts maxsessions" ceiling */

struct ntske_server {
    struct ntske_server_conf c;
    SSL_CTX *ctx;
    int fd;
    /* sessions in progress, each on its thread; under sess_lock */
    pthread_mutex_t sess_lock;
    int active;
    struct in6_addr *peer;      /* max_sessions entries, in use: used[i] */
    bool *used;
    atomic_ullong refused_busy, refused_peer, timed_out;
    pthread_mutex_t keys_lock;
    struct nts_server_keys keys;        /* under keys_lock */
    atomic_ullong ok, failed;
};

static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned inlen, void *arg)
{
    static const unsigned char ours[] = "\x07" NTSKE_ALPN;

    (void)ssl, (void)arg;
    if (SSL_select_next_proto((unsigned char **)out, outlen, ours, sizeof(ours) - 1, in,
                              inlen) != OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_ALERT_FATAL;  /* no ntske/1: no session */
    return SSL_TLSEXT_ERR_OK;
}

static int fill_random(void *p, size_t n)
{
    return getrandom(p, n, 0) == (ssize_t)n ? 0 : -1;
}

/* The response to a good request: protocol, algorithm, 8 cookies, port. */
static size_t build_response(struct ntske_server *s, SSL *ssl, uint8_t *buf, size_t cap)
{
    struct nts_server_keys ks;
    const char *label = NTSKE_EXPORTER_LABEL;
    uint8_t c2s[NTS_AEAD_KEY_LEN], s2c[NTS_AEAD_KEY_LEN], ctx[5], nonce[NTS_NONCE_LEN];
    uint8_t ck[NTS_SERVER_COOKIE_LEN];
    size_t off = 0;
    bool ok;

    ntske_exporter_context(NTS_AEAD_AES_SIV_CMAC_256, false, ctx);
    ok = SSL_export_keying_material(ssl, c2s, sizeof(c2s), label, strlen(label), ctx, 5, 1);
    ntske_exporter_context(NTS_AEAD_AES_SIV_CMAC_256, true, ctx);
    ok = ok && SSL_export_keying_material(ssl, s2c, sizeof(s2c), label, strlen(label), ctx,
                                          5, 1);
    ok = ok && ntske_put_u16(buf, cap, &off, NTSKE_NEXT_PROTO, true, NTSKE_PROTO_NTPV4) == 0 &&
         ntske_put_u16(buf, cap, &off, NTSKE_AEAD, true, NTS_AEAD_AES_SIV_CMAC_256) == 0;
    pthread_mutex_lock(&s->keys_lock);
    ks = s->keys;
    pthread_mutex_unlock(&s->keys_lock);
    for (int i = 0; ok && i < NTS_MAX_COOKIES; i++)
        ok = fill_random(nonce, sizeof(nonce)) == 0 &&
             nts_cookie_seal(s->c.aead, &ks, c2s, s2c, nonce, ck) == 0 &&
             ntske_put(buf, cap, &off, NTSKE_COOKIE, false, ck, sizeof(ck)) == 0;
    explicit_bzero(&ks, sizeof(ks));
    if (ok && s->c.ntp_server)
        ok = ntske_put(buf, cap, &off, NTSKE_SERVER, false, s->c.ntp_server,
                       (uint16_t)strlen(s->c.ntp_server)) == 0;
    if (ok && s->c.ntp_port != 123)
        ok = ntske_put_u16(buf, cap, &off, NTSKE_PORT_REC, true, s->c.ntp_port) == 0;
    ok = ok && ntske_put(buf, cap, &off, NTSKE_END, true, NULL, 0) == 0;
    explicit_bzero(c2s, sizeof(c2s));
    explicit_bzero(s2c, sizeof(s2c));
    return ok ? off : 0;
}

static size_t build_error(uint16_t code, uint8_t *buf, size_t cap)
{
    size_t off = 0;

    if (ntske_put_u16(buf, cap, &off, NTSKE_ERROR, true, code) < 0 ||
        ntske_put(buf, cap, &off, NTSKE_END, true, NULL, 0) < 0)
        return 0;
    return off;
}

static int64_t mono_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec;
}

/* One session on an accepted socket; true when cookies went out. Each
 * read and write waits timeout_s at most, and the whole session gets
 * timeout_s (checked after each step): a client that trickles its
 * handshake in one octet at a time is cut off too. */
static bool serve(struct ntske_server *s, SSL *ssl, bool *timed_out)
{
    static _Thread_local uint8_t req[REQUEST_MAX], resp[2048];
    struct ntske_request rq;
    enum ntske_result r = NTSKE_INCOMPLETE;
    size_t len = 0, n = 0;
    int64_t deadline = mono_s() + s->c.timeout_s;

    if (SSL_accept(ssl) != 1) {
        *timed_out = errno == EAGAIN || errno == EWOULDBLOCK || mono_s() > deadline;
        return false;
    }
    while (r == NTSKE_INCOMPLETE && len < sizeof(req)) {
        int k = SSL_read(ssl, req + len, (int)(sizeof(req) - len));

        if (k <= 0 || mono_s() > deadline) {
            *timed_out = k > 0 || errno == EAGAIN || errno == EWOULDBLOCK;
            return false;
        }
        len += (size_t)k;
        r = ntske_parse_request(req, len, &rq);
    }
    if (r == NTSKE_OK)
        n = build_response(s, ssl, resp, sizeof(resp));
    else
        n = build_error(r == NTSKE_UNKNOWN_CRITICAL ? NTSKE_ERR_UNRECOGNIZED_CRITICAL
                                                    : NTSKE_ERR_BAD_REQUEST, resp, sizeof(resp));
    if (n == 0 || SSL_write(ssl, resp, (int)n) != (int)n)
        return false;
    (void)SSL_shutdown(ssl);
    return r == NTSKE_OK;
}

struct session {
    struct ntske_server *s;
    int fd, slot;
};

static void session_end(struct ntske_server *s, int slot)
{
    pthread_mutex_lock(&s->sess_lock);
    s->used[slot] = false;
    s->active--;
    pthread_mutex_unlock(&s->sess_lock);
}

/* How much nicer than the daemon a session's thread runs: a handshake is
 * about a millisecond of CPU, and where it shares a core with the packet
 * path the scheduler should let a waking NTP thread in first (weight 110
 * against 1024 under contention), so NTP replies are not delayed behind
 * TLS. Key exchanges still progress: the NTP thread sleeps between
 * batches. */
#define SESSION_NICER 10

static void *session_main(void *arg)
{
    struct session *ss = arg;
    struct ntske_server *s = ss->s;
    struct timeval tv = { .tv_sec = s->c.timeout_s };
    bool timed_out = false, ok;
    SSL *ssl;
    int nice_now;

    /* Linux: PRIO_PROCESS with a thread id sets that thread alone */
    errno = 0;
    nice_now = getpriority(PRIO_PROCESS, 0);
    if (errno == 0 && nice_now < 19)
        (void)setpriority(PRIO_PROCESS, (id_t)gettid(),
                          nice_now + SESSION_NICER > 19 ? 19 : nice_now + SESSION_NICER);
    (void)setsockopt(ss->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    (void)setsockopt(ss->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    ssl = SSL_new(s->ctx);
    ok = ssl && SSL_set_fd(ssl, ss->fd) && serve(s, ssl, &timed_out);
    if (ok)
        s->ok++;
    else
        s->failed++;
    if (timed_out)
        s->timed_out++;
    SSL_free(ssl);
    ERR_clear_error();
    close(ss->fd);
    session_end(s, ss->slot);
    free(ss);
    return NULL;
}

static void peer_str(const struct in6_addr *a, char *out, size_t cap)
{
    if (IN6_IS_ADDR_V4MAPPED(a))
        inet_ntop(AF_INET, &a->s6_addr[12], out, (socklen_t)cap);
    else
        inet_ntop(AF_INET6, a, out, (socklen_t)cap);
}

/* Room for one more session from peer: its slot, or -1 (why logged; the
 * first 10 refusals and then every 100th, so a flood does not fill the
 * log). */
static int admit(struct ntske_server *s, const struct in6_addr *peer)
{
    int same = 0, slot = -1;
    bool busy;
    char who[INET6_ADDRSTRLEN];
    unsigned long long n;

    pthread_mutex_lock(&s->sess_lock);
    for (int i = 0; i < s->c.max_sessions; i++) {
        if (!s->used[i]) {
            if (slot < 0)
                slot = i;
        } else if (memcmp(&s->peer[i], peer, sizeof(*peer)) == 0) {
            same++;
        }
    }
    busy = s->active >= s->c.max_sessions;
    if (!busy && same < s->c.per_client) {
        s->used[slot] = true;
        s->peer[slot] = *peer;
        s->active++;
        pthread_mutex_unlock(&s->sess_lock);
        return slot;
    }
    pthread_mutex_unlock(&s->sess_lock);
    n = busy ? ++s->refused_busy : ++s->refused_peer;
    if (n <= 10 || n % 100 == 0) {
        peer_str(peer, who, sizeof(who));
        if (busy)
            log_warnx("nts", "NTS-KE connection from %s refused: %d sessions in progress "
                      "(nts maxsessions %d; %llu refused so)", who, s->c.max_sessions,
                      s->c.max_sessions, n);
        else
            log_warnx("nts", "NTS-KE connection from %s refused: %d sessions from that "
                      "address already (nts perclient %d; %llu refused so)", who, same,
                      s->c.per_client, n);
    }
    return -1;
}

static bool start_session(struct ntske_server *s, int fd, int slot)
{
    struct session *ss = malloc(sizeof(*ss));
    pthread_attr_t at;
    pthread_t th;
    int rc = -1;

    if (!ss)
        return false;
    *ss = (struct session){ .s = s, .fd = fd, .slot = slot };
    if (pthread_attr_init(&at) == 0) {
        (void)pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        (void)pthread_attr_setstacksize(&at, 256 * 1024);
        rc = pthread_create(&th, &at, session_main, ss);
        pthread_attr_destroy(&at);
    }
    if (rc != 0)
        free(ss);
    return rc == 0;
}

/* The acceptor: each connection admitted gets a thread of its own, so a
 * slow or silent client holds only its own session, and the caps bound
 * how many there are. */
static void *thread_main(void *arg)
{
    struct ntske_server *s = arg;

    for (;;) {
        struct sockaddr_in6 a;
        socklen_t alen = sizeof(a);
        int fd = accept4(s->fd, (struct sockaddr *)&a, &alen, SOCK_CLOEXEC);
        int slot;

        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE ||
                errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                continue;
            return NULL;
        }
        slot = admit(s, &a.sin6_addr);
        if (slot < 0) {
            close(fd);
            continue;
        }
        if (!start_session(s, fd, slot)) {
            s->failed++;
            close(fd);
            session_end(s, slot);
        }
    }
}

static int listen_on(uint16_t port, char *err, size_t errlen)
{
    struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons(port),
                              .sin6_addr = IN6ADDR_ANY_INIT };
    int one = 1, zero = 0;
    int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0) {
        snprintf(err, errlen, "NTS-KE socket: %s", strerror(errno));
        return -1;
    }
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 64) < 0) {
        snprintf(err, errlen, "NTS-KE port %u: %s", (unsigned)port, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

struct ntske_server *ntske_server_start(const struct ntske_server_conf *c, char *err,
                                        size_t errlen)
{
    struct ntske_server *s = calloc(1, sizeof(*s));
    pthread_attr_t at;
    pthread_t th;

    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->c = *c;
    s->fd = -1;
    s->keys = *c->keys;
    pthread_mutex_init(&s->keys_lock, NULL);
    pthread_mutex_init(&s->sess_lock, NULL);
    if (s->c.max_sessions <= 0 || s->c.max_sessions > SESSIONS_MAX)
        s->c.max_sessions = NTSKE_SESSIONS_DEFAULT;
    if (s->c.per_client <= 0)
        s->c.per_client = NTSKE_PER_CLIENT_DEFAULT;
    if (s->c.timeout_s <= 0)
        s->c.timeout_s = NTSKE_TIMEOUT_S;
    s->peer = calloc((size_t)s->c.max_sessions, sizeof(*s->peer));
    s->used = calloc((size_t)s->c.max_sessions, sizeof(*s->used));
    if (!s->peer || !s->used) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    s->ctx = SSL_CTX_new(TLS_server_method());
    if (!s->ctx || !SSL_CTX_set_min_proto_version(s->ctx, TLS1_3_VERSION) ||
        SSL_CTX_use_certificate_chain_file(s->ctx, c->cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(s->ctx, c->key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(s->ctx) != 1) {
        char why[160];

        ERR_error_string_n(ERR_get_error(), why, sizeof(why));
        snprintf(err, errlen, "nts cert %.80s / nts key %.80s: %.120s", c->cert, c->key, why);
        goto fail;
    }
    SSL_CTX_set_alpn_select_cb(s->ctx, alpn_select, NULL);
    s->fd = listen_on(c->port, err, errlen);
    if (s->fd < 0)
        goto fail;
    if (pthread_attr_init(&at) != 0)
        goto fail;
    (void)pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&th, &at, thread_main, s) != 0) {
        pthread_attr_destroy(&at);
        snprintf(err, errlen, "cannot start the NTS-KE thread");
        goto fail;
    }
    pthread_attr_destroy(&at);
    return s;
fail:
    if (s->fd >= 0)
        close(s->fd);
    SSL_CTX_free(s->ctx);
    free(s->peer);
    free(s->used);
    free(s);
    return NULL;
}

void ntske_server_set_keys(struct ntske_server *s, const struct nts_server_keys *ks)
{
    pthread_mutex_lock(&s->keys_lock);
    s->keys = *ks;
    pthread_mutex_unlock(&s->keys_lock);
}

void ntske_server_counts(const struct ntske_server *s, struct ntske_server_stats *st)
{
    st->ok = s->ok;
    st->failed = s->failed;
    st->refused_busy = s->refused_busy;
    st->refused_peer = s->refused_peer;
    st->timed_out = s->timed_out;
}

static void asn1_time_str(const ASN1_TIME *t, char *out, size_t cap)
{
    BIO *b = BIO_new(BIO_s_mem());
    int n = 0;

    out[0] = '\0';
    if (b && ASN1_TIME_print(b, t) == 1)
        n = BIO_read(b, out, (int)cap - 1);
    out[n > 0 ? n : 0] = '\0';
    BIO_free(b);
}

static X509 *read_cert(const char *what, const char *path, char *msg, size_t cap)
{
    FILE *f = fopen(path, "re");
    X509 *x;

    if (!f) {
        snprintf(msg, cap, "%s %s: %s", what, path, strerror(errno));
        return NULL;
    }
    x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (!x)
        snprintf(msg, cap, "%s %s: no PEM certificate in it", what, path);
    ERR_clear_error();
    return x;
}

/* The certificate is valid now. */
static int check_dates(const char *path, X509 *x, char *msg, size_t cap)
{
    char when[64];

    if (X509_cmp_current_time(X509_get0_notAfter(x)) < 0) {
        asn1_time_str(X509_get0_notAfter(x), when, sizeof(when));
        snprintf(msg, cap, "nts cert %s: expired (not after %s): clients will refuse it",
                 path, when);
        return -1;
    }
    if (X509_cmp_current_time(X509_get0_notBefore(x)) > 0) {
        asn1_time_str(X509_get0_notBefore(x), when, sizeof(when));
        snprintf(msg, cap, "nts cert %s: not valid yet (not before %s)", path, when);
        return -1;
    }
    return 0;
}

static int check_key(const char *key, X509 *x, const char *cert, char *msg, size_t cap)
{
    FILE *f = fopen(key, "re");
    EVP_PKEY *k;
    int rc = 0;

    if (!f) {
        snprintf(msg, cap, "nts key %s: %s", key, strerror(errno));
        return -1;
    }
    k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (!k) {
        snprintf(msg, cap, "nts key %s: no PEM private key in it", key);
        rc = -1;
    } else if (x && X509_check_private_key(x, k) != 1) {
        snprintf(msg, cap, "nts key %s does not match the certificate in nts cert %s", key,
                 cert);
        rc = -1;
    }
    EVP_PKEY_free(k);
    ERR_clear_error();
    return rc;
}

int ntske_check_files(const char *cert, const char *key, const char *ca, char *msg,
                      size_t cap)
{
    X509 *x = NULL;
    int rc = 0;

    if (cert) {
        x = read_cert("nts cert", cert, msg, cap);
        rc = x ? check_dates(cert, x, msg, cap) : -1;
    }
    if (rc == 0 && key)
        rc = check_key(key, x, cert ? cert : "?", msg, cap);
    X509_free(x);
    if (rc == 0 && ca) {
        x = read_cert("nts ca", ca, msg, cap);
        rc = x ? 0 : -1;
        X509_free(x);
    }
    return rc;
}

/* sys/ntske_server: see ntske_server.h. */
#include "sys/ntske_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "core/nts_ke.h"
#include "sys/log.h"
#include "sys/ntske_tls.h"

#define REQUEST_MAX 4096        /* RFC 8915 §4: at least 1024 must be accepted */

struct ntske_server {
    struct ntske_server_conf c;
    SSL_CTX *ctx;
    int fd;
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

/* One session on an accepted socket; true when cookies went out. */
static bool serve(struct ntske_server *s, SSL *ssl)
{
    static _Thread_local uint8_t req[REQUEST_MAX], resp[2048];
    struct ntske_request rq;
    enum ntske_result r = NTSKE_INCOMPLETE;
    size_t len = 0, n = 0;

    if (SSL_accept(ssl) != 1)
        return false;
    while (r == NTSKE_INCOMPLETE && len < sizeof(req)) {
        int k = SSL_read(ssl, req + len, (int)(sizeof(req) - len));

        if (k <= 0)
            return false;
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

static void *thread_main(void *arg)
{
    struct ntske_server *s = arg;
    struct timeval tv = { .tv_sec = NTSKE_TIMEOUT_S };

    for (;;) {
        int fd = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC);
        SSL *ssl;
        bool ok;

        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            return NULL;
        }
        /* a slow or half-open client holds the thread 10 s at most per read */
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        ssl = SSL_new(s->ctx);
        ok = ssl && SSL_set_fd(ssl, fd) && serve(s, ssl);
        if (ok)
            s->ok++;
        else
            s->failed++;
        SSL_free(ssl);
        ERR_clear_error();
        close(fd);
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
    free(s);
    return NULL;
}

void ntske_server_set_keys(struct ntske_server *s, const struct nts_server_keys *ks)
{
    pthread_mutex_lock(&s->keys_lock);
    s->keys = *ks;
    pthread_mutex_unlock(&s->keys_lock);
}

void ntske_server_counts(const struct ntske_server *s, uint64_t *ok, uint64_t *failed)
{
    *ok = s->ok;
    *failed = s->failed;
}

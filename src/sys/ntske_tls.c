/* sys/ntske_tls: see ntske_tls.h. */
#include "sys/ntske_tls.h"

#include <errno.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "core/nts_ke.h"

struct ntske_tls {
    SSL_CTX *ctx;
};

static void ssl_error(char *err, size_t errlen, const char *what)
{
    unsigned long e = ERR_get_error();
    char buf[160];

    ERR_error_string_n(e, buf, sizeof(buf));
    snprintf(err, errlen, "%.40s: %.110s", what, e ? buf : "failed");
    ERR_clear_error();
}

struct ntske_tls *ntske_tls_new(const char *ca_file, char *err, size_t errlen)
{
    static const unsigned char alpn[] = "\x07" NTSKE_ALPN;
    struct ntske_tls *t = calloc(1, sizeof(*t));

    if (!t) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    t->ctx = SSL_CTX_new(TLS_client_method());
    if (!t->ctx || !SSL_CTX_set_min_proto_version(t->ctx, TLS1_3_VERSION) ||
        SSL_CTX_set_alpn_protos(t->ctx, alpn, sizeof(alpn) - 1) != 0) {
        ssl_error(err, errlen, "TLS context");
        ntske_tls_free(t);
        return NULL;
    }
    SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
    if (ca_file ? SSL_CTX_load_verify_locations(t->ctx, ca_file, NULL) != 1
                : SSL_CTX_set_default_verify_paths(t->ctx) != 1) {
        ssl_error(err, errlen, ca_file ? ca_file : "system trust store");
        ntske_tls_free(t);
        return NULL;
    }
    return t;
}

void ntske_tls_free(struct ntske_tls *t)
{
    if (!t)
        return;
    SSL_CTX_free(t->ctx);
    free(t);
}

static int connect_to(const char *host, uint16_t port, char *err, size_t errlen)
{
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
    struct timeval tv = { .tv_sec = NTSKE_TIMEOUT_S };
    char ps[8];
    int fd = -1, rc;

    snprintf(ps, sizeof(ps), "%u", (unsigned)port);
    rc = getaddrinfo(host, ps, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "cannot resolve %.64s: %.60s", host, gai_strerror(rc));
        return -1;
    }
    for (ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0)
            continue;
        /* a blocking connect honours the send timeout on Linux */
        (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        snprintf(err, errlen, "connect to %.64s port %u: %.60s", host, (unsigned)port,
                 strerror(errno));
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

/* Host name or, for a numeric host, the IP address in the certificate. */
static int expect_name(SSL *ssl, const char *host)
{
    unsigned char a[16];
    X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);

    if (inet_pton(AF_INET, host, a) == 1 || inet_pton(AF_INET6, host, a) == 1)
        return X509_VERIFY_PARAM_set1_ip_asc(vp, host);
    if (!SSL_set_tlsext_host_name(ssl, host))
        return 0;
    return SSL_set1_host(ssl, host);
}

static void handshake_error(SSL *ssl, char *err, size_t errlen)
{
    long v = SSL_get_verify_result(ssl);

    if (v != X509_V_OK)
        snprintf(err, errlen, "certificate verification failed: %s",
                 X509_verify_cert_error_string(v));
    else
        ssl_error(err, errlen, "TLS handshake");
}

/* Read the response until it parses (or cannot). */
static enum ntske_result read_response(SSL *ssl, struct ntske_response *resp,
                                       char *err, size_t errlen)
{
    static const size_t cap = NTSKE_MAX_MESSAGE;
    uint8_t *buf = malloc(cap);
    size_t len = 0;
    enum ntske_result r = NTSKE_INCOMPLETE;

    if (!buf) {
        snprintf(err, errlen, "out of memory");
        return NTSKE_MALFORMED;
    }
    while (r == NTSKE_INCOMPLETE && len < cap) {
        int k = SSL_read(ssl, buf + len, (int)(cap - len));

        if (k <= 0) {
            snprintf(err, errlen, "response incomplete (%zu octets read)", len);
            break;
        }
        len += (size_t)k;
        r = ntske_parse_response(buf, len, resp);
    }
    if (r != NTSKE_OK && r != NTSKE_INCOMPLETE) {
        if (r == NTSKE_SERVER_ERROR || r == NTSKE_WARNING_RECEIVED)
            snprintf(err, errlen, "server sent %s %d", ntske_result_str(r), resp->error);
        else
            snprintf(err, errlen, "bad response: %s", ntske_result_str(r));
    }
    free(buf);
    return r;
}

static bool export_keys(SSL *ssl, struct node_nts_ke_result *res)
{
    uint8_t c[5];
    const char *label = NTSKE_EXPORTER_LABEL;

    ntske_exporter_context(res->resp.aead, false, c);
    if (SSL_export_keying_material(ssl, res->c2s, sizeof(res->c2s), label, strlen(label),
                                   c, sizeof(c), 1) != 1)
        return false;
    ntske_exporter_context(res->resp.aead, true, c);
    return SSL_export_keying_material(ssl, res->s2c, sizeof(res->s2c), label, strlen(label),
                                      c, sizeof(c), 1) == 1;
}

/* Connected and verified: the one request, the one response. */
static void exchange(SSL *ssl, struct node_nts_ke_result *res)
{
    const unsigned char *proto = NULL;
    unsigned proto_len = 0;
    uint8_t req[64];
    size_t n = ntske_client_request(req, sizeof(req));

    SSL_get0_alpn_selected(ssl, &proto, &proto_len);
    if (proto_len != strlen(NTSKE_ALPN) || memcmp(proto, NTSKE_ALPN, proto_len) != 0) {
        snprintf(res->err, sizeof(res->err), "server did not agree to ALPN %s", NTSKE_ALPN);
        return;
    }
    if (SSL_write(ssl, req, (int)n) != (int)n) {
        ssl_error(res->err, sizeof(res->err), "sending the request");
        return;
    }
    if (read_response(ssl, &res->resp, res->err, sizeof(res->err)) != NTSKE_OK)
        return;
    if (!export_keys(ssl, res)) {
        ssl_error(res->err, sizeof(res->err), "key export");
        return;
    }
    res->ok = true;
    (void)SSL_shutdown(ssl);
}

void ntske_tls_run(struct ntske_job *job)
{
    struct node_nts_ke_result *res = &job->res;
    SSL *ssl;
    int fd;

    memset(res, 0, sizeof(*res));
    fd = connect_to(job->host, job->port, res->err, sizeof(res->err));
    if (fd < 0)
        return;
    ssl = SSL_new(job->tls->ctx);
    if (!ssl || !expect_name(ssl, job->host) || !SSL_set_fd(ssl, fd)) {
        ssl_error(res->err, sizeof(res->err), "TLS setup");
    } else if (SSL_connect(ssl) != 1) {
        handshake_error(ssl, res->err, sizeof(res->err));
    } else {
        exchange(ssl, res);
    }
    SSL_free(ssl);
    close(fd);
    ERR_clear_error();
}

static void *thread_main(void *arg)
{
    struct ntske_job *job = arg;
    ssize_t w;

    ntske_tls_run(job);
    do
        w = write(job->notify_fd, &job, sizeof(job));
    while (w < 0 && errno == EINTR);
    return NULL;
}

int ntske_tls_start(struct ntske_job *job)
{
    pthread_attr_t at;
    pthread_t th;
    int rc;

    if (pthread_attr_init(&at) != 0)
        return -1;
    (void)pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    rc = pthread_create(&th, &at, thread_main, job);
    pthread_attr_destroy(&at);
    return rc == 0 ? 0 : -1;
}

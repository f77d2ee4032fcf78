/* daemon/ctl_server: a real loop and a real Unix socket in a temporary
 * directory; the test's clients live in the same loop, so the server and
 * the clients take turns exactly as they would against chimectl. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <grp.h>
#include <netinet/in.h>
#include <unistd.h>

#include "monitor/http.h"
#include "daemon/ctl_server.h"
#include "sys/clock.h"
#include "sys/loop.h"

#define MS 1000000LL
#define NCLIENTS (CTL_MAX_CLIENTS + 1)

struct fix {
    char dir[64];
    char sub[96];
    char path[128];
    struct loop *loop;
    struct ctl_server *srv;
    int calls;
    bool big;               /* handler answers with a full-size reply */
    int pending;            /* clients still waiting for EOF */
    bool timed_out;
    bool refuse;            /* the HTTP admit hook says no */
    int admitted;
};

struct client {
    struct fix *fx;
    int fd;
    char buf[CTL_MAX_REPLY + 1];
    size_t len;
    bool done;
    int err;                /* errno of a failed read, 0 for a clean EOF */
    mono_ns done_at;
};

static size_t stub(void *arg, const struct now *now, enum ctl_request req,
                   enum ctl_format fmt, char *buf, size_t cap)
{
    assert_non_null(now);
    struct fix *fx = arg;
    int n;

    fx->calls++;
    if (fx->big) {
        for (size_t i = 0; i + 1 < cap; i++)
            buf[i] = (char)('a' + i % 26);
        buf[cap - 1] = '\0';
        return cap - 1;
    }
    n = snprintf(buf, cap, "stub %s %s\n",
                 req == CTL_REQ_SOURCES ? "sources" :
                 req == CTL_REQ_METRICS ? "metrics" : "tracking",
                 fmt == CTL_JSON ? "json" : "text");
    return (size_t)n;
}

static int setup(void **state)
{
    struct fix *fx = calloc(1, sizeof(*fx));

    snprintf(fx->dir, sizeof(fx->dir), "/tmp/chime-ctl-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    /* a missing parent is created, like /run/chime under /run */
    snprintf(fx->sub, sizeof(fx->sub), "%s/run", fx->dir);
    snprintf(fx->path, sizeof(fx->path), "%s/chimed.sock", fx->sub);
    fx->loop = loop_new();
    fx->srv = ctl_server_open(fx->loop, fx->path, (gid_t)-1, stub, fx);
    assert_non_null(fx->srv);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fix *fx = *state;
    struct stat st;

    ctl_server_close(fx->srv);
    assert_int_equal(lstat(fx->path, &st), -1);    /* close unlinks */
    loop_free(fx->loop);
    rmdir(fx->sub);
    assert_int_equal(rmdir(fx->dir), 0);
    free(fx);
    return 0;
}

/* ---- client side ------------------------------------------------------- */

static void client_finish(struct client *c, int err, const struct now *now)
{
    loop_del_fd(c->fx->loop, c->fd);
    c->done = true;
    c->err = err;
    c->done_at = now->mono;
    if (--c->fx->pending == 0)
        loop_stop(c->fx->loop);
}

static void on_client(void *arg, int fd, short revents, const struct now *now)
{
    struct client *c = arg;
    ssize_t n;

    (void)revents;
    n = recv(fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len, 0);
    if (n > 0) {
        c->len += (size_t)n;
        c->buf[c->len] = '\0';
    } else if (n == 0) {
        client_finish(c, 0, now);
    } else if (errno != EAGAIN) {
        client_finish(c, errno, now);
    }
}

static void on_safety(void *arg, const struct now *now)
{
    struct fix *fx = arg;

    (void)now;
    fx->timed_out = true;
    loop_stop(fx->loop);
}

static void client_connect(struct fix *fx, struct client *c)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };

    memset(c, 0, sizeof(*c));
    c->fx = fx;
    memcpy(sa.sun_path, fx->path, strlen(fx->path) + 1);
    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    assert_true(c->fd >= 0);
    assert_int_equal(connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(loop_add_fd(fx->loop, c->fd, POLLIN, on_client, c), 0);
    fx->pending++;
}

static bool admit(void *arg, const struct sockaddr_storage *peer)
{
    struct fix *fx = arg;

    assert_int_equal(peer->ss_family, AF_INET);
    fx->admitted++;
    return !fx->refuse;
}

static struct ctl_server *http_open(struct fix *fx)
{
    struct sockaddr_storage ss = { 0 };
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
    struct ctl_server *h;

    sin->sin_family = AF_INET;
    sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    h = ctl_server_open_http(fx->loop, &ss, stub, admit, fx);
    assert_non_null(h);
    assert_true(ctl_server_port(h) > 0);
    return h;
}

static void http_connect(struct fix *fx, struct ctl_server *h, struct client *c)
{
    struct sockaddr_in sin = { .sin_family = AF_INET };

    memset(c, 0, sizeof(*c));
    c->fx = fx;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sin.sin_port = htons(ctl_server_port(h));
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(c->fd >= 0);
    assert_int_equal(connect(c->fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    assert_int_equal(fcntl(c->fd, F_SETFL, O_NONBLOCK), 0);
    assert_int_equal(loop_add_fd(fx->loop, c->fd, POLLIN, on_client, c), 0);
    fx->pending++;
}

static void client_send(struct client *c, const char *data, size_t len)
{
    assert_int_equal(send(c->fd, data, len, MSG_NOSIGNAL), (ssize_t)len);
}

/* Run the loop until every client saw EOF; five seconds at most. */
static void run_clients(struct fix *fx)
{
    uint64_t safety = loop_timer_at(fx->loop, mono_add(clock_read_mono(), 5000 * MS),
                                    on_safety, fx);

    assert_int_equal(loop_run(fx->loop), 0);
    loop_timer_cancel(fx->loop, safety);
    assert_false(fx->timed_out);
}

static void client_close(struct client *c)
{
    close(c->fd);
}

static void exchange(struct fix *fx, struct client *c, const char *req)
{
    client_connect(fx, c);
    client_send(c, req, strlen(req));
    run_clients(fx);
    client_close(c);
}

static void http_exchange(struct fix *fx, struct ctl_server *h, struct client *c,
                          const char *req)
{
    http_connect(fx, h, c);
    client_send(c, req, strlen(req));
    run_clients(fx);
    client_close(c);
}

/* The status line of an HTTP reply, e.g. "HTTP/1.0 200 OK". */
static void assert_status(const struct client *c, const char *line)
{
    size_t n = strlen(line);

    if (strncmp(c->buf, line, n) != 0 || strncmp(c->buf + n, "\r\n", 2) != 0)
        fail_msg("status: expected '%s', got '%.60s'", line, c->buf);
}

static const char *http_body(const struct client *c)
{
    const char *b = strstr(c->buf, "\r\n\r\n");

    assert_non_null(b);
    return b + 4;
}

/* ---- tests ------------------------------------------------------------- */

static void test_reply(void **state)
{
    struct fix *fx = *state;
    struct client c;
    struct stat st;

    assert_int_equal(lstat(fx->path, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0660);
    assert_int_equal(stat(fx->sub, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0755);

    exchange(fx, &c, "sources\n");
    assert_int_equal(c.err, 0);
    assert_string_equal(c.buf, "stub sources text\n");
    exchange(fx, &c, "  tracking json\r\n");
    assert_string_equal(c.buf, "stub tracking json\n");
    assert_int_equal(fx->calls, 2);
}

static void test_split_and_eof(void **state)
{
    struct fix *fx = *state;
    struct client c;

    /* a request in pieces is put together */
    client_connect(fx, &c);
    client_send(&c, "sour", 4);
    assert_int_equal(loop_timer_at(fx->loop, mono_add(clock_read_mono(), 20 * MS),
                                   on_safety, fx) > 0, true);
    assert_int_equal(loop_run(fx->loop), 0);
    fx->timed_out = false;
    client_send(&c, "ces json\n", 9);
    run_clients(fx);
    client_close(&c);
    assert_string_equal(c.buf, "stub sources json\n");

    /* EOF instead of a newline ends the request too */
    client_connect(fx, &c);
    client_send(&c, "tracking", 8);
    shutdown(c.fd, SHUT_WR);
    run_clients(fx);
    client_close(&c);
    assert_string_equal(c.buf, "stub tracking text\n");
}

static void test_unknown(void **state)
{
    struct fix *fx = *state;
    struct client c;

    exchange(fx, &c, "bogus\x1b[31m\n");
    assert_string_equal(c.buf, "error: unknown request 'bogus?[31m'\n");
    exchange(fx, &c, "\n");
    assert_string_equal(c.buf, "error: unknown request ''\n");
    assert_int_equal(fx->calls, 0);
}

/* A full-size reply through a tiny send buffer: many POLLOUT rounds. */
static void test_big_reply(void **state)
{
    struct fix *fx = *state;
    struct client c;

    fx->big = true;
    ctl_server_set_sndbuf(fx->srv, 4096);
    exchange(fx, &c, "sources\n");
    assert_int_equal(c.err, 0);
    assert_int_equal(c.len, CTL_MAX_REPLY - 1);
    for (size_t i = 0; i < c.len; i++)
        if (c.buf[i] != (char)('a' + i % 26))
            fail_msg("reply byte %zu is wrong", i);
}

static void test_oversize(void **state)
{
    struct fix *fx = *state;
    struct client c;
    char junk[1000];

    memset(junk, 'a', sizeof(junk));
    client_connect(fx, &c);
    client_send(&c, junk, sizeof(junk));
    run_clients(fx);
    client_close(&c);
    /* dropped: with a reason if it got through before the close */
    assert_true(c.err == ECONNRESET || c.err == 0);
    if (c.err == 0)
        assert_string_equal(c.buf, "error: request too long\n");
    assert_int_equal(fx->calls, 0);
    /* and the server still works */
    exchange(fx, &c, "sources\n");
    assert_string_equal(c.buf, "stub sources text\n");
}

static void test_silent_client(void **state)
{
    struct fix *fx = *state;
    struct client c;
    mono_ns t0 = clock_read_mono();

    ctl_server_set_timeout(fx->srv, 100 * MS);
    client_connect(fx, &c);
    run_clients(fx);
    client_close(&c);
    assert_int_equal(c.len, 0);
    assert_true(mono_sub(c.done_at, t0) >= 100 * MS);
    assert_true(mono_sub(c.done_at, t0) < 2000 * MS);
}

/* One client too many is closed at once; the others wait their deadline. */
static void test_too_many(void **state)
{
    struct fix *fx = *state;
    static struct client c[NCLIENTS];
    mono_ns t0 = clock_read_mono();

    ctl_server_set_timeout(fx->srv, 300 * MS);
    for (int i = 0; i < NCLIENTS; i++)
        client_connect(fx, &c[i]);
    run_clients(fx);
    for (int i = 0; i < NCLIENTS; i++) {
        client_close(&c[i]);
        assert_int_equal(c[i].len, 0);
    }
    assert_true(mono_sub(c[NCLIENTS - 1].done_at, t0) < 250 * MS);
    for (int i = 0; i < NCLIENTS - 1; i++)
        assert_true(mono_sub(c[i].done_at, t0) >= 300 * MS);
    exchange(fx, &c[0], "tracking\n");
    assert_string_equal(c[0].buf, "stub tracking text\n");
}

/* A client that vanishes before its reply costs nothing (no SIGPIPE). */
static void test_client_gone(void **state)
{
    struct fix *fx = *state;
    struct client c;

    fx->big = true;
    ctl_server_set_sndbuf(fx->srv, 4096);
    client_connect(fx, &c);
    client_send(&c, "sources\n", 8);
    loop_del_fd(fx->loop, c.fd);
    client_close(&c);
    fx->pending = 0;
    loop_timer_at(fx->loop, mono_add(clock_read_mono(), 50 * MS), on_safety, fx);
    assert_int_equal(loop_run(fx->loop), 0);
    fx->timed_out = false;
    fx->big = false;
    exchange(fx, &c, "sources\n");
    assert_string_equal(c.buf, "stub sources text\n");
}

static void test_open_errors(void **state)
{
    struct fix *fx = *state;
    char path[256], longpath[200];
    struct ctl_server *s2;
    struct stat st;
    int fd;

    /* a live socket is not taken over */
    errno = 0;
    assert_null(ctl_server_open(fx->loop, fx->path, (gid_t)-1, stub, fx));
    assert_int_equal(errno, EADDRINUSE);

    /* a regular file is never removed */
    snprintf(path, sizeof(path), "%s/file", fx->dir);
    fd = open(path, O_CREAT | O_WRONLY, 0600);
    assert_true(fd >= 0);
    close(fd);
    assert_null(ctl_server_open(fx->loop, path, (gid_t)-1, stub, fx));
    assert_int_equal(errno, EEXIST);
    assert_int_equal(lstat(path, &st), 0);
    unlink(path);

    memset(longpath, 'x', sizeof(longpath) - 1);
    longpath[0] = '/';
    longpath[sizeof(longpath) - 1] = '\0';
    assert_null(ctl_server_open(fx->loop, longpath, (gid_t)-1, stub, fx));
    assert_int_equal(errno, ENAMETOOLONG);

    /* a stale socket (nobody listening) is replaced */
    snprintf(path, sizeof(path), "%s/stale.sock", fx->dir);
    {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };

        memcpy(sa.sun_path, path, strlen(path) + 1);
        fd = socket(AF_UNIX, SOCK_STREAM, 0);
        assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        close(fd);
    }
    s2 = ctl_server_open(fx->loop, path, (gid_t)-1, stub, fx);
    assert_non_null(s2);
    ctl_server_close(s2);
    assert_int_equal(lstat(path, &st), -1);
}

/* Is the server's end of c still open? (a closed one reads as EOF) */
static bool still_open(const struct client *c)
{
    char b;
    ssize_t n = recv(c->fd, &b, 1, MSG_DONTWAIT);

    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

static void on_silent_eof(void *arg, int fd, short revents, const struct now *now)
{
    struct client *c = arg;

    (void)revents;
    (void)now;
    loop_del_fd(c->fx->loop, fd);
    c->done = true;
    loop_stop(c->fx->loop);
}

/* Issue 15 finding 7: a full table of silent connections does not refuse
 * the newcomer; the oldest silent one makes room. Ordered by counts, not
 * by time: the deadline is far beyond the test. */
static void test_http_full_evicts_oldest(void **state)
{
    struct fix *fx = *state;
    struct ctl_server *h = http_open(fx);
    static struct client c[CTL_MAX_HTTP_CLIENTS + 1];

    ctl_server_set_timeout(h, 600 * 1000 * MS);
    for (int i = 0; i <= CTL_MAX_HTTP_CLIENTS; i++) {
        http_connect(fx, h, &c[i]);
        loop_del_fd(fx->loop, c[i].fd);
    }
    fx->pending = 0;
    /* run until the oldest is dropped */
    assert_int_equal(loop_add_fd(fx->loop, c[0].fd, POLLIN, on_silent_eof, &c[0]), 0);
    run_clients(fx);
    assert_true(c[0].done);
    assert_false(still_open(&c[0]));
    for (int i = 1; i <= CTL_MAX_HTTP_CLIENTS; i++)
        assert_true(still_open(&c[i]));
    for (int i = 0; i <= CTL_MAX_HTTP_CLIENTS; i++)
        client_close(&c[i]);
    ctl_server_close(h);
}

/* Many slow clients connected at once (twice the table, all silent, none
 * timing out during the test): a scrape still gets its answer, and every
 * time again. Before, 4 slots and refusing newcomers let 4 silent clients
 * block every scrape for their whole deadline. */
static void test_http_slow_crowd_cannot_starve_scrapes(void **state)
{
    struct fix *fx = *state;
    struct ctl_server *h = http_open(fx);
    enum { CROWD = 2 * CTL_MAX_HTTP_CLIENTS, SCRAPES = 5 };
    static struct client crowd[CROWD];
    struct client scraper;
    int open_left = 0;

    ctl_server_set_timeout(h, 600 * 1000 * MS);
    for (int round = 0; round < SCRAPES; round++) {
        for (int i = 0; i < CROWD / SCRAPES; i++) {
            struct client *k = &crowd[round * (CROWD / SCRAPES) + i];

            http_connect(fx, h, k);
            loop_del_fd(fx->loop, k->fd);   /* silent: never sends, never reads */
            fx->pending--;
        }
        http_exchange(fx, h, &scraper, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_status(&scraper, "HTTP/1.0 200 OK");
        assert_string_equal(http_body(&scraper), "stub metrics text\n");
    }
    /* the table stayed full of the crowd's newest members, not emptied */
    for (int i = 0; i < CROWD / SCRAPES * SCRAPES; i++)
        open_left += still_open(&crowd[i]);
    assert_true(open_left >= CTL_MAX_HTTP_CLIENTS - SCRAPES);
    assert_true(open_left <= CTL_MAX_HTTP_CLIENTS);
    for (int i = 0; i < CROWD / SCRAPES * SCRAPES; i++)
        client_close(&crowd[i]);
    ctl_server_close(h);
}

/* controlgroup: the socket belongs to the group given, mode 0660. */
static void test_group(void **state)
{
    struct fix *fx = *state;
    gid_t groups[64];
    int n = getgroups(64, groups);
    gid_t want = n > 0 ? groups[n - 1] : getegid();
    char path[256];
    struct ctl_server *s2;
    struct stat st;

    snprintf(path, sizeof(path), "%s/group.sock", fx->dir);
    s2 = ctl_server_open(fx->loop, path, want, stub, fx);
    assert_non_null(s2);
    assert_int_equal(lstat(path, &st), 0);
    assert_int_equal(st.st_gid, want);
    assert_int_equal(st.st_mode & 0777, 0660);
    ctl_server_close(s2);
}

static void test_http_metrics(void **state)
{
    struct fix *fx = *state;
    struct ctl_server *h = http_open(fx);
    struct client c;

    http_exchange(fx, h, &c, "GET /metrics HTTP/1.1\r\nHost: x\r\n"
                              "Accept: text/plain;version=0.0.4\r\n\r\n");
    assert_status(&c, "HTTP/1.0 200 OK");
    assert_non_null(strstr(c.buf, "\r\nContent-Type: text/plain; version=0.0.4"));
    assert_non_null(strstr(c.buf, "\r\nContent-Length: 18\r\n"));
    assert_non_null(strstr(c.buf, "\r\nConnection: close\r\n"));
    assert_string_equal(http_body(&c), "stub metrics text\n");
    assert_int_equal(fx->calls, 1);

    /* HEAD: the same head, no body; a query string is ignored */
    http_exchange(fx, h, &c, "HEAD /metrics?x=1 HTTP/1.0\n\n");
    assert_status(&c, "HTTP/1.0 200 OK");
    assert_non_null(strstr(c.buf, "Content-Length: 18\r\n"));
    assert_string_equal(http_body(&c), "");

    /* a request in pieces */
    http_connect(fx, h, &c);
    client_send(&c, "GET /met", 8);
    assert_true(loop_timer_at(fx->loop, mono_add(clock_read_mono(), 20 * MS),
                              on_safety, fx) > 0);
    assert_int_equal(loop_run(fx->loop), 0);
    fx->timed_out = false;
    client_send(&c, "rics HTTP/1.1\r\n\r\n", 17);
    run_clients(fx);
    client_close(&c);
    assert_status(&c, "HTTP/1.0 200 OK");
    ctl_server_close(h);
}

static void test_http_errors(void **state)
{
    struct fix *fx = *state;
    struct ctl_server *h = http_open(fx);
    struct client c;
    char big[HTTP_MAX_REQUEST + 10];

    http_exchange(fx, h, &c, "GET / HTTP/1.1\r\n\r\n");
    assert_status(&c, "HTTP/1.0 404 Not Found");
    http_exchange(fx, h, &c, "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
    assert_status(&c, "HTTP/1.0 405 Method Not Allowed");
    assert_non_null(strstr(c.buf, "\r\nAllow: GET, HEAD\r\n"));
    /* a body we never read must not turn our close into a reset that
     * destroys the answer: half-close, then drain */
    {
        static char post[100100];
        int hl = snprintf(post, sizeof(post),
                          "POST /metrics HTTP/1.1\r\nContent-Length: 100000\r\n\r\n");

        memset(post + hl, 'x', sizeof(post) - (size_t)hl);
        http_connect(fx, h, &c);
        client_send(&c, post, sizeof(post));
        run_clients(fx);
        client_close(&c);
        assert_int_equal(c.err, 0);     /* a FIN, not ECONNRESET */
        assert_status(&c, "HTTP/1.0 405 Method Not Allowed");
    }
    http_exchange(fx, h, &c, "GET /metrics HTTP/1.1\r\n\r\nGET /metrics HTTP/1.1\r\n\r\n");
    assert_int_equal(c.err, 0);
    assert_status(&c, "HTTP/1.0 200 OK");
    assert_null(strstr(http_body(&c), "HTTP/1.0"));     /* one answer only */
    fx->calls = 0;
    http_exchange(fx, h, &c, "GET /metrics HTTP/2.0\r\n\r\n");
    assert_status(&c, "HTTP/1.0 505 HTTP Version Not Supported");
    http_exchange(fx, h, &c, "GET\x01/metrics HTTP/1.1\r\n\r\n");
    assert_status(&c, "HTTP/1.0 400 Bad Request");
    http_exchange(fx, h, &c, "\r\n\r\n");
    assert_status(&c, "HTTP/1.0 400 Bad Request");

    /* EOF before the blank line */
    http_connect(fx, h, &c);
    client_send(&c, "GET /metrics HTTP/1.1\r\n", 23);
    shutdown(c.fd, SHUT_WR);
    run_clients(fx);
    client_close(&c);
    assert_status(&c, "HTTP/1.0 400 Bad Request");

    /* headers that never end */
    memset(big, 'a', sizeof(big));
    memcpy(big, "GET /metrics HTTP/1.1\r\nX: ", 26);
    http_connect(fx, h, &c);
    client_send(&c, big, sizeof(big));
    run_clients(fx);
    client_close(&c);
    assert_status(&c, "HTTP/1.0 431 Request Header Fields Too Large");
    assert_int_equal(fx->calls, 0);     /* no error ever reached the handler */

    /* refused by restrict: closed without a byte */
    fx->refuse = true;
    http_exchange(fx, h, &c, "GET /metrics HTTP/1.1\r\n\r\n");
    assert_int_equal(c.len, 0);
    assert_int_equal(fx->calls, 0);
    assert_true(fx->admitted >= 8);
    ctl_server_close(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_split_and_eof, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_big_reply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oversize, setup, teardown),
        cmocka_unit_test_setup_teardown(test_silent_client, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_many, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_gone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http_metrics, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http_full_evicts_oldest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http_slow_crowd_cannot_starve_scrapes, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

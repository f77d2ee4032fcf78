/* daemon/ctl_server: one request in, one reply out, close.
 *
 * Two framings share the connection machinery: the control socket's
 * request line (CTL_LINE) and an HTTP request head for metrics-listen
 * (CTL_HTTP, monitor/http.h).
 *
 * The loop must never block on a control client, so every socket is
 * non-blocking, each connection has a deadline (one loop timer), and the
 * number of connections is capped. A reply is formatted into one shared
 * buffer and written at once; only the remainder that the socket would not
 * take is copied into the client, to be finished on POLLOUT.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <netinet/in.h>

#include "monitor/http.h"
#include "daemon/ctl_server.h"
#include "sys/log.h"
#include "sys/net.h"

#define TAG "ctl"
#define ACCEPT_PAUSE_NS 1000000000LL    /* after EMFILE and friends */

struct ctl_client {
    struct ctl_server *srv;
    int fd;                     /* -1: free slot */
    uint64_t timer;
    uint64_t seq;               /* accept order: the oldest is evicted first */
    bool answered;              /* the reply is out or on its way */
    char req[HTTP_MAX_REQUEST];     /* the larger of the two framings */
    size_t req_len;
    char *out;                  /* unsent rest of the reply, or NULL */
    size_t out_len, out_off;
};

enum ctl_framing { CTL_LINE, CTL_HTTP };

struct ctl_server {
    struct loop *loop;
    int fd;
    enum ctl_framing framing;
    size_t req_cap;             /* CTL_MAX_REQUEST or HTTP_MAX_REQUEST */
    int max_clients;            /* CTL_MAX_CLIENTS or CTL_MAX_HTTP_CLIENTS */
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];  /* "" for TCP */
    ctl_handler_fn fn;
    ctl_admit_fn admit;         /* CTL_HTTP: may this peer ask? */
    void *arg;
    int64_t timeout_ns;
    int sndbuf;
    uint64_t pause_timer;       /* non-zero while accepting is paused */
    struct log_ratelimit rl;
    uint64_t accepted;          /* connections so far: the next seq */
    uint64_t evicted;           /* silent connections dropped for a newcomer */
    char reply[CTL_MAX_REPLY];
    struct ctl_client clients[];    /* max_clients of them */
};

static void on_listen(void *arg, int fd, short revents, const struct now *now);

/* ---- clients ------------------------------------------------------------- */

/* A free slot. Field by field: the request buffer is left alone, so a
 * slot never used never costs a resident page. */
static void client_reset(struct ctl_client *c, struct ctl_server *srv)
{
    c->srv = srv;
    c->fd = -1;
    c->timer = 0;
    c->seq = 0;
    c->answered = false;
    c->req_len = 0;
    c->out = NULL;
    c->out_len = c->out_off = 0;
}

static void client_close(struct ctl_client *c)
{
    struct ctl_server *srv = c->srv;

    loop_del_fd(srv->loop, c->fd);
    loop_timer_cancel(srv->loop, c->timer);
    close(c->fd);
    free(c->out);
    client_reset(c, srv);
}

static void client_timeout(void *arg, const struct now *now)
{
    struct ctl_client *c = arg;

    (void)now;
    c->timer = 0;               /* fired: nothing left to cancel */
    log_debug(TAG, "client dropped: no complete exchange within the deadline");
    client_close(c);
}

/* Write as much of data as the socket takes now; 1 when all of it went,
 * 0 when some is left (count in *sent), -1 when the peer is gone. */
static int send_some(int fd, const char *data, size_t len, size_t *sent)
{
    *sent = 0;
    while (*sent < len) {
        ssize_t n = send(fd, data + *sent, len - *sent, MSG_NOSIGNAL);

        if (n > 0) {
            *sent += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        return -1;
    }
    return 1;
}

/* After an HTTP answer: read and discard until the peer closes (or the
 * deadline), so that bytes it sent beyond the request head (a body, a
 * pipelined request) do not make our close a reset that could destroy the
 * answer still in flight ("lingering close"). */
static void on_client_drain(void *arg, int fd, short revents, const struct now *now)
{
    struct ctl_client *c = arg;
    char scratch[512];
    ssize_t n;

    (void)fd;
    (void)now;
    (void)revents;
    n = recv(c->fd, scratch, sizeof(scratch), 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n <= 0)
        client_close(c);
}

/* The whole reply is out: close, or for HTTP half-close and drain. */
static void client_done(struct ctl_client *c)
{
    struct ctl_server *srv = c->srv;

    if (srv->framing != CTL_HTTP || shutdown(c->fd, SHUT_WR) < 0) {
        client_close(c);
        return;
    }
    loop_del_fd(srv->loop, c->fd);
    if (loop_add_fd(srv->loop, c->fd, POLLIN, on_client_drain, c) < 0)
        client_close(c);
}

static void on_client_out(void *arg, int fd, short revents, const struct now *now)
{
    struct ctl_client *c = arg;
    size_t sent;
    int r;

    (void)fd;
    (void)now;
    if (revents & (POLLERR | POLLNVAL)) {
        client_close(c);
        return;
    }
    r = send_some(c->fd, c->out + c->out_off, c->out_len - c->out_off, &sent);
    c->out_off += sent;
    if (r > 0)
        client_done(c);
    else if (r < 0)
        client_close(c);        /* the peer went away */
}

/* Send the reply; keep what the socket would not take for POLLOUT. */
static void client_reply(struct ctl_client *c, const char *data, size_t len)
{
    struct ctl_server *srv = c->srv;
    size_t sent;
    int r = send_some(c->fd, data, len, &sent);

    c->answered = true;
    if (r != 0) {
        if (r > 0)
            client_done(c);
        else
            client_close(c);
        return;
    }
    c->out_len = len - sent;
    c->out_off = 0;
    c->out = xcalloc(1, c->out_len);
    memcpy(c->out, data + sent, c->out_len);
    /* the loop has no "modify": re-register for POLLOUT instead of POLLIN */
    loop_del_fd(srv->loop, c->fd);
    if (loop_add_fd(srv->loop, c->fd, POLLOUT, on_client_out, c) < 0)
        client_close(c);
}

/* Quote a rejected request for the error reply: printable ASCII only, so
 * nothing a client sends can inject terminal escapes into chimectl's
 * output, and short. */
static void quote_request(char *dst, size_t cap, const char *s, size_t n)
{
    size_t j = 0;

    for (size_t i = 0; i < n && j + 1 < cap; i++)
        dst[j++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    dst[j] = '\0';
}

static void client_request(struct ctl_client *c, size_t line_len, const struct now *now)
{
    struct ctl_server *srv = c->srv;
    enum ctl_request req;
    enum ctl_format fmt;
    size_t len;

    if (ctl_parse_request(c->req, line_len, &req, &fmt) < 0) {
        char q[80];

        while (line_len > 0 && (c->req[line_len - 1] == '\r' ||
                                c->req[line_len - 1] == ' '))
            line_len--;
        quote_request(q, sizeof(q), c->req, line_len);
        len = (size_t)snprintf(srv->reply, sizeof(srv->reply),
                               "error: unknown request '%s'\n", q);
    } else {
        len = srv->fn(srv->arg, now, req, fmt, srv->reply, sizeof(srv->reply));
        if (len >= sizeof(srv->reply))
            len = sizeof(srv->reply) - 1;   /* a handler that overreports */
    }
    client_reply(c, srv->reply, len);
}

static void client_oversize(struct ctl_client *c)
{
    static const char msg[] = "error: request too long\n";
    size_t sent;

    log_debug(TAG, "client dropped: request longer than %d bytes",
              CTL_MAX_REQUEST);
    /* best effort: the client gets a reason if its socket has room */
    (void)send_some(c->fd, msg, sizeof(msg) - 1, &sent);
    client_close(c);
}

/* CTL_LINE: act on a full line, on EOF after some bytes (a client may
 * shut down its write side instead of sending "\n"), or drop. */
static void line_input(struct ctl_client *c, bool eof, const struct now *now)
{
    char *nl = memchr(c->req, '\n', c->req_len);

    if (nl != NULL || eof)
        client_request(c, nl != NULL ? (size_t)(nl - c->req) : c->req_len, now);
    else if (c->req_len >= c->srv->req_cap)
        client_oversize(c);
}

/* CTL_HTTP: answer a whole request head; a parse failure gets its status
 * code and an empty body. Only GET/HEAD /metrics reach the handler. */
static void http_input(struct ctl_client *c, bool eof, const struct now *now)
{
    struct ctl_server *srv = c->srv;
    struct http_request hr;
    enum http_parse pr = http_parse_request(c->req, c->req_len, &hr);
    char head[HTTP_MAX_HEAD];
    size_t body = 0, hl;
    int status;

    if (pr == HTTP_INCOMPLETE && !eof && c->req_len < srv->req_cap)
        return;
    if (pr == HTTP_INCOMPLETE)
        pr = eof ? HTTP_BAD : HTTP_TOO_LONG;
    status = pr == HTTP_OK ? http_status_for(&hr) : http_status_for_error(pr);
    if (status == 200) {
        /* the body goes after room for the head, which is moved in front */
        body = srv->fn(srv->arg, now, CTL_REQ_METRICS, CTL_TEXT, srv->reply + HTTP_MAX_HEAD,
                       sizeof(srv->reply) - HTTP_MAX_HEAD);
        if (body >= sizeof(srv->reply) - HTTP_MAX_HEAD)
            body = sizeof(srv->reply) - HTTP_MAX_HEAD - 1;
    }
    hl = http_format_head(status, "text/plain; version=0.0.4; charset=utf-8", body,
                          head, sizeof(head));
    if (hr.method == HTTP_HEAD)
        body = 0;
    memmove(srv->reply + hl, srv->reply + HTTP_MAX_HEAD, body);
    memcpy(srv->reply, head, hl);
    client_reply(c, srv->reply, hl + body);
}

static void on_client_in(void *arg, int fd, short revents, const struct now *now)
{
    struct ctl_client *c = arg;
    size_t room = c->srv->req_cap - c->req_len;
    ssize_t n;

    (void)fd;
    (void)now;
    (void)revents;
    if (room == 0) {            /* a full request waits for POLLOUT: ignore */
        client_close(c);
        return;
    }
    n = recv(c->fd, c->req + c->req_len, room, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n < 0 || (n == 0 && c->req_len == 0)) {
        client_close(c);
        return;
    }
    c->req_len += (size_t)n;
    if (c->srv->framing == CTL_HTTP)
        http_input(c, n == 0, now);
    else
        line_input(c, n == 0, now);
}

/* The connection to give up for a newcomer when the table is full: the
 * oldest one that is done (draining after its answer), else the oldest
 * that has not asked anything yet; never one whose answer is going out.
 * Only for HTTP: the control socket is local and root's or the group's. */
static struct ctl_client *victim(struct ctl_server *srv)
{
    struct ctl_client *best = NULL;

    if (srv->framing != CTL_HTTP)
        return NULL;
    for (int i = 0; i < srv->max_clients; i++) {
        struct ctl_client *c = &srv->clients[i];
        bool done = c->answered && c->out == NULL;

        if (c->fd < 0 || (c->answered && !done))
            continue;
        if (best == NULL) {
            best = c;
            continue;
        }
        bool best_done = best->answered && best->out == NULL;

        if ((done && !best_done) || (done == best_done && c->seq < best->seq))
            best = c;
    }
    return best;
}

static struct ctl_client *free_slot(struct ctl_server *srv)
{
    struct ctl_client *v;

    for (int i = 0; i < srv->max_clients; i++)
        if (srv->clients[i].fd < 0)
            return &srv->clients[i];
    v = victim(srv);
    if (v == NULL)
        return NULL;
    srv->evicted++;
    log_debug(TAG, "metrics table full: dropping the oldest silent connection");
    client_close(v);
    return v;
}

static void client_start(struct ctl_server *srv, int fd,
                         const struct sockaddr_storage *peer, const struct now *now)
{
    struct ctl_client *c;

    if (srv->admit != NULL && !srv->admit(srv->arg, peer)) {
        close(fd);              /* refused by restrict: not a word back */
        return;
    }
    c = free_slot(srv);
    if (c == NULL) {
        /* full: closing at once costs nothing and tells the client */
        if (log_ratelimit(&srv->rl, now->mono))
            log_warnx(TAG, "too many %s clients (%d), refusing one",
                      srv->framing == CTL_HTTP ? "metrics" : "control", srv->max_clients);
        close(fd);
        return;
    }
    if (srv->sndbuf > 0)
        (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &srv->sndbuf,
                         sizeof(srv->sndbuf));
    if (loop_add_fd(srv->loop, fd, POLLIN, on_client_in, c) < 0) {
        if (log_ratelimit(&srv->rl, now->mono))
            log_warn(TAG, "cannot watch a control client");
        close(fd);
        return;
    }
    c->fd = fd;
    c->seq = ++srv->accepted;
    c->timer = loop_timer_at(srv->loop, mono_add(now->mono, srv->timeout_ns),
                             client_timeout, c);
}

/* ---- listening socket ------------------------------------------------------ */

static void resume_accept(void *arg, const struct now *now)
{
    struct ctl_server *srv = arg;

    (void)now;
    srv->pause_timer = 0;
    if (loop_add_fd(srv->loop, srv->fd, POLLIN, on_listen, srv) < 0)
        log_warn(TAG, "control socket no longer watched");
}

/* Out of descriptors: the pending connection keeps the listener readable,
 * so stop watching it for a while instead of spinning on accept(). */
static void pause_accept(struct ctl_server *srv, const struct now *now)
{
    loop_del_fd(srv->loop, srv->fd);
    srv->pause_timer = loop_timer_at(srv->loop, mono_add(now->mono, ACCEPT_PAUSE_NS),
                                     resume_accept, srv);
}

static void on_listen(void *arg, int fd, short revents, const struct now *now)
{
    struct ctl_server *srv = arg;

    (void)revents;
    for (int i = 0; i < CTL_MAX_CLIENTS + 1; i++) {
        struct sockaddr_storage peer;
        socklen_t plen = sizeof(peer);
        int cfd;

        memset(&peer, 0, sizeof(peer));
        cfd = net_accept(fd, (struct sockaddr *)&peer, &plen);
        if (cfd >= 0) {
            client_start(srv, cfd, &peer, now);
            continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return;
        if (errno == EINTR || errno == ECONNABORTED)
            continue;
        if (log_ratelimit(&srv->rl, now->mono))
            log_warn(TAG, "accept on the %s socket",
                     srv->framing == CTL_HTTP ? "metrics" : "control");
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
            errno == ENOMEM)
            pause_accept(srv, now);
        return;
    }
}

static int make_addr(struct sockaddr_un *sa, const char *path)
{
    size_t n = strlen(path);

    if (n == 0) {
        errno = EINVAL;
        return -1;
    }
    if (n >= sizeof(sa->sun_path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    memcpy(sa->sun_path, path, n + 1);
    return 0;
}

/* mkdir the parent of path (one level: /run exists, /run/chime may not). */
static int make_parent(const char *path)
{
    char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
    const char *slash = strrchr(path, '/');
    size_t n;

    if (slash == NULL || slash == path)
        return 0;
    n = (size_t)(slash - path);
    if (n >= sizeof(dir)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(dir, path, n);
    dir[n] = '\0';
    if (mkdir(dir, 0755) == 0)
        return chmod(dir, 0755);    /* whatever the umask: clients need x */
    return errno == EEXIST ? 0 : -1;
}

/* Is some process still accepting on this socket? */
static bool socket_alive(const struct sockaddr_un *sa)
{
    int fd = net_socket(AF_UNIX, SOCK_STREAM, 0, true);
    bool alive;

    if (fd < 0)
        return false;
    alive = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0 ||
            errno == EAGAIN;    /* backlog full: alive, just busy */
    close(fd);
    return alive;
}

/* Remove a socket left by a previous run; refuse anything else. */
static int remove_stale(const struct sockaddr_un *sa)
{
    struct stat st;

    if (lstat(sa->sun_path, &st) < 0)
        return errno == ENOENT ? 0 : -1;
    if (!S_ISSOCK(st.st_mode)) {
        errno = EEXIST;
        return -1;
    }
    if (socket_alive(sa)) {
        errno = EADDRINUSE;
        return -1;
    }
    if (unlink(sa->sun_path) < 0 && errno != ENOENT)
        return -1;
    return 0;
}

static int bind_listen(const struct sockaddr_un *sa, gid_t group)
{
    int fd = net_socket(AF_UNIX, SOCK_STREAM, 0, true);
    int saved;

    if (fd < 0)
        return -1;
    if (bind(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0)
        goto fail;
    /* after bind: the umask decided the initial mode, we decide the final;
     * the group (controlgroup) is who besides root may connect. Without
     * CAP_CHOWN (systemd's User=) only a group we belong to can be given:
     * say so, and keep the socket - with our own group - rather than none. */
    if (group != (gid_t)-1 && chown(sa->sun_path, (uid_t)-1, group) < 0)
        log_warn(TAG, "cannot give %s to group %u (is chimed's user a member? under "
                 "systemd: SupplementaryGroups=)", sa->sun_path, (unsigned)group);
    if (chmod(sa->sun_path, 0660) < 0 || listen(fd, 16) < 0) {
        saved = errno;
        unlink(sa->sun_path);
        errno = saved;
        goto fail;
    }
    return fd;
fail:
    saved = errno;
    close(fd);
    errno = saved;
    return -1;
}

static struct ctl_server *server_new(struct loop *loop, int fd, enum ctl_framing framing,
                                     ctl_handler_fn fn, ctl_admit_fn admit, void *arg)
{
    /* calloc'd and set field by field, never by assigning a whole struct:
     * the reply and request buffers are only touched when used */
    int max = framing == CTL_HTTP ? CTL_MAX_HTTP_CLIENTS : CTL_MAX_CLIENTS;
    struct ctl_server *srv = xcalloc(1, sizeof(*srv) + (size_t)max * sizeof(srv->clients[0]));

    srv->loop = loop;
    srv->fd = fd;
    srv->framing = framing;
    srv->req_cap = framing == CTL_HTTP ? HTTP_MAX_REQUEST : CTL_MAX_REQUEST;
    srv->max_clients = max;
    srv->fn = fn;
    srv->admit = admit;
    srv->arg = arg;
    srv->timeout_ns = CTL_CLIENT_TIMEOUT_NS;
    srv->rl = (struct log_ratelimit){ .burst = 5, .interval_ns = 60000000000LL };
    for (int i = 0; i < max; i++)
        client_reset(&srv->clients[i], srv);
    if (loop_add_fd(loop, fd, POLLIN, on_listen, srv) < 0) {
        int saved = errno;

        free(srv);
        errno = saved;
        return NULL;
    }
    return srv;
}

struct ctl_server *ctl_server_open(struct loop *loop, const char *path, gid_t group,
                                   ctl_handler_fn fn, void *arg)
{
    struct sockaddr_un sa;
    struct ctl_server *srv;
    int fd, saved;

    if (loop == NULL || path == NULL || fn == NULL) {
        errno = EINVAL;
        return NULL;
    }
    if (make_addr(&sa, path) < 0 || make_parent(path) < 0 ||
        remove_stale(&sa) < 0 || (fd = bind_listen(&sa, group)) < 0)
        return NULL;
    srv = server_new(loop, fd, CTL_LINE, fn, NULL, arg);
    if (srv == NULL) {
        saved = errno;
        close(fd);
        unlink(sa.sun_path);
        errno = saved;
        return NULL;
    }
    memcpy(srv->path, sa.sun_path, sizeof(srv->path));
    return srv;
}

static int tcp_listen(const struct sockaddr_storage *addr)
{
    socklen_t len = addr->ss_family == AF_INET ? sizeof(struct sockaddr_in)
                                               : sizeof(struct sockaddr_in6);
    int fd = net_socket(addr->ss_family, SOCK_STREAM, 0, true);
    int one = 1, saved;

    if (fd < 0)
        return -1;
    /* a restart must not wait out TIME_WAIT of the last scrape */
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (addr->ss_family == AF_INET6)
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    /* a backlog as deep as the table: a burst of connects is not refused
     * by the kernel before we could choose whom to drop */
    if (bind(fd, (const struct sockaddr *)addr, len) < 0 ||
        listen(fd, CTL_MAX_HTTP_CLIENTS) < 0) {
        saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

struct ctl_server *ctl_server_open_http(struct loop *loop, const struct sockaddr_storage *addr,
                                        ctl_handler_fn fn, ctl_admit_fn admit, void *arg)
{
    struct ctl_server *srv;
    int fd, saved;

    if (loop == NULL || addr == NULL || fn == NULL ||
        (addr->ss_family != AF_INET && addr->ss_family != AF_INET6)) {
        errno = EINVAL;
        return NULL;
    }
    if ((fd = tcp_listen(addr)) < 0)
        return NULL;
    srv = server_new(loop, fd, CTL_HTTP, fn, admit, arg);
    if (srv == NULL) {
        saved = errno;
        close(fd);
        errno = saved;
    }
    return srv;
}

void ctl_server_close(struct ctl_server *srv)
{
    if (srv == NULL)
        return;
    for (int i = 0; i < srv->max_clients; i++)
        if (srv->clients[i].fd >= 0)
            client_close(&srv->clients[i]);
    loop_timer_cancel(srv->loop, srv->pause_timer);
    loop_del_fd(srv->loop, srv->fd);
    close(srv->fd);
    if (srv->path[0] != '\0')
        unlink(srv->path);
    free(srv);
}

uint16_t ctl_server_port(const struct ctl_server *srv)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);

    if (srv->framing != CTL_HTTP ||
        getsockname(srv->fd, (struct sockaddr *)&ss, &len) < 0)
        return 0;
    return ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                         : ((struct sockaddr_in6 *)&ss)->sin6_port);
}

void ctl_server_set_timeout(struct ctl_server *srv, int64_t ns)
{
    srv->timeout_ns = ns > 0 ? ns : CTL_CLIENT_TIMEOUT_NS;
}

void ctl_server_set_sndbuf(struct ctl_server *srv, int bytes)
{
    srv->sndbuf = bytes > 0 ? bytes : 0;
}

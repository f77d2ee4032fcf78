/* daemon/ctl_server: the control socket chimectl talks to, and the
 * metrics-listen HTTP endpoint.
 *
 * A Unix stream socket; each connection sends one request line ("sources",
 * "tracking", optionally " json"), gets one reply and is closed. The HTTP
 * endpoint is the same machinery on a TCP socket, framed by monitor/http: GET
 * or HEAD /metrics gets the Prometheus text, anything else an error
 * status, and the connection is closed after the response. All I/O is
 * non-blocking through the loop: a slow or silent client is dropped after a
 * short deadline and can never stall the daemon; when the HTTP table is
 * full, the oldest connection that has not sent its request makes room.
 */
#ifndef CHIME_DAEMON_CTL_SERVER_H
#define CHIME_DAEMON_CTL_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "monitor/control.h"
#include "sys/loop.h"

#define CTL_MAX_CLIENTS 8       /* control socket clients at once */
/* Metrics connections at once. A scraper sends its request as soon as it
 * is connected; connections that sit silent (slow or half-open clients)
 * are what fills the table, so when it is full the oldest connection
 * still waiting for its request is dropped for the newcomer: a crowd of
 * silent clients has to outpace this many accepts between a scraper's
 * connect and its first bytes to starve it. */
#define CTL_MAX_HTTP_CLIENTS 96
#define CTL_CLIENT_TIMEOUT_NS (2 * 1000000000LL)

/* Fill snapshots and format them into buf (cap bytes, NUL-terminated);
 * returns the reply length. Called from the loop, once per request, with
 * the loop's time of this wake-up. */
struct now;
typedef size_t (*ctl_handler_fn)(void *arg, const struct now *now, enum ctl_request req,
                                 enum ctl_format fmt, char *buf, size_t cap);

/* May the TCP peer at `peer` be served? false closes the connection at
 * once, without a byte (restrict's ignore/noquery apply to metrics). */
typedef bool (*ctl_admit_fn)(void *arg, const struct sockaddr_storage *peer);

struct ctl_server;

/* Create the parent directory (0755) if missing, replace a stale socket
 * (never any other kind of file, nor a socket some process still listens
 * on), bind with mode 0660 and group `group` ((gid_t)-1: the process's),
 * listen, and watch it in `loop`. NULL with errno on failure:
 * ENAMETOOLONG, EEXIST (not a socket), EADDRINUSE (in use), or whatever a
 * syscall reported. */
struct ctl_server *ctl_server_open(struct loop *loop, const char *path, gid_t group,
                                   ctl_handler_fn fn, void *arg);
/* Listen for HTTP on a numeric TCP address (IPv6 sockets are v6-only);
 * each admitted request for /metrics calls fn with CTL_REQ_METRICS. */
struct ctl_server *ctl_server_open_http(struct loop *loop, const struct sockaddr_storage *addr,
                                        ctl_handler_fn fn, ctl_admit_fn admit, void *arg);
/* Drop every client, stop listening and unlink the path (Unix socket).
 * NULL is fine. */
void ctl_server_close(struct ctl_server *srv);

/* The TCP port an HTTP server listens on (0 for a Unix socket): tests
 * bind port 0 and ask. */
uint16_t ctl_server_port(const struct ctl_server *srv);

/* Per-connection deadline from accept to the last reply byte. */
void ctl_server_set_timeout(struct ctl_server *srv, int64_t ns);
/* SO_SNDBUF for accepted connections (0: kernel default). Tests use a tiny
 * one to exercise replies that need several POLLOUT rounds. */
void ctl_server_set_sndbuf(struct ctl_server *srv, int bytes);

#endif

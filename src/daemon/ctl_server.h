/* daemon/ctl_server: the control socket chimectl talks to.
 *
 * A Unix stream socket; each connection sends one request line ("sources",
 * "tracking", optionally " json"), gets one reply and is closed. All I/O is
 * non-blocking through the loop: a slow or silent client is dropped after a
 * short deadline and can never stall the daemon.
 */
#ifndef CHIME_DAEMON_CTL_SERVER_H
#define CHIME_DAEMON_CTL_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "core/control.h"
#include "sys/loop.h"

#define CTL_MAX_CLIENTS 8
#define CTL_CLIENT_TIMEOUT_NS (2 * 1000000000LL)

/* Fill snapshots and format them into buf (cap bytes, NUL-terminated);
 * returns the reply length. Called from the loop, once per request. */
typedef size_t (*ctl_handler_fn)(void *arg, enum ctl_request req,
                                 enum ctl_format fmt, char *buf, size_t cap);

struct ctl_server;

/* Create the parent directory (0755) if missing, replace a stale socket
 * (never any other kind of file, nor a socket some process still listens
 * on), bind with mode 0660, listen, and watch it in `loop`. NULL with errno
 * on failure: ENAMETOOLONG, EEXIST (not a socket), EADDRINUSE (in use), or
 * whatever a syscall reported. */
struct ctl_server *ctl_server_open(struct loop *loop, const char *path,
                                   ctl_handler_fn fn, void *arg);
/* Drop every client, stop listening and unlink the path. NULL is fine. */
void ctl_server_close(struct ctl_server *srv);

/* Per-connection deadline from accept to the last reply byte. */
void ctl_server_set_timeout(struct ctl_server *srv, int64_t ns);
/* SO_SNDBUF for accepted connections (0: kernel default). Tests use a tiny
 * one to exercise replies that need several POLLOUT rounds. */
void ctl_server_set_sndbuf(struct ctl_server *srv, int bytes);

#endif

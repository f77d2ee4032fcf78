/* sys/sandbox: least privilege for chimed.
 *
 * sandbox_drop_user(): after sockets are bound and files opened, switch to
 * an unprivileged user (and group) keeping only CAP_SYS_TIME when the
 * clock is to be disciplined and the capability is available at all;
 * every other capability leaves the permitted, effective, inheritable,
 * ambient and (when we may change it) bounding sets.
 *
 * sandbox_seccomp(): a system-call allow-list (libseccomp) covering what
 * chimed does after start-up: the poll loop, UDP receive/send, clock
 * reads and adjustments, the control socket, the driftfile, logging, and
 * getaddrinfo_a's resolver thread (DNS over UDP/TCP, /etc/hosts,
 * resolv.conf, nsswitch). Anything else kills the process; in log mode
 * the kernel logs the call (audit "type=SECCOMP ... syscall=N") and lets
 * it through, which is how to find a missing entry.
 */
#ifndef CHIME_SYS_SANDBOX_H
#define CHIME_SYS_SANDBOX_H

#include <stdbool.h>
#include <sys/types.h>

enum sandbox_filter { SANDBOX_FILTER_OFF = 0, SANDBOX_FILTER_KILL = 1, SANDBOX_FILTER_LOG = 2 };

struct sandbox_user {
    uid_t uid;
    gid_t gid;
    char name[64];
};

/* "USER" or "USER:GROUP" (names or numbers) -> ids. Refuses uid 0.
 * Returns 0, or -1 with a message in err. */
int sandbox_lookup_user(const char *spec, struct sandbox_user *out, char *err, size_t errlen);
/* A group by name (or number): 0 and *out, or -1 with errno (ENOENT: no
 * such group). */
int sandbox_lookup_group(const char *name, gid_t *out);
/* Drop to u. keep_sys_time: keep CAP_SYS_TIME if we have it. *kept is
 * set to whether it was kept. Returns 0 or -1 (logged). */
int sandbox_drop_user(const struct sandbox_user *u, bool keep_sys_time, bool *kept);
/* Install the allow-list. Returns 0 or -1 (logged). */
int sandbox_seccomp(enum sandbox_filter mode);

#endif

/* sys/notify: systemd readiness notification without libsystemd.
 *
 * The documented sd_notify(3) protocol: when the environment variable
 * NOTIFY_SOCKET names a Unix datagram socket (an absolute path, or an
 * abstract-namespace name written with a leading '@'), send it one
 * datagram of newline-separated VAR=VALUE assignments, e.g. "READY=1" once
 * the sockets are bound and "STOPPING=1" when shutting down. Without
 * NOTIFY_SOCKET nothing happens: chimed was not started by systemd with
 * Type=notify. */
#ifndef CHIME_SYS_NOTIFY_H
#define CHIME_SYS_NOTIFY_H

/* Returns 1 when sent, 0 when NOTIFY_SOCKET is unset or empty, -1/errno
 * on a malformed variable (EINVAL) or a failed send. */
int notify_send(const char *state);

#endif

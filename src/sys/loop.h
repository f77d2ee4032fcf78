/* sys/loop: the only place chime blocks. poll(2) over a handful of fds, a
 * timer heap on the raw monotonic clock, and signals through flags and an eventfd.
 * Every wake-up reads the clocks once (struct now) and hands that to every
 * callback it runs. */
#ifndef CHIME_SYS_LOOP_H
#define CHIME_SYS_LOOP_H

#include <stdint.h>

#include "sys/clock.h"

struct loop;

typedef void (*loop_fd_cb)(void *arg, int fd, short revents, const struct now *now);
typedef void (*loop_timer_cb)(void *arg, const struct now *now);
typedef void (*loop_signal_cb)(void *arg, int signo, const struct now *now);

struct loop *loop_new(void);
void loop_free(struct loop *l);

/* Watch fd for `events` (POLLIN...). One callback per fd. 0 or -1/errno. */
int loop_add_fd(struct loop *l, int fd, short events, loop_fd_cb cb, void *arg);
void loop_del_fd(struct loop *l, int fd);

/* One-shot timer at an absolute monotonic time; returns an id > 0.
 * Cancelling an id that already fired or was cancelled is harmless. */
uint64_t loop_timer_at(struct loop *l, mono_ns when, loop_timer_cb cb, void *arg);
void loop_timer_cancel(struct loop *l, uint64_t id);

/* Deliver signo through the loop (the handler only sets a flag
 * and wakes poll() through an eventfd; the callback runs from the loop). */
int loop_on_signal(struct loop *l, int signo, loop_signal_cb cb, void *arg);

/* Run until loop_stop(); returns 0, or -1 with errno on a poll failure. */
int loop_run(struct loop *l);
void loop_stop(struct loop *l);

#endif

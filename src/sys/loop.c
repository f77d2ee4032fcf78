/* sys/loop: poll(2), a binary min-heap of monotonic timers, and signals
 * through handler-set flags with an eventfd to wake poll().
 *
 * One iteration: compute the timeout from the earliest timer, poll, read
 * both clocks once, run the ready fd callbacks, then the expired timers,
 * all with that same `now`. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "sys/log.h"
#include "sys/loop.h"

/* The sockets chime watches: the server's (16), one per source poll in
 * flight (up to NODE_MAX_SLOTS, 32, at once), the control socket and its
 * 8 clients, the metrics listener and its 96 clients (CTL_MAX_HTTP_CLIENTS),
 * the signal eventfd; with room. */
#define LOOP_MAX_FDS    256
#define LOOP_MAX_SIGNALS 8

struct fd_entry {
    int fd;               /* -1: free slot */
    short events;
    uint64_t gen;         /* changes on every add, so a slot reused during
                             an iteration never gets stale revents */
    loop_fd_cb cb;
    void *arg;
};

struct timer {
    mono_ns when;
    uint64_t id;          /* also the tie-break: equal times fire FIFO */
    loop_timer_cb cb;
    void *arg;
};

struct sig_entry {
    int signo;
    loop_signal_cb cb;
    void *arg;
    struct sigaction old;
};

struct loop {
    struct fd_entry fds[LOOP_MAX_FDS];
    uint64_t fd_gen;

    struct timer *heap;
    size_t nheap, capheap;
    uint64_t next_id;

    struct sig_entry sigs[LOOP_MAX_SIGNALS];
    int nsigs;
    int sig_fd;           /* the wake-up eventfd, -1 until the first
                             loop_on_signal() */

    bool stop;
};

/* The signal handler has no argument through which to find its loop, so
 * the eventfd it wakes and the flags it sets are the process-wide state
 * here. Only one loop at a time may own signals. */
#define LOOP_SIG_SLOTS 65       /* signal numbers 1..64 */
static volatile sig_atomic_t sig_event_fd = -1;
static volatile sig_atomic_t sig_pending[LOOP_SIG_SLOTS];
static volatile sig_atomic_t sig_any;

struct loop *loop_new(void)
{
    struct loop *l = xcalloc(1, sizeof(*l));

    for (int i = 0; i < LOOP_MAX_FDS; i++)
        l->fds[i].fd = -1;
    l->sig_fd = -1;
    l->next_id = 1;
    return l;
}

void loop_free(struct loop *l)
{
    if (l == NULL)
        return;
    for (int i = 0; i < l->nsigs; i++)
        sigaction(l->sigs[i].signo, &l->sigs[i].old, NULL);
    if (l->sig_fd >= 0) {
        sig_event_fd = -1;
        close(l->sig_fd);
        for (int i = 0; i < LOOP_SIG_SLOTS; i++)
            sig_pending[i] = 0;
        sig_any = 0;
    }
    free(l->heap);
    free(l);
}

/* ---- file descriptors ---------------------------------------------------- */

static struct fd_entry *find_fd(struct loop *l, int fd)
{
    for (int i = 0; i < LOOP_MAX_FDS; i++)
        if (l->fds[i].fd == fd)
            return &l->fds[i];
    return NULL;
}

int loop_add_fd(struct loop *l, int fd, short events, loop_fd_cb cb, void *arg)
{
    struct fd_entry *e;

    if (fd < 0 || cb == NULL) {
        errno = EINVAL;
        return -1;
    }
    if (find_fd(l, fd) != NULL) {
        errno = EEXIST;
        return -1;
    }
    e = find_fd(l, -1);
    if (e == NULL) {
        errno = ENOSPC;
        return -1;
    }
    *e = (struct fd_entry){ .fd = fd, .events = events, .gen = ++l->fd_gen,
                            .cb = cb, .arg = arg };
    return 0;
}

void loop_del_fd(struct loop *l, int fd)
{
    struct fd_entry *e = fd >= 0 ? find_fd(l, fd) : NULL;

    if (e != NULL)
        *e = (struct fd_entry){ .fd = -1 };
}

/* ---- timer heap ---------------------------------------------------------- */

static bool timer_before(const struct timer *a, const struct timer *b)
{
    if (a->when.ns != b->when.ns)
        return a->when.ns < b->when.ns;
    return a->id < b->id;
}

static void heap_swap(struct loop *l, size_t i, size_t j)
{
    struct timer t = l->heap[i];

    l->heap[i] = l->heap[j];
    l->heap[j] = t;
}

static void heap_up(struct loop *l, size_t i)
{
    while (i > 0) {
        size_t parent = (i - 1) / 2;

        if (!timer_before(&l->heap[i], &l->heap[parent]))
            break;
        heap_swap(l, i, parent);
        i = parent;
    }
}

static void heap_down(struct loop *l, size_t i)
{
    for (;;) {
        size_t left = 2 * i + 1, right = left + 1, min = i;

        if (left < l->nheap && timer_before(&l->heap[left], &l->heap[min]))
            min = left;
        if (right < l->nheap && timer_before(&l->heap[right], &l->heap[min]))
            min = right;
        if (min == i)
            return;
        heap_swap(l, i, min);
        i = min;
    }
}

static void heap_remove(struct loop *l, size_t i)
{
    l->nheap--;
    if (i == l->nheap)
        return;
    l->heap[i] = l->heap[l->nheap];
    heap_up(l, i);
    heap_down(l, i);
}

uint64_t loop_timer_at(struct loop *l, mono_ns when, loop_timer_cb cb, void *arg)
{
    if (cb == NULL)
        fatalx("loop", "timer without a callback");
    if (l->nheap == l->capheap) {
        l->capheap = l->capheap ? 2 * l->capheap : 16;
        l->heap = xreallocarray(l->heap, l->capheap, sizeof(*l->heap));
    }
    l->heap[l->nheap] = (struct timer){ .when = when, .id = l->next_id++,
                                        .cb = cb, .arg = arg };
    heap_up(l, l->nheap++);
    return l->next_id - 1;
}

/* Linear search: a daemon holds a few timers per source, and cancels are
 * rare next to the poll wake-ups that dominate. */
void loop_timer_cancel(struct loop *l, uint64_t id)
{
    for (size_t i = 0; i < l->nheap; i++) {
        if (l->heap[i].id == id) {
            heap_remove(l, i);
            return;
        }
    }
}

/* poll(2) timeout in ms until the earliest timer, rounded up so that we
 * never wake before it is due; -1 with no timer. */
static int poll_timeout(const struct loop *l)
{
    int64_t left, ms;

    if (l->nheap == 0)
        return -1;
    left = mono_sub(l->heap[0].when, clock_read_mono());
    if (left <= 0)
        return 0;
    ms = (left + 999999) / 1000000;
    return ms > INT_MAX ? INT_MAX : (int)ms;
}

/* Run every timer due at now, but only those that existed when this
 * phase began: a callback re-arming itself "now" waits for the next
 * iteration instead of spinning here forever. */
static void run_timers(struct loop *l, const struct now *now)
{
    uint64_t limit = l->next_id;

    while (l->nheap > 0) {
        struct timer t = l->heap[0];

        if (t.when.ns > now->mono.ns || t.id >= limit)
            break;
        heap_remove(l, 0);
        t.cb(t.arg, now);
    }
}

/* ---- signals --------------------------------------------------------------- */

/* The handler records the signal in a flag and bumps an eventfd counter.
 * The eventfd is only the wake-up: it sits in the poll set, so a signal
 * that lands after the flags were checked but before poll() blocks still
 * makes that poll return at once. The flags, not the eventfd, say what
 * arrived, and they are checked after every poll() whether or not the
 * eventfd was ready - also after poll() failed with EINTR. That is what
 * lets the daemon run under a syscall-level simulator such as clknetsim:
 * there an eventfd is a descriptor it knows (never ready by itself, where
 * a pipe would be "always readable" and simulated time would never
 * advance), and signals arrive as EINTR from the simulated poll(). */
static void on_signal(int signo)
{
    int saved = errno;
    uint64_t one = 1;
    int fd = sig_event_fd;

    if (signo > 0 && signo < LOOP_SIG_SLOTS)
        sig_pending[signo] = 1;
    sig_any = 1;
    /* A counter at its maximum means a wake-up is already pending. */
    if (fd >= 0 && write(fd, &one, sizeof(one)) < 0) {
        /* nothing useful to do from a signal handler */
    }
    errno = saved;
}

/* Reset the eventfd's counter; the flags are looked at afterwards, so a
 * signal arriving in between is both seen now and wakes the next poll. */
static void drain_event(void *arg, int fd, short revents, const struct now *now)
{
    uint64_t count;

    (void)arg;
    (void)revents;
    (void)now;
    while (read(fd, &count, sizeof(count)) == (ssize_t)sizeof(count))
        ;
}

/* Run the callbacks of the signals flagged since the last call. A flag is
 * cleared before its callback runs: the same signal arriving again during
 * the callback is seen on the next iteration, not lost. */
static void run_signals(struct loop *l, const struct now *now)
{
    if (!sig_any)
        return;
    sig_any = 0;
    for (int s = 0; s < l->nsigs; s++) {
        int signo = l->sigs[s].signo;

        if (!sig_pending[signo])
            continue;
        sig_pending[signo] = 0;
        l->sigs[s].cb(l->sigs[s].arg, signo, now);
    }
}

static int open_sig_event(struct loop *l)
{
    int fd;

    if (sig_event_fd >= 0) {
        errno = EBUSY;          /* another loop owns the signals */
        return -1;
    }
    fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0)
        return -1;
    if (loop_add_fd(l, fd, POLLIN, drain_event, l) < 0) {
        int saved = errno;

        close(fd);
        errno = saved;
        return -1;
    }
    l->sig_fd = fd;
    sig_event_fd = fd;
    return 0;
}

int loop_on_signal(struct loop *l, int signo, loop_signal_cb cb, void *arg)
{
    struct sigaction sa;
    struct sig_entry *e;

    if (signo <= 0 || signo >= LOOP_SIG_SLOTS || cb == NULL) {
        errno = EINVAL;
        return -1;
    }
    for (int i = 0; i < l->nsigs; i++) {
        if (l->sigs[i].signo == signo) {
            l->sigs[i].cb = cb;
            l->sigs[i].arg = arg;
            return 0;
        }
    }
    if (l->nsigs == LOOP_MAX_SIGNALS) {
        errno = ENOSPC;
        return -1;
    }
    if (l->sig_fd < 0 && open_sig_event(l) < 0)
        return -1;
    e = &l->sigs[l->nsigs];
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigfillset(&sa.sa_mask);
    if (sigaction(signo, &sa, &e->old) < 0)
        return -1;
    e->signo = signo;
    e->cb = cb;
    e->arg = arg;
    l->nsigs++;
    return 0;
}

/* ---- the loop -------------------------------------------------------------- */

/* Snapshot of the fds polled this iteration; the callbacks may add or
 * delete fds, so each ready one is re-checked against its generation. */
struct poll_set {
    struct pollfd pfd[LOOP_MAX_FDS];
    uint64_t gen[LOOP_MAX_FDS];
    nfds_t n;
};

static void build_poll_set(const struct loop *l, struct poll_set *ps)
{
    ps->n = 0;
    for (int i = 0; i < LOOP_MAX_FDS; i++) {
        if (l->fds[i].fd < 0)
            continue;
        ps->pfd[ps->n] = (struct pollfd){ .fd = l->fds[i].fd,
                                          .events = l->fds[i].events };
        ps->gen[ps->n] = l->fds[i].gen;
        ps->n++;
    }
}

static void run_fds(struct loop *l, const struct poll_set *ps, const struct now *now)
{
    for (nfds_t i = 0; i < ps->n; i++) {
        struct fd_entry *e;

        if (ps->pfd[i].revents == 0)
            continue;
        e = find_fd(l, ps->pfd[i].fd);
        if (e == NULL || e->gen != ps->gen[i])
            continue;   /* deleted (or replaced) earlier this iteration */
        e->cb(e->arg, e->fd, ps->pfd[i].revents, now);
    }
}

/* loop_stop() from any callback lets the current iteration finish (the
 * other ready fds and due timers still run) and then returns 0. */
int loop_run(struct loop *l)
{
    struct poll_set ps;
    struct now now;

    while (!l->stop) {
        int n;

        build_poll_set(l, &ps);
        n = poll(ps.pfd, ps.n, poll_timeout(l));
        if (n < 0 && errno != EINTR) {
            int saved = errno;

            l->stop = false;
            errno = saved;
            return -1;
        }
        clock_read_now(&now);
        if (n > 0)
            run_fds(l, &ps, &now);
        run_signals(l, &now);
        run_timers(l, &now);
    }
    l->stop = false;
    return 0;
}

void loop_stop(struct loop *l)
{
    l->stop = true;
}

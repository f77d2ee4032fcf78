/* daemon/engine_refclock: the daemon's side of reference clocks.
 *
 * For every refclock slot the node set up, open its driver (SHM segment,
 * SOCK socket, PPS or PHC device) before the sandbox closes in; poll SHM
 * segments and the devices from a timer, each at its driver's period, and
 * read SOCK sockets when readable, and hand each sample
 * to the node (node_refclock_sample), which filters and weighs them.
 * A driver that refuses what it read (bad magic, bad mode, a racing
 * writer) says why once; the count is kept.
 *
 * After seccomp neither shmget nor shmdt is allowed: a reload opens no
 * new driver (a restart does) and a removed SHM clock's segment stays
 * attached until exit, only unread. */
#include "daemon/engine.h"

#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "sys/log.h"
#include "sys/refclock_drv.h"

#define RC_SOCK_BATCH 16        /* datagrams read per wake-up */

static bool is_rc_slot(const struct engine *e, int i)
{
    return node_slot_refclock(&e->client.node, i) && e->client.node.slot[i].idx >= 0;
}

static void refused(struct engine *e, int i, const char *why)
{
    struct engine_refclock *r = &e->client.rc[i];

    r->refused++;
    node_refclock_driver_error(&e->client.node, i, why, true);
    if (r->why != why)
        log_warnx("refclock", "%s: sample refused: %s (%llu so far)", e->client.node.slot[i].name, why,
                  (unsigned long long)r->refused);
    r->why = why;
}

/* Every sample the driver has now, to the node. */
static void drain(struct engine *e, int i, int max, const struct now *now)
{
    for (int k = 0; k < max && e->client.rc[i].drv; k++) {
        struct refclock_sample s;
        const char *why = "";
        int got = refclock_drv_read(e->client.rc[i].drv, &s, &why);

        if (got == 0)
            break;
        if (got < 0) {
            refused(e, i, why);
            continue;
        }
        if (!is_rc_slot(e, i))
            continue;       /* removed by a reload: read and dropped */
        node_refclock_sample(&e->client.node, i, &s, now, e->client.nout);
        engine_client_carry_out(e, now);
    }
}

static void sock_readable(void *arg, int fd, short revents, const struct now *now)
{
    struct engine_slot *es = arg;

    (void)fd;
    (void)revents;
    drain(es->engine, es->slot, RC_SOCK_BATCH, now);
}

/* The drivers without a descriptor, each at its own period (SHM 1 s, PPS
 * 0.5 s, PHC 2^dpoll s): the timer ticks at the shortest. */
static void poll_timer(void *arg, const struct now *now)
{
    struct engine *e = arg;

    e->client.rc_timer = loop_timer_at(e->loop, mono_add(now->mono, e->client.rc_tick_ns),
                                poll_timer, e);
    for (int i = 0; i < NODE_MAX_SLOTS; i++) {
        struct engine_refclock *r = &e->client.rc[i];

        if (!r->drv || refclock_drv_fd(r->drv) >= 0 || now->mono.ns < r->next_read.ns)
            continue;
        r->next_read = mono_add(r->next_read, refclock_drv_poll_ns(r->drv));
        if (r->next_read.ns <= now->mono.ns)
            r->next_read = mono_add(now->mono, refclock_drv_poll_ns(r->drv));
        drain(e, i, 1, now);
    }
}

static void open_one(struct engine *e, int i, const struct now *now)
{
    const struct node_slot *sl = &e->client.node.slot[i];
    char err[256];
    int fd;

    e->client.rc[i].drv = refclock_drv_open(&sl->conf.rc, err, sizeof(err));
    if (!e->client.rc[i].drv) {
        log_warnx("refclock", "%s (%s): %s", sl->name, sl->conf.where, err);
        node_refclock_driver_error(&e->client.node, i, err, false);
        return;
    }
    /* both are NODE_NAME_LEN and NUL-terminated (memcpy: gcc -O1 sees a
     * false overlap in snprintf between two members of *e) */
    _Static_assert(sizeof(e->client.rc[i].host) == sizeof(sl->conf.host), "same size");
    memcpy(e->client.rc[i].host, sl->conf.host, sizeof(e->client.rc[i].host));
    e->client.rc[i].host[sizeof(e->client.rc[i].host) - 1] = '\0';
    fd = refclock_drv_fd(e->client.rc[i].drv);
    if (fd >= 0 && loop_add_fd(e->loop, fd, POLLIN, sock_readable, &e->client.slots[i]) < 0) {
        log_warn("refclock", "%s: loop", sl->name);
        refclock_drv_close(e->client.rc[i].drv);
        e->client.rc[i].drv = NULL;
        return;
    }
    if (fd < 0) {
        int64_t period = refclock_drv_poll_ns(e->client.rc[i].drv);

        e->client.rc[i].next_read = mono_add(now->mono, period);
        if (e->client.rc_timer && period < e->client.rc_tick_ns) {
            loop_timer_cancel(e->loop, e->client.rc_timer);
            e->client.rc_timer = 0;
        }
        if (!e->client.rc_timer) {
            e->client.rc_tick_ns = e->client.rc_tick_ns && e->client.rc_tick_ns < period
                                       ? e->client.rc_tick_ns : period;
            e->client.rc_timer = loop_timer_at(e->loop, mono_add(now->mono, e->client.rc_tick_ns),
                                               poll_timer, e);
        }
    }
    log_info("refclock", "%s: driver open (%s)", sl->name,
             refclock_drv_describe(e->client.rc[i].drv));
}

void engine_refclock_init(struct engine *e, const struct now *now)
{
    for (int i = 0; i < e->client.node.n_slots; i++) {
        if (is_rc_slot(e, i))
            open_one(e, i, now);
    }
}

static void close_one(struct engine *e, int i)
{
    int fd = refclock_drv_fd(e->client.rc[i].drv);

    if (fd >= 0)
        loop_del_fd(e->loop, fd);
    refclock_drv_close(e->client.rc[i].drv);
    e->client.rc[i].drv = NULL;
}

void engine_refclock_free(struct engine *e)
{
    for (int i = 0; i < NODE_MAX_SLOTS; i++) {
        if (e->client.rc[i].drv)
            close_one(e, i);
    }
    if (e->client.rc_timer)
        loop_timer_cancel(e->loop, e->client.rc_timer);
    e->client.rc_timer = 0;
    e->client.rc_tick_ns = 0;
}

void engine_refclock_reload(struct engine *e)
{
    for (int i = 0; i < e->client.node.n_slots; i++) {
        bool want = is_rc_slot(e, i);
        bool same = e->client.rc[i].drv && !strcmp(e->client.rc[i].host, e->client.node.slot[i].conf.host);

        if (want && !same)
            log_warnx("refclock", "%s (%s): added by a reload; its driver opens at the next "
                      "restart", e->client.node.slot[i].name, e->client.node.slot[i].conf.where);
        if (e->client.rc[i].drv && !same && refclock_drv_fd(e->client.rc[i].drv) >= 0)
            close_one(e, i);   /* a socket can go; an SHM segment stays attached */
    }
}

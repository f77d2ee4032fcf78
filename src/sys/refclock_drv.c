/* sys/refclock_drv: see refclock_drv.h. */
#include "sys/refclock_drv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/pps.h>
#include <linux/ptp_clock.h>
#include <sys/ioctl.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define PPS_POLL_NS (NS_PER_S / 2)   /* two fetches a second: no edge missed for long */
#define PHC_READS 9                    /* system/PHC/system triples per sample */

enum phc_method { PHC_EXTENDED, PHC_PRECISE, PHC_PLAIN };

struct refclock_drv {
    enum node_refclock_driver kind;
    volatile struct refclock_shm_seg *seg;  /* SHM */
    int fd;                                 /* SOCK */
    struct sockaddr_un sun;
    int dev;                                /* PPS, PHC: the device */
    char path[108];
    bool clear;                             /* PPS: the clear edge */
    bool have_seq;
    unsigned seq;                           /* PPS: the last edge's sequence */
    enum phc_method method;                 /* PHC: the ioctl that works */
    int64_t poll_ns;
};

static struct refclock_drv *shm_open_unit(int unit, char *err, size_t errlen)
{
    /* ntpd's rule: the first two units are root's, the rest anyone's */
    int perm = unit < 2 ? 0600 : 0666;
    key_t key = (key_t)(REFCLOCK_SHM_KEY + unit);
    int id = shmget(key, sizeof(struct refclock_shm_seg), IPC_CREAT | perm);
    struct refclock_drv *d;
    void *p;

    if (id < 0) {
        snprintf(err, errlen, "SHM unit %d: shmget(0x%x): %s%s", unit, (unsigned)key,
                 strerror(errno), errno == EINVAL ? " (a segment of another size exists)" :
                 errno == EACCES ? " (owned by another user with mode 0600)" : "");
        return NULL;
    }
    p = shmat(id, NULL, 0);
    if (p == (void *)-1) {
        snprintf(err, errlen, "SHM unit %d: shmat: %s", unit, strerror(errno));
        return NULL;
    }
    d = calloc(1, sizeof(*d));
    if (!d) {
        shmdt(p);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    d->kind = NODE_RC_SHM;
    d->seg = p;
    d->fd = -1;
    return d;
}

static struct refclock_drv *sock_open_path(const char *path, char *err, size_t errlen)
{
    struct refclock_drv *d = calloc(1, sizeof(*d));

    if (!d) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    d->kind = NODE_RC_SOCK;
    d->sun.sun_family = AF_UNIX;
    snprintf(d->sun.sun_path, sizeof(d->sun.sun_path), "%s", path);
    d->fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    if (d->fd < 0 || fcntl(d->fd, F_SETFL, O_NONBLOCK) < 0 ||
        fcntl(d->fd, F_SETFD, FD_CLOEXEC) < 0) {
        snprintf(err, errlen, "SOCK %s: socket: %s", path, strerror(errno));
        goto fail;
    }
    /* a socket left by an earlier run is ours to replace; anything else
     * at that path is not */
    if (unlink(path) < 0 && errno != ENOENT) {
        snprintf(err, errlen, "SOCK %s: cannot remove the old socket: %s", path,
                 strerror(errno));
        goto fail;
    }
    if (bind(d->fd, (struct sockaddr *)&d->sun, sizeof(d->sun)) < 0) {
        snprintf(err, errlen, "SOCK %s: bind: %s", path, strerror(errno));
        goto fail;
    }
    return d;
fail:
    if (d->fd >= 0)
        close(d->fd);
    free(d);
    return NULL;
}

static struct refclock_drv *device_new(const struct node_refclock_conf *c, char *err,
                                       size_t errlen)
{
    struct refclock_drv *d = calloc(1, sizeof(*d));

    if (!d) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    d->kind = c->driver;
    d->fd = -1;
    snprintf(d->path, sizeof(d->path), "%s", c->path);
    d->dev = open(c->path, O_RDWR | O_CLOEXEC);
    if (d->dev < 0) {
        snprintf(err, errlen, "%s: %s", c->path, strerror(errno));
        free(d);
        return NULL;
    }
    return d;
}

static void device_fail(struct refclock_drv *d)
{
    close(d->dev);
    free(d);
}

/* PPS: the edge asked for must be one the device captures; timestamps
 * as timespecs, no offset applied in the kernel (ours is the node's). */
static struct refclock_drv *pps_open(const struct node_refclock_conf *c, char *err,
                                     size_t errlen)
{
    struct refclock_drv *d = device_new(c, err, errlen);
    struct pps_kparams par;
    int caps = 0, edge = c->clear ? PPS_CAPTURECLEAR : PPS_CAPTUREASSERT;

    if (!d)
        return NULL;
    d->clear = c->clear;
    d->poll_ns = PPS_POLL_NS;
    if (ioctl(d->dev, PPS_GETCAP, &caps) < 0) {
        snprintf(err, errlen, "%s: PPS_GETCAP: %s (not an RFC 2783 PPS device?)", c->path,
                 strerror(errno));
        goto fail;
    }
    if (!(caps & edge)) {
        snprintf(err, errlen, "%s: the device cannot capture the %s edge (capabilities 0x%x)",
                 c->path, c->clear ? "clear" : "assert", (unsigned)caps);
        goto fail;
    }
    memset(&par, 0, sizeof(par));
    if (ioctl(d->dev, PPS_GETPARAMS, &par) < 0) {
        snprintf(err, errlen, "%s: PPS_GETPARAMS: %s", c->path, strerror(errno));
        goto fail;
    }
    par.api_version = PPS_API_VERS_1;
    par.mode = (par.mode & ~(PPS_CAPTUREBOTH | PPS_TSFMT_NTPFP)) | edge | PPS_TSFMT_TSPEC;
    if (ioctl(d->dev, PPS_SETPARAMS, &par) < 0) {
        snprintf(err, errlen, "%s: PPS_SETPARAMS: %s%s", c->path, strerror(errno),
                 errno == EPERM || errno == EACCES ? " (needs write access to the device)" : "");
        goto fail;
    }
    return d;
fail:
    device_fail(d);
    return NULL;
}

/* The first method of the three this PHC answers, from the best. */
static int phc_probe(struct refclock_drv *d, char *err, size_t errlen)
{
    struct ptp_sys_offset_extended ext;
    struct ptp_sys_offset_precise pre;
    struct ptp_sys_offset plain;

    memset(&ext, 0, sizeof(ext));
    ext.n_samples = 1;
    if (ioctl(d->dev, PTP_SYS_OFFSET_EXTENDED, &ext) == 0) {
        d->method = PHC_EXTENDED;
        return 0;
    }
    memset(&pre, 0, sizeof(pre));
    if (ioctl(d->dev, PTP_SYS_OFFSET_PRECISE, &pre) == 0) {
        d->method = PHC_PRECISE;
        return 0;
    }
    memset(&plain, 0, sizeof(plain));
    plain.n_samples = 1;
    if (ioctl(d->dev, PTP_SYS_OFFSET, &plain) == 0) {
        d->method = PHC_PLAIN;
        return 0;
    }
    snprintf(err, errlen, "%s: neither PTP_SYS_OFFSET_EXTENDED, _PRECISE nor PTP_SYS_OFFSET: "
             "%s (not a PTP clock?)", d->path, strerror(errno));
    return -1;
}

static struct refclock_drv *phc_open(const struct node_refclock_conf *c, char *err,
                                     size_t errlen)
{
    struct refclock_drv *d = device_new(c, err, errlen);

    if (!d)
        return NULL;
    d->poll_ns = c->dpoll >= 0 ? NS_PER_S << c->dpoll : NS_PER_S >> -c->dpoll;
    if (phc_probe(d, err, errlen) < 0) {
        device_fail(d);
        return NULL;
    }
    return d;
}

struct refclock_drv *refclock_drv_open(const struct node_refclock_conf *c, char *err,
                                       size_t errlen)
{
    switch (c->driver) {
    case NODE_RC_SOCK: return sock_open_path(c->path, err, errlen);
    case NODE_RC_PPS:  return pps_open(c, err, errlen);
    case NODE_RC_PHC:  return phc_open(c, err, errlen);
    case NODE_RC_SHM:  break;
    }
    return shm_open_unit(c->unit, err, errlen);
}

int refclock_drv_fd(const struct refclock_drv *d)
{
    return d ? d->fd : -1;
}

const char *refclock_drv_describe(const struct refclock_drv *d)
{
    static const char *const phc[] = { "read with PTP_SYS_OFFSET_EXTENDED",
                                       "read with PTP_SYS_OFFSET_PRECISE",
                                       "read with PTP_SYS_OFFSET" };

    if (!d)
        return "";
    if (d->kind == NODE_RC_PPS)
        return d->clear ? "clear edge" : "assert edge";
    if (d->kind == NODE_RC_PHC)
        return phc[d->method];
    return d->kind == NODE_RC_SOCK ? "socket bound" : "segment attached";
}

int64_t refclock_drv_poll_ns(const struct refclock_drv *d)
{
    return d && d->poll_ns > 0 ? d->poll_ns : REFCLOCK_DRV_SHM_POLL_NS;
}

/* The handshake: count, copy, count again (mode 1 compares them), then
 * clear valid once the sample is taken. */
static int shm_read(struct refclock_drv *d, struct refclock_sample *out, const char **why)
{
    volatile struct refclock_shm_seg *s = d->seg;
    struct refclock_shm_seg snap;
    enum refclock_result r;
    int before, after;

    before = s->count;
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    memcpy(&snap, (const void *)s, sizeof(snap));
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    after = s->count;
    snap.count = before;
    r = refclock_shm_parse(&snap, after, out);
    if (r == REFCLOCK_EMPTY || r == REFCLOCK_BUSY)
        return 0;
    s->valid = 0;
    if (r == REFCLOCK_NEW)
        return 1;
    *why = refclock_result_name(r);
    return -1;
}

static int sock_read(struct refclock_drv *d, struct refclock_sample *out, const char **why)
{
    union { struct refclock_sock_msg m; unsigned char b[sizeof(struct refclock_sock_msg) + 16]; } u;
    ssize_t n = recv(d->fd, u.b, sizeof(u.b), 0);
    enum refclock_result r;

    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            return 0;
        *why = "recv failed";
        return -1;
    }
    r = refclock_sock_parse(u.b, (size_t)n, out);
    if (r == REFCLOCK_NEW || r == REFCLOCK_PULSE)
        return 1;       /* a pulse: the node finds its second */
    *why = refclock_result_name(r);
    return -1;
}

static bool ktime_ok(int64_t sec, int64_t nsec)
{
    return sec > 0 && sec < 4000000000LL && nsec >= 0 && nsec < NS_PER_S;
}

/* The newest edge, if it is new: PPS_FETCH with a zero timeout returns
 * at once with the last assert and clear events. */
static int pps_read(struct refclock_drv *d, struct refclock_sample *out, const char **why)
{
    struct pps_fdata f;
    const struct pps_ktime *t;
    unsigned seq;

    memset(&f, 0, sizeof(f));
    if (ioctl(d->dev, PPS_FETCH, &f) < 0) {
        *why = errno == ETIMEDOUT ? "PPS_FETCH: no edge" : "PPS_FETCH failed";
        return errno == ETIMEDOUT || errno == EINTR ? 0 : -1;
    }
    seq = d->clear ? f.info.clear_sequence : f.info.assert_sequence;
    t = d->clear ? &f.info.clear_tu : &f.info.assert_tu;
    if (seq == 0 || (d->have_seq && seq == d->seq))
        return 0;       /* no edge yet, or the one already read */
    d->seq = seq;
    d->have_seq = true;
    if (!ktime_ok(t->sec, t->nsec)) {
        *why = "PPS edge time out of range";
        return -1;
    }
    memset(out, 0, sizeof(*out));
    out->receive.ns = (int64_t)t->sec * NS_PER_S + t->nsec;
    out->reference = out->receive;      /* the node finds the second */
    out->pulse = true;
    out->precision = -20;
    return 1;
}

static int64_t ptp_ns(const struct ptp_clock_time *t)
{
    return (int64_t)t->sec * NS_PER_S + t->nsec;
}

/* One triple: the narrowest of the system reads that bracket a PHC read
 * gives the sample (PHC time at the midpoint, the bracket as delay). */
static void phc_best(int64_t before, int64_t phc, int64_t after, struct refclock_sample *out,
                     bool *have)
{
    int64_t width = after - before;

    if (width < 0 || (*have && width >= out->delay_ns))
        return;
    out->receive.ns = before + width / 2;
    out->reference.ns = phc;
    out->delay_ns = width > 0 ? width : 1;
    *have = true;
}

static int phc_read(struct refclock_drv *d, struct refclock_sample *out, const char **why)
{
    bool have = false;

    memset(out, 0, sizeof(*out));
    if (d->method == PHC_EXTENDED) {
        struct ptp_sys_offset_extended x;

        memset(&x, 0, sizeof(x));
        x.n_samples = PHC_READS;
        if (ioctl(d->dev, PTP_SYS_OFFSET_EXTENDED, &x) < 0)
            goto fail;
        for (unsigned i = 0; i < x.n_samples && i < PTP_MAX_SAMPLES; i++)
            phc_best(ptp_ns(&x.ts[i][0]), ptp_ns(&x.ts[i][1]), ptp_ns(&x.ts[i][2]), out, &have);
    } else if (d->method == PHC_PRECISE) {
        struct ptp_sys_offset_precise x;

        memset(&x, 0, sizeof(x));
        if (ioctl(d->dev, PTP_SYS_OFFSET_PRECISE, &x) < 0)
            goto fail;
        /* a cross-timestamp: both clocks at one instant, no bracket */
        phc_best(ptp_ns(&x.sys_realtime), ptp_ns(&x.device), ptp_ns(&x.sys_realtime), out,
                 &have);
    } else {
        struct ptp_sys_offset x;

        memset(&x, 0, sizeof(x));
        x.n_samples = PHC_READS;
        if (ioctl(d->dev, PTP_SYS_OFFSET, &x) < 0)
            goto fail;
        /* system, PHC, system, PHC, ..., system */
        for (unsigned i = 0; i < x.n_samples && 2 * i + 2 < 2 * PTP_MAX_SAMPLES + 1; i++)
            phc_best(ptp_ns(&x.ts[2 * i]), ptp_ns(&x.ts[2 * i + 1]), ptp_ns(&x.ts[2 * i + 2]),
                     out, &have);
    }
    if (!have || !ktime_ok(out->receive.ns / NS_PER_S, 0) ||
        !ktime_ok(out->reference.ns / NS_PER_S, 0)) {
        *why = "PHC read out of range";
        return -1;
    }
    out->precision = -30;
    return 1;
fail:
    *why = "PHC read (ioctl) failed";
    return -1;
}

int refclock_drv_read(struct refclock_drv *d, struct refclock_sample *out, const char **why)
{
    *why = "";
    if (!d)
        return 0;
    switch (d->kind) {
    case NODE_RC_SOCK: return sock_read(d, out, why);
    case NODE_RC_PPS:  return pps_read(d, out, why);
    case NODE_RC_PHC:  return phc_read(d, out, why);
    case NODE_RC_SHM:  break;
    }
    return shm_read(d, out, why);
}

void refclock_drv_close(struct refclock_drv *d)
{
    if (!d)
        return;
    if (d->kind == NODE_RC_SHM) {
        /* no shmdt: the sandbox forbids it, and exit detaches anyway */
    } else if (d->kind == NODE_RC_PPS || d->kind == NODE_RC_PHC) {
        close(d->dev);
    } else {
        close(d->fd);
        unlink(d->sun.sun_path);
    }
    free(d);
}

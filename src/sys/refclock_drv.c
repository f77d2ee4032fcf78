/* sys/refclock_drv: see refclock_drv.h. */
#include "sys/refclock_drv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

struct refclock_drv {
    enum node_refclock_driver kind;
    volatile struct refclock_shm_seg *seg;  /* SHM */
    int fd;                                 /* SOCK */
    struct sockaddr_un sun;
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

struct refclock_drv *refclock_drv_open(const struct node_refclock_conf *c, char *err,
                                       size_t errlen)
{
    if (c->driver == NODE_RC_SOCK)
        return sock_open_path(c->path, err, errlen);
    return shm_open_unit(c->unit, err, errlen);
}

int refclock_drv_fd(const struct refclock_drv *d)
{
    return d ? d->fd : -1;
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
    if (r == REFCLOCK_NEW)
        return 1;
    *why = refclock_result_name(r);
    return -1;
}

int refclock_drv_read(struct refclock_drv *d, struct refclock_sample *out, const char **why)
{
    *why = "";
    if (!d)
        return 0;
    return d->kind == NODE_RC_SOCK ? sock_read(d, out, why) : shm_read(d, out, why);
}

void refclock_drv_close(struct refclock_drv *d)
{
    if (!d)
        return;
    if (d->kind == NODE_RC_SHM) {
        /* no shmdt: the sandbox forbids it, and exit detaches anyway */
    } else {
        close(d->fd);
        unlink(d->sun.sun_path);
    }
    free(d);
}

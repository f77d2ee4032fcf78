/* refclockw: a reference-clock writer for tests, as gpsd would be.
 *
 *   refclockw shm UNIT [options]     ntpd's SHM segment (key 0x4e545030 + UNIT)
 *   refclockw sock PATH [options]    chrony's SOCK datagrams to PATH
 *
 * Every interval it writes one sample: the true time (this machine's
 * CLOCK_REALTIME, plus a bias and Gaussian noise) against the time of the
 * clock being disciplined. With -f that clock is chimed's fake kernel
 * clock (build/libfakeclock.so), read from its state file: offset_ns
 * carried forward at rate_ppm from the file's modification time, the way
 * tests/system/lib.sh's fake_offset_now_s does; without -f it is this
 * machine's clock too.
 *
 * Options:
 *   -n COUNT     samples to write (default 60)
 *   -i MS        interval (default 1000)
 *   -o SECONDS   bias of the reference (default 0)
 *   -j SECONDS   standard deviation of its noise (default 0)
 *   -s SEED      noise seed (default 1)
 *   -f FILE      the fake clock's state file: receive times on that clock
 *   -m MODE      SHM mode field, 0 or 1 (default 1, as gpsd)
 *   -R           SHM: remove the segment when done
 *   -b           SOCK: send one bad datagram (wrong magic) first
 * Prints "wrote N" at the end. Exit 0, or 1 with a message. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "core/refclock_sample.h"

struct opts {
    bool shm;
    int unit;
    const char *path, *fake_state;
    long count, interval_ms;
    double bias, noise;
    uint64_t seed;
    int mode;
    bool remove, bad_first;
};

static int64_t read_ns(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

/* The fake clock's error now (ns), or 0 without a state file. */
static int64_t fake_offset_ns(const char *path, int64_t real)
{
    long long off = 0;
    double rate = 0;
    struct stat st;
    char line[512];
    FILE *f;
    char *p;

    if (!path)
        return 0;
    for (int tries = 0; tries < 3; tries++) {
        if (stat(path, &st) < 0 || !(f = fopen(path, "r")))
            continue;
        p = fgets(line, sizeof(line), f);
        fclose(f);
        if (!p || sscanf(line, "offset_ns=%lld", &off) != 1)
            continue;
        p = strstr(line, " rate_ppm=");
        rate = p ? strtod(p + 10, NULL) : 0;
        int64_t m = (int64_t)st.st_mtim.tv_sec * NS_PER_S + st.st_mtim.tv_nsec;
        return off + (int64_t)llround(rate * 1e-6 * (double)(real - m));
    }
    return 0;
}

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static double gauss(uint64_t *s)
{
    double u1 = ((double)(rnd(s) >> 11) + 1) / 9007199254740993.0;
    double u2 = (double)(rnd(s) >> 11) / 9007199254740992.0;

    return sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

static void split(int64_t ns, time_t *sec, int *usec, unsigned *nsec)
{
    int64_t s = ns >= 0 ? ns / NS_PER_S : -((-ns + NS_PER_S - 1) / NS_PER_S);
    int64_t f = ns - s * NS_PER_S;

    *sec = (time_t)s;
    *usec = (int)(f / 1000);
    *nsec = (unsigned)f;
}

/* gpsd's order: valid off, count up, the fields, count up, valid on. */
static void shm_write(volatile struct refclock_shm_seg *seg, int mode, int64_t ref, int64_t rcv)
{
    time_t cs, rs;
    int cu, ru;
    unsigned cn, rn;

    split(ref, &cs, &cu, &cn);
    split(rcv, &rs, &ru, &rn);
    seg->valid = 0;
    seg->count++;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    seg->mode = mode;
    seg->clock_sec = cs;
    seg->clock_usec = cu;
    seg->clock_nsec = cn;
    seg->receive_sec = rs;
    seg->receive_usec = ru;
    seg->receive_nsec = rn;
    seg->leap = 0;
    seg->precision = -20;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    seg->count++;
    seg->valid = 1;
}

static int sock_send(int fd, const struct sockaddr_un *to, int64_t ref, int64_t rcv, bool bad)
{
    struct refclock_sock_msg m;

    memset(&m, 0, sizeof(m));
    m.tv.tv_sec = (time_t)(rcv / NS_PER_S);
    m.tv.tv_usec = (suseconds_t)((rcv % NS_PER_S) / 1000);
    /* the offset from the timeval as sent (µs), not from rcv */
    int64_t tv_ns = (int64_t)m.tv.tv_sec * NS_PER_S + (int64_t)m.tv.tv_usec * 1000;
    m.offset = (double)(ref - tv_ns) / 1e9;
    m.magic = bad ? 0x12345678 : REFCLOCK_SOCK_MAGIC;
    return sendto(fd, &m, sizeof(m), 0, (const struct sockaddr *)to, sizeof(*to)) ==
                   (ssize_t)sizeof(m) ? 0 : -1;
}

static int usage(void)
{
    fprintf(stderr, "usage: refclockw shm UNIT | sock PATH [-n COUNT] [-i MS] [-o S] [-j S] "
                    "[-s SEED] [-f STATE] [-m 0|1] [-R] [-b]\n");
    return 1;
}

static int parse(int argc, char **argv, struct opts *o)
{
    int c;

    *o = (struct opts){ .count = 60, .interval_ms = 1000, .seed = 1, .mode = 1 };
    if (argc < 3)
        return -1;
    o->shm = !strcmp(argv[1], "shm");
    if (!o->shm && strcmp(argv[1], "sock"))
        return -1;
    if (o->shm)
        o->unit = atoi(argv[2]);
    else
        o->path = argv[2];
    optind = 3;
    while ((c = getopt(argc, argv, "n:i:o:j:s:f:m:Rb")) != -1) {
        switch (c) {
        case 'n': o->count = atol(optarg); break;
        case 'i': o->interval_ms = atol(optarg); break;
        case 'o': o->bias = atof(optarg); break;
        case 'j': o->noise = atof(optarg); break;
        case 's': o->seed = strtoull(optarg, NULL, 0) | 1; break;
        case 'f': o->fake_state = optarg; break;
        case 'm': o->mode = atoi(optarg); break;
        case 'R': o->remove = true; break;
        case 'b': o->bad_first = true; break;
        default: return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct opts o;
    volatile struct refclock_shm_seg *seg = NULL;
    struct sockaddr_un to = { .sun_family = AF_UNIX };
    int id = -1, fd = -1;
    long wrote = 0;

    if (parse(argc, argv, &o) < 0)
        return usage();
    if (o.shm) {
        id = shmget((key_t)(REFCLOCK_SHM_KEY + o.unit), sizeof(*seg),
                    IPC_CREAT | (o.unit < 2 ? 0600 : 0666));
        if (id < 0 || (seg = shmat(id, NULL, 0)) == (void *)-1) {
            fprintf(stderr, "refclockw: SHM unit %d: %s\n", o.unit, strerror(errno));
            return 1;
        }
    } else {
        snprintf(to.sun_path, sizeof(to.sun_path), "%s", o.path);
        fd = socket(AF_UNIX, SOCK_DGRAM, 0);
        if (fd < 0)
            return perror("socket"), 1;
        if (o.bad_first)
            sock_send(fd, &to, 0, 0, true);
    }
    for (long k = 0; k < o.count; k++) {
        int64_t real = read_ns(CLOCK_REALTIME);
        int64_t local = real + fake_offset_ns(o.fake_state, real);
        int64_t ref = real + (int64_t)llround((o.bias + o.noise * gauss(&o.seed)) * 1e9);

        if (o.shm)
            shm_write(seg, o.mode, ref, local);
        else if (sock_send(fd, &to, ref, local, false) < 0 && errno != ENOENT &&
                 errno != ECONNREFUSED)
            fprintf(stderr, "refclockw: sendto %s: %s\n", o.path, strerror(errno));
        wrote++;
        if (k + 1 < o.count)
            usleep((useconds_t)(o.interval_ms * 1000));
    }
    if (o.shm) {
        shmdt((const void *)seg);
        if (o.remove)
            shmctl(id, IPC_RMID, NULL);
    }
    printf("wrote %ld\n", wrote);
    return 0;
}

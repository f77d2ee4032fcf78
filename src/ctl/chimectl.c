/* chimectl: ask a running chimed what it sees.
 *
 * One connection per command: send "sources" or "tracking" (plus " json"),
 * read the reply to EOF, print it. The whole exchange shares one 5 s
 * deadline enforced with poll(2), so a wedged daemon cannot hang a script.
 * Exit: 0 ok, 1 no answer / daemon error, 2 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "monitor/control.h"
#include "sys/net.h"

#define EXCHANGE_TIMEOUT_MS 5000

struct exchange {
    const char *path;
    int fd;
    struct timespec deadline;
    char *reply;
    size_t len;
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: chimectl [-s SOCKET] [-j] COMMAND\n"
            "       chimectl -h | --help | -V | --version\n"
            "\n"
            "  sources          the time sources, like ntpq -p\n"
            "  sourcestats      samples and frequency estimate per source\n"
            "  tracking         the system clock's state, like chronyc tracking\n"
            "  serverstats      requests, replies and drops by reason\n"
            "  activity         how many sources are online, offline, unresolved\n"
            "  clients          the rate limiter's table, busiest first\n"
            "  metrics          Prometheus text format (JSON with -j)\n"
            "  makestep         step the clock now by the current offset\n"
            "  offline          stop polling every source\n"
            "  online           resume polling\n"
            "  reload           re-read chimed's configuration file (exit 1 and\n"
            "                   the error if it has one; the old one stays)\n"
            "  waitsync [TIMEOUT]  wait until synchronised: exit 0, or 1 after\n"
            "                   TIMEOUT seconds (default 60; 0 = check once)\n"
            "  -s, --socket P   control socket (default %s)\n"
            "  -j, --json       JSON instead of a table\n"
            "  -h, --help       this text\n"
            "  -V, --version    print the version\n",
            CTL_DEFAULT_SOCKET);
}

/* Milliseconds left until the deadline, 0 once it has passed. */
static int ms_left(const struct exchange *x)
{
    struct timespec now;
    long long ms;

    clock_gettime(CLOCK_MONOTONIC, &now);
    ms = (x->deadline.tv_sec - now.tv_sec) * 1000LL +
         (x->deadline.tv_nsec - now.tv_nsec) / 1000000;
    return ms > 0 ? (int)ms : 0;
}

/* Wait for `events` on the socket; 0 ready, -1 timed out (errno ETIMEDOUT). */
static int wait_fd(struct exchange *x, short events)
{
    struct pollfd p = { .fd = x->fd, .events = events };

    for (;;) {
        int left = ms_left(x), n;

        if (left == 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        n = poll(&p, 1, left);
        if (n > 0)
            return 0;
        if (n < 0 && errno != EINTR)
            return -1;
    }
}

static int do_connect(struct exchange *x)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    size_t n = strlen(x->path);

    if (n == 0 || n >= sizeof(sa.sun_path)) {
        errno = n == 0 ? EINVAL : ENAMETOOLONG;
        return -1;
    }
    memcpy(sa.sun_path, x->path, n + 1);
    x->fd = net_socket(AF_UNIX, SOCK_STREAM, 0, true);
    if (x->fd < 0)
        return -1;
    /* A Unix connect either completes at once or reports EAGAIN when the
     * daemon's backlog is full: then retry until the deadline. */
    while (connect(x->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        struct timespec pause = { 0, 50 * 1000000L };

        if (errno == EINTR)
            continue;
        if (errno != EAGAIN)
            return -1;
        if (ms_left(x) == 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        nanosleep(&pause, NULL);
    }
    return 0;
}

static int send_request(struct exchange *x, const char *req)
{
    size_t len = strlen(req), off = 0;

    while (off < len) {
        ssize_t n = send(x->fd, req + off, len - off, MSG_NOSIGNAL);

        if (n > 0) {
            off += (size_t)n;
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR)
            return -1;
        if (wait_fd(x, POLLOUT) < 0)
            return -1;
    }
    return 0;
}

/* Read to EOF into x->reply (at most CTL_MAX_REPLY bytes, the most a
 * daemon sends). */
static int read_reply(struct exchange *x)
{
    for (;;) {
        ssize_t n;

        if (x->len == CTL_MAX_REPLY)
            return 0;           /* a daemon never sends more: stop here */
        n = recv(x->fd, x->reply + x->len, CTL_MAX_REPLY - x->len, 0);
        if (n > 0) {
            x->len += (size_t)n;
            continue;
        }
        if (n == 0)
            return 0;
        if (errno != EAGAIN && errno != EINTR)
            return -1;
        if (wait_fd(x, POLLIN) < 0)
            return -1;
    }
}

static int print_reply(const struct exchange *x)
{
    static const char err[] = "error: ";

    if (x->len == 0) {
        fprintf(stderr, "chimectl: empty reply from %s (chimed busy?)\n", x->path);
        return 1;
    }
    if (x->len >= sizeof(err) - 1 && memcmp(x->reply, err, sizeof(err) - 1) == 0) {
        fprintf(stderr, "chimectl: %.*s", (int)x->len, x->reply);
        if (x->reply[x->len - 1] != '\n')
            fputc('\n', stderr);
        return 1;
    }
    if (fwrite(x->reply, 1, x->len, stdout) != x->len || fflush(stdout) != 0) {
        fprintf(stderr, "chimectl: cannot write the reply: %s\n", strerror(errno));
        return 1;
    }
    return 0;
}

static int run(const char *path, const char *req)
{
    struct exchange x = { .path = path, .fd = -1 };
    int rc;

    clock_gettime(CLOCK_MONOTONIC, &x.deadline);
    x.deadline.tv_sec += EXCHANGE_TIMEOUT_MS / 1000;
    if (do_connect(&x) < 0) {
        int err = errno;

        fprintf(stderr, "chimectl: cannot connect to %s: %s (%s)\n", path, strerror(err),
                err == EACCES || err == EPERM
                    ? "run it as root, or as a member of the socket's group: "
                      "controlgroup in chime.conf(5)"
                    : "is chimed running?");
        if (x.fd >= 0)
            close(x.fd);
        return 1;
    }
    x.reply = malloc(CTL_MAX_REPLY);
    if (x.reply == NULL) {
        fprintf(stderr, "chimectl: out of memory\n");
        close(x.fd);
        return 1;
    }
    if (send_request(&x, req) < 0 || read_reply(&x) < 0) {
        fprintf(stderr, "chimectl: no reply from %s: %s\n", path,
                errno == ETIMEDOUT ? "timed out" : strerror(errno));
        rc = 1;
    } else {
        rc = print_reply(&x);
    }
    free(x.reply);
    close(x.fd);
    return rc;
}

static bool known_command(const char *cmd)
{
    for (int r = 0; r < CTL_REQ__COUNT; r++)
        if (strcmp(cmd, ctl_request_name(r)) == 0)
            return true;
    return false;
}

/* Ask for "tracking json" once; 1 synchronised, 0 not, -1 no answer. The
 * reply is chimed's own JSON: look for the one boolean we need. */
static int synced_once(const char *path)
{
    struct exchange x = { .path = path, .fd = -1 };
    int rc = -1;

    clock_gettime(CLOCK_MONOTONIC, &x.deadline);
    x.deadline.tv_sec += EXCHANGE_TIMEOUT_MS / 1000;
    x.reply = malloc(CTL_MAX_REPLY + 1);
    if (x.reply == NULL)
        return -1;
    if (do_connect(&x) == 0 && send_request(&x, "tracking json\n") == 0 &&
        read_reply(&x) == 0 && x.len > 0) {
        x.reply[x.len] = '\0';
        if (strstr(x.reply, "\"synchronised\":true") != NULL)
            rc = 1;
        else if (strstr(x.reply, "\"synchronised\":false") != NULL)
            rc = 0;
    }
    if (x.fd >= 0)
        close(x.fd);
    free(x.reply);
    return rc;
}

/* Like chronyc waitsync: poll once a second until synchronised (exit 0)
 * or TIMEOUT seconds have passed (exit 1). */
static int waitsync(const char *path, const char *arg, bool json)
{
    struct timespec start, now;
    double timeout = 60, waited;
    char *end;
    int tries = 0, st;

    if (arg != NULL) {
        timeout = strtod(arg, &end);
        if (end == arg || *end != '\0' || !(timeout >= 0) || timeout > 1e7) {
            fprintf(stderr, "chimectl: waitsync: bad timeout '%s'\n", arg);
            return 2;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        tries++;
        st = synced_once(path);
        clock_gettime(CLOCK_MONOTONIC, &now);
        waited = (double)(now.tv_sec - start.tv_sec) +
                 (double)(now.tv_nsec - start.tv_nsec) / 1e9;
        if (st == 1 || waited >= timeout) {
            if (json)
                printf("{\"synchronised\":%s,\"tries\":%d,\"waited_s\":%.1f}\n",
                       st == 1 ? "true" : "false", tries, waited);
            else
                printf("%s after %d tries (%.1f s)\n",
                       st == 1 ? "synchronised" : st == 0 ? "not synchronised" :
                       "no answer from chimed", tries, waited);
            return st == 1 ? 0 : 1;
        }
        {
            double left = timeout - waited;
            struct timespec pause = { 1, 0 };

            if (left < 1) {
                pause.tv_sec = 0;
                pause.tv_nsec = (long)(left * 1e9);
            }
            nanosleep(&pause, NULL);
        }
    }
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "socket", required_argument, NULL, 's' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    const char *path = CTL_DEFAULT_SOCKET, *cmd;
    char req[64];
    bool json = false;
    int c;

    while ((c = getopt_long(argc, argv, "s:jhV", longopts, NULL)) != -1) {
        switch (c) {
        case 's': path = optarg; break;
        case 'j': json = true; break;
        case 'h': usage(stdout); return 0;
        case 'V': printf("chimectl %s\n", CHIME_VERSION); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (argc - optind < 1) {
        fprintf(stderr, "chimectl: missing command\n");
        usage(stderr);
        return 2;
    }
    cmd = argv[optind];
    if (strcmp(cmd, "waitsync") == 0)
        return waitsync(path, argc - optind > 1 ? argv[optind + 1] : NULL, json);
    if (argc - optind != 1) {
        fprintf(stderr, "chimectl: one command at a time\n");
        usage(stderr);
        return 2;
    }
    if (!known_command(cmd)) {
        fprintf(stderr, "chimectl: unknown command '%s'\n", cmd);
        usage(stderr);
        return 2;
    }
    snprintf(req, sizeof(req), "%s%s\n", cmd, json ? " json" : "");
    return run(path, req);
}

/* sys/notify: see notify.h. */
#include "sys/notify.h"
#include "sys/net.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int notify_send(const char *state)
{
    const char *path = getenv("NOTIFY_SOCKET");
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    size_t len, n = strlen(state);
    ssize_t sent;
    int fd, saved;

    if (path == NULL || path[0] == '\0')
        return 0;
    len = strlen(path);
    if ((path[0] != '/' && path[0] != '@') || len < 2 || len >= sizeof(sa.sun_path)) {
        errno = EINVAL;
        return -1;
    }
    memcpy(sa.sun_path, path, len);
    if (sa.sun_path[0] == '@')
        sa.sun_path[0] = '\0';     /* abstract: the length, not a NUL, ends it */
    else
        len++;                      /* a path: count its terminating NUL */
    fd = net_socket(AF_UNIX, SOCK_DGRAM, 0, false);
    if (fd < 0)
        return -1;
    sent = sendto(fd, state, n, MSG_NOSIGNAL, (const struct sockaddr *)&sa,
                  (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len));
    saved = errno;
    close(fd);
    errno = saved;
    return sent == (ssize_t)n ? 1 : -1;
}

/* sys/statefile: see statefile.h.
 *
 * chimed runs as root and its state directory may be writable by someone
 * else (a careless /var/lib/chime, a pidfile in /tmp): a fixed temporary
 * name there, opened without O_EXCL, would let a planted symlink make us
 * overwrite any file. So the temporary is created exclusively under a
 * random name, and final names are never opened through a symlink. */
#include "sys/statefile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

static int write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, p, len);

        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

static int tmp_mode(const char *path, char *tmp, size_t cap, unsigned mode)
{
    const char *slash = strrchr(path, '/');
    int dirlen = slash ? (int)(slash - path) + 1 : 0;
    const char *base = slash ? slash + 1 : path;

    /* Like mkstemp, but with the mode of an ordinary state file (0644
     * less the umask) and without fchmod, which the sandbox does not
     * allow: O_EXCL refuses anything already there, symlinks included. */
    for (int tries = 0; tries < 16; tries++) {
        uint64_t r = 0;
        int n, fd;

        if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
            return -1;
        n = snprintf(tmp, cap, "%.*s.%s.%016llx", dirlen, path, base, (unsigned long long)r);
        if (n < 0 || (size_t)n >= cap) {
            errno = ENAMETOOLONG;
            return -1;
        }
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY,
                  (mode_t)mode);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    errno = EEXIST;
    return -1;
}

int statefile_tmp(const char *path, char *tmp, size_t cap)
{
    return tmp_mode(path, tmp, cap, 0644);
}

int statefile_write(const char *path, const char *content)
{
    return statefile_write_mode(path, content, 0644);
}

int statefile_write_mode(const char *path, const char *content, unsigned mode)
{
    char tmp[4096];
    int fd = tmp_mode(path, tmp, sizeof(tmp), mode), saved;

    if (fd < 0)
        return -1;
    if (write_all(fd, content, strlen(content)) < 0 || fsync(fd) < 0)
        goto fail;
    if (close(fd) < 0) {
        fd = -1;
        goto fail;
    }
    /* rename() replaces a symlink at path, never what it points to */
    if (rename(tmp, path) < 0) {
        fd = -1;
        goto fail;
    }
    return 0;
fail:
    saved = errno;
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    errno = saved;
    return -1;
}

int statefile_read(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
    size_t got = 0;

    if (fd < 0)
        return -1;
    while (got + 1 < cap) {
        ssize_t r = read(fd, buf + got, cap - 1 - got);

        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    buf[got] = '\0';
    return (int)got;
}

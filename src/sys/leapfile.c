/* sys/leapfile: see leapfile.h. */
#include "sys/leapfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nettle/sha1.h>

/* Nettle, not OpenSSL's EVP: the shipped config's leapfile check was the
 * only OpenSSL call it makes, and OpenSSL 3's first digest initialises its
 * provider machinery, leaving about 2.1 MB resident for good (measured,
 * issue 16). Nettle's SHA-1 is a plain function over a caller's context. */
int leapfile_sha1(const void *data, size_t len, uint8_t out[LEAP_SHA1_LEN])
{
    struct sha1_ctx ctx;

    _Static_assert(LEAP_SHA1_LEN == SHA1_DIGEST_SIZE, "the leap hash is SHA-1");
    sha1_init(&ctx);
    sha1_update(&ctx, len, data);
    sha1_digest(&ctx, SHA1_DIGEST_SIZE, out);
    return 0;
}

int64_t leapfile_mtime(const char *path)
{
    struct stat st;

    if (stat(path, &st) < 0)
        return -1;
    return (int64_t)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
}

int leapfile_load(const char *path, struct leap_table *t, int *line, int64_t *mtime)
{
    struct stat st;
    char *buf;
    size_t got = 0;
    int fd, r;

    if (line)
        *line = 0;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    if (fstat(fd, &st) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    buf = malloc(LEAPFILE_MAX_BYTES);
    if (!buf)
        abort();
    for (;;) {
        ssize_t n = read(fd, buf + got, LEAPFILE_MAX_BYTES - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            free(buf);
            close(fd);
            errno = e;
            return -1;
        }
        if (n == 0)
            break;
        got += (size_t)n;
        if (got == LEAPFILE_MAX_BYTES) {
            free(buf);
            close(fd);
            errno = EFBIG;
            return -1;
        }
    }
    close(fd);
    r = (int)leap_file_parse(buf, got, leapfile_sha1, t, line);
    free(buf);
    if (mtime)
        *mtime = (int64_t)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
    return r;
}

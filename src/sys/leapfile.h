/* sys/leapfile: the shell side of core/leap: SHA-1 through Nettle for the
 * hash check, and reading a leap-seconds.list from disk.
 *
 * This is the crypto seam of core/leap: core takes a leap_sha1_fn and
 * links no library; leapfile_sha1() is the implementation chimed, the
 * tools and the unit tests pass in. */
#ifndef CHIME_SYS_LEAPFILE_H
#define CHIME_SYS_LEAPFILE_H

#include <stdint.h>
#include <sys/types.h>

#include "core/leap.h"

/* Largest leap-seconds.list read (the real one is ~5 KiB). */
#define LEAPFILE_MAX_BYTES (256 * 1024)

int leapfile_sha1(const void *data, size_t len, uint8_t out[LEAP_SHA1_LEN]);

/* Read and verify `path`. Returns LEAPF_OK, or a parse result; -1 when the
 * file cannot be read (errno set). *line as leap_file_parse. On success
 * *mtime (if not NULL) is the file's modification time (for reload checks). */
int leapfile_load(const char *path, struct leap_table *t, int *line, int64_t *mtime);

/* The modification time of path (ns), or -1. */
int64_t leapfile_mtime(const char *path);

#endif

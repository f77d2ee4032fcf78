/* sys/statefile: small state files (driftfile, pidfile) written
 * atomically: write a temporary beside the target, fsync, rename. A crash
 * leaves either the old or the new content, never half of one. */
#ifndef CHIME_SYS_STATEFILE_H
#define CHIME_SYS_STATEFILE_H

#include <stddef.h>

int statefile_write(const char *path, const char *content);
/* Reads at most cap-1 bytes, NUL-terminates. Returns length or -1/errno. */
int statefile_read(const char *path, char *buf, size_t cap);

#endif

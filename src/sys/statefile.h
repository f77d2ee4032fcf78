/* sys/statefile: small state files (driftfile, pidfile) written
 * atomically: write a temporary beside the target, fsync, rename. A crash
 * leaves either the old or the new content, never half of one. The
 * temporary is created exclusively (a planted symlink cannot redirect the
 * write) and nothing is opened through a symlink. */
#ifndef CHIME_SYS_STATEFILE_H
#define CHIME_SYS_STATEFILE_H

#include <stddef.h>

int statefile_write(const char *path, const char *content);
/* The same, the file created with mode (0600 for secrets: the mode is set
 * at creation, so the content is never readable by others, even briefly). */
int statefile_write_mode(const char *path, const char *content, unsigned mode);
/* A new, empty temporary beside path (".NAME.<random>" in path's
 * directory, created exclusively, mode 0644 less the umask), for a caller that renames it over path
 * itself. Its name goes into tmp; returns the fd or -1/errno. */
int statefile_tmp(const char *path, char *tmp, size_t cap);
/* Reads at most cap-1 bytes, NUL-terminates. Returns length or -1/errno. */
int statefile_read(const char *path, char *buf, size_t cap);

#endif

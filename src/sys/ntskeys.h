/* sys/ntskeys: the NTS server's cookie keys on disk, DIR/ntskeys.
 *
 * One writer (the chimed that rotates) and any number of readers (a
 * fleet's NTP servers, "nts readonly") share the directory. The file is
 * text, one key a line: retired keys oldest first, the current (sealing)
 * one, then the next (which readers can open before the writer seals
 * with it):
 *
 *   chime-ntskeys 1
 *   <id, 8 hex> <current from, Unix seconds> <o|c|n> <key, 64 hex>
 *
 * It is written whole to a temporary beside it (created exclusively, mode
 * 0600) and renamed over the old one, so a reader sees the old set or the
 * new, never half; the final name is never opened through a symlink. A
 * reader notices a new set by the file's identity (inode, size, mtime)
 * changing, with one stat. */
#ifndef CHIME_SYS_NTSKEYS_H
#define CHIME_SYS_NTSKEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/nts_server.h"

#define NTSKEYS_FILE "ntskeys"

struct ntskeys_stamp {
    uint64_t ino, size;
    int64_t mtime_ns;
    bool exists;
};

/* The path of the key file in dir; -1 when it does not fit. */
int ntskeys_path(const char *dir, char *out, size_t cap);
/* The file's identity now (exists false when it is missing). */
void ntskeys_stamp(const char *dir, struct ntskeys_stamp *st);
bool ntskeys_stamp_same(const struct ntskeys_stamp *a, const struct ntskeys_stamp *b);

/* Read the set into ks (replaced only on success). 1 keys read, 0 no
 * file, -1 unreadable or malformed: why (naming the file and line) in
 * err. *loose: the file is readable by group or others. */
int ntskeys_read(const char *dir, struct nts_server_keys *ks, bool *loose, char *err,
                 size_t errlen);
/* Write the set atomically (mode 0600). 0, or -1 with why in err. */
int ntskeys_write(const char *dir, const struct nts_server_keys *ks, char *err, size_t errlen);

/* A new random key, current from created on, pushed into ks as the
 * current key or (as_next) the next one. 0 or -1. */
int ntskeys_new(struct nts_server_keys *ks, int64_t created, bool as_next);

#endif

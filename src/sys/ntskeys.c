/* sys/ntskeys: see ntskeys.h. */
#include "sys/ntskeys.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sys/statefile.h"

#define HEADER "chime-ntskeys 1\n"
/* header + 5 lines of 8 + 1 + 20 + 3 + 64 + 1 */
#define FILE_MAX 1024

int ntskeys_path(const char *dir, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s/%s", dir, NTSKEYS_FILE);

    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

void ntskeys_stamp(const char *dir, struct ntskeys_stamp *st)
{
    char path[4096];
    struct stat sb;

    memset(st, 0, sizeof(*st));
    if (ntskeys_path(dir, path, sizeof(path)) < 0 || lstat(path, &sb) < 0)
        return;
    st->exists = true;
    st->ino = (uint64_t)sb.st_ino;
    st->size = (uint64_t)sb.st_size;
    st->mtime_ns = (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec;
}

bool ntskeys_stamp_same(const struct ntskeys_stamp *a, const struct ntskeys_stamp *b)
{
    return a->exists == b->exists && a->ino == b->ino && a->size == b->size &&
           a->mtime_ns == b->mtime_ns;
}

static int unhex(const char *s, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v;

        if (sscanf(s + 2 * i, "%2x", &v) != 1)
            return -1;
        out[i] = (uint8_t)v;
    }
    return 0;
}

static bool all_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
              (s[i] >= 'A' && s[i] <= 'F')))
            return false;
    return true;
}

/* One key line: "<id> <created> <role> <key>"; 0 or -1. */
static int parse_line(const char *line, struct nts_server_key *key, char *role)
{
    char idh[9], kh[65], r[2];
    long long c;
    int used = 0;

    if (sscanf(line, "%8s %lld %1s %64s%n", idh, &c, r, kh, &used) != 4 ||
        line[used] != '\0' || strlen(idh) != 8 || strlen(kh) != 64 || !all_hex(idh, 8) ||
        !all_hex(kh, 64) || c < 0 || !strchr("ocn", r[0]))
        return -1;
    key->id = (uint32_t)strtoul(idh, NULL, 16);
    key->created = c;
    key->valid = true;
    *role = r[0];
    return unhex(kh, key->k, 32);
}

int ntskeys_read(const char *dir, struct nts_server_keys *ks, bool *loose, char *err,
                 size_t errlen)
{
    char path[4096], buf[FILE_MAX + 1], *line, *save = NULL;
    struct nts_server_keys got = { 0 };
    struct stat sb;
    int fd, n, lineno = 1;

    *loose = false;
    if (ntskeys_path(dir, path, sizeof(path)) < 0) {
        snprintf(err, errlen, "%.200s: name too long", dir);
        return -1;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        snprintf(err, errlen, "%.300s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &sb) == 0)
        *loose = (sb.st_mode & 077) != 0;
    close(fd);
    n = statefile_read(path, buf, sizeof(buf));
    if (n < 0) {
        snprintf(err, errlen, "%.300s: %s", path, strerror(errno));
        return -1;
    }
    if (n >= FILE_MAX || strncmp(buf, HEADER, strlen(HEADER)) != 0) {
        snprintf(err, errlen, "%.300s:1: not a chime NTS key file (\"%.*s\" expected)", path,
                 (int)strlen(HEADER) - 1, HEADER);
        return -1;
    }
    got.current = -1;
    for (line = strtok_r(buf + strlen(HEADER), "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        int i = lineno - 1;
        char role;

        lineno++;
        if (i >= NTS_SERVER_MAX_KEYS || parse_line(line, &got.key[i], &role) < 0 ||
            (role == 'c' && got.current >= 0) || (role == 'n' && got.has_next)) {
            snprintf(err, errlen, "%.300s:%d: %s", path, lineno, i >= NTS_SERVER_MAX_KEYS
                     ? "too many keys" : "malformed key line (ID SINCE o|c|n KEY expected, "
                     "one c, at most one n)");
            explicit_bzero(buf, sizeof(buf));
            explicit_bzero(&got, sizeof(got));
            return -1;
        }
        if (role == 'c')
            got.current = i;
        if (role == 'n') {
            got.next = i;
            got.has_next = true;
        }
    }
    if (got.current < 0) {
        got.current = 0;
        got.key[0].valid = false;       /* no current key: refused below */
    }
    explicit_bzero(buf, sizeof(buf));
    if (!nts_server_current(&got)) {
        snprintf(err, errlen, "%.300s: no current key (a line with role c)", path);
        return -1;
    }
    *ks = got;
    explicit_bzero(&got, sizeof(got));
    return 1;
}

int ntskeys_write(const char *dir, const struct nts_server_keys *ks, char *err, size_t errlen)
{
    char path[4096], buf[FILE_MAX];
    int order[NTS_SERVER_MAX_KEYS], n = nts_server_order(ks, order), rc;
    size_t off = 0;

    if (ntskeys_path(dir, path, sizeof(path)) < 0) {
        snprintf(err, errlen, "%.200s: name too long", dir);
        return -1;
    }
    off = (size_t)snprintf(buf, sizeof(buf), "%s", HEADER);
    for (int i = 0; i < n; i++) {
        const struct nts_server_key *k = &ks->key[order[i]];
        char role = order[i] == ks->current ? 'c'
                    : ks->has_next && order[i] == ks->next ? 'n' : 'o';
        int w = snprintf(buf + off, sizeof(buf) - off, "%08" PRIx32 " %" PRId64 " %c ", k->id,
                         k->created, role);

        if (w < 0 || (size_t)w + 66 > sizeof(buf) - off)
            return -1;
        off += (size_t)w;
        for (int j = 0; j < 32; j++)
            off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%02x", k->k[j]);
        buf[off++] = '\n';
        buf[off] = '\0';
    }
    rc = statefile_write_mode(path, buf, 0600);
    explicit_bzero(buf, sizeof(buf));
    if (rc < 0) {
        snprintf(err, errlen, "%.300s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

int ntskeys_new(struct nts_server_keys *ks, int64_t created, bool as_next)
{
    uint8_t k[NTS_AEAD_KEY_LEN];
    uint32_t id;

    if (getrandom(k, sizeof(k), 0) != (ssize_t)sizeof(k) ||
        getrandom(&id, sizeof(id), 0) != (ssize_t)sizeof(id))
        return -1;
    /* an id already held would make two keys answer for one cookie */
    for (int i = 0; i < NTS_SERVER_MAX_KEYS; i++)
        if (ks->key[i].valid && ks->key[i].id == id)
            id++;
    if (as_next)
        nts_server_add_next(ks, id, k, created);
    else
        nts_server_rotate(ks, id, k, created);
    explicit_bzero(k, sizeof(k));
    return 0;
}

/* conf/keys: see keys.h. */
#include "conf/keys.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define WORD_MAX 80

struct kp {
    const char *name;
    int line;
    char *err;
    size_t errlen;
};

static int fail(struct kp *p, const char *msg, const char *word)
{
    if (p->err && p->errlen)
        snprintf(p->err, p->errlen, "%s:%d: %s '%s'", p->name, p->line, msg, word);
    return -1;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Split line[0..n) into at most 4 words (the 4th only to detect junk),
 * stopping at '#'. Words are copied, truncated to WORD_MAX-1 (with their
 * real length kept in wlen). */
static int split(const char *s, size_t n, char w[4][WORD_MAX], size_t wlen[4])
{
    int k = 0;
    size_t i = 0;

    while (i < n && k < 4) {
        while (i < n && is_blank(s[i]))
            i++;
        if (i == n || s[i] == '#')
            break;
        size_t st = i;
        while (i < n && !is_blank(s[i]) && s[i] != '#')
            i++;
        wlen[k] = i - st;
        size_t c = wlen[k] < WORD_MAX - 1 ? wlen[k] : WORD_MAX - 1;
        memcpy(w[k], s + st, c);
        w[k][c] = '\0';
        k++;
    }
    return k;
}

static int parse_type(const char *w, enum auth_alg *alg)
{
    if (strcasecmp(w, "MD5") == 0 || strcasecmp(w, "M") == 0)
        *alg = AUTH_MD5;
    else if (strcasecmp(w, "SHA1") == 0 || strcasecmp(w, "SHA-1") == 0)
        *alg = AUTH_SHA1;
    else if (strcasecmp(w, "AES128CMAC") == 0 || strcasecmp(w, "AES-128-CMAC") == 0 ||
             strcasecmp(w, "CMAC") == 0)
        *alg = AUTH_CMAC;
    else
        return -1;
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int parse_key(struct kp *p, const char *w, size_t n, struct auth_key *k)
{
    if (n <= 20) {
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)w[i];

            if (c <= 0x20 || c >= 0x7f)
                return fail(p, "key has a non-printable character", w);
        }
        memcpy(k->key, w, n);
        k->key_len = n;
    } else {
        if (n % 2 != 0 || n > 2 * AUTH_MAX_KEY)
            return fail(p, "hex key must have an even number of digits, at most 64", w);
        for (size_t i = 0; i < n; i += 2) {
            int hi = hexval(w[i]), lo = hexval(w[i + 1]);

            if (hi < 0 || lo < 0)
                return fail(p, "key longer than 20 characters is not hex", w);
            k->key[i / 2] = (uint8_t)(hi << 4 | lo);
        }
        k->key_len = n / 2;
    }
    if (k->alg == AUTH_CMAC && k->key_len != 16)
        return fail(p, "AES128CMAC needs a 16-octet key (16 characters or 32 hex digits)", w);
    return 0;
}

static int cmp_id(const void *a, const void *b)
{
    uint32_t x = ((const struct auth_key *)a)->id, y = ((const struct auth_key *)b)->id;

    return x < y ? -1 : x > y;
}

void keys_free(struct auth_keytab *t)
{
    if (t == NULL)
        return;
    if (t->keys) {
        volatile uint8_t *v = (volatile uint8_t *)t->keys;

        for (size_t i = 0; i < t->n * sizeof(*t->keys); i++)
            v[i] = 0;
        free(t->keys);
    }
    t->keys = NULL;
    t->n = 0;
}

static int parse_line(struct kp *p, const char *s, size_t n, struct auth_keytab *t)
{
    char w[4][WORD_MAX];
    size_t wl[4];
    int k = split(s, n, w, wl);
    struct auth_key key;
    char *end;
    unsigned long id;

    if (k == 0)
        return 0;
    if (k < 3)
        return fail(p, k == 1 ? "missing key type after" : "missing key after", w[k - 1]);
    if (k > 3)
        return fail(p, "unexpected", w[3]);
    memset(&key, 0, sizeof(key));
    errno = 0;
    id = strtoul(w[0], &end, 10);
    if (w[0][0] < '0' || w[0][0] > '9' || *end || errno || wl[0] >= WORD_MAX - 1 ||
        id < 1 || id > AUTH_KEYID_MAX)
        return fail(p, "key id must be 1..65535, not", w[0]);
    key.id = (uint32_t)id;
    if (parse_type(w[1], &key.alg) < 0)
        return fail(p, "unknown key type (MD5, SHA1, AES128CMAC)", w[1]);
    if (wl[2] >= WORD_MAX - 1)
        return fail(p, "key too long", w[2]);
    if (parse_key(p, w[2], wl[2], &key) < 0)
        return -1;
    if (t->n >= KEYS_MAX)
        return fail(p, "too many keys, at", w[0]);
    for (size_t i = 0; i < t->n; i++)
        if (t->keys[i].id == key.id)
            return fail(p, "duplicate key id", w[0]);
    t->keys[t->n++] = key;
    memset(&key, 0, sizeof(key));
    return 0;
}

int keys_parse(const char *name, const char *buf, size_t len, struct auth_keytab *out,
               char *err, size_t errlen)
{
    struct kp p = { name ? name : "keys", 0, err, errlen };
    struct auth_keytab t = { 0 };
    size_t i = 0;

    out->keys = NULL;
    out->n = 0;
    if (len > KEYS_MAX_FILE) {
        p.line = 1;
        fail(&p, "file too large", "");
        return -1;
    }
    t.keys = calloc(KEYS_MAX, sizeof(*t.keys));
    if (t.keys == NULL) {
        fail(&p, "out of memory", "");
        return -1;
    }
    while (i < len) {
        size_t st = i;

        while (i < len && buf[i] != '\n')
            i++;
        p.line++;
        if (memchr(buf + st, '\0', i - st)) {
            fail(&p, "NUL character in line", "");
            keys_free(&t);
            return -1;
        }
        if (parse_line(&p, buf + st, i - st, &t) < 0) {
            keys_free(&t);
            return -1;
        }
        i++;
    }
    qsort(t.keys, t.n, sizeof(*t.keys), cmp_id);
    *out = t;
    return 0;
}

int keys_load(const char *path, struct auth_keytab *out, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    size_t n;
    int rc;

    out->keys = NULL;
    out->n = 0;
    if (f == NULL) {
        int saved = errno;

        snprintf(err, errlen, "%s: %s", path, strerror(saved));
        errno = saved;
        return -1;
    }
    buf = malloc(KEYS_MAX_FILE + 1);
    if (buf == NULL) {
        fclose(f);
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    n = fread(buf, 1, KEYS_MAX_FILE + 1, f);
    if (ferror(f)) {
        snprintf(err, errlen, "%s: read error", path);
        rc = -1;
    } else {
        rc = keys_parse(path, buf, n, out, err, errlen);
    }
    fclose(f);
    explicit_bzero(buf, n);
    free(buf);
    if (rc < 0)
        errno = EINVAL;
    return rc;
}

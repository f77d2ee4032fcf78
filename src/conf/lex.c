/* conf/lex: arena, error formatting and the line lexer for ntp.conf.
 *
 * The ntp.conf language is line oriented: a directive and its arguments
 * fill one line, '#' starts a comment anywhere outside quotes, and paths
 * may be written in double quotes (no escapes: ntpd has none either).
 * '(' and ')' are tokens of their own, as in ntpd, so that the key range
 * form "trustedkey (1 ... 5)" lexes the same with or without spaces next
 * to the parentheses.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf_int.h"

/* ---- arena ------------------------------------------------------------- */

/* A list of blocks; big requests get a block of their own. Nothing is ever
 * freed individually: the config is immutable once loaded. */
struct arena_blk {
    struct arena_blk *next;
    size_t used, cap;
    max_align_t data[];
};

struct conf_arena {
    struct arena_blk *head;
};

enum { ARENA_BLOCK = 8192 };

struct conf_arena *conf_arena_new(void)
{
    return calloc(1, sizeof(struct conf_arena));
}

static size_t align_up(size_t n)
{
    size_t a = _Alignof(max_align_t);
    return (n + a - 1) / a * a;
}

static struct arena_blk *arena_grow(struct conf_arena *a, size_t size)
{
    size_t cap = size > ARENA_BLOCK ? size : ARENA_BLOCK;
    struct arena_blk *b;

    if (cap > SIZE_MAX - sizeof *b)
        return NULL;
    b = malloc(sizeof *b + cap);
    if (!b)
        return NULL;
    b->used = 0;
    b->cap = cap;
    b->next = a->head;
    a->head = b;
    return b;
}

void *conf_arena_alloc(struct conf_arena *a, size_t size)
{
    struct arena_blk *b = a->head;
    void *p;

    if (size == 0)
        size = 1;
    if (size > SIZE_MAX / 2)
        return NULL;
    size = align_up(size);
    if (!b || b->cap - b->used < size) {
        b = arena_grow(a, size);
        if (!b)
            return NULL;
    }
    p = (char *)b->data + b->used;
    b->used += size;
    memset(p, 0, size);
    return p;
}

char *conf_arena_strdup(struct conf_arena *a, const char *s, size_t len)
{
    char *d;

    if (len == SIZE_MAX)
        return NULL;
    d = conf_arena_alloc(a, len + 1);
    if (d) {
        memcpy(d, s, len);
        d[len] = '\0';
    }
    return d;
}

void conf_arena_free(struct conf_arena *a)
{
    struct arena_blk *b, *next;

    if (!a)
        return;
    for (b = a->head; b; b = next) {
        next = b->next;
        free(b);
    }
    free(a);
}

/* ---- errors -------------------------------------------------------------- */

void conf_verrorf(char *err, size_t errlen, const char *file, int line,
                  const char *fmt, va_list ap)
{
    int n;

    if (!err || errlen == 0)
        return;
    if (line > 0)
        n = snprintf(err, errlen, "%s:%d: ", file, line);
    else
        n = snprintf(err, errlen, "%s: ", file);
    if (n < 0)
        n = 0;
    if ((size_t)n < errlen)
        vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
    for (char *c = err; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = '?';
}

void conf_errorf(char *err, size_t errlen, const char *file, int line,
                 const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    conf_verrorf(err, errlen, file, line, fmt, ap);
    va_end(ap);
}

/* ---- lexer ---------------------------------------------------------------- */

void conf_lex_init(struct conf_lexer *lx, const char *file, const char *text, size_t len)
{
    memset(lx, 0, sizeof *lx);
    lx->file = file;
    lx->text = text;
    lx->len = len;
}

void conf_lex_fini(struct conf_lexer *lx)
{
    free(lx->buf);
    free(lx->toks);
    lx->buf = NULL;
    lx->toks = NULL;
}

static bool is_space(char c)
{
    /* '\r' too, so files edited on Windows still parse. */
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static bool is_single(char c)
{
    return c == '(' || c == ')';
}

/* Room for every token of a line of `linelen` bytes. Every token takes at
 * least one source byte (an empty "" takes two), so there are at most
 * linelen tokens, each no longer than its source plus one NUL. */
static int lex_reserve(struct conf_lexer *lx, size_t linelen)
{
    size_t need = 2 * linelen + 1;
    size_t ntok = linelen + 1;

    if (linelen > SIZE_MAX / 4 / sizeof(struct conf_tok))
        return -1;
    if (need > lx->bufcap) {
        char *nb = realloc(lx->buf, need);
        if (!nb)
            return -1;
        lx->buf = nb;
        lx->bufcap = need;
    }
    if (ntok > lx->tokcap) {
        struct conf_tok *nt = realloc(lx->toks, ntok * sizeof *nt);
        if (!nt)
            return -1;
        lx->toks = nt;
        lx->tokcap = ntok;
    }
    return 0;
}

static void lex_push(struct conf_lexer *lx, size_t *bo, const char *s, size_t n, bool quoted)
{
    struct conf_tok *t = &lx->toks[lx->ntoks++];

    memcpy(lx->buf + *bo, s, n);
    lx->buf[*bo + n] = '\0';
    t->s = lx->buf + *bo;
    t->quoted = quoted;
    t->loc.file = lx->file;
    t->loc.line = lx->line;
    *bo += n + 1;
}

/* Split text[0..n) (one line, no '\n') into tokens. */
static int lex_split(struct conf_lexer *lx, const char *s, size_t n, char *err, size_t errlen)
{
    size_t i = 0, bo = 0;

    while (i < n) {
        size_t start;

        if (s[i] == '\0') {
            conf_errorf(err, errlen, lx->file, lx->line, "NUL byte in input");
            return -1;
        }
        if (is_space(s[i])) {
            i++;
            continue;
        }
        if (s[i] == '#')
            break;
        if (is_single(s[i])) {
            lex_push(lx, &bo, s + i, 1, false);
            i++;
            continue;
        }
        if (s[i] == '"') {
            const char *q = memchr(s + i + 1, '"', n - i - 1);
            if (!q) {
                conf_errorf(err, errlen, lx->file, lx->line, "unterminated quoted string");
                return -1;
            }
            if (memchr(s + i + 1, '\0', (size_t)(q - (s + i + 1)))) {
                conf_errorf(err, errlen, lx->file, lx->line, "NUL byte in input");
                return -1;
            }
            lex_push(lx, &bo, s + i + 1, (size_t)(q - (s + i + 1)), true);
            i = (size_t)(q - s) + 1;
            continue;
        }
        start = i;
        while (i < n && s[i] && !is_space(s[i]) && s[i] != '#' && s[i] != '"' &&
               !is_single(s[i]))
            i++;
        lex_push(lx, &bo, s + start, i - start, false);
    }
    return 0;
}

int conf_lex_line(struct conf_lexer *lx, char *err, size_t errlen)
{
    const char *s, *nl;
    size_t n;

    if (lx->pos >= lx->len)
        return 0;
    s = lx->text + lx->pos;
    nl = memchr(s, '\n', lx->len - lx->pos);
    n = nl ? (size_t)(nl - s) : lx->len - lx->pos;
    lx->pos += n + (nl ? 1 : 0);
    lx->line++;
    lx->ntoks = 0;
    if (lex_reserve(lx, n) < 0) {
        conf_errorf(err, errlen, lx->file, lx->line, "out of memory");
        return -1;
    }
    return lex_split(lx, s, n, err, errlen) < 0 ? -1 : 1;
}

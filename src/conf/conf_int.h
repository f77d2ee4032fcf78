/* conf internals shared by lex.c, conf.c and dump.c. Not part of the API.
 *
 * Two pieces live here: the arena every config string and array is carved
 * from (so conf_free is one walk over a block list, and a failed parse
 * leaks nothing), and the line lexer, which turns one physical line into
 * NUL-terminated tokens that all carry that line's file:line.
 */
#ifndef CHIME_CONF_CONF_INT_H
#define CHIME_CONF_CONF_INT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "conf/conf.h"

/* ---- arena ------------------------------------------------------------- */
struct conf_arena;
struct conf_arena *conf_arena_new(void);
/* Zeroed, max_align_t aligned; NULL only when malloc fails. */
void *conf_arena_alloc(struct conf_arena *a, size_t size);
char *conf_arena_strdup(struct conf_arena *a, const char *s, size_t len);
void conf_arena_free(struct conf_arena *a);

/* ---- errors -------------------------------------------------------------- */
/* "FILE:LINE: message" (line <= 0: "FILE: message"). Control bytes from the
 * input are shown as '?' so a hostile file cannot drive the terminal. */
void conf_errorf(char *err, size_t errlen, const char *file, int line,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void conf_verrorf(char *err, size_t errlen, const char *file, int line,
                  const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));

/* ---- lexer ---------------------------------------------------------------- */
struct conf_tok {
    const char *s;          /* NUL-terminated, valid until the next line */
    bool quoted;            /* written as "..." */
    struct conf_loc loc;
};

struct conf_lexer {
    const char *file;       /* for locations; must outlive the tokens' users */
    const char *text;
    size_t len, pos;
    int line;               /* line of the tokens currently held */
    char *buf;              /* token storage for the current line */
    size_t bufcap;
    struct conf_tok *toks;
    size_t ntoks, tokcap;
};

void conf_lex_init(struct conf_lexer *lx, const char *file, const char *text, size_t len);
/* Tokenise the next line: 1 = a line was read (ntoks may be 0 for blank or
 * comment lines), 0 = end of input, -1 = error written to err. */
int conf_lex_line(struct conf_lexer *lx, char *err, size_t errlen);
void conf_lex_fini(struct conf_lexer *lx);

/* ---- after parsing ---------------------------------------------------------- */
/* ntpd's 127.127.T.U reference-clock lines (refclock.c): LOCAL becomes
 * "local stratum N", others are dropped; each leaves a note. 0 or -1. */
int conf_legacy_refclocks(struct config *c, struct conf_arena *a, char *err, size_t errlen);
/* One "refclock" line, NTPsec's (refclock shm unit U ...) or chrony's
 * (refclock SHM U ..., refclock SOCK PATH ...). 0 or -1 with err. */
int conf_refclock_line(struct config *c, struct conf_arena *a, const struct conf_tok *arg,
                       size_t nargs, const struct conf_loc *loc, char *err, size_t errlen);

/* ---- names shared by the parser and the dumper ---------------------------- */
struct conf_name_bit { const char *name; uint32_t bit; };
extern const struct conf_name_bit conf_restrict_flag_names[];
extern const struct conf_name_bit conf_sys_flag_names[];

struct conf_knob { const char *name; size_t off; double lo, hi; };
extern const struct conf_knob conf_tos_knobs[];
extern const struct conf_knob conf_tinker_knobs[];

#endif

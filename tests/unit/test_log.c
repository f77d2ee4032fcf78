/* sys/log: message format on stderr, errno handling, debug switch, rate
 * limit, allocation wrappers. stderr is redirected to a temp file. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sys/log.h"

/* Run fn with stderr captured; return what it wrote (static buffer). */
static const char *capture(void (*fn)(void))
{
    static char out[4096];
    FILE *tmp = tmpfile();
    int saved = dup(STDERR_FILENO);
    size_t n;

    assert_non_null(tmp);
    fflush(stderr);
    dup2(fileno(tmp), STDERR_FILENO);
    fn();
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    rewind(tmp);
    n = fread(out, 1, sizeof(out) - 1, tmp);
    out[n] = '\0';
    fclose(tmp);
    return out;
}

static void emit_plain(void)
{
    log_init(NULL, false, false);
    log_info("net", "hello %d", 42);
    log_warnx("conf", "bad line %s", "x");
    log_debug("clock", "hidden");
}

static void test_format_plain(void **state)
{
    (void)state;
    assert_string_equal(capture(emit_plain),
                        "[net] hello 42\n[conf] warning: bad line x\n");
}

static int errno_after_warn;

static void emit_warn(void)
{
    log_init(NULL, false, false);
    errno = ENOENT;
    log_warn("net", "open %s", "/nope");
    errno_after_warn = errno;
}

static void test_warn_errno(void **state)
{
    char want[256];

    (void)state;
    snprintf(want, sizeof(want), "[net] warning: open /nope: %s\n", strerror(ENOENT));
    assert_string_equal(capture(emit_warn), want);
    assert_int_equal(errno_after_warn, ENOENT);
}

static void emit_ident_debug(void)
{
    log_init("chimed", false, true);
    log_debug("loop", "shown");
    log_init(NULL, false, false);
}

static void test_ident_and_debug(void **state)
{
    char want[128];

    (void)state;
    snprintf(want, sizeof(want), "chimed[%ld]: [loop] debug: shown\n", (long)getpid());
    assert_string_equal(capture(emit_ident_debug), want);
    assert_false(log_debug_enabled());
}

static void emit_long(void)
{
    char big[3000];

    log_init(NULL, false, false);
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    log_info("t", "%s", big);
}

static void test_long_message_truncated(void **state)
{
    const char *out;

    (void)state;
    out = capture(emit_long);
    assert_true(strlen(out) < 1200);
    assert_int_equal(out[strlen(out) - 1], '\n');
}

static void emit_ratelimited(void)
{
    struct log_ratelimit rl = { .interval_ns = 1000000000, .burst = 2 };
    int allowed = 0;

    log_init(NULL, false, false);
    for (int i = 0; i < 10; i++)
        allowed += log_ratelimit(&rl, (mono_ns){ 5 });
    assert_int_equal(allowed, 2);
    assert_int_equal(rl.suppressed, 8);
    assert_true(log_ratelimit(&rl, (mono_ns){ 5 + 1000000000 }));  /* new window */
    assert_int_equal(rl.suppressed, 0);
}

static void test_ratelimit(void **state)
{
    (void)state;
    assert_string_equal(capture(emit_ratelimited),
                        "[log] warning: 8 similar messages suppressed\n");
}

static void test_alloc(void **state)
{
    int *p = xcalloc(16, sizeof(int));

    (void)state;
    for (int i = 0; i < 16; i++)
        assert_int_equal(p[i], 0);
    p = xreallocarray(p, 1024, sizeof(int));
    p[1023] = 7;
    free(p);
    free(xcalloc(0, 0));    /* never NULL, even for nothing */
}

/* Under systemd (JOURNAL_STREAM names our stderr) levels travel as "<N>". */
static void emit_journal(void)
{
    struct stat st;
    char js[64];

    assert_int_equal(fstat(STDERR_FILENO, &st), 0);
    snprintf(js, sizeof(js), "%llu:%llu", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino);
    setenv("JOURNAL_STREAM", js, 1);
    log_init("chimed", false, false);
    log_info("net", "up");
    log_warnx("conf", "odd");
    setenv("JOURNAL_STREAM", "1:2", 1);     /* someone else's stream: plain */
    log_init(NULL, false, false);
    log_info("net", "plain");
    unsetenv("JOURNAL_STREAM");
    log_init(NULL, false, false);
}

static void test_journal_levels(void **state)
{
    (void)state;
    assert_string_equal(capture(emit_journal),
                        "<6>[net] up\n<4>[conf] warning: odd\n[net] plain\n");
}

/* logfile: appended to, one stamped line per message, replaces stderr. */
static void emit_to_file(void)
{
    log_init("chimed", false, false);
    assert_int_equal(log_open_file("/nonexistent/dir/chime.log"), -1);
    log_info("conf", "to stderr");      /* a failed open changes nothing */
}

static void test_logfile(void **state)
{
    char path[] = "/tmp/chime-logfile.XXXXXX", buf[512], want[64];
    int fd = mkstemp(path);
    FILE *f;

    (void)state;
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "old line\n", 9), 9);
    close(fd);
    assert_non_null(strstr(capture(emit_to_file), "[conf] to stderr"));
    log_init("chimed", false, false);
    assert_int_equal(log_open_file(path), 0);
    log_info("net", "hello %d", 1);
    log_warnx("clock", "careful");
    log_init(NULL, false, false);       /* closes the file */
    f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(buf, sizeof(buf), f));
    assert_string_equal(buf, "old line\n");
    assert_non_null(fgets(buf, sizeof(buf), f));
    snprintf(want, sizeof(want), " chimed[%ld]: [net] hello 1\n", (long)getpid());
    assert_non_null(strstr(buf, want));
    assert_true(buf[0] >= '1' && buf[0] <= '9' && buf[4] == '-' && buf[10] == 'T');
    assert_non_null(fgets(buf, sizeof(buf), f));
    assert_non_null(strstr(buf, "[clock] warning: careful\n"));
    assert_null(fgets(buf, sizeof(buf), f));
    fclose(f);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_plain),
        cmocka_unit_test(test_warn_errno),
        cmocka_unit_test(test_ident_and_debug),
        cmocka_unit_test(test_long_message_truncated),
        cmocka_unit_test(test_ratelimit),
        cmocka_unit_test(test_alloc),
        cmocka_unit_test(test_logfile),
        cmocka_unit_test(test_journal_levels),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* daemon/stats: the writer thread and its hand-over at close. Real files
 * in a temporary statsdir; the config comes from the conf parser. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/conf.h"
#include "daemon/stats.h"

#define NS 1000000000LL

static struct config *config_for(const char *dir, const char *extra)
{
    char text[512], err[CONF_ERR_LEN];
    struct config *cfg = NULL;

    snprintf(text, sizeof(text), "statsdir %s\nstatistics loopstats peerstats\n%s", dir,
             extra);
    assert_int_equal(conf_load_string("t.conf", text, strlen(text), &cfg, err, sizeof(err)), 0);
    return cfg;
}

static void write_some(struct stats_files *sf, int n, int64_t t)
{
    struct statsline_loop l = { .offset_s = 1e-6, .freq_ppm = 1.5, .tc = 6 };
    struct statsline_peer p = { .address = "192.0.2.1", .status = 0x9614 };

    for (int i = 0; i < n; i++) {
        stats_write_loop(sf, t + i * NS, i, &l);
        stats_write_peer(sf, t + i * NS, i, &p);
    }
}

static long lines_in(const char *path)
{
    FILE *f = fopen(path, "r");
    long n = 0;
    int c;

    if (f == NULL)
        return -1;
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

/* Lines reach the files; close with a wait writes everything queued. */
static void test_written_at_close(void **state)
{
    char dir[] = "/tmp/chime-stats-XXXXXX", path[128];
    struct config *cfg;
    struct stats_files *sf;
    (void)state;

    assert_non_null(mkdtemp(dir));
    cfg = config_for(dir, "filegen loopstats type none\nfilegen peerstats type none\n");
    sf = stats_open(cfg);
    assert_non_null(sf);
    write_some(sf, 50, 1700000000LL * NS);
    stats_close(sf, 5 * NS);
    snprintf(path, sizeof(path), "%s/loopstats", dir);
    assert_int_equal(lines_in(path), 50);
    unlink(path);
    snprintf(path, sizeof(path), "%s/peerstats", dir);
    assert_int_equal(lines_in(path), 50);
    unlink(path);
    rmdir(dir);
    conf_free(cfg);
}

/* A reload closes without waiting: the writer finishes and frees on its
 * own, whichever of the two gets to the struct last. Many rounds, so a
 * use after free in the hand-over shows under the sanitizers. */
static void test_close_without_wait(void **state)
{
    char dir[] = "/tmp/chime-stats-XXXXXX", path[128];
    struct config *cfg;
    long expect = 0;
    (void)state;

    assert_non_null(mkdtemp(dir));
    cfg = config_for(dir, "filegen loopstats type none\nfilegen peerstats type none\n");
    for (int round = 0; round < 200; round++) {
        struct stats_files *sf = stats_open(cfg);

        assert_non_null(sf);
        write_some(sf, round % 3, 1700000000LL * NS);
        expect += round % 3;
        stats_close(sf, round % 5 == 0 ? 0 : (round % 2) * NS);
    }
    /* Closes this close together may find the previous writer still
     * finishing: with two alive, lines are dropped, never duplicated. Let
     * the last writers finish, then count. */
    usleep(200000);
    snprintf(path, sizeof(path), "%s/loopstats", dir);
    assert_true(lines_in(path) > 0);
    assert_true(lines_in(path) <= expect);
    unlink(path);
    snprintf(path, sizeof(path), "%s/peerstats", dir);
    unlink(path);
    rmdir(dir);
    conf_free(cfg);
}

/* Nothing configured: no writer, every call a no-op. */
static void test_off(void **state)
{
    struct config *cfg = NULL;
    char err[CONF_ERR_LEN];
    (void)state;

    assert_int_equal(conf_load_string("t.conf", "port 123\n", 9, &cfg, err, sizeof(err)), 0);
    assert_null(stats_open(cfg));
    write_some(NULL, 3, 0);
    stats_close(NULL, 0);
    assert_int_equal(stats_dropped(NULL), 0);
    conf_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_written_at_close),
        cmocka_unit_test(test_close_without_wait),
        cmocka_unit_test(test_off),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

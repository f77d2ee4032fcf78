/* sys/statefile and the logfile: nothing chimed writes as root goes
 * through a symlink someone planted (issue 15, finding 2). Each test
 * plants a link to a "victim" file and checks the victim is untouched. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sys/log.h"
#include "sys/statefile.h"

static char dir[256];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "%s/chime-statefile-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char p[512];

    (void)state;
    while (d && (de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
            snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
            unlink(p);
        }
    }
    if (d)
        closedir(d);
    return rmdir(dir);
}

static void path_of(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", dir, name);
}

static void write_file(const char *path, const char *s)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(s, f);
    fclose(f);
}

static void assert_content(const char *path, const char *want)
{
    char buf[256];

    FILE *f = fopen(path, "r");
    size_t n;

    assert_non_null(f);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    assert_string_equal(buf, want);
}

/* The old code wrote <path>.tmp with O_TRUNC: a link there redirected the
 * write into the victim. */
static void test_link_at_old_temp_name(void **state)
{
    char victim[512], drift[512], tmp[512];

    (void)state;
    path_of(victim, sizeof(victim), "victim");
    path_of(drift, sizeof(drift), "drift");
    path_of(tmp, sizeof(tmp), "drift.tmp");
    write_file(victim, "precious\n");
    assert_int_equal(symlink(victim, tmp), 0);
    assert_int_equal(statefile_write(drift, "12.345\n"), 0);
    assert_content(victim, "precious\n");
    assert_content(drift, "12.345\n");
}

/* A link at the target is replaced by the new file, never written through. */
static void test_link_at_target(void **state)
{
    char victim[512], drift[512], buf[64];
    struct stat st;

    (void)state;
    path_of(victim, sizeof(victim), "victim");
    path_of(drift, sizeof(drift), "drift");
    write_file(victim, "precious\n");
    assert_int_equal(symlink(victim, drift), 0);
    /* reading through it is refused too */
    assert_int_equal(statefile_read(drift, buf, sizeof(buf)), -1);
    assert_int_equal(errno, ELOOP);
    assert_int_equal(statefile_write(drift, "1.000\n"), 0);
    assert_content(victim, "precious\n");
    assert_int_equal(lstat(drift, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(statefile_read(drift, buf, sizeof(buf)), 6);
    assert_string_equal(buf, "1.000\n");
}

/* The temporary is exclusive, in the target's directory, and gone after. */
static void test_temporary(void **state)
{
    char p[512], tmp[512], tmp2[512];
    DIR *d;
    struct dirent *de;
    int fd, fd2, n = 0;

    (void)state;
    path_of(p, sizeof(p), "state");
    fd = statefile_tmp(p, tmp, sizeof(tmp));
    assert_true(fd >= 0);
    assert_memory_equal(tmp, dir, strlen(dir));
    assert_non_null(strstr(tmp, "/.state."));
    fd2 = statefile_tmp(p, tmp2, sizeof(tmp2));
    assert_true(fd2 >= 0);
    assert_string_not_equal(tmp, tmp2);
    close(fd);
    close(fd2);
    unlink(tmp);
    unlink(tmp2);
    assert_int_equal(statefile_write(p, "x\n"), 0);
    d = opendir(dir);
    assert_non_null(d);
    while ((de = readdir(d)) != NULL)
        n += strncmp(de->d_name, ".state.", 7) == 0;
    closedir(d);
    assert_int_equal(n, 0);
}

static void test_logfile_link(void **state)
{
    char victim[512], logp[512];

    (void)state;
    path_of(victim, sizeof(victim), "victim");
    path_of(logp, sizeof(logp), "chimed.log");
    write_file(victim, "precious\n");
    assert_int_equal(symlink(victim, logp), 0);
    assert_int_equal(log_open_file(logp), -1);
    assert_int_equal(errno, ELOOP);
    assert_content(victim, "precious\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_link_at_old_temp_name, setup, teardown),
        cmocka_unit_test_setup_teardown(test_link_at_target, setup, teardown),
        cmocka_unit_test_setup_teardown(test_temporary, setup, teardown),
        cmocka_unit_test_setup_teardown(test_logfile_link, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* sys/ntskeys: the NTS cookie keys on disk round-trip, are written mode
 * 0600 and atomically (no temporary left behind), never through a
 * planted symlink, and a damaged file is refused with its name and line
 * while the keys held stay. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sys/ntskeys.h"

static char dir[256];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "%s/chime-ntskeys-XXXXXX",
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

static int entries(void)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;

    while (d && (de = readdir(d)) != NULL)
        n += de->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

static void test_round_trip(void **st)
{
    (void)st;
    struct nts_server_keys ks = { 0 }, back;
    struct ntskeys_stamp s0, s1;
    struct stat sb;
    char err[400], path[512];
    bool loose = true;

    assert_int_equal(ntskeys_read(dir, &back, &loose, err, sizeof(err)), 0);  /* none yet */
    for (int i = 0; i < 3; i++)
        assert_int_equal(ntskeys_new(&ks, 1000 + i, false), 0);
    assert_int_equal(ntskeys_write(dir, &ks, err, sizeof(err)), 0);
    ntskeys_stamp(dir, &s0);
    assert_true(s0.exists);
    snprintf(path, sizeof(path), "%s/ntskeys", dir);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(entries(), 1);                 /* the temporary was renamed */
    memset(&back, 0, sizeof(back));
    assert_int_equal(ntskeys_read(dir, &back, &loose, err, sizeof(err)), 1);
    assert_false(loose);
    assert_int_equal(nts_server_current(&back)->id, nts_server_current(&ks)->id);
    assert_memory_equal(nts_server_current(&back)->k, nts_server_current(&ks)->k, 32);
    assert_int_equal(nts_server_current(&back)->created, 1002);
    /* a rotation makes a new file: readers see it by the stamp */
    assert_int_equal(ntskeys_new(&ks, 2000, false), 0);
    assert_int_equal(ntskeys_write(dir, &ks, err, sizeof(err)), 0);
    ntskeys_stamp(dir, &s1);
    assert_false(ntskeys_stamp_same(&s0, &s1));
    assert_int_equal(ntskeys_read(dir, &back, &loose, err, sizeof(err)), 1);
    assert_int_equal(nts_server_current(&back)->created, 2000);
    chmod(path, 0644);
    assert_int_equal(ntskeys_read(dir, &back, &loose, err, sizeof(err)), 1);
    assert_true(loose);
}

static void test_symlink_and_damage(void **st)
{
    (void)st;
    struct nts_server_keys ks = { 0 }, held = { 0 };
    char err[400], path[512], victim[512];
    bool loose;
    FILE *f;

    snprintf(path, sizeof(path), "%s/ntskeys", dir);
    snprintf(victim, sizeof(victim), "%s/victim", dir);
    f = fopen(victim, "w");
    assert_non_null(f);
    fputs("precious\n", f);
    fclose(f);
    assert_int_equal(symlink(victim, path), 0);
    /* reading through the link is refused; writing replaces the link */
    assert_int_equal(ntskeys_read(dir, &held, &loose, err, sizeof(err)), -1);
    assert_int_equal(ntskeys_new(&ks, 5, false), 0);
    assert_int_equal(ntskeys_new(&ks, 65, true), 0);         /* the next key survives too */
    assert_int_equal(ntskeys_write(dir, &ks, err, sizeof(err)), 0);
    f = fopen(victim, "r");
    assert_non_null(f);
    assert_non_null(fgets(err, sizeof(err), f));
    fclose(f);
    assert_string_equal(err, "precious\n");
    /* damage: a bad line is named, the keys held are not touched */
    assert_int_equal(ntskeys_read(dir, &held, &loose, err, sizeof(err)), 1);
    f = fopen(path, "a");
    assert_non_null(f);
    fputs("zz 12 short\n", f);
    fclose(f);
    assert_int_equal(ntskeys_read(dir, &held, &loose, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "ntskeys:4: malformed key line"));
    assert_int_equal(nts_server_current(&held)->id, nts_server_current(&ks)->id);
    assert_true(held.has_next);
    assert_int_equal(held.key[held.next].id, ks.key[ks.next].id);
    assert_int_equal(held.key[held.next].created, 65);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("something else\n", f);
    fclose(f);
    assert_int_equal(ntskeys_read(dir, &held, &loose, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "not a chime NTS key file"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_symlink_and_damage, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

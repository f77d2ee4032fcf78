/* Unit tests for sys/sandbox: the seccomp allow-list lets through what
 * chimed does after start-up (name resolution on getaddrinfo_a's thread,
 * UDP, clocks, the driftfile's write-fsync-rename) and kills anything else;
 * -u refuses root. Each case runs in a forked child, since a filter can
 * never be removed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sys/net.h"
#include "sys/resolve.h"
#include "sys/sandbox.h"
#include "sys/statefile.h"

static int run_child(void (*fn)(void))
{
    pid_t pid = fork();
    int st = 0;

    assert_true(pid >= 0);
    if (pid == 0) {
        fn();
        _exit(0);
    }
    assert_int_equal(waitpid(pid, &st, 0), pid);
    return st;
}

static void resolve_one(const char *name, int wait_ms)
{
    struct resolve_req *r = resolve_start(name, 123, 0);
    struct net_addr a[4];

    for (int i = 0; r && i < wait_ms / 10; i++) {
        if (resolve_poll(r, a, 4) >= 0 || errno != EINPROGRESS)
            break;
        usleep(10000);
    }
}

static char dir[] = "/tmp/chime-sandbox-XXXXXX";

static void allowed_work(void)
{
    char path[64];
    struct timespec ts;
    struct net_addr to;
    int fd;

    if (sandbox_seccomp(SANDBOX_FILTER_KILL) < 0)
        _exit(2);
    clock_gettime(CLOCK_REALTIME, &ts);
    clock_gettime(CLOCK_MONOTONIC, &ts);
    /* /etc/hosts (files) and, for a name that is not there, DNS (dns):
     * both on glibc's resolver thread. */
    resolve_one("localhost", 2000);
    resolve_one("chime-sandbox-test.invalid", 1500);
    net_addr_parse("127.0.0.1", 9, &to);
    fd = net_udp_connect(&to);
    if (fd >= 0) {
        (void)!write(fd, "x", 1);
        close(fd);
    }
    snprintf(path, sizeof(path), "%s/drift", dir);
    if (statefile_write(path, "1.000\n") < 0)
        _exit(4);
    unlink(path);
}

static void forbidden_work(void)
{
    if (sandbox_seccomp(SANDBOX_FILTER_KILL) < 0)
        _exit(2);
    (void)ptrace(PTRACE_TRACEME, 0, NULL, NULL);   /* not on the list */
    (void)fork();                                  /* nor this */
}

static void test_allowed_calls_survive(void **state)
{
    int st;
    (void)state;

    assert_non_null(mkdtemp(dir));
    st = run_child(allowed_work);
    rmdir(dir);

    if (WIFSIGNALED(st))
        fail_msg("killed by signal %d (31 = SIGSYS: a call missing from the allow-list)",
                 WTERMSIG(st));
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

static void test_forbidden_call_kills(void **state)
{
    int st;
    (void)state;

#ifdef __SANITIZE_ADDRESS__
    skip();   /* sanitizer builds allow ptrace for LeakSanitizer */
#endif
    st = run_child(forbidden_work);
    assert_true(WIFSIGNALED(st));
    assert_int_equal(WTERMSIG(st), SIGSYS);
}

static void test_user_lookup(void **state)
{
    struct sandbox_user u;
    char err[256];
    (void)state;

    assert_int_equal(sandbox_lookup_user("root", &u, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "refusing"));
    assert_int_equal(sandbox_lookup_user("nobody:root", &u, err, sizeof(err)), -1);
    assert_int_equal(sandbox_lookup_user("0", &u, err, sizeof(err)), -1);
    assert_int_equal(sandbox_lookup_user("no-such-user-chime", &u, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "unknown user"));
    assert_int_equal(sandbox_lookup_user("", &u, err, sizeof(err)), -1);
    assert_int_equal(sandbox_lookup_user("nobody", &u, err, sizeof(err)), 0);
    assert_true(u.uid != 0);
    assert_int_equal(sandbox_lookup_user("nobody:nogroup", &u, err, sizeof(err)), 0);
    assert_true(u.gid != 0);
    assert_int_equal(sandbox_lookup_user("4242:4343", &u, err, sizeof(err)), 0);
    assert_int_equal(u.uid, 4242);
    assert_int_equal(u.gid, 4343);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_allowed_calls_survive),
        cmocka_unit_test(test_forbidden_call_kills),
        cmocka_unit_test(test_user_lookup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* sys/sandbox: see sandbox.h. */
#include "sys/sandbox.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "sys/log.h"

static int parse_id(const char *s, unsigned long *out)
{
    char *end;

    if (!*s)
        return -1;
    errno = 0;
    *out = strtoul(s, &end, 10);
    return (errno || *end) ? -1 : 0;
}

int sandbox_lookup_group(const char *name, gid_t *out)
{
    long hint = sysconf(_SC_GETGR_R_SIZE_MAX);
    size_t cap = hint > 0 ? (size_t)hint : 4096;
    struct group gr, *found = NULL;
    unsigned long id;
    char *buf = NULL;
    int err;

    /* a group with many members (LDAP, sssd) needs more room: grow */
    do {
        free(buf);
        buf = xcalloc(1, cap);
        err = getgrnam_r(name, &gr, buf, cap, &found);
        cap *= 2;
    } while (err == ERANGE && cap <= (1u << 24));
    if (found != NULL)
        *out = gr.gr_gid;
    free(buf);
    if (found != NULL)
        return 0;
    if (parse_id(name, &id) == 0) {
        *out = (gid_t)id;
        return 0;
    }
    errno = err != 0 ? err : ENOENT;
    return -1;
}

int sandbox_lookup_user(const char *spec, struct sandbox_user *out, char *err, size_t errlen)
{
    char user[64], group[64] = "";
    const char *colon = strchr(spec, ':');
    size_t n = colon ? (size_t)(colon - spec) : strlen(spec);
    struct passwd *pw;
    unsigned long id;

    memset(out, 0, sizeof(*out));
    if (n == 0 || n >= sizeof(user) || (colon && strlen(colon + 1) >= sizeof(group))) {
        snprintf(err, errlen, "bad user '%s' (USER or USER:GROUP)", spec);
        return -1;
    }
    memcpy(user, spec, n);
    user[n] = '\0';
    if (colon)
        snprintf(group, sizeof(group), "%s", colon + 1);
    pw = getpwnam(user);
    if (pw) {
        out->uid = pw->pw_uid;
        out->gid = pw->pw_gid;
    } else if (parse_id(user, &id) == 0) {
        out->uid = (uid_t)id;
        out->gid = (gid_t)id;
    } else {
        snprintf(err, errlen, "unknown user '%s'", user);
        return -1;
    }
    if (*group && sandbox_lookup_group(group, &out->gid) < 0) {
        snprintf(err, errlen, "unknown group '%s'", group);
        return -1;
    }
    if (out->uid == 0 || out->gid == 0) {
        snprintf(err, errlen, "refusing to run as '%s': -u must name an unprivileged "
                 "user and group (uid and gid not 0)", spec);
        return -1;
    }
    snprintf(out->name, sizeof(out->name), "%s", user);
    return 0;
}

static bool have_sys_time(void)
{
    cap_t c = cap_get_proc();
    cap_flag_value_t v = CAP_CLEAR;

    if (c) {
        cap_get_flag(c, CAP_SYS_TIME, CAP_PERMITTED, &v);
        cap_free(c);
    }
    return v == CAP_SET;
}

int sandbox_drop_user(const struct sandbox_user *u, bool keep_sys_time, bool *kept)
{
    cap_value_t keep[1] = { CAP_SYS_TIME };
    bool want = keep_sys_time && have_sys_time();
    cap_t c;
    int max = (int)cap_max_bits();

    *kept = false;
    if (keep_sys_time && !want)
        log_warnx("sandbox", "CAP_SYS_TIME is not available: the clock cannot be "
                  "adjusted after dropping to '%s'", u->name);
    /* The bounding set: nothing we do later may regain another capability
     * (e.g. through a set-uid helper). Needs CAP_SETPCAP; best effort. */
    for (int i = 0; i < max; i++) {
        if (want && i == CAP_SYS_TIME)
            continue;
        if (prctl(PR_CAPBSET_DROP, i, 0, 0, 0) < 0 && errno != EINVAL && errno != EPERM) {
            log_warn("sandbox", "dropping capability %d from the bounding set", i);
            return -1;
        }
    }
    (void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) {
        log_warn("sandbox", "PR_SET_KEEPCAPS");
        return -1;
    }
    if (setgroups(1, &u->gid) < 0 || setresgid(u->gid, u->gid, u->gid) < 0) {
        log_warn("sandbox", "cannot change group to %u", (unsigned)u->gid);
        return -1;
    }
    if (setresuid(u->uid, u->uid, u->uid) < 0) {
        log_warn("sandbox", "cannot change user to %s (%u)", u->name, (unsigned)u->uid);
        return -1;
    }
    c = cap_init();
    if (!c) {
        log_warn("sandbox", "cap_init");
        return -1;
    }
    if (want && (cap_set_flag(c, CAP_PERMITTED, 1, keep, CAP_SET) < 0 ||
                 cap_set_flag(c, CAP_EFFECTIVE, 1, keep, CAP_SET) < 0)) {
        cap_free(c);
        log_warn("sandbox", "cap_set_flag");
        return -1;
    }
    if (cap_set_proc(c) < 0) {
        cap_free(c);
        log_warn("sandbox", "cap_set_proc");
        return -1;
    }
    cap_free(c);
    (void)prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
    /* Prove it: there is no way back to root. */
    if (setuid(0) == 0 || geteuid() == 0) {
        log_warnx("sandbox", "still able to become root after dropping privileges");
        return -1;
    }
    *kept = want;
    log_info("sandbox", "running as %s (uid %u gid %u), capabilities: %s", u->name,
             (unsigned)u->uid, (unsigned)u->gid, want ? "cap_sys_time" : "none");
    return 0;
}

/* What chimed and its resolver thread call after start-up. Names that
 * this kernel/libseccomp does not know are skipped. */
static const char *const allowed[] = {
    /* the loop, sockets and the control socket */
    "poll", "ppoll", "recvmmsg", "recvmsg", "recvfrom", "sendmmsg", "sendmsg", "sendto",
    "socket", "connect", "bind", "getsockname", "getpeername", "setsockopt", "getsockopt",
    "accept", "accept4", "shutdown", "close", "read", "write", "readv", "writev",
    "pipe2", "fcntl", "ioctl", "epoll_wait", "epoll_ctl", "epoll_create1",
    /* time */
    "clock_gettime", "clock_getres", "gettimeofday", "time", "clock_adjtime", "adjtimex",
    "clock_nanosleep", "nanosleep",         /* steps go through clock_adjtime only */
    /* files: driftfile, pidfile, resolver config, logs */
    "openat", "open", "newfstatat", "fstat", "stat", "lstat", "statx", "lseek", "fsync",
    "fdatasync", "rename", "renameat", "renameat2", "unlink", "unlinkat", "getdents64",
    "symlink", "symlinkat",         /* statistics files: the <file> -> <file>.<date> link */
    "access", "faccessat", "faccessat2", "readlink", "readlinkat", "uname",
    /* memory, threads (getaddrinfo_a), signals */
    "brk", "mmap", "munmap", "mremap", "mprotect", "madvise", "futex", "clone", "clone3",
    "set_robust_list", "get_robust_list", "rseq", "set_tid_address", "gettid", "getpid",
    "getppid", "getuid", "geteuid", "getgid", "getegid", "getrandom", "sched_yield",
    "getpriority", "setpriority",   /* NTS-KE sessions run nicer than the packet path */
    "sched_getaffinity", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack",
    "tgkill", "kill", "prctl", "exit", "exit_group", "restart_syscall",
    "getrlimit", "prlimit64", "sysinfo",
#ifdef __SANITIZE_ADDRESS__
    /* ASan/LSan: the leak check at exit stops the world with ptrace from
     * a cloned task, and symbolizes through /proc. Sanitizer builds only. */
    "ptrace", "wait4", "waitid", "dup", "dup2", "dup3", "pipe", "mincore",
    "process_vm_readv", "personality", "execve", "setpgid", "getpgid",
#endif
};

int sandbox_seccomp(enum sandbox_filter mode)
{
    scmp_filter_ctx ctx;
    int rc;

    if (mode == SANDBOX_FILTER_OFF)
        return 0;
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
        log_warn("sandbox", "PR_SET_NO_NEW_PRIVS");
        return -1;
    }
    ctx = seccomp_init(mode == SANDBOX_FILTER_LOG ? SCMP_ACT_LOG : SCMP_ACT_KILL_PROCESS);
    if (!ctx) {
        log_warnx("sandbox", "seccomp_init failed");
        return -1;
    }
    for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
        int nr = seccomp_syscall_resolve_name(allowed[i]);

        if (nr == __NR_SCMP_ERROR)
            continue;
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
        if (rc < 0) {
            log_warnx("sandbox", "seccomp: cannot allow %s: %s", allowed[i], strerror(-rc));
            seccomp_release(ctx);
            return -1;
        }
    }
    /* Every thread, not only this one: the resolver's helper threads may
     * already run (getaddrinfo_a), and must not escape the filter. */
    rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
    if (rc < 0) {
        log_warnx("sandbox", "seccomp: cannot filter every thread: %s", strerror(-rc));
        seccomp_release(ctx);
        return -1;
    }
    rc = seccomp_load(ctx);
    seccomp_release(ctx);
    if (rc < 0) {
        log_warnx("sandbox", "seccomp_load: %s", strerror(-rc));
        return -1;
    }
    log_info("sandbox", "system-call filter on (%s); if chimed dies with SIGSYS, run it "
             "with -F 2 and look for type=SECCOMP in the kernel log to find the call, "
             "or -F 0 to turn the filter off",
             mode == SANDBOX_FILTER_LOG ? "log only" : "kill on violation");
    return 0;
}

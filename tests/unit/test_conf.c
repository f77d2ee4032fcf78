/* Unit tests for src/conf: the stock Debian/Ubuntu files, every directive
 * family, and the exact text of the error messages users will see. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/conf.h"

/* ---- helpers ---------------------------------------------------------------- */

static struct config *load_ok(const char *text)
{
    struct config *c = NULL;
    char err[CONF_ERR_LEN] = "";
    int rc = conf_load_string("t.conf", text, strlen(text), &c, err, sizeof err);

    if (rc != 0)
        print_error("unexpected error: %s\n", err);
    assert_int_equal(rc, 0);
    assert_non_null(c);
    return c;
}

static void load_bad(const char *text, const char *want)
{
    struct config *c = (struct config *)1;
    char err[CONF_ERR_LEN] = "";

    assert_int_equal(conf_load_string("t.conf", text, strlen(text), &c, err, sizeof err), -1);
    assert_null(c);
    assert_string_equal(err, want);
}

static struct config *load_data(const char *name)
{
    const char *top = getenv("TOP");
    char path[4096];
    char err[CONF_ERR_LEN] = "";
    struct config *c = NULL;
    int rc;

    snprintf(path, sizeof path, "%s/tests/unit/data/%s", top ? top : ".", name);
    rc = conf_load_file(path, &c, err, sizeof err);
    if (rc != 0)
        print_error("%s\n", err);
    assert_int_equal(rc, 0);
    return c;
}

static void ip4(const struct sockaddr_storage *ss, const char *want)
{
    char a[INET_ADDRSTRLEN];

    assert_int_equal(ss->ss_family, AF_INET);
    assert_non_null(inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, a, sizeof a));
    assert_string_equal(a, want);
}

static void ip6(const struct sockaddr_storage *ss, const char *want)
{
    char a[INET6_ADDRSTRLEN];

    assert_int_equal(ss->ss_family, AF_INET6);
    assert_non_null(inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, a, sizeof a));
    assert_string_equal(a, want);
}

/* ---- stock files ---------------------------------------------------------------- */

static void test_ntpsec_debian12(void **state)
{
    struct config *c = load_data("ntpsec-debian12.conf");
    (void)state;

    assert_int_equal(c->n_sources, 4);
    for (size_t i = 0; i < 4; i++) {
        char host[64];
        snprintf(host, sizeof host, "%zu.debian.pool.ntp.org", i);
        assert_int_equal(c->sources[i].kind, CONF_POOL);
        assert_string_equal(c->sources[i].host, host);
        assert_true(c->sources[i].iburst);
        assert_int_equal(c->sources[i].port, 123);
        assert_int_equal(c->sources[i].minpoll, 6);
        assert_int_equal(c->sources[i].maxpoll, 10);
        assert_int_equal(c->sources[i].version, 4);
        assert_int_equal(c->sources[i].family, AF_UNSPEC);
    }
    assert_int_equal(c->sources[0].loc.line, 34);
    assert_non_null(strstr(c->sources[0].loc.file, "ntpsec-debian12.conf"));
    assert_string_equal(c->driftfile, "/var/lib/ntpsec/ntp.drift");
    assert_string_equal(c->leapfile, "/usr/share/zoneinfo/leap-seconds.list");
    assert_true(c->tos.maxclock == 11);
    assert_true(c->tos.minclock == 4);
    assert_true(c->tos.minsane == 3);
    assert_true(isnan(c->tos.floor));
    assert_int_equal(c->n_restricts, 3);
    assert_int_equal(c->restricts[0].family, AF_UNSPEC);
    assert_true(c->restricts[0].is_default);
    assert_int_equal(c->restricts[0].flags,
                     RES_KOD | RES_NOMODIFY | RES_NOPEER | RES_NOQUERY | RES_LIMITED);
    ip4(&c->restricts[1].addr, "127.0.0.1");
    assert_int_equal(c->restricts[1].prefix_len, 32);
    assert_int_equal(c->restricts[1].flags, 0);
    ip6(&c->restricts[2].addr, "::1");
    assert_int_equal(c->restricts[2].prefix_len, 128);
    assert_int_equal(c->n_stored, 0);
    assert_null(c->statsdir);
    conf_free(c);
}

static void test_ubuntu_classic(void **state)
{
    struct config *c = load_data("ubuntu-classic.conf");
    const uint32_t std = RES_KOD | RES_NOTRAP | RES_NOMODIFY | RES_NOPEER | RES_NOQUERY |
                         RES_LIMITED;
    (void)state;

    assert_int_equal(c->n_sources, 5);
    assert_string_equal(c->sources[4].host, "ntp.ubuntu.com");
    assert_false(c->sources[4].iburst);
    assert_true(c->sources[0].iburst);
    assert_string_equal(c->driftfile, "/var/lib/ntp/ntp.drift");
    assert_string_equal(c->leapfile, "/usr/share/zoneinfo/leap-seconds.list");
    assert_int_equal(c->n_statistics, 3);
    assert_string_equal(c->statistics[0], "loopstats");
    assert_string_equal(c->statistics[2], "clockstats");
    assert_int_equal(c->n_filegens, 3);
    assert_string_equal(c->filegens[1].name, "peerstats");
    assert_string_equal(c->filegens[1].file, "peerstats");
    assert_string_equal(c->filegens[1].type, "day");
    assert_true(c->filegens[1].enable);
    assert_int_equal(c->n_restricts, 5);
    assert_int_equal(c->restricts[0].family, AF_INET);
    assert_true(c->restricts[0].is_default);
    assert_int_equal(c->restricts[0].flags, std);
    assert_int_equal(c->restricts[1].family, AF_INET6);
    assert_true(c->restricts[1].is_default);
    assert_int_equal(c->restricts[1].flags, std);
    assert_true(c->restricts[4].is_source);
    assert_int_equal(c->restricts[4].flags, RES_NOTRAP | RES_NOMODIFY | RES_NOQUERY);
    conf_free(c);
}

/* The stock files' commented-out examples must load once uncommented. */
static void test_stock_examples_uncommented(void **state)
{
    struct config *c = load_ok(
        "nts cert CERT_FILE\nnts key KEY_FILE\nnts enable\n"
        "statsdir /var/log/ntpsec/\n"
        "server time.cloudflare.com nts\n"
        "server ntp.ubuntu.com\n"
        "restrict 192.168.123.0 mask 255.255.255.0 notrust\n"
        "broadcast 192.168.123.255\n"
        "disable auth\nbroadcastclient\n"
        "server 127.127.8.1 mode 135 prefer    # Meinberg GPS167 with PPS\n"
        "fudge 127.127.8.1 time1 0.0042        # relative to PPS\n");
    (void)state;

    assert_int_equal(c->n_stored, 3);   /* nts cert/key/enable are parsed now */
    assert_string_equal(c->nts.cert, "CERT_FILE");
    assert_string_equal(c->nts.key, "KEY_FILE");
    assert_true(c->nts.enable);
    assert_null(c->nts.ca);
    assert_string_equal(c->stored[1].directive, "broadcastclient");
    assert_string_equal(c->stored[1].args, "");
    assert_string_equal(c->stored[2].args, "127.127.8.1 time1 0.0042");
    assert_true(c->sources[0].nts);
    assert_int_equal(c->sources[2].mode, 135);
    assert_true(c->sources[2].prefer);
    assert_int_equal(c->disable_flags, CONF_FLAG_AUTH);
    assert_int_equal(c->restricts[0].prefix_len, 24);
    assert_int_equal(c->restricts[0].flags, RES_NOTRUST);
    conf_free(c);
}

/* ---- defaults and lexing ------------------------------------------------------------- */

static void test_defaults(void **state)
{
    struct config *c = load_ok("");
    (void)state;

    assert_int_equal(c->port, 123);
    assert_int_equal(c->local_stratum, 0);
    assert_int_equal(c->n_sources, 0);
    assert_true(isnan(c->tos.minclock) && isnan(c->tos.bcpollbstep));
    assert_true(isnan(c->tinker.step) && isnan(c->tinker.stepfwd));
    assert_null(c->driftfile);
    assert_true(c->leapsmearinterval == 0);
    conf_free(c);
}

static void test_comments_blank_crlf(void **state)
{
    struct config *c = load_ok(
        "# comment\n\n   \t\n"
        "server a.example iburst # trailing comment\r\n"
        "server b.example#glued comment\n"
        "   # indented comment\n"
        "server c.example");              /* no final newline */
    (void)state;

    assert_int_equal(c->n_sources, 3);
    assert_string_equal(c->sources[0].host, "a.example");
    assert_true(c->sources[0].iburst);
    assert_int_equal(c->sources[0].loc.line, 4);
    assert_string_equal(c->sources[1].host, "b.example");
    assert_string_equal(c->sources[2].host, "c.example");
    assert_int_equal(c->sources[2].loc.line, 7);
    assert_string_equal(c->sources[2].loc.file, "t.conf");
    conf_free(c);
}

static void test_quoted_paths(void **state)
{
    struct config *c = load_ok(
        "driftfile \"/var/lib/my drift#1\"\n"
        "leapfile \"/usr/share/leap.list\" # ok\n"
        "logfile /var/log/chime.log\n"
        "pidfile \"/run/chimed.pid\"\n"
        "statsdir /var/log/ntpstats/\n"
        "keys \"/etc/ntp (copy).keys\"\n"
        "controlsocket /run/chime/chimed.sock\n"
        "ntsdir /var/lib/chime/nts\n");
    (void)state;

    assert_string_equal(c->driftfile, "/var/lib/my drift#1");
    assert_string_equal(c->leapfile, "/usr/share/leap.list");
    assert_string_equal(c->logfile, "/var/log/chime.log");
    assert_string_equal(c->pidfile, "/run/chimed.pid");
    assert_string_equal(c->statsdir, "/var/log/ntpstats/");
    assert_string_equal(c->keys, "/etc/ntp (copy).keys");
    assert_string_equal(c->controlsocket, "/run/chime/chimed.sock");
    assert_string_equal(c->ntsdir, "/var/lib/chime/nts");
    conf_free(c);
    load_bad("\ndriftfile \"/var/lib/x\n", "t.conf:2: unterminated quoted string");
    load_bad("driftfile \"\"\n", "t.conf:1: empty path for driftfile");
    load_bad("driftfile\n", "t.conf:1: 'driftfile' needs a path");
    load_bad("driftfile /a /b\n", "t.conf:1: too many arguments for 'driftfile' at '/b'");
}

static void test_control_and_metrics(void **state)
{
    struct config *c = load_ok("controlgroup chime-ctl\nmetrics-listen 127.0.0.1:9123\n");
    const struct sockaddr_in *sin = (const struct sockaddr_in *)&c->metrics_listen.addr;
    const struct sockaddr_in6 *sin6;
    (void)state;

    assert_string_equal(c->controlgroup, "chime-ctl");
    assert_int_equal(c->controlgroup_loc.line, 1);
    assert_true(c->metrics_listen.set);
    assert_int_equal(c->metrics_listen.loc.line, 2);
    assert_int_equal(sin->sin_family, AF_INET);
    assert_int_equal(ntohs(sin->sin_port), 9123);
    assert_int_equal(ntohl(sin->sin_addr.s_addr), 0x7f000001);
    conf_free(c);
    c = load_ok("metrics-listen [::1]:80\n");
    sin6 = (const struct sockaddr_in6 *)&c->metrics_listen.addr;
    assert_int_equal(sin6->sin6_family, AF_INET6);
    assert_int_equal(ntohs(sin6->sin6_port), 80);
    assert_true(IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr));
    conf_free(c);
    c = load_ok("server a\n");
    assert_false(c->metrics_listen.set);
    assert_null(c->controlgroup);
    conf_free(c);
    load_bad("controlgroup a:b\n", "t.conf:1: bad group name 'a:b'");
    load_bad("metrics-listen 9123\n", "t.conf:1: metrics-listen needs ADDRESS:PORT, got '9123'");
    load_bad("metrics-listen localhost:9123\n",
             "t.conf:1: bad metrics-listen address 'localhost' (numeric only)");
    load_bad("metrics-listen 127.0.0.1:0\n",
             "t.conf:1: bad metrics-listen port '0' (1-65535)");
    load_bad("metrics-listen ::1:80\n",
             "t.conf:1: metrics-listen: write an IPv6 address as [::1]:PORT");
    load_bad("metrics-listen [::1:80\n", "t.conf:1: bad metrics-listen address '[::1:80'");
}

static void test_nul_and_control_bytes(void **state)
{
    struct config *c = NULL;
    char err[CONF_ERR_LEN];
    static const char text[] = "port 123\nserver a\0b\n";
    (void)state;

    assert_int_equal(conf_load_string("t.conf", text, sizeof text - 1, &c, err, sizeof err), -1);
    assert_string_equal(err, "t.conf:2: NUL byte in input");
    /* control bytes in the offending word are shown as '?' */
    load_bad("fo\033o\n", "t.conf:1: unknown directive 'fo?o'");
}

static void test_unknown_directive(void **state)
{
    (void)state;
    load_bad("server a\n\nfoo bar\n", "t.conf:3: unknown directive 'foo'");
    load_bad("Server a\n", "t.conf:1: unknown directive 'Server'");
}

/* ---- sources ---------------------------------------------------------------------------- */

/* NTS: NTPsec's directives, and chrony's "ntsport" on a server line. */
static void test_nts(void **state)
{
    struct config *c = load_ok("server ke.example.net nts ntsport 14460\n"
                               "nts ca /etc/chime/ca.pem\nnts mintls TLS1.3\n");
    (void)state;

    assert_true(c->sources[0].nts);
    assert_int_equal(c->sources[0].ntsport, 14460);
    assert_string_equal(c->nts.ca, "/etc/chime/ca.pem");
    assert_false(c->nts.enable);
    assert_int_equal(c->n_stored, 1);       /* mintls: kept for later */
    conf_free(c);
    load_bad("nts ca\n", "t.conf:1: 'nts ca' needs a file");
    load_bad("nts enable yes\n", "t.conf:1: 'nts enable' takes no argument");
    c = load_ok("nts port 14461\n");
    assert_int_equal(c->nts.port, 14461);
    conf_free(c);
    load_bad("nts port\n", "t.conf:1: 'nts port' needs a number");
    /* NTPsec's "nts cookie FILE": its directory is the ntsdir, unless an
     * ntsdir line says otherwise (before or after it) */
    c = load_ok("nts enable\nnts cookie /var/lib/ntp/nts-keys\n");
    assert_string_equal(c->nts.cookie, "/var/lib/ntp/nts-keys");
    assert_string_equal(c->ntsdir, "/var/lib/ntp");
    assert_int_equal(c->ntsdir_loc.line, 2);
    assert_int_equal(c->n_stored, 0);
    conf_free(c);
    c = load_ok("nts cookie /keys\n");
    assert_string_equal(c->ntsdir, "/");
    conf_free(c);
    c = load_ok("nts cookie /var/lib/ntp/nts-keys\nntsdir /srv/nts\n");
    assert_string_equal(c->ntsdir, "/srv/nts");
    conf_free(c);
    c = load_ok("ntsdir /srv/nts\nnts cookie /var/lib/ntp/nts-keys\n");
    assert_string_equal(c->ntsdir, "/srv/nts");
    assert_int_equal(c->ntsdir_loc.line, 1);
    conf_free(c);
    load_bad("nts cookie nts-keys\n", "t.conf:1: 'nts cookie' needs an absolute path");
    load_bad("nts cookie\n", "t.conf:1: 'nts cookie' needs a file");
}

static void test_source_options(void **state)
{
    struct config *c = load_ok(
        "server -4 ntp.example.org iburst burst prefer noselect true xleave "
        "minpoll 4 maxpoll 8 key 42 version 3 port 1123 nts\n"
        "pool -6 pool.example.org preempt\n"
        "peer 192.0.2.1 ttl 4\n"
        "server [2001:db8::1]\n");
    const struct conf_source *s = &c->sources[0];
    (void)state;

    assert_int_equal(c->n_sources, 4);
    assert_int_equal(s->kind, CONF_SERVER);
    assert_int_equal(s->family, AF_INET);
    assert_string_equal(s->host, "ntp.example.org");
    assert_true(s->iburst && s->burst && s->prefer && s->noselect && s->true_ && s->xleave);
    assert_int_equal(s->minpoll, 4);
    assert_int_equal(s->maxpoll, 8);
    assert_int_equal(s->key, 42);
    assert_int_equal(s->version, 3);
    assert_int_equal(s->port, 1123);
    assert_int_equal(s->nts, 1);
    assert_int_equal(c->sources[1].kind, CONF_POOL);
    assert_int_equal(c->sources[1].family, AF_INET6);
    assert_true(c->sources[1].preempt);
    assert_false(c->sources[1].iburst);
    assert_int_equal(c->sources[2].kind, CONF_PEER);
    assert_int_equal(c->sources[2].ttl, 4);
    assert_int_equal(c->sources[2].key, 0);
    assert_string_equal(c->sources[3].host, "[2001:db8::1]");
    conf_free(c);
}

static void test_source_polls(void **state)
{
    struct config *c = load_ok("server a minpoll 12\nserver b maxpoll 4\n"
                               "server c minpoll 3 maxpoll 17\nserver d minpoll 7 maxpoll 7\n");
    (void)state;

    /* one bound given: the default one moves to meet it */
    assert_int_equal(c->sources[0].minpoll, 12);
    assert_int_equal(c->sources[0].maxpoll, 12);
    assert_int_equal(c->sources[1].minpoll, 4);
    assert_int_equal(c->sources[1].maxpoll, 4);
    assert_int_equal(c->sources[2].minpoll, 3);
    assert_int_equal(c->sources[2].maxpoll, 17);
    assert_int_equal(c->sources[3].minpoll, 7);
    conf_free(c);
}

static void test_source_errors(void **state)
{
    (void)state;
    load_bad("server\n", "t.conf:1: 'server' needs an address");
    load_bad("pool -4\n", "t.conf:1: 'pool' needs an address");
    load_bad("server a minpoll 2\n", "t.conf:1: bad value '2' for minpoll (expected 3..17)");
    load_bad("server a maxpoll 18\n", "t.conf:1: bad value '18' for maxpoll (expected 3..17)");
    load_bad("server a minpoll x\n", "t.conf:1: bad value 'x' for minpoll (expected 3..17)");
    load_bad("server a minpoll\n", "t.conf:1: 'minpoll' needs a value");
    load_bad("server a minpoll 10 maxpoll 6\n", "t.conf:1: minpoll 10 is greater than maxpoll 6");
    load_bad("server a key 0\n", "t.conf:1: bad value '0' for key (expected 1..65535)");
    load_bad("server a version 5\n", "t.conf:1: bad value '5' for version (expected 1..4)");
    load_bad("server a port 0\n", "t.conf:1: bad value '0' for port (expected 1..65535)");
    load_bad("server a iburts\n", "t.conf:1: unknown server option 'iburts'");
    load_bad("peer a autokey\n", "t.conf:1: unknown peer option 'autokey'");
    load_bad("server a/b\n", "t.conf:1: bad address 'a/b' for server");
    load_bad("server -x\n", "t.conf:1: bad address '-x' for server");
}

/* ---- restrict --------------------------------------------------------------------------- */

static void test_restrict_forms(void **state)
{
    struct config *c = load_ok(
        "restrict -4 default kod notrap nomodify nopeer noquery limited\n"
        "restrict 10.1.2.3/8 ignore\n"
        "restrict 192.168.1.77 mask 255.255.255.0 noserve notrust\n"
        "restrict -6 2001:db8::1/32 lowpriotrap nomrulist ntpport version noepeer mssntp\n"
        "restrict fe80:: mask ffff:ffff:ffff:ffff:: serverresponse fuzz\n"
        "restrict source nomodify\n"
        "restrict -6 source\n"
        "unrestrict 10.0.0.0/8\n"
        "restrict 192.0.2.1 remove\n"
        "restrict 0.0.0.0/0 noquery\n");
    const struct conf_restrict *r = c->restricts;
    (void)state;

    assert_int_equal(c->n_restricts, 10);
    assert_int_equal(r[0].family, AF_INET);
    assert_true(r[0].is_default);
    assert_false(r[0].is_source);
    ip4(&r[1].addr, "10.0.0.0");            /* host bits cleared */
    assert_int_equal(r[1].prefix_len, 8);
    assert_int_equal(r[1].flags, RES_IGNORE);
    assert_int_equal(r[1].family, AF_INET);
    ip4(&r[2].addr, "192.168.1.0");
    assert_int_equal(r[2].prefix_len, 24);
    assert_int_equal(r[2].flags, RES_NOSERVE | RES_NOTRUST);
    ip6(&r[3].addr, "2001:db8::");
    assert_int_equal(r[3].prefix_len, 32);
    assert_int_equal(r[3].flags, RES_LOWPRIOTRAP | RES_NOMRULIST | RES_NTPPORT | RES_VERSION |
                                 RES_NOEPEER | RES_MSSNTP);
    ip6(&r[4].addr, "fe80::");
    assert_int_equal(r[4].prefix_len, 64);
    assert_int_equal(r[4].flags, RES_SERVERRESPONSE_FUZZ);
    assert_true(r[5].is_source);
    assert_int_equal(r[5].family, AF_UNSPEC);
    assert_int_equal(r[5].flags, RES_NOMODIFY);
    assert_true(r[6].is_source);
    assert_int_equal(r[6].family, AF_INET6);
    assert_true(r[7].unrestrict);
    assert_int_equal(r[7].prefix_len, 8);
    assert_true(r[8].unrestrict);
    assert_false(r[2].unrestrict);
    assert_int_equal(r[9].prefix_len, 0);
    assert_int_equal(r[9].loc.line, 10);
    conf_free(c);
}

static void test_restrict_errors(void **state)
{
    (void)state;
    load_bad("restrict default kodd\n", "t.conf:1: unknown restrict flag 'kodd'");
    load_bad("restrict\n", "t.conf:1: 'restrict' needs an address");
    load_bad("restrict -6\n", "t.conf:1: 'restrict' needs an address");
    load_bad("restrict ntp.example.org\n",
             "t.conf:1: bad address 'ntp.example.org' for restrict (numeric address expected)");
    load_bad("restrict 10.0.0.0/33\n", "t.conf:1: bad prefix length in '10.0.0.0/33'");
    load_bad("restrict -4 ::1\n", "t.conf:1: address '::1' does not match -4");
    load_bad("restrict -6 127.0.0.1\n", "t.conf:1: address '127.0.0.1' does not match -6");
    load_bad("restrict 10.0.0.0 mask 255.0.255.0\n",
             "t.conf:1: bad mask '255.0.255.0' (not contiguous)");
    load_bad("restrict 10.0.0.0 mask ffff::\n", "t.conf:1: bad mask 'ffff::'");
    load_bad("restrict 10.0.0.0 mask\n", "t.conf:1: 'mask' needs a value");
    load_bad("restrict default mask 255.0.0.0\n", "t.conf:1: 'mask' needs an address before it");
    load_bad("restrict 10.0.0.0/8 mask 255.0.0.0\n",
             "t.conf:1: 'mask' after a /length address at '255.0.0.0'");
    load_bad("restrict default serverresponse\n", "t.conf:1: 'serverresponse' needs 'fuzz'");
}

/* ---- interface, port, local ---------------------------------------------------------------- */

static void test_interface(void **state)
{
    struct config *c = load_ok(
        "interface listen all\ninterface ignore ipv6\nnic drop ipv4\n"
        "interface ignore wildcard\ninterface listen 192.0.2.10\n"
        "interface drop 2001:db8::/48\ninterface listen eth0\nnic listen enp3s0.100\n");
    const struct conf_iface *f = c->ifaces;
    (void)state;

    assert_int_equal(c->n_ifaces, 8);
    assert_int_equal(f[0].action, IFACE_LISTEN);
    assert_int_equal(f[0].match, IFACE_ALL);
    assert_int_equal(f[1].action, IFACE_IGNORE);
    assert_int_equal(f[1].match, IFACE_IPV6);
    assert_int_equal(f[2].action, IFACE_DROP);
    assert_int_equal(f[2].match, IFACE_IPV4);
    assert_int_equal(f[3].match, IFACE_WILDCARD);
    assert_int_equal(f[4].match, IFACE_ADDR);
    ip4(&f[4].addr, "192.0.2.10");
    assert_int_equal(f[4].prefix_len, 32);
    assert_int_equal(((const struct sockaddr_in *)&f[4].addr)->sin_port, 0);
    ip6(&f[5].addr, "2001:db8::");
    assert_int_equal(f[5].prefix_len, 48);
    assert_int_equal(f[6].match, IFACE_NAME);
    assert_string_equal(f[6].name, "eth0");
    assert_string_equal(f[7].name, "enp3s0.100");
    conf_free(c);
    load_bad("interface listen\n", "t.conf:1: 'interface' needs an action and an interface");
    load_bad("interface listen eth0 eth1\n",
             "t.conf:1: too many arguments for 'interface' at 'eth1'");
    load_bad("interface allow eth0\n",
             "t.conf:1: unknown interface action 'allow' (expected listen, ignore or drop)");
    load_bad("interface listen eth0/x\n", "t.conf:1: bad interface 'eth0/x'");
    load_bad("interface listen averyveryverylongname\n",
             "t.conf:1: bad interface 'averyveryverylongname'");
    load_bad("nic listen 10.0.0.1/40\n", "t.conf:1: bad prefix length in '10.0.0.1/40'");
}

static void test_port_local(void **state)
{
    struct config *c = load_ok("port 1123\nlocal stratum 10\n");
    (void)state;

    assert_int_equal(c->port, 1123);
    assert_int_equal(c->local_stratum, 10);
    assert_int_equal(c->local_loc.line, 2);
    conf_free(c);
    c = load_ok("port 65535\nlocal stratum 1\nlocal stratum 15\n");
    assert_int_equal(c->port, 65535);
    assert_int_equal(c->local_stratum, 15);
    conf_free(c);
    load_bad("port 0\n", "t.conf:1: bad value '0' for port (expected 1..65535)");
    load_bad("port 65536\n", "t.conf:1: bad value '65536' for port (expected 1..65535)");
    load_bad("port 12x\n", "t.conf:1: bad value '12x' for port (expected 1..65535)");
    load_bad("port -1\n", "t.conf:1: bad value '-1' for port (expected 1..65535)");
    load_bad("port +5\n", "t.conf:1: bad value '+5' for port (expected 1..65535)");
    load_bad("port 99999999999999999999999\n",
             "t.conf:1: bad value '99999999999999999999999' for port (expected 1..65535)");
    load_bad("port\n", "t.conf:1: 'port' needs a number");
    load_bad("local stratum 16\n", "t.conf:1: bad value '16' for stratum (expected 1..15)");
    load_bad("local stratum 0\n", "t.conf:1: bad value '0' for stratum (expected 1..15)");
    load_bad("local stratum\n", "t.conf:1: 'stratum' needs a value");
    load_bad("local clock 3\n", "t.conf:1: expected 'stratum' after 'local', got 'clock'");
    load_bad("local\n", "t.conf:1: 'local' needs 'stratum N'");
}

/* ---- statistics, keys, knobs, flags -------------------------------------------------------- */

static void test_statistics_filegen(void **state)
{
    struct config *c = load_ok(
        "statistics loopstats peerstats clockstats rawstats sysstats protostats "
        "cryptostats timingstats usestats loopstats\n"
        "filegen sysstats\n"
        "filegen rawstats file raw type week disable nolink\n");
    (void)state;

    assert_int_equal(c->n_statistics, 9);       /* duplicate dropped */
    assert_string_equal(c->statistics[8], "usestats");
    assert_int_equal(c->n_filegens, 2);
    assert_string_equal(c->filegens[0].name, "sysstats");
    assert_null(c->filegens[0].file);
    assert_null(c->filegens[0].type);
    assert_true(c->filegens[0].enable && c->filegens[0].link);
    assert_string_equal(c->filegens[1].file, "raw");
    assert_string_equal(c->filegens[1].type, "week");
    assert_false(c->filegens[1].enable || c->filegens[1].link);
    conf_free(c);
    load_bad("statistics loopstat\n", "t.conf:1: unknown statistics name 'loopstat'");
    load_bad("filegen foostats\n", "t.conf:1: unknown statistics name 'foostats'");
    load_bad("filegen loopstats type hour\n", "t.conf:1: unknown filegen type 'hour'");
    load_bad("filegen loopstats file\n", "t.conf:1: 'file' needs a value");
    load_bad("filegen loopstats flag\n", "t.conf:1: unknown filegen option 'flag'");
}

static void test_keys(void **state)
{
    struct config *c = load_ok("keys /etc/ntp.keys\ntrustedkey 1 7 (10 ... 20) (30...31)\n"
                               "controlkey 5\nrequestkey 6\n");
    (void)state;

    assert_string_equal(c->keys, "/etc/ntp.keys");
    assert_int_equal(c->n_trustedkeys, 4);
    assert_int_equal(c->trustedkeys[0].lo, 1);
    assert_int_equal(c->trustedkeys[0].hi, 1);
    assert_int_equal(c->trustedkeys[1].lo, 7);
    assert_int_equal(c->trustedkeys[2].lo, 10);
    assert_int_equal(c->trustedkeys[2].hi, 20);
    assert_int_equal(c->trustedkeys[3].lo, 30);
    assert_int_equal(c->trustedkeys[3].hi, 31);
    assert_int_equal(c->trustedkeys[3].loc.line, 2);
    assert_int_equal(c->controlkey, 5);
    assert_int_equal(c->requestkey, 6);
    conf_free(c);
    load_bad("trustedkey 0\n", "t.conf:1: bad value '0' for key (expected 1..65535)");
    load_bad("trustedkey (5 ... 2)\n",
             "t.conf:1: bad key range '(5 ... 2)' (first above last)");
    load_bad("trustedkey (5 2)\n", "t.conf:1: bad key range (expected '(N ... M)')");
    load_bad("trustedkey (5...x)\n", "t.conf:1: bad value 'x' for key (expected 1..65535)");
    load_bad("trustedkey (1 ... 2\n", "t.conf:1: bad key range (expected '(N ... M)')");
    load_bad("trustedkey 1 (5 ... x)\n", "t.conf:1: bad value 'x' for key (expected 1..65535)");
    load_bad("controlkey 70000\n", "t.conf:1: bad value '70000' for key (expected 1..65535)");
    load_bad("requestkey\n", "t.conf:1: 'requestkey' needs a key number");
}

static void test_tos_tinker(void **state)
{
    struct config *c = load_ok(
        "tos minclock 3 maxclock 10 minsane 2 floor 1 ceiling 15 cohort 1\n"
        "tos mindist 0.01 maxdist 1.5 orphan 10 orphanwait 300 beacon 3600 bcpollbstep 2\n"
        "tinker step 0.128 stepout 900 panic 0 dispersion 15 allan 1500 huffpuff 7200\n"
        "tinker freq -12.5 stepback 0.5 stepfwd 1e1\n");
    (void)state;

    assert_true(c->tos.minclock == 3 && c->tos.maxclock == 10 && c->tos.minsane == 2);
    assert_true(c->tos.floor == 1 && c->tos.ceiling == 15 && c->tos.cohort == 1);
    assert_true(c->tos.mindist == 0.01 && c->tos.maxdist == 1.5 && c->tos.orphan == 10);
    assert_true(c->tos.orphanwait == 300 && c->tos.beacon == 3600 && c->tos.bcpollbstep == 2);
    assert_true(c->tinker.step == 0.128 && c->tinker.stepout == 900 && c->tinker.panic == 0);
    assert_true(c->tinker.dispersion == 15 && c->tinker.allan == 1500);
    assert_true(c->tinker.huffpuff == 7200 && c->tinker.freq == -12.5);
    assert_true(c->tinker.stepback == 0.5 && c->tinker.stepfwd == 10);
    conf_free(c);
    load_bad("tos orphan 17\n", "t.conf:1: bad value '17' for orphan (expected 1..16)");
    load_bad("tos maxclock nan\n", "t.conf:1: bad value 'nan' for maxclock (expected 1..100)");
    load_bad("tos maxclock inf\n", "t.conf:1: bad value 'inf' for maxclock (expected 1..100)");
    load_bad("tos maxclock 0x10\n", "t.conf:1: bad value '0x10' for maxclock (expected 1..100)");
    load_bad("tos maxclock\n", "t.conf:1: 'maxclock' needs a value");
    load_bad("tos maxclocks 3\n", "t.conf:1: unknown tos option 'maxclocks'");
    load_bad("tos maxclock 3\ntos minclock 5\n",
             "t.conf:2: tos minclock 5 is greater than maxclock 3");
    load_bad("tos floor 9 ceiling 2\n", "t.conf:1: tos floor 9 is greater than ceiling 2");
    load_bad("tinker step -1\n", "t.conf:1: bad value '-1' for step (expected 0..86400)");
    load_bad("tinker freq 501\n", "t.conf:1: bad value '501' for freq (expected -500..500)");
    load_bad("tinker tick 1\n", "t.conf:1: unknown tinker option 'tick'");
}

static void test_enable_disable(void **state)
{
    struct config *c = load_ok("enable auth bclient calibrate kernel monitor ntp stats mode7 pps\n"
                               "disable monitor mode7\n");
    (void)state;

    assert_int_equal(c->enable_flags, CONF_FLAG_AUTH | CONF_FLAG_BCLIENT | CONF_FLAG_CALIBRATE |
                                      CONF_FLAG_KERNEL | CONF_FLAG_NTP | CONF_FLAG_STATS |
                                      CONF_FLAG_PPS);
    assert_int_equal(c->disable_flags, CONF_FLAG_MONITOR | CONF_FLAG_MODE7);
    conf_free(c);
    load_bad("enable kernal\n", "t.conf:1: unknown enable flag 'kernal'");
    load_bad("disable\n", "t.conf:1: 'disable' needs a flag name");
}

static void test_leapsmear_and_stored(void **state)
{
    struct config *c = load_ok(
        "leapsmearinterval 86400\n"
        "logconfig =syncall +clockall\nmru maxdepth 8192\nrlimit memlock 32\n"
        "setvar foo = \"bar baz\"\nbroadcastdelay 0.008\nmanycastserver 239.1.1.1\n"
        "manycastclient 239.1.1.1 key 1\nmulticastclient 224.0.1.1\n"
        "refclock shm unit 0 refid GPS\ndiscard average 3 minimum 1\n"
        "trap 127.0.0.1\n");
    (void)state;

    assert_true(c->leapsmearinterval == 86400);
    /* refclock is parsed now (conf/refclock.c), not stored */
    assert_int_equal(c->n_stored, 9);
    assert_int_equal(c->n_refclocks, 1);
    assert_string_equal(c->stored[0].directive, "logconfig");
    assert_string_equal(c->stored[0].args, "=syncall +clockall");
    assert_string_equal(c->stored[3].args, "foo = \"bar baz\"");
    assert_string_equal(c->stored[7].directive, "multicastclient");
    assert_int_equal(c->stored[8].loc.line, 12);
    assert_true(c->ratelimit.set);
    assert_int_equal(c->ratelimit.average, 3);
    assert_int_equal(c->ratelimit.minimum, 1);
    assert_int_equal(c->ratelimit.burst, -1);
    conf_free(c);
    load_bad("leapsmearinterval -5\n",
             "t.conf:1: bad value '-5' for leapsmearinterval (expected 0..2.592e+06)");
    load_bad("fudge\n", "t.conf:1: 'fudge' needs an argument");
}

static void test_ratelimit(void **state)
{
    struct config *c = load_ok("ratelimit interval 1 burst 16 leak 3 prefix6 64 entries 1024\n");
    (void)state;

    assert_int_equal(c->ratelimit.average, 1);
    assert_int_equal(c->ratelimit.burst, 16);
    assert_int_equal(c->ratelimit.leak, 3);
    assert_int_equal(c->ratelimit.prefix6, 64);
    assert_int_equal(c->ratelimit.prefix4, -1);
    assert_int_equal(c->ratelimit.entries, 1024);
    assert_int_equal(c->ratelimit.minimum, -1);
    conf_free(c);
    load_bad("discard average 17\n",
             "t.conf:1: bad value '17' for average (expected 0..16)");
    load_bad("discard burst 3\n", "t.conf:1: unknown discard option 'burst'");
    load_bad("ratelimit leak\n", "t.conf:1: 'leak' needs a value");
}

/* ---- files and includes ------------------------------------------------------------------ */

static void write_file(const char *dir, const char *name, const char *text)
{
    char p[256];
    FILE *f;

    snprintf(p, sizeof p, "%s/%s", dir, name);
    f = fopen(p, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

static void remove_file(const char *dir, const char *name)
{
    char p[256];

    snprintf(p, sizeof p, "%s/%s", dir, name);
    unlink(p);
}

static void test_includefile(void **state)
{
    char dir[] = "/tmp/chime-conf-XXXXXX";
    char path[256], want[512], err[CONF_ERR_LEN];
    struct config *c = NULL;
    (void)state;

    assert_non_null(mkdtemp(dir));
    write_file(dir, "main.conf", "server a\nincludefile sub.conf\nserver c\n");
    write_file(dir, "sub.conf", "# included\nserver b\n");
    write_file(dir, "bad.conf", "includefile bad2.conf\n");
    write_file(dir, "bad2.conf", "\nserver b minpoll 99\n");
    write_file(dir, "loop.conf", "includefile \"loop.conf\"\n");
    write_file(dir, "missing.conf", "\n\nincludefile nothere.conf\n");

    snprintf(path, sizeof path, "%s/main.conf", dir);
    assert_int_equal(conf_load_file(path, &c, err, sizeof err), 0);
    assert_int_equal(c->n_sources, 3);
    assert_string_equal(c->sources[1].host, "b");
    assert_int_equal(c->sources[1].loc.line, 2);
    snprintf(want, sizeof want, "%s/sub.conf", dir);
    assert_string_equal(c->sources[1].loc.file, want);
    assert_string_equal(c->sources[2].loc.file, path);
    conf_free(c);

    snprintf(path, sizeof path, "%s/bad.conf", dir);
    assert_int_equal(conf_load_file(path, &c, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s/bad2.conf:2: bad value '99' for minpoll (expected 3..17)", dir);
    assert_string_equal(err, want);

    snprintf(path, sizeof path, "%s/loop.conf", dir);
    assert_int_equal(conf_load_file(path, &c, err, sizeof err), -1);
    snprintf(want, sizeof want,
             "%s/loop.conf:1: includefile 'loop.conf' nested too deeply (limit 5)", dir);
    assert_string_equal(err, want);

    snprintf(path, sizeof path, "%s/missing.conf", dir);
    assert_int_equal(conf_load_file(path, &c, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s/missing.conf:3: includefile '%s/nothere.conf': "
             "cannot open: No such file or directory", dir, dir);
    assert_string_equal(err, want);

    load_bad("includefile /dev/null\n",
             "t.conf:1: includefile '/dev/null': not a regular file");
    load_bad("includefile \"\"\n", "t.conf:1: empty path for includefile");

    remove_file(dir, "main.conf");
    remove_file(dir, "sub.conf");
    remove_file(dir, "bad.conf");
    remove_file(dir, "bad2.conf");
    remove_file(dir, "loop.conf");
    remove_file(dir, "missing.conf");
    assert_int_equal(rmdir(dir), 0);
}

static void test_missing_file(void **state)
{
    struct config *c = (struct config *)1;
    char err[CONF_ERR_LEN];
    (void)state;

    assert_int_equal(conf_load_file("/nonexistent/ntp.conf", &c, err, sizeof err), -1);
    assert_null(c);
    assert_string_equal(err, "/nonexistent/ntp.conf: cannot open: No such file or directory");
    assert_int_equal(conf_load_file("/", &c, err, sizeof err), -1);
    assert_string_equal(err, "/: not a regular file");
}

/* ---- dump -------------------------------------------------------------------------------- */

struct lines { char text[8192]; size_t len; int n; };

static void collect(void *arg, const char *line)
{
    struct lines *l = arg;
    int w = snprintf(l->text + l->len, sizeof l->text - l->len, "%s\n", line);

    if (w > 0 && (size_t)w < sizeof l->text - l->len)
        l->len += (size_t)w;
    l->n++;
}

static void test_dump(void **state)
{
    struct config *c = load_ok(
        "server -4 ntp.example.org iburst key 3\n"
        "restrict -4 default kod limited\n"
        "restrict 10.0.0.0/8\n"
        "interface listen eth0\n"
        "local stratum 8\n"
        "driftfile \"/var/lib/a b\"\n"
        "tos maxclock 11\n"
        "broadcastclient\n");
    struct lines out = { .len = 0, .n = 0 };
    (void)state;

    out.text[0] = '\0';
    conf_dump(c, collect, &out);
    assert_non_null(strstr(out.text, "server ntp.example.org family ipv4 port 123 minpoll 6 "
                                     "maxpoll 10 version 4 key 3 iburst  [t.conf:1]\n"));
    assert_non_null(strstr(out.text, "restrict family ipv4 default flags kod,limited  [t.conf:2]\n"));
    assert_non_null(strstr(out.text, "restrict family ipv4 10.0.0.0/8 flags (none)  [t.conf:3]\n"));
    assert_non_null(strstr(out.text, "interface listen name eth0  [t.conf:4]\n"));
    assert_non_null(strstr(out.text, "local stratum 8  [t.conf:5]\n"));
    assert_non_null(strstr(out.text, "driftfile \"/var/lib/a b\"\n"));
    assert_non_null(strstr(out.text, "tos maxclock 11\n"));
    assert_non_null(strstr(out.text, "port 123\n"));
    assert_non_null(strstr(out.text, "threads auto (one per CPU chimed may run on, at most 16)\n"));
    assert_non_null(strstr(out.text, "stored (later release): broadcastclient  [t.conf:8]\n"));
    assert_int_equal(out.n, 10);
    conf_free(c);
}

/* ntpd's reference-clock addresses are never taken as servers (issue 15
 * finding 11): LOCAL becomes "local stratum N", others are dropped with a
 * warning naming the line and the driver. */
static void test_legacy_refclocks(void **state)
{
    struct config *c = load_ok(
        "server 127.127.1.0\n"
        "fudge 127.127.1.0 stratum 10\n"
        "server 127.127.28.0 minpoll 4\n"
        "fudge 127.127.28.0 refid GPS\n"
        "server 192.0.2.1 iburst\n");

    (void)state;
    assert_int_equal(c->n_sources, 1);
    assert_string_equal(c->sources[0].host, "192.0.2.1");
    assert_int_equal(c->local_stratum, 10);
    assert_int_equal(c->local_loc.line, 1);
    /* driver 28 is SHM now: a reference clock, unit 0 (root's: no warning) */
    assert_int_equal(c->n_notes, 2);
    assert_false(c->notes[0].warn);
    assert_int_equal(c->notes[0].loc.line, 1);
    assert_non_null(strstr(c->notes[0].text, "local stratum 10"));
    assert_false(c->notes[1].warn);
    assert_int_equal(c->notes[1].loc.line, 3);
    assert_non_null(strstr(c->notes[1].text, "SHM"));
    assert_int_equal(c->n_refclocks, 1);
    assert_int_equal(c->refclocks[0].driver, CONF_RC_SHM);
    assert_int_equal(c->refclocks[0].unit, 0);
    assert_string_equal(c->refclocks[0].refid, "GPS");
    conf_free(c);
    /* another driver is still dropped with a warning naming it */
    c = load_ok("server 127.127.20.0\n");
    assert_int_equal(c->n_sources, 0);
    assert_int_equal(c->n_refclocks, 0);
    assert_int_equal(c->n_notes, 1);
    assert_true(c->notes[0].warn);
    assert_non_null(strstr(c->notes[0].text, "driver 20"));
    assert_non_null(strstr(c->notes[0].text, "NMEA"));
    conf_free(c);

    /* no fudge: the driver's default stratum; an explicit local wins */
    c = load_ok("server 127.127.1.1\n");
    assert_int_equal(c->n_sources, 0);
    assert_int_equal(c->local_stratum, 5);
    conf_free(c);
    c = load_ok("local stratum 9\nserver 127.127.1.0\nfudge 127.127.1.0 stratum 3\n");
    assert_int_equal(c->local_stratum, 9);
    assert_int_equal(c->n_sources, 0);
    assert_int_equal(c->n_notes, 1);
    conf_free(c);
    /* 127.127.x.y only: a plain loopback server stays one */
    c = load_ok("server 127.0.1.1\nserver 127.128.1.0\n");
    assert_int_equal(c->n_sources, 2);
    assert_int_equal(c->n_notes, 0);
    conf_free(c);
}

/* ntpd's SHM line with its fudge, NTPsec's and chrony's refclock lines:
 * the same reference clocks. Units 2 and up are world-writable: a warning
 * for --check. */
static void test_refclock_syntaxes(void **state)
{
    struct config *c = load_ok(
        "server 127.127.28.2 prefer\n"
        "fudge 127.127.28.2 time1 0.25 refid PPS stratum 3 flag1 1\n"
        "refclock shm unit 1 refid GPS1 time1 -0.125 noselect\n"
        "refclock SHM 0 refid NMEA offset 0.5 delay 0.2 poll 3 prefer\n"
        "refclock SOCK /run/chrony.ttyS0.sock refid SOCK\n");
    const struct conf_refclock *r;

    (void)state;
    assert_int_equal(c->n_sources, 0);
    assert_int_equal(c->n_refclocks, 4);
    /* the refclock lines come in file order as parsed, the legacy after */
    r = &c->refclocks[0];
    assert_int_equal(r->unit, 1);
    assert_string_equal(r->refid, "GPS1");
    assert_true(r->offset == -0.125);
    assert_true(r->noselect);
    assert_false(r->prefer);
    r = &c->refclocks[1];
    assert_int_equal(r->driver, CONF_RC_SHM);
    assert_int_equal(r->unit, 0);
    assert_true(r->offset == 0.5 && r->delay == 0.2);
    assert_int_equal(r->poll, 3);
    assert_true(r->prefer);
    r = &c->refclocks[2];
    assert_int_equal(r->driver, CONF_RC_SOCK);
    assert_string_equal(r->path, "/run/chrony.ttyS0.sock");
    assert_string_equal(r->refid, "SOCK");
    assert_int_equal(r->loc.line, 5);
    r = &c->refclocks[3];
    assert_int_equal(r->unit, 2);
    assert_true(r->offset == 0.25);
    assert_string_equal(r->refid, "PPS");
    assert_int_equal(r->stratum, 3);
    assert_true(r->prefer);
    assert_int_equal(r->loc.line, 1);
    /* unit 2: world-writable, said once, on the server line */
    int warned = 0;
    for (size_t i = 0; i < c->n_notes; i++) {
        if (c->notes[i].warn && strstr(c->notes[i].text, "world-writable")) {
            warned++;
            assert_int_equal(c->notes[i].loc.line, 1);
        }
    }
    assert_int_equal(warned, 1);
    conf_free(c);
}

/* PPS and PHC in the three syntaxes: chrony's device paths, NTPsec's
 * units, ntpd's 127.127.22.U with "fudge ... flag2 1" for the clear edge
 * (its second from the server marked prefer). */
static void test_refclock_pps_phc(void **state)
{
    struct config *c = load_ok(
        "refclock PPS /dev/pps1 lock NMEA clear refid PPS1 offset 0.000125\n"
        "refclock pps unit 2 flag2 prefer\n"
        "refclock PHC /dev/ptp3 poll 3 dpoll -2 offset 0.5 tai\n"
        "refclock phc unit 0 refid HV\n"
        "refclock PHC /dev/ptp_hyperv\n"
        "server 127.127.28.0 prefer\n"
        "server 127.127.22.0\n"
        "fudge 127.127.22.0 flag2 1 time1 0.001 flag3 1\n");
    const struct conf_refclock *r;

    (void)state;
    assert_int_equal(c->n_sources, 0);
    assert_int_equal(c->n_refclocks, 7);
    r = &c->refclocks[0];
    assert_int_equal(r->driver, CONF_RC_PPS);
    assert_string_equal(r->path, "/dev/pps1");
    assert_string_equal(r->lock, "NMEA");
    assert_string_equal(r->refid, "PPS1");
    assert_true(r->clear && r->offset == 0.000125);
    r = &c->refclocks[1];
    assert_string_equal(r->path, "/dev/pps2");
    assert_string_equal(r->refid, "PPS");
    assert_string_equal(r->lock, "");
    assert_true(r->clear && r->prefer);
    r = &c->refclocks[2];
    assert_int_equal(r->driver, CONF_RC_PHC);
    assert_string_equal(r->path, "/dev/ptp3");
    assert_string_equal(r->refid, "PHC3");
    assert_int_equal(r->poll, 3);
    assert_int_equal(r->dpoll, -2);
    assert_true(r->tai && r->offset == 0.5);
    r = &c->refclocks[3];
    assert_string_equal(r->path, "/dev/ptp0");
    assert_string_equal(r->refid, "HV");
    assert_false(r->tai);
    assert_string_equal(c->refclocks[4].refid, "PHC0");
    assert_int_equal(c->refclocks[5].driver, CONF_RC_SHM);
    assert_true(c->refclocks[5].prefer);
    r = &c->refclocks[6];
    assert_int_equal(r->driver, CONF_RC_PPS);
    assert_string_equal(r->path, "/dev/pps0");
    assert_string_equal(r->refid, "PPS");
    assert_true(r->clear && r->offset == 0.001);
    conf_free(c);
    /* "flag2 0" is the assert edge */
    c = load_ok("server 127.127.22.1\nfudge 127.127.22.1 flag2 0\n");
    assert_int_equal(c->n_refclocks, 1);
    assert_false(c->refclocks[0].clear);
    assert_string_equal(c->refclocks[0].path, "/dev/pps1");
    conf_free(c);
}

static void test_refclock_errors(void **state)
{
    struct config *c;

    (void)state;
    load_bad("refclock\n", "t.conf:1: 'refclock' needs a driver name");
    load_bad("refclock foo 0\n",
             "t.conf:1: refclock: unknown driver 'foo' (chime has SHM, SOCK, PPS and PHC)");
    load_bad("server 127.127.99.0\n", "t.conf:1: '127.127.99.0': 127.127.99.0 names reference "
             "clock driver 99, which ntpd never had (LOCAL is 1, PPS 22, SHM 28)");
    load_bad("refclock PPS\n", "t.conf:1: refclock PPS needs a device (refclock PPS "
             "/dev/pps0) or a unit (refclock PPS unit 0)");
    load_bad("refclock PHC /dev/ptp0:nocrossts\n", "t.conf:1: refclock PHC: "
             "'/dev/ptp0:nocrossts': a device path of at most 107 bytes, without chrony's "
             "':option' suffixes");
    load_bad("refclock PHC /dev/ptp0 dpoll 9\n", "t.conf:1: refclock: bad value '9' for 'dpoll'");
    load_bad("refclock SHM 0 refid TOOLONG\n", "t.conf:1: refclock: bad value 'TOOLONG' for 'refid'");
    load_bad("refclock SHM 0 offset x\n", "t.conf:1: refclock: bad value 'x' for 'offset'");
    load_bad("refclock SHM 0 delay\n", "t.conf:1: refclock: 'delay' needs a value");
    load_bad("refclock SHM 0 bogus\n", "t.conf:1: refclock: unknown option 'bogus'");
    load_bad("refclock shm unit 300\n", "t.conf:1: refclock shm: bad unit '300' (0-255)");
    load_bad("refclock SOCK relative.sock\n",
             "t.conf:1: refclock SOCK needs the socket's absolute path");
    load_bad("refclock SHM 0:perm=0644\n", "t.conf:1: refclock SHM: driver options "
             "('0:perm=0644') are not supported; the segment's mode follows its unit, as in ntpd");
    /* a driver ntpd or chrony has and we do not yet: a warning, no clock */
    c = load_ok("refclock nmea unit 0\nserver 127.127.20.0\n");
    assert_int_equal(c->n_refclocks, 0);
    assert_int_equal(c->n_sources, 0);
    assert_int_equal(c->n_notes, 2);
    assert_true(c->notes[0].warn && c->notes[1].warn);
    assert_non_null(strstr(c->notes[0].text, "'nmea'"));
    assert_non_null(strstr(c->notes[1].text, "driver 20 unit 0 (NMEA"));
    conf_free(c);
    /* options we do not use yet are said, not silently dropped */
    c = load_ok("refclock SHM 0 dpoll -2 filter 16\n");
    assert_int_equal(c->n_refclocks, 1);
    assert_int_equal(c->n_notes, 2);
    assert_non_null(strstr(c->notes[0].text, "'dpoll'"));
    conf_free(c);
}

/* The first word of a man-page font macro's first argument (.B, .BR,
 * .BI ...), with roff's "\-" read as "-": "" for other lines. */
static void man_word(const char *line, char *out, size_t cap)
{
    const char *p = line;
    size_t n = 0;

    out[0] = '\0';
    if (strncmp(p, ".B", 2) != 0)
        return;
    p += 2;
    while (*p && *p != ' ')
        p++;                /* the macro's other letters: R, I */
    while (*p == ' ' || *p == '"')
        p++;
    while (*p && *p != ' ' && *p != '"' && *p != '\n' && n + 1 < cap) {
        if (p[0] == '\\' && p[1] == '-') {
            out[n++] = '-';
            p += 2;
            continue;
        }
        out[n++] = *p++;
    }
    out[n] = '\0';
}

/* Issue 15 finding 13: every directive in the parser's table appears in
 * chime.conf(5) as a bold word (its own entry or a list of stored ones). */
static void test_every_directive_documented(void **state)
{
    char path[512], line[1024], word[128];
    const char *top = getenv("TOP");
    static char seen[128];
    size_t n = 0;
    FILE *f;

    (void)state;
    snprintf(path, sizeof path, "%s/docs/chime.conf.5", top ? top : ".");
    f = fopen(path, "r");
    if (!f)
        fail_msg("cannot open %s (run from the source tree or set TOP)", path);
    while (conf_directive_name(n))
        n++;
    assert_true(n > 40 && n <= sizeof seen);
    while (fgets(line, sizeof line, f)) {
        man_word(line, word, sizeof word);
        for (size_t i = 0; i < n; i++)
            if (strcmp(word, conf_directive_name(i)) == 0)
                seen[i] = 1;
    }
    fclose(f);
    for (size_t i = 0; i < n; i++)
        if (!seen[i])
            fail_msg("directive '%s' is not in docs/chime.conf.5", conf_directive_name(i));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ntpsec_debian12),
        cmocka_unit_test(test_ubuntu_classic),
        cmocka_unit_test(test_stock_examples_uncommented),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_comments_blank_crlf),
        cmocka_unit_test(test_quoted_paths),
        cmocka_unit_test(test_control_and_metrics),
        cmocka_unit_test(test_nul_and_control_bytes),
        cmocka_unit_test(test_unknown_directive),
        cmocka_unit_test(test_nts),
        cmocka_unit_test(test_source_options),
        cmocka_unit_test(test_source_polls),
        cmocka_unit_test(test_source_errors),
        cmocka_unit_test(test_restrict_forms),
        cmocka_unit_test(test_restrict_errors),
        cmocka_unit_test(test_interface),
        cmocka_unit_test(test_port_local),
        cmocka_unit_test(test_statistics_filegen),
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_tos_tinker),
        cmocka_unit_test(test_enable_disable),
        cmocka_unit_test(test_leapsmear_and_stored),
        cmocka_unit_test(test_ratelimit),
        cmocka_unit_test(test_includefile),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_dump),
        cmocka_unit_test(test_legacy_refclocks),
        cmocka_unit_test(test_refclock_syntaxes),
        cmocka_unit_test(test_refclock_pps_phc),
        cmocka_unit_test(test_refclock_errors),
        cmocka_unit_test(test_every_directive_documented),
    };
    return cmocka_run_group_tests_name("conf", tests, NULL, NULL);
}

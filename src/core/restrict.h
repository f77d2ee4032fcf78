/* core/restrict: ntpd-style access control ("restrict" lines) compiled
 * into a most-specific-match table.
 *
 * Semantics (ntp.conf, as chime implements them):
 *   ignore     drop every packet from the address, silently
 *   noserve    no time service (mode 3 requests are dropped)
 *   noquery    no mode 6 (control) and mode 7 queries
 *   nomodify   no mode 6 write requests (opcodes 3, 5, 8, 9: writevar, :config ...)
 *   notrap     no mode 6 trap service (opcodes 6, 7, 31)
 *   nomrulist  no mode 6 MRU list (opcode 10)
 *   nopeer     no new symmetric (mode 1/2) association from the address
 *   limited    rate-limit every answered request, mode 3 and mode 6, in
 *              one bucket (discard / ratelimit settings); excess
 *              requests are dropped
 *   kod        with limited: answer excess with a RATE kiss-o'-death
 *              (itself rate-limited) instead of silence
 * Mode 6 (read only) is answered where noquery does not apply; nomodify,
 * notrap and nomrulist refuse their opcodes (server_mode6_refusal).
 * Symmetric modes are not served, so nopeer only changes the drop reason
 * such packets are counted under. Mode 7 is never answered whatever the
 * flags. Other stored flags (notrust, version, ntpport, ...) are kept in
 * the table but do not change what the server does.
 *
 * Matching: the entry with the longest prefix that contains the address
 * wins; "default" is the /0 entry of each family. The table is a
 * path-compressed binary prefix tree per family (at most two nodes per
 * entry): a lookup walks at most one node per address bit, whatever the
 * number of rules, and compiling n rules costs O(n log n) (tree inserts
 * of O(address bits) each, one sort of the entry list), done before the
 * new table is swapped in at a reload. Lines naming the same
 * address and mask accumulate their flags (ntpd behaviour); "unrestrict"
 * (or "restrict ... remove") deletes an entry.
 *
 * Built-in entries, in force unless the config names the same address and
 * mask: "restrict default kod limited nomodify nopeer noquery" for both
 * families, and full access for 127.0.0.1 and ::1. So an empty config is
 * safe, and a config that says "restrict default ..." replaces the
 * built-in default.
 *
 * Pure: no syscalls, allocation only in restrict_compile().
 */
#ifndef CHIME_CORE_RESTRICT_H
#define CHIME_CORE_RESTRICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Flag bits: the same values as conf's enum conf_restrict_flag, so a
 * compiled table can be built from the config without translation. */
#define RF_IGNORE    (1u << 0)
#define RF_KOD       (1u << 1)
#define RF_LIMITED   (1u << 2)
#define RF_NOMODIFY  (1u << 5)
#define RF_NOMRULIST (1u << 6)
#define RF_NOPEER    (1u << 7)
#define RF_NOQUERY   (1u << 8)
#define RF_NOSERVE   (1u << 9)
#define RF_NOTRAP    (1u << 10)

#define RF_SECURE_DEFAULT (RF_KOD | RF_LIMITED | RF_NOMODIFY | RF_NOPEER | RF_NOQUERY)

/* An address as the core sees it: no sockaddr. An IPv4-mapped IPv6
 * source (::ffff:a.b.c.d) is normalised to the IPv4 address it names, with
 * v4mapped set, before anything looks at it (res_addr_from_ipv6): chimed's
 * IPv6 sockets are IPv6-only, so real IPv4 clients never arrive that way
 * and such a datagram is a forgery (::ffff:127.0.0.1 is not localhost). */
struct res_addr {
    uint8_t family;         /* 4 or 6 (0: unknown, matches nothing) */
    uint8_t a[16];          /* IPv4 in a[0..3] */
    bool v4mapped;          /* family 4, but it came as ::ffff:a.b.c.d over IPv6 */
};

/* The core's view of an IPv6 source address (16 octets). */
void res_addr_from_ipv6(const uint8_t a6[16], struct res_addr *out);
/* 127.0.0.0/8 or ::1, and never a v4-mapped source. */
bool res_addr_is_loopback(const struct res_addr *a);

/* One line of access control, as input to restrict_compile(). */
struct res_rule {
    uint8_t family;         /* 4, 6, or 0 = both (an unqualified "default") */
    uint8_t a[16];
    unsigned prefix;        /* 0 = default */
    uint32_t flags;
    bool remove;            /* unrestrict */
};

struct res_entry {
    uint8_t family;
    uint8_t a[16];          /* masked to prefix */
    unsigned prefix;
    uint32_t flags;
    bool builtin;
};

/* A node of the prefix tree: the prefix a/bits, the entry for exactly
 * that prefix (if any), children by the next bit. */
struct res_node {
    uint8_t a[16];
    uint8_t bits;
    int32_t entry;          /* index into e[], -1 none */
    uint32_t child[2];      /* node index, 0 none (node 0 is unused) */
};

struct restrict_table {
    struct res_entry *e;    /* sorted: longest prefix first */
    size_t n;
    struct res_node *node;
    size_t n_nodes, cap_nodes;
    uint32_t root[2];       /* the /0 node of IPv4, of IPv6 */
};

/* Build the table from rules (in config order) plus the built-in entries.
 * Returns 0, or -1 when out of memory. */
int restrict_compile(struct restrict_table *t, const struct res_rule *rules, size_t n);
void restrict_free(struct restrict_table *t);
/* Flags for an address (0 when no entry matches, e.g. family 0). */
uint32_t restrict_match(const struct restrict_table *t, const struct res_addr *a);
/* The entry that decided restrict_match(), or NULL. */
const struct res_entry *restrict_lookup(const struct restrict_table *t,
                                        const struct res_addr *a);
/* "kod limited nopeer" into buf (empty string for no flags). */
const char *restrict_flags_str(uint32_t flags, char *buf, size_t cap);

#endif

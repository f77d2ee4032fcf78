/* libFuzzer harness for conf/keys: the input is a key file. Beyond "no
 * crash / no UB": an accepted table is sorted with unique ids in
 * 1..65535, known types, key lengths within bounds (16 for CMAC), and
 * auth_find() finds every key. A rejected file leaves no table and an
 * error message starting with the file name. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf/keys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct auth_keytab t;
    char err[200] = "";

    if (keys_parse("f", (const char *)data, size, &t, err, sizeof(err)) < 0) {
        CHECK(t.keys == NULL && t.n == 0);
        CHECK(strncmp(err, "f:", 2) == 0);
        return 0;
    }
    CHECK(t.n <= KEYS_MAX);
    for (size_t i = 0; i < t.n; i++) {
        const struct auth_key *k = &t.keys[i];

        CHECK(k->id >= 1 && k->id <= AUTH_KEYID_MAX);
        CHECK(i == 0 || t.keys[i - 1].id < k->id);
        CHECK(auth_digest_len(k->alg) != 0);
        CHECK(k->key_len >= 1 && k->key_len <= AUTH_MAX_KEY);
        CHECK(k->alg != AUTH_CMAC || k->key_len == 16);
        CHECK(!k->trusted);
        CHECK(auth_find(&t, k->id) == k);
    }
    (void)auth_trust_range(&t, 1, AUTH_KEYID_MAX);
    keys_free(&t);
    return 0;
}

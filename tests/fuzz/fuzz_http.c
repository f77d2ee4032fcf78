/* libFuzzer harness for monitor/http: the metrics endpoint's request-head
 * parser (bytes from any scraper that restrict admits).
 *
 * Checks, beyond "no crash / no UB": a parsed head ends inside the input
 * and within HTTP_MAX_REQUEST; the path is NUL-terminated, starts with
 * '/' and holds no control byte; every outcome maps to a status with a
 * reason, and the response head always fits HTTP_MAX_HEAD.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct http_request r;
    enum http_parse p = http_parse_request((const char *)data, size, &r);
    char head[HTTP_MAX_HEAD];
    int status;

    if (p == HTTP_OK) {
        size_t n = strnlen(r.path, sizeof(r.path));

        CHECK(r.head_len > 0 && r.head_len <= size && r.head_len <= HTTP_MAX_REQUEST);
        CHECK(n < sizeof(r.path) && r.path[0] == '/');
        for (size_t i = 0; i < n; i++)
            CHECK((unsigned char)r.path[i] > 0x20 && (unsigned char)r.path[i] < 0x7f);
        status = http_status_for(&r);
        CHECK(status == 200 || status == 404 || status == 405);
    } else {
        CHECK(p != HTTP_TOO_LONG || size >= HTTP_MAX_REQUEST);
        if (p == HTTP_INCOMPLETE)
            return 0;
        status = http_status_for_error(p);
        CHECK(status == 400 || status == 431 || status == 505);
    }
    CHECK(strcmp(http_reason(status), "Error") != 0);
    CHECK(http_format_head(status, "text/plain; version=0.0.4; charset=utf-8",
                           (size_t)-1, head, sizeof(head)) > 0);
    return 0;
}

/* monitor/http: request heads as scrapers and attackers send them. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "monitor/http.h"

static enum http_parse parse(const char *s, struct http_request *r)
{
    return http_parse_request(s, strlen(s), r);
}

static void test_good(void **state)
{
    struct http_request r;
    const char *prom = "GET /metrics HTTP/1.1\r\nHost: h:9123\r\n"
                       "User-Agent: Prometheus/2.42.0\r\nAccept-Encoding: gzip\r\n\r\n";
    (void)state;

    assert_int_equal(parse(prom, &r), HTTP_OK);
    assert_int_equal(r.method, HTTP_GET);
    assert_string_equal(r.path, "/metrics");
    assert_int_equal(r.head_len, strlen(prom));
    assert_int_equal(http_status_for(&r), 200);

    assert_int_equal(parse("HEAD /metrics?name[]=x HTTP/1.0\n\n", &r), HTTP_OK);
    assert_int_equal(r.method, HTTP_HEAD);
    assert_string_equal(r.path, "/metrics");
    assert_int_equal(http_status_for(&r), 200);

    assert_int_equal(parse("GET /metricsX HTTP/1.1\r\n\r\n", &r), HTTP_OK);
    assert_int_equal(http_status_for(&r), 404);
    assert_int_equal(parse("DELETE /metrics HTTP/1.1\r\n\r\n", &r), HTTP_OK);
    assert_int_equal(http_status_for(&r), 405);
}

static void test_incomplete_and_bad(void **state)
{
    struct http_request r;
    char big[HTTP_MAX_REQUEST];
    (void)state;

    assert_int_equal(parse("", &r), HTTP_INCOMPLETE);
    assert_int_equal(parse("GET /metrics HTTP/1.1\r\n", &r), HTTP_INCOMPLETE);
    assert_int_equal(parse("GET /metrics HTTP/1.1\r\nHost: x\r\n\r", &r), HTTP_INCOMPLETE);
    assert_int_equal(parse("GET  /metrics HTTP/1.1\r\n\r\n", &r), HTTP_BAD);
    assert_int_equal(parse("GET /metrics\r\n\r\n", &r), HTTP_BAD);
    assert_int_equal(parse("GET metrics HTTP/1.1\r\n\r\n", &r), HTTP_BAD);
    assert_int_equal(parse("GET /me\ttrics HTTP/1.1\r\n\r\n", &r), HTTP_BAD);
    assert_int_equal(parse("GET /metrics HTTP/1.1 x\r\n\r\n", &r), HTTP_BAD);
    assert_int_equal(parse("GET /metrics HTTP/1.1\r\nX: \x7f\r\n\r\n", &r), HTTP_BAD);
    assert_int_equal(http_parse_request("GET /\0 HTTP/1.1\n\n", 17, &r), HTTP_BAD);
    assert_int_equal(parse("GET /metrics HTTP/2.0\r\n\r\n", &r), HTTP_BAD_VERSION);
    assert_int_equal(parse("GET /metrics HTTP/1.2\r\n\r\n", &r), HTTP_BAD_VERSION);
    assert_int_equal(parse("GET /metrics FTP/1.1\r\n\r\n", &r), HTTP_BAD);
    assert_int_equal(http_status_for_error(HTTP_BAD), 400);
    assert_int_equal(http_status_for_error(HTTP_TOO_LONG), 431);
    assert_int_equal(http_status_for_error(HTTP_BAD_VERSION), 505);

    memset(big, 'a', sizeof(big));
    assert_int_equal(http_parse_request(big, sizeof(big) - 1, &r), HTTP_INCOMPLETE);
    assert_int_equal(http_parse_request(big, sizeof(big), &r), HTTP_TOO_LONG);
}

static void test_head(void **state)
{
    char out[HTTP_MAX_HEAD];
    size_t n;
    (void)state;

    n = http_format_head(200, "text/plain", 1234, out, sizeof(out));
    assert_int_equal(n, strlen(out));
    assert_string_equal(out, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n"
                             "Content-Length: 1234\r\nCache-Control: no-store\r\n"
                             "Connection: close\r\n\r\n");
    n = http_format_head(405, "text/plain", 0, out, sizeof(out));
    assert_non_null(strstr(out, "\r\nAllow: GET, HEAD\r\n"));
    assert_int_equal(http_format_head(200, "text/plain", 0, out, 20), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),
        cmocka_unit_test(test_incomplete_and_bad),
        cmocka_unit_test(test_head),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

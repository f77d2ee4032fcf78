/* monitor/http: the sliver of HTTP/1.x that a metrics scraper needs.
 *
 * chimed's optional `metrics-listen` endpoint answers GET (and HEAD) of
 * /metrics with the Prometheus text format and closes the connection.
 * This module parses the request head a client sent and formats the
 * response head; it is pure (no I/O) so that it can be fuzzed and unit
 * tested on its own. Anything beyond a request line and header lines
 * within HTTP_MAX_REQUEST bytes is refused: no bodies, no keep-alive, no
 * chunking, no continuation lines.
 */
#ifndef CHIME_MONITOR_HTTP_H
#define CHIME_MONITOR_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#define HTTP_MAX_REQUEST 4096       /* request line + headers, bytes */
#define HTTP_MAX_HEAD 256           /* the response head we write */

enum http_method { HTTP_GET, HTTP_HEAD, HTTP_OTHER };

enum http_parse {
    HTTP_INCOMPLETE,        /* no blank line yet: read more */
    HTTP_OK,                /* a whole, well-formed head */
    HTTP_BAD,               /* malformed: answer 400 */
    HTTP_TOO_LONG,          /* no end within HTTP_MAX_REQUEST: answer 431 */
    HTTP_BAD_VERSION,       /* not HTTP/1.0 or 1.1: answer 505 */
};

struct http_request {
    enum http_method method;
    char path[128];         /* the target without its query string */
    size_t head_len;        /* octets up to and including the blank line */
};

/* Parse buf[0..len): the bytes received so far. */
enum http_parse http_parse_request(const char *buf, size_t len, struct http_request *out);

/* The status for a parsed request: 200 for GET/HEAD of /metrics (a query
 * string is ignored), 404 for another path, 405 for another method. */
int http_status_for(const struct http_request *r);
/* The status for a parse failure (400, 431, 505). */
int http_status_for_error(enum http_parse p);
const char *http_reason(int status);

/* Write the response head for status with a body of body_len octets of
 * type ctype into out; returns its length, or 0 when cap is too small.
 * The connection is always closed after the response. */
size_t http_format_head(int status, const char *ctype, size_t body_len,
                        char *out, size_t cap);

#endif

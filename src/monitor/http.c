/* monitor/http: request-head parser and response-head formatter. */
#include "monitor/http.h"

#include <stdio.h>
#include <string.h>

/* Where the head ends (after "\r\n\r\n" or a bare "\n\n"), or 0. */
static size_t head_end(const char *buf, size_t len)
{
    for (size_t i = 0; i + 1 < len; i++) {
        if (buf[i] != '\n')
            continue;
        if (buf[i + 1] == '\n')
            return i + 2;
        if (buf[i + 1] == '\r' && i + 2 < len && buf[i + 2] == '\n')
            return i + 3;
    }
    return 0;
}

/* Header and request-line bytes: printable ASCII, tab, CR, LF. A NUL or
 * any other control byte is a malformed (or hostile) request. */
static bool clean(const char *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)buf[i];

        if ((c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c >= 0x7f)
            return false;
    }
    return true;
}

/* Split off the next space-separated word of line[0..n) at *pos. */
static bool word(const char *line, size_t n, size_t *pos, const char **w, size_t *wn)
{
    size_t i = *pos;

    if (i >= n || line[i] == ' ')
        return false;
    *w = line + i;
    while (i < n && line[i] != ' ')
        i++;
    *wn = (size_t)(line + i - *w);
    *pos = i < n ? i + 1 : i;
    return true;
}

static enum http_method method_of(const char *w, size_t n)
{
    if (n == 3 && memcmp(w, "GET", 3) == 0)
        return HTTP_GET;
    if (n == 4 && memcmp(w, "HEAD", 4) == 0)
        return HTTP_HEAD;
    return HTTP_OTHER;
}

enum http_parse http_parse_request(const char *buf, size_t len, struct http_request *out)
{
    const char *m, *target, *ver;
    size_t end, line_len, pos = 0, mn, tn, vn, pn;

    memset(out, 0, sizeof(*out));
    end = head_end(buf, len < HTTP_MAX_REQUEST ? len : HTTP_MAX_REQUEST);
    if (end == 0)
        return len >= HTTP_MAX_REQUEST ? HTTP_TOO_LONG : HTTP_INCOMPLETE;
    if (!clean(buf, end))
        return HTTP_BAD;
    line_len = (size_t)((const char *)memchr(buf, '\n', end) - buf);
    if (line_len > 0 && buf[line_len - 1] == '\r')
        line_len--;
    if (!word(buf, line_len, &pos, &m, &mn) || !word(buf, line_len, &pos, &target, &tn) ||
        !word(buf, line_len, &pos, &ver, &vn) || pos != line_len)
        return HTTP_BAD;
    if (vn != 8 || memcmp(ver, "HTTP/1.", 7) != 0)
        return (vn >= 5 && memcmp(ver, "HTTP/", 5) == 0) ? HTTP_BAD_VERSION : HTTP_BAD;
    if (ver[7] != '0' && ver[7] != '1')
        return HTTP_BAD_VERSION;
    if (target[0] != '/')
        return HTTP_BAD;
    for (size_t i = 0; i < tn; i++)     /* a tab is no separator here */
        if ((unsigned char)target[i] <= 0x20)
            return HTTP_BAD;
    pn = 0;
    while (pn < tn && target[pn] != '?' && target[pn] != '#')
        pn++;
    if (pn >= sizeof(out->path))
        pn = sizeof(out->path) - 1;     /* long paths are 404 anyway */
    memcpy(out->path, target, pn);
    out->path[pn] = '\0';
    out->method = method_of(m, mn);
    out->head_len = end;
    return HTTP_OK;
}

int http_status_for(const struct http_request *r)
{
    if (r->method == HTTP_OTHER)
        return 405;
    if (strcmp(r->path, "/metrics") != 0)
        return 404;
    return 200;
}

int http_status_for_error(enum http_parse p)
{
    switch (p) {
    case HTTP_TOO_LONG: return 431;
    case HTTP_BAD_VERSION: return 505;
    default: return 400;
    }
}

const char *http_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 431: return "Request Header Fields Too Large";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Error";
    }
}

size_t http_format_head(int status, const char *ctype, size_t body_len,
                        char *out, size_t cap)
{
    int n = snprintf(out, cap,
                     "HTTP/1.0 %d %s\r\n"
                     "Content-Type: %s\r\n"
                     "Content-Length: %zu\r\n"
                     "%s"
                     "Cache-Control: no-store\r\n"
                     "Connection: close\r\n"
                     "\r\n",
                     status, http_reason(status), ctype, body_len,
                     status == 405 ? "Allow: GET, HEAD\r\n" : "");

    return (n < 0 || (size_t)n >= cap) ? 0 : (size_t)n;
}

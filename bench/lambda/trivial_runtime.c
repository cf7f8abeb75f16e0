/* The floor of a cold start: the least a custom runtime can do (bench/run.sh --lambda-sizes).
 *
 * Speaks the Lambda Runtime API over one keep-alive connection to AWS_LAMBDA_RUNTIME_API:
 * GET /next, POST a fixed 200 response for the request id it was given, again and again.
 * Dynamically linked against the C library like the function, no threads, no allocation.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

static char buf[1 << 20];

/* Reads one HTTP response (headers + content-length body) into buf; returns header length. */
static size_t read_response(int fd, size_t *total) {
    size_t have = 0;
    for (;;) {
        ssize_t n = read(fd, buf + have, sizeof buf - 1 - have);
        if (n <= 0) exit(1);
        have += (size_t)n;
        buf[have] = 0;
        char *end = strstr(buf, "\r\n\r\n");
        if (!end) continue;
        size_t head = (size_t)(end - buf) + 4;
        size_t length = 0;
        for (char *line = buf; line < end; line = strstr(line, "\r\n") + 2) {
            if (strncasecmp(line, "content-length:", 15) == 0) length = strtoul(line + 15, NULL, 10);
        }
        while (have < head + length) {
            n = read(fd, buf + have, sizeof buf - 1 - have);
            if (n <= 0) exit(1);
            have += (size_t)n;
        }
        buf[have] = 0;
        *total = have;
        return head;
    }
}

static void send_all(int fd, const char *data, size_t len) {
    while (len) {
        ssize_t n = write(fd, data, len);
        if (n <= 0) exit(1);
        data += n;
        len -= (size_t)n;
    }
}

int main(void) {
    const char *api = getenv("AWS_LAMBDA_RUNTIME_API");
    if (!api) return 1;
    char host[64];
    const char *colon = strchr(api, ':');
    if (!colon || (size_t)(colon - api) >= sizeof host) return 1;
    memcpy(host, api, (size_t)(colon - api));
    host[colon - api] = 0;
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(colon + 1))};
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) return 1;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) return 1;
    static const char next[] = "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nhost: runtime\r\n\r\n";
    static const char body[] = "{\"statusCode\":200,\"headers\":{\"content-type\":\"application/json\"},\"body\":\"{}\"}";
    for (;;) {
        send_all(fd, next, sizeof next - 1);
        size_t total, head = read_response(fd, &total);
        (void)total;
        char id[128] = {0};
        for (char *line = buf; line < buf + head - 2; line = strstr(line, "\r\n") + 2) {
            if (strncasecmp(line, "lambda-runtime-aws-request-id:", 30) == 0) {
                char *v = line + 30;
                while (*v == ' ') v++;
                size_t n = strcspn(v, "\r");
                if (n >= sizeof id) n = sizeof id - 1;
                memcpy(id, v, n);
            }
        }
        char post[512];
        int n = snprintf(post, sizeof post,
                         "POST /2018-06-01/runtime/invocation/%s/response HTTP/1.1\r\nhost: runtime\r\n"
                         "content-type: application/json\r\ncontent-length: %zu\r\n\r\n%s",
                         id, sizeof body - 1, body);
        send_all(fd, post, (size_t)n);
        read_response(fd, &total);
    }
}

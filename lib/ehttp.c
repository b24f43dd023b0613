/*
 * ehttp.c: the raw Engine transport (see ehttp.h).
 */
#include "compat.h"

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "clock.h"
#include "ehttp.h"
#include "log.h"

#define EHTTP_HEAD_MAX 8192

struct ehttp {
	char path[108];
	char *raw;		/* ENGINE_REPLY_MAX + EHTTP_HEAD_MAX bytes */
};

/* Case-insensitive search for a header line "name: value" in the head. */
static bool
ehttp_chunked(const char *head, size_t len)
{
	static const char want[] = "\r\ntransfer-encoding: chunked";
	size_t n = sizeof(want) - 1;

	for (size_t i = 0; i + n <= len; i++)
		if (strncasecmp(head + i, want, n) == 0)
			return true;
	return false;
}

static enum err
ehttp_dechunk(const char *p, size_t len, char *out, size_t cap,
    size_t *outlen)
{
	size_t i = 0;

	*outlen = 0;
	for (;;) {
		size_t size = 0, digits = 0;

		while (i < len && isxdigit((unsigned char)p[i]) && digits < 8) {
			char c = (char)tolower((unsigned char)p[i++]);

			size = size * 16 + (size_t)(c <= '9' ? c - '0' :
			    c - 'a' + 10);
			digits++;
		}
		if (digits == 0)
			return ERR_UPSTREAM;
		while (i < len && p[i] != '\n')	/* chunk extensions, \r */
			i++;
		if (i++ >= len)
			return ERR_UPSTREAM;
		if (size == 0)
			return ERR_OK;
		if (size > len - i)
			return ERR_UPSTREAM;
		if (size > cap - 1 - *outlen)
			return ERR_TOOBIG;
		memcpy(out + *outlen, p + i, size);
		*outlen += size;
		i += size;
		if (i + 2 > len || p[i] != '\r' || p[i + 1] != '\n')
			return ERR_UPSTREAM;
		i += 2;
	}
}

enum err
ehttp_decode(const char *buf, size_t len, long *status, char *out, size_t cap,
    size_t *outlen)
{
	size_t head_len = 0;
	int code = 0;
	enum err r;

	*outlen = 0;
	if (cap == 0)
		return ERR_TOOBIG;
	out[0] = '\0';
	if ((r = engine_parse_head(buf, len, &code, &head_len)) != ERR_OK)
		return ERR_UPSTREAM;
	*status = code;
	if (ehttp_chunked(buf, head_len - 2))
		r = ehttp_dechunk(buf + head_len, len - head_len, out, cap,
		    outlen);
	else if (len - head_len > cap - 1)
		r = ERR_TOOBIG;
	else {
		memcpy(out, buf + head_len, len - head_len);
		*outlen = len - head_len;
	}
	out[*outlen] = '\0';
	return r;
}

static enum err
ehttp_send(int s, const char *method, const char *path, const char *body)
{
	char head[768];
	size_t blen = body != NULL ? strlen(body) : 0;
	int n = snprintf(head, sizeof(head), "%s %s%s HTTP/1.1\r\n"
	    "Host: docker\r\nConnection: close\r\n%s%s%zu\r\n\r\n", method,
	    ENGINE_API, path, body != NULL ? "Content-Type: application/json"
	    "\r\n" : "", "Content-Length: ", blen);

	if (n < 0 || (size_t)n >= sizeof(head))
		return ERR_INVAL;
	if (send(s, head, (size_t)n, MSG_NOSIGNAL) != n)
		return ERR_UPSTREAM;
	if (blen > 0 && send(s, body, blen, MSG_NOSIGNAL) != (ssize_t)blen)
		return ERR_UPSTREAM;
	return ERR_OK;
}

/* Read until EOF within the deadline, into at most cap bytes. */
static enum err
ehttp_recv(int s, double deadline, char *buf, size_t cap, size_t *len)
{
	*len = 0;
	for (;;) {
		struct pollfd pfd = { s, POLLIN, 0 };
		double left = deadline - clock_mono();
		ssize_t n;

		if (left <= 0 || poll(&pfd, 1, (int)(left * 1000) + 1) == 0)
			return ERR_TIMEOUT;
		if (*len == cap)
			return ERR_TOOBIG;
		n = read(s, buf + *len, cap - *len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return ERR_UPSTREAM;
		if (n == 0)
			return ERR_OK;
		*len += (size_t)n;
	}
}

static enum err
ehttp_call(void *ctx, const char *method, const char *path, const char *body,
    long timeout_ms, long *status, char *reply, size_t cap, size_t *len)
{
	struct ehttp *h = ctx;
	struct sockaddr_un sa;
	double deadline = clock_mono() + (double)timeout_ms / 1000;
	size_t got = 0;
	int s;
	enum err r = ERR_UPSTREAM;

	*len = 0;
	reply[0] = '\0';
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, h->path, sizeof(h->path));
	if ((s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return ERR_UPSTREAM;
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) == -1)
		goto out;
	if ((r = ehttp_send(s, method, path, body)) != ERR_OK)
		goto out;
	r = ehttp_recv(s, deadline, h->raw, ENGINE_REPLY_MAX + EHTTP_HEAD_MAX,
	    &got);
	if (r == ERR_OK)
		r = ehttp_decode(h->raw, got, status, reply, cap, len);
out:
	if (r != ERR_OK && r != ERR_TOOBIG)
		log_warnx("engine: %s %s: %s", method, path, err_str(r));
	(void)close(s);
	return r;
}

static void
ehttp_free(void *ctx)
{
	struct ehttp *h = ctx;

	free(h->raw);
	free(h);
}

struct engine *
ehttp_engine_new(const char *socket_path, long timeout_ms)
{
	struct ehttp *h = xcalloc(1, sizeof(*h));
	struct engine_transport t = { ehttp_call, ehttp_free, h };

	if (!strlcpy_ok(h->path, socket_path, sizeof(h->path)))
		fatalx("engine: socket path too long: %s", socket_path);
	h->raw = xmalloc(ENGINE_REPLY_MAX + EHTTP_HEAD_MAX);
	return engine_new_transport(&t, timeout_ms);
}

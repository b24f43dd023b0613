/*
 * ws.h: a small RFC 6455 WebSocket client for the integration tests:
 * handshake (with the HTTP status when the upgrade is refused), masked
 * text frames out, messages in (continuations joined, pings answered),
 * poll timeouts everywhere.  Header-only; not for production use.
 */
#ifndef CHECK_WS_H
#define CHECK_WS_H

#include "compat.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "id.h"

#define WS_MSG_MAX (16 * 1024 * 1024)
#define WS_RBUF (11 * 1024 * 1024)	/* websocketd frames reach 10 MiB */

struct ws {
	int fd;
	int status;		/* HTTP status of the handshake */
	char *rbuf;		/* WS_RBUF bytes */
	size_t rlen;
	bool closed;
};

enum ws_type { WS_TEXT = 1, WS_BINARY = 2, WS_CLOSE = 8, WS_NONE = 0 };

static inline bool
ws_read_more(struct ws *w, int timeout_ms)
{
	struct pollfd pfd = { w->fd, POLLIN, 0 };
	ssize_t n;

	if (w->rlen == WS_RBUF)
		return false;
	if (poll(&pfd, 1, timeout_ms) <= 0)
		return false;
	n = read(w->fd, w->rbuf + w->rlen, WS_RBUF - w->rlen);
	if (n <= 0) {
		w->closed = true;
		return false;
	}
	w->rlen += (size_t)n;
	return true;
}

static inline bool
ws_write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

static inline void
ws_b64(const unsigned char *in, size_t n, char *out)
{
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;

	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)in[i] << 16 |
		    (i + 1 < n ? (unsigned)in[i + 1] << 8 : 0) |
		    (i + 2 < n ? in[i + 2] : 0);

		out[o++] = t[v >> 18 & 63];
		out[o++] = t[v >> 12 & 63];
		out[o++] = i + 1 < n ? t[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? t[v & 63] : '=';
	}
	out[o] = '\0';
}

/*
 * Open ws://127.0.0.1:port<path>, from src (a loopback address, or NULL),
 * with Origin origin (NULL: none) and extra header lines (NULL-terminated,
 * may be NULL).  Returns false on a transport failure; otherwise w->status
 * is the HTTP status (101 when open).
 */
static inline bool
ws_open(struct ws *w, int port, const char *path, const char *src,
    const char *origin, const char *const *hdrs)
{
	struct sockaddr_in sa;
	unsigned char key[16];
	char k64[32], req[2048], *end;
	size_t len;

	memset(w, 0, sizeof(*w));
	w->rbuf = malloc(WS_RBUF);
	if (w->rbuf == NULL)
		return false;
	w->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (w->fd < 0)
		return false;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	if (src != NULL) {
		(void)inet_pton(AF_INET, src, &sa.sin_addr);
		if (bind(w->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
			return false;
	}
	sa.sin_port = htons((uint16_t)port);
	(void)inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	if (connect(w->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		return false;
	(void)id_random(key, sizeof(key));
	ws_b64(key, sizeof(key), k64);
	len = (size_t)snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\n"
	    "Host: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n%s%s%s",
	    path, port, k64, origin != NULL ? "Origin: " : "",
	    origin != NULL ? origin : "", origin != NULL ? "\r\n" : "");
	for (size_t i = 0; hdrs != NULL && hdrs[i] != NULL; i++)
		len += (size_t)snprintf(req + len, sizeof(req) - len, "%s\r\n",
		    hdrs[i]);
	len += (size_t)snprintf(req + len, sizeof(req) - len, "\r\n");
	if (!ws_write_all(w->fd, req, len))
		return false;
	while ((end = memmem(w->rbuf, w->rlen, "\r\n\r\n", 4)) == NULL)
		if (!ws_read_more(w, 10000))
			return false;
	if (sscanf(w->rbuf, "HTTP/1.1 %d", &w->status) != 1)
		return false;
	/* Keep what came after the head. */
	len = (size_t)(end + 4 - w->rbuf);
	memmove(w->rbuf, w->rbuf + len, w->rlen - len);
	w->rlen -= len;
	return true;
}

static inline bool
ws_send_frame(struct ws *w, int opcode, const char *data, size_t n)
{
	unsigned char h[14], mask[4];
	size_t hl = 2;
	char *buf;
	bool ok;

	h[0] = (unsigned char)(0x80 | opcode);
	if (n < 126)
		h[1] = (unsigned char)(0x80 | n);
	else if (n < 65536) {
		h[1] = 0x80 | 126;
		h[2] = (unsigned char)(n >> 8);
		h[3] = (unsigned char)n;
		hl = 4;
	} else {
		h[1] = 0x80 | 127;
		for (int i = 0; i < 8; i++)
			h[2 + i] = (unsigned char)((uint64_t)n >> (56 - 8 * i));
		hl = 10;
	}
	(void)id_random(mask, sizeof(mask));
	memcpy(h + hl, mask, 4);
	hl += 4;
	buf = malloc(hl + n);
	if (buf == NULL)
		return false;
	memcpy(buf, h, hl);
	for (size_t i = 0; i < n; i++)
		buf[hl + i] = (char)(data[i] ^ mask[i % 4]);
	ok = ws_write_all(w->fd, buf, hl + n);
	free(buf);
	return ok;
}

static inline bool
ws_send_text(struct ws *w, const char *s)
{
	return ws_send_frame(w, WS_TEXT, s, strlen(s));
}

/* Need n buffered bytes, waiting until deadline (clock_mono seconds). */
static inline bool
ws_need(struct ws *w, size_t n, int timeout_ms)
{
	while (w->rlen < n)
		if (!ws_read_more(w, timeout_ms))
			return false;
	return true;
}

/*
 * Receive one message into *out (malloc'd, NUL-terminated, *len bytes).
 * Returns its type, WS_CLOSE when the server closed (or the TCP connection
 * ended), WS_NONE on timeout.
 */
static inline enum ws_type
ws_recv(struct ws *w, int timeout_ms, char **out, size_t *len)
{
	enum ws_type type = WS_NONE;
	size_t cap = 0;
	char *msg = NULL;

	*out = NULL;
	*len = 0;
	for (;;) {
		size_t hl = 2, plen;
		unsigned op;
		bool fin;

		if (!ws_need(w, 2, timeout_ms))
			goto fail;
		fin = (w->rbuf[0] & 0x80) != 0;
		op = (unsigned)w->rbuf[0] & 0x0f;
		plen = (unsigned char)w->rbuf[1] & 0x7f;
		if (plen == 126) {
			if (!ws_need(w, 4, timeout_ms))
				goto fail;
			plen = (size_t)((unsigned char)w->rbuf[2] << 8 |
			    (unsigned char)w->rbuf[3]);
			hl = 4;
		} else if (plen == 127) {
			if (!ws_need(w, 10, timeout_ms))
				goto fail;
			plen = 0;
			for (int i = 0; i < 8; i++)
				plen = plen << 8 | (unsigned char)w->rbuf[2 + i];
			hl = 10;
		}
		if (plen > WS_RBUF - hl || *len + plen > WS_MSG_MAX ||
		    !ws_need(w, hl + plen, timeout_ms))
			goto fail;
		if (op == 9) {		/* ping: answer, keep going */
			(void)ws_send_frame(w, 10, w->rbuf + hl, plen);
		} else if (op == WS_CLOSE) {
			free(msg);
			w->closed = true;
			return WS_CLOSE;
		} else if (op != 10) {
			if (op != 0)
				type = (enum ws_type)op;
			if (*len + plen + 1 > cap) {
				cap = (*len + plen + 1) * 2;
				msg = realloc(msg, cap);
				if (msg == NULL)
					return WS_NONE;
			}
			memcpy(msg + *len, w->rbuf + hl, plen);
			*len += plen;
			msg[*len] = '\0';
		}
		memmove(w->rbuf, w->rbuf + hl + plen, w->rlen - hl - plen);
		w->rlen -= hl + plen;
		if (fin && op != 9 && op != 10 && type != WS_NONE) {
			*out = msg;
			return type;
		}
	}
fail:
	free(msg);
	*len = 0;
	return w->closed ? WS_CLOSE : WS_NONE;
}

static inline void
ws_close(struct ws *w)
{
	if (w->fd >= 0) {
		if (!w->closed)
			(void)ws_send_frame(w, WS_CLOSE, "\x03\xe8", 2);
		(void)close(w->fd);
	}
	w->fd = -1;
	free(w->rbuf);
	w->rbuf = NULL;
}

#endif /* CHECK_WS_H */

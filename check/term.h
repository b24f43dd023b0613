/*
 * term.h: a terminal client for the integration suites: a WebSocket
 * through Caddy to a session's shell, everything it printed, its control
 * frames in order.  The including suite defines KEY and ORIGIN and a
 * `static struct stack st` (check/stack.h) before including this.
 */
#ifndef TERM_H
#define TERM_H

#include <jansson.h>

#include "clock.h"
#include "stack.h"
#include "ws.h"

/* A terminal: its socket, everything it printed, its control frames. */
struct term {
	struct ws ws;
	char *out;		/* terminal bytes, NUL-terminated */
	size_t len, cap;
	char ctl[8][512];	/* control frames in order */
	size_t ctl_at[8];	/* len (terminal bytes before it) for each */
	size_t nctl;
	size_t frames;		/* binary terminal frames received */
	bool bad_utf8_frame;	/* a terminal frame that is not whole UTF-8 */
};

static inline bool
utf8_whole(const char *s, size_t n)
{
	const unsigned char *b = (const unsigned char *)s;
	size_t i = 0;

	while (i < n) {
		size_t need = b[i] < 0x80 ? 1 : (b[i] & 0xe0) == 0xc0 ? 2 :
		    (b[i] & 0xf0) == 0xe0 ? 3 : (b[i] & 0xf8) == 0xf0 ? 4 : 0;

		if (need == 0 || i + need > n)
			return false;
		for (size_t k = 1; k < need; k++)
			if ((b[i + k] & 0xc0) != 0x80)
				return false;
		i += need;
	}
	return true;
}

static inline bool
is_control(const char *m, size_t n)
{
	json_t *j;
	bool ok;

	if (n == 0 || m[0] != '{')
		return false;
	j = json_loadb(m, n, 0, NULL);
	ok = json_is_string(json_object_get(j, "type"));
	json_decref(j);
	return ok;
}

/* Read one message; false on close or timeout. */
static inline bool
term_read(struct term *t, int timeout_ms)
{
	enum ws_type type;
	char *m;
	size_t n;

	type = ws_recv(&t->ws, timeout_ms, &m, &n);
	if (type != WS_TEXT && type != WS_BINARY) {
		free(m);
		return false;
	}
	if (is_control(m, n)) {
		if (t->nctl < 8) {
			t->ctl_at[t->nctl] = t->len;
			(void)snprintf(t->ctl[t->nctl++], sizeof(t->ctl[0]), "%s",
			    m);
		}
	} else {
		if (!utf8_whole(m, n))
			t->bad_utf8_frame = true;
		t->frames++;
		if (t->len + n + 1 > t->cap) {
			t->cap = (t->len + n + 1) * 2;
			t->out = realloc(t->out, t->cap);
			ck_assert_ptr_nonnull(t->out);
		}
		memcpy(t->out + t->len, m, n);
		t->len += n;
		t->out[t->len] = '\0';
	}
	free(m);
	return true;
}

/* Read until the output (from offset from) contains needle. */
static inline bool
term_wait(struct term *t, size_t from, const char *needle, int ms)
{
	double end = clock_mono() + ms / 1000.0;
	size_t nl = strlen(needle), at = from;

	for (;;) {
		/* Search only what is new (plus an overlap): the output can
		 * be megabytes. */
		if (t->out != NULL && at <= t->len &&
		    strstr(t->out + at, needle) != NULL)
			return true;
		if (t->len > at + nl)
			at = t->len - nl;
		if (clock_mono() > end || (!term_read(t, 200) && t->ws.closed))
			break;
	}
	return t->out != NULL && at <= t->len &&
	    strstr(t->out + at, needle) != NULL;
}

/* Read until a control frame containing needle; true when seen. */
static inline bool
term_wait_ctl(struct term *t, const char *needle, int ms)
{
	double end = clock_mono() + ms / 1000.0;

	for (;;) {
		for (size_t i = 0; i < t->nctl; i++)
			if (strstr(t->ctl[i], needle) != NULL)
				return true;
		if (clock_mono() > end || (!term_read(t, 200) && t->ws.closed))
			break;
	}
	for (size_t i = 0; i < t->nctl; i++)
		if (strstr(t->ctl[i], needle) != NULL)
			return true;
	return false;
}

/* Read until the socket closes (or ms pass); true when it closed. */
static inline bool
term_wait_closed(struct term *t, int ms)
{
	double end = clock_mono() + ms / 1000.0;

	while (!t->ws.closed && clock_mono() < end)
		(void)term_read(t, 200);
	return t->ws.closed;
}

static inline void
term_free(struct term *t)
{
	ws_close(&t->ws);
	free(t->out);
	memset(t, 0, sizeof(*t));
}

/* Open a terminal on session id through Caddy; returns the HTTP status. */
static inline int
term_open_at(struct term *t, int port, const char *id, const char *src,
    const char *origin, const char *query)
{
	char path[256];

	memset(t, 0, sizeof(*t));
	(void)snprintf(path, sizeof(path), "/api/v1/sessions/%s/ws%s%s", id,
	    query != NULL ? "?" : "", query != NULL ? query : "");
	ck_assert_msg(ws_open(&t->ws, port, path, src, origin, NULL),
	    "cannot reach port %d", port);
	return t->ws.status;
}

/* Open through Caddy with the key and Origin, and wait for the prompt. */
static inline void
term_ready(struct term *t, const char *id, const char *src, const char *q)
{
	char query[160];

	(void)snprintf(query, sizeof(query), "api_key=%s%s%s", KEY,
	    q != NULL ? "&" : "", q != NULL ? q : "");
	ck_assert_int_eq(term_open_at(t, st.port, id, src, ORIGIN, query), 101);
	ck_assert_msg(term_wait(t, 0, "$\x1b[0m ", 15000), "no prompt: %.200s",
	    t->out != NULL ? t->out : "(nothing)");
}

static inline void
term_send(struct term *t, const char *s)
{
	ck_assert(ws_send_text(&t->ws, s));
}

/* Run a command (TryIt style: "cmd\n") and wait for a marker after it. */
static inline void
term_run(struct term *t, const char *cmd, const char *expect)
{
	size_t from = t->len;
	char line[1024];

	(void)snprintf(line, sizeof(line), "%s\n", cmd);
	term_send(t, line);
	ck_assert_msg(term_wait(t, from, expect, 15000),
	    "'%s' did not print '%s'; last of the output: %s", cmd, expect,
	    t->out == NULL ? "" : t->len - from > 200 ? t->out + t->len - 200 :
	    t->out + from);
}

#endif /* TERM_H */

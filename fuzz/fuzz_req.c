/*
 * fuzz_req.c: drives fcgi/req.c (req_init's caps, body reader, client IP,
 * req_header, req_query's URL decoding) and fcgi/reply.c (reply_header,
 * reply_retry, reply_error, reply_text, reply_write).  Input: one flags
 * byte shaping the body reader, then NUL-separated CGI parameters; the
 * last field, the body, is the rest of the input and may hold NULs.
 */
#include "compat.h"

#include <arpa/inet.h>
#include <limits.h>

#include "api.h"
#include "cfg.h"
#include "log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The fields of an input, in order; F_BODY takes the rest. */
enum req_field {
	F_METHOD,
	F_PATH,
	F_QUERY,
	F_CLEN,
	F_XFF,
	F_REMOTE,
	F_ORIGIN,
	F_URI,
	F_PROTO,
	F_HNAME,
	F_HVALUE,
	F_BODY,
	F_MAX
};

/* The CGI variable each field is passed as (NULL: not a variable). */
static const char *const req_vars[F_MAX] = {
	[F_METHOD] = "REQUEST_METHOD",
	[F_PATH] = "PATH_INFO",
	[F_QUERY] = "QUERY_STRING",
	[F_CLEN] = "CONTENT_LENGTH",
	[F_XFF] = "HTTP_XCLIENTIP",
	[F_REMOTE] = "REMOTE_ADDR",
	[F_ORIGIN] = "HTTP_ORIGIN",
	[F_URI] = "REQUEST_URI",
	[F_PROTO] = "HTTP_X_FORWARDED_PROTO",
};

static const char *const req_query_names[] = {
	"api_key", "sessionId", "toolPair", "", "a",
};

static const size_t req_query_sizes[] = { 1, 8, 65, REQ_QUERY_MAX + 1 };

/* A body served from memory, repeat times, at most chunk bytes a read. */
struct req_reader {
	const struct req *req;
	const char *buf;
	size_t len, pos;
	unsigned repeat;
	size_t chunk;
	size_t served;
};

/* Everything written by reply_write(). */
struct req_sink {
	char *buf;
	size_t len, cap;
	size_t headlen;
	int calls;
};

static struct cfg req_cfg;

static void
req_check(bool ok, const char *what)
{
	if (ok)
		return;
	(void)fprintf(stderr, "fuzz_req: invariant failed: %s\n", what);
	abort();
}

static const char *
req_fakeenv(const char *name, void *arg ATTR_UNUSED)
{
	if (strcmp(name, "SANDBOX_TRUSTED_PROXIES") == 0)
		return "127.0.0.1,::1,10.0.0.0/8";
	if (strcmp(name, "SANDBOX_ALLOWED_ORIGINS") == 0)
		return "https://toolkata.com,http://localhost:3000";
	return NULL;
}

int
LLVMFuzzerInitialize(int *argc ATTR_UNUSED, char ***argv ATTR_UNUSED)
{
	char *errstr = NULL;

	if (cfg_load(&req_cfg, req_fakeenv, NULL, &errstr) != ERR_OK)
		fatalx("fuzz_req: cfg_load: %s", errstr != NULL ? errstr : "?");
	return 0;
}

static long
req_read(void *ctx, char *buf, size_t n)
{
	struct req_reader *r = ctx;
	const char *lo = r->req->body;

	/* req.c must never ask for more than its own buffer holds. */
	req_check(buf >= lo && n <= sizeof(r->req->body) &&
	    (size_t)(buf - lo) + n <= sizeof(r->req->body),
	    "read request beyond req->body");
	if (r->len == 0)
		return 0;
	if (r->pos == r->len) {
		if (r->repeat <= 1)
			return 0;
		r->repeat--;
		r->pos = 0;
	}
	if (n > r->chunk)
		n = r->chunk;
	if (n > r->len - r->pos)
		n = r->len - r->pos;
	memcpy(buf, r->buf + r->pos, n);
	r->pos += n;
	r->served += n;
	return (long)n;
}

static void
req_write(void *ctx, const char *buf, size_t n)
{
	struct req_sink *s = ctx;

	if (s->len + n > s->cap) {
		s->cap = (s->len + n) * 2;
		s->buf = realloc(s->buf, s->cap);
		req_check(s->buf != NULL, "realloc");
	}
	memcpy(s->buf + s->len, buf, n);
	s->len += n;
	if (s->calls++ == 0)
		s->headlen = n;
}

/* "K=V" in a fresh allocation. */
static char *
req_kv(const char *k, const char *v)
{
	size_t n = strlen(k) + strlen(v) + 2;
	char *s = xmalloc(n);

	(void)snprintf(s, n, "%s=%s", k, v);
	return s;
}

/*
 * Split the input past the flags byte into the fields; absent fields stay
 * NULL.  copy holds size + 1 bytes.  Returns the body length.
 */
static size_t
req_split(char *copy, size_t size, const char *f[F_MAX])
{
	char *p = copy, *end = copy + size;

	for (int i = 0; i < F_BODY; i++) {
		char *nul = memchr(p, '\0', (size_t)(end - p));

		f[i] = p;
		if (nul == NULL)
			return 0;
		p = nul + 1;
	}
	f[F_BODY] = p;
	return (size_t)(end - p);
}

static bool
req_is_ip(const char *s)
{
	unsigned char a[16];

	return inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1;
}

/* The invariants of a filled struct req. */
static void
req_check_req(const struct req *req, const char *const f[F_MAX],
    const struct req_reader *rd)
{
	const char *h;

	req_check(req->cap_status == 0 || req->cap_status == 413 ||
	    req->cap_status == 414 || req->cap_status == 431, "cap_status");
	req_check(req->bodylen <= REQ_BODY_MAX, "bodylen over REQ_BODY_MAX");
	req_check(req->body[req->bodylen] == '\0', "body not terminated");
	req_check(req->bodylen <= rd->served, "body longer than was read");
	req_check(req->cap_status != 413 || req->bodylen == 0,
	    "413 with a body");
	req_check(strnlen(req->path, sizeof(req->path)) <= REQ_PATH_MAX,
	    "path over REQ_PATH_MAX");
	req_check(req->method != NULL && *req->method != '\0', "no method");
	req_check(req->query != NULL, "no query");
	req_check(strcmp(req->ip, "unknown") == 0 || req_is_ip(req->ip),
	    "client ip neither unknown nor an address");
	if (req->cap_status == 0) {
		req_check(strlen(req->query) <= REQ_QUERY_MAX, "long query");
		if (f[F_PATH] != NULL && *f[F_PATH] != '\0')
			req_check(strcmp(req->path, f[F_PATH]) == 0,
			    "path differs from PATH_INFO");
	}
	if (f[F_PATH] != NULL && strlen(f[F_PATH]) > REQ_PATH_MAX)
		req_check(req->cap_status != 0, "long PATH_INFO let through");
	for (int i = 0; i < F_BODY; i++) {
		if (req_vars[i] == NULL ||
		    strncmp(req_vars[i], "HTTP_", 5) != 0)
			continue;
		h = req_header(req, req_vars[i]);
		req_check(h == NULL || strlen(h) <= REQ_HEADER_MAX,
		    "req_header over REQ_HEADER_MAX");
		if (f[i] != NULL && strlen(f[i]) > REQ_HEADER_MAX)
			req_check(req->cap_status != 0,
			    "long header let through");
	}
}

static void
req_check_query(const char *query, const char *name)
{
	for (size_t i = 0; i < nitems(req_query_sizes); i++) {
		size_t sz = req_query_sizes[i];
		char *out = xmalloc(sz);

		if (req_query(query, name, out, sz))
			req_check(memchr(out, '\0', sz) != NULL,
			    "req_query result not terminated");
		free(out);
	}
}

/* A written reply: one head, CRLF-only line ends, the right length. */
static void
req_check_written(const struct reply *rep, const struct req_sink *s)
{
	const char *head = s->buf, *cl;
	size_t hl = s->headlen;
	char want[64];

	req_check(s->calls >= 1 && hl >= 4, "no head written");
	req_check(s->len == hl + rep->bodylen, "written length");
	req_check(strncmp(head, "Status: ", 8) == 0, "no status line");
	req_check(memcmp(head + hl - 4, "\r\n\r\n", 4) == 0,
	    "head does not end in an empty line");
	req_check(memchr(head, '\0', hl) == NULL, "NUL in head");
	for (size_t i = 0, bol = 0; i < hl; i++) {
		if (head[i] == '\r')
			req_check(i + 1 < hl && head[i + 1] == '\n', "bare CR");
		if (head[i] != '\n')
			continue;
		req_check(i > 0 && head[i - 1] == '\r', "bare LF");
		/* Every line but the last, empty one is "name: value". */
		if (i + 1 < hl)
			req_check(memchr(head + bol, ':', i - bol) != NULL,
			    "header line without a colon");
		bol = i + 1;
	}
	req_check(memmem(head, hl - 2, "\r\n\r\n", 4) == NULL,
	    "empty line inside the head");
	(void)snprintf(want, sizeof(want), "\r\nContent-Length: %zu\r\n",
	    rep->bodylen);
	cl = memmem(head, hl, want, strlen(want));
	req_check(cl != NULL, "Content-Length missing or wrong");
}

static void
req_write_check(const struct reply *rep)
{
	struct req_sink s;

	memset(&s, 0, sizeof(s));
	reply_write(rep, req_write, &s);
	req_check_written(rep, &s);
	free(s.buf);
}

/* Build replies from the fields as the handlers would, write, check. */
static void
req_replies(const struct req *req, const char *const f[F_MAX])
{
	struct reply rep;
	long long retry = 0;
	size_t hlen;

	reply_init(&rep);
	if (f[F_ORIGIN] != NULL && cfg_origin_allowed(&req_cfg, f[F_ORIGIN])) {
		reply_header(&rep, "Access-Control-Allow-Origin", f[F_ORIGIN]);
		reply_header(&rep, "Vary", "Origin");
	}
	if (f[F_HNAME] != NULL && f[F_HVALUE] != NULL) {
		hlen = rep.hlen;
		reply_header(&rep, f[F_HNAME], f[F_HVALUE]);
		if (strpbrk(f[F_HVALUE], "\r\n") != NULL ||
		    strpbrk(f[F_HNAME], "\r\n:") != NULL)
			req_check(rep.hlen == hlen, "CR/LF header accepted");
	}
	reply_header(&rep, "Location", req->path);
	req_check(rep.hlen < sizeof(rep.headers) &&
	    rep.headers[rep.hlen] == '\0', "header block not terminated");
	if (f[F_CLEN] == NULL ||
	    cfg_parse_int(f[F_CLEN], -(1LL << 40), 1LL << 40, &retry) != ERR_OK)
		retry = 60;
	reply_retry(&rep, 429, "TooManySessions", req->query, retry);
	req_check(rep.body != NULL && rep.bodylen == strlen(rep.body),
	    "retry body");
	req_write_check(&rep);

	reply_error(&rep, req->cap_status != 0 ? req->cap_status : 404,
	    req->method, f[F_HVALUE] != NULL ? f[F_HVALUE] : "");
	req_write_check(&rep);
	reply_err(&rep, (enum err)(req->bodylen % (ERR_TOOBIG + 1)));
	req_write_check(&rep);
	reply_text(&rep, 200, "text/plain; version=0.0.4", req->body,
	    req->bodylen);
	req_write_check(&rep);
	reply_release(&rep);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *f[F_MAX] = { NULL };
	char *envp[F_MAX + 1] = { NULL };
	struct req_reader rd;
	struct req *req;
	char *copy;
	size_t bodylen, n = 0;
	unsigned flags;

	if (size < 1)
		return 0;
	flags = data[0];
	copy = xmalloc(size);
	memcpy(copy, data + 1, size - 1);
	copy[size - 1] = '\0';
	bodylen = req_split(copy, size - 1, f);
	for (int i = 0; i < F_BODY; i++)
		if (f[i] != NULL && req_vars[i] != NULL)
			envp[n++] = req_kv(req_vars[i], f[i]);

	/* Flags: low nibble + 1 = times the body is served, bits 4-6 = log2
	 * of the bytes per read, bit 7 = no per-read limit. */
	req = xcalloc(1, sizeof(*req));
	memset(&rd, 0, sizeof(rd));
	rd.req = req;
	rd.buf = f[F_BODY];
	rd.len = f[F_BODY] != NULL ? bodylen : 0;
	rd.repeat = (flags & 0x0f) + 1;
	rd.chunk = (size_t)1 << ((flags >> 4) & 0x07);
	if ((flags & 0x80) != 0)
		rd.chunk = SIZE_MAX;

	req_init(req, &req_cfg, envp, req_read, &rd);
	req_check_req(req, f, &rd);
	for (size_t i = 0; i < nitems(req_query_names); i++)
		req_check_query(req->query, req_query_names[i]);
	if (f[F_HNAME] != NULL)
		req_check_query(req->query, f[F_HNAME]);
	req_replies(req, f);

	free(req);
	for (size_t i = 0; i < n; i++)
		free(envp[i]);
	free(copy);
	return 0;
}

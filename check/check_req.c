/*
 * check_req.c: fcgi/req.c and fcgi/reply.c without a web server: a fake CGI
 * environment and a memory reader drive req_init() through its caps
 * (414/431/413), bodies with and without CONTENT_LENGTH, query decoding
 * and the client IP; replies are checked on the bytes reply_write() makes.
 */
#include "compat.h"

#include <fcntl.h>
#include <unistd.h>

#include "api.h"
#include "stepcheck.h"
#include "log.h"
#include "util.h"

/* ---- a fake CGI environment ---------------------------------------- */

struct fenv {
	char *v[40];
	size_t n;
};

ATTR_PRINTF(2, 3) static void
fenv_add(struct fenv *fe, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int r;

	ck_assert_uint_lt(fe->n + 1, nitems(fe->v));
	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	ck_assert_int_ge(r, 0);
	fe->v[fe->n++] = s;
	fe->v[fe->n] = NULL;
}

/* NAME=<n copies of c> */
static void
fenv_fill(struct fenv *fe, const char *name, const char *prefix, char c,
    size_t n)
{
	char *val = xmalloc(n + 1);

	memset(val, c, n);
	val[n] = '\0';
	fenv_add(fe, "%s=%s%s", name, prefix, val);
	free(val);
}

static void
fenv_free(struct fenv *fe)
{
	for (size_t i = 0; i < fe->n; i++)
		free(fe->v[i]);
	fe->n = 0;
	fe->v[0] = NULL;
}

/* ---- a body reader over memory ------------------------------------- */

struct mem {
	const char *buf;
	size_t len, off;
	size_t chunk;	/* most bytes per read (short reads) */
	int calls;
	bool fail;	/* return -1 after the data */
};

static long
mem_read(void *ctx, char *buf, size_t n)
{
	struct mem *m = ctx;
	size_t k = m->len - m->off;

	m->calls++;
	if (k == 0)
		return m->fail ? -1 : 0;
	if (k > n)
		k = n;
	if (m->chunk > 0 && k > m->chunk)
		k = m->chunk;
	memcpy(buf, m->buf + m->off, k);
	m->off += k;
	return (long)k;
}

static struct cfg cfg;
static struct req *rq;

static void
setup(void)
{
	struct fakeenv fe;

	memset(&fe, 0, sizeof(fe));
	util_cfg(&cfg, &fe);
	rq = xcalloc(1, sizeof(*rq));
}

static void
teardown(void)
{
	free(rq);
	rq = NULL;
	cfg_release(&cfg);
}

static char *
body_of(size_t n)
{
	char *b = xmalloc(n + 1);

	for (size_t i = 0; i < n; i++)
		b[i] = (char)('a' + i % 26);
	b[n] = '\0';
	return b;
}

/* ---- method, path, query ------------------------------------------- */

START_TEST(test_defaults)
{
	struct fenv fe = { { NULL }, 0 };
	struct mem m = { "x", 1, 0, 0, 0, false };

	fenv_add(&fe, "REMOTE_ADDR=%s", "203.0.113.5");
	fenv_add(&fe, "HTTP_ORIGINX=https://not-the-origin.example");
	fenv_add(&fe, "XHTTP_ORIGIN=https://not-the-origin.example");
	req_init(rq, &cfg, fe.v, mem_read, &m);
	ck_assert_str_eq(rq->method, "GET");
	ck_assert_str_eq(rq->path, "/");
	ck_assert_str_eq(rq->query, "");
	ck_assert_int_eq(rq->cap_status, 0);
	ck_assert_uint_eq(rq->bodylen, 0);
	ck_assert_str_eq(rq->body, "");
	ck_assert_int_eq(m.calls, 0);	/* GET reads no body */
	ck_assert_str_eq(rq->ip, "203.0.113.5");
	ck_assert_ptr_null(req_param(rq, "HTTP_ORIGIN"));
	ck_assert_str_eq(req_param(rq, "REMOTE_ADDR"), "203.0.113.5");
	fenv_free(&fe);
}
END_TEST

START_TEST(test_empty_method)
{
	struct fenv fe = { { NULL }, 0 };
	struct mem m = { "", 0, 0, 0, 0, false };

	fenv_add(&fe, "REQUEST_METHOD=");
	fenv_add(&fe, "PATH_INFO=/health");
	req_init(rq, &cfg, fe.v, mem_read, &m);
	ck_assert_str_eq(rq->method, "GET");
	ck_assert_str_eq(rq->path, "/health");
	/* No peer address at all. */
	ck_assert_str_eq(rq->ip, "unknown");
	fenv_free(&fe);
}
END_TEST

START_TEST(test_path_info)
{
	struct fenv fe = { { NULL }, 0 };
	struct mem m = { "", 0, 0, 0, 0, false };

	fenv_add(&fe, "REQUEST_METHOD=DELETE");
	fenv_add(&fe, "PATH_INFO=/api/v1/sessions/abc");
	fenv_add(&fe, "REQUEST_URI=/other/path?x=1");
	fenv_add(&fe, "QUERY_STRING=x=1");
	req_init(rq, &cfg, fe.v, mem_read, &m);
	ck_assert_str_eq(rq->method, "DELETE");
	ck_assert_str_eq(rq->path, "/api/v1/sessions/abc");
	ck_assert_str_eq(rq->query, "x=1");
	ck_assert_int_eq(m.calls, 0);	/* DELETE reads no body */
	fenv_free(&fe);
}
END_TEST

START_TEST(test_request_uri_fallback)
{
	struct fenv fe = { { NULL }, 0 };
	struct mem m = { "", 0, 0, 0, 0, false };

	fenv_add(&fe, "PATH_INFO=");
	fenv_add(&fe, "REQUEST_URI=/internal/ws-auth?sessionId=s&t=1?x");
	fenv_add(&fe, "QUERY_STRING=sessionId=s&t=1?x");
	req_init(rq, &cfg, fe.v, mem_read, &m);
	ck_assert_str_eq(rq->path, "/internal/ws-auth");
	ck_assert_str_eq(rq->query, "sessionId=s&t=1?x");
	ck_assert_int_eq(rq->cap_status, 0);
	fenv_free(&fe);

	fenv_add(&fe, "REQUEST_URI=/metrics");
	req_init(rq, &cfg, fe.v, mem_read, &m);
	ck_assert_str_eq(rq->path, "/metrics");
	fenv_free(&fe);

	/* A long query does not count against the path cap. */
	fenv_fill(&fe, "REQUEST_URI", "/health?", 'q', 1000);
	req_init(rq, &cfg, fe.v, mem_read, &m);
	ck_assert_str_eq(rq->path, "/health");
	ck_assert_int_eq(rq->cap_status, 0);
	fenv_free(&fe);
}
END_TEST

START_TEST(test_path_cap)
{
	struct fenv fe = { { NULL }, 0 };
	struct mem m = { "{}", 2, 0, 0, 0, false };

	fenv_fill(&fe, "PATH_INFO", "/", 'p', 255);	/* 256 bytes */
	req_init(rq, &cfg, fe.v, mem_read, &m);
	ck_assert_int_eq(rq->cap_status, 0);
	ck_assert_uint_eq(strlen(rq->path), 256);
	fenv_free(&fe);

	fenv_add(&fe, "REQUEST_METHOD=POST");
	fenv_add(&fe, "CONTENT_LENGTH=2");
	fenv_fill(&fe, "PATH_INFO", "/", 'p', 256);	/* 257 bytes */
	req_init(rq, &cfg, fe.v, mem_read, &m);
	ck_assert_int_eq(rq->cap_status, 414);
	ck_assert_str_eq(rq->path, "");
	ck_assert_int_eq(m.calls, 0);	/* no body read once a cap hit */
	fenv_free(&fe);

	fenv_fill(&fe, "REQUEST_URI", "/", 'p', 300);
	req_init(rq, &cfg, fe.v, mem_read, &m);
	ck_assert_int_eq(rq->cap_status, 414);
	fenv_free(&fe);
}
END_TEST

START_TEST(test_query_cap)
{
	struct fenv fe = { { NULL }, 0 };
	struct mem m = { "", 0, 0, 0, 0, false };

	fenv_fill(&fe, "QUERY_STRING", "", 'q', 2048);
	req_init(rq, &cfg, fe.v, mem_read, &m);
	ck_assert_int_eq(rq->cap_status, 0);
	fenv_free(&fe);
	fenv_fill(&fe, "QUERY_STRING", "", 'q', 2049);
	req_init(rq, &cfg, fe.v, mem_read, &m);
	ck_assert_int_eq(rq->cap_status, 414);
	fenv_free(&fe);
}
END_TEST

static const char *const capped[] = {
	"HTTP_ORIGIN", "HTTP_X_API_KEY", "HTTP_HOST", "HTTP_XCLIENTIP",
	"HTTP_X_FORWARDED_URI", "HTTP_X_FORWARDED_PROTO",
	"HTTP_X_FORWARDED_METHOD",
};

START_TEST(test_header_cap)
{
	struct fenv fe = { { NULL }, 0 };
	struct mem m = { "", 0, 0, 0, 0, false };

	fenv_add(&fe, "REMOTE_ADDR=127.0.0.1");
	fenv_fill(&fe, capped[_i], "", '1', 1024);
	req_init(rq, &cfg, fe.v, mem_read, &m);
	ck_assert_int_eq(rq->cap_status, 0);
	ck_assert_ptr_nonnull(req_header(rq, capped[_i]));
	ck_assert_uint_eq(strlen(req_header(rq, capped[_i])), 1024);
	fenv_free(&fe);

	fenv_add(&fe, "REMOTE_ADDR=127.0.0.1");
	fenv_fill(&fe, capped[_i], "", '1', 1025);
	req_init(rq, &cfg, fe.v, mem_read, &m);
	ck_assert_int_eq(rq->cap_status, 431);
	ck_assert_ptr_null(req_header(rq, capped[_i]));
	ck_assert_ptr_nonnull(req_param(rq, capped[_i]));
	ck_assert_str_eq(rq->ip, "127.0.0.1");
	fenv_free(&fe);
}
END_TEST

/* ---- body ---------------------------------------------------------- */

START_TEST(test_body_content_length)
{
	struct fenv fe = { { NULL }, 0 };
	struct mem m = { "{\"toolPair\":\"jj-git\"} and more", 31, 0, 4, 0,
		false };

	fenv_add(&fe, "REQUEST_METHOD=POST");
	fenv_add(&fe, "CONTENT_LENGTH=21");
	req_init(rq, &cfg, fe.v, mem_read, &m);
	ck_assert_int_eq(rq->cap_status, 0);
	ck_assert_uint_eq(rq->bodylen, 21);
	ck_assert_str_eq(rq->body, "{\"toolPair\":\"jj-git\"}");
	/* Short reads of 4 bytes: gathered, and nothing past the length. */
	ck_assert_uint_eq(m.off, 21);
	fenv_free(&fe);
}
END_TEST

static const char *const body_methods[] = { "POST", "PUT", "PATCH" };

START_TEST(test_body_methods)
{
	struct fenv fe = { { NULL }, 0 };
	struct mem m = { "abc", 3, 0, 0, 0, false };

	fenv_add(&fe, "REQUEST_METHOD=%s", body_methods[_i]);
	fenv_add(&fe, "CONTENT_LENGTH=3");
	req_init(rq, &cfg, fe.v, mem_read, &m);
	ck_assert_str_eq(rq->body, "abc");
	fenv_free(&fe);
}
END_TEST

static const char *const no_length[] = { NULL, "-1", "", "abc", "12x" };

START_TEST(test_body_to_eof)
{
	struct fenv fe = { { NULL }, 0 };
	struct mem m = { "chunked upload body", 19, 0, 5, 0, false };

	fenv_add(&fe, "REQUEST_METHOD=POST");
	if (no_length[_i] != NULL)
		fenv_add(&fe, "CONTENT_LENGTH=%s", no_length[_i]);
	req_init(rq, &cfg, fe.v, mem_read, &m);
	ck_assert_int_eq(rq->cap_status, 0);
	ck_assert_uint_eq(rq->bodylen, 19);
	ck_assert_str_eq(rq->body, "chunked upload body");
	fenv_free(&fe);
}
END_TEST

START_TEST(test_body_zero_length)
{
	struct fenv fe = { { NULL }, 0 };
	struct mem m = { "ignored", 7, 0, 0, 0, false };

	fenv_add(&fe, "REQUEST_METHOD=POST");
	fenv_add(&fe, "CONTENT_LENGTH=0");
	req_init(rq, &cfg, fe.v, mem_read, &m);
	ck_assert_int_eq(rq->cap_status, 0);
	ck_assert_uint_eq(rq->bodylen, 0);
	ck_assert_uint_eq(m.off, 0);
	fenv_free(&fe);
}
END_TEST

/* _i: 0 with CONTENT_LENGTH, 1 without, 2 with -1. */
START_TEST(test_body_exactly_cap)
{
	struct fenv fe = { { NULL }, 0 };
	char *b = body_of(REQ_BODY_MAX);
	struct mem m = { b, REQ_BODY_MAX, 0, 1000, 0, false };

	fenv_add(&fe, "REQUEST_METHOD=POST");
	if (_i == 0)
		fenv_add(&fe, "CONTENT_LENGTH=%d", REQ_BODY_MAX);
	else if (_i == 2)
		fenv_add(&fe, "CONTENT_LENGTH=-1");
	req_init(rq, &cfg, fe.v, mem_read, &m);
	ck_assert_int_eq(rq->cap_status, 0);
	ck_assert_uint_eq(rq->bodylen, REQ_BODY_MAX);
	ck_assert_int_eq(memcmp(rq->body, b, REQ_BODY_MAX), 0);
	ck_assert_int_eq(rq->body[REQ_BODY_MAX], '\0');
	fenv_free(&fe);
	free(b);
}
END_TEST

START_TEST(test_body_over_cap)
{
	struct fenv fe = { { NULL }, 0 };
	char *b = body_of(REQ_BODY_MAX + 1);
	struct mem m = { b, REQ_BODY_MAX + 1, 0, 1000, 0, false };

	fenv_add(&fe, "REQUEST_METHOD=POST");
	if (_i == 0)
		fenv_add(&fe, "CONTENT_LENGTH=%d", REQ_BODY_MAX + 1);
	else if (_i == 2)
		fenv_add(&fe, "CONTENT_LENGTH=-1");
	req_init(rq, &cfg, fe.v, mem_read, &m);
	ck_assert_int_eq(rq->cap_status, 413);
	ck_assert_uint_eq(rq->bodylen, 0);
	ck_assert_str_eq(rq->body, "");
	/* With a length over the cap nothing is read at all. */
	if (_i == 0)
		ck_assert_int_eq(m.calls, 0);
	fenv_free(&fe);
	free(b);
}
END_TEST

START_TEST(test_body_length_huge)
{
	struct fenv fe = { { NULL }, 0 };
	struct mem m = { "abc", 3, 0, 0, 0, false };

	fenv_add(&fe, "REQUEST_METHOD=POST");
	fenv_add(&fe, "CONTENT_LENGTH=1000000000");
	req_init(rq, &cfg, fe.v, mem_read, &m);
	ck_assert_int_eq(rq->cap_status, 413);
	ck_assert_int_eq(m.calls, 0);
	fenv_free(&fe);
}
END_TEST

/* A longer stream than the cap without a length: stops after cap + 1. */
START_TEST(test_body_stream_bounded)
{
	struct fenv fe = { { NULL }, 0 };
	char *b = body_of(100000);
	struct mem m = { b, 100000, 0, 0, 0, false };

	fenv_add(&fe, "REQUEST_METHOD=POST");
	req_init(rq, &cfg, fe.v, mem_read, &m);
	ck_assert_int_eq(rq->cap_status, 413);
	ck_assert_uint_le(m.off, REQ_BODY_MAX + 1);
	fenv_free(&fe);
	free(b);
}
END_TEST

START_TEST(test_body_read_error)
{
	struct fenv fe = { { NULL }, 0 };
	struct mem m = { "part", 4, 0, 0, 0, true };

	fenv_add(&fe, "REQUEST_METHOD=POST");
	fenv_add(&fe, "CONTENT_LENGTH=100");
	req_init(rq, &cfg, fe.v, mem_read, &m);
	ck_assert_uint_eq(rq->bodylen, 4);
	ck_assert_str_eq(rq->body, "part");
	fenv_free(&fe);
}
END_TEST

/* ---- client IP ----------------------------------------------------- */

START_TEST(test_client_ip)
{
	struct fenv fe = { { NULL }, 0 };
	struct mem m = { "", 0, 0, 0, 0, false };

	/* From a trusted peer, Caddy's Xclientip. */
	fenv_add(&fe, "REMOTE_ADDR=127.0.0.1");
	fenv_add(&fe, "HTTP_XCLIENTIP=5.5.5.5");
	req_init(rq, &cfg, fe.v, mem_read, &m);
	ck_assert_str_eq(rq->ip, "5.5.5.5");
	fenv_free(&fe);

	fenv_add(&fe, "REMOTE_ADDR=198.51.100.9");
	fenv_add(&fe, "HTTP_XCLIENTIP=1.2.3.4");
	req_init(rq, &cfg, fe.v, mem_read, &m);
	ck_assert_str_eq(rq->ip, "198.51.100.9");
	fenv_free(&fe);

	fenv_add(&fe, "REMOTE_ADDR=::1");
	fenv_add(&fe, "HTTP_XCLIENTIP=2001:db8::5");
	req_init(rq, &cfg, fe.v, mem_read, &m);
	ck_assert_str_eq(rq->ip, "2001:db8::5");
	fenv_free(&fe);

	fenv_add(&fe, "REMOTE_ADDR=::ffff:10.0.0.1");
	req_init(rq, &cfg, fe.v, mem_read, &m);
	ck_assert_str_eq(rq->ip, "10.0.0.1");
	fenv_free(&fe);

	/* Headers a client writes are never read (issue 8: X-Real-IP from
	 * loopback chose the address; X_Forwarded_For is smuggled onto
	 * HTTP_X_FORWARDED_FOR). */
	fenv_add(&fe, "REMOTE_ADDR=127.0.0.1");
	fenv_add(&fe, "HTTP_X_FORWARDED_FOR=6.6.6.6");
	fenv_add(&fe, "HTTP_X_REAL_IP=7.7.7.7");
	fenv_add(&fe, "HTTP_FORWARDED=for=8.8.8.8");
	req_init(rq, &cfg, fe.v, mem_read, &m);
	ck_assert_str_eq(rq->ip, "127.0.0.1");
	fenv_free(&fe);

	/* An over-long Xclientip is not believed. */
	fenv_add(&fe, "REMOTE_ADDR=127.0.0.1");
	fenv_fill(&fe, "HTTP_XCLIENTIP", "1.2.3.4", ' ', 1100);
	req_init(rq, &cfg, fe.v, mem_read, &m);
	ck_assert_str_eq(rq->ip, "127.0.0.1");
	ck_assert_int_eq(rq->cap_status, 431);
	fenv_free(&fe);
}
END_TEST

/* ---- req_query ----------------------------------------------------- */

START_TEST(test_query_decode)
{
	static const char q[] = "a=1&b=x%2By+z&c=&d&e=%4&f=%zz&g=%41%2b%2F"
	    "&aa=2&h=%&i=caf%C3%A9";
	char out[64];

	ck_assert(req_query(q, "a", out, sizeof(out)));
	ck_assert_str_eq(out, "1");
	ck_assert(req_query(q, "b", out, sizeof(out)));
	ck_assert_str_eq(out, "x+y z");
	ck_assert(req_query(q, "c", out, sizeof(out)));
	ck_assert_str_eq(out, "");
	ck_assert(req_query(q, "d", out, sizeof(out)));
	ck_assert_str_eq(out, "");
	ck_assert(req_query(q, "e", out, sizeof(out)));
	ck_assert_str_eq(out, "%4");
	ck_assert(req_query(q, "f", out, sizeof(out)));
	ck_assert_str_eq(out, "%zz");
	ck_assert(req_query(q, "g", out, sizeof(out)));
	ck_assert_str_eq(out, "A+/");
	ck_assert(req_query(q, "aa", out, sizeof(out)));
	ck_assert_str_eq(out, "2");
	ck_assert(req_query(q, "h", out, sizeof(out)));
	ck_assert_str_eq(out, "%");
	ck_assert(req_query(q, "i", out, sizeof(out)));
	ck_assert_str_eq(out, "caf\xc3\xa9");
	ck_assert(!req_query(q, "missing", out, sizeof(out)));
	ck_assert(!req_query(q, "", out, sizeof(out)));
	ck_assert(!req_query("", "a", out, sizeof(out)));
	/* A name that is only a prefix of a key does not match. */
	ck_assert(!req_query("ab=1&abc=2", "a", out, sizeof(out)));
	ck_assert(!req_query("sessionIdX=1", "sessionId", out, sizeof(out)));
	/* Nor a key that is a prefix of the name. */
	ck_assert(!req_query("session=1", "sessionId", out, sizeof(out)));
	/* The first occurrence wins. */
	ck_assert(req_query("t=1&t=2", "t", out, sizeof(out)));
	ck_assert_str_eq(out, "1");
	/* A trailing '%' followed by one hex digit at the very end. */
	ck_assert(req_query("x=ab%4", "x", out, sizeof(out)));
	ck_assert_str_eq(out, "ab%4");
	ck_assert(req_query("x=ab%41", "x", out, sizeof(out)));
	ck_assert_str_eq(out, "abA");
}
END_TEST

START_TEST(test_query_out_size)
{
	char out[4];

	ck_assert(req_query("k=abc", "k", out, sizeof(out)));
	ck_assert_str_eq(out, "abc");
	ck_assert(!req_query("k=abcd", "k", out, sizeof(out)));
	ck_assert(req_query("k=%41%42%43", "k", out, sizeof(out)));
	ck_assert_str_eq(out, "ABC");
	ck_assert(!req_query("k=%41%42%43%44", "k", out, sizeof(out)));
}
END_TEST

/* ---- replies ------------------------------------------------------- */

struct sink {
	char buf[8192];
	size_t len;
	int calls;
};

static void
sink_write(void *ctx, const char *buf, size_t n)
{
	struct sink *s = ctx;

	ck_assert_uint_lt(s->len + n, sizeof(s->buf));
	memcpy(s->buf + s->len, buf, n);
	s->len += n;
	s->buf[s->len] = '\0';
	s->calls++;
}

START_TEST(test_reply_retry)
{
	struct reply rep;
	struct sink out;
	json_t *j;
	const char *body;
	char cl[64];

	reply_init(&rep);
	ck_assert_int_eq(rep.status, 200);
	reply_retry(&rep, 429, "TooManySessions", "Rate limit exceeded", 42);
	ck_assert_int_eq(rep.status, 429);
	ck_assert_ptr_nonnull(strstr(rep.headers, "Retry-After: 42\r\n"));
	j = json_loadb(rep.body, rep.bodylen, 0, NULL);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(json_string_value(json_object_get(j, "error")),
	    "TooManySessions");
	ck_assert_str_eq(json_string_value(json_object_get(j, "message")),
	    "Rate limit exceeded");
	ck_assert_int_eq(json_integer_value(json_object_get(j, "retryAfter")),
	    42);
	json_decref(j);

	memset(&out, 0, sizeof(out));
	reply_write(&rep, sink_write, &out);
	ck_assert_int_eq(strncmp(out.buf, "Status: 429 Too Many Requests\r\n",
	    31), 0);
	ck_assert_ptr_nonnull(strstr(out.buf,
	    "\r\nContent-Type: application/json\r\n"));
	(void)snprintf(cl, sizeof(cl), "\r\nContent-Length: %zu\r\n",
	    rep.bodylen);
	ck_assert_ptr_nonnull(strstr(out.buf, cl));
	ck_assert_ptr_nonnull(strstr(out.buf, "\r\nRetry-After: 42\r\n"));
	body = strstr(out.buf, "\r\n\r\n");
	ck_assert_ptr_nonnull(body);
	ck_assert_str_eq(body + 4, rep.body);
	ck_assert_uint_eq(strlen(body + 4), rep.bodylen);
	reply_release(&rep);
	ck_assert_ptr_null(rep.body);
	reply_release(&rep);
}
END_TEST

START_TEST(test_reply_header_injection)
{
	struct reply rep;
	size_t before;

	reply_init(&rep);
	reply_header(&rep, "X-Ok", "fine");
	ck_assert_str_eq(rep.headers, "X-Ok: fine\r\n");
	before = rep.hlen;
	reply_header(&rep, "Access-Control-Allow-Origin",
	    "https://a.example\r\nSet-Cookie: x=1");
	reply_header(&rep, "X-Bad", "a\nb");
	reply_header(&rep, "X-Bad", "a\rb");
	reply_header(&rep, "X-Bad\r\nSet-Cookie", "x");
	reply_header(&rep, "X-Bad: y", "x");
	ck_assert_uint_eq(rep.hlen, before);
	ck_assert_str_eq(rep.headers, "X-Ok: fine\r\n");
	ck_assert_ptr_null(strstr(rep.headers, "Set-Cookie"));
	reply_release(&rep);
}
END_TEST

START_TEST(test_reply_header_full)
{
	struct reply rep;
	char value[200];
	size_t last = 0;
	int devnull = open("/dev/null", O_WRONLY);

	/* Each dropped header is logged; keep that out of the output. */
	ck_assert_int_eq(dup2(devnull, STDERR_FILENO), STDERR_FILENO);
	(void)close(devnull);
	reply_init(&rep);
	memset(value, 'v', sizeof(value) - 1);
	value[sizeof(value) - 1] = '\0';
	for (int i = 0; i < 40; i++) {
		reply_header(&rep, "X-Filler", value);
		ck_assert_uint_ge(rep.hlen, last);
		ck_assert_uint_lt(rep.hlen, REPLY_HEADERS_MAX);
		last = rep.hlen;
	}
	/* Dropped whole, never cut: the block still ends a header line. */
	ck_assert_uint_eq(strlen(rep.headers), rep.hlen);
	ck_assert_int_eq(rep.headers[rep.hlen - 1], '\n');
	ck_assert_int_eq(rep.headers[rep.hlen - 2], '\r');
	reply_release(&rep);
}
END_TEST

static const struct {
	enum err e;
	int status;
	const char *code;
} err_map[] = {
	{ ERR_NOTFOUND, 404, "NotFound" },
	{ ERR_EXPIRED, 404, "Expired" },
	{ ERR_INVAL, 400, "BadRequest" },
	{ ERR_UNAVAIL, 503, "ServiceUnavailable" },
	{ ERR_IO, 503, "ServiceUnavailable" },	/* the store: retry */
	{ ERR_UPSTREAM, 500, "InternalError" },
};

START_TEST(test_reply_err)
{
	struct reply rep;
	json_t *j;

	reply_init(&rep);
	reply_err(&rep, err_map[_i].e);
	ck_assert_int_eq(rep.status, err_map[_i].status);
	j = json_loadb(rep.body, rep.bodylen, 0, NULL);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(json_string_value(json_object_get(j, "error")),
	    err_map[_i].code);
	ck_assert_ptr_nonnull(json_string_value(json_object_get(j,
	    "message")));
	/* A failing state store is transient: say when to come back. */
	if (err_map[_i].e == ERR_IO) {
		ck_assert_ptr_nonnull(strstr(rep.headers, "Retry-After: 5\r\n"));
		ck_assert_int_eq(json_integer_value(json_object_get(j,
		    "retryAfter")), 5);
	}
	json_decref(j);
	reply_release(&rep);
}
END_TEST

/* ---- the create body's environment, and GET /api/v1/environments ------ */

static const struct {
	const char *body;
	const char *env;	/* NULL: refused */
} env_bodies[] = {
	{ "{\"toolPair\":\"jj-git\"}", "bash" },
	{ "{\"toolPair\":\"jj-git\",\"environment\":null}", "bash" },
	{ "{\"toolPair\":\"jj-git\",\"environment\":\"bash\"}", "bash" },
	{ "{\"toolPair\":\"jj-git\",\"environment\":\"node\"}", "node" },
	{ "{\"toolPair\":\"jj-git\",\"environment\":\"python\"}", "python" },
	{ "{\"toolPair\":\"jj-git\",\"environment\":\"scala\"}", NULL },
	{ "{\"toolPair\":\"jj-git\",\"environment\":\"\"}", NULL },
	{ "{\"toolPair\":\"jj-git\",\"environment\":\"NODE\"}", NULL },
	{ "{\"toolPair\":\"jj-git\",\"environment\":\"node\\u0000x\"}", NULL },
	{ "{\"toolPair\":\"jj-git\",\"environment\":7}", NULL },
	{ "{\"toolPair\":\"jj-git\",\"environment\":[\"node\"]}", NULL },
	{ "{\"toolPair\":\"jj-git\",\"environment\":\"a-very-long-environment-"
	    "name-that-is-no-environment\"}", NULL },
	/* The pair is still required and checked. */
	{ "{\"environment\":\"node\"}", NULL },
	{ "{\"toolPair\":\"x\",\"environment\":\"node\"}", NULL },
};

START_TEST(test_body_environment)
{
	struct session_spec spec;
	const char *msg = NULL, *b = env_bodies[_i].body;
	bool ok = body_create(&cfg, b, strlen(b), &spec, &msg);

	if (env_bodies[_i].env == NULL) {
		ck_assert_msg(!ok, "accepted %s", b);
		ck_assert_ptr_nonnull(msg);
		return;
	}
	ck_assert_msg(ok, "refused %s: %s", b, msg != NULL ? msg : "?");
	ck_assert_str_eq(spec.environment, env_bodies[_i].env);
	session_spec_release(&spec);
}
END_TEST

/* An environment whose image was missing at start-up is not offered. */
START_TEST(test_body_environment_missing)
{
	static const char b[] = "{\"toolPair\":\"jj-git\","
	    "\"environment\":\"node\"}";
	struct session_spec spec;
	const char *msg = NULL;

	ck_assert_str_eq(cfg.envs[1].name, "node");
	cfg.envs[1].missing = true;
	ck_assert(!body_create(&cfg, b, sizeof(b) - 1, &spec, &msg));
	ck_assert_ptr_nonnull(strstr(msg, "environment"));
}
END_TEST

START_TEST(test_environments_list)
{
	struct api api;
	struct reply rep;
	json_t *j, *list, *e;

	memset(&api, 0, sizeof(api));
	api.cfg = &cfg;
	cfg.envs[2].missing = true;	/* python's image was not found */
	reply_init(&rep);
	h_environments(&api, rq, &rep, "");
	ck_assert_int_eq(rep.status, 200);
	j = json_loadb(rep.body, rep.bodylen, 0, NULL);
	ck_assert_ptr_nonnull(j);
	list = json_object_get(j, "environments");
	ck_assert_uint_eq(json_array_size(list), 2);
	e = json_array_get(list, 0);
	ck_assert_str_eq(json_string_value(json_object_get(e, "name")), "bash");
	ck_assert_str_eq(json_string_value(json_object_get(e, "category")),
	    "shell");
	ck_assert_int_eq(json_integer_value(json_object_get(e,
	    "defaultTimeout")), 60000);
	ck_assert_ptr_nonnull(json_string_value(json_object_get(e,
	    "description")));
	ck_assert_uint_eq(json_object_size(e), 4);
	e = json_array_get(list, 1);
	ck_assert_str_eq(json_string_value(json_object_get(e, "name")), "node");
	ck_assert_str_eq(json_string_value(json_object_get(e, "category")),
	    "runtime");
	ck_assert_int_eq(json_integer_value(json_object_get(e,
	    "defaultTimeout")), 120000);
	json_decref(j);
	reply_release(&rep);
}
END_TEST

START_TEST(test_reply_write_plain)
{
	struct reply rep;
	struct sink out;

	reply_init(&rep);
	rep.status = 204;
	memset(&out, 0, sizeof(out));
	reply_write(&rep, sink_write, &out);
	ck_assert_str_eq(out.buf, "Status: 204 No Content\r\n"
	    "Content-Length: 0\r\n\r\n");
	ck_assert_int_eq(out.calls, 1);

	reply_text(&rep, 200, "text/plain; version=0.0.4", "a 1\n", 4);
	memset(&out, 0, sizeof(out));
	reply_write(&rep, sink_write, &out);
	ck_assert_str_eq(out.buf, "Status: 200 OK\r\n"
	    "Content-Type: text/plain; version=0.0.4\r\n"
	    "Content-Length: 4\r\n\r\na 1\n");

	/* A NULL json is an internal error, not a crash. */
	reply_json(&rep, 201, NULL);
	ck_assert_int_eq(rep.status, 500);
	ck_assert_ptr_nonnull(strstr(rep.body, "InternalError"));
	reply_release(&rep);

	reply_init(&rep);
	rep.status = 299;
	memset(&out, 0, sizeof(out));
	reply_write(&rep, sink_write, &out);
	ck_assert_int_eq(strncmp(out.buf, "Status: 299 ", 12), 0);
	reply_release(&rep);
}
END_TEST


/* ---- step-check bodies and what the runner says --------------------- */

static const struct {
	const char *body;
	const char *msg;	/* NULL: accepted */
} check_bodies[] = {
	{ "{\"command\":\"true\"}", NULL },
	{ "{\"command\":\"true\",\"timeoutMs\":100}", NULL },
	{ "{\"command\":\"true\",\"timeoutMs\":null,\"other\":1}", NULL },
	{ "{\"command\":\"\"}", "command must be a non-empty string" },
	{ "{\"command\":5}", "command must be a non-empty string" },
	{ "{}", "command must be a non-empty string" },
	{ "{\"command\":\"a\\u0000b\"}", "command must not contain NUL" },
	{ "{\"command\":\"true\",\"timeoutMs\":99}", "timeoutMs must be an "
	    "integer from 100 to SANDBOX_CHECK_TIMEOUT_MAX_MS" },
	{ "{\"command\":\"true\",\"timeoutMs\":30001}", "timeoutMs must be an "
	    "integer from 100 to SANDBOX_CHECK_TIMEOUT_MAX_MS" },
	{ "{\"command\":\"true\",\"timeoutMs\":\"5\"}", "timeoutMs must be an "
	    "integer from 100 to SANDBOX_CHECK_TIMEOUT_MAX_MS" },
	{ "{\"check\":\"commit\"}", "named checks are not offered: send a "
	    "command" },
	{ "[\"command\"]", "Request body must be a JSON object" },
	{ "", "Request body must be a JSON object" },
	{ "{\"command\":\"a\",\"command\":\"b\"}",
	    "Request body must be a JSON object" },
};

START_TEST(test_body_check)
{
	struct check_req cr;
	const char *msg = NULL;
	const char *b = check_bodies[_i].body;
	bool ok = check_body_parse(&cfg, b, strlen(b), &cr, &msg);

	if (check_bodies[_i].msg == NULL) {
		ck_assert_msg(ok, "%s: %s", b, msg);
		ck_assert_str_eq(cr.command, "true");
	} else {
		ck_assert(!ok);
		ck_assert_str_eq(msg, check_bodies[_i].msg);
	}
}
END_TEST

START_TEST(test_body_check_bounds)
{
	static char big[STEPCHECK_COMMAND_MAX + 64];
	struct check_req cr;
	const char *msg = NULL;
	size_t n;

	/* Exactly the cap is accepted, one more byte is not. */
	for (int extra = 0; extra < 2; extra++) {
		n = (size_t)snprintf(big, sizeof(big), "{\"command\":\"");
		memset(big + n, 'x', STEPCHECK_COMMAND_MAX + (size_t)extra);
		n += STEPCHECK_COMMAND_MAX + (size_t)extra;
		memcpy(big + n, "\"}", 3);
		ck_assert(check_body_parse(&cfg, big, n + 2, &cr, &msg) == (extra == 0));
	}
	/* The default timeout. */
	ck_assert(check_body_parse(&cfg, "{\"command\":\"x\"}", 15, &cr, &msg));
	ck_assert_int_eq(cr.timeout_ms, 5000);
}
END_TEST

START_TEST(test_stepcheck_decode)
{
	struct stepcheck_spec spec = { "x", 1000, 4 };
	struct stepcheck_result res;
	static const char mark[] = STEPCHECK_TIMEOUT_MARK;
	char err[64];

	/* The mark counts only with exit 124 and at the very end. */
	(void)snprintf(err, sizeof(err), "ab%s", mark);
	memset(&res, 0, sizeof(res));
	stepcheck_decode(&spec, 124, "out", 3, err, strlen(err), &res);
	ck_assert(res.timed_out);
	ck_assert(!res.truncated);
	ck_assert_str_eq(res.err, "ab");
	stepcheck_result_release(&res);
	memset(&res, 0, sizeof(res));
	stepcheck_decode(&spec, 0, "", 0, err, strlen(err), &res);
	ck_assert(!res.timed_out);
	ck_assert(res.truncated);	/* the mark is output then */
	ck_assert_str_eq(res.err, "ab\n[");
	stepcheck_result_release(&res);
	/* cap + 1 bytes: cut; a broken UTF-8 byte replaced. */
	memset(&res, 0, sizeof(res));
	stepcheck_decode(&spec, 3, "abcde", 5, "\xff", 1, &res);
	ck_assert(res.truncated);
	ck_assert_int_eq(res.exit_code, 3);
	ck_assert_str_eq(res.out, "abcd");
	ck_assert_str_eq(res.err, "\xef\xbf\xbd");
	stepcheck_result_release(&res);
}
END_TEST

START_TEST(test_stepcheck_utf8)
{
	char *s;

	s = stepcheck_utf8("h\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 12);
	ck_assert_str_eq(s, "h\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	free(s);
	/* Overlong, a surrogate, a cut sequence, a NUL kept. */
	s = stepcheck_utf8("\xc0\xaf|\xed\xa0\x80|\xe2\x82", 10);
	ck_assert_str_eq(s, "\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd"
	    "\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd");
	free(s);
}
END_TEST

static Suite *
req_suite(void)
{
	Suite *s = suite_create("req");
	TCase *tc;

	tc = tcase_create("check");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_body_check, 0, (int)nitems(check_bodies));
	tcase_add_test(tc, test_body_check_bounds);
	tcase_add_test(tc, test_stepcheck_decode);
	tcase_add_test(tc, test_stepcheck_utf8);
	suite_add_tcase(s, tc);

	tc = tcase_create("request");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_empty_method);
	tcase_add_test(tc, test_path_info);
	tcase_add_test(tc, test_request_uri_fallback);
	tcase_add_test(tc, test_path_cap);
	tcase_add_test(tc, test_query_cap);
	tcase_add_loop_test(tc, test_header_cap, 0, (int)nitems(capped));
	tcase_add_test(tc, test_body_content_length);
	tcase_add_loop_test(tc, test_body_methods, 0,
	    (int)nitems(body_methods));
	tcase_add_loop_test(tc, test_body_to_eof, 0, (int)nitems(no_length));
	tcase_add_test(tc, test_body_zero_length);
	tcase_add_loop_test(tc, test_body_exactly_cap, 0, 3);
	tcase_add_loop_test(tc, test_body_over_cap, 0, 3);
	tcase_add_test(tc, test_body_length_huge);
	tcase_add_test(tc, test_body_stream_bounded);
	tcase_add_test(tc, test_body_read_error);
	tcase_add_test(tc, test_client_ip);
	tcase_add_test(tc, test_query_decode);
	tcase_add_test(tc, test_query_out_size);
	suite_add_tcase(s, tc);

	tc = tcase_create("reply");
	tcase_add_test(tc, test_reply_retry);
	tcase_add_test(tc, test_reply_header_injection);
	tcase_add_test(tc, test_reply_header_full);
	tcase_add_loop_test(tc, test_reply_err, 0, (int)nitems(err_map));
	tcase_add_test(tc, test_reply_write_plain);
	suite_add_tcase(s, tc);

	tc = tcase_create("environments");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_body_environment, 0,
	    (int)nitems(env_bodies));
	tcase_add_test(tc, test_body_environment_missing);
	tcase_add_test(tc, test_environments_list);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return util_run(req_suite());
}

/*
 * req.c: a request from CGI/FastCGI parameters, with every cap applied
 * before any handler sees it: path 256 bytes (414), query 2 KiB (414),
 * the headers we read 1 KiB each (431), body 16 KiB (413).  A body without
 * a usable CONTENT_LENGTH (Caddy sends -1 for chunked uploads) is read to
 * end of stream under the same cap.
 */
#include "compat.h"

#include <fcgiapp.h>

#include "api.h"
#include "log.h"

/* Headers a handler may read; checked against REQ_HEADER_MAX up front. */
static const char *const req_capped[] = {
	"HTTP_ORIGIN", "HTTP_X_API_KEY", "HTTP_HOST", "HTTP_XCLIENTIP",
	"HTTP_X_FORWARDED_URI", "HTTP_X_FORWARDED_PROTO",
	"HTTP_X_FORWARDED_METHOD",
};

const char *
req_param(const struct req *req, const char *name)
{
	return FCGX_GetParam(name, req->envp);
}

const char *
req_header(const struct req *req, const char *cgi_name)
{
	const char *v = req_param(req, cgi_name);

	if (v == NULL || strnlen(v, REQ_HEADER_MAX + 1) > REQ_HEADER_MAX)
		return NULL;
	return v;
}

static void
req_read_body(struct req *req, req_read_fn rd, void *rdctx)
{
	const char *cl = req_param(req, "CONTENT_LENGTH");
	long long want = -1;
	size_t limit;

	if (cl != NULL && *cl != '\0' &&
	    cfg_parse_int(cl, 0, 1LL << 40, &want) != ERR_OK)
		want = -1;	/* "-1" or garbage: read to end of stream */
	if (want > REQ_BODY_MAX) {
		req->cap_status = 413;
		return;
	}
	/* One byte more than the cap tells "too big" from "exactly full". */
	limit = want >= 0 ? (size_t)want : REQ_BODY_MAX + 1;
	while (req->bodylen < limit) {
		long n = rd(rdctx, req->body + req->bodylen,
		    limit - req->bodylen);

		if (n <= 0)
			break;
		req->bodylen += (size_t)n;
	}
	if (req->bodylen > REQ_BODY_MAX) {
		req->cap_status = 413;
		req->bodylen = 0;
	}
	req->body[req->bodylen] = '\0';
}

static void
req_path(struct req *req)
{
	const char *p = req_param(req, "PATH_INFO");
	size_t n;

	if (p == NULL || *p == '\0') {
		/* No PATH_INFO: take REQUEST_URI without its query. */
		p = req_param(req, "REQUEST_URI");
		if (p == NULL)
			p = "/";
		n = strcspn(p, "?");
	} else
		n = strlen(p);
	if (n > REQ_PATH_MAX) {
		req->cap_status = 414;
		n = 0;
	}
	memcpy(req->path, p, n);
	req->path[n] = '\0';
}

void
req_init(struct req *req, const struct cfg *cfg, char **envp, req_read_fn rd,
    void *rdctx)
{
	const char *m;

	req->envp = envp;
	req->cap_status = 0;
	req->bodylen = 0;
	req->body[0] = '\0';
	m = req_param(req, "REQUEST_METHOD");
	req->method = m != NULL && *m != '\0' ? m : "GET";
	req_path(req);
	req->query = req_param(req, "QUERY_STRING");
	if (req->query == NULL)
		req->query = "";
	if (strnlen(req->query, REQ_QUERY_MAX + 1) > REQ_QUERY_MAX)
		req->cap_status = 414;
	for (size_t i = 0; i < nitems(req_capped); i++) {
		const char *v = req_param(req, req_capped[i]);

		if (v != NULL && strnlen(v, REQ_HEADER_MAX + 1) > REQ_HEADER_MAX)
			req->cap_status = 431;
	}
	/* Xclientip, not X-Forwarded-For or X-Real-IP: see access.h. */
	access_client_ip(cfg, req_param(req, "REMOTE_ADDR"),
	    req_header(req, "HTTP_XCLIENTIP"), req->ip);
	if (req->cap_status == 0 && (strcmp(req->method, "POST") == 0 ||
	    strcmp(req->method, "PUT") == 0 || strcmp(req->method, "PATCH") == 0))
		req_read_body(req, rd, rdctx);
}

bool
req_query(const char *query, const char *name, char *out, size_t outsz)
{
	return access_query(query, name, out, outsz);
}

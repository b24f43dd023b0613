/*
 * reply.c: building and writing CGI responses.  Error bodies are always
 * {"error":<code>,"message":<text>[,"retryAfter":<s>]} as the original's;
 * the enum err -> HTTP status table lives here and nowhere else.
 */
#include "compat.h"

#include "api.h"
#include "log.h"

static const struct {
	int status;
	const char *text;
} reply_statuses[] = {
	{ 200, "OK" }, { 201, "Created" }, { 204, "No Content" },
	{ 400, "Bad Request" }, { 401, "Unauthorized" }, { 403, "Forbidden" },
	{ 404, "Not Found" }, { 405, "Method Not Allowed" },
	{ 409, "Conflict" }, { 413, "Payload Too Large" },
	{ 414, "URI Too Long" }, { 429, "Too Many Requests" },
	{ 431, "Request Header Fields Too Large" },
	{ 500, "Internal Server Error" }, { 502, "Bad Gateway" },
	{ 503, "Service Unavailable" }, { 504, "Gateway Timeout" },
};

static const char *
reply_status_text(int status)
{
	for (size_t i = 0; i < nitems(reply_statuses); i++)
		if (reply_statuses[i].status == status)
			return reply_statuses[i].text;
	return "Unknown";
}

void
reply_init(struct reply *rep)
{
	memset(rep, 0, sizeof(*rep));
	rep->status = 200;
}

void
reply_release(struct reply *rep)
{
	free(rep->body);
	rep->body = NULL;
	rep->bodylen = 0;
}

void
reply_header(struct reply *rep, const char *name, const char *value)
{
	int n;

	/* Values come from validated fields; CR/LF would split headers. */
	if (strpbrk(value, "\r\n") != NULL || strpbrk(name, "\r\n:") != NULL)
		return;
	n = snprintf(rep->headers + rep->hlen, sizeof(rep->headers) - rep->hlen,
	    "%s: %s\r\n", name, value);
	if (n < 0 || (size_t)n >= sizeof(rep->headers) - rep->hlen) {
		log_warnx("reply: header %s dropped, block full", name);
		rep->headers[rep->hlen] = '\0';
		return;
	}
	rep->hlen += (size_t)n;
}

void
reply_json(struct reply *rep, int status, json_t *j)
{
	free(rep->body);
	rep->status = status;
	rep->ctype = "application/json";
	rep->body = j != NULL ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER)
			      : NULL;
	if (rep->body == NULL) {
		rep->status = 500;
		rep->body = xstrdup("{\"error\":\"InternalError\",\"message\":"
		    "\"An internal error occurred\"}");
	}
	rep->bodylen = strlen(rep->body);
	json_decref(j);
}

void
reply_text(struct reply *rep, int status, const char *ctype, const char *text,
    size_t len)
{
	free(rep->body);
	rep->status = status;
	rep->ctype = ctype;
	rep->body = xmalloc(len + 1);
	memcpy(rep->body, text, len);
	rep->body[len] = '\0';
	rep->bodylen = len;
}

void
reply_error(struct reply *rep, int status, const char *code,
    const char *message)
{
	reply_json(rep, status, json_pack("{s:s, s:s}", "error", code,
	    "message", message));
}

void
reply_retry(struct reply *rep, int status, const char *code,
    const char *message, long long retry_after_s)
{
	char ra[32];

	(void)snprintf(ra, sizeof(ra), "%lld", retry_after_s);
	reply_header(rep, "Retry-After", ra);
	reply_json(rep, status, json_pack("{s:s, s:s, s:I}", "error", code,
	    "message", message, "retryAfter", (json_int_t)retry_after_s));
}

void
reply_err(struct reply *rep, enum err e)
{
	switch (e) {
	case ERR_NOTFOUND:
		reply_error(rep, 404, "NotFound", "Session not found");
		return;
	case ERR_EXPIRED:
		reply_error(rep, 404, "Expired", "Session has expired");
		return;
	case ERR_INVAL:
		reply_error(rep, 400, "BadRequest", "Bad request");
		return;
	case ERR_UNAVAIL:
		reply_error(rep, 503, "ServiceUnavailable", "Sandbox "
		    "temporarily unavailable due to high load. Please try "
		    "again later.");
		return;
	case ERR_IO:
		/* The state file or the audit log failed (locked, full,
		 * read-only): transient, the operator's to fix. */
		reply_retry(rep, 503, "ServiceUnavailable", "State store "
		    "unavailable. Please try again later.", API_STORE_RETRY_S);
		return;
	default:
		reply_error(rep, 500, "InternalError",
		    "An internal error occurred");
		return;
	}
}

void
reply_write(const struct reply *rep, reply_write_fn wr, void *ctx)
{
	char head[REPLY_HEADERS_MAX + 256];
	int n;

	n = snprintf(head, sizeof(head), "Status: %d %s\r\n%s%s%s"
	    "Content-Length: %zu\r\n%s\r\n", rep->status,
	    reply_status_text(rep->status), rep->ctype != NULL ?
	    "Content-Type: " : "", rep->ctype != NULL ? rep->ctype : "",
	    rep->ctype != NULL ? "\r\n" : "", rep->bodylen, rep->headers);
	if (n < 0 || (size_t)n >= sizeof(head))
		n = snprintf(head, sizeof(head), "Status: 500 Internal Server "
		    "Error\r\nContent-Length: 0\r\n\r\n");
	wr(ctx, head, (size_t)n);
	if (rep->bodylen > 0)
		wr(ctx, rep->body, rep->bodylen);
}

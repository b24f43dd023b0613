/*
 * api.h: toolkata-api's request, reply and handler types.  fcgi/ is the only
 * user of libfcgi and the only place that knows HTTP status codes: req.c
 * turns FastCGI or CGI parameters into a capped `struct req`, route.c picks
 * a handler from a const table, the h_*.c handlers fill a `struct reply`,
 * reply.c writes it.  The same code path serves FastCGI and plain CGI.
 */
#ifndef API_H
#define API_H

#include "compat.h"

#include <jansson.h>

#include "access.h"
#include "cfg.h"
#include "session.h"

#define REQ_BODY_MAX 16384		/* request body cap */
#define REQ_PATH_MAX 256		/* path cap (414 above) */
#define REQ_QUERY_MAX 2048		/* query string cap (414 above) */
#define REQ_HEADER_MAX 1024		/* any header value we read (431) */
#define REPLY_HEADERS_MAX 2048
#define API_STORE_BUSY_MS 1000		/* a locked state file fails fast */
#define API_STORE_RETRY_S 5		/* Retry-After when it does */

/* What one worker (thread, or the CGI run) owns. */
struct api {
	const struct cfg *cfg;
	struct session_ctx sess;	/* store, engine, audit, runtime */
	bool gvisor_available;		/* runtime registered in the engine */
	double gvisor_checked;		/* clock_mono() of that answer */
	double store_checked;		/* clock_mono() of the last probe */
	char store_problem[160];	/* why the store cannot write, or "" */
};

/* Reads up to n body bytes; 0 at end of stream, -1 on error. */
typedef long (*req_read_fn)(void *ctx, char *buf, size_t n);

struct req {
	char **envp;		/* CGI/FastCGI parameters (borrowed) */
	const char *method;
	char path[REQ_PATH_MAX + 1];
	const char *query;	/* "" when absent */
	char ip[ACCESS_IP_SIZE];
	int cap_status;		/* 0, or 413/414/431: a cap was exceeded */
	char body[REQ_BODY_MAX + 1];
	size_t bodylen;
};

struct reply {
	int status;
	char headers[REPLY_HEADERS_MAX];
	size_t hlen;
	char *body;		/* malloc'd, may be NULL */
	size_t bodylen;
	const char *ctype;
};

/* ---- req.c ---- */
/* Fill req from envp and read its body through rd (capped). */
void req_init(struct req *, const struct cfg *, char **envp, req_read_fn rd,
    void *rdctx);
/* A request parameter (e.g. "HTTP_ORIGIN") or NULL. */
const char *req_param(const struct req *, const char *name);
/* A header value capped at REQ_HEADER_MAX; NULL when absent or over. */
const char *req_header(const struct req *, const char *cgi_name);
/* Copy query parameter name (URL-decoded) into out; false if absent. */
bool req_query(const char *query, const char *name, char *out, size_t outsz);

/* ---- reply.c ---- */
void reply_init(struct reply *);
void reply_release(struct reply *);
void reply_header(struct reply *, const char *name, const char *value);
/* Steals j. */
void reply_json(struct reply *, int status, json_t *j);
void reply_text(struct reply *, int status, const char *ctype,
    const char *text, size_t len);
void reply_error(struct reply *, int status, const char *code,
    const char *message);
/* A 429 with retryAfter in the body and Retry-After in the headers. */
void reply_retry(struct reply *, int status, const char *code,
    const char *message, long long retry_after_s);
/* InternalError 500 (or the right status) for an unexpected enum err. */
void reply_err(struct reply *, enum err);
typedef void (*reply_write_fn)(void *ctx, const char *buf, size_t n);
void reply_write(const struct reply *, reply_write_fn wr, void *ctx);

/* ---- body.c ---- */
/* Check a create body into spec (see body.c for the fields).  false with
 * *msg, the sentence for a 400, when it breaks a rule; spec then holds
 * nothing.  Release spec with session_spec_release(). */
bool body_create(const struct cfg *, const char *buf, size_t len,
    struct session_spec *spec, const char **msg);

/* ---- route.c ---- */
void route_dispatch(struct api *, struct req *, struct reply *);

/* ---- handlers ---- */
void h_health(struct api *, struct req *, struct reply *, const char *id);
void h_status(struct api *, struct req *, struct reply *, const char *id);
void h_metrics(struct api *, struct req *, struct reply *, const char *id);
void h_session_create(struct api *, struct req *, struct reply *,
    const char *id);
void h_session_get(struct api *, struct req *, struct reply *,
    const char *id);
void h_session_delete(struct api *, struct req *, struct reply *,
    const char *id);
void h_wsauth(struct api *, struct req *, struct reply *, const char *id);
void h_environments(struct api *, struct req *, struct reply *,
    const char *id);

/* h_health.c: is the load circuit breaker open?  reason gets the text. */
bool circuit_open(struct api *, long long live, int *mem_percent,
    char *reason, size_t reasonsz);
/* Re-read the gVisor runtime's presence when the answer is old (5 s) and
 * set api->sess.runtime to the runtime sessions will use. */
void api_refresh_gvisor(struct api *);
/* clock_mono() at process start, for /health's uptime. */
extern double api_started;

/* reaper.c: the daemon's reaper thread, started after the reconcile
 * pass; it stops when *stop becomes non-zero. */
struct reaper;
struct reaper *reaper_start(const struct cfg *, struct audit *,
    volatile int *stop);
void reaper_join(struct reaper *);
/* One reaper pass with a worker's context; logs what it did. */
enum err reaper_pass(struct api *);

/* h_health.c: the pool as /health shows it. */
json_t *health_pool(struct api *);

/* pool.c: the daemon's warm-pool thread (none when SANDBOX_POOL_SIZE is
 * 0); containers are made for runtime (NULL: runc). */
struct pool;
struct pool *pool_start(const struct cfg *, struct audit *,
    const char *runtime, volatile int *stop);
void pool_join(struct pool *);
/* One fill pass; true when a container was added. */
bool pool_pass(struct api *);

/* api.c: open a worker's store and engine (fatal on failure). */
void api_init(struct api *, const struct cfg *, struct audit *);
void api_release(struct api *);

/* h_sessions.c: the API key check shared by the protected routes;
 * false when the reply (401) has been written. */
bool api_authorized(struct api *, struct req *, struct reply *,
    const char *presented, const char *session_id);

/* ---- h_check.c: step checks ---- */
struct check_req {
	char command[4096 + 1];	/* STEPCHECK_COMMAND_MAX */
	long long timeout_ms;
};
/* Check a step-check body into cr; false with *msg (a 400's sentence). */
bool check_body_parse(const struct cfg *, const char *buf, size_t len,
    struct check_req *cr, const char **msg);
void h_session_check(struct api *, struct req *, struct reply *,
    const char *id);
/* h_sessions.c: the destroy beacon, POST .../<id>/destroy, key in the body
 * ({"apiKey":...}) or in X-API-Key; answers like DELETE. */
void h_session_destroy(struct api *, struct req *, struct reply *,
    const char *id);

#endif /* API_H */

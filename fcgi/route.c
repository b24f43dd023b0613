/*
 * route.c: the route table and dispatch, CORS and preflight.  Routes are a
 * const table like tmux's cmd_entry; a path with a session id matches
 * "/api/v1/sessions/<one segment>", and the suffix routes
 * "<prefix><one segment><suffix>".  Anything unmatched is a 404 JSON.
 */
#include "compat.h"

#include "api.h"
#include "log.h"
#include "metrics.h"

typedef void (*route_fn)(struct api *, struct req *, struct reply *,
    const char *);

enum route_kind { ROUTE_EXACT, ROUTE_SESSION };

static const struct route {
	const char *method;
	const char *path;
	enum route_kind kind;
	route_fn fn;
} routes[] = {
	{ "GET", "/health", ROUTE_EXACT, h_health },
	{ "GET", "/api/v1/status", ROUTE_EXACT, h_status },
	{ "GET", "/api/v1/environments", ROUTE_EXACT, h_environments },
	{ "GET", "/metrics", ROUTE_EXACT, h_metrics },
	{ "POST", "/api/v1/sessions", ROUTE_EXACT, h_session_create },
	{ "GET", "/api/v1/sessions/", ROUTE_SESSION, h_session_get },
	{ "DELETE", "/api/v1/sessions/", ROUTE_SESSION, h_session_delete },
	{ "GET", "/internal/ws-auth", ROUTE_EXACT, h_wsauth },
};

/* Session routes with something after the id: step checks and the
 * destroy beacon, also at the original's mis-mounted /api/v1/<id>/destroy
 * (contract.md §11). */
static const struct route_suffix {
	const char *method;
	const char *prefix;
	const char *suffix;
	route_fn fn;
} suffix_routes[] = {
	{ "POST", "/api/v1/sessions/", "/check", h_session_check },
	{ "POST", "/api/v1/sessions/", "/destroy", h_session_destroy },
	{ "POST", "/api/v1/", "/destroy", h_session_destroy },
};

#define ROUTE_SEGMENT_MAX 64

/* Does path match r?  For session routes, copy the segment into seg. */
static bool
route_match(const struct route *r, const char *path, char *seg, size_t segsz)
{
	size_t plen = strlen(r->path);
	const char *rest;

	if (r->kind == ROUTE_EXACT)
		return strcmp(path, r->path) == 0;
	if (strncmp(path, r->path, plen) != 0)
		return false;
	rest = path + plen;
	if (*rest == '\0' || strchr(rest, '/') != NULL ||
	    strlen(rest) > ROUTE_SEGMENT_MAX)
		return false;
	return strlcpy_ok(seg, rest, segsz);
}

/* Does path equal prefix + one segment + suffix?  The segment into seg. */
static bool
route_match_suffix(const struct route_suffix *r, const char *path, char *seg,
    size_t segsz)
{
	size_t plen = strlen(r->prefix), slen = strlen(r->suffix), n;
	const char *rest;

	if (strncmp(path, r->prefix, plen) != 0)
		return false;
	rest = path + plen;
	n = strlen(rest);
	if (n <= slen || strcmp(rest + n - slen, r->suffix) != 0)
		return false;
	n -= slen;
	if (n > ROUTE_SEGMENT_MAX || n >= segsz || memchr(rest, '/', n) != NULL)
		return false;
	memcpy(seg, rest, n);
	seg[n] = '\0';
	return true;
}

/* CORS as the original (Hono's cors()): echo an allowed Origin. */
static void
route_cors(struct api *api, struct req *req, struct reply *rep)
{
	const char *origin = req_header(req, "HTTP_ORIGIN");

	if (origin != NULL && *origin != '\0' &&
	    cfg_origin_allowed(api->cfg, origin)) {
		reply_header(rep, "Access-Control-Allow-Origin", origin);
		reply_header(rep, "Vary", "Origin");
	}
	reply_header(rep, "Access-Control-Allow-Credentials", "true");
}

static bool
route_capped(struct req *req, struct reply *rep)
{
	switch (req->cap_status) {
	case 413:
		reply_error(rep, 413, "PayloadTooLarge",
		    "Request body larger than 16384 bytes");
		break;
	case 414:
		reply_error(rep, 414, "URITooLong", "Request path or query "
		    "too long");
		break;
	case 431:
		reply_error(rep, 431, "HeaderTooLarge", "Request header too "
		    "large");
		break;
	default:
		return false;
	}
	metrics_reject(METRICS_REJECT_TOO_BIG);
	return true;
}

void
route_dispatch(struct api *api, struct req *req, struct reply *rep)
{
	char seg[ROUTE_SEGMENT_MAX + 1];

	route_cors(api, req, rep);
	if (route_capped(req, rep))
		return;
	if (strcmp(req->method, "OPTIONS") == 0) {
		reply_header(rep, "Access-Control-Allow-Methods",
		    "GET,POST,DELETE,OPTIONS");
		reply_header(rep, "Access-Control-Allow-Headers",
		    "Content-Type,Authorization,X-API-Key");
		reply_header(rep, "Vary", "Access-Control-Request-Headers");
		rep->status = 204;
		return;
	}
	for (size_t i = 0; i < nitems(routes); i++) {
		seg[0] = '\0';
		if (strcmp(routes[i].method, req->method) != 0 ||
		    !route_match(&routes[i], req->path, seg, sizeof(seg)))
			continue;
		routes[i].fn(api, req, rep, seg);
		return;
	}
	for (size_t i = 0; i < nitems(suffix_routes); i++) {
		if (strcmp(suffix_routes[i].method, req->method) != 0 ||
		    !route_match_suffix(&suffix_routes[i], req->path, seg,
		    sizeof(seg)))
			continue;
		suffix_routes[i].fn(api, req, rep, seg);
		return;
	}
	reply_error(rep, 404, "NotFound", "No such route");
}

/*
 * h_sessions.c: POST /api/v1/sessions, GET and DELETE
 * /api/v1/sessions/<id>, the destroy beacon, and the API key check they
 * share.  Order of checks
 * on create, as the original: key, body, toolPair, circuit breaker, quota.
 */
#include "compat.h"

#include <ctype.h>

#include "api.h"
#include "clock.h"
#include "id.h"
#include "log.h"
#include "metrics.h"

bool
api_authorized(struct api *api, struct req *req, struct reply *rep,
    const char *presented, const char *session_id)
{
	enum access_key k = access_key_check(api->cfg, presented);
	const char *code = access_key_code(k);
	char msg[64];

	if (k == ACCESS_KEY_OK)
		return true;
	(void)snprintf(msg, sizeof(msg), "Authentication failed: %s", code);
	(void)audit_emit(api->sess.audit, AUDIT_WARN, "auth.failure", msg,
	    "sessionId", session_id, "clientIp", req->ip, "reason", code, AUDIT_END);
	metrics_reject(METRICS_REJECT_AUTH);
	reply_error(rep, 401, code, "Unauthorized");
	return false;
}

/* The Host header if it looks like host[:port], else NULL. */
static const char *
sessions_host(struct req *req)
{
	const char *h = req_header(req, "HTTP_HOST");

	if (h == NULL || *h == '\0' || strlen(h) > 255)
		return NULL;
	for (const char *p = h; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && strchr(".-:[]", *p) == NULL)
			return NULL;
	return h;
}

static json_t *
sessions_ws_url(struct req *req, const char *id)
{
	const char *proto = req_header(req, "HTTP_X_FORWARDED_PROTO");
	const char *https = req_param(req, "HTTPS");
	const char *host = sessions_host(req);
	bool tls = (proto != NULL && strcmp(proto, "https") == 0) ||
	    (https != NULL && strcmp(https, "on") == 0);

	return json_sprintf("%s://%s/api/v1/sessions/%s/ws", tls ? "wss" : "ws",
	    host != NULL ? host : "localhost", id);
}

/* The spec of a create body, or false with a 400 written. */
static bool
sessions_spec(struct api *api, struct req *req, struct reply *rep,
    struct session_spec *spec)
{
	const char *msg;

	if (body_create(api->cfg, req->body, req->bodylen, spec, &msg))
		return true;
	metrics_reject(METRICS_REJECT_BAD_REQUEST);
	reply_error(rep, 400, "BadRequest", msg);
	return false;
}

/* 503 when the circuit breaker is open; false when the reply is written. */
static bool
sessions_circuit(struct api *api, struct req *req, struct reply *rep)
{
	char reason[128];
	long long live = 0;
	int mem;

	if (store_count_live(api->sess.store, &live) != ERR_OK) {
		reply_err(rep, ERR_IO);
		return false;
	}
	if (!circuit_open(api, live, &mem, reason, sizeof(reason)))
		return true;
	(void)audit_emit(api->sess.audit, AUDIT_WARN, "circuit_breaker.open",
	    reason, "clientIp", req->ip, "#containers", live, "#maxContainers",
	    api->cfg->circuit_max_containers, "#memoryPercent", (long long)mem,
	    "#maxMemoryPercent", api->cfg->circuit_max_memory_percent, AUDIT_END);
	metrics_reject(METRICS_REJECT_CIRCUIT);
	reply_err(rep, ERR_UNAVAIL);
	return false;
}

static void
sessions_limited(struct api *api, struct req *req, struct reply *rep,
    enum ratelimit_verdict v, long long retry)
{
	bool hourly = v == RATELIMIT_HOURLY;
	long long limit = hourly ? api->cfg->sessions_per_hour :
	    api->cfg->concurrent_per_ip;
	char msg[96], lim[24];

	(void)snprintf(lim, sizeof(lim), "%lld", limit);
	(void)snprintf(msg, sizeof(msg), "Rate limit exceeded: session limit "
	    "(%lld/%s)", limit, hourly ? "hour" : "concurrent");
	(void)audit_emit(api->sess.audit, AUDIT_WARN, "rate_limit.session", msg,
	    "clientIp", req->ip, "limit", lim, "window",
	    hourly ? "hour" : "concurrent", AUDIT_END);
	metrics_reject(hourly ? METRICS_REJECT_HOURLY :
				METRICS_REJECT_CONCURRENT);
	reply_retry(rep, 429, "TooManySessions", "Rate limit exceeded", retry);
}

void
h_session_create(struct api *api, struct req *req, struct reply *rep,
    const char *id ATTR_UNUSED)
{
	char created[CLOCK_ISO_SIZE], expires[CLOCK_ISO_SIZE], loc[96];
	struct session_spec spec;
	struct store_session s;
	enum ratelimit_verdict v;
	long long retry = 0;
	enum err r;

	if (!api_authorized(api, req, rep, req_header(req, "HTTP_X_API_KEY"),
		NULL))
		return;
	if (!sessions_spec(api, req, rep, &spec))
		return;
	if (!sessions_circuit(api, req, rep))
		goto out;
	api_refresh_gvisor(api);
	r = session_create(&api->sess, &spec, req->ip, clock_now_ms(), &s, &v,
	    &retry);
	if (r == ERR_LIMIT) {
		sessions_limited(api, req, rep, v, retry);
		goto out;
	}
	if (r != ERR_OK) {
		reply_err(rep, r);
		goto out;
	}
	clock_iso(s.created_at, created);
	clock_iso(s.expires_at, expires);
	(void)snprintf(loc, sizeof(loc), "/api/v1/sessions/%s", s.id);
	reply_header(rep, "Location", loc);
	reply_json(rep, 201, json_pack("{s:s, s:o, s:s, s:s, s:s}",
	    "sessionId", s.id, "wsUrl", sessions_ws_url(req, s.id), "status",
	    "RUNNING", "createdAt", created, "expiresAt", expires));
out:
	session_spec_release(&spec);
}

void
h_session_get(struct api *api, struct req *req, struct reply *rep,
    const char *id)
{
	char created[CLOCK_ISO_SIZE], expires[CLOCK_ISO_SIZE];
	struct store_session s;
	enum err r;

	if (!api_authorized(api, req, rep, req_header(req, "HTTP_X_API_KEY"),
		NULL))
		return;
	if (!id_valid(id, strlen(id))) {
		reply_err(rep, ERR_NOTFOUND);
		return;
	}
	r = session_lookup(&api->sess, id, clock_now_ms(), req->ip, &s);
	if (r != ERR_OK) {
		reply_err(rep, r);
		return;
	}
	clock_iso(s.created_at, created);
	clock_iso(s.expires_at, expires);
	reply_json(rep, 200, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}",
	    "sessionId", s.id, "status",
	    s.state == STORE_CREATING ? "STARTING" : "RUNNING", "createdAt",
	    created, "expiresAt", expires, "toolPair", s.tool_pair,
	    "environment", s.environment));
}

/* End session id for its owner: DELETE and the beacon answer alike.
 * Destroying an unknown session is a no-op success (contract §1.4). */
static void
sessions_end_reply(struct api *api, struct req *req, struct reply *rep,
    const char *id)
{
	enum err r = ERR_OK;

	if (id_valid(id, strlen(id)))
		r = session_end(&api->sess, id, "user_request", req->ip,
		    clock_now_ms());
	if (r != ERR_OK) {
		reply_err(rep, r);
		return;
	}
	reply_json(rep, 200, json_pack("{s:b}", "success", 1));
}

void
h_session_delete(struct api *api, struct req *req, struct reply *rep,
    const char *id)
{
	if (api_authorized(api, req, rep, req_header(req, "HTTP_X_API_KEY"),
		NULL))
		sessions_end_reply(api, req, rep, id);
}

/*
 * The key of a beacon: X-API-Key if sent, else the body's "apiKey"
 * (navigator.sendBeacon cannot set headers; its body is text/plain for a
 * string, application/json for a Blob: the body is read as JSON
 * whatever the Content-Type).  NULL when neither: MissingApiKey.
 */
static const char *
sessions_beacon_key(struct req *req, json_t **body)
{
	const char *h = req_header(req, "HTTP_X_API_KEY");

	*body = NULL;
	if (h != NULL && *h != '\0')
		return h;
	*body = json_loadb(req->body, req->bodylen, 0, NULL);
	return json_string_value(json_object_get(*body, "apiKey"));
}

/*
 * A beacon is a "simple" cross-origin request (no preflight for
 * text/plain), which a browser would not let through for DELETE with its
 * X-API-Key: so an Origin outside a configured allowlist is refused here
 * (403), where for DELETE the browser's CORS check does it.
 */
static bool
sessions_beacon_origin(struct api *api, struct req *req, struct reply *rep)
{
	const char *origin = req_header(req, "HTTP_ORIGIN");

	if (origin == NULL || *origin == '\0' ||
	    cfg_origin_allowed(api->cfg, origin))
		return true;
	metrics_reject(METRICS_REJECT_ORIGIN);
	reply_error(rep, 403, "Forbidden", "Origin not allowed");
	return false;
}

void
h_session_destroy(struct api *api, struct req *req, struct reply *rep,
    const char *id)
{
	json_t *body = NULL;
	const char *key = sessions_beacon_key(req, &body);
	bool ok = sessions_beacon_origin(api, req, rep) &&
	    api_authorized(api, req, rep, key, id_valid(id, strlen(id)) ? id :
	    NULL);

	json_decref(body);
	if (ok)
		sessions_end_reply(api, req, rep, id);
}

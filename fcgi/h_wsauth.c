/*
 * h_wsauth.c: GET /internal/ws-auth, called by Caddy's forward_auth before
 * every WebSocket upgrade, so that a bad Origin (403), key (401), session
 * (404) or a full per-IP WebSocket quota (429) is a real HTTP answer rather
 * than a WebSocket that closes at once.  The original request arrives in
 * X-Forwarded-Uri.  Every answer names the client IP and session id in
 * X-Client-IP and X-Session-Id; Caddy copies them to websocketd on 2xx.
 * The relay checks all of this again (websocketd is reachable locally).
 */
#include "compat.h"

#include "api.h"
#include "clock.h"
#include "id.h"
#include "metrics.h"

#define WS_PREFIX "/api/v1/sessions/"
#define WS_SUFFIX "/ws"
#define WS_RETRY_AFTER 10

/* Split X-Forwarded-Uri into the session id and the query. */
static bool
wsauth_target(const char *uri, char id[ID_SIZE], const char **query)
{
	size_t plen = sizeof(WS_PREFIX) - 1, slen = sizeof(WS_SUFFIX) - 1;
	size_t n = strcspn(uri, "?");

	*query = uri[n] == '?' ? uri + n + 1 : "";
	if (n != plen + ID_LEN + slen || strncmp(uri, WS_PREFIX, plen) != 0 ||
	    strncmp(uri + plen + ID_LEN, WS_SUFFIX, slen) != 0 ||
	    !id_valid(uri + plen, ID_LEN))
		return false;
	memcpy(id, uri + plen, ID_LEN);
	id[ID_LEN] = '\0';
	return true;
}

static bool
wsauth_origin(struct api *api, struct req *req, struct reply *rep)
{
	const char *origin = req_header(req, "HTTP_ORIGIN");

	if (api->cfg->norigins == 0)
		return true;
	if (origin == NULL || *origin == '\0') {
		metrics_reject(METRICS_REJECT_ORIGIN);
		reply_error(rep, 403, "Forbidden", "Origin header is required");
		return false;
	}
	if (!cfg_origin_allowed(api->cfg, origin)) {
		metrics_reject(METRICS_REJECT_ORIGIN);
		reply_error(rep, 403, "Forbidden", "Origin not allowed");
		return false;
	}
	return true;
}

static bool
wsauth_quota(struct api *api, struct req *req, const char *id,
    struct reply *rep)
{
	long long open_ws = 0;
	char msg[96], lim[24];
	struct ratelimit rl = { api->cfg->sessions_per_hour,
		api->cfg->concurrent_per_ip, api->cfg->websockets_per_ip };

	if (store_ws_count(api->sess.store, req->ip, id, clock_now_ms(),
	    &open_ws) != ERR_OK) {
		reply_err(rep, ERR_IO);
		return false;
	}
	if (ratelimit_websocket(&rl, open_ws))
		return true;
	(void)snprintf(lim, sizeof(lim), "%lld", rl.websockets);
	(void)snprintf(msg, sizeof(msg), "Rate limit exceeded: websocket limit "
	    "(%lld/concurrent)", rl.websockets);
	(void)audit_emit(api->sess.audit, AUDIT_WARN, "rate_limit.websocket", msg,
	    "clientIp", req->ip, "limit", lim, "window", "concurrent", AUDIT_END);
	metrics_reject(METRICS_REJECT_WEBSOCKET);
	reply_retry(rep, 429, "TooManyConnections",
	    "Too many concurrent connections", WS_RETRY_AFTER);
	return false;
}

void
h_wsauth(struct api *api, struct req *req, struct reply *rep,
    const char *unused ATTR_UNUSED)
{
	const char *uri = req_header(req, "HTTP_X_FORWARDED_URI");
	const char *query = "", *key;
	char id[ID_SIZE] = "", qkey[REQ_HEADER_MAX];
	struct store_session s;
	enum err r;

	reply_header(rep, "X-Client-IP", req->ip);
	if (uri == NULL || !wsauth_target(uri, id, &query)) {
		reply_header(rep, "X-Session-Id", "");
		reply_error(rep, 404, "NotFound", "Session not found");
		return;
	}
	reply_header(rep, "X-Session-Id", id);
	if (!wsauth_origin(api, req, rep))
		return;
	key = req_header(req, "HTTP_X_API_KEY");
	if ((key == NULL || *key == '\0') &&
	    req_query(query, "api_key", qkey, sizeof(qkey)))
		key = qkey;
	if (!api_authorized(api, req, rep, key, id))
		return;
	r = session_lookup(&api->sess, id, clock_now_ms(), req->ip, &s);
	if (r == ERR_OK && s.state != STORE_RUNNING)
		r = ERR_CONFLICT;
	if (r != ERR_OK) {
		reply_err(rep, r == ERR_CONFLICT ? ERR_NOTFOUND : r);
		return;
	}
	if (!wsauth_quota(api, req, id, rep))
		return;
	reply_json(rep, 200, json_pack("{s:b}", "ok", 1));
}

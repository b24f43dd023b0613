/*
 * h_check.c: POST /api/v1/sessions/<id>/check, a lesson's step check.
 * Order: key, body, session (live, with a running container), the
 * per-session limits (store_check_begin: one at a time, N a minute, in
 * SQLite so every worker agrees), the check (lib/stepcheck), audit
 * session.check (exit code and duration, never the output).
 *
 * The body (unknown fields are ignored):
 *   command    string, 1..STEPCHECK_COMMAND_MAX bytes, no NUL (required)
 *   timeoutMs  integer, 100..SANDBOX_CHECK_TIMEOUT_MAX_MS (default
 *              SANDBOX_CHECK_TIMEOUT_MS)
 *   check      a named check: none are offered, so it is refused
 */
#include "compat.h"

#include "api.h"
#include "clock.h"
#include "id.h"
#include "log.h"
#include "metrics.h"
#include "stepcheck.h"

#define CHECK_TIMEOUT_MIN 100

static bool
check_command(json_t *v, char *out, size_t outsz, const char **msg)
{
	const char *s = json_string_value(v);

	if (s == NULL || *s == '\0') {
		*msg = "command must be a non-empty string";
		return false;
	}
	if (strlen(s) != json_string_length(v)) {
		*msg = "command must not contain NUL";
		return false;
	}
	if (json_string_length(v) > STEPCHECK_COMMAND_MAX ||
	    !strlcpy_ok(out, s, outsz)) {
		*msg = "command longer than 4096 bytes";
		return false;
	}
	return true;
}

bool
check_body_parse(const struct cfg *cfg, const char *buf, size_t len,
    struct check_req *cr, const char **msg)
{
	json_t *body = json_loadb(buf, len, JSON_REJECT_DUPLICATES |
	    JSON_ALLOW_NUL, NULL);
	json_t *t;
	long long max = cfg->check_timeout_max_ms;
	bool ok = false;

	memset(cr, 0, sizeof(*cr));
	cr->timeout_ms = cfg->check_timeout_ms < max ? cfg->check_timeout_ms :
	    max;
	*msg = NULL;
	if (body == NULL || !json_is_object(body)) {
		*msg = "Request body must be a JSON object";
		goto out;
	}
	if (json_object_get(body, "check") != NULL) {
		*msg = "named checks are not offered: send a command";
		goto out;
	}
	if (!check_command(json_object_get(body, "command"), cr->command,
	    sizeof(cr->command), msg))
		goto out;
	t = json_object_get(body, "timeoutMs");
	if (t != NULL && !json_is_null(t)) {
		if (!json_is_integer(t) || json_integer_value(t) <
		    CHECK_TIMEOUT_MIN || json_integer_value(t) > max) {
			*msg = "timeoutMs must be an integer from 100 to "
			    "SANDBOX_CHECK_TIMEOUT_MAX_MS";
			goto out;
		}
		cr->timeout_ms = json_integer_value(t);
	}
	ok = true;
out:
	json_decref(body);
	return ok;
}

/* The session's running container, or false with the reply written. */
static bool
check_session(struct api *api, struct req *req, struct reply *rep,
    const char *id, struct store_session *s)
{
	enum err r;

	if (!id_valid(id, strlen(id))) {
		reply_err(rep, ERR_NOTFOUND);
		return false;
	}
	r = session_lookup(&api->sess, id, clock_now_ms(), req->ip, s);
	if (r == ERR_OK && (s->state != STORE_RUNNING ||
	    s->container_id[0] == '\0'))
		r = ERR_CONFLICT;
	if (r == ERR_CONFLICT) {
		reply_error(rep, 409, "Conflict", "Session is not running");
		return false;
	}
	if (r != ERR_OK) {
		reply_err(rep, r);
		return false;
	}
	return true;
}

/* One at a time and N a minute; false with a 429 (or 503) written. */
static bool
check_admit(struct api *api, struct req *req, struct reply *rep,
    const char *id, long long timeout_ms, long long *check_id)
{
	const struct cfg *cfg = api->cfg;
	int64_t now = clock_now_ms();
	long long per_minute = cfg->disable_rate_limit ? 0 :
	    cfg->checks_per_minute, retry = 0;
	bool running = false;
	char lim[24];
	enum err r;

	/* The slot is held until the check ends, or past anything the
	 * engine could take, if this worker dies holding it. */
	r = store_check_begin(api->sess.store, id, per_minute, now, now +
	    timeout_ms + STEPCHECK_GRACE_MS + cfg->engine_timeout * 2000,
	    check_id, &retry, &running);
	if (r == ERR_OK)
		return true;
	if (r != ERR_LIMIT) {
		reply_err(rep, r);
		return false;
	}
	(void)snprintf(lim, sizeof(lim), "%lld", per_minute);
	(void)audit_emit(api->sess.audit, AUDIT_WARN, "rate_limit.check",
	    running ? "Rate limit exceeded: a check is running" :
	    "Rate limit exceeded: checks per minute", "sessionId", id,
	    "clientIp", req->ip, "limit", running ? "1" : lim, "window",
	    running ? "concurrent" : "minute", AUDIT_END);
	reply_retry(rep, 429, "TooManyChecks", running ? "A check is already "
	    "running for this session" : "Rate limit exceeded", retry);
	return false;
}

static void
check_reply(struct reply *rep, const struct stepcheck_result *res)
{
	reply_json(rep, 200, json_pack("{s:i, s:s, s:s, s:I, s:b, s:b}",
	    "exitCode", res->exit_code, "stdout", res->out, "stderr",
	    res->err, "durationMs", (json_int_t)res->duration_ms,
	    "truncated", res->truncated, "timedOut", res->timed_out));
}

void
h_session_check(struct api *api, struct req *req, struct reply *rep,
    const char *id)
{
	struct check_req cr;
	struct stepcheck_spec spec;
	struct stepcheck_result res;
	struct store_session s;
	long long check_id = 0;
	const char *msg;
	enum err r;

	memset(&res, 0, sizeof(res));
	if (!api_authorized(api, req, rep, req_header(req, "HTTP_X_API_KEY"),
		id))
		return;
	if (!check_body_parse(api->cfg, req->body, req->bodylen, &cr, &msg)) {
		metrics_reject(METRICS_REJECT_BAD_REQUEST);
		reply_error(rep, 400, "BadRequest", msg);
		return;
	}
	if (!check_session(api, req, rep, id, &s) ||
	    !check_admit(api, req, rep, id, cr.timeout_ms, &check_id))
		return;
	spec.command = cr.command;
	spec.timeout_ms = (long)cr.timeout_ms;
	spec.output_max = (long)api->cfg->check_output_max;
	r = stepcheck_run(api->sess.engine, s.container_id, &spec, &res);
	(void)store_check_end(api->sess.store, check_id, clock_now_ms());
	if (r != ERR_OK) {
		log_warnx("check: session %s: %s", id, err_str(r));
		if (r == ERR_CONFLICT || r == ERR_NOTFOUND)
			reply_error(rep, 409, "Conflict", "Session is not "
			    "running");
		else
			reply_err(rep, r);
		goto out;
	}
	(void)audit_emit(api->sess.audit, AUDIT_INFO, "session.check",
	    "Step check ran", "sessionId", id, "clientIp", req->ip,
	    "#exitCode", (long long)res.exit_code, "#durationMs",
	    res.duration_ms, "timedOut", res.timed_out ? "true" : "false",
	    "truncated", res.truncated ? "true" : "false", AUDIT_END);
	check_reply(rep, &res);
out:
	stepcheck_result_release(&res);
}

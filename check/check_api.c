/*
 * check_api.c: integration suite for toolkata-api on the real stack: a
 * dockerd with runsc, real containers from toolkata-sandbox:latest, Caddy
 * in front over FastCGI, and the same binary run as CGI.  Nothing here is
 * mocked.  Each TCase starts its own stack (own socket, port, state file,
 * SANDBOX_INSTANCE) in an unchecked fixture and stops it by pid.
 */
#include "compat.h"

#include "log.h"
#include "stack.h"
#include "store.h"
#include "util.h"

#define KEY_HDR "X-API-Key: test-key-123"
#define ORIGIN_OK "http://allowed.test"

static struct stack st;

static const char *const key_hdrs[] = { KEY_HDR, NULL };
static const char *const create_hdrs[] = { KEY_HDR,
	"Content-Type: application/json", NULL };
static const char create_body[] = "{\"toolPair\":\"jj-git\"}";

static void
rest_env(struct stack *s)
{
	stack_setenv(s, "SANDBOX_API_KEY", "test-key-123");
	stack_setenv(s, "SANDBOX_ALLOWED_ORIGINS", ORIGIN_OK);
	stack_setenv(s, "MAX_SESSIONS_PER_HOUR", "3");
	stack_setenv(s, "MAX_CONCURRENT_PER_IP", "2");
	stack_setenv(s, "MAX_WEBSOCKETS_PER_IP", "3");
	stack_setenv(s, "CIRCUIT_MAX_CONTAINERS", "10");
	stack_setenv(s, "CIRCUIT_MAX_MEMORY_PERCENT", "100");
	stack_setenv(s, "SANDBOX_REAP_INTERVAL", "1");
}

static void
rest_setup(void)
{
	stack_init(&st, "rest");
	rest_env(&st);
	stack_up(&st);
}

static void
expiry_setup(void)
{
	stack_init(&st, "expiry");
	rest_env(&st);
	stack_setenv(&st, "SANDBOX_IDLE_TIMEOUT", "10");
	stack_setenv(&st, "MAX_CONCURRENT_PER_IP", "1");
	stack_up(&st);
}

static void
crash_setup(void)
{
	stack_init(&st, "crash");
	rest_env(&st);
	stack_setenv(&st, "SANDBOX_REAP_INTERVAL", "3600");
	stack_up(&st);
}

static void
teardown(void)
{
	stack_down(&st);
}

/* POST a session from src; returns the id (static buffer) or fails. */
static const char *
create_ok(const char *src)
{
	static char id[ID_SIZE];
	struct http_resp r;
	json_t *j;

	stack_http(&st, "POST", "/api/v1/sessions", src, create_hdrs,
	    create_body, &r);
	ck_assert_msg(r.status == 201, "create: %ld %s", r.status, r.body);
	j = resp_json(&r);
	ck_assert(strlcpy_ok(id, jstr(j, "sessionId"), sizeof(id)));
	json_decref(j);
	http_resp_free(&r);
	return id;
}

static long
delete_session(const char *id, const char *src)
{
	struct http_resp r;
	char path[128];
	long status;

	(void)snprintf(path, sizeof(path), "/api/v1/sessions/%s", id);
	stack_http(&st, "DELETE", path, src, key_hdrs, NULL, &r);
	status = r.status;
	http_resp_free(&r);
	return status;
}

static long
get_session(const char *id, char *errcode, size_t sz)
{
	struct http_resp r;
	char path[128];
	long status;
	json_t *j;

	(void)snprintf(path, sizeof(path), "/api/v1/sessions/%s", id);
	stack_http(&st, "GET", path, NULL, key_hdrs, NULL, &r);
	status = r.status;
	j = resp_json(&r);
	if (errcode != NULL)
		(void)strlcpy_ok(errcode, status == 200 ? "" : jstr(j, "error"),
		    sz);
	json_decref(j);
	http_resp_free(&r);
	return status;
}

/* The Engine's view of a session's container (caller decrefs). */
static json_t *
inspect_session(const char *id, long *status)
{
	char path[128];

	(void)snprintf(path, sizeof(path), "/containers/toolkata-%s/json", id);
	return engine_get(path, status);
}

/* ---- health, status, metrics ------------------------------------------ */

START_TEST(test_health_fcgi_and_cgi)
{
	static const char *const cgi_env[] = { "REQUEST_METHOD=GET",
		"PATH_INFO=/health", NULL };
	struct http_resp r, c;
	json_t *j, *g;
	char tmp[64];

	stack_http(&st, "GET", "/health", NULL, NULL, NULL, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_msg(!resp_header(&r, "Status", tmp, sizeof(tmp)),
	    "CGI Status header leaked through Caddy");
	j = resp_json(&r);
	ck_assert_str_eq(jstr(j, "status"), "ok");
	ck_assert_int_eq(strlen(jstr(j, "timestamp")), 24);
	ck_assert(json_is_real(json_object_get(j, "uptime")));
	ck_assert(json_is_integer(json_object_get(j, "containers")));
	g = json_object_get(j, "gvisor");
	ck_assert(json_is_true(json_object_get(g, "requested")));
	ck_assert_msg(json_is_true(json_object_get(g, "available")),
	    "runsc is not registered in dockerd (docker/daemon.json)");
	ck_assert_str_eq(jstr(g, "runtime"), "runsc");
	json_decref(j);

	stack_cgi(&st, cgi_env, NULL, &c);
	ck_assert_int_eq(c.status, 200);
	ck_assert(resp_header(&c, "Content-Type", tmp, sizeof(tmp)));
	ck_assert_str_eq(tmp, "application/json");
	j = resp_json(&c);
	ck_assert_str_eq(jstr(j, "status"), "ok");
	ck_assert(json_is_true(json_object_get(json_object_get(j, "gvisor"),
	    "available")));
	json_decref(j);
	http_resp_free(&r);
	http_resp_free(&c);
}
END_TEST

START_TEST(test_status_and_metrics)
{
	struct http_resp r;
	json_t *j, *m;
	char tmp[64];

	stack_http(&st, "GET", "/api/v1/status", NULL, NULL, NULL, &r);
	ck_assert_int_eq(r.status, 200);
	j = resp_json(&r);
	ck_assert(json_is_false(json_object_get(j, "isOpen")));
	ck_assert(json_is_null(json_object_get(j, "reason")));
	m = json_object_get(j, "metrics");
	ck_assert_int_eq(json_integer_value(json_object_get(m,
	    "maxContainers")), 10);
	ck_assert(json_is_integer(json_object_get(m, "memoryPercent")));
	json_decref(j);
	http_resp_free(&r);

	stack_http(&st, "GET", "/metrics", NULL, NULL, NULL, &r);
	ck_assert_int_eq(r.status, 401);
	http_resp_free(&r);
	stack_http(&st, "GET", "/metrics", NULL, key_hdrs, NULL, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert(resp_header(&r, "Content-Type", tmp, sizeof(tmp)));
	ck_assert_str_eq(tmp, "text/plain; version=0.0.4");
	ck_assert_ptr_nonnull(strstr(r.body, "# TYPE toolkata_sessions_live "
	    "gauge\ntoolkata_sessions_live "));
	ck_assert_ptr_nonnull(strstr(r.body, "toolkata_rejections_total"
	    "{reason=\"auth\"} "));
	ck_assert_ptr_nonnull(strstr(r.body, "# TYPE "
	    "toolkata_engine_call_seconds histogram"));
	ck_assert_ptr_nonnull(strstr(r.body, "toolkata_engine_call_seconds_"
	    "bucket{op=\"info\",le=\"+Inf\"} "));
	http_resp_free(&r);
}
END_TEST

/* ---- auth and bad input --------------------------------------------- */

START_TEST(test_auth)
{
	static const char *const wrong[] = { "X-API-Key: nope", NULL };
	static const char *const cgi_env[] = { "REQUEST_METHOD=POST",
		"PATH_INFO=/api/v1/sessions", "REMOTE_ADDR=192.0.2.7",
		"HTTP_X_API_KEY=wrong-key-777", "CONTENT_LENGTH=21", NULL };
	struct http_resp r;
	json_t *j;

	stack_http(&st, "POST", "/api/v1/sessions", NULL, NULL, create_body,
	    &r);
	ck_assert_int_eq(r.status, 401);
	j = resp_json(&r);
	ck_assert_str_eq(jstr(j, "error"), "MissingApiKey");
	ck_assert_str_eq(jstr(j, "message"), "Unauthorized");
	json_decref(j);
	http_resp_free(&r);

	stack_http(&st, "GET", "/api/v1/sessions/sess_0123456789abcdef0123456789abcdef",
	    NULL, wrong, NULL, &r);
	ck_assert_int_eq(r.status, 401);
	j = resp_json(&r);
	ck_assert_str_eq(jstr(j, "error"), "InvalidApiKey");
	json_decref(j);
	http_resp_free(&r);

	stack_cgi(&st, cgi_env, create_body, &r);
	ck_assert_int_eq(r.status, 401);
	j = resp_json(&r);
	ck_assert_str_eq(jstr(j, "error"), "InvalidApiKey");
	json_decref(j);
	http_resp_free(&r);

	ck_assert(file_contains(st.audit, "\"event\":\"auth.failure\""));
	ck_assert(file_contains(st.audit, "\"clientIp\":\"192.0.2.7\""));
	ck_assert_msg(!file_contains(st.audit, "wrong-key-777") &&
	    !file_contains(st.audit, "test-key-123"),
	    "an API key reached the audit log");
	ck_assert_int_eq(stack_ncontainers(&st), 0);
}
END_TEST

static void
expect_error(const char *method, const char *path, const char *body,
    long status, const char *code)
{
	struct http_resp r;
	json_t *j;

	stack_http(&st, method, path, NULL, create_hdrs, body, &r);
	ck_assert_msg(r.status == status, "%s %s: %ld, want %ld: %s", method,
	    path, r.status, status, r.body);
	if (code != NULL) {
		j = resp_json(&r);
		ck_assert_str_eq(jstr(j, "error"), code);
		ck_assert(json_is_string(json_object_get(j, "message")));
		json_decref(j);
	}
	http_resp_free(&r);
}

START_TEST(test_bad_input)
{
	char *big = malloc(17001), path[400];
	struct http_resp r;

	ck_assert_ptr_nonnull(big);
	memset(big, 'x', 17000);
	big[17000] = '\0';
	expect_error("POST", "/api/v1/sessions", "{nope", 400, "BadRequest");
	expect_error("POST", "/api/v1/sessions", "", 400, "BadRequest");
	expect_error("POST", "/api/v1/sessions", "[1,2]", 400, "BadRequest");
	expect_error("POST", "/api/v1/sessions", "{}", 400, "BadRequest");
	expect_error("POST", "/api/v1/sessions", "{\"toolPair\":5}", 400,
	    "BadRequest");
	expect_error("POST", "/api/v1/sessions", "{\"toolPair\":\"\"}", 400,
	    "BadRequest");
	expect_error("POST", "/api/v1/sessions", "{\"toolPair\":\"vim-emacs\"}",
	    400, "BadRequest");
	expect_error("POST", "/api/v1/sessions",
	    "{\"toolPair\":\"jj-git\",\"toolPair\":\"jj-git\"}", 400,
	    "BadRequest");
	expect_error("POST", "/api/v1/sessions", big, 413, "PayloadTooLarge");
	memset(path, 'a', sizeof(path) - 1);
	memcpy(path, "/api/v1/", 8);
	path[sizeof(path) - 1] = '\0';
	expect_error("GET", path, NULL, 414, "URITooLong");
	expect_error("GET", "/api/v1/nope", NULL, 404, "NotFound");
	expect_error("GET", "/api/v1/sessions/a/b", NULL, 404, "NotFound");
	expect_error("GET", "/api/v1/sessions/not-an-id", NULL, 404,
	    "NotFound");
	expect_error("PUT", "/api/v1/sessions", NULL, 404, "NotFound");
	/* The forward_auth route is internal: Caddy's catch-all answers. */
	expect_error("GET", "/internal/ws-auth", NULL, 404, NULL);
	free(big);

	/* Preflight: 204 with the original's CORS headers, no auth. */
	{
		static const char *const pre[] = { "Origin: " ORIGIN_OK,
			"Access-Control-Request-Method: POST", NULL };
		char v[128];

		stack_http(&st, "OPTIONS", "/api/v1/sessions", NULL, pre, NULL,
		    &r);
		ck_assert_int_eq(r.status, 204);
		ck_assert(resp_header(&r, "Access-Control-Allow-Origin", v,
		    sizeof(v)));
		ck_assert_str_eq(v, ORIGIN_OK);
		ck_assert(resp_header(&r, "Access-Control-Allow-Methods", v,
		    sizeof(v)));
		ck_assert_str_eq(v, "GET,POST,DELETE,OPTIONS");
		http_resp_free(&r);
	}
	/* Still healthy, and nothing was created. */
	stack_http(&st, "GET", "/health", NULL, NULL, NULL, &r);
	ck_assert_int_eq(r.status, 200);
	http_resp_free(&r);
	ck_assert_int_eq(stack_ncontainers(&st), 0);
}
END_TEST

START_TEST(test_cgi_bodies)
{
	static const char *const chunked[] = { "REQUEST_METHOD=POST",
		"PATH_INFO=/api/v1/sessions", "HTTP_X_API_KEY=test-key-123",
		"CONTENT_LENGTH=-1", NULL };
	static const char *const nolen[] = { "REQUEST_METHOD=POST",
		"PATH_INFO=/api/v1/sessions", "HTTP_X_API_KEY=test-key-123",
		NULL };
	static const char *const huge_len[] = { "REQUEST_METHOD=POST",
		"PATH_INFO=/api/v1/sessions", "HTTP_X_API_KEY=test-key-123",
		"CONTENT_LENGTH=99999999999", NULL };
	char *big = malloc(20001);
	struct http_resp r;
	json_t *j;

	ck_assert_ptr_nonnull(big);
	memset(big, ' ', 20000);
	big[20000] = '\0';
	stack_cgi(&st, chunked, "{bad json", &r);
	ck_assert_int_eq(r.status, 400);
	j = resp_json(&r);
	ck_assert_str_eq(jstr(j, "error"), "BadRequest");
	json_decref(j);
	http_resp_free(&r);
	stack_cgi(&st, nolen, big, &r);
	ck_assert_int_eq(r.status, 413);
	http_resp_free(&r);
	stack_cgi(&st, huge_len, "{}", &r);
	ck_assert_int_eq(r.status, 413);
	http_resp_free(&r);
	free(big);
}
END_TEST

/* ---- sessions and their containers ---------------------------------- */

static void
assert_host_config(json_t *c, const char *id, const char *runtime,
    long long pids)
{
	json_t *hc = json_object_get(c, "HostConfig");
	json_t *labels = json_object_get(json_object_get(c, "Config"), "Labels");
	json_t *tmpfs = json_object_get(hc, "Tmpfs"), *ul;
	const char *home = json_string_value(json_object_get(tmpfs,
	    "/home/toolkata"));
	const char *tmp = json_string_value(json_object_get(tmpfs, "/tmp"));

	ck_assert_str_eq(jstr(hc, "NetworkMode"), "none");
	ck_assert(json_is_true(json_object_get(hc, "ReadonlyRootfs")));
	ck_assert_ptr_nonnull(home);
	ck_assert_ptr_nonnull(strstr(home, "size=50m"));
	ck_assert_ptr_nonnull(strstr(home, "uid=1000"));
	ck_assert_ptr_nonnull(tmp);
	ck_assert_ptr_nonnull(strstr(tmp, "size=10m"));
	ck_assert_int_eq(json_integer_value(json_object_get(hc, "Memory")),
	    134217728);
	ck_assert_int_eq(json_integer_value(json_object_get(hc, "MemorySwap")),
	    134217728);
	ck_assert_int_eq(json_integer_value(json_object_get(hc, "CpuQuota")),
	    50000);
	ck_assert_int_eq(json_integer_value(json_object_get(hc, "CpuPeriod")),
	    100000);
	ck_assert_int_eq(json_integer_value(json_object_get(hc, "PidsLimit")),
	    pids);
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(hc,
	    "CapDrop"), 0)), "ALL");
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(hc,
	    "SecurityOpt"), 0)), "no-new-privileges");
	ul = json_array_get(json_object_get(hc, "Ulimits"), 0);
	ck_assert_str_eq(jstr(ul, "Name"), "nofile");
	ck_assert_int_eq(json_integer_value(json_object_get(ul, "Soft")), 64);
	ck_assert_int_eq(json_integer_value(json_object_get(ul, "Hard")), 64);
	ck_assert_str_eq(jstr(hc, "Runtime"), runtime);
	ck_assert_str_eq(jstr(labels, "toolkata.session"), id);
	ck_assert_str_eq(jstr(labels, "toolkata.tool-pair"), "jj-git");
	ck_assert_str_eq(jstr(labels, "toolkata.instance"), st.instance);
	ck_assert_int_eq(strlen(jstr(labels, "toolkata.expires-at")), 24);
	ck_assert(json_is_true(json_object_get(json_object_get(c, "State"),
	    "Running")));
	ck_assert_str_eq(jstr(json_object_get(c, "Config"), "Image"),
	    "toolkata-sandbox:latest");
}

START_TEST(test_session_lifecycle_fcgi)
{
	static const char *const chunked_hdrs[] = { KEY_HDR,
		"Transfer-Encoding: chunked", NULL };
	char path[128], loc[128], code[32];
	struct http_resp r;
	const char *id;
	long status;
	json_t *j, *c;

	/* Chunked upload: Caddy passes CONTENT_LENGTH=-1. */
	stack_http(&st, "POST", "/api/v1/sessions", "127.0.0.21", chunked_hdrs,
	    create_body, &r);
	ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
	j = resp_json(&r);
	id = jstr(j, "sessionId");
	ck_assert(id_valid(id, strlen(id)));
	ck_assert_str_eq(jstr(j, "status"), "RUNNING");
	(void)snprintf(path, sizeof(path), "ws://127.0.0.1:%d/api/v1/sessions/"
	    "%s/ws", st.port, id);
	ck_assert_str_eq(jstr(j, "wsUrl"), path);
	ck_assert(resp_header(&r, "Location", loc, sizeof(loc)));
	(void)snprintf(path, sizeof(path), "/api/v1/sessions/%s", id);
	ck_assert_str_eq(loc, path);
	{
		/* expiresAt = createdAt + 30 min */
		struct tm a, b;
		const char *ca = jstr(j, "createdAt"), *ea = jstr(j, "expiresAt");

		memset(&a, 0, sizeof(a));
		memset(&b, 0, sizeof(b));
		ck_assert_ptr_nonnull(strptime(ca, "%Y-%m-%dT%H:%M:%S", &a));
		ck_assert_ptr_nonnull(strptime(ea, "%Y-%m-%dT%H:%M:%S", &b));
		ck_assert_int_eq((long)(timegm(&b) - timegm(&a)), 1800);
	}

	c = inspect_session(id, &status);
	ck_assert_int_eq(status, 200);
	assert_host_config(c, id, "runsc", 2048);
	json_decref(c);

	ck_assert_int_eq(get_session(id, NULL, 0), 200);
	http_resp_free(&r);
	stack_http(&st, "GET", path, NULL, key_hdrs, NULL, &r);
	{
		json_t *g = resp_json(&r);

		ck_assert_str_eq(jstr(g, "toolPair"), "jj-git");
		ck_assert_str_eq(jstr(g, "sessionId"), id);
		json_decref(g);
	}
	ck_assert(file_contains(st.audit, "\"event\":\"session.created\""));

	ck_assert_int_eq(delete_session(id, "127.0.0.21"), 200);
	c = inspect_session(id, &status);
	ck_assert_int_eq(status, 404);
	json_decref(c);
	ck_assert_int_eq(get_session(id, code, sizeof(code)), 404);
	ck_assert_str_eq(code, "NotFound");
	ck_assert_int_eq(delete_session(id, NULL), 200);
	ck_assert(file_contains(st.audit, "\"reason\":\"user_request\""));
	json_decref(j);
	http_resp_free(&r);
}
END_TEST

START_TEST(test_session_lifecycle_cgi_runc)
{
	static const char *const post[] = { "REQUEST_METHOD=POST",
		"PATH_INFO=/api/v1/sessions", "HTTP_X_API_KEY=test-key-123",
		"REMOTE_ADDR=192.0.2.40", "CONTENT_LENGTH=21", "HTTPS=on",
		"HTTP_HOST=sandbox.example:8443", "SANDBOX_USE_GVISOR=false",
		NULL };
	char get[96], del[96];
	const char *getenv_[] = { "REQUEST_METHOD=GET", get,
		"HTTP_X_API_KEY=test-key-123", NULL };
	const char *delenv[] = { "REQUEST_METHOD=DELETE", del,
		"HTTP_X_API_KEY=test-key-123", NULL };
	struct http_resp r;
	char id[ID_SIZE];
	long status;
	json_t *j, *c;

	stack_cgi(&st, post, create_body, &r);
	ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
	j = resp_json(&r);
	ck_assert(strlcpy_ok(id, jstr(j, "sessionId"), sizeof(id)));
	(void)snprintf(get, sizeof(get),
	    "wss://sandbox.example:8443/api/v1/sessions/%s/ws", id);
	ck_assert_str_eq(jstr(j, "wsUrl"), get);
	json_decref(j);
	http_resp_free(&r);
	c = inspect_session(id, &status);
	ck_assert_int_eq(status, 200);
	assert_host_config(c, id, "runc", 50);
	json_decref(c);

	/* The daemon (FastCGI) sees what the CGI run created: one store. */
	ck_assert_int_eq(get_session(id, NULL, 0), 200);
	(void)snprintf(get, sizeof(get), "PATH_INFO=/api/v1/sessions/%s", id);
	(void)snprintf(del, sizeof(del), "PATH_INFO=/api/v1/sessions/%s", id);
	stack_cgi(&st, getenv_, NULL, &r);
	ck_assert_int_eq(r.status, 200);
	http_resp_free(&r);
	stack_cgi(&st, delenv, NULL, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.body, "{\"success\":true}");
	http_resp_free(&r);
	c = inspect_session(id, &status);
	ck_assert_int_eq(status, 404);
	json_decref(c);
}
END_TEST

START_TEST(test_limits_and_release)
{
	const char *src = "127.0.0.31";
	char a[ID_SIZE], b[ID_SIZE], ra[32];
	struct http_resp r;
	json_t *j;

	(void)strlcpy_ok(a, create_ok(src), sizeof(a));
	(void)strlcpy_ok(b, create_ok(src), sizeof(b));
	/* Third live session: the concurrent limit (2). */
	stack_http(&st, "POST", "/api/v1/sessions", src, create_hdrs,
	    create_body, &r);
	ck_assert_int_eq(r.status, 429);
	j = resp_json(&r);
	ck_assert_str_eq(jstr(j, "error"), "TooManySessions");
	ck_assert_int_ge(json_integer_value(json_object_get(j, "retryAfter")), 1);
	ck_assert(resp_header(&r, "Retry-After", ra, sizeof(ra)));
	ck_assert_int_eq(strtol(ra, NULL, 10),
	    json_integer_value(json_object_get(j, "retryAfter")));
	json_decref(j);
	http_resp_free(&r);
	/* Another IP is not affected. */
	ck_assert_int_eq(delete_session(create_ok("127.0.0.32"), NULL), 200);

	/* Ending one releases its slot: the third of the hour fits. */
	ck_assert_int_eq(delete_session(a, src), 200);
	(void)strlcpy_ok(a, create_ok(src), sizeof(a));
	ck_assert_int_eq(delete_session(a, src), 200);
	ck_assert_int_eq(delete_session(b, src), 200);
	/* Fourth in the hour: the hourly limit (3), retry in about an hour. */
	stack_http(&st, "POST", "/api/v1/sessions", src, create_hdrs,
	    create_body, &r);
	ck_assert_int_eq(r.status, 429);
	j = resp_json(&r);
	ck_assert_int_gt(json_integer_value(json_object_get(j, "retryAfter")),
	    3500);
	ck_assert(resp_header(&r, "Retry-After", ra, sizeof(ra)));
	json_decref(j);
	http_resp_free(&r);
	ck_assert(file_contains(st.audit, "\"event\":\"rate_limit.session\""));
	ck_assert(file_contains(st.audit, "\"window\":\"hour\""));
	ck_assert(file_contains(st.audit, "\"window\":\"concurrent\""));
	ck_assert_int_eq(stack_ncontainers(&st), 0);
}
END_TEST

START_TEST(test_circuit_breaker)
{
	static const char *const post[] = { "REQUEST_METHOD=POST",
		"PATH_INFO=/api/v1/sessions", "HTTP_X_API_KEY=test-key-123",
		"REMOTE_ADDR=192.0.2.50", "CONTENT_LENGTH=21",
		"CIRCUIT_MAX_CONTAINERS=1", NULL };
	static const char *const status_env[] = { "REQUEST_METHOD=GET",
		"PATH_INFO=/api/v1/status", "CIRCUIT_MAX_CONTAINERS=1", NULL };
	const char *id = create_ok("127.0.0.41");
	struct http_resp r;
	json_t *j;

	stack_cgi(&st, post, create_body, &r);
	ck_assert_int_eq(r.status, 503);
	j = resp_json(&r);
	ck_assert_str_eq(jstr(j, "error"), "ServiceUnavailable");
	json_decref(j);
	http_resp_free(&r);
	stack_cgi(&st, status_env, NULL, &r);
	j = resp_json(&r);
	ck_assert(json_is_true(json_object_get(j, "isOpen")));
	ck_assert_str_eq(jstr(j, "reason"), "Too many active containers (1/1)");
	json_decref(j);
	http_resp_free(&r);
	ck_assert(file_contains(st.audit, "\"event\":\"circuit_breaker.open\""));
	ck_assert_int_eq(delete_session(id, NULL), 200);
}
END_TEST

START_TEST(test_ws_auth)
{
	char uri[160], uri_q[200], uri_bad[160];
	const char *id = create_ok("127.0.0.51");
	const char *ok_env[] = { "REQUEST_METHOD=GET",
		"PATH_INFO=/internal/ws-auth", "REMOTE_ADDR=127.0.0.1",
		"HTTP_XCLIENTIP=198.51.100.9", "HTTP_ORIGIN=" ORIGIN_OK,
		uri_q, NULL };
	const char *no_origin[] = { "REQUEST_METHOD=GET",
		"PATH_INFO=/internal/ws-auth", "HTTP_X_API_KEY=test-key-123",
		uri, NULL };
	const char *bad_origin[] = { "REQUEST_METHOD=GET",
		"PATH_INFO=/internal/ws-auth", "HTTP_X_API_KEY=test-key-123",
		"HTTP_ORIGIN=http://evil.test", uri, NULL };
	const char *no_key[] = { "REQUEST_METHOD=GET",
		"PATH_INFO=/internal/ws-auth", "HTTP_ORIGIN=" ORIGIN_OK, uri,
		NULL };
	const char *unknown[] = { "REQUEST_METHOD=GET",
		"PATH_INFO=/internal/ws-auth", "HTTP_ORIGIN=" ORIGIN_OK,
		"HTTP_X_API_KEY=test-key-123", uri_bad, NULL };
	struct store *s;
	long long ws[3];
	struct ratelimit rl = { 100, 100, 3 };
	char *err = NULL, v[64];
	struct http_resp r;

	(void)snprintf(uri, sizeof(uri),
	    "HTTP_X_FORWARDED_URI=/api/v1/sessions/%s/ws", id);
	(void)snprintf(uri_q, sizeof(uri_q),
	    "HTTP_X_FORWARDED_URI=/api/v1/sessions/%s/ws?cols=80&api_key=test-key-123",
	    id);
	(void)snprintf(uri_bad, sizeof(uri_bad),
	    "HTTP_X_FORWARDED_URI=/api/v1/sessions/%s/ws",
	    "sess_00000000000000000000000000000000");
	stack_cgi(&st, ok_env, NULL, &r);
	ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
	ck_assert(resp_header(&r, "X-Session-Id", v, sizeof(v)));
	ck_assert_str_eq(v, id);
	ck_assert(resp_header(&r, "X-Client-IP", v, sizeof(v)));
	ck_assert_str_eq(v, "198.51.100.9");
	http_resp_free(&r);
	stack_cgi(&st, no_origin, NULL, &r);
	ck_assert_int_eq(r.status, 403);
	http_resp_free(&r);
	stack_cgi(&st, bad_origin, NULL, &r);
	ck_assert_int_eq(r.status, 403);
	http_resp_free(&r);
	stack_cgi(&st, no_key, NULL, &r);
	ck_assert_int_eq(r.status, 401);
	http_resp_free(&r);
	stack_cgi(&st, unknown, NULL, &r);
	ck_assert_int_eq(r.status, 404);
	http_resp_free(&r);

	/* Three live WebSockets of that IP to other sessions (this process
	 * holds them); those to the same session would be taken over. */
	s = store_open(st.state, &err);
	ck_assert_ptr_nonnull(s);
	for (int i = 0; i < 3; i++) {
		char other[ID_SIZE];

		ck_assert_int_eq(id_new(other), ERR_OK);
		ck_assert_int_eq(store_ws_register(s, &rl, other,
		    "198.51.100.9", (long)getpid(), 0, &ws[i]), ERR_OK);
	}
	stack_cgi(&st, ok_env, NULL, &r);
	ck_assert_int_eq(r.status, 429);
	ck_assert(resp_header(&r, "Retry-After", v, sizeof(v)));
	http_resp_free(&r);
	ck_assert(file_contains(st.audit, "\"event\":\"rate_limit.websocket\""));
	ck_assert_int_eq(store_ws_unregister(s, ws[0], 0), ERR_OK);
	stack_cgi(&st, ok_env, NULL, &r);
	ck_assert_int_eq(r.status, 200);
	http_resp_free(&r);
	store_close(s);
	ck_assert_int_eq(delete_session(id, NULL), 200);
}
END_TEST

/* ---- reaper ----------------------------------------------------------- */

/* Wait up to ms for the stack's instance to have n containers. */
static bool
wait_containers(size_t n, int ms)
{
	for (int i = 0; i < ms / 100; i++) {
		if (stack_ncontainers(&st) == n)
			return true;
		(void)usleep(100000);
	}
	return stack_ncontainers(&st) == n;
}

START_TEST(test_reaper_orphans)
{
	char body[512], url[128], code[32];
	struct http_resp r;
	const char *id;
	long status;
	json_t *c;

	/* A labelled container of this instance with no row: an orphan. */
	(void)snprintf(body, sizeof(body), "{\"Image\":\"toolkata-sandbox:latest\","
	    "\"Labels\":{\"toolkata.session\":\"sess_11111111111111111111111111111111\","
	    "\"toolkata.instance\":\"%s\"},\"HostConfig\":{\"NetworkMode\":\"none\"}}",
	    st.instance);
	{
		static const char *const h[] = { "Content-Type: application/json",
			NULL };

		ck_assert_int_eq(http_do("POST", "http://localhost/v1.41/containers/create",
		    "/var/run/docker.sock", NULL, h, body, &r), CURLE_OK);
		ck_assert_int_eq(r.status, 201);
		http_resp_free(&r);
	}
	ck_assert_msg(wait_containers(0, 8000), "orphan not removed");

	/* A session whose container vanishes behind our back ends, and its
	 * quota slot comes back. */
	id = create_ok("127.0.0.61");
	c = inspect_session(id, &status);
	ck_assert_int_eq(status, 200);
	(void)snprintf(url, sizeof(url),
	    "http://localhost/v1.41/containers/%s?force=1", jstr(c, "Id"));
	json_decref(c);
	ck_assert_int_eq(http_do("DELETE", url, "/var/run/docker.sock", NULL,
	    NULL, NULL, &r), CURLE_OK);
	http_resp_free(&r);
	for (int i = 0; i < 80 && get_session(id, NULL, 0) == 200; i++)
		(void)usleep(100000);
	ck_assert_int_eq(get_session(id, code, sizeof(code)), 404);
	ck_assert_str_eq(code, "NotFound");
	ck_assert(file_contains(st.audit, "\"reason\":\"container_exited\""));
}
END_TEST

START_TEST(test_expiry_releases_slot)
{
	const char *src = "127.0.0.71";
	char id[ID_SIZE], code[32];
	struct http_resp r;

	(void)strlcpy_ok(id, create_ok(src), sizeof(id));
	/* MAX_CONCURRENT_PER_IP=1: a second one is refused while it lives. */
	stack_http(&st, "POST", "/api/v1/sessions", src, create_hdrs,
	    create_body, &r);
	ck_assert_int_eq(r.status, 429);
	http_resp_free(&r);
	/* Idle timeout 10 s, reaper every 1 s. */
	ck_assert_msg(wait_containers(0, 14000), "idle session not reaped");
	ck_assert(file_contains(st.audit, "\"event\":\"session.expired\""));
	ck_assert(file_contains(st.audit, "\"reason\":\"idle\""));
	ck_assert_int_eq(get_session(id, code, sizeof(code)), 404);
	ck_assert_str_eq(code, "Expired");
	ck_assert_int_eq(delete_session(create_ok(src), src), 200);
}
END_TEST

/* ---- crash and restart ------------------------------------------------ */

START_TEST(test_sigkill_mid_create)
{
	pid_t client, api = stack_pid(&st, "api");
	int status, i;

	ck_assert_int_gt(api, 0);
	client = fork();
	ck_assert_int_ge(client, 0);
	if (client == 0) {
		struct http_resp r;

		stack_http(&st, "POST", "/api/v1/sessions", "127.0.0.81",
		    create_hdrs, create_body, &r);
		_exit(r.status == 201 ? 0 : 1);
	}
	/* The container exists but is not started yet: kill now. */
	for (i = 0; i < 2000 && stack_ncontainers(&st) == 0; i++)
		(void)usleep(2000);
	ck_assert_msg(stack_ncontainers(&st) == 1, "create never reached docker");
	ck_assert_int_eq(kill(api, SIGKILL), 0);
	ck_assert_int_eq(waitpid(client, &status, 0), client);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 1,
	    "the client got a 201 from a killed daemon");
	ck_assert_int_eq(stack_ncontainers(&st), 1);

	/* Restart: the reconcile pass runs before the first request. */
	for (i = 0; i < 100 && stack_alive(api); i++)
		(void)usleep(20000);
	stack_start_api(&st);
	ck_assert(stack_wait_http(&st, "/health", 15000));
	ck_assert_msg(stack_ncontainers(&st) == 0,
	    "the reaper left the half-made container behind");
	{
		struct http_resp r;
		json_t *j;

		stack_http(&st, "GET", "/health", NULL, NULL, NULL, &r);
		j = resp_json(&r);
		ck_assert_int_eq(json_integer_value(json_object_get(j,
		    "containers")), 0);
		json_decref(j);
		http_resp_free(&r);
	}
	/* The slot of the abandoned reservation is free again. */
	ck_assert_int_eq(delete_session(create_ok("127.0.0.81"), NULL), 200);
}
END_TEST

START_TEST(test_session_survives_restart)
{
	char id[ID_SIZE];
	struct stat sb;
	long status;
	json_t *c;

	(void)strlcpy_ok(id, create_ok("127.0.0.91"), sizeof(id));
	/* SIGTERM: clean stop, socket removed. */
	ck_assert(stack_signal_wait(&st, "api", SIGTERM, 10000));
	ck_assert_int_eq(stat(st.sock, &sb), -1);
	stack_start_api(&st);
	ck_assert(stack_wait_http(&st, "/health", 15000));
	ck_assert_int_eq(get_session(id, NULL, 0), 200);
	c = inspect_session(id, &status);
	ck_assert_int_eq(status, 200);
	ck_assert(json_is_true(json_object_get(json_object_get(c, "State"),
	    "Running")));
	json_decref(c);
	ck_assert_int_eq(delete_session(id, NULL), 200);
}
END_TEST

static Suite *
api_suite(void)
{
	Suite *s = suite_create("api");
	TCase *rest = tcase_create("rest");
	TCase *expiry = tcase_create("expiry");
	TCase *crash = tcase_create("crash");

	tcase_add_unchecked_fixture(rest, rest_setup, teardown);
	tcase_set_timeout(rest, 120);
	tcase_add_test(rest, test_health_fcgi_and_cgi);
	tcase_add_test(rest, test_status_and_metrics);
	tcase_add_test(rest, test_auth);
	tcase_add_test(rest, test_bad_input);
	tcase_add_test(rest, test_cgi_bodies);
	tcase_add_test(rest, test_session_lifecycle_fcgi);
	tcase_add_test(rest, test_session_lifecycle_cgi_runc);
	tcase_add_test(rest, test_limits_and_release);
	tcase_add_test(rest, test_circuit_breaker);
	tcase_add_test(rest, test_ws_auth);
	tcase_add_test(rest, test_reaper_orphans);
	suite_add_tcase(s, rest);

	tcase_add_unchecked_fixture(expiry, expiry_setup, teardown);
	tcase_set_timeout(expiry, 120);
	tcase_add_test(expiry, test_expiry_releases_slot);
	suite_add_tcase(s, expiry);

	tcase_add_unchecked_fixture(crash, crash_setup, teardown);
	tcase_set_timeout(crash, 120);
	tcase_add_test(crash, test_sigkill_mid_create);
	tcase_add_test(crash, test_session_survives_restart);
	suite_add_tcase(s, crash);
	return s;
}

int
main(void)
{
	stack_global_init();
	return util_run(api_suite());
}

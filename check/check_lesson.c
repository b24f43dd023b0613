/*
 * check_lesson.c: step checks and the destroy beacon on the real stack
 * (Caddy -> toolkata-api -> dockerd -> runsc; the terminal through
 * websocketd and the relay).  A check sees what the learner did in their
 * shell, reports exit codes, stderr, cuts and timeouts, leaves no process
 * behind, is rate limited and authenticated; the beacon ends a session with
 * the key in its body on both paths and refuses a wrong key.
 */
#include "compat.h"

#include "clock.h"
#include "log.h"
#include "stack.h"
#include "util.h"
#include "ws.h"

#define KEY "test-key-123"
#define ORIGIN "http://allowed.test"

static struct stack st;
static const char *const key_hdrs[] = { "X-API-Key: " KEY, NULL };
static const char *const json_hdrs[] = { "X-API-Key: " KEY,
	"Content-Type: application/json", NULL };

#include "term.h"

static void
lesson_setup(void)
{
	stack_init(&st, "lesson");
	stack_env_roomy(&st, KEY, ORIGIN);
	stack_setenv(&st, "SANDBOX_CHECK_OUTPUT_MAX", "1000");
	stack_setenv(&st, "SANDBOX_CHECKS_PER_MINUTE", "40");
	stack_up(&st);
}

static void
teardown(void)
{
	stack_down(&st);
}

/* ---- helpers -------------------------------------------------------- */

/* POST a check body; the status, and the parsed reply in *j (or NULL). */
static long
check_post(const char *id, const char *src, const char *const *hdrs,
    const char *body, json_t **j, char *retry, size_t retrysz)
{
	struct http_resp r;
	char path[96];
	long status;

	(void)snprintf(path, sizeof(path), "/api/v1/sessions/%s/check", id);
	stack_http(&st, "POST", path, src, hdrs, body, &r);
	status = r.status;
	*j = json_loadb(r.body, r.len, 0, NULL);
	if (retry != NULL && !resp_header(&r, "Retry-After", retry, retrysz))
		retry[0] = '\0';
	http_resp_free(&r);
	return status;
}

/* Run command as a check; asserts 200 and returns the reply. */
static json_t *
check_run(const char *id, const char *src, const char *command, long tmo)
{
	json_t *body = tmo > 0 ? json_pack("{s:s, s:I}", "command", command,
	    "timeoutMs", (json_int_t)tmo) : json_pack("{s:s}", "command",
	    command);
	char *text = json_dumps(body, JSON_COMPACT);
	json_t *j = NULL;
	long status = check_post(id, src, json_hdrs, text, &j, NULL, 0);

	ck_assert_msg(status == 200, "check '%s': %ld", command, status);
	ck_assert_ptr_nonnull(j);
	free(text);
	json_decref(body);
	return j;
}

static long long
jnum(json_t *j, const char *k)
{
	ck_assert_msg(json_is_integer(json_object_get(j, k)), "no %s", k);
	return json_integer_value(json_object_get(j, k));
}

static bool
jbool(json_t *j, const char *k)
{
	ck_assert_msg(json_is_boolean(json_object_get(j, k)), "no %s", k);
	return json_is_true(json_object_get(j, k));
}

/* Processes in the session's container whose command line contains
 * needle: `ps -eo args` by a plain exec of the engine, not by the check
 * runner (docker top under this runsc lists the host's processes). */
static size_t
container_procs(const char *id, const char *needle)
{
	char cid[65], url[200];
	struct http_resp r;
	const char *hdr[] = { "Content-Type: application/json", NULL };
	json_t *j;
	const char *xid, *p;
	size_t n = 0;

	stack_session_container(&st, id, cid);
	ck_assert(cid[0] != '\0');
	(void)snprintf(url, sizeof(url), "http://localhost/v1.41/containers/"
	    "%s/exec", cid);
	ck_assert_int_eq(http_do("POST", url, "/var/run/docker.sock", NULL, hdr,
	    "{\"AttachStdout\":true,\"AttachStderr\":true,\"Tty\":true,"
	    "\"Cmd\":[\"ps\",\"-eo\",\"args\"]}", &r), CURLE_OK);
	ck_assert_int_eq(r.status, 201);
	j = resp_json(&r);
	xid = jstr(j, "Id");
	(void)snprintf(url, sizeof(url), "http://localhost/v1.41/exec/%s/start",
	    xid);
	json_decref(j);
	http_resp_free(&r);
	ck_assert_int_eq(http_do("POST", url, "/var/run/docker.sock", NULL, hdr,
	    "{\"Detach\":false,\"Tty\":true}", &r), CURLE_OK);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(strstr(r.body, "ps -eo args"));
	for (p = r.body; (p = strstr(p, needle)) != NULL; p++)
		n++;
	http_resp_free(&r);
	return n;
}

/* ---- step checks ------------------------------------------------------ */

START_TEST(test_check_sees_the_shell)
{
	const char *src = "127.0.0.121";
	char id[ID_SIZE];
	struct term t;
	json_t *j;

	stack_create_session(&st, src, key_hdrs, id);
	term_ready(&t, id, src, NULL);
	term_run(&t, "echo lesson-step > ~/notes.txt; echo made-$((6*7))",
	    "made-42");
	term_run(&t, "git init -q ~/repo && cd ~/repo && git commit -q "
	    "--allow-empty -m 'Add readme' && echo committed-$((2+3))",
	    "committed-5");
	term_free(&t);

	j = check_run(id, src, "cat ~/notes.txt", 0);
	ck_assert_int_eq(jnum(j, "exitCode"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(j, "stdout")),
	    "lesson-step\n");
	ck_assert_str_eq(json_string_value(json_object_get(j, "stderr")), "");
	ck_assert(!jbool(j, "truncated"));
	ck_assert(!jbool(j, "timedOut"));
	ck_assert_int_ge(jnum(j, "durationMs"), 1);
	(void)fprintf(stderr, "check: a trivial check took %lld ms (durationMs)\n",
	    jnum(j, "durationMs"));
	json_decref(j);

	/* The README's lesson pattern. */
	j = check_run(id, src, "git -C ~/repo log -1 --format=%s | grep -qx "
	    "'Add readme'", 0);
	ck_assert_int_eq(jnum(j, "exitCode"), 0);
	json_decref(j);
	j = check_run(id, src, "git -C ~/repo log -1 --format=%s | grep -qx "
	    "'Something else'", 0);
	ck_assert_int_eq(jnum(j, "exitCode"), 1);
	json_decref(j);

	/* Who and where it runs. */
	j = check_run(id, src, "id -u; pwd; echo oops >&2; exit 3", 0);
	ck_assert_int_eq(jnum(j, "exitCode"), 3);
	ck_assert_str_eq(json_string_value(json_object_get(j, "stdout")),
	    "1000\n/home/toolkata\n");
	ck_assert_str_eq(json_string_value(json_object_get(j, "stderr")),
	    "oops\n");
	json_decref(j);
}
END_TEST

START_TEST(test_check_output_cap)
{
	const char *src = "127.0.0.122";
	char id[ID_SIZE];
	json_t *j;

	stack_create_session(&st, src, key_hdrs, id);
	/* SANDBOX_CHECK_OUTPUT_MAX=1000: 5000 bytes come back as 1000. */
	j = check_run(id, src, "head -c 5000 /dev/zero | tr '\\0' a; "
	    "head -c 3000 /dev/zero | tr '\\0' b >&2", 0);
	ck_assert_int_eq(jnum(j, "exitCode"), 0);
	ck_assert(jbool(j, "truncated"));
	ck_assert_uint_eq(strlen(json_string_value(json_object_get(j,
	    "stdout"))), 1000);
	ck_assert_uint_eq(strlen(json_string_value(json_object_get(j,
	    "stderr"))), 1000);
	json_decref(j);
	/* Exactly the cap is not a cut; bad UTF-8 comes back replaced. */
	j = check_run(id, src, "head -c 1000 /dev/zero | tr '\\0' a", 0);
	ck_assert(!jbool(j, "truncated"));
	json_decref(j);
	j = check_run(id, src, "printf 'a\\377b'", 0);
	ck_assert_str_eq(json_string_value(json_object_get(j, "stdout")),
	    "a\xef\xbf\xbd" "b");
	json_decref(j);
}
END_TEST

START_TEST(test_check_timeout_bound)
{
	const char *src = "127.0.0.123";
	char id[ID_SIZE];
	double t0, dt;
	json_t *j;

	stack_create_session(&st, src, key_hdrs, id);
	t0 = clock_mono();
	j = check_run(id, src, "echo before; sleep 60", 1000);
	dt = clock_mono() - t0;
	(void)fprintf(stderr, "check: sleep 60 with timeoutMs 1000 answered "
	    "in %.2f s\n", dt);
	ck_assert_msg(dt < 3.0, "took %.2f s", dt);
	ck_assert(jbool(j, "timedOut"));
	ck_assert_int_eq(jnum(j, "exitCode"), 124);
	ck_assert_str_eq(json_string_value(json_object_get(j, "stdout")),
	    "before\n");
	ck_assert_str_eq(json_string_value(json_object_get(j, "stderr")), "");
	json_decref(j);
	ck_assert_uint_eq(container_procs(id, "sleep"), 0);
}
END_TEST

START_TEST(test_check_leaves_nothing)
{
	const char *src = "127.0.0.124";
	char id[ID_SIZE];
	struct term t;
	json_t *j;

	stack_create_session(&st, src, key_hdrs, id);
	/* The learner's own background job: the probe sees it, and no
	 * check touches it. */
	term_ready(&t, id, src, NULL);
	term_run(&t, "sleep 399 & echo bg-$((40+2))", "bg-42");
	term_free(&t);
	ck_assert_uint_eq(container_procs(id, "sleep 399"), 1);
	/* Background, a new session, a double fork, nohup: all gone when
	 * the command returns. */
	j = check_run(id, src, "sleep 301 & setsid sleep 302 & (sleep 303 &);"
	    " nohup sleep 304 >/dev/null 2>&1 & echo started", 0);
	ck_assert_int_eq(jnum(j, "exitCode"), 0);
	json_decref(j);
	/* And at a timeout. */
	j = check_run(id, src, "setsid sleep 305 & (sleep 306 &); sleep 307",
	    500);
	ck_assert(jbool(j, "timedOut"));
	json_decref(j);
	ck_assert_uint_eq(container_procs(id, "sleep 30"), 0);
	ck_assert_uint_eq(container_procs(id, "toolkata-check"), 0);
	/* A second check sees none either. */
	j = check_run(id, src, "ps -eo args | grep -c '^sleep 30' || true", 0);
	ck_assert_str_eq(json_string_value(json_object_get(j, "stdout")),
	    "0\n");
	json_decref(j);
	/* The learner's own job is untouched. */
	ck_assert_uint_eq(container_procs(id, "sleep 399"), 1);
}
END_TEST

START_TEST(test_check_refusals)
{
	const char *src = "127.0.0.125";
	static const char *const bad_key[] = { "X-API-Key: nope", NULL };
	char id[ID_SIZE], big[5200], retry[16];
	json_t *j = NULL;

	stack_create_session(&st, src, key_hdrs, id);
	ck_assert_int_eq(check_post(id, src, bad_key, "{\"command\":\"true\"}",
	    &j, NULL, 0), 401);
	json_decref(j);
	ck_assert(file_contains(st.audit, "auth.failure"));
	ck_assert_int_eq(check_post(id, src, NULL, "{\"command\":\"true\"}",
	    &j, NULL, 0), 401);
	json_decref(j);
	ck_assert_int_eq(check_post("sess_00000000000000000000000000000000",
	    src, json_hdrs, "{\"command\":\"true\"}", &j, NULL, 0), 404);
	json_decref(j);
	ck_assert_int_eq(check_post(id, src, json_hdrs, "{\"command\":\"\"}",
	    &j, NULL, 0), 400);
	ck_assert_str_eq(json_string_value(json_object_get(j, "message")),
	    "command must be a non-empty string");
	json_decref(j);
	ck_assert_int_eq(check_post(id, src, json_hdrs, "{\"command\":\"a\\u0000"
	    "b\"}", &j, NULL, 0), 400);
	json_decref(j);
	ck_assert_int_eq(check_post(id, src, json_hdrs, "{\"command\":\"true\","
	    "\"timeoutMs\":99999999}", &j, NULL, 0), 400);
	json_decref(j);
	ck_assert_int_eq(check_post(id, src, json_hdrs, "{\"check\":\"x\"}",
	    &j, NULL, 0), 400);
	json_decref(j);
	memset(big, 'x', sizeof(big));
	memcpy(big, "{\"command\":\"", 12);
	memcpy(big + sizeof(big) - 3, "\"}", 3);
	ck_assert_int_eq(check_post(id, src, json_hdrs, big, &j, NULL, 0), 400);
	json_decref(j);
	ck_assert_int_eq(check_post(id, src, json_hdrs, "not json", &j, NULL, 0),
	    400);
	json_decref(j);

	/* One at a time: a check while another runs is a 429. */
	{
		pid_t pid = fork();

		if (pid == 0) {
			json_t *k = NULL;

			(void)check_post(id, src, json_hdrs, "{\"command\":"
			    "\"sleep 3\"}", &k, NULL, 0);
			_exit(0);
		}
		usleep(1500 * 1000);
		ck_assert_int_eq(check_post(id, src, json_hdrs,
		    "{\"command\":\"true\"}", &j, retry, sizeof(retry)), 429);
		ck_assert(retry[0] >= '1' && retry[0] <= '9');
		ck_assert_str_eq(json_string_value(json_object_get(j, "error")),
		    "TooManyChecks");
		json_decref(j);
		ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
	}
	ck_assert(file_contains(st.audit, "rate_limit.check"));

	/* Audited with exit code and duration, never the output. */
	j = check_run(id, src, "echo secret-output-7; exit 5", 0);
	json_decref(j);
	ck_assert(file_contains(st.audit, "\"session.check\""));
	ck_assert(file_contains(st.audit, "\"exitCode\":5"));
	ck_assert(!file_contains(st.audit, "secret-output-7"));

	/* An ended session is a 404. */
	{
		struct http_resp r;
		char path[96];

		(void)snprintf(path, sizeof(path), "/api/v1/sessions/%s", id);
		stack_http(&st, "DELETE", path, src, key_hdrs, NULL, &r);
		ck_assert_int_eq(r.status, 200);
		http_resp_free(&r);
	}
	ck_assert_int_eq(check_post(id, src, json_hdrs, "{\"command\":\"true\"}",
	    &j, NULL, 0), 404);
	json_decref(j);
}
END_TEST

START_TEST(test_check_per_minute)
{
	const char *src = "127.0.0.126";
	char id[ID_SIZE], retry[16];
	json_t *j = NULL;
	int ok = 0;
	long status = 200;

	stack_create_session(&st, src, key_hdrs, id);
	/* SANDBOX_CHECKS_PER_MINUTE=40. */
	while (ok < 60 && (status = check_post(id, src, json_hdrs,
	    "{\"command\":\"true\"}", &j, retry, sizeof(retry))) == 200) {
		json_decref(j);
		ok++;
	}
	ck_assert_int_eq(status, 429);
	ck_assert_int_eq(ok, 40);
	ck_assert_int_ge(atol(retry), 1);
	ck_assert_int_le(atol(retry), 60);
	json_decref(j);
}
END_TEST

/* ---- the destroy beacon ----------------------------------------------- */

static long
beacon(const char *path, const char *src, const char *ctype,
    const char *origin, const char *body)
{
	char h1[96], h2[96];
	const char *hdrs[3] = { NULL, NULL, NULL };
	struct http_resp r;
	long status;
	size_t n = 0;

	if (ctype != NULL) {
		(void)snprintf(h1, sizeof(h1), "Content-Type: %s", ctype);
		hdrs[n++] = h1;
	}
	if (origin != NULL) {
		(void)snprintf(h2, sizeof(h2), "Origin: %s", origin);
		hdrs[n++] = h2;
	}
	stack_http(&st, "POST", path, src, hdrs, body, &r);
	status = r.status;
	if (status == 200)
		ck_assert_ptr_nonnull(strstr(r.body, "\"success\":true"));
	http_resp_free(&r);
	return status;
}

static long
session_status(const char *id)
{
	struct http_resp r;
	char path[96];
	long status;

	(void)snprintf(path, sizeof(path), "/api/v1/sessions/%s", id);
	stack_http(&st, "GET", path, NULL, key_hdrs, NULL, &r);
	status = r.status;
	http_resp_free(&r);
	return status;
}

START_TEST(test_beacon)
{
	const char *src = "127.0.0.127";
	const char *good = "{\"apiKey\":\"" KEY "\"}";
	char id[ID_SIZE], path[96], cid[65];
	long status = 0;
	json_t *j;

	/* text/plain (sendBeacon with a string), the documented path. */
	stack_create_session(&st, src, key_hdrs, id);
	(void)snprintf(path, sizeof(path), "/api/v1/sessions/%s/destroy", id);
	ck_assert_int_eq(beacon(path, src, "text/plain;charset=UTF-8", ORIGIN,
	    "{\"apiKey\":\"wrong\"}"), 401);
	ck_assert_int_eq(beacon(path, src, "text/plain;charset=UTF-8", ORIGIN,
	    "{}"), 401);
	ck_assert_int_eq(beacon(path, src, "text/plain;charset=UTF-8",
	    "http://evil.test", good), 403);
	ck_assert_int_eq(session_status(id), 200);
	stack_session_container(&st, id, cid);
	ck_assert_int_eq(beacon(path, src, "text/plain;charset=UTF-8", ORIGIN,
	    good), 200);
	ck_assert_int_eq(session_status(id), 404);
	(void)snprintf(path, sizeof(path), "/containers/%s/json", cid);
	j = engine_get(path, &status);
	json_decref(j);
	ck_assert_int_eq(status, 404);
	/* Again: an unknown (ended) session is a no-op success. */
	(void)snprintf(path, sizeof(path), "/api/v1/sessions/%s/destroy", id);
	ck_assert_int_eq(beacon(path, src, "text/plain", NULL, good), 200);

	/* The original's mis-mounted path, a JSON Blob. */
	stack_create_session(&st, src, key_hdrs, id);
	(void)snprintf(path, sizeof(path), "/api/v1/%s/destroy", id);
	ck_assert_int_eq(beacon(path, src, "application/json", ORIGIN,
	    "{\"apiKey\":\"nope\"}"), 401);
	ck_assert_int_eq(session_status(id), 200);
	ck_assert_int_eq(beacon(path, src, "application/json", ORIGIN, good),
	    200);
	ck_assert_int_eq(session_status(id), 404);
	ck_assert(file_contains(st.audit, "auth.failure"));
	stack_session_container(&st, id, cid);
	(void)snprintf(path, sizeof(path), "/containers/%s/json", cid);
	j = engine_get(path, &status);
	json_decref(j);
	ck_assert_int_eq(status, 404);
}
END_TEST

static Suite *
lesson_suite(void)
{
	Suite *s = suite_create("lesson");
	TCase *tc = tcase_create("checks");

	tcase_add_unchecked_fixture(tc, lesson_setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_check_sees_the_shell);
	tcase_add_test(tc, test_check_output_cap);
	tcase_add_test(tc, test_check_timeout_bound);
	tcase_add_test(tc, test_check_leaves_nothing);
	tcase_add_test(tc, test_check_refusals);
	tcase_add_test(tc, test_check_per_minute);
	tcase_add_test(tc, test_beacon);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	stack_global_init();
	return util_run(lesson_suite());
}

/*
 * check_body.c: the create body (fcgi/body.c) and the init command rules
 * it shares with the WebSocket init frame (session_init_parse()): every
 * field, its caps and its error sentence, and that a refused body leaves
 * nothing allocated.
 */
#include "compat.h"

#include "api.h"
#include "log.h"
#include "util.h"

static struct cfg cfg;

static void
setup(void)
{
	struct fakeenv fe = { { { "SANDBOX_IMAGES",
		"jj-git=toolkata-sandbox:latest,git-hg=toolkata-hg:2" },
		{ NULL, NULL } } };

	util_cfg(&cfg, &fe);
}

/* body is refused with a message containing want. */
static void
refused(const char *body, const char *want)
{
	struct session_spec spec;
	const char *msg = NULL;

	ck_assert_msg(!body_create(&cfg, body, strlen(body), &spec, &msg),
	    "accepted: %s", body);
	ck_assert_ptr_nonnull(msg);
	ck_assert_msg(strstr(msg, want) != NULL, "%s: '%s' lacks '%s'", body,
	    msg, want);
	ck_assert_ptr_null(spec.init);
}

static void
accepted(const char *body, struct session_spec *spec)
{
	const char *msg = NULL;

	ck_assert_msg(body_create(&cfg, body, strlen(body), spec, &msg),
	    "%s: %s", body, msg != NULL ? msg : "?");
	ck_assert_ptr_null(msg);
}

START_TEST(test_tool_pair)
{
	struct session_spec spec;

	accepted("{\"toolPair\":\"git-hg\"}", &spec);
	ck_assert_str_eq(spec.tool_pair, "git-hg");
	ck_assert_ptr_null(spec.init);
	ck_assert_int_eq(spec.timeout_ms, 0);
	session_spec_release(&spec);
	/* Unknown fields are ignored, as the original does. */
	accepted("{\"toolPair\":\"jj-git\",\"x\":[1]}", &spec);
	session_spec_release(&spec);
	refused("", "JSON object");
	refused("[]", "JSON object");
	refused("{\"toolPair\":\"jj-git\",\"toolPair\":\"jj-git\"}",
	    "JSON object");
	refused("{}", "toolPair");
	refused("{\"toolPair\":7}", "toolPair");
	refused("{\"toolPair\":\"\"}", "toolPair");
	refused("{\"toolPair\":\"jj\\u0000git\"}", "JSON object");
	refused("{\"toolPair\":\"vim-emacs\"}", "Unsupported toolPair");
}
END_TEST

START_TEST(test_init_accepted)
{
	struct session_spec spec;
	char body[8192];
	size_t n;

	accepted("{\"toolPair\":\"jj-git\",\"init\":[\"git init -q\","
	    "\"printf 'a\\tb'\",\"echo \\u00e9\"]}", &spec);
	/* Kept as compact JSON, tab and UTF-8 as they came. */
	ck_assert_str_eq(spec.init, "[\"git init -q\",\"printf 'a\\tb'\","
	    "\"echo \xc3\xa9\"]");
	session_spec_release(&spec);
	ck_assert_ptr_null(spec.init);
	/* An empty list or null: no commands. */
	accepted("{\"toolPair\":\"jj-git\",\"init\":[]}", &spec);
	ck_assert_ptr_null(spec.init);
	accepted("{\"toolPair\":\"jj-git\",\"init\":null}", &spec);
	ck_assert_ptr_null(spec.init);
	/* 32 commands are allowed. */
	n = (size_t)snprintf(body, sizeof(body), "{\"toolPair\":\"jj-git\","
	    "\"init\":[");
	for (int i = 0; i < SESSION_INIT_MAX; i++)
		n += (size_t)snprintf(body + n, sizeof(body) - n, "%s\"c%d\"",
		    i > 0 ? "," : "", i);
	(void)snprintf(body + n, sizeof(body) - n, "]}");
	accepted(body, &spec);
	session_spec_release(&spec);
}
END_TEST

START_TEST(test_init_refused)
{
	char body[8192];
	size_t n;

	refused("{\"toolPair\":\"jj-git\",\"init\":\"ls\"}", "array of strings");
	refused("{\"toolPair\":\"jj-git\",\"init\":{}}", "array of strings");
	refused("{\"toolPair\":\"jj-git\",\"init\":[\"ls\",3]}",
	    "array of strings");
	refused("{\"toolPair\":\"jj-git\",\"init\":[\"\"]}", "1 to 1024");
	refused("{\"toolPair\":\"jj-git\",\"init\":[\"a\\nb\"]}",
	    "control characters");
	refused("{\"toolPair\":\"jj-git\",\"init\":[\"a\\rb\"]}",
	    "control characters");
	refused("{\"toolPair\":\"jj-git\",\"init\":[\"\\u001b[2J\"]}",
	    "control characters");
	refused("{\"toolPair\":\"jj-git\",\"init\":[\"a\\u007f\"]}",
	    "control characters");
	refused("{\"toolPair\":\"jj-git\",\"init\":[\"\\u009b2J\"]}",
	    "control characters");
	/* jansson refuses a NUL in a string outright. */
	refused("{\"toolPair\":\"jj-git\",\"init\":[\"a\\u0000b\"]}",
	    "JSON object");
	/* 33 commands. */
	n = (size_t)snprintf(body, sizeof(body), "{\"toolPair\":\"jj-git\","
	    "\"init\":[");
	for (int i = 0; i <= SESSION_INIT_MAX; i++)
		n += (size_t)snprintf(body + n, sizeof(body) - n, "%s\"c\"",
		    i > 0 ? "," : "");
	(void)snprintf(body + n, sizeof(body) - n, "]}");
	refused(body, "more than 32");
	/* One of 1025 bytes. */
	n = (size_t)snprintf(body, sizeof(body), "{\"toolPair\":\"jj-git\","
	    "\"init\":[\"");
	memset(body + n, 'x', SESSION_INIT_LEN + 1);
	n += SESSION_INIT_LEN + 1;
	(void)snprintf(body + n, sizeof(body) - n, "\"]}");
	refused(body, "1 to 1024");
}
END_TEST

START_TEST(test_timeout)
{
	struct session_spec spec;

	accepted("{\"toolPair\":\"jj-git\",\"timeout\":1000}", &spec);
	ck_assert_int_eq(spec.timeout_ms, 1000);
	accepted("{\"toolPair\":\"jj-git\",\"timeout\":1800000}", &spec);
	ck_assert_int_eq(spec.timeout_ms, 1800000);
	accepted("{\"toolPair\":\"jj-git\",\"timeout\":null}", &spec);
	ck_assert_int_eq(spec.timeout_ms, 0);
	refused("{\"toolPair\":\"jj-git\",\"timeout\":999}", "timeout");
	refused("{\"toolPair\":\"jj-git\",\"timeout\":1800001}", "timeout");
	refused("{\"toolPair\":\"jj-git\",\"timeout\":-5}", "timeout");
	refused("{\"toolPair\":\"jj-git\",\"timeout\":60000.5}", "timeout");
	refused("{\"toolPair\":\"jj-git\",\"timeout\":\"60000\"}", "timeout");
	/* A refused timeout frees init commands already taken. */
	refused("{\"toolPair\":\"jj-git\",\"init\":[\"ls\"],\"timeout\":1}",
	    "timeout");
}
END_TEST

static Suite *
body_suite(void)
{
	Suite *s = suite_create("body");
	TCase *tc = tcase_create("create");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_tool_pair);
	tcase_add_test(tc, test_init_accepted);
	tcase_add_test(tc, test_init_refused);
	tcase_add_test(tc, test_timeout);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return util_run(body_suite());
}

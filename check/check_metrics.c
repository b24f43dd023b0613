/*
 * check_metrics.c: counters and the Engine latency histogram (lib/metrics.c):
 * counts, le= bucket placement, cumulative buckets and HELP/TYPE lines in
 * the Prometheus text, exact and too-small buffers, atomic counting from
 * threads.  Each test is its own forked process: counters start at zero.
 */
#include "compat.h"

#include <pthread.h>

#include "log.h"
#include "metrics.h"
#include "util.h"

#define BIG 65536

static char *
render(long long live)
{
	char *buf = calloc(1, BIG);
	size_t n;

	ck_assert_ptr_nonnull(buf);
	n = metrics_render(buf, BIG, live);
	ck_assert_uint_gt(n, 0);
	ck_assert_uint_eq(n, strlen(buf));
	return buf;
}

/* True when text holds line as a whole line. */
static bool
has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	const char *p = text;

	while ((p = strstr(p, line)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return true;
		p++;
	}
	return false;
}

#define ASSERT_LINE(text, line) \
	ck_assert_msg(has_line(text, line), "missing line: %s", line)

/* The value of the sample line starting with prefix (name{labels}). */
static double
sample(const char *text, const char *prefix)
{
	size_t n = strlen(prefix);
	const char *p = text;

	while ((p = strstr(p, prefix)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[n] == ' ')
			return strtod(p + n + 1, NULL);
		p++;
	}
	ck_abort_msg("no sample %s", prefix);
	return -1;
}

START_TEST(test_type_lines)
{
	char *t = render(0);

	ASSERT_LINE(t, "# TYPE toolkata_sessions_live gauge");
	ASSERT_LINE(t, "# TYPE toolkata_sessions_created_total counter");
	ASSERT_LINE(t, "# TYPE toolkata_sessions_ended_total counter");
	ASSERT_LINE(t, "# TYPE toolkata_rejections_total counter");
	ASSERT_LINE(t, "# TYPE toolkata_engine_errors_total counter");
	ASSERT_LINE(t, "# TYPE toolkata_engine_call_seconds histogram");
	ck_assert_ptr_nonnull(strstr(t, "# HELP toolkata_sessions_live "));
	ck_assert_ptr_nonnull(strstr(t,
	    "# HELP toolkata_engine_call_seconds "));
	ASSERT_LINE(t, "toolkata_sessions_live 0");
	ASSERT_LINE(t, "toolkata_sessions_created_total 0");
	/* Every label value is present from the start. */
	ASSERT_LINE(t, "toolkata_rejections_total{reason=\"hourly\"} 0");
	ASSERT_LINE(t, "toolkata_rejections_total{reason=\"too_big\"} 0");
	ASSERT_LINE(t, "toolkata_engine_errors_total{op=\"attach\"} 0");
	ASSERT_LINE(t, "toolkata_engine_call_seconds_bucket{op=\"create\","
	    "le=\"+Inf\"} 0");
	ASSERT_LINE(t, "toolkata_engine_call_seconds_count{op=\"attach\"} 0");
	/* Well formed: ends in a newline, no empty lines. */
	ck_assert_int_eq(t[strlen(t) - 1], '\n');
	ck_assert_ptr_null(strstr(t, "\n\n"));
	free(t);
}
END_TEST

START_TEST(test_counters)
{
	char *t;

	for (int i = 0; i < 3; i++)
		metrics_session_created();
	metrics_session_ended();
	metrics_reject(METRICS_REJECT_HOURLY);
	metrics_reject(METRICS_REJECT_HOURLY);
	metrics_reject(METRICS_REJECT_ORIGIN);
	metrics_reject(METRICS_REJECT_MAX);	/* out of range: ignored */
	metrics_reject((enum metrics_reject)1000);
	ck_assert(metrics_rejections(METRICS_REJECT_HOURLY) == 2);
	ck_assert(metrics_rejections(METRICS_REJECT_ORIGIN) == 1);
	ck_assert(metrics_rejections(METRICS_REJECT_AUTH) == 0);
	ck_assert(metrics_rejections(METRICS_REJECT_MAX) == 0);
	t = render(7);
	ASSERT_LINE(t, "toolkata_sessions_live 7");
	ASSERT_LINE(t, "toolkata_sessions_created_total 3");
	ASSERT_LINE(t, "toolkata_sessions_ended_total 1");
	ASSERT_LINE(t, "toolkata_rejections_total{reason=\"hourly\"} 2");
	ASSERT_LINE(t, "toolkata_rejections_total{reason=\"origin\"} 1");
	ASSERT_LINE(t, "toolkata_rejections_total{reason=\"concurrent\"} 0");
	free(t);
}
END_TEST

START_TEST(test_histogram)
{
	char *t;

	metrics_engine_observe(METRICS_OP_CREATE, 0.003, true);
	metrics_engine_observe(METRICS_OP_CREATE, 0.005, true); /* le="0.005" */
	metrics_engine_observe(METRICS_OP_CREATE, 0.02, true);
	metrics_engine_observe(METRICS_OP_CREATE, 0.7, false);
	metrics_engine_observe(METRICS_OP_CREATE, 20, false);	/* > 10 */
	metrics_engine_observe(METRICS_OP_REMOVE, 1.0, true);
	metrics_engine_observe(METRICS_OP_MAX, 1.0, true);	/* ignored */
	ck_assert(metrics_engine_calls(METRICS_OP_CREATE) == 5);
	ck_assert(metrics_engine_calls(METRICS_OP_REMOVE) == 1);
	ck_assert(metrics_engine_calls(METRICS_OP_START) == 0);
	ck_assert(metrics_engine_calls(METRICS_OP_MAX) == 0);
	t = render(0);
#define B(le, n) ASSERT_LINE(t, "toolkata_engine_call_seconds_bucket" \
	"{op=\"create\",le=\"" le "\"} " #n)
	B("0.005", 2);
	B("0.01", 2);
	B("0.025", 3);
	B("0.05", 3);
	B("0.1", 3);
	B("0.25", 3);
	B("0.5", 3);
	B("1", 4);
	B("2.5", 4);
	B("5", 4);
	B("10", 4);
	B("+Inf", 5);
#undef B
	ASSERT_LINE(t, "toolkata_engine_call_seconds_count{op=\"create\"} 5");
	ck_assert_double_eq_tol(sample(t, "toolkata_engine_call_seconds_sum"
	    "{op=\"create\"}"), 20.728, 0.0001);
	ASSERT_LINE(t, "toolkata_engine_errors_total{op=\"create\"} 2");
	ASSERT_LINE(t, "toolkata_engine_errors_total{op=\"remove\"} 0");
	/* 1.0 s is in le="1", not above it. */
	ASSERT_LINE(t, "toolkata_engine_call_seconds_bucket{op=\"remove\","
	    "le=\"0.5\"} 0");
	ASSERT_LINE(t, "toolkata_engine_call_seconds_bucket{op=\"remove\","
	    "le=\"1\"} 1");
	ASSERT_LINE(t, "toolkata_engine_call_seconds_bucket{op=\"start\","
	    "le=\"+Inf\"} 0");
	free(t);
}
END_TEST

/* Buckets never decrease within an op, and +Inf equals _count. */
START_TEST(test_cumulative_everywhere)
{
	static const char pfx[] = "toolkata_engine_call_seconds_bucket{op=\"";
	static const char *const names[] = { "create", "start", "remove",
		"inspect", "list", "info", "attach", "exec" };
	char *t, *line, *save = NULL;
	char op[32] = "", cur[32];
	double last = -1, v;
	char want[128];
	int buckets = 0;

	for (int i = 0; i < 200; i++)
		metrics_engine_observe((enum metrics_op)(i % METRICS_OP_MAX),
		    (double)(i % 37) * 0.05, i % 5 != 0);
	t = render(0);
	for (line = strtok_r(t, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, pfx, sizeof(pfx) - 1) != 0)
			continue;
		ck_assert_int_eq(sscanf(line + sizeof(pfx) - 1, "%31[^\"]",
		    cur), 1);
		if (strcmp(cur, op) != 0) {
			(void)strlcpy_ok(op, cur, sizeof(op));
			last = -1;
		}
		v = strtod(strrchr(line, ' ') + 1, NULL);
		ck_assert_msg(v >= last, "bucket decreased: %s", line);
		last = v;
		buckets++;
	}
	ck_assert_int_eq(buckets, METRICS_OP_MAX * 12);
	free(t);
	t = render(0);
	ck_assert_int_eq(nitems(names), METRICS_OP_MAX);
	for (int op_i = 0; op_i < METRICS_OP_MAX; op_i++) {
		(void)snprintf(want, sizeof(want), "toolkata_engine_call_"
		    "seconds_bucket{op=\"%s\",le=\"+Inf\"} %llu", names[op_i],
		    metrics_engine_calls((enum metrics_op)op_i));
		ASSERT_LINE(t, want);
		(void)snprintf(want, sizeof(want), "toolkata_engine_call_"
		    "seconds_count{op=\"%s\"} %llu", names[op_i],
		    metrics_engine_calls((enum metrics_op)op_i));
		ASSERT_LINE(t, want);
	}
	free(t);
}
END_TEST

START_TEST(test_buffer_sizes)
{
	char *full = render(3);
	size_t len = strlen(full);
	char *buf = malloc(len + 1);

	ck_assert_ptr_nonnull(buf);
	/* Exactly enough (text + NUL) works... */
	ck_assert_uint_eq(metrics_render(buf, len + 1, 3), len);
	ck_assert_str_eq(buf, full);
	/* ...one byte less does not, and leaves an empty string. */
	ck_assert_uint_eq(metrics_render(buf, len, 3), 0);
	ck_assert_str_eq(buf, "");
	ck_assert_uint_eq(metrics_render(buf, 10, 3), 0);
	ck_assert_str_eq(buf, "");
	ck_assert_uint_eq(metrics_render(buf, 1, 3), 0);
	ck_assert_int_eq(buf[0], '\0');
	ck_assert_uint_eq(metrics_render(buf, 0, 3), 0);
	free(buf);
	free(full);
}
END_TEST

static void *
hammer(void *arg)
{
	(void)arg;
	for (int i = 0; i < 20000; i++) {
		metrics_engine_observe(METRICS_OP_LIST, 0.001, true);
		metrics_reject(METRICS_REJECT_WEBSOCKET);
		metrics_session_created();
	}
	return NULL;
}

START_TEST(test_threads)
{
	pthread_t th[4];
	char *t;

	for (size_t i = 0; i < nitems(th); i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, hammer, NULL), 0);
	for (size_t i = 0; i < nitems(th); i++)
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
	ck_assert(metrics_engine_calls(METRICS_OP_LIST) == 80000);
	ck_assert(metrics_rejections(METRICS_REJECT_WEBSOCKET) == 80000);
	t = render(0);
	ASSERT_LINE(t, "toolkata_sessions_created_total 80000");
	ASSERT_LINE(t, "toolkata_engine_call_seconds_bucket{op=\"list\","
	    "le=\"0.005\"} 80000");
	free(t);
}
END_TEST

static Suite *
metrics_suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("render");

	tcase_add_test(tc, test_type_lines);
	tcase_add_test(tc, test_counters);
	tcase_add_test(tc, test_histogram);
	tcase_add_test(tc, test_cumulative_everywhere);
	tcase_add_test(tc, test_buffer_sizes);
	tcase_add_test(tc, test_threads);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return util_run(metrics_suite());
}

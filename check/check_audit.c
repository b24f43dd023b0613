/*
 * check_audit.c: the JSON-lines audit sink (lib/audit.c): events written to
 * a temporary file are read back and parsed with jansson to check the field
 * order, number and string fields, dropped NULLs, escaping (one event, one
 * line), the value cap, appending, and failures (bad path, full disk).
 */
#include "compat.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <jansson.h>

#include "audit.h"
#include "clock.h"
#include "log.h"
#include "util.h"

static char dir[64];
static char path[128];

/* Once per test case, in the runner: the directory, and its removal even
 * after failed tests (whose checked teardown does not run). */
static void
dir_setup(void)
{
	util_tmpdir(dir, sizeof(dir));
}

static void
dir_teardown(void)
{
	util_rmdir(dir);
}

/* Per test: a fresh log file of its own. */
static void
setup(void)
{
	(void)snprintf(path, sizeof(path), "%s/audit.%ld.log", dir,
	    (long)getpid());
	(void)unlink(path);
}

static void
teardown(void)
{
	(void)unlink(path);
}

/* Read the whole file (caller frees). */
static char *
slurp(size_t *lenp)
{
	FILE *fp = fopen(path, "r");
	char *buf = NULL;
	size_t cap = 0, len = 0, n;

	ck_assert_ptr_nonnull(fp);
	do {
		if (cap - len < 4096) {
			cap = cap * 2 + 8192;
			buf = realloc(buf, cap);
			ck_assert_ptr_nonnull(buf);
		}
		n = fread(buf + len, 1, cap - len - 1, fp);
		len += n;
	} while (n > 0);
	(void)fclose(fp);
	buf[len] = '\0';
	*lenp = len;
	return buf;
}

/* Parse line number idx (0-based) of the file; caller decrefs. */
static json_t *
line_json(size_t idx, size_t *nlines)
{
	size_t len, n = 0;
	char *text = slurp(&len), *p = text, *nl;
	json_t *j = NULL;
	json_error_t jerr;

	ck_assert_uint_gt(len, 0);
	ck_assert_msg(text[len - 1] == '\n', "file does not end in a newline");
	while ((nl = strchr(p, '\n')) != NULL) {
		if (n == idx) {
			j = json_loadb(p, (size_t)(nl - p), JSON_DECODE_ANY,
			    &jerr);
			ck_assert_msg(j != NULL, "line %zu: %s", idx,
			    jerr.text);
			ck_assert(json_is_object(j));
		}
		n++;
		p = nl + 1;
	}
	*nlines = n;
	free(text);
	return j;
}

/* The keys of o in their order, joined with ','. */
static void
keys_of(json_t *o, char *out, size_t outsz)
{
	const char *key;
	json_t *v;
	size_t off = 0;

	out[0] = '\0';
	json_object_foreach(o, key, v) {
		(void)v;
		off += (size_t)snprintf(out + off, outsz - off, "%s%s",
		    off > 0 ? "," : "", key);
		ck_assert_uint_lt(off, outsz);
	}
}

static struct audit *
open_ok(void)
{
	char *errstr = NULL;
	struct audit *a = audit_open(path, &errstr);

	ck_assert_msg(a != NULL, "audit_open: %s", errstr ? errstr : "?");
	ck_assert_ptr_null(errstr);
	return a;
}

START_TEST(test_fields_in_order)
{
	char before[CLOCK_ISO_SIZE], after[CLOCK_ISO_SIZE], keys[256];
	struct audit *a = open_ok();
	json_t *j;
	size_t n;

	clock_iso(clock_now_ms(), before);
	ck_assert_int_eq(audit_emit(a, AUDIT_WARN, "rate_limit.session",
	    "Rate limit exceeded", "clientIp", "203.0.113.5", "#limit",
	    (long long)50, "dropped", (const char *)NULL, "window", "hour",
	    "#negative", (long long)-3, "#big", (long long)1 << 40,
	    AUDIT_END), ERR_OK);
	clock_iso(clock_now_ms(), after);
	audit_close(a);

	j = line_json(0, &n);
	ck_assert_uint_eq(n, 1);
	keys_of(j, keys, sizeof(keys));
	ck_assert_str_eq(keys, "level,event,message,clientIp,limit,window,"
	    "negative,big,timestamp");
	ck_assert_str_eq(json_string_value(json_object_get(j, "level")),
	    "warn");
	ck_assert_str_eq(json_string_value(json_object_get(j, "event")),
	    "rate_limit.session");
	ck_assert_str_eq(json_string_value(json_object_get(j, "message")),
	    "Rate limit exceeded");
	ck_assert_str_eq(json_string_value(json_object_get(j, "clientIp")),
	    "203.0.113.5");
	ck_assert(json_is_integer(json_object_get(j, "limit")));
	ck_assert_int_eq(json_integer_value(json_object_get(j, "limit")), 50);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "negative")),
	    -3);
	ck_assert(json_integer_value(json_object_get(j, "big")) ==
	    (json_int_t)1 << 40);
	ck_assert_ptr_null(json_object_get(j, "dropped"));
	ck_assert_ptr_null(json_object_get(j, "#limit"));
	ck_assert_str_eq(json_string_value(json_object_get(j, "window")),
	    "hour");
	/* ISO-8601 UTC with milliseconds, between the two readings. */
	ck_assert_uint_eq(strlen(json_string_value(json_object_get(j,
	    "timestamp"))), 24);
	ck_assert_str_ge(json_string_value(json_object_get(j, "timestamp")),
	    before);
	ck_assert_str_le(json_string_value(json_object_get(j, "timestamp")),
	    after);
	json_decref(j);
}
END_TEST

START_TEST(test_levels_and_no_fields)
{
	static const char *const names[] = { "info", "warn", "error" };
	struct audit *a = open_ok();
	char keys[128];
	json_t *j;
	size_t n;

	ck_assert_int_eq(audit_emit(a, AUDIT_INFO, "e0", "m0",
	    AUDIT_END), ERR_OK);
	ck_assert_int_eq(audit_emit(a, AUDIT_WARN, "e1", "m1",
	    AUDIT_END), ERR_OK);
	ck_assert_int_eq(audit_emit(a, AUDIT_ERROR, "e2", "m2",
	    AUDIT_END), ERR_OK);
	audit_close(a);
	for (size_t i = 0; i < 3; i++) {
		j = line_json(i, &n);
		ck_assert_uint_eq(n, 3);
		ck_assert_str_eq(json_string_value(json_object_get(j, "level")),
		    names[i]);
		keys_of(j, keys, sizeof(keys));
		ck_assert_str_eq(keys, "level,event,message,timestamp");
		json_decref(j);
	}
}
END_TEST

START_TEST(test_escaping_one_line)
{
	static const char nasty[] = "a \"quoted\" value\nwith a newline,\r"
	    "\ta tab, a \\ backslash and \x01 control; "
	    "{\"level\":\"error\"}\n\n";
	struct audit *a = open_ok();
	json_t *j;
	size_t n;

	ck_assert_int_eq(audit_emit(a, AUDIT_INFO, "ev\"ent\n", "line1\nline2",
	    "reason", nasty, AUDIT_END), ERR_OK);
	ck_assert_int_eq(audit_emit(a, AUDIT_INFO, "second", "ok",
	    AUDIT_END), ERR_OK);
	audit_close(a);
	j = line_json(0, &n);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(json_string_value(json_object_get(j, "reason")),
	    nasty);
	ck_assert_str_eq(json_string_value(json_object_get(j, "event")),
	    "ev\"ent\n");
	ck_assert_str_eq(json_string_value(json_object_get(j, "message")),
	    "line1\nline2");
	ck_assert_str_eq(json_string_value(json_object_get(j, "level")),
	    "info");
	json_decref(j);
	j = line_json(1, &n);
	ck_assert_str_eq(json_string_value(json_object_get(j, "event")),
	    "second");
	json_decref(j);
}
END_TEST

START_TEST(test_value_cap)
{
	struct audit *a = open_ok();
	char *big = xmalloc(4001);
	json_t *j;
	size_t n;

	memset(big, 'v', 4000);
	big[4000] = '\0';
	ck_assert_int_eq(audit_emit(a, AUDIT_INFO, "e", "m", "v", big,
	    AUDIT_END), ERR_OK);
	audit_close(a);
	j = line_json(0, &n);
	ck_assert_uint_eq(strlen(json_string_value(json_object_get(j, "v"))),
	    1024);
	json_decref(j);
	free(big);
}
END_TEST

/*
 * audit.h: "values are capped at 1024 bytes".  A value whose 1024th byte
 * falls inside a multi-byte UTF-8 character must still be written (cut at
 * a character boundary); an event must not be lost because of where the
 * cap happens to fall.
 */
START_TEST(test_value_cap_utf8)
{
	struct audit *a = open_ok();
	char big[1100];
	json_t *j;
	size_t n;

	memset(big, 'v', 1023);
	memcpy(big + 1023, "\xc3\xa9tail", 7);	/* U+00E9 at 1023..1024 */
	ck_assert_int_eq(audit_emit(a, AUDIT_INFO, "e", "m", "v", big,
	    AUDIT_END), ERR_OK);
	audit_close(a);
	j = line_json(0, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_le(strlen(json_string_value(json_object_get(j, "v"))),
	    1024);
	ck_assert_uint_ge(strlen(json_string_value(json_object_get(j, "v"))),
	    1023);
	json_decref(j);
}
END_TEST

START_TEST(test_append_two_sinks)
{
	struct audit *a = open_ok(), *b = open_ok();
	json_t *j;
	size_t n;

	ck_assert_int_eq(audit_emit(a, AUDIT_INFO, "from_a", "1",
	    AUDIT_END), ERR_OK);
	ck_assert_int_eq(audit_emit(b, AUDIT_INFO, "from_b", "2",
	    AUDIT_END), ERR_OK);
	ck_assert_int_eq(audit_emit(a, AUDIT_INFO, "from_a", "3",
	    AUDIT_END), ERR_OK);
	audit_close(a);
	audit_close(b);
	/* Reopening appends, never truncates. */
	a = open_ok();
	ck_assert_int_eq(audit_emit(a, AUDIT_INFO, "again", "4",
	    AUDIT_END), ERR_OK);
	audit_close(a);
	j = line_json(1, &n);
	ck_assert_uint_eq(n, 4);
	ck_assert_str_eq(json_string_value(json_object_get(j, "event")),
	    "from_b");
	json_decref(j);
	j = line_json(3, &n);
	ck_assert_str_eq(json_string_value(json_object_get(j, "message")),
	    "4");
	json_decref(j);
}
END_TEST

START_TEST(test_open_bad_path)
{
	char *errstr = NULL;
	struct audit *a;

	a = audit_open("/nonexistent-toolkata-dir/audit.log", &errstr);
	ck_assert_ptr_null(a);
	ck_assert_ptr_nonnull(errstr);
	ck_assert_ptr_nonnull(strstr(errstr, "/nonexistent-toolkata-dir/"
	    "audit.log"));
	free(errstr);
	errstr = NULL;
	a = audit_open(dir, &errstr);	/* a directory */
	ck_assert_ptr_null(a);
	ck_assert_ptr_nonnull(errstr);
	free(errstr);
}
END_TEST

/* The sink fails closed: a line that cannot be written is ERR_IO. */
START_TEST(test_write_fails)
{
	char *errstr = NULL;
	struct audit *a = audit_open("/dev/full", &errstr);
	int devnull = open("/dev/null", O_WRONLY);

	ck_assert_ptr_nonnull(a);
	/* Keep the expected log_warn() line out of the test output. */
	ck_assert_int_eq(dup2(devnull, STDERR_FILENO), STDERR_FILENO);
	ck_assert_int_eq(audit_emit(a, AUDIT_INFO, "e", "m", "k", "v",
	    AUDIT_END), ERR_IO);
	audit_close(a);
	(void)close(devnull);
	audit_close(NULL);
}
END_TEST

START_TEST(test_stderr_sink)
{
	char *errstr = NULL;
	struct audit *a = audit_open("-", &errstr);
	int saved, fd[2];
	char buf[512];
	ssize_t n;
	json_t *j;

	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_null(errstr);
	ck_assert_int_eq(pipe(fd), 0);
	saved = dup(STDERR_FILENO);
	ck_assert_int_ge(saved, 0);
	ck_assert_int_eq(dup2(fd[1], STDERR_FILENO), STDERR_FILENO);
	ck_assert_int_eq(audit_emit(a, AUDIT_ERROR, "to_stderr", "m",
	    AUDIT_END), ERR_OK);
	/* Closing the sink must not close stderr. */
	audit_close(a);
	ck_assert_int_ne(fcntl(STDERR_FILENO, F_GETFD), -1);
	ck_assert_int_eq(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	(void)close(saved);
	(void)close(fd[1]);
	n = read(fd[0], buf, sizeof(buf) - 1);
	(void)close(fd[0]);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	ck_assert_int_eq(buf[n - 1], '\n');
	j = json_loads(buf, JSON_DISABLE_EOF_CHECK, NULL);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(json_string_value(json_object_get(j, "event")),
	    "to_stderr");
	json_decref(j);
}
END_TEST

static Suite *
audit_suite(void)
{
	Suite *s = suite_create("audit");
	TCase *tc = tcase_create("emit");

	tcase_add_unchecked_fixture(tc, dir_setup, dir_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_fields_in_order);
	tcase_add_test(tc, test_levels_and_no_fields);
	tcase_add_test(tc, test_escaping_one_line);
	tcase_add_test(tc, test_value_cap);
	tcase_add_test(tc, test_value_cap_utf8);
	tcase_add_test(tc, test_append_two_sinks);
	tcase_add_test(tc, test_open_bad_path);
	tcase_add_test(tc, test_write_fails);
	tcase_add_test(tc, test_stderr_sink);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return util_run(audit_suite());
}

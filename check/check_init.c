/*
 * check_init.c: init commands and initComplete through the whole real
 * chain (Caddy, toolkata-api, websocketd, toolkata-relay, docker/init in a
 * runsc container).  Commands from the create body and from an init frame
 * run in order, each after the previous one ended (a 2 s sleep in the
 * middle proves no timer is used); silent ones show nothing; a failing
 * and a timed-out run say so; a reconnect does not run them again; a
 * python environment's shell runs them too; a
 * connection without commands still gets initComplete, and before the
 * screen's terminal reset (so a B1 client, which prints unknown frames,
 * has it wiped); bad bodies and frames are refused.
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

#include "term.h"

static void
init_setup(void)
{
	stack_init(&st, "init");
	stack_env_roomy(&st, KEY, ORIGIN);
	stack_setenv(&st, "SANDBOX_INIT_TIMEOUT", "20");
	stack_up(&st);
}

static void
teardown(void)
{
	stack_down(&st);
}

/* POST a create body; the status, and the session id on 201. */
static int
create_body(const char *src, const char *body, char *id)
{
	return (int)stack_create_body(&st, src, key_hdrs, body, id);
}

/* "2026-12-02T00:20:00.123Z" in ms since the epoch. */
static int64_t
iso_ms(const char *s)
{
	struct tm tm;
	int ms = 0;

	memset(&tm, 0, sizeof(tm));
	ck_assert_int_eq(sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year,
	    &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec,
	    &ms), 7);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (int64_t)timegm(&tm) * 1000 + ms;
}

/* Open a terminal (no prompt wait: the caller waits for initComplete). */
static void
term_connect(struct term *t, const char *id, const char *src)
{
	ck_assert_int_eq(term_open_at(t, st.port, id, src, ORIGIN,
	    "api_key=" KEY), 101);
}

/* Read until a control frame after the first `from` holds needle. */
static bool
ctl_wait_from(struct term *t, size_t from, const char *needle, int ms)
{
	double end = clock_mono() + ms / 1000.0;

	for (;;) {
		for (size_t i = from; i < t->nctl; i++)
			if (strstr(t->ctl[i], needle) != NULL)
				return true;
		if (clock_mono() > end || (!term_read(t, 200) && t->ws.closed))
			return false;
	}
}

/* The index of the first control frame holding needle, or -1. */
static int
ctl_index(const struct term *t, const char *needle)
{
	for (size_t i = 0; i < t->nctl; i++)
		if (strstr(t->ctl[i], needle) != NULL)
			return (int)i;
	return -1;
}

/* ---- commands from the create body ------------------------------------- */

START_TEST(test_post_init_runs_in_order)
{
	char id[ID_SIZE];
	struct term t;
	double t0;
	int i;

	ck_assert_int_eq(create_body("127.0.1.1", "{\"toolPair\":\"jj-git\","
	    "\"init\":[\"echo one > ~/order\",\"sleep 2\","
	    "\"echo two >> ~/order\",\"git init -q ~/repo\"]}", id), 201);
	t0 = clock_mono();
	term_connect(&t, id, "127.0.1.1");
	ck_assert_msg(term_wait_ctl(&t, "initComplete", 30000),
	    "no initComplete; frames: %zu ctl", t.nctl);
	i = ctl_index(&t, "initComplete");
	ck_assert_str_eq(t.ctl[i], "{\"type\":\"initComplete\","
	    "\"success\":true}");
	/* After the 2 s sleep had ended: completion, not a timer. */
	ck_assert_msg(clock_mono() - t0 >= 2.0, "initComplete after %.2f s",
	    clock_mono() - t0);
	/* connected came first. */
	ck_assert_int_eq(ctl_index(&t, "\"connected\""), 0);
	/* The commands ran in order, each after the one before. */
	ck_assert(term_wait(&t, 0, "$\x1b[0m ", 10000));
	term_run(&t, "echo $(cat ~/order) $(test -d ~/repo/.git && echo repo)"
	    " end", "one two repo end");
	/* Silent (a create's commands are): none of them on the screen. */
	ck_assert_msg(strstr(t.out, "echo one") == NULL, "shown: %s", t.out);
	ck_assert_ptr_null(strstr(t.out, "sleep 2"));
	term_free(&t);
}
END_TEST

START_TEST(test_reconnect_does_not_rerun)
{
	char id[ID_SIZE];
	struct term a, b;

	ck_assert_int_eq(create_body("127.0.1.2", "{\"toolPair\":\"jj-git\","
	    "\"init\":[\"echo ran >> ~/count\"]}", id), 201);
	term_connect(&a, id, "127.0.1.2");
	ck_assert(term_wait_ctl(&a, "\"success\":true", 30000));
	term_free(&a);
	term_connect(&b, id, "127.0.1.2");
	/* initComplete again, at once, before the screen. */
	ck_assert(term_wait_ctl(&b, "\"success\":true", 10000));
	ck_assert(term_wait(&b, 0, "$\x1b[0m ", 10000));
	term_run(&b, "echo runs=$(wc -l < ~/count)", "runs=1\r\n");
	term_free(&b);
}
END_TEST

START_TEST(test_post_init_failure_reported)
{
	char id[ID_SIZE];
	struct term a, b;
	int i;

	ck_assert_int_eq(create_body("127.0.1.3", "{\"toolPair\":\"jj-git\","
	    "\"init\":[\"true\",\"false\",\"touch ~/never\"]}", id), 201);
	term_connect(&a, id, "127.0.1.3");
	ck_assert(term_wait_ctl(&a, "initComplete", 30000));
	i = ctl_index(&a, "initComplete");
	ck_assert_msg(strstr(a.ctl[i], "\"success\":false") != NULL &&
	    strstr(a.ctl[i], "command 2 of 3 exited with status 1") != NULL,
	    "%s", a.ctl[i]);
	ck_assert(term_wait(&a, 0, "$\x1b[0m ", 10000));
	/* The run stopped at the failure. */
	term_run(&a, "test -e ~/never || echo never-$((1+1))", "never-2");
	term_free(&a);
	/* A reconnect is told the same, and nothing runs again. */
	term_connect(&b, id, "127.0.1.3");
	ck_assert(term_wait_ctl(&b, "command 2 of 3", 10000));
	term_free(&b);
}
END_TEST

/* Another environment's shell runs them the same way (its image has the
 * same init and prompt hook). */
START_TEST(test_init_in_python)
{
	char id[ID_SIZE];
	struct term t;

	ck_assert_int_eq(create_body("127.0.1.10", "{\"toolPair\":\"jj-git\","
	    "\"environment\":\"python\",\"init\":[\"python3 -c \\\"open("
	    "'/home/toolkata/p','w').write('py-' + str(6*7))\\\"\"]}", id), 201);
	term_connect(&t, id, "127.0.1.10");
	ck_assert(term_wait_ctl(&t, "initComplete", 30000));
	ck_assert_msg(ctl_index(&t, "\"success\":true") >= 0, "%s",
	    t.ctl[ctl_index(&t, "initComplete")]);
	ck_assert(term_wait(&t, 0, "$\x1b[0m ", 10000));
	term_run(&t, "cat ~/p; echo", "py-42\r\n");
	term_free(&t);
}
END_TEST

/* ---- without commands: B1 and HEAD clients ------------------------------ */

START_TEST(test_initcomplete_without_init)
{
	char id[ID_SIZE];
	struct term t;
	const char *ris;
	int i;

	ck_assert_int_eq(create_body("127.0.1.4", "{\"toolPair\":\"jj-git\"}",
	    id), 201);
	term_connect(&t, id, "127.0.1.4");
	ck_assert(term_wait_ctl(&t, "initComplete", 10000));
	ck_assert(term_wait(&t, 0, "$\x1b[0m ", 15000));
	i = ctl_index(&t, "initComplete");
	ck_assert_int_eq(i, 1);		/* right after connected */
	ck_assert_str_eq(t.ctl[i], "{\"type\":\"initComplete\","
	    "\"success\":true}");
	/* Every terminal byte came after it, and the screen starts with a
	 * reset (ESC c): a client that prints the frame has it wiped. */
	ck_assert_uint_eq(t.ctl_at[i], 0);
	ris = strstr(t.out, "\x1b" "c");
	ck_assert_ptr_nonnull(ris);
	ck_assert_ptr_null(strstr(t.out, "initComplete"));
	term_free(&t);
}
END_TEST

/* ---- the init frame ------------------------------------------------------ */

START_TEST(test_frame_init_visible_and_ordered)
{
	char id[ID_SIZE];
	struct term t;
	size_t from, n;
	double t0;

	stack_create_session(&st, "127.0.1.5", key_hdrs, id);
	term_ready(&t, id, "127.0.1.5", NULL);
	from = t.len;
	n = t.nctl;
	t0 = clock_mono();
	term_send(&t, "{\"type\":\"init\",\"commands\":[\"sleep 2\","
	    "\"echo frame-$((20+3)) | tee -a ~/runs\"],\"silent\":false,"
	    "\"timeout\":20000}");
	ck_assert(ctl_wait_from(&t, n, "\"success\":true", 30000));
	ck_assert_msg(clock_mono() - t0 >= 2.0, "after %.2f s",
	    clock_mono() - t0);
	/* Not silent: the command and its output are on the screen. */
	ck_assert(term_wait(&t, from, "frame-23", 5000));
	/* The frame appears only as a control frame, never as text. */
	ck_assert_ptr_null(strstr(t.out, "initComplete"));
	/* The same run again is answered without running it. */
	from = t.len;
	n = t.nctl;
	t0 = clock_mono();
	term_send(&t, "{\"type\":\"init\",\"commands\":[\"sleep 2\","
	    "\"echo frame-$((20+3)) | tee -a ~/runs\"],\"silent\":false,"
	    "\"timeout\":20000}");
	ck_assert(ctl_wait_from(&t, n, "\"success\":true", 10000));
	ck_assert_msg(clock_mono() - t0 < 2.0, "ran again (%.2f s)",
	    clock_mono() - t0);
	term_run(&t, "echo runs=$(wc -l < ~/runs)", "runs=1\r\n");
	term_free(&t);
}
END_TEST

START_TEST(test_frame_init_silent)
{
	char id[ID_SIZE];
	struct term t;
	size_t from, n;

	stack_create_session(&st, "127.0.1.6", key_hdrs, id);
	term_ready(&t, id, "127.0.1.6", NULL);
	from = t.len;
	n = t.nctl;
	term_send(&t, "{\"type\":\"init\",\"commands\":[\"echo hush-$((3*3))"
	    " > ~/h\",\"echo hush-$((4*4))\"],\"silent\":true}");
	ck_assert(ctl_wait_from(&t, n, "\"success\":true", 30000));
	ck_assert(term_wait(&t, from, "$\x1b[0m ", 10000));
	term_run(&t, "cat ~/h", "hush-9\r\n");
	/* Neither the commands nor their output were shown, even in the
	 * screen sent again after the run. */
	ck_assert_ptr_null(strstr(t.out, "hush-16"));
	ck_assert_ptr_null(strstr(t.out, "echo hush"));
	term_free(&t);
}
END_TEST

START_TEST(test_frame_init_timeout)
{
	char id[ID_SIZE];
	struct term t;
	double t0;
	int i;

	stack_create_session(&st, "127.0.1.7", key_hdrs, id);
	term_ready(&t, id, "127.0.1.7", NULL);
	t0 = clock_mono();
	term_send(&t, "{\"type\":\"init\",\"commands\":[\"sleep 60\","
	    "\"touch ~/late\"],\"timeout\":1500}");
	ck_assert(term_wait_ctl(&t, "\"success\":false", 15000));
	i = ctl_index(&t, "\"success\":false");
	ck_assert_msg(strstr(t.ctl[i], "timed out") != NULL, "%s", t.ctl[i]);
	ck_assert_msg(clock_mono() - t0 < 6.0, "took %.1f s",
	    clock_mono() - t0);
	/* The sleep was interrupted and the rest did not run: the shell is
	 * free again. */
	term_run(&t, "test -e ~/late || echo free-$((2+5))", "free-7");
	term_free(&t);
}
END_TEST

START_TEST(test_frame_init_refused)
{
	static const char *const bad[][2] = {
		{ "{\"type\":\"init\",\"commands\":\"ls\"}", "array of strings" },
		{ "{\"type\":\"init\",\"commands\":[\"a\\u0007b\"]}",
		    "control characters" },
		{ "{\"type\":\"init\",\"commands\":[\"ls\"],\"timeout\":0}",
		    "timeout" },
		{ "{\"type\":\"init\"}", "array of strings" },
	};
	char id[ID_SIZE];
	struct term t;
	size_t n;

	stack_create_session(&st, "127.0.1.8", key_hdrs, id);
	term_ready(&t, id, "127.0.1.8", NULL);
	for (size_t k = 0; k < nitems(bad); k++) {
		size_t before = t.nctl;

		term_send(&t, bad[k][0]);
		ck_assert_msg(ctl_wait_from(&t, before, bad[k][1], 10000),
		    "%s: no answer with '%s'", bad[k][0], bad[k][1]);
		ck_assert_ptr_nonnull(strstr(t.ctl[t.nctl - 1],
		    "\"success\":false"));
	}
	/* An empty list is a success that runs nothing. */
	n = t.nctl;
	term_send(&t, "{\"type\":\"init\",\"commands\":[]}");
	ck_assert(ctl_wait_from(&t, n, "\"success\":true", 10000));
	/* The connection lives on. */
	term_run(&t, "echo alive-$((5+5))", "alive-10");
	term_free(&t);
}
END_TEST

/* ---- create bodies -------------------------------------------------------- */

START_TEST(test_post_body_refused)
{
	static const char *const bad[] = {
		"{\"toolPair\":\"jj-git\",\"init\":\"ls\"}",
		"{\"toolPair\":\"jj-git\",\"init\":[\"ls\\n rm\"]}",
		"{\"toolPair\":\"jj-git\",\"init\":[\"\"]}",
		"{\"toolPair\":\"jj-git\",\"timeout\":999}",
		"{\"toolPair\":\"jj-git\",\"timeout\":\"60000\"}",
		"{\"toolPair\":\"jj-git\",\"timeout\":1800001}",
	};
	char id[ID_SIZE];
	struct http_resp r;
	int64_t created, expires;
	json_t *j;

	for (size_t k = 0; k < nitems(bad); k++)
		ck_assert_msg(create_body("127.0.1.9", bad[k], id) == 400,
		    "%s was not refused", bad[k]);
	/* timeout sets expiresAt. */
	stack_http(&st, "POST", "/api/v1/sessions", "127.0.1.9", key_hdrs,
	    "{\"toolPair\":\"jj-git\",\"timeout\":60000}", &r);
	ck_assert_int_eq(r.status, 201);
	j = resp_json(&r);
	created = iso_ms(jstr(j, "createdAt"));
	expires = iso_ms(jstr(j, "expiresAt"));
	ck_assert_msg(expires - created == 60000, "expiresAt - createdAt = "
	    "%lld", (long long)(expires - created));
	json_decref(j);
	http_resp_free(&r);
}
END_TEST

/* A program in the sandbox cannot speak for the init: its ESC _ tk;
 * strings never reach the relay (no initComplete from them, no frame, no
 * bytes).  (It can print the prompt hook's status, which only the init
 * reads: a learner can confuse their own run, nothing else.) */
START_TEST(test_forged_messages_dropped)
{
	char id[ID_SIZE];
	struct term t;
	size_t n, from;
	double t0;

	stack_create_session(&st, "127.0.1.11", key_hdrs, id);
	term_ready(&t, id, "127.0.1.11", NULL);
	n = t.nctl;
	from = t.len;
	term_run(&t, "printf '\\e_tk;initdone;1\\e\\\\\\e_tk;screen\\e\\\\"
	    "forged-%d\\n' 7", "forged-7\r\n");
	ck_assert_uint_eq(t.nctl, n);
	ck_assert_ptr_null(strstr(t.out + from, "\x1b_tk;"));
	/* During a run: a command that prints a fake "done" and then takes
	 * 2 s is still waited for. */
	n = t.nctl;
	t0 = clock_mono();
	term_send(&t, "{\"type\":\"init\",\"commands\":[\"printf "
	    "'\\\\e_tk;initdone;1\\\\e\\\\\\\\'; sleep 2\",\"true\"],"
	    "\"timeout\":20000}");
	ck_assert(ctl_wait_from(&t, n, "initComplete", 20000));
	ck_assert_msg(clock_mono() - t0 >= 2.0, "a forged initdone ended the "
	    "run after %.2f s", clock_mono() - t0);
	term_free(&t);
}
END_TEST

static Suite *
init_suite(void)
{
	Suite *s = suite_create("init");
	TCase *tc = tcase_create("chain");

	tcase_add_unchecked_fixture(tc, init_setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_post_init_runs_in_order);
	tcase_add_test(tc, test_reconnect_does_not_rerun);
	tcase_add_test(tc, test_post_init_failure_reported);
	tcase_add_test(tc, test_init_in_python);
	tcase_add_test(tc, test_initcomplete_without_init);
	tcase_add_test(tc, test_frame_init_visible_and_ordered);
	tcase_add_test(tc, test_frame_init_silent);
	tcase_add_test(tc, test_frame_init_timeout);
	tcase_add_test(tc, test_frame_init_refused);
	tcase_add_test(tc, test_forged_messages_dropped);
	tcase_add_test(tc, test_post_body_refused);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	stack_global_init();
	return util_run(init_suite());
}

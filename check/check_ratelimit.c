/*
 * check_ratelimit.c: the per-IP quota rules (lib/ratelimit.c) as pure
 * functions on a fake clock: hourly before concurrent, Retry-After from the
 * oldest session in the window or the next end (rounded up, at least 1),
 * the WebSocket limit, and a simulated hour of requests against the window.
 */
#include "compat.h"

#include "ratelimit.h"
#include "util.h"

#define T0 1700000000000LL	/* an arbitrary fake "now" */

START_TEST(test_seconds_until)
{
	ck_assert_int_eq(ratelimit_seconds_until(T0 + 1000, T0), 1);
	ck_assert_int_eq(ratelimit_seconds_until(T0 + 1001, T0), 2);
	ck_assert_int_eq(ratelimit_seconds_until(T0 + 999, T0), 1);
	ck_assert_int_eq(ratelimit_seconds_until(T0 + 1, T0), 1);
	ck_assert_int_eq(ratelimit_seconds_until(T0, T0), 1);
	ck_assert_int_eq(ratelimit_seconds_until(T0 - 5000, T0), 1);
	ck_assert_int_eq(ratelimit_seconds_until(0, T0), 1);
	ck_assert_int_eq(ratelimit_seconds_until(T0 + 60000, T0), 60);
	ck_assert_int_eq(ratelimit_seconds_until(T0 + 3599001, T0), 3600);
	ck_assert_int_eq(ratelimit_seconds_until(T0 + RATELIMIT_WINDOW_MS,
	    T0), 3600);
	ck_assert_int_eq(ratelimit_seconds_until(INT64_C(1) << 50, 0),
	    ((INT64_C(1) << 50) + 999) / 1000);
}
END_TEST

START_TEST(test_session_ok)
{
	struct ratelimit rl = { 50, 2, 3 };
	struct ratelimit_usage u = { 49, T0 - 1000, 1, T0 + 5000 };
	long long retry = -7;

	ck_assert_int_eq(ratelimit_session(&rl, &u, T0, &retry), RATELIMIT_OK);
	ck_assert_int_eq(retry, 0);
	memset(&u, 0, sizeof(u));
	retry = -7;
	ck_assert_int_eq(ratelimit_session(&rl, &u, T0, &retry), RATELIMIT_OK);
	ck_assert_int_eq(retry, 0);
}
END_TEST

START_TEST(test_session_hourly)
{
	struct ratelimit rl = { 50, 2, 3 };
	struct ratelimit_usage u = { 50, T0 - 1000, 0, 0 };
	long long retry = 0;

	ck_assert_int_eq(ratelimit_session(&rl, &u, T0, &retry),
	    RATELIMIT_HOURLY);
	ck_assert_int_eq(retry, 3599);
	/* Rounded up: 3598.5 s is 3599. */
	u.oldest_ms = T0 - 1500;
	(void)ratelimit_session(&rl, &u, T0, &retry);
	ck_assert_int_eq(retry, 3599);
	/* One millisecond left is one second. */
	u.oldest_ms = T0 - RATELIMIT_WINDOW_MS + 1;
	(void)ratelimit_session(&rl, &u, T0, &retry);
	ck_assert_int_eq(retry, 1);
	/* A stale count (oldest already out of the window) still says 1. */
	u.oldest_ms = T0 - RATELIMIT_WINDOW_MS - 10000;
	(void)ratelimit_session(&rl, &u, T0, &retry);
	ck_assert_int_eq(retry, 1);
	/* Over the limit is refused too. */
	u.in_window = 70;
	u.oldest_ms = T0 - 600 * 1000;
	ck_assert_int_eq(ratelimit_session(&rl, &u, T0, &retry),
	    RATELIMIT_HOURLY);
	ck_assert_int_eq(retry, 3000);
}
END_TEST

START_TEST(test_session_hourly_first)
{
	struct ratelimit rl = { 5, 2, 3 };
	struct ratelimit_usage u = { 5, T0 - 3000 * 1000, 2, T0 + 10 * 1000 };
	long long retry = 0;

	/* Both limits hit: the hourly one is reported, with its own wait. */
	ck_assert_int_eq(ratelimit_session(&rl, &u, T0, &retry),
	    RATELIMIT_HOURLY);
	ck_assert_int_eq(retry, 600);
}
END_TEST

START_TEST(test_session_concurrent)
{
	struct ratelimit rl = { 50, 2, 3 };
	struct ratelimit_usage u = { 10, T0 - 60000, 2, T0 + 90500 };
	long long retry = 0;

	ck_assert_int_eq(ratelimit_session(&rl, &u, T0, &retry),
	    RATELIMIT_CONCURRENT);
	ck_assert_int_eq(retry, 91);
	u.next_end_ms = T0 - 1;	/* overdue: the reaper has not run yet */
	(void)ratelimit_session(&rl, &u, T0, &retry);
	ck_assert_int_eq(retry, 1);
	u.live = 3;
	u.next_end_ms = T0 + 300 * 1000;
	(void)ratelimit_session(&rl, &u, T0, &retry);
	ck_assert_int_eq(retry, 300);
	u.live = 1;
	ck_assert_int_eq(ratelimit_session(&rl, &u, T0, &retry), RATELIMIT_OK);
	ck_assert_int_eq(retry, 0);
}
END_TEST

START_TEST(test_websocket)
{
	struct ratelimit rl = { 50, 2, 3 };

	ck_assert(ratelimit_websocket(&rl, 0));
	ck_assert(ratelimit_websocket(&rl, 1));
	ck_assert(ratelimit_websocket(&rl, 2));
	ck_assert(!ratelimit_websocket(&rl, 3));
	ck_assert(!ratelimit_websocket(&rl, 4));
	rl.websockets = 1;
	ck_assert(ratelimit_websocket(&rl, 0));
	ck_assert(!ratelimit_websocket(&rl, 1));
}
END_TEST

/*
 * A fake clock and a tiny in-memory bookkeeping that follows ratelimit.h's
 * definitions: sessions count for (now - 1 h, now].  Every refusal's
 * Retry-After must be exact: refused one millisecond before it, allowed
 * at it.
 */
struct sim {
	int64_t created[64];
	size_t n;
};

static void
sim_usage(const struct sim *sm, int64_t now, struct ratelimit_usage *u)
{
	memset(u, 0, sizeof(*u));
	for (size_t i = 0; i < sm->n; i++) {
		if (sm->created[i] <= now - RATELIMIT_WINDOW_MS ||
		    sm->created[i] > now)
			continue;
		if (u->in_window == 0 || sm->created[i] < u->oldest_ms)
			u->oldest_ms = sm->created[i];
		u->in_window++;
	}
}

START_TEST(test_window_simulation)
{
	struct ratelimit rl = { 3, 1000, 3 };
	struct ratelimit_usage u;
	struct sim sm;
	int64_t now = T0, at;
	long long retry = 0, ignored = 0;
	int allowed = 0, refused = 0;

	memset(&sm, 0, sizeof(sm));
	/* Ask every 7.3 s for 3 fake hours. */
	for (int step = 0; step < 1500; step++, now += 7300) {
		sim_usage(&sm, now, &u);
		if (ratelimit_session(&rl, &u, now, &retry) == RATELIMIT_OK) {
			ck_assert_uint_lt(sm.n, nitems(sm.created));
			sm.created[sm.n++] = now;
			allowed++;
			continue;
		}
		refused++;
		ck_assert_int_ge(retry, 1);
		ck_assert_int_le(retry, 3600);
		at = now + retry * 1000;
		/* Allowed at the promised time... */
		sim_usage(&sm, at, &u);
		ck_assert_int_eq(ratelimit_session(&rl, &u, at, &ignored),
		    RATELIMIT_OK);
		/* ...and still refused one second earlier. */
		if (retry > 1) {
			sim_usage(&sm, at - 1000, &u);
			ck_assert_int_eq(ratelimit_session(&rl, &u, at - 1000,
			    &ignored), RATELIMIT_HOURLY);
		}
	}
	/* 3 per hour over 3 h (10950 s): windows start at 0, 1 h, 2 h, 3 h. */
	ck_assert_int_eq(allowed, 12);
	ck_assert_int_eq(refused, 1500 - 12);
}
END_TEST

START_TEST(test_retry_is_exact)
{
	struct ratelimit rl = { 2, 1000, 3 };
	struct ratelimit_usage u;
	struct sim sm;
	long long retry = 0;
	int64_t now = T0 + 1234567;

	memset(&sm, 0, sizeof(sm));
	sm.created[sm.n++] = T0 + 100;
	sm.created[sm.n++] = T0 + 200000;
	sim_usage(&sm, now, &u);
	ck_assert_int_eq(ratelimit_session(&rl, &u, now, &retry),
	    RATELIMIT_HOURLY);
	/* (T0 + 100 + 3600000 - now) = 2365533 ms -> 2366 s. */
	ck_assert_int_eq(retry, 2366);
	sim_usage(&sm, now + (retry - 1) * 1000, &u);
	ck_assert_int_eq(ratelimit_session(&rl, &u, now + (retry - 1) * 1000,
	    &retry), RATELIMIT_HOURLY);
	sim_usage(&sm, now + 2366 * 1000, &u);
	ck_assert_int_eq(u.in_window, 1);
	ck_assert_int_eq(ratelimit_session(&rl, &u, now + 2366 * 1000,
	    &retry), RATELIMIT_OK);
}
END_TEST

static Suite *
ratelimit_suite(void)
{
	Suite *s = suite_create("ratelimit");
	TCase *tc = tcase_create("rules");

	tcase_add_test(tc, test_seconds_until);
	tcase_add_test(tc, test_session_ok);
	tcase_add_test(tc, test_session_hourly);
	tcase_add_test(tc, test_session_hourly_first);
	tcase_add_test(tc, test_session_concurrent);
	tcase_add_test(tc, test_websocket);
	tcase_add_test(tc, test_window_simulation);
	tcase_add_test(tc, test_retry_is_exact);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return util_run(ratelimit_suite());
}

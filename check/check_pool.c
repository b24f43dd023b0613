/*
 * check_pool.c: the warm pool and eviction on the real stack (Caddy,
 * toolkata-api as FastCGI, websocketd, runsc containers): a create claims a
 * ready container and the pool refills; racing creates never share one;
 * an empty pool falls back to the cold path; aged containers are
 * replaced; a daemon SIGKILLed during a refill leaves nothing after one
 * reaper pass; a create at the per-IP limit evicts the oldest unattached
 * session, and gets 429 when every session is attached.
 */
#include "compat.h"

#include <pthread.h>
#include <sqlite3.h>

#include "clock.h"
#include "stack.h"
#include "util.h"
#include "ws.h"

#define KEY "test-key-123"
#define ORIGIN "http://allowed.test"
#define POOL 2

static struct stack st;
static const char *const key_hdrs[] = { "X-API-Key: " KEY, NULL };

static void
pool_env(struct stack *s)
{
	stack_setenv(s, "SANDBOX_API_KEY", KEY);
	stack_setenv(s, "SANDBOX_ALLOWED_ORIGINS", ORIGIN);
	stack_setenv(s, "MAX_SESSIONS_PER_HOUR", "200");
	stack_setenv(s, "MAX_CONCURRENT_PER_IP", "2");
	stack_setenv(s, "MAX_WEBSOCKETS_PER_IP", "5");
	stack_setenv(s, "CIRCUIT_MAX_CONTAINERS", "40");
	stack_setenv(s, "CIRCUIT_MAX_MEMORY_PERCENT", "100");
	stack_setenv(s, "SANDBOX_REAP_INTERVAL", "3600");
	stack_setenv(s, "SANDBOX_POOL_SIZE", "2");
	stack_setenv(s, "SANDBOX_EVICT_AFTER", "8");
}

static void
pool_setup(void)
{
	stack_init(&st, "pool");
	pool_env(&st);
	stack_up(&st);
}

static void
aged_setup(void)
{
	stack_init(&st, "aged");
	pool_env(&st);
	stack_setenv(&st, "SANDBOX_POOL_MAX_AGE", "6");
	stack_up(&st);
}

static void
teardown(void)
{
	stack_down(&st);
}

/* /health's pool.ready. */
static long long
pool_ready(void)
{
	struct http_resp r;
	json_t *j;
	long long n;

	stack_http(&st, "GET", "/health", NULL, NULL, NULL, &r);
	j = resp_json(&r);
	n = json_integer_value(json_object_get(json_object_get(j, "pool"),
	    "ready"));
	json_decref(j);
	http_resp_free(&r);
	return n;
}

static bool
wait_ready(long long n, int ms)
{
	for (int i = 0; i < ms / 100; i++) {
		if (pool_ready() == n)
			return true;
		(void)usleep(100000);
	}
	return pool_ready() == n;
}

/* Is the container running, and what is its toolkata.pool label? */
static bool
container_running(const char *cid, bool *pooled)
{
	char path[128];
	long status;
	json_t *j;
	bool running;

	(void)snprintf(path, sizeof(path), "/containers/%s/json", cid);
	j = engine_get(path, &status);
	running = status == 200 && json_is_true(json_object_get(
	    json_object_get(j, "State"), "Running"));
	if (pooled != NULL)
		*pooled = json_object_get(json_object_get(json_object_get(j,
		    "Config"), "Labels"), "toolkata.pool") != NULL;
	json_decref(j);
	return running;
}

static int
delete_session(const char *id)
{
	struct http_resp r;
	char path[96];
	int status;

	(void)snprintf(path, sizeof(path), "/api/v1/sessions/%s", id);
	stack_http(&st, "DELETE", path, NULL, key_hdrs, NULL, &r);
	status = (int)r.status;
	http_resp_free(&r);
	return status;
}

static int
get_session(const char *id)
{
	struct http_resp r;
	char path[96];
	int status;

	(void)snprintf(path, sizeof(path), "/api/v1/sessions/%s", id);
	stack_http(&st, "GET", path, NULL, key_hdrs, NULL, &r);
	status = (int)r.status;
	http_resp_free(&r);
	return status;
}

START_TEST(test_claim_and_refill)
{
	char id[ID_SIZE], cid[65];
	bool pooled = false;

	ck_assert_msg(wait_ready(POOL, 30000), "the pool never filled");
	stack_create_session(&st, "127.0.1.1", key_hdrs, id);
	stack_session_container(&st, id, cid);
	ck_assert(container_running(cid, &pooled));
	ck_assert_msg(pooled, "the session did not get a pool container");
	ck_assert(file_contains(st.audit, "\"pooled\":\"true\""));
	/* It left the pool; the pool makes another. */
	ck_assert_int_eq(stack_db_int(&st, "SELECT count(*) FROM pool WHERE "
	    "container_id IN (SELECT container_id FROM sessions)", NULL), 0);
	ck_assert_msg(wait_ready(POOL, 30000), "the pool was not refilled");
	ck_assert_int_eq(delete_session(id), 200);
	ck_assert(!container_running(cid, NULL));
}
END_TEST

struct racer {
	pthread_t t;
	char src[32];
	char id[ID_SIZE];
	long status;
};

static void *
race_one(void *arg)
{
	struct racer *r = arg;
	struct http_resp resp;
	json_t *j;

	stack_http(&st, "POST", "/api/v1/sessions", r->src, key_hdrs,
	    "{\"toolPair\":\"jj-git\"}", &resp);
	r->status = resp.status;
	j = resp_json(&resp);
	if (resp.status == 201)
		(void)snprintf(r->id, sizeof(r->id), "%s", jstr(j,
		    "sessionId"));
	json_decref(j);
	http_resp_free(&resp);
	return NULL;
}

/* Four creates at once against two ready containers: four sessions, four
 * different running containers (two claimed, two made cold). */
START_TEST(test_racing_creates)
{
	struct racer r[4];
	char cid[4][65];

	ck_assert_msg(wait_ready(POOL, 30000), "the pool never filled");
	for (int i = 0; i < 4; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		(void)snprintf(r[i].src, sizeof(r[i].src), "127.0.2.%d", i + 1);
		ck_assert_int_eq(pthread_create(&r[i].t, NULL, race_one, &r[i]),
		    0);
	}
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_join(r[i].t, NULL), 0);
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(r[i].status, 201);
		stack_session_container(&st, r[i].id, cid[i]);
		ck_assert_uint_eq(strlen(cid[i]), 64);
		ck_assert(container_running(cid[i], NULL));
		for (int k = 0; k < i; k++)
			ck_assert_str_ne(cid[i], cid[k]);
	}
	/* No container is both a session's and the pool's. */
	ck_assert_int_eq(stack_db_int(&st, "SELECT count(*) FROM pool WHERE "
	    "container_id IN (SELECT container_id FROM sessions WHERE "
	    "state<>2)", NULL), 0);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(delete_session(r[i].id), 200);
}
END_TEST

/* SIGKILL of toolkata-api while it fills: one reaper pass (the restart's
 * reconcile) leaves only containers the pool owns, all of them ready. */
START_TEST(test_kill_during_refill)
{
	pid_t api = stack_pid(&st, "api");
	struct racer r;
	int i;

	ck_assert_msg(wait_ready(POOL, 30000), "the pool never filled");
	/* A claim starts a refill; kill as soon as its container exists. */
	memset(&r, 0, sizeof(r));
	(void)snprintf(r.src, sizeof(r.src), "127.0.3.1");
	race_one(&r);
	ck_assert_int_eq(r.status, 201);
	for (i = 0; i < 3000 && stack_db_int(&st, "SELECT count(*) FROM pool "
	    "WHERE state=0 AND container_id<>''", NULL) == 0; i++)
		(void)usleep(1000);
	ck_assert_int_eq(kill(api, SIGKILL), 0);
	for (i = 0; i < 100 && stack_alive(api); i++)
		(void)usleep(20000);
	stack_start_api(&st);
	ck_assert(stack_wait_http(&st, "/health", 15000));
	/* What is left: the session's container and ready pool ones. */
	{
		json_t *cs = stack_containers(&st), *c;
		size_t k;
		long long ready;
		char cid[65];

		stack_session_container(&st, r.id, cid);
		ready = stack_db_int(&st, "SELECT count(*) FROM pool WHERE "
		    "state=1", NULL);
		ck_assert_int_eq(stack_db_int(&st, "SELECT count(*) FROM pool WHERE "
		    "state=0 AND container_id<>'' AND created_at < "
		    "(SELECT max(created_at) FROM pool)", NULL), 0);
		json_array_foreach(cs, k, c) {
			const char *id = jstr(c, "Id");
			const char *pl = jstr(json_object_get(c, "Labels"),
			    "toolkata.pool");
			char q[320];

			if (strcmp(id, cid) == 0)
				continue;
			/* A fill of the restarted daemon may be between its
			 * create and recording the id: its row has the label. */
			(void)snprintf(q, sizeof(q), "SELECT count(*) FROM pool "
			    "WHERE container_id='%.64s' OR id='%.40s'", id,
			    pl != NULL ? pl : "");
			ck_assert_msg(stack_db_int(&st, q, NULL) == 1,
			    "container %.12s has no "
			    "owner after the reconcile", id);
		}
		ck_assert_int_le(json_array_size(cs), (size_t)(ready + 2));
		json_decref(cs);
	}
	ck_assert_int_eq(delete_session(r.id), 200);
}
END_TEST

/* A WebSocket to session id from src, left open. */
static void
attach_terminal(struct ws *w, const char *id, const char *src)
{
	char path[160];

	(void)snprintf(path, sizeof(path), "/api/v1/sessions/%s/ws?api_key="
	    KEY, id);
	ck_assert(ws_open(w, st.port, path, src, ORIGIN, NULL));
	ck_assert_int_eq(w->status, 101);
}

START_TEST(test_eviction)
{
	const char *src = "127.0.4.1";
	char a[ID_SIZE], b[ID_SIZE], c[ID_SIZE];
	struct http_resp r;
	struct ws wb, wc;

	stack_create_session(&st, src, key_hdrs, a);
	stack_create_session(&st, src, key_hdrs, b);
	/* Both fresh: not abandoned yet, the limit holds. */
	stack_http(&st, "POST", "/api/v1/sessions", src, key_hdrs,
	    "{\"toolPair\":\"jj-git\"}", &r);
	ck_assert_int_eq(r.status, 429);
	http_resp_free(&r);
	/* b gets a terminal; after SANDBOX_EVICT_AFTER (8 s) a, never
	 * attached, is the one that goes. */
	attach_terminal(&wb, b, src);
	(void)sleep(9);
	stack_create_session(&st, src, key_hdrs, c);
	ck_assert_int_eq(get_session(a), 404);
	ck_assert_int_eq(get_session(b), 200);
	ck_assert(file_contains(st.audit, "\"event\":\"session.evicted\""));
	/* Every session of the IP in use: 429. */
	attach_terminal(&wc, c, src);
	(void)sleep(9);
	stack_http(&st, "POST", "/api/v1/sessions", src, key_hdrs,
	    "{\"toolPair\":\"jj-git\"}", &r);
	ck_assert_int_eq(r.status, 429);
	http_resp_free(&r);
	ws_close(&wb);
	ws_close(&wc);
	ck_assert_int_eq(delete_session(b), 200);
	ck_assert_int_eq(delete_session(c), 200);
}
END_TEST

/* A pool container older than SANDBOX_POOL_MAX_AGE is replaced. */
START_TEST(test_aged_replaced)
{
	char first[65] = "";
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	bool gone = false;

	ck_assert_msg(wait_ready(POOL, 30000), "the pool never filled");
	ck_assert_int_eq(sqlite3_open(st.state, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT container_id FROM "
	    "pool ORDER BY created_at LIMIT 1", -1, &q, NULL), SQLITE_OK);
	if (sqlite3_step(q) == SQLITE_ROW)
		(void)snprintf(first, sizeof(first), "%s",
		    sqlite3_column_text(q, 0));
	sqlite3_finalize(q);
	sqlite3_close(db);
	ck_assert_uint_eq(strlen(first), 64);
	for (int i = 0; i < 200 && !gone; i++) {
		(void)usleep(100000);
		gone = !container_running(first, NULL);
	}
	ck_assert_msg(gone, "the aged pool container is still there");
	ck_assert_msg(wait_ready(POOL, 30000), "the pool was not refilled");
}
END_TEST

static Suite *
pool_suite(void)
{
	Suite *s = suite_create("pool");
	TCase *tc = tcase_create("pool"), *ag = tcase_create("aged");

	tcase_add_unchecked_fixture(tc, pool_setup, teardown);
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, test_claim_and_refill);
	tcase_add_test(tc, test_racing_creates);
	tcase_add_test(tc, test_eviction);
	tcase_add_test(tc, test_kill_during_refill);
	suite_add_tcase(s, tc);
	tcase_add_unchecked_fixture(ag, aged_setup, teardown);
	tcase_set_timeout(ag, 120);
	tcase_add_test(ag, test_aged_replaced);
	suite_add_tcase(s, ag);
	return s;
}

int
main(void)
{
	stack_global_init();
	return util_run(pool_suite());
}

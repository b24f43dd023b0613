/*
 * check_fault.c: the fault suite on the real stack (nothing mocked).
 * toolkata-api SIGKILLed in the middle of creates; the state file locked by
 * another process for 20 s, on a full disk (a tmpfs made here), and on a
 * file system that turns read-only under it (an ext4 loop image made here,
 * failed with trigger_fs_error as errors=remount-ro would).  After each: no
 * container without a live session once the reaper has run, no concurrent
 * or hourly slot leaked, a JSON 503 with Retry-After while the store is
 * down, /health saying "degraded" and why, and recovery without a hand on
 * the state file.  Needs root (mount, losetup).
 */
#include "compat.h"

#include <pthread.h>
#include <sys/mount.h>

#include <sqlite3.h>

#include "clock.h"
#include "log.h"
#include "stack.h"
#include "util.h"

#define KEY "test-key-123"

static struct stack st;
static const char *const key_hdrs[] = { "X-API-Key: " KEY, NULL };
static const char create_body[] = "{\"toolPair\":\"jj-git\"}";
static char mnt[80];		/* the mount a store test made, or "" */
static char img[80];		/* its loop image, or "" */

static void
fault_env(struct stack *s)
{
	stack_setenv(s, "SANDBOX_API_KEY", KEY);
	stack_setenv(s, "MAX_SESSIONS_PER_HOUR", "3");
	stack_setenv(s, "MAX_CONCURRENT_PER_IP", "2");
	stack_setenv(s, "CIRCUIT_MAX_CONTAINERS", "50");
	stack_setenv(s, "CIRCUIT_MAX_MEMORY_PERCENT", "100");
	stack_setenv(s, "SANDBOX_REAP_INTERVAL", "1");
}

static void
fault_setup(void)
{
	stack_init(&st, "fault");
	fault_env(&st);
	stack_up(&st);
}

static int
run(const char *cmd)
{
	int rc = system(cmd);

	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* Put the stack's state file under mnt (already mounted). */
static void
state_under_mount(void)
{
	(void)snprintf(st.state, sizeof(st.state), "%s/state.db", mnt);
	stack_setenv(&st, "SANDBOX_STATE_FILE", st.state);
}

static void
full_setup(void)
{
	char cmd[512];

	stack_init(&st, "full");
	fault_env(&st);
	(void)snprintf(mnt, sizeof(mnt), "%s/mnt", st.dir);
	ck_assert_int_eq(mkdir(mnt, 0755), 0);
	(void)snprintf(cmd, sizeof(cmd), "mount -t tmpfs -o size=2m tmpfs %s",
	    mnt);
	ck_assert_int_eq(run(cmd), 0);
	state_under_mount();
	stack_up(&st);
}

static void
ro_setup(void)
{
	char cmd[512];

	stack_init(&st, "ro");
	fault_env(&st);
	(void)snprintf(mnt, sizeof(mnt), "%s/mnt", st.dir);
	(void)snprintf(img, sizeof(img), "%s.img", st.dir);
	ck_assert_int_eq(mkdir(mnt, 0755), 0);
	(void)snprintf(cmd, sizeof(cmd), "truncate -s 16M %s && mkfs.ext4 -q "
	    "-F %s && mount -o loop,errors=remount-ro %s %s", img, img, img,
	    mnt);
	ck_assert_int_eq(run(cmd), 0);
	state_under_mount();
	stack_up(&st);
}

static void
teardown(void)
{
	char cmd[512];

	stack_stop_one(&st, "caddy");
	stack_stop_one(&st, "websocketd");
	stack_stop_one(&st, "api");
	if (mnt[0] != '\0') {
		(void)snprintf(cmd, sizeof(cmd), "umount %s", mnt);
		(void)run(cmd);
		mnt[0] = '\0';
	}
	if (img[0] != '\0') {
		(void)unlink(img);
		img[0] = '\0';
	}
	stack_down(&st);
}

/* ---- helpers ------------------------------------------------------------ */

static long
create(const char *src, char *id)
{
	struct http_resp r;
	long status;
	json_t *j;

	stack_http(&st, "POST", "/api/v1/sessions", src, key_hdrs, create_body,
	    &r);
	status = r.status;
	if (id != NULL && status == 201) {
		j = resp_json(&r);
		(void)snprintf(id, ID_SIZE, "%s", jstr(j, "sessionId"));
		json_decref(j);
	}
	http_resp_free(&r);
	return status;
}

static long
session_req(const char *method, const char *id, struct http_resp *r)
{
	char path[128];

	(void)snprintf(path, sizeof(path), "/api/v1/sessions/%s", id);
	stack_http(&st, method, path, NULL, key_hdrs, NULL, r);
	return r->status;
}

/* A 503 with a JSON error and a Retry-After header, or 200. */
static void
expect_503_or_ok(struct http_resp *r, const char *what)
{
	char ra[16];
	json_t *j;

	if (r->status == 200)
		return;
	ck_assert_msg(r->status == 503, "%s: %ld %s", what, r->status, r->body);
	ck_assert_msg(resp_header(r, "Retry-After", ra, sizeof(ra)) &&
	    strtol(ra, NULL, 10) > 0, "%s: 503 without Retry-After", what);
	j = resp_json(r);
	ck_assert_str_eq(jstr(j, "error"), "ServiceUnavailable");
	ck_assert_int_gt(jint(j, "retryAfter"), 0);
	json_decref(j);
}

/* /health's "status"; its "degraded" list copied into why. */
static void
health(char *status, size_t ssz, char *why, size_t wsz)
{
	struct http_resp r;
	json_t *j, *d;

	stack_http(&st, "GET", "/health", NULL, NULL, NULL, &r);
	ck_assert_int_eq(r.status, 200);
	j = resp_json(&r);
	(void)snprintf(status, ssz, "%s", jstr(j, "status"));
	d = json_array_get(json_object_get(j, "degraded"), 0);
	(void)snprintf(why, wsz, "%s", json_is_string(d) ?
	    json_string_value(d) : "");
	json_decref(j);
	http_resp_free(&r);
}

static bool
wait_health_ok(int ms)
{
	char status[32], why[256];

	for (int i = 0; i < ms / 200; i++) {
		health(status, sizeof(status), why, sizeof(why));
		if (strcmp(status, "ok") == 0)
			return true;
		(void)usleep(200000);
	}
	return false;
}

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

/* After the fault: the reaper leaves no container without a live row, the
 * session DELETEd meanwhile is gone, and src's slots are whole again. */
static void
expect_recovered(const char *deleted, const char *src)
{
	struct http_resp r;
	char id[ID_SIZE];

	ck_assert_msg(wait_health_ok(15000), "/health not ok after recovery");
	for (int i = 0; i < 100 && session_req("GET", deleted, &r) == 200; i++) {
		http_resp_free(&r);
		(void)usleep(100000);
	}
	ck_assert_msg(r.status == 404, "deleted session still %ld", r.status);
	http_resp_free(&r);
	ck_assert(wait_containers(0, 10000));
	ck_assert_int_eq(stack_db_int(&st, "SELECT count(*) FROM sessions "
	    "WHERE state<>2",
	    NULL), 0);
	ck_assert_int_eq(stack_db_int(&st, "SELECT count(*) FROM history WHERE "
	    "client_ip=?1", src), 0);
	ck_assert_int_eq(create(src, id), 201);
	ck_assert_int_eq(session_req("DELETE", id, &r), 200);
	http_resp_free(&r);
}

/* During the fault: DELETE removes the container whatever it answers,
 * creates get 503 + Retry-After, /health says degraded and why. */
static void
expect_degraded(const char *id, const char *src, const char *why_part)
{
	char status[32], why[256];
	struct http_resp r;
	double t0 = clock_mono(), t1;

	(void)session_req("DELETE", id, &r);
	t1 = clock_mono();
	expect_503_or_ok(&r, "DELETE");
	(void)fprintf(stderr, "fault: DELETE with a failing store: %ld in "
	    "%.3f s\n", r.status, t1 - t0);
	http_resp_free(&r);
	ck_assert_msg(stack_ncontainers(&st) == 0,
	    "DELETE left the container running");
	for (int i = 0; i < 3; i++) {
		stack_http(&st, "POST", "/api/v1/sessions", src, key_hdrs,
		    create_body, &r);
		ck_assert_msg(r.status == 503, "create: %ld", r.status);
		expect_503_or_ok(&r, "create");
		http_resp_free(&r);
	}
	t0 = clock_mono();
	health(status, sizeof(status), why, sizeof(why));
	(void)fprintf(stderr, "fault: /health %.3f s: %s: %s\n",
	    clock_mono() - t0, status, why);
	ck_assert_str_eq(status, "degraded");
	ck_assert_msg(strstr(why, why_part) != NULL, "degraded: '%s'", why);
}

/* ---- the state file locked for 20 s ------------------------------------ */

struct burst {
	const char *src;
	long status[6];
};

static void *
burst_creates(void *arg)
{
	struct burst *b = arg;
	char url[128];

	(void)snprintf(url, sizeof(url), "%s/api/v1/sessions", st.base);
	for (int i = 0; i < 6; i++) {
		struct http_resp r;

		b->status[i] = http_do("POST", url, NULL, b->src, key_hdrs,
		    create_body, &r) == CURLE_OK ? r.status : -1;
		http_resp_free(&r);
	}
	return NULL;
}

START_TEST(test_store_locked_20s)
{
	const char *src = "127.0.0.51", *src2 = "127.0.0.52";
	struct burst b[4] = { { src2, { 0 } }, { src2, { 0 } }, { src2, { 0 } },
		{ src2, { 0 } } };
	pthread_t t[4];
	char id[ID_SIZE];
	sqlite3 *db = NULL;
	double t0;

	ck_assert_int_eq(create(src, id), 201);
	ck_assert_int_eq(sqlite3_open(st.state, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "BEGIN EXCLUSIVE", NULL, NULL, NULL),
	    SQLITE_OK);
	t0 = clock_mono();
	/* Every worker busy with a create on the locked store, and /health
	 * and the DELETE still answered. */
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, burst_creates,
		    &b[i]), 0);
	expect_degraded(id, src2, "locked");
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(pthread_join(t[i], NULL), 0);
		for (int k = 0; k < 6; k++)
			ck_assert_msg(b[i].status[k] == 503, "create under the "
			    "lock: %ld", b[i].status[k]);
	}
	while (clock_mono() - t0 < 20.0)
		(void)usleep(100000);
	(void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(db);
	expect_recovered(id, src2);
}
END_TEST

/* ---- SIGKILL in the middle of creates ----------------------------------- */

START_TEST(test_sigkill_mid_create_rounds)
{
	const char *src = "127.0.0.53";

	for (int round = 0; round < 3; round++) {
		pid_t client, api = stack_pid(&st, "api");
		int status, i;

		ck_assert_int_gt(api, 0);
		client = fork();
		ck_assert_int_ge(client, 0);
		if (client == 0)
			_exit(create(src, NULL) == 201 ? 0 : 1);
		for (i = 0; i < 5000 && stack_ncontainers(&st) == 0; i++)
			(void)usleep(2000);
		ck_assert_msg(stack_ncontainers(&st) == 1, "round %d: create "
		    "never reached docker", round);
		ck_assert_int_eq(kill(api, SIGKILL), 0);
		ck_assert_int_eq(waitpid(client, &status, 0), client);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 1,
		    "round %d: a 201 from a killed daemon", round);
		for (i = 0; i < 100 && stack_alive(api); i++)
			(void)usleep(20000);
		stack_start_api(&st);
		ck_assert(stack_wait_http(&st, "/health", 15000));
		/* The reconcile pass ran before the first request. */
		ck_assert_msg(stack_ncontainers(&st) == 0, "round %d: the "
		    "half-made container is still there", round);
		ck_assert_int_eq(stack_db_int(&st, "SELECT count(*) FROM sessions WHERE "
		    "state<>2", NULL), 0);
		/* Issue 8: each crash cost an hourly slot. */
		ck_assert_msg(stack_db_int(&st, "SELECT count(*) FROM history WHERE "
		    "client_ip=?1", src) == 0, "round %d: the crashed create "
		    "kept its hourly slot", round);
	}
	/* Hourly limit 3, three crashed creates: all three still there. */
	for (int i = 0; i < 2; i++) {
		char id[ID_SIZE];
		struct http_resp r;

		ck_assert_int_eq(create(src, id), 201);
		ck_assert_int_eq(session_req("DELETE", id, &r), 200);
		http_resp_free(&r);
	}
}
END_TEST

/* ---- a full disk ---------------------------------------------------------- */

/* Fill mnt with a file until ENOSPC; returns its path (static). */
static const char *
fill_disk(void)
{
	static char path[96];
	static char block[65536];
	int fd;

	(void)snprintf(path, sizeof(path), "%s/filler", mnt);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	memset(block, 'x', sizeof(block));
	while (write(fd, block, sizeof(block)) > 0)
		;
	while (write(fd, block, 1) > 0)
		;
	ck_assert_int_eq(errno, ENOSPC);
	(void)close(fd);
	return path;
}

START_TEST(test_store_disk_full)
{
	const char *src = "127.0.0.54", *filler;
	char id[ID_SIZE];

	ck_assert_int_eq(create(src, id), 201);
	filler = fill_disk();
	expect_degraded(id, "127.0.0.55", "full");
	ck_assert_int_eq(unlink(filler), 0);
	expect_recovered(id, "127.0.0.55");
}
END_TEST

/* ---- a file system that turns read-only ----------------------------------- */

START_TEST(test_store_read_only)
{
	const char *src = "127.0.0.56";
	char id[ID_SIZE], cmd[512], dev[64] = "";
	FILE *fp;

	ck_assert_int_eq(create(src, id), 201);
	/* What ext4's errors=remount-ro does on an I/O error. */
	(void)snprintf(cmd, sizeof(cmd), "losetup -j %s | cut -d: -f1", img);
	fp = popen(cmd, "r");
	ck_assert_ptr_nonnull(fp);
	ck_assert_ptr_nonnull(fgets(dev, sizeof(dev), fp));
	(void)pclose(fp);
	dev[strcspn(dev, "\n")] = '\0';
	(void)snprintf(cmd, sizeof(cmd), "echo 1 >/sys/fs/ext4/%s/"
	    "trigger_fs_error", dev + strlen("/dev/"));
	ck_assert_int_eq(run(cmd), 0);
	expect_degraded(id, "127.0.0.57", "");
	/* Such a file system comes back only through umount and fsck, so
	 * toolkata-api must be stopped; its start-up pass reconciles. */
	stack_stop_one(&st, "api");
	(void)snprintf(cmd, sizeof(cmd), "umount %s && e2fsck -fy %s "
	    ">/dev/null 2>&1; mount -o loop,errors=remount-ro %s %s", mnt, img,
	    img, mnt);
	ck_assert_int_eq(run(cmd), 0);
	stack_start_api(&st);
	ck_assert(stack_wait_http(&st, "/health", 15000));
	expect_recovered(id, "127.0.0.57");
}
END_TEST

static Suite *
fault_suite(void)
{
	Suite *s = suite_create("fault");
	TCase *tc;

	tc = tcase_create("locked_and_killed");
	tcase_add_unchecked_fixture(tc, fault_setup, teardown);
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, test_store_locked_20s);
	tcase_add_test(tc, test_sigkill_mid_create_rounds);
	suite_add_tcase(s, tc);

	tc = tcase_create("disk_full");
	tcase_add_unchecked_fixture(tc, full_setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_store_disk_full);
	suite_add_tcase(s, tc);

	tc = tcase_create("read_only");
	tcase_add_unchecked_fixture(tc, ro_setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_store_read_only);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	stack_global_init();
	return util_run(fault_suite());
}

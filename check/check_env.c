/*
 * check_env.c: environments on the real stack (Caddy, toolkata-api,
 * websocketd, the relay, runsc containers).  Every configured environment
 * (bash, node, python) gets a session through POST /api/v1/sessions and
 * passes the conformance properties in its own shell, over the WebSocket:
 * uid 1000, read-only root, no network interface but lo, a writable tmpfs
 * home, no package manager or downloader, its tool working; and its
 * container, as dockerd made it, has the memory and PIDs limits, runsc,
 * no network, a read-only root and the toolkata.environment label.  Also:
 * GET /api/v1/environments, an unknown environment's 400, an environment
 * whose image is missing (left out in development, fatal in production),
 * and the warm pool kept per environment.
 *
 * Images: TOOLKATA_TEST_IMAGES (bash's, via the tool pair, see stack.h)
 * and TOOLKATA_TEST_ENVIRONMENTS (default SANDBOX_ENVIRONMENTS's default).
 */
#include "compat.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "stack.h"
#include "util.h"
#include "ws.h"

#define KEY "test-key-123"
#define ORIGIN "http://allowed.test"
#define ENVS_DEFAULT "bash,node=toolkata-env-node:latest," \
	"python=toolkata-env-python:latest"

static struct stack st;

static const char *const key_hdrs[] = { "X-API-Key: " KEY, NULL };
static const char *const create_hdrs[] = { "X-API-Key: " KEY,
	"Content-Type: application/json", NULL };

#include "term.h"

static const char *
test_envs(void)
{
	const char *e = getenv("TOOLKATA_TEST_ENVIRONMENTS");

	return e != NULL ? e : ENVS_DEFAULT;
}

static void
env_env(struct stack *s)
{
	stack_env_roomy(s, KEY, ORIGIN);
	stack_setenv(s, "CIRCUIT_MAX_CONTAINERS", "20");
	stack_setenv(s, "SANDBOX_ENVIRONMENTS", test_envs());
}

static void
env_setup(void)
{
	stack_init(&st, "env");
	env_env(&st);
	stack_up(&st);
}

/* node's image does not exist: development leaves node out. */
static void
missing_setup(void)
{
	stack_init(&st, "envmiss");
	env_env(&st);
	stack_setenv(&st, "SANDBOX_ENVIRONMENTS",
	    "bash,node=toolkata-env-node:no-such-tag");
	stack_up(&st);
}

/* A pool of one for node only. */
static void
pool_setup(void)
{
	stack_init(&st, "envpool");
	env_env(&st);
	stack_setenv(&st, "SANDBOX_POOL_SIZE", "1");
	stack_setenv(&st, "SANDBOX_POOL_ENVIRONMENTS", "node");
	stack_up(&st);
}

static void
teardown(void)
{
	stack_down(&st);
}

/* ---- helpers ------------------------------------------------------------- */

/* POST a session of environment env (NULL: no field); the reply. */
static void
create(const char *env, struct http_resp *r)
{
	char body[160];

	if (env != NULL)
		(void)snprintf(body, sizeof(body), "{\"toolPair\":\"jj-git\","
		    "\"environment\":\"%s\"}", env);
	else
		(void)snprintf(body, sizeof(body), "{\"toolPair\":\"jj-git\"}");
	stack_http(&st, "POST", "/api/v1/sessions", "127.0.0.1", create_hdrs,
	    body, r);
}

static void
create_ok(const char *env, char id[ID_SIZE])
{
	struct http_resp r;
	json_t *j;

	create(env, &r);
	ck_assert_msg(r.status == 201, "create %s: %ld %s", env != NULL ? env :
	    "(none)", r.status, r.body);
	j = resp_json(&r);
	(void)snprintf(id, ID_SIZE, "%s", jstr(j, "sessionId"));
	json_decref(j);
	http_resp_free(&r);
}

/* The container of session id as dockerd describes it (caller decrefs). */
static json_t *
inspect_session(const char *id)
{
	char cid[65], path[128];
	long status;
	json_t *j;

	stack_session_container(&st, id, cid);
	ck_assert_str_ne(cid, "");
	(void)snprintf(path, sizeof(path), "/containers/%s/json", cid);
	j = engine_get(path, &status);
	ck_assert_int_eq(status, 200);
	return j;
}

/* The environments GET /api/v1/environments offers, as "a,b,c". */
static void
env_names(char *out, size_t sz)
{
	struct http_resp r;
	json_t *j, *e;
	size_t i, len = 0;

	stack_http(&st, "GET", "/api/v1/environments", "127.0.0.1", NULL, NULL,
	    &r);
	ck_assert_int_eq(r.status, 200);
	j = resp_json(&r);
	out[0] = '\0';
	json_array_foreach(json_object_get(j, "environments"), i, e) {
		int n = snprintf(out + len, sz - len, "%s%s", len > 0 ? "," : "",
		    jstr(e, "name"));

		ck_assert(n > 0 && (size_t)n < sz - len);
		len += (size_t)n;
	}
	json_decref(j);
	http_resp_free(&r);
}

/* ---- conformance --------------------------------------------------------- */

static const struct {
	const char *env;
	const char *tool_cmd;	/* proves the environment's tool works */
	const char *tool_out;
} conform[] = {
	{ "bash", "git --version", "git version 2." },
	{ "node", "node -e 'console.log(\"N\" + 6 * 7)'", "N42" },
	{ "python", "python3 -c 'print(\"P\" + str(6 * 7))'", "P42" },
};

/* The HostConfig dockerd holds for the session's container. */
static void
conform_container(const char *id, const char *env)
{
	json_t *j = inspect_session(id);
	json_t *hc = json_object_get(j, "HostConfig");
	json_t *labels = json_object_get(json_object_get(j, "Config"),
	    "Labels");

	ck_assert_str_eq(jstr(labels, "toolkata.environment"), env);
	ck_assert_str_eq(jstr(labels, "toolkata.tool-pair"), "jj-git");
	/* A claimed pool container keeps its toolkata.pool label. */
	ck_assert(json_is_string(json_object_get(labels, "toolkata.session")) ||
	    json_is_string(json_object_get(labels, "toolkata.pool")));
	ck_assert(jint(hc, "Memory") > 0);
	ck_assert(jint(hc, "MemorySwap") == jint(hc, "Memory"));
	ck_assert(jint(hc, "PidsLimit") > 0);
	ck_assert(jint(hc, "CpuQuota") > 0);
	ck_assert_str_eq(jstr(hc, "NetworkMode"), "none");
	ck_assert(json_is_true(json_object_get(hc, "ReadonlyRootfs")));
	ck_assert_str_eq(jstr(hc, "Runtime"), "runsc");
	if (strcmp(env, "bash") != 0)
		ck_assert_ptr_nonnull(strstr(jstr(json_object_get(j, "Config"),
		    "Image"), env));
	json_decref(j);
}

START_TEST(test_conformance)
{
	const char *env = conform[_i].env;
	struct http_resp r;
	char id[ID_SIZE], path[96];
	struct term t;
	json_t *j;

	create_ok(env, id);
	conform_container(id, env);
	(void)snprintf(path, sizeof(path), "/api/v1/sessions/%s", id);
	stack_http(&st, "GET", path, "127.0.0.1", key_hdrs, NULL, &r);
	ck_assert_int_eq(r.status, 200);
	j = resp_json(&r);
	ck_assert_str_eq(jstr(j, "environment"), env);
	json_decref(j);
	http_resp_free(&r);

	term_ready(&t, id, "127.0.0.1", NULL);
	term_run(&t, "echo U$(id -u):$(id -un)X", "U1000:sandboxX");
	term_run(&t, "touch /probe 2>/dev/null || echo R''O-OK", "RO-OK");
	term_run(&t, "echo N$(awk -F: 'NR>2{print $1}' /proc/net/dev | "
	    "tr -d ' ' | tr '\\n' ,)X", "Nlo,X");
	term_run(&t, "echo ok > ~/w && echo W$(cat ~/w)$(stat -f -c %T ~)X",
	    "WoktmpfsX");
	term_run(&t, "echo P$(for c in apt apt-get dpkg pip pip3 npm npx curl "
	    "wget perl sudo su; do command -v $c; done | wc -l)X", "P0X");
	term_run(&t, conform[_i].tool_cmd, conform[_i].tool_out);
	term_run(&t, "git --version", "git version 2.");
	if (strcmp(env, "node") == 0)	/* a heap bomb dies alone */
		term_run(&t, "node -e 'a=[];for(;;)a.push(new Array(1e6)"
		    ".fill(1))' 2>&1 | grep -c 'heap limit'; echo A$((6*7))X",
		    "A42X");
	term_free(&t);
}
END_TEST

/* ---- the registry over HTTP ---------------------------------------------- */

START_TEST(test_list)
{
	struct http_resp r;
	char names[128];
	json_t *j, *e;
	size_t i;

	env_names(names, sizeof(names));
	ck_assert_str_eq(names, "bash,node,python");
	/* No key needed, like /api/v1/status. */
	stack_http(&st, "GET", "/api/v1/environments", "127.0.0.1", NULL, NULL,
	    &r);
	ck_assert_int_eq(r.status, 200);
	j = resp_json(&r);
	json_array_foreach(json_object_get(j, "environments"), i, e) {
		ck_assert_uint_eq(json_object_size(e), 4);
		ck_assert_ptr_nonnull(jstr(e, "description"));
		ck_assert(strcmp(jstr(e, "category"), "shell") == 0 ||
		    strcmp(jstr(e, "category"), "runtime") == 0);
		ck_assert(jint(e, "defaultTimeout") >= 60000);
	}
	json_decref(j);
	http_resp_free(&r);
}
END_TEST

static const char *const bad_envs[] = { "scala", "Node", "", "bash ",
	"node\\u0000" };

START_TEST(test_unknown_400)
{
	size_t before = stack_ncontainers(&st);
	struct http_resp r;
	json_t *j;

	create(bad_envs[_i], &r);
	ck_assert_int_eq(r.status, 400);
	j = resp_json(&r);
	ck_assert_str_eq(jstr(j, "error"), "BadRequest");
	ck_assert_ptr_nonnull(jstr(j, "message"));
	json_decref(j);
	http_resp_free(&r);
	ck_assert_uint_eq(stack_ncontainers(&st), before);
}
END_TEST

/* No field: bash, in the tool pair's image. */
START_TEST(test_default_bash)
{
	char id[ID_SIZE];
	json_t *j;

	create_ok(NULL, id);
	j = inspect_session(id);
	ck_assert_str_eq(jstr(json_object_get(json_object_get(j, "Config"),
	    "Labels"), "toolkata.environment"), "bash");
	json_decref(j);
	ck_assert_int_eq(stack_db_int(&st, "SELECT count(*) FROM sessions "
	    "WHERE id=?1 AND environment='bash'", id), 1);
}
END_TEST

/* ---- a missing image ----------------------------------------------------- */

START_TEST(test_missing_dev)
{
	struct http_resp r;
	char names[128], log[300];

	env_names(names, sizeof(names));
	ck_assert_str_eq(names, "bash");
	create("node", &r);
	ck_assert_int_eq(r.status, 400);
	http_resp_free(&r);
	(void)snprintf(log, sizeof(log), "%s/api.log", st.dir);
	ck_assert(file_contains(log, "of environment node is missing"));
}
END_TEST

/* Production refuses to start (here as CGI, which checks in production). */
START_TEST(test_missing_production)
{
	static const char *const extra[] = { "SANDBOX_ENV=production",
		"SANDBOX_ENVIRONMENTS=bash,node=toolkata-env-node:no-such-tag",
		"REQUEST_METHOD=GET", "PATH_INFO=/health", NULL };
	const char *env[STACK_ENV_MAX + 8];
	static const char *const argv[] = { "bin/toolkata-api", NULL };
	char buf[4096];
	int err[2], status;
	size_t n = 0, got = 0;
	ssize_t k;
	pid_t pid;

	for (size_t i = 0; extra[i] != NULL; i++)
		env[n++] = extra[i];
	for (size_t i = 0; i < st.nenv; i++)
		if (strncmp(st.env[i], "SANDBOX_LISTEN=", 15) != 0)
			env[n++] = st.env[i];
	env[n] = NULL;
	ck_assert_int_eq(pipe(err), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		(void)dup2(null, 0);
		(void)dup2(null, 1);
		(void)dup2(err[1], 2);
		execve(argv[0], (char *const *)(uintptr_t)argv,
		    (char *const *)(uintptr_t)env);
		_exit(127);
	}
	(void)close(err[1]);
	while (got < sizeof(buf) - 1 &&
	    (k = read(err[0], buf + got, sizeof(buf) - 1 - got)) > 0)
		got += (size_t)k;
	buf[got] = '\0';
	(void)close(err[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) != 0);
	ck_assert_msg(strstr(buf, "SANDBOX_ENVIRONMENTS: image "
	    "'toolkata-env-node:no-such-tag' of environment node is missing") !=
	    NULL, "stderr: %s", buf);
}
END_TEST

/* ---- the warm pool, per environment -------------------------------------- */

/* Wait for a ready pool container of env; its id in cid. */
static bool
pool_ready(const char *env, char cid[65], int ms)
{
	for (int i = 0; i < ms / 100; i++) {
		sqlite3 *db = NULL;
		sqlite3_stmt *q = NULL;
		bool ok = false;

		ck_assert_int_eq(sqlite3_open(st.state, &db), SQLITE_OK);
		sqlite3_busy_timeout(db, 5000);
		if (sqlite3_prepare_v2(db, "SELECT container_id FROM pool WHERE "
		    "state=1 AND environment=?1", -1, &q, NULL) == SQLITE_OK &&
		    sqlite3_bind_text(q, 1, env, -1, SQLITE_STATIC) ==
		    SQLITE_OK && sqlite3_step(q) == SQLITE_ROW) {
			(void)snprintf(cid, 65, "%s",
			    (const char *)sqlite3_column_text(q, 0));
			ok = true;
		}
		sqlite3_finalize(q);
		sqlite3_close(db);
		if (ok)
			return true;
		(void)usleep(100 * 1000);
	}
	return false;
}

START_TEST(test_pool_per_environment)
{
	char pooled[65], cid[65], id[ID_SIZE];

	ck_assert_msg(pool_ready("node", pooled, 60000), "no node pool "
	    "container; see %s/api.log", st.dir);
	/* Only node is pooled (SANDBOX_POOL_ENVIRONMENTS). */
	ck_assert_int_eq(stack_db_int(&st, "SELECT count(*) FROM pool WHERE "
	    "environment<>?1", "node"), 0);
	/* bash gets a container of its own, node the pooled one. */
	create_ok("bash", id);
	stack_session_container(&st, id, cid);
	ck_assert_str_ne(cid, pooled);
	create_ok("node", id);
	stack_session_container(&st, id, cid);
	ck_assert_str_eq(cid, pooled);
	conform_container(id, "node");
}
END_TEST

static Suite *
env_suite(void)
{
	Suite *s = suite_create("env");
	TCase *tc;

	tc = tcase_create("environments");
	tcase_set_timeout(tc, 180);
	tcase_add_unchecked_fixture(tc, env_setup, teardown);
	tcase_add_loop_test(tc, test_conformance, 0, (int)nitems(conform));
	tcase_add_test(tc, test_list);
	tcase_add_loop_test(tc, test_unknown_400, 0, (int)nitems(bad_envs));
	tcase_add_test(tc, test_default_bash);
	suite_add_tcase(s, tc);

	tc = tcase_create("missing");
	tcase_set_timeout(tc, 60);
	tcase_add_unchecked_fixture(tc, missing_setup, teardown);
	tcase_add_test(tc, test_missing_dev);
	tcase_add_test(tc, test_missing_production);
	suite_add_tcase(s, tc);

	tc = tcase_create("pool");
	tcase_set_timeout(tc, 180);
	tcase_add_unchecked_fixture(tc, pool_setup, teardown);
	tcase_add_test(tc, test_pool_per_environment);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	stack_global_init();
	return util_run(env_suite());
}

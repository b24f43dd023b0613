/*
 * check_engine.c: the Docker Engine API client (lib/engine.c), mostly on a
 * replay transport that checks method and path, records the request body
 * and answers from check/fixtures/ or injects failures; a few tests drive
 * the curl transport against a missing socket and a one-shot fake engine.
 */
#include "compat.h"

#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "clock.h"
#include "ehttp.h"
#include "engine.h"
#include "log.h"
#include "metrics.h"
#include "util.h"

#define SID "sess_0123456789abcdef0123456789abcdef"
#define CID1 "4f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"
#define CID2 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define CID3 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define CID4 "1123456789abcdef1123456789abcdef1123456789abcdef1123456789abcdef"
#define TIMEOUT_MS 30000L
#define A64 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

/* ---- the replay transport ------------------------------------------ */

struct step {
	const char *method;
	const char *path;	/* exact, without ENGINE_API */
	long status;
	const char *fixture;	/* file in check/fixtures, or NULL */
	const char *body;	/* literal reply when fixture is NULL */
	enum err err;		/* what the transport returns */
	size_t cut;		/* > 0: deliver only this many bytes */
};

struct replay {
	struct step step[8];
	size_t nstep, next;
	char *body;		/* copy of the last request body */
	bool had_body;
	long timeout_ms;
	size_t cap;
	int freed;
};

static char fixdir[PATH_MAX];

/* check/fixtures next to the test binary, wherever it is run from. */
static void
find_fixtures(void)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	ck_assert_int_gt(n, 0);
	exe[n] = '\0';
	(void)snprintf(fixdir, sizeof(fixdir), "%s/fixtures", dirname(exe));
}

static char *
fixture(const char *name, size_t *lenp)
{
	char p[PATH_MAX + 64];
	char *buf = xmalloc(ENGINE_REPLY_MAX);
	ssize_t n;
	size_t len = 0;
	int fd;

	(void)snprintf(p, sizeof(p), "%s/%s", fixdir, name);
	fd = open(p, O_RDONLY);
	ck_assert_msg(fd >= 0, "fixture %s", p);
	while ((n = read(fd, buf + len, ENGINE_REPLY_MAX - 1 - len)) > 0)
		len += (size_t)n;
	(void)close(fd);
	buf[len] = '\0';
	*lenp = len;
	return buf;
}

static enum err
replay_call(void *ctx, const char *method, const char *path, const char *body,
    long timeout_ms, long *status, char *reply, size_t cap, size_t *len)
{
	struct replay *rp = ctx;
	const struct step *s;
	char *text = NULL;
	const char *src;
	size_t n;

	ck_assert_msg(rp->next < rp->nstep, "unexpected call %s %s", method,
	    path);
	s = &rp->step[rp->next++];
	ck_assert_str_eq(method, s->method);
	ck_assert_str_eq(path, s->path);
	free(rp->body);
	rp->body = body != NULL ? xstrdup(body) : NULL;
	rp->had_body = body != NULL;
	rp->timeout_ms = timeout_ms;
	rp->cap = cap;
	*len = 0;
	reply[0] = '\0';
	if (s->err != ERR_OK)
		return s->err;
	if (s->fixture != NULL) {
		text = fixture(s->fixture, &n);
		src = text;
	} else {
		src = s->body != NULL ? s->body : "";
		n = strlen(src);
	}
	if (s->cut > 0 && s->cut < n)
		n = s->cut;
	ck_assert_uint_lt(n, cap);
	memcpy(reply, src, n);
	reply[n] = '\0';
	*len = n;
	*status = s->status;
	free(text);
	return ERR_OK;
}

static void
replay_free(void *ctx)
{
	struct replay *rp = ctx;

	rp->freed++;
	free(rp->body);
	rp->body = NULL;
}

static struct engine *
replay_engine(struct replay *rp)
{
	struct engine_transport t = { replay_call, replay_free, rp };

	return engine_new_transport(&t, TIMEOUT_MS);
}

static void
expect(struct replay *rp, const char *method, const char *path, long status,
    const char *fix, const char *body)
{
	struct step *s;

	ck_assert_uint_lt(rp->nstep, nitems(rp->step));
	s = &rp->step[rp->nstep++];
	memset(s, 0, sizeof(*s));
	s->method = method;
	s->path = path;
	s->status = status;
	s->fixture = fix;
	s->body = body;
}

static void
expect_err(struct replay *rp, const char *method, const char *path,
    enum err e)
{
	expect(rp, method, path, 0, NULL, NULL);
	rp->step[rp->nstep - 1].err = e;
}

static void
setup(void)
{
	int devnull = open("/dev/null", O_WRONLY);

	find_fixtures();
	/* The engine logs every unexpected status; keep the output clean. */
	if (devnull >= 0) {
		(void)dup2(devnull, STDERR_FILENO);
		(void)close(devnull);
	}
}

static void
spec_init(struct engine_spec *s)
{
	memset(s, 0, sizeof(*s));
	s->image = "toolkata-sandbox:latest";
	s->session_id = SID;
	s->tool_pair = "jj-git";
	s->instance = "default";
	s->expires_at = "2026-01-23T18:30:00.000Z";
	s->lifetime_s = 1800;
	s->memory_mb = 128;
	s->cpu_percent = 50;
	s->pids_limit = 256;
	s->home_mb = 50;
	s->tmp_mb = 10;
	s->nofile = 64;
	s->nproc = 48;
	s->runtime = "runsc";
}

#define CREATE_PATH "/containers/create?name=toolkata-" SID

/* ---- create -------------------------------------------------------- */

START_TEST(test_create_body)
{
	struct replay rp;
	struct engine_spec spec;
	struct engine *e;
	char id[ENGINE_ID_SIZE];
	json_t *j, *hc, *env, *labels, *tmpfs, *ul;
	json_error_t jerr;
	bool lifetime = false;
	size_t i;

	memset(&rp, 0, sizeof(rp));
	expect(&rp, "POST", CREATE_PATH, 201, "create_201.json", NULL);
	e = replay_engine(&rp);
	spec_init(&spec);
	ck_assert_int_eq(engine_create(e, &spec, id), ERR_OK);
	ck_assert_str_eq(id, CID1);
	ck_assert_uint_eq(rp.next, 1);
	ck_assert(rp.had_body);
	ck_assert_int_eq(rp.timeout_ms, TIMEOUT_MS);
	ck_assert_uint_eq(rp.cap, ENGINE_REPLY_MAX + 1);

	j = json_loads(rp.body, 0, &jerr);
	ck_assert_msg(j != NULL, "body: %s", jerr.text);
	ck_assert_str_eq(jstr(j, "Image"), "toolkata-sandbox:latest");
	env = json_object_get(j, "Env");
	ck_assert(json_is_array(env));
	for (i = 0; i < json_array_size(env); i++) {
		const char *kv = json_string_value(json_array_get(env, i));

		ck_assert_ptr_nonnull(kv);
		lifetime |= strcmp(kv, "TOOLKATA_LIFETIME=1800") == 0;
	}
	ck_assert_msg(lifetime, "no TOOLKATA_LIFETIME=1800 in Env");
	labels = json_object_get(j, "Labels");
	ck_assert_str_eq(jstr(labels, "toolkata.session"), SID);
	ck_assert_str_eq(jstr(labels, "toolkata.tool-pair"), "jj-git");
	ck_assert_str_eq(jstr(labels, "toolkata.expires-at"),
	    "2026-01-23T18:30:00.000Z");
	ck_assert_str_eq(jstr(labels, "toolkata.instance"), "default");

	hc = json_object_get(j, "HostConfig");
	ck_assert(json_is_object(hc));
	ck_assert_str_eq(jstr(hc, "NetworkMode"), "none");
	ck_assert(json_is_true(json_object_get(hc, "ReadonlyRootfs")));
	tmpfs = json_object_get(hc, "Tmpfs");
	ck_assert_uint_eq(json_object_size(tmpfs), 2);
	ck_assert_ptr_nonnull(strstr(jstr(tmpfs, "/home/toolkata"),
	    "size=50m"));
	ck_assert_ptr_nonnull(strstr(jstr(tmpfs, "/home/toolkata"),
	    "uid=1000"));
	ck_assert_ptr_nonnull(strstr(jstr(tmpfs, "/home/toolkata"),
	    "nosuid"));
	ck_assert_ptr_nonnull(strstr(jstr(tmpfs, "/tmp"), "size=10m"));
	ck_assert_ptr_nonnull(strstr(jstr(tmpfs, "/tmp"), "nosuid"));
	ck_assert(jint(hc, "Memory") == 128LL * 1024 * 1024);
	ck_assert(jint(hc, "MemorySwap") == 128LL * 1024 * 1024);
	ck_assert(jint(hc, "CpuQuota") == 50000);
	ck_assert(jint(hc, "CpuPeriod") == 100000);
	ck_assert(jint(hc, "PidsLimit") == 256);
	ck_assert_uint_eq(json_array_size(json_object_get(hc, "CapDrop")), 1);
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(hc,
	    "CapDrop"), 0)), "ALL");
	ck_assert_ptr_null(json_object_get(hc, "CapAdd"));
	ck_assert(!json_is_true(json_object_get(hc, "Privileged")));
	ck_assert_uint_eq(json_array_size(json_object_get(hc, "SecurityOpt")),
	    1);
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(hc,
	    "SecurityOpt"), 0)), "no-new-privileges");
	ul = json_array_get(json_object_get(hc, "Ulimits"), 0);
	ck_assert_str_eq(jstr(ul, "Name"), "nofile");
	ck_assert(jint(ul, "Soft") == 64);
	ck_assert(jint(ul, "Hard") == 64);
	ul = json_array_get(json_object_get(hc, "Ulimits"), 1);
	ck_assert_str_eq(jstr(ul, "Name"), "nproc");
	ck_assert(jint(ul, "Soft") == 48);
	ck_assert(jint(ul, "Hard") == 48);
	/* The session's shell is PID 1's, on a TTY that /attach reaches. */
	ck_assert(json_is_true(json_object_get(j, "Tty")));
	ck_assert(json_is_true(json_object_get(j, "OpenStdin")));
	ck_assert(json_is_false(json_object_get(j, "StdinOnce")));
	ck_assert_ptr_null(json_object_get(labels, "toolkata.pool"));
	ck_assert_str_eq(jstr(hc, "Runtime"), "runsc");
	ck_assert_ptr_null(json_object_get(hc, "Binds"));
	ck_assert_ptr_null(json_object_get(hc, "PortBindings"));
	json_decref(j);
	engine_free(e);
	ck_assert_int_eq(rp.freed, 1);
}
END_TEST


/* A pool container: label toolkata.pool (not session), its own name. */
START_TEST(test_create_pooled)
{
	struct replay rp;
	struct engine_spec spec;
	struct engine *e;
	char id[ENGINE_ID_SIZE];
	json_t *j, *labels;

	memset(&rp, 0, sizeof(rp));
	expect(&rp, "POST", "/containers/create?name=toolkata-pool-"
	    "0123456789abcdef0123456789abcdef", 201, "create_201.json", NULL);
	e = replay_engine(&rp);
	spec_init(&spec);
	spec.session_id = "sess_0123456789abcdef0123456789abcdef";
	spec.pooled = true;
	ck_assert_int_eq(engine_create(e, &spec, id), ERR_OK);
	j = json_loads(rp.body, 0, NULL);
	ck_assert_ptr_nonnull(j);
	labels = json_object_get(j, "Labels");
	ck_assert_str_eq(jstr(labels, "toolkata.pool"), spec.session_id);
	ck_assert_ptr_null(json_object_get(labels, "toolkata.session"));
	json_decref(j);
	engine_free(e);
}
END_TEST

/* What a relay tells its client: running, OOMKilled, exit code. */
START_TEST(test_state)
{
	static const struct {
		const char *body;
		bool running, oom;
		int code;
		const char *status;
	} cases[] = {
		{ "{\"State\":{\"Status\":\"running\",\"Running\":true,"
		    "\"OOMKilled\":false,\"ExitCode\":0}}", true, false, 0,
		    "running" },
		{ "{\"State\":{\"Status\":\"exited\",\"Running\":false,"
		    "\"OOMKilled\":true,\"ExitCode\":137}}", false, true, 137,
		    "exited" },
		{ "{\"State\":{}}", false, false, 0, "" },
		{ "{}", false, false, 0, "" },
	};
	struct engine_state st;

	for (size_t i = 0; i < nitems(cases); i++) {
		struct replay rp;
		struct engine *e;

		memset(&rp, 0, sizeof(rp));
		expect(&rp, "GET", "/containers/" CID1 "/json", 200, NULL,
		    cases[i].body);
		e = replay_engine(&rp);
		ck_assert_int_eq(engine_state(e, CID1, &st), ERR_OK);
		ck_assert_int_eq(st.running, cases[i].running);
		ck_assert_int_eq(st.oom_killed, cases[i].oom);
		ck_assert_int_eq(st.exit_code, cases[i].code);
		ck_assert_str_eq(st.status, cases[i].status);
		engine_free(e);
	}
	ck_assert_int_eq(engine_state(NULL, "nope", &st), ERR_INVAL);
}
END_TEST

/* The numbers follow the spec, not constants. */
START_TEST(test_create_body_numbers)
{
	struct engine_spec spec;
	json_t *j, *hc;
	char *body;

	spec_init(&spec);
	spec.memory_mb = 512;
	spec.cpu_percent = 150;
	spec.pids_limit = 50;
	spec.home_mb = 200;
	spec.tmp_mb = 33;
	spec.nofile = 1024;
	spec.lifetime_s = 600;
	spec.runtime = NULL;
	body = engine_create_body(&spec);
	ck_assert_ptr_nonnull(body);
	j = json_loads(body, 0, NULL);
	ck_assert_ptr_nonnull(j);
	hc = json_object_get(j, "HostConfig");
	ck_assert(jint(hc, "Memory") == 512LL * 1024 * 1024);
	ck_assert(jint(hc, "MemorySwap") == 512LL * 1024 * 1024);
	ck_assert(jint(hc, "CpuQuota") == 150000);
	ck_assert(jint(hc, "PidsLimit") == 50);
	ck_assert(jint(json_array_get(json_object_get(hc, "Ulimits"), 0),
	    "Hard") == 1024);
	ck_assert_ptr_nonnull(strstr(jstr(json_object_get(hc, "Tmpfs"),
	    "/home/toolkata"), "size=200m"));
	ck_assert_ptr_nonnull(strstr(jstr(json_object_get(hc, "Tmpfs"),
	    "/tmp"), "size=33m"));
	ck_assert_ptr_nonnull(strstr(body, "\"TOOLKATA_LIFETIME=600\""));
	/* No runtime asked for: never a gVisor one. */
	ck_assert(json_object_get(hc, "Runtime") == NULL ||
	    strcmp(jstr(hc, "Runtime"), "runc") == 0);
	json_decref(j);
	free(body);
}
END_TEST

/* A tool pair with JSON metacharacters cannot break out of its string. */
START_TEST(test_create_body_escaped)
{
	struct engine_spec spec;
	json_t *j;
	char *body;

	spec_init(&spec);
	spec.tool_pair = "a\",\"Privileged\":true,\"x";
	body = engine_create_body(&spec);
	ck_assert_ptr_nonnull(body);
	j = json_loads(body, JSON_REJECT_DUPLICATES, NULL);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(jstr(json_object_get(j, "Labels"),
	    "toolkata.tool-pair"), spec.tool_pair);
	ck_assert_ptr_null(json_object_get(j, "Privileged"));
	ck_assert_ptr_null(json_object_get(json_object_get(j, "HostConfig"),
	    "Privileged"));
	json_decref(j);
	free(body);
}
END_TEST

/* The environment label: bash when none is given, else the validated name;
 * a name that is not [A-Za-z0-9-] makes no body at all. */
START_TEST(test_create_body_environment)
{
	struct engine_spec spec;
	json_t *j;
	char *body;

	spec_init(&spec);
	body = engine_create_body(&spec);
	j = json_loads(body, JSON_REJECT_DUPLICATES, NULL);
	ck_assert_str_eq(jstr(json_object_get(j, "Labels"),
	    "toolkata.environment"), "bash");
	json_decref(j);
	free(body);
	spec.environment = "python";
	body = engine_create_body(&spec);
	j = json_loads(body, JSON_REJECT_DUPLICATES, NULL);
	ck_assert_str_eq(jstr(json_object_get(j, "Labels"),
	    "toolkata.environment"), "python");
	json_decref(j);
	free(body);
	spec.environment = "py\",\"x";
	ck_assert_ptr_null(engine_create_body(&spec));
	spec.environment = "";
	ck_assert_ptr_null(engine_create_body(&spec));
}
END_TEST

enum bad_field { BAD_SESSION, BAD_IMAGE, BAD_PAIR, BAD_INSTANCE, BAD_EXPIRES };

static const struct {
	enum bad_field field;
	const char *value;
} bad_specs[] = {
	{ BAD_SESSION, "sess_0123" },
	{ BAD_SESSION, "sess_0123456789ABCDEF0123456789abcdef" },
	{ BAD_SESSION, "sess_0123456789abcdef0123456789abcdef&x=1" },
	{ BAD_SESSION, "" },
	{ BAD_IMAGE, "" },
	{ BAD_IMAGE, "toolkata sandbox" },
	{ BAD_IMAGE, "img?x=1" },
	{ BAD_IMAGE, "img\"quote" },
	{ BAD_IMAGE, "img#frag" },
	{ BAD_IMAGE, A64 A64 "a" },	/* 129 characters */
	{ BAD_PAIR, "abcdefghijabcdefghijabcdefghijabc" },
	{ BAD_INSTANCE, "" },
	{ BAD_INSTANCE, "a b" },
	{ BAD_INSTANCE, "prod\",\"x" },
	{ BAD_INSTANCE, "abcdefghijabcdefghijabcdefghijabc" },
	{ BAD_EXPIRES, NULL },
};

START_TEST(test_create_invalid)
{
	struct replay rp;
	struct engine_spec spec;
	struct engine *e;
	char id[ENGINE_ID_SIZE] = "untouched";
	unsigned long long before = metrics_engine_calls(METRICS_OP_CREATE);

	memset(&rp, 0, sizeof(rp));	/* no call expected at all */
	e = replay_engine(&rp);
	spec_init(&spec);
	switch (bad_specs[_i].field) {
	case BAD_SESSION:
		spec.session_id = bad_specs[_i].value;
		break;
	case BAD_IMAGE:
		spec.image = bad_specs[_i].value;
		break;
	case BAD_PAIR:
		spec.tool_pair = bad_specs[_i].value;
		break;
	case BAD_INSTANCE:
		spec.instance = bad_specs[_i].value;
		break;
	case BAD_EXPIRES:
		spec.expires_at = bad_specs[_i].value;
		break;
	}
	ck_assert_int_eq(engine_create(e, &spec, id), ERR_INVAL);
	ck_assert_uint_eq(rp.next, 0);
	ck_assert_ptr_null(engine_create_body(&spec));
	ck_assert(metrics_engine_calls(METRICS_OP_CREATE) == before);
	engine_free(e);
}
END_TEST

START_TEST(test_create_valid_edges)
{
	struct engine_spec spec;
	char *body;

	spec_init(&spec);
	spec.image = "registry.example:5000/tk/sandbox@sha256:0123abcd";
	spec.tool_pair = "abcdefghijabcdefghijabcdefghijab";	/* 32 */
	spec.instance = "abcdefghijabcdefghijabcdefghij-2";	/* 32 */
	body = engine_create_body(&spec);
	ck_assert_ptr_nonnull(body);
	free(body);
}
END_TEST

static const struct {
	long status;
	const char *fixture, *body;
	size_t cut;
	enum err want;
} create_replies[] = {
	{ 404, "error_404.json", NULL, 0, ERR_NOTFOUND },
	{ 409, "error_409.json", NULL, 0, ERR_CONFLICT },
	{ 500, "error_500.json", NULL, 0, ERR_UPSTREAM },
	{ 503, "garbage.txt", NULL, 0, ERR_UPSTREAM },
	{ 400, NULL, "", 0, ERR_UPSTREAM },
	{ 200, "create_201.json", NULL, 0, ERR_UPSTREAM },	/* not 201 */
	{ 201, "garbage.txt", NULL, 0, ERR_UPSTREAM },
	{ 201, NULL, "", 0, ERR_UPSTREAM },
	{ 201, NULL, "[]", 0, ERR_UPSTREAM },
	{ 201, NULL, "{}", 0, ERR_UPSTREAM },
	{ 201, "create_bad_id.json", NULL, 0, ERR_UPSTREAM },
	{ 201, "create_short_id.json", NULL, 0, ERR_UPSTREAM },
	{ 201, "create_id_number.json", NULL, 0, ERR_UPSTREAM },
	{ 201, "create_201.json", NULL, 40, ERR_UPSTREAM },	/* cut */
	{ 201, NULL, "{\"Id\":\"" CID1 "0\"}", 0, ERR_UPSTREAM },
	{ 201, NULL, "{\"Id\":\"../" CID1 "\"}", 0, ERR_UPSTREAM },
};

START_TEST(test_create_replies)
{
	struct replay rp;
	struct engine_spec spec;
	struct engine *e;
	char id[ENGINE_ID_SIZE];

	memset(&rp, 0, sizeof(rp));
	expect(&rp, "POST", CREATE_PATH, create_replies[_i].status,
	    create_replies[_i].fixture, create_replies[_i].body);
	rp.step[0].cut = create_replies[_i].cut;
	e = replay_engine(&rp);
	spec_init(&spec);
	ck_assert_int_eq(engine_create(e, &spec, id), create_replies[_i].want);
	ck_assert_uint_eq(rp.next, 1);
	engine_free(e);
}
END_TEST

static const enum err transport_errs[] = { ERR_TIMEOUT, ERR_TOOBIG,
	ERR_UPSTREAM };

START_TEST(test_transport_errors)
{
	struct replay rp;
	struct engine_spec spec;
	struct engine *e;
	char id[ENGINE_ID_SIZE];
	enum err want = transport_errs[_i];
	bool flag = true;

	memset(&rp, 0, sizeof(rp));
	expect_err(&rp, "POST", CREATE_PATH, want);
	expect_err(&rp, "DELETE", "/containers/" CID1 "?force=1&v=1", want);
	expect_err(&rp, "POST", "/containers/" CID1 "/start", want);
	expect_err(&rp, "GET", "/containers/" CID1 "/json", want);
	expect_err(&rp, "GET", "/info", want);
	expect_err(&rp, "GET", "/_ping", want);
	e = replay_engine(&rp);
	spec_init(&spec);
	ck_assert_int_eq(engine_create(e, &spec, id), want);
	ck_assert_int_eq(engine_remove(e, CID1, 1000), want);
	ck_assert_int_eq(engine_start(e, CID1), want);
	ck_assert_int_eq(engine_inspect(e, CID1, &flag), want);
	ck_assert(!flag);
	flag = true;
	ck_assert_int_eq(engine_has_runtime(e, "runsc", &flag), want);
	ck_assert(!flag);
	ck_assert_int_eq(engine_ping(e), want);
	ck_assert_uint_eq(rp.next, 6);
	engine_free(e);
}
END_TEST

/* ---- start, remove, inspect ---------------------------------------- */

START_TEST(test_start)
{
	struct replay rp;
	struct engine *e;

	memset(&rp, 0, sizeof(rp));
	expect(&rp, "POST", "/containers/" CID1 "/start", 204, NULL, "");
	expect(&rp, "POST", "/containers/" CID1 "/start", 304, NULL, "");
	expect(&rp, "POST", "/containers/" CID1 "/start", 404,
	    "error_404.json", NULL);
	expect(&rp, "POST", "/containers/" CID1 "/start", 409,
	    "error_409.json", NULL);
	expect(&rp, "POST", "/containers/" CID1 "/start", 500,
	    "error_500.json", NULL);
	expect(&rp, "POST", "/containers/" CID1 "/start", 200, NULL, "");
	e = replay_engine(&rp);
	ck_assert_int_eq(engine_start(e, CID1), ERR_OK);
	ck_assert(!rp.had_body);
	ck_assert_int_eq(engine_start(e, CID1), ERR_OK);
	ck_assert_int_eq(engine_start(e, CID1), ERR_NOTFOUND);
	ck_assert_int_eq(engine_start(e, CID1), ERR_CONFLICT);
	ck_assert_int_eq(engine_start(e, CID1), ERR_UPSTREAM);
	ck_assert_int_eq(engine_start(e, CID1), ERR_UPSTREAM);
	/* Ids are checked before they reach a path. */
	ck_assert_int_eq(engine_start(e, "../../images/x"), ERR_INVAL);
	ck_assert_int_eq(engine_start(e, "ABC"), ERR_INVAL);
	ck_assert_int_eq(engine_start(e, SID), ERR_INVAL);
	ck_assert_uint_eq(rp.next, 6);
	engine_free(e);
}
END_TEST

START_TEST(test_remove)
{
	struct replay rp;
	struct engine *e;

	memset(&rp, 0, sizeof(rp));
	expect(&rp, "DELETE", "/containers/" CID1 "?force=1&v=1", 204, NULL,
	    "");
	expect(&rp, "DELETE", "/containers/" CID1 "?force=1&v=1", 404,
	    "error_404.json", NULL);
	expect(&rp, "DELETE", "/containers/" CID1 "?force=1&v=1", 409, NULL,
	    "{\"message\":\"removal of container is already in progress\"}");
	expect(&rp, "DELETE", "/containers/" CID1 "?force=1&v=1", 500,
	    "error_500.json", NULL);
	e = replay_engine(&rp);
	ck_assert_int_eq(engine_remove(e, CID1, 7000), ERR_OK);
	/* The caller's (destroy) timeout, not the engine default. */
	ck_assert_int_eq(rp.timeout_ms, 7000);
	ck_assert(!rp.had_body);
	ck_assert_int_eq(engine_remove(e, CID1, 7000), ERR_OK);
	ck_assert_int_eq(engine_remove(e, CID1, 7000), ERR_OK);
	ck_assert_int_eq(engine_remove(e, CID1, 7000), ERR_UPSTREAM);
	ck_assert_int_eq(engine_remove(e, "", 7000), ERR_INVAL);
	ck_assert_int_eq(engine_remove(e, CID1 "?all=1", 7000), ERR_INVAL);
	ck_assert_uint_eq(rp.next, 4);
	engine_free(e);
}
END_TEST

START_TEST(test_inspect)
{
	struct replay rp;
	struct engine *e;
	bool running = false;

	memset(&rp, 0, sizeof(rp));
	expect(&rp, "GET", "/containers/" CID1 "/json", 200,
	    "inspect_running.json", NULL);
	expect(&rp, "GET", "/containers/" CID1 "/json", 200,
	    "inspect_exited.json", NULL);
	expect(&rp, "GET", "/containers/" CID1 "/json", 404, "error_404.json",
	    NULL);
	expect(&rp, "GET", "/containers/" CID1 "/json", 200, "garbage.txt",
	    NULL);
	expect(&rp, "GET", "/containers/" CID1 "/json", 200, NULL,
	    "{\"State\":{\"Running\":\"true\"}}");
	expect(&rp, "GET", "/containers/" CID1 "/json", 500, "error_500.json",
	    NULL);
	e = replay_engine(&rp);
	ck_assert_int_eq(engine_inspect(e, CID1, &running), ERR_OK);
	ck_assert(running);
	ck_assert_int_eq(engine_inspect(e, CID1, &running), ERR_OK);
	ck_assert(!running);
	running = true;
	ck_assert_int_eq(engine_inspect(e, CID1, &running), ERR_NOTFOUND);
	ck_assert(!running);
	running = true;
	ck_assert_int_eq(engine_inspect(e, CID1, &running), ERR_UPSTREAM);
	ck_assert(!running);
	/* Only a JSON true is running. */
	running = true;
	ck_assert_int_eq(engine_inspect(e, CID1, &running), ERR_OK);
	ck_assert(!running);
	ck_assert_int_eq(engine_inspect(e, CID1, &running), ERR_UPSTREAM);
	running = true;
	ck_assert_int_eq(engine_inspect(e, "nope", &running), ERR_INVAL);
	ck_assert(!running);
	ck_assert_uint_eq(rp.next, 6);
	engine_free(e);
}
END_TEST

/* ---- list ---------------------------------------------------------- */

#define LIST_PATH(inst) "/containers/json?all=1&filters=%7B%22label%22%3A" \
	"%5B%22toolkata.instance%3D" inst "%22%5D%7D"

struct listed {
	struct engine_container c[16];
	size_t n;
};

static void
on_container(const struct engine_container *c, void *arg)
{
	struct listed *l = arg;

	ck_assert_uint_lt(l->n, nitems(l->c));
	l->c[l->n++] = *c;
}

START_TEST(test_list)
{
	struct replay rp;
	struct engine *e;
	struct listed l;

	memset(&rp, 0, sizeof(rp));
	memset(&l, 0, sizeof(l));
	expect(&rp, "GET", LIST_PATH("default"), 200, "containers_list.json",
	    NULL);
	e = replay_engine(&rp);
	ck_assert_int_eq(engine_list(e, "default", on_container, &l), ERR_OK);
	ck_assert_uint_eq(l.n, 4);
	ck_assert_str_eq(l.c[0].id, CID1);
	ck_assert_str_eq(l.c[0].session, SID);
	ck_assert(l.c[0].running);
	ck_assert_str_eq(l.c[1].id, CID2);
	ck_assert_str_eq(l.c[1].session,
	    "sess_ffffffffffffffffffffffffffffffff");
	ck_assert(!l.c[1].running);
	/* An invalid session label reads as no session. */
	ck_assert_str_eq(l.c[2].id, CID3);
	ck_assert_str_eq(l.c[2].session, "");
	ck_assert(l.c[2].running);
	ck_assert_str_eq(l.c[3].id, CID4);
	ck_assert_str_eq(l.c[3].session, "");
	ck_assert(!l.c[3].running);
	engine_free(e);
}
END_TEST

START_TEST(test_list_errors)
{
	struct replay rp;
	struct engine *e;
	struct listed l;

	memset(&rp, 0, sizeof(rp));
	memset(&l, 0, sizeof(l));
	expect(&rp, "GET", LIST_PATH("stack-2"), 200, NULL, "[]");
	expect(&rp, "GET", LIST_PATH("stack-2"), 200, NULL,
	    "{\"Id\":\"" CID1 "\"}");
	expect(&rp, "GET", LIST_PATH("stack-2"), 200, "garbage.txt", NULL);
	expect(&rp, "GET", LIST_PATH("stack-2"), 500, "error_500.json", NULL);
	expect(&rp, "GET", LIST_PATH("stack-2"), 200, "containers_list.json",
	    NULL);
	rp.step[4].cut = 300;	/* a short read: truncated JSON */
	e = replay_engine(&rp);
	ck_assert_int_eq(engine_list(e, "stack-2", on_container, &l), ERR_OK);
	ck_assert_int_eq(engine_list(e, "stack-2", on_container, &l),
	    ERR_UPSTREAM);
	ck_assert_int_eq(engine_list(e, "stack-2", on_container, &l),
	    ERR_UPSTREAM);
	ck_assert_int_eq(engine_list(e, "stack-2", on_container, &l),
	    ERR_UPSTREAM);
	ck_assert_int_eq(engine_list(e, "stack-2", on_container, &l),
	    ERR_UPSTREAM);
	ck_assert_uint_eq(l.n, 0);
	/* The instance reaches the URL: it is checked first. */
	ck_assert_int_eq(engine_list(e, "a%22b", on_container, &l), ERR_INVAL);
	ck_assert_int_eq(engine_list(e, "", on_container, &l), ERR_INVAL);
	ck_assert_int_eq(engine_list(e, NULL, on_container, &l), ERR_INVAL);
	ck_assert_uint_eq(rp.next, 5);
	engine_free(e);
}
END_TEST

/* ---- info, image, ping --------------------------------------------- */

START_TEST(test_has_runtime)
{
	struct replay rp;
	struct engine *e;
	bool has = false;

	memset(&rp, 0, sizeof(rp));
	expect(&rp, "GET", "/info", 200, "info_runsc.json", NULL);
	expect(&rp, "GET", "/info", 200, "info_runc_only.json", NULL);
	expect(&rp, "GET", "/info", 200, "info_runsc.json", NULL);
	expect(&rp, "GET", "/info", 200, "garbage.txt", NULL);
	expect(&rp, "GET", "/info", 500, "error_500.json", NULL);
	expect(&rp, "GET", "/info", 200, NULL, "{\"Runtimes\":[\"runsc\"]}");
	e = replay_engine(&rp);
	ck_assert_int_eq(engine_has_runtime(e, "runsc", &has), ERR_OK);
	ck_assert(has);
	ck_assert_int_eq(engine_has_runtime(e, "runsc", &has), ERR_OK);
	ck_assert(!has);
	ck_assert_int_eq(engine_has_runtime(e, "kata", &has), ERR_OK);
	ck_assert(!has);
	has = true;
	ck_assert_int_eq(engine_has_runtime(e, "runsc", &has), ERR_UPSTREAM);
	ck_assert(!has);
	has = true;
	ck_assert_int_eq(engine_has_runtime(e, "runsc", &has), ERR_UPSTREAM);
	ck_assert(!has);
	ck_assert_int_eq(engine_has_runtime(e, "runsc", &has), ERR_OK);
	ck_assert(!has);
	ck_assert_uint_eq(rp.next, 6);
	engine_free(e);
}
END_TEST

START_TEST(test_image_exists)
{
	struct replay rp;
	struct engine *e;
	bool exists = false;

	memset(&rp, 0, sizeof(rp));
	expect(&rp, "GET", "/images/toolkata-sandbox:latest/json", 200, NULL,
	    "{\"Id\":\"sha256:abc\"}");
	expect(&rp, "GET", "/images/toolkata-sandbox:latest/json", 404, NULL,
	    "{\"message\":\"No such image: toolkata-sandbox:latest\"}");
	expect(&rp, "GET", "/images/toolkata-sandbox:latest/json", 500,
	    "error_500.json", NULL);
	e = replay_engine(&rp);
	ck_assert_int_eq(engine_image_exists(e, "toolkata-sandbox:latest",
	    &exists), ERR_OK);
	ck_assert(exists);
	ck_assert_int_eq(engine_image_exists(e, "toolkata-sandbox:latest",
	    &exists), ERR_OK);
	ck_assert(!exists);
	exists = true;
	ck_assert_int_eq(engine_image_exists(e, "toolkata-sandbox:latest",
	    &exists), ERR_UPSTREAM);
	ck_assert(!exists);
	ck_assert_int_eq(engine_image_exists(e, "bad image", &exists),
	    ERR_INVAL);
	ck_assert_int_eq(engine_image_exists(e, "img?x=1", &exists),
	    ERR_INVAL);
	ck_assert_uint_eq(rp.next, 3);
	engine_free(e);
}
END_TEST

/*
 * An image reference is spliced into /images/<ref>/json.  Dot segments are
 * not part of any valid reference (Docker's grammar: path components are
 * [a-z0-9]+ joined by [._-]), and with curl's default dot-segment removal
 * "../../containers/json" would reach a different endpoint.
 */
START_TEST(test_image_ref_no_traversal)
{
	struct replay rp;
	struct engine *e;
	bool exists = false;

	memset(&rp, 0, sizeof(rp));
	e = replay_engine(&rp);
	ck_assert_int_eq(engine_image_exists(e, "../../containers/json",
	    &exists), ERR_INVAL);
	ck_assert_int_eq(engine_image_exists(e, "img/../../info", &exists),
	    ERR_INVAL);
	ck_assert_uint_eq(rp.next, 0);
	engine_free(e);
}
END_TEST

START_TEST(test_ping)
{
	struct replay rp;
	struct engine *e;

	memset(&rp, 0, sizeof(rp));
	expect(&rp, "GET", "/_ping", 200, NULL, "OK");
	expect(&rp, "GET", "/_ping", 500, NULL, "");
	e = replay_engine(&rp);
	ck_assert_int_eq(engine_ping(e), ERR_OK);
	ck_assert(!rp.had_body);
	ck_assert_int_eq(engine_ping(e), ERR_UPSTREAM);
	engine_free(e);
	engine_free(NULL);
}
END_TEST

/* ---- metrics ------------------------------------------------------- */

START_TEST(test_metrics_counted)
{
	struct replay rp;
	struct engine_spec spec;
	struct engine *e;
	struct listed l;
	char id[ENGINE_ID_SIZE];
	unsigned long long c0 = metrics_engine_calls(METRICS_OP_CREATE);
	unsigned long long s0 = metrics_engine_calls(METRICS_OP_START);
	unsigned long long r0 = metrics_engine_calls(METRICS_OP_REMOVE);
	unsigned long long l0 = metrics_engine_calls(METRICS_OP_LIST);
	unsigned long long i0 = metrics_engine_calls(METRICS_OP_INFO);
	bool b;

	memset(&rp, 0, sizeof(rp));
	memset(&l, 0, sizeof(l));
	expect(&rp, "POST", CREATE_PATH, 201, "create_201.json", NULL);
	expect(&rp, "POST", CREATE_PATH, 500, "error_500.json", NULL);
	expect(&rp, "POST", "/containers/" CID1 "/start", 204, NULL, "");
	expect(&rp, "DELETE", "/containers/" CID1 "?force=1&v=1", 204, NULL,
	    "");
	expect(&rp, "GET", LIST_PATH("default"), 200, NULL, "[]");
	expect(&rp, "GET", "/info", 200, "info_runsc.json", NULL);
	e = replay_engine(&rp);
	spec_init(&spec);
	ck_assert_int_eq(engine_create(e, &spec, id), ERR_OK);
	ck_assert_int_eq(engine_create(e, &spec, id), ERR_UPSTREAM);
	ck_assert_int_eq(engine_start(e, CID1), ERR_OK);
	ck_assert_int_eq(engine_remove(e, CID1, 1000), ERR_OK);
	ck_assert_int_eq(engine_list(e, "default", on_container, &l), ERR_OK);
	ck_assert_int_eq(engine_has_runtime(e, "runsc", &b), ERR_OK);
	ck_assert(metrics_engine_calls(METRICS_OP_CREATE) == c0 + 2);
	ck_assert(metrics_engine_calls(METRICS_OP_START) == s0 + 1);
	ck_assert(metrics_engine_calls(METRICS_OP_REMOVE) == r0 + 1);
	ck_assert(metrics_engine_calls(METRICS_OP_LIST) == l0 + 1);
	ck_assert(metrics_engine_calls(METRICS_OP_INFO) == i0 + 1);
	engine_free(e);
}
END_TEST

/* ---- the real curl transport --------------------------------------- */

START_TEST(test_curl_no_socket)
{
	struct engine *e = engine_new("/nonexistent-toolkata/docker.sock",
	    2000);
	struct engine_spec spec;
	struct listed l;
	char id[ENGINE_ID_SIZE];
	bool b = true;

	memset(&l, 0, sizeof(l));
	spec_init(&spec);
	ck_assert_ptr_nonnull(e);
	ck_assert_int_ne(engine_ping(e), ERR_OK);
	ck_assert_int_ne(engine_create(e, &spec, id), ERR_OK);
	ck_assert_int_ne(engine_list(e, "default", on_container, &l), ERR_OK);
	ck_assert_uint_eq(l.n, 0);
	ck_assert_int_ne(engine_has_runtime(e, "runsc", &b), ERR_OK);
	ck_assert(!b);
	ck_assert_int_ne(engine_remove(e, CID1, 500), ERR_OK);
	engine_free(e);
}
END_TEST

/*
 * A one-shot fake engine: the child accepts one connection, saves the
 * request (head and body) to <dir>/request, sends the canned response
 * (or nothing at all when response is NULL, then waits to be killed).
 */
struct fake {
	char sock[128];
	char reqfile[128];
	pid_t pid;
};

static char fakedir[64];

/* Once per test case, in the runner: the directory for sockets, removed
 * even after failed tests (whose own cleanup does not run). */
static void
fakedir_setup(void)
{
	util_tmpdir(fakedir, sizeof(fakedir));
}

static void
fakedir_teardown(void)
{
	util_rmdir(fakedir);
}

static void
fake_serve(int ls, const char *reqfile, const char *response, size_t rlen)
{
	char buf[65536];
	size_t len = 0;
	ssize_t n;
	char *end, *cl;
	size_t want = 0;
	int c;
	FILE *fp;

	/* Never outlive a test that failed before stopping us. */
	(void)alarm(20);
	c = accept(ls, NULL, NULL);
	if (c < 0)
		_exit(2);
	for (;;) {
		n = read(c, buf + len, sizeof(buf) - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
		end = strstr(buf, "\r\n\r\n");
		if (end == NULL)
			continue;
		cl = strcasestr(buf, "\r\nContent-Length:");
		want = (size_t)(end + 4 - buf);
		if (cl != NULL && cl < end)
			want += strtoul(cl + 17, NULL, 10);
		if (len >= want)
			break;
	}
	fp = fopen(reqfile, "w");
	if (fp != NULL) {
		(void)fwrite(buf, 1, len, fp);
		(void)fclose(fp);
	}
	if (response == NULL) {
		for (;;)
			(void)pause();
	}
	while (rlen > 0) {
		n = write(c, response, rlen);
		if (n <= 0)
			break;
		response += n;
		rlen -= (size_t)n;
	}
	(void)close(c);
	_exit(0);
}

static void
fake_start(struct fake *f, const char *response, size_t rlen)
{
	struct sockaddr_un sun;
	int ls;

	(void)snprintf(f->sock, sizeof(f->sock), "%s/docker.%ld.sock", fakedir,
	    (long)getpid());
	(void)snprintf(f->reqfile, sizeof(f->reqfile), "%s/request.%ld",
	    fakedir, (long)getpid());
	(void)unlink(f->sock);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	ck_assert(strlcpy_ok(sun.sun_path, f->sock, sizeof(sun.sun_path)));
	ls = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_ge(ls, 0);
	ck_assert_int_eq(bind(ls, (struct sockaddr *)&sun, sizeof(sun)), 0);
	ck_assert_int_eq(listen(ls, 1), 0);
	f->pid = fork();
	ck_assert_int_ge(f->pid, 0);
	if (f->pid == 0)
		fake_serve(ls, f->reqfile, response, rlen);
	(void)close(ls);
}

/* Stop the server; return what it received (caller frees). */
static char *
fake_stop(struct fake *f)
{
	char *req = NULL;
	size_t cap = 0, len = 0;
	FILE *fp;
	int status;

	(void)kill(f->pid, SIGKILL);
	(void)waitpid(f->pid, &status, 0);
	fp = fopen(f->reqfile, "r");
	if (fp != NULL) {
		req = xmalloc(65536);
		cap = 65535;
		len = fread(req, 1, cap, fp);
		req[len] = '\0';
		(void)fclose(fp);
	}
	(void)unlink(f->reqfile);
	(void)unlink(f->sock);
	return req;
}

START_TEST(test_curl_create_roundtrip)
{
	static const char json[] = "{\"Id\":\"" CID1 "\",\"Warnings\":[]}\n";
	char resp[512];
	int rlen;
	struct fake f;
	struct engine *e;
	struct engine_spec spec;
	char id[ENGINE_ID_SIZE];
	char *req, *body;
	json_t *j;

	rlen = snprintf(resp, sizeof(resp), "HTTP/1.1 201 Created\r\n"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\n"
	    "Connection: close\r\n\r\n%s", strlen(json), json);
	fake_start(&f, resp, (size_t)rlen);
	e = engine_new(f.sock, 5000);
	spec_init(&spec);
	ck_assert_int_eq(engine_create(e, &spec, id), ERR_OK);
	ck_assert_str_eq(id, CID1);
	engine_free(e);
	req = fake_stop(&f);
	ck_assert_ptr_nonnull(req);
	ck_assert_msg(strncmp(req, "POST /v1.41" CREATE_PATH " HTTP/1.1\r\n",
	    strlen("POST /v1.41" CREATE_PATH " HTTP/1.1\r\n")) == 0,
	    "request line: %.120s", req);
	ck_assert_ptr_nonnull(strcasestr(req,
	    "\r\nContent-Type: application/json\r\n"));
	body = strstr(req, "\r\n\r\n");
	ck_assert_ptr_nonnull(body);
	j = json_loads(body + 4, 0, NULL);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(jstr(json_object_get(j, "Labels"),
	    "toolkata.session"), SID);
	json_decref(j);
	free(req);
}
END_TEST

START_TEST(test_curl_status_and_body)
{
	static const char json[] = "{\"Runtimes\":{\"runsc\":{}}}";
	char resp[512];
	int rlen;
	struct fake f;
	struct engine *e;
	bool has = false;
	char *req;

	/* A chunked reply, split in two chunks. */
	rlen = snprintf(resp, sizeof(resp), "HTTP/1.1 200 OK\r\n"
	    "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
	    "Connection: close\r\n\r\n5\r\n%.5s\r\n%zx\r\n%s\r\n0\r\n\r\n",
	    json, strlen(json) - 5, json + 5);
	fake_start(&f, resp, (size_t)rlen);
	e = engine_new(f.sock, 5000);
	ck_assert_int_eq(engine_has_runtime(e, "runsc", &has), ERR_OK);
	ck_assert(has);
	engine_free(e);
	req = fake_stop(&f);
	ck_assert_ptr_nonnull(req);
	ck_assert_int_eq(strncmp(req, "GET /v1.41/info HTTP/1.1\r\n", 26), 0);
	free(req);
}
END_TEST

START_TEST(test_curl_reply_too_big)
{
	size_t blen = ENGINE_REPLY_MAX + 4096, hlen;
	char *resp = xmalloc(blen + 256);
	struct fake f;
	struct engine *e;
	bool running = true;

	hlen = (size_t)snprintf(resp, 256, "HTTP/1.1 200 OK\r\nContent-Type: "
	    "application/json\r\nContent-Length: %zu\r\nConnection: close"
	    "\r\n\r\n", blen);
	memset(resp + hlen, ' ', blen);
	fake_start(&f, resp, hlen + blen);
	e = engine_new(f.sock, 5000);
	ck_assert_int_eq(engine_inspect(e, CID1, &running), ERR_TOOBIG);
	ck_assert(!running);
	engine_free(e);
	free(fake_stop(&f));
	free(resp);
}
END_TEST

START_TEST(test_curl_timeout)
{
	struct fake f;
	struct engine *e;
	double t0;

	fake_start(&f, NULL, 0);
	e = engine_new(f.sock, 300);
	t0 = clock_mono();
	ck_assert_int_eq(engine_ping(e), ERR_TIMEOUT);
	/* Bounded by the engine's timeout, not by the server. */
	ck_assert_double_lt(clock_mono() - t0, 5.0);
	engine_free(e);
	free(fake_stop(&f));
}
END_TEST


/* ---- the raw transport (ehttp.c) and attach ------------------------- */

START_TEST(test_ehttp_decode)
{
	static const struct {
		const char *in;
		enum err want;
		long status;
		const char *body;
	} cases[] = {
		{ "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", ERR_OK,
		    200, "ok" },
		{ "HTTP/1.1 204 No Content\r\n\r\n", ERR_OK, 204, "" },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		    "3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n", ERR_OK, 200,
		    "abcde" },
		{ "HTTP/1.1 200 OK\r\ntransfer-encoding: CHUNKED\r\n\r\n"
		    "4\r\nwxyz\r\n0\r\n\r\n", ERR_OK, 200, "wxyz" },
		/* Chunk sizes past the data, no size, missing CRLF, no end. */
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		    "ff\r\nabc\r\n", ERR_UPSTREAM, 200, "" },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		    "\r\n", ERR_UPSTREAM, 200, "" },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		    "3\r\nabcX", ERR_UPSTREAM, 200, "" },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		    "3\r\nabc\r\n", ERR_UPSTREAM, 200, "" },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		    "fffffffff\r\n", ERR_UPSTREAM, 200, "" },
		{ "garbage", ERR_UPSTREAM, 0, "" },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n", ERR_UPSTREAM, 0,
		    "" },
		/* Over the cap (8 bytes with the NUL). */
		{ "HTTP/1.1 200 OK\r\n\r\n0123456789", ERR_TOOBIG, 200, "" },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		    "a\r\n0123456789\r\n0\r\n\r\n", ERR_TOOBIG, 200, "" },
	};

	for (size_t i = 0; i < nitems(cases); i++) {
		char out[8];
		size_t n = 99;
		long status = 0;
		enum err r = ehttp_decode(cases[i].in, strlen(cases[i].in),
		    &status, out, sizeof(out), &n);

		ck_assert_msg(r == cases[i].want, "case %zu: %s", i,
		    err_str(r));
		ck_assert_uint_lt(n, sizeof(out));
		ck_assert_uint_eq(out[n], '\0');
		if (r == ERR_OK) {
			ck_assert_int_eq(status, cases[i].status);
			ck_assert_str_eq(out, cases[i].body);
		}
	}
}
END_TEST

START_TEST(test_ehttp_roundtrip)
{
	static const char json[] = "{\"Runtimes\":{\"runsc\":{}}}";
	char resp[512];
	int rlen;
	struct fake f;
	struct engine *e;
	bool has = false;
	char *req;

	rlen = snprintf(resp, sizeof(resp), "HTTP/1.1 200 OK\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n5\r\n%.5s\r\n%zx\r\n%s\r\n"
	    "0\r\n\r\n", json, strlen(json) - 5, json + 5);
	fake_start(&f, resp, (size_t)rlen);
	e = ehttp_engine_new(f.sock, 5000);
	ck_assert_int_eq(engine_has_runtime(e, "runsc", &has), ERR_OK);
	ck_assert(has);
	engine_free(e);
	req = fake_stop(&f);
	ck_assert_ptr_nonnull(req);
	ck_assert_msg(strncmp(req, "GET /v1.41/info HTTP/1.1\r\n", 26) == 0,
	    "request: %.80s", req);
	ck_assert_ptr_nonnull(strstr(req, "\r\nConnection: close\r\n"));
	free(req);
}
END_TEST

START_TEST(test_ehttp_timeout)
{
	struct fake f;
	struct engine *e;
	double t0;

	fake_start(&f, NULL, 0);
	e = ehttp_engine_new(f.sock, 300);
	t0 = clock_mono();
	ck_assert_int_eq(engine_ping(e), ERR_TIMEOUT);
	ck_assert_double_lt(clock_mono() - t0, 5.0);
	engine_free(e);
	free(fake_stop(&f));
	e = ehttp_engine_new("/nonexistent-toolkata/docker.sock", 300);
	ck_assert_int_eq(engine_ping(e), ERR_UPSTREAM);
	engine_free(e);
}
END_TEST

START_TEST(test_attach)
{
	static const char resp[] = "HTTP/1.1 101 UPGRADED\r\n"
	    "Content-Type: application/vnd.docker.raw-stream\r\n"
	    "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n$ ";
	char extra[64], *req;
	size_t n = 0;
	struct fake f;
	int fd = -1;

	fake_start(&f, resp, sizeof(resp) - 1);
	ck_assert_int_eq(engine_attach(f.sock, CID1, 5000, &fd, extra,
	    sizeof(extra), &n), ERR_OK);
	ck_assert_int_ge(fd, 0);
	ck_assert_uint_eq(n, 2);
	ck_assert(memcmp(extra, "$ ", 2) == 0);
	(void)close(fd);
	req = fake_stop(&f);
	ck_assert_ptr_nonnull(req);
	ck_assert_msg(strncmp(req, "POST /v1.41/containers/" CID1 "/attach?"
	    "stream=1&stdin=1&stdout=1&stderr=1&detachKeys=", 100) == 0,
	    "request: %.160s", req);
	/* Not Docker's ^P^Q: the sequence nobody types. */
	ck_assert_ptr_nonnull(strstr(req, "detachKeys=ctrl-%40,ctrl-%40,"));
	ck_assert_ptr_null(strstr(req, "ctrl-p"));
	free(req);
	/* Not running: 409; gone: 404; a bad id never reaches the socket. */
	fake_start(&f, "HTTP/1.1 409 Conflict\r\n\r\n", 25);
	ck_assert_int_eq(engine_attach(f.sock, CID1, 5000, &fd, extra,
	    sizeof(extra), &n), ERR_CONFLICT);
	ck_assert_int_eq(fd, -1);
	free(fake_stop(&f));
	ck_assert_int_eq(engine_attach("/nonexistent", "nope", 5000, &fd,
	    extra, sizeof(extra), &n), ERR_INVAL);
}
END_TEST


/* ---- exec: step checks ------------------------------------------------ */

#define XID "5555555555555555555555555555555555555555555555555555555555555555"

static void
exec_spec(struct engine_exec_spec *x)
{
	memset(x, 0, sizeof(*x));
	x->argv[0] = "/usr/local/bin/toolkata-check";
	x->argv[1] = "1000";
	x->argv[2] = "64";
	x->argv[3] = "echo \"hi\"; rm -rf / # \\ $(x)";
	x->argc = 4;
	x->env[0] = "TOOLKATA_CHECK=1";
	x->envc = 1;
	x->user = "1000:1000";
	x->workdir = "/home/toolkata";
}

START_TEST(test_exec_body)
{
	struct engine_exec_spec x;
	char *b;
	json_t *j;

	exec_spec(&x);
	b = engine_exec_body(&x);
	ck_assert_ptr_nonnull(b);
	j = json_loads(b, 0, NULL);
	ck_assert_ptr_nonnull(j);
	/* The command is one argv element, never split by a shell here. */
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(j,
	    "Cmd"), 3)), x.argv[3]);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "Cmd")), 4);
	ck_assert_str_eq(json_string_value(json_object_get(j, "User")),
	    "1000:1000");
	ck_assert(json_is_false(json_object_get(j, "Tty")));
	ck_assert(json_is_false(json_object_get(j, "AttachStdin")));
	ck_assert(json_is_true(json_object_get(j, "AttachStderr")));
	ck_assert_uint_eq(json_object_size(j), 8);
	json_decref(j);
	free(b);
	/* Refused specs. */
	x.argv[0] = "toolkata-check";
	ck_assert_ptr_null(engine_exec_body(&x));
	exec_spec(&x);
	x.workdir = "home";
	ck_assert_ptr_null(engine_exec_body(&x));
	exec_spec(&x);
	x.env[0] = "NOEQUALS";
	ck_assert_ptr_null(engine_exec_body(&x));
	exec_spec(&x);
	x.argc = 0;
	ck_assert_ptr_null(engine_exec_body(&x));
	exec_spec(&x);
	x.argc = ENGINE_EXEC_ARGS + 1;
	ck_assert_ptr_null(engine_exec_body(&x));
}
END_TEST

START_TEST(test_exec_calls)
{
	struct replay rp = { 0 };
	struct engine *e = replay_engine(&rp);
	struct engine_exec_spec x;
	char xid[ENGINE_ID_SIZE], ob[16], eb[16];
	struct engine_out out = { ob, sizeof(ob), 0, 0 };
	struct engine_out err = { eb, sizeof(eb), 0, 0 };
	int code = 0;

	exec_spec(&x);
	expect(&rp, "POST", "/containers/" CID1 "/exec", 201, NULL,
	    "{\"Id\":\"" XID "\"}");
	ck_assert_int_eq(engine_exec_create(e, CID1, &x, xid), ERR_OK);
	ck_assert_str_eq(xid, XID);
	ck_assert_ptr_nonnull(strstr(rp.body, "toolkata-check"));
	/* The stream itself is binary (NULs): the demuxer tests below
	 * decode it; here the exit code, asked again while running. */
	expect(&rp, "GET", "/exec/" XID "/json", 200, NULL,
	    "{\"Running\":true,\"ExitCode\":null}");
	expect(&rp, "GET", "/exec/" XID "/json", 200, NULL,
	    "{\"Running\":false,\"ExitCode\":7}");
	ck_assert_int_eq(engine_exec_exit(e, XID, &code), ERR_OK);
	ck_assert_int_eq(code, 7);
	/* Not running containers and bad ids. */
	rp.nstep = rp.next = 0;
	expect(&rp, "POST", "/containers/" CID1 "/exec", 409, NULL,
	    "{\"message\":\"Container is not running\"}");
	ck_assert_int_eq(engine_exec_create(e, CID1, &x, xid), ERR_CONFLICT);
	ck_assert_int_eq(engine_exec_create(e, "../x", &x, xid), ERR_INVAL);
	ck_assert_int_eq(engine_exec_start(e, "../x", 1000, &out, &err),
	    ERR_INVAL);
	ck_assert_int_eq(engine_exec_exit(e, "../x", &code), ERR_INVAL);
	expect_err(&rp, "POST", "/exec/" XID "/start", ERR_TIMEOUT);
	ck_assert_int_eq(engine_exec_start(e, XID, 1500, &out, &err),
	    ERR_TIMEOUT);
	ck_assert_int_eq(rp.timeout_ms, 1500);
	engine_free(e);
}
END_TEST

/* Feed s in pieces of every size from 1: headers split anywhere. */
START_TEST(test_demux_split)
{
	static const char s[] = "\x01\0\0\0\0\0\0\x05" "hello"
	    "\x02\0\0\0\0\0\0\x03" "bad"
	    "\x01\0\0\0\0\0\0\x00"
	    "\x00\0\0\0\0\0\0\x02" "!!";
	size_t len = sizeof(s) - 1;

	for (size_t step = 1; step <= len; step++) {
		char ob[64], eb[64];
		struct engine_out out = { ob, sizeof(ob), 0, 0 };
		struct engine_out err = { eb, sizeof(eb), 0, 0 };
		struct engine_demux d;

		engine_demux_init(&d, &out, &err);
		for (size_t i = 0; i < len; i += step) {
			size_t n = len - i < step ? len - i : step;

			ck_assert_int_eq(engine_demux_feed(&d, s + i, n), ERR_OK);
		}
		ck_assert(engine_demux_done(&d));
		ck_assert_uint_eq(out.len, 7);
		ck_assert(memcmp(ob, "hello!!", 7) == 0);
		ck_assert_uint_eq(err.len, 3);
		ck_assert(memcmp(eb, "bad", 3) == 0);
	}
}
END_TEST

START_TEST(test_demux_caps_and_garbage)
{
	char ob[4], eb[4];
	struct engine_out out = { ob, sizeof(ob), 0, 0 };
	struct engine_out err = { eb, sizeof(eb), 0, 0 };
	struct engine_demux d;

	engine_demux_init(&d, &out, &err);
	ck_assert_int_eq(engine_demux_feed(&d, "\x01\0\0\0\0\0\0\x0a"
	    "0123456789", 18), ERR_OK);
	ck_assert_uint_eq(out.len, 4);
	ck_assert_uint_eq(out.total, 10);
	ck_assert(memcmp(ob, "0123", 4) == 0);
	/* Half a frame is not done; a bad header is an upstream error. */
	ck_assert_int_eq(engine_demux_feed(&d, "\x02\0\0\0\0\0\0\x05" "ab", 10),
	    ERR_OK);
	ck_assert(!engine_demux_done(&d));
	engine_demux_init(&d, &out, &err);
	ck_assert_int_eq(engine_demux_feed(&d, "\x03\0\0\0\0\0\0\x01" "x", 9),
	    ERR_UPSTREAM);
	engine_demux_init(&d, &out, &err);
	ck_assert_int_eq(engine_demux_feed(&d, "HTTP/1.1", 8), ERR_UPSTREAM);
}
END_TEST

static Suite *
engine_suite(void)
{
	Suite *s = suite_create("engine");
	TCase *tc;

	tc = tcase_create("create");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_create_body);
	tcase_add_test(tc, test_create_body_numbers);
	tcase_add_test(tc, test_create_pooled);
	tcase_add_test(tc, test_state);
	tcase_add_test(tc, test_create_body_escaped);
	tcase_add_test(tc, test_create_body_environment);
	tcase_add_loop_test(tc, test_create_invalid, 0,
	    (int)nitems(bad_specs));
	tcase_add_test(tc, test_create_valid_edges);
	tcase_add_loop_test(tc, test_create_replies, 0,
	    (int)nitems(create_replies));
	tcase_add_loop_test(tc, test_transport_errors, 0,
	    (int)nitems(transport_errs));
	suite_add_tcase(s, tc);

	tc = tcase_create("exec");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_exec_body);
	tcase_add_test(tc, test_exec_calls);
	tcase_add_test(tc, test_demux_split);
	tcase_add_test(tc, test_demux_caps_and_garbage);
	suite_add_tcase(s, tc);

	tc = tcase_create("calls");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_start);
	tcase_add_test(tc, test_remove);
	tcase_add_test(tc, test_inspect);
	tcase_add_test(tc, test_list);
	tcase_add_test(tc, test_list_errors);
	tcase_add_test(tc, test_has_runtime);
	tcase_add_test(tc, test_image_exists);
	tcase_add_test(tc, test_image_ref_no_traversal);
	tcase_add_test(tc, test_ping);
	tcase_add_test(tc, test_metrics_counted);
	suite_add_tcase(s, tc);

	tc = tcase_create("curl");
	tcase_add_unchecked_fixture(tc, fakedir_setup, fakedir_teardown);
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_curl_no_socket);
	tcase_add_test(tc, test_curl_create_roundtrip);
	tcase_add_test(tc, test_curl_status_and_body);
	tcase_add_test(tc, test_curl_reply_too_big);
	tcase_add_test(tc, test_curl_timeout);
	tcase_add_test(tc, test_ehttp_decode);
	tcase_add_test(tc, test_ehttp_roundtrip);
	tcase_add_test(tc, test_ehttp_timeout);
	tcase_add_test(tc, test_attach);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return util_run(engine_suite());
}

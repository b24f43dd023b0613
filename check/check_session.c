/*
 * check_session.c: the session rules (lib/session.c) on a real state file
 * and audit log in a temporary directory, and a fake Docker engine: a
 * transport that keeps a small table of containers, answers the Engine
 * API calls session.c makes (create, start, remove, inspect, list, info,
 * ping) and can be told to fail any of them.  Time is passed in, never
 * slept through.
 */
#include "compat.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "clock.h"
#include "engine.h"
#include "log.h"
#include "session.h"
#include "store.h"
#include "util.h"

#define T0 1700000000000LL
#define IDLE_MS (300LL * 1000)
#define LIFE_MS (1800LL * 1000)
#define STALE_MS (2 * 30LL * 1000 + 5000)	/* 2 engine timeouts + 5 s */
#define DESTROY_MS 7000L
#define IP "203.0.113.5"
#define IP2 "198.51.100.7"
#define IP3 "192.0.2.9"
#define IP4 "192.0.2.10"
#define INSTANCE "test-a"
#define OTHER_INSTANCE "test-b"
#define NOID "sess_00000000000000000000000000000000"
#define SID_A "sess_0123456789abcdef0123456789abcdef"
#define SID_B "sess_fedcba9876543210fedcba9876543210"

/* ---- the fake engine ------------------------------------------------- */

enum fake_op {
	FAKE_CREATE,
	FAKE_START,
	FAKE_REMOVE,
	FAKE_INSPECT,
	FAKE_LIST,
	FAKE_INFO,
	FAKE_PING,
	FAKE_NOPS
};

struct fake_ctr {
	char id[ENGINE_ID_SIZE];
	char name[96];
	json_t *labels;		/* owned */
	bool running;
};

/* A failure to inject: the transport fails with err, or else the engine
 * answers status (when not 0). */
struct fake_inject {
	long status;
	enum err err;
};

struct fake {
	struct fake_ctr c[32];
	size_t n;
	unsigned seq;
	struct fake_inject inject[FAKE_NOPS];
	unsigned calls[FAKE_NOPS];
	long timeout_ms[FAKE_NOPS];	/* of the last call of each kind */
	json_t *create_body;	/* the last create body, parsed */
	void (*on_start)(const char *session);
	void (*on_list)(void);
	int freed;
};

static struct fake fk;

static const char *
fake_label(const struct fake_ctr *c, const char *key)
{
	return json_string_value(json_object_get(c->labels, key));
}

static struct fake_ctr *
fake_find(struct fake *f, const char *id)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->c[i].id, id) == 0)
			return &f->c[i];
	return NULL;
}

static struct fake_ctr *
fake_by_name(struct fake *f, const char *name)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->c[i].name, name) == 0)
			return &f->c[i];
	return NULL;
}

/* A new container (not running) that takes over labels. */
static struct fake_ctr *
fake_new(struct fake *f, const char *name, json_t *labels)
{
	struct fake_ctr *c;

	ck_assert_uint_lt(f->n, nitems(f->c));
	ck_assert_ptr_nonnull(labels);
	c = &f->c[f->n++];
	memset(c, 0, sizeof(*c));
	f->seq++;
	(void)snprintf(c->id, sizeof(c->id), "%08x"
	    "5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed",
	    0xc0de0000u + (f->seq & 0xffffu));
	ck_assert(id_valid_docker(c->id));
	ck_assert(strlcpy_ok(c->name, name, sizeof(c->name)));
	c->labels = labels;
	return c;
}

static void
fake_drop(struct fake *f, struct fake_ctr *c)
{
	size_t i = (size_t)(c - f->c);

	json_decref(c->labels);
	memmove(&f->c[i], &f->c[i + 1], (f->n - i - 1) * sizeof(f->c[0]));
	f->n--;
}

static void
fake_clear(struct fake *f)
{
	while (f->n > 0)
		fake_drop(f, &f->c[f->n - 1]);
	json_decref(f->create_body);
	memset(f, 0, sizeof(*f));
}

/* Dump j (stolen) to an allocated string. */
static char *
fake_dump(json_t *j)
{
	char *s;

	ck_assert_ptr_nonnull(j);
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	ck_assert_ptr_nonnull(s);
	return s;
}

static char *
fake_message(const char *msg)
{
	return fake_dump(json_pack("{s:s}", "message", msg));
}

static long
fake_create(struct fake *f, const char *path, const char *body, char **text)
{
	const char *name = path + strlen("/containers/create?name=");
	struct fake_ctr *c;
	json_t *j, *labels;

	ck_assert_msg(body != NULL, "create without a body");
	j = json_loads(body, 0, NULL);
	ck_assert_msg(j != NULL, "create body is not JSON");
	json_decref(f->create_body);
	f->create_body = j;
	labels = json_object_get(j, "Labels");
	ck_assert(json_is_object(labels));
	if (fake_by_name(f, name) != NULL) {
		*text = fake_message("Conflict. The container name is already "
		    "in use");
		return 409;
	}
	c = fake_new(f, name, json_deep_copy(labels));
	*text = fake_dump(json_pack("{s:s, s:[]}", "Id", c->id, "Warnings"));
	return 201;
}

static long
fake_start(struct fake *f, const char *id, char **text)
{
	struct fake_ctr *c = fake_find(f, id);

	if (c == NULL) {
		*text = fake_message("No such container");
		return 404;
	}
	if (f->on_start != NULL && fake_label(c, "toolkata.session") != NULL)
		f->on_start(fake_label(c, "toolkata.session"));
	if (c->running)
		return 304;
	c->running = true;
	return 204;
}

static long
fake_remove(struct fake *f, const char *id, char **text)
{
	struct fake_ctr *c = fake_find(f, id);

	if (c == NULL) {
		*text = fake_message("No such container");
		return 404;
	}
	fake_drop(f, c);
	return 204;
}

static long
fake_inspect(struct fake *f, const char *id, char **text)
{
	struct fake_ctr *c = fake_find(f, id);

	if (c == NULL) {
		*text = fake_message("No such container");
		return 404;
	}
	*text = fake_dump(json_pack("{s:s, s:s, s:{s:s, s:b}, s:{s:O}}", "Id",
	    c->id, "Name", c->name, "State", "Status", c->running ? "running" :
	    "created", "Running", c->running, "Config", "Labels", c->labels));
	return 200;
}

static int
fake_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* URL-decode s up to '&' or its end into out. */
static void
fake_unescape(const char *s, char *out, size_t cap)
{
	size_t n = 0;

	while (*s != '\0' && *s != '&') {
		ck_assert_uint_lt(n + 1, cap);
		if (s[0] == '%' && fake_hex(s[1]) >= 0 && fake_hex(s[2]) >= 0) {
			out[n++] = (char)(fake_hex(s[1]) * 16 + fake_hex(s[2]));
			s += 3;
		} else
			out[n++] = *s++;
	}
	out[n] = '\0';
}

/* Does c pass every "key" / "key=value" of the label filter? */
static bool
fake_matches(const struct fake_ctr *c, json_t *label)
{
	size_t i;
	json_t *v;

	json_array_foreach(label, i, v) {
		const char *want = json_string_value(v);
		const char *eq, *have;
		char key[128];
		size_t klen;

		ck_assert_ptr_nonnull(want);
		eq = strchr(want, '=');
		klen = eq != NULL ? (size_t)(eq - want) : strlen(want);
		ck_assert_uint_lt(klen, sizeof(key));
		memcpy(key, want, klen);
		key[klen] = '\0';
		have = fake_label(c, key);
		if (have == NULL || (eq != NULL && strcmp(have, eq + 1) != 0))
			return false;
	}
	return true;
}

static long
fake_list(struct fake *f, const char *path, char **text)
{
	const char *q = strstr(path, "filters=");
	bool all = strstr(path, "all=1") != NULL;
	char filters[512];
	json_t *fj, *label, *out;

	if (f->on_list != NULL)
		f->on_list();
	ck_assert_ptr_nonnull(q);
	fake_unescape(q + strlen("filters="), filters, sizeof(filters));
	fj = json_loads(filters, 0, NULL);
	ck_assert_msg(fj != NULL, "filters are not JSON: %s", filters);
	label = json_object_get(fj, "label");
	ck_assert(json_is_array(label));
	out = json_array();
	ck_assert_ptr_nonnull(out);
	for (size_t i = 0; i < f->n; i++) {
		const struct fake_ctr *c = &f->c[i];
		char name[sizeof(c->name) + 1];

		if ((!all && !c->running) || !fake_matches(c, label))
			continue;
		(void)snprintf(name, sizeof(name), "/%s", c->name);
		ck_assert_int_eq(json_array_append_new(out, json_pack("{s:s, "
		    "s:[s], s:s, s:s, s:O}", "Id", c->id, "Names", name,
		    "State", c->running ? "running" : "created", "Status",
		    c->running ? "Up 1 second" : "Created", "Labels",
		    c->labels)), 0);
	}
	json_decref(fj);
	*text = fake_dump(out);
	return 200;
}

/* Which call is this; the container id of /containers/<id>/... in id. */
static enum fake_op
fake_route(const char *method, const char *path, char id[ENGINE_ID_SIZE])
{
	static const char ctr[] = "/containers/";
	const char *rest;
	size_t n;

	id[0] = '\0';
	if (strcmp(method, "GET") == 0 && strcmp(path, "/_ping") == 0)
		return FAKE_PING;
	if (strcmp(method, "GET") == 0 && strcmp(path, "/info") == 0)
		return FAKE_INFO;
	if (strcmp(method, "POST") == 0 &&
	    strncmp(path, "/containers/create?name=", 24) == 0)
		return FAKE_CREATE;
	if (strcmp(method, "GET") == 0 &&
	    strncmp(path, "/containers/json?", 17) == 0)
		return FAKE_LIST;
	if (strncmp(path, ctr, sizeof(ctr) - 1) != 0)
		return FAKE_NOPS;
	rest = path + sizeof(ctr) - 1;
	n = strcspn(rest, "/?");
	if (n != ENGINE_ID_SIZE - 1)
		return FAKE_NOPS;
	memcpy(id, rest, n);
	id[n] = '\0';
	rest += n;
	if (strcmp(method, "POST") == 0 && strcmp(rest, "/start") == 0)
		return FAKE_START;
	if (strcmp(method, "DELETE") == 0 && strcmp(rest, "?force=1&v=1") == 0)
		return FAKE_REMOVE;
	if (strcmp(method, "GET") == 0 && strcmp(rest, "/json") == 0)
		return FAKE_INSPECT;
	return FAKE_NOPS;
}

static enum err
fake_call(void *arg, const char *method, const char *path, const char *body,
    long timeout_ms, long *status, char *reply, size_t cap, size_t *len)
{
	struct fake *f = arg;
	char id[ENGINE_ID_SIZE];
	char *text = NULL;
	enum fake_op op = fake_route(method, path, id);

	ck_assert_msg(op != FAKE_NOPS, "unexpected call %s %s", method, path);
	f->calls[op]++;
	f->timeout_ms[op] = timeout_ms;
	*len = 0;
	reply[0] = '\0';
	if (f->inject[op].err != ERR_OK)
		return f->inject[op].err;
	if (f->inject[op].status != 0) {
		*status = f->inject[op].status;
		text = fake_message("injected failure");
	} else {
		switch (op) {
		case FAKE_CREATE:
			*status = fake_create(f, path, body, &text);
			break;
		case FAKE_START:
			*status = fake_start(f, id, &text);
			break;
		case FAKE_REMOVE:
			*status = fake_remove(f, id, &text);
			break;
		case FAKE_INSPECT:
			*status = fake_inspect(f, id, &text);
			break;
		case FAKE_LIST:
			*status = fake_list(f, path, &text);
			break;
		case FAKE_INFO:
			*status = 200;
			text = xstrdup("{\"Runtimes\":{\"runc\":{\"path\":"
			    "\"runc\"},\"runsc\":{\"path\":\"/usr/bin/runsc\"}},"
			    "\"MemTotal\":4294967296}");
			break;
		case FAKE_PING:
		default:
			*status = 200;
			text = xstrdup("OK");
			break;
		}
	}
	if (text != NULL) {
		*len = strlen(text);
		ck_assert_uint_lt(*len, cap);
		memcpy(reply, text, *len + 1);
		free(text);
	}
	return ERR_OK;
}

static void
fake_free(void *arg)
{
	struct fake *f = arg;

	f->freed++;
}

/* A labelled container of instance for session sid, made by the test. */
static void
ctr_add(const char *sid, const char *instance, bool running,
    char id[ENGINE_ID_SIZE])
{
	char name[64];
	struct fake_ctr *c;

	(void)snprintf(name, sizeof(name), "toolkata-%s", sid);
	c = fake_new(&fk, name, json_pack("{s:s, s:s, s:s, s:s}",
	    "toolkata.session", sid, "toolkata.instance", instance,
	    "toolkata.tool-pair", "jj-git", "toolkata.expires-at",
	    "2023-11-14T22:43:20.000Z"));
	c->running = running;
	if (id != NULL)
		(void)strlcpy_ok(id, c->id, ENGINE_ID_SIZE);
}

static unsigned
calls_total(void)
{
	unsigned n = 0;

	for (size_t i = 0; i < FAKE_NOPS; i++)
		n += fk.calls[i];
	return n;
}

/* ---- fixtures -------------------------------------------------------- */

static char dir[64];
static char statepath[128];
static char auditpath[128];
static struct cfg tcfg;
static struct session_ctx tctx;

/* Once per test case, in the runner: the directory, removed even after
 * failed tests (whose checked teardown does not run). */
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

static void
unlink_files(void)
{
	util_unlink_db(statepath);
	(void)unlink(auditpath);
}

static void
fe_set(struct fakeenv *fe, const char *name, const char *value)
{
	size_t i;

	for (i = 0; i < nitems(fe->kv) - 1 && fe->kv[i][0] != NULL; i++)
		;
	ck_assert_uint_lt(i, nitems(fe->kv) - 1);
	fe->kv[i][0] = name;
	fe->kv[i][1] = value;
}

/* The test cfg with the given per-IP limits (into tcfg). */
static void
load_cfg(const char *concurrent, const char *hourly)
{
	struct fakeenv fe;

	memset(&fe, 0, sizeof(fe));
	fe_set(&fe, "SANDBOX_INSTANCE", INSTANCE);
	fe_set(&fe, "SANDBOX_IMAGES",
	    "jj-git=toolkata-sandbox:latest,git-hg=toolkata-hg:2");
	/* No dockerd: the pool's settle attach fails at once. */
	fe_set(&fe, "SANDBOX_DOCKER_SOCKET", "/nonexistent/docker.sock");
	fe_set(&fe, "SANDBOX_MEMORY_MB", "256");
	fe_set(&fe, "SANDBOX_CPU_PERCENT", "75");
	fe_set(&fe, "SANDBOX_PIDS_LIMIT", "64");
	fe_set(&fe, "SANDBOX_PIDS_LIMIT_GVISOR", "300");
	fe_set(&fe, "SANDBOX_HOME_SIZE_MB", "40");
	fe_set(&fe, "SANDBOX_TMP_SIZE_MB", "12");
	fe_set(&fe, "SANDBOX_NOFILE", "128");
	fe_set(&fe, "SANDBOX_IDLE_TIMEOUT", "300");
	fe_set(&fe, "SANDBOX_MAX_LIFETIME", "1800");
	fe_set(&fe, "SANDBOX_ENGINE_TIMEOUT", "30");
	fe_set(&fe, "SANDBOX_DESTROY_TIMEOUT", "7");
	fe_set(&fe, "SANDBOX_STATE_FILE", statepath);
	fe_set(&fe, "SANDBOX_AUDIT_LOG", auditpath);
	fe_set(&fe, "MAX_CONCURRENT_PER_IP", concurrent);
	fe_set(&fe, "MAX_SESSIONS_PER_HOUR", hourly);
	util_cfg(&tcfg, &fe);
	ck_assert(!tcfg.development && !tcfg.disable_rate_limit);
}

static void
reload_cfg(const char *concurrent, const char *hourly)
{
	cfg_release(&tcfg);
	load_cfg(concurrent, hourly);
}

/* Per test: a fresh state file, audit log and fake engine. */
static void
setup(void)
{
	struct engine_transport t = { fake_call, fake_free, &fk };
	char *errstr = NULL;
	int devnull = open("/dev/null", O_WRONLY);

	/* The engine and the session code log every failure we inject. */
	if (devnull >= 0) {
		(void)dup2(devnull, STDERR_FILENO);
		(void)close(devnull);
	}
	memset(&fk, 0, sizeof(fk));
	(void)snprintf(statepath, sizeof(statepath), "%s/state.%ld.db", dir,
	    (long)getpid());
	(void)snprintf(auditpath, sizeof(auditpath), "%s/audit.%ld.log", dir,
	    (long)getpid());
	unlink_files();
	load_cfg("2", "50");
	memset(&tctx, 0, sizeof(tctx));
	tctx.cfg = &tcfg;
	tctx.store = store_open(statepath, &errstr);
	ck_assert_msg(tctx.store != NULL, "store_open: %s",
	    errstr != NULL ? errstr : "?");
	tctx.audit = audit_open(auditpath, &errstr);
	ck_assert_msg(tctx.audit != NULL, "audit_open: %s",
	    errstr != NULL ? errstr : "?");
	tctx.engine = engine_new_transport(&t, 30000);
	tctx.runtime = "runsc";
}

static void
teardown(void)
{
	engine_free(tctx.engine);
	ck_assert_int_eq(fk.freed, 1);
	store_close(tctx.store);
	audit_close(tctx.audit);
	cfg_release(&tcfg);
	memset(&tctx, 0, sizeof(tctx));
	fake_clear(&fk);
	unlink_files();
}

/* ---- helpers --------------------------------------------------------- */

static void
get_row(const char *id, struct store_session *s)
{
	ck_assert_int_eq(store_get(tctx.store, id, s), ERR_OK);
}

static long long
live_count(void)
{
	long long n = -1;

	ck_assert_int_eq(store_count_live(tctx.store, &n), ERR_OK);
	return n;
}

/* Rows of the hourly window (history) for session id. */
static long long
history_of(const char *id)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	long long n = -1;

	ck_assert_int_eq(sqlite3_open(statepath, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT count(*) FROM history "
	    "WHERE session_id=?1", -1, &q, NULL), SQLITE_OK);
	(void)sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW)
		n = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	sqlite3_close(db);
	return n;
}

static void
expect_ended(const char *id, const char *reason, int64_t at)
{
	struct store_session s;

	get_row(id, &s);
	ck_assert_int_eq(s.state, STORE_ENDED);
	ck_assert_str_eq(s.end_reason, reason);
	if (at != 0)
		ck_assert(s.ended_at == at);
}

/* A session_create with only a tool pair, as a B1 client asks. */
static enum err
create_pair(const char *pair, const char *ip, int64_t now,
    struct store_session *s, enum ratelimit_verdict *v, long long *retry)
{
	struct session_spec spec;

	memset(&spec, 0, sizeof(spec));
	(void)strlcpy_ok(spec.tool_pair, pair, sizeof(spec.tool_pair));
	return session_create(&tctx, &spec, ip, now, s, v, retry);
}

static void
create_ok(const char *ip, int64_t now, struct store_session *s)
{
	enum ratelimit_verdict v = RATELIMIT_HOURLY;
	long long retry = -1;

	ck_assert_int_eq(create_pair("jj-git", ip, now, s, &v,
	    &retry), ERR_OK);
	ck_assert_int_eq(v, RATELIMIT_OK);
	ck_assert_int_eq(retry, 0);
}

/* Reserve a "creating" row directly, owned by pid. */
static void
reserve_row(struct store_session *s, const char *ip, long pid, int64_t now)
{
	struct ratelimit rl = { tcfg.sessions_per_hour, tcfg.concurrent_per_ip,
		tcfg.websockets_per_ip };
	enum ratelimit_verdict v;
	long long retry;

	memset(s, 0, sizeof(*s));
	ck_assert_int_eq(id_new(s->id), ERR_OK);
	(void)strlcpy_ok(s->tool_pair, "jj-git", sizeof(s->tool_pair));
	(void)strlcpy_ok(s->client_ip, ip, sizeof(s->client_ip));
	s->state = STORE_CREATING;
	s->created_at = s->last_active = now;
	s->expires_at = now + LIFE_MS;
	s->owner_pid = pid;
	ck_assert_int_eq(store_reserve(tctx.store, &rl, s, IDLE_MS, &v, &retry),
	    ERR_OK);
}

/* The pid of a process that has exited and been waited for. */
static long
dead_pid(void)
{
	pid_t pid = fork();
	int status;

	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(!store_pid_alive((long)pid));
	return (long)pid;
}

static struct fake_ctr *
ctr_of(const char *id)
{
	return fake_find(&fk, id);
}

/* The container id, which must exist. */
static struct fake_ctr *
ctr_must(const char *id)
{
	struct fake_ctr *c = fake_find(&fk, id);

	ck_assert_msg(c != NULL, "no container %.12s", id);
	return c;
}

/* Every audit line, parsed, in an array (caller decrefs). */
static json_t *
audit_lines(void)
{
	char line[8192];
	json_t *all = json_array();
	FILE *fp = fopen(auditpath, "r");

	ck_assert_ptr_nonnull(all);
	if (fp == NULL)
		return all;
	while (fgets(line, sizeof(line), fp) != NULL) {
		json_error_t jerr;
		json_t *j = json_loads(line, 0, &jerr);

		ck_assert_msg(j != NULL, "audit line is not JSON: %s", jerr.text);
		ck_assert_int_eq(json_array_append_new(all, j), 0);
	}
	(void)fclose(fp);
	return all;
}

static bool
audit_match(json_t *j, const char *event, const char *sid)
{
	const char *e = json_string_value(json_object_get(j, "event"));
	const char *s = json_string_value(json_object_get(j, "sessionId"));

	return (event == NULL || (e != NULL && strcmp(e, event) == 0)) &&
	    (sid == NULL || (s != NULL && strcmp(s, sid) == 0));
}

/* Lines of event (any when NULL) about sid (any when NULL). */
static size_t
audit_count(const char *event, const char *sid)
{
	json_t *all = audit_lines(), *j;
	size_t i, n = 0;

	json_array_foreach(all, i, j) {
		if (audit_match(j, event, sid))
			n++;
	}
	json_decref(all);
	return n;
}

/* The last line of event about sid has key == want. */
static void
audit_is(const char *event, const char *sid, const char *key,
    const char *want)
{
	json_t *all = audit_lines(), *j, *found = NULL;
	const char *v;
	size_t i;

	json_array_foreach(all, i, j) {
		if (audit_match(j, event, sid))
			found = j;
	}
	ck_assert_msg(found != NULL, "no %s event for %s", event,
	    sid != NULL ? sid : "any session");
	v = json_string_value(json_object_get(found, key));
	ck_assert_msg(v != NULL && strcmp(v, want) == 0,
	    "%s: %s is '%s', not '%s'", event, key, v != NULL ? v : "(none)",
	    want);
	json_decref(all);
}

static bool
env_has(json_t *body, const char *want)
{
	json_t *env = json_object_get(body, "Env"), *v;
	size_t i;

	json_array_foreach(env, i, v) {
		const char *s = json_string_value(v);

		if (s != NULL && strcmp(s, want) == 0)
			return true;
	}
	return false;
}

static void
reap_ok(int64_t now, struct session_reap *rep)
{
	memset(rep, 0xa5, sizeof(*rep));
	ck_assert_int_eq(session_reap(&tctx, now, rep), ERR_OK);
}

static void
expect_rep(const struct session_reap *rep, unsigned expired,
    unsigned abandoned, unsigned gone, unsigned orphans, unsigned errors)
{
	ck_assert_msg(rep->expired == expired && rep->abandoned == abandoned &&
	    rep->gone == gone && rep->orphans == orphans &&
	    rep->errors == errors, "reap: expired %u abandoned %u gone %u "
	    "orphans %u errors %u, want %u %u %u %u %u", rep->expired,
	    rep->abandoned, rep->gone, rep->orphans, rep->errors, expired,
	    abandoned, gone, orphans, errors);
}

/* ---- the fake itself ------------------------------------------------- */

struct listed {
	struct engine_container c[16];
	size_t n;
};

static void
on_listed(const struct engine_container *c, void *arg)
{
	struct listed *l = arg;

	ck_assert_uint_lt(l->n, nitems(l->c));
	l->c[l->n++] = *c;
}

START_TEST(test_fake_engine)
{
	char a[ENGINE_ID_SIZE], b[ENGINE_ID_SIZE], c[ENGINE_ID_SIZE];
	struct listed l;
	bool running = false, has = false;

	ctr_add(SID_A, INSTANCE, true, a);
	ctr_add(SID_B, OTHER_INSTANCE, true, b);
	ctr_add(NOID, INSTANCE, false, c);
	ck_assert_str_ne(a, b);
	ck_assert_int_eq(engine_ping(tctx.engine), ERR_OK);
	ck_assert_int_eq(engine_has_runtime(tctx.engine, "runsc", &has),
	    ERR_OK);
	ck_assert(has);
	ck_assert_int_eq(engine_inspect(tctx.engine, a, &running), ERR_OK);
	ck_assert(running);
	ck_assert_int_eq(engine_inspect(tctx.engine, c, &running), ERR_OK);
	ck_assert(!running);
	memset(&l, 0, sizeof(l));
	ck_assert_int_eq(engine_list(tctx.engine, INSTANCE, on_listed, &l),
	    ERR_OK);
	ck_assert_uint_eq(l.n, 2);
	ck_assert_str_eq(l.c[0].id, a);
	ck_assert_str_eq(l.c[0].session, SID_A);
	ck_assert(l.c[0].running);
	ck_assert_str_eq(l.c[1].id, c);
	ck_assert(!l.c[1].running);
	ck_assert_int_eq(engine_remove(tctx.engine, a, 1000), ERR_OK);
	ck_assert_int_eq(fk.timeout_ms[FAKE_REMOVE], 1000);
	ck_assert_int_eq(engine_inspect(tctx.engine, a, &running),
	    ERR_NOTFOUND);
	ck_assert_int_eq(engine_remove(tctx.engine, a, 1000), ERR_OK);
	ck_assert_uint_eq(fk.n, 2);
	fk.inject[FAKE_PING].err = ERR_TIMEOUT;
	ck_assert_int_eq(engine_ping(tctx.engine), ERR_TIMEOUT);
	fk.inject[FAKE_INFO].status = 500;
	ck_assert_int_eq(engine_has_runtime(tctx.engine, "runsc", &has),
	    ERR_UPSTREAM);
	ck_assert_uint_eq(fk.calls[FAKE_LIST], 1);
	ck_assert_uint_eq(fk.calls[FAKE_INSPECT], 3);
}
END_TEST

/* ---- session_create -------------------------------------------------- */

START_TEST(test_create_ok)
{
	struct store_session s, row;
	const struct fake_ctr *c;
	char expires[CLOCK_ISO_SIZE], name[64];

	create_ok(IP, T0, &s);
	ck_assert(id_valid(s.id, strlen(s.id)));
	ck_assert(id_valid_docker(s.container_id));
	ck_assert_int_eq(s.state, STORE_RUNNING);
	ck_assert_str_eq(s.tool_pair, "jj-git");
	ck_assert_str_eq(s.client_ip, IP);
	ck_assert(s.created_at == T0);
	ck_assert(s.last_active == T0);
	ck_assert(s.expires_at == T0 + LIFE_MS);

	/* The row: running, with its container. */
	get_row(s.id, &row);
	ck_assert_int_eq(row.state, STORE_RUNNING);
	ck_assert_str_eq(row.container_id, s.container_id);
	ck_assert_str_eq(row.tool_pair, "jj-git");
	ck_assert_str_eq(row.client_ip, IP);
	ck_assert(row.created_at == T0);
	ck_assert(row.last_active == T0);
	ck_assert(row.expires_at == T0 + LIFE_MS);
	ck_assert(row.ended_at == 0);
	ck_assert_str_eq(row.end_reason, "");
	ck_assert_int_eq(row.owner_pid, (long)getpid());
	ck_assert_int_eq(live_count(), 1);

	/* The container: made, started, labelled. */
	ck_assert_uint_eq(fk.n, 1);
	c = ctr_of(s.container_id);
	ck_assert_ptr_nonnull(c);
	ck_assert(c->running);
	(void)snprintf(name, sizeof(name), "toolkata-%s", s.id);
	ck_assert_str_eq(c->name, name);
	clock_iso(T0 + LIFE_MS, expires);
	ck_assert_str_eq(fake_label(c, "toolkata.session"), s.id);
	ck_assert_str_eq(fake_label(c, "toolkata.instance"), INSTANCE);
	ck_assert_str_eq(fake_label(c, "toolkata.tool-pair"), "jj-git");
	ck_assert_str_eq(fake_label(c, "toolkata.expires-at"), expires);
	ck_assert_uint_eq(fk.calls[FAKE_CREATE], 1);
	ck_assert_uint_eq(fk.calls[FAKE_START], 1);
	ck_assert_uint_eq(calls_total(), 2);

	/* One audit line: session.created. */
	ck_assert_uint_eq(audit_count(NULL, NULL), 1);
	ck_assert_uint_eq(audit_count("session.created", s.id), 1);
	audit_is("session.created", s.id, "level", "info");
	audit_is("session.created", s.id, "message",
	    "Session created for tool pair: jj-git");
	audit_is("session.created", s.id, "toolPair", "jj-git");
	audit_is("session.created", s.id, "clientIp", IP);
	audit_is("session.created", s.id, "expiresAt", expires);
}
END_TEST

/* The create body carries every limit of the cfg. */
START_TEST(test_create_limits)
{
	struct store_session s;
	json_t *body, *hc, *tmpfs, *ul;

	create_ok(IP, T0, &s);
	body = fk.create_body;
	ck_assert_ptr_nonnull(body);
	ck_assert_str_eq(jstr(body, "Image"), "toolkata-sandbox:latest");
	ck_assert(env_has(body, "TOOLKATA_LIFETIME=1800"));
	ck_assert(env_has(body, "TOOL_PAIR=jj-git"));
	hc = json_object_get(body, "HostConfig");
	ck_assert(json_is_object(hc));
	ck_assert(jint(hc, "Memory") == 256LL * 1024 * 1024);
	ck_assert(jint(hc, "MemorySwap") == 256LL * 1024 * 1024);
	ck_assert(jint(hc, "CpuPeriod") == 100000);
	ck_assert(jint(hc, "CpuQuota") == 75000);
	/* gVisor in use: its own PIDs limit and the runtime. */
	ck_assert(jint(hc, "PidsLimit") == 300);
	ck_assert_str_eq(jstr(hc, "Runtime"), "runsc");
	ck_assert(jint(hc, "ShmSize") == 12LL * 1024 * 1024);
	tmpfs = json_object_get(hc, "Tmpfs");
	ck_assert_ptr_nonnull(strstr(jstr(tmpfs, "/home/toolkata"),
	    "size=40m"));
	ck_assert_ptr_nonnull(strstr(jstr(tmpfs, "/tmp"), "size=12m"));
	ul = json_array_get(json_object_get(hc, "Ulimits"), 0);
	ck_assert_str_eq(jstr(ul, "Name"), "nofile");
	ck_assert(jint(ul, "Soft") == 128);
	ck_assert(jint(ul, "Hard") == 128);
	ck_assert_str_eq(jstr(hc, "NetworkMode"), "none");
	ck_assert(json_is_true(json_object_get(hc, "ReadonlyRootfs")));
}
END_TEST

/* runc (no gVisor runtime): the plain PIDs limit, no Runtime key; and the
 * image follows the tool pair. */
START_TEST(test_create_runc_other_pair)
{
	struct store_session s;
	enum ratelimit_verdict v;
	long long retry;
	json_t *hc;

	tctx.runtime = NULL;
	ck_assert_int_eq(create_pair("git-hg", IP, T0, &s, &v,
	    &retry), ERR_OK);
	ck_assert_str_eq(s.tool_pair, "git-hg");
	ck_assert_str_eq(jstr(fk.create_body, "Image"), "toolkata-hg:2");
	ck_assert(env_has(fk.create_body, "TOOL_PAIR=git-hg"));
	hc = json_object_get(fk.create_body, "HostConfig");
	ck_assert(jint(hc, "PidsLimit") == 64);
	ck_assert_ptr_null(json_object_get(hc, "Runtime"));
	ck_assert_str_eq(fake_label(ctr_must(s.container_id),
	    "toolkata.tool-pair"), "git-hg");
	audit_is("session.created", s.id, "toolPair", "git-hg");
}
END_TEST

static const char *const bad_pairs[] = { "vim-emacs", "", "JJ-GIT",
	"jj-git ", "jj" };

START_TEST(test_create_unknown_pair)
{
	struct store_session s;
	enum ratelimit_verdict v = RATELIMIT_HOURLY;
	long long retry = -1;

	reload_cfg("1", "1");
	ck_assert_int_eq(create_pair(bad_pairs[_i], IP, T0, &s, &v,
	    &retry), ERR_INVAL);
	ck_assert_int_eq(v, RATELIMIT_OK);
	ck_assert_int_eq(retry, 0);
	ck_assert_int_eq(live_count(), 0);
	ck_assert_uint_eq(calls_total(), 0);
	ck_assert_uint_eq(audit_count(NULL, NULL), 0);
	/* No quota was used either. */
	create_ok(IP, T0 + 1000, &s);
}
END_TEST

/* ---- environments ------------------------------------------------------ */

static enum err
create_env(const char *pair, const char *env, struct store_session *s)
{
	struct session_spec spec;
	enum ratelimit_verdict v;
	long long retry;

	memset(&spec, 0, sizeof(spec));
	(void)strlcpy_ok(spec.tool_pair, pair, sizeof(spec.tool_pair));
	(void)strlcpy_ok(spec.environment, env, sizeof(spec.environment));
	return session_create(&tctx, &spec, IP, T0, s, &v, &retry);
}

/* bash runs the pair's image, node its own; both labelled and stored. */
START_TEST(test_create_environment)
{
	struct store_session s, row;

	ck_assert_int_eq(create_env("jj-git", "", &s), ERR_OK);
	ck_assert_str_eq(s.environment, "bash");
	ck_assert_str_eq(fake_label(ctr_must(s.container_id),
	    "toolkata.environment"), "bash");
	ck_assert_str_eq(jstr(fk.create_body, "Image"),
	    "toolkata-sandbox:latest");
	ck_assert(env_has(fk.create_body, "TOOLKATA_PROC_MEMORY_MB=192"));
	ck_assert_int_eq(create_env("git-hg", "node", &s), ERR_OK);
	ck_assert_str_eq(jstr(fk.create_body, "Image"),
	    "toolkata-env-node:latest");
	/* V8's reservations: node's address-space cap is its own. */
	ck_assert(env_has(fk.create_body, "TOOLKATA_PROC_MEMORY_MB=1024"));
	ck_assert_str_eq(fake_label(ctr_must(s.container_id),
	    "toolkata.environment"), "node");
	ck_assert_str_eq(fake_label(ctr_must(s.container_id),
	    "toolkata.tool-pair"), "git-hg");
	get_row(s.id, &row);
	ck_assert_str_eq(row.environment, "node");
	ck_assert_str_eq(row.tool_pair, "git-hg");
	audit_is("session.created", s.id, "environment", "node");
}
END_TEST

static const char *const bad_envs[] = { "scala", "Node", "node ", "python" };

/* Unknown, or known but its image was missing at start: nothing made. */
START_TEST(test_create_unknown_environment)
{
	struct store_session s;

	tcfg.envs[2].missing = true;	/* python */
	ck_assert_str_eq(tcfg.envs[2].name, "python");
	ck_assert_int_eq(create_env("jj-git", bad_envs[_i], &s), ERR_INVAL);
	ck_assert_int_eq(live_count(), 0);
	ck_assert_uint_eq(calls_total(), 0);
	ck_assert_uint_eq(audit_count(NULL, NULL), 0);
}
END_TEST

/* A pool container is handed out only for its environment and pair. */
START_TEST(test_pool_by_environment)
{
	struct store_pool_key node = { "toolkata-env-node:latest", "node",
		"jj-git" };
	struct store_pool_key bash = { "toolkata-sandbox:latest", "bash",
		"jj-git" };
	struct store_session s;
	const struct fake_ctr *c;
	unsigned ready, starting;

	reload_cfg("5", "50");
	ck_assert_int_eq(session_pool_fill(&tctx, &node, T0), ERR_OK);
	c = &fk.c[fk.n - 1];
	ck_assert_str_eq(fake_label(c, "toolkata.environment"), "node");
	ck_assert_ptr_nonnull(fake_label(c, "toolkata.pool"));
	ck_assert_int_eq(session_pool_status(&tctx, &node, T0, &ready,
	    &starting), ERR_OK);
	ck_assert_uint_eq(ready, 1);
	ck_assert_int_eq(session_pool_status(&tctx, &bash, T0, &ready,
	    &starting), ERR_OK);
	ck_assert_uint_eq(ready + starting, 0);
	/* bash, and node for another pair: the cold path. */
	ck_assert_int_eq(create_env("jj-git", "bash", &s), ERR_OK);
	ck_assert_uint_eq(fk.calls[FAKE_CREATE], 2);
	ck_assert_int_eq(create_env("git-hg", "node", &s), ERR_OK);
	ck_assert_uint_eq(fk.calls[FAKE_CREATE], 3);
	/* node for jj-git: the pooled container, no create. */
	ck_assert_int_eq(create_env("jj-git", "node", &s), ERR_OK);
	ck_assert_uint_eq(fk.calls[FAKE_CREATE], 3);
	ck_assert_str_eq(s.container_id, c->id);
	ck_assert_str_eq(s.environment, "node");
}
END_TEST

START_TEST(test_create_quota_concurrent)
{
	struct store_session a, b, s;
	enum ratelimit_verdict v = RATELIMIT_OK;
	long long retry = 0;

	reload_cfg("1", "50");
	create_ok(IP, T0, &a);
	ck_assert_int_eq(create_pair("jj-git", IP, T0 + 1000, &s, &v,
	    &retry), ERR_LIMIT);
	ck_assert_int_eq(v, RATELIMIT_CONCURRENT);
	/* The live session ends by idleness at T0 + 300 s. */
	ck_assert_int_eq(retry, 299);
	ck_assert_int_eq(live_count(), 1);
	ck_assert_uint_eq(fk.n, 1);
	ck_assert_uint_eq(fk.calls[FAKE_CREATE], 1);
	ck_assert_uint_eq(audit_count(NULL, NULL), 1);

	/* Per IP: another address may. */
	create_ok(IP2, T0 + 1000, &b);
	/* Ending the session releases the slot. */
	ck_assert_int_eq(session_end(&tctx, a.id, "user_request", IP,
	    T0 + 2000), ERR_OK);
	create_ok(IP, T0 + 3000, &s);
	ck_assert_int_eq(live_count(), 2);
}
END_TEST

START_TEST(test_create_quota_hourly)
{
	struct store_session a, s;
	enum ratelimit_verdict v = RATELIMIT_OK;
	long long retry = 0;

	reload_cfg("5", "1");
	create_ok(IP, T0, &a);
	ck_assert_int_eq(session_end(&tctx, a.id, "user_request", IP,
	    T0 + 1000), ERR_OK);
	ck_assert_int_eq(create_pair("jj-git", IP, T0 + 60000, &s,
	    &v, &retry), ERR_LIMIT);
	ck_assert_int_eq(v, RATELIMIT_HOURLY);
	ck_assert_int_eq(retry, 3540);
	ck_assert_int_eq(live_count(), 0);
	ck_assert_uint_eq(fk.n, 0);
	ck_assert_uint_eq(fk.calls[FAKE_CREATE], 1);
	ck_assert_uint_eq(audit_count("session.created", NULL), 1);
	/* An hour after the first one it may again. */
	create_ok(IP, T0 + 3600 * 1000 + 1, &s);
}
END_TEST

static const struct {
	enum fake_op op;
	long status;
	enum err err;
	enum err want;
} create_failures[] = {
	{ FAKE_CREATE, 500, ERR_OK, ERR_UPSTREAM },
	{ FAKE_CREATE, 400, ERR_OK, ERR_UPSTREAM },
	{ FAKE_CREATE, 0, ERR_TIMEOUT, ERR_TIMEOUT },
	{ FAKE_CREATE, 0, ERR_UPSTREAM, ERR_UPSTREAM },
	{ FAKE_START, 500, ERR_OK, ERR_UPSTREAM },
	{ FAKE_START, 0, ERR_TIMEOUT, ERR_TIMEOUT },
	{ FAKE_START, 0, ERR_UPSTREAM, ERR_UPSTREAM },
};

/* An engine failure leaves nothing behind and uses no quota. */
START_TEST(test_create_engine_fails)
{
	struct store_session s, again;
	struct fake_inject *inj = &fk.inject[create_failures[_i].op];
	enum ratelimit_verdict v = RATELIMIT_HOURLY;
	long long retry = -1;
	bool started = create_failures[_i].op == FAKE_START;

	reload_cfg("1", "1");
	inj->status = create_failures[_i].status;
	inj->err = create_failures[_i].err;
	ck_assert_int_eq(create_pair("jj-git", IP, T0, &s, &v,
	    &retry), create_failures[_i].want);
	ck_assert_int_eq(v, RATELIMIT_OK);
	ck_assert_int_eq(retry, 0);
	ck_assert_str_eq(s.container_id, "");
	ck_assert_int_eq(store_get(tctx.store, s.id, &again), ERR_NOTFOUND);
	ck_assert_int_eq(live_count(), 0);
	/* A container that was made but did not start is removed. */
	ck_assert_uint_eq(fk.n, 0);
	ck_assert_uint_eq(fk.calls[FAKE_REMOVE], started ? 1 : 0);
	if (started)
		ck_assert_int_eq(fk.timeout_ms[FAKE_REMOVE], DESTROY_MS);
	ck_assert_uint_eq(audit_count("session.created", NULL), 0);

	/* MAX_CONCURRENT_PER_IP=1, MAX_SESSIONS_PER_HOUR=1: still free. */
	memset(inj, 0, sizeof(*inj));
	create_ok(IP, T0 + 1000, &again);
	ck_assert_uint_eq(fk.n, 1);
}
END_TEST

/*
 * session.h: "ERR_UPSTREAM / ERR_TIMEOUT: the engine failed".  A 404 from
 * create ("No such image") or start, or a 409, is an engine failure too;
 * passed through as ERR_NOTFOUND it becomes "404 Session not found" for a
 * POST /api/v1/sessions (fcgi/reply.c), where the contract says 500.
 */
static const struct {
	enum fake_op op;
	long status;
} create_statuses[] = {
	{ FAKE_CREATE, 404 },
	{ FAKE_CREATE, 409 },
	{ FAKE_START, 404 },
	{ FAKE_START, 409 },
};

START_TEST(test_create_engine_status_is_upstream)
{
	struct store_session s, again;
	enum ratelimit_verdict v;
	long long retry;
	enum err r;

	reload_cfg("1", "1");
	fk.inject[create_statuses[_i].op].status = create_statuses[_i].status;
	r = create_pair("jj-git", IP, T0, &s, &v, &retry);
	/* Nothing left behind whatever the code. */
	ck_assert_int_eq(live_count(), 0);
	ck_assert_uint_eq(fk.n, 0);
	ck_assert_msg(r == ERR_UPSTREAM, "engine status %ld on %s: "
	    "session_create returned %s, not upstream",
	    create_statuses[_i].status,
	    create_statuses[_i].op == FAKE_CREATE ? "create" : "start",
	    err_str(r));
	memset(&fk.inject, 0, sizeof(fk.inject));
	create_ok(IP, T0 + 1000, &again);
}
END_TEST

/* The audit sink fails closed: the session is ended and its container
 * removed. */
START_TEST(test_create_audit_fails)
{
	struct store_session s;
	enum ratelimit_verdict v;
	long long retry;
	char *errstr = NULL;

	audit_close(tctx.audit);
	tctx.audit = audit_open("/dev/full", &errstr);
	ck_assert_msg(tctx.audit != NULL, "audit_open: %s",
	    errstr != NULL ? errstr : "?");
	ck_assert_int_eq(create_pair("jj-git", IP, T0, &s, &v,
	    &retry), ERR_IO);
	expect_ended(s.id, "audit_failed", T0);
	ck_assert_int_eq(live_count(), 0);
	ck_assert_uint_eq(fk.n, 0);
	ck_assert_uint_eq(fk.calls[FAKE_REMOVE], 1);
}
END_TEST

/* The reaper gave up on the reservation while the container was being
 * made: store_attach fails, the container goes. */
static void
hook_abandon(const char *sid)
{
	ck_assert_int_eq(store_end(tctx.store, sid, "abandoned", T0 + 500),
	    ERR_OK);
}

START_TEST(test_create_attach_lost)
{
	struct store_session s;
	enum ratelimit_verdict v;
	long long retry;

	fk.on_start = hook_abandon;
	ck_assert_int_eq(create_pair("jj-git", IP, T0, &s, &v,
	    &retry), ERR_UPSTREAM);
	ck_assert_uint_eq(fk.n, 0);
	ck_assert_uint_eq(fk.calls[FAKE_REMOVE], 1);
	expect_ended(s.id, "abandoned", T0 + 500);
	ck_assert_uint_eq(audit_count("session.created", NULL), 0);
}
END_TEST

/* Another connection takes the state file's write lock (as a stuck
 * process would); the_lock_release() gives it back. */
static sqlite3 *the_lock;

static void
the_lock_take(void)
{
	ck_assert_int_eq(sqlite3_open(statepath, &the_lock), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(the_lock, "BEGIN EXCLUSIVE", NULL, NULL,
	    NULL), SQLITE_OK);
}

static void
the_lock_release(void)
{
	(void)sqlite3_exec(the_lock, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(the_lock);
	the_lock = NULL;
}

static void
hook_lock(const char *sid ATTR_UNUSED)
{
	the_lock_take();
}

/* The store locks up between reserve and attach: the container goes, the
 * client hears ERR_IO (503), and the next reaper pass of this process
 * forgets the reservation once the store writes again, instead of holding
 * the concurrent slot for two engine timeouts (issue 8: ~65 s). */
START_TEST(test_create_store_locked_mid_create)
{
	struct store_session s;
	struct session_reap rep;
	enum ratelimit_verdict v;
	long long retry;

	store_set_busy(tctx.store, 100);
	fk.on_start = hook_lock;
	ck_assert_int_eq(create_pair("jj-git", IP, T0, &s, &v,
	    &retry), ERR_IO);
	ck_assert_uint_eq(fk.n, 0);
	/* Still locked: the pass can do nothing yet. */
	(void)session_reap(&tctx, T0 + 500, &rep);
	the_lock_release();
	ck_assert_int_eq(live_count(), 1);
	reap_ok(T0 + 1000, &rep);
	ck_assert_int_eq(live_count(), 0);
	ck_assert_int_eq(history_of(s.id), 0);
	fk.on_start = NULL;
	create_ok(IP, T0 + 1000, &s);
}
END_TEST

/* ---- session_end ----------------------------------------------------- */

/* DELETE while the store cannot write: the container goes all the same
 * and the caller hears ERR_IO (issue 8: 500 and the container ran on). */
START_TEST(test_end_store_locked)
{
	struct store_session s;
	struct session_reap rep;

	create_ok(IP, T0, &s);
	ck_assert_uint_eq(fk.n, 1);
	store_set_busy(tctx.store, 100);
	the_lock_take();
	ck_assert_int_eq(session_end(&tctx, s.id, "user_request", IP, T0 + 10),
	    ERR_IO);
	ck_assert_uint_eq(fk.n, 0);
	the_lock_release();
	/* Once it writes, the reaper ends the row: its container is gone. */
	reap_ok(T0 + 20, &rep);
	expect_ended(s.id, "container_exited", T0 + 20);
	ck_assert_int_eq(live_count(), 0);
}
END_TEST

START_TEST(test_end_once)
{
	struct store_session s;

	create_ok(IP, T0, &s);
	ck_assert_int_eq(session_end(&tctx, s.id, "user_request", IP,
	    T0 + 5000), ERR_OK);
	expect_ended(s.id, "user_request", T0 + 5000);
	ck_assert_int_eq(live_count(), 0);
	ck_assert_ptr_null(ctr_of(s.container_id));
	ck_assert_uint_eq(fk.n, 0);
	ck_assert_uint_eq(fk.calls[FAKE_REMOVE], 1);
	ck_assert_int_eq(fk.timeout_ms[FAKE_REMOVE], DESTROY_MS);
	ck_assert_uint_eq(audit_count("session.destroyed", s.id), 1);
	audit_is("session.destroyed", s.id, "level", "info");
	audit_is("session.destroyed", s.id, "reason", "user_request");
	audit_is("session.destroyed", s.id, "clientIp", IP);
	audit_is("session.destroyed", s.id, "message",
	    "Session destroyed (reason: user_request)");
	ck_assert_uint_eq(audit_count(NULL, NULL), 2);

	/* Again: nothing more happens. */
	ck_assert_int_eq(session_end(&tctx, s.id, "user_request", IP,
	    T0 + 6000), ERR_OK);
	expect_ended(s.id, "user_request", T0 + 5000);
	ck_assert_uint_eq(fk.calls[FAKE_REMOVE], 1);
	ck_assert_uint_eq(audit_count(NULL, NULL), 2);
}
END_TEST

START_TEST(test_end_unknown)
{
	struct store_session s;

	ck_assert_int_eq(session_end(&tctx, NOID, "user_request", IP, T0),
	    ERR_OK);
	ck_assert_int_eq(session_end(&tctx, SID_A, "idle", NULL, T0), ERR_OK);
	ck_assert_uint_eq(calls_total(), 0);
	ck_assert_uint_eq(audit_count(NULL, NULL), 0);
	ck_assert_int_eq(store_get(tctx.store, NOID, &s), ERR_NOTFOUND);
}
END_TEST

static const struct {
	long status;
	enum err err;
	enum err want;
} remove_failures[] = {
	{ 500, ERR_OK, ERR_UPSTREAM },
	{ 0, ERR_UPSTREAM, ERR_UPSTREAM },
	{ 0, ERR_TIMEOUT, ERR_TIMEOUT },
};

/* The container could not be removed: the session has ended anyway. */
START_TEST(test_end_remove_fails)
{
	struct store_session s, again;

	reload_cfg("1", "50");
	create_ok(IP, T0, &s);
	fk.inject[FAKE_REMOVE].status = remove_failures[_i].status;
	fk.inject[FAKE_REMOVE].err = remove_failures[_i].err;
	ck_assert_int_eq(session_end(&tctx, s.id, "user_request", IP,
	    T0 + 5000), remove_failures[_i].want);
	expect_ended(s.id, "user_request", T0 + 5000);
	ck_assert_int_eq(live_count(), 0);
	ck_assert_ptr_nonnull(ctr_of(s.container_id));
	ck_assert_uint_eq(audit_count("session.destroyed", s.id), 1);
	ck_assert_uint_eq(audit_count("error.container", s.id), 1);
	audit_is("error.container", s.id, "level", "error");
	audit_is("error.container", s.id, "clientIp", IP);
	/* A second end does not retry: the reaper will. */
	ck_assert_int_eq(session_end(&tctx, s.id, "user_request", IP,
	    T0 + 6000), ERR_OK);
	ck_assert_uint_eq(fk.calls[FAKE_REMOVE], 1);
	ck_assert_uint_eq(audit_count("error.container", NULL), 1);
	/* The slot is free (MAX_CONCURRENT_PER_IP=1). */
	memset(&fk.inject, 0, sizeof(fk.inject));
	create_ok(IP, T0 + 7000, &again);
}
END_TEST

/* No ip: the row's own; an expiry reason is audited as session.expired. */
START_TEST(test_end_defaults)
{
	struct store_session s;

	create_ok(IP2, T0, &s);
	ck_assert_int_eq(session_end(&tctx, s.id, "lifetime", NULL,
	    T0 + 1000), ERR_OK);
	ck_assert_uint_eq(audit_count("session.destroyed", NULL), 0);
	ck_assert_uint_eq(audit_count("session.expired", s.id), 1);
	audit_is("session.expired", s.id, "clientIp", IP2);
	audit_is("session.expired", s.id, "reason", "lifetime");
	audit_is("session.expired", s.id, "message",
	    "Session expired (reason: lifetime)");
	ck_assert_uint_eq(fk.n, 0);
}
END_TEST

/* A reservation (no container yet) ends without an engine call. */
START_TEST(test_end_creating)
{
	struct store_session s;

	reserve_row(&s, IP, (long)getpid(), T0);
	ck_assert_int_eq(session_end(&tctx, s.id, "user_request", IP, T0 + 10),
	    ERR_OK);
	expect_ended(s.id, "user_request", T0 + 10);
	ck_assert_uint_eq(calls_total(), 0);
	ck_assert_uint_eq(audit_count("session.destroyed", s.id), 1);
}
END_TEST

/* ---- session_lookup -------------------------------------------------- */

START_TEST(test_lookup_live)
{
	struct store_session s, out;

	create_ok(IP, T0, &s);
	ck_assert_int_eq(session_lookup(&tctx, s.id, T0 + IDLE_MS - 1, IP,
	    &out), ERR_OK);
	ck_assert_str_eq(out.id, s.id);
	ck_assert_int_eq(out.state, STORE_RUNNING);
	ck_assert_str_eq(out.container_id, s.container_id);
	ck_assert_str_eq(out.tool_pair, "jj-git");
	ck_assert(out.expires_at == T0 + LIFE_MS);
	ck_assert_uint_eq(fk.n, 1);
	ck_assert_uint_eq(fk.calls[FAKE_REMOVE], 0);
	ck_assert_uint_eq(audit_count(NULL, NULL), 1);
}
END_TEST

START_TEST(test_lookup_idle)
{
	struct store_session s, out;

	create_ok(IP, T0, &s);
	ck_assert_int_eq(session_lookup(&tctx, s.id, T0 + IDLE_MS, IP, &out),
	    ERR_EXPIRED);
	expect_ended(s.id, "idle", T0 + IDLE_MS);
	ck_assert_int_eq(live_count(), 0);
	ck_assert_ptr_null(ctr_of(s.container_id));
	ck_assert_uint_eq(audit_count("session.expired", s.id), 1);
	audit_is("session.expired", s.id, "reason", "idle");
	audit_is("session.expired", s.id, "clientIp", IP);
	ck_assert_uint_eq(audit_count("session.destroyed", NULL), 0);

	/* Later: still expired, nothing more done. */
	ck_assert_int_eq(session_lookup(&tctx, s.id, T0 + IDLE_MS + 1000, IP,
	    &out), ERR_EXPIRED);
	ck_assert_uint_eq(audit_count("session.expired", NULL), 1);
	ck_assert_uint_eq(fk.calls[FAKE_REMOVE], 1);
}
END_TEST

START_TEST(test_lookup_lifetime)
{
	struct store_session s, out;

	create_ok(IP, T0, &s);
	/* Kept busy: never idle. */
	ck_assert_int_eq(store_touch(tctx.store, s.id, T0 + LIFE_MS - 60000),
	    ERR_OK);
	ck_assert_int_eq(session_lookup(&tctx, s.id, T0 + LIFE_MS - 1, IP,
	    &out), ERR_OK);
	ck_assert(out.last_active == T0 + LIFE_MS - 60000);
	ck_assert_int_eq(session_lookup(&tctx, s.id, T0 + LIFE_MS, IP, &out),
	    ERR_EXPIRED);
	expect_ended(s.id, "lifetime", T0 + LIFE_MS);
	ck_assert_ptr_null(ctr_of(s.container_id));
	audit_is("session.expired", s.id, "reason", "lifetime");
}
END_TEST

START_TEST(test_lookup_ended)
{
	struct store_session s, out;

	create_ok(IP, T0, &s);
	ck_assert_int_eq(session_end(&tctx, s.id, "user_request", IP,
	    T0 + 1000), ERR_OK);
	ck_assert_int_eq(session_lookup(&tctx, s.id, T0 + 2000, IP, &out),
	    ERR_NOTFOUND);
	ck_assert_int_eq(session_lookup(&tctx, NOID, T0 + 2000, IP, &out),
	    ERR_NOTFOUND);
	ck_assert_uint_eq(audit_count(NULL, NULL), 2);
	ck_assert_uint_eq(fk.calls[FAKE_REMOVE], 1);
}
END_TEST

/* ---- expiry arithmetic ----------------------------------------------- */

static void
mk_live(struct store_session *s, int64_t last_active)
{
	memset(s, 0, sizeof(*s));
	(void)strlcpy_ok(s->id, SID_A, sizeof(s->id));
	s->state = STORE_RUNNING;
	s->created_at = T0;
	s->last_active = last_active;
	s->expires_at = T0 + LIFE_MS;
}

START_TEST(test_expiry)
{
	struct store_session s;
	struct cfg short_idle = tcfg;

	mk_live(&s, T0);
	ck_assert_ptr_null(session_expiry(&tcfg, &s, T0));
	ck_assert_ptr_null(session_expiry(&tcfg, &s, T0 + IDLE_MS - 1));
	ck_assert_str_eq(session_expiry(&tcfg, &s, T0 + IDLE_MS), "idle");
	/* Past both: the lifetime wins. */
	ck_assert_str_eq(session_expiry(&tcfg, &s, T0 + LIFE_MS), "lifetime");

	mk_live(&s, T0 + LIFE_MS - 1000);
	ck_assert_ptr_null(session_expiry(&tcfg, &s, T0 + LIFE_MS - 1));
	ck_assert_str_eq(session_expiry(&tcfg, &s, T0 + LIFE_MS), "lifetime");
	ck_assert_str_eq(session_expiry(&tcfg, &s, T0 + 2 * LIFE_MS),
	    "lifetime");

	/* An ended session has no reason to end. */
	s.state = STORE_ENDED;
	ck_assert_ptr_null(session_expiry(&tcfg, &s, T0 + 2 * LIFE_MS));
	/* A reservation idles like a session. */
	mk_live(&s, T0);
	s.state = STORE_CREATING;
	ck_assert_str_eq(session_expiry(&tcfg, &s, T0 + IDLE_MS), "idle");

	/* The idle timeout comes from the cfg. */
	short_idle.idle_timeout = 60;
	mk_live(&s, T0);
	ck_assert_ptr_null(session_expiry(&short_idle, &s, T0 + 59999));
	ck_assert_str_eq(session_expiry(&short_idle, &s, T0 + 60000), "idle");
}
END_TEST

START_TEST(test_deadline)
{
	struct store_session s;
	struct cfg short_idle = tcfg;

	mk_live(&s, T0);
	ck_assert(session_deadline(&tcfg, &s) == T0 + IDLE_MS);
	mk_live(&s, T0 + 1000000);
	ck_assert(session_deadline(&tcfg, &s) == T0 + 1000000 + IDLE_MS);
	/* Idle would come after the lifetime: the lifetime. */
	mk_live(&s, T0 + LIFE_MS - IDLE_MS + 1);
	ck_assert(session_deadline(&tcfg, &s) == T0 + LIFE_MS);
	mk_live(&s, T0 + LIFE_MS - IDLE_MS);
	ck_assert(session_deadline(&tcfg, &s) == T0 + LIFE_MS);
	short_idle.idle_timeout = 60;
	mk_live(&s, T0 + 5000);
	ck_assert(session_deadline(&short_idle, &s) == T0 + 65000);

	/* The deadline is exactly when session_expiry() starts to answer. */
	mk_live(&s, T0 + 123456);
	ck_assert_ptr_null(session_expiry(&tcfg, &s,
	    session_deadline(&tcfg, &s) - 1));
	ck_assert_ptr_nonnull(session_expiry(&tcfg, &s,
	    session_deadline(&tcfg, &s)));
	mk_live(&s, T0 + LIFE_MS - 10);
	ck_assert_ptr_null(session_expiry(&tcfg, &s,
	    session_deadline(&tcfg, &s) - 1));
	ck_assert_str_eq(session_expiry(&tcfg, &s,
	    session_deadline(&tcfg, &s)), "lifetime");
}
END_TEST

/* ---- session_reap ---------------------------------------------------- */

START_TEST(test_reap_idle)
{
	struct store_session a, b, row;
	struct session_reap rep;

	create_ok(IP, T0, &a);
	create_ok(IP, T0, &b);
	ck_assert_int_eq(store_touch(tctx.store, b.id, T0 + 200000), ERR_OK);
	reap_ok(T0 + IDLE_MS, &rep);
	expect_rep(&rep, 1, 0, 0, 0, 0);
	expect_ended(a.id, "idle", T0 + IDLE_MS);
	ck_assert_ptr_null(ctr_of(a.container_id));
	ck_assert_uint_eq(audit_count("session.expired", a.id), 1);
	audit_is("session.expired", a.id, "reason", "idle");
	audit_is("session.expired", a.id, "clientIp", IP);
	get_row(b.id, &row);
	ck_assert_int_eq(row.state, STORE_RUNNING);
	ck_assert(ctr_must(b.container_id)->running);

	/* Nothing more to do until b idles too. */
	reap_ok(T0 + IDLE_MS + 1000, &rep);
	expect_rep(&rep, 0, 0, 0, 0, 0);
	reap_ok(T0 + 200000 + IDLE_MS, &rep);
	expect_rep(&rep, 1, 0, 0, 0, 0);
	expect_ended(b.id, "idle", T0 + 200000 + IDLE_MS);
	ck_assert_uint_eq(fk.n, 0);
	ck_assert_int_eq(live_count(), 0);
}
END_TEST

START_TEST(test_reap_lifetime)
{
	struct store_session a;
	struct session_reap rep;

	create_ok(IP, T0, &a);
	ck_assert_int_eq(store_touch(tctx.store, a.id, T0 + LIFE_MS - 1000),
	    ERR_OK);
	reap_ok(T0 + LIFE_MS - 1, &rep);
	expect_rep(&rep, 0, 0, 0, 0, 0);
	reap_ok(T0 + LIFE_MS, &rep);
	expect_rep(&rep, 1, 0, 0, 0, 0);
	expect_ended(a.id, "lifetime", T0 + LIFE_MS);
	ck_assert_uint_eq(fk.n, 0);
}
END_TEST

/* A reservation whose creator died: abandoned; its container, if any (made
 * or even started before the creator died), goes as an orphan. */
START_TEST(test_reap_abandoned)
{
	struct store_session s;
	struct session_reap rep;
	char cid[ENGINE_ID_SIZE];

	reserve_row(&s, IP, dead_pid(), T0);
	if (_i > 0)
		ctr_add(s.id, INSTANCE, _i == 2, cid);
	ck_assert_int_eq(history_of(s.id), 1);
	reap_ok(T0 + 1000, &rep);
	/* Issue 8: a crashed create cost an hourly slot. */
	ck_assert_int_eq(history_of(s.id), 0);
	expect_rep(&rep, 0, 1, 0, _i > 0 ? 1 : 0, 0);
	expect_ended(s.id, "abandoned", T0 + 1000);
	ck_assert_uint_eq(fk.n, 0);
	ck_assert_int_eq(live_count(), 0);
	ck_assert_uint_eq(audit_count("session.destroyed", s.id), 1);
	audit_is("session.destroyed", s.id, "reason", "abandoned");
	/* Nothing left for the next pass. */
	reap_ok(T0 + 2000, &rep);
	expect_rep(&rep, 0, 0, 0, 0, 0);
}
END_TEST

/* Labelled containers of this instance without a live row go; another
 * instance's are not ours to touch. */
START_TEST(test_reap_orphans)
{
	struct store_session live, ended;
	struct session_reap rep;
	char orphan_sid[ID_SIZE], other_sid[ID_SIZE];
	char orphan[ENGINE_ID_SIZE], other[ENGINE_ID_SIZE];
	char other_stopped[ENGINE_ID_SIZE];

	ck_assert_int_eq(id_new(orphan_sid), ERR_OK);
	ck_assert_int_eq(id_new(other_sid), ERR_OK);
	ctr_add(orphan_sid, INSTANCE, true, orphan);
	ctr_add(other_sid, OTHER_INSTANCE, true, other);
	ctr_add(NOID, OTHER_INSTANCE, false, other_stopped);
	create_ok(IP, T0, &live);
	/* A session whose container could not be removed when it ended. */
	create_ok(IP2, T0, &ended);
	fk.inject[FAKE_REMOVE].status = 500;
	ck_assert_int_eq(session_end(&tctx, ended.id, "user_request", IP2,
	    T0 + 500), ERR_UPSTREAM);
	memset(&fk.inject, 0, sizeof(fk.inject));
	ck_assert_uint_eq(fk.n, 5);

	reap_ok(T0 + 1000, &rep);
	expect_rep(&rep, 0, 0, 0, 2, 0);
	ck_assert_ptr_null(ctr_of(orphan));
	ck_assert_ptr_null(ctr_of(ended.container_id));
	ck_assert_ptr_nonnull(ctr_of(other));
	ck_assert_ptr_nonnull(ctr_of(other_stopped));
	ck_assert_ptr_nonnull(ctr_of(live.container_id));
	ck_assert_uint_eq(fk.n, 3);
	ck_assert_int_eq(fk.timeout_ms[FAKE_REMOVE], DESTROY_MS);
	ck_assert_int_eq(live_count(), 1);

	reap_ok(T0 + 2000, &rep);
	expect_rep(&rep, 0, 0, 0, 0, 0);
	ck_assert_uint_eq(fk.n, 3);
}
END_TEST

/* A running row whose container vanished: ended, container_exited. */
START_TEST(test_reap_gone)
{
	struct store_session s;
	struct session_reap rep;

	create_ok(IP, T0, &s);
	fake_drop(&fk, ctr_must(s.container_id));
	reap_ok(T0 + 1000, &rep);
	expect_rep(&rep, 0, 0, 1, 0, 0);
	expect_ended(s.id, "container_exited", T0 + 1000);
	ck_assert_uint_eq(audit_count("session.destroyed", s.id), 1);
	audit_is("session.destroyed", s.id, "reason", "container_exited");
	audit_is("session.destroyed", s.id, "clientIp", IP);
	ck_assert_int_eq(live_count(), 0);
}
END_TEST

/* A running row whose container is listed but has stopped: ended too,
 * and the container removed. */
START_TEST(test_reap_stopped)
{
	struct store_session s;
	struct session_reap rep;

	create_ok(IP, T0, &s);
	ctr_must(s.container_id)->running = false;
	reap_ok(T0 + 1000, &rep);
	expect_rep(&rep, 0, 0, 1, 0, 0);
	expect_ended(s.id, "container_exited", T0 + 1000);
	ck_assert_uint_eq(fk.n, 0);
	ck_assert_int_eq(live_count(), 0);
}
END_TEST

/* A create in flight (its creator alive, container made, not started) is
 * left alone until it is older than two engine timeouts. */
START_TEST(test_reap_in_flight)
{
	struct store_session s, row;
	struct session_reap rep;
	char cid[ENGINE_ID_SIZE];

	reserve_row(&s, IP, (long)getpid(), T0);
	ctr_add(s.id, INSTANCE, false, cid);
	reap_ok(T0 + 1000, &rep);
	expect_rep(&rep, 0, 0, 0, 0, 0);
	reap_ok(T0 + STALE_MS - 1, &rep);
	expect_rep(&rep, 0, 0, 0, 0, 0);
	get_row(s.id, &row);
	ck_assert_int_eq(row.state, STORE_CREATING);
	ck_assert_ptr_nonnull(ctr_of(cid));
	ck_assert_uint_eq(fk.calls[FAKE_REMOVE], 0);

	/* Stale: given up on, though its creator lives. */
	reap_ok(T0 + STALE_MS, &rep);
	expect_rep(&rep, 0, 1, 0, 1, 0);
	expect_ended(s.id, "abandoned", T0 + STALE_MS);
	ck_assert_int_eq(history_of(s.id), 0);
	ck_assert_ptr_null(ctr_of(cid));
}
END_TEST

/* A reservation made after the reaper read the rows, its container made
 * before the reaper lists them, is not an orphan. */
static struct store_session raced;

static void
hook_reserve(void)
{
	fk.on_list = NULL;
	reserve_row(&raced, IP3, (long)getpid(), T0 + 500);
	ctr_add(raced.id, INSTANCE, false, NULL);
}

START_TEST(test_reap_race)
{
	struct store_session row;
	struct session_reap rep;

	fk.on_list = hook_reserve;
	reap_ok(T0 + 1000, &rep);
	expect_rep(&rep, 0, 0, 0, 0, 0);
	get_row(raced.id, &row);
	ck_assert_int_eq(row.state, STORE_CREATING);
	ck_assert_uint_eq(fk.n, 1);
	ck_assert_uint_eq(fk.calls[FAKE_REMOVE], 0);
}
END_TEST

/* Everything at once: each counter counts its own kind. */
START_TEST(test_reap_counters)
{
	struct store_session a, b, c, d, e, f, row;
	struct session_reap rep;
	int64_t now = T0 + IDLE_MS;
	char dcid[ENGINE_ID_SIZE], ecid[ENGINE_ID_SIZE];
	char orphan_sid[ID_SIZE], orphan[ENGINE_ID_SIZE];
	char other_sid[ID_SIZE], other[ENGINE_ID_SIZE];

	create_ok(IP, T0, &a);			/* idle at now: expired */
	create_ok(IP2, T0 + 100000, &b);	/* container gone */
	create_ok(IP2, T0 + 100000, &c);	/* container stopped */
	reserve_row(&d, IP3, dead_pid(), T0 + 200000);	/* abandoned */
	ctr_add(d.id, INSTANCE, false, dcid);
	reserve_row(&e, IP4, (long)getpid(), now - 1000);	/* in flight */
	ctr_add(e.id, INSTANCE, false, ecid);
	create_ok(IP3, T0 + 200000, &f);	/* fine */
	ck_assert_int_eq(id_new(orphan_sid), ERR_OK);
	ctr_add(orphan_sid, INSTANCE, true, orphan);
	ck_assert_int_eq(id_new(other_sid), ERR_OK);
	ctr_add(other_sid, OTHER_INSTANCE, true, other);
	fake_drop(&fk, ctr_must(b.container_id));
	ctr_must(c.container_id)->running = false;
	ck_assert_uint_eq(fk.n, 7);

	reap_ok(now, &rep);
	expect_rep(&rep, 1, 1, 2, 2, 0);
	expect_ended(a.id, "idle", now);
	expect_ended(b.id, "container_exited", now);
	expect_ended(c.id, "container_exited", now);
	expect_ended(d.id, "abandoned", now);
	get_row(e.id, &row);
	ck_assert_int_eq(row.state, STORE_CREATING);
	get_row(f.id, &row);
	ck_assert_int_eq(row.state, STORE_RUNNING);
	ck_assert_int_eq(live_count(), 2);
	ck_assert_uint_eq(fk.n, 3);
	ck_assert_ptr_nonnull(ctr_of(ecid));
	ck_assert_ptr_nonnull(ctr_of(f.container_id));
	ck_assert_ptr_nonnull(ctr_of(other));
	ck_assert_uint_eq(audit_count("session.expired", NULL), 1);
	ck_assert_uint_eq(audit_count("session.destroyed", NULL), 3);
	ck_assert_uint_eq(audit_count("error.container", NULL), 0);
}
END_TEST

/* An orphan that cannot be removed is an error, and stays for the next
 * pass. */
START_TEST(test_reap_remove_error)
{
	struct session_reap rep;
	char sid[ID_SIZE], cid[ENGINE_ID_SIZE];

	ck_assert_int_eq(id_new(sid), ERR_OK);
	ctr_add(sid, INSTANCE, true, cid);
	fk.inject[FAKE_REMOVE].status = 500;
	reap_ok(T0, &rep);
	expect_rep(&rep, 0, 0, 0, 0, 1);
	ck_assert_ptr_nonnull(ctr_of(cid));
	memset(&fk.inject, 0, sizeof(fk.inject));
	reap_ok(T0 + 1000, &rep);
	expect_rep(&rep, 0, 0, 0, 1, 0);
	ck_assert_ptr_null(ctr_of(cid));
}
END_TEST

/* When the engine cannot list, expiry still happens, but a running row is
 * not taken for gone. */
START_TEST(test_reap_list_fails)
{
	struct store_session a, b, row;
	struct session_reap rep;

	create_ok(IP, T0, &a);
	create_ok(IP2, T0 + 200000, &b);
	fake_drop(&fk, ctr_must(b.container_id));
	fk.inject[FAKE_LIST].status = 500;
	memset(&rep, 0, sizeof(rep));
	ck_assert_int_eq(session_reap(&tctx, T0 + IDLE_MS, &rep),
	    ERR_UPSTREAM);
	ck_assert_uint_eq(rep.expired, 1);
	ck_assert_uint_eq(rep.gone, 0);
	expect_ended(a.id, "idle", T0 + IDLE_MS);
	get_row(b.id, &row);
	ck_assert_int_eq(row.state, STORE_RUNNING);
	fk.inject[FAKE_LIST].status = 0;
	fk.inject[FAKE_LIST].err = ERR_TIMEOUT;
	ck_assert_int_eq(session_reap(&tctx, T0 + IDLE_MS, &rep),
	    ERR_TIMEOUT);
	get_row(b.id, &row);
	ck_assert_int_eq(row.state, STORE_RUNNING);
}
END_TEST

/* Ended rows stay a day (so that a late GET says Expired), then go. */
START_TEST(test_reap_purge)
{
	struct store_session a, out;
	struct session_reap rep;
	int64_t day = 24LL * 3600 * 1000;

	create_ok(IP, T0, &a);
	ck_assert_int_eq(session_lookup(&tctx, a.id, T0 + IDLE_MS, IP, &out),
	    ERR_EXPIRED);
	reap_ok(T0 + IDLE_MS + day - 1, &rep);
	expect_rep(&rep, 0, 0, 0, 0, 0);
	ck_assert_int_eq(session_lookup(&tctx, a.id, T0 + IDLE_MS + day - 1,
	    IP, &out), ERR_EXPIRED);
	reap_ok(T0 + IDLE_MS + day + 1, &rep);
	ck_assert_int_eq(store_get(tctx.store, a.id, &out), ERR_NOTFOUND);
	ck_assert_int_eq(session_lookup(&tctx, a.id, T0 + IDLE_MS + day + 1,
	    IP, &out), ERR_NOTFOUND);
}
END_TEST

static Suite *
session_suite(void)
{
	Suite *s = suite_create("session");
	TCase *tc;

	tc = tcase_create("create");
	tcase_add_unchecked_fixture(tc, dir_setup, dir_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_fake_engine);
	tcase_add_test(tc, test_create_ok);
	tcase_add_test(tc, test_create_limits);
	tcase_add_test(tc, test_create_runc_other_pair);
	tcase_add_loop_test(tc, test_create_unknown_pair, 0,
	    (int)nitems(bad_pairs));
	tcase_add_test(tc, test_create_quota_concurrent);
	tcase_add_test(tc, test_create_environment);
	tcase_add_loop_test(tc, test_create_unknown_environment, 0,
	    (int)nitems(bad_envs));
	tcase_add_test(tc, test_pool_by_environment);
	tcase_add_test(tc, test_create_quota_hourly);
	tcase_add_loop_test(tc, test_create_engine_fails, 0,
	    (int)nitems(create_failures));
	tcase_add_loop_test(tc, test_create_engine_status_is_upstream, 0,
	    (int)nitems(create_statuses));
	tcase_add_test(tc, test_create_audit_fails);
	tcase_add_test(tc, test_create_attach_lost);
	tcase_add_test(tc, test_create_store_locked_mid_create);
	suite_add_tcase(s, tc);

	tc = tcase_create("end");
	tcase_add_test(tc, test_end_store_locked);
	tcase_add_unchecked_fixture(tc, dir_setup, dir_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_end_once);
	tcase_add_test(tc, test_end_unknown);
	tcase_add_loop_test(tc, test_end_remove_fails, 0,
	    (int)nitems(remove_failures));
	tcase_add_test(tc, test_end_defaults);
	tcase_add_test(tc, test_end_creating);
	suite_add_tcase(s, tc);

	tc = tcase_create("lookup");
	tcase_add_unchecked_fixture(tc, dir_setup, dir_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_lookup_live);
	tcase_add_test(tc, test_lookup_idle);
	tcase_add_test(tc, test_lookup_lifetime);
	tcase_add_test(tc, test_lookup_ended);
	tcase_add_test(tc, test_expiry);
	tcase_add_test(tc, test_deadline);
	suite_add_tcase(s, tc);

	tc = tcase_create("reap");
	tcase_add_unchecked_fixture(tc, dir_setup, dir_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_reap_idle);
	tcase_add_test(tc, test_reap_lifetime);
	tcase_add_loop_test(tc, test_reap_abandoned, 0, 3);
	tcase_add_test(tc, test_reap_orphans);
	tcase_add_test(tc, test_reap_gone);
	tcase_add_test(tc, test_reap_stopped);
	tcase_add_test(tc, test_reap_in_flight);
	tcase_add_test(tc, test_reap_race);
	tcase_add_test(tc, test_reap_counters);
	tcase_add_test(tc, test_reap_remove_error);
	tcase_add_test(tc, test_reap_list_fails);
	tcase_add_test(tc, test_reap_purge);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return util_run(session_suite());
}

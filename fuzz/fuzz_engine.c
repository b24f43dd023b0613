/*
 * fuzz_engine.c: drives the Docker Engine client lib/engine.c through a
 * replay transport: every call gets the fuzzed status and reply body, so
 * the readers of ping, info, image, create, start, inspect, state, remove
 * and list see hostile Engine JSON; the same bytes go to the attach hijack
 * head parser.  Also engine_create_body() on fuzzed strings.
 */
#include "compat.h"

#include <fcntl.h>
#include <jansson.h>
#include <unistd.h>

#include "cfg.h"
#include "engine.h"
#include "id.h"
#include "log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ENGINE_FUZZ_SESSION "sess_0123456789abcdef0123456789abcdef"
#define ENGINE_FUZZ_IMAGE "toolkata-sandbox:latest"
#define ENGINE_FUZZ_CID \
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* Fields after the reply, for engine_create_body(). */
enum engine_field { E_PAIR, E_INSTANCE, E_IMAGE, E_EXPIRES, E_SESSION, E_MAX };

/* What the replay transport answers, and what it saw. */
struct engine_replay {
	const char *reply;
	size_t len;
	long status;
	enum err fail;		/* ERR_OK, or the transport failure to inject */
	unsigned calls;
};

static const long engine_statuses[] = { 200, 201, 204, 304, 404, 409, 500 };

static struct cfg engine_cfg;
static struct engine *engine;
static struct engine_replay *replay;
static char **engine_argv;	/* argv plus -close_fd_mask=2 */
static int engine_report_fd = STDERR_FILENO;

static void
engine_check(bool ok, const char *what)
{
	if (ok)
		return;
	(void)dprintf(engine_report_fd, "fuzz_engine: invariant failed: %s\n",
	    what);
	abort();
}

static const char *
engine_fakeenv(const char *name ATTR_UNUSED, void *arg ATTR_UNUSED)
{
	return NULL;
}

/* Only URL-safe characters, and no dot segments, may reach a path. */
static bool
engine_path_ok(const char *path)
{
	if (path[0] != '/' || strlen(path) > 400 ||
	    strstr(path, "/.") != NULL || strstr(path, "..") != NULL)
		return false;
	for (const char *p = path; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			(*p >= '0' && *p <= '9') ||
			strchr("-._~/:@?=&%", *p) != NULL))
			return false;
	return true;
}

static enum err
engine_replay_call(void *ctx, const char *method, const char *path,
    const char *body, long timeout_ms, long *status, char *reply, size_t cap,
    size_t *len)
{
	struct engine_replay *rp = ctx;
	json_t *j;
	size_t n;

	engine_check(strcmp(method, "GET") == 0 ||
	    strcmp(method, "POST") == 0 || strcmp(method, "DELETE") == 0,
	    "unexpected method");
	engine_check(engine_path_ok(path), "unsafe request path");
	engine_check(timeout_ms > 0, "no timeout");
	engine_check(cap == ENGINE_REPLY_MAX + 1, "reply cap");
	if (body != NULL) {
		j = json_loads(body, JSON_REJECT_DUPLICATES, NULL);
		engine_check(json_is_object(j), "request body not an object");
		json_decref(j);
	}
	rp->calls++;
	*len = 0;
	reply[0] = '\0';
	if (rp->fail != ERR_OK)
		return rp->fail;
	*status = rp->status;
	n = rp->len;
	if (n > cap - 1)
		n = cap - 1;
	memcpy(reply, rp->reply, n);
	reply[n] = '\0';
	*len = n;
	return n < rp->len ? ERR_TOOBIG : ERR_OK;
}

static void
engine_replay_free(void *ctx)
{
	free(ctx);
}

/*
 * Every error reply makes engine.c log a warning line, some 100 MB a
 * minute: unless the command line says otherwise, have libFuzzer close
 * stderr (-close_fd_mask=2; its own and the sanitizers' reports go to a
 * copy of it, and so do ours).
 */
static void
engine_quiet(int *argc, char ***argv)
{
	int n = *argc;

	for (int i = 1; i < n; i++)
		if (strncmp((*argv)[i], "-close_fd_mask=", 15) == 0)
			return;
	engine_report_fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
	if (engine_report_fd == -1)
		engine_report_fd = STDERR_FILENO;
	engine_argv = xcalloc((size_t)n + 2, sizeof(*engine_argv));
	memcpy(engine_argv, *argv, (size_t)n * sizeof(*engine_argv));
	engine_argv[n] = (char *)(uintptr_t)"-close_fd_mask=2";
	*argc = n + 1;
	*argv = engine_argv;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct engine_transport t;
	char *errstr = NULL;

	engine_quiet(argc, argv);
	if (cfg_load(&engine_cfg, engine_fakeenv, NULL, &errstr) != ERR_OK)
		fatalx("fuzz_engine: cfg_load: %s",
		    errstr != NULL ? errstr : "?");
	replay = xcalloc(1, sizeof(*replay));
	t.call = engine_replay_call;
	t.free = engine_replay_free;
	t.ctx = replay;
	engine = engine_new_transport(&t, 1000);
	return 0;
}

static void
engine_fuzz_listed(const struct engine_container *c, void *arg)
{
	unsigned *n = arg;

	engine_check(id_valid_docker(c->id), "listed id not 64 lowercase hex");
	engine_check(c->session[0] == '\0' ||
	    id_valid(c->session, strlen(c->session)), "listed session id");
	(*n)++;
}

/* A spec as session.c builds it, from the default cfg. */
static void
engine_fuzz_spec(struct engine_spec *s, bool gvisor)
{
	memset(s, 0, sizeof(*s));
	s->image = ENGINE_FUZZ_IMAGE;
	s->session_id = ENGINE_FUZZ_SESSION;
	s->tool_pair = "jj-git";
	s->instance = "fuzz";
	s->expires_at = "2025-01-01T00:30:00.000Z";
	s->lifetime_s = engine_cfg.max_lifetime;
	s->memory_mb = engine_cfg.memory_mb;
	s->cpu_percent = engine_cfg.cpu_percent;
	s->pids_limit = cfg_pids_limit(&engine_cfg, gvisor);
	s->home_mb = engine_cfg.home_size_mb;
	s->tmp_mb = engine_cfg.tmp_size_mb;
	s->nofile = engine_cfg.nofile;
	s->runtime = gvisor ? engine_cfg.gvisor_runtime : NULL;
}

/* An ERR_OK answer needs a working transport and one of ok statuses. */
static void
engine_expect(enum err r, const long *ok, size_t nok, const char *what)
{
	bool good = false;

	if (replay->fail != ERR_OK) {
		engine_check(r == replay->fail, what);
		return;
	}
	if (r != ERR_OK)
		return;
	for (size_t i = 0; i < nok; i++)
		good = good || replay->status == ok[i];
	engine_check(good, what);
}

/* The allow-listed calls against the fuzzed reply. */
static void
engine_fuzz_calls(bool gvisor, const char *image)
{
	static const long ok200[] = { 200 }, ok201[] = { 201 };
	static const long okimg[] = { 200, 404 }, okstart[] = { 204, 304 };
	static const long okrm[] = { 204, 404, 409 };
	struct engine_spec spec;
	char id[ENGINE_ID_SIZE];
	unsigned listed = 0, calls;
	bool b;
	enum err r;

	engine_expect(engine_ping(engine), ok200, 1, "ping");
	r = engine_has_runtime(engine, "runsc", &b);
	engine_expect(r, ok200, 1, "info");
	engine_check(!b || r == ERR_OK, "runtime found on error");
	r = engine_image_exists(engine, ENGINE_FUZZ_IMAGE, &b);
	engine_expect(r, okimg, 2, "image inspect");
	engine_check(!b || (r == ERR_OK && replay->status == 200),
	    "image exists on error");
	if (image != NULL)
		(void)engine_image_exists(engine, image, &b);

	engine_fuzz_spec(&spec, gvisor);
	memset(id, 'x', sizeof(id));
	r = engine_create(engine, &spec, id);
	engine_expect(r, ok201, 1, "create");
	if (r == ERR_OK)
		engine_check(id_valid_docker(id), "created id not 64 hex");
	else
		(void)memcpy(id, ENGINE_FUZZ_CID, sizeof(id));
	engine_expect(engine_start(engine, id), okstart, 2, "start");
	r = engine_inspect(engine, id, &b);
	engine_expect(r, ok200, 1, "inspect");
	engine_check(!b || r == ERR_OK, "running on error");
	engine_expect(engine_remove(engine, id, 500), okrm, 3, "remove");
	engine_expect(engine_list(engine, "fuzz", engine_fuzz_listed, &listed),
	    ok200, 1, "list");
	/* What a relay reads when the shell's stream ends. */
	{
		struct engine_state es;

		r = engine_state(engine, ENGINE_FUZZ_CID, &es);
		engine_expect(r, ok200, 1, "state");
		engine_check(r == ERR_OK || (!es.running && !es.oom_killed &&
		    es.status[0] == '\0'), "state on error");
		engine_check(strnlen(es.status, sizeof(es.status)) <
		    sizeof(es.status), "state status not terminated");
	}

	/* Ids and names that would change the path never reach the wire. */
	calls = replay->calls;
	engine_check(engine_start(engine, "../../_ping") == ERR_INVAL,
	    "start with a bad id");
	engine_check(engine_remove(engine, ENGINE_FUZZ_SESSION, 500) ==
	    ERR_INVAL, "remove with a session id");
	engine_check(engine_inspect(engine, "", &b) == ERR_INVAL,
	    "inspect with no id");
	engine_check(engine_list(engine, "a%22", engine_fuzz_listed, &listed) ==
	    ERR_INVAL, "list with a bad instance");
	engine_check(engine_image_exists(engine, "a b", &b) == ERR_INVAL,
	    "image with a space");
	engine_check(engine_image_exists(engine, "a/../../containers/create",
	    &b) == ERR_INVAL, "image with dot segments");
	engine_check(replay->calls == calls, "invalid id reached the wire");
}

/* Three decimal digits, or -1. */
static int
engine_digits3(const char *p)
{
	int v = 0;

	for (int i = 0; i < 3; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v;
}

/*
 * The hijack reply head: ERR_OK only for a status line and a blank line,
 * which ends the head; a shorter prefix of a good head needs more bytes.
 */
static void
engine_fuzz_head(const char *buf, size_t len)
{
	const char *blank;
	size_t hl = 0, hl2 = 0;
	int status = -1, status2 = -1;
	enum err r;

	if (len > ENGINE_HEAD_MAX)
		len = ENGINE_HEAD_MAX;
	r = engine_parse_head(buf, len, &status, &hl);
	engine_check(r == ERR_OK || r == ERR_LIMIT || r == ERR_UPSTREAM,
	    "parse_head result");
	blank = memmem(buf, len, "\r\n\r\n", 4);
	if (r == ERR_LIMIT)
		engine_check(len < 12 || blank == NULL,
		    "complete head refused");
	if (r != ERR_OK)
		return;
	engine_check(len >= 12 && memcmp(buf, "HTTP/1.", 7) == 0 &&
	    buf[8] == ' ', "head without a status line");
	engine_check(status >= 0 && status <= 999 &&
	    status == engine_digits3(buf + 9), "head status");
	engine_check(blank != NULL && hl == (size_t)(blank - buf) + 4 &&
	    hl <= len, "head length");
	engine_check(engine_parse_head(buf, hl, &status2, &hl2) == ERR_OK &&
	    status2 == status && hl2 == hl, "head alone parses differently");
	engine_check(engine_parse_head(buf, hl - 1, &status2, &hl2) ==
	    ERR_LIMIT, "head minus a byte not incomplete");
}

static bool
engine_str_is(json_t *j, const char *want)
{
	const char *s = json_string_value(j);

	return s != NULL && strcmp(s, want) == 0;
}

/* A create body: the spec's values, the fixed isolation, nothing else. */
static void
engine_check_body(const char *text, const struct engine_spec *s)
{
	static const char *const keys[] = { "Image", "Env", "Labels", "Tty",
		"OpenStdin", "StdinOnce", "HostConfig" };
	json_t *j, *labels, *hc;
	char pair[64];

	j = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	engine_check(json_is_object(j), "create body is not a JSON object");
	engine_check(json_object_size(j) == nitems(keys), "create body keys");
	for (size_t i = 0; i < nitems(keys); i++)
		engine_check(json_object_get(j, keys[i]) != NULL,
		    "create body key missing");
	labels = json_object_get(j, "Labels");
	hc = json_object_get(j, "HostConfig");
	(void)snprintf(pair, sizeof(pair), "TOOL_PAIR=%s", s->tool_pair);
	engine_check(engine_str_is(json_object_get(j, "Image"), s->image) &&
	    engine_str_is(json_array_get(json_object_get(j, "Env"), 0), pair) &&
	    json_array_size(json_object_get(j, "Env")) == 3 &&
	    json_is_true(json_object_get(j, "Tty")) &&
	    json_is_true(json_object_get(j, "OpenStdin")) &&
	    json_object_size(labels) == 5 &&
	    engine_str_is(json_object_get(labels, "toolkata.environment"),
		s->environment != NULL ? s->environment : "bash") &&
	    engine_str_is(json_object_get(labels, "toolkata.session"),
		s->session_id) &&
	    engine_str_is(json_object_get(labels, "toolkata.instance"),
		s->instance) &&
	    engine_str_is(json_object_get(labels, "toolkata.tool-pair"),
		s->tool_pair), "create body values");
	engine_check(engine_str_is(json_object_get(hc, "NetworkMode"),
		"none") &&
	    json_is_true(json_object_get(hc, "ReadonlyRootfs")) &&
	    json_array_size(json_object_get(hc, "CapDrop")) == 1 &&
	    engine_str_is(json_array_get(json_object_get(hc, "CapDrop"), 0),
		"ALL") &&
	    engine_str_is(json_array_get(json_object_get(hc, "SecurityOpt"), 0),
		"no-new-privileges") &&
	    json_object_get(hc, "Privileged") == NULL &&
	    json_object_get(hc, "Binds") == NULL, "create isolation");
	/* No runtime: the Engine's default, so no Runtime key at all. */
	engine_check(s->runtime != NULL ? engine_str_is(json_object_get(hc,
	    "Runtime"), s->runtime) : json_object_get(hc, "Runtime") == NULL,
	    "create runtime");
	json_decref(j);
}

/* engine_create_body() on the fuzzed strings: NULL or a checked body. */
static void
engine_fuzz_body(const char *const f[E_MAX], bool gvisor)
{
	struct engine_spec s;
	char *body;

	engine_fuzz_spec(&s, gvisor);
	if (f[E_PAIR] != NULL)
		s.tool_pair = f[E_PAIR];
	if (f[E_INSTANCE] != NULL)
		s.instance = f[E_INSTANCE];
	if (f[E_IMAGE] != NULL)
		s.image = f[E_IMAGE];
	if (f[E_EXPIRES] != NULL)
		s.expires_at = f[E_EXPIRES];
	if (f[E_SESSION] != NULL)
		s.session_id = f[E_SESSION];
	body = engine_create_body(&s);
	if (body != NULL) {
		engine_check(id_valid(s.session_id, strlen(s.session_id)),
		    "create body for an invalid session id");
		engine_check_body(body, &s);
	}
	free(body);
}

/*
 * Input: byte 0 picks the answer (bits 0-2: status 200, 201, 204, 304,
 * 404, 409, 500, or 7 = transport failure, bit 3 then picking timeout over
 * upstream; bit 4: gVisor runtime), the reply body runs to the first NUL,
 * then NUL-separated tool pair, instance, image, expiry and session id.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *f[E_MAX] = { NULL };
	char *copy, *p, *end, *nul;
	unsigned sel;
	bool gvisor;

	if (size < 1)
		return 0;
	sel = data[0];
	gvisor = (sel & 0x10) != 0;
	copy = xmalloc(size);
	memcpy(copy, data + 1, size - 1);
	copy[size - 1] = '\0';
	end = copy + size - 1;
	nul = memchr(copy, '\0', size - 1);

	memset(replay, 0, sizeof(*replay));
	replay->reply = copy;
	replay->len = nul != NULL ? (size_t)(nul - copy) : size - 1;
	if ((sel & 0x07) == 7)
		replay->fail = (sel & 0x08) != 0 ? ERR_TIMEOUT : ERR_UPSTREAM;
	else
		replay->status = engine_statuses[sel & 0x07];
	for (int i = 0; i < E_MAX && nul != NULL; i++) {
		p = nul + 1;
		f[i] = p;
		nul = memchr(p, '\0', (size_t)(end - p));
	}
	engine_fuzz_calls(gvisor, f[E_IMAGE]);
	engine_fuzz_head(copy, replay->len);
	engine_fuzz_body(f, gvisor);
	free(copy);
	return 0;
}

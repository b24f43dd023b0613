/*
 * engine.c: Docker Engine API calls over the unix socket, one function per
 * allow-listed call, on a transport: libcurl (ecurl.c, engine_new(): the
 * API) or a raw HTTP/1.1 connection (ehttp.c: the relay).
 */
#include "compat.h"

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "clock.h"
#include "engine.h"
#include "log.h"
#include "metrics.h"

struct engine {
	struct engine_transport t;
	long timeout_ms;
	char *reply;	/* ENGINE_REPLY_MAX + 1 bytes, reused per call */
	size_t len;
	long status;
};

struct engine *
engine_new_transport(const struct engine_transport *t, long timeout_ms)
{
	struct engine *e = xcalloc(1, sizeof(*e));

	e->t = *t;
	e->timeout_ms = timeout_ms;
	e->reply = xmalloc(ENGINE_REPLY_MAX + 1);
	return e;
}

void
engine_free(struct engine *e)
{
	if (e == NULL)
		return;
	if (e->t.free != NULL)
		e->t.free(e->t.ctx);
	free(e->reply);
	free(e);
}

/* One timed call; the reply lands in e->reply, the status in e->status. */
static enum err
engine_call(struct engine *e, enum metrics_op op, const char *method,
    const char *path, const char *body, long timeout_ms)
{
	double t0 = clock_mono();
	enum err r;

	e->status = 0;
	e->len = 0;
	r = e->t.call(e->t.ctx, method, path, body, timeout_ms, &e->status,
	    e->reply, ENGINE_REPLY_MAX + 1, &e->len);
	metrics_engine_observe(op, clock_mono() - t0,
	    r == ERR_OK && e->status < 500);
	if (r != ERR_OK)
		log_warnx("engine: %s %s failed: %s", method, path, err_str(r));
	return r;
}

/* Log the engine's {"message":...} for an unexpected status. */
static enum err
engine_unexpected(struct engine *e, const char *what)
{
	json_t *j = json_loadb(e->reply, e->len, 0, NULL);
	const char *msg = json_string_value(json_object_get(j, "message"));

	log_warnx("engine: %s: status %ld: %.200s", what, e->status,
	    msg != NULL ? msg : "(no message)");
	json_decref(j);
	if (e->status == 404)
		return ERR_NOTFOUND;
	if (e->status == 409)
		return ERR_CONFLICT;
	return ERR_UPSTREAM;
}

/* ---- the allow-listed calls ------------------------------------------ */

enum err
engine_ping(struct engine *e)
{
	enum err r = engine_call(e, METRICS_OP_INFO, "GET", "/_ping", NULL,
	    e->timeout_ms);

	if (r != ERR_OK)
		return r;
	return e->status == 200 ? ERR_OK : engine_unexpected(e, "ping");
}

enum err
engine_has_runtime(struct engine *e, const char *runtime, bool *has)
{
	json_t *j, *rts;
	enum err r;

	*has = false;
	r = engine_call(e, METRICS_OP_INFO, "GET", "/info", NULL,
	    e->timeout_ms);
	if (r != ERR_OK)
		return r;
	if (e->status != 200)
		return engine_unexpected(e, "info");
	j = json_loadb(e->reply, e->len, 0, NULL);
	rts = json_object_get(j, "Runtimes");
	*has = json_is_object(rts) && json_object_get(rts, runtime) != NULL;
	r = j != NULL ? ERR_OK : ERR_UPSTREAM;
	json_decref(j);
	return r;
}

/* Image references reach a URL path: allow only the reference charset, and
 * no dot segments, so a reference can never name another endpoint. */
static bool
engine_valid_ref(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 128 || !isalnum((unsigned char)s[0]) ||
	    strstr(s, "..") != NULL || strstr(s, "/.") != NULL)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			(c >= '0' && c <= '9') || strchr("-_./:@", c) != NULL))
			return false;
	}
	return true;
}

/* Instance names reach a label filter in a URL: [A-Za-z0-9-]{1,32}. */
static bool
engine_valid_instance(const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;

	if (n == 0 || n > 32)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' &&
			s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
			s[i] == '-'))
			return false;
	return true;
}

enum err
engine_image_exists(struct engine *e, const char *image, bool *exists)
{
	char path[256];
	enum err r;

	*exists = false;
	if (!engine_valid_ref(image))
		return ERR_INVAL;
	(void)snprintf(path, sizeof(path), "/images/%s/json", image);
	r = engine_call(e, METRICS_OP_INSPECT, "GET", path, NULL,
	    e->timeout_ms);
	if (r != ERR_OK)
		return r;
	if (e->status == 404)
		return ERR_OK;
	if (e->status != 200)
		return engine_unexpected(e, "image inspect");
	*exists = true;
	return ERR_OK;
}

/* The HostConfig of contract.md §5.1 from validated numbers. */
static json_t *
engine_host_config(const struct engine_spec *s)
{
	char home[96], tmp[64];
	long long mem = s->memory_mb * 1024 * 1024;
	json_t *hc;

	(void)snprintf(home, sizeof(home),
	    "rw,nosuid,nodev,size=%lldm,uid=1000,gid=1000,mode=0755",
	    s->home_mb);
	(void)snprintf(tmp, sizeof(tmp), "rw,nosuid,nodev,size=%lldm",
	    s->tmp_mb);
	hc = json_pack("{s:s, s:b, s:{s:s, s:s}, s:I, s:I, s:I, s:I, s:I,"
	    " s:I, s:[s], s:[s], s:[{s:s, s:I, s:I}, {s:s, s:I, s:I}], s:b,"
	    " s:{s:s}}",
	    "NetworkMode", "none",
	    "ReadonlyRootfs", 1,
	    "Tmpfs", "/home/toolkata", home, "/tmp", tmp,
	    "Memory", (json_int_t)mem,
	    "MemorySwap", (json_int_t)mem,
	    "CpuPeriod", (json_int_t)100000,
	    "CpuQuota", (json_int_t)(s->cpu_percent * 1000),
	    "PidsLimit", (json_int_t)s->pids_limit,
	    /* /dev/shm is writable and counts against Memory: keep it as
	     * small as /tmp. */
	    "ShmSize", (json_int_t)(s->tmp_mb * 1024 * 1024),
	    "CapDrop", "ALL",
	    "SecurityOpt", "no-new-privileges",
	    "Ulimits", "Name", "nofile", "Soft", (json_int_t)s->nofile,
	    "Hard", (json_int_t)s->nofile,
	    /* gVisor honours RLIMIT_NPROC inside the sandbox: a fork bomb
	     * gets EAGAIN there before the host's PidsLimit is reached. */
	    "Name", "nproc", "Soft", (json_int_t)s->nproc,
	    "Hard", (json_int_t)s->nproc,
	    "AutoRemove", 0,
	    "LogConfig", "Type", "none");
	if (hc != NULL && s->runtime != NULL &&
	    json_object_set_new(hc, "Runtime", json_string(s->runtime)) != 0) {
		json_decref(hc);
		hc = NULL;
	}
	return hc;
}

char *
engine_create_body(const struct engine_spec *s)
{
	char env_pair[64], env_life[48], env_mem[48];
	const char *envname = s->environment != NULL ? s->environment : "bash";
	json_t *hc, *body;
	char *out = NULL;

	if (!id_valid(s->session_id, strlen(s->session_id)) ||
	    !engine_valid_ref(s->image) || strlen(s->tool_pair) > 32 ||
	    !engine_valid_instance(s->instance) ||
	    !engine_valid_instance(envname))
		return NULL;
	(void)snprintf(env_pair, sizeof(env_pair), "TOOL_PAIR=%s",
	    s->tool_pair);
	(void)snprintf(env_life, sizeof(env_life), "TOOLKATA_LIFETIME=%lld",
	    s->lifetime_s);
	/* Each process may map 3/4 of the container's memory (docker/init),
	 * or what its environment needs (node: V8's reservations). */
	(void)snprintf(env_mem, sizeof(env_mem), "TOOLKATA_PROC_MEMORY_MB=%lld",
	    s->proc_memory_mb > 0 ? s->proc_memory_mb : s->memory_mb * 3 / 4);
	hc = engine_host_config(s);
	if (hc == NULL)
		return NULL;
	/* The session's shell is PID 1's child on a TTY (docker/init):
	 * Tty and OpenStdin, so that /attach reaches it. */
	body = json_pack("{s:s, s:[s,s,s], s:{s:s, s:s, s:s, s:s, s:s},"
	    " s:b, s:b, s:b, s:o}",
	    "Image", s->image,
	    "Env", env_pair, env_life, env_mem,
	    "Labels", s->pooled ? "toolkata.pool" : "toolkata.session",
	    s->session_id,
	    "toolkata.instance", s->instance,
	    "toolkata.tool-pair", s->tool_pair,
	    "toolkata.environment", envname,
	    "toolkata.expires-at", s->expires_at,
	    "Tty", 1, "OpenStdin", 1, "StdinOnce", 0,
	    "HostConfig", hc);
	if (body != NULL)
		out = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(body);
	return out;
}

enum err
engine_create(struct engine *e, const struct engine_spec *s,
    char id[ENGINE_ID_SIZE])
{
	char path[128];
	char *body = engine_create_body(s);
	json_t *j = NULL;
	const char *got;
	enum err r = ERR_INVAL;

	if (body == NULL)
		goto out;
	if (s->pooled)
		(void)snprintf(path, sizeof(path), "/containers/create?name="
		    "toolkata-pool-%s", s->session_id + sizeof(ID_PREFIX) - 1);
	else
		(void)snprintf(path, sizeof(path), "/containers/create?name="
		    "toolkata-%s", s->session_id);
	r = engine_call(e, METRICS_OP_CREATE, "POST", path, body,
	    e->timeout_ms);
	if (r != ERR_OK)
		goto out;
	if (e->status != 201) {
		r = engine_unexpected(e, "create");
		goto out;
	}
	j = json_loadb(e->reply, e->len, 0, NULL);
	got = json_string_value(json_object_get(j, "Id"));
	r = ERR_UPSTREAM;
	if (got != NULL && id_valid_docker(got))
		r = strlcpy_ok(id, got, ENGINE_ID_SIZE) ? ERR_OK : ERR_UPSTREAM;
out:
	json_decref(j);
	free(body);
	return r;
}

enum err
engine_start(struct engine *e, const char *id)
{
	char path[128];
	enum err r;

	if (!id_valid_docker(id))
		return ERR_INVAL;
	(void)snprintf(path, sizeof(path), "/containers/%s/start", id);
	r = engine_call(e, METRICS_OP_START, "POST", path, NULL, e->timeout_ms);
	if (r != ERR_OK)
		return r;
	if (e->status == 204 || e->status == 304)
		return ERR_OK;
	return engine_unexpected(e, "start");
}

enum err
engine_remove(struct engine *e, const char *id, long timeout_ms)
{
	char path[128];
	enum err r;

	if (!id_valid_docker(id))
		return ERR_INVAL;
	(void)snprintf(path, sizeof(path), "/containers/%s?force=1&v=1", id);
	r = engine_call(e, METRICS_OP_REMOVE, "DELETE", path, NULL, timeout_ms);
	if (r != ERR_OK)
		return r;
	if (e->status == 204 || e->status == 404)
		return ERR_OK;
	/* 409 "removal already in progress": someone else is removing it. */
	if (e->status == 409)
		return ERR_OK;
	return engine_unexpected(e, "remove");
}

enum err
engine_state(struct engine *e, const char *id, struct engine_state *st)
{
	char path[128];
	json_t *j, *state;
	const char *status;
	enum err r;

	memset(st, 0, sizeof(*st));
	if (!id_valid_docker(id))
		return ERR_INVAL;
	(void)snprintf(path, sizeof(path), "/containers/%s/json", id);
	r = engine_call(e, METRICS_OP_INSPECT, "GET", path, NULL,
	    e->timeout_ms);
	if (r != ERR_OK)
		return r;
	if (e->status != 200)
		return engine_unexpected(e, "inspect");
	j = json_loadb(e->reply, e->len, 0, NULL);
	if (j == NULL)
		return ERR_UPSTREAM;
	state = json_object_get(j, "State");
	st->running = json_is_true(json_object_get(state, "Running"));
	st->oom_killed = json_is_true(json_object_get(state, "OOMKilled"));
	st->exit_code = (int)json_integer_value(json_object_get(state,
	    "ExitCode"));
	status = json_string_value(json_object_get(state, "Status"));
	(void)strlcpy_ok(st->status, status != NULL ? status : "",
	    sizeof(st->status));
	json_decref(j);
	return ERR_OK;
}

enum err
engine_inspect(struct engine *e, const char *id, bool *running)
{
	struct engine_state st;
	enum err r = engine_state(e, id, &st);

	*running = st.running;
	return r;
}

/* One element of GET /containers/json; false if it is malformed. */
static bool
engine_list_item(json_t *item, struct engine_container *c)
{
	const char *id = json_string_value(json_object_get(item, "Id"));
	const char *state = json_string_value(json_object_get(item, "State"));
	json_t *labels = json_object_get(item, "Labels");
	const char *sess = json_string_value(json_object_get(labels,
	    "toolkata.session"));
	const char *pool = json_string_value(json_object_get(labels,
	    "toolkata.pool"));

	memset(c, 0, sizeof(*c));
	if (id == NULL || !id_valid_docker(id))
		return false;
	(void)strlcpy_ok(c->id, id, sizeof(c->id));
	if (sess != NULL && id_valid(sess, strlen(sess)))
		(void)strlcpy_ok(c->session, sess, sizeof(c->session));
	if (pool != NULL && id_valid(pool, strlen(pool)))
		(void)strlcpy_ok(c->pool, pool, sizeof(c->pool));
	c->running = state != NULL && strcmp(state, "running") == 0;
	return true;
}

enum err
engine_list(struct engine *e, const char *instance, engine_list_fn fn,
    void *arg)
{
	struct engine_container c;
	json_t *j, *item;
	char path[256];
	size_t i;
	enum err r;

	if (!engine_valid_instance(instance))
		return ERR_INVAL;
	/* filters={"label":["toolkata.instance=<i>"]}, URL-encoded (session
	 * and pool containers alike); the instance is [A-Za-z0-9-] and needs
	 * no escaping. */
	(void)snprintf(path, sizeof(path), "/containers/json?all=1&filters="
	    "%%7B%%22label%%22%%3A%%5B%%22toolkata.instance%%3D%s%%22%%5D%%7D",
	    instance);
	r = engine_call(e, METRICS_OP_LIST, "GET", path, NULL, e->timeout_ms);
	if (r != ERR_OK)
		return r;
	if (e->status != 200)
		return engine_unexpected(e, "list");
	j = json_loadb(e->reply, e->len, 0, NULL);
	if (!json_is_array(j)) {
		json_decref(j);
		return ERR_UPSTREAM;
	}
	json_array_foreach(j, i, item) {
		if (engine_list_item(item, &c))
			fn(&c, arg);
	}
	json_decref(j);
	return ERR_OK;
}

/* ---- attach: the hijacked TTY stream of the relay ------------------- */

enum err
engine_parse_head(const char *buf, size_t len, int *status, size_t *head_len)
{
	const char *end = NULL;
	int code = 0;

	for (size_t i = 0; i + 3 < len; i++)
		if (memcmp(buf + i, "\r\n\r\n", 4) == 0) {
			end = buf + i + 4;
			break;
		}
	if (len < 12 || memcmp(buf, "HTTP/1.", 7) != 0 || buf[8] != ' ')
		return len < 12 && memcmp(buf, "HTTP/1.", len < 7 ? len : 7) == 0 ?
		    ERR_LIMIT : ERR_UPSTREAM;
	for (size_t i = 9; i < 12; i++) {
		if (buf[i] < '0' || buf[i] > '9')
			return ERR_UPSTREAM;
		code = code * 10 + (buf[i] - '0');
	}
	if (end == NULL)
		return ERR_LIMIT;
	*status = code;
	*head_len = (size_t)(end - buf);
	return ERR_OK;
}

static enum err
engine_write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return ERR_IO;
		buf += n;
		len -= (size_t)n;
	}
	return ERR_OK;
}

/* Read the reply head of the hijack within timeout_ms. */
static enum err
engine_read_head(int fd, long timeout_ms, char *head, size_t *len, int *status,
    size_t *head_len)
{
	double deadline = clock_mono() + (double)timeout_ms / 1000;
	enum err r = ERR_LIMIT;

	*len = 0;
	while (r == ERR_LIMIT && *len < ENGINE_HEAD_MAX) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		double left = deadline - clock_mono();
		ssize_t n;

		if (left <= 0 || poll(&pfd, 1, (int)(left * 1000) + 1) == 0)
			return ERR_TIMEOUT;
		n = read(fd, head + *len, ENGINE_HEAD_MAX - *len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return ERR_UPSTREAM;
		*len += (size_t)n;
		r = engine_parse_head(head, *len, status, head_len);
	}
	return r == ERR_LIMIT ? ERR_TOOBIG : r;
}

/*
 * Detach keys: Docker's default, ^P ^Q, would hold every ^P (bash's
 * previous-history) until the next key and let ^P ^Q drop the client.
 * Docker cannot turn detaching off, so the sequence is eight NULs, which
 * nobody types (^@ is bash's set-mark: a held one shows nothing).
 */
#define ENGINE_DETACH_KEYS "ctrl-%40,ctrl-%40,ctrl-%40,ctrl-%40," \
	"ctrl-%40,ctrl-%40,ctrl-%40,ctrl-%40"

enum err
engine_attach(const char *socket_path, const char *container_id,
    long timeout_ms, int *fd, char *extra, size_t extracap, size_t *extra_len)
{
	struct sockaddr_un sa;
	char req[512], head[ENGINE_HEAD_MAX];
	size_t len = 0, head_len = 0;
	int s = -1, status = 0, n;
	double t0 = clock_mono();
	enum err r = ERR_INVAL;

	*fd = -1;
	*extra_len = 0;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (!id_valid_docker(container_id) ||
	    !strlcpy_ok(sa.sun_path, socket_path, sizeof(sa.sun_path)))
		goto out;
	n = snprintf(req, sizeof(req), "POST %s/containers/%s/attach?stream=1&"
	    "stdin=1&stdout=1&stderr=1&detachKeys=%s HTTP/1.1\r\n"
	    "Host: localhost\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
	    "Content-Length: 0\r\n\r\n", ENGINE_API, container_id,
	    ENGINE_DETACH_KEYS);
	r = ERR_UPSTREAM;
	if ((s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(s, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    engine_write_all(s, req, (size_t)n) != ERR_OK)
		goto out;
	if ((r = engine_read_head(s, timeout_ms, head, &len, &status,
		 &head_len)) != ERR_OK)
		goto out;
	if (status != 101 && status != 200) {
		log_warnx("engine: attach: status %d", status);
		r = status == 404 ? ERR_NOTFOUND : status == 409 ?
		    ERR_CONFLICT : ERR_UPSTREAM;
		goto out;
	}
	if (len - head_len > extracap) {
		r = ERR_TOOBIG;
		goto out;
	}
	memcpy(extra, head + head_len, len - head_len);
	*extra_len = len - head_len;
	*fd = s;
	s = -1;
out:
	metrics_engine_observe(METRICS_OP_ATTACH, clock_mono() - t0,
	    r == ERR_OK);
	if (s != -1)
		(void)close(s);
	return r;
}

/* ---- exec: the step checks' runner ---------------------------------- */

static bool
engine_exec_valid(const struct engine_exec_spec *x)
{
	if (x->argc == 0 || x->argc > ENGINE_EXEC_ARGS ||
	    x->envc > ENGINE_EXEC_ENV || x->argv[0] == NULL ||
	    x->argv[0][0] != '/' || x->user == NULL || x->workdir == NULL ||
	    x->workdir[0] != '/')
		return false;
	for (size_t i = 0; i < x->argc; i++)
		if (x->argv[i] == NULL)
			return false;
	for (size_t i = 0; i < x->envc; i++)
		if (x->env[i] == NULL || strchr(x->env[i], '=') == NULL ||
		    x->env[i][0] == '=')
			return false;
	return true;
}

static json_t *
engine_strings(const char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && i < n; i++)
		if (json_array_append_new(a, json_string(v[i])) != 0) {
			json_decref(a);
			a = NULL;
		}
	return a;
}

char *
engine_exec_body(const struct engine_exec_spec *x)
{
	json_t *body;
	char *out = NULL;

	if (!engine_exec_valid(x))
		return NULL;
	/* No stdin and no TTY: the output comes multiplexed, stdout and
	 * stderr apart (mechanics.md D2). */
	body = json_pack("{s:b, s:b, s:b, s:b, s:o, s:o, s:s, s:s}",
	    "AttachStdin", 0, "AttachStdout", 1, "AttachStderr", 1, "Tty", 0,
	    "Cmd", engine_strings(x->argv, x->argc),
	    "Env", engine_strings(x->env, x->envc),
	    "User", x->user, "WorkingDir", x->workdir);
	if (body != NULL)
		out = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(body);
	return out;
}

enum err
engine_exec_create(struct engine *e, const char *container_id,
    const struct engine_exec_spec *x, char exec_id[ENGINE_ID_SIZE])
{
	char path[128];
	char *body = NULL;
	json_t *j = NULL;
	const char *got;
	enum err r = ERR_INVAL;

	if (!id_valid_docker(container_id) ||
	    (body = engine_exec_body(x)) == NULL)
		goto out;
	(void)snprintf(path, sizeof(path), "/containers/%s/exec", container_id);
	r = engine_call(e, METRICS_OP_EXEC, "POST", path, body, e->timeout_ms);
	if (r != ERR_OK)
		goto out;
	if (e->status != 201) {
		r = engine_unexpected(e, "exec create");
		goto out;
	}
	j = json_loadb(e->reply, e->len, 0, NULL);
	got = json_string_value(json_object_get(j, "Id"));
	r = got != NULL && id_valid_docker(got) &&
	    strlcpy_ok(exec_id, got, ENGINE_ID_SIZE) ? ERR_OK : ERR_UPSTREAM;
out:
	json_decref(j);
	free(body);
	return r;
}

void
engine_demux_init(struct engine_demux *d, struct engine_out *out,
    struct engine_out *err)
{
	memset(d, 0, sizeof(*d));
	d->out = out;
	d->err = err;
}

static void
engine_out_add(struct engine_out *o, const char *buf, size_t n)
{
	size_t room = o->cap - o->len;
	size_t take = n < room ? n : room;

	if (take > 0)
		memcpy(o->buf + o->len, buf, take);
	o->len += take;
	o->total += n;
}

enum err
engine_demux_feed(struct engine_demux *d, const char *buf, size_t len)
{
	while (len > 0) {
		size_t n;

		if (d->left == 0) {
			n = sizeof(d->head) - d->have;
			n = n < len ? n : len;
			memcpy(d->head + d->have, buf, n);
			d->have += n;
			buf += n;
			len -= n;
			if (d->have < sizeof(d->head))
				break;
			if (d->head[0] > 2 || d->head[1] != 0 ||
			    d->head[2] != 0 || d->head[3] != 0)
				return ERR_UPSTREAM;
			d->stream = d->head[0];
			d->left = (uint32_t)d->head[4] << 24 |
			    (uint32_t)d->head[5] << 16 |
			    (uint32_t)d->head[6] << 8 | d->head[7];
			d->have = 0;
			continue;
		}
		n = d->left < len ? d->left : len;
		engine_out_add(d->stream == 2 ? d->err : d->out, buf, n);
		d->left -= (uint32_t)n;
		buf += n;
		len -= n;
	}
	return ERR_OK;
}

bool
engine_demux_done(const struct engine_demux *d)
{
	return d->have == 0 && d->left == 0;
}

enum err
engine_exec_start(struct engine *e, const char *exec_id, long timeout_ms,
    struct engine_out *out, struct engine_out *err)
{
	struct engine_demux d;
	char path[128];
	enum err r, dr;

	if (!id_valid_docker(exec_id))
		return ERR_INVAL;
	(void)snprintf(path, sizeof(path), "/exec/%s/start", exec_id);
	/* Without Upgrade headers Docker answers 200 and hijacks anyway; the
	 * stream ends when the process closes it (read to EOF). */
	r = engine_call(e, METRICS_OP_EXEC, "POST", path,
	    "{\"Detach\":false,\"Tty\":false}", timeout_ms);
	if (r != ERR_OK && r != ERR_TIMEOUT && r != ERR_TOOBIG)
		return r;
	if (r == ERR_OK && e->status != 200)
		return engine_unexpected(e, "exec start");
	engine_demux_init(&d, out, err);
	dr = engine_demux_feed(&d, e->reply, e->len);
	if (r != ERR_OK)
		return r;
	return dr == ERR_OK && engine_demux_done(&d) ? ERR_OK : ERR_UPSTREAM;
}

#define ENGINE_EXEC_POLLS 40	/* × 25 ms */

static void
engine_pause_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		continue;
}

enum err
engine_exec_exit(struct engine *e, const char *exec_id, int *code)
{
	char path[128];
	enum err r = ERR_CONFLICT;

	*code = -1;
	if (!id_valid_docker(exec_id))
		return ERR_INVAL;
	(void)snprintf(path, sizeof(path), "/exec/%s/json", exec_id);
	for (int i = 0; i < ENGINE_EXEC_POLLS && r == ERR_CONFLICT; i++) {
		json_t *j, *ec;

		if (i > 0)
			engine_pause_ms(25);
		r = engine_call(e, METRICS_OP_EXEC, "GET", path, NULL,
		    e->timeout_ms);
		if (r != ERR_OK)
			return r;
		if (e->status != 200)
			return engine_unexpected(e, "exec inspect");
		if ((j = json_loadb(e->reply, e->len, 0, NULL)) == NULL)
			return ERR_UPSTREAM;
		ec = json_object_get(j, "ExitCode");
		r = ERR_CONFLICT;
		if (!json_is_true(json_object_get(j, "Running")) &&
		    json_is_integer(ec)) {
			*code = (int)json_integer_value(ec);
			r = ERR_OK;
		}
		json_decref(j);
	}
	return r;
}

/*
 * session.c: create, look up, end and reap sessions.
 */
#include "compat.h"

#include <poll.h>
#include <pthread.h>
#include <unistd.h>

#include "clock.h"
#include "id.h"
#include "log.h"
#include "metrics.h"
#include "session.h"

#define SESSION_REAP_MAX 4096	/* rows looked at per pass */
#define SESSION_KEEP_ENDED_MS (24LL * 3600 * 1000)

static void session_remove_labelled(struct session_ctx *, const char *id);
static void session_abandon(struct session_ctx *, const char *id);
static void session_abandon_retry(struct session_ctx *);

ATTR_PRINTF(3, 4) static const char *
session_msg(char *buf, size_t sz, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(buf, sz, fmt, ap);
	va_end(ap);
	return buf;
}

static void
session_spec(struct session_ctx *ctx, const char *id,
    const struct store_pool_key *key, const char *expires,
    struct engine_spec *spec)
{
	const struct cfg *cfg = ctx->cfg;
	const struct cfg_env *env = cfg_env_for(cfg, key->environment);

	memset(spec, 0, sizeof(*spec));
	spec->image = key->image;
	spec->session_id = id;
	spec->tool_pair = key->tool_pair;
	spec->environment = key->environment;
	spec->instance = cfg->instance;
	spec->expires_at = expires;
	spec->lifetime_s = cfg->max_lifetime;
	spec->memory_mb = cfg->memory_mb;
	spec->proc_memory_mb = env != NULL ? env->proc_memory_mb : 0;
	spec->cpu_percent = cfg->cpu_percent;
	spec->pids_limit = cfg_pids_limit(cfg, ctx->runtime != NULL);
	spec->home_mb = cfg->home_size_mb;
	spec->tmp_mb = cfg->tmp_size_mb;
	spec->nofile = cfg->nofile;
	spec->nproc = cfg->nproc;
	spec->runtime = ctx->runtime;
}

/* Make and start the container of a reserved session. */
static enum err
session_container(struct session_ctx *ctx, struct store_session *s,
    const struct store_pool_key *key)
{
	char expires[CLOCK_ISO_SIZE];
	struct engine_spec spec;
	enum err r;

	clock_iso(s->expires_at, expires);
	session_spec(ctx, s->id, key, expires, &spec);
	/* Whatever the engine said (404 no such image, 409, ...), for the
	 * client it is the upstream that failed. */
	r = engine_create(ctx->engine, &spec, s->container_id);
	if (r != ERR_OK) {
		s->container_id[0] = '\0';
		return r == ERR_TIMEOUT ? ERR_TIMEOUT : ERR_UPSTREAM;
	}
	r = engine_start(ctx->engine, s->container_id);
	if (r == ERR_OK)
		return ERR_OK;
	(void)engine_remove(ctx->engine, s->container_id,
	    ctx->cfg->destroy_timeout * 1000);
	s->container_id[0] = '\0';
	return r == ERR_TIMEOUT ? ERR_TIMEOUT : ERR_UPSTREAM;
}

/* At the concurrent limit: end ip's oldest session that has had no
 * terminal attached for SANDBOX_EVICT_AFTER.  True when one was ended. */
static bool
session_evict(struct session_ctx *ctx, const char *ip, int64_t now_ms)
{
	const struct cfg *cfg = ctx->cfg;
	char victim[ID_SIZE], msg[128];

	if (cfg->evict_after == 0 || store_evictable(ctx->store, ip,
	    now_ms - cfg->evict_after * 1000, now_ms, victim) != ERR_OK)
		return false;
	(void)audit_emit(ctx->audit, AUDIT_INFO, "session.evicted",
	    session_msg(msg, sizeof(msg), "Session evicted: its IP is at the "
		"concurrent limit and it has had no terminal for %llds",
		cfg->evict_after), "sessionId", victim, "clientIp", ip,
	    AUDIT_END);
	metrics_pool_event(METRICS_EVICTED);
	return session_end(ctx, victim, "evicted", ip, now_ms) == ERR_OK;
}

/* Reserve under the quota, evicting an abandoned session once if that
 * is what stands in the way. */
static enum err
session_reserve(struct session_ctx *ctx, struct store_session *s,
    enum ratelimit_verdict *verdict, long long *retry_after_s)
{
	const struct cfg *cfg = ctx->cfg;
	struct ratelimit rl = { cfg->sessions_per_hour, cfg->concurrent_per_ip,
		cfg->websockets_per_ip };
	enum err r;

	r = store_reserve(ctx->store, &rl, s, cfg->idle_timeout * 1000,
	    verdict, retry_after_s);
	if (r == ERR_LIMIT && *verdict == RATELIMIT_CONCURRENT &&
	    session_evict(ctx, s->client_ip, s->created_at))
		r = store_reserve(ctx->store, &rl, s, cfg->idle_timeout * 1000,
		    verdict, retry_after_s);
	return r;
}

/* A ready pool container for the reserved session, or the cold path. */
static enum err
session_provide(struct session_ctx *ctx, struct store_session *s,
    const struct store_pool_key *key, bool *pooled, bool *gave_up)
{
	const struct cfg *cfg = ctx->cfg;
	enum err r;

	*pooled = false;
	*gave_up = false;
	if (cfg->pool_size > 0) {
		r = store_pool_claim(ctx->store, s->id, key, s->created_at -
		    cfg->pool_max_age * 1000, s->container_id);
		if (r == ERR_OK) {
			metrics_pool_event(METRICS_POOL_CLAIM);
			*pooled = true;
			return ERR_OK;
		}
		if (r == ERR_CONFLICT) {
			*gave_up = true;	/* the reaper gave up on the row */
			return ERR_UPSTREAM;
		}
		if (r != ERR_NOTFOUND)
			return r;
		metrics_pool_event(METRICS_POOL_MISS);
	}
	if ((r = session_container(ctx, s, key)) != ERR_OK)
		return r;
	if ((r = store_attach(ctx->store, s->id, s->container_id)) != ERR_OK) {
		/* The reaper gave up on us meanwhile, or the store failed:
		 * leave nothing behind. */
		(void)engine_remove(ctx->engine, s->container_id,
		    cfg->destroy_timeout * 1000);
		s->container_id[0] = '\0';
		*gave_up = r == ERR_NOTFOUND;
		return r == ERR_NOTFOUND ? ERR_UPSTREAM : r;
	}
	return ERR_OK;
}

enum err
session_create(struct session_ctx *ctx, const struct session_spec *spec,
    const char *ip, int64_t now_ms, struct store_session *out,
    enum ratelimit_verdict *verdict, long long *retry_after_s)
{
	const struct cfg *cfg = ctx->cfg;
	const char *tool_pair = spec->tool_pair;
	const struct cfg_env *env = cfg_env_for(cfg, spec->environment);
	struct store_pool_key key = { cfg_env_image(cfg, env, tool_pair),
		env != NULL ? env->name : NULL, tool_pair };
	char msg[128], expires[CLOCK_ISO_SIZE];
	bool pooled = false, gave_up = false;
	enum err r;

	*verdict = RATELIMIT_OK;
	*retry_after_s = 0;
	if (key.image == NULL)
		return ERR_INVAL;
	memset(out, 0, sizeof(*out));
	if ((r = id_new(out->id)) != ERR_OK)
		return r;
	(void)strlcpy_ok(out->tool_pair, tool_pair, sizeof(out->tool_pair));
	(void)strlcpy_ok(out->environment, key.environment,
	    sizeof(out->environment));
	(void)strlcpy_ok(out->client_ip, ip, sizeof(out->client_ip));
	out->state = STORE_CREATING;
	out->created_at = out->last_active = now_ms;
	out->expires_at = now_ms + cfg->max_lifetime * 1000;
	if (spec->timeout_ms > 0 && spec->timeout_ms < cfg->max_lifetime * 1000)
		out->expires_at = now_ms + spec->timeout_ms;
	out->owner_pid = (long)getpid();
	if ((r = session_reserve(ctx, out, verdict, retry_after_s)) != ERR_OK)
		return r;
	log_setctx(out->id);
	if ((r = store_init_set(ctx->store, out->id, spec->init)) != ERR_OK) {
		session_abandon(ctx, out->id);
		goto out;
	}
	if ((r = session_provide(ctx, out, &key, &pooled, &gave_up)) !=
	    ERR_OK) {
		log_warnx("create failed: %s", err_str(r));
		if (!gave_up)
			session_abandon(ctx, out->id);
		goto out;
	}
	out->state = STORE_RUNNING;
	clock_iso(out->expires_at, expires);
	r = audit_emit(ctx->audit, AUDIT_INFO, "session.created",
	    session_msg(msg, sizeof(msg), "Session created for tool pair: %s",
		tool_pair), "sessionId", out->id, "toolPair", tool_pair,
	    "environment", key.environment,
	    "clientIp", ip, "expiresAt", expires, "pooled", pooled ? "true" :
	    "false", AUDIT_END);
	if (r != ERR_OK) {
		(void)session_end(ctx, out->id, "audit_failed", ip, now_ms);
		goto out;
	}
	metrics_session_created();
	log_info("%s container %.12s for %s", pooled ? "claimed pooled" :
	    "created", out->container_id, ip);
out:
	log_setctx(NULL);
	return r;
}

/* Is s (n bytes of UTF-8) free of C0 controls but tab, DEL and C1? */
static bool
session_printable(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;

	for (size_t i = 0; i < n; i++) {
		if ((u[i] < 0x20 && u[i] != '\t') || u[i] == 0x7f)
			return false;
		/* U+0080..U+009F are C2 80..C2 9F in UTF-8 (8-bit CSI etc.) */
		if (u[i] == 0xc2 && i + 1 < n && u[i + 1] >= 0x80 &&
		    u[i + 1] <= 0x9f)
			return false;
	}
	return true;
}

char *
session_init_parse(const json_t *init, const char **msg)
{
	size_t i, n;
	json_t *c;
	char *text;

	*msg = NULL;
	if (!json_is_array(init)) {
		*msg = "init must be an array of strings";
		return NULL;
	}
	if ((n = json_array_size(init)) > SESSION_INIT_MAX) {
		*msg = "init has more than 32 commands";
		return NULL;
	}
	for (i = 0; i < n; i++) {
		size_t len;

		c = json_array_get(init, i);
		if (!json_is_string(c)) {
			*msg = "init must be an array of strings";
			return NULL;
		}
		len = json_string_length(c);
		if (len == 0 || len > SESSION_INIT_LEN) {
			*msg = "each init command must be 1 to 1024 bytes";
			return NULL;
		}
		if (!session_printable(json_string_value(c), len)) {
			*msg = "init commands must not hold control characters "
			    "(tab is allowed)";
			return NULL;
		}
	}
	if (n == 0)
		return NULL;
	if ((text = json_dumps(init, JSON_COMPACT)) == NULL)
		*msg = "init could not be stored";
	return text;
}

void
session_spec_release(struct session_spec *spec)
{
	free(spec->init);
	spec->init = NULL;
}

/* ---- the warm pool ------------------------------------------------------ */

/*
 * A pool container is ready when its shell is at a prompt, not when it
 * has started: bash -l takes ~0.4 s to get there under gVisor, and a
 * claim before that is time the learner waits.  Attach (which costs the
 * sandbox nothing), ask docker/init for the screen, and wait for readline's
 * "bracketed paste on" (ESC [ ? 2004 h), which it sends as it starts
 * reading a line; at most SESSION_SETTLE_MS, then it counts as ready.
 */
#define SESSION_SETTLE_MS 5000

static void
session_pool_settle(struct session_ctx *ctx, const char *cid)
{
	static const char hello[] = "\033_tk;hello;24;80\033\\";
	static const char mark[] = "\033[?2004h";
	char buf[4096], tail[sizeof(mark) + sizeof(buf)];
	double end = clock_mono() + SESSION_SETTLE_MS / 1000.0;
	size_t n = 0, tl = 0;
	int fd = -1;

	if (engine_attach(ctx->cfg->docker_socket, cid, 2000, &fd, buf,
	    sizeof(buf), &n) != ERR_OK)
		return;
	if (write(fd, hello, sizeof(hello) - 1) != (ssize_t)sizeof(hello) - 1)
		goto out;
	for (;;) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		double left = end - clock_mono();
		ssize_t k;

		memcpy(tail + tl, buf, n);
		tl += n;
		if (memmem(tail, tl, mark, sizeof(mark) - 1) != NULL)
			break;
		/* Keep the last bytes: the mark may come split. */
		if (tl >= sizeof(mark)) {
			memmove(tail, tail + tl - (sizeof(mark) - 1),
			    sizeof(mark) - 1);
			tl = sizeof(mark) - 1;
		}
		if (left <= 0 || poll(&pfd, 1, (int)(left * 1000) + 1) <= 0 ||
		    (k = read(fd, buf, sizeof(buf))) <= 0)
			break;
		n = (size_t)k;
	}
out:
	(void)close(fd);
}

enum err
session_pool_fill(struct session_ctx *ctx, const struct store_pool_key *key,
    int64_t now_ms)
{
	const struct cfg *cfg = ctx->cfg;
	char id[ID_SIZE], cid[ENGINE_ID_SIZE], expires[CLOCK_ISO_SIZE];
	struct engine_spec spec;
	enum err r;

	if ((r = id_new(id)) != ERR_OK)
		return r;
	/* The row first: a filler killed mid-way leaves a row the reaper
	 * judges by its owner, and a labelled container it then removes. */
	if ((r = store_pool_add(ctx->store, id, key, (long)getpid(),
	    now_ms)) != ERR_OK)
		return r;
	clock_iso(now_ms + (cfg->max_lifetime + cfg->pool_max_age) * 1000,
	    expires);
	session_spec(ctx, id, key, expires, &spec);
	spec.pooled = true;
	spec.lifetime_s = cfg->max_lifetime + cfg->pool_max_age;
	r = engine_create(ctx->engine, &spec, cid);
	if (r == ERR_OK && (r = store_pool_set(ctx->store, id, cid,
	    STORE_POOL_STARTING)) == ERR_OK &&
	    (r = engine_start(ctx->engine, cid)) == ERR_OK) {
		session_pool_settle(ctx, cid);
		r = store_pool_set(ctx->store, id, cid, STORE_POOL_READY);
	}
	if (r == ERR_OK) {
		metrics_pool_event(METRICS_POOL_FILL);
		return ERR_OK;
	}
	log_warnx("pool: filling %s (%s, %s) failed: %s", key->image,
	    key->environment, key->tool_pair, err_str(r));
	metrics_pool_event(METRICS_POOL_FILL_FAILED);
	(void)store_pool_drop(ctx->store, id);
	if (r != ERR_NOTFOUND && cid[0] != '\0')
		(void)engine_remove(ctx->engine, cid, cfg->destroy_timeout *
		    1000);
	return r;
}

#define SESSION_POOL_ROWS 256

struct session_pool_rows {
	struct store_pool row[SESSION_POOL_ROWS];
	size_t n;
};

static void
session_pool_collect(const struct store_pool *p, void *arg)
{
	struct session_pool_rows *rows = arg;

	if (rows->n < SESSION_POOL_ROWS)
		rows->row[rows->n++] = *p;
}

enum err
session_pool_status(struct session_ctx *ctx, const struct store_pool_key *key,
    int64_t now_ms, unsigned *ready, unsigned *starting)
{
	const struct cfg *cfg = ctx->cfg;
	struct session_pool_rows *rows = xcalloc(1, sizeof(*rows));
	enum err r;

	*ready = *starting = 0;
	if ((r = store_pool_each(ctx->store, session_pool_collect, rows)) !=
	    ERR_OK)
		goto out;
	for (size_t i = 0; i < rows->n; i++) {
		const struct store_pool *p = &rows->row[i];
		bool aged = p->created_at < now_ms - cfg->pool_max_age * 1000;
		bool dead = p->state == STORE_POOL_STARTING &&
		    !store_pid_alive(p->owner_pid);

		/* Dropping the row first: nobody can claim it any more. */
		if (aged || dead) {
			if (store_pool_drop(ctx->store, p->id) == ERR_OK &&
			    p->container_id[0] != '\0')
				(void)engine_remove(ctx->engine, p->container_id,
				    cfg->destroy_timeout * 1000);
			log_info("pool: %s container %.12s removed", aged ?
			    "aged" : "abandoned", p->container_id);
			continue;
		}
		if (key != NULL && (strcmp(p->image, key->image) != 0 ||
		    strcmp(p->environment, key->environment) != 0 ||
		    strcmp(p->tool_pair, key->tool_pair) != 0))
			continue;
		if (p->state == STORE_POOL_READY)
			(*ready)++;
		else
			(*starting)++;
	}
out:
	free(rows);
	return r;
}

int64_t
session_deadline(const struct cfg *cfg, const struct store_session *s)
{
	int64_t idle = s->last_active + cfg->idle_timeout * 1000;

	return idle < s->expires_at ? idle : s->expires_at;
}

const char *
session_expiry(const struct cfg *cfg, const struct store_session *s,
    int64_t now_ms)
{
	if (s->state == STORE_ENDED)
		return NULL;
	if (now_ms >= s->expires_at)
		return "lifetime";
	if (now_ms >= s->last_active + cfg->idle_timeout * 1000)
		return "idle";
	return NULL;
}

static bool
session_reason_is_expiry(const char *reason)
{
	return strcmp(reason, "idle") == 0 || strcmp(reason, "lifetime") == 0;
}

/* The audit record for a session that has just been ended by us. */
static enum err
session_audit_end(struct session_ctx *ctx, const char *id,
    const char *reason, const char *ip)
{
	char msg[128];

	if (session_reason_is_expiry(reason))
		return audit_emit(ctx->audit, AUDIT_INFO, "session.expired",
		    session_msg(msg, sizeof(msg), "Session expired (reason: %s)",
			reason), "sessionId", id, "clientIp", ip, "reason",
		    reason, AUDIT_END);
	return audit_emit(ctx->audit, AUDIT_INFO, "session.destroyed",
	    session_msg(msg, sizeof(msg), "Session destroyed (reason: %s)",
		reason), "sessionId", id, "clientIp", ip, "reason", reason,
	    AUDIT_END);
}

enum err
session_end(struct session_ctx *ctx, const char *id, const char *reason,
    const char *ip, int64_t now_ms)
{
	struct store_session s;
	char msg[160];
	enum err r;

	r = store_get(ctx->store, id, &s);
	if (r == ERR_NOTFOUND)
		return ERR_OK;
	if (r == ERR_OK)
		r = store_end(ctx->store, id, reason, now_ms);
	if (r == ERR_NOTFOUND)
		return ERR_OK;	/* someone else ended it first */
	if (r != ERR_OK) {
		/* The state file failed (locked, full, read-only): the
		 * container goes all the same, and the row is the reaper's
		 * once the store writes again ("container_exited"). */
		log_warnx("cannot end %s in the store: %s; removing its "
		    "container anyway", id, err_str(r));
		session_remove_labelled(ctx, id);
		return r;
	}
	/* Read it again: a create in flight may have attached its container
	 * between the first read and the end (after the end it cannot, and
	 * removes the container itself). */
	(void)store_get(ctx->store, id, &s);
	metrics_session_ended();
	if (ip == NULL)
		ip = s.client_ip;
	(void)session_audit_end(ctx, id, reason, ip);
	if (s.container_id[0] == '\0')
		return ERR_OK;
	r = engine_remove(ctx->engine, s.container_id,
	    ctx->cfg->destroy_timeout * 1000);
	if (r != ERR_OK) {
		(void)audit_emit(ctx->audit, AUDIT_ERROR, "error.container",
		    session_msg(msg, sizeof(msg), "Session destroy failed: %s",
			err_str(r)), "sessionId", id, "clientIp", ip, AUDIT_END);
		return r == ERR_TIMEOUT ? ERR_TIMEOUT : ERR_UPSTREAM;
	}
	return ERR_OK;
}

enum err
session_lookup(struct session_ctx *ctx, const char *id, int64_t now_ms,
    const char *ip, struct store_session *out)
{
	const char *why;
	enum err r;

	if ((r = store_get(ctx->store, id, out)) != ERR_OK)
		return r;
	if (out->state == STORE_ENDED)
		return session_reason_is_expiry(out->end_reason) ? ERR_EXPIRED :
		    ERR_NOTFOUND;
	if ((why = session_expiry(ctx->cfg, out, now_ms)) == NULL)
		return ERR_OK;
	(void)session_end(ctx, id, why, ip, now_ms);
	return ERR_EXPIRED;
}

/* ---- the reaper -------------------------------------------------------- */

struct session_rows {
	struct store_session *row;
	size_t n, cap;
};

static void
session_collect(const struct store_session *s, void *arg)
{
	struct session_rows *rows = arg;

	if (rows->n < rows->cap)
		rows->row[rows->n++] = *s;
}

struct session_seen {
	struct session_ctx *ctx;
	struct session_rows *rows;
	bool *present;		/* per row: its container is listed, running */
	struct session_pool_rows *pool;
	bool pool_seen[SESSION_POOL_ROWS];	/* listed and running */
	struct session_reap *rep;
};

/* Is c a live session's (by container id, or by label while creating)? */
static bool
session_reap_match(struct session_seen *seen, const struct engine_container *c)
{
	bool live = false;

	for (size_t i = 0; i < seen->rows->n; i++) {
		const struct store_session *s = &seen->rows->row[i];

		if ((s->state == STORE_CREATING && c->session[0] != '\0' &&
		    strcmp(s->id, c->session) == 0) ||
		    (c->running && strcmp(s->container_id, c->id) == 0)) {
			seen->present[i] = true;
			live = true;
		}
	}
	for (size_t i = 0; i < seen->pool->n; i++)
		if (c->running &&
		    strcmp(seen->pool->row[i].container_id, c->id) == 0) {
			seen->pool_seen[i] = true;
			live = true;
		}
	return live;
}

/* A listed container: mark its row as present, or remove it as an orphan.
 * Labels cannot change after create, so a claimed pool container is known
 * by its id in the session row, not by a label. */
static void
session_reap_container(const struct engine_container *c, void *arg)
{
	struct session_seen *seen = arg;
	bool owned = false;

	if (session_reap_match(seen, c))
		return;
	/* The row may have been made after the rows were read (a create in
	 * flight, a pool fill, a claim): ask the store again.  A stopped
	 * pool container is never claimable: drop its row. */
	if ((c->running || c->pool[0] == '\0') &&
	    store_owns(seen->ctx->store, c->id, c->session, c->pool, &owned) ==
	    ERR_OK && owned)
		return;
	if (c->pool[0] != '\0')
		(void)store_pool_drop(seen->ctx->store, c->pool);
	log_info("reaper: removing container %.12s (%s %s)", c->id,
	    c->pool[0] != '\0' ? "pool" : "session", c->pool[0] != '\0' ?
	    c->pool : c->session[0] != '\0' ? c->session : "?");
	if (engine_remove(seen->ctx->engine, c->id,
		seen->ctx->cfg->destroy_timeout * 1000) == ERR_OK)
		seen->rep->orphans++;
	else
		seen->rep->errors++;
}

/* Ready pool rows whose container was not listed running: drop them
 * (a claim would hand out a dead container). */
static void
session_reap_pool(struct session_seen *seen)
{
	for (size_t i = 0; i < seen->pool->n; i++) {
		const struct store_pool *p = &seen->pool->row[i];

		if (seen->pool_seen[i] || p->state != STORE_POOL_READY)
			continue;
		log_info("reaper: pool container %.12s is gone", p->container_id);
		if (store_pool_drop(seen->ctx->store, p->id) == ERR_OK)
			seen->rep->gone++;
	}
}

/* First half of a pass: rows that must end whatever the engine says. */
static void
session_reap_rows(struct session_ctx *ctx, struct session_rows *rows,
    int64_t now_ms, struct session_reap *rep)
{
	int64_t stale = 2 * ctx->cfg->engine_timeout * 1000 + 5000;

	for (size_t i = 0; i < rows->n; i++) {
		struct store_session *s = &rows->row[i];
		const char *why = NULL;
		enum err r;

		if (s->state == STORE_CREATING) {
			if (store_pid_alive(s->owner_pid) &&
			    now_ms - s->created_at < stale)
				continue;
			why = "abandoned";
			rep->abandoned++;
		} else if ((why = session_expiry(ctx->cfg, s, now_ms)) != NULL)
			rep->expired++;
		else
			continue;
		r = session_end(ctx, s->id, why, NULL, now_ms);
		/* A reservation never became a session: no hourly slot. */
		if (r == ERR_OK && s->state == STORE_CREATING)
			r = store_forget_history(ctx->store, s->id);
		if (r != ERR_OK)
			rep->errors++;
		s->state = STORE_ENDED;
	}
}

enum err
session_reap(struct session_ctx *ctx, int64_t now_ms, struct session_reap *rep)
{
	struct session_rows rows = { NULL, 0, SESSION_REAP_MAX };
	struct session_seen *seen = xcalloc(1, sizeof(*seen));
	unsigned ready, starting;
	enum err r;

	memset(rep, 0, sizeof(*rep));
	seen->ctx = ctx;
	seen->rows = &rows;
	seen->rep = rep;
	session_abandon_retry(ctx);
	rows.row = xcalloc(rows.cap, sizeof(*rows.row));
	seen->present = xcalloc(rows.cap, sizeof(bool));
	seen->pool = xcalloc(1, sizeof(*seen->pool));
	/* Rows first, then containers: a container made after the rows were
	 * read belongs to a row that was already "creating" then, or to a
	 * row store_owns() finds.  Aged and abandoned pool rows go first. */
	r = store_each_live(ctx->store, rows.cap, session_collect, &rows);
	if (r == ERR_OK)
		r = session_pool_status(ctx, NULL, now_ms, &ready, &starting);
	if (r == ERR_OK)
		r = store_pool_each(ctx->store, session_pool_collect,
		    seen->pool);
	if (r != ERR_OK)
		goto out;
	session_reap_rows(ctx, &rows, now_ms, rep);
	r = engine_list(ctx->engine, ctx->cfg->instance, session_reap_container,
	    seen);
	if (r != ERR_OK)
		goto out;
	session_reap_pool(seen);
	for (size_t i = 0; i < rows.n; i++) {
		if (rows.row[i].state != STORE_RUNNING || seen->present[i])
			continue;
		log_info("reaper: container of %s is gone", rows.row[i].id);
		if (session_end(ctx, rows.row[i].id, "container_exited", NULL,
			now_ms) == ERR_OK)
			rep->gone++;
		else
			rep->errors++;
	}
	r = store_purge(ctx->store, now_ms - SESSION_KEEP_ENDED_MS, now_ms);
out:
	free(seen->pool);
	free(seen->present);
	free(seen);
	free(rows.row);
	return r;
}

/* ---- without the store ------------------------------------------------ */

struct session_label {
	struct session_ctx *ctx;
	const char *id;
};

static void
session_remove_match(const struct engine_container *c, void *arg)
{
	struct session_label *sl = arg;

	if (strcmp(c->session, sl->id) != 0)
		return;
	if (engine_remove(sl->ctx->engine, c->id,
		sl->ctx->cfg->destroy_timeout * 1000) != ERR_OK)
		log_warnx("cannot remove container %.12s of %s", c->id, sl->id);
}

/* Remove every container labelled with session id, asking only the
 * engine: for when the store cannot say or record anything. */
static void
session_remove_labelled(struct session_ctx *ctx, const char *id)
{
	struct session_label sl = { ctx, id };

	if (engine_list(ctx->engine, ctx->cfg->instance, session_remove_match,
		&sl) != ERR_OK)
		log_warnx("cannot list containers to remove those of %s", id);
}

/* ---- reservations whose abandon could not be written ------------------- */

/*
 * A create that fails while the store fails (locked, full) cannot forget
 * its reservation, and its owner, this live process, keeps the reaper off
 * it for two engine timeouts: its concurrent slot stayed taken ~65 s.  So
 * the ids wait here, and every reaper pass of this process tries again.
 * Bounded: when full the oldest falls back to the reaper's stale rule.
 */
#define SESSION_ABANDON_MAX 64

static pthread_mutex_t session_abandon_lock = PTHREAD_MUTEX_INITIALIZER;
static char session_abandon_ids[SESSION_ABANDON_MAX][ID_SIZE];
static size_t session_abandon_n;

static void
session_abandon(struct session_ctx *ctx, const char *id)
{
	if (store_abandon(ctx->store, id) == ERR_OK)
		return;
	log_warnx("cannot forget reservation %s yet; the reaper retries", id);
	(void)pthread_mutex_lock(&session_abandon_lock);
	if (session_abandon_n == SESSION_ABANDON_MAX) {
		memmove(session_abandon_ids[0], session_abandon_ids[1],
		    (size_t)(SESSION_ABANDON_MAX - 1) * ID_SIZE);
		session_abandon_n--;
	}
	(void)strlcpy_ok(session_abandon_ids[session_abandon_n++], id, ID_SIZE);
	(void)pthread_mutex_unlock(&session_abandon_lock);
}

static void
session_abandon_retry(struct session_ctx *ctx)
{
	char ids[SESSION_ABANDON_MAX][ID_SIZE];
	size_t n, left = 0;

	(void)pthread_mutex_lock(&session_abandon_lock);
	n = session_abandon_n;
	memcpy(ids, session_abandon_ids, n * ID_SIZE);
	session_abandon_n = 0;
	(void)pthread_mutex_unlock(&session_abandon_lock);
	for (size_t i = 0; i < n; i++) {
		if (store_abandon(ctx->store, ids[i]) == ERR_OK)
			continue;
		(void)strlcpy_ok(ids[left++], ids[i], ID_SIZE);
	}
	(void)pthread_mutex_lock(&session_abandon_lock);
	for (size_t i = 0; i < left && session_abandon_n < SESSION_ABANDON_MAX;
	     i++)
		(void)strlcpy_ok(session_abandon_ids[session_abandon_n++],
		    ids[i], ID_SIZE);
	(void)pthread_mutex_unlock(&session_abandon_lock);
}

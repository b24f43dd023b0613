/*
 * session.c: create, look up, end and reap sessions.
 */
#include "compat.h"

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
session_spec(struct session_ctx *ctx, const struct store_session *s,
    const char *image, const char *expires, struct engine_spec *spec)
{
	const struct cfg *cfg = ctx->cfg;

	memset(spec, 0, sizeof(*spec));
	spec->image = image;
	spec->session_id = s->id;
	spec->tool_pair = s->tool_pair;
	spec->instance = cfg->instance;
	spec->expires_at = expires;
	spec->lifetime_s = cfg->max_lifetime;
	spec->memory_mb = cfg->memory_mb;
	spec->cpu_percent = cfg->cpu_percent;
	spec->pids_limit = cfg_pids_limit(cfg, ctx->runtime != NULL);
	spec->home_mb = cfg->home_size_mb;
	spec->tmp_mb = cfg->tmp_size_mb;
	spec->nofile = cfg->nofile;
	spec->runtime = ctx->runtime;
}

/* Make and start the container of a reserved session. */
static enum err
session_container(struct session_ctx *ctx, struct store_session *s,
    const char *image)
{
	char expires[CLOCK_ISO_SIZE];
	struct engine_spec spec;
	enum err r;

	clock_iso(s->expires_at, expires);
	session_spec(ctx, s, image, expires, &spec);
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

enum err
session_create(struct session_ctx *ctx, const char *tool_pair, const char *ip,
    int64_t now_ms, struct store_session *out, enum ratelimit_verdict *verdict,
    long long *retry_after_s)
{
	const struct cfg *cfg = ctx->cfg;
	struct ratelimit rl = { cfg->sessions_per_hour, cfg->concurrent_per_ip,
		cfg->websockets_per_ip };
	const char *image = cfg_image_for(cfg, tool_pair);
	char msg[128], expires[CLOCK_ISO_SIZE];
	enum err r;

	*verdict = RATELIMIT_OK;
	*retry_after_s = 0;
	if (image == NULL)
		return ERR_INVAL;
	memset(out, 0, sizeof(*out));
	if ((r = id_new(out->id)) != ERR_OK)
		return r;
	(void)strlcpy_ok(out->tool_pair, tool_pair, sizeof(out->tool_pair));
	(void)strlcpy_ok(out->client_ip, ip, sizeof(out->client_ip));
	out->state = STORE_CREATING;
	out->created_at = out->last_active = now_ms;
	out->expires_at = now_ms + cfg->max_lifetime * 1000;
	out->owner_pid = (long)getpid();
	r = store_reserve(ctx->store, &rl, out, cfg->idle_timeout * 1000,
	    verdict, retry_after_s);
	if (r != ERR_OK)
		return r;
	log_setctx(out->id);
	if ((r = session_container(ctx, out, image)) != ERR_OK) {
		log_warnx("create failed: %s", err_str(r));
		session_abandon(ctx, out->id);
		goto out;
	}
	if ((r = store_attach(ctx->store, out->id, out->container_id)) !=
	    ERR_OK) {
		/* The reaper gave up on us meanwhile, or the store failed:
		 * leave nothing behind. */
		(void)engine_remove(ctx->engine, out->container_id,
		    cfg->destroy_timeout * 1000);
		if (r != ERR_NOTFOUND)
			session_abandon(ctx, out->id);
		r = r == ERR_NOTFOUND ? ERR_UPSTREAM : r;
		goto out;
	}
	out->state = STORE_RUNNING;
	clock_iso(out->expires_at, expires);
	r = audit_emit(ctx->audit, AUDIT_INFO, "session.created",
	    session_msg(msg, sizeof(msg), "Session created for tool pair: %s",
		tool_pair), "sessionId", out->id, "toolPair", tool_pair,
	    "clientIp", ip, "expiresAt", expires, AUDIT_END);
	if (r != ERR_OK) {
		(void)session_end(ctx, out->id, "audit_failed", ip, now_ms);
		goto out;
	}
	metrics_session_created();
	log_info("created container %.12s for %s", out->container_id, ip);
out:
	log_setctx(NULL);
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
	struct session_reap *rep;
};

/* A listed container: mark its row as present, or remove it as an orphan. */
static void
session_reap_container(const struct engine_container *c, void *arg)
{
	struct session_seen *seen = arg;
	bool live = false;

	for (size_t i = 0; i < seen->rows->n; i++) {
		const struct store_session *s = &seen->rows->row[i];

		if (strcmp(s->id, c->session) != 0)
			continue;
		if (s->state == STORE_CREATING ||
		    (c->running && strcmp(s->container_id, c->id) == 0)) {
			seen->present[i] = true;
			live = true;
		}
	}
	if (live)
		return;
	/* The row may have been reserved after the rows were read (a create
	 * in flight, its container not started yet): ask the store again. */
	if (c->session[0] != '\0' &&
	    store_is_live(seen->ctx->store, c->session, &live) == ERR_OK && live)
		return;
	log_info("reaper: removing container %.12s (session %s)", c->id,
	    c->session[0] != '\0' ? c->session : "?");
	if (engine_remove(seen->ctx->engine, c->id,
		seen->ctx->cfg->destroy_timeout * 1000) == ERR_OK)
		seen->rep->orphans++;
	else
		seen->rep->errors++;
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
	struct session_seen seen = { ctx, &rows, NULL, rep };
	enum err r;

	memset(rep, 0, sizeof(*rep));
	session_abandon_retry(ctx);
	rows.row = xcalloc(rows.cap, sizeof(*rows.row));
	seen.present = xcalloc(rows.cap, sizeof(bool));
	/* Rows first, then containers: a container made after the rows were
	 * read belongs to a row that was already "creating" then. */
	r = store_each_live(ctx->store, rows.cap, session_collect, &rows);
	if (r != ERR_OK)
		goto out;
	session_reap_rows(ctx, &rows, now_ms, rep);
	r = engine_list(ctx->engine, ctx->cfg->instance, session_reap_container,
	    &seen);
	if (r != ERR_OK)
		goto out;
	for (size_t i = 0; i < rows.n; i++) {
		if (rows.row[i].state != STORE_RUNNING || seen.present[i])
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
	free(seen.present);
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

/*
 * store.h: all shared state in one SQLite file (WAL, busy timeout), used by
 * every toolkata-api thread, every CGI run and every relay.  One
 * `struct store` is one connection: never share it between threads.
 *
 * A session row goes creating -> running -> ended.  "ended" rows stay for a
 * day so that a late GET can say Expired rather than NotFound; they no
 * longer count against any quota.  Times are milliseconds since the epoch.
 * Quota checks and their bookkeeping happen in one IMMEDIATE transaction.
 */
#ifndef STORE_H
#define STORE_H

#include "compat.h"

#include "access.h"
#include "cfg.h"
#include "err.h"
#include "id.h"
#include "ratelimit.h"

enum store_state { STORE_CREATING, STORE_RUNNING, STORE_ENDED };

struct store_session {
	char id[ID_SIZE];
	char container_id[65];	/* "" until the container exists */
	char tool_pair[CFG_PAIR_MAX];
	char client_ip[ACCESS_IP_SIZE];
	enum store_state state;
	int64_t created_at;
	int64_t last_active;
	int64_t expires_at;	/* created_at + max lifetime */
	int64_t ended_at;	/* 0 while live */
	char end_reason[32];	/* "" while live */
	long owner_pid;		/* process that reserved it (creating) */
	int64_t last_detach;	/* when its last terminal left; 0: never */
	char environment[CFG_ENV_MAX];	/* "bash", "node", ... */
};

struct store;

/* Open (creating if needed) the state file.  NULL on error, with an
 * allocated *errstr the caller frees. */
struct store *store_open(const char *path, char **errstr);
void store_close(struct store *);

/*
 * Reserve a session for ip: check the hourly and concurrent limits, and if
 * they allow it insert the row (state creating) and its history entry, all
 * in one transaction.  *verdict says which limit refused (ERR_LIMIT) and
 * *retry_after_s when.  idle_ms is used to compute when the IP's earliest
 * live session will end.
 */
enum err store_reserve(struct store *, const struct ratelimit *,
    const struct store_session *s, int64_t idle_ms,
    enum ratelimit_verdict *verdict, long long *retry_after_s);

/* creating -> running with its container.  ERR_NOTFOUND when the row is
 * gone or no longer creating (the reaper gave up on it). */
enum err store_attach(struct store *, const char *id,
    const char *container_id);

/* Forget a reservation whose container could not be made: the session and
 * its history entry go, so a failed create costs no quota. */
enum err store_abandon(struct store *, const char *id);

/* Read one session row.  ERR_NOTFOUND when there is none. */
enum err store_get(struct store *, const char *id, struct store_session *out);

/* Mark a live session ended with reason.  ERR_NOTFOUND when there is no
 * live row (already ended, or never existed): exactly one caller wins. */
enum err store_end(struct store *, const char *id, const char *reason,
    int64_t now_ms);

/* Refresh the idle timer of a running session (no-op otherwise). */
enum err store_touch(struct store *, const char *id, int64_t now_ms);

/* Number of sessions that have not ended. */
enum err store_count_live(struct store *, long long *n);

/* Call fn for every session that has not ended, oldest first.  fn must
 * not use the same store.  At most max rows. */
typedef void (*store_each_fn)(const struct store_session *, void *arg);
enum err store_each_live(struct store *, size_t max, store_each_fn fn,
    void *arg);

/* True when a live (not ended) row exists for id. */
enum err store_is_live(struct store *, const char *id, bool *live);

/*
 * A session's init commands (a JSON array of strings, see
 * session_init_parse()), kept with its row so that every relay runs them
 * at most once.  set: NULL keeps none.  get: *init is malloc'd (NULL when
 * the session has none); *done once a result was recorded, why the run
 * failed in why ("" when it did not).  ERR_NOTFOUND: no such row.  done:
 * record the result (why NULL: success); the first one recorded stays.
 */
#define STORE_INIT_WHY 192	/* why an init run failed, with NUL */
enum err store_init_set(struct store *, const char *id, const char *init);
enum err store_init_get(struct store *, const char *id, char **init,
    bool *done, char *why, size_t whysz);
enum err store_init_done(struct store *, const char *id, const char *why);

/* Delete ended rows older than before_ms and history older than 1 h. */
enum err store_purge(struct store *, int64_t before_ms, int64_t now_ms);

/*
 * Register an open WebSocket of pid for session id from ip, under the
 * per-IP WebSocket limit, in one transaction.  Registrations whose process
 * is gone (store_pid_alive()) are dropped first, so a killed relay never
 * keeps a slot; registrations of the same session do not count (the new
 * connection takes them over, see store_ws_others()).  *wsid identifies
 * the registration.
 */
enum err store_ws_register(struct store *, const struct ratelimit *,
    const char *id, const char *ip, long pid, int64_t now_ms,
    long long *wsid);

/* Drop a registration; its session's last_detach becomes now_ms. */
enum err store_ws_unregister(struct store *, long long wsid, int64_t now_ms);

/* The pids of the other registrations of session id (at most max). */
enum err store_ws_others(struct store *, const char *id, long long wsid,
    long *pids, size_t max, size_t *n);

/* Is the process pid still running (a zombie is not)?  How the store
 * judges the owner of a reservation or a WebSocket registration. */
bool store_pid_alive(long pid);

/* Open WebSockets of ip whose process is alive (stale ones are dropped),
 * not counting those of session except ("" counts all). */
enum err store_ws_count(struct store *, const char *ip, const char *except,
    int64_t now_ms, long long *n);

/*
 * The oldest running session of ip with no terminal attached since
 * idle_since_ms (created and last detached no later), for eviction when
 * ip is at its concurrent limit.  ERR_NOTFOUND when there is none.
 */
enum err store_evictable(struct store *, const char *ip,
    int64_t idle_since_ms, int64_t now_ms, char id[ID_SIZE]);

/*
 * The warm pool: containers made ahead of demand, one row each, from
 * before the container exists (starting, owned by the process filling it)
 * until it is claimed (the row goes, the session row gets the container)
 * or removed.  A container is never in the pool and a session at once.
 */
enum store_pool_state { STORE_POOL_STARTING, STORE_POOL_READY };

struct store_pool {
	char id[ID_SIZE];	/* label toolkata.pool */
	char image[CFG_IMAGE_MAX];
	char environment[CFG_ENV_MAX];
	char tool_pair[CFG_PAIR_MAX];
	char container_id[65];	/* "" until created */
	enum store_pool_state state;
	long owner_pid;
	int64_t created_at;
};

/* What a pool container is for: a claim hands out an exact match only. */
struct store_pool_key {
	const char *image;
	const char *environment;
	const char *tool_pair;
};

enum err store_pool_add(struct store *, const char *id,
    const struct store_pool_key *, long pid, int64_t now_ms);
/* ERR_NOTFOUND when the row is gone (claimed rows are not updated). */
enum err store_pool_set(struct store *, const char *id,
    const char *container_id, enum store_pool_state);
/* ERR_NOTFOUND when there was no such row. */
enum err store_pool_drop(struct store *, const char *id);

/*
 * Claim the oldest ready container of key (image, environment and tool
 * pair alike) made after born_after_ms for
 * the creating session session_id, in one transaction: the pool row goes
 * and the session becomes running with it.  ERR_NOTFOUND: the pool has
 * none; ERR_CONFLICT: the session is no longer creating.
 */
enum err store_pool_claim(struct store *, const char *session_id,
    const struct store_pool_key *, int64_t born_after_ms,
    char container_id[65]);

typedef void (*store_pool_fn)(const struct store_pool *, void *arg);
enum err store_pool_each(struct store *, store_pool_fn fn, void *arg);

/* Is a container with these labels (session, pool: "" if none) owned by a
 * live session row (by container id, or a creating row by label) or a
 * pool row? */
enum err store_owns(struct store *, const char *container_id,
    const char *session, const char *pool, bool *owned);

/* Drop the hourly-window entry of session id: a reservation the reaper
 * gave up on (its creator died) was never a session and costs no quota. */
enum err store_forget_history(struct store *, const char *id);

/* Set this connection's busy timeout (store_open() gives 5 s).  Request
 * paths use a short one, so that a locked state file fails a request fast
 * instead of holding its worker. */
void store_set_busy(struct store *, int ms);

/*
 * Can this connection write?  A one-row write in its own IMMEDIATE
 * transaction with a busy timeout of busy_ms.  ERR_IO when not, with
 * SQLite's reason ("database is locked", "database or disk is full",
 * "attempt to write a readonly database", ...) in why.  For /health.
 */
enum err store_probe(struct store *, int busy_ms, char *why, size_t whysz);

/*
 * Step checks (table checks): one at a time per session, at most
 * per_minute started in any 60 s (0: no such limit).  Begin checks both
 * and records the check in one IMMEDIATE transaction; a running check
 * holds its slot until store_check_end() or busy_until_ms (so a worker
 * that died mid-check does not block the session for ever).  ERR_LIMIT
 * with *retry_after_s (>= 1) and *running (which rule refused).  Rows
 * older than a minute are dropped on the way.
 */
enum err store_check_begin(struct store *, const char *session_id,
    long long per_minute, int64_t now_ms, int64_t busy_until_ms,
    long long *check_id, long long *retry_after_s, bool *running);
enum err store_check_end(struct store *, long long check_id, int64_t now_ms);

#endif /* STORE_H */

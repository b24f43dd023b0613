/*
 * session.h: the session rules, where the store, the engine and the audit
 * trail meet.  A session is created under the per-IP quota, gets its own
 * labelled container with every limit of contract.md §5.1, and ends in
 * exactly one way: its row is marked ended (releasing its quota slot) by
 * whoever gets there first, then its container is removed.  When removal
 * fails the reaper finds the labelled container later.
 */
#ifndef SESSION_H
#define SESSION_H

#include "compat.h"

#include <jansson.h>

#include "audit.h"
#include "cfg.h"
#include "engine.h"
#include "err.h"
#include "store.h"

#define SESSION_ENV_MAX 32		/* environment name, with NUL */
#define SESSION_INIT_MAX 32		/* init commands per session */
#define SESSION_INIT_LEN 1024		/* bytes per init command */

/* What a create asks for (fcgi/body.c fills it from a POST body). */
struct session_spec {
	char tool_pair[CFG_PAIR_MAX];
	char environment[SESSION_ENV_MAX];	/* "": the default (bash) */
	char *init;		/* init commands as a compact JSON array of
				 * strings (malloc'd), NULL for none */
	int64_t timeout_ms;	/* 0: the lifetime; else expiresAt is
				 * created + this (<= the lifetime) */
};

/*
 * Check init commands (a create body's "init", a WebSocket init frame's
 * "commands"): an array of at most SESSION_INIT_MAX strings, each 1 to
 * SESSION_INIT_LEN bytes with no control character but tab (no C0, DEL or
 * C1).  Returns them as compact JSON (malloc'd), or NULL: with *msg set
 * when they break a rule, with *msg NULL for an empty array.
 */
char *session_init_parse(const json_t *init, const char **msg);

/* Free what a spec owns. */
void session_spec_release(struct session_spec *);

struct session_ctx {
	const struct cfg *cfg;
	struct store *store;
	struct engine *engine;
	struct audit *audit;
	const char *runtime;	/* gVisor runtime in use, or NULL for runc */
};

/*
 * Create a session for ip: a claimed pool container when one is ready,
 * else a new one (the cold path).  At the concurrent limit, ip's oldest
 * session with no terminal attached for SANDBOX_EVICT_AFTER is ended
 * first (audited as session.evicted).  ERR_INVAL: unknown tool pair, or
 * an environment that is not configured or whose image is missing.
 * ERR_LIMIT: a per-IP quota refused (see *verdict, *retry_after_s).  ERR_UPSTREAM /
 * ERR_TIMEOUT: the engine failed, nothing is left behind and no quota is
 * used.  ERR_IO: state file or audit log failed.  On ERR_OK *out is the
 * running session.
 */
enum err session_create(struct session_ctx *, const struct session_spec *,
    const char *ip, int64_t now_ms, struct store_session *out,
    enum ratelimit_verdict *verdict, long long *retry_after_s);

/*
 * Look a session up for a client.  ERR_NOTFOUND: no such session (or it
 * was deleted).  ERR_EXPIRED: it has expired; if it had not been ended yet
 * it is ended now (lazy expiry, audited as session.expired).
 */
enum err session_lookup(struct session_ctx *, const char *id, int64_t now_ms,
    const char *ip, struct store_session *out);

/*
 * End a session for reason ("user_request", "idle", "lifetime", ...) and
 * remove its container within SANDBOX_DESTROY_TIMEOUT.  Ending an unknown
 * or already ended session is ERR_OK.  ERR_UPSTREAM / ERR_TIMEOUT when the
 * container could not be removed (the session has ended all the same).
 */
enum err session_end(struct session_ctx *, const char *id, const char *reason,
    const char *ip, int64_t now_ms);

/* Why a live session must end at now_ms ("idle" or "lifetime"), or NULL. */
const char *session_expiry(const struct cfg *, const struct store_session *,
    int64_t now_ms);

/* The deadline of a live session: the earlier of idle and lifetime. */
int64_t session_deadline(const struct cfg *, const struct store_session *);

struct session_reap {
	unsigned expired;	/* live rows past idle or lifetime */
	unsigned abandoned;	/* creating rows whose creator died */
	unsigned gone;		/* rows whose container vanished or exited */
	unsigned orphans;	/* labelled containers with no live row */
	unsigned errors;
};

/*
 * One reaper pass: expire sessions, give up on reservations whose creator
 * died or that are older than two engine timeouts, end rows whose
 * container is gone or has stopped, remove labelled containers that have
 * no live row, purge ended rows older than a day.
 */
enum err session_reap(struct session_ctx *, int64_t now_ms,
    struct session_reap *rep);

/*
 * The warm pool.  Fill one container for key (image, environment, tool
 * pair) ahead of demand: a
 * pool row (owned by this process) before the container, then create and
 * start with every limit and label of a session container, but the label
 * toolkata.pool and a deadline of lifetime + pool age.  A create then
 * claims it in one transaction (store_pool_claim()).
 */
enum err session_pool_fill(struct session_ctx *,
    const struct store_pool_key *key, int64_t now_ms);

/* Ready and starting pool containers of key (NULL: all); drops (and
 * removes) rows older than SANDBOX_POOL_MAX_AGE and starting rows whose
 * filler died. */
enum err session_pool_status(struct session_ctx *,
    const struct store_pool_key *key, int64_t now_ms, unsigned *ready,
    unsigned *starting);

#endif /* SESSION_H */

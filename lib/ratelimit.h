/*
 * ratelimit.h: the per-IP quota rules, as pure functions of counts and a
 * clock passed in.  The store gathers the counts inside the transaction that
 * also records the new session, so check and bookkeeping are atomic across
 * processes.  The hourly window slides: a session counts against its IP for
 * 3600 s after it was created, whatever became of it.  The concurrent limit
 * counts sessions that have not ended, so a slot is released when a session
 * ends however it ends.
 */
#ifndef RATELIMIT_H
#define RATELIMIT_H

#include "compat.h"

#include "err.h"

#define RATELIMIT_WINDOW_MS (3600LL * 1000)

struct ratelimit {
	long long per_hour;	/* MAX_SESSIONS_PER_HOUR */
	long long concurrent;	/* MAX_CONCURRENT_PER_IP */
	long long websockets;	/* MAX_WEBSOCKETS_PER_IP */
};

/* What the store counted for one IP at time now. */
struct ratelimit_usage {
	long long in_window;	/* sessions created in (now - 1 h, now] */
	int64_t oldest_ms;	/* creation time of the oldest of those */
	long long live;		/* sessions of this IP that have not ended */
	int64_t next_end_ms;	/* earliest time one of those will end */
};

enum ratelimit_verdict {
	RATELIMIT_OK,
	RATELIMIT_HOURLY,	/* MAX_SESSIONS_PER_HOUR reached */
	RATELIMIT_CONCURRENT,	/* MAX_CONCURRENT_PER_IP reached */
};

/*
 * May this IP open one more session?  The hourly limit is checked first,
 * as in the original.  When refused, *retry_after_s is the number of
 * seconds (at least 1) after which the same request could succeed.
 */
enum ratelimit_verdict ratelimit_session(const struct ratelimit *rl,
    const struct ratelimit_usage *u, int64_t now_ms,
    long long *retry_after_s);

/* May this IP open one more WebSocket, given open_ws already open? */
bool ratelimit_websocket(const struct ratelimit *rl, long long open_ws);

/* Seconds from now_ms until at_ms, rounded up, at least 1. */
long long ratelimit_seconds_until(int64_t at_ms, int64_t now_ms);

#endif /* RATELIMIT_H */

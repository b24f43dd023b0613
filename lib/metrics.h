/*
 * metrics.h: process-wide counters and the Engine call latency histogram,
 * rendered in the Prometheus text format (version 0.0.4).  Counters are
 * atomic; any thread may bump them.  They live in the process: a daemon
 * restart or a one-shot CGI run starts from zero, which Prometheus handles
 * as a counter reset.  Gauges that describe shared state (live sessions)
 * are read from the store at render time by the caller.
 */
#ifndef METRICS_H
#define METRICS_H

#include "compat.h"

enum metrics_reject {
	METRICS_REJECT_HOURLY,
	METRICS_REJECT_CONCURRENT,
	METRICS_REJECT_CIRCUIT,
	METRICS_REJECT_AUTH,
	METRICS_REJECT_ORIGIN,
	METRICS_REJECT_WEBSOCKET,
	METRICS_REJECT_BAD_REQUEST,
	METRICS_REJECT_TOO_BIG,
	METRICS_REJECT_MAX
};

enum metrics_op {
	METRICS_OP_CREATE,
	METRICS_OP_START,
	METRICS_OP_REMOVE,
	METRICS_OP_INSPECT,
	METRICS_OP_LIST,
	METRICS_OP_INFO,
	METRICS_OP_ATTACH,
	METRICS_OP_EXEC,	/* step checks: exec create, start, inspect */
	METRICS_OP_MAX
};

enum metrics_pool {
	METRICS_POOL_CLAIM,	/* a create took a pooled container */
	METRICS_POOL_MISS,	/* a create found the pool empty */
	METRICS_POOL_FILL,
	METRICS_POOL_FILL_FAILED,
	METRICS_EVICTED,	/* sessions ended to make room (eviction) */
	METRICS_POOL_MAX
};

void metrics_session_created(void);
void metrics_pool_event(enum metrics_pool);
unsigned long long metrics_pool_count(enum metrics_pool);
void metrics_session_ended(void);
void metrics_reject(enum metrics_reject);
void metrics_engine_observe(enum metrics_op, double seconds, bool ok);

/* Render everything into buf (at most cap bytes, NUL-terminated); live is
 * the number of live sessions.  Returns the length, or 0 if it did not fit. */
size_t metrics_render(char *buf, size_t cap, long long live);

/* Read one counter (tests). */
unsigned long long metrics_rejections(enum metrics_reject);
unsigned long long metrics_engine_calls(enum metrics_op);

#endif /* METRICS_H */

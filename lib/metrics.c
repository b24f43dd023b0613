/*
 * metrics.c: atomic counters and a fixed-bucket histogram.
 */
#include "compat.h"

#include <stdatomic.h>

#include "metrics.h"

static const double metrics_bounds[] = { 0.005, 0.01, 0.025, 0.05, 0.1,
	0.25, 0.5, 1, 2.5, 5, 10 };
#define METRICS_NB nitems(metrics_bounds)

static const char *const metrics_reject_names[METRICS_REJECT_MAX] = {
	"hourly", "concurrent", "circuit", "auth", "origin", "websocket",
	"bad_request", "too_big",
};
static const char *const metrics_op_names[METRICS_OP_MAX] = {
	"create", "start", "remove", "inspect", "list", "info", "attach",
	"exec",
};

static atomic_ullong m_created, m_ended;
static atomic_ullong m_reject[METRICS_REJECT_MAX];
static atomic_ullong m_bucket[METRICS_OP_MAX][METRICS_NB + 1];
static atomic_ullong m_count[METRICS_OP_MAX], m_errors[METRICS_OP_MAX];
static atomic_ullong m_sum_us[METRICS_OP_MAX];
static atomic_ullong m_pool[METRICS_POOL_MAX];
static const char *const metrics_pool_names[METRICS_POOL_MAX] = {
	"claim", "miss", "fill", "fill_failed", "evicted",
};

void
metrics_session_created(void)
{
	atomic_fetch_add(&m_created, 1);
}

void
metrics_pool_event(enum metrics_pool e)
{
	if (e < METRICS_POOL_MAX)
		atomic_fetch_add(&m_pool[e], 1);
}

unsigned long long
metrics_pool_count(enum metrics_pool e)
{
	return e < METRICS_POOL_MAX ? atomic_load(&m_pool[e]) : 0;
}

void
metrics_session_ended(void)
{
	atomic_fetch_add(&m_ended, 1);
}

void
metrics_reject(enum metrics_reject r)
{
	if (r < METRICS_REJECT_MAX)
		atomic_fetch_add(&m_reject[r], 1);
}

void
metrics_engine_observe(enum metrics_op op, double seconds, bool ok)
{
	size_t b = 0;

	if (op >= METRICS_OP_MAX)
		return;
	while (b < METRICS_NB && seconds > metrics_bounds[b])
		b++;
	atomic_fetch_add(&m_bucket[op][b], 1);
	atomic_fetch_add(&m_count[op], 1);
	atomic_fetch_add(&m_sum_us[op], (unsigned long long)(seconds * 1e6));
	if (!ok)
		atomic_fetch_add(&m_errors[op], 1);
}

unsigned long long
metrics_rejections(enum metrics_reject r)
{
	return r < METRICS_REJECT_MAX ? atomic_load(&m_reject[r]) : 0;
}

unsigned long long
metrics_engine_calls(enum metrics_op op)
{
	return op < METRICS_OP_MAX ? atomic_load(&m_count[op]) : 0;
}

ATTR_PRINTF(4, 5) static void
metrics_put(char *buf, size_t cap, size_t *len, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*len >= cap)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *len, cap - *len, fmt, ap);
	va_end(ap);
	*len = n < 0 ? cap : *len + (size_t)n;
}

static void
metrics_histogram(char *buf, size_t cap, size_t *len, enum metrics_op op)
{
	const char *name = metrics_op_names[op];
	unsigned long long cum = 0;

	for (size_t b = 0; b < METRICS_NB; b++) {
		cum += atomic_load(&m_bucket[op][b]);
		metrics_put(buf, cap, len, "toolkata_engine_call_seconds_bucket"
		    "{op=\"%s\",le=\"%g\"} %llu\n", name, metrics_bounds[b], cum);
	}
	metrics_put(buf, cap, len, "toolkata_engine_call_seconds_bucket"
	    "{op=\"%s\",le=\"+Inf\"} %llu\n", name, atomic_load(&m_count[op]));
	metrics_put(buf, cap, len, "toolkata_engine_call_seconds_sum"
	    "{op=\"%s\"} %.6f\n", name, (double)atomic_load(&m_sum_us[op]) / 1e6);
	metrics_put(buf, cap, len, "toolkata_engine_call_seconds_count"
	    "{op=\"%s\"} %llu\n", name, atomic_load(&m_count[op]));
}

size_t
metrics_render(char *buf, size_t cap, long long live)
{
	size_t len = 0;

	metrics_put(buf, cap, &len, "# HELP toolkata_sessions_live Sessions "
	    "that have not ended.\n# TYPE toolkata_sessions_live gauge\n"
	    "toolkata_sessions_live %lld\n", live);
	metrics_put(buf, cap, &len, "# HELP toolkata_sessions_created_total "
	    "Sessions created by this process.\n# TYPE "
	    "toolkata_sessions_created_total counter\n"
	    "toolkata_sessions_created_total %llu\n", atomic_load(&m_created));
	metrics_put(buf, cap, &len, "# HELP toolkata_sessions_ended_total "
	    "Sessions ended by this process.\n# TYPE "
	    "toolkata_sessions_ended_total counter\n"
	    "toolkata_sessions_ended_total %llu\n", atomic_load(&m_ended));
	metrics_put(buf, cap, &len, "# HELP toolkata_rejections_total "
	    "Requests refused, by reason.\n# TYPE toolkata_rejections_total "
	    "counter\n");
	for (size_t r = 0; r < METRICS_REJECT_MAX; r++)
		metrics_put(buf, cap, &len, "toolkata_rejections_total"
		    "{reason=\"%s\"} %llu\n", metrics_reject_names[r],
		    atomic_load(&m_reject[r]));
	metrics_put(buf, cap, &len, "# HELP toolkata_pool_events_total "
	    "Warm pool claims, misses (cold creates), fills, failed fills and "
	    "evictions by this process.\n# TYPE toolkata_pool_events_total "
	    "counter\n");
	for (size_t e = 0; e < METRICS_POOL_MAX; e++)
		metrics_put(buf, cap, &len, "toolkata_pool_events_total"
		    "{event=\"%s\"} %llu\n", metrics_pool_names[e],
		    atomic_load(&m_pool[e]));
	metrics_put(buf, cap, &len, "# HELP toolkata_engine_errors_total "
	    "Docker Engine API calls that failed.\n# TYPE "
	    "toolkata_engine_errors_total counter\n");
	for (size_t op = 0; op < METRICS_OP_MAX; op++)
		metrics_put(buf, cap, &len, "toolkata_engine_errors_total"
		    "{op=\"%s\"} %llu\n", metrics_op_names[op],
		    atomic_load(&m_errors[op]));
	metrics_put(buf, cap, &len, "# HELP toolkata_engine_call_seconds "
	    "Docker Engine API call latency.\n# TYPE "
	    "toolkata_engine_call_seconds histogram\n");
	for (size_t op = 0; op < METRICS_OP_MAX; op++)
		metrics_histogram(buf, cap, &len, (enum metrics_op)op);
	if (len >= cap) {
		if (cap > 0)
			buf[0] = '\0';
		return 0;
	}
	return len;
}

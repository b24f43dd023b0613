/*
 * h_metrics.c: GET /metrics in the Prometheus text format, behind the same
 * API key as the REST API.
 */
#include "compat.h"

#include "api.h"
#include "log.h"
#include "metrics.h"

#define METRICS_MAX ((size_t)64 * 1024)

/* Append the pool gauges (read from the store) to buf[0..len). */
static size_t
metrics_pool_gauges(struct api *api, char *buf, size_t cap, size_t len)
{
	json_t *p = health_pool(api);
	int n = snprintf(buf + len, cap - len, "# HELP toolkata_pool_ready "
	    "Warm pool containers ready to be claimed.\n# TYPE "
	    "toolkata_pool_ready gauge\ntoolkata_pool_ready %lld\n"
	    "# HELP toolkata_pool_starting Warm pool containers being made.\n"
	    "# TYPE toolkata_pool_starting gauge\ntoolkata_pool_starting "
	    "%lld\n", (long long)json_integer_value(json_object_get(p,
	    "ready")), (long long)json_integer_value(json_object_get(p,
	    "starting")));

	json_decref(p);
	return n > 0 && (size_t)n < cap - len ? len + (size_t)n : 0;
}

void
h_metrics(struct api *api, struct req *req, struct reply *rep,
    const char *id ATTR_UNUSED)
{
	long long live = 0;
	char *buf;
	size_t n;

	if (!api_authorized(api, req, rep, req_header(req, "HTTP_X_API_KEY"),
		NULL))
		return;
	if (store_count_live(api->sess.store, &live) != ERR_OK) {
		reply_err(rep, ERR_IO);
		return;
	}
	buf = xmalloc(METRICS_MAX);
	n = metrics_render(buf, METRICS_MAX, live);
	if (n > 0)
		n = metrics_pool_gauges(api, buf, METRICS_MAX, n);
	if (n == 0)
		reply_err(rep, ERR_TOOBIG);
	else
		reply_text(rep, 200, "text/plain; version=0.0.4", buf, n);
	free(buf);
}

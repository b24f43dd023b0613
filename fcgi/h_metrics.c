/*
 * h_metrics.c: GET /metrics in the Prometheus text format, behind the same
 * API key as the REST API.
 */
#include "compat.h"

#include "api.h"
#include "log.h"
#include "metrics.h"

#define METRICS_MAX ((size_t)64 * 1024)

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
	if (n == 0)
		reply_err(rep, ERR_TOOBIG);
	else
		reply_text(rep, 200, "text/plain; version=0.0.4", buf, n);
	free(buf);
}

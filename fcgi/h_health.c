/*
 * h_health.c: GET /health, GET /api/v1/status (the load circuit breaker),
 * and the gVisor availability both of them report.
 */
#include "compat.h"

#include "api.h"
#include "metrics.h"
#include "clock.h"
#include "log.h"

#define GVISOR_TTL 5.0	/* seconds an engine answer about runsc is kept */
#define STORE_TTL 1.0	/* seconds a write probe's answer is kept */
#define STORE_PROBE_MS 200	/* busy timeout of the probe */

double api_started;

void
api_refresh_gvisor(struct api *api)
{
	const struct cfg *cfg = api->cfg;
	double now = clock_mono();
	bool has = false;

	if (!cfg->use_gvisor) {
		api->gvisor_available = false;
		api->sess.runtime = NULL;
		return;
	}
	if (api->gvisor_checked != 0 && now - api->gvisor_checked < GVISOR_TTL)
		return;
	if (engine_has_runtime(api->sess.engine, cfg->gvisor_runtime, &has) !=
	    ERR_OK)
		has = false;
	if (!has && api->gvisor_available)
		log_warnx("gVisor runtime '%s' is no longer registered",
		    cfg->gvisor_runtime);
	api->gvisor_available = has;
	api->gvisor_checked = now;
	/* Outside production a missing runsc falls back to runc (and /health
	 * says so); production refused to start without it. */
	api->sess.runtime = has ? cfg->gvisor_runtime : NULL;
}

static void
health_pool_row(const struct store_pool *p, void *arg)
{
	unsigned *n = arg;

	n[p->state == STORE_POOL_READY ? 0 : 1]++;
}

/* {size, ready, starting, claims, misses}: the rows of every image; the
 * counters are this process's. */
json_t *
health_pool(struct api *api)
{
	unsigned n[2] = { 0, 0 };

	(void)store_pool_each(api->sess.store, health_pool_row, n);
	return json_pack("{s:I, s:i, s:i, s:I, s:I}", "size",
	    (json_int_t)api->cfg->pool_size, "ready", (int)n[0], "starting",
	    (int)n[1], "claims", (json_int_t)metrics_pool_count(
	    METRICS_POOL_CLAIM), "misses", (json_int_t)metrics_pool_count(
	    METRICS_POOL_MISS));
}

/* Can this worker's store write?  Probed at most once a second. */
static const char *
health_store_problem(struct api *api)
{
	char why[128];
	double now = clock_mono();

	if (api->store_checked != 0 && now - api->store_checked < STORE_TTL)
		return api->store_problem[0] != '\0' ? api->store_problem : NULL;
	api->store_checked = now;
	api->store_problem[0] = '\0';
	if (store_probe(api->sess.store, STORE_PROBE_MS, why, sizeof(why)) !=
	    ERR_OK)
		(void)snprintf(api->store_problem, sizeof(api->store_problem),
		    "state store cannot write: %s", why);
	return api->store_problem[0] != '\0' ? api->store_problem : NULL;
}

void
h_health(struct api *api, struct req *req ATTR_UNUSED, struct reply *rep,
    const char *id ATTR_UNUSED)
{
	char ts[CLOCK_ISO_SIZE];
	long long live = 0;
	const char *problem;
	json_t *gv, *j;

	api_refresh_gvisor(api);
	problem = health_store_problem(api);
	(void)store_count_live(api->sess.store, &live);
	clock_iso(clock_now_ms(), ts);
	gv = json_pack("{s:b, s:b}", "requested", api->cfg->use_gvisor,
	    "available", api->gvisor_available);
	if (gv != NULL && api->cfg->use_gvisor)
		(void)json_object_set_new(gv, "runtime",
		    json_string(api->cfg->gvisor_runtime));
	/* Still 200: reads and terminals may work; "status" says what is
	 * wrong (the contract's field, "ok" when nothing is). */
	j = json_pack("{s:s, s:s, s:f, s:I, s:o, s:o}", "status",
	    problem != NULL ? "degraded" : "ok", "timestamp", ts, "uptime",
	    clock_mono() - api_started, "containers", (json_int_t)live,
	    "gvisor", gv, "pool", health_pool(api));
	if (j != NULL && problem != NULL)
		(void)json_object_set_new(j, "degraded", json_pack("[s]",
		    problem));
	reply_json(rep, 200, j);
}

/* Host memory in use, percent, from /proc/meminfo (total - available). */
static int
circuit_memory_percent(void)
{
	FILE *fp = fopen("/proc/meminfo", "re");
	char line[128];
	long long total = 0, avail = -1;

	if (fp == NULL)
		return 0;
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (strncmp(line, "MemTotal:", 9) == 0)
			total = strtoll(line + 9, NULL, 10);
		else if (strncmp(line, "MemAvailable:", 13) == 0)
			avail = strtoll(line + 13, NULL, 10);
	}
	(void)fclose(fp);
	if (total <= 0 || avail < 0)
		return 0;
	return (int)((total - avail) * 100 / total);
}

bool
circuit_open(struct api *api, long long live, int *mem_percent, char *reason,
    size_t reasonsz)
{
	const struct cfg *cfg = api->cfg;

	*mem_percent = circuit_memory_percent();
	reason[0] = '\0';
	if (live >= cfg->circuit_max_containers) {
		(void)snprintf(reason, reasonsz, "Too many active containers "
		    "(%lld/%lld)", live, cfg->circuit_max_containers);
		return true;
	}
	if (!cfg->development && *mem_percent >= cfg->circuit_max_memory_percent) {
		(void)snprintf(reason, reasonsz, "Memory usage too high "
		    "(%d%%/%lld%%)", *mem_percent,
		    cfg->circuit_max_memory_percent);
		return true;
	}
	return false;
}

void
h_status(struct api *api, struct req *req ATTR_UNUSED, struct reply *rep,
    const char *id ATTR_UNUSED)
{
	char reason[128];
	long long live = 0;
	int mem;
	bool open;

	if (store_count_live(api->sess.store, &live) != ERR_OK) {
		reply_err(rep, ERR_IO);
		return;
	}
	open = circuit_open(api, live, &mem, reason, sizeof(reason));
	reply_json(rep, 200, json_pack("{s:b, s:o, s:{s:I, s:I, s:i, s:I}}",
	    "isOpen", open, "reason", open ? json_string(reason) : json_null(),
	    "metrics", "containers", (json_int_t)live, "maxContainers",
	    (json_int_t)api->cfg->circuit_max_containers, "memoryPercent", mem,
	    "maxMemoryPercent",
	    (json_int_t)api->cfg->circuit_max_memory_percent));
}

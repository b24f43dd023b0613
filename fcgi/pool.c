/*
 * pool.c: the daemon's pool thread: keeps SANDBOX_POOL_SIZE containers per
 * tool pair and pooled environment (SANDBOX_POOL_ENVIRONMENTS, bash alone
 * by default: a ready container holds ~30 MB of a small host) created and
 * started ahead of demand, with its own store and
 * engine connection.  Every POOL_TICK_MS it looks at the pool rows (any
 * process may have claimed one: a worker, a CGI run) and fills at most
 * one container per pool key, so that a burst of claims is refilled one
 * start at a time and the engine is never asked for more at once than a
 * create would.  It also replaces containers older than
 * SANDBOX_POOL_MAX_AGE.  It stops filling while the circuit breaker's
 * container count is reached.
 */
#include "compat.h"

#include <pthread.h>
#include <unistd.h>

#include "api.h"
#include "clock.h"
#include "log.h"

#define POOL_TICK_MS 250

struct pool {
	pthread_t thread;
	struct api api;
	volatile int *stop;
};

/* Fill one container of key when it has fewer than SANDBOX_POOL_SIZE and
 * the circuit breaker allows; true when one was added. */
static bool
pool_fill_key(struct api *api, const struct store_pool_key *key)
{
	const struct cfg *cfg = api->cfg;
	unsigned ready = 0, starting = 0;
	long long live = 0;

	if (session_pool_status(&api->sess, key, clock_now_ms(), &ready,
	    &starting) != ERR_OK ||
	    ready + starting >= (unsigned long long)cfg->pool_size)
		return false;
	if (store_count_live(api->sess.store, &live) != ERR_OK ||
	    live >= cfg->circuit_max_containers)
		return false;
	return session_pool_fill(&api->sess, key, clock_now_ms()) == ERR_OK;
}

/* One pass over every (tool pair, pooled environment): true when a
 * container was filled (look again at once). */
bool
pool_pass(struct api *api)
{
	const struct cfg *cfg = api->cfg;
	bool filled = false;

	for (size_t i = 0; i < cfg->nimages; i++)
		for (size_t k = 0; k < cfg->nenvs; k++) {
			const struct cfg_env *env = &cfg->envs[k];
			struct store_pool_key key = { cfg_env_image(cfg, env,
				cfg->image[i].pair), env->name,
				cfg->image[i].pair };

			if (env->pooled && !env->missing &&
			    pool_fill_key(api, &key))
				filled = true;
		}
	return filled;
}

static void *
pool_main(void *arg)
{
	struct pool *pl = arg;

	log_setctx("pool");
	while (!*pl->stop) {
		if (pool_pass(&pl->api))
			continue;
		for (int i = 0; i < POOL_TICK_MS / 50 && !*pl->stop; i++)
			(void)usleep(50 * 1000);
	}
	return NULL;
}

struct pool *
pool_start(const struct cfg *cfg, struct audit *audit, const char *runtime,
    volatile int *stop)
{
	struct pool *pl;

	if (cfg->pool_size == 0)
		return NULL;
	pl = xcalloc(1, sizeof(*pl));
	api_init(&pl->api, cfg, audit);
	pl->api.sess.runtime = runtime;
	pl->stop = stop;
	if (pthread_create(&pl->thread, NULL, pool_main, pl) != 0)
		fatalx("cannot start the pool thread");
	log_info("warm pool: %lld container(s) per tool pair and pooled "
	    "environment", cfg->pool_size);
	return pl;
}

void
pool_join(struct pool *pl)
{
	if (pl == NULL)
		return;
	(void)pthread_join(pl->thread, NULL);
	api_release(&pl->api);
	free(pl);
}

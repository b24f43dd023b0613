/*
 * pool.c: the daemon's pool thread: keeps SANDBOX_POOL_SIZE containers per
 * image created and started ahead of demand, with its own store and
 * engine connection.  Every POOL_TICK_MS it looks at the pool rows (any
 * process may have claimed one: a worker, a CGI run) and fills at most
 * one container per image, so that a burst of claims is refilled one
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

/* One pass: true when a container was filled (look again at once). */
bool
pool_pass(struct api *api)
{
	const struct cfg *cfg = api->cfg;
	bool filled = false;

	for (size_t i = 0; i < cfg->nimages; i++) {
		const struct cfg_image *im = &cfg->image[i];
		unsigned ready = 0, starting = 0;
		long long live = 0;

		if (session_pool_status(&api->sess, im->image, clock_now_ms(),
		    &ready, &starting) != ERR_OK ||
		    ready + starting >= (unsigned long long)cfg->pool_size)
			continue;
		if (store_count_live(api->sess.store, &live) != ERR_OK ||
		    live >= cfg->circuit_max_containers)
			continue;
		if (session_pool_fill(&api->sess, im, clock_now_ms()) == ERR_OK)
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
	log_info("warm pool: %lld container(s) per image", cfg->pool_size);
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

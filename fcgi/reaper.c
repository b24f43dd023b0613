/*
 * reaper.c: the daemon's reaper thread: one session_reap() pass every
 * SANDBOX_REAP_INTERVAL seconds, with its own store and engine connection.
 */
#include "compat.h"

#include <pthread.h>
#include <unistd.h>

#include "api.h"
#include "clock.h"
#include "log.h"

struct reaper {
	pthread_t thread;
	struct api api;
	volatile int *stop;
};

enum err
reaper_pass(struct api *api)
{
	struct session_reap rep;
	enum err r;

	memset(&rep, 0, sizeof(rep));
	log_setctx("reaper");
	r = session_reap(&api->sess, clock_now_ms(), &rep);
	if (r != ERR_OK)
		log_warnx("pass failed: %s", err_str(r));
	if (rep.expired + rep.abandoned + rep.gone + rep.orphans +
	    rep.errors > 0)
		log_info("expired %u, abandoned %u, gone %u, orphans removed "
		    "%u, errors %u", rep.expired, rep.abandoned, rep.gone,
		    rep.orphans, rep.errors);
	log_setctx(NULL);
	return r;
}

static void *
reaper_main(void *arg)
{
	struct reaper *rp = arg;
	long long ticks = rp->api.cfg->reap_interval * 10;

	while (!*rp->stop) {
		for (long long i = 0; i < ticks && !*rp->stop; i++)
			(void)usleep(100 * 1000);
		if (*rp->stop)
			break;
		(void)reaper_pass(&rp->api);
	}
	return NULL;
}

struct reaper *
reaper_start(const struct cfg *cfg, struct audit *audit, volatile int *stop)
{
	struct reaper *rp = xcalloc(1, sizeof(*rp));

	api_init(&rp->api, cfg, audit);
	rp->stop = stop;
	if (pthread_create(&rp->thread, NULL, reaper_main, rp) != 0)
		fatalx("cannot start the reaper thread");
	return rp;
}

void
reaper_join(struct reaper *rp)
{
	if (rp == NULL)
		return;
	(void)pthread_join(rp->thread, NULL);
	api_release(&rp->api);
	free(rp);
}

/*
 * api.c: a worker's context: its own SQLite connection and Engine
 * connection (neither may be shared between threads), the shared audit
 * sink and configuration.
 */
#include "compat.h"

#include "api.h"
#include "log.h"

void
api_init(struct api *api, const struct cfg *cfg, struct audit *audit)
{
	char *errstr = NULL;

	memset(api, 0, sizeof(*api));
	api->cfg = cfg;
	api->sess.cfg = cfg;
	api->sess.audit = audit;
	api->sess.store = store_open(cfg->state_file, &errstr);
	if (api->sess.store == NULL)
		fatalx("SANDBOX_STATE_FILE: %s", errstr != NULL ? errstr : "?");
	store_set_busy(api->sess.store, API_STORE_BUSY_MS);
	api->sess.engine = engine_new(cfg->docker_socket,
	    cfg->engine_timeout * 1000);
}

void
api_release(struct api *api)
{
	store_close(api->sess.store);
	engine_free(api->sess.engine);
	api->sess.store = NULL;
	api->sess.engine = NULL;
}

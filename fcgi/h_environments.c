/*
 * h_environments.c: GET /api/v1/environments, the environments a create
 * may ask for: {"environments":[{name, description, category,
 * defaultTimeout}]}, in SANDBOX_ENVIRONMENTS order, leaving out those whose
 * image was missing at start-up.  No API key, like /api/v1/status and the
 * original's: it names what the server offers and nothing about sessions.
 */
#include "compat.h"

#include "api.h"

void
h_environments(struct api *api, struct req *req ATTR_UNUSED,
    struct reply *rep, const char *id ATTR_UNUSED)
{
	const struct cfg *cfg = api->cfg;
	json_t *list = json_array();

	for (size_t i = 0; list != NULL && i < cfg->nenvs; i++) {
		const struct cfg_env *env = &cfg->envs[i];

		if (env->missing)
			continue;
		if (json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:I}",
		    "name", env->name, "description", env->description,
		    "category", env->category, "defaultTimeout",
		    (json_int_t)env->default_timeout_ms)) != 0) {
			json_decref(list);
			list = NULL;
		}
	}
	if (list == NULL) {
		reply_err(rep, ERR_NOMEM);
		return;
	}
	reply_json(rep, 200, json_pack("{s:o}", "environments", list));
}

/*
 * body.c: the POST /api/v1/sessions body, checked field by field into a
 * struct session_spec before anything else happens.  Every refusal is a
 * sentence for a 400 BadRequest; nothing is changed by a refused body.
 *
 *   toolPair     string, a configured tool pair (required)
 *   environment  string, a configured environment whose image is present
 *                (SANDBOX_ENVIRONMENTS; default "bash")
 *   init         array of at most SESSION_INIT_MAX strings, each 1 to
 *                SESSION_INIT_LEN bytes, no control characters but tab
 *   timeout      integer ms, 1000 .. SANDBOX_MAX_LIFETIME * 1000
 *
 * Unknown fields are ignored, as the original does.
 */
#include "compat.h"

#include "api.h"
#include "log.h"

#define BODY_TIMEOUT_MIN 1000

static bool
body_timeout(const struct cfg *cfg, json_t *t, int64_t *out,
    const char **msg)
{
	long long max = cfg->max_lifetime * 1000;

	if (!json_is_integer(t) || json_integer_value(t) < BODY_TIMEOUT_MIN ||
	    json_integer_value(t) > max) {
		*msg = "timeout must be an integer number of ms from 1000 to "
		    "the session lifetime (SANDBOX_MAX_LIFETIME)";
		return false;
	}
	*out = json_integer_value(t);
	return true;
}

/* "environment": absent or null is bash; else a name cfg_env_for() knows. */
static bool
body_environment(const struct cfg *cfg, json_t *v, struct session_spec *spec,
    const char **msg)
{
	const char *name = "bash";

	if (v != NULL && !json_is_null(v)) {
		name = json_string_value(v);
		if (name == NULL || *name == '\0') {
			*msg = "environment must be a non-empty string";
			return false;
		}
	}
	if (cfg_env_for(cfg, name) == NULL ||
	    !strlcpy_ok(spec->environment, name, sizeof(spec->environment))) {
		*msg = "Unknown environment (GET /api/v1/environments lists "
		    "those this server offers)";
		return false;
	}
	return true;
}

static bool
body_fields(const struct cfg *cfg, json_t *body, struct session_spec *spec,
    const char **msg)
{
	const char *tp = json_string_value(json_object_get(body, "toolPair"));
	json_t *v;

	if (tp == NULL || *tp == '\0') {
		*msg = "Missing or invalid toolPair in request body";
		return false;
	}
	if (cfg_image_for(cfg, tp) == NULL ||
	    !strlcpy_ok(spec->tool_pair, tp, sizeof(spec->tool_pair))) {
		*msg = "Unsupported toolPair";
		return false;
	}
	if (!body_environment(cfg, json_object_get(body, "environment"), spec,
	    msg))
		return false;
	if ((v = json_object_get(body, "init")) != NULL && !json_is_null(v) &&
	    (spec->init = session_init_parse(v, msg)) == NULL && *msg != NULL)
		return false;
	if ((v = json_object_get(body, "timeout")) != NULL &&
	    !json_is_null(v) && !body_timeout(cfg, v, &spec->timeout_ms, msg))
		return false;
	return true;
}

bool
body_create(const struct cfg *cfg, const char *buf, size_t len,
    struct session_spec *spec, const char **msg)
{
	json_error_t jerr;
	json_t *body;
	bool ok = false;

	memset(spec, 0, sizeof(*spec));
	*msg = NULL;
	/* Without JSON_ALLOW_NUL a string holding NUL fails the parse: no
	 * field below needs to look for one. */
	body = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (body == NULL || !json_is_object(body)) {
		*msg = "Request body must be a JSON object";
		goto out;
	}
	ok = body_fields(cfg, body, spec, msg);
out:
	if (!ok)
		session_spec_release(spec);
	json_decref(body);
	return ok;
}

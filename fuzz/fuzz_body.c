/*
 * fuzz_body.c: the JSON bodies the API reads.  As a client body, the input
 * goes through the POST /api/v1/sessions checks of fcgi/body.c; as an
 * Engine reply, through the lookups lib/engine.c makes (Id, State.Running,
 * Runtimes, message, and the Id/State/Labels of a container list).
 */
#include "compat.h"

#include <jansson.h>

#include "api.h"
#include "cfg.h"
#include "engine.h"
#include "id.h"
#include "log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct cfg body_cfg;

static void
body_check(bool ok, const char *what)
{
	if (ok)
		return;
	(void)fprintf(stderr, "fuzz_body: invariant failed: %s\n", what);
	abort();
}

static const char *
body_fakeenv(const char *name, void *arg ATTR_UNUSED)
{
	if (strcmp(name, "SANDBOX_IMAGES") == 0)
		return "jj-git=toolkata-sandbox:latest,git-only=debian:12-slim";
	return NULL;
}

int
LLVMFuzzerInitialize(int *argc ATTR_UNUSED, char ***argv ATTR_UNUSED)
{
	char *errstr = NULL;

	if (cfg_load(&body_cfg, body_fakeenv, NULL, &errstr) != ERR_OK)
		fatalx("fuzz_body: cfg_load: %s",
		    errstr != NULL ? errstr : "?");
	return 0;
}

/* An accepted init: a JSON array of 1..SESSION_INIT_MAX printable strings. */
static void
body_init_ok(const char *text)
{
	json_t *a = json_loads(text, 0, NULL);
	size_t i, n = json_array_size(a);

	body_check(json_is_array(a) && n >= 1 && n <= SESSION_INIT_MAX,
	    "init array");
	for (i = 0; i < n; i++) {
		const char *c = json_string_value(json_array_get(a, i));
		size_t len = json_string_length(json_array_get(a, i));

		body_check(c != NULL && len >= 1 && len <= SESSION_INIT_LEN,
		    "init command length");
		for (size_t k = 0; k < len; k++)
			body_check((unsigned char)c[k] >= 0x20 || c[k] == '\t',
			    "control character in init");
	}
	json_decref(a);
}

/* The create body as h_sessions.c reads it (fcgi/body.c). */
static void
body_client(const char *buf, size_t len)
{
	struct session_spec spec;
	const char *msg = NULL;
	struct reply rep;

	if (body_create(&body_cfg, buf, len, &spec, &msg)) {
		const char *image = cfg_image_for(&body_cfg, spec.tool_pair);

		body_check(msg == NULL, "message on success");
		body_check(image != NULL && (strcmp(image,
		    "toolkata-sandbox:latest") == 0 ||
		    strcmp(image, "debian:12-slim") == 0), "unknown image");
		body_check(cfg_env_for(&body_cfg, spec.environment) != NULL,
		    "unknown environment");
		body_check(spec.timeout_ms == 0 || (spec.timeout_ms >= 1000 &&
		    spec.timeout_ms <= body_cfg.max_lifetime * 1000),
		    "timeout bounds");
		if (spec.init != NULL)
			body_init_ok(spec.init);
		session_spec_release(&spec);
		return;
	}
	body_check(msg != NULL && spec.init == NULL, "refusal without message");
	/* A refused body gets the 400 JSON reply h_sessions.c sends. */
	reply_init(&rep);
	reply_error(&rep, 400, "BadRequest", msg);
	body_check(rep.status == 400 && rep.body != NULL, "400 reply");
	reply_release(&rep);
}

/* engine_list_item(): one element of GET /containers/json. */
static void
body_list_item(json_t *item)
{
	struct engine_container c;
	const char *id = json_string_value(json_object_get(item, "Id"));
	const char *state = json_string_value(json_object_get(item, "State"));
	const char *sess = json_string_value(json_object_get(
	    json_object_get(item, "Labels"), "toolkata.session"));

	memset(&c, 0, sizeof(c));
	if (id == NULL || !id_valid_docker(id))
		return;
	body_check(strlcpy_ok(c.id, id, sizeof(c.id)), "id copy");
	if (sess != NULL && id_valid(sess, strlen(sess)))
		body_check(strlcpy_ok(c.session, sess, sizeof(c.session)),
		    "session copy");
	c.running = state != NULL && strcmp(state, "running") == 0;
	body_check(id_valid_docker(c.id), "listed id");
}

/* The reply lookups of engine.c on the same bytes. */
static void
body_engine(const char *buf, size_t len)
{
	json_t *j, *rts, *item;
	const char *id, *msg;
	char line[256];
	size_t i;
	bool running, has;

	j = json_loadb(buf, len, 0, NULL);
	msg = json_string_value(json_object_get(j, "message"));
	(void)snprintf(line, sizeof(line), "status 500: %.200s",
	    msg != NULL ? msg : "(no message)");
	id = json_string_value(json_object_get(j, "Id"));
	if (id != NULL && id_valid_docker(id))
		body_check(strlen(id) == ENGINE_ID_SIZE - 1, "Id length");
	running = json_is_true(json_object_get(json_object_get(j, "State"),
	    "Running"));
	rts = json_object_get(j, "Runtimes");
	has = json_is_object(rts) && json_object_get(rts, "runsc") != NULL;
	body_check(!running || json_is_object(j), "running without object");
	body_check(!has || json_is_object(j), "runtime without object");
	if (json_is_array(j)) {
		json_array_foreach(j, i, item) {
			body_list_item(item);
		}
	}
	json_decref(j);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	body_client((const char *)data, size);
	body_engine((const char *)data, size);
	return 0;
}

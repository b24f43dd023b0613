/*
 * fuzz_check.c: the step-check body (fcgi/h_check.c check_body_parse())
 * and the runner-output decoder (lib/stepcheck.c).  Invariants: an
 * accepted body has a command of 1..STEPCHECK_COMMAND_MAX bytes without
 * NUL and a timeout within bounds; decoded outputs are valid UTF-8 within
 * the cap.
 */
#include "compat.h"

#include <jansson.h>

#include "api.h"
#include "cfg.h"
#include "log.h"
#include "stepcheck.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct cfg check_cfg;

static void
check_invariant(bool ok, const char *what)
{
	if (ok)
		return;
	(void)fprintf(stderr, "fuzz_check: invariant failed: %s\n", what);
	abort();
}

static const char *
check_fakeenv(const char *name ATTR_UNUSED, void *arg ATTR_UNUSED)
{
	return NULL;
}

int
LLVMFuzzerInitialize(int *argc ATTR_UNUSED, char ***argv ATTR_UNUSED)
{
	char *errstr = NULL;

	if (cfg_load(&check_cfg, check_fakeenv, NULL, &errstr) != ERR_OK)
		fatalx("fuzz_check: cfg_load: %s", errstr != NULL ? errstr : "?");
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct stepcheck_spec spec = { "x", 1000, 16 };
	struct stepcheck_result res;
	struct check_req cr;
	const char *msg = NULL;
	size_t n, half = size / 2;

	if (check_body_parse(&check_cfg, (const char *)data, size, &cr, &msg)) {
		n = strlen(cr.command);
		check_invariant(n >= 1 && n <= STEPCHECK_COMMAND_MAX, "command");
		check_invariant(cr.timeout_ms >= 100 &&
		    cr.timeout_ms <= check_cfg.check_timeout_max_ms, "timeout");
	} else
		check_invariant(msg != NULL, "refusal without a message");
	memset(&res, 0, sizeof(res));
	stepcheck_decode(&spec, size > 0 && data[0] == 'T' ? 124 : 0,
	    (const char *)data, half, (const char *)data + half, size - half,
	    &res);
	check_invariant(strlen(res.out) <= 16 * 3, "stdout cap");
	{
		json_t *s = json_string(res.out);

		check_invariant(s != NULL, "stdout not UTF-8");
		json_decref(s);
	}
	stepcheck_result_release(&res);
	return 0;
}

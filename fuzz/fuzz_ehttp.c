/*
 * fuzz_ehttp.c: the relay's raw Engine transport (lib/ehttp.c) decodes a
 * whole HTTP reply from the Docker socket: status line, headers, and a
 * body that may be chunked.  Invariants: the body never exceeds the cap
 * (minus its NUL), is NUL-terminated, and a reply without chunking that
 * fits decodes to exactly the bytes after the head.
 */
#include "compat.h"

#include "ehttp.h"

#define FUZZ_CAP 4096

static void
fuzz_check(bool ok, const char *what)
{
	if (!ok) {
		(void)fprintf(stderr, "fuzz_ehttp: %s\n", what);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char out[FUZZ_CAP];
	size_t caps[] = { 1, 8, FUZZ_CAP };
	size_t n;
	long status = 0;

	for (size_t i = 0; i < nitems(caps); i++) {
		enum err r = ehttp_decode((const char *)data, size, &status, out,
		    caps[i], &n);

		fuzz_check(n < caps[i], "body over its cap");
		fuzz_check(out[n] == '\0', "body not terminated");
		if (r == ERR_OK)
			fuzz_check(status >= 0 && status <= 999, "status");
	}
	return 0;
}

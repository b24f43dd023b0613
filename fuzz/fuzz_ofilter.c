/*
 * fuzz_ofilter.c: the terminal output filter (lib/ofilter.c) on any byte
 * stream.  Invariants: the output is never longer than the input; cutting
 * the input into reads anywhere (cuts drawn from the input itself) gives
 * the same output; a second pass over the output changes nothing (it holds
 * no sequence the filter drops); no droppable introducer survives (OSC 52
 * or 8, DCS, SOS, PM, APC in 7-bit or UTF-8 C1 form); a small output cap
 * is never overrun.
 */
#include "compat.h"

#include <stdio.h>
#include <stdlib.h>

#include "ofilter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_check(bool ok, const char *what)
{
	if (!ok) {
		(void)fprintf(stderr, "fuzz_ofilter: invariant failed: %s\n",
		    what);
		abort();
	}
}

static bool
fuzz_has(const char *s, size_t n, const char *needle)
{
	return memmem(s, n, needle, strlen(needle)) != NULL;
}

/* Filter in pieces whose sizes come from the input's own bytes. */
static size_t
fuzz_split(const char *in, size_t n, char *out, size_t cap)
{
	struct ofilter f;
	size_t at = 0, outn = 0, k = 0;

	ofilter_init(&f);
	while (at < n) {
		size_t piece = 1 + (unsigned char)in[k++ % n] % 17;

		if (piece > n - at)
			piece = n - at;
		outn += ofilter_feed(&f, in + at, piece, out + outn, cap - outn);
		at += piece;
	}
	fuzz_check(f.lost == 0, "bytes lost with a full-size buffer");
	return outn;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const banned[] = { "\x1b]52", "\x1b]8;", "\x1bP",
		"\x1bX", "\x1b^", "\x1b_", "\xc2\x90", "\xc2\x98", "\xc2\x9e",
		"\xc2\x9f", "\xc2\x9d" "52", "\x1b[21t" };
	const char *in = (const char *)data;
	size_t cap = OFILTER_OUT_SIZE(size), a, b, c;
	char *out1 = malloc(cap), *out2 = malloc(cap), small[7];
	struct ofilter f;

	if (out1 == NULL || out2 == NULL)
		abort();
	ofilter_init(&f);
	a = ofilter_feed(&f, in, size, out1, cap);
	fuzz_check(a <= size, "output longer than the input");
	b = fuzz_split(in, size, out2, cap);
	fuzz_check(a == b && memcmp(out1, out2, a) == 0,
	    "a different output when split");
	ofilter_init(&f);
	c = ofilter_feed(&f, out1, a, out2, cap);
	fuzz_check(c == a && memcmp(out1, out2, a) == 0,
	    "a second pass changed the output");
	for (size_t i = 0; i < nitems(banned); i++)
		fuzz_check(!fuzz_has(out1, a, banned[i]),
		    "a dropped sequence got through");
	ofilter_init(&f);
	(void)ofilter_feed(&f, in, size, small, sizeof(small));
	fuzz_check(a <= sizeof(small) || f.lost > 0, "lost not counted");
	free(out1);
	free(out2);
	return 0;
}

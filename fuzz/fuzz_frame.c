/*
 * fuzz_frame.c: the relay's input side.  The input is a websocketd stdin
 * byte stream: relay/frame.c splits it into lines under a cap and
 * classifies each (JSON resize/input or raw keystrokes), and every
 * message then goes through lib/filter.c.  Invariants: lines never exceed
 * the cap, sizes are clamped, INPUT data is as long as it says, the UTF-8
 * cut of relay/pump.c never grows a buffer or cuts more than 3 bytes.
 */
#include "compat.h"

#include "filter.h"
#include "frame.h"
#include "pump.h"

#define FUZZ_CAP 1024

static void
fuzz_check(bool ok, const char *what)
{
	if (!ok) {
		(void)fprintf(stderr, "fuzz_frame: %s\n", what);
		abort();
	}
}

static int
fuzz_line(const char *line, size_t len, void *arg)
{
	struct frame_msg m;

	(void)arg;
	fuzz_check(len <= FUZZ_CAP, "line over the cap");
	frame_parse(line, len, &m);
	switch (m.kind) {
	case FRAME_RESIZE:
		fuzz_check(m.rows >= FRAME_ROWS_MIN && m.rows <= FRAME_ROWS_MAX &&
		    m.cols >= FRAME_COLS_MIN && m.cols <= FRAME_COLS_MAX,
		    "resize not clamped");
		break;
	case FRAME_INPUT:
	case FRAME_RAW:
		fuzz_check(m.data != NULL && (m.len > 0 || m.kind == FRAME_INPUT),
		    "empty raw message");
		(void)filter_check(m.data, m.len);
		break;
	}
	frame_msg_release(&m);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct frame f;
	size_t cut;

	frame_init(&f, FUZZ_CAP);
	/* Feed in two pieces so lines straddle reads. */
	if (frame_feed(&f, (const char *)data, size / 2, fuzz_line, NULL) ==
	    ERR_OK)
		(void)frame_feed(&f, (const char *)data + size / 2,
		    size - size / 2, fuzz_line, NULL);
	(void)filter_check((const char *)data, size);
	cut = pump_utf8_cut((const char *)data, size);
	fuzz_check(cut <= size && size - cut <= 3, "UTF-8 cut out of range");
	return 0;
}

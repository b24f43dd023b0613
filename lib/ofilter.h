/*
 * ofilter.h: a streaming filter for terminal OUTPUT (container -> browser).
 * A program in the sandbox must not reach past the terminal: write the
 * learner's clipboard, or make xterm.js answer with bytes the program chose
 * (the classic "set the title, ask for it back, the terminal types it"
 * injection).  The filter drops, whole, every control sequence that can:
 *
 *   - OSC (ESC ] or C1 0x9D) except window titles 0, 1, 2 and colour
 *     settings 4, 10..19, 104, 110..119 without a '?' (a query): so OSC 52
 *     (clipboard), OSC 8 (hyperlinks), OSC 50 (fonts), colour queries and
 *     every number we do not know go;
 *   - DCS (ESC P, 0x90: DECRQSS, XTGETTCAP, sixel, passthrough), SOS
 *     (ESC X, 0x98), PM (ESC ^, 0x9E), APC (ESC _, 0x9F): all of them;
 *   - CSI ... t (window operations, and the title and size reports).
 *
 * Everything else passes byte for byte: text and UTF-8, colours (SGR),
 * cursor movement, modes (bracketed paste, mouse, alternate screen), and
 * the queries whose answer is a fixed-format report no program can fill
 * (DA, DSR 5n/6n: crossterm and friends wait for the cursor report).  C1
 * controls count in their UTF-8 form (C2 80..C2 9F), as xterm.js decodes
 * them.  A C0 control inside an escape sequence is passed at once, as a
 * terminal would execute it there.
 *
 * Sequences split across reads are handled: the filter holds at most
 * OFILTER_PENDING_MAX bytes of an undecided sequence (a passing OSC or CSI
 * longer than that is dropped), and discards a dropped string for at most
 * OFILTER_DISCARD_MAX bytes before treating what follows as text again, so
 * a DCS without an end cannot swallow the terminal for good.  No
 * allocation; the state is the struct.
 */
#ifndef OFILTER_H
#define OFILTER_H

#include "compat.h"

#define OFILTER_PENDING_MAX 512		/* bytes of one undecided sequence */
#define OFILTER_DISCARD_MAX ((size_t)64 * 1024) /* bytes of one dropped string */

/* The output room ofilter_feed() needs for len input bytes. */
#define OFILTER_OUT_SIZE(len) ((len) + OFILTER_PENDING_MAX)

/* Plain data so that it can live in the caller's struct; the fields are
 * the filter's own. */
struct ofilter {
	int state;
	unsigned char pend[OFILTER_PENDING_MAX];
	size_t npend;
	int osc_num;		/* -1 until the OSC number is known */
	bool osc_digits;	/* still reading the number */
	bool osc_query;		/* a '?' in the payload */
	bool st_only;		/* the dropped string ends only with ST */
	size_t discarded;	/* bytes of the string being dropped */
	size_t dropped;		/* sequences dropped so far */
	size_t lost;		/* output bytes that did not fit in cap */
};

/* Start a stream (the ground state, nothing pending). */
void ofilter_init(struct ofilter *);

/*
 * Filter in[0..len) and write what may reach the terminal to out; returns
 * the bytes written.  Bytes of a sequence that is still undecided at the
 * end of in are held and written by a later call.  out needs
 * OFILTER_OUT_SIZE(len) bytes; the output never exceeds that, and if cap
 * is smaller the excess is not written (counted in ->lost), never
 * overflowed.  in and out must not overlap.
 */
size_t ofilter_feed(struct ofilter *, const char *in, size_t len, char *out,
    size_t cap);

/* Sequences dropped since ofilter_init() (for a log line). */
size_t ofilter_dropped(const struct ofilter *);

#endif /* OFILTER_H */

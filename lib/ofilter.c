/*
 * ofilter.c: the terminal output filter (see ofilter.h for what passes).
 * A byte-at-a-time state machine after the DEC/xterm parser's shape: the
 * ground, escape and CSI states hold the bytes of an undecided sequence in
 * f->pend, an OSC is held whole until its terminator says whether it may
 * pass, and a dropped string is skipped without being held at all.  A
 * state that sees a byte it does not own hands that byte back to the loop
 * in of_byte() (`again`), as xterm's "anywhere" transitions do.
 */
#include "compat.h"

#include <string.h>

#include "ofilter.h"

enum of_state {
	OF_GROUND,
	OF_C2,		/* 0xC2 seen: a C1 control or a Latin-1 letter */
	OF_ESC,		/* ESC seen */
	OF_ESC_INTER,	/* ESC and intermediates: waiting for the final */
	OF_CSI,		/* control sequence: parameters, intermediates */
	OF_CSI_DROP,	/* an over-long CSI: skip to its final byte */
	OF_OSC,		/* operating system command, held */
	OF_OSC_ESC,	/* ESC inside an OSC: ST or an abort */
	OF_OSC_C2,	/* 0xC2 inside an OSC: C1 ST, another C1, or text */
	OF_DROP,	/* a string being dropped */
	OF_DROP_ESC,
	OF_DROP_C2,
};

#define C_BEL 0x07
#define C_CAN 0x18
#define C_SUB 0x1a
#define C_ESC 0x1b
#define C_DEL 0x7f
#define C_C2 0xc2

struct of_out {
	struct ofilter *f;
	char *out;
	size_t cap, n;
};

static void
of_put(struct of_out *o, unsigned char c)
{
	if (o->n < o->cap)
		o->out[o->n++] = (char)c;
	else
		o->f->lost++;
}

static void
of_put_pend(struct of_out *o)
{
	for (size_t i = 0; i < o->f->npend; i++)
		of_put(o, o->f->pend[i]);
	o->f->npend = 0;
}

/* Hold c; false when the sequence has grown past OFILTER_PENDING_MAX. */
static bool
of_keep(struct ofilter *f, unsigned char c)
{
	if (f->npend == sizeof(f->pend))
		return false;
	f->pend[f->npend++] = c;
	return true;
}

/* Start over with c held (c is ESC or 0xC2, or nothing when c < 0). */
static void
of_restart(struct ofilter *f, enum of_state s, int c)
{
	f->npend = 0;
	if (c >= 0)
		f->pend[f->npend++] = (unsigned char)c;
	f->state = s;
}

/* Drop what is held; skip a string until its end (ST only, or BEL too). */
static void
of_drop_string(struct ofilter *f, bool st_only)
{
	f->npend = 0;
	f->state = OF_DROP;
	f->st_only = st_only;
	f->discarded = 0;
	f->dropped++;
}

/* Drop what is held and go back to the ground state. */
static void
of_drop(struct ofilter *f)
{
	f->npend = 0;
	f->state = OF_GROUND;
	f->dropped++;
}

static bool
of_is_c0(unsigned char c)
{
	return c < 0x20 && c != C_ESC && c != C_CAN && c != C_SUB;
}

static void
of_osc_start(struct ofilter *f)
{
	f->state = OF_OSC;
	f->osc_num = -1;
	f->osc_digits = true;
	f->osc_query = false;
}

/* An introducer: ESC x, or C1 0xC2 x (x = the C1 byte itself). */
static void
of_introducer(struct ofilter *f, struct of_out *o, unsigned char c, bool c1)
{
	bool csi = c1 ? c == 0x9b : c == '[';
	bool osc = c1 ? c == 0x9d : c == ']';
	bool str = c1 ? (c == 0x90 || c == 0x98 || c == 0x9e || c == 0x9f) :
	    (c == 'P' || c == 'X' || c == '^' || c == '_');

	if (str) {
		of_drop_string(f, true);
		return;
	}
	(void)of_keep(f, c);
	if (csi)
		f->state = OF_CSI;
	else if (osc)
		of_osc_start(f);
	else {
		/* Any other C1 (IND, NEL, a stray ST, ...): harmless. */
		of_put_pend(o);
		f->state = OF_GROUND;
	}
}

static bool
of_osc_allowed(const struct ofilter *f)
{
	int n = f->osc_num;

	if (n >= 0 && n <= 2)
		return true;	/* icon name and window title */
	if (f->osc_query)
		return false;	/* the terminal would answer */
	return n == 4 || (n >= 10 && n <= 19) || n == 104 ||
	    (n >= 110 && n <= 119);
}

/* The OSC ended with the terminator term[0..tn): pass it whole or not. */
static void
of_osc_end(struct ofilter *f, struct of_out *o, const char *term, size_t tn)
{
	if (!of_osc_allowed(f)) {
		of_drop(f);
		return;
	}
	of_put_pend(o);
	for (size_t i = 0; i < tn; i++)
		of_put(o, (unsigned char)term[i]);
	f->state = OF_GROUND;
}

static void
of_osc_byte(struct ofilter *f, unsigned char c)
{
	/* osc_num: -1 none yet, -2 not a number we know (and stays so). */
	if (f->osc_digits && c >= '0' && c <= '9') {
		if (f->osc_num == -1)
			f->osc_num = c - '0';
		else if (f->osc_num >= 0 && f->osc_num < 100000)
			f->osc_num = f->osc_num * 10 + (c - '0');
		else
			f->osc_num = -2;
	} else if (f->osc_digits) {
		if (c != ';' || f->osc_num < 0)
			f->osc_num = -2;
		f->osc_digits = false;
	}
	if (c == '?')
		f->osc_query = true;
	if (!of_keep(f, c))
		of_drop_string(f, false);	/* too long to judge: drop */
}

/* ESC, ESC-intermediate, CSI: returns true when c must be seen again by
 * the ground state. */
static bool
of_escape(struct ofilter *f, struct of_out *o, unsigned char c)
{
	if (c == C_CAN || c == C_SUB) {
		f->npend = 0;
		f->state = OF_GROUND;
		return false;
	}
	if (c == C_ESC) {
		if (f->state != OF_ESC)
			f->dropped++;	/* an unfinished sequence */
		of_restart(f, OF_ESC, C_ESC);
		return false;
	}
	if (of_is_c0(c)) {
		of_put(o, c);	/* executed in place, as a terminal does */
		return false;
	}
	if (c == C_DEL)
		return false;
	if (c >= 0x80) {
		if (f->state != OF_ESC)
			f->dropped++;
		f->npend = 0;
		f->state = OF_GROUND;
		return true;
	}
	switch (f->state) {
	case OF_ESC:
		if (c >= 0x20 && c <= 0x2f) {
			(void)of_keep(f, c);
			f->state = OF_ESC_INTER;
		} else if (c == '[' || c == ']' || c == 'P' || c == 'X' ||
		    c == '^' || c == '_')
			of_introducer(f, o, c, false);
		else {
			(void)of_keep(f, c);
			of_put_pend(o);
			f->state = OF_GROUND;
		}
		return false;
	case OF_ESC_INTER:
		if (c >= 0x20 && c <= 0x2f) {
			if (!of_keep(f, c))
				of_drop(f);
			return false;
		}
		if (!of_keep(f, c)) {
			of_drop(f);
			return false;
		}
		of_put_pend(o);
		f->state = OF_GROUND;
		return false;
	case OF_CSI:
		if (c >= 0x20 && c <= 0x3f) {
			if (!of_keep(f, c)) {
				f->npend = 0;
				f->state = OF_CSI_DROP;
				f->dropped++;
			}
			return false;
		}
		if (c == 't') {
			of_drop(f);	/* window operations and reports */
			return false;
		}
		if (!of_keep(f, c)) {
			of_drop(f);
			return false;
		}
		of_put_pend(o);
		f->state = OF_GROUND;
		return false;
	default:	/* OF_CSI_DROP */
		if (c >= 0x40 && c <= 0x7e)
			f->state = OF_GROUND;
		return false;
	}
}

/* Inside an OSC or a dropped string; true when c must be seen again. */
static bool
of_string(struct ofilter *f, struct of_out *o, unsigned char c)
{
	bool osc = f->state == OF_OSC;

	if (c == C_BEL && (osc || !f->st_only)) {
		if (osc)
			of_osc_end(f, o, "\a", 1);
		else
			f->state = OF_GROUND;
		return false;
	}
	if (c == C_CAN || c == C_SUB) {
		if (osc)
			of_drop(f);
		else
			f->state = OF_GROUND;
		return false;
	}
	if (c == C_ESC) {
		f->state = osc ? OF_OSC_ESC : OF_DROP_ESC;
		return false;
	}
	if (c == C_C2) {
		f->state = osc ? OF_OSC_C2 : OF_DROP_C2;
		return false;
	}
	if (c < 0x20)
		return false;	/* ignored inside a string, as xterm does */
	if (osc)
		of_osc_byte(f, c);
	else if (++f->discarded >= OFILTER_DISCARD_MAX)
		f->state = OF_GROUND;	/* endless: the rest is text again */
	return false;
}

/* After ESC inside a string: ST ends it, anything else aborts it and
 * starts an escape sequence. */
static bool
of_string_esc(struct ofilter *f, struct of_out *o, unsigned char c)
{
	bool osc = f->state == OF_OSC_ESC;

	if (c == '\\') {
		if (osc)
			of_osc_end(f, o, "\x1b\\", 2);
		else
			f->state = OF_GROUND;
		return false;
	}
	if (osc)
		f->dropped++;	/* the OSC never ended */
	of_restart(f, OF_ESC, C_ESC);
	return true;
}

/* After 0xC2 inside a string: C1 ST ends it, another C1 aborts it and
 * introduces its own sequence, anything else is a character. */
static bool
of_string_c2(struct ofilter *f, struct of_out *o, unsigned char c)
{
	bool osc = f->state == OF_OSC_C2;

	if (c == 0x9c) {
		if (osc)
			of_osc_end(f, o, "\xc2\x9c", 2);
		else
			f->state = OF_GROUND;
		return false;
	}
	if (c >= 0x80 && c <= 0x9f) {
		if (osc)
			f->dropped++;
		of_restart(f, OF_GROUND, C_C2);
		of_introducer(f, o, c, true);
		return false;
	}
	f->state = osc ? OF_OSC : OF_DROP;
	if (osc && c >= 0xa0 && c <= 0xbf) {
		of_osc_byte(f, C_C2);	/* a character of the payload */
		if (f->state == OF_OSC)
			of_osc_byte(f, c);
		return false;
	}
	if (!osc)
		f->discarded++;
	return true;	/* a lone 0xC2 goes, as in the ground state */
}

static void
of_byte(struct ofilter *f, struct of_out *o, unsigned char c)
{
	bool again = true;

	while (again) {
		again = false;
		switch (f->state) {
		case OF_GROUND:
			if (c == C_ESC)
				of_restart(f, OF_ESC, C_ESC);
			else if (c == C_C2)
				of_restart(f, OF_C2, C_C2);
			else
				of_put(o, c);
			break;
		case OF_C2:
			if (c >= 0x80 && c <= 0x9f) {
				of_introducer(f, o, c, true);
				break;
			}
			if (c >= 0xa0 && c <= 0xbf) {
				(void)of_keep(f, c);
				of_put_pend(o);
				f->state = OF_GROUND;
				break;
			}
			/* A lone 0xC2 is not UTF-8, and written out it could
			 * pair with a 0x80..0x9F after a dropped sequence into
			 * a C1 introducer: it goes. */
			f->npend = 0;
			f->state = OF_GROUND;
			again = true;
			break;
		case OF_ESC:
		case OF_ESC_INTER:
		case OF_CSI:
		case OF_CSI_DROP:
			again = of_escape(f, o, c);
			break;
		case OF_OSC:
		case OF_DROP:
			again = of_string(f, o, c);
			break;
		case OF_OSC_ESC:
		case OF_DROP_ESC:
			again = of_string_esc(f, o, c);
			break;
		default:	/* OF_OSC_C2, OF_DROP_C2 */
			again = of_string_c2(f, o, c);
			break;
		}
	}
}

void
ofilter_init(struct ofilter *f)
{
	memset(f, 0, sizeof(*f));
	f->state = OF_GROUND;
	f->osc_num = -1;
}

size_t
ofilter_feed(struct ofilter *f, const char *in, size_t len, char *out,
    size_t cap)
{
	struct of_out o = { f, out, cap, 0 };

	for (size_t i = 0; i < len; i++)
		of_byte(f, &o, (unsigned char)in[i]);
	return o.n;
}

size_t
ofilter_dropped(const struct ofilter *f)
{
	return f->dropped;
}

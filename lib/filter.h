/*
 * filter.h: the terminal input filter (contract §2.4, V-006), fixed so that
 * a normal user is never refused.  Refused: OSC, DCS, PM and APC
 * introducers (ESC ] / ESC P / ESC ^ / ESC _), except xterm colour replies
 * OSC 10..19; bracketed-paste markers that are unbalanced or nested; ten or
 * more back-to-back ESC+char pairs (a control-sequence flood).  Passed: a
 * paste wrapped in one pair of ESC[200~ ... ESC[201~ (as xterm.js sends
 * it, several pairs in a row too), arrow and function keys, Alt-chords,
 * UTF-8 text.  Pure: no I/O, no allocation.
 */
#ifndef FILTER_H
#define FILTER_H

#include "compat.h"

enum filter_verdict {
	FILTER_OK,
	FILTER_ESCAPE,		/* OSC/DCS/PM/APC introducer */
	FILTER_PASTE,		/* unbalanced or nested bracketed paste */
	FILTER_FLOOD,		/* >= 10 consecutive ESC+char pairs */
};

/* Judge one input message s[0..len). */
enum filter_verdict filter_check(const char *s, size_t len);

/* The original's cause tag for a verdict ("MaliciousEscapeSequence",
 * "BracketedPasteAttack", "SuspiciousControlSequence"); NULL for OK. */
const char *filter_cause(enum filter_verdict);

/* A message for the client ("Malicious escape sequences are not
 * allowed", ...); NULL for OK. */
const char *filter_message(enum filter_verdict);

#endif /* FILTER_H */

/*
 * filter.c: terminal input rules.  One pass per rule over (pointer, length);
 * never reads past len.
 */
#include "compat.h"

#include "filter.h"

#define ESC 0x1b
#define FILTER_FLOOD_RUN 10

static const char paste_open[] = "\x1b[200~";
static const char paste_close[] = "\x1b[201~";

static bool
filter_at(const char *s, size_t len, size_t i, const char *lit)
{
	size_t n = strlen(lit);

	return i + n <= len && memcmp(s + i, lit, n) == 0;
}

/* ESC ] 1 <digit> ; : an xterm colour reply (OSC 10..19). */
static bool
filter_colour_reply(const char *s, size_t len, size_t i)
{
	return i + 4 < len && s[i + 2] == '1' && s[i + 3] >= '0' &&
	    s[i + 3] <= '9' && s[i + 4] == ';';
}

static enum filter_verdict
filter_escapes(const char *s, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		/* ESC and one key alone is an Alt-chord (Alt-_ is bash's
		 * yank-last-arg), not an introducer with a payload. */
		if (s[i] != ESC || i + 2 == len)
			continue;
		switch (s[i + 1]) {
		case ']':
			if (!filter_colour_reply(s, len, i))
				return FILTER_ESCAPE;
			break;
		case 'P':
		case '^':
		case '_':
			return FILTER_ESCAPE;
		default:
			break;
		}
	}
	return FILTER_OK;
}

/* Markers must come as open, close, open, close...: never nested. */
static enum filter_verdict
filter_paste(const char *s, size_t len)
{
	bool open = false;

	for (size_t i = 0; i < len; i++) {
		if (s[i] != ESC)
			continue;
		if (filter_at(s, len, i, paste_open)) {
			if (open)
				return FILTER_PASTE;
			open = true;
		} else if (filter_at(s, len, i, paste_close)) {
			if (!open)
				return FILTER_PASTE;
			open = false;
		}
	}
	return open ? FILTER_PASTE : FILTER_OK;
}

/* The original's (?:\x1b[^\x1b]){10,}. */
static enum filter_verdict
filter_flood(const char *s, size_t len)
{
	size_t run = 0, i = 0;

	while (i < len) {
		if (s[i] == ESC && i + 1 < len && s[i + 1] != ESC) {
			if (++run >= FILTER_FLOOD_RUN)
				return FILTER_FLOOD;
			i += 2;
		} else {
			run = 0;
			i++;
		}
	}
	return FILTER_OK;
}

enum filter_verdict
filter_check(const char *s, size_t len)
{
	enum filter_verdict v;

	if ((v = filter_paste(s, len)) != FILTER_OK)
		return v;
	if ((v = filter_escapes(s, len)) != FILTER_OK)
		return v;
	return filter_flood(s, len);
}

const char *
filter_cause(enum filter_verdict v)
{
	switch (v) {
	case FILTER_ESCAPE:
		return "MaliciousEscapeSequence";
	case FILTER_PASTE:
		return "BracketedPasteAttack";
	case FILTER_FLOOD:
		return "SuspiciousControlSequence";
	case FILTER_OK:
		break;
	}
	return NULL;
}

const char *
filter_message(enum filter_verdict v)
{
	switch (v) {
	case FILTER_ESCAPE:
		return "Malicious escape sequences are not allowed";
	case FILTER_PASTE:
		return "Unbalanced bracketed paste sequences are not allowed";
	case FILTER_FLOOD:
		return "Excessive control sequences detected";
	case FILTER_OK:
		break;
	}
	return NULL;
}

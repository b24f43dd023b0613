/*
 * frame.h: browser -> relay framing.  websocketd appends '\n' to every
 * client text frame and hands the relay one byte stream, so a line is one
 * message (mechanics.md A4).  A line that is a JSON object with "type"
 * "resize" (rows, cols), "input" (data) or "init" (commands, silent,
 * timeout: init commands, checked by the relay) is that; any other line is raw
 * keystrokes, and an empty line is a literal '\n' (TryIt sends "cmd\n",
 * which arrives as "cmd\n\n").  A line longer than the cap is refused.
 *
 * FRAME_VERSION: bump when the wire format changes, and then check
 * (1) caddy/www/terminal.js, (2) check/check_frame.c, (3) README "API".
 */
#ifndef FRAME_H
#define FRAME_H

#include "compat.h"

#include <jansson.h>

#include "err.h"

#define FRAME_VERSION 1
#define FRAME_LINE_MAX 65536	/* hard upper bound of the configured cap */

#define FRAME_COLS_MIN 20
#define FRAME_COLS_MAX 500
#define FRAME_ROWS_MIN 5
#define FRAME_ROWS_MAX 200
#define FRAME_COLS_DEFAULT 80
#define FRAME_ROWS_DEFAULT 24

struct frame {
	char buf[FRAME_LINE_MAX + 1];
	size_t len;
	size_t max;		/* SANDBOX_MAX_WS_MESSAGE_SIZE */
};

enum frame_kind { FRAME_RAW, FRAME_INPUT, FRAME_RESIZE, FRAME_INIT };

#define FRAME_INIT_MS_DEFAULT 30000	/* an init frame's default timeout */
#define FRAME_INIT_MS_MAX 300000

struct frame_msg {
	enum frame_kind kind;
	const char *data;	/* RAW/INPUT bytes (not NUL-terminated) */
	size_t len;
	int rows, cols;		/* RESIZE, clamped */
	char *owned;		/* decoded INPUT data, freed by release */
	json_t *commands;	/* INIT: "commands" as sent (any JSON), or NULL */
	bool silent;		/* INIT */
	long long timeout_ms;	/* INIT: 1..FRAME_INIT_MS_MAX, default above;
				 * 0 when "timeout" was not such a number */
};

/* Start an empty framer that refuses lines longer than max bytes. */
void frame_init(struct frame *, size_t max);

/*
 * Feed n bytes of stdin.  For every complete line, fn(line, len, arg) is
 * called (without the '\n'); a non-zero return from fn stops and is
 * returned as ERR_INVAL.  ERR_TOOBIG when a line passes the cap (the
 * framer must not be fed again).
 */
typedef int (*frame_line_fn)(const char *line, size_t len, void *arg);
enum err frame_feed(struct frame *, const char *data, size_t n,
    frame_line_fn fn, void *arg);

/* Classify one line (see the top of this file). */
void frame_parse(const char *line, size_t len, struct frame_msg *m);
void frame_msg_release(struct frame_msg *m);

/* Clamp a terminal size to the bounds above; <= 0 means the default. */
int frame_clamp_cols(long long cols);
int frame_clamp_rows(long long rows);

#endif /* FRAME_H */

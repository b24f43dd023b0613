/*
 * frame.c: lines from websocketd's stdin and what they mean.
 */
#include "compat.h"

#include <jansson.h>

#include "frame.h"

void
frame_init(struct frame *f, size_t max)
{
	f->len = 0;
	f->max = max > FRAME_LINE_MAX ? FRAME_LINE_MAX : max;
}

enum err
frame_feed(struct frame *f, const char *data, size_t n, frame_line_fn fn,
    void *arg)
{
	for (size_t i = 0; i < n; i++) {
		if (data[i] == '\n') {
			f->buf[f->len] = '\0';
			if (fn(f->buf, f->len, arg) != 0) {
				f->len = 0;
				return ERR_INVAL;
			}
			f->len = 0;
			continue;
		}
		if (f->len == f->max)
			return ERR_TOOBIG;
		f->buf[f->len++] = data[i];
	}
	return ERR_OK;
}

static int
frame_clamp(long long v, int lo, int hi, int def)
{
	if (v <= 0)
		return def;
	if (v < lo)
		return lo;
	if (v > hi)
		return hi;
	return (int)v;
}

int
frame_clamp_cols(long long cols)
{
	return frame_clamp(cols, FRAME_COLS_MIN, FRAME_COLS_MAX,
	    FRAME_COLS_DEFAULT);
}

int
frame_clamp_rows(long long rows)
{
	return frame_clamp(rows, FRAME_ROWS_MIN, FRAME_ROWS_MAX,
	    FRAME_ROWS_DEFAULT);
}

static long long
frame_number(json_t *j)
{
	if (json_is_integer(j))
		return (long long)json_integer_value(j);
	if (json_is_real(j) && json_real_value(j) >= 1e6)
		return 1000000;	/* clamped by the caller */
	if (json_is_real(j) && json_real_value(j) > 0 &&
	    json_real_value(j) < 1e6)
		return (long long)json_real_value(j);
	return 0;
}

/* {"type":"init","commands":[...],"silent":bool,"timeout":ms} */
static void
frame_init_msg(json_t *j, struct frame_msg *m)
{
	json_t *t = json_object_get(j, "timeout");

	m->kind = FRAME_INIT;
	m->commands = json_incref(json_object_get(j, "commands"));
	m->silent = json_is_true(json_object_get(j, "silent"));
	if (t == NULL || json_is_null(t))
		m->timeout_ms = FRAME_INIT_MS_DEFAULT;
	else if (json_is_integer(t) && json_integer_value(t) >= 1 &&
	    json_integer_value(t) <= FRAME_INIT_MS_MAX)
		m->timeout_ms = json_integer_value(t);
	else
		m->timeout_ms = 0;
}

/* A JSON control line; false when the line is not one (then it is raw). */
static bool
frame_control(const char *line, size_t len, struct frame_msg *m)
{
	json_t *j = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL,
	    NULL);
	const char *type = json_string_value(json_object_get(j, "type"));
	json_t *data;
	bool ok = false;

	if (!json_is_object(j) || type == NULL)
		goto out;
	if (strcmp(type, "resize") == 0) {
		m->kind = FRAME_RESIZE;
		m->rows = frame_clamp_rows(frame_number(json_object_get(j,
		    "rows")));
		m->cols = frame_clamp_cols(frame_number(json_object_get(j,
		    "cols")));
		ok = true;
	} else if (strcmp(type, "init") == 0) {
		frame_init_msg(j, m);
		ok = true;
	} else if (strcmp(type, "input") == 0) {
		data = json_object_get(j, "data");
		m->kind = FRAME_INPUT;
		m->len = json_is_string(data) ? json_string_length(data) : 0;
		m->owned = malloc(m->len + 1);
		if (m->owned != NULL) {
			if (m->len > 0)
				memcpy(m->owned, json_string_value(data), m->len);
			m->owned[m->len] = '\0';
			m->data = m->owned;
			ok = true;
		}
	}
out:
	json_decref(j);
	return ok;
}

void
frame_parse(const char *line, size_t len, struct frame_msg *m)
{
	memset(m, 0, sizeof(*m));
	if (len > 0 && line[0] == '{' && frame_control(line, len, m))
		return;
	m->kind = FRAME_RAW;
	if (len == 0) {
		m->data = "\n";
		m->len = 1;
	} else {
		m->data = line;
		m->len = len;
	}
}

void
frame_msg_release(struct frame_msg *m)
{
	free(m->owned);
	m->owned = NULL;
	json_decref(m->commands);
	m->commands = NULL;
}

/*
 * tkmsg.c: ESC _ tk; ... ESC \ out of a byte stream (see tkmsg.h).
 */
#include <string.h>

#include "tkmsg.h"

static void
tkmsg_data(const char *s, size_t n, tkmsg_data_fn data, void *arg)
{
	if (n > 0)
		data(s, n, arg);
}

/* Byte c after a held prefix of the intro: is it still one? */
static bool
tkmsg_intro(struct tkmsg *m, char c, tkmsg_data_fn data, void *arg)
{
	if (c == TKMSG_INTRO[m->len]) {
		m->buf[m->len++] = c;
		return true;
	}
	tkmsg_data(m->buf, m->len, data, arg);	/* not ours: data */
	m->len = 0;
	return false;
}

/* Byte c inside a message. */
static void
tkmsg_body(struct tkmsg *m, char c, tkmsg_msg_fn msg, void *arg)
{
	if (m->skip) {
		m->skip = !(c == '\\' && m->last == '\033');
		m->last = c;
	} else if (c == '\\' && m->buf[m->len - 1] == '\033') {
		m->buf[m->len - 1] = '\0';
		m->len = 0;
		msg(m->buf + 2, arg);
	} else if (m->len < TKMSG_MAX)
		m->buf[m->len++] = c;
	else {
		m->len = 0;
		m->skip = true;
		m->last = c;
	}
}

void
tkmsg_feed(struct tkmsg *m, const char *s, size_t n, tkmsg_data_fn data,
    tkmsg_msg_fn msg, void *arg)
{
	size_t from = 0;

	for (size_t i = 0; i < n; i++) {
		if (m->len == 0 && !m->skip) {
			const char *e = memchr(s + i, '\033', n - i);

			if (e == NULL)
				break;
			i = (size_t)(e - s);
			tkmsg_data(s + from, i - from, data, arg);
			m->buf[m->len++] = '\033';
		} else if (m->len >= TKMSG_INTRO_LEN || m->skip) {
			tkmsg_body(m, s[i], msg, arg);
		} else if (!tkmsg_intro(m, s[i], data, arg)) {
			from = i;	/* s[i] is data again: look at it anew */
			i--;
			continue;
		}
		from = i + 1;
	}
	if (m->len == 0 && !m->skip)
		tkmsg_data(s + from, n - from, data, arg);
}

void
tkmsg_flush(struct tkmsg *m, tkmsg_data_fn data, void *arg)
{
	if (m->len > 0 && m->len < TKMSG_INTRO_LEN) {
		tkmsg_data(m->buf, m->len, data, arg);
		m->len = 0;
	}
}

bool
tkmsg_holding(const struct tkmsg *m)
{
	return m->len > 0 || m->skip;
}

/*
 * audit.c: JSON-lines audit sink.  One write(2) per line on an O_APPEND
 * descriptor, so lines from every process sharing the file stay whole.
 */
#include "compat.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <jansson.h>

#include "audit.h"
#include "clock.h"
#include "log.h"

#define AUDIT_VALUE_MAX 1024

struct audit {
	int fd;
	bool owned;
};

struct audit *
audit_open(const char *path, char **errstr)
{
	struct audit *a = xcalloc(1, sizeof(*a));

	*errstr = NULL;
	if (strcmp(path, "-") == 0) {
		a->fd = STDERR_FILENO;
		return a;
	}
	a->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (a->fd == -1) {
		if (asprintf(errstr, "cannot open audit log '%s': %s", path,
			strerror(errno)) < 0)
			*errstr = NULL;
		free(a);
		return NULL;
	}
	a->owned = true;
	return a;
}

void
audit_close(struct audit *a)
{
	if (a == NULL)
		return;
	if (a->owned)
		(void)close(a->fd);
	free(a);
}

/*
 * A JSON string of at most AUDIT_VALUE_MAX bytes of v: cut on a character
 * boundary, and every byte that is not part of valid UTF-8 replaced by
 * '?', so that a client's bytes can never make the event unwritable.
 */
static json_t *
audit_string(const char *v)
{
	char buf[AUDIT_VALUE_MAX];
	size_t n = 0;
	const unsigned char *p = (const unsigned char *)v;

	while (*p != '\0') {
		size_t len = *p < 0x80 ? 1 : (*p & 0xe0) == 0xc0 ? 2 :
		    (*p & 0xf0) == 0xe0 ? 3 : (*p & 0xf8) == 0xf0 ? 4 : 0;
		size_t i;

		for (i = 1; i < len; i++)
			if ((p[i] & 0xc0) != 0x80)
				break;
		if (len == 0 || i < len || (len == 2 && *p < 0xc2)) {
			if (n + 1 > sizeof(buf))
				break;
			buf[n++] = '?';
			p++;
			continue;
		}
		if (n + len > sizeof(buf))
			break;
		memcpy(buf + n, p, len);
		n += len;
		p += len;
	}
	/* Overlong 3/4-byte forms and surrogates are left to jansson: if it
	 * refuses them, fall back to a plain marker rather than fail. */
	{
		json_t *s = json_stringn(buf, n);

		return s != NULL ? s : json_string("(invalid UTF-8)");
	}
}

static int
audit_set_fields(json_t *o, va_list ap)
{
	const char *key;

	while ((key = va_arg(ap, const char *)) != NULL) {
		if (key[0] == '#') {
			long long v = va_arg(ap, long long);

			if (json_object_set_new(o, key + 1, json_integer(v)) != 0)
				return -1;
		} else {
			const char *v = va_arg(ap, const char *);

			if (v == NULL)
				continue;
			if (json_object_set_new(o, key, audit_string(v)) != 0)
				return -1;
		}
	}
	return 0;
}

enum err
audit_emit(struct audit *a, enum audit_level level, const char *event,
    const char *message, ...)
{
	static const char *const levels[] = { "info", "warn", "error" };
	char ts[CLOCK_ISO_SIZE];
	json_t *o = NULL;
	char *line = NULL;
	enum err r = ERR_IO;
	va_list ap;
	size_t len;
	int rc;

	if ((unsigned)level >= nitems(levels))
		level = AUDIT_ERROR;
	o = json_object();
	if (o == NULL ||
	    json_object_set_new(o, "level", json_string(levels[level])) != 0 ||
	    json_object_set_new(o, "event", json_string(event)) != 0 ||
	    json_object_set_new(o, "message", json_string(message)) != 0)
		goto out;
	va_start(ap, message);
	rc = audit_set_fields(o, ap);
	va_end(ap);
	clock_iso(clock_now_ms(), ts);
	if (rc != 0 || json_object_set_new(o, "timestamp", json_string(ts)) != 0)
		goto out;
	line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (line == NULL)
		goto out;
	len = strlen(line);
	line[len++] = '\n';	/* json_dumps' NUL becomes the newline */
	if (write(a->fd, line, len) != (ssize_t)len) {
		log_warn("audit: cannot write %s event", event);
		goto out;
	}
	r = ERR_OK;
out:
	free(line);
	json_decref(o);
	return r;
}

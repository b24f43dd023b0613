/*
 * log.c: stderr logging with a per-thread context tag, and the x-allocators.
 * A line is built in a bounded buffer and written with one write(2) so that
 * lines from concurrent threads and processes do not interleave.
 */
#include "compat.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "log.h"

static const char *log_prog = "toolkata";
static bool log_verbose;
static _Thread_local char log_ctx[64];

void
log_init(const char *prog, bool verbose)
{
	log_prog = prog;
	log_verbose = verbose;
}

void
log_setctx(const char *ctx)
{
	if (ctx == NULL)
		log_ctx[0] = '\0';
	else
		(void)strlcpy_ok(log_ctx, ctx, sizeof(log_ctx));
}

ATTR_PRINTF(3, 0) static void
log_vemit(const char *level, int errnum, const char *fmt, va_list ap)
{
	char msg[768];
	char line[1024];
	size_t len;
	int n;
	int saved = errno;

	if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
		msg[0] = '\0';
	n = snprintf(line, sizeof(line), "%s[%ld]: %s: %s%s%s%s%s", log_prog,
	    (long)getpid(), level, log_ctx, log_ctx[0] != '\0' ? " " : "", msg,
	    errnum != 0 ? ": " : "", errnum != 0 ? strerror(errnum) : "");
	len = n < 0 ? 0 : (size_t)n;
	if (len > sizeof(line) - 2)
		len = sizeof(line) - 2;	/* truncated: keep the newline */
	/* Control characters would let a value forge a second log line. */
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)line[i] < 0x20)
			line[i] = '?';
	line[len++] = '\n';
	(void)!write(STDERR_FILENO, line, len);
	errno = saved;
}

#define LOG_BODY(level, errnum)                                              \
	do {                                                                 \
		va_list ap;                                                  \
		va_start(ap, fmt);                                           \
		log_vemit(level, errnum, fmt, ap);                           \
		va_end(ap);                                                  \
	} while (0)

void
log_warn(const char *fmt, ...)
{
	int e = errno;

	LOG_BODY("warning", e);
}

void
log_warnx(const char *fmt, ...)
{
	LOG_BODY("warning", 0);
}

void
log_info(const char *fmt, ...)
{
	LOG_BODY("info", 0);
}

void
log_debug(const char *fmt, ...)
{
	if (!log_verbose)
		return;
	LOG_BODY("debug", 0);
}

void
fatal(const char *fmt, ...)
{
	int e = errno;

	LOG_BODY("fatal", e);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	LOG_BODY("fatal", 0);
	exit(1);
}

void *
xmalloc(size_t n)
{
	void *p = malloc(n == 0 ? 1 : n);

	if (p == NULL)
		fatal("xmalloc %zu bytes", n);
	return p;
}

void *
xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb == 0 ? 1 : nmemb, size == 0 ? 1 : size);

	if (p == NULL)
		fatal("xcalloc %zu*%zu bytes", nmemb, size);
	return p;
}

char *
xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		fatal("xstrdup");
	return p;
}

bool
strlcpy_ok(char *dst, const char *src, size_t dstsz)
{
	size_t n = strlen(src);

	if (dstsz == 0)
		return false;
	if (n >= dstsz) {
		memcpy(dst, src, dstsz - 1);
		dst[dstsz - 1] = '\0';
		return false;
	}
	memcpy(dst, src, n + 1);
	return true;
}

const char *
err_str(enum err e)
{
	static const char *const names[] = {
		[ERR_OK] = "ok",
		[ERR_NOMEM] = "out of memory",
		[ERR_INVAL] = "invalid",
		[ERR_NOTFOUND] = "not found",
		[ERR_EXPIRED] = "expired",
		[ERR_CONFLICT] = "conflict",
		[ERR_LIMIT] = "limit",
		[ERR_AUTH] = "unauthorized",
		[ERR_FORBIDDEN] = "forbidden",
		[ERR_UPSTREAM] = "upstream",
		[ERR_TIMEOUT] = "timeout",
		[ERR_UNAVAIL] = "unavailable",
		[ERR_IO] = "i/o",
		[ERR_TOOBIG] = "too big",
	};

	if ((size_t)e >= nitems(names) || names[e] == NULL)
		return "unknown";
	return names[e];
}

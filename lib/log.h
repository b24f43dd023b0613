/*
 * log.h: one line per event on stderr, OpenBSD log.c shape.  Each line is
 * "<prog>[<pid>]: <level>: <ctx> <message>" where <ctx> is the calling
 * thread's context (a request or session id, see log_setctx()).  Every
 * function preserves errno.  Nothing that is a secret (API keys, bodies)
 * may be passed to these functions.
 */
#ifndef LOG_H
#define LOG_H

#include "compat.h"

/* Set the program name and whether log_debug() prints.  Not thread-safe:
 * call once at start-up. */
void log_init(const char *prog, bool verbose);

/* Set this thread's context tag (copied, at most 63 bytes); NULL clears. */
void log_setctx(const char *ctx);

void log_warn(const char *fmt, ...) ATTR_PRINTF(1, 2);	/* adds strerror */
void log_warnx(const char *fmt, ...) ATTR_PRINTF(1, 2);
void log_info(const char *fmt, ...) ATTR_PRINTF(1, 2);
void log_debug(const char *fmt, ...) ATTR_PRINTF(1, 2);
void fatal(const char *fmt, ...) ATTR_PRINTF(1, 2) ATTR_NORETURN;
void fatalx(const char *fmt, ...) ATTR_PRINTF(1, 2) ATTR_NORETURN;

/* Allocators that fatal() on failure (tmux's x-wrappers). */
void *xmalloc(size_t);
void *xcalloc(size_t, size_t);
char *xstrdup(const char *);

/* Copy src into dst of size dstsz, always terminated; true if it fit. */
bool strlcpy_ok(char *dst, const char *src, size_t dstsz);

#endif /* LOG_H */

/*
 * audit.h: the audit trail, one JSON object per line with the original
 * service's event names and fields (contract §7) plus session.expired:
 *   {"level","event","message",<fields>,"timestamp"}
 * The client IP is logged, never the API key.  The sink fails closed:
 * audit_emit() reports ERR_IO when the line could not be written, and
 * callers refuse the change they were about to report.
 */
#ifndef AUDIT_H
#define AUDIT_H

#include "compat.h"

#include "err.h"

enum audit_level { AUDIT_INFO, AUDIT_WARN, AUDIT_ERROR };

struct audit;

/* Open the audit sink: a file opened O_APPEND, or stderr for "-".  NULL on
 * error with an allocated *errstr. */
struct audit *audit_open(const char *path, char **errstr);
void audit_close(struct audit *);

/*
 * Write one event.  The variadic part is (key, value) pairs ending with
 * NULL: a key starting with '#' takes a long long value and is written as
 * a JSON number under the key without its '#'; any other key takes a
 * const char * (NULL values are dropped, as the original drops undefined);
 * end the list with AUDIT_END.
 * Strings are escaped by jansson; values are capped at 1024 bytes.
 */
enum err audit_emit(struct audit *, enum audit_level, const char *event,
    const char *message, ...);

/* The sentinel that ends audit_emit()'s pairs: a typed null pointer. */
#define AUDIT_END ((const char *)NULL)

#endif /* AUDIT_H */

/*
 * err.h: the error codes every lib/ function returns.  ERR_OK is 0 so that
 * `if (e != ERR_OK)` and `if (e)` read the same.  fcgi/reply.c maps them to
 * HTTP statuses; lib/ itself knows nothing of HTTP.
 */
#ifndef ERR_H
#define ERR_H

enum err {
	ERR_OK = 0,
	ERR_NOMEM,	/* allocation failed */
	ERR_INVAL,	/* bad input from a caller or a client */
	ERR_NOTFOUND,	/* no such session, container or image */
	ERR_EXPIRED,	/* the session existed but has ended */
	ERR_CONFLICT,	/* state does not allow the operation */
	ERR_LIMIT,	/* a quota or cap was hit */
	ERR_AUTH,	/* missing or wrong credentials */
	ERR_FORBIDDEN,	/* origin not allowed */
	ERR_UPSTREAM,	/* the Docker engine failed or answered oddly */
	ERR_TIMEOUT,	/* an upstream call took too long */
	ERR_UNAVAIL,	/* load shedding: circuit breaker open */
	ERR_IO,		/* local I/O: state file, audit log */
	ERR_TOOBIG,	/* input over a cap */
};

/* A short lowercase name for logs ("limit", "upstream", ...). */
const char *err_str(enum err);

#endif /* ERR_H */

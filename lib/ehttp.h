/*
 * ehttp.h: a second transport for lib/engine.c, without libcurl: one
 * HTTP/1.1 request per AF_UNIX connection to the Docker socket
 * (Connection: close), the reply read until EOF within the call's
 * timeout, its body de-chunked into the caller's capped buffer.  The relay
 * uses it, so a terminal process does not map libcurl and the ~30 shared
 * libraries behind it (startup time and memory per connection); the API
 * keeps libcurl (engine_new()).  Same contract as engine_transport.call.
 */
#ifndef EHTTP_H
#define EHTTP_H

#include "compat.h"

#include "engine.h"
#include "err.h"

/* An engine on the raw transport to socket_path. */
struct engine *ehttp_engine_new(const char *socket_path, long timeout_ms);

/*
 * Decode an HTTP reply in buf[0..len) (head and body, connection closed
 * after it): *status, and the body (de-chunked when Transfer-Encoding is
 * chunked) into out, at most cap - 1 bytes plus a NUL, its length in
 * *outlen.  ERR_UPSTREAM for a malformed reply, ERR_TOOBIG when the body
 * does not fit.  Exposed for tests and the fuzzer.
 */
enum err ehttp_decode(const char *buf, size_t len, long *status, char *out,
    size_t cap, size_t *outlen);

#endif /* EHTTP_H */

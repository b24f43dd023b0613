/*
 * id.h: session identifiers.  An id is "sess_" followed by 32 lowercase hex
 * digits made from 16 bytes of getrandom(2), the kernel's CSPRNG.  Ids are
 * the only client-supplied strings that reach the store and Engine labels,
 * so id_valid() is strict.
 */
#ifndef ID_H
#define ID_H

#include "compat.h"

#include "err.h"

#define ID_PREFIX "sess_"
#define ID_LEN 37	/* "sess_" + 32 hex */
#define ID_SIZE (ID_LEN + 1)

/* Write a fresh id into out (ID_SIZE bytes).  ERR_IO if the kernel's
 * random source fails; never falls back to a weaker source. */
enum err id_new(char out[ID_SIZE]);

/* True when s[0..len) is exactly "sess_" + 32 lowercase hex digits. */
bool id_valid(const char *s, size_t len);

/* True when s is 64 lowercase hex digits (a Docker container or exec id). */
bool id_valid_docker(const char *s);

/* Fill buf with n random bytes from getrandom(2). */
enum err id_random(void *buf, size_t n);

#endif /* ID_H */

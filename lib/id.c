/*
 * id.c: session ids from getrandom(2).
 */
#include "compat.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "id.h"

enum err
id_random(void *buf, size_t n)
{
	unsigned char *p = buf;

	while (n > 0) {
		ssize_t r = getrandom(p, n, 0);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return ERR_IO;
		}
		p += r;
		n -= (size_t)r;
	}
	return ERR_OK;
}

enum err
id_new(char out[ID_SIZE])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[16];
	size_t plen = sizeof(ID_PREFIX) - 1;

	if (id_random(raw, sizeof(raw)) != ERR_OK)
		return ERR_IO;
	memcpy(out, ID_PREFIX, plen);
	for (size_t i = 0; i < sizeof(raw); i++) {
		out[plen + 2 * i] = hex[raw[i] >> 4];
		out[plen + 2 * i + 1] = hex[raw[i] & 0xf];
	}
	out[ID_LEN] = '\0';
	return ERR_OK;
}

static bool
id_lowerhex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
			(s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

bool
id_valid(const char *s, size_t len)
{
	size_t plen = sizeof(ID_PREFIX) - 1;

	return s != NULL && len == ID_LEN &&
	    memcmp(s, ID_PREFIX, plen) == 0 && id_lowerhex(s + plen, 32);
}

bool
id_valid_docker(const char *s)
{
	return s != NULL && strlen(s) == 64 && id_lowerhex(s, 64);
}

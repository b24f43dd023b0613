/*
 * access.c: API key comparison and client-IP derivation.
 */
#include "compat.h"

#include <ctype.h>
#include <string.h>

#include "access.h"
#include "log.h"

/* want == presented, in time that depends only on want's length. */
static bool
access_ct_equal(const char *want, const char *presented)
{
	size_t wl = strlen(want), pl = strlen(presented);
	unsigned char diff = 0;

	/* Every byte of want is read, whatever presented holds. */
	for (size_t i = 0; i < wl; i++)
		diff |= (unsigned char)(want[i] ^ (i < pl ? presented[i] : 0));
	diff |= (unsigned char)(pl != wl);
	return diff == 0;
}

enum access_key
access_key_check(const struct cfg *cfg, const char *presented)
{
	if (cfg->api_key[0] == '\0')
		return ACCESS_KEY_OK;
	if (presented == NULL || presented[0] == '\0')
		return ACCESS_KEY_MISSING;
	return access_ct_equal(cfg->api_key, presented) ? ACCESS_KEY_OK :
	    ACCESS_KEY_INVALID;
}

const char *
access_key_code(enum access_key k)
{
	switch (k) {
	case ACCESS_KEY_MISSING:
		return "MissingApiKey";
	case ACCESS_KEY_INVALID:
		return "InvalidApiKey";
	case ACCESS_KEY_OK:
		break;
	}
	return NULL;
}

/* Parse ip into a normalised family/bytes pair; IPv4-mapped becomes v4. */
static bool
access_parse(const char *ip, int *family, unsigned char addr[16])
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0, 0xff, 0xff };

	if (inet_pton(AF_INET, ip, addr) == 1) {
		*family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, ip, addr) != 1)
		return false;
	if (memcmp(addr, mapped, sizeof(mapped)) == 0) {
		memmove(addr, addr + 12, 4);
		*family = AF_INET;
	} else
		*family = AF_INET6;
	return true;
}

bool
access_in_cidr(const struct cfg_cidr *cidr, const char *ip)
{
	unsigned char a[16];
	int family, bits = cidr->prefix;

	if (!access_parse(ip, &family, a) || family != cidr->family)
		return false;
	for (int i = 0; bits > 0; i++, bits -= 8) {
		unsigned char mask = bits >= 8 ? 0xff :
		    (unsigned char)(0xff << (8 - bits));

		if ((a[i] & mask) != (cidr->addr[i] & mask))
			return false;
	}
	return true;
}

bool
access_is_trusted(const struct cfg *cfg, const char *ip)
{
	for (size_t i = 0; i < cfg->nproxies; i++)
		if (access_in_cidr(&cfg->proxy[i], ip))
			return true;
	return false;
}

/* Write the normalised text form of ip into out; false if it won't parse. */
static bool
access_normalise(const char *ip, char out[ACCESS_IP_SIZE])
{
	unsigned char a[16];
	int family;

	if (!access_parse(ip, &family, a))
		return false;
	return inet_ntop(family, a, out, ACCESS_IP_SIZE) != NULL;
}

/* Copy the trimmed header value v into tmp; false if too long. */
static bool
access_item(const char *v, char *tmp, size_t tmpsz)
{
	const char *b = v, *e = v + strlen(v);

	while (b < e && isspace((unsigned char)*b))
		b++;
	while (e > b && isspace((unsigned char)e[-1]))
		e--;
	if ((size_t)(e - b) >= tmpsz)
		return false;
	memcpy(tmp, b, (size_t)(e - b));
	tmp[e - b] = '\0';
	return true;
}

/* The normalised address in header value v; false if it is not one. */
static bool
access_header_ip(const char *v, char out[ACCESS_IP_SIZE])
{
	char tmp[ACCESS_IP_SIZE + 8];

	return v != NULL && access_item(v, tmp, sizeof(tmp)) &&
	    access_normalise(tmp, out);
}

void
access_client_ip(const struct cfg *cfg, const char *peer, const char *edge,
    char out[ACCESS_IP_SIZE])
{
	char tmp[ACCESS_IP_SIZE];

	if (peer == NULL || !access_normalise(peer, out)) {
		(void)strlcpy_ok(out, "unknown", ACCESS_IP_SIZE);
		return;
	}
	if (access_is_trusted(cfg, out) && access_header_ip(edge, tmp))
		(void)strlcpy_ok(out, tmp, ACCESS_IP_SIZE);
}

bool
access_relay_peer(const struct cfg *cfg, const char *secret,
    const char *edge, char out[ACCESS_IP_SIZE], const char **why)
{
	const char *fail = NULL;

	if (cfg->ws_secret[0] == '\0')
		fail = "SANDBOX_WS_SECRET is not set";
	else if (secret == NULL || !access_ct_equal(cfg->ws_secret, secret))
		fail = "no or wrong Xwssecret: not from our proxy";
	else if (!access_header_ip(edge, out))
		fail = "no address in Xclientip";
	if (fail != NULL)
		(void)strlcpy_ok(out, "unknown", ACCESS_IP_SIZE);
	if (why != NULL)
		*why = fail;
	return fail == NULL;
}

static int
access_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* URL-decode [s, s+n) into out; false when it does not fit. */
static bool
access_decode(const char *s, size_t n, char *out, size_t outsz)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '+')
			c = ' ';
		else if (c == '%' && i + 2 < n && access_hexval(s[i + 1]) >= 0 &&
		    access_hexval(s[i + 2]) >= 0) {
			c = (char)(access_hexval(s[i + 1]) * 16 +
			    access_hexval(s[i + 2]));
			i += 2;
		}
		if (o + 1 >= outsz)
			return false;
		out[o++] = c;
	}
	out[o] = '\0';
	return true;
}

bool
access_query(const char *query, const char *name, char *out, size_t outsz)
{
	size_t nl = strlen(name);
	const char *p = query;

	while (p != NULL && *p != '\0') {
		size_t len = strcspn(p, "&");

		if (len > nl && strncmp(p, name, nl) == 0 && p[nl] == '=')
			return access_decode(p + nl + 1, len - nl - 1, out, outsz);
		if (len == nl && strncmp(p, name, nl) == 0)
			return access_decode(p, 0, out, outsz);
		p = p[len] == '&' ? p + len + 1 : NULL;
	}
	return false;
}

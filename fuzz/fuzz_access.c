/*
 * fuzz_access.c: drives lib/access.c: the client-IP rule over a peer and
 * Caddy's Xclientip (trusted proxies 127.0.0.1, ::1 and 10.0.0.0/8), the
 * relay's rule (Xwssecret and Xclientip), the constant-time API key check,
 * and CIDR membership.  Input: NUL-separated peer, Xclientip, Xwssecret,
 * presented key, CIDR and address; a field the input does not reach is
 * NULL.
 */
#include "compat.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include "access.h"
#include "cfg.h"
#include "log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ACCESS_FUZZ_KEY "fuzz-key-0123456789abcdef"
#define ACCESS_FUZZ_SECRET "fuzz-secret-0123456789"

enum access_field { A_PEER, A_EDGE, A_SECRET, A_KEY, A_CIDR, A_IP, A_MAX };

static struct cfg access_cfg;		/* trusted proxies, a key */
static struct cfg access_cfg_nokey;	/* the same without a key */

static void
access_check(bool ok, const char *what)
{
	if (ok)
		return;
	(void)fprintf(stderr, "fuzz_access: invariant failed: %s\n", what);
	abort();
}

static const char *
access_fakeenv(const char *name, void *arg ATTR_UNUSED)
{
	if (strcmp(name, "SANDBOX_TRUSTED_PROXIES") == 0)
		return "127.0.0.1,::1,10.0.0.0/8";
	if (strcmp(name, "SANDBOX_API_KEY") == 0)
		return ACCESS_FUZZ_KEY;
	if (strcmp(name, "SANDBOX_WS_SECRET") == 0)
		return ACCESS_FUZZ_SECRET;
	return NULL;
}

int
LLVMFuzzerInitialize(int *argc ATTR_UNUSED, char ***argv ATTR_UNUSED)
{
	char *errstr = NULL;

	if (cfg_load(&access_cfg, access_fakeenv, NULL, &errstr) != ERR_OK)
		fatalx("fuzz_access: cfg_load: %s",
		    errstr != NULL ? errstr : "?");
	access_cfg_nokey = access_cfg;
	access_cfg_nokey.api_key = (char *)(uintptr_t)"";
	access_cfg_nokey.ws_secret = (char *)(uintptr_t)"";
	return 0;
}

/* Split copy (size bytes + NUL) into NUL-separated fields. */
static void
access_split(char *copy, size_t size, const char *f[A_MAX])
{
	char *p = copy, *end = copy + size, *nul;

	for (int i = 0; i < A_MAX; i++) {
		f[i] = p;
		nul = memchr(p, '\0', (size_t)(end - p));
		if (nul == NULL)
			return;
		p = nul + 1;
	}
}

static bool
access_is_addr(const char *s, int *family)
{
	unsigned char a[16];

	if (inet_pton(AF_INET, s, a) == 1) {
		*family = AF_INET;
		return true;
	}
	*family = AF_INET6;
	return inet_pton(AF_INET6, s, a) == 1;
}

/* The client-IP rule; base is what the peer alone gives. */
static void
access_fuzz_ip(const char *const f[A_MAX])
{
	char out[ACCESS_IP_SIZE], base[ACCESS_IP_SIZE], again[ACCESS_IP_SIZE];
	int family;

	access_client_ip(&access_cfg, f[A_PEER], NULL, base);
	access_client_ip(&access_cfg, f[A_PEER], f[A_EDGE], out);
	access_check(memchr(out, '\0', sizeof(out)) != NULL,
	    "client ip not terminated");
	if (strcmp(out, "unknown") == 0) {
		access_check(strcmp(base, "unknown") == 0,
		    "unknown although the peer parses");
		return;
	}
	access_check(access_is_addr(out, &family),
	    "client ip neither unknown nor an address");
	/* Headers are believed only from a trusted peer. */
	if (!access_is_trusted(&access_cfg, base))
		access_check(strcmp(out, base) == 0,
		    "untrusted peer spoofed its address");
	/* The result is normalised: feeding it back gives itself. */
	access_client_ip(&access_cfg, out, NULL, again);
	access_check(strcmp(out, again) == 0, "client ip not normalised");
	/* An IPv4-mapped IPv6 address is shown as IPv4. */
	if (family == AF_INET6)
		access_check(strncmp(out, "::ffff:", 7) != 0 ||
		    strchr(out, '.') == NULL, "mapped address left as IPv6");
}

/* The relay's rule: an address only with the exact secret. */
static void
access_fuzz_relay(const char *secret, const char *edge)
{
	char out[ACCESS_IP_SIZE], again[ACCESS_IP_SIZE];
	const char *why = NULL;
	bool ok = access_relay_peer(&access_cfg, secret, edge, out, &why);
	int family;

	access_check(memchr(out, '\0', sizeof(out)) != NULL,
	    "relay ip not terminated");
	access_check(ok == (why == NULL), "why set on success");
	if (secret == NULL || strcmp(secret, ACCESS_FUZZ_SECRET) != 0)
		access_check(!ok, "wrong secret accepted");
	if (!ok) {
		access_check(strcmp(out, "unknown") == 0, "refused but named");
		return;
	}
	access_check(access_is_addr(out, &family), "relay ip not an address");
	access_client_ip(&access_cfg, out, NULL, again);
	access_check(strcmp(out, again) == 0, "relay ip not normalised");
	access_check(!access_relay_peer(&access_cfg_nokey, secret, edge, out,
	    NULL), "no secret configured but accepted");
}

static void
access_fuzz_key(const char *presented)
{
	enum access_key k = access_key_check(&access_cfg, presented);
	const char *code = access_key_code(k);

	if (presented == NULL || *presented == '\0')
		access_check(k == ACCESS_KEY_MISSING, "missing key");
	else if (strcmp(presented, ACCESS_FUZZ_KEY) == 0)
		access_check(k == ACCESS_KEY_OK, "right key refused");
	else
		access_check(k == ACCESS_KEY_INVALID, "wrong key accepted");
	access_check((k == ACCESS_KEY_OK) == (code == NULL), "key code");
	access_check(access_key_check(&access_cfg_nokey, presented) ==
	    ACCESS_KEY_OK, "no key configured but refused");
}

static void
access_fuzz_cidr(const char *cidr_text, const char *ip)
{
	struct cfg_cidr c;
	char addr[INET6_ADDRSTRLEN];
	int family;

	if (ip != NULL)
		(void)access_is_trusted(&access_cfg, ip);
	if (cidr_text == NULL || cfg_parse_cidr(cidr_text, &c) != ERR_OK)
		return;
	/* Only an address can lie inside a network. */
	if (ip != NULL && access_in_cidr(&c, ip))
		access_check(access_is_addr(ip, &family),
		    "non-address inside a CIDR");
	/* The network's own address is inside it (a mapped network was
	 * turned into its IPv4 network by cfg_parse_cidr). */
	(void)inet_ntop(c.family, c.addr, addr, sizeof(addr));
	access_check(access_in_cidr(&c, addr),
	    "CIDR does not hold its own address");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *f[A_MAX] = { NULL };
	char *copy;

	copy = xmalloc(size + 1);
	memcpy(copy, data, size);
	copy[size] = '\0';
	access_split(copy, size, f);
	access_fuzz_ip(f);
	access_fuzz_relay(f[A_SECRET], f[A_EDGE]);
	access_fuzz_key(f[A_KEY]);
	access_fuzz_cidr(f[A_CIDR], f[A_IP]);
	free(copy);
	return 0;
}

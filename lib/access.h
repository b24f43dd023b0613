/*
 * access.h: who may call.  The API key check (constant time), and the client
 * IP rule.  No header a client can write is ever believed: not
 * X-Forwarded-For, X-Real-IP or Forwarded, and no name with '-' at all,
 * since websocketd and Caddy's FastCGI transport both turn '-' and '_' into
 * the same '_' (a client's X_Forwarded_For lands on HTTP_X_FORWARDED_FOR).
 * The address comes from the socket peer, or from Xclientip, a dash-free
 * header our Caddy sets ({remote_host}) and so replaces whatever the
 * client sent under any spelling.  toolkata-api believes Xclientip only
 * from a trusted peer (SANDBOX_TRUSTED_PROXIES); the relay, whose peer is
 * anyone on loopback, only with the secret Caddy adds as Xwssecret
 * (SANDBOX_WS_SECRET).  Origin checks live in cfg (cfg_origin_allowed()).
 */
#ifndef ACCESS_H
#define ACCESS_H

#include "compat.h"

#include <arpa/inet.h>

#include "cfg.h"

#define ACCESS_IP_SIZE INET6_ADDRSTRLEN

enum access_key {
	ACCESS_KEY_OK,
	ACCESS_KEY_MISSING,	/* a key is configured, none was given */
	ACCESS_KEY_INVALID,	/* a key was given and it is wrong */
};

/* Check a presented key (NULL or "" = none) against SANDBOX_API_KEY.
 * With no key configured every request passes. */
enum access_key access_key_check(const struct cfg *cfg, const char *presented);

/* The original's error code for a key result: "MissingApiKey" or
 * "InvalidApiKey"; NULL for ACCESS_KEY_OK. */
const char *access_key_code(enum access_key k);

/*
 * Decide toolkata-api's client IP.  peer is the socket peer (REMOTE_ADDR);
 * edge is HTTP_XCLIENTIP (the address Caddy saw) or NULL.  edge is taken
 * when the peer is a trusted proxy and edge parses; otherwise the peer.
 * Writes a normalised address (IPv4-mapped IPv6 shown as IPv4) into out;
 * when the peer itself does not parse, writes "unknown".
 */
void access_client_ip(const struct cfg *cfg, const char *peer,
    const char *edge, char out[ACCESS_IP_SIZE]);

/*
 * Decide the relay's client IP.  secret is HTTP_XWSSECRET, edge is
 * HTTP_XCLIENTIP (either NULL).  True, with the normalised edge in out,
 * only when SANDBOX_WS_SECRET is set and secret equals it (constant time)
 * and edge parses.  Otherwise false, "unknown" in out, and *why (when
 * why is not NULL) says which for the log; the connection must be refused.
 */
bool access_relay_peer(const struct cfg *cfg, const char *secret,
    const char *edge, char out[ACCESS_IP_SIZE], const char **why);

/* True when the address string ip falls in one of the trusted proxies. */
bool access_is_trusted(const struct cfg *cfg, const char *ip);

/* True when ip parses as an address and lies in cidr. */
bool access_in_cidr(const struct cfg_cidr *cidr, const char *ip);

/*
 * Find parameter name in a URL query string ("a=1&b=2") and copy its
 * URL-decoded value ('+' is a space, %XX a byte) into out.  False when it
 * is absent or its value does not fit in outsz (NUL included).
 */
bool access_query(const char *query, const char *name, char *out,
    size_t outsz);

#endif /* ACCESS_H */

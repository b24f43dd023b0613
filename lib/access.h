/*
 * access.h: who may call.  The API key check (constant time), and the client
 * IP rule: forwarded headers are believed only when the peer is a trusted
 * proxy (SANDBOX_TRUSTED_PROXIES), and then the right-most address that is
 * not itself a trusted proxy wins, so a client cannot spoof its address by
 * sending its own X-Forwarded-For.  Origin checks live in cfg
 * (cfg_origin_allowed()).
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
 * Decide the client IP.  peer is the socket peer (REMOTE_ADDR); xff and
 * real_ip are the X-Forwarded-For and X-Real-IP headers or NULL.  Writes a
 * normalised address (IPv4-mapped IPv6 shown as IPv4) into out; when the
 * peer itself does not parse, writes "unknown".
 */
void access_client_ip(const struct cfg *cfg, const char *peer,
    const char *xff, const char *real_ip, char out[ACCESS_IP_SIZE]);

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

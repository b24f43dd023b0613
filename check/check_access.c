/*
 * check_access.c: who may call (lib/access.c): the API key comparison and
 * its error codes, the client-IP rule (Caddy's Xclientip believed only from
 * a trusted peer, by the relay only with the secret; IPv4-mapped
 * normalisation) and CIDR membership.
 */
#include "compat.h"

#include <sys/socket.h>

#include "access.h"
#include "util.h"

static void
load(struct cfg *cfg, const char *key, const char *proxies)
{
	struct fakeenv fe;
	size_t n = 0;

	memset(&fe, 0, sizeof(fe));
	if (key != NULL) {
		fe.kv[n][0] = "SANDBOX_API_KEY";
		fe.kv[n++][1] = key;
	}
	if (proxies != NULL) {
		fe.kv[n][0] = "SANDBOX_TRUSTED_PROXIES";
		fe.kv[n][1] = proxies;
	}
	util_cfg(cfg, &fe);
}

/* access_client_ip() into a fresh buffer; returns it (static storage). */
static const char *
client_ip(const struct cfg *cfg, const char *peer, const char *edge)
{
	static char out[ACCESS_IP_SIZE];

	memset(out, 'Z', sizeof(out));
	access_client_ip(cfg, peer, edge, out);
	ck_assert_uint_lt(strnlen(out, sizeof(out)), sizeof(out));
	return out;
}

/* access_relay_peer() into a fresh buffer; NULL when refused. */
static const char *
relay_ip(const struct cfg *cfg, const char *secret, const char *edge)
{
	static char out[ACCESS_IP_SIZE];
	const char *why = "unset";
	bool ok;

	memset(out, 'Z', sizeof(out));
	ok = access_relay_peer(cfg, secret, edge, out, &why);
	ck_assert_uint_lt(strnlen(out, sizeof(out)), sizeof(out));
	if (!ok) {
		ck_assert_ptr_nonnull(why);
		ck_assert_str_eq(out, "unknown");
		return NULL;
	}
	ck_assert_ptr_null(why);
	return out;
}

#define SECRET "0123456789abcdef0123456789abcdef"

/* ---- API key ------------------------------------------------------- */

START_TEST(test_key_not_configured)
{
	struct cfg cfg;

	load(&cfg, NULL, NULL);
	ck_assert_int_eq(access_key_check(&cfg, NULL), ACCESS_KEY_OK);
	ck_assert_int_eq(access_key_check(&cfg, ""), ACCESS_KEY_OK);
	ck_assert_int_eq(access_key_check(&cfg, "anything"), ACCESS_KEY_OK);
	cfg_release(&cfg);
}
END_TEST

START_TEST(test_key_configured)
{
	struct cfg cfg;

	load(&cfg, "s3cret-key", NULL);
	ck_assert_int_eq(access_key_check(&cfg, NULL), ACCESS_KEY_MISSING);
	ck_assert_int_eq(access_key_check(&cfg, ""), ACCESS_KEY_MISSING);
	ck_assert_int_eq(access_key_check(&cfg, "wrong"), ACCESS_KEY_INVALID);
	ck_assert_int_eq(access_key_check(&cfg, "s3cret"), ACCESS_KEY_INVALID);
	ck_assert_int_eq(access_key_check(&cfg, "s3cret-ke"),
	    ACCESS_KEY_INVALID);
	ck_assert_int_eq(access_key_check(&cfg, "s3cret-key!"),
	    ACCESS_KEY_INVALID);
	ck_assert_int_eq(access_key_check(&cfg, "s3cret-key "),
	    ACCESS_KEY_INVALID);
	ck_assert_int_eq(access_key_check(&cfg, "s3cret-kex"),
	    ACCESS_KEY_INVALID);
	ck_assert_int_eq(access_key_check(&cfg, "S3cret-key"),
	    ACCESS_KEY_INVALID);
	ck_assert_int_eq(access_key_check(&cfg, "t3cret-key"),
	    ACCESS_KEY_INVALID);
	ck_assert_int_eq(access_key_check(&cfg, "s3cret-key"), ACCESS_KEY_OK);
	cfg_release(&cfg);
}
END_TEST

START_TEST(test_key_codes)
{
	ck_assert_str_eq(access_key_code(ACCESS_KEY_MISSING), "MissingApiKey");
	ck_assert_str_eq(access_key_code(ACCESS_KEY_INVALID), "InvalidApiKey");
	ck_assert_ptr_null(access_key_code(ACCESS_KEY_OK));
}
END_TEST

/* ---- client IP ----------------------------------------------------- */

START_TEST(test_ip_untrusted_peer)
{
	struct cfg cfg;

	load(&cfg, NULL, NULL);
	ck_assert_str_eq(client_ip(&cfg, "203.0.113.9", NULL), "203.0.113.9");
	ck_assert_str_eq(client_ip(&cfg, "203.0.113.9", "1.2.3.4"),
	    "203.0.113.9");
	ck_assert_str_eq(client_ip(&cfg, "2001:db8::7", "1.2.3.4"),
	    "2001:db8::7");
	/* 127.0.0.2 is not in the default 127.0.0.1/32. */
	ck_assert_str_eq(client_ip(&cfg, "127.0.0.2", "1.2.3.4"), "127.0.0.2");
	cfg_release(&cfg);
}
END_TEST

/* From a trusted peer the edge's address counts, if it is one. */
START_TEST(test_ip_trusted_edge)
{
	struct cfg cfg;

	load(&cfg, NULL, NULL);
	ck_assert_str_eq(client_ip(&cfg, "127.0.0.1", "1.2.3.4"), "1.2.3.4");
	ck_assert_str_eq(client_ip(&cfg, "127.0.0.1", " 1.2.3.4 "), "1.2.3.4");
	ck_assert_str_eq(client_ip(&cfg, "::1", "  2001:db8::1  "),
	    "2001:db8::1");
	ck_assert_str_eq(client_ip(&cfg, "127.0.0.1", "::ffff:9.8.7.6"),
	    "9.8.7.6");
	ck_assert_str_eq(client_ip(&cfg, "127.0.0.1", NULL), "127.0.0.1");
	ck_assert_str_eq(client_ip(&cfg, "127.0.0.1", ""), "127.0.0.1");
	/* Not a list: Caddy's {remote_host} is one address. */
	ck_assert_str_eq(client_ip(&cfg, "127.0.0.1", "1.2.3.4, 5.6.7.8"),
	    "127.0.0.1");
	ck_assert_str_eq(client_ip(&cfg, "127.0.0.1", "garbage"), "127.0.0.1");
	ck_assert_str_eq(client_ip(&cfg, "127.0.0.1", "1.2.3.4:5678"),
	    "127.0.0.1");
	ck_assert_str_eq(client_ip(&cfg, "127.0.0.1",
	    "1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa:bbbb"),
	    "127.0.0.1");
	cfg_release(&cfg);
}
END_TEST

START_TEST(test_ip_normalised)
{
	struct cfg cfg;

	load(&cfg, NULL, NULL);
	ck_assert_str_eq(client_ip(&cfg, "::ffff:10.0.0.1", NULL), "10.0.0.1");
	ck_assert_str_eq(client_ip(&cfg, "2001:0db8:0000:0000:0000:0000:0000:"
	    "0001", NULL), "2001:db8::1");
	ck_assert_str_eq(client_ip(&cfg, "2001:DB8::A", NULL), "2001:db8::a");
	/* A mapped loopback peer is the trusted 127.0.0.1. */
	ck_assert_str_eq(client_ip(&cfg, "::ffff:127.0.0.1", "1.2.3.4"),
	    "1.2.3.4");
	cfg_release(&cfg);
}
END_TEST

START_TEST(test_ip_unknown_peer)
{
	struct cfg cfg;

	load(&cfg, NULL, NULL);
	ck_assert_str_eq(client_ip(&cfg, NULL, "1.2.3.4"), "unknown");
	ck_assert_str_eq(client_ip(&cfg, "", NULL), "unknown");
	ck_assert_str_eq(client_ip(&cfg, "not-an-ip", "1.2.3.4"), "unknown");
	ck_assert_str_eq(client_ip(&cfg, "127.0.0.1:9000", "1.2.3.4"),
	    "unknown");
	ck_assert_str_eq(client_ip(&cfg, " 127.0.0.1", NULL), "unknown");
	cfg_release(&cfg);
}
END_TEST

START_TEST(test_ip_no_proxies)
{
	struct cfg cfg;

	load(&cfg, NULL, "");
	ck_assert_str_eq(client_ip(&cfg, "127.0.0.1", "1.2.3.4"), "127.0.0.1");
	ck_assert(!access_is_trusted(&cfg, "127.0.0.1"));
	cfg_release(&cfg);
}
END_TEST

/* ---- the relay's peer ---------------------------------------------- */

static void
load_secret(struct cfg *cfg, const char *secret)
{
	struct fakeenv fe;

	memset(&fe, 0, sizeof(fe));
	fe.kv[0][0] = "SANDBOX_WS_SECRET";
	fe.kv[0][1] = secret;
	util_cfg(cfg, &fe);
}

START_TEST(test_relay_secret_matches)
{
	struct cfg cfg;

	load_secret(&cfg, SECRET);
	ck_assert_str_eq(relay_ip(&cfg, SECRET, "203.0.113.7"), "203.0.113.7");
	ck_assert_str_eq(relay_ip(&cfg, SECRET, " ::ffff:203.0.113.7"),
	    "203.0.113.7");
	ck_assert_str_eq(relay_ip(&cfg, SECRET, "2001:db8::1"), "2001:db8::1");
	/* The secret is right but there is no address: refused. */
	ck_assert_ptr_null(relay_ip(&cfg, SECRET, NULL));
	ck_assert_ptr_null(relay_ip(&cfg, SECRET, ""));
	ck_assert_ptr_null(relay_ip(&cfg, SECRET, "1.2.3.4, 5.6.7.8"));
	ck_assert_ptr_null(relay_ip(&cfg, SECRET, "bogus"));
	cfg_release(&cfg);
}
END_TEST

START_TEST(test_relay_secret_wrong)
{
	struct cfg cfg;

	load_secret(&cfg, SECRET);
	ck_assert_ptr_null(relay_ip(&cfg, NULL, "203.0.113.7"));
	ck_assert_ptr_null(relay_ip(&cfg, "", "203.0.113.7"));
	ck_assert_ptr_null(relay_ip(&cfg, "0123456789abcdef", "203.0.113.7"));
	ck_assert_ptr_null(relay_ip(&cfg, SECRET "0", "203.0.113.7"));
	ck_assert_ptr_null(relay_ip(&cfg, "1123456789abcdef0123456789abcdef",
	    "203.0.113.7"));
	ck_assert_ptr_null(relay_ip(&cfg, "0123456789abcdef0123456789abcdeF",
	    "203.0.113.7"));
	ck_assert_ptr_null(relay_ip(&cfg, " " SECRET, "203.0.113.7"));
	cfg_release(&cfg);
}
END_TEST

/* No secret configured: nothing matches, not even an empty header. */
START_TEST(test_relay_no_secret)
{
	struct cfg cfg;

	load(&cfg, NULL, NULL);
	ck_assert_ptr_null(relay_ip(&cfg, NULL, "203.0.113.7"));
	ck_assert_ptr_null(relay_ip(&cfg, "", "203.0.113.7"));
	ck_assert_ptr_null(relay_ip(&cfg, SECRET, "203.0.113.7"));
	cfg_release(&cfg);
}
END_TEST

/* ---- CIDR membership ----------------------------------------------- */

static bool
in(const char *cidr, const char *ip)
{
	struct cfg_cidr c;

	ck_assert_int_eq(cfg_parse_cidr(cidr, &c), ERR_OK);
	return access_in_cidr(&c, ip);
}

START_TEST(test_cidr_v4)
{
	ck_assert(in("0.0.0.0/0", "1.2.3.4"));
	ck_assert(in("0.0.0.0/0", "255.255.255.255"));
	ck_assert(!in("0.0.0.0/0", "::1"));
	ck_assert(in("192.0.2.7/32", "192.0.2.7"));
	ck_assert(!in("192.0.2.7/32", "192.0.2.8"));
	ck_assert(!in("192.0.2.7/32", "192.0.2.6"));
	ck_assert(in("192.0.2.7", "192.0.2.7"));
	ck_assert(in("10.0.0.0/8", "10.255.255.255"));
	ck_assert(!in("10.0.0.0/8", "11.0.0.0"));
	ck_assert(!in("10.0.0.0/8", "9.255.255.255"));
	ck_assert(in("192.168.1.0/24", "192.168.1.200"));
	ck_assert(!in("192.168.1.0/24", "192.168.2.1"));
	/* A prefix that is not a multiple of 8. */
	ck_assert(in("10.128.0.0/9", "10.200.0.1"));
	ck_assert(!in("10.128.0.0/9", "10.100.0.1"));
	ck_assert(in("172.16.0.0/12", "172.31.255.1"));
	ck_assert(!in("172.16.0.0/12", "172.32.0.1"));
	/* Host bits in the network address do not matter. */
	ck_assert(in("10.1.2.3/8", "10.9.9.9"));
	/* IPv4-mapped IPv6 is IPv4. */
	ck_assert(in("10.0.0.0/8", "::ffff:10.0.0.1"));
	ck_assert(!in("10.0.0.0/8", "garbage"));
	ck_assert(!in("10.0.0.0/8", ""));
}
END_TEST

START_TEST(test_cidr_v6)
{
	ck_assert(in("::/0", "2001:db8::1"));
	ck_assert(in("::/0", "::1"));
	ck_assert(!in("::/0", "1.2.3.4"));
	ck_assert(in("2001:db8:1:2::/64", "2001:db8:1:2:ffff:ffff:ffff:ffff"));
	ck_assert(in("2001:db8:1:2::/64", "2001:db8:1:2::"));
	ck_assert(!in("2001:db8:1:2::/64", "2001:db8:1:3::1"));
	ck_assert(!in("2001:db8:1:2::/64", "2001:db8:1:1:ffff::1"));
	ck_assert(in("::1", "::1"));
	ck_assert(!in("::1", "::2"));
	ck_assert(in("fe80::/10", "febf::1"));
	ck_assert(!in("fe80::/10", "fec0::1"));
	ck_assert(in("2001:db8::/127", "2001:db8::1"));
	ck_assert(!in("2001:db8::/127", "2001:db8::2"));
	ck_assert(!in("2001:db8::/32", "10.0.0.1"));
}
END_TEST

/* An IPv4-mapped proxy network means its IPv4 network (peers are compared
 * as IPv4 when mapped); a mapped network wider than /96 is refused. */
START_TEST(test_cidr_mapped_proxy)
{
	struct cfg_cidr c;
	struct cfg cfg;

	ck_assert(in("::ffff:10.0.0.0/104", "10.1.2.3"));
	ck_assert(in("::ffff:10.0.0.0/104", "::ffff:10.1.2.3"));
	ck_assert(!in("::ffff:10.0.0.0/104", "11.0.0.1"));
	ck_assert(in("::ffff:127.0.0.1", "127.0.0.1"));
	ck_assert_int_eq(cfg_parse_cidr("::ffff:0.0.0.0/95", &c), ERR_INVAL);
	load(&cfg, NULL, "::ffff:10.0.0.0/104");
	ck_assert(access_is_trusted(&cfg, "::ffff:10.9.9.9"));
	ck_assert_str_eq(client_ip(&cfg, "10.9.9.9", "203.0.113.5"),
	    "203.0.113.5");
	cfg_release(&cfg);
}
END_TEST

START_TEST(test_is_trusted_default)
{
	struct cfg cfg;

	load(&cfg, NULL, NULL);
	ck_assert(access_is_trusted(&cfg, "127.0.0.1"));
	ck_assert(access_is_trusted(&cfg, "::1"));
	ck_assert(access_is_trusted(&cfg, "::ffff:127.0.0.1"));
	ck_assert(!access_is_trusted(&cfg, "127.0.0.2"));
	ck_assert(!access_is_trusted(&cfg, "10.0.0.1"));
	ck_assert(!access_is_trusted(&cfg, "::2"));
	ck_assert(!access_is_trusted(&cfg, "localhost"));
	cfg_release(&cfg);
}
END_TEST

static Suite *
access_suite(void)
{
	Suite *s = suite_create("access");
	TCase *tc;

	tc = tcase_create("key");
	tcase_add_test(tc, test_key_not_configured);
	tcase_add_test(tc, test_key_configured);
	tcase_add_test(tc, test_key_codes);
	suite_add_tcase(s, tc);

	tc = tcase_create("client_ip");
	tcase_add_test(tc, test_ip_untrusted_peer);
	tcase_add_test(tc, test_ip_trusted_edge);
	tcase_add_test(tc, test_ip_normalised);
	tcase_add_test(tc, test_ip_unknown_peer);
	tcase_add_test(tc, test_ip_no_proxies);
	suite_add_tcase(s, tc);

	tc = tcase_create("relay_peer");
	tcase_add_test(tc, test_relay_secret_matches);
	tcase_add_test(tc, test_relay_secret_wrong);
	tcase_add_test(tc, test_relay_no_secret);
	suite_add_tcase(s, tc);

	tc = tcase_create("cidr");
	tcase_add_test(tc, test_cidr_v4);
	tcase_add_test(tc, test_cidr_v6);
	tcase_add_test(tc, test_is_trusted_default);
	tcase_add_test(tc, test_cidr_mapped_proxy);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return util_run(access_suite());
}

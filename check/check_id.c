/*
 * check_id.c: session ids (lib/id.c): the shape of id_new(), uniqueness
 * over a thousand ids, a loose uniformity check of the hex digits and
 * bits, and the strict validators id_valid() and id_valid_docker().
 */
#include "compat.h"

#include "id.h"
#include "log.h"
#include "util.h"

#define GOOD_ID "sess_0123456789abcdef0123456789abcdef"
#define GOOD_DOCKER \
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static int
cmp_id(const void *a, const void *b)
{
	return strcmp(a, b);
}

START_TEST(test_new_format)
{
	char id[ID_SIZE];

	memset(id, 'X', sizeof(id));
	ck_assert_int_eq(id_new(id), ERR_OK);
	ck_assert_uint_eq(strlen(id), 37);
	ck_assert_int_eq(ID_LEN, 37);
	ck_assert_int_eq(strncmp(id, "sess_", 5), 0);
	for (size_t i = 5; i < 37; i++)
		ck_assert_msg((id[i] >= '0' && id[i] <= '9') ||
		    (id[i] >= 'a' && id[i] <= 'f'), "char %zu of %s", i, id);
	ck_assert(id_valid(id, strlen(id)));
}
END_TEST

START_TEST(test_new_distinct)
{
	enum { N = 1000 };
	char (*ids)[ID_SIZE] = xcalloc(N, ID_SIZE);

	for (size_t i = 0; i < N; i++) {
		ck_assert_int_eq(id_new(ids[i]), ERR_OK);
		ck_assert(id_valid(ids[i], strlen(ids[i])));
	}
	qsort(ids, N, ID_SIZE, cmp_id);
	for (size_t i = 1; i < N; i++)
		ck_assert_str_ne(ids[i - 1], ids[i]);
	free(ids);
}
END_TEST

/*
 * 2000 ids = 64000 hex digits, 4000 expected per digit.  Chi-square with
 * 15 degrees of freedom has mean 15 and sd ~5.5; a bound of 100 fails a
 * fair source with probability far below 1e-12, yet catches a biased one
 * (a fixed nibble, a missing digit, a skewed table).  The bit count is
 * checked the same way: 256000 bits, sd 253, bound +-5000.
 */
START_TEST(test_new_uniform)
{
	enum { N = 2000 };
	unsigned long count[16] = { 0 };
	unsigned long pos[32][16];
	unsigned long ones = 0;
	double chi = 0, expect = N * 32 / 16.0;
	char id[ID_SIZE];

	memset(pos, 0, sizeof(pos));
	for (size_t i = 0; i < N; i++) {
		ck_assert_int_eq(id_new(id), ERR_OK);
		for (size_t j = 0; j < 32; j++) {
			char c = id[5 + j];
			int v = c <= '9' ? c - '0' : c - 'a' + 10;

			count[v]++;
			pos[j][v]++;
			ones += (unsigned long)__builtin_popcount((unsigned)v);
		}
	}
	for (size_t d = 0; d < 16; d++)
		chi += ((double)count[d] - expect) *
		    ((double)count[d] - expect) / expect;
	ck_assert_msg(chi < 100, "chi-square %.1f over 15 df", chi);
	ck_assert_msg(ones > 128000 - 5000 && ones < 128000 + 5000,
	    "%lu one bits of 256000", ones);
	/* Every position sees every digit (P(miss) ~ 16 * e^-125 per slot). */
	for (size_t j = 0; j < 32; j++)
		for (size_t d = 0; d < 16; d++)
			ck_assert_msg(pos[j][d] > 40, "position %zu digit "
			    "%zx: %lu", j, d, pos[j][d]);
}
END_TEST

START_TEST(test_random_fills)
{
	unsigned char buf[4096];
	size_t nonzero = 0;

	memset(buf, 0, sizeof(buf));
	ck_assert_int_eq(id_random(buf, sizeof(buf)), ERR_OK);
	for (size_t i = 0; i < sizeof(buf); i++)
		nonzero += buf[i] != 0;
	/* Expected 4080; the bound is many standard deviations away. */
	ck_assert_uint_gt(nonzero, 3900);
	/* The tail is filled too: not all of the last 64 bytes are zero. */
	nonzero = 0;
	for (size_t i = sizeof(buf) - 64; i < sizeof(buf); i++)
		nonzero += buf[i] != 0;
	ck_assert_uint_gt(nonzero, 0);
	ck_assert_int_eq(id_random(buf, 0), ERR_OK);
}
END_TEST

START_TEST(test_valid_accepts)
{
	ck_assert(id_valid(GOOD_ID, strlen(GOOD_ID)));
	ck_assert(id_valid("sess_ffffffffffffffffffffffffffffffff", 37));
	ck_assert(id_valid("sess_00000000000000000000000000000000", 37));
	/* Only s[0..len) is looked at. */
	ck_assert(id_valid(GOOD_ID "trailing", 37));
}
END_TEST

static const char *const bad_ids[] = {
	"sess_0123456789ABCDEF0123456789abcdef",	/* uppercase */
	"sess_0123456789abcdef0123456789abcdeF",	/* uppercase last */
	"sess_0123456789abcdef0123456789abcde",		/* short */
	"sess_0123456789abcdef0123456789abcdef0",	/* long */
	"Sess_0123456789abcdef0123456789abcdef",	/* prefix case */
	"sesx_0123456789abcdef0123456789abcdef",	/* wrong prefix */
	"sess-0123456789abcdef0123456789abcdef",	/* wrong separator */
	"xsess_123456789abcdef0123456789abcdef",	/* shifted prefix */
	"sess_0123456789abcdeg0123456789abcdef",	/* 'g' */
	"sess_0123456789abcdef0123456789abcd f",	/* space */
	"sess_0123456789abcdef0123456789abcd/f",	/* '/' (before '0') */
	"sess_0123456789abcdef0123456789abcd:f",	/* ':' (after '9') */
	"sess_0123456789abcdef0123456789abcd`f",	/* '`' (before 'a') */
	"sess_0123456789abcdef0123456789abcd\xc3\xa9",	/* UTF-8 */
	"sess_",
	"",
	"0123456789abcdef0123456789abcdef01234",
};

START_TEST(test_valid_rejects)
{
	ck_assert_msg(!id_valid(bad_ids[_i], strlen(bad_ids[_i])), "'%s'",
	    bad_ids[_i]);
}
END_TEST

START_TEST(test_valid_length)
{
	ck_assert(!id_valid(GOOD_ID, 36));
	ck_assert(!id_valid(GOOD_ID, 38));
	ck_assert(!id_valid(GOOD_ID, 0));
	ck_assert(!id_valid(NULL, 37));
	ck_assert(!id_valid(NULL, 0));
	/* An embedded NUL within the length is not hex. */
	ck_assert(!id_valid("sess_0123456789abcdef\0" "123456789abcdef", 37));
}
END_TEST

START_TEST(test_valid_docker)
{
	char buf[80];

	ck_assert(id_valid_docker(GOOD_DOCKER));
	ck_assert(!id_valid_docker(NULL));
	ck_assert(!id_valid_docker(""));
	(void)snprintf(buf, sizeof(buf), "%.63s", GOOD_DOCKER);
	ck_assert(!id_valid_docker(buf));
	(void)snprintf(buf, sizeof(buf), "%s0", GOOD_DOCKER);
	ck_assert(!id_valid_docker(buf));
	(void)snprintf(buf, sizeof(buf), "%s", GOOD_DOCKER);
	buf[10] = 'A';
	ck_assert(!id_valid_docker(buf));
	buf[10] = 'g';
	ck_assert(!id_valid_docker(buf));
	buf[10] = '/';
	ck_assert(!id_valid_docker(buf));
	buf[10] = '.';
	ck_assert(!id_valid_docker(buf));
	/* A session id is not a container id, and vice versa. */
	ck_assert(!id_valid_docker(GOOD_ID));
	ck_assert(!id_valid(GOOD_DOCKER, strlen(GOOD_DOCKER)));
	ck_assert(!id_valid_docker("../../../../containers/json?all=1&x="
	    "0123456789abcdef0123456789"));
}
END_TEST

static Suite *
id_suite(void)
{
	Suite *s = suite_create("id");
	TCase *tc;

	tc = tcase_create("new");
	tcase_add_test(tc, test_new_format);
	tcase_add_test(tc, test_new_distinct);
	tcase_add_test(tc, test_new_uniform);
	tcase_add_test(tc, test_random_fills);
	suite_add_tcase(s, tc);

	tc = tcase_create("valid");
	tcase_add_test(tc, test_valid_accepts);
	tcase_add_loop_test(tc, test_valid_rejects, 0, (int)nitems(bad_ids));
	tcase_add_test(tc, test_valid_length);
	tcase_add_test(tc, test_valid_docker);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return util_run(id_suite());
}

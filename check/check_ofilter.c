/*
 * check_ofilter.c: the terminal output filter (lib/ofilter.c): what a
 * program may print and what never reaches xterm.js (OSC 52, OSC queries
 * and unknown OSCs, DCS/SOS/PM/APC, CSI t; 7-bit and UTF-8 C1 forms), that
 * text, colours, cursor and modes pass byte for byte, that any split of
 * the stream gives the same output, and the bounds.
 */
#include "compat.h"

#include "ofilter.h"
#include "util.h"

/* Filter s[0..n) in one call on a fresh filter; NUL-terminated result in
 * a static buffer, its length in *outn. */
static const char *
filt_n(const char *s, size_t n, size_t *outn)
{
	static char out[OFILTER_OUT_SIZE(256 * 1024) + 1];
	struct ofilter f;

	ck_assert_uint_le(n, 256 * 1024);
	ofilter_init(&f);
	*outn = ofilter_feed(&f, s, n, out, sizeof(out) - 1);
	out[*outn] = '\0';
	ck_assert_uint_eq(f.lost, 0);
	return out;
}

static const char *
filt(const char *s)
{
	size_t n;

	return filt_n(s, strlen(s), &n);
}

static void
passes(const char *s)
{
	ck_assert_msg(strcmp(filt(s), s) == 0, "'%s' did not pass", s);
}

static void
gives(const char *in, const char *want)
{
	const char *got = filt(in);

	ck_assert_msg(strcmp(got, want) == 0, "got '%s' want '%s'", got, want);
}

START_TEST(test_text_and_utf8_pass)
{
	passes("hello, world\r\n\ttab\a");
	passes("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xc2\xa0nbsp \xc2\xbf?");
	passes("$ jj log\r\n@  qpvuntsm\r\n");
	passes("\xc3\x82\xc2\xa9");	/* C2 followed by a non-C1 byte */
}
END_TEST

/* Found by fuzz_ofilter: a lone 0xC2 written out, then a dropped sequence,
 * then a raw 0x9D made "C2 9D": a C1 OSC 52 for xterm.js.  A lone 0xC2 is
 * not UTF-8 and goes. */
START_TEST(test_lone_c2_cannot_pair)
{
	gives("\xc2\x1b[21t\x9d" "52;c;eA==\a", "\x9d" "52;c;eA==\a");
	gives("a\xc2" "b", "ab");
	gives("\xc2\xc2\xa0", "\xc2\xa0");
	gives("\x1b]0;t\xc2" "x\a", "\x1b]0;tx\a");
	gives("\x1b]0;t\xc2\xa9\a", "\x1b]0;t\xc2\xa9\a");
	gives("\x1b]0;t\xc2\x1b[21t\x9d" "52;x\a", "\x9d" "52;x\a");
}
END_TEST

START_TEST(test_colours_cursor_modes_pass)
{
	passes("\x1b[1;31mred\x1b[0m \x1b[38;5;208mo\x1b[38;2;1;2;3mx\x1b[m");
	passes("\x1b[2J\x1b[H\x1b[10;5H\x1b[K\x1b[3A\x1b[2C\x1b[?25l\x1b[?25h");
	passes("\x1b[?2004h\x1b[?1049h\x1b[?1000h\x1b[?1006h\x1b[?2004l");
	passes("\x1b(B\x1b)0\x1b" "7\x1b" "8\x1b=\x1b>\x1b" "c\x1bM\x1b#8");
	passes("\x1b[1 q\x1b[!p\x1b[4h\x1b[r");
	/* Fixed-format reports: pass (crossterm waits for 6n). */
	passes("\x1b[c\x1b[>c\x1b[5n\x1b[6n\x1b[?6n");
	/* C1 controls other than introducers, in UTF-8. */
	passes("\xc2\x85\xc2\x84\xc2\x8d");
	passes("\x1b[31m\xc2\x9b" "32mgreen\x1b[0m");	/* C1 CSI */
}
END_TEST

START_TEST(test_titles_and_colour_sets_pass)
{
	passes("\x1b]0;my title\a");
	passes("\x1b]2;t\x1b\\");
	passes("\x1b]1;icon\xc2\x9c");
	passes("\x1b]0;caf\xc3\xa9\a");
	passes("\x1b]2;\a");
	passes("\x1b]10;#ffffff\a\x1b]11;rgb:00/00/00\x1b\\\x1b]4;1;#ff0000\a");
	passes("\x1b]104\a\x1b]110\a");
}
END_TEST

START_TEST(test_clipboard_dropped)
{
	gives("a\x1b]52;c;aGVsbG8=\ab", "ab");
	gives("a\x1b]52;c;aGVsbG8=\x1b\\b", "ab");
	gives("a\x1b]52;p;?\ab", "ab");
	gives("a\xc2\x9d" "52;c;aGVsbG8=\xc2\x9c" "b", "ab");
	gives("a\xc2\x9d" "52;c;aGVsbG8=\ab", "ab");
	gives("\x1b]52;c;\a", "");
}
END_TEST

START_TEST(test_queries_and_unknown_osc_dropped)
{
	gives("x\x1b]11;?\ay", "xy");
	gives("x\x1b]10;?\x1b\\y", "xy");
	gives("x\x1b]4;1;?\ay", "xy");
	gives("x\x1b]12;?\ay", "xy");
	gives("\x1b]8;;http://evil.example\x1b\\click\x1b]8;;\x1b\\", "click");
	gives("x\x1b]50;?\ay", "xy");
	gives("x\x1b]7;file://host/tmp\ay", "xy");
	gives("x\x1b]1337;File=a\ay", "xy");
	gives("x\x1b]L\ay", "xy");		/* not a number */
	gives("x\x1b];0;t\ay", "xy");
	gives("x\x1b]02x;t\ay", "xy");
	gives("x\x1b]99999999999;t\ay", "xy");
	/* Found by fuzz_ofilter: a number past the cap must not wrap round
	 * into an allowed one (52524444 read as 4). */
	gives("x\xc2\x9d" "5252\x01\x01" "4444\x1b\\y", "xy");
	gives("x\x1b]1000004;#fff\ay", "xy");
}
END_TEST

START_TEST(test_strings_dropped)
{
	gives("a\x1bP$qm\x1b\\b", "ab");		/* DECRQSS */
	gives("a\x1bP+q544e\x1b\\b", "ab");		/* XTGETTCAP */
	gives("a\x1bPq#0;2;0;0;0#0~~@@\x1b\\b", "ab");	/* sixel */
	/* tmux passthrough: ESC ESC ends the DCS for xterm.js too, and the
	 * OSC 52 after it is dropped; the stray ST is harmless. */
	gives("a\x1bPtmux;\x1b\x1b]52;c;x\a\x1b\\b", "a\x1b\\b");
	gives("a\x1b_Gf=100;AAAA\x1b\\b", "ab");	/* APC (kitty) */
	gives("a\x1b^privacy\x1b\\b", "ab");		/* PM */
	gives("a\x1bXsos\x1b\\b", "ab");		/* SOS */
	gives("a\xc2\x90$qm\xc2\x9c" "b", "ab");	/* C1 DCS */
	gives("a\xc2\x9f" "apc\xc2\x9c" "b", "ab");	/* C1 APC */
	/* BEL does not end a DCS; only ST does. */
	gives("a\x1bP$q\ahidden\x1b\\b", "ab");
}
END_TEST

START_TEST(test_window_ops_dropped)
{
	gives("a\x1b[21tb", "ab");		/* report title */
	gives("a\x1b[20tb", "ab");
	gives("a\x1b[14tb", "ab");
	gives("a\x1b[18tb", "ab");
	gives("a\x1b[8;50;100tb", "ab");	/* resize */
	gives("a\x1b[22;2t\x1b[23;2tb", "ab");
	gives("a\xc2\x9b" "21tb", "ab");
}
END_TEST

/* What ends a sequence early, as xterm.js would end it. */
START_TEST(test_aborts)
{
	/* An ESC inside an OSC ends it; the new sequence counts. */
	gives("\x1b]52;c;xx\x1b[31mred", "\x1b[31mred");
	gives("\x1b]0;title\x1b[31mred", "\x1b[31mred");
	/* CAN and SUB abort. */
	gives("\x1b]52;c;xx\x18" "after", "after");
	gives("\x1b]0;t\x1a" "after", "after");
	gives("\x1b[31\x18m", "m");
	gives("\x1bP$q\x18" "after", "after");
	/* A C1 introducer inside an OSC starts its own sequence. */
	gives("\x1b]0;title\xc2\x9d" "52;c;x\a", "");
	gives("\x1b]0;title\xc2\x9b" "31mred", "\xc2\x9b" "31mred");
	/* Inside a dropped string, ESC + other starts an escape. */
	gives("\x1bPabc\x1b[1mB", "\x1b[1mB");
	/* A C0 control inside a CSI is executed in place. */
	gives("\x1b[3\n1m", "\n\x1b[31m");
	gives("\x1b\r[0m", "\r\x1b[0m");
	/* C0 controls inside an OSC are ignored; DEL in a CSI too. */
	gives("\x1b]0;a\x01" "b\a", "\x1b]0;ab\a");
	gives("\x1b[3\x7f" "1m", "\x1b[31m");
	/* ESC ESC: the first is void. */
	gives("\x1b\x1b[1m", "\x1b[1m");
}
END_TEST

/* The same output however the stream is cut into reads. */
static const char split_input[] =
    "$ ls\r\n\x1b[01;34mdir\x1b[0m caf\xc3\xa9\r\n"
    "\x1b]0;title\a\x1b]52;c;aGVsbG8=\x1b\\after52"
    "\x1bP$qm\x1b\\\xc2\x9d" "52;c;x\xc2\x9c\x1b[21t\x1b[6n"
    "\x1b]11;?\a\x1b]10;#fff\x1b\\\xc2\x9b" "1m\xc2\xa0\xe2\x82\xac"
    "\x1b]8;;u\abc\x1b(B\x1b[?2004h end";

START_TEST(test_split_anywhere)
{
	size_t n = sizeof(split_input) - 1, wantn, gotn;
	char want[OFILTER_OUT_SIZE(sizeof(split_input))];
	char got[OFILTER_OUT_SIZE(sizeof(split_input))];
	struct ofilter f;

	ofilter_init(&f);
	wantn = ofilter_feed(&f, split_input, n, want, sizeof(want));
	ck_assert_uint_gt(wantn, 0);
	ck_assert_ptr_null(memmem(want, wantn, "52;", 3));
	/* Every single cut, then one byte at a time. */
	for (size_t cut = 0; cut <= n; cut++) {
		ofilter_init(&f);
		gotn = ofilter_feed(&f, split_input, cut, got, sizeof(got));
		gotn += ofilter_feed(&f, split_input + cut, n - cut, got + gotn,
		    sizeof(got) - gotn);
		ck_assert_msg(gotn == wantn && memcmp(got, want, wantn) == 0,
		    "cut at %zu differs", cut);
	}
	ofilter_init(&f);
	gotn = 0;
	for (size_t i = 0; i < n; i++)
		gotn += ofilter_feed(&f, split_input + i, 1, got + gotn,
		    sizeof(got) - gotn);
	ck_assert(gotn == wantn && memcmp(got, want, wantn) == 0);
	/* A second pass changes nothing: the output is clean. */
	ofilter_init(&f);
	gotn = ofilter_feed(&f, want, wantn, got, sizeof(got));
	ck_assert(gotn == wantn && memcmp(got, want, wantn) == 0);
}
END_TEST

/* A held sequence is written by a later read; nothing is lost. */
START_TEST(test_pending_released_later)
{
	struct ofilter f;
	char out[OFILTER_OUT_SIZE(16)];
	size_t n;

	ofilter_init(&f);
	ck_assert_uint_eq(ofilter_feed(&f, "ab\x1b[3", 5, out, sizeof(out)), 2);
	n = ofilter_feed(&f, "1mc", 3, out, sizeof(out));
	ck_assert_uint_eq(n, 6);
	ck_assert(memcmp(out, "\x1b[31mc", 6) == 0);
	ck_assert_uint_eq(ofilter_feed(&f, "\xc2", 1, out, sizeof(out)), 0);
	ck_assert_uint_eq(ofilter_feed(&f, "\xa0", 1, out, sizeof(out)), 2);
	ck_assert(memcmp(out, "\xc2\xa0", 2) == 0);
}
END_TEST

START_TEST(test_bounds)
{
	static char buf[200 * 1024];
	const char *got;
	size_t n, gotn;

	/* A title longer than the pending cap is dropped whole. */
	n = (size_t)snprintf(buf, sizeof(buf), "a\x1b]0;");
	memset(buf + n, 't', OFILTER_PENDING_MAX);
	n += OFILTER_PENDING_MAX;
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "\ab");
	got = filt_n(buf, n, &gotn);
	ck_assert_str_eq(got, "ab");
	/* Just under the cap it passes. */
	n = (size_t)snprintf(buf, sizeof(buf), "\x1b]0;");
	memset(buf + n, 't', OFILTER_PENDING_MAX - n - 1);
	n = OFILTER_PENDING_MAX - 1;
	buf[n++] = '\a';
	buf[n] = '\0';
	got = filt_n(buf, n, &gotn);
	ck_assert_uint_eq(gotn, n);
	/* An over-long CSI is dropped up to its final byte. */
	n = (size_t)snprintf(buf, sizeof(buf), "a\x1b[");
	memset(buf + n, '1', 4000);
	n += 4000;
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "mb");
	got = filt_n(buf, n, &gotn);
	ck_assert_str_eq(got, "ab");
	/* A DCS that never ends swallows OFILTER_DISCARD_MAX bytes, then the
	 * rest is text again. */
	n = (size_t)snprintf(buf, sizeof(buf), "a\x1bP");
	memset(buf + n, 'x', OFILTER_DISCARD_MAX + 10);
	n += OFILTER_DISCARD_MAX + 10;
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "\x1b[1mb");
	got = filt_n(buf, n, &gotn);
	ck_assert_uint_eq(gotn, 1 + 10 + 5);
	ck_assert_str_eq(got, "axxxxxxxxxx\x1b[1mb");
}
END_TEST

/* Too little room: the excess is counted, never written. */
START_TEST(test_small_cap)
{
	char out[16];
	struct ofilter f;

	memset(out, 'Z', sizeof(out));
	ofilter_init(&f);
	ck_assert_uint_eq(ofilter_feed(&f, "0123456789abcdefghij", 20, out, 10),
	    10);
	ck_assert_uint_eq(f.lost, 10);
	ck_assert_int_eq(out[10], 'Z');
	ck_assert(memcmp(out, "0123456789", 10) == 0);
}
END_TEST

START_TEST(test_dropped_count)
{
	struct ofilter f;
	char out[OFILTER_OUT_SIZE(64)];
	static const char s[] = "\x1b]52;c;x\a\x1bPq\x1b\\\x1b[21t\x1b[1mok";

	ofilter_init(&f);
	(void)ofilter_feed(&f, s, sizeof(s) - 1, out, sizeof(out));
	ck_assert_uint_eq(ofilter_dropped(&f), 3);
}
END_TEST

static Suite *
ofilter_suite(void)
{
	Suite *s = suite_create("ofilter");
	TCase *tc = tcase_create("ofilter");

	tcase_add_test(tc, test_text_and_utf8_pass);
	tcase_add_test(tc, test_lone_c2_cannot_pair);
	tcase_add_test(tc, test_colours_cursor_modes_pass);
	tcase_add_test(tc, test_titles_and_colour_sets_pass);
	tcase_add_test(tc, test_clipboard_dropped);
	tcase_add_test(tc, test_queries_and_unknown_osc_dropped);
	tcase_add_test(tc, test_strings_dropped);
	tcase_add_test(tc, test_window_ops_dropped);
	tcase_add_test(tc, test_aborts);
	tcase_add_test(tc, test_split_anywhere);
	tcase_add_test(tc, test_pending_released_later);
	tcase_add_test(tc, test_bounds);
	tcase_add_test(tc, test_small_cap);
	tcase_add_test(tc, test_dropped_count);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return util_run(ofilter_suite());
}

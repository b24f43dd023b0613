/*
 * check_pump.c: the relay's poll loop (relay/pump.c).  pump_utf8_cut() on
 * whole, cut and invalid characters; then pump_run() for real: a forked
 * child puts pipes on its fds 0 and 1 and pumps between them and one end
 * of a socketpair (the container's stream), and the test process plays
 * websocketd on the pipes and the container on the other end.  The child
 * reports pump_run()'s result on a pipe of its own and dies by alarm() if
 * anything hangs.
 */
#include "compat.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "frame.h"
#include "log.h"
#include "pump.h"
#include "tkmsg.h"
#include "util.h"

#define CHILD_ALARM 25		/* seconds before a stuck child dies */
#define WAIT_MS 10000		/* how long the test waits for anything */
#define MIB (1024 * 1024)

/* How the child's pump is set up. */
struct child_opts {
	size_t max_line;
	unsigned tick_stop;	/* the tick call that ends it; 0: none */
	int frame_ms;		/* pump_frame()'s timeout */
	const char *preload;
};

/* What the child reports when pump_run() returns. */
struct child_result {
	int rc;			/* pump_run()'s enum err */
	int frame_rc;		/* the last pump_frame()'s; -1: none */
	size_t dropped;
	unsigned lines, ticks;
};

/* The test process's ends. */
struct child {
	pid_t pid;
	int in;			/* -> the child's stdin */
	int out;		/* <- the child's stdout */
	int ctr;		/* the container's end of the stream */
	int res;		/* <- struct child_result */
};

/* ---- the child -------------------------------------------------------- */

static struct child_opts child_o;
static struct child_result child_r;
static volatile int child_stop;

static void
child_on_term(int sig ATTR_UNUSED)
{
	child_stop = 1;
}

/*
 * Like relay/main.c without the filter: a control line or raw keystrokes
 * go to the container, a resize as "<ROWSxCOLS>".  Test commands:
 * "FRAME:text" sends text with pump_frame(), "STOP" ends the pump.
 */
static int
child_line(struct pump *p, const char *line, size_t len, void *arg ATTR_UNUSED)
{
	struct frame_msg m;
	char rs[32];
	int n;

	child_r.lines++;
	if (len >= 6 && memcmp(line, "FRAME:", 6) == 0) {
		child_r.frame_rc = (int)pump_frame(p, line + 6, len - 6,
		    child_o.frame_ms);
		return 0;
	}
	if (len == 4 && memcmp(line, "STOP", 4) == 0)
		return 1;
	frame_parse(line, len, &m);
	if (m.kind == FRAME_RESIZE) {
		n = snprintf(rs, sizeof(rs), "<%dx%d>", m.rows, m.cols);
		(void)pump_to_container(p, rs, (size_t)n);
	} else
		(void)pump_to_container(p, m.data, m.len);
	frame_msg_release(&m);
	return 0;
}

static int
child_tick(struct pump *p ATTR_UNUSED, int64_t now ATTR_UNUSED,
    void *arg ATTR_UNUSED)
{
	child_r.ticks++;
	return child_o.tick_stop != 0 && child_r.ticks >= child_o.tick_stop;
}

/* A message from the init: "<CTL:msg>" as a frame of its own. */
static void
child_control(struct pump *p, const char *msg, void *arg ATTR_UNUSED)
{
	char f[TKMSG_MAX + 8];
	int n = snprintf(f, sizeof(f), "<CTL:%s>", msg);

	(void)pump_frame(p, f, (size_t)n, child_o.frame_ms);
}

ATTR_NORETURN static void
child_main(const struct child_opts *o, int in, int out, int ctr, int res)
{
	static const struct pump_ops ops = { child_line, child_tick,
		child_control };
	struct sigaction sa;
	struct pump *p;

	(void)alarm(CHILD_ALARM);
	memset(&sa, 0, sizeof(sa));
	(void)sigemptyset(&sa.sa_mask);
	sa.sa_handler = SIG_IGN;
	(void)sigaction(SIGPIPE, &sa, NULL);
	sa.sa_handler = child_on_term;
	(void)sigaction(SIGTERM, &sa, NULL);
	if (dup2(in, STDIN_FILENO) == -1 || dup2(out, STDOUT_FILENO) == -1)
		_exit(3);
	(void)close(in);
	(void)close(out);
	child_o = *o;
	child_r.frame_rc = -1;
	p = pump_new(ctr, o->max_line, &ops, NULL);
	if (o->preload != NULL)
		pump_preload(p, o->preload, strlen(o->preload));
	child_r.rc = (int)pump_run(p, &child_stop);
	child_r.dropped = pump_dropped(p);
	pump_free(p);
	if (write(res, &child_r, sizeof(child_r)) != (ssize_t)sizeof(child_r))
		_exit(4);
	_exit(0);
}

/* ---- the test process's side ------------------------------------------ */

static void
nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	ck_assert_int_ne(fl, -1);
	ck_assert_int_ne(fcntl(fd, F_SETFL, fl | O_NONBLOCK), -1);
}

static void
msleep(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		continue;
}

static int
ms_left(double deadline)
{
	double left = deadline - clock_mono();

	return left <= 0 ? 0 : (int)(left * 1000) + 1;
}

static void
child_start(struct child *c, const struct child_opts *o)
{
	int in[2], out[2], sp[2], res[2];
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	(void)sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGPIPE, &sa, NULL);
	ck_assert_int_eq(pipe(in), 0);
	ck_assert_int_eq(pipe(out), 0);
	ck_assert_int_eq(pipe(res), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	c->pid = fork();
	ck_assert_int_ne(c->pid, -1);
	if (c->pid == 0) {
		(void)close(in[1]);
		(void)close(out[0]);
		(void)close(sp[0]);
		(void)close(res[0]);
		child_main(o, in[0], out[1], sp[1], res[1]);
	}
	(void)close(in[0]);
	(void)close(out[1]);
	(void)close(sp[1]);
	(void)close(res[1]);
	c->in = in[1];
	c->out = out[0];
	c->ctr = sp[0];
	c->res = res[0];
	nonblock(c->in);
	nonblock(c->out);
	nonblock(c->ctr);
	nonblock(c->res);
}

static void
child_default(struct child *c)
{
	struct child_opts o = { 1024, 0, 5000, NULL };

	child_start(c, &o);
}

static void
closefd(int *fd)
{
	if (*fd != -1)
		(void)close(*fd);
	*fd = -1;
}

/* Write up to n bytes within timeout_ms; the count written. */
static size_t
io_write(int fd, const void *buf, size_t n, int timeout_ms)
{
	double deadline = clock_mono() + timeout_ms / 1000.0;
	const char *b = buf;
	size_t done = 0;
	ssize_t w;

	while (done < n) {
		struct pollfd pfd = { fd, POLLOUT, 0 };

		if (poll(&pfd, 1, ms_left(deadline)) <= 0)
			break;
		w = write(fd, b + done, n - done);
		if (w > 0)
			done += (size_t)w;
		else if (w < 0 && errno != EAGAIN && errno != EINTR)
			break;
	}
	return done;
}

static void
io_send(int fd, const char *s)
{
	size_t n = strlen(s);

	ck_assert_uint_eq(io_write(fd, s, n, WAIT_MS), n);
}

/* Read up to n bytes within timeout_ms (less at EOF); the count read. */
static size_t
io_read(int fd, void *buf, size_t n, int timeout_ms)
{
	double deadline = clock_mono() + timeout_ms / 1000.0;
	char *b = buf;
	size_t done = 0;
	ssize_t r;

	while (done < n) {
		struct pollfd pfd = { fd, POLLIN, 0 };

		if (poll(&pfd, 1, ms_left(deadline)) <= 0)
			break;
		r = read(fd, b + done, n - done);
		if (r > 0)
			done += (size_t)r;
		else if (r == 0 || (errno != EAGAIN && errno != EINTR))
			break;
	}
	return done;
}

/* The next n bytes on fd are want[0..n). */
static void
io_expect(int fd, const char *want, size_t n)
{
	char *got = xmalloc(n + 1);
	size_t r = io_read(fd, got, n, WAIT_MS);

	ck_assert_msg(r == n, "got %zu of %zu bytes", r, n);
	ck_assert_mem_eq(got, want, n);
	free(got);
}

/* Nothing arrives on fd for ms. */
static void
io_quiet(int fd, int ms)
{
	char b[64];
	size_t r = io_read(fd, b, sizeof(b), ms);

	ck_assert_msg(r == 0, "%zu unexpected bytes", r);
}

/* fd is at EOF (after whatever is still to come, which is discarded). */
static void
io_eof(int fd)
{
	double deadline = clock_mono() + WAIT_MS / 1000.0;
	char b[4096];
	ssize_t r = -1;

	while (r != 0) {
		struct pollfd pfd = { fd, POLLIN, 0 };

		ck_assert_msg(poll(&pfd, 1, ms_left(deadline)) > 0, "no EOF");
		r = read(fd, b, sizeof(b));
		ck_assert(r >= 0 || errno == EAGAIN);
	}
}

/* Wait for the child's report and its exit. */
static void
child_finish(struct child *c, struct child_result *r)
{
	int status = -1;

	ck_assert_msg(io_read(c->res, r, sizeof(*r), WAIT_MS) == sizeof(*r),
	    "pump_run did not return");
	ck_assert_int_eq(waitpid(c->pid, &status, 0), c->pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "child status %#x", status);
	closefd(&c->in);
	closefd(&c->out);
	closefd(&c->ctr);
	closefd(&c->res);
}

static bool
child_alive(const struct child *c)
{
	int status;

	return waitpid(c->pid, &status, WNOHANG) == 0;
}

/* CPU time the process has used, in ms (from /proc/PID/stat). */
static long
proc_cpu_ms(pid_t pid)
{
	char path[64], buf[1024];
	unsigned long ut = 0, st = 0;
	const char *p;
	ssize_t n;
	int fd;

	(void)snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	fd = open(path, O_RDONLY);
	ck_assert_int_ne(fd, -1);
	n = read(fd, buf, sizeof(buf) - 1);
	(void)close(fd);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	ck_assert_ptr_nonnull(p);
	/* After "pid (comm)": state ... utime is field 14, stime 15. */
	ck_assert_int_eq(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u "
	    "%*u %*u %lu %lu", &ut, &st), 2);
	return (long)((ut + st) * 1000 / (unsigned long)sysconf(_SC_CLK_TCK));
}

/* The child uses at most a quarter of the CPU over ms: it sleeps in poll. */
static void
assert_idle(const struct child *c, int ms, const char *what)
{
	long before = proc_cpu_ms(c->pid), used;

	msleep(ms);
	used = proc_cpu_ms(c->pid) - before;
	ck_assert_msg(used * 4 <= ms,
	    "%s: the pump spun, %ld ms of CPU in %d ms", what, used, ms);
}

/* A recognisable stream of UTF-8 text: numbered records. */
static char *
stream_make(size_t n)
{
	char *b = xmalloc(n), rec[64];
	size_t done = 0;
	int len;

	for (unsigned i = 0; done < n; i++) {
		len = snprintf(rec, sizeof(rec), "%07u h\xc3\xa9 \xe2\x82\xac "
		    "\xf0\x9f\x98\x80\r\n", i);
		if ((size_t)len > n - done)
			len = (int)(n - done);
		memcpy(b + done, rec, (size_t)len);
		done += (size_t)len;
	}
	return b;
}

/* ---- pump_utf8_cut ---------------------------------------------------- */

#define CUT(lit) pump_utf8_cut((lit), sizeof(lit) - 1)

START_TEST(test_cut_ascii)
{
	ck_assert_uint_eq(pump_utf8_cut("", 0), 0);
	ck_assert_uint_eq(CUT("a"), 1);
	ck_assert_uint_eq(CUT("ab"), 2);
	ck_assert_uint_eq(CUT("abc"), 3);
	ck_assert_uint_eq(CUT("hello, world\r\n"), 14);
	ck_assert_uint_eq(CUT("\x1b[0m\0"), 5);
	/* Only n bytes are looked at. */
	ck_assert_uint_eq(pump_utf8_cut("ab\xc3\xa9", 2), 2);
}
END_TEST

START_TEST(test_cut_complete)
{
	ck_assert_uint_eq(CUT("\xc3\xa9"), 2);
	ck_assert_uint_eq(CUT("\xe2\x82\xac"), 3);
	ck_assert_uint_eq(CUT("\xf0\x9f\x98\x80"), 4);
	ck_assert_uint_eq(CUT("a\xc3\xa9"), 3);
	ck_assert_uint_eq(CUT("ab\xe2\x82\xac"), 5);
	ck_assert_uint_eq(CUT("abc\xf0\x9f\x98\x80"), 7);
	ck_assert_uint_eq(CUT("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"), 9);
	ck_assert_uint_eq(CUT("\xf0\x9f\x98\x80\xc3\xa9"), 6);
	ck_assert_uint_eq(CUT("\xf4\x8f\xbf\xbf"), 4);	/* U+10FFFF */
	ck_assert_uint_eq(CUT("\xef\xbf\xbd"), 3);	/* U+FFFD */
}
END_TEST

START_TEST(test_cut_partial)
{
	static const char *chars[] = { "\xc3\xa9", "\xe2\x82\xac",
		"\xf0\x9f\x98\x80" };
	char buf[16];

	/* Cut after each byte of a 2-, 3- and 4-byte character, after a
	 * prefix ("ab") and alone (buffers shorter than 4 bytes). */
	for (size_t c = 0; c < nitems(chars); c++) {
		size_t clen = strlen(chars[c]);

		for (size_t k = 1; k <= clen; k++) {
			memcpy(buf, "ab", 2);
			memcpy(buf + 2, chars[c], k);
			ck_assert_msg(pump_utf8_cut(buf, 2 + k) ==
			    (k < clen ? 2 : 2 + k), "char %zu cut after %zu",
			    clen, k);
			ck_assert_msg(pump_utf8_cut(chars[c], k) ==
			    (k < clen ? 0 : k), "char %zu alone, %zu bytes",
			    clen, k);
		}
	}
	/* After a whole character, the next one's start is held. */
	ck_assert_uint_eq(CUT("\xc3\xa9\xe2\x82"), 2);
	ck_assert_uint_eq(CUT("\xf0\x9f\x98\x80\xf0"), 4);
}
END_TEST

START_TEST(test_cut_lone_lead)
{
	ck_assert_uint_eq(CUT("\xc3"), 0);
	ck_assert_uint_eq(CUT("\xe2"), 0);
	ck_assert_uint_eq(CUT("\xf0"), 0);
	ck_assert_uint_eq(CUT("abc\xc3"), 3);
	ck_assert_uint_eq(CUT("abcdef\xe2"), 6);
	ck_assert_uint_eq(CUT("abcdefgh\xf0"), 8);
	/* Not lead bytes of anything: passed on. */
	ck_assert_uint_eq(CUT("abc\xff"), 4);
	ck_assert_uint_eq(CUT("abc\xf8"), 4);
	ck_assert_uint_eq(CUT("\xfe"), 1);
}
END_TEST

START_TEST(test_cut_invalid)
{
	/* Continuation bytes with no lead: not held back. */
	ck_assert_uint_eq(CUT("\x80"), 1);
	ck_assert_uint_eq(CUT("\x80\x80"), 2);
	ck_assert_uint_eq(CUT("\x80\x80\x80"), 3);
	ck_assert_uint_eq(CUT("\x80\x80\x80\x80"), 4);
	ck_assert_uint_eq(CUT("a\x80"), 2);
	ck_assert_uint_eq(CUT("abc\x80\x80\x80"), 6);
	ck_assert_uint_eq(CUT("a\x80\x80\x80\x80"), 5);
	ck_assert_uint_eq(CUT("\xbf\xbf\xbf\xbf\xbf\xbf"), 6);
	/* Too many continuation bytes for the lead. */
	ck_assert_uint_eq(CUT("\xc3\xa9\xa9"), 3);
	ck_assert_uint_eq(CUT("\xe2\x82\xac\x80"), 4);
	ck_assert_uint_eq(CUT("\xf0\x80\x80\x80\x80"), 5);
	/* A lead followed by something that does not continue it. */
	ck_assert_uint_eq(CUT("\xc3" "A"), 2);
	ck_assert_uint_eq(CUT("\xe2\x28\xa1"), 3);
	ck_assert_uint_eq(CUT("\xf0\x9f" "A"), 3);
}
END_TEST

/* ---- pump_run: client -> container ------------------------------------ */

START_TEST(test_lines_to_container)
{
	struct child_result r;
	struct child c;

	child_default(&c);
	io_send(c.in, "echo hi\n");
	io_expect(c.ctr, "echo hi", 7);
	/* TryIt's "cmd\n" arrives as "cmd\n\n". */
	io_send(c.in, "cmd\n\n");
	io_expect(c.ctr, "cmd\n", 4);
	/* Several lines in one write, then one line byte by byte. */
	io_send(c.in, "a\nb\nc\n");
	io_expect(c.ctr, "abc", 3);
	for (const char *s = "slow\n"; *s != '\0'; s++) {
		ck_assert_uint_eq(io_write(c.in, s, 1, WAIT_MS), 1);
		msleep(20);
	}
	io_expect(c.ctr, "slow", 4);
	/* UTF-8 split across writes, control lines. */
	io_send(c.in, "h\xc3");
	msleep(50);
	io_send(c.in, "\xa9\n");
	io_expect(c.ctr, "h\xc3\xa9", 3);
	io_send(c.in, "{\"type\":\"resize\",\"rows\":30,\"cols\":100}\n"
	    "{\"type\":\"input\",\"data\":\"\\u001b[A\"}\n");
	io_expect(c.ctr, "<30x100>\x1b[A", 11);
	closefd(&c.in);
	child_finish(&c, &r);
	ck_assert_uint_eq(r.lines, 10);
	ck_assert_uint_eq(r.dropped, 0);
	ck_assert_int_eq(r.frame_rc, -1);
}
END_TEST

START_TEST(test_line_too_big)
{
	struct child_opts o = { 16, 0, 5000, NULL };
	struct child_result r;
	struct child c;

	child_start(&c, &o);
	io_send(c.in, "0123456789abcdef\n");
	io_expect(c.ctr, "0123456789abcdef", 16);
	io_send(c.in, "0123456789abcdefg\n");
	child_finish(&c, &r);
	ck_assert_int_eq(r.rc, ERR_TOOBIG);
	ck_assert_uint_eq(r.lines, 1);
}
END_TEST

START_TEST(test_callback_stops)
{
	struct child_result r;
	struct child c;

	child_default(&c);
	io_send(c.in, "x\nSTOP\ny\n");
	child_finish(&c, &r);
	ck_assert_int_eq(r.rc, ERR_INVAL);
	ck_assert_uint_eq(r.lines, 2);
}
END_TEST

START_TEST(test_tick)
{
	struct child_opts o = { 1024, 3, 5000, NULL };
	struct child_result r;
	struct child c;
	double t0 = clock_mono();

	/* An idle pump still ticks (at least once a second), and a tick
	 * can end it. */
	child_start(&c, &o);
	child_finish(&c, &r);
	ck_assert_int_eq(r.rc, ERR_INVAL);
	ck_assert_uint_eq(r.ticks, 3);
	ck_assert_double_le(clock_mono() - t0, 5.0);
}
END_TEST

/* BUG (relay/pump.c pump_read_client/pump_run): stdin EOF returns
 * ERR_NOTFOUND, which pump.h reserves for the container's end. */
START_TEST(test_client_eof)
{
	struct child_result r;
	struct child c;

	child_default(&c);
	io_send(c.in, "ls\n");
	io_expect(c.ctr, "ls", 2);
	closefd(&c.in);
	child_finish(&c, &r);
	ck_assert_msg(r.rc == ERR_OK, "stdin EOF: pump_run returned %s, "
	    "want ok", err_str((enum err)r.rc));
}
END_TEST

START_TEST(test_client_gone)
{
	struct child_result r;
	struct child c;

	/* websocketd closed our stdout. */
	child_default(&c);
	io_send(c.ctr, "output");
	msleep(100);
	closefd(&c.out);
	child_finish(&c, &r);
	ck_assert_int_eq(r.rc, ERR_OK);
}
END_TEST

START_TEST(test_stop_signal)
{
	struct child_result r;
	struct child c;

	child_default(&c);
	msleep(100);
	ck_assert_int_eq(kill(c.pid, SIGTERM), 0);
	child_finish(&c, &r);
	ck_assert_int_eq(r.rc, ERR_CONFLICT);
}
END_TEST

START_TEST(test_flood)
{
	enum { LINE = 1000, NLINES = 4000, TOTAL = LINE * NLINES };
	char *buf = xmalloc(TOTAL), *sink = xmalloc(TOTAL);
	struct child_result r;
	struct child c;
	size_t sent, got;

	/* The container never reads; the client keeps typing.  The pump must
	 * go on reading stdin (websocketd would deadlock otherwise) and drop
	 * what does not fit, whole messages at a time. */
	memset(buf, 'k', TOTAL);
	for (size_t i = LINE - 1; i < TOTAL; i += LINE)
		buf[i] = '\n';
	child_default(&c);
	sent = io_write(c.in, buf, TOTAL, 15000);
	ck_assert_msg(sent == TOTAL, "the pump stopped reading stdin after %zu "
	    "bytes", sent);
	ck_assert(child_alive(&c));
	io_send(c.in, "FRAME:alive\n");
	io_expect(c.out, "alive", 5);
	closefd(&c.in);
	/* What reached the container, up to the child's exit. */
	got = io_read(c.ctr, sink, TOTAL, WAIT_MS);
	child_finish(&c, &r);
	ck_assert_uint_eq(r.lines, NLINES + 1);
	ck_assert_uint_gt(r.dropped, 0);
	ck_assert_uint_eq(r.dropped % (LINE - 1), 0);
	ck_assert_uint_gt(got, 0);
	ck_assert_uint_le(r.dropped + got, (size_t)NLINES * (LINE - 1));
	for (size_t i = 0; i < got; i++)
		ck_assert_int_eq(sink[i], 'k');
	ck_assert_int_eq(r.frame_rc, ERR_OK);
	free(sink);
	free(buf);
}
END_TEST

/* ---- pump_run: container -> client ------------------------------------ */

START_TEST(test_output_to_client)
{
	static const char out[] = "hello\r\n\xc3\xa9\xe2\x82\xac\x1b[0m\0end";
	struct child_result r;
	struct child c;

	child_default(&c);
	io_send(c.ctr, "$ ");
	io_expect(c.out, "$ ", 2);
	ck_assert_uint_eq(io_write(c.ctr, out, sizeof(out) - 1, WAIT_MS),
	    sizeof(out) - 1);
	io_expect(c.out, out, sizeof(out) - 1);
	closefd(&c.in);
	child_finish(&c, &r);
}
END_TEST

/* The init's messages leave the stream at their place; others stay. */
START_TEST(test_control_taken_out)
{
	static const char out[] = "ab\x1b_tk;initdone;1\x1b\\cd\x1b[1mE";
	static const char want[] = "ab<CTL:tk;initdone;1>cd\x1b[1mE";
	struct child_result r;
	struct child c;

	child_default(&c);
	io_send(c.ctr, out);
	io_expect(c.out, want, sizeof(want) - 1);
	/* Split, even with a pause inside, and an APC that is not ours
	 * goes to the output filter (which drops it). */
	io_send(c.ctr, "x\x1b_tk;scr");
	io_expect(c.out, "x", 1);
	io_quiet(c.out, 100);
	io_send(c.ctr, "een\x1b");
	io_send(c.ctr, "\\y\x1b_other\x1b\\z");
	io_expect(c.out, "<CTL:tk;screen>yz", 17);
	closefd(&c.in);
	child_finish(&c, &r);
}
END_TEST

/* A prefix nothing followed is output after all; a message that is too
 * long is dropped up to its end, never delivered. */
START_TEST(test_control_prefix_and_overlong)
{
	char big[TKMSG_MAX + 64];
	struct child_result r;
	struct child c;

	child_default(&c);
	io_send(c.ctr, "A\x1b");
	io_expect(c.out, "A", 1);
	io_quiet(c.out, 150);
	io_send(c.ctr, "[1mB");
	io_expect(c.out, "\x1b[1mB", 5);
	memset(big, 'a', sizeof(big));
	memcpy(big, "\x1b_tk;", 5);
	big[sizeof(big) - 1] = '\0';
	io_send(c.ctr, big);
	io_send(c.ctr, "\x1b\\ok");
	io_expect(c.out, "ok", 2);
	closefd(&c.in);
	child_finish(&c, &r);
}
END_TEST

START_TEST(test_preload)
{
	struct child_opts o = { 1024, 0, 5000, "PRE:" };
	struct child_result r;
	struct child c;

	child_start(&c, &o);
	io_send(c.ctr, "shell");
	io_expect(c.out, "PRE:shell", 9);
	closefd(&c.in);
	child_finish(&c, &r);
}
END_TEST

START_TEST(test_utf8_held)
{
	struct child_result r;
	struct child c;

	/* The start of a character waits for its end, without spinning. */
	child_default(&c);
	io_send(c.ctr, "x\xe2\x82");
	io_expect(c.out, "x", 1);
	io_quiet(c.out, 200);
	assert_idle(&c, 500, "half a character");
	io_send(c.ctr, "\xac" "y\xf0\x9f");
	io_expect(c.out, "\xe2\x82\xac" "y", 4);
	io_quiet(c.out, 200);
	io_send(c.ctr, "\x98\x80");
	io_expect(c.out, "\xf0\x9f\x98\x80", 4);
	closefd(&c.in);
	child_finish(&c, &r);
}
END_TEST

START_TEST(test_container_closes)
{
	enum { N = 200 * 1024 };
	char *data = stream_make(N + 4);
	struct child_result r;
	struct child c;

	/* Everything the container said reaches the client, a trailing half
	 * character included, and then the pump ends. */
	memcpy(data + N, "ab\xe2\x82", 4);
	child_default(&c);
	ck_assert_uint_eq(io_write(c.ctr, data, N + 4, WAIT_MS), N + 4);
	closefd(&c.ctr);
	msleep(200);
	io_expect(c.out, data, N + 4);
	io_eof(c.out);
	child_finish(&c, &r);
	ck_assert_int_eq(r.rc, ERR_NOTFOUND);
	free(data);
}
END_TEST

/*
 * BUG (relay/pump.c pump_run): once the container's end has closed, poll()
 * reports POLLHUP on it at every call, requested or not; while stdout is
 * blocked (a slow client) the loop spins at full CPU until the output
 * drains.
 */
START_TEST(test_container_closes_slow_client)
{
	enum { N = 160 * 1024 };
	char *data = stream_make(N);
	struct child_result r;
	struct child c;

	child_default(&c);
	ck_assert_uint_eq(io_write(c.ctr, data, N, WAIT_MS), N);
	closefd(&c.ctr);
	msleep(200);
	assert_idle(&c, 1000, "container closed, stdout full");
	io_expect(c.out, data, N);
	io_eof(c.out);
	child_finish(&c, &r);
	ck_assert_int_eq(r.rc, ERR_NOTFOUND);
	free(data);
}
END_TEST

START_TEST(test_large_transfer)
{
	enum { TOTAL = MIB };
	char *data = stream_make(TOTAL), *got = xmalloc(TOTAL);
	double deadline;
	struct child_result r;
	struct child c;
	size_t sent, have = 0;
	ssize_t n;

	child_default(&c);
	/* Nobody reads stdout: the pump stops reading the container once
	 * its buffer and the pipe are full, so the writer stalls well
	 * before 1 MiB, and the pump sleeps meanwhile. */
	sent = io_write(c.ctr, data, TOTAL, 1500);
	ck_assert_msg(sent < TOTAL / 2, "%zu bytes buffered with no reader",
	    sent);
	ck_assert_uint_gt(sent, PUMP_BUF);
	ck_assert(child_alive(&c));
	assert_idle(&c, 500, "stdout full");
	ck_assert(child_alive(&c));
	/* Now read, slowly, while the container goes on writing. */
	deadline = clock_mono() + 20;
	while (have < TOTAL && clock_mono() < deadline) {
		struct pollfd pfd[2] = {
			{ c.ctr, sent < TOTAL ? POLLOUT : 0, 0 },
			{ c.out, POLLIN, 0 },
		};

		(void)poll(pfd, 2, 100);
		if (pfd[0].revents & POLLOUT) {
			n = write(c.ctr, data + sent, TOTAL - sent);
			if (n > 0)
				sent += (size_t)n;
		}
		if (pfd[1].revents & (POLLIN | POLLHUP)) {
			n = read(c.out, got + have, 4096);
			ck_assert_int_ne(n, 0);
			if (n > 0)
				have += (size_t)n;
			(void)usleep(200);
		}
	}
	ck_assert_uint_eq(sent, TOTAL);
	ck_assert_uint_eq(have, TOTAL);
	ck_assert_msg(memcmp(got, data, TOTAL) == 0, "1 MiB out of order");
	closefd(&c.ctr);
	io_eof(c.out);
	child_finish(&c, &r);
	ck_assert_int_eq(r.rc, ERR_NOTFOUND);
	free(got);
	free(data);
}
END_TEST

/* ---- pump_frame ------------------------------------------------------- */

/* A read of whatever is in the pipe now is exactly s. */
static void
read_whole(int fd, const char *s)
{
	char b[256];
	size_t n = strlen(s);
	ssize_t r;
	struct pollfd pfd = { fd, POLLIN, 0 };

	ck_assert_int_eq(poll(&pfd, 1, WAIT_MS), 1);
	r = read(fd, b, sizeof(b));
	ck_assert_msg(r == (ssize_t)n && memcmp(b, s, n) == 0,
	    "read %zd bytes \"%.*s\", want \"%s\"", r, r > 0 ? (int)r : 0, b,
	    s);
}

START_TEST(test_frame_alone)
{
	struct child_result r;
	struct child c;

	/* "before" is in the pipe when the frame is asked for, "after" comes
	 * from the container right after: each read the client makes holds
	 * one of the three, in order. */
	child_default(&c);
	io_send(c.ctr, "before");
	msleep(200);
	io_send(c.in, "FRAME:{\"type\":\"error\"}\n");
	msleep(200);
	io_send(c.ctr, "after");
	msleep(200);
	read_whole(c.out, "before");
	msleep(200);
	read_whole(c.out, "{\"type\":\"error\"}");
	msleep(200);
	read_whole(c.out, "after");
	closefd(&c.in);
	child_finish(&c, &r);
	ck_assert_int_eq(r.frame_rc, ERR_OK);
}
END_TEST

START_TEST(test_frame_timeout)
{
	struct child_opts o = { 1024, 0, 300, NULL };
	struct child_result r;
	struct child c;

	/* Nobody reads: the frame gives up after its timeout, and the pump
	 * goes on. */
	child_start(&c, &o);
	io_send(c.ctr, "pending");
	msleep(100);
	io_send(c.in, "FRAME:x\nls\n");
	io_expect(c.ctr, "ls", 2);
	closefd(&c.in);
	child_finish(&c, &r);
	ck_assert_int_eq(r.frame_rc, ERR_TIMEOUT);
}
END_TEST

/*
 * BUG (relay/pump.c pump_frame): output that ends in half a UTF-8
 * character is never flushed (pump_write_client() cuts it to 0 bytes),
 * so pump_frame() spins on a writable stdout until its timeout and
 * returns ERR_TIMEOUT without writing the frame.
 */
START_TEST(test_frame_after_half_char)
{
	struct child_opts o = { 1024, 0, 1000, NULL };
	struct child_result r;
	struct child c;
	char b[64];
	size_t n;

	child_start(&c, &o);
	io_send(c.ctr, "ab\xe2");
	io_expect(c.out, "ab", 2);
	io_send(c.in, "FRAME:hello\n");
	n = io_read(c.out, b, sizeof(b), 2000);
	closefd(&c.in);
	child_finish(&c, &r);
	ck_assert_msg(r.frame_rc == ERR_OK, "pump_frame returned %s",
	    err_str((enum err)r.frame_rc));
	ck_assert_uint_ge(n, 5);
	ck_assert_mem_eq(b + n - 5, "hello", 5);
}
END_TEST

static Suite *
pump_suite(void)
{
	Suite *s = suite_create("pump");
	TCase *tc;

	tc = tcase_create("utf8_cut");
	tcase_add_test(tc, test_cut_ascii);
	tcase_add_test(tc, test_cut_complete);
	tcase_add_test(tc, test_cut_partial);
	tcase_add_test(tc, test_cut_lone_lead);
	tcase_add_test(tc, test_cut_invalid);
	suite_add_tcase(s, tc);

	tc = tcase_create("input");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_lines_to_container);
	tcase_add_test(tc, test_line_too_big);
	tcase_add_test(tc, test_callback_stops);
	tcase_add_test(tc, test_tick);
	tcase_add_test(tc, test_client_eof);
	tcase_add_test(tc, test_client_gone);
	tcase_add_test(tc, test_stop_signal);
	tcase_add_test(tc, test_flood);
	suite_add_tcase(s, tc);

	tc = tcase_create("output");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_output_to_client);
	tcase_add_test(tc, test_preload);
	tcase_add_test(tc, test_control_taken_out);
	tcase_add_test(tc, test_control_prefix_and_overlong);
	tcase_add_test(tc, test_utf8_held);
	tcase_add_test(tc, test_container_closes);
	tcase_add_test(tc, test_container_closes_slow_client);
	tcase_add_test(tc, test_large_transfer);
	suite_add_tcase(s, tc);

	tc = tcase_create("frame");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_frame_alone);
	tcase_add_test(tc, test_frame_timeout);
	tcase_add_test(tc, test_frame_after_half_char);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return util_run(pump_suite());
}

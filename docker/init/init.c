/*
 * init.c: toolkata-init, PID 1 of a sandbox container (as user sandbox).
 *
 * It holds the session's one shell: `bash -l` on a pseudo-terminal of its
 * own, started with the container, so that a WebSocket only attaches to
 * the container's TTY (POST /containers/<id>/attach) and never starts a
 * process in the sandbox.  Between the container TTY (fd 0/1, raw) and
 * the shell's pty it
 *   - copies input to the shell and output to the TTY, with backpressure
 *     (a full TTY stops reading the shell, never the input side);
 *   - keeps the last INIT_RING bytes of output, and on a "hello" control
 *     message sends them again (after a terminal reset), starting at a
 *     clean line or character boundary: a new connection sees the screen;
 *   - takes control messages in-band, as APC strings the relay writes:
 *     ESC _ tk;hello;ROWS;COLS ESC \   size the pty, replay the screen
 *                                      (then ESC _ tk;screen ESC \ to the relay)
 *     ESC _ tk;size;ROWS;COLS ESC \    size the pty (SIGWINCH to the shell)
 *     ESC _ tk;init;SILENT;MS;CMDS ESC \  run init commands (below)
 *     The relay's input filter refuses APC strings from clients in one
 *     message; a learner who spells one over several keystrokes can only
 *     resize or redraw their own terminal.
 *   - runs init commands in the shell, as if typed, each once the previous
 *     one is done: the shell's prompt hook (/etc/bash.bashrc) prints
 *     ESC _ tk;ps;STATUS ESC \ before every prompt, which the init takes
 *     out of the output and reads as "the last command ended with STATUS".
 *     CMDS are separated by 0x1F (they hold no control characters); SILENT
 *     1 keeps their echo and output off the screen and out of the replay;
 *     MS bounds the whole run (^C to the shell when it passes).  The
 *     result goes to the relay in the output stream, never in the replay:
 *     ESC _ tk;initdone;1 ESC \ or ESC _ tk;initdone;0;WHY ESC \.  A run
 *     asked for again (a reconnect) is answered from memory, not rerun.
 *     Output the shell's programs print that looks like ESC _ tk; is
 *     dropped, so nothing in the sandbox can forge a message to the relay;
 *   - ends the container at TOOLKATA_LIFETIME seconds (the deadline that
 *     holds when every toolkata process is dead), and when the shell exits
 *     (exit status = the shell's), after the last output has gone out;
 *   - shows the image's banner (/etc/toolkata/banner) before the shell;
 *   - reaps every orphan, as a PID 1 must.
 * With arguments it execs them instead (image tests).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "tkmsg.h"		/* lib/: ESC _ tk; ... ESC \ in a stream */

#define INIT_RING ((size_t)128 * 1024)	/* output kept for a replay */
#define INIT_OUT (INIT_RING + 4096)	/* bytes queued for the TTY */
#define INIT_IN 16384		/* bytes queued for the shell */
#define INIT_CTL 64		/* longest control message */
#define INIT_CTL_BIG ((size_t)40 * 1024) /* longest tk;init message */
#define INIT_RUNS 8		/* init runs remembered */
#define INIT_WHY 160		/* length of an init failure reason */
#define INIT_PROMPT_WAIT 0.25	/* s from a prompt hook to readline */
#define INIT_LIFE_MAX 172800	/* 48 h: session lifetime + pool age */
#define INIT_DRAIN_MS 300	/* output still sent after the shell ended */

struct ring {
	char buf[INIT_RING];
	size_t head;		/* next write position */
	bool full;
};

struct queue {
	char *buf;
	size_t cap, off, len;
};

/* One run of init commands (tk;init). */
struct initrun {
	bool active, silent;
	bool sent;		/* a command was typed, its prompt not seen */
	int index, count;	/* the command typed (1-based), how many */
	char *next;		/* the next command in cmds, NULL after last */
	double deadline;
	unsigned long long hash;
	char cmds[INIT_CTL_BIG];
};

struct initdone {
	unsigned long long hash;
	bool ok;
	char why[INIT_WHY];
};

struct init {
	int tty_in, tty_out, pty;
	int slave;		/* our own fd on the shell's pty (O_NOCTTY) */
	pid_t shell;
	int status;
	bool shell_done;
	struct ring ring;
	struct queue out, in;
	char ctl[INIT_CTL_BIG];
	size_t ctl_len;		/* > 0 while inside ESC _ ... */
	struct tkmsg omsg;	/* a tk; message in the shell's output */
	bool at_prompt;		/* readline waits for a line, no Enter since */
	double prompt_at;	/* when a prompt hook ran, readline not yet */
	struct initrun run;
	struct initdone done[INIT_RUNS];
	size_t ndone;
};

static volatile sig_atomic_t init_sig;

static void
init_on_signal(int sig)
{
	if (sig != SIGCHLD)
		init_sig = sig;
}

static double
init_mono(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- output ring and queues ------------------------------------------ */

static void
ring_add(struct ring *r, const char *s, size_t n)
{
	while (n > 0) {
		size_t k = INIT_RING - r->head < n ? INIT_RING - r->head : n;

		memcpy(r->buf + r->head, s, k);
		r->head = (r->head + k) % INIT_RING;
		r->full = r->full || r->head == 0;
		s += k;
		n -= k;
	}
}

static bool
queue_put(struct queue *q, const char *s, size_t n)
{
	if (q->off > 0 && q->off + q->len + n > q->cap) {
		memmove(q->buf, q->buf + q->off, q->len);
		q->off = 0;
	}
	if (q->off + q->len + n > q->cap)
		return false;
	memcpy(q->buf + q->off + q->len, s, n);
	q->len += n;
	return true;
}

/* Write what fd takes now; false on a hard error. */
static bool
queue_flush(struct queue *q, int fd)
{
	while (q->len > 0) {
		ssize_t n = write(fd, q->buf + q->off, q->len);

		if (n < 0)
			return errno == EAGAIN || errno == EINTR;
		q->off += (size_t)n;
		q->len -= (size_t)n;
	}
	q->off = 0;
	return true;
}

/* Where a replay of the ring may start: after the first newline in its
 * first 4 KiB, else at the first byte that starts a UTF-8 character. */
static size_t
init_replay_start(const char *s, size_t n)
{
	size_t lim = n < 4096 ? n : 4096;

	for (size_t i = 0; i < lim; i++)
		if (s[i] == '\n')
			return i + 1;
	for (size_t i = 0; i < lim; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			return i;
	return 0;
}

/* Replace what is queued for the TTY (it is in the ring too) with a
 * terminal reset and the ring, oldest byte first. */
static void
init_replay(struct init *it)
{
	static const char init_screen[] = "\033_tk;screen\033\\";
	static char flat[INIT_RING];
	struct ring *r = &it->ring;
	size_t n = r->full ? INIT_RING : r->head, start;

	if (r->full) {
		memcpy(flat, r->buf + r->head, INIT_RING - r->head);
		memcpy(flat + INIT_RING - r->head, r->buf, r->head);
	} else
		memcpy(flat, r->buf, n);
	start = r->full ? init_replay_start(flat, n) : 0;
	it->out.off = it->out.len = 0;
	(void)queue_put(&it->out, "\033c", 2);
	(void)queue_put(&it->out, flat + start, n - start);
	/* The relay sends init commands only after this: before the init
	 * made the TTY raw, Docker's pty would echo them to the screen. */
	(void)queue_put(&it->out, init_screen, sizeof(init_screen) - 1);
}

/* A decimal number and the character after it; -1 if there is none. */
static long
init_number(const char *s, const char **end)
{
	char *e = NULL;
	long v;

	errno = 0;
	v = strtol(s, &e, 10);
	*end = e;
	return e == s || errno != 0 ? -1 : v;
}

/* ---- control messages --------------------------------------------------- */

static void
init_winsize(struct init *it, long rows, long cols)
{
	struct winsize ws;

	if (rows < 1 || rows > 500 || cols < 1 || cols > 1000)
		return;
	memset(&ws, 0, sizeof(ws));
	ws.ws_row = (unsigned short)rows;
	ws.ws_col = (unsigned short)cols;
	(void)ioctl(it->pty, TIOCSWINSZ, &ws);
}

static void init_run_start(struct init *, const char *);

/* "tk;hello;R;C", "tk;size;R;C" or "tk;init;..."; anything else is
 * ignored. */
static void
init_control(struct init *it, const char *msg)
{
	const char *p, *e;
	long rows, cols;
	bool hello = strncmp(msg, "tk;hello;", 9) == 0;

	if (strncmp(msg, "tk;init;", 8) == 0) {
		init_run_start(it, msg + 8);
		return;
	}
	if (!hello && strncmp(msg, "tk;size;", 8) != 0)
		return;
	p = msg + (hello ? 9 : 8);
	rows = init_number(p, &e);
	if (*e != ';')
		return;
	cols = init_number(e + 1, &e);
	if (*e != '\0')
		return;
	init_winsize(it, rows, cols);
	if (hello)
		init_replay(it);
}

/* Send sig to every process group of the shell's session: this runsc
 * gives neither the foreground group (tcgetpgrp fails on the master) nor
 * the shell's own group to the command it runs. */
static void
init_signal_session(pid_t sid, int sig)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	pid_t done[64];
	size_t ndone = 0;

	(void)kill(-sid, sig);
	while (d != NULL && (e = readdir(d)) != NULL && ndone < 64) {
		char path[64], buf[512], *rp;
		const char *cp;
		long pgrp, sess;
		ssize_t n;
		int fd;
		bool seen = false;

		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		(void)snprintf(path, sizeof(path), "/proc/%.20s/stat", e->d_name);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		(void)close(fd);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		/* "pid (comm) state ppid pgrp session ..." */
		if ((rp = strrchr(buf, ')')) == NULL || strlen(rp) < 4)
			continue;
		(void)init_number(rp + 4, &cp);	/* ppid */
		pgrp = init_number(cp, &cp);
		sess = init_number(cp, &cp);
		if (sess != (long)sid || pgrp <= 1 || pgrp == (long)sid)
			continue;
		for (size_t i = 0; i < ndone; i++)
			seen = seen || done[i] == (pid_t)pgrp;
		if (seen)
			continue;
		done[ndone++] = (pid_t)pgrp;
		(void)kill(-(pid_t)pgrp, sig);
	}
	if (d != NULL)
		(void)closedir(d);
}

/*
 * ^C and ^\ (the pty's VINTR and VQUIT while ISIG is on).  This runsc's
 * own pty neither turns them into signals nor flushes input on them, and
 * a canonical line that filled its buffer (a flood without a newline)
 * holds every later byte for ever (it has no TCFLSH either).  So the init
 * is the line discipline here: it drops its own queue, reads away what
 * waits in the pty (through its own slave fd, briefly non-canonical),
 * echoes ^C as a tty would, and signals the process groups of the
 * shell's session.  The shell runs without job control (set +m in
 * /etc/bash.bashrc), so background commands ignore SIGINT as they then
 * do; with `set -m` a ^C would reach them too.  True when c was handled.
 */
static bool
init_signal_char(struct init *it, char c)
{
	struct termios t, raw;
	char sink[4096], echo[2] = { '^', (char)(c + 0x40) };
	int sig;

	/* Only control characters are looked at: a syscall per byte of a
	 * paste costs too much under gVisor. */
	if ((unsigned char)c >= 0x20 || c == '\0' ||
	    tcgetattr(it->slave, &t) != 0 || !(t.c_lflag & ISIG))
		return false;
	if (c == (char)t.c_cc[VINTR])
		sig = SIGINT;
	else if (c == (char)t.c_cc[VQUIT])
		sig = SIGQUIT;
	else
		return false;
	it->in.off = it->in.len = 0;
	raw = t;
	raw.c_lflag &= ~(tcflag_t)ICANON;
	raw.c_cc[VMIN] = 0;
	raw.c_cc[VTIME] = 0;
	if (tcsetattr(it->slave, TCSANOW, &raw) == 0) {
		for (int i = 0; i < 64 && read(it->slave, sink, sizeof(sink)) > 0;
		    i++)
			;
		(void)tcsetattr(it->slave, TCSANOW, &t);
	}
	if ((t.c_lflag & ECHO) && (t.c_lflag & ECHOCTL)) {
		ring_add(&it->ring, echo, sizeof(echo));
		(void)queue_put(&it->out, echo, sizeof(echo));
	}
	init_signal_session(it->shell, sig);
	return true;
}

/* Pass input to the shell, taking out control messages.  A message is
 * ESC _ tk; ... ESC \ (at most INIT_CTL bytes), recognised across reads;
 * bytes that turn out not to start one are passed on as they were. */
static void
init_input(struct init *it, const char *s, size_t n)
{
	static const char intro[] = "\033_tk;";
	const size_t ilen = sizeof(intro) - 1;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (it->ctl_len < ilen) {
			if (c == intro[it->ctl_len]) {
				it->ctl[it->ctl_len++] = c;
				continue;
			}
			/* Not a control message: what was held is input. */
			if (it->ctl_len > 0)
				(void)queue_put(&it->in, it->ctl, it->ctl_len);
			it->ctl_len = 0;
			if (c == intro[0]) {
				it->ctl[it->ctl_len++] = c;
				continue;
			}
			if (c == '\r' || c == '\n')
				it->at_prompt = false;	/* a command runs */
			if (!init_signal_char(it, c))
				(void)queue_put(&it->in, &c, 1);
			continue;
		}
		it->ctl[it->ctl_len++] = c;
		if (c == '\\' && it->ctl[it->ctl_len - 2] == '\033') {
			it->ctl[it->ctl_len - 2] = '\0';
			init_control(it, it->ctl + 2);
			it->ctl_len = 0;
		} else if (it->ctl_len >= (strncmp(it->ctl, "\033_tk;init;",
		    it->ctl_len < 10 ? it->ctl_len : 10) == 0 ? INIT_CTL_BIG :
		    INIT_CTL) - 1) {
			(void)queue_put(&it->in, it->ctl, it->ctl_len);
			it->ctl_len = 0;
		}
	}
	/* A lone ESC or ESC _ (the Escape key, Alt-_) must not wait for the
	 * next key: only a longer prefix is held across reads. */
	if (it->ctl_len > 0 && it->ctl_len <= 2) {
		(void)queue_put(&it->in, it->ctl, it->ctl_len);
		it->ctl_len = 0;
	}
}

/* ---- init commands ------------------------------------------------------ */

static unsigned long long
init_hash(const char *s, long silent)
{
	unsigned long long h = 1469598103934665603ULL ^ (unsigned long long)silent;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

/* Tell the relay how a run ended, in the output stream but not in the
 * ring (a replay never repeats it).  why holds no control character. */
static void
init_report(struct init *it, bool ok, const char *why)
{
	char msg[INIT_WHY + 32];
	int n;

	if (ok)
		n = snprintf(msg, sizeof(msg), "\033_tk;initdone;1\033\\");
	else
		n = snprintf(msg, sizeof(msg), "\033_tk;initdone;0;%s\033\\",
		    why);
	if (n > 0 && (size_t)n < sizeof(msg))
		(void)queue_put(&it->out, msg, (size_t)n);
}

static void
init_run_end(struct init *it, bool ok, const char *why)
{
	struct initrun *r = &it->run;
	struct initdone *d = &it->done[it->ndone++ % INIT_RUNS];

	d->hash = r->hash;
	d->ok = ok;
	(void)snprintf(d->why, sizeof(d->why), "%s", ok ? "" : why);
	for (char *c = d->why; *c != '\0'; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	r->active = false;
	init_report(it, ok, d->why);
	if (r->silent) {
		/* The prompt the run began at is still on the screen: the
		 * one after the run is drawn over it. */
		ring_add(&it->ring, "\r\033[K", 4);
		(void)queue_put(&it->out, "\r\033[K", 4);
	}
	r->silent = false;
}

/* "SILENT;MS;CMDS" of a tk;init message. */
static void
init_run_start(struct init *it, const char *p)
{
	struct initrun *r = &it->run;
	const char *e;
	long silent, ms;
	unsigned long long h;

	silent = init_number(p, &e);
	if (*e != ';' || (silent != 0 && silent != 1))
		return;
	ms = init_number(e + 1, &e);
	if (*e != ';' || ms < 1 || ms > 3600000)
		return;
	h = init_hash(e + 1, silent);
	for (size_t i = 0; i < it->ndone && i < INIT_RUNS; i++)
		if (it->done[i].hash == h) {
			init_report(it, it->done[i].ok, it->done[i].why);
			return;
		}
	if (r->active) {
		if (r->hash != h)
			init_report(it, false, "another init is running");
		return;
	}
	(void)snprintf(r->cmds, sizeof(r->cmds), "%s", e + 1);
	r->hash = h;
	r->silent = silent == 1;
	r->sent = false;
	r->index = 0;
	r->count = r->cmds[0] != '\0';
	for (const char *c = r->cmds; *c != '\0'; c++)
		r->count += *c == '\x1f';
	r->next = r->count > 0 ? r->cmds : NULL;
	r->deadline = init_mono() + (double)ms / 1000.0;
	r->active = true;
	if (r->count == 0)
		init_run_end(it, true, NULL);
}

/* The shell drew a prompt: the command typed before it ended with status. */
static void
init_prompt(struct init *it, long status)
{
	struct initrun *r = &it->run;
	char why[INIT_WHY];

	it->prompt_at = init_mono();
	if (!r->active || !r->sent)
		return;
	r->sent = false;
	if (status != 0) {
		(void)snprintf(why, sizeof(why), "init command %d of %d "
		    "exited with status %ld", r->index, r->count, status);
		init_run_end(it, false, why);
	} else if (r->next == NULL)
		init_run_end(it, true, NULL);
}

/* Type the next command when the shell is at a prompt with nothing
 * queued; end the run at its deadline (^C to what runs). */
static void
init_run_step(struct init *it, double now)
{
	struct initrun *r = &it->run;
	char why[INIT_WHY], *sep;
	size_t len;

	if (!r->active)
		return;
	if (now >= r->deadline) {
		init_signal_session(it->shell, SIGINT);
		(void)snprintf(why, sizeof(why), "init timed out (command %d "
		    "of %d was running)", r->index, r->count);
		init_run_end(it, false, why);
		return;
	}
	if (it->prompt_at > 0 && now - it->prompt_at > INIT_PROMPT_WAIT) {
		it->at_prompt = true;	/* readline without bracketed paste */
		it->prompt_at = 0;
	}
	if (r->sent || !it->at_prompt || it->in.len > 0 || r->next == NULL)
		return;
	sep = strchr(r->next, '\x1f');
	len = sep != NULL ? (size_t)(sep - r->next) : strlen(r->next);
	(void)queue_put(&it->in, r->next, len);
	(void)queue_put(&it->in, "\n", 1);
	r->next = sep != NULL ? sep + 1 : NULL;
	r->index++;
	r->sent = true;
	it->at_prompt = false;
}

/* ---- shell output --------------------------------------------------------- */

/* Output on its way to the TTY and the ring; nowhere in a silent run. */
static void
init_emit(struct init *it, const char *s, size_t n)
{
	if (n == 0 || (it->run.active && it->run.silent))
		return;
	ring_add(&it->ring, s, n);
	(void)queue_put(&it->out, s, n);
}

static void
init_output_msg(struct init *it, const char *msg)
{
	const char *e;
	long status;

	if (strncmp(msg, "tk;ps;", 6) != 0)
		return;
	status = init_number(msg + 6, &e);
	if (*e == '\0' && status >= 0)
		init_prompt(it, status);
}

static void
init_out_data(const char *s, size_t n, void *arg)
{
	init_emit(arg, s, n);
}

static void
init_out_msg(const char *msg, void *arg)
{
	init_output_msg(arg, msg);
}

/* Pass output on, taking out every ESC _ tk; ... ESC \ (lib/tkmsg). */
static void
init_output(struct init *it, const char *s, size_t n)
{
	tkmsg_feed(&it->omsg, s, n, init_out_data, init_out_msg, it);
	/* After a prompt hook, readline's "bracketed paste on" says it reads
	 * a line now (typed before that, a command is echoed twice). */
	if (it->prompt_at > 0 && memmem(s, n, "\033[?2004h", 8) != NULL) {
		it->at_prompt = true;
		it->prompt_at = 0;
	}
}

/* ---- set-up -------------------------------------------------------------- */

static int
init_pty(char *name, size_t cap)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	const char *p;

	if (m == -1 || grantpt(m) == -1 || unlockpt(m) == -1 ||
	    (p = ptsname(m)) == NULL || strlen(p) >= cap) {
		perror("toolkata-init: pty");
		exit(70);
	}
	(void)snprintf(name, cap, "%s", p);
	return m;
}

/*
 * Under runsc a process that eats the container's memory gets the whole
 * sandbox OOM-killed.  TOOLKATA_PROC_MEMORY_MB (set below the container's
 * limit by the API) caps each process's address space, so one memory bomb
 * gets ENOMEM and dies alone; several at once can still fill the sandbox.
 */
static void
init_limit_memory(void)
{
	const char *v = getenv("TOOLKATA_PROC_MEMORY_MB");
	const char *e;
	long mb;
	struct rlimit rl;

	if (v == NULL || (mb = init_number(v, &e)) < 16 || *e != '\0' ||
	    mb > 65536)
		return;
	rl.rlim_cur = rl.rlim_max = (rlim_t)mb * 1024 * 1024;
	(void)setrlimit(RLIMIT_AS, &rl);
}

static pid_t
init_spawn(const char *slave)
{
	pid_t pid = fork();
	int fd;

	if (pid != 0)
		return pid;
	(void)setsid();
	if ((fd = open(slave, O_RDWR)) == -1) {
		perror("toolkata-init: open pty");
		_exit(70);
	}
	(void)ioctl(fd, TIOCSCTTY, 0);
	(void)dup2(fd, 0);
	(void)dup2(fd, 1);
	(void)dup2(fd, 2);
	if (fd > 2)
		(void)close(fd);
	(void)signal(SIGHUP, SIG_DFL);
	(void)signal(SIGTERM, SIG_DFL);
	(void)signal(SIGINT, SIG_DFL);
	(void)signal(SIGCHLD, SIG_DFL);
	(void)signal(SIGPIPE, SIG_DFL);
	init_limit_memory();
	if (chdir("/home/toolkata") == -1 && chdir("/") == -1)
		_exit(70);
	execl("/bin/bash", "-bash", (char *)NULL);
	perror("toolkata-init: exec bash");
	_exit(127);
}

static long
init_lifetime(void)
{
	const char *v = getenv("TOOLKATA_LIFETIME");
	char *end = NULL;
	long n;

	if (v == NULL || *v == '\0')
		return 1800;
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno != 0 || *end != '\0' || n < 1 || n > INIT_LIFE_MAX) {
		(void)fprintf(stderr, "toolkata-init: TOOLKATA_LIFETIME must be "
		    "1..%d seconds\n", INIT_LIFE_MAX);
		exit(64);
	}
	return n;
}

/* The image's welcome text (/etc/toolkata/banner, at most 2 KiB) comes
 * first on the screen, and in the replay while the ring still holds it. */
static void
init_banner(struct init *it)
{
	char buf[2048];
	int fd = open("/etc/toolkata/banner", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd != -1 ? read(fd, buf, sizeof(buf)) : -1;

	if (n > 0) {
		ring_add(&it->ring, buf, (size_t)n);
		(void)queue_put(&it->out, buf, (size_t)n);
	}
	if (fd != -1)
		(void)close(fd);
}

static void
init_setup(struct init *it)
{
	static char outbuf[INIT_OUT], inbuf[INIT_IN];
	struct sigaction sa;
	struct termios t;
	struct winsize ws;
	char slave[64];
	int sigs[] = { SIGHUP, SIGINT, SIGTERM, SIGCHLD, SIGUSR1 };

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = init_on_signal;
	(void)sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		(void)sigaction(sigs[i], &sa, NULL);
	(void)signal(SIGPIPE, SIG_IGN);
	it->out.buf = outbuf;
	it->out.cap = sizeof(outbuf);
	it->in.buf = inbuf;
	it->in.cap = sizeof(inbuf);
	it->tty_in = 0;
	it->tty_out = 1;
	if (tcgetattr(0, &t) == 0) {
		cfmakeraw(&t);
		(void)tcsetattr(0, TCSANOW, &t);
	}
	it->pty = init_pty(slave, sizeof(slave));
	if (ioctl(0, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0)
		(void)ioctl(it->pty, TIOCSWINSZ, &ws);
	else
		init_winsize(it, 24, 80);
	init_banner(it);
	it->shell = init_spawn(slave);
	if (it->shell == -1) {
		perror("toolkata-init: fork");
		exit(71);
	}
	it->slave = open(slave, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	(void)fcntl(it->pty, F_SETFL, O_NONBLOCK);
	(void)fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
	(void)fcntl(1, F_SETFL, fcntl(1, F_GETFL) | O_NONBLOCK);
}

/* ---- the loop ------------------------------------------------------------ */

static void
init_reap(struct init *it)
{
	pid_t pid;
	int st;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
		if (pid == it->shell) {
			it->status = WIFEXITED(st) ? WEXITSTATUS(st) :
			    128 + WTERMSIG(st);
			it->shell_done = true;
		}
}

/* Read the shell's output into the ring and the TTY queue; false at EOF. */
static bool
init_from_shell(struct init *it)
{
	char buf[4096];
	ssize_t n = read(it->pty, buf, sizeof(buf));

	if (n < 0)
		return errno == EAGAIN || errno == EINTR;
	if (n == 0)
		return false;
	init_output(it, buf, (size_t)n);
	return true;
}

/* Input is always read, so that a ^C behind a flood is never stuck in
 * Docker's buffers; what finds the queue full is dropped (the relay does
 * the same with its own queue), but ^C and friends flush the queue and
 * always get in (init_input()). */
static void
init_from_tty(struct init *it)
{
	char buf[4096];
	ssize_t n = read(it->tty_in, buf, sizeof(buf));

	if (n > 0)
		init_input(it, buf, (size_t)n);
	else if (n == 0)
		it->tty_in = -1;	/* no TTY (a test's /dev/null): stop */
}

static void
init_loop(struct init *it, double deadline)
{
	bool shell_open = true;
	double drain_end = 0;

	for (;;) {
		struct pollfd p[3];
		double now = init_mono();
		int timeout, ready;

		init_reap(it);
		if (init_sig != 0 || now >= deadline)
			return;
		if (it->shell_done && drain_end == 0)
			drain_end = now + INIT_DRAIN_MS / 1000.0;
		if (drain_end > 0 && (now >= drain_end ||
		    (!shell_open && it->out.len == 0)))
			return;
		p[0].fd = it->tty_in;
		p[0].events = POLLIN;
		p[1].fd = shell_open ? it->pty : -1;
		p[1].events = (it->out.len + 4096 <= it->out.cap ? POLLIN : 0) |
		    (it->in.len > 0 ? POLLOUT : 0);
		p[2].fd = it->tty_out;
		p[2].events = it->out.len > 0 ? POLLOUT : 0;
		timeout = drain_end > 0 || tkmsg_holding(&it->omsg) ? 20 :
		    it->run.active ? 50 : 1000;
		ready = poll(p, 3, timeout);
		if (ready < 0 && errno != EINTR)
			return;
		if (ready == 0)
			tkmsg_flush(&it->omsg, init_out_data, it);
		if (p[0].revents & POLLIN)
			init_from_tty(it);
		if ((p[1].revents & (POLLIN | POLLHUP | POLLERR)) &&
		    !init_from_shell(it))
			shell_open = false;
		if (shell_open && it->in.len > 0 && !queue_flush(&it->in,
		    it->pty))
			shell_open = false;
		init_run_step(it, init_mono());
		if (it->out.len > 0)
			(void)queue_flush(&it->out, it->tty_out);
	}
}

int
main(int argc, char **argv)
{
	static struct init it;
	double deadline;

	if (argc > 1) {
		execvp(argv[1], argv + 1);
		perror("toolkata-init: exec");
		return 127;
	}
	deadline = init_mono() + (double)init_lifetime();
	init_setup(&it);
	init_loop(&it, deadline);
	if (!it.shell_done) {
		static const char bye[] = "\r\n\033[1m[toolkata] The session's "
		    "time is over.\033[0m\r\n";

		(void)kill(-it.shell, SIGHUP);
		if (write(it.tty_out, bye, sizeof(bye) - 1) < 0)
			it.status = 0;	/* nobody to tell */
	}
	/* As PID 1, kill(-1) reaches every other process in the sandbox;
	 * anywhere else (a test on a host) only the shell's group. */
	if (getpid() == 1)
		(void)kill(-1, SIGKILL);
	else
		(void)kill(-it.shell, SIGKILL);
	init_reap(&it);
	return it.shell_done ? it.status : (init_sig == SIGTERM ? 143 : 0);
}

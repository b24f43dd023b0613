/*
 * check.c: toolkata-check, the runner of a step check inside a sandbox.
 *
 *   toolkata-check TIMEOUT_MS OUTPUT_MAX COMMAND
 *
 * toolkata-api starts it with a Docker exec (uid 1000, no TTY) next to the
 * learner's shell, never in it.  It runs `/bin/bash -c COMMAND`, stdin
 * /dev/null, and
 *   - contains every process the command starts: in a user + PID namespace
 *     of its own (uid 1000 mapped to itself) whose init is a small reaper
 *     here, so that when the command exits or times out the init exits and
 *     the kernel kills whatever is left in the namespace (`cmd &`, `setsid
 *     cmd &`, a double fork).  This runsc refuses PR_SET_CHILD_SUBREAPER
 *     (EINVAL) but has PID namespaces.  Where unshare() is refused (runc's
 *     seccomp profile) it is a child subreaper instead and SIGKILLs every
 *     process below it until it has no child left; with neither it refuses
 *     to run the command (exit 125);
 *   - keeps at most OUTPUT_MAX + 1 bytes of each of stdout and stderr (the
 *     extra byte tells the API the output was cut) and drains the rest, so
 *     the command never blocks on a full pipe; it writes them out at the
 *     end, stdout then stderr, in large writes (few multiplexed frames);
 *   - exits with the command's status (128 + signal when killed by one);
 *     at the timeout it exits 124 and ends stderr with CHECK_TIMEOUT_MARK,
 *     which the API removes and reports as timedOut.
 * Test it in a container, never on the host (the fallback kills what it
 * finds below itself).
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
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHECK_TIMEOUT_MAX 600000	/* ms */
#define CHECK_OUTPUT_MAX 1048576L
#define CHECK_TIMEOUT_MARK "\n[toolkata-check: timed out]\n"
#define CHECK_EXIT_TIMEOUT 124
#define CHECK_EXIT_USAGE 125
#define CHECK_PROCS 4096	/* processes read per /proc scan */
#define CHECK_KILL_ROUNDS 500	/* × 2 ms: a fork bomb is cut off by nproc */

struct stream {
	int fd;			/* read end, -1 at EOF */
	char *buf;
	size_t len, cap;	/* cap = OUTPUT_MAX + 1 */
};

static int check_sigpipe[2] = { -1, -1 };
static char check_outbuf[CHECK_OUTPUT_MAX + 1];
static char check_errbuf[CHECK_OUTPUT_MAX + 1];

static void
check_on_sigchld(int sig)
{
	/* errno is thread-local and restored: the main loop reads it right
	 * after a failed poll() or read(). */
	int e = errno; /* NOLINT(bugprone-signal-handler) */
	ssize_t n;

	(void)sig;
	n = write(check_sigpipe[1], "", 1);
	(void)n;
	errno = e; /* NOLINT(bugprone-signal-handler) */
}

static double
check_now(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long
check_number(const char *s, long min, long max)
{
	char *end = NULL;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return -1;
	return v;
}

static void
check_write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;	/* the API left: nothing more to say */
		buf += n;
		len -= (size_t)n;
	}
}

/* Same cap as the learner's shell (docker/init): one memory bomb gets
 * ENOMEM instead of the whole runsc sandbox being OOM-killed. */
static void
check_limit_memory(void)
{
	const char *v = getenv("TOOLKATA_PROC_MEMORY_MB");
	long mb = v != NULL ? check_number(v, 16, 65536) : -1;
	struct rlimit rl;

	if (mb < 0)
		return;
	rl.rlim_cur = rl.rlim_max = (rlim_t)mb * 1024 * 1024;
	(void)setrlimit(RLIMIT_AS, &rl);
}

/* In the child: stdin /dev/null, the pipes on 1 and 2, bash. */
static void
check_exec(const char *command, int out[2], int err[2])
{
	int null = open("/dev/null", O_RDONLY);

	(void)signal(SIGPIPE, SIG_DFL);
	(void)signal(SIGCHLD, SIG_DFL);
	if (null == -1 || dup2(null, 0) == -1 || dup2(out[1], 1) == -1 ||
	    dup2(err[1], 2) == -1)
		_exit(CHECK_EXIT_USAGE);
	execl("/bin/bash", "bash", "-c", command, (char *)NULL);
	_exit(127);
}

/* PID 1 of the check's namespace: run bash, reap every orphan, exit with
 * bash's status.  Its exit kills the rest of the namespace. */
static void
check_ns_init(const char *command, int out[2], int err[2])
{
	pid_t bash, w;
	int st = 0;

	(void)signal(SIGCHLD, SIG_DFL);
	if ((bash = fork()) == -1)
		_exit(CHECK_EXIT_USAGE);
	if (bash == 0)
		check_exec(command, out, err);
	(void)close(out[1]);
	(void)close(err[1]);
	while ((w = wait(&st)) != bash)
		if (w == -1 && errno != EINTR)
			_exit(CHECK_EXIT_USAGE);
	_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
}

static bool
check_write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n = fd == -1 ? -1 : write(fd, text, strlen(text));

	if (fd != -1)
		(void)close(fd);
	return n == (ssize_t)strlen(text);
}

/* A user namespace (our uid and gid mapped to themselves) and a PID
 * namespace for the next child.  false when the runtime refuses. */
static bool
check_unshare(uid_t uid, gid_t gid)
{
	char map[64];

	/* Inside the new namespace getuid() is the overflow uid until the
	 * map is written: the ids come from before. */
	if (unshare(CLONE_NEWUSER | CLONE_NEWPID) != 0)
		return false;
	(void)snprintf(map, sizeof(map), "%ld %ld 1\n", (long)uid, (long)uid);
	if (!check_write_file("/proc/self/uid_map", map))
		return false;
	(void)check_write_file("/proc/self/setgroups", "deny");
	(void)snprintf(map, sizeof(map), "%ld %ld 1\n", (long)gid, (long)gid);
	return check_write_file("/proc/self/gid_map", map);
}

/* Start the command contained (see the top); -1 when it cannot be. */
static pid_t
check_spawn(const char *command, int out[2], int err[2], bool *ns)
{
	uid_t uid = getuid();
	gid_t gid = getgid();
	pid_t pid;

	*ns = check_unshare(uid, gid);
	if (!*ns && (getuid() != uid || getgid() != gid ||
	    prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)) {
		(void)fputs("toolkata-check: cannot contain the command "
		    "(neither PID namespaces nor a subreaper)\n", stderr);
		return -1;
	}
	if ((pid = fork()) != 0)
		return pid;
	(void)setsid();
	if (*ns)
		check_ns_init(command, out, err);
	check_exec(command, out, err);
	return -1;
}

/* Read what is there; keep up to cap bytes, drop the rest. */
static void
check_read(struct stream *s)
{
	char drop[4096];
	ssize_t n;

	if (s->len < s->cap)
		n = read(s->fd, s->buf + s->len, s->cap - s->len);
	else
		n = read(s->fd, drop, sizeof(drop));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		(void)close(s->fd);
		s->fd = -1;
		return;
	}
	if (s->len < s->cap)
		s->len += (size_t)n;
}

/* The pid of every process whose ancestry reaches us (not ourselves). */
static size_t
check_descendants(pid_t self, pid_t *out, size_t max)
{
	static pid_t pid[CHECK_PROCS], ppid[CHECK_PROCS];
	DIR *d = opendir("/proc");
	struct dirent *e;
	size_t n = 0, nout = 0;
	bool grew = true;

	while (d != NULL && (e = readdir(d)) != NULL && n < CHECK_PROCS) {
		char path[64], buf[512], *rp;
		ssize_t len;
		int fd;

		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		(void)snprintf(path, sizeof(path), "/proc/%.20s/stat", e->d_name);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
			continue;
		len = read(fd, buf, sizeof(buf) - 1);
		(void)close(fd);
		if (len <= 0)
			continue;
		buf[len] = '\0';
		/* "pid (comm) state ppid ...": comm may hold ')' and spaces. */
		if ((rp = strrchr(buf, ')')) == NULL || strlen(rp) < 5)
			continue;
		pid[n] = (pid_t)strtol(buf, NULL, 10);
		ppid[n] = (pid_t)strtol(rp + 4, NULL, 10);
		n++;
	}
	if (d != NULL)
		(void)closedir(d);
	/* A fixpoint over the parent links: children of found ones. */
	while (grew && nout < max) {
		grew = false;
		for (size_t i = 0; i < n && nout < max; i++) {
			bool below = ppid[i] == self, known = false;

			for (size_t k = 0; k < nout && !below; k++)
				below = ppid[i] == out[k];
			for (size_t k = 0; k < nout && !known; k++)
				known = pid[i] == out[k];
			if (below && !known && pid[i] != self) {
				out[nout++] = pid[i];
				grew = true;
			}
		}
	}
	return nout;
}

/*
 * SIGKILL everything below us and reap until no child is left.  A killed
 * process's children re-parent to us (the subreaper), so the loop ends only
 * when waitpid() says there are no children at all.  Returns the number of
 * processes killed after the command itself.
 */
static unsigned
check_kill_all(pid_t self, pid_t cmd, int *status, bool *cmd_done)
{
	static pid_t found[CHECK_PROCS];
	unsigned killed = 0;

	for (int round = 0; round < CHECK_KILL_ROUNDS; round++) {
		size_t n = check_descendants(self, found, CHECK_PROCS);
		pid_t w;
		int st;

		for (size_t i = 0; i < n; i++)
			if (kill(found[i], SIGKILL) == 0 && found[i] != cmd)
				killed++;
		while ((w = waitpid(-1, &st, WNOHANG)) > 0)
			if (w == cmd) {
				*status = st;
				*cmd_done = true;
			}
		if (w == -1 && errno == ECHILD)
			return killed;
		(void)usleep(2000);
	}
	return killed;
}

/* Poll both pipes and the SIGCHLD pipe until the command exits or the
 * deadline passes.  true when it exited in time. */
static bool
check_wait(pid_t cmd, struct stream s[2], double deadline, int *status)
{
	for (;;) {
		struct pollfd p[3] = { { s[0].fd, POLLIN, 0 },
			{ s[1].fd, POLLIN, 0 }, { check_sigpipe[0], POLLIN, 0 } };
		double left = deadline - check_now();
		char drain[64];

		if (waitpid(cmd, status, WNOHANG) == cmd)
			return true;
		if (left <= 0)
			return false;
		if (poll(p, 3, (int)(left * 1000) + 1) < 0 && errno != EINTR)
			return false;
		for (int i = 0; i < 2; i++)
			if (s[i].fd != -1 && p[i].revents != 0)
				check_read(&s[i]);
		if (p[2].revents != 0 &&
		    read(check_sigpipe[0], drain, sizeof(drain)) < 0)
			continue;	/* EAGAIN: nothing to drain */
	}
}

/* After the kill nothing holds the pipes' write ends: read to EOF. */
static void
check_drain(struct stream s[2])
{
	double until = check_now() + 1.0;

	while ((s[0].fd != -1 || s[1].fd != -1) && check_now() < until) {
		struct pollfd p[2] = { { s[0].fd, POLLIN, 0 },
			{ s[1].fd, POLLIN, 0 } };

		if (poll(p, 2, 100) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < 2; i++)
			if (s[i].fd != -1 && p[i].revents != 0)
				check_read(&s[i]);
	}
}

static int
check_exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 1;
}

int
main(int argc, char **argv)
{
	struct stream s[2];
	int out[2] = { -1, -1 }, err[2] = { -1, -1 }, status = 0;
	long timeout_ms, cap;
	pid_t self = getpid(), cmd;
	bool in_time, cmd_done, ns = false;
	double deadline;

	if (argc != 4 || (timeout_ms = check_number(argv[1], 1,
	    CHECK_TIMEOUT_MAX)) < 0 || (cap = check_number(argv[2], 0,
	    CHECK_OUTPUT_MAX)) < 0 || argv[3][0] == '\0') {
		(void)fputs("usage: toolkata-check TIMEOUT_MS OUTPUT_MAX "
		    "COMMAND\n", stderr);
		return CHECK_EXIT_USAGE;
	}
	deadline = check_now() + (double)timeout_ms / 1000;
	(void)signal(SIGPIPE, SIG_IGN);
	if (pipe2(check_sigpipe, O_CLOEXEC | O_NONBLOCK) != 0 ||
	    pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
		perror("toolkata-check: setup");
		return CHECK_EXIT_USAGE;
	}
	(void)signal(SIGCHLD, check_on_sigchld);
	check_limit_memory();
	for (int i = 0; i < 2; i++) {
		s[i].fd = i == 0 ? out[0] : err[0];
		s[i].buf = i == 0 ? check_outbuf : check_errbuf;
		s[i].cap = (size_t)cap + 1;
		s[i].len = 0;
	}
	if ((cmd = check_spawn(argv[3], out, err, &ns)) == -1)
		return CHECK_EXIT_USAGE;
	(void)close(out[1]);
	(void)close(err[1]);
	in_time = check_wait(cmd, s, deadline, &status);
	cmd_done = in_time;
	/* The namespace's init dying kills the namespace; without one, every
	 * descendant is found and killed. */
	if (!in_time)
		(void)kill(cmd, SIGKILL);
	if (!ns || !in_time)
		(void)check_kill_all(self, cmd, &status, &cmd_done);
	check_drain(s);
	check_write_all(1, s[0].buf, s[0].len);
	check_write_all(2, s[1].buf, s[1].len);
	if (!in_time) {
		check_write_all(2, CHECK_TIMEOUT_MARK,
		    sizeof(CHECK_TIMEOUT_MARK) - 1);
		return CHECK_EXIT_TIMEOUT;
	}
	return cmd_done ? check_exit_code(status) : 1;
}

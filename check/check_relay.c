/*
 * check_relay.c: the terminal through the whole real chain: Caddy ->
 * forward_auth (toolkata-api over FastCGI) -> websocketd -> toolkata-relay
 * -> attach to the session's one shell (docker/init) in a runsc container
 * from toolkata-sandbox:latest.  Pre-upgrade answers, the wire protocol,
 * resize, paste, caps, floods, UTF-8, reconnecting to the same shell with
 * its screen, takeover, process counts over many reconnects, the shell's
 * and the container's death, the session's deadline, and a killed relay's
 * quota slot.
 */
#include "compat.h"

#include <sqlite3.h>

#include "clock.h"
#include "log.h"
#include "stack.h"
#include "util.h"
#include "ws.h"

#define KEY "test-key-123"
#define ORIGIN "http://allowed.test"

static struct stack st;
static const char *const key_hdrs[] = { "X-API-Key: " KEY, NULL };

#include "term.h"

static void
relay_env(struct stack *s)
{
	stack_env_roomy(s, KEY, ORIGIN);
	stack_setenv(s, "MAX_WEBSOCKETS_PER_IP", "3");
}

static void
relay_setup(void)
{
	stack_init(&st, "relay");
	relay_env(&st);
	stack_up(&st);
}

static void
deadline_setup(void)
{
	stack_init(&st, "deadline");
	relay_env(&st);
	stack_setenv(&st, "SANDBOX_IDLE_TIMEOUT", "10");
	stack_setenv(&st, "SANDBOX_REAP_INTERVAL", "3600");
	stack_up(&st);
}

static void
teardown(void)
{
	stack_down(&st);
}

/* The relay processes registered for a session (pids from the store). */
static size_t
relay_pids(const char *id, long *pids, size_t max)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	size_t n = 0;

	ck_assert_int_eq(sqlite3_open(st.state, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT pid FROM websockets "
	    "WHERE session_id=?1 ORDER BY id", -1, &q, NULL), SQLITE_OK);
	(void)sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
	while (n < max && sqlite3_step(q) == SQLITE_ROW)
		pids[n++] = (long)sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	sqlite3_close(db);
	return n;
}

static long
rss_kib(long pid)
{
	char path[64], line[256];
	long v = -1;
	FILE *fp;

	(void)snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (strncmp(line, "VmRSS:", 6) == 0)
			v = strtol(line + 6, NULL, 10);
	(void)fclose(fp);
	return v;
}

/* ---- before the upgrade ------------------------------------------------ */

START_TEST(test_preupgrade_answers)
{
	char id[ID_SIZE], q[96];
	struct term t[4], d;
	const char *src = "127.0.0.101";

	stack_create_session(&st, src, key_hdrs, id);
	ck_assert_int_eq(term_open_at(&t[0], st.port, id, src, ORIGIN,
	    "api_key=wrong"), 401);
	term_free(&t[0]);
	ck_assert_int_eq(term_open_at(&t[0], st.port, id, src, ORIGIN, NULL),
	    401);
	term_free(&t[0]);
	(void)snprintf(q, sizeof(q), "api_key=%s", KEY);
	ck_assert_int_eq(term_open_at(&t[0], st.port, id, src,
	    "http://evil.test", q), 403);
	term_free(&t[0]);
	ck_assert_int_eq(term_open_at(&t[0], st.port, id, src, NULL, q), 403);
	term_free(&t[0]);
	ck_assert_int_eq(term_open_at(&t[0], st.port,
	    "sess_00000000000000000000000000000000", src, ORIGIN, q), 404);
	term_free(&t[0]);

	/* Three terminals per IP (to three sessions: a second terminal to
	 * one session takes the first over); the fourth is refused before
	 * the upgrade. */
	for (int i = 0; i < 3; i++) {
		char other[ID_SIZE];

		stack_create_session(&st, src, key_hdrs, other);
		term_ready(&t[i], other, src, NULL);
	}
	ck_assert_int_eq(term_open_at(&t[3], st.port, id, src, ORIGIN, q), 429);
	term_free(&t[3]);
	ck_assert(file_contains(st.audit, "\"event\":\"rate_limit.websocket\""));
	for (int i = 0; i < 3; i++)
		term_free(&t[i]);

	/* Straight to websocketd, skipping Caddy: without Caddy's secret
	 * the relay refuses; with it, it still checks the key again. */
	ck_assert_int_eq(term_open_at(&d, st.ws_port, id, src, ORIGIN,
	    "api_key=forged"), 101);
	ck_assert(term_wait_ctl(&d, "Forbidden", 5000));
	ck_assert(term_wait_closed(&d, 5000));
	term_free(&d);
	{
		char sec[80];
		const char *h[] = { sec, "Xclientip: 127.0.0.101", NULL };
		char path[160];

		(void)snprintf(sec, sizeof(sec), "Xwssecret: %s", st.ws_secret);
		(void)snprintf(path, sizeof(path), "/api/v1/sessions/%s/ws?"
		    "api_key=forged", id);
		memset(&d, 0, sizeof(d));
		ck_assert(ws_open(&d.ws, st.ws_port, path, src, ORIGIN, h));
		ck_assert_int_eq(d.ws.status, 101);
	}
	ck_assert(term_wait_ctl(&d, "Invalid API key", 5000));
	ck_assert(term_wait_closed(&d, 5000));
	ck_assert_int_eq(d.frames, 0);
	term_free(&d);
}
END_TEST

/* ---- the terminal -------------------------------------------------------- */

START_TEST(test_connect_run_resize)
{
	char id[ID_SIZE], q[128];
	struct term t;
	json_t *j;

	stack_create_session(&st, "127.0.0.102", key_hdrs, id);
	(void)snprintf(q, sizeof(q), "api_key=%s&cols=100&rows=30", KEY);
	ck_assert_int_eq(term_open_at(&t, st.port, id, "127.0.0.102", ORIGIN,
	    q), 101);
	/* The very first message is "connected", alone in its frame. */
	ck_assert(term_read(&t, 15000));
	ck_assert_int_eq(t.nctl, 1);
	ck_assert_int_eq(t.frames, 0);
	j = json_loads(t.ctl[0], 0, NULL);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(jstr(j, "type"), "connected");
	ck_assert_str_eq(jstr(j, "sessionId"), id);
	json_decref(j);
	/* Then the screen: the image's banner and the prompt. */
	ck_assert(term_wait(&t, 0, "sandbox!", 5000));
	ck_assert(term_wait(&t, 0, "$\x1b[0m ", 15000));

	term_run(&t, "echo hello; git --version", "git version 2.");
	ck_assert_ptr_nonnull(strstr(t.out, "hello\r\n"));
	term_run(&t, "stty size", "30 100");
	term_send(&t, "{\"type\":\"resize\",\"rows\":40,\"cols\":132}");
	term_run(&t, "stty size", "40 132");
	/* Out-of-range sizes are clamped. */
	term_send(&t, "{\"type\":\"resize\",\"rows\":1,\"cols\":99999}");
	term_run(&t, "stty size", "5 500");
	/* {"type":"input"} is keystrokes too. */
	term_send(&t, "{\"type\":\"input\",\"data\":\"echo via-input-$((6*7))\\r\"}");
	ck_assert(term_wait(&t, 0, "via-input-42", 10000));
	term_run(&t, "id -un; pwd", "/home/toolkata");
	ck_assert_ptr_nonnull(strstr(t.out, "sandbox"));
	/* The dotfiles are in the tmpfs home: git has an identity. */
	term_run(&t, "git config user.email", "sandbox@toolkata.com\r\n");
	term_free(&t);
	ck_assert(file_contains(st.audit, "\"event\":\"websocket.connected\""));
}
END_TEST

START_TEST(test_paste_and_filter)
{
	char id[ID_SIZE];
	struct term t;
	size_t from;

	stack_create_session(&st, "127.0.0.103", key_hdrs, id);
	term_ready(&t, id, "127.0.0.103", NULL);
	/* A paste as xterm.js wraps it, then Enter. */
	term_send(&t, "\x1b[200~echo pasted-$((40+2))\x1b[201~");
	term_send(&t, "\r");
	ck_assert(term_wait(&t, 0, "pasted-42", 10000));
	/* Arrow keys and an Alt-chord pass silently. */
	term_send(&t, "\x1b[A");
	term_send(&t, "\x1b" "b");
	term_send(&t, "\x05\x15");	/* ^E ^U: clear the line again */
	/* OSC 52 (clipboard write) is refused with an error frame, audited,
	 * and the terminal stays usable. */
	term_send(&t, "\x1b]52;c;ZWNobyBoaQ==\x07");
	ck_assert(term_wait_ctl(&t, "Malicious escape sequences", 5000));
	ck_assert(file_contains(st.audit, "\"event\":\"input.invalid\""));
	ck_assert(file_contains(st.audit, "\"reason\":\"MaliciousEscapeSequence\""));
	term_send(&t, "\x1b[200~unbalanced");
	ck_assert(term_wait_ctl(&t, "bracketed paste", 5000));
	from = t.len;
	term_run(&t, "echo still-$((1+1))", "still-2");
	ck_assert(from < t.len);
	term_free(&t);
}
END_TEST

START_TEST(test_line_cap)
{
	char id[ID_SIZE], line[1100];
	struct term t;

	stack_create_session(&st, "127.0.0.104", key_hdrs, id);
	term_ready(&t, id, "127.0.0.104", NULL);
	/* Exactly 1024 bytes is allowed: a comment the shell ignores. */
	memset(line, 'x', 1024);
	line[0] = '#';
	line[1024] = '\0';
	term_send(&t, line);
	term_send(&t, "\x15");
	term_run(&t, "echo fits-$((2*2))", "fits-4");
	/* 1025 is refused and the relay leaves. */
	memset(line, 'y', 1025);
	line[1025] = '\0';
	term_send(&t, line);
	ck_assert(term_wait_ctl(&t, "exceeds maximum 1024 bytes", 5000));
	ck_assert(term_wait_closed(&t, 5000));
	term_free(&t);
}
END_TEST

START_TEST(test_floods_stay_bounded)
{
	char id[ID_SIZE], chunk[1001];
	long pids[4], before, after;
	struct term t;
	size_t from;

	stack_create_session(&st, "127.0.0.105", key_hdrs, id);
	term_ready(&t, id, "127.0.0.105", NULL);
	ck_assert_int_eq(relay_pids(id, pids, 4), 1);
	before = rss_kib(pids[0]);
	ck_assert_int_gt(before, 0);

	/* 1 MiB of input into a shell that reads it slowly (cat to null
	 * under a 0.5 CPU quota): no deadlock, memory stays put. */
	term_run(&t, "stty -echo; echo reading-$((2+3)); cat > /dev/null; "
	    "stty echo", "reading-5");
	memset(chunk, 'z', 1000);
	chunk[1000] = '\0';
	for (int i = 0; i < 1048; i++) {
		term_send(&t, chunk);
		if (i % 64 == 0)
			(void)term_read(&t, 0);
	}
	/* ^C gets through the full input buffer (it flushes what the shell
	 * has not read, as a tty does); wait for the prompt like a person. */
	from = t.len;
	term_send(&t, "\x03");
	ck_assert_msg(term_wait(&t, from, "$\x1b[0m ", 20000), "no prompt "
	    "after ^C: %.200s", t.len - from > 200 ? t.out + t.len - 200 :
	    t.out + from);
	term_run(&t, "echo alive-$((3*3))", "alive-9");

	/* 4 MB of output with a reader that stalls for 3 s first. */
	from = t.len;
	term_send(&t, "head -c 3000000 /dev/zero | base64 -w 0; echo; "
	    "echo end-$((5*5))\n");
	(void)sleep(3);
	after = rss_kib(pids[0]);
	ck_assert_msg(after - before < 8192, "relay grew %ld KiB while the "
	    "reader stalled", after - before);
	ck_assert(term_wait(&t, from, "end-25", 60000));
	after = rss_kib(pids[0]);
	ck_assert_msg(after - before < 8192, "relay grew from %ld to %ld KiB",
	    before, after);
	term_free(&t);
}
END_TEST

START_TEST(test_utf8_frames)
{
	char id[ID_SIZE];
	struct term t;
	size_t from;
	char *p;
	size_t count = 0;

	stack_create_session(&st, "127.0.0.106", key_hdrs, id);
	term_ready(&t, id, "127.0.0.106", NULL);
	from = t.len;
	/* 3000 x (2+3+4 bytes): far more than one read, so frames split. */
	term_send(&t, "s=$(printf 'é€😀%.0s' $(seq 1 3000)); printf '<%s>\\n' \"$s\"\n");
	ck_assert(term_wait(&t, from, "😀>", 30000));
	ck_assert_msg(!t.bad_utf8_frame, "a frame ended inside a character");
	p = strstr(t.out + from, "<é");
	ck_assert_ptr_nonnull(p);
	for (p = p + 1; strncmp(p, "é€😀", 9) == 0; p += 9)
		count++;
	ck_assert_int_eq(count, 3000);
	ck_assert_int_gt(t.frames, 2);
	term_free(&t);
}
END_TEST

/* Host tasks (threads) in the container's pids cgroup: under runsc,
 * gVisor's own threads, which the PIDs limit counts. */
static long
sandbox_tasks(const char *cid)
{
	static const char *const pre[] = { "/sys/fs/cgroup/pids/docker/",
		"/sys/fs/cgroup/system.slice/docker-", "/sys/fs/cgroup/docker/" };
	static const char *const post[] = { "/pids.current",
		".scope/pids.current", "/pids.current" };
	char path[256];
	long n = -1;

	for (size_t i = 0; i < nitems(pre) && n < 0; i++) {
		FILE *fp;

		(void)snprintf(path, sizeof(path), "%s%s%s", pre[i], cid,
		    post[i]);
		if ((fp = fopen(path, "r")) == NULL)
			continue;
		if (fscanf(fp, "%ld", &n) != 1)
			n = -1;
		(void)fclose(fp);
	}
	return n;
}

/* Processes in the sandbox, as the shell's own ps sees them. */
static int
sandbox_procs(struct term *t)
{
	size_t from = t->len;
	const char *p;

	term_run(t, "echo procs=$(ps -e --no-headers | wc -l) $((40+2))",
	    " 42\r\n");
	p = strstr(t->out + from, "procs=");
	while (p != NULL && (p[6] < '0' || p[6] > '9'))
		p = strstr(p + 6, "procs=");
	ck_assert_ptr_nonnull(p);
	return (int)strtol(p + 6, NULL, 10);
}

/* A reload finds the same shell: cwd, variables, the earlier output. */
START_TEST(test_reconnect_same_shell)
{
	char id[ID_SIZE];
	struct term a, b;
	size_t from;

	stack_create_session(&st, "127.0.0.107", key_hdrs, id);
	term_ready(&a, id, "127.0.0.107", NULL);
	term_run(&a, "cd /tmp; X=1; echo mark-$((6*7))", "mark-42");
	/* A half-typed line, then the client goes. */
	term_send(&a, "echo half");
	term_free(&a);
	term_ready(&b, id, "127.0.0.107", NULL);
	/* The screen comes back: the earlier command and its output. */
	ck_assert_msg(term_wait(&b, 0, "mark-42", 5000), "no replay: %.300s",
	    b.out);
	from = b.len;
	term_send(&b, "\x05\x15");	/* clear the half-typed line */
	term_run(&b, "pwd; echo X=$X", "X=1\r\n");
	ck_assert_ptr_nonnull(strstr(b.out + from, "/tmp\r\n"));
	term_free(&b);
}
END_TEST

/* A running program survives the client leaving and coming back. */
START_TEST(test_program_survives_reconnect)
{
	char id[ID_SIZE];
	struct term a, b;

	stack_create_session(&st, "127.0.0.110", key_hdrs, id);
	term_ready(&a, id, "127.0.0.110", NULL);
	term_send(&a, "for i in $(seq 1 60); do echo tick-$i; sleep 0.2; "
	    "done\n");
	ck_assert(term_wait(&a, 0, "tick-3\r\n", 10000));
	term_free(&a);
	(void)usleep(1500 * 1000);
	term_ready(&b, id, "127.0.0.110", NULL);
	/* Ticks made while nobody was attached are in the replay, and the
	 * loop goes on. */
	ck_assert_msg(term_wait(&b, 0, "tick-8\r\n", 5000), "replay: %.300s",
	    b.out);
	ck_assert(term_wait(&b, 0, "tick-25\r\n", 15000));
	term_free(&b);
}
END_TEST

/* A second terminal to a session takes it over; the first is told. */
START_TEST(test_takeover)
{
	char id[ID_SIZE];
	struct term a, b;

	stack_create_session(&st, "127.0.0.111", key_hdrs, id);
	term_ready(&a, id, "127.0.0.111", NULL);
	term_run(&a, "echo first-$((1+2))", "first-3");
	term_ready(&b, id, "127.0.0.111", NULL);
	ck_assert(term_wait_ctl(&a, "Session opened in another window", 5000));
	ck_assert(term_wait_closed(&a, 5000));
	ck_assert(term_wait(&b, 0, "first-3", 5000));
	term_run(&b, "echo second-$((2+2))", "second-4");
	/* One registration left: the taken-over relay unregistered. */
	{
		long pids[4];

		for (int i = 0; i < 30 && relay_pids(id, pids, 4) != 1; i++)
			(void)usleep(100000);
		ck_assert_int_eq(relay_pids(id, pids, 4), 1);
	}
	term_free(&a);
	term_free(&b);
}
END_TEST

/* 30 connects and disconnects (some mid-line, some with the relay
 * SIGKILLed) cost the sandbox nothing: same processes, same threads. */
START_TEST(test_reconnects_flat)
{
	char id[ID_SIZE], cid[65];
	struct term t;
	long pids[4], tasks0, tasks1;
	int procs0, procs1;

	stack_create_session(&st, "127.0.0.112", key_hdrs, id);
	stack_session_container(&st, id, cid);
	term_ready(&t, id, "127.0.0.112", NULL);
	procs0 = sandbox_procs(&t);
	tasks0 = sandbox_tasks(cid);
	ck_assert_int_gt(tasks0, 0);
	for (int i = 0; i < 30; i++) {
		if (i % 3 == 1)
			term_send(&t, "echo half-typed");
		if (i % 5 == 2 && relay_pids(id, pids, 4) == 1) {
			ck_assert_int_eq(kill((pid_t)pids[0], SIGKILL), 0);
			(void)term_wait_closed(&t, 5000);
		}
		term_free(&t);
		term_ready(&t, id, "127.0.0.112", NULL);
		term_send(&t, "\x05\x15");
	}
	/* Threads first: ps itself makes gVisor start a few (its stubs are
	 * pooled), which is not what is measured here. */
	tasks1 = sandbox_tasks(cid);
	procs1 = sandbox_procs(&t);
	ck_assert_msg(procs1 == procs0, "processes %d -> %d", procs0, procs1);
	/* Host threads may move by a few (Go runtimes), never per connect. */
	ck_assert_msg(tasks1 <= tasks0 + 8, "host tasks %ld -> %ld", tasks0,
	    tasks1);
	term_run(&t, "echo still-$((7*6))", "still-42");
	term_free(&t);
}
END_TEST

/* A program's clipboard write, title query and DCS request never reach
 * the browser; colours and text do. */
START_TEST(test_hostile_output_neutralised)
{
	char id[ID_SIZE];
	struct term t;
	size_t from;

	stack_create_session(&st, "127.0.0.116", key_hdrs, id);
	term_ready(&t, id, "127.0.0.116", NULL);
	from = t.len;
	term_run(&t, "printf '\\033]52;c;aGk=\\007\\033P$q\\\"p\\033\\\\"
	    "\\033[21t\\033[31mred\\033[0m\\n'; echo osc-$((1+1))", "osc-2");
	ck_assert_ptr_null(strstr(t.out + from, "\033]52"));
	ck_assert_ptr_null(strstr(t.out + from, "\033P"));
	ck_assert_ptr_null(strstr(t.out + from, "\033[21t"));
	ck_assert_ptr_nonnull(strstr(t.out + from, "\033[31mred\033[0m"));
	term_free(&t);
}
END_TEST

/* No package manager or downloader, and git still works without perl. */
START_TEST(test_no_package_manager)
{
	char id[ID_SIZE];
	struct term t;
	size_t from;

	stack_create_session(&st, "127.0.0.117", key_hdrs, id);
	term_ready(&t, id, "127.0.0.117", NULL);
	from = t.len;
	/* "TOOL:" is printed, never typed (the echo shows T%sL). */
	term_run(&t, "for x in apt apt-get dpkg curl wget perl sudo su; do "
	    "command -v $x >/dev/null && printf 'T%sL:%s\\n' OO $x; done; "
	    "echo scanned-$((3+4))", "scanned-7");
	ck_assert_msg(strstr(t.out + from, "TOOL:") == NULL,
	    "a tool is in the image: %.300s", t.out + from);
	term_run(&t, "cd /tmp && git init -q g && cd g && echo a > f && "
	    "git add f && git commit -qm one && git log --oneline | wc -l",
	    "1\r\n");
	term_free(&t);
}
END_TEST

/* A fork bomb meets RLIMIT_NPROC inside gVisor and a memory bomb its
 * address-space cap (docker/init): the offender fails, the shell and the
 * session live. */
START_TEST(test_bombs_spare_the_shell)
{
	char id[ID_SIZE];
	struct term t;

	stack_create_session(&st, "127.0.0.115", key_hdrs, id);
	term_ready(&t, id, "127.0.0.115", NULL);
	term_run(&t, "tail /dev/zero; echo after-$((1+1))", "after-2");
	ck_assert_ptr_nonnull(strstr(t.out, "memory exhausted"));
	/* 60 sleepers against a limit of 48 (in the background: bash retries
	 * a refused fork for a while), then the shell answers. */
	term_run(&t, "(for i in $(seq 1 60); do sleep 15 & done) 2>/dev/null & "
	    "sleep 3; echo forked-$((2+3))", "forked-5");
	term_run(&t, "echo alive-$((6*7))", "alive-42");
	term_free(&t);
	ck_assert_int_eq(stack_ncontainers(&st) > 0, 1);
}
END_TEST

/* exit in the shell ends the session: the client is told, the container
 * goes, the slots are free. */
START_TEST(test_exit_ends_session)
{
	char id[ID_SIZE], path[96];
	struct term t;
	struct http_resp r;
	long pids[4];

	stack_create_session(&st, "127.0.0.113", key_hdrs, id);
	term_ready(&t, id, "127.0.0.113", NULL);
	term_send(&t, "exit 3\n");
	ck_assert(term_wait_ctl(&t, "the shell exited (status 3)", 10000));
	ck_assert(term_wait_closed(&t, 5000));
	term_free(&t);
	(void)snprintf(path, sizeof(path), "/api/v1/sessions/%s", id);
	stack_http(&st, "GET", path, NULL, key_hdrs, NULL, &r);
	ck_assert_int_eq(r.status, 404);
	http_resp_free(&r);
	ck_assert_int_eq(relay_pids(id, pids, 4), 0);
}
END_TEST

/* docker kill: the attached client gets an error frame within 2 s and
 * the session ends. */
START_TEST(test_container_death_noticed)
{
	char id[ID_SIZE], cid[65], path[160];
	struct term t;
	struct http_resp r;
	double t0;

	stack_create_session(&st, "127.0.0.114", key_hdrs, id);
	stack_session_container(&st, id, cid);
	term_ready(&t, id, "127.0.0.114", NULL);
	(void)snprintf(path, sizeof(path), "/containers/%s/kill", cid);
	t0 = clock_mono();
	ck_assert_int_eq(stack_engine(&st, "POST", path), 204);
	ck_assert_msg(term_wait_ctl(&t, "Session ended", 2000),
	    "no error frame within 2 s");
	ck_assert(term_wait_closed(&t, 3000));
	log_info("death noticed in %.0f ms", (clock_mono() - t0) * 1000);
	term_free(&t);
	(void)snprintf(path, sizeof(path), "/api/v1/sessions/%s", id);
	stack_http(&st, "GET", path, NULL, key_hdrs, NULL, &r);
	ck_assert_int_eq(r.status, 404);
	http_resp_free(&r);
}
END_TEST

START_TEST(test_killed_relay_frees_slot)
{
	char id[ID_SIZE];
	struct term t[4];
	long pids[4];

	char ids[3][ID_SIZE];

	for (int i = 0; i < 3; i++) {
		stack_create_session(&st, "127.0.0.108", key_hdrs, ids[i]);
		term_ready(&t[i], ids[i], "127.0.0.108", NULL);
	}
	ck_assert_int_eq(relay_pids(ids[1], pids, 4), 1);
	ck_assert_int_eq(kill((pid_t)pids[0], SIGKILL), 0);
	(void)term_wait_closed(&t[1], 5000);
	/* The stale registration is found by pid and dropped. */
	stack_create_session(&st, "127.0.0.108", key_hdrs, id);
	term_ready(&t[3], id, "127.0.0.108", NULL);
	term_run(&t[3], "echo fourth-$((2+2))", "fourth-4");
	for (int i = 0; i < 4; i++)
		term_free(&t[i]);
}
END_TEST

START_TEST(test_deadline_closes)
{
	char id[ID_SIZE], code[8];
	struct term t;
	struct http_resp r;
	char path[96];

	stack_create_session(&st, "127.0.0.109", key_hdrs, id);
	term_ready(&t, id, "127.0.0.109", NULL);
	/* Idle timeout 10 s: the relay says so and leaves, and the session
	 * is over (no reaper pass in this stack: the relay ended it). */
	ck_assert(term_wait_ctl(&t, "Session expired", 16000));
	ck_assert(term_wait_closed(&t, 5000));
	term_free(&t);
	(void)snprintf(path, sizeof(path), "/api/v1/sessions/%s", id);
	stack_http(&st, "GET", path, NULL, key_hdrs, NULL, &r);
	ck_assert_int_eq(r.status, 404);
	ck_assert_ptr_nonnull(strstr(r.body, "Expired"));
	http_resp_free(&r);
	ck_assert_int_eq(stack_ncontainers(&st), 0);
	(void)code;
}
END_TEST

static Suite *
relay_suite(void)
{
	Suite *s = suite_create("relay");
	TCase *tc = tcase_create("chain");
	TCase *dl = tcase_create("deadline");

	tcase_add_unchecked_fixture(tc, relay_setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_preupgrade_answers);
	tcase_add_test(tc, test_connect_run_resize);
	tcase_add_test(tc, test_paste_and_filter);
	tcase_add_test(tc, test_line_cap);
	tcase_add_test(tc, test_floods_stay_bounded);
	tcase_add_test(tc, test_utf8_frames);
	tcase_add_test(tc, test_reconnect_same_shell);
	tcase_add_test(tc, test_program_survives_reconnect);
	tcase_add_test(tc, test_takeover);
	tcase_add_test(tc, test_reconnects_flat);
	tcase_add_test(tc, test_hostile_output_neutralised);
	tcase_add_test(tc, test_no_package_manager);
	tcase_add_test(tc, test_bombs_spare_the_shell);
	tcase_add_test(tc, test_exit_ends_session);
	tcase_add_test(tc, test_container_death_noticed);
	tcase_add_test(tc, test_killed_relay_frees_slot);
	suite_add_tcase(s, tc);

	tcase_add_unchecked_fixture(dl, deadline_setup, teardown);
	tcase_set_timeout(dl, 60);
	tcase_add_test(dl, test_deadline_closes);
	suite_add_tcase(s, dl);
	return s;
}

int
main(void)
{
	stack_global_init();
	return util_run(relay_suite());
}

/*
 * main.c: toolkata-relay, started by websocketd (--binary) once per
 * WebSocket.  It trusts nothing Caddy did: websocketd listens on loopback
 * TCP, so it checks the path, Origin, API key and session again, believes
 * the client IP Caddy set (Xclientip) only with Caddy's secret (Xwssecret),
 * and registers the connection under the per-IP WebSocket quota.  Then it
 * says {"type":"connected"} and attaches to the session's one shell: the
 * TTY of the container's PID 1 (docker/init), over a hijacked
 * POST /containers/<id>/attach on the Docker socket.  No process starts in
 * the sandbox.  It asks the init (in-band, an APC string) to size the
 * shell's pty and replay the recent screen, and pumps bytes (output through
 * lib/ofilter) until the
 * client leaves, a newer connection to the same session takes over
 * (SIGUSR1 from that relay), the shell or its container dies (the client
 * is told why, the session ends), or the session's deadline passes.
 * Errors reach the client as {"type":"error","message":...} before exit:
 * websocketd cannot send close codes.
 *
 * Init commands (a session's POST "init", or an {"type":"init"} frame) are
 * run by the init in the shell (docker/init); the relay asks for them and
 * turns the init's answer into {"type":"initComplete","success":...}.
 * initComplete is sent on every connection: with nothing to run (or a run
 * done before), at once after "connected" and before the screen, whose
 * terminal reset wipes it from a client that shows unknown frames as text
 * (B1); after a run, followed by a fresh replay of the screen.
 */
#include "compat.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <jansson.h>

#include "access.h"
#include "audit.h"
#include "cfg.h"
#include "clock.h"
#include "ehttp.h"
#include "engine.h"
#include "filter.h"
#include "frame.h"
#include "id.h"
#include "log.h"
#include "pump.h"
#include "session.h"
#include "store.h"

#define RELAY_TOUCH_MS 5000	/* at most one idle-timer write per 5 s */
#define RELAY_MAX_OTHERS 16	/* connections taken over at once */
#define RELAY_STOP_SIGNAL 1	/* relay_stop: websocketd or a signal */
#define RELAY_STOP_TAKEN 2	/* relay_stop: another connection took over */
#define RELAY_INIT_STORED 1	/* init_wait: the session's own commands */
#define RELAY_INIT_FRAME 2	/* init_wait: an init frame's */
#define RELAY_INIT_GRACE 5000	/* ms past an init's timeout to wait */
#define RELAY_PREFIX "/api/v1/sessions/"
#define RELAY_SUFFIX "/ws"

struct relay {
	struct cfg cfg;
	struct session_ctx sess;
	struct store_session s;
	char id[ID_SIZE];
	char ip[ACCESS_IP_SIZE];
	long long wsid;
	bool registered;
	int dfd;
	int rows, cols;
	int64_t last_input, last_touch;
	struct pump *pump;
	char *init;		/* the session's init commands, not yet run */
	int init_wait;		/* RELAY_INIT_*: a run was asked for */
	int64_t init_deadline;	/* by when the init must have answered */
	bool screen;		/* the init answered the hello (tk;screen) */
	char *init_cmds;	/* a run to ask for once it has */
	bool init_silent;
	long long init_ms;
};

static volatile int relay_stop;

static void
relay_on_signal(int sig)
{
	relay_stop = sig == SIGUSR1 ? RELAY_STOP_TAKEN : RELAY_STOP_SIGNAL;
}

/* A control frame on stdout (j is stolen), as a frame of its own: through
 * the pump once there is one, else written and waited for until
 * websocketd has read it (it makes one frame per read). */
static void
relay_send(struct relay *rl, json_t *j)
{
	char *text = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
	int pending = 1;

	if (text != NULL && rl->pump != NULL)
		(void)pump_frame(rl->pump, text, strlen(text), 1000);
	else if (text != NULL && write(STDOUT_FILENO, text, strlen(text)) > 0)
		for (int i = 0; i < 1000 && pending > 0; i++)
			if (ioctl(STDOUT_FILENO, FIONREAD, &pending) == -1 ||
			    (pending > 0 && usleep(1000) != 0))
				pending = 0;
	free(text);
	json_decref(j);
}

/* {"type":type, key:value} */
static void
relay_frame(struct relay *rl, const char *type, const char *key,
    const char *value)
{
	relay_send(rl, json_pack("{s:s, s:s}", "type", type, key, value));
}

static void
relay_error_frame(struct relay *rl, const char *msg)
{
	relay_frame(rl, "error", "message", msg);
}

static void
relay_cleanup(struct relay *rl)
{
	char msg[96];

	if (rl->dfd != -1)
		(void)close(rl->dfd);	/* the shell stays: it is the session's */
	rl->dfd = -1;
	if (rl->registered) {
		(void)store_ws_unregister(rl->sess.store, rl->wsid,
		    clock_now_ms());
		rl->registered = false;
		(void)snprintf(msg, sizeof(msg), "WebSocket disconnected for "
		    "session: %s", rl->id);
		(void)audit_emit(rl->sess.audit, AUDIT_INFO,
		    "websocket.disconnected", msg, "sessionId", rl->id,
		    "clientIp", rl->ip, AUDIT_END);
	}
	if (rl->last_input > rl->last_touch)
		(void)store_touch(rl->sess.store, rl->id, rl->last_input);
	free(rl->init);
	rl->init = NULL;
	free(rl->init_cmds);
	rl->init_cmds = NULL;
	pump_free(rl->pump);
	rl->pump = NULL;
}

/* Send an error frame, clean up, exit. */
ATTR_NORETURN static void
relay_fail(struct relay *rl, const char *msg)
{
	relay_error_frame(rl, msg);
	relay_cleanup(rl);
	exit(1);
}

/* ---- checks before anything is attached ------------------------------- */

static void
relay_target(struct relay *rl)
{
	const char *pi = getenv("PATH_INFO");
	size_t plen = sizeof(RELAY_PREFIX) - 1, slen = sizeof(RELAY_SUFFIX) - 1;

	if (pi == NULL || strlen(pi) != plen + ID_LEN + slen ||
	    strncmp(pi, RELAY_PREFIX, plen) != 0 ||
	    strcmp(pi + plen + ID_LEN, RELAY_SUFFIX) != 0 ||
	    !id_valid(pi + plen, ID_LEN))
		relay_fail(rl, "Invalid session path");
	memcpy(rl->id, pi + plen, ID_LEN);
	rl->id[ID_LEN] = '\0';
	log_setctx(rl->id);
}

static int
relay_query_int(const char *query, const char *name)
{
	char v[16];
	long long n = 0;

	if (!access_query(query, name, v, sizeof(v)) ||
	    cfg_parse_int(v, 0, 100000, &n) != ERR_OK)
		return 0;
	return (int)n;
}

static void
relay_auth(struct relay *rl)
{
	const char *origin = getenv("HTTP_ORIGIN");
	const char *key = getenv("HTTP_X_API_KEY");
	const char *query = getenv("QUERY_STRING");
	char qkey[512], msg[64];
	const char *why = NULL;
	enum access_key k;

	if (query == NULL)
		query = "";
	/* websocketd's peer is anyone on loopback: the client IP counts only
	 * with Caddy's secret (access.h). */
	if (!access_relay_peer(&rl->cfg, getenv("HTTP_XWSSECRET"),
		getenv("HTTP_XCLIENTIP"), rl->ip, &why)) {
		log_warnx("refused a terminal from %s: %s",
		    getenv("REMOTE_ADDR") != NULL ? getenv("REMOTE_ADDR") : "?",
		    why);
		(void)audit_emit(rl->sess.audit, AUDIT_WARN, "auth.failure",
		    "Authentication failed: NotFromProxy", "sessionId", rl->id,
		    "clientIp", rl->ip, "reason", "NotFromProxy", AUDIT_END);
		relay_fail(rl, "Forbidden");
	}
	if (rl->cfg.norigins > 0 && (origin == NULL || *origin == '\0'))
		relay_fail(rl, "Origin header is required");
	if (!cfg_origin_allowed(&rl->cfg, origin))
		relay_fail(rl, "Origin not allowed");
	if ((key == NULL || *key == '\0') &&
	    access_query(query, "api_key", qkey, sizeof(qkey)))
		key = qkey;
	k = access_key_check(&rl->cfg, key);
	if (k != ACCESS_KEY_OK) {
		(void)snprintf(msg, sizeof(msg), "Authentication failed: %s",
		    access_key_code(k));
		(void)audit_emit(rl->sess.audit, AUDIT_WARN, "auth.failure", msg,
		    "sessionId", rl->id, "clientIp", rl->ip, "reason",
		    access_key_code(k), AUDIT_END);
		relay_fail(rl, k == ACCESS_KEY_MISSING ?
		    "X-API-Key header is required" : "Invalid API key");
	}
	rl->cols = frame_clamp_cols(relay_query_int(query, "cols"));
	rl->rows = frame_clamp_rows(relay_query_int(query, "rows"));
}

static void
relay_register(struct relay *rl)
{
	struct ratelimit lim = { rl->cfg.sessions_per_hour,
		rl->cfg.concurrent_per_ip, rl->cfg.websockets_per_ip };
	char msg[96], limit[24];
	enum err r;

	r = session_lookup(&rl->sess, rl->id, clock_now_ms(), rl->ip, &rl->s);
	if (r == ERR_EXPIRED)
		relay_fail(rl, "Session has expired");
	if (r != ERR_OK || rl->s.state != STORE_RUNNING)
		relay_fail(rl, "Session not found");
	r = store_ws_register(rl->sess.store, &lim, rl->id, rl->ip,
	    (long)getpid(), clock_now_ms(), &rl->wsid);
	if (r == ERR_LIMIT) {
		(void)snprintf(limit, sizeof(limit), "%lld", lim.websockets);
		(void)snprintf(msg, sizeof(msg), "Rate limit exceeded: websocket "
		    "limit (%lld/concurrent)", lim.websockets);
		(void)audit_emit(rl->sess.audit, AUDIT_WARN,
		    "rate_limit.websocket", msg, "clientIp", rl->ip, "limit",
		    limit, "window", "concurrent", AUDIT_END);
		relay_fail(rl, "Too many concurrent connections");
	}
	if (r != ERR_OK)
		relay_fail(rl, "Internal error");
	rl->registered = true;
}

/* One shell, one screen: older connections to this session give way
 * (they tell their client and exit; see relay_end()). */
static void
relay_take_over(struct relay *rl)
{
	long pids[RELAY_MAX_OTHERS];
	size_t n = 0;

	if (store_ws_others(rl->sess.store, rl->id, rl->wsid, pids,
	    nitems(pids), &n) != ERR_OK)
		return;
	for (size_t i = 0; i < n; i++)
		if (pids[i] != (long)getpid() && store_pid_alive(pids[i]))
			(void)kill((pid_t)pids[i], SIGUSR1);
}

/* ---- the session's terminal ------------------------------------------- */

/* Ask the init (docker/init) to size the shell's pty, and with hello to
 * replay the recent screen: ESC _ tk;VERB;ROWS;COLS ESC \ */
static void
relay_control(struct relay *rl, const char *verb)
{
	char msg[48];
	int n = snprintf(msg, sizeof(msg), "\x1b_tk;%s;%d;%d\x1b\\", verb,
	    rl->rows, rl->cols);

	if (n > 0 && (size_t)n < sizeof(msg))
		(void)pump_to_container(rl->pump, msg, (size_t)n);
}

/* ---- init commands ------------------------------------------------------ */

/* {"type":"initComplete","success":ok[,"error":why]} */
static void
relay_init_complete(struct relay *rl, bool ok, const char *why)
{
	if (ok)
		relay_send(rl, json_pack("{s:s, s:b}", "type", "initComplete",
		    "success", 1));
	else
		relay_send(rl, json_pack("{s:s, s:b, s:s}", "type",
		    "initComplete", "success", 0, "error", why));
}

/*
 * Ask the init to run commands (a JSON array session_init_parse() passed):
 * ESC _ tk;init;SILENT;MS;C1 0x1F C2 ... ESC \ (commands hold no control
 * characters, so neither 0x1F nor ESC).  False when it did not fit.
 */
static bool
relay_init_send(struct relay *rl, const char *cmds, bool silent, long long ms)
{
	json_t *a = json_loads(cmds, 0, NULL);
	size_t n = json_array_size(a), len = 0, cap = 64;
	char *msg;
	bool ok;

	for (size_t i = 0; i < n; i++)
		cap += json_string_length(json_array_get(a, i)) + 1;
	msg = xmalloc(cap);
	len = (size_t)snprintf(msg, cap, "\x1b_tk;init;%d;%lld;", silent ? 1 : 0,
	    ms);
	for (size_t i = 0; i < n; i++) {
		size_t k = json_string_length(json_array_get(a, i));

		if (i > 0)
			msg[len++] = '\x1f';
		memcpy(msg + len, json_string_value(json_array_get(a, i)), k);
		len += k;
	}
	msg[len++] = '\x1b';
	msg[len++] = '\\';
	ok = n > 0 && pump_to_container(rl->pump, msg, len);
	free(msg);
	json_decref(a);
	return ok;
}

/* Ask for the run noted in rl, now that the init has its TTY raw. */
static void
relay_init_ask(struct relay *rl)
{
	if (rl->init_cmds == NULL || !rl->screen)
		return;
	if (!relay_init_send(rl, rl->init_cmds, rl->init_silent, rl->init_ms)) {
		rl->init_wait = 0;
		relay_init_complete(rl, false, "init commands could not be sent");
	}
	free(rl->init_cmds);
	rl->init_cmds = NULL;
}

/* Note a run (asked for once the init answered the hello) and wait for
 * the init's answer (relay_on_control()). */
static void
relay_init_start(struct relay *rl, int which, const char *cmds, bool silent,
    long long ms)
{
	free(rl->init_cmds);
	rl->init_cmds = xstrdup(cmds);
	rl->init_silent = silent;
	rl->init_ms = ms;
	rl->init_wait = which;
	rl->init_deadline = clock_now_ms() + ms + RELAY_INIT_GRACE;
	relay_init_ask(rl);
}

/* How long a session's own commands may take: its environment's
 * defaultTimeout, at most SANDBOX_INIT_TIMEOUT. */
static long long
relay_init_ms(const struct relay *rl)
{
	const struct cfg_env *env = cfg_env_for(&rl->cfg, rl->s.environment);
	long long ms = rl->cfg.init_timeout * 1000;

	if (env != NULL && env->default_timeout_ms > 0 &&
	    env->default_timeout_ms < ms)
		ms = env->default_timeout_ms;
	return ms;
}

/* Right after "connected": initComplete now, unless the session's own
 * commands have yet to run (then they are asked for after the hello). */
static void
relay_init_connect(struct relay *rl)
{
	char why[STORE_INIT_WHY];
	bool done = true;

	if (store_init_get(rl->sess.store, rl->id, &rl->init, &done, why,
	    sizeof(why)) != ERR_OK || rl->init == NULL || done) {
		free(rl->init);
		rl->init = NULL;
		relay_init_complete(rl, why[0] == '\0', why);
	}
}

/* The init says how a run ended: tell the client, keep the session's
 * result, and send the screen again (drawn over what came before). */
static void
relay_init_done(struct relay *rl, bool ok, const char *why)
{
	if (rl->init_wait == RELAY_INIT_STORED) {
		(void)store_init_done(rl->sess.store, rl->id, ok ? NULL : why);
		(void)audit_emit(rl->sess.audit, ok ? AUDIT_INFO : AUDIT_WARN,
		    "session.init", ok ? "Init commands completed" :
		    "Init commands failed", "sessionId", rl->id, "clientIp",
		    rl->ip, "error", ok ? "" : why, AUDIT_END);
		free(rl->init);
		rl->init = NULL;
	}
	rl->init_wait = 0;
	relay_init_complete(rl, ok, why);
	relay_control(rl, "hello");
}

static void
relay_on_control(struct pump *p ATTR_UNUSED, const char *msg, void *arg)
{
	struct relay *rl = arg;

	if (strcmp(msg, "tk;screen") == 0) {
		rl->screen = true;
		relay_init_ask(rl);
		return;
	}
	if (strncmp(msg, "tk;initdone;", 12) != 0 || rl->init_wait == 0)
		return;
	if (msg[12] == '1')
		relay_init_done(rl, true, NULL);
	else
		relay_init_done(rl, false, strncmp(msg + 12, "0;", 2) == 0 ?
		    msg + 14 : "init failed");
}

/* {"type":"init","commands":[...],"silent":b,"timeout":ms} from the
 * client: checked like a create's "init", then run. */
static void
relay_init_frame(struct relay *rl, const struct frame_msg *m)
{
	const char *why = "commands must be an array of strings";
	char *cmds = NULL;

	if (rl->init_wait != 0) {
		relay_init_complete(rl, false, "an init is already running");
		return;
	}
	if (m->timeout_ms == 0) {
		relay_init_complete(rl, false, "timeout must be 1 to 300000 ms");
		return;
	}
	if (m->commands != NULL)
		cmds = session_init_parse(m->commands, &why);
	if (cmds != NULL)
		relay_init_start(rl, RELAY_INIT_FRAME, cmds, m->silent,
		    m->timeout_ms);
	else
		relay_init_complete(rl, m->commands != NULL && why == NULL,
		    why);
	free(cmds);
}

static void
relay_attach(struct relay *rl, const struct pump_ops *ops)
{
	char extra[ENGINE_HEAD_MAX], msg[96];
	size_t n = 0;
	enum err r;

	/* The client knows at once that it is through; the screen follows. */
	relay_frame(rl, "connected", "sessionId", rl->id);
	relay_init_connect(rl);
	r = engine_attach(rl->cfg.docker_socket, rl->s.container_id,
	    rl->cfg.engine_timeout * 1000, &rl->dfd, extra, sizeof(extra), &n);
	if (r == ERR_CONFLICT || r == ERR_NOTFOUND) {
		relay_error_frame(rl, "Session ended: its sandbox is not "
		    "running");
		(void)session_end(&rl->sess, rl->id, "container_exited", rl->ip,
		    clock_now_ms());
		relay_cleanup(rl);
		exit(1);
	}
	if (r != ERR_OK) {
		(void)audit_emit(rl->sess.audit, AUDIT_ERROR, "error.internal",
		    "WebSocket connection failed: cannot attach to the shell",
		    "sessionId", rl->id, "clientIp", rl->ip, "error",
		    err_str(r), AUDIT_END);
		relay_fail(rl, "Cannot reach the session's shell");
	}
	rl->pump = pump_new(rl->dfd, (size_t)rl->cfg.max_ws_message, ops, rl);
	pump_preload(rl->pump, extra, n);
	relay_control(rl, "hello");
	if (rl->init != NULL)
		relay_init_start(rl, RELAY_INIT_STORED, rl->init, true,
		    relay_init_ms(rl));
	(void)snprintf(msg, sizeof(msg), "WebSocket connected for session: %s",
	    rl->id);
	(void)audit_emit(rl->sess.audit, AUDIT_INFO, "websocket.connected", msg,
	    "sessionId", rl->id, "clientIp", rl->ip, "#connectionId", rl->wsid,
	    AUDIT_END);
}

/* Input for the shell, through the filter. */
static void
relay_input(struct relay *rl, struct pump *p, const char *data, size_t len)
{
	enum filter_verdict v = filter_check(data, len);
	char msg[96], shown[101];

	if (v == FILTER_OK) {
		/* ^C ^D ^Z ^\ alone must reach the shell even when a flood
		 * has filled the container's input buffer. */
		if (len == 1 && strchr("\x03\x04\x1a\x1c", data[0]) != NULL &&
		    data[0] != '\0')
			pump_interrupt(p, data[0]);
		else
			(void)pump_to_container(p, data, len);
		return;
	}
	memcpy(shown, data, len < 100 ? len : 100);
	shown[len < 100 ? len : 100] = '\0';
	(void)snprintf(msg, sizeof(msg), "Invalid input rejected: %s",
	    filter_cause(v));
	(void)audit_emit(rl->sess.audit, AUDIT_WARN, "input.invalid", msg,
	    "sessionId", rl->id, "clientIp", rl->ip, "reason", filter_cause(v),
	    "input", shown, AUDIT_END);
	relay_error_frame(rl, filter_message(v));
}

static int
relay_line(struct pump *p, const char *line, size_t len, void *arg)
{
	struct relay *rl = arg;
	struct frame_msg m;

	frame_parse(line, len, &m);
	if (m.kind == FRAME_RESIZE) {
		rl->rows = m.rows;
		rl->cols = m.cols;
		relay_control(rl, "size");
	} else if (m.kind == FRAME_INIT)
		relay_init_frame(rl, &m);
	else
		relay_input(rl, p, m.data, m.len);
	frame_msg_release(&m);
	rl->last_input = clock_now_ms();
	if (rl->last_input - rl->last_touch >= RELAY_TOUCH_MS) {
		(void)store_touch(rl->sess.store, rl->id, rl->last_input);
		rl->last_touch = rl->last_input;
	}
	return 0;
}

/* Past the deadline?  Ask the store: another relay may have seen input. */
static int
relay_tick(struct pump *p ATTR_UNUSED, int64_t now, void *arg)
{
	struct relay *rl = arg;
	struct store_session s = rl->s;
	const char *why;

	if (rl->init_wait != 0 && now >= rl->init_deadline)
		relay_init_done(rl, false, "init did not answer in time");
	if (rl->last_input > s.last_active)
		s.last_active = rl->last_input;
	if (now < session_deadline(&rl->cfg, &s))
		return 0;
	if (store_get(rl->sess.store, rl->id, &rl->s) != ERR_OK ||
	    rl->s.state == STORE_ENDED) {
		relay_error_frame(rl, "Session ended");
		return 1;
	}
	if (rl->last_input > rl->s.last_active)
		rl->s.last_active = rl->last_input;
	if ((why = session_expiry(&rl->cfg, &rl->s, now)) == NULL)
		return 0;
	relay_error_frame(rl, "Session expired");
	(void)session_end(&rl->sess, rl->id, why, rl->ip, now);
	return 1;
}

/* The shell's stream ended: tell the client why, end the session (its
 * slots are freed now, not at the next reaper pass).  A container that
 * still runs only dropped this attach (dockerd restarting): the session
 * lives on and the client may reconnect. */
static void
relay_gone(struct relay *rl)
{
	struct engine_state st;
	int64_t now = clock_now_ms();
	const char *reason = "container_exited";
	char msg[128];
	enum err r = engine_state(rl->sess.engine, rl->s.container_id, &st);

	if (r == ERR_OK && st.running) {
		relay_error_frame(rl, "Terminal disconnected; reconnect to "
		    "resume the session");
		return;
	}
	if (r == ERR_NOTFOUND)
		(void)snprintf(msg, sizeof(msg), "Session ended: its sandbox "
		    "was removed");
	else if (r != ERR_OK)
		(void)snprintf(msg, sizeof(msg), "Session ended: its sandbox "
		    "stopped");
	else if (st.oom_killed) {
		reason = "out_of_memory";
		(void)snprintf(msg, sizeof(msg), "Session ended: the sandbox "
		    "ran out of memory (%lld MiB)", rl->cfg.memory_mb);
	} else if (now >= rl->s.expires_at - 2000) {
		reason = "lifetime";
		(void)snprintf(msg, sizeof(msg), "Session expired");
	} else if (st.exit_code == 137) {
		reason = "killed";
		(void)snprintf(msg, sizeof(msg), "Session ended: the sandbox "
		    "was killed");
	} else {
		reason = "shell_exited";
		(void)snprintf(msg, sizeof(msg), "Session ended: the shell "
		    "exited (status %d)", st.exit_code);
	}
	relay_error_frame(rl, msg);
	log_info("%s (%s)", msg, reason);
	(void)session_end(&rl->sess, rl->id, reason, rl->ip, now);
}

/*
 * The stream ended but the container may live on (dockerd restarting with
 * live-restore drops every attach): attach again, for up to
 * RELAY_REATTACH_MS, and ask for the screen again.  False when the
 * container is gone or the engine did not come back.
 */
#define RELAY_REATTACH_MS 20000

static bool
relay_reattach(struct relay *rl, const struct pump_ops *ops)
{
	double end = clock_mono() + RELAY_REATTACH_MS / 1000.0;
	char extra[ENGINE_HEAD_MAX];
	struct engine_state st;
	size_t n = 0;

	if (rl->dfd != -1)
		(void)close(rl->dfd);
	rl->dfd = -1;
	while (clock_mono() < end && !relay_stop) {
		enum err r = engine_state(rl->sess.engine, rl->s.container_id,
		    &st);

		if (r == ERR_OK && !st.running)
			return false;
		if (r == ERR_NOTFOUND)
			return false;
		if (r == ERR_OK && engine_attach(rl->cfg.docker_socket,
		    rl->s.container_id, 2000, &rl->dfd, extra, sizeof(extra),
		    &n) == ERR_OK) {
			pump_free(rl->pump);
			rl->pump = pump_new(rl->dfd, (size_t)rl->cfg.max_ws_message,
			    ops, rl);
			rl->screen = false;
			pump_preload(rl->pump, extra, n);
			relay_control(rl, "hello");
			/* A run asked for is answered again (not rerun). */
			if (rl->init_wait == RELAY_INIT_STORED)
				relay_init_start(rl, RELAY_INIT_STORED, rl->init,
				    true, relay_init_ms(rl));
			log_info("attached again after the stream ended");
			return true;
		}
		(void)usleep(500 * 1000);
	}
	return false;
}

/* Why the pump stopped, told to the client where it matters. */
static void
relay_end(struct relay *rl, enum err r)
{
	char msg[96];

	if (r == ERR_TOOBIG) {
		(void)snprintf(msg, sizeof(msg), "Message size exceeds maximum "
		    "%lld bytes", rl->cfg.max_ws_message);
		relay_error_frame(rl, msg);
	} else if (r == ERR_NOTFOUND)
		relay_gone(rl);
	else if (r == ERR_CONFLICT && relay_stop == RELAY_STOP_TAKEN)
		relay_error_frame(rl, "Session opened in another window");
	if (pump_dropped(rl->pump) > 0)
		log_warnx("dropped %zu bytes of input the shell did not read",
		    pump_dropped(rl->pump));
}

static void
relay_setup(struct relay *rl)
{
	struct sigaction sa;
	char *errstr = NULL;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = relay_on_signal;
	(void)sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)sigaction(SIGINT, &sa, NULL);
	(void)sigaction(SIGHUP, &sa, NULL);
	(void)sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	(void)sigaction(SIGPIPE, &sa, NULL);
	rl->dfd = -1;
	if (cfg_load(&rl->cfg, NULL, NULL, &errstr) != ERR_OK) {
		log_warnx("%s", errstr != NULL ? errstr : "bad configuration");
		relay_fail(rl, "Server misconfigured");
	}
	log_init("toolkata-relay", rl->cfg.verbose);
	/* websocketd logs our stderr with the URL, query (api_key) included. */
	if (rl->cfg.relay_log[0] != '\0') {
		int fd = open(rl->cfg.relay_log, O_WRONLY | O_APPEND | O_CREAT |
		    O_CLOEXEC, 0640);

		if (fd != -1) {
			(void)dup2(fd, STDERR_FILENO);
			(void)close(fd);
		}
	}
	rl->sess.cfg = &rl->cfg;
	if ((rl->sess.audit = audit_open(rl->cfg.audit_log, &errstr)) == NULL ||
	    (rl->sess.store = store_open(rl->cfg.state_file, &errstr)) == NULL) {
		log_warnx("%s", errstr != NULL ? errstr : "?");
		relay_fail(rl, "Internal error");
	}
	rl->sess.engine = ehttp_engine_new(rl->cfg.docker_socket,
	    rl->cfg.engine_timeout * 1000);
}

static void
relay_usage(FILE *fp)
{
	(void)fprintf(fp,
	    "usage: toolkata-relay [--help] [--passenv-list]\n"
	    "\n"
	    "Started by websocketd (--binary) for each terminal WebSocket; reads\n"
	    "the CGI-style environment websocketd sets, stdin and stdout.\n"
	    "  --passenv-list  print the variables websocketd must pass through\n"
	    "                  (websocketd --passenv \"$(toolkata-relay "
	    "--passenv-list)\")\n");
}

int
main(int argc, char **argv)
{
	static struct relay rl;
	static const struct pump_ops ops = { relay_line, relay_tick,
		relay_on_control };
	char names[4096];
	enum err r;

	if (argc > 1) {
		if (strcmp(argv[1], "--passenv-list") == 0) {
			cfg_env_names(names, sizeof(names));
			(void)printf("PATH,%s\n", names);
			return 0;
		}
		relay_usage(strcmp(argv[1], "--help") == 0 ? stdout : stderr);
		return strcmp(argv[1], "--help") == 0 ? 0 : 64;
	}
	relay_setup(&rl);
	relay_target(&rl);
	relay_auth(&rl);
	relay_register(&rl);
	relay_take_over(&rl);
	relay_attach(&rl, &ops);
	while ((r = pump_run(rl.pump, &relay_stop)) == ERR_NOTFOUND &&
	    relay_reattach(&rl, &ops))
		;
	relay_end(&rl, r);
	relay_cleanup(&rl);
	return 0;
}

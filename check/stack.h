/*
 * stack.h: the integration harness.  Starts the real parts (toolkata-api
 * as a FastCGI daemon on its own socket, Caddy with caddy/Caddyfile.local on
 * its own port) in a temporary folder with its own state file and its own
 * SANDBOX_INSTANCE, talks HTTP to them with libcurl and to the Docker
 * engine on its socket, and stops every process by the pid it recorded in
 * a pidfile, on every path (the suite's unchecked teardown runs in the
 * parent even when a test fails).  Header-only; included by one suite.
 */
#ifndef CHECK_STACK_H
#define CHECK_STACK_H

#include "compat.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sqlite3.h>
#include <jansson.h>

#include "id.h"
#include "store.h"
#include "util.h"

#define STACK_ENV_MAX 48
#define STACK_BODY_MAX (256 * 1024)

struct stack {
	char dir[64];
	char sock[128];
	char state[128];
	char audit[128];
	char instance[33];
	char ws_secret[33];	/* SANDBOX_WS_SECRET: Caddy -> relay */
	int port;
	int ws_port;
	char base[64];
	char *env[STACK_ENV_MAX];	/* "K=V" for toolkata-api, owned */
	size_t nenv;
};

struct http_resp {
	long status;
	char *body;		/* STACK_BODY_MAX + 1 bytes */
	size_t len;
	char headers[8192];
	size_t hlen;
};

static inline void
stack_setenv(struct stack *st, const char *k, const char *v)
{
	char *kv;
	size_t kl = strlen(k);

	ck_assert(asprintf(&kv, "%s=%s", k, v) > 0);
	for (size_t i = 0; i < st->nenv; i++)
		if (strncmp(st->env[i], k, kl) == 0 && st->env[i][kl] == '=') {
			free(st->env[i]);
			st->env[i] = kv;
			return;
		}
	ck_assert(st->nenv < STACK_ENV_MAX - 1);
	st->env[st->nenv++] = kv;
	st->env[st->nenv] = NULL;
}

static inline int
stack_free_port(void)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	ck_assert_int_ge(fd, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	port = ntohs(sa.sin_port);
	(void)close(fd);
	return port;
}

/* Prepare a stack: folder, paths, instance, default environment. */
static inline void
stack_init(struct stack *st, const char *name)
{
	char buf[32];

	memset(st, 0, sizeof(*st));
	(void)snprintf(st->dir, sizeof(st->dir), "/tmp/tk-%s.XXXXXX", name);
	ck_assert_ptr_nonnull(mkdtemp(st->dir));
	(void)snprintf(st->sock, sizeof(st->sock), "%s/api.sock", st->dir);
	(void)snprintf(st->state, sizeof(st->state), "%s/state.db", st->dir);
	(void)snprintf(st->audit, sizeof(st->audit), "%s/audit.log", st->dir);
	(void)snprintf(st->instance, sizeof(st->instance), "t-%s-%ld", name,
	    (long)getpid());
	st->port = stack_free_port();
	st->ws_port = stack_free_port();
	(void)snprintf(st->base, sizeof(st->base), "http://127.0.0.1:%d",
	    st->port);
	stack_setenv(st, "PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:"
	    "/usr/bin:/sbin:/bin");
	stack_setenv(st, "SANDBOX_LISTEN", st->sock);
	stack_setenv(st, "SANDBOX_STATE_FILE", st->state);
	stack_setenv(st, "SANDBOX_AUDIT_LOG", st->audit);
	stack_setenv(st, "SANDBOX_INSTANCE", st->instance);
	stack_setenv(st, "SANDBOX_ENGINE_TIMEOUT", "20");
	/* Suites that test the warm pool turn it on; elsewhere it would
	 * only add containers to count. */
	stack_setenv(st, "SANDBOX_POOL_SIZE", "0");
	/* A work tree can test its own image tags (make image IMAGE=...). */
	if (getenv("TOOLKATA_TEST_IMAGES") != NULL)
		stack_setenv(st, "SANDBOX_IMAGES", getenv("TOOLKATA_TEST_IMAGES"));
	{
		unsigned char raw[16];

		ck_assert_int_eq(id_random(raw, sizeof(raw)), ERR_OK);
		for (size_t i = 0; i < sizeof(raw); i++)
			(void)snprintf(st->ws_secret + 2 * i, 3, "%02x", raw[i]);
		stack_setenv(st, "SANDBOX_WS_SECRET", st->ws_secret);
	}
	(void)snprintf(buf, sizeof(buf), "%d", st->port);
	stack_setenv(st, "TOOLKATA_HTTP_PORT", buf);
	stack_setenv(st, "TOOLKATA_API_SOCK", st->sock);
	(void)snprintf(buf, sizeof(buf), "%d", st->ws_port);
	stack_setenv(st, "TOOLKATA_WS_PORT", buf);
	stack_setenv(st, "TOOLKATA_WWW", "caddy/www");
	{
		char log[128];

		(void)snprintf(log, sizeof(log), "%s/relay.log", st->dir);
		stack_setenv(st, "SANDBOX_RELAY_LOG", log);
	}
}

/* The key, the Origin allowlist, and limits no suite of many sessions
 * reaches (200 an hour, 20 at once per IP, circuit breaker at 50
 * containers, never on memory); a suite sets its own after this. */
static inline void
stack_env_roomy(struct stack *st, const char *key, const char *origin)
{
	stack_setenv(st, "SANDBOX_API_KEY", key);
	stack_setenv(st, "SANDBOX_ALLOWED_ORIGINS", origin);
	stack_setenv(st, "MAX_SESSIONS_PER_HOUR", "200");
	stack_setenv(st, "MAX_CONCURRENT_PER_IP", "20");
	stack_setenv(st, "CIRCUIT_MAX_CONTAINERS", "50");
	stack_setenv(st, "CIRCUIT_MAX_MEMORY_PERCENT", "100");
}

static inline void
stack_pidfile(const struct stack *st, const char *name, char *out, size_t sz)
{
	(void)snprintf(out, sz, "%s/%s.pid", st->dir, name);
}

/* Start argv with the stack's environment; stdout/stderr to <name>.log. */
static inline pid_t
stack_spawn(struct stack *st, const char *name, const char *const argv[])
{
	char path[160];
	FILE *fp;
	pid_t pid;
	int fd;

	(void)snprintf(path, sizeof(path), "%s/%s.log", st->dir, name);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* Out of the test's process group: Check kills that group when
		 * a test ends, and a daemon a test restarted must outlive it
		 * until the teardown stops it by its pidfile. */
		(void)setpgid(0, 0);
		fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			(void)dup2(fd, 1);
			(void)dup2(fd, 2);
		}
		fd = open("/dev/null", O_RDONLY);
		if (fd >= 0)
			(void)dup2(fd, 0);
		execve(argv[0], (char *const *)(uintptr_t)argv, st->env);
		_exit(127);
	}
	stack_pidfile(st, name, path, sizeof(path));
	fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	(void)fprintf(fp, "%ld\n", (long)pid);
	(void)fclose(fp);
	return pid;
}

static inline pid_t
stack_pid(const struct stack *st, const char *name)
{
	char path[160];
	long pid = 0;
	FILE *fp;

	stack_pidfile(st, name, path, sizeof(path));
	if ((fp = fopen(path, "r")) == NULL)
		return 0;
	if (fscanf(fp, "%ld", &pid) != 1)
		pid = 0;
	(void)fclose(fp);
	return (pid_t)pid;
}

/* Is pid running?  A zombie (dead, not yet reaped by its parent) is not. */
static inline bool
stack_alive(pid_t pid)
{
	int status;

	/* Reap it if it is ours (or was handed to us as subreaper). */
	if (waitpid(pid, &status, WNOHANG) == pid)
		return false;
	return store_pid_alive((long)pid);
}

/* Signal a recorded process and wait up to ms for it to go. */
static inline bool
stack_signal_wait(const struct stack *st, const char *name, int sig, int ms)
{
	pid_t pid = stack_pid(st, name);

	if (pid <= 0)
		return true;
	(void)kill(pid, sig);
	for (int i = 0; i < ms / 10; i++) {
		if (!stack_alive(pid))
			return true;
		(void)usleep(10000);
	}
	return !stack_alive(pid);
}

/* Stop one recorded process: TERM, then KILL after 5 s. */
static inline void
stack_stop_one(const struct stack *st, const char *name)
{
	char path[160];

	if (!stack_signal_wait(st, name, SIGTERM, 5000))
		(void)stack_signal_wait(st, name, SIGKILL, 2000);
	stack_pidfile(st, name, path, sizeof(path));
	(void)unlink(path);
}

static inline size_t
stack_header_cb(char *d, size_t sz, size_t n, void *arg)
{
	struct http_resp *r = arg;
	size_t len = sz * n;

	if (len < sizeof(r->headers) - 1 - r->hlen) {
		memcpy(r->headers + r->hlen, d, len);
		r->hlen += len;
		r->headers[r->hlen] = '\0';
	}
	return len;
}

static inline size_t
stack_body_cb(char *d, size_t sz, size_t n, void *arg)
{
	struct http_resp *r = arg;
	size_t len = sz * n;

	if (len > STACK_BODY_MAX - r->len)
		return 0;
	memcpy(r->body + r->len, d, len);
	r->len += len;
	r->body[r->len] = '\0';
	return len;
}

static inline void
http_resp_init(struct http_resp *r)
{
	memset(r, 0, sizeof(*r));
	r->body = calloc(1, STACK_BODY_MAX + 1);
	ck_assert_ptr_nonnull(r->body);
}

static inline void
http_resp_free(struct http_resp *r)
{
	free(r->body);
	r->body = NULL;
}

/*
 * One HTTP request.  unix_sock: talk to a unix socket (the Docker engine)
 * instead of TCP.  src: bind the client to this loopback address so that
 * each test is its own "client IP".  hdrs: NULL-terminated header lines.
 * Returns the curl result; the reply is in *r (initialised here).
 */
static inline CURLcode
http_do(const char *method, const char *url, const char *unix_sock,
    const char *src, const char *const *hdrs, const char *body,
    struct http_resp *r)
{
	struct curl_slist *h = NULL;
	CURL *c = curl_easy_init();
	char iface[64];
	CURLcode rc;

	http_resp_init(r);
	ck_assert_ptr_nonnull(c);
	for (size_t i = 0; hdrs != NULL && hdrs[i] != NULL; i++)
		h = curl_slist_append(h, hdrs[i]);
	(void)curl_easy_setopt(c, CURLOPT_URL, url);
	(void)curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	(void)curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	(void)curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, stack_header_cb);
	(void)curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	(void)curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, stack_body_cb);
	(void)curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	if (unix_sock != NULL)
		(void)curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, unix_sock);
	if (src != NULL) {
		(void)snprintf(iface, sizeof(iface), "host!%s", src);
		(void)curl_easy_setopt(c, CURLOPT_INTERFACE, iface);
	}
	if (body != NULL)
		(void)curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	(void)curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	rc = curl_easy_perform(c);
	(void)curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return rc;
}

/* A request to the stack through Caddy; fails the test on transport error. */
static inline void
stack_http(const struct stack *st, const char *method, const char *path,
    const char *src, const char *const *hdrs, const char *body,
    struct http_resp *r)
{
	char url[512];
	CURLcode rc;

	(void)snprintf(url, sizeof(url), "%s%s", st->base, path);
	rc = http_do(method, url, NULL, src, hdrs, body, r);
	ck_assert_msg(rc == CURLE_OK, "%s %s: %s", method, path,
	    curl_easy_strerror(rc));
}

/* A GET on the Docker engine; the parsed JSON reply (caller decrefs). */
static inline json_t *
engine_get(const char *path, long *status)
{
	struct http_resp r;
	char url[512];
	json_t *j;

	(void)snprintf(url, sizeof(url), "http://localhost/v1.41%s", path);
	ck_assert_int_eq(http_do("GET", url, "/var/run/docker.sock", NULL, NULL,
	    NULL, &r), CURLE_OK);
	*status = r.status;
	j = json_loadb(r.body, r.len, 0, NULL);
	http_resp_free(&r);
	return j;
}

/* A bodiless call on the Docker engine (kill, stop, ...): its status. */
static inline long
stack_engine(const struct stack *st ATTR_UNUSED, const char *method,
    const char *path)
{
	struct http_resp r;
	char url[512];
	long status;

	(void)snprintf(url, sizeof(url), "http://localhost/v1.41%s", path);
	ck_assert_int_eq(http_do(method, url, "/var/run/docker.sock", NULL,
	    NULL, NULL, &r), CURLE_OK);
	status = r.status;
	http_resp_free(&r);
	return status;
}

/* Containers of this stack's instance (all states), as a JSON array. */
static inline json_t *
stack_containers(const struct stack *st)
{
	char path[256];
	long status;
	json_t *j;

	(void)snprintf(path, sizeof(path), "/containers/json?all=1&filters="
	    "%%7B%%22label%%22%%3A%%5B%%22toolkata.instance%%3D%s%%22%%5D%%7D",
	    st->instance);
	j = engine_get(path, &status);
	ck_assert_int_eq(status, 200);
	ck_assert(json_is_array(j));
	return j;
}

static inline size_t
stack_ncontainers(const struct stack *st)
{
	json_t *j = stack_containers(st);
	size_t n = json_array_size(j);

	json_decref(j);
	return n;
}

/* Remove every container of this stack's instance (teardown backstop). */
static inline void
stack_remove_containers(const struct stack *st)
{
	json_t *j = stack_containers(st), *it;
	struct http_resp r;
	char url[256];
	size_t i;

	json_array_foreach(j, i, it) {
		(void)snprintf(url, sizeof(url),
		    "http://localhost/v1.41/containers/%s?force=1",
		    json_string_value(json_object_get(it, "Id")));
		(void)http_do("DELETE", url, "/var/run/docker.sock", NULL, NULL,
		    NULL, &r);
		http_resp_free(&r);
	}
	json_decref(j);
}

static inline bool
stack_wait_http(const struct stack *st, const char *path, int ms)
{
	for (int i = 0; i < ms / 50; i++) {
		struct http_resp r;
		char url[256];
		CURLcode rc;

		(void)snprintf(url, sizeof(url), "%s%s", st->base, path);
		rc = http_do("GET", url, NULL, NULL, NULL, NULL, &r);
		http_resp_free(&r);
		if (rc == CURLE_OK && r.status == 200)
			return true;
		(void)usleep(50000);
	}
	return false;
}

static inline void
stack_start_api(struct stack *st)
{
	static const char *const argv[] = { "bin/toolkata-api", NULL };

	(void)stack_spawn(st, "api", argv);
}

static inline void
stack_start_caddy(struct stack *st)
{
	char data[128];
	static const char *const argv[] = { "/usr/bin/caddy", "run",
		"--config", "caddy/Caddyfile.local", "--adapter", "caddyfile",
		NULL };

	(void)snprintf(data, sizeof(data), "%s/caddy", st->dir);
	stack_setenv(st, "XDG_DATA_HOME", data);
	stack_setenv(st, "XDG_CONFIG_HOME", data);
	stack_setenv(st, "HOME", st->dir);
	(void)stack_spawn(st, "caddy", argv);
}

/* websocketd running bin/toolkata-relay on st->ws_port, passing the
 * relay's configuration variables through. */
static inline void
stack_start_websocketd(struct stack *st)
{
	static char passenv[4096];
	char port[32], penv[4200];
	/* The GC settings of deploy/run-local.sh (mechanics.md H3), for
	 * websocketd alone: env(1) execs it, so the pidfile stays right. */
	const char *argv[] = { "/usr/bin/env", "GOGC=10",
		"GOMEMLIMIT=1032MiB", "/usr/bin/websocketd",
		"--address=127.0.0.1", port, "--binary", "--loglevel=error",
		"--maxforks=100", "--closems=200", penv, "bin/toolkata-relay",
		NULL };
	FILE *fp;

	if (passenv[0] == '\0') {
		fp = popen("bin/toolkata-relay --passenv-list", "r");
		ck_assert_ptr_nonnull(fp);
		ck_assert_ptr_nonnull(fgets(passenv, sizeof(passenv), fp));
		passenv[strcspn(passenv, "\n")] = '\0';
		(void)pclose(fp);
	}
	(void)snprintf(port, sizeof(port), "--port=%d", st->ws_port);
	(void)snprintf(penv, sizeof(penv), "--passenv=%s", passenv);
	(void)stack_spawn(st, "websocketd", argv);
}

/* Start toolkata-api, websocketd and Caddy; wait until /health answers. */
static inline void
stack_up(struct stack *st)
{
	stack_start_api(st);
	stack_start_websocketd(st);
	stack_start_caddy(st);
	ck_assert_msg(stack_wait_http(st, "/health", 15000),
	    "stack did not come up; see %s/*.log", st->dir);
}

static inline void
stack_rmdir(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	char *path;

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		struct stat sb;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (asprintf(&path, "%s/%s", dir, de->d_name) < 0)
			continue;
		if (lstat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
			stack_rmdir(path);
		else
			(void)unlink(path);
		free(path);
	}
	(void)closedir(d);
	(void)rmdir(dir);
}

/* Stop everything this stack started, remove its containers and folder.
 * TOOLKATA_KEEP=1 keeps the folder (logs) for a post-mortem. */
static inline void
stack_down(struct stack *st)
{
	const char *keep = getenv("TOOLKATA_KEEP");

	stack_stop_one(st, "caddy");
	stack_stop_one(st, "websocketd");
	stack_stop_one(st, "api");
	stack_remove_containers(st);
	if (keep == NULL || strcmp(keep, "1") != 0)
		stack_rmdir(st->dir);
	for (size_t i = 0; i < st->nenv; i++)
		free(st->env[i]);
	st->nenv = 0;
}

/*
 * Run toolkata-api as CGI with the stack's environment plus extra ("K=V",
 * NULL-terminated), body on stdin; parse "Status:" into r->status and the
 * rest of the head into r->headers.
 */
static inline void
stack_cgi(struct stack *st, const char *const *extra, const char *body,
    struct http_resp *r)
{
	const char *env[STACK_ENV_MAX + 24];
	static const char *const argv[] = { "bin/toolkata-api", NULL };
	int in[2], out[2], status;
	size_t n = 0, bl = body != NULL ? strlen(body) : 0;
	char *hend;
	pid_t pid;
	ssize_t got;

	http_resp_init(r);
	/* extra first: getenv() takes the first match. */
	for (size_t i = 0; extra != NULL && extra[i] != NULL; i++)
		env[n++] = extra[i];
	for (size_t i = 0; i < st->nenv; i++)
		if (strncmp(st->env[i], "SANDBOX_LISTEN=", 15) != 0)
			env[n++] = st->env[i];
	env[n] = NULL;
	ck_assert_int_eq(pipe(in), 0);
	ck_assert_int_eq(pipe(out), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		(void)dup2(in[0], 0);
		(void)dup2(out[1], 1);
		(void)close(in[1]);
		(void)close(out[0]);
		execve(argv[0], (char *const *)(uintptr_t)argv,
		    (char *const *)(uintptr_t)env);
		_exit(127);
	}
	(void)close(in[0]);
	(void)close(out[1]);
	if (bl > 0)
		ck_assert_int_eq(write(in[1], body, bl), (ssize_t)bl);
	(void)close(in[1]);
	while ((got = read(out[0], r->body + r->len, STACK_BODY_MAX - r->len)) > 0)
		r->len += (size_t)got;
	(void)close(out[0]);
	r->body[r->len] = '\0';
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status), "CGI run died");
	ck_assert_int_eq(sscanf(r->body, "Status: %ld", &r->status), 1);
	hend = strstr(r->body, "\r\n\r\n");
	ck_assert_ptr_nonnull(hend);
	n = (size_t)(hend - r->body) + 2;
	if (n >= sizeof(r->headers))
		n = sizeof(r->headers) - 1;
	memcpy(r->headers, r->body, n);
	r->headers[n] = '\0';
	memmove(r->body, hend + 4, r->len - (size_t)(hend + 4 - r->body) + 1);
	r->len = strlen(r->body);
}

/* Parse r's body as JSON (caller decrefs); fails the test if it is not. */
static inline json_t *
resp_json(const struct http_resp *r)
{
	json_error_t e;
	json_t *j = json_loadb(r->body, r->len, 0, &e);

	ck_assert_msg(j != NULL, "not JSON (%s): %.200s", e.text, r->body);
	return j;
}

/* Case-insensitive search of a header line "name: value" in r->headers;
 * copies the value into out.  False when absent. */
static inline bool
resp_header(const struct http_resp *r, const char *name, char *out, size_t sz)
{
	size_t nl = strlen(name);
	const char *p = r->headers;

	while (p != NULL && *p != '\0') {
		if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			const char *v = p + nl + 1;
			size_t vl;

			while (*v == ' ')
				v++;
			vl = strcspn(v, "\r\n");
			if (vl >= sz)
				vl = sz - 1;
			memcpy(out, v, vl);
			out[vl] = '\0';
			return true;
		}
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	return false;
}

/* One integer from the stack's state file (the test's own connection);
 * arg, if not NULL, is bound to ?1.  -1 when there is no row. */
static inline long long
stack_db_int(const struct stack *st, const char *sql, const char *arg)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	long long v = -1;

	ck_assert_int_eq(sqlite3_open(st->state, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
	if (arg != NULL)
		(void)sqlite3_bind_text(q, 1, arg, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW)
		v = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	sqlite3_close(db);
	return v;
}

/* The container of session id, from the stack's state file ("" if
 * none): a claimed pool container keeps its pool name and label. */
static inline void
stack_session_container(const struct stack *st, const char *id, char cid[65])
{
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;

	cid[0] = '\0';
	ck_assert_int_eq(sqlite3_open(st->state, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT container_id FROM "
	    "sessions WHERE id=?1", -1, &q, NULL), SQLITE_OK);
	(void)sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW)
		(void)snprintf(cid, 65, "%s", sqlite3_column_text(q, 0));
	sqlite3_finalize(q);
	sqlite3_close(db);
}

/* Does file contain needle? */
static inline bool
file_contains(const char *path, const char *needle)
{
	static char buf[1 << 20];
	FILE *fp = fopen(path, "r");
	size_t n;

	if (fp == NULL)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	(void)fclose(fp);
	buf[n] = '\0';
	return strstr(buf, needle) != NULL;
}

/* POST body as a create through Caddy from src with header lines hdrs;
 * the status, and on 201 the session id in id (ID_SIZE bytes). */
static inline long
stack_create_body(const struct stack *st, const char *src,
    const char *const *hdrs, const char *body, char *id)
{
	struct http_resp r;
	long status;
	json_t *j;

	stack_http(st, "POST", "/api/v1/sessions", src, hdrs, body, &r);
	status = r.status;
	if (status == 201) {
		j = resp_json(&r);
		(void)snprintf(id, 38, "%s", jstr(j, "sessionId"));
		json_decref(j);
	}
	http_resp_free(&r);
	return status;
}

/* POST a jj-git session through Caddy from src with header lines hdrs;
 * copies its id into id (ID_SIZE bytes) or fails the test. */
static inline void
stack_create_session(const struct stack *st, const char *src,
    const char *const *hdrs, char *id)
{
	long status = stack_create_body(st, src, hdrs,
	    "{\"toolPair\":\"jj-git\"}", id);

	ck_assert_msg(status == 201, "create: %ld", status);
}

/* Become the subreaper so that daemons restarted by a test child are
 * reaped by the runner when that child exits. */
static inline void
stack_global_init(void)
{
	(void)prctl(PR_SET_CHILD_SUBREAPER, 1);
	(void)curl_global_init(CURL_GLOBAL_DEFAULT);
	(void)signal(SIGPIPE, SIG_IGN);
}

#endif /* CHECK_STACK_H */

/*
 * main.c: toolkata-api's entry.  One binary, three ways to run:
 *   - FastCGI daemon: on SANDBOX_LISTEN (a unix socket it creates), on a
 *     systemd socket (LISTEN_FDS), or on fd 0 when that is a listening
 *     socket (spawn-fcgi).  N worker threads share the listening socket,
 *     each with its own SQLite connection and Engine connection; a reaper
 *     thread expires sessions and removes orphans.  SIGTERM stops accepting,
 *     finishes the requests in flight and exits 0.
 *   - CGI: anything else on fd 0.  One request from the environment and
 *     stdin, the answer on stdout, through the same route_dispatch().
 *   - `toolkata-api reap`: one reaper pass from a shell.
 */
#include "compat.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <fcgiapp.h>

#include "api.h"
#include "clock.h"
#include "log.h"

#define API_VERSION "0.1.0"
#define API_BACKLOG 128


static volatile int api_stop;
static int api_listen_fd = -1;

static void
api_usage(FILE *fp)
{
	(void)fprintf(fp,
	    "usage: toolkata-api [--help] [--help-config] [--version] [reap]\n"
	    "\n"
	    "toolkata-api serves the toolkata sandbox REST API.  It runs as a\n"
	    "FastCGI daemon when SANDBOX_LISTEN names a socket, when systemd\n"
	    "passes one, or when fd 0 is a listening socket; otherwise it\n"
	    "answers one CGI request from its environment and stdin, e.g.\n"
	    "  REQUEST_METHOD=GET PATH_INFO=/health toolkata-api\n"
	    "\n"
	    "  reap           run one reaper pass and exit\n"
	    "  --help-config  print every setting (environment variables)\n");
}

static void
api_on_signal(int sig ATTR_UNUSED)
{
	api_stop = 1;
	FCGX_ShutdownPending();
	/* Wakes every thread blocked in accept(). */
	if (api_listen_fd != -1)
		(void)shutdown(api_listen_fd, SHUT_RDWR);
}

/* Create the state file's folder if it is missing (one level). */
static void
api_state_dir(const struct cfg *cfg)
{
	char *dup = xstrdup(cfg->state_file);
	const char *dir = dirname(dup);

	if (mkdir(dir, 0750) == -1 && errno != EEXIST)
		log_warn("cannot create %s", dir);
	free(dup);
}

/*
 * The environments' own images (bash runs the tool pairs').  In production
 * a missing one is fatal; elsewhere it is a warning and the environment is
 * not offered (left out of GET /api/v1/environments, a create asking for
 * it is a 400).  Marks cfg before any worker thread starts.
 */
static void
api_check_environments(struct api *api, struct cfg *cfg)
{
	for (size_t i = 0; i < cfg->nenvs; i++) {
		struct cfg_env *env = &cfg->envs[i];
		bool exists = false;

		if (env->image[0] == '\0' ||
		    (engine_image_exists(api->sess.engine, env->image,
			&exists) == ERR_OK && exists))
			continue;
		if (cfg->production)
			fatalx("SANDBOX_ENVIRONMENTS: image '%s' of environment "
			    "%s is missing", env->image, env->name);
		log_warnx("image '%s' of environment %s is missing: not "
		    "offered", env->image, env->name);
		env->missing = true;
	}
}

/*
 * Checks that need the engine.  In production a missing engine, gVisor
 * runtime or image is fatal; elsewhere it is a warning and sessions fall
 * back to runc.  rw is api->cfg, writable until the threads start (the
 * environments found missing are marked in it).
 */
static void
api_startup_checks(struct api *api, struct cfg *rw)
{
	const struct cfg *cfg = api->cfg;
	bool exists = false;

	if (engine_ping(api->sess.engine) != ERR_OK) {
		if (cfg->production)
			fatalx("SANDBOX_DOCKER_SOCKET: no Docker engine answers "
			    "on %s", cfg->docker_socket);
		log_warnx("no Docker engine answers on %s", cfg->docker_socket);
		return;
	}
	api_refresh_gvisor(api);
	if (cfg->use_gvisor && !api->gvisor_available) {
		if (cfg->production)
			fatalx("SANDBOX_USE_GVISOR: runtime '%s' is not "
			    "registered in the Docker engine",
			    cfg->gvisor_runtime);
		log_warnx("gVisor runtime '%s' missing: falling back to runc",
		    cfg->gvisor_runtime);
	}
	for (size_t i = 0; i < cfg->nimages; i++) {
		if (engine_image_exists(api->sess.engine, cfg->image[i].image,
			&exists) == ERR_OK && exists)
			continue;
		if (cfg->production)
			fatalx("SANDBOX_IMAGES: image '%s' is missing",
			    cfg->image[i].image);
		log_warnx("image '%s' for %s is missing", cfg->image[i].image,
		    cfg->image[i].pair);
	}
	api_check_environments(api, rw);
}

/* ---- CGI --------------------------------------------------------------- */

static long
api_cgi_read(void *ctx ATTR_UNUSED, char *buf, size_t n)
{
	size_t got = fread(buf, 1, n, stdin);

	return got == 0 && ferror(stdin) ? -1 : (long)got;
}

static void
api_cgi_write(void *ctx ATTR_UNUSED, const char *buf, size_t n)
{
	(void)fwrite(buf, 1, n, stdout);
}

static int
api_serve_cgi(struct api *api)
{
	static struct req req;
	struct reply rep;

	req_init(&req, api->cfg, environ, api_cgi_read, NULL);
	reply_init(&rep);
	route_dispatch(api, &req, &rep);
	reply_write(&rep, api_cgi_write, NULL);
	reply_release(&rep);
	return fflush(stdout) == 0 ? 0 : 1;
}

/* ---- FastCGI ----------------------------------------------------------- */

struct worker {
	pthread_t thread;
	struct api api;
	struct req req;
};

static long
api_fcgi_read(void *ctx, char *buf, size_t n)
{
	return FCGX_GetStr(buf, (int)(n > 65536 ? 65536 : n), ctx);
}

static void
api_fcgi_write(void *ctx, const char *buf, size_t n)
{
	(void)FCGX_PutStr(buf, (int)n, ctx);
}

static void *
api_worker(void *arg)
{
	struct worker *w = arg;
	FCGX_Request rq;
	struct reply rep;

	if (FCGX_InitRequest(&rq, api_listen_fd, 0) != 0)
		fatalx("FCGX_InitRequest failed");
	while (!api_stop && FCGX_Accept_r(&rq) >= 0) {
		req_init(&w->req, w->api.cfg, rq.envp, api_fcgi_read, rq.in);
		reply_init(&rep);
		route_dispatch(&w->api, &w->req, &rep);
		reply_write(&rep, api_fcgi_write, rq.out);
		reply_release(&rep);
		FCGX_Finish_r(&rq);
	}
	FCGX_Free(&rq, 1);
	return NULL;
}

/* The listening socket: SANDBOX_LISTEN, systemd's, or fd 0. */
static int
api_listen(const struct cfg *cfg)
{
	const char *fds = getenv("LISTEN_FDS"), *pid = getenv("LISTEN_PID");
	mode_t old;
	int fd;

	if (cfg->listen[0] != '\0') {
		old = umask(0007);	/* srwxrwx---: owner and Caddy's group */
		fd = FCGX_OpenSocket(cfg->listen, API_BACKLOG);
		(void)umask(old);
		if (fd < 0)
			fatal("SANDBOX_LISTEN: cannot listen on %s", cfg->listen);
		(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
		return fd;
	}
	if (fds != NULL && pid != NULL && strcmp(fds, "1") == 0 &&
	    strtol(pid, NULL, 10) == (long)getpid())
		return 3;	/* SD_LISTEN_FDS_START */
	return FCGX_IsCGI() ? -1 : 0;
}

static int
api_serve_fcgi(const struct cfg *cfg, struct audit *audit, struct api *api)
{
	struct worker *w = xcalloc((size_t)cfg->workers, sizeof(*w));
	struct reaper *rp;
	struct pool *pl;

	log_info("reconciling before serving");
	(void)reaper_pass(api);
	rp = reaper_start(cfg, audit, &api_stop);
	pl = pool_start(cfg, audit, api->sess.runtime, &api_stop);
	for (long long i = 0; i < cfg->workers; i++) {
		api_init(&w[i].api, cfg, audit);
		w[i].api.gvisor_available = api->gvisor_available;
		w[i].api.sess.runtime = api->sess.runtime;
		w[i].api.gvisor_checked = api->gvisor_checked;
		if (pthread_create(&w[i].thread, NULL, api_worker, &w[i]) != 0)
			fatalx("cannot start worker %lld", i);
	}
	log_info("serving FastCGI with %lld workers%s%s", cfg->workers,
	    cfg->listen[0] != '\0' ? " on " : "", cfg->listen);
	for (long long i = 0; i < cfg->workers; i++) {
		(void)pthread_join(w[i].thread, NULL);
		api_release(&w[i].api);
	}
	api_stop = 1;
	pool_join(pl);
	reaper_join(rp);
	free(w);
	if (cfg->listen[0] != '\0')
		(void)unlink(cfg->listen);
	log_info("stopped");
	return 0;
}

static void
api_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = api_on_signal;
	(void)sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	(void)sigaction(SIGPIPE, &sa, NULL);
}

int
main(int argc, char **argv)
{
	struct cfg cfg;
	struct audit *audit;
	struct api api;
	char *errstr = NULL;
	bool reap = false;
	int rc;

	api_started = clock_mono();
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			api_usage(stdout);
			return 0;
		} else if (strcmp(argv[i], "--help-config") == 0) {
			cfg_print_table(stdout);
			return 0;
		} else if (strcmp(argv[i], "--version") == 0) {
			(void)printf("toolkata-api %s\n", API_VERSION);
			return 0;
		} else if (strcmp(argv[i], "reap") == 0)
			reap = true;
		else {
			api_usage(stderr);
			return 64;
		}
	}
	if (cfg_load(&cfg, NULL, NULL, &errstr) != ERR_OK)
		fatalx("%s", errstr != NULL ? errstr : "bad configuration");
	log_init("toolkata-api", cfg.verbose);
	/* Before FCGX_Init, so that libfcgi leaves our SIGTERM handler be. */
	api_signals();
	if (FCGX_Init() != 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		fatalx("library initialisation failed");
	if ((audit = audit_open(cfg.audit_log, &errstr)) == NULL)
		fatalx("SANDBOX_AUDIT_LOG: %s", errstr != NULL ? errstr : "?");
	api_state_dir(&cfg);
	api_init(&api, &cfg, audit);
	api_listen_fd = reap ? -1 : api_listen(&cfg);
	if (api_listen_fd >= 0 || reap || cfg.production)
		api_startup_checks(&api, &cfg);
	if (reap)
		rc = reaper_pass(&api) == ERR_OK ? 0 : 1;
	else if (api_listen_fd < 0)
		rc = api_serve_cgi(&api);
	else
		rc = api_serve_fcgi(&cfg, audit, &api);
	api_release(&api);
	audit_close(audit);
	cfg_release(&cfg);
	curl_global_cleanup();
	return rc;
}

/*
 * engine.h: the Docker Engine API client, and the only user of libcurl.
 * The Docker socket is root-equivalent, so this module is a privilege
 * boundary: it offers only the operations below (there is no generic
 * "call"), builds every request body from validated fields with jansson,
 * never from client JSON, checks every id it splices into a path, reads
 * replies into buffers capped at ENGINE_REPLY_MAX, and bounds every call
 * with a timeout.  API version 1.41 (Docker 20.10, Debian 12).
 *
 * One `struct engine` holds one connection: use one per thread.
 */
#ifndef ENGINE_H
#define ENGINE_H

#include "compat.h"

#include "err.h"
#include "id.h"

#define ENGINE_API "/v1.41"
#define ENGINE_REPLY_MAX (1024 * 1024)
#define ENGINE_ID_SIZE 65

/*
 * The transport: one HTTP request on the engine socket.  Writes at most
 * cap bytes of the reply body into reply (NUL-terminated, so cap includes
 * the NUL) and its length into *len; ERR_TOOBIG when the body did not
 * fit, ERR_TIMEOUT or ERR_UPSTREAM when the call failed.  Tests replace
 * it to replay canned replies and inject failures.
 */
struct engine_transport {
	enum err (*call)(void *ctx, const char *method, const char *path,
	    const char *body, long timeout_ms, long *status, char *reply,
	    size_t cap, size_t *len);
	void (*free)(void *ctx);
	void *ctx;
};

struct engine;

/* A client on the unix socket at path; every call is bounded by
 * timeout_ms.  Call curl_global_init() once before the first one. */
struct engine *engine_new(const char *socket_path, long timeout_ms);

/* A client on a caller-provided transport (tests).  Takes ownership. */
struct engine *engine_new_transport(const struct engine_transport *t,
    long timeout_ms);
void engine_free(struct engine *);

/* GET /_ping. */
enum err engine_ping(struct engine *);

/* What GET /info says: is runtime registered, and host memory. */
enum err engine_has_runtime(struct engine *, const char *runtime, bool *has);

/* Does the image exist locally (GET /images/<ref>/json)? */
enum err engine_image_exists(struct engine *, const char *image, bool *exists);

/* Everything a sandbox container is made from; all fields validated by the
 * caller (cfg bounds, id_valid()). */
struct engine_spec {
	const char *image;
	const char *session_id;
	const char *tool_pair;
	const char *environment;	/* label toolkata.environment; NULL: bash */
	const char *instance;	/* SANDBOX_INSTANCE, for the label */
	const char *expires_at;	/* ISO-8601, for the label */
	long long lifetime_s;	/* PID 1 ends the container after this */
	long long memory_mb;
	long long proc_memory_mb;	/* RLIMIT_AS per process (docker/init);
					 * 0: 3/4 of memory_mb */
	long long cpu_percent;
	long long pids_limit;
	long long home_mb;
	long long tmp_mb;
	long long nofile;
	long long nproc;	/* RLIMIT_NPROC inside the sandbox */
	const char *runtime;	/* NULL: no Runtime key, the engine's default */
	bool pooled;		/* session_id is a pool id: label toolkata.pool,
				 * name toolkata-pool-<hex> */
};

/* POST /containers/create?name=toolkata-<session>; the new id in id. */
enum err engine_create(struct engine *, const struct engine_spec *,
    char id[ENGINE_ID_SIZE]);

/* POST /containers/<id>/start (304, already running, counts as done). */
enum err engine_start(struct engine *, const char *id);

/* DELETE /containers/<id>?force=1&v=1 within timeout_ms; a container that
 * is already gone (404) counts as removed. */
enum err engine_remove(struct engine *, const char *id, long timeout_ms);

/* GET /containers/<id>/json: running state.  ERR_NOTFOUND when gone. */
enum err engine_inspect(struct engine *, const char *id, bool *running);

/* The same, with what a relay tells a client when the shell is gone. */
struct engine_state {
	bool running;
	bool oom_killed;
	int exit_code;
	char status[16];	/* "running", "exited", ... */
};
enum err engine_state(struct engine *, const char *id, struct engine_state *);

struct engine_container {
	char id[ENGINE_ID_SIZE];
	char session[ID_SIZE];	/* label toolkata.session ("" if none) */
	char pool[ID_SIZE];	/* label toolkata.pool ("" if none) */
	bool running;
};

/* Every container of instance (label toolkata.instance), running or
 * not: session containers and pool containers. */
typedef void (*engine_list_fn)(const struct engine_container *, void *arg);
enum err engine_list(struct engine *, const char *instance,
    engine_list_fn fn, void *arg);

/*
 * POST /containers/<id>/attach?stream=1&stdin=1&stdout=1&stderr=1,
 * hijacked: a plain AF_UNIX connection to socket_path, the request written
 * by hand with Upgrade: tcp and detach keys nobody types, the reply head
 * read (at most ENGINE_HEAD_MAX bytes, within timeout_ms) and checked for
 * 101 (or 200).  On ERR_OK *fd is the raw TTY stream of the container's
 * PID 1 (blocking, close-on-exec; the caller owns it) and the first
 * *extra bytes that came after the head are in extra (up to extracap).
 * ERR_NOTFOUND: no such container; ERR_CONFLICT: it is not running.
 */
#define ENGINE_HEAD_MAX 4096
enum err engine_attach(const char *socket_path, const char *container_id,
    long timeout_ms, int *fd, char *extra, size_t extracap, size_t *extra_len);

/*
 * Parse the head of the hijack reply in buf[0..len): ERR_OK with *status
 * and *head_len (bytes up to and including the blank line) when complete;
 * ERR_LIMIT (need more bytes) when the blank line has not come yet;
 * ERR_UPSTREAM when it is not an HTTP/1.x status line.
 */
enum err engine_parse_head(const char *buf, size_t len, int *status,
    size_t *head_len);

/* Build the create body for spec (exposed for tests and the fuzzer);
 * the caller frees the string. */
char *engine_create_body(const struct engine_spec *spec);

/* ---- exec: step checks (toolkata-check next to the shell) ------------ */

#define ENGINE_EXEC_ARGS 8
#define ENGINE_EXEC_ENV 8

/* What one exec runs; every string is the caller's, validated (argv[0]
 * an absolute path, no NUL anywhere: they are C strings). */
struct engine_exec_spec {
	const char *argv[ENGINE_EXEC_ARGS];
	size_t argc;
	const char *env[ENGINE_EXEC_ENV];	/* "NAME=value" */
	size_t envc;
	const char *user;	/* "1000:1000" */
	const char *workdir;	/* absolute */
};

/* The exec create body (AttachStdout/Stderr, no stdin, no TTY); NULL when
 * spec breaks the rules above.  The caller frees it. */
char *engine_exec_body(const struct engine_exec_spec *);

/* POST /containers/<id>/exec: the new exec's id.  ERR_NOTFOUND: no such
 * container; ERR_CONFLICT: it is not running. */
enum err engine_exec_create(struct engine *, const char *container_id,
    const struct engine_exec_spec *, char exec_id[ENGINE_ID_SIZE]);

/* One capped output of an exec: at most cap bytes are kept in buf (not
 * NUL-terminated), total counts every byte seen. */
struct engine_out {
	char *buf;
	size_t cap, len;
	size_t total;
};

/*
 * The demultiplexer of a non-TTY stream: frames of an 8-byte header
 * [stream 0/1/2, 0, 0, 0, length (32-bit big-endian)] and a payload.
 * Incremental: headers and payloads may be split anywhere between calls.
 * Stream 0 (stdin) and 1 go to out, 2 to err.
 */
struct engine_demux {
	unsigned char head[8];
	size_t have;		/* header bytes held */
	uint32_t left;		/* payload bytes still due */
	int stream;
	struct engine_out *out, *err;
};
void engine_demux_init(struct engine_demux *, struct engine_out *out,
    struct engine_out *err);
/* Feed len bytes; ERR_UPSTREAM on a header that is not a frame's. */
enum err engine_demux_feed(struct engine_demux *, const char *buf, size_t len);
/* Did the stream end on a frame boundary? */
bool engine_demux_done(const struct engine_demux *);

/*
 * POST /exec/<id>/start (Detach false, Tty false) and read the stream until
 * the exec's process closes it, within timeout_ms, into out and err.
 * ERR_TIMEOUT when the process outlived timeout_ms (what came is kept);
 * ERR_UPSTREAM on a broken stream; ERR_NOTFOUND: no such exec.
 */
enum err engine_exec_start(struct engine *, const char *exec_id,
    long timeout_ms, struct engine_out *out, struct engine_out *err);

/* GET /exec/<id>/json: the exit code once it is no longer running (asked
 * again for up to about 1 s after the stream ended); ERR_CONFLICT when it
 * still runs. */
enum err engine_exec_exit(struct engine *, const char *exec_id, int *code);

#endif /* ENGINE_H */

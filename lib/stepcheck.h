/*
 * stepcheck.h: a lesson's step check, run in a session's container next to
 * the learner's shell (never in it) by docker/init/toolkata-check through
 * a Docker exec: uid 1000, /home/toolkata, no TTY, no stdin.  The runner
 * contains every process the command starts (a PID namespace of its own),
 * cuts each output at output_max bytes and kills the command at timeout_ms;
 * the exec's own read is bounded a little above that, so a check cannot
 * outlive its timeout by more than STEPCHECK_GRACE_MS.
 */
#ifndef STEPCHECK_H
#define STEPCHECK_H

#include "compat.h"

#include "engine.h"
#include "err.h"

#define STEPCHECK_RUNNER "/usr/local/bin/toolkata-check"
#define STEPCHECK_COMMAND_MAX 4096	/* bytes of one command */
#define STEPCHECK_GRACE_MS 5000		/* exec read beyond the timeout */
#define STEPCHECK_TIMEOUT_MARK "\n[toolkata-check: timed out]\n"
#define STEPCHECK_EXIT_TIMEOUT 124
#define STEPCHECK_EXIT_RUNNER 125	/* the runner refused (usage, setup) */

struct stepcheck_spec {
	const char *command;	/* 1..STEPCHECK_COMMAND_MAX bytes, no NUL */
	long timeout_ms;	/* 1..600000 */
	long output_max;	/* 0..262144 */
};

struct stepcheck_result {
	int exit_code;		/* the command's (128 + signal), -1: unknown */
	bool timed_out;
	bool truncated;		/* stdout or stderr was cut at output_max */
	char *out, *err;	/* valid UTF-8, NUL-terminated, malloc'd */
	long long duration_ms;	/* the whole exec, as the API saw it */
};

/*
 * Run spec in container_id.  ERR_OK with *res filled (timed_out or not);
 * ERR_CONFLICT: the container is not running; ERR_INVAL: spec breaks its
 * rules; ERR_UPSTREAM: the engine or the runner failed.  Release *res
 * with stepcheck_result_release() whatever the result.
 */
enum err stepcheck_run(struct engine *, const char *container_id,
    const struct stepcheck_spec *, struct stepcheck_result *res);
void stepcheck_result_release(struct stepcheck_result *);

/*
 * What the runner's outputs mean: strip the timeout mark (only with exit
 * 124 and at the very end of stderr), cut each at output_max, and turn the
 * bytes into valid UTF-8 (U+FFFD for each bad byte).  Exposed for tests.
 */
void stepcheck_decode(const struct stepcheck_spec *, int exit_code,
    const char *out, size_t out_len, const char *err, size_t err_len,
    struct stepcheck_result *res);

/* A malloc'd NUL-terminated copy of buf[0..len) in valid UTF-8. */
char *stepcheck_utf8(const char *buf, size_t len);

#endif /* STEPCHECK_H */

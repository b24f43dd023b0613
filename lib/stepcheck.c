/*
 * stepcheck.c: a step check is three allow-listed engine calls (exec
 * create with the runner's fixed argv, exec start read to EOF, exec
 * inspect for the exit code) and the decoding of what the runner said.
 */
#include "compat.h"

#include "clock.h"
#include "log.h"
#include "stepcheck.h"

/* Length of the UTF-8 sequence at p (at most n bytes), 0 if invalid. */
static size_t
stepcheck_seq(const unsigned char *p, size_t n)
{
	size_t len;
	uint32_t c;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4;
	else
		return 0;
	c = p[0] & (0x7f >> len);
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	/* Overlong, surrogates and past U+10FFFF. */
	if ((len == 3 && c < 0x800) || (len == 4 && c < 0x10000) ||
	    (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
		return 0;
	return len;
}

char *
stepcheck_utf8(const char *buf, size_t len)
{
	const unsigned char *p = (const unsigned char *)buf;
	char *out = xmalloc(len * 3 + 1);	/* each bad byte: 3 bytes */
	size_t o = 0;

	for (size_t i = 0; i < len;) {
		size_t n = stepcheck_seq(p + i, len - i);

		if (n == 0) {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
			continue;
		}
		memcpy(out + o, p + i, n);
		o += n;
		i += n;
	}
	out[o] = '\0';
	return out;
}

void
stepcheck_decode(const struct stepcheck_spec *spec, int exit_code,
    const char *out, size_t out_len, const char *err, size_t err_len,
    struct stepcheck_result *res)
{
	size_t mark = sizeof(STEPCHECK_TIMEOUT_MARK) - 1;
	size_t cap = (size_t)spec->output_max;

	res->exit_code = exit_code;
	if (exit_code == STEPCHECK_EXIT_TIMEOUT && err_len >= mark &&
	    memcmp(err + err_len - mark, STEPCHECK_TIMEOUT_MARK, mark) == 0) {
		res->timed_out = true;
		err_len -= mark;
	}
	if (out_len > cap || err_len > cap)
		res->truncated = true;
	res->out = stepcheck_utf8(out, out_len > cap ? cap : out_len);
	res->err = stepcheck_utf8(err, err_len > cap ? cap : err_len);
}

void
stepcheck_result_release(struct stepcheck_result *res)
{
	free(res->out);
	free(res->err);
	res->out = res->err = NULL;
}

static bool
stepcheck_valid(const struct stepcheck_spec *s)
{
	size_t n = s->command != NULL ? strlen(s->command) : 0;

	return n > 0 && n <= STEPCHECK_COMMAND_MAX && s->timeout_ms >= 1 &&
	    s->timeout_ms <= 600000 && s->output_max >= 0 &&
	    s->output_max <= 262144;
}

/* Create and start the exec; the runner's raw outputs in out and err. */
static enum err
stepcheck_exec(struct engine *e, const char *cid,
    const struct stepcheck_spec *s, struct engine_out *out,
    struct engine_out *err, int *code)
{
	char t[24], cap[24], xid[ENGINE_ID_SIZE];
	struct engine_exec_spec x;
	enum err r;

	(void)snprintf(t, sizeof(t), "%ld", s->timeout_ms);
	(void)snprintf(cap, sizeof(cap), "%ld", s->output_max);
	memset(&x, 0, sizeof(x));
	x.argv[0] = STEPCHECK_RUNNER;
	x.argv[1] = t;
	x.argv[2] = cap;
	x.argv[3] = s->command;
	x.argc = 4;
	x.env[0] = "TOOLKATA_CHECK=1";
	x.envc = 1;
	x.user = "1000:1000";
	x.workdir = "/home/toolkata";
	if ((r = engine_exec_create(e, cid, &x, xid)) != ERR_OK)
		return r;
	r = engine_exec_start(e, xid, s->timeout_ms + STEPCHECK_GRACE_MS, out,
	    err);
	if (r != ERR_OK)
		return r;
	return engine_exec_exit(e, xid, code);
}

enum err
stepcheck_run(struct engine *e, const char *container_id,
    const struct stepcheck_spec *s, struct stepcheck_result *res)
{
	/* The runner sends output_max + 1 bytes of each (so a cut shows),
	 * stderr then the timeout mark. */
	size_t cap = (size_t)s->output_max + 1 + sizeof(STEPCHECK_TIMEOUT_MARK);
	struct engine_out out = { NULL, cap, 0, 0 }, err = { NULL, cap, 0, 0 };
	double t0 = clock_mono();
	int code = -1;
	enum err r;

	memset(res, 0, sizeof(*res));
	res->exit_code = -1;
	if (!stepcheck_valid(s))
		return ERR_INVAL;
	out.buf = xmalloc(cap);
	err.buf = xmalloc(cap);
	r = stepcheck_exec(e, container_id, s, &out, &err, &code);
	res->duration_ms = (long long)((clock_mono() - t0) * 1000);
	if (r == ERR_TIMEOUT) {
		/* The runner did not stop in time: report what came. */
		log_warnx("stepcheck: exec outlived %ld ms + grace",
		    s->timeout_ms);
		code = STEPCHECK_EXIT_TIMEOUT;
		r = ERR_OK;
		res->timed_out = true;
	} else if (r == ERR_OK && code == STEPCHECK_EXIT_RUNNER &&
	    err.len >= 16 && memcmp(err.buf, "toolkata-check: ", 16) == 0) {
		log_warnx("stepcheck: runner refused: %.*s", (int)(err.len > 200 ?
		    200 : err.len), err.buf);
		r = ERR_UPSTREAM;
	}
	if (r == ERR_OK)
		stepcheck_decode(s, code, out.buf, out.len, err.buf, err.len,
		    res);
	free(out.buf);
	free(err.buf);
	return r;
}

/*
 * pump.c: the poll loop.  Three descriptors: 0 (client input from
 * websocketd), 1 (output to websocketd), dfd (the container's TTY).
 */
#include "compat.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "ofilter.h"
#include "pump.h"
#include "tkmsg.h"

struct pump {
	int dfd;
	struct frame frame;
	const struct pump_ops *ops;
	void *arg;
	char to_container[PUMP_BUF];
	size_t tc_len;
	char to_client[PUMP_BUF];
	size_t cl_len;
	size_t dropped;
	bool docker_eof;
	struct ofilter of;	/* container output, before the client sees it */
	struct tkmsg msg;	/* the init's ESC _ tk; ... ESC \ */
};

/* Room enough in to_client for one filtered read. */
#define PUMP_READ 4096
#define PUMP_ROOM(p) (sizeof((p)->to_client) - (p)->cl_len >= \
	OFILTER_OUT_SIZE(PUMP_READ + TKMSG_INTRO_LEN))

static void
pump_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl != -1)
		(void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

struct pump *
pump_new(int dfd, size_t max_line, const struct pump_ops *ops, void *arg)
{
	struct pump *p = xcalloc(1, sizeof(*p));

	p->dfd = dfd;
	p->ops = ops;
	p->arg = arg;
	frame_init(&p->frame, max_line);
	ofilter_init(&p->of);
	pump_nonblock(STDIN_FILENO);
	pump_nonblock(STDOUT_FILENO);
	pump_nonblock(dfd);
	return p;
}

void
pump_free(struct pump *p)
{
	free(p);
}

size_t
pump_dropped(const struct pump *p)
{
	return p->dropped;
}

/* Output for the client, through lib/ofilter. */
static void
pump_filter(const char *s, size_t n, void *arg)
{
	struct pump *p = arg;

	p->cl_len += ofilter_feed(&p->of, s, n, p->to_client + p->cl_len,
	    sizeof(p->to_client) - p->cl_len);
}

static void
pump_control(const char *msg, void *arg)
{
	struct pump *p = arg;

	if (p->ops->control != NULL)
		p->ops->control(p, msg, p->arg);
}

/* Container output: the init's messages out (lib/tkmsg), the rest to the
 * filter. */
static void
pump_output(struct pump *p, const char *s, size_t n)
{
	tkmsg_feed(&p->msg, s, n, pump_filter, pump_control, p);
}

void
pump_preload(struct pump *p, const char *data, size_t len)
{
	/* The bytes that came with the attach head are output too. */
	while (len > 0 && PUMP_ROOM(p)) {
		size_t k = len < PUMP_READ ? len : PUMP_READ;

		pump_output(p, data, k);
		data += k;
		len -= k;
	}
}

bool
pump_to_container(struct pump *p, const char *data, size_t len)
{
	if (len > sizeof(p->to_container) - p->tc_len) {
		p->dropped += len;
		return false;
	}
	memcpy(p->to_container + p->tc_len, data, len);
	p->tc_len += len;
	return true;
}

void
pump_interrupt(struct pump *p, char c)
{
	p->dropped += p->tc_len;
	p->tc_len = 0;
	p->to_container[p->tc_len++] = c;
}

size_t
pump_utf8_cut(const char *buf, size_t n)
{
	const unsigned char *b = (const unsigned char *)buf;
	size_t i = n, need;

	/* Find the start of the last sequence among the last 4 bytes. */
	while (i > 0 && n - i < 4 && (b[i - 1] & 0xc0) == 0x80)
		i--;
	if (i == 0 || n - i >= 4)
		return n;	/* no lead byte nearby: not ours to hold */
	i--;
	need = b[i] < 0x80 ? 1 : (b[i] & 0xe0) == 0xc0 ? 2 :
	    (b[i] & 0xf0) == 0xe0 ? 3 : (b[i] & 0xf8) == 0xf0 ? 4 : 1;
	return n - i < need ? i : n;
}

/* Drop the first n bytes of a buffer. */
static void
pump_consume(char *buf, size_t *len, size_t n)
{
	memmove(buf, buf + n, *len - n);
	*len -= n;
}

/* Write one chunk of client output; false on a dead stdout.  flush: do not
 * hold back a trailing partial UTF-8 character (a frame must follow). */
static bool
pump_write_client(struct pump *p, bool flush)
{
	size_t n = p->cl_len < PUMP_CHUNK ? p->cl_len : PUMP_CHUNK;
	ssize_t w;

	if (n < p->cl_len || (!p->docker_eof && !flush))
		n = pump_utf8_cut(p->to_client, n);
	if (n == 0)
		return true;
	w = write(STDOUT_FILENO, p->to_client, n);
	if (w < 0)
		return errno == EAGAIN || errno == EINTR;
	pump_consume(p->to_client, &p->cl_len, (size_t)w);
	return true;
}

static int
pump_line(const char *line, size_t len, void *arg)
{
	struct pump *p = arg;

	return p->ops->line(p, line, len, p->arg);
}

/* Read client input; ERR_OK, ERR_NOTFOUND at EOF, or the framer's error. */
static enum err
pump_read_client(struct pump *p)
{
	char buf[4096];
	ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));

	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? ERR_OK : ERR_NOTFOUND;
	if (n == 0)
		return ERR_NOTFOUND;
	return frame_feed(&p->frame, buf, (size_t)n, pump_line, p);
}

static void
pump_docker_io(struct pump *p, short revents)
{
	ssize_t n;

	if ((revents & POLLOUT) && p->tc_len > 0) {
		n = write(p->dfd, p->to_container, p->tc_len);
		if (n > 0)
			pump_consume(p->to_container, &p->tc_len, (size_t)n);
	}
	if ((revents & (POLLIN | POLLHUP | POLLERR)) && PUMP_ROOM(p)) {
		char buf[PUMP_READ];

		/* Hostile output (clipboard writes, terminal queries) never
		 * reaches the client: lib/ofilter. */
		n = read(p->dfd, buf, sizeof(buf));
		if (n > 0)
			pump_output(p, buf, (size_t)n);
		else if (n == 0 || (errno != EAGAIN && errno != EINTR))
			p->docker_eof = true;
	}
}

enum err
pump_frame(struct pump *p, const char *s, size_t len, int timeout_ms)
{
	double deadline = clock_mono() + timeout_ms / 1000.0;
	int pending = 1;

	/* Everything before it, then the frame, each until the pipe is
	 * empty: websocketd has read it, and makes one frame per read. */
	for (int pass = 0; pass < 2; pass++) {
		while (p->cl_len > 0 || pending > 0) {
			struct pollfd pfd = { STDOUT_FILENO, POLLOUT, 0 };

			if (clock_mono() > deadline)
				return ERR_TIMEOUT;
			if (p->cl_len > 0) {
				(void)poll(&pfd, 1, 50);
				if (!pump_write_client(p, true))
					return ERR_IO;
				continue;
			}
			if (ioctl(STDOUT_FILENO, FIONREAD, &pending) == -1)
				pending = 0;
			if (pending > 0)
				(void)usleep(1000);
		}
		if (pass == 0) {
			if (len > sizeof(p->to_client))
				return ERR_TOOBIG;
			memcpy(p->to_client, s, len);
			p->cl_len = len;
			pending = 1;
		}
	}
	return ERR_OK;
}

enum err
pump_run(struct pump *p, volatile int *stop)
{
	enum err r = ERR_OK;

	while (r == ERR_OK) {
		int ready;
		struct pollfd pfd[3] = {
			{ STDIN_FILENO, POLLIN, 0 },
			{ p->dfd, 0, 0 },
			{ STDOUT_FILENO, 0, 0 },
		};

		if (*stop)
			return ERR_CONFLICT;
		if (!p->docker_eof && PUMP_ROOM(p))
			pfd[1].events |= POLLIN;
		if (!p->docker_eof && p->tc_len > 0)
			pfd[1].events |= POLLOUT;
		/* Output that is only the start of a UTF-8 character waits for
		 * the rest rather than spinning on a writable stdout. */
		if (p->cl_len > 0 && (p->docker_eof || pump_utf8_cut(
		    p->to_client, p->cl_len < PUMP_CHUNK ? p->cl_len :
		    PUMP_CHUNK) > 0))
			pfd[2].events = POLLOUT;
		if (p->docker_eof && p->cl_len == 0)
			return ERR_NOTFOUND;
		/* A closed stream reports POLLHUP whatever was asked: leave it
		 * out when there is nothing to ask, or the loop spins. */
		if (pfd[1].events == 0)
			pfd[1].fd = -1;
		ready = poll(pfd, 3, tkmsg_holding(&p->msg) ? 20 : 1000);
		if (ready < 0 && errno != EINTR)
			return ERR_IO;
		if (ready == 0)
			tkmsg_flush(&p->msg, pump_filter, p);
		if (pfd[0].revents != 0 &&
		    (r = pump_read_client(p)) == ERR_NOTFOUND)
			return ERR_OK;	/* the client left */
		if (pfd[1].revents != 0)
			pump_docker_io(p, pfd[1].revents);
		if (pfd[2].revents & (POLLERR | POLLHUP))
			return ERR_OK;	/* websocketd went away */
		if ((pfd[2].revents & POLLOUT) && !pump_write_client(p, false))
			return ERR_OK;
		if (r == ERR_OK && p->ops->tick(p, clock_now_ms(), p->arg) != 0)
			r = ERR_INVAL;
	}
	return r;
}

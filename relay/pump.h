/*
 * pump.h: the relay's poll loop between websocketd (stdin/stdout) and the
 * container's TTY stream.  Both directions are bounded: stdin is always
 * read (websocketd moves data both ways in one goroutine, so a relay that
 * stops reading stdin while its stdout is blocked deadlocks it,
 * mechanics.md A6); input that finds the container's buffer full is
 * dropped and counted.  Container output is read only while there is room
 * for it (backpressure), and is written to stdout in chunks of at most
 * PIPE_BUF bytes that never end inside a UTF-8 character, so that every
 * frame websocketd makes holds whole characters.  The init's own messages
 * (ESC _ tk; ... ESC \, which it never lets the sandbox's programs print)
 * are taken out of the output and handed to the owner.
 */
#ifndef PUMP_H
#define PUMP_H

#include "compat.h"

#include <limits.h>

#include "err.h"
#include "frame.h"

#define PUMP_BUF (64 * 1024)
#define PUMP_CHUNK PIPE_BUF

struct pump;

/* What the pump asks of its owner (relay/main.c). */
struct pump_ops {
	/* One line from the client; non-zero ends the pump (ERR_INVAL). */
	int (*line)(struct pump *, const char *line, size_t len, void *arg);
	/* Called at least every second and when the deadline passes;
	 * non-zero ends the pump. */
	int (*tick)(struct pump *, int64_t now_ms, void *arg);
	/* A message from docker/init in the container's output, ESC _ msg
	 * ESC \ with msg starting "tk;" (NUL-terminated, lib/tkmsg.h):
	 * taken out of the stream at its place; output before it has been
	 * queued for the client.  May be NULL. */
	void (*control)(struct pump *, const char *msg, void *arg);
};

/* Make a pump between fd 0/1 and dfd (all set non-blocking). */
struct pump *pump_new(int dfd, size_t max_line, const struct pump_ops *ops,
    void *arg);
void pump_free(struct pump *);

/* Bytes to send to the client before anything the container says. */
void pump_preload(struct pump *, const char *data, size_t len);

/* Queue keystrokes for the container; false when they did not fit. */
bool pump_to_container(struct pump *, const char *data, size_t len);

/* An interrupt (^C and friends) wins over queued input: drop what the
 * container has not read yet, as a tty flushes its input on INTR, and
 * queue the byte. */
void pump_interrupt(struct pump *, char c);

/*
 * Write s to stdout as a frame of its own: everything queued before it is
 * flushed, and websocketd has taken it (the pipe is empty) before this
 * returns.  Waits at most timeout_ms in all.
 */
enum err pump_frame(struct pump *, const char *s, size_t len, int timeout_ms);

/* Run until the client leaves (ERR_OK), the container's stream ends
 * (ERR_NOTFOUND), a line is too long (ERR_TOOBIG), a signal stops it
 * (ERR_CONFLICT) or a callback ends it (ERR_INVAL). */
enum err pump_run(struct pump *, volatile int *stop);

/* Keystrokes dropped because the container was not reading. */
size_t pump_dropped(const struct pump *);

/* The largest prefix of buf[0..n) that does not end inside a UTF-8
 * sequence (invalid bytes are not held back). */
size_t pump_utf8_cut(const char *buf, size_t n);

#endif /* PUMP_H */

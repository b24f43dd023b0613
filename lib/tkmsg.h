/*
 * tkmsg.h: the messages docker/init sends the relay in the container's
 * output, and the prompt hook sends the init in the shell's: an APC
 * string that starts "tk;", ESC _ tk; ... ESC \.  tkmsg_feed() takes them
 * out of a byte stream at their place and passes everything else on as
 * data, in order, whatever the reads' boundaries: a prefix of ESC _ tk;
 * at the end of a read is held for the next one (or until the stream is
 * quiet: tkmsg_flush()), a message longer than TKMSG_MAX is dropped up to
 * its end, never delivered.  No allocation; the state is the struct.
 * Used by docker/init/init.c (built on its own, so this module needs
 * nothing but libc) and relay/pump.c.
 */
#ifndef TKMSG_H
#define TKMSG_H

#include <stdbool.h>
#include <stddef.h>

#define TKMSG_INTRO "\033_tk;"
#define TKMSG_INTRO_LEN (sizeof(TKMSG_INTRO) - 1)
#define TKMSG_MAX 256		/* longest message, ESC _ and ESC \ included */

struct tkmsg {
	char buf[TKMSG_MAX + 1];
	size_t len;		/* held: a prefix of the intro, or a message */
	bool skip;		/* in a message too long: dropped to its end */
	char last;		/* the byte before, while skipping */
};

/* n bytes of data (n > 0), and one message ("tk;...", NUL-terminated). */
typedef void (*tkmsg_data_fn)(const char *s, size_t n, void *arg);
typedef void (*tkmsg_msg_fn)(const char *msg, void *arg);

/* Scan s[0..n): data to data(), each whole message to msg(). */
void tkmsg_feed(struct tkmsg *, const char *s, size_t n, tkmsg_data_fn data,
    tkmsg_msg_fn msg, void *arg);

/* A held prefix of the intro is data after all (the stream is quiet). */
void tkmsg_flush(struct tkmsg *, tkmsg_data_fn data, void *arg);

/* Is anything held (a prefix or a message being read)? */
bool tkmsg_holding(const struct tkmsg *);

#endif /* TKMSG_H */

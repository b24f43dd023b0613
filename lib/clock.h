/*
 * clock.h: wall-clock milliseconds and ISO-8601 text.  Only the edges call
 * clock_now_ms(); everything below takes the time as an argument so tests
 * can run on a fake clock.
 */
#ifndef CLOCK_H
#define CLOCK_H

#include "compat.h"

#define CLOCK_ISO_SIZE 32

/* Milliseconds since the epoch (CLOCK_REALTIME). */
int64_t clock_now_ms(void);

/* Monotonic seconds, for measuring durations. */
double clock_mono(void);

/* "2026-01-23T18:00:00.000Z" for ms into out. */
void clock_iso(int64_t ms, char out[CLOCK_ISO_SIZE]);

#endif /* CLOCK_H */

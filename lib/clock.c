/*
 * clock.c: time helpers.
 */
#include "compat.h"

#include "clock.h"

int64_t
clock_now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double
clock_mono(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
clock_iso(int64_t ms, char out[CLOCK_ISO_SIZE])
{
	struct tm tm;
	time_t t;
	size_t n;
	int msec;

	if (ms < 0)
		ms = 0;
	t = (time_t)(ms / 1000);
	if (gmtime_r(&t, &tm) == NULL) {
		out[0] = '\0';
		return;
	}
	n = strftime(out, CLOCK_ISO_SIZE, "%Y-%m-%dT%H:%M:%S", &tm);
	msec = (int)(ms % 1000);

	if (n == 0 || n + 6 > CLOCK_ISO_SIZE) {
		out[0] = '\0';
		return;
	}
	out[n++] = '.';
	out[n++] = (char)('0' + msec / 100);
	out[n++] = (char)('0' + msec / 10 % 10);
	out[n++] = (char)('0' + msec % 10);
	out[n++] = 'Z';
	out[n] = '\0';
}

/*
 * ratelimit.c: quota decisions; no I/O, no clock of its own.
 */
#include "compat.h"

#include "ratelimit.h"

long long
ratelimit_seconds_until(int64_t at_ms, int64_t now_ms)
{
	int64_t d = at_ms - now_ms;

	if (d <= 0)
		return 1;
	return (long long)((d + 999) / 1000);
}

enum ratelimit_verdict
ratelimit_session(const struct ratelimit *rl, const struct ratelimit_usage *u,
    int64_t now_ms, long long *retry_after_s)
{
	if (u->in_window >= rl->per_hour) {
		*retry_after_s = ratelimit_seconds_until(
		    u->oldest_ms + RATELIMIT_WINDOW_MS, now_ms);
		return RATELIMIT_HOURLY;
	}
	if (u->live >= rl->concurrent) {
		*retry_after_s = ratelimit_seconds_until(u->next_end_ms, now_ms);
		return RATELIMIT_CONCURRENT;
	}
	*retry_after_s = 0;
	return RATELIMIT_OK;
}

bool
ratelimit_websocket(const struct ratelimit *rl, long long open_ws)
{
	return open_ws < rl->websockets;
}

/* SPDX-License-Identifier: BSD-3-Clause */
/* Logging sink dispatch and the rate limiter for peer-triggered messages. */
#include <stdarg.h>
#include <stddef.h>

#include "hvl/log.h"

void hvl_logf(const struct hvl_logger *lg, enum hvl_log_level level, const char *fmt, ...)
{
	va_list ap;

	if (lg == NULL || lg->fn == NULL || level > lg->level)
		return;
	va_start(ap, fmt);
	lg->fn(lg->ctx, level, fmt, ap);
	va_end(ap);
}

int hvl_ratelimit_ok(struct hvl_ratelimit *rl, uint64_t now_ms, uint32_t burst, uint32_t period_ms)
{
	if (now_ms - rl->window_start_ms >= period_ms) {
		rl->window_start_ms = now_ms;
		rl->printed = 0;
	}
	if (rl->printed < burst) {
		rl->printed++;
		return 1;
	}
	rl->suppressed++;
	return 0;
}

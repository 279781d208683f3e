/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Logging through a caller-supplied sink: no global logger, so two PMMs or
 * two devices in one process keep their own (STYLE.md 1).
 */
#ifndef HVL_LOG_H
#define HVL_LOG_H

#include <stdarg.h>
#include <stdint.h>

enum hvl_log_level { HVL_LOG_ERROR = 0, HVL_LOG_WARN, HVL_LOG_INFO, HVL_LOG_DEBUG };

struct hvl_logger {
	/* Emit one line (no trailing newline in @fmt).  NULL = discard. */
	void (*fn)(void *ctx, enum hvl_log_level level, const char *fmt, va_list ap);
	void *ctx;
	enum hvl_log_level level; /* messages above this level are dropped */
};

#if defined(__GNUC__)
#define HVL_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define HVL_PRINTF(a, b)
#endif

/* Log through @lg if @level is enabled.  @lg may be NULL. */
void hvl_logf(const struct hvl_logger *lg, enum hvl_log_level level, const char *fmt, ...)
	HVL_PRINTF(3, 4);

/*
 * Rate limit for logs triggered by the peer (STYLE.md 11): at most @burst
 * messages per @period_ms; returns 1 if this one may be printed.
 */
struct hvl_ratelimit {
	uint64_t window_start_ms;
	uint32_t printed;
	uint32_t suppressed;
};
int hvl_ratelimit_ok(struct hvl_ratelimit *rl, uint64_t now_ms, uint32_t burst, uint32_t period_ms);

#endif /* HVL_LOG_H */

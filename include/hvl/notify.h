/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Transport ops: how a notification reaches the peer and how we wait for
 * one (the "doorbell").  Backends: futex word in shared memory, eventfd,
 * polling (src/platform/linux/doorbell.c), and the bare-metal poll/mailbox
 * port (src/platform/baremetal/).
 */
#ifndef HVL_NOTIFY_H
#define HVL_NOTIFY_H

#include <stdint.h>

struct hvl_notify_ops {
	/* Notify the peer.  Cheap when the peer is not sleeping. */
	void (*ring)(void *ctx);
	/*
	 * Wait until the peer rang since the previous wait returned, a local
	 * kick arrived, or @timeout_ms passed.  Returns 0 when woken (possibly
	 * spuriously: callers always re-check their rings), -ETIMEDOUT.
	 */
	int (*wait)(void *ctx, uint32_t timeout_ms);
	/* Optional: wake our own waiter from another thread of this side. */
	void (*kick)(void *ctx);
};

struct hvl_notifier {
	const struct hvl_notify_ops *ops;
	void *ctx;
};

static inline void hvl_notify_ring(const struct hvl_notifier *n) { n->ops->ring(n->ctx); }
static inline int hvl_notify_wait(const struct hvl_notifier *n, uint32_t timeout_ms)
{ return n->ops->wait(n->ctx, timeout_ms); }

#endif /* HVL_NOTIFY_H */

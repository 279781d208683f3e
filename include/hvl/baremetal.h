/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Bare-metal port of the remote library: no OS, no allocation, no
 * interrupts required.  Notifications to the PMM are a store to the
 * region's to_pmm doorbell word plus an optional hardware mailbox hook;
 * waiting is polling the to_remote word until it moves or a deadline
 * passes.  The board supplies a millisecond clock and, optionally, the
 * mailbox write and a cpu relax (WFE/NOP) hook.
 */
#ifndef HVL_BAREMETAL_H
#define HVL_BAREMETAL_H

#include <stdint.h>
#include "hvl/remote.h"

struct hvl_bm_board {
	/* Monotonic milliseconds.  Required. */
	uint64_t (*now_ms)(void *ctx);
	/* Optional: raise the inter-core interrupt toward the PMM. */
	void (*mailbox_ring)(void *ctx);
	/* Optional: pause in spin loops (e.g. WFE, or a NOP). */
	void (*relax)(void *ctx);
	void *ctx;
	/* Optional: cache maintenance when the region is not coherent. */
	const struct hvl_cache_ops *cache;
	void *cache_ctx;
};

struct hvl_bm_port {
	struct hvl_bm_board board;
	struct hvl_doorbell_wire *tx;   /* to_pmm: we own seq */
	struct hvl_doorbell_wire *rx;   /* to_remote: we poll seq */
	uint32_t tx_seq;
	uint32_t rx_seen;
	uint64_t rings, mailbox_rings;
	const struct hvl_cache_ops *cache;
	void *cache_ctx;
	struct hvl_os_ops os;
};

/*
 * Bind the port to the region mapped at @region (local address of offset 0)
 * and fill @cfg for hvl_remote_attach() with our OS and transport ops and
 * @bus_base.  Returns 0 or -EINVAL.
 */
int hvl_bm_port_init(struct hvl_bm_port *p, void *region, const struct hvl_bm_board *board,
		     uint64_t bus_base, struct hvl_remote_cfg *cfg);

/* Transport ops of the port (ring = store + optional mailbox, wait = poll). */
extern const struct hvl_notify_ops hvl_bm_notify_ops;

#endif /* HVL_BAREMETAL_H */

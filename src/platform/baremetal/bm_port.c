/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Bare-metal port (see include/hvl/baremetal.h).
 *
 * The doorbell wire protocol is the one of docs/PROTOCOL.md
 * "Notifications": the ringer owns seq and stores seq+1 with release; a
 * full fence; then it raises the hardware interrupt only if the PMM said it
 * may sleep (its 'sleeping' word).  This side never sleeps, so it never
 * sets rx->sleeping: the PMM's ring costs it no interrupt at all.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "hvl/baremetal.h"

/* Read the clock once per this many polls: it may be a slow peripheral. */
#define POLLS_PER_CLOCK 64u

static void bm_ring(void *ctx)
{
	struct hvl_bm_port *p = ctx;

	p->tx_seq++;
	/* Pairs with the PMM's acquire load of seq: ring contents first. */
	hvl_le32_release(&p->tx->seq, p->tx_seq);
	hvl_cache_flush(p->cache, p->cache_ctx, &p->tx->seq, 4u);
	/* Store seq before loading sleeping; pairs with the PMM's fence after
	 * it set sleeping and before it re-checked seq. */
	hvl_mb();
	hvl_cache_invalidate(p->cache, p->cache_ctx, &p->tx->sleeping, 4u);
	p->rings++;
	if (p->board.mailbox_ring != NULL && hvl_le32_once(&p->tx->sleeping) != 0u) {
		p->board.mailbox_ring(p->board.ctx);
		p->mailbox_rings++;
	}
}

static int bm_wait(void *ctx, uint32_t timeout_ms)
{
	struct hvl_bm_port *p = ctx;
	uint64_t start = p->board.now_ms(p->board.ctx);
	uint32_t polls = 0;

	for (;;) {
		uint32_t s;

		hvl_cache_invalidate(p->cache, p->cache_ctx, &p->rx->seq, 4u);
		/* Pairs with the PMM's release store of seq. */
		s = hvl_le32_acquire(&p->rx->seq);

		if (s != p->rx_seen) {
			p->rx_seen = s;
			return 0;
		}
		polls++;
		if ((polls % POLLS_PER_CLOCK) == 0u &&
		    p->board.now_ms(p->board.ctx) - start >= timeout_ms)
			return -ETIMEDOUT;
		if (p->board.relax != NULL)
			p->board.relax(p->board.ctx);
	}
}

const struct hvl_notify_ops hvl_bm_notify_ops = { bm_ring, bm_wait, NULL };

static uint64_t bm_now(void *ctx)
{
	const struct hvl_bm_port *p = ctx;

	return p->board.now_ms(p->board.ctx);
}

static void bm_relax(void *ctx)
{
	const struct hvl_bm_port *p = ctx;

	if (p->board.relax != NULL)
		p->board.relax(p->board.ctx);
}

int hvl_bm_port_init(struct hvl_bm_port *p, void *region, const struct hvl_bm_board *board,
		     uint64_t bus_base, struct hvl_remote_cfg *cfg)
{
	struct hvl_region_hdr *h = region;

	if (p == NULL || region == NULL || board == NULL || board->now_ms == NULL || cfg == NULL)
		return -EINVAL;
	(void)memset(p, 0, sizeof(*p));
	p->board = *board;
	p->cache = board->cache;
	p->cache_ctx = board->cache_ctx;
	p->tx = &h->to_pmm;
	p->rx = &h->to_remote;
	/* Continue our own counter; start from whatever the PMM rang last. */
	p->tx_seq = hvl_le32_once(&p->tx->seq);
	p->rx_seen = hvl_le32_once(&p->rx->seq);
	p->os.now_ms = bm_now;
	p->os.relax = bm_relax;
	(void)memset(cfg, 0, sizeof(*cfg));
	cfg->os = &p->os;
	cfg->os_ctx = p;
	cfg->notify.ops = &hvl_bm_notify_ops;
	cfg->notify.ctx = p;
	cfg->bus_base = bus_base;
	cfg->cache = board->cache;
	cfg->cache_ctx = board->cache_ctx;
	return 0;
}

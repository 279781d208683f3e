/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: the entropy backend (src/pmm/devices/rng.c) behind the
 * real transport and ring.  Its "parser" is small (the chain's shape), so
 * this is mostly the generic backend pattern of fuzz_blk.c with requests
 * of any size and direction (docs/SECURITY.md "Adding a fuzz target").
 *
 * Input: 4-byte header (hdr[0] bits 0-2: queue size log2 <= 6; hdr[1]
 * driver features: bit 0 EVENT_IDX, 1 INDIRECT_DESC), then actions.
 *
 * Invariants: those of fzr_service(); the device never writes into a
 * readable buffer of a request (the harness's readable area keeps its
 * pattern).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_pmm.h"
#include "fuzz_remote.h"
#include "fuzz_util.h"
#include "hvl/wire/rng.h"

extern const struct hvl_pmm_backend hvl_pmm_rng_backend;

/* Beyond fzr_post_chain's 32 x 128-byte slots. */
#define RD_OFF  (FZR_DATA_OFF + 4096u)   /* readable area: 1 KiB of a fixed pattern */
#define WR_OFF  (FZR_DATA_OFF + 5120u)   /* writable area: 3 KiB */
#define RD_SIZE 1024u
#define WR_SIZE 3072u

struct rng_fz {
	struct fz_remote r;
	struct hvl_pmm pmm;
	struct hvl_pmm_region rg;
	struct hvl_pmm_region_config rcfg;
	struct hvl_pmm_dev_config cfg;
	struct hvl_dev_static st;
	const struct hvl_dev_ops *ops;
	int raw;
};

static uint8_t pattern(unsigned i)
{
	return (uint8_t)(i * 13u + 7u);
}

/* A request of 1-4 buffers; the input picks each buffer's direction and length. */
static void request(struct rng_fz *rf, struct fz *f)
{
	uint64_t addr[4];
	uint32_t len[4];
	uint16_t flags[4];
	uint8_t shape = fz_u8(f);
	unsigned n = (shape & 3u) + 1u, k;
	uint32_t roff = 0, woff = 0;

	for (k = 0; k < n; k++) {
		uint32_t l = 1u + fz_u8(f) * 3u; /* 1..766 */

		if (((shape >> (2u + k)) & 1u) != 0u) {
			if (l > RD_SIZE - roff)
				l = RD_SIZE - roff;
			addr[k] = FZR_WIN_BUS + RD_OFF + roff;
			flags[k] = 0;
			roff += l;
		} else {
			if (l > WR_SIZE - woff)
				l = WR_SIZE - woff;
			addr[k] = FZR_WIN_BUS + WR_OFF + woff;
			flags[k] = HVL_VRING_DESC_F_WRITE;
			woff += l;
		}
		len[k] = l == 0u ? 1u : l;
	}
	(void)fzr_post_descs(&rf->r, 0, n, addr, len, flags);
}

static void act(struct rng_fz *rf, struct fz *f)
{
	struct fz_remote *r = &rf->r;
	uint8_t op = fz_u8(f);
	uint32_t i;

	switch (op & 7u) {
	case 0:
	case 1:
	case 2:
		request(rf, f);
		break;
	case 3:
		fzr_post_chain(r, f);
		rf->raw = 1;
		break;
	case 4: /* stores into the window */
		fzr_scribble_window(r, f);
		rf->raw = 1;
		break;
	case 5: /* reset, and a correct driver starts again */
		fzr_restart(r, f, ~0ull, 0);
		break;
	case 6:
		fzr_notify(r, fz_u8(f) % HVL_MAX_QUEUES);
		break;
	default:
		hvl_dev_kick(r->d);
		break;
	}
	fzr_service(r, (op & 0x80u) != 0u);
	/* Readable buffers are the driver's: the device only reads them. */
	if (!rf->raw)
		for (i = 0; i < RD_SIZE; i++)
			FZ_CHECK(r->win[RD_OFF + i] == pattern(i));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	struct rng_fz *rf;
	struct hvl_window win;
	void *priv = NULL;
	uint8_t h[4];
	unsigned steps = 0, i;
	uint16_t n;
	int rc;

	rf = calloc(1, sizeof(*rf));
	FZ_CHECK(rf != NULL);
	rf->r.d = calloc(1, sizeof(*rf->r.d));
	FZ_CHECK(rf->r.d != NULL);
	fzr_alloc(&rf->r);
	for (i = 0; i < RD_SIZE; i++)
		rf->r.win[RD_OFF + i] = pattern(i);
	(void)fz_bytes(&f, h, sizeof(h));
	fake_pmm_init(&rf->pmm);
	fake_pmm_region(&rf->pmm, &rf->rg, &rf->rcfg, HVL_DOORBELL_FUTEX);
	fake_pmm_dev_config(&rf->cfg, "rng0", NULL);
	n = (uint16_t)(1u << ((h[0] & 7u) % 7u));
	rf->st.device_id = 4;
	rf->st.name = "rng0";
	fzr_static(&rf->st, HVL_RNG_NUM_QUEUES, n, 64u);
	rf->r.d->log = &rf->pmm.log;
	rc = hvl_pmm_rng_backend.create(&rf->pmm, &rf->rg, &rf->cfg, rf->r.d, &rf->st, &rf->ops, &priv);
	FZ_CHECK(rc == 0 && priv != NULL);
	win = fzr_window(&rf->r);
	rc = hvl_dev_init(rf->r.d, rf->r.page, &win, &rf->st, rf->ops, priv, fake_pmm_notifier(),
			  &rf->pmm.log);
	FZ_CHECK(rc == 0);
	rf->r.d->now_ms = hvl_pmm_now_ms;
	fzr_bring_up(&rf->r, (uint64_t)(h[1] & 3u) << HVL_F_INDIRECT_DESC_BIT);

	while (f.n > 0 && steps++ < 2000u)
		act(rf, &f);
	if (getenv("HVL_FUZZ_DEBUG") != NULL)
		fprintf(stderr, "rng: status 0x%x broken %u notify %llu irq %llu\n", rf->r.d->status,
			rf->r.d->broken, (unsigned long long)rf->r.d->stat_notify,
			(unsigned long long)rf->r.d->stat_irq);
	hvl_dev_reset(rf->r.d);
	hvl_pmm_rng_backend.destroy(priv);
	fake_pmm_fini(&rf->pmm);
	fzr_free(&rf->r);
	free(rf->r.d);
	free(rf);
	return 0;
}

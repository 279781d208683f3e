/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The remote's half for the device-level fuzz targets (fuzz_regs,
 * fuzz_console, and the per-device targets that follow their pattern):
 * one device page and one window in a single allocation with poisoned
 * guard zones, register-write transactions through the driver area,
 * QueueNotify counters, a correct driver's static start and chain posting.
 * The hostile part is the fuzzer's: it decides every value.
 *
 * Window layout (WIN_SIZE bytes at bus FZR_WIN_BUS): static queue q at
 * q * FZR_QBLOCK (descriptors, avail at +1024, used at +1216; up to 64
 * entries), the data area from FZR_DATA_OFF to the end.  A target whose
 * device page and window are laid out by someone else (fuzz_vsockd: a
 * devhost region) describes them with fzr_attach() instead of fzr_alloc();
 * the helpers below use the struct's win_bus, win_size and data_off.
 */
#ifndef HVL_FUZZ_REMOTE_H
#define HVL_FUZZ_REMOTE_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sanitizer/asan_interface.h>

#include "fuzz_util.h"
#include "hvl/pmm/dev.h"
#include "hvl/wire/region.h"

#define FZR_GUARD    4096u
#define FZR_WIN_SIZE 16384u
#define FZR_QBLOCK   2048u
#define FZR_DATA_OFF 8192u
#define FZR_WIN_BUS  0x40000000ull
#define FZR_MAXQ     4u

struct fz_remote {
	uint8_t *arena; /* guard | page | guard | window | guard (NULL: attached) */
	uint8_t *page;
	uint8_t *win;
	uint64_t win_bus;
	uint32_t win_size;
	uint32_t data_off;  /* data area, from the window's start */
	struct hvl_dev *d;
	uint32_t status_written; /* OR of every status value the driver wrote */
	uint8_t drv_snap[HVL_DEVPAGE_SIZE - HVL_DRV_AREA_OFFSET];
};

static inline size_t fzr_arena_size(void)
{
	return FZR_GUARD + HVL_DEVPAGE_SIZE + FZR_GUARD + FZR_WIN_SIZE + FZR_GUARD;
}

/* Allocate page and window; the guard zones are poisoned (any access aborts). */
static inline void fzr_alloc(struct fz_remote *r)
{
	r->arena = aligned_alloc(4096, fzr_arena_size());
	FZ_CHECK(r->arena != NULL);
	memset(r->arena, 0, fzr_arena_size());
	r->page = r->arena + FZR_GUARD;
	r->win = r->page + HVL_DEVPAGE_SIZE + FZR_GUARD;
	ASAN_POISON_MEMORY_REGION(r->arena, FZR_GUARD);
	ASAN_POISON_MEMORY_REGION(r->page + HVL_DEVPAGE_SIZE, FZR_GUARD);
	ASAN_POISON_MEMORY_REGION(r->win + FZR_WIN_SIZE, FZR_GUARD);
	r->win_bus = FZR_WIN_BUS;
	r->win_size = FZR_WIN_SIZE;
	r->data_off = FZR_DATA_OFF;
}

/*
 * Use a device page and window that exist already (mapped by the code under
 * test): @win_size bytes at bus @win_bus, the data area at @data_off of it.
 */
static inline void fzr_attach(struct fz_remote *r, struct hvl_dev *d, uint8_t *page, uint8_t *win,
			      uint64_t win_bus, uint32_t win_size, uint32_t data_off)
{
	r->arena = NULL;
	r->d = d;
	r->page = page;
	r->win = win;
	r->win_bus = win_bus;
	r->win_size = win_size;
	r->data_off = data_off;
}

static inline void fzr_free(struct fz_remote *r)
{
	if (r->arena == NULL)
		return;
	ASAN_UNPOISON_MEMORY_REGION(r->arena, fzr_arena_size());
	free(r->arena);
	r->arena = NULL;
}

/* Static description of @nq queues of @num entries at their layout places. */
static inline void fzr_static(struct hvl_dev_static *st, unsigned nq, uint16_t num, uint16_t num_max)
{
	unsigned q;

	st->num_queues = nq;
	for (q = 0; q < nq; q++) {
		st->queue_num[q] = num;
		st->queue_num_max[q] = num_max;
		st->queue_desc[q] = FZR_WIN_BUS + q * FZR_QBLOCK;
		st->queue_driver[q] = FZR_WIN_BUS + q * FZR_QBLOCK + 1024u;
		st->queue_device[q] = FZR_WIN_BUS + q * FZR_QBLOCK + 1216u;
	}
	st->data_bus = FZR_WIN_BUS + FZR_DATA_OFF;
	st->data_size = FZR_WIN_SIZE - FZR_DATA_OFF;
}

static inline struct hvl_window fzr_window(const struct fz_remote *r)
{
	struct hvl_window w = { r->win, FZR_WIN_BUS, FZR_WIN_SIZE };

	return w;
}

static inline struct hvl_drv_area *fzr_drv(struct fz_remote *r)
{
	return (struct hvl_drv_area *)(void *)(r->page + HVL_DRV_AREA_OFFSET);
}

static inline struct hvl_ext *fzr_ext(struct fz_remote *r)
{
	return (struct hvl_ext *)(void *)(r->page + HVL_EXT_OFFSET);
}

/* Post a register write; the sequence number moves by @step (1 for a correct driver). */
static inline void fzr_txn(struct fz_remote *r, uint32_t off, uint32_t val, uint32_t size, uint32_t step)
{
	struct hvl_drv_area *a = fzr_drv(r);

	if (off == HVL_MMIO_STATUS)
		r->status_written |= val;
	hvl_le32_set(&a->txn_off, off);
	hvl_le32_set(&a->txn_val, val);
	hvl_le32_set(&a->txn_size, size);
	hvl_le32_release(&a->txn_seq, hvl_le32_get(&a->txn_seq) + step);
}

static inline void fzr_notify(struct fz_remote *r, unsigned q)
{
	hvl_le32_release(&fzr_drv(r)->notify[q], hvl_le32_get(&fzr_drv(r)->notify[q]) + 1u);
}

/* What fzr_after() compares with: taken before the device code runs. */
struct fzr_snap {
	uint32_t seq, seen;
};

static inline void fzr_before(struct fz_remote *r, struct fzr_snap *s)
{
	s->seq = hvl_le32_get(&fzr_drv(r)->txn_seq);
	s->seen = r->d->txn_seen;
	memcpy(r->drv_snap, r->page + HVL_DRV_AREA_OFFSET, sizeof(r->drv_snap));
}

/*
 * Check the transport invariants every device-level target shares, after
 * device code ran: the driver area is never written, an applied transaction
 * is acknowledged (only if @served: the device looked at its transactions),
 * NEEDS_RESET iff a violation was recorded, status bits are the driver's
 * (plus NEEDS_RESET), DRIVER_OK implies FEATURES_OK, features are a subset
 * of the offer, live rings are inside the window.
 */
static inline void fzr_after(struct fz_remote *r, const struct fzr_snap *s, int served)
{
	struct hvl_dev *d = r->d;
	uint32_t seq = s->seq, seen = s->seen;
	unsigned q;

	FZ_CHECK(memcmp(r->drv_snap, r->page + HVL_DRV_AREA_OFFSET, sizeof(r->drv_snap)) == 0);
	if (served && seq != seen) {
		FZ_CHECK(d->txn_seen == seq);
		FZ_CHECK(hvl_le32_get(&fzr_ext(r)->txn_ack) == seq);
	}
	FZ_CHECK((d->broken != HVL_BROKEN_NONE) ==
		 ((d->status & HVL_STATUS_DEVICE_NEEDS_RESET) != 0u));
	FZ_CHECK((d->status & ~(r->status_written | HVL_STATUS_DEVICE_NEEDS_RESET)) == 0u);
	if ((d->status & HVL_STATUS_DRIVER_OK) != 0u)
		FZ_CHECK((d->status & HVL_STATUS_FEATURES_OK) != 0u);
	if ((d->status & HVL_STATUS_FEATURES_OK) != 0u) {
		FZ_CHECK((d->features & ~d->st.features) == 0u);
		FZ_CHECK((d->features & HVL_F_VERSION_1) != 0u);
	}
	for (q = 0; q < HVL_MAX_QUEUES; q++) {
		const struct hvl_dev_queue *dq = &d->q[q];
		uint16_t n = dq->vq.num;

		if (!dq->ready)
			continue;
		FZ_CHECK(q < d->st.num_queues);
		FZ_CHECK(n >= 1u && n <= d->st.queue_num_max[q] && (n & (n - 1u)) == 0u);
		FZ_CHECK(fz_inside(dq->vq.desc, hvl_vring_desc_size(n), r->win, r->win_size));
		FZ_CHECK(fz_inside(dq->vq.avail, hvl_vring_avail_size(n), r->win, r->win_size));
		FZ_CHECK(fz_inside(dq->vq.used, hvl_vring_used_size(n), r->win, r->win_size));
	}
}

/* Service the device once (hvl_dev_service) and check as fzr_after() does. */
static inline void fzr_service(struct fz_remote *r, int all)
{
	struct fzr_snap s;

	fzr_before(r, &s);
	(void)hvl_dev_service(r->d, all);
	fzr_after(r, &s, 1);
}

static inline void fzr_txn_serve(struct fz_remote *r, uint32_t off, uint32_t val)
{
	fzr_txn(r, off, val, 4, 1);
	fzr_service(r, 0);
}

/* Static start of a correct driver: features @feat (masked by the offer), DRIVER_OK. */
static inline void fzr_bring_up(struct fz_remote *r, uint64_t feat)
{
	const uint32_t s = HVL_STATUS_ACKNOWLEDGE | HVL_STATUS_DRIVER;

	hvl_le64_set(&fzr_drv(r)->driver_features, (feat & r->d->st.features) | HVL_F_VERSION_1);
	fzr_txn_serve(r, HVL_MMIO_STATUS, HVL_STATUS_ACKNOWLEDGE);
	fzr_txn_serve(r, HVL_MMIO_STATUS, s);
	fzr_txn_serve(r, HVL_MMIO_STATUS, s | HVL_STATUS_FEATURES_OK);
	fzr_txn_serve(r, HVL_MMIO_STATUS, s | HVL_STATUS_FEATURES_OK | HVL_STATUS_DRIVER_OK);
}

/*
 * Hostile-driver actions every device target takes, each reading its
 * parameters from @f in a fixed order (the seed corpora depend on it).
 */

/* Store up to 31 fuzzed bytes anywhere in the window: rings, tables, data. */
static inline void fzr_scribble_window(struct fz_remote *r, struct fz *f)
{
	uint32_t off = fz_u16(f) % r->win_size, len = fz_u8(f) % 32u;

	if (len > r->win_size - off)
		len = r->win_size - off;
	(void)fz_bytes(f, r->win + off, len);
}

/* Reset, then a correct driver starts again with fuzzed ring features & @mask | @extra. */
static inline void fzr_restart(struct fz_remote *r, struct fz *f, uint64_t mask, uint64_t extra)
{
	fzr_txn_serve(r, HVL_MMIO_STATUS, 0);
	fzr_bring_up(r, (((uint64_t)fz_u8(f) << HVL_F_INDIRECT_DESC_BIT) & mask) | extra);
}

/* Any register or config-space write, of width 1, 2 or 4. */
static inline void fzr_any_write(struct fz_remote *r, struct fz *f)
{
	uint32_t off = fz_u16(f) % 0x400u, val = fz_u32(f);

	fzr_txn(r, off, val, 1u << (fz_u8(f) % 3u), 1);
}

/*
 * Post a chain of @n descriptors (@addr, @len, @flags; NEXT is added to all
 * but the last) on queue @q and notify, as a driver does.  The table entries
 * used are the avail index's slot times 4 (wrapping), so up to num/4 chains
 * stay distinct.  Returns 0, or -1 if the queue's current geometry is not
 * one a correct driver could use (the remote is the fuzzer: it may be).
 */
static inline int fzr_post_descs(struct fz_remote *r, unsigned q, unsigned n, const uint64_t *addr,
				 const uint32_t *len, const uint16_t *flags)
{
	struct hvl_dev *d = r->d;
	uint16_t num = d->q[q].num, idx, head;
	struct hvl_vring_desc *tbl;
	struct hvl_vring_avail *av;
	unsigned k;

	if (q >= d->st.num_queues || num == 0 || num > 64u || (num & (num - 1u)) != 0u)
		return -1;
	tbl = hvl_window_translate(&d->win, d->q[q].desc, hvl_vring_desc_size(num));
	av = hvl_window_translate(&d->win, d->q[q].driver, hvl_vring_avail_size(num));
	if (tbl == NULL || av == NULL || ((uintptr_t)tbl & 15u) != 0u || ((uintptr_t)av & 1u) != 0u)
		return -1;
	idx = hvl_le16_get(&av->idx);
	head = (uint16_t)((idx * 4u) & (num - 1u));
	for (k = 0; k < n; k++) {
		struct hvl_vring_desc *e = &tbl[(head + k) & (num - 1u)];

		hvl_le64_put(&e->addr, addr[k]);
		hvl_le32_put(&e->len, len[k]);
		hvl_le16_put(&e->flags, (uint16_t)(flags[k] | (k + 1u < n ? HVL_VRING_DESC_F_NEXT : 0u)));
		hvl_le16_put(&e->next, (uint16_t)((head + k + 1u) & (num - 1u)));
	}
	hvl_le16_put(&av->ring[idx & (num - 1u)], head);
	hvl_le16_release(&av->idx, (uint16_t)(idx + 1u));
	fzr_notify(r, q);
	return 0;
}

/*
 * A driver posts one chain of 1..4 buffers on a queue and notifies.  The
 * input picks the queue, the count, which buffers are device-writable (a
 * correct driver puts those last; the fuzzer may not) and each buffer's
 * slot (of 32 x 128 bytes in the data area) and length.
 */
static inline void fzr_post_chain(struct fz_remote *r, struct fz *f)
{
	uint64_t addr[4];
	uint32_t len[4];
	uint16_t flags[4];
	unsigned q = fz_u8(f) % r->d->st.num_queues;
	unsigned n = (fz_u8(f) & 3u) + 1u, k;
	uint8_t wmask = fz_u8(f);

	for (k = 0; k < n; k++) {
		addr[k] = r->win_bus + r->data_off + (uint64_t)(fz_u8(f) % 32u) * 128u;
		len[k] = (fz_u8(f) % 128u) + 1u;
		flags[k] = ((wmask >> k) & 1u) != 0u ? HVL_VRING_DESC_F_WRITE : 0u;
	}
	(void)fzr_post_descs(r, q, n, addr, len, flags);
}

/* Every popped chain lies inside the window and its lengths add up. */
static inline void fzr_check_chain(const struct fz_remote *r, const struct hvl_chain *c)
{
	uint64_t out = 0, in = 0;
	unsigned k;

	FZ_CHECK((unsigned)c->n_out + c->n_in <= c->cap);
	for (k = 0; k < (unsigned)c->n_out + c->n_in; k++) {
		FZ_CHECK(fz_inside(c->iov[k].base, c->iov[k].len, r->win, r->win_size));
		if (k < c->n_out)
			out += c->iov[k].len;
		else
			in += c->iov[k].len;
	}
	FZ_CHECK(out == c->out_len && in == c->in_len);
}

#endif /* HVL_FUZZ_REMOTE_H */

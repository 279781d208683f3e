/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: the device-side descriptor-chain walk (src/ring/vq_device.c).
 *
 * The remote writes the descriptor table, the avail ring (flags, idx, ring,
 * used_event) and any indirect tables; the PMM must survive whatever it
 * finds there.  The input supplies the queue geometry, the features, the
 * whole window image and a script of device actions (pop, push, interrupt
 * decision, notification enable/disable) interleaved with driver stores
 * into the window (avail idx moving, descriptors changing under our feet).
 *
 * Input: 8-byte header, script length (1 byte), script, window image.
 *   hdr[0]  bit 7 clear: queue size 1 << (bits 0-2); set: raw u16 follows
 *   hdr[1]  bit 0 EVENT_IDX, bit 1 INDIRECT_DESC, bit 2 cache hooks,
 *           bits 4-5 window bus base (0, 0x10000, 2^31, top of 2^64)
 *   hdr[2]  bit 0: three raw u16 ring offsets follow (else the standard
 *           desc/avail/used layout at offset 0)
 *   hdr[3]  iov capacity (0 = 1024)
 *
 * Invariants checked (ours, not the peer's):
 *   - every iov of a popped chain lies inside the window, none is empty,
 *     n_out + n_in <= capacity, and the lengths add up to out_len/in_len;
 *   - a device action writes nothing but the used ring;
 *   - cache maintenance ranges lie inside the window;
 *   - after a fault, every later pop returns the same error, has_work and
 *     enable_notify report no work;
 *   - push writes the used element and used->idx it says it writes.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "hvl/vq_device.h"
#include "hvl/wire/region.h"

#define WIN_SIZE 4096u
#define MAX_HELD 256u

struct ring_fz {
	struct hvl_vq_dev vq;
	struct hvl_window win;
	uint8_t *mem;           /* the window: exactly WIN_SIZE bytes (ASan sees overruns) */
	uint8_t snap[WIN_SIZE]; /* window before a device action */
	uint64_t used_off;      /* used ring, window offset */
	size_t used_size;
	struct hvl_chain c;
	uint16_t held[MAX_HELD];/* heads popped, not yet pushed (FIFO) */
	uint32_t held_in[MAX_HELD];
	unsigned nheld;
	int fault;              /* first error pop returned, 0 none */
};

/* Cache hooks: each range the ring maintains must be window memory. */
static void cache_check(void *ctx, const void *p, size_t len)
{
	const struct ring_fz *r = ctx;

	FZ_CHECK(len > 0);
	FZ_CHECK(fz_inside(p, len, r->mem, WIN_SIZE));
}

static const struct hvl_cache_ops cache_ops = {
	.flush = cache_check,
	.invalidate = cache_check,
};

static void snap(struct ring_fz *r)
{
	memcpy(r->snap, r->mem, WIN_SIZE);
}

/* The device may only have written its used ring since snap(). */
static void check_writes(const struct ring_fz *r)
{
	size_t lo = 0, hi = 0;

	if (r->used_size != 0) {
		lo = (size_t)r->used_off;
		hi = lo + r->used_size;
	}
	/* [0, lo) and [hi, end) unchanged; the used ring [lo, hi) is the device's. */
	FZ_CHECK(memcmp(r->mem, r->snap, lo) == 0);
	FZ_CHECK(memcmp(r->mem + hi, r->snap + hi, WIN_SIZE - hi) == 0);
}

static void check_chain(const struct ring_fz *r, const struct hvl_chain *c)
{
	uint64_t out = 0, in = 0;
	unsigned k;

	FZ_CHECK(c->head < r->vq.num);
	FZ_CHECK((unsigned)c->n_out + c->n_in >= 1u);
	FZ_CHECK((unsigned)c->n_out + c->n_in <= c->cap);
	for (k = 0; k < (unsigned)c->n_out + c->n_in; k++) {
		FZ_CHECK(c->iov[k].len > 0);
		FZ_CHECK(fz_inside(c->iov[k].base, c->iov[k].len, r->mem, WIN_SIZE));
		if (k < c->n_out)
			out += c->iov[k].len;
		else
			in += c->iov[k].len;
	}
	FZ_CHECK(out == c->out_len);
	FZ_CHECK(in == c->in_len);
	FZ_CHECK(out + in <= UINT32_MAX);
}

static void do_pop(struct ring_fz *r)
{
	int rc;

	snap(r);
	rc = hvl_vq_dev_pop(&r->vq, &r->c);
	check_writes(r);
	if (r->fault != 0) {
		/* Sticky: the queue stays broken until the transport resets it. */
		FZ_CHECK(rc == r->fault);
		return;
	}
	if (rc < 0) {
		FZ_CHECK(rc == -EPROTO || rc == -EFAULT || rc == -EINVAL);
		FZ_CHECK(r->vq.fault != HVL_VQ_OK);
		r->fault = rc;
		return;
	}
	FZ_CHECK(rc == 0 || rc == 1);
	if (rc == 0)
		return;
	check_chain(r, &r->c);
	/* The ring never hands out more chains than it has descriptors. */
	FZ_CHECK(r->nheld < r->vq.num);
	FZ_CHECK(r->nheld < MAX_HELD);
	r->held[r->nheld] = r->c.head;
	r->held_in[r->nheld] = r->c.in_len;
	r->nheld++;
}

static void do_push(struct ring_fz *r, uint8_t frac)
{
	struct hvl_vring_used *u;
	uint16_t head, pos, before;
	uint32_t len;

	if (r->nheld == 0)
		return;
	head = r->held[0];
	len = (uint32_t)(((uint64_t)r->held_in[0] * frac) / 255u);
	memmove(&r->held[0], &r->held[1], (r->nheld - 1u) * sizeof(r->held[0]));
	memmove(&r->held_in[0], &r->held_in[1], (r->nheld - 1u) * sizeof(r->held_in[0]));
	r->nheld--;
	before = r->vq.used_idx;
	snap(r);
	hvl_vq_dev_push(&r->vq, head, len);
	check_writes(r);
	u = r->vq.used;
	pos = (uint16_t)(before & (uint16_t)(r->vq.num - 1u));
	FZ_CHECK(hvl_le32_get(&u->ring[pos].id) == head);
	FZ_CHECK(hvl_le32_get(&u->ring[pos].len) == len);
	FZ_CHECK(hvl_le16_get(&u->idx) == (uint16_t)(before + 1u));
}

/* Device actions other than pop/push: must not write outside the used ring. */
static void do_other(struct ring_fz *r, unsigned op)
{
	int rc = 0;

	snap(r);
	switch (op) {
	case 2: rc = hvl_vq_dev_need_interrupt(&r->vq); break;
	case 3: rc = hvl_vq_dev_enable_notify(&r->vq); break;
	case 4: hvl_vq_dev_disable_notify(&r->vq); break;
	default: rc = hvl_vq_dev_has_work(&r->vq); break;
	}
	check_writes(r);
	FZ_CHECK(rc == 0 || rc == 1);
	if (r->fault != 0 && op != 2)
		FZ_CHECK(rc == 0); /* a broken queue reports no work */
}

static uint64_t pick_base(unsigned sel)
{
	switch (sel & 3u) {
	case 0: return 0;
	case 1: return 0x10000u;
	case 2: return 0x80000000u;
	default: return UINT64_MAX - WIN_SIZE + 1u; /* last byte is 2^64 - 1 */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	struct fz script;
	struct ring_fz *r;
	uint8_t h0, h1, h2, h3, slen;
	uint16_t num;
	uint64_t desc, avail, used, feat = 0;
	unsigned cap, i;
	int rc;

	r = calloc(1, sizeof(*r));
	FZ_CHECK(r != NULL);
	h0 = fz_u8(&f);
	h1 = fz_u8(&f);
	h2 = fz_u8(&f);
	h3 = fz_u8(&f);
	(void)fz_u32(&f); /* reserved header bytes, room to grow */
	num = (h0 & 0x80u) != 0u ? fz_u16(&f) : (uint16_t)(1u << (h0 & 7u));
	if ((h2 & 1u) != 0u) {
		desc = fz_u16(&f);
		avail = fz_u16(&f);
		used = fz_u16(&f);
	} else {
		desc = 0;
		avail = hvl_vring_desc_size(num);
		used = (avail + hvl_vring_avail_size(num) + 3u) & ~(uint64_t)3u;
	}
	slen = fz_u8(&f);
	script.p = f.p;
	script.n = slen < f.n ? slen : f.n;
	f.p += script.n;
	f.n -= script.n;

	/* The window is its own allocation: ASan flags any byte beyond it. */
	r->mem = malloc(WIN_SIZE);
	FZ_CHECK(r->mem != NULL);
	(void)fz_bytes(&f, r->mem, WIN_SIZE);
	r->win.local = r->mem;
	r->win.bus = pick_base(h1 >> 4);
	r->win.size = WIN_SIZE;
	cap = h3 == 0u ? 1024u : h3;
	r->c.iov = malloc(cap * sizeof(*r->c.iov));
	FZ_CHECK(r->c.iov != NULL);
	r->c.cap = cap;
	if ((h1 & 1u) != 0u)
		feat |= HVL_F_EVENT_IDX;
	if ((h1 & 2u) != 0u)
		feat |= HVL_F_INDIRECT_DESC;

	snap(r);
	rc = hvl_vq_dev_init(&r->vq, &r->win, num, r->win.bus + desc, r->win.bus + avail,
			     r->win.bus + used, feat, (h1 & 4u) != 0u ? &cache_ops : NULL, r);
	if (rc == 0) {
		r->used_off = used;
		r->used_size = hvl_vring_used_size(num);
		check_writes(r);
		/* Geometry: every part inside the window, used ring not over the others. */
		FZ_CHECK(fz_inside(r->vq.desc, hvl_vring_desc_size(num), r->mem, WIN_SIZE));
		FZ_CHECK(fz_inside(r->vq.avail, hvl_vring_avail_size(num), r->mem, WIN_SIZE));
		FZ_CHECK(fz_inside(r->vq.used, hvl_vring_used_size(num), r->mem, WIN_SIZE));
	} else {
		/* A refused geometry wrote nothing and stays refused. */
		FZ_CHECK(rc == -EINVAL && r->vq.fault == HVL_VQ_FAULT_GEOMETRY);
		check_writes(r);
		r->fault = -EINVAL;
		FZ_CHECK(hvl_vq_dev_pop(&r->vq, &r->c) == -EINVAL);
		goto out;
	}

	while (script.n > 0) {
		uint8_t op = fz_u8(&script);
		uint16_t off;

		switch (op & 7u) {
		case 0:
			do_pop(r);
			break;
		case 1:
			do_push(r, fz_u8(&script));
			break;
		case 6: {
			/* The driver stores a 16-bit value (avail idx, a ring entry...). */
			uint16_t v;

			off = (uint16_t)(fz_u16(&script) % (WIN_SIZE - 1u));
			v = fz_u16(&script);
			memcpy(r->mem + off, &v, sizeof(v));
			break;
		}
		case 7:
			off = (uint16_t)(fz_u16(&script) % WIN_SIZE);
			r->mem[off] = fz_u8(&script);
			break;
		default:
			do_other(r, op & 7u);
			break;
		}
	}
	/* Drain: take every chain the ring offers, give each back. */
	for (i = 0; i < 2u * num + 2u && i < 4096u; i++) {
		unsigned before = r->nheld;

		do_pop(r);
		if (r->nheld == before)
			break;
		do_push(r, 0xff);
		do_other(r, 2);
	}
	do_other(r, 3);
	do_other(r, 5);
out:
	free(r->c.iov);
	free(r->mem);
	free(r);
	return 0;
}

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Split virtqueue, driver side (virtio 1.2 §2.7), for the remote core.
 *
 * Trust model (STYLE.md 10): the driver trusts its own bookkeeping and checks
 * everything the device writes (used->idx, used elements, avail_event, used
 * flags).  All bookkeeping lives in caller-provided storage and in this
 * struct; nothing the driver needs to stay consistent is ever read back from
 * shared memory.  In particular the descriptor free list is kept in the
 * private vq->next[] array, never in desc[].next, so a device that scribbles
 * on the descriptor table cannot corrupt it.
 *
 * Freestanding: only <stdint.h>, <stddef.h>, <string.h>, <errno.h>; no
 * allocation, no recursion, every loop bounded by the queue or chain size
 * (MISRA C:2012 habits, STYLE.md 14).
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hvl/vq_driver.h"
#include "hvl/wire/region.h"

#ifndef ENOTSUP
#define ENOTSUP 134 /* some freestanding errno.h lack it; value as in newlib */
#endif

/* Largest indirect table we create; the device refuses larger ones. */
#define DRV_IND_MAX HVL_VRING_MAX_SIZE

static uint16_t ring_mask(const struct hvl_vq_drv *vq, uint16_t idx)
{
	/* num is a power of two (checked at init), so masking is the modulo. */
	return (uint16_t)(idx & (uint16_t)(vq->num - 1u));
}

static void flush(const struct hvl_vq_drv *vq, const void *p, size_t len)
{
	hvl_cache_flush(vq->cache, vq->cache_ctx, p, len);
}

static void invalidate(const struct hvl_vq_drv *vq, const void *p, size_t len)
{
	hvl_cache_invalidate(vq->cache, vq->cache_ctx, p, len);
}

static void mark_broken(struct hvl_vq_drv *vq)
{
	/* Sticky: nothing clears it but a new hvl_vq_drv_init() after reset. */
	vq->broken = 1u;
}

int hvl_vq_drv_init(struct hvl_vq_drv *vq, void *desc, void *avail, void *used,
		    uint16_t num, uint64_t features, void *storage, size_t storage_len,
		    const struct hvl_cache_ops *cache, void *cache_ctx)
{
	uint32_t i;

	if (vq == NULL || desc == NULL || avail == NULL || used == NULL || storage == NULL)
		return -EINVAL;
	/* §2.7: Queue Size is a power of two, at most 32768. */
	if (num == 0u || (num & (uint16_t)(num - 1u)) != 0u || num > HVL_VRING_MAX_SIZE)
		return -EINVAL;
	if (storage_len < HVL_VQ_DRV_STORAGE(num))
		return -EINVAL;
	/* The slot array comes first in the storage and holds a pointer. */
	if (((uintptr_t)storage % _Alignof(struct hvl_vq_drv_slot)) != 0u)
		return -EINVAL;
	/* §2.7 "Virtqueue Part Alignment": the driver's own layout must obey it. */
	if (((uintptr_t)desc % HVL_VRING_DESC_ALIGN) != 0u ||
	    ((uintptr_t)avail % HVL_VRING_AVAIL_ALIGN) != 0u ||
	    ((uintptr_t)used % HVL_VRING_USED_ALIGN) != 0u)
		return -EINVAL;

	(void)memset(vq, 0, sizeof(*vq));
	vq->desc = desc;
	vq->avail = avail;
	vq->used = used;
	vq->num = num;
	vq->used_event = &vq->avail->ring[num];
	vq->avail_event = (hvl_le16 *)(void *)&vq->used->ring[num];
	vq->event_idx = ((features & HVL_F_EVENT_IDX) != 0u) ? 1u : 0u;
	vq->indirect_ok = ((features & HVL_F_INDIRECT_DESC) != 0u) ? 1u : 0u;
	vq->cache = cache;
	vq->cache_ctx = cache_ctx;

	vq->slot = storage;
	vq->next = (uint16_t *)(void *)((uint8_t *)storage +
					(size_t)num * sizeof(struct hvl_vq_drv_slot));
	/* Free list 0 -> 1 -> ... -> num-1; the last link (num) is never followed
	 * because num_free bounds every walk. */
	for (i = 0u; i < num; i++) {
		vq->slot[i].cookie = NULL;
		vq->slot[i].in_len = 0u;
		vq->slot[i].ndesc = 0u;
		vq->slot[i].last = 0u;
		vq->next[i] = (uint16_t)(i + 1u);
	}
	vq->free_head = 0u;
	vq->num_free = num;

	/*
	 * Zero the parts the driver owns: descriptor table and available ring
	 * (flags 0 = interrupts wanted, idx 0, used_event 0 = interrupt after
	 * the first used buffer, §2.7.7).  The used ring belongs to the device,
	 * which zeroes it when it accepts the queue.
	 */
	(void)memset(desc, 0, hvl_vring_desc_size(num));
	(void)memset(avail, 0, hvl_vring_avail_size(num));
	flush(vq, desc, hvl_vring_desc_size(num));
	flush(vq, avail, hvl_vring_avail_size(num));
	return 0;
}

int hvl_vq_drv_set_indirect(struct hvl_vq_drv *vq, void *local, uint64_t bus, uint16_t per_head)
{
	uint64_t bytes;

	if (vq == NULL || vq->slot == NULL)
		return -EINVAL;
	/* §2.7.5.3.1: INDIRECT only if VIRTIO_F_INDIRECT_DESC was negotiated. */
	if (vq->indirect_ok == 0u)
		return -ENOTSUP;
	/* A one-entry table saves nothing; the device caps tables at 32768. */
	if (local == NULL || per_head < 2u || per_head > DRV_IND_MAX)
		return -EINVAL;
	if (((uintptr_t)local % HVL_VRING_DESC_ALIGN) != 0u || (bus % HVL_VRING_DESC_ALIGN) != 0u)
		return -EINVAL;
	/* num * per_head * 16 <= 2^15 * 2^15 * 2^4: fits 64 bits, maybe not size_t. */
	bytes = (uint64_t)vq->num * per_head * sizeof(struct hvl_vring_desc);
	if (bytes > (uint64_t)SIZE_MAX || bus > UINT64_MAX - bytes)
		return -EINVAL;
	vq->ind = local;
	vq->ind_bus = bus;
	vq->ind_max = per_head;
	return 0;
}

static void put_desc(const struct hvl_vq_drv *vq, struct hvl_vring_desc *d, uint64_t addr,
		     uint32_t len, uint16_t flags, uint16_t next)
{
	/*
	 * On coherent memory a descriptor that already holds these values is
	 * not written again: a buffer reposted to the same descriptor leaves
	 * the line clean in the device's cache, which saves it a cross-core
	 * transfer on the way to the data.  (Reading back what a misbehaving
	 * device may have changed is harmless: we write whatever differs.)
	 */
	if (vq->cache == NULL && hvl_le64_once(&d->addr) == addr && hvl_le32_once(&d->len) == len &&
	    hvl_le16_once(&d->flags) == flags && hvl_le16_once(&d->next) == next)
		return;
	/* Relaxed single-copy stores: a misbehaving device may read concurrently. */
	hvl_le64_set(&d->addr, addr);
	hvl_le32_set(&d->len, len);
	hvl_le16_set(&d->flags, flags);
	hvl_le16_set(&d->next, next);
}

/* Write a chain into the head's indirect table; one ring descriptor. */
static void add_indirect(struct hvl_vq_drv *vq, uint16_t head, const struct hvl_sg *sg,
			 unsigned n_out, unsigned total)
{
	/* Table for head h sits at ind + h * ind_max (hvl_vq_drv_set_indirect). */
	size_t first = (size_t)head * vq->ind_max;
	struct hvl_vring_desc *tbl = &vq->ind[first];
	uint64_t tbl_bus = vq->ind_bus + (uint64_t)first * sizeof(struct hvl_vring_desc);
	unsigned k;

	for (k = 0u; k < total; k++) {
		uint16_t flags = (k >= n_out) ? (uint16_t)HVL_VRING_DESC_F_WRITE : 0u;
		uint16_t next = 0u;

		/* §2.7.5.3: table entries chain by index inside the table. */
		if ((k + 1u) < total) {
			flags = (uint16_t)(flags | HVL_VRING_DESC_F_NEXT);
			next = (uint16_t)(k + 1u);
		}
		put_desc(vq, &tbl[k], sg[k].addr, sg[k].len, flags, next);
	}
	flush(vq, tbl, (size_t)total * sizeof(struct hvl_vring_desc));

	/* §2.7.5.3.1: INDIRECT never together with NEXT; WRITE is ignored there. */
	put_desc(vq, &vq->desc[head], tbl_bus,
		 (uint32_t)(total * (unsigned)sizeof(struct hvl_vring_desc)),
		 (uint16_t)HVL_VRING_DESC_F_INDIRECT, 0u);
	flush(vq, &vq->desc[head], sizeof(struct hvl_vring_desc));
	vq->free_head = vq->next[head];
	vq->slot[head].ndesc = 1u;
	vq->slot[head].last = head;
}

/* Write a chain into free descriptors of the ring's own table. */
static void add_direct(struct hvl_vq_drv *vq, uint16_t head, const struct hvl_sg *sg,
		       unsigned n_out, unsigned total)
{
	uint16_t i = head;
	uint16_t last = head;
	unsigned k;

	/*
	 * Take descriptors in free-list order.  The private links of the chain
	 * are left untouched, so freeing it later is O(1): link its last entry
	 * to the old free head (the "last" field of the slot).
	 */
	for (k = 0u; k < total; k++) {
		uint16_t flags = (k >= n_out) ? (uint16_t)HVL_VRING_DESC_F_WRITE : 0u;
		uint16_t next = 0u;

		if ((k + 1u) < total) {
			flags = (uint16_t)(flags | HVL_VRING_DESC_F_NEXT);
			next = vq->next[i];
		}
		put_desc(vq, &vq->desc[i], sg[k].addr, sg[k].len, flags, next);
		flush(vq, &vq->desc[i], sizeof(struct hvl_vring_desc));
		last = i;
		i = vq->next[i];
	}
	vq->free_head = i;
	vq->slot[head].ndesc = (uint16_t)total;
	vq->slot[head].last = last;
}

int hvl_vq_drv_add(struct hvl_vq_drv *vq, const struct hvl_sg *sg, unsigned n_out,
		   unsigned n_in, void *cookie)
{
	unsigned total;
	unsigned k;
	unsigned need;
	uint64_t bytes = 0u;
	uint64_t in_bytes = 0u;
	uint16_t head;
	uint16_t pos;
	int use_ind;

	if (vq == NULL || vq->slot == NULL)
		return -EINVAL;
	if (vq->broken != 0u)
		return -EIO;
	if (sg == NULL || cookie == NULL)
		return -EINVAL;
	/* Bound each count first so n_out + n_in cannot wrap. */
	if (n_out > HVL_VRING_MAX_SIZE || n_in > HVL_VRING_MAX_SIZE)
		return -EINVAL;
	total = n_out + n_in;
	if (total == 0u)
		return -EINVAL;
	/*
	 * The device rejects zero-length descriptors and chains above 4 GiB
	 * (§2.7.5: "MUST NOT add a descriptor chain longer than 2^32 bytes";
	 * we stop at 2^32 - 1 so the lengths fit the 32-bit used.len).
	 */
	for (k = 0u; k < total; k++) {
		if (sg[k].len == 0u)
			return -EINVAL;
		bytes += sg[k].len;
		if (k >= n_out)
			in_bytes += sg[k].len;
	}
	if (bytes > UINT32_MAX)
		return -EINVAL;

	use_ind = (vq->ind != NULL && total > 1u && total <= vq->ind_max) ? 1 : 0;
	/* §2.7.5.3.1: a direct chain may not be longer than the queue. */
	if (use_ind == 0 && total > vq->num)
		return -EINVAL;
	need = (use_ind != 0) ? 1u : total;
	if (need > vq->num_free)
		return -ENOSPC;

	head = vq->free_head;
	if (use_ind != 0)
		add_indirect(vq, head, sg, n_out, total);
	else
		add_direct(vq, head, sg, n_out, total);
	vq->num_free = (uint16_t)(vq->num_free - need);
	vq->slot[head].cookie = cookie;
	vq->slot[head].in_len = (uint32_t)in_bytes;

	/*
	 * §2.7.13.2: place the head in the next avail entry.  The device does
	 * not look at it until avail->idx moves (hvl_vq_drv_kick_prepare).
	 */
	pos = ring_mask(vq, vq->avail_idx);
	/* Same rule as put_desc(): an entry that already names this head stays clean. */
	if (vq->cache != NULL || hvl_le16_once(&vq->avail->ring[pos]) != head)
		hvl_le16_set(&vq->avail->ring[pos], head);
	flush(vq, &vq->avail->ring[pos], sizeof(hvl_le16));
	vq->avail_idx++;
	vq->num_added++;
	return 0;
}

int hvl_vq_drv_publish(struct hvl_vq_drv *vq)
{
	if (vq == NULL || vq->slot == NULL || vq->num_added == 0u)
		return 0;
	/* The same release store as in kick_prepare (§2.7.13.3), then nothing to decide. */
	hvl_le16_release(&vq->avail->idx, vq->avail_idx);
	flush(vq, &vq->avail->idx, sizeof(hvl_le16));
	vq->kicked_idx = vq->avail_idx;
	vq->num_added = 0u;
	return 1;
}

int hvl_vq_drv_kick_prepare(struct hvl_vq_drv *vq)
{
	uint16_t old_idx;
	uint16_t new_idx;
	int need;

	if (vq == NULL || vq->slot == NULL || vq->num_added == 0u)
		return 0;
	old_idx = vq->kicked_idx;
	new_idx = vq->avail_idx;

	/*
	 * §2.7.13.3: release store of avail->idx.  Pairs with the device's
	 * acquire load of avail->idx (hvl_vq_dev_pop/has_work): descriptors,
	 * indirect tables and avail entries written above are visible to it
	 * once it sees the new index.
	 */
	hvl_le16_release(&vq->avail->idx, new_idx);
	flush(vq, &vq->avail->idx, sizeof(hvl_le16));
	vq->kicked_idx = new_idx;
	vq->num_added = 0u;

	/*
	 * §2.7.13.4: full fence between publishing idx and reading the device's
	 * suppression state.  Pairs with the fence in hvl_vq_dev_enable_notify()
	 * (and in pop while notifications are on), which stores avail_event or
	 * clears NO_NOTIFY and then re-reads avail->idx: at least one side sees
	 * the other's store, so no notification is lost.
	 */
	hvl_mb();
	if (vq->event_idx != 0u) {
		uint16_t ev;

		invalidate(vq, vq->avail_event, sizeof(hvl_le16));
		ev = hvl_le16_once(vq->avail_event);
		/* §2.7.10: notify if [old, new) crossed avail_event. */
		need = hvl_vring_need_event(ev, new_idx, old_idx);
	} else {
		uint16_t flags;

		invalidate(vq, &vq->used->flags, sizeof(hvl_le16));
		flags = hvl_le16_once(&vq->used->flags);
		need = ((flags & HVL_VRING_USED_F_NO_NOTIFY) == 0u) ? 1 : 0;
	}
	return need;
}

void *hvl_vq_drv_get_used(struct hvl_vq_drv *vq, uint32_t *len)
{
	const struct hvl_vring_used_elem *e;
	struct hvl_vq_drv_slot *s;
	uint16_t used_idx;
	uint16_t pos;
	uint32_t id;
	uint32_t ulen;
	void *cookie;

	if (vq == NULL || vq->slot == NULL || vq->broken != 0u)
		return NULL;

	invalidate(vq, &vq->used->idx, sizeof(hvl_le16));
	/*
	 * Acquire load of used->idx, read once.  Pairs with the device's release
	 * store in hvl_vq_dev_push(): the used element (and the data it wrote
	 * into our buffers) is visible once we see the index.
	 */
	used_idx = hvl_le16_acquire(&vq->used->idx);
	if (used_idx == vq->last_used)
		return NULL;
	/*
	 * The device cannot have used more chains than we published and have
	 * not consumed yet (kicked_idx - last_used, modulo 2^16).
	 */
	if ((uint16_t)(used_idx - vq->last_used) > (uint16_t)(vq->kicked_idx - vq->last_used)) {
		mark_broken(vq);
		return NULL;
	}

	pos = ring_mask(vq, vq->last_used);
	e = &vq->used->ring[pos];
	invalidate(vq, e, sizeof(*e));
	/* Copy both fields once, then check only the copies (STYLE.md 7). */
	id = hvl_le32_once(&e->id);
	ulen = hvl_le32_once(&e->len);

	/*
	 * STYLE.md 10: id must be one of our outstanding heads.  A device could
	 * still name a head added but not yet published; that is no worse than
	 * completing an outstanding head early, and our bookkeeping stays
	 * consistent either way.
	 */
	if (id >= vq->num || vq->slot[id].cookie == NULL) {
		mark_broken(vq);
		return NULL;
	}
	s = &vq->slot[id];
	/* §2.7.8: len counts bytes written into the device-writable part. */
	if (ulen > s->in_len) {
		mark_broken(vq);
		return NULL;
	}

	/* Give the chain's descriptors back: O(1) splice of [id .. last]. */
	vq->next[s->last] = vq->free_head;
	vq->free_head = (uint16_t)id;
	vq->num_free = (uint16_t)(vq->num_free + s->ndesc);
	cookie = s->cookie;
	s->cookie = NULL;
	s->ndesc = 0u;
	s->in_len = 0u;
	vq->last_used++;
	if (len != NULL)
		*len = ulen;
	return cookie;
}

int hvl_vq_drv_more_used(const struct hvl_vq_drv *vq)
{
	uint16_t used_idx;

	if (vq == NULL || vq->slot == NULL || vq->broken != 0u)
		return 0;
	invalidate(vq, &vq->used->idx, sizeof(hvl_le16));
	/* Acquire: pairs with the release store in hvl_vq_dev_push(). */
	used_idx = hvl_le16_acquire(&vq->used->idx);
	return (used_idx != vq->last_used) ? 1 : 0;
}

int hvl_vq_drv_enable_cb(struct hvl_vq_drv *vq)
{
	if (vq == NULL || vq->slot == NULL || vq->broken != 0u)
		return 0;
	if (vq->event_idx != 0u) {
		/* §2.7.7: interrupt once the device writes entry last_used. */
		hvl_le16_set(vq->used_event, vq->last_used);
		flush(vq, vq->used_event, sizeof(hvl_le16));
	} else {
		hvl_le16_set(&vq->avail->flags, 0u);
		flush(vq, &vq->avail->flags, sizeof(hvl_le16));
	}
	/*
	 * Full fence between publishing our wish and re-reading used->idx.
	 * Pairs with the fence in hvl_vq_dev_need_interrupt(), which stores
	 * used->idx and then reads used_event/flags: either the device sees
	 * our enable and interrupts, or we see its new entries here.
	 */
	hvl_mb();
	return hvl_vq_drv_more_used(vq);
}

int hvl_vq_drv_enable_cb_delayed(struct hvl_vq_drv *vq, uint16_t after)
{
	uint16_t outstanding;

	if (vq == NULL || vq->slot == NULL || vq->broken != 0u)
		return 0;
	/*
	 * Chains added and not yet consumed (the caller has published them
	 * with hvl_vq_drv_kick_prepare before waiting): the device will use
	 * every one of them, so an interrupt point among them is reached.
	 */
	outstanding = (uint16_t)(vq->avail_idx - vq->last_used);
	if (vq->event_idx == 0u || after <= 1u || outstanding <= 1u)
		return hvl_vq_drv_enable_cb(vq);
	/*
	 * §2.7.10: the device interrupts when used->idx moves past used_event,
	 * so last_used + after - 1 asks for an interrupt once @after more
	 * entries are used.  Never further than what is outstanding, or we
	 * would wait for entries that never come.
	 */
	if (after > outstanding)
		after = outstanding;
	hvl_le16_set(vq->used_event, (uint16_t)(vq->last_used + after - 1u));
	flush(vq, vq->used_event, sizeof(hvl_le16));
	/* Same fence and re-check as hvl_vq_drv_enable_cb(). */
	hvl_mb();
	return hvl_vq_drv_more_used(vq);
}

void hvl_vq_drv_disable_cb(struct hvl_vq_drv *vq)
{
	if (vq == NULL || vq->slot == NULL)
		return;
	if (vq->event_idx != 0u) {
		/*
		 * §2.7.7.1: with EVENT_IDX flags must stay 0.  Point used_event
		 * just behind what we consumed: the device will not cross it
		 * until the index wraps (65535 entries later; a spurious
		 * interrupt then is harmless).
		 */
		hvl_le16_set(vq->used_event, (uint16_t)(vq->last_used - 1u));
		flush(vq, vq->used_event, sizeof(hvl_le16));
	} else {
		hvl_le16_set(&vq->avail->flags, (uint16_t)HVL_VRING_AVAIL_F_NO_INTERRUPT);
		flush(vq, &vq->avail->flags, sizeof(hvl_le16));
	}
}

unsigned hvl_vq_drv_num_free(const struct hvl_vq_drv *vq)
{
	return (vq == NULL) ? 0u : vq->num_free;
}

int hvl_vq_drv_broken(const struct hvl_vq_drv *vq)
{
	return (vq == NULL || vq->broken != 0u) ? 1 : 0;
}

void *hvl_vq_drv_detach_unused(struct hvl_vq_drv *vq)
{
	uint32_t i;

	if (vq == NULL || vq->slot == NULL)
		return NULL;
	/* Only after a device reset: nothing is in flight on the device side. */
	for (i = 0u; i < vq->num; i++) {
		struct hvl_vq_drv_slot *s = &vq->slot[i];

		if (s->cookie != NULL) {
			void *cookie = s->cookie;

			vq->next[s->last] = vq->free_head;
			vq->free_head = (uint16_t)i;
			vq->num_free = (uint16_t)(vq->num_free + s->ndesc);
			s->cookie = NULL;
			s->ndesc = 0u;
			s->in_len = 0u;
			return cookie;
		}
	}
	return NULL;
}

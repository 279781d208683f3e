/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Split virtqueue, device side (virtio 1.2 §2.7), for the PMM.
 *
 * Trust model (STYLE.md 7, 9-12): nothing in shared memory is trusted.  The
 * ring geometry is validated once in hvl_vq_dev_init() and only the private
 * copy in struct hvl_vq_dev is used afterwards.  Every field the driver can
 * change (avail->idx, avail ring entries, descriptors, indirect tables,
 * used_event, avail->flags) is fetched exactly once into a local, and only
 * the local is checked and used.  Every buffer is translated through the
 * device window, so no address the driver supplies can make us touch memory
 * outside it.  A violation sets vq->fault and the queue stays broken: every
 * later pop returns the same error until the transport resets the queue.
 */
#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hvl/vq_device.h"
#include "hvl/wire/region.h"

/* §2.7.5.3: an indirect table is len/16 descriptors; we accept up to 32768. */
#define DEV_IND_MAX_ENTRIES HVL_VRING_MAX_SIZE
/* iov[] indices are stored in 16-bit n_out/n_in. */
#define DEV_IOV_MAX 65535u

void *hvl_window_translate(const struct hvl_window *w, uint64_t addr, uint64_t len)
{
	uint64_t off;

	if (w == NULL || w->local == NULL)
		return NULL;
	/* Work on offsets only: addr + len is never formed, so it cannot wrap. */
	if (addr < w->bus)
		return NULL;
	off = addr - w->bus;
	if (off >= w->size)
		return NULL;
	if (len > w->size - off)
		return NULL;
	if (off > (uint64_t)SIZE_MAX)
		return NULL;
	return w->local + (size_t)off;
}

const char *hvl_vq_fault_str(enum hvl_vq_fault f)
{
	const char *s;

	switch (f) {
	case HVL_VQ_OK:              s = "ok"; break;
	case HVL_VQ_FAULT_AVAIL_IDX: s = "avail idx out of range"; break;
	case HVL_VQ_FAULT_HEAD:      s = "head index out of range"; break;
	case HVL_VQ_FAULT_NEXT:      s = "next index out of range"; break;
	case HVL_VQ_FAULT_LOOP:      s = "descriptor chain too long (loop)"; break;
	case HVL_VQ_FAULT_ADDRESS:   s = "buffer outside the device window"; break;
	case HVL_VQ_FAULT_ORDER:     s = "readable descriptor after a writable one"; break;
	case HVL_VQ_FAULT_INDIRECT:  s = "bad indirect descriptor"; break;
	case HVL_VQ_FAULT_ZERO_LEN:  s = "zero-length descriptor"; break;
	case HVL_VQ_FAULT_TOO_BIG:   s = "descriptor chain too big"; break;
	case HVL_VQ_FAULT_GEOMETRY:  s = "bad ring geometry"; break;
	default:                     s = "unknown fault"; break;
	}
	return s;
}

static int fault_errno(enum hvl_vq_fault f)
{
	int err;

	switch (f) {
	case HVL_VQ_OK:            err = 0; break;
	case HVL_VQ_FAULT_ADDRESS: err = -EFAULT; break;
	case HVL_VQ_FAULT_GEOMETRY: err = -EINVAL; break;
	default:                   err = -EPROTO; break;
	}
	return err;
}

/* Record the first fault (sticky) and return its errno. */
static int dev_fail(struct hvl_vq_dev *vq, enum hvl_vq_fault f)
{
	if (vq->fault == HVL_VQ_OK)
		vq->fault = f;
	return fault_errno(vq->fault);
}

static void flush(const struct hvl_vq_dev *vq, const void *p, size_t len)
{
	hvl_cache_flush(vq->cache, vq->cache_ctx, p, len);
}

static void invalidate(const struct hvl_vq_dev *vq, const void *p, size_t len)
{
	hvl_cache_invalidate(vq->cache, vq->cache_ctx, p, len);
}

/*
 * Translate one ring part: aligned bus address, whole part inside the
 * window, and the local pointer aligned as well (our single-copy atomic
 * accesses need natural alignment even if the window's local base were odd).
 */
static void *map_part(const struct hvl_window *w, uint64_t bus, size_t size, uint32_t align)
{
	void *p;

	if ((bus % align) != 0u)
		return NULL;
	p = hvl_window_translate(w, bus, size);
	if (p == NULL || ((uintptr_t)p % align) != 0u)
		return NULL;
	return p;
}

static int ranges_overlap(uint64_t a, uint64_t a_len, uint64_t b, uint64_t b_len)
{
	/* Both ranges are known to lie inside the window: no wrap possible. */
	return (a < b + b_len && b < a + a_len) ? 1 : 0;
}

int hvl_vq_dev_init(struct hvl_vq_dev *vq, const struct hvl_window *win, uint16_t num,
		    uint64_t desc, uint64_t avail, uint64_t used, uint64_t features,
		    const struct hvl_cache_ops *cache, void *cache_ctx)
{
	void *d;
	void *a;
	void *u;

	if (vq == NULL)
		return -EINVAL;
	(void)memset(vq, 0, sizeof(*vq));
	vq->fault = HVL_VQ_FAULT_GEOMETRY; /* until proven good */
	vq->cache = cache;
	vq->cache_ctx = cache_ctx;
	if (win == NULL || win->local == NULL || win->size == 0u)
		return -EINVAL;
	/* A window whose bus range wraps around 2^64 is a configuration bug. */
	if (win->bus > UINT64_MAX - (win->size - 1u))
		return -EINVAL;
	/* §2.7: Queue Size is a power of two, at most 32768. */
	if (num == 0u || (num & (uint16_t)(num - 1u)) != 0u || num > HVL_VRING_MAX_SIZE)
		return -EINVAL;

	/*
	 * §2.7 "Virtqueue Part Alignment" and sizes including the event words
	 * (used_event, avail_event), whether or not EVENT_IDX is negotiated,
	 * so the layout does not depend on feature negotiation.
	 */
	d = map_part(win, desc, hvl_vring_desc_size(num), HVL_VRING_DESC_ALIGN);
	a = map_part(win, avail, hvl_vring_avail_size(num), HVL_VRING_AVAIL_ALIGN);
	u = map_part(win, used, hvl_vring_used_size(num), HVL_VRING_USED_ALIGN);
	if (d == NULL || a == NULL || u == NULL)
		return -EINVAL;
	/*
	 * The used ring is the only part we write: it must not overlap what we
	 * read, or our own stores would rewrite descriptors and avail entries.
	 */
	if (ranges_overlap(used, hvl_vring_used_size(num), desc, hvl_vring_desc_size(num)) != 0 ||
	    ranges_overlap(used, hvl_vring_used_size(num), avail, hvl_vring_avail_size(num)) != 0)
		return -EINVAL;

	vq->win = *win;
	vq->num = num;
	vq->desc = d;
	vq->avail = a;
	vq->used = u;
	vq->used_event = &vq->avail->ring[num];
	vq->avail_event = (hvl_le16 *)(void *)&vq->used->ring[num];
	vq->event_idx = ((features & HVL_F_EVENT_IDX) != 0u) ? 1u : 0u;
	vq->indirect = ((features & HVL_F_INDIRECT_DESC) != 0u) ? 1u : 0u;
	vq->notify_enabled = 1u;
	vq->fault = HVL_VQ_OK;

	/*
	 * The used ring is ours (§2.7.8): flags 0 (notifications wanted), idx 0,
	 * avail_event 0 (notify on the first buffer).
	 */
	(void)memset(u, 0, hvl_vring_used_size(num));
	flush(vq, u, hvl_vring_used_size(num));
	return 0;
}

/* What a chain walk accumulates before it is handed to the caller. */
struct walk {
	const struct hvl_vring_desc *table; /* local pointer, validated */
	uint32_t table_num;                 /* entries in table */
	uint32_t budget;                    /* descriptors we may still visit */
	uint32_t idx;                       /* next entry of table to visit */
	uint32_t n;                         /* iov entries filled */
	uint32_t n_out;
	uint32_t n_in;
	uint64_t out_len;
	uint64_t in_len;
	uint8_t in_table;                   /* walking an indirect table */
	uint8_t seen_write;                 /* a writable descriptor was seen */
};

/*
 * Switch the walk to the indirect table described by a copied descriptor.
 * §2.7.5.3.1: only if negotiated, never nested, never with NEXT; len is a
 * non-zero multiple of 16; the table lies inside the window.
 */
static int enter_indirect(struct hvl_vq_dev *vq, struct walk *w, uint64_t addr,
			  uint32_t len, uint16_t flags)
{
	const void *tbl;

	if (vq->indirect == 0u || w->in_table != 0u ||
	    (flags & HVL_VRING_DESC_F_NEXT) != 0u)
		return dev_fail(vq, HVL_VQ_FAULT_INDIRECT);
	if (len == 0u || (len % sizeof(struct hvl_vring_desc)) != 0u ||
	    (len / sizeof(struct hvl_vring_desc)) > DEV_IND_MAX_ENTRIES)
		return dev_fail(vq, HVL_VQ_FAULT_INDIRECT);
	tbl = hvl_window_translate(&vq->win, addr, len);
	if (tbl == NULL)
		return dev_fail(vq, HVL_VQ_FAULT_ADDRESS);
	/* Entries are read with 32-bit atomics: they need natural alignment. */
	if (((uintptr_t)tbl % _Alignof(struct hvl_vring_desc)) != 0u)
		return dev_fail(vq, HVL_VQ_FAULT_INDIRECT);

	w->table = tbl;
	w->table_num = len / (uint32_t)sizeof(struct hvl_vring_desc);
	/* A table's chain is at most as long as the table (no loops). */
	w->budget = w->table_num;
	w->idx = 0u;
	w->in_table = 1u;
	return 0;
}

/* Append one (already copied) buffer descriptor to the chain. */
static int add_buffer(struct hvl_vq_dev *vq, struct walk *w, struct hvl_chain *c,
		      uint64_t addr, uint32_t len, uint16_t flags, uint32_t cap)
{
	void *base;

	if (len == 0u)
		return dev_fail(vq, HVL_VQ_FAULT_ZERO_LEN);
	/* §2.7.4: device-writable descriptors come after all readable ones. */
	if ((flags & HVL_VRING_DESC_F_WRITE) != 0u)
		w->seen_write = 1u;
	else if (w->seen_write != 0u)
		return dev_fail(vq, HVL_VQ_FAULT_ORDER);
	/* Overflow-checked: the whole [addr, addr+len) inside our window. */
	base = hvl_window_translate(&vq->win, addr, len);
	if (base == NULL)
		return dev_fail(vq, HVL_VQ_FAULT_ADDRESS);
	/*
	 * §2.7.5: chains are at most 2^32 bytes; we keep totals in 32 bits
	 * (out_len, in_len, used.len) and so refuse anything above 2^32 - 1.
	 */
	if (w->out_len + w->in_len + len > UINT32_MAX)
		return dev_fail(vq, HVL_VQ_FAULT_TOO_BIG);
	if (w->n >= cap)
		return dev_fail(vq, HVL_VQ_FAULT_TOO_BIG);

	c->iov[w->n].base = base;
	c->iov[w->n].len = len;
	w->n++;
	if ((flags & HVL_VRING_DESC_F_WRITE) != 0u) {
		w->n_in++;
		w->in_len += len;
	} else {
		w->n_out++;
		w->out_len += len;
	}
	return 0;
}

/*
 * Walk the chain starting at @head (already checked < num) into @c.
 * Iterative and bounded: the budget is num for the ring's own table and is
 * reset at most once, to the table size, when an indirect table is entered
 * (§2.7.5.3.2 allows direct descriptors followed by one INDIRECT one).
 */
static int walk_chain(struct hvl_vq_dev *vq, uint16_t head, struct hvl_chain *c)
{
	struct walk w;
	uint32_t cap = (c->cap > DEV_IOV_MAX) ? DEV_IOV_MAX : (uint32_t)c->cap;
	int err;

	(void)memset(&w, 0, sizeof(w));
	w.table = vq->desc;
	w.table_num = vq->num;
	w.budget = vq->num;
	w.idx = head;

	while (w.budget > 0u) {
		const struct hvl_vring_desc *d = &w.table[w.idx];
		uint64_t addr;
		uint32_t len;
		uint16_t flags;
		uint16_t next;

		w.budget--;
		/* Copy the descriptor once; only the copy is checked (STYLE.md 7). */
		invalidate(vq, d, sizeof(*d));
		addr = hvl_le64_once(&d->addr);
		len = hvl_le32_once(&d->len);
		flags = hvl_le16_once(&d->flags);
		next = hvl_le16_once(&d->next);

		if ((flags & HVL_VRING_DESC_F_INDIRECT) != 0u) {
			/* WRITE on this descriptor is ignored (§2.7.5.3.2). */
			err = enter_indirect(vq, &w, addr, len, flags);
			if (err != 0)
				return err;
			continue;
		}
		err = add_buffer(vq, &w, c, addr, len, flags, cap);
		if (err != 0)
			return err;
		if ((flags & HVL_VRING_DESC_F_NEXT) == 0u) {
			c->n_out = (uint16_t)w.n_out;
			c->n_in = (uint16_t)w.n_in;
			c->out_len = (uint32_t)w.out_len;
			c->in_len = (uint32_t)w.in_len;
			return 0;
		}
		if (next >= w.table_num)
			return dev_fail(vq, HVL_VQ_FAULT_NEXT);
		w.idx = next;
	}
	/* More descriptors than the table holds: there must be a loop. */
	return dev_fail(vq, HVL_VQ_FAULT_LOOP);
}

/* Acquire-read avail->idx once. */
static uint16_t read_avail_idx(const struct hvl_vq_dev *vq)
{
	invalidate(vq, &vq->avail->idx, sizeof(hvl_le16));
	/*
	 * Pairs with the driver's release store in hvl_vq_drv_kick_prepare():
	 * avail entries and descriptors written before it are visible to our
	 * later loads.
	 */
	return hvl_le16_acquire(&vq->avail->idx);
}

/* Publish avail_event = last_avail (EVENT_IDX, notifications wanted). */
static void publish_avail_event(struct hvl_vq_dev *vq)
{
	hvl_le16_set(vq->avail_event, vq->last_avail);
	flush(vq, vq->avail_event, sizeof(hvl_le16));
	/*
	 * Full fence between publishing avail_event and our next read of
	 * avail->idx.  Pairs with the fence in hvl_vq_drv_kick_prepare()
	 * (store avail->idx, fence, read avail_event): either the driver sees
	 * the new avail_event and notifies, or we see its new index.
	 */
	hvl_mb();
}

int hvl_vq_dev_pop(struct hvl_vq_dev *vq, struct hvl_chain *c)
{
	uint16_t avail_idx;
	uint16_t pending;
	uint16_t pos;
	uint16_t head;
	int err;

	if (vq == NULL)
		return -EINVAL;
	if (vq->fault != HVL_VQ_OK)
		return fault_errno(vq->fault);
	/* Caller bugs, not peer faults: do not break the queue for them. */
	if (c == NULL || c->iov == NULL || c->cap == 0u)
		return -EINVAL;

	avail_idx = read_avail_idx(vq);
	pending = (uint16_t)(avail_idx - vq->last_avail);
	if (pending == 0u)
		return 0;
	/*
	 * STYLE.md 9: the driver cannot have more than num chains outstanding
	 * (each takes at least one descriptor), counting the ones we hold.  A
	 * larger distance, including avail->idx moving backwards, is a fault.
	 */
	if ((uint32_t)pending + vq->inflight > vq->num)
		return dev_fail(vq, HVL_VQ_FAULT_AVAIL_IDX);

	pos = (uint16_t)(vq->last_avail & (uint16_t)(vq->num - 1u));
	invalidate(vq, &vq->avail->ring[pos], sizeof(hvl_le16));
	head = hvl_le16_once(&vq->avail->ring[pos]);
	if (head >= vq->num)
		return dev_fail(vq, HVL_VQ_FAULT_HEAD);

	err = walk_chain(vq, head, c);
	if (err != 0)
		return err;

	c->head = head;
	vq->last_avail++;
	vq->inflight++;
	if (vq->event_idx != 0u && vq->notify_enabled != 0u)
		publish_avail_event(vq);
	return 1;
}

void hvl_vq_dev_push(struct hvl_vq_dev *vq, uint16_t head, uint32_t len)
{
	struct hvl_vring_used_elem *e;
	uint16_t pos;

	/*
	 * Our own invariants: pushing on a queue that never initialised, or a
	 * head we never popped, is our bug, not the peer's.  NDEBUG builds drop
	 * the push rather than corrupt the ring.
	 */
	assert(vq != NULL);
	if (vq == NULL)
		return;
	assert(vq->used != NULL && head < vq->num && vq->inflight > 0u);
	if (vq->used == NULL || head >= vq->num || vq->inflight == 0u)
		return;

	pos = (uint16_t)(vq->used_idx & (uint16_t)(vq->num - 1u));
	e = &vq->used->ring[pos];
	/* §2.7.8.1: id and len are written before used->idx. */
	hvl_le32_set(&e->id, head);
	hvl_le32_set(&e->len, len);
	flush(vq, e, sizeof(*e));
	vq->used_idx++;
	vq->inflight--;
	/*
	 * Release store of used->idx.  Pairs with the driver's acquire load in
	 * hvl_vq_drv_get_used()/more_used(): the element and the data written
	 * into the chain's buffers are visible once it sees the index.
	 */
	hvl_le16_release(&vq->used->idx, vq->used_idx);
	flush(vq, &vq->used->idx, sizeof(hvl_le16));
}

int hvl_vq_dev_mark_signalled(struct hvl_vq_dev *vq)
{
	if (vq == NULL || vq->used == NULL || vq->signalled_used == vq->used_idx)
		return 0;
	vq->signalled_used = vq->used_idx;
	return 1;
}

int hvl_vq_dev_need_interrupt(struct hvl_vq_dev *vq)
{
	uint16_t old_idx;
	uint16_t new_idx;
	int need;

	if (vq == NULL || vq->used == NULL)
		return 0;
	old_idx = vq->signalled_used;
	new_idx = vq->used_idx;
	if (old_idx == new_idx)
		return 0; /* nothing pushed since the last decision */

	/*
	 * Full fence between the release store of used->idx (push) and reading
	 * the driver's suppression state.  Pairs with the fence in
	 * hvl_vq_drv_enable_cb() (store used_event/flags, fence, read
	 * used->idx): either we see its enable or it sees our entries.
	 */
	hvl_mb();
	if (vq->event_idx != 0u) {
		uint16_t ev;

		invalidate(vq, vq->used_event, sizeof(hvl_le16));
		ev = hvl_le16_once(vq->used_event);
		/* §2.7.7.2: interrupt if [old, new) crossed used_event. */
		need = hvl_vring_need_event(ev, new_idx, old_idx);
	} else {
		uint16_t flags;

		invalidate(vq, &vq->avail->flags, sizeof(hvl_le16));
		flags = hvl_le16_once(&vq->avail->flags);
		need = ((flags & HVL_VRING_AVAIL_F_NO_INTERRUPT) == 0u) ? 1 : 0;
	}
	vq->signalled_used = new_idx;
	return need;
}

int hvl_vq_dev_has_work(struct hvl_vq_dev *vq)
{
	/* A broken queue has no work: the transport resets it instead. */
	if (vq == NULL || vq->fault != HVL_VQ_OK)
		return 0;
	/* Out-of-range distances count as work so that pop reports the fault. */
	return (read_avail_idx(vq) != vq->last_avail) ? 1 : 0;
}

int hvl_vq_dev_enable_notify(struct hvl_vq_dev *vq)
{
	if (vq == NULL || vq->fault != HVL_VQ_OK)
		return 0;
	vq->notify_enabled = 1u;
	if (vq->event_idx != 0u) {
		/* §2.7.10: notify us when entry last_avail is written. */
		publish_avail_event(vq);
	} else {
		hvl_le16_set(&vq->used->flags, 0u);
		flush(vq, &vq->used->flags, sizeof(hvl_le16));
		/* Same pairing as in publish_avail_event(), with the flag. */
		hvl_mb();
	}
	return hvl_vq_dev_has_work(vq);
}

void hvl_vq_dev_disable_notify(struct hvl_vq_dev *vq)
{
	if (vq == NULL || vq->fault != HVL_VQ_OK)
		return;
	vq->notify_enabled = 0u;
	/*
	 * With EVENT_IDX flags must stay 0 (§2.7.10.1): leaving avail_event
	 * where it is suppresses notifications, since the driver's index has
	 * already moved past it.  Otherwise set NO_NOTIFY.
	 */
	if (vq->event_idx == 0u) {
		hvl_le16_set(&vq->used->flags, (uint16_t)HVL_VRING_USED_F_NO_NOTIFY);
		flush(vq, &vq->used->flags, sizeof(hvl_le16));
	}
}

/* Copy between @buf and iovs [@k0, @k1) of @c, skipping @off bytes first. */
static uint32_t chain_copy(const struct hvl_chain *c, unsigned k0, unsigned k1, uint32_t off,
			   uint8_t *buf, uint32_t len, int to_chain)
{
	uint32_t done = 0;
	unsigned k;

	for (k = k0; k < k1 && done < len; k++) {
		uint32_t l = c->iov[k].len, n;

		if (off >= l) {
			off -= l;
			continue;
		}
		n = l - off;
		if (n > len - done)
			n = len - done;
		if (to_chain != 0)
			(void)memcpy((uint8_t *)c->iov[k].base + off, buf + done, n);
		else
			(void)memcpy(buf + done, (const uint8_t *)c->iov[k].base + off, n);
		done += n;
		off = 0u;
	}
	return done;
}

uint32_t hvl_chain_read(const struct hvl_chain *c, uint32_t off, void *dst, uint32_t len)
{
	return chain_copy(c, 0u, c->n_out, off, dst, len, 0);
}

uint32_t hvl_chain_write(const struct hvl_chain *c, uint32_t off, const void *src, uint32_t len)
{
	/* The writable iovs follow the readable ones (hvl_vq_dev_pop). */
	return chain_copy(c, c->n_out, (unsigned)c->n_out + c->n_in, off, (uint8_t *)(uintptr_t)src,
			  len, 1);
}


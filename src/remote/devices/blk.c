/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio block driver for the remote core (virtio 1.2 §5.2).
 *
 * Every request is a chain of three descriptors (§5.2.6): its 16-byte
 * header (device-readable), the caller's data buffer (readable for a
 * write, writable for a read), and one writable status byte.  Headers and
 * status bytes live in per-request slots carved from the start of the
 * device's data area; the rest of the area, page-aligned, is the caller's
 * buffer space.  A slot has one owner at a time: free, or in flight on the
 * ring (its cookie is the slot).
 *
 * We trust ourselves and check the device (STYLE.md 10): the ring checks
 * used ids and lengths; here a completion without a status byte (used
 * length 0) or with an unknown status value is an error for that request.
 *
 * Interrupts stay suppressed while we poll; only before sleeping do we
 * enable them and look again (§2.7.7), as the console driver does.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hvl/blk.h"

/* Descriptors per request: header, data, status. */
#define BLK_DESC_PER_REQ 3u
/* The GET_ID answer is read into this scratch area after the slots. */
#define BLK_ID_SCRATCH   32u

/* The cookie that marks a synchronous request (never a caller's pointer). */
static const uint8_t blk_sync_tag = 0u;

size_t hvl_blk_storage_size(uint16_t qsize)
{
	return HVL_BLK_STORAGE(qsize);
}

uint64_t hvl_blk_capacity(const struct hvl_blk *b)
{
	return (b != NULL && b->is_open != 0u) ? b->capacity : 0u;
}

int hvl_blk_readonly(const struct hvl_blk *b)
{
	return (b != NULL && b->readonly != 0u) ? 1 : 0;
}

const char *hvl_blk_serial(const struct hvl_blk *b)
{
	return (b != NULL) ? b->serial : "";
}

void hvl_blk_data_area(const struct hvl_blk *b, void **local, size_t *size)
{
	if (local != NULL)
		*local = (b != NULL && b->is_open != 0u) ? b->data_local : NULL;
	if (size != NULL)
		*size = (b != NULL && b->is_open != 0u) ? (size_t)b->data_size : 0u;
}

unsigned hvl_blk_max_inflight(const struct hvl_blk *b)
{
	return (b != NULL) ? b->nslots : 0u;
}

unsigned hvl_blk_inflight(const struct hvl_blk *b)
{
	return (b != NULL) ? b->inflight : 0u;
}

/* Usable only with DRIVER_OK and neither NEEDS_RESET nor FAILED (§2.1.2). */
int hvl_blk_broken(const struct hvl_blk *b)
{
	if (b == NULL || b->is_open == 0u)
		return 1;
	if (hvl_vdev_live(&b->vdev) == 0)
		return 1;
	return (hvl_vq_drv_broken(&b->vq) != 0) ? 1 : 0;
}

static int blk_check(const struct hvl_blk *b)
{
	if (b == NULL || b->is_open == 0u)
		return -EBADF;
	return (hvl_blk_broken(b) != 0) ? -EIO : 0;
}

/* Is [@p, @p + @len) inside the caller's part of the data area? */
static int in_data_area(const struct hvl_blk *b, const void *p, uint32_t len)
{
	const uint8_t *q = p;
	/* Deviation (MISRA 11.4, 18.3): pointers are compared as addresses
	 * to check that a caller's buffer lies in the shared area. */
	uintptr_t a = (uintptr_t)q, lo = (uintptr_t)b->data_local;

	if (q == NULL || a < lo)
		return 0;
	return ((uint64_t)(a - lo) <= b->data_size && (uint64_t)len <= b->data_size - (uint64_t)(a - lo))
		       ? 1 : 0;
}

/*
 * Busy-poll the used ring for up to b->poll_spins relax() rounds before
 * sleeping (hvl_blk_set_poll_spin): while we spin, interrupts stay
 * suppressed, so the PMM pushes without ringing our doorbell.  Returns 1
 * as soon as a used entry shows up.
 */
static int blk_spin(struct hvl_blk *b)
{
	const struct hvl_os_ops *os = b->vdev.r->cfg.os;
	uint32_t i;

	for (i = 0u; i < b->poll_spins; i++) {
		if (hvl_vq_drv_more_used(&b->vq) != 0)
			return 1;
		if (os->relax != NULL)
			os->relax(b->vdev.r->cfg.os_ctx);
	}
	return 0;
}

void hvl_blk_set_poll_spin(struct hvl_blk *b, uint32_t spins)
{
	if (b != NULL)
		b->poll_spins = spins;
}

/*
 * Wait until the ring has a used entry, @timeout_ms after @start at the
 * latest, enabling interrupts only around the sleep (see the console
 * driver for the reasoning).  Bounded by the deadline.
 */
static int blk_wait_used(struct hvl_blk *b, uint64_t start, uint32_t timeout_ms)
{
	for (;;) {
		uint64_t elapsed;

		if (hvl_blk_broken(b) != 0)
			return -EIO;
		if (hvl_vq_drv_more_used(&b->vq) != 0)
			return 0;
		elapsed = hvl_remote_now(b->vdev.r) - start;
		if (elapsed >= timeout_ms)
			return -ETIMEDOUT;
		if (blk_spin(b) != 0)
			return 0;
		/*
		 * With several requests in flight, wake when half of them are
		 * done: the PMM goes on with the rest while we refill, and rings
		 * our doorbell once per several completions instead of each.
		 */
		if (hvl_vq_drv_enable_cb_delayed(&b->vq, (uint16_t)((b->inflight + 1u) / 2u)) != 0) {
			hvl_vq_drv_disable_cb(&b->vq);
			return 0;
		}
		(void)hvl_remote_wait(b->vdev.r, (uint32_t)(timeout_ms - elapsed));
		hvl_vq_drv_disable_cb(&b->vq);
		(void)hvl_vdev_interrupts(&b->vdev);
	}
}

/* Post a request in slot @s with its data buffer (may be absent). */
static int blk_post(struct hvl_blk *b, struct hvl_blk_slot *s, uint32_t type, uint64_t sector,
		    void *buf, uint32_t len)
{
	const struct hvl_remote_cfg *rc = &b->vdev.r->cfg;
	struct hvl_blk_req_hdr *h = (struct hvl_blk_req_hdr *)(void *)s->hdr;
	struct hvl_sg sg[BLK_DESC_PER_REQ];
	unsigned n = 0u, n_out = 1u;
	int err;

	hvl_le32_put(&h->type, type);
	hvl_le32_put(&h->reserved, 0u);
	hvl_le64_put(&h->sector, sector);
	/* A status the device never wrote must not read as OK. */
	s->hdr[HVL_BLK_REQ_HDR_SIZE] = 0xffu;
	hvl_cache_flush(rc->cache, rc->cache_ctx, s->hdr, HVL_BLK_REQ_HDR_SIZE + 1u);
	sg[n].addr = s->hdr_bus;
	sg[n].len = HVL_BLK_REQ_HDR_SIZE;
	n++;
	if (len > 0u) {
		sg[n].addr = hvl_vdev_bus(&b->vdev, buf);
		sg[n].len = len;
		n++;
		if (type == HVL_BLK_T_OUT || type == HVL_BLK_T_DISCARD || type == HVL_BLK_T_WRITE_ZEROES) {
			/* The PMM must see the data before the descriptor. */
			hvl_cache_flush(rc->cache, rc->cache_ctx, buf, len);
			n_out = 2u;
		}
	}
	sg[n].addr = s->hdr_bus + HVL_BLK_REQ_HDR_SIZE;
	sg[n].len = 1u;
	n++;
	err = hvl_vq_drv_add(&b->vq, sg, n_out, n - n_out, s);
	if (err != 0)
		return -EIO; /* slots bound the descriptors we use: only a broken ring fails */
	s->buf = buf;
	s->len = len;
	s->type = type;
	s->busy = 1u;
	b->inflight++;
	b->reqs++;
	hvl_vdev_kick(&b->vdev, HVL_BLK_REQUESTQ, &b->vq);
	return 0;
}

/* Take a free slot, or NULL. */
static struct hvl_blk_slot *slot_get(struct hvl_blk *b)
{
	uint16_t i;

	for (i = 0u; i < b->nslots; i++)
		if (b->slot[i].busy == 0u)
			return &b->slot[i];
	return NULL;
}

int hvl_blk_submit(struct hvl_blk *b, uint32_t type, uint64_t sector, void *buf, uint32_t len,
		   void *cookie)
{
	struct hvl_blk_slot *s;
	int rc = blk_check(b);

	if (rc != 0)
		return rc;
	switch (type) {
	case HVL_BLK_T_IN:
	case HVL_BLK_T_OUT:
		/* §5.2.6: whole sectors, inside the capacity (overflow-safe). */
		if (len == 0u || (len % HVL_BLK_SECTOR_SIZE) != 0u || in_data_area(b, buf, len) == 0 ||
		    sector > b->capacity ||
		    ((uint64_t)len >> HVL_BLK_SECTOR_SHIFT) > b->capacity - sector)
			return -EINVAL;
		if (type == HVL_BLK_T_OUT && b->readonly != 0u)
			return -EROFS;
		break;
	case HVL_BLK_T_FLUSH:
		if ((b->vdev.features & HVL_BLK_F_FLUSH) == 0u)
			return -ENOTSUP;
		if (len != 0u)
			return -EINVAL;
		buf = NULL;
		sector = 0u;
		break;
	case HVL_BLK_T_GET_ID:
		if (len < HVL_BLK_ID_BYTES || in_data_area(b, buf, len) == 0)
			return -EINVAL;
		sector = 0u;
		break;
	case HVL_BLK_T_DISCARD:
	case HVL_BLK_T_WRITE_ZEROES:
		/* §5.2.6: an array of struct hvl_blk_dwz_seg, checked by the device. */
		if ((b->vdev.features & (type == HVL_BLK_T_DISCARD ? HVL_BLK_F_DISCARD
								    : HVL_BLK_F_WRITE_ZEROES)) == 0u)
			return -ENOTSUP;
		if (len == 0u || (len % HVL_BLK_DWZ_SEG_SIZE) != 0u || in_data_area(b, buf, len) == 0)
			return -EINVAL;
		if (b->readonly != 0u)
			return -EROFS;
		sector = 0u;
		break;
	default:
		return -EINVAL;
	}
	s = slot_get(b);
	if (s == NULL)
		return -EAGAIN;
	s->cookie = cookie;
	return blk_post(b, s, type, sector, buf, len);
}

/* Turn a used slot into a completion and free the slot. */
static void blk_complete(struct hvl_blk *b, struct hvl_blk_slot *s, uint32_t ulen,
			 struct hvl_blk_done *d)
{
	const struct hvl_remote_cfg *rc = &b->vdev.r->cfg;
	uint8_t status;

	hvl_cache_invalidate(rc->cache, rc->cache_ctx, s->hdr, HVL_BLK_REQ_HDR_SIZE + 1u);
	/* Read the status once; the device may not touch it any more, but we do not rely on it. */
	status = __atomic_load_n(&s->hdr[HVL_BLK_REQ_HDR_SIZE], __ATOMIC_RELAXED);
	/* A synchronous request that timed out comes back without a cookie. */
	d->cookie = (s->cookie == (const void *)&blk_sync_tag) ? NULL : s->cookie;
	d->len = ulen;
	if (ulen == 0u) {
		d->status = -EIO; /* the device wrote no status at all */
	} else if (status == HVL_BLK_S_OK) {
		d->status = 0;
		if ((s->type == HVL_BLK_T_IN || s->type == HVL_BLK_T_GET_ID) && s->len > 0u)
			hvl_cache_invalidate(rc->cache, rc->cache_ctx, s->buf, s->len);
	} else if (status == HVL_BLK_S_IOERR) {
		d->status = -EIO;
	} else if (status == HVL_BLK_S_UNSUPP) {
		d->status = -ENOTSUP;
	} else {
		d->status = -EPROTO;
	}
	if (d->status != 0)
		b->errors++;
	s->busy = 0u;
	s->cookie = NULL;
	b->inflight--;
}

/* Collect what is used now, without waiting. */
static unsigned blk_reap(struct hvl_blk *b, struct hvl_blk_done *done, unsigned max)
{
	unsigned n = 0u;

	/* Bounded: at most nslots requests are in flight. */
	while (n < max && b->inflight > 0u) {
		uint32_t ulen = 0u;
		struct hvl_blk_slot *s = hvl_vq_drv_get_used(&b->vq, &ulen);
		size_t idx;

		if (s == NULL)
			break;
		/* The ring checked the id is outstanding; the cookie is one of our slots. */
		idx = (size_t)(s - b->slot);
		if (idx >= b->nslots || s->busy == 0u)
			break;
		blk_complete(b, s, ulen, &done[n]);
		n++;
	}
	return n;
}

int hvl_blk_poll(struct hvl_blk *b, struct hvl_blk_done *done, unsigned max, uint32_t timeout_ms)
{
	uint64_t start;
	int rc = blk_check(b);

	if (rc != 0)
		return rc;
	if (done == NULL || max == 0u)
		return -EINVAL;
	if (b->inflight == 0u)
		return -ENOENT; /* nothing could ever complete: do not wait */
	start = hvl_remote_now(b->vdev.r);
	for (;;) {
		unsigned n = blk_reap(b, done, max);

		if (n > 0u)
			return (int)n;
		if (hvl_vq_drv_broken(&b->vq) != 0)
			return -EIO;
		rc = blk_wait_used(b, start, timeout_ms);
		if (rc == -ETIMEDOUT && timeout_ms == 0u)
			return -EAGAIN;
		if (rc != 0)
			return rc;
	}
}

/* One synchronous request: submit, then wait for exactly its completion. */
static int blk_sync(struct hvl_blk *b, uint32_t type, uint64_t sector, void *buf, uint32_t len,
		    uint32_t timeout_ms)
{
	struct hvl_blk_done d;
	int rc = blk_check(b);

	if (rc != 0)
		return rc;
	if (b->inflight != 0u)
		return -EBUSY;
	/* Deviation (MISRA 11.8): the tag is only compared, never written through. */
	rc = hvl_blk_submit(b, type, sector, buf, len, (void *)(uintptr_t)&blk_sync_tag);
	if (rc != 0)
		return rc;
	/* With one request in flight the first completion is ours. */
	rc = hvl_blk_poll(b, &d, 1u, timeout_ms);
	if (rc < 0)
		return rc;
	return d.status;
}

int hvl_blk_read(struct hvl_blk *b, uint64_t sector, void *buf, uint32_t len, uint32_t timeout_ms)
{
	return blk_sync(b, HVL_BLK_T_IN, sector, buf, len, timeout_ms);
}

int hvl_blk_write(struct hvl_blk *b, uint64_t sector, const void *buf, uint32_t len,
		  uint32_t timeout_ms)
{
	/* Deviation (MISRA 11.8): the device only reads a write's buffer. */
	return blk_sync(b, HVL_BLK_T_OUT, sector, (void *)(uintptr_t)buf, len, timeout_ms);
}

int hvl_blk_flush(struct hvl_blk *b, uint32_t timeout_ms)
{
	return blk_sync(b, HVL_BLK_T_FLUSH, 0u, NULL, 0u, timeout_ms);
}

/*
 * Carve the slots and the GET_ID scratch from the data area, then give the
 * caller the rest from the next HVL_BLK_DATA_ALIGN boundary on.
 */
static int blk_carve(struct hvl_blk *b)
{
	void *local;
	uint64_t bus, size, used, pad;
	uint8_t *p;
	uint16_t n = (uint16_t)(b->vq.num / BLK_DESC_PER_REQ), i;

	if (n > HVL_BLK_MAX_INFLIGHT)
		n = (uint16_t)HVL_BLK_MAX_INFLIGHT;
	if (n == 0u)
		return -ENOSPC;
	hvl_vdev_data_area(&b->vdev, &local, &bus, &size);
	used = ((uint64_t)n * HVL_BLK_SLOT_SIZE) + BLK_ID_SCRATCH;
	pad = (HVL_BLK_DATA_ALIGN - ((bus + used) % HVL_BLK_DATA_ALIGN)) % HVL_BLK_DATA_ALIGN;
	if (used + pad > size)
		return -ENOSPC;
	p = local;
	for (i = 0u; i < n; i++) {
		b->slot[i].hdr = &p[(size_t)i * HVL_BLK_SLOT_SIZE];
		b->slot[i].hdr_bus = bus + ((uint64_t)i * HVL_BLK_SLOT_SIZE);
		b->slot[i].busy = 0u;
	}
	b->nslots = n;
	b->data_local = &p[used + pad];
	b->data_bus = bus + used + pad;
	b->data_size = size - used - pad;
	return 0;
}

/* Read the config fields we use (§5.2.4), once, at open. */
static int blk_read_config(struct hvl_blk *b)
{
	struct hvl_blk_config cfg;
	int rc;

	(void)memset(&cfg, 0, sizeof(cfg));
	rc = hvl_vdev_config_read(&b->vdev, 0u, &cfg, HVL_BLK_CFG_BLK_SIZE + 4u);
	if (rc != 0)
		return rc;
	b->capacity = hvl_le64_get(&cfg.capacity);
	b->size_max = hvl_le32_get(&cfg.size_max);
	b->seg_max = hvl_le32_get(&cfg.seg_max);
	b->blk_size = hvl_le32_get(&cfg.blk_size);
	b->readonly = ((b->vdev.features & HVL_BLK_F_RO) != 0u) ? 1u : 0u;
	/* We post one data segment per request; a device that takes none is unusable. */
	if ((b->vdev.features & HVL_BLK_F_SEG_MAX) != 0u && b->seg_max == 0u)
		return -EPROTO;
	return 0;
}

/* GET_ID into the scratch area after the slots; a device without it leaves "". */
static void blk_fetch_id(struct hvl_blk *b, uint32_t timeout_ms)
{
	uint8_t *scratch = &b->slot[0].hdr[(size_t)b->nslots * HVL_BLK_SLOT_SIZE];
	struct hvl_blk_slot *s = &b->slot[0];
	struct hvl_blk_done d;
	const void *tag = &blk_sync_tag;
	int rc;

	(void)memset(b->serial, 0, sizeof(b->serial));
	(void)memset(scratch, 0, HVL_BLK_ID_BYTES);
	/* The scratch lies before the caller's area: post it directly. */
	/* Deviation (MISRA 11.8): the tag is only compared, never written through. */
	s->cookie = (void *)(uintptr_t)tag;
	if (blk_post(b, s, HVL_BLK_T_GET_ID, 0u, scratch, HVL_BLK_ID_BYTES) != 0)
		return;
	rc = hvl_blk_poll(b, &d, 1u, timeout_ms);
	if (rc == 1 && d.status == 0)
		(void)memcpy(b->serial, scratch, HVL_BLK_ID_BYTES);
}

int hvl_blk_open(struct hvl_blk *b, struct hvl_remote *r, uint32_t nth, void *storage,
		 size_t len, uint32_t timeout_ms)
{
	uint16_t num;
	int rc;

	if (b == NULL || r == NULL || storage == NULL)
		return -EINVAL;
	(void)memset(b, 0, sizeof(*b));
	rc = hvl_remote_find(r, HVL_VIRTIO_ID_BLOCK, nth, &b->vdev);
	if (rc != 0)
		return rc;
	if (b->vdev.num_queues < HVL_BLK_NUM_QUEUES)
		return -EPROTO;
	num = hvl_le16_once(&b->vdev.ext->queue[HVL_BLK_REQUESTQ].num);
	if (HVL_VQ_DRV_STORAGE(num) > len)
		return -ENOSPC;
	/* §5.2.3: everything this driver can issue or needs to know. */
	rc = hvl_vdev_begin(&b->vdev, HVL_F_EVENT_IDX | HVL_BLK_F_FLUSH | HVL_BLK_F_RO |
			    HVL_BLK_F_SEG_MAX | HVL_BLK_F_SIZE_MAX | HVL_BLK_F_BLK_SIZE |
			    HVL_BLK_F_DISCARD | HVL_BLK_F_WRITE_ZEROES);
	if (rc == 0)
		rc = hvl_vdev_queue_static(&b->vdev, HVL_BLK_REQUESTQ, &b->vq, storage, len);
	if (rc == 0)
		rc = blk_carve(b);
	if (rc == 0)
		rc = hvl_vdev_driver_ok(&b->vdev);
	if (rc == 0)
		rc = blk_read_config(b);
	if (rc != 0) {
		(void)hvl_vdev_reset(&b->vdev);
		return rc;
	}
	b->is_open = 1u;
	hvl_vq_drv_disable_cb(&b->vq);
	blk_fetch_id(b, timeout_ms);
	if (b->inflight != 0u || hvl_blk_broken(b) != 0) {
		(void)hvl_blk_close(b);
		return -EIO;
	}
	return 0;
}

int hvl_blk_close(struct hvl_blk *b)
{
	uint32_t i;
	int rc;

	if (b == NULL || b->is_open == 0u)
		return -EBADF;
	/* §2.1: after a reset the device holds none of our buffers. */
	rc = hvl_vdev_reset(&b->vdev);
	for (i = 0u; i < b->vq.num; i++)
		if (hvl_vq_drv_detach_unused(&b->vq) == NULL)
			break;
	for (i = 0u; i < b->nslots; i++) {
		b->slot[i].busy = 0u;
		b->slot[i].cookie = NULL;
	}
	b->inflight = 0u;
	b->is_open = 0u;
	return rc;
}

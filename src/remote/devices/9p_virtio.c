/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-9p transport for the remote's 9P client (device ID 9, "9P
 * transport"): one request queue; each request is a chain of the
 * device-readable T-message buffer followed by the device-writable
 * R-message buffer.  The buffers are carved once from the device's data
 * area, one pair per request slot; a slot's chain always uses its own
 * pair, and its cookie (the slot's busy flag) tells the answers apart:
 * the device may use chains in any order (virtio 1.2 §2.7.14), ours
 * happens to answer in order.  The response buffers lie back to back, so
 * slot 0 alone in flight may post them all as one (bigsize: read_zc's
 * large answers); nothing else is posted until that answer is taken.
 *
 * Config space is read once at open: le16 tag_len then the tag
 * (VIRTIO_9P_MOUNT_TAG).  The used length the device reports is checked by
 * the ring against what we posted; the client checks the message inside.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hvl/9p.h"

static int v9_broken(const struct hvl_9p_virtio *v)
{
	if (hvl_vdev_live(&v->vdev) == 0)
		return 1;
	return (hvl_vq_drv_broken(&v->vq) != 0) ? 1 : 0;
}

/*
 * Wait for the used entry, sleeping on the doorbell with interrupts
 * enabled only around the sleep (enable, re-check, sleep: §2.7.7).
 */
static int v9_wait(struct hvl_9p_virtio *v, uint64_t start, uint32_t timeout_ms)
{
	const struct hvl_os_ops *os = v->vdev.r->cfg.os;
	uint32_t i;

	/* Optional busy-poll first: interrupts stay suppressed while we spin. */
	for (i = 0u; i < v->poll_spins; i++) {
		if (hvl_vq_drv_more_used(&v->vq) != 0)
			return 0;
		if (os->relax != NULL)
			os->relax(v->vdev.r->cfg.os_ctx);
	}
	for (;;) {
		uint64_t elapsed;

		if (v9_broken(v) != 0)
			return -EIO;
		if (hvl_vq_drv_more_used(&v->vq) != 0)
			return 0;
		elapsed = hvl_remote_now(v->vdev.r) - start;
		if (elapsed >= timeout_ms)
			return -ETIMEDOUT;
		if (hvl_vq_drv_enable_cb(&v->vq) != 0) {
			hvl_vq_drv_disable_cb(&v->vq);
			return 0;
		}
		(void)hvl_remote_wait(v->vdev.r, (uint32_t)(timeout_ms - elapsed));
		hvl_vq_drv_disable_cb(&v->vq);
		(void)hvl_vdev_interrupts(&v->vdev);
	}
}

/* Nonzero if any slot is posted and not answered yet. */
static uint32_t v9_any_busy(const struct hvl_9p_virtio *v)
{
	uint32_t i, any = 0u;

	for (i = 0u; i < v->nslots; i++)
		any |= v->busy[i];
	return any;
}

static int v9_submit(void *ctx, uint32_t slot, uint32_t tlen, uint32_t rmax, uint32_t timeout_ms)
{
	struct hvl_9p_virtio *v = ctx;
	struct hvl_sg sg[2];
	uint8_t lone = 0u;
	int rc;

	(void)timeout_ms; /* posting never waits: a slot always has its descriptors */
	if (v->is_open == 0u || v->stuck != 0u)
		return -EIO;
	if (slot >= v->nslots || v->busy[slot] != 0u || tlen > v->bufsize || tlen < HVL_9P_HDR ||
	    rmax < HVL_9P_HDR + 4u || rmax > v->bigsize)
		return -EINVAL;
	/* More room than the slot's own buffer: the other slots' too, so none may be in flight. */
	if (rmax > v->bufsize) {
		if (slot != 0u || v9_any_busy(v) != 0u)
			return -EBUSY;
		lone = 1u;
	}
	if (v->lone != 0u)
		return -EBUSY; /* slot 0 holds every response buffer */
	if (v9_broken(v) != 0)
		return -EIO;
	sg[0].addr = v->tx_bus[slot];
	sg[0].len = tlen;
	sg[1].addr = v->rx_bus[slot];
	sg[1].len = rmax;
	rc = hvl_vq_drv_add(&v->vq, sg, 1u, 1u, &v->busy[slot]);
	if (rc != 0)
		return rc;
	v->busy[slot] = 1u;
	v->lone = lone;
	hvl_vdev_kick(&v->vdev, HVL_9P_REQQ, &v->vq);
	return 0;
}

static int v9_wait_any(void *ctx, uint32_t *slot, uint32_t *rlen, uint32_t timeout_ms)
{
	struct hvl_9p_virtio *v = ctx;
	uint32_t len = 0u, i;
	void *cookie;
	int rc;

	if (v->is_open == 0u || v->stuck != 0u)
		return -EIO;
	if (v9_any_busy(v) == 0u)
		return -EINVAL; /* nothing in flight: the caller's bug */
	rc = v9_wait(v, hvl_remote_now(v->vdev.r), timeout_ms);
	if (rc != 0) {
		/* The device may still own the buffers: no more requests until reopened. */
		v->stuck = 1u;
		return rc;
	}
	cookie = hvl_vq_drv_get_used(&v->vq, &len);
	/* The ring checked the used id; the cookie must still be one of our busy slots. */
	for (i = 0u; i < v->nslots; i++)
		if (cookie == (void *)&v->busy[i] && v->busy[i] != 0u)
			break;
	if (i == v->nslots) {
		v->stuck = 1u;
		return -EIO;
	}
	v->busy[i] = 0u;
	v->lone = 0u;
	*slot = i;
	*rlen = len;
	return 0;
}

/* The mount tag from config space (read once, consistently), or -EPROTO if too long. */
static int v9_read_tag(struct hvl_9p_virtio *v)
{
	uint8_t tagle[2];
	uint16_t tl;
	int rc = hvl_vdev_config_read(&v->vdev, HVL_9P_CFG_TAG_LEN, tagle, 2u);

	if (rc != 0)
		return rc;
	tl = (uint16_t)((uint16_t)tagle[0] | (uint16_t)((uint16_t)tagle[1] << 8));
	if (tl > HVL_9P_TAG_MAX)
		return -EPROTO;
	rc = hvl_vdev_config_read(&v->vdev, HVL_9P_CFG_TAG, v->tag, tl);
	v->tag[(rc == 0) ? tl : 0u] = '\0';
	return rc;
}

/*
 * 2 x nslots equal buffers, 8-byte aligned, as large as the data area
 * allows (up to HVL_9P_VIRTIO_BUF_MAX).  As many slots as keep a buffer at
 * HVL_9P_VIRTIO_SLOT_MIN (64 KiB) or more, or at the one-slot size when
 * that is smaller.  More, smaller slots over fewer, larger ones: a 1 MiB
 * call as 4 pieces in flight measured up to twice as fast as 1 or 2 larger
 * pieces at both 512 KiB and 2080 KiB of data area (docs/PROTOCOL.md
 * §10.9).  The one request that wants one large message, read_zc, gets all
 * the response buffers at once (bigsize).  Never more slots than the queue
 * has descriptor pairs.
 */
static int v9_carve(struct hvl_9p_virtio *v)
{
	void *local;
	uint64_t bus, size, per, full, least, big, fit;
	uint32_t n = HVL_9P_SLOTS, i;

	hvl_vdev_data_area(&v->vdev, &local, &bus, &size);
	full = (size / 2u) & ~(uint64_t)7u;
	if (full > HVL_9P_VIRTIO_BUF_MAX)
		full = HVL_9P_VIRTIO_BUF_MAX;
	if (full < HVL_9P_MSIZE_MIN)
		return -ENOSPC;
	least = (full < HVL_9P_VIRTIO_SLOT_MIN) ? full : HVL_9P_VIRTIO_SLOT_MIN;
	/* Slot pairs of at least @least that fit: >= 1, as least <= size / 2. */
	fit = size / (2u * least);
	if ((uint64_t)n > fit)
		n = (uint32_t)fit;
	if (n > v->vq.num / 2u)
		n = v->vq.num / 2u;
	if (n == 0u)
		n = 1u; /* a one-descriptor queue fails at the first request, as before */
	per = (size / (2u * (uint64_t)n)) & ~(uint64_t)7u;
	if (per > HVL_9P_VIRTIO_BUF_MAX)
		per = HVL_9P_VIRTIO_BUF_MAX;
	v->bufsize = (uint32_t)per;
	v->nslots = n;
	/* Requests first, then the responses back to back: rx[0] runs on through rx[n - 1]. */
	for (i = 0u; i < n; i++) {
		uint64_t at = (uint64_t)i * per, rat = ((uint64_t)n + i) * per;

		v->tx[i] = &((uint8_t *)local)[at];
		v->rx[i] = &((uint8_t *)local)[rat];
		v->tx_bus[i] = bus + at;
		v->rx_bus[i] = bus + rat;
	}
	big = (uint64_t)n * per;
	v->bigsize = (uint32_t)((big > HVL_9P_VIRTIO_BUF_MAX) ? HVL_9P_VIRTIO_BUF_MAX : big);
	return 0;
}

int hvl_9p_virtio_open(struct hvl_9p_virtio *v, struct hvl_remote *r, uint32_t nth,
		       void *storage, size_t len)
{
	uint32_t i;
	int rc;

	if (v == NULL || r == NULL || storage == NULL)
		return -EINVAL;
	(void)memset(v, 0, sizeof(*v));
	rc = hvl_remote_find(r, HVL_VIRTIO_ID_9P, nth, &v->vdev);
	if (rc != 0)
		return rc;
	if (v->vdev.num_queues < HVL_9P_NUM_QUEUES)
		return -EPROTO;
	rc = hvl_vdev_begin(&v->vdev, HVL_F_EVENT_IDX | HVL_9P_F_MOUNT_TAG);
	if (rc == 0)
		rc = hvl_vdev_queue_static(&v->vdev, HVL_9P_REQQ, &v->vq, storage, len);
	if (rc == 0 && (v->vdev.features & HVL_9P_F_MOUNT_TAG) != 0u)
		rc = v9_read_tag(v);
	if (rc == 0)
		rc = v9_carve(v);
	if (rc == 0)
		rc = hvl_vdev_driver_ok(&v->vdev);
	if (rc != 0) {
		(void)hvl_vdev_reset(&v->vdev);
		return rc;
	}
	hvl_vq_drv_disable_cb(&v->vq);
	v->is_open = 1u;
	v->t.submit = v9_submit;
	v->t.wait = v9_wait_any;
	v->t.ctx = v;
	for (i = 0u; i < v->nslots; i++) {
		v->t.tx[i] = v->tx[i];
		v->t.rx[i] = v->rx[i];
	}
	v->t.nslots = v->nslots;
	v->t.bufsize = v->bufsize;
	v->t.bigsize = v->bigsize;
	return 0;
}

void hvl_9p_virtio_set_poll_spin(struct hvl_9p_virtio *v, uint32_t spins)
{
	if (v != NULL)
		v->poll_spins = spins;
}

int hvl_9p_virtio_close(struct hvl_9p_virtio *v)
{
	uint32_t i;
	int rc;

	if (v == NULL || v->is_open == 0u)
		return -EBADF;
	rc = hvl_vdev_reset(&v->vdev);
	/* §2.1: after the reset the device holds none of our buffers. */
	for (i = 0u; i < v->vq.num; i++)
		if (hvl_vq_drv_detach_unused(&v->vq) == NULL)
			break;
	for (i = 0u; i < HVL_9P_SLOTS; i++)
		v->busy[i] = 0u;
	v->lone = 0u;
	v->is_open = 0u;
	v->stuck = 0u;
	return rc;
}

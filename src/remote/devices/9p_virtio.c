/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-9p transport for the remote's 9P client (device ID 9, "9P
 * transport"): one request queue; each request is a chain of the
 * device-readable T-message buffer followed by the device-writable
 * R-message buffer.  Both buffers are carved once from the device's data
 * area; one request is in flight at a time, so the chain always uses the
 * same two buffers.
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

static int v9_rpc(void *ctx, uint32_t tlen, uint32_t *rlen, uint32_t timeout_ms)
{
	struct hvl_9p_virtio *v = ctx;
	struct hvl_sg sg[2];
	uint64_t start;
	void *cookie;
	uint32_t len = 0u;
	int rc;

	if (v->is_open == 0u || v->stuck != 0u)
		return -EIO;
	if (tlen > v->bufsize || tlen < HVL_9P_HDR)
		return -EINVAL;
	if (v9_broken(v) != 0)
		return -EIO;
	sg[0].addr = v->tx_bus;
	sg[0].len = tlen;
	sg[1].addr = v->rx_bus;
	sg[1].len = v->bufsize;
	rc = hvl_vq_drv_add(&v->vq, sg, 1u, 1u, v);
	if (rc != 0)
		return rc;
	hvl_vdev_kick(&v->vdev, HVL_9P_REQQ, &v->vq);
	start = hvl_remote_now(v->vdev.r);
	rc = v9_wait(v, start, timeout_ms);
	if (rc != 0) {
		/* The device may still own both buffers: no more requests until reopened. */
		v->stuck = 1u;
		return rc;
	}
	cookie = hvl_vq_drv_get_used(&v->vq, &len);
	if (cookie != v) {
		v->stuck = 1u;
		return -EIO;
	}
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

/* Two equal buffers, 8-byte aligned, as large as the data area allows. */
static int v9_carve(struct hvl_9p_virtio *v)
{
	void *local;
	uint64_t bus, size, half;

	hvl_vdev_data_area(&v->vdev, &local, &bus, &size);
	half = (size / 2u) & ~(uint64_t)7u;
	if (half > HVL_9P_VIRTIO_BUF_MAX)
		half = HVL_9P_VIRTIO_BUF_MAX;
	if (half < HVL_9P_MSIZE_MIN)
		return -ENOSPC;
	v->bufsize = (uint32_t)half;
	v->tx = local;
	v->rx = &v->tx[half];
	v->tx_bus = bus;
	v->rx_bus = bus + half;
	return 0;
}

int hvl_9p_virtio_open(struct hvl_9p_virtio *v, struct hvl_remote *r, uint32_t nth,
		       void *storage, size_t len)
{
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
	v->t.rpc = v9_rpc;
	v->t.ctx = v;
	v->t.tx = v->tx;
	v->t.rx = v->rx;
	v->t.bufsize = v->bufsize;
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
	v->is_open = 0u;
	v->stuck = 0u;
	return rc;
}

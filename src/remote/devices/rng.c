/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio entropy driver for the remote core (virtio 1.2 §5.4).
 *
 * One device-writable buffer (§5.4.6.1) goes round: posted, filled by the
 * PMM with one or more random bytes (the used length says how many; it
 * may be fewer than the buffer, §5.4.6.2), copied out, posted again.  The
 * ring checks the used length is at most what we posted.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hvl/rng.h"

#define RNG_LONG_MAX ((size_t)(~0UL >> 1))

int hvl_rng_broken(const struct hvl_rng *g)
{
	if (g == NULL || g->is_open == 0u)
		return 1;
	if (hvl_vdev_live(&g->vdev) == 0)
		return 1;
	return (hvl_vq_drv_broken(&g->vq) != 0) ? 1 : 0;
}

/* Wait for the used entry, enabling interrupts only around the sleep (§2.7.7). */
static int rng_wait_used(struct hvl_rng *g, uint64_t start, uint32_t timeout_ms)
{
	for (;;) {
		uint64_t elapsed;

		if (hvl_rng_broken(g) != 0)
			return -EIO;
		if (hvl_vq_drv_more_used(&g->vq) != 0)
			return 0;
		elapsed = hvl_remote_now(g->vdev.r) - start;
		if (elapsed >= timeout_ms)
			return -ETIMEDOUT;
		if (hvl_vq_drv_enable_cb(&g->vq) != 0) {
			hvl_vq_drv_disable_cb(&g->vq);
			return 0;
		}
		(void)hvl_remote_wait(g->vdev.r, (uint32_t)(timeout_ms - elapsed));
		hvl_vq_drv_disable_cb(&g->vq);
		(void)hvl_vdev_interrupts(&g->vdev);
	}
}

static int rng_post(struct hvl_rng *g, uint32_t len)
{
	struct hvl_sg sg;

	sg.addr = g->buf_bus;
	sg.len = len;
	if (hvl_vq_drv_add(&g->vq, &sg, 0u, 1u, g) != 0)
		return -EIO;
	g->posted = 1u;
	hvl_vdev_kick(&g->vdev, HVL_RNG_REQUESTQ, &g->vq);
	return 0;
}

long hvl_rng_read(struct hvl_rng *g, void *buf, size_t len, uint32_t timeout_ms)
{
	uint8_t *dst = buf;
	size_t got = 0u;
	uint64_t start;
	int rc;

	if (g == NULL || g->is_open == 0u)
		return -EBADF;
	if (hvl_rng_broken(g) != 0)
		return -EIO;
	if (len == 0u)
		return 0;
	if (buf == NULL)
		return -EINVAL;
	if (len > RNG_LONG_MAX)
		len = RNG_LONG_MAX;
	start = hvl_remote_now(g->vdev.r);
	/* Bounded by the deadline: each pass gets at least one byte or waits. */
	while (got < len) {
		uint32_t ulen = 0u;
		const void *cookie;

		if (g->posted == 0u) {
			size_t want = len - got;

			/* Ask for no more than needed: the device fills what we post. */
			rc = rng_post(g, (want < g->buf_size) ? (uint32_t)want : g->buf_size);
			if (rc != 0)
				return rc;
		}
		rc = rng_wait_used(g, start, timeout_ms);
		if (rc != 0) {
			if (got > 0u)
				break;
			return (rc == -ETIMEDOUT && timeout_ms == 0u) ? -EAGAIN : rc;
		}
		cookie = hvl_vq_drv_get_used(&g->vq, &ulen);
		if (cookie == NULL)
			return -EIO; /* more_used said yes: only a broken ring gets here */
		g->posted = 0u;
		/* The ring checked ulen <= what we posted. */
		hvl_cache_invalidate(g->vdev.r->cfg.cache, g->vdev.r->cfg.cache_ctx, g->buf, ulen);
		if (ulen > len - got)
			ulen = (uint32_t)(len - got);
		(void)memcpy(&dst[got], g->buf, ulen);
		got += ulen;
		g->bytes += ulen;
	}
	return (long)got;
}

int hvl_rng_open(struct hvl_rng *g, struct hvl_remote *r, uint32_t nth, void *storage, size_t len)
{
	void *local;
	uint64_t bus, size;
	int rc;

	if (g == NULL || r == NULL || storage == NULL)
		return -EINVAL;
	(void)memset(g, 0, sizeof(*g));
	rc = hvl_remote_find(r, HVL_VIRTIO_ID_RNG, nth, &g->vdev);
	if (rc != 0)
		return rc;
	if (g->vdev.num_queues < HVL_RNG_NUM_QUEUES)
		return -EPROTO;
	rc = hvl_vdev_begin(&g->vdev, HVL_F_EVENT_IDX);
	if (rc == 0)
		rc = hvl_vdev_queue_static(&g->vdev, HVL_RNG_REQUESTQ, &g->vq, storage, len);
	if (rc == 0) {
		hvl_vdev_data_area(&g->vdev, &local, &bus, &size);
		if (size == 0u)
			rc = -ENOSPC;
		g->buf = local;
		g->buf_bus = bus;
		g->buf_size = (size < HVL_RNG_BUF_SIZE) ? (uint32_t)size : HVL_RNG_BUF_SIZE;
	}
	if (rc == 0)
		rc = hvl_vdev_driver_ok(&g->vdev);
	if (rc != 0) {
		(void)hvl_vdev_reset(&g->vdev);
		return rc;
	}
	g->is_open = 1u;
	hvl_vq_drv_disable_cb(&g->vq);
	return 0;
}

int hvl_rng_close(struct hvl_rng *g)
{
	int rc;

	if (g == NULL || g->is_open == 0u)
		return -EBADF;
	rc = hvl_vdev_reset(&g->vdev);
	(void)hvl_vq_drv_detach_unused(&g->vq);
	g->posted = 0u;
	g->is_open = 0u;
	return rc;
}

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Driver side of the register protocol (docs/PROTOCOL.md "Register
 * protocol"), part of the portable remote library.
 *
 * Reads are plain loads from the PMM-owned virtio-MMIO block.  Writes are
 * acknowledged transactions: store offset/value into our driver area,
 * release-store a new sequence number, ring the doorbell, and wait (bounded)
 * until the PMM release-stores the same number into txn_ack.  After that,
 * every register the write affects already shows its new value, which is
 * what an ordinary virtio-MMIO driver expects from a trapping device.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "hvl/remote.h"

/* Spins before sleeping on the doorbell while a transaction is pending. */
#define TXN_SPINS 2000u

static uint64_t now_ms(const struct hvl_vdev *v)
{
	return hvl_remote_now(v->r);
}

static void relax(const struct hvl_vdev *v)
{
	if (v->r->cfg.os->relax != NULL)
		v->r->cfg.os->relax(v->r->cfg.os_ctx);
}

uint32_t hvl_vdev_read(const struct hvl_vdev *v, uint32_t off)
{
	if (off >= HVL_MMIO_CONFIG || (off % 4u) != 0u)
		return 0;
	hvl_cache_invalidate(v->r->cfg.cache, v->r->cfg.cache_ctx, &v->regs[off / 4u], 4u);
	return hvl_le32_once(&v->regs[off / 4u]);
}

uint32_t hvl_vdev_status(const struct hvl_vdev *v)
{
	return hvl_vdev_read(v, HVL_MMIO_STATUS);
}

int hvl_vdev_needs_reset(const struct hvl_vdev *v)
{
	return (hvl_vdev_status(v) & HVL_STATUS_DEVICE_NEEDS_RESET) != 0u ? 1 : 0;
}

int hvl_vdev_live(const struct hvl_vdev *v)
{
	uint32_t st = hvl_vdev_status(v);

	/* A PMM restart lands here too: it republishes the device with status 0. */
	return (st & (HVL_STATUS_DRIVER_OK | HVL_STATUS_DEVICE_NEEDS_RESET | HVL_STATUS_FAILED)) ==
	       HVL_STATUS_DRIVER_OK ? 1 : 0;
}

int hvl_vdev_wait_used(struct hvl_vdev *v, struct hvl_vq_drv *vq, uint64_t start,
		       uint32_t timeout_ms)
{
	for (;;) {
		uint64_t elapsed;

		if (hvl_vdev_live(v) == 0 || hvl_vq_drv_broken(vq) != 0)
			return -EIO;
		if (hvl_vq_drv_more_used(vq) != 0)
			return 0;
		elapsed = now_ms(v) - start;
		if (elapsed >= timeout_ms)
			return -ETIMEDOUT;
		/*
		 * If enabling finds entries that arrived meanwhile, return at once;
		 * else a push after the enable is guaranteed to ring (the fence in
		 * hvl_vq_drv_enable_cb pairs with the device's need_interrupt).
		 * The doorbell is shared by the region's devices: re-check on wake.
		 */
		if (hvl_vq_drv_enable_cb(vq) != 0) {
			hvl_vq_drv_disable_cb(vq);
			return 0;
		}
		(void)hvl_remote_wait(v->r, (uint32_t)(timeout_ms - elapsed));
		hvl_vq_drv_disable_cb(vq);
		/* Acknowledge: the counters only tell us to look again. */
		(void)hvl_vdev_interrupts(v);
	}
}

int hvl_vdev_write(struct hvl_vdev *v, uint32_t off, uint32_t val, uint32_t size)
{
	const struct hvl_remote *r = v->r;
	uint32_t seq = v->txn_seq + 1u;
	uint64_t start;
	uint32_t spins = 0;

	hvl_le32_set(&v->drv->txn_off, off);
	hvl_le32_set(&v->drv->txn_val, val);
	hvl_le32_set(&v->drv->txn_size, size);
	/* Pairs with the PMM's acquire load of txn_seq: off/val/size first. */
	hvl_le32_release(&v->drv->txn_seq, seq);
	hvl_cache_flush(r->cfg.cache, r->cfg.cache_ctx, v->drv, 16u);
	v->txn_seq = seq;
	hvl_notify_ring(&r->cfg.notify);

	start = now_ms(v);
	for (;;) {
		hvl_cache_invalidate(r->cfg.cache, r->cfg.cache_ctx, &v->ext->txn_ack, 8u);
		/* Pairs with the PMM's release store of txn_ack after the registers. */
		if (hvl_le32_acquire(&v->ext->txn_ack) == seq)
			break;
		if (now_ms(v) - start >= r->cfg.txn_timeout_ms)
			return -ETIMEDOUT;
		if (spins < TXN_SPINS) {
			spins++;
			relax(v);
		} else {
			(void)hvl_notify_wait(&r->cfg.notify, 10u);
		}
	}
	{
		uint32_t res = hvl_le32_once(&v->ext->txn_result);

		/* The PMM reports a positive errno; anything else is generic EIO. */
		if (res == 0u)
			return 0;
		if (res == (uint32_t)EINVAL || res == (uint32_t)EPERM || res == (uint32_t)EBUSY)
			return -(int)res;
		return -EIO;
	}
}

/* Forget interrupts raised before now: they belong to an earlier session. */
static void sync_interrupts(struct hvl_vdev *v)
{
	v->irq_used_seen = hvl_le32_acquire(&v->ext->irq_used);
	v->irq_config_seen = hvl_le32_acquire(&v->ext->irq_config);
	hvl_le32_set(&v->drv->irq_used_ack, v->irq_used_seen);
	hvl_le32_set(&v->drv->irq_config_ack, v->irq_config_seen);
}

int hvl_vdev_reset(struct hvl_vdev *v)
{
	int rc = hvl_vdev_write(v, HVL_MMIO_STATUS, 0u, 4u);

	v->features = 0;
	sync_interrupts(v);
	if (rc == 0 && hvl_vdev_status(v) != 0u)
		rc = -EIO; /* §2.1.2: reads 0 once the reset completed */
	return rc;
}

int hvl_vdev_begin(struct hvl_vdev *v, uint64_t wanted)
{
	if (hvl_vdev_status(v) != 0u) {
		int rc = hvl_vdev_reset(v);

		if (rc != 0)
			return rc;
	}
	sync_interrupts(v);
	v->features = (wanted | HVL_F_VERSION_1) & v->device_features;
	if ((v->features & HVL_F_VERSION_1) == 0u)
		return -ENOTSUP; /* legacy-only device: not ours (§6.1) */
	hvl_le64_set(&v->drv->driver_features, v->features);
	/* Read by the PMM at FEATURES_OK, after our status transaction. */
	hvl_cache_flush(v->r->cfg.cache, v->r->cfg.cache_ctx, &v->drv->driver_features, 8u);
	return 0;
}

void *hvl_vdev_local(const struct hvl_vdev *v, uint64_t bus, uint64_t len)
{
	uint64_t off;

	if (bus < v->win_bus)
		return NULL;
	off = bus - v->win_bus;
	if (off > v->win_size || len > v->win_size - off)
		return NULL;
	return v->win_local + off;
}

uint64_t hvl_vdev_bus(const struct hvl_vdev *v, const void *p)
{
	return v->win_bus + (uint64_t)((const uint8_t *)p - v->win_local);
}

void hvl_vdev_data_area(const struct hvl_vdev *v, void **local, uint64_t *bus, uint64_t *size)
{
	*local = v->win_local + v->data_off;
	*bus = v->win_bus + v->data_off;
	*size = v->win_size - v->data_off;
}

int hvl_vdev_queue_static(struct hvl_vdev *v, unsigned q, struct hvl_vq_drv *vq,
			  void *storage, size_t len)
{
	const struct hvl_ext_queue *eq;
	uint16_t num, num_max;
	void *desc, *avail, *used;

	if (q >= v->num_queues)
		return -EINVAL;
	eq = &v->ext->queue[q];
	num = hvl_le16_once(&eq->num);
	num_max = hvl_le16_once(&eq->num_max);
	if (num == 0u || num > num_max || (num & (num - 1u)) != 0u)
		return -EPROTO;
	desc = hvl_vdev_local(v, hvl_le64_once(&eq->desc), hvl_vring_desc_size(num));
	avail = hvl_vdev_local(v, hvl_le64_once(&eq->driver), hvl_vring_avail_size(num));
	used = hvl_vdev_local(v, hvl_le64_once(&eq->device), hvl_vring_used_size(num));
	if (desc == NULL || avail == NULL || used == NULL)
		return -EPROTO;
	return hvl_vq_drv_init(vq, desc, avail, used, num, v->features, storage, len,
			       v->r->cfg.cache, v->r->cfg.cache_ctx);
}

int hvl_vdev_driver_ok(struct hvl_vdev *v)
{
	const uint32_t want = HVL_STATUS_ACKNOWLEDGE | HVL_STATUS_DRIVER |
			      HVL_STATUS_FEATURES_OK | HVL_STATUS_DRIVER_OK;
	int rc = hvl_vdev_write(v, HVL_MMIO_STATUS, want, 4u);
	uint32_t st = hvl_vdev_status(v);

	if (rc != 0 && rc != -EIO && rc != -EINVAL)
		return rc;
	if ((st & HVL_STATUS_FEATURES_OK) == 0u)
		return -ENOTSUP;
	if (st != want)
		return -EIO;
	return 0;
}

void hvl_vdev_notify(struct hvl_vdev *v, unsigned q)
{
	if (q >= HVL_MAX_QUEUES)
		return;
	/* Pairs with the PMM's load of notify[q]; the ring's avail idx was released first. */
	hvl_le32_release(&v->drv->notify[q], hvl_le32_once(&v->drv->notify[q]) + 1u);
	hvl_cache_flush(v->r->cfg.cache, v->r->cfg.cache_ctx, &v->drv->notify[q], 4u);
	hvl_notify_ring(&v->r->cfg.notify);
}

void hvl_vdev_kick(struct hvl_vdev *v, unsigned q, struct hvl_vq_drv *vq)
{
	if (v->r->polled != 0u) {
		if (hvl_vq_drv_publish(vq) != 0)
			hvl_vdev_notify(v, q);
		return;
	}
	if (hvl_vq_drv_kick_prepare(vq) != 0)
		hvl_vdev_notify(v, q);
}

uint32_t hvl_vdev_interrupts(struct hvl_vdev *v)
{
	uint32_t bits = 0, u, c;

	hvl_cache_invalidate(v->r->cfg.cache, v->r->cfg.cache_ctx, &v->ext->irq_used, 8u);
	/* Pairs with the PMM's release store after it published used entries. */
	u = hvl_le32_acquire(&v->ext->irq_used);
	c = hvl_le32_acquire(&v->ext->irq_config);
	if (u != v->irq_used_seen) {
		bits |= HVL_INT_VRING;
		v->irq_used_seen = u;
		hvl_le32_set(&v->drv->irq_used_ack, u);
	}
	if (c != v->irq_config_seen) {
		bits |= HVL_INT_CONFIG;
		v->irq_config_seen = c;
		hvl_le32_set(&v->drv->irq_config_ack, c);
	}
	if (bits != 0u) /* the PMM derives InterruptStatus from these words */
		hvl_cache_flush(v->r->cfg.cache, v->r->cfg.cache_ctx, &v->drv->irq_used_ack, 8u);
	return bits;
}

int hvl_vdev_config_read(const struct hvl_vdev *v, uint32_t off, void *buf, uint32_t len)
{
	const uint8_t *cfg = v->page + HVL_MMIO_CONFIG;
	uint8_t *out = buf;
	unsigned tries;

	if (off > HVL_CONFIG_MAX || len > HVL_CONFIG_MAX - off)
		return -EINVAL;
	/* §4.2.2: retry until ConfigGeneration is the same, even, before and after. */
	for (tries = 0; tries < 64u; tries++) {
		uint32_t g0, g1, i;

		hvl_cache_invalidate(v->r->cfg.cache, v->r->cfg.cache_ctx,
				     &v->regs[HVL_MMIO_CONFIG_GENERATION / 4u], 4u);
		hvl_cache_invalidate(v->r->cfg.cache, v->r->cfg.cache_ctx, cfg + off, len);
		g0 = hvl_le32_acquire(&v->regs[HVL_MMIO_CONFIG_GENERATION / 4u]);

		for (i = 0; i < len; i++)
			out[i] = __atomic_load_n(&cfg[off + i], __ATOMIC_RELAXED);
		hvl_rmb();
		hvl_cache_invalidate(v->r->cfg.cache, v->r->cfg.cache_ctx,
				     &v->regs[HVL_MMIO_CONFIG_GENERATION / 4u], 4u);
		g1 = hvl_le32_once(&v->regs[HVL_MMIO_CONFIG_GENERATION / 4u]);
		if (g0 == g1 && (g0 & 1u) == 0u)
			return 0;
		relax(v);
	}
	return -EAGAIN;
}

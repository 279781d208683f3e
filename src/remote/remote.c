/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Region attach, device discovery and PMM liveness, driver side.
 *
 * The region header is written by the PMM, which the remote trusts less than
 * itself (STYLE.md 10): every field is loaded once, checked, and only the
 * checked copy is used.  Nothing here allocates; the loops are bounded by the
 * device table size or by a deadline.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "hvl/remote.h"

uint64_t hvl_remote_now(const struct hvl_remote *r)
{
	return r->cfg.os->now_ms(r->cfg.os_ctx);
}

int hvl_remote_wait(struct hvl_remote *r, uint32_t timeout_ms)
{
	/*
	 * Never sleep longer than the watchdog slice: a lost doorbell (a
	 * dropped inter-core interrupt) then delays the caller's re-check of
	 * its rings by at most one slice instead of its whole timeout.
	 */
	uint32_t t = timeout_ms < r->cfg.watchdog_ms ? timeout_ms : r->cfg.watchdog_ms;

	return hvl_notify_wait(&r->cfg.notify, t);
}

/* Is [off, off+len) inside the first @size bytes?  Overflow-safe. */
static int in_region(uint64_t size, uint64_t off, uint64_t len)
{
	return off <= size && len <= size - off;
}

static int check_header(struct hvl_remote *r)
{
	const struct hvl_region_hdr *h = r->hdr;
	uint64_t rsize = hvl_le64_once(&h->region_size);
	uint32_t ndev = hvl_le32_once(&h->device_count);

	if (hvl_le32_once(&h->version) != HVL_REGION_VERSION)
		return -EPROTO;
	if (rsize > r->size || rsize < HVL_REGION_HDR_SIZE)
		return -EINVAL;
	if (hvl_le64_once(&h->remote_base) != r->cfg.bus_base)
		return -EINVAL;
	if (hvl_le32_once(&h->devtab_offset) != HVL_DEVTAB_OFFSET || ndev > HVL_MAX_DEVICES)
		return -EPROTO;
	r->size = rsize; /* never look past what the PMM laid out */
	r->ndev = ndev;
	return 0;
}

int hvl_remote_attach(struct hvl_remote *r, void *base, uint64_t size,
		      const struct hvl_remote_cfg *cfg, uint32_t timeout_ms)
{
	uint64_t start;

	if (base == NULL || cfg == NULL || cfg->os == NULL || cfg->os->now_ms == NULL ||
	    cfg->notify.ops == NULL || size < HVL_REGION_HDR_SIZE)
		return -EINVAL;
	memset(r, 0, sizeof(*r));
	r->base = base;
	r->size = size;
	r->cfg = *cfg;
	if (r->cfg.txn_timeout_ms == 0u)
		r->cfg.txn_timeout_ms = 1000u;
	if (r->cfg.watchdog_ms == 0u)
		r->cfg.watchdog_ms = 100u;
	r->bus_base = cfg->bus_base;
	r->hdr = (struct hvl_region_hdr *)base;

	start = hvl_remote_now(r);
	for (;;) {
		hvl_cache_invalidate(r->cfg.cache, r->cfg.cache_ctx, r->hdr, sizeof(*r->hdr));
		/* Pairs with the PMM's release store of READY after the whole header. */
		uint32_t state = hvl_le32_acquire(&r->hdr->pmm_state);

		if (hvl_le32_once(&r->hdr->magic) == HVL_REGION_MAGIC && state == HVL_PMM_STATE_READY)
			break;
		if (hvl_remote_now(r) - start >= timeout_ms)
			return -ETIMEDOUT;
		(void)hvl_remote_wait(r, 10u);
	}
	{
		int rc = check_header(r);

		if (rc != 0)
			return rc;
	}
	r->pmm_epoch = hvl_le32_once(&r->hdr->epoch);
	/*
	 * Poll doorbell: nobody sleeps, a notification is two plain stores,
	 * so every publish is notified and the suppression check (a full
	 * fence and a read of a line the PMM writes) is skipped.
	 */
	r->polled = (hvl_le32_once(&r->hdr->doorbell_kind) == HVL_DOORBELL_POLL) ? 1u : 0u;
	r->hb_last = hvl_le32_once(&r->hdr->heartbeat);
	r->hb_changed_ms = hvl_remote_now(r);
	hvl_le32_set(&r->hdr->remote_seen_epoch, r->pmm_epoch);
	hvl_le32_set(&r->hdr->remote_epoch, hvl_le32_once(&r->hdr->remote_epoch) + 1u);
	hvl_le32_release(&r->hdr->remote_state, 1u);
	hvl_cache_flush(r->cfg.cache, r->cfg.cache_ctx, &r->hdr->remote_state, 16u);
	return 0;
}

void hvl_remote_detach(struct hvl_remote *r)
{
	hvl_le32_release(&r->hdr->remote_state, 0u);
	hvl_cache_flush(r->cfg.cache, r->cfg.cache_ctx, &r->hdr->remote_state, 4u);
}

int hvl_remote_pmm_alive(struct hvl_remote *r, uint32_t stale_ms)
{
	uint32_t hb;
	uint64_t t;

	hvl_cache_invalidate(r->cfg.cache, r->cfg.cache_ctx, &r->hdr->pmm_state, 16u);
	if (hvl_le32_acquire(&r->hdr->pmm_state) != HVL_PMM_STATE_READY ||
	    hvl_le32_once(&r->hdr->epoch) != r->pmm_epoch)
		return 0;
	/* A PMM configured without heartbeat (heartbeat_ms 0) is judged by state and epoch only. */
	if (hvl_le32_once(&r->hdr->heartbeat_ms) == 0u)
		return 1;
	hb = hvl_le32_once(&r->hdr->heartbeat);
	t = hvl_remote_now(r);
	if (hb != r->hb_last) {
		r->hb_last = hb;
		r->hb_changed_ms = t;
	}
	return (t - r->hb_changed_ms) < stale_ms ? 1 : 0;
}

/* Validate device table entry @i and fill @v from the checked copy. */
static int load_device(struct hvl_remote *r, uint32_t i, struct hvl_vdev *v)
{
	const struct hvl_devtab_entry *e = (const struct hvl_devtab_entry *)(const void *)
		(r->base + HVL_DEVTAB_OFFSET + (size_t)i * HVL_DEVTAB_ENTRY_SIZE);
	uint64_t regs = hvl_le64_once(&e->regs_offset);
	uint64_t woff = hvl_le64_once(&e->window_offset);
	uint64_t wsize = hvl_le64_once(&e->window_size);
	const struct hvl_ext *ext;
	uint32_t nq;
	uint64_t data_off;
	size_t k;

	if ((regs % HVL_DEVPAGE_SIZE) != 0u || regs < HVL_REGION_HDR_SIZE ||
	    !in_region(r->size, regs, HVL_DEVPAGE_SIZE) || !in_region(r->size, woff, wsize) ||
	    wsize == 0u)
		return -EPROTO;
	memset(v, 0, sizeof(*v));
	v->r = r;
	v->index = i;
	v->device_id = hvl_le32_once(&e->device_id);
	for (k = 0; k + 1u < sizeof(v->name); k++) {
		char c = __atomic_load_n(&e->name[k], __ATOMIC_RELAXED);

		if (c == '\0')
			break;
		v->name[k] = c;
	}
	v->page = r->base + regs;
	v->regs = (const hvl_le32 *)(const void *)v->page;
	v->ext = (const struct hvl_ext *)(const void *)(v->page + HVL_EXT_OFFSET);
	v->drv = (struct hvl_drv_area *)(void *)(v->page + HVL_DRV_AREA_OFFSET);
	v->win_local = r->base + woff;
	v->win_bus = r->bus_base + woff;
	v->win_size = wsize;

	hvl_cache_invalidate(r->cfg.cache, r->cfg.cache_ctx, v->page, HVL_DEVPAGE_SIZE);
	if (hvl_le32_once(&v->regs[HVL_MMIO_MAGIC_VALUE / 4u]) != HVL_MMIO_MAGIC ||
	    hvl_le32_once(&v->regs[HVL_MMIO_VERSION / 4u]) != HVL_MMIO_VERSION2 ||
	    hvl_le32_once(&v->regs[HVL_MMIO_DEVICE_ID / 4u]) != v->device_id)
		return -EPROTO;
	ext = v->ext;
	nq = hvl_le32_once(&ext->num_queues);
	data_off = hvl_le32_once(&ext->data_offset);
	if (hvl_le32_once(&ext->magic) != HVL_EXT_MAGIC || nq == 0u || nq > HVL_MAX_QUEUES ||
	    hvl_le64_once(&ext->window_base) != v->win_bus ||
	    hvl_le64_once(&ext->window_size) != wsize || data_off > wsize)
		return -EPROTO;
	v->num_queues = nq;
	v->data_off = data_off;
	v->device_features = hvl_le64_once(&ext->device_features);
	/* Our own words: continue from what a previous instance of us left. */
	v->txn_seq = hvl_le32_once(&v->drv->txn_seq);
	v->irq_used_seen = hvl_le32_once(&v->drv->irq_used_ack);
	v->irq_config_seen = hvl_le32_once(&v->drv->irq_config_ack);
	return 0;
}

int hvl_remote_find(struct hvl_remote *r, uint32_t device_id, uint32_t nth, struct hvl_vdev *v)
{
	uint32_t i, seen = 0;

	for (i = 0; i < r->ndev; i++) {
		const struct hvl_devtab_entry *e = (const struct hvl_devtab_entry *)(const void *)
			(r->base + HVL_DEVTAB_OFFSET + (size_t)i * HVL_DEVTAB_ENTRY_SIZE);

		if (hvl_le32_once(&e->device_id) != device_id)
			continue;
		if (seen == nth)
			return load_device(r, i, v);
		seen++;
	}
	return -ENODEV;
}

int hvl_remote_find_name(struct hvl_remote *r, const char *name, struct hvl_vdev *v)
{
	uint32_t i;

	for (i = 0; i < r->ndev; i++) {
		const struct hvl_devtab_entry *e = (const struct hvl_devtab_entry *)(const void *)
			(r->base + HVL_DEVTAB_OFFSET + (size_t)i * HVL_DEVTAB_ENTRY_SIZE);
		char copy[sizeof(e->name) + 1u];
		size_t k;

		for (k = 0; k < sizeof(e->name); k++)
			copy[k] = __atomic_load_n(&e->name[k], __ATOMIC_RELAXED);
		copy[sizeof(e->name)] = '\0';
		if (strcmp(copy, name) == 0)
			return load_device(r, i, v);
	}
	return -ENODEV;
}

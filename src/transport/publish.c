/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * PMM-side publication of a region header (see include/hvl/pmm/publish.h).
 *
 * Order matters (docs/PROTOCOL.md "Start and restart"): DOWN is stored
 * first, the identity and device table next, and READY last with a release
 * store, after the device pages were initialised by hvl_dev_init().  A remote
 * that loads READY with acquire therefore sees a complete header.
 */
#include <string.h>

#include "hvl/pmm/publish.h"

static struct hvl_devtab_entry *devtab(void *mem, unsigned i)
{
	return (struct hvl_devtab_entry *)(void *)((uint8_t *)mem + HVL_DEVTAB_OFFSET +
						   (size_t)i * HVL_DEVTAB_ENTRY_SIZE);
}

static int same_layout(void *mem, const struct hvl_layout *l)
{
	const struct hvl_region_hdr *h = mem;
	unsigned i;

	if (hvl_le32_get(&h->magic) != HVL_REGION_MAGIC ||
	    hvl_le32_get(&h->version) != HVL_REGION_VERSION ||
	    hvl_le64_get(&h->region_size) != l->region_size ||
	    hvl_le64_get(&h->remote_base) != l->remote_base ||
	    hvl_le32_get(&h->device_count) != l->ndev)
		return 0;
	for (i = 0; i < l->ndev; i++) {
		const struct hvl_devtab_entry *e = devtab(mem, i);
		const struct hvl_layout_dev *ld = &l->dev[i];

		if (hvl_le32_get(&e->device_id) != ld->cfg.device_id ||
		    hvl_le64_get(&e->regs_offset) != ld->regs_offset ||
		    hvl_le64_get(&e->window_offset) != ld->window_offset ||
		    hvl_le64_get(&e->window_size) != ld->window_size)
			return 0;
	}
	return 1;
}

int hvl_region_prepare(void *mem, const struct hvl_layout *l, const struct hvl_region_info *info)
{
	struct hvl_region_hdr *h = mem;
	int kept = same_layout(mem, l);
	unsigned i;

	/* A remote must not use a header while we rewrite it. */
	hvl_le32_release(&h->pmm_state, HVL_PMM_STATE_DOWN);
	if (!kept) {
		/* Keep the epoch across a re-layout so it still only grows. */
		uint32_t epoch = hvl_le32_get(&h->magic) == HVL_REGION_MAGIC ?
				 hvl_le32_get(&h->epoch) : 0u;

		memset(mem, 0, (size_t)l->region_size);
		hvl_le32_put(&h->epoch, epoch);
	}
	hvl_le32_put(&h->magic, HVL_REGION_MAGIC);
	hvl_le32_put(&h->version, HVL_REGION_VERSION);
	hvl_le64_put(&h->region_size, l->region_size);
	hvl_le64_put(&h->remote_base, l->remote_base);
	hvl_le32_put(&h->device_count, l->ndev);
	hvl_le32_put(&h->devtab_offset, HVL_DEVTAB_OFFSET);
	hvl_le32_put(&h->doorbell_kind, info->doorbell_kind);
	hvl_le32_put(&h->heartbeat_ms, info->heartbeat_ms);
	hvl_le32_put(&h->region_index, info->index);
	hvl_le32_put(&h->pmm_pid, info->pmm_pid);
	memset(h->name, 0, sizeof(h->name));
	if (info->name != NULL)
		memcpy(h->name, info->name, strnlen(info->name, sizeof(h->name) - 1u));
	for (i = 0; i < l->ndev; i++) {
		struct hvl_devtab_entry *e = devtab(mem, i);
		const struct hvl_layout_dev *ld = &l->dev[i];

		memset(e, 0, sizeof(*e));
		hvl_le32_put(&e->device_id, ld->cfg.device_id);
		hvl_le64_put(&e->regs_offset, ld->regs_offset);
		hvl_le64_put(&e->window_offset, ld->window_offset);
		hvl_le64_put(&e->window_size, ld->window_size);
		memcpy(e->name, ld->cfg.name, strnlen(ld->cfg.name, sizeof(e->name) - 1u));
	}
	return kept;
}

void hvl_region_set_ready(void *mem)
{
	struct hvl_region_hdr *h = mem;

	hvl_le32_put(&h->epoch, hvl_le32_get(&h->epoch) + 1u);
	/* Pairs with the remote's acquire load of pmm_state: header complete. */
	hvl_le32_release(&h->pmm_state, HVL_PMM_STATE_READY);
}

void hvl_region_set_down(void *mem)
{
	hvl_le32_release(&((struct hvl_region_hdr *)mem)->pmm_state, HVL_PMM_STATE_DOWN);
}

void hvl_dev_static_from_layout(struct hvl_dev_static *st, struct hvl_window *win,
				void *mem, const struct hvl_layout *l, unsigned i)
{
	const struct hvl_layout_dev *ld = &l->dev[i];
	unsigned q;

	memset(st, 0, sizeof(*st));
	st->device_id = ld->cfg.device_id;
	st->name = ld->cfg.name;
	st->num_queues = ld->cfg.num_queues;
	for (q = 0; q < st->num_queues && q < HVL_MAX_QUEUES; q++) {
		const struct hvl_layout_queue *lq = &ld->queue[q];

		/* The static ring size is also the most its window block can hold. */
		st->queue_num[q] = lq->num;
		st->queue_num_max[q] = lq->num;
		st->queue_desc[q] = l->remote_base + lq->desc;
		st->queue_driver[q] = l->remote_base + lq->avail;
		st->queue_device[q] = l->remote_base + lq->used;
	}
	st->data_bus = l->remote_base + ld->data_offset;
	st->data_size = ld->data_size;
	win->local = (uint8_t *)mem + ld->window_offset;
	win->bus = l->remote_base + ld->window_offset;
	win->size = ld->window_size;
}

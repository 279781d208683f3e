/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Split virtqueue, driver side (the remote core).  One trust model: the
 * driver trusts itself and checks what the device returns (STYLE.md 10).
 * No allocation: the caller provides per-queue bookkeeping storage.
 * Not thread-safe; callers serialise access to one queue.
 */
#ifndef HVL_VQ_DRIVER_H
#define HVL_VQ_DRIVER_H

#include <stddef.h>
#include <stdint.h>
#include "hvl/wire/vring.h"
#include "hvl/cache.h"

/* One buffer of a chain: bus address (remote's view) and length. */
struct hvl_sg {
	uint64_t addr;
	uint32_t len;
};

/* Private per-head bookkeeping; opaque to users. */
struct hvl_vq_drv_slot {
	void *cookie;     /* NULL when the head is free */
	uint32_t in_len;  /* writable bytes posted, bound for used.len */
	uint16_t ndesc;   /* descriptors taken from the table */
	uint16_t last;    /* last descriptor of the chain in the table */
};

/* Bytes of storage hvl_vq_drv_init() needs for a queue of @num entries. */
#define HVL_VQ_DRV_STORAGE(num) ((size_t)(num) * (sizeof(struct hvl_vq_drv_slot) + sizeof(uint16_t)))

struct hvl_vq_drv {
	struct hvl_vring_desc *desc;
	struct hvl_vring_avail *avail;
	struct hvl_vring_used *used;
	hvl_le16 *used_event;   /* &avail->ring[num] */
	hvl_le16 *avail_event;  /* &used->ring[num] */
	uint16_t num;
	uint16_t free_head;
	uint16_t num_free;
	uint16_t avail_idx;     /* private shadow of avail->idx */
	uint16_t last_used;     /* next used entry to consume */
	uint16_t kicked_idx;    /* avail_idx when we last decided about notifying */
	uint16_t num_added;     /* buffers added since the last kick decision */
	uint8_t event_idx;
	uint8_t broken;         /* set on a device protocol violation */
	uint8_t indirect_ok;    /* VIRTIO_F_INDIRECT_DESC negotiated (for set_indirect) */
	uint16_t *next;         /* private free-list links, never read back from shared memory */
	struct hvl_vq_drv_slot *slot;
	/* Optional indirect tables: @ind_max descriptors per head, in the window. */
	struct hvl_vring_desc *ind;
	uint64_t ind_bus;
	uint16_t ind_max;
	const struct hvl_cache_ops *cache;
	void *cache_ctx;
};

/*
 * Initialise a queue over rings at the given local addresses.  @num must be a
 * power of two <= 32768.  @features is the negotiated feature set (EVENT_IDX
 * and INDIRECT_DESC are honoured).  Zeroes the driver-owned ring parts.
 * Returns 0 or -EINVAL.
 */
int hvl_vq_drv_init(struct hvl_vq_drv *vq, void *desc, void *avail, void *used,
		    uint16_t num, uint64_t features, void *storage, size_t storage_len,
		    const struct hvl_cache_ops *cache, void *cache_ctx);

/*
 * Provide indirect descriptor tables: @local/@bus address an area of
 * num * @per_head * 16 bytes inside the device window.  Chains with more
 * than one buffer then use one descriptor of the ring.  Requires
 * VIRTIO_F_INDIRECT_DESC to have been negotiated; returns -ENOTSUP otherwise.
 */
int hvl_vq_drv_set_indirect(struct hvl_vq_drv *vq, void *local, uint64_t bus, uint16_t per_head);

/*
 * Post a chain: sg[0..n_out) device-readable, then sg[n_out..n_out+n_in)
 * device-writable.  @cookie (non-NULL) comes back from hvl_vq_drv_get_used().
 * Not visible to the device until hvl_vq_drv_kick_prepare().
 * Returns 0, -ENOSPC when out of descriptors, -EINVAL, or -EIO if broken.
 */
int hvl_vq_drv_add(struct hvl_vq_drv *vq, const struct hvl_sg *sg, unsigned n_out,
		   unsigned n_in, void *cookie);

/*
 * Publish added chains (release store of avail->idx) and tell whether the
 * device wants a notification (EVENT_IDX avail_event or NO_NOTIFY flag).
 * Returns 1 if the caller must notify, 0 if not.
 */
int hvl_vq_drv_kick_prepare(struct hvl_vq_drv *vq);

/*
 * Publish added chains without looking at the device's suppression state
 * (no full fence): for regions where every publish is notified anyway
 * (the poll doorbell, where a notification is two plain stores).
 * Returns 1 if anything new was published.
 */
int hvl_vq_drv_publish(struct hvl_vq_drv *vq);

/*
 * Take one used chain.  Returns its cookie and stores the used length in
 * *len, or NULL when none is pending.  A used id that is out of range or not
 * outstanding, or a length above what was posted, marks the queue broken and
 * returns NULL (check hvl_vq_drv_broken()).
 */
void *hvl_vq_drv_get_used(struct hvl_vq_drv *vq, uint32_t *len);

/* True if the device has used entries we have not consumed yet. */
int hvl_vq_drv_more_used(const struct hvl_vq_drv *vq);

/*
 * Ask for (enable) or suppress (disable) used-buffer interrupts: sets
 * used_event to last_used (EVENT_IDX) or clears/sets NO_INTERRUPT.
 * enable returns 1 if used entries arrived meanwhile (poll again).
 */
int hvl_vq_drv_enable_cb(struct hvl_vq_drv *vq);
void hvl_vq_drv_disable_cb(struct hvl_vq_drv *vq);

/*
 * Like hvl_vq_drv_enable_cb(), but with EVENT_IDX ask for the interrupt
 * only once @after more chains are used (at most as many as are
 * outstanding), so a driver with many requests in flight is woken once per
 * several completions.  Every added chain must have been published
 * (hvl_vq_drv_kick_prepare) before the caller sleeps.  Without EVENT_IDX
 * or for @after <= 1 it is hvl_vq_drv_enable_cb().  Returns 1 if used
 * entries are already pending (poll again instead of sleeping).
 */
int hvl_vq_drv_enable_cb_delayed(struct hvl_vq_drv *vq, uint16_t after);

/* Free descriptors left. */
unsigned hvl_vq_drv_num_free(const struct hvl_vq_drv *vq);

/* Non-zero once the device violated the protocol on this queue. */
int hvl_vq_drv_broken(const struct hvl_vq_drv *vq);

/*
 * After a device reset: return the cookie of one chain still outstanding and
 * free it, or NULL when none is left.
 */
void *hvl_vq_drv_detach_unused(struct hvl_vq_drv *vq);

#endif /* HVL_VQ_DRIVER_H */

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Split virtqueue, device side (the PMM).  One trust model: nothing in shared
 * memory is trusted (STYLE.md 7, 9-12).  Ring geometry is validated once at
 * init and kept in this private struct; every descriptor is copied out of
 * shared memory before it is checked; every buffer must lie entirely inside
 * the device's window.  A violation marks the queue broken and returns a
 * negative errno; the transport then sets DEVICE_NEEDS_RESET.
 */
#ifndef HVL_VQ_DEVICE_H
#define HVL_VQ_DEVICE_H

#include <stddef.h>
#include <stdint.h>
#include "hvl/wire/vring.h"
#include "hvl/cache.h"

/*
 * A device window: bus addresses [bus, bus+size) are the remote's view of
 * local memory [local, local+size).  Nothing outside it is ever touched.
 */
struct hvl_window {
	uint8_t *local;
	uint64_t bus;
	uint64_t size;
};

/*
 * Translate a bus range to a local pointer.  Returns NULL unless the whole
 * range [addr, addr+len) lies inside the window (overflow-checked).
 * len 0 is accepted if addr is inside the window.
 */
void *hvl_window_translate(const struct hvl_window *w, uint64_t addr, uint64_t len);

/* One buffer of a popped chain, already translated and bounds-checked. */
struct hvl_iov {
	void *base;
	uint32_t len;
};

/* A popped chain: iov[0..n_out) readable, then iov[n_out..n_out+n_in) writable. */
struct hvl_chain {
	uint16_t head;      /* to give back in hvl_vq_dev_push() */
	uint16_t n_out;
	uint16_t n_in;
	uint32_t out_len;   /* sum of readable lengths */
	uint32_t in_len;    /* sum of writable lengths */
	struct hvl_iov *iov;
	unsigned cap;       /* capacity of iov[], set by the caller */
};

/* Reasons a queue broke, for logs and the ext.broken_reason register. */
enum hvl_vq_fault {
	HVL_VQ_OK = 0,
	HVL_VQ_FAULT_AVAIL_IDX,     /* avail idx moved by more than num, or backwards */
	HVL_VQ_FAULT_HEAD,          /* head index >= num */
	HVL_VQ_FAULT_NEXT,          /* next index >= num (or >= indirect table size) */
	HVL_VQ_FAULT_LOOP,          /* chain longer than the queue / table */
	HVL_VQ_FAULT_ADDRESS,       /* buffer not entirely inside the window */
	HVL_VQ_FAULT_ORDER,         /* readable descriptor after a writable one */
	HVL_VQ_FAULT_INDIRECT,      /* bad indirect table (nested, size, NEXT+INDIRECT) */
	HVL_VQ_FAULT_ZERO_LEN,      /* zero-length descriptor */
	HVL_VQ_FAULT_TOO_BIG,       /* chain exceeds the caller's iov capacity or 4 GiB */
	HVL_VQ_FAULT_GEOMETRY,      /* bad size / alignment / placement at init */
};

const char *hvl_vq_fault_str(enum hvl_vq_fault f);

struct hvl_vq_dev {
	/* Private, validated copy of the configuration: never re-read. */
	struct hvl_window win;
	uint16_t num;
	struct hvl_vring_desc *desc;
	struct hvl_vring_avail *avail;
	struct hvl_vring_used *used;
	hvl_le16 *used_event;   /* &avail->ring[num] */
	hvl_le16 *avail_event;  /* &used->ring[num] */
	uint8_t event_idx;
	uint8_t indirect;
	uint8_t notify_enabled; /* we asked the driver to notify us */
	enum hvl_vq_fault fault;
	uint16_t last_avail;    /* next avail entry to take */
	uint16_t used_idx;      /* private shadow of used->idx */
	uint16_t signalled_used;/* used_idx when we last decided about an interrupt */
	uint16_t inflight;      /* popped, not yet pushed */
	const struct hvl_cache_ops *cache;
	void *cache_ctx;
};

/*
 * Validate geometry once (power-of-two @num <= 32768, alignment of each part,
 * each part entirely inside @win) and initialise.  Zeroes the device-owned
 * used ring.  Returns 0 or -EINVAL (vq->fault = HVL_VQ_FAULT_GEOMETRY).
 */
int hvl_vq_dev_init(struct hvl_vq_dev *vq, const struct hvl_window *win, uint16_t num,
		    uint64_t desc, uint64_t avail, uint64_t used, uint64_t features,
		    const struct hvl_cache_ops *cache, void *cache_ctx);

/*
 * Take the next available chain into @c (c->iov and c->cap set by caller).
 * Returns 1 with a chain, 0 when the ring is empty, or a negative errno on a
 * protocol violation (vq->fault set; the queue stays broken).
 */
int hvl_vq_dev_pop(struct hvl_vq_dev *vq, struct hvl_chain *c);

/*
 * Copy up to @len bytes starting @off bytes into the chain's readable part
 * into @dst (a private copy: read each request once, STYLE.md 7), or from
 * @src into its writable part.  Return the bytes copied (< @len when the
 * chain is shorter).  The iovs were bounds-checked when popped.
 */
uint32_t hvl_chain_read(const struct hvl_chain *c, uint32_t off, void *dst, uint32_t len);
uint32_t hvl_chain_write(const struct hvl_chain *c, uint32_t off, const void *src, uint32_t len);

/* Return a chain with @len bytes written.  Release-publishes used->idx. */
void hvl_vq_dev_push(struct hvl_vq_dev *vq, uint16_t head, uint32_t len);

/*
 * After one or more pushes: does the driver want an interrupt?  Applies the
 * EVENT_IDX rule (used_event) or the NO_INTERRUPT flag.  Returns 1 or 0.
 * The decision is recorded (the pushes are now "signalled"): call it once
 * per batch and act on the answer.  PMM backends do not call it at all but
 * hvl_dev_vq_interrupt(), which calls it and raises the interrupt; calling
 * both loses the interrupt.
 */
int hvl_vq_dev_need_interrupt(struct hvl_vq_dev *vq);

/*
 * Record the pushes as signalled without reading the driver's suppression
 * state (no full fence): for regions that interrupt after every batch
 * anyway (the poll doorbell).  Returns 1 if anything was pushed since.
 */
int hvl_vq_dev_mark_signalled(struct hvl_vq_dev *vq);

/* True if the driver has made chains available that we have not popped. */
int hvl_vq_dev_has_work(struct hvl_vq_dev *vq);

/*
 * Ask for (enable) or suppress (disable) driver notifications (avail_event
 * or the NO_NOTIFY flag).  enable returns 1 if work arrived meanwhile.
 */
int hvl_vq_dev_enable_notify(struct hvl_vq_dev *vq);
void hvl_vq_dev_disable_notify(struct hvl_vq_dev *vq);

#endif /* HVL_VQ_DEVICE_H */

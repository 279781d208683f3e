/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Split virtqueue layout, virtio 1.2 §2.7.  Pure layout: no code here.
 */
#ifndef HVL_WIRE_VRING_H
#define HVL_WIRE_VRING_H

#include <stddef.h>
#include <stdint.h>
#include "hvl/wire/le.h"

/* Descriptor flags, §2.7.5. */
#define HVL_VRING_DESC_F_NEXT     1u
#define HVL_VRING_DESC_F_WRITE    2u
#define HVL_VRING_DESC_F_INDIRECT 4u

/* Ring flags, §2.7.6 / §2.7.8 (ignored when EVENT_IDX is negotiated). */
#define HVL_VRING_AVAIL_F_NO_INTERRUPT 1u
#define HVL_VRING_USED_F_NO_NOTIFY     1u

/* Largest queue size a split ring may have (§2.7: Queue Size <= 32768). */
#define HVL_VRING_MAX_SIZE 32768u

/* Alignment of the three parts, §2.7 table "Virtqueue Part Alignment". */
#define HVL_VRING_DESC_ALIGN  16u
#define HVL_VRING_AVAIL_ALIGN 2u
#define HVL_VRING_USED_ALIGN  4u

struct hvl_vring_desc {
	hvl_le64 addr;  /* remote's view (bus address) of the buffer */
	hvl_le32 len;
	hvl_le16 flags;
	hvl_le16 next;
};

struct hvl_vring_avail {
	hvl_le16 flags;
	hvl_le16 idx;
	hvl_le16 ring[]; /* [num], then le16 used_event when EVENT_IDX */
};

struct hvl_vring_used_elem {
	hvl_le32 id;  /* head of the chain, widened to 32 bits on the wire */
	hvl_le32 len; /* bytes written into the device-writable part */
};

struct hvl_vring_used {
	hvl_le16 flags;
	hvl_le16 idx;
	struct hvl_vring_used_elem ring[]; /* [num], then le16 avail_event */
};

/* Sizes in bytes of each part for a queue of @num entries, with event words. */
static inline size_t hvl_vring_desc_size(uint32_t num) { return (size_t)16u * num; }
static inline size_t hvl_vring_avail_size(uint32_t num) { return (size_t)6u + (size_t)2u * num; }
static inline size_t hvl_vring_used_size(uint32_t num) { return (size_t)6u + (size_t)8u * num; }

/*
 * Event index rule, §2.7.7.2 and §2.7.10.2: notify if the new index has
 * moved past the peer's event index since the last notification.  All
 * arithmetic is modulo 2^16.
 */
static inline int hvl_vring_need_event(uint16_t event_idx, uint16_t new_idx, uint16_t old_idx)
{
	return (uint16_t)(new_idx - event_idx - 1u) < (uint16_t)(new_idx - old_idx);
}

#endif /* HVL_WIRE_VRING_H */

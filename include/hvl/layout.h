/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Region layout computation: from a static description of the devices to
 * every offset both sides use.  Pure code (no I/O), shared by the PMM (which
 * writes the headers), --print-layout and --emit-header.
 *
 * Layout (docs/PROTOCOL.md "Region layout"): offset 0 holds the 4 KiB region
 * header with the device table; then one 4 KiB device page per device; then
 * one window per device, 4 KiB aligned.  Inside a window, each queue gets a
 * 4 KiB-aligned block: descriptor table, then the avail ring (64-byte
 * aligned), then the used ring (64-byte aligned); after the last queue, the
 * data area (4 KiB aligned) of the configured size.
 */
#ifndef HVL_LAYOUT_H
#define HVL_LAYOUT_H

#include <stddef.h>
#include <stdint.h>
#include "hvl/wire/region.h"

struct hvl_layout_dev_cfg {
	uint32_t device_id;
	char name[32];
	uint32_t num_queues;                 /* 1..HVL_MAX_QUEUES */
	uint16_t queue_size[HVL_MAX_QUEUES]; /* power of two, 1..32768 */
	uint64_t data_size;                  /* bytes of data area in the window */
};

struct hvl_layout_queue {
	uint16_t num;
	uint64_t desc, avail, used;          /* region offsets */
};

struct hvl_layout_dev {
	struct hvl_layout_dev_cfg cfg;
	uint64_t regs_offset;                /* device page */
	uint64_t window_offset, window_size;
	uint64_t data_offset, data_size;     /* region offset of the data area */
	struct hvl_layout_queue queue[HVL_MAX_QUEUES];
};

struct hvl_layout {
	uint64_t region_size;                /* total bytes needed/used */
	uint64_t remote_base;                /* remote's bus address of offset 0 */
	unsigned ndev;
	struct hvl_layout_dev dev[HVL_MAX_DEVICES];
};

/*
 * Compute a layout.  @region_size 0 means "as small as fits"; otherwise the
 * layout must fit in it (and region_size is kept as given).  Returns 0, or
 * -EINVAL/-ENOSPC with a message in @err.
 */
int hvl_layout_compute(struct hvl_layout *l, uint64_t region_size, uint64_t remote_base,
		       const struct hvl_layout_dev_cfg *devs, unsigned ndev,
		       char *err, size_t errlen);

#endif /* HVL_LAYOUT_H */

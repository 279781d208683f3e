/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Writing a region's PMM-owned header from a computed layout, and the
 * DOWN -> READY publication protocol (docs/PROTOCOL.md "Start and
 * restart").  Used by hvl-pmm and by tests that play the PMM in-process.
 */
#ifndef HVL_PMM_PUBLISH_H
#define HVL_PMM_PUBLISH_H

#include <stdint.h>
#include "hvl/layout.h"
#include "hvl/pmm/dev.h"

struct hvl_region_info {
	const char *name;        /* up to 15 characters are published */
	uint32_t index;          /* region index in the PMM configuration */
	uint32_t doorbell_kind;  /* HVL_DOORBELL_* */
	uint32_t heartbeat_ms;
	uint32_t pmm_pid;
};

/*
 * Take the region at @mem down (pmm_state DOWN), then make it describe
 * @l: if the existing header already describes the same layout, the
 * remote-owned words are kept (a restart under a live remote); otherwise
 * the whole region is zeroed first.  Writes identity and device table.
 * Returns 1 if the old content was kept, 0 if it was cleared.
 */
int hvl_region_prepare(void *mem, const struct hvl_layout *l, const struct hvl_region_info *info);

/* Bump the epoch and store READY with release semantics. */
void hvl_region_set_ready(void *mem);

/* Store DOWN with release semantics (shutdown). */
void hvl_region_set_down(void *mem);

/* Fill the static description and window of device @i of @l mapped at @mem. */
void hvl_dev_static_from_layout(struct hvl_dev_static *st, struct hvl_window *win,
				void *mem, const struct hvl_layout *l, unsigned i);

#endif /* HVL_PMM_PUBLISH_H */

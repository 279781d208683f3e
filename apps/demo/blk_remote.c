/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Demo, block, remote half: write a sector pattern, read it back, flush,
 * then write and flush a marker sector that tells Linux to look.
 */
#include <errno.h>
#include <string.h>

#include "demo.h"
#include "hvl/blk.h"

static int fail(struct hvl_blk *b, char *detail, size_t dlen, const char *what, int rc)
{
	snprintf(detail, dlen, "%s: %s", what, strerror(rc < 0 ? -rc : rc));
	(void)hvl_blk_close(b);
	return -1;
}

int demo_blk_remote(struct demo_remote *d, char *detail, size_t dlen)
{
	HVL_BLK_DEFINE(disk, 1024);
	static uint8_t want[DEMO_BLK_SECTORS * 512u];
	uint8_t *area, *rd;
	void *a;
	size_t size;
	int rc;

	rc = hvl_blk_open(&disk, &d->pr.r, 0, &disk_storage, sizeof(disk_storage), d->timeout_ms);
	if (rc != 0) {
		snprintf(detail, dlen, "open failed: %s", strerror(-rc));
		return -1;
	}
	hvl_blk_data_area(&disk, &a, &size);
	area = a;
	if (size < 2u * sizeof(want))
		return fail(&disk, detail, dlen, "data area", -ENOSPC);
	rd = area + sizeof(want);
	demo_blk_pattern(want, sizeof(want));
	memcpy(area, want, sizeof(want));
	rc = hvl_blk_write(&disk, DEMO_BLK_FIRST, area, sizeof(want), d->timeout_ms);
	if (rc != 0)
		return fail(&disk, detail, dlen, "write", rc);
	memset(rd, 0, sizeof(want));
	rc = hvl_blk_read(&disk, DEMO_BLK_FIRST, rd, sizeof(want), d->timeout_ms);
	if (rc != 0)
		return fail(&disk, detail, dlen, "read", rc);
	if (memcmp(rd, want, sizeof(want)) != 0)
		return fail(&disk, detail, dlen, "read back", EIO);
	rc = hvl_blk_flush(&disk, d->timeout_ms);
	if (rc != 0)
		return fail(&disk, detail, dlen, "flush", rc);
	/* The marker goes last, flushed too: Linux looks only once it is there. */
	memset(area, 0, 512);
	memcpy(area, DEMO_BLK_MARKER, sizeof(DEMO_BLK_MARKER) - 1u);
	rc = hvl_blk_write(&disk, 0, area, 512, d->timeout_ms);
	if (rc == 0)
		rc = hvl_blk_flush(&disk, d->timeout_ms);
	if (rc != 0)
		return fail(&disk, detail, dlen, "marker", rc);
	snprintf(detail, dlen, "%u sectors written, read back, flushed; %llu sectors, serial %s",
		 DEMO_BLK_SECTORS, (unsigned long long)hvl_blk_capacity(&disk), hvl_blk_serial(&disk));
	(void)hvl_blk_close(&disk);
	return 0;
}

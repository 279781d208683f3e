/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Region layout computation (include/hvl/layout.h).
 *
 * Everything here is pure arithmetic over a static description, so the PMM,
 * --print-layout and --emit-header all derive the same offsets from the same
 * configuration and cannot disagree.  No I/O and no allocation: the function
 * may one day be built for a remote core that computes its own view.
 *
 * Every sum and every alignment is overflow-checked.  Queue geometry alone
 * cannot overflow (16 queues of 32768 entries per device, 56 devices), but
 * data_size and region_size come straight from a configuration file and may
 * be anything up to UINT64_MAX.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "hvl/layout.h"

#define QUEUE_SIZE_MAX 32768u

/* Split-ring part sizes, virtio 1.2 §2.7: the 6 bytes are flags, idx and
 * the trailing event word (used_event / avail_event), which we always
 * reserve so VIRTIO_F_EVENT_IDX can be negotiated without moving rings. */
#define DESC_SIZE       16u
#define AVAIL_FIXED     6u
#define AVAIL_ELEM      2u
#define USED_FIXED      6u
#define USED_ELEM       8u

/* errlen-safe formatting; a NULL or empty buffer just drops the message. */
static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0u)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* *r = a + b; false on wrap-around. */
static int add_ok(uint64_t a, uint64_t b, uint64_t *r)
{
	if (a > UINT64_MAX - b)
		return 0;
	*r = a + b;
	return 1;
}

/* *r = x rounded up to @align (a power of two); false on wrap-around. */
static int align_ok(uint64_t x, uint64_t align, uint64_t *r)
{
	uint64_t t;

	if (!add_ok(x, align - 1u, &t))
		return 0;
	*r = t & ~(align - 1u);
	return 1;
}

static int is_pow2(uint32_t v)
{
	return v != 0u && (v & (v - 1u)) == 0u;
}

/* Validate one device description before any arithmetic touches it. */
static int check_dev(const struct hvl_layout_dev_cfg *d, unsigned idx, char *err, size_t errlen)
{
	uint32_t q;

	/* name[] is copied into the 32-byte device table entry; it must be a
	 * proper C string so messages and the table never read past it. */
	if (memchr(d->name, '\0', sizeof(d->name)) == NULL) {
		seterr(err, errlen, "device #%u: name is not NUL-terminated within %zu bytes",
		       idx, sizeof(d->name));
		return -EINVAL;
	}
	if (d->device_id == 0u) {
		/* Device ID 0 means "no device" to a virtio-MMIO driver, §4.2.2. */
		seterr(err, errlen, "device '%s': virtio device ID 0 is reserved", d->name);
		return -EINVAL;
	}
	if (d->num_queues < 1u || d->num_queues > HVL_MAX_QUEUES) {
		seterr(err, errlen, "device '%s': %u queues, must be 1..%u", d->name,
		       (unsigned)d->num_queues, (unsigned)HVL_MAX_QUEUES);
		return -EINVAL;
	}
	for (q = 0; q < d->num_queues; q++) {
		/* Split rings require a power-of-two size, §2.7; 32768 is the
		 * largest size a 16-bit ring index can address, §2.7.3. */
		uint32_t n = d->queue_size[q];

		if (!is_pow2(n) || n > QUEUE_SIZE_MAX) {
			seterr(err, errlen,
			       "device '%s': queue %u size %u, must be a power of two 1..%u",
			       d->name, (unsigned)q, (unsigned)n, QUEUE_SIZE_MAX);
			return -EINVAL;
		}
	}
	return 0;
}

/*
 * Lay out one device's window starting at *cur (4 KiB aligned on entry and
 * on return).  Fills everything but cfg and regs_offset.
 */
static int layout_window(struct hvl_layout_dev *ld, uint64_t *cur, char *err, size_t errlen)
{
	const struct hvl_layout_dev_cfg *c = &ld->cfg;
	uint64_t pos = *cur;
	uint32_t q;

	ld->window_offset = pos;
	for (q = 0; q < c->num_queues; q++) {
		struct hvl_layout_queue *lq = &ld->queue[q];
		uint64_t n = c->queue_size[q];

		/* Each queue in its own 4 KiB block: a remote with an MPU or
		 * cache attributes per page can treat queues independently. */
		if (!align_ok(pos, HVL_PAGE_SIZE, &pos))
			goto overflow;
		lq->num = c->queue_size[q];
		lq->desc = pos;
		/* Ring parts on separate cache lines: the avail ring is written
		 * by the remote, the used ring by the PMM (no false sharing). */
		if (!add_ok(pos, DESC_SIZE * n, &pos) || !align_ok(pos, HVL_CACHELINE, &pos))
			goto overflow;
		lq->avail = pos;
		if (!add_ok(pos, AVAIL_FIXED + AVAIL_ELEM * n, &pos) ||
		    !align_ok(pos, HVL_CACHELINE, &pos))
			goto overflow;
		lq->used = pos;
		if (!add_ok(pos, USED_FIXED + USED_ELEM * n, &pos))
			goto overflow;
	}

	if (!align_ok(pos, HVL_PAGE_SIZE, &pos))
		goto overflow;
	ld->data_offset = pos;
	if (!align_ok(c->data_size, HVL_PAGE_SIZE, &ld->data_size) ||
	    !add_ok(pos, ld->data_size, &pos))
		goto overflow;
	ld->window_size = pos - ld->window_offset;
	*cur = pos;
	return 0;

overflow:
	seterr(err, errlen, "device '%s': window does not fit in 64 bits (data_size %llu)",
	       c->name, (unsigned long long)c->data_size);
	return -EINVAL;
}

/* After the full layout is known: name the first part that does not fit. */
static int check_fits(const struct hvl_layout *l, uint64_t needed, uint64_t region_size,
		      char *err, size_t errlen)
{
	unsigned i;

	if (needed <= region_size)
		return 0;
	if (region_size < HVL_REGION_HDR_SIZE) {
		seterr(err, errlen, "region size %llu too small: the region header alone needs %u bytes",
		       (unsigned long long)region_size, (unsigned)HVL_REGION_HDR_SIZE);
		return -ENOSPC;
	}
	/* Device pages precede all windows, so check them first. */
	for (i = 0; i < l->ndev; i++) {
		if (l->dev[i].regs_offset + HVL_DEVPAGE_SIZE > region_size) {
			seterr(err, errlen,
			       "region size %llu too small: device page of '%s' ends at %llu; "
			       "the layout needs %llu bytes",
			       (unsigned long long)region_size, l->dev[i].cfg.name,
			       (unsigned long long)(l->dev[i].regs_offset + HVL_DEVPAGE_SIZE),
			       (unsigned long long)needed);
			return -ENOSPC;
		}
	}
	for (i = 0; i < l->ndev; i++) {
		const struct hvl_layout_dev *d = &l->dev[i];

		/* No overflow: window_offset + window_size <= needed was computed. */
		if (d->window_offset + d->window_size > region_size) {
			seterr(err, errlen,
			       "region size %llu too small: window of device '%s' ends at %llu; "
			       "the layout needs %llu bytes",
			       (unsigned long long)region_size, d->cfg.name,
			       (unsigned long long)(d->window_offset + d->window_size),
			       (unsigned long long)needed);
			return -ENOSPC;
		}
	}
	/* Unreachable while the last window ends the layout; keep a message. */
	seterr(err, errlen, "region size %llu too small: the layout needs %llu bytes",
	       (unsigned long long)region_size, (unsigned long long)needed);
	return -ENOSPC;
}

int hvl_layout_compute(struct hvl_layout *l, uint64_t region_size, uint64_t remote_base,
		       const struct hvl_layout_dev_cfg *devs, unsigned ndev,
		       char *err, size_t errlen)
{
	uint64_t cur;
	unsigned i;
	int rc;

	if (l == NULL || (devs == NULL && ndev != 0u)) {
		seterr(err, errlen, "invalid arguments");
		return -EINVAL;
	}
	(void)memset(l, 0, sizeof(*l));
	if (ndev > HVL_MAX_DEVICES) {
		seterr(err, errlen, "%u devices, at most %u fit in the device table", ndev,
		       (unsigned)HVL_MAX_DEVICES);
		return -EINVAL;
	}
	/* The remote may map the region with page-granular attributes; an
	 * unaligned base would put page boundaries in the middle of rings. */
	if ((remote_base & (HVL_PAGE_SIZE - 1u)) != 0u) {
		seterr(err, errlen, "remote_base 0x%llx is not %u-byte aligned",
		       (unsigned long long)remote_base, (unsigned)HVL_PAGE_SIZE);
		return -EINVAL;
	}
	if ((region_size & (HVL_PAGE_SIZE - 1u)) != 0u) {
		seterr(err, errlen, "region size %llu is not a multiple of %u",
		       (unsigned long long)region_size, (unsigned)HVL_PAGE_SIZE);
		return -EINVAL;
	}
	for (i = 0; i < ndev; i++) {
		rc = check_dev(&devs[i], i, err, errlen);
		if (rc != 0)
			return rc;
	}

	l->remote_base = remote_base;
	l->ndev = ndev;
	/* Header page, then one device page per device (no overflow: at most
	 * 57 pages). */
	cur = HVL_REGION_HDR_SIZE;
	for (i = 0; i < ndev; i++) {
		l->dev[i].cfg = devs[i];
		l->dev[i].regs_offset = cur;
		cur += HVL_DEVPAGE_SIZE;
	}
	for (i = 0; i < ndev; i++) {
		rc = layout_window(&l->dev[i], &cur, err, errlen);
		if (rc != 0)
			return rc;
	}

	if (region_size != 0u) {
		rc = check_fits(l, cur, region_size, err, errlen);
		if (rc != 0)
			return rc;
		l->region_size = region_size;
	} else {
		l->region_size = cur;
	}
	/* Bus addresses are remote_base + offset for every offset up to the
	 * region end; make that sum safe for every consumer once, here. */
	if (l->region_size > UINT64_MAX - remote_base) {
		seterr(err, errlen, "remote_base 0x%llx + region size 0x%llx exceeds 64 bits",
		       (unsigned long long)remote_base, (unsigned long long)l->region_size);
		return -EINVAL;
	}
	return 0;
}

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio block backend of the PMM (virtio 1.2 §5.2) over a disk image file.
 *
 * Device options: "path" (the image, required), "readonly" (0|1) and
 * "serial" (the GET_ID string, at most 20 bytes; default the device name).
 * The capacity is the file size in 512-byte sectors, fixed at start; a size
 * that is not a multiple of 512 is refused with a clear error.
 *
 * Requests are served one at a time on the region's device thread with
 * preadv/pwritev straight between the file and the chain's buffers in
 * shared memory (no bounce copy).  File I/O is a bounded synchronous call,
 * which the brief allows; several requests in flight from the driver are
 * simply taken in ring order, a budget at a time so other devices of the
 * region still get served.
 *
 * Trust: each request header is copied out of shared memory once and only
 * the copy is checked (STYLE.md 7).  A request that is malformed at the
 * block level (unknown type, bad sector range, length not a multiple of
 * 512, wrong data direction, write to a read-only disk) gets status IOERR
 * or UNSUPP and never touches the file.  A chain without a single
 * device-writable byte has no room for the status (§5.2.6): we complete it
 * with used length 0, write nothing, and keep the device running, so one
 * bad request does not take the disk away from a driver that recovers.
 * Ring-level violations are the ring's business (hvl_dev_pop fails the
 * device).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../pmm.h"
#include "hvl/wire/blk.h"

/*
 * Chain capacity: the ring refuses (and fails the device for) longer
 * chains, so we publish seg_max = BLK_IOV_CAP - 2 (room for one header and
 * one status descriptor).  preadv takes at most IOV_MAX (1024) iovecs.
 */
#define BLK_IOV_CAP   1024u
#define BLK_SEG_MAX   (BLK_IOV_CAP - 2u)
#define BLK_SIZE_MAX  (4u * 1024u * 1024u)  /* largest single data segment */
#define BLK_BUDGET    64u                   /* requests per call, then yield */
#define BLK_DWZ_SEGS  16u                   /* max_discard_seg / max_write_zeroes_seg */
#define BLK_DWZ_MAX_SECTORS (1u << 22)      /* 2 GiB per range */
#define BLK_ZERO_CHUNK (64u * 1024u)        /* pwrite fallback of WRITE_ZEROES */
#define BLK_RL_BURST  10u
#define BLK_RL_MS     5000u

_Static_assert(BLK_IOV_CAP <= IOV_MAX, "preadv takes at most IOV_MAX iovecs");

struct blk {
	struct hvl_pmm *pmm;
	const struct hvl_logger *log;
	char name[HVL_PMM_DEV_NAME_MAX];
	char path[HVL_PMM_OPT_VAL_MAX];
	int fd;
	int readonly;
	uint64_t capacity;                 /* sectors */
	char serial[HVL_BLK_ID_BYTES];     /* zero-padded, not NUL-terminated when full */
	struct hvl_blk_config config;      /* published config space (st->config) */
	struct hvl_chain c;
	struct iovec iov[BLK_IOV_CAP];
	struct hvl_ratelimit rl;
	/* Statistics: written on the device thread, read after it stopped. */
	uint64_t reads, writes, flushes, ids, discards, wzeroes, ioerr, unsupp, nostatus;
	uint64_t bytes_in, bytes_out;
};

static void blk_log(struct blk *b, enum hvl_log_level lvl, const char *fmt, ...) HVL_PRINTF(3, 4);
static void blk_log(struct blk *b, enum hvl_log_level lvl, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	hvl_logf(b->log, lvl, "%s: %s", b->name, msg);
}

/* A rejected request: rate-limited debug log (the remote controls the rate). */
static uint8_t blk_reject(struct blk *b, uint8_t status, const char *why, uint32_t type)
{
	if (status == HVL_BLK_S_UNSUPP)
		b->unsupp++;
	else
		b->ioerr++;
	if (hvl_ratelimit_ok(&b->rl, hvl_pmm_now_ms(), BLK_RL_BURST, BLK_RL_MS))
		blk_log(b, HVL_LOG_DEBUG, "request type %u: %s -> %s", type, why,
			status == HVL_BLK_S_UNSUPP ? "UNSUPP" : "IOERR");
	return status;
}


/*
 * Describe @len bytes starting @skip bytes into iovs [@k0, @k1) of the
 * chain as iovecs in b->iov.  Returns the number of iovecs (the data
 * segments of the request).
 */
static unsigned build_iov(struct blk *b, unsigned k0, unsigned k1, uint32_t skip, uint32_t len)
{
	unsigned k, n = 0;

	for (k = k0; k < k1 && len > 0; k++) {
		uint32_t l = b->c.iov[k].len, take;

		if (skip >= l) {
			skip -= l;
			continue;
		}
		take = l - skip < len ? l - skip : len;
		b->iov[n].iov_base = (uint8_t *)b->c.iov[k].base + skip;
		b->iov[n].iov_len = take;
		n++;
		len -= take;
		skip = 0;
	}
	return n;
}

/*
 * preadv/pwritev all of b->iov[0..n) at @off, resuming after short
 * transfers and EINTR.  Bounded: every pass moves at least one byte or
 * returns.  A read that hits end of file (the image shrank under us) is an
 * I/O error.  Returns 0 or -errno.
 */
static int rw_full(struct blk *b, unsigned n, uint64_t off, int wr)
{
	struct iovec *v = b->iov;

	while (n > 0) {
		ssize_t r = wr ? pwritev(b->fd, v, (int)n, (off_t)off) : preadv(b->fd, v, (int)n, (off_t)off);
		size_t done;

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			return -EIO;
		done = (size_t)r;
		off += done;
		while (n > 0 && done >= v->iov_len) {
			done -= v->iov_len;
			v++;
			n--;
		}
		if (n > 0) {
			v->iov_base = (uint8_t *)v->iov_base + done;
			v->iov_len -= done;
		}
	}
	return 0;
}

/*
 * Is [@sector, @sector + @bytes/512) inside the disk?  @bytes is a multiple
 * of 512; written so that nothing can overflow (the remote picks @sector).
 */
static int range_ok(const struct blk *b, uint64_t sector, uint64_t bytes)
{
	uint64_t n = bytes >> HVL_BLK_SECTOR_SHIFT;

	return sector <= b->capacity && n <= b->capacity - sector;
}

/* VIRTIO_BLK_T_IN / OUT, §5.2.6: the data length comes from the chain's shape. */
static uint8_t do_rw(struct blk *b, uint32_t type, uint64_t sector, uint32_t *used)
{
	const struct hvl_chain *c = &b->c;
	int wr = type == HVL_BLK_T_OUT;
	uint32_t len;
	unsigned n, k;
	int rc;

	/* Data direction: a read has nothing readable past the header, a write
	 * nothing writable before the status byte. */
	if (wr) {
		if (c->in_len != 1u)
			return blk_reject(b, HVL_BLK_S_IOERR, "writable bytes in a write", type);
		len = c->out_len - HVL_BLK_REQ_HDR_SIZE;
	} else {
		if (c->out_len != HVL_BLK_REQ_HDR_SIZE)
			return blk_reject(b, HVL_BLK_S_IOERR, "readable bytes in a read", type);
		len = c->in_len - 1u;
	}
	if (len == 0 || (len & (HVL_BLK_SECTOR_SIZE - 1u)) != 0)
		return blk_reject(b, HVL_BLK_S_IOERR, "length not a non-zero multiple of 512", type);
	if (!range_ok(b, sector, len))
		return blk_reject(b, HVL_BLK_S_IOERR, "beyond capacity", type);
	if (wr && b->readonly)
		return blk_reject(b, HVL_BLK_S_IOERR, "write to a read-only disk", type);
	if (wr)
		n = build_iov(b, 0, c->n_out, HVL_BLK_REQ_HDR_SIZE, len);
	else
		n = build_iov(b, c->n_out, (unsigned)c->n_out + c->n_in, 0, len);
	if (n > BLK_SEG_MAX)
		return blk_reject(b, HVL_BLK_S_IOERR, "more segments than seg_max", type);
	for (k = 0; k < n; k++)
		if (b->iov[k].iov_len > BLK_SIZE_MAX)
			return blk_reject(b, HVL_BLK_S_IOERR, "segment above size_max", type);
	rc = rw_full(b, n, sector << HVL_BLK_SECTOR_SHIFT, wr);
	if (rc != 0) {
		if (hvl_ratelimit_ok(&b->rl, hvl_pmm_now_ms(), BLK_RL_BURST, BLK_RL_MS))
			blk_log(b, HVL_LOG_WARN, "%s of %u bytes at sector %llu: %s", wr ? "write" : "read",
				len, (unsigned long long)sector, strerror(-rc));
		b->ioerr++;
		return HVL_BLK_S_IOERR;
	}
	if (wr) {
		b->writes++;
		b->bytes_out += len;
	} else {
		b->reads++;
		b->bytes_in += len;
		*used = len; /* plus the status byte, added by the caller */
	}
	return HVL_BLK_S_OK;
}

/* VIRTIO_BLK_T_GET_ID, §5.2.6: up to 20 bytes of serial into the writable part. */
static uint8_t do_get_id(struct blk *b, uint32_t *used)
{
	const struct hvl_chain *c = &b->c;
	uint32_t len = c->in_len - 1u, n;
	unsigned k, i;

	if (c->out_len != HVL_BLK_REQ_HDR_SIZE)
		return blk_reject(b, HVL_BLK_S_IOERR, "readable bytes in GET_ID", HVL_BLK_T_GET_ID);
	if (len > HVL_BLK_ID_BYTES)
		len = HVL_BLK_ID_BYTES;
	n = build_iov(b, c->n_out, (unsigned)c->n_out + c->n_in, 0, len);
	for (k = 0, i = 0; k < n; k++) {
		memcpy(b->iov[k].iov_base, b->serial + i, b->iov[k].iov_len);
		i += (unsigned)b->iov[k].iov_len;
	}
	b->ids++;
	*used = len;
	return HVL_BLK_S_OK;
}

/* VIRTIO_BLK_T_FLUSH, §5.2.6: OK only once fdatasync said the data is durable. */
static uint8_t do_flush(struct blk *b)
{
	if (b->c.out_len != HVL_BLK_REQ_HDR_SIZE || b->c.in_len != 1u)
		return blk_reject(b, HVL_BLK_S_IOERR, "flush with data", HVL_BLK_T_FLUSH);
	b->flushes++;
	if (b->readonly)
		return HVL_BLK_S_OK; /* nothing of ours can be dirty */
	if (fdatasync(b->fd) != 0) {
		if (hvl_ratelimit_ok(&b->rl, hvl_pmm_now_ms(), BLK_RL_BURST, BLK_RL_MS))
			blk_log(b, HVL_LOG_WARN, "fdatasync: %s", strerror(errno));
		b->ioerr++;
		return HVL_BLK_S_IOERR;
	}
	return HVL_BLK_S_OK;
}

/* WRITE_ZEROES fallback when fallocate cannot: plain zero writes, bounded by the range. */
static int zero_write(struct blk *b, uint64_t off, uint64_t len)
{
	static const uint8_t zeros[BLK_ZERO_CHUNK];

	while (len > 0) {
		size_t n = len < sizeof(zeros) ? (size_t)len : sizeof(zeros);
		ssize_t w = pwrite(b->fd, zeros, n, (off_t)off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		off += (uint64_t)w;
		len -= (uint64_t)w;
	}
	return 0;
}

/*
 * VIRTIO_BLK_T_DISCARD / WRITE_ZEROES, §5.2.6: an array of ranges after
 * the header.  Every range is copied and checked before any is applied, so
 * a bad request changes nothing.  Discard punches a hole (the content of a
 * discarded range is unspecified, so a file system without hole punching
 * just keeps the data); write zeroes must leave zeroes, with or without
 * fallocate.
 */
static uint8_t do_dwz(struct blk *b, uint32_t type)
{
	struct hvl_blk_dwz_seg seg[BLK_DWZ_SEGS];
	uint64_t sec[BLK_DWZ_SEGS], num[BLK_DWZ_SEGS];
	uint32_t flags[BLK_DWZ_SEGS];
	uint32_t dlen = b->c.out_len - HVL_BLK_REQ_HDR_SIZE, nseg, i;
	int discard = type == HVL_BLK_T_DISCARD;

	if (b->c.in_len != 1u || dlen == 0 || dlen % HVL_BLK_DWZ_SEG_SIZE != 0)
		return blk_reject(b, HVL_BLK_S_IOERR, "bad range array", type);
	nseg = dlen / HVL_BLK_DWZ_SEG_SIZE;
	if (nseg > BLK_DWZ_SEGS)
		return blk_reject(b, HVL_BLK_S_IOERR, "more ranges than max_*_seg", type);
	if (b->readonly)
		return blk_reject(b, HVL_BLK_S_IOERR, "read-only disk", type);
	if (hvl_chain_read(&b->c, HVL_BLK_REQ_HDR_SIZE, seg, dlen) != dlen)
		return blk_reject(b, HVL_BLK_S_IOERR, "bad range array", type);
	for (i = 0; i < nseg; i++) {
		sec[i] = hvl_le64_get(&seg[i].sector);
		num[i] = hvl_le32_get(&seg[i].num_sectors);
		flags[i] = hvl_le32_get(&seg[i].flags);
		/* §5.2.6.2: unmap is defined for write zeroes only; other bits are unknown. */
		if ((flags[i] & ~(discard ? 0u : HVL_BLK_DWZ_F_UNMAP)) != 0)
			return blk_reject(b, HVL_BLK_S_UNSUPP, "unknown range flags", type);
		if (num[i] == 0 || num[i] > BLK_DWZ_MAX_SECTORS ||
		    !range_ok(b, sec[i], num[i] << HVL_BLK_SECTOR_SHIFT))
			return blk_reject(b, HVL_BLK_S_IOERR, "range beyond capacity or too long", type);
	}
	for (i = 0; i < nseg; i++) {
		off_t off = (off_t)(sec[i] << HVL_BLK_SECTOR_SHIFT);
		off_t len = (off_t)(num[i] << HVL_BLK_SECTOR_SHIFT);
		int rc = 0;

		if (discard) {
			if (fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len) != 0 &&
			    errno != EOPNOTSUPP)
				rc = -errno;
		} else {
			int mode = (flags[i] & HVL_BLK_DWZ_F_UNMAP) ? FALLOC_FL_PUNCH_HOLE : FALLOC_FL_ZERO_RANGE;

			if (fallocate(b->fd, mode | FALLOC_FL_KEEP_SIZE, off, len) != 0 &&
			    fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len) != 0)
				rc = zero_write(b, (uint64_t)off, (uint64_t)len);
		}
		if (rc != 0) {
			blk_log(b, HVL_LOG_WARN, "%s at sector %llu: %s", discard ? "discard" : "write zeroes",
				(unsigned long long)sec[i], strerror(-rc));
			b->ioerr++;
			return HVL_BLK_S_IOERR;
		}
	}
	if (discard)
		b->discards++;
	else
		b->wzeroes++;
	return HVL_BLK_S_OK;
}

/*
 * Serve the popped chain b->c.  Returns the used length (bytes written into
 * the chain, status byte included), after writing the status byte.
 */
static uint32_t blk_request(struct blk *b, uint64_t features)
{
	struct hvl_chain *c = &b->c;
	struct hvl_blk_req_hdr h;
	const struct hvl_iov *last;
	uint32_t type, used = 0;
	uint64_t sector;
	uint8_t status;

	if (c->n_in == 0) {
		/* No room for the status (§5.2.6): nothing can be reported, nothing is done. */
		b->nostatus++;
		if (hvl_ratelimit_ok(&b->rl, hvl_pmm_now_ms(), BLK_RL_BURST, BLK_RL_MS))
			blk_log(b, HVL_LOG_DEBUG, "request without a status byte: completed with length 0");
		return 0;
	}
	/* Read the header once into a local copy (STYLE.md 7), then only use the copy. */
	if (hvl_chain_read(c, 0, &h, (uint32_t)sizeof(h)) != sizeof(h)) {
		status = blk_reject(b, HVL_BLK_S_IOERR, "header shorter than 16 bytes", 0xffffffffu);
		goto done;
	}
	type = hvl_le32_get(&h.type);
	sector = hvl_le64_get(&h.sector);
	switch (type) {
	case HVL_BLK_T_IN:
	case HVL_BLK_T_OUT:
		status = do_rw(b, type, sector, &used);
		break;
	case HVL_BLK_T_FLUSH:
		status = do_flush(b);
		break;
	case HVL_BLK_T_GET_ID:
		status = do_get_id(b, &used);
		break;
	case HVL_BLK_T_DISCARD:
	case HVL_BLK_T_WRITE_ZEROES:
		/* Only when negotiated: the config fields are valid only then. */
		if (!(features & (type == HVL_BLK_T_DISCARD ? HVL_BLK_F_DISCARD : HVL_BLK_F_WRITE_ZEROES)))
			status = blk_reject(b, HVL_BLK_S_UNSUPP, "feature not negotiated", type);
		else
			status = do_dwz(b, type);
		break;
	default:
		status = blk_reject(b, HVL_BLK_S_UNSUPP, "unknown type", type);
		break;
	}
done:
	/* The status is the last byte of the chain; the ring rejects empty descriptors. */
	last = &c->iov[c->n_out + c->n_in - 1u];
	((uint8_t *)last->base)[last->len - 1u] = status;
	if (status != HVL_BLK_S_OK)
		used = 0;
	return used + 1u;
}

/* The requestq (§5.2.2): pop, serve, push, a budget at a time. */
static void blk_queue(struct hvl_dev *d, unsigned q)
{
	struct blk *b = d->priv;
	struct hvl_vq_dev *vq;
	unsigned budget = BLK_BUDGET;

	if (q != HVL_BLK_REQUESTQ || !hvl_dev_live(d))
		return;
	vq = hvl_dev_vq(d, q);
	if (vq == NULL)
		return;
	for (;;) {
		int r = 0;

		hvl_vq_dev_disable_notify(vq);
		while (budget > 0) {
			uint32_t used;

			r = hvl_dev_pop(d, q, &b->c);
			if (r <= 0)
				break;
			budget--;
			used = blk_request(b, d->features);
			hvl_vq_dev_push(vq, b->c.head, used);
			/*
			 * Interrupt per request (EVENT_IDX still decides): a waiting
			 * driver refills while we do the next I/O.  One interrupt per
			 * batch measured slower in hvl-bench's doorbell mode, since
			 * the driver then sleeps until the whole batch is done.
			 */
			hvl_dev_vq_interrupt(d, q);
		}
		if (r < 0)
			return; /* the ring broke: the device is failed */
		if (budget == 0) {
			/* More may wait: come back through ops->poll after other devices. */
			hvl_dev_kick(d);
			return;
		}
		if (!hvl_vq_dev_enable_notify(vq))
			return;
	}
}

static void blk_poll(struct hvl_dev *d)
{
	blk_queue(d, HVL_BLK_REQUESTQ);
}

/* Nothing in flight survives a request: a reset has nothing to drop. */
static void blk_reset(struct hvl_dev *d)
{
	(void)d;
}

static int blk_driver_ok(struct hvl_dev *d)
{
	(void)d;
	return 0;
}

static const struct hvl_dev_ops blk_ops = {
	.reset = blk_reset,
	.driver_ok = blk_driver_ok,
	.queue = blk_queue,
	.poll = blk_poll,
};

static void blk_destroy(void *priv)
{
	struct blk *b = priv;

	if (b == NULL)
		return;
	if (b->fd >= 0) {
		/* Best effort on the way out; durability was promised per FLUSH only. */
		if (!b->readonly)
			(void)fdatasync(b->fd);
		close(b->fd);
	}
	free(b->c.iov);
	free(b);
}

static void blk_stats(void *priv, char *buf, size_t len)
{
	const struct blk *b = priv;

	snprintf(buf, len,
		 "blk: %llu reads (%llu B), %llu writes (%llu B), %llu flushes, %llu get-id, "
		 "%llu discards, %llu write-zeroes, %llu IOERR, %llu UNSUPP, %llu without status",
		 (unsigned long long)b->reads, (unsigned long long)b->bytes_in,
		 (unsigned long long)b->writes, (unsigned long long)b->bytes_out,
		 (unsigned long long)b->flushes, (unsigned long long)b->ids,
		 (unsigned long long)b->discards, (unsigned long long)b->wzeroes,
		 (unsigned long long)b->ioerr, (unsigned long long)b->unsupp,
		 (unsigned long long)b->nostatus);
}

/* Open the image and derive the capacity.  0 or -errno after logging why. */
static int blk_open_image(struct blk *b, const char *path)
{
	struct stat st;
	off_t end;
	int e;

	b->fd = open(path, (b->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOCTTY);
	if (b->fd < 0) {
		e = errno;
		blk_log(b, HVL_LOG_ERROR, "opening disk image %s: %s", path, strerror(e));
		return -e;
	}
	if (fstat(b->fd, &st) != 0 || !(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))) {
		blk_log(b, HVL_LOG_ERROR, "%s is not a regular file or block device", path);
		return -EINVAL;
	}
	/* SEEK_END works for block devices too, where st_size is 0. */
	end = lseek(b->fd, 0, SEEK_END);
	if (end < 0) {
		e = errno;
		blk_log(b, HVL_LOG_ERROR, "size of %s: %s", path, strerror(e));
		return -e;
	}
	if ((end % HVL_BLK_SECTOR_SIZE) != 0) {
		blk_log(b, HVL_LOG_ERROR,
			"disk image %s is %lld bytes, not a multiple of 512 (the virtio sector size); "
			"resize it (e.g. truncate -s %lldK)", path, (long long)end,
			(long long)((end + 1023) / 1024));
		return -EINVAL;
	}
	b->capacity = (uint64_t)end >> HVL_BLK_SECTOR_SHIFT;
	return 0;
}

static int blk_create_inner(struct hvl_pmm *pmm, const struct hvl_pmm_dev_config *cfg,
			    struct hvl_dev_static *st, struct blk *b)
{
	const char *path = hvl_pmm_dev_opt(cfg, "path");
	const char *ro = hvl_pmm_dev_opt(cfg, "readonly");
	const char *serial = hvl_pmm_dev_opt(cfg, "serial");
	struct hvl_blk_config *k = &b->config;
	size_t slen;
	int rc;

	b->pmm = pmm;
	b->log = &pmm->log;
	snprintf(b->name, sizeof(b->name), "%s", cfg->name);
	if (st->num_queues != HVL_BLK_NUM_QUEUES) {
		blk_log(b, HVL_LOG_ERROR, "needs exactly 1 queue (no VIRTIO_BLK_F_MQ), has %u",
			st->num_queues);
		return -EINVAL;
	}
	if (path == NULL || path[0] == '\0') {
		blk_log(b, HVL_LOG_ERROR, "needs a path (the disk image)");
		return -EINVAL;
	}
	if (ro != NULL && strcmp(ro, "0") != 0 && strcmp(ro, "1") != 0) {
		blk_log(b, HVL_LOG_ERROR, "readonly = %s: use 0 or 1", ro);
		return -EINVAL;
	}
	b->readonly = ro != NULL && ro[0] == '1';
	if (serial == NULL)
		serial = cfg->name;
	slen = strlen(serial);
	if (slen > HVL_BLK_ID_BYTES) {
		blk_log(b, HVL_LOG_ERROR, "serial '%s' is longer than %u bytes", serial, HVL_BLK_ID_BYTES);
		return -EINVAL;
	}
	memcpy(b->serial, serial, slen); /* the rest stays zero (§5.2.6 GET_ID) */
	snprintf(b->path, sizeof(b->path), "%s", path);
	rc = blk_open_image(b, path);
	if (rc != 0)
		return rc;
	b->c.iov = calloc(BLK_IOV_CAP, sizeof(*b->c.iov));
	if (b->c.iov == NULL)
		return -ENOMEM;
	b->c.cap = BLK_IOV_CAP;

	/* Config space, §5.2.4: only fields of offered features are meaningful. */
	hvl_le64_put(&k->capacity, b->capacity);
	hvl_le32_put(&k->size_max, BLK_SIZE_MAX);
	hvl_le32_put(&k->seg_max, BLK_SEG_MAX);
	hvl_le32_put(&k->blk_size, HVL_BLK_SECTOR_SIZE);
	st->features = HVL_F_VERSION_1 | HVL_F_EVENT_IDX | HVL_F_INDIRECT_DESC | HVL_BLK_F_FLUSH |
		       HVL_BLK_F_SEG_MAX | HVL_BLK_F_SIZE_MAX | HVL_BLK_F_BLK_SIZE;
	if (b->readonly) {
		st->features |= HVL_BLK_F_RO;
	} else {
		/* Discard and write zeroes need a writable image (§5.2.3). */
		st->features |= HVL_BLK_F_DISCARD | HVL_BLK_F_WRITE_ZEROES;
		hvl_le32_put(&k->max_discard_sectors, BLK_DWZ_MAX_SECTORS);
		hvl_le32_put(&k->max_discard_seg, BLK_DWZ_SEGS);
		hvl_le32_put(&k->discard_sector_alignment, 1u);
		hvl_le32_put(&k->max_write_zeroes_sectors, BLK_DWZ_MAX_SECTORS);
		hvl_le32_put(&k->max_write_zeroes_seg, BLK_DWZ_SEGS);
		k->write_zeroes_may_unmap = 1u;
	}
	st->config = k;
	st->config_size = sizeof(*k);
	blk_log(b, HVL_LOG_INFO, "disk image %s, %llu sectors (%llu KiB)%s, serial '%.20s'", path,
		(unsigned long long)b->capacity, (unsigned long long)(b->capacity / 2u),
		b->readonly ? ", read-only" : "", b->serial);
	return 0;
}

static int blk_create(struct hvl_pmm *pmm, struct hvl_pmm_region *rg,
		      const struct hvl_pmm_dev_config *cfg, struct hvl_dev *dev,
		      struct hvl_dev_static *st, const struct hvl_dev_ops **ops, void **priv)
{
	struct blk *b;
	int rc;

	(void)rg;
	(void)dev;
	*priv = NULL;
	b = calloc(1, sizeof(*b));
	if (b == NULL)
		return -ENOMEM;
	b->fd = -1;
	rc = blk_create_inner(pmm, cfg, st, b);
	if (rc != 0) {
		/* The region forgets a backend whose create() failed: clean up here. */
		blk_destroy(b);
		return rc;
	}
	*ops = &blk_ops;
	*priv = b;
	return 0;
}

const struct hvl_pmm_backend hvl_pmm_blk_backend = {
	.type = "blk",
	.create = blk_create,
	.destroy = blk_destroy,
	.stats = blk_stats,
};

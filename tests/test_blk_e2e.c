/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Block end to end: the real hvl-pmm (argv[1]) serving two disk images (one
 * read-write, one read-only), and this process as the remote core through
 * the POSIX port (its own mapping of the region).
 *
 *   - open: capacity, read-only flag and GET_ID serial as configured;
 *   - random reads and writes, synchronous and up to 8 in flight, checked
 *     against a shadow copy, then WRITE_ZEROES and DISCARD; after a flush the
 *     image file equals the shadow;
 *   - bad requests built by hand on the ring (sector beyond capacity,
 *     sector+length overflow, length not a multiple of 512, no status byte,
 *     unknown type, write on the read-only disk, short header, wrong data
 *     direction, bad DISCARD/WRITE_ZEROES ranges and flags, a feature not
 *     offered): IOERR/UNSUPP or a zero-length
 *     completion, nothing written (the files are compared), PMM alive and
 *     the disk still usable;
 *   - flush durability: writes acknowledged by a flush, then SIGKILL to the
 *     PMM at once: the file holds them;
 *   - an image whose size is not a multiple of 512 is refused at start.
 *
 * HVL_BLK_TEST_OPS=N runs N random operations (default 400).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "hvl/blk.h"
#include "hvl/posix.h"

#define DISK_SECTORS 16384u           /* 8 MiB */
#define DISK_BYTES   ((size_t)DISK_SECTORS * 512u)
#define RO_BYTES     (64u * 1024u)
#define QD           8u
#define MAX_SECT     128u             /* 64 KiB per request */
#define IO_MS        10000u
#define SERIAL       "hvl-test-serial-0123"   /* exactly 20 bytes: no NUL on the wire */

static uint8_t *shadow;
static uint32_t rng_state = 0x12345678u;

static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

static void fill_rand(uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)rnd();
}

static int write_image(const char *path, const uint8_t *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int ok;

	if (fd < 0)
		return -1;
	ok = h_write_all(fd, data, len) == 0;
	close(fd);
	return ok ? 0 : -1;
}

/* Does the file at @path hold exactly @len bytes equal to @want? */
static int file_equals(const char *path, const uint8_t *want, size_t len)
{
	uint8_t *buf = malloc(len + 1);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t got = 0;
	ssize_t n;
	int eq;

	if (fd < 0 || buf == NULL) {
		free(buf);
		if (fd >= 0)
			close(fd);
		return 0;
	}
	while (got <= len && (n = read(fd, buf + got, len + 1 - got)) > 0)
		got += (size_t)n;
	close(fd);
	eq = got == len && memcmp(buf, want, len) == 0;
	if (!eq && got == len) {
		size_t i;

		for (i = 0; i < len && buf[i] == want[i]; i++)
			;
		fprintf(stderr, "%s differs first at byte %zu (sector %zu)\n", path, i, i / 512);
	}
	free(buf);
	return eq;
}

/* ------------------------------------------------------- random I/O */

struct op {
	int wr;
	uint64_t sector;
	uint32_t len;
	uint8_t *buf;
};

/* One batch of up to QD requests in flight, in disjoint stripes of the disk. */
static int batch(struct hvl_blk *b, uint8_t *area, unsigned n)
{
	struct op ops[QD];
	struct hvl_blk_done done[QD];
	uint64_t stripe = DISK_SECTORS / QD;
	unsigned i, got = 0;
	int bad = 0;

	for (i = 0; i < n; i++) {
		struct op *o = &ops[i];
		uint32_t ns = 1u + rnd() % MAX_SECT;

		o->wr = (int)(rnd() & 1u);
		o->len = ns * 512u;
		o->sector = stripe * i + rnd() % (stripe - ns + 1u);
		o->buf = area + (size_t)i * MAX_SECT * 512u;
		if (o->wr) {
			fill_rand(o->buf, o->len);
			memcpy(shadow + o->sector * 512u, o->buf, o->len);
		} else {
			memset(o->buf, 0xEE, o->len);
		}
		if (hvl_blk_submit(b, o->wr ? HVL_BLK_T_OUT : HVL_BLK_T_IN, o->sector, o->buf, o->len,
				   o) != 0)
			return -1;
	}
	while (got < n) {
		int r = hvl_blk_poll(b, done, QD, IO_MS), k;

		if (r <= 0)
			return -1;
		for (k = 0; k < r; k++) {
			struct op *o = done[k].cookie;

			if (done[k].status != 0)
				bad++;
			else if (!o->wr && memcmp(o->buf, shadow + o->sector * 512u, o->len) != 0)
				bad++;
			else if (done[k].len != (o->wr ? 1u : o->len + 1u))
				bad++;
		}
		got += (unsigned)r;
	}
	return bad == 0 ? 0 : -1;
}

static void random_io(struct hvl_blk *b, uint8_t *area, unsigned nops)
{
	unsigned done = 0, sync_ok = 0, sync_n = 0;
	int batches_ok = 1;

	while (done < nops) {
		if ((rnd() % 4u) == 0u) {
			/* A synchronous one in between. */
			uint32_t ns = 1u + rnd() % MAX_SECT;
			uint64_t sec = rnd() % (DISK_SECTORS - ns + 1u);

			sync_n++;
			if (rnd() & 1u) {
				fill_rand(area, ns * 512u);
				memcpy(shadow + sec * 512u, area, ns * 512u);
				sync_ok += hvl_blk_write(b, sec, area, ns * 512u, IO_MS) == 0;
			} else {
				sync_ok += hvl_blk_read(b, sec, area, ns * 512u, IO_MS) == 0 &&
					   memcmp(area, shadow + sec * 512u, ns * 512u) == 0;
			}
			done++;
		} else {
			unsigned n = 1u + rnd() % QD;

			if (batch(b, area, n) != 0)
				batches_ok = 0;
			done += n;
		}
	}
	CHECK(batches_ok);
	CHECK_EQ(sync_ok, sync_n);
}

/*
 * WRITE_ZEROES (plain and with UNMAP) leaves zeroes; DISCARD leaves
 * unspecified content (§5.2.6), so the shadow takes what the disk now reads.
 */
static void discard_zeroes(struct hvl_blk *b, uint8_t *area)
{
	struct hvl_blk_dwz_seg *g = (struct hvl_blk_dwz_seg *)(void *)area;
	struct hvl_blk_done dn[2];
	int n, got = 0, ok = 1;

	hvl_le64_put(&g[0].sector, 100);
	hvl_le32_put(&g[0].num_sectors, 40);
	hvl_le32_put(&g[0].flags, 0);
	hvl_le64_put(&g[1].sector, 300);
	hvl_le32_put(&g[1].num_sectors, 8);
	hvl_le32_put(&g[1].flags, HVL_BLK_DWZ_F_UNMAP);
	hvl_le64_put(&g[2].sector, 1000);
	hvl_le32_put(&g[2].num_sectors, 16);
	hvl_le32_put(&g[2].flags, 0);
	CHECK_EQ(hvl_blk_submit(b, HVL_BLK_T_WRITE_ZEROES, 0, &g[0], 32, &g[0]), 0);
	CHECK_EQ(hvl_blk_submit(b, HVL_BLK_T_DISCARD, 0, &g[2], 16, &g[2]), 0);
	while (got < 2 && (n = hvl_blk_poll(b, dn, 2, IO_MS)) > 0) {
		int k;

		for (k = 0; k < n; k++)
			ok &= dn[k].status == 0;
		got += n;
	}
	CHECK_EQ(got, 2);
	CHECK(ok);
	memset(shadow + 100 * 512, 0, 40 * 512);
	memset(shadow + 300 * 512, 0, 8 * 512);
	CHECK_EQ(hvl_blk_read(b, 1000, area + 4096, 16 * 512, IO_MS), 0);
	memcpy(shadow + 1000 * 512, area + 4096, 16 * 512);
	CHECK_EQ(hvl_blk_read(b, 96, area + 4096, 48 * 512, IO_MS), 0);
	CHECK(memcmp(area + 4096, shadow + 96 * 512, 48 * 512) == 0);
	/* The library refuses what it can see is wrong. */
	CHECK_EQ(hvl_blk_submit(b, HVL_BLK_T_DISCARD, 0, &g[0], 20, NULL), -EINVAL);
}

/* ------------------------------------------------------ bad requests */

/* Post a hand-made chain on the ring and wait for it.  Returns the used length or -1. */
static long raw(struct hvl_blk *b, const struct hvl_sg *sg, unsigned nout, unsigned nin)
{
	static int tag;
	uint64_t end = h_now_ms() + IO_MS;
	uint32_t ulen = 0;
	void *c;

	if (hvl_vq_drv_add(&b->vq, sg, nout, nin, &tag) != 0)
		return -1;
	hvl_vdev_kick(&b->vdev, HVL_BLK_REQUESTQ, &b->vq);
	while (!hvl_vq_drv_more_used(&b->vq) && h_now_ms() < end)
		usleep(500);
	c = hvl_vq_drv_get_used(&b->vq, &ulen);
	return c == &tag ? (long)ulen : -1;
}

struct bad_ctx {
	struct hvl_blk *b;
	uint8_t *hdr, *status, *data;    /* in the data area */
	uint64_t hdr_bus, status_bus, data_bus;
};

static void set_hdr(struct bad_ctx *x, uint32_t type, uint64_t sector)
{
	struct hvl_blk_req_hdr *h = (struct hvl_blk_req_hdr *)(void *)x->hdr;

	hvl_le32_put(&h->type, type);
	hvl_le32_put(&h->reserved, 0);
	hvl_le64_put(&h->sector, sector);
	*x->status = 0xAA;
}

/* header + data (readable for OUT, writable for IN) + status; expect @want_status. */
static void bad_rw(struct bad_ctx *x, const char *what, uint32_t type, uint64_t sector, uint32_t len,
		   uint8_t want_status)
{
	struct hvl_sg sg[3] = { { x->hdr_bus, 16 }, { x->data_bus, len }, { x->status_bus, 1 } };
	/* Device-readable data for writes and range arrays, writable otherwise. */
	int rd = type == HVL_BLK_T_OUT || type == HVL_BLK_T_DISCARD || type == HVL_BLK_T_WRITE_ZEROES;
	long u;

	set_hdr(x, type, sector);
	memset(x->data, 0x5A, len);
	u = raw(x->b, sg, rd ? 2 : 1, rd ? 1 : 2);
	if (u != 1 || *x->status != want_status)
		fprintf(stderr, "bad request '%s': used %ld, status %u (want 1, %u)\n", what, u,
			*x->status, want_status);
	CHECK_EQ(u, 1);
	CHECK_EQ(*x->status, want_status);
}

/* One DISCARD / WRITE_ZEROES range by hand; expect @want_status. */
static void dwz(struct bad_ctx *x, const char *what, uint32_t type, uint64_t sector, uint32_t num,
		uint32_t flags, uint8_t want_status)
{
	struct hvl_sg sg[3] = { { x->hdr_bus, 16 }, { x->data_bus, 16 }, { x->status_bus, 1 } };
	struct hvl_blk_dwz_seg *g = (struct hvl_blk_dwz_seg *)(void *)x->data;
	long u;

	set_hdr(x, type, 0);
	hvl_le64_put(&g->sector, sector);
	hvl_le32_put(&g->num_sectors, num);
	hvl_le32_put(&g->flags, flags);
	u = raw(x->b, sg, 2, 1);
	if (u != 1 || *x->status != want_status)
		fprintf(stderr, "bad request '%s': used %ld, status %u (want 1, %u)\n", what, u,
			*x->status, want_status);
	CHECK_EQ(u, 1);
	CHECK_EQ(*x->status, want_status);
}

static void bad_requests(struct hvl_blk *b, struct hvl_blk *ro, uint8_t *area)
{
	struct bad_ctx x, y;
	struct hvl_sg sg[4];
	uint64_t cap = hvl_blk_capacity(b);
	long u;

	x.b = b;
	x.hdr = area;
	x.status = area + 64;
	x.data = area + 4096;
	x.hdr_bus = hvl_vdev_bus(&b->vdev, x.hdr);
	x.status_bus = hvl_vdev_bus(&b->vdev, x.status);
	x.data_bus = hvl_vdev_bus(&b->vdev, x.data);

	bad_rw(&x, "read at capacity", HVL_BLK_T_IN, cap, 512, HVL_BLK_S_IOERR);
	bad_rw(&x, "write across the end", HVL_BLK_T_OUT, cap - 1, 1024, HVL_BLK_S_IOERR);
	bad_rw(&x, "sector+length overflow", HVL_BLK_T_OUT, UINT64_MAX - 1, 1024, HVL_BLK_S_IOERR);
	bad_rw(&x, "sector*512 overflow", HVL_BLK_T_OUT, (uint64_t)1 << 55, 512, HVL_BLK_S_IOERR);
	bad_rw(&x, "length not a multiple of 512", HVL_BLK_T_OUT, 0, 100, HVL_BLK_S_IOERR);
	bad_rw(&x, "read length not a multiple of 512", HVL_BLK_T_IN, 0, 700, HVL_BLK_S_IOERR);
	bad_rw(&x, "unknown type", 99, 0, 512, HVL_BLK_S_UNSUPP);
	bad_rw(&x, "GET_LIFETIME", HVL_BLK_T_GET_LIFETIME, 0, 512, HVL_BLK_S_UNSUPP);
	/* DISCARD / WRITE_ZEROES ranges: checked before anything is applied. */
	dwz(&x, "write zeroes across the end", HVL_BLK_T_WRITE_ZEROES, cap - 1, 2, 0, HVL_BLK_S_IOERR);
	dwz(&x, "write zeroes sector overflow", HVL_BLK_T_WRITE_ZEROES, UINT64_MAX, 1, 0, HVL_BLK_S_IOERR);
	dwz(&x, "discard of 0 sectors", HVL_BLK_T_DISCARD, 0, 0, 0, HVL_BLK_S_IOERR);
	dwz(&x, "discard with UNMAP", HVL_BLK_T_DISCARD, 0, 8, HVL_BLK_DWZ_F_UNMAP, HVL_BLK_S_UNSUPP);
	dwz(&x, "write zeroes, unknown flag", HVL_BLK_T_WRITE_ZEROES, 0, 8, 2, HVL_BLK_S_UNSUPP);
	bad_rw(&x, "discard range array not a multiple of 16", HVL_BLK_T_DISCARD, 0, 512 + 8,
	       HVL_BLK_S_IOERR);

	/* No status byte: only readable buffers.  Completed with length 0, status untouched. */
	set_hdr(&x, HVL_BLK_T_OUT, 0);
	sg[0] = (struct hvl_sg){ x.hdr_bus, 16 };
	sg[1] = (struct hvl_sg){ x.data_bus, 512 };
	sg[2] = (struct hvl_sg){ x.status_bus, 1 };
	u = raw(b, sg, 3, 0);
	CHECK_EQ(u, 0);
	CHECK_EQ(*x.status, 0xAA);

	/* Short header (8 bytes). */
	set_hdr(&x, HVL_BLK_T_OUT, 0);
	sg[0] = (struct hvl_sg){ x.hdr_bus, 8 };
	sg[1] = (struct hvl_sg){ x.status_bus, 1 };
	CHECK_EQ(raw(b, sg, 1, 1), 1);
	CHECK_EQ(*x.status, HVL_BLK_S_IOERR);

	/* A read with readable data, a write with writable data: wrong direction. */
	set_hdr(&x, HVL_BLK_T_IN, 0);
	sg[0] = (struct hvl_sg){ x.hdr_bus, 16 };
	sg[1] = (struct hvl_sg){ x.data_bus, 512 };
	sg[2] = (struct hvl_sg){ x.data_bus + 512, 512 };
	sg[3] = (struct hvl_sg){ x.status_bus, 1 };
	CHECK_EQ(raw(b, sg, 2, 2), 1);
	CHECK_EQ(*x.status, HVL_BLK_S_IOERR);
	set_hdr(&x, HVL_BLK_T_OUT, 0);
	CHECK_EQ(raw(b, sg, 2, 2), 1);
	CHECK_EQ(*x.status, HVL_BLK_S_IOERR);
	/* A flush carrying data. */
	set_hdr(&x, HVL_BLK_T_FLUSH, 0);
	sg[2] = (struct hvl_sg){ x.status_bus, 1 };
	CHECK_EQ(raw(b, sg, 2, 1), 1);
	CHECK_EQ(*x.status, HVL_BLK_S_IOERR);

	/* A header split over two descriptors is fine (§2.6.4: no framing assumptions). */
	set_hdr(&x, HVL_BLK_T_IN, 0);
	sg[0] = (struct hvl_sg){ x.hdr_bus, 5 };
	sg[1] = (struct hvl_sg){ x.hdr_bus + 5, 11 };
	sg[2] = (struct hvl_sg){ x.data_bus, 512 };
	sg[3] = (struct hvl_sg){ x.status_bus, 1 };
	CHECK_EQ(raw(b, sg, 2, 2), 513);
	CHECK_EQ(*x.status, HVL_BLK_S_OK);
	CHECK(memcmp(x.data, shadow, 512) == 0);

	/* Write on the read-only disk, by hand (the library refuses it locally). */
	{
		void *rarea;
		size_t rsize;

		hvl_blk_data_area(ro, &rarea, &rsize);
		y.b = ro;
		y.hdr = rarea;
		y.status = (uint8_t *)rarea + 64;
		y.data = (uint8_t *)rarea + 4096;
		y.hdr_bus = hvl_vdev_bus(&ro->vdev, y.hdr);
		y.status_bus = hvl_vdev_bus(&ro->vdev, y.status);
		y.data_bus = hvl_vdev_bus(&ro->vdev, y.data);
		bad_rw(&y, "write on a read-only disk", HVL_BLK_T_OUT, 0, 512, HVL_BLK_S_IOERR);
		/* A read-only disk offers neither: not negotiated, UNSUPP. */
		dwz(&y, "discard not offered", HVL_BLK_T_DISCARD, 0, 8, 0, HVL_BLK_S_UNSUPP);
		dwz(&y, "write zeroes not offered", HVL_BLK_T_WRITE_ZEROES, 0, 8, 0, HVL_BLK_S_UNSUPP);
		CHECK_EQ(hvl_blk_write(ro, 0, y.data, 512, IO_MS), -EROFS);
	}

	/* The library's own checks. */
	{
		struct hvl_blk_done dn;

		CHECK_EQ(hvl_blk_poll(b, &dn, 1, IO_MS), -ENOENT); /* nothing in flight: no wait */
	}
	CHECK_EQ(hvl_blk_read(b, cap, area + 8192, 512, IO_MS), -EINVAL);
	CHECK_EQ(hvl_blk_read(b, 0, area + 8192, 100, IO_MS), -EINVAL);
	CHECK_EQ(hvl_blk_read(b, 0, shadow, 512, IO_MS), -EINVAL); /* not in the data area */

	/* Still alive and serving. */
	CHECK(!hvl_blk_broken(b));
	CHECK(!hvl_blk_broken(ro));
	CHECK_EQ(hvl_blk_read(b, 7, area + 8192, 512, IO_MS), 0);
	CHECK(memcmp(area + 8192, shadow + 7 * 512, 512) == 0);
}

/* ------------------------------------------------------------- main */

int main(int argc, char **argv)
{
	static union { void *p; uint8_t b[HVL_BLK_STORAGE(256)]; } st0, st1;
	static struct hvl_blk disk, rodisk;
	static uint8_t ro_data[RO_BYTES];
	struct hvl_posix_remote pr;
	char dir[4096], mem[4200], img[4200], roimg[4200], badimg[4200], badmem[4200], log[4200], log2[4200],
	     dopt[8400], ropt[8400], bopt[8400];
	const char *env = getenv("HVL_BLK_TEST_OPS");
	unsigned nops = env != NULL ? (unsigned)strtoul(env, NULL, 0) : 400u;
	void *area_v = NULL;
	size_t area_size = 0;
	uint8_t *area;
	pid_t pmm;
	int rc, i;

	if (argc < 2) {
		fprintf(stderr, "usage: %s PATH-TO-hvl-pmm\n", argv[0]);
		return 2;
	}
	alarm(110);
	if (h_tmpdir("hvl-blk", dir) != 0)
		return 2;
	snprintf(mem, sizeof(mem), "%s/mem", dir);
	snprintf(img, sizeof(img), "%s/disk.img", dir);
	snprintf(roimg, sizeof(roimg), "%s/ro.img", dir);
	snprintf(badimg, sizeof(badimg), "%s/bad.img", dir);
	/* Its own region file: a failed start may leave one behind. */
	snprintf(badmem, sizeof(badmem), "%s/bad.mem", dir);
	snprintf(log, sizeof(log), "%s/pmm.log", dir);
	snprintf(log2, sizeof(log2), "%s/pmm-bad.log", dir);
	shadow = malloc(DISK_BYTES);
	if (shadow == NULL)
		return 2;
	fill_rand(shadow, DISK_BYTES);
	fill_rand(ro_data, RO_BYTES);
	if (write_image(img, shadow, DISK_BYTES) != 0 || write_image(roimg, ro_data, RO_BYTES) != 0 ||
	    write_image(badimg, ro_data, 1000) != 0)
		return 2;

	/* An image of 1000 bytes is refused with a clear message. */
	snprintf(bopt, sizeof(bopt), "blk:bad0,path=%s", badimg);
	{
		char *pargv[] = { argv[1], "--file", badmem, "--device", bopt, NULL };

		pmm = h_spawn(pargv, log2);
		rc = h_wait_exit(pmm, 10000);
		CHECK(rc > 0 && rc < 128);
		CHECK(h_file_contains(log2, "not a multiple of 512"));
		if (rc < 0) {
			kill(pmm, SIGKILL);
			(void)h_wait_exit(pmm, 5000);
		}
	}

	snprintf(dopt, sizeof(dopt), "blk:disk0,path=%s,serial=%s", img, SERIAL);
	snprintf(ropt, sizeof(ropt), "blk:ro0,path=%s,readonly=1", roimg);
	{
		char *pargv[] = { argv[1], "--file", mem, "--device", dopt, "--device", ropt, "-v", NULL };

		pmm = h_spawn(pargv, log);
	}
	rc = hvl_posix_remote_open(&pr, mem, NULL, UINT64_MAX, 10000);
	CHECK_EQ(rc, 0);
	if (rc != 0)
		goto out;
	rc = hvl_blk_open(&disk, &pr.r, 0, &st0, sizeof(st0), IO_MS);
	CHECK_EQ(rc, 0);
	CHECK_EQ(hvl_blk_open(&rodisk, &pr.r, 1, &st1, sizeof(st1), IO_MS), 0);
	if (rc != 0)
		goto out;
	CHECK_EQ(hvl_blk_capacity(&disk), DISK_SECTORS);
	CHECK_EQ(hvl_blk_capacity(&rodisk), RO_BYTES / 512u);
	CHECK_EQ(hvl_blk_readonly(&disk), 0);
	CHECK_EQ(hvl_blk_readonly(&rodisk), 1);
	CHECK(strcmp(hvl_blk_serial(&disk), SERIAL) == 0);
	CHECK(strcmp(hvl_blk_serial(&rodisk), "ro0") == 0);
	CHECK(hvl_blk_max_inflight(&disk) >= QD);
	CHECK_EQ(disk.seg_max, 1022);
	CHECK_EQ(disk.blk_size, 512);
	hvl_blk_data_area(&disk, &area_v, &area_size);
	area = area_v;
	CHECK(area_size >= QD * MAX_SECT * 512u);
	if (area_size < QD * MAX_SECT * 512u)
		goto out;

	/* The read-only disk reads back its image. */
	{
		void *ra;
		size_t rs;

		hvl_blk_data_area(&rodisk, &ra, &rs);
		CHECK_EQ(hvl_blk_read(&rodisk, 0, ra, 4096, IO_MS), 0);
		CHECK(memcmp(ra, ro_data, 4096) == 0);
		/* A buffer outside this device's area is refused locally. */
		CHECK_EQ(hvl_blk_read(&rodisk, 0, area, 4096, IO_MS), -EINVAL);
	}

	random_io(&disk, area, nops);
	discard_zeroes(&disk, area);
	CHECK_EQ(hvl_blk_flush(&disk, IO_MS), 0);
	CHECK(file_equals(img, shadow, DISK_BYTES));

	bad_requests(&disk, &rodisk, area);
	CHECK(h_alive(pmm));
	CHECK(file_equals(img, shadow, DISK_BYTES));
	CHECK(file_equals(roimg, ro_data, RO_BYTES));

	/* Flush durability: writes, a flush acknowledged, then SIGKILL right away. */
	for (i = 0; i < 32; i++) {
		uint32_t ns = 1u + rnd() % 16u;
		uint64_t sec = rnd() % (DISK_SECTORS - ns + 1u);

		fill_rand(area, ns * 512u);
		memcpy(shadow + sec * 512u, area, ns * 512u);
		CHECK_EQ(hvl_blk_write(&disk, sec, area, ns * 512u, IO_MS), 0);
	}
	CHECK_EQ(hvl_blk_flush(&disk, IO_MS), 0);
	kill(pmm, SIGKILL);
	CHECK_EQ(h_wait_exit(pmm, 5000), 128 + SIGKILL);
	pmm = -1;
	CHECK(file_equals(img, shadow, DISK_BYTES));
	hvl_posix_remote_close(&pr);
out:
	if (pmm > 0) {
		kill(pmm, SIGTERM);
		if (h_wait_exit(pmm, 10000) < 0) {
			kill(pmm, SIGKILL);
			(void)h_wait_exit(pmm, 5000);
		}
	}
	if (h_failed != 0 || getenv("HVL_TEST_KEEP") != NULL)
		fprintf(stderr, "test_blk_e2e: files kept in %s\n", dir);
	else
		h_rmtree(dir);
	free(shadow);
	return h_finish("test_blk_e2e");
}

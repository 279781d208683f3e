/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hvl-bench 9p modes: the real hvl-pmm exporting a directory over
 * virtio-9p, measured in the same run as a direct read of the same file on
 * Linux (issue 4's target: sequential read and write through 9p at no less
 * than half the direct read).
 *
 *  - direct read: read() of 1 MiB at a time through the whole file, in this
 *    process (CPU 0), after one untimed pass that warms the page cache;
 *  - 9p read: this process is the remote core (POSIX port, CPU 0) reading
 *    the same file through hvl_9p_read, 1 MiB per call; hvl-pmm (CPU 1)
 *    preads straight into shared memory.  The client has up to 4 request
 *    slots (HVL_9P_SLOTS), each a request and a response buffer carved
 *    from the data area (data_size P9B_DATA: 8 buffers of 256 KiB + 4 KiB),
 *    so a 1 MiB call is 4 Treads of 256 KiB, all in flight at once
 *    (read_zc is one Tread per call of msize, 1 MiB + 4 KiB less 24, answered
 *    across all four response buffers).  HVL_BENCH_P9_DATA=<size> in the
 *    environment measures another data_size (the default 512K: 4 x 64 KiB);
 *  - 9p write, new file: a file of the same size created (O_TRUNC) and
 *    written through hvl_9p_write (4 Twrites in flight per call), then its
 *    fsync timed on its own; direct write() of a new file for reference.
 *    On tmpfs, allocating the pages dominates writing a new file;
 *  - 9p write, overwrite: an existing file of the same size written again
 *    from the start (no O_TRUNC: the pages exist), in the interleaved
 *    rounds beside a direct write() over an existing file.  Each write
 *    kind is also reported against the direct write of the same kind;
 *  - small files: create + write 100 bytes + close, per second, through 9p
 *    and directly.
 * Rounds are interleaved (direct, 9p) and medians reported, so drift of a
 * shared machine hits both alike.  The exported directory is in /dev/shm
 * when there is one (tmpfs): both sides then measure memory, not a disk.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"
#include "hvl/9p.h"
#include "hvl/posix.h"

#define P9B_CHUNK   (1u << 20)
#define P9B_ROUNDS  3u
#define P9B_QSIZE   64u
#define P9B_MS      10000u
#define P9B_SPINS   100000u  /* busy-poll mode: relax rounds before sleeping */
#define P9B_DATA    "2080K"  /* 2 x HVL_9P_SLOTS buffers of 256 KiB + 4 KiB */

/* What a pass does to its file. */
enum { P9B_READ = 0, P9B_WRITE_NEW = 1, P9B_OVERWRITE = 2 };

struct p9b_ctx {
	char dir[64], exp[96], file[128], region[96], log[96];
	pid_t pid;
};

static double mbs(uint64_t bytes, int64_t ns)
{
	return ns > 0 ? (double)bytes / 1e6 / ((double)ns / 1e9) : 0.0;
}


static double median(double *v, unsigned n)
{
	unsigned i, j;

	for (i = 1; i < n; i++)
		for (j = i; j > 0 && v[j - 1] > v[j]; j--) {
			double t = v[j];

			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	return n == 0 ? 0.0 : v[n / 2];
}

static uint8_t buf[P9B_CHUNK];

/* Direct read()/write() pass over @path (@wr: a P9B_* kind); ns or -1. */
static int64_t direct_pass(const char *path, uint64_t bytes, int wr)
{
	uint64_t done = 0;
	int64_t t0;
	int fd = open(path, wr == P9B_WRITE_NEW ? (O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC)
			    : wr == P9B_OVERWRITE ? (O_WRONLY | O_CLOEXEC) : (O_RDONLY | O_CLOEXEC), 0644);

	if (fd < 0)
		return -1;
	t0 = now_ns();
	while (done < bytes) {
		if (xfer(fd, buf, P9B_CHUNK, wr) != 0) {
			close(fd);
			return -1;
		}
		done += P9B_CHUNK;
	}
	t0 = now_ns() - t0;
	close(fd);
	return t0;
}

/* 9p read or write pass (@wr: a P9B_* kind) over @name; ns or -1.  *@sync_ns: the write's fsync. */
static int64_t p9_pass(struct hvl_9p *c, const char *name, uint64_t bytes, int wr, int64_t *sync_ns)
{
	uint64_t done = 0;
	int64_t t0;
	int fd = hvl_9p_open(c, name, wr == P9B_WRITE_NEW ? (HVL_O_CREAT | HVL_O_WRONLY | HVL_O_TRUNC)
				      : wr == P9B_OVERWRITE ? HVL_O_WRONLY : HVL_O_RDONLY, 0644);

	if (fd < 0)
		return -1;
	t0 = now_ns();
	while (done < bytes) {
		long n = wr ? hvl_9p_write(c, fd, buf, P9B_CHUNK) : hvl_9p_read(c, fd, buf, P9B_CHUNK);

		if (n != (long)P9B_CHUNK) {
			(void)hvl_9p_close(c, fd);
			return -1;
		}
		done += P9B_CHUNK;
	}
	t0 = now_ns() - t0;
	if (wr && sync_ns != NULL) {
		int64_t s = now_ns();

		if (hvl_9p_fsync(c, fd) != 0) {
			(void)hvl_9p_close(c, fd);
			return -1;
		}
		*sync_ns = now_ns() - s;
	}
	(void)hvl_9p_close(c, fd);
	return t0;
}

/* 9p zero-copy read pass (hvl_9p_read_zc: the data stays in shared memory); ns or -1. */
static int64_t p9_pass_zc(struct hvl_9p *c, const char *name, uint64_t bytes)
{
	uint64_t done = 0, sum = 0;
	int64_t t0;
	int fd = hvl_9p_open(c, name, HVL_O_RDONLY, 0);

	if (fd < 0)
		return -1;
	t0 = now_ns();
	while (done < bytes) {
		const void *data;
		long n = hvl_9p_read_zc(c, fd, &data, P9B_CHUNK);

		if (n <= 0) {
			(void)hvl_9p_close(c, fd);
			return -1;
		}
		sum += ((const uint8_t *)data)[n - 1]; /* touch it, as a consumer would */
		done += (uint64_t)n;
	}
	t0 = now_ns() - t0;
	(void)hvl_9p_close(c, fd);
	return sum == UINT64_MAX ? -1 : t0;
}

/* Small files: create + write 100 bytes + close, @n times; ops/s or -1. */
static double small_9p(struct hvl_9p *c, unsigned n, unsigned first)
{
	char name[32];
	int64_t t0 = now_ns();
	unsigned i;

	for (i = 0; i < n; i++) {
		int fd;

		snprintf(name, sizeof name, "small/f%u", first + i);
		fd = hvl_9p_open(c, name, HVL_O_CREAT | HVL_O_EXCL | HVL_O_WRONLY, 0644);
		if (fd < 0 || hvl_9p_write(c, fd, buf, 100) != 100 || hvl_9p_close(c, fd) != 0)
			return -1.0;
	}
	return (double)n / ((double)(now_ns() - t0) / 1e9);
}

static double small_direct(const char *exp, unsigned n)
{
	char name[256];
	int64_t t0 = now_ns();
	unsigned i;

	for (i = 0; i < n; i++) {
		int fd;

		snprintf(name, sizeof name, "%s/dsmall/f%u", exp, i);
		fd = open(name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
		if (fd < 0 || write(fd, buf, 100) != 100) {
			if (fd >= 0)
				close(fd);
			return -1.0;
		}
		close(fd);
	}
	return (double)n / ((double)(now_ns() - t0) / 1e9);
}

static int p9b_pmm_start(struct bench *b, struct p9b_ctx *c, const char *exe)
{
	const char *data = getenv("HVL_BENCH_P9_DATA"); /* another data_size, to compare carvings */
	char dev[256];
	char *argv[8];

	snprintf(dev, sizeof dev, "9p:share,path=%s,queue_size=%u,data_size=%s", c->exp, P9B_QSIZE,
		 (data != NULL && data[0] != '\0') ? data : P9B_DATA);
	argv[0] = (char *)(uintptr_t)exe; /* execv's prototype predates const */
	argv[1] = "--file";
	argv[2] = c->region;
	argv[3] = "--remote-base";
	argv[4] = "0x40000000";
	argv[5] = "--device";
	argv[6] = dev;
	argv[7] = NULL;
	c->pid = bench_spawn_pmm(b, argv, c->log);
	if (c->pid < 0)
		return -1;
	return 0;
}

static int p9b_remote(struct p9b_ctx *c, struct p9_result *r)
{
	static union { void *p; uint8_t b[HVL_9P_VIRTIO_STORAGE(P9B_QSIZE)]; } st;
	static struct hvl_9p_virtio v;
	static struct hvl_9p cl;
	double dr[P9B_ROUNDS], pr9[P9B_ROUNDS], pp9[P9B_ROUNDS], pz9[P9B_ROUNDS];
	double dow[P9B_ROUNDS], pow9[P9B_ROUNDS], powp9[P9B_ROUNDS];
	struct hvl_posix_remote pr;
	char over[160];
	int64_t ns, sync_ns = 0;
	unsigned k;
	int rc, ok = 0;

	rc = hvl_posix_remote_open(&pr, c->region, NULL, 0x40000000ull, P9B_MS);
	if (rc != 0) {
		fprintf(stderr, "hvl-bench: 9p: remote attach: %s\n", strerror(-rc));
		return -1;
	}
	rc = hvl_9p_virtio_open(&v, &pr.r, 0, &st, sizeof st);
	if (rc == 0)
		rc = hvl_9p_mount(&cl, &v.t, "", 0, P9B_MS);
	if (rc != 0) {
		fprintf(stderr, "hvl-bench: 9p: open/mount: %s\n", strerror(-rc));
		goto out;
	}
	r->msize = cl.msize;
	r->nslots = cl.t.nslots;
	/* The file the overwrite modes write again and again: its pages exist from here on. */
	snprintf(over, sizeof over, "%s/over", c->exp);
	if (direct_pass(c->file, r->bytes, P9B_READ) < 0 || p9_pass(&cl, "big", r->bytes, P9B_READ, NULL) < 0 ||
	    direct_pass(over, r->bytes, P9B_WRITE_NEW) < 0)
		goto out;
	for (k = 0; k < P9B_ROUNDS; k++) {
		ns = direct_pass(c->file, r->bytes, P9B_READ);
		if (ns < 0)
			goto out;
		dr[k] = mbs(r->bytes, ns);
		hvl_9p_virtio_set_poll_spin(&v, 0);
		ns = p9_pass(&cl, "big", r->bytes, P9B_READ, NULL);
		if (ns < 0)
			goto out;
		pr9[k] = mbs(r->bytes, ns);
		hvl_9p_virtio_set_poll_spin(&v, P9B_SPINS);
		ns = p9_pass(&cl, "big", r->bytes, P9B_READ, NULL);
		if (ns < 0)
			goto out;
		pp9[k] = mbs(r->bytes, ns);
		hvl_9p_virtio_set_poll_spin(&v, 0);
		ns = p9_pass_zc(&cl, "big", r->bytes);
		if (ns < 0)
			goto out;
		pz9[k] = mbs(r->bytes, ns);
		ns = direct_pass(over, r->bytes, P9B_OVERWRITE);
		if (ns < 0)
			goto out;
		dow[k] = mbs(r->bytes, ns);
		ns = p9_pass(&cl, "over", r->bytes, P9B_OVERWRITE, NULL);
		if (ns < 0)
			goto out;
		pow9[k] = mbs(r->bytes, ns);
		hvl_9p_virtio_set_poll_spin(&v, P9B_SPINS);
		ns = p9_pass(&cl, "over", r->bytes, P9B_OVERWRITE, NULL);
		hvl_9p_virtio_set_poll_spin(&v, 0);
		if (ns < 0)
			goto out;
		powp9[k] = mbs(r->bytes, ns);
	}
	r->direct_over_mbs = median(dow, P9B_ROUNDS);
	r->p9_over_mbs = median(pow9, P9B_ROUNDS);
	r->p9_over_poll_mbs = median(powp9, P9B_ROUNDS);
	r->p9_read_zc_mbs = median(pz9, P9B_ROUNDS);
	r->direct_read_mbs = median(dr, P9B_ROUNDS);
	r->p9_read_mbs = median(pr9, P9B_ROUNDS);
	r->p9_read_poll_mbs = median(pp9, P9B_ROUNDS);
	hvl_9p_virtio_set_poll_spin(&v, 0);
	ns = p9_pass(&cl, "written", r->bytes, P9B_WRITE_NEW, &sync_ns);
	if (ns < 0)
		goto out;
	r->p9_write_mbs = mbs(r->bytes, ns);
	r->fsync_ms = (double)sync_ns / 1e6;
	hvl_9p_virtio_set_poll_spin(&v, P9B_SPINS);
	ns = p9_pass(&cl, "written", r->bytes, P9B_WRITE_NEW, NULL);
	if (ns < 0)
		goto out;
	r->p9_write_poll_mbs = mbs(r->bytes, ns);
	{
		char path[160];

		snprintf(path, sizeof path, "%s/dwritten", c->exp);
		ns = direct_pass(path, r->bytes, P9B_WRITE_NEW);
		if (ns < 0)
			goto out;
		r->direct_write_mbs = mbs(r->bytes, ns);
	}
	if (hvl_9p_mkdir(&cl, "small", 0755) != 0)
		goto out;
	{
		char path[160];

		snprintf(path, sizeof path, "%s/dsmall", c->exp);
		if (mkdir(path, 0755) != 0)
			goto out;
	}
	r->small_p9_poll = small_9p(&cl, r->small_n, 0u);
	hvl_9p_virtio_set_poll_spin(&v, 0);
	r->small_p9 = small_9p(&cl, r->small_n, r->small_n);
	r->small_direct = small_direct(c->exp, r->small_n);
	if (r->small_p9 < 0.0 || r->small_direct < 0.0)
		goto out;
	ok = 1;
out:
	if (cl.mounted)
		(void)hvl_9p_unmount(&cl);
	if (v.is_open)
		(void)hvl_9p_virtio_close(&v);
	hvl_posix_remote_close(&pr);
	return ok ? 0 : -1;
}

/* Remove the export tree (two flat directories and four files). */
static void p9b_cleanup(struct p9b_ctx *c, unsigned n)
{
	char p[256];
	unsigned i;

	for (i = 0; i < 2u * n; i++) {
		snprintf(p, sizeof p, "%s/small/f%u", c->exp, i);
		(void)unlink(p);
		snprintf(p, sizeof p, "%s/dsmall/f%u", c->exp, i);
		(void)unlink(p);
	}
	snprintf(p, sizeof p, "%s/small", c->exp);
	(void)rmdir(p);
	snprintf(p, sizeof p, "%s/dsmall", c->exp);
	(void)rmdir(p);
	snprintf(p, sizeof p, "%s/written", c->exp);
	(void)unlink(p);
	snprintf(p, sizeof p, "%s/dwritten", c->exp);
	(void)unlink(p);
	snprintf(p, sizeof p, "%s/over", c->exp);
	(void)unlink(p);
	(void)unlink(c->file);
	(void)rmdir(c->exp);
	(void)unlink(c->region);
	(void)unlink(c->log);
	(void)rmdir(c->dir);
}

int run_p9_modes(struct bench *b, struct p9_result *r)
{
	struct p9b_ctx c;
	uint64_t i;
	int rc = -1;

	memset(r, 0, sizeof *r);
	memset(&c, 0, sizeof c);
	c.pid = -1;
	r->bytes = (uint64_t)b->p9_mib << 20;
	r->small_n = b->p9_small;
	if (bench_find_pmm(b, r->path, sizeof r->path) != 0)
		return 0; /* a skip, reported as such */
	r->found = 1;
	snprintf(c.dir, sizeof c.dir, "%s/hvl-bench-9p-XXXXXX",
		 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	if (mkdtemp(c.dir) == NULL) {
		perror("hvl-bench: mkdtemp");
		return -1;
	}
	snprintf(c.exp, sizeof c.exp, "%s/share", c.dir);
	snprintf(c.file, sizeof c.file, "%s/big", c.exp);
	snprintf(c.region, sizeof c.region, "%s/region", c.dir);
	snprintf(c.log, sizeof c.log, "%s/pmm.log", c.dir);
	pin(b, 0);
	for (i = 0; i < P9B_CHUNK; i++)
		buf[i] = (uint8_t)(i * 7u + (i >> 11));
	if (mkdir(c.exp, 0755) != 0 || direct_pass(c.file, r->bytes, P9B_WRITE_NEW) < 0) {
		fprintf(stderr, "hvl-bench: 9p: cannot write %s\n", c.file);
		goto out;
	}
	if (p9b_pmm_start(b, &c, r->path) != 0)
		goto out;
	if (p9b_remote(&c, r) != 0)
		goto out;
	r->ok = 1;
	rc = 0;
out:
	if (c.pid > 0) {
		kill(c.pid, SIGTERM);
		if (reap(c.pid, 5000) != 0)
			fprintf(stderr, "hvl-bench: 9p: hvl-pmm did not exit cleanly (log %s)\n", c.log);
	}
	p9b_cleanup(&c, r->small_n);
	return rc;
}

/* @a / @b, or 0 when @b is not a measurement. */
static double p9b_ratio(double a, double b)
{
	return b > 0.0 ? a / b : 0.0;
}

static const char *p9b_verdict(int measured, double v)
{
	return !measured ? "NOT MEASURED" : v >= 0.5 ? "PASS" : "MISS";
}

void print_p9(const struct p9_result *r)
{
	double d = r->direct_read_mbs;
	double rr = d > 0.0 ? r->p9_read_mbs / d : 0.0, wr = d > 0.0 ? r->p9_write_mbs / d : 0.0;
	double rp = d > 0.0 ? r->p9_read_poll_mbs / d : 0.0, wp = d > 0.0 ? r->p9_write_poll_mbs / d : 0.0;
	double ow = p9b_ratio(r->p9_over_mbs, d), owp = p9b_ratio(r->p9_over_poll_mbs, d);

	if (!r->found) {
		printf("\n9p sequential: SKIPPED (needs hvl-pmm)\n");
		return;
	}
	if (!r->ok) {
		printf("\n9p sequential: FAILED\n");
		return;
	}
	printf("\n9p (virtio-9p, msize %u), %llu MiB file, 1 MiB calls (page cache warm; remote CPU 0, "
	       "PMM CPU 1):\n", r->msize, (unsigned long long)(r->bytes >> 20));
	printf("  client: %u request slots: a 1 MiB call is split into Tread/Twrite pieces, up to %u "
	       "in flight\n", r->nslots, r->nslots);
	printf("  %-30s %9.1f MB/s\n", "direct read (Linux)", d);
	printf("  %-30s %9.1f MB/s  (%.2f x direct read)\n", "9p read, doorbell", r->p9_read_mbs, rr);
	printf("  %-30s %9.1f MB/s  (%.2f x direct read)\n", "9p read, busy-poll", r->p9_read_poll_mbs,
	       rp);
	printf("  %-30s %9.1f MB/s  (%.2f x direct read)\n", "9p read_zc (no copy), doorbell",
	       r->p9_read_zc_mbs, d > 0.0 ? r->p9_read_zc_mbs / d : 0.0);
	printf("  %-30s %9.1f MB/s\n", "direct write (Linux)", r->direct_write_mbs);
	printf("  %-30s %9.1f MB/s  (%.2f x direct read), then fsync %.1f ms\n", "9p write, doorbell",
	       r->p9_write_mbs, wr, r->fsync_ms);
	printf("  %-30s %9.1f MB/s  (%.2f x direct read)\n", "9p write, busy-poll",
	       r->p9_write_poll_mbs, wp);
	printf("  (the three write lines above: a new file, O_TRUNC; tmpfs allocates its pages as it "
	       "goes)\n");
	printf("  %-30s %9.1f MB/s  (existing %llu MiB file, no O_TRUNC)\n",
	       "direct write, overwrite", r->direct_over_mbs, (unsigned long long)(r->bytes >> 20));
	printf("  %-30s %9.1f MB/s  (%.2f x direct read, %.2f x direct overwrite)\n",
	       "9p write, overwrite, doorbell", r->p9_over_mbs, ow,
	       p9b_ratio(r->p9_over_mbs, r->direct_over_mbs));
	printf("  %-30s %9.1f MB/s  (%.2f x direct read, %.2f x direct overwrite)\n",
	       "9p write, overwrite, busy-poll", r->p9_over_poll_mbs, owp,
	       p9b_ratio(r->p9_over_poll_mbs, r->direct_over_mbs));
	printf("  %-30s %9.0f /s  (busy-poll %.0f /s; direct %.0f /s), %u files\n",
	       "small create+write+close, 9p", r->small_p9, r->small_p9_poll, r->small_direct, r->small_n);
	printf("  target 9p_seq_read_ge_0.5x_direct_read: doorbell %.3f %s, busy-poll %.3f %s\n", rr,
	       rr >= 0.5 ? "PASS" : "MISS", rp, rp >= 0.5 ? "PASS" : "MISS");
	printf("  target 9p_seq_write_ge_0.5x_direct_read: doorbell %.3f %s, busy-poll %.3f %s\n", wr,
	       wr >= 0.5 ? "PASS" : "MISS", wp, wp >= 0.5 ? "PASS" : "MISS");
	printf("    (new file; overwrite below)\n");
	printf("  target 9p_seq_write_overwrite_ge_0.5x_direct_read: doorbell %.3f %s, busy-poll %.3f %s\n",
	       ow, ow >= 0.5 ? "PASS" : "MISS", owp, owp >= 0.5 ? "PASS" : "MISS");
	printf("  9p write / direct write of the same kind (not a target): new file doorbell %.2f, "
	       "busy-poll %.2f; overwrite doorbell %.2f, busy-poll %.2f\n",
	       p9b_ratio(r->p9_write_mbs, r->direct_write_mbs),
	       p9b_ratio(r->p9_write_poll_mbs, r->direct_write_mbs),
	       p9b_ratio(r->p9_over_mbs, r->direct_over_mbs),
	       p9b_ratio(r->p9_over_poll_mbs, r->direct_over_mbs));
}

void json_p9(const struct p9_result *r, FILE *js)
{
	double d = r->direct_read_mbs;
	double rr = d > 0.0 ? r->p9_read_mbs / d : 0.0, wr = d > 0.0 ? r->p9_write_mbs / d : 0.0;
	double rp = d > 0.0 ? r->p9_read_poll_mbs / d : 0.0, wp = d > 0.0 ? r->p9_write_poll_mbs / d : 0.0;
	double ow = p9b_ratio(r->p9_over_mbs, d), owp = p9b_ratio(r->p9_over_poll_mbs, d);
	int m = r->found && r->ok;

	fprintf(js, "  \"9p\": {\"found\": %s, \"ok\": %s, \"msize\": %u, \"file_bytes\": %llu, "
		    "\"direct_read_mb_s\": %.1f, \"direct_write_mb_s\": %.1f, \"p9_read_mb_s\": %.1f, "
		    "\"p9_write_mb_s\": %.1f, \"p9_read_busy_poll_mb_s\": %.1f, "
		    "\"p9_write_busy_poll_mb_s\": %.1f, \"p9_read_zero_copy_mb_s\": %.1f, "
		    "\"fsync_ms\": %.2f, \"small_files\": %u, "
		    "\"small_create_write_close_per_s\": %.0f, \"small_busy_poll_per_s\": %.0f, "
		    "\"small_direct_per_s\": %.0f, ",
		r->found ? "true" : "false", r->ok ? "true" : "false", r->msize,
		(unsigned long long)r->bytes, d, r->direct_write_mbs, r->p9_read_mbs, r->p9_write_mbs,
		r->p9_read_poll_mbs, r->p9_write_poll_mbs, r->p9_read_zc_mbs, r->fsync_ms, r->small_n,
		r->small_p9,
		r->small_p9_poll, r->small_direct);
	fprintf(js, "\"slots\": %u, \"direct_write_overwrite_mb_s\": %.1f, "
		    "\"p9_write_overwrite_mb_s\": %.1f, \"p9_write_overwrite_busy_poll_mb_s\": %.1f, "
		    "\"p9_write_over_direct_write_new\": %.4f, "
		    "\"p9_write_busy_poll_over_direct_write_new\": %.4f, "
		    "\"p9_write_overwrite_over_direct_overwrite\": %.4f, "
		    "\"p9_write_overwrite_busy_poll_over_direct_overwrite\": %.4f, \"targets\": [",
		r->nslots, r->direct_over_mbs, r->p9_over_mbs, r->p9_over_poll_mbs,
		p9b_ratio(r->p9_write_mbs, r->direct_write_mbs),
		p9b_ratio(r->p9_write_poll_mbs, r->direct_write_mbs),
		p9b_ratio(r->p9_over_mbs, r->direct_over_mbs),
		p9b_ratio(r->p9_over_poll_mbs, r->direct_over_mbs));
	fprintf(js, "{\"name\": \"9p_seq_read_ge_0.5x_direct_read\", \"mode\": \"doorbell\", "
		    "\"value\": %.4f, \"limit\": 0.5, \"result\": \"%s\"}, "
		    "{\"name\": \"9p_seq_read_ge_0.5x_direct_read\", \"mode\": \"busy-poll\", "
		    "\"value\": %.4f, \"limit\": 0.5, \"result\": \"%s\"}, "
		    "{\"name\": \"9p_seq_write_ge_0.5x_direct_read\", \"mode\": \"doorbell\", "
		    "\"value\": %.4f, \"limit\": 0.5, \"result\": \"%s\"}, "
		    "{\"name\": \"9p_seq_write_ge_0.5x_direct_read\", \"mode\": \"busy-poll\", "
		    "\"value\": %.4f, \"limit\": 0.5, \"result\": \"%s\"}, ",
		rr, p9b_verdict(m, rr), rp, p9b_verdict(m, rp), wr, p9b_verdict(m, wr), wp,
		p9b_verdict(m, wp));
	fprintf(js, "{\"name\": \"9p_seq_write_overwrite_ge_0.5x_direct_read\", \"mode\": \"doorbell\", "
		    "\"value\": %.4f, \"limit\": 0.5, \"result\": \"%s\"}, "
		    "{\"name\": \"9p_seq_write_overwrite_ge_0.5x_direct_read\", "
		    "\"mode\": \"busy-poll\", \"value\": %.4f, \"limit\": 0.5, \"result\": \"%s\"}]},\n",
		ow, p9b_verdict(m, ow), owp, p9b_verdict(m, owp));
}

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Region layout: alignment of every part, no overlaps, windows contain their
 * rings, -ENOSPC/-EINVAL on bad input and overflow, and bus addresses
 * (remote_base applied) in --print-layout / --emit-header output.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hvl/layout.h"
#include "layout_out.h"

static int failures;

#define CHECK(cond)                                                                  \
	do {                                                                         \
		if (!(cond)) {                                                       \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, \
				#cond);                                              \
			failures++;                                                  \
		}                                                                    \
	} while (0)

static struct hvl_layout L; /* big; one per test program is plenty */

static struct hvl_layout_dev_cfg mkdev(uint32_t id, const char *name, uint32_t nq, uint16_t qs,
				       uint64_t data)
{
	struct hvl_layout_dev_cfg d;
	uint32_t q;

	memset(&d, 0, sizeof(d));
	d.device_id = id;
	snprintf(d.name, sizeof(d.name), "%s", name);
	d.num_queues = nq;
	for (q = 0; q < nq && q < HVL_MAX_QUEUES; q++)
		d.queue_size[q] = qs;
	d.data_size = data;
	return d;
}

struct part {
	uint64_t start, end;
	const char *what;
	unsigned dev;
};

/*
 * Check every invariant of a computed layout: alignment, ring sizes, windows
 * containing their parts, everything inside the region, no two parts
 * overlapping.
 */
static void check_layout(const struct hvl_layout *l)
{
	size_t np = 0, cap = 1u + 2u * HVL_MAX_DEVICES * (2u + 3u * HVL_MAX_QUEUES);
	struct part *p = calloc(cap, sizeof(*p));
	unsigned i, q;
	size_t a, b;

	CHECK(p != NULL);
	if (p == NULL)
		return;
	p[np++] = (struct part){ 0, HVL_REGION_HDR_SIZE, "header", 0 };
	for (i = 0; i < l->ndev; i++) {
		const struct hvl_layout_dev *d = &l->dev[i];
		uint64_t wend = d->window_offset + d->window_size;

		CHECK(d->regs_offset == HVL_PAGE_SIZE * (1u + i));
		CHECK(d->window_offset % HVL_PAGE_SIZE == 0);
		CHECK(d->window_size % HVL_PAGE_SIZE == 0);
		CHECK(d->data_offset % HVL_PAGE_SIZE == 0);
		CHECK(d->data_size % HVL_PAGE_SIZE == 0);
		CHECK(d->data_size >= d->cfg.data_size);
		CHECK(d->data_size - d->cfg.data_size < HVL_PAGE_SIZE);
		/* The data area ends the window. */
		CHECK(d->data_offset + d->data_size == wend);
		CHECK(d->data_offset >= d->window_offset);
		p[np++] = (struct part){ d->regs_offset, d->regs_offset + HVL_DEVPAGE_SIZE, "page", i };
		if (d->data_size != 0)
			p[np++] = (struct part){ d->data_offset, d->data_offset + d->data_size, "data", i };
		for (q = 0; q < d->cfg.num_queues; q++) {
			const struct hvl_layout_queue *lq = &d->queue[q];
			uint64_t n = lq->num;

			CHECK(lq->num == d->cfg.queue_size[q]);
			CHECK(lq->desc % HVL_PAGE_SIZE == 0);
			CHECK(lq->avail % HVL_CACHELINE == 0);
			CHECK(lq->used % HVL_CACHELINE == 0);
			CHECK(lq->avail >= lq->desc + 16u * n);
			CHECK(lq->used >= lq->avail + 6u + 2u * n);
			/* The window contains its rings, before the data area. */
			CHECK(lq->desc >= d->window_offset);
			CHECK(lq->used + 6u + 8u * n <= d->data_offset);
			CHECK(lq->used + 6u + 8u * n <= wend);
			p[np++] = (struct part){ lq->desc, lq->desc + 16u * n, "desc", i };
			p[np++] = (struct part){ lq->avail, lq->avail + 6u + 2u * n, "avail", i };
			p[np++] = (struct part){ lq->used, lq->used + 6u + 8u * n, "used", i };
		}
		/* Windows come after all device pages and do not overlap each other. */
		CHECK(d->window_offset >= HVL_PAGE_SIZE * (1u + l->ndev));
		if (i > 0)
			CHECK(d->window_offset >= l->dev[i - 1].window_offset + l->dev[i - 1].window_size);
		CHECK(wend <= l->region_size);
	}
	for (a = 0; a < np; a++) {
		CHECK(p[a].end <= l->region_size);
		CHECK(p[a].start < p[a].end);
		for (b = a + 1; b < np; b++) {
			if (p[a].start < p[b].end && p[b].start < p[a].end) {
				fprintf(stderr, "overlap: dev %u %s [%" PRIx64 ",%" PRIx64
					") and dev %u %s [%" PRIx64 ",%" PRIx64 ")\n",
					p[a].dev, p[a].what, p[a].start, p[a].end, p[b].dev,
					p[b].what, p[b].start, p[b].end);
				failures++;
			}
		}
	}
	free(p);
}

static void test_basic(void)
{
	struct hvl_layout_dev_cfg d[3];
	char err[256] = "";
	uint64_t need;

	d[0] = mkdev(3, "console0", 2, 256, 64 * 1024);
	d[1] = mkdev(2, "blk0", 1, 128, 1000);      /* data rounds up to 4 KiB */
	d[2] = mkdev(19, "vsock0", 3, 1, 0);        /* smallest queues, no data area */
	d[2].queue_size[1] = 32768;
	CHECK(hvl_layout_compute(&L, 0, 0, d, 3, err, sizeof(err)) == 0);
	check_layout(&L);
	CHECK(L.ndev == 3);
	CHECK(L.remote_base == 0);
	/* Hand-computed first device: pages 0..3, window at 4 pages. */
	CHECK(L.dev[0].window_offset == 4 * 4096);
	CHECK(L.dev[0].queue[0].desc == 4 * 4096);
	CHECK(L.dev[0].queue[0].avail == 4 * 4096 + 16 * 256);
	/* avail: 6 + 512 = 518 bytes -> used at the next 64-byte line. */
	CHECK(L.dev[0].queue[0].used == 4 * 4096 + 16 * 256 + 576);
	/* 4096 + 576 + 2054 bytes: queue 0 spans two pages, queue 1 starts on the third. */
	CHECK(L.dev[0].queue[1].desc == 6 * 4096);
	CHECK(L.dev[0].data_offset == 8 * 4096);
	CHECK(L.dev[0].window_size == 4 * 4096 + 64 * 1024);
	CHECK(L.dev[1].data_size == 4096);
	CHECK(L.dev[2].data_size == 0);
	CHECK(L.region_size == L.dev[2].window_offset + L.dev[2].window_size);

	/* An explicit size is kept as given, and remote_base is recorded. */
	need = L.region_size;
	CHECK(hvl_layout_compute(&L, need + 1024 * 1024, 0x70000000, d, 3, err, sizeof(err)) == 0);
	CHECK(L.region_size == need + 1024 * 1024);
	CHECK(L.remote_base == 0x70000000);
	check_layout(&L);
	/* Exactly fitting. */
	CHECK(hvl_layout_compute(&L, need, 0, d, 3, err, sizeof(err)) == 0);

	/* No devices: just the header page. */
	CHECK(hvl_layout_compute(&L, 0, 0, NULL, 0, err, sizeof(err)) == 0);
	CHECK(L.region_size == HVL_REGION_HDR_SIZE);
}

static void test_max(void)
{
	static struct hvl_layout_dev_cfg d[HVL_MAX_DEVICES];
	char err[256] = "";
	unsigned i;

	for (i = 0; i < HVL_MAX_DEVICES; i++) {
		char name[32];

		snprintf(name, sizeof(name), "dev%u", i);
		d[i] = mkdev(1, name, HVL_MAX_QUEUES, (uint16_t)(1u << (i % 16u)), (uint64_t)i * 777u);
	}
	CHECK(hvl_layout_compute(&L, 0, 0, d, HVL_MAX_DEVICES, err, sizeof(err)) == 0);
	check_layout(&L);
	/* One more device than the device table holds. */
	CHECK(hvl_layout_compute(&L, 0, 0, d, HVL_MAX_DEVICES + 1u, err, sizeof(err)) == -EINVAL);
}

static void test_enospc(void)
{
	struct hvl_layout_dev_cfg d[2];
	char err[256] = "", want[64];
	uint64_t need;

	d[0] = mkdev(3, "console0", 2, 64, 8192);
	d[1] = mkdev(4, "rng0", 1, 64, 4096);
	CHECK(hvl_layout_compute(&L, 0, 0, d, 2, err, sizeof(err)) == 0);
	need = L.region_size;

	CHECK(hvl_layout_compute(&L, need - 4096, 0, d, 2, err, sizeof(err)) == -ENOSPC);
	CHECK(strstr(err, "rng0") != NULL);
	snprintf(want, sizeof(want), "%" PRIu64, need);
	CHECK(strstr(err, want) != NULL); /* names the bytes needed */

	/* So small that the first device's window does not fit. */
	CHECK(hvl_layout_compute(&L, 4 * 4096, 0, d, 2, err, sizeof(err)) == -ENOSPC);
	CHECK(strstr(err, "console0") != NULL);
	/* So small that a device page does not fit. */
	CHECK(hvl_layout_compute(&L, 2 * 4096, 0, d, 2, err, sizeof(err)) == -ENOSPC);
	CHECK(strstr(err, "rng0") != NULL);
}

static void test_invalid(void)
{
	static const uint16_t bad_sizes[] = { 0, 3, 100, 4097, 32769, 65535 };
	struct hvl_layout_dev_cfg d;
	char err[256] = "";
	size_t i;

	for (i = 0; i < sizeof(bad_sizes) / sizeof(bad_sizes[0]); i++) {
		d = mkdev(3, "c", 2, 64, 0);
		d.queue_size[1] = bad_sizes[i];
		err[0] = '\0';
		CHECK(hvl_layout_compute(&L, 0, 0, &d, 1, err, sizeof(err)) == -EINVAL);
		CHECK(strstr(err, "queue 1") != NULL);
	}
	d = mkdev(3, "c", 1, 32768, 0); /* largest legal size */
	CHECK(hvl_layout_compute(&L, 0, 0, &d, 1, err, sizeof(err)) == 0);
	d = mkdev(3, "c", 0, 64, 0);
	CHECK(hvl_layout_compute(&L, 0, 0, &d, 1, err, sizeof(err)) == -EINVAL);
	d = mkdev(3, "c", HVL_MAX_QUEUES + 1u, 64, 0);
	CHECK(hvl_layout_compute(&L, 0, 0, &d, 1, err, sizeof(err)) == -EINVAL);
	d = mkdev(0, "c", 1, 64, 0);
	CHECK(hvl_layout_compute(&L, 0, 0, &d, 1, err, sizeof(err)) == -EINVAL);
	d = mkdev(3, "c", 1, 64, 0);
	memset(d.name, 'x', sizeof(d.name)); /* not NUL-terminated */
	CHECK(hvl_layout_compute(&L, 0, 0, &d, 1, err, sizeof(err)) == -EINVAL);
	d = mkdev(3, "c", 1, 64, 0);
	CHECK(hvl_layout_compute(&L, 0, 0x70000800, &d, 1, err, sizeof(err)) == -EINVAL);
	CHECK(hvl_layout_compute(&L, 1000000, 0, &d, 1, err, sizeof(err)) == -EINVAL);
	CHECK(hvl_layout_compute(NULL, 0, 0, &d, 1, err, sizeof(err)) == -EINVAL);
	CHECK(hvl_layout_compute(&L, 0, 0, NULL, 1, err, sizeof(err)) == -EINVAL);
	/* A NULL error buffer is allowed. */
	CHECK(hvl_layout_compute(&L, 0, 0, &d, 0, NULL, 0) == 0);
}

static void test_overflow(void)
{
	struct hvl_layout_dev_cfg d[2];
	char err[256] = "";

	d[0] = mkdev(2, "blk0", 1, 64, UINT64_MAX);           /* round-up overflows */
	CHECK(hvl_layout_compute(&L, 0, 0, d, 1, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "blk0") != NULL);
	d[0] = mkdev(2, "blk0", 1, 64, UINT64_MAX - 4095u);    /* aligned, sum overflows */
	CHECK(hvl_layout_compute(&L, 0, 0, d, 1, err, sizeof(err)) == -EINVAL);
	d[0] = mkdev(2, "blk0", 1, 64, (uint64_t)1 << 63);
	d[1] = mkdev(2, "blk1", 1, 64, (uint64_t)1 << 63);     /* the second one wraps */
	CHECK(hvl_layout_compute(&L, 0, 0, d, 2, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "blk1") != NULL);
	/* Fits in 64 bits, but not in the given region. */
	CHECK(hvl_layout_compute(&L, (uint64_t)1 << 40, 0, d, 1, err, sizeof(err)) == -ENOSPC);

	/* remote_base + region_size must stay below 2^64. */
	d[0] = mkdev(3, "c", 1, 64, 4096);
	CHECK(hvl_layout_compute(&L, 0, UINT64_MAX - 4095u, d, 1, err, sizeof(err)) == -EINVAL);
	CHECK(hvl_layout_compute(&L, (uint64_t)1 << 32, UINT64_MAX - ((uint64_t)1 << 31) + 1u, d, 1,
				 err, sizeof(err)) == -EINVAL);
	CHECK(hvl_layout_compute(&L, (uint64_t)1 << 32, UINT64_MAX - ((uint64_t)1 << 33) + 1u, d, 1,
				 err, sizeof(err)) == 0);
	CHECK(hvl_layout_compute(&L, UINT64_MAX - 4095u, 0, d, 1, err, sizeof(err)) == 0);
	CHECK(hvl_layout_compute(&L, UINT64_MAX - 4095u, 4096, d, 1, err, sizeof(err)) == -EINVAL);
}

/* Capture a stream's output in memory. */
static char *capture(int emit, const struct hvl_layout *l, int *rc)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		return NULL;
	*rc = 0;
	if (emit)
		*rc = hvl_layout_emit_header(f, "rt-0", l);
	else
		hvl_layout_print(f, "rt-0", l);
	fclose(f);
	return buf;
}

static void test_output(void)
{
	struct hvl_layout_dev_cfg d[2];
	char err[256] = "", want[128];
	char *out;
	int rc;

	d[0] = mkdev(3, "console0", 2, 64, 8192);
	d[1] = mkdev(4, "my.rng", 1, 16, 4096);
	CHECK(hvl_layout_compute(&L, 0, 0x70000000, d, 2, err, sizeof(err)) == 0);

	out = capture(0, &L, &rc);
	CHECK(out != NULL);
	if (out != NULL) {
		CHECK(strstr(out, "region rt-0") != NULL);
		CHECK(strstr(out, "remote base 0x70000000") != NULL);
		CHECK(strstr(out, "console0: type console, virtio id 3") != NULL);
		CHECK(strstr(out, "bus 0x70001000") != NULL);           /* device page 0 */
		snprintf(want, sizeof(want), "desc 0x%" PRIx64, 0x70000000 + L.dev[1].queue[0].desc);
		CHECK(strstr(out, want) != NULL);
		free(out);
	}

	out = capture(1, &L, &rc);
	CHECK(out != NULL);
	CHECK(rc == 0);
	if (out != NULL) {
		CHECK(strncmp(out, "/* SPDX-License-Identifier: BSD-3-Clause */\n", 44) == 0);
		CHECK(strstr(out, "#ifndef HVL_RT_0_LAYOUT_H") != NULL);
		CHECK(strstr(out, "#define HVL_RT_0_REMOTE_BASE 0x70000000ULL") != NULL);
		CHECK(strstr(out, "#define HVL_RT_0_CONSOLE0_REGS 0x70001000ULL") != NULL);
		CHECK(strstr(out, "#define HVL_RT_0_MY_RNG_REGS 0x70002000ULL") != NULL);
		CHECK(strstr(out, "#define HVL_RT_0_CONSOLE0_DEVICE_ID 0x3ULL") != NULL);
		snprintf(want, sizeof(want), "#define HVL_RT_0_MY_RNG_Q0_USED 0x%" PRIx64 "ULL",
			 0x70000000 + L.dev[1].queue[0].used);
		CHECK(strstr(out, want) != NULL);
		snprintf(want, sizeof(want), "#define HVL_RT_0_SIZE 0x%" PRIx64 "ULL", L.region_size);
		CHECK(strstr(out, want) != NULL);
		free(out);
	}

	/* Two names that spell the same macro are refused. */
	d[1] = mkdev(4, "Console0", 1, 16, 4096);
	CHECK(hvl_layout_compute(&L, 0, 0, d, 2, err, sizeof(err)) == 0);
	out = capture(1, &L, &rc);
	CHECK(rc == -EINVAL);
	free(out);
}

int main(void)
{
	test_basic();
	test_max();
	test_enospc();
	test_invalid();
	test_overflow();
	test_output();
	if (failures != 0) {
		fprintf(stderr, "test_layout: %d failure(s)\n", failures);
		return 1;
	}
	printf("test_layout: ok\n");
	return 0;
}

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Register protocol tests: both sides in one process, over two mappings of
 * one memory file at different addresses (so only bus addresses cross).
 * The driver's doorbell runs the device side synchronously, which makes
 * every transaction deterministic without threads.
 *
 * Covers: the ordinary virtio-MMIO init sequence through selectors, static
 * start with a single transaction, refused features, reset back to the
 * initial header, and register-level violations (NEEDS_RESET on one device
 * while the other keeps serving).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "hvl/layout.h"
#include "hvl/pmm/dev.h"
#include "hvl/pmm/publish.h"
#include "hvl/remote.h"

static int passed, failed;

#define CHECK(c) do { if (c) passed++; else { failed++; \
	fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #c); } } while (0)
#define CHECK_EQ(a, b) do { unsigned long long a_ = (a), b_ = (b); if (a_ == b_) passed++; \
	else { failed++; fprintf(stderr, "%s:%d: %s == %s: 0x%llx != 0x%llx\n", __FILE__, \
	__LINE__, #a, #b, a_, b_); } } while (0)

#define NDEV 2
#define BUS_BASE 0x70000000ull
#define TEST_FEATURES ((1ull << 0) | (1ull << 35) | HVL_F_EVENT_IDX | HVL_F_INDIRECT_DESC)

struct world {
	struct hvl_layout l;
	uint8_t *pmm_mem, *rem_mem;
	struct hvl_dev dev[NDEV];
	struct hvl_remote r;
	unsigned irqs;          /* device -> driver rings */
	unsigned echoed[NDEV];
};

static struct world W;

/* Echo device: copy each chain's readable bytes into its writable part. */
static void echo_queue(struct hvl_dev *d, unsigned q)
{
	struct hvl_iov iov[8];
	struct hvl_chain c;
	int r;

	c.iov = iov;
	c.cap = 8;
	while ((r = hvl_dev_pop(d, q, &c)) == 1) {
		uint32_t n = c.out_len < c.in_len ? c.out_len : c.in_len;

		if (c.n_out >= 1 && c.n_in >= 1)
			memcpy(iov[c.n_out].base, iov[0].base, n < iov[0].len ? n : iov[0].len);
		hvl_vq_dev_push(&d->q[q].vq, c.head, n);
		W.echoed[d - W.dev]++;
	}
	hvl_dev_vq_interrupt(d, q);
}

static const struct hvl_dev_ops echo_ops = { NULL, NULL, echo_queue, NULL, NULL };

static void dev_ring(void *ctx) { (void)ctx; W.irqs++; }
static int dev_wait(void *ctx, uint32_t t) { (void)ctx; (void)t; return -ETIMEDOUT; }
static const struct hvl_notify_ops dev_nops = { dev_ring, dev_wait, NULL };

/* The driver's doorbell: serve the device side right away. */
static void drv_ring(void *ctx)
{
	unsigned i;

	(void)ctx;
	for (i = 0; i < NDEV; i++)
		(void)hvl_dev_service(&W.dev[i], 0);
}
static int drv_wait(void *ctx, uint32_t t) { (void)ctx; (void)t; return 0; }
static const struct hvl_notify_ops drv_nops = { drv_ring, drv_wait, NULL };

static uint64_t now_ms(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}
static const struct hvl_os_ops os = { now_ms, NULL };

static void setup(void)
{
	struct hvl_layout_dev_cfg dc[NDEV];
	struct hvl_region_info info = { "test", 0, HVL_DOORBELL_POLL, 100, 1 };
	struct hvl_remote_cfg rc;
	char err[200];
	FILE *f;
	int fd, i;

	memset(&W, 0, sizeof(W));
	memset(dc, 0, sizeof(dc));
	for (i = 0; i < NDEV; i++) {
		dc[i].device_id = 0x40u + (uint32_t)i;
		snprintf(dc[i].name, sizeof(dc[i].name), "echo%d", i);
		dc[i].num_queues = 2;
		dc[i].queue_size[0] = 128;
		dc[i].queue_size[1] = 16;
		dc[i].data_size = 64 * 1024;
	}
	if (hvl_layout_compute(&W.l, 0, BUS_BASE, dc, NDEV, err, sizeof(err)) != 0) {
		fprintf(stderr, "layout: %s\n", err);
		exit(1);
	}
	f = tmpfile();
	fd = fileno(f);
	if (ftruncate(fd, (off_t)W.l.region_size) != 0)
		exit(1);
	W.pmm_mem = mmap(NULL, W.l.region_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	W.rem_mem = mmap(NULL, W.l.region_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (W.pmm_mem == MAP_FAILED || W.rem_mem == MAP_FAILED || W.pmm_mem == W.rem_mem)
		exit(1);

	CHECK_EQ(hvl_region_prepare(W.pmm_mem, &W.l, &info), 0);
	for (i = 0; i < NDEV; i++) {
		struct hvl_dev_static st;
		struct hvl_window win;
		struct hvl_notifier n = { &dev_nops, NULL };
		static const uint8_t cfg[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

		hvl_dev_static_from_layout(&st, &win, W.pmm_mem, &W.l, (unsigned)i);
		st.features = TEST_FEATURES;
		st.config = cfg;
		st.config_size = sizeof(cfg);
		CHECK_EQ(hvl_dev_init(&W.dev[i], W.pmm_mem + W.l.dev[i].regs_offset, &win, &st,
				      &echo_ops, NULL, n, NULL), 0);
	}
	hvl_region_set_ready(W.pmm_mem);

	memset(&rc, 0, sizeof(rc));
	rc.os = &os;
	rc.notify.ops = &drv_nops;
	rc.bus_base = BUS_BASE;
	CHECK_EQ(hvl_remote_attach(&W.r, W.rem_mem, W.l.region_size, &rc, 1000), 0);
}

/* Post one request on @vq and check the echo. */
static void echo_once(struct hvl_vdev *v, unsigned q, struct hvl_vq_drv *vq, uint8_t *buf,
		      uint64_t bus, uint8_t tag)
{
	struct hvl_sg sg[2] = { { bus, 32 }, { bus + 64, 32 } };
	uint32_t len = 0;
	void *cookie;

	memset(buf, tag, 32);
	memset(buf + 64, 0, 32);
	CHECK_EQ(hvl_vq_drv_add(vq, sg, 1, 1, buf), 0);
	hvl_vdev_kick(v, q, vq);
	cookie = hvl_vq_drv_get_used(vq, &len);
	CHECK(cookie == buf);
	CHECK_EQ(len, 32);
	CHECK_EQ(buf[64 + 31], tag);
}

static void snapshot(const struct hvl_vdev *v, uint8_t *out)
{
	memcpy(out, v->page, HVL_MMIO_CONFIG + 16);
	/* ConfigGeneration is a counter, not state: blank it. */
	memset(out + HVL_MMIO_CONFIG_GENERATION, 0, 4);
}

static void test_mmio_sequence(void)
{
	struct hvl_vdev v;
	struct hvl_vq_drv vq;
	static uint8_t storage[HVL_VQ_DRV_STORAGE(64)];
	uint8_t before[HVL_MMIO_CONFIG + 16], after[HVL_MMIO_CONFIG + 16];
	uint64_t qdesc, qdrv, qdev, drv_f;
	void *data;
	uint64_t dbus, dsize;
	uint32_t st;

	CHECK_EQ(hvl_remote_find(&W.r, 0x40, 0, &v), 0);
	CHECK_EQ(v.num_queues, 2);
	snapshot(&v, before);
	CHECK_EQ(hvl_vdev_read(&v, HVL_MMIO_MAGIC_VALUE), HVL_MMIO_MAGIC);
	CHECK_EQ(hvl_vdev_read(&v, HVL_MMIO_VERSION), 2);
	CHECK_EQ(hvl_vdev_read(&v, HVL_MMIO_DEVICE_ID), 0x40);
	CHECK_EQ(hvl_vdev_read(&v, HVL_MMIO_VENDOR_ID), HVL_VENDOR_ID);

	/* §3.1.1 step by step, each write a transaction. */
	CHECK_EQ(hvl_vdev_write(&v, HVL_MMIO_STATUS, 0, 4), 0);
	CHECK_EQ(hvl_vdev_read(&v, HVL_MMIO_STATUS), 0);
	CHECK_EQ(hvl_vdev_write(&v, HVL_MMIO_STATUS, HVL_STATUS_ACKNOWLEDGE, 4), 0);
	CHECK_EQ(hvl_vdev_write(&v, HVL_MMIO_STATUS, HVL_STATUS_ACKNOWLEDGE | HVL_STATUS_DRIVER, 4), 0);
	CHECK_EQ(hvl_vdev_write(&v, HVL_MMIO_DEVICE_FEATURES_SEL, 0, 4), 0);
	CHECK_EQ(hvl_vdev_read(&v, HVL_MMIO_DEVICE_FEATURES), (uint32_t)(TEST_FEATURES | HVL_F_VERSION_1));
	CHECK_EQ(hvl_vdev_write(&v, HVL_MMIO_DEVICE_FEATURES_SEL, 1, 4), 0);
	CHECK_EQ(hvl_vdev_read(&v, HVL_MMIO_DEVICE_FEATURES),
		 (uint32_t)((TEST_FEATURES | HVL_F_VERSION_1) >> 32));
	CHECK_EQ(hvl_vdev_write(&v, HVL_MMIO_DEVICE_FEATURES_SEL, 2, 4), 0);
	CHECK_EQ(hvl_vdev_read(&v, HVL_MMIO_DEVICE_FEATURES), 0);
	drv_f = HVL_F_VERSION_1 | HVL_F_EVENT_IDX | 1u;
	CHECK_EQ(hvl_vdev_write(&v, HVL_MMIO_DRIVER_FEATURES_SEL, 0, 4), 0);
	CHECK_EQ(hvl_vdev_write(&v, HVL_MMIO_DRIVER_FEATURES, (uint32_t)drv_f, 4), 0);
	CHECK_EQ(hvl_vdev_write(&v, HVL_MMIO_DRIVER_FEATURES_SEL, 1, 4), 0);
	CHECK_EQ(hvl_vdev_write(&v, HVL_MMIO_DRIVER_FEATURES, (uint32_t)(drv_f >> 32), 4), 0);
	CHECK_EQ(hvl_vdev_write(&v, HVL_MMIO_STATUS, HVL_STATUS_ACKNOWLEDGE | HVL_STATUS_DRIVER |
				HVL_STATUS_FEATURES_OK, 4), 0);
	CHECK(hvl_vdev_read(&v, HVL_MMIO_STATUS) & HVL_STATUS_FEATURES_OK);

	/* Queue 1: selector reads give the static location first. */
	CHECK_EQ(hvl_vdev_write(&v, HVL_MMIO_QUEUE_SEL, 1, 4), 0);
	CHECK_EQ(hvl_vdev_read(&v, HVL_MMIO_QUEUE_NUM_MAX), 16);
	CHECK_EQ(hvl_vdev_read(&v, HVL_MMIO_QUEUE_READY), 0);
	qdesc = hvl_vdev_read(&v, HVL_MMIO_QUEUE_DESC_LOW) |
		((uint64_t)hvl_vdev_read(&v, HVL_MMIO_QUEUE_DESC_HIGH) << 32);
	CHECK_EQ(qdesc, BUS_BASE + W.l.dev[0].queue[1].desc);
	/* Queue 0 reads its own values; a missing queue reads QueueNumMax 0. */
	CHECK_EQ(hvl_vdev_write(&v, HVL_MMIO_QUEUE_SEL, 0, 4), 0);
	CHECK_EQ(hvl_vdev_read(&v, HVL_MMIO_QUEUE_NUM_MAX), 128);
	CHECK_EQ(hvl_vdev_read(&v, HVL_MMIO_QUEUE_NUM), 128);
	CHECK_EQ(hvl_vdev_write(&v, HVL_MMIO_QUEUE_SEL, 7, 4), 0);
	CHECK_EQ(hvl_vdev_read(&v, HVL_MMIO_QUEUE_NUM_MAX), 0);

	/* Put queue 0 somewhere else: inside the data area, size 64. */
	hvl_vdev_data_area(&v, &data, &dbus, &dsize);
	qdesc = dbus + 8192;
	qdrv = qdesc + hvl_vring_desc_size(64);
	qdev = (qdrv + hvl_vring_avail_size(64) + 63u) & ~63ull;
	CHECK_EQ(hvl_vdev_write(&v, HVL_MMIO_QUEUE_SEL, 0, 4), 0);
	CHECK_EQ(hvl_vdev_write(&v, HVL_MMIO_QUEUE_NUM, 64, 4), 0);
	CHECK_EQ(hvl_vdev_write(&v, HVL_MMIO_QUEUE_DESC_LOW, (uint32_t)qdesc, 4), 0);
	CHECK_EQ(hvl_vdev_write(&v, HVL_MMIO_QUEUE_DESC_HIGH, (uint32_t)(qdesc >> 32), 4), 0);
	CHECK_EQ(hvl_vdev_write(&v, HVL_MMIO_QUEUE_DRIVER_LOW, (uint32_t)qdrv, 4), 0);
	CHECK_EQ(hvl_vdev_write(&v, HVL_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(qdrv >> 32), 4), 0);
	CHECK_EQ(hvl_vdev_write(&v, HVL_MMIO_QUEUE_DEVICE_LOW, (uint32_t)qdev, 4), 0);
	CHECK_EQ(hvl_vdev_write(&v, HVL_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(qdev >> 32), 4), 0);
	CHECK_EQ(hvl_vdev_read(&v, HVL_MMIO_QUEUE_NUM), 64);
	CHECK_EQ(hvl_vdev_read(&v, HVL_MMIO_QUEUE_DRIVER_LOW), (uint32_t)qdrv);
	v.features = drv_f;
	CHECK_EQ(hvl_vq_drv_init(&vq, hvl_vdev_local(&v, qdesc, 1), hvl_vdev_local(&v, qdrv, 1),
				 hvl_vdev_local(&v, qdev, 1), 64, drv_f, storage, sizeof(storage),
				 NULL, NULL), 0);
	CHECK_EQ(hvl_vdev_write(&v, HVL_MMIO_QUEUE_READY, 1, 4), 0);
	CHECK_EQ(hvl_vdev_read(&v, HVL_MMIO_QUEUE_READY), 1);

	/* Shared memory region 0 is the window; others do not exist. */
	CHECK_EQ(hvl_vdev_write(&v, HVL_MMIO_SHM_SEL, 0, 4), 0);
	CHECK_EQ(hvl_vdev_read(&v, HVL_MMIO_SHM_LEN_LOW), (uint32_t)W.l.dev[0].window_size);
	CHECK_EQ(hvl_vdev_read(&v, HVL_MMIO_SHM_BASE_LOW), (uint32_t)(BUS_BASE + W.l.dev[0].window_offset));
	CHECK_EQ(hvl_vdev_write(&v, HVL_MMIO_SHM_SEL, 1, 4), 0);
	CHECK_EQ(hvl_vdev_read(&v, HVL_MMIO_SHM_LEN_LOW), 0xffffffffu);
	CHECK_EQ(hvl_vdev_read(&v, HVL_MMIO_SHM_LEN_HIGH), 0xffffffffu);

	CHECK_EQ(hvl_vdev_write(&v, HVL_MMIO_STATUS, HVL_STATUS_ACKNOWLEDGE | HVL_STATUS_DRIVER |
				HVL_STATUS_FEATURES_OK | HVL_STATUS_DRIVER_OK, 4), 0);
	st = hvl_vdev_status(&v);
	CHECK_EQ(st, HVL_STATUS_ACKNOWLEDGE | HVL_STATUS_DRIVER | HVL_STATUS_FEATURES_OK |
		 HVL_STATUS_DRIVER_OK);
	CHECK_EQ(W.dev[0].features, drv_f);
	/* Queue 1 was not set up: static start brought it up at its static place. */
	CHECK(W.dev[0].q[1].ready);
	CHECK_EQ(W.dev[0].q[0].desc, qdesc);

	echo_once(&v, 0, &vq, data, dbus, 0x5a);
	/* A plain MMIO driver: InterruptStatus, then InterruptACK clears it. */
	CHECK_EQ(hvl_vdev_read(&v, HVL_MMIO_INTERRUPT_STATUS), HVL_INT_VRING);
	CHECK_EQ(hvl_vdev_write(&v, HVL_MMIO_INTERRUPT_ACK, HVL_INT_VRING, 4), 0);
	CHECK_EQ(hvl_vdev_read(&v, HVL_MMIO_INTERRUPT_STATUS), 0);
	(void)hvl_vq_drv_enable_cb(&vq); /* EVENT_IDX: ask for the next one */
	echo_once(&v, 0, &vq, data, dbus, 0xa5);
	CHECK_EQ(hvl_vdev_read(&v, HVL_MMIO_INTERRUPT_STATUS), HVL_INT_VRING);
	/* The library's way: counters acked in the driver area. */
	CHECK(hvl_vdev_interrupts(&v) & HVL_INT_VRING);
	(void)hvl_dev_service(&W.dev[0], 0);
	CHECK_EQ(hvl_vdev_read(&v, HVL_MMIO_INTERRUPT_STATUS), 0);

	/* Config space: readable, consistent, read-only. */
	{
		uint8_t cfg[8];

		CHECK_EQ(hvl_vdev_config_read(&v, 0, cfg, 8), 0);
		CHECK_EQ(cfg[0], 1);
		CHECK_EQ(cfg[7], 8);
		CHECK_EQ(hvl_vdev_write(&v, HVL_MMIO_CONFIG + 0, 9, 1), -EPERM);
		CHECK_EQ(hvl_vdev_write(&v, HVL_MMIO_CONFIG + 8, 9, 1), -EINVAL); /* past the end */
	}

	/* Reset: the whole register block and config back to the initial state. */
	CHECK_EQ(hvl_vdev_reset(&v), 0);
	snapshot(&v, after);
	CHECK(memcmp(before, after, sizeof(before)) == 0);
	CHECK(!W.dev[0].q[0].ready);
	CHECK_EQ(W.dev[0].q[0].desc, BUS_BASE + W.l.dev[0].queue[0].desc);
}

static void test_static_start(void)
{
	struct hvl_vdev v;
	struct hvl_vq_drv vq0;
	static uint8_t st0[HVL_VQ_DRV_STORAGE(128)];
	uint64_t txn0, dbus, dsize;
	void *data;
	int i;

	CHECK_EQ(hvl_remote_find(&W.r, 0x41, 0, &v), 0);
	txn0 = W.dev[1].stat_txn;
	CHECK_EQ(hvl_vdev_begin(&v, HVL_F_EVENT_IDX | HVL_F_INDIRECT_DESC | (1ull << 60)), 0);
	CHECK_EQ(v.features, HVL_F_VERSION_1 | HVL_F_EVENT_IDX | HVL_F_INDIRECT_DESC);
	CHECK_EQ(hvl_vdev_queue_static(&v, 0, &vq0, st0, sizeof(st0)), 0);
	CHECK_EQ(W.dev[1].stat_txn, txn0); /* nothing crossed yet */
	CHECK_EQ(hvl_vdev_driver_ok(&v), 0);
	CHECK_EQ(W.dev[1].stat_txn, txn0 + 1); /* exactly one round trip */
	CHECK_EQ(W.dev[1].features, v.features);
	hvl_vdev_data_area(&v, &data, &dbus, &dsize);
	for (i = 0; i < 300; i++) /* > 2x the ring: index wrap of the shadow copies */
		echo_once(&v, 0, &vq0, data, dbus, (uint8_t)i);
	CHECK_EQ(W.echoed[1], 300);
}

static void test_refused_features(void)
{
	struct hvl_vdev v;

	CHECK_EQ(hvl_remote_find(&W.r, 0x41, 0, &v), 0);
	CHECK_EQ(hvl_vdev_reset(&v), 0);
	CHECK_EQ(hvl_vdev_begin(&v, 0), 0);
	/* A feature the device never offered: FEATURES_OK must not stick. */
	hvl_le64_set(&v.drv->driver_features, HVL_F_VERSION_1 | (1ull << 50));
	CHECK_EQ(hvl_vdev_driver_ok(&v), -ENOTSUP);
	CHECK(!(hvl_vdev_status(&v) & HVL_STATUS_FEATURES_OK));
	CHECK(!hvl_vdev_needs_reset(&v));
}

static void test_violations(void)
{
	struct hvl_vdev a, b;
	struct hvl_vq_drv vq;
	static uint8_t st[HVL_VQ_DRV_STORAGE(128)];
	uint64_t dbus, dsize;
	void *data;

	CHECK_EQ(hvl_remote_find(&W.r, 0x40, 0, &a), 0);
	CHECK_EQ(hvl_remote_find(&W.r, 0x41, 0, &b), 0);
	/* b runs a live queue throughout. */
	CHECK_EQ(hvl_vdev_reset(&b), 0);
	CHECK_EQ(hvl_vdev_begin(&b, HVL_F_EVENT_IDX), 0);
	CHECK_EQ(hvl_vdev_queue_static(&b, 0, &vq, st, sizeof(st)), 0);
	CHECK_EQ(hvl_vdev_driver_ok(&b), 0);
	hvl_vdev_data_area(&b, &data, &dbus, &dsize);

	/* Status bits cleared without a reset. */
	CHECK_EQ(hvl_vdev_reset(&a), 0);
	(void)hvl_vdev_interrupts(&a);
	CHECK_EQ(hvl_vdev_write(&a, HVL_MMIO_STATUS, HVL_STATUS_ACKNOWLEDGE | HVL_STATUS_DRIVER, 4), 0);
	CHECK(hvl_vdev_write(&a, HVL_MMIO_STATUS, HVL_STATUS_ACKNOWLEDGE, 4) != 0);
	CHECK(hvl_vdev_needs_reset(&a));
	CHECK(hvl_vdev_interrupts(&a) & HVL_INT_CONFIG);
	CHECK_EQ(hvl_le32_get(&a.ext->broken_reason), HVL_BROKEN_REGISTER);
	echo_once(&b, 0, &vq, data, dbus, 1);

	/* Queue size that is not a power of two. */
	CHECK_EQ(hvl_vdev_reset(&a), 0);
	CHECK(!hvl_vdev_needs_reset(&a));
	CHECK_EQ(hvl_vdev_begin(&a, 0), 0);
	CHECK_EQ(hvl_vdev_write(&a, HVL_MMIO_STATUS, HVL_STATUS_ACKNOWLEDGE | HVL_STATUS_DRIVER |
				HVL_STATUS_FEATURES_OK, 4), 0);
	CHECK_EQ(hvl_vdev_write(&a, HVL_MMIO_QUEUE_SEL, 0, 4), 0);
	CHECK_EQ(hvl_vdev_write(&a, HVL_MMIO_QUEUE_NUM, 100, 4), 0);
	CHECK(hvl_vdev_write(&a, HVL_MMIO_QUEUE_READY, 1, 4) != 0);
	CHECK_EQ(hvl_vdev_read(&a, HVL_MMIO_QUEUE_READY), 0);
	CHECK(hvl_vdev_needs_reset(&a));
	CHECK_EQ(hvl_le32_get(&a.ext->broken_reason), HVL_BROKEN_QUEUE_SETUP);
	echo_once(&b, 0, &vq, data, dbus, 2);

	/* Queue size above the maximum, ring outside the window, missing queue. */
	{
		static const struct { uint32_t off, val; } bad[] = {
			{ HVL_MMIO_QUEUE_NUM, 256 },
			{ HVL_MMIO_QUEUE_DESC_HIGH, 0x1 },
			{ HVL_MMIO_QUEUE_DESC_LOW, 0x3 },
		};
		unsigned k;

		for (k = 0; k < 3; k++) {
			CHECK_EQ(hvl_vdev_reset(&a), 0);
			CHECK_EQ(hvl_vdev_begin(&a, 0), 0);
			CHECK_EQ(hvl_vdev_write(&a, HVL_MMIO_STATUS, HVL_STATUS_ACKNOWLEDGE |
						HVL_STATUS_DRIVER | HVL_STATUS_FEATURES_OK, 4), 0);
			CHECK_EQ(hvl_vdev_write(&a, HVL_MMIO_QUEUE_SEL, 0, 4), 0);
			CHECK_EQ(hvl_vdev_write(&a, bad[k].off, bad[k].val, 4), 0);
			CHECK(hvl_vdev_write(&a, HVL_MMIO_QUEUE_READY, 1, 4) != 0);
			CHECK(hvl_vdev_needs_reset(&a));
			echo_once(&b, 0, &vq, data, dbus, (uint8_t)(3 + k));
		}
		CHECK_EQ(hvl_vdev_reset(&a), 0);
		CHECK_EQ(hvl_vdev_begin(&a, 0), 0);
		CHECK_EQ(hvl_vdev_write(&a, HVL_MMIO_STATUS, HVL_STATUS_ACKNOWLEDGE |
					HVL_STATUS_DRIVER | HVL_STATUS_FEATURES_OK, 4), 0);
		CHECK_EQ(hvl_vdev_write(&a, HVL_MMIO_QUEUE_SEL, 9, 4), 0);
		CHECK(hvl_vdev_write(&a, HVL_MMIO_QUEUE_READY, 1, 4) != 0);
		CHECK(hvl_vdev_needs_reset(&a));
	}
	/* Status bits virtio does not define. */
	CHECK_EQ(hvl_vdev_reset(&a), 0);
	CHECK(hvl_vdev_write(&a, HVL_MMIO_STATUS, HVL_STATUS_ACKNOWLEDGE | 0x100u, 4) != 0);
	CHECK(hvl_vdev_needs_reset(&a));
	CHECK(!(hvl_vdev_status(&a) & 0x100u));
	/* Taking a live queue away without RING_RESET. */
	CHECK_EQ(hvl_vdev_reset(&a), 0);
	{
		struct hvl_vq_drv q0;
		static uint8_t s0[HVL_VQ_DRV_STORAGE(128)];

		CHECK_EQ(hvl_vdev_begin(&a, 0), 0);
		CHECK_EQ(hvl_vdev_queue_static(&a, 0, &q0, s0, sizeof(s0)), 0);
		CHECK_EQ(hvl_vdev_driver_ok(&a), 0);
		CHECK_EQ(hvl_vdev_write(&a, HVL_MMIO_QUEUE_SEL, 0, 4), 0);
		CHECK(hvl_vdev_write(&a, HVL_MMIO_QUEUE_READY, 0, 4) != 0);
		CHECK(hvl_vdev_needs_reset(&a));
	}
	/* DRIVER_OK without FEATURES_OK; unknown register; notify on a missing queue. */
	CHECK_EQ(hvl_vdev_reset(&a), 0);
	CHECK(hvl_vdev_write(&a, HVL_MMIO_STATUS, HVL_STATUS_ACKNOWLEDGE | HVL_STATUS_DRIVER |
			     HVL_STATUS_DRIVER_OK, 4) != 0);
	CHECK(hvl_vdev_needs_reset(&a));
	CHECK_EQ(hvl_vdev_reset(&a), 0);
	CHECK_EQ(hvl_vdev_write(&a, 0x0e8, 1, 4), -EINVAL);
	CHECK_EQ(hvl_vdev_write(&a, HVL_MMIO_MAGIC_VALUE, 1, 4), -EINVAL);
	CHECK_EQ(hvl_vdev_write(&a, HVL_MMIO_QUEUE_NOTIFY, 12, 4), -EINVAL);
	CHECK(!hvl_vdev_needs_reset(&a));
	hvl_vdev_notify(&a, 15); /* counter of a queue that does not exist: ignored */
	CHECK(!hvl_vdev_needs_reset(&a));
	echo_once(&b, 0, &vq, data, dbus, 9);
	CHECK(!hvl_vdev_needs_reset(&b));
}

static void test_restart_keeps_remote_words(void)
{
	struct hvl_region_info info = { "test", 0, HVL_DOORBELL_POLL, 100, 2 };
	uint32_t epoch = hvl_le32_get(&W.r.hdr->epoch);
	struct hvl_vdev v;

	CHECK(hvl_remote_pmm_alive(&W.r, 1000));
	/* A PMM restart with the same layout keeps the remote's words. */
	CHECK_EQ(hvl_region_prepare(W.pmm_mem, &W.l, &info), 1);
	CHECK(!hvl_remote_pmm_alive(&W.r, 1000));
	hvl_region_set_ready(W.pmm_mem);
	CHECK_EQ(hvl_le32_get(&W.r.hdr->epoch), epoch + 1);
	CHECK(!hvl_remote_pmm_alive(&W.r, 1000)); /* new epoch: re-attach needed */
	CHECK_EQ(hvl_le32_get(&W.r.hdr->remote_state), 1);
	CHECK_EQ(hvl_remote_find(&W.r, 0x40, 0, &v), 0);
}

int main(void)
{
	setup();
	test_mmio_sequence();
	test_static_start();
	test_refused_features();
	test_violations();
	test_restart_keeps_remote_words();
	printf("test_transport: %d passed, %d failed\n", passed, failed);
	return failed == 0 ? 0 : 1;
}

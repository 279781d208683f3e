/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A hostile remote against the real hvl-pmm process.
 *
 * The region has two consoles.  This test is the remote: it corrupts the
 * rings and registers of console0 in one way per case, and after each case
 * checks that the PMM set DEVICE_NEEDS_RESET on console0 (with the right
 * broken_reason), that console1 still carries data end to end, that the PMM
 * is alive, and that a canary in another device's window is untouched.
 * Finally the PMM must still shut down cleanly on SIGTERM.
 *
 * Usage: test_hostile PATH_TO_HVL_PMM
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "hvl/console.h"
#include "hvl/posix.h"

#define BUS_BASE 0x70000000ull
#define CANARY_OFF (60u * 1024u) /* inside console1's 64 KiB data area, unused */
#define CANARY_LEN 256u

struct t {
	char dir[PATH_MAX], cfg[PATH_MAX + 16], region[PATH_MAX + 16], log[PATH_MAX + 16];
	char vsock[PATH_MAX + 16], gsock[PATH_MAX + 16];
	pid_t pmm;
	struct hvl_posix_remote pr;
	struct hvl_console good;
	int good_fd, victim_fd;
	struct hvl_vdev v;                   /* console0, the victim */
	struct hvl_vq_drv rxq, txq;
	uint8_t *canary;
	unsigned ping;
};

static struct t T;
static _Alignas(8) uint8_t good_storage[HVL_CONSOLE_STORAGE(256)];
static _Alignas(8) uint8_t rx_st[HVL_VQ_DRV_STORAGE(256)], tx_st[HVL_VQ_DRV_STORAGE(256)];

static void setup(char *pmm_bin)
{
	char text[3 * PATH_MAX + 512];
	char *argv[] = { pmm_bin, "-c", T.cfg, "-v", NULL };
	struct hvl_vdev g;
	void *data;
	uint64_t bus, size;

	if (h_tmpdir("hvl-hostile", T.dir) != 0)
		exit(1);
	snprintf(T.cfg, sizeof(T.cfg), "%s/pmm.ini", T.dir);
	snprintf(T.region, sizeof(T.region), "%s/region", T.dir);
	snprintf(T.log, sizeof(T.log), "%s/pmm.log", T.dir);
	snprintf(T.vsock, sizeof(T.vsock), "%s/victim.sock", T.dir);
	snprintf(T.gsock, sizeof(T.gsock), "%s/good.sock", T.dir);
	snprintf(text, sizeof(text),
		 "[region rt0]\nfile = %s\nremote_base = 0x%llx\ndoorbell = futex\n"
		 "[device rt0.console0]\ntype = console\nbackend = socket\npath = %s\ndata_size = 64K\n"
		 "[device rt0.console1]\ntype = console\nbackend = socket\npath = %s\ndata_size = 64K\n",
		 T.region, (unsigned long long)BUS_BASE, T.vsock, T.gsock);
	if (h_write_file(T.cfg, text) != 0)
		exit(1);
	T.pmm = h_spawn(argv, T.log);
	CHECK_EQ(hvl_posix_remote_open(&T.pr, T.region, NULL, BUS_BASE, 10000), 0);
	T.good_fd = h_connect_unix(T.gsock, 5000);
	T.victim_fd = h_connect_unix(T.vsock, 5000);
	CHECK(T.good_fd >= 0 && T.victim_fd >= 0);
	CHECK_EQ(hvl_console_open(&T.good, &T.pr.r, 1, good_storage, sizeof(good_storage)), 0);
	CHECK_EQ(hvl_remote_find(&T.pr.r, HVL_VIRTIO_ID_CONSOLE, 1, &g), 0);
	hvl_vdev_data_area(&g, &data, &bus, &size);
	T.canary = (uint8_t *)data + CANARY_OFF;
	memset(T.canary, 0xc5, CANARY_LEN);
	CHECK_EQ(hvl_remote_find(&T.pr.r, HVL_VIRTIO_ID_CONSOLE, 0, &T.v), 0);
}

/* Console1 must keep working end to end, the PMM must be alive. */
static void check_others(const char *after)
{
	char msg[64], got[64];
	size_t n;
	unsigned i;

	n = (size_t)snprintf(msg, sizeof(msg), "ping %u after %s\n", ++T.ping, after);
	CHECK_EQ(hvl_console_write(&T.good, msg, n, 3000), (long)n);
	memset(got, 0, sizeof(got));
	CHECK_EQ(h_read_exact(T.good_fd, got, n, 3000), 0);
	if (memcmp(got, msg, n) != 0) {
		h_failed++;
		fprintf(stderr, "console1 after %s: got '%.*s'\n", after, (int)n, got);
	}
	CHECK(h_alive(T.pmm));
	for (i = 0; i < CANARY_LEN; i++)
		if (T.canary[i] != 0xc5)
			break;
	CHECK_EQ(i, CANARY_LEN);
	CHECK(!hvl_console_broken(&T.good));
}

/* Static start of the victim with plain (non-EVENT_IDX) rings. */
static void victim_start_f(uint64_t features)
{
	CHECK_EQ(hvl_vdev_begin(&T.v, features), 0);
	CHECK_EQ(hvl_vdev_queue_static(&T.v, 0, &T.rxq, rx_st, sizeof(rx_st)), 0);
	CHECK_EQ(hvl_vdev_queue_static(&T.v, 1, &T.txq, tx_st, sizeof(tx_st)), 0);
	CHECK_EQ(hvl_vdev_driver_ok(&T.v), 0);
	CHECK(!hvl_vdev_needs_reset(&T.v));
}

static void victim_start(void)
{
	victim_start_f(0);
}

static void put_desc(struct hvl_vq_drv *vq, uint16_t i, uint64_t addr, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	hvl_le64_put(&vq->desc[i].addr, addr);
	hvl_le32_put(&vq->desc[i].len, len);
	hvl_le16_put(&vq->desc[i].flags, flags);
	hvl_le16_put(&vq->desc[i].next, next);
}

/* Make @head available and move avail->idx by @advance (normally 1). */
static void publish(struct hvl_vq_drv *vq, unsigned q, uint16_t head, uint16_t advance)
{
	uint16_t idx = hvl_le16_get(&vq->avail->idx);

	hvl_le16_put(&vq->avail->ring[idx & (vq->num - 1u)], head);
	hvl_le16_release(&vq->avail->idx, (uint16_t)(idx + advance));
	hvl_vdev_notify(&T.v, q);
}

static uint64_t data_bus(void)
{
	void *p;
	uint64_t bus, size;

	hvl_vdev_data_area(&T.v, &p, &bus, &size);
	return bus;
}

static int wait_needs_reset(unsigned ms)
{
	uint64_t end = h_now_ms() + ms;

	while (h_now_ms() < end) {
		if (hvl_vdev_needs_reset(&T.v))
			return 1;
		usleep(2000);
	}
	return 0;
}

static void expect_broken(const char *name, uint32_t reason)
{
	int got = wait_needs_reset(3000);

	CHECK(got);
	CHECK_EQ(hvl_le32_get(&T.v.ext->broken_reason), reason);
	if (!got)
		fprintf(stderr, "case '%s': no NEEDS_RESET\n", name);
	check_others(name);
	/* The way back: a reset clears it and the device is usable again. */
	CHECK_EQ(hvl_vdev_reset(&T.v), 0);
	CHECK(!hvl_vdev_needs_reset(&T.v));
	CHECK_EQ(hvl_le32_get(&T.v.ext->broken_reason), HVL_BROKEN_NONE);
	printf("case %-26s ok: NEEDS_RESET, reason %u, console1 still served\n", name, reason);
}

static void case_loop(void)
{
	uint64_t b = data_bus();

	victim_start();
	put_desc(&T.txq, 0, b, 16, HVL_VRING_DESC_F_NEXT, 1);
	put_desc(&T.txq, 1, b + 16, 16, HVL_VRING_DESC_F_NEXT, 0);
	publish(&T.txq, 1, 0, 1);
	expect_broken("descriptor loop", HVL_BROKEN_RING);
}

static void case_outside(void)
{
	victim_start();
	/* The region header: inside the region, outside this device's window. */
	put_desc(&T.txq, 0, BUS_BASE, 64, 0, 0);
	publish(&T.txq, 1, 0, 1);
	expect_broken("buffer outside the window", HVL_BROKEN_ADDRESS);
}

static void case_avail_jump(void)
{
	victim_start();
	put_desc(&T.txq, 0, data_bus(), 16, 0, 0);
	publish(&T.txq, 1, 0, (uint16_t)(T.txq.num + 5u));
	expect_broken("avail index jump", HVL_BROKEN_RING);
}

static void case_qsize(void)
{
	CHECK_EQ(hvl_vdev_begin(&T.v, 0), 0);
	CHECK_EQ(hvl_vdev_write(&T.v, HVL_MMIO_STATUS, HVL_STATUS_ACKNOWLEDGE | HVL_STATUS_DRIVER |
				HVL_STATUS_FEATURES_OK, 4), 0);
	CHECK_EQ(hvl_vdev_write(&T.v, HVL_MMIO_QUEUE_SEL, 1, 4), 0);
	CHECK_EQ(hvl_vdev_write(&T.v, HVL_MMIO_QUEUE_NUM, 100, 4), 0);
	CHECK(hvl_vdev_write(&T.v, HVL_MMIO_QUEUE_READY, 1, 4) != 0);
	expect_broken("queue size not a power of 2", HVL_BROKEN_QUEUE_SETUP);
}

static void case_head(void)
{
	victim_start();
	publish(&T.txq, 1, (uint16_t)(T.txq.num + 3u), 1);
	expect_broken("head >= queue size", HVL_BROKEN_RING);
}

static void case_order(void)
{
	uint64_t b = data_bus();

	victim_start();
	put_desc(&T.txq, 0, b, 16, HVL_VRING_DESC_F_WRITE | HVL_VRING_DESC_F_NEXT, 1);
	put_desc(&T.txq, 1, b + 16, 16, 0, 0);
	publish(&T.txq, 1, 0, 1);
	expect_broken("readable after writable", HVL_BROKEN_RING);
}

static void case_other_window(void)
{
	struct hvl_vdev g;
	void *p;
	uint64_t gbus, gsize;

	CHECK_EQ(hvl_remote_find(&T.pr.r, HVL_VIRTIO_ID_CONSOLE, 1, &g), 0);
	hvl_vdev_data_area(&g, &p, &gbus, &gsize);
	victim_start();
	/* A receive buffer in console1's window: the PMM must refuse to fill it. */
	put_desc(&T.rxq, 0, gbus + CANARY_OFF, CANARY_LEN, HVL_VRING_DESC_F_WRITE, 0);
	publish(&T.rxq, 0, 0, 1);
	CHECK_EQ(h_write_all(T.victim_fd, "intrusion", 9), 0);
	expect_broken("buffer in another window", HVL_BROKEN_ADDRESS);
}

/* An indirect table in the data area, 4 KiB in: its bus address and local pointer. */
static uint64_t ind_bus(void)
{
	return data_bus() + 4096u;
}

static struct hvl_vring_desc *ind_local(void)
{
	void *p;
	uint64_t bus, size;

	hvl_vdev_data_area(&T.v, &p, &bus, &size);
	return (struct hvl_vring_desc *)(void *)((uint8_t *)p + 4096u);
}

static void put_ind(struct hvl_vring_desc *t, uint16_t i, uint64_t addr, uint32_t len,
		    uint16_t flags, uint16_t next)
{
	hvl_le64_put(&t[i].addr, addr);
	hvl_le32_put(&t[i].len, len);
	hvl_le16_put(&t[i].flags, flags);
	hvl_le16_put(&t[i].next, next);
}

static void case_indirect_loop(void)
{
	struct hvl_vring_desc *t = ind_local();
	uint64_t b = data_bus();

	victim_start_f(HVL_F_INDIRECT_DESC);
	put_ind(t, 0, b, 16, HVL_VRING_DESC_F_NEXT, 1);
	put_ind(t, 1, b + 16, 16, HVL_VRING_DESC_F_NEXT, 0);
	put_desc(&T.txq, 0, ind_bus(), 2 * 16, HVL_VRING_DESC_F_INDIRECT, 0);
	publish(&T.txq, 1, 0, 1);
	expect_broken("loop in an indirect table", HVL_BROKEN_RING);
}

static void case_indirect_nested(void)
{
	struct hvl_vring_desc *t = ind_local();

	victim_start_f(HVL_F_INDIRECT_DESC);
	put_ind(t, 0, ind_bus(), 16, HVL_VRING_DESC_F_INDIRECT, 0);
	put_desc(&T.txq, 0, ind_bus(), 16, HVL_VRING_DESC_F_INDIRECT, 0);
	publish(&T.txq, 1, 0, 1);
	expect_broken("nested indirect table", HVL_BROKEN_RING);
}

static void case_indirect_len(uint32_t len, const char *name)
{
	struct hvl_vring_desc *t = ind_local();

	victim_start_f(HVL_F_INDIRECT_DESC);
	put_ind(t, 0, data_bus(), 16, 0, 0);
	put_desc(&T.txq, 0, ind_bus(), len, HVL_VRING_DESC_F_INDIRECT, 0);
	publish(&T.txq, 1, 0, 1);
	expect_broken(name, HVL_BROKEN_RING);
}

static void case_indirect_next(void)
{
	struct hvl_vring_desc *t = ind_local();

	victim_start_f(HVL_F_INDIRECT_DESC);
	put_ind(t, 0, data_bus(), 16, 0, 0);
	put_desc(&T.txq, 0, ind_bus(), 16, HVL_VRING_DESC_F_INDIRECT | HVL_VRING_DESC_F_NEXT, 1);
	put_desc(&T.txq, 1, data_bus(), 16, 0, 0);
	publish(&T.txq, 1, 0, 1);
	expect_broken("INDIRECT together with NEXT", HVL_BROKEN_RING);
}

static void case_indirect_not_negotiated(void)
{
	struct hvl_vring_desc *t = ind_local();

	victim_start_f(0);
	put_ind(t, 0, data_bus(), 16, 0, 0);
	put_desc(&T.txq, 0, ind_bus(), 16, HVL_VRING_DESC_F_INDIRECT, 0);
	publish(&T.txq, 1, 0, 1);
	expect_broken("INDIRECT not negotiated", HVL_BROKEN_RING);
}

static void case_next_range(void)
{
	victim_start();
	put_desc(&T.txq, 0, data_bus(), 16, HVL_VRING_DESC_F_NEXT, (uint16_t)(T.txq.num + 1u));
	publish(&T.txq, 1, 0, 1);
	expect_broken("next >= queue size", HVL_BROKEN_RING);
}

static void case_zero_len(void)
{
	victim_start();
	put_desc(&T.txq, 0, data_bus(), 0, 0, 0);
	publish(&T.txq, 1, 0, 1);
	expect_broken("zero-length descriptor", HVL_BROKEN_RING);
}

static void case_overflow(void)
{
	victim_start();
	put_desc(&T.txq, 0, UINT64_MAX - 8u, 64, 0, 0);
	publish(&T.txq, 1, 0, 1);
	expect_broken("address + length overflow", HVL_BROKEN_ADDRESS);
}

static void case_avail_back(void)
{
	uint16_t idx;

	victim_start();
	/* One good chain first, so the device's index moves; then go back by 2. */
	put_desc(&T.txq, 0, data_bus(), 4, 0, 0);
	publish(&T.txq, 1, 0, 1);
	{
		uint64_t end = h_now_ms() + 2000;

		while (h_now_ms() < end && hvl_le16_get(&T.txq.used->idx) == 0)
			usleep(1000);
	}
	CHECK_EQ(h_read_exact(T.victim_fd, (char[4]){ 0 }, 4, 2000), 0);
	idx = hvl_le16_get(&T.txq.avail->idx);
	hvl_le16_release(&T.txq.avail->idx, (uint16_t)(idx - 2u));
	hvl_vdev_notify(&T.v, 1);
	expect_broken("avail index moving back", HVL_BROKEN_RING);
}

static void case_qsize_zero_and_max(void)
{
	static const uint32_t sizes[] = { 0, 512 };
	unsigned k;

	for (k = 0; k < 2; k++) {
		CHECK_EQ(hvl_vdev_begin(&T.v, 0), 0);
		CHECK_EQ(hvl_vdev_write(&T.v, HVL_MMIO_STATUS, HVL_STATUS_ACKNOWLEDGE |
					HVL_STATUS_DRIVER | HVL_STATUS_FEATURES_OK, 4), 0);
		CHECK_EQ(hvl_vdev_write(&T.v, HVL_MMIO_QUEUE_SEL, 0, 4), 0);
		CHECK_EQ(hvl_vdev_write(&T.v, HVL_MMIO_QUEUE_NUM, sizes[k], 4), 0);
		CHECK(hvl_vdev_write(&T.v, HVL_MMIO_QUEUE_READY, 1, 4) != 0);
		expect_broken(k == 0 ? "queue size 0" : "queue size above the maximum",
			      HVL_BROKEN_QUEUE_SETUP);
	}
}

static void case_status_cleared(void)
{
	CHECK_EQ(hvl_vdev_write(&T.v, HVL_MMIO_STATUS, HVL_STATUS_ACKNOWLEDGE | HVL_STATUS_DRIVER, 4), 0);
	CHECK(hvl_vdev_write(&T.v, HVL_MMIO_STATUS, HVL_STATUS_ACKNOWLEDGE, 4) != 0);
	expect_broken("status bits cleared", HVL_BROKEN_REGISTER);
}

/* Violations the PMM answers without breaking the device: refused, ignored, counted. */
static void case_refused_quietly(void)
{
	CHECK_EQ(hvl_vdev_reset(&T.v), 0);
	/* Kicks before DRIVER_OK, after a reset, and on a queue that does not exist. */
	hvl_vdev_notify(&T.v, 0);
	hvl_vdev_notify(&T.v, 1);
	hvl_vdev_notify(&T.v, 9);
	CHECK_EQ(hvl_vdev_write(&T.v, HVL_MMIO_QUEUE_NOTIFY, 9, 4), -EINVAL);
	/* QueueSel out of range reads QueueNumMax 0. */
	CHECK_EQ(hvl_vdev_write(&T.v, HVL_MMIO_QUEUE_SEL, 200, 4), 0);
	CHECK_EQ(hvl_vdev_read(&T.v, HVL_MMIO_QUEUE_NUM_MAX), 0);
	/* Config space past its end (12 bytes for a console), and at odd widths. */
	CHECK_EQ(hvl_vdev_write(&T.v, HVL_MMIO_CONFIG + 12, 1, 1), -EINVAL);
	CHECK_EQ(hvl_vdev_write(&T.v, HVL_MMIO_CONFIG + 0x2fc, 1, 4), -EINVAL);
	CHECK_EQ(hvl_vdev_write(&T.v, HVL_MMIO_CONFIG + 1, 1, 2), -EINVAL);
	CHECK_EQ(hvl_vdev_write(&T.v, HVL_MMIO_CONFIG + 0, 1, 3), -EINVAL);
	/* Features the device never offered: FEATURES_OK does not stick. */
	CHECK_EQ(hvl_vdev_begin(&T.v, 0), 0);
	hvl_le64_set(&T.v.drv->driver_features, HVL_F_VERSION_1 | (1ull << 41));
	CHECK_EQ(hvl_vdev_driver_ok(&T.v), -ENOTSUP);
	CHECK(!(hvl_vdev_status(&T.v) & HVL_STATUS_FEATURES_OK));
	CHECK(!hvl_vdev_needs_reset(&T.v));
	check_others("refused quietly");
	CHECK_EQ(hvl_vdev_reset(&T.v), 0);
	printf("case %-26s ok: refused or ignored, no NEEDS_RESET, console1 still served\n",
	       "kicks, selectors, config, features");
}

int main(int argc, char **argv)
{
	int rc;

	if (argc < 2) {
		fprintf(stderr, "usage: test_hostile PATH_TO_HVL_PMM\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	setup(argv[1]);
	if (h_failed == 0) {
		case_loop();
		case_outside();
		case_avail_jump();
		case_qsize();
		case_head();
		case_order();
		case_other_window();
		case_indirect_loop();
		case_indirect_nested();
		case_indirect_len(0, "indirect length 0");
		case_indirect_len(24, "indirect length not 16*n");
		case_indirect_next();
		case_indirect_not_negotiated();
		case_next_range();
		case_zero_len();
		case_overflow();
		case_avail_back();
		case_qsize_zero_and_max();
		case_status_cleared();
		case_refused_quietly();
		/* After all of it, a clean start of the victim still works. */
		victim_start();
		CHECK_EQ(hvl_vdev_reset(&T.v), 0);
	}
	hvl_console_close(&T.good);
	hvl_posix_remote_close(&T.pr);
	kill(T.pmm, SIGTERM);
	rc = h_wait_exit(T.pmm, 5000);
	CHECK_EQ(rc, 0);
	CHECK(h_file_contains(T.log, "protocol violation"));
	if (h_failed != 0) {
		fprintf(stderr, "--- PMM log (%s) ---\n", T.log);
		{
			char cmd[PATH_MAX + 64];

			snprintf(cmd, sizeof(cmd), "tail -n 60 '%s' >&2", T.log);
			if (system(cmd) != 0)
				fprintf(stderr, "(no log)\n");
		}
	} else {
		h_rmtree(T.dir);
	}
	return h_finish("test_hostile");
}

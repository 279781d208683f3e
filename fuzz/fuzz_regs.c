/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: the register/transaction state machine of the PMM
 * (src/transport/dev_regs.c) with the ring under it, serving an echo device.
 *
 * One device page and one window live in a single allocation with poisoned
 * guard zones around each (fuzz_remote.h; ASan reports any PMM access
 * there at once).  The
 * input is a sequence of remote actions, each followed by
 * hvl_dev_service(): register-write transactions through the driver area,
 * QueueNotify counter bumps, the static-start feature word, interrupt
 * acknowledgements, raw stores into the rings, data and into the PMM-owned
 * register block itself, the PMM's periodic repair of its own words
 * (hvl_dev_refresh), plus a few macros that do what a correct driver
 * does (bring-up, queue setup through the registers, post a chain) so that
 * the fuzzer reaches the live device quickly.
 *
 * Input: 8-byte header, then actions (see act()).
 *   hdr[0] bits 0-1: queues - 1;  bit 2: QueueNumMax = static size (else 64)
 *   hdr[1] bits 0-2: static queue size log2 (<= 6)
 *   hdr[2] offered features: bit 0 EVENT_IDX, 1 INDIRECT, 2 device bit 0,
 *          3 bit 40 (a high device bit)
 *   hdr[3] bit 0 driver_ok() refuses, bit 1 no config_write op,
 *          bit 2 the driver area starts with 64 input bytes (stale words
 *          of a previous session)
 *   hdr[4] config space size;  hdr[5..7] reserved
 *
 * Invariants (the PMM's, whatever the remote does):
 *   - nothing outside the page and the window is touched (ASan guards);
 *   - the PMM never writes the remote-owned driver area;
 *   - NEEDS_RESET is set iff a violation was recorded (d->broken), and the
 *     driver can never set it: the status bits apart from NEEDS_RESET are
 *     bits the driver wrote; DRIVER_OK implies FEATURES_OK; the accepted
 *     features are a subset of the offered ones and include VERSION_1;
 *   - every live queue's geometry is inside the window and within
 *     1..QueueNumMax; ops->queue runs only for a live device's ready queue;
 *   - every popped chain lies inside the window;
 *   - an applied transaction is acknowledged (ext.txn_ack = txn_seq).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_remote.h"
#include "fuzz_util.h"
#include "hvl/pmm/dev.h"
#include "hvl/wire/region.h"

#define ECHO_BUDGET 64u
#define MAX_IOV   256u

struct regs_fz {
	struct fz_remote r;
	struct hvl_dev_static st;
	struct hvl_dev_ops ops;
	uint8_t config[HVL_CONFIG_MAX];
	struct hvl_iov iov[MAX_IOV];
	int status_scribbled;    /* the remote stored into the STATUS register itself */
	int driver_ok_fails;
	uint64_t rings, resets;
};

/* ------------------------------------------------------------ the device */

static void ring_cb(void *ctx)
{
	((struct regs_fz *)ctx)->rings++;
}

static int wait_cb(void *ctx, uint32_t ms)
{
	(void)ctx;
	(void)ms;
	return 0;
}

static const struct hvl_notify_ops notify_ops = { .ring = ring_cb, .wait = wait_cb };

/* Format every message for real: format bugs show up under ASan. */
static void log_cb(void *ctx, enum hvl_log_level lvl, const char *fmt, va_list ap) HVL_PRINTF(3, 0);
static void log_cb(void *ctx, enum hvl_log_level lvl, const char *fmt, va_list ap)
{
	char buf[512];

	(void)ctx;
	(void)lvl;
	(void)vsnprintf(buf, sizeof(buf), fmt, ap);
}

static const struct hvl_logger logger = { .fn = log_cb, .ctx = NULL, .level = HVL_LOG_DEBUG };

/*
 * Echo device: copy what the driver gave into the writable part of the
 * same chain.  The queue pattern of the common brief: disable notify, pop
 * until empty, enable and look again.  memmove: a hostile chain may make
 * its readable and writable buffers overlap.
 */
static void echo_queue(struct hvl_dev *d, unsigned q)
{
	struct regs_fz *rf = d->priv;
	unsigned budget = ECHO_BUDGET;
	int pushed = 0;

	/* ops->queue runs only for a ready queue of a live device. */
	FZ_CHECK(q < d->st.num_queues);
	FZ_CHECK(hvl_dev_live(d) && d->q[q].ready);
	for (;;) {
		struct hvl_vq_dev *vq = hvl_dev_vq(d, q);
		struct hvl_chain c;
		int r;

		if (vq == NULL || budget == 0)
			break;
		hvl_vq_dev_disable_notify(vq);
		memset(&c, 0, sizeof(c));
		c.iov = rf->iov;
		c.cap = MAX_IOV;
		while (budget > 0) {
			uint32_t done = 0;
			unsigned o = 0, i;
			uint32_t ooff = 0, ioff = 0;

			budget--;
			r = hvl_dev_pop(d, q, &c);
			if (r < 0) {
				/* A ring fault fails the whole device. */
				FZ_CHECK(!hvl_dev_live(d));
				FZ_CHECK((d->status & HVL_STATUS_DEVICE_NEEDS_RESET) != 0u);
				goto out;
			}
			if (r == 0)
				break;
			fzr_check_chain(&rf->r, &c);
			i = c.n_out;
			while (o < c.n_out && i < (unsigned)c.n_out + c.n_in) {
				uint32_t n = c.iov[o].len - ooff;

				if (n > c.iov[i].len - ioff)
					n = c.iov[i].len - ioff;
				memmove((uint8_t *)c.iov[i].base + ioff,
					(const uint8_t *)c.iov[o].base + ooff, n);
				done += n;
				ooff += n;
				ioff += n;
				if (ooff == c.iov[o].len) {
					o++;
					ooff = 0;
				}
				if (ioff == c.iov[i].len) {
					i++;
					ioff = 0;
				}
			}
			hvl_vq_dev_push(vq, c.head, done);
			pushed = 1;
		}
		if (hvl_vq_dev_enable_notify(vq) == 0)
			break;
	}
out:
	if (pushed)
		hvl_dev_vq_interrupt(d, q);
}

/* The echo device holds no chains between calls: a reset only has to be seen. */
static void echo_reset(struct hvl_dev *d)
{
	FZ_CHECK(d->priv != NULL);
	((struct regs_fz *)d->priv)->resets++;
}

static int echo_driver_ok(struct hvl_dev *d)
{
	return ((struct regs_fz *)d->priv)->driver_ok_fails ? -EIO : 0;
}

static int echo_config_write(struct hvl_dev *d, uint32_t off, uint32_t val, unsigned size)
{
	uint8_t b[4];

	/* Checked by the transport: a write never reaches past config_size. */
	FZ_CHECK(size == 1u || size == 2u || size == 4u);
	FZ_CHECK(off < d->st.config_size && size <= d->st.config_size - off);
	b[0] = (uint8_t)val;
	b[1] = (uint8_t)(val >> 8);
	b[2] = (uint8_t)(val >> 16);
	b[3] = (uint8_t)(val >> 24);
	hvl_dev_config_set(d, off, b, size, (val & 1u) != 0u);
	return (val & 0x100u) != 0u ? -EINVAL : 0;
}

static void echo_poll(struct hvl_dev *d)
{
	unsigned q;

	for (q = 0; q < d->st.num_queues; q++)
		if (hvl_dev_vq(d, q) != NULL)
			echo_queue(d, q);
}

/* ----------------------------------------------------------- the remote */

static void service(struct regs_fz *rf, int all)
{
	struct hvl_dev *d = rf->r.d;

	fzr_service(&rf->r, all);
	/* The STATUS register mirrors the device's status, unless the remote overwrote it. */
	if (!rf->status_scribbled)
		FZ_CHECK(hvl_le32_get(&d->regs[HVL_MMIO_STATUS / 4u]) == d->status);
}

static const uint32_t reg_table[16] = {
	HVL_MMIO_DEVICE_FEATURES_SEL, HVL_MMIO_DRIVER_FEATURES, HVL_MMIO_DRIVER_FEATURES_SEL,
	HVL_MMIO_QUEUE_SEL, HVL_MMIO_QUEUE_NUM, HVL_MMIO_QUEUE_READY, HVL_MMIO_QUEUE_NOTIFY,
	HVL_MMIO_INTERRUPT_ACK, HVL_MMIO_STATUS, HVL_MMIO_QUEUE_DESC_LOW, HVL_MMIO_QUEUE_DESC_HIGH,
	HVL_MMIO_QUEUE_DRIVER_LOW, HVL_MMIO_QUEUE_DEVICE_LOW, HVL_MMIO_SHM_SEL,
	HVL_MMIO_QUEUE_RESET, HVL_MMIO_CONFIG + 8u,
};

/* One remote action (low nibble of the op byte), then service (bit 7: all queues). */
static void act(struct regs_fz *rf, struct fz *f)
{
	struct fz_remote *r = &rf->r;
	struct hvl_dev *d = r->d;
	uint8_t op = fz_u8(f);
	int all = (op & 0x80u) != 0u;
	uint32_t off, val, k, len;

	switch (op & 15u) {
	case 0: /* raw transaction, any offset/size, sequence step 1..4 */
		off = fz_u16(f);
		val = fz_u32(f);
		fzr_txn(r, off, val, fz_u8(f), ((op >> 4) & 3u) + 1u);
		break;
	case 1: /* transaction to a known register */
		fzr_txn(r, reg_table[(op >> 4) & 15u], fz_u32(f), 4, 1);
		break;
	case 2: /* QueueNotify counter, any of the 16 slots */
		fzr_notify(r, fz_u8(f) % HVL_MAX_QUEUES);
		break;
	case 3:
		hvl_le64_set(&fzr_drv(r)->driver_features, fz_u64(f));
		break;
	case 4: /* stores into the window: rings, indirect tables, data */
		fzr_scribble_window(r, f);
		break;
	case 5: /* stores anywhere in the device page, the PMM's block included */
		off = fz_u16(f) % HVL_DEVPAGE_SIZE;
		len = fz_u8(f) % 16u;
		if (len > HVL_DEVPAGE_SIZE - off)
			len = HVL_DEVPAGE_SIZE - off;
		if (off < HVL_MMIO_STATUS + 4u && off + len > HVL_MMIO_STATUS)
			rf->status_scribbled = 1;
		(void)fz_bytes(f, r->page + off, len);
		break;
	case 6:
		hvl_le32_set(&fzr_drv(r)->irq_used_ack, fz_u32(f));
		hvl_le32_set(&fzr_drv(r)->irq_config_ack, fz_u32(f));
		break;
	case 7: /* bring-up of a correct driver (static start) */
		val = fz_u8(f);
		fzr_bring_up(r, ((val & 1u) ? HVL_F_EVENT_IDX : 0u) | ((val & 2u) ? HVL_F_INDIRECT_DESC : 0u));
		break;
	case 8:
		fzr_post_chain(r, f);
		break;
	case 9: /* reset */
		fzr_txn(r, HVL_MMIO_STATUS, 0, 4, 1);
		break;
	case 10: /* queue set-up through the registers, before DRIVER_OK */
		k = fz_u8(f);
		fzr_txn_serve(r, HVL_MMIO_QUEUE_SEL, k & 7u);
		fzr_txn_serve(r, HVL_MMIO_QUEUE_NUM, 1u << (fz_u8(f) % 8u));
		fzr_txn_serve(r, HVL_MMIO_QUEUE_DESC_LOW, (uint32_t)FZR_WIN_BUS + fz_u16(f));
		fzr_txn_serve(r, HVL_MMIO_QUEUE_DRIVER_LOW, (uint32_t)FZR_WIN_BUS + fz_u16(f));
		fzr_txn_serve(r, HVL_MMIO_QUEUE_DEVICE_LOW, (uint32_t)FZR_WIN_BUS + fz_u16(f));
		fzr_txn(r, HVL_MMIO_QUEUE_READY, 1, 4, 1);
		break;
	case 11: /* config space write of 1, 2 or 4 bytes */
		off = HVL_MMIO_CONFIG + fz_u8(f);
		val = fz_u32(f);
		fzr_txn(r, off, val, 1u << (fz_u8(f) % 3u), 1);
		break;
	case 12:
		hvl_dev_kick(d);
		break;
	case 13: /* the region thread's periodic repair of PMM-owned words */
		hvl_dev_refresh(d);
		FZ_CHECK(hvl_le32_get(&d->regs[HVL_MMIO_MAGIC_VALUE / 4u]) == HVL_MMIO_MAGIC);
		FZ_CHECK(hvl_le32_get(&d->regs[HVL_MMIO_VERSION / 4u]) == HVL_MMIO_VERSION2);
		FZ_CHECK(hvl_le32_get(&fzr_ext(r)->magic) == HVL_EXT_MAGIC);
		rf->status_scribbled = 0; /* STATUS mirrors the device again */
		break;
	default:
		break;
	}
	service(rf, all);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	struct regs_fz *rf;
	struct hvl_window win;
	struct hvl_notifier nt;
	uint8_t h[8];
	unsigned q, steps = 0;
	uint16_t n;
	int rc;

	rf = calloc(1, sizeof(*rf));
	FZ_CHECK(rf != NULL);
	rf->r.d = calloc(1, sizeof(*rf->r.d));
	FZ_CHECK(rf->r.d != NULL);
	fzr_alloc(&rf->r);

	(void)fz_bytes(&f, h, sizeof(h));
	rf->st.device_id = 0x7f; /* not a real type: the echo device */
	rf->st.name = "echo";
	n = (uint16_t)(1u << ((h[1] & 7u) % 7u));
	fzr_static(&rf->st, (h[0] & 3u) + 1u, n, (h[0] & 4u) ? n : 64u);
	rf->st.features = ((h[2] & 1u) ? HVL_F_EVENT_IDX : 0u) | ((h[2] & 2u) ? HVL_F_INDIRECT_DESC : 0u) |
			  ((h[2] & 4u) ? 1u : 0u) | ((h[2] & 8u) ? (uint64_t)1 << 40 : 0u);
	for (q = 0; q < sizeof(rf->config); q++)
		rf->config[q] = (uint8_t)(q * 7u);
	rf->st.config = rf->config;
	rf->st.config_size = h[4];
	rf->driver_ok_fails = h[3] & 1u;
	rf->ops.reset = echo_reset;
	rf->ops.queue = echo_queue;
	rf->ops.driver_ok = echo_driver_ok;
	rf->ops.config_write = (h[3] & 2u) ? NULL : echo_config_write;
	rf->ops.poll = echo_poll;
	if (h[3] & 4u)
		(void)fz_bytes(&f, rf->r.page + HVL_DRV_AREA_OFFSET, 64);

	win = fzr_window(&rf->r);
	nt.ops = &notify_ops;
	nt.ctx = rf;
	rc = hvl_dev_init(rf->r.d, rf->r.page, &win, &rf->st, &rf->ops, rf, nt, &logger);
	FZ_CHECK(rc == 0);
	FZ_CHECK(rf->r.d->status == 0);

	while (f.n > 0 && steps++ < 2000u)
		act(rf, &f);
	if (getenv("HVL_FUZZ_DEBUG") != NULL) /* to check what a seed reaches */
		fprintf(stderr, "regs: status 0x%x broken %u txn %llu notify %llu irq %llu faults %llu\n",
			rf->r.d->status, rf->r.d->broken, (unsigned long long)rf->r.d->stat_txn,
			(unsigned long long)rf->r.d->stat_notify, (unsigned long long)rf->r.d->stat_irq,
			(unsigned long long)rf->r.d->stat_faults);
	hvl_dev_reset(rf->r.d);
	FZ_CHECK(rf->r.d->status == 0);

	fzr_free(&rf->r);
	free(rf->r.d);
	free(rf);
	return 0;
}

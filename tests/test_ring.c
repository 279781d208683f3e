/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Split virtqueue tests: driver (vq_driver.c) against device (vq_device.c)
 * over one memory buffer seen through a window whose bus base (0x80000000)
 * differs from its local address, plus a two-process run over a memfd mapped
 * at different addresses.  Covers round trips, 16-bit index wrap, EVENT_IDX
 * maths and suppression on both sides, indirect chains, one test per device
 * fault, and the driver's checks of the used ring.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hvl/vq_device.h"
#include "hvl/vq_driver.h"
#include "hvl/wire/region.h"

static unsigned g_checks, g_failed, g_tests, g_tests_failed;

#define CHECK(cond)                                                            \
	do {                                                                   \
		g_checks++;                                                    \
		if (!(cond)) {                                                 \
			g_failed++;                                            \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, \
				__LINE__, #cond);                              \
		}                                                              \
	} while (0)

/* ------------------------------------------------------------ fixtures */

#define BUS_BASE  0x80000000ull
#define MEM_SIZE  (4u << 20)
#define OFF_DESC  0x000000u  /* 32768 * 16 = 512 KiB max */
#define OFF_AVAIL 0x080000u  /* 64 KiB + 6 */
#define OFF_USED  0x0a0000u  /* 256 KiB + 6 */
#define OFF_IND   0x100000u  /* indirect tables, 1 MiB */
#define OFF_DATA  0x200000u  /* data buffers, 2 MiB */
#define BUF_SIZE  256u

static _Alignas(4096) uint8_t mem[MEM_SIZE];
static _Alignas(16) uint8_t storage[HVL_VQ_DRV_STORAGE(HVL_VRING_MAX_SIZE)];
static struct hvl_iov iovs[2048];

struct pair {
	struct hvl_vq_drv drv;
	struct hvl_vq_dev dev;
	struct hvl_window win;
	uint16_t num;
};

static uint8_t *loc(uint64_t off) { return mem + off; }
static uint64_t bus(uint64_t off) { return BUS_BASE + off; }
static uint8_t *buf(unsigned i) { return loc(OFF_DATA + (uint64_t)i * BUF_SIZE); }
static uint64_t buf_bus(unsigned i) { return bus(OFF_DATA + (uint64_t)i * BUF_SIZE); }

static struct hvl_vring_desc *desc_tbl(void) { return (struct hvl_vring_desc *)(void *)loc(OFF_DESC); }
static struct hvl_vring_avail *avail_ring(void) { return (struct hvl_vring_avail *)(void *)loc(OFF_AVAIL); }
static struct hvl_vring_used *used_ring(void) { return (struct hvl_vring_used *)(void *)loc(OFF_USED); }

static int setup(struct pair *p, uint16_t num, uint64_t features)
{
	int r1, r2;

	/* Garbage everywhere: init must zero exactly what it owns. */
	memset(mem, 0xee, sizeof(mem));
	memset(p, 0, sizeof(*p));
	p->num = num;
	p->win.local = mem;
	p->win.bus = BUS_BASE;
	p->win.size = MEM_SIZE;
	r1 = hvl_vq_dev_init(&p->dev, &p->win, num, bus(OFF_DESC), bus(OFF_AVAIL),
			     bus(OFF_USED), features, NULL, NULL);
	r2 = hvl_vq_drv_init(&p->drv, loc(OFF_DESC), loc(OFF_AVAIL), loc(OFF_USED), num,
			     features, storage, sizeof(storage), NULL, NULL);
	CHECK(r1 == 0);
	CHECK(r2 == 0);
	return (r1 == 0 && r2 == 0) ? 0 : -1;
}

static void chain_init(struct hvl_chain *c, unsigned cap)
{
	memset(c, 0, sizeof(*c));
	c->iov = iovs;
	c->cap = cap;
}

/* --------------------------------------------------------------- tests */

static void test_need_event(void)
{
	/* §2.7.7.2: notify iff event_idx in [old, new) modulo 2^16. */
	CHECK(hvl_vring_need_event(0, 1, 0) == 1);
	CHECK(hvl_vring_need_event(5, 6, 5) == 1);
	CHECK(hvl_vring_need_event(5, 9, 5) == 1);
	CHECK(hvl_vring_need_event(8, 9, 5) == 1);
	CHECK(hvl_vring_need_event(9, 9, 5) == 0);   /* not reached yet */
	CHECK(hvl_vring_need_event(4, 9, 5) == 0);   /* passed before old */
	CHECK(hvl_vring_need_event(5, 5, 5) == 0);   /* nothing new */
	/* Wrap-around. */
	CHECK(hvl_vring_need_event(0xffff, 0x0001, 0xfffe) == 1);
	CHECK(hvl_vring_need_event(0x0000, 0x0001, 0xffff) == 1);
	CHECK(hvl_vring_need_event(0xfffe, 0x0001, 0xffff) == 0);
	CHECK(hvl_vring_need_event(0x0005, 0x0002, 0xfffe) == 0);
	CHECK(hvl_vring_need_event(0x0001, 0x0002, 0xfffe) == 1);
	/* Whole window of 2^16 - 1 entries. */
	CHECK(hvl_vring_need_event(0x1234, 0x1233, 0x1234) == 1);
}

static void test_translate(void)
{
	struct hvl_window w = { mem, BUS_BASE, 4096 };

	CHECK(hvl_window_translate(&w, BUS_BASE, 4096) == mem);
	CHECK(hvl_window_translate(&w, BUS_BASE + 10, 20) == mem + 10);
	CHECK(hvl_window_translate(&w, BUS_BASE + 4095, 1) == mem + 4095);
	CHECK(hvl_window_translate(&w, BUS_BASE + 4095, 2) == NULL);
	CHECK(hvl_window_translate(&w, BUS_BASE + 4096, 0) == NULL);
	CHECK(hvl_window_translate(&w, BUS_BASE + 100, 0) == mem + 100);
	CHECK(hvl_window_translate(&w, BUS_BASE - 1, 2) == NULL);
	CHECK(hvl_window_translate(&w, 0, 16) == NULL);
	CHECK(hvl_window_translate(&w, BUS_BASE + 16, UINT64_MAX) == NULL);
	CHECK(hvl_window_translate(&w, UINT64_MAX - 8, 16) == NULL);
	CHECK(hvl_window_translate(NULL, BUS_BASE, 1) == NULL);
}

static void test_roundtrip(void)
{
	struct pair p;
	struct hvl_chain c;
	struct hvl_sg sg[5];
	uint32_t len = 0;
	int cookie_a, cookie_b;
	void *ck;

	if (setup(&p, 8, HVL_F_VERSION_1) != 0)
		return;
	/* Driver zeroed desc/avail, device zeroed used. */
	CHECK(hvl_le16_get(&avail_ring()->idx) == 0 && hvl_le16_get(&used_ring()->idx) == 0);
	CHECK(hvl_le16_get(&used_ring()->flags) == 0);

	memcpy(buf(0), "hello", 5);
	sg[0].addr = buf_bus(0); sg[0].len = 5;
	sg[1].addr = buf_bus(1); sg[1].len = 16;
	CHECK(hvl_vq_drv_add(&p.drv, sg, 1, 1, &cookie_a) == 0);
	CHECK(hvl_vq_drv_num_free(&p.drv) == 6);
	/* Not visible until kick_prepare publishes avail->idx. */
	CHECK(hvl_vq_dev_has_work(&p.dev) == 0);
	CHECK(hvl_vq_drv_kick_prepare(&p.drv) == 1);
	CHECK(hvl_vq_dev_has_work(&p.dev) == 1);

	chain_init(&c, 16);
	CHECK(hvl_vq_dev_pop(&p.dev, &c) == 1);
	CHECK(c.n_out == 1 && c.n_in == 1 && c.out_len == 5 && c.in_len == 16);
	CHECK(c.iov[0].base == buf(0) && c.iov[0].len == 5);
	CHECK(c.iov[1].base == buf(1) && c.iov[1].len == 16);
	CHECK(memcmp(c.iov[0].base, "hello", 5) == 0);
	CHECK(p.dev.inflight == 1);
	memcpy(c.iov[1].base, "world", 5);
	CHECK(hvl_vq_dev_pop(&p.dev, &c) == 0);
	hvl_vq_dev_push(&p.dev, c.head, 5);
	CHECK(p.dev.inflight == 0);
	CHECK(hvl_vq_dev_need_interrupt(&p.dev) == 1);
	CHECK(hvl_vq_dev_need_interrupt(&p.dev) == 0); /* nothing new */

	CHECK(hvl_vq_drv_more_used(&p.drv) == 1);
	ck = hvl_vq_drv_get_used(&p.drv, &len);
	CHECK(ck == &cookie_a && len == 5);
	CHECK(memcmp(buf(1), "world", 5) == 0);
	CHECK(hvl_vq_drv_get_used(&p.drv, &len) == NULL);
	CHECK(hvl_vq_drv_num_free(&p.drv) == 8);

	/* Three readable plus two writable, and a second chain in one batch. */
	for (unsigned i = 0; i < 5; i++) {
		sg[i].addr = buf_bus(i);
		sg[i].len = 10u + i;
	}
	CHECK(hvl_vq_drv_add(&p.drv, sg, 3, 2, &cookie_a) == 0);
	CHECK(hvl_vq_drv_add(&p.drv, sg, 0, 1, &cookie_b) == 0);
	CHECK(hvl_vq_drv_num_free(&p.drv) == 2);
	CHECK(hvl_vq_drv_kick_prepare(&p.drv) == 1);
	CHECK(hvl_vq_drv_kick_prepare(&p.drv) == 0); /* nothing new */
	CHECK(hvl_vq_dev_pop(&p.dev, &c) == 1);
	CHECK(c.n_out == 3 && c.n_in == 2 && c.out_len == 33 && c.in_len == 27);
	for (unsigned i = 0; i < 5; i++)
		CHECK(c.iov[i].base == buf(i) && c.iov[i].len == 10u + i);
	{
		uint16_t h1 = c.head;

		CHECK(hvl_vq_dev_pop(&p.dev, &c) == 1);
		CHECK(c.n_out == 0 && c.n_in == 1 && c.in_len == 10);
		/* Complete out of order. */
		hvl_vq_dev_push(&p.dev, c.head, 10);
		hvl_vq_dev_push(&p.dev, h1, 27);
	}
	CHECK(hvl_vq_drv_get_used(&p.drv, &len) == &cookie_b && len == 10);
	CHECK(hvl_vq_drv_get_used(&p.drv, &len) == &cookie_a && len == 27);
	CHECK(hvl_vq_drv_num_free(&p.drv) == 8);
	CHECK(hvl_vq_drv_broken(&p.drv) == 0 && p.dev.fault == HVL_VQ_OK);
}

static void test_driver_add_limits(void)
{
	struct pair p;
	struct hvl_sg sg[9];
	int ck[9];
	void *got;

	if (setup(&p, 8, 0) != 0)
		return;
	for (unsigned i = 0; i < 9; i++) {
		sg[i].addr = buf_bus(i);
		sg[i].len = 8;
	}
	/* Chain longer than the queue without indirect: never possible. */
	CHECK(hvl_vq_drv_add(&p.drv, sg, 9, 0, &ck[0]) == -EINVAL);
	CHECK(hvl_vq_drv_add(&p.drv, sg, 0, 0, &ck[0]) == -EINVAL);
	CHECK(hvl_vq_drv_add(&p.drv, sg, 1, 0, NULL) == -EINVAL);
	sg[0].len = 0;
	CHECK(hvl_vq_drv_add(&p.drv, sg, 1, 0, &ck[0]) == -EINVAL);
	sg[0].len = 0x80000000u;
	sg[1].len = 0x80000000u;
	CHECK(hvl_vq_drv_add(&p.drv, sg, 2, 0, &ck[0]) == -EINVAL); /* 4 GiB */
	sg[0].len = 8;
	sg[1].len = 8;
	CHECK(hvl_vq_drv_set_indirect(&p.drv, loc(OFF_IND), bus(OFF_IND), 4) == -ENOTSUP);
	for (unsigned i = 0; i < 8; i++)
		CHECK(hvl_vq_drv_add(&p.drv, &sg[i], 1, 0, &ck[i]) == 0);
	CHECK(hvl_vq_drv_add(&p.drv, sg, 1, 0, &ck[8]) == -ENOSPC);
	CHECK(hvl_vq_drv_num_free(&p.drv) == 0);
	CHECK(hvl_vq_drv_kick_prepare(&p.drv) == 1);
	/* Reset path: every outstanding cookie comes back exactly once. */
	{
		unsigned seen = 0;

		for (unsigned i = 0; i < 10; i++) {
			got = hvl_vq_drv_detach_unused(&p.drv);
			if (got == NULL)
				break;
			for (unsigned k = 0; k < 8; k++)
				if (got == &ck[k])
					seen |= 1u << k;
		}
		CHECK(seen == 0xffu);
		CHECK(hvl_vq_drv_detach_unused(&p.drv) == NULL);
		CHECK(hvl_vq_drv_num_free(&p.drv) == 8);
	}
	/* Bad init arguments. */
	{
		struct hvl_vq_drv d;

		CHECK(hvl_vq_drv_init(&d, loc(OFF_DESC), loc(OFF_AVAIL), loc(OFF_USED), 6, 0,
				      storage, sizeof(storage), NULL, NULL) == -EINVAL);
		CHECK(hvl_vq_drv_init(&d, loc(OFF_DESC), loc(OFF_AVAIL), loc(OFF_USED), 0, 0,
				      storage, sizeof(storage), NULL, NULL) == -EINVAL);
		CHECK(hvl_vq_drv_init(&d, loc(OFF_DESC), loc(OFF_AVAIL), loc(OFF_USED), 8, 0,
				      storage, HVL_VQ_DRV_STORAGE(8) - 1, NULL, NULL) == -EINVAL);
		CHECK(hvl_vq_drv_init(&d, loc(OFF_DESC), loc(OFF_AVAIL), loc(OFF_USED), 8, 0,
				      storage + 1, 1000, NULL, NULL) == -EINVAL);
		CHECK(hvl_vq_drv_init(&d, loc(OFF_DESC + 8), loc(OFF_AVAIL), loc(OFF_USED), 8, 0,
				      storage, sizeof(storage), NULL, NULL) == -EINVAL);
	}
}

/*
 * Lock-step simulation of both sides with sleeping peers: a side sleeps
 * after re-enabling notifications found nothing, and only wakes when the
 * other side decides to notify it.  A lost wakeup shows up as a peer
 * asleep with work pending, which is checked after every step.
 */
struct sim {
	struct pair *p;
	unsigned posted, completed;
	unsigned kicks, irqs;
	int dev_asleep, drv_asleep;
	uint32_t seq_next, seq_done;
	unsigned bad;
};

static void sim_driver_post(struct sim *s, unsigned batch)
{
	struct hvl_sg sg[3];
	unsigned added = 0;

	for (unsigned b = 0; b < batch; b++) {
		unsigned nsg = 1u + (s->seq_next % 3u);
		unsigned slot = s->seq_next % 64u;
		unsigned n_out = (nsg > 1u) ? 1u : 0u;
		int r;

		/* Out buffer carries the sequence number; writable part gets the reply. */
		memcpy(buf(slot * 3u), &s->seq_next, 4);
		for (unsigned i = 0; i < nsg; i++) {
			sg[i].addr = buf_bus(slot * 3u + i);
			sg[i].len = (i == 0 && n_out == 1u) ? 4u : 8u;
		}
		r = hvl_vq_drv_add(&s->p->drv, sg, n_out, nsg - n_out,
				   (void *)(uintptr_t)(s->seq_next + 1u));
		if (r == -ENOSPC)
			break;
		if (r != 0) {
			s->bad++;
			return;
		}
		s->seq_next++;
		s->posted++;
		added++;
	}
	if (hvl_vq_drv_kick_prepare(&s->p->drv) == 1) {
		s->kicks++;
		s->dev_asleep = 0;
	}
}

static void sim_device_run(struct sim *s)
{
	struct hvl_chain c;
	uint16_t heads[64];
	uint32_t lens[64];
	unsigned n = 0;

	if (s->dev_asleep)
		return;
	chain_init(&c, 8);
	hvl_vq_dev_disable_notify(&s->p->dev);
	for (unsigned round = 0; round < 4; round++) {
		int r;

		while ((r = hvl_vq_dev_pop(&s->p->dev, &c)) == 1 && n < 64) {
			uint32_t seq = 0, reply;
			uint8_t *w = c.iov[c.n_out].base;

			if (c.n_out == 1)
				memcpy(&seq, c.iov[0].base, 4);
			reply = seq * 3u + 1u;
			memcpy(w, &reply, 4);
			heads[n] = c.head;
			lens[n] = (c.n_out == 1) ? 4u : 0u;
			n++;
		}
		if (r < 0) {
			s->bad++;
			return;
		}
		if (hvl_vq_dev_enable_notify(&s->p->dev) == 0)
			break;
		hvl_vq_dev_disable_notify(&s->p->dev);
	}
	/* Complete in reverse order to exercise out-of-order frees. */
	while (n > 0) {
		n--;
		hvl_vq_dev_push(&s->p->dev, heads[n], lens[n]);
	}
	if (hvl_vq_dev_need_interrupt(&s->p->dev) == 1) {
		s->irqs++;
		s->drv_asleep = 0;
	}
	s->dev_asleep = 1;
}

static void sim_driver_reap(struct sim *s)
{
	if (s->drv_asleep)
		return;
	hvl_vq_drv_disable_cb(&s->p->drv);
	for (unsigned round = 0; round < 4; round++) {
		uint32_t len;
		void *ck;

		while ((ck = hvl_vq_drv_get_used(&s->p->drv, &len)) != NULL) {
			uint32_t seq = (uint32_t)(uintptr_t)ck - 1u;
			unsigned slot = seq % 64u;
			unsigned nsg = 1u + (seq % 3u);
			uint32_t reply;

			memcpy(&reply, buf(slot * 3u + (nsg > 1u ? 1u : 0u)), 4);
			if ((nsg > 1u && (reply != seq * 3u + 1u || len != 4u)) ||
			    (nsg == 1u && len != 0u))
				s->bad++;
			s->completed++;
		}
		if (hvl_vq_drv_broken(&s->p->drv))
			s->bad++;
		if (hvl_vq_drv_enable_cb(&s->p->drv) == 0)
			break;
		hvl_vq_drv_disable_cb(&s->p->drv);
	}
	s->drv_asleep = 1;
}

/* Run @requests through the pair, indexes starting at @start on both sides. */
static void run_sim(struct pair *p, unsigned requests, uint16_t start)
{
	struct sim s;
	unsigned stall = 0;

	memset(&s, 0, sizeof(s));
	s.p = p;
	if (start != 0) {
		/* Move both sides' shadows and the shared indexes consistently. */
		p->drv.avail_idx = p->drv.kicked_idx = p->drv.last_used = start;
		p->dev.last_avail = p->dev.used_idx = p->dev.signalled_used = start;
		hvl_le16_put(&avail_ring()->idx, start);
		hvl_le16_put(&used_ring()->idx, start);
		hvl_le16_put(p->drv.used_event, start);
		hvl_le16_put(p->dev.avail_event, start);
	}
	/* Both start awake: the driver posts, the device polls once. */
	while (s.completed < requests && stall < 8 && s.bad == 0) {
		unsigned before = s.completed;

		sim_driver_post(&s, 1u + (s.posted % 5u));
		sim_device_run(&s);
		sim_driver_reap(&s);
		stall = (s.completed == before) ? stall + 1 : 0;
	}
	CHECK(s.bad == 0);
	CHECK(stall < 8); /* no lost wakeup */
	CHECK(s.completed >= requests);
	/* Everything posted was completed at the end of the last round. */
	CHECK(s.completed == s.posted);
	CHECK(hvl_vq_drv_num_free(&p->drv) == p->num);
	CHECK(p->dev.fault == HVL_VQ_OK && !hvl_vq_drv_broken(&p->drv));
	/* Suppression: at most one kick / interrupt per round, fewer than requests. */
	CHECK(s.kicks <= s.posted && s.irqs <= s.completed);
	CHECK(s.kicks > 0 && s.irqs > 0);
}

static void test_wrap_long(void)
{
	struct pair p;

	/* > 65536 requests through a 4-entry queue: indexes wrap at least once. */
	if (setup(&p, 4, 0) == 0) {
		run_sim(&p, 70000, 0);
		CHECK(p.dev.used_idx == (uint16_t)p.drv.last_used);
	}
	if (setup(&p, 4, HVL_F_EVENT_IDX) == 0)
		run_sim(&p, 70000, 0);
	if (setup(&p, 8, HVL_F_EVENT_IDX | HVL_F_INDIRECT_DESC) == 0) {
		CHECK(hvl_vq_drv_set_indirect(&p.drv, loc(OFF_IND), bus(OFF_IND), 4) == 0);
		run_sim(&p, 70000, 0);
	}
}

static void test_wrap_start(void)
{
	static const uint16_t starts[] = { 0xfff0, 0xffff, 0xfffe, 0x7fff };
	struct pair p;

	for (unsigned i = 0; i < sizeof(starts) / sizeof(starts[0]); i++) {
		if (setup(&p, 8, 0) == 0)
			run_sim(&p, 300, starts[i]);
		if (setup(&p, 8, HVL_F_EVENT_IDX) == 0)
			run_sim(&p, 300, starts[i]);
		if (setup(&p, 2, HVL_F_EVENT_IDX | HVL_F_INDIRECT_DESC) == 0) {
			CHECK(hvl_vq_drv_set_indirect(&p.drv, loc(OFF_IND), bus(OFF_IND), 3) == 0);
			run_sim(&p, 300, starts[i]);
		}
	}
}

/* Post one single-buffer writable chain through the driver and publish. */
static int post_one(struct pair *p, unsigned i, int *kick)
{
	struct hvl_sg sg = { buf_bus(i), 8 };
	int r = hvl_vq_drv_add(&p->drv, &sg, 0, 1, buf(i));

	*kick = hvl_vq_drv_kick_prepare(&p->drv);
	return r;
}

static void test_event_idx(void)
{
	struct pair p;
	struct hvl_chain c;
	int kick;
	uint32_t len;

	if (setup(&p, 8, HVL_F_EVENT_IDX) != 0)
		return;
	chain_init(&c, 4);
	/* Device side suppression of driver notifications (avail_event). */
	CHECK(post_one(&p, 0, &kick) == 0 && kick == 1);     /* avail_event 0 */
	hvl_vq_dev_disable_notify(&p.dev);
	CHECK(hvl_le16_get(&used_ring()->flags) == 0);        /* must stay 0 */
	CHECK(post_one(&p, 1, &kick) == 0 && kick == 0);     /* suppressed */
	CHECK(hvl_vq_dev_pop(&p.dev, &c) == 1);
	CHECK(hvl_vq_dev_pop(&p.dev, &c) == 1);
	CHECK(hvl_vq_dev_pop(&p.dev, &c) == 0);
	CHECK(hvl_vq_dev_enable_notify(&p.dev) == 0);
	CHECK(hvl_le16_get(p.dev.avail_event) == 2);
	CHECK(post_one(&p, 2, &kick) == 0 && kick == 1);
	CHECK(hvl_vq_dev_pop(&p.dev, &c) == 1);              /* enabled: avail_event follows */
	CHECK(hvl_le16_get(p.dev.avail_event) == 3);
	{
		struct hvl_sg sg = { buf_bus(3), 8 };

		CHECK(hvl_vq_drv_add(&p.drv, &sg, 0, 1, buf(3)) == 0);
		CHECK(hvl_vq_drv_add(&p.drv, &sg, 0, 1, buf(4)) == 0);
		CHECK(hvl_vq_drv_kick_prepare(&p.drv) == 1);  /* batch crossed 3 */
	}
	hvl_vq_dev_disable_notify(&p.dev);
	CHECK(post_one(&p, 5, &kick) == 0 && kick == 0);
	CHECK(hvl_vq_dev_enable_notify(&p.dev) == 1);        /* work arrived meanwhile */
	for (int i = 0; i < 3; i++)
		CHECK(hvl_vq_dev_pop(&p.dev, &c) == 1);
	CHECK(p.dev.inflight == 6);

	/* Driver side suppression of device interrupts (used_event). */
	hvl_vq_dev_push(&p.dev, 0, 0);
	CHECK(hvl_vq_dev_need_interrupt(&p.dev) == 1);       /* used_event 0 */
	hvl_vq_dev_push(&p.dev, 1, 0);
	CHECK(hvl_vq_dev_need_interrupt(&p.dev) == 0);       /* already past */
	hvl_vq_drv_disable_cb(&p.drv);
	CHECK(hvl_le16_get(&avail_ring()->flags) == 0);       /* must stay 0 */
	CHECK(hvl_vq_drv_get_used(&p.drv, &len) == buf(0));
	CHECK(hvl_vq_drv_get_used(&p.drv, &len) == buf(1));
	CHECK(hvl_vq_drv_enable_cb(&p.drv) == 0);
	CHECK(hvl_le16_get(p.drv.used_event) == 2);
	hvl_vq_dev_push(&p.dev, 2, 0);
	CHECK(hvl_vq_dev_need_interrupt(&p.dev) == 1);
	hvl_vq_drv_disable_cb(&p.drv);
	hvl_vq_dev_push(&p.dev, 3, 0);
	CHECK(hvl_vq_dev_need_interrupt(&p.dev) == 0);       /* disabled */
	CHECK(hvl_vq_drv_enable_cb(&p.drv) == 1);            /* entries pending */
	CHECK(hvl_vq_drv_get_used(&p.drv, &len) == buf(2));
	CHECK(hvl_vq_drv_get_used(&p.drv, &len) == buf(3));
	CHECK(hvl_vq_drv_enable_cb(&p.drv) == 0);
	hvl_vq_dev_push(&p.dev, 4, 0);
	hvl_vq_dev_push(&p.dev, 5, 0);
	CHECK(hvl_vq_dev_need_interrupt(&p.dev) == 1);       /* batch crossed 4 */
}

/* hvl_vq_drv_enable_cb_delayed: one interrupt per several completions, never past the outstanding. */
static void test_event_idx_delayed(void)
{
	struct pair p;
	struct hvl_chain c;
	int kick;
	uint32_t len;

	if (setup(&p, 8, HVL_F_EVENT_IDX) != 0)
		return;
	chain_init(&c, 4);
	for (unsigned i = 0; i < 4; i++)
		CHECK(post_one(&p, i, &kick) == 0);
	for (unsigned i = 0; i < 4; i++)
		CHECK(hvl_vq_dev_pop(&p.dev, &c) == 1);
	hvl_vq_drv_disable_cb(&p.drv);
	CHECK(hvl_vq_drv_enable_cb_delayed(&p.drv, 2) == 0);
	CHECK(hvl_le16_get(p.drv.used_event) == 1);           /* after 2 more used */
	hvl_vq_dev_push(&p.dev, 0, 0);
	CHECK(hvl_vq_dev_need_interrupt(&p.dev) == 0);
	hvl_vq_dev_push(&p.dev, 1, 0);
	CHECK(hvl_vq_dev_need_interrupt(&p.dev) == 1);
	hvl_vq_drv_disable_cb(&p.drv);
	CHECK(hvl_vq_drv_get_used(&p.drv, &len) == buf(0));
	CHECK(hvl_vq_drv_get_used(&p.drv, &len) == buf(1));
	/* Two outstanding: asking for 10 is capped at 2, or we would sleep forever. */
	CHECK(hvl_vq_drv_enable_cb_delayed(&p.drv, 10) == 0);
	CHECK(hvl_le16_get(p.drv.used_event) == 3);
	hvl_vq_dev_push(&p.dev, 2, 0);
	CHECK(hvl_vq_dev_need_interrupt(&p.dev) == 0);
	hvl_vq_dev_push(&p.dev, 3, 0);
	CHECK(hvl_vq_dev_need_interrupt(&p.dev) == 1);
	CHECK(hvl_vq_drv_enable_cb_delayed(&p.drv, 2) == 1);  /* entries pending */

	/* Without EVENT_IDX it is the plain enable (flags cleared). */
	if (setup(&p, 8, 0) != 0)
		return;
	CHECK(post_one(&p, 0, &kick) == 0);
	CHECK(post_one(&p, 1, &kick) == 0);
	hvl_vq_drv_disable_cb(&p.drv);
	CHECK(hvl_vq_drv_enable_cb_delayed(&p.drv, 2) == 0);
	CHECK(hvl_le16_get(&avail_ring()->flags) == 0);
}

static void test_flags_suppression(void)
{
	struct pair p;
	struct hvl_chain c;
	int kick;
	uint32_t len;

	if (setup(&p, 8, 0) != 0)
		return;
	chain_init(&c, 4);
	CHECK(post_one(&p, 0, &kick) == 0 && kick == 1);
	hvl_vq_dev_disable_notify(&p.dev);
	CHECK(hvl_le16_get(&used_ring()->flags) == HVL_VRING_USED_F_NO_NOTIFY);
	CHECK(post_one(&p, 1, &kick) == 0 && kick == 0);
	CHECK(hvl_vq_dev_enable_notify(&p.dev) == 1);
	CHECK(hvl_le16_get(&used_ring()->flags) == 0);
	CHECK(post_one(&p, 2, &kick) == 0 && kick == 1);
	for (int i = 0; i < 3; i++)
		CHECK(hvl_vq_dev_pop(&p.dev, &c) == 1);

	hvl_vq_drv_disable_cb(&p.drv);
	CHECK(hvl_le16_get(&avail_ring()->flags) == HVL_VRING_AVAIL_F_NO_INTERRUPT);
	hvl_vq_dev_push(&p.dev, 0, 0);
	CHECK(hvl_vq_dev_need_interrupt(&p.dev) == 0);
	CHECK(hvl_vq_drv_enable_cb(&p.drv) == 1);
	CHECK(hvl_vq_drv_get_used(&p.drv, &len) == buf(0));
	hvl_vq_dev_push(&p.dev, 1, 0);
	CHECK(hvl_vq_dev_need_interrupt(&p.dev) == 1);
	hvl_vq_dev_push(&p.dev, 2, 0);
	CHECK(hvl_vq_dev_need_interrupt(&p.dev) == 1);
}

static void test_indirect(void)
{
	struct pair p;
	struct hvl_chain c;
	struct hvl_sg sg[6];
	uint32_t len;
	int ck[8];

	if (setup(&p, 4, HVL_F_INDIRECT_DESC) != 0)
		return;
	CHECK(hvl_vq_drv_set_indirect(&p.drv, loc(OFF_IND), bus(OFF_IND), 1) == -EINVAL);
	CHECK(hvl_vq_drv_set_indirect(&p.drv, loc(OFF_IND + 8), bus(OFF_IND + 8), 4) == -EINVAL);
	CHECK(hvl_vq_drv_set_indirect(&p.drv, loc(OFF_IND), bus(OFF_IND), 4) == 0);
	for (unsigned i = 0; i < 6; i++) {
		sg[i].addr = buf_bus(i);
		sg[i].len = 32u + i;
	}
	/* Four chains of three buffers fit a 4-entry ring: one descriptor each. */
	for (unsigned i = 0; i < 4; i++)
		CHECK(hvl_vq_drv_add(&p.drv, sg, 2, 1, &ck[i]) == 0);
	CHECK(hvl_vq_drv_num_free(&p.drv) == 0);
	CHECK((hvl_le16_get(&desc_tbl()[0].flags) & HVL_VRING_DESC_F_INDIRECT) != 0);
	CHECK(hvl_le32_get(&desc_tbl()[0].len) == 48);
	CHECK(hvl_vq_drv_kick_prepare(&p.drv) == 1);
	chain_init(&c, 8);
	for (unsigned i = 0; i < 4; i++) {
		CHECK(hvl_vq_dev_pop(&p.dev, &c) == 1);
		CHECK(c.n_out == 2 && c.n_in == 1 && c.out_len == 65 && c.in_len == 34);
		CHECK(c.iov[0].base == buf(0) && c.iov[2].base == buf(2));
		hvl_vq_dev_push(&p.dev, c.head, 34);
	}
	for (unsigned i = 0; i < 4; i++)
		CHECK(hvl_vq_drv_get_used(&p.drv, &len) == &ck[i] && len == 34);
	CHECK(hvl_vq_drv_num_free(&p.drv) == 4);

	/* One buffer: direct.  More than ind_max: direct, if it fits the ring. */
	CHECK(hvl_vq_drv_add(&p.drv, sg, 1, 0, &ck[0]) == 0);
	CHECK(hvl_vq_drv_num_free(&p.drv) == 3);
	CHECK(hvl_vq_drv_add(&p.drv, sg, 5, 0, &ck[1]) == -EINVAL); /* > num, > ind_max */
	CHECK(hvl_vq_drv_kick_prepare(&p.drv) == 1);
	CHECK(hvl_vq_dev_pop(&p.dev, &c) == 1);
	CHECK(c.n_out == 1 && (hvl_le16_get(&desc_tbl()[c.head].flags) & HVL_VRING_DESC_F_INDIRECT) == 0);
	hvl_vq_dev_push(&p.dev, c.head, 0);
	CHECK(hvl_vq_drv_get_used(&p.drv, &len) == &ck[0]);

	/*
	 * §2.7.5.3.2: direct descriptors followed by one INDIRECT descriptor is
	 * valid; hand-built, with WRITE set on the indirect one (ignored).
	 */
	{
		struct hvl_vring_desc *d = desc_tbl();
		struct hvl_vring_desc *t = (struct hvl_vring_desc *)(void *)loc(OFF_IND + 4096);
		uint16_t ai = hvl_le16_get(&avail_ring()->idx);

		hvl_le64_put(&d[1].addr, buf_bus(0)); hvl_le32_put(&d[1].len, 4);
		hvl_le16_put(&d[1].flags, HVL_VRING_DESC_F_NEXT); hvl_le16_put(&d[1].next, 3);
		hvl_le64_put(&d[3].addr, bus(OFF_IND + 4096)); hvl_le32_put(&d[3].len, 32);
		hvl_le16_put(&d[3].flags, HVL_VRING_DESC_F_INDIRECT | HVL_VRING_DESC_F_WRITE);
		hvl_le64_put(&t[0].addr, buf_bus(1)); hvl_le32_put(&t[0].len, 5);
		hvl_le16_put(&t[0].flags, HVL_VRING_DESC_F_NEXT); hvl_le16_put(&t[0].next, 1);
		hvl_le64_put(&t[1].addr, buf_bus(2)); hvl_le32_put(&t[1].len, 6);
		hvl_le16_put(&t[1].flags, HVL_VRING_DESC_F_WRITE); hvl_le16_put(&t[1].next, 0);
		hvl_le16_put(&avail_ring()->ring[ai % 4u], 1);
		hvl_le16_put(&avail_ring()->idx, (uint16_t)(ai + 1u));
		CHECK(hvl_vq_dev_pop(&p.dev, &c) == 1);
		CHECK(c.head == 1 && c.n_out == 2 && c.n_in == 1);
		CHECK(c.out_len == 9 && c.in_len == 6 && c.iov[2].base == buf(2));
	}
}

/* ------------------------------------------------------- device faults */

static void put_desc(struct hvl_vring_desc *d, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	hvl_le64_put(&d->addr, addr);
	hvl_le32_put(&d->len, len);
	hvl_le16_put(&d->flags, flags);
	hvl_le16_put(&d->next, next);
}

/* Publish one head as a hostile driver would, bypassing vq_driver.c. */
static void raw_post(struct pair *p, uint16_t head)
{
	uint16_t ai = hvl_le16_get(&avail_ring()->idx);

	hvl_le16_put(&avail_ring()->ring[ai & (p->num - 1u)], head);
	hvl_le16_put(&avail_ring()->idx, (uint16_t)(ai + 1u));
}

/* Pop must fail with @err / @fault, and keep failing the same way. */
static void expect_fault(struct pair *p, struct hvl_chain *c, int err, enum hvl_vq_fault fault)
{
	int r = hvl_vq_dev_pop(&p->dev, c);

	CHECK(r == err);
	CHECK(p->dev.fault == fault);
	if (r != err || p->dev.fault != fault)
		fprintf(stderr, "  got %d (%s), want %d (%s)\n", r,
			hvl_vq_fault_str(p->dev.fault), err, hvl_vq_fault_str(fault));
	/* The queue stays broken, even once a valid chain is offered. */
	put_desc(&desc_tbl()[0], buf_bus(0), 8, 0, 0);
	raw_post(p, 0);
	CHECK(hvl_vq_dev_pop(&p->dev, c) == err);
	CHECK(hvl_vq_dev_has_work(&p->dev) == 0);
	CHECK(hvl_vq_dev_enable_notify(&p->dev) == 0);
	CHECK(p->dev.fault == fault);
}

enum { F_PLAIN = 0, F_IND = 1 };

static int fsetup(struct pair *p, struct hvl_chain *c, int ind)
{
	if (setup(p, 8, ind ? HVL_F_INDIRECT_DESC : 0) != 0)
		return -1;
	chain_init(c, 16);
	return 0;
}

static void test_faults_direct(void)
{
	struct pair p;
	struct hvl_chain c;
	struct hvl_vring_desc *d = desc_tbl();
	const uint16_t N = HVL_VRING_DESC_F_NEXT, W = HVL_VRING_DESC_F_WRITE;

	/* Descriptor loops: two-element cycle and self loop. */
	if (fsetup(&p, &c, F_PLAIN) == 0) {
		put_desc(&d[0], buf_bus(0), 8, N, 1);
		put_desc(&d[1], buf_bus(1), 8, N, 0);
		raw_post(&p, 0);
		expect_fault(&p, &c, -EPROTO, HVL_VQ_FAULT_LOOP);
	}
	if (fsetup(&p, &c, F_PLAIN) == 0) {
		put_desc(&d[5], buf_bus(0), 8, N, 5);
		raw_post(&p, 5);
		expect_fault(&p, &c, -EPROTO, HVL_VQ_FAULT_LOOP);
	}
	/* Buffers outside the window: below, straddling the end, overflow. */
	if (fsetup(&p, &c, F_PLAIN) == 0) {
		put_desc(&d[0], BUS_BASE - 16, 8, 0, 0);
		raw_post(&p, 0);
		expect_fault(&p, &c, -EFAULT, HVL_VQ_FAULT_ADDRESS);
	}
	if (fsetup(&p, &c, F_PLAIN) == 0) {
		put_desc(&d[0], buf_bus(0), 8, N, 1);
		put_desc(&d[1], BUS_BASE + MEM_SIZE - 4, 8, W, 0);
		raw_post(&p, 0);
		expect_fault(&p, &c, -EFAULT, HVL_VQ_FAULT_ADDRESS);
	}
	if (fsetup(&p, &c, F_PLAIN) == 0) {
		put_desc(&d[0], UINT64_MAX - 15, 0x20, 0, 0);
		raw_post(&p, 0);
		expect_fault(&p, &c, -EFAULT, HVL_VQ_FAULT_ADDRESS);
	}
	if (fsetup(&p, &c, F_PLAIN) == 0) {
		put_desc(&d[0], buf_bus(0), 0xfffffff0u, 0, 0); /* addr+len past the window */
		raw_post(&p, 0);
		expect_fault(&p, &c, -EFAULT, HVL_VQ_FAULT_ADDRESS);
	}
	/* Avail idx jumps by more than num, or backwards. */
	if (fsetup(&p, &c, F_PLAIN) == 0) {
		hvl_le16_put(&avail_ring()->idx, 9);
		CHECK(hvl_vq_dev_has_work(&p.dev) == 1);
		expect_fault(&p, &c, -EPROTO, HVL_VQ_FAULT_AVAIL_IDX);
	}
	if (fsetup(&p, &c, F_PLAIN) == 0) {
		hvl_le16_put(&avail_ring()->idx, 0xffff);
		expect_fault(&p, &c, -EPROTO, HVL_VQ_FAULT_AVAIL_IDX);
	}
	/* More outstanding than num once we count what we hold. */
	if (fsetup(&p, &c, F_PLAIN) == 0) {
		put_desc(&d[0], buf_bus(0), 8, 0, 0);
		for (int i = 0; i < 8; i++)
			raw_post(&p, 0);
		for (int i = 0; i < 8; i++)
			CHECK(hvl_vq_dev_pop(&p.dev, &c) == 1);
		raw_post(&p, 0);
		expect_fault(&p, &c, -EPROTO, HVL_VQ_FAULT_AVAIL_IDX);
	}
	/* Head and next out of range. */
	if (fsetup(&p, &c, F_PLAIN) == 0) {
		raw_post(&p, 8);
		expect_fault(&p, &c, -EPROTO, HVL_VQ_FAULT_HEAD);
	}
	if (fsetup(&p, &c, F_PLAIN) == 0) {
		put_desc(&d[0], buf_bus(0), 8, N, 8);
		raw_post(&p, 0);
		expect_fault(&p, &c, -EPROTO, HVL_VQ_FAULT_NEXT);
	}
	/* Readable after writable. */
	if (fsetup(&p, &c, F_PLAIN) == 0) {
		put_desc(&d[0], buf_bus(0), 8, N, 1);
		put_desc(&d[1], buf_bus(1), 8, N | W, 2);
		put_desc(&d[2], buf_bus(2), 8, 0, 0);
		raw_post(&p, 0);
		expect_fault(&p, &c, -EPROTO, HVL_VQ_FAULT_ORDER);
	}
	/* Zero length. */
	if (fsetup(&p, &c, F_PLAIN) == 0) {
		put_desc(&d[0], buf_bus(0), 8, N, 1);
		put_desc(&d[1], buf_bus(1), 0, W, 0);
		raw_post(&p, 0);
		expect_fault(&p, &c, -EPROTO, HVL_VQ_FAULT_ZERO_LEN);
	}
	/* More iov than the caller's capacity. */
	if (fsetup(&p, &c, F_PLAIN) == 0) {
		c.cap = 2;
		put_desc(&d[0], buf_bus(0), 8, N, 1);
		put_desc(&d[1], buf_bus(1), 8, N, 2);
		put_desc(&d[2], buf_bus(2), 8, 0, 0);
		raw_post(&p, 0);
		expect_fault(&p, &c, -EPROTO, HVL_VQ_FAULT_TOO_BIG);
	}
	/* Boundary: a loop-free chain of exactly num descriptors is fine. */
	if (fsetup(&p, &c, F_PLAIN) == 0) {
		for (uint16_t i = 0; i < 7; i++)
			put_desc(&d[i], buf_bus(i), 8, N, (uint16_t)(i + 1u));
		put_desc(&d[7], buf_bus(7), 8, W, 0);
		raw_post(&p, 0);
		CHECK(hvl_vq_dev_pop(&p.dev, &c) == 1);
		CHECK(c.n_out == 7 && c.n_in == 1 && p.dev.fault == HVL_VQ_OK);
	}
	/* A caller bug (no iov) is not a peer fault. */
	if (fsetup(&p, &c, F_PLAIN) == 0) {
		struct hvl_chain bad;

		memset(&bad, 0, sizeof(bad));
		put_desc(&d[0], buf_bus(0), 8, 0, 0);
		raw_post(&p, 0);
		CHECK(hvl_vq_dev_pop(&p.dev, &bad) == -EINVAL);
		CHECK(p.dev.fault == HVL_VQ_OK);
		CHECK(hvl_vq_dev_pop(&p.dev, &c) == 1);
	}
}

static void test_faults_indirect(void)
{
	struct pair p;
	struct hvl_chain c;
	struct hvl_vring_desc *d = desc_tbl();
	struct hvl_vring_desc *t = (struct hvl_vring_desc *)(void *)loc(OFF_IND);
	const uint16_t N = HVL_VRING_DESC_F_NEXT, W = HVL_VRING_DESC_F_WRITE;
	const uint16_t I = HVL_VRING_DESC_F_INDIRECT;

	/* INDIRECT without the feature. */
	if (fsetup(&p, &c, F_PLAIN) == 0) {
		put_desc(&t[0], buf_bus(0), 8, 0, 0);
		put_desc(&d[0], bus(OFF_IND), 16, I, 0);
		raw_post(&p, 0);
		expect_fault(&p, &c, -EPROTO, HVL_VQ_FAULT_INDIRECT);
	}
	/* Nested. */
	if (fsetup(&p, &c, F_IND) == 0) {
		put_desc(&t[0], buf_bus(0), 8, N, 1);
		put_desc(&t[1], bus(OFF_IND + 256), 16, I, 0);
		put_desc(&d[0], bus(OFF_IND), 32, I, 0);
		raw_post(&p, 0);
		expect_fault(&p, &c, -EPROTO, HVL_VQ_FAULT_INDIRECT);
	}
	/* Length zero, not a multiple of 16, more than 32768 entries. */
	if (fsetup(&p, &c, F_IND) == 0) {
		put_desc(&d[0], bus(OFF_IND), 0, I, 0);
		raw_post(&p, 0);
		expect_fault(&p, &c, -EPROTO, HVL_VQ_FAULT_INDIRECT);
	}
	if (fsetup(&p, &c, F_IND) == 0) {
		put_desc(&t[0], buf_bus(0), 8, 0, 0);
		put_desc(&d[0], bus(OFF_IND), 24, I, 0);
		raw_post(&p, 0);
		expect_fault(&p, &c, -EPROTO, HVL_VQ_FAULT_INDIRECT);
	}
	if (fsetup(&p, &c, F_IND) == 0) {
		put_desc(&d[0], bus(OFF_IND), 32769u * 16u, I, 0);
		raw_post(&p, 0);
		expect_fault(&p, &c, -EPROTO, HVL_VQ_FAULT_INDIRECT);
	}
	/* INDIRECT together with NEXT. */
	if (fsetup(&p, &c, F_IND) == 0) {
		put_desc(&t[0], buf_bus(0), 8, 0, 0);
		put_desc(&d[0], bus(OFF_IND), 16, I | N, 1);
		put_desc(&d[1], buf_bus(1), 8, 0, 0);
		raw_post(&p, 0);
		expect_fault(&p, &c, -EPROTO, HVL_VQ_FAULT_INDIRECT);
	}
	/* Table outside the window. */
	if (fsetup(&p, &c, F_IND) == 0) {
		put_desc(&d[0], BUS_BASE + MEM_SIZE - 16, 32, I, 0);
		raw_post(&p, 0);
		expect_fault(&p, &c, -EFAULT, HVL_VQ_FAULT_ADDRESS);
	}
	/* Buffer inside a table outside the window. */
	if (fsetup(&p, &c, F_IND) == 0) {
		put_desc(&t[0], BUS_BASE - 4096, 8, 0, 0);
		put_desc(&d[0], bus(OFF_IND), 16, I, 0);
		raw_post(&p, 0);
		expect_fault(&p, &c, -EFAULT, HVL_VQ_FAULT_ADDRESS);
	}
	/* next beyond the table (but < num), and a loop inside the table. */
	if (fsetup(&p, &c, F_IND) == 0) {
		put_desc(&t[0], buf_bus(0), 8, N, 2);
		put_desc(&t[1], buf_bus(1), 8, 0, 0);
		put_desc(&d[0], bus(OFF_IND), 32, I, 0);
		raw_post(&p, 0);
		expect_fault(&p, &c, -EPROTO, HVL_VQ_FAULT_NEXT);
	}
	if (fsetup(&p, &c, F_IND) == 0) {
		put_desc(&t[0], buf_bus(0), 8, N, 1);
		put_desc(&t[1], buf_bus(1), 8, N, 0);
		put_desc(&d[0], bus(OFF_IND), 32, I, 0);
		raw_post(&p, 0);
		expect_fault(&p, &c, -EPROTO, HVL_VQ_FAULT_LOOP);
	}
	/* Boundary: a table used to its last entry, 16 entries. */
	if (fsetup(&p, &c, F_IND) == 0) {
		for (uint16_t i = 0; i < 16; i++)
			put_desc(&t[i], buf_bus(i), 8, i < 15 ? N : W, (uint16_t)(i + 1u));
		put_desc(&d[0], bus(OFF_IND), 16u * 16u, I, 0);
		raw_post(&p, 0);
		CHECK(hvl_vq_dev_pop(&p.dev, &c) == 1);
		CHECK(c.n_out == 15 && c.n_in == 1 && c.iov[15].base == buf(15));
	}
	/* Readable after writable across the ring/table boundary. */
	if (fsetup(&p, &c, F_IND) == 0) {
		put_desc(&d[0], buf_bus(0), 8, N | W, 1);
		put_desc(&t[0], buf_bus(1), 8, 0, 0);
		put_desc(&d[1], bus(OFF_IND), 16, I, 0);
		raw_post(&p, 0);
		expect_fault(&p, &c, -EPROTO, HVL_VQ_FAULT_ORDER);
	}
	/* Total above 4 GiB: 1400 entries of 3 MiB, each inside the window. */
	if (fsetup(&p, &c, F_IND) == 0) {
		for (unsigned i = 0; i < 1400; i++)
			put_desc(&t[i], BUS_BASE, 3u << 20, N, (uint16_t)(i + 1u));
		hvl_le16_put(&t[1399].flags, 0);
		put_desc(&d[0], bus(OFF_IND), 1400u * 16u, I, 0);
		raw_post(&p, 0);
		c.cap = 2048;
		expect_fault(&p, &c, -EPROTO, HVL_VQ_FAULT_TOO_BIG);
	}
}

static void test_geometry(void)
{
	struct pair p;
	struct hvl_vq_dev dev;
	struct hvl_window w = { mem, BUS_BASE, MEM_SIZE };
	struct hvl_chain c;
	const uint64_t D = bus(OFF_DESC), A = bus(OFF_AVAIL), U = bus(OFF_USED);

	memset(&p, 0, sizeof(p));
	chain_init(&c, 4);
	CHECK(hvl_vq_dev_init(&dev, &w, 8, D, A, U, 0, NULL, NULL) == 0);
	CHECK(hvl_vq_dev_init(&dev, &w, HVL_VRING_MAX_SIZE, D, A, U, 0, NULL, NULL) == 0);
	CHECK(hvl_vq_dev_init(&dev, &w, 1, D, A, U, 0, NULL, NULL) == 0);
#define BAD(expr)                                                              \
	do {                                                                   \
		CHECK((expr) == -EINVAL);                                      \
		CHECK(dev.fault == HVL_VQ_FAULT_GEOMETRY);                      \
		CHECK(hvl_vq_dev_pop(&dev, &c) == -EINVAL);                     \
		CHECK(hvl_vq_dev_has_work(&dev) == 0);                          \
	} while (0)
	BAD(hvl_vq_dev_init(&dev, &w, 0, D, A, U, 0, NULL, NULL));
	BAD(hvl_vq_dev_init(&dev, &w, 3, D, A, U, 0, NULL, NULL));
	BAD(hvl_vq_dev_init(&dev, &w, 12, D, A, U, 0, NULL, NULL));
	BAD(hvl_vq_dev_init(&dev, &w, 8, D + 8, A, U, 0, NULL, NULL));  /* desc not 16-aligned */
	BAD(hvl_vq_dev_init(&dev, &w, 8, D, A + 1, U, 0, NULL, NULL));  /* avail odd */
	BAD(hvl_vq_dev_init(&dev, &w, 8, D, A, U + 2, 0, NULL, NULL));  /* used not 4-aligned */
	BAD(hvl_vq_dev_init(&dev, &w, 8, BUS_BASE - 16, A, U, 0, NULL, NULL));
	/* Avail ring fits, its used_event word does not. */
	BAD(hvl_vq_dev_init(&dev, &w, 8, D, BUS_BASE + MEM_SIZE - 20, U, 0, NULL, NULL));
	/* Used ring fits except the avail_event word. */
	BAD(hvl_vq_dev_init(&dev, &w, 8, D, A, BUS_BASE + MEM_SIZE - 68, 0, NULL, NULL));
	BAD(hvl_vq_dev_init(&dev, &w, 8, D, A, UINT64_MAX - 3, 0, NULL, NULL));
	/* Used ring overlapping what we read. */
	BAD(hvl_vq_dev_init(&dev, &w, 8, D, A, D + 64, 0, NULL, NULL));
	BAD(hvl_vq_dev_init(&dev, &w, 8, D, A, A, 0, NULL, NULL));
	/* Queue too big for the window. */
	w.size = 4096;
	BAD(hvl_vq_dev_init(&dev, &w, 512, D, D + 8192, D + 16384, 0, NULL, NULL));
	w.size = 0;
	BAD(hvl_vq_dev_init(&dev, &w, 8, D, A, U, 0, NULL, NULL));
	BAD(hvl_vq_dev_init(&dev, NULL, 8, D, A, U, 0, NULL, NULL));
#undef BAD
	for (int f = HVL_VQ_OK; f <= HVL_VQ_FAULT_GEOMETRY; f++)
		CHECK(hvl_vq_fault_str((enum hvl_vq_fault)f) != NULL);
	CHECK(strcmp(hvl_vq_fault_str(HVL_VQ_FAULT_LOOP), hvl_vq_fault_str(HVL_VQ_FAULT_NEXT)) != 0);
}

/* ------------------------------------------------------- driver checks */

/* Post n single-buffer chains (in 16 bytes each) and let the device pop them. */
static void drv_prime(struct pair *p, unsigned n, int *ck)
{
	struct hvl_chain c;

	chain_init(&c, 4);
	for (unsigned i = 0; i < n; i++) {
		struct hvl_sg sg = { buf_bus(i), 16 };

		CHECK(hvl_vq_drv_add(&p->drv, &sg, 0, 1, &ck[i]) == 0);
	}
	CHECK(hvl_vq_drv_kick_prepare(&p->drv) == 1);
	for (unsigned i = 0; i < n; i++)
		CHECK(hvl_vq_dev_pop(&p->dev, &c) == 1);
}

/* Write a used element as a hostile device would. */
static void raw_used(uint16_t num, uint32_t id, uint32_t len)
{
	uint16_t ui = hvl_le16_get(&used_ring()->idx);

	hvl_le32_put(&used_ring()->ring[ui & (num - 1u)].id, id);
	hvl_le32_put(&used_ring()->ring[ui & (num - 1u)].len, len);
	hvl_le16_put(&used_ring()->idx, (uint16_t)(ui + 1u));
}

static void expect_broken(struct pair *p)
{
	struct hvl_sg sg = { buf_bus(0), 8 };
	uint32_t len;
	int x;

	CHECK(hvl_vq_drv_get_used(&p->drv, &len) == NULL);
	CHECK(hvl_vq_drv_broken(&p->drv) == 1);
	/* Stays broken. */
	CHECK(hvl_vq_drv_get_used(&p->drv, &len) == NULL);
	CHECK(hvl_vq_drv_add(&p->drv, &sg, 1, 0, &x) == -EIO);
	CHECK(hvl_vq_drv_more_used(&p->drv) == 0);
	CHECK(hvl_vq_drv_enable_cb(&p->drv) == 0);
}

static void test_driver_checks(void)
{
	struct pair p;
	int ck[8];
	uint32_t len;

	/* Used id >= num. */
	if (setup(&p, 8, 0) == 0) {
		drv_prime(&p, 2, ck);
		raw_used(8, 8, 0);
		expect_broken(&p);
	}
	if (setup(&p, 8, 0) == 0) {
		drv_prime(&p, 2, ck);
		raw_used(8, 0x10000u, 0);
		expect_broken(&p);
	}
	/* Used id in range but not outstanding. */
	if (setup(&p, 8, 0) == 0) {
		drv_prime(&p, 2, ck);
		raw_used(8, 5, 0);
		expect_broken(&p);
	}
	/* Duplicate used id. */
	if (setup(&p, 8, 0) == 0) {
		drv_prime(&p, 2, ck);
		raw_used(8, 1, 4);
		raw_used(8, 1, 4);
		CHECK(hvl_vq_drv_get_used(&p.drv, &len) == &ck[1] && len == 4);
		expect_broken(&p);
	}
	/* Used len above the posted writable bytes (16). */
	if (setup(&p, 8, 0) == 0) {
		drv_prime(&p, 2, ck);
		raw_used(8, 0, 16);
		CHECK(hvl_vq_drv_get_used(&p.drv, &len) == &ck[0] && len == 16);
		raw_used(8, 1, 17);
		expect_broken(&p);
	}
	/* Used idx ahead of what was ever published. */
	if (setup(&p, 8, 0) == 0) {
		drv_prime(&p, 2, ck);
		raw_used(8, 0, 0);
		raw_used(8, 1, 0);
		raw_used(8, 0, 0);
		expect_broken(&p);
	}
}

/* ----------------------------------------------------------- cache hooks */

static unsigned n_flush, n_inval;
static void cnt_flush(void *ctx, const void *p, size_t len)
{
	(void)ctx;
	CHECK((const uint8_t *)p >= mem && (const uint8_t *)p + len <= mem + MEM_SIZE);
	n_flush++;
}
static void cnt_inval(void *ctx, const void *p, size_t len)
{
	(void)ctx;
	CHECK((const uint8_t *)p >= mem && (const uint8_t *)p + len <= mem + MEM_SIZE);
	n_inval++;
}

static void test_cache_hooks(void)
{
	static const struct hvl_cache_ops ops = { cnt_flush, cnt_inval };
	struct hvl_vq_drv drv;
	struct hvl_vq_dev dev;
	struct hvl_window w = { mem, BUS_BASE, MEM_SIZE };
	struct hvl_chain c;
	struct hvl_sg sg = { buf_bus(0), 8 };
	unsigned f0, i0;
	uint32_t len;
	int x;

	memset(mem, 0, sizeof(mem));
	CHECK(hvl_vq_dev_init(&dev, &w, 8, bus(OFF_DESC), bus(OFF_AVAIL), bus(OFF_USED),
			      HVL_F_EVENT_IDX, &ops, NULL) == 0);
	CHECK(hvl_vq_drv_init(&drv, loc(OFF_DESC), loc(OFF_AVAIL), loc(OFF_USED), 8,
			      HVL_F_EVENT_IDX, storage, sizeof(storage), &ops, NULL) == 0);
	CHECK(n_flush >= 3);
	f0 = n_flush; i0 = n_inval;
	CHECK(hvl_vq_drv_add(&drv, &sg, 0, 1, &x) == 0);
	CHECK(n_flush > f0);                /* descriptor + avail entry */
	f0 = n_flush;
	CHECK(hvl_vq_drv_kick_prepare(&drv) == 1);
	CHECK(n_flush > f0 && n_inval > i0); /* idx flushed, avail_event invalidated */
	f0 = n_flush; i0 = n_inval;
	chain_init(&c, 4);
	CHECK(hvl_vq_dev_pop(&dev, &c) == 1);
	CHECK(n_inval >= i0 + 3);            /* idx, ring entry, descriptor */
	f0 = n_flush;
	hvl_vq_dev_push(&dev, c.head, 1);
	CHECK(n_flush >= f0 + 2);            /* element, idx */
	i0 = n_inval;
	CHECK(hvl_vq_dev_need_interrupt(&dev) == 1);
	CHECK(n_inval > i0);                 /* used_event */
	i0 = n_inval;
	CHECK(hvl_vq_drv_get_used(&drv, &len) == &x);
	CHECK(n_inval >= i0 + 2);            /* idx, element */
}

/* ------------------------------------------- two processes, two mappings */

/*
 * STYLE.md 16: the driver and the device in separate processes, mapping one
 * memfd at different addresses, polling each other concurrently.  This
 * exercises the acquire/release pairs for real.
 */
static void test_two_processes(void)
{
	const size_t size = 1u << 20;
	const unsigned requests = 200000;
	const uint16_t num = 64;
	int fd = memfd_create("hvl-test-ring", 0);
	uint8_t *drv_map, *dev_map;
	pid_t pid;
	int status = 0;

	CHECK(fd >= 0);
	if (fd < 0 || ftruncate(fd, (off_t)size) != 0) {
		CHECK(0);
		return;
	}
	drv_map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(drv_map != MAP_FAILED);
	if (drv_map == MAP_FAILED)
		return;

	pid = fork();
	if (pid == 0) {
		/* Device: its own mapping, a different local address. */
		struct hvl_vq_dev dev;
		struct hvl_window w;
		struct hvl_iov iov[4];
		struct hvl_chain c;
		unsigned done = 0;

		dev_map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (dev_map == MAP_FAILED || dev_map == drv_map)
			_exit(2);
		alarm(60);
		w.local = dev_map;
		w.bus = BUS_BASE;
		w.size = size;
		/* Wait for the driver to have zeroed its parts: avail flags magic. */
		while (__atomic_load_n((volatile uint32_t *)(void *)(dev_map + 0xff000), __ATOMIC_ACQUIRE) != 1u)
			;
		if (hvl_vq_dev_init(&dev, &w, num, BUS_BASE, BUS_BASE + 0x1000, BUS_BASE + 0x2000,
				    HVL_F_EVENT_IDX | HVL_F_INDIRECT_DESC, NULL, NULL) != 0)
			_exit(3);
		__atomic_store_n((uint32_t *)(void *)(dev_map + 0xff004), 1u, __ATOMIC_RELEASE);
		memset(&c, 0, sizeof(c));
		c.iov = iov;
		c.cap = 4;
		while (done < requests) {
			int r = hvl_vq_dev_pop(&dev, &c);
			uint32_t v;

			if (r < 0)
				_exit(4);
			if (r == 0)
				continue;
			if (c.n_out != 1 || c.n_in != 1 || c.iov[0].len != 4)
				_exit(5);
			memcpy(&v, c.iov[0].base, 4);
			v = ~v;
			memcpy(c.iov[1].base, &v, 4);
			hvl_vq_dev_push(&dev, c.head, 4);
			done++;
		}
		_exit(0);
	}
	CHECK(pid > 0);
	if (pid > 0) {
		struct hvl_vq_drv drv;
		unsigned sent = 0, got = 0, bad = 0;

		CHECK(hvl_vq_drv_init(&drv, drv_map, drv_map + 0x1000, drv_map + 0x2000, num,
				      HVL_F_EVENT_IDX | HVL_F_INDIRECT_DESC, storage,
				      sizeof(storage), NULL, NULL) == 0);
		CHECK(hvl_vq_drv_set_indirect(&drv, drv_map + 0x10000, BUS_BASE + 0x10000, 2) == 0);
		__atomic_store_n((uint32_t *)(void *)(drv_map + 0xff000), 1u, __ATOMIC_RELEASE);
		while (__atomic_load_n((volatile uint32_t *)(void *)(drv_map + 0xff004), __ATOMIC_ACQUIRE) != 1u)
			;
		while (got < requests && bad == 0) {
			uint32_t len;
			void *ck;

			while (sent < requests && hvl_vq_drv_num_free(&drv) > 0) {
				unsigned slot = sent % 1024u;
				uint32_t v = sent;
				struct hvl_sg sg[2] = {
					{ BUS_BASE + 0x20000 + slot * 8u, 4 },
					{ BUS_BASE + 0x20000 + slot * 8u + 4u, 4 },
				};

				memcpy(drv_map + 0x20000 + slot * 8u, &v, 4);
				if (hvl_vq_drv_add(&drv, sg, 1, 1, (void *)(uintptr_t)(sent + 1u)) != 0)
					break;
				sent++;
			}
			(void)hvl_vq_drv_kick_prepare(&drv);
			while ((ck = hvl_vq_drv_get_used(&drv, &len)) != NULL) {
				uint32_t seq = (uint32_t)(uintptr_t)ck - 1u, v;

				memcpy(&v, drv_map + 0x20000 + (seq % 1024u) * 8u + 4u, 4);
				if (len != 4 || v != ~seq)
					bad++;
				got++;
			}
			if (hvl_vq_drv_broken(&drv))
				bad++;
		}
		CHECK(bad == 0);
		CHECK(got == requests);
		CHECK(waitpid(pid, &status, 0) == pid);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	munmap(drv_map, size);
	close(fd);
}

/* ------------------------------------------------------------------ main */

static void run(const char *name, void (*fn)(void))
{
	unsigned before = g_failed;

	fn();
	g_tests++;
	if (g_failed != before) {
		g_tests_failed++;
		fprintf(stderr, "FAIL %s\n", name);
	} else {
		printf("ok   %s\n", name);
	}
}

#define RUN(fn) run(#fn, fn)

int main(void)
{
	RUN(test_need_event);
	RUN(test_translate);
	RUN(test_roundtrip);
	RUN(test_driver_add_limits);
	RUN(test_event_idx);
	RUN(test_event_idx_delayed);
	RUN(test_flags_suppression);
	RUN(test_indirect);
	RUN(test_wrap_long);
	RUN(test_wrap_start);
	RUN(test_faults_direct);
	RUN(test_faults_indirect);
	RUN(test_geometry);
	RUN(test_driver_checks);
	RUN(test_cache_hooks);
	RUN(test_two_processes);
	printf("test_ring: %u passed, %u failed (%u checks, %u failed)\n",
	       g_tests - g_tests_failed, g_tests_failed, g_checks, g_failed);
	return (g_failed == 0) ? 0 : 1;
}

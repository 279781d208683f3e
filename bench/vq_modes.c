/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hvl-bench virtqueue modes: our ring (hvl_vq_drv in the driver process,
 * hvl_vq_dev in the device process) with the futex doorbell.
 * d/e) request/response round trip, polled and with the doorbell;
 * f) one-way 64-byte messages in batches with EVENT_IDX;
 * g) the idle loop a PMM device thread runs, imitated in-process (the real
 * daemon is measured by pmm_modes.c).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>

#include "bench.h"
#include "hvl/vq_device.h"
#include "hvl/vq_driver.h"

/* ----------------------------------------------------- virtqueue set-up */

static const uint64_t vq_features = HVL_F_VERSION_1 | HVL_F_EVENT_IDX;

struct drv_side {
	struct hvl_vq_drv vq;
	uint64_t storage[(HVL_VQ_DRV_STORAGE(QSIZE) + 7u) / 8u];
	struct hvl_doorbell db;
};

struct dev_side {
	struct hvl_vq_dev vq;
	struct hvl_doorbell db;
	struct hvl_iov iov[4];
	struct hvl_chain c;
};

static uint64_t drv_bus(const struct view *v, const void *p)
{
	return BUS_BASE + (uint64_t)((const uint8_t *)p - v->win);
}

static uint8_t *data_buf(const struct view *v, unsigned i)
{
	return v->win + DATA_OFF + (size_t)i * MSG_LEN;
}

static int drv_setup(struct drv_side *d, struct view *v)
{
	int r = hvl_vq_drv_init(&d->vq, v->win + DESC_OFF, v->win + AVAIL_OFF, v->win + USED_OFF,
				QSIZE, vq_features, d->storage, sizeof d->storage, NULL, NULL);

	if (r != 0) {
		fprintf(stderr, "hvl-bench: hvl_vq_drv_init: %d\n", r);
		return -1;
	}
	/* Driver rings to_dev, sleeps on to_drv. */
	return hvl_doorbell_open(&d->db, HVL_DOORBELL_FUTEX, &v->ctl->to_dev, &v->ctl->to_drv, -1, -1);
}

static int dev_setup(struct dev_side *d, struct view *v)
{
	struct hvl_window w = { v->win, BUS_BASE, WIN_SIZE };
	int r = hvl_vq_dev_init(&d->vq, &w, QSIZE, BUS_BASE + DESC_OFF, BUS_BASE + AVAIL_OFF,
				BUS_BASE + USED_OFF, vq_features, NULL, NULL);

	if (r != 0) {
		fprintf(stderr, "hvl-bench: hvl_vq_dev_init: %d (%s)\n", r, hvl_vq_fault_str(d->vq.fault));
		return -1;
	}
	d->c.iov = d->iov;
	d->c.cap = 4;
	/* Start busy: notifications are enabled only right before sleeping. */
	hvl_vq_dev_disable_notify(&d->vq);
	return hvl_doorbell_open(&d->db, HVL_DOORBELL_FUTEX, &v->ctl->to_drv, &v->ctl->to_dev, -1, -1);
}

static void dev_report(struct dev_side *d, struct view *v)
{
	v->ctl->dev_rings = d->db.rings;
	v->ctl->dev_syscalls = d->db.syscalls;
}

/*
 * Device: pop one chain, or sleep.  In doorbell mode this is the standard
 * race-free pattern: re-enable notifications, re-check the ring, only then
 * wait; polled mode spins on the ring.  Returns 1 with a chain in d->c,
 * 0 on stop, -1 on error.
 */
static int dev_next(struct bench *b, struct dev_side *d, struct view *v, enum vq_mode mode)
{
	int64_t t0 = 0;
	unsigned n = 0;
	int r;

	for (;;) {
		r = hvl_vq_dev_pop(&d->vq, &d->c);
		if (r != 0) {
			if (r < 0)
				fprintf(stderr, "hvl-bench: device pop: %s\n", hvl_vq_fault_str(d->vq.fault));
			return r;
		}
		if (ld(&v->ctl->stop) != 0u)
			return 0;
		if (mode == VQ_POLLED) {
			cpu_relax();
			continue;
		}
		if (b->spin_ns > 0) {
			if (t0 == 0)
				t0 = now_ns();
			if ((++n & 63u) != 0u || now_ns() - t0 < b->spin_ns) {
				cpu_relax();
				continue;
			}
		}
		/*
		 * Standard race-free sleep: ask for notifications, re-check the
		 * ring, only then wait.  Notifications stay off while we work:
		 * with them on, every pop republishes avail_event behind a fence.
		 */
		if (hvl_vq_dev_enable_notify(&d->vq) == 0)
			(void)hvl_doorbell_ops.wait(&d->db, 100);
		hvl_vq_dev_disable_notify(&d->vq);
		t0 = 0;
	}
}

/* ------------------------------------------- d/e) request/response RTT */

int rr_dev(struct bench *b, struct view *v)
{
	enum vq_mode mode = (enum vq_mode)b->mode;
	struct dev_side d;
	int r;

	if (dev_setup(&d, v) != 0)
		return -1;
	st(&v->ctl->ready, 1u);
	for (;;) {
		r = dev_next(b, &d, v, mode);
		if (r <= 0)
			break;
		if (d.c.n_out != 1u || d.c.n_in != 1u || d.iov[0].len != MSG_LEN || d.iov[1].len != MSG_LEN) {
			v->ctl->dev_errors++;
			hvl_vq_dev_push(&d.vq, d.c.head, 0);
		} else {
			/* The echo is the work: copy the request into the response. */
			memcpy(d.iov[1].base, d.iov[0].base, MSG_LEN);
			hvl_vq_dev_push(&d.vq, d.c.head, MSG_LEN);
		}
		v->ctl->dev_msgs++;
		/* Polled: the driver spins on the used ring, no interrupt decision. */
		if (mode == VQ_DOORBELL && hvl_vq_dev_need_interrupt(&d.vq))
			hvl_doorbell_ops.ring(&d.db);
	}
	dev_report(&d, v);
	return r;
}

/* Driver: take the response, spinning (polled) or sleeping (doorbell). */
static void *drv_get(struct bench *b, struct drv_side *d, enum vq_mode mode, uint32_t *len)
{
	int64_t t0 = 0, start = now_ns();
	unsigned n = 0;
	void *ck;

	for (;;) {
		ck = hvl_vq_drv_get_used(&d->vq, len);
		if (ck != NULL || hvl_vq_drv_broken(&d->vq))
			return ck;
		if (mode == VQ_POLLED) {
			cpu_relax();
			if ((++n & 0xffffu) == 0u && now_ns() - start > STUCK_NS)
				return NULL;
			continue;
		}
		if (b->spin_ns > 0) {
			if (t0 == 0)
				t0 = now_ns();
			if ((++n & 63u) != 0u || now_ns() - t0 < b->spin_ns) {
				cpu_relax();
				continue;
			}
		}
		/* Ask for an interrupt, then re-check before sleeping. */
		if (hvl_vq_drv_enable_cb(&d->vq) != 0)
			continue;
		(void)hvl_doorbell_ops.wait(&d->db, 1000);
		if (now_ns() - start > STUCK_NS)
			return NULL;
	}
}

int rr_drv(struct bench *b, struct view *v, void *arg)
{
	struct vq_arg *a = arg;
	static struct drv_side d; /* large; one at a time */
	unsigned i, n = b->warmup + b->iters;
	uint8_t *req = data_buf(v, 0), *resp = data_buf(v, 1);
	struct hvl_sg sg[2];
	uint8_t tmpl[MSG_LEN];
	uint32_t len;
	int64_t t;

	if (drv_setup(&d, v) != 0 || wait_ready(v) != 0)
		return -1;
	if (a->mode == VQ_POLLED)
		hvl_vq_drv_disable_cb(&d.vq); /* we spin on the used ring */
	sg[0].addr = drv_bus(v, req);
	sg[0].len = MSG_LEN;
	sg[1].addr = drv_bus(v, resp);
	sg[1].len = MSG_LEN;
	memset(tmpl, 0xa5, sizeof tmpl);
	t = now_ns();
	for (i = 0; i < n; i++) {
		memcpy(tmpl, &i, sizeof i);
		memcpy(req, tmpl, MSG_LEN);
		if (hvl_vq_drv_add(&d.vq, sg, 1, 1, req) != 0)
			return -1;
		if (hvl_vq_drv_kick_prepare(&d.vq) && a->mode == VQ_DOORBELL)
			hvl_doorbell_ops.ring(&d.db);
		if (drv_get(b, &d, a->mode, &len) != req || len != MSG_LEN ||
		    memcmp(resp, &i, sizeof i) != 0) {
			fprintf(stderr, "hvl-bench: bad or missing response at %u (broken=%d)\n", i,
				hvl_vq_drv_broken(&d.vq));
			return -1;
		}
		sample(b, i, &t);
	}
	a->drv_rings = d.db.rings;
	a->drv_syscalls = d.db.syscalls;
	st(&v->ctl->stop, 1u);
	hvl_doorbell_ops.ring(&d.db); /* wake a sleeping device to see stop */
	return 0;
}

/* ------------------------------------------------ f) one-way, batched */

int ow_dev(struct bench *b, struct view *v)
{
	enum vq_mode mode = (enum vq_mode)b->mode;
	uint8_t copy[MSG_LEN];
	struct dev_side d;
	uint64_t seq = 0, got;
	unsigned since = 0;
	int r = 0;

	if (dev_setup(&d, v) != 0)
		return -1;
	st(&v->ctl->ready, 1u);
	while (seq < b->msgs) {
		r = hvl_vq_dev_pop(&d.vq, &d.c);
		if (r < 0)
			break;
		if (r == 0) {
			/* Ring empty: decide about the interrupt for what we pushed, then wait. */
			if (since != 0u && mode == VQ_DOORBELL && hvl_vq_dev_need_interrupt(&d.vq))
				hvl_doorbell_ops.ring(&d.db);
			since = 0;
			r = dev_next(b, &d, v, mode);
			if (r <= 0)
				break;
		}
		/* Touch the payload: copy it out and check the sequence number. */
		if (d.c.n_out != 1u || d.c.n_in != 0u || d.iov[0].len != MSG_LEN) {
			v->ctl->dev_errors++;
		} else {
			memcpy(copy, d.iov[0].base, MSG_LEN);
			memcpy(&got, copy, sizeof got);
			if (got != seq)
				v->ctl->dev_errors++;
		}
		seq++;
		hvl_vq_dev_push(&d.vq, d.c.head, 0);
		/* While busy, one interrupt decision per batch of pushes. */
		if (++since >= BATCH) {
			if (mode == VQ_DOORBELL && hvl_vq_dev_need_interrupt(&d.vq))
				hvl_doorbell_ops.ring(&d.db);
			since = 0;
		}
	}
	if (mode == VQ_DOORBELL && hvl_vq_dev_need_interrupt(&d.vq))
		hvl_doorbell_ops.ring(&d.db);
	v->ctl->dev_msgs = seq;
	dev_report(&d, v);
	return r < 0 ? -1 : 0;
}

int ow_drv(struct bench *b, struct view *v, void *arg)
{
	struct vq_arg *a = arg;
	static struct drv_side d;
	uint16_t freebuf[QSIZE];
	unsigned nfree = QSIZE, k, i;
	uint64_t posted = 0, done = 0;
	int64_t t, last_progress, spin_t0 = 0;
	struct hvl_sg sg;
	uint32_t len;
	void *ck;

	if (drv_setup(&d, v) != 0 || wait_ready(v) != 0)
		return -1;
	for (i = 0; i < QSIZE; i++)
		freebuf[i] = (uint16_t)i;
	if (a->mode == VQ_POLLED)
		hvl_vq_drv_disable_cb(&d.vq);
	t = now_ns();
	last_progress = t;
	while (done < b->msgs) {
		/* Reclaim what the device consumed. */
		while ((ck = hvl_vq_drv_get_used(&d.vq, &len)) != NULL) {
			freebuf[nfree++] = (uint16_t)((uintptr_t)ck - 1u);
			done++;
			last_progress = 0;
			spin_t0 = 0;
		}
		if (hvl_vq_drv_broken(&d.vq))
			return -1;
		if (done >= b->msgs)
			break; /* the last reclaim finished the run: do not wait for more */
		if (posted < b->msgs && nfree >= BATCH) {
			k = (unsigned)(b->msgs - posted < BATCH ? b->msgs - posted : BATCH);
			for (i = 0; i < k; i++) {
				unsigned bi = freebuf[--nfree];
				uint8_t *p = data_buf(v, bi);

				memcpy(p, &posted, sizeof posted);
				memset(p + sizeof posted, (int)(posted & 0xffu), MSG_LEN - sizeof posted);
				sg.addr = drv_bus(v, p);
				sg.len = MSG_LEN;
				if (hvl_vq_drv_add(&d.vq, &sg, 1, 0, (void *)(uintptr_t)(bi + 1u)) != 0)
					return -1;
				posted++;
			}
			/* One kick decision per batch (EVENT_IDX suppresses most). */
			if (hvl_vq_drv_kick_prepare(&d.vq) && a->mode == VQ_DOORBELL)
				hvl_doorbell_ops.ring(&d.db);
			last_progress = 0;
			continue;
		}
		/*
		 * Ring full (or all posted): wait for used buffers.  Doorbell
		 * mode spins for the busy-poll window first, then asks for an
		 * interrupt, re-checks, and sleeps.
		 */
		if (a->mode == VQ_POLLED) {
			cpu_relax();
		} else if (b->spin_ns > 0 && (spin_t0 == 0 || now_ns() - spin_t0 < b->spin_ns)) {
			if (spin_t0 == 0)
				spin_t0 = now_ns();
			cpu_relax();
			continue;
		} else if (hvl_vq_drv_enable_cb(&d.vq) == 0) {
			(void)hvl_doorbell_ops.wait(&d.db, 1000);
			hvl_vq_drv_disable_cb(&d.vq);
		} else {
			hvl_vq_drv_disable_cb(&d.vq);
		}
		spin_t0 = 0;
		if (last_progress == 0)
			last_progress = now_ns();
		else if (now_ns() - last_progress > STUCK_NS)
			return -1;
	}
	t = now_ns() - t;
	a->msgs_per_s = (double)b->msgs * 1e9 / (double)t;
	a->drv_rings = d.db.rings;
	a->drv_syscalls = d.db.syscalls;
	st(&v->ctl->stop, 1u);
	hvl_doorbell_ops.ring(&d.db);
	return 0;
}

/* ------------------------------------------------------- g) idle PMM */

int idle_dev(struct bench *b, struct view *v)
{
	struct dev_side d;
	struct rusage r0, r1;
	int64_t t0;
	int r;

	if (dev_setup(&d, v) != 0)
		return -1;
	st(&v->ctl->ready, 1u);
	getrusage(RUSAGE_SELF, &r0);
	t0 = now_ns();
	/*
	 * The loop a PMM device thread runs (dev_next: busy-poll window, enable
	 * notifications, re-check, doorbell wait with a 100 ms timeout); no
	 * traffic arrives, so it returns only on stop.
	 */
	r = dev_next(b, &d, v, VQ_DOORBELL);
	getrusage(RUSAGE_SELF, &r1);
	v->ctl->idle_wall_ns = (uint64_t)(now_ns() - t0);
	v->ctl->idle_cpu_ns =
		(uint64_t)((r1.ru_utime.tv_sec - r0.ru_utime.tv_sec + r1.ru_stime.tv_sec - r0.ru_stime.tv_sec) * 1000000000LL +
			   (r1.ru_utime.tv_usec - r0.ru_utime.tv_usec + r1.ru_stime.tv_usec - r0.ru_stime.tv_usec) * 1000LL);
	v->ctl->idle_wakeups = d.db.waits;
	return r == 0 ? 0 : -1;
}

int idle_drv(struct bench *b, struct view *v, void *arg)
{
	struct hvl_doorbell db;

	(void)arg;
	if (wait_ready(v) != 0)
		return -1;
	usleep(b->idle_ms * 1000u);
	st(&v->ctl->stop, 1u);
	/* Wake it now rather than at its next 100 ms timeout. */
	if (hvl_doorbell_open(&db, HVL_DOORBELL_FUTEX, &v->ctl->to_dev, &v->ctl->to_drv, -1, -1) == 0)
		hvl_doorbell_ops.ring(&db);
	return 0;
}


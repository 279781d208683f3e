/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hvl-bench: what our virtqueue costs next to the physical floor.
 *
 * Two processes (driver = "remote core", device = "PMM"), pinned to CPUs 0
 * and 1, share a memfd that each maps at a different address.  Round-trip
 * modes: raw spin ping-pong and raw futex ping-pong (the baselines), UNIX
 * socket ping-pong (what a Linux programmer would use), virtqueue
 * request/response polled and with the futex doorbell.  Throughput: one-way
 * 64-byte messages in batches with EVENT_IDX.  Idle: CPU of a PMM-style loop
 * waiting on the doorbell with no traffic.
 *
 * Timing: per iteration, consecutive CLOCK_MONOTONIC stamps (one clock read
 * per round trip, same in every mode); median and p99 after a warm-up.
 * Benchmarks never fail on timing: targets print PASS/MISS only.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "hvl/linux/doorbell.h"
#include "hvl/vq_device.h"
#include "hvl/vq_driver.h"

/* ----------------------------------------------------------- shared layout */

#define QSIZE     1024u                /* ring entries (virtio-net's common size) */
#define MSG_LEN   64u                  /* payload of every message */
#define BATCH     64u                  /* one-way: buffers per kick */
#define BUS_BASE  0x40000000ull        /* remote's view of the window */
#define WIN_OFF   0x10000u             /* window offset in the memfd */
#define DESC_OFF  0x0000u              /* ring parts, window offsets, 4 KiB aligned */
#define AVAIL_OFF 0x4000u
#define USED_OFF  0x5000u
#define DATA_OFF  0x8000u              /* data buffers follow the rings */
#define WIN_SIZE  (DATA_OFF + 2u * QSIZE * MSG_LEN)
#define SHM_SIZE  (WIN_OFF + WIN_SIZE)
#define STOP      0xffffffffu
#define STUCK_NS  10000000000LL        /* peer silent this long: give up */

_Static_assert(DESC_OFF + 16u * QSIZE <= AVAIL_OFF, "desc table overlaps avail");
_Static_assert(AVAIL_OFF + 6u + 2u * QSIZE <= USED_OFF, "avail overlaps used");
_Static_assert(USED_OFF + 6u + 8u * QSIZE <= DATA_OFF, "used overlaps data");

/* Control page.  Every word on its own 128-byte block (adjacent-line prefetch). */
#define LINE(name) uint32_t name; uint8_t name##_pad[124]
struct ctl {
	LINE(ready);      /* device: set once initialised */
	LINE(stop);       /* driver: device must exit */
	LINE(ping);       /* spin and futex baselines */
	LINE(pong);
	struct hvl_doorbell_wire to_dev;
	struct hvl_doorbell_wire to_drv;
	/* Device results, written before exit. */
	uint64_t dev_rings, dev_syscalls, dev_msgs, dev_errors;
	uint64_t idle_cpu_ns, idle_wall_ns, idle_wakeups;
};
_Static_assert(sizeof(struct ctl) <= WIN_OFF, "control page too big");

/* One process's view of the memfd. */
struct view {
	uint8_t *base;
	struct ctl *ctl;
	uint8_t *win;
};

struct bench {
	int memfd;
	struct view v;           /* the parent's mapping */
	int ncpu;
	unsigned iters, warmup;
	uint64_t msgs;
	unsigned idle_ms;
	int64_t spin_ns;         /* spin before sleeping in the phase being run */
	int64_t rtt_spin_ns;     /* --spin-us: futex baseline and vq-doorbell alike */
	int64_t busy_ns;         /* --busy-poll-us: one-way doorbell and idle loop */
	unsigned rounds;         /* round-trip modes run interleaved, this many times */
	int mode;                /* enum vq_mode of the next virtqueue phase (set before fork) */
	int sock[2];
	uint32_t *samples;       /* ns per round trip of the current run, iters entries */
};

struct rtt {
	const char *name;
	const char *what;
	int ok;
	uint64_t median, p99;
	double drv_wakes, dev_wakes; /* wake syscalls per round trip */
};

/* --------------------------------------------------------------- helpers */

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
	__asm__ __volatile__("yield" ::: "memory");
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}

static uint32_t ld(const uint32_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static void st(uint32_t *p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }

/* Spin until *p != old; every 64k spins check for a dead peer. */
static int spin_while_eq(const uint32_t *p, uint32_t old, uint32_t *out)
{
	int64_t t0 = 0;
	unsigned n = 0;
	uint32_t v;

	while ((v = ld(p)) == old) {
		cpu_relax();
		if ((++n & 0xffffu) == 0u) {
			if (t0 == 0)
				t0 = now_ns();
			else if (now_ns() - t0 > STUCK_NS)
				return -1;
		}
	}
	*out = v;
	return 0;
}

static long futex(uint32_t *uaddr, int op, uint32_t val, const struct timespec *ts)
{
	return syscall(SYS_futex, uaddr, op, val, ts, NULL, 0);
}

/*
 * Futex baseline wait: optional bounded spin (same budget as the doorbell
 * modes), then FUTEX_WAIT on the shared word (no PRIVATE flag: two processes).
 */
static int futex_while_eq(struct bench *b, uint32_t *p, uint32_t old, uint32_t *out)
{
	const struct timespec ts = { 1, 0 };
	int64_t t0 = now_ns();
	uint32_t v;

	if (b->spin_ns > 0)
		while ((v = ld(p)) == old && now_ns() - t0 < b->spin_ns)
			cpu_relax();
	while ((v = ld(p)) == old) {
		(void)futex(p, FUTEX_WAIT, old, &ts);
		if (now_ns() - t0 > STUCK_NS)
			return -1;
	}
	*out = v;
	return 0;
}

static void pin(struct bench *b, int cpu)
{
	cpu_set_t set;

	if (b->ncpu < 2)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof set, &set) != 0)
		perror("sched_setaffinity");
}

static struct view map_view(int fd)
{
	struct view v;
	void *p = mmap(NULL, SHM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED) {
		perror("mmap");
		exit(2);
	}
	v.base = p;
	v.ctl = p;
	v.win = v.base + WIN_OFF;
	return v;
}

static int cmp_u32(const void *a, const void *c)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)c;

	return (x > y) - (x < y);
}

static void summarize(uint32_t *s, unsigned n, struct rtt *r)
{
	qsort(s, n, sizeof s[0], cmp_u32);
	r->median = s[n / 2u];
	r->p99 = s[(uint64_t)n * 99u / 100u];
}

/* Record one sample per round trip (i counts warm-up then measured). */
static void sample(struct bench *b, unsigned i, int64_t *t)
{
	int64_t n = now_ns();

	if (i >= b->warmup)
		b->samples[i - b->warmup] = (uint32_t)(n - *t > UINT32_MAX ? UINT32_MAX : n - *t);
	*t = n;
}

/*
 * Run one phase: fork the device (CPU 1, its own mapping of the memfd at a
 * new address), run the driver here (CPU 0).  Returns 0 if both sides did.
 */
static int run_phase(struct bench *b, int (*dev)(struct bench *, struct view *),
		     int (*drv)(struct bench *, struct view *, void *), void *arg)
{
	int64_t t0;
	pid_t pid;
	int status = 0, r;

	memset(b->v.base, 0, SHM_SIZE);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return -1;
	}
	if (pid == 0) {
		struct view v = map_view(b->memfd);

		/* Drop the inherited mapping: the device sees other addresses. */
		munmap(b->v.base, SHM_SIZE);
		pin(b, 1);
		_exit(dev(b, &v) == 0 ? 0 : 1);
	}
	pin(b, 0);
	r = drv(b, &b->v, arg);
	if (r != 0)
		st(&b->v.ctl->stop, 1u);
	/* The device exits on stop (it waits with timeouts); never hang here. */
	t0 = now_ns();
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (now_ns() - t0 > 5000000000LL) {
			fprintf(stderr, "hvl-bench: device process stuck, killing it\n");
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -1;
		}
		usleep(1000);
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "hvl-bench: device side failed (status 0x%x)\n", (unsigned)status);
		return -1;
	}
	return r;
}

/* Wait (spinning, then sleeping) for the device to say it is initialised. */
static int wait_ready(struct view *v)
{
	int64_t t0 = now_ns();

	while (ld(&v->ctl->ready) == 0u) {
		if (now_ns() - t0 > STUCK_NS)
			return -1;
		usleep(100);
	}
	return 0;
}

/* --------------------------------------------------- a) spin, b) futex */

static int spin_dev(struct bench *b, struct view *v)
{
	uint32_t last = 0, x;

	(void)b;
	st(&v->ctl->ready, 1u);
	for (;;) {
		if (spin_while_eq(&v->ctl->ping, last, &x) != 0)
			return -1;
		if (x == STOP)
			return 0;
		st(&v->ctl->pong, x);
		last = x;
	}
}

static int spin_drv(struct bench *b, struct view *v, void *arg)
{
	unsigned i, n = b->warmup + b->iters;
	int64_t t;
	uint32_t x;

	(void)arg;
	if (wait_ready(v) != 0)
		return -1;
	t = now_ns();
	for (i = 0; i < n; i++) {
		st(&v->ctl->ping, i + 1u);
		if (spin_while_eq(&v->ctl->pong, i, &x) != 0 || x != i + 1u)
			return -1;
		sample(b, i, &t);
	}
	st(&v->ctl->ping, STOP);
	return 0;
}

static int futex_dev(struct bench *b, struct view *v)
{
	uint32_t last = 0, x;

	st(&v->ctl->ready, 1u);
	for (;;) {
		if (futex_while_eq(b, &v->ctl->ping, last, &x) != 0)
			return ld(&v->ctl->stop) != 0u ? 0 : -1;
		if (x == STOP)
			return 0;
		st(&v->ctl->pong, x);
		(void)futex(&v->ctl->pong, FUTEX_WAKE, 1, NULL); /* always: the baseline */
		last = x;
	}
}

static int futex_drv(struct bench *b, struct view *v, void *arg)
{
	unsigned i, n = b->warmup + b->iters;
	int64_t t;
	uint32_t x;

	(void)arg;
	if (wait_ready(v) != 0)
		return -1;
	t = now_ns();
	for (i = 0; i < n; i++) {
		st(&v->ctl->ping, i + 1u);
		(void)futex(&v->ctl->ping, FUTEX_WAKE, 1, NULL);
		if (futex_while_eq(b, &v->ctl->pong, i, &x) != 0 || x != i + 1u)
			return -1;
		sample(b, i, &t);
	}
	st(&v->ctl->ping, STOP);
	(void)futex(&v->ctl->ping, FUTEX_WAKE, 1, NULL);
	return 0;
}

/* ------------------------------------------------------------- c) socket */

static int xfer(int fd, void *buf, size_t len, int wr)
{
	size_t done = 0;
	ssize_t r;

	while (done < len) {
		r = wr ? write(fd, (uint8_t *)buf + done, len - done)
		       : read(fd, (uint8_t *)buf + done, len - done);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		done += (size_t)r;
	}
	return 0;
}

static int sock_dev(struct bench *b, struct view *v)
{
	uint8_t msg[MSG_LEN];

	(void)v;
	close(b->sock[0]);
	while (xfer(b->sock[1], msg, sizeof msg, 0) == 0)
		if (xfer(b->sock[1], msg, sizeof msg, 1) != 0)
			return -1;
	return 0; /* EOF: the driver is done */
}

static int sock_drv(struct bench *b, struct view *v, void *arg)
{
	uint8_t msg[MSG_LEN], in[MSG_LEN];
	unsigned i, n = b->warmup + b->iters;
	int64_t t;

	(void)v;
	(void)arg;
	memset(msg, 0x5a, sizeof msg);
	t = now_ns();
	for (i = 0; i < n; i++) {
		memcpy(msg, &i, sizeof i);
		if (xfer(b->sock[0], msg, sizeof msg, 1) != 0 || xfer(b->sock[0], in, sizeof in, 0) != 0 ||
		    memcmp(in, &i, sizeof i) != 0)
			return -1;
		sample(b, i, &t);
	}
	shutdown(b->sock[0], SHUT_WR); /* EOF tells the device to exit */
	return 0;
}

/* ----------------------------------------------------- virtqueue set-up */

/* Notification mode of the virtqueue phases. */
enum vq_mode { VQ_POLLED, VQ_DOORBELL };

struct vq_arg {
	enum vq_mode mode;
	uint64_t drv_rings, drv_syscalls;
	double msgs_per_s;
};

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

static int rr_dev(struct bench *b, struct view *v)
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

static int rr_drv(struct bench *b, struct view *v, void *arg)
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

static int ow_dev(struct bench *b, struct view *v)
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

static int ow_drv(struct bench *b, struct view *v, void *arg)
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

static int idle_dev(struct bench *b, struct view *v)
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

static int idle_drv(struct bench *b, struct view *v, void *arg)
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

/* -------------------------------------------------------------- report */

#define NRTT 5
#define NOW  3 /* one-way variants */

struct oneway {
	const char *name;
	const char *what;
	int ok;
	double msgs_per_s, drv_sys, dev_sys; /* syscalls per message */
};

struct report {
	struct rtt r[NRTT];
	struct oneway ow[NOW];
	double idle_pct;
	uint64_t idle_wakeups;
	int idle_ok;
};

static double ratio(const struct rtt *x, const struct rtt *y)
{
	if (!x->ok || !y->ok || y->median == 0)
		return 0.0;
	return (double)x->median / (double)y->median;
}

struct target {
	const char *name;
	double value, limit;
	int le;       /* value must be <= limit (else >=) */
	int measured;
};

static const char *verdict(const struct target *t)
{
	if (!t->measured)
		return "NOT MEASURED";
	return (t->le ? t->value <= t->limit : t->value >= t->limit) ? "PASS" : "MISS";
}

static void print_report(const struct bench *b, const struct report *rp, FILE *js)
{
	const struct rtt *spin = &rp->r[0], *fx = &rp->r[1], *so = &rp->r[2], *po = &rp->r[3], *dbl = &rp->r[4];
	const struct target tg[4] = {
		{ "polled_rtt_le_2.5x_spin", ratio(po, spin), 2.5, 1, po->ok && spin->ok },
		{ "doorbell_rtt_le_1.2x_futex", ratio(dbl, fx), 1.2, 1, dbl->ok && fx->ok },
		{ "oneway_doorbell_ge_5M_msgs_per_s", rp->ow[1].msgs_per_s / 1e6, 5.0, 0, rp->ow[1].ok },
		{ "idle_cpu_lt_1_percent", rp->idle_pct, 1.0, 1, rp->idle_ok },
	};
	unsigned i;

	printf("\n%-12s %10s %10s  %s\n", "round trip", "median ns", "p99 ns", "what");
	for (i = 0; i < NRTT; i++) {
		if (!rp->r[i].ok)
			printf("%-12s %10s %10s  %s\n", rp->r[i].name, "FAILED", "-", rp->r[i].what);
		else
			printf("%-12s %10llu %10llu  %s\n", rp->r[i].name, (unsigned long long)rp->r[i].median,
			       (unsigned long long)rp->r[i].p99, rp->r[i].what);
	}
	if (dbl->ok)
		printf("%-12s doorbell syscalls (wakes + waits) per round trip: driver %.3f, device %.3f "
		       "(futex baseline: 2 per side)\n", "", dbl->drv_wakes, dbl->dev_wakes);
	printf("\nratios (median): vq-polled/spin %.3g  vq-doorbell/futex %.3g  vq-polled/unix %.3g  "
	       "vq-doorbell/unix %.3g\n",
	       ratio(po, spin), ratio(dbl, fx), ratio(po, so), ratio(dbl, so));
	printf("\none-way 64 B messages, batches of %u, queue %u, EVENT_IDX, %llu messages:\n", BATCH, QSIZE,
	       (unsigned long long)b->msgs);
	for (i = 0; i < NOW; i++) {
		if (!rp->ow[i].ok)
			printf("  %-22s FAILED  %s\n", rp->ow[i].name, rp->ow[i].what);
		else
			printf("  %-22s %6.2f Mmsg/s  syscalls/msg: driver %.5f, device %.5f  %s\n", rp->ow[i].name,
			       rp->ow[i].msgs_per_s / 1e6, rp->ow[i].drv_sys, rp->ow[i].dev_sys, rp->ow[i].what);
	}
	if (rp->idle_ok)
		printf("\nidle PMM loop (busy-poll %lld us, then doorbell wait with 100 ms timeout; %u ms): "
		       "%.3f%% of one CPU, %llu sleeps\n",
		       (long long)(b->busy_ns / 1000), b->idle_ms, rp->idle_pct, (unsigned long long)rp->idle_wakeups);
	else
		printf("\nidle: FAILED\n");
	printf("\ntargets (informational, never an exit failure):\n");
	for (i = 0; i < 4; i++)
		printf("  %-34s %8.3f %s %-5.2f %s\n", tg[i].name, tg[i].value, tg[i].le ? "<=" : ">=",
		       tg[i].limit, verdict(&tg[i]));
	if (js == NULL)
		return;
	/* Hand-written JSON: every string is a fixed ASCII literal, nothing to escape. */
	fprintf(js, "{\n  \"cpus\": %d,\n  \"pinned\": %s,\n  \"iters\": %u,\n  \"rounds\": %u,\n"
		    "  \"rtt_spin_before_sleep_ns\": %lld,\n  \"busy_poll_ns\": %lld,\n  \"round_trips\": [\n",
		b->ncpu, b->ncpu >= 2 ? "true" : "false", b->iters * b->rounds, b->rounds,
		(long long)b->rtt_spin_ns, (long long)b->busy_ns);
	for (i = 0; i < NRTT; i++)
		fprintf(js, "    {\"name\": \"%s\", \"ok\": %s, \"median_ns\": %llu, \"p99_ns\": %llu, "
			    "\"what\": \"%s\"}%s\n",
			rp->r[i].name, rp->r[i].ok ? "true" : "false", (unsigned long long)rp->r[i].median,
			(unsigned long long)rp->r[i].p99, rp->r[i].what, i + 1 < NRTT ? "," : "");
	fprintf(js, "  ],\n  \"doorbell_syscalls_per_rtt\": {\"driver\": %.4f, \"device\": %.4f},\n",
		dbl->drv_wakes, dbl->dev_wakes);
	fprintf(js, "  \"ratios\": {\"vq_polled_over_spin\": %.4f, \"vq_doorbell_over_futex\": %.4f, "
		    "\"vq_polled_over_unix\": %.6f, \"vq_doorbell_over_unix\": %.4f},\n",
		ratio(po, spin), ratio(dbl, fx), ratio(po, so), ratio(dbl, so));
	fprintf(js, "  \"oneway\": {\"msgs\": %llu, \"batch\": %u, \"queue\": %u, \"variants\": [\n",
		(unsigned long long)b->msgs, BATCH, QSIZE);
	for (i = 0; i < NOW; i++)
		fprintf(js, "    {\"name\": \"%s\", \"ok\": %s, \"msgs_per_s\": %.0f, \"driver_syscalls_per_msg\": %.6f, "
			    "\"device_syscalls_per_msg\": %.6f, \"what\": \"%s\"}%s\n",
			rp->ow[i].name, rp->ow[i].ok ? "true" : "false", rp->ow[i].msgs_per_s, rp->ow[i].drv_sys,
			rp->ow[i].dev_sys, rp->ow[i].what, i + 1 < NOW ? "," : "");
	fprintf(js, "  ]},\n  \"idle\": {\"ok\": %s, \"ms\": %u, \"cpu_percent\": %.4f, \"sleeps\": %llu},\n",
		rp->idle_ok ? "true" : "false", b->idle_ms, rp->idle_pct, (unsigned long long)rp->idle_wakeups);
	fprintf(js, "  \"targets\": [\n");
	for (i = 0; i < 4; i++)
		fprintf(js, "    {\"name\": \"%s\", \"value\": %.4f, \"limit\": %.2f, \"result\": \"%s\"}%s\n",
			tg[i].name, tg[i].value, tg[i].limit, verdict(&tg[i]), i + 1 < 4 ? "," : "");
	fprintf(js, "  ]\n}\n");
}

/* ---------------------------------------------------------------- main */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: hvl-bench [--quick] [--iters N] [--msgs N] [--idle-ms N] [--spin-us N]\n"
		"                 [--busy-poll-us N] [--json FILE]\n"
		"  Driver and device run as two processes pinned to CPUs 0 and 1, sharing a memfd\n"
		"  that each maps at a different address.\n"
		"  --quick           short run (a few seconds; used by ctest bench_quick)\n"
		"  --iters N         measured round trips per mode (default 50000), run in %u\n"
		"                    interleaved rounds, each with a 10%% warm-up\n"
		"  --msgs N          one-way messages per variant (default 5000000)\n"
		"  --idle-ms N       idle measurement length (default 1500)\n"
		"  --spin-us N       round trips: spin up to N us before sleeping, in the futex\n"
		"                    baseline and vq-doorbell alike (default 0: sleep at once)\n"
		"  --busy-poll-us N  one-way doorbell variant and idle loop: spin up to N us on the\n"
		"                    rings before enabling notifications and sleeping (default 50)\n"
		"  --json FILE       also write the results as JSON\n"
		"Timing targets print PASS/MISS; they never change the exit status.\n", 5u);
}

static int parse_u(const char *s, unsigned long long *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 10);
	return errno != 0 || end == s || *end != '\0' ? -1 : 0;
}

/* Option with a bounded numeric argument; returns 1 if it matched. */
static int opt_num(int argc, char **argv, int *i, const char *name, unsigned long long lo,
		   unsigned long long hi, unsigned long long *out)
{
	if (strcmp(argv[*i], name) != 0)
		return 0;
	if (*i + 1 >= argc || parse_u(argv[*i + 1], out) != 0 || *out < lo || *out > hi) {
		fprintf(stderr, "hvl-bench: %s needs a number in [%llu, %llu]\n", name, lo, hi);
		exit(2);
	}
	(*i)++;
	return 1;
}

int main(int argc, char **argv)
{
	static struct report rp;
	static const struct {
		const char *name, *what;
		int (*dev)(struct bench *, struct view *);
		int (*drv)(struct bench *, struct view *, void *);
		int mode;
	} rtt[NRTT] = {
		{ "spin", "raw shared-memory ping-pong, two atomic words on separate lines", spin_dev, spin_drv, 0 },
		{ "futex", "raw shared futex ping-pong: FUTEX_WAKE every time, FUTEX_WAIT", futex_dev, futex_drv, 0 },
		{ "unix-socket", "socketpair(AF_UNIX, SOCK_STREAM), 64-byte write then read", sock_dev, sock_drv, 0 },
		{ "vq-polled", "virtqueue 64 B out + 64 B in, both sides spin on the rings", rr_dev, rr_drv, VQ_POLLED },
		{ "vq-doorbell", "same, EVENT_IDX + futex doorbell: wake only a sleeping peer", rr_dev, rr_drv,
		  VQ_DOORBELL },
	};
	struct bench b;
	uint32_t *all[NRTT];
	uint64_t drv_sys = 0, dev_sys = 0;
	unsigned long long x;
	const char *json = NULL;
	unsigned total, r, m;
	FILE *js = NULL;
	int i, quick = 0, failed = 0;

	memset(&b, 0, sizeof b);
	b.iters = 50000;
	b.msgs = 5000000;
	b.idle_ms = 1500;
	b.busy_ns = 50000;
	b.rounds = 5;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(argv[i], "--quick") == 0) {
			quick = 1;
			b.iters = 2500;
			b.msgs = 300000;
			b.idle_ms = 300;
		} else if (strcmp(argv[i], "--json") == 0 && i + 1 < argc) {
			json = argv[++i];
		} else if (opt_num(argc, argv, &i, "--iters", 500, 100000000ull, &x)) {
			b.iters = (unsigned)x;
		} else if (opt_num(argc, argv, &i, "--msgs", 1000, 1000000000000ull, &x)) {
			b.msgs = x;
		} else if (opt_num(argc, argv, &i, "--idle-ms", 100, 60000, &x)) {
			b.idle_ms = (unsigned)x;
		} else if (opt_num(argc, argv, &i, "--spin-us", 0, 1000000, &x)) {
			b.rtt_spin_ns = (int64_t)x * 1000;
		} else if (opt_num(argc, argv, &i, "--busy-poll-us", 0, 1000000, &x)) {
			b.busy_ns = (int64_t)x * 1000;
		} else {
			usage(stderr);
			return 2;
		}
	}
	/* Per round; rounds interleave the modes so machine drift hits all alike. */
	b.iters /= b.rounds;
	b.warmup = b.iters / 10u;
	total = b.iters * b.rounds;
	b.ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (b.ncpu < 2)
		fprintf(stderr, "hvl-bench: warning: only %d CPU online, running unpinned\n", b.ncpu);
	b.memfd = memfd_create("hvl-bench", MFD_CLOEXEC);
	if (b.memfd < 0 || ftruncate(b.memfd, SHM_SIZE) != 0) {
		perror("memfd");
		return 2;
	}
	b.v = map_view(b.memfd);
	for (m = 0; m < NRTT; m++) {
		all[m] = calloc(total, sizeof all[m][0]);
		if (all[m] == NULL)
			return 2;
		rp.r[m].name = rtt[m].name;
		rp.r[m].what = rtt[m].what;
		rp.r[m].ok = 1;
	}
	printf("hvl-bench: %d CPUs%s; %u round trips per mode in %u interleaved rounds (+10%% warm-up each)%s\n",
	       b.ncpu, b.ncpu >= 2 ? ", driver pinned to CPU 0, device to CPU 1" : ", unpinned", total, b.rounds,
	       quick ? ", quick run" : "");
	printf("round trips: %s before sleeping (futex baseline and vq-doorbell alike); "
	       "spin loops use the pause hint; one clock read per round trip\n",
	       b.rtt_spin_ns > 0 ? "spin" : "no spin");

	for (r = 0; r < b.rounds; r++) {
		for (m = 0; m < NRTT; m++) {
			if (!rp.r[m].ok)
				continue;
			b.samples = all[m] + (size_t)r * b.iters;
			b.mode = rtt[m].mode;
			b.spin_ns = b.rtt_spin_ns;
			if (m == 2 && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, b.sock) != 0) {
				perror("socketpair");
				return 2;
			}
			struct vq_arg a = { (enum vq_mode)rtt[m].mode, 0, 0, 0 };

			rp.r[m].ok = run_phase(&b, rtt[m].dev, rtt[m].drv, &a) == 0 && b.v.ctl->dev_errors == 0;
			if (m == 2) {
				close(b.sock[0]);
				close(b.sock[1]);
			}
			if (m == 4) {
				drv_sys += a.drv_syscalls;
				dev_sys += b.v.ctl->dev_syscalls;
			}
		}
		fprintf(stderr, "  round %u/%u done\n", r + 1, b.rounds);
	}
	for (m = 0; m < NRTT; m++)
		if (rp.r[m].ok)
			summarize(all[m], total, &rp.r[m]);
	rp.r[4].drv_wakes = (double)drv_sys / (double)((b.iters + b.warmup) * b.rounds);
	rp.r[4].dev_wakes = (double)dev_sys / (double)((b.iters + b.warmup) * b.rounds);

	rp.ow[0].name = "polled";
	rp.ow[0].what = "(both sides spin, no notifications)";
	rp.ow[1].name = "doorbell+busy-poll";
	rp.ow[1].what = "(futex doorbell; spin --busy-poll-us before sleeping)";
	rp.ow[2].name = "doorbell, no spin";
	rp.ow[2].what = "(futex doorbell; sleep as soon as the ring is empty/full)";
	for (m = 0; m < NOW; m++) {
		struct vq_arg a = { m == 0 ? VQ_POLLED : VQ_DOORBELL, 0, 0, 0 };

		b.mode = a.mode;
		b.spin_ns = m == 1 ? b.busy_ns : 0;
		rp.ow[m].ok = run_phase(&b, ow_dev, ow_drv, &a) == 0 && b.v.ctl->dev_errors == 0 &&
			      b.v.ctl->dev_msgs == b.msgs;
		rp.ow[m].msgs_per_s = a.msgs_per_s;
		rp.ow[m].drv_sys = (double)a.drv_syscalls / (double)b.msgs;
		rp.ow[m].dev_sys = (double)b.v.ctl->dev_syscalls / (double)b.msgs;
		fprintf(stderr, "  one-way %s done\n", rp.ow[m].name);
	}
	b.spin_ns = b.busy_ns;
	rp.idle_ok = run_phase(&b, idle_dev, idle_drv, NULL) == 0 && b.v.ctl->idle_wall_ns > 0;
	if (rp.idle_ok) {
		rp.idle_pct = 100.0 * (double)b.v.ctl->idle_cpu_ns / (double)b.v.ctl->idle_wall_ns;
		rp.idle_wakeups = b.v.ctl->idle_wakeups;
	}

	if (json != NULL) {
		js = fopen(json, "w");
		if (js == NULL)
			perror(json);
	}
	print_report(&b, &rp, js);
	if (js != NULL)
		fclose(js);
	for (m = 0; m < NRTT; m++) {
		failed |= !rp.r[m].ok;
		free(all[m]);
	}
	for (m = 0; m < NOW; m++)
		failed |= !rp.ow[m].ok;
	/* Only a functional failure (a side failed or data went wrong) fails the run. */
	return failed || !rp.idle_ok ? 1 : 0;
}

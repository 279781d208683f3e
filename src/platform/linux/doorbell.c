/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Linux doorbell backends: futex word in shared memory, eventfd, polling.
 *
 * Each direction is one struct hvl_doorbell_wire in the shared region: the
 * ringer owns 'seq', the sleeper owns 'sleeping'.  The protocol is a Dekker
 * pair of store-then-load sequences separated by full fences:
 *
 *   ringer:  seq = seq + 1 (release);  mb();  if (sleeping) wake();
 *   sleeper: sleeping = 1;             mb();  if (seq == seen) block();
 *
 * Whatever the interleaving, at least one side sees the other's store, so
 * either the sleeper does not block or the ringer makes the wake call: no
 * lost wakeups, and no system call at all while the peer is busy.  The
 * kernel primitive (futex value check, eventfd counter) closes the
 * remaining window between the sleeper's re-check and its block.
 *
 * Threading: ring() is called by one thread at a time, wait() by one thread
 * at a time, kick() from any thread of this side.  The statistics counters
 * are plain (relaxed) counters: exact when ring and wait run in one thread,
 * approximate otherwise.
 *
 * fd ownership: for the eventfd backend the caller keeps owning tx_fd and
 * rx_fd (the PMM hands the same eventfds to the remote); hvl_doorbell_close()
 * closes only the kick eventfd this file created.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stddef.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/futex.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>

#include "hvl/linux/doorbell.h"

#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449 /* same number on every architecture */
#endif

/* The futex backend compares against the raw (little-endian) word. */
#define DB_RAW32(x) ((uint32_t)HVL_CPU_TO_LE32(x))

/* Spins between clock reads in the polling backend (a clock read is ~20 ns). */
#define DB_POLL_CLOCK_EVERY 1024u
/*
 * Slice of a plain FUTEX_WAIT when futex_waitv is missing (kernel < 5.16):
 * that wait cannot also watch kick_word, so a kick is noticed within this.
 */
#define DB_FALLBACK_SLICE_NS 10000000LL

static void db_count(uint64_t *c)
{
	/* Not an RMW: cheap, and ring/wait normally run in one thread. */
	__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + 1u, __ATOMIC_RELAXED);
}

static inline void db_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
	__asm__ __volatile__("yield" ::: "memory");
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}

static long db_futex(uint32_t *uaddr, int op, uint32_t val, const struct timespec *ts)
{
	return syscall(SYS_futex, uaddr, op, val, ts, NULL, 0);
}

static int64_t db_now_ns(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static struct timespec db_ts(int64_t ns)
{
	struct timespec ts;

	if (ns < 0)
		ns = 0;
	ts.tv_sec = (time_t)(ns / 1000000000LL);
	ts.tv_nsec = (long)(ns % 1000000000LL);
	return ts;
}

/*
 * Did the peer ring or a local kick arrive since the last wait returned?
 * The acquire load of seq pairs with the ringer's release store in
 * db_ring(): ring contents published before the ring are visible to the
 * caller once wait() returns.  The kick_word load pairs with the seq_cst
 * increment in db_kick().
 */
static int db_pending(const struct hvl_doorbell *db)
{
	return hvl_le32_acquire(&db->rx->seq) != db->rx_seen ||
	       __atomic_load_n(&db->kick_word, __ATOMIC_ACQUIRE) != db->kick_seen;
}

static void db_ring(void *ctx)
{
	struct hvl_doorbell *db = ctx;
	uint64_t one = 1;

	db->tx_seq++;
	/* Release: our ring/buffer stores happen-before the peer's acquire of seq. */
	hvl_le32_release(&db->tx->seq, db->tx_seq);
	db_count(&db->rings);
	if (db->kind == HVL_DOORBELL_POLL)
		return; /* the peer spins on seq; nobody to wake */
	/*
	 * Full fence: our seq store must be globally visible before we load the
	 * peer's 'sleeping'.  Pairs with the fence in db_wait() between its
	 * store of sleeping = 1 and its re-check of seq.
	 */
	hvl_mb();
	if (hvl_le32_once(&db->tx->sleeping) == 0u)
		return; /* peer busy: it will see seq before it blocks */
	db_count(&db->syscalls);
	if (db->kind == HVL_DOORBELL_FUTEX) {
		/* Shared futex: the peer maps the region at another address. */
		(void)db_futex(&db->tx->seq.v, FUTEX_WAKE, INT_MAX, NULL);
	} else {
		/* EAGAIN means the counter is already huge: the peer is woken anyway. */
		(void)!write(db->tx_fd, &one, sizeof one);
	}
}

/* futex backend: block until seq or kick_word changes, or @deadline (ns). */
static void db_block_futex(struct hvl_doorbell *db, int64_t deadline)
{
	struct futex_waitv w[2];
	struct timespec ts = db_ts(deadline);
	long r;

	memset(w, 0, sizeof w);
	w[0].val = DB_RAW32(db->rx_seen);
	w[0].uaddr = (uint64_t)(uintptr_t)&db->rx->seq.v;
	w[0].flags = FUTEX_32; /* shared: the region is a MAP_SHARED mapping */
	w[1].val = db->kick_seen;
	w[1].uaddr = (uint64_t)(uintptr_t)&db->kick_word;
	w[1].flags = FUTEX_32 | FUTEX_PRIVATE_FLAG;

	while (!db_pending(db) && db_now_ns() < deadline) {
		db_count(&db->syscalls);
		r = syscall(SYS_futex_waitv, w, 2u, 0u, &ts, CLOCK_MONOTONIC);
		if (r >= 0 || errno == EAGAIN || errno == EINTR)
			continue; /* woken, value already changed, or signal: re-check */
		if (errno == ETIMEDOUT)
			return;
		if (errno != ENOSYS)
			return; /* unexpected: let the caller re-check its rings */
		/*
		 * No futex_waitv: plain shared FUTEX_WAIT on seq, in slices so a
		 * kick (which cannot wake this wait reliably) is seen soon.
		 */
		while (!db_pending(db)) {
			int64_t left = deadline - db_now_ns();
			struct timespec rel;

			if (left <= 0)
				return;
			rel = db_ts(left < DB_FALLBACK_SLICE_NS ? left : DB_FALLBACK_SLICE_NS);
			db_count(&db->syscalls);
			(void)db_futex(&db->rx->seq.v, FUTEX_WAIT, DB_RAW32(db->rx_seen), &rel);
		}
		return;
	}
}

static void db_drain(int fd)
{
	uint64_t v;

	/* Non-blocking fd: reads until EAGAIN; a stale count only causes a re-check. */
	while (read(fd, &v, sizeof v) == (ssize_t)sizeof v) {
	}
}

/* eventfd backend: block in poll() on our eventfd and the kick eventfd. */
static void db_block_eventfd(struct hvl_doorbell *db, int64_t deadline)
{
	struct pollfd p[2];

	while (!db_pending(db)) {
		int64_t left = deadline - db_now_ns();
		int ms;

		if (left <= 0)
			return;
		/* Round up so we never return early and spin on a 0 ms poll. */
		ms = (int)((left + 999999LL) / 1000000LL);
		p[0].fd = db->rx_fd;
		p[0].events = POLLIN;
		p[0].revents = 0;
		p[1].fd = db->kick_fd;
		p[1].events = POLLIN;
		p[1].revents = 0;
		db_count(&db->syscalls);
		if (poll(p, 2u, ms) > 0) {
			/* The ringer stored seq before writing, so db_pending() now holds. */
			if (p[0].revents != 0)
				db_drain(db->rx_fd);
			if (p[1].revents != 0)
				db_drain(db->kick_fd);
		}
	}
}

/* poll backend: spin on seq and kick_word, reading the clock rarely. */
static void db_block_poll(struct hvl_doorbell *db, int64_t deadline)
{
	unsigned n = 0;

	while (!db_pending(db)) {
		db_cpu_relax();
		if (++n % DB_POLL_CLOCK_EVERY == 0u && db_now_ns() >= deadline)
			return;
	}
}

static int db_wait(void *ctx, uint32_t timeout_ms)
{
	struct hvl_doorbell *db = ctx;
	int64_t deadline;

	if (db_pending(db))
		goto done; /* fast path: no fence, no store to shared memory */
	if (timeout_ms == 0u)
		return -ETIMEDOUT;
	deadline = db_now_ns() + (int64_t)timeout_ms * 1000000LL;
	db_count(&db->waits);

	if (db->kind == HVL_DOORBELL_POLL) {
		/* The ringer never reads 'sleeping' in this mode: skip the fence. */
		db_block_poll(db, deadline);
	} else {
		hvl_le32_set(&db->rx->sleeping, 1u);
		/*
		 * Full fence: 'sleeping' must be visible before we re-read seq.
		 * Pairs with the fence in db_ring() between its seq store and its
		 * load of 'sleeping'.
		 */
		hvl_mb();
		if (!db_pending(db)) {
			if (db->kind == HVL_DOORBELL_FUTEX)
				db_block_futex(db, deadline);
			else
				db_block_eventfd(db, deadline);
		}
		/* A stale 1 here would only cost the ringer a useless wake. */
		hvl_le32_set(&db->rx->sleeping, 0u);
	}
	if (!db_pending(db))
		return -ETIMEDOUT;
done:
	/* Acquire: pairs with the ringer's release store of seq (see db_pending). */
	db->rx_seen = hvl_le32_acquire(&db->rx->seq);
	db->kick_seen = __atomic_load_n(&db->kick_word, __ATOMIC_ACQUIRE);
	return 0;
}

static void db_kick(void *ctx)
{
	struct hvl_doorbell *db = ctx;
	uint64_t one = 1;

	/*
	 * seq_cst RMW: a full barrier, so the waiter either sees the new value in
	 * its re-check or is already blocked on the old one (futex_waitv compares
	 * it atomically in the kernel).
	 */
	(void)__atomic_add_fetch(&db->kick_word, 1u, __ATOMIC_SEQ_CST);
	if (db->kind == HVL_DOORBELL_FUTEX) {
		(void)db_futex(&db->kick_word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL);
	} else if (db->kind == HVL_DOORBELL_EVENTFD) {
		(void)!write(db->kick_fd, &one, sizeof one);
	} else {
		/* Polling waiter spins on kick_word: nothing more to do. */
	}
}

const struct hvl_notify_ops hvl_doorbell_ops = {
	.ring = db_ring,
	.wait = db_wait,
	.kick = db_kick,
};

int hvl_doorbell_open(struct hvl_doorbell *db, unsigned kind,
		      struct hvl_doorbell_wire *tx, struct hvl_doorbell_wire *rx,
		      int tx_fd, int rx_fd)
{
	int fl;

	if (db == NULL || tx == NULL || rx == NULL || tx == rx)
		return -EINVAL;
	memset(db, 0, sizeof *db);
	db->tx_fd = -1;
	db->rx_fd = -1;
	db->kick_fd = -1;
	switch (kind) {
	case HVL_DOORBELL_POLL:
	case HVL_DOORBELL_FUTEX:
		break;
	case HVL_DOORBELL_EVENTFD:
		if (tx_fd < 0 || rx_fd < 0)
			return -EBADF;
		/* wait() drains rx_fd until EAGAIN: it must never block in read(). */
		fl = fcntl(rx_fd, F_GETFL);
		if (fl < 0 || fcntl(rx_fd, F_SETFL, fl | O_NONBLOCK) < 0)
			return -errno;
		db->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (db->kick_fd < 0)
			return -errno;
		db->tx_fd = tx_fd;
		db->rx_fd = rx_fd;
		break;
	default:
		return -EINVAL;
	}
	db->kind = kind;
	db->tx = tx;
	db->rx = rx;
	/* We own tx->seq: continue from its value so a restart never goes back. */
	db->tx_seq = hvl_le32_once(&tx->seq);
	/* Only rings after open count; acquire pairs with the peer's release. */
	db->rx_seen = hvl_le32_acquire(&rx->seq);
	hvl_le32_set(&rx->sleeping, 0u);
	return 0;
}

void hvl_doorbell_close(struct hvl_doorbell *db)
{
	if (db == NULL)
		return;
	if (db->kick_fd >= 0)
		(void)close(db->kick_fd);
	db->kick_fd = -1;
	db->tx_fd = -1;
	db->rx_fd = -1;
}

static const char *const db_kind_names[] = {
	[HVL_DOORBELL_POLL] = "poll",
	[HVL_DOORBELL_FUTEX] = "futex",
	[HVL_DOORBELL_EVENTFD] = "eventfd",
};

const char *hvl_doorbell_kind_name(unsigned kind)
{
	if (kind >= sizeof db_kind_names / sizeof db_kind_names[0])
		return NULL;
	return db_kind_names[kind];
}

int hvl_doorbell_kind_parse(const char *name, unsigned *kind)
{
	unsigned i;

	if (name == NULL || kind == NULL)
		return -EINVAL;
	for (i = 0; i < sizeof db_kind_names / sizeof db_kind_names[0]; i++) {
		if (strcmp(name, db_kind_names[i]) == 0) {
			*kind = i;
			return 0;
		}
	}
	return -EINVAL;
}

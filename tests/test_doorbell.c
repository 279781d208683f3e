/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Doorbell backends (poll, futex, eventfd) and the SCM_RIGHTS helpers.
 *
 * Cross-process tests fork: the parent plays the PMM, the child the remote.
 * The child maps the shared file again and drops the inherited mapping, so
 * the two sides see the doorbell words at different addresses (as a real
 * remote core would): shared futexes must key on the file, not the address.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "hvl/linux/doorbell.h"
#include "hvl/linux/fdpass.h"

#define PINGPONGS 100000u
#define SHM_SIZE  8192u

static int failures;

#define CHECK(cond, ...) do {                                          \
	if (!(cond)) {                                                 \
		fprintf(stderr, "%s:%d: FAIL %s: ", __FILE__, __LINE__, #cond); \
		fprintf(stderr, __VA_ARGS__);                          \
		fputc('\n', stderr);                                   \
		failures++;                                            \
	}                                                              \
} while (0)

/* What both processes map: one wire per direction, then data words. */
struct shm {
	struct hvl_doorbell_wire to_pmm;
	struct hvl_doorbell_wire to_remote;
	uint32_t ping; /* PMM -> remote payload */
	uint8_t pad0[HVL_CACHELINE - 4];
	uint32_t pong; /* remote -> PMM payload */
	uint8_t pad1[HVL_CACHELINE - 4];
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { (time_t)(ms / 1000u), (long)(ms % 1000u) * 1000000L };

	nanosleep(&ts, NULL);
}

static int shm_create(void)
{
	int fd = memfd_create("hvl-test-doorbell", MFD_CLOEXEC);

	if (fd < 0 || ftruncate(fd, SHM_SIZE) != 0) {
		perror("memfd");
		exit(2);
	}
	return fd;
}

static struct shm *shm_map(int fd)
{
	void *p = mmap(NULL, SHM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED) {
		perror("mmap");
		exit(2);
	}
	return p;
}

/* Child side: map the file again (new address) and drop the inherited view. */
static struct shm *shm_remap(int fd, struct shm *old)
{
	struct shm *s = shm_map(fd);

	if (s == old) {
		fprintf(stderr, "remap returned the same address\n");
		_exit(3);
	}
	munmap(old, SHM_SIZE);
	return s;
}

/* ------------------------------------------------------------- ping-pong */

static int remote_pingpong(int fd, struct shm *inherited, unsigned kind, int sock)
{
	struct shm *s = shm_remap(fd, inherited);
	struct hvl_doorbell db;
	int tx_fd = -1, rx_fd = -1;
	uint32_t i;
	int r;

	if (kind == HVL_DOORBELL_EVENTFD) {
		r = hvl_doorbell_fds_fetch(sock, &tx_fd, &rx_fd);
		if (r < 0) {
			fprintf(stderr, "child: fds_fetch: %s\n", strerror(-r));
			return 10;
		}
	}
	r = hvl_doorbell_open(&db, kind, &s->to_pmm, &s->to_remote, tx_fd, rx_fd);
	if (r < 0) {
		fprintf(stderr, "child: open: %s\n", strerror(-r));
		return 11;
	}
	/* Tell the parent we are attached (any ring will do). */
	hvl_doorbell_ops.ring(&db);
	for (i = 1; i <= PINGPONGS; i++) {
		while (__atomic_load_n(&s->ping, __ATOMIC_ACQUIRE) != i) {
			if (hvl_doorbell_ops.wait(&db, 5000) == -ETIMEDOUT) {
				fprintf(stderr, "child: lost wakeup at %u\n", i);
				return 12;
			}
		}
		__atomic_store_n(&s->pong, i, __ATOMIC_RELEASE);
		hvl_doorbell_ops.ring(&db);
	}
	/* A ringer never calls the kernel more often than it rings. */
	if (db.syscalls > db.rings + db.waits * 1000u)
		return 13;
	hvl_doorbell_close(&db);
	return 0;
}

static void test_pingpong(unsigned kind)
{
	const char *name = hvl_doorbell_kind_name(kind);
	int fd = shm_create();
	struct shm *s = shm_map(fd);
	struct hvl_doorbell db;
	int sv[2] = { -1, -1 };
	int tx_fd = -1, rx_fd = -1;
	int64_t t0;
	uint32_t i;
	pid_t pid;
	int st, r;

	if (kind == HVL_DOORBELL_EVENTFD && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		perror("socketpair");
		exit(2);
	}
	pid = fork();
	if (pid == 0) {
		if (sv[0] >= 0)
			close(sv[0]);
		_exit(remote_pingpong(fd, s, kind, sv[1]));
	}
	if (kind == HVL_DOORBELL_EVENTFD) {
		close(sv[1]);
		r = hvl_doorbell_fds_serve(sv[0], &tx_fd, &rx_fd);
		CHECK(r == 0, "%s: fds_serve %d", name, r);
	}
	r = hvl_doorbell_open(&db, kind, &s->to_remote, &s->to_pmm, tx_fd, rx_fd);
	CHECK(r == 0, "%s: open %d", name, r);

	/* Wait for the child's first ring so it cannot miss ping 1's ring. */
	t0 = now_ns();
	while (hvl_le32_acquire(&s->to_pmm.seq) == 0u && now_ns() - t0 < 5000000000LL)
		(void)hvl_doorbell_ops.wait(&db, 100);
	CHECK(hvl_le32_acquire(&s->to_pmm.seq) != 0u, "%s: child never attached", name);

	t0 = now_ns();
	for (i = 1; i <= PINGPONGS && failures == 0; i++) {
		__atomic_store_n(&s->ping, i, __ATOMIC_RELEASE);
		hvl_doorbell_ops.ring(&db);
		while (__atomic_load_n(&s->pong, __ATOMIC_ACQUIRE) != i) {
			if (hvl_doorbell_ops.wait(&db, 5000) == -ETIMEDOUT) {
				CHECK(0, "%s: lost wakeup at %u", name, i);
				break;
			}
		}
	}
	t0 = now_ns() - t0;
	if (waitpid(pid, &st, 0) != pid)
		st = -1;
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: child status 0x%x", name, (unsigned)st);
	printf("  %-7s %u ping-pongs: %.2f us/round trip; parent rings %llu, syscalls %llu, blocking waits %llu\n",
	       name, PINGPONGS, (double)t0 / 1e3 / PINGPONGS, (unsigned long long)db.rings,
	       (unsigned long long)db.syscalls, (unsigned long long)db.waits);
	hvl_doorbell_close(&db);
	if (kind == HVL_DOORBELL_EVENTFD) {
		close(tx_fd);
		close(rx_fd);
		close(sv[0]);
	}
	munmap(s, SHM_SIZE);
	close(fd);
}

/* ------------------------------------------------- in-process pair helpers */

struct pair {
	int fd;
	struct shm *s;
	struct hvl_doorbell a; /* "PMM": rings to_remote, waits on to_pmm */
	struct hvl_doorbell b; /* "remote": rings to_pmm, waits on to_remote */
	int efd[2];
};

static void pair_open(struct pair *p, unsigned kind)
{
	int tx = -1, rx = -1;

	memset(p, 0, sizeof *p);
	p->fd = shm_create();
	p->s = shm_map(p->fd);
	p->efd[0] = p->efd[1] = -1;
	if (kind == HVL_DOORBELL_EVENTFD) {
		p->efd[0] = eventfd(0, EFD_CLOEXEC); /* to PMM; open makes rx nonblocking */
		p->efd[1] = eventfd(0, EFD_CLOEXEC); /* to remote */
		tx = p->efd[1];
		rx = p->efd[0];
	}
	if (hvl_doorbell_open(&p->a, kind, &p->s->to_remote, &p->s->to_pmm, tx, rx) != 0 ||
	    hvl_doorbell_open(&p->b, kind, &p->s->to_pmm, &p->s->to_remote, rx, tx) != 0) {
		fprintf(stderr, "pair_open failed\n");
		exit(2);
	}
}

static void pair_close(struct pair *p)
{
	hvl_doorbell_close(&p->a);
	hvl_doorbell_close(&p->b);
	if (p->efd[0] >= 0) {
		close(p->efd[0]);
		close(p->efd[1]);
	}
	munmap(p->s, SHM_SIZE);
	close(p->fd);
}

/* --------------------------------------------------------------- timeouts */

static void test_timeout(unsigned kind)
{
	const char *name = hvl_doorbell_kind_name(kind);
	struct pair p;
	int64_t t;
	int r;

	pair_open(&p, kind);
	r = hvl_doorbell_ops.wait(&p.b, 0);
	CHECK(r == -ETIMEDOUT, "%s: wait(0) = %d", name, r);
	t = now_ns();
	r = hvl_doorbell_ops.wait(&p.b, 100);
	t = now_ns() - t;
	CHECK(r == -ETIMEDOUT, "%s: wait(100) = %d", name, r);
	CHECK(t >= 95000000LL && t <= 2000000000LL, "%s: wait(100) took %lld ns", name, (long long)t);
	CHECK(p.s->to_remote.sleeping.v == 0u, "%s: sleeping left set", name);
	/* A ring before the wait is not lost: wait returns at once. */
	hvl_doorbell_ops.ring(&p.a);
	t = now_ns();
	r = hvl_doorbell_ops.wait(&p.b, 1000);
	t = now_ns() - t;
	CHECK(r == 0 && t < 50000000LL, "%s: pending ring: r=%d, %lld ns", name, r, (long long)t);
	/* ... and consumed: the next wait times out again. */
	r = hvl_doorbell_ops.wait(&p.b, 10);
	CHECK(r == -ETIMEDOUT, "%s: ring seen twice (r=%d)", name, r);
	pair_close(&p);
}

/* ------------------------------------------------------------------ kick */

struct waiter {
	struct hvl_doorbell *db;
	int r;
	int64_t ns;
};

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;
	int64_t t = now_ns();

	w->r = hvl_doorbell_ops.wait(w->db, 5000);
	w->ns = now_ns() - t;
	return NULL;
}

static void test_kick(unsigned kind)
{
	const char *name = hvl_doorbell_kind_name(kind);
	struct waiter w;
	pthread_t th;
	struct pair p;

	pair_open(&p, kind);
	w.db = &p.b;
	w.r = 1;
	w.ns = 0;
	pthread_create(&th, NULL, waiter_main, &w);
	sleep_ms(50);
	hvl_doorbell_ops.kick(&p.b);
	pthread_join(th, NULL);
	CHECK(w.r == 0, "%s: kicked wait returned %d", name, w.r);
	CHECK(w.ns >= 40000000LL && w.ns < 2000000000LL, "%s: kicked wait took %lld ns", name,
	      (long long)w.ns);
	/* The kick is consumed. */
	CHECK(hvl_doorbell_ops.wait(&p.b, 10) == -ETIMEDOUT, "%s: kick seen twice", name);
	pair_close(&p);
}

/* ---------------------------------------------- syscalls only when needed */

static void test_no_syscall(unsigned kind)
{
	const char *name = hvl_doorbell_kind_name(kind);
	struct waiter w;
	pthread_t th;
	struct pair p;
	int64_t t;
	unsigned i;

	pair_open(&p, kind);
	/* The remote never sleeps: 1000 rings, no system call. */
	for (i = 0; i < 1000u; i++)
		hvl_doorbell_ops.ring(&p.a);
	CHECK(p.a.rings == 1000u && p.a.syscalls == 0u, "%s: busy peer: rings %llu syscalls %llu",
	      name, (unsigned long long)p.a.rings, (unsigned long long)p.a.syscalls);
	CHECK(hvl_doorbell_ops.wait(&p.b, 1000) == 0 && p.b.syscalls == 0u,
	      "%s: pending wait made a syscall", name);

	/* The remote sleeps: exactly one wake call (none when polling). */
	w.db = &p.b;
	w.r = 1;
	w.ns = 0;
	pthread_create(&th, NULL, waiter_main, &w);
	t = now_ns();
	while (kind != HVL_DOORBELL_POLL && hvl_le32_once(&p.s->to_remote.sleeping) == 0u &&
	       now_ns() - t < 2000000000LL)
		sleep_ms(1);
	sleep_ms(20);
	hvl_doorbell_ops.ring(&p.a);
	pthread_join(th, NULL);
	CHECK(w.r == 0, "%s: ring to sleeper: r=%d", name, w.r);
	CHECK(p.a.syscalls == (kind == HVL_DOORBELL_POLL ? 0u : 1u), "%s: sleeper: syscalls %llu",
	      name, (unsigned long long)p.a.syscalls);
	pair_close(&p);
}

/* ---------------------------------------------------------------- fdpass */

static void test_fdpass(void)
{
	int sv[2], fds[3], got[HVL_FD_MAX];
	char msg[100], in[100];
	struct stat a, b;
	unsigned n = 99, i;
	int r;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		perror("socketpair");
		exit(2);
	}
	for (i = 0; i < 3u; i++)
		fds[i] = eventfd(i, EFD_CLOEXEC);
	for (i = 0; i < sizeof msg; i++)
		msg[i] = (char)i;
	r = hvl_fd_send(sv[0], fds, 3u, msg, sizeof msg);
	CHECK(r == 0, "fd_send %d", r);
	r = hvl_fd_recv(sv[1], got, HVL_FD_MAX, &n, in, sizeof in);
	CHECK(r == 0 && n == 3u && memcmp(msg, in, sizeof msg) == 0, "fd_recv r=%d n=%u", r, n);
	for (i = 0; r == 0 && i < n; i++) {
		fstat(fds[i], &a);
		fstat(got[i], &b);
		CHECK(a.st_ino == b.st_ino && got[i] != fds[i], "fd %u not the same file", i);
		close(got[i]);
	}
	/* Too many descriptors for the receiver: refused, nothing leaked. */
	r = hvl_fd_send(sv[0], fds, 3u, msg, 4);
	CHECK(r == 0, "fd_send %d", r);
	r = hvl_fd_recv(sv[1], got, 2u, &n, in, 4);
	CHECK(r == -EMSGSIZE && n == 0u, "fd_recv overflow r=%d n=%u", r, n);
	/* No descriptors at all is fine; EOF is reported. */
	r = hvl_fd_send(sv[0], NULL, 0u, msg, 8);
	CHECK(r == 0, "fd_send plain %d", r);
	r = hvl_fd_recv(sv[1], got, HVL_FD_MAX, &n, in, 8);
	CHECK(r == 0 && n == 0u, "fd_recv plain r=%d n=%u", r, n);
	CHECK(hvl_fd_send(sv[0], fds, 1u, msg, 0) == -EINVAL, "empty message accepted");
	close(sv[0]);
	r = hvl_fd_recv(sv[1], got, HVL_FD_MAX, &n, in, 8);
	CHECK(r == -ECONNRESET, "fd_recv at EOF %d", r);
	close(sv[1]);
	for (i = 0; i < 3u; i++)
		close(fds[i]);
}

static void test_names(void)
{
	unsigned k = 99;

	CHECK(hvl_doorbell_kind_parse("futex", &k) == 0 && k == HVL_DOORBELL_FUTEX, "parse futex");
	CHECK(hvl_doorbell_kind_parse("eventfd", &k) == 0 && k == HVL_DOORBELL_EVENTFD, "parse eventfd");
	CHECK(hvl_doorbell_kind_parse("poll", &k) == 0 && k == HVL_DOORBELL_POLL, "parse poll");
	CHECK(hvl_doorbell_kind_parse("mailbox", &k) == -EINVAL, "parse mailbox");
	CHECK(hvl_doorbell_kind_name(HVL_DOORBELL_MAILBOX) == NULL, "name mailbox");
	CHECK(strcmp(hvl_doorbell_kind_name(HVL_DOORBELL_FUTEX), "futex") == 0, "name futex");
}

int main(void)
{
	static const unsigned kinds[] = { HVL_DOORBELL_POLL, HVL_DOORBELL_FUTEX, HVL_DOORBELL_EVENTFD };
	unsigned i;

	test_names();
	test_fdpass();
	for (i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		test_timeout(kinds[i]);
		test_kick(kinds[i]);
		test_no_syscall(kinds[i]);
		test_pingpong(kinds[i]);
	}
	if (failures != 0) {
		fprintf(stderr, "test_doorbell: %d failure(s)\n", failures);
		return 1;
	}
	printf("test_doorbell: OK\n");
	return 0;
}

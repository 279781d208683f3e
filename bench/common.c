/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hvl-bench helpers shared by every mode: the clock, bounded spin and futex
 * waits, CPU pinning, the memfd mapping, sample statistics and the phase
 * runner that forks the device side of a two-process mode.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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
#include <sys/syscall.h>
#include <sys/wait.h>

#include "bench.h"

int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Spin until *p != old; every 64k spins check for a dead peer. */
int spin_while_eq(const uint32_t *p, uint32_t old, uint32_t *out)
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

long futex(uint32_t *uaddr, int op, uint32_t val, const struct timespec *ts)
{
	return syscall(SYS_futex, uaddr, op, val, ts, NULL, 0);
}

/*
 * Futex baseline wait: optional bounded spin (same budget as the doorbell
 * modes), then FUTEX_WAIT on the shared word (no PRIVATE flag: two processes).
 */
int futex_while_eq(struct bench *b, uint32_t *p, uint32_t old, uint32_t *out)
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

void pin(struct bench *b, int cpu)
{
	cpu_set_t set;

	if (b->ncpu < 2)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof set, &set) != 0)
		perror("sched_setaffinity");
}

struct view map_view(int fd)
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

void summarize(uint32_t *s, unsigned n, struct rtt *r)
{
	qsort(s, n, sizeof s[0], cmp_u32);
	r->median = s[n / 2u];
	r->p99 = s[(uint64_t)n * 99u / 100u];
}

/* Record one sample per round trip (i counts warm-up then measured). */
void sample(struct bench *b, unsigned i, int64_t *t)
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
int run_phase(struct bench *b, int (*dev)(struct bench *, struct view *),
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
int wait_ready(struct view *v)
{
	int64_t t0 = now_ns();

	while (ld(&v->ctl->ready) == 0u) {
		if (now_ns() - t0 > STUCK_NS)
			return -1;
		usleep(100);
	}
	return 0;
}


int xfer(int fd, void *buf, size_t len, int wr)
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


int reap(pid_t pid, unsigned ms)
{
	int64_t t0 = now_ns();
	int status = 0;
	pid_t r;

	while ((r = waitpid(pid, &status, WNOHANG)) == 0) {
		if (now_ns() - t0 > (int64_t)ms * 1000000LL) {
			/* Bounded: what we started and does not stop is killed, by PID. */
			kill(pid, SIGKILL);
			(void)waitpid(pid, &status, 0);
			return -1;
		}
		usleep(1000);
	}
	if (r < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int bench_find_pmm(const struct bench *b, char *out, size_t len)
{
	char self[PATH_MAX - 16];
	ssize_t n;
	char *slash;

	if (b->pmm_path != NULL) {
		snprintf(out, len, "%s", b->pmm_path);
		return access(out, X_OK) == 0 ? 0 : -1;
	}
	/* Built next to us: build/hvl-pmm beside build/hvl-bench. */
	n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n <= 0)
		return -1;
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (slash == NULL)
		return -1;
	*slash = '\0';
	snprintf(out, len, "%s/hvl-pmm", self);
	return access(out, X_OK) == 0 ? 0 : -1;
}

pid_t bench_spawn_pmm(struct bench *b, char *const argv[], const char *log)
{
	pid_t pid = fork();

	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);

		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
		if (nul >= 0)
			dup2(nul, STDIN_FILENO);
		pin(b, 1); /* the device side's CPU, as in every mode */
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}


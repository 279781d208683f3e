/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hvl-bench modes that measure the real daemon, not an imitation of it:
 *
 * h) idle PMM: hvl-pmm runs one region (futex doorbell, heartbeat 100 ms)
 *    with one socket-backed console; a remote process attaches through the
 *    POSIX port, opens the console and then does nothing.  We sample the
 *    daemon's utime+stime from /proc/PID/stat (all its threads: the device
 *    thread with its heartbeat, the epoll main loop) over a window.
 * i) console round trip: the remote (CPU 0) writes 64 bytes with
 *    hvl_console_write; we (the Linux side, CPU 1 with the PMM) read them
 *    from the console socket and write them back; the remote reads them
 *    with hvl_console_read.  The path crosses the PMM's device thread
 *    (transmitq -> socket) and its epoll thread (socket -> input buffer ->
 *    kick the device thread -> receiveq), so it is expected to be slower
 *    than the raw virtqueue modes.
 *
 * Everything we start is stopped by PID with bounded waits; the temporary
 * directory (config, region file, socket, log) is removed at the end.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "bench.h"
#include "hvl/console.h"
#include "hvl/posix.h"

#define CON_QSIZE      64u    /* console queue_size in the config; bounds the storage */
#define ATTACH_MS      5000u  /* remote attach / console open / socket connect */
#define IO_MS          2000u  /* one console write or read, one socket poll */
#define SETTLE_MS      300u   /* after the idle remote attached, before sampling */

/* One running hvl-pmm and the files it uses. */
struct pmm_ctx {
	char dir[64];                 /* /tmp/hvl-bench-XXXXXX */
	char cfg[96], region[96], sock_path[96], log[96];
	pid_t pid;                    /* the daemon, or -1 */
	int sock;                     /* our client connection to the console */
};

/* Ring bookkeeping of the console, on the remote's stack (no malloc there). */
union con_storage {
	void *align_ptr;
	uint64_t align_u64;
	uint8_t bytes[HVL_CONSOLE_STORAGE(CON_QSIZE)];
};


static int write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return -1;
	fputs(text, f);
	return fclose(f) == 0 ? 0 : -1;
}

/* Copy the daemon's log to stderr (when something failed), at most 4 KiB. */
static void dump_log(const struct pmm_ctx *c)
{
	char buf[4096];
	size_t n;
	FILE *f = fopen(c->log, "r");

	if (f == NULL)
		return;
	n = fread(buf, 1, sizeof buf, f);
	fclose(f);
	fprintf(stderr, "hvl-bench: hvl-pmm log:\n%.*s\n", (int)n, buf);
}

/* Has the daemon exited?  Looks without reaping: pmm_stop() collects its status. */
static int pmm_running(const struct pmm_ctx *c)
{
	siginfo_t si;

	memset(&si, 0, sizeof si);
	if (waitid(P_PID, (id_t)c->pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0)
		return 0;
	return si.si_pid == 0;
}

/* Connect to the console socket, retrying while the PMM starts (bounded). */
static int connect_console(struct pmm_ctx *c)
{
	struct sockaddr_un sa;
	int64_t t0 = now_ns();
	int s;

	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", c->sock_path);
	for (;;) {
		s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (s >= 0 && connect(s, (struct sockaddr *)&sa, sizeof sa) == 0)
			return s;
		if (s >= 0)
			close(s);
		if (now_ns() - t0 > (int64_t)ATTACH_MS * 1000000LL || !pmm_running(c))
			return -1;
		usleep(5000);
	}
}

/*
 * Write the config, start hvl-pmm pinned to CPU 1 (the Linux side), connect
 * to its console socket.  Returns 0 or -1 (then pmm_stop() still cleans up).
 */
static int pmm_start(struct bench *b, struct pmm_ctx *c, const char *exe)
{
	char text[1024];
	char *argv[4];

	c->pid = -1;
	c->sock = -1;
	snprintf(c->dir, sizeof c->dir, "/tmp/hvl-bench-XXXXXX");
	if (mkdtemp(c->dir) == NULL) {
		c->dir[0] = '\0';
		perror("hvl-bench: mkdtemp");
		return -1;
	}
	snprintf(c->cfg, sizeof c->cfg, "%s/pmm.ini", c->dir);
	snprintf(c->region, sizeof c->region, "%s/region", c->dir);
	snprintf(c->sock_path, sizeof c->sock_path, "%s/console.sock", c->dir);
	snprintf(c->log, sizeof c->log, "%s/pmm.log", c->dir);
	snprintf(text, sizeof text,
		 "; written by hvl-bench\n"
		 "[region rt0]\nfile = %s\nremote_base = 0x%llx\ndoorbell = futex\nheartbeat_ms = 100\n"
		 "[device rt0.console0]\ntype = console\nbackend = socket\npath = %s\nqueue_size = %u\n",
		 c->region, (unsigned long long)BUS_BASE, c->sock_path, CON_QSIZE);
	if (write_text(c->cfg, text) != 0) {
		perror("hvl-bench: writing the PMM config");
		return -1;
	}
	argv[0] = (char *)(uintptr_t)exe; /* execv's prototype predates const */
	argv[1] = "-c";
	argv[2] = c->cfg;
	argv[3] = NULL;
	c->pid = bench_spawn_pmm(b, argv, c->log); /* pinned to CPU 1, as every thread of it */
	if (c->pid < 0) {
		perror("hvl-bench: fork");
		return -1;
	}
	c->sock = connect_console(c);
	if (c->sock < 0) {
		fprintf(stderr, "hvl-bench: no console socket at %s (%s)\n", c->sock_path,
			pmm_running(c) ? "timed out" : "hvl-pmm exited");
		return -1;
	}
	return 0;
}

/* SIGTERM the daemon (SIGKILL if it does not exit in 5 s); remove our files. */
static int pmm_stop(struct pmm_ctx *c, int show_log)
{
	int rc = 0;

	if (c->sock >= 0)
		close(c->sock);
	if (c->pid > 0) {
		kill(c->pid, SIGTERM);
		rc = reap(c->pid, 5000);
		if (rc != 0)
			fprintf(stderr, "hvl-bench: hvl-pmm exit status %d\n", rc);
	}
	if (show_log || rc != 0)
		dump_log(c);
	if (c->dir[0] != '\0') {
		(void)unlink(c->cfg);
		(void)unlink(c->region);
		(void)unlink(c->sock_path);
		(void)unlink(c->log);
		if (rmdir(c->dir) != 0)
			fprintf(stderr, "hvl-bench: could not remove %s: %s\n", c->dir, strerror(errno));
	}
	return rc == 0 ? 0 : -1;
}

/* Remote side: attach through the POSIX port and open console 0. */
static int remote_open(struct pmm_ctx *c, struct hvl_posix_remote *p, struct hvl_console *con,
		       union con_storage *s)
{
	int rc = hvl_posix_remote_open(p, c->region, NULL, BUS_BASE, ATTACH_MS);

	if (rc != 0) {
		fprintf(stderr, "hvl-bench: remote attach: %s\n", strerror(-rc));
		return -1;
	}
	rc = hvl_console_open(con, &p->r, 0, s->bytes, sizeof s->bytes);
	if (rc != 0) {
		fprintf(stderr, "hvl-bench: hvl_console_open: %s\n", strerror(-rc));
		hvl_posix_remote_close(p);
		return -1;
	}
	return 0;
}

/* Wait up to @ms for @fd to be readable (or hung up); 1 if so, 0 on timeout. */
static int readable(int fd, unsigned ms)
{
	struct pollfd p = { fd, POLLIN, 0 };
	int r;

	do
		r = poll(&p, 1, (int)ms);
	while (r < 0 && errno == EINTR);
	return r > 0;
}

/*
 * CPU time the daemon used so far: utime+stime in clock ticks from
 * /proc/PID/stat, and the sum of every thread's run time in ns from
 * /proc/PID/task/TID/schedstat (a cross-check at finer resolution: a
 * tick is 10 ms at USER_HZ 100, i.e. 0.5% of a 2 s window).
 */
static int proc_cpu(pid_t pid, uint64_t *ticks, uint64_t *ns)
{
	char path[320], buf[1024];
	unsigned long long ut, stt, run;
	struct dirent *e;
	size_t n;
	char *p;
	DIR *d;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The command name may hold spaces and parentheses: fields start after the last ')'. */
	p = strrchr(buf, ')');
	/* Fields 3..15: state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime. */
	if (p == NULL || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &stt) != 2)
		return -1;
	*ticks = (uint64_t)ut + (uint64_t)stt;
	*ns = 0;
	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "/proc/%d/task/%s/schedstat", (int)pid, e->d_name);
		f = fopen(path, "r");
		if (f == NULL)
			continue; /* thread gone */
		if (fscanf(f, "%llu", &run) == 1)
			*ns += (uint64_t)run;
		fclose(f);
	}
	closedir(d);
	return 0;
}

/* ------------------------------------------------------- h) idle PMM */

/* The idle remote: attach, open the console, report, then wait for EOF on @quit. */
static int idle_remote(struct bench *b, struct pmm_ctx *c, int ready, int quit)
{
	struct hvl_posix_remote p;
	struct hvl_console con;
	union con_storage s;
	char ch;
	int ok;

	pin(b, 0);
	ok = remote_open(c, &p, &con, &s) == 0;
	ch = ok ? 'A' : 'F';
	if (write(ready, &ch, 1) != 1 || !ok)
		return -1;
	/* Nothing at all until told to go (bounded: the parent needs a few seconds). */
	(void)readable(quit, 60000);
	(void)hvl_console_close(&con);
	hvl_posix_remote_close(&p);
	return 0;
}

static int idle_pmm(struct bench *b, struct pmm_ctx *c, struct pmm_result *pr)
{
	int ready[2], quit[2], rc = -1;
	uint64_t tk0, tk1, ns0, ns1;
	int64_t t0, t1;
	char ch = 0;
	pid_t pid;

	if (pipe2(ready, O_CLOEXEC) != 0)
		return -1;
	if (pipe2(quit, O_CLOEXEC) != 0) {
		close(ready[0]);
		close(ready[1]);
		return -1;
	}
	pid = fork();
	if (pid == 0) {
		close(ready[0]);
		close(quit[1]);
		close(c->sock);
		_exit(idle_remote(b, c, ready[1], quit[0]) == 0 ? 0 : 1);
	}
	close(ready[1]);
	close(quit[0]);
	if (pid < 0 || !readable(ready[0], 2u * ATTACH_MS) || read(ready[0], &ch, 1) != 1 || ch != 'A') {
		fprintf(stderr, "hvl-bench: idle remote did not attach\n");
	} else {
		usleep(SETTLE_MS * 1000u);
		t0 = now_ns();
		if (proc_cpu(c->pid, &tk0, &ns0) == 0) {
			usleep(b->pmm_idle_ms * 1000u);
			t1 = now_ns();
			if (proc_cpu(c->pid, &tk1, &ns1) == 0) {
				double wall = (double)(t1 - t0) / 1e9;

				pr->idle_pct = 100.0 * ((double)(tk1 - tk0) / (double)sysconf(_SC_CLK_TCK)) / wall;
				pr->idle_pct_ns = ns0 != 0 ? 100.0 * (double)(ns1 - ns0) / 1e9 / wall : -1.0;
				pr->idle_ms = (unsigned)((t1 - t0) / 1000000);
				rc = 0;
			}
		}
	}
	close(quit[1]); /* EOF: the remote closes its console and exits */
	close(ready[0]);
	if (pid > 0 && reap(pid, 5000) != 0) {
		fprintf(stderr, "hvl-bench: idle remote failed\n");
		rc = -1;
	}
	return rc;
}

/* ----------------------------------------------- i) console round trip */

/* The remote: write 64 B, read 64 B back, check, one sample per round trip. */
static int con_remote(struct bench *b, struct pmm_ctx *c, unsigned n)
{
	struct hvl_posix_remote p;
	struct hvl_console con;
	union con_storage s;
	uint8_t msg[MSG_LEN], in[MSG_LEN];
	unsigned i;
	size_t got;
	long k;
	int64_t t;
	int rc = 0;

	pin(b, 0);
	if (remote_open(c, &p, &con, &s) != 0)
		return -1;
	memset(msg, 0x3c, sizeof msg);
	t = now_ns();
	for (i = 0; i < n && rc == 0; i++) {
		memcpy(msg, &i, sizeof i);
		k = hvl_console_write(&con, msg, sizeof msg, IO_MS);
		if (k != (long)sizeof msg) {
			fprintf(stderr, "hvl-bench: console write at %u: %ld\n", i, k);
			rc = -1;
			break;
		}
		for (got = 0; got < sizeof in; got += (size_t)k) {
			k = hvl_console_read(&con, in + got, sizeof in - got, IO_MS);
			if (k <= 0) {
				fprintf(stderr, "hvl-bench: console read at %u: %ld\n", i, k);
				rc = -1;
				break;
			}
		}
		if (rc == 0 && memcmp(in, msg, sizeof msg) != 0) {
			fprintf(stderr, "hvl-bench: console echo differs at %u\n", i);
			rc = -1;
		}
		if (rc == 0)
			sample(b, i, &t);
	}
	(void)hvl_console_close(&con);
	hvl_posix_remote_close(&p);
	return rc;
}

/* The Linux side: read 64 B from the console socket, write them back. */
static int con_echo(struct pmm_ctx *c, unsigned n, int child_done)
{
	uint8_t buf[MSG_LEN];
	struct pollfd pf[2];
	unsigned i;
	size_t have;
	ssize_t r;

	for (i = 0; i < n; i++) {
		for (have = 0; have < sizeof buf; have += (size_t)r) {
			pf[0].fd = c->sock;
			pf[0].events = POLLIN;
			pf[1].fd = child_done; /* EOF when the remote exits early */
			pf[1].events = POLLIN;
			if (poll(pf, 2, (int)(2u * IO_MS)) <= 0 || (pf[0].revents & POLLIN) == 0)
				return -1;
			r = read(c->sock, buf + have, sizeof buf - have);
			if (r <= 0)
				return -1;
		}
		for (have = 0; have < sizeof buf; have += (size_t)r) {
			r = send(c->sock, buf + have, sizeof buf - have, MSG_NOSIGNAL);
			if (r <= 0)
				return -1;
		}
	}
	return 0;
}

static int console_rtt(struct bench *b, struct pmm_ctx *c, struct pmm_result *pr)
{
	unsigned warmup = b->con_iters / 10u, n = b->con_iters + warmup;
	size_t bytes = (size_t)b->con_iters * sizeof(uint32_t);
	uint32_t *samples;
	int done[2], rc;
	pid_t pid;

	samples = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (samples == MAP_FAILED || pipe2(done, O_CLOEXEC) != 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		close(done[0]);
		close(c->sock);
		/* Our copy of the context: the console's sample array and warm-up. */
		b->samples = samples;
		b->warmup = warmup;
		_exit(con_remote(b, c, n) == 0 ? 0 : 1);
	}
	close(done[1]);
	pin(b, 1); /* with the PMM: the Linux side */
	rc = pid > 0 ? con_echo(c, n, done[0]) : -1;
	close(done[0]);
	if (pid > 0 && reap(pid, 2u * IO_MS + 1000u) != 0)
		rc = -1;
	if (rc == 0) {
		summarize(samples, b->con_iters, &pr->con);
		pr->con_iters = b->con_iters;
	} else {
		fprintf(stderr, "hvl-bench: console round trip failed\n");
	}
	munmap(samples, bytes);
	return rc;
}

int run_pmm_modes(struct bench *b, struct pmm_result *pr)
{
	struct pmm_ctx c;
	int rc;

	memset(&c, 0, sizeof c);
	pr->con.name = "console";
	pr->con.what = "via the real hvl-pmm: hvl_console_write -> device thread -> UNIX socket -> "
		       "echo -> epoll thread -> device thread -> hvl_console_read";
	if (bench_find_pmm(b, pr->path, sizeof pr->path) != 0) {
		pr->found = 0;
		return 0;
	}
	pr->found = 1;
	rc = pmm_start(b, &c, pr->path);
	if (rc == 0) {
		pr->idle_ok = idle_pmm(b, &c, pr) == 0;
		fprintf(stderr, "  idle PMM done\n");
		pr->con.ok = console_rtt(b, &c, pr) == 0;
		fprintf(stderr, "  console round trip done\n");
	}
	rc |= pmm_stop(&c, rc != 0 || !pr->idle_ok || !pr->con.ok);
	return rc == 0 && pr->idle_ok && pr->con.ok ? 0 : -1;
}

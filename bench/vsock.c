/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hvl-bench vsock modes, against the real hvl-pmm (a vsock device whose
 * host port 7000 is this process's UNIX socket):
 *
 *  - round trip, 64 B, remote -> PMM -> Linux echo program -> PMM ->
 *    remote, through the UNIX socket the PMM bridges to.  "polled": the
 *    remote spins on hvl_vsock_recv(.., 0); the PMM runs with the futex
 *    doorbell (its device thread sleeps; a spinning PMM would compete with
 *    the echo program for CPU 1).  "doorbell": the remote sleeps too.
 *  - stream throughput, remote -> Linux program, 64 KiB writes, timed
 *    from the first send to the program's acknowledgement of the last byte.
 *  - the baseline of the same run: the same stream over a UNIX stream
 *    socket between two processes (64 KiB writes), and the spin and UNIX
 *    socket round trips measured by the baselines.
 *
 * The remote runs in a child pinned to CPU 0; hvl-pmm and the Linux
 * program on CPU 1.  Everything started is stopped by PID with bounded
 * waits, and the temporary directory is removed.
 */
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
#include "hvl/posix.h"
#include "hvl/vsock.h"

#define VS_PORT   7000u
#define VS_CHUNK  65536u
#define VS_IO_MS  10000u
#define VS_NSOCK  4u
#define VS_RBUF   (256u * 1024u)

struct vs_shared {
	int ok;
	unsigned n;                  /* round trips measured */
	double stream_s;
	char err[160];
	uint32_t samples[2][20000];  /* polled, doorbell */
};

struct vs_ctx {
	char dir[64], region[96], svc[96], log[96];
	pid_t pid;
};


static int vs_pmm_start(struct bench *b, struct vs_ctx *c, const char *exe)
{
	char dev[512];
	char *argv[10];

	snprintf(dev, sizeof dev, "vsock,cid=3,port.%u=%s,buf_size=%u,data_size=1048576,queue_size=256",
		 VS_PORT, c->svc, VS_RBUF);
	argv[0] = (char *)(uintptr_t)exe;
	argv[1] = "--file";
	argv[2] = c->region;
	argv[3] = "--doorbell";
	argv[4] = "futex";
	argv[5] = "--device";
	argv[6] = dev;
	argv[7] = "-q";
	argv[8] = NULL;
	c->pid = bench_spawn_pmm(b, argv, c->log);
	if (c->pid < 0)
		return -1;
	return 0;
}

/* ------------------------------------------------------------ the remote */

HVL_VSOCK_DEFINE(bvs, VS_NSOCK, VS_RBUF, 256);

static long rsend(int s, const uint8_t *p, size_t n)
{
	size_t done = 0;

	while (done < n) {
		long r = hvl_vsock_send(&bvs, s, p + done, n - done, VS_IO_MS);

		if (r <= 0)
			return r;
		done += (size_t)r;
	}
	return (long)done;
}

/* One 64 B round trip; @poll spins on recv(.., 0), else sleeps in recv. */
static int rtt_once(int s, uint8_t *msg, int poll_mode)
{
	size_t got = 0;
	int64_t end = now_ns() + (int64_t)VS_IO_MS * 1000000;

	if (rsend(s, msg, MSG_LEN) != (long)MSG_LEN)
		return -1;
	while (got < MSG_LEN) {
		long r = hvl_vsock_recv(&bvs, s, msg + got, MSG_LEN - got, poll_mode ? 0u : VS_IO_MS);

		if (r > 0)
			got += (size_t)r;
		else if (r != -EAGAIN || now_ns() > end)
			return -1;
	}
	return 0;
}

static int vs_remote(struct bench *b, struct vs_ctx *c, struct vs_shared *sh, uint64_t bytes,
		     unsigned iters)
{
	struct hvl_vsock_mem m = HVL_VSOCK_MEM(bvs, VS_NSOCK);
	static uint8_t chunk[VS_CHUNK];
	struct hvl_posix_remote pr;
	uint8_t msg[MSG_LEN];
	unsigned mode, i, warm = iters / 10u;
	uint64_t sent = 0;
	int64_t t0;
	uint8_t ack[8];
	int s, rc;

	pin(b, 0);
	rc = hvl_posix_remote_open(&pr, c->region, NULL, UINT64_MAX, 5000);
	if (rc == 0)
		rc = hvl_vsock_open(&bvs, &pr.r, 0, &m);
	if (rc != 0) {
		snprintf(sh->err, sizeof sh->err, "attach/open: %s", strerror(-rc));
		return 1;
	}
	s = hvl_vsock_socket(&bvs);
	rc = hvl_vsock_connect(&bvs, s, VS_PORT, VS_IO_MS);
	if (rc != 0) {
		snprintf(sh->err, sizeof sh->err, "connect (echo): %s", strerror(-rc));
		return 1;
	}
	memset(msg, 0x5a, sizeof msg);
	for (mode = 0; mode < 2; mode++) {
		for (i = 0; i < warm + iters; i++) {
			int64_t t = now_ns();

			if (rtt_once(s, msg, mode == 0) != 0) {
				snprintf(sh->err, sizeof sh->err, "round trip %u failed", i);
				return 1;
			}
			if (i >= warm)
				sh->samples[mode][i - warm] = (uint32_t)(now_ns() - t);
		}
	}
	hvl_vsock_close(&bvs, s);
	/* Stream: the Linux program acknowledges the total with 8 bytes. */
	s = hvl_vsock_socket(&bvs);
	rc = hvl_vsock_connect(&bvs, s, VS_PORT, VS_IO_MS);
	if (rc != 0) {
		snprintf(sh->err, sizeof sh->err, "connect (stream): %s", strerror(-rc));
		return 1;
	}
	memset(chunk, 0xa5, sizeof chunk);
	t0 = now_ns();
	while (sent < bytes) {
		if (rsend(s, chunk, VS_CHUNK) != (long)VS_CHUNK) {
			snprintf(sh->err, sizeof sh->err, "stream send failed at %llu", (unsigned long long)sent);
			return 1;
		}
		sent += VS_CHUNK;
	}
	(void)hvl_vsock_shutdown(&bvs, s, HVL_VSOCK_SHUT_WR);
	for (i = 0; i < sizeof ack;) {
		long r = hvl_vsock_recv(&bvs, s, ack + i, sizeof ack - i, VS_IO_MS);

		if (r <= 0) {
			snprintf(sh->err, sizeof sh->err, "no acknowledgement");
			return 1;
		}
		i += (unsigned)r;
	}
	sh->stream_s = (double)(now_ns() - t0) / 1e9;
	hvl_vsock_close(&bvs, s);
	(void)hvl_vsock_poll(&bvs, NULL, 0, 50);
	hvl_vsock_close_dev(&bvs);
	hvl_posix_remote_close(&pr);
	sh->n = iters;
	sh->ok = 1;
	return 0;
}

/* ------------------------------------------------------ the Linux program */

/* Echo the first connection (64 B messages) until EOF, then sink the second. */
static int vs_linux(int lfd, uint64_t bytes)
{
	static uint8_t buf[VS_CHUNK];
	uint64_t got = 0;
	int c;

	c = accept(lfd, NULL, NULL);
	if (c < 0)
		return -1;
	for (;;) {
		ssize_t n = read(c, buf, sizeof buf);

		if (n <= 0)
			break;
		if (xfer(c, buf, (size_t)n, 1) != 0)
			break;
	}
	close(c);
	c = accept(lfd, NULL, NULL);
	if (c < 0)
		return -1;
	for (;;) {
		ssize_t n = read(c, buf, sizeof buf);

		if (n <= 0)
			break;
		got += (uint64_t)n;
	}
	(void)xfer(c, &got, sizeof got, 1);
	close(c);
	return got == bytes ? 0 : -1;
}

/* The baseline: the same stream over a UNIX stream socket between two processes. */
static double unix_stream_s(struct bench *b, uint64_t bytes)
{
	static uint8_t buf[VS_CHUNK];
	int sv[2];
	uint64_t done = 0;
	int64_t t0;
	pid_t pid;
	double s;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return -1.0;
	pid = fork();
	if (pid == 0) {
		uint64_t got = 0;

		close(sv[0]);
		pin(b, 1);
		for (;;) {
			ssize_t n = read(sv[1], buf, sizeof buf);

			if (n <= 0)
				break;
			got += (uint64_t)n;
		}
		(void)xfer(sv[1], &got, sizeof got, 1);
		_exit(got == bytes ? 0 : 1);
	}
	close(sv[1]);
	pin(b, 0);
	memset(buf, 0xa5, sizeof buf);
	t0 = now_ns();
	while (done < bytes && xfer(sv[0], buf, VS_CHUNK, 1) == 0)
		done += VS_CHUNK;
	shutdown(sv[0], SHUT_WR);
	if (xfer(sv[0], &done, sizeof done, 0) != 0)
		done = 0;
	s = (double)(now_ns() - t0) / 1e9;
	close(sv[0]);
	if (reap(pid, 10000) != 0 || done != bytes)
		return -1.0;
	return s;
}

int run_vsock_modes(struct bench *b, struct vsock_result *r)
{
	struct vs_shared *sh;
	struct vs_ctx c;
	struct sockaddr_un sa;
	unsigned iters = b->con_iters;
	int lfd = -1, rc = -1;
	pid_t rem = -1;

	memset(r, 0, sizeof *r);
	memset(&c, 0, sizeof c);
	c.pid = -1;
	r->bytes = (uint64_t)b->vs_mib << 20;
	if (iters > 20000u)
		iters = 20000u;
	r->iters = iters;
	r->unix_mbs = -1.0;
	{
		double s = unix_stream_s(b, r->bytes);

		if (s > 0.0)
			r->unix_mbs = (double)r->bytes / s / 1e6;
	}
	if (bench_find_pmm(b, r->path, sizeof r->path) != 0)
		return 0; /* skipped */
	r->found = 1;
	sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return -1;
	memset(sh, 0, sizeof *sh);
	snprintf(c.dir, sizeof c.dir, "/tmp/hvl-bench-vs-XXXXXX");
	if (mkdtemp(c.dir) == NULL)
		goto out;
	snprintf(c.region, sizeof c.region, "%s/region", c.dir);
	snprintf(c.svc, sizeof c.svc, "%s/svc.sock", c.dir);
	snprintf(c.log, sizeof c.log, "%s/pmm.log", c.dir);
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", c.svc);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(lfd, 4) != 0)
		goto out;
	if (vs_pmm_start(b, &c, r->path) != 0)
		goto out;
	rem = fork();
	if (rem == 0)
		_exit(vs_remote(b, &c, sh, r->bytes, iters));
	pin(b, 1);
	if (vs_linux(lfd, r->bytes) != 0)
		fprintf(stderr, "hvl-bench: vsock: the Linux side saw a short stream\n");
	if (reap(rem, 20000) == 0 && sh->ok) {
		summarize(sh->samples[0], sh->n, &r->rtt_poll);
		summarize(sh->samples[1], sh->n, &r->rtt_db);
		r->rtt_poll.ok = r->rtt_db.ok = 1;
		r->vs_mbs = (double)r->bytes / sh->stream_s / 1e6;
		r->ok = 1;
		rc = 0;
	} else {
		fprintf(stderr, "hvl-bench: vsock: %s\n", sh->err[0] ? sh->err : "remote failed");
	}
	rem = -1;
out:
	if (rem > 0)
		(void)reap(rem, 1000);
	if (c.pid > 0) {
		kill(c.pid, SIGTERM);
		if (reap(c.pid, 5000) != 0)
			rc = -1;
	}
	if (lfd >= 0)
		close(lfd);
	if (c.dir[0] != '\0') {
		(void)unlink(c.svc);
		(void)unlink(c.region);
		(void)unlink(c.log);
		(void)rmdir(c.dir);
	}
	munmap(sh, sizeof *sh);
	return rc;
}

void print_vsock(const struct vsock_result *r, const struct rtt *spin, const struct rtt *unix_rtt)
{
	double sx = r->unix_mbs > 0.0 ? r->vs_mbs / r->unix_mbs : 0.0;

	if (!r->found) {
		printf("\nvsock: SKIPPED (needs hvl-pmm)\n");
		return;
	}
	if (!r->ok) {
		printf("\nvsock: FAILED\n");
		return;
	}
	printf("\nvsock (real hvl-pmm, futex doorbell, remote CPU 0, PMM and Linux program CPU 1):\n");
	printf("  round trip 64 B, remote -> Linux echo via the PMM's UNIX-socket bridge, %u iterations:\n",
	       r->iters);
	printf("    %-9s median %llu ns, p99 %llu ns; %.3g x spin, %.3g x unix socket\n", "polled",
	       (unsigned long long)r->rtt_poll.median, (unsigned long long)r->rtt_poll.p99,
	       (double)r->rtt_poll.median / (double)spin->median,
	       (double)r->rtt_poll.median / (double)unix_rtt->median);
	printf("    %-9s median %llu ns, p99 %llu ns; %.3g x spin, %.3g x unix socket\n", "doorbell",
	       (unsigned long long)r->rtt_db.median, (unsigned long long)r->rtt_db.p99,
	       (double)r->rtt_db.median / (double)spin->median,
	       (double)r->rtt_db.median / (double)unix_rtt->median);
	printf("  stream remote -> Linux, 64 KiB writes, %llu MiB: %.0f MB/s; UNIX stream socket "
	       "(same run): %.0f MB/s; ratio %.3g\n", (unsigned long long)(r->bytes >> 20), r->vs_mbs,
	       r->unix_mbs, sx);
	printf("  targets: stream >= 3 x unix: %s; polled round trip <= 3 x spin: %s\n",
	       sx >= 3.0 ? "PASS" : "MISS",
	       (double)r->rtt_poll.median <= 3.0 * (double)spin->median ? "PASS" : "MISS");
}

void json_vsock(const struct vsock_result *r, const struct rtt *spin, FILE *js)
{
	fprintf(js, "  \"vsock\": {\"found\": %s, \"ok\": %s, \"iters\": %u, \"rtt_poll_median_ns\": %llu, "
		    "\"rtt_poll_p99_ns\": %llu, \"rtt_db_median_ns\": %llu, \"rtt_db_p99_ns\": %llu, "
		    "\"rtt_poll_over_spin\": %.4f, \"stream_bytes\": %llu, \"stream_mbs\": %.1f, "
		    "\"unix_stream_mbs\": %.1f},\n",
		r->found ? "true" : "false", r->ok ? "true" : "false", r->iters,
		(unsigned long long)r->rtt_poll.median, (unsigned long long)r->rtt_poll.p99,
		(unsigned long long)r->rtt_db.median, (unsigned long long)r->rtt_db.p99,
		spin->median ? (double)r->rtt_poll.median / (double)spin->median : 0.0,
		(unsigned long long)r->bytes, r->vs_mbs, r->unix_mbs);
}

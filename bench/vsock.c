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
#include "hvl/vsockd.h"

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
	/*
	 * VS_PH_SPIN: raw spin round trips interleaved with the polled ones,
	 * as the baseline's: each word alone on its cache line (anything the
	 * initiator writes beside the pong word would slow the baseline).
	 */
	unsigned nspin;
	uint32_t spin_samples[20000];
	_Alignas(64) uint32_t spin_ping;
	_Alignas(64) uint32_t spin_pong;
	_Alignas(64) uint32_t spin_end;
};

struct vs_ctx {
	char dir[64], region[96], svc[96], log[96];
	pid_t pid;
	unsigned phases;             /* VS_PH_*: what vs_remote() runs */
};

#define VS_PH_POLL   1u          /* round trips, remote spinning */
#define VS_PH_DB     2u          /* round trips, remote sleeping */
#define VS_PH_STREAM 4u
#define VS_PH_SPIN   8u          /* polled: a block of raw spin round trips every VS_SPIN_EVERY */
#define VS_SPIN_EVERY 500u
#define VS_SPIN_BLOCK 500u
#define VS_SPIN_MSG  'S'         /* first byte: the device answers VS_SPIN_BLOCK spins first */
#define VS_PH_ALL    (VS_PH_POLL | VS_PH_DB | VS_PH_STREAM)


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
/*
 * A polling loop's give-up check: the clock every 1024 empty polls only,
 * as spin_while_eq() does for the spin baseline (a clock read per poll
 * would lengthen every poll and so the round trip).
 */
static int poll_expired(unsigned *spins, int64_t *end)
{
	int64_t t;

	if ((++*spins & 1023u) != 0u)
		return 0;
	t = now_ns();
	if (*end == 0)
		*end = t + (int64_t)VS_IO_MS * 1000000;
	return t > *end;
}

static int rtt_once(int s, uint8_t *msg, int poll_mode)
{
	size_t got = 0;
	unsigned spins = 0;
	int64_t end = 0;

	if (rsend(s, msg, MSG_LEN) != (long)MSG_LEN)
		return -1;
	while (got < MSG_LEN) {
		long r = hvl_vsock_recv(&bvs, s, msg + got, MSG_LEN - got, poll_mode ? 0u : VS_IO_MS);

		if (r > 0)
			got += (size_t)r;
		else if (r != -EAGAIN || poll_expired(&spins, &end))
			return -1;
	}
	return 0;
}

/*
 * Announce a spin block over the socket, run it as the initiator, take the
 * echo.  The words count on across blocks (never reset: a reset could
 * overtake the peer's last store).
 */
static uint32_t spin_seq;

static int spin_block(int s, uint8_t *msg, struct vs_shared *sh)
{
	uint32_t k, x;
	int64_t t;

	msg[0] = VS_SPIN_MSG;
	if (rsend(s, msg, MSG_LEN) != (long)MSG_LEN)
		return -1;
	/* The loop of the run's spin baseline (baselines.c): one clock read per round trip. */
	t = now_ns();
	for (k = 0; k < VS_SPIN_BLOCK; k++) {
		uint32_t v = ++spin_seq;
		int64_t n;

		st(&sh->spin_ping, v);
		if (spin_while_eq(&sh->spin_pong, v - 1u, &x) != 0 || x != v)
			return -1;
		n = now_ns();
		if (sh->nspin < sizeof sh->spin_samples / sizeof sh->spin_samples[0])
			sh->spin_samples[sh->nspin++] = (uint32_t)(n - t);
		t = n;
	}
	/* The echo of the announcement closes the block. */
	{
		size_t got = 0;
		int64_t end = now_ns() + (int64_t)VS_IO_MS * 1000000;

		while (got < MSG_LEN) {
			long r = hvl_vsock_recv(&bvs, s, msg + got, MSG_LEN - got, 0);

			if (r > 0)
				got += (size_t)r;
			else if (r != -EAGAIN || now_ns() > end)
				return -1;
		}
	}
	msg[0] = 0x5a;
	return 0;
}

/* The device's half of spin_block(): spin_dev() of the baselines. */
static int spin_answer(struct vs_shared *sh)
{
	uint32_t k, x;

	for (k = 0; k < VS_SPIN_BLOCK; k++) {
		uint32_t v = ++spin_seq;

		if (spin_while_eq(&sh->spin_ping, v - 1u, &x) != 0 || x != v)
			return -1;
		st(&sh->spin_pong, v);
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
		if ((c->phases & (mode == 0 ? VS_PH_POLL : VS_PH_DB)) == 0u)
			continue;
		/* As the baselines: one clock read per round trip, samples are the deltas. */
		int64_t t = now_ns(), tn;

		for (i = 0; i < warm + iters; i++) {
			/*
			 * The cross-CPU latency of this VM drifts: the spin baseline
			 * is measured here too, in blocks between the round trips.
			 */
			if (mode == 0 && (c->phases & VS_PH_SPIN) != 0u && i >= warm &&
			    (i - warm) % VS_SPIN_EVERY == 0u) {
				if (spin_block(s, msg, sh) != 0) {
					snprintf(sh->err, sizeof sh->err, "spin block failed");
					return 1;
				}
				t = now_ns();
			}
			if (rtt_once(s, msg, mode == 0) != 0) {
				snprintf(sh->err, sizeof sh->err, "round trip %u failed", i);
				return 1;
			}
			tn = now_ns();
			if (i >= warm)
				sh->samples[mode][i - warm] = (uint32_t)(tn - t);
			t = tn;
		}
	}
	hvl_vsock_close(&bvs, s);
	if ((c->phases & VS_PH_STREAM) == 0u)
		goto done;
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
done:
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

/* --------------------------------- the Linux program serving the device itself */

#define VSD_SOCKS 4u
#define VSD_RBUF  (1024u * 1024u)       /* our receive buffer, the credit the remote gets */
#define VSD_DATA  (4u * 1024u * 1024u)  /* data area: 64 receive + 64 transmit buffers of 32 KiB */
/*
 * Polled session: rings of 8, so the avail ring's entries and most used
 * elements share the cache line of their index (one transfer less each
 * way); the doorbell and stream session keeps rings of 256.
 */
#define VSD_POLL_QSIZE 8u
#define VSD_QSIZE      256u
HVL_VSOCKD_DEFINE(bvd, VSD_SOCKS, VSD_RBUF);

static int vsd_recv_all(int s, uint8_t *p, size_t n, int poll_mode)
{
	size_t got = 0;
	unsigned spins = 0;
	int64_t end = 0;

	while (got < n) {
		long r = hvl_vsockd_recv(&bvd, s, p + got, n - got, poll_mode ? 0u : VS_IO_MS);

		if (r > 0)
			got += (size_t)r;
		else if (r != -EAGAIN || poll_expired(&spins, &end))
			return -1;
	}
	return 0;
}

static int vsd_send_all(int s, const uint8_t *p, size_t n)
{
	size_t done = 0;

	while (done < n) {
		long r = hvl_vsockd_send(&bvd, s, p + done, n - done, VS_IO_MS);

		if (r <= 0)
			return -1;
		done += (size_t)r;
	}
	return 0;
}

/*
 * This process is the device (CPU 1): echo the first connection's 64 B
 * messages (spinning through the remote's polled phase, sleeping through
 * its doorbell phase), then sink the stream and acknowledge its length.
 */
static int vsd_linux(struct vs_ctx *c, struct vs_shared *sh, unsigned doorbell, unsigned iters,
		     uint64_t bytes, char *err, size_t errlen)
{
	struct hvl_vsockd_mem m = HVL_VSOCKD_MEM(bvd, VSD_SOCKS);
	static uint8_t buf[VS_CHUNK];
	struct hvl_devhost_dev d;
	struct hvl_devhost h;
	unsigned i, warm = iters / 10u;
	uint64_t got = 0;
	int l, s, rc;

	rc = hvl_vsockd_init(&bvd, &m, 3);
	if (rc != 0) {
		snprintf(err, errlen, "hvl_vsockd_init: %s", strerror(-rc));
		return -1;
	}
	hvl_vsockd_describe(&bvd, &d, doorbell == HVL_DOORBELL_POLL ? VSD_POLL_QSIZE : VSD_QSIZE, VSD_DATA);
	if (hvl_devhost_open(&h, c->region, doorbell, &d, 1, NULL, err, errlen) != 0)
		return -1;
	rc = hvl_vsockd_bind(&bvd, &h, 0);
	l = hvl_vsockd_socket(&bvd);
	if (rc != 0 || l < 0 || hvl_vsockd_listen(&bvd, l, VS_PORT, 4) != 0) {
		snprintf(err, errlen, "listen failed");
		goto fail;
	}
	s = hvl_vsockd_accept(&bvd, l, NULL, 20000);
	if (s < 0) {
		snprintf(err, errlen, "accept (echo): %s", strerror(-s));
		goto fail;
	}
	for (i = 0; i < (unsigned)__builtin_popcount(c->phases & (VS_PH_POLL | VS_PH_DB)) * (warm + iters);
	     i++) {
		if (vsd_recv_all(s, buf, MSG_LEN, (c->phases & VS_PH_POLL) != 0u && i < warm + iters) != 0) {
			snprintf(err, errlen, "echo %u failed", i);
			goto fail;
		}
		if ((c->phases & VS_PH_SPIN) != 0u && buf[0] == VS_SPIN_MSG) {
			/* A spin block, then its message's echo; not a round trip of the count. */
			if (spin_answer(sh) != 0 || vsd_send_all(s, buf, MSG_LEN) != 0) {
				snprintf(err, errlen, "spin block failed");
				goto fail;
			}
			i--;
			continue;
		}
		if (vsd_send_all(s, buf, MSG_LEN) != 0) {
			snprintf(err, errlen, "echo %u failed", i);
			goto fail;
		}
	}
	(void)hvl_vsockd_close(&bvd, s);
	if ((c->phases & VS_PH_STREAM) == 0u)
		goto linger;
	s = hvl_vsockd_accept(&bvd, l, NULL, 20000);
	if (s < 0) {
		snprintf(err, errlen, "accept (stream): %s", strerror(-s));
		goto fail;
	}
	for (;;) {
		long r = hvl_vsockd_recv(&bvd, s, buf, sizeof buf, VS_IO_MS);

		if (r <= 0)
			break;
		got += (uint64_t)r;
	}
	if (vsd_send_all(s, (const uint8_t *)&got, sizeof got) != 0 || got != bytes) {
		snprintf(err, errlen, "stream: %llu of %llu bytes", (unsigned long long)got,
			 (unsigned long long)bytes);
		goto fail;
	}
	(void)hvl_vsockd_close(&bvd, s);
linger:
	/* Let the remote see the last packets and close before the region goes down. */
	{
		struct hvl_vsockd_pollfd pf = { l, HVL_VSOCKD_POLLIN, 0 };
		int64_t end = now_ns() + 200000000;

		while (now_ns() < end)
			(void)hvl_vsockd_poll(&bvd, &pf, 1, 20);
	}
	hvl_devhost_close(&h);
	return 0;
fail:
	hvl_devhost_close(&h);
	return -1;
}

/*
 * One session of vs_remote() against this process serving the device
 * (hvl_vsockd) on a region with @doorbell; the phases in @phases.
 */
static int vsd_session(struct bench *b, struct vsock_result *r, unsigned doorbell, unsigned phases,
		       struct vs_shared *sh)
{
	struct vs_ctx c;
	char err[200] = "";
	int rc = -1;
	pid_t rem;

	memset(&c, 0, sizeof c);
	memset(sh, 0, sizeof *sh);
	c.phases = phases;
	snprintf(c.dir, sizeof c.dir, "/tmp/hvl-bench-vsd-XXXXXX");
	if (mkdtemp(c.dir) == NULL)
		return -1;
	snprintf(c.region, sizeof c.region, "%s/region", c.dir);
	rem = fork();
	if (rem == 0)
		_exit(vs_remote(b, &c, sh, r->bytes, r->iters));
	pin(b, 1);
	if (vsd_linux(&c, sh, doorbell, r->iters, r->bytes, err, sizeof err) != 0) {
		fprintf(stderr, "hvl-bench: vsockd: %s\n", err);
		kill(rem, SIGKILL);
	}
	if (reap(rem, 20000) == 0 && sh->ok)
		rc = 0;
	else
		fprintf(stderr, "hvl-bench: vsockd: remote: %s\n", sh->err[0] ? sh->err : "failed");
	(void)unlink(c.region);
	(void)rmdir(c.dir);
	return rc;
}

/*
 * The Linux program serving the device itself: the polled round trip on a
 * poll-doorbell region (nobody sleeps, as in rpmsg's polled mode), the
 * doorbell round trip and the stream on a futex-doorbell region.
 */
static int run_vsockd(struct bench *b, struct vsock_result *r)
{
	struct vs_shared *sh;
	int rc = -1;

	sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return -1;
	if (vsd_session(b, r, HVL_DOORBELL_POLL, VS_PH_POLL | VS_PH_SPIN, sh) != 0)
		goto out;
	summarize(sh->samples[0], sh->n, &r->d_rtt_poll);
	if (sh->nspin > 0u) {
		summarize(sh->spin_samples, sh->nspin, &r->d_spin);
		r->d_spin.ok = 1;
	}
	if (vsd_session(b, r, HVL_DOORBELL_FUTEX, VS_PH_DB | VS_PH_STREAM, sh) != 0)
		goto out;
	summarize(sh->samples[1], sh->n, &r->d_rtt_db);
	r->d_rtt_poll.ok = r->d_rtt_db.ok = 1;
	r->d_mbs = (double)r->bytes / sh->stream_s / 1e6;
	r->d_ok = 1;
	rc = 0;
out:
	munmap(sh, sizeof *sh);
	return rc;
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
	c.phases = VS_PH_ALL;
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
		return run_vsockd(b, r); /* the bridge modes are skipped */
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
	if (run_vsockd(b, r) != 0)
		rc = -1;
	return rc;
}

static void print_rtt_line(const char *name, const struct rtt *x, const struct rtt *spin,
			   const struct rtt *unix_rtt)
{
	printf("    %-9s median %llu ns, p99 %llu ns; %.3g x spin, %.3g x unix socket\n", name,
	       (unsigned long long)x->median, (unsigned long long)x->p99,
	       (double)x->median / (double)spin->median, (double)x->median / (double)unix_rtt->median);
}

void print_vsock(const struct vsock_result *r, const struct rtt *spin, const struct rtt *unix_rtt)
{
	double sx = r->unix_mbs > 0.0 ? r->vs_mbs / r->unix_mbs : 0.0;
	double dx = r->unix_mbs > 0.0 ? r->d_mbs / r->unix_mbs : 0.0;

	printf("\nvsock, 64 B round trips (%u) and a %llu MiB stream remote -> Linux in 64 KiB writes; "
	       "UNIX stream socket of the same run: %.0f MB/s\n", r->iters,
	       (unsigned long long)(r->bytes >> 20), r->unix_mbs);
	if (!r->found) {
		printf("  through hvl-pmm: SKIPPED (needs hvl-pmm)\n");
	} else if (!r->ok) {
		printf("  through hvl-pmm: FAILED\n");
	} else {
		printf("  through hvl-pmm's UNIX-socket bridge (futex doorbell; remote CPU 0, PMM and the "
		       "Linux program CPU 1):\n");
		print_rtt_line("polled", &r->rtt_poll, spin, unix_rtt);
		print_rtt_line("doorbell", &r->rtt_db, spin, unix_rtt);
		printf("    stream    %.0f MB/s, %.3g x the UNIX stream socket\n", r->vs_mbs, sx);
	}
	if (!r->d_ok) {
		printf("  served by the Linux program itself (hvl_vsockd): FAILED\n");
		printf("  targets: stream >= 3 x unix: MISS; polled round trip <= 3 x spin: MISS\n");
		return;
	}
	printf("  served by the Linux program itself (hvl_vsockd on hvl_devhost; remote CPU 0, program CPU 1;\n"
	       "  polled: poll-doorbell region, rings of %u; doorbell and stream: futex-doorbell region,\n"
	       "  rings of %u; credit %u KiB, data area %u MiB; the program's recv() copies into its buffer):\n",
	       VSD_POLL_QSIZE, VSD_QSIZE, VSD_RBUF / 1024u, VSD_DATA >> 20);
	print_rtt_line("polled", &r->d_rtt_poll, spin, unix_rtt);
	print_rtt_line("doorbell", &r->d_rtt_db, spin, unix_rtt);
	printf("    stream    %.0f MB/s, %.3g x the UNIX stream socket\n", r->d_mbs, dx);
	if (r->d_spin.ok) {
		double px = (double)r->d_rtt_poll.median / (double)r->d_spin.median;

		printf("    spin      median %llu ns, p99 %llu ns: the raw spin round trip measured in "
		       "blocks between the polled ones\n", (unsigned long long)r->d_spin.median,
		       (unsigned long long)r->d_spin.p99);
		printf("  targets (hvl_vsockd): stream >= 3 x unix: %.3g %s; polled round trip <= 3 x spin "
		       "(interleaved): %.3g %s (%.3g x the run's spin baseline)\n", dx,
		       dx >= 3.0 ? "PASS" : "MISS", px, px <= 3.0 ? "PASS" : "MISS",
		       (double)r->d_rtt_poll.median / (double)spin->median);
	} else {
		printf("  targets (hvl_vsockd): stream >= 3 x unix: %.3g %s; polled round trip: no spin "
		       "baseline\n", dx, dx >= 3.0 ? "PASS" : "MISS");
	}
	if (r->ok)
		printf("  (through hvl-pmm: stream %.3g x unix, polled round trip %.3g x spin)\n", sx,
		       (double)r->rtt_poll.median / (double)spin->median);
}

void json_vsock(const struct vsock_result *r, const struct rtt *spin, FILE *js)
{
	fprintf(js, "  \"vsock\": {\"found\": %s, \"ok\": %s, \"iters\": %u, \"rtt_poll_median_ns\": %llu, "
		    "\"rtt_poll_p99_ns\": %llu, \"rtt_db_median_ns\": %llu, \"rtt_db_p99_ns\": %llu, "
		    "\"rtt_poll_over_spin\": %.4f, \"stream_bytes\": %llu, \"stream_mbs\": %.1f, "
		    "\"unix_stream_mbs\": %.1f, \"vsockd_ok\": %s, \"vsockd_rtt_poll_median_ns\": %llu, "
		    "\"vsockd_rtt_db_median_ns\": %llu, \"vsockd_rtt_poll_over_spin\": %.4f, "
		    "\"vsockd_spin_interleaved_median_ns\": %llu, \"vsockd_rtt_poll_over_spin_interleaved\": %.4f, "
		    "\"vsockd_stream_mbs\": %.1f},\n",
		r->found ? "true" : "false", r->ok ? "true" : "false", r->iters,
		(unsigned long long)r->rtt_poll.median, (unsigned long long)r->rtt_poll.p99,
		(unsigned long long)r->rtt_db.median, (unsigned long long)r->rtt_db.p99,
		spin->median ? (double)r->rtt_poll.median / (double)spin->median : 0.0,
		(unsigned long long)r->bytes, r->vs_mbs, r->unix_mbs, r->d_ok ? "true" : "false",
		(unsigned long long)r->d_rtt_poll.median, (unsigned long long)r->d_rtt_db.median,
		spin->median ? (double)r->d_rtt_poll.median / (double)spin->median : 0.0,
		(unsigned long long)r->d_spin.median,
		r->d_spin.median ? (double)r->d_rtt_poll.median / (double)r->d_spin.median : 0.0, r->d_mbs);
}

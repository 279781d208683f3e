/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hvl_vsockd end to end: this process serves a vsock device itself
 * (hvl_devhost + hvl_vsockd, no hvl-pmm), a remote in a forked process
 * (POSIX port, hvl_vsock) maps the same region file at its own address.
 * Both run the same fixed sequence of phases; the remote announces the end
 * of each phase in a shared word, and this side's echo service runs until
 * then.
 *
 *  1 echo remote -> Linux (port 1000); port 1001 nobody serves: ECONNREFUSED
 *  2 echo Linux -> remote (port 2000); port 2999: ECONNREFUSED
 *  3 a stream each way at once with checksums (port 1002): 64 MiB each way,
 *    16 under sanitizers, HVL_VSOCK_BIG=1 for the 1 GiB (make soak)
 *  4 512 connections open at once, each echoes its own message
 *  5 slow Linux reader (port 1004): the remote's credit runs out, nothing lost
 *  6 slow remote reader (port 2001): our credit runs out, nothing lost
 *  7 Linux closes mid-stream (port 1005): the remote's send fails, no hang
 *  8 the remote closes mid-stream (port 2002): we get every byte, then EOF
 *  9 hostile packets from the remote (len beyond the chain, unknown op and
 *    type, spoofed source CID, fwd_cnt past what we sent, data beyond our
 *    credit, a chain shorter than a header, a connect flood): dropped or
 *    reset and counted, the device and a bystander connection unaffected
 * 10 the remote resets the device under an open connection: our socket sees
 *    ECONNRESET, the remote's new open gets the transport reset event
 * Every wait is bounded; an alarm ends a hung run.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "harness.h"
#include "hvl/posix.h"
#include "hvl/vsock.h"
#include "hvl/vsockd.h"
#include "vsock_suite.h"

#define IO_MS 30000u
#define NCONC 512u
#define R_NSOCKS 600u
#define L_NSOCKS 600u
#define L_RBUF 16384u
static uint64_t stream_bytes = STREAM_DEFAULT;

/* Shared between the two processes: the last phase the remote finished. */
static volatile int *phase;

static void phase_done(int p)
{
	__atomic_store_n(phase, p, __ATOMIC_RELEASE);
}

static int phase_now(void)
{
	return __atomic_load_n(phase, __ATOMIC_ACQUIRE);
}

/* ================================================================ remote */

static struct hvl_vsock vs;
static struct hvl_vsock_sock rsocks[R_NSOCKS];
static uint8_t rbufs[R_NSOCKS * 8192u];
static union { void *p; uint64_t u; uint8_t b[HVL_VSOCK_STORAGE(256)]; } ring;
static struct vss T = { &vs, IO_MS, 0 };

#define RCHECK(c) VSS_CHECK(&T, c)

/* Echo one accepted connection on @port until EOF. */
static void r_echo_server(uint32_t port)
{
	static uint8_t buf[65536];
	int l = hvl_vsock_socket(&vs), s;
	long n;

	RCHECK(l >= 0 && hvl_vsock_listen(&vs, l, port, 4) == 0);
	s = hvl_vsock_accept(&vs, l, NULL, IO_MS);
	RCHECK(s >= 0);
	while (s >= 0 && (n = hvl_vsock_recv(&vs, s, buf, sizeof(buf), IO_MS)) > 0)
		RCHECK(vss_send_all(&T, s, buf, (size_t)n) == n);
	if (s >= 0)
		hvl_vsock_close(&vs, s);
	hvl_vsock_close(&vs, l);
}

static int remote_main(const char *mem)
{
	static uint8_t buf[65536];
	struct hvl_posix_remote pr;
	struct hvl_vsock_mem m = { &ring, sizeof(ring), rsocks, R_NSOCKS, rbufs, sizeof(rbufs) };
	int s, keep;

	if (hvl_posix_remote_open(&pr, mem, NULL, UINT64_MAX, 10000) != 0 ||
	    hvl_vsock_open(&vs, &pr.r, 0, &m) != 0) {
		fprintf(stderr, "remote: attach/open failed\n");
		return 2;
	}
	RCHECK(hvl_vsock_cid(&vs) == 7);
	RCHECK(vs.resets == 1); /* the transport reset event came with open */

	/* 1 */
	RCHECK(vss_echo_once(&T, 1000, "hello Linux") == 0);
	s = hvl_vsock_socket(&vs);
	RCHECK(hvl_vsock_connect(&vs, s, 1001, IO_MS) == -ECONNREFUSED);
	hvl_vsock_close(&vs, s);
	phase_done(1);
	/* 2 */
	r_echo_server(2000);
	phase_done(2);
	/* 3, 4 */
	vss_stream(&T, 1002, stream_bytes);
	phase_done(3);
	{
		static int sd[NCONC];

		vss_concurrent(&T, 1000, sd, NCONC);
	}
	phase_done(4);
	/* 5: the Linux reader is slow; send blocks on credit, loses nothing. */
	vss_send_pattern(&T, 1004, SLOW_BYTES, 33);
	phase_done(5);
	/* 6: we are the slow reader, in small bites with pauses. */
	vss_slow_reader(&T, 2001, SLOW_BYTES, 44);
	phase_done(6);
	/* 7: Linux closes while we send: a reset or EPIPE, not a hang. */
	vss_send_until_reset(&T, 1005);
	phase_done(7);
	/* 8: we close mid-stream; Linux gets what was sent, then EOF. */
	vss_close_midstream(&T, 2002, MID_BYTES, 55);
	phase_done(8);
	/* 9 */
	/* Our credit is L_RBUF (16 KiB): 6 x 4 KiB to the port that never reads outrun it. */
	vss_hostile(&T, 1000, 1009, 6);
	phase_done(9);
	/* 10: reset the device under an open connection, then open it again. */
	keep = vss_victim(&T, 1000);
	RCHECK(vss_send_all(&T, keep, "k", 1) == 1 && vss_recv_all(&T, keep, buf, 1) == 1);
	RCHECK(hvl_vsock_close_dev(&vs) == 0);
	RCHECK(hvl_vsock_open(&vs, &pr.r, 0, &m) == 0);
	RCHECK(vs.resets == 1);
	RCHECK(vss_echo_once(&T, 1000, "after the device reset") == 0);
	phase_done(10);
	(void)hvl_vsock_poll(&vs, NULL, 0, 200);
	hvl_vsock_close_dev(&vs);
	hvl_posix_remote_close(&pr);
	if (T.fail)
		fprintf(stderr, "remote: %d check(s) failed\n", T.fail);
	return T.fail ? 1 : 0;
}

/* ================================================================= Linux */

HVL_VSOCKD_DEFINE(vd, L_NSOCKS, L_RBUF);

static long l_send_all(int s, const void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		long n = hvl_vsockd_send(&vd, s, (const uint8_t *)buf + done, len - done, IO_MS);

		if (n <= 0)
			return n;
		done += (size_t)n;
	}
	return (long)done;
}

static long l_recv_all(int s, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		long n = hvl_vsockd_recv(&vd, s, (uint8_t *)buf + got, len - got, IO_MS);

		if (n <= 0)
			return n;
		got += (size_t)n;
	}
	return (long)got;
}

/* Connect to the remote's @port, retrying while it has not listened yet. */
static int l_connect_retry(uint32_t port)
{
	uint64_t end = h_now_ms() + IO_MS;

	for (;;) {
		int s = hvl_vsockd_socket(&vd), rc;

		if (s < 0)
			return s;
		rc = hvl_vsockd_connect(&vd, s, port, IO_MS);
		if (rc == 0)
			return s;
		hvl_vsockd_close(&vd, s);
		if (rc != -ECONNREFUSED || h_now_ms() > end)
			return rc;
		(void)hvl_vsockd_poll(&vd, NULL, 0, 10);
	}
}

/*
 * The echo service on @l (and a socket @stall that accepts on 1009 and
 * never reads), until the remote finished phase @until and closed every
 * connection.  Returns the number of connections served.
 */
static unsigned l_serve(int l, int stall, int until)
{
	static int open_sd[L_NSOCKS];
	static uint8_t buf[65536];
	unsigned nopen = 0, served = 0, i;
	uint64_t end = h_now_ms() + 120000u;

	while (h_now_ms() < end) {
		struct hvl_vsockd_pollfd pf[L_NSOCKS + 2];
		int s;

		if (phase_now() >= until && nopen == 0)
			break;
		pf[0].sd = l;
		pf[0].events = HVL_VSOCKD_POLLIN;
		pf[1].sd = stall;
		pf[1].events = HVL_VSOCKD_POLLIN;
		for (i = 0; i < nopen; i++) {
			pf[i + 2].sd = open_sd[i];
			pf[i + 2].events = HVL_VSOCKD_POLLIN;
		}
		if (hvl_vsockd_poll(&vd, pf, nopen + 2, 50) <= 0)
			continue;
		while (nopen < L_NSOCKS && (s = hvl_vsockd_accept(&vd, l, NULL, 0)) >= 0) {
			open_sd[nopen++] = s;
			served++;
		}
		/* Accepted on 1009 and left alone: the remote's data piles up against our credit. */
		while ((s = hvl_vsockd_accept(&vd, stall, NULL, 0)) >= 0)
			(void)s;
		for (i = 0; i < nopen;) {
			long n = hvl_vsockd_recv(&vd, open_sd[i], buf, sizeof(buf), 0);

			if (n > 0) {
				CHECK(l_send_all(open_sd[i], buf, (size_t)n) == n);
				continue;
			}
			if (n == -EAGAIN) {
				i++;
				continue;
			}
			hvl_vsockd_close(&vd, open_sd[i]);
			open_sd[i] = open_sd[--nopen];
		}
	}
	CHECK(phase_now() >= until);
	return served;
}

/* Phase 3, our side: seeds 22 out, 11 in. */
static void l_stream(int l)
{
	static uint8_t out[65536], in[65536];
	uint64_t sent = 0, rcvd = 0, end = h_now_ms() + 120000u;
	int s = hvl_vsockd_accept(&vd, l, NULL, IO_MS), eof = 0, bad = 0;

	CHECK(s >= 0);
	while (s >= 0 && (sent < stream_bytes || !eof) && h_now_ms() < end && !bad) {
		struct hvl_vsockd_pollfd p = { s, HVL_VSOCKD_POLLIN, 0 };
		int moved = 0;
		long n;

		if (sent < stream_bytes) {
			size_t want = sizeof(out);

			if (want > stream_bytes - sent)
				want = (size_t)(stream_bytes - sent);
			vss_pat_fill(out, sent, want, 22);
			n = hvl_vsockd_send(&vd, s, out, want, 0);
			if (n > 0) {
				sent += (uint64_t)n;
				moved = 1;
				if (sent == stream_bytes)
					CHECK(hvl_vsockd_shutdown(&vd, s, HVL_VSOCKD_SHUT_WR) == 0);
			} else if (n != -EAGAIN) {
				bad = 1;
			}
		}
		n = hvl_vsockd_recv(&vd, s, in, sizeof(in), 0);
		if (n > 0) {
			if (vss_pat_check(in, rcvd, (size_t)n, 11) != 0)
				bad = 1;
			rcvd += (uint64_t)n;
			moved = 1;
		} else if (n == 0) {
			eof = 1;
		} else if (n != -EAGAIN) {
			bad = 1;
		}
		if (!moved && !eof) {
			if (sent < stream_bytes)
				p.events |= HVL_VSOCKD_POLLOUT;
			(void)hvl_vsockd_poll(&vd, &p, 1, 100);
		}
	}
	CHECK(!bad);
	CHECK_EQ(sent, stream_bytes);
	CHECK_EQ(rcvd, stream_bytes);
	CHECK(eof);
	if (s >= 0)
		hvl_vsockd_close(&vd, s);
}

static void wait_phase(int p)
{
	uint64_t end = h_now_ms() + 120000u;

	while (phase_now() < p && h_now_ms() < end)
		(void)hvl_vsockd_poll(&vd, NULL, 0, 20);
	CHECK(phase_now() >= p);
}

static void on_alarm(int sig)
{
	(void)sig;
	static const char msg[] = "test_vsockd: timed out\n";

	(void)!write(2, msg, sizeof(msg) - 1);
	_exit(3);
}

int main(void)
{
	struct hvl_vsockd_mem m = HVL_VSOCKD_MEM(vd, L_NSOCKS);
	static uint8_t buf[65536];
	struct hvl_devhost_dev d;
	struct hvl_devhost h;
	char dir[4096], region[4200], err[256];
	int l1000, l1002, l1004, l1005, l1009, s, st;
	uint64_t resets0, bad0;
	pid_t rem;
	long n = -1;

	signal(SIGALRM, on_alarm);
	if (getenv("HVL_VSOCK_BIG") != NULL)
		stream_bytes = 1ull << 30;
	alarm(getenv("HVL_VSOCK_BIG") != NULL ? 1200 : 600);
	phase = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (phase == MAP_FAILED || h_tmpdir("hvl-vsockd", dir) != 0)
		return 2;
	*phase = 0;
	snprintf(region, sizeof(region), "%s/region", dir);

	/* Bad set-ups are refused with a reason, nothing half-made. */
	CHECK(hvl_vsockd_init(&vd, &m, 2) == -EINVAL);
	CHECK(hvl_devhost_open(&h, region, HVL_DOORBELL_EVENTFD, &d, 1, NULL, err, sizeof(err)) ==
	      -EINVAL);
	CHECK(err[0] != '\0');

	CHECK(hvl_vsockd_init(&vd, &m, 7) == 0);
	hvl_vsockd_describe(&vd, &d, 256, 1u << 20);
	if (hvl_devhost_open(&h, region, HVL_DOORBELL_FUTEX, &d, 1, NULL, err, sizeof(err)) != 0) {
		fprintf(stderr, "devhost: %s\n", err);
		return 2;
	}
	CHECK(hvl_vsockd_bind(&vd, &h, 0) == 0);
	l1000 = hvl_vsockd_socket(&vd);
	l1002 = hvl_vsockd_socket(&vd);
	l1004 = hvl_vsockd_socket(&vd);
	l1005 = hvl_vsockd_socket(&vd);
	l1009 = hvl_vsockd_socket(&vd);
	CHECK(hvl_vsockd_listen(&vd, l1000, 1000, L_NSOCKS) == 0);
	CHECK(hvl_vsockd_listen(&vd, l1002, 1002, 4) == 0);
	CHECK(hvl_vsockd_listen(&vd, l1004, 1004, 4) == 0);
	CHECK(hvl_vsockd_listen(&vd, l1005, 1005, 4) == 0);
	CHECK(hvl_vsockd_listen(&vd, l1009, 1009, 4) == 0);
	CHECK(hvl_vsockd_listen(&vd, hvl_vsockd_socket(&vd), 1000, 4) == -EADDRINUSE);

	rem = fork();
	if (rem == 0)
		_exit(remote_main(region)); /* leaves our mapping alone: it is the device's */
	/* 1 */
	CHECK(l_serve(l1000, l1009, 1) == 1);
	/* 2 */
	s = l_connect_retry(2000);
	CHECK(s >= 0);
	if (s >= 0) {
		CHECK(l_send_all(s, "hello remote", 12) == 12);
		CHECK(l_recv_all(s, buf, 12) == 12 && memcmp(buf, "hello remote", 12) == 0);
		hvl_vsockd_close(&vd, s);
	}
	s = hvl_vsockd_socket(&vd);
	CHECK(hvl_vsockd_connect(&vd, s, 2999, IO_MS) == -ECONNREFUSED);
	hvl_vsockd_close(&vd, s);
	wait_phase(2);
	/* 3, 4 */
	l_stream(l1002);
	wait_phase(3);
	CHECK(l_serve(l1000, l1009, 4) == NCONC);
	/* 5: slow reader */
	s = hvl_vsockd_accept(&vd, l1004, NULL, IO_MS);
	CHECK(s >= 0);
	{
		uint64_t got = 0;
		unsigned k = 0;

		while (s >= 0 && (n = hvl_vsockd_recv(&vd, s, buf, 1000, IO_MS)) > 0) {
			CHECK(vss_pat_check(buf, got, (size_t)n, 33) == 0);
			got += (uint64_t)n;
			if (++k % 64 == 0)
				usleep(1000);
		}
		CHECK_EQ(n, 0);
		CHECK_EQ(got, SLOW_BYTES);
		hvl_vsockd_close(&vd, s);
	}
	wait_phase(5);
	/* 6: the remote reads slowly; our send waits for its credit. */
	s = l_connect_retry(2001);
	CHECK(s >= 0);
	for (uint64_t off = 0; s >= 0 && off < SLOW_BYTES; off += sizeof(buf)) {
		vss_pat_fill(buf, off, sizeof(buf), 44);
		CHECK(l_send_all(s, buf, sizeof(buf)) == (long)sizeof(buf));
	}
	if (s >= 0)
		hvl_vsockd_close(&vd, s);
	wait_phase(6);
	/* 7: close after a little, while the remote keeps sending. */
	s = hvl_vsockd_accept(&vd, l1005, NULL, IO_MS);
	CHECK(s >= 0);
	if (s >= 0) {
		CHECK(l_recv_all(s, buf, 1000) == 1000);
		hvl_vsockd_close(&vd, s);
	}
	wait_phase(7);
	/* 8: the remote closes mid-stream.  (Nothing before phase 9 is a bad packet.) */
	bad0 = vd.bad_pkts;
	CHECK_EQ(bad0, 0);
	s = l_connect_retry(2002);
	CHECK(s >= 0);
	{
		uint64_t got = 0;

		while (s >= 0 && (n = hvl_vsockd_recv(&vd, s, buf, sizeof(buf), IO_MS)) > 0) {
			CHECK(vss_pat_check(buf, got, (size_t)n, 55) == 0);
			got += (uint64_t)n;
		}
		CHECK_EQ(n, 0);
		CHECK_EQ(got, MID_BYTES);
		if (s >= 0)
			hvl_vsockd_close(&vd, s);
	}
	wait_phase(8);
	/* 9: hostile packets, counted; nothing broke (the device was never failed). */
	resets0 = vd.resets;
	(void)l_serve(l1000, l1009, 9);
	CHECK(vd.bad_pkts >= bad0 + 6);
	CHECK_EQ(vd.dev->broken, 0);
	/* 10: the remote resets the device under our connection, and starts it again. */
	(void)l_serve(l1000, l1009, 10);
	CHECK(vd.resets > resets0);
	CHECK_EQ(vd.dev->broken, 0);

	st = h_wait_exit(rem, 30000);
	CHECK_EQ(st, 0);
	hvl_devhost_close(&h);
	h_rmtree(dir);
	printf("test_vsockd: %llu packets in, %llu out, %llu bad, %llu credit requests\n",
	       (unsigned long long)vd.pkts_in, (unsigned long long)vd.pkts_out,
	       (unsigned long long)vd.bad_pkts, (unsigned long long)vd.credit_requests);
	return h_finish("test_vsockd");
}

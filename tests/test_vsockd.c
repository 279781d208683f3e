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
 *    16 under sanitizers
 *  4 NCONC connections open at once, each echoes its own message
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

#define IO_MS 30000u
#define NCONC 200u
#define R_NSOCKS 300u
#define L_NSOCKS 300u
#define L_RBUF 16384u
#define SLOW_BYTES (2u << 20)
#define MID_BYTES 100000u

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define STREAM_BYTES (16ull << 20)
#else
#define STREAM_BYTES (64ull << 20)
#endif

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

static uint8_t pat(uint64_t i, uint32_t seed)
{
	uint64_t x = (i >> 3) * 0x9e3779b97f4a7c15ull + seed;

	return (uint8_t)((x >> 29) ^ i);
}

static void pat_fill(uint8_t *b, uint64_t off, size_t n, uint32_t seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		b[i] = pat(off + i, seed);
}

static int pat_check(const uint8_t *b, uint64_t off, size_t n, uint32_t seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i] != pat(off + i, seed))
			return -1;
	return 0;
}

/* ================================================================ remote */

static struct hvl_vsock vs;
static struct hvl_vsock_sock rsocks[R_NSOCKS];
static uint8_t rbufs[R_NSOCKS * 8192u];
static union { void *p; uint64_t u; uint8_t b[HVL_VSOCK_STORAGE(256)]; } ring;
static int rfail;

#define RCHECK(c) do { if (!(c)) { rfail++; fprintf(stderr, "remote %s:%d: %s failed\n", \
	__FILE__, __LINE__, #c); } } while (0)

static long r_send_all(int s, const void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		long n = hvl_vsock_send(&vs, s, (const uint8_t *)buf + done, len - done, IO_MS);

		if (n <= 0)
			return n;
		done += (size_t)n;
	}
	return (long)done;
}

static long r_recv_all(int s, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		long n = hvl_vsock_recv(&vs, s, (uint8_t *)buf + got, len - got, IO_MS);

		if (n <= 0)
			return n;
		got += (size_t)n;
	}
	return (long)got;
}

static int r_echo_once(uint32_t port, const char *msg)
{
	char back[128];
	size_t len = strlen(msg);
	int s = hvl_vsock_socket(&vs), rc;

	if (s < 0)
		return s;
	rc = hvl_vsock_connect(&vs, s, port, IO_MS);
	if (rc == 0 && r_send_all(s, msg, len) != (long)len)
		rc = -EIO;
	if (rc == 0 && (r_recv_all(s, back, len) != (long)len || memcmp(back, msg, len) != 0))
		rc = -EBADMSG;
	hvl_vsock_close(&vs, s);
	return rc;
}

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
		RCHECK(r_send_all(s, buf, (size_t)n) == n);
	if (s >= 0)
		hvl_vsock_close(&vs, s);
	hvl_vsock_close(&vs, l);
}

/* Full duplex, non-blocking send and recv driven by poll; seeds 11 out, 22 in. */
static void r_stream(void)
{
	static uint8_t out[65536], in[65536];
	uint64_t sent = 0, rcvd = 0, end = h_now_ms() + 120000u;
	int s = hvl_vsock_socket(&vs), eof = 0;

	RCHECK(s >= 0 && hvl_vsock_connect(&vs, s, 1002, IO_MS) == 0);
	while ((sent < STREAM_BYTES || !eof) && h_now_ms() < end && rfail == 0) {
		struct hvl_vsock_pollfd p = { s, HVL_VSOCK_POLLIN, 0 };
		int moved = 0;
		long n;

		if (sent < STREAM_BYTES) {
			size_t want = sizeof(out);

			if (want > STREAM_BYTES - sent)
				want = (size_t)(STREAM_BYTES - sent);
			pat_fill(out, sent, want, 11);
			n = hvl_vsock_send(&vs, s, out, want, 0);
			if (n > 0) {
				sent += (uint64_t)n;
				moved = 1;
				if (sent == STREAM_BYTES)
					RCHECK(hvl_vsock_shutdown(&vs, s, HVL_VSOCK_SHUT_WR) == 0);
			} else {
				RCHECK(n == -EAGAIN);
			}
		}
		n = hvl_vsock_recv(&vs, s, in, sizeof(in), 0);
		if (n > 0) {
			RCHECK(pat_check(in, rcvd, (size_t)n, 22) == 0);
			rcvd += (uint64_t)n;
			moved = 1;
		} else if (n == 0) {
			eof = 1;
		} else {
			RCHECK(n == -EAGAIN);
		}
		if (!moved && !eof) {
			if (sent < STREAM_BYTES)
				p.events |= HVL_VSOCK_POLLOUT;
			(void)hvl_vsock_poll(&vs, &p, 1, 100);
		}
	}
	RCHECK(sent == STREAM_BYTES);
	RCHECK(rcvd == STREAM_BYTES);
	RCHECK(eof);
	hvl_vsock_close(&vs, s);
}

static void r_concurrent(void)
{
	static int sd[NCONC];
	unsigned i, ok = 0;

	for (i = 0; i < NCONC; i++) {
		sd[i] = hvl_vsock_socket(&vs);
		RCHECK(sd[i] >= 0);
		if (sd[i] >= 0)
			RCHECK(hvl_vsock_connect(&vs, sd[i], 1000, IO_MS) == 0);
	}
	for (i = 0; i < NCONC; i++) {
		char msg[32];

		snprintf(msg, sizeof(msg), "conn %u of %u", i, NCONC);
		RCHECK(r_send_all(sd[i], msg, strlen(msg)) == (long)strlen(msg));
	}
	for (i = 0; i < NCONC; i++) {
		char msg[32], back[32];

		snprintf(msg, sizeof(msg), "conn %u of %u", i, NCONC);
		if (r_recv_all(sd[i], back, strlen(msg)) == (long)strlen(msg) &&
		    memcmp(msg, back, strlen(msg)) == 0)
			ok++;
	}
	RCHECK(ok == NCONC);
	for (i = 0; i < NCONC; i++)
		hvl_vsock_close(&vs, sd[i]);
}

/* A raw packet on the transmitq, bypassing the library's checks. */
static void r_raw(uint64_t src_cid, uint32_t sport, uint32_t dport, uint16_t type, uint16_t op,
		  uint32_t len, uint32_t payload, uint32_t fwd_cnt)
{
	struct hvl_vsock_hdr h;
	struct hvl_vsock_buf *b;
	struct hvl_sg sg;
	int i;

	for (i = 0; i < 100 && vs.tx_nfree == 0; i++)
		(void)hvl_vsock_poll(&vs, NULL, 0, 10);
	if (vs.tx_nfree == 0) {
		rfail++;
		return;
	}
	b = &vs.tx[vs.tx_free[--vs.tx_nfree]];
	memset(&h, 0, sizeof(h));
	hvl_le64_put(&h.src_cid, src_cid);
	hvl_le64_put(&h.dst_cid, HVL_VSOCK_CID_HOST);
	hvl_le32_put(&h.src_port, sport);
	hvl_le32_put(&h.dst_port, dport);
	hvl_le32_put(&h.len, len);
	hvl_le16_put(&h.type, type);
	hvl_le16_put(&h.op, op);
	hvl_le32_put(&h.buf_alloc, 8192);
	hvl_le32_put(&h.fwd_cnt, fwd_cnt);
	memcpy(b->local, &h, sizeof(h));
	memset(b->local + sizeof(h), 'x', payload);
	sg.addr = b->bus;
	sg.len = HVL_VSOCK_HDR_SIZE + payload;
	RCHECK(hvl_vq_drv_add(&vs.txq, &sg, 1, 0, b) == 0);
	hvl_vdev_kick(&vs.vdev, HVL_VSOCK_TXQ, &vs.txq);
}

/* An established connection to @port (1000: echoed, 1009: accepted, never read). */
static int r_victim(uint32_t port)
{
	int s = hvl_vsock_socket(&vs);

	RCHECK(s >= 0 && hvl_vsock_connect(&vs, s, port, IO_MS) == 0);
	return s;
}

static void r_expect_reset(int s)
{
	char c;
	long n = hvl_vsock_recv(&vs, s, &c, 1, 2000);

	RCHECK(n == -ECONNRESET);
	hvl_vsock_close(&vs, s);
}

static void r_hostile(void)
{
	int by = r_victim(1000), s;
	unsigned i;
	char back[8];

	/* len larger than the payload. */
	s = r_victim(1000);
	r_raw(vs.cid, rsocks[s].lport, 1000, HVL_VSOCK_TYPE_STREAM, HVL_VSOCK_OP_RW, 1000, 10, 0);
	r_expect_reset(s);
	/* Unknown op. */
	s = r_victim(1000);
	r_raw(vs.cid, rsocks[s].lport, 1000, HVL_VSOCK_TYPE_STREAM, 99, 0, 0, 0);
	r_expect_reset(s);
	/* fwd_cnt past anything the host sent: would fake 2 GiB of credit. */
	s = r_victim(1000);
	r_raw(vs.cid, rsocks[s].lport, 1000, HVL_VSOCK_TYPE_STREAM, HVL_VSOCK_OP_CREDIT_UPDATE, 0, 0,
	      0x80000000u);
	r_expect_reset(s);
	/* Data beyond the credit we were given (L_RBUF) to a host socket nobody reads. */
	s = r_victim(1009);
	for (i = 0; i < 6; i++)
		r_raw(vs.cid, rsocks[s].lport, 1009, HVL_VSOCK_TYPE_STREAM, HVL_VSOCK_OP_RW, 4096, 4096, 0);
	r_expect_reset(s);
	/* Unknown type: answered with RST; spoofed source CID: dropped silently. */
	r_raw(vs.cid, 7777, 1000, 9, HVL_VSOCK_OP_REQUEST, 0, 0, 0);
	r_raw(77, 7778, 1000, HVL_VSOCK_TYPE_STREAM, HVL_VSOCK_OP_REQUEST, 0, 0, 0);
	/* A chain shorter than a header. */
	(void)hvl_vsock_poll(&vs, NULL, 0, 10);
	if (vs.tx_nfree > 0) {
		struct hvl_vsock_buf *b = &vs.tx[vs.tx_free[--vs.tx_nfree]];
		struct hvl_sg sg = { b->bus, 10 };

		RCHECK(hvl_vq_drv_add(&vs.txq, &sg, 1, 0, b) == 0);
		hvl_vdev_kick(&vs.vdev, HVL_VSOCK_TXQ, &vs.txq);
	}
	/* Connect flood to a port nobody serves: each gets RST, nothing is kept. */
	for (i = 0; i < 3000; i++) {
		r_raw(vs.cid, 100000 + i, 1999, HVL_VSOCK_TYPE_STREAM, HVL_VSOCK_OP_REQUEST, 0, 0, 0);
		if (i % 32 == 31)
			(void)hvl_vsock_poll(&vs, NULL, 0, 0);
	}
	(void)hvl_vsock_poll(&vs, NULL, 0, 200);
	RCHECK(r_send_all(by, "alive", 5) == 5);
	RCHECK(r_recv_all(by, back, 5) == 5 && memcmp(back, "alive", 5) == 0);
	RCHECK(!hvl_vsock_broken(&vs));
	hvl_vsock_close(&vs, by);
	RCHECK(r_echo_once(1000, "after the hostile packets") == 0);
}

static int remote_main(const char *mem)
{
	static uint8_t buf[65536];
	struct hvl_posix_remote pr;
	struct hvl_vsock_mem m = { &ring, sizeof(ring), rsocks, R_NSOCKS, rbufs, sizeof(rbufs) };
	int s, keep;
	long n = 0;

	if (hvl_posix_remote_open(&pr, mem, NULL, UINT64_MAX, 10000) != 0 ||
	    hvl_vsock_open(&vs, &pr.r, 0, &m) != 0) {
		fprintf(stderr, "remote: attach/open failed\n");
		return 2;
	}
	RCHECK(hvl_vsock_cid(&vs) == 7);
	RCHECK(vs.resets == 1); /* the transport reset event came with open */

	/* 1 */
	RCHECK(r_echo_once(1000, "hello Linux") == 0);
	s = hvl_vsock_socket(&vs);
	RCHECK(hvl_vsock_connect(&vs, s, 1001, IO_MS) == -ECONNREFUSED);
	hvl_vsock_close(&vs, s);
	phase_done(1);
	/* 2 */
	r_echo_server(2000);
	phase_done(2);
	/* 3, 4 */
	r_stream();
	phase_done(3);
	r_concurrent();
	phase_done(4);
	/* 5: the Linux reader is slow; send blocks on credit, loses nothing. */
	s = hvl_vsock_socket(&vs);
	RCHECK(hvl_vsock_connect(&vs, s, 1004, IO_MS) == 0);
	for (uint64_t off = 0; off < SLOW_BYTES; off += sizeof(buf)) {
		pat_fill(buf, off, sizeof(buf), 33);
		RCHECK(r_send_all(s, buf, sizeof(buf)) == (long)sizeof(buf));
	}
	hvl_vsock_close(&vs, s);
	phase_done(5);
	/* 6: we are the slow reader, in small bites with pauses. */
	{
		int l = hvl_vsock_socket(&vs);
		uint64_t got = 0;
		unsigned k = 0;

		RCHECK(hvl_vsock_listen(&vs, l, 2001, 4) == 0);
		s = hvl_vsock_accept(&vs, l, NULL, IO_MS);
		RCHECK(s >= 0);
		while (s >= 0 && (n = hvl_vsock_recv(&vs, s, buf, 1000, IO_MS)) > 0) {
			RCHECK(pat_check(buf, got, (size_t)n, 44) == 0);
			got += (uint64_t)n;
			if (++k % 64 == 0)
				usleep(1000);
		}
		RCHECK(n == 0);
		RCHECK(got == SLOW_BYTES);
		hvl_vsock_close(&vs, s);
		hvl_vsock_close(&vs, l);
	}
	phase_done(6);
	/* 7: Linux closes while we send: a reset or EPIPE, not a hang. */
	s = hvl_vsock_socket(&vs);
	RCHECK(hvl_vsock_connect(&vs, s, 1005, IO_MS) == 0);
	{
		uint64_t end = h_now_ms() + IO_MS;

		memset(buf, 'm', sizeof(buf));
		n = 1;
		while (n > 0 && h_now_ms() < end)
			n = hvl_vsock_send(&vs, s, buf, sizeof(buf), IO_MS);
		RCHECK(n == -ECONNRESET || n == -EPIPE);
	}
	hvl_vsock_close(&vs, s);
	phase_done(7);
	/* 8: we close mid-stream; Linux gets what was sent, then EOF. */
	{
		int l = hvl_vsock_socket(&vs);

		RCHECK(hvl_vsock_listen(&vs, l, 2002, 4) == 0);
		s = hvl_vsock_accept(&vs, l, NULL, IO_MS);
		RCHECK(s >= 0);
		for (uint64_t off = 0; s >= 0 && off < MID_BYTES; off += 1000) {
			pat_fill(buf, off, 1000, 55);
			RCHECK(r_send_all(s, buf, 1000) == 1000);
		}
		hvl_vsock_close(&vs, s);
		hvl_vsock_close(&vs, l);
	}
	phase_done(8);
	/* 9 */
	r_hostile();
	phase_done(9);
	/* 10: reset the device under an open connection, then open it again. */
	keep = r_victim(1000);
	RCHECK(r_send_all(keep, "k", 1) == 1 && r_recv_all(keep, buf, 1) == 1);
	RCHECK(hvl_vsock_close_dev(&vs) == 0);
	RCHECK(hvl_vsock_open(&vs, &pr.r, 0, &m) == 0);
	RCHECK(vs.resets == 1);
	RCHECK(r_echo_once(1000, "after the device reset") == 0);
	phase_done(10);
	(void)hvl_vsock_poll(&vs, NULL, 0, 200);
	hvl_vsock_close_dev(&vs);
	hvl_posix_remote_close(&pr);
	if (rfail)
		fprintf(stderr, "remote: %d check(s) failed\n", rfail);
	return rfail ? 1 : 0;
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
	while (s >= 0 && (sent < STREAM_BYTES || !eof) && h_now_ms() < end && !bad) {
		struct hvl_vsockd_pollfd p = { s, HVL_VSOCKD_POLLIN, 0 };
		int moved = 0;
		long n;

		if (sent < STREAM_BYTES) {
			size_t want = sizeof(out);

			if (want > STREAM_BYTES - sent)
				want = (size_t)(STREAM_BYTES - sent);
			pat_fill(out, sent, want, 22);
			n = hvl_vsockd_send(&vd, s, out, want, 0);
			if (n > 0) {
				sent += (uint64_t)n;
				moved = 1;
				if (sent == STREAM_BYTES)
					CHECK(hvl_vsockd_shutdown(&vd, s, HVL_VSOCKD_SHUT_WR) == 0);
			} else if (n != -EAGAIN) {
				bad = 1;
			}
		}
		n = hvl_vsockd_recv(&vd, s, in, sizeof(in), 0);
		if (n > 0) {
			if (pat_check(in, rcvd, (size_t)n, 11) != 0)
				bad = 1;
			rcvd += (uint64_t)n;
			moved = 1;
		} else if (n == 0) {
			eof = 1;
		} else if (n != -EAGAIN) {
			bad = 1;
		}
		if (!moved && !eof) {
			if (sent < STREAM_BYTES)
				p.events |= HVL_VSOCKD_POLLOUT;
			(void)hvl_vsockd_poll(&vd, &p, 1, 100);
		}
	}
	CHECK(!bad);
	CHECK_EQ(sent, STREAM_BYTES);
	CHECK_EQ(rcvd, STREAM_BYTES);
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
	alarm(600);
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
	CHECK(hvl_vsockd_listen(&vd, l1000, 1000, 256) == 0);
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
			CHECK(pat_check(buf, got, (size_t)n, 33) == 0);
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
		pat_fill(buf, off, sizeof(buf), 44);
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
			CHECK(pat_check(buf, got, (size_t)n, 55) == 0);
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

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-net over the stream backend, end to end: the real hvl-pmm
 * (argv[1]) with `backend = stream` listening on a UNIX socket, a Linux
 * peer on that socket speaking QEMU's `-netdev stream` framing, and a
 * remote in a forked process using the POSIX port and hvl/net.h.
 *
 *  1. integrity: Linux sends one frame of every size from 14 to MTU + 18
 *     (1518) bytes; the remote checks each (size order and content) and
 *     echoes it; Linux checks the echoes.  Both ways run at once, so the
 *     PMM's bounded slots and the ring's flow control are exercised.
 *  2. malformed from Linux: a zero length, a runt, two oversized frames
 *     (1519 and 4000 bytes), then a marker: the remote sees only the
 *     marker.  A length above 65535 drops the connection (link down);
 *     Linux reconnects and a frame goes through again.
 *  3. malformed from the remote: a header-only chain, a runt, an
 *     oversized frame, a header asking for checksum offload and one
 *     asking for GSO: Linux sees none of them, then a marker.
 *  4. a transmit chain with a writable buffer: NEEDS_RESET, -EIO; close
 *     and open bring the device back.
 *  5. a receive chain with a readable buffer: NEEDS_RESET once it is used.
 *  The PMM's statistics line at exit must count every drop.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "hvl/net.h"
#include "hvl/posix.h"

#define MTU 1500u
#define MAXF (MTU + 18u)
#define MINF 14u
#define IO_MS 20000u

static const uint8_t remote_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static const uint8_t peer_mac[6] = { 0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc };

/* Frame of @size bytes: MACs, ethertype @type, then a pattern of the size. */
static void make_frame(uint8_t *f, uint32_t size, uint16_t type)
{
	uint32_t i;

	memcpy(f, remote_mac, 6);
	memcpy(f + 6, peer_mac, 6);
	f[12] = (uint8_t)(type >> 8);
	f[13] = (uint8_t)type;
	for (i = 14; i < size; i++)
		f[i] = (uint8_t)(size * 31u + i * 7u);
}

static int frame_ok(const uint8_t *f, uint32_t len, uint32_t size, uint16_t type)
{
	uint8_t want[MAXF];

	if (len != size)
		return 0;
	make_frame(want, size, type);
	return memcmp(f, want, size) == 0;
}

/* ------------------------------------------------------------ remote side */

static int expect_frame(struct hvl_net *n, uint8_t *buf, uint32_t size, uint16_t type, const char *what)
{
	long r = hvl_net_recv(n, buf, MAXF, IO_MS);

	if (r < 0 || !frame_ok(buf, (uint32_t)r, size, type)) {
		fprintf(stderr, "remote: %s: got %ld bytes (want %u, type %02x%02x)\n", what, r, size,
			r >= 14 ? buf[12] : 0, r >= 14 ? buf[13] : 0);
		return -1;
	}
	return 0;
}

/* Post a raw transmit chain: @hdr (12 bytes) then @flen pattern bytes, bypassing the checks. */
static int raw_tx(struct hvl_net *n, const struct hvl_net_hdr *hdr, uint32_t flen, int writable)
{
	uint8_t *frame;
	uint32_t cap;
	struct hvl_sg sg;
	struct hvl_net_buf *b;

	if (hvl_net_tx_reserve(n, &frame, &cap, IO_MS) != 0)
		return -1;
	b = n->tx_cur;
	memcpy(b->local, hdr, sizeof(*hdr));
	if (flen >= MINF)
		make_frame(frame, flen, 0x88b5);
	else
		memset(frame, 0xee, flen);
	sg.addr = b->bus;
	sg.len = HVL_NET_HDR_SIZE + flen;
	if (hvl_vq_drv_add(&n->txq, &sg, writable ? 0u : 1u, writable ? 1u : 0u, b) != 0)
		return -1;
	n->tx_cur = NULL;
	hvl_vdev_kick(&n->vdev, HVL_NET_TXQ, &n->txq);
	return 0;
}

static int remote_main(const char *mem)
{
	HVL_NET_DEFINE(net, 256);
	static uint8_t buf[MAXF];
	struct hvl_posix_remote pr;
	struct hvl_net_hdr h;
	uint8_t mac[6];
	uint64_t end;
	uint32_t size;
	int rc;

	rc = hvl_posix_remote_open(&pr, mem, NULL, UINT64_MAX, 10000);
	if (rc != 0 || hvl_net_open(&net, &pr.r, 0, &net_storage, sizeof(net_storage)) != 0) {
		fprintf(stderr, "remote: attach/open failed (%d)\n", rc);
		return 2;
	}
	hvl_net_mac(&net, mac);
	/* Linux connected before we started, but the PMM may not have accepted yet. */
	end = h_now_ms() + IO_MS;
	while (hvl_net_link_up(&net) == 0 && h_now_ms() < end)
		usleep(1000);
	if (memcmp(mac, remote_mac, 6) != 0 || hvl_net_mtu(&net) != MTU ||
	    hvl_net_max_frame(&net) != MAXF || hvl_net_link_up(&net) != 1) {
		fprintf(stderr, "remote: config: mtu %u link %d\n", hvl_net_mtu(&net), hvl_net_link_up(&net));
		return 3;
	}
	/* 1. every size, checked and echoed */
	for (size = MINF; size <= MAXF; size++) {
		if (expect_frame(&net, buf, size, 0x88b5, "integrity") != 0)
			return 4;
		if (hvl_net_send(&net, buf, size, IO_MS) != 0) {
			fprintf(stderr, "remote: echo of %u failed\n", size);
			return 4;
		}
	}
	/* Over-MTU sends are refused locally. */
	if (hvl_net_send(&net, buf, MAXF + 1u, 0) != -EMSGSIZE || hvl_net_send(&net, buf, 5, 0) != -EINVAL)
		return 5;
	/* 2. only the marker passes; then the link drops and comes back */
	if (expect_frame(&net, buf, 100, 0x88b6, "marker after malformed") != 0)
		return 6;
	if (expect_frame(&net, buf, 60, 0x88b7, "frame after reconnect") != 0)
		return 7;
	/* The link is up again (the reconnect came before this frame). */
	if (hvl_net_link_up(&net) != 1)
		return 7;
	/* 3. malformed transmit chains, then a marker */
	memset(&h, 0, sizeof(h));
	if (raw_tx(&net, &h, 0, 0) != 0 || raw_tx(&net, &h, 5, 0) != 0 || raw_tx(&net, &h, MAXF + 1u, 0) != 0)
		return 8;
	h.flags = HVL_NET_HDR_F_NEEDS_CSUM;
	if (raw_tx(&net, &h, 60, 0) != 0)
		return 8;
	h.flags = 0;
	h.gso_type = 1; /* TCPv4 */
	if (raw_tx(&net, &h, 60, 0) != 0)
		return 8;
	make_frame(buf, 60, 0x88b8);
	if (hvl_net_send(&net, buf, 60, IO_MS) != 0)
		return 8;
	/* 4. a writable part in a transmit chain breaks the device */
	memset(&h, 0, sizeof(h));
	if (raw_tx(&net, &h, 60, 1) != 0)
		return 9;
	end = h_now_ms() + IO_MS;
	while (!hvl_net_broken(&net) && h_now_ms() < end)
		usleep(1000);
	if (hvl_net_send(&net, buf, 60, 0) != -EIO)
		return 9;
	(void)hvl_net_close(&net);
	if (hvl_net_open(&net, &pr.r, 0, &net_storage, sizeof(net_storage)) != 0)
		return 10;
	make_frame(buf, 64, 0x88b9);
	if (hvl_net_send(&net, buf, 64, IO_MS) != 0)
		return 10;
	/* Wait until Linux says it got it (a last frame), so nothing is cut short. */
	if (expect_frame(&net, buf, 64, 0x88ba, "final") != 0)
		return 11;
	/*
	 * 5. a receive chain with a device-readable buffer, queued behind the
	 * posted ones: once Linux's frames have used those up, the PMM pops it
	 * and resets the device.
	 */
	{
		struct hvl_sg sg = { net.rx[0].bus, 64 };

		if (hvl_vq_drv_add(&net.rxq, &sg, 1, 0, &net.rx[0]) != 0)
			return 12;
		hvl_vdev_kick(&net.vdev, HVL_NET_RXQ, &net.rxq);
	}
	make_frame(buf, 64, 0x88bb);
	if (hvl_net_send(&net, buf, 64, IO_MS) != 0)
		return 12;
	end = h_now_ms() + IO_MS;
	while (!hvl_net_broken(&net) && h_now_ms() < end)
		usleep(1000);
	if (!hvl_net_broken(&net))
		return 13;
	(void)hvl_net_close(&net);
	hvl_posix_remote_close(&pr);
	return 0;
}

/* -------------------------------------------------------------- host side */

/* What a hung run (SIGALRM) must not leave behind. */
static volatile pid_t g_pmm = -1, g_remote = -1;

static void on_alarm(int sig)
{
	(void)sig;
	if (g_pmm > 0)
		kill(g_pmm, SIGKILL);
	if (g_remote > 0)
		kill(g_remote, SIGKILL);
	_exit(3);
}

static int send_framed(int fd, const void *f, uint32_t len, uint32_t hdrlen)
{
	uint8_t pre[4] = { (uint8_t)(hdrlen >> 24), (uint8_t)(hdrlen >> 16), (uint8_t)(hdrlen >> 8),
			   (uint8_t)hdrlen };

	if (h_write_all(fd, pre, 4) != 0)
		return -1;
	return len == 0 ? 0 : h_write_all(fd, f, len);
}

/* Read one framed frame (up to 64 KiB) into @f; returns its length or -1. */
static long recv_framed(int fd, uint8_t *f, size_t cap)
{
	uint8_t pre[4];
	uint32_t len;

	if (h_read_exact(fd, pre, 4, IO_MS) != 0)
		return -1;
	len = ((uint32_t)pre[0] << 24) | ((uint32_t)pre[1] << 16) | ((uint32_t)pre[2] << 8) | pre[3];
	if (len > cap || h_read_exact(fd, f, len, IO_MS) != 0)
		return -1;
	return (long)len;
}

/*
 * Phase 1 from Linux: send every size while reading the echoes (both at
 * once: neither side's buffers can hold all of it).  Returns mismatches.
 */
static int integrity(int fd)
{
	static uint8_t out[(MAXF + 4u) * (MAXF - MINF + 1u)];
	static uint8_t in[MAXF];
	size_t olen = 0, ooff = 0;
	uint32_t size, next = MINF, bad = 0;
	uint64_t end = h_now_ms() + 60000u;

	for (size = MINF; size <= MAXF; size++) {
		out[olen] = (uint8_t)(size >> 24);
		out[olen + 1] = (uint8_t)(size >> 16);
		out[olen + 2] = (uint8_t)(size >> 8);
		out[olen + 3] = (uint8_t)size;
		make_frame(out + olen + 4, size, 0x88b5);
		olen += 4u + size;
	}
	while (next <= MAXF && h_now_ms() < end) {
		struct pollfd pf = { fd, POLLIN | (ooff < olen ? POLLOUT : 0), 0 };

		if (poll(&pf, 1, 1000) <= 0)
			continue;
		if ((pf.revents & POLLOUT) && ooff < olen) {
			ssize_t w = send(fd, out + ooff, olen - ooff, MSG_DONTWAIT | MSG_NOSIGNAL);

			if (w > 0)
				ooff += (size_t)w;
		}
		if (pf.revents & POLLIN) {
			long r = recv_framed(fd, in, sizeof(in));

			if (r < 0)
				return 1000;
			if (!frame_ok(in, (uint32_t)r, next, 0x88b5)) {
				if (bad < 5)
					fprintf(stderr, "linux: echo %u: got %ld bytes\n", next, r);
				bad++;
			}
			next++;
		}
	}
	return next <= MAXF ? 1000 : (int)bad;
}

int main(int argc, char **argv)
{
	static uint8_t f[8192];
	char dir[PATH_MAX], mem[PATH_MAX + 16], sock[PATH_MAX + 16], log[PATH_MAX + 16], opt[PATH_MAX + 128];
	pid_t pmm, remote;
	int fd, rc;
	long r;

	if (argc < 2) {
		fprintf(stderr, "usage: %s PATH-TO-hvl-pmm\n", argv[0]);
		return 2;
	}
	signal(SIGALRM, on_alarm);
	alarm(110);
	if (h_tmpdir("hvl-net", dir) != 0)
		return 2;
	snprintf(mem, sizeof(mem), "%s/mem", dir);
	snprintf(sock, sizeof(sock), "%s/net.sock", dir);
	snprintf(log, sizeof(log), "%s/pmm.log", dir);
	snprintf(opt, sizeof(opt), "net,backend=stream,mode=listen,path=%s,mac=52:54:00:12:34:56,mtu=%u",
		 sock, MTU);
	{
		char *pargv[] = { argv[1], "--file", mem, "--device", opt, "-v", NULL };

		pmm = h_spawn(pargv, log);
		g_pmm = pmm;
	}
	fd = h_connect_unix(sock, 10000);
	CHECK(fd >= 0);
	if (fd < 0)
		goto out;
	remote = fork();
	if (remote == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* die with the test, whatever ends it */
		_exit(remote_main(mem));
	}
	g_remote = remote;

	/* 1. */
	CHECK_EQ(integrity(fd), 0);
	/* 2. zero, runt, oversized x2, marker; then a bad length, reconnect */
	make_frame(f, 4000, 0x88b5);
	CHECK(send_framed(fd, f, 0, 0) == 0);
	CHECK(send_framed(fd, f, 5, 5) == 0);
	CHECK(send_framed(fd, f, MAXF + 1u, MAXF + 1u) == 0);
	CHECK(send_framed(fd, f, 4000, 4000) == 0);
	make_frame(f, 100, 0x88b6);
	CHECK(send_framed(fd, f, 100, 100) == 0);
	CHECK(send_framed(fd, f, 0, 70000) == 0);
	{
		/* The PMM drops us: EOF (echoes, if any, come first). */
		uint8_t junk[256];
		uint64_t end = h_now_ms() + IO_MS;
		int eof = 0;

		while (!eof && h_now_ms() < end) {
			struct pollfd pf = { fd, POLLIN, 0 };

			if (poll(&pf, 1, 500) > 0 && read(fd, junk, sizeof(junk)) <= 0)
				eof = 1;
		}
		CHECK(eof);
	}
	close(fd);
	fd = h_connect_unix(sock, 10000);
	CHECK(fd >= 0);
	if (fd < 0)
		goto wait_remote;
	/* The remote may check the link after this frame: give the PMM a moment to publish. */
	usleep(100000);
	make_frame(f, 60, 0x88b7);
	CHECK(send_framed(fd, f, 60, 60) == 0);
	/* 3. only the marker arrives from the malformed burst */
	r = recv_framed(fd, f, sizeof(f));
	CHECK(r == 60 && frame_ok(f, 60, 60, 0x88b8));
	/* 4. after the reset, the device is back */
	r = recv_framed(fd, f, sizeof(f));
	CHECK(r == 64 && frame_ok(f, 64, 64, 0x88b9));
	make_frame(f, 64, 0x88ba);
	CHECK(send_framed(fd, f, 64, 64) == 0);
	/* 5. the remote queued a bad receive chain: fill the good ones, then one more */
	r = recv_framed(fd, f, sizeof(f));
	CHECK(r == 64 && frame_ok(f, 64, 64, 0x88bb));
	make_frame(f, 60, 0x88b5);
	for (rc = 0; rc < (int)HVL_NET_RX_BUFS + 1; rc++)
		CHECK(send_framed(fd, f, 60, 60) == 0);
wait_remote:
	rc = h_wait_exit(remote, IO_MS);
	CHECK_EQ(rc, 0);
	if (fd >= 0)
		close(fd);
out:
	kill(pmm, SIGTERM);
	rc = h_wait_exit(pmm, 10000);
	CHECK_EQ(rc, 0);
	if (rc < 0) {
		kill(pmm, SIGKILL);
		(void)h_wait_exit(pmm, 5000);
	}
	CHECK(h_file_contains(log, "rx zero 1 runt 1 oversize 2 badlen 1 smallbuf 0"));
	CHECK(h_file_contains(log, "tx zero 1 runt 1 oversize 1 badhdr 2"));
	CHECK(h_file_contains(log, "transmitq chain"));
	CHECK(h_file_contains(log, "receiveq chain"));
	CHECK(h_file_contains(log, "peers 2 (refused 0, lost 2)"));
	if (h_failed != 0 || getenv("HVL_TEST_KEEP") != NULL)
		fprintf(stderr, "test_net_stream: PMM log in %s\n", log);
	else
		h_rmtree(dir);
	return h_finish("test_net_stream");
}

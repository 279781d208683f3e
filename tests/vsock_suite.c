/* SPDX-License-Identifier: BSD-3-Clause */
/* The remote halves of the vsock end-to-end tests (vsock_suite.h). */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "vsock_suite.h"

uint8_t vss_pat(uint64_t i, uint32_t seed)
{
	uint32_t x = (uint32_t)i * 2654435761u + seed + (uint32_t)(i >> 32) * 40503u;

	return (uint8_t)(x >> 24);
}

void vss_pat_fill(uint8_t *b, uint64_t off, size_t n, uint32_t seed)
{
	size_t k;

	for (k = 0; k < n; k++)
		b[k] = vss_pat(off + k, seed);
}

int vss_pat_check(const uint8_t *b, uint64_t off, size_t n, uint32_t seed)
{
	size_t k;

	for (k = 0; k < n; k++)
		if (b[k] != vss_pat(off + k, seed))
			return -1;
	return 0;
}

long vss_send_all(struct vss *t, int s, const void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		long n = hvl_vsock_send(t->vs, s, (const uint8_t *)buf + done, len - done, t->io_ms);

		if (n <= 0)
			return n;
		done += (size_t)n;
	}
	return (long)done;
}

long vss_recv_all(struct vss *t, int s, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		long n = hvl_vsock_recv(t->vs, s, (uint8_t *)buf + got, len - got, t->io_ms);

		if (n <= 0)
			return n;
		got += (size_t)n;
	}
	return (long)got;
}

int vss_echo_once(struct vss *t, uint32_t port, const char *msg)
{
	char back[128];
	size_t len = strlen(msg);
	int s = hvl_vsock_socket(t->vs), rc;

	if (s < 0)
		return s;
	if (len > sizeof(back))
		len = sizeof(back);
	rc = hvl_vsock_connect(t->vs, s, port, t->io_ms);
	if (rc == 0 && vss_send_all(t, s, msg, len) != (long)len)
		rc = -EIO;
	if (rc == 0 && (vss_recv_all(t, s, back, len) != (long)len || memcmp(back, msg, len) != 0))
		rc = -EBADMSG;
	hvl_vsock_close(t->vs, s);
	return rc;
}

void vss_stream(struct vss *t, uint32_t port, uint64_t bytes)
{
	static uint8_t out[65536], in[65536];
	uint64_t sent = 0, rcvd = 0, end = h_now_ms() + 120000u;
	int s = hvl_vsock_socket(t->vs), eof = 0;

	VSS_CHECK(t, s >= 0 && hvl_vsock_connect(t->vs, s, port, t->io_ms) == 0);
	while ((sent < bytes || !eof) && h_now_ms() < end && t->fail == 0) {
		struct hvl_vsock_pollfd p = { s, HVL_VSOCK_POLLIN, 0 };
		int moved = 0;
		long n;

		if (sent < bytes) {
			size_t want = sizeof(out);

			if (want > bytes - sent)
				want = (size_t)(bytes - sent);
			vss_pat_fill(out, sent, want, 11);
			n = hvl_vsock_send(t->vs, s, out, want, 0);
			if (n > 0) {
				sent += (uint64_t)n;
				moved = 1;
				if (sent == bytes)
					VSS_CHECK(t, hvl_vsock_shutdown(t->vs, s, HVL_VSOCK_SHUT_WR) == 0);
			} else {
				VSS_CHECK(t, n == -EAGAIN);
			}
		}
		n = hvl_vsock_recv(t->vs, s, in, sizeof(in), 0);
		if (n > 0) {
			VSS_CHECK(t, vss_pat_check(in, rcvd, (size_t)n, 22) == 0);
			rcvd += (uint64_t)n;
			moved = 1;
		} else if (n == 0) {
			eof = 1;
		} else {
			VSS_CHECK(t, n == -EAGAIN);
		}
		if (!moved && !eof) {
			if (sent < bytes)
				p.events |= HVL_VSOCK_POLLOUT;
			(void)hvl_vsock_poll(t->vs, &p, 1, 100);
		}
	}
	VSS_CHECK(t, sent == bytes);
	VSS_CHECK(t, rcvd == bytes);
	VSS_CHECK(t, eof);
	hvl_vsock_close(t->vs, s);
}

void vss_concurrent(struct vss *t, uint32_t port, int *sd, unsigned n)
{
	unsigned i, ok = 0;

	for (i = 0; i < n; i++) {
		sd[i] = hvl_vsock_socket(t->vs);
		VSS_CHECK(t, sd[i] >= 0);
		if (sd[i] >= 0)
			VSS_CHECK(t, hvl_vsock_connect(t->vs, sd[i], port, t->io_ms) == 0);
	}
	for (i = 0; i < n; i++) {
		char msg[32];

		snprintf(msg, sizeof(msg), "conn %u of %u", i, n);
		VSS_CHECK(t, vss_send_all(t, sd[i], msg, strlen(msg)) == (long)strlen(msg));
	}
	for (i = 0; i < n; i++) {
		char msg[32], back[32];

		snprintf(msg, sizeof(msg), "conn %u of %u", i, n);
		if (vss_recv_all(t, sd[i], back, strlen(msg)) == (long)strlen(msg) &&
		    memcmp(msg, back, strlen(msg)) == 0)
			ok++;
	}
	VSS_CHECK(t, ok == n);
	for (i = 0; i < n; i++)
		hvl_vsock_close(t->vs, sd[i]);
}

/* A raw packet on the transmitq, bypassing the library's checks. */
static void vss_raw(struct vss *t, uint64_t src_cid, uint32_t sport, uint32_t dport, uint16_t type,
		    uint16_t op, uint32_t len, uint32_t payload, uint32_t fwd_cnt)
{
	struct hvl_vsock *vs = t->vs;
	struct hvl_vsock_hdr h;
	struct hvl_vsock_buf *b;
	struct hvl_sg sg;
	int i;

	for (i = 0; i < 100 && vs->tx_nfree == 0; i++)
		(void)hvl_vsock_poll(vs, NULL, 0, 10);
	if (vs->tx_nfree == 0) {
		t->fail++;
		return;
	}
	b = &vs->tx[vs->tx_free[--vs->tx_nfree]];
	hvl_vsock_hdr_init(&h, src_cid, HVL_VSOCK_CID_HOST, sport, dport, op, 0u, len, 8192u, fwd_cnt);
	hvl_le16_put(&h.type, type);
	memcpy(b->local, &h, sizeof(h));
	memset(b->local + sizeof(h), 'x', payload);
	sg.addr = b->bus;
	sg.len = HVL_VSOCK_HDR_SIZE + payload;
	VSS_CHECK(t, hvl_vq_drv_add(&vs->txq, &sg, 1, 0, b) == 0);
	hvl_vdev_kick(&vs->vdev, HVL_VSOCK_TXQ, &vs->txq);
}

int vss_victim(struct vss *t, uint32_t port)
{
	int s = hvl_vsock_socket(t->vs);

	VSS_CHECK(t, s >= 0 && hvl_vsock_connect(t->vs, s, port, t->io_ms) == 0);
	return s;
}

/* The victim must see a reset within two seconds. */
static void vss_expect_reset(struct vss *t, int s)
{
	char c;
	long n = hvl_vsock_recv(t->vs, s, &c, 1, 2000);

	VSS_CHECK(t, n == -ECONNRESET);
	hvl_vsock_close(t->vs, s);
}

void vss_hostile(struct vss *t, uint32_t echo_port, uint32_t credit_port, unsigned credit_pkts)
{
	struct hvl_vsock *vs = t->vs;
	int by = vss_victim(t, echo_port), s;
	unsigned i;
	char back[8];

	/* len larger than the payload. */
	s = vss_victim(t, echo_port);
	vss_raw(t, vs->cid, vs->socks[s].lport, echo_port, HVL_VSOCK_TYPE_STREAM, HVL_VSOCK_OP_RW, 1000,
		10, 0);
	vss_expect_reset(t, s);
	/* Unknown op. */
	s = vss_victim(t, echo_port);
	vss_raw(t, vs->cid, vs->socks[s].lport, echo_port, HVL_VSOCK_TYPE_STREAM, 99, 0, 0, 0);
	vss_expect_reset(t, s);
	/* fwd_cnt past anything the host sent: would fake 2 GiB of credit. */
	s = vss_victim(t, echo_port);
	vss_raw(t, vs->cid, vs->socks[s].lport, echo_port, HVL_VSOCK_TYPE_STREAM,
		HVL_VSOCK_OP_CREDIT_UPDATE, 0, 0, 0x80000000u);
	vss_expect_reset(t, s);
	/* Data beyond the credit the host gave. */
	s = vss_victim(t, credit_port);
	for (i = 0; i < credit_pkts; i++)
		vss_raw(t, vs->cid, vs->socks[s].lport, credit_port, HVL_VSOCK_TYPE_STREAM, HVL_VSOCK_OP_RW,
			4096, 4096, 0);
	vss_expect_reset(t, s);
	/* Unknown type: answered with RST; spoofed source CID: dropped silently. */
	vss_raw(t, vs->cid, 7777, echo_port, 9, HVL_VSOCK_OP_REQUEST, 0, 0, 0);
	vss_raw(t, 77, 7778, echo_port, HVL_VSOCK_TYPE_STREAM, HVL_VSOCK_OP_REQUEST, 0, 0, 0);
	/* A chain shorter than a header. */
	(void)hvl_vsock_poll(vs, NULL, 0, 10);
	if (vs->tx_nfree > 0) {
		struct hvl_vsock_buf *b = &vs->tx[vs->tx_free[--vs->tx_nfree]];
		struct hvl_sg sg = { b->bus, 10 };

		VSS_CHECK(t, hvl_vq_drv_add(&vs->txq, &sg, 1, 0, b) == 0);
		hvl_vdev_kick(&vs->vdev, HVL_VSOCK_TXQ, &vs->txq);
	}
	/* Connect flood to a port nobody serves: each gets RST, nothing is kept. */
	for (i = 0; i < 3000; i++) {
		vss_raw(t, vs->cid, 100000 + i, 1999, HVL_VSOCK_TYPE_STREAM, HVL_VSOCK_OP_REQUEST, 0, 0, 0);
		if (i % 32 == 31)
			(void)hvl_vsock_poll(vs, NULL, 0, 0);
	}
	(void)hvl_vsock_poll(vs, NULL, 0, 200);
	/* The bystander still echoes; the device is fine. */
	VSS_CHECK(t, vss_send_all(t, by, "alive", 5) == 5);
	VSS_CHECK(t, vss_recv_all(t, by, back, 5) == 5 && memcmp(back, "alive", 5) == 0);
	VSS_CHECK(t, !hvl_vsock_broken(vs));
	hvl_vsock_close(vs, by);
	VSS_CHECK(t, vss_echo_once(t, echo_port, "after the hostile packets") == 0);
}

void vss_send_pattern(struct vss *t, uint32_t port, uint64_t bytes, uint32_t seed)
{
	static uint8_t buf[65536];
	int s = hvl_vsock_socket(t->vs);
	uint64_t off;

	VSS_CHECK(t, s >= 0 && hvl_vsock_connect(t->vs, s, port, t->io_ms) == 0);
	for (off = 0; off < bytes; off += sizeof(buf)) {
		size_t n = bytes - off < sizeof(buf) ? (size_t)(bytes - off) : sizeof(buf);

		vss_pat_fill(buf, off, n, seed);
		VSS_CHECK(t, vss_send_all(t, s, buf, n) == (long)n);
	}
	hvl_vsock_close(t->vs, s);
}

void vss_slow_reader(struct vss *t, uint32_t port, uint64_t bytes, uint32_t seed)
{
	static uint8_t buf[1000];
	int l = hvl_vsock_socket(t->vs), s;
	uint64_t got = 0;
	unsigned k = 0;
	long n = -1;

	VSS_CHECK(t, l >= 0 && hvl_vsock_listen(t->vs, l, port, 4) == 0);
	s = hvl_vsock_accept(t->vs, l, NULL, t->io_ms);
	VSS_CHECK(t, s >= 0);
	while (s >= 0 && (n = hvl_vsock_recv(t->vs, s, buf, sizeof(buf), t->io_ms)) > 0) {
		VSS_CHECK(t, vss_pat_check(buf, got, (size_t)n, seed) == 0);
		got += (uint64_t)n;
		if (++k % 64 == 0)
			usleep(1000);
	}
	VSS_CHECK(t, n == 0);
	VSS_CHECK(t, got == bytes);
	if (s >= 0)
		hvl_vsock_close(t->vs, s);
	hvl_vsock_close(t->vs, l);
}

void vss_send_until_reset(struct vss *t, uint32_t port)
{
	static uint8_t buf[65536];
	int s = hvl_vsock_socket(t->vs);
	uint64_t end = h_now_ms() + t->io_ms;
	long n = 1;

	VSS_CHECK(t, s >= 0 && hvl_vsock_connect(t->vs, s, port, t->io_ms) == 0);
	memset(buf, 'm', sizeof(buf));
	while (n > 0 && h_now_ms() < end)
		n = hvl_vsock_send(t->vs, s, buf, sizeof(buf), t->io_ms);
	VSS_CHECK(t, n == -ECONNRESET || n == -EPIPE);
	hvl_vsock_close(t->vs, s);
}

void vss_close_midstream(struct vss *t, uint32_t port, uint64_t bytes, uint32_t seed)
{
	static uint8_t buf[1000];
	int l = hvl_vsock_socket(t->vs), s;
	uint64_t off;

	VSS_CHECK(t, l >= 0 && hvl_vsock_listen(t->vs, l, port, 4) == 0);
	s = hvl_vsock_accept(t->vs, l, NULL, t->io_ms);
	VSS_CHECK(t, s >= 0);
	for (off = 0; s >= 0 && off < bytes; off += sizeof(buf)) {
		vss_pat_fill(buf, off, sizeof(buf), seed);
		VSS_CHECK(t, vss_send_all(t, s, buf, sizeof(buf)) == (long)sizeof(buf));
	}
	if (s >= 0)
		hvl_vsock_close(t->vs, s);
	hvl_vsock_close(t->vs, l);
}

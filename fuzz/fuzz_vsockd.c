/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: hvl_vsockd, the vsock device a Linux program serves
 * itself (src/devhost/vsockd.c on src/devhost/devhost.c), with the real
 * region set-up, transport and ring.  One process, one thread: the input
 * interleaves a hostile driver, which writes the device's rings, packets
 * and registers in the devhost region, with the program's calls of the
 * socket API (every timeout 0, so nothing ever sleeps: the region uses the
 * POLL doorbell and the devhost is only ever serviced with wait_ms 0).
 *
 * The region is a fresh file per run (/dev/shm, else /tmp; unlinked as
 * soon as it is mapped).  The socket table and the receive buffers are
 * exact-size allocations, so ASan flags any access beyond them.
 *
 * Input: 4-byte header, then actions (see act()): the low nibble picks a
 * driver action or a program call; bits 6-7 of a driver action pick the
 * service pass that follows (0 the devhost's, 1 hvl_dev_service, 2 the
 * same over every queue, 3 none: the driver goes on, and the device sees
 * it all in the next pass or the program's next call).
 *   hdr[0] bits 0-2: queue size log2 (% 7); bits 3-5: sockets - 1 (1..8);
 *          bit 6: receive buffer 8 KiB per socket (else 4 KiB)
 *   hdr[1] driver features: bit 0 INDIRECT_DESC, 1 EVENT_IDX
 *   hdr[2] guest CID 3 + hdr[2] % 4
 *   hdr[3] unused (0)
 *
 * Ports: the program listens on 1000..1003 and connects to the remote's
 * 2000..2003; its own ports for connect are 49152 upwards, in order, so a
 * RESPONSE posted before a connect (timeout 0: the only way one can
 * succeed in one thread) finds it.  A packet action builds a header from a
 * few input bytes (CIDs, ports, op mostly right or any value; len true or
 * lying; fwd_cnt by default what the program sent on that connection, so
 * credit flows) and a payload, in one or two buffers, or a short chain.
 *
 * Invariants (abort on violation): those of fzr_after() around every step
 * (the device fails only with DEVICE_NEEDS_RESET and a reason); recv never
 * returns more than asked; each socket keeps its own slice of the receive
 * memory, rcount <= rcap, rhead < rcap, unread bytes <= credit given;
 * a listener's queue count is its unaccepted children; no more bad packets
 * than packets; every packet the device wrote into a receive buffer comes
 * from the host CID to the guest's, is a stream packet with a known op and
 * fits the buffer, and only RW carries data; a new connection starts empty.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_remote.h"
#include "fuzz_util.h"
#include "hvl/vsockd.h"

#define HOST_CID   2u
#define DATA_SIZE  16384u
/* In the data area, beyond fzr_post_chain's 32 x 128-byte slots. */
#define PKT_OFF    4096u    /* transmit packet (<= 4 KiB) */
#define PKT_ROOM   4096u
#define RX_OFF     8192u    /* receive buffers: 2 x 2 KiB */
#define RX_SIZE    2048u
#define EV_OFF     12288u   /* event buffer */
#define MAX_SOCKS  8u
#define IO_MAX     5000u    /* send/recv sizes: beyond a receive buffer */
#define LISTEN_PORT 1000u
#define REMOTE_PORT 2000u

/* Socket states, private to vsockd.c (its enum): checked by value here. */
#define ST_FREE        0u
#define ST_ESTABLISHED 3u
#define ST_LISTEN      4u
#define ST_LAST        5u   /* S_CLOSING */

struct vd_fz {
	int debug;             /* HVL_FUZZ_DEBUG: print each program call */
	struct fz_remote r;
	struct hvl_devhost h;
	struct hvl_vsockd v;
	struct hvl_vsockd_mem m;
	uint32_t per;          /* receive buffer per socket */
	uint64_t cid;
	uint32_t rx_len[2];    /* most writable bytes posted in each receive slot */
	unsigned rx_next;
	int raw;               /* raw chains or window stores: rx buffers may be anyone's */
	uint8_t *data;         /* the window's data area */
};

static const char *region_path(void)
{
	static char path[64];
	struct stat st;

	if (path[0] == '\0')
		snprintf(path, sizeof(path), "%s/hvl-fz-vsockd-%ld",
			 stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : "/tmp",
			 (long)getpid());
	return path;
}

/* ------------------------------------------------------------ invariants */

/* The table's own invariants, between any two calls into it. */
static void check_table(struct vd_fz *vf)
{
	const struct hvl_vsockd *v = &vf->v;
	uint32_t i, j;

	FZ_CHECK(v->rd_sock == NULL);
	FZ_CHECK(v->nrxc <= HVL_VSOCKD_RX_AHEAD);
	FZ_CHECK(v->rst_count <= HVL_VSOCKD_RST_QUEUE && v->rst_head < HVL_VSOCKD_RST_QUEUE);
	FZ_CHECK(v->bad_pkts <= v->pkts_in);
	for (i = 0; i < v->nsocks; i++) {
		const struct hvl_vsockd_sock *s = &v->socks[i];
		uint32_t unread = s->rx_cnt - s->fwd_cnt;

		FZ_CHECK(s->rbuf == vf->m.rbuf + (size_t)i * vf->per && s->rcap == vf->per);
		FZ_CHECK(s->state <= ST_LAST);
		FZ_CHECK(s->rcount <= s->rcap && s->rhead < s->rcap);
		FZ_CHECK(unread >= s->rcount && unread <= s->rcap);
		FZ_CHECK((s->peer_shut & ~3u) == 0u && (s->local_shut & ~3u) == 0u);
		FZ_CHECK(s->parent <= v->nsocks);
		if (s->state == ST_FREE)
			FZ_CHECK(s->pend == 0u && s->rcount == 0u && s->parent == 0u);
		if (s->state == ST_LISTEN) { /* listening: its queue is its unaccepted children */
			uint32_t n = 0;

			for (j = 0; j < v->nsocks; j++)
				if (v->socks[j].state != ST_FREE && v->socks[j].parent == i + 1u &&
				    !v->socks[j].accepted)
					n++;
			FZ_CHECK(n == s->nqueued && s->nqueued <= s->backlog);
		}
	}
}

/* Snapshot of what the receive and event buffers held before a step. */
struct rx_snap {
	uint8_t hdr[2][HVL_VSOCK_HDR_SIZE];
	uint8_t ev[4];
};

static void rx_snap(struct vd_fz *vf, struct rx_snap *s)
{
	memcpy(s->hdr[0], vf->data + RX_OFF, HVL_VSOCK_HDR_SIZE);
	memcpy(s->hdr[1], vf->data + RX_OFF + RX_SIZE, HVL_VSOCK_HDR_SIZE);
	memcpy(s->ev, vf->data + EV_OFF, 4);
}

/* Packets the device wrote (headers that changed during a step) are well formed. */
static void check_rx(struct vd_fz *vf, const struct rx_snap *before)
{
	unsigned k;

	if (vf->raw)
		return;
	for (k = 0; k < 2u; k++) {
		const uint8_t *b = vf->data + RX_OFF + RX_SIZE * k;
		struct hvl_vsock_hdr h;
		uint16_t op;
		uint32_t len;

		if (memcmp(b, before->hdr[k], sizeof(h)) == 0)
			continue;
		memcpy(&h, b, sizeof(h));
		op = hvl_le16_get(&h.op);
		len = hvl_le32_get(&h.len);
		FZ_CHECK(hvl_le64_get(&h.src_cid) == HOST_CID);
		FZ_CHECK(hvl_le64_get(&h.dst_cid) == vf->cid);
		FZ_CHECK(hvl_le16_get(&h.type) == HVL_VSOCK_TYPE_STREAM);
		FZ_CHECK(op >= HVL_VSOCK_OP_REQUEST && op <= HVL_VSOCK_OP_CREDIT_REQUEST);
		FZ_CHECK(vf->rx_len[k] >= HVL_VSOCK_HDR_SIZE + 1u);
		FZ_CHECK(len <= vf->rx_len[k] - HVL_VSOCK_HDR_SIZE);
		FZ_CHECK(op == HVL_VSOCK_OP_RW ? len > 0u : len == 0u);
		/* RSTs carry no socket's credit; everything else its socket's. */
		FZ_CHECK(hvl_le32_get(&h.buf_alloc) == (op == HVL_VSOCK_OP_RST ? 0u : vf->per));
	}
	if (memcmp(vf->data + EV_OFF, before->ev, 4) != 0) {
		struct hvl_vsock_event e;

		memcpy(&e, vf->data + EV_OFF, sizeof(e));
		FZ_CHECK(hvl_le32_get(&e.id) == HVL_VSOCK_EVENT_TRANSPORT_RESET);
	}
}

/* ------------------------------------------------------------ the driver */

static uint32_t pick_port(uint8_t sel, uint32_t base, struct fz *f)
{
	switch (sel & 3u) {
	case 0: return base + (fz_u8(f) & 3u);
	case 1: return HVL_VSOCKD_EPHEMERAL + (fz_u8(f) & 3u);
	case 2: return 5000u + (fz_u8(f) & 3u);
	default: return fz_u32(f);
	}
}

/* What the program sent on (lport, pport): a correct driver's fwd_cnt. */
static uint32_t sent_on(const struct vd_fz *vf, uint32_t lport, uint32_t pport)
{
	uint32_t i;

	for (i = 0; i < vf->v.nsocks; i++) {
		const struct hvl_vsockd_sock *s = &vf->v.socks[i];

		if (s->state != ST_FREE && s->lport == lport && s->pport == pport)
			return s->tx_cnt;
	}
	return 0u;
}

/* A remote -> host packet: header and payload in one or two buffers, or a short chain. */
static void packet(struct vd_fz *vf, struct fz *f)
{
	struct fz_remote *r = &vf->r;
	struct hvl_vsock_hdr h;
	uint8_t sel = fz_u8(f), shape = fz_u8(f), more = fz_u8(f);
	uint8_t *pkt = vf->data + PKT_OFF;
	uint32_t plen, len, lport, pport;
	uint64_t addr[2];
	uint32_t dlen[2];
	uint16_t flags[2] = { 0, 0 };

	hvl_le64_put(&h.src_cid, (more & 1u) ? fz_u64(f) : vf->cid);
	hvl_le64_put(&h.dst_cid, (more & 2u) ? fz_u64(f) : HOST_CID);
	pport = pick_port(sel >> 2, REMOTE_PORT, f);
	lport = pick_port(sel, LISTEN_PORT, f);
	hvl_le32_put(&h.src_port, pport);
	hvl_le32_put(&h.dst_port, lport);
	if ((more & 4u) != 0u) {
		plen = fz_u16(f) % (PKT_ROOM - HVL_VSOCK_HDR_SIZE);
		memset(pkt + HVL_VSOCK_HDR_SIZE, fz_u8(f), plen);
	} else {
		plen = fz_u8(f) % 200u;
		(void)fz_bytes(f, pkt + HVL_VSOCK_HDR_SIZE, plen);
	}
	hvl_le32_put(&h.len, (shape & 1u) ? fz_u32(f) : plen);
	hvl_le16_put(&h.type, (shape & 2u) ? fz_u16(f) : (uint16_t)HVL_VSOCK_TYPE_STREAM);
	hvl_le16_put(&h.op, (sel & 0x80u) ? fz_u16(f) : (uint16_t)((sel >> 4) & 7u));
	hvl_le32_put(&h.flags, (shape & 4u) ? fz_u32(f) : fz_u8(f) & 3u);
	hvl_le32_put(&h.buf_alloc, (shape & 8u) ? fz_u32(f) : 65536u);
	hvl_le32_put(&h.fwd_cnt, (shape & 16u) ? fz_u32(f) : sent_on(vf, lport, pport));
	memcpy(pkt, &h, sizeof(h));
	len = (uint32_t)sizeof(h) + plen;
	if ((more & 8u) != 0u)
		len = 1u + fz_u8(f) % HVL_VSOCK_HDR_SIZE;   /* shorter than a header */
	addr[0] = r->win_bus + r->data_off + PKT_OFF;
	if ((shape & 32u) != 0u && len > 1u) {
		/* header and payload apart, or cut anywhere; the second part writable: a violation */
		uint32_t cut = (shape & 64u) || len <= sizeof(h) ? 1u + fz_u8(f) % (len - 1u) :
								    (uint32_t)sizeof(h);

		dlen[0] = cut;
		addr[1] = addr[0] + cut;
		dlen[1] = len - cut;
		flags[1] = (shape & 128u) ? HVL_VRING_DESC_F_WRITE : 0u;
		(void)fzr_post_descs(r, HVL_VSOCK_TXQ, 2, addr, dlen, flags);
	} else {
		dlen[0] = len;
		(void)fzr_post_descs(r, HVL_VSOCK_TXQ, 1, addr, dlen, flags);
	}
}

/* A receive buffer in one of two slots: writable, split in two, short, or readable. */
static void rx_buffer(struct vd_fz *vf, struct fz *f)
{
	uint8_t shape = fz_u8(f);
	unsigned slot = vf->rx_next++ & 1u;
	uint64_t addr[2];
	uint32_t len = (shape & 1u) ? 1u + fz_u8(f) : RX_SIZE, dlen[2];
	uint16_t flags[2];

	addr[0] = vf->r.win_bus + vf->r.data_off + RX_OFF + RX_SIZE * slot;
	flags[0] = flags[1] = (shape & 2u) ? 0u : HVL_VRING_DESC_F_WRITE;
	/*
	 * The device may still hold an earlier chain over this slot (it takes
	 * receive chains ahead): a packet it writes fits the largest one posted.
	 */
	if (flags[0] != 0u && len > vf->rx_len[slot])
		vf->rx_len[slot] = len;
	/* Split (on a queue of one entry the two descriptors would be the same one). */
	if ((shape & 4u) != 0u && len > 1u && vf->r.d->q[HVL_VSOCK_RXQ].num >= 2u) {
		uint32_t cut = 1u + fz_u8(f) % (len - 1u);

		dlen[0] = cut;
		dlen[1] = len - cut;
		addr[1] = addr[0] + cut;
		(void)fzr_post_descs(&vf->r, HVL_VSOCK_RXQ, 2, addr, dlen, flags);
	} else {
		dlen[0] = len;
		(void)fzr_post_descs(&vf->r, HVL_VSOCK_RXQ, 1, addr, dlen, flags);
	}
}

static void ev_buffer(struct vd_fz *vf, struct fz *f)
{
	uint8_t shape = fz_u8(f);
	uint64_t addr = vf->r.win_bus + vf->r.data_off + EV_OFF;
	uint32_t len = (shape & 1u) ? 1u + (shape >> 4) : 4u;
	uint16_t flags = (shape & 2u) ? 0u : HVL_VRING_DESC_F_WRITE;

	memset(vf->data + EV_OFF, 0xff, 4);
	(void)fzr_post_descs(&vf->r, HVL_VSOCK_EVQ, 1, &addr, &len, &flags);
}

/* ------------------------------------------------------------ the program */

/* Any descriptor, including ones never handed out and out-of-range ones. */
static int pick_sd(const struct vd_fz *vf, struct fz *f)
{
	return (int)(fz_u8(f) % (vf->v.nsocks + 2u)) - 1;
}

static long prog_send(struct vd_fz *vf, struct fz *f, int sd)
{
	size_t len = fz_u16(f) % IO_MAX;
	uint8_t fill = fz_u8(f);
	uint8_t *buf = len > 0u ? malloc(len) : NULL;
	long n;

	if (len > 0u) {
		FZ_CHECK(buf != NULL);
		memset(buf, fill, len);
	}
	n = hvl_vsockd_send(&vf->v, sd, buf, len, 0);
	FZ_CHECK(n <= (long)len);
	FZ_CHECK(n >= 0 || n == -EAGAIN || n == -EPIPE || n == -ECONNRESET || n == -ECONNREFUSED ||
		 n == -ENOTCONN || n == -EINVAL || n == -ETIMEDOUT);
	free(buf);
	return n;
}

static long prog_recv(struct vd_fz *vf, struct fz *f, int sd)
{
	size_t len = 1u + fz_u16(f) % IO_MAX;
	uint8_t *buf = malloc(len);   /* exact size: a write past it is an ASan report */
	long n;

	FZ_CHECK(buf != NULL);
	n = hvl_vsockd_recv(&vf->v, sd, buf, len, 0);
	FZ_CHECK(n <= (long)len);
	FZ_CHECK(n >= 0 || n == -EAGAIN || n == -ECONNRESET || n == -ECONNREFUSED ||
		 n == -ENOTCONN || n == -EINVAL || n == -ETIMEDOUT);
	free(buf);
	return n;
}

static int prog_poll(struct vd_fz *vf, struct fz *f)
{
	struct hvl_vsockd_pollfd p[MAX_SOCKS + 2u];
	uint32_t n = fz_u8(f) % (vf->v.nsocks + 3u), k;
	int ready, count = 0;

	for (k = 0; k < n; k++) {
		p[k].sd = pick_sd(vf, f);
		p[k].events = fz_u8(f) & 15u;
		p[k].revents = 0xdeadu;
	}
	ready = hvl_vsockd_poll(&vf->v, p, n, 0);
	FZ_CHECK(ready >= 0 && (uint32_t)ready <= n);
	for (k = 0; k < n; k++) {
		FZ_CHECK((p[k].revents & ~(p[k].events | HVL_VSOCKD_POLLERR | HVL_VSOCKD_POLLHUP)) == 0u);
		if (p[k].revents != 0u)
			count++;
	}
	FZ_CHECK(count == ready);
	return ready;
}

/* One call of the socket API, every timeout 0. */
static void prog(struct vd_fz *vf, struct fz *f)
{
	struct hvl_vsockd *v = &vf->v;
	uint8_t sel = fz_u8(f);
	int sd = pick_sd(vf, f), rc = 0;
	uint32_t port;

	switch (sel & 15u) {
	case 0:
		rc = hvl_vsockd_socket(v);
		FZ_CHECK(rc == -EMFILE || (rc >= 0 && (uint32_t)rc < v->nsocks));
		break;
	case 1:
		rc = hvl_vsockd_listen(v, sd, LISTEN_PORT + (sel >> 4) % 4u, (uint16_t)(1u + (sel >> 6)));
		break;
	case 2:
		port = 0xffffffffu;
		rc = hvl_vsockd_accept(v, sd, &port, 0);
		FZ_CHECK(rc < 0 || ((uint32_t)rc < v->nsocks && v->socks[rc].accepted &&
				    v->socks[rc].pport == port));
		break;
	case 3:
		rc = hvl_vsockd_connect(v, sd, REMOTE_PORT + (sel >> 4) % 4u, 0);
		/* A new connection starts with nothing read, sent or shut down. */
		if (rc == 0)
			FZ_CHECK(v->socks[sd].rcount == 0u && v->socks[sd].peer_shut == 0u &&
				 v->socks[sd].local_shut == 0u && v->socks[sd].state == ST_ESTABLISHED);
		break;
	case 4:
	case 5:
		rc = (int)prog_send(vf, f, sd);
		break;
	case 6:
	case 7:
		rc = (int)prog_recv(vf, f, sd);
		break;
	case 8:
		rc = hvl_vsockd_shutdown(v, sd, sel >> 5);
		break;
	case 9:
		rc = hvl_vsockd_close(v, sd);
		FZ_CHECK(rc == 0 || rc == -EINVAL);
		break;
	case 10:
		rc = prog_poll(vf, f);
		break;
	default:
		rc = hvl_vsockd_poll(v, NULL, 0, 0);
		break;
	}
	if (vf->debug)
		fprintf(stderr, "vsockd: call %u sd %d -> %d\n", sel & 15u, sd, rc);
}

/* ------------------------------------------------------------ the run */

/* Run device code (@prog: one call of the program, else a service pass) and check. */
static void step(struct vd_fz *vf, struct fz *f, int prog_call, uint8_t op)
{
	struct fz_remote *r = &vf->r;
	struct rx_snap before;
	struct fzr_snap snap;

	/* Taken after the driver's own stores, right before the device runs. */
	rx_snap(vf, &before);
	fzr_before(r, &snap);
	if (prog_call)
		prog(vf, f);
	else if ((op & 0xc0u) == 0x40u)
		(void)hvl_dev_service(r->d, 0);
	else if ((op & 0xc0u) == 0x80u)
		(void)hvl_dev_service(r->d, 1);         /* every ready queue, as on a heartbeat */
	else
		(void)hvl_devhost_service(&vf->h, 0);   /* the program's event loop */
	/* A program call may apply no transaction (send goes straight out). */
	fzr_after(r, &snap, !prog_call);
	check_table(vf);
	check_rx(vf, &before);
}

static void act(struct vd_fz *vf, struct fz *f)
{
	struct fz_remote *r = &vf->r;
	uint8_t op = fz_u8(f);

	switch (op & 15u) {
	case 0:
	case 1:
		packet(vf, f);
		break;
	case 2:
		rx_buffer(vf, f);
		break;
	case 3:
		ev_buffer(vf, f);
		break;
	case 4:
	case 5:
	case 6:
		step(vf, f, 1, op);
		break;
	case 8:
		fzr_post_chain(r, f);
		vf->raw = 1;
		break;
	case 9: /* stores into the window */
		vf->raw = 1;
		fzr_scribble_window(r, f);
		break;
	case 10:
		fzr_notify(r, fz_u8(f) % HVL_MAX_QUEUES);
		break;
	case 11: /* reset, and a correct driver starts again (checked per transaction) */
		fzr_restart(r, f, ~0ull, HVL_VSOCK_F_STREAM);
		break;
	case 12: /* any register or config write */
		fzr_any_write(r, f);
		break;
	case 13: /* DRIVER_OK again, on a live device or after a reset */
		fzr_txn(r, HVL_MMIO_STATUS, vf->r.d->status | HVL_STATUS_DRIVER_OK, 4, 1);
		break;
	default: /* 7, 14, 15: nothing of the driver's, only the service pass */
		break;
	}
	/* Bits 6-7 of a driver action: which service pass follows, or none (3). */
	if ((op & 0xc0u) != 0xc0u || (op & 15u) >= 14u)
		step(vf, f, 0, op);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	struct vd_fz *vf;
	struct hvl_devhost_dev dd;
	const struct hvl_layout_dev *ld;
	char err[256];
	uint8_t hdr[4];
	unsigned steps = 0;
	int rc;

	vf = calloc(1, sizeof(*vf));
	FZ_CHECK(vf != NULL);
	vf->debug = getenv("HVL_FUZZ_DEBUG") != NULL;
	(void)fz_bytes(&f, hdr, sizeof(hdr));
	vf->m.nsocks = 1u + ((hdr[0] >> 3) & 7u);
	vf->per = (hdr[0] & 0x40u) ? 8192u : HVL_VSOCKD_MIN_RBUF;
	vf->m.socks = malloc(sizeof(*vf->m.socks) * vf->m.nsocks);
	vf->m.rbuf_len = (size_t)vf->per * vf->m.nsocks;
	vf->m.rbuf = malloc(vf->m.rbuf_len);
	FZ_CHECK(vf->m.socks != NULL && vf->m.rbuf != NULL);
	vf->cid = 3u + hdr[2] % 4u;
	FZ_CHECK(hvl_vsockd_init(&vf->v, &vf->m, vf->cid) == 0);
	hvl_vsockd_describe(&vf->v, &dd, (uint16_t)(1u << ((hdr[0] & 7u) % 7u)), DATA_SIZE);

	(void)unlink(region_path());
	rc = hvl_devhost_open(&vf->h, region_path(), HVL_DOORBELL_POLL, &dd, 1, NULL, err, sizeof(err));
	(void)unlink(region_path()); /* the mapping stays; nothing is left behind */
	if (rc != 0)
		fprintf(stderr, "fuzz_vsockd: devhost: %s\n", err);
	FZ_CHECK(rc == 0);
	FZ_CHECK(hvl_vsockd_bind(&vf->v, &vf->h, 0) == 0);
	ld = &vf->h.layout.dev[0];
	FZ_CHECK(ld->window_size <= UINT32_MAX && ld->data_offset + DATA_SIZE <=
		 ld->window_offset + ld->window_size);
	fzr_attach(&vf->r, vf->v.dev, vf->v.dev->page, vf->h.mem + ld->window_offset,
		   vf->v.dev->win.bus, (uint32_t)ld->window_size,
		   (uint32_t)(ld->data_offset - ld->window_offset));
	vf->data = vf->r.win + vf->r.data_off;
	fzr_bring_up(&vf->r, ((uint64_t)(hdr[1] & 3u) << HVL_F_INDIRECT_DESC_BIT) | HVL_VSOCK_F_STREAM);

	while (f.n > 0 && steps++ < 2000u)
		act(vf, &f);
	if (vf->debug)
		fprintf(stderr,
			"vsockd: status 0x%x broken %u pkts in %llu out %llu bad %llu resets %llu "
			"rst dropped %llu bytes in %llu out %llu\n",
			vf->r.d->status, vf->r.d->broken, (unsigned long long)vf->v.pkts_in,
			(unsigned long long)vf->v.pkts_out, (unsigned long long)vf->v.bad_pkts,
			(unsigned long long)vf->v.resets, (unsigned long long)vf->v.rst_dropped,
			(unsigned long long)vf->v.bytes_in, (unsigned long long)vf->v.bytes_out);
	hvl_devhost_close(&vf->h);
	free(vf->m.rbuf);
	free(vf->m.socks);
	free(vf);
	return 0;
}

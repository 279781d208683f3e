/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: the vsock backend's packet parsing and connection state
 * (src/pmm/devices/vsock.c + vsock_host.c), behind the real transport and
 * ring.  Remote CID 3; port 1 is mapped to a UNIX stream socket the
 * harness listens on (so a REQUEST really connects, and the harness plays
 * the Linux program: accept, send, receive, close), port 2 to a path where
 * nobody listens.  Built on the backend pattern of fuzz_blk.c
 * (docs/SECURITY.md "Adding a fuzz target").
 *
 * Input: 4-byte header, then actions (see act()).
 *   hdr[0] bits 0-2: queue size log2 (<= 6)
 *   hdr[1] driver features: bit 0 EVENT_IDX, 1 INDIRECT_DESC
 *   hdr[2] max_conn 1 + hdr[2] % 4;  hdr[3] buf_size 4096 << (hdr[3] % 3)
 *
 * A packet action builds a header from a few input bytes (the CIDs, ports,
 * type and op mostly right, or any value; len true or lying; credit
 * fields) plus a payload, in one or two readable buffers.
 *
 * Invariants: those of fzr_service(); every packet the device writes into a
 * receive buffer comes from the host CID to the remote's CID, is a stream
 * packet with a known op, and its len fits the buffer.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fake_pmm.h"
#include "fuzz_remote.h"
#include "fuzz_util.h"
#include "hvl/wire/vsock.h"

extern const struct hvl_pmm_backend hvl_pmm_vsock_backend;

#define REMOTE_CID 3u
#define HOST_CID   2u
/* Beyond fzr_post_chain's 32 x 128-byte slots, so raw chains never land here. */
#define PKT_OFF    (FZR_DATA_OFF + 4096u)   /* transmit packet (<= 256 B) */
#define RX_OFF     (FZR_DATA_OFF + 4608u)   /* receive buffers: 2 x 1 KiB */
#define RX_SIZE    1024u
#define EV_OFF     (FZR_DATA_OFF + 7168u)   /* event buffers */
#define MAX_PEERS  4

struct vs_fz {
	struct fz_remote r;
	struct hvl_pmm pmm;
	struct hvl_pmm_region rg;
	struct hvl_pmm_region_config rcfg;
	struct hvl_pmm_dev_config cfg;
	struct hvl_dev_static st;
	const struct hvl_dev_ops *ops;
	int peer[MAX_PEERS];  /* accepted host-side connections */
	unsigned rx_next;
	int raw;              /* raw chains or window stores: rx buffers may be anyone's */
	uint8_t io[4096];
};

static int g_listen = -1;

/* The harness's "Linux program" for port 1: one listener per process. */
static const char *server_path(void)
{
	const char *p = fake_pmm_path("vs-port1");
	struct sockaddr_un sa;

	if (g_listen >= 0)
		return p;
	g_listen = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	FZ_CHECK(g_listen >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", p);
	FZ_CHECK(bind(g_listen, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	FZ_CHECK(listen(g_listen, 16) == 0);
	return p;
}

static uint32_t pick_port(uint8_t sel, struct fz *f)
{
	switch (sel & 3u) {
	case 0: return 1u;
	case 1: return 2u;
	case 2: return 1024u + (fz_u8(f) & 3u);
	default: return fz_u32(f);
	}
}

/* A remote -> host packet: header and payload in one or two readable buffers. */
static void packet(struct vs_fz *vf, struct fz *f)
{
	struct fz_remote *r = &vf->r;
	struct hvl_vsock_hdr h;
	uint8_t sel = fz_u8(f), shape = fz_u8(f);
	uint32_t plen = fz_u8(f) % 200u, len;
	uint64_t addr[2];
	uint32_t dlen[2];
	uint16_t flags[2] = { 0, 0 };

	hvl_le64_put(&h.src_cid, (sel & 0x40u) ? fz_u64(f) : REMOTE_CID);
	hvl_le64_put(&h.dst_cid, (sel & 0x80u) ? fz_u64(f) : HOST_CID);
	hvl_le32_put(&h.src_port, pick_port(sel >> 2, f));
	hvl_le32_put(&h.dst_port, pick_port(sel, f));
	hvl_le32_put(&h.len, (shape & 1u) ? fz_u32(f) : plen);
	hvl_le16_put(&h.type, (shape & 2u) ? fz_u16(f) : (uint16_t)HVL_VSOCK_TYPE_STREAM);
	hvl_le16_put(&h.op, (uint16_t)((sel >> 4) & 3u) == 3u ? fz_u16(f) : (uint16_t)(fz_u8(f) % 8u));
	hvl_le32_put(&h.flags, (shape & 4u) ? fz_u32(f) : fz_u8(f) & 3u);
	hvl_le32_put(&h.buf_alloc, (shape & 8u) ? fz_u32(f) : 65536u);
	hvl_le32_put(&h.fwd_cnt, (shape & 16u) ? fz_u32(f) : 0u);
	memcpy(r->win + PKT_OFF, &h, sizeof(h));
	(void)fz_bytes(f, r->win + PKT_OFF + sizeof(h), plen);
	len = (uint32_t)sizeof(h) + plen;
	addr[0] = FZR_WIN_BUS + PKT_OFF;
	if ((shape & 32u) != 0u) {
		/* header and payload apart, or cut anywhere */
		uint32_t cut = (shape & 64u) ? 1u + fz_u8(f) % (len - 1u) : (uint32_t)sizeof(h);

		dlen[0] = cut;
		addr[1] = FZR_WIN_BUS + PKT_OFF + cut;
		dlen[1] = len - cut;
		flags[1] = (shape & 128u) ? HVL_VRING_DESC_F_WRITE : 0u;
		if (dlen[1] == 0u)
			dlen[1] = 1u;
		(void)fzr_post_descs(r, HVL_VSOCK_TXQ, 2, addr, dlen, flags);
	} else {
		dlen[0] = len;
		(void)fzr_post_descs(r, HVL_VSOCK_TXQ, 1, addr, dlen, flags);
	}
}

static void rx_buffer(struct vs_fz *vf, struct fz *f)
{
	uint8_t shape = fz_u8(f);
	uint64_t addr = FZR_WIN_BUS + RX_OFF + RX_SIZE * (vf->rx_next++ & 1u);
	uint32_t len = (shape & 1u) ? 1u + fz_u8(f) : RX_SIZE;
	uint16_t flags = (shape & 2u) ? 0u : HVL_VRING_DESC_F_WRITE;

	(void)fzr_post_descs(&vf->r, HVL_VSOCK_RXQ, 1, &addr, &len, &flags);
}

static void ev_buffer(struct vs_fz *vf, struct fz *f)
{
	uint8_t shape = fz_u8(f);
	uint64_t addr = FZR_WIN_BUS + EV_OFF;
	uint32_t len = (shape & 1u) ? 1u + (shape >> 4) : 4u;
	uint16_t flags = (shape & 2u) ? 0u : HVL_VRING_DESC_F_WRITE;

	(void)fzr_post_descs(&vf->r, HVL_VSOCK_EVQ, 1, &addr, &len, &flags);
}

/* The Linux program on port 1: accept, write, read, close. */
static void host(struct vs_fz *vf, struct fz *f)
{
	uint8_t sel = fz_u8(f);
	int k = (int)(sel >> 4) % MAX_PEERS;
	int fd;

	switch (sel & 3u) {
	case 0:
		if (vf->peer[k] < 0) {
			fd = accept4(g_listen, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
			if (fd >= 0)
				vf->peer[k] = fd;
		}
		break;
	case 1:
		if (vf->peer[k] >= 0) {
			size_t n = fz_u8(f);

			(void)fz_bytes(f, vf->io, n);
			(void)send(vf->peer[k], vf->io, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		}
		break;
	case 2:
		if (vf->peer[k] >= 0)
			(void)recv(vf->peer[k], vf->io, sizeof(vf->io), MSG_DONTWAIT);
		break;
	default:
		if (vf->peer[k] >= 0) {
			close(vf->peer[k]);
			vf->peer[k] = -1;
		}
		break;
	}
}

/* Packets the device wrote (headers that changed during service) are well formed. */
static void check_rx(struct vs_fz *vf, const uint8_t before[2][HVL_VSOCK_HDR_SIZE])
{
	unsigned k;

	for (k = 0; k < 2u; k++) {
		const uint8_t *b = vf->r.win + RX_OFF + RX_SIZE * k;
		struct hvl_vsock_hdr h;
		uint16_t op;

		if (vf->raw || memcmp(b, before[k], sizeof(h)) == 0)
			continue;
		memcpy(&h, b, sizeof(h));
		op = hvl_le16_get(&h.op);
		FZ_CHECK(hvl_le64_get(&h.src_cid) == HOST_CID);
		FZ_CHECK(hvl_le64_get(&h.dst_cid) == REMOTE_CID);
		FZ_CHECK(hvl_le16_get(&h.type) == HVL_VSOCK_TYPE_STREAM);
		FZ_CHECK(op >= HVL_VSOCK_OP_REQUEST && op <= HVL_VSOCK_OP_CREDIT_REQUEST);
		FZ_CHECK(hvl_le32_get(&h.len) <= RX_SIZE - HVL_VSOCK_HDR_SIZE);
	}
}

static void act(struct vs_fz *vf, struct fz *f)
{
	struct fz_remote *r = &vf->r;
	uint8_t op = fz_u8(f);
	uint8_t before[2][HVL_VSOCK_HDR_SIZE];

	switch (op & 15u) {
	case 0:
	case 1:
		packet(vf, f);
		break;
	case 2:
	case 3:
		rx_buffer(vf, f);
		break;
	case 4:
		ev_buffer(vf, f);
		break;
	case 5:
	case 6:
		host(vf, f);
		break;
	case 7:
		fake_pmm_loop_turn(&vf->pmm);
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
	case 11: /* reset, and a correct driver starts again */
		fzr_restart(r, f, ~0ull, HVL_VSOCK_F_STREAM);
		break;
	case 12: /* any register or config write */
		fzr_any_write(r, f);
		break;
	default:
		hvl_dev_kick(r->d);
		break;
	}
	memcpy(before[0], r->win + RX_OFF, HVL_VSOCK_HDR_SIZE);
	memcpy(before[1], r->win + RX_OFF + RX_SIZE, HVL_VSOCK_HDR_SIZE);
	fzr_service(r, (op & 0x80u) != 0u);
	check_rx(vf, (const uint8_t (*)[HVL_VSOCK_HDR_SIZE])before);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	struct vs_fz *vf;
	struct hvl_window win;
	char mc[16], bs[16];
	void *priv = NULL;
	uint8_t h[4];
	unsigned steps = 0;
	uint16_t n;
	int rc, k, fd;

	vf = calloc(1, sizeof(*vf));
	FZ_CHECK(vf != NULL);
	vf->r.d = calloc(1, sizeof(*vf->r.d));
	FZ_CHECK(vf->r.d != NULL);
	for (k = 0; k < MAX_PEERS; k++)
		vf->peer[k] = -1;
	fzr_alloc(&vf->r);
	(void)fz_bytes(&f, h, sizeof(h));
	fake_pmm_init(&vf->pmm);
	fake_pmm_region(&vf->pmm, &vf->rg, &vf->rcfg, HVL_DOORBELL_FUTEX);
	snprintf(mc, sizeof(mc), "%u", 1u + h[2] % 4u);
	snprintf(bs, sizeof(bs), "%u", 4096u << (h[3] % 3u));
	fake_pmm_dev_config(&vf->cfg, "vsock0", "cid", "3", "max_conn", mc, "buf_size", bs,
			    "port.1", server_path(), "port.2", fake_pmm_path("vs-nobody"), NULL);
	n = (uint16_t)(1u << ((h[0] & 7u) % 7u));
	vf->st.device_id = 19;
	vf->st.name = "vsock0";
	fzr_static(&vf->st, HVL_VSOCK_NUM_QUEUES, n, 64u);
	vf->r.d->log = &vf->pmm.log;
	rc = hvl_pmm_vsock_backend.create(&vf->pmm, &vf->rg, &vf->cfg, vf->r.d, &vf->st, &vf->ops, &priv);
	FZ_CHECK(rc == 0 && priv != NULL);
	win = fzr_window(&vf->r);
	rc = hvl_dev_init(vf->r.d, vf->r.page, &win, &vf->st, vf->ops, priv, fake_pmm_notifier(),
			  &vf->pmm.log);
	FZ_CHECK(rc == 0);
	vf->r.d->now_ms = hvl_pmm_now_ms;
	fzr_bring_up(&vf->r, ((uint64_t)(h[1] & 3u) << HVL_F_INDIRECT_DESC_BIT) | HVL_VSOCK_F_STREAM);

	while (f.n > 0 && steps++ < 2000u)
		act(vf, &f);
	if (getenv("HVL_FUZZ_DEBUG") != NULL)
		fprintf(stderr, "vsock: status 0x%x broken %u notify %llu irq %llu\n", vf->r.d->status,
			vf->r.d->broken, (unsigned long long)vf->r.d->stat_notify,
			(unsigned long long)vf->r.d->stat_irq);
	hvl_dev_reset(vf->r.d);
	hvl_pmm_vsock_backend.destroy(priv);
	fake_pmm_fini(&vf->pmm);
	for (k = 0; k < MAX_PEERS; k++)
		if (vf->peer[k] >= 0)
			close(vf->peer[k]);
	/* Connections nobody accepted this run must not reach the next one. */
	while ((fd = accept4(g_listen, NULL, NULL, SOCK_CLOEXEC)) >= 0)
		close(fd);
	fzr_free(&vf->r);
	free(vf->r.d);
	free(vf);
	return 0;
}

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: the virtio-net backend's frame handling
 * (src/pmm/devices/net*.c), behind the real transport and ring, with the
 * "stream" backend (QEMU's -netdev stream framing: 4-byte big-endian
 * length, then the frame) connecting to a UNIX socket the harness listens
 * on: the harness plays the other end of the virtual cable (accept, send
 * framed frames with true or lying lengths, receive, hang up).  Built on the
 * backend pattern of fuzz_blk.c (docs/SECURITY.md "Adding a fuzz target").
 *
 * Input: 4-byte header, then actions (see act()).
 *   hdr[0] bits 0-2: queue size log2 (<= 6)
 *   hdr[1] driver features: bit 0 EVENT_IDX, 1 INDIRECT_DESC, 2 MTU, 3 MAC, 4 STATUS
 *   hdr[2] mtu: 68 + hdr[2] * 8
 *
 * Invariants: those of fzr_service(); every virtio-net header the device
 * writes into a receive buffer says "no offload, one buffer".
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
#include "hvl/wire/net.h"

extern const struct hvl_pmm_backend hvl_pmm_net_backend;

#define PKT_OFF  FZR_DATA_OFF             /* transmit frame (<= 2 KiB), only read */
/* Beyond fzr_post_chain's 32 x 128-byte slots, so raw chains never land here. */
#define RX_OFF   (FZR_DATA_OFF + 4096u)   /* receive buffers: 2 x 2 KiB */
#define RX_SIZE  2048u

struct net_fz {
	struct fz_remote r;
	struct hvl_pmm pmm;
	struct hvl_pmm_region rg;
	struct hvl_pmm_region_config rcfg;
	struct hvl_pmm_dev_config cfg;
	struct hvl_dev_static st;
	const struct hvl_dev_ops *ops;
	int peer;             /* the accepted stream connection, or -1 */
	unsigned rx_next;
	int raw;              /* raw chains or window stores: rx buffers may be anyone's */
	uint8_t io[4096];
};

static int g_listen = -1;

static const char *peer_path(void)
{
	const char *p = fake_pmm_path("net-peer");
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

/* A transmit chain: virtio-net header and frame, one or two readable buffers. */
static void tx_frame(struct net_fz *nf, struct fz *f)
{
	struct fz_remote *r = &nf->r;
	struct hvl_net_hdr h;
	uint8_t shape = fz_u8(f);
	uint32_t flen = (uint32_t)fz_u16(f) % 2036u, len;
	uint64_t addr[2];
	uint32_t dlen[2];
	uint16_t flags[2] = { 0, 0 };

	memset(&h, 0, sizeof(h));
	if (shape & 1u) { /* offload requests we never offered */
		h.flags = fz_u8(f);
		h.gso_type = fz_u8(f);
		hvl_le16_put(&h.hdr_len, fz_u16(f));
		hvl_le16_put(&h.gso_size, fz_u16(f));
		hvl_le16_put(&h.csum_start, fz_u16(f));
		hvl_le16_put(&h.csum_offset, fz_u16(f));
	}
	memcpy(r->win + PKT_OFF, &h, sizeof(h));
	(void)fz_bytes(f, r->win + PKT_OFF + sizeof(h), flen < 32u ? flen : 32u); /* MACs, type */
	len = (uint32_t)sizeof(h) + flen;
	addr[0] = FZR_WIN_BUS + PKT_OFF;
	if ((shape & 2u) != 0u && len > 1u) {
		uint32_t cut = (shape & 4u) ? 1u + fz_u8(f) % (len - 1u) : (uint32_t)sizeof(h);

		if (cut >= len)
			cut = len - 1u;
		dlen[0] = cut;
		addr[1] = FZR_WIN_BUS + PKT_OFF + cut;
		dlen[1] = len - cut;
		flags[1] = (shape & 8u) ? HVL_VRING_DESC_F_WRITE : 0u;
		(void)fzr_post_descs(r, HVL_NET_TXQ, 2, addr, dlen, flags);
	} else {
		dlen[0] = len;
		(void)fzr_post_descs(r, HVL_NET_TXQ, 1, addr, dlen, flags);
	}
}

static void rx_buffer(struct net_fz *nf, struct fz *f)
{
	uint8_t shape = fz_u8(f);
	uint64_t addr = FZR_WIN_BUS + RX_OFF + RX_SIZE * (nf->rx_next++ & 1u);
	uint32_t len = (shape & 1u) ? 1u + fz_u8(f) * 8u : RX_SIZE;
	uint16_t flags = (shape & 2u) ? 0u : HVL_VRING_DESC_F_WRITE;

	(void)fzr_post_descs(&nf->r, HVL_NET_RXQ, 1, &addr, &len, &flags);
}

/* The other end of the cable: accept, send a framed frame, receive, hang up. */
static void peer(struct net_fz *nf, struct fz *f)
{
	uint8_t sel = fz_u8(f);
	uint32_t n, wire;

	switch (sel & 3u) {
	case 0:
		if (nf->peer < 0)
			nf->peer = accept4(g_listen, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		break;
	case 1:
		if (nf->peer >= 0) {
			n = fz_u16(f) % 1600u;
			/* bit 2: a length prefix that lies (any 32-bit value) */
			wire = (sel & 4u) ? fz_u32(f) : n;
			nf->io[0] = (uint8_t)(wire >> 24);
			nf->io[1] = (uint8_t)(wire >> 16);
			nf->io[2] = (uint8_t)(wire >> 8);
			nf->io[3] = (uint8_t)wire;
			memset(nf->io + 4, 0x5a, n);
			(void)fz_bytes(f, nf->io + 4, n < 32u ? n : 32u);
			(void)send(nf->peer, nf->io, 4u + n, MSG_NOSIGNAL | MSG_DONTWAIT);
		}
		break;
	case 2:
		if (nf->peer >= 0)
			(void)recv(nf->peer, nf->io, sizeof(nf->io), MSG_DONTWAIT);
		break;
	default:
		if (nf->peer >= 0) {
			close(nf->peer);
			nf->peer = -1;
		}
		break;
	}
}

/* A virtio-net header the device wrote: no offloads, one buffer (§5.1.6.4). */
static void check_rx(struct net_fz *nf, const uint8_t before[2][HVL_NET_HDR_SIZE])
{
	unsigned k;

	for (k = 0; k < 2u; k++) {
		const uint8_t *b = nf->r.win + RX_OFF + RX_SIZE * k;
		struct hvl_net_hdr h;

		if (nf->raw || memcmp(b, before[k], sizeof(h)) == 0)
			continue;
		memcpy(&h, b, sizeof(h));
		FZ_CHECK(h.flags == 0u && h.gso_type == HVL_NET_HDR_GSO_NONE);
		FZ_CHECK(hvl_le16_get(&h.num_buffers) == 1u);
	}
}

static void act(struct net_fz *nf, struct fz *f)
{
	struct fz_remote *r = &nf->r;
	uint8_t op = fz_u8(f);
	uint8_t before[2][HVL_NET_HDR_SIZE];

	switch (op & 15u) {
	case 0:
	case 1:
		tx_frame(nf, f);
		break;
	case 2:
	case 3:
		rx_buffer(nf, f);
		break;
	case 4:
	case 5:
		peer(nf, f);
		break;
	case 6:
		fake_pmm_loop_turn(&nf->pmm);
		break;
	case 7:
		fzr_post_chain(r, f);
		nf->raw = 1;
		break;
	case 8: /* stores into the window */
		nf->raw = 1;
		fzr_scribble_window(r, f);
		break;
	case 9:
		fzr_notify(r, fz_u8(f) % HVL_MAX_QUEUES);
		break;
	case 10: /* reset, and a correct driver starts again */
		fzr_restart(r, f, ~0ull, HVL_NET_F_MAC);
		break;
	case 11: /* any register or config write */
		fzr_any_write(r, f);
		break;
	default:
		hvl_dev_kick(r->d);
		break;
	}
	memcpy(before[0], r->win + RX_OFF, HVL_NET_HDR_SIZE);
	memcpy(before[1], r->win + RX_OFF + RX_SIZE, HVL_NET_HDR_SIZE);
	fzr_service(r, (op & 0x80u) != 0u);
	check_rx(nf, (const uint8_t (*)[HVL_NET_HDR_SIZE])before);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	struct net_fz *nf;
	struct hvl_window win;
	char mtu[16];
	void *priv = NULL;
	uint8_t h[4];
	uint64_t feat;
	unsigned steps = 0;
	uint16_t n;
	int rc, fd;

	nf = calloc(1, sizeof(*nf));
	FZ_CHECK(nf != NULL);
	nf->r.d = calloc(1, sizeof(*nf->r.d));
	FZ_CHECK(nf->r.d != NULL);
	nf->peer = -1;
	fzr_alloc(&nf->r);
	(void)fz_bytes(&f, h, sizeof(h));
	fake_pmm_init(&nf->pmm);
	fake_pmm_region(&nf->pmm, &nf->rg, &nf->rcfg, HVL_DOORBELL_FUTEX);
	snprintf(mtu, sizeof(mtu), "%u", 68u + h[2] * 8u);
	fake_pmm_dev_config(&nf->cfg, "net0", "backend", "stream", "mode", "connect", "path",
			    peer_path(), "mtu", mtu, NULL);
	n = (uint16_t)(1u << ((h[0] & 7u) % 7u));
	nf->st.device_id = 1;
	nf->st.name = "net0";
	fzr_static(&nf->st, HVL_NET_NUM_QUEUES, n, 64u);
	nf->r.d->log = &nf->pmm.log;
	rc = hvl_pmm_net_backend.create(&nf->pmm, &nf->rg, &nf->cfg, nf->r.d, &nf->st, &nf->ops, &priv);
	FZ_CHECK(rc == 0 && priv != NULL);
	win = fzr_window(&nf->r);
	rc = hvl_dev_init(nf->r.d, nf->r.page, &win, &nf->st, nf->ops, priv, fake_pmm_notifier(),
			  &nf->pmm.log);
	FZ_CHECK(rc == 0);
	nf->r.d->now_ms = hvl_pmm_now_ms;
	feat = ((uint64_t)(h[1] & 3u) << HVL_F_INDIRECT_DESC_BIT) | ((h[1] & 4u) ? HVL_NET_F_MTU : 0u) |
	       ((h[1] & 8u) ? HVL_NET_F_MAC : 0u) | ((h[1] & 16u) ? HVL_NET_F_STATUS : 0u);
	fzr_bring_up(&nf->r, feat);

	while (f.n > 0 && steps++ < 2000u)
		act(nf, &f);
	if (getenv("HVL_FUZZ_DEBUG") != NULL)
		fprintf(stderr, "net: status 0x%x broken %u notify %llu irq %llu\n", nf->r.d->status,
			nf->r.d->broken, (unsigned long long)nf->r.d->stat_notify,
			(unsigned long long)nf->r.d->stat_irq);
	hvl_dev_reset(nf->r.d);
	hvl_pmm_net_backend.destroy(priv);
	fake_pmm_fini(&nf->pmm);
	if (nf->peer >= 0)
		close(nf->peer);
	/* A connection nobody accepted this run must not reach the next one. */
	while ((fd = accept4(g_listen, NULL, NULL, SOCK_CLOEXEC)) >= 0)
		close(fd);
	fzr_free(&nf->r);
	free(nf->r.d);
	free(nf);
	return 0;
}

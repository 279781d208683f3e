/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: the rpmsg backend's message parsing
 * (src/pmm/devices/rpmsg.c + rpmsg_sock.c), behind the real transport and
 * ring, with the built-in echo and sink channels (option builtin = 1), so
 * messages flow both ways without an outside program.  The backend's
 * channel sockets go into a private temp directory.  Built on the backend
 * pattern of fuzz_blk.c (docs/SECURITY.md "Adding a fuzz target").
 *
 * Input: 4-byte header, then actions (see act()).
 *   hdr[0] bits 0-2: queue size log2 (<= 6)
 *   hdr[1] driver features: bit 0 EVENT_IDX, 1 INDIRECT_DESC, 2 NS
 *   hdr[2] buf_size: 64 << (hdr[2] % 6);  hdr[3]: max_channels 2 + hdr[3] % 8
 *
 * A message action builds what a driver would (16-byte header and payload
 * in one or two readable buffers) from a few input bytes; name-service
 * announcements get their own action.  Raw chains and window stores cover
 * the malformed shapes.
 *
 * Invariants: those of fzr_service(); a message the device writes into a
 * receive buffer has a header whose len fits the buffer (buf_size - 16).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_pmm.h"
#include "fuzz_remote.h"
#include "fuzz_util.h"
#include "hvl/wire/rpmsg.h"

extern const struct hvl_pmm_backend hvl_pmm_rpmsg_backend;

#define MSG_OFF   FZR_DATA_OFF               /* transmit message (<= 2 KiB) */
#define RX_OFF    (FZR_DATA_OFF + 4096u)     /* receive buffers: 2 x 2 KiB */
#define ECHO_ADDR (HVL_RPMSG_RESERVED_ADDRS + 4096u - 1u)
#define SINK_ADDR (HVL_RPMSG_RESERVED_ADDRS + 4096u - 2u)

struct rp_fz {
	struct fz_remote r;
	struct hvl_pmm pmm;
	struct hvl_pmm_region rg;
	struct hvl_pmm_region_config rcfg;
	struct hvl_pmm_dev_config cfg;
	struct hvl_dev_static st;
	const struct hvl_dev_ops *ops;
	uint32_t buf_size;
	unsigned rx_next;
	int raw;              /* raw chains or window stores: rx buffers may be anyone's */
};

static uint32_t pick_addr(uint8_t sel, struct fz *f)
{
	switch (sel & 7u) {
	case 0: return HVL_RPMSG_NS_ADDR;
	case 1: return ECHO_ADDR;
	case 2: return SINK_ADDR;
	case 3: return HVL_RPMSG_ADDR_ANY;
	case 4: return HVL_RPMSG_RESERVED_ADDRS + (uint32_t)fz_u8(f);
	default: return fz_u32(f);
	}
}

/* A remote -> Linux message: header + payload, one or two readable buffers. */
static void message(struct rp_fz *pf, struct fz *f)
{
	struct fz_remote *r = &pf->r;
	struct hvl_rpmsg_hdr h;
	uint8_t sel = fz_u8(f), shape = fz_u8(f);
	uint32_t plen = fz_u8(f) % 200u, len;
	uint64_t addr[2];
	uint32_t dlen[2];
	uint16_t flags[2] = { 0, 0 };

	hvl_le32_put(&h.src, pick_addr(sel, f));
	hvl_le32_put(&h.dst, pick_addr(sel >> 3, f));
	hvl_le32_put(&h.reserved, (shape & 1u) ? fz_u32(f) : 0u);
	/* bit 1: a len field that does not match the payload */
	hvl_le16_put(&h.len, (shape & 2u) ? fz_u16(f) : (uint16_t)plen);
	hvl_le16_put(&h.flags, (shape & 4u) ? fz_u16(f) : 0u);
	memcpy(r->win + MSG_OFF, &h, sizeof(h));
	(void)fz_bytes(f, r->win + MSG_OFF + sizeof(h), plen);
	len = (uint32_t)sizeof(h) + plen;
	if ((shape & 8u) != 0u && len > 8u) {
		/* split the message at a point of the input's choosing */
		uint32_t cut = 1u + fz_u8(f) % (len - 1u);

		addr[0] = FZR_WIN_BUS + MSG_OFF;
		dlen[0] = cut;
		addr[1] = FZR_WIN_BUS + MSG_OFF + cut;
		dlen[1] = len - cut;
		flags[1] = (shape & 16u) ? HVL_VRING_DESC_F_WRITE : 0u; /* wrong direction */
		(void)fzr_post_descs(r, HVL_RPMSG_TXQ, 2, addr, dlen, flags);
	} else {
		addr[0] = FZR_WIN_BUS + MSG_OFF;
		dlen[0] = len;
		(void)fzr_post_descs(r, HVL_RPMSG_TXQ, 1, addr, dlen, flags);
	}
}

/* A name-service announcement: create or destroy a channel. */
static void announce(struct rp_fz *pf, struct fz *f)
{
	struct fz_remote *r = &pf->r;
	struct hvl_rpmsg_hdr h;
	struct hvl_rpmsg_ns_msg ns;
	uint8_t sel = fz_u8(f);
	uint64_t addr = FZR_WIN_BUS + MSG_OFF;
	uint32_t len = (uint32_t)(sizeof(h) + sizeof(ns));
	uint16_t flags = 0;

	memset(&ns, 0, sizeof(ns));
	if (sel & 1u)
		(void)fz_bytes(f, ns.name, sizeof(ns.name)); /* maybe without NUL, with '/' */
	else
		snprintf(ns.name, sizeof(ns.name), "chan-%u", fz_u8(f) % 4u);
	hvl_le32_put(&ns.addr, HVL_RPMSG_RESERVED_ADDRS + 8u * (uint32_t)(fz_u8(f) % 4u));
	hvl_le32_put(&ns.flags, (sel & 2u) ? HVL_RPMSG_NS_DESTROY : (sel & 4u) ? fz_u32(f) : 0u);
	hvl_le32_put(&h.src, hvl_le32_get(&ns.addr));
	hvl_le32_put(&h.dst, HVL_RPMSG_NS_ADDR);
	hvl_le32_put(&h.reserved, 0);
	hvl_le16_put(&h.len, (sel & 8u) ? (uint16_t)(sizeof(ns) - 1u) : (uint16_t)sizeof(ns));
	hvl_le16_put(&h.flags, 0);
	memcpy(r->win + MSG_OFF, &h, sizeof(h));
	memcpy(r->win + MSG_OFF + sizeof(h), &ns, sizeof(ns));
	(void)fzr_post_descs(r, HVL_RPMSG_TXQ, 1, &addr, &len, &flags);
}

/* A receive buffer of buf_size writable bytes (or a wrong one). */
static void rx_buffer(struct rp_fz *pf, struct fz *f)
{
	uint8_t shape = fz_u8(f);
	uint64_t addr = FZR_WIN_BUS + RX_OFF + 2048u * (pf->rx_next++ & 1u);
	uint32_t len = (shape & 1u) ? 1u + fz_u8(f) : pf->buf_size;
	uint16_t flags = (shape & 2u) ? 0u : HVL_VRING_DESC_F_WRITE;

	(void)fzr_post_descs(&pf->r, HVL_RPMSG_RXQ, 1, &addr, &len, &flags);
}

/* A message the device delivered (a header that changed in service): len fits the buffer. */
static void check_rx(struct rp_fz *pf, const uint8_t before[2][HVL_RPMSG_HDR_SIZE])
{
	unsigned k;

	for (k = 0; k < 2u; k++) {
		const uint8_t *b = pf->r.win + RX_OFF + 2048u * k;
		struct hvl_rpmsg_hdr h;

		if (pf->raw || memcmp(b, before[k], sizeof(h)) == 0)
			continue; /* not written by the device, or not only for us */
		memcpy(&h, b, sizeof(h));
		FZ_CHECK(hvl_le16_get(&h.len) <= pf->buf_size - HVL_RPMSG_HDR_SIZE);
	}
}

static void act(struct rp_fz *pf, struct fz *f)
{
	struct fz_remote *r = &pf->r;
	uint8_t op = fz_u8(f);
	uint8_t before[2][HVL_RPMSG_HDR_SIZE];

	switch (op & 15u) {
	case 0:
	case 1:
		message(pf, f);
		break;
	case 2:
		announce(pf, f);
		break;
	case 3:
	case 4:
		rx_buffer(pf, f);
		break;
	case 5:
		fzr_post_chain(r, f);
		pf->raw = 1;
		break;
	case 6: /* stores into the window */
		pf->raw = 1;
		fzr_scribble_window(r, f);
		break;
	case 7:
		fzr_notify(r, fz_u8(f) % HVL_MAX_QUEUES);
		break;
	case 8: /* reset, and a correct driver starts again */
		fzr_restart(r, f, ~0ull, HVL_RPMSG_F_NS);
		break;
	case 9: /* any register or config write */
		fzr_any_write(r, f);
		break;
	case 10:
		fake_pmm_loop_turn(&pf->pmm);
		break;
	default:
		hvl_dev_kick(r->d);
		break;
	}
	memcpy(before[0], r->win + RX_OFF, HVL_RPMSG_HDR_SIZE);
	memcpy(before[1], r->win + RX_OFF + 2048u, HVL_RPMSG_HDR_SIZE);
	fzr_service(r, (op & 0x80u) != 0u);
	check_rx(pf, (const uint8_t (*)[HVL_RPMSG_HDR_SIZE])before);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	struct rp_fz *pf;
	struct hvl_window win;
	char bs[16], mc[16];
	void *priv = NULL;
	uint8_t h[4];
	unsigned steps = 0;
	uint16_t n;
	int rc;

	pf = calloc(1, sizeof(*pf));
	FZ_CHECK(pf != NULL);
	pf->r.d = calloc(1, sizeof(*pf->r.d));
	FZ_CHECK(pf->r.d != NULL);
	fzr_alloc(&pf->r);
	(void)fz_bytes(&f, h, sizeof(h));
	fake_pmm_init(&pf->pmm);
	fake_pmm_region(&pf->pmm, &pf->rg, &pf->rcfg, HVL_DOORBELL_FUTEX);
	pf->buf_size = 64u << (h[2] % 6u);
	snprintf(bs, sizeof(bs), "%u", pf->buf_size);
	snprintf(mc, sizeof(mc), "%u", 2u + h[3] % 8u); /* the built-ins take 2 */
	fake_pmm_dev_config(&pf->cfg, "rpmsg0", "dir", fake_pmm_path("rpmsg"), "builtin", "1",
			    "buf_size", bs, "max_channels", mc, NULL);
	n = (uint16_t)(1u << ((h[0] & 7u) % 7u));
	pf->st.device_id = 7;
	pf->st.name = "rpmsg0";
	fzr_static(&pf->st, HVL_RPMSG_NUM_QUEUES, n, 64u);
	pf->r.d->log = &pf->pmm.log;
	rc = hvl_pmm_rpmsg_backend.create(&pf->pmm, &pf->rg, &pf->cfg, pf->r.d, &pf->st, &pf->ops, &priv);
	if (rc != 0)
		fprintf(stderr, "rpmsg create: %s\n", strerror(-rc));
	FZ_CHECK(rc == 0 && priv != NULL);
	win = fzr_window(&pf->r);
	rc = hvl_dev_init(pf->r.d, pf->r.page, &win, &pf->st, pf->ops, priv, fake_pmm_notifier(),
			  &pf->pmm.log);
	FZ_CHECK(rc == 0);
	pf->r.d->now_ms = hvl_pmm_now_ms;
	fzr_bring_up(&pf->r, ((uint64_t)(h[1] & 3u) << HVL_F_INDIRECT_DESC_BIT) |
			     ((h[1] & 4u) ? HVL_RPMSG_F_NS : 0u));

	while (f.n > 0 && steps++ < 2000u)
		act(pf, &f);
	if (getenv("HVL_FUZZ_DEBUG") != NULL)
		fprintf(stderr, "rpmsg: status 0x%x broken %u notify %llu irq %llu\n", pf->r.d->status,
			pf->r.d->broken, (unsigned long long)pf->r.d->stat_notify,
			(unsigned long long)pf->r.d->stat_irq);
	hvl_dev_reset(pf->r.d);
	hvl_pmm_rpmsg_backend.destroy(priv);
	fake_pmm_fini(&pf->pmm);
	fzr_free(&pf->r);
	free(pf->r.d);
	free(pf);
	return 0;
}

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio network backend of the PMM (virtio 1.2 §5.1): one queue pair,
 * MAC, MTU and link status in config space, no offloads.
 *
 * Device option "backend" picks the other end of the virtual cable:
 *   tap    a Linux TAP interface ("ifname"), /dev/net/tun, IFF_TAP|IFF_NO_PI;
 *   stream a UNIX stream socket ("path", "mode = listen|connect") carrying
 *          QEMU's `-netdev stream` framing (4-byte big-endian length, then
 *          the frame), so a QEMU VM or a second PMM can share the segment.
 *
 * Threads (src/pmm/pmm.h): the main thread reads frames from the backend
 * fd into a bounded set of slots (net_io.c); the region's device thread
 * moves them into receiveq chains and writes transmitq chains out.  Both
 * hold net->lock while they touch the shared state.
 *
 * Every frame is checked both ways: zero-length, runts (no Ethernet
 * header), frames above MTU + 14 + 4 (one VLAN tag) and, on the stream,
 * lengths above 65535 are dropped and counted; a transmit header that asks
 * for an offload we never offered is dropped and counted too.  A chain in
 * the wrong direction is a protocol violation (NEEDS_RESET).
 *
 * Flow control: frames wait in NET_RX_SLOTS slots while the remote has no
 * receive buffers; with every slot full the backend is not read (the TAP's
 * kernel queue drops, a stream peer is pushed back).  Toward the backend
 * one frame at a time is held until the fd takes it, and further transmit
 * chains stay in the ring meanwhile.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net_priv.h"

void net_log(struct net *n, enum hvl_log_level lvl, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	hvl_logf(n->log, lvl, "%s: %s", n->name, msg);
}



/*
 * Write what is left of the staged frames to the backend (lock held): one
 * frame for the TAP, up to NET_TBUF_SIZE bytes of framed frames for the
 * stream.  Returns 1 when done (written or dropped), 0 when the fd cannot
 * take it now (EPOLLOUT is watched and kicks us again).
 */
static int net_flush(struct net *n)
{
	while (n->toff < n->tlen) {
		ssize_t w;

		if (n->fd < 0) {
			n->tlen = n->toff = 0;
			n->st.tx_nolink += n->tframes;
			n->tframes = 0;
			return 1;
		}
		if (n->kind == NET_STREAM)
			w = send(n->fd, n->tbuf + n->toff, n->tlen - n->toff, MSG_NOSIGNAL | MSG_DONTWAIT);
		else
			w = write(n->fd, n->tbuf, n->tlen); /* one frame per write, never partial */
		if (w > 0) {
			n->toff += (uint32_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			net_sync_watch(n);
			return 0;
		}
		if (n->kind == NET_STREAM || (w < 0 && errno == EBADFD)) {
			/* A stream peer left, or the TAP interface was removed: link down. */
			net_disconnect(n, w < 0 ? strerror(errno) : "EOF");
			return 1;
		}
		/* TAP: EIO while the interface is down (no carrier): a NIC drops then too. */
		if (w < 0 && errno == EIO) {
			n->st.tx_nolink += n->tframes;
			n->tframes = 0;
			n->tlen = n->toff = 0;
			return 1;
		}
		if (hvl_ratelimit_ok(&n->rl, hvl_pmm_now_ms(), NET_RL_BURST, NET_RL_MS))
			net_log(n, HVL_LOG_WARN, "tap write: %s", w < 0 ? strerror(errno) : "short");
		n->st.tx_err += n->tframes;
		n->tframes = 0;
		n->tlen = n->toff = 0;
		return 1;
	}
	n->tlen = n->toff = 0;
	n->st.tx_frames += n->tframes;
	n->tframes = 0;
	return 1;
}

/*
 * One transmit chain (lock held): read the header once into a local copy
 * (STYLE 7), check it and the frame length, then append the frame (with
 * the stream's length prefix) to tbuf; the caller made room for a whole
 * frame.  Bad frames are dropped and counted.
 */
static void net_tx_one(struct net *n, const struct hvl_chain *c)
{
	struct hvl_net_hdr h;
	uint32_t flen, pre = n->kind == NET_STREAM ? 4u : 0u;

	if (c->out_len < HVL_NET_HDR_SIZE) {
		n->st.tx_badhdr++;
		return;
	}
	(void)hvl_chain_read(c, 0, &h, sizeof(h));
	/* §5.1.6.2: without CSUM/GSO negotiated both must be zero. */
	if (h.flags != 0 || h.gso_type != HVL_NET_HDR_GSO_NONE) {
		n->st.tx_badhdr++;
		return;
	}
	flen = c->out_len - HVL_NET_HDR_SIZE;
	if (flen == 0) {
		n->st.tx_zero++;
		return;
	}
	if (flen < HVL_NET_ETH_HLEN) {
		n->st.tx_runt++;
		return;
	}
	if (flen > n->max_frame) {
		n->st.tx_oversize++;
		return;
	}
	if (!n->link || n->fd < 0) {
		n->st.tx_nolink++; /* a NIC with its cable unplugged drops */
		return;
	}
	if (pre != 0) {
		n->tbuf[n->tlen] = (uint8_t)(flen >> 24);
		n->tbuf[n->tlen + 1] = (uint8_t)(flen >> 16);
		n->tbuf[n->tlen + 2] = (uint8_t)(flen >> 8);
		n->tbuf[n->tlen + 3] = (uint8_t)flen;
	}
	(void)hvl_chain_read(c, HVL_NET_HDR_SIZE, n->tbuf + n->tlen + pre, flen);
	n->tlen += pre + flen;
	n->tframes++;
	n->st.tx_bytes += flen;
}

/* transmitq (§5.1.6.2): driver -> device, header + frame, device-readable only. */
static void net_tx(struct hvl_dev *d)
{
	struct net *n = d->priv;
	unsigned budget = NET_BUDGET;
	int pushed = 0, more = 0, bad = 0;

	if (!hvl_dev_live(d))
		return;
	pthread_mutex_lock(&n->lock);
	for (;;) {
		struct hvl_vq_dev *vq;

		/*
		 * The TAP takes one frame per write; on the stream, frames are
		 * batched into one send while a whole frame still fits.
		 */
		if (n->toff < n->tlen &&
		    (n->kind == NET_TAP || n->toff > 0 || NET_TBUF_SIZE - n->tlen < 4u + n->max_frame) &&
		    !net_flush(n))
			break; /* the backend is full: later chains wait in the ring */
		if (budget == 0) {
			more = 1;
			break;
		}
		budget--;
		if (hvl_dev_pop(d, HVL_NET_TXQ, &n->txc) <= 0)
			break;
		if (n->txc.n_in != 0) {
			bad = 1;
			break;
		}
		net_tx_one(n, &n->txc);
		/* The frame is copied out: the buffer goes back at once, nothing written. */
		vq = hvl_dev_vq(d, HVL_NET_TXQ);
		if (vq != NULL)
			hvl_vq_dev_push(vq, n->txc.head, 0);
		pushed = 1;
	}
	/* The ring is empty (or the budget spent): send what is batched. */
	if (n->toff < n->tlen)
		(void)net_flush(n);
	pthread_mutex_unlock(&n->lock);
	if (bad)
		hvl_dev_fail(d, HVL_BROKEN_REQUEST, "transmitq chain %u has %u device-writable buffer(s)",
			     n->txc.head, n->txc.n_in);
	if (pushed)
		hvl_dev_vq_interrupt(d, HVL_NET_TXQ);
	if (more)
		hvl_dev_kick(d);
}

/* receiveq (§5.1.6.3): device -> driver, one whole frame + header per chain. */
static void net_rx(struct hvl_dev *d)
{
	struct net *n = d->priv;
	unsigned budget = NET_BUDGET;
	int pushed = 0, more = 0, bad = 0;

	if (!hvl_dev_live(d))
		return;
	pthread_mutex_lock(&n->lock);
	while (n->rx_count > 0) {
		struct hvl_vq_dev *vq;
		struct hvl_net_hdr h;
		uint32_t len, written = 0;

		if (budget == 0) {
			more = 1;
			break;
		}
		budget--;
		if (hvl_dev_pop(d, HVL_NET_RXQ, &n->rxc) <= 0)
			break; /* no receive buffer: the frames wait in their slots */
		if (n->rxc.n_out != 0) {
			bad = 1;
			break;
		}
		len = n->slot_len[n->rx_head];
		if (n->rxc.in_len < HVL_NET_HDR_SIZE + len) {
			/*
			 * Without MRG_RXBUF every chain must hold a whole frame
			 * (§5.1.6.3.1); the frame is dropped, the chain returned empty.
			 */
			n->st.rx_smallbuf++;
		} else {
			/* No offloads: all zero but num_buffers, which is 1 (§5.1.6.4). */
			memset(&h, 0, sizeof(h));
			hvl_le16_put(&h.num_buffers, 1);
			(void)hvl_chain_write(&n->rxc, 0, &h, sizeof(h));
			(void)hvl_chain_write(&n->rxc, HVL_NET_HDR_SIZE,
				    n->slots + (size_t)n->rx_head * n->slot_size, len);
			written = HVL_NET_HDR_SIZE + len;
			n->st.rx_frames++;
			n->st.rx_bytes += len;
		}
		n->rx_head = (n->rx_head + 1u) % NET_RX_SLOTS;
		n->rx_count--;
		vq = hvl_dev_vq(d, HVL_NET_RXQ);
		if (vq != NULL)
			hvl_vq_dev_push(vq, n->rxc.head, written);
		pushed = 1;
	}
	/* Slots freed: parse held stream bytes, resume reading the backend. */
	if (pushed)
		net_rx_resume(n);
	pthread_mutex_unlock(&n->lock);
	if (bad)
		hvl_dev_fail(d, HVL_BROKEN_REQUEST, "receiveq chain %u has %u device-readable buffer(s)",
			     n->rxc.head, n->rxc.n_out);
	if (pushed)
		hvl_dev_vq_interrupt(d, HVL_NET_RXQ);
	if (more)
		hvl_dev_kick(d);
}

/*
 * Publish the link status (device thread).  n->config is also what a
 * reset reloads (st->config points at it), so it always holds the current
 * status.  A change raises a configuration interrupt (§5.1.4, §2.5.1).
 */
static void net_link_sync(struct hvl_dev *d)
{
	struct net *n = d->priv;
	uint16_t status;

	pthread_mutex_lock(&n->lock);
	status = n->link ? (uint16_t)HVL_NET_S_LINK_UP : 0u;
	pthread_mutex_unlock(&n->lock);
	if (status == n->link_published)
		return;
	n->link_published = status;
	hvl_le16_put(&n->config.status, status);
	hvl_dev_config_set(d, HVL_NET_CFG_STATUS, &n->config.status, 2, hvl_dev_live(d));
}

static void net_queue(struct hvl_dev *d, unsigned q)
{
	if (q == HVL_NET_RXQ)
		net_rx(d);
	else if (q == HVL_NET_TXQ)
		net_tx(d);
}

/* hvl_dev_kick(): frames arrived, EPOLLOUT fired, or the link changed. */
static void net_poll(struct hvl_dev *d)
{
	net_link_sync(d);
	net_tx(d);
	net_rx(d);
}

/* The rings are gone: drop the chains' view; held frames stay for the next driver. */
static void net_reset(struct hvl_dev *d)
{
	(void)d;
}

static int net_driver_ok(struct hvl_dev *d)
{
	net_link_sync(d);
	return 0;
}

/* §5.1.4: the config space is read-only to the driver. */
static int net_config_write(struct hvl_dev *d, uint32_t off, uint32_t val, unsigned size)
{
	(void)d;
	(void)off;
	(void)val;
	(void)size;
	return -EINVAL;
}

static const struct hvl_dev_ops net_ops = {
	.reset = net_reset,
	.driver_ok = net_driver_ok,
	.queue = net_queue,
	.config_write = net_config_write,
	.poll = net_poll,
};

static void net_destroy(void *priv)
{
	struct net *n = priv;

	if (n == NULL)
		return;
	net_close_all(n);
	pthread_mutex_destroy(&n->lock);
	free(n->slots);
	free(n->rbuf);
	free(n->tbuf);
	free(n->txc.iov);
	free(n->rxc.iov);
	free(n);
}

static void net_stats_line(void *priv, char *buf, size_t len)
{
	struct net *n = priv;
	const struct net_stats *s = &n->st;

	pthread_mutex_lock(&n->lock);
	snprintf(buf, len,
		 "net: rx %llu frames / %llu B, tx %llu frames / %llu B; dropped rx zero %llu "
		 "runt %llu oversize %llu badlen %llu smallbuf %llu, tx zero %llu runt %llu "
		 "oversize %llu badhdr %llu nolink %llu err %llu; rx paused %llu, held %u; "
		 "peers %llu (refused %llu, lost %llu)",
		 (unsigned long long)s->rx_frames, (unsigned long long)s->rx_bytes,
		 (unsigned long long)s->tx_frames, (unsigned long long)s->tx_bytes,
		 (unsigned long long)s->rx_zero, (unsigned long long)s->rx_runt,
		 (unsigned long long)s->rx_oversize, (unsigned long long)s->rx_badlen,
		 (unsigned long long)s->rx_smallbuf, (unsigned long long)s->tx_zero,
		 (unsigned long long)s->tx_runt, (unsigned long long)s->tx_oversize,
		 (unsigned long long)s->tx_badhdr, (unsigned long long)s->tx_nolink,
		 (unsigned long long)s->tx_err, (unsigned long long)s->rx_paused, n->rx_count,
		 (unsigned long long)s->connects, (unsigned long long)s->refused,
		 (unsigned long long)s->disconnects);
	pthread_mutex_unlock(&n->lock);
}

/* "52:54:00:12:34:56": six hex pairs; a multicast address is refused. */
static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned i;

	for (i = 0; i < 6; i++) {
		char hex[3];
		char *end;
		unsigned long v;

		if (s[0] == '\0' || s[1] == '\0')
			return -EINVAL;
		hex[0] = s[0];
		hex[1] = s[1];
		hex[2] = '\0';
		v = strtoul(hex, &end, 16);
		if (*end != '\0')
			return -EINVAL;
		mac[i] = (uint8_t)v;
		s += 2;
		if (i < 5 && *s++ != ':')
			return -EINVAL;
	}
	if (*s != '\0' || (mac[0] & 1u) != 0)
		return -EINVAL;
	return 0;
}

/* Default MAC: QEMU's locally administered 52:54:00 prefix + a hash of region.device. */
static void default_mac(const char *region, const char *dev, uint8_t mac[6])
{
	uint32_t h = 2166136261u; /* FNV-1a */
	const char *p;

	for (p = region; *p != '\0'; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	h = (h ^ '.') * 16777619u;
	for (p = dev; *p != '\0'; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	mac[0] = 0x52;
	mac[1] = 0x54;
	mac[2] = 0x00;
	mac[3] = (uint8_t)(h >> 16);
	mac[4] = (uint8_t)(h >> 8);
	mac[5] = (uint8_t)h;
}

static int net_create_inner(struct hvl_pmm *pmm, struct hvl_pmm_region *rg,
			    const struct hvl_pmm_dev_config *cfg, struct hvl_dev *dev,
			    struct hvl_dev_static *st, const struct hvl_dev_ops **ops, void **priv)
{
	const char *backend = hvl_pmm_dev_opt(cfg, "backend");
	const char *path = hvl_pmm_dev_opt(cfg, "path");
	const char *mode = hvl_pmm_dev_opt(cfg, "mode");
	const char *mac = hvl_pmm_dev_opt(cfg, "mac");
	const char *mtu = hvl_pmm_dev_opt(cfg, "mtu");
	unsigned cap = NET_IOV_MIN, q;
	struct net *n;
	int rc;

	n = calloc(1, sizeof(*n));
	if (n == NULL)
		return -ENOMEM;
	n->pmm = pmm;
	n->log = &pmm->log;
	n->dev = dev;
	snprintf(n->name, sizeof(n->name), "%s", cfg->name);
	n->fd = n->listen_fd = n->timer_fd = -1;
	pthread_mutex_init(&n->lock, NULL);
	*priv = n; /* net_create() destroys it again on failure */

	if (st->num_queues != HVL_NET_NUM_QUEUES) {
		net_log(n, HVL_LOG_ERROR, "needs exactly 2 queues (one pair, no control queue), has %u",
			st->num_queues);
		return -EINVAL;
	}
	n->mtu = HVL_NET_MTU_DEFAULT;
	if (mtu != NULL) {
		uint64_t v;

		if (hvl_pmm_parse_u64(mtu, &v) != 0 || v < HVL_NET_MTU_MIN || v > HVL_NET_MTU_MAX) {
			net_log(n, HVL_LOG_ERROR, "mtu = %s: a number from %u to %u", mtu,
				HVL_NET_MTU_MIN, HVL_NET_MTU_MAX);
			return -EINVAL;
		}
		n->mtu = (uint16_t)v;
	}
	n->max_frame = HVL_NET_MAX_FRAME(n->mtu);
	n->slot_size = n->max_frame + 1u;
	if (mac != NULL) {
		if (parse_mac(mac, n->config.mac) != 0) {
			net_log(n, HVL_LOG_ERROR, "mac = %s: six hex pairs like 52:54:00:12:34:56, "
				"not multicast", mac);
			return -EINVAL;
		}
	} else {
		default_mac(rg->cfg->name, cfg->name, n->config.mac);
	}
	for (q = 0; q < HVL_NET_NUM_QUEUES; q++)
		if (st->queue_num_max[q] > cap)
			cap = st->queue_num_max[q];
	n->slots = malloc((size_t)NET_RX_SLOTS * n->slot_size);
	n->tbuf = malloc(NET_TBUF_SIZE); /* >= 4 + the largest frame (65535) */
	n->txc.iov = calloc(cap, sizeof(*n->txc.iov));
	n->rxc.iov = calloc(cap, sizeof(*n->rxc.iov));
	if (n->slots == NULL || n->tbuf == NULL || n->txc.iov == NULL || n->rxc.iov == NULL)
		return -ENOMEM;
	n->txc.cap = n->rxc.cap = cap;

	if (backend != NULL && strcmp(backend, "tap") == 0) {
		n->kind = NET_TAP;
		rc = net_setup_tap(n, hvl_pmm_dev_opt(cfg, "ifname"));
	} else if (backend != NULL && strcmp(backend, "stream") == 0) {
		int listen_mode = 1;

		if (path == NULL || path[0] == '\0') {
			net_log(n, HVL_LOG_ERROR, "backend stream needs a path");
			return -EINVAL;
		}
		if (mode != NULL && strcmp(mode, "connect") == 0) {
			listen_mode = 0;
		} else if (mode != NULL && strcmp(mode, "listen") != 0) {
			net_log(n, HVL_LOG_ERROR, "mode = %s: listen or connect", mode);
			return -EINVAL;
		}
		n->kind = NET_STREAM;
		rc = net_setup_stream(n, path, listen_mode);
	} else {
		net_log(n, HVL_LOG_ERROR, "backend = %s: tap or stream", backend != NULL ? backend : "(unset)");
		return -EINVAL;
	}
	if (rc != 0)
		return rc;

	/* §5.1.4: one pair; status as the backend is now (re-published at DRIVER_OK). */
	n->link_published = n->link ? (uint16_t)HVL_NET_S_LINK_UP : 0u;
	hvl_le16_put(&n->config.status, n->link_published);
	hvl_le16_put(&n->config.max_virtqueue_pairs, 1);
	hvl_le16_put(&n->config.mtu, n->mtu);
	st->config = &n->config;
	st->config_size = sizeof(n->config);
	/* No CSUM/GSO/MRG_RXBUF/CTRL_VQ: every frame whole, headers all zero. */
	st->features = HVL_F_VERSION_1 | HVL_F_EVENT_IDX | HVL_F_INDIRECT_DESC | HVL_NET_F_MAC |
		       HVL_NET_F_MTU | HVL_NET_F_STATUS;
	*ops = &net_ops;
	net_log(n, HVL_LOG_INFO, "mac %02x:%02x:%02x:%02x:%02x:%02x", n->config.mac[0],
		n->config.mac[1], n->config.mac[2], n->config.mac[3], n->config.mac[4],
		n->config.mac[5]);
	return 0;
}

static int net_create(struct hvl_pmm *pmm, struct hvl_pmm_region *rg,
		      const struct hvl_pmm_dev_config *cfg, struct hvl_dev *dev,
		      struct hvl_dev_static *st, const struct hvl_dev_ops **ops, void **priv)
{
	int rc;

	*priv = NULL;
	rc = net_create_inner(pmm, rg, cfg, dev, st, ops, priv);
	if (rc != 0) {
		/* The region forgets a backend whose create() failed: clean up here. */
		net_destroy(*priv);
		*priv = NULL;
	}
	return rc;
}

const struct hvl_pmm_backend hvl_pmm_net_backend = {
	.type = "net",
	.create = net_create,
	.destroy = net_destroy,
	.stats = net_stats_line,
};

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio network driver for the remote core (virtio 1.2 §5.1): one queue
 * pair, no offloads, no merged receive buffers.
 *
 * Every receive buffer holds the 12-byte virtio header (VERSION_1 always
 * has num_buffers, §5.1.6) and a whole frame of MTU + 14 + 4 bytes, so the
 * PMM never has to split a frame (§5.1.6.3.1).  Transmit buffers are the
 * same size; a frame is written straight into one (hvl_net_tx_reserve) or
 * copied (hvl_net_send), behind a zeroed header.  Each buffer has exactly
 * one owner at a time: the free list, the ring, or the caller (a reserved
 * transmit buffer, a received frame during its callback).
 *
 * What the PMM returns is checked: the ring checks ids and lengths, we
 * check the header (num_buffers 1, no flags, GSO none) and the frame
 * length; anything else is dropped and counted, and the buffer re-posted.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hvl/net.h"

size_t hvl_net_storage_size(uint16_t qsize)
{
	return HVL_NET_STORAGE(qsize);
}

static uint64_t net_now(const struct hvl_net *n)
{
	return hvl_remote_now(n->vdev.r);
}

int hvl_net_broken(const struct hvl_net *n)
{
	if (n == NULL || n->is_open == 0u)
		return 1;
	if (hvl_vdev_live(&n->vdev) == 0)
		return 1;
	return (hvl_vq_drv_broken(&n->rxq) != 0 || hvl_vq_drv_broken(&n->txq) != 0) ? 1 : 0;
}

/* Entry check of every data call: -EBADF if not open, -EIO if broken. */
static int net_check(const struct hvl_net *n)
{
	if (n == NULL || n->is_open == 0u)
		return -EBADF;
	return (hvl_net_broken(n) != 0) ? -EIO : 0;
}

/*
 * Wait until @vq has a used entry, the deadline passes or the device
 * breaks; interrupts enabled only around the sleep (§2.7.7 order: enable,
 * look again, then sleep).  Bounded by the deadline.
 */
static int net_wait_used(struct hvl_net *n, struct hvl_vq_drv *vq, uint64_t start,
			 uint32_t timeout_ms)
{
	/* Both rings count: the one we wait on is checked by the helper. */
	if (hvl_net_broken(n) != 0)
		return -EIO;
	return hvl_vdev_wait_used(&n->vdev, vq, start, timeout_ms);
}

/* Post receive buffer @b, device-writable, header + a whole frame (§5.1.6.3). */
static int rx_post(struct hvl_net *n, struct hvl_net_buf *b)
{
	struct hvl_sg sg;

	sg.addr = b->bus;
	sg.len = n->buf_size;
	return hvl_vq_drv_add(&n->rxq, &sg, 0u, 1u, b);
}

/* Take back every transmit buffer the PMM is done with. */
static int tx_reclaim(struct hvl_net *n)
{
	uint16_t i;

	for (i = 0u; i < n->ntx; i++) {
		uint32_t ulen = 0u;
		const struct hvl_net_buf *b = hvl_vq_drv_get_used(&n->txq, &ulen);
		size_t idx;

		if (b == NULL)
			break;
		idx = (size_t)(b - n->tx);
		if (idx >= n->ntx || n->tx_nfree >= n->ntx)
			return -EIO;
		n->tx_free[n->tx_nfree] = (uint8_t)idx;
		n->tx_nfree++;
	}
	return (hvl_vq_drv_broken(&n->txq) != 0) ? -EIO : 0;
}

/* Split @storage between the two rings and set them up at their static locations. */
static int net_setup_queues(struct hvl_net *n, void *storage, size_t len)
{
	uint16_t n0 = hvl_le16_once(&n->vdev.ext->queue[HVL_NET_RXQ].num);
	uint16_t n1 = hvl_le16_once(&n->vdev.ext->queue[HVL_NET_TXQ].num);
	size_t len0 = HVL_VQ_DRV_STORAGE(n0);
	size_t len1 = HVL_VQ_DRV_STORAGE(n1);
	uint8_t *s0 = storage;
	size_t pad;
	int rc;

	/* Deviation (MISRA 11.4): the address is only inspected for alignment. */
	pad = (size_t)((uintptr_t)(s0 + len0) % HVL_NET_STORAGE_ALIGN);
	pad = (pad == 0u) ? 0u : HVL_NET_STORAGE_ALIGN - pad;
	if (len0 > len || pad > len - len0 || len1 > len - len0 - pad)
		return -ENOSPC;
	rc = hvl_vdev_queue_static(&n->vdev, HVL_NET_RXQ, &n->rxq, s0, len0);
	if (rc == 0)
		rc = hvl_vdev_queue_static(&n->vdev, HVL_NET_TXQ, &n->txq, s0 + len0 + pad, len1);
	return rc;
}

/* Read MAC and MTU once from config space (§5.1.4) and check them. */
static int net_read_config(struct hvl_net *n)
{
	static const uint8_t fallback[6] = { 0x02u, 0x00u, 0x00u, 0x00u, 0x00u, 0x01u };
	hvl_le16 mtu;
	int rc;

	(void)memcpy(n->mac, fallback, sizeof(n->mac));
	n->mtu = (uint16_t)HVL_NET_MTU_DEFAULT;
	if ((n->vdev.features & HVL_NET_F_MAC) != 0u) {
		rc = hvl_vdev_config_read(&n->vdev, HVL_NET_CFG_MAC, n->mac, 6u);
		if (rc != 0)
			return rc;
	}
	if ((n->vdev.features & HVL_NET_F_MTU) != 0u) {
		rc = hvl_vdev_config_read(&n->vdev, HVL_NET_CFG_MTU, &mtu, 2u);
		if (rc != 0)
			return rc;
		n->mtu = hvl_le16_get(&mtu);
		if (n->mtu < HVL_NET_MTU_MIN || n->mtu > HVL_NET_MTU_MAX)
			return -EPROTO;
	}
	n->max_frame = HVL_NET_MAX_FRAME(n->mtu);
	/* Header + whole frame, rounded up so every buffer stays aligned. */
	n->buf_size = (HVL_NET_HDR_SIZE + n->max_frame + HVL_NET_STORAGE_ALIGN - 1u) &
		      ~(HVL_NET_STORAGE_ALIGN - 1u);
	return 0;
}

/*
 * Carve up to HVL_NET_RX_BUFS + HVL_NET_TX_BUFS buffers from the data area,
 * never more than a queue has entries, fewer (down to one each) if small.
 */
static int net_carve(struct hvl_net *n)
{
	void *local;
	uint64_t bus, size;
	uint16_t nrx = HVL_NET_RX_BUFS, ntx = HVL_NET_TX_BUFS, i;
	uint8_t *p;

	hvl_vdev_data_area(&n->vdev, &local, &bus, &size);
	if (n->rxq.num < nrx)
		nrx = n->rxq.num;
	if (n->txq.num < ntx)
		ntx = n->txq.num;
	/* Bounded: each pass drops one buffer. */
	while (((uint64_t)nrx + ntx) * n->buf_size > size) {
		if (nrx <= 1u && ntx <= 1u)
			return -ENOSPC;
		if (nrx >= ntx && nrx > 1u)
			nrx--;
		else
			ntx--;
	}
	p = local;
	for (i = 0u; i < nrx; i++) {
		n->rx[i].local = p;
		n->rx[i].bus = bus;
		p += n->buf_size;
		bus += n->buf_size;
	}
	for (i = 0u; i < ntx; i++) {
		n->tx[i].local = p;
		n->tx[i].bus = bus;
		p += n->buf_size;
		bus += n->buf_size;
		n->tx_free[i] = (uint8_t)(ntx - 1u - i);
	}
	n->nrx = nrx;
	n->ntx = ntx;
	n->tx_nfree = ntx;
	return 0;
}

int hvl_net_open(struct hvl_net *n, struct hvl_remote *r, uint32_t nth, void *storage, size_t len)
{
	uint16_t i;
	int rc;

	if (n == NULL || r == NULL || storage == NULL)
		return -EINVAL;
	(void)memset(n, 0, sizeof(*n));
	rc = hvl_remote_find(r, HVL_VIRTIO_ID_NET, nth, &n->vdev);
	if (rc != 0)
		return rc;
	/* §5.1.2: receiveq1 and transmitq1; no control queue is negotiated. */
	if (n->vdev.num_queues < HVL_NET_NUM_QUEUES)
		return -EPROTO;
	rc = hvl_vdev_begin(&n->vdev, HVL_F_EVENT_IDX | HVL_NET_F_MAC | HVL_NET_F_MTU |
				      HVL_NET_F_STATUS);
	if (rc == 0)
		rc = net_read_config(n);
	if (rc == 0)
		rc = net_setup_queues(n, storage, len);
	if (rc == 0)
		rc = net_carve(n);
	if (rc == 0)
		rc = hvl_vdev_driver_ok(&n->vdev);
	if (rc != 0) {
		(void)hvl_vdev_reset(&n->vdev);
		return rc;
	}
	n->is_open = 1u;
	hvl_vq_drv_disable_cb(&n->rxq);
	hvl_vq_drv_disable_cb(&n->txq);
	/* §5.1.6.3: fill the receiveq before expecting frames. */
	for (i = 0u; i < n->nrx; i++) {
		rc = rx_post(n, &n->rx[i]);
		if (rc != 0) {
			(void)hvl_net_close(n);
			return rc;
		}
	}
	hvl_vdev_kick(&n->vdev, HVL_NET_RXQ, &n->rxq);
	return 0;
}

int hvl_net_close(struct hvl_net *n)
{
	uint32_t i;
	int rc;

	if (n == NULL || n->is_open == 0u)
		return -EBADF;
	/* §2.1: after a reset the device holds none of our buffers. */
	rc = hvl_vdev_reset(&n->vdev);
	for (i = 0u; i < n->rxq.num; i++)
		if (hvl_vq_drv_detach_unused(&n->rxq) == NULL)
			break;
	for (i = 0u; i < n->txq.num; i++)
		if (hvl_vq_drv_detach_unused(&n->txq) == NULL)
			break;
	n->tx_nfree = 0u;
	n->tx_cur = NULL;
	n->is_open = 0u;
	return rc;
}

void hvl_net_mac(const struct hvl_net *n, uint8_t mac[6])
{
	if (n != NULL && mac != NULL)
		(void)memcpy(mac, n->mac, 6u);
}

uint16_t hvl_net_mtu(const struct hvl_net *n)
{
	return (n != NULL) ? n->mtu : 0u;
}

uint32_t hvl_net_max_frame(const struct hvl_net *n)
{
	return (n != NULL) ? n->max_frame : 0u;
}

int hvl_net_link_up(const struct hvl_net *n)
{
	hvl_le16 st;
	int rc = net_check(n);

	if (rc != 0)
		return rc;
	if ((n->vdev.features & HVL_NET_F_STATUS) == 0u)
		return 1; /* §5.1.4: without STATUS the link is assumed up */
	rc = hvl_vdev_config_read(&n->vdev, HVL_NET_CFG_STATUS, &st, 2u);
	if (rc != 0)
		return rc;
	return ((hvl_le16_get(&st) & HVL_NET_S_LINK_UP) != 0u) ? 1 : 0;
}

int hvl_net_tx_reserve(struct hvl_net *n, uint8_t **frame, uint32_t *cap, uint32_t timeout_ms)
{
	uint64_t start = 0u; /* the clock only before a wait */
	int started = 0;
	int rc = net_check(n);

	if (rc != 0)
		return rc;
	if (frame == NULL || cap == NULL)
		return -EINVAL;
	if (n->tx_cur != NULL)
		return -EBUSY;
	for (;;) {
		rc = tx_reclaim(n);
		if (rc != 0)
			return rc;
		if (n->tx_nfree > 0u) {
			n->tx_nfree--;
			n->tx_cur = &n->tx[n->tx_free[n->tx_nfree]];
			*frame = &n->tx_cur->local[HVL_NET_HDR_SIZE];
			*cap = n->max_frame;
			return 0;
		}
		if (started == 0) {
			start = net_now(n);
			started = 1;
		}
		rc = net_wait_used(n, &n->txq, start, timeout_ms);
		if (rc == -ETIMEDOUT && timeout_ms == 0u)
			return -EAGAIN;
		if (rc != 0)
			return rc;
	}
}

int hvl_net_tx_commit(struct hvl_net *n, uint32_t len)
{
	struct hvl_net_buf *b;
	struct hvl_sg sg;
	int rc = net_check(n);

	if (rc != 0)
		return rc;
	b = n->tx_cur;
	if (b == NULL || len < HVL_NET_ETH_HLEN || len > n->max_frame)
		return -EINVAL;
	/* §5.1.6.2: no offloads negotiated, so the header is all zero (num_buffers unused). */
	(void)memset(b->local, 0, HVL_NET_HDR_SIZE);
	/* The PMM must see the frame before the descriptor (non-coherent memory). */
	hvl_cache_flush(n->vdev.r->cfg.cache, n->vdev.r->cfg.cache_ctx, b->local,
			HVL_NET_HDR_SIZE + len);
	sg.addr = b->bus;
	sg.len = HVL_NET_HDR_SIZE + len;
	rc = hvl_vq_drv_add(&n->txq, &sg, 1u, 0u, b);
	if (rc != 0)
		return -EIO; /* we own every descriptor: only a broken ring fails */
	n->tx_cur = NULL;
	n->stats.tx_frames++;
	n->stats.tx_bytes += len;
	hvl_vdev_kick(&n->vdev, HVL_NET_TXQ, &n->txq);
	return 0;
}

int hvl_net_send(struct hvl_net *n, const void *frame, uint32_t len, uint32_t timeout_ms)
{
	uint8_t *dst = NULL;
	uint32_t cap = 0u;
	int rc;

	if (n != NULL && n->is_open != 0u && (len > n->max_frame))
		return -EMSGSIZE;
	if (frame == NULL || len < HVL_NET_ETH_HLEN)
		return -EINVAL;
	rc = hvl_net_tx_reserve(n, &dst, &cap, timeout_ms);
	if (rc != 0)
		return rc;
	(void)memcpy(dst, frame, len);
	return hvl_net_tx_commit(n, len);
}

/*
 * Take one used receive buffer and check what the PMM wrote.  Returns the
 * buffer with *@flen set, or NULL (none pending, or the ring broke).  Bad
 * ones are re-posted, counted, and the loop takes the next (bounded by nrx).
 */
static struct hvl_net_buf *rx_take(struct hvl_net *n, uint32_t *flen, int *reposted)
{
	uint16_t i;

	for (i = 0u; i < n->nrx; i++) {
		struct hvl_net_hdr h;
		uint32_t ulen = 0u;
		struct hvl_net_buf *b = hvl_vq_drv_get_used(&n->rxq, &ulen);

		if (b == NULL)
			return NULL;
		/* The ring checked ulen <= buf_size; the cookie is one of ours. */
		hvl_cache_invalidate(n->vdev.r->cfg.cache, n->vdev.r->cfg.cache_ctx, b->local, ulen);
		if (ulen > HVL_NET_HDR_SIZE) {
			(void)memcpy(&h, b->local, sizeof(h)); /* one read of the header */
			*flen = ulen - HVL_NET_HDR_SIZE;
			if (hvl_le16_get(&h.num_buffers) == 1u && h.flags == 0u &&
			    h.gso_type == HVL_NET_HDR_GSO_NONE && *flen >= HVL_NET_ETH_HLEN &&
			    *flen <= n->max_frame)
				return b;
		}
		n->stats.rx_dropped++;
		if (rx_post(n, b) != 0)
			return NULL;
		*reposted = 1;
	}
	return NULL;
}

long hvl_net_recv(struct hvl_net *n, void *buf, size_t cap, uint32_t timeout_ms)
{
	uint64_t start = 0u; /* the clock only before a wait */
	int started = 0;
	int rc = net_check(n);

	if (rc != 0)
		return rc;
	if (buf == NULL)
		return -EINVAL;
	for (;;) {
		int reposted = 0;
		uint32_t flen = 0u;
		struct hvl_net_buf *b = rx_take(n, &flen, &reposted);
		long ret = 0;

		if (b != NULL) {
			if ((size_t)flen > cap) {
				n->stats.rx_toolong++;
				ret = -EMSGSIZE;
			} else {
				(void)memcpy(buf, &b->local[HVL_NET_HDR_SIZE], flen);
				n->stats.rx_frames++;
				n->stats.rx_bytes += flen;
				ret = (long)flen;
			}
			if (rx_post(n, b) != 0)
				ret = -EIO;
			reposted = 1;
		}
		if (reposted != 0)
			hvl_vdev_kick(&n->vdev, HVL_NET_RXQ, &n->rxq);
		if (ret != 0)
			return ret;
		if (hvl_vq_drv_broken(&n->rxq) != 0)
			return -EIO;
		if (timeout_ms == 0u)
			return -EAGAIN;
		if (started == 0) {
			start = net_now(n);
			started = 1;
		}
		rc = net_wait_used(n, &n->rxq, start, timeout_ms);
		if (rc != 0)
			return rc;
	}
}

void hvl_net_set_rx_cb(struct hvl_net *n, hvl_net_rx_fn fn, void *ctx)
{
	if (n != NULL) {
		n->rx_fn = fn;
		n->rx_ctx = ctx;
	}
}

int hvl_net_poll(struct hvl_net *n, unsigned budget)
{
	unsigned done = 0u;
	int reposted = 0, rc = net_check(n);

	if (rc != 0)
		return rc;
	rc = tx_reclaim(n);
	if (rc != 0)
		return rc;
	while (done < budget) {
		uint32_t flen = 0u;
		struct hvl_net_buf *b = rx_take(n, &flen, &reposted);

		if (b == NULL)
			break;
		n->stats.rx_frames++;
		n->stats.rx_bytes += flen;
		if (n->rx_fn != NULL)
			n->rx_fn(n->rx_ctx, &b->local[HVL_NET_HDR_SIZE], flen);
		/* The callback is done with the frame: the buffer goes back at once. */
		if (rx_post(n, b) != 0)
			break;
		reposted = 1;
		done++;
	}
	if (reposted != 0)
		hvl_vdev_kick(&n->vdev, HVL_NET_RXQ, &n->rxq);
	if (hvl_vq_drv_broken(&n->rxq) != 0)
		return -EIO;
	return (int)done;
}

int hvl_net_rx_arm(struct hvl_net *n)
{
	if (net_check(n) != 0)
		return 1; /* let the caller find the error without sleeping */
	return (hvl_vq_drv_enable_cb(&n->rxq) != 0) ? 1 : 0;
}

void hvl_net_rx_disarm(struct hvl_net *n)
{
	if (n != NULL && n->is_open != 0u) {
		hvl_vq_drv_disable_cb(&n->rxq);
		(void)hvl_vdev_interrupts(&n->vdev);
	}
}

int hvl_net_wait(struct hvl_net *n, uint32_t timeout_ms)
{
	int rc = net_check(n);

	if (rc != 0)
		return rc;
	return net_wait_used(n, &n->rxq, net_now(n), timeout_ms);
}

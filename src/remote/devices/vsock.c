/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio socket driver for the remote core (virtio 1.2 §5.10), stream
 * sockets only.
 *
 * Queues: receive buffers (header + up to HVL_VSOCK_PKT_PAYLOAD bytes) are
 * posted device-writable on queue 0; each packet that comes back is checked
 * (STYLE 10: the header is copied once, its len must fit the used length,
 * the CIDs must be host -> us, the type must be stream), its payload copied
 * into the socket's own receive ring, and the buffer is re-posted at once.
 * Because the ring is the credit we advertise (buf_alloc), data that obeys
 * flow control always fits; data that does not is a peer fault and resets
 * the connection.  Transmit packets are built in buffers of the same size
 * on queue 1; the event queue (2) brings the transport reset (§5.10.6.7).
 *
 * Control packets we owe (RESPONSE, CREDIT_UPDATE, SHUTDOWN, RST) are
 * recorded as pending bits and sent whenever a transmit buffer is free, so
 * nothing waits inside the packet handler.  All loops are bounded by the
 * table or ring sizes; every wait by a deadline.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hvl/vsock.h"

/* Pending control packets (hvl_vsock_sock.pend). */
#define PEND_REQUEST  1u
#define PEND_RESPONSE 2u
#define PEND_CREDIT   4u
#define PEND_SHUTDOWN 8u
#define PEND_RST      16u

#define VS_LONG_MAX ((size_t)(~0UL >> 1))

static uint64_t vs_now(const struct hvl_vsock *v)
{
	return hvl_remote_now(v->vdev.r);
}

int hvl_vsock_broken(const struct hvl_vsock *v)
{
	uint32_t st;

	if (v == NULL || v->is_open == 0u)
		return 1;
	st = hvl_vdev_status(&v->vdev);
	if ((st & (HVL_STATUS_DRIVER_OK | HVL_STATUS_DEVICE_NEEDS_RESET | HVL_STATUS_FAILED)) !=
	    HVL_STATUS_DRIVER_OK)
		return 1;
	return (hvl_vq_drv_broken(&v->rxq) != 0 || hvl_vq_drv_broken(&v->txq) != 0 ||
		hvl_vq_drv_broken(&v->evq) != 0) ? 1 : 0;
}

uint64_t hvl_vsock_cid(const struct hvl_vsock *v)
{
	return (v != NULL) ? v->cid : 0u;
}

/* The socket behind descriptor @sd, or NULL. */
static struct hvl_vsock_sock *sock_get(struct hvl_vsock *v, int sd)
{
	if (v == NULL || v->is_open == 0u || sd < 0 || (uint32_t)sd >= v->nsocks)
		return NULL;
	if (v->socks[sd].state == (uint8_t)HVL_VSOCK_S_FREE)
		return NULL;
	return &v->socks[sd];
}

static void sock_pend(struct hvl_vsock *v, struct hvl_vsock_sock *s, uint8_t bits)
{
	s->pend = (uint8_t)(s->pend | bits);
	v->any_pend = 1u;
}

static uint32_t peer_credit(const struct hvl_vsock_sock *s)
{
	uint32_t inflight = s->tx_cnt - s->peer_fwd_cnt;

	return (inflight >= s->peer_buf_alloc) ? 0u : s->peer_buf_alloc - inflight;
}

/* Free a slot; a listener's un-accepted children go with it (reset). */
static void sock_free(struct hvl_vsock *v, struct hvl_vsock_sock *s)
{
	uint32_t i, self = (uint32_t)(s - v->socks) + 1u;

	if (s->state == (uint8_t)HVL_VSOCK_S_LISTEN) {
		for (i = 0u; i < v->nsocks; i++) {
			struct hvl_vsock_sock *c = &v->socks[i];

			if (c->state != (uint8_t)HVL_VSOCK_S_FREE && c->parent == self && c->accepted == 0u) {
				c->parent = 0u;
				c->state = (uint8_t)HVL_VSOCK_S_CLOSING;
				c->pend = PEND_RST;
				c->deadline = 0u;
				v->any_pend = 1u;
			}
		}
	}
	if (s->parent != 0u && s->accepted == 0u && s->parent <= v->nsocks) {
		struct hvl_vsock_sock *l = &v->socks[s->parent - 1u];

		if (l->nqueued > 0u)
			l->nqueued--;
	}
	s->state = (uint8_t)HVL_VSOCK_S_FREE;
	s->pend = 0u;
}

/* Reset @s with error @err (RST received, transport reset, peer fault). */
static void sock_reset(struct hvl_vsock *v, struct hvl_vsock_sock *s, int32_t err)
{
	if (s->state == (uint8_t)HVL_VSOCK_S_CLOSING) {
		sock_free(v, s);
		return;
	}
	s->err = err;
	s->state = (uint8_t)HVL_VSOCK_S_CLOSED;
	s->pend = 0u;
}

static void queue_rst(struct hvl_vsock *v, uint32_t lport, uint32_t pport)
{
	struct hvl_vsock_rst *r;

	if (v->rst_count >= HVL_VSOCK_RST_QUEUE) {
		v->rst_dropped++;
		return;
	}
	r = &v->rst[(uint16_t)((v->rst_head + v->rst_count) % HVL_VSOCK_RST_QUEUE)];
	r->lport = lport;
	r->pport = pport;
	v->rst_count++;
}

/* Post receive buffer @b device-writable (§5.10.6.1). */
static int rx_post(struct hvl_vsock *v, struct hvl_vsock_buf *b)
{
	struct hvl_sg sg;

	sg.addr = b->bus;
	sg.len = HVL_VSOCK_BUF_SIZE;
	return hvl_vq_drv_add(&v->rxq, &sg, 0u, 1u, b);
}

static int ev_post(struct hvl_vsock *v, struct hvl_vsock_buf *b)
{
	struct hvl_sg sg;

	sg.addr = b->bus;
	sg.len = (uint32_t)sizeof(struct hvl_vsock_event);
	return hvl_vq_drv_add(&v->evq, &sg, 0u, 1u, b);
}

/* Take back every transmit buffer the device is done with. */
static int tx_reclaim(struct hvl_vsock *v)
{
	uint16_t i;

	for (i = 0u; i < v->ntx; i++) {
		uint32_t ulen = 0u;
		const struct hvl_vsock_buf *b = hvl_vq_drv_get_used(&v->txq, &ulen);
		size_t idx;

		if (b == NULL)
			break;
		idx = (size_t)(b - v->tx);
		if (idx >= v->ntx || v->tx_nfree >= v->ntx)
			return -EIO;
		v->tx_free[v->tx_nfree] = (uint8_t)idx;
		v->tx_nfree++;
	}
	return (hvl_vq_drv_broken(&v->txq) != 0) ? -EIO : 0;
}

/*
 * Build and post one packet to the host: header (+ @len bytes of @payload
 * for RW).  Needs a free transmit buffer: returns -EAGAIN if none, 0 when
 * posted (the caller kicks), -EIO if the ring broke.
 */
static int tx_packet(struct hvl_vsock *v, struct hvl_vsock_sock *s, uint32_t lport, uint32_t pport,
		     uint16_t op, uint32_t flags, const uint8_t *payload, uint32_t len)
{
	struct hvl_vsock_hdr h;
	struct hvl_vsock_buf *b;
	struct hvl_sg sg;

	if (v->tx_nfree == 0u)
		(void)tx_reclaim(v);
	if (v->tx_nfree == 0u)
		return -EAGAIN;
	b = &v->tx[v->tx_free[v->tx_nfree - 1u]];
	(void)memset(&h, 0, sizeof(h));
	hvl_le64_put(&h.src_cid, v->cid);
	hvl_le64_put(&h.dst_cid, HVL_VSOCK_CID_HOST);
	hvl_le32_put(&h.src_port, lport);
	hvl_le32_put(&h.dst_port, pport);
	hvl_le32_put(&h.len, len);
	hvl_le16_put(&h.type, (uint16_t)HVL_VSOCK_TYPE_STREAM);
	hvl_le16_put(&h.op, op);
	hvl_le32_put(&h.flags, flags);
	if (s != NULL) {
		/* §5.10.6.3: every packet tells the peer our buffer and progress. */
		hvl_le32_put(&h.buf_alloc, s->rcap);
		hvl_le32_put(&h.fwd_cnt, s->fwd_cnt);
		s->fwd_adv = s->fwd_cnt;
	}
	(void)memcpy(b->local, &h, HVL_VSOCK_HDR_SIZE);
	if (len > 0u)
		(void)memcpy(&b->local[HVL_VSOCK_HDR_SIZE], payload, len);
	hvl_cache_flush(v->vdev.r->cfg.cache, v->vdev.r->cfg.cache_ctx, b->local,
			HVL_VSOCK_HDR_SIZE + len);
	sg.addr = b->bus;
	sg.len = HVL_VSOCK_HDR_SIZE + len;
	/* §5.10.6.2: transmit buffers are device-readable only. */
	if (hvl_vq_drv_add(&v->txq, &sg, 1u, 0u, b) != 0)
		return -EIO;
	v->tx_nfree--;
	v->pkts_out++;
	return 0;
}

/* Send what we owe: queued RSTs, then each socket's pending control packets. */
static int flush_pending(struct hvl_vsock *v)
{
	uint32_t i;
	int sent = 0, rc = 0;

	while (v->rst_count > 0u && rc == 0) {
		const struct hvl_vsock_rst *r = &v->rst[v->rst_head];

		rc = tx_packet(v, NULL, r->lport, r->pport, (uint16_t)HVL_VSOCK_OP_RST, 0u, NULL, 0u);
		if (rc == 0) {
			v->rst_head = (uint16_t)((v->rst_head + 1u) % HVL_VSOCK_RST_QUEUE);
			v->rst_count--;
			sent = 1;
		}
	}
	if (v->any_pend != 0u && rc == 0) {
		uint8_t left = 0u;

		for (i = 0u; i < v->nsocks; i++) {
			struct hvl_vsock_sock *s = &v->socks[i];
			uint16_t op;
			uint8_t bit;
			uint32_t flags = 0u;

			/* At most one packet per kind and socket: bounded by 5 * nsocks. */
			while (s->pend != 0u && rc == 0) {
				if ((s->pend & PEND_RST) != 0u) {
					bit = PEND_RST;
					op = (uint16_t)HVL_VSOCK_OP_RST;
				} else if ((s->pend & PEND_REQUEST) != 0u) {
					bit = PEND_REQUEST;
					op = (uint16_t)HVL_VSOCK_OP_REQUEST;
				} else if ((s->pend & PEND_RESPONSE) != 0u) {
					bit = PEND_RESPONSE;
					op = (uint16_t)HVL_VSOCK_OP_RESPONSE;
				} else if ((s->pend & PEND_CREDIT) != 0u) {
					bit = PEND_CREDIT;
					op = (uint16_t)HVL_VSOCK_OP_CREDIT_UPDATE;
				} else {
					bit = PEND_SHUTDOWN;
					op = (uint16_t)HVL_VSOCK_OP_SHUTDOWN;
					flags = s->local_shut;
				}
				rc = tx_packet(v, s, s->lport, s->pport, op, flags, NULL, 0u);
				if (rc == 0) {
					s->pend = (uint8_t)(s->pend & (uint8_t)~bit);
					sent = 1;
					if (bit == PEND_RST && s->state == (uint8_t)HVL_VSOCK_S_CLOSING)
						sock_free(v, s);
				}
			}
			left = (uint8_t)(left | s->pend);
		}
		v->any_pend = (left != 0u) ? 1u : 0u;
	}
	if (sent != 0)
		hvl_vdev_kick(&v->vdev, HVL_VSOCK_TXQ, &v->txq);
	return (rc == -EIO) ? -EIO : 0;
}

/* Connected socket for a packet from host port @src to our port @dst. */
static struct hvl_vsock_sock *sock_find(struct hvl_vsock *v, uint32_t dst, uint32_t src)
{
	uint32_t i;

	for (i = 0u; i < v->nsocks; i++) {
		struct hvl_vsock_sock *s = &v->socks[i];

		if ((s->state == (uint8_t)HVL_VSOCK_S_CONNECTING ||
		     s->state == (uint8_t)HVL_VSOCK_S_ESTABLISHED ||
		     s->state == (uint8_t)HVL_VSOCK_S_CLOSING) &&
		    s->lport == dst && s->pport == src)
			return s;
	}
	return NULL;
}

/*
 * Take the peer's credit fields.  Its fwd_cnt may not move back or past
 * what we sent (that would fake credit); returns -1 on such a fault.
 */
static int credit_take(struct hvl_vsock_sock *s, const struct hvl_vsock_hdr *h)
{
	uint32_t fwd = hvl_le32_get(&h->fwd_cnt);

	if ((s->tx_cnt - fwd) > (s->tx_cnt - s->peer_fwd_cnt))
		return -1;
	s->peer_fwd_cnt = fwd;
	s->peer_buf_alloc = hvl_le32_get(&h->buf_alloc);
	return 0;
}

/* A REQUEST from the host for our port @dst: queue it on the listener. */
static void on_request(struct hvl_vsock *v, const struct hvl_vsock_hdr *h, uint32_t dst, uint32_t src)
{
	struct hvl_vsock_sock *l = NULL, *c = NULL;
	uint32_t i;

	for (i = 0u; i < v->nsocks && l == NULL; i++)
		if (v->socks[i].state == (uint8_t)HVL_VSOCK_S_LISTEN && v->socks[i].lport == dst)
			l = &v->socks[i];
	if (l == NULL || l->nqueued >= l->backlog) {
		queue_rst(v, dst, src); /* nobody listens, or the backlog is full */
		return;
	}
	for (i = 0u; i < v->nsocks && c == NULL; i++)
		if (v->socks[i].state == (uint8_t)HVL_VSOCK_S_FREE)
			c = &v->socks[i];
	if (c == NULL) {
		queue_rst(v, dst, src);
		return;
	}
	{
		uint8_t *rb = c->rbuf;
		uint32_t cap = c->rcap;

		(void)memset(c, 0, sizeof(*c));
		c->rbuf = rb;
		c->rcap = cap;
	}
	c->state = (uint8_t)HVL_VSOCK_S_ESTABLISHED;
	c->lport = dst;
	c->pport = src;
	c->parent = (uint16_t)((uint32_t)(l - v->socks) + 1u);
	c->peer_buf_alloc = hvl_le32_get(&h->buf_alloc);
	c->peer_fwd_cnt = hvl_le32_get(&h->fwd_cnt);
	c->tx_cnt = c->peer_fwd_cnt; /* nothing in flight yet */
	l->nqueued++;
	sock_pend(v, c, PEND_RESPONSE);
}

/* Copy @len payload bytes into @s's receive ring (the credit check made room). */
static void rx_store(struct hvl_vsock_sock *s, const uint8_t *p, uint32_t len)
{
	uint32_t tail = (s->rhead + s->rcount) % s->rcap;
	uint32_t first = s->rcap - tail;

	if (first > len)
		first = len;
	(void)memcpy(&s->rbuf[tail], p, first);
	if (len > first)
		(void)memcpy(s->rbuf, &p[first], len - first);
	s->rcount += len;
	s->rx_cnt += len;
}

/* One packet from the host, in a used receive buffer of @ulen bytes. */
static void on_packet(struct hvl_vsock *v, const uint8_t *pkt, uint32_t ulen)
{
	struct hvl_vsock_hdr h;
	struct hvl_vsock_sock *s;
	uint32_t len, src, dst;
	uint16_t op;

	v->pkts_in++;
	if (ulen < HVL_VSOCK_HDR_SIZE) {
		v->bad_pkts++;
		return;
	}
	/* Read the header once; every check looks at the copy (STYLE 7). */
	(void)memcpy(&h, pkt, HVL_VSOCK_HDR_SIZE);
	len = hvl_le32_get(&h.len);
	src = hvl_le32_get(&h.src_port);
	dst = hvl_le32_get(&h.dst_port);
	op = hvl_le16_get(&h.op);
	if (len > ulen - HVL_VSOCK_HDR_SIZE || hvl_le64_get(&h.src_cid) != HVL_VSOCK_CID_HOST ||
	    hvl_le64_get(&h.dst_cid) != v->cid) {
		v->bad_pkts++;
		return;
	}
	if (hvl_le16_get(&h.type) != (uint16_t)HVL_VSOCK_TYPE_STREAM) {
		v->bad_pkts++;
		if (op != (uint16_t)HVL_VSOCK_OP_RST)
			queue_rst(v, dst, src);
		return;
	}
	s = sock_find(v, dst, src);
	if (op == (uint16_t)HVL_VSOCK_OP_REQUEST) {
		if (s != NULL)
			queue_rst(v, dst, src);
		else
			on_request(v, &h, dst, src);
		return;
	}
	if (s == NULL) {
		/* §5.10.6.4: unknown connection; never answer an RST. */
		if (op != (uint16_t)HVL_VSOCK_OP_RST)
			queue_rst(v, dst, src);
		return;
	}
	if (op == (uint16_t)HVL_VSOCK_OP_RST) {
		int32_t err = ECONNRESET;

		if (s->state == (uint8_t)HVL_VSOCK_S_CONNECTING)
			err = ECONNREFUSED;
		else if ((s->peer_shut & HVL_VSOCK_SHUTDOWN_SEND) != 0u &&
			 (s->local_shut & HVL_VSOCK_SHUTDOWN_SEND) != 0u)
			err = 0; /* §5.10.6.5: both sides shut down, RST is the clean end */
		sock_reset(v, s, err);
		return;
	}
	if (credit_take(s, &h) != 0) {
		v->bad_pkts++;
		sock_reset(v, s, ECONNRESET);
		queue_rst(v, dst, src);
		return;
	}
	switch (op) {
	case HVL_VSOCK_OP_RESPONSE:
		if (s->state == (uint8_t)HVL_VSOCK_S_CONNECTING)
			s->state = (uint8_t)HVL_VSOCK_S_ESTABLISHED;
		break;
	case HVL_VSOCK_OP_RW:
		if (s->state == (uint8_t)HVL_VSOCK_S_CLOSING ||
		    (s->local_shut & HVL_VSOCK_SHUTDOWN_RCV) != 0u) {
			break; /* we read no more: drop (the peer was told) */
		}
		if (len > s->rcap - s->rcount || (s->peer_shut & HVL_VSOCK_SHUTDOWN_SEND) != 0u) {
			/* More than our credit, or data after its EOF: a peer fault. */
			v->bad_pkts++;
			sock_reset(v, s, ECONNRESET);
			queue_rst(v, dst, src);
			break;
		}
		rx_store(s, &pkt[HVL_VSOCK_HDR_SIZE], len);
		v->bytes_in += len;
		break;
	case HVL_VSOCK_OP_SHUTDOWN:
		s->peer_shut = (uint8_t)(s->peer_shut |
					 (hvl_le32_get(&h.flags) & HVL_VSOCK_SHUT_RDWR));
		break;
	case HVL_VSOCK_OP_CREDIT_REQUEST:
		sock_pend(v, s, PEND_CREDIT);
		break;
	case HVL_VSOCK_OP_CREDIT_UPDATE:
		break; /* credit_take() did it */
	default:
		v->bad_pkts++;
		break;
	}
}

/* The transport reset (§5.10.6.7): every connection is gone; listeners stay. */
static void on_transport_reset(struct hvl_vsock *v)
{
	uint32_t i;

	v->resets++;
	for (i = 0u; i < v->nsocks; i++) {
		struct hvl_vsock_sock *s = &v->socks[i];

		if (s->state == (uint8_t)HVL_VSOCK_S_CONNECTING ||
		    s->state == (uint8_t)HVL_VSOCK_S_ESTABLISHED ||
		    s->state == (uint8_t)HVL_VSOCK_S_CLOSING)
			sock_reset(v, s, ECONNRESET);
	}
	v->rst_count = 0u;
	/* §5.10.6.7: the CID may have changed. */
	{
		hvl_le64 cid;

		if (hvl_vdev_config_read(&v->vdev, HVL_VSOCK_CFG_GUEST_CID, &cid, sizeof(cid)) == 0)
			v->cid = hvl_le64_get(&cid);
	}
}

/* Close sockets whose peer never sent the final RST. */
static void check_closing(struct hvl_vsock *v)
{
	uint64_t now = vs_now(v);
	uint32_t i;

	for (i = 0u; i < v->nsocks; i++) {
		struct hvl_vsock_sock *s = &v->socks[i];

		if (s->state == (uint8_t)HVL_VSOCK_S_CLOSING && s->pend == 0u && now >= s->deadline)
			sock_pend(v, s, PEND_RST); /* freed once the RST is posted */
	}
}

int hvl_vsock_pump(struct hvl_vsock *v)
{
	uint32_t i;
	int reposted = 0;

	if (v == NULL || v->is_open == 0u)
		return -EBADF;
	if (hvl_vsock_broken(v) != 0)
		return -EIO;
	/* Receive: at most one pass over the posted buffers. */
	for (i = 0u; i < v->nrx; i++) {
		uint32_t ulen = 0u;
		struct hvl_vsock_buf *b = hvl_vq_drv_get_used(&v->rxq, &ulen);

		if (b == NULL)
			break;
		hvl_cache_invalidate(v->vdev.r->cfg.cache, v->vdev.r->cfg.cache_ctx, b->local, ulen);
		on_packet(v, b->local, ulen);
		if (rx_post(v, b) != 0)
			return -EIO;
		reposted = 1;
	}
	if (reposted != 0)
		hvl_vdev_kick(&v->vdev, HVL_VSOCK_RXQ, &v->rxq);
	for (i = 0u; i < HVL_VSOCK_EV_BUFS; i++) {
		uint32_t ulen = 0u;
		struct hvl_vsock_buf *b = hvl_vq_drv_get_used(&v->evq, &ulen);
		hvl_le32 id;

		if (b == NULL)
			break;
		if (ulen >= sizeof(id)) {
			(void)memcpy(&id, b->local, sizeof(id));
			if (hvl_le32_get(&id) == HVL_VSOCK_EVENT_TRANSPORT_RESET)
				on_transport_reset(v);
		}
		if (ev_post(v, b) != 0)
			return -EIO;
		hvl_vdev_kick(&v->vdev, HVL_VSOCK_EVQ, &v->evq);
	}
	if (tx_reclaim(v) != 0)
		return -EIO;
	check_closing(v);
	if (flush_pending(v) != 0)
		return -EIO;
	return (hvl_vsock_broken(v) != 0) ? -EIO : 0;
}

/*
 * Sleep until the device used something on any queue or @deadline passes.
 * Interrupts are enabled only around the sleep, after a last look (the
 * race-free order of §2.7.7); the doorbell is shared, so callers re-check.
 */
static int vs_wait(struct hvl_vsock *v, uint64_t deadline)
{
	uint64_t now = vs_now(v);
	int more;

	if (now >= deadline)
		return -ETIMEDOUT;
	more = hvl_vq_drv_enable_cb(&v->rxq);
	more |= hvl_vq_drv_enable_cb(&v->txq);
	more |= hvl_vq_drv_enable_cb(&v->evq);
	if (more == 0)
		(void)hvl_remote_wait(v->vdev.r, (uint32_t)(deadline - now));
	hvl_vq_drv_disable_cb(&v->rxq);
	hvl_vq_drv_disable_cb(&v->txq);
	hvl_vq_drv_disable_cb(&v->evq);
	(void)hvl_vdev_interrupts(&v->vdev);
	return 0;
}

/* Deadline for @timeout_ms from now, saturating. */
static uint64_t vs_deadline(const struct hvl_vsock *v, uint32_t timeout_ms)
{
	return vs_now(v) + timeout_ms;
}

int hvl_vsock_socket(struct hvl_vsock *v)
{
	uint32_t i;

	if (v == NULL || v->is_open == 0u)
		return -EBADF;
	(void)hvl_vsock_pump(v); /* may free slots whose RST arrived */
	for (i = 0u; i < v->nsocks; i++) {
		struct hvl_vsock_sock *s = &v->socks[i];

		if (s->state == (uint8_t)HVL_VSOCK_S_FREE) {
			uint8_t *rb = s->rbuf;
			uint32_t cap = s->rcap;

			(void)memset(s, 0, sizeof(*s));
			s->rbuf = rb;
			s->rcap = cap;
			s->state = (uint8_t)HVL_VSOCK_S_CLOSED;
			return (int)i;
		}
	}
	return -EMFILE;
}

/* Is local port @port used by any socket? */
static int port_used(const struct hvl_vsock *v, uint32_t port)
{
	uint32_t i;

	for (i = 0u; i < v->nsocks; i++)
		if (v->socks[i].state != (uint8_t)HVL_VSOCK_S_FREE &&
		    v->socks[i].state != (uint8_t)HVL_VSOCK_S_CLOSED && v->socks[i].lport == port)
			return 1;
	return 0;
}

int hvl_vsock_connect(struct hvl_vsock *v, int sd, uint32_t port, uint32_t timeout_ms)
{
	struct hvl_vsock_sock *s = sock_get(v, sd);
	uint64_t deadline;
	uint32_t tries;
	int rc;

	if (s == NULL)
		return -EBADF;
	if (s->state == (uint8_t)HVL_VSOCK_S_CONNECTING) {
		/* A non-blocking connect in progress: keep waiting for it. */
	} else if (s->state != (uint8_t)HVL_VSOCK_S_CLOSED || s->err != 0) {
		if (s->state == (uint8_t)HVL_VSOCK_S_CLOSED && s->err != 0) {
			rc = -s->err;
			s->err = 0;
			return rc;
		}
		return -EISCONN;
	} else {
		/* An ephemeral port nobody uses; bounded by the table size. */
		for (tries = 0u; tries <= v->nsocks; tries++) {
			uint32_t p = v->next_port;

			v->next_port = (v->next_port >= 0xFFFFFFF0u) ? HVL_VSOCK_EPHEMERAL : v->next_port + 1u;
			if (port_used(v, p) == 0) {
				s->lport = p;
				break;
			}
		}
		s->pport = port;
		s->tx_cnt = 0u;
		s->peer_fwd_cnt = 0u;
		s->state = (uint8_t)HVL_VSOCK_S_CONNECTING;
		sock_pend(v, s, PEND_REQUEST);
	}
	deadline = vs_deadline(v, timeout_ms);
	for (;;) {
		rc = hvl_vsock_pump(v);
		if (rc != 0)
			return rc;
		if (s->state == (uint8_t)HVL_VSOCK_S_ESTABLISHED)
			return 0;
		if (s->state != (uint8_t)HVL_VSOCK_S_CONNECTING) {
			rc = (s->err != 0) ? -s->err : -ECONNREFUSED;
			s->err = 0;
			return rc;
		}
		if (timeout_ms == 0u)
			return -EAGAIN;
		if (vs_wait(v, deadline) != 0) {
			/* Give up: RST so the host forgets the half-open connection. */
			sock_pend(v, s, PEND_RST);
			s->state = (uint8_t)HVL_VSOCK_S_CLOSED;
			(void)flush_pending(v);
			return -ETIMEDOUT;
		}
	}
}

int hvl_vsock_listen(struct hvl_vsock *v, int sd, uint32_t port, uint16_t backlog)
{
	struct hvl_vsock_sock *s = sock_get(v, sd);

	if (s == NULL)
		return -EBADF;
	if (s->state != (uint8_t)HVL_VSOCK_S_CLOSED)
		return -EISCONN;
	if (port_used(v, port) != 0)
		return -EADDRINUSE;
	s->lport = port;
	s->backlog = (backlog == 0u) ? 1u : backlog;
	s->nqueued = 0u;
	s->state = (uint8_t)HVL_VSOCK_S_LISTEN;
	return 0;
}

int hvl_vsock_accept(struct hvl_vsock *v, int sd, uint32_t *peer_port, uint32_t timeout_ms)
{
	struct hvl_vsock_sock *s = sock_get(v, sd);
	uint32_t self = (uint32_t)sd + 1u, i;
	uint64_t deadline;
	int rc;

	if (s == NULL)
		return -EBADF;
	if (s->state != (uint8_t)HVL_VSOCK_S_LISTEN)
		return -EINVAL;
	deadline = vs_deadline(v, timeout_ms);
	for (;;) {
		rc = hvl_vsock_pump(v);
		if (rc != 0)
			return rc;
		for (i = 0u; i < v->nsocks; i++) {
			struct hvl_vsock_sock *c = &v->socks[i];

			if (c->state != (uint8_t)HVL_VSOCK_S_FREE && c->parent == self && c->accepted == 0u) {
				c->accepted = 1u;
				if (s->nqueued > 0u)
					s->nqueued--;
				if (peer_port != NULL)
					*peer_port = c->pport;
				return (int)i;
			}
		}
		if (timeout_ms == 0u)
			return -EAGAIN;
		if (vs_wait(v, deadline) != 0)
			return -ETIMEDOUT;
	}
}

/* Error a data call reports on @s, or 0 if it may proceed. */
static int sock_err(struct hvl_vsock_sock *s)
{
	if (s->state == (uint8_t)HVL_VSOCK_S_CLOSED)
		return (s->err != 0) ? -s->err : -ENOTCONN;
	if (s->state != (uint8_t)HVL_VSOCK_S_ESTABLISHED)
		return -ENOTCONN;
	return 0;
}

long hvl_vsock_send(struct hvl_vsock *v, int sd, const void *buf, size_t len, uint32_t timeout_ms)
{
	struct hvl_vsock_sock *s = sock_get(v, sd);
	const uint8_t *src = buf;
	size_t done = 0u;
	uint64_t deadline;
	int rc;

	if (s == NULL)
		return -EBADF;
	if (len == 0u)
		return 0;
	if (buf == NULL)
		return -EINVAL;
	if (len > VS_LONG_MAX)
		len = VS_LONG_MAX;
	deadline = vs_deadline(v, timeout_ms);
	for (;;) {
		int added = 0;

		rc = hvl_vsock_pump(v);
		if (rc != 0)
			return rc;
		rc = sock_err(s);
		if (rc == 0 && ((s->local_shut & HVL_VSOCK_SHUTDOWN_SEND) != 0u ||
				(s->peer_shut & HVL_VSOCK_SHUTDOWN_RCV) != 0u))
			rc = -EPIPE;
		if (rc != 0)
			return (done > 0u) ? (long)done : rc;
		/* Within the peer's credit only (§5.10.6.3). */
		while (done < len) {
			uint32_t credit = peer_credit(s);
			size_t n = len - done;

			if (credit == 0u)
				break;
			if (n > credit)
				n = credit;
			if (n > HVL_VSOCK_PKT_PAYLOAD)
				n = HVL_VSOCK_PKT_PAYLOAD;
			rc = tx_packet(v, s, s->lport, s->pport, (uint16_t)HVL_VSOCK_OP_RW, 0u, &src[done],
				       (uint32_t)n);
			if (rc == -EIO)
				return -EIO;
			if (rc != 0)
				break; /* no transmit buffer free */
			s->tx_cnt += (uint32_t)n;
			v->bytes_out += n;
			done += n;
			added = 1;
		}
		if (added != 0)
			hvl_vdev_kick(&v->vdev, HVL_VSOCK_TXQ, &v->txq);
		if (done == len)
			return (long)done;
		if (timeout_ms == 0u || vs_wait(v, deadline) != 0) {
			if (done > 0u)
				return (long)done;
			return (timeout_ms == 0u) ? -EAGAIN : -ETIMEDOUT;
		}
	}
}

long hvl_vsock_recv(struct hvl_vsock *v, int sd, void *buf, size_t len, uint32_t timeout_ms)
{
	struct hvl_vsock_sock *s = sock_get(v, sd);
	uint8_t *dst = buf;
	uint64_t deadline;
	int rc;

	if (s == NULL)
		return -EBADF;
	if (len == 0u)
		return 0;
	if (buf == NULL)
		return -EINVAL;
	deadline = vs_deadline(v, timeout_ms);
	for (;;) {
		rc = hvl_vsock_pump(v);
		if (rc != 0)
			return rc;
		if (s->rcount > 0u) {
			uint32_t n = (len < s->rcount) ? (uint32_t)len : s->rcount;
			uint32_t first = s->rcap - s->rhead;

			if (first > n)
				first = n;
			(void)memcpy(dst, &s->rbuf[s->rhead], first);
			if (n > first)
				(void)memcpy(&dst[first], s->rbuf, n - first);
			s->rhead = (s->rhead + n) % s->rcap;
			s->rcount -= n;
			s->fwd_cnt += n;
			/* Tell the peer once a quarter of the buffer is free again. */
			if (s->state == (uint8_t)HVL_VSOCK_S_ESTABLISHED && s->fwd_cnt - s->fwd_adv >= s->rcap / 4u) {
				sock_pend(v, s, PEND_CREDIT);
				(void)flush_pending(v);
			}
			return (long)n;
		}
		if ((s->state == (uint8_t)HVL_VSOCK_S_ESTABLISHED ||
		     (s->state == (uint8_t)HVL_VSOCK_S_CLOSED && s->err == 0)) &&
		    (s->peer_shut & HVL_VSOCK_SHUTDOWN_SEND) != 0u)
			return 0; /* end of stream */
		rc = sock_err(s);
		if (rc != 0)
			return rc;
		if (timeout_ms == 0u)
			return -EAGAIN;
		if (vs_wait(v, deadline) != 0)
			return -ETIMEDOUT;
	}
}

int hvl_vsock_shutdown(struct hvl_vsock *v, int sd, uint32_t how)
{
	struct hvl_vsock_sock *s = sock_get(v, sd);

	if (s == NULL)
		return -EBADF;
	if (s->state != (uint8_t)HVL_VSOCK_S_ESTABLISHED)
		return -ENOTCONN;
	how &= HVL_VSOCK_SHUT_RDWR;
	if (how == 0u)
		return -EINVAL;
	s->local_shut = (uint8_t)(s->local_shut | how);
	sock_pend(v, s, PEND_SHUTDOWN);
	return (flush_pending(v) != 0) ? -EIO : 0;
}

int hvl_vsock_close(struct hvl_vsock *v, int sd)
{
	struct hvl_vsock_sock *s = sock_get(v, sd);

	if (s == NULL)
		return -EBADF;
	switch (s->state) {
	case HVL_VSOCK_S_ESTABLISHED:
		/* §5.10.6.5: shut down both ways; the peer's RST frees the slot. */
		s->local_shut = (uint8_t)HVL_VSOCK_SHUT_RDWR;
		s->state = (uint8_t)HVL_VSOCK_S_CLOSING;
		s->deadline = vs_now(v) + HVL_VSOCK_CLOSE_MS;
		s->pend = (uint8_t)(s->pend & PEND_CREDIT);
		sock_pend(v, s, PEND_SHUTDOWN);
		break;
	case HVL_VSOCK_S_CONNECTING:
		s->state = (uint8_t)HVL_VSOCK_S_CLOSING;
		s->pend = 0u;
		sock_pend(v, s, PEND_RST);
		break;
	case HVL_VSOCK_S_CLOSING:
		return -EBADF;
	default:
		sock_free(v, s);
		break;
	}
	(void)flush_pending(v);
	return 0;
}

/* Readiness of one socket. */
static uint32_t sock_revents(const struct hvl_vsock *v, const struct hvl_vsock_sock *s, uint32_t sd,
			     uint32_t events)
{
	uint32_t r = 0u, i;

	if (s == NULL)
		return HVL_VSOCK_POLLERR;
	if (s->state == (uint8_t)HVL_VSOCK_S_LISTEN) {
		for (i = 0u; i < v->nsocks; i++)
			if (v->socks[i].state != (uint8_t)HVL_VSOCK_S_FREE &&
			    v->socks[i].parent == sd + 1u && v->socks[i].accepted == 0u)
				r |= HVL_VSOCK_POLLIN;
		return r & events;
	}
	if (s->rcount > 0u)
		r |= HVL_VSOCK_POLLIN;
	if (s->state == (uint8_t)HVL_VSOCK_S_ESTABLISHED) {
		if ((s->peer_shut & HVL_VSOCK_SHUTDOWN_SEND) != 0u)
			r |= HVL_VSOCK_POLLIN | HVL_VSOCK_POLLHUP;
		if (peer_credit(s) > 0u && v->tx_nfree > 0u)
			r |= HVL_VSOCK_POLLOUT;
	} else if (s->state == (uint8_t)HVL_VSOCK_S_CLOSED) {
		r |= HVL_VSOCK_POLLIN | HVL_VSOCK_POLLHUP | ((s->err != 0) ? HVL_VSOCK_POLLERR : 0u);
	}
	return r & (events | HVL_VSOCK_POLLERR | HVL_VSOCK_POLLHUP);
}

int hvl_vsock_poll(struct hvl_vsock *v, struct hvl_vsock_pollfd *fds, uint32_t n, uint32_t timeout_ms)
{
	uint64_t deadline;
	int rc;

	if (v == NULL || v->is_open == 0u || (fds == NULL && n > 0u))
		return -EBADF;
	deadline = vs_deadline(v, timeout_ms);
	for (;;) {
		uint32_t i;
		int ready = 0;

		rc = hvl_vsock_pump(v);
		if (rc != 0)
			return rc;
		for (i = 0u; i < n; i++) {
			fds[i].revents = sock_revents(v, sock_get(v, fds[i].sd), (uint32_t)fds[i].sd,
						      fds[i].events);
			if (fds[i].revents != 0u)
				ready++;
		}
		if (ready > 0 || timeout_ms == 0u)
			return ready;
		if (vs_wait(v, deadline) != 0)
			return 0;
	}
}

/* Split the ring storage between the three queues (static start). */
static int vs_setup_queues(struct hvl_vsock *v, void *storage, size_t len)
{
	uint8_t *p = storage;
	size_t used = 0u;
	unsigned q;
	int rc = 0;
	struct hvl_vq_drv *vqs[HVL_VSOCK_NUM_QUEUES];

	vqs[0] = &v->rxq;
	vqs[1] = &v->txq;
	vqs[2] = &v->evq;
	for (q = 0u; q < HVL_VSOCK_NUM_QUEUES && rc == 0; q++) {
		uint16_t num = hvl_le16_once(&v->vdev.ext->queue[q].num);
		size_t need = HVL_VQ_DRV_STORAGE(num);
		/* Deviation (MISRA 11.4): the address is only inspected for alignment. */
		size_t pad = (size_t)((uintptr_t)(p + used) % HVL_VSOCK_STORAGE_ALIGN);

		pad = (pad == 0u) ? 0u : HVL_VSOCK_STORAGE_ALIGN - pad;
		if (used > len || pad > len - used || need > len - used - pad)
			return -ENOSPC;
		used += pad;
		rc = hvl_vdev_queue_static(&v->vdev, q, vqs[q], p + used, need);
		used += need;
	}
	return rc;
}

/* Carve receive, transmit and event buffers from the data area. */
static int vs_carve(struct hvl_vsock *v)
{
	void *local;
	uint64_t bus, size, evsize = HVL_VSOCK_EV_BUFS * 8u, per;
	uint16_t n = HVL_VSOCK_RX_BUFS, i;
	uint8_t *p;

	hvl_vdev_data_area(&v->vdev, &local, &bus, &size);
	if (size < evsize + 2u * HVL_VSOCK_BUF_SIZE || v->evq.num < HVL_VSOCK_EV_BUFS)
		return -ENOSPC;
	per = (size - evsize) / (2u * HVL_VSOCK_BUF_SIZE);
	if (per < n)
		n = (uint16_t)per;
	if (v->rxq.num < n)
		n = v->rxq.num;
	if (v->txq.num < n)
		n = v->txq.num;
	p = local;
	for (i = 0u; i < HVL_VSOCK_EV_BUFS; i++) {
		v->ev[i].local = p;
		v->ev[i].bus = bus;
		p += 8;
		bus += 8u;
	}
	for (i = 0u; i < n; i++) {
		v->rx[i].local = p;
		v->rx[i].bus = bus;
		p += HVL_VSOCK_BUF_SIZE;
		bus += HVL_VSOCK_BUF_SIZE;
	}
	for (i = 0u; i < n; i++) {
		v->tx[i].local = p;
		v->tx[i].bus = bus;
		p += HVL_VSOCK_BUF_SIZE;
		bus += HVL_VSOCK_BUF_SIZE;
		v->tx_free[i] = (uint8_t)(n - 1u - i);
	}
	v->nrx = n;
	v->ntx = n;
	v->tx_nfree = n;
	return 0;
}

int hvl_vsock_open(struct hvl_vsock *v, struct hvl_remote *r, uint32_t nth,
		   const struct hvl_vsock_mem *m)
{
	hvl_le64 cid;
	size_t per;
	uint32_t i;
	int rc;

	if (v == NULL || r == NULL || m == NULL || m->ring_storage == NULL || m->socks == NULL ||
	    m->rbuf == NULL || m->nsocks == 0u || m->nsocks > 0xFFFEu)
		return -EINVAL;
	per = m->rbuf_len / m->nsocks;
	if (per < HVL_VSOCK_MIN_RBUF)
		return -ENOSPC;
	if (per > 0x7FFFFFFFu)
		per = 0x7FFFFFFFu;
	(void)memset(v, 0, sizeof(*v));
	v->socks = m->socks;
	v->nsocks = m->nsocks;
	v->next_port = HVL_VSOCK_EPHEMERAL;
	for (i = 0u; i < m->nsocks; i++) {
		(void)memset(&m->socks[i], 0, sizeof(m->socks[i]));
		m->socks[i].rbuf = &m->rbuf[(size_t)i * per];
		m->socks[i].rcap = (uint32_t)per;
	}
	rc = hvl_remote_find(r, HVL_VIRTIO_ID_VSOCK, nth, &v->vdev);
	if (rc != 0)
		return rc;
	if (v->vdev.num_queues < HVL_VSOCK_NUM_QUEUES)
		return -EPROTO;
	rc = hvl_vdev_begin(&v->vdev, HVL_F_EVENT_IDX | HVL_F_INDIRECT_DESC | HVL_VSOCK_F_STREAM);
	if (rc == 0)
		rc = hvl_vdev_config_read(&v->vdev, HVL_VSOCK_CFG_GUEST_CID, &cid, sizeof(cid));
	if (rc == 0) {
		v->cid = hvl_le64_get(&cid);
		/* §5.10.4: CIDs 0..2 are reserved; the host is 2. */
		if (v->cid < HVL_VSOCK_CID_MIN_GUEST)
			rc = -EPROTO;
	}
	if (rc == 0)
		rc = vs_setup_queues(v, m->ring_storage, m->ring_len);
	if (rc == 0)
		rc = vs_carve(v);
	if (rc == 0)
		rc = hvl_vdev_driver_ok(&v->vdev);
	if (rc != 0) {
		(void)hvl_vdev_reset(&v->vdev);
		return rc;
	}
	v->is_open = 1u;
	hvl_vq_drv_disable_cb(&v->rxq);
	hvl_vq_drv_disable_cb(&v->txq);
	hvl_vq_drv_disable_cb(&v->evq);
	for (i = 0u; i < v->nrx && rc == 0; i++)
		rc = rx_post(v, &v->rx[i]);
	for (i = 0u; i < HVL_VSOCK_EV_BUFS && rc == 0; i++)
		rc = ev_post(v, &v->ev[i]);
	if (rc != 0) {
		(void)hvl_vsock_close_dev(v);
		return -EIO;
	}
	/* Notify only now: §3.1.1 forbids notifications before DRIVER_OK. */
	hvl_vdev_kick(&v->vdev, HVL_VSOCK_RXQ, &v->rxq);
	hvl_vdev_kick(&v->vdev, HVL_VSOCK_EVQ, &v->evq);
	/*
	 * The hvl PMM sends a transport reset after every DRIVER_OK
	 * (PROTOCOL.md "vsock").  Take it before the first packet, so that it
	 * cannot reset a connection made afterwards; a device that sends none
	 * only costs this bounded wait.
	 */
	{
		uint32_t tmo = (r->cfg.txn_timeout_ms != 0u) ? r->cfg.txn_timeout_ms : 1000u;
		uint64_t deadline = vs_deadline(v, tmo);

		while (v->resets == 0u) {
			rc = hvl_vsock_pump(v);
			if (rc != 0) {
				(void)hvl_vsock_close_dev(v);
				return rc;
			}
			if (v->resets != 0u || vs_wait(v, deadline) != 0)
				break;
		}
	}
	return 0;
}

int hvl_vsock_close_dev(struct hvl_vsock *v)
{
	uint32_t i;
	int rc;

	if (v == NULL || v->is_open == 0u)
		return -EBADF;
	/* §2.1: after a reset the device holds none of our buffers. */
	rc = hvl_vdev_reset(&v->vdev);
	for (i = 0u; i < v->rxq.num; i++)
		if (hvl_vq_drv_detach_unused(&v->rxq) == NULL)
			break;
	for (i = 0u; i < v->txq.num; i++)
		if (hvl_vq_drv_detach_unused(&v->txq) == NULL)
			break;
	for (i = 0u; i < v->evq.num; i++)
		if (hvl_vq_drv_detach_unused(&v->evq) == NULL)
			break;
	for (i = 0u; i < v->nsocks; i++)
		v->socks[i].state = (uint8_t)HVL_VSOCK_S_FREE;
	v->is_open = 0u;
	return rc;
}

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio socket driver, packet layer (virtio 1.2 §5.10.6): builds and posts
 * packets, takes the device's packets off the receiveq and checks them
 * (STYLE 10), keeps the credit accounting, and sends the control packets
 * the socket layer (vsock.c) recorded as pending.  See vsock.c for the
 * design.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "vsock_priv.h"

uint64_t vsk_now(const struct hvl_vsock *v)
{
	return hvl_remote_now(v->vdev.r);
}

int hvl_vsock_broken(const struct hvl_vsock *v)
{
	if (v == NULL || v->is_open == 0u)
		return 1;
	/* The rings' own flags directly: every send and receive pass asks. */
	if ((v->rxq.broken | v->txq.broken | v->evq.broken) != 0u)
		return 1;
	return hvl_vdev_live(&v->vdev) == 0 ? 1 : 0;
}

uint64_t hvl_vsock_cid(const struct hvl_vsock *v)
{
	return (v != NULL) ? v->cid : 0u;
}

void vsk_sock_pend(struct hvl_vsock *v, struct hvl_vsock_sock *s, uint8_t bits)
{
	s->pend = (uint8_t)(s->pend | bits);
	v->any_pend = 1u;
}

uint32_t vsk_peer_credit(const struct hvl_vsock_sock *s)
{
	uint32_t inflight = s->tx_cnt - s->peer_fwd_cnt;

	return (inflight >= s->peer_buf_alloc) ? 0u : s->peer_buf_alloc - inflight;
}

/* Free a slot; a listener's un-accepted children go with it (reset). */
void vsk_sock_free(struct hvl_vsock *v, struct hvl_vsock_sock *s)
{
	uint32_t self = (uint32_t)(s - v->socks) + 1u;

	if (s->state == (uint8_t)HVL_VSOCK_S_LISTEN) {
		uint32_t i;

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
		vsk_sock_free(v, s);
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
int vsk_rx_post(struct hvl_vsock *v, struct hvl_vsock_buf *b)
{
	struct hvl_sg sg;

	sg.addr = b->bus;
	sg.len = v->buf_size;
	return hvl_vq_drv_add(&v->rxq, &sg, 0u, 1u, b);
}

/*
 * Re-post the receive buffers held since they were consumed.  A lean pass
 * (a packet on a polled round trip's path) holds them instead of posting
 * at once: the avail ring is a line the device reads when it takes buffers
 * ahead, and on x86 the store to it would make the next send's stores
 * (the packet, the transmitq's avail index) wait for that line.  They go
 * back at the next empty poll, before any sleep, in every full pass, or
 * when HVL_VSOCK_RX_HOLD (or half the buffers) are held.  0 or -EIO.
 */
int vsk_rx_release(struct hvl_vsock *v)
{
	uint8_t i, n = v->nrx_done;

	if (n == 0u)
		return 0;
	v->nrx_done = 0u;
	for (i = 0u; i < n; i++)
		if (vsk_rx_post(v, &v->rx[v->rx_done[i]]) != 0)
			return -EIO;
	hvl_vdev_kick(&v->vdev, HVL_VSOCK_RXQ, &v->rxq);
	return 0;
}

int vsk_ev_post(struct hvl_vsock *v, struct hvl_vsock_buf *b)
{
	struct hvl_sg sg;

	sg.addr = b->bus;
	sg.len = (uint32_t)sizeof(struct hvl_vsock_event);
	return hvl_vq_drv_add(&v->evq, &sg, 0u, 1u, b);
}

/* Take back every transmit buffer the device is done with. */
int vsk_tx_reclaim(struct hvl_vsock *v)
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
int vsk_tx_packet(struct hvl_vsock *v, struct hvl_vsock_sock *s, uint32_t lport, uint32_t pport,
		  uint16_t op, uint32_t flags, const uint8_t *payload, uint32_t len)
{
	struct hvl_vsock_hdr h;
	struct hvl_vsock_buf *b;
	struct hvl_sg sg;

	if (v->tx_nfree == 0u)
		(void)vsk_tx_reclaim(v);
	if (v->tx_nfree == 0u)
		return -EAGAIN;
	b = &v->tx[v->tx_free[v->tx_nfree - 1u]];
	/* §5.10.6.3: every packet tells the peer our buffer and progress. */
	hvl_vsock_hdr_init(&h, v->cid, HVL_VSOCK_CID_HOST, lport, pport, op, flags, len,
			   s != NULL ? s->rcap : 0u, s != NULL ? s->fwd_cnt : 0u);
	if (s != NULL)
		s->fwd_adv = s->fwd_cnt;
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
int vsk_flush_pending(struct hvl_vsock *v)
{
	int sent = 0, rc = 0;

	while (v->rst_count > 0u && rc == 0) {
		const struct hvl_vsock_rst *r = &v->rst[v->rst_head];

		rc = vsk_tx_packet(v, NULL, r->lport, r->pport, (uint16_t)HVL_VSOCK_OP_RST, 0u, NULL, 0u);
		if (rc == 0) {
			v->rst_head = (uint16_t)((v->rst_head + 1u) % HVL_VSOCK_RST_QUEUE);
			v->rst_count--;
			sent = 1;
		}
	}
	if (v->any_pend != 0u && rc == 0) {
		uint8_t left = 0u;
		uint32_t i;

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
				rc = vsk_tx_packet(v, s, s->lport, s->pport, op, flags, NULL, 0u);
				if (rc == 0) {
					s->pend = (uint8_t)(s->pend & (uint8_t)~bit);
					sent = 1;
					if (bit == PEND_RST && s->state == (uint8_t)HVL_VSOCK_S_CLOSING)
						vsk_sock_free(v, s);
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
	vsk_sock_pend(v, c, PEND_RESPONSE);
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
		v->bytes_in += len;
		if (v->rd_sock == s && s->rcount == 0u && v->rd_got < v->rd_len) {
			/* A recv() waits on this socket: its buffer first, the rest to the ring. */
			uint32_t n = v->rd_len - v->rd_got;

			if (n > len)
				n = len;
			(void)memcpy(&v->rd_buf[v->rd_got], &pkt[HVL_VSOCK_HDR_SIZE], n);
			v->rd_got += n;
			s->rx_cnt += n;
			s->fwd_cnt += n;
			pkt += n;
			len -= n;
		}
		if (len > 0u)
			rx_store(s, &pkt[HVL_VSOCK_HDR_SIZE], len);
		break;
	case HVL_VSOCK_OP_SHUTDOWN:
		s->peer_shut = (uint8_t)(s->peer_shut |
					 (hvl_le32_get(&h.flags) & HVL_VSOCK_SHUT_RDWR));
		break;
	case HVL_VSOCK_OP_CREDIT_REQUEST:
		vsk_sock_pend(v, s, PEND_CREDIT);
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
	uint64_t now = 0u;
	uint32_t i;

	for (i = 0u; i < v->nsocks; i++) {
		struct hvl_vsock_sock *s = &v->socks[i];

		if (s->state != (uint8_t)HVL_VSOCK_S_CLOSING || s->pend != 0u)
			continue;
		/* The clock only when somebody waits: pump() runs in polling loops. */
		if (now == 0u)
			now = vsk_now(v);
		if (now >= s->deadline)
			vsk_sock_pend(v, s, PEND_RST); /* freed once the RST is posted */
	}
}

int hvl_vsock_pump(struct hvl_vsock *v)
{
	return vsk_pump(v, 0);
}

int vsk_pump(struct hvl_vsock *v, int lean)
{
	uint32_t i;
	int took = 0, posted = 0;

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
#if defined(__GNUC__)
		/*
		 * A small packet spans a few cache lines the device just wrote:
		 * ask for all of them now, not one after another as the header
		 * and then the payload are read.
		 */
		for (uint32_t off = 64u; off < ulen && off < 512u; off += 64u)
			__builtin_prefetch(&b->local[off]);
#endif
		on_packet(v, b->local, ulen);
		/* The device fills buffers in the order we post them. */
		v->rx_next = (uint16_t)(((size_t)(b - v->rx) + 1u) % v->nrx);
		took = 1;
		if (lean != 0 && v->nrx_done < HVL_VSOCK_RX_HOLD && v->nrx_done < v->nrx / 2u) {
			v->rx_done[v->nrx_done++] = (uint8_t)(b - v->rx);
			continue;
		}
		if (vsk_rx_release(v) != 0 || vsk_rx_post(v, b) != 0)
			return -EIO;
		posted = 1;
	}
	if (posted != 0)
		hvl_vdev_kick(&v->vdev, HVL_VSOCK_RXQ, &v->rxq);
	/*
	 * Packets came in and we owe nothing: the rest of the pass (events,
	 * transmit buffers, timers) waits, so a polled round trip does not
	 * carry it; it runs every HVL_VSOCK_LEAN_PASSES passes regardless.
	 */
	if (lean != 0 && took != 0 && v->any_pend == 0u && v->rst_count == 0u &&
	    ++v->lean_passes % HVL_VSOCK_LEAN_PASSES != 0u)
		return 0;
	if (vsk_rx_release(v) != 0)
		return -EIO;
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
		if (vsk_ev_post(v, b) != 0)
			return -EIO;
		hvl_vdev_kick(&v->vdev, HVL_VSOCK_EVQ, &v->evq);
	}
	/* Transmit buffers come back in batches: the used ring is read when half are out. */
	if (v->tx_nfree < (uint16_t)(v->ntx / 2u + 1u) && vsk_tx_reclaim(v) != 0)
		return -EIO;
	check_closing(v);
	if (vsk_flush_pending(v) != 0)
		return -EIO;
	return (hvl_vsock_broken(v) != 0) ? -EIO : 0;
}

/*
 * Sleep until the device used something on any queue or @deadline passes.
 * Interrupts are enabled only around the sleep, after a last look (the
 * race-free order of §2.7.7); the doorbell is shared, so callers re-check.
 */
int vsk_wait(struct hvl_vsock *v, uint64_t deadline)
{
	uint64_t now = vsk_now(v);
	int more;

	if (now >= deadline)
		return -ETIMEDOUT;
	(void)vsk_rx_release(v); /* a broken ring shows at the caller's next pass */
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
uint64_t vsk_deadline(const struct hvl_vsock *v, uint32_t timeout_ms)
{
	/* A call that never waits needs no deadline (and no clock read). */
	return timeout_ms == 0u ? 0u : vsk_now(v) + timeout_ms;
}

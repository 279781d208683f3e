/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hvl_vsockd: virtio-vsock device side with in-process sockets (vsockd.h).
 *
 * Queues (§5.10.2): the transmitq brings the remote's packets (header +
 * payload, device-readable); the receiveq holds the remote's empty buffers
 * that we fill with our packets; the eventq takes the transport reset we
 * owe at every DRIVER_OK (§5.10.6.7).  Receive chains are taken off the
 * ring ahead of need (up to HVL_VSOCKD_RX_AHEAD): their descriptors are
 * then already read and checked when a packet must go out, which keeps
 * two dependent cache misses off a round trip.  Transmit chains go back
 * in small groups, at the first poll that finds the ring empty (see
 * tx_release()): a used-ring store per packet would sit ahead of the
 * answer's stores.
 *
 * Notifications: while the program calls us without sleeping, both queues
 * have notifications off (EVENT_IDX), so the remote's driver does not ring
 * for each packet; they are enabled, and the rings looked at again, only
 * right before a sleep on the doorbell.
 *
 * Flow control (§5.10.6.3): every packet we send carries our buf_alloc
 * (the socket's receive buffer) and fwd_cnt (bytes the program has read);
 * a CREDIT_UPDATE goes out once a quarter of the buffer was read since the
 * remote last heard, and a CREDIT_REQUEST when we want to send and the
 * remote's credit is exhausted.  We never send beyond the remote's credit,
 * and data beyond the credit we gave resets the connection.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "hvl/vsockd.h"

enum {
	S_FREE = 0,
	S_CLOSED,       /* allocated, not connected (fresh, reset or refused) */
	S_CONNECTING,   /* REQUEST sent, waiting for RESPONSE or RST */
	S_ESTABLISHED,
	S_LISTEN,
	S_CLOSING,      /* closed by the program; SHUTDOWN sent, waiting for the RST */
};

#define PEND_REQUEST  1u
#define PEND_RESPONSE 2u
#define PEND_CREDIT   4u
#define PEND_CREDREQ  8u
#define PEND_SHUTDOWN 16u

static uint64_t now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int vd_live(const struct hvl_vsockd *v)
{
	return v->dev != NULL && hvl_dev_live(v->dev) && hvl_dev_vq(v->dev, HVL_VSOCK_RXQ) != NULL &&
	       hvl_dev_vq(v->dev, HVL_VSOCK_TXQ) != NULL;
}

int hvl_vsockd_live(const struct hvl_vsockd *v)
{
	return v != NULL && vd_live(v);
}

static struct hvl_vsockd_sock *sock_get(struct hvl_vsockd *v, int sd)
{
	if (v == NULL || sd < 0 || (uint32_t)sd >= v->nsocks || v->socks[sd].state == S_FREE)
		return NULL;
	return &v->socks[sd];
}

static uint32_t peer_credit(const struct hvl_vsockd_sock *s)
{
	uint32_t inflight = s->tx_cnt - s->peer_fwd_cnt;

	return inflight >= s->peer_buf_alloc ? 0u : s->peer_buf_alloc - inflight;
}

static void sock_pend(struct hvl_vsockd *v, struct hvl_vsockd_sock *s, uint8_t bits)
{
	s->pend = (uint8_t)(s->pend | bits);
	v->any_pend = 1u;
}

static void sock_clear(struct hvl_vsockd_sock *s)
{
	uint8_t *rbuf = s->rbuf;
	uint32_t rcap = s->rcap;

	(void)memset(s, 0, sizeof(*s));
	s->rbuf = rbuf;
	s->rcap = rcap;
}

static void queue_rst(struct hvl_vsockd *v, uint32_t lport, uint32_t pport)
{
	struct hvl_vsockd_rst *r;

	if (v->rst_count >= HVL_VSOCKD_RST_QUEUE) {
		v->rst_dropped++;
		return;
	}
	r = &v->rst[(v->rst_head + v->rst_count) % HVL_VSOCKD_RST_QUEUE];
	r->lport = lport;
	r->pport = pport;
	v->rst_count++;
}

static void sock_free(struct hvl_vsockd *v, struct hvl_vsockd_sock *s)
{
	if (s->parent != 0u && s->accepted == 0u && s->parent <= v->nsocks &&
	    v->socks[s->parent - 1u].nqueued > 0u)
		v->socks[s->parent - 1u].nqueued--;
	if (v->rd_sock == s)
		v->rd_sock = NULL;
	sock_clear(s);
}

/* The connection is gone (RST in, transport reset, fault): error @err. */
static void sock_reset(struct hvl_vsockd *v, struct hvl_vsockd_sock *s, int32_t err)
{
	if (s->state == S_CLOSING || (s->parent != 0u && s->accepted == 0u)) {
		sock_free(v, s);
		return;
	}
	s->state = S_CLOSED;
	s->err = err;
	s->pend = 0u;
}

/* Reset with an RST to the remote: its packet broke the rules. */
static void sock_abort(struct hvl_vsockd *v, struct hvl_vsockd_sock *s)
{
	queue_rst(v, s->lport, s->pport);
	sock_reset(v, s, ECONNRESET);
}

static int conn_is(const struct hvl_vsockd_sock *s, uint32_t lport, uint32_t pport)
{
	return (s->state == S_ESTABLISHED || s->state == S_CONNECTING || s->state == S_CLOSING) &&
	       s->lport == lport && s->pport == pport;
}

/* The connection (lport, pport); the last one found is tried first. */
static struct hvl_vsockd_sock *conn_find(struct hvl_vsockd *v, uint32_t lport, uint32_t pport)
{
	uint32_t i;

	if (v->last < v->nsocks && conn_is(&v->socks[v->last], lport, pport))
		return &v->socks[v->last];
	for (i = 0; i < v->nsocks; i++)
		if (conn_is(&v->socks[i], lport, pport)) {
			v->last = i;
			return &v->socks[i];
		}
	return NULL;
}

/* ------------------------------------------------------------ receiveq */

/*
 * Take one receive chain off the ring into the next free held slot and
 * check it.  Returns 1 if one was taken, 0 if none (or the device failed).
 */
static int rx_take(struct hvl_vsockd *v)
{
	struct hvl_vsockd_chain *ch = &v->rxc[(v->rx_head + v->nrxc) % HVL_VSOCKD_RX_AHEAD];

	ch->c.iov = ch->iov;
	ch->c.cap = HVL_VSOCKD_IOV;
	if (hvl_dev_pop(v->dev, HVL_VSOCK_RXQ, &ch->c) <= 0)
		return 0;
	if (ch->c.n_out != 0u || ch->c.in_len < HVL_VSOCK_HDR_SIZE + 1u) {
		hvl_dev_fail(v->dev, HVL_BROKEN_REQUEST, "receiveq chain %u: %u readable, %u writable byte(s)",
			     ch->c.head, ch->c.out_len, ch->c.in_len);
		return 0;
	}
	v->nrxc++;
	return 1;
}

/* The oldest receive chain held, taken off the ring if we hold none; NULL if none. */
static struct hvl_vsockd_chain *rx_chain(struct hvl_vsockd *v)
{
	if (v->nrxc == 0u && !rx_take(v))
		return NULL;
	return &v->rxc[v->rx_head];
}

/* Take receive chains ahead of need, up to HVL_VSOCKD_RX_AHEAD. */
static void rx_fill_ahead(struct hvl_vsockd *v)
{
	/* In batches: the receiveq's avail index is a line the remote writes. */
	if (v->nrxc > HVL_VSOCKD_RX_AHEAD / 2u)
		return;
	while (v->nrxc < HVL_VSOCKD_RX_AHEAD && hvl_dev_live(v->dev) && rx_take(v))
		;
}

/* Payload room of the next packet we can send (0: no receive buffer). */
static uint32_t rx_room(struct hvl_vsockd *v)
{
	struct hvl_vsockd_chain *ch = rx_chain(v);
	uint32_t room;

	if (ch == NULL)
		return 0u;
	room = ch->c.in_len - HVL_VSOCK_HDR_SIZE;
	return room > HVL_VSOCK_MAX_PKT_PAYLOAD ? HVL_VSOCK_MAX_PKT_PAYLOAD : room;
}

/*
 * Send one packet: header (+ @len bytes of @payload), into the next
 * receive chain; the caller checked rx_room() >= @len.  0 or -EAGAIN.
 */
static int emit(struct hvl_vsockd *v, struct hvl_vsockd_sock *s, uint32_t lport, uint32_t pport,
		uint16_t op, uint32_t flags, const void *payload, uint32_t len)
{
	struct hvl_vsockd_chain *ch = rx_chain(v);
	struct hvl_vq_dev *vq = hvl_dev_vq(v->dev, HVL_VSOCK_RXQ);

	if (ch == NULL || vq == NULL)
		return -EAGAIN;
	/*
	 * Usually the whole packet fits the chain's first buffer: build the
	 * header in place.  Through a copy on the stack, the wide loads of the
	 * copy would wait for the header's narrow stores to retire, and those
	 * wait behind any store still fetching a line the remote holds.
	 */
	if (ch->c.iov[0].len >= HVL_VSOCK_HDR_SIZE + len &&
	    ((uintptr_t)ch->c.iov[0].base % _Alignof(struct hvl_vsock_hdr)) == 0u) {
		uint8_t *p = ch->c.iov[0].base;

		hvl_vsock_hdr_init((struct hvl_vsock_hdr *)(void *)p, HVL_VSOCK_CID_HOST, v->cid, lport,
				   pport, op, flags, len, s != NULL ? s->rcap : 0u,
				   s != NULL ? s->fwd_cnt : 0u);
		if (len > 0u)
			(void)memcpy(p + HVL_VSOCK_HDR_SIZE, payload, len);
	} else {
		struct hvl_vsock_hdr h;

		hvl_vsock_hdr_init(&h, HVL_VSOCK_CID_HOST, v->cid, lport, pport, op, flags, len,
				   s != NULL ? s->rcap : 0u, s != NULL ? s->fwd_cnt : 0u);
		(void)hvl_chain_write(&ch->c, 0u, &h, HVL_VSOCK_HDR_SIZE);
		if (len > 0u)
			(void)hvl_chain_write(&ch->c, HVL_VSOCK_HDR_SIZE, payload, len);
	}
	if (s != NULL)
		s->fwd_adv = s->fwd_cnt;
	hvl_vq_dev_push(vq, ch->c.head, HVL_VSOCK_HDR_SIZE + len);
	v->rx_head = (uint8_t)((v->rx_head + 1u) % HVL_VSOCKD_RX_AHEAD);
	v->nrxc--;
	v->rx_pushed = 1u;
	v->pkts_out++;
	v->bytes_out += len;
	return 0;
}

/* Interrupt decisions, once per batch (the ring says whether the remote wants one). */
static void flush_interrupts(struct hvl_vsockd *v)
{
	uint32_t qmask = (v->rx_pushed ? 1u << HVL_VSOCK_RXQ : 0u) | (v->tx_pushed ? 1u << HVL_VSOCK_TXQ : 0u);

	if (qmask != 0u) {
		v->rx_pushed = v->tx_pushed = 0u;
		hvl_dev_vqs_interrupt(v->dev, qmask);
	}
}

/* Control packets we owe: RSTs first, then each socket's.  0 or -EAGAIN. */
static int flush_pending(struct hvl_vsockd *v)
{
	uint32_t i;

	while (v->rst_count > 0u) {
		const struct hvl_vsockd_rst *r = &v->rst[v->rst_head];

		if (emit(v, NULL, r->lport, r->pport, HVL_VSOCK_OP_RST, 0u, NULL, 0u) != 0)
			return -EAGAIN;
		v->rst_head = (uint16_t)((v->rst_head + 1u) % HVL_VSOCKD_RST_QUEUE);
		v->rst_count--;
	}
	if (!v->any_pend)
		return 0;
	for (i = 0; i < v->nsocks; i++) {
		struct hvl_vsockd_sock *s = &v->socks[i];
		static const struct { uint8_t bit; uint16_t op; } order[] = {
			{ PEND_REQUEST, HVL_VSOCK_OP_REQUEST },
			{ PEND_RESPONSE, HVL_VSOCK_OP_RESPONSE },
			{ PEND_CREDIT, HVL_VSOCK_OP_CREDIT_UPDATE },
			{ PEND_CREDREQ, HVL_VSOCK_OP_CREDIT_REQUEST },
			{ PEND_SHUTDOWN, HVL_VSOCK_OP_SHUTDOWN },
		};
		unsigned k;

		for (k = 0; k < sizeof(order) / sizeof(order[0]) && s->pend != 0u; k++) {
			uint32_t flags = order[k].bit == PEND_SHUTDOWN ? s->local_shut : 0u;

			if ((s->pend & order[k].bit) == 0u)
				continue;
			if (emit(v, s, s->lport, s->pport, order[k].op, flags, NULL, 0u) != 0)
				return -EAGAIN;
			s->pend = (uint8_t)(s->pend & ~order[k].bit);
		}
	}
	v->any_pend = 0u;
	return 0;
}

/* ------------------------------------------------------------ eventq */

static void events(struct hvl_vsockd *v)
{
	struct hvl_vq_dev *vq = hvl_dev_vq(v->dev, HVL_VSOCK_EVQ);
	struct hvl_vsock_event e;
	int r;

	if (vq == NULL)
		return;
	v->evc.c.iov = v->evc.iov;
	v->evc.c.cap = HVL_VSOCKD_IOV;
	r = hvl_dev_pop(v->dev, HVL_VSOCK_EVQ, &v->evc.c);
	if (r <= 0)
		return;
	if (v->evc.c.n_out != 0u || v->evc.c.in_len < sizeof(e)) {
		hvl_dev_fail(v->dev, HVL_BROKEN_REQUEST, "eventq chain %u too small or readable",
			     v->evc.c.head);
		return;
	}
	hvl_le32_put(&e.id, HVL_VSOCK_EVENT_TRANSPORT_RESET);
	(void)hvl_chain_write(&v->evc.c, 0u, &e, sizeof(e));
	hvl_vq_dev_push(vq, v->evc.c.head, sizeof(e));
	v->event_pending = 0u;
	hvl_dev_vq_interrupt(v->dev, HVL_VSOCK_EVQ);
}

/* ------------------------------------------------------------ transmitq */

/*
 * The remote's buf_alloc and fwd_cnt: fwd_cnt only moves forward and never
 * past what we sent, or (tx_cnt - fwd_cnt) would wrap into a huge credit.
 */
static int credit_take(struct hvl_vsockd_sock *s, const struct hvl_vsock_hdr *h)
{
	uint32_t fwd = hvl_le32_get(&h->fwd_cnt);

	if (s->tx_cnt - fwd > s->tx_cnt - s->peer_fwd_cnt)
		return -1;
	s->peer_fwd_cnt = fwd;
	s->peer_buf_alloc = hvl_le32_get(&h->buf_alloc);
	if (peer_credit(s) > 0u)
		s->credit_asked = 0u;
	return 0;
}

static void maybe_credit(struct hvl_vsockd *v, struct hvl_vsockd_sock *s)
{
	if (s->fwd_cnt - s->fwd_adv >= s->rcap / 4u && s->state == S_ESTABLISHED &&
	    (s->peer_shut & HVL_VSOCK_SHUTDOWN_SEND) == 0u)
		sock_pend(v, s, PEND_CREDIT);
}

/* @len payload bytes of chain @c for @s: to a waiting recv, the rest to rbuf. */
static void deliver(struct hvl_vsockd *v, struct hvl_vsockd_sock *s, const struct hvl_chain *c,
		    uint32_t len)
{
	uint32_t off = HVL_VSOCK_HDR_SIZE, tail, first;

	s->rx_cnt += len;
	v->bytes_in += len;
	if ((s->local_shut & HVL_VSOCK_SHUTDOWN_RCV) != 0u || s->state == S_CLOSING) {
		s->fwd_cnt += len; /* nobody will read it: dropped, and credited back */
		maybe_credit(v, s);
		return;
	}
	if (v->rd_sock == s && s->rcount == 0u && v->rd_got < v->rd_len) {
		uint32_t n = v->rd_len - v->rd_got;

		if (n > len)
			n = len;
		if (c->iov[0].len >= off + n) /* the usual case: all in the first buffer */
			(void)memcpy(v->rd_buf + v->rd_got, (const uint8_t *)c->iov[0].base + off, n);
		else
			(void)hvl_chain_read(c, off, v->rd_buf + v->rd_got, n);
		v->rd_got += n;
		s->fwd_cnt += n;
		off += n;
		len -= n;
	}
	if (len == 0u)
		return;
	tail = (s->rhead + s->rcount) % s->rcap;
	first = s->rcap - tail;
	if (first > len)
		first = len;
	(void)hvl_chain_read(c, off, s->rbuf + tail, first);
	if (len > first)
		(void)hvl_chain_read(c, off + first, s->rbuf, len - first);
	s->rcount += len;
}

static struct hvl_vsockd_sock *sock_alloc(struct hvl_vsockd *v)
{
	uint32_t i;

	for (i = 0; i < v->nsocks; i++)
		if (v->socks[i].state == S_FREE) {
			sock_clear(&v->socks[i]);
			v->socks[i].state = S_CLOSED;
			return &v->socks[i];
		}
	return NULL;
}

static void on_request(struct hvl_vsockd *v, const struct hvl_vsock_hdr *h, uint32_t lport,
		       uint32_t pport)
{
	struct hvl_vsockd_sock *l = NULL, *s;
	uint32_t i;

	for (i = 0; i < v->nsocks; i++)
		if (v->socks[i].state == S_LISTEN && v->socks[i].lport == lport) {
			l = &v->socks[i];
			break;
		}
	if (l == NULL || l->nqueued >= l->backlog || (s = sock_alloc(v)) == NULL) {
		queue_rst(v, lport, pport); /* ECONNREFUSED on the remote */
		return;
	}
	s->lport = lport;
	s->pport = pport;
	s->parent = (uint16_t)(i + 1u);
	l->nqueued++;
	if (credit_take(s, h) != 0) {
		v->bad_pkts++;
		sock_free(v, s);
		queue_rst(v, lport, pport);
		return;
	}
	s->state = S_ESTABLISHED;
	sock_pend(v, s, PEND_RESPONSE);
}

static void on_packet(struct hvl_vsockd *v, const struct hvl_vsock_hdr *h, const struct hvl_chain *c)
{
	uint32_t lport = hvl_le32_get(&h->dst_port), pport = hvl_le32_get(&h->src_port);
	uint32_t len = hvl_le32_get(&h->len);
	uint16_t op = hvl_le16_get(&h->op);
	struct hvl_vsockd_sock *s = conn_find(v, lport, pport);

	if (op == HVL_VSOCK_OP_REQUEST) {
		if (s != NULL) {
			v->bad_pkts++;        /* a second REQUEST for a live connection */
			sock_abort(v, s);
			return;
		}
		on_request(v, h, lport, pport);
		return;
	}
	if (s == NULL) {
		if (op != HVL_VSOCK_OP_RST)
			queue_rst(v, lport, pport);
		return;
	}
	if (op == HVL_VSOCK_OP_RST) {
		sock_reset(v, s, s->state == S_CONNECTING ? ECONNREFUSED : ECONNRESET);
		return;
	}
	if (credit_take(s, h) != 0) {
		v->bad_pkts++;
		sock_abort(v, s);
		return;
	}
	switch (op) {
	case HVL_VSOCK_OP_RESPONSE:
		if (s->state != S_CONNECTING) {
			v->bad_pkts++;
			sock_abort(v, s);
			return;
		}
		s->state = S_ESTABLISHED;
		return;
	case HVL_VSOCK_OP_RW:
		if (s->state == S_CONNECTING || len > s->rcap - (s->rx_cnt - s->fwd_cnt)) {
			v->bad_pkts++;        /* before RESPONSE, or beyond our credit */
			sock_abort(v, s);
			return;
		}
		deliver(v, s, c, len);
		return;
	case HVL_VSOCK_OP_CREDIT_UPDATE:
		return;
	case HVL_VSOCK_OP_CREDIT_REQUEST:
		sock_pend(v, s, PEND_CREDIT);
		return;
	case HVL_VSOCK_OP_SHUTDOWN:
		s->peer_shut = (uint8_t)(s->peer_shut | (hvl_le32_get(&h->flags) & HVL_VSOCKD_SHUT_RDWR));
		/* §5.10.6.5: both directions shut and we closed too: the RST ends it. */
		if (s->state == S_CLOSING && s->peer_shut == HVL_VSOCKD_SHUT_RDWR) {
			queue_rst(v, s->lport, s->pport);
			sock_free(v, s);
		}
		return;
	default:
		v->bad_pkts++;
		sock_abort(v, s);
		return;
	}
}

/*
 * Return the transmit chains we are done with.  They are held rather than
 * pushed one by one: a push writes the used ring, a line the remote reads
 * when it takes buffers back, and that store would then wait for the line
 * ahead of the stores that answer the packet (the receiveq's used index).
 * transmitq() returns them at the first poll that finds the ring empty,
 * that is while the remote works on our answer, or once
 * HVL_VSOCKD_TX_HOLD are held; every sleep and full pass returns them too.
 */
static void tx_release(struct hvl_vsockd *v)
{
	struct hvl_vq_dev *vq = hvl_dev_vq(v->dev, HVL_VSOCK_TXQ);
	unsigned i;

	if (vq != NULL) {
		for (i = 0; i < v->ntx_done; i++)
			hvl_vq_dev_push(vq, v->tx_done[i], 0u);
		if (v->ntx_done != 0u)
			v->tx_pushed = 1u;
	}
	v->ntx_done = 0u; /* without a ring (reset), the chains are gone anyway */
}

/* Take the remote's packets, up to HVL_VSOCKD_BUDGET. */
static void transmitq(struct hvl_vsockd *v)
{
	struct hvl_vq_dev *vq = hvl_dev_vq(v->dev, HVL_VSOCK_TXQ);
	unsigned budget;

	if (vq == NULL)
		return;
	for (budget = HVL_VSOCKD_BUDGET; budget > 0u; budget--) {
		struct hvl_vsock_hdr h;
		uint32_t len;
		int r;

		/*
		 * A waiting recv's buffer is full: leave the rest in the ring
		 * for its next call rather than copying it twice via rbuf.
		 */
		if (v->rd_sock != NULL && v->rd_got == v->rd_len)
			break;

		/* A packet handled may have failed the device: look again before the next. */
		if (budget != HVL_VSOCKD_BUDGET && hvl_dev_vq(v->dev, HVL_VSOCK_TXQ) != vq)
			break;
		v->txc.c.iov = v->txc.iov;
		v->txc.c.cap = HVL_VSOCKD_IOV;
		/* The ring itself, not hvl_dev_pop(): this is every polling call's path. */
		r = hvl_vq_dev_pop(vq, &v->txc.c);
		if (r < 0)
			hvl_dev_fail(v->dev, r == -EFAULT ? HVL_BROKEN_ADDRESS : HVL_BROKEN_RING,
				     "queue %u: %s", HVL_VSOCK_TXQ, hvl_vq_fault_str(vq->fault));
		if (r <= 0) {
			/* An empty poll with chains held: nobody waits on us now. */
			if (r == 0 && budget == HVL_VSOCKD_BUDGET && v->ntx_done != 0u)
				tx_release(v);
			break;
		}
		if (v->txc.c.n_in != 0u) {
			hvl_dev_fail(v->dev, HVL_BROKEN_REQUEST,
				     "transmitq chain %u has %u device-writable buffer(s)", v->txc.c.head,
				     v->txc.c.n_in);
			return;
		}
		v->pkts_in++;
		/*
		 * The remote just wrote this packet: ask for every line of a
		 * small one at once, rather than the payload's after the header's.
		 */
		if (v->txc.c.n_out > 0u) {
			const uint8_t *p0 = v->txc.c.iov[0].base;
			uint32_t off;

			for (off = 64u; off < v->txc.c.iov[0].len && off < 512u; off += 64u)
				__builtin_prefetch(p0 + off);
		}
		/* Read once (STYLE 7): every check below looks at this copy only. */
		if (v->txc.c.out_len < HVL_VSOCK_HDR_SIZE) {
			v->bad_pkts++;
		} else {
			/* Usually the first buffer holds the header: a fixed-size copy, no call. */
			if (v->txc.c.iov[0].len >= HVL_VSOCK_HDR_SIZE)
				(void)memcpy(&h, v->txc.c.iov[0].base, HVL_VSOCK_HDR_SIZE);
			else
				(void)hvl_chain_read(&v->txc.c, 0u, &h, HVL_VSOCK_HDR_SIZE);
			len = hvl_le32_get(&h.len);
			if (hvl_le64_get(&h.src_cid) != v->cid ||
			    hvl_le64_get(&h.dst_cid) != HVL_VSOCK_CID_HOST) {
				v->bad_pkts++;        /* spoofed or confused: nobody to answer */
			} else if (len > v->txc.c.out_len - HVL_VSOCK_HDR_SIZE ||
				   len > HVL_VSOCK_MAX_PKT_PAYLOAD) {
				struct hvl_vsockd_sock *s = conn_find(v, hvl_le32_get(&h.dst_port),
								      hvl_le32_get(&h.src_port));

				v->bad_pkts++;
				if (s != NULL)
					sock_abort(v, s);
			} else if (hvl_le16_get(&h.type) != HVL_VSOCK_TYPE_STREAM) {
				v->bad_pkts++;
				/* §5.10.6.4: an unsupported type is answered with RST. */
				if (hvl_le16_get(&h.op) != HVL_VSOCK_OP_RST)
					queue_rst(v, hvl_le32_get(&h.dst_port), hvl_le32_get(&h.src_port));
			} else {
				on_packet(v, &h, &v->txc.c);
			}
		}
		v->tx_done[v->ntx_done++] = v->txc.c.head;
		if (v->ntx_done == HVL_VSOCKD_TX_HOLD)
			tx_release(v);
	}
}

/* What came in: the transport reset we owe, then the remote's packets. */
static void pump_in(struct hvl_vsockd *v)
{
	/* transmitq() finds no ring unless the device is live. */
	if (v->event_pending)
		events(v);
	transmitq(v);
}

/* What goes out: control packets, receive chains ahead, interrupt decisions. */
static void pump_out(struct hvl_vsockd *v)
{
	if (!vd_live(v))
		return;
	(void)flush_pending(v);
	rx_fill_ahead(v);
	tx_release(v);
	flush_interrupts(v);
}

static void pump(struct hvl_vsockd *v)
{
	pump_in(v);
	pump_out(v);
}

/* Serve the region once (transactions, heartbeat) and our queues. */
static void progress(struct hvl_vsockd *v)
{
	(void)hvl_devhost_service(v->host, 0u);
	pump(v);
}

static void check_deadlines(struct hvl_vsockd *v, uint64_t t)
{
	uint32_t i;

	for (i = 0; i < v->nsocks; i++) {
		struct hvl_vsockd_sock *s = &v->socks[i];

		if (s->state == S_CLOSING && t >= s->deadline) {
			queue_rst(v, s->lport, s->pport);
			sock_free(v, s);
		}
	}
}

/*
 * Sleep until the remote rings or @deadline (ms) passes: notifications on,
 * the rings looked at again (a packet may have come in between), sleep,
 * notifications off.  Returns -ETIMEDOUT once the deadline has passed.
 */
static int vd_wait(struct hvl_vsockd *v, uint64_t deadline, int want_rx)
{
	struct hvl_vq_dev *txq = hvl_dev_vq(v->dev, HVL_VSOCK_TXQ);
	struct hvl_vq_dev *rxq = hvl_dev_vq(v->dev, HVL_VSOCK_RXQ);
	uint64_t t = now_ms();
	int ready = 0;

	check_deadlines(v, t);
	tx_release(v);
	if (t >= deadline) {
		flush_interrupts(v);
		return -ETIMEDOUT;
	}
	if (txq != NULL && hvl_vq_dev_enable_notify(txq) != 0)
		ready = 1;
	/* The receiveq only matters when we hold no buffer and have something to send. */
	if (want_rx && v->nrxc == 0u && rxq != NULL && hvl_vq_dev_enable_notify(rxq) != 0)
		ready = 1;
	flush_interrupts(v);
	if (!ready)
		(void)hvl_devhost_service(v->host, (uint32_t)(deadline - t));
	txq = hvl_dev_vq(v->dev, HVL_VSOCK_TXQ);
	rxq = hvl_dev_vq(v->dev, HVL_VSOCK_RXQ);
	if (txq != NULL)
		hvl_vq_dev_disable_notify(txq);
	if (rxq != NULL)
		hvl_vq_dev_disable_notify(rxq);
	return 0;
}

static uint64_t deadline_of(uint32_t timeout_ms)
{
	return now_ms() + timeout_ms;
}

/* ------------------------------------------------------------ device ops */

static void ops_reset(struct hvl_dev *d)
{
	struct hvl_vsockd *v = d->priv;
	uint32_t i;

	for (i = 0; i < v->nsocks; i++) {
		struct hvl_vsockd_sock *s = &v->socks[i];

		if (s->state == S_ESTABLISHED || s->state == S_CONNECTING || s->state == S_CLOSING)
			sock_reset(v, s, ECONNRESET);
	}
	v->nrxc = 0u;
	v->rst_head = v->rst_count = 0u;
	v->event_pending = 0u;
	v->rx_pushed = v->tx_pushed = 0u;
	v->ntx_done = 0u;
	v->resets++;
}

/* Every DRIVER_OK owes the transport reset event (§5.10.6.7), as hvl-pmm's vsock does. */
static int ops_driver_ok(struct hvl_dev *d)
{
	struct hvl_vsockd *v = d->priv;

	v->event_pending = 1u;
	return 0;
}

static void ops_queue(struct hvl_dev *d, unsigned q)
{
	(void)q;
	pump(d->priv);
}

static const struct hvl_dev_ops vsockd_ops = {
	.reset = ops_reset,
	.driver_ok = ops_driver_ok,
	.queue = ops_queue,
};

/* ------------------------------------------------------------ API */

int hvl_vsockd_init(struct hvl_vsockd *v, const struct hvl_vsockd_mem *m, uint64_t cid)
{
	uint32_t i;
	size_t per;

	if (v == NULL || m == NULL || m->socks == NULL || m->nsocks == 0u || m->nsocks > 65535u ||
	    m->rbuf == NULL || cid < HVL_VSOCK_CID_MIN_GUEST || cid > 0xffffffffu)
		return -EINVAL;
	per = m->rbuf_len / m->nsocks;
	if (per > 0x40000000u)
		per = 0x40000000u;
	if (per < HVL_VSOCKD_MIN_RBUF)
		return -ENOSPC;
	(void)memset(v, 0, sizeof(*v));
	v->cid = cid;
	v->socks = m->socks;
	v->nsocks = m->nsocks;
	v->next_port = HVL_VSOCKD_EPHEMERAL;
	for (i = 0; i < v->nsocks; i++) {
		(void)memset(&v->socks[i], 0, sizeof(v->socks[i]));
		v->socks[i].rbuf = &m->rbuf[(size_t)i * per];
		v->socks[i].rcap = (uint32_t)per;
	}
	hvl_le64_put(&v->config.guest_cid, cid);
	return 0;
}

void hvl_vsockd_describe(struct hvl_vsockd *v, struct hvl_devhost_dev *d, uint16_t qsize,
			 uint64_t data_size)
{
	(void)memset(d, 0, sizeof(*d));
	d->name = "vsockd";
	d->device_id = 19u; /* virtio socket */
	d->num_queues = HVL_VSOCK_NUM_QUEUES;
	d->queue_size = qsize;
	d->data_size = data_size;
	d->features = HVL_F_VERSION_1 | HVL_F_EVENT_IDX | HVL_F_INDIRECT_DESC | HVL_VSOCK_F_STREAM;
	d->config = &v->config;
	d->config_size = (uint32_t)sizeof(v->config);
	d->ops = &vsockd_ops;
	d->priv = v;
}

int hvl_vsockd_bind(struct hvl_vsockd *v, struct hvl_devhost *h, unsigned index)
{
	struct hvl_dev *d = hvl_devhost_dev(h, index);

	if (v == NULL || d == NULL || d->priv != v || d->ops != &vsockd_ops)
		return -EINVAL;
	v->host = h;
	v->dev = d;
	return 0;
}

int hvl_vsockd_socket(struct hvl_vsockd *v)
{
	struct hvl_vsockd_sock *s;

	if (v == NULL || v->dev == NULL)
		return -EINVAL;
	s = sock_alloc(v);
	return s == NULL ? -EMFILE : (int)(s - v->socks);
}

int hvl_vsockd_listen(struct hvl_vsockd *v, int sd, uint32_t port, uint16_t backlog)
{
	struct hvl_vsockd_sock *s = sock_get(v, sd);
	uint32_t i;

	if (s == NULL || s->state != S_CLOSED || s->err != 0 || backlog == 0u)
		return -EINVAL;
	for (i = 0; i < v->nsocks; i++)
		if (v->socks[i].state == S_LISTEN && v->socks[i].lport == port)
			return -EADDRINUSE;
	s->state = S_LISTEN;
	s->lport = port;
	s->backlog = backlog;
	return 0;
}

int hvl_vsockd_accept(struct hvl_vsockd *v, int sd, uint32_t *peer_port, uint32_t timeout_ms)
{
	struct hvl_vsockd_sock *l = sock_get(v, sd);
	uint64_t deadline = deadline_of(timeout_ms);

	if (l == NULL || l->state != S_LISTEN)
		return -EINVAL;
	for (;;) {
		uint32_t i;

		progress(v);
		for (i = 0; i < v->nsocks; i++) {
			struct hvl_vsockd_sock *c = &v->socks[i];

			if (c->state == S_FREE || c->parent != (uint16_t)(sd + 1) || c->accepted)
				continue;
			c->accepted = 1u;
			l->nqueued--;
			if (peer_port != NULL)
				*peer_port = c->pport;
			return (int)i;
		}
		if (timeout_ms == 0u || vd_wait(v, deadline, 0) != 0)
			return timeout_ms == 0u ? -EAGAIN : -ETIMEDOUT;
	}
}

static int port_used(const struct hvl_vsockd *v, uint32_t port)
{
	uint32_t i;

	for (i = 0; i < v->nsocks; i++)
		if (v->socks[i].state != S_FREE && v->socks[i].state != S_CLOSED &&
		    v->socks[i].lport == port)
			return 1;
	return 0;
}

int hvl_vsockd_connect(struct hvl_vsockd *v, int sd, uint32_t port, uint32_t timeout_ms)
{
	struct hvl_vsockd_sock *s = sock_get(v, sd);
	uint64_t deadline = deadline_of(timeout_ms);
	uint32_t tries;

	if (s == NULL || s->state != S_CLOSED || s->parent != 0u)
		return -EINVAL;
	if (!vd_live(v))
		progress(v);
	if (!vd_live(v))
		return -ENOTCONN;
	/*
	 * A socket can be connected again after a reset or a refusal: nothing
	 * of its old connection (unread bytes, counters and credit, shutdown
	 * flags) may carry over, or the old bytes read as the new stream's and
	 * a fwd_cnt that starts at 0 looks like one moving backwards.
	 */
	sock_clear(s);
	s->state = S_CLOSED;
	for (tries = 0; tries < 65536u; tries++) {
		uint32_t p = v->next_port;

		v->next_port = v->next_port >= 0xffffffffu ? HVL_VSOCKD_EPHEMERAL : v->next_port + 1u;
		if (!port_used(v, p)) {
			s->lport = p;
			break;
		}
	}
	if (tries == 65536u)
		return -EADDRNOTAVAIL;
	s->pport = port;
	s->state = S_CONNECTING;
	sock_pend(v, s, PEND_REQUEST);
	for (;;) {
		progress(v);
		if (s->state == S_ESTABLISHED)
			return 0;
		if (s->state != S_CONNECTING) {
			int e = s->err != 0 ? s->err : ECONNRESET;

			s->err = 0;
			s->state = S_CLOSED;
			return -e;
		}
		if (vd_wait(v, deadline, 1) != 0) {
			queue_rst(v, s->lport, s->pport);
			s->state = S_CLOSED;
			s->pend = 0u;
			pump(v);
			return -ETIMEDOUT;
		}
	}
}

static int sock_err(struct hvl_vsockd_sock *s)
{
	if (s->err != 0)
		return -s->err;
	return s->state == S_ESTABLISHED ? 0 : -ENOTCONN;
}

long hvl_vsockd_send(struct hvl_vsockd *v, int sd, const void *buf, size_t len, uint32_t timeout_ms)
{
	struct hvl_vsockd_sock *s = sock_get(v, sd);
	const uint8_t *p = buf;
	uint64_t deadline = 0u;
	size_t done = 0;
	int rc;

	if (s == NULL || (buf == NULL && len > 0u))
		return -EINVAL;
	if (len > 0x7fffffffu)
		len = 0x7fffffffu;
	/*
	 * No progress() first: with credit and a receive chain held ahead the
	 * packet goes out at once, and the housekeeping waits for the next
	 * call (it is the round trip's critical path).
	 */
	for (;;) {
		uint32_t credit, room, n;

		rc = sock_err(s);
		if (rc != 0)
			break;
		if ((s->local_shut & HVL_VSOCK_SHUTDOWN_SEND) != 0u ||
		    (s->peer_shut & HVL_VSOCK_SHUTDOWN_RCV) != 0u) {
			rc = -EPIPE;
			break;
		}
		if (done == len)
			break;
		credit = peer_credit(s);
		room = credit > 0u ? rx_room(v) : 0u;
		if (credit > 0u && room > 0u) {
			n = (uint32_t)((len - done) < credit ? (len - done) : credit);
			if (n > room)
				n = room;
			if (emit(v, s, s->lport, s->pport, HVL_VSOCK_OP_RW, 0u, p + done, n) != 0)
				break;
			s->tx_cnt += n;
			done += n;
			continue;
		}
		if (done > 0u || timeout_ms == 0u) {
			if (done > 0u)
				break;
			progress(v);
			if (peer_credit(s) > 0u && rx_room(v) > 0u)
				continue;
			flush_interrupts(v);
			return -EAGAIN;
		}
		/*
		 * About to sleep for credit: ask once (§5.10.6.3 CREDIT_REQUEST),
		 * in case the remote's last update was lost in a reset or never
		 * came.  Non-blocking callers wait for its regular updates.
		 */
		if (credit == 0u && !s->credit_asked) {
			s->credit_asked = 1u;
			v->credit_requests++;
			sock_pend(v, s, PEND_CREDREQ);
			pump_out(v);
		}
		if (deadline == 0u)
			deadline = deadline_of(timeout_ms);
		if (vd_wait(v, deadline, credit > 0u) != 0) {
			flush_interrupts(v);
			return -EAGAIN;
		}
		progress(v);
	}
	flush_interrupts(v);
	/*
	 * The packet is out: take receive chains ahead now, while it travels,
	 * rather than on the next send's path (the remote writes that ring).
	 */
	if (done > 0u && vd_live(v))
		rx_fill_ahead(v);
	if (done > 0u)
		return (long)done;
	return rc != 0 ? rc : 0;
}

/* Copy out of the socket's buffer; credit goes back once a quarter was read. */
static uint32_t take(struct hvl_vsockd *v, struct hvl_vsockd_sock *s, uint8_t *dst, uint32_t len)
{
	uint32_t n = len < s->rcount ? len : s->rcount;
	uint32_t first = s->rcap - s->rhead;

	if (first > n)
		first = n;
	(void)memcpy(dst, s->rbuf + s->rhead, first);
	(void)memcpy(dst + first, s->rbuf, n - first);
	s->rhead = (s->rhead + n) % s->rcap;
	s->rcount -= n;
	s->fwd_cnt += n;
	maybe_credit(v, s);
	return n;
}

long hvl_vsockd_recv(struct hvl_vsockd *v, int sd, void *buf, size_t len, uint32_t timeout_ms)
{
	struct hvl_vsockd_sock *s = sock_get(v, sd);
	uint64_t deadline = 0u;
	uint32_t want;
	long ret;

	if (s == NULL || buf == NULL || len == 0u)
		return -EINVAL;
	want = len > 0x7fffffffu ? 0x7fffffffu : (uint32_t)len;
	if (s->rcount > 0u) {
		ret = (long)take(v, s, buf, want);
		if (s->pend != 0u) {
			(void)flush_pending(v);
			flush_interrupts(v);
		}
		return ret;
	}
	for (;;) {
		if (s->state != S_ESTABLISHED && s->state != S_CLOSED)
			return -ENOTCONN;
		if (s->rcount == 0u && (s->peer_shut & HVL_VSOCK_SHUTDOWN_SEND) != 0u)
			return 0;
		if (s->err != 0)
			return -s->err;
		if (s->state != S_ESTABLISHED)
			return -ENOTCONN;
		/* Packets for this socket may now land in @buf directly. */
		v->rd_sock = s;
		v->rd_buf = buf;
		v->rd_len = want;
		v->rd_got = 0u;
		/*
		 * The transmitq first.  A caller polling with timeout 0 gets the
		 * rest (register service, heartbeat, receive chains ahead) once
		 * every HVL_VSOCKD_IDLE_PASS empty calls only: each pass reads
		 * lines the remote writes, which costs both sides on a polled
		 * round trip.
		 */
		pump_in(v);
		if (v->rd_got == 0u && s->rcount == 0u &&
		    (timeout_ms != 0u || ++v->idle_polls % HVL_VSOCKD_IDLE_PASS == 0u)) {
			(void)hvl_devhost_service(v->host, 0u);
			pump_in(v);
			pump_out(v);
		}
		v->rd_sock = NULL;
		if (v->rd_got > 0u || s->rcount > 0u) {
			ret = (long)v->rd_got;
			if (ret < (long)want && s->rcount > 0u)
				ret += (long)take(v, s, (uint8_t *)buf + ret, want - (uint32_t)ret);
			maybe_credit(v, s);
			if (s->pend != 0u) {
				(void)flush_pending(v);
				flush_interrupts(v);
			}
			return ret;
		}
		if (v->any_pend || v->rst_count != 0u)
			pump_out(v);
		if (s->state != S_ESTABLISHED || s->err != 0 ||
		    (s->peer_shut & HVL_VSOCK_SHUTDOWN_SEND) != 0u)
			continue;
		if (timeout_ms == 0u) {
			/* Chains returned by this poll: a sleeping remote may wait for them. */
			if (v->tx_pushed != 0u)
				flush_interrupts(v);
			return -EAGAIN;
		}
		if (deadline == 0u)
			deadline = deadline_of(timeout_ms);
		if (vd_wait(v, deadline, 0) != 0)
			return -EAGAIN;
	}
}

int hvl_vsockd_shutdown(struct hvl_vsockd *v, int sd, uint32_t how)
{
	struct hvl_vsockd_sock *s = sock_get(v, sd);

	if (s == NULL || (how & ~(uint32_t)HVL_VSOCKD_SHUT_RDWR) != 0u || how == 0u)
		return -EINVAL;
	if (s->state != S_ESTABLISHED)
		return -ENOTCONN;
	s->local_shut = (uint8_t)(s->local_shut | how);
	sock_pend(v, s, PEND_SHUTDOWN);
	progress(v);
	return 0;
}

int hvl_vsockd_close(struct hvl_vsockd *v, int sd)
{
	struct hvl_vsockd_sock *s = sock_get(v, sd);
	uint32_t i;

	if (s == NULL)
		return -EINVAL;
	switch (s->state) {
	case S_LISTEN:
		for (i = 0; i < v->nsocks; i++) {
			struct hvl_vsockd_sock *c = &v->socks[i];

			if (c->state != S_FREE && c->parent == (uint16_t)(sd + 1) && !c->accepted) {
				if (c->state == S_ESTABLISHED)
					queue_rst(v, c->lport, c->pport);
				sock_free(v, c);
			}
		}
		sock_free(v, s);
		break;
	case S_CONNECTING:
		queue_rst(v, s->lport, s->pport);
		sock_free(v, s);
		break;
	case S_ESTABLISHED:
		if (s->peer_shut == HVL_VSOCKD_SHUT_RDWR) {
			queue_rst(v, s->lport, s->pport);
			sock_free(v, s);
			break;
		}
		/* §5.10.6.5: SHUTDOWN both ways, then the remote's RST (or ours, later). */
		s->state = S_CLOSING;
		s->local_shut = HVL_VSOCKD_SHUT_RDWR;
		s->rcount = 0u;
		s->deadline = now_ms() + HVL_VSOCKD_CLOSE_MS;
		sock_pend(v, s, PEND_SHUTDOWN);
		break;
	default:
		sock_free(v, s);
		break;
	}
	progress(v);
	return 0;
}

static uint32_t revents_of(const struct hvl_vsockd *v, const struct hvl_vsockd_sock *s, int sd)
{
	uint32_t r = 0u, i;

	if (s->state == S_LISTEN) {
		for (i = 0; i < v->nsocks; i++)
			if (v->socks[i].state != S_FREE && v->socks[i].parent == (uint16_t)(sd + 1) &&
			    !v->socks[i].accepted)
				return HVL_VSOCKD_POLLIN;
		return 0u;
	}
	if (s->rcount > 0u)
		r |= HVL_VSOCKD_POLLIN;
	if ((s->peer_shut & HVL_VSOCK_SHUTDOWN_SEND) != 0u)
		r |= HVL_VSOCKD_POLLIN | HVL_VSOCKD_POLLHUP;
	if (s->err != 0)
		r |= HVL_VSOCKD_POLLIN | HVL_VSOCKD_POLLERR;
	if (s->state == S_ESTABLISHED && peer_credit(s) > 0u)
		r |= HVL_VSOCKD_POLLOUT;
	return r;
}

int hvl_vsockd_poll(struct hvl_vsockd *v, struct hvl_vsockd_pollfd *fds, uint32_t n,
		    uint32_t timeout_ms)
{
	uint64_t deadline = deadline_of(timeout_ms);

	if (v == NULL || (fds == NULL && n > 0u))
		return -EINVAL;
	for (;;) {
		int ready = 0;
		uint32_t i;

		progress(v);
		for (i = 0; i < n; i++) {
			const struct hvl_vsockd_sock *s = sock_get(v, fds[i].sd);

			fds[i].revents = s == NULL ? HVL_VSOCKD_POLLERR :
				revents_of(v, s, fds[i].sd) &
				(fds[i].events | HVL_VSOCKD_POLLERR | HVL_VSOCKD_POLLHUP);
			if (fds[i].revents != 0u)
				ready++;
		}
		if (ready > 0 || timeout_ms == 0u)
			return ready;
		if (vd_wait(v, deadline, 1) != 0)
			return 0;
	}
}

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vsock backend, the device -> remote direction (virtio 1.2 §5.10.6): what
 * goes into receiveq chains (queued RSTs first, then each connection in
 * turn: REQUEST, RESPONSE, data within the remote's credit, SHUTDOWN,
 * CREDIT_UPDATE) and the eventq's transport reset.  Runs on the device
 * thread with v->lock held around the shared state; see vsock.c for the
 * design.
 */
#include <errno.h>
#include <string.h>

#include "vsock_priv.h"


/* Credit the remote gives us now: buf_alloc - (tx_cnt - fwd_cnt), never negative. */
static uint32_t peer_credit(const struct vs_conn *c)
{
	uint32_t inflight = c->tx_cnt - c->peer_fwd_cnt;

	return inflight >= c->peer_buf_alloc ? 0u : c->peer_buf_alloc - inflight;
}

/* Header of a packet to the remote, with our current credit for @c. */
static void hdr_fill(struct vs *v, struct hvl_vsock_hdr *h, uint32_t host_port, uint32_t remote_port,
		     uint16_t op, uint32_t len, uint32_t flags, struct vs_conn *c)
{
	hvl_vsock_hdr_init(h, HVL_VSOCK_CID_HOST, v->cid, host_port, remote_port, op, flags, len,
			   c != NULL ? v->buf_size : 0u, c != NULL ? c->fwd_cnt : 0u);
	if (c != NULL)
		c->fwd_adv = c->fwd_cnt;
}

/*
 * Choose the next packet for the remote and write it into @ch (room for
 * @room bytes): queued RSTs first, then each connection in turn.  Returns
 * the bytes written, 0 if there is nothing to send.  Lock held.
 */
static uint32_t pick_packet(struct vs *v, const struct hvl_chain *ch, uint32_t room)
{
	struct hvl_vsock_hdr h;
	unsigned i;

	if (v->rst_count > 0) {
		const struct vs_rst *r = &v->rst[v->rst_head];

		hdr_fill(v, &h, r->host_port, r->remote_port, HVL_VSOCK_OP_RST, 0, 0, NULL);
		v->rst_head = (v->rst_head + 1) % VS_RST_RING;
		v->rst_count--;
		(void)hvl_chain_write(ch, 0, &h, HVL_VSOCK_HDR_SIZE);
		return HVL_VSOCK_HDR_SIZE;
	}
	for (i = 0; i < v->hiwater; i++) {
		unsigned idx = (v->cursor + i) % v->hiwater;
		struct vs_conn *c = &v->conn[idx];
		uint32_t n;

		if (c->state == VS_FREE || c->state == VS_LINE)
			continue;
		if (c->pend & VS_PEND_REQUEST) {
			c->pend &= ~VS_PEND_REQUEST;
			hdr_fill(v, &h, c->host_port, c->remote_port, HVL_VSOCK_OP_REQUEST, 0, 0, c);
		} else if (c->state != VS_ESTABLISHED || c->close_after_flush) {
			continue;
		} else if (c->pend & VS_PEND_RESPONSE) {
			c->pend &= ~VS_PEND_RESPONSE;
			hdr_fill(v, &h, c->host_port, c->remote_port, HVL_VSOCK_OP_RESPONSE, 0, 0, c);
		} else if (c->hcount > 0 && !c->remote_norcv && (n = peer_credit(c)) > 0) {
			uint32_t first;

			if (n > c->hcount)
				n = c->hcount;
			if (n > room - HVL_VSOCK_HDR_SIZE)
				n = room - HVL_VSOCK_HDR_SIZE;
			if (n > HVL_VSOCK_MAX_PKT_PAYLOAD)
				n = HVL_VSOCK_MAX_PKT_PAYLOAD;
			hdr_fill(v, &h, c->host_port, c->remote_port, HVL_VSOCK_OP_RW, n, 0, c);
			(void)hvl_chain_write(ch, 0, &h, HVL_VSOCK_HDR_SIZE);
			/* hbuf is a ring: at most two pieces. */
			first = c->hcap - c->hhead;
			if (first > n)
				first = n;
			(void)hvl_chain_write(ch, HVL_VSOCK_HDR_SIZE, c->hbuf + c->hhead, first);
			if (n > first)
				(void)hvl_chain_write(ch, HVL_VSOCK_HDR_SIZE + first, c->hbuf, n - first);
			c->hhead = (c->hhead + n) % c->hcap;
			c->hcount -= n;
			c->tx_cnt += n;
			v->pkts_out++;
			v->cursor = idx + 1;
			vs_conn_sync(c); /* room again: read the socket */
			return HVL_VSOCK_HDR_SIZE + n;
		} else if (c->host_eof && c->hcount == 0 && !c->eof_sent) {
			c->eof_sent = 1;
			hdr_fill(v, &h, c->host_port, c->remote_port, HVL_VSOCK_OP_SHUTDOWN, 0,
				 HVL_VSOCK_SHUTDOWN_SEND, c);
			(void)hvl_chain_write(ch, 0, &h, HVL_VSOCK_HDR_SIZE);
			v->pkts_out++;
			v->cursor = idx + 1;
			(void)vs_conn_maybe_done(c);
			return HVL_VSOCK_HDR_SIZE;
		} else if (c->pend & VS_PEND_CREDIT) {
			c->pend &= ~VS_PEND_CREDIT;
			hdr_fill(v, &h, c->host_port, c->remote_port, HVL_VSOCK_OP_CREDIT_UPDATE, 0, 0, c);
		} else {
			continue;
		}
		(void)hvl_chain_write(ch, 0, &h, HVL_VSOCK_HDR_SIZE);
		v->pkts_out++;
		v->cursor = idx + 1;
		return HVL_VSOCK_HDR_SIZE;
	}
	return 0;
}

/* CONNECT clients the remote never answered: ERR and RST after VS_CONNECT_MS. */
static void check_deadlines(struct vs *v)
{
	uint64_t now = hvl_pmm_now_ms();
	unsigned i;

	if (now - v->last_tick_ms < 100u)
		return;
	v->last_tick_ms = now;
	for (i = 0; i < v->hiwater; i++) {
		struct vs_conn *c = &v->conn[i];

		if (c->state == VS_CONNECTING && now >= c->deadline_ms) {
			vs_queue_rst(v, c->host_port, c->remote_port);
			vs_client_answer(c, 0);
		}
	}
}

/* receiveq (§5.10.6.1): our packets, in device-writable chains. */
void vs_rx(struct hvl_dev *d)
{
	struct vs *v = d->priv;
	unsigned budget = VS_BUDGET;
	int pushed = 0, more = 0, bad = 0;

	if (!hvl_dev_live(d))
		return;
	pthread_mutex_lock(&v->lock);
	check_deadlines(v);
	for (;;) {
		struct hvl_vq_dev *vq;
		uint32_t n;

		if (budget == 0) {
			more = 1;
			break;
		}
		budget--;
		/* A chain popped earlier and not used yet is kept (there is no un-pop). */
		if (!v->rx_held) {
			if (v->rst_count == 0 && v->nconn == 0)
				break;
			if (hvl_dev_pop(d, HVL_VSOCK_RXQ, &v->rxc) <= 0)
				break;
			if (v->rxc.n_out != 0 || v->rxc.in_len < HVL_VSOCK_HDR_SIZE + 1u) {
				bad = 1;
				break;
			}
			v->rx_held = 1;
		}
		n = pick_packet(v, &v->rxc, v->rxc.in_len);
		if (n == 0)
			break;
		vq = hvl_dev_vq(d, HVL_VSOCK_RXQ);
		if (vq != NULL)
			hvl_vq_dev_push(vq, v->rxc.head, n);
		v->rx_held = 0;
		pushed = 1;
	}
	pthread_mutex_unlock(&v->lock);
	if (bad)
		hvl_dev_fail(d, HVL_BROKEN_REQUEST, "receiveq chain %u: %u readable, %u writable byte(s)",
			     v->rxc.head, v->rxc.out_len, v->rxc.in_len);
	if (pushed)
		hvl_dev_vq_interrupt(d, HVL_VSOCK_RXQ);
	if (more)
		hvl_dev_kick(d);
}

/* eventq (§5.10.6.7): the transport reset, once per DRIVER_OK. */
void vs_ev(struct hvl_dev *d)
{
	struct vs *v = d->priv;
	struct hvl_vsock_event e;
	struct hvl_vq_dev *vq;
	int r, bad = 0, pushed = 0;

	if (!hvl_dev_live(d))
		return;
	pthread_mutex_lock(&v->lock);
	if (v->event_pending) {
		r = hvl_dev_pop(d, HVL_VSOCK_EVQ, &v->evc);
		if (r > 0) {
			if (v->evc.n_out != 0 || v->evc.in_len < sizeof(e)) {
				bad = 1;
			} else {
				hvl_le32_put(&e.id, HVL_VSOCK_EVENT_TRANSPORT_RESET);
				(void)hvl_chain_write(&v->evc, 0, &e, sizeof(e));
				vq = hvl_dev_vq(d, HVL_VSOCK_EVQ);
				if (vq != NULL)
					hvl_vq_dev_push(vq, v->evc.head, sizeof(e));
				v->event_pending = 0;
				v->events++;
				pushed = 1;
			}
		}
	}
	pthread_mutex_unlock(&v->lock);
	if (bad)
		hvl_dev_fail(d, HVL_BROKEN_REQUEST, "eventq chain %u too small or readable", v->evc.head);
	if (pushed)
		hvl_dev_vq_interrupt(d, HVL_VSOCK_EVQ);
}

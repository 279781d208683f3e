/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio socket driver for the remote core (virtio 1.2 §5.10), stream
 * sockets only.
 *
 * Queues: receive buffers (header + payload, 4 to 32 KiB in all) are
 * posted device-writable on queue 0; each packet that comes back is checked
 * (STYLE 10: the header is copied once, its len must fit the used length,
 * the CIDs must be host -> us, the type must be stream), its payload copied
 * into the buffer of the recv() taking it in or else into the socket's own
 * receive ring, and the buffer is re-posted (on a polled round trip's path,
 * once the answer is out: vsk_rx_release()).
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

#include "vsock_priv.h"

/* The socket behind descriptor @sd, or NULL. */
static struct hvl_vsock_sock *sock_get(struct hvl_vsock *v, int sd)
{
	if (v == NULL || v->is_open == 0u || sd < 0 || (uint32_t)sd >= v->nsocks)
		return NULL;
	if (v->socks[sd].state == (uint8_t)HVL_VSOCK_S_FREE)
		return NULL;
	return &v->socks[sd];
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
		vsk_sock_pend(v, s, PEND_REQUEST);
	}
	deadline = vsk_deadline(v, timeout_ms);
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
		if (vsk_wait(v, deadline) != 0) {
			/* Give up: RST so the host forgets the half-open connection. */
			vsk_sock_pend(v, s, PEND_RST);
			s->state = (uint8_t)HVL_VSOCK_S_CLOSED;
			(void)vsk_flush_pending(v);
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
	uint32_t self = (uint32_t)sd + 1u;
	uint64_t deadline;

	if (s == NULL)
		return -EBADF;
	if (s->state != (uint8_t)HVL_VSOCK_S_LISTEN)
		return -EINVAL;
	deadline = vsk_deadline(v, timeout_ms);
	for (;;) {
		uint32_t i;
		int rc = hvl_vsock_pump(v);

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
		if (vsk_wait(v, deadline) != 0)
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

	if (s == NULL)
		return -EBADF;
	if (len == 0u)
		return 0;
	if (buf == NULL)
		return -EINVAL;
	if (len > VS_LONG_MAX)
		len = VS_LONG_MAX;
	deadline = 0u; /* read the clock only if we wait */
	for (;;) {
		int added = 0;
		int rc;

		/*
		 * With credit and a free transmit buffer the packet goes out
		 * first: incoming packets wait for the next call (this is half
		 * of a polled round trip).  Otherwise take in what the device
		 * sent (credit updates, used buffers) before deciding.
		 */
		if (vsk_peer_credit(s) == 0u || v->tx_nfree == 0u || v->any_pend != 0u ||
		    hvl_vsock_broken(v) != 0) {
			rc = hvl_vsock_pump(v);
			if (rc != 0)
				return rc;
		}
		rc = sock_err(s);
		if (rc == 0 && ((s->local_shut & HVL_VSOCK_SHUTDOWN_SEND) != 0u ||
				(s->peer_shut & HVL_VSOCK_SHUTDOWN_RCV) != 0u))
			rc = -EPIPE;
		if (rc != 0)
			return (done > 0u) ? (long)done : rc;
		/* Within the peer's credit only (§5.10.6.3). */
		while (done < len) {
			uint32_t credit = vsk_peer_credit(s);
			size_t n = len - done;

			if (credit == 0u)
				break;
			if (n > credit)
				n = credit;
			if (n > v->buf_size - HVL_VSOCK_HDR_SIZE)
				n = v->buf_size - HVL_VSOCK_HDR_SIZE;
			rc = vsk_tx_packet(v, s, s->lport, s->pport, (uint16_t)HVL_VSOCK_OP_RW, 0u, &src[done],
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
		if (added != 0) {
			hvl_vdev_kick(&v->vdev, HVL_VSOCK_TXQ, &v->txq);
			/*
			 * Take transmit buffers back now, while the packet travels:
			 * reading the used ring the device writes costs a transfer,
			 * better here than on the receive path of a round trip.
			 */
			if ((v->tx_nfree < (uint16_t)(v->ntx / 2u + 1u) && vsk_tx_reclaim(v) != 0) ||
			    vsk_rx_release(v) != 0)
				return (done > 0u) ? (long)done : -EIO;
		}
		if (done == len)
			return (long)done;
		if (timeout_ms != 0u && deadline == 0u)
			deadline = vsk_deadline(v, timeout_ms);
		if (timeout_ms == 0u || vsk_wait(v, deadline) != 0) {
			if (done > 0u)
				return (long)done;
			return (timeout_ms == 0u) ? -EAGAIN : -ETIMEDOUT;
		}
	}
}

/* Tell the peer once a quarter of @s's buffer is free again. */
static void credit_check(struct hvl_vsock *v, struct hvl_vsock_sock *s)
{
	if (s->state == (uint8_t)HVL_VSOCK_S_ESTABLISHED && s->fwd_cnt - s->fwd_adv >= s->rcap / 4u) {
		vsk_sock_pend(v, s, PEND_CREDIT);
		(void)vsk_flush_pending(v);
	}
}

/*
 * recv()'s result: @got bytes already in @dst (delivered straight by a
 * pass), topped up from the socket's receive ring up to @len.
 */
static long recv_take(struct hvl_vsock *v, struct hvl_vsock_sock *s, uint8_t *dst, size_t len,
		      uint32_t got)
{
	if (got < len && s->rcount > 0u) {
		uint32_t n = (len - got < s->rcount) ? (uint32_t)(len - got) : s->rcount;
		uint32_t first = s->rcap - s->rhead;

		if (first > n)
			first = n;
		(void)memcpy(&dst[got], &s->rbuf[s->rhead], first);
		if (n > first)
			(void)memcpy(&dst[got + first], s->rbuf, n - first);
		s->rhead = (s->rhead + n) % s->rcap;
		s->rcount -= n;
		s->fwd_cnt += n;
		got += n;
	}
	credit_check(v, s);
	return (long)got;
}

/*
 * A polling caller found nothing: ask for the lines of the buffer the
 * device will most likely fill next, so that they may already be on the
 * way when its used index moves.  A hint only; nothing is read.
 */
static void prefetch_next_rx(const struct hvl_vsock *v)
{
#if defined(__GNUC__)
	if (v->rx_next < v->nrx) {
		__builtin_prefetch(v->rx[v->rx_next].local);
		__builtin_prefetch(&v->rx[v->rx_next].local[64]);
	}
#else
	(void)v;
#endif
}

long hvl_vsock_recv(struct hvl_vsock *v, int sd, void *buf, size_t len, uint32_t timeout_ms)
{
	struct hvl_vsock_sock *s = sock_get(v, sd);
	uint8_t *dst = buf;
	uint64_t deadline;

	if (s == NULL)
		return -EBADF;
	if (len == 0u)
		return 0;
	if (buf == NULL)
		return -EINVAL;
	if (len > 0x7FFFFFFFu)
		len = 0x7FFFFFFFu;
	deadline = 0u; /* read the clock only if we wait */
	for (;;) {
		int rc;

		/*
		 * Data already buffered is returned without a pass over the
		 * rings.  A caller polling with timeout 0 finds an empty receive
		 * ring by its used index alone, and gets the whole pass every
		 * HVL_VSOCK_IDLE_PASS such calls.  During the pass, this socket's
		 * packets are copied straight into @buf (once, not via rbuf).
		 */
		if (s->rcount == 0u) {
			int more = hvl_vq_drv_more_used(&v->rxq);

			if (timeout_ms != 0u || more != 0 || v->any_pend != 0u || v->rst_count != 0u ||
			    ++v->idle_polls % HVL_VSOCK_IDLE_PASS == 0u) {
				v->rd_sock = s;
				v->rd_buf = dst;
				v->rd_len = (uint32_t)len;
				v->rd_got = 0u;
				rc = vsk_pump(v, more);
				v->rd_sock = NULL;
				if (v->rd_got > 0u) {
					uint32_t got = v->rd_got;

					v->rd_got = 0u;
					return recv_take(v, s, dst, len, got);
				}
				if (rc != 0)
					return rc;
			}
		}
		if (s->rcount > 0u)
			return recv_take(v, s, dst, len, 0u);
		if ((s->state == (uint8_t)HVL_VSOCK_S_ESTABLISHED ||
		     (s->state == (uint8_t)HVL_VSOCK_S_CLOSED && s->err == 0)) &&
		    (s->peer_shut & HVL_VSOCK_SHUTDOWN_SEND) != 0u)
			return 0; /* end of stream */
		rc = sock_err(s);
		if (rc != 0)
			return rc;
		if (timeout_ms == 0u) {
			/* An empty poll: the device is busy with our packet, so give buffers back now. */
			if (v->nrx_done != 0u && vsk_rx_release(v) != 0)
				return -EIO;
			prefetch_next_rx(v);
			return -EAGAIN;
		}
		if (deadline == 0u)
			deadline = vsk_deadline(v, timeout_ms);
		if (vsk_wait(v, deadline) != 0)
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
	vsk_sock_pend(v, s, PEND_SHUTDOWN);
	return (vsk_flush_pending(v) != 0) ? -EIO : 0;
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
		s->deadline = vsk_now(v) + HVL_VSOCK_CLOSE_MS;
		s->pend = (uint8_t)(s->pend & PEND_CREDIT);
		vsk_sock_pend(v, s, PEND_SHUTDOWN);
		break;
	case HVL_VSOCK_S_CONNECTING:
		s->state = (uint8_t)HVL_VSOCK_S_CLOSING;
		s->pend = 0u;
		vsk_sock_pend(v, s, PEND_RST);
		break;
	case HVL_VSOCK_S_CLOSING:
		return -EBADF;
	default:
		vsk_sock_free(v, s);
		break;
	}
	(void)vsk_flush_pending(v);
	return 0;
}

/* Readiness of one socket. */
static uint32_t sock_revents(const struct hvl_vsock *v, const struct hvl_vsock_sock *s, uint32_t sd,
			     uint32_t events)
{
	uint32_t r = 0u;

	if (s == NULL)
		return HVL_VSOCK_POLLERR;
	if (s->state == (uint8_t)HVL_VSOCK_S_LISTEN) {
		uint32_t i;

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
		if (vsk_peer_credit(s) > 0u && v->tx_nfree > 0u)
			r |= HVL_VSOCK_POLLOUT;
	} else if (s->state == (uint8_t)HVL_VSOCK_S_CLOSED) {
		r |= HVL_VSOCK_POLLIN | HVL_VSOCK_POLLHUP | ((s->err != 0) ? HVL_VSOCK_POLLERR : 0u);
	}
	return r & (events | HVL_VSOCK_POLLERR | HVL_VSOCK_POLLHUP);
}

int hvl_vsock_poll(struct hvl_vsock *v, struct hvl_vsock_pollfd *fds, uint32_t n, uint32_t timeout_ms)
{
	uint64_t deadline;

	if (v == NULL || v->is_open == 0u || (fds == NULL && n > 0u))
		return -EBADF;
	deadline = vsk_deadline(v, timeout_ms);
	for (;;) {
		uint32_t i;
		int ready = 0;
		int rc = hvl_vsock_pump(v);

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
		if (vsk_wait(v, deadline) != 0)
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

/*
 * Carve the event buffers, then as many receive and transmit buffers as
 * fit (at most a queue's size and HVL_VSOCK_RX_BUFS each), choosing the
 * largest buffer size that still gives HVL_VSOCK_MIN_BUFS of each.
 */
/*
 * Packet buffers start this far into the (page-aligned) data area, the
 * event buffers before them.  Each queue's rings start a page, so a packet
 * at a page's start shares its low 12 address bits with the descriptors:
 * the loads of hvl_vq_drv_add() right after a packet was written then wait
 * for its stores (4 KiB aliasing), and those wait for lines the device
 * holds.  Half a page in, small rings never alias (measured: 20-70 ns off a
 * polled round trip).
 */
#define VS_BUF_SKEW 2048u

static int vs_carve(struct hvl_vsock *v)
{
	void *local;
	uint64_t bus, size, room;
	const uint64_t evsize = (uint64_t)HVL_VSOCK_EV_BUFS * 8u;
	uint32_t bs = HVL_VSOCK_BUF_MAX;
	uint16_t n = 0u, cap = HVL_VSOCK_RX_BUFS, i;
	uint8_t *p;

	hvl_vdev_data_area(&v->vdev, &local, &bus, &size);
	_Static_assert(HVL_VSOCK_EV_BUFS * 8u <= VS_BUF_SKEW, "event buffers fit before the skew");
	if (size <= VS_BUF_SKEW || v->evq.num < HVL_VSOCK_EV_BUFS)
		return -ENOSPC;
	room = size - VS_BUF_SKEW;
	if (v->rxq.num < cap)
		cap = v->rxq.num;
	if (v->txq.num < cap)
		cap = v->txq.num;
	/* Bounded: BUF_MAX / BUF_MIN halvings at most. */
	while (bs >= HVL_VSOCK_BUF_MIN) {
		uint64_t fit = room / (2u * (uint64_t)bs);

		n = (fit < cap) ? (uint16_t)fit : cap;
		if (n >= HVL_VSOCK_MIN_BUFS || bs == HVL_VSOCK_BUF_MIN)
			break;
		bs /= 2u;
	}
	if (n == 0u)
		return -ENOSPC;
	p = local;
	for (i = 0u; i < HVL_VSOCK_EV_BUFS; i++) {
		v->ev[i].local = p;
		v->ev[i].bus = bus;
		p += 8;
		bus += 8u;
	}
	p += VS_BUF_SKEW - evsize;
	bus += VS_BUF_SKEW - evsize;
	for (i = 0u; i < n; i++) {
		v->rx[i].local = p;
		v->rx[i].bus = bus;
		p += bs;
		bus += bs;
	}
	for (i = 0u; i < n; i++) {
		v->tx[i].local = p;
		v->tx[i].bus = bus;
		p += bs;
		bus += bs;
		v->tx_free[i] = (uint8_t)(n - 1u - i);
	}
	v->buf_size = bs;
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
		rc = vsk_rx_post(v, &v->rx[i]);
	for (i = 0u; i < HVL_VSOCK_EV_BUFS && rc == 0; i++)
		rc = vsk_ev_post(v, &v->ev[i]);
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
		uint64_t deadline = vsk_deadline(v, tmo);

		while (v->resets == 0u) {
			rc = hvl_vsock_pump(v);
			if (rc != 0) {
				(void)hvl_vsock_close_dev(v);
				return rc;
			}
			if (v->resets != 0u || vsk_wait(v, deadline) != 0)
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
	v->nrx_done = 0u;
	v->is_open = 0u;
	return rc;
}

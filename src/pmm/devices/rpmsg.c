/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio rpmsg backend of the PMM (virtio device ID 7), the device side of
 * the message format Linux's virtio_rpmsg_bus and OpenAMP use: every
 * buffer holds one message, a 16-byte header (src, dst, reserved, len,
 * flags; little-endian) and len payload bytes, at most buf_size bytes in
 * all.  Queue 0 carries device -> driver messages in buffers the remote
 * posts device-writable, queue 1 driver -> device messages.  Address 53 is
 * the name service (VIRTIO_RPMSG_F_NS): create/destroy announcements in a
 * struct rpmsg_ns_msg (name[32], addr, flags).
 *
 * Each channel is bridged to Linux programs through UNIX SOCK_SEQPACKET
 * sockets, one packet per message both ways (rpmsg_sock.c).  This file
 * moves the messages:
 *
 *   transmitq (remote -> Linux): every chain is read once into a local
 *   header copy and checked: the chain must be device-readable only (else
 *   the device is failed, as a ring violation), and len must fit both the
 *   chain and buf_size, the destination must exist, a name-service message
 *   must be 40 bytes with a NUL-terminated name.  A message that fails
 *   these is dropped and counted; the channel it was for and all others
 *   carry on.  A socket that cannot take a packet yet (EAGAIN) holds the
 *   chain until EPOLLOUT (lossless, at the price of head-of-line blocking
 *   of the transmitq).
 *
 *   receiveq (Linux -> remote): announcements first, then one packet per
 *   readable socket in turn (round robin), received straight into the
 *   remote's buffer behind the header (no intermediate copy).  A packet
 *   larger than buf_size - 16 is refused: the PMM closes that connection,
 *   so the program's next send fails (EPIPE) and it reads EOF.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "rpmsg_priv.h"

void rp_log(struct rp *rp, enum hvl_log_level lvl, int limited, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (limited && !hvl_ratelimit_ok(&rp->rl, hvl_pmm_now_ms(), RP_RL_BURST, RP_RL_MS))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	hvl_logf(rp->log, lvl, "%s: %s", rp->name, msg);
}



/*
 * Fill rp->iov with @n bytes of @c starting at offset @off, of the readable
 * (@in 0) or writable (@in 1) part.  Returns the iovec count.
 */
static int chain_iov(struct rp *rp, const struct hvl_chain *c, int in, uint32_t off, uint32_t n)
{
	unsigned k = in ? c->n_out : 0, end = in ? (unsigned)c->n_out + c->n_in : c->n_out;
	int cnt = 0;

	for (; k < end && n > 0 && (unsigned)cnt < rp->iov_cap; k++) {
		uint32_t l = c->iov[k].len, take;

		if (off >= l) {
			off -= l;
			continue;
		}
		take = l - off;
		if (take > n)
			take = n;
		rp->iov[cnt].iov_base = (uint8_t *)c->iov[k].base + off;
		rp->iov[cnt].iov_len = take;
		cnt++;
		n -= take;
		off = 0;
	}
	return cnt;
}

static void hdr_put(struct hvl_rpmsg_hdr *h, uint32_t src, uint32_t dst, uint32_t len)
{
	hvl_le32_put(&h->src, src);
	hvl_le32_put(&h->dst, dst);
	hvl_le32_put(&h->reserved, 0);
	hvl_le16_put(&h->len, (uint16_t)len);
	hvl_le16_put(&h->flags, 0);
}

/*
 * Make sure a receive buffer is held.  Returns 1, 0 when the remote has
 * none posted, or -1 when the device failed.  The remote promised (config
 * space) that each holds buf_size bytes; a smaller or readable one is a
 * request error (the device is failed).
 */
static int rx_get(struct rp *rp)
{
	struct hvl_dev *d = rp->dev;
	int r;

	if (rp->rx_held)
		return 1;
	r = hvl_dev_pop(d, HVL_RPMSG_RXQ, &rp->rxc);
	if (r <= 0)
		return r < 0 ? -1 : 0;
	if (rp->rxc.n_out != 0 || rp->rxc.in_len < rp->buf_size) {
		hvl_dev_fail(d, HVL_BROKEN_REQUEST,
			     "receive chain %u: %u readable buffer(s), %u writable bytes (buf_size %u)",
			     rp->rxc.head, rp->rxc.n_out, rp->rxc.in_len, rp->buf_size);
		return -1;
	}
	rp->rx_held = 1;
	return 1;
}

/* Give the held receive buffer back with @len bytes. */
static void rx_put(struct rp *rp, uint32_t len)
{
	struct hvl_vq_dev *vq = hvl_dev_vq(rp->dev, HVL_RPMSG_RXQ);

	if (vq != NULL)
		hvl_vq_dev_push(vq, rp->rxc.head, len);
	rp->rx_held = 0;
	rp->rx_pushed = 1;
}

/*
 * Interrupt for the receive pushes since the last call.  Exactly one
 * decision per batch: hvl_vq_dev_need_interrupt() records what it decided
 * (EVENT_IDX), so asking twice would swallow the interrupt.
 */
static void rx_interrupt(struct rp *rp)
{
	if (rp->rx_pushed) {
		rp->rx_pushed = 0;
		hvl_dev_vq_interrupt(rp->dev, HVL_RPMSG_RXQ);
	}
}

/* Write one message from a local buffer into the held receive buffer and push it. */
static void rx_put_msg(struct rp *rp, uint32_t src, uint32_t dst, const void *data, uint32_t len)
{
	struct hvl_rpmsg_hdr h;

	hdr_put(&h, src, dst, len);
	(void)hvl_chain_write(&rp->rxc, 0, &h, sizeof(h));
	(void)hvl_chain_write(&rp->rxc, HVL_RPMSG_HDR_SIZE, data, len);
	rx_put(rp, HVL_RPMSG_HDR_SIZE + len);
	rp->msgs_in++;
	rp->bytes_in += len;
}

/* Peer closed (as opposed to a zero-length packet)? */
static int sock_hung_up(int fd)
{
	struct pollfd pf = { fd, POLLIN | POLLRDHUP, 0 };

	return poll(&pf, 1, 0) > 0 && (pf.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

/* The first packet of a .control connection: the channel name. */
static int read_ctrl(struct rp *rp, struct rp_slot *s)
{
	char name[64];
	const char *why;
	ssize_t r = recv(s->fd, name, sizeof(name) - 1, MSG_DONTWAIT | MSG_TRUNC);

	if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
		rp_set_ready(rp, s, errno == EINTR);
		rp_slot_arm(rp, s);
		return 0;
	}
	if (r <= 0) {
		rp_slot_close(rp, s, "hung up before naming a channel");
		return 0;
	}
	if ((size_t)r >= HVL_RPMSG_NAME_SIZE) {
		rp_slot_close(rp, s, "channel name longer than 31 bytes");
		return 0;
	}
	name[r] = '\0';
	if (strlen(name) != (size_t)r) {
		rp_slot_close(rp, s, "NUL in the channel name");
		return 0;
	}
	why = rp_ctrl_name(rp, s, name);
	if (why != NULL) {
		rp_slot_close(rp, s, why);
		return 0;
	}
	return 1;
}

/*
 * One packet from @s into the held receive buffer.  Returns 1 when a
 * message went to the remote, 0 otherwise (nothing there, or the
 * connection was closed).
 */
static int read_one(struct rp *rp, struct rp_slot *s)
{
	uint32_t max = rp->buf_size - HVL_RPMSG_HDR_SIZE, dst;
	struct hvl_rpmsg_hdr h;
	struct msghdr msg;
	ssize_t r;

	/* The remote endpoint: announced (remote channel) or learnt (Linux channel). */
	dst = rp->chan[s->chan].remote;
	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = rp->iov;
	/* One byte more than fits cannot be asked for; MSG_TRUNC reports the real size. */
	msg.msg_iovlen = (size_t)chain_iov(rp, &rp->rxc, 1, HVL_RPMSG_HDR_SIZE, max);
	r = recvmsg(s->fd, &msg, MSG_DONTWAIT | MSG_TRUNC);
	if (r < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			rp_set_ready(rp, s, 0);
			rp_slot_arm(rp, s);
		} else if (errno != EINTR) {
			rp_slot_close(rp, s, strerror(errno));
		}
		return 0;
	}
	if (r == 0 && sock_hung_up(s->fd)) {
		rp_slot_close(rp, s, "EOF");
		return 0;
	}
	if ((size_t)r > max) {
		/* Refused: the program learns it from its next send (EPIPE) and EOF. */
		rp->linux_oversize++;
		rp_log(rp, HVL_LOG_WARN, 1, "a %zd-byte packet exceeds the %u-byte payload limit",
		       r, max);
		rp_slot_close(rp, s, "message larger than the buffer");
		return 0;
	}
	hdr_put(&h, s->local, dst, (uint32_t)r);
	(void)hvl_chain_write(&rp->rxc, 0, &h, sizeof(h));
	rx_put(rp, HVL_RPMSG_HDR_SIZE + (uint32_t)r);
	rp->msgs_in++;
	rp->bytes_in += (uint64_t)r;
	return 1;
}

/* A slot whose packets can go to the remote now. */
static int slot_readable(const struct rp *rp, const struct rp_slot *s)
{
	if (!s->rd_ready)
		return 0;
	if (s->kind == RS_CTRL_PENDING || s->kind == RS_CLIENT)
		return 1;
	/*
	 * A Linux channel's packets wait in the socket until the remote
	 * endpoint bound to it has sent once: only then is its address known
	 * (OpenAMP's endpoints learn a peer's address the same way).
	 */
	return s->kind == RS_HOST && rp->chan[s->chan].remote != HVL_RPMSG_ADDR_ANY;
}

/* receiveq: announcements, then packets from Linux, until buffers or budget run out. */
static void rp_rx(struct rp *rp)
{
	struct hvl_dev *d = rp->dev;
	struct hvl_vq_dev *vq = hvl_dev_vq(d, HVL_RPMSG_RXQ);
	unsigned budget = RP_BUDGET;
	int starved = 0, more = 0, pass;

	if (!hvl_dev_live(d) || vq == NULL)
		return;
	/* The common case on the message path: nothing from Linux, nothing to announce. */
	if (rp->nsq_len == 0 && rp->nready == 0) {
		rx_interrupt(rp);
		return;
	}
	/* Bounded: each pass either moves a message, finds nothing, or stops. */
	for (pass = 0; pass < 2; pass++) {
		int progress = 1;

		while (progress && !starved) {
			unsigned k;

			progress = 0;
			while (rp->nsq_len > 0 && budget > 0) {
				struct rp_ns_out *o = &rp->nsq[rp->nsq_head];
				struct hvl_rpmsg_ns_msg ns;
				int r = rx_get(rp);

				if (r <= 0) {
					starved = r == 0;
					if (r < 0)
						return;
					break;
				}
				memset(&ns, 0, sizeof(ns));
				memcpy(ns.name, o->name, sizeof(ns.name));
				hvl_le32_put(&ns.addr, o->addr);
				hvl_le32_put(&ns.flags, o->flags);
				rx_put_msg(rp, HVL_RPMSG_NS_ADDR, HVL_RPMSG_NS_ADDR, &ns, sizeof(ns));
				rp->nsq_head = (rp->nsq_head + 1u) % rp->nsq_cap;
				rp->nsq_len--;
				budget--;
			}
			for (k = 0; k < rp->nslots && !starved; k++) {
				unsigned idx = (rp->rr + k) % rp->nslots;
				struct rp_slot *s = &rp->slot[idx];
				int r;

				if (!slot_readable(rp, s))
					continue;
				if (budget == 0) {
					more = 1;
					break;
				}
				if (s->kind == RS_CTRL_PENDING) {
					progress |= read_ctrl(rp, s);
					continue;
				}
				r = rx_get(rp);
				if (r < 0)
					return;
				if (r == 0) {
					starved = 1;
					rp->rr = idx; /* this slot goes first next time */
					break;
				}
				if (read_one(rp, s)) {
					budget--;
					progress = 1;
				}
			}
			if (budget == 0)
				break;
		}
		if (!starved)
			break;
		/*
		 * Out of receive buffers: ask the remote to notify us when it
		 * posts some (§2.7.10), then look once more for a race.
		 */
		if (hvl_vq_dev_enable_notify(vq) == 0)
			break;
		starved = 0;
	}
	if (!starved)
		hvl_vq_dev_disable_notify(vq);
	rx_interrupt(rp);
	if (more)
		hvl_dev_kick(d);
}

/* A name-service message from the remote (@len payload bytes at offset 16). */
static void tx_ns(struct rp *rp, uint32_t len)
{
	struct hvl_rpmsg_ns_msg ns;
	struct rp_ns_out o;

	if (len != HVL_RPMSG_NS_MSG_SIZE ||
	    hvl_chain_read(&rp->txc, HVL_RPMSG_HDR_SIZE, &ns, sizeof(ns)) != sizeof(ns)) {
		rp->drop_ns++;
		rp_log(rp, HVL_LOG_WARN, 1, "name service: %u-byte message dropped", len);
		return;
	}
	/* Read once into our copy; the name must end inside its 32 bytes. */
	if (memchr(ns.name, '\0', sizeof(ns.name)) == NULL) {
		rp->drop_ns++;
		rp_log(rp, HVL_LOG_WARN, 1, "name service: name not NUL-terminated: dropped");
		return;
	}
	memcpy(o.name, ns.name, sizeof(o.name));
	o.addr = hvl_le32_get(&ns.addr);
	o.flags = hvl_le32_get(&ns.flags);
	if (o.flags != HVL_RPMSG_NS_CREATE && o.flags != HVL_RPMSG_NS_DESTROY) {
		rp->drop_ns++;
		rp_log(rp, HVL_LOG_WARN, 1, "name service: flags %u: dropped", o.flags);
		return;
	}
	rp_ns_from_remote(rp, &o);
}

/*
 * Deliver the held transmit chain.  Returns 1 when it is finished
 * (delivered or dropped), 0 when it must wait (socket full, or an echo
 * without a receive buffer), -1 when the device failed.
 */
static int tx_one(struct rp *rp)
{
	struct hvl_chain *c = &rp->txc;
	struct hvl_rpmsg_hdr h;
	uint32_t src, dst, len;
	struct rp_slot *s;

	if (c->out_len < HVL_RPMSG_HDR_SIZE) {
		rp->drop_len++;
		rp_log(rp, HVL_LOG_WARN, 1, "%u-byte message shorter than a header: dropped",
		       c->out_len);
		return 1;
	}
	/* STYLE 7: one copy of the header, validated and used from here on. */
	(void)hvl_chain_read(c, 0, &h, sizeof(h));
	src = hvl_le32_get(&h.src);
	dst = hvl_le32_get(&h.dst);
	len = hvl_le16_get(&h.len);
	if (len > c->out_len - HVL_RPMSG_HDR_SIZE) {
		rp->drop_len++;
		rp_log(rp, HVL_LOG_WARN, 1, "len %u larger than the chain (%u bytes): dropped", len,
		       c->out_len);
		return 1;
	}
	if (len > rp->buf_size - HVL_RPMSG_HDR_SIZE) {
		rp->drop_oversize++;
		rp_log(rp, HVL_LOG_WARN, 1, "len %u larger than the buffer (%u bytes): dropped", len,
		       rp->buf_size);
		return 1;
	}
	if (dst == HVL_RPMSG_NS_ADDR) {
		tx_ns(rp, len);
		return 1;
	}
	s = rp_slot_by_addr(rp, dst);
	if (s != NULL) {
		struct msghdr msg;
		ssize_t w;

		if (s->kind == RS_HOST && src >= HVL_RPMSG_RESERVED_ADDRS && src != HVL_RPMSG_ADDR_ANY &&
		    rp->chan[s->chan].remote != src) {
			/* The remote endpoint's address: where this channel's packets go. */
			rp->chan[s->chan].remote = src;
			hvl_dev_kick(rp->dev);
		}
		memset(&msg, 0, sizeof(msg));
		msg.msg_iov = rp->iov;
		msg.msg_iovlen = (size_t)chain_iov(rp, c, 0, HVL_RPMSG_HDR_SIZE, len);
		w = sendmsg(s->fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
			s->want_out = 1;
			rp->tx_wait_slot = (int)(s - rp->slot);
			rp_slot_arm(rp, s);
			return 0;
		}
		if (w < 0) {
			rp->drop_send++;
			rp_slot_close(rp, s, strerror(errno));
			return 1;
		}
		rp->msgs_out++;
		rp->bytes_out += len;
		return 1;
	}
	if (dst != 0 && dst == rp->sink_addr) {
		rp->sink_msgs++;
		rp->msgs_out++;
		rp->bytes_out += len;
		return 1;
	}
	if (dst != 0 && dst == rp->echo_addr) {
		int r = rx_get(rp);

		if (r < 0)
			return -1;
		if (r == 0) {
			rp->tx_wait_rx = 1;
			return 0;
		}
		(void)hvl_chain_read(c, HVL_RPMSG_HDR_SIZE, rp->scratch, len);
		rx_put_msg(rp, dst, src, rp->scratch, len);
		rp->msgs_out++;
		rp->bytes_out += len;
		return 1;
	}
	rp->drop_dst++;
	rp_log(rp, HVL_LOG_WARN, 1, "message from %u to unknown address %u: dropped", src, dst);
	return 1;
}

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/*
 * Poll doorbell only: the device thread spins anyway, so watch the empty
 * transmitq a little longer before asking for notifications.  A remote
 * that answers quickly then skips its notify (two cache lines and a pass
 * through the register service per message).  Bounded by rp->spin_ns.
 */
static int tx_spin(struct rp *rp, struct hvl_vq_dev *vq)
{
	int64_t end;
	unsigned n;

	if (rp->spin_ns <= 0)
		return 0;
	end = mono_ns() + rp->spin_ns;
	for (n = 1;; n++) {
		if (hvl_vq_dev_has_work(vq))
			return 1;
		if (n % 64u == 0 && mono_ns() >= end)
			return 0;
#if defined(__x86_64__) || defined(__i386__)
		__builtin_ia32_pause();
#endif
	}
}

/* transmitq: the usual pop / handle / push loop with notification suppression (§2.7.10). */
static void rp_tx(struct rp *rp)
{
	struct hvl_dev *d = rp->dev;
	struct hvl_vq_dev *vq = hvl_dev_vq(d, HVL_RPMSG_TXQ);
	struct hvl_vq_dev *rxvq = hvl_dev_vq(d, HVL_RPMSG_RXQ);
	unsigned budget = RP_BUDGET;
	int pushed = 0, waiting = 0, more = 0;

	if (!hvl_dev_live(d) || vq == NULL)
		return;
	if (rp->tx_held && rp->tx_wait_slot >= 0 && rp->slot[rp->tx_wait_slot].want_out)
		return; /* still waiting for that socket's EPOLLOUT */
	rp->tx_wait_slot = -1;
	rp->tx_wait_rx = 0;
	hvl_vq_dev_disable_notify(vq);
	for (;;) {
		int r;

		if (!rp->tx_held) {
			if (budget == 0) {
				more = 1;
				break;
			}
			budget--;
			r = hvl_dev_pop(d, HVL_RPMSG_TXQ, &rp->txc);
			if (r < 0)
				return;
			if (r == 0) {
				if (tx_spin(rp, vq))
					continue;
				/* Empty: re-enable notifications, and look again for a race. */
				if (hvl_vq_dev_enable_notify(vq) == 0)
					break;
				hvl_vq_dev_disable_notify(vq);
				continue;
			}
			if (rp->txc.n_in != 0) {
				hvl_dev_fail(d, HVL_BROKEN_REQUEST,
					     "transmit chain %u has %u device-writable buffer(s)",
					     rp->txc.head, rp->txc.n_in);
				return;
			}
			rp->tx_held = 1;
		}
		r = tx_one(rp);
		if (r < 0)
			return;
		if (r == 0) {
			waiting = 1;
			break;
		}
		hvl_vq_dev_push(vq, rp->txc.head, 0);
		rp->tx_held = 0;
		pushed = 1;
	}
	if (waiting) {
		hvl_vq_dev_enable_notify(vq);
		if (rp->tx_wait_rx && rxvq != NULL && hvl_vq_dev_enable_notify(rxvq) != 0)
			hvl_dev_kick(d); /* buffers arrived meanwhile */
	}
	if (pushed)
		hvl_dev_vq_interrupt(d, HVL_RPMSG_TXQ);
	/* Echo replies went into the receiveq. */
	rx_interrupt(rp);
	if (more)
		hvl_dev_kick(d);
}

static void rp_queue(struct hvl_dev *d, unsigned q)
{
	struct rp *rp = d->priv;

	if (q == HVL_RPMSG_TXQ || (q == HVL_RPMSG_RXQ && rp->tx_wait_rx))
		rp_tx(rp);
	rp_rx(rp);
}

/* hvl_dev_kick(): socket events, announcements, more work after a budget. */
static void rp_poll(struct hvl_dev *d)
{
	struct rp *rp = d->priv;

	rp_sock_hints(rp);
	rp_tx(rp);
	rp_rx(rp);
}

/* The rings are gone (§2.4): forget held chains, the remote's channels and its addresses. */
static void rp_reset(struct hvl_dev *d)
{
	struct rp *rp = d->priv;

	rp->tx_held = rp->rx_held = 0;
	rp->tx_wait_slot = -1;
	rp->tx_wait_rx = 0;
	rp_sock_reset(rp);
}

static int rp_driver_ok(struct hvl_dev *d)
{
	struct rp *rp = d->priv;

	rp_sock_announce_all(rp);
	return 0;
}

static const struct hvl_dev_ops rp_ops = {
	.reset = rp_reset,
	.driver_ok = rp_driver_ok,
	.queue = rp_queue,
	.poll = rp_poll,
};

static void rp_destroy(void *priv)
{
	struct rp *rp = priv;

	if (rp == NULL)
		return;
	rp_sock_destroy(rp);
	free(rp->slot);
	free(rp->chan);
	free(rp->nsq);
	free(rp->iov);
	free(rp->scratch);
	free(rp->txc.iov);
	free(rp->rxc.iov);
	free(rp);
}

static void rp_stats(void *priv, char *buf, size_t len)
{
	struct rp *rp = priv;

	snprintf(buf, len,
		 "rpmsg: to Linux %llu msgs / %llu B, to remote %llu msgs / %llu B, sink %llu; "
		 "dropped: len %llu, oversize %llu, unknown dst %llu, send %llu, ns %llu, "
		 "ns refused %llu, Linux oversize %llu; ns create %llu destroy %llu; "
		 "clients %llu (refused %llu)",
		 (unsigned long long)rp->msgs_out, (unsigned long long)rp->bytes_out,
		 (unsigned long long)rp->msgs_in, (unsigned long long)rp->bytes_in,
		 (unsigned long long)rp->sink_msgs, (unsigned long long)rp->drop_len,
		 (unsigned long long)rp->drop_oversize, (unsigned long long)rp->drop_dst,
		 (unsigned long long)rp->drop_send, (unsigned long long)rp->drop_ns,
		 (unsigned long long)rp->ns_refused, (unsigned long long)rp->linux_oversize,
		 (unsigned long long)rp->ns_created, (unsigned long long)rp->ns_destroyed,
		 (unsigned long long)rp->clients, (unsigned long long)rp->refused_clients);
}

/* Parse an unsigned option in [lo, hi], or keep @def when unset. */
static int opt_u32(struct rp *rp, const struct hvl_pmm_dev_config *cfg, const char *key,
		   uint32_t def, uint32_t lo, uint32_t hi, uint32_t *out)
{
	const char *v = hvl_pmm_dev_opt(cfg, key);
	uint64_t x;

	*out = def;
	if (v == NULL)
		return 0;
	if (hvl_pmm_parse_size(v, &x) != 0 || x < lo || x > hi) {
		rp_log(rp, HVL_LOG_ERROR, 0, "%s = %s: expected %u..%u", key, v, lo, hi);
		return -EINVAL;
	}
	*out = (uint32_t)x;
	return 0;
}

static int rp_create_inner(struct hvl_pmm *pmm, struct hvl_pmm_region *rg,
			   const struct hvl_pmm_dev_config *cfg,
			   struct hvl_dev *dev, struct hvl_dev_static *st,
			   const struct hvl_dev_ops **ops, struct rp *rp)
{
	const char *dir = hvl_pmm_dev_opt(cfg, "dir");
	const char *builtin = hvl_pmm_dev_opt(cfg, "builtin");
	const struct hvl_pmm_region_config *rcfg = rg->cfg;
	unsigned cap = RP_IOV_MIN, q, i;
	int rc;

	rp->pmm = pmm;
	rp->log = &pmm->log;
	rp->dev = dev;
	rp->tx_wait_slot = -1;
	rp->spin_ns = rcfg->doorbell == HVL_DOORBELL_POLL ? RP_SPIN_NS : 0;
	snprintf(rp->name, sizeof(rp->name), "%s", cfg->name);
	if (st->num_queues != HVL_RPMSG_NUM_QUEUES) {
		rp_log(rp, HVL_LOG_ERROR, 0, "needs exactly 2 queues, has %u", st->num_queues);
		return -EINVAL;
	}
	if (dir == NULL || dir[0] == '\0') {
		rp_log(rp, HVL_LOG_ERROR, 0, "needs dir = DIRECTORY (where the channel sockets go)");
		return -EINVAL;
	}
	snprintf(rp->dir, sizeof(rp->dir), "%s", dir);
	rc = opt_u32(rp, cfg, "buf_size", HVL_RPMSG_DEFAULT_BUF_SIZE, HVL_RPMSG_MIN_BUF_SIZE,
		     HVL_RPMSG_MAX_BUF_SIZE, &rp->buf_size);
	if (rc == 0)
		rc = opt_u32(rp, cfg, "max_channels", RP_DEFAULT_MAX_CHANNELS, 1,
			     RP_MAX_CHANNELS_LIMIT, &rp->max_channels);
	if (rc != 0)
		return rc;
	if (builtin != NULL && strcmp(builtin, "0") != 0 && strcmp(builtin, "1") != 0) {
		rp_log(rp, HVL_LOG_ERROR, 0, "builtin = %s: expected 0 or 1", builtin);
		return -EINVAL;
	}
	if (builtin != NULL && strcmp(builtin, "1") == 0 && rp->max_channels < 2u) {
		/* The built-in hvl-echo and hvl-sink channels need two slots. */
		rp_log(rp, HVL_LOG_ERROR, 0, "builtin = 1 needs max_channels >= 2 (have %u)",
		       rp->max_channels);
		return -EINVAL;
	}
	for (q = 0; q < HVL_RPMSG_NUM_QUEUES; q++)
		if (st->queue_num_max[q] > cap)
			cap = st->queue_num_max[q];
	/* A listener and a few programs per channel, the control socket, slack. */
	rp->nslots = 3u * rp->max_channels + 2u;
	rp->nchan = rp->max_channels + 2u;
	rp->nsq_cap = 2u * rp->nchan + 4u;
	rp->iov_cap = cap;
	rp->slot = calloc(rp->nslots, sizeof(*rp->slot));
	rp->chan = calloc(rp->nchan, sizeof(*rp->chan));
	rp->nsq = calloc(rp->nsq_cap, sizeof(*rp->nsq));
	rp->iov = calloc(cap, sizeof(*rp->iov));
	rp->scratch = malloc(rp->buf_size);
	rp->txc.iov = calloc(cap, sizeof(*rp->txc.iov));
	rp->rxc.iov = calloc(cap, sizeof(*rp->rxc.iov));
	if (rp->slot == NULL || rp->chan == NULL || rp->nsq == NULL || rp->iov == NULL ||
	    rp->scratch == NULL || rp->txc.iov == NULL || rp->rxc.iov == NULL)
		return -ENOMEM;
	rp->txc.cap = rp->rxc.cap = cap;
	for (i = 0; i < rp->nslots; i++) {
		rp->slot[i].rp = rp;
		rp->slot[i].fd = -1;
		rp->slot[i].chan = -1;
	}
	rc = rp_sock_setup(rp, builtin != NULL && strcmp(builtin, "1") == 0);
	if (rc != 0)
		return rc;
	hvl_le32_put(&rp->config.buf_size, rp->buf_size);
	hvl_le32_put(&rp->config.max_channels, rp->max_channels);
	st->config = &rp->config;
	st->config_size = sizeof(rp->config);
	st->features = HVL_F_VERSION_1 | HVL_F_EVENT_IDX | HVL_F_INDIRECT_DESC | HVL_RPMSG_F_NS;
	*ops = &rp_ops;
	return 0;
}

static int rp_create(struct hvl_pmm *pmm, struct hvl_pmm_region *rg,
		     const struct hvl_pmm_dev_config *cfg, struct hvl_dev *dev,
		     struct hvl_dev_static *st, const struct hvl_dev_ops **ops, void **priv)
{
	struct rp *rp = calloc(1, sizeof(*rp));
	int rc;

	*priv = NULL;
	if (rp == NULL)
		return -ENOMEM;
	rc = rp_create_inner(pmm, rg, cfg, dev, st, ops, rp);
	if (rc != 0) {
		/* The region forgets a backend whose create() failed: clean up here. */
		rp_destroy(rp);
		return rc;
	}
	*priv = rp;
	return 0;
}

const struct hvl_pmm_backend hvl_pmm_rpmsg_backend = {
	.type = "rpmsg",
	.create = rp_create,
	.destroy = rp_destroy,
	.stats = rp_stats,
};

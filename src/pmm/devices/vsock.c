/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio socket backend of the PMM (virtio 1.2 §5.10): stream sockets
 * between the remote (CID from the "cid" option) and the host (CID 2),
 * bridged to Linux UNIX stream sockets (vsock_host.c).
 *
 * Queues (§5.10.2): the transmitq brings the remote's packets, each one
 * chain of header + payload, read once into a private header copy and
 * validated (STYLE 7); the receiveq takes device-writable chains that we
 * fill with our packets; the eventq carries the transport reset we send at
 * every DRIVER_OK, hence after every PMM start (§5.10.6.7), telling the
 * remote that every connection it had before is gone.
 *
 * A bad packet (len beyond the chain, unknown op or type, a source CID
 * that is not the remote's, credit that runs backwards, more data than our
 * credit allowed) is dropped and counted, and the connection it names is
 * reset; the device and the other connections keep going.  Only a ring
 * violation, or a receive chain too small for a header, fails the device.
 *
 * Flow control (§5.10.6.3): every packet we send carries buf_alloc (our
 * per-connection buffer, "buf_size") and fwd_cnt (bytes handed to the
 * Linux socket); we never send more than the remote's
 * buf_alloc - (tx_cnt - fwd_cnt).  Remote data goes straight from shared
 * memory into the Linux socket; what it does not take waits in the
 * connection's buffer, which the remote's credit bounds.  Linux data waits
 * in the other buffer until the remote has credit; a full buffer stops
 * reading the socket, so the kernel pushes back on the writer.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "vsock_priv.h"

#define VS_SENDMSG_IOV 64

void vs_log(struct vs *v, enum hvl_log_level lvl, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	hvl_logf(v->log, lvl, "%s: %s", v->name, msg);
}

/* Rate-limited report of a bad packet from the remote. */
static void vs_bad(struct vs *v, uint64_t *counter, const char *what, uint32_t a, uint32_t b)
{
	(*counter)++;
	if (hvl_ratelimit_ok(&v->rl, hvl_pmm_now_ms(), VS_RL_BURST, VS_RL_MS))
		vs_log(v, HVL_LOG_WARN, "bad packet from the remote: %s (%u, %u)", what,
		       (unsigned)a, (unsigned)b);
}


static struct vs_conn *conn_find(struct vs *v, uint32_t host_port, uint32_t remote_port)
{
	unsigned i;

	for (i = 0; i < v->hiwater; i++) {
		struct vs_conn *c = &v->conn[i];

		if (c->state != VS_FREE && c->state != VS_LINE && c->host_port == host_port &&
		    c->remote_port == remote_port)
			return c;
	}
	return NULL;
}

/*
 * Take the remote's buf_alloc and fwd_cnt.  fwd_cnt may only move forward
 * and never past what we sent: otherwise (tx_cnt - fwd_cnt) would wrap and
 * fake a huge credit.  Returns 0 or -1 (the caller resets the connection).
 */
static int credit_take(struct vs *v, struct vs_conn *c, const struct hvl_vsock_hdr *h)
{
	uint32_t fwd = hvl_le32_get(&h->fwd_cnt);
	uint32_t now_inflight = c->tx_cnt - c->peer_fwd_cnt;
	uint32_t new_inflight = c->tx_cnt - fwd;

	if (new_inflight > now_inflight) {
		vs_bad(v, &v->bad_credit, "fwd_cnt beyond what was sent", fwd, c->tx_cnt);
		return -1;
	}
	c->peer_fwd_cnt = fwd;
	c->peer_buf_alloc = hvl_le32_get(&h->buf_alloc);
	return 0;
}

/* Remote data for @c: into the Linux socket, the rest into rbuf. */
static void rw_deliver(struct vs *v, struct vs_conn *c, const struct hvl_chain *ch, uint32_t len)
{
	struct iovec iov[VS_SENDMSG_IOV];
	uint32_t off = HVL_VSOCK_HDR_SIZE, sent = 0, rest;
	unsigned k, n = 0;

	c->rx_cnt += len;
	v->bytes_in += len;
	if (c->remote_norcv && c->wr_shut)
		return;
	if (c->rcount == 0 && !c->wr_shut) {
		uint32_t want = len;
		struct msghdr msg;
		ssize_t w;

		for (k = 0; k < ch->n_out && want > 0 && n < VS_SENDMSG_IOV; k++) {
			uint32_t l = ch->iov[k].len;

			if (off >= l) {
				off -= l;
				continue;
			}
			l -= off;
			if (l > want)
				l = want;
			iov[n].iov_base = (uint8_t *)ch->iov[k].base + off;
			iov[n].iov_len = l;
			n++;
			want -= l;
			off = 0;
		}
		memset(&msg, 0, sizeof(msg));
		msg.msg_iov = iov;
		msg.msg_iovlen = n;
		do {
			w = sendmsg(c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
		} while (w < 0 && errno == EINTR);
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			vs_conn_close(c, 1); /* Linux end gone */
			return;
		}
		if (w > 0) {
			sent = (uint32_t)w;
			c->fwd_cnt += sent;
			v->bytes_out += sent;
		}
	}
	/* The credit check guaranteed room: rx_cnt - fwd_cnt <= buf_size. */
	rest = len - sent;
	if (rest > 0) {
		uint32_t done = 0;

		while (done < rest) {
			uint32_t tail = (c->rhead + c->rcount) % c->rcap;
			uint32_t l = c->rcap - tail;

			if (l > rest - done)
				l = rest - done;
			(void)hvl_chain_read(ch, HVL_VSOCK_HDR_SIZE + sent + done, c->rbuf + tail, l);
			c->rcount += l;
			done += l;
		}
	}
	if (c->fwd_cnt - c->fwd_adv >= v->buf_size / 4u)
		c->pend |= VS_PEND_CREDIT;
	vs_conn_sync(c);
}

/* The remote asks for host port dst (REQUEST, §5.10.6.4). */
static void on_request(struct vs *v, const struct hvl_vsock_hdr *h, uint32_t dst, uint32_t src)
{
	struct vs_conn *c;
	int fd;

	if (conn_find(v, dst, src) != NULL) {
		vs_bad(v, &v->bad_op, "REQUEST for a live connection", dst, src);
		vs_queue_rst(v, dst, src);
		return;
	}
	if (v->nconn >= v->max_conn) {
		v->refused_full++;
		vs_queue_rst(v, dst, src);
		return;
	}
	fd = vs_host_connect(v, dst);
	if (fd < 0) {
		v->unknown_port++;
		vs_queue_rst(v, dst, src);
		return;
	}
	c = vs_conn_alloc(v);
	if (c == NULL) {
		close(fd);
		v->refused_full++;
		vs_queue_rst(v, dst, src);
		return;
	}
	c->fd = fd;
	c->host_port = dst;
	c->remote_port = src;
	c->state = VS_ESTABLISHED;
	if (credit_take(v, c, h) != 0) {
		vs_conn_close(c, 1);
		return;
	}
	c->pend |= VS_PEND_RESPONSE;
	v->conns_out++;
	vs_conn_sync(c);
}

/*
 * One packet from the transmitq, header already copied out of shared
 * memory (@h) and its len checked against the chain.  Lock held.
 */
static void on_packet(struct vs *v, const struct hvl_vsock_hdr *h, const struct hvl_chain *ch)
{
	uint32_t src = hvl_le32_get(&h->src_port), dst = hvl_le32_get(&h->dst_port);
	uint32_t len = hvl_le32_get(&h->len);
	uint16_t op = hvl_le16_get(&h->op);
	struct vs_conn *c = conn_find(v, dst, src);

	switch (op) {
	case HVL_VSOCK_OP_REQUEST:
		on_request(v, h, dst, src);
		return;
	case HVL_VSOCK_OP_RST:
		if (c == NULL)
			return; /* never answer an RST */
		if (c->state == VS_CONNECTING)
			vs_client_answer(c, 0); /* nobody listens: ERR, then close */
		else
			vs_conn_close(c, 0);
		return;
	case HVL_VSOCK_OP_RESPONSE:
	case HVL_VSOCK_OP_SHUTDOWN:
	case HVL_VSOCK_OP_RW:
	case HVL_VSOCK_OP_CREDIT_UPDATE:
	case HVL_VSOCK_OP_CREDIT_REQUEST:
		break;
	default:
		vs_bad(v, &v->bad_op, "unknown op", op, dst);
		if (c != NULL)
			vs_conn_close(c, 1);
		return;
	}
	if (c == NULL || (c->state == VS_CONNECTING && op != HVL_VSOCK_OP_RESPONSE) ||
	    (c->state == VS_ESTABLISHED && op == HVL_VSOCK_OP_RESPONSE)) {
		/* §5.10.6.4: a packet for no connection is answered with RST. */
		v->unknown_conn++;
		if (c != NULL)
			vs_conn_close(c, 1);
		else
			vs_queue_rst(v, dst, src);
		return;
	}
	if (credit_take(v, c, h) != 0) {
		vs_conn_close(c, 1);
		return;
	}
	switch (op) {
	case HVL_VSOCK_OP_RESPONSE:
		vs_client_answer(c, 1);
		break;
	case HVL_VSOCK_OP_SHUTDOWN: {
		uint32_t fl = hvl_le32_get(&h->flags);

		if (fl & HVL_VSOCK_SHUTDOWN_SEND)
			c->remote_eof = 1;
		if (fl & HVL_VSOCK_SHUTDOWN_RCV) {
			/* It reads no more: drop what waits for it, stop reading Linux. */
			c->remote_norcv = 1;
			c->hcount = 0;
			c->hhead = 0;
		}
		(void)vs_conn_flush(c); /* shuts the Linux write side once drained */
		break;
	}
	case HVL_VSOCK_OP_RW:
		if (c->remote_eof) {
			vs_bad(v, &v->bad_op, "data after SHUTDOWN", dst, src);
			vs_conn_close(c, 1);
			break;
		}
		/* More than the credit we gave: the remote ignored flow control. */
		if ((uint64_t)(c->rx_cnt - c->fwd_cnt) + len > v->buf_size) {
			vs_bad(v, &v->bad_credit, "data beyond our credit", len, c->rx_cnt - c->fwd_cnt);
			vs_conn_close(c, 1);
			break;
		}
		if (len > 0)
			rw_deliver(v, c, ch, len);
		break;
	case HVL_VSOCK_OP_CREDIT_REQUEST:
		c->pend |= VS_PEND_CREDIT;
		break;
	default: /* CREDIT_UPDATE: credit_take() did it */
		break;
	}
}

/* transmitq (§5.10.6.2): the remote's packets. */
static void vs_tx(struct hvl_dev *d)
{
	struct vs *v = d->priv;
	unsigned budget = VS_BUDGET;
	int pushed = 0, more = 0;

	if (!hvl_dev_live(d))
		return;
	pthread_mutex_lock(&v->lock);
	for (;;) {
		struct hvl_vsock_hdr h;
		struct hvl_vq_dev *vq;
		uint32_t len;
		int r;

		if (budget == 0) {
			more = 1;
			break;
		}
		budget--;
		r = hvl_dev_pop(d, HVL_VSOCK_TXQ, &v->txc);
		if (r <= 0)
			break;
		if (v->txc.n_in != 0) {
			pthread_mutex_unlock(&v->lock);
			hvl_dev_fail(d, HVL_BROKEN_REQUEST, "transmitq chain %u has %u device-writable buffer(s)",
				     v->txc.head, v->txc.n_in);
			return;
		}
		v->pkts_in++;
		if (v->txc.out_len < HVL_VSOCK_HDR_SIZE) {
			vs_bad(v, &v->bad_len, "chain shorter than a header", v->txc.out_len, 0);
		} else {
			/* Read once (STYLE 7): every check below looks at this copy only. */
			(void)hvl_chain_read(&v->txc, 0, &h, HVL_VSOCK_HDR_SIZE);
			len = hvl_le32_get(&h.len);
			if (hvl_le64_get(&h.src_cid) != v->cid) {
				/* Spoofed or confused: no answer, nobody to answer. */
				vs_bad(v, &v->bad_cid, "source CID", (uint32_t)hvl_le64_get(&h.src_cid),
				       hvl_le32_get(&h.src_port));
			} else if (hvl_le64_get(&h.dst_cid) != HVL_VSOCK_CID_HOST) {
				vs_bad(v, &v->bad_cid, "destination CID", (uint32_t)hvl_le64_get(&h.dst_cid),
				       hvl_le32_get(&h.dst_port));
			} else if (len > v->txc.out_len - HVL_VSOCK_HDR_SIZE ||
				   len > HVL_VSOCK_MAX_PKT_PAYLOAD) {
				struct vs_conn *c = conn_find(v, hvl_le32_get(&h.dst_port),
							      hvl_le32_get(&h.src_port));

				vs_bad(v, &v->bad_len, "len beyond the packet", len, v->txc.out_len);
				if (c != NULL)
					vs_conn_close(c, 1);
			} else if (hvl_le16_get(&h.type) != HVL_VSOCK_TYPE_STREAM) {
				vs_bad(v, &v->bad_type, "type", hvl_le16_get(&h.type), hvl_le16_get(&h.op));
				/* §5.10.6.4: an unsupported type is answered with RST. */
				if (hvl_le16_get(&h.op) != HVL_VSOCK_OP_RST)
					vs_queue_rst(v, hvl_le32_get(&h.dst_port), hvl_le32_get(&h.src_port));
			} else {
				on_packet(v, &h, &v->txc);
			}
		}
		vq = hvl_dev_vq(d, HVL_VSOCK_TXQ);
		if (vq != NULL)
			hvl_vq_dev_push(vq, v->txc.head, 0);
		pushed = 1;
	}
	pthread_mutex_unlock(&v->lock);
	if (pushed)
		hvl_dev_vq_interrupt(d, HVL_VSOCK_TXQ);
	if (more)
		hvl_dev_kick(d);
}

static void vs_queue(struct hvl_dev *d, unsigned q)
{
	if (q == HVL_VSOCK_TXQ) {
		vs_tx(d);
		vs_rx(d); /* answers (RESPONSE, RST, credit) go out at once */
	} else if (q == HVL_VSOCK_RXQ) {
		vs_rx(d);
	} else if (q == HVL_VSOCK_EVQ) {
		vs_ev(d);
	}
}

/* hvl_dev_kick(): a socket had data, room, a hang-up or a new client. */
static void vs_poll(struct hvl_dev *d)
{
	vs_tx(d);
	vs_rx(d);
	vs_ev(d);
}

/* Device reset (§2.1): the rings and every connection are gone. */
static void vs_reset(struct hvl_dev *d)
{
	struct vs *v = d->priv;
	unsigned i;

	pthread_mutex_lock(&v->lock);
	for (i = 0; i < v->max_conn; i++)
		vs_conn_close(&v->conn[i], 0);
	v->rst_head = v->rst_count = 0;
	v->rx_held = 0;
	v->cursor = 0;
	pthread_mutex_unlock(&v->lock);
}

/*
 * DRIVER_OK: every start of the device, and so the first one after this
 * PMM started, gets a transport reset event (§5.10.6.7): no connection
 * from before exists on our side, and a remote that outlived an old PMM
 * drops the connections it still believes in.  Sending it every time gives
 * the driver a fixed order: it waits for the event before its first
 * packet, so a late event can never reset a new connection.
 */
static int vs_driver_ok(struct hvl_dev *d)
{
	struct vs *v = d->priv;

	pthread_mutex_lock(&v->lock);
	v->started_once = 1;
	v->event_pending = 1;
	pthread_mutex_unlock(&v->lock);
	return 0;
}

static const struct hvl_dev_ops vs_ops = {
	.reset = vs_reset,
	.driver_ok = vs_driver_ok,
	.queue = vs_queue,
	.poll = vs_poll,
};

static void vs_destroy(void *priv)
{
	struct vs *v = priv;

	if (v == NULL)
		return;
	vs_host_close_all(v);
	pthread_mutex_destroy(&v->lock);
	free(v->conn);
	free(v->txc.iov);
	free(v->rxc.iov);
	free(v->evc.iov);
	free(v);
}

static void vs_stats(void *priv, char *buf, size_t len)
{
	struct vs *v = priv;

	pthread_mutex_lock(&v->lock);
	snprintf(buf, len,
		 "vsock: pkts in %llu out %llu, bytes in %llu out %llu, conns from remote %llu "
		 "to remote %llu (open %u), refused: unknown port %llu full %llu; bad: len %llu "
		 "op %llu type %llu cid %llu credit %llu no-conn %llu; rst dropped %llu, events %llu",
		 (unsigned long long)v->pkts_in, (unsigned long long)v->pkts_out,
		 (unsigned long long)v->bytes_in, (unsigned long long)v->bytes_out,
		 (unsigned long long)v->conns_out, (unsigned long long)v->conns_in, v->nconn,
		 (unsigned long long)v->unknown_port, (unsigned long long)v->refused_full,
		 (unsigned long long)v->bad_len, (unsigned long long)v->bad_op,
		 (unsigned long long)v->bad_type, (unsigned long long)v->bad_cid,
		 (unsigned long long)v->bad_credit, (unsigned long long)v->unknown_conn,
		 (unsigned long long)v->rst_dropped, (unsigned long long)v->events);
	pthread_mutex_unlock(&v->lock);
}

/* Parse an unsigned option in [lo, hi]; absent = @def. */
static int opt_u64(struct vs *v, const struct hvl_pmm_dev_config *cfg, const char *key, uint64_t def,
		   uint64_t lo, uint64_t hi, uint64_t *out)
{
	const char *s = hvl_pmm_dev_opt(cfg, key);

	*out = def;
	if (s == NULL)
		return 0;
	if (hvl_pmm_parse_u64(s, out) != 0 || *out < lo || *out > hi) {
		vs_log(v, HVL_LOG_ERROR, "%s = %s: expected %llu..%llu", key, s,
		       (unsigned long long)lo, (unsigned long long)hi);
		return -EINVAL;
	}
	return 0;
}

static int vs_create_inner(struct hvl_pmm *pmm, const struct hvl_pmm_dev_config *cfg,
			   struct hvl_dev *dev, struct hvl_dev_static *st, struct vs *v)
{
	const char *s;
	uint64_t x;
	unsigned i, q, cap = VS_IOV_MIN;
	int rc;

	v->pmm = pmm;
	v->log = &pmm->log;
	v->dev = dev;
	v->listen_fd = -1;
	v->next_host_port = VS_HOST_PORT_BASE;
	snprintf(v->name, sizeof(v->name), "%s", cfg->name);
	pthread_mutex_init(&v->lock, NULL);

	if (st->num_queues != HVL_VSOCK_NUM_QUEUES) {
		vs_log(v, HVL_LOG_ERROR, "needs exactly 3 queues, has %u", st->num_queues);
		return -EINVAL;
	}
	s = hvl_pmm_dev_opt(cfg, "cid");
	if (s == NULL) {
		vs_log(v, HVL_LOG_ERROR, "needs cid = N (the remote's CID, 3 or more)");
		return -EINVAL;
	}
	/* §5.10.4: 0..2 are reserved, and 0xFFFFFFFF is VMADDR_CID_ANY on Linux. */
	if (opt_u64(v, cfg, "cid", 0, HVL_VSOCK_CID_MIN_GUEST, 0xFFFFFFFEull, &v->cid) != 0)
		return -EINVAL;
	if ((rc = opt_u64(v, cfg, "max_conn", VS_DEFAULT_MAX_CONN, 1, VS_MAX_MAX_CONN, &x)) != 0)
		return rc;
	v->max_conn = (unsigned)x;
	if ((rc = opt_u64(v, cfg, "buf_size", VS_DEFAULT_BUF, VS_MIN_BUF, VS_MAX_BUF, &x)) != 0)
		return rc;
	v->buf_size = (uint32_t)x;
	s = hvl_pmm_dev_opt(cfg, "listen");
	if (s != NULL)
		snprintf(v->listen_path, sizeof(v->listen_path), "%s", s);
	s = hvl_pmm_dev_opt(cfg, "prefix");
	if (s != NULL)
		snprintf(v->prefix, sizeof(v->prefix), "%s", s);
	for (i = 0; i < cfg->nopts; i++) {
		const char *k = cfg->opt[i].key;

		if (strncmp(k, "port.", 5) != 0)
			continue;
		if (v->nmap >= VS_MAX_PORT_MAP) {
			vs_log(v, HVL_LOG_ERROR, "at most %u port.P keys", VS_MAX_PORT_MAP);
			return -EINVAL;
		}
		if (hvl_pmm_parse_u64(k + 5, &x) != 0 || x > 0xFFFFFFFFull || cfg->opt[i].value[0] == '\0') {
			vs_log(v, HVL_LOG_ERROR, "%s: expected port.N = /path with N 0..4294967295", k);
			return -EINVAL;
		}
		v->map[v->nmap].port = (uint32_t)x;
		snprintf(v->map[v->nmap].path, sizeof(v->map[v->nmap].path), "%s", cfg->opt[i].value);
		v->nmap++;
	}
	v->conn = calloc(v->max_conn, sizeof(*v->conn));
	for (q = 0; q < HVL_VSOCK_NUM_QUEUES; q++)
		if (st->queue_num_max[q] > cap)
			cap = st->queue_num_max[q];
	v->txc.iov = calloc(cap, sizeof(*v->txc.iov));
	v->rxc.iov = calloc(cap, sizeof(*v->rxc.iov));
	v->evc.iov = calloc(cap, sizeof(*v->evc.iov));
	if (v->conn == NULL || v->txc.iov == NULL || v->rxc.iov == NULL || v->evc.iov == NULL)
		return -ENOMEM;
	v->txc.cap = v->rxc.cap = v->evc.cap = cap;
	for (i = 0; i < v->max_conn; i++) {
		v->conn[i].fd = -1;
		v->conn[i].vs = v;
		v->conn[i].idx = i;
	}
	if (v->listen_path[0] != '\0') {
		rc = vs_listen_open(v);
		if (rc != 0)
			return rc;
	}
	hvl_le64_put(&v->config.guest_cid, v->cid);
	st->config = &v->config;
	st->config_size = sizeof(v->config);
	st->features = HVL_F_VERSION_1 | HVL_F_EVENT_IDX | HVL_F_INDIRECT_DESC | HVL_VSOCK_F_STREAM;
	vs_log(v, HVL_LOG_INFO, "cid %llu, %u connection(s) of %u B each way%s%s",
	       (unsigned long long)v->cid, v->max_conn, v->buf_size,
	       v->listen_path[0] ? ", CONNECT listener at " : "", v->listen_path);
	return 0;
}

static int vs_create(struct hvl_pmm *pmm, struct hvl_pmm_region *rg, const struct hvl_pmm_dev_config *cfg,
		     struct hvl_dev *dev, struct hvl_dev_static *st, const struct hvl_dev_ops **ops,
		     void **priv)
{
	struct vs *v;
	int rc;

	(void)rg;
	*priv = NULL;
	v = calloc(1, sizeof(*v));
	if (v == NULL)
		return -ENOMEM;
	rc = vs_create_inner(pmm, cfg, dev, st, v);
	if (rc != 0) {
		vs_destroy(v);
		return rc;
	}
	*ops = &vs_ops;
	*priv = v;
	return 0;
}

const struct hvl_pmm_backend hvl_pmm_vsock_backend = {
	.type = "vsock",
	.create = vs_create,
	.destroy = vs_destroy,
	.stats = vs_stats,
};

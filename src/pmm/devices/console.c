/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio console backend of the PMM (virtio 1.2 §5.3), one port.
 *
 * Device option "backend" picks where the byte stream goes:
 *   stdio  (default) the PMM's stdin/stdout;
 *   socket a UNIX stream listener at "path", one client at a time;
 *   pty    a pseudo-terminal, optionally symlinked at "path";
 *   file   output appended to "path", no input.
 *
 * Two threads touch a console (src/pmm/pmm.h): the main thread's fd
 * callbacks read input into a bounded buffer, accept and drop socket
 * clients; the region's device thread (struct hvl_dev_ops) moves input
 * into receiveq chains and writes transmitq chains out.  Both hold
 * con->lock while they touch the shared state below; the main loop's
 * watch calls take only its own leaf lock, so calling them under ours is
 * safe from either thread.
 *
 * Flow control, both ways, loses nothing: a transmit chain the output
 * cannot take yet (EAGAIN, or no socket client) is kept, with how far we
 * got, and is pushed back only when fully written, so the remote's writes
 * wait.  Input waits in the buffer while the remote has no receive buffers
 * posted; while the buffer is full we stop watching the input fd, and the
 * kernel's own buffers push back on the writer.  Only stdio/file output
 * that fails hard (closed stdout) is dropped, and counted.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "console_priv.h"

void con_log(struct con *c, enum hvl_log_level lvl, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	hvl_logf(c->log, lvl, "%s: %s", c->name, msg);
}

/* Where output goes: the bidirectional fd for socket/pty, else the output-only one. */
static struct con_fd *out_slot(struct con *c)
{
	return (c->kind == CON_SOCKET || c->kind == CON_PTY) ? &c->io : &c->out;
}

static void io_cb(void *arg, uint32_t events);

/*
 * Bring the main loop's watch of @s in line with what we want now (called
 * with c->lock held, from either thread).  A dead socket client stays
 * watched with no events so that its EPOLLHUP still reaches io_cb, which
 * closes it; a paused input fd is unwatched, so a hang-up does not spin the
 * loop while unread input still sits in the kernel.
 */
static void slot_sync(struct con *c, struct con_fd *s)
{
	uint32_t ev = 0;
	int keep, rc;

	if (s->fd < 0 || !s->pollable)
		return;
	if (s->in && !s->eof && c->icount < CON_IBUF_SIZE)
		ev |= EPOLLIN;
	if (s->out && c->want_out && !s->dead)
		ev |= EPOLLOUT;
	keep = ev != 0 || (s->dead && s->in && !s->hup);
	if (!keep) {
		if (s->watched)
			hvl_pmm_unwatch(c->pmm, s->fd);
		s->watched = 0;
		return;
	}
	if (!s->watched) {
		rc = hvl_pmm_watch(c->pmm, s->fd, ev, io_cb, s);
		if (rc == -EPERM) {
			/* Regular file or /dev/null: always ready, nothing to wait for. */
			s->pollable = 0;
			if (s->in) {
				s->eof = 1;
				con_log(c, HVL_LOG_INFO, "input fd cannot be polled: no console input");
			}
			return;
		}
		if (rc != 0) {
			con_log(c, HVL_LOG_WARN, "watching fd %d: %s", s->fd, strerror(-rc));
			return;
		}
		s->watched = 1;
	} else if (ev != s->ev) {
		(void)hvl_pmm_rewatch(c->pmm, s->fd, ev);
	}
	s->ev = ev;
}

/* Drop the socket client (main thread, lock held); held output waits for the next one. */
static void client_close(struct con *c)
{
	if (c->io.fd < 0)
		return;
	if (c->io.watched)
		hvl_pmm_unwatch(c->pmm, c->io.fd);
	close(c->io.fd);
	c->io.fd = -1;
	c->io.watched = 0;
	c->io.dead = 0;
	c->io.hup = 0;
	c->io.eof = 0;
	c->want_out = 0;
	con_log(c, HVL_LOG_INFO, "client disconnected");
}

/*
 * One read into the free part of the input ring (lock held).  One read per
 * callback is enough: epoll is level-triggered and calls again, and a
 * blocking stdin (when it could not be reopened non-blocking) never blocks
 * after EPOLLIN.  Returns bytes read, 0 at EOF, or -errno.
 */
static ssize_t input_read(struct con *c, struct con_fd *s)
{
	size_t tail = (c->ihead + c->icount) % CON_IBUF_SIZE;
	size_t room = CON_IBUF_SIZE - c->icount;
	ssize_t n;

	if (room > CON_IBUF_SIZE - tail)
		room = CON_IBUF_SIZE - tail; /* contiguous part; the rest next time */
	if (s->is_sock)
		n = recv(s->fd, c->ibuf + tail, room, MSG_DONTWAIT);
	else
		n = read(s->fd, c->ibuf + tail, room);
	if (n < 0)
		return -errno;
	c->icount += (size_t)n;
	c->bytes_in += (uint64_t)n;
	return n;
}

/* Main-thread callback of the input/output fds. */
static void io_cb(void *arg, uint32_t events)
{
	struct con_fd *s = arg;
	struct con *c = s->c;
	int kick = 0;

	pthread_mutex_lock(&c->lock);
	if (s->fd < 0) {
		pthread_mutex_unlock(&c->lock);
		return;
	}
	if (s->in && (events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
		if (!s->eof && c->icount < CON_IBUF_SIZE) {
			ssize_t n = input_read(c, s);

			if (n > 0) {
				kick = 1;
			} else if (n == -EAGAIN || n == -EINTR) {
				/* spurious */
			} else if (c->kind == CON_SOCKET) {
				client_close(c); /* EOF or reset, after all its input was read */
			} else {
				/* stdin at EOF (or a pty error): stop watching for good. */
				s->eof = 1;
				con_log(c, HVL_LOG_INFO, "input closed (%s)",
					n == 0 ? "EOF" : strerror((int)-n));
			}
		} else if (events & (EPOLLHUP | EPOLLERR)) {
			/*
			 * Hung up while our buffer is full: stop writing to it and
			 * unwatch; once there is room we read what it sent before
			 * hanging up, and its EOF then closes it.
			 */
			s->hup = 1;
			s->dead = 1;
		}
	} else if (!s->in && (events & (EPOLLHUP | EPOLLERR))) {
		/* stdout's reader went away: the next write fails and drops. */
		s->dead = 1;
		kick = 1;
	}
	if ((events & EPOLLOUT) && s->fd >= 0) {
		c->want_out = 0;
		kick = 1;
	}
	if (s->fd >= 0)
		slot_sync(c, s);
	pthread_mutex_unlock(&c->lock);
	if (kick)
		hvl_dev_kick(c->dev);
}

/* Main-thread callback of the socket listener: one client at a time. */
void con_listen_cb(void *arg, uint32_t events)
{
	static const char busy[] = "hvl-pmm: this console already has a client\n";
	struct con *c = arg;
	int fd;

	(void)events;
	fd = accept4(c->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	pthread_mutex_lock(&c->lock);
	if (c->io.fd >= 0) {
		c->refused++;
		pthread_mutex_unlock(&c->lock);
		(void)send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
		close(fd);
		con_log(c, HVL_LOG_INFO, "second client refused");
		return;
	}
	c->io.fd = fd;
	c->io.pollable = 1;
	c->io.dead = 0;
	c->io.hup = 0;
	c->io.eof = 0;
	c->clients++;
	slot_sync(c, &c->io);
	pthread_mutex_unlock(&c->lock);
	con_log(c, HVL_LOG_INFO, "client connected");
	/* Output held while nobody listened can go now. */
	hvl_dev_kick(c->dev);
}

/* Advance the held transmit chain by @n written bytes. */
static void tx_advance(struct con *c, size_t n)
{
	while (n > 0 && c->tx_idx < c->txc.n_out) {
		uint32_t rest = c->txc.iov[c->tx_idx].len - c->tx_ioff;

		if (n < rest) {
			c->tx_ioff += (uint32_t)n;
			return;
		}
		n -= rest;
		c->tx_idx++;
		c->tx_ioff = 0;
	}
}

/* Bytes of the held chain not written yet. */
static uint64_t tx_rest(const struct con *c)
{
	uint64_t r = 0;
	unsigned k;

	for (k = c->tx_idx; k < c->txc.n_out; k++)
		r += c->txc.iov[k].len;
	return r - c->tx_ioff;
}

/*
 * Write what is left of the held transmit chain (lock held).  Returns 1
 * when the chain is finished (written, or dropped on a dead stdout/file),
 * 0 when the output cannot take more now (EAGAIN, no socket client).
 * Bounded: every pass writes at least one byte or returns.
 */
static int tx_write(struct con *c)
{
	struct con_fd *s = out_slot(c);

	while (c->tx_idx < c->txc.n_out) {
		struct iovec iov[CON_WRITEV_MAX];
		unsigned k;
		int n = 0;
		ssize_t w;

		if (s->fd < 0 || s->dead) {
			if (c->kind == CON_SOCKET)
				return 0; /* wait for a (new) client */
			c->dropped += tx_rest(c);
			return 1;
		}
		for (k = c->tx_idx; k < c->txc.n_out && n < CON_WRITEV_MAX; k++, n++) {
			uint32_t skip = k == c->tx_idx ? c->tx_ioff : 0;

			iov[n].iov_base = (uint8_t *)c->txc.iov[k].base + skip;
			iov[n].iov_len = c->txc.iov[k].len - skip;
		}
		if (s->is_sock) {
			struct msghdr msg;

			memset(&msg, 0, sizeof(msg));
			msg.msg_iov = iov;
			msg.msg_iovlen = (size_t)n;
			w = sendmsg(s->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
		} else {
			w = writev(s->fd, iov, n);
		}
		if (w > 0) {
			tx_advance(c, (size_t)w);
			c->bytes_out += (uint64_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			/* Wait for EPOLLOUT; without epoll the watchdog tick retries. */
			c->want_out = 1;
			slot_sync(c, s);
			return 0;
		}
		if (c->kind == CON_SOCKET) {
			/* The client's hang-up reaches io_cb, which closes it. */
			s->dead = 1;
			slot_sync(c, s);
			con_log(c, HVL_LOG_INFO, "client write failed (%s)", w < 0 ? strerror(errno) : "EOF");
			return 0;
		}
		if (hvl_ratelimit_ok(&c->rl, hvl_pmm_now_ms(), CON_RL_BURST, CON_RL_MS))
			con_log(c, HVL_LOG_WARN, "output failed (%s): console output is dropped from now on",
				w < 0 ? strerror(errno) : "EOF");
		s->dead = 1;
	}
	return 1;
}

/* transmitq (§5.3.6.2): driver -> device, device-readable buffers. */
static void con_tx(struct hvl_dev *d)
{
	struct con *c = d->priv;
	unsigned budget = CON_BUDGET;
	int pushed = 0, more = 0;

	if (!hvl_dev_live(d))
		return;
	pthread_mutex_lock(&c->lock);
	for (;;) {
		struct hvl_vq_dev *vq;

		if (!c->tx_held) {
			int r;

			if (budget == 0) {
				more = 1;
				break;
			}
			budget--;
			r = hvl_dev_pop(d, HVL_CONSOLE_TXQ, &c->txc);
			if (r <= 0)
				break; /* empty, or the ring broke and the device is failed */
			if (c->txc.n_in != 0) {
				pthread_mutex_unlock(&c->lock);
				hvl_dev_fail(d, HVL_BROKEN_REQUEST,
					     "transmitq chain %u has %u device-writable buffer(s)",
					     c->txc.head, c->txc.n_in);
				return;
			}
			c->tx_held = 1;
			c->tx_idx = 0;
			c->tx_ioff = 0;
		}
		if (!tx_write(c))
			break; /* keep the chain: flow control */
		vq = hvl_dev_vq(d, HVL_CONSOLE_TXQ);
		if (vq != NULL)
			hvl_vq_dev_push(vq, c->txc.head, 0); /* nothing written into it */
		c->tx_held = 0;
		c->chains_out++;
		pushed = 1;
	}
	pthread_mutex_unlock(&c->lock);
	if (pushed)
		hvl_dev_vq_interrupt(d, HVL_CONSOLE_TXQ);
	if (more)
		hvl_dev_kick(d);
}

/* Copy buffered input into the writable iovs of c->rxc; returns bytes. */
static uint32_t rx_fill(struct con *c)
{
	uint32_t total = 0;
	unsigned k;

	for (k = c->rxc.n_out; k < (unsigned)c->rxc.n_out + c->rxc.n_in && c->icount > 0; k++) {
		uint8_t *dst = c->rxc.iov[k].base;
		uint32_t room = c->rxc.iov[k].len;

		/* At most two copies per iov: the input ring may wrap once. */
		while (room > 0 && c->icount > 0) {
			size_t n = CON_IBUF_SIZE - c->ihead;

			if (n > c->icount)
				n = c->icount;
			if (n > room)
				n = room;
			memcpy(dst, c->ibuf + c->ihead, n);
			dst += n;
			room -= (uint32_t)n;
			total += (uint32_t)n;
			c->ihead = (c->ihead + n) % CON_IBUF_SIZE;
			c->icount -= n;
		}
	}
	return total;
}

/* receiveq (§5.3.6.1): device -> driver, device-writable buffers. */
static void con_rx(struct hvl_dev *d)
{
	struct con *c = d->priv;
	unsigned budget = CON_BUDGET;
	int pushed = 0, more = 0, bad = 0;

	if (!hvl_dev_live(d))
		return;
	pthread_mutex_lock(&c->lock);
	while (c->icount > 0) {
		struct hvl_vq_dev *vq;
		uint32_t n;

		if (budget == 0) {
			more = 1;
			break;
		}
		budget--;
		if (hvl_dev_pop(d, HVL_CONSOLE_RXQ, &c->rxc) <= 0)
			break; /* no buffer posted: the input waits */
		if (c->rxc.n_out != 0) {
			bad = 1;
			break;
		}
		n = rx_fill(c);
		vq = hvl_dev_vq(d, HVL_CONSOLE_RXQ);
		if (vq != NULL)
			hvl_vq_dev_push(vq, c->rxc.head, n);
		c->chains_in++;
		pushed = 1;
	}
	/* Room again: resume reading if the buffer had filled up. */
	if (pushed && c->io.in)
		slot_sync(c, &c->io);
	pthread_mutex_unlock(&c->lock);
	if (bad)
		hvl_dev_fail(d, HVL_BROKEN_REQUEST, "receiveq chain %u has %u device-readable buffer(s)",
			     c->rxc.head, c->rxc.n_out);
	if (pushed)
		hvl_dev_vq_interrupt(d, HVL_CONSOLE_RXQ);
	if (more)
		hvl_dev_kick(d);
}

static void con_queue(struct hvl_dev *d, unsigned q)
{
	if (q == HVL_CONSOLE_RXQ)
		con_rx(d);
	else if (q == HVL_CONSOLE_TXQ)
		con_tx(d);
}

/* hvl_dev_kick(): input arrived, EPOLLOUT fired, or a client connected. */
static void con_poll(struct hvl_dev *d)
{
	con_tx(d);
	con_rx(d);
}

/* The rings are gone: forget the chain we held, keep buffered input (§2.1). */
static void con_reset(struct hvl_dev *d)
{
	struct con *c = d->priv;

	pthread_mutex_lock(&c->lock);
	c->tx_held = 0;
	c->tx_idx = 0;
	c->tx_ioff = 0;
	pthread_mutex_unlock(&c->lock);
}

static int con_driver_ok(struct hvl_dev *d)
{
	(void)d;
	return 0;
}

/*
 * emerg_wr (§5.3.4): a 32-bit write at offset 8 outputs one character at
 * once, even before the queues are up.  Best effort: it bypasses the
 * transmitq (that is its purpose), and it is dropped if the output cannot
 * take it right now.  Other fields are read-only to the driver.
 */
static int con_config_write(struct hvl_dev *d, uint32_t off, uint32_t val, unsigned size)
{
	struct con *c = d->priv;
	struct con_fd *s;
	uint8_t ch = (uint8_t)val;
	ssize_t w = -1;

	if (off != HVL_CONSOLE_CFG_EMERG_WR || size == 0 || size > 4)
		return -EINVAL;
	pthread_mutex_lock(&c->lock);
	s = out_slot(c);
	c->emerg++;
	if (s->fd >= 0 && !s->dead)
		w = s->is_sock ? send(s->fd, &ch, 1, MSG_NOSIGNAL | MSG_DONTWAIT) : write(s->fd, &ch, 1);
	if (w == 1)
		c->bytes_out++;
	else
		c->dropped++;
	pthread_mutex_unlock(&c->lock);
	return 0;
}

static const struct hvl_dev_ops con_ops = {
	.reset = con_reset,
	.driver_ok = con_driver_ok,
	.queue = con_queue,
	.config_write = con_config_write,
	.poll = con_poll,
};

static void con_destroy(void *priv)
{
	struct con *c = priv;
	char link[sizeof(c->pty_name)];
	ssize_t n;

	if (c == NULL)
		return;
	if (c->io.fd >= 0) {
		if (c->io.watched)
			hvl_pmm_unwatch(c->pmm, c->io.fd);
		close(c->io.fd);
	}
	if (c->out.fd >= 0) {
		if (c->out.watched)
			hvl_pmm_unwatch(c->pmm, c->out.fd);
		close(c->out.fd);
	}
	if (c->listen_fd >= 0) {
		hvl_pmm_unwatch(c->pmm, c->listen_fd);
		close(c->listen_fd);
	}
	if (c->pty_slave >= 0)
		close(c->pty_slave);
	if (c->path[0] != '\0') {
		/* Only remove what is still ours: our socket, or a link to our pty. */
		if (c->kind == CON_SOCKET) {
			(void)unlink(c->path);
		} else {
			n = readlink(c->path, link, sizeof(link) - 1);
			if (n > 0) {
				link[n] = '\0';
				if (strcmp(link, c->pty_name) == 0)
					(void)unlink(c->path);
			}
		}
	}
	pthread_mutex_destroy(&c->lock);
	free(c->ibuf);
	free(c->txc.iov);
	free(c->rxc.iov);
	free(c);
}

static void con_stats(void *priv, char *buf, size_t len)
{
	struct con *c = priv;

	pthread_mutex_lock(&c->lock);
	snprintf(buf, len,
		 "console: in %llu B / %llu chains, out %llu B / %llu chains, dropped %llu B, "
		 "emerg %llu, buffered %zu B, clients %llu (refused %llu)",
		 (unsigned long long)c->bytes_in, (unsigned long long)c->chains_in,
		 (unsigned long long)c->bytes_out, (unsigned long long)c->chains_out,
		 (unsigned long long)c->dropped, (unsigned long long)c->emerg, c->icount,
		 (unsigned long long)c->clients, (unsigned long long)c->refused);
	pthread_mutex_unlock(&c->lock);
}

static int con_create_inner(struct hvl_pmm *pmm, struct hvl_pmm_region *rg,
		      const struct hvl_pmm_dev_config *cfg, struct hvl_dev *dev,
		      struct hvl_dev_static *st, const struct hvl_dev_ops **ops, void **priv)
{
	const char *backend = hvl_pmm_dev_opt(cfg, "backend");
	const char *path = hvl_pmm_dev_opt(cfg, "path");
	const char *ports = hvl_pmm_dev_opt(cfg, "ports");
	unsigned cap = CON_IOV_MIN, q;
	struct con *c;
	int rc;

	(void)rg;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return -ENOMEM;
	c->pmm = pmm;
	c->log = &pmm->log;
	c->dev = dev;
	snprintf(c->name, sizeof(c->name), "%s", cfg->name);
	c->listen_fd = c->pty_slave = -1;
	c->io.fd = c->out.fd = -1;
	c->io.c = c->out.c = c;
	c->io.pollable = c->out.pollable = 1;
	pthread_mutex_init(&c->lock, NULL);
	*priv = c; /* con_create() destroys it again on failure */

	if (ports != NULL && strcmp(ports, "1") != 0) {
		con_log(c, HVL_LOG_ERROR, "ports = %s: only one port (no MULTIPORT) is supported", ports);
		return -ENOTSUP;
	}
	if (st->num_queues != HVL_CONSOLE_NUM_QUEUES) {
		con_log(c, HVL_LOG_ERROR, "needs exactly 2 queues, has %u", st->num_queues);
		return -EINVAL;
	}
	/* A direct chain is at most a queue long; indirect tables up to CON_IOV_MIN. */
	for (q = 0; q < HVL_CONSOLE_NUM_QUEUES; q++)
		if (st->queue_num_max[q] > cap)
			cap = st->queue_num_max[q];
	c->ibuf = malloc(CON_IBUF_SIZE);
	c->txc.iov = calloc(cap, sizeof(*c->txc.iov));
	c->rxc.iov = calloc(cap, sizeof(*c->rxc.iov));
	if (c->ibuf == NULL || c->txc.iov == NULL || c->rxc.iov == NULL)
		return -ENOMEM;
	c->txc.cap = c->rxc.cap = cap;

	if (backend == NULL || strcmp(backend, "stdio") == 0) {
		c->kind = CON_STDIO;
		rc = con_setup_stdio(c);
	} else if (strcmp(backend, "file") == 0 || strcmp(backend, "socket") == 0) {
		if (path == NULL || path[0] == '\0') {
			con_log(c, HVL_LOG_ERROR, "backend %s needs a path", backend);
			return -EINVAL;
		}
		c->kind = backend[0] == 'f' ? CON_FILE : CON_SOCKET;
		rc = c->kind == CON_FILE ? con_setup_file(c, path) : con_setup_socket(c, path);
	} else if (strcmp(backend, "pty") == 0) {
		c->kind = CON_PTY;
		rc = con_setup_pty(c, path != NULL && path[0] != '\0' ? path : NULL);
	} else {
		con_log(c, HVL_LOG_ERROR, "unknown backend '%s' (stdio, socket, pty, file)", backend);
		return -EINVAL;
	}
	if (rc != 0)
		return rc;

	pthread_mutex_lock(&c->lock);
	slot_sync(c, &c->io);
	pthread_mutex_unlock(&c->lock);

	/* §5.3.4: an 80x25 terminal with one port; emerg_wr reads as 0. */
	hvl_le16_put(&c->config.cols, HVL_CONSOLE_DEFAULT_COLS);
	hvl_le16_put(&c->config.rows, HVL_CONSOLE_DEFAULT_ROWS);
	hvl_le32_put(&c->config.max_nr_ports, 1);
	hvl_le32_put(&c->config.emerg_wr, 0);
	st->config = &c->config;
	st->config_size = sizeof(c->config);
	/* No device-specific features (no SIZE, MULTIPORT or EMERG_WRITE); VERSION_1 is added. */
	st->features = HVL_F_VERSION_1 | HVL_F_EVENT_IDX | HVL_F_INDIRECT_DESC;
	*ops = &con_ops;
	return 0;
}

static int con_create(struct hvl_pmm *pmm, struct hvl_pmm_region *rg,
		      const struct hvl_pmm_dev_config *cfg, struct hvl_dev *dev,
		      struct hvl_dev_static *st, const struct hvl_dev_ops **ops, void **priv)
{
	int rc;

	*priv = NULL;
	rc = con_create_inner(pmm, rg, cfg, dev, st, ops, priv);
	if (rc != 0) {
		/* The region forgets a backend whose create() failed: clean up here. */
		con_destroy(*priv);
		*priv = NULL;
	}
	return rc;
}

const struct hvl_pmm_backend hvl_pmm_console_backend = {
	.type = "console",
	.create = con_create,
	.destroy = con_destroy,
	.stats = con_stats,
};

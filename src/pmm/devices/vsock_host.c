/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vsock backend, Linux side: the UNIX sockets a connection is bridged to.
 *
 *   remote -> host port P: vs_host_connect() connects a UNIX stream socket
 *     to the path configured for P ("port.P = /path", else "prefix" + "_P");
 *   Linux -> remote: a client of the "listen" socket sends "CONNECT <port>\n"
 *     and gets "OK <host port>\n" once the remote accepted, or
 *     "ERR <reason>\n" and EOF.  Bytes after the line are stream data.
 *
 * These functions run on the main thread (fd callbacks) or on the device
 * thread (vsock.c), always with v->lock held, so one lock orders every
 * change to a connection.  Memory is bounded: at most max_conn connections,
 * each with two buffers of buf_size bytes, allocated while it exists.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "vsock_priv.h"

static void conn_io_cb(void *arg, uint32_t events);

struct vs_conn *vs_conn_alloc(struct vs *v)
{
	unsigned i;

	if (v->nconn >= v->max_conn)
		return NULL;
	for (i = 0; i < v->max_conn; i++) {
		struct vs_conn *c = &v->conn[i];

		if (c->state != VS_FREE)
			continue;
		/* rbuf also carries our OK/ERR line in front of the remote's data. */
		c->mem = malloc((size_t)v->buf_size * 2u + VS_LINE_EXTRA);
		if (c->mem == NULL)
			return NULL;
		/* c->vs and c->idx are set once at create: fd callbacks read them unlocked. */
		c->fd = -1;
		c->ev = 0;
		c->watched = 0;
		c->pend = 0;
		c->deadline_ms = 0;
		c->rbuf = c->mem;
		c->rcap = v->buf_size + VS_LINE_EXTRA;
		c->hbuf = c->mem + c->rcap;
		c->hcap = v->buf_size;
		c->rhead = c->rcount = c->rx_cnt = c->fwd_cnt = c->fwd_adv = c->rline = 0;
		c->hhead = c->hcount = c->tx_cnt = 0;
		c->peer_buf_alloc = c->peer_fwd_cnt = 0;
		c->host_eof = c->eof_sent = c->remote_eof = c->remote_norcv = 0;
		c->wr_shut = c->close_after_flush = 0;
		c->host_port = c->remote_port = 0;
		c->state = VS_LINE; /* callers set the real state */
		v->nconn++;
		if (i + 1 > v->hiwater)
			v->hiwater = i + 1;
		return c;
	}
	return NULL;
}

void vs_queue_rst(struct vs *v, uint32_t host_port, uint32_t remote_port)
{
	struct vs_rst *r;

	if (v->rst_count >= VS_RST_RING) {
		v->rst_dropped++; /* a flood: the remote's retry or timeout recovers */
		return;
	}
	r = &v->rst[(v->rst_head + v->rst_count) % VS_RST_RING];
	r->host_port = host_port;
	r->remote_port = remote_port;
	v->rst_count++;
}

void vs_conn_close(struct vs_conn *c, int rst)
{
	struct vs *v = c->vs;

	if (c->state == VS_FREE)
		return;
	if (c->fd >= 0) {
		if (c->watched)
			hvl_pmm_unwatch(v->pmm, c->fd);
		close(c->fd);
	}
	/* A CONNECT client still reading its line has no remote end yet. */
	if (rst && c->state != VS_LINE)
		vs_queue_rst(v, c->host_port, c->remote_port);
	free(c->mem);
	c->mem = c->rbuf = c->hbuf = NULL;
	c->fd = -1;
	c->watched = 0;
	c->state = VS_FREE;
	v->nconn--;
	while (v->hiwater > 0 && v->conn[v->hiwater - 1].state == VS_FREE)
		v->hiwater--;
}

void vs_conn_sync(struct vs_conn *c)
{
	struct vs *v = c->vs;
	uint32_t ev = 0;
	int rc;

	if (c->state == VS_FREE || c->fd < 0)
		return;
	if (!c->host_eof && !c->close_after_flush && c->hcount < c->hcap &&
	    !(c->state == VS_ESTABLISHED && c->remote_norcv))
		ev |= EPOLLIN;
	if (c->rcount > 0)
		ev |= EPOLLOUT;
	if (ev == 0) {
		/* Nothing to wait for; a hang-up is seen at the next read or write. */
		if (c->watched)
			hvl_pmm_unwatch(v->pmm, c->fd);
		c->watched = 0;
		return;
	}
	if (!c->watched) {
		rc = hvl_pmm_watch(v->pmm, c->fd, ev, conn_io_cb, c);
		if (rc != 0) {
			vs_log(v, HVL_LOG_WARN, "watching a connection: %s", strerror(-rc));
			return;
		}
		c->watched = 1;
	} else if (ev != c->ev) {
		(void)hvl_pmm_rewatch(v->pmm, c->fd, ev);
	}
	c->ev = ev;
}

int vs_conn_maybe_done(struct vs_conn *c)
{
	/*
	 * Both directions finished (§5.10.6.5): the remote will send no more
	 * (SHUTDOWN SEND) and all of it reached Linux, and Linux's EOF reached
	 * the remote or the remote will not receive.  RST ends the connection.
	 */
	if (c->state == VS_ESTABLISHED && c->remote_eof && c->rcount == 0 &&
	    (c->eof_sent || c->remote_norcv)) {
		vs_conn_close(c, 1);
		return 1;
	}
	return 0;
}

int vs_conn_flush(struct vs_conn *c)
{
	struct vs *v = c->vs;

	while (c->rcount > 0) {
		uint32_t n = c->rcap - c->rhead;
		ssize_t w;

		if (n > c->rcount)
			n = c->rcount;
		w = send(c->fd, c->rbuf + c->rhead, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (w <= 0) {
			/* Linux end gone: the remote gets RST (a refused client: just close). */
			vs_conn_close(c, !c->close_after_flush);
			return 0;
		}
		c->rhead = (c->rhead + (uint32_t)w) % c->rcap;
		c->rcount -= (uint32_t)w;
		/* The OK/ERR line is ours; only the remote's bytes advance fwd_cnt. */
		if (c->rline >= (uint32_t)w) {
			c->rline -= (uint32_t)w;
		} else {
			c->fwd_cnt += (uint32_t)w - c->rline;
			v->bytes_out += (uint64_t)w - c->rline;
			c->rline = 0;
		}
	}
	if (c->rcount == 0) {
		c->rhead = 0;
		if (c->close_after_flush) {
			vs_conn_close(c, 0);
			return 0;
		}
		if (c->remote_eof && !c->wr_shut) {
			(void)shutdown(c->fd, SHUT_WR);
			c->wr_shut = 1;
		}
	}
	/* Tell the remote about freed space once a quarter of the buffer is free again. */
	if (c->state == VS_ESTABLISHED && c->fwd_cnt - c->fwd_adv >= v->buf_size / 4u)
		c->pend |= VS_PEND_CREDIT;
	if (vs_conn_maybe_done(c))
		return 0;
	vs_conn_sync(c);
	return 1;
}

void vs_client_answer(struct vs_conn *c, int ok)
{
	int n;

	/* Nothing of the remote's can be in rbuf before the connection is up. */
	c->rhead = 0;
	if (ok)
		n = snprintf((char *)c->rbuf, VS_LINE_EXTRA, "OK %u\n", (unsigned)c->host_port);
	else
		n = snprintf((char *)c->rbuf, VS_LINE_EXTRA, "ERR ECONNREFUSED\n");
	c->rcount = c->rline = (uint32_t)n;
	if (ok) {
		c->state = VS_ESTABLISHED;
	} else {
		c->close_after_flush = 1;
		c->state = VS_ESTABLISHED; /* only the line goes out, then close */
		c->remote_norcv = 1;
		c->hcount = 0;
	}
	(void)vs_conn_flush(c);
}

/* A host port for a CONNECT client, unique among live connections. */
static uint32_t host_port_alloc(struct vs *v, uint32_t remote_port)
{
	unsigned tries, i;

	for (tries = 0; tries < 4u * VS_MAX_MAX_CONN; tries++) {
		uint32_t p = v->next_host_port++;
		int used = 0;

		if (v->next_host_port < VS_HOST_PORT_BASE)
			v->next_host_port = VS_HOST_PORT_BASE;
		for (i = 0; i < v->hiwater && !used; i++)
			used = v->conn[i].state != VS_FREE && v->conn[i].host_port == p &&
			       v->conn[i].remote_port == remote_port;
		if (!used)
			return p;
	}
	return VS_HOST_PORT_BASE;
}

/* The CONNECT line, at the start of hbuf; returns -1 if it is malformed. */
static int parse_line(struct vs_conn *c)
{
	char line[VS_LINE_MAX + 1];
	uint32_t i, len;
	unsigned long port;
	char *end;

	for (len = 0; len < c->hcount && c->hbuf[len] != '\n'; len++)
		;
	if (len == c->hcount)
		return c->hcount >= VS_LINE_MAX ? -1 : 0; /* not complete yet */
	if (len >= VS_LINE_MAX)
		return -1;
	memcpy(line, c->hbuf, len);
	line[len] = '\0';
	if (len > 0 && line[len - 1] == '\r')
		line[len - 1] = '\0';
	if (strncmp(line, "CONNECT ", 8) != 0 || line[8] < '0' || line[8] > '9')
		return -1;
	errno = 0;
	port = strtoul(line + 8, &end, 10);
	if (errno != 0 || *end != '\0' || port > 0xFFFFFFFFul)
		return -1;
	/* Bytes after the line are the first stream data. */
	len++;
	for (i = len; i < c->hcount; i++)
		c->hbuf[i - len] = c->hbuf[i];
	c->hcount -= len;
	c->hhead = 0;
	c->remote_port = (uint32_t)port;
	c->host_port = host_port_alloc(c->vs, c->remote_port);
	c->state = VS_CONNECTING;
	c->pend |= VS_PEND_REQUEST;
	c->deadline_ms = hvl_pmm_now_ms() + VS_CONNECT_MS;
	c->vs->conns_in++;
	return 1;
}

/* Main thread: a connection's socket is readable or writable. */
static void conn_io_cb(void *arg, uint32_t events)
{
	struct vs_conn *c = arg;
	struct vs *v = c->vs;
	int kick = 0;

	pthread_mutex_lock(&v->lock);
	if (c->state == VS_FREE || c->fd < 0) {
		pthread_mutex_unlock(&v->lock);
		return;
	}
	if ((c->ev & EPOLLIN) && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && c->hcount < c->hcap) {
		uint32_t tail = (c->hhead + c->hcount) % c->hcap;
		uint32_t room = c->hcap - c->hcount;
		ssize_t n;

		if (room > c->hcap - tail)
			room = c->hcap - tail;
		n = recv(c->fd, c->hbuf + tail, room, MSG_DONTWAIT);
		if (n > 0) {
			c->hcount += (uint32_t)n;
			kick = 1;
			if (c->state == VS_LINE) {
				int r = parse_line(c);

				if (r < 0) {
					static const char bad[] = "ERR bad request\n";

					memcpy(c->rbuf, bad, sizeof(bad) - 1);
					c->rcount = c->rline = sizeof(bad) - 1;
					c->close_after_flush = 1;
					c->hcount = 0;
				}
			}
		} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			c->host_eof = 1;
			kick = 1;
			if (c->state == VS_LINE || (n < 0 && c->state == VS_ESTABLISHED)) {
				/* A client gone before its line; or a reset socket. */
				vs_conn_close(c, c->state != VS_LINE);
				pthread_mutex_unlock(&v->lock);
				hvl_dev_kick(v->dev);
				return;
			}
		}
	}
	if (c->state != VS_FREE && c->rcount > 0 && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
		if (vs_conn_flush(c) == 0) {
			pthread_mutex_unlock(&v->lock);
			hvl_dev_kick(v->dev);
			return;
		}
		kick = 1;
	}
	if (c->state != VS_FREE)
		vs_conn_sync(c);
	pthread_mutex_unlock(&v->lock);
	if (kick)
		hvl_dev_kick(v->dev);
}

/* Main thread: a client connected to the CONNECT listener. */
static void listen_cb(void *arg, uint32_t events)
{
	static const char full[] = "ERR too many connections\n";
	struct vs *v = arg;
	struct vs_conn *c;
	unsigned burst;
	int fd;

	(void)events;
	/* Bounded: a few accepts per wake-up, epoll calls again if more wait. */
	for (burst = 0; burst < 16u; burst++) {
		fd = accept4(v->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		pthread_mutex_lock(&v->lock);
		c = vs_conn_alloc(v);
		if (c == NULL) {
			v->refused_full++;
			pthread_mutex_unlock(&v->lock);
			(void)send(fd, full, sizeof(full) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
			close(fd);
			continue;
		}
		c->fd = fd;
		c->state = VS_LINE;
		vs_conn_sync(c);
		pthread_mutex_unlock(&v->lock);
	}
}

int vs_host_connect(struct vs *v, uint32_t port)
{
	struct sockaddr_un sa;
	const char *path = NULL;
	unsigned i;
	int fd, n;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	for (i = 0; i < v->nmap; i++)
		if (v->map[i].port == port)
			path = v->map[i].path;
	if (path != NULL)
		n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	else if (v->prefix[0] != '\0')
		n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", v->prefix, (unsigned)port);
	else
		return -ENOENT;
	if (n < 0 || (size_t)n >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/*
	 * A UNIX connect completes at once or fails at once (EAGAIN: the
	 * listener's backlog is full); the device thread never waits here.
	 */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	return fd;
}

int vs_listen_open(struct vs *v)
{
	struct sockaddr_un sa;
	struct stat st;
	int rc;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(v->listen_path) >= sizeof(sa.sun_path)) {
		vs_log(v, HVL_LOG_ERROR, "listen path too long: %s", v->listen_path);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, v->listen_path, strlen(v->listen_path));
	/* Replace a stale socket, never another kind of file. */
	if (lstat(v->listen_path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			vs_log(v, HVL_LOG_ERROR, "%s exists and is not a socket", v->listen_path);
			return -EEXIST;
		}
		(void)unlink(v->listen_path);
	}
	v->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (v->listen_fd < 0)
		return -errno;
	if (bind(v->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(v->listen_fd, 128) != 0) {
		rc = -errno;
		vs_log(v, HVL_LOG_ERROR, "listen on %s: %s", v->listen_path, strerror(-rc));
		close(v->listen_fd);
		v->listen_fd = -1;
		return rc;
	}
	rc = hvl_pmm_watch(v->pmm, v->listen_fd, EPOLLIN, listen_cb, v);
	if (rc != 0) {
		close(v->listen_fd);
		v->listen_fd = -1;
		(void)unlink(v->listen_path);
	}
	return rc;
}

void vs_host_close_all(struct vs *v)
{
	unsigned i;

	if (v->listen_fd >= 0) {
		hvl_pmm_unwatch(v->pmm, v->listen_fd);
		close(v->listen_fd);
		v->listen_fd = -1;
		(void)unlink(v->listen_path);
	}
	pthread_mutex_lock(&v->lock);
	for (i = 0; v->conn != NULL && i < v->max_conn; i++)
		vs_conn_close(&v->conn[i], 0);
	pthread_mutex_unlock(&v->lock);
}

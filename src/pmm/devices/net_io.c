/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-net backend, Linux side: the TAP interface and the UNIX stream
 * socket with QEMU's `-netdev stream` framing (a 4-byte big-endian length,
 * then the frame), on the PMM's main epoll loop.  Everything here runs on
 * the main thread except net_sync_watch(), net_disconnect() and
 * net_rx_resume(), which the device thread also calls; all of them hold
 * net->lock.  The data path toward the remote is in net.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include "net_priv.h"
#include "unix_sock.h"

static void fd_cb(void *arg, uint32_t events);

void net_sync_watch(struct net *n)
{
	uint32_t want = 0;
	int rc;

	if (n->fd < 0)
		return;
	/*
	 * Bounded memory: with every slot full we stop reading.  The TAP's
	 * kernel queue then drops (its own counters), a stream peer blocks.
	 */
	if (n->rx_count < NET_RX_SLOTS)
		want |= EPOLLIN;
	else if (n->ev & EPOLLIN)
		n->st.rx_paused++;
	if (n->toff < n->tlen)
		want |= EPOLLOUT;
	if (want == n->ev)
		return;
	if (want == 0) {
		hvl_pmm_unwatch(n->pmm, n->fd);
		n->ev = 0;
		return;
	}
	rc = n->ev == 0 ? hvl_pmm_watch(n->pmm, n->fd, want, fd_cb, n)
			: hvl_pmm_rewatch(n->pmm, n->fd, want);
	if (rc != 0) {
		net_log(n, HVL_LOG_WARN, "watching fd %d: %s", n->fd, strerror(-rc));
		return;
	}
	n->ev = want;
}

static void parser_reset(struct net *n)
{
	n->roff = n->rlen = 0;
	n->shdr_got = n->body_len = n->body_got = 0;
	n->in_body = n->skipping = 0;
}

void net_disconnect(struct net *n, const char *why)
{
	if (n->fd < 0)
		return;
	if (n->ev != 0)
		hvl_pmm_unwatch(n->pmm, n->fd);
	close(n->fd);
	n->fd = -1;
	n->ev = 0;
	n->link = 0;
	n->st.disconnects++;
	/* Frames not (fully) written cannot go out on another connection. */
	if (n->toff < n->tlen)
		n->st.tx_err += n->tframes;
	n->tframes = 0;
	n->tlen = n->toff = 0;
	parser_reset(n);
	net_log(n, HVL_LOG_INFO, "peer disconnected (%s): link down", why);
	hvl_dev_kick(n->dev); /* the device thread publishes the link status */
}

/* A new stream connection (lock held): link up, fresh parser. */
static void stream_attach(struct net *n, int fd)
{
	n->fd = fd;
	n->ev = 0;
	n->link = 1;
	n->st.connects++;
	n->tlen = n->toff = n->tframes = 0;
	parser_reset(n);
	net_sync_watch(n);
	hvl_dev_kick(n->dev);
}

/*
 * Parse buffered stream bytes into frames (lock held).  A body goes
 * straight into the tail slot; a body we will drop (runt, oversized) is
 * skipped without being stored, so a long frame costs no memory.  Returns
 * 0 when the buffer is consumed, 1 when a frame waits for a free slot,
 * -1 on a length no QEMU peer sends (> 65535): the stream cannot be
 * trusted to be in sync any more.
 */
static int stream_parse(struct net *n, int *kick)
{
	while (n->roff < n->rlen) {
		uint32_t chunk;

		if (!n->in_body) {
			uint32_t len;

			while (n->shdr_got < 4u && n->roff < n->rlen)
				n->shdr[n->shdr_got++] = n->rbuf[n->roff++];
			if (n->shdr_got < 4u)
				return 0;
			n->shdr_got = 0;
			len = ((uint32_t)n->shdr[0] << 24) | ((uint32_t)n->shdr[1] << 16) |
			      ((uint32_t)n->shdr[2] << 8) | (uint32_t)n->shdr[3];
			if (len > NET_STREAM_MAX) {
				n->st.rx_badlen++;
				return -1;
			}
			if (len == 0) {
				n->st.rx_zero++;
				continue;
			}
			n->in_body = 1;
			n->body_len = len;
			n->body_got = 0;
			n->skipping = 0;
			if (len < HVL_NET_ETH_HLEN) {
				n->st.rx_runt++;
				n->skipping = 1;
			} else if (len > n->max_frame) {
				n->st.rx_oversize++;
				n->skipping = 1;
			}
		}
		if (!n->skipping && n->body_got == 0 && n->rx_count >= NET_RX_SLOTS)
			return 1;
		chunk = n->rlen - n->roff;
		if (chunk > n->body_len - n->body_got)
			chunk = n->body_len - n->body_got;
		if (!n->skipping) {
			unsigned tail = (n->rx_head + n->rx_count) % NET_RX_SLOTS;

			memcpy(n->slots + (size_t)tail * n->slot_size + n->body_got,
			       n->rbuf + n->roff, chunk);
		}
		n->roff += chunk;
		n->body_got += chunk;
		if (n->body_got == n->body_len) {
			n->in_body = 0;
			if (!n->skipping) {
				unsigned tail = (n->rx_head + n->rx_count) % NET_RX_SLOTS;

				n->slot_len[tail] = n->body_len;
				n->rx_count++;
				*kick = 1;
			}
		}
	}
	return 0;
}

/* Stream input (lock held): recv into rbuf, parse, until EAGAIN or blocked. */
static void stream_read(struct net *n, int *kick)
{
	unsigned i;

	for (i = 0; i < NET_READ_BUDGET && n->fd >= 0; i++) {
		int rc;

		if (n->roff == n->rlen) {
			ssize_t r = recv(n->fd, n->rbuf, NET_RBUF_SIZE, MSG_DONTWAIT);

			if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
				return;
			if (r <= 0) {
				net_disconnect(n, r == 0 ? "EOF" : strerror(errno));
				return;
			}
			n->roff = 0;
			n->rlen = (uint32_t)r;
		}
		rc = stream_parse(n, kick);
		if (rc < 0) {
			net_log(n, HVL_LOG_WARN, "stream length above %u: dropping the connection",
				NET_STREAM_MAX);
			net_disconnect(n, "bad frame length");
			return;
		}
		if (rc > 0)
			return; /* wait for the remote to take frames */
	}
}

/* TAP input (lock held): one frame per read(), straight into the tail slot. */
static void tap_read(struct net *n, int *kick)
{
	unsigned i;

	for (i = 0; i < NET_READ_BUDGET && n->rx_count < NET_RX_SLOTS; i++) {
		unsigned tail = (n->rx_head + n->rx_count) % NET_RX_SLOTS;
		ssize_t r = read(n->fd, n->slots + (size_t)tail * n->slot_size, n->slot_size);

		if (r < 0 && errno == EBADFD) {
			/* The interface is gone (deleted, or its namespace was): unplugged for good. */
			net_disconnect(n, "TAP interface removed");
			return;
		}
		if (r < 0) {
			if (errno != EAGAIN && errno != EINTR &&
			    hvl_ratelimit_ok(&n->rl, hvl_pmm_now_ms(), NET_RL_BURST, NET_RL_MS))
				net_log(n, HVL_LOG_WARN, "tap read: %s", strerror(errno));
			return;
		}
		/* slot_size is max_frame + 1: a longer frame reads as oversized. */
		if (r == 0) {
			n->st.rx_zero++;
		} else if ((size_t)r < HVL_NET_ETH_HLEN) {
			n->st.rx_runt++;
		} else if ((size_t)r > n->max_frame) {
			n->st.rx_oversize++;
		} else {
			n->slot_len[tail] = (uint32_t)r;
			n->rx_count++;
			*kick = 1;
		}
	}
}

void net_rx_resume(struct net *n)
{
	int kick = 0;

	if (n->fd >= 0 && n->kind == NET_STREAM && n->roff < n->rlen) {
		if (stream_parse(n, &kick) < 0)
			net_disconnect(n, "bad frame length");
	}
	net_sync_watch(n);
	/* Frames parsed here are taken by the caller's loop or the next kick. */
	if (kick)
		hvl_dev_kick(n->dev);
}

/* Main-thread callback of the TAP fd or the stream connection. */
static void fd_cb(void *arg, uint32_t events)
{
	struct net *n = arg;
	int kick = 0;

	pthread_mutex_lock(&n->lock);
	if (n->fd < 0) {
		pthread_mutex_unlock(&n->lock);
		return;
	}
	if (events & EPOLLOUT)
		kick = 1; /* the device thread finishes the held frame */
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		if (n->kind == NET_TAP)
			tap_read(n, &kick);
		else
			stream_read(n, &kick);
	}
	net_sync_watch(n);
	pthread_mutex_unlock(&n->lock);
	if (kick)
		hvl_dev_kick(n->dev);
}

/* Listen mode: one peer at a time, like a cable with two ends. */
static void listen_cb(void *arg, uint32_t events)
{
	struct net *n = arg;
	int fd;

	(void)events;
	fd = accept4(n->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	pthread_mutex_lock(&n->lock);
	if (n->fd >= 0) {
		n->st.refused++;
		pthread_mutex_unlock(&n->lock);
		close(fd);
		net_log(n, HVL_LOG_INFO, "second peer refused");
		return;
	}
	stream_attach(n, fd);
	pthread_mutex_unlock(&n->lock);
	net_log(n, HVL_LOG_INFO, "peer connected: link up");
}

/* Connect mode: one non-blocking attempt (lock held). */
static void try_connect(struct net *n)
{
	struct sockaddr_un sa;
	int fd;

	if (n->fd >= 0)
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, n->path, strlen(n->path) + 1); /* length checked at setup */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	/* A UNIX connect completes at once or fails (EAGAIN: backlog full, retry). */
	if (connect(fd, (const struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return;
	}
	stream_attach(n, fd);
	net_log(n, HVL_LOG_INFO, "connected to %s: link up", n->path);
}

/* Connect mode: the retry timer. */
static void timer_cb(void *arg, uint32_t events)
{
	struct net *n = arg;
	uint64_t ticks;

	(void)events;
	if (read(n->timer_fd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&n->lock);
	try_connect(n);
	pthread_mutex_unlock(&n->lock);
}

int net_setup_tap(struct net *n, const char *ifname)
{
	struct ifreq ifr;
	int s, rc;

	memset(&ifr, 0, sizeof(ifr));
	if (ifname != NULL) {
		if (strlen(ifname) >= IFNAMSIZ || ifname[0] == '\0') {
			net_log(n, HVL_LOG_ERROR, "ifname '%s': 1 to %d characters", ifname, IFNAMSIZ - 1);
			return -EINVAL;
		}
		memcpy(ifr.ifr_name, ifname, strlen(ifname) + 1);
	} else {
		memcpy(ifr.ifr_name, "hvl%d", 6); /* the kernel picks the number */
	}
	n->fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (n->fd < 0) {
		rc = -errno;
		net_log(n, HVL_LOG_ERROR, "/dev/net/tun: %s", strerror(-rc));
		return rc;
	}
	/* A plain Ethernet TAP: no packet-info prefix, no vnet header (no offloads). */
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	if (ioctl(n->fd, TUNSETIFF, &ifr) != 0) {
		rc = -errno;
		net_log(n, HVL_LOG_ERROR, "TUNSETIFF %s: %s", ifr.ifr_name, strerror(-rc));
		return rc;
	}
	memcpy(n->ifname, ifr.ifr_name, IFNAMSIZ);
	n->ifname[IFNAMSIZ - 1] = '\0';
	/* Linux then never sends us a frame the remote may not receive (§5.1.4 mtu). */
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s >= 0) {
		memset(&ifr, 0, sizeof(ifr));
		memcpy(ifr.ifr_name, n->ifname, IFNAMSIZ);
		ifr.ifr_mtu = n->mtu;
		if (ioctl(s, SIOCSIFMTU, &ifr) != 0)
			net_log(n, HVL_LOG_WARN, "setting the MTU of %s to %u: %s", n->ifname,
				(unsigned)n->mtu, strerror(errno));
		close(s);
	}
	/* The cable is plugged in as long as we hold the TAP. */
	n->link = 1;
	pthread_mutex_lock(&n->lock);
	net_sync_watch(n);
	pthread_mutex_unlock(&n->lock);
	net_log(n, HVL_LOG_INFO, "backend tap %s, mtu %u", n->ifname, (unsigned)n->mtu);
	return 0;
}

int net_setup_stream(struct net *n, const char *path, int listen_mode)
{
	struct sockaddr_un sa;
	struct itimerspec its;
	int rc;

	if (hvl_unix_addr(&sa, path) != 0) {
		net_log(n, HVL_LOG_ERROR, "socket path too long: %s", path);
		return -ENAMETOOLONG;
	}
	snprintf(n->path, sizeof(n->path), "%s", path);
	n->listen_mode = listen_mode;
	n->rbuf = malloc(NET_RBUF_SIZE);
	if (n->rbuf == NULL)
		return -ENOMEM;
	if (!listen_mode) {
		/* Try now, then every NET_CONNECT_MS on the main loop until a peer is there. */
		n->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		if (n->timer_fd < 0)
			return -errno;
		memset(&its, 0, sizeof(its));
		its.it_interval.tv_nsec = (long)NET_CONNECT_MS * 1000000L;
		its.it_value = its.it_interval;
		if (timerfd_settime(n->timer_fd, 0, &its, NULL) != 0)
			return -errno;
		rc = hvl_pmm_watch(n->pmm, n->timer_fd, EPOLLIN, timer_cb, n);
		if (rc != 0)
			return rc;
		pthread_mutex_lock(&n->lock);
		try_connect(n);
		pthread_mutex_unlock(&n->lock);
		net_log(n, HVL_LOG_INFO, "backend stream, connecting to %s%s", path,
			n->link ? "" : " (not there yet, retrying)");
		return 0;
	}
	rc = hvl_unix_remove_stale(&sa);
	if (rc != 0) {
		net_log(n, HVL_LOG_ERROR, "%s: %s", path, rc == -EEXIST ? "exists and is not a socket" :
			rc == -EADDRINUSE ? "is in use by another process" : strerror(-rc));
		return rc;
	}
	n->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (n->listen_fd < 0)
		return -errno;
	if (bind(n->listen_fd, (const struct sockaddr *)&sa, sizeof(sa)) != 0) {
		rc = -errno;
		net_log(n, HVL_LOG_ERROR, "bind %s: %s", path, strerror(-rc));
		return rc;
	}
	n->own_path = 1;
	if (listen(n->listen_fd, 4) != 0)
		return -errno;
	rc = hvl_pmm_watch(n->pmm, n->listen_fd, EPOLLIN, listen_cb, n);
	if (rc != 0)
		return rc;
	net_log(n, HVL_LOG_INFO, "backend stream, listening on %s", path);
	return 0;
}

void net_close_all(struct net *n)
{
	pthread_mutex_lock(&n->lock);
	if (n->fd >= 0) {
		if (n->ev != 0)
			hvl_pmm_unwatch(n->pmm, n->fd);
		close(n->fd);
		n->fd = -1;
		n->ev = 0;
	}
	pthread_mutex_unlock(&n->lock);
	if (n->listen_fd >= 0) {
		hvl_pmm_unwatch(n->pmm, n->listen_fd);
		close(n->listen_fd);
		n->listen_fd = -1;
	}
	if (n->timer_fd >= 0) {
		hvl_pmm_unwatch(n->pmm, n->timer_fd);
		close(n->timer_fd);
		n->timer_fd = -1;
	}
	if (n->own_path)
		(void)unlink(n->path);
}

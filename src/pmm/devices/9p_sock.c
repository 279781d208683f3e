/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The 9P server on a stream socket (UNIX, or TCP on a loopback address), so
 * that independent 9P clients (diod's diodls/diodcat/diodload, the Linux
 * kernel's v9fs with trans=tcp/unix) can exercise the very engine the
 * virtio-9p device uses.  9P over a stream is the same size-prefixed
 * messages back to back.
 *
 * One thread serves the listener and every connection with poll(); it owns
 * all connection state, so nothing here is shared with the device thread
 * except the export's read-only root descriptor.  A message larger than
 * msize, or a peer that does not take its response within a few seconds,
 * ends that connection only.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "hvl/log.h"
#include "9p_srv.h"

#define P9_SOCK_SEND_MS 5000

struct p9_conn {
	int fd;                 /* -1: free slot */
	struct p9_sess sess;
	uint32_t have;          /* bytes of the current message received */
};

struct p9_sock {
	const struct p9_export *ex;
	const struct hvl_logger *log;
	char name[64];
	char unix_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int lfd, stopfd;
	pthread_t thread;
	int started;
	uint8_t *out;           /* one response, msize_max bytes */
	struct p9_conn conn[P9_SOCK_MAX_CLIENTS];
};

static void conn_close(struct p9_sock *ss, struct p9_conn *c, const char *why)
{
	hvl_logf(ss->log, HVL_LOG_INFO, "%s: 9p socket client closed (%s)", ss->name, why);
	close(c->fd);
	c->fd = -1;
	p9_sess_destroy(&c->sess);
}

/* Write all of @buf, waiting at most P9_SOCK_SEND_MS for a slow reader. */
static int send_all(int fd, const uint8_t *buf, uint32_t len)
{
	uint32_t done = 0;

	while (done < len) {
		ssize_t n = send(fd, buf + done, len - done, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n > 0) {
			done += (uint32_t)n;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };

			if (poll(&p, 1, P9_SOCK_SEND_MS) <= 0)
				return -ETIMEDOUT;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else {
			return -EPIPE;
		}
	}
	return 0;
}

/*
 * Read what is there for @c into its own buffer @buf (messages may arrive
 * in pieces); when a whole message is in, serve it and send the answer.
 */
static void conn_read(struct p9_sock *ss, struct p9_conn *c, uint8_t *buf)
{
	uint32_t size;
	ssize_t n;

	if (c->have < 4u)
		n = recv(c->fd, buf + c->have, 4u - c->have, MSG_DONTWAIT);
	else {
		size = (uint32_t)buf[0] | (uint32_t)buf[1] << 8 | (uint32_t)buf[2] << 16 |
		       (uint32_t)buf[3] << 24;
		n = recv(c->fd, buf + c->have, size - c->have, MSG_DONTWAIT);
	}
	if (n == 0) {
		conn_close(ss, c, "EOF");
		return;
	}
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			conn_close(ss, c, strerror(errno));
		return;
	}
	c->have += (uint32_t)n;
	if (c->have < 4u)
		return;
	size = (uint32_t)buf[0] | (uint32_t)buf[1] << 8 | (uint32_t)buf[2] << 16 |
	       (uint32_t)buf[3] << 24;
	if (size < HVL_9P_HDR || size > ss->ex->msize_max) {
		conn_close(ss, c, "bad message size");
		return;
	}
	if (c->have < size)
		return;
	c->have = 0;
	{
		uint32_t cap = c->sess.msize != 0 ? c->sess.msize : ss->ex->msize_max;
		uint32_t rlen = p9_handle(&c->sess, buf, size, ss->out, cap);

		if (rlen == 0 || send_all(c->fd, ss->out, rlen) != 0)
			conn_close(ss, c, "cannot answer");
	}
}

static void *sock_thread(void *arg)
{
	struct p9_sock *ss = arg;
	/* One receive buffer per connection: messages may arrive in pieces. */
	uint8_t *bufs[P9_SOCK_MAX_CLIENTS];
	unsigned i;

	for (i = 0; i < P9_SOCK_MAX_CLIENTS; i++) {
		bufs[i] = malloc(ss->ex->msize_max);
		if (bufs[i] == NULL) {
			hvl_logf(ss->log, HVL_LOG_ERROR, "%s: 9p socket: out of memory", ss->name);
			while (i > 0)
				free(bufs[--i]);
			return NULL;
		}
	}
	for (;;) {
		struct pollfd p[2 + P9_SOCK_MAX_CLIENTS];
		unsigned idx[P9_SOCK_MAX_CLIENTS], np = 2, k;

		p[0].fd = ss->stopfd;
		p[0].events = POLLIN;
		p[1].fd = ss->lfd;
		p[1].events = POLLIN;
		for (i = 0; i < P9_SOCK_MAX_CLIENTS; i++) {
			if (ss->conn[i].fd < 0)
				continue;
			p[np].fd = ss->conn[i].fd;
			p[np].events = POLLIN;
			idx[np - 2] = i;
			np++;
		}
		if (poll(p, np, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[0].revents != 0)
			break;
		for (k = 2; k < np; k++)
			if (p[k].revents != 0)
				conn_read(ss, &ss->conn[idx[k - 2]], bufs[idx[k - 2]]);
		if (p[1].revents & POLLIN) {
			int fd = accept4(ss->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

			for (i = 0; fd >= 0 && i < P9_SOCK_MAX_CLIENTS; i++)
				if (ss->conn[i].fd < 0)
					break;
			if (fd >= 0 && (i == P9_SOCK_MAX_CLIENTS || p9_sess_init(&ss->conn[i].sess, ss->ex) != 0)) {
				hvl_logf(ss->log, HVL_LOG_WARN, "%s: 9p socket: client refused (too many)", ss->name);
				close(fd);
			} else if (fd >= 0) {
				ss->conn[i].fd = fd;
				ss->conn[i].have = 0;
				hvl_logf(ss->log, HVL_LOG_INFO, "%s: 9p socket client connected", ss->name);
			}
		}
	}
	for (i = 0; i < P9_SOCK_MAX_CLIENTS; i++) {
		if (ss->conn[i].fd >= 0)
			conn_close(ss, &ss->conn[i], "stopping");
		free(bufs[i]);
	}
	return NULL;
}

/* "unix:/path" or "tcp:127.0.0.1:PORT" -> a listening socket. */
static int sock_listen(struct p9_sock *ss, const char *spec)
{
	int fd, one = 1;

	if (strncmp(spec, "unix:", 5) == 0) {
		struct sockaddr_un a;
		const char *path = spec + 5;

		memset(&a, 0, sizeof(a));
		a.sun_family = AF_UNIX;
		if (path[0] == '\0' || strlen(path) >= sizeof(a.sun_path))
			return -ENAMETOOLONG;
		strcpy(a.sun_path, path);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		(void)unlink(path); /* a stale socket of an earlier run */
		if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 8) != 0) {
			int rc = -errno;

			close(fd);
			return rc;
		}
		snprintf(ss->unix_path, sizeof(ss->unix_path), "%s", path);
		return fd;
	}
	if (strncmp(spec, "tcp:", 4) == 0) {
		struct sockaddr_in a;
		char host[64];
		const char *colon = strrchr(spec + 4, ':');
		char *end;
		unsigned long port;
		size_t hl;

		if (colon == NULL)
			return -EINVAL;
		hl = (size_t)(colon - (spec + 4));
		if (hl == 0 || hl >= sizeof(host))
			return -EINVAL;
		memcpy(host, spec + 4, hl);
		host[hl] = '\0';
		port = strtoul(colon + 1, &end, 10);
		if (*end != '\0' || port == 0 || port > 65535)
			return -EINVAL;
		memset(&a, 0, sizeof(a));
		a.sin_family = AF_INET;
		a.sin_port = htons((uint16_t)port);
		if (strcmp(host, "localhost") == 0)
			snprintf(host, sizeof(host), "127.0.0.1");
		/* Loopback only: the export is not meant for the network. */
		if (inet_pton(AF_INET, host, &a.sin_addr) != 1 ||
		    (ntohl(a.sin_addr.s_addr) >> 24) != 127u)
			return -EADDRNOTAVAIL;
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 8) != 0) {
			int rc = -errno;

			close(fd);
			return rc;
		}
		return fd;
	}
	return -EINVAL;
}

int p9_sock_start(struct p9_sock **out, const struct p9_export *ex, const char *spec,
		  const struct hvl_logger *log, const char *name)
{
	struct p9_sock *ss = calloc(1, sizeof(*ss));
	unsigned i;
	int rc;

	*out = NULL;
	if (ss == NULL)
		return -ENOMEM;
	ss->ex = ex;
	ss->log = log;
	snprintf(ss->name, sizeof(ss->name), "%s", name);
	ss->lfd = ss->stopfd = -1;
	for (i = 0; i < P9_SOCK_MAX_CLIENTS; i++)
		ss->conn[i].fd = -1;
	ss->out = malloc(ex->msize_max);
	ss->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	rc = ss->out == NULL ? -ENOMEM : ss->stopfd < 0 ? -errno : 0;
	if (rc == 0) {
		ss->lfd = sock_listen(ss, spec);
		if (ss->lfd < 0) {
			rc = ss->lfd;
			hvl_logf(log, HVL_LOG_ERROR, "%s: listen = %s: %s (unix:PATH or tcp:127.0.0.1:PORT)",
				 name, spec, strerror(-rc));
		}
	}
	if (rc == 0) {
		rc = -pthread_create(&ss->thread, NULL, sock_thread, ss);
		ss->started = rc == 0;
	}
	if (rc != 0) {
		p9_sock_stop(ss);
		return rc;
	}
	hvl_logf(log, HVL_LOG_INFO, "%s: 9P server also listening on %s", name, spec);
	*out = ss;
	return 0;
}

void p9_sock_stop(struct p9_sock *ss)
{
	uint64_t one = 1;

	if (ss == NULL)
		return;
	if (ss->started) {
		(void)!write(ss->stopfd, &one, sizeof(one));
		pthread_join(ss->thread, NULL);
	}
	if (ss->lfd >= 0)
		close(ss->lfd);
	if (ss->stopfd >= 0)
		close(ss->stopfd);
	if (ss->unix_path[0] != '\0')
		(void)unlink(ss->unix_path);
	free(ss->out);
	free(ss);
}

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * SCM_RIGHTS helpers over UNIX stream sockets.  On a stream socket the
 * ancillary data travels with the first byte of the message, so the
 * descriptors go out with the first sendmsg() and the rest of the payload
 * (if the kernel sent it short) follows with plain sends.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include "hvl/linux/fdpass.h"

/* Hand-over message of hvl_doorbell_fds_serve(): magic, then fd order. */
#define FDS_MAGIC 0x42445648u /* "HVDB" */

int hvl_fd_send(int sock, const int *fds, unsigned n, const void *msg, size_t len)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * HVL_FD_MAX)];
		struct cmsghdr align;
	} u;
	struct msghdr mh;
	struct iovec iov;
	const char *p = msg;
	size_t done = 0;
	ssize_t r;

	if (msg == NULL || len == 0 || n > HVL_FD_MAX || (n > 0 && fds == NULL))
		return -EINVAL;
	memset(&mh, 0, sizeof mh);
	memset(&u, 0, sizeof u);
	iov.iov_base = (void *)(uintptr_t)p; /* sendmsg does not write it */
	iov.iov_len = len;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (n > 0) {
		struct cmsghdr *c;

		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * n);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * n);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
	}
	do {
		r = sendmsg(sock, &mh, MSG_NOSIGNAL);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	done = (size_t)r;
	while (done < len) {
		r = send(sock, p + done, len - done, MSG_NOSIGNAL);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		done += (size_t)r;
	}
	return 0;
}

static void close_all(int *fds, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++)
		(void)close(fds[i]);
}

int hvl_fd_recv(int sock, int *fds, unsigned max, unsigned *n, void *msg, size_t len)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * HVL_FD_MAX)];
		struct cmsghdr align;
	} u;
	int got[HVL_FD_MAX];
	unsigned ngot = 0;
	struct msghdr mh;
	struct iovec iov;
	struct cmsghdr *c;
	char *p = msg;
	size_t done;
	ssize_t r;

	if (msg == NULL || len == 0 || n == NULL || (max > 0 && fds == NULL))
		return -EINVAL;
	*n = 0;
	memset(&mh, 0, sizeof mh);
	iov.iov_base = p;
	iov.iov_len = len;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = u.buf;
	mh.msg_controllen = sizeof u.buf;
	do {
		r = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	if (r == 0)
		return -ECONNRESET;
	/* Collect every descriptor first so none leaks on an error path. */
	for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
		size_t k, cnt;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		cnt = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (k = 0; k < cnt && ngot < HVL_FD_MAX; k++)
			memcpy(&got[ngot++], CMSG_DATA(c) + k * sizeof(int), sizeof(int));
	}
	if ((mh.msg_flags & MSG_CTRUNC) != 0 || ngot > max) {
		close_all(got, ngot);
		return -EMSGSIZE;
	}
	done = (size_t)r;
	while (done < len) {
		r = recv(sock, p + done, len - done, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			int e = r == 0 ? ECONNRESET : errno;

			close_all(got, ngot);
			return -e;
		}
		done += (size_t)r;
	}
	if (ngot > 0)
		memcpy(fds, got, sizeof(int) * ngot);
	*n = ngot;
	return 0;
}

int hvl_doorbell_fds_serve(int sock, int *tx_fd, int *rx_fd)
{
	uint32_t magic = FDS_MAGIC;
	int fd[2]; /* [0] to PMM, [1] to remote: the order on the wire */
	int r;

	if (tx_fd == NULL || rx_fd == NULL)
		return -EINVAL;
	fd[0] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd[0] < 0)
		return -errno;
	fd[1] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd[1] < 0) {
		r = -errno;
		(void)close(fd[0]);
		return r;
	}
	r = hvl_fd_send(sock, fd, 2u, &magic, sizeof magic);
	if (r < 0) {
		close_all(fd, 2u);
		return r;
	}
	*tx_fd = fd[1];
	*rx_fd = fd[0];
	return 0;
}

int hvl_doorbell_fds_fetch(int sock, int *tx_fd, int *rx_fd)
{
	uint32_t magic = 0;
	int fd[HVL_FD_MAX];
	unsigned n = 0;
	int r;

	if (tx_fd == NULL || rx_fd == NULL)
		return -EINVAL;
	r = hvl_fd_recv(sock, fd, 2u, &n, &magic, sizeof magic);
	if (r < 0)
		return r;
	if (magic != FDS_MAGIC || n != 2u) {
		close_all(fd, n);
		return -EPROTO;
	}
	*tx_fd = fd[0];
	*rx_fd = fd[1];
	return 0;
}

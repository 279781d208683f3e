/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Console backend, opening side: the fds of the stdio, file, socket and pty
 * backends (create time, main thread).  The data path is in console.c.
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
#include <termios.h>
#include <unistd.h>

#include "console_priv.h"
#include "unix_sock.h"

/*
 * A private, non-blocking open file description for stdin/stdout: setting
 * O_NONBLOCK on fd 0/1 themselves would also change the terminal or pipe
 * the shell shares with us.  Reopening /proc/self/fd/N gives a separate
 * description for ttys and pipes; sockets are dup'ed and used with
 * MSG_DONTWAIT; regular files are dup'ed (they never block).
 */
static int reopen_std(struct con *c, struct con_fd *s, int fd, int flags)
{
	struct stat st;
	char p[32];
	int nfd;

	if (fstat(fd, &st) != 0) {
		con_log(c, HVL_LOG_WARN, "fd %d: %s", fd, strerror(errno));
		return -1;
	}
	if (S_ISSOCK(st.st_mode) || S_ISREG(st.st_mode)) {
		s->is_sock = S_ISSOCK(st.st_mode) ? 1 : 0;
		return fcntl(fd, F_DUPFD_CLOEXEC, 3);
	}
	/* ttys, pipes and FIFOs: a fresh open gives our own file status flags. */
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	nfd = open(p, flags | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (nfd < 0) {
		con_log(c, HVL_LOG_DEBUG, "reopening fd %d: %s; using it blocking", fd, strerror(errno));
		nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	}
	return nfd;
}

int con_setup_stdio(struct con *c)
{
	c->io.fd = reopen_std(c, &c->io, STDIN_FILENO, O_RDONLY);
	c->io.in = 1;
	c->out.fd = reopen_std(c, &c->out, STDOUT_FILENO, O_WRONLY);
	c->out.out = 1;
	/* Without stdin the console is output-only; without stdout it is useless. */
	if (c->out.fd < 0)
		return -errno;
	con_log(c, HVL_LOG_INFO, "backend stdio");
	return 0;
}

int con_setup_file(struct con *c, const char *path)
{
	int fl;

	/* No O_NONBLOCK at open: a FIFO without a reader would fail with ENXIO. */
	c->out.fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
	if (c->out.fd < 0) {
		int e = errno;

		con_log(c, HVL_LOG_ERROR, "opening %s: %s", path, strerror(e));
		return -e;
	}
	/* Non-blocking from here on: a FIFO whose reader stalls gives EAGAIN, not a hang. */
	fl = fcntl(c->out.fd, F_GETFL);
	if (fl >= 0)
		(void)fcntl(c->out.fd, F_SETFL, fl | O_NONBLOCK);
	c->out.out = 1;
	con_log(c, HVL_LOG_INFO, "backend file, appending to %s", path);
	return 0;
}

int con_setup_socket(struct con *c, const char *path)
{
	struct sockaddr_un sa;
	int rc;

	if (hvl_unix_addr(&sa, path) != 0) {
		con_log(c, HVL_LOG_ERROR, "socket path too long: %s", path);
		return -ENAMETOOLONG;
	}
	rc = hvl_unix_remove_stale(&sa);
	if (rc != 0) {
		con_log(c, HVL_LOG_ERROR, "%s: %s", path, rc == -EEXIST ? "exists and is not a socket" :
			rc == -EADDRINUSE ? "is in use by another process" : strerror(-rc));
		return rc;
	}
	c->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->listen_fd < 0)
		return -errno;
	if (bind(c->listen_fd, (const struct sockaddr *)&sa, sizeof(sa)) != 0) {
		rc = -errno;
		con_log(c, HVL_LOG_ERROR, "bind %s: %s", path, strerror(-rc));
		return rc;
	}
	snprintf(c->path, sizeof(c->path), "%s", path);
	/* A small backlog: clients beyond the first get a refusal anyway. */
	if (listen(c->listen_fd, 4) != 0)
		return -errno;
	/* The client fd, once accepted, carries both directions. */
	c->io.in = c->io.out = 1;
	c->io.is_sock = 1;
	rc = hvl_pmm_watch(c->pmm, c->listen_fd, EPOLLIN, con_listen_cb, c);
	if (rc != 0)
		return rc;
	con_log(c, HVL_LOG_INFO, "backend socket, listening on %s", path);
	return 0;
}

int con_setup_pty(struct con *c, const char *path)
{
	struct termios t;
	struct stat st;
	int rc;

	/* O_NOCTTY: the PMM must never acquire the pty as its controlling terminal. */
	c->io.fd = posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK);
	if (c->io.fd < 0)
		return -errno;
	(void)fcntl(c->io.fd, F_SETFD, FD_CLOEXEC);
	if (grantpt(c->io.fd) != 0 || unlockpt(c->io.fd) != 0 ||
	    ptsname_r(c->io.fd, c->pty_name, sizeof(c->pty_name)) != 0)
		return -errno;
	/* Our own slave fd: without it the master reads EIO/HUP while no user has it open. */
	c->pty_slave = open(c->pty_name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (c->pty_slave < 0)
		return -errno;
	/* Raw: bytes pass unchanged both ways (no echo, no CR/LF mapping, no signals). */
	if (tcgetattr(c->pty_slave, &t) == 0) {
		cfmakeraw(&t);
		(void)tcsetattr(c->pty_slave, TCSANOW, &t);
	}
	c->io.in = c->io.out = 1;
	if (path != NULL) {
		if (lstat(path, &st) == 0) {
			if (!S_ISLNK(st.st_mode)) {
				con_log(c, HVL_LOG_ERROR, "%s exists and is not a symlink", path);
				return -EEXIST;
			}
			(void)unlink(path); /* a stale link from an earlier run */
		}
		if (symlink(c->pty_name, path) != 0) {
			rc = -errno;
			con_log(c, HVL_LOG_ERROR, "symlink %s -> %s: %s", path, c->pty_name, strerror(-rc));
			return rc;
		}
		snprintf(c->path, sizeof(c->path), "%s", path);
	}
	con_log(c, HVL_LOG_INFO, "backend pty %s%s%s", c->pty_name, path != NULL ? ", linked at " : "",
		path != NULL ? path : "");
	return 0;
}


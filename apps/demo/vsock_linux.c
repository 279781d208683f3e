/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Demo, vsock, Linux half: an echo service on a UNIX socket that the PMM
 * maps to host port DEMO_VSOCK_ECHO_PORT (the remote connects to it), then
 * a Linux client that reaches the remote's service on DEMO_VSOCK_SVC_PORT
 * through the PMM's CONNECT listener.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "demo.h"

/* Listening before the PMM starts, so the remote's first connect finds it. */
static int echo_fd = -1;

int demo_vsock_config(struct demo *d, FILE *f)
{
	char echo[PATH_MAX + 32], lsn[PATH_MAX + 32];
	struct sockaddr_un sa;

	demo_path(d, "vsock-echo.sock", echo);
	demo_path(d, "vsock.sock", lsn);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(echo) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, echo, strlen(echo));
	echo_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (echo_fd < 0 || bind(echo_fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(echo_fd, 4) != 0)
		return -errno;
	fprintf(f, "[device rt0.vsock0]\ntype = vsock\ncid = %u\nlisten = %s\nport.%u = %s\n",
		DEMO_VSOCK_CID, lsn, DEMO_VSOCK_ECHO_PORT, echo);
	return 0;
}

/* Echo one connection until EOF; returns the bytes echoed or -1. */
static long echo_one(int lfd, unsigned timeout_ms)
{
	struct pollfd p = { lfd, POLLIN, 0 };
	char buf[1024];
	long total = 0;
	int c;

	if (poll(&p, 1, (int)timeout_ms) <= 0)
		return -1;
	c = accept(lfd, NULL, NULL);
	if (c < 0)
		return -1;
	for (;;) {
		struct pollfd q = { c, POLLIN, 0 };
		ssize_t n;

		if (poll(&q, 1, (int)timeout_ms) <= 0)
			break;
		n = read(c, buf, sizeof(buf));
		if (n <= 0)
			break;
		if (write(c, buf, (size_t)n) != n)
			break;
		total += n;
	}
	close(c);
	return total;
}

void demo_vsock_linux(struct demo *d)
{
	const char *msg = "hello from a Linux client\n";
	char lsn[PATH_MAX + 32], line[128];
	uint64_t end;
	size_t n = 0;
	long echoed;
	int s = -1;

	echoed = echo_one(echo_fd, d->timeout_s * 1000u);
	close(echo_fd);
	echo_fd = -1;
	if (echoed <= 0) {
		demo_row(d, "vsock", 0, "the remote never used the echo service");
		return;
	}
	demo_say("vsock: echoed %ld bytes for the remote (host port %u)", echoed, DEMO_VSOCK_ECHO_PORT);
	/* The remote listens once its echo check is done: retry until it answers OK. */
	demo_path(d, "vsock.sock", lsn);
	end = demo_now_ms() + d->timeout_s * 1000u;
	while (demo_now_ms() < end) {
		char req[32];

		s = demo_connect_unix(lsn, 2000);
		if (s < 0)
			break;
		snprintf(req, sizeof(req), "CONNECT %u\n", DEMO_VSOCK_SVC_PORT);
		n = 0;
		if (write(s, req, strlen(req)) == (ssize_t)strlen(req)) {
			while (n + 1 < sizeof(line)) {
				struct pollfd q = { s, POLLIN, 0 };

				if (poll(&q, 1, 5000) <= 0 || read(s, line + n, 1) != 1)
					break;
				if (line[n++] == '\n')
					break;
			}
		}
		line[n] = '\0';
		if (strncmp(line, "OK ", 3) == 0)
			break;
		close(s);
		s = -1;
		usleep(50000);
	}
	if (s < 0) {
		demo_row(d, "vsock", 0, "CONNECT to the remote's service failed");
		return;
	}
	demo_say("vsock: Linux client connected to remote port %u (%.*s)", DEMO_VSOCK_SVC_PORT,
		 (int)strcspn(line, "\n"), line);
	n = 0;
	if (write(s, msg, strlen(msg)) == (ssize_t)strlen(msg)) {
		while (n + 1 < sizeof(line)) {
			struct pollfd q = { s, POLLIN, 0 };

			if (poll(&q, 1, (int)(d->timeout_s * 1000u)) <= 0 || read(s, line + n, 1) != 1)
				break;
			if (line[n++] == '\n')
				break;
		}
	}
	line[n] = '\0';
	close(s);
	if (strcmp(line, "remote got: hello from a Linux client\n") != 0) {
		demo_row(d, "vsock", 0, "no answer from the remote's service");
		return;
	}
	demo_say("vsock: the remote answered \"%.*s\"", (int)strcspn(line, "\n"), line);
	demo_row(d, "vsock", 1, "remote -> Linux echo service, Linux client -> remote service");
}

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Demo, rpmsg, Linux half: the remote announces an "echo" channel, which
 * the PMM serves as the SOCK_SEQPACKET socket <dir>/echo.  Connect, send
 * messages of several sizes (up to the 496-byte maximum payload), check
 * that each comes back whole, then say "bye".
 */
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "demo.h"

int demo_rpmsg_config(struct demo *d, FILE *f)
{
	char dir[PATH_MAX + 32];

	demo_path(d, "rpmsg", dir);
	fprintf(f, "[device rt0.rpmsg0]\ntype = rpmsg\ndir = %s\n", dir);
	return 0;
}

/* Connect to a SOCK_SEQPACKET socket, retrying until @timeout_ms (the channel appears late). */
static int connect_seqpacket(const char *path, unsigned timeout_ms)
{
	uint64_t end = demo_now_ms() + timeout_ms;
	struct sockaddr_un sa;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path));
	for (;;) {
		int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

		if (s >= 0 && connect(s, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return s;
		if (s >= 0)
			close(s);
		if (demo_now_ms() >= end)
			return -1;
		usleep(10000);
	}
}

void demo_rpmsg_linux(struct demo *d)
{
	static const size_t sizes[] = { 1, 16, 100, 255, DEMO_RPMSG_MAX };
	uint8_t out[DEMO_RPMSG_MAX], in[DEMO_RPMSG_MAX + 1];
	char path[PATH_MAX + 32], detail[160];
	size_t i, k;
	int s;

	demo_path(d, "rpmsg/echo", path);
	s = connect_seqpacket(path, d->timeout_s * 1000u);
	if (s < 0) {
		demo_row(d, "rpmsg", 0, "the remote's echo channel did not appear");
		return;
	}
	demo_say("rpmsg: connected to channel 'echo' at %s", path);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct pollfd pf = { s, POLLIN, 0 };
		ssize_t r;

		for (k = 0; k < sizes[i]; k++)
			out[k] = (uint8_t)(i * 31u + k);
		if (send(s, out, sizes[i], MSG_NOSIGNAL) != (ssize_t)sizes[i] ||
		    poll(&pf, 1, (int)(d->timeout_s * 1000u)) <= 0 ||
		    (r = recv(s, in, sizeof(in), 0)) != (ssize_t)sizes[i] || memcmp(in, out, sizes[i]) != 0) {
			snprintf(detail, sizeof(detail), "message of %zu bytes did not come back whole",
				 sizes[i]);
			demo_row(d, "rpmsg", 0, detail);
			close(s);
			return;
		}
		demo_say("rpmsg: %zu-byte message echoed", sizes[i]);
	}
	(void)send(s, "bye", 3, MSG_NOSIGNAL);
	close(s);
	demo_row(d, "rpmsg", 1, "echo channel as a socket: 1, 16, 100, 255, 496 bytes back whole");
}

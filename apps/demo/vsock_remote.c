/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Demo, vsock, remote half: use the Linux echo service on host port
 * DEMO_VSOCK_ECHO_PORT and check the echo, then serve one Linux client on
 * DEMO_VSOCK_SVC_PORT: read a line, answer it.
 */
#include <errno.h>
#include <string.h>

#include "demo.h"
#include "hvl/vsock.h"

HVL_VSOCK_DEFINE(demo_vs, 4, 16384, 1024);

int demo_vsock_remote(struct demo_remote *d, char *detail, size_t dlen)
{
	static const char msg[] = "echo this, Linux";
	struct hvl_vsock_mem m = HVL_VSOCK_MEM(demo_vs, 4);
	char buf[128], out[160];
	size_t n = 0;
	long r;
	int rc, s, l, c;

	rc = hvl_vsock_open(&demo_vs, &d->pr.r, 0, &m);
	if (rc != 0) {
		snprintf(detail, dlen, "open failed: %s", strerror(-rc));
		return -1;
	}
	s = hvl_vsock_socket(&demo_vs);
	rc = hvl_vsock_connect(&demo_vs, s, DEMO_VSOCK_ECHO_PORT, d->timeout_ms);
	if (rc == 0 && hvl_vsock_send(&demo_vs, s, msg, sizeof(msg) - 1, d->timeout_ms) !=
	    (long)sizeof(msg) - 1)
		rc = -EIO;
	while (rc == 0 && n < sizeof(msg) - 1) {
		r = hvl_vsock_recv(&demo_vs, s, buf + n, sizeof(msg) - 1 - n, d->timeout_ms);
		if (r <= 0)
			rc = (r < 0) ? (int)r : -EPIPE;
		else
			n += (size_t)r;
	}
	hvl_vsock_close(&demo_vs, s);
	if (rc != 0 || memcmp(buf, msg, sizeof(msg) - 1) != 0) {
		snprintf(detail, dlen, "echo via host port %u failed: %s", DEMO_VSOCK_ECHO_PORT,
			 strerror(rc != 0 ? -rc : EBADMSG));
		hvl_vsock_close_dev(&demo_vs);
		return -1;
	}
	/* Serve one Linux client: a line in, an answer out. */
	l = hvl_vsock_socket(&demo_vs);
	rc = hvl_vsock_listen(&demo_vs, l, DEMO_VSOCK_SVC_PORT, 2);
	c = (rc == 0) ? hvl_vsock_accept(&demo_vs, l, NULL, d->timeout_ms) : rc;
	n = 0;
	while (c >= 0 && n + 1 < sizeof(buf)) {
		r = hvl_vsock_recv(&demo_vs, c, buf + n, 1, d->timeout_ms);
		if (r <= 0)
			break;
		if (buf[n++] == '\n')
			break;
	}
	buf[n] = '\0';
	if (c < 0 || n == 0 || buf[n - 1] != '\n') {
		snprintf(detail, dlen, "no line from the Linux client (%d)", c);
		hvl_vsock_close_dev(&demo_vs);
		return -1;
	}
	snprintf(out, sizeof(out), "remote got: %s", buf);
	r = hvl_vsock_send(&demo_vs, c, out, strlen(out), d->timeout_ms);
	hvl_vsock_close(&demo_vs, c);
	hvl_vsock_close(&demo_vs, l);
	/* Let the close handshake finish before the device is reset. */
	(void)hvl_vsock_poll(&demo_vs, NULL, 0, 100);
	hvl_vsock_close_dev(&demo_vs);
	if (r != (long)strlen(out)) {
		snprintf(detail, dlen, "answer not sent");
		return -1;
	}
	snprintf(detail, dlen, "echo via host port %u, served remote port %u", DEMO_VSOCK_ECHO_PORT,
		 DEMO_VSOCK_SVC_PORT);
	return 0;
}

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Demo, vsockd, remote half: attach to the second region, the one hvl-demo
 * serves itself ("<region>.vsockd"), and check an echo on DEMO_VSOCKD_PORT.
 * The same remote library and socket calls as for the PMM's vsock device.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "demo.h"
#include "hvl/vsock.h"

HVL_VSOCK_DEFINE(demo_vsd, 2, 16384, 64);

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int demo_vsockd_remote(struct demo_remote *d, char *detail, size_t dlen)
{
	static const char msg[] = "hello, program on Linux";
	struct hvl_vsock_mem m = HVL_VSOCK_MEM(demo_vsd, 2);
	struct hvl_posix_remote pr;
	char path[PATH_MAX + 32], buf[64];
	uint64_t end = now_ms() + d->timeout_ms;
	size_t got = 0;
	long r;
	int rc, s;

	snprintf(path, sizeof(path), "%s.vsockd", d->region);
	/* hvl-demo creates the file when its turn comes: wait for it. */
	do {
		rc = hvl_posix_remote_open(&pr, path, NULL, UINT64_MAX, 200);
		if (rc != 0) {
			struct timespec ts = { 0, 50 * 1000 * 1000 };

			nanosleep(&ts, NULL);
		}
	} while (rc != 0 && now_ms() < end);
	if (rc != 0) {
		snprintf(detail, dlen, "cannot attach to %s: %s", path, strerror(-rc));
		return -1;
	}
	rc = hvl_vsock_open(&demo_vsd, &pr.r, 0, &m);
	if (rc != 0) {
		snprintf(detail, dlen, "open failed: %s", strerror(-rc));
		hvl_posix_remote_close(&pr);
		return -1;
	}
	s = hvl_vsock_socket(&demo_vsd);
	rc = hvl_vsock_connect(&demo_vsd, s, DEMO_VSOCKD_PORT, d->timeout_ms);
	if (rc == 0 && hvl_vsock_send(&demo_vsd, s, msg, sizeof(msg) - 1, d->timeout_ms) !=
	    (long)sizeof(msg) - 1)
		rc = -EIO;
	while (rc == 0 && got < sizeof(msg) - 1) {
		r = hvl_vsock_recv(&demo_vsd, s, buf + got, sizeof(msg) - 1 - got, d->timeout_ms);
		if (r <= 0)
			rc = r < 0 ? (int)r : -EPIPE;
		else
			got += (size_t)r;
	}
	hvl_vsock_close(&demo_vsd, s);
	(void)hvl_vsock_poll(&demo_vsd, NULL, 0, 100);
	hvl_vsock_close_dev(&demo_vsd);
	hvl_posix_remote_close(&pr);
	if (rc != 0 || memcmp(buf, msg, sizeof(msg) - 1) != 0) {
		snprintf(detail, dlen, "echo on port %u failed: %s", DEMO_VSOCKD_PORT,
			 strerror(rc != 0 ? -rc : EBADMSG));
		return -1;
	}
	snprintf(detail, dlen, "cid %llu, echo on port %u of a vsock device served by hvl-demo itself",
		 (unsigned long long)hvl_vsock_cid(&demo_vsd), DEMO_VSOCKD_PORT);
	return 0;
}

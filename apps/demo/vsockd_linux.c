/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Demo, vsockd, Linux half: this program serves a vsock device itself
 * (hvl_devhost + hvl_vsockd) on a second region file next to the PMM's, and
 * echoes one connection on DEMO_VSOCKD_PORT: no PMM and no socket between
 * the remote's rings and this code.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "demo.h"
#include "hvl/vsockd.h"

HVL_VSOCKD_DEFINE(demo_vd, 4, 16384);

int demo_vsockd_config(struct demo *d, FILE *f)
{
	(void)d;
	(void)f; /* nothing in the PMM's configuration: this device is ours */
	return 0;
}

void demo_vsockd_linux(struct demo *d)
{
	struct hvl_vsockd_mem m = HVL_VSOCKD_MEM(demo_vd, 4);
	char path[PATH_MAX + 32], err[200], buf[256], detail[160];
	unsigned timeout_ms = d->timeout_s * 1000u;
	struct hvl_devhost_dev dev;
	struct hvl_devhost h;
	long n, total = 0;
	int l, s, ok = 0;

	snprintf(path, sizeof(path), "%s.vsockd", d->region);
	if (hvl_vsockd_init(&demo_vd, &m, DEMO_VSOCKD_CID) != 0) {
		demo_row(d, "vsockd", 0, "hvl_vsockd_init failed");
		return;
	}
	hvl_vsockd_describe(&demo_vd, &dev, 64, 256u * 1024u);
	if (hvl_devhost_open(&h, path, strcmp(d->doorbell, "poll") == 0 ? HVL_DOORBELL_POLL :
			     HVL_DOORBELL_FUTEX, &dev, 1, NULL, err, sizeof(err)) != 0) {
		snprintf(detail, sizeof(detail), "cannot serve the second region: %.100s", err);
		demo_row(d, "vsockd", 0, detail);
		return;
	}
	demo_say("vsockd: serving a vsock device (guest cid %u) on %s, echo on port %u", DEMO_VSOCKD_CID,
		 path, DEMO_VSOCKD_PORT);
	(void)hvl_vsockd_bind(&demo_vd, &h, 0);
	l = hvl_vsockd_socket(&demo_vd);
	s = (l >= 0 && hvl_vsockd_listen(&demo_vd, l, DEMO_VSOCKD_PORT, 2) == 0) ?
	    hvl_vsockd_accept(&demo_vd, l, NULL, timeout_ms) : -EINVAL;
	if (s >= 0) {
		while ((n = hvl_vsockd_recv(&demo_vd, s, buf, sizeof(buf), timeout_ms)) > 0) {
			if (hvl_vsockd_send(&demo_vd, s, buf, (size_t)n, timeout_ms) != n)
				break;
			total += n;
		}
		ok = n == 0 && total > 0;
		hvl_vsockd_close(&demo_vd, s);
		/* The close handshake, before the region goes down. */
		(void)hvl_vsockd_poll(&demo_vd, NULL, 0, 200);
	}
	if (ok)
		snprintf(detail, sizeof(detail), "the remote's echo through a vsock device hvl-demo serves "
			 "itself (no PMM), %ld bytes", total);
	else
		snprintf(detail, sizeof(detail), "echo on port %u failed (%s)", DEMO_VSOCKD_PORT,
			 s < 0 ? strerror(-s) : "short");
	demo_row(d, "vsockd", ok, detail);
	hvl_devhost_close(&h);
	(void)unlink(path);
}

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Demo, net, remote half: lwIP (Debian's liblwip, src/remote/lwip) over
 * our virtio-net at 10.213.0.2/24, answering ARP and ping, with a TCP echo
 * on port 7, until Linux sends a UDP datagram to port 9.  The same code
 * serves both Linux halves (TAP + namespace, or the stream peer).
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "demo.h"
#include "hvl/net.h"
#ifdef HVL_DEMO_HAVE_LWIP
#include "hvl_lwip.h"
#endif

int demo_net_remote(struct demo_remote *d, char *detail, size_t dlen)
{
#ifdef HVL_DEMO_HAVE_LWIP
	HVL_NET_DEFINE(net, 256);
	static struct hvl_lwip l;
	struct hvl_lwip_stats s;
	uint64_t end;
	int rc;

	rc = hvl_net_open(&net, &d->pr.r, 0, &net_storage, sizeof(net_storage));
	if (rc != 0) {
		snprintf(detail, dlen, "open failed: %s", strerror(-rc));
		return -1;
	}
	rc = hvl_lwip_start(&l, &net, "10.213.0.2", "255.255.255.0", NULL);
	if (rc == 0)
		rc = hvl_lwip_echo_start(&l, 7);
	if (rc == 0)
		rc = hvl_lwip_mark_start(&l, 9);
	if (rc != 0) {
		snprintf(detail, dlen, "lwIP start failed: %s", strerror(-rc));
		(void)hvl_net_close(&net);
		return -1;
	}
	/* Linux's half pings, echoes, then marks; three step timeouts at most. */
	end = hvl_remote_now(&d->pr.r) + 3u * (uint64_t)d->timeout_ms;
	while (hvl_lwip_marks(&l) == 0 && hvl_remote_now(&d->pr.r) < end)
		usleep(10000);
	rc = hvl_lwip_marks(&l) > 0 ? 0 : -1;
	hvl_lwip_get_stats(&l, &s);
	snprintf(detail, dlen, "lwIP %s: %llu frames in, %llu out, %llu B echoed", rc == 0 ? "served" :
		 "never got Linux's done mark", (unsigned long long)s.in_frames,
		 (unsigned long long)s.out_frames, (unsigned long long)s.echo_bytes);
	hvl_lwip_stop(&l);
	(void)hvl_net_close(&net);
	return rc;
#else
	(void)d;
	snprintf(detail, dlen, "built without liblwip-dev (scripts/deps.sh installs it)");
	return -1;
#endif
}

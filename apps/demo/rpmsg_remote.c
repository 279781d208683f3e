/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Demo, rpmsg, remote half: announce an "echo" endpoint (it appears on
 * Linux as a socket) and echo every message to its sender until "bye".
 */
#include <errno.h>
#include <string.h>

#include "demo.h"
#include "hvl/rpmsg.h"

struct echo_state {
	unsigned echoed;
	int bye;
	int err;
};

static int echo_cb(struct hvl_rpmsg_ept *ept, void *data, size_t len, uint32_t src, void *priv)
{
	struct echo_state *st = priv;

	if (len == 3 && memcmp(data, "bye", 3) == 0) {
		st->bye = 1;
		return 0;
	}
	if (hvl_rpmsg_sendto(ept, data, len, src) != (int)len)
		st->err = 1;
	else
		st->echoed++;
	return 0;
}

int demo_rpmsg_remote(struct demo_remote *d, char *detail, size_t dlen)
{
	HVL_RPMSG_DEFINE(rd, 256);
	static struct hvl_rpmsg_ept ept;
	struct echo_state st = { 0, 0, 0 };
	uint64_t end;
	int rc;

	rc = hvl_rpmsg_open(&rd, &d->pr.r, 0, &rd_storage, sizeof(rd_storage), NULL);
	if (rc != 0) {
		snprintf(detail, dlen, "open failed: %s", strerror(-rc));
		return -1;
	}
	hvl_rpmsg_set_timeout(&rd, d->timeout_ms);
	rc = hvl_rpmsg_create_ept(&ept, &rd, "echo", HVL_RPMSG_ADDR_ANY, HVL_RPMSG_ADDR_ANY, echo_cb,
				  NULL);
	if (rc != 0) {
		snprintf(detail, dlen, "echo endpoint: %s", strerror(-rc));
		(void)hvl_rpmsg_close(&rd);
		return -1;
	}
	ept.priv = &st;
	end = hvl_remote_now(&d->pr.r) + d->timeout_ms;
	while (!st.bye && !st.err && hvl_remote_now(&d->pr.r) < end) {
		rc = hvl_rpmsg_poll(&rd, 100);
		if (rc < 0 && rc != -ETIMEDOUT)
			break;
	}
	hvl_rpmsg_destroy_ept(&ept);
	(void)hvl_rpmsg_flush(&rd, d->timeout_ms);
	(void)hvl_rpmsg_close(&rd);
	if (!st.bye || st.err) {
		snprintf(detail, dlen, "%u echoed, %s", st.echoed,
			 st.err ? "a reply failed" : "no bye from Linux");
		return -1;
	}
	snprintf(detail, dlen, "echo endpoint announced, %u messages echoed", st.echoed);
	return 0;
}

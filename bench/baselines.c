/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hvl-bench baselines, what any two processes on Linux can do without our
 * rings: a) raw spin ping-pong on two shared words (the physical floor),
 * b) raw futex ping-pong (the floor once a side sleeps), c) a UNIX socket
 * pair (what a Linux programmer would reach for).
 */
#include <linux/futex.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"

/* --------------------------------------------------- a) spin, b) futex */

int spin_dev(struct bench *b, struct view *v)
{
	uint32_t last = 0, x;

	(void)b;
	st(&v->ctl->ready, 1u);
	for (;;) {
		if (spin_while_eq(&v->ctl->ping, last, &x) != 0)
			return -1;
		if (x == STOP)
			return 0;
		st(&v->ctl->pong, x);
		last = x;
	}
}

int spin_drv(struct bench *b, struct view *v, void *arg)
{
	unsigned i, n = b->warmup + b->iters;
	int64_t t;
	uint32_t x;

	(void)arg;
	if (wait_ready(v) != 0)
		return -1;
	t = now_ns();
	for (i = 0; i < n; i++) {
		st(&v->ctl->ping, i + 1u);
		if (spin_while_eq(&v->ctl->pong, i, &x) != 0 || x != i + 1u)
			return -1;
		sample(b, i, &t);
	}
	st(&v->ctl->ping, STOP);
	return 0;
}

int futex_dev(struct bench *b, struct view *v)
{
	uint32_t last = 0, x;

	st(&v->ctl->ready, 1u);
	for (;;) {
		if (futex_while_eq(b, &v->ctl->ping, last, &x) != 0)
			return ld(&v->ctl->stop) != 0u ? 0 : -1;
		if (x == STOP)
			return 0;
		st(&v->ctl->pong, x);
		(void)futex(&v->ctl->pong, FUTEX_WAKE, 1, NULL); /* always: the baseline */
		last = x;
	}
}

int futex_drv(struct bench *b, struct view *v, void *arg)
{
	unsigned i, n = b->warmup + b->iters;
	int64_t t;
	uint32_t x;

	(void)arg;
	if (wait_ready(v) != 0)
		return -1;
	t = now_ns();
	for (i = 0; i < n; i++) {
		st(&v->ctl->ping, i + 1u);
		(void)futex(&v->ctl->ping, FUTEX_WAKE, 1, NULL);
		if (futex_while_eq(b, &v->ctl->pong, i, &x) != 0 || x != i + 1u)
			return -1;
		sample(b, i, &t);
	}
	st(&v->ctl->ping, STOP);
	(void)futex(&v->ctl->ping, FUTEX_WAKE, 1, NULL);
	return 0;
}

/* ------------------------------------------------------------- c) socket */

int sock_dev(struct bench *b, struct view *v)
{
	uint8_t msg[MSG_LEN];

	(void)v;
	close(b->sock[0]);
	while (xfer(b->sock[1], msg, sizeof msg, 0) == 0)
		if (xfer(b->sock[1], msg, sizeof msg, 1) != 0)
			return -1;
	return 0; /* EOF: the driver is done */
}

int sock_drv(struct bench *b, struct view *v, void *arg)
{
	uint8_t msg[MSG_LEN], in[MSG_LEN];
	unsigned i, n = b->warmup + b->iters;
	int64_t t;

	(void)v;
	(void)arg;
	memset(msg, 0x5a, sizeof msg);
	t = now_ns();
	for (i = 0; i < n; i++) {
		memcpy(msg, &i, sizeof i);
		if (xfer(b->sock[0], msg, sizeof msg, 1) != 0 || xfer(b->sock[0], in, sizeof in, 0) != 0 ||
		    memcmp(in, &i, sizeof i) != 0)
			return -1;
		sample(b, i, &t);
	}
	shutdown(b->sock[0], SHUT_WR); /* EOF tells the device to exit */
	return 0;
}


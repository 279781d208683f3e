/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The remote 9P client's test suite, run unchanged against every server:
 * our PMM over virtio-9p, our PMM's socket, and diod.  Plus a socket
 * transport for the client (tests only: the remote library itself has no
 * sockets).
 */
#ifndef HVL_TESTS_P9_SUITE_H
#define HVL_TESTS_P9_SUITE_H

#include <stddef.h>
#include <stdint.h>

#include "hvl/9p.h"

/*
 * A struct hvl_9p_transport over a connected stream socket, with
 * HVL_9P_SLOTS slots (set t.nslots lower before mounting for fewer):
 * answers are matched to slots by tag, in whatever order they come.
 */
struct p9_sock_tp {
	int fd;
	uint8_t *tx[HVL_9P_SLOTS], *rx[HVL_9P_SLOTS];
	uint16_t tag[HVL_9P_SLOTS];
	uint8_t busy[HVL_9P_SLOTS];
	int stuck;               /* a failed send/receive or a stray answer: unusable */
	uint32_t bufsize;
	struct hvl_9p_transport t;
};

/* Connect to "127.0.0.1:PORT" or a UNIX path; buffers of @bufsize (malloc). */
int p9_sock_tp_open(struct p9_sock_tp *s, const char *addr, uint32_t bufsize, unsigned timeout_ms);
/* The same over an already connected @fd (closed by p9_sock_tp_close). */
int p9_sock_tp_from_fd(struct p9_sock_tp *s, int fd, uint32_t bufsize);
void p9_sock_tp_close(struct p9_sock_tp *s);

/*
 * Run the suite in directory @base (created; relative to the export),
 * moving @big_bytes through the integrity test.  @host_dir is the export
 * seen from Linux (to plant escape bait and check results), or NULL when
 * the suite runs in a process that must not look (it then skips those
 * checks).  Returns the number of failed checks and adds passes to *@passed.
 */
int p9_suite(struct hvl_9p *c, const char *label, const char *base, uint64_t big_bytes,
	     int *passed);

/* Read-only export: every modification fails with EROFS (or EACCES). */
int p9_suite_readonly(struct hvl_9p *c, const char *label, int *passed);

#endif /* HVL_TESTS_P9_SUITE_H */

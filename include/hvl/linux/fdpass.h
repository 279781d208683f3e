/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Passing file descriptors over a UNIX stream socket (SCM_RIGHTS), used to
 * hand the eventfd doorbells of a region from the PMM to a remote process.
 */
#ifndef HVL_LINUX_FDPASS_H
#define HVL_LINUX_FDPASS_H

#include <stddef.h>

/* Most descriptors one hvl_fd_send()/hvl_fd_recv() carries. */
#define HVL_FD_MAX 16u

/*
 * Send @len bytes of @msg (len >= 1: a stream needs data to carry the
 * descriptors) with @n descriptors attached to the first byte.  The caller
 * keeps its descriptors.  Returns 0 or a negative errno.
 */
int hvl_fd_send(int sock, const int *fds, unsigned n, const void *msg, size_t len);

/*
 * Receive exactly @len bytes into @msg and up to @max descriptors into @fds
 * (*n set to the count, close-on-exec set).  If the peer sent more than @max,
 * all received descriptors are closed and -EMSGSIZE returned.  Returns 0,
 * -ECONNRESET on end of stream, or another negative errno.
 */
int hvl_fd_recv(int sock, int *fds, unsigned max, unsigned *n, void *msg, size_t len);

/*
 * PMM side of the eventfd doorbell hand-over: create the region's two
 * eventfds (to-PMM and to-remote), send both over @sock and return the
 * PMM's view: *tx_fd rings the remote, *rx_fd is what the PMM waits on
 * (the arguments of hvl_doorbell_open()).  Returns 0 or a negative errno.
 */
int hvl_doorbell_fds_serve(int sock, int *tx_fd, int *rx_fd);

/*
 * Remote side: receive the two eventfds sent by hvl_doorbell_fds_serve()
 * and return the remote's view (*tx_fd rings the PMM, *rx_fd is waited on).
 * Returns 0 or a negative errno (-EPROTO on a malformed message).
 */
int hvl_doorbell_fds_fetch(int sock, int *tx_fd, int *rx_fd);

#endif /* HVL_LINUX_FDPASS_H */

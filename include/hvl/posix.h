/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * POSIX port of the remote library: a remote core simulated by a Linux
 * process.  Maps the region's memory file (at an address of its own, never
 * the PMM's), sets up the doorbell the region header names, and attaches.
 */
#ifndef HVL_POSIX_H
#define HVL_POSIX_H

#include <stddef.h>
#include <stdint.h>
#include "hvl/linux/doorbell.h"
#include "hvl/remote.h"

/* OS ops over clock_gettime(CLOCK_MONOTONIC) and a cpu pause. */
extern const struct hvl_os_ops hvl_posix_os_ops;

struct hvl_posix_remote {
	struct hvl_remote r;           /* the library handle */
	struct hvl_doorbell db;        /* tx = to_pmm, rx = to_remote */
	int fd;                        /* memory file */
	uint8_t *resv;                 /* address-space reservation */
	size_t resv_len;
	uint8_t *mem;                  /* region mapping inside it */
	size_t size;
	int tx_fd, rx_fd;              /* eventfd doorbell only */
};

/*
 * Open the region file @path and attach: waits up to @timeout_ms for the PMM
 * to be READY.  @doorbell_socket is needed for the eventfd doorbell (NULL
 * otherwise).  @bus_base is our view of offset 0 (UINT64_MAX: take the
 * header's, as a simulated remote may).  Returns 0 or a negative errno.
 */
int hvl_posix_remote_open(struct hvl_posix_remote *p, const char *path,
			  const char *doorbell_socket, uint64_t bus_base, uint32_t timeout_ms);

/* Detach and unmap. */
void hvl_posix_remote_close(struct hvl_posix_remote *p);

/*
 * After the PMM restarted or died (hvl_remote_pmm_alive() == 0): wait up to
 * @timeout_ms for a PMM to be READY with a new epoch and re-attach.  Devices
 * must then be found and started again.
 */
int hvl_posix_remote_reattach(struct hvl_posix_remote *p, const char *doorbell_socket,
			      uint32_t timeout_ms);

#endif /* HVL_POSIX_H */

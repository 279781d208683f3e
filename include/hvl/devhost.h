/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Device host: a Linux program serving the devices of one region itself,
 * in its own thread, instead of through hvl-pmm.  It is the PMM's region
 * set-up (layout, static header, doorbell, heartbeat) without the daemon,
 * for programs that want their data path to have no hop: the program's
 * thread is the device thread, run to completion.  hvl_vsockd (vsockd.h)
 * is the device that uses it.
 *
 *   struct hvl_devhost h;
 *   struct hvl_devhost_dev d = { ... ops, priv, features, config ... };
 *   hvl_devhost_open(&h, "/dev/shm/hvl-app", HVL_DOORBELL_FUTEX, &d, 1, NULL);
 *   for (;;) hvl_devhost_service(&h, 100);
 *
 * The region file is created (or resized) with mode 0600; a remote
 * attaches to it with hvl_posix_remote_open() as to one of hvl-pmm.  The
 * futex and poll doorbells are supported (the eventfd doorbell needs the
 * PMM's fd-passing socket).  The same rules hold as in hvl-pmm: shared
 * memory is read once and validated, a violation marks the device
 * NEEDS_RESET, never this program.  Not thread-safe: one thread calls
 * every function of one host.
 */
#ifndef HVL_DEVHOST_H
#define HVL_DEVHOST_H

#include <stddef.h>
#include <stdint.h>

#include "hvl/layout.h"
#include "hvl/linux/doorbell.h"
#include "hvl/log.h"
#include "hvl/pmm/dev.h"

#define HVL_DEVHOST_MAX_DEV      4u
#define HVL_DEVHOST_HEARTBEAT_MS 100u

/* One device to serve. */
struct hvl_devhost_dev {
	const char *name;              /* up to 31 characters */
	uint32_t device_id;            /* virtio device ID */
	uint32_t num_queues;           /* 1..HVL_MAX_QUEUES */
	uint16_t queue_size;           /* every queue; power of two */
	uint64_t data_size;            /* data area for the driver's buffers */
	uint64_t features;             /* offered; VERSION_1 is always added */
	const void *config;            /* config space (the device keeps the pointer) */
	uint32_t config_size;
	const struct hvl_dev_ops *ops;
	void *priv;
};

struct hvl_devhost {
	struct hvl_layout layout;
	uint8_t *mem;
	uint64_t size;
	int fd;
	struct hvl_doorbell db;
	struct hvl_notifier notifier;
	unsigned ndev;
	struct hvl_dev dev[HVL_DEVHOST_MAX_DEV];
	uint32_t heartbeat;
	uint64_t next_hb_ms;
	uint32_t loops;
	uint8_t force;                 /* look at every queue on the next pass */
	uint8_t is_open;
	uint64_t wakeups, timeouts;
};

/*
 * Create the region file @path (created or resized, mode 0600), lay out
 * @n devices, publish their headers and mark the region ready (a new
 * epoch).  @doorbell: HVL_DOORBELL_FUTEX or HVL_DOORBELL_POLL.  @log may
 * be NULL (quiet).  Returns 0 or a negative errno; on failure a reason is
 * in @err.
 */
int hvl_devhost_open(struct hvl_devhost *h, const char *path, unsigned doorbell,
		     const struct hvl_devhost_dev *devs, unsigned n, const struct hvl_logger *log,
		     char *err, size_t errlen);

/*
 * Serve pending work once: register transactions, notified queues (all
 * queues every heartbeat, and after a wait), the heartbeat.  If nothing
 * was pending and @wait_ms > 0, sleep on the doorbell for at most @wait_ms
 * (and at most until the next heartbeat).  Returns the amount of work done
 * (0 = idle).
 */
int hvl_devhost_service(struct hvl_devhost *h, uint32_t wait_ms);

/* Device @i's transport state, or NULL. */
struct hvl_dev *hvl_devhost_dev(struct hvl_devhost *h, unsigned i);

/* Mark the region down, reset the devices, unmap; the file stays. */
void hvl_devhost_close(struct hvl_devhost *h);

#endif /* HVL_DEVHOST_H */

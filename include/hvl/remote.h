/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The remote library: the driver side of hvl-virtio, for an RTOS or a
 * bare-metal image (or a Linux process simulating one).
 *
 * No allocation: every object lives in storage the caller provides.  Every
 * wait is bounded by a timeout.  Not thread-safe per object: callers that
 * share a device between threads serialise access themselves.
 *
 * Typical static start (no register round trip before DRIVER_OK):
 *
 *   hvl_remote_attach(&r, mem, size, &cfg, 5000);
 *   hvl_remote_find(&r, HVL_VIRTIO_ID_CONSOLE, 0, &vdev);
 *   hvl_vdev_begin(&vdev, wanted_features);       // local only
 *   hvl_vdev_queue_static(&vdev, 0, &rxq, st, sizeof(st));
 *   hvl_vdev_driver_ok(&vdev);                    // one transaction
 */
#ifndef HVL_REMOTE_H
#define HVL_REMOTE_H

#include <stddef.h>
#include <stdint.h>
#include "hvl/cache.h"
#include "hvl/notify.h"
#include "hvl/vq_driver.h"
#include "hvl/wire/region.h"

/* virtio device IDs (virtio 1.2 §5). */
#define HVL_VIRTIO_ID_NET     1u
#define HVL_VIRTIO_ID_BLOCK   2u
#define HVL_VIRTIO_ID_CONSOLE 3u
#define HVL_VIRTIO_ID_RNG     4u
#define HVL_VIRTIO_ID_RPMSG   7u
#define HVL_VIRTIO_ID_9P      9u
#define HVL_VIRTIO_ID_VSOCK   19u

/* OS ops: what the library needs from the OS or the bare-metal port. */
struct hvl_os_ops {
	/* Monotonic milliseconds.  Required. */
	uint64_t (*now_ms)(void *ctx);
	/* Optional: called in spin loops (cpu pause, yield). */
	void (*relax)(void *ctx);
};

struct hvl_remote_cfg {
	const struct hvl_os_ops *os;
	void *os_ctx;
	struct hvl_notifier notify;         /* rings to_pmm, waits on to_remote */
	const struct hvl_cache_ops *cache;  /* NULL on coherent memory */
	void *cache_ctx;
	uint32_t txn_timeout_ms;            /* register transactions; 0 = 1000 */
	uint32_t watchdog_ms;               /* longest single sleep (lost doorbells); 0 = 100 */
	uint64_t bus_base;                  /* our view of offset 0; must match the header */
};

struct hvl_remote {
	uint8_t *base;                      /* local mapping of offset 0 */
	uint64_t size;                      /* bytes mapped */
	uint64_t bus_base;
	struct hvl_region_hdr *hdr;
	struct hvl_remote_cfg cfg;
	uint32_t ndev;                      /* validated copy of device_count */
	uint32_t pmm_epoch;                 /* PMM epoch at attach */
	uint32_t hb_last;                   /* heartbeat tracking */
	uint8_t polled;                     /* poll doorbell: notify every publish, no fence */
	uint64_t hb_changed_ms;
};

/*
 * Attach to a region mapped at @base (@size bytes): wait up to @timeout_ms
 * for the PMM to publish a READY header, validate it (magic, version, size,
 * device table, remote_base == cfg->bus_base) and announce ourselves
 * (remote_state, remote_epoch).  Returns 0, -ETIMEDOUT, or -EPROTO/-EINVAL
 * on a malformed header.
 */
int hvl_remote_attach(struct hvl_remote *r, void *base, uint64_t size,
		      const struct hvl_remote_cfg *cfg, uint32_t timeout_ms);

/* Mark ourselves down in the region header. */
void hvl_remote_detach(struct hvl_remote *r);

/*
 * Liveness of the PMM: 1 while it is READY with the epoch we attached to and
 * its heartbeat moved within @stale_ms; 0 if it restarted (epoch changed),
 * stopped, or its heartbeat is stale.  Re-attach then re-start devices.
 */
int hvl_remote_pmm_alive(struct hvl_remote *r, uint32_t stale_ms);

/*
 * Wait up to @timeout_ms, capped at cfg.watchdog_ms, for any notification
 * from the PMM.  Callers re-check their rings after every return.
 */
int hvl_remote_wait(struct hvl_remote *r, uint32_t timeout_ms);

/* Milliseconds from the OS ops. */
uint64_t hvl_remote_now(const struct hvl_remote *r);

/* A device as the driver sees it. */
struct hvl_vdev {
	struct hvl_remote *r;
	uint32_t index;                     /* device table index */
	uint32_t device_id;
	char name[32];
	uint8_t *page;
	const hvl_le32 *regs;
	const struct hvl_ext *ext;
	struct hvl_drv_area *drv;
	uint8_t *win_local;                 /* window, local pointer */
	uint64_t win_bus, win_size;
	uint64_t data_off;                  /* free data area, window offset */
	uint32_t num_queues;
	uint64_t device_features;
	uint64_t features;                  /* negotiated */
	uint32_t txn_seq;
	uint32_t irq_used_seen, irq_config_seen;
};

/*
 * Find the @nth device (0-based) with virtio ID @device_id, validate its
 * table entry against the region and fill @v.  Returns 0 or -ENODEV/-EPROTO.
 */
int hvl_remote_find(struct hvl_remote *r, uint32_t device_id, uint32_t nth, struct hvl_vdev *v);

/* Find a device by its configured name.  Same returns. */
int hvl_remote_find_name(struct hvl_remote *r, const char *name, struct hvl_vdev *v);

/* Read a 32-bit register (a plain load from the PMM-owned block). */
uint32_t hvl_vdev_read(const struct hvl_vdev *v, uint32_t off);

/*
 * Write a register as a transaction: post, ring, wait for the PMM's ack.
 * @size is 4 for registers, 1/2/4 for config space.  Returns 0, -ETIMEDOUT,
 * or -EIO/-EINVAL/-EPERM as reported by the PMM in txn_result.
 */
int hvl_vdev_write(struct hvl_vdev *v, uint32_t off, uint32_t val, uint32_t size);

/* Reset the device (Status = 0) and forget interrupts.  0 or errno. */
int hvl_vdev_reset(struct hvl_vdev *v);

/*
 * Static start, step 1 (no round trip): resets the device only if it is not
 * in its initial state, then records @wanted & device features (plus
 * VERSION_1) in the driver area.  Returns 0 or errno.
 */
int hvl_vdev_begin(struct hvl_vdev *v, uint64_t wanted);

/*
 * Initialise driver ring @vq for queue @q at its pre-assigned location
 * (no round trip).  @storage of HVL_VQ_DRV_STORAGE(num) bytes.
 */
int hvl_vdev_queue_static(struct hvl_vdev *v, unsigned q, struct hvl_vq_drv *vq,
			  void *storage, size_t len);

/*
 * Static start, last step: one transaction writing Status =
 * ACKNOWLEDGE|DRIVER|FEATURES_OK|DRIVER_OK.  Returns 0, -ENOTSUP if the PMM
 * refused the features, or errno.
 */
int hvl_vdev_driver_ok(struct hvl_vdev *v);

/* Notify the PMM that queue @q has new buffers (QueueNotify). */
void hvl_vdev_notify(struct hvl_vdev *v, unsigned q);

/* Kick @vq's device if the ring says it wants a notification. */
void hvl_vdev_kick(struct hvl_vdev *v, unsigned q, struct hvl_vq_drv *vq);

/*
 * Take pending interrupts: returns HVL_INT_VRING/HVL_INT_CONFIG bits raised
 * since the last call and acknowledges them.
 */
uint32_t hvl_vdev_interrupts(struct hvl_vdev *v);

/* Device status as published by the PMM. */
uint32_t hvl_vdev_status(const struct hvl_vdev *v);

/* 1 while the device runs: DRIVER_OK set, DEVICE_NEEDS_RESET and FAILED clear. */
int hvl_vdev_live(const struct hvl_vdev *v);

/*
 * Wait until @vq has a used entry (0), until @timeout_ms after @start
 * (-ETIMEDOUT), or until the device stops running or @vq breaks (-EIO).
 * Interrupts are enabled only around each sleep, in the race-free order
 * (enable, look again, sleep), and acknowledged after it.
 */
int hvl_vdev_wait_used(struct hvl_vdev *v, struct hvl_vq_drv *vq, uint64_t start,
		       uint32_t timeout_ms);

/* True if the PMM set DEVICE_NEEDS_RESET. */
int hvl_vdev_needs_reset(const struct hvl_vdev *v);

/* Read @len bytes of config space at @off consistently (generation loop). */
int hvl_vdev_config_read(const struct hvl_vdev *v, uint32_t off, void *buf, uint32_t len);

/* Bus address of a local pointer inside the region, and back (NULL if out of the window). */
uint64_t hvl_vdev_bus(const struct hvl_vdev *v, const void *p);
void *hvl_vdev_local(const struct hvl_vdev *v, uint64_t bus, uint64_t len);

/*
 * The device's free data area (after its rings): local pointer, bus address
 * and size.  The driver carves its buffers from here.
 */
void hvl_vdev_data_area(const struct hvl_vdev *v, void **local, uint64_t *bus, uint64_t *size);

#endif /* HVL_REMOTE_H */

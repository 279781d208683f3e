/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Device side of the register protocol (docs/PROTOCOL.md "Register
 * protocol"): one struct hvl_dev per device the PMM serves.  It publishes
 * the static header, applies register-write transactions from the remote,
 * turns QueueNotify counters into calls to the device backend, raises
 * interrupts, and marks the device DEVICE_NEEDS_RESET on any violation.
 *
 * Everything the remote wrote is read once and validated; the device's own
 * state lives in this private struct and is only mirrored into shared memory.
 * All functions run on the region's device thread unless noted.
 */
#ifndef HVL_PMM_DEV_H
#define HVL_PMM_DEV_H

#include <stdint.h>
#include "hvl/log.h"
#include "hvl/notify.h"
#include "hvl/vq_device.h"
#include "hvl/wire/region.h"

struct hvl_dev;

/* Device ops: what a device does; one table per device type. */
struct hvl_dev_ops {
	/* Driver wrote status 0 (or the PMM stops): drop all in-flight work. */
	void (*reset)(struct hvl_dev *d);
	/* DRIVER_OK was accepted; queues are live.  Return <0 to fail the device. */
	int (*driver_ok)(struct hvl_dev *d);
	/*
	 * Queue @q has (or may have) work: pop, process, push, interrupt.
	 * Called on notification, on a local kick, and on every watchdog tick.
	 */
	void (*queue)(struct hvl_dev *d, unsigned q);
	/* Optional: driver wrote @size bytes at config offset @off. */
	int (*config_write)(struct hvl_dev *d, uint32_t off, uint32_t val, unsigned size);
	/* Optional: backend work signalled by hvl_dev_kick() from another thread. */
	void (*poll)(struct hvl_dev *d);
};

/* Static description of a device, from the configuration and layout. */
struct hvl_dev_static {
	uint32_t device_id;
	const char *name;
	uint64_t features;                 /* offered; VERSION_1 is always added */
	uint32_t num_queues;
	uint16_t queue_num_max[HVL_MAX_QUEUES];
	uint16_t queue_num[HVL_MAX_QUEUES];/* size of the static ring */
	uint64_t queue_desc[HVL_MAX_QUEUES], queue_driver[HVL_MAX_QUEUES],
		 queue_device[HVL_MAX_QUEUES]; /* static ring locations, bus addresses */
	uint64_t data_bus, data_size;      /* free data area, bus addresses */
	const void *config;                /* config space at init and after every reset:
					    * a backend with live fields (link status)
					    * points this at its own current copy */
	uint32_t config_size;              /* <= HVL_CONFIG_MAX */
};

struct hvl_dev_queue {
	/* Register-visible configuration (reset to the static values). */
	uint16_t num;
	uint64_t desc, driver, device;
	uint8_t ready;
	uint32_t notify_seen;              /* last drv->notify[q] value handled */
	struct hvl_vq_dev vq;              /* valid while ready */
};

struct hvl_dev {
	struct hvl_dev_static st;
	char name[32];
	uint8_t *page;                     /* local device page */
	hvl_le32 *regs;                    /* virtio-MMIO block, PMM-owned */
	struct hvl_ext *ext;               /* PMM-owned */
	struct hvl_drv_area *drv;          /* REMOTE-owned: read once, validate */
	struct hvl_window win;
	uint8_t config[HVL_CONFIG_MAX];    /* private copy of live config space */
	uint32_t status;
	uint32_t dfeat_sel, drvfeat_sel, queue_sel, shm_sel;
	uint64_t drv_features_regs;        /* accumulated from DriverFeatures writes */
	uint8_t drv_features_written;
	uint64_t features;                 /* negotiated, valid after FEATURES_OK */
	uint32_t config_gen;
	uint32_t txn_seen;
	uint32_t irq_used, irq_config;
	uint32_t isr_ack_used, isr_ack_config; /* counters acknowledged via InterruptACK */
	uint32_t isr_published;            /* InterruptStatus value last published */
	uint32_t broken;                   /* HVL_BROKEN_* once NEEDS_RESET is set */
	struct hvl_dev_queue q[HVL_MAX_QUEUES];
	const struct hvl_dev_ops *ops;
	void *priv;                        /* backend state */
	struct hvl_notifier to_remote;     /* rings the remote's doorbell */
	struct hvl_notifier kicker;        /* wakes our own device thread (optional) */
	uint32_t kick_pending;             /* set by hvl_dev_kick(), any thread (atomic) */
	uint8_t polled;                    /* poll doorbell: interrupt every batch, no fence */
	const struct hvl_logger *log;
	struct hvl_ratelimit rl;
	uint64_t (*now_ms)(void);
	uint64_t stat_txn, stat_notify, stat_irq, stat_faults;
};

/*
 * Initialise @d over its device page and window and publish the whole
 * static header (registers, config space, hvl extension).  Remote-owned
 * fields are not written: their current values become the baseline, so a
 * restarted PMM does not replay an old transaction.  Returns 0 or -EINVAL.
 */
int hvl_dev_init(struct hvl_dev *d, void *page, const struct hvl_window *win,
		 const struct hvl_dev_static *st, const struct hvl_dev_ops *ops, void *priv,
		 struct hvl_notifier to_remote, const struct hvl_logger *log);

/*
 * Serve pending work: apply a register transaction, then dispatch notified
 * queues to ops->queue.  @all_queues also dispatches every ready queue (the
 * watchdog path that recovers from a lost doorbell).  Returns the number of
 * actions taken (0 = idle).
 */
int hvl_dev_service(struct hvl_dev *d, int all_queues);

/* Queue @q's ring if it is live, else NULL. */
struct hvl_vq_dev *hvl_dev_vq(struct hvl_dev *d, unsigned q);

/* Is the device running (DRIVER_OK and not NEEDS_RESET)? */
int hvl_dev_live(const struct hvl_dev *d);

/*
 * Raise a used-buffer interrupt if the ring says the driver wants one
 * (hvl_vq_dev_need_interrupt() decides, and records the decision: do not
 * call that too).  Call once per batch of pushes on queue @q.
 */
void hvl_dev_vq_interrupt(struct hvl_dev *d, unsigned q);

/*
 * The same for every queue whose bit is set in @qmask (bit q = queue q),
 * with one interrupt for all of them: the interrupt names no queue.
 */
void hvl_dev_vqs_interrupt(struct hvl_dev *d, uint32_t qmask);

/* Raise an interrupt unconditionally: HVL_INT_VRING and/or HVL_INT_CONFIG. */
void hvl_dev_interrupt(struct hvl_dev *d, uint32_t bits);

/*
 * Protocol violation: set DEVICE_NEEDS_RESET, record @reason in
 * ext.broken_reason, raise a config interrupt, log (rate limited).  The
 * device then ignores its queues until the driver resets it.
 */
void hvl_dev_fail(struct hvl_dev *d, uint32_t reason, const char *fmt, ...) HVL_PRINTF(3, 4);

/* Pop from queue @q; on a ring violation the device is failed. Same returns as hvl_vq_dev_pop. */
int hvl_dev_pop(struct hvl_dev *d, unsigned q, struct hvl_chain *c);

/* Update config space bytes and bump ConfigGeneration; @notify raises a config interrupt. */
void hvl_dev_config_set(struct hvl_dev *d, uint32_t off, const void *data, uint32_t len, int notify);

/* Ask the device thread to call ops->poll soon.  Safe from any thread. */
void hvl_dev_kick(struct hvl_dev *d);

/*
 * Store again every PMM-owned register and extension word that derives from
 * our private state (not config space, not the counters): heals stray writes
 * to memory only the PMM owns.  Called once per heartbeat.
 */
void hvl_dev_refresh(struct hvl_dev *d);

/* Reset the device as if the driver wrote status 0 (used at PMM shutdown). */
void hvl_dev_reset(struct hvl_dev *d);

#endif /* HVL_PMM_DEV_H */

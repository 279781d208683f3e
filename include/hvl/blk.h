/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio block driver for the remote core (virtio 1.2 §5.2): read, write
 * and flush by 512-byte sector on a disk image the PMM serves.
 *
 * Data buffers live in the device's data area in shared memory (the PMM
 * reads and writes them in place, no copy): take them from
 * hvl_blk_data_area() and pass local pointers into it.  The request headers
 * and status bytes are carved from the start of the same area at open.
 *
 * Two ways to issue requests:
 *  - synchronous: hvl_blk_read/write/flush/get_id wait for their own
 *    completion (with a timeout); only while no asynchronous request is in
 *    flight (-EBUSY otherwise);
 *  - asynchronous: hvl_blk_submit() posts up to hvl_blk_max_inflight()
 *    requests, hvl_blk_poll() collects completions in any order with the
 *    cookie each was submitted with.
 *
 *   HVL_BLK_DEFINE(disk, 256);
 *   hvl_blk_open(&disk, &remote, 0, &disk_storage, sizeof(disk_storage));
 *   hvl_blk_data_area(&disk, &buf, &size);
 *   hvl_blk_read(&disk, 0, buf, 4096, 1000);
 *
 * Not thread-safe: callers serialise access to one struct hvl_blk.  Once
 * the PMM reports DEVICE_NEEDS_RESET or the ring is broken, calls return
 * -EIO until the device is closed and opened again.
 */
#ifndef HVL_BLK_H
#define HVL_BLK_H

#include <stddef.h>
#include <stdint.h>

#include "hvl/remote.h"
#include "hvl/vq_driver.h"
#include "hvl/wire/blk.h"

/* Requests in flight at most (fewer if the queue is small: 3 descriptors each). */
#define HVL_BLK_MAX_INFLIGHT 32u
/* Bytes of the data area per request slot: header (16) + status (1), padded. */
#define HVL_BLK_SLOT_SIZE    32u
/* The caller's part of the data area starts at this alignment. */
#define HVL_BLK_DATA_ALIGN   4096u

/* Bytes of storage hvl_blk_open() needs for a queue of up to @qsize entries. */
#define HVL_BLK_STORAGE(qsize) HVL_VQ_DRV_STORAGE(qsize)

/* Declare a static disk @name and its ring storage @name##_storage. */
#define HVL_BLK_DEFINE(name, qsize)                                       \
	static struct hvl_blk name;                                       \
	static union {                                                    \
		void *align_ptr;                                          \
		uint64_t align_u64;                                       \
		uint8_t bytes[HVL_BLK_STORAGE(qsize)];                    \
	} name##_storage

/* One completion returned by hvl_blk_poll(). */
struct hvl_blk_done {
	void *cookie;       /* as given to hvl_blk_submit() */
	int status;         /* 0, -EIO (IOERR or no status), -ENOTSUP (UNSUPP), -EPROTO */
	uint32_t len;       /* bytes the device wrote, status byte included */
};

/* Private per-request bookkeeping. */
struct hvl_blk_slot {
	void *cookie;
	uint8_t *hdr;       /* 16-byte header then the status byte, in the data area */
	uint64_t hdr_bus;
	uint8_t *buf;       /* data (for cache maintenance on reads) */
	uint32_t len;
	uint32_t type;
	uint8_t busy;
};

struct hvl_blk {
	struct hvl_vdev vdev;
	struct hvl_vq_drv vq;
	struct hvl_blk_slot slot[HVL_BLK_MAX_INFLIGHT];
	uint16_t nslots;
	uint16_t inflight;
	uint64_t capacity;           /* sectors, from config space at open */
	uint32_t size_max, seg_max, blk_size;
	uint8_t readonly;
	uint8_t is_open;
	uint8_t *data_local;         /* the caller's buffer area */
	uint64_t data_bus;
	uint64_t data_size;
	char serial[HVL_BLK_ID_BYTES + 1u]; /* from GET_ID at open, NUL-terminated */
	uint32_t poll_spins;         /* busy-poll rounds before sleeping (0 = none) */
	/* Statistics. */
	uint64_t reqs, errors;
};

/* Bytes of storage for a queue of up to @qsize entries (as HVL_BLK_STORAGE). */
size_t hvl_blk_storage_size(uint16_t qsize);

/*
 * Open the @nth block device (0-based) of @r: static start with EVENT_IDX,
 * FLUSH, RO, SEG_MAX, SIZE_MAX, BLK_SIZE, DISCARD and WRITE_ZEROES wanted, read the capacity,
 * carve the request slots, DRIVER_OK, then ask for the serial (GET_ID,
 * waiting up to @timeout_ms).  @storage (pointer-aligned, @len bytes)
 * must outlive the device.  Returns 0, -ENODEV, -ENOSPC (storage or data
 * area too small), -EPROTO, -ENOTSUP, -ETIMEDOUT or -EIO.
 */
int hvl_blk_open(struct hvl_blk *b, struct hvl_remote *r, uint32_t nth, void *storage,
		 size_t len, uint32_t timeout_ms);

/* Reset the device and forget every request in flight.  0 or the reset's errno. */
int hvl_blk_close(struct hvl_blk *b);

/* Capacity in 512-byte sectors. */
uint64_t hvl_blk_capacity(const struct hvl_blk *b);

/* 1 if the device is read-only (VIRTIO_BLK_F_RO), else 0. */
int hvl_blk_readonly(const struct hvl_blk *b);

/* The serial from GET_ID (at most 20 characters, "" if the device gave none). */
const char *hvl_blk_serial(const struct hvl_blk *b);

/* The caller's buffer area in shared memory: local pointer and size (0 if not open). */
void hvl_blk_data_area(const struct hvl_blk *b, void **local, size_t *size);

/* Requests that can be in flight at once. */
unsigned hvl_blk_max_inflight(const struct hvl_blk *b);

/* Requests submitted and not yet returned by hvl_blk_poll(). */
unsigned hvl_blk_inflight(const struct hvl_blk *b);

/*
 * Busy-poll the used ring for up to @spins relax() rounds (os->relax) before
 * sleeping on the doorbell.  Default 0: sleep at once.  Spinning trades CPU
 * for latency: while we spin the PMM completes without waking us.
 */
void hvl_blk_set_poll_spin(struct hvl_blk *b, uint32_t spins);

/* True (1) if the device reports DEVICE_NEEDS_RESET or the ring is broken. */
int hvl_blk_broken(const struct hvl_blk *b);

/*
 * Post one request: @type HVL_BLK_T_IN/OUT (@len a non-zero multiple of
 * 512, sectors inside the capacity), FLUSH (@buf NULL, @len 0), GET_ID
 * (@len >= 20), or DISCARD/WRITE_ZEROES (@buf an array of struct
 * hvl_blk_dwz_seg, @len a multiple of 16; ranges are checked by the
 * device).  @buf must lie in the data area.  The PMM is notified at once.
 * Returns 0, -EAGAIN (every slot busy), -EINVAL (bad arguments), -EROFS
 * (write to a read-only disk), -ENOTSUP (the feature was not negotiated),
 * -EIO or -EBADF.
 */
int hvl_blk_submit(struct hvl_blk *b, uint32_t type, uint64_t sector, void *buf, uint32_t len,
		   void *cookie);

/*
 * Collect up to @max completions into @done, waiting up to @timeout_ms for
 * the first.  Returns the number collected (> 0), -ENOENT (nothing in
 * flight), -ETIMEDOUT (-EAGAIN when @timeout_ms is 0), -EIO or -EBADF.  Read data is valid once its request
 * completed with status 0.
 */
int hvl_blk_poll(struct hvl_blk *b, struct hvl_blk_done *done, unsigned max, uint32_t timeout_ms);

/*
 * Synchronous requests (no asynchronous request may be in flight: -EBUSY).
 * Return 0 or the request's status, or a submit/poll error.  A timed-out
 * request stays in flight; hvl_blk_poll() returns it later (cookie NULL).
 */
int hvl_blk_read(struct hvl_blk *b, uint64_t sector, void *buf, uint32_t len, uint32_t timeout_ms);
int hvl_blk_write(struct hvl_blk *b, uint64_t sector, const void *buf, uint32_t len,
		  uint32_t timeout_ms);
/* Returns only after the PMM reported the data durable (fdatasync). */
int hvl_blk_flush(struct hvl_blk *b, uint32_t timeout_ms);

#endif /* HVL_BLK_H */

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio entropy driver for the remote core (virtio 1.2 §5.4): random
 * bytes from the PMM's kernel RNG.
 *
 *   HVL_RNG_DEFINE(rng, 64);
 *   hvl_rng_open(&rng, &remote, 0, &rng_storage, sizeof(rng_storage));
 *   hvl_rng_read(&rng, key, sizeof(key), 1000);
 *
 * One request is in flight at a time, through one buffer of up to
 * HVL_RNG_BUF_SIZE bytes carved from the device's data area; the bytes
 * are copied out to the caller.  Not thread-safe per device.
 */
#ifndef HVL_RNG_H
#define HVL_RNG_H

#include <stddef.h>
#include <stdint.h>

#include "hvl/remote.h"
#include "hvl/vq_driver.h"
#include "hvl/wire/rng.h"

#define HVL_RNG_BUF_SIZE 4096u

/* Bytes of storage hvl_rng_open() needs for a queue of up to @qsize entries. */
#define HVL_RNG_STORAGE(qsize) HVL_VQ_DRV_STORAGE(qsize)

/* Declare a static entropy device @name and its ring storage @name##_storage. */
#define HVL_RNG_DEFINE(name, qsize)                                       \
	static struct hvl_rng name;                                       \
	static union {                                                    \
		void *align_ptr;                                          \
		uint64_t align_u64;                                       \
		uint8_t bytes[HVL_RNG_STORAGE(qsize)];                    \
	} name##_storage

struct hvl_rng {
	struct hvl_vdev vdev;
	struct hvl_vq_drv vq;
	uint8_t *buf;          /* our buffer in the data area */
	uint64_t buf_bus;
	uint32_t buf_size;
	uint8_t posted;        /* the buffer is on the ring */
	uint8_t is_open;
	uint64_t bytes;        /* statistics: random bytes received */
};

/*
 * Open the @nth entropy device (0-based) of @r (static start, EVENT_IDX).
 * @storage (pointer-aligned, @len bytes) must outlive the device.  Returns
 * 0, -ENODEV, -ENOSPC, -EPROTO, -ENOTSUP, -ETIMEDOUT or -EIO.
 */
int hvl_rng_open(struct hvl_rng *g, struct hvl_remote *r, uint32_t nth, void *storage, size_t len);

/* Reset the device.  0 or the reset's errno. */
int hvl_rng_close(struct hvl_rng *g);

/*
 * Fill @buf with @len random bytes, waiting up to @timeout_ms in total.
 * Returns @len, the number of bytes got before the timeout if some were,
 * or -ETIMEDOUT (-EAGAIN when @timeout_ms is 0), -EIO, -EBADF, -EINVAL.
 */
long hvl_rng_read(struct hvl_rng *g, void *buf, size_t len, uint32_t timeout_ms);

/* True (1) if the device reports DEVICE_NEEDS_RESET or the ring is broken. */
int hvl_rng_broken(const struct hvl_rng *g);

#endif /* HVL_RNG_H */

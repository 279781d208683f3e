/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio network device, driver side (virtio 1.2 §5.1): a netif for the
 * remote core.  Send and receive whole Ethernet frames (without the
 * virtio header, which the driver adds and checks), read the MAC, MTU and
 * link status.  One queue pair, no offloads, no merged receive buffers.
 *
 * No allocation: receive and transmit buffers are carved from the device's
 * data area in shared memory; the ring bookkeeping lives in caller storage
 * of hvl_net_storage_size() bytes, or use HVL_NET_DEFINE():
 *
 *   HVL_NET_DEFINE(net, 256);
 *   hvl_net_open(&net, &remote, 0, &net_storage, sizeof(net_storage));
 *   hvl_net_send(&net, frame, len, 100);
 *   n = hvl_net_recv(&net, buf, sizeof(buf), 100);      // or:
 *   hvl_net_set_rx_cb(&net, my_input, ctx); hvl_net_poll(&net, 16);
 *
 * Not thread-safe: callers serialise access to one struct hvl_net (an IP
 * stack's core lock does).  Every wait takes a timeout in milliseconds; 0
 * never waits.  Once the PMM reports DEVICE_NEEDS_RESET or a ring breaks,
 * calls return -EIO until the device is closed and opened again.
 */
#ifndef HVL_NET_H
#define HVL_NET_H

#include <stddef.h>
#include <stdint.h>

#include "hvl/remote.h"
#include "hvl/vq_driver.h"
#include "hvl/wire/net.h"

/* Buffer counts (upper bounds; open() uses fewer if a queue or the data area is small). */
#define HVL_NET_RX_BUFS 32u
#define HVL_NET_TX_BUFS 32u

/* Alignment of buffers and of the two queues' bookkeeping in the storage. */
#define HVL_NET_STORAGE_ALIGN 8u

/* Bytes of storage hvl_net_open() needs when both queues have at most @qsize entries. */
#define HVL_NET_STORAGE(qsize) (2u * (HVL_VQ_DRV_STORAGE(qsize) + HVL_NET_STORAGE_ALIGN))

/*
 * Receive callback: @frame (@len bytes, a whole Ethernet frame) lies in
 * shared memory and is valid only during the call; copy what you keep.
 */
typedef void (*hvl_net_rx_fn)(void *ctx, const uint8_t *frame, uint32_t len);

struct hvl_net_buf {
	uint8_t *local;     /* our mapping: virtio header, then the frame */
	uint64_t bus;       /* the address we put in descriptors */
};

/* Counters of what the driver saw. */
struct hvl_net_stats {
	uint64_t rx_frames, rx_bytes, tx_frames, tx_bytes;
	uint64_t rx_dropped;   /* from the PMM: empty, bad header or bad length */
	uint64_t rx_toolong;   /* hvl_net_recv(): frame larger than the caller's buffer */
};

struct hvl_net {
	struct hvl_vdev vdev;
	struct hvl_vq_drv rxq;
	struct hvl_vq_drv txq;
	struct hvl_net_buf rx[HVL_NET_RX_BUFS];
	struct hvl_net_buf tx[HVL_NET_TX_BUFS];
	uint16_t nrx, ntx;            /* buffers in use */
	uint32_t buf_size;            /* bytes per buffer: header + largest frame, aligned */
	uint8_t tx_free[HVL_NET_TX_BUFS];
	uint16_t tx_nfree;
	struct hvl_net_buf *tx_cur;   /* reserved by hvl_net_tx_reserve(), not yet committed */
	uint8_t mac[6];
	uint16_t mtu;
	uint32_t max_frame;           /* mtu + 14 + 4 */
	hvl_net_rx_fn rx_fn;
	void *rx_ctx;
	uint8_t is_open;
	struct hvl_net_stats stats;
};

/* Declare a static netif @name and its ring storage @name##_storage for queues of up to @qsize. */
#define HVL_NET_DEFINE(name, qsize)                                       \
	static struct hvl_net name;                                       \
	static union {                                                    \
		void *align_ptr;                                          \
		uint64_t align_u64;                                       \
		uint8_t bytes[HVL_NET_STORAGE(qsize)];                    \
	} name##_storage

/* Bytes of storage for queues of up to @qsize entries (as HVL_NET_STORAGE). */
size_t hvl_net_storage_size(uint16_t qsize);

/*
 * Open the @nth network device (0-based) of @r: static start with MAC, MTU,
 * STATUS, EVENT_IDX wanted, both queues at their pre-assigned locations,
 * DRIVER_OK, then carve the buffers (each holds the 12-byte header and a
 * whole frame of MTU + 18 bytes, §5.1.6.3.1) and post every receive buffer.
 * Returns 0, -ENODEV, -ENOSPC (storage or data area too small), -EPROTO
 * (malformed device header or config), -ENOTSUP, -ETIMEDOUT or -EIO.
 */
int hvl_net_open(struct hvl_net *n, struct hvl_remote *r, uint32_t nth, void *storage, size_t len);

/* Reset the device (§2.1) and forget every buffer.  Returns 0 or the reset's errno. */
int hvl_net_close(struct hvl_net *n);

/* The MAC address (from config space with VIRTIO_NET_F_MAC). */
void hvl_net_mac(const struct hvl_net *n, uint8_t mac[6]);

/* The MTU (from config space with VIRTIO_NET_F_MTU, else 1500). */
uint16_t hvl_net_mtu(const struct hvl_net *n);

/* The largest frame hvl_net_send() accepts and a receive may return: MTU + 18. */
uint32_t hvl_net_max_frame(const struct hvl_net *n);

/* Link status: 1 up, 0 down (always 1 without VIRTIO_NET_F_STATUS), -EIO/-EBADF. */
int hvl_net_link_up(const struct hvl_net *n);

/*
 * Reserve a transmit buffer: *@frame points at room for *@cap bytes of
 * frame in shared memory (fill it, then hvl_net_tx_commit()).  Waits up to
 * @timeout_ms for a free buffer.  Returns 0, -ETIMEDOUT (-EAGAIN when
 * @timeout_ms is 0), -EBUSY (one is already reserved), -EIO or -EBADF.
 */
int hvl_net_tx_reserve(struct hvl_net *n, uint8_t **frame, uint32_t *cap, uint32_t timeout_ms);

/*
 * Send the reserved buffer with @len bytes of frame (14 .. max_frame).
 * Returns 0, -EINVAL (bad length: the buffer stays reserved), -EIO or -EBADF.
 */
int hvl_net_tx_commit(struct hvl_net *n, uint32_t len);

/* Reserve, copy @len bytes of @frame, commit.  Same returns, plus -EMSGSIZE. */
int hvl_net_send(struct hvl_net *n, const void *frame, uint32_t len, uint32_t timeout_ms);

/*
 * Receive one frame into @buf (@cap bytes), waiting up to @timeout_ms.
 * Returns its length, -EMSGSIZE (longer than @cap: dropped), -ETIMEDOUT,
 * -EAGAIN (@timeout_ms 0, nothing pending), -EIO or -EBADF.
 */
long hvl_net_recv(struct hvl_net *n, void *buf, size_t cap, uint32_t timeout_ms);

/* Set the receive callback used by hvl_net_poll() (NULL: frames are dropped). */
void hvl_net_set_rx_cb(struct hvl_net *n, hvl_net_rx_fn fn, void *ctx);

/*
 * Deliver up to @budget received frames to the callback, re-post their
 * buffers, reclaim finished transmit buffers.  Never waits.  Returns the
 * number of frames delivered, -EIO or -EBADF.
 */
int hvl_net_poll(struct hvl_net *n, unsigned budget);

/*
 * Before sleeping: enable receive interrupts.  Returns 1 if frames arrived
 * meanwhile (poll instead of sleeping), 0 if a later frame will ring the
 * doorbell.  hvl_net_rx_disarm() suppresses them again after waking.
 */
int hvl_net_rx_arm(struct hvl_net *n);
void hvl_net_rx_disarm(struct hvl_net *n);

/* Wait up to @timeout_ms for a received frame.  Returns 0, -ETIMEDOUT, -EIO or -EBADF. */
int hvl_net_wait(struct hvl_net *n, uint32_t timeout_ms);

/* True (1) if the device reports DEVICE_NEEDS_RESET or a ring is broken. */
int hvl_net_broken(const struct hvl_net *n);

#endif /* HVL_NET_H */

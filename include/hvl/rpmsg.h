/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * rpmsg over virtio, driver side (the remote core): named channels and
 * endpoints to Linux programs, in the spirit of OpenAMP's rpmsg API so
 * that an OpenAMP application ports with little change:
 *
 *   OpenAMP                         hvl
 *   rpmsg_create_ept()              hvl_rpmsg_create_ept()
 *   rpmsg_destroy_ept()             hvl_rpmsg_destroy_ept()
 *   rpmsg_send() / rpmsg_sendto()   hvl_rpmsg_send() / hvl_rpmsg_sendto()
 *   rpmsg_trysend() / trysendto()   hvl_rpmsg_trysend() / hvl_rpmsg_trysendto()
 *   rpmsg_send_offchannel()         hvl_rpmsg_send_offchannel() (and the try variant)
 *   rpmsg_get_tx_payload_buffer()   hvl_rpmsg_get_tx_buffer()
 *   rpmsg_send_nocopy()             hvl_rpmsg_send_nocopy() / hvl_rpmsg_sendto_nocopy()
 *   rpmsg_hold_rx_buffer()          hvl_rpmsg_hold_rx_buffer()
 *   rpmsg_release_rx_buffer()       hvl_rpmsg_release_rx_buffer()
 *   ns_bind_cb, ns_unbind_cb        same
 *   (virtqueue ISR / poll loop)     hvl_rpmsg_poll()
 *
 * Endpoints live in storage the caller provides (no malloc).  Receive
 * callbacks run inside hvl_rpmsg_poll(), in the caller's context; they
 * may send, create and destroy endpoints.  Not thread-safe: callers
 * serialise access to one struct hvl_rpmsg_dev.  Every wait is bounded.
 *
 * Wire format and queue roles: hvl/wire/rpmsg.h; protocol: docs/PROTOCOL.md
 * §10 "rpmsg".  Every buffer holds one message of at most buf_size bytes
 * (header included), as the PMM publishes in config space.
 */
#ifndef HVL_RPMSG_H
#define HVL_RPMSG_H

#include <stddef.h>
#include <stdint.h>

#include "hvl/remote.h"
#include "hvl/vq_driver.h"
#include "hvl/wire/rpmsg.h"

/* Buffers per direction (upper bounds; fewer if the queue or data area is small). */
#define HVL_RPMSG_RX_BUFS 64u
#define HVL_RPMSG_TX_BUFS 64u

/* Default wait of hvl_rpmsg_send()/sendto()/create/destroy; hvl_rpmsg_set_timeout(). */
#define HVL_RPMSG_DEFAULT_TIMEOUT_MS 1000u

#define HVL_RPMSG_STORAGE_ALIGN 8u
/* Bytes of storage hvl_rpmsg_open() needs when both queues have at most @qsize entries. */
#define HVL_RPMSG_STORAGE(qsize) (2u * (HVL_VQ_DRV_STORAGE(qsize) + HVL_RPMSG_STORAGE_ALIGN))

struct hvl_rpmsg_dev;
struct hvl_rpmsg_ept;

/*
 * Receive callback: @len payload bytes at @data from address @src.  @data
 * is valid until the callback returns, unless hvl_rpmsg_hold_rx_buffer()
 * keeps it.  The return value is ignored (0 by convention, as in OpenAMP).
 */
typedef int (*hvl_rpmsg_ept_cb)(struct hvl_rpmsg_ept *ept, void *data, size_t len, uint32_t src,
				void *priv);
/* The peer destroyed the channel this endpoint is bound to. */
typedef void (*hvl_rpmsg_ns_unbind_cb)(struct hvl_rpmsg_ept *ept);
/* Linux announced channel @name at address @dest and no endpoint of ours waits for it. */
typedef void (*hvl_rpmsg_ns_bind_cb)(struct hvl_rpmsg_dev *rd, const char *name, uint32_t dest);

struct hvl_rpmsg_ept {
	char name[HVL_RPMSG_NAME_SIZE];
	uint32_t addr;                  /* our address */
	uint32_t dest_addr;             /* peer address; HVL_RPMSG_ADDR_ANY until known */
	hvl_rpmsg_ept_cb cb;
	hvl_rpmsg_ns_unbind_cb ns_unbind_cb;
	void *priv;                     /* for the caller */
	uint8_t announced;              /* private: we sent a name-service create */
	struct hvl_rpmsg_dev *rdev;
	struct hvl_rpmsg_ept *next;     /* private: the device's endpoint list */
};

/* One buffer in the device's data area. */
struct hvl_rpmsg_buf {
	uint8_t *local;
	uint64_t bus;
};

struct hvl_rpmsg_dev {
	struct hvl_vdev vdev;
	struct hvl_vq_drv rxq;
	struct hvl_vq_drv txq;
	struct hvl_rpmsg_buf rx[HVL_RPMSG_RX_BUFS];
	struct hvl_rpmsg_buf tx[HVL_RPMSG_TX_BUFS];
	uint8_t rx_held[HVL_RPMSG_RX_BUFS];   /* kept by hvl_rpmsg_hold_rx_buffer() */
	uint8_t tx_free[HVL_RPMSG_TX_BUFS];   /* stack of free transmit buffer indices */
	uint8_t tx_taken[HVL_RPMSG_TX_BUFS];  /* handed out by hvl_rpmsg_get_tx_buffer() */
	uint16_t nrx, ntx, tx_nfree;
	uint32_t buf_size;                    /* from config space */
	uint32_t max_channels;
	struct hvl_rpmsg_ept *epts;
	uint32_t nepts;
	uint32_t next_addr;                   /* next dynamic address to try */
	hvl_rpmsg_ns_bind_cb ns_bind_cb;
	void *priv;                           /* for the caller */
	uint32_t timeout_ms;
	uint8_t is_open;
	uint8_t ns;                           /* VIRTIO_RPMSG_F_NS negotiated */
	uint8_t in_poll;                      /* a callback is running: no nested poll */
	/* Statistics: messages the PMM sent that were dropped here. */
	uint64_t msgs_in, msgs_out;
	uint64_t drop_dst, drop_bad, drop_ns;
};

/* Declare a static device @name and its ring storage @name##_storage. */
#define HVL_RPMSG_DEFINE(name, qsize)                             \
	static struct hvl_rpmsg_dev name;                         \
	static union {                                            \
		void *align_ptr;                                  \
		uint64_t align_u64;                               \
		uint8_t bytes[HVL_RPMSG_STORAGE(qsize)];          \
	} name##_storage

/* Bytes of storage for queues of up to @qsize entries (as HVL_RPMSG_STORAGE). */
size_t hvl_rpmsg_storage_size(uint16_t qsize);

/*
 * Open the @nth rpmsg device (0-based) of @r: static start with
 * VIRTIO_RPMSG_F_NS, EVENT_IDX and INDIRECT_DESC wanted, read buf_size
 * from config space, carve buffers from the data area and post every
 * receive buffer.  @ns_bind_cb (may be NULL) is called for channels Linux
 * announces.  Returns 0, -ENODEV, -ENOSPC (storage or data area too small),
 * -EPROTO (bad header or config), -ENOTSUP, -ETIMEDOUT or -EIO.
 */
int hvl_rpmsg_open(struct hvl_rpmsg_dev *rd, struct hvl_remote *r, uint32_t nth, void *storage,
		   size_t len, hvl_rpmsg_ns_bind_cb ns_bind_cb);

/*
 * Wait up to @timeout_ms until the PMM has taken every message sent so far
 * (every transmit buffer is back).  Returns 0, -ETIMEDOUT (-EAGAIN when
 * @timeout_ms is 0), -EIO or -EBADF.  Call it before hvl_rpmsg_close()
 * when the last messages matter: a reset drops what is still queued.
 */
int hvl_rpmsg_flush(struct hvl_rpmsg_dev *rd, uint32_t timeout_ms);

/* Reset the device and forget every buffer and endpoint.  0 or the reset's errno. */
int hvl_rpmsg_close(struct hvl_rpmsg_dev *rd);

/* Timeout of the blocking calls (send, sendto, create and destroy announcements). */
void hvl_rpmsg_set_timeout(struct hvl_rpmsg_dev *rd, uint32_t timeout_ms);

/* Largest payload of one message: buf_size - 16. */
uint32_t hvl_rpmsg_max_payload(const struct hvl_rpmsg_dev *rd);

/*
 * Create endpoint @ept (caller's storage, kept until destroy) with @name
 * (may be NULL or ""), our address @src (HVL_RPMSG_ADDR_ANY picks a free
 * one >= 1024) and peer address @dest (ANY: learnt from the first message
 * received).  A named endpoint with @dest ANY is announced to Linux (name
 * service create), where it appears as the socket dir/NAME.  If Linux
 * already announced @name, bind to it with the @dest its ns_bind_cb got.
 * Returns 0, -EINVAL, -EADDRINUSE, -EBADF, -EIO, or the announcement's
 * send error (the endpoint is then not created).
 */
int hvl_rpmsg_create_ept(struct hvl_rpmsg_ept *ept, struct hvl_rpmsg_dev *rd, const char *name,
			 uint32_t src, uint32_t dest, hvl_rpmsg_ept_cb cb,
			 hvl_rpmsg_ns_unbind_cb ns_unbind_cb);

/*
 * Destroy @ept: a named endpoint we announced, or one still bound to a
 * Linux channel, is announced as gone (name service destroy; Linux
 * programs connected to it see EOF), then unlinked.
 */
void hvl_rpmsg_destroy_ept(struct hvl_rpmsg_ept *ept);

/*
 * Send @len bytes to the endpoint's peer (send) or to @dst (sendto),
 * waiting up to the device timeout for a free buffer.  Returns @len,
 * -EMSGSIZE when @len > hvl_rpmsg_max_payload(), -ENOTCONN when the peer
 * address is not known yet, -ETIMEDOUT, -EIO, -EBADF.
 */
int hvl_rpmsg_send(struct hvl_rpmsg_ept *ept, const void *data, size_t len);
int hvl_rpmsg_sendto(struct hvl_rpmsg_ept *ept, const void *data, size_t len, uint32_t dst);
/* As send/sendto, but never wait: -EAGAIN when no buffer is free. */
int hvl_rpmsg_trysend(struct hvl_rpmsg_ept *ept, const void *data, size_t len);
int hvl_rpmsg_trysendto(struct hvl_rpmsg_ept *ept, const void *data, size_t len, uint32_t dst);

/* As sendto/trysendto with source address @src instead of the endpoint's own. */
int hvl_rpmsg_send_offchannel(struct hvl_rpmsg_ept *ept, uint32_t src, uint32_t dst,
			      const void *data, size_t len);
int hvl_rpmsg_trysend_offchannel(struct hvl_rpmsg_ept *ept, uint32_t src, uint32_t dst,
				 const void *data, size_t len);

/*
 * Zero-copy send: take a transmit buffer (waiting up to @timeout_ms), and
 * get a pointer to its payload area of *@len bytes (the maximum payload).
 * Fill it, then hvl_rpmsg_send_nocopy()/sendto_nocopy() it (the buffer
 * goes back to the device), or hvl_rpmsg_release_tx_buffer() it unused.
 * Returns NULL on timeout or error.
 */
void *hvl_rpmsg_get_tx_buffer(struct hvl_rpmsg_dev *rd, uint32_t *len, uint32_t timeout_ms);
int hvl_rpmsg_send_nocopy(struct hvl_rpmsg_ept *ept, void *buf, size_t len);
int hvl_rpmsg_sendto_nocopy(struct hvl_rpmsg_ept *ept, void *buf, size_t len, uint32_t dst);
int hvl_rpmsg_release_tx_buffer(struct hvl_rpmsg_dev *rd, void *buf);

/*
 * Zero-copy receive: inside a receive callback, keep @data (the payload
 * pointer the callback got) after the callback returns; the buffer is
 * given back to the device by hvl_rpmsg_release_rx_buffer().  0 or -EINVAL.
 */
int hvl_rpmsg_hold_rx_buffer(struct hvl_rpmsg_dev *rd, void *data);
int hvl_rpmsg_release_rx_buffer(struct hvl_rpmsg_dev *rd, void *data);

/*
 * Handle received messages: each goes to its endpoint's callback, name
 * service messages to the bind/unbind callbacks.  Waits up to @timeout_ms
 * for the first message, then handles what is there (bounded).  Returns
 * the number of messages handled (> 0), -ETIMEDOUT (-EAGAIN when
 * @timeout_ms is 0), -EIO, -EBADF, or -EBUSY when called from a callback.
 */
int hvl_rpmsg_poll(struct hvl_rpmsg_dev *rd, uint32_t timeout_ms);

/* True (1) if the device reports DEVICE_NEEDS_RESET or a ring is broken. */
int hvl_rpmsg_broken(const struct hvl_rpmsg_dev *rd);

#endif /* HVL_RPMSG_H */

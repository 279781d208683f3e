/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio socket, driver side (virtio 1.2 §5.10): stream sockets between
 * the remote (its CID from the device's config space) and the host (CID 2),
 * whose ports the PMM bridges to Linux UNIX sockets (docs/CONFIG.md).
 *
 * A small socket API over a table of sockets the caller provides; each
 * socket owns a receive buffer (its slice of caller memory), whose size is
 * the credit (buf_alloc) advertised to the peer, so incoming data always
 * fits (§5.10.6.3).  Nothing is allocated.  Sockets are small integers
 * (descriptors) into the table.  Static storage:
 *
 *   HVL_VSOCK_DEFINE(vs, 8, 16384, 256);
 *   struct hvl_vsock_mem m = HVL_VSOCK_MEM(vs, 8);
 *   hvl_vsock_open(&vs, &remote, 0, &m);
 *   int s = hvl_vsock_socket(&vs);
 *   hvl_vsock_connect(&vs, s, 1234, 1000);
 *   hvl_vsock_send(&vs, s, "hi", 2, 1000);
 *
 * Every call that may wait takes a timeout in milliseconds; 0 never waits
 * (non-blocking), and hvl_vsock_poll() waits for several sockets at once.
 * Progress (incoming packets, credit, acknowledgements) is made inside
 * every call; a program that only waits calls hvl_vsock_poll().
 * Not thread-safe: callers serialise access to one struct hvl_vsock.
 */
#ifndef HVL_VSOCK_H
#define HVL_VSOCK_H

#include <stddef.h>
#include <stdint.h>

#include "hvl/remote.h"
#include "hvl/vq_driver.h"
#include "hvl/wire/vsock.h"

/* Buffer geometry (upper bounds; open() uses fewer if a queue or the data area is small). */
#define HVL_VSOCK_RX_BUFS    64u
#define HVL_VSOCK_TX_BUFS    64u
#define HVL_VSOCK_EV_BUFS    4u
/*
 * Packet buffers (header included) are the largest power of two from
 * HVL_VSOCK_BUF_MIN to HVL_VSOCK_BUF_MAX that still leaves
 * HVL_VSOCK_MIN_BUFS receive and transmit buffers in the data area: a
 * bigger data area means fewer packets (and PMM system calls) per byte.
 */
#define HVL_VSOCK_BUF_MIN    4096u
#define HVL_VSOCK_BUF_MAX    32768u
#define HVL_VSOCK_MIN_BUFS   8u
#define HVL_VSOCK_RST_QUEUE  16u   /* RSTs waiting for a transmit buffer; more are dropped */
#define HVL_VSOCK_CLOSE_MS   5000u /* a closed connection waits this long for the peer's RST */
#define HVL_VSOCK_MIN_RBUF   256u  /* smallest receive buffer per socket */
#define HVL_VSOCK_EPHEMERAL  49152u
/*
 * Polling: a recv(.., 0) that finds nothing looks at the receive ring's
 * used index only, and makes the whole pass (events, transmit buffers,
 * timers, control packets) every HVL_VSOCK_IDLE_PASS such calls; a pass
 * that takes packets in does the rest once every HVL_VSOCK_LEAN_PASSES.
 */
#define HVL_VSOCK_IDLE_PASS  256u
#define HVL_VSOCK_LEAN_PASSES 64u
/* Receive buffers consumed on a round trip's path, re-posted together (at most nrx / 2). */
#define HVL_VSOCK_RX_HOLD    4u

#define HVL_VSOCK_STORAGE_ALIGN 8u
/* Ring bookkeeping of the three queues, each of at most @qsize entries. */
#define HVL_VSOCK_STORAGE(qsize) (3u * (HVL_VQ_DRV_STORAGE(qsize) + HVL_VSOCK_STORAGE_ALIGN))

/* hvl_vsock_shutdown() @how, as the flags of §5.10.6.5. */
#define HVL_VSOCK_SHUT_RD   HVL_VSOCK_SHUTDOWN_RCV
#define HVL_VSOCK_SHUT_WR   HVL_VSOCK_SHUTDOWN_SEND
#define HVL_VSOCK_SHUT_RDWR (HVL_VSOCK_SHUTDOWN_RCV | HVL_VSOCK_SHUTDOWN_SEND)

/* hvl_vsock_poll() events. */
#define HVL_VSOCK_POLLIN  1u  /* data, EOF, a pending accept, or an error */
#define HVL_VSOCK_POLLOUT 2u  /* send() would accept at least one byte */
#define HVL_VSOCK_POLLERR 4u  /* reset or refused (revents only) */
#define HVL_VSOCK_POLLHUP 8u  /* the peer will send no more (revents only) */

enum hvl_vsock_state {
	HVL_VSOCK_S_FREE = 0,
	HVL_VSOCK_S_CLOSED,      /* allocated, not connected (or reset / refused) */
	HVL_VSOCK_S_CONNECTING,
	HVL_VSOCK_S_ESTABLISHED,
	HVL_VSOCK_S_LISTEN,
	HVL_VSOCK_S_CLOSING,     /* closed by the application, waiting for the peer's RST */
};

/* One socket; opaque to applications. */
struct hvl_vsock_sock {
	uint8_t state;           /* enum hvl_vsock_state */
	uint8_t pend;            /* control packets to send */
	uint8_t peer_shut;       /* SHUTDOWN flags received */
	uint8_t local_shut;      /* SHUTDOWN flags sent or to send */
	uint8_t accepted;        /* a listener's child handed out by accept() */
	uint16_t parent;         /* listener index + 1 for children, else 0 */
	uint16_t backlog, nqueued; /* listener */
	int32_t err;             /* pending error: ECONNREFUSED, ECONNRESET, ETIMEDOUT */
	uint32_t lport, pport;   /* local and peer port */
	uint8_t *rbuf;           /* receive ring, rcap bytes of caller memory */
	uint32_t rcap, rhead, rcount;
	uint32_t rx_cnt;         /* payload bytes received (mod 2^32) */
	uint32_t fwd_cnt;        /* of them, read by the application: our fwd_cnt */
	uint32_t fwd_adv;        /* fwd_cnt last sent to the peer */
	uint32_t tx_cnt;         /* payload bytes sent */
	uint32_t peer_buf_alloc, peer_fwd_cnt;
	uint64_t deadline;       /* CLOSING: give up waiting for the RST */
};

/* One data buffer in the device's data area. */
struct hvl_vsock_buf {
	uint8_t *local;
	uint64_t bus;
};

struct hvl_vsock_rst {
	uint32_t lport, pport;
};

struct hvl_vsock {
	struct hvl_vdev vdev;
	struct hvl_vq_drv rxq, txq, evq;
	struct hvl_vsock_buf rx[HVL_VSOCK_RX_BUFS];
	struct hvl_vsock_buf tx[HVL_VSOCK_TX_BUFS];
	struct hvl_vsock_buf ev[HVL_VSOCK_EV_BUFS];
	uint16_t nrx, ntx;
	uint32_t buf_size;            /* bytes per packet buffer, header included */
	uint8_t tx_free[HVL_VSOCK_TX_BUFS];
	uint16_t tx_nfree;
	uint64_t cid;                 /* our CID, from config space */
	struct hvl_vsock_sock *socks;
	uint32_t nsocks;
	uint32_t next_port;
	uint8_t any_pend;             /* some socket has pend bits */
	uint32_t idle_polls;          /* recv(.., 0) calls that found nothing */
	uint32_t lean_passes;         /* receive passes without the rest */
	uint16_t rx_next;             /* receive buffer the device most likely fills next */
	uint8_t rx_done[HVL_VSOCK_RX_HOLD]; /* consumed, not yet re-posted (vsk_rx_release()) */
	uint8_t nrx_done;
	/* A recv() in progress: its socket's data goes straight to its buffer. */
	struct hvl_vsock_sock *rd_sock;
	uint8_t *rd_buf;
	uint32_t rd_len, rd_got;
	uint8_t is_open;
	struct hvl_vsock_rst rst[HVL_VSOCK_RST_QUEUE];
	uint16_t rst_head, rst_count;
	/* Statistics. */
	uint64_t bytes_in, bytes_out, pkts_in, pkts_out;
	uint64_t bad_pkts, rst_dropped, resets;
};

/* Caller memory for hvl_vsock_open(). */
struct hvl_vsock_mem {
	void *ring_storage;           /* pointer-aligned, HVL_VSOCK_STORAGE(qsize) bytes */
	size_t ring_len;
	struct hvl_vsock_sock *socks; /* the socket table */
	uint32_t nsocks;
	uint8_t *rbuf;                /* receive buffers, split evenly among the sockets */
	size_t rbuf_len;
};

/* Static storage: @nsocks sockets with @bufsize receive bytes each, queues up to @qsize. */
#define HVL_VSOCK_DEFINE(name, nsocks, bufsize, qsize)                                  \
	static struct hvl_vsock name;                                                   \
	static struct hvl_vsock_sock name##_socks[nsocks];                              \
	static uint8_t name##_rbuf[(size_t)(nsocks) * (size_t)(bufsize)];              \
	static union {                                                                  \
		void *align_ptr;                                                        \
		uint64_t align_u64;                                                     \
		uint8_t bytes[HVL_VSOCK_STORAGE(qsize)];                                \
	} name##_storage
#define HVL_VSOCK_MEM(name, nsocks)                                                     \
	{ &name##_storage, sizeof(name##_storage), name##_socks, (nsocks), name##_rbuf,  \
	  sizeof(name##_rbuf) }

/*
 * Open the @nth vsock device of @r: static start (EVENT_IDX, INDIRECT_DESC
 * and VIRTIO_VSOCK_F_STREAM wanted), read guest_cid, carve buffers from the
 * data area, post every receive and event buffer, and take the device's
 * transport reset event (waits up to the transaction timeout for it).
 * Returns 0, -ENODEV,
 * -ENOSPC (storage or data area too small), -EPROTO (bad header or CID),
 * -ENOTSUP, -ETIMEDOUT or -EIO.
 */
int hvl_vsock_open(struct hvl_vsock *v, struct hvl_remote *r, uint32_t nth,
		   const struct hvl_vsock_mem *m);

/* Reset the device; every socket is forgotten.  Returns 0 or the reset's errno. */
int hvl_vsock_close_dev(struct hvl_vsock *v);

/* A new unconnected socket: its descriptor (>= 0), -EMFILE if the table is full. */
int hvl_vsock_socket(struct hvl_vsock *v);

/*
 * Connect socket @sd to host port @port (CID 2), waiting up to @timeout_ms
 * for the answer.  Returns 0, -ECONNREFUSED (RST: nobody serves the port),
 * -ETIMEDOUT, -EAGAIN (@timeout_ms 0: in progress, poll for POLLOUT),
 * -EISCONN, -EBADF or -EIO.
 */
int hvl_vsock_connect(struct hvl_vsock *v, int sd, uint32_t port, uint32_t timeout_ms);

/* Listen on local @port with up to @backlog connections waiting.  0, -EADDRINUSE, -EBADF. */
int hvl_vsock_listen(struct hvl_vsock *v, int sd, uint32_t port, uint16_t backlog);

/*
 * Take a connection from listener @sd, waiting up to @timeout_ms.  Returns
 * the new socket's descriptor, -ETIMEDOUT, -EAGAIN (@timeout_ms 0), -EINVAL
 * (not listening), -EBADF or -EIO.
 */
int hvl_vsock_accept(struct hvl_vsock *v, int sd, uint32_t *peer_port, uint32_t timeout_ms);

/*
 * Send up to @len bytes within the peer's credit, waiting up to
 * @timeout_ms for credit and transmit buffers.  Returns the bytes accepted
 * (all of @len unless the timeout hit), -ETIMEDOUT / -EAGAIN if none were,
 * -EPIPE after a shutdown, -ECONNRESET, -ENOTCONN, -EBADF or -EIO.
 */
long hvl_vsock_send(struct hvl_vsock *v, int sd, const void *buf, size_t len, uint32_t timeout_ms);

/*
 * Receive up to @len bytes, waiting up to @timeout_ms for the first.
 * Returns the bytes read (> 0), 0 at end of stream (the peer shut down its
 * sending side), -ETIMEDOUT / -EAGAIN, -ECONNRESET, -ENOTCONN, -EBADF, -EIO.
 */
long hvl_vsock_recv(struct hvl_vsock *v, int sd, void *buf, size_t len, uint32_t timeout_ms);

/* Shut down reading and/or writing (HVL_VSOCK_SHUT_*).  0, -ENOTCONN, -EBADF. */
int hvl_vsock_shutdown(struct hvl_vsock *v, int sd, uint32_t how);

/*
 * Release @sd.  A connection is shut down both ways and its slot is reused
 * once the peer's RST arrives (or HVL_VSOCK_CLOSE_MS later).  0 or -EBADF.
 */
int hvl_vsock_close(struct hvl_vsock *v, int sd);

struct hvl_vsock_pollfd {
	int sd;
	uint32_t events;   /* HVL_VSOCK_POLLIN / POLLOUT */
	uint32_t revents;
};

/*
 * Wait up to @timeout_ms until one of @n sockets is ready (0: just look).
 * Returns the number of entries with revents != 0, 0 on timeout, or -EIO.
 */
int hvl_vsock_poll(struct hvl_vsock *v, struct hvl_vsock_pollfd *fds, uint32_t n,
		   uint32_t timeout_ms);

/* Process whatever the device sent, without waiting.  0 or -EIO. */
int hvl_vsock_pump(struct hvl_vsock *v);

/* Our CID (guest_cid). */
uint64_t hvl_vsock_cid(const struct hvl_vsock *v);

/* True (1) if the device reports DEVICE_NEEDS_RESET or a ring is broken. */
int hvl_vsock_broken(const struct hvl_vsock *v);

#endif /* HVL_VSOCK_H */

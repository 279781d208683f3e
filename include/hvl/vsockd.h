/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hvl_vsockd: a virtio-vsock device (virtio 1.2 §5.10) served inside a
 * Linux program, with a socket API for that program's own endpoints: the
 * host side (CID 2) of every connection is a socket of this table, not a
 * UNIX socket behind hvl-pmm.  Nothing sits between the remote's rings and
 * the program: remote data is copied once, from the transmit buffer into
 * the socket (or straight into the buffer of a waiting recv), and what the
 * program sends is written once, straight into the remote's receive
 * buffers.  It is the fast path next to hvl-pmm's vsock bridge; the wire
 * rules are the same (docs/PROTOCOL.md "vsock", "vsockd").
 *
 * The device runs on struct hvl_devhost (devhost.h) in the calling thread:
 * every call makes progress (serves the device, its packets and the
 * region's heartbeat), blocking calls sleep on the doorbell, and a program
 * that only waits calls hvl_vsockd_poll().  Timeouts are in milliseconds;
 * 0 never waits.  Memory is the caller's (no allocation):
 *
 *   HVL_VSOCKD_DEFINE(vd, 16, 256 * 1024);
 *   struct hvl_vsockd_mem m = HVL_VSOCKD_MEM(vd, 16);
 *   struct hvl_devhost h;
 *   struct hvl_devhost_dev d;
 *   hvl_vsockd_init(&vd, &m, 3);                 guest CID 3
 *   hvl_vsockd_describe(&vd, &d, 256, 1 << 20);  queue size, data area
 *   hvl_devhost_open(&h, "/dev/shm/app", HVL_DOORBELL_FUTEX, &d, 1, NULL, err, sizeof err);
 *   hvl_vsockd_bind(&vd, &h, 0);
 *   int l = hvl_vsockd_socket(&vd);
 *   hvl_vsockd_listen(&vd, l, 7000, 8);
 *   int s = hvl_vsockd_accept(&vd, l, NULL, 5000);
 *
 * Every packet from the remote is read once into a private header copy
 * and checked: source CID, destination CID, type, len against the chain,
 * credit (data beyond the credit we gave resets the connection), fwd_cnt
 * moving backwards or past what we sent.  A bad packet is dropped and
 * counted and its connection reset; only a ring violation fails the
 * device.  Not thread-safe: one thread calls every function of one table.
 */
#ifndef HVL_VSOCKD_H
#define HVL_VSOCKD_H

#include <stddef.h>
#include <stdint.h>

#include "hvl/devhost.h"
#include "hvl/wire/vsock.h"

#define HVL_VSOCKD_IOV        8u      /* descriptors per chain accepted */
#define HVL_VSOCKD_RX_AHEAD   8u      /* receive chains taken ahead of need */
#define HVL_VSOCKD_RST_QUEUE  64u     /* RSTs owed to the remote; more are dropped */
#define HVL_VSOCKD_CLOSE_MS   5000u   /* a closed socket waits this long for the RST */
#define HVL_VSOCKD_MIN_RBUF   4096u
#define HVL_VSOCKD_EPHEMERAL  49152u
#define HVL_VSOCKD_BUDGET     256u    /* transmit chains per pass */
#define HVL_VSOCKD_IDLE_PASS  256u    /* empty recv(.., 0) calls per full service pass */
#define HVL_VSOCKD_TX_HOLD    4u      /* transmit chains done with, returned together */

/* hvl_vsockd_poll() events (the values of hvl_vsock_poll()'s). */
#define HVL_VSOCKD_POLLIN  1u
#define HVL_VSOCKD_POLLOUT 2u
#define HVL_VSOCKD_POLLERR 4u
#define HVL_VSOCKD_POLLHUP 8u

/* hvl_vsockd_shutdown() @how. */
#define HVL_VSOCKD_SHUT_RD   HVL_VSOCK_SHUTDOWN_RCV
#define HVL_VSOCKD_SHUT_WR   HVL_VSOCK_SHUTDOWN_SEND
#define HVL_VSOCKD_SHUT_RDWR (HVL_VSOCK_SHUTDOWN_RCV | HVL_VSOCK_SHUTDOWN_SEND)

/* One socket; opaque to applications. */
struct hvl_vsockd_sock {
	uint8_t state;
	uint8_t pend;             /* control packets owed to the remote */
	uint8_t peer_shut;        /* SHUTDOWN flags received */
	uint8_t local_shut;       /* SHUTDOWN flags sent or to send */
	uint8_t accepted;
	uint8_t credit_asked;     /* CREDIT_REQUEST sent, no update since */
	uint16_t parent;          /* listener index + 1 for its children */
	uint16_t backlog, nqueued;
	int32_t err;              /* ECONNREFUSED, ECONNRESET, ETIMEDOUT */
	uint32_t lport, pport;    /* host (ours) and remote port */
	uint8_t *rbuf;
	uint32_t rcap, rhead, rcount;
	uint32_t rx_cnt, fwd_cnt, fwd_adv;
	uint32_t tx_cnt, peer_buf_alloc, peer_fwd_cnt;
	uint64_t deadline;
};

/* A chain we hold, with its descriptors. */
struct hvl_vsockd_chain {
	struct hvl_chain c;
	struct hvl_iov iov[HVL_VSOCKD_IOV];
};

struct hvl_vsockd_rst {
	uint32_t lport, pport;
};

struct hvl_vsockd {
	struct hvl_devhost *host;
	struct hvl_dev *dev;
	struct hvl_vsock_config config;
	uint64_t cid;
	struct hvl_vsockd_sock *socks;
	uint32_t nsocks;
	uint32_t next_port;
	uint32_t last;            /* conn_find()'s last hit */
	struct hvl_vsockd_chain txc, evc;
	struct hvl_vsockd_chain rxc[HVL_VSOCKD_RX_AHEAD];
	uint8_t rx_head, nrxc;    /* receive chains held: a ring, oldest at rx_head */
	uint8_t event_pending;    /* transport reset owed (every DRIVER_OK) */
	uint8_t any_pend;
	uint8_t rx_pushed, tx_pushed;
	/* Transmit chains done with, not yet returned (see tx_release()). */
	uint16_t tx_done[HVL_VSOCKD_TX_HOLD];
	uint8_t ntx_done;
	uint32_t idle_polls;      /* recv(.., 0) calls that found nothing */
	struct hvl_vsockd_rst rst[HVL_VSOCKD_RST_QUEUE];
	uint16_t rst_head, rst_count;
	/* A blocking recv's buffer: data for that socket lands there directly. */
	struct hvl_vsockd_sock *rd_sock;
	uint8_t *rd_buf;
	uint32_t rd_len, rd_got;
	/* Statistics. */
	uint64_t pkts_in, pkts_out, bytes_in, bytes_out;
	uint64_t bad_pkts, rst_dropped, resets, credit_requests;
};

struct hvl_vsockd_mem {
	struct hvl_vsockd_sock *socks;
	uint32_t nsocks;
	uint8_t *rbuf;                /* split evenly among the sockets */
	size_t rbuf_len;
};

#define HVL_VSOCKD_DEFINE(name, nsocks, bufsize)                                 \
	static struct hvl_vsockd name;                                           \
	static struct hvl_vsockd_sock name##_socks[nsocks];                      \
	static uint8_t name##_rbuf[(size_t)(nsocks) * (size_t)(bufsize)]
#define HVL_VSOCKD_MEM(name, nsocks) \
	{ name##_socks, (nsocks), name##_rbuf, sizeof(name##_rbuf) }

struct hvl_vsockd_pollfd {
	int sd;
	uint32_t events;
	uint32_t revents;
};

/* Set up the table for guest CID @cid (>= 3).  0 or -EINVAL / -ENOSPC. */
int hvl_vsockd_init(struct hvl_vsockd *v, const struct hvl_vsockd_mem *m, uint64_t cid);
/* Describe the device for hvl_devhost_open(): 3 queues of @qsize, @data_size of data area. */
void hvl_vsockd_describe(struct hvl_vsockd *v, struct hvl_devhost_dev *d, uint16_t qsize,
			 uint64_t data_size);
/* Attach to device @index of an open host (the one described above). */
int hvl_vsockd_bind(struct hvl_vsockd *v, struct hvl_devhost *h, unsigned index);

int hvl_vsockd_socket(struct hvl_vsockd *v);
int hvl_vsockd_listen(struct hvl_vsockd *v, int sd, uint32_t port, uint16_t backlog);
/* A connected socket, its remote port in *@peer_port; -EAGAIN/-ETIMEDOUT. */
int hvl_vsockd_accept(struct hvl_vsockd *v, int sd, uint32_t *peer_port, uint32_t timeout_ms);
/* Connect to the remote's @port: 0, -ECONNREFUSED, -ECONNRESET, -ETIMEDOUT. */
int hvl_vsockd_connect(struct hvl_vsockd *v, int sd, uint32_t port, uint32_t timeout_ms);
/* Bytes taken (> 0), -EAGAIN (nothing within the timeout), -EPIPE, -ECONNRESET. */
long hvl_vsockd_send(struct hvl_vsockd *v, int sd, const void *buf, size_t len, uint32_t timeout_ms);
/* Bytes read (> 0), 0 at end of stream, -EAGAIN, -ECONNRESET. */
long hvl_vsockd_recv(struct hvl_vsockd *v, int sd, void *buf, size_t len, uint32_t timeout_ms);
int hvl_vsockd_shutdown(struct hvl_vsockd *v, int sd, uint32_t how);
int hvl_vsockd_close(struct hvl_vsockd *v, int sd);
/* Sockets ready (>= 0) or -EINVAL; waits at most @timeout_ms. */
int hvl_vsockd_poll(struct hvl_vsockd *v, struct hvl_vsockd_pollfd *fds, uint32_t n,
		    uint32_t timeout_ms);
/* Is the remote's driver running the device? */
int hvl_vsockd_live(const struct hvl_vsockd *v);

#endif /* HVL_VSOCKD_H */

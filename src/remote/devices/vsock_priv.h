/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private to the remote vsock driver: vsock.c (the socket API, device
 * start) and vsock_pkt.c (packets: building, sending, receiving and
 * validating them, the pending control packets, waiting).
 */
#ifndef HVL_REMOTE_DEVICES_VSOCK_PRIV_H
#define HVL_REMOTE_DEVICES_VSOCK_PRIV_H

#include <stddef.h>
#include <stdint.h>

#include "hvl/vsock.h"

/* Pending control packets (hvl_vsock_sock.pend). */
#define PEND_REQUEST  1u
#define PEND_RESPONSE 2u
#define PEND_CREDIT   4u
#define PEND_SHUTDOWN 8u
#define PEND_RST      16u

#define VS_LONG_MAX ((size_t)(~0UL >> 1))

/* Milliseconds now, and @timeout_ms from now. */
uint64_t vsk_now(const struct hvl_vsock *v);
uint64_t vsk_deadline(const struct hvl_vsock *v, uint32_t timeout_ms);
/* Record pending control packets @bits for @s (sent by vsk_flush_pending()). */
void vsk_sock_pend(struct hvl_vsock *v, struct hvl_vsock_sock *s, uint8_t bits);
/* Credit the peer gives us now: buf_alloc - (tx_cnt - fwd_cnt), never negative. */
uint32_t vsk_peer_credit(const struct hvl_vsock_sock *s);
/* Free a slot (a listener's un-accepted children are reset). */
void vsk_sock_free(struct hvl_vsock *v, struct hvl_vsock_sock *s);
/* Post a receive / event buffer device-writable.  0 or the ring's errno. */
int vsk_rx_post(struct hvl_vsock *v, struct hvl_vsock_buf *b);
int vsk_ev_post(struct hvl_vsock *v, struct hvl_vsock_buf *b);
/* Re-post the receive buffers a lean pass held back.  0 or -EIO. */
int vsk_rx_release(struct hvl_vsock *v);
/* Build and post one packet; -EAGAIN without a free transmit buffer, -EIO if broken. */
int vsk_tx_packet(struct hvl_vsock *v, struct hvl_vsock_sock *s, uint32_t lport, uint32_t pport,
		  uint16_t op, uint32_t flags, const uint8_t *payload, uint32_t len);
/* Take back the transmit buffers the device used.  0 or -EIO if the ring broke. */
int vsk_tx_reclaim(struct hvl_vsock *v);
/*
 * hvl_vsock_pump(); @lean: if packets came in and nothing is owed, skip
 * the rest of the pass (events, transmit buffers, timers), except on every
 * HVL_VSOCK_LEAN_PASSES-th such pass.
 */
int vsk_pump(struct hvl_vsock *v, int lean);
/* Send queued RSTs and pending control packets while transmit buffers last.  0 or -EIO. */
int vsk_flush_pending(struct hvl_vsock *v);
/* Sleep until the device used something or @deadline passes (-ETIMEDOUT). */
int vsk_wait(struct hvl_vsock *v, uint64_t deadline);

#endif /* HVL_REMOTE_DEVICES_VSOCK_PRIV_H */

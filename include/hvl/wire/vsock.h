/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio socket wire format (virtio 1.2 §5.10): feature bits, queues,
 * configuration space, the packet header and its constants.  Pure layout,
 * shared by the PMM backend (src/pmm/devices/vsock*.c) and the remote
 * driver (src/remote/devices/vsock.c).
 *
 * Every packet is one chain: the 44-byte header, then @len payload bytes
 * (RW only).  All fields are little-endian.
 */
#ifndef HVL_WIRE_VSOCK_H
#define HVL_WIRE_VSOCK_H

#include <stdint.h>
#include "hvl/wire/le.h"

/* Feature bits, §5.10.3.  Bit numbers and masks have different names. */
#define HVL_VSOCK_F_STREAM_BIT    0u  /* stream sockets (also implied when nothing is negotiated) */
#define HVL_VSOCK_F_SEQPACKET_BIT 1u  /* not offered by hvl */
#define HVL_VSOCK_F_STREAM    ((uint64_t)1 << HVL_VSOCK_F_STREAM_BIT)
#define HVL_VSOCK_F_SEQPACKET ((uint64_t)1 << HVL_VSOCK_F_SEQPACKET_BIT)

/* Queues, §5.10.2. */
#define HVL_VSOCK_RXQ        0u   /* device -> driver packets, device-writable buffers */
#define HVL_VSOCK_TXQ        1u   /* driver -> device packets, device-readable buffers */
#define HVL_VSOCK_EVQ        2u   /* device -> driver events */
#define HVL_VSOCK_NUM_QUEUES 3u

/* Well-known context IDs, §5.10.4: the host is 2; guests get 3 and above. */
#define HVL_VSOCK_CID_HOST   2u
#define HVL_VSOCK_CID_MIN_GUEST 3u

/* Configuration space, §5.10.4. */
struct hvl_vsock_config {
	hvl_le64 guest_cid;     /* only the low 32 bits are used in practice */
};
#define HVL_VSOCK_CFG_GUEST_CID 0u
#define HVL_VSOCK_CFG_SIZE      8u

/* Packet header, §5.10.6 (struct virtio_vsock_hdr, packed, 44 bytes). */
struct hvl_vsock_hdr {
	hvl_le64 src_cid;
	hvl_le64 dst_cid;
	hvl_le32 src_port;
	hvl_le32 dst_port;
	hvl_le32 len;           /* payload bytes after the header */
	hvl_le16 type;
	hvl_le16 op;
	hvl_le32 flags;
	hvl_le32 buf_alloc;     /* sender's receive buffer for this connection */
	hvl_le32 fwd_cnt;       /* bytes the sender has consumed from it (mod 2^32) */
};
#define HVL_VSOCK_HDR_SIZE 44u

/* Socket types, §5.10.6. */
#define HVL_VSOCK_TYPE_STREAM    1u
#define HVL_VSOCK_TYPE_SEQPACKET 2u

/* Operations, §5.10.6. */
#define HVL_VSOCK_OP_INVALID        0u
#define HVL_VSOCK_OP_REQUEST        1u
#define HVL_VSOCK_OP_RESPONSE       2u
#define HVL_VSOCK_OP_RST            3u
#define HVL_VSOCK_OP_SHUTDOWN       4u
#define HVL_VSOCK_OP_RW             5u
#define HVL_VSOCK_OP_CREDIT_UPDATE  6u
#define HVL_VSOCK_OP_CREDIT_REQUEST 7u

/* SHUTDOWN flags, §5.10.6.5: bit numbers and masks. */
#define HVL_VSOCK_SHUTDOWN_RCV_BIT  0u   /* the sender will receive no more data */
#define HVL_VSOCK_SHUTDOWN_SEND_BIT 1u   /* the sender will send no more data */
#define HVL_VSOCK_SHUTDOWN_RCV  (1u << HVL_VSOCK_SHUTDOWN_RCV_BIT)
#define HVL_VSOCK_SHUTDOWN_SEND (1u << HVL_VSOCK_SHUTDOWN_SEND_BIT)

/* Event queue, §5.10.6.7. */
struct hvl_vsock_event {
	hvl_le32 id;
};
#define HVL_VSOCK_EVENT_TRANSPORT_RESET 0u

/*
 * hvl limit: the largest payload one packet may carry.  Both sides refuse
 * (RST) a bigger len; it bounds every copy.
 */
#define HVL_VSOCK_MAX_PKT_PAYLOAD (64u * 1024u)

/*
 * A stream packet's header, every field written: the sender's credit
 * (buf_alloc, fwd_cnt) as given, 0 for packets that belong to no
 * connection (an RST for an unknown one).  Used by the three senders: the
 * remote driver, hvl-pmm's backend and hvl_vsockd.
 */
static inline void hvl_vsock_hdr_init(struct hvl_vsock_hdr *h, uint64_t src_cid, uint64_t dst_cid,
				      uint32_t src_port, uint32_t dst_port, uint16_t op, uint32_t flags,
				      uint32_t len, uint32_t buf_alloc, uint32_t fwd_cnt)
{
	hvl_le64_put(&h->src_cid, src_cid);
	hvl_le64_put(&h->dst_cid, dst_cid);
	hvl_le32_put(&h->src_port, src_port);
	hvl_le32_put(&h->dst_port, dst_port);
	hvl_le32_put(&h->len, len);
	hvl_le16_put(&h->type, (uint16_t)HVL_VSOCK_TYPE_STREAM);
	hvl_le16_put(&h->op, op);
	hvl_le32_put(&h->flags, flags);
	hvl_le32_put(&h->buf_alloc, buf_alloc);
	hvl_le32_put(&h->fwd_cnt, fwd_cnt);
}

_Static_assert(sizeof(struct hvl_vsock_hdr) == HVL_VSOCK_HDR_SIZE, "vsock header size");
_Static_assert(sizeof(struct hvl_vsock_config) == HVL_VSOCK_CFG_SIZE, "vsock config size");
_Static_assert(sizeof(struct hvl_vsock_event) == 4u, "vsock event size");

#endif /* HVL_WIRE_VSOCK_H */

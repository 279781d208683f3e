/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * rpmsg over virtio (virtio device ID 7): feature bits, queue roles, the
 * message header, the name-service message and hvl's config space.  Pure
 * layout, shared by the PMM backend (src/pmm/devices/rpmsg*.c) and the
 * remote driver (src/remote/devices/rpmsg.c).
 *
 * virtio 1.2 §5 only reserves ID 7 for rpmsg; the wire format below is the
 * one the Linux virtio_rpmsg_bus and OpenAMP use (a 16-byte header, then
 * the payload, one message per buffer; the name service on address 53),
 * all little-endian.  Roles are those of virtio_rpmsg_bus: queue 0 carries
 * device -> driver messages in buffers the driver posts device-writable,
 * queue 1 carries driver -> device messages in device-readable buffers.
 * Here the driver is the remote core and the device is the PMM.
 */
#ifndef HVL_WIRE_RPMSG_H
#define HVL_WIRE_RPMSG_H

#include <stdint.h>
#include "hvl/wire/le.h"

/* Feature bits.  Bit numbers and masks have different names. */
#define HVL_RPMSG_F_NS_BIT 0u  /* the device has a name service (address 53) */
#define HVL_RPMSG_F_NS     ((uint64_t)1 << HVL_RPMSG_F_NS_BIT)

/* Queues (virtio_rpmsg_bus convention). */
#define HVL_RPMSG_RXQ        0u  /* device -> driver, driver posts writable buffers */
#define HVL_RPMSG_TXQ        1u  /* driver -> device, readable buffers */
#define HVL_RPMSG_NUM_QUEUES 2u

/* Addresses. */
#define HVL_RPMSG_NS_ADDR        53u          /* name service */
#define HVL_RPMSG_ADDR_ANY       0xFFFFFFFFu  /* "pick one" / "not bound yet" */
#define HVL_RPMSG_RESERVED_ADDRS 1024u        /* dynamic addresses start here */

/* Buffer sizes: one message (header + payload) per buffer. */
#define HVL_RPMSG_DEFAULT_BUF_SIZE 512u
#define HVL_RPMSG_MIN_BUF_SIZE     64u        /* header + a name-service message fits */
#define HVL_RPMSG_MAX_BUF_SIZE     65536u     /* len is a 16-bit field */

#define HVL_RPMSG_NAME_SIZE 32u               /* incl. the NUL */

/* Message header (struct rpmsg_hdr), followed by len payload bytes. */
struct hvl_rpmsg_hdr {
	hvl_le32 src;       /* sender's endpoint address */
	hvl_le32 dst;       /* receiver's endpoint address */
	hvl_le32 reserved;  /* 0 */
	hvl_le16 len;       /* payload bytes */
	hvl_le16 flags;     /* 0 */
};
#define HVL_RPMSG_HDR_SIZE 16u

/* Name-service message (struct rpmsg_ns_msg), the payload of a message to address 53. */
struct hvl_rpmsg_ns_msg {
	char name[HVL_RPMSG_NAME_SIZE];  /* NUL-terminated channel name */
	hvl_le32 addr;                   /* the announcing endpoint's address */
	hvl_le32 flags;                  /* HVL_RPMSG_NS_CREATE / _DESTROY */
};
#define HVL_RPMSG_NS_MSG_SIZE 40u
#define HVL_RPMSG_NS_CREATE   0u
#define HVL_RPMSG_NS_DESTROY  1u

/*
 * Config space (hvl's own: virtio defines none for rpmsg).  Read-only to
 * the driver.  buf_size: every rx buffer the driver posts must hold at
 * least this many bytes, and no message (header + payload) may be longer.
 * max_channels: how many channels the device keeps at once.
 */
struct hvl_rpmsg_config {
	hvl_le32 buf_size;
	hvl_le32 max_channels;
};
#define HVL_RPMSG_CFG_BUF_SIZE     0u
#define HVL_RPMSG_CFG_MAX_CHANNELS 4u
#define HVL_RPMSG_CFG_SIZE         8u

_Static_assert(sizeof(struct hvl_rpmsg_hdr) == HVL_RPMSG_HDR_SIZE, "rpmsg header size");
_Static_assert(sizeof(struct hvl_rpmsg_ns_msg) == HVL_RPMSG_NS_MSG_SIZE, "rpmsg ns size");
_Static_assert(sizeof(struct hvl_rpmsg_config) == HVL_RPMSG_CFG_SIZE, "rpmsg config size");

#endif /* HVL_WIRE_RPMSG_H */

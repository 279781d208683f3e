/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio network device wire format (virtio 1.2 §5.1): feature bits, queue
 * indices, the configuration layout and the per-packet header.  Pure
 * layout, shared by the PMM backend (src/pmm/devices/net*.c) and the remote
 * driver (src/remote/devices/net.c).
 *
 * hvl offers one queue pair, no control queue and no offloads: every
 * header field but num_buffers is zero both ways (§5.1.6).
 */
#ifndef HVL_WIRE_NET_H
#define HVL_WIRE_NET_H

#include <stdint.h>
#include "hvl/wire/le.h"

/* Feature bits, §5.1.3.  Bit numbers and masks have different names. */
#define HVL_NET_F_CSUM_BIT       0u   /* device handles partial checksums (not offered) */
#define HVL_NET_F_GUEST_CSUM_BIT 1u   /* driver handles partial checksums (not offered) */
#define HVL_NET_F_MTU_BIT        3u   /* config mtu is valid */
#define HVL_NET_F_MAC_BIT        5u   /* config mac is valid */
#define HVL_NET_F_MRG_RXBUF_BIT  15u  /* merge receive buffers (not offered) */
#define HVL_NET_F_STATUS_BIT     16u  /* config status is valid */
#define HVL_NET_F_CTRL_VQ_BIT    17u  /* control queue (not offered) */
#define HVL_NET_F_MTU        ((uint64_t)1 << HVL_NET_F_MTU_BIT)
#define HVL_NET_F_MAC        ((uint64_t)1 << HVL_NET_F_MAC_BIT)
#define HVL_NET_F_MRG_RXBUF  ((uint64_t)1 << HVL_NET_F_MRG_RXBUF_BIT)
#define HVL_NET_F_STATUS     ((uint64_t)1 << HVL_NET_F_STATUS_BIT)

/* Queues of the single pair, §5.1.2: receiveq1 then transmitq1. */
#define HVL_NET_RXQ        0u
#define HVL_NET_TXQ        1u
#define HVL_NET_NUM_QUEUES 2u

/* Config status bits, §5.1.4. */
#define HVL_NET_S_LINK_UP  1u
#define HVL_NET_S_ANNOUNCE 2u

/*
 * Device configuration layout, §5.1.4 (struct virtio_net_config), up to
 * and including mtu; hvl publishes nothing beyond (no SPEED_DUPLEX, RSS).
 */
struct hvl_net_config {
	uint8_t mac[6];                 /* with VIRTIO_NET_F_MAC */
	hvl_le16 status;                /* with VIRTIO_NET_F_STATUS */
	hvl_le16 max_virtqueue_pairs;   /* with VIRTIO_NET_F_MQ; 1 here */
	hvl_le16 mtu;                   /* with VIRTIO_NET_F_MTU */
};

#define HVL_NET_CFG_MAC      0u
#define HVL_NET_CFG_STATUS   6u
#define HVL_NET_CFG_MAX_VQP  8u
#define HVL_NET_CFG_MTU      10u
#define HVL_NET_CFG_SIZE     12u

_Static_assert(sizeof(struct hvl_net_config) == HVL_NET_CFG_SIZE, "net config size");

/*
 * The header in front of every packet, §5.1.6 (struct virtio_net_hdr).
 * With VIRTIO_F_VERSION_1 num_buffers is always present, so the header is
 * 12 bytes both ways; without MRG_RXBUF the device sets num_buffers to 1.
 */
struct hvl_net_hdr {
	uint8_t flags;                  /* HVL_NET_HDR_F_*; 0 without offloads */
	uint8_t gso_type;               /* HVL_NET_HDR_GSO_*; NONE without offloads */
	hvl_le16 hdr_len;
	hvl_le16 gso_size;
	hvl_le16 csum_start;
	hvl_le16 csum_offset;
	hvl_le16 num_buffers;
};

#define HVL_NET_HDR_SIZE 12u
_Static_assert(sizeof(struct hvl_net_hdr) == HVL_NET_HDR_SIZE, "net header size");

#define HVL_NET_HDR_F_NEEDS_CSUM 1u
#define HVL_NET_HDR_F_DATA_VALID 2u
#define HVL_NET_HDR_GSO_NONE     0u

/* Ethernet framing bounds hvl enforces: header, an optional 802.1Q tag. */
#define HVL_NET_ETH_HLEN   14u
#define HVL_NET_VLAN_HLEN  4u
#define HVL_NET_MTU_MIN    68u          /* IPv4 minimum, RFC 791 */
#define HVL_NET_MTU_MAX    65517u       /* a frame then fits a 16-bit length */
#define HVL_NET_MTU_DEFAULT 1500u
/* Largest frame (without the virtio header) for an MTU: MTU + 14 + 4. */
#define HVL_NET_MAX_FRAME(mtu) ((uint32_t)(mtu) + HVL_NET_ETH_HLEN + HVL_NET_VLAN_HLEN)

#endif /* HVL_WIRE_NET_H */

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio block wire format (virtio 1.2 §5.2): feature bits, the device
 * configuration layout, the request header, request types and status
 * values.  Pure layout, shared by the PMM backend (src/pmm/devices/blk.c)
 * and the remote driver (src/remote/devices/blk.c).
 *
 * A request is one descriptor chain (§5.2.6): the 16-byte header
 * (device-readable), then the data (readable for writes, writable for
 * reads), then one device-writable status byte, the last byte of the chain.
 * Sectors are always 512 bytes, whatever blk_size says (§5.2.6).
 */
#ifndef HVL_WIRE_BLK_H
#define HVL_WIRE_BLK_H

#include <stdint.h>
#include "hvl/wire/le.h"

/* Feature bits, §5.2.3.  Bit numbers and masks have different names. */
#define HVL_BLK_F_SIZE_MAX_BIT     1u   /* size_max: largest single segment */
#define HVL_BLK_F_SEG_MAX_BIT      2u   /* seg_max: most data segments per request */
#define HVL_BLK_F_GEOMETRY_BIT     4u
#define HVL_BLK_F_RO_BIT           5u   /* read-only disk */
#define HVL_BLK_F_BLK_SIZE_BIT     6u   /* blk_size valid */
#define HVL_BLK_F_FLUSH_BIT        9u   /* VIRTIO_BLK_T_FLUSH supported */
#define HVL_BLK_F_TOPOLOGY_BIT     10u
#define HVL_BLK_F_CONFIG_WCE_BIT   11u
#define HVL_BLK_F_MQ_BIT           12u
#define HVL_BLK_F_DISCARD_BIT      13u
#define HVL_BLK_F_WRITE_ZEROES_BIT 14u
#define HVL_BLK_F_SIZE_MAX     ((uint64_t)1 << HVL_BLK_F_SIZE_MAX_BIT)
#define HVL_BLK_F_SEG_MAX      ((uint64_t)1 << HVL_BLK_F_SEG_MAX_BIT)
#define HVL_BLK_F_GEOMETRY     ((uint64_t)1 << HVL_BLK_F_GEOMETRY_BIT)
#define HVL_BLK_F_RO           ((uint64_t)1 << HVL_BLK_F_RO_BIT)
#define HVL_BLK_F_BLK_SIZE     ((uint64_t)1 << HVL_BLK_F_BLK_SIZE_BIT)
#define HVL_BLK_F_FLUSH        ((uint64_t)1 << HVL_BLK_F_FLUSH_BIT)
#define HVL_BLK_F_TOPOLOGY     ((uint64_t)1 << HVL_BLK_F_TOPOLOGY_BIT)
#define HVL_BLK_F_CONFIG_WCE   ((uint64_t)1 << HVL_BLK_F_CONFIG_WCE_BIT)
#define HVL_BLK_F_MQ           ((uint64_t)1 << HVL_BLK_F_MQ_BIT)
#define HVL_BLK_F_DISCARD      ((uint64_t)1 << HVL_BLK_F_DISCARD_BIT)
#define HVL_BLK_F_WRITE_ZEROES ((uint64_t)1 << HVL_BLK_F_WRITE_ZEROES_BIT)

/* One request queue (no VIRTIO_BLK_F_MQ), §5.2.2. */
#define HVL_BLK_REQUESTQ   0u
#define HVL_BLK_NUM_QUEUES 1u

/* The unit of "sector" in requests and of capacity, §5.2.4 / §5.2.6. */
#define HVL_BLK_SECTOR_SIZE  512u
#define HVL_BLK_SECTOR_SHIFT 9u

/* Device configuration layout, §5.2.4 (struct virtio_blk_config). */
struct hvl_blk_config {
	hvl_le64 capacity;                  /* 0: in 512-byte sectors */
	hvl_le32 size_max;                  /* 8: with SIZE_MAX */
	hvl_le32 seg_max;                   /* 12: with SEG_MAX */
	hvl_le16 cylinders;                 /* 16: geometry, with GEOMETRY */
	uint8_t heads;                      /* 18 */
	uint8_t sectors;                    /* 19 */
	hvl_le32 blk_size;                  /* 20: with BLK_SIZE */
	uint8_t physical_block_exp;         /* 24: topology, with TOPOLOGY */
	uint8_t alignment_offset;           /* 25 */
	hvl_le16 min_io_size;               /* 26 */
	hvl_le32 opt_io_size;               /* 28 */
	uint8_t writeback;                  /* 32: with CONFIG_WCE */
	uint8_t unused0;                    /* 33 */
	hvl_le16 num_queues;                /* 34: with MQ */
	hvl_le32 max_discard_sectors;       /* 36: with DISCARD */
	hvl_le32 max_discard_seg;           /* 40 */
	hvl_le32 discard_sector_alignment;  /* 44 */
	hvl_le32 max_write_zeroes_sectors;  /* 48: with WRITE_ZEROES */
	hvl_le32 max_write_zeroes_seg;      /* 52 */
	uint8_t write_zeroes_may_unmap;     /* 56 */
	uint8_t unused1[3];                 /* 57 */
	hvl_le32 max_secure_erase_sectors;  /* 60: with SECURE_ERASE (not offered) */
	hvl_le32 max_secure_erase_seg;      /* 64 */
	hvl_le32 secure_erase_sector_alignment; /* 68 */
};

/* Byte offsets inside the config space. */
#define HVL_BLK_CFG_CAPACITY   0u
#define HVL_BLK_CFG_SIZE_MAX   8u
#define HVL_BLK_CFG_SEG_MAX    12u
#define HVL_BLK_CFG_BLK_SIZE   20u
#define HVL_BLK_CFG_MAX_DISCARD_SECTORS 36u
#define HVL_BLK_CFG_MAX_DISCARD_SEG     40u
#define HVL_BLK_CFG_MAX_WZ_SECTORS      48u
#define HVL_BLK_CFG_MAX_WZ_SEG          52u
#define HVL_BLK_CFG_SIZE       72u

_Static_assert(sizeof(struct hvl_blk_config) == HVL_BLK_CFG_SIZE, "blk config size");

/* Request header, §5.2.6 (struct virtio_blk_req, first part). */
struct hvl_blk_req_hdr {
	hvl_le32 type;      /* HVL_BLK_T_* */
	hvl_le32 reserved;
	hvl_le64 sector;    /* 512-byte units; 0 for FLUSH and GET_ID */
};
#define HVL_BLK_REQ_HDR_SIZE 16u
_Static_assert(sizeof(struct hvl_blk_req_hdr) == HVL_BLK_REQ_HDR_SIZE, "blk header size");

/* Request types, §5.2.6. */
#define HVL_BLK_T_IN           0u   /* read */
#define HVL_BLK_T_OUT          1u   /* write */
#define HVL_BLK_T_FLUSH        4u
#define HVL_BLK_T_GET_ID       8u   /* 20-byte device ID string */
#define HVL_BLK_T_GET_LIFETIME 10u
#define HVL_BLK_T_DISCARD      11u
#define HVL_BLK_T_WRITE_ZEROES 13u
#define HVL_BLK_T_SECURE_ERASE 14u

/* Status byte values, §5.2.6. */
#define HVL_BLK_S_OK     0u
#define HVL_BLK_S_IOERR  1u
#define HVL_BLK_S_UNSUPP 2u

/* GET_ID answers this many bytes (not NUL-terminated when all are used). */
#define HVL_BLK_ID_BYTES 20u

/* One range of DISCARD / WRITE_ZEROES data, §5.2.6 (virtio_blk_discard_write_zeroes). */
struct hvl_blk_dwz_seg {
	hvl_le64 sector;
	hvl_le32 num_sectors;
	hvl_le32 flags;     /* HVL_BLK_DWZ_F_UNMAP (write zeroes only) */
};
#define HVL_BLK_DWZ_SEG_SIZE 16u
#define HVL_BLK_DWZ_F_UNMAP  1u
_Static_assert(sizeof(struct hvl_blk_dwz_seg) == HVL_BLK_DWZ_SEG_SIZE, "blk dwz segment size");

#endif /* HVL_WIRE_BLK_H */

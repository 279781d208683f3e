/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Shared-region layout: region header, device table, per-device page
 * (virtio-MMIO v2 register block, config space, hvl extension, driver area).
 * docs/PROTOCOL.md is the prose version of this file; keep them in step.
 *
 * Ownership rule: every 64-byte line below is written by exactly one side.
 * "PMM:" fields are written only by the PMM (device side), "REMOTE:" fields
 * only by the remote (driver side).  No field is read-modify-written by both.
 */
#ifndef HVL_WIRE_REGION_H
#define HVL_WIRE_REGION_H

#include <stdint.h>
#include "hvl/wire/le.h"

#define HVL_PAGE_SIZE 4096u
#define HVL_CACHELINE 64u

/* ---------------------------------------------------------------- region */

#define HVL_REGION_MAGIC   0x524c5648u /* bytes "HVLR" in memory */
#define HVL_REGION_VERSION 1u
#define HVL_REGION_HDR_SIZE HVL_PAGE_SIZE
#define HVL_DEVTAB_OFFSET  0x200u
#define HVL_DEVTAB_ENTRY_SIZE 64u
#define HVL_MAX_DEVICES    ((HVL_REGION_HDR_SIZE - HVL_DEVTAB_OFFSET) / HVL_DEVTAB_ENTRY_SIZE)

/* pmm_state values. */
#define HVL_PMM_STATE_DOWN  0u /* laying out, stopped, or never started */
#define HVL_PMM_STATE_READY 1u /* header complete; devices served */

/* doorbell_kind values: how notifications travel in this region. */
#define HVL_DOORBELL_POLL    0u /* nobody sleeps; peers spin on the seq words */
#define HVL_DOORBELL_FUTEX   1u /* Linux futex on the seq words (simulation) */
#define HVL_DOORBELL_EVENTFD 2u /* eventfds passed over a UNIX socket */
#define HVL_DOORBELL_MAILBOX 3u /* hardware mailbox / IPI, platform specific */

/* A one-way doorbell: the ringer owns seq, the sleeper owns sleeping. */
struct hvl_doorbell_wire {
	hvl_le32 seq;        /* ringer: incremented once per ring */
	uint8_t pad0[HVL_CACHELINE - 4];
	hvl_le32 sleeping;   /* sleeper: 1 while it may block waiting for seq */
	uint8_t pad1[HVL_CACHELINE - 4];
};

struct hvl_region_hdr {
	/* 0x000 PMM: identity, written before pmm_state becomes READY. */
	hvl_le32 magic;          /* HVL_REGION_MAGIC */
	hvl_le32 version;        /* HVL_REGION_VERSION */
	hvl_le64 region_size;    /* bytes, from offset 0 */
	hvl_le64 remote_base;    /* bus address at which the remote sees offset 0 */
	hvl_le32 device_count;   /* valid entries in the device table */
	hvl_le32 devtab_offset;  /* HVL_DEVTAB_OFFSET */
	hvl_le32 doorbell_kind;  /* HVL_DOORBELL_* */
	hvl_le32 heartbeat_ms;   /* period of the PMM heartbeat */
	hvl_le32 region_index;   /* which region of the PMM's configuration */
	hvl_le32 reserved0;
	char name[16];           /* region name, NUL padded */
	uint8_t pad0[0x80 - 0x40];

	/* 0x080 PMM: liveness. */
	hvl_le32 pmm_state;      /* HVL_PMM_STATE_*; READY is stored with release */
	hvl_le32 epoch;          /* incremented on every PMM start on this region */
	hvl_le32 heartbeat;      /* incremented every heartbeat_ms while serving */
	hvl_le32 pmm_pid;        /* informational */
	uint8_t pad1[0xc0 - 0x90];

	/* 0x0c0 REMOTE: liveness. */
	hvl_le32 remote_state;   /* 0 down, 1 up */
	hvl_le32 remote_epoch;   /* incremented by the remote on each (re)start */
	hvl_le32 remote_heartbeat;
	hvl_le32 remote_seen_epoch; /* the PMM epoch the remote last attached to */
	uint8_t pad2[0x100 - 0xd0];

	/* 0x100 to PMM (remote rings), 0x180 to remote (PMM rings). */
	struct hvl_doorbell_wire to_pmm;
	struct hvl_doorbell_wire to_remote;
	/* 0x200 device table follows (HVL_DEVTAB_OFFSET). */
};

/* One device table entry, PMM-owned, 64 bytes. */
struct hvl_devtab_entry {
	hvl_le32 device_id;      /* virtio device ID */
	hvl_le32 flags;          /* reserved, 0 */
	hvl_le64 regs_offset;    /* region offset of the device page */
	hvl_le64 window_offset;  /* region offset of the device's window */
	hvl_le64 window_size;    /* bytes */
	char name[32];           /* configuration name, NUL padded */
};

/* ---------------------------------------------------- virtio-MMIO v2 block */

/*
 * Register offsets, virtio 1.2 §4.2.2.  The block sits at offset 0 of each
 * device page and is PMM-owned: the remote reads registers with loads and
 * never stores into this block; register writes travel as transactions
 * (struct hvl_drv_area) which the PMM applies and reflects here.
 */
#define HVL_MMIO_MAGIC_VALUE        0x000u
#define HVL_MMIO_VERSION            0x004u
#define HVL_MMIO_DEVICE_ID          0x008u
#define HVL_MMIO_VENDOR_ID          0x00cu
#define HVL_MMIO_DEVICE_FEATURES    0x010u
#define HVL_MMIO_DEVICE_FEATURES_SEL 0x014u
#define HVL_MMIO_DRIVER_FEATURES    0x020u
#define HVL_MMIO_DRIVER_FEATURES_SEL 0x024u
#define HVL_MMIO_QUEUE_SEL          0x030u
#define HVL_MMIO_QUEUE_NUM_MAX      0x034u
#define HVL_MMIO_QUEUE_NUM          0x038u
#define HVL_MMIO_QUEUE_READY        0x044u
#define HVL_MMIO_QUEUE_NOTIFY       0x050u
#define HVL_MMIO_INTERRUPT_STATUS   0x060u
#define HVL_MMIO_INTERRUPT_ACK      0x064u
#define HVL_MMIO_STATUS             0x070u
#define HVL_MMIO_QUEUE_DESC_LOW     0x080u
#define HVL_MMIO_QUEUE_DESC_HIGH    0x084u
#define HVL_MMIO_QUEUE_DRIVER_LOW   0x090u
#define HVL_MMIO_QUEUE_DRIVER_HIGH  0x094u
#define HVL_MMIO_QUEUE_DEVICE_LOW   0x0a0u
#define HVL_MMIO_QUEUE_DEVICE_HIGH  0x0a4u
#define HVL_MMIO_SHM_SEL            0x0acu
#define HVL_MMIO_SHM_LEN_LOW        0x0b0u
#define HVL_MMIO_SHM_LEN_HIGH       0x0b4u
#define HVL_MMIO_SHM_BASE_LOW       0x0b8u
#define HVL_MMIO_SHM_BASE_HIGH      0x0bcu
#define HVL_MMIO_QUEUE_RESET        0x0c0u
#define HVL_MMIO_CONFIG_GENERATION  0x0fcu
#define HVL_MMIO_CONFIG             0x100u

#define HVL_MMIO_MAGIC    0x74726976u /* "virt" */
#define HVL_MMIO_VERSION2 2u
#define HVL_VENDOR_ID     0x4c5648u   /* "HVL" */

/* Interrupt status bits, §4.2.2. */
#define HVL_INT_VRING  1u
#define HVL_INT_CONFIG 2u

/* Device status bits, §2.1. */
#define HVL_STATUS_ACKNOWLEDGE        1u
#define HVL_STATUS_DRIVER             2u
#define HVL_STATUS_DRIVER_OK          4u
#define HVL_STATUS_FEATURES_OK        8u
#define HVL_STATUS_DEVICE_NEEDS_RESET 64u
#define HVL_STATUS_FAILED             128u

/* Reserved feature bits, §6. Bit numbers and masks have different names. */
#define HVL_F_INDIRECT_DESC_BIT 28u
#define HVL_F_EVENT_IDX_BIT     29u
#define HVL_F_VERSION_1_BIT     32u
#define HVL_F_ACCESS_PLATFORM_BIT 33u
#define HVL_F_INDIRECT_DESC ((uint64_t)1 << HVL_F_INDIRECT_DESC_BIT)
#define HVL_F_EVENT_IDX     ((uint64_t)1 << HVL_F_EVENT_IDX_BIT)
#define HVL_F_VERSION_1     ((uint64_t)1 << HVL_F_VERSION_1_BIT)
#define HVL_F_ACCESS_PLATFORM ((uint64_t)1 << HVL_F_ACCESS_PLATFORM_BIT)

/* SHMLen/SHMBase read as all ones for a non-existent region, §4.2.2. */
#define HVL_SHM_NONE UINT64_MAX
/* Shared memory region 0 of every device is its data window. */
#define HVL_SHM_ID_WINDOW 0u

/* ------------------------------------------------------------ device page */

#define HVL_DEVPAGE_SIZE     HVL_PAGE_SIZE
#define HVL_CONFIG_MAX       0x300u  /* config space: 0x100 .. 0x3ff */
#define HVL_EXT_OFFSET       0x400u
#define HVL_DRV_AREA_OFFSET  0x800u
#define HVL_MAX_QUEUES       16u

#define HVL_EXT_MAGIC 0x54584548u /* "HEXT" */

/* Static queue description published by the PMM, one per queue. */
struct hvl_ext_queue {
	hvl_le16 num_max;      /* QueueNumMax */
	hvl_le16 num;          /* size the static layout reserved (<= num_max) */
	hvl_le32 reserved;
	hvl_le64 desc;         /* pre-assigned ring location, remote's view */
	hvl_le64 driver;
	hvl_le64 device;
};

/* hvl extension, PMM-owned, at HVL_EXT_OFFSET of the device page. */
struct hvl_ext {
	/* 0x400: static description. */
	hvl_le32 magic;           /* HVL_EXT_MAGIC */
	hvl_le32 num_queues;
	hvl_le64 device_features; /* all 64 bits at once (static start) */
	hvl_le64 window_base;     /* window, remote's view (== SHM 0 base) */
	hvl_le64 window_size;
	hvl_le32 config_size;     /* valid bytes of config space */
	hvl_le32 data_offset;     /* window offset of the free data area (after rings) */
	uint8_t pad0[0x40 - 0x28];
	/* 0x440: transaction and interrupt state. */
	hvl_le32 txn_ack;         /* last transaction sequence applied */
	hvl_le32 txn_result;      /* 0 applied, else a positive errno */
	hvl_le32 irq_used;        /* incremented per used-buffer interrupt */
	hvl_le32 irq_config;      /* incremented per configuration interrupt */
	hvl_le32 broken_reason;   /* HVL_BROKEN_* of the last violation, 0 none */
	hvl_le32 reset_count;     /* incremented on each completed reset */
	uint8_t pad1[0x80 - 0x58];
	/* 0x480: per-queue static description. */
	struct hvl_ext_queue queue[HVL_MAX_QUEUES];
};

/* broken_reason values (diagnostic, also logged by the PMM). */
#define HVL_BROKEN_NONE        0u
#define HVL_BROKEN_RING        1u  /* malformed descriptor chain or index */
#define HVL_BROKEN_ADDRESS     2u  /* buffer outside the device window */
#define HVL_BROKEN_QUEUE_SETUP 3u  /* bad size or ring geometry at QueueReady */
#define HVL_BROKEN_REGISTER    4u  /* bad register write (selector, status) */
#define HVL_BROKEN_REQUEST     5u  /* device-specific request malformed */

/* Driver area, REMOTE-owned, at HVL_DRV_AREA_OFFSET of the device page. */
struct hvl_drv_area {
	/* 0x800: transaction mailbox (register writes). */
	hvl_le32 txn_seq;         /* stored with release after off/val */
	hvl_le32 txn_off;         /* register offset, HVL_MMIO_* */
	hvl_le32 txn_val;
	hvl_le32 txn_size;        /* 1, 2 or 4 (config space writes), 4 otherwise */
	uint8_t pad0[0x40 - 0x10];
	/* 0x840: static-start feature word and interrupt acknowledgements. */
	hvl_le64 driver_features; /* used at FEATURES_OK unless set via registers */
	hvl_le32 irq_used_ack;    /* last ext.irq_used value the driver handled */
	hvl_le32 irq_config_ack;  /* last ext.irq_config value the driver handled */
	uint8_t pad1[0x80 - 0x50];
	/* 0x880: per-queue notification counters (QueueNotify). */
	hvl_le32 notify[HVL_MAX_QUEUES];
};

/* The layout is the protocol: fail the build if a field moves. */
_Static_assert(sizeof(struct hvl_region_hdr) == HVL_DEVTAB_OFFSET, "region header size");
_Static_assert(sizeof(struct hvl_devtab_entry) == HVL_DEVTAB_ENTRY_SIZE, "devtab entry size");
_Static_assert(sizeof(struct hvl_ext_queue) == 32, "ext queue size");
_Static_assert(sizeof(struct hvl_ext) == 0x80 + 32 * HVL_MAX_QUEUES, "ext size");
_Static_assert(HVL_EXT_OFFSET + sizeof(struct hvl_ext) <= HVL_DRV_AREA_OFFSET, "ext overlaps driver area");
_Static_assert(HVL_DRV_AREA_OFFSET + sizeof(struct hvl_drv_area) <= HVL_DEVPAGE_SIZE, "driver area size");

#endif /* HVL_WIRE_REGION_H */

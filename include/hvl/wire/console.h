/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio console wire format (virtio 1.2 §5.3): feature bits, queue
 * indices and the device configuration layout.  Pure layout, shared by the
 * PMM backend (src/pmm/devices/console.c) and the remote driver
 * (src/remote/devices/console.c).
 *
 * hvl serves one port per console device (no VIRTIO_CONSOLE_F_MULTIPORT),
 * so only queues 0 and 1 exist (§5.3.2).
 */
#ifndef HVL_WIRE_CONSOLE_H
#define HVL_WIRE_CONSOLE_H

#include <stdint.h>
#include "hvl/wire/le.h"

/* Feature bits, §5.3.3.  Bit numbers and masks have different names. */
#define HVL_CONSOLE_F_SIZE_BIT        0u  /* cols/rows are valid */
#define HVL_CONSOLE_F_MULTIPORT_BIT   1u  /* control queues, max_nr_ports valid */
#define HVL_CONSOLE_F_EMERG_WRITE_BIT 2u  /* emerg_wr is valid */
#define HVL_CONSOLE_F_SIZE        ((uint64_t)1 << HVL_CONSOLE_F_SIZE_BIT)
#define HVL_CONSOLE_F_MULTIPORT   ((uint64_t)1 << HVL_CONSOLE_F_MULTIPORT_BIT)
#define HVL_CONSOLE_F_EMERG_WRITE ((uint64_t)1 << HVL_CONSOLE_F_EMERG_WRITE_BIT)

/*
 * Queues of port 0, §5.3.2: the receiveq carries device -> driver data in
 * buffers the driver posts device-writable; the transmitq carries driver ->
 * device data in device-readable buffers.
 */
#define HVL_CONSOLE_RXQ        0u
#define HVL_CONSOLE_TXQ        1u
#define HVL_CONSOLE_NUM_QUEUES 2u

/* Device configuration layout, §5.3.4 (struct virtio_console_config). */
struct hvl_console_config {
	hvl_le16 cols;          /* with VIRTIO_CONSOLE_F_SIZE */
	hvl_le16 rows;
	hvl_le32 max_nr_ports;  /* with VIRTIO_CONSOLE_F_MULTIPORT */
	hvl_le32 emerg_wr;      /* with VIRTIO_CONSOLE_F_EMERG_WRITE: write-only */
};

/* Byte offsets inside the config space (for config reads and writes). */
#define HVL_CONSOLE_CFG_COLS         0u
#define HVL_CONSOLE_CFG_ROWS         2u
#define HVL_CONSOLE_CFG_MAX_NR_PORTS 4u
#define HVL_CONSOLE_CFG_EMERG_WR     8u
#define HVL_CONSOLE_CFG_SIZE         12u

/* What hvl publishes: an 80x25 terminal with a single port. */
#define HVL_CONSOLE_DEFAULT_COLS 80u
#define HVL_CONSOLE_DEFAULT_ROWS 25u

_Static_assert(sizeof(struct hvl_console_config) == HVL_CONSOLE_CFG_SIZE, "console config size");

#endif /* HVL_WIRE_CONSOLE_H */

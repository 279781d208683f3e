/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio console, driver side (virtio 1.2 §5.3): a byte stream to and from
 * the PMM's console backend (stdio, pty, UNIX socket or log file).
 *
 * One port (no VIRTIO_CONSOLE_F_MULTIPORT).  Receive buffers are posted on
 * queue 0 and transmit buffers on queue 1, all carved from the device's
 * data area in shared memory; nothing is allocated.  The ring bookkeeping
 * lives in caller-provided storage of hvl_console_storage_size() bytes, or
 * use HVL_CONSOLE_DEFINE() for static storage:
 *
 *   HVL_CONSOLE_DEFINE(con, 256);
 *   hvl_console_open(&con, &remote, 0, &con_storage, sizeof(con_storage));
 *   hvl_console_printf(&con, "hello %s\n", "world");
 *
 * Not thread-safe: callers serialise access to one struct hvl_console.
 * Every call that may wait takes a timeout in milliseconds; 0 never waits.
 * Once the PMM reports DEVICE_NEEDS_RESET or a ring is broken, calls return
 * -EIO until the console is closed and opened again.
 */
#ifndef HVL_CONSOLE_H
#define HVL_CONSOLE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "hvl/fmt.h"
#include "hvl/remote.h"
#include "hvl/vq_driver.h"
#include "hvl/wire/console.h"

/* Buffer geometry (upper bounds; open() uses fewer if the queue or data area is small). */
#define HVL_CONSOLE_RX_BUFS     16u
#define HVL_CONSOLE_RX_BUF_SIZE 256u
#define HVL_CONSOLE_TX_BUFS     16u
#define HVL_CONSOLE_TX_BUF_SIZE 512u

/* printf output goes out in chunks of this many bytes (a stack buffer). */
#define HVL_CONSOLE_PRINTF_CHUNK 256u
/* Default timeout of printf/putc, which take none; see hvl_console_set_timeout(). */
#define HVL_CONSOLE_DEFAULT_TIMEOUT_MS 1000u

/* Alignment slack between the two queues' bookkeeping in the storage. */
#define HVL_CONSOLE_STORAGE_ALIGN 8u

/*
 * Bytes of storage hvl_console_open() needs when both queues have at most
 * @qsize entries: the bookkeeping of two driver rings plus alignment.
 */
#define HVL_CONSOLE_STORAGE(qsize) \
	(2u * (HVL_VQ_DRV_STORAGE(qsize) + HVL_CONSOLE_STORAGE_ALIGN))

/* One data buffer in the device's data area. */
struct hvl_console_buf {
	uint8_t *local;     /* our mapping */
	uint64_t bus;       /* the address we put in descriptors */
};

struct hvl_console {
	struct hvl_vdev vdev;
	struct hvl_vq_drv rxq;
	struct hvl_vq_drv txq;
	struct hvl_console_buf rx[HVL_CONSOLE_RX_BUFS];
	struct hvl_console_buf tx[HVL_CONSOLE_TX_BUFS];
	uint16_t nrx, ntx;            /* buffers in use (<= the maxima above) */
	uint16_t rx_size, tx_size;    /* bytes per buffer */
	/* Receive: the used buffer being consumed, and how far. */
	struct hvl_console_buf *rx_cur;
	uint32_t rx_cur_len;
	uint32_t rx_cur_off;
	/* Transmit: free buffer indices (a stack). */
	uint8_t tx_free[HVL_CONSOLE_TX_BUFS];
	uint16_t tx_nfree;
	uint32_t timeout_ms;          /* printf/putc */
	uint8_t is_open;
	/* Statistics. */
	uint64_t bytes_in, bytes_out;
};

/*
 * Declare a static console @name and its ring storage @name##_storage for
 * queues of up to @qsize entries.
 */
#define HVL_CONSOLE_DEFINE(name, qsize)                                   \
	static struct hvl_console name;                                   \
	static union {                                                    \
		void *align_ptr;                                          \
		uint64_t align_u64;                                       \
		uint8_t bytes[HVL_CONSOLE_STORAGE(qsize)];                \
	} name##_storage

/* Bytes of storage for queues of up to @qsize entries (as HVL_CONSOLE_STORAGE). */
size_t hvl_console_storage_size(uint16_t qsize);

/*
 * Open the @nth console device (0-based) of @r: static start with
 * EVENT_IDX and INDIRECT_DESC wanted (§3.1.1), both queues at their
 * pre-assigned locations, DRIVER_OK, then carve the buffers from the data
 * area and post every receive buffer (§5.3.6.1: the driver fills the
 * receiveq before it expects input).  @storage (pointer-aligned, @len
 * bytes) holds the ring bookkeeping and must outlive the console.
 * Returns 0, -ENODEV (no such console), -ENOSPC (storage or data area too
 * small), -EPROTO (malformed device header), -ENOTSUP (features refused),
 * -ETIMEDOUT or -EIO.
 */
int hvl_console_open(struct hvl_console *c, struct hvl_remote *r, uint32_t nth,
		     void *storage, size_t len);

/*
 * Reset the device (status 0, §2.1) and forget every buffer.  Data not yet
 * sent by the PMM may be lost.  Returns 0 or the reset's errno; the console
 * is closed either way.
 */
int hvl_console_close(struct hvl_console *c);

/*
 * Write @len bytes: copy them into free transmit buffers, post and notify.
 * When every buffer is in flight, reclaim used ones, waiting up to
 * @timeout_ms in total.  Returns @len, or the number of bytes accepted
 * before the timeout; if none were: -ETIMEDOUT (-EAGAIN when @timeout_ms
 * is 0).  -EIO if the device or a ring is broken, -EBADF if not open.
 * Accepted bytes are delivered in order; hvl_console_flush() waits for them.
 */
long hvl_console_write(struct hvl_console *c, const void *buf, size_t len, uint32_t timeout_ms);

/*
 * Wait up to @timeout_ms until the PMM has consumed every transmit buffer.
 * Returns 0, -ETIMEDOUT (-EAGAIN when @timeout_ms is 0), -EIO or -EBADF.
 */
int hvl_console_flush(struct hvl_console *c, uint32_t timeout_ms);

/*
 * Read up to @len bytes of input, waiting up to @timeout_ms for the first
 * byte.  Returns the number of bytes read (> 0), -ETIMEDOUT, -EAGAIN when
 * @timeout_ms is 0 and nothing is pending, -EIO or -EBADF.  A receive buffer
 * may be consumed over several reads; it is re-posted once empty.
 */
long hvl_console_read(struct hvl_console *c, void *buf, size_t len, uint32_t timeout_ms);

/* Timeout for hvl_console_printf/vprintf/putc (default HVL_CONSOLE_DEFAULT_TIMEOUT_MS). */
void hvl_console_set_timeout(struct hvl_console *c, uint32_t timeout_ms);

/*
 * Formatted output (see hvl/fmt.h for the conversions), streamed in chunks
 * of HVL_CONSOLE_PRINTF_CHUNK bytes, so long output is not truncated.
 * Returns the number of bytes written, or a negative errno if the first
 * chunk could not be written at all.  Output stops at the first error.
 */
int hvl_console_printf(struct hvl_console *c, const char *fmt, ...) HVL_FMT_PRINTF(2, 3);
int hvl_console_vprintf(struct hvl_console *c, const char *fmt, va_list ap) HVL_FMT_PRINTF(2, 0);

/* Write one character.  Returns it (as unsigned char) or a negative errno. */
int hvl_console_putc(struct hvl_console *c, char ch);

/* True (1) if the device reports DEVICE_NEEDS_RESET or a ring is broken. */
int hvl_console_broken(const struct hvl_console *c);

#endif /* HVL_CONSOLE_H */

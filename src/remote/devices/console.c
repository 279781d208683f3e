/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio console driver for the remote core (virtio 1.2 §5.3), one port.
 *
 * Data path: receive buffers are posted device-writable on the receiveq
 * (queue 0) and come back filled; transmit data is copied into
 * device-readable buffers on the transmitq (queue 1), which come back empty
 * (used length 0) once the PMM has written them out.  All buffers are carved
 * once from the device's data area in shared memory, and each has exactly
 * one owner at a time: the free list, the ring (in flight), or the reader
 * (the receive buffer being consumed).  Nothing is allocated.
 *
 * We poll the used rings and keep used-buffer interrupts suppressed; only
 * before sleeping do we re-enable them and re-check (the race-free order of
 * §2.7.7: enable, fence, look again, then sleep), so the PMM rings our
 * doorbell only while we really wait.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hvl/console.h"

/* The largest byte count a long can report (size_t and long are as wide here). */
#define CON_LONG_MAX ((size_t)(~0UL >> 1))

/* Upper bound on receive buffers handled by one read (bounded loop). */
#define CON_RX_ITER_MAX (4u * HVL_CONSOLE_RX_BUFS)

size_t hvl_console_storage_size(uint16_t qsize)
{
	return HVL_CONSOLE_STORAGE(qsize);
}

void hvl_console_set_timeout(struct hvl_console *c, uint32_t timeout_ms)
{
	if (c != NULL)
		c->timeout_ms = timeout_ms;
}

static uint64_t con_now(const struct hvl_console *c)
{
	return hvl_remote_now(c->vdev.r);
}

/*
 * The device is usable only while it shows DRIVER_OK without NEEDS_RESET
 * or FAILED (§2.1.2).  A PMM restart also lands here: it republishes the
 * device with status 0, and our rings no longer exist on its side.
 */
int hvl_console_broken(const struct hvl_console *c)
{
	if (c == NULL || c->is_open == 0u)
		return 1;
	if (hvl_vdev_live(&c->vdev) == 0)
		return 1;
	return (hvl_vq_drv_broken(&c->rxq) != 0 || hvl_vq_drv_broken(&c->txq) != 0) ? 1 : 0;
}

/* Entry check of every data call: -EBADF if not open, -EIO if broken. */
static int con_check(const struct hvl_console *c)
{
	if (c == NULL || c->is_open == 0u)
		return -EBADF;
	return (hvl_console_broken(c) != 0) ? -EIO : 0;
}

/*
 * Wait until @vq has a used entry, until @timeout_ms after @start, or until
 * the device breaks.  Interrupts are enabled only around the sleep: if
 * enabling finds entries that arrived meanwhile we return at once, else a
 * PMM push after the enable is guaranteed to ring the doorbell (the fence
 * in hvl_vq_drv_enable_cb pairs with the one in the device's
 * need_interrupt).  The doorbell is shared by every device of the region,
 * so each wake-up re-checks; the loop is bounded by the deadline.
 */
static int con_wait_used(struct hvl_console *c, struct hvl_vq_drv *vq, uint64_t start,
			 uint32_t timeout_ms)
{
	/* Both rings count: the one we wait on is checked by the helper. */
	if (hvl_console_broken(c) != 0)
		return -EIO;
	return hvl_vdev_wait_used(&c->vdev, vq, start, timeout_ms);
}

/* Post receive buffer @b, device-writable (§5.3.6.1). */
static int rx_post(struct hvl_console *c, struct hvl_console_buf *b)
{
	struct hvl_sg sg;

	sg.addr = b->bus;
	sg.len = c->rx_size;
	return hvl_vq_drv_add(&c->rxq, &sg, 0u, 1u, b);
}

/* Take back every transmit buffer the PMM is done with (used length 0). */
static int tx_reclaim(struct hvl_console *c)
{
	uint16_t i;

	/* At most ntx buffers can be in flight: bounded. */
	for (i = 0u; i < c->ntx; i++) {
		uint32_t ulen = 0u;
		const struct hvl_console_buf *b = hvl_vq_drv_get_used(&c->txq, &ulen);
		size_t idx;

		if (b == NULL)
			break;
		/* The ring checked the id is outstanding; the cookie is one of ours. */
		idx = (size_t)(b - c->tx);
		if (idx >= c->ntx || c->tx_nfree >= c->ntx)
			return -EIO;
		c->tx_free[c->tx_nfree] = (uint8_t)idx;
		c->tx_nfree++;
	}
	return (hvl_vq_drv_broken(&c->txq) != 0) ? -EIO : 0;
}

/* Forget every buffer (after a reset, nothing is in flight any more). */
static void con_forget(struct hvl_console *c)
{
	uint32_t i;

	for (i = 0u; i < c->rxq.num; i++)
		if (hvl_vq_drv_detach_unused(&c->rxq) == NULL)
			break;
	for (i = 0u; i < c->txq.num; i++)
		if (hvl_vq_drv_detach_unused(&c->txq) == NULL)
			break;
	c->rx_cur = NULL;
	c->tx_nfree = 0u;
	c->is_open = 0u;
}

/*
 * Split @storage between the two rings' bookkeeping and set both queues up
 * at their pre-assigned locations (static start, PROTOCOL.md).
 */
static int con_setup_queues(struct hvl_console *c, void *storage, size_t len)
{
	uint16_t n0 = hvl_le16_once(&c->vdev.ext->queue[HVL_CONSOLE_RXQ].num);
	uint16_t n1 = hvl_le16_once(&c->vdev.ext->queue[HVL_CONSOLE_TXQ].num);
	size_t len0 = HVL_VQ_DRV_STORAGE(n0);
	size_t len1 = HVL_VQ_DRV_STORAGE(n1);
	uint8_t *s0 = storage;
	size_t pad;
	int rc;

	/* Deviation (MISRA 11.4): the address is only inspected for alignment. */
	pad = (size_t)((uintptr_t)(s0 + len0) % HVL_CONSOLE_STORAGE_ALIGN);
	pad = (pad == 0u) ? 0u : HVL_CONSOLE_STORAGE_ALIGN - pad;
	if (len0 > len || pad > len - len0 || len1 > len - len0 - pad)
		return -ENOSPC;
	rc = hvl_vdev_queue_static(&c->vdev, HVL_CONSOLE_RXQ, &c->rxq, s0, len0);
	if (rc == 0)
		rc = hvl_vdev_queue_static(&c->vdev, HVL_CONSOLE_TXQ, &c->txq, s0 + len0 + pad, len1);
	return rc;
}

/*
 * Carve the buffers from the data area: up to HVL_CONSOLE_RX_BUFS receive
 * and HVL_CONSOLE_TX_BUFS transmit buffers, never more than a queue has
 * entries, fewer (down to one each) if the area is small.
 */
static int con_carve(struct hvl_console *c)
{
	void *local;
	uint64_t bus, size;
	uint16_t nrx = HVL_CONSOLE_RX_BUFS, ntx = HVL_CONSOLE_TX_BUFS, i;
	uint8_t *p;

	hvl_vdev_data_area(&c->vdev, &local, &bus, &size);
	if (c->rxq.num < nrx)
		nrx = c->rxq.num;
	if (c->txq.num < ntx)
		ntx = c->txq.num;
	c->rx_size = (uint16_t)HVL_CONSOLE_RX_BUF_SIZE;
	c->tx_size = (uint16_t)HVL_CONSOLE_TX_BUF_SIZE;
	/* Bounded: each pass drops one buffer, at most RX_BUFS + TX_BUFS passes. */
	for (;;) {
		uint64_t need = ((uint64_t)nrx * c->rx_size) + ((uint64_t)ntx * c->tx_size);

		if (need <= size)
			break;
		if (nrx <= 1u && ntx <= 1u)
			return -ENOSPC;
		if (ntx > 1u && (ntx * 2u >= nrx || nrx <= 1u))
			ntx--;
		else
			nrx--;
	}
	p = local;
	for (i = 0u; i < nrx; i++) {
		c->rx[i].local = p;
		c->rx[i].bus = bus;
		p += c->rx_size;
		bus += c->rx_size;
	}
	for (i = 0u; i < ntx; i++) {
		c->tx[i].local = p;
		c->tx[i].bus = bus;
		p += c->tx_size;
		bus += c->tx_size;
		/* All free; popped from the top, lowest index first. */
		c->tx_free[i] = (uint8_t)(ntx - 1u - i);
	}
	c->nrx = nrx;
	c->ntx = ntx;
	c->tx_nfree = ntx;
	return 0;
}

int hvl_console_open(struct hvl_console *c, struct hvl_remote *r, uint32_t nth,
		     void *storage, size_t len)
{
	uint16_t i;
	int rc;

	if (c == NULL || r == NULL || storage == NULL)
		return -EINVAL;
	(void)memset(c, 0, sizeof(*c));
	c->timeout_ms = HVL_CONSOLE_DEFAULT_TIMEOUT_MS;
	rc = hvl_remote_find(r, HVL_VIRTIO_ID_CONSOLE, nth, &c->vdev);
	if (rc != 0)
		return rc;
	/* §5.3.2: port 0 needs queues 0 and 1; MULTIPORT is never negotiated. */
	if (c->vdev.num_queues < HVL_CONSOLE_NUM_QUEUES)
		return -EPROTO;
	rc = hvl_vdev_begin(&c->vdev, HVL_F_EVENT_IDX | HVL_F_INDIRECT_DESC);
	if (rc == 0)
		rc = con_setup_queues(c, storage, len);
	if (rc == 0)
		rc = con_carve(c);
	if (rc == 0)
		rc = hvl_vdev_driver_ok(&c->vdev);
	if (rc != 0) {
		(void)hvl_vdev_reset(&c->vdev);
		return rc;
	}
	c->is_open = 1u;
	/* We poll; interrupts are enabled only while waiting (con_wait_used). */
	hvl_vq_drv_disable_cb(&c->rxq);
	hvl_vq_drv_disable_cb(&c->txq);
	for (i = 0u; i < c->nrx; i++) {
		rc = rx_post(c, &c->rx[i]);
		if (rc != 0) {
			(void)hvl_console_close(c);
			return rc;
		}
	}
	/* Notify only now: §3.1.1 forbids notifications before DRIVER_OK. */
	hvl_vdev_kick(&c->vdev, HVL_CONSOLE_RXQ, &c->rxq);
	return 0;
}

int hvl_console_close(struct hvl_console *c)
{
	int rc;

	if (c == NULL || c->is_open == 0u)
		return -EBADF;
	/* §2.1: after a reset the device holds none of our buffers. */
	rc = hvl_vdev_reset(&c->vdev);
	con_forget(c);
	return rc;
}

long hvl_console_write(struct hvl_console *c, const void *buf, size_t len, uint32_t timeout_ms)
{
	const uint8_t *src = buf;
	size_t done = 0u;
	uint64_t start = 0u; /* the clock only before a wait */
	int started = 0;
	int rc = con_check(c);

	if (rc != 0)
		return rc;
	if (len == 0u)
		return 0;
	if (buf == NULL)
		return -EINVAL;
	if (len > CON_LONG_MAX)
		len = CON_LONG_MAX;
	/* Bounded by the deadline: each pass fills buffers or waits for one. */
	for (;;) {
		int added = 0;

		rc = tx_reclaim(c);
		if (rc != 0)
			return rc;
		while (done < len && c->tx_nfree > 0u) {
			struct hvl_console_buf *b;
			struct hvl_sg sg;
			size_t n = len - done;

			if (n > c->tx_size)
				n = c->tx_size;
			b = &c->tx[c->tx_free[c->tx_nfree - 1u]];
			(void)memcpy(b->local, &src[done], n);
			/* The PMM must see the bytes before the descriptor (non-coherent memory). */
			hvl_cache_flush(c->vdev.r->cfg.cache, c->vdev.r->cfg.cache_ctx, b->local, n);
			sg.addr = b->bus;
			sg.len = (uint32_t)n;
			/* §5.3.6.2: transmit buffers are device-readable only. */
			rc = hvl_vq_drv_add(&c->txq, &sg, 1u, 0u, b);
			if (rc != 0)
				return -EIO; /* we own every descriptor: only a broken ring fails */
			c->tx_nfree--;
			done += n;
			c->bytes_out += n;
			added = 1;
		}
		if (added != 0)
			hvl_vdev_kick(&c->vdev, HVL_CONSOLE_TXQ, &c->txq);
		if (done == len)
			return (long)done;
		/* Every buffer is in flight: wait for the PMM to drain one. */
		if (started == 0) {
			start = con_now(c);
			started = 1;
		}
		rc = con_wait_used(c, &c->txq, start, timeout_ms);
		if (rc == -ETIMEDOUT) {
			if (done > 0u)
				return (long)done;
			return (timeout_ms == 0u) ? -EAGAIN : -ETIMEDOUT;
		}
		if (rc != 0)
			return rc;
	}
}

int hvl_console_flush(struct hvl_console *c, uint32_t timeout_ms)
{
	uint64_t start;
	int rc = con_check(c);

	if (rc != 0)
		return rc;
	start = con_now(c);
	for (;;) {
		rc = tx_reclaim(c);
		if (rc != 0)
			return rc;
		if (c->tx_nfree == c->ntx)
			return 0;
		rc = con_wait_used(c, &c->txq, start, timeout_ms);
		if (rc == -ETIMEDOUT && timeout_ms == 0u)
			return -EAGAIN;
		if (rc != 0)
			return rc;
	}
}

/*
 * Copy received bytes into @dst: first the rest of the buffer being
 * consumed, then further used buffers in used-ring order (which is the
 * order the PMM filled them, so the stream stays in order).  Each buffer
 * emptied is re-posted at once, and the PMM is notified once at the end.
 * Returns the bytes copied, or -EIO if nothing was and the ring broke.
 */
static long rx_drain(struct hvl_console *c, uint8_t *dst, size_t len)
{
	size_t got = 0u;
	unsigned iter;
	int reposted = 0, err = 0;

	for (iter = 0u; got < len && iter < CON_RX_ITER_MAX; iter++) {
		size_t n;

		if (c->rx_cur == NULL) {
			uint32_t ulen = 0u;
			struct hvl_console_buf *b = hvl_vq_drv_get_used(&c->rxq, &ulen);

			if (b == NULL) {
				err = (hvl_vq_drv_broken(&c->rxq) != 0) ? -EIO : 0;
				break;
			}
			/* The ring checked ulen <= what we posted (rx_size). */
			hvl_cache_invalidate(c->vdev.r->cfg.cache, c->vdev.r->cfg.cache_ctx,
					     b->local, ulen);
			c->rx_cur = b;
			c->rx_cur_len = ulen;
			c->rx_cur_off = 0u;
		}
		n = c->rx_cur_len - c->rx_cur_off;
		if (n > len - got)
			n = len - got;
		(void)memcpy(&dst[got], &c->rx_cur->local[c->rx_cur_off], n);
		got += n;
		c->rx_cur_off += (uint32_t)n;
		if (c->rx_cur_off == c->rx_cur_len) {
			if (rx_post(c, c->rx_cur) != 0) {
				err = -EIO;
				break;
			}
			c->rx_cur = NULL;
			reposted = 1;
		}
	}
	if (reposted != 0)
		hvl_vdev_kick(&c->vdev, HVL_CONSOLE_RXQ, &c->rxq);
	c->bytes_in += got;
	if (got == 0u && err != 0)
		return err;
	return (long)got;
}

long hvl_console_read(struct hvl_console *c, void *buf, size_t len, uint32_t timeout_ms)
{
	uint64_t start = 0u; /* the clock only before a wait */
	int started = 0;
	int rc = con_check(c);

	if (rc != 0)
		return rc;
	if (len == 0u)
		return 0;
	if (buf == NULL)
		return -EINVAL;
	if (len > CON_LONG_MAX)
		len = CON_LONG_MAX;
	for (;;) {
		long n = rx_drain(c, buf, len);

		if (n != 0)
			return n;
		if (timeout_ms == 0u)
			return -EAGAIN;
		if (started == 0) {
			start = con_now(c);
			started = 1;
		}
		rc = con_wait_used(c, &c->rxq, start, timeout_ms);
		if (rc != 0)
			return rc;
	}
}

/* printf streaming: fmt.c hands us characters, we write them in chunks. */
struct con_printf {
	struct hvl_console *c;
	size_t n;
	size_t written;
	int err;
	char buf[HVL_CONSOLE_PRINTF_CHUNK];
};

static void pf_flush(struct con_printf *p)
{
	long r;

	if (p->n == 0u || p->err != 0)
		return;
	r = hvl_console_write(p->c, p->buf, p->n, p->c->timeout_ms);
	if (r < 0) {
		p->err = (int)r;
	} else {
		p->written += (size_t)r;
		if ((size_t)r < p->n)
			p->err = -ETIMEDOUT; /* the rest would arrive out of order */
	}
	p->n = 0u;
}

static void pf_put(void *ctx, char ch)
{
	struct con_printf *p = ctx;

	if (p->err != 0)
		return;
	p->buf[p->n] = ch;
	p->n++;
	if (p->n == sizeof(p->buf))
		pf_flush(p);
}

int hvl_console_vprintf(struct hvl_console *c, const char *fmt, va_list ap)
{
	struct con_printf p;
	int rc = con_check(c);

	if (rc != 0)
		return rc;
	if (fmt == NULL)
		return -EINVAL;
	p.c = c;
	p.n = 0u;
	p.written = 0u;
	p.err = 0;
	(void)hvl_vcbprintf(pf_put, &p, fmt, ap);
	pf_flush(&p);
	if (p.written == 0u && p.err != 0)
		return p.err;
	/* Saturate: an int return cannot describe more (printf has the same limit). */
	return (p.written > (size_t)(~0u >> 1)) ? (int)(~0u >> 1) : (int)p.written;
}

int hvl_console_printf(struct hvl_console *c, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = hvl_console_vprintf(c, fmt, ap);
	va_end(ap);
	return n;
}

int hvl_console_putc(struct hvl_console *c, char ch)
{
	long r;

	if (c == NULL)
		return -EBADF;
	r = hvl_console_write(c, &ch, 1u, c->timeout_ms);
	if (r == 1)
		return (int)(unsigned char)ch;
	return (r < 0) ? (int)r : -EIO;
}

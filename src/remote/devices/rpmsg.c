/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * rpmsg over virtio, driver side (the remote core).  See hvl/rpmsg.h for
 * the API and docs/PROTOCOL.md §10 "rpmsg" for the protocol.
 *
 * Buffers: receive buffers of buf_size bytes are posted device-writable on
 * queue 0 and come back holding one message each; transmit buffers are
 * filled with one message each and posted device-readable on queue 1.
 * All are carved once from the device's data area, and each has one owner
 * at a time: the free stack, the ring, the caller (zero-copy), or a
 * receive callback.  Nothing is allocated; endpoints are the caller's.
 *
 * We check what the PMM returns (STYLE 10): the ring checks used ids and
 * lengths; here each received header is copied once and its len must fit
 * the used length, its destination must be one of our endpoints, and a
 * name-service message must be 40 bytes with a NUL-terminated name.
 * Anything else is dropped and counted.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hvl/rpmsg.h"

/* Bounds of loops over caller-provided lists (MISRA: every loop bounded). */
#define RPMSG_EPT_MAX       65536u
#define RPMSG_ADDR_TRIES    65536u
#define RPMSG_POLL_MAX      (2u * HVL_RPMSG_RX_BUFS)

size_t hvl_rpmsg_storage_size(uint16_t qsize)
{
	return HVL_RPMSG_STORAGE(qsize);
}

void hvl_rpmsg_set_timeout(struct hvl_rpmsg_dev *rd, uint32_t timeout_ms)
{
	if (rd != NULL)
		rd->timeout_ms = timeout_ms;
}

uint32_t hvl_rpmsg_max_payload(const struct hvl_rpmsg_dev *rd)
{
	return (rd == NULL || rd->is_open == 0u) ? 0u : rd->buf_size - HVL_RPMSG_HDR_SIZE;
}

static uint64_t rp_now(const struct hvl_rpmsg_dev *rd)
{
	return hvl_remote_now(rd->vdev.r);
}

int hvl_rpmsg_broken(const struct hvl_rpmsg_dev *rd)
{
	if (rd == NULL || rd->is_open == 0u)
		return 1;
	if (hvl_vdev_live(&rd->vdev) == 0)
		return 1;
	return (hvl_vq_drv_broken(&rd->rxq) != 0 || hvl_vq_drv_broken(&rd->txq) != 0) ? 1 : 0;
}

static int rp_check(const struct hvl_rpmsg_dev *rd)
{
	if (rd == NULL || rd->is_open == 0u)
		return -EBADF;
	return (hvl_rpmsg_broken(rd) != 0) ? -EIO : 0;
}

/*
 * Wait until @vq has a used entry, the deadline passes, or the device
 * breaks; interrupts are enabled only around the sleep (§2.7.7 order:
 * enable, look again, sleep), as in the console driver.
 */
static int rp_wait_used(struct hvl_rpmsg_dev *rd, struct hvl_vq_drv *vq, uint64_t start,
			uint32_t timeout_ms)
{
	/* Both rings count: the one we wait on is checked by the helper. */
	if (hvl_rpmsg_broken(rd) != 0)
		return -EIO;
	return hvl_vdev_wait_used(&rd->vdev, vq, start, timeout_ms);
}

static int rx_post(struct hvl_rpmsg_dev *rd, uint16_t i)
{
	struct hvl_sg sg;

	sg.addr = rd->rx[i].bus;
	sg.len = rd->buf_size;
	return hvl_vq_drv_add(&rd->rxq, &sg, 0u, 1u, &rd->rx[i]);
}

/* Take back every transmit buffer the PMM is done with. */
static int tx_reclaim(struct hvl_rpmsg_dev *rd)
{
	uint16_t i;

	for (i = 0u; i < rd->ntx; i++) {
		uint32_t ulen = 0u;
		const struct hvl_rpmsg_buf *b = hvl_vq_drv_get_used(&rd->txq, &ulen);
		size_t idx;

		if (b == NULL)
			break;
		idx = (size_t)(b - rd->tx);
		if (idx >= rd->ntx || rd->tx_nfree >= rd->ntx)
			return -EIO;
		rd->tx_free[rd->tx_nfree] = (uint8_t)idx;
		rd->tx_nfree++;
	}
	return (hvl_vq_drv_broken(&rd->txq) != 0) ? -EIO : 0;
}

/* A free transmit buffer index, waiting up to @timeout_ms; <0 errno. */
static int tx_take(struct hvl_rpmsg_dev *rd, uint32_t timeout_ms)
{
	uint64_t start = 0u; /* the clock only if we wait: this is every send's path */
	int started = 0;

	for (;;) {
		int rc;

		/*
		 * Reclaim only when out of buffers: the used index is written by
		 * the PMM, so reading it on every send would move its cache line
		 * across cores per message; in batches it moves once per ntx.
		 */
		if (rd->tx_nfree == 0u) {
			rc = tx_reclaim(rd);
			if (rc != 0)
				return rc;
		}
		if (hvl_vq_drv_broken(&rd->txq) != 0)
			return -EIO;
		if (rd->tx_nfree > 0u) {
			rd->tx_nfree--;
			return (int)rd->tx_free[rd->tx_nfree];
		}
		if (started == 0) {
			start = rp_now(rd);
			started = 1;
		}
		rc = rp_wait_used(rd, &rd->txq, start, timeout_ms);
		if (rc == -ETIMEDOUT)
			return (timeout_ms == 0u) ? -EAGAIN : -ETIMEDOUT;
		if (rc != 0)
			return rc;
	}
}

int hvl_rpmsg_flush(struct hvl_rpmsg_dev *rd, uint32_t timeout_ms)
{
	uint64_t start;
	uint16_t i, taken = 0u;
	int rc = rp_check(rd);

	if (rc != 0)
		return rc;
	for (i = 0u; i < rd->ntx; i++)
		taken = (uint16_t)(taken + rd->tx_taken[i]);
	start = rp_now(rd);
	for (;;) {
		rc = tx_reclaim(rd);
		if (rc != 0)
			return rc;
		/* Buffers the caller holds for zero-copy are not in flight. */
		if ((uint32_t)rd->tx_nfree + taken >= rd->ntx)
			return 0;
		rc = rp_wait_used(rd, &rd->txq, start, timeout_ms);
		if (rc == -ETIMEDOUT && timeout_ms == 0u)
			return -EAGAIN;
		if (rc != 0)
			return rc;
	}
}

/* Write the header into transmit buffer @i and post it with @len payload bytes. */
static int tx_post(struct hvl_rpmsg_dev *rd, uint16_t i, uint32_t src, uint32_t dst, uint32_t len)
{
	struct hvl_rpmsg_hdr h;
	struct hvl_sg sg;
	int rc;

	hvl_le32_put(&h.src, src);
	hvl_le32_put(&h.dst, dst);
	hvl_le32_put(&h.reserved, 0u);
	hvl_le16_put(&h.len, (uint16_t)len);
	hvl_le16_put(&h.flags, 0u);
	(void)memcpy(rd->tx[i].local, &h, sizeof(h));
	/* The PMM must see the bytes before the descriptor (non-coherent memory). */
	hvl_cache_flush(rd->vdev.r->cfg.cache, rd->vdev.r->cfg.cache_ctx, rd->tx[i].local,
			HVL_RPMSG_HDR_SIZE + len);
	sg.addr = rd->tx[i].bus;
	sg.len = HVL_RPMSG_HDR_SIZE + len;
	rc = hvl_vq_drv_add(&rd->txq, &sg, 1u, 0u, &rd->tx[i]);
	if (rc != 0)
		return -EIO; /* we own every descriptor: only a broken ring fails */
	rd->msgs_out++;
	hvl_vdev_kick(&rd->vdev, HVL_RPMSG_TXQ, &rd->txq);
	return 0;
}

/* Copying send from @src to @dst; @timeout_ms 0 never waits. */
static int rp_send(struct hvl_rpmsg_dev *rd, uint32_t src, uint32_t dst, const void *data,
		   size_t len, uint32_t timeout_ms)
{
	int rc = rp_check(rd), i;

	if (rc != 0)
		return rc;
	if (data == NULL && len != 0u)
		return -EINVAL;
	if (len > (size_t)(rd->buf_size - HVL_RPMSG_HDR_SIZE))
		return -EMSGSIZE;
	if (dst == HVL_RPMSG_ADDR_ANY)
		return -ENOTCONN;
	i = tx_take(rd, timeout_ms);
	if (i < 0)
		return i;
	if (len != 0u)
		(void)memcpy(&rd->tx[i].local[HVL_RPMSG_HDR_SIZE], data, len);
	rc = tx_post(rd, (uint16_t)i, src, dst, (uint32_t)len);
	return (rc == 0) ? (int)len : rc;
}

static int ept_ok(const struct hvl_rpmsg_ept *ept)
{
	return (ept != NULL && ept->rdev != NULL) ? 1 : 0;
}

int hvl_rpmsg_send(struct hvl_rpmsg_ept *ept, const void *data, size_t len)
{
	if (ept_ok(ept) == 0)
		return -EINVAL;
	return rp_send(ept->rdev, ept->addr, ept->dest_addr, data, len, ept->rdev->timeout_ms);
}

int hvl_rpmsg_sendto(struct hvl_rpmsg_ept *ept, const void *data, size_t len, uint32_t dst)
{
	if (ept_ok(ept) == 0)
		return -EINVAL;
	return rp_send(ept->rdev, ept->addr, dst, data, len, ept->rdev->timeout_ms);
}

int hvl_rpmsg_trysend(struct hvl_rpmsg_ept *ept, const void *data, size_t len)
{
	if (ept_ok(ept) == 0)
		return -EINVAL;
	return rp_send(ept->rdev, ept->addr, ept->dest_addr, data, len, 0u);
}

int hvl_rpmsg_trysendto(struct hvl_rpmsg_ept *ept, const void *data, size_t len, uint32_t dst)
{
	if (ept_ok(ept) == 0)
		return -EINVAL;
	return rp_send(ept->rdev, ept->addr, dst, data, len, 0u);
}

int hvl_rpmsg_send_offchannel(struct hvl_rpmsg_ept *ept, uint32_t src, uint32_t dst,
			      const void *data, size_t len)
{
	if (ept_ok(ept) == 0)
		return -EINVAL;
	return rp_send(ept->rdev, src, dst, data, len, ept->rdev->timeout_ms);
}

int hvl_rpmsg_trysend_offchannel(struct hvl_rpmsg_ept *ept, uint32_t src, uint32_t dst,
				 const void *data, size_t len)
{
	if (ept_ok(ept) == 0)
		return -EINVAL;
	return rp_send(ept->rdev, src, dst, data, len, 0u);
}

/* Index of the transmit buffer whose payload area is @buf, or -1. */
static int tx_index(const struct hvl_rpmsg_dev *rd, const void *buf)
{
	uint16_t i;

	for (i = 0u; i < rd->ntx; i++)
		if (buf == (const void *)&rd->tx[i].local[HVL_RPMSG_HDR_SIZE])
			return (int)i;
	return -1;
}

void *hvl_rpmsg_get_tx_buffer(struct hvl_rpmsg_dev *rd, uint32_t *len, uint32_t timeout_ms)
{
	int i;

	if (rp_check(rd) != 0 || len == NULL)
		return NULL;
	i = tx_take(rd, timeout_ms);
	if (i < 0)
		return NULL;
	rd->tx_taken[i] = 1u;
	*len = rd->buf_size - HVL_RPMSG_HDR_SIZE;
	return &rd->tx[i].local[HVL_RPMSG_HDR_SIZE];
}

int hvl_rpmsg_release_tx_buffer(struct hvl_rpmsg_dev *rd, void *buf)
{
	int i;

	if (rd == NULL || rd->is_open == 0u)
		return -EBADF;
	i = tx_index(rd, buf);
	if (i < 0 || rd->tx_taken[i] == 0u || rd->tx_nfree >= rd->ntx)
		return -EINVAL;
	rd->tx_taken[i] = 0u;
	rd->tx_free[rd->tx_nfree] = (uint8_t)i;
	rd->tx_nfree++;
	return 0;
}

int hvl_rpmsg_sendto_nocopy(struct hvl_rpmsg_ept *ept, void *buf, size_t len, uint32_t dst)
{
	struct hvl_rpmsg_dev *rd;
	int i, rc;

	if (ept_ok(ept) == 0)
		return -EINVAL;
	rd = ept->rdev;
	rc = rp_check(rd);
	if (rc != 0)
		return rc;
	i = tx_index(rd, buf);
	if (i < 0 || rd->tx_taken[i] == 0u)
		return -EINVAL;
	if (len > (size_t)(rd->buf_size - HVL_RPMSG_HDR_SIZE))
		return -EMSGSIZE;
	if (dst == HVL_RPMSG_ADDR_ANY)
		return -ENOTCONN;
	rd->tx_taken[i] = 0u;
	rc = tx_post(rd, (uint16_t)i, ept->addr, dst, (uint32_t)len);
	return (rc == 0) ? (int)len : rc;
}

int hvl_rpmsg_send_nocopy(struct hvl_rpmsg_ept *ept, void *buf, size_t len)
{
	if (ept_ok(ept) == 0)
		return -EINVAL;
	return hvl_rpmsg_sendto_nocopy(ept, buf, len, ept->dest_addr);
}

/* Index of the receive buffer whose payload area is @data, or -1. */
static int rx_index(const struct hvl_rpmsg_dev *rd, const void *data)
{
	uint16_t i;

	for (i = 0u; i < rd->nrx; i++)
		if (data == (const void *)&rd->rx[i].local[HVL_RPMSG_HDR_SIZE])
			return (int)i;
	return -1;
}

int hvl_rpmsg_hold_rx_buffer(struct hvl_rpmsg_dev *rd, void *data)
{
	int i;

	if (rd == NULL || rd->is_open == 0u)
		return -EBADF;
	i = rx_index(rd, data);
	if (i < 0)
		return -EINVAL;
	rd->rx_held[i] = 1u;
	return 0;
}

int hvl_rpmsg_release_rx_buffer(struct hvl_rpmsg_dev *rd, void *data)
{
	int i, rc;

	if (rd == NULL || rd->is_open == 0u)
		return -EBADF;
	i = rx_index(rd, data);
	if (i < 0 || rd->rx_held[i] == 0u)
		return -EINVAL;
	rd->rx_held[i] = 0u;
	rc = rx_post(rd, (uint16_t)i);
	if (rc != 0)
		return -EIO;
	hvl_vdev_kick(&rd->vdev, HVL_RPMSG_RXQ, &rd->rxq);
	return 0;
}

/* ----------------------------------------------------------- endpoints */

static struct hvl_rpmsg_ept *ept_by_addr(const struct hvl_rpmsg_dev *rd, uint32_t addr)
{
	struct hvl_rpmsg_ept *e = rd->epts;
	uint32_t n;

	for (n = 0u; e != NULL && n < RPMSG_EPT_MAX; n++) {
		if (e->addr == addr)
			return e;
		e = e->next;
	}
	return NULL;
}

static struct hvl_rpmsg_ept *ept_by_name(const struct hvl_rpmsg_dev *rd, const char *name)
{
	struct hvl_rpmsg_ept *e = rd->epts;
	uint32_t n;

	for (n = 0u; e != NULL && n < RPMSG_EPT_MAX; n++) {
		if (e->name[0] != '\0' && strncmp(e->name, name, HVL_RPMSG_NAME_SIZE) == 0)
			return e;
		e = e->next;
	}
	return NULL;
}

static void ept_unlink(struct hvl_rpmsg_dev *rd, const struct hvl_rpmsg_ept *ept)
{
	struct hvl_rpmsg_ept **pp = &rd->epts;
	uint32_t n;

	for (n = 0u; *pp != NULL && n < RPMSG_EPT_MAX; n++) {
		if (*pp == ept) {
			*pp = ept->next;
			rd->nepts--;
			return;
		}
		pp = &(*pp)->next;
	}
}

/* Copy a name into @dst[32], truncated and NUL-padded. */
static void name_copy(char *dst, const char *src)
{
	size_t n = 0u;

	if (src != NULL) {
		while (n < HVL_RPMSG_NAME_SIZE - 1u && src[n] != '\0') {
			dst[n] = src[n];
			n++;
		}
	}
	(void)memset(&dst[n], 0, HVL_RPMSG_NAME_SIZE - n);
}

/* A name-service message from endpoint @src: create or destroy @name at @addr. */
static int ns_send(struct hvl_rpmsg_dev *rd, const char *name, uint32_t addr, uint32_t flags)
{
	struct hvl_rpmsg_ns_msg ns;

	(void)memset(&ns, 0, sizeof(ns));
	name_copy(ns.name, name);
	hvl_le32_put(&ns.addr, addr);
	hvl_le32_put(&ns.flags, flags);
	return rp_send(rd, addr, HVL_RPMSG_NS_ADDR, &ns, sizeof(ns), rd->timeout_ms);
}

int hvl_rpmsg_create_ept(struct hvl_rpmsg_ept *ept, struct hvl_rpmsg_dev *rd, const char *name,
			 uint32_t src, uint32_t dest, hvl_rpmsg_ept_cb cb,
			 hvl_rpmsg_ns_unbind_cb ns_unbind_cb)
{
	int rc = rp_check(rd);

	if (rc != 0)
		return rc;
	if (ept == NULL || cb == NULL || src == HVL_RPMSG_NS_ADDR ||
	    (name != NULL && strlen(name) >= HVL_RPMSG_NAME_SIZE))
		return -EINVAL;
	if (ept_by_addr(rd, src) != NULL || rd->nepts >= RPMSG_EPT_MAX)
		return -EADDRINUSE;
	if (src == HVL_RPMSG_ADDR_ANY) {
		uint32_t n;

		/* Dynamic addresses from 1024 on, skipping those in use (bounded). */
		for (n = 0u; n < RPMSG_ADDR_TRIES; n++) {
			uint32_t a = rd->next_addr;

			rd->next_addr = (a >= 0x7FFFFFFFu) ? HVL_RPMSG_RESERVED_ADDRS : a + 1u;
			if (ept_by_addr(rd, a) == NULL) {
				src = a;
				break;
			}
		}
		if (src == HVL_RPMSG_ADDR_ANY)
			return -EADDRINUSE;
	}
	(void)memset(ept, 0, sizeof(*ept));
	name_copy(ept->name, name);
	ept->addr = src;
	ept->dest_addr = dest;
	ept->cb = cb;
	ept->ns_unbind_cb = ns_unbind_cb;
	ept->rdev = rd;
	/* Announce a named endpoint that has no peer yet (as OpenAMP does). */
	if (ept->name[0] != '\0' && dest == HVL_RPMSG_ADDR_ANY && rd->ns != 0u) {
		rc = ns_send(rd, ept->name, src, HVL_RPMSG_NS_CREATE);
		if (rc < 0) {
			ept->rdev = NULL;
			return rc;
		}
		ept->announced = 1u;
	}
	ept->next = rd->epts;
	rd->epts = ept;
	rd->nepts++;
	return 0;
}

void hvl_rpmsg_destroy_ept(struct hvl_rpmsg_ept *ept)
{
	struct hvl_rpmsg_dev *rd;

	if (ept_ok(ept) == 0)
		return;
	rd = ept->rdev;
	/*
	 * Best effort: a broken or closed device cannot be told.  A bound
	 * endpoint the peer already unbound has nothing left to destroy.
	 */
	if (ept->name[0] != '\0' && rd->ns != 0u && rp_check(rd) == 0 &&
	    (ept->announced != 0u || ept->dest_addr != HVL_RPMSG_ADDR_ANY))
		(void)ns_send(rd, ept->name, ept->addr, HVL_RPMSG_NS_DESTROY);
	ept_unlink(rd, ept);
	ept->rdev = NULL;
}

/* -------------------------------------------------------------- receive */

/* A name-service message from the PMM (@len bytes at @p). */
static void rx_ns(struct hvl_rpmsg_dev *rd, const uint8_t *p, uint32_t len)
{
	struct hvl_rpmsg_ns_msg ns;
	struct hvl_rpmsg_ept *e;
	uint32_t addr, flags;

	if (len != HVL_RPMSG_NS_MSG_SIZE) {
		rd->drop_ns++;
		return;
	}
	(void)memcpy(&ns, p, sizeof(ns));
	if (memchr(ns.name, 0, sizeof(ns.name)) == NULL) {
		rd->drop_ns++;
		return;
	}
	addr = hvl_le32_get(&ns.addr);
	flags = hvl_le32_get(&ns.flags);
	e = ept_by_name(rd, ns.name);
	if (flags == HVL_RPMSG_NS_CREATE) {
		if (e != NULL && e->dest_addr == HVL_RPMSG_ADDR_ANY)
			e->dest_addr = addr; /* an endpoint waiting for this channel */
		else if (rd->ns_bind_cb != NULL)
			rd->ns_bind_cb(rd, ns.name, addr);
		else
			rd->drop_ns++;
	} else if (flags == HVL_RPMSG_NS_DESTROY) {
		if (e != NULL && e->dest_addr == addr) {
			e->dest_addr = HVL_RPMSG_ADDR_ANY;
			if (e->ns_unbind_cb != NULL)
				e->ns_unbind_cb(e);
		} else {
			rd->drop_ns++;
		}
	} else {
		rd->drop_ns++;
	}
}

/* Handle one used receive buffer @i of @ulen bytes; returns 1 if it stays held. */
static int rx_one(struct hvl_rpmsg_dev *rd, uint16_t i, uint32_t ulen)
{
	struct hvl_rpmsg_hdr h;
	struct hvl_rpmsg_ept *e;
	uint8_t *payload = &rd->rx[i].local[HVL_RPMSG_HDR_SIZE];
	uint32_t src, dst, len;

	hvl_cache_invalidate(rd->vdev.r->cfg.cache, rd->vdev.r->cfg.cache_ctx, rd->rx[i].local, ulen);
	if (ulen < HVL_RPMSG_HDR_SIZE) {
		rd->drop_bad++;
		return 0;
	}
	/* One copy of the header (STYLE 7); checked against what the PMM said it wrote. */
	(void)memcpy(&h, rd->rx[i].local, sizeof(h));
	src = hvl_le32_get(&h.src);
	dst = hvl_le32_get(&h.dst);
	len = hvl_le16_get(&h.len);
	if (len > ulen - HVL_RPMSG_HDR_SIZE) {
		rd->drop_bad++;
		return 0;
	}
	if (dst == HVL_RPMSG_NS_ADDR) {
		rx_ns(rd, payload, len);
		return 0;
	}
	e = ept_by_addr(rd, dst);
	if (e == NULL) {
		rd->drop_dst++;
		return 0;
	}
	/* OpenAMP: an endpoint without a peer learns it from the first message. */
	if (e->dest_addr == HVL_RPMSG_ADDR_ANY)
		e->dest_addr = src;
	rd->msgs_in++;
	rd->rx_held[i] = 0u;
	(void)e->cb(e, payload, len, src, e->priv);
	return (rd->is_open != 0u && rd->rx_held[i] != 0u) ? 1 : 0;
}

int hvl_rpmsg_poll(struct hvl_rpmsg_dev *rd, uint32_t timeout_ms)
{
	uint64_t start = 0u; /* the clock only before a wait: polling loops call us */
	int rc = rp_check(rd), handled = 0, started = 0;

	if (rc != 0)
		return rc;
	if (rd->in_poll != 0u)
		return -EBUSY;
	for (;;) {
		uint32_t n;
		int reposted = 0;

		rd->in_poll = 1u;
		for (n = 0u; n < RPMSG_POLL_MAX; n++) {
			uint32_t ulen = 0u;
			struct hvl_rpmsg_buf *b = hvl_vq_drv_get_used(&rd->rxq, &ulen);
			size_t idx;

			if (b == NULL)
				break;
			idx = (size_t)(b - rd->rx);
			if (idx >= rd->nrx) {
				rd->in_poll = 0u;
				return -EIO;
			}
			handled++;
			if (rx_one(rd, (uint16_t)idx, ulen) == 0) {
				if (rd->is_open == 0u) {
					rd->in_poll = 0u;
					return handled; /* a callback closed the device */
				}
				if (rx_post(rd, (uint16_t)idx) != 0) {
					rd->in_poll = 0u;
					return -EIO;
				}
				reposted = 1;
			}
		}
		rd->in_poll = 0u;
		if (reposted != 0)
			hvl_vdev_kick(&rd->vdev, HVL_RPMSG_RXQ, &rd->rxq);
		if (handled > 0)
			return handled;
		if (hvl_vq_drv_broken(&rd->rxq) != 0)
			return -EIO;
		if (timeout_ms == 0u)
			return -EAGAIN;
		if (started == 0) {
			start = rp_now(rd);
			started = 1;
		}
		rc = rp_wait_used(rd, &rd->rxq, start, timeout_ms);
		if (rc != 0)
			return rc;
	}
}

/* ---------------------------------------------------------- open, close */

static int rp_setup_queues(struct hvl_rpmsg_dev *rd, void *storage, size_t len)
{
	uint16_t n0 = hvl_le16_once(&rd->vdev.ext->queue[HVL_RPMSG_RXQ].num);
	uint16_t n1 = hvl_le16_once(&rd->vdev.ext->queue[HVL_RPMSG_TXQ].num);
	size_t len0 = HVL_VQ_DRV_STORAGE(n0);
	size_t len1 = HVL_VQ_DRV_STORAGE(n1);
	uint8_t *s0 = storage;
	size_t pad;
	int rc;

	/* Deviation (MISRA 11.4): the address is only inspected for alignment. */
	pad = (size_t)((uintptr_t)(s0 + len0) % HVL_RPMSG_STORAGE_ALIGN);
	pad = (pad == 0u) ? 0u : HVL_RPMSG_STORAGE_ALIGN - pad;
	if (len0 > len || pad > len - len0 || len1 > len - len0 - pad)
		return -ENOSPC;
	rc = hvl_vdev_queue_static(&rd->vdev, HVL_RPMSG_RXQ, &rd->rxq, s0, len0);
	if (rc == 0)
		rc = hvl_vdev_queue_static(&rd->vdev, HVL_RPMSG_TXQ, &rd->txq, s0 + len0 + pad, len1);
	return rc;
}

/* Carve receive and transmit buffers of buf_size bytes from the data area. */
static int rp_carve(struct hvl_rpmsg_dev *rd)
{
	void *local;
	uint64_t bus, size, per;
	uint16_t nrx = HVL_RPMSG_RX_BUFS, ntx = HVL_RPMSG_TX_BUFS, i;
	uint8_t *p;

	hvl_vdev_data_area(&rd->vdev, &local, &bus, &size);
	if (rd->rxq.num < nrx)
		nrx = rd->rxq.num;
	if (rd->txq.num < ntx)
		ntx = rd->txq.num;
	/* 8-byte aligned buffers keep the header fields naturally aligned. */
	per = ((uint64_t)rd->buf_size + 7u) & ~(uint64_t)7u;
	/* Bounded: each pass drops one buffer. */
	while (((uint64_t)nrx + ntx) * per > size) {
		if (nrx <= 1u && ntx <= 1u)
			return -ENOSPC;
		if (nrx >= ntx && nrx > 1u)
			nrx--;
		else
			ntx--;
	}
	p = local;
	for (i = 0u; i < nrx; i++) {
		rd->rx[i].local = p;
		rd->rx[i].bus = bus;
		p += per;
		bus += per;
	}
	for (i = 0u; i < ntx; i++) {
		rd->tx[i].local = p;
		rd->tx[i].bus = bus;
		p += per;
		bus += per;
		rd->tx_free[i] = (uint8_t)(ntx - 1u - i);
	}
	rd->nrx = nrx;
	rd->ntx = ntx;
	rd->tx_nfree = ntx;
	return 0;
}

int hvl_rpmsg_open(struct hvl_rpmsg_dev *rd, struct hvl_remote *r, uint32_t nth, void *storage,
		   size_t len, hvl_rpmsg_ns_bind_cb ns_bind_cb)
{
	struct hvl_rpmsg_config cfg;
	uint16_t i;
	int rc;

	if (rd == NULL || r == NULL || storage == NULL)
		return -EINVAL;
	(void)memset(rd, 0, sizeof(*rd));
	rd->timeout_ms = HVL_RPMSG_DEFAULT_TIMEOUT_MS;
	rd->next_addr = HVL_RPMSG_RESERVED_ADDRS;
	rd->ns_bind_cb = ns_bind_cb;
	rc = hvl_remote_find(r, HVL_VIRTIO_ID_RPMSG, nth, &rd->vdev);
	if (rc != 0)
		return rc;
	if (rd->vdev.num_queues < HVL_RPMSG_NUM_QUEUES)
		return -EPROTO;
	rc = hvl_vdev_config_read(&rd->vdev, 0u, &cfg, (uint32_t)sizeof(cfg));
	if (rc != 0)
		return rc;
	rd->buf_size = hvl_le32_get(&cfg.buf_size);
	rd->max_channels = hvl_le32_get(&cfg.max_channels);
	/* A header plus a name-service message must fit; len is 16 bits. */
	if (rd->buf_size < HVL_RPMSG_MIN_BUF_SIZE || rd->buf_size > HVL_RPMSG_MAX_BUF_SIZE)
		return -EPROTO;
	rc = hvl_vdev_begin(&rd->vdev, HVL_F_EVENT_IDX | HVL_F_INDIRECT_DESC | HVL_RPMSG_F_NS);
	if (rc == 0)
		rc = rp_setup_queues(rd, storage, len);
	if (rc == 0)
		rc = rp_carve(rd);
	if (rc == 0)
		rc = hvl_vdev_driver_ok(&rd->vdev);
	if (rc != 0) {
		(void)hvl_vdev_reset(&rd->vdev);
		return rc;
	}
	rd->ns = ((rd->vdev.features & HVL_RPMSG_F_NS) != 0u) ? 1u : 0u;
	rd->is_open = 1u;
	hvl_vq_drv_disable_cb(&rd->rxq);
	hvl_vq_drv_disable_cb(&rd->txq);
	for (i = 0u; i < rd->nrx; i++) {
		rc = rx_post(rd, i);
		if (rc != 0) {
			(void)hvl_rpmsg_close(rd);
			return rc;
		}
	}
	/* Notify only now: §3.1.1 forbids notifications before DRIVER_OK. */
	hvl_vdev_kick(&rd->vdev, HVL_RPMSG_RXQ, &rd->rxq);
	return 0;
}

int hvl_rpmsg_close(struct hvl_rpmsg_dev *rd)
{
	struct hvl_rpmsg_ept *e;
	uint32_t i;
	int rc;

	if (rd == NULL || rd->is_open == 0u)
		return -EBADF;
	/* §2.1: after a reset the device holds none of our buffers; the PMM drops our channels. */
	rc = hvl_vdev_reset(&rd->vdev);
	for (i = 0u; i < rd->rxq.num; i++)
		if (hvl_vq_drv_detach_unused(&rd->rxq) == NULL)
			break;
	for (i = 0u; i < rd->txq.num; i++)
		if (hvl_vq_drv_detach_unused(&rd->txq) == NULL)
			break;
	e = rd->epts;
	for (i = 0u; e != NULL && i < RPMSG_EPT_MAX; i++) {
		struct hvl_rpmsg_ept *n = e->next;

		e->rdev = NULL;
		e = n;
	}
	rd->epts = NULL;
	rd->nepts = 0u;
	rd->is_open = 0u;
	return rc;
}

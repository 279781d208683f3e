/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-9p backend of the PMM (device ID 9, "9P transport" in the virtio
 * 1.2 §5 table, layout as in Linux's virtio_9p.h):
 * one request queue, each chain a device-readable T-message followed by
 * device-writable space for the R-message; config space carries the mount
 * tag (VIRTIO_9P_MOUNT_TAG).  The 9P work itself is the transport-
 * independent engine (9p_msg.c, 9p_fs.c); this file moves messages between
 * chains and the engine.
 *
 * Device options (docs/CONFIG.md): path (the exported directory, required),
 * tag (default: the device name), readonly, max_fids, msize, listen (the
 * same export also on a socket, see 9p_sock.c).
 *
 * The readable part is copied into a private buffer before the engine looks
 * at it (read once, STYLE 7); a Twrite's data, opaque bytes, is written to
 * the file from shared memory without that copy.  The response is written straight into the
 * chain's writable buffer when it is one piece (the usual case: Rread data
 * lands in shared memory with no extra copy), else built privately and
 * scattered.  File I/O is a bounded synchronous call on the device thread:
 * one message at a time, at most msize bytes.  The remote may have several
 * requests in flight (one per client slot, each its own chain and tag):
 * they are served one after the other in ring order, each answered into
 * its own chain, so nothing here depends on how many are outstanding.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../pmm.h"
#include "9p_srv.h"

#define P9_BUDGET 64u       /* chains per call, then yield to other devices */
#define P9_IOV_MIN 1024u

struct p9dev {
	struct hvl_pmm *pmm;
	struct hvl_dev *dev;
	char name[HVL_PMM_DEV_NAME_MAX];
	struct p9_export ex;
	struct p9_sess sess;
	struct hvl_chain c;
	uint8_t *req, *resp;    /* private copies, msize_max each */
	struct hvl_9p_config config;
	struct p9_sock *sock;
	uint64_t requests, bytes_in, bytes_out;
};

/* Gather the readable part of @c into @dst (at most @cap bytes); returns bytes. */
static uint32_t gather(const struct hvl_chain *c, uint8_t *dst, uint32_t cap)
{
	uint32_t n = 0;
	unsigned k;

	for (k = 0; k < c->n_out && n < cap; k++) {
		uint32_t m = c->iov[k].len;

		if (m > cap - n)
			m = cap - n;
		memcpy(dst + n, c->iov[k].base, m);
		n += m;
	}
	return n;
}

static void scatter(const struct hvl_chain *c, const uint8_t *src, uint32_t len)
{
	uint32_t n = 0;
	unsigned k;

	for (k = c->n_out; k < (unsigned)c->n_out + c->n_in && n < len; k++) {
		uint32_t m = c->iov[k].len;

		if (m > len - n)
			m = len - n;
		memcpy(c->iov[k].base, src + n, m);
		n += m;
	}
}

/* One chain: returns the response length, or 0 after failing the device. */
static uint32_t serve(struct p9dev *p, struct hvl_dev *d)
{
	struct hvl_chain *c = &p->c;
	uint32_t len, cap, n;
	uint8_t *out;

	if (c->n_out == 0 || c->n_in == 0) {
		hvl_dev_fail(d, HVL_BROKEN_REQUEST, "9p chain %u: %u readable, %u writable buffers",
			     c->head, c->n_out, c->n_in);
		return 0;
	}
	cap = c->in_len < p->ex.msize_max ? c->in_len : p->ex.msize_max;
	/* One writable piece: answer in place (the engine never reads it back). */
	out = c->iov[c->n_out].len >= cap ? c->iov[c->n_out].base : p->resp;
	/*
	 * A Twrite in one readable buffer (as the remote library sends it):
	 * only its header is copied; the data goes from shared memory straight
	 * to the file, saving a copy of every byte written.  Anything else is
	 * copied whole.  Either way the engine decodes one private copy only.
	 */
	len = 0;
	if (c->n_out == 1 && c->iov[0].len > HVL_9P_TWRITE_HDR) {
		len = gather(c, p->req, HVL_9P_TWRITE_HDR);
		if (p->req[4] != HVL_9P_TWRITE)
			len = 0;
	}
	if (len != 0) {
		uint32_t dlen = (c->iov[0].len < p->ex.msize_max ? c->iov[0].len : p->ex.msize_max) -
				HVL_9P_TWRITE_HDR;

		n = p9_handle_write(&p->sess, p->req, len,
				    (const uint8_t *)c->iov[0].base + HVL_9P_TWRITE_HDR, dlen, out, cap);
		len += dlen;
	} else {
		len = gather(c, p->req, p->ex.msize_max);
		n = p9_handle(&p->sess, p->req, len, out, cap);
	}
	if (n == 0) {
		hvl_dev_fail(d, HVL_BROKEN_REQUEST,
			     "9p chain %u: no room for a response (%u writable bytes) or no header",
			     c->head, c->in_len);
		return 0;
	}
	if (out == p->resp)
		scatter(c, p->resp, n);
	p->bytes_in += len;
	p->bytes_out += n;
	p->requests++;
	return n;
}

static void p9_queue(struct hvl_dev *d, unsigned q)
{
	struct p9dev *p = d->priv;
	struct hvl_vq_dev *vq;
	unsigned budget = P9_BUDGET;

	if (q != HVL_9P_REQQ || !hvl_dev_live(d))
		return;
	vq = hvl_dev_vq(d, q);
	if (vq == NULL)
		return;
	hvl_vq_dev_disable_notify(vq);
	for (;;) {
		uint32_t n;

		if (budget == 0) {
			hvl_dev_kick(d); /* more later, after the other devices */
			break;
		}
		if (hvl_dev_pop(d, q, &p->c) <= 0) {
			/* Empty (or broken): ask for notifications, re-check the race. */
			if (!hvl_dev_live(d) || hvl_vq_dev_enable_notify(vq) == 0)
				break;
			hvl_vq_dev_disable_notify(vq);
			continue;
		}
		budget--;
		n = serve(p, d);
		if (n == 0)
			return;
		hvl_vq_dev_push(vq, p->c.head, n);
		/*
		 * Interrupt per answer (EVENT_IDX still decides): a client with
		 * several requests in flight refills a slot while we serve the
		 * next chain, instead of sleeping until the whole batch is done.
		 */
		hvl_dev_vq_interrupt(d, q);
	}
}

static void p9_poll(struct hvl_dev *d)
{
	p9_queue(d, HVL_9P_REQQ);
}

/* §2.1: after a reset the driver starts a new 9P session with Tversion. */
static void p9_reset(struct hvl_dev *d)
{
	struct p9dev *p = d->priv;

	p9_sess_clunk_all(&p->sess);
	p->sess.msize = 0;
}

static int p9_driver_ok(struct hvl_dev *d)
{
	(void)d;
	return 0;
}

static const struct hvl_dev_ops p9_ops = {
	.reset = p9_reset,
	.driver_ok = p9_driver_ok,
	.queue = p9_queue,
	.poll = p9_poll,
};

static void p9_destroy(void *priv)
{
	struct p9dev *p = priv;

	if (p == NULL)
		return;
	p9_sock_stop(p->sock);
	p9_sess_destroy(&p->sess);
	if (p->ex.rootfd >= 0)
		close(p->ex.rootfd);
	free(p->req);
	free(p->resp);
	free(p->c.iov);
	free(p);
}

static void p9_stats(void *priv, char *buf, size_t len)
{
	struct p9dev *p = priv;

	snprintf(buf, len, "9p: %llu requests (%llu malformed), in %llu B, out %llu B, %u fids open",
		 (unsigned long long)p->requests, (unsigned long long)p->sess.errors,
		 (unsigned long long)p->bytes_in, (unsigned long long)p->bytes_out, p->sess.nfids);
}

/* Parse an unsigned option in [lo, hi]; absent = @def. */
static int opt_u32(struct p9dev *p, const struct hvl_pmm_dev_config *cfg, const char *key,
		   uint32_t def, uint32_t lo, uint32_t hi, uint32_t *out)
{
	const char *v = hvl_pmm_dev_opt(cfg, key);
	uint64_t x;

	*out = def;
	if (v == NULL)
		return 0;
	if (hvl_pmm_parse_size(v, &x) != 0 || x < lo || x > hi) {
		hvl_logf(&p->pmm->log, HVL_LOG_ERROR, "%s: %s = %s: expected %u..%u", p->name, key, v,
			 lo, hi);
		return -EINVAL;
	}
	*out = (uint32_t)x;
	return 0;
}

static int p9_create_inner(struct hvl_pmm *pmm, const struct hvl_pmm_dev_config *cfg,
			   struct hvl_dev_static *st, const struct hvl_dev_ops **ops, struct p9dev *p)
{
	const char *path = hvl_pmm_dev_opt(cfg, "path");
	const char *tag = hvl_pmm_dev_opt(cfg, "tag");
	const char *ro = hvl_pmm_dev_opt(cfg, "readonly");
	const char *listen = hvl_pmm_dev_opt(cfg, "listen");
	struct stat sb;
	unsigned cap = P9_IOV_MIN;
	size_t tl;
	int rc;

	if (st->num_queues != HVL_9P_NUM_QUEUES) {
		hvl_logf(&pmm->log, HVL_LOG_ERROR, "%s: needs exactly 1 queue, has %u", p->name,
			 st->num_queues);
		return -EINVAL;
	}
	if (path == NULL || path[0] == '\0') {
		hvl_logf(&pmm->log, HVL_LOG_ERROR, "%s: needs path = the directory to export", p->name);
		return -EINVAL;
	}
	if (tag == NULL)
		tag = cfg->name;
	tl = strlen(tag);
	if (tl == 0 || tl > HVL_9P_TAG_MAX) {
		hvl_logf(&pmm->log, HVL_LOG_ERROR, "%s: tag must be 1..%u bytes", p->name, HVL_9P_TAG_MAX);
		return -EINVAL;
	}
	if (ro != NULL && strcmp(ro, "0") != 0 && strcmp(ro, "1") != 0 && strcmp(ro, "true") != 0 &&
	    strcmp(ro, "false") != 0) {
		hvl_logf(&pmm->log, HVL_LOG_ERROR, "%s: readonly = %s: expected 0/1/true/false", p->name, ro);
		return -EINVAL;
	}
	p->ex.readonly = ro != NULL && (ro[0] == '1' || ro[0] == 't');
	rc = opt_u32(p, cfg, "max_fids", P9_MAX_FIDS_DEFAULT, 4, 65536, &p->ex.max_fids);
	if (rc == 0)
		rc = opt_u32(p, cfg, "msize", P9_MSIZE_DEFAULT, HVL_9P_MSIZE_MIN, 16u << 20, &p->ex.msize_max);
	if (rc != 0)
		return rc;
	p->ex.rootfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (p->ex.rootfd < 0 || fstat(p->ex.rootfd, &sb) != 0) {
		rc = -errno;
		hvl_logf(&pmm->log, HVL_LOG_ERROR, "%s: path = %s: %s", p->name, path, strerror(-rc));
		return rc;
	}
	if (p9_sess_init(&p->sess, &p->ex) != 0)
		return -ENOMEM;
	if (st->queue_num_max[0] > cap)
		cap = st->queue_num_max[0];
	p->c.iov = calloc(cap, sizeof(*p->c.iov));
	p->c.cap = cap;
	p->req = malloc(p->ex.msize_max);
	p->resp = malloc(p->ex.msize_max);
	if (p->c.iov == NULL || p->req == NULL || p->resp == NULL)
		return -ENOMEM;
	if (listen != NULL && listen[0] != '\0') {
		rc = p9_sock_start(&p->sock, &p->ex, listen, &pmm->log, p->name);
		if (rc != 0)
			return rc;
	}
	hvl_le16_put(&p->config.tag_len, (uint16_t)tl);
	memcpy(p->config.tag, tag, tl);
	/* Publish only the bytes the tag uses: config space is tag_len + tag. */
	st->config = &p->config;
	st->config_size = (uint32_t)(HVL_9P_CFG_TAG + tl);
	st->features = HVL_F_VERSION_1 | HVL_F_EVENT_IDX | HVL_F_INDIRECT_DESC | HVL_9P_F_MOUNT_TAG;
	*ops = &p9_ops;
	hvl_logf(&pmm->log, HVL_LOG_INFO, "%s: exporting %s (%s) as tag '%s'", p->name, path,
		 p->ex.readonly ? "read-only" : "read-write", tag);
	return 0;
}

static int p9_create(struct hvl_pmm *pmm, struct hvl_pmm_region *rg,
		     const struct hvl_pmm_dev_config *cfg, struct hvl_dev *dev,
		     struct hvl_dev_static *st, const struct hvl_dev_ops **ops, void **priv)
{
	struct p9dev *p = calloc(1, sizeof(*p));
	int rc;

	(void)rg;
	*priv = NULL;
	if (p == NULL)
		return -ENOMEM;
	p->pmm = pmm;
	p->dev = dev;
	p->ex.rootfd = -1;
	snprintf(p->name, sizeof(p->name), "%s", cfg->name);
	rc = p9_create_inner(pmm, cfg, st, ops, p);
	if (rc != 0) {
		p9_destroy(p);
		return rc;
	}
	*priv = p;
	return 0;
}

const struct hvl_pmm_backend hvl_pmm_9p_backend = {
	.type = "9p",
	.create = p9_create,
	.destroy = p9_destroy,
	.stats = p9_stats,
};

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio entropy backend of the PMM (virtio 1.2 §5.4): fills every
 * device-writable buffer the driver posts with bytes from the kernel's RNG
 * (getrandom(2), the same source as /dev/urandom once it is seeded).
 *
 * §5.4.6.2 lets the device use less than the whole buffer; we fill up to
 * RNG_CHAIN_MAX bytes of each chain so a huge buffer cannot hold the device
 * thread, and report what we wrote in the used length.  getrandom is
 * retried on EINTR; a short return just moves on to the rest of the buffer.
 * A chain with a device-readable part is a driver error (§5.4.6.1: "the
 * driver MUST NOT place driver-readable buffers") and fails the device.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "../pmm.h"
#include "hvl/wire/rng.h"

#define RNG_IOV_CAP   1024u
#define RNG_CHAIN_MAX (64u * 1024u)   /* bytes filled per chain at most */
#define RNG_BUDGET    64u             /* chains per call, then yield */
#define RNG_TRIES     64u             /* getrandom calls per chain at most */

struct rng {
	char name[HVL_PMM_DEV_NAME_MAX];
	struct hvl_chain c;
	/* Statistics: device thread only, read after it stopped. */
	uint64_t chains, bytes, errors;
};

/* Fill the writable part of r->c; returns the bytes written (0 only on error). */
static uint32_t rng_fill(struct rng *r)
{
	uint32_t total = 0;
	unsigned k, tries = 0;

	for (k = r->c.n_out; k < (unsigned)r->c.n_out + r->c.n_in && total < RNG_CHAIN_MAX; k++) {
		uint8_t *p = r->c.iov[k].base;
		uint32_t want = r->c.iov[k].len;

		if (want > RNG_CHAIN_MAX - total)
			want = RNG_CHAIN_MAX - total;
		while (want > 0 && tries < RNG_TRIES) {
			ssize_t n = getrandom(p, want, 0);

			tries++;
			if (n < 0) {
				if (errno == EINTR)
					continue;
				r->errors++;
				return total;
			}
			p += n;
			want -= (uint32_t)n;
			total += (uint32_t)n;
		}
		if (want > 0)
			break; /* out of tries: a partial fill is allowed */
	}
	return total;
}

static void rng_queue(struct hvl_dev *d, unsigned q)
{
	struct rng *r = d->priv;
	struct hvl_vq_dev *vq;
	unsigned budget = RNG_BUDGET;
	int pushed = 0;

	if (q != HVL_RNG_REQUESTQ || !hvl_dev_live(d))
		return;
	vq = hvl_dev_vq(d, q);
	if (vq == NULL)
		return;
	for (;;) {
		int rc = 0;

		hvl_vq_dev_disable_notify(vq);
		while (budget > 0) {
			rc = hvl_dev_pop(d, q, &r->c);
			if (rc <= 0)
				break;
			budget--;
			if (r->c.n_out != 0) {
				hvl_dev_fail(d, HVL_BROKEN_REQUEST,
					     "entropy chain %u has %u device-readable buffer(s)",
					     r->c.head, r->c.n_out);
				return;
			}
			{
				uint32_t n = rng_fill(r);

				hvl_vq_dev_push(vq, r->c.head, n);
				r->chains++;
				r->bytes += n;
				pushed = 1;
			}
		}
		if (rc < 0)
			return;
		if (budget == 0) {
			hvl_dev_kick(d);
			break;
		}
		if (!hvl_vq_dev_enable_notify(vq))
			break;
	}
	if (pushed)
		hvl_dev_vq_interrupt(d, q);
}

static void rng_poll(struct hvl_dev *d)
{
	rng_queue(d, HVL_RNG_REQUESTQ);
}

static void rng_reset(struct hvl_dev *d)
{
	(void)d;
}

static int rng_driver_ok(struct hvl_dev *d)
{
	(void)d;
	return 0;
}

static const struct hvl_dev_ops rng_ops = {
	.reset = rng_reset,
	.driver_ok = rng_driver_ok,
	.queue = rng_queue,
	.poll = rng_poll,
};

static void rng_destroy(void *priv)
{
	struct rng *r = priv;

	if (r == NULL)
		return;
	free(r->c.iov);
	free(r);
}

static void rng_stats(void *priv, char *buf, size_t len)
{
	const struct rng *r = priv;

	snprintf(buf, len, "rng: %llu chains, %llu B, %llu getrandom errors",
		 (unsigned long long)r->chains, (unsigned long long)r->bytes,
		 (unsigned long long)r->errors);
}

static int rng_create(struct hvl_pmm *pmm, struct hvl_pmm_region *rg,
		      const struct hvl_pmm_dev_config *cfg, struct hvl_dev *dev,
		      struct hvl_dev_static *st, const struct hvl_dev_ops **ops, void **priv)
{
	struct rng *r;
	uint8_t probe;

	(void)rg;
	(void)dev;
	*priv = NULL;
	if (st->num_queues != HVL_RNG_NUM_QUEUES) {
		hvl_logf(&pmm->log, HVL_LOG_ERROR, "%s: needs exactly 1 queue, has %u", cfg->name,
			 st->num_queues);
		return -EINVAL;
	}
	/* Fail at start, not at the first request, if the kernel has no getrandom. */
	if (getrandom(&probe, 1, GRND_NONBLOCK) < 0 && errno == ENOSYS) {
		hvl_logf(&pmm->log, HVL_LOG_ERROR, "%s: getrandom is not available", cfg->name);
		return -ENOSYS;
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return -ENOMEM;
	r->c.iov = calloc(RNG_IOV_CAP, sizeof(*r->c.iov));
	if (r->c.iov == NULL) {
		free(r);
		return -ENOMEM;
	}
	r->c.cap = RNG_IOV_CAP;
	snprintf(r->name, sizeof(r->name), "%s", cfg->name);
	/* §5.4: no feature bits, no configuration space. */
	st->features = HVL_F_VERSION_1 | HVL_F_EVENT_IDX | HVL_F_INDIRECT_DESC;
	st->config = NULL;
	st->config_size = 0;
	*ops = &rng_ops;
	*priv = r;
	return 0;
}

const struct hvl_pmm_backend hvl_pmm_rng_backend = {
	.type = "rng",
	.create = rng_create,
	.destroy = rng_destroy,
	.stats = rng_stats,
};

/* SPDX-License-Identifier: BSD-3-Clause */
/* Demo, entropy, remote half: read 64 random bytes twice; they must differ. */
#include <errno.h>
#include <string.h>

#include "demo.h"
#include "hvl/rng.h"

int demo_rng_remote(struct demo_remote *d, char *detail, size_t dlen)
{
	HVL_RNG_DEFINE(rng, 1024);
	uint8_t a[64], b[64];
	long n1, n2;
	int rc;

	rc = hvl_rng_open(&rng, &d->pr.r, 0, &rng_storage, sizeof(rng_storage));
	if (rc != 0) {
		snprintf(detail, dlen, "open failed: %s", strerror(-rc));
		return -1;
	}
	n1 = hvl_rng_read(&rng, a, sizeof(a), d->timeout_ms);
	n2 = hvl_rng_read(&rng, b, sizeof(b), d->timeout_ms);
	(void)hvl_rng_close(&rng);
	if (n1 != (long)sizeof(a) || n2 != (long)sizeof(b)) {
		snprintf(detail, dlen, "short read: %ld and %ld of 64", n1, n2);
		return -1;
	}
	if (memcmp(a, b, sizeof(a)) == 0) {
		snprintf(detail, dlen, "two 64-byte reads were equal");
		return -1;
	}
	snprintf(detail, dlen, "2 x 64 bytes, different (%02x%02x%02x%02x... / %02x%02x%02x%02x...)",
		 a[0], a[1], a[2], a[3], b[0], b[1], b[2], b[3]);
	return 0;
}

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Demo, entropy, Linux half: the device's Linux end is the kernel's RNG, so
 * there is nothing to play; the row comes from the remote's verdict.
 */
#include "demo.h"

int demo_rng_config(struct demo *d, FILE *f)
{
	(void)d;
	fprintf(f, "[device rt0.rng0]\ntype = rng\n");
	return 0;
}

void demo_rng_linux(struct demo *d)
{
	(void)d;
	demo_say("rng: served from getrandom(2); the remote reads and compares");
}

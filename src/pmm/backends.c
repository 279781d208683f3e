/* SPDX-License-Identifier: BSD-3-Clause */
/* The device backends this PMM is built with, by configuration type name. */
#include <stddef.h>
#include <string.h>

#include "pmm.h"

extern const struct hvl_pmm_backend hvl_pmm_console_backend;
extern const struct hvl_pmm_backend hvl_pmm_9p_backend;
extern const struct hvl_pmm_backend hvl_pmm_vsock_backend;
extern const struct hvl_pmm_backend hvl_pmm_net_backend;
extern const struct hvl_pmm_backend hvl_pmm_blk_backend;
extern const struct hvl_pmm_backend hvl_pmm_rng_backend;
extern const struct hvl_pmm_backend hvl_pmm_rpmsg_backend;

const struct hvl_pmm_backend *hvl_pmm_backend_find(const char *type)
{
	static const struct hvl_pmm_backend *const table[] = {
		&hvl_pmm_console_backend,
		&hvl_pmm_9p_backend,
		&hvl_pmm_vsock_backend,
		&hvl_pmm_net_backend,
		&hvl_pmm_blk_backend,
		&hvl_pmm_rng_backend,
		&hvl_pmm_rpmsg_backend,
	};
	size_t i;

	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (strcmp(table[i]->type, type) == 0)
			return table[i];
	return NULL;
}

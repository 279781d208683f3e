/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Cache maintenance hooks for non-coherent shared memory.  The ring code
 * calls these around every shared access it makes; on coherent platforms
 * the ops pointer is NULL and nothing is called.  No #ifdefs in ring code.
 */
#ifndef HVL_CACHE_H
#define HVL_CACHE_H

#include <stddef.h>

struct hvl_cache_ops {
	/* Write back [p, p+len) so the peer sees our stores. */
	void (*flush)(void *ctx, const void *p, size_t len);
	/* Drop cached copies of [p, p+len) so we see the peer's stores. */
	void (*invalidate)(void *ctx, const void *p, size_t len);
};

static inline void hvl_cache_flush(const struct hvl_cache_ops *ops, void *ctx,
				   const void *p, size_t len)
{
	if (ops != NULL && ops->flush != NULL)
		ops->flush(ctx, p, len);
}

static inline void hvl_cache_invalidate(const struct hvl_cache_ops *ops, void *ctx,
					const void *p, size_t len)
{
	if (ops != NULL && ops->invalidate != NULL)
		ops->invalidate(ctx, p, len);
}

#endif /* HVL_CACHE_H */

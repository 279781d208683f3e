/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Helpers shared by the libFuzzer targets in fuzz/ (docs/SECURITY.md).
 *
 * A target reads its input through struct fz, a cursor that yields zeros
 * once the input is exhausted: every input, however short, is a complete
 * run, and the fuzzer never wastes executions on "too short" rejects.
 *
 * FZ_CHECK is the harness's assertion: it guards OUR invariants (what the
 * PMM must never do whatever the remote wrote), so it must fire in every
 * build, with or without NDEBUG, and abort() so libFuzzer records a crash.
 */
#ifndef HVL_FUZZ_UTIL_H
#define HVL_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FZ_CHECK(cond)                                                              \
	do {                                                                        \
		if (!(cond)) {                                                      \
			fprintf(stderr, "%s:%d: invariant violated: %s\n", __FILE__, \
				__LINE__, #cond);                                   \
			abort();                                                    \
		}                                                                   \
	} while (0)

struct fz {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t fz_u8(struct fz *f)
{
	uint8_t v = 0;

	if (f->n > 0) {
		v = f->p[0];
		f->p++;
		f->n--;
	}
	return v;
}

static inline uint16_t fz_u16(struct fz *f)
{
	uint16_t lo = fz_u8(f);

	return (uint16_t)(lo | (uint16_t)(fz_u8(f) << 8));
}

static inline uint32_t fz_u32(struct fz *f)
{
	uint32_t lo = fz_u16(f);

	return lo | ((uint32_t)fz_u16(f) << 16);
}

static inline uint64_t fz_u64(struct fz *f)
{
	uint64_t lo = fz_u32(f);

	return lo | ((uint64_t)fz_u32(f) << 32);
}

/* Take up to @len bytes; returns how many were copied (the rest is zero). */
static inline size_t fz_bytes(struct fz *f, void *dst, size_t len)
{
	size_t k = len < f->n ? len : f->n;

	memset(dst, 0, len);
	if (k > 0)
		memcpy(dst, f->p, k);
	f->p += k;
	f->n -= k;
	return k;
}

/* Is [p, p+len) inside [base, base+size)?  Pointer arithmetic on integers. */
static inline int fz_inside(const void *p, size_t len, const void *base, size_t size)
{
	uintptr_t a = (uintptr_t)p, b = (uintptr_t)base;

	return a >= b && a - b <= size && len <= size - (a - b);
}

#endif /* HVL_FUZZ_UTIL_H */

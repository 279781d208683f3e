/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Typed little-endian wire fields and the only sanctioned ways to touch them.
 *
 * Every field that lives in shared memory is one of hvl_le16/le32/le64, so a
 * missing conversion does not compile (STYLE.md rule 5).  Values are converted,
 * never indexes.  The acquire, release and once variants are single-copy
 * atomic accesses (GCC/Clang __atomic builtins, available freestanding); they
 * are what the ring and transport code use for every field the peer can
 * change concurrently, so each shared field is fetched exactly once.
 */
#ifndef HVL_WIRE_LE_H
#define HVL_WIRE_LE_H

#include <stdint.h>

typedef struct { uint16_t v; } hvl_le16;
typedef struct { uint32_t v; } hvl_le32;
/* Two little-endian 32-bit halves, low half first: no 64-bit access needed. */
typedef struct { uint32_t lo; uint32_t hi; } hvl_le64;

#if defined(__BYTE_ORDER__) && (__BYTE_ORDER__ == __ORDER_BIG_ENDIAN__)
#define HVL_CPU_TO_LE16(x) __builtin_bswap16(x)
#define HVL_CPU_TO_LE32(x) __builtin_bswap32(x)
#else
#define HVL_CPU_TO_LE16(x) (x)
#define HVL_CPU_TO_LE32(x) (x)
#endif

/* Plain accesses: for memory only this side writes, or before publication. */
static inline uint16_t hvl_le16_get(const hvl_le16 *p) { return (uint16_t)HVL_CPU_TO_LE16(p->v); }
static inline uint32_t hvl_le32_get(const hvl_le32 *p) { return (uint32_t)HVL_CPU_TO_LE32(p->v); }
static inline uint64_t hvl_le64_get(const hvl_le64 *p)
{ return (uint64_t)HVL_CPU_TO_LE32(p->lo) | ((uint64_t)HVL_CPU_TO_LE32(p->hi) << 32); }
static inline void hvl_le16_put(hvl_le16 *p, uint16_t x) { p->v = (uint16_t)HVL_CPU_TO_LE16(x); }
static inline void hvl_le32_put(hvl_le32 *p, uint32_t x) { p->v = (uint32_t)HVL_CPU_TO_LE32(x); }
static inline void hvl_le64_put(hvl_le64 *p, uint64_t x)
{ p->lo = (uint32_t)HVL_CPU_TO_LE32((uint32_t)x); p->hi = (uint32_t)HVL_CPU_TO_LE32((uint32_t)(x >> 32)); }

/*
 * Single-copy atomic accesses to fields the peer may write at any time.
 * "once" is relaxed: it only guarantees the compiler fetches the value once
 * and without tearing; ordering comes from an explicit acquire/release.
 */
static inline uint16_t hvl_le16_once(const hvl_le16 *p)
{ return (uint16_t)HVL_CPU_TO_LE16(__atomic_load_n(&p->v, __ATOMIC_RELAXED)); }
static inline uint32_t hvl_le32_once(const hvl_le32 *p)
{ return (uint32_t)HVL_CPU_TO_LE32(__atomic_load_n(&p->v, __ATOMIC_RELAXED)); }
static inline uint16_t hvl_le16_acquire(const hvl_le16 *p)
{ return (uint16_t)HVL_CPU_TO_LE16(__atomic_load_n(&p->v, __ATOMIC_ACQUIRE)); }
static inline uint32_t hvl_le32_acquire(const hvl_le32 *p)
{ return (uint32_t)HVL_CPU_TO_LE32(__atomic_load_n(&p->v, __ATOMIC_ACQUIRE)); }
static inline void hvl_le16_set(hvl_le16 *p, uint16_t x)
{ __atomic_store_n(&p->v, (uint16_t)HVL_CPU_TO_LE16(x), __ATOMIC_RELAXED); }
static inline void hvl_le32_set(hvl_le32 *p, uint32_t x)
{ __atomic_store_n(&p->v, (uint32_t)HVL_CPU_TO_LE32(x), __ATOMIC_RELAXED); }
static inline void hvl_le16_release(hvl_le16 *p, uint16_t x)
{ __atomic_store_n(&p->v, (uint16_t)HVL_CPU_TO_LE16(x), __ATOMIC_RELEASE); }
static inline void hvl_le32_release(hvl_le32 *p, uint32_t x)
{ __atomic_store_n(&p->v, (uint32_t)HVL_CPU_TO_LE32(x), __ATOMIC_RELEASE); }

/*
 * 64-bit shared fields are read as two 32-bit halves: Cortex-M/R cores have no
 * single-copy atomic 64-bit access.  Such fields are only written while the
 * peer cannot be reading them (static layout) or are published behind a
 * 32-bit release store.
 */
static inline uint64_t hvl_le64_once(const hvl_le64 *p)
{
	uint64_t lo = (uint32_t)HVL_CPU_TO_LE32(__atomic_load_n(&p->lo, __ATOMIC_RELAXED));
	uint64_t hi = (uint32_t)HVL_CPU_TO_LE32(__atomic_load_n(&p->hi, __ATOMIC_RELAXED));
	return lo | (hi << 32);
}

static inline void hvl_le64_set(hvl_le64 *p, uint64_t x)
{
	__atomic_store_n(&p->lo, (uint32_t)HVL_CPU_TO_LE32((uint32_t)x), __ATOMIC_RELAXED);
	__atomic_store_n(&p->hi, (uint32_t)HVL_CPU_TO_LE32((uint32_t)(x >> 32)), __ATOMIC_RELAXED);
}

/* Full fence: orders a store before a later load (event index, sleeping flags). */
static inline void hvl_mb(void) { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
static inline void hvl_rmb(void) { __atomic_thread_fence(__ATOMIC_ACQUIRE); }
static inline void hvl_wmb(void) { __atomic_thread_fence(__ATOMIC_RELEASE); }

#endif /* HVL_WIRE_LE_H */

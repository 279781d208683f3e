/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A small, bounded printf-style formatter for the remote library, which is
 * freestanding (no libc stdio, no malloc, no floating point).
 *
 * Conversions: %d %i %u %x %X %o %c %s %p %%.
 * Length modifiers: hh h l ll z.  Flags: '-' '0' '+' ' ' '#'.
 * Field width and precision, both also as '*'.  Precision is the maximum
 * length for %s and the minimum number of digits for integers, as in C11
 * 7.21.6.1.  %p prints 0x followed by lowercase hex digits.
 * An unknown conversion is copied to the output as written.
 *
 * The formatter is iterative (no recursion) and never writes past the
 * buffer it is given.
 */
#ifndef HVL_FMT_H
#define HVL_FMT_H

#include <stdarg.h>
#include <stddef.h>

#if defined(__GNUC__)
#define HVL_FMT_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define HVL_FMT_PRINTF(a, b)
#endif

/* A character sink for hvl_vcbprintf(): called once per output character. */
typedef void (*hvl_fmt_sink)(void *ctx, char ch);

/*
 * Format into @buf of @size bytes.  The output is always NUL-terminated when
 * @size > 0 (@buf may be NULL when @size is 0).  Returns the number of
 * characters the full output has, without the NUL, as C snprintf does: a
 * return value >= @size means the output was truncated.  Returns -1 only if
 * @fmt is NULL.
 */
int hvl_snprintf(char *buf, size_t size, const char *fmt, ...) HVL_FMT_PRINTF(3, 4);

/* As hvl_snprintf(), with a va_list. */
int hvl_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap) HVL_FMT_PRINTF(3, 0);

/*
 * Format, handing each character to @sink(@ctx, ch).  Returns the number of
 * characters produced (or -1 if @fmt or @sink is NULL).  This is the core
 * the other two use; it lets callers stream long output in chunks.
 */
int hvl_vcbprintf(hvl_fmt_sink sink, void *ctx, const char *fmt, va_list ap) HVL_FMT_PRINTF(3, 0);

#endif /* HVL_FMT_H */

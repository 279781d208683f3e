/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hvl_snprintf (src/remote/fmt.c) against the host C library's snprintf:
 * every case is formatted by both, and the strings and return values must
 * match byte for byte.  Then the bounds: truncation at every buffer size,
 * NUL termination, size 0 with a NULL buffer, and the callback core.
 */
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include "hvl/fmt.h"

/* Not a constant, so the compiler does not warn about the truncation we test. */
static volatile size_t small_size = 7;
static int failures;
static int checks;

/* Compare one formatting of both implementations (sizes: full and small). */
#define CHECK(...)                                                                     \
	do {                                                                           \
		char want_[512], got_[512];                                            \
		int wn_ = snprintf(want_, sizeof(want_), __VA_ARGS__);                 \
		int gn_ = hvl_snprintf(got_, sizeof(got_), __VA_ARGS__);               \
		checks++;                                                              \
		if (wn_ != gn_ || strcmp(want_, got_) != 0) {                          \
			failures++;                                                    \
			fprintf(stderr, "%s:%d: FAIL %s\n  libc: %d \"%s\"\n  hvl:  %d \"%s\"\n", \
				__FILE__, __LINE__, #__VA_ARGS__, wn_, want_, gn_, got_); \
		}                                                                      \
		{                                                                      \
			char ws_[16], gs_[16];                                         \
			size_t sz_ = small_size;                                       \
			int wm_ = snprintf(ws_, sz_, __VA_ARGS__);                     \
			int gm_ = hvl_snprintf(gs_, sz_, __VA_ARGS__);                 \
			if (wm_ != gm_ || strcmp(ws_, gs_) != 0) {                     \
				failures++;                                            \
				fprintf(stderr, "%s:%d: FAIL (7-byte buffer) %s: \"%s\" vs \"%s\"\n", \
					__FILE__, __LINE__, #__VA_ARGS__, ws_, gs_);   \
			}                                                              \
		}                                                                      \
	} while (0)

static void test_integers(void)
{
	static const int ints[] = { 0, 1, -1, 7, -7, 42, 255, -255, 1000000, INT_MAX, INT_MIN };
	size_t i;

	for (i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		int v = ints[i];
		unsigned u = (unsigned)v;

		CHECK("%d", v);
		CHECK("%i", v);
		CHECK("[%5d]", v);
		CHECK("[%-5d]", v);
		CHECK("[%05d]", v);
		CHECK("[%+d]", v);
		CHECK("[% d]", v);
		CHECK("[%+08d]", v);
		CHECK("[% 08d]", v);
		CHECK("[%.3d]", v);
		CHECK("[%8.3d]", v);
		CHECK("[%-8.3d|]", v);
		CHECK("[%.0d]", v);
		CHECK("[%3.0d]", v);
		CHECK("%u", u);
		CHECK("%x", u);
		CHECK("%X", u);
		CHECK("%o", u);
		CHECK("[%#x]", u);
		CHECK("[%#X]", u);
		CHECK("[%#o]", u);
		CHECK("[%#10x]", u);
		CHECK("[%#010x]", u);
		CHECK("[%-#10x]", u);
		CHECK("[%#.0o]", u);
		CHECK("[%#.0x]", u);
		CHECK("[%#.5o]", u);
		CHECK("[%12.10x]", u);
		CHECK("[%*d]", 9, v);
		CHECK("[%-*d]", 9, v);
		CHECK("[%*d]", -9, v);
		CHECK("[%.*d]", 6, v);
		CHECK("[%.*d]", -6, v);
		CHECK("%hhd %hhu %hhx", (signed char)v, (unsigned char)u, (unsigned char)u);
		CHECK("%hd %hu %hx", (short)v, (unsigned short)u, (unsigned short)u);
	}
}

static void test_long(void)
{
	static const long long lls[] = { 0, 1, -1, 123456789012345LL, -123456789012345LL,
					 LLONG_MAX, LLONG_MIN, (long long)INT_MAX + 1 };
	size_t i;

	for (i = 0; i < sizeof(lls) / sizeof(lls[0]); i++) {
		long long v = lls[i];
		unsigned long long u = (unsigned long long)v;
		long l = (long)v;
		unsigned long ul = (unsigned long)l;

		CHECK("%lld %llu %llx %llX %llo", v, u, u, u, u);
		CHECK("[%25lld] [%-25llu] [%025llx]", v, u, u);
		CHECK("[%+lld] [%#llo] [%#llx]", v, u, u);
		CHECK("%ld %lu %lx %lo", l, ul, ul, ul);
		CHECK("[%+20ld] [%020lu]", l, ul);
		CHECK("%zu %zx", (size_t)u, (size_t)u);
		CHECK("%zd", (ssize_t)v);
		CHECK("[%+12zd]", (ssize_t)v);
	}
	CHECK("%zu", SIZE_MAX);
	CHECK("%llu", ULLONG_MAX);
	CHECK("%lo", ULONG_MAX);
}

static void test_strings_chars(void)
{
	static const char *const strs[] = { "", "a", "hello", "hello, world", "tab\there" };
	size_t i;

	for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		const char *s = strs[i];

		CHECK("%s", s);
		CHECK("[%10s]", s);
		CHECK("[%-10s]", s);
		CHECK("[%.3s]", s);
		CHECK("[%.0s]", s);
		CHECK("[%8.2s]", s);
		CHECK("[%-8.2s]", s);
		CHECK("[%*s]", -7, s);
		CHECK("[%.*s]", 4, s);
		CHECK("[%2s]", s);
	}
	CHECK("%c%c%c", 'a', 'B', '~');
	CHECK("[%5c] [%-5c]", 'x', 'y');
	CHECK("%c", 200);
	CHECK("100%%");
	CHECK("%s=%d (%#x) %c%s", "key", 17, 17u, '!', "");
	CHECK("no conversions at all");
	CHECK("%%d%%s%%");
	{
		/* Precision bounds the read: an unterminated array is fine. */
		char raw[4] = { 'a', 'b', 'c', 'd' };

		CHECK("[%.4s]", raw);
		CHECK("[%.2s]", raw);
	}
}

static void test_pointers(void)
{
	int x;
	static char tab[3];
	void *ptrs[] = { &x, (void *)tab, (void *)(uintptr_t)0x1234u, (void *)(uintptr_t)0xdeadbeefu };
	size_t i;

	/* glibc prints "(nil)" for NULL; ours prints 0x0, so only non-NULL here. */
	for (i = 0; i < sizeof(ptrs) / sizeof(ptrs[0]); i++) {
		CHECK("%p", ptrs[i]);
		CHECK("[%20p]", ptrs[i]);
		CHECK("[%-20p]", ptrs[i]);
	}
}

static int expect(int cond, const char *what)
{
	checks++;
	if (!cond) {
		failures++;
		fprintf(stderr, "FAIL: %s\n", what);
	}
	return cond;
}

/* Every buffer size from 0 to beyond the output: prefix, NUL, return. */
static void test_truncation(void)
{
	const char *full = "value=-12345 name=abcdefgh hex=0XBEEF";
	size_t flen = strlen(full);
	char buf[64];
	size_t size;

	for (size = 0; size < sizeof(buf); size++) {
		int n;

		memset(buf, 'Z', sizeof(buf));
		n = hvl_snprintf(size == 0 ? NULL : buf, size, "value=%d name=%s hex=%#X",
				 -12345, "abcdefgh", 0xbeefu);
		expect(n == (int)flen, "return value is the full length");
		if (size == 0) {
			expect(buf[0] == 'Z', "size 0 writes nothing");
			continue;
		}
		{
			size_t keep = size - 1 < flen ? size - 1 : flen;

			expect(memcmp(buf, full, keep) == 0, "truncated prefix");
			expect(buf[keep] == '\0', "always NUL-terminated");
			expect(keep + 1 >= sizeof(buf) || buf[keep + 1] == 'Z',
			       "nothing written after the NUL");
		}
	}
	expect(hvl_snprintf(buf, sizeof(buf), NULL) == -1, "NULL format");
}

/* The callback core: counts, and hands out every character, NUL included. */
struct collect {
	char buf[64];
	size_t n;
};

static void collect_put(void *ctx, char ch)
{
	struct collect *c = ctx;

	if (c->n < sizeof(c->buf))
		c->buf[c->n++] = ch;
}

static int cb_printf(struct collect *c, const char *fmt, ...) HVL_FMT_PRINTF(2, 3);
static int cb_printf(struct collect *c, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = hvl_vcbprintf(collect_put, c, fmt, ap);
	va_end(ap);
	return n;
}

static void test_callback(void)
{
	struct collect c;
	int n;

	memset(&c, 0, sizeof(c));
	n = cb_printf(&c, "a%cb%3dc", '\0', 5);
	expect(n == 7 && c.n == 7, "callback count");
	expect(memcmp(c.buf, "a\0b  5c", 7) == 0, "callback bytes, embedded NUL");
}

int main(void)
{
	test_integers();
	test_long();
	test_strings_chars();
	test_pointers();
	test_truncation();
	test_callback();
	if (failures != 0) {
		fprintf(stderr, "test_fmt: %d of %d checks failed\n", failures, checks);
		return 1;
	}
	printf("test_fmt: %d checks passed\n", checks);
	return 0;
}

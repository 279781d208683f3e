/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Bounded printf-style formatter for the freestanding remote library.
 *
 * Why our own: the remote links no libc stdio (bare-metal images often
 * have none, or a newlib printf that pulls in malloc and floating point).
 * Integers are converted with 64-bit unsigned arithmetic into a small stack
 * buffer; everything else is a pass over the format string.  No recursion,
 * every loop is bounded by the format string, a fixed digit buffer or a
 * field width (MISRA C:2012 habits, STYLE.md 14).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "hvl/fmt.h"

/* Largest int: the return value saturates here (C11 leaves overflow undefined). */
#define FMT_INT_MAX ((size_t)(~0u >> 1))
/* Octal digits of a 64-bit value (22) plus slack. */
#define FMT_DIGITS_MAX 24u

/* Flags of one conversion specification. */
#define FL_LEFT  0x01u /* '-' */
#define FL_ZERO  0x02u /* '0' */
#define FL_PLUS  0x04u /* '+' */
#define FL_SPACE 0x08u /* ' ' */
#define FL_ALT   0x10u /* '#' */

enum fmt_len { LEN_NONE, LEN_HH, LEN_H, LEN_L, LEN_LL, LEN_Z };

/* One parsed conversion specification. */
struct fmt_spec {
	unsigned flags;
	size_t width;
	size_t prec;
	int has_prec;
	enum fmt_len len;
};

/* The output state: a sink and a running count of characters produced. */
struct fmt_out {
	hvl_fmt_sink sink;
	void *ctx;
	size_t count;
};

/*
 * Every character goes through here, also those past the caller's buffer:
 * the count is what makes the snprintf return value (C11 7.21.6.5p3).
 */
static void out_ch(struct fmt_out *o, char ch)
{
	o->sink(o->ctx, ch);
	if (o->count < FMT_INT_MAX)
		o->count++;
}

static void out_pad(struct fmt_out *o, char ch, size_t n)
{
	size_t i;

	for (i = 0u; i < n; i++)
		out_ch(o, ch);
}

/* Parse a run of decimal digits (saturating), advancing *@p. */
static size_t parse_num(const char **p)
{
	size_t v = 0u;
	const char *s = *p;

	while (*s >= '0' && *s <= '9') {
		size_t d = (size_t)(unsigned char)(*s - '0');

		v = (v > (FMT_INT_MAX - d) / 10u) ? FMT_INT_MAX : (v * 10u) + d;
		s++;
	}
	*p = s;
	return v;
}

/*
 * Fetch an unsigned argument of the size the length modifier names.  The
 * va_arg type must match the promoted argument type exactly (C11 7.16.1.1),
 * so each modifier reads its own type and only then widens.
 */
static unsigned long long arg_unsigned(va_list *ap, enum fmt_len len)
{
	unsigned long long v;

	switch (len) {
	case LEN_HH:
		v = (unsigned char)va_arg(*ap, unsigned int);
		break;
	case LEN_H:
		v = (unsigned short)va_arg(*ap, unsigned int);
		break;
	case LEN_L:
		v = va_arg(*ap, unsigned long);
		break;
	case LEN_LL:
		v = va_arg(*ap, unsigned long long);
		break;
	case LEN_Z:
		v = va_arg(*ap, size_t);
		break;
	case LEN_NONE:
	default:
		v = va_arg(*ap, unsigned int);
		break;
	}
	return v;
}

/* Signed argument: magnitude in *@mag, returns 1 if negative. */
static int arg_signed(va_list *ap, enum fmt_len len, unsigned long long *mag)
{
	long long v;

	switch (len) {
	case LEN_HH:
		v = (signed char)va_arg(*ap, int);
		break;
	case LEN_H:
		v = (short)va_arg(*ap, int);
		break;
	case LEN_L:
		v = va_arg(*ap, long);
		break;
	case LEN_LL:
		v = va_arg(*ap, long long);
		break;
	case LEN_Z: {
		/* %zd: the signed type of size_t's width; read it as size_t. */
		size_t u = va_arg(*ap, size_t);
		size_t half = ((size_t)0 - 1u) >> 1;

		if (u > half) {
			*mag = (unsigned long long)(((size_t)0 - u));
			return 1;
		}
		*mag = u;
		return 0;
	}
	case LEN_NONE:
	default:
		v = va_arg(*ap, int);
		break;
	}
	if (v < 0) {
		/* -(v + 1) + 1 avoids overflow on the most negative value. */
		*mag = (unsigned long long)(-(v + 1)) + 1u;
		return 1;
	}
	*mag = (unsigned long long)v;
	return 0;
}

/*
 * Emit an integer: [pad][sign/prefix][zeros][digits][pad].  @neg selects
 * the '-' sign; @base is 8, 10 or 16; @upper selects A-F.
 */
static void emit_int(struct fmt_out *o, const struct fmt_spec *sp, unsigned long long mag,
		     int neg, int is_signed, unsigned base, int upper, int is_ptr)
{
	static const char lower_digits[] = "0123456789abcdef";
	static const char upper_digits[] = "0123456789ABCDEF";
	const char *digits = (upper != 0) ? upper_digits : lower_digits;
	char buf[FMT_DIGITS_MAX];
	char prefix[2];
	size_t nd = 0u, np = 0u, zeros = 0u, total, i;
	unsigned long long v = mag;

	/* Digits, least significant first; none for value 0 with precision 0. */
	if (!(v == 0u && sp->has_prec != 0 && sp->prec == 0u)) {
		do {
			buf[nd] = digits[v % base];
			nd++;
			v /= base;
		} while (v != 0u && nd < FMT_DIGITS_MAX);
	}
	if (is_signed != 0) {
		if (neg != 0) {
			prefix[np] = '-';
			np++;
		} else if ((sp->flags & FL_PLUS) != 0u) {
			prefix[np] = '+';
			np++;
		} else if ((sp->flags & FL_SPACE) != 0u) {
			prefix[np] = ' ';
			np++;
		} else {
			/* no sign */
		}
	}
	if (base == 16u && (is_ptr != 0 || ((sp->flags & FL_ALT) != 0u && mag != 0u))) {
		prefix[0] = '0';
		prefix[1] = (upper != 0) ? 'X' : 'x';
		np = 2u;
	}
	if (sp->has_prec != 0 && sp->prec > nd)
		zeros = sp->prec - nd;
	/* '#' with %o: the first digit must be 0 (C11 7.21.6.1p6). */
	if (base == 8u && (sp->flags & FL_ALT) != 0u && zeros == 0u &&
	    (nd == 0u || buf[nd - 1u] != '0'))
		zeros = 1u;
	total = np + zeros + nd;
	/* '0' pads after the sign, but is ignored with '-' or a precision. */
	if ((sp->flags & (FL_ZERO | FL_LEFT)) == FL_ZERO && sp->has_prec == 0 && sp->width > total) {
		zeros += sp->width - total;
		total = sp->width;
	}
	if ((sp->flags & FL_LEFT) == 0u && sp->width > total)
		out_pad(o, ' ', sp->width - total);
	for (i = 0u; i < np; i++)
		out_ch(o, prefix[i]);
	out_pad(o, '0', zeros);
	while (nd > 0u) {
		nd--;
		out_ch(o, buf[nd]);
	}
	if ((sp->flags & FL_LEFT) != 0u && sp->width > total)
		out_pad(o, ' ', sp->width - total);
}

/* Emit @s (at most prec bytes if a precision was given), padded to width. */
static void emit_str(struct fmt_out *o, const struct fmt_spec *sp, const char *s)
{
	size_t n = 0u, i;

	if (s == NULL)
		s = "(null)";
	/* Never read past prec bytes: the string need not be terminated then. */
	while ((sp->has_prec == 0 || n < sp->prec) && s[n] != '\0')
		n++;
	if ((sp->flags & FL_LEFT) == 0u && sp->width > n)
		out_pad(o, ' ', sp->width - n);
	for (i = 0u; i < n; i++)
		out_ch(o, s[i]);
	if ((sp->flags & FL_LEFT) != 0u && sp->width > n)
		out_pad(o, ' ', sp->width - n);
}

/* Parse flags, width, precision and length after '%'; advances *@p. */
static void parse_spec(const char **p, struct fmt_spec *sp, va_list *ap)
{
	const char *s = *p;
	int more = 1;

	sp->flags = 0u;
	sp->width = 0u;
	sp->prec = 0u;
	sp->has_prec = 0;
	sp->len = LEN_NONE;
	while (more != 0) {
		switch (*s) {
		case '-': sp->flags |= FL_LEFT; s++; break;
		case '0': sp->flags |= FL_ZERO; s++; break;
		case '+': sp->flags |= FL_PLUS; s++; break;
		case ' ': sp->flags |= FL_SPACE; s++; break;
		case '#': sp->flags |= FL_ALT; s++; break;
		default: more = 0; break;
		}
	}
	if (*s == '*') {
		/* A negative '*' width means '-' and its magnitude (C11 7.21.6.1p5). */
		int w = va_arg(*ap, int);

		if (w < 0) {
			sp->flags |= FL_LEFT;
			sp->width = (size_t)(-(long long)w);
		} else {
			sp->width = (size_t)w;
		}
		s++;
	} else {
		sp->width = parse_num(&s);
	}
	if (*s == '.') {
		s++;
		sp->has_prec = 1;
		if (*s == '*') {
			/* A negative '*' precision is taken as if omitted. */
			int pr = va_arg(*ap, int);

			if (pr < 0)
				sp->has_prec = 0;
			else
				sp->prec = (size_t)pr;
			s++;
		} else {
			sp->prec = parse_num(&s);
		}
	}
	if (s[0] == 'h' && s[1] == 'h') {
		sp->len = LEN_HH;
		s += 2;
	} else if (s[0] == 'h') {
		sp->len = LEN_H;
		s++;
	} else if (s[0] == 'l' && s[1] == 'l') {
		sp->len = LEN_LL;
		s += 2;
	} else if (s[0] == 'l') {
		sp->len = LEN_L;
		s++;
	} else if (s[0] == 'z') {
		sp->len = LEN_Z;
		s++;
	} else {
		/* no length modifier */
	}
	*p = s;
}

int hvl_vcbprintf(hvl_fmt_sink sink, void *ctx, const char *fmt, va_list ap)
{
	struct fmt_out o;
	struct fmt_spec sp;
	const char *p = fmt;
	va_list aq;

	if (sink == NULL || fmt == NULL)
		return -1;
	o.sink = sink;
	o.ctx = ctx;
	o.count = 0u;
	/* A copy we can pass by pointer: va_list may be an array type (x86-64). */
	va_copy(aq, ap);
	while (*p != '\0') {
		const char *start = p;
		unsigned long long mag = 0u;
		int neg;

		/* Ordinary characters are copied unchanged (C11 7.21.6.1p3). */
		if (*p != '%') {
			out_ch(&o, *p);
			p++;
			continue;
		}
		p++;
		parse_spec(&p, &sp, &aq);
		switch (*p) {
		case 'd':
		case 'i':
			neg = arg_signed(&aq, sp.len, &mag);
			emit_int(&o, &sp, mag, neg, 1, 10u, 0, 0);
			break;
		case 'u':
			emit_int(&o, &sp, arg_unsigned(&aq, sp.len), 0, 0, 10u, 0, 0);
			break;
		case 'x':
			emit_int(&o, &sp, arg_unsigned(&aq, sp.len), 0, 0, 16u, 0, 0);
			break;
		case 'X':
			emit_int(&o, &sp, arg_unsigned(&aq, sp.len), 0, 0, 16u, 1, 0);
			break;
		case 'o':
			emit_int(&o, &sp, arg_unsigned(&aq, sp.len), 0, 0, 8u, 0, 0);
			break;
		case 'p': {
			/* Deviation (MISRA 11.6): a pointer is printed as its integer value. */
			const void *ptr = va_arg(aq, const void *);

			sp.has_prec = 0;
			emit_int(&o, &sp, (unsigned long long)(uintptr_t)ptr, 0, 0, 16u, 0, 1);
			break;
		}
		case 'c': {
			char ch = (char)va_arg(aq, int);
			char one[2];

			one[0] = ch;
			one[1] = '\0';
			/* Through emit_str for the padding; a NUL char still counts once. */
			if (ch == '\0') {
				size_t pad = (sp.width > 1u) ? sp.width - 1u : 0u;

				if ((sp.flags & FL_LEFT) == 0u)
					out_pad(&o, ' ', pad);
				out_ch(&o, '\0');
				if ((sp.flags & FL_LEFT) != 0u)
					out_pad(&o, ' ', pad);
			} else {
				sp.has_prec = 0;
				emit_str(&o, &sp, one);
			}
			break;
		}
		case 's':
			emit_str(&o, &sp, va_arg(aq, const char *));
			break;
		case '%':
			out_ch(&o, '%');
			break;
		case '\0':
			/* A lone '%' at the end: print what we saw and stop. */
			while (start < p) {
				out_ch(&o, *start);
				start++;
			}
			p--; /* the loop's p++ below lands on the NUL again */
			break;
		default:
			/* Unknown conversion: copy it verbatim rather than guess. */
			while (start <= p) {
				out_ch(&o, *start);
				start++;
			}
			break;
		}
		p++;
	}
	va_end(aq);
	return (int)o.count;
}

/* Sink for a bounded buffer: keeps room for the terminating NUL. */
struct buf_sink {
	char *buf;
	size_t size;
	size_t pos;
};

/* Drops what does not fit, so hvl_vcbprintf() can keep counting. */
static void buf_put(void *ctx, char ch)
{
	struct buf_sink *b = ctx;

	if (b->size > 0u && b->pos < b->size - 1u) {
		b->buf[b->pos] = ch;
		b->pos++;
	}
}

int hvl_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct buf_sink b;
	int n;

	if (fmt == NULL)
		return -1;
	b.buf = buf;
	b.size = (buf == NULL) ? 0u : size;
	b.pos = 0u;
	n = hvl_vcbprintf(buf_put, &b, fmt, ap);
	/* pos <= size - 1 by buf_put's bound: the NUL always fits. */
	if (b.size > 0u)
		b.buf[b.pos] = '\0';
	return n;
}

int hvl_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = hvl_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

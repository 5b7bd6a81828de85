/* printf-style formatting; see format.h for what is supported. */
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"

struct out {
	char *buf;
	size_t size;
	size_t len;
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void pad(struct out *o, char c, int n)
{
	while (n-- > 0)
		put(o, c);
}

enum { F_LEFT = 1, F_ZERO = 2, F_PLUS = 4, F_SPACE = 8, F_ALT = 16, F_PTR = 32 };

static void put_number(struct out *o, u64 v, bool neg, unsigned base, bool upper,
		       int flags, int width, int prec)
{
	bool zero = v == 0;
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int n = 0;
	char sign = 0;
	const char *prefix = "";

	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v);
	if (prec == 0 && n == 1 && tmp[0] == '0')
		n = 0;
	if (neg)
		sign = '-';
	else if (flags & F_PLUS)
		sign = '+';
	else if (flags & F_SPACE)
		sign = ' ';
	int zeros = prec > n ? prec - n : 0;
	/* C: '#' adds 0x only to nonzero values, and for octal makes the first
	 * digit a 0 (no extra 0 when one is already there); %p always has 0x */
	if ((flags & F_PTR) || ((flags & F_ALT) && base == 16 && !zero))
		prefix = upper ? "0X" : "0x";
	else if ((flags & F_ALT) && base == 8 && zeros == 0 && !(n > 0 && tmp[n - 1] == '0'))
		prefix = "0";

	int total = n + zeros + (sign != 0) + (int)strlen(prefix);
	if (prec < 0 && (flags & F_ZERO) && !(flags & F_LEFT) && width > total) {
		zeros += width - total;
		total = width;
	}
	if (!(flags & F_LEFT))
		pad(o, ' ', width - total);
	if (sign)
		put(o, sign);
	for (const char *p = prefix; *p; p++)
		put(o, *p);
	pad(o, '0', zeros);
	while (n)
		put(o, tmp[--n]);
	if (flags & F_LEFT)
		pad(o, ' ', width - total);
}

static int parse_int(const char **fmt, va_list *ap, bool *given)
{
	int v = 0;
	*given = false;
	if (**fmt == '*') {
		(*fmt)++;
		*given = true;
		return va_arg(*ap, int);
	}
	while (**fmt >= '0' && **fmt <= '9') {
		*given = true;
		if (v < 100000)
			v = v * 10 + (**fmt - '0');
		(*fmt)++;
	}
	return v;
}

int kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap_in)
{
	struct out o = { buf, size, 0 };
	va_list ap;
	va_copy(ap, ap_in);

	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			put(&o, *fmt);
			continue;
		}
		fmt++;
		int flags = 0;
		for (;; fmt++) {
			if (*fmt == '-') flags |= F_LEFT;
			else if (*fmt == '0') flags |= F_ZERO;
			else if (*fmt == '+') flags |= F_PLUS;
			else if (*fmt == ' ') flags |= F_SPACE;
			else if (*fmt == '#') flags |= F_ALT;
			else break;
		}
		bool given;
		int width = parse_int(&fmt, &ap, &given);
		if (width < 0) {
			flags |= F_LEFT;
			width = -width;
		}
		int prec = -1;
		if (*fmt == '.') {
			fmt++;
			prec = parse_int(&fmt, &ap, &given);
			if (prec < 0)
				prec = -1;
		}
		int lng = 0; /* 0 int, 1 long, 2 long long, -1 short, -2 char, 3 size_t */
		for (;; fmt++) {
			if (*fmt == 'l') lng = lng == 1 ? 2 : 1;
			else if (*fmt == 'h') lng = lng == -1 ? -2 : -1;
			else if (*fmt == 'z' || *fmt == 't' || *fmt == 'j') lng = 3;
			else break;
		}
		switch (*fmt) {
		case 'd':
		case 'i': {
			s64 v;
			if (lng == 2) v = va_arg(ap, long long);
			else if (lng == 1 || lng == 3) v = va_arg(ap, long);
			else v = va_arg(ap, int);
			if (lng == -1) v = (short)v;
			if (lng == -2) v = (signed char)v;
			u64 mag = v < 0 ? (u64)0 - (u64)v : (u64)v;
			put_number(&o, mag, v < 0, 10, false, flags, width, prec);
			break;
		}
		case 'u':
		case 'x':
		case 'X':
		case 'o': {
			u64 v;
			if (lng == 2) v = va_arg(ap, unsigned long long);
			else if (lng == 1 || lng == 3) v = va_arg(ap, unsigned long);
			else v = va_arg(ap, unsigned int);
			if (lng == -1) v = (unsigned short)v;
			if (lng == -2) v = (unsigned char)v;
			unsigned base = *fmt == 'u' ? 10 : *fmt == 'o' ? 8 : 16;
			put_number(&o, v, false, base, *fmt == 'X', flags & ~(F_PLUS | F_SPACE),
				   width, prec);
			break;
		}
		case 'p': {
			uptr v = (uptr)va_arg(ap, void *);
			put_number(&o, v, false, 16, false, F_PTR | (flags & F_LEFT), width, -1);
			break;
		}
		case 'c': {
			char c = (char)va_arg(ap, int);
			if (!(flags & F_LEFT))
				pad(&o, ' ', width - 1);
			put(&o, c);
			if (flags & F_LEFT)
				pad(&o, ' ', width - 1);
			break;
		}
		case 's': {
			const char *s = va_arg(ap, const char *);
			if (!s)
				s = "(null)";
			int n = (int)strnlen(s, prec >= 0 ? (size_t)prec : (size_t)-1);
			if (!(flags & F_LEFT))
				pad(&o, ' ', width - n);
			for (int i = 0; i < n; i++)
				put(&o, s[i]);
			if (flags & F_LEFT)
				pad(&o, ' ', width - n);
			break;
		}
		case '%':
			put(&o, '%');
			break;
		case '\0':
			fmt--; /* lone '%' at the end: print nothing more */
			break;
		default:
			put(&o, '%');
			put(&o, *fmt);
			break;
		}
	}
	if (size)
		buf[o.len < size ? o.len : size - 1] = '\0';
	va_end(ap);
	return (int)o.len;
}

int ksnprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = kvsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

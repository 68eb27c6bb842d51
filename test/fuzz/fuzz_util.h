/*
 * fuzz_util.h
 *		Small helpers shared by the libFuzzer harnesses: a cursor that
 *		splits the fuzzer's bytes into typed fields, a strict UTF-8 check
 *		and a failure report that aborts.
 *
 * Nothing here includes PostgreSQL headers, so the user-agent and mailer
 * harnesses can use it too.
 */
#ifndef LA_FUZZ_UTIL_H
#define LA_FUZZ_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Stop the run: libFuzzer saves the input as a crash */
#define FUZZ_CHECK(cond, ...) \
	do { \
		if (!(cond)) \
		{ \
			fprintf(stderr, "property violated at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__); \
			fprintf(stderr, "\n"); \
			abort(); \
		} \
	} while (0)

/* Reads typed fields from the front of the fuzzer's bytes; zeros when empty */
typedef struct FuzzCursor
{
	const uint8_t *data;
	size_t		size;
} FuzzCursor;

static inline void
fuzz_take(FuzzCursor *c, void *out, size_t n)
{
	size_t		have = n < c->size ? n : c->size;

	memset(out, 0, n);
	memcpy(out, c->data, have);
	c->data += have;
	c->size -= have;
}

static inline uint8_t
fuzz_u8(FuzzCursor *c)
{
	uint8_t		v;

	fuzz_take(c, &v, 1);
	return v;
}

static inline uint16_t
fuzz_u16(FuzzCursor *c)
{
	uint16_t	v;

	fuzz_take(c, &v, 2);
	return v;
}

static inline int64_t
fuzz_i64(FuzzCursor *c)
{
	int64_t		v;

	fuzz_take(c, &v, 8);
	return v;
}

static inline double
fuzz_f8(FuzzCursor *c)
{
	double		v;

	fuzz_take(c, &v, 8);
	return v;
}

/* Take up to n bytes; *len gets the count actually taken */
static inline const uint8_t *
fuzz_bytes(FuzzCursor *c, size_t n, size_t *len)
{
	const uint8_t *p = c->data;

	*len = n < c->size ? n : c->size;
	c->data += *len;
	c->size -= *len;
	return p;
}

/*
 * Whether s[0..len) is well-formed UTF-8 without NUL bytes: no overlong
 * forms, no surrogates, nothing above U+10FFFF.  That is what PostgreSQL
 * accepts as text in a UTF-8 database.
 */
static inline bool
fuzz_valid_utf8(const uint8_t *s, size_t len)
{
	size_t		i = 0;

	while (i < len)
	{
		uint8_t		b = s[i];
		uint32_t	cp;
		size_t		n;

		if (b == 0)
			return false;
		if (b < 0x80)
		{
			i++;
			continue;
		}
		if ((b & 0xE0) == 0xC0)
			n = 2, cp = b & 0x1F;
		else if ((b & 0xF0) == 0xE0)
			n = 3, cp = b & 0x0F;
		else if ((b & 0xF8) == 0xF0)
			n = 4, cp = b & 0x07;
		else
			return false;
		if (i + n > len)
			return false;
		for (size_t k = 1; k < n; k++)
		{
			if ((s[i + k] & 0xC0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3F);
		}
		if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) ||
			(n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
			(cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		i += n;
	}
	return true;
}

#endif							/* LA_FUZZ_UTIL_H */

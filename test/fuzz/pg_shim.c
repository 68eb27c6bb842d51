/*
 * pg_shim.c
 *		Backend services for running login_anomaly's decoders outside the
 *		server: palloc on a per-input arena, ereport(ERROR) as a longjmp,
 *		StringInfo, UTF-8 verification and the GUC definitions useragent.c
 *		makes.
 *
 * The product's .c files are compiled unchanged against PostgreSQL 15's
 * server headers and linked with this file, pg_stubs.c and libpgcommon.a
 * (for PostgreSQL's own UTF-8 verifier).  The behaviour that matters to a
 * decoder is copied from the server: palloc rejects requests above
 * MaxAllocSize, pg_verifymbstr accepts exactly what the UTF-8 database
 * encoding accepts, and pg_mbcliplen follows pg_encoding_mbcliplen.
 */
#include "postgres.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/guc.h"
#include "utils/memutils.h"

#include "pg_shim.h"

/* Every palloc'd block starts with this header; 32 bytes keep MAXALIGN */
typedef struct ArenaBlock
{
	struct ArenaBlock *prev;
	struct ArenaBlock *next;
	size_t		size;
	size_t		pad;
} ArenaBlock;

static ArenaBlock arena = {&arena, &arena, 0, 0};
static size_t arena_count = 0;

static sigjmp_buf *error_jump = NULL;
static int	error_level = 0;
static char error_message[1024];

/* Settings that score.c and the trigger read; defaults as in login_anomaly.c */
double		la_threshold = 0.8;
double		la_high_threshold = 0.95;

static void *
arena_alloc(Size size, bool zero)
{
	ArenaBlock *b;

	if (!AllocSizeIsValid(size))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("invalid memory alloc request size %zu", size)));
	b = zero ? calloc(1, sizeof(ArenaBlock) + size) : malloc(sizeof(ArenaBlock) + size);
	if (b == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory")));
	b->size = size;
	b->next = arena.next;
	b->prev = &arena;
	arena.next->prev = b;
	arena.next = b;
	arena_count++;
	return b + 1;
}

void *
palloc(Size size)
{
	return arena_alloc(size, false);
}

void *
palloc0(Size size)
{
	return arena_alloc(size, true);
}

void
pfree(void *pointer)
{
	ArenaBlock *b = (ArenaBlock *) pointer - 1;

	b->prev->next = b->next;
	b->next->prev = b->prev;
	arena_count--;
	free(b);
}

void *
repalloc(void *pointer, Size size)
{
	ArenaBlock *b = (ArenaBlock *) pointer - 1;
	ArenaBlock *moved;

	if (!AllocSizeIsValid(size))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("invalid memory alloc request size %zu", size)));
	b->prev->next = b->next;
	b->next->prev = b->prev;
	moved = realloc(b, sizeof(ArenaBlock) + size);
	if (moved == NULL)
	{
		/* b is still valid: put it back so the reset frees it */
		moved = b;
	}
	moved->next = arena.next;
	moved->prev = &arena;
	arena.next->prev = moved;
	arena.next = moved;
	if (moved == b && size > b->size)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory")));
	moved->size = size;
	return moved + 1;
}

char *
pstrdup(const char *in)
{
	size_t		len = strlen(in);
	char	   *out = palloc(len + 1);

	memcpy(out, in, len + 1);
	return out;
}

char *
pnstrdup(const char *in, Size len)
{
	char	   *out;

	len = strnlen(in, len);
	out = palloc(len + 1);
	memcpy(out, in, len);
	out[len] = '\0';
	return out;
}

char *
psprintf(const char *fmt,...)
{
	va_list		args;
	int			needed;
	char	   *out;

	va_start(args, fmt);
	needed = vsnprintf(NULL, 0, fmt, args);
	va_end(args);
	if (needed < 0)
		abort();
	out = palloc(needed + 1);
	va_start(args, fmt);
	vsnprintf(out, needed + 1, fmt, args);
	va_end(args);
	return out;
}

static void
arena_reset(void)
{
	while (arena.next != &arena)
	{
		ArenaBlock *b = arena.next;

		arena.next = b->next;
		free(b);
	}
	arena.prev = &arena;
	arena_count = 0;
}

size_t
shim_arena_blocks(void)
{
	return arena_count;
}

/* Error reporting: only ERROR and above matter, and they jump back */

bool
errstart(int elevel, const char *domain)
{
	if (elevel < ERROR)
		return false;
	error_level = elevel;
	error_message[0] = '\0';
	return true;
}

bool
errstart_cold(int elevel, const char *domain)
{
	return errstart(elevel, domain);
}

void
errfinish(const char *filename, int lineno, const char *funcname)
{
	if (error_jump == NULL)
	{
		fprintf(stderr, "ereport(%d) outside shim_run at %s:%d: %s\n",
				error_level, filename, lineno, error_message);
		abort();
	}
	if (error_level > ERROR)
	{
		fprintf(stderr, "FATAL or PANIC at %s:%d: %s\n", filename, lineno,
				error_message);
		abort();
	}
	siglongjmp(*error_jump, 1);
}

int
errcode(int sqlerrcode)
{
	return 0;
}

static void
append_message(const char *fmt, va_list args)
{
	size_t		used = strlen(error_message);

	if (used + 2 < sizeof(error_message))
	{
		if (used > 0)
			error_message[used++] = ' ';
		vsnprintf(error_message + used, sizeof(error_message) - used, fmt, args);
	}
}

#define DEFINE_MESSAGE_FUNCTION(name) \
int \
name(const char *fmt,...) \
{ \
	va_list		args; \
	va_start(args, fmt); \
	append_message(fmt, args); \
	va_end(args); \
	return 0; \
}

DEFINE_MESSAGE_FUNCTION(errmsg)
DEFINE_MESSAGE_FUNCTION(errmsg_internal)
DEFINE_MESSAGE_FUNCTION(errdetail)
DEFINE_MESSAGE_FUNCTION(errdetail_internal)
DEFINE_MESSAGE_FUNCTION(errhint)

bool
shim_run(void (*fn) (void *arg), void *arg)
{
	sigjmp_buf	jump;
	volatile bool ok = false;

	if (sigsetjmp(jump, 0) == 0)
	{
		error_jump = &jump;
		fn(arg);
		ok = true;
	}
	error_jump = NULL;
	arena_reset();
	return ok;
}

const char *
shim_last_error(void)
{
	return error_message;
}

/* Encoding: the database encoding is UTF-8, as la_start_cluster creates it */

bool
pg_verifymbstr(const char *mbstr, int len, bool noError)
{
	if (pg_encoding_verifymbstr(PG_UTF8, mbstr, len) == len)
		return true;
	if (noError)
		return false;
	ereport(ERROR,
			(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
			 errmsg("invalid byte sequence for encoding \"UTF8\"")));
	return false;
}

/* The server's pg_encoding_mbcliplen for a multibyte encoding */
int
pg_mbcliplen(const char *mbstr, int len, int limit)
{
	int			clen = 0;

	while (len > 0 && *mbstr)
	{
		int			l = pg_utf_mblen((const unsigned char *) mbstr);

		if (clen + l > limit)
			break;
		clen += l;
		if (clen == limit)
			break;
		len -= l;
		mbstr += l;
	}
	return clen;
}

/* Values built by the harnesses are never compressed or external */

struct varlena *
pg_detoast_datum(struct varlena *datum)
{
	if (VARATT_IS_EXTENDED(datum) && !VARATT_IS_SHORT(datum))
		abort();
	return datum;
}

struct varlena *
pg_detoast_datum_packed(struct varlena *datum)
{
	return pg_detoast_datum(datum);
}

/* StringInfo, as in src/common/stringinfo.c but on the arena */

void
initStringInfo(StringInfo str)
{
	str->maxlen = 1024;
	str->data = palloc(str->maxlen);
	resetStringInfo(str);
}

void
resetStringInfo(StringInfo str)
{
	str->data[0] = '\0';
	str->len = 0;
	str->cursor = 0;
}

void
enlargeStringInfo(StringInfo str, int needed)
{
	int			newlen;

	if (needed < 0 || ((Size) needed) >= (MaxAllocSize - (Size) str->len))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("out of memory")));
	needed += str->len + 1;
	if (needed <= str->maxlen)
		return;
	newlen = 2 * str->maxlen;
	while (needed > newlen)
		newlen = 2 * newlen;
	if (newlen > (int) MaxAllocSize)
		newlen = (int) MaxAllocSize;
	str->data = repalloc(str->data, newlen);
	str->maxlen = newlen;
}

void
appendBinaryStringInfo(StringInfo str, const char *data, int datalen)
{
	enlargeStringInfo(str, datalen);
	memcpy(str->data + str->len, data, datalen);
	str->len += datalen;
	str->data[str->len] = '\0';
}

void
appendStringInfoString(StringInfo str, const char *s)
{
	appendBinaryStringInfo(str, s, strlen(s));
}

void
appendStringInfoChar(StringInfo str, char ch)
{
	appendBinaryStringInfo(str, &ch, 1);
}

void
appendStringInfoSpaces(StringInfo str, int count)
{
	enlargeStringInfo(str, count);
	memset(str->data + str->len, ' ', count);
	str->len += count;
	str->data[str->len] = '\0';
}

void
appendStringInfo(StringInfo str, const char *fmt,...)
{
	va_list		args;
	int			needed;

	va_start(args, fmt);
	needed = vsnprintf(NULL, 0, fmt, args);
	va_end(args);
	enlargeStringInfo(str, needed);
	va_start(args, fmt);
	vsnprintf(str->data + str->len, needed + 1, fmt, args);
	va_end(args);
	str->len += needed;
}

/* GUC definitions: the variable takes its boot value */

void
DefineCustomStringVariable(const char *name, const char *short_desc,
						   const char *long_desc, char **valueAddr,
						   const char *bootValue, GucContext context, int flags,
						   GucStringCheckHook check_hook,
						   GucStringAssignHook assign_hook,
						   GucShowHook show_hook)
{
	*valueAddr = (char *) bootValue;
}

void
DefineCustomIntVariable(const char *name, const char *short_desc,
						const char *long_desc, int *valueAddr, int bootValue,
						int minValue, int maxValue, GucContext context, int flags,
						GucIntCheckHook check_hook, GucIntAssignHook assign_hook,
						GucShowHook show_hook)
{
	*valueAddr = bootValue;
}

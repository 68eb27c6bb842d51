/*
 * serial.h
 *		Byte readers and writers for the stored formats, and JSON helpers for
 *		their text forms.  Stored integers and doubles are big-endian, so a
 *		value means the same on every platform.
 */
#ifndef LA_SERIAL_H
#define LA_SERIAL_H

#include "postgres.h"

#include "lib/stringinfo.h"
#include "access/tupdesc.h"
#include "port/pg_bswap.h"
#include "utils/jsonb.h"

/* Reads a byte buffer whose every byte may be hostile */
typedef struct LaReader
{
	const unsigned char *data;
	size_t		len;
	size_t		pos;
	const char *what;			/* "model" or "feature vector", for errors */
} LaReader;

extern void la_reader_init(LaReader *r, const void *data, size_t len,
						   const char *what);
extern uint8 la_read_u8(LaReader *r);
extern uint16 la_read_u16(LaReader *r);
extern uint32 la_read_u32(LaReader *r);
extern int64 la_read_i64(LaReader *r);
extern double la_read_f8(LaReader *r);
extern const char *la_read_bytes(LaReader *r, size_t n);
extern void la_reader_finish(LaReader *r);
extern void la_corrupt(const LaReader *r, const char *detail) pg_attribute_noreturn();

extern void la_write_u8(StringInfo buf, uint8 v);
extern void la_write_u16(StringInfo buf, uint16 v);
extern void la_write_u32(StringInfo buf, uint32 v);
extern void la_write_i64(StringInfo buf, int64 v);
extern void la_write_f8(StringInfo buf, double v);

/*
 * Writers into a buffer that the caller has sized, with the byte order and
 * rules of la_write_*.  Each returns the end of what it wrote.  Encoders on
 * a per-login path use them because StringInfo's checks cost more there
 * than the bytes.
 */
static inline char *
la_put_u8(char *p, uint8 v)
{
	*p = (char) v;
	return p + 1;
}

static inline char *
la_put_u16(char *p, uint16 v)
{
	v = pg_hton16(v);
	memcpy(p, &v, 2);
	return p + 2;
}

static inline char *
la_put_u32(char *p, uint32 v)
{
	v = pg_hton32(v);
	memcpy(p, &v, 4);
	return p + 4;
}

static inline char *
la_put_i64(char *p, int64 v)
{
	uint64		u = pg_hton64((uint64) v);

	memcpy(p, &u, 8);
	return p + 8;
}

static inline char *
la_put_f8(char *p, double v)
{
	uint64		bits;

	v += 0.0;					/* -0 is stored as +0 */
	memcpy(&bits, &v, 8);
	return la_put_i64(p, (int64) bits);
}

/* JSON output */
extern void la_json_double(StringInfo buf, double v);
extern void la_json_string(StringInfo buf, const char *s, int len);
extern void la_json_timestamp(StringInfo buf, TimestampTz ts);

/* JSON input: walk a parsed jsonb value */
extern Jsonb *la_json_parse(const char *text, const char *what);
extern JsonbValue *la_json_key(JsonbContainer *obj, const char *key);
extern double la_json_get_double(JsonbValue *v, const char *key, const char *what);
extern int64 la_json_get_int(JsonbValue *v, const char *key, const char *what,
							 int64 min, int64 max);
extern char *la_json_get_string(JsonbValue *v, const char *key, const char *what,
								int *len);
extern TimestampTz la_json_get_timestamp(JsonbValue *v, const char *key,
										 const char *what);
extern JsonbContainer *la_json_get_container(JsonbValue *v, const char *key,
											 const char *what, bool array);
extern void la_json_check_keys(JsonbContainer *obj, const char *const *keys,
							   const char *what);
extern void la_json_invalid(const char *what, const char *detail) pg_attribute_noreturn();

extern void check_result_columns(TupleDesc tupdesc, int expected);

#endif							/* LA_SERIAL_H */

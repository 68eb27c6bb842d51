/*
 * serial.c
 *		Byte readers and writers for the stored formats, and JSON helpers for
 *		their text forms.
 *
 * Every read checks the remaining length first and raises a "data
 * corrupted" error naming the byte offset, so a truncated or hand-made
 * value never reads past its end.
 */
#include "postgres.h"

#include <math.h>

#include "common/shortest_dec.h"
#include "funcapi.h"
#include "port/pg_bswap.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/fmgrprotos.h"
#include "miscadmin.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "serial.h"

void
la_reader_init(LaReader *r, const void *data, size_t len, const char *what)
{
	r->data = data;
	r->len = len;
	r->pos = 0;
	r->what = what;
}

void
la_corrupt(const LaReader *r, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("invalid %s value", r->what),
			 errdetail("%s at byte %zu of %zu.", detail, r->pos, r->len)));
}

static const unsigned char *
take(LaReader *r, size_t n)
{
	const unsigned char *p;

	if (r->len - r->pos < n)
		la_corrupt(r, "Value is truncated");
	p = r->data + r->pos;
	r->pos += n;
	return p;
}

uint8
la_read_u8(LaReader *r)
{
	return *take(r, 1);
}

uint16
la_read_u16(LaReader *r)
{
	uint16		v;

	memcpy(&v, take(r, 2), 2);
	return pg_ntoh16(v);
}

uint32
la_read_u32(LaReader *r)
{
	uint32		v;

	memcpy(&v, take(r, 4), 4);
	return pg_ntoh32(v);
}

int64
la_read_i64(LaReader *r)
{
	uint64		v;

	memcpy(&v, take(r, 8), 8);
	return (int64) pg_ntoh64(v);
}

/* Read a double; NaN and infinities are rejected here once for all callers */
double
la_read_f8(LaReader *r)
{
	uint64		bits;
	double		v;

	memcpy(&bits, take(r, 8), 8);
	bits = pg_ntoh64(bits);
	memcpy(&v, &bits, 8);
	if (!isfinite(v))
	{
		r->pos -= 8;
		la_corrupt(r, "Number is not finite");
	}
	/* -0 becomes +0, which the text form writes and reads back alike */
	return v + 0.0;
}

const char *
la_read_bytes(LaReader *r, size_t n)
{
	return (const char *) take(r, n);
}

/* Check that the whole value was consumed */
void
la_reader_finish(LaReader *r)
{
	if (r->pos != r->len)
		la_corrupt(r, "Unexpected trailing data");
}

void
la_write_u8(StringInfo buf, uint8 v)
{
	appendBinaryStringInfo(buf, (const char *) &v, 1);
}

void
la_write_u16(StringInfo buf, uint16 v)
{
	v = pg_hton16(v);
	appendBinaryStringInfo(buf, (const char *) &v, 2);
}

void
la_write_u32(StringInfo buf, uint32 v)
{
	v = pg_hton32(v);
	appendBinaryStringInfo(buf, (const char *) &v, 4);
}

void
la_write_i64(StringInfo buf, int64 v)
{
	uint64		u = pg_hton64((uint64) v);

	appendBinaryStringInfo(buf, (const char *) &u, 8);
}

void
la_write_f8(StringInfo buf, double v)
{
	uint64		bits;

	v += 0.0;					/* -0 is stored as +0 */
	memcpy(&bits, &v, 8);
	bits = pg_hton64(bits);
	appendBinaryStringInfo(buf, (const char *) &bits, 8);
}

/*
 * Append a double in its shortest form that reads back exactly, whatever
 * extra_float_digits is set to.
 */
void
la_json_double(StringInfo buf, double v)
{
	char		tmp[DOUBLE_SHORTEST_DECIMAL_LEN];

	Assert(isfinite(v));
	double_to_shortest_decimal_buf(v + 0.0, tmp);	/* -0 as 0 */
	appendStringInfoString(buf, tmp);
}

void
la_json_string(StringInfo buf, const char *s, int len)
{
	char	   *copy = pnstrdup(s, len);

	escape_json(buf, copy);
	pfree(copy);
}

/* Append a timestamp as an ISO 8601 string in UTC, whatever TimeZone is */
void
la_json_timestamp(StringInfo buf, TimestampTz ts)
{
	struct pg_tm tm;
	fsec_t		fsec;
	char		tmp[MAXDATELEN + 1];

	if (timestamp2tm(ts, NULL, &tm, &fsec, NULL, NULL) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range")));
	/* print the zone: timestamp2tm leaves tm_isdst unknown without one */
	tm.tm_isdst = 0;
	EncodeDateTime(&tm, fsec, true, 0, NULL, USE_ISO_DATES, tmp);
	appendStringInfoChar(buf, '"');
	appendStringInfoString(buf, tmp);
	appendStringInfoChar(buf, '"');
}

void
la_json_invalid(const char *what, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type %s", what),
			 errdetail("%s", detail)));
}

Jsonb *
la_json_parse(const char *text, const char *what)
{
	Jsonb	   *jb = DatumGetJsonbP(DirectFunctionCall1(jsonb_in,
														CStringGetDatum(text)));

	if (!JB_ROOT_IS_OBJECT(jb))
		la_json_invalid(what, "The text form is a JSON object.");
	return jb;
}

/* Return the value of key in an object, or NULL when absent */
JsonbValue *
la_json_key(JsonbContainer *obj, const char *key)
{
	return getKeyJsonValueFromContainer(obj, key, strlen(key), NULL);
}

/* Raise an error unless every key of obj is one of keys (NULL-terminated) */
void
la_json_check_keys(JsonbContainer *obj, const char *const *keys,
				   const char *what)
{
	JsonbIterator *it = JsonbIteratorInit(obj);
	JsonbValue	v;
	JsonbIteratorToken tok;

	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		const char *const *k;

		if (tok != WJB_KEY)
			continue;
		for (k = keys; *k; k++)
		{
			if (strlen(*k) == (size_t) v.val.string.len &&
				memcmp(*k, v.val.string.val, v.val.string.len) == 0)
				break;
		}
		if (*k == NULL)
			la_json_invalid(what, psprintf("Unknown key \"%.*s\".",
										   v.val.string.len, v.val.string.val));
	}
}

static void
expect_type(JsonbValue *v, enum jbvType type, const char *key,
			const char *what, const char *type_name)
{
	if (v == NULL)
		la_json_invalid(what, psprintf("Key \"%s\" is missing.", key));
	if (v->type != type)
		la_json_invalid(what, psprintf("Key \"%s\" must be %s.", key, type_name));
}

double
la_json_get_double(JsonbValue *v, const char *key, const char *what)
{
	double		d;

	expect_type(v, jbvNumeric, key, what, "a number");
	/* overflow gives an infinity, rejected below with the key's name */
	d = DatumGetFloat8(DirectFunctionCall1(numeric_float8_no_overflow,
										   NumericGetDatum(v->val.numeric)));
	if (!isfinite(d))
		la_json_invalid(what, psprintf("Key \"%s\" must be finite.", key));
	/* -0 becomes +0, as in the stored form */
	return d + 0.0;
}

int64
la_json_get_int(JsonbValue *v, const char *key, const char *what,
				int64 min, int64 max)
{
	double		d = la_json_get_double(v, key, what);

	if (d != floor(d) || d < (double) min || d > (double) max)
		la_json_invalid(what, psprintf("Key \"%s\" must be an integer from "
									   INT64_FORMAT " to " INT64_FORMAT ".",
									   key, min, max));
	return (int64) d;
}

char *
la_json_get_string(JsonbValue *v, const char *key, const char *what, int *len)
{
	expect_type(v, jbvString, key, what, "a string");
	*len = v->val.string.len;
	return pnstrdup(v->val.string.val, v->val.string.len);
}

TimestampTz
la_json_get_timestamp(JsonbValue *v, const char *key, const char *what)
{
	int			len;
	char	   *s = la_json_get_string(v, key, what, &len);

	return DatumGetTimestampTz(DirectFunctionCall3(timestamptz_in,
												   CStringGetDatum(s),
												   ObjectIdGetDatum(InvalidOid),
												   Int32GetDatum(-1)));
}

JsonbContainer *
la_json_get_container(JsonbValue *v, const char *key, const char *what,
					  bool array)
{
	expect_type(v, jbvBinary, key, what, array ? "an array" : "an object");
	if (array ? !JsonContainerIsArray(v->val.binary.data) :
		!JsonContainerIsObject(v->val.binary.data))
		la_json_invalid(what, psprintf("Key \"%s\" must be %s.", key,
									   array ? "an array" : "an object"));
	return v->val.binary.data;
}

/*
 * Check that a function's SQL declaration returns as many columns as its C
 * code fills.  They differ when the shared library was updated without
 * ALTER EXTENSION ... UPDATE, and forming the row would then misread
 * memory.
 */
void
check_result_columns(TupleDesc tupdesc, int expected)
{
	if (tupdesc->natts != expected)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("function returns %d columns where the login_anomaly library fills %d",
						tupdesc->natts, expected),
				 errhint("Run ALTER EXTENSION login_anomaly UPDATE to match the installed library.")));
	BlessTupleDesc(tupdesc);
}

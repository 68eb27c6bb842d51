/*
 * feature_vector.c
 *		The feature_vector type: one encoded login, as the model sees it.
 *
 * Stored format, version 1 (integers and doubles big-endian):
 *
 *	 u8   format version (1)
 *	 u8   flags: bit 0 the time is known, bit 1 the place is known
 *	 i64  login time, microseconds since 2000-01-01 UTC (when known)
 *	 f8   latitude, f8 longitude in degrees (when known)
 *	 8 x  { u8 length, bytes }: the labels of country, region, city,
 *		  browser, os, device, network and wide_network, 1 to 200 bytes each
 *
 * The hashes the model uses are not stored: they are recomputed from the
 * labels, so a value can never carry a hash that disagrees with its text.
 * The text form is a JSON object with the same content, plus the derived
 * hour of day for reading.
 */
#include "postgres.h"

#include <math.h>

#include "funcapi.h"
#include "libpq/pqformat.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/inet.h"
#include "utils/timestamp.h"

#include "login_anomaly.h"
#include "serial.h"
#include "useragent.h"

#define FV_VERSION 1
#define FV_HAS_TS 0x01
#define FV_HAS_PLACE 0x02

static const char fv_type_name[] = "login_anomaly.feature_vector";

PG_FUNCTION_INFO_V1(feature_vector_in);
PG_FUNCTION_INFO_V1(feature_vector_out);
PG_FUNCTION_INFO_V1(feature_vector_recv);
PG_FUNCTION_INFO_V1(feature_vector_send);
PG_FUNCTION_INFO_V1(la_user_agent_class);
PG_FUNCTION_INFO_V1(la_parse_address_sql);

/* Encode a login's stored parts; one allocation of the exact size */
struct varlena *
la_feature_vector_encode(const LaLogin *login)
{
	Size		len = VARHDRSZ + 2 + LA_NUM_FIELDS;
	struct varlena *result;
	char	   *p;

	if (login->has_ts)
		len += 8;
	if (login->has_place)
		len += 16;
	for (int f = 0; f < LA_NUM_FIELDS; f++)
	{
		Assert(login->label_len[f] > 0 && login->label_len[f] <= LA_VALUE_MAX);
		len += login->label_len[f];
	}

	result = palloc(len);
	SET_VARSIZE(result, len);
	p = VARDATA(result);
	p = la_put_u8(p, FV_VERSION);
	p = la_put_u8(p, (login->has_ts ? FV_HAS_TS : 0) |
				  (login->has_place ? FV_HAS_PLACE : 0));
	if (login->has_ts)
		p = la_put_i64(p, login->ts);
	if (login->has_place)
	{
		p = la_put_f8(p, login->lat);
		p = la_put_f8(p, login->lon);
	}
	for (int f = 0; f < LA_NUM_FIELDS; f++)
	{
		p = la_put_u8(p, (uint8) login->label_len[f]);
		memcpy(p, login->label[f], login->label_len[f]);
		p += login->label_len[f];
	}
	Assert(p == (char *) result + len);
	return result;
}

/*
 * Return true when every byte is ASCII and none is NUL.  Such text is valid
 * in every server encoding, and most labels are such text, so this check
 * saves a call of pg_verifymbstr per label.
 */
static bool
plain_ascii(const char *s, int len)
{
	unsigned char any_high = 0;

	for (int i = 0; i < len; i++)
	{
		if (s[i] == '\0')
			return false;
		any_high |= (unsigned char) s[i];
	}
	return (any_high & 0x80) == 0;
}

/*
 * Decode and validate stored bytes into a login.  The labels point into
 * the bytes, which the caller keeps alive.
 */
static void
decode_bytes(const char *data, size_t len, LaLogin *login)
{
	LaReader	r;
	uint8		version;
	uint8		flags;
	bool		has_lat;
	double		lat = 0;
	double		lon = 0;

	la_reader_init(&r, data, len, "feature vector");
	version = la_read_u8(&r);
	if (version != FV_VERSION)
		la_corrupt(&r, psprintf("Unsupported format version %u", version));
	flags = la_read_u8(&r);
	if (flags & ~(FV_HAS_TS | FV_HAS_PLACE))
		la_corrupt(&r, "Unknown flags");

	memset(login, 0, sizeof(LaLogin));
	la_set_time(login, (flags & FV_HAS_TS) != 0,
				(flags & FV_HAS_TS) ? la_read_i64(&r) : 0);
	if ((flags & FV_HAS_TS) && !login->has_ts)
		la_corrupt(&r, "Login time is not finite");

	has_lat = (flags & FV_HAS_PLACE) != 0;
	if (has_lat)
	{
		lat = la_read_f8(&r);
		lon = la_read_f8(&r);
	}
	la_set_place(login, has_lat, lat, has_lat, lon);
	if (has_lat && !login->has_place)
		la_corrupt(&r, "Coordinates out of range");

	for (int f = 0; f < LA_NUM_FIELDS; f++)
	{
		uint8		n = la_read_u8(&r);
		const char *s;

		if (n == 0 || n > LA_VALUE_MAX)
			la_corrupt(&r, psprintf("Invalid length of field %s", la_field_names[f]));
		s = la_read_bytes(&r, n);
		if (!plain_ascii(s, n) && !pg_verifymbstr(s, n, true))
			la_corrupt(&r, psprintf("Field %s is not valid in the database encoding",
									la_field_names[f]));
		login->label[f] = s;
		login->label_len[f] = n;
	}
	la_reader_finish(&r);
	la_compute_hashes(login);
}

void
la_feature_vector_decode(struct varlena *fv, LaLogin *login)
{
	decode_bytes(VARDATA_ANY(fv), VARSIZE_ANY_EXHDR(fv), login);
}

static const char *const fv_keys[] = {
	"ts", "hour", "lat", "lon", "country", "region", "city", "browser", "os",
	"device", "network", "wide_network", NULL
};

Datum
feature_vector_in(PG_FUNCTION_ARGS)
{
	char	   *str = PG_GETARG_CSTRING(0);
	Jsonb	   *jb = la_json_parse(str, fv_type_name);
	JsonbContainer *obj = &jb->root;
	JsonbValue *v;
	LaLogin		login;
	bool		has_lat;
	bool		has_lon;
	double		lat = 0;
	double		lon = 0;

	la_json_check_keys(obj, fv_keys, fv_type_name);
	memset(&login, 0, sizeof(login));

	v = la_json_key(obj, "ts");
	if (v != NULL && v->type != jbvNull)
	{
		TimestampTz ts = la_json_get_timestamp(v, "ts", fv_type_name);

		if (TIMESTAMP_NOT_FINITE(ts))
			la_json_invalid(fv_type_name, "Key \"ts\" must be a finite timestamp.");
		la_set_time(&login, true, ts);
	}

	v = la_json_key(obj, "lat");
	has_lat = v != NULL && v->type != jbvNull;
	if (has_lat)
		lat = la_json_get_double(v, "lat", fv_type_name);
	v = la_json_key(obj, "lon");
	has_lon = v != NULL && v->type != jbvNull;
	if (has_lon)
		lon = la_json_get_double(v, "lon", fv_type_name);
	if (has_lat != has_lon)
		la_json_invalid(fv_type_name, "Keys \"lat\" and \"lon\" are given together or not at all.");
	la_set_place(&login, has_lat, lat, has_lon, lon);
	if (has_lat && !login.has_place)
		la_json_invalid(fv_type_name, "Coordinates are out of range.");

	for (int f = 0; f < LA_NUM_FIELDS; f++)
	{
		int			len = 0;
		char	   *s = NULL;

		v = la_json_key(obj, la_field_names[f]);
		if (v != NULL && v->type != jbvNull)
			s = la_json_get_string(v, la_field_names[f], fv_type_name, &len);
		la_set_field(&login, f, s, len);
	}
	la_compute_hashes(&login);

	PG_RETURN_POINTER(la_feature_vector_encode(&login));
}

Datum
feature_vector_out(PG_FUNCTION_ARGS)
{
	struct varlena *fv = PG_DETOAST_DATUM_PACKED(PG_GETARG_DATUM(0));
	LaLogin		login;
	StringInfoData buf;

	la_feature_vector_decode(fv, &login);
	initStringInfo(&buf);

	appendStringInfoString(&buf, "{\"ts\": ");
	if (login.has_ts)
	{
		la_json_timestamp(&buf, login.ts);
		appendStringInfoString(&buf, ", \"hour\": ");
		la_json_double(&buf, login.hour);
	}
	else
		appendStringInfoString(&buf, "null");

	if (login.has_place)
	{
		appendStringInfoString(&buf, ", \"lat\": ");
		la_json_double(&buf, login.lat);
		appendStringInfoString(&buf, ", \"lon\": ");
		la_json_double(&buf, login.lon);
	}

	for (int f = 0; f < LA_NUM_FIELDS; f++)
	{
		appendStringInfo(&buf, ", \"%s\": ", la_field_names[f]);
		la_json_string(&buf, login.label[f], login.label_len[f]);
	}
	appendStringInfoChar(&buf, '}');

	PG_RETURN_CSTRING(buf.data);
}

Datum
feature_vector_recv(PG_FUNCTION_ARGS)
{
	StringInfo	msg = (StringInfo) PG_GETARG_POINTER(0);
	LaLogin		login;
	struct varlena *result;

	/* validate completely before accepting the bytes */
	decode_bytes(msg->data + msg->cursor, msg->len - msg->cursor, &login);
	result = la_feature_vector_encode(&login);
	msg->cursor = msg->len;
	PG_RETURN_POINTER(result);
}

Datum
feature_vector_send(PG_FUNCTION_ARGS)
{
	struct varlena *fv = PG_DETOAST_DATUM_PACKED(PG_GETARG_DATUM(0));
	bytea	   *result = palloc(VARHDRSZ + VARSIZE_ANY_EXHDR(fv));

	SET_VARSIZE(result, VARHDRSZ + VARSIZE_ANY_EXHDR(fv));
	memcpy(VARDATA(result), VARDATA_ANY(fv), VARSIZE_ANY_EXHDR(fv));
	PG_RETURN_BYTEA_P(result);
}

/* user_agent_class(user_agent): what the encoder keeps of a user agent */
Datum
la_user_agent_class(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	LaUserAgent ua;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	check_result_columns(tupdesc, 3);

	if (PG_ARGISNULL(0))
		la_classify_user_agent(NULL, 0, &ua);
	else
	{
		text	   *t = PG_GETARG_TEXT_PP(0);

		la_classify_user_agent(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), &ua);
	}
	values[0] = CStringGetTextDatum(ua.browser);
	values[1] = CStringGetTextDatum(ua.os);
	values[2] = CStringGetTextDatum(ua.device);

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/* parse_address(text): the address, or NULL when the text is not one */
Datum
la_parse_address_sql(PG_FUNCTION_ARGS)
{
	Datum		result;

	if (!la_parse_address(text_to_cstring(PG_GETARG_TEXT_PP(0)), &result))
		PG_RETURN_NULL();
	PG_RETURN_DATUM(result);
}

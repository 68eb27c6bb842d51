/*
 * model.c
 *		The model type: one user's one-class SVM and the summary of the values
 *		that user has used, in one stored value.
 *
 * Stored format, version 1.  Integers and doubles are big-endian; doubles
 * are IEEE 754 bit patterns, so a model scores the same after a dump and
 * restore, on another machine, or in a new session.
 *
 *	 u16  format version (1)
 *	 u16  flags, reserved, 0
 *	 u32  logins used for training
 *	 i64  trained at, microseconds since 2000-01-01 UTC
 *	 f8   nu as requested, f8 nu used (never below 1 / logins)
 *	 f8   gamma, f8 rho (libsvm's offset of the decision function)
 *	 f8 x 10  weights: country, region, city, browser, os, device, network,
 *		  wide_network, hour, place
 *	 u32  number of support vectors, then for each:
 *		  f8 alpha, u8 flags (bit 0 hour known, bit 1 place known),
 *		  f8 hour (if known), f8 lat, f8 lon (if known), u32 x 8 field hashes
 *	 8 x  field summary, in field order:
 *		  u16 number of values kept, u32 logins whose value was not kept,
 *		  u32 values seen exactly once (kept or not),
 *		  then for each value, most frequent first: u32 hash, u32 count,
 *		  u8 label length (0: no label), the label, and for the city field
 *		  only u8 place known, f8 lat, f8 lon (if known)
 *	 u32 x 24  logins per UTC hour of day
 *
 * Every value is validated completely (la_model_validate) before use, so
 * bytes from a restore, a hand-made bytea or a fuzzer give an error, never
 * a crash.  The text form is JSON with the same content.
 */
#include "postgres.h"

#include <math.h>

#include "funcapi.h"
#include "libpq/pqformat.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "login_anomaly.h"
#include "serial.h"

#define MODEL_VERSION 1
#define SV_HAS_TS 0x01
#define SV_HAS_PLACE 0x02

/* The smallest stored support vector: alpha, flags and 8 hashes */
#define SV_MIN_BYTES (8 + 1 + 4 * LA_NUM_FIELDS)

/* Generous bounds that a real model stays far below */
#define MAX_LOGINS 100000000
#define MAX_SUPPORT_VECTORS 1000000

static const char model_type_name[] = "login_anomaly.model";

PG_FUNCTION_INFO_V1(model_in);
PG_FUNCTION_INFO_V1(model_out);
PG_FUNCTION_INFO_V1(model_recv);
PG_FUNCTION_INFO_V1(model_send);
PG_FUNCTION_INFO_V1(la_model_info);

static void
invalid(const char *fmt,...)
pg_attribute_printf(1, 2) pg_attribute_noreturn();

/*
 * The error code of a failed check: stored bytes are corrupted data, text
 * input is an invalid representation.  Each entry point sets it.
 */
static int	invalid_errcode = ERRCODE_DATA_CORRUPTED;

static void
invalid(const char *fmt,...)
{
	va_list		args;
	char		detail[256];

	va_start(args, fmt);
	vsnprintf(detail, sizeof(detail), fmt, args);
	va_end(args);
	ereport(ERROR,
			(errcode(invalid_errcode),
			 errmsg("invalid login_anomaly.model value"),
			 errdetail("%s", detail)));
}

/* Check an hour and a place; the message names what, and which one */
static void
validate_hour_place(bool has_ts, double hour, bool has_place,
					double lat, double lon, const char *what, int index)
{
	if (has_ts && !(hour >= 0.0 && hour < 24.0))
		invalid("Hour %g of %s %d is out of range.", hour, what, index);
	if (has_place && !(lat >= -90.0 && lat <= 90.0 && lon >= -180.0 && lon <= 180.0))
		invalid("Coordinates of %s %d are out of range.", what, index);
}

/*
 * Check every semantic rule of a model, whichever way it was read.  The
 * structural rules (lengths, finiteness of doubles) were checked by the
 * reader.
 */
void
la_model_validate(const LaModel *m)
{
	uint64		with_ts = 0;

	if (m->logins < 1 || m->logins > MAX_LOGINS)
		invalid("Logins %d is out of range.", m->logins);
	if (TIMESTAMP_NOT_FINITE(m->trained_at))
		invalid("Training time is not finite.");
	if (!(m->nu > 0.0 && m->nu <= 1.0))
		invalid("nu %g is not in (0, 1].", m->nu);
	if (!(m->nu_effective >= m->nu && m->nu_effective <= 1.0))
		invalid("Effective nu %g is not in [nu, 1].", m->nu_effective);
	if (!(m->gamma > 0.0 && m->gamma <= 1e6))
		invalid("gamma %g is out of range.", m->gamma);
	if (!isfinite(m->rho))
		invalid("rho is not finite.");
	for (int w = 0; w < LA_NUM_WEIGHTS; w++)
	{
		if (!(m->weights[w] >= 0.0 && m->weights[w] <= 1000.0))
			invalid("Weight %s %g is out of range.", la_weight_names[w], m->weights[w]);
	}

	if (m->nsv < 1 || m->nsv > m->logins)
		invalid("Support vector count %d is out of range.", m->nsv);
	for (int i = 0; i < m->nsv; i++)
	{
		const LaSupportVector *sv = &m->sv[i];

		if (!(sv->alpha >= 0.0 && sv->alpha <= 1.0 + 1e-9))
			invalid("alpha %g of support vector %d is out of range.", sv->alpha, i);
		validate_hour_place(sv->has_ts, sv->hour, sv->has_place, sv->lat, sv->lon,
							"support vector", i);
		for (int f = 0; f < LA_NUM_FIELDS; f++)
		{
			if (sv->hash[f] > LA_HASH_MASK)
				invalid("Hash of support vector %d is out of range.", i);
		}
	}

	for (int f = 0; f < LA_NUM_FIELDS; f++)
	{
		const LaFieldSummary *s = &m->summary[f];
		uint64		total = s->other_count;

		if (s->nvalues < 1 || s->nvalues > LA_SUMMARY_MAX_VALUES)
			invalid("Value count of field %s is out of range.", la_field_names[f]);
		for (int i = 0; i < s->nvalues; i++)
		{
			const LaSeenValue *v = &s->values[i];

			if (v->hash > LA_HASH_MASK || v->count < 1)
				invalid("Value %d of field %s is invalid.", i, la_field_names[f]);
			if (i > 0 && v->count > s->values[i - 1].count)
				invalid("Values of field %s are not sorted by count.", la_field_names[f]);
			for (int j = 0; j < i; j++)
			{
				if (s->values[j].hash == v->hash)
					invalid("Field %s lists a value twice.", la_field_names[f]);
			}
			if (v->label != NULL &&
				(strlen(v->label) < 1 || strlen(v->label) > LA_SUMMARY_LABEL_MAX ||
				 !pg_verifymbstr(v->label, strlen(v->label), true)))
				invalid("Label of value %d of field %s is invalid.", i, la_field_names[f]);
			if (!isnan(v->lat))
				validate_hour_place(false, 0, true, v->lat, v->lon, "city value", i);
			total += v->count;
		}
		if (total != (uint64) m->logins)
			invalid("Counts of field %s add up to " UINT64_FORMAT ", not %d.",
					la_field_names[f], total, m->logins);
		if (s->singletons > (uint32) m->logins)
			invalid("Field %s has more values seen once than logins.", la_field_names[f]);
	}

	for (int h = 0; h < 24; h++)
		with_ts += m->hours[h];
	if (with_ts > (uint64) m->logins)
		invalid("Hour counts add up to more than the logins.");
}

/* Fill the derived fields of a support vector */
static void
prepare_sv(LaSupportVector *sv)
{
	if (sv->has_ts)
		la_hour_point(sv->hour, sv->hour_xy);
	if (sv->has_place)
		la_place_point(sv->lat, sv->lon, sv->place_xyz);
}

/*
 * Decode and validate a stored model.  The result is allocated in the
 * current memory context and does not point into raw.
 */
LaModel *
la_model_decode(struct varlena *raw)
{
	LaReader	r;
	LaModel    *m = palloc0(sizeof(LaModel));
	uint16		version;
	uint32		n;

	invalid_errcode = ERRCODE_DATA_CORRUPTED;
	la_reader_init(&r, VARDATA_ANY(raw), VARSIZE_ANY_EXHDR(raw), "login_anomaly.model");
	version = la_read_u16(&r);
	if (version != MODEL_VERSION)
		la_corrupt(&r, psprintf("Unsupported format version %u", version));
	if (la_read_u16(&r) != 0)
		la_corrupt(&r, "Unknown flags");

	n = la_read_u32(&r);
	if (n < 1 || n > MAX_LOGINS)
		la_corrupt(&r, "Login count out of range");
	m->logins = (int) n;
	m->trained_at = la_read_i64(&r);
	m->nu = la_read_f8(&r);
	m->nu_effective = la_read_f8(&r);
	m->gamma = la_read_f8(&r);
	m->rho = la_read_f8(&r);
	for (int w = 0; w < LA_NUM_WEIGHTS; w++)
		m->weights[w] = la_read_f8(&r);

	n = la_read_u32(&r);
	if (n < 1 || n > (uint32) m->logins || n > MAX_SUPPORT_VECTORS)
		la_corrupt(&r, "Support vector count out of range");
	/* allocate nothing the value's own length cannot back */
	if (n > (r.len - r.pos) / SV_MIN_BYTES)
		la_corrupt(&r, "Support vector count exceeds the value's length");
	m->nsv = (int) n;
	m->sv = palloc0(sizeof(LaSupportVector) * m->nsv);
	for (int i = 0; i < m->nsv; i++)
	{
		LaSupportVector *sv = &m->sv[i];
		uint8		flags;

		sv->alpha = la_read_f8(&r);
		flags = la_read_u8(&r);
		if (flags & ~(SV_HAS_TS | SV_HAS_PLACE))
			la_corrupt(&r, "Unknown support vector flags");
		sv->has_ts = (flags & SV_HAS_TS) != 0;
		sv->has_place = (flags & SV_HAS_PLACE) != 0;
		if (sv->has_ts)
			sv->hour = la_read_f8(&r);
		if (sv->has_place)
		{
			sv->lat = la_read_f8(&r);
			sv->lon = la_read_f8(&r);
		}
		for (int f = 0; f < LA_NUM_FIELDS; f++)
			sv->hash[f] = la_read_u32(&r);
	}

	for (int f = 0; f < LA_NUM_FIELDS; f++)
	{
		LaFieldSummary *s = &m->summary[f];

		s->nvalues = la_read_u16(&r);
		if (s->nvalues < 1 || s->nvalues > LA_SUMMARY_MAX_VALUES)
			la_corrupt(&r, "Summary value count out of range");
		s->other_count = la_read_u32(&r);
		s->singletons = la_read_u32(&r);
		s->values = palloc0(sizeof(LaSeenValue) * s->nvalues);
		for (int i = 0; i < s->nvalues; i++)
		{
			LaSeenValue *v = &s->values[i];
			uint8		len;

			v->hash = la_read_u32(&r);
			v->count = la_read_u32(&r);
			len = la_read_u8(&r);
			if (len > LA_SUMMARY_LABEL_MAX)
				la_corrupt(&r, "Label too long");
			if (len > 0)
			{
				v->label = pnstrdup(la_read_bytes(&r, len), len);
				if (strlen(v->label) != len)
					la_corrupt(&r, "Label contains a zero byte");
			}
			v->lat = v->lon = NAN;
			if (f == LA_CITY && la_read_u8(&r) != 0)
			{
				v->lat = la_read_f8(&r);
				v->lon = la_read_f8(&r);
			}
		}
	}
	for (int h = 0; h < 24; h++)
		m->hours[h] = la_read_u32(&r);
	la_reader_finish(&r);

	la_model_validate(m);
	for (int i = 0; i < m->nsv; i++)
		prepare_sv(&m->sv[i]);

	/*
	 * Scoring looks up every field's value in these arrays.  Scanning 64
	 * hashes in 256 contiguous bytes instead of 64 values 32 bytes apart
	 * took the lookups from about 10% to about 6% of the time of
	 * score(model, features) in the benchmark's join (perf samples).
	 */
	for (int f = 0; f < LA_NUM_FIELDS; f++)
	{
		LaFieldSummary *s = &m->summary[f];

		s->hashes = palloc(sizeof(uint32) * s->nvalues);
		for (int i = 0; i < s->nvalues; i++)
			s->hashes[i] = s->values[i].hash;
	}
	return m;
}

/* The stored size of a model, for la_model_encode */
static Size
encoded_size(const LaModel *m)
{
	Size		len = VARHDRSZ + 2 + 2 + 4 + 8 + 4 * 8 + LA_NUM_WEIGHTS * 8 + 4;

	for (int i = 0; i < m->nsv; i++)
		len += 8 + 1 + (m->sv[i].has_ts ? 8 : 0) + (m->sv[i].has_place ? 16 : 0) +
			4 * LA_NUM_FIELDS;
	for (int f = 0; f < LA_NUM_FIELDS; f++)
	{
		const LaFieldSummary *s = &m->summary[f];

		len += 2 + 4 + 4;
		for (int i = 0; i < s->nvalues; i++)
		{
			const LaSeenValue *v = &s->values[i];

			len += 4 + 4 + 1 + (v->label ? strlen(v->label) : 0);
			if (f == LA_CITY)
				len += 1 + (isnan(v->lat) ? 0 : 16);
		}
	}
	return len + 24 * 4;
}

/* Encode a model; one allocation of the exact size, written in place */
struct varlena *
la_model_encode(const LaModel *m)
{
	Size		len = encoded_size(m);
	struct varlena *result = palloc(len);
	char	   *p = VARDATA(result);

	SET_VARSIZE(result, len);
	p = la_put_u16(p, MODEL_VERSION);
	p = la_put_u16(p, 0);
	p = la_put_u32(p, m->logins);
	p = la_put_i64(p, m->trained_at);
	p = la_put_f8(p, m->nu);
	p = la_put_f8(p, m->nu_effective);
	p = la_put_f8(p, m->gamma);
	p = la_put_f8(p, m->rho);
	for (int w = 0; w < LA_NUM_WEIGHTS; w++)
		p = la_put_f8(p, m->weights[w]);

	p = la_put_u32(p, m->nsv);
	for (int i = 0; i < m->nsv; i++)
	{
		const LaSupportVector *sv = &m->sv[i];

		p = la_put_f8(p, sv->alpha);
		p = la_put_u8(p, (sv->has_ts ? SV_HAS_TS : 0) |
					  (sv->has_place ? SV_HAS_PLACE : 0));
		if (sv->has_ts)
			p = la_put_f8(p, sv->hour);
		if (sv->has_place)
		{
			p = la_put_f8(p, sv->lat);
			p = la_put_f8(p, sv->lon);
		}
		for (int f = 0; f < LA_NUM_FIELDS; f++)
			p = la_put_u32(p, sv->hash[f]);
	}

	for (int f = 0; f < LA_NUM_FIELDS; f++)
	{
		const LaFieldSummary *s = &m->summary[f];

		p = la_put_u16(p, s->nvalues);
		p = la_put_u32(p, s->other_count);
		p = la_put_u32(p, s->singletons);
		for (int i = 0; i < s->nvalues; i++)
		{
			const LaSeenValue *v = &s->values[i];
			int			label_len = v->label ? strlen(v->label) : 0;

			p = la_put_u32(p, v->hash);
			p = la_put_u32(p, v->count);
			p = la_put_u8(p, label_len);
			if (label_len > 0)
				memcpy(p, v->label, label_len);
			p += label_len;
			if (f == LA_CITY)
			{
				p = la_put_u8(p, isnan(v->lat) ? 0 : 1);
				if (!isnan(v->lat))
				{
					p = la_put_f8(p, v->lat);
					p = la_put_f8(p, v->lon);
				}
			}
		}
	}
	for (int h = 0; h < 24; h++)
		p = la_put_u32(p, m->hours[h]);

	Assert(p == (char *) result + len);
	return result;
}

/* Text form */

static void
json_key(StringInfo buf, const char *key, bool first)
{
	appendStringInfo(buf, "%s\"%s\": ", first ? "" : ", ", key);
}

Datum
model_out(PG_FUNCTION_ARGS)
{
	LaModel    *m = la_model_decode(PG_DETOAST_DATUM_PACKED(PG_GETARG_DATUM(0)));
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"format_version\": %d, \"logins\": %d",
					 MODEL_VERSION, m->logins);
	json_key(&buf, "trained_at", false);
	la_json_timestamp(&buf, m->trained_at);
	json_key(&buf, "nu", false);
	la_json_double(&buf, m->nu);
	json_key(&buf, "nu_effective", false);
	la_json_double(&buf, m->nu_effective);
	json_key(&buf, "gamma", false);
	la_json_double(&buf, m->gamma);
	json_key(&buf, "rho", false);
	la_json_double(&buf, m->rho);

	json_key(&buf, "weights", false);
	appendStringInfoChar(&buf, '{');
	for (int w = 0; w < LA_NUM_WEIGHTS; w++)
	{
		json_key(&buf, la_weight_names[w], w == 0);
		la_json_double(&buf, m->weights[w]);
	}
	appendStringInfoChar(&buf, '}');

	json_key(&buf, "support_vectors", false);
	appendStringInfoChar(&buf, '[');
	for (int i = 0; i < m->nsv; i++)
	{
		LaSupportVector *sv = &m->sv[i];

		appendStringInfoString(&buf, i ? ", {" : "{");
		json_key(&buf, "alpha", true);
		la_json_double(&buf, sv->alpha);
		if (sv->has_ts)
		{
			json_key(&buf, "hour", false);
			la_json_double(&buf, sv->hour);
		}
		if (sv->has_place)
		{
			json_key(&buf, "lat", false);
			la_json_double(&buf, sv->lat);
			json_key(&buf, "lon", false);
			la_json_double(&buf, sv->lon);
		}
		json_key(&buf, "hashes", false);
		for (int f = 0; f < LA_NUM_FIELDS; f++)
			appendStringInfo(&buf, "%s%u", f ? ", " : "[", sv->hash[f]);
		appendStringInfoString(&buf, "]}");
	}
	appendStringInfoChar(&buf, ']');

	json_key(&buf, "summary", false);
	appendStringInfoChar(&buf, '{');
	for (int f = 0; f < LA_NUM_FIELDS; f++)
	{
		LaFieldSummary *s = &m->summary[f];

		json_key(&buf, la_field_names[f], f == 0);
		appendStringInfo(&buf, "{\"other\": %u, \"singletons\": %u, \"values\": [",
						 s->other_count, s->singletons);
		for (int i = 0; i < s->nvalues; i++)
		{
			LaSeenValue *v = &s->values[i];

			appendStringInfo(&buf, "%s{\"hash\": %u, \"count\": %u",
							 i ? ", " : "", v->hash, v->count);
			if (v->label)
			{
				json_key(&buf, "label", false);
				la_json_string(&buf, v->label, strlen(v->label));
			}
			if (!isnan(v->lat))
			{
				json_key(&buf, "lat", false);
				la_json_double(&buf, v->lat);
				json_key(&buf, "lon", false);
				la_json_double(&buf, v->lon);
			}
			appendStringInfoChar(&buf, '}');
		}
		appendStringInfoString(&buf, "]}");
	}
	appendStringInfoChar(&buf, '}');

	json_key(&buf, "hours", false);
	for (int h = 0; h < 24; h++)
		appendStringInfo(&buf, "%s%u", h ? ", " : "[", m->hours[h]);
	appendStringInfoString(&buf, "]}");

	PG_RETURN_CSTRING(buf.data);
}

static const char *const model_keys[] = {
	"format_version", "logins", "trained_at", "nu", "nu_effective", "gamma",
	"rho", "weights", "support_vectors", "summary", "hours", NULL
};
static const char *const sv_keys[] = {"alpha", "hour", "lat", "lon", "hashes", NULL};
static const char *const summary_keys[] = {"other", "singletons", "values", NULL};
static const char *const value_keys[] = {"hash", "count", "label", "lat", "lon", NULL};

static JsonbValue *
element(JsonbContainer *array, uint32 i)
{
	return getIthJsonbValueFromContainer(array, i);
}

static void
read_json_sv(JsonbValue *item, LaSupportVector *sv)
{
	const char *what = model_type_name;
	JsonbContainer *obj = la_json_get_container(item, "support_vectors", what, false);
	JsonbContainer *hashes;
	JsonbValue *v;

	la_json_check_keys(obj, sv_keys, what);
	sv->alpha = la_json_get_double(la_json_key(obj, "alpha"), "alpha", what);
	v = la_json_key(obj, "hour");
	sv->has_ts = v != NULL;
	if (v)
		sv->hour = la_json_get_double(v, "hour", what);
	v = la_json_key(obj, "lat");
	sv->has_place = v != NULL;
	if (v)
	{
		sv->lat = la_json_get_double(v, "lat", what);
		sv->lon = la_json_get_double(la_json_key(obj, "lon"), "lon", what);
	}
	hashes = la_json_get_container(la_json_key(obj, "hashes"), "hashes", what, true);
	if (JsonContainerSize(hashes) != LA_NUM_FIELDS)
		la_json_invalid(what, "Each support vector has 8 hashes.");
	for (int f = 0; f < LA_NUM_FIELDS; f++)
		sv->hash[f] = la_json_get_int(element(hashes, f), "hashes", what, 0, LA_HASH_MASK);
}

static void
read_json_summary(JsonbContainer *summary, LaModel *m)
{
	const char *what = model_type_name;

	la_json_check_keys(summary, la_field_names, what);
	for (int f = 0; f < LA_NUM_FIELDS; f++)
	{
		LaFieldSummary *s = &m->summary[f];
		JsonbContainer *obj;
		JsonbContainer *values;

		obj = la_json_get_container(la_json_key(summary, la_field_names[f]),
									la_field_names[f], what, false);
		la_json_check_keys(obj, summary_keys, what);
		s->other_count = la_json_get_int(la_json_key(obj, "other"), "other", what,
										 0, PG_UINT32_MAX);
		s->singletons = la_json_get_int(la_json_key(obj, "singletons"), "singletons",
										what, 0, PG_UINT32_MAX);
		values = la_json_get_container(la_json_key(obj, "values"), "values", what, true);
		s->nvalues = JsonContainerSize(values);
		if (s->nvalues < 1 || s->nvalues > LA_SUMMARY_MAX_VALUES)
			la_json_invalid(what, "A field summary has 1 to 64 values.");
		s->values = palloc0(sizeof(LaSeenValue) * s->nvalues);
		for (int i = 0; i < s->nvalues; i++)
		{
			LaSeenValue *v = &s->values[i];
			JsonbContainer *vo = la_json_get_container(element(values, i), "values",
													   what, false);
			JsonbValue *jv;

			la_json_check_keys(vo, value_keys, what);
			v->hash = la_json_get_int(la_json_key(vo, "hash"), "hash", what, 0, LA_HASH_MASK);
			v->count = la_json_get_int(la_json_key(vo, "count"), "count", what, 1,
									   PG_UINT32_MAX);
			jv = la_json_key(vo, "label");
			if (jv)
			{
				int			len;

				v->label = la_json_get_string(jv, "label", what, &len);
				if (len < 1 || len > LA_SUMMARY_LABEL_MAX || (int) strlen(v->label) != len)
					la_json_invalid(what, "A label has 1 to 48 bytes.");
			}
			v->lat = v->lon = NAN;
			jv = la_json_key(vo, "lat");
			if (jv)
			{
				if (f != LA_CITY)
					la_json_invalid(what, "Only city values have coordinates.");
				v->lat = la_json_get_double(jv, "lat", what);
				v->lon = la_json_get_double(la_json_key(vo, "lon"), "lon", what);
			}
		}
	}
}

Datum
model_in(PG_FUNCTION_ARGS)
{
	const char *what = model_type_name;
	Jsonb	   *jb = la_json_parse(PG_GETARG_CSTRING(0), what);
	JsonbContainer *obj = &jb->root;
	JsonbContainer *c;
	LaModel    *m = palloc0(sizeof(LaModel));

	invalid_errcode = ERRCODE_INVALID_TEXT_REPRESENTATION;
	la_json_check_keys(obj, model_keys, what);
	if (la_json_get_int(la_json_key(obj, "format_version"), "format_version", what,
						0, PG_INT32_MAX) != MODEL_VERSION)
		la_json_invalid(what, "Only format version 1 is supported.");
	m->logins = la_json_get_int(la_json_key(obj, "logins"), "logins", what, 1, MAX_LOGINS);
	m->trained_at = la_json_get_timestamp(la_json_key(obj, "trained_at"), "trained_at", what);
	m->nu = la_json_get_double(la_json_key(obj, "nu"), "nu", what);
	m->nu_effective = la_json_get_double(la_json_key(obj, "nu_effective"), "nu_effective", what);
	m->gamma = la_json_get_double(la_json_key(obj, "gamma"), "gamma", what);
	m->rho = la_json_get_double(la_json_key(obj, "rho"), "rho", what);

	c = la_json_get_container(la_json_key(obj, "weights"), "weights", what, false);
	la_json_check_keys(c, la_weight_names, what);
	for (int w = 0; w < LA_NUM_WEIGHTS; w++)
		m->weights[w] = la_json_get_double(la_json_key(c, la_weight_names[w]),
										   la_weight_names[w], what);

	c = la_json_get_container(la_json_key(obj, "support_vectors"), "support_vectors",
							  what, true);
	m->nsv = JsonContainerSize(c);
	if (m->nsv < 1 || m->nsv > m->logins)
		la_json_invalid(what, "The number of support vectors is 1 to the number of logins.");
	m->sv = palloc0(sizeof(LaSupportVector) * m->nsv);
	for (int i = 0; i < m->nsv; i++)
		read_json_sv(element(c, i), &m->sv[i]);

	c = la_json_get_container(la_json_key(obj, "summary"), "summary", what, false);
	read_json_summary(c, m);

	c = la_json_get_container(la_json_key(obj, "hours"), "hours", what, true);
	if (JsonContainerSize(c) != 24)
		la_json_invalid(what, "Key \"hours\" has 24 counts.");
	for (int h = 0; h < 24; h++)
		m->hours[h] = la_json_get_int(element(c, h), "hours", what, 0, PG_UINT32_MAX);

	la_model_validate(m);
	invalid_errcode = ERRCODE_DATA_CORRUPTED;
	PG_RETURN_POINTER(la_model_encode(m));
}

Datum
model_recv(PG_FUNCTION_ARGS)
{
	StringInfo	msg = (StringInfo) PG_GETARG_POINTER(0);
	int			n = msg->len - msg->cursor;
	struct varlena *raw = palloc(VARHDRSZ + n);

	SET_VARSIZE(raw, VARHDRSZ + n);
	memcpy(VARDATA(raw), msg->data + msg->cursor, n);
	msg->cursor = msg->len;

	/* validate completely before accepting the bytes */
	(void) la_model_decode(raw);
	PG_RETURN_POINTER(raw);
}

Datum
model_send(PG_FUNCTION_ARGS)
{
	struct varlena *raw = PG_DETOAST_DATUM_PACKED(PG_GETARG_DATUM(0));
	bytea	   *result = palloc(VARHDRSZ + VARSIZE_ANY_EXHDR(raw));

	SET_VARSIZE(result, VARHDRSZ + VARSIZE_ANY_EXHDR(raw));
	memcpy(VARDATA(result), VARDATA_ANY(raw), VARSIZE_ANY_EXHDR(raw));
	PG_RETURN_BYTEA_P(result);
}

/* model_info(model): the facts about a model that an analyst needs first */
Datum
la_model_info(PG_FUNCTION_ARGS)
{
	struct varlena *raw = PG_DETOAST_DATUM_PACKED(PG_GETARG_DATUM(0));
	LaModel    *m = la_model_decode(raw);
	TupleDesc	tupdesc;
	Datum		values[10];
	bool		nulls[10] = {0};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	check_result_columns(tupdesc, 10);

	values[0] = Int32GetDatum(MODEL_VERSION);
	values[1] = Int32GetDatum(m->logins);
	values[2] = Int32GetDatum(m->nsv);
	values[3] = Float8GetDatum(m->nu);
	values[4] = Float8GetDatum(m->nu_effective);
	values[5] = Float8GetDatum(m->gamma);
	values[6] = Float8GetDatum(m->rho);
	values[7] = TimestampTzGetDatum(m->trained_at);
	values[8] = CStringGetTextDatum(la_format_weights(m->weights));
	values[9] = Int32GetDatum(VARSIZE_ANY(raw));

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

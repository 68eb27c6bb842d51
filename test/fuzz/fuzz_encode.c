/*
 * fuzz_encode.c
 *		libFuzzer harness for the encoder: la_encode_login in src/encode.c
 *		(with la_set_field, la_set_time, la_set_place and the user-agent
 *		classification of src/useragent.c) on arbitrary field values.
 *
 * The fuzzer's bytes become a timestamp (any int64), latitude and
 * longitude (any double bits), an inet value (IPv4 or IPv6, any address
 * bytes and prefix length) and four text values (country, region, city,
 * user agent) of arbitrary bytes except NUL, each possibly NULL or in a
 * short varlena header.  A NUL byte becomes 0x01, because no PostgreSQL
 * text value contains one, and pg_mbcliplen stops at it.
 *
 * Every login must encode to labels of 1 to 200 bytes and hashes of at
 * most 27 bits.  When every text value is what a UTF-8 database can hold
 * (valid UTF-8, no NUL byte), the feature vector built from the login must
 * also decode again to the same labels: features() stores that value, and
 * a value that cannot be read back breaks every later query on it.
 */
#include "postgres.h"

#include <math.h>
#include <sys/socket.h>

#include "login_anomaly.h"
#include "utils/inet.h"
#include "pg_shim.h"
#include "fuzz_util.h"

#define NUM_TEXT_FIELDS 4

typedef struct FuzzInput
{
	const uint8_t *data;
	size_t		size;
} FuzzInput;

/*
 * Build a text value, in a 1-byte header when short enough and requested.
 * NUL bytes become 0x01.
 */
static text *
make_text(const uint8_t *bytes, size_t len, bool short_header)
{
	text	   *t;
	char	   *payload;

	if (short_header && len + 1 <= 127)
	{
		t = palloc(len + 1);
		SET_VARSIZE_SHORT(t, len + 1);
		payload = (char *) t + 1;
	}
	else
	{
		t = palloc(VARHDRSZ + len);
		SET_VARSIZE(t, VARHDRSZ + len);
		payload = VARDATA(t);
	}
	for (size_t i = 0; i < len; i++)
		payload[i] = bytes[i] ? (char) bytes[i] : 1;
	return t;
}

static void
encode_login(void *arg)
{
	FuzzInput  *in = arg;
	FuzzCursor	c = {in->data, in->size};
	uint8_t		flags = fuzz_u8(&c);
	uint8_t		null_fields = fuzz_u8(&c);
	int64_t		ts = fuzz_i64(&c);
	double		lat = fuzz_f8(&c);
	double		lon = fuzz_f8(&c);
	uint8_t		ip_bits = fuzz_u8(&c);
	uint8_t		ip_addr_bytes[16];
	inet	   *ip = palloc0(sizeof(inet));
	text	   *fields[NUM_TEXT_FIELDS];
	bool		all_valid = true;
	LaLogin		login;
	LaLogin		decoded;
	struct varlena *fv;

	fuzz_take(&c, ip_addr_bytes, sizeof(ip_addr_bytes));
	ip->inet_data.family = (flags & 0x10) ? PGSQL_AF_INET6 : PGSQL_AF_INET;
	ip->inet_data.bits = ip_bits % (ip->inet_data.family == PGSQL_AF_INET6 ? 129 : 33);
	memcpy(ip->inet_data.ipaddr, ip_addr_bytes, ip_addrsize(ip));
	SET_INET_VARSIZE(ip);

	for (int i = 0; i < NUM_TEXT_FIELDS; i++)
	{
		size_t		want = fuzz_u16(&c);
		size_t		len;
		const uint8_t *bytes;

		/* the last field takes the rest, so long user agents are cheap to reach */
		if (i == NUM_TEXT_FIELDS - 1)
			want = c.size;
		bytes = fuzz_bytes(&c, want, &len);
		if (null_fields & (1 << i))
		{
			fields[i] = NULL;
			continue;
		}
		fields[i] = make_text(bytes, len, (null_fields & (0x10 << i)) != 0);
		if (!fuzz_valid_utf8((const uint8_t *) VARDATA_ANY(fields[i]), len))
			all_valid = false;
	}

	la_encode_login(&login, (flags & 0x01) != 0, ts,
					PointerGetDatum(ip), (flags & 0x08) != 0,
					fields[0], fields[1], fields[2], fields[3],
					(flags & 0x02) != 0, lat, (flags & 0x04) != 0, lon);

	for (int f = 0; f < LA_NUM_FIELDS; f++)
	{
		FUZZ_CHECK(login.label_len[f] >= 1 && login.label_len[f] <= LA_VALUE_MAX,
				   "label of field %s has length %d", la_field_names[f], login.label_len[f]);
		FUZZ_CHECK(login.hash[f] <= LA_HASH_MASK, "hash out of range");
	}
	FUZZ_CHECK(!login.has_ts || (login.hour >= 0.0 && login.hour < 24.0),
			   "hour %g out of range", login.hour);
	FUZZ_CHECK(isfinite(login.place_xyz[0]) && isfinite(login.place_xyz[1]) &&
			   isfinite(login.place_xyz[2]), "place is not finite");
	FUZZ_CHECK(!login.has_place || (lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180),
			   "out-of-range coordinates accepted");

	if (!all_valid)
		return;

	/* What features() returns must be readable */
	fv = la_feature_vector_encode(&login);
	la_feature_vector_decode(fv, &decoded);
	for (int f = 0; f < LA_NUM_FIELDS; f++)
	{
		FUZZ_CHECK(decoded.label_len[f] == login.label_len[f] &&
				   memcmp(decoded.label[f], login.label[f], login.label_len[f]) == 0,
				   "label of field %s changes through the feature vector", la_field_names[f]);
		FUZZ_CHECK(decoded.hash[f] == login.hash[f], "hash changes through the feature vector");
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FuzzInput	in = {data, size};

	if (!shim_run(encode_login, &in))
	{
		/* la_encode_login has no error path; only the round trip may raise one */
		FUZZ_CHECK(false, "encoding raised an error: %s", shim_last_error());
	}
	return 0;
}

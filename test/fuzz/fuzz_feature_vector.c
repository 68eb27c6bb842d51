/*
 * fuzz_feature_vector.c
 *		libFuzzer harness for the feature vector's stored format:
 *		la_feature_vector_decode in src/feature_vector.c on arbitrary bytes,
 *		as feature_vector_recv and every reader of a stored value call it.
 *
 * The format has one encoding per value, so a value that decodes must
 * re-encode to exactly its own bytes, except that a coordinate of -0 is
 * read as +0 (so that the text form reads back to the same value).  Its
 * labels must be 1 to 200 bytes of valid UTF-8 and its hashes at most 27
 * bits.
 */
#include "postgres.h"

#include <math.h>

#include "login_anomaly.h"
#include "pg_shim.h"
#include "fuzz_util.h"

/* The default weights of login_anomaly.weights */
static const double default_weights[LA_NUM_WEIGHTS] = {
	1, 0.5, 0.5, 1, 1, 0.5, 0.5, 0.5, 0.5, 1
};

typedef struct FuzzInput
{
	const uint8_t *data;
	size_t		size;
} FuzzInput;

/* Byte offsets in the stored format: version, flags, then the optional parts */
#define FV_FLAG_OFFSET 1
#define FV_FLAG_HAS_TS 0x01
#define FV_FLAG_HAS_PLACE 0x02

/*
 * The bytes the encoder writes for a value that decoded from data: data
 * itself, with each coordinate of -0 written as +0
 */
static char *
canonical_bytes(const uint8_t *data, size_t size)
{
	static const uint8_t negative_zero[8] = {0x80, 0, 0, 0, 0, 0, 0, 0};
	char	   *bytes = palloc(size);
	uint8_t		flags = data[FV_FLAG_OFFSET];
	size_t		at = FV_FLAG_OFFSET + 1 + ((flags & FV_FLAG_HAS_TS) ? 8 : 0);

	memcpy(bytes, data, size);
	if ((flags & FV_FLAG_HAS_PLACE) == 0)
		return bytes;
	for (int c = 0; c < 2; c++, at += 8)
	{
		if (memcmp(data + at, negative_zero, 8) == 0)
			memset(bytes + at, 0, 8);
	}
	return bytes;
}

static void
decode_feature_vector(void *arg)
{
	FuzzInput  *in = arg;
	struct varlena *raw = palloc(VARHDRSZ + in->size);
	struct varlena *again;
	LaLogin		login;
	LaSupportVector sv;

	SET_VARSIZE(raw, VARHDRSZ + in->size);
	memcpy(VARDATA(raw), in->data, in->size);
	la_feature_vector_decode(raw, &login);

	for (int f = 0; f < LA_NUM_FIELDS; f++)
	{
		FUZZ_CHECK(login.label_len[f] >= 1 && login.label_len[f] <= LA_VALUE_MAX,
				   "label %d has length %d", f, login.label_len[f]);
		FUZZ_CHECK(fuzz_valid_utf8((const uint8_t *) login.label[f], login.label_len[f]),
				   "label %d is not valid UTF-8", f);
		FUZZ_CHECK(login.hash[f] <= LA_HASH_MASK, "hash %d out of range", f);
	}
	FUZZ_CHECK(!login.has_ts || (login.hour >= 0.0 && login.hour < 24.0),
			   "hour %g out of range", login.hour);
	FUZZ_CHECK(!login.has_place ||
			   (login.lat >= -90 && login.lat <= 90 && login.lon >= -180 && login.lon <= 180),
			   "place out of range");

	again = la_feature_vector_encode(&login);
	FUZZ_CHECK(VARSIZE(again) == VARSIZE(raw) &&
			   memcmp(VARDATA(again), canonical_bytes(in->data, in->size), in->size) == 0,
			   "re-encoding changes the bytes");

	la_login_to_sv(&login, &sv);
	/* cos^2 + sin^2 may round just below 1, so allow rounding error */
	FUZZ_CHECK(la_login_distance(default_weights, &sv, &login) < 1e-12,
			   "a login is %g from itself", la_login_distance(default_weights, &sv, &login));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FuzzInput	in = {data, size};

	(void) shim_run(decode_feature_vector, &in);
	return 0;
}

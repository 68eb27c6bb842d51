/*
 * fuzz_model.c
 *		libFuzzer harness for the model's stored format: la_model_decode in
 *		src/model.c on arbitrary bytes, as model_recv and every reader of a
 *		stored model call it.
 *
 * A value that decodes must also re-encode to a value of the same length
 * that decodes to identical bytes, and must score fixed logins to a
 * number in (0, 1].  A value that does not decode must end in
 * ereport(ERROR), which the shim turns into a return.
 */
#include "postgres.h"

#include <math.h>

#include "login_anomaly.h"
#include "pg_shim.h"
#include "fuzz_util.h"

typedef struct FuzzInput
{
	const uint8_t *data;
	size_t		size;
} FuzzInput;

/* Fill login with fixed field values, a time and optionally a place */
static void
make_login(LaLogin *login, int variant)
{
	static const char *const values[2][LA_NUM_FIELDS] = {
		{"US", "New York", "New York", "Chrome", "Windows", "desktop",
		"198.51.100.0/24", "198.51.0.0/16"},
		{"UA", "Kyiv City", "Kyiv", "Firefox", "Linux", "desktop",
		"203.0.113.0/24", "203.0.0.0/16"},
	};

	memset(login, 0, sizeof(*login));
	la_set_time(login, variant != 2, (TimestampTz) variant * 3600 * USECS_PER_SEC);
	la_set_place(login, variant == 0, 40.71, variant == 0, -74.0);
	for (int f = 0; f < LA_NUM_FIELDS; f++)
	{
		const char *v = values[variant % 2][f];

		la_set_field(login, f, v, strlen(v));
	}
	la_compute_hashes(login);
}

static void
check_score(const LaModel *m, const LaLogin *login)
{
	double		s = la_score(m, login);

	FUZZ_CHECK(s > 0.0 && s <= 1.0, "score %g is outside (0, 1]", s);
}

static void
decode_model(void *arg)
{
	FuzzInput  *in = arg;
	struct varlena *raw = palloc(VARHDRSZ + in->size);
	struct varlena *again;
	struct varlena *third;
	LaModel    *m;
	LaLogin		login;

	SET_VARSIZE(raw, VARHDRSZ + in->size);
	memcpy(VARDATA(raw), in->data, in->size);
	m = la_model_decode(raw);

	/* An accepted value is kept as is, so its re-encoding must be stable */
	again = la_model_encode(m);
	FUZZ_CHECK(VARSIZE(again) == VARSIZE(raw),
			   "re-encoded size %u differs from accepted size %u",
			   (unsigned) VARSIZE(again), (unsigned) VARSIZE(raw));
	third = la_model_encode(la_model_decode(again));
	FUZZ_CHECK(VARSIZE(third) == VARSIZE(again) &&
			   memcmp(third, again, VARSIZE(again)) == 0,
			   "decode(encode(model)) changes the model");

	for (int variant = 0; variant < 3; variant++)
	{
		make_login(&login, variant);
		check_score(m, &login);
	}

	/* A login equal to the first support vector */
	login.has_ts = m->sv[0].has_ts;
	login.has_place = m->sv[0].has_place;
	memcpy(login.hour_xy, m->sv[0].hour_xy, sizeof(login.hour_xy));
	memcpy(login.place_xyz, m->sv[0].place_xyz, sizeof(login.place_xyz));
	memcpy(login.hash, m->sv[0].hash, sizeof(login.hash));
	/* cos^2 + sin^2 may round just below 1; weights are at most 1000 */
	FUZZ_CHECK(la_login_distance(m->weights, &m->sv[0], &login) < 1e-9,
			   "a support vector is %g from itself",
			   la_login_distance(m->weights, &m->sv[0], &login));
	check_score(m, &login);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FuzzInput	in = {data, size};

	(void) shim_run(decode_model, &in);
	return 0;
}

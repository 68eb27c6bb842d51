/*
 * score.c
 *		Score a login against a model, and explain what makes it unusual.
 *
 * The SVM's kernel sum g(x) = sum_i alpha_i * exp(-gamma * d(sv_i, x)) is
 * large where the user's past logins are dense.  libsvm places its
 * boundary at g(x) = rho, so that at most a share nu of the training logins
 * fall outside.  The score is rho / (rho + g(x)):
 *
 *	 - 0.5 exactly on the boundary, below it inside, towards 1 outside;
 *	 - the same scale for every user, because it measures g(x) against that
 *	   user's own boundary, so one threshold serves all users;
 *	 - never NaN: g(x) >= 0 and rho is kept positive.
 *
 * Since a changed field costs its weight in squared distance, g(x) / rho
 * falls roughly as exp(-gamma * sum of the weights of changed fields).
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "login_anomaly.h"

PG_FUNCTION_INFO_V1(la_score_model);
PG_FUNCTION_INFO_V1(la_explain_model);
PG_FUNCTION_INFO_V1(la_risk_level_sql);

/* Distances beyond this many kilometres from every usual place are reported */
#define FAR_KM 500.0
#define EARTH_RADIUS_KM 6371.0

/* A value seen in fewer than this share of logins is reported as rare */
#define RARE_SHARE 0.02

double
la_score(const LaModel *m, const LaLogin *login)
{
	double		g = 0.0;
	double		rho = Max(m->rho, 1e-12);

	for (int i = 0; i < m->nsv; i++)
	{
		const LaSupportVector *sv = &m->sv[i];

		g += sv->alpha * exp(-m->gamma * la_login_distance(m->weights, sv, login));
	}
	return rho / (rho + g);
}

const char *
la_risk_level(double score)
{
	if (score <= la_threshold)
		return "low";
	if (score <= la_high_threshold)
		return "medium";
	return "high";
}

static const LaSeenValue *
find_value(const LaFieldSummary *s, uint32 hash)
{
	for (int i = 0; i < s->nvalues; i++)
	{
		if (s->values[i].hash == hash)
			return &s->values[i];
	}
	return NULL;
}

/* Describe how a field's value compares with the user's history, or NULL */
static char *
describe_field(const LaModel *m, const LaLogin *login, LaField f)
{
	const LaFieldSummary *s = &m->summary[f];
	const LaSeenValue *seen = find_value(s, login->hash[f]);
	const char *name = la_field_names[f];
	char	   *value = pnstrdup(login->label[f], login->label_len[f]);
	const char *usual = s->values[0].label;
	char	   *usual_part = "";

	if (usual != NULL && s->values[0].hash != login->hash[f])
		usual_part = psprintf(" (usual: %s)", usual);

	if (seen == NULL && s->other_count == 0)
		return psprintf("%s %s never seen in %d logins%s",
						name, value, m->logins, usual_part);
	if (seen == NULL)
		return psprintf("%s %s not among the %d most used in %d logins%s",
						name, value, s->nvalues, m->logins, usual_part);
	if (seen->count < RARE_SHARE * m->logins)
		return psprintf("%s %s seen in only %u of %d logins%s",
						name, value, seen->count, m->logins, usual_part);
	return NULL;
}

static bool
is_new(const LaModel *m, const LaLogin *login, LaField f)
{
	return find_value(&m->summary[f], login->hash[f]) == NULL;
}

static char *
describe_hour(const LaModel *m, const LaLogin *login)
{
	int			h = Min((int) login->hour, 23);
	uint32		near = m->hours[h] + m->hours[(h + 1) % 24] + m->hours[(h + 23) % 24];
	uint32		total = 0;
	int			busiest = 0;

	for (int i = 0; i < 24; i++)
	{
		total += m->hours[i];
		if (m->hours[i] > m->hours[busiest])
			busiest = i;
	}
	if (total == 0 || near > 0)
		return NULL;
	return psprintf("hour %02d:%02d UTC unusual: no login within an hour of it in %u logins (busiest hour %02d:00 UTC)",
					h, (int) ((login->hour - h) * 60.0), total, busiest);
}

static double
great_circle_km(double lat1, double lon1, double lat2, double lon2)
{
	double		p1 = lat1 * M_PI / 180.0;
	double		p2 = lat2 * M_PI / 180.0;
	double		dp = p2 - p1;
	double		dl = (lon2 - lon1) * M_PI / 180.0;
	double		a = sin(dp / 2) * sin(dp / 2) + cos(p1) * cos(p2) * sin(dl / 2) * sin(dl / 2);

	return 2.0 * EARTH_RADIUS_KM * asin(Min(1.0, sqrt(a)));
}

static char *
describe_place(const LaModel *m, const LaLogin *login)
{
	const LaFieldSummary *s = &m->summary[LA_CITY];
	const LaSeenValue *nearest = NULL;
	double		best = 0;

	if (!login->has_place)
		return NULL;
	for (int i = 0; i < s->nvalues; i++)
	{
		double		km;

		if (isnan(s->values[i].lat))
			continue;
		km = great_circle_km(login->lat, login->lon, s->values[i].lat, s->values[i].lon);
		if (nearest == NULL || km < best)
		{
			nearest = &s->values[i];
			best = km;
		}
	}
	if (nearest == NULL || best <= FAR_KM)
		return NULL;
	if (nearest->label)
		return psprintf("%.0f km from the nearest usual place (%s)", best, nearest->label);
	return psprintf("%.0f km from the nearest usual place", best);
}

/*
 * The reasons a login is unusual for this model, most telling first, as a
 * text[].  Empty when no single field stands out.  A changed country hides
 * the changes of region and city it implies, and so on down.
 */
Datum
la_explain(const LaModel *m, const LaLogin *login)
{
	static const LaField order[] = {
		LA_COUNTRY, LA_REGION, LA_CITY, LA_BROWSER, LA_OS, LA_DEVICE,
		LA_WIDE_NETWORK, LA_NETWORK
	};
	Datum		items[LA_NUM_FIELDS + 2];
	int			n = 0;
	char	   *s;

	for (int i = 0; i < lengthof(order); i++)
	{
		LaField		f = order[i];

		if (m->weights[f] <= 0.0)
			continue;
		if ((f == LA_REGION || f == LA_CITY) && is_new(m, login, LA_COUNTRY))
			continue;
		if (f == LA_CITY && is_new(m, login, LA_REGION))
			continue;
		if (f == LA_NETWORK && is_new(m, login, LA_WIDE_NETWORK))
			continue;
		s = describe_field(m, login, f);
		if (s)
			items[n++] = CStringGetTextDatum(s);
	}
	if (m->weights[LA_W_HOUR] > 0.0 && login->has_ts && (s = describe_hour(m, login)))
		items[n++] = CStringGetTextDatum(s);
	if (m->weights[LA_W_PLACE] > 0.0 && (s = describe_place(m, login)))
		items[n++] = CStringGetTextDatum(s);

	return PointerGetDatum(construct_array(items, n, TEXTOID, -1, false, TYPALIGN_INT));
}

/* score(model, features) */
Datum
la_score_model(PG_FUNCTION_ARGS)
{
	LaModel    *m = la_model_decode(PG_DETOAST_DATUM_PACKED(PG_GETARG_DATUM(0)));
	LaLogin		login;

	la_feature_vector_decode(PG_DETOAST_DATUM_PACKED(PG_GETARG_DATUM(1)), &login);
	PG_RETURN_FLOAT8(la_score(m, &login));
}

/* explain(model, features) */
Datum
la_explain_model(PG_FUNCTION_ARGS)
{
	LaModel    *m = la_model_decode(PG_DETOAST_DATUM_PACKED(PG_GETARG_DATUM(0)));
	LaLogin		login;

	la_feature_vector_decode(PG_DETOAST_DATUM_PACKED(PG_GETARG_DATUM(1)), &login);
	PG_RETURN_DATUM(la_explain(m, &login));
}

/* risk_level(score): low, medium or high under the current thresholds */
Datum
la_risk_level_sql(PG_FUNCTION_ARGS)
{
	double		score = PG_GETARG_FLOAT8(0);

	if (isnan(score))
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(la_risk_level(score)));
}

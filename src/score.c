/*
 * score.c
 *		Score a login against a model, and explain what makes it unusual.
 *
 * The score adds two kinds of evidence, in nats (natural-log units), into
 * one risk R, then maps it to (0, 1) with a logistic curve.
 *
 * Novelty.  The login's fields form three chains from coarse to fine:
 * country > region > city, wide network > network, and device class > OS
 * > browser.  In each chain the first level whose value the user has never
 * used adds -ln(p_new), where p_new is the chance that this user uses a
 * value new at that level.  It is estimated Good-Turing style from the
 * user's own history: the values seen exactly once (for the country, the
 * countries), over the logins, with the first login left out because its
 * values were new by definition.  The estimate is shrunk towards a
 * population rate with the weight of NOVELTY_PRIOR_LOGINS logins:
 *
 *	 p_new = (max(singletons - 1, 0) + NOVELTY_PRIOR_LOGINS * population_rate)
 *			 / (logins - 1 + NOVELTY_PRIOR_LOGINS)
 *
 * So a new network costs little for a phone user whose networks change all
 * the time and a lot for a desktop that always sits behind one; a user with
 * three logins is judged mostly by the population.  Finer levels of a new
 * value add nothing: a new country implies a new city.  The chains then
 * weigh each other, as novelty() describes.
 *
 * The SVM.  The kernel sum g(x) = sum_i alpha_i * exp(-gamma * d(sv_i, x))
 * is large where the user's past logins are dense, and libsvm places its
 * boundary at g(x) = rho.  SVM_WEIGHT * ln(rho / g(x)), clamped to
 * +-SVM_CLAMP, adds what the combinations of fields say: positive outside
 * the boundary, negative inside.  It also orders the many logins that have
 * nothing new.
 *
 * The score is 1 / (1 + exp(-(R - RISK_MIDPOINT) / RISK_SCALE)): the same
 * scale for every user, never NaN.
 *
 * The constants were chosen on the generated benchmark of
 * test/quality/run.sh (3,000 users, 7 test days, models retrained every
 * night); README.md gives the figures.  The midpoint and scale put the
 * default threshold 0.8 (a risk of 5.0 nats) near 0.5% false positives and
 * the high level's 0.95 (7.3 nats) below 0.1% there, and leave room above
 * 0.95 to tell two new things from three.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"

#include "login_anomaly.h"

PG_FUNCTION_INFO_V1(la_score_model);
PG_FUNCTION_INFO_V1(la_explain_model);
PG_FUNCTION_INFO_V1(la_risk_level_sql);

/* Distances beyond this many kilometres from every usual place are reported */
#define FAR_KM 500.0
#define EARTH_RADIUS_KM 6371.0

/* A value seen in fewer than this share of logins is reported as rare */
#define RARE_SHARE 0.02

/* Weight, in logins, of the population rate in a user's novelty rate */
#define NOVELTY_PRIOR_LOGINS 10.0

/* The SVM's share of the risk, and the bound on its magnitude, in nats */
#define SVM_WEIGHT 0.3
#define SVM_CLAMP 10.0

/*
 * The share of a new place's novelty that counts when the device is known,
 * and of a new device's when the wide network is known (see novelty()).
 * They were chosen on the benchmark with nightly retraining, and
 * test/quality/results/tuning.md has the alternatives measured.
 */
#define KNOWN_DEVICE_PLACE_SHARE 0.5
#define KNOWN_NETWORK_DEVICE_SHARE 0.2

/* Risk, in nats, that maps to a score of 0.5, and the logistic's scale */
#define RISK_MIDPOINT 2.9
#define RISK_SCALE 1.5

/*
 * Population rates of new values per login, by field: the share of logins
 * whose value the user had used only that once (for the country: the share
 * that brought a country new to the user), over all users of the generated
 * benchmark (test/gen, seed 1, 3,000 users, 120 days).
 *
 * NOTE: these are built in, not measured on the installation's own users;
 * they matter only for users with few logins.
 */
static const double population_rate[LA_NUM_FIELDS] = {
	[LA_COUNTRY] = 0.00244,
	[LA_REGION] = 0.00049,
	[LA_CITY] = 0.00077,
	[LA_BROWSER] = 0.00048,
	[LA_OS] = 0.00018,
	[LA_DEVICE] = 0.00015,
	[LA_NETWORK] = 0.2155,
	[LA_WIDE_NETWORK] = 0.0574,
};

static const LaField chain_location[] = {LA_COUNTRY, LA_REGION, LA_CITY};
static const LaField chain_network[] = {LA_WIDE_NETWORK, LA_NETWORK};
static const LaField chain_device[] = {LA_DEVICE, LA_OS, LA_BROWSER};

static const LaSeenValue *
find_value(const LaFieldSummary *s, uint32 hash)
{
	if (s->hashes != NULL)
	{
		for (int i = 0; i < s->nvalues; i++)
		{
			if (s->hashes[i] == hash)
				return &s->values[i];
		}
		return NULL;
	}
	for (int i = 0; i < s->nvalues; i++)
	{
		if (s->values[i].hash == hash)
			return &s->values[i];
	}
	return NULL;
}

/*
 * Return the chance that this user uses a value of field f never used
 * before.  For the country it counts first visits, not singletons: a trip brings
 * several logins from one new country, so a user who travels has few
 * singleton countries but many countries.  A summary that overflowed
 * undercounts them, which only makes a new country dearer.
 */
double
la_novelty_rate(const LaModel *m, LaField f)
{
	const LaFieldSummary *s = &m->summary[f];
	double		new_values = s->singletons;

	if (f == LA_COUNTRY)
		new_values = Max(new_values, (double) s->nvalues);
	/* every value of the first login was new, which says nothing of the user */
	new_values = Max(new_values - 1.0, 0.0);
	return (new_values + NOVELTY_PRIOR_LOGINS * population_rate[f]) /
		(m->logins - 1 + NOVELTY_PRIOR_LOGINS);
}

/*
 * A value counts as new when the summary does not list it.  A summary that
 * overflowed (other_count > 0) may have dropped a rarely used value; such a
 * value is taken as new too, which the many singletons of such a user make
 * cheap.
 */
static bool
is_new(const LaModel *m, const LaLogin *login, LaField f)
{
	return find_value(&m->summary[f], login->hash[f]) == NULL;
}

static double
chain_novelty(const LaModel *m, const LaLogin *login, const LaField *chain, int n)
{
	for (int i = 0; i < n; i++)
	{
		if (is_new(m, login, chain[i]))
			return -log(la_novelty_rate(m, chain[i]));
	}
	return 0.0;
}

/* SVM_WEIGHT * ln(rho / g(x)), clamped */
static double
svm_evidence(const LaModel *m, const LaLogin *login)
{
	double		g = 0.0;
	double		rho = Max(m->rho, 1e-12);
	double		evidence;

	for (int i = 0; i < m->nsv; i++)
	{
		const LaSupportVector *sv = &m->sv[i];

		g += sv->alpha * exp(-m->gamma * la_login_distance(m->weights, sv, login));
	}
	if (g <= 0.0)
		return SVM_WEIGHT * SVM_CLAMP;
	evidence = log(rho / g);
	return SVM_WEIGHT * Max(-SVM_CLAMP, Min(SVM_CLAMP, evidence));
}

/*
 * Return the novelty of a login in nats, the first part of its risk.
 *
 * The chains are not independent.  A new location usually brings new
 * networks with it (a hotel's, a local carrier's), so a new network is
 * counted only in a location the user has used.  A known user agent
 * (device class, OS and browser all seen) makes a new location cheaper:
 * that is how a trip looks.  A wide network the user has used makes a new
 * device cheaper: that is how a new phone at home looks.  What stays
 * expensive is a new network in a known location with a known user agent,
 * the pattern of a targeted takeover from the victim's city.
 *
 * NOTE: a user agent is easy to copy.  An attacker abroad who sends the
 * victim's browser, OS and device class pays half the novelty of the new
 * location, like a traveller.
 */
static double
novelty(const LaModel *m, const LaLogin *login)
{
	double		location = chain_novelty(m, login, chain_location, lengthof(chain_location));
	double		network = 0.0;
	double		device = chain_novelty(m, login, chain_device, lengthof(chain_device));
	bool		wide_known = !is_new(m, login, LA_WIDE_NETWORK);

	/* the network chain without looking up the wide network again */
	if (location == 0.0)
	{
		if (!wide_known)
			network = -log(la_novelty_rate(m, LA_WIDE_NETWORK));
		else if (is_new(m, login, LA_NETWORK))
			network = -log(la_novelty_rate(m, LA_NETWORK));
	}
	if (device == 0.0)
		location *= KNOWN_DEVICE_PLACE_SHARE;
	if (wide_known)
		device *= KNOWN_NETWORK_DEVICE_SHARE;
	return location + network + device;
}

/* The risk of a login in nats: novelty plus the SVM's evidence */
double
la_risk(const LaModel *m, const LaLogin *login)
{
	return novelty(m, login) + svm_evidence(m, login);
}

/*
 * Margin, in nats, that keeps the logistic's rounding from changing a
 * decision of la_score_may_exceed().  Thresholds closer than BOUND_EDGE to
 * 0 or 1 always take the full path, because there the margin would be
 * smaller than a double's rounding in the score.
 */
#define BOUND_MARGIN_NATS 0.001
#define BOUND_EDGE 1e-6

/*
 * Return false when the login's score cannot exceed threshold: when even
 * the SVM's largest share (SVM_WEIGHT * SVM_CLAMP nats) cannot lift its
 * novelty there.  The trigger then skips the kernel sum, which is most of
 * the cost of scoring, for the many logins that have nothing new, and its
 * decision stays the one la_score() would give.
 */
bool
la_score_may_exceed(const LaModel *m, const LaLogin *login, double threshold)
{
	double		threshold_risk;

	if (!(threshold > BOUND_EDGE && threshold < 1.0 - BOUND_EDGE))
		return true;
	threshold_risk = RISK_MIDPOINT + RISK_SCALE * log(threshold / (1.0 - threshold));
	return novelty(m, login) + SVM_WEIGHT * SVM_CLAMP > threshold_risk - BOUND_MARGIN_NATS;
}

double
la_score(const LaModel *m, const LaLogin *login)
{
	return 1.0 / (1.0 + exp(-(la_risk(m, login) - RISK_MIDPOINT) / RISK_SCALE));
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
		return psprintf("%s %s never seen in %d %s%s", name, value, m->logins,
						m->logins == 1 ? "login" : "logins", usual_part);
	if (seen == NULL)
		return psprintf("%s %s not among the %d most used in %d logins%s",
						name, value, s->nvalues, m->logins, usual_part);
	if (seen->count < RARE_SHARE * m->logins)
		return psprintf("%s %s seen in only %u of %d logins%s",
						name, value, seen->count, m->logins, usual_part);
	return NULL;
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
	return psprintf("hour %02d:%02d UTC unusual: no login within an hour of it in %u %s (busiest hour %02d:00 UTC)",
					h, (int) ((login->hour - h) * 60.0), total,
					total == 1 ? "login" : "logins", busiest);
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
 * text[].  Empty when no single field is unusual on its own.  A changed country hides
 * the changes of region and city it implies, and so on down.
 */
Datum
la_explain(const LaModel *m, const LaLogin *login)
{
	static const LaField order[] = {
		LA_COUNTRY, LA_REGION, LA_CITY, LA_BROWSER, LA_OS, LA_DEVICE,
		LA_WIDE_NETWORK, LA_NETWORK
	};
	/* one per field of order, hour, coordinates, and three weighing notes */
	Datum		items[lengthof(order) + 5];
	int			n = 0;
	char	   *s;
	bool		location_new = chain_novelty(m, login, chain_location, lengthof(chain_location)) > 0.0;
	bool		device_new = chain_novelty(m, login, chain_device, lengthof(chain_device)) > 0.0;

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

	/* how the chains weighed each other in the score (see novelty()) */
	if (location_new && chain_novelty(m, login, chain_network, lengthof(chain_network)) > 0.0)
		items[n++] = CStringGetTextDatum("new network not counted: the location is new");
	if (location_new && !device_new)
		items[n++] = CStringGetTextDatum(psprintf("new location counted at %.0f%%: device class, OS and browser all used before",
												  100.0 * KNOWN_DEVICE_PLACE_SHARE));
	if (device_new && !is_new(m, login, LA_WIDE_NETWORK))
		items[n++] = CStringGetTextDatum(psprintf("new device counted at %.0f%%: wide network used before",
												  100.0 * KNOWN_NETWORK_DEVICE_SHARE));

	return PointerGetDatum(construct_array(items, n, TEXTOID, -1, false, TYPALIGN_INT));
}

/*
 * Decoded models of score(model, features) and explain(model, features),
 * found by their stored form: the bytes of a value kept in the row
 * (compressed or not), or the TOAST pointer of one kept out of line.  A
 * query that scores many logins of a few thousand users then fetches,
 * decompresses and decodes each model once, not once per login.
 *
 * A value kept in the row is its own key, so its decoded model stays valid
 * for the session: a backend-wide table keeps those, and the next query
 * over the same models decodes none of them.  A TOAST pointer names one
 * value only while a snapshot can see the row that contained it (its id may
 * be reused afterwards), so models kept out of line are cached in the call
 * site's fn_extra, for one query.
 */
typedef struct StoredForm
{
	const struct varlena *bytes;
	Size		size;
} StoredForm;

typedef struct DecodedModel
{
	StoredForm	key;			/* its bytes are a copy in the table's context */
	LaModel    *model;
} DecodedModel;

/* Past this many models a table is emptied and starts again */
#define DECODED_MODELS_MAX 4096

/*
 * Bytes hashed at each end and in the middle of a stored form.  Hashing a
 * whole model (1.8 kB median) took about 9% of the time of score(model,
 * features) in the benchmark's join.  In an uncompressed form the sampled
 * bytes contain the model's rho, support vectors and hour counts, which
 * differ between users.  Lookups still compare the whole form, so a sampled
 * hash that two forms share costs a longer probe, never a wrong model.
 */
#define STORED_HASH_SAMPLE 64

static uint32
stored_form_hash(const void *key, Size keysize)
{
	const StoredForm *k = key;
	const unsigned char *p = (const unsigned char *) k->bytes;
	uint32		h;

	if (k->size <= 3 * STORED_HASH_SAMPLE)
		return hash_bytes(p, (int) k->size);
	h = hash_bytes(p, STORED_HASH_SAMPLE);
	h = hash_combine(h, hash_bytes(p + (k->size - STORED_HASH_SAMPLE) / 2,
								   STORED_HASH_SAMPLE));
	h = hash_combine(h, hash_bytes(p + k->size - STORED_HASH_SAMPLE,
								   STORED_HASH_SAMPLE));
	return hash_combine(h, hash_uint32((uint32) k->size));
}

static int
stored_form_match(const void *key1, const void *key2, Size keysize)
{
	const StoredForm *a = key1;
	const StoredForm *b = key2;

	if (a->size != b->size)
		return 1;
	return memcmp(a->bytes, b->bytes, a->size);
}

/* A table of decoded models and the memory context it lives in */
typedef struct ModelTable
{
	MemoryContext context;
	HTAB	   *models;
} ModelTable;

static ModelTable session_models;

/* Create the table's hash table, emptying its context first if it has one */
static void
reset_table(ModelTable *table, MemoryContext parent)
{
	HASHCTL		ctl;

	if (table->context == NULL)
		table->context = AllocSetContextCreate(parent,
											   "login_anomaly decoded models",
											   ALLOCSET_DEFAULT_SIZES);
	else
		MemoryContextReset(table->context);
	table->models = NULL;
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(StoredForm);
	ctl.entrysize = sizeof(DecodedModel);
	ctl.hash = stored_form_hash;
	ctl.match = stored_form_match;
	ctl.hcxt = table->context;
	table->models = hash_create("login_anomaly decoded models", 256, &ctl,
								HASH_ELEM | HASH_FUNCTION | HASH_COMPARE |
								HASH_CONTEXT);
}

/*
 * Return the model stored as datum from the table, decoding it and adding
 * it when the table does not have it yet.
 */
static const LaModel *
lookup_or_decode(ModelTable *table, MemoryContext parent, Datum datum,
				 const StoredForm *key)
{
	DecodedModel *entry;
	StoredForm	copy;
	struct varlena *raw;
	MemoryContext model_context;
	MemoryContext old;
	LaModel    *model;
	bool		found;

	if (table->models == NULL)
		reset_table(table, parent);
	entry = hash_search(table->models, key, HASH_FIND, NULL);
	if (entry != NULL)
		return entry->model;

	/*
	 * Decode into a child of the caller's context, which goes with the
	 * call, so that an invalid model leaves neither an entry nor memory
	 * behind.  Only a model that decoded moves into the table, which lives
	 * as long as the backend for models stored in the row.  The
	 * decompressed bytes stay in the caller's context.
	 */
	raw = PG_DETOAST_DATUM_PACKED(datum);
	model_context = AllocSetContextCreate(CurrentMemoryContext,
										  "login_anomaly decoded model",
										  ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(model_context);
	model = la_model_decode(raw);
	MemoryContextSwitchTo(old);

	if (hash_get_num_entries(table->models) >= DECODED_MODELS_MAX)
		reset_table(table, parent);
	copy.size = key->size;
	copy.bytes = memcpy(MemoryContextAlloc(table->context, key->size),
						key->bytes, key->size);
	entry = hash_search(table->models, &copy, HASH_ENTER, &found);
	Assert(!found);
	entry->model = model;
	MemoryContextSetParent(model_context, table->context);
	return model;
}

/*
 * Return the decoded model of a score(model, features) or explain(model,
 * features) call.  A model stored in the row comes from the session's
 * table, one stored out of line from the call site's table (fn_extra, one
 * query), and an in-memory value is decoded anew.
 */
static const LaModel *
decode_cached(FunctionCallInfo fcinfo, Datum datum)
{
	struct varlena *stored = (struct varlena *) DatumGetPointer(datum);
	StoredForm	key;
	ModelTable *call_site;

	/* an in-memory or indirect value has no stable stored form */
	if (VARATT_IS_EXTERNAL(stored) && !VARATT_IS_EXTERNAL_ONDISK(stored))
		return la_model_decode(PG_DETOAST_DATUM_PACKED(datum));
	key.bytes = stored;
	if (!VARATT_IS_EXTERNAL(stored))
	{
		key.size = VARSIZE_ANY(stored);
		return lookup_or_decode(&session_models, TopMemoryContext, datum, &key);
	}

	key.size = VARSIZE_EXTERNAL(stored);
	call_site = fcinfo->flinfo->fn_extra;
	if (call_site == NULL)
		call_site = fcinfo->flinfo->fn_extra =
			MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(ModelTable));
	return lookup_or_decode(call_site, fcinfo->flinfo->fn_mcxt, datum, &key);
}

/* score(model, features) */
Datum
la_score_model(PG_FUNCTION_ARGS)
{
	const LaModel *m = decode_cached(fcinfo, PG_GETARG_DATUM(0));
	LaLogin		login;

	la_feature_vector_decode(PG_DETOAST_DATUM_PACKED(PG_GETARG_DATUM(1)), &login);
	PG_RETURN_FLOAT8(la_score(m, &login));
}

/* explain(model, features) */
Datum
la_explain_model(PG_FUNCTION_ARGS)
{
	const LaModel *m = decode_cached(fcinfo, PG_GETARG_DATUM(0));
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

/*
 * train.c
 *		The train_model aggregate: collect one user's logins, then fit
 *		libsvm's one-class SVM with the RBF kernel and summarise the values
 *		the user has used.
 *
 * The state keeps at most twice max_training_logins logins; when it fills,
 * only the most recent max_training_logins are kept, so memory and training
 * time are bounded whatever the history.
 *
 * Since version 0.2.0 the aggregate has no partial aggregation.
 * PostgreSQL runs a partial aggregate's final function, where libsvm
 * trains, in the leader alone.  Offering it also made the planner split
 * hash partitions into partial aggregates instead of training each in a
 * worker (see the update script).  The combine, serialize and deserialize
 * functions below stay for version 0.1.0's declaration; combine refuses
 * states built with different parameters.
 *
 * libsvm allocates with malloc and C++ new, outside PostgreSQL's memory
 * contexts.  Its model is freed in a PG_FINALLY block, so an error while
 * copying it out leaks nothing.  libsvm does not check for interrupts: a
 * cancel takes effect when svm_train returns.  One user's training grows
 * with the square of the logins kept; 20,000 logins with nu = 1 took about
 * 15 s here, so login_anomaly.max_training_logins stops at 10,000.
 *
 * NOTE: libsvm does not survive running out of memory (it dereferences
 * unchecked malloc results): the backend crashes.  The training bound keeps
 * its kernel cache and problem small.
 */
#include "postgres.h"

#include <math.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <libsvm/svm.h>

#include "access/xact.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "login_anomaly.h"
#include "serial.h"

/* One training login, compact: labels are cut to what the summary keeps */
typedef struct TrainLogin
{
	LaSupportVector sv;			/* kernel inputs; alpha unused */
	TimestampTz ts;
	char	   *labels;			/* the 8 labels, concatenated */
	uint8		label_len[LA_NUM_FIELDS];
} TrainLogin;

typedef struct TrainState
{
	double		nu;
	double		gamma;
	double		weights[LA_NUM_WEIGHTS];
	int			max_logins;
	int			n;
	int			capacity;
	TrainLogin *logins;
} TrainState;

PG_FUNCTION_INFO_V1(la_train_transfn);
PG_FUNCTION_INFO_V1(la_train_finalfn);
PG_FUNCTION_INFO_V1(la_train_combinefn);
PG_FUNCTION_INFO_V1(la_train_serialfn);
PG_FUNCTION_INFO_V1(la_train_deserialfn);

/* libsvm's kernel cache in MB; the training bound keeps the matrix small */
#define SVM_CACHE_MB 16

static void
check_nu_gamma(double nu, double gamma)
{
	if (isnan(nu) || nu <= 0.0 || nu > 1.0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("nu must be in (0, 1], not %g", nu),
				 errhint("nu is the share of training logins the model may treat as outliers; 0.05 suits most users.")));
	if (isnan(gamma) || gamma <= 0.0 || gamma > 1e6)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("gamma must be in (0, 1000000], not %g", gamma),
				 errhint("gamma sets how fast similarity falls with distance in the RBF kernel.")));
}

static TrainState *
new_state(MemoryContext aggcontext, double nu, double gamma)
{
	TrainState *st = MemoryContextAllocZero(aggcontext, sizeof(TrainState));

	check_nu_gamma(nu, gamma);
	st->nu = nu;
	st->gamma = gamma;
	memcpy(st->weights, la_weights, sizeof(st->weights));
	st->max_logins = la_max_training_logins;
	st->capacity = 16;
	st->logins = MemoryContextAlloc(aggcontext, sizeof(TrainLogin) * st->capacity);
	return st;
}

/* Most recent first; logins without a time sort last */
static int
cmp_recent_first(const void *a, const void *b)
{
	const TrainLogin *x = a;
	const TrainLogin *y = b;

	if (x->sv.has_ts != y->sv.has_ts)
		return x->sv.has_ts ? -1 : 1;
	if (x->ts != y->ts)
		return x->ts > y->ts ? -1 : 1;
	return 0;
}

/* Keep only the max_logins most recent logins */
static void
trim_state(TrainState *st)
{
	if (st->n <= st->max_logins)
		return;
	qsort(st->logins, st->n, sizeof(TrainLogin), cmp_recent_first);
	for (int i = st->max_logins; i < st->n; i++)
		pfree(st->logins[i].labels);
	st->n = st->max_logins;
}

/* Make room for one more login; the caller is in the aggregate context */
static TrainLogin *
next_slot(TrainState *st)
{
	if (st->n >= 2 * st->max_logins)
		trim_state(st);
	if (st->n == st->capacity)
	{
		st->capacity *= 2;
		st->logins = repalloc(st->logins, sizeof(TrainLogin) * st->capacity);
	}
	return &st->logins[st->n++];
}

static void
add_login(TrainState *st, const LaLogin *login)
{
	TrainLogin *t = next_slot(st);
	int			total = 0;
	char	   *p;

	la_login_to_sv(login, &t->sv);
	t->ts = login->ts;
	for (int f = 0; f < LA_NUM_FIELDS; f++)
	{
		int			len = login->label_len[f];

		if (len > LA_SUMMARY_LABEL_MAX)
			len = pg_mbcliplen(login->label[f], len, LA_SUMMARY_LABEL_MAX);
		t->label_len[f] = len;
		total += len;
	}
	p = t->labels = palloc(total);
	for (int f = 0; f < LA_NUM_FIELDS; f++)
	{
		memcpy(p, login->label[f], t->label_len[f]);
		p += t->label_len[f];
	}
}

/*
 * train_model(features) and train_model(features, nu, gamma).  A NULL
 * feature vector is skipped; NULL nu or gamma take the settings' values.
 */
Datum
la_train_transfn(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext;
	MemoryContext old;
	TrainState *st;
	LaLogin		login;

	if (!AggCheckCallContext(fcinfo, &aggcontext))
		elog(ERROR, "la_train_transfn called in non-aggregate context");

	st = PG_ARGISNULL(0) ? NULL : (TrainState *) PG_GETARG_POINTER(0);
	if (st == NULL)
	{
		double		nu = la_default_nu;
		double		gamma = la_default_gamma;

		if (PG_NARGS() >= 4)
		{
			if (!PG_ARGISNULL(2))
				nu = PG_GETARG_FLOAT8(2);
			if (!PG_ARGISNULL(3))
				gamma = PG_GETARG_FLOAT8(3);
		}
		st = new_state(aggcontext, nu, gamma);
	}

	if (PG_ARGISNULL(1))
		PG_RETURN_POINTER(st);

	la_feature_vector_decode(PG_DETOAST_DATUM_PACKED(PG_GETARG_DATUM(1)), &login);
	old = MemoryContextSwitchTo(aggcontext);
	add_login(st, &login);
	MemoryContextSwitchTo(old);

	PG_RETURN_POINTER(st);
}

Datum
la_train_combinefn(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext;
	MemoryContext old;
	TrainState *a;
	TrainState *b;

	if (!AggCheckCallContext(fcinfo, &aggcontext))
		elog(ERROR, "la_train_combinefn called in non-aggregate context");

	a = PG_ARGISNULL(0) ? NULL : (TrainState *) PG_GETARG_POINTER(0);
	b = PG_ARGISNULL(1) ? NULL : (TrainState *) PG_GETARG_POINTER(1);
	if (b == NULL)
		PG_RETURN_POINTER(a);

	old = MemoryContextSwitchTo(aggcontext);
	if (a == NULL)
	{
		a = new_state(aggcontext, b->nu, b->gamma);
		memcpy(a->weights, b->weights, sizeof(a->weights));
		a->max_logins = b->max_logins;
	}
	else if (a->nu != b->nu || a->gamma != b->gamma || a->max_logins != b->max_logins ||
			 memcmp(a->weights, b->weights, sizeof(a->weights)) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot combine training states built with different parameters"),
				 errhint("Use the same nu, gamma, weights and max_training_logins for every login of a user.")));

	for (int i = 0; i < b->n; i++)
	{
		TrainLogin *t = next_slot(a);
		int			total = 0;

		*t = b->logins[i];
		for (int f = 0; f < LA_NUM_FIELDS; f++)
			total += t->label_len[f];
		t->labels = palloc(total);
		memcpy(t->labels, b->logins[i].labels, total);
	}
	MemoryContextSwitchTo(old);

	PG_RETURN_POINTER(a);
}

/*
 * Serialized state: f8 nu, f8 gamma, f8 x 10 weights, u32 max_logins,
 * u32 count, then per login: u8 flags, i64 ts, f8 hour, f8 lat, f8 lon,
 * u32 x 8 hashes, 8 x { u8 length, bytes }.
 */
Datum
la_train_serialfn(PG_FUNCTION_ARGS)
{
	TrainState *st = (TrainState *) PG_GETARG_POINTER(0);
	StringInfoData buf;

	if (!AggCheckCallContext(fcinfo, NULL))
		elog(ERROR, "la_train_serialfn called in non-aggregate context");

	initStringInfo(&buf);
	appendStringInfoSpaces(&buf, VARHDRSZ);
	la_write_f8(&buf, st->nu);
	la_write_f8(&buf, st->gamma);
	for (int w = 0; w < LA_NUM_WEIGHTS; w++)
		la_write_f8(&buf, st->weights[w]);
	la_write_u32(&buf, st->max_logins);
	la_write_u32(&buf, st->n);
	for (int i = 0; i < st->n; i++)
	{
		TrainLogin *t = &st->logins[i];
		const char *p = t->labels;

		la_write_u8(&buf, (t->sv.has_ts ? 1 : 0) | (t->sv.has_place ? 2 : 0));
		la_write_i64(&buf, t->ts);
		la_write_f8(&buf, t->sv.hour);
		la_write_f8(&buf, t->sv.lat);
		la_write_f8(&buf, t->sv.lon);
		for (int f = 0; f < LA_NUM_FIELDS; f++)
			la_write_u32(&buf, t->sv.hash[f]);
		for (int f = 0; f < LA_NUM_FIELDS; f++)
		{
			la_write_u8(&buf, t->label_len[f]);
			appendBinaryStringInfo(&buf, p, t->label_len[f]);
			p += t->label_len[f];
		}
	}
	SET_VARSIZE(buf.data, buf.len);
	PG_RETURN_BYTEA_P((bytea *) buf.data);
}

/* Deserialize distrusts its bytes like any other decoder */
Datum
la_train_deserialfn(PG_FUNCTION_ARGS)
{
	bytea	   *raw = PG_GETARG_BYTEA_PP(0);
	MemoryContext aggcontext;
	MemoryContext old;
	LaReader	r;
	TrainState *st;
	double		nu;
	double		gamma;
	uint32		n;

	if (!AggCheckCallContext(fcinfo, &aggcontext))
		elog(ERROR, "la_train_deserialfn called in non-aggregate context");

	la_reader_init(&r, VARDATA_ANY(raw), VARSIZE_ANY_EXHDR(raw), "training state");
	nu = la_read_f8(&r);
	gamma = la_read_f8(&r);
	old = MemoryContextSwitchTo(aggcontext);
	st = new_state(aggcontext, nu, gamma);
	for (int w = 0; w < LA_NUM_WEIGHTS; w++)
	{
		st->weights[w] = la_read_f8(&r);
		if (st->weights[w] < 0.0 || st->weights[w] > 1000.0)
			la_corrupt(&r, "Weight out of range");
	}
	st->max_logins = la_read_u32(&r);
	if (st->max_logins < 1 || st->max_logins > 10000)
		la_corrupt(&r, "Training bound out of range");
	n = la_read_u32(&r);
	for (uint32 i = 0; i < n; i++)
	{
		LaLogin		login;
		uint8		flags = la_read_u8(&r);
		TimestampTz ts = la_read_i64(&r);
		double		hour = la_read_f8(&r);
		double		lat = la_read_f8(&r);
		double		lon = la_read_f8(&r);

		memset(&login, 0, sizeof(login));
		la_set_time(&login, (flags & 1) != 0, ts);
		if (login.has_ts && fabs(login.hour - hour) > 1e-9)
			la_corrupt(&r, "Hour does not match the login time");
		la_set_place(&login, (flags & 2) != 0, lat, (flags & 2) != 0, lon);
		if (flags & ~3)
			la_corrupt(&r, "Unknown login flags");
		if ((flags & 2) && !login.has_place)
			la_corrupt(&r, "Coordinates out of range");

		/*
		 * The hashes cannot be recomputed here: the labels were cut to the
		 * summary's length, and the hashes were taken of the whole values
		 */
		for (int f = 0; f < LA_NUM_FIELDS; f++)
		{
			login.hash[f] = la_read_u32(&r);
			if (login.hash[f] > LA_HASH_MASK)
				la_corrupt(&r, "Hash out of range");
		}
		for (int f = 0; f < LA_NUM_FIELDS; f++)
		{
			uint8		len = la_read_u8(&r);

			if (len == 0 || len > LA_SUMMARY_LABEL_MAX)
				la_corrupt(&r, "Label length out of range");
			login.label[f] = la_read_bytes(&r, len);
			login.label_len[f] = len;
		}
		add_login(st, &login);
	}
	la_reader_finish(&r);
	MemoryContextSwitchTo(old);

	PG_RETURN_POINTER(st);
}

/* Maximum nodes of a login's sparse vector: hour, place, fields, end */
#define SVM_NODES_MAX (5 + LA_NUM_FIELDS + 1)

/* Factors that scale a login's parts in the sparse vector, from the weights */
typedef struct SvmScale
{
	double		hour;
	double		place;
	double		field[LA_NUM_FIELDS];
} SvmScale;

static void
svm_scale(const double *weights, SvmScale *scale)
{
	scale->hour = sqrt(weights[LA_W_HOUR]) / 2.0;
	scale->place = sqrt(weights[LA_W_PLACE]) / 2.0;
	for (int f = 0; f < LA_NUM_FIELDS; f++)
		scale->field[f] = sqrt(weights[f] / 2.0);
}

/*
 * Write libsvm's sparse vector for a login into x, which has room for
 * SVM_NODES_MAX nodes.  Indices: 1 and 2 the hour on its circle, 3 to 5 the
 * place on its sphere, then one index per field and hash value.  Its
 * squared distances equal la_login_distance().
 */
static void
svm_vector(const LaSupportVector *sv, const SvmScale *scale, struct svm_node *x)
{
	int			k = 0;

	if (sv->has_ts)
	{
		for (int j = 0; j < 2; j++)
		{
			x[k].index = 1 + j;
			x[k].value = scale->hour * sv->hour_xy[j];
			k++;
		}
	}
	if (sv->has_place)
	{
		for (int j = 0; j < 3; j++)
		{
			x[k].index = 3 + j;
			x[k].value = scale->place * sv->place_xyz[j];
			k++;
		}
	}
	for (int f = 0; f < LA_NUM_FIELDS; f++)
	{
		x[k].index = 16 + (int) ((((uint32) f) << LA_HASH_BITS) | sv->hash[f]);
		x[k++].value = scale->field[f];
	}
	x[k].index = -1;
}

typedef struct ValueCount
{
	uint32		hash;
	int			first;			/* the first login that has this value */
	uint32		count;
	double		xyz[3];			/* sum of the places of those logins, for
								 * the city field only */
	int			nplaces;
} ValueCount;

static int
cmp_count_desc(const void *a, const void *b)
{
	const ValueCount *x = a;
	const ValueCount *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return x->hash < y->hash ? -1 : (x->hash > y->hash);
}

static char *
label_of(const TrainLogin *t, int field)
{
	const char *p = t->labels;

	for (int f = 0; f < field; f++)
		p += t->label_len[f];
	return pnstrdup(p, t->label_len[field]);
}

/*
 * Group the logins by one field's value and return the number of groups
 * written to groups.  Logins are visited in order, so each group's first
 * login and its sum of places do not depend on how the grouping is done.
 * table is an open-addressing table of group numbers with slots entries, a
 * power of two of at least twice the logins, all -1 on entry.
 */
static int
group_by_value(const TrainState *st, int field, int *table, int slots,
			   ValueCount *groups)
{
	int			ngroups = 0;

	for (int i = 0; i < st->n; i++)
	{
		const TrainLogin *t = &st->logins[i];
		uint32		hash = t->sv.hash[field];
		uint32		pos = (hash * 2654435761u) & (slots - 1);
		ValueCount *g;

		while (table[pos] >= 0 && groups[table[pos]].hash != hash)
			pos = (pos + 1) & (slots - 1);
		if (table[pos] < 0)
		{
			table[pos] = ngroups;
			g = &groups[ngroups++];
			memset(g, 0, sizeof(ValueCount));
			g->hash = hash;
			g->first = i;
		}
		g = &groups[table[pos]];
		g->count++;
		if (field == LA_CITY && t->sv.has_place)
		{
			for (int j = 0; j < 3; j++)
				g->xyz[j] += t->sv.place_xyz[j];
			g->nplaces++;
		}
	}
	return ngroups;
}

/* Summarise one field: the distinct values, most frequent first */
static void
summarise_field(const TrainState *st, int field, LaFieldSummary *s)
{
	int			slots = 16;
	int		   *table;
	ValueCount *groups = palloc(sizeof(ValueCount) * st->n);
	int			ngroups;
	uint32		kept = 0;

	while (slots < 2 * st->n)
		slots *= 2;
	table = palloc(sizeof(int) * slots);
	memset(table, 0xff, sizeof(int) * slots);
	ngroups = group_by_value(st, field, table, slots, groups);
	qsort(groups, ngroups, sizeof(ValueCount), cmp_count_desc);
	s->singletons = 0;
	for (int i = 0; i < ngroups; i++)
	{
		if (groups[i].count == 1)
			s->singletons++;
	}

	s->nvalues = Min(ngroups, LA_SUMMARY_MAX_VALUES);
	s->values = palloc0(sizeof(LaSeenValue) * s->nvalues);
	for (int i = 0; i < s->nvalues; i++)
	{
		ValueCount *g = &groups[i];
		LaSeenValue *v = &s->values[i];

		v->hash = g->hash;
		v->count = g->count;
		v->label = i < LA_SUMMARY_MAX_LABELS ? label_of(&st->logins[g->first], field) : NULL;
		v->lat = v->lon = NAN;
		if (field == LA_CITY && g->nplaces > 0)
		{
			double		norm = sqrt(g->xyz[0] * g->xyz[0] + g->xyz[1] * g->xyz[1] +
									g->xyz[2] * g->xyz[2]);

			/* the mean direction; antipodal places cancel, then keep one */
			if (norm > 1e-9)
			{
				v->lat = asin(Max(-1.0, Min(1.0, g->xyz[2] / norm))) * 180.0 / M_PI;
				v->lon = atan2(g->xyz[1], g->xyz[0]) * 180.0 / M_PI;
			}
			else
			{
				v->lat = st->logins[g->first].sv.lat;
				v->lon = st->logins[g->first].sv.lon;
			}
		}
		kept += g->count;
	}
	s->other_count = st->n - kept;
	pfree(table);
	pfree(groups);
}

/* The model's kernel sum at a training login */
static double
kernel_sum(const LaModel *m, const LaSupportVector *x)
{
	LaLogin		login;
	double		g = 0.0;

	memset(&login, 0, sizeof(login));
	login.has_ts = x->has_ts;
	login.has_place = x->has_place;
	memcpy(login.hour_xy, x->hour_xy, sizeof(login.hour_xy));
	memcpy(login.place_xyz, x->place_xyz, sizeof(login.place_xyz));
	memcpy(login.hash, x->hash, sizeof(login.hash));
	for (int i = 0; i < m->nsv; i++)
		g += m->sv[i].alpha * exp(-m->gamma * la_login_distance(m->weights, &m->sv[i], &login));
	return g;
}

/* libsvm prints its progress to stdout, which a backend must not write to */
static void
quiet_print(const char *s)
{
}

/* Fit the SVM on the state's logins and fill the model's kernel part */
static void
fit_svm(const TrainState *st, LaModel *m)
{
	struct svm_problem prob;
	struct svm_parameter param;
	struct svm_model *volatile fitted = NULL;
	const char *problem;
	struct svm_node *nodes;
	SvmScale	scale;

	svm_scale(st->weights, &scale);
	prob.l = st->n;
	prob.y = palloc(sizeof(double) * st->n);
	prob.x = palloc(sizeof(struct svm_node *) * st->n);
	nodes = palloc(sizeof(struct svm_node) * SVM_NODES_MAX * st->n);
	for (int i = 0; i < st->n; i++)
	{
		prob.y[i] = 1.0;
		prob.x[i] = nodes + SVM_NODES_MAX * i;
		svm_vector(&st->logins[i].sv, &scale, prob.x[i]);
	}

	memset(&param, 0, sizeof(param));
	param.svm_type = ONE_CLASS;
	param.kernel_type = RBF;
	param.gamma = st->gamma;
	param.nu = m->nu_effective;
	param.cache_size = SVM_CACHE_MB;
	param.eps = 1e-3;
	param.shrinking = 1;
	param.probability = 0;

	problem = svm_check_parameter(&prob, &param);
	if (problem != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("libsvm rejected the training parameters: %s", problem)));

	svm_set_print_string_function(quiet_print);
	CHECK_FOR_INTERRUPTS();

	PG_TRY();
	{
		fitted = svm_train(&prob, &param);
		m->rho = fitted->rho[0];
		m->nsv = fitted->l;
		m->sv = palloc0(sizeof(LaSupportVector) * Max(fitted->l, 1));
		for (int i = 0; i < fitted->l; i++)
		{
			int			idx = fitted->sv_indices[i] - 1;

			if (idx < 0 || idx >= st->n)
				elog(ERROR, "libsvm returned support vector index %d of %d", idx, st->n);
			m->sv[i] = st->logins[idx].sv;
			m->sv[i].alpha = fitted->sv_coef[0][i];
		}
	}
	PG_FINALLY();
	{
		if (fitted != NULL)
			svm_free_and_destroy_model((struct svm_model **) &fitted);
	}
	PG_END_TRY();

	/*
	 * With every alpha at its upper bound (nu * logins = logins, as for a
	 * single login) libsvm has no free support vector to place the boundary
	 * on and returns an infinite rho.  Put the boundary at the least
	 * typical training login instead, so that none is outside.
	 */
	if (!isfinite(m->rho))
	{
		m->rho = -1.0;
		for (int i = 0; i < st->n; i++)
		{
			double		g = kernel_sum(m, &st->logins[i].sv);

			CHECK_FOR_INTERRUPTS();
			if (m->rho < 0.0 || g < m->rho)
				m->rho = g;
		}
	}

	pfree(nodes);
	pfree(prob.x);
	pfree(prob.y);
}

/*
 * Training frees megabytes (libsvm's kernel cache, the aggregate's states)
 * that glibc keeps in the backend's heap.  Measured once on 500 users: a
 * backend's private memory (RssAnon) went from 14 MB to 30 MB after
 * train(), and back to 15 MB after malloc_trim().  So a transaction that
 * trained gives that memory back to the operating system when it ends.
 */
static bool trim_at_xact_end = false;

static void
trim_after_training(XactEvent event, void *arg)
{
	if (!trim_at_xact_end)
		return;
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT)
	{
		trim_at_xact_end = false;
#ifdef __GLIBC__
		malloc_trim(0);
#endif
	}
}

static void
trim_when_transaction_ends(void)
{
	static bool registered = false;

	if (!registered)
	{
		RegisterXactCallback(trim_after_training, NULL);
		registered = true;
	}
	trim_at_xact_end = true;
}

Datum
la_train_finalfn(PG_FUNCTION_ARGS)
{
	TrainState *st;
	LaModel		m;

	if (!AggCheckCallContext(fcinfo, NULL))
		elog(ERROR, "la_train_finalfn called in non-aggregate context");
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	st = (TrainState *) PG_GETARG_POINTER(0);
	if (st->n == 0)
		PG_RETURN_NULL();

	/*
	 * The final function may run more than once on one state (a window
	 * aggregate), so trimming must leave a state that is still valid.
	 */
	trim_state(st);

	memset(&m, 0, sizeof(m));
	m.logins = st->n;
	m.trained_at = GetCurrentTransactionStartTimestamp();
	m.nu = st->nu;
	m.nu_effective = Max(st->nu, 1.0 / st->n);
	m.gamma = st->gamma;
	memcpy(m.weights, st->weights, sizeof(m.weights));

	trim_when_transaction_ends();
	fit_svm(st, &m);

	for (int f = 0; f < LA_NUM_FIELDS; f++)
	{
		CHECK_FOR_INTERRUPTS();
		summarise_field(st, f, &m.summary[f]);
	}
	for (int i = 0; i < st->n; i++)
	{
		if (st->logins[i].sv.has_ts)
			m.hours[Min((int) st->logins[i].sv.hour, 23)]++;
	}

	elog(DEBUG1, "login_anomaly: trained a model on %d logins: %d support vectors, rho %g",
		 m.logins, m.nsv, m.rho);

	la_model_validate(&m);
	PG_RETURN_POINTER(la_model_encode(&m));
}

/*
 * login_anomaly.h
 *		Shared definitions of the login_anomaly extension: the decoded login,
 *		the field weights, the decoded model and the settings.
 *
 * A login is encoded as eight categorical fields (each a 27-bit hash of
 * "field value", one-hot in the SVM's input space), the hour of day on a
 * circle and, when known, the place as a point on the unit sphere.  The SVM
 * only ever sees squared distances between logins, so la_login_distance()
 * below is the whole geometry; see encode.c for how each part is weighted.
 */
#ifndef LOGIN_ANOMALY_H
#define LOGIN_ANOMALY_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "fmgr.h"

/* The categorical fields, in the order they are stored */
typedef enum LaField
{
	LA_COUNTRY = 0,
	LA_REGION,
	LA_CITY,
	LA_BROWSER,
	LA_OS,
	LA_DEVICE,
	LA_NETWORK,					/* IPv4 /24 or IPv6 /64 */
	LA_WIDE_NETWORK,			/* IPv4 /16 or IPv6 /48 */
	LA_NUM_FIELDS
} LaField;

/* Weights: one per categorical field, then the hour and the place */
#define LA_W_HOUR	LA_NUM_FIELDS
#define LA_W_PLACE	(LA_NUM_FIELDS + 1)
#define LA_NUM_WEIGHTS (LA_NUM_FIELDS + 2)

/* Hashes are reduced to 27 bits so field and hash fit one libsvm index */
#define LA_HASH_BITS 27
#define LA_HASH_MASK ((((uint32) 1) << LA_HASH_BITS) - 1)

/* Field values longer than this many bytes are cut before hashing */
#define LA_VALUE_MAX 200

extern const char *const la_field_names[LA_NUM_FIELDS];
extern const char *const la_weight_names[LA_NUM_WEIGHTS];

/*
 * One decoded login.  Labels point into memory that the code which built
 * the struct owns, and a label is exactly the string that was hashed.
 */
typedef struct LaLogin
{
	bool		has_ts;
	bool		has_place;
	TimestampTz ts;
	double		hour;			/* UTC hour of day in [0, 24) */
	double		lat;			/* degrees, valid when has_place */
	double		lon;
	double		hour_xy[2];		/* the hour on the unit circle */
	double		place_xyz[3];	/* the place on the unit sphere */
	uint32		hash[LA_NUM_FIELDS];
	const char *label[LA_NUM_FIELDS];
	int			label_len[LA_NUM_FIELDS];
} LaLogin;

/* A support vector keeps only what the kernel needs */
typedef struct LaSupportVector
{
	double		alpha;
	bool		has_ts;
	bool		has_place;
	double		hour;
	double		lat;
	double		lon;
	double		hour_xy[2];		/* derived from hour */
	double		place_xyz[3];	/* derived from lat and lon */
	uint32		hash[LA_NUM_FIELDS];
} LaSupportVector;

/* One value a user has used for one field, with how often */
typedef struct LaSeenValue
{
	uint32		hash;
	uint32		count;
	char	   *label;			/* NULL when not kept */
	double		lat;			/* mean place of this value, NaN if none;
								 * kept for the city field only */
	double		lon;
} LaSeenValue;

#define LA_SUMMARY_MAX_VALUES 64	/* values kept per field */
#define LA_SUMMARY_MAX_LABELS 8 /* of which this many keep their label */
#define LA_SUMMARY_LABEL_MAX 48 /* bytes kept of each label */

typedef struct LaFieldSummary
{
	int			nvalues;
	uint32		other_count;	/* logins whose value was not kept */
	uint32		singletons;		/* values seen exactly once, kept or not */
	LaSeenValue *values;		/* most frequent first */
	uint32	   *hashes;			/* the values' hashes in the same order, for
								 * a fast search.  la_model_decode builds
								 * them; a model being trained or read from
								 * text has NULL */
} LaFieldSummary;

/* A decoded model; see model.c for the stored format */
typedef struct LaModel
{
	int			logins;
	TimestampTz trained_at;
	double		nu;				/* as requested */
	double		nu_effective;	/* max(nu, 1 / logins) */
	double		gamma;
	double		rho;
	double		weights[LA_NUM_WEIGHTS];
	int			nsv;
	LaSupportVector *sv;
	LaFieldSummary summary[LA_NUM_FIELDS];
	uint32		hours[24];		/* logins per UTC hour of day */
} LaModel;

/* Settings (login_anomaly.c) */
extern bool la_enabled;
extern double la_threshold;
extern double la_high_threshold;
extern double la_default_nu;
extern double la_default_gamma;
extern int	la_max_training_logins;
extern bool la_fail_closed;
extern double la_notify_queue_warning;
extern double la_notify_queue_limit;
extern bool la_alert_without_model;
extern char *la_channel;
extern double la_weights[LA_NUM_WEIGHTS];

/* encode.c */
extern void la_compute_hashes(LaLogin *login);
extern void la_set_time(LaLogin *login, bool has_ts, TimestampTz ts);
extern void la_set_place(LaLogin *login, bool has_lat, double lat,
						 bool has_lon, double lon);
extern void la_encode_login(LaLogin *login, bool has_ts, TimestampTz ts,
							Datum ip, bool ip_null,
							text *country, text *region, text *city,
							text *user_agent,
							bool has_lat, double lat, bool has_lon, double lon);
extern void la_set_field(LaLogin *login, LaField field, const char *value, int len);
extern bool la_parse_address(const char *s, Datum *result);
extern void la_hour_point(double hour, double *xy);
extern void la_place_point(double lat, double lon, double *xyz);
extern void la_login_to_sv(const LaLogin *login, LaSupportVector *sv);
extern char *la_parse_weights(const char *spec, double *weights);
extern char *la_format_weights(const double *weights);

/* feature_vector.c */
extern void la_feature_vector_decode(struct varlena *fv, LaLogin *login);
extern struct varlena *la_feature_vector_encode(const LaLogin *login);

/* model.c */
extern LaModel *la_model_decode(struct varlena *raw);
extern struct varlena *la_model_encode(const LaModel *model);
extern void la_model_validate(const LaModel *model);

/* score.c */
extern double la_score(const LaModel *model, const LaLogin *login);
extern double la_risk(const LaModel *model, const LaLogin *login);
extern bool la_score_may_exceed(const LaModel *model, const LaLogin *login,
								double threshold);
extern double la_novelty_rate(const LaModel *model, LaField field);
extern Datum la_explain(const LaModel *model, const LaLogin *login);
extern const char *la_risk_level(double score);

/* model_cache.c */
extern void la_model_cache_init(void);

/* trigger.c */
extern void la_trigger_cache_init(void);

/*
 * Squared distance between a support vector and a login in the weighted
 * feature space.  It equals the squared Euclidean distance between the
 * sparse vectors that train.c gives libsvm, so scoring with it matches
 * libsvm's own RBF kernel without building those vectors.  Inline, since
 * the kernel sum calls it once per support vector of every login scored.
 */
static inline double
la_login_distance(const double *weights, const LaSupportVector *sv,
				  const LaLogin *login)
{
	double		d = 0.0;

	for (int f = 0; f < LA_NUM_FIELDS; f++)
	{
		if (sv->hash[f] != login->hash[f])
			d += weights[f];
	}

	if (sv->has_ts && login->has_ts)
	{
		double		dot = sv->hour_xy[0] * login->hour_xy[0] +
			sv->hour_xy[1] * login->hour_xy[1];

		d += weights[LA_W_HOUR] * (2.0 - 2.0 * dot) / 4.0;
	}
	else if (sv->has_ts != login->has_ts)
		d += weights[LA_W_HOUR] / 4.0;

	if (sv->has_place && login->has_place)
	{
		double		dot = sv->place_xyz[0] * login->place_xyz[0] +
			sv->place_xyz[1] * login->place_xyz[1] +
			sv->place_xyz[2] * login->place_xyz[2];

		d += weights[LA_W_PLACE] * (2.0 - 2.0 * dot) / 4.0;
	}
	else if (sv->has_place != login->has_place)
		d += weights[LA_W_PLACE] / 4.0;

	/* rounding can leave a tiny negative for identical points */
	return d > 0.0 ? d : 0.0;
}

#endif							/* LOGIN_ANOMALY_H */

/*
 * trigger.c
 *		The check_login trigger: score each new login against its user's
 *		model, and for an unusual one write an alert to the outbox and send
 *		NOTIFY, all in the login's own transaction.
 *
 * The outbox row is the record; NOTIFY only wakes a listener, since
 * notifications are lost when nobody listens.  Both take effect at commit,
 * so a login that is rolled back, also to a savepoint, leaves neither.
 *
 * Scoring runs in a subtransaction.  An error there (a corrupt model, a
 * column of the wrong type) does not fail the INSERT unless
 * login_anomaly.fail_closed is on: it becomes a WARNING and an alert of
 * kind scoring_failed, so the login is kept and someone hears of it.
 *
 * The function is SECURITY DEFINER, so the application role needs no right
 * on the models or alerts tables.  Every name it uses is schema-qualified
 * and it calls the output functions of built-in types only, so it needs no
 * fixed search_path (a SET clause would cost a save and restore per row).
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "access/transam.h"
#include "catalog/pg_type.h"
#include "commands/async.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/json.h"
#include "utils/timestamp.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/syscache.h"

#include "login_anomaly.h"
#include "model_cache.h"
#include "serial.h"

PG_FUNCTION_INFO_V1(la_check_login);
PG_FUNCTION_INFO_V1(la_trigger_stats);

/* The login's columns that check_login reads, in trigger-argument order */
typedef enum LoginColumn
{
	COL_USER_ID,
	COL_TS,
	COL_IP,
	COL_COUNTRY,
	COL_REGION,
	COL_CITY,
	COL_USER_AGENT,
	COL_LAT,
	COL_LON,
	COL_LOGIN_REF,
	NUM_COLUMNS
} LoginColumn;

static const char *const column_keys[NUM_COLUMNS] = {
	"user_id", "ts", "ip", "country", "region", "city", "user_agent", "lat",
	"lon", "login_ref"
};

/* Default column names; the login reference falls back to "id" */
static const char *const default_columns[NUM_COLUMNS] = {
	"user_id", "ts", "ip", "country", "region", "city", "user_agent", "lat",
	"lon", "login_id"
};

/* How check_login turns a column into text */
typedef enum ColumnReading
{
	READ_TEXT,					/* text, varchar or bpchar: used as it is */
	READ_OUTPUT,				/* through the type's built-in output function */
	READ_REFUSED				/* the output function is not built in */
} ColumnReading;

/*
 * How one trigger was set up through its arguments.  Parsed once per
 * backend and trigger, and kept until the table's relcache entry is
 * invalidated (ALTER TABLE, CREATE or DROP TRIGGER).
 *
 * The columns' types are judged on the first login scored, inside its
 * subtransaction, and kept with the configuration until a relcache or
 * pg_type invalidation.  config_generation distinguishes a judgement made
 * before such an invalidation from one made after it.
 */
typedef struct TriggerConfig
{
	Oid			tgoid;			/* hash key */
	Oid			relid;
	int			attnum[NUM_COLUMNS];	/* 0: the table has no such column */
	int			max_attnum;		/* the highest of attnum[] */
	bool		types_known;	/* reading[] and output[] are filled in */
	uint64		types_generation;	/* config_generation when they were */
	ColumnReading reading[NUM_COLUMNS];
	Oid			output[NUM_COLUMNS];	/* output function, for READ_OUTPUT */
	bool		threshold_set;	/* else login_anomaly.threshold applies */
	double		threshold;
	bool		channel_set;	/* else login_anomaly.channel applies */
	char		channel[NAMEDATALEN];
	char		error[512];		/* the first bad argument, raised once the
								 * login has been read; empty if none */
} TriggerConfig;

static HTAB *config_cache = NULL;
static uint64 config_generation = 0;

/* What one login looked like, for the alert row */
typedef struct LoginRow
{
	char	   *user_id;
	char	   *login_ref;
	bool		has_ts;
	TimestampTz ts;
	bool		has_ip;
	Datum		ip;
	text	   *field[NUM_COLUMNS];
	bool		has_lat;
	bool		has_lon;
	double		lat;
	double		lon;
	LaLogin		login;
	bool		encoded;
} LoginRow;

/* Outcome of scoring one login */
typedef struct Verdict
{
	bool		failed;
	char	   *error;
	bool		has_model;
	bool		below;			/* novelty alone showed score <= threshold */
	double		score;			/* set unless below */
	Datum		reasons;		/* text[], or 0 */
} Verdict;

/* User agents stored in alert rows are cut to this many bytes */
#define ALERT_USER_AGENT_MAX 1024

/*
 * User ids stored in alert rows are cut to this many bytes, so that they
 * fit the btree index on alerts.user_id (an entry has at most about 2.7
 * kB).  train() gives such users no model; login_table and login_ref
 * still lead to the whole login.
 */
#define ALERT_USER_ID_MAX 1024

/* Scoring failures a session warns about: the first few, then one in many */
#define WARN_FIRST_FAILURES 10
#define WARN_EVERY_FAILURES 1000

/* Queue usage warnings repeat at most this often per session */
#define NOTIFY_WARNING_INTERVAL_MS 60000

static int64 stat_scored = 0;
static int64 stat_alerts = 0;
static int64 stat_without_model = 0;
static int64 stat_failures = 0;
static int64 stat_notify_skipped = 0;
static double stat_queue_peak = 0.0;
static TimestampTz last_queue_warning = 0;

static SPIPlanPtr insert_plan = NULL;

static int
find_column(TupleDesc desc, const char *name)
{
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute attr = TupleDescAttr(desc, i);

		if (!attr->attisdropped && strcmp(NameStr(attr->attname), name) == 0)
			return i + 1;
	}
	return 0;
}

/* Record the first problem with the trigger's arguments */
static void
config_error(TriggerConfig *cfg, const char *fmt,...)
pg_attribute_printf(2, 3);

static void
config_error(TriggerConfig *cfg, const char *fmt,...)
{
	va_list		args;

	if (cfg->error[0] != '\0')
		return;
	va_start(args, fmt);
	vsnprintf(cfg->error, sizeof(cfg->error), fmt, args);
	va_end(args);
}

static double
config_threshold(const TriggerConfig *cfg)
{
	return cfg->threshold_set ? cfg->threshold : la_threshold;
}

static const char *
config_channel(const TriggerConfig *cfg)
{
	return cfg->channel_set ? cfg->channel : la_channel;
}

/*
 * Read the trigger's arguments: key=value pairs that rename columns
 * (user_id=account, ...) or set threshold and channel.  A bad argument is
 * recorded in cfg->error and the others still apply, so that the alert
 * about it can name the user and the login.
 */
static void
parse_config(TriggerData *trigdata, TriggerConfig *cfg)
{
	Trigger    *trigger = trigdata->tg_trigger;
	TupleDesc	desc = RelationGetDescr(trigdata->tg_relation);
	const char *names[NUM_COLUMNS];

	memcpy(names, default_columns, sizeof(names));
	cfg->relid = RelationGetRelid(trigdata->tg_relation);
	cfg->threshold_set = false;
	cfg->channel_set = false;
	cfg->error[0] = '\0';

	for (int i = 0; i < trigger->tgnargs; i++)
	{
		char	   *arg = pstrdup(trigger->tgargs[i]);
		char	   *eq = strchr(arg, '=');
		int			c;

		if (eq == NULL)
		{
			config_error(cfg, "invalid check_login argument \"%s\": arguments are key=value", arg);
			continue;
		}
		*eq = '\0';

		if (strcmp(arg, "threshold") == 0)
		{
			char	   *end;
			double		threshold = strtod(eq + 1, &end);

			if (*end != '\0' || end == eq + 1 || !(threshold >= 0.0 && threshold <= 1.0))
				config_error(cfg, "invalid check_login threshold \"%s\": it is a number from 0 to 1", eq + 1);
			else
			{
				cfg->threshold = threshold;
				cfg->threshold_set = true;
			}
			continue;
		}
		if (strcmp(arg, "channel") == 0)
		{
			if (eq[1] == '\0' || strlen(eq + 1) >= NAMEDATALEN)
				config_error(cfg, "invalid check_login channel \"%s\"", eq + 1);
			else
			{
				strlcpy(cfg->channel, eq + 1, NAMEDATALEN);
				cfg->channel_set = true;
			}
			continue;
		}
		for (c = 0; c < NUM_COLUMNS; c++)
		{
			if (strcmp(arg, column_keys[c]) == 0)
				break;
		}
		if (c == NUM_COLUMNS)
		{
			config_error(cfg, "unknown check_login argument \"%s\": keys are user_id, ts, ip, country, region, city, user_agent, lat, lon, login_ref, threshold and channel", arg);
			continue;
		}
		if (find_column(desc, eq + 1) == 0)
		{
			config_error(cfg, "column \"%s\" of table \"%s\" does not exist (check_login argument %s=%s)",
						 eq + 1, RelationGetRelationName(trigdata->tg_relation), arg, eq + 1);
			continue;
		}
		names[c] = eq + 1;
	}

	for (int c = 0; c < NUM_COLUMNS; c++)
		cfg->attnum[c] = find_column(desc, names[c]);
	if (cfg->attnum[COL_LOGIN_REF] == 0)
		cfg->attnum[COL_LOGIN_REF] = find_column(desc, "id");
	cfg->max_attnum = 0;
	for (int c = 0; c < NUM_COLUMNS; c++)
		cfg->max_attnum = Max(cfg->max_attnum, cfg->attnum[c]);
	cfg->types_known = false;
	if (cfg->attnum[COL_USER_ID] == 0)
		config_error(cfg, "table \"%s\" has no column \"%s\"; name the user id column with the trigger argument 'user_id=COLUMN'",
					 RelationGetRelationName(trigdata->tg_relation), names[COL_USER_ID]);
}

/* Drop the cached configurations of a table whose relcache entry changed */
static void
config_relcache_callback(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS status;
	TriggerConfig *cfg;

	if (relid == InvalidOid)
		config_generation++;
	if (config_cache == NULL)
		return;
	hash_seq_init(&status, config_cache);
	while ((cfg = hash_seq_search(&status)) != NULL)
	{
		if (relid == InvalidOid || cfg->relid == relid)
		{
			hash_search(config_cache, &cfg->tgoid, HASH_REMOVE, NULL);
			config_generation++;
		}
	}
}

/*
 * A row of pg_type changed: judge the columns' types again.  ALTER TYPE in
 * PostgreSQL 15 cannot change a type's output function, but types change
 * rarely, and judging again costs a few lookups per trigger.
 */
static void
config_type_callback(Datum arg, int cacheid, uint32 hashvalue)
{
	HASH_SEQ_STATUS status;
	TriggerConfig *cfg;

	config_generation++;
	if (config_cache == NULL)
		return;
	hash_seq_init(&status, config_cache);
	while ((cfg = hash_seq_search(&status)) != NULL)
		cfg->types_known = false;
}

void
la_trigger_cache_init(void)
{
	CacheRegisterRelcacheCallback(config_relcache_callback, (Datum) 0);
	CacheRegisterSyscacheCallback(TYPEOID, config_type_callback, (Datum) 0);
}

/* The trigger's configuration, parsed on first use in this backend */
static TriggerConfig *
get_config(TriggerData *trigdata)
{
	Oid			tgoid = trigdata->tg_trigger->tgoid;
	TriggerConfig *cfg;
	bool		found;

	if (config_cache == NULL)
	{
		HASHCTL		ctl;

		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(TriggerConfig);
		ctl.hcxt = TopMemoryContext;
		config_cache = hash_create("login_anomaly trigger configurations", 16, &ctl,
								   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	cfg = hash_search(config_cache, &tgoid, HASH_FIND, &found);
	if (found)
		return cfg;

	/* parse into a local copy first, so an error leaves no entry behind */
	{
		TriggerConfig parsed;

		memset(&parsed, 0, sizeof(parsed));
		parse_config(trigdata, &parsed);
		cfg = hash_search(config_cache, &tgoid, HASH_ENTER, &found);
		parsed.tgoid = tgoid;
		*cfg = parsed;
	}
	return cfg;
}

static Oid
column_type(TupleDesc desc, int attnum)
{
	return TupleDescAttr(desc, attnum - 1)->atttypid;
}

/*
 * Return whether a type prints through built-in code only.  The trigger
 * runs with its owner's rights, so it must not run an output function that
 * a table owner wrote.  Domains are judged by their base type and arrays by
 * their element.  Composites are rejected, because their fields may be of
 * any type.
 */
static bool
has_builtin_output(Oid type)
{
	Oid			out;
	bool		varlena;
	Oid			element;
	char		kind;

	type = getBaseType(type);
	kind = get_typtype(type);
	if (kind != TYPTYPE_BASE && kind != TYPTYPE_ENUM)
		return false;
	element = get_element_type(type);
	if (OidIsValid(element) && !has_builtin_output(element))
		return false;
	getTypeOutputInfo(type, &out, &varlena);
	return out < FirstNormalObjectId;
}

/*
 * Judge how each column that check_login may read as text is read.  Runs
 * inside the login's subtransaction, so an error here is a scoring failure
 * like any other.
 */
static void
judge_column_types(TriggerConfig *cfg, TupleDesc desc)
{
	uint64		generation = config_generation;

	for (int c = 0; c < NUM_COLUMNS; c++)
	{
		Oid			type;
		bool		varlena;

		cfg->reading[c] = READ_REFUSED;
		cfg->output[c] = InvalidOid;
		if (cfg->attnum[c] == 0)
			continue;
		type = column_type(desc, cfg->attnum[c]);
		if (type == TEXTOID || type == VARCHAROID || type == BPCHAROID)
			cfg->reading[c] = READ_TEXT;
		else if (has_builtin_output(type))
		{
			cfg->reading[c] = READ_OUTPUT;
			getTypeOutputInfo(type, &cfg->output[c], &varlena);
		}
	}
	cfg->types_generation = generation;
	cfg->types_known = true;
}

/*
 * Keep the judgement of the column types in the cached configuration,
 * unless an invalidation came since it was made
 */
static void
remember_column_types(const TriggerConfig *judged)
{
	TriggerConfig *cfg;

	if (config_cache == NULL || judged->types_generation != config_generation)
		return;
	cfg = hash_search(config_cache, &judged->tgoid, HASH_FIND, NULL);
	if (cfg == NULL || cfg->types_known || cfg->relid != judged->relid)
		return;
	memcpy(cfg->reading, judged->reading, sizeof(cfg->reading));
	memcpy(cfg->output, judged->output, sizeof(cfg->output));
	cfg->types_generation = judged->types_generation;
	cfg->types_known = true;
}

/*
 * The login's row, deformed once.  An AFTER trigger gets the row in a
 * slot, which deforms the columns up to the last one read in one pass.
 * Once a column before it is null, heap_getattr walks the row from the
 * start for every column.
 */
typedef struct LoginTuple
{
	TupleTableSlot *slot;		/* NULL: read tuple with heap_getattr */
	HeapTuple	tuple;
	TupleDesc	desc;
} LoginTuple;

static Datum
column_datum(const LoginTuple *lt, int attnum, bool *isnull)
{
	if (lt->slot != NULL)
	{
		*isnull = lt->slot->tts_isnull[attnum - 1];
		return lt->slot->tts_values[attnum - 1];
	}
	return heap_getattr(lt->tuple, attnum, lt->desc, isnull);
}

/* A column's value as text, whatever its type; NULL when absent or null */
static text *
column_text(const LoginTuple *lt, const TriggerConfig *cfg, LoginColumn c)
{
	int			attnum = cfg->attnum[c];
	bool		isnull;
	Datum		d;

	if (attnum == 0)
		return NULL;
	d = column_datum(lt, attnum, &isnull);
	if (isnull)
		return NULL;
	switch (cfg->reading[c])
	{
		case READ_TEXT:
			return DatumGetTextPP(d);
		case READ_OUTPUT:
			return cstring_to_text(OidOutputFunctionCall(cfg->output[c], d));
		case READ_REFUSED:
			break;
	}
	ereport(ERROR,
			(errcode(ERRCODE_DATATYPE_MISMATCH),
			 errmsg("column \"%s\" has type %s, which check_login does not read",
					NameStr(TupleDescAttr(lt->desc, attnum - 1)->attname),
					format_type_be(column_type(lt->desc, attnum))),
			 errhint("Use a built-in type such as text, uuid or bigint, or a domain or enum.")));
	return NULL;				/* keep compiler quiet */
}

static bool
column_double(const LoginTuple *lt, int attnum, const char *key,
			  double *result)
{
	TupleDesc	desc = lt->desc;
	bool		isnull;
	Datum		d;

	if (attnum == 0)
		return false;
	d = column_datum(lt, attnum, &isnull);
	if (isnull)
		return false;
	switch (column_type(desc, attnum))
	{
		case FLOAT8OID:
			*result = DatumGetFloat8(d);
			break;
		case FLOAT4OID:
			*result = DatumGetFloat4(d);
			break;
		case NUMERICOID:
			/* too large for a double gives an infinity: an unknown place */
			*result = DatumGetFloat8(DirectFunctionCall1(numeric_float8_no_overflow, d));
			break;
		case INT2OID:
			*result = DatumGetInt16(d);
			break;
		case INT4OID:
			*result = DatumGetInt32(d);
			break;
		case INT8OID:
			*result = (double) DatumGetInt64(d);
			break;
		default:
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("column for %s has type %s, not a number", key,
							format_type_be(column_type(desc, attnum)))));
	}
	return true;
}

/* Read the login's columns; fills row as far as it gets before an error */
static void
read_login(TriggerData *trigdata, TriggerConfig *cfg, LoginRow *row)
{
	TupleDesc	desc = RelationGetDescr(trigdata->tg_relation);
	LoginTuple	lt;
	text	   *t;
	bool		isnull;
	Datum		d;

	if (!cfg->types_known)
		judge_column_types(cfg, desc);

	lt.tuple = trigdata->tg_trigtuple;
	lt.desc = desc;
	lt.slot = trigdata->tg_trigslot;
	if (lt.slot != NULL && lt.slot->tts_tupleDescriptor->natts == desc->natts)
		slot_getsomeattrs(lt.slot, cfg->max_attnum);
	else
		lt.slot = NULL;

	t = column_text(&lt, cfg, COL_USER_ID);
	if (t != NULL)
		row->user_id = text_to_cstring(t);
	t = column_text(&lt, cfg, COL_LOGIN_REF);
	if (t != NULL)
		row->login_ref = text_to_cstring(t);
	for (int c = COL_COUNTRY; c <= COL_USER_AGENT; c++)
		row->field[c] = column_text(&lt, cfg, c);

	if (cfg->attnum[COL_TS] != 0)
	{
		d = column_datum(&lt, cfg->attnum[COL_TS], &isnull);
		if (!isnull)
		{
			Oid			type = column_type(desc, cfg->attnum[COL_TS]);

			/* a timestamp without time zone is taken as UTC */
			if (type != TIMESTAMPTZOID && type != TIMESTAMPOID)
				ereport(ERROR,
						(errcode(ERRCODE_DATATYPE_MISMATCH),
						 errmsg("login time column has type %s, not timestamptz",
								format_type_be(type))));
			row->has_ts = true;
			row->ts = DatumGetTimestampTz(d);
		}
	}

	if (cfg->attnum[COL_IP] != 0)
	{
		d = column_datum(&lt, cfg->attnum[COL_IP], &isnull);
		if (!isnull)
		{
			Oid			type = column_type(desc, cfg->attnum[COL_IP]);

			if (type == INETOID || type == CIDROID)
			{
				row->ip = d;
				row->has_ip = true;
			}
			else
			{
				/*
				 * A text address is often a forwarded header: one that does
				 * not parse counts as missing rather than as an error
				 */
				char	   *s = text_to_cstring(column_text(&lt, cfg, COL_IP));

				row->has_ip = la_parse_address(s, &row->ip);
			}
		}
	}

	row->has_lat = column_double(&lt, cfg->attnum[COL_LAT], "lat", &row->lat);
	row->has_lon = column_double(&lt, cfg->attnum[COL_LON], "lon", &row->lon);

	la_encode_login(&row->login, row->has_ts, row->ts, row->ip, !row->has_ip,
					row->field[COL_COUNTRY], row->field[COL_REGION],
					row->field[COL_CITY], row->field[COL_USER_AGENT],
					row->has_lat, row->lat, row->has_lon, row->lon);
	row->encoded = true;
}

/* Read, encode and score one login; every error here is contained */
static void
score_login(TriggerData *trigdata, TriggerConfig *cfg, LoginRow *row, Verdict *v)
{
	const LaModel *model;

	read_login(trigdata, cfg, row);
	if (cfg->error[0] != '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s", cfg->error)));
	if (row->user_id == NULL)
	{
		v->has_model = false;
		return;
	}

	model = la_cached_model(row->user_id);
	v->has_model = model != NULL;
	if (model == NULL)
		return;
	if (!la_score_may_exceed(model, &row->login, config_threshold(cfg)))
	{
		v->below = true;
		return;
	}
	v->score = la_score(model, &row->login);
	if (v->score > config_threshold(cfg))
		v->reasons = la_explain(model, &row->login);
}

/*
 * Run score_login in a subtransaction.  On error the subtransaction is
 * rolled back and the error is either re-raised (fail_closed) or turned
 * into v->failed with its message.
 */
static void
score_login_safely(TriggerData *trigdata, TriggerConfig *cfg, LoginRow *row, Verdict *v)
{
	MemoryContext oldcontext = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcontext);

	PG_TRY();
	{
		score_login(trigdata, cfg, row, v);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcontext);
		CurrentResourceOwner = oldowner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcontext);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcontext);
		CurrentResourceOwner = oldowner;

		/* a cancel or timeout stops the statement, whatever fail_closed is */
		if (la_fail_closed || edata->sqlerrcode == ERRCODE_QUERY_CANCELED ||
			edata->sqlerrcode == ERRCODE_ADMIN_SHUTDOWN)
			ReThrowError(edata);
		v->failed = true;
		v->error = edata->message;

		/*
		 * Every failure gets its alert row, but a session warns for the
		 * first few and then every thousandth, so a broken trigger does
		 * not flood the log and the client
		 */
		if (stat_failures < WARN_FIRST_FAILURES ||
			(stat_failures + 1) % WARN_EVERY_FAILURES == 0)
			ereport(WARNING,
					(errcode(edata->sqlerrcode),
					 errmsg("login_anomaly could not score a login of user \"%s\": %s",
							row->user_id ? row->user_id : "(unknown)", edata->message),
					 errdetail("The login was stored and an alert of kind scoring_failed was written; this session has had " INT64_FORMAT " such failures.",
							   stat_failures + 1),
					 errhint("Set login_anomaly.fail_closed to make such errors fail the INSERT.")));
	}
	PG_END_TRY();
}

/* Cut a string to at most max bytes at a character boundary */
static char *
clip(const char *s, int max)
{
	int			len = strlen(s);

	if (len <= max)
		return pstrdup(s);
	return pnstrdup(s, pg_mbcliplen(s, len, max));
}

static Datum
text_or_null(text *t, bool *isnull)
{
	*isnull = (t == NULL);
	return t ? PointerGetDatum(t) : (Datum) 0;
}

/*
 * The risk level of an alert.  A trigger may alert below the global
 * threshold, so an alert is at least medium, never low.
 */
static const char *
alert_risk(const Verdict *v)
{
	if (v->failed || !v->has_model)
		return "medium";
	return v->score > la_high_threshold ? "high" : "medium";
}

/* Insert the alert row and return its id */
static int64
insert_alert(TriggerData *trigdata, const TriggerConfig *cfg,
			 const LoginRow *row, const Verdict *v)
{
	Oid			types[20] = {
		TEXTOID, OIDOID, TEXTOID, TEXTOID, TIMESTAMPTZOID, INETOID, TEXTOID,
		TEXTOID, TEXTOID, FLOAT8OID, FLOAT8OID, TEXTOID, TEXTOID, TEXTOID,
		TEXTOID, FLOAT8OID, FLOAT8OID, TEXTOID, TEXTARRAYOID, TEXTOID
	};
	Datum		values[20];
	char		nulls[20];
	bool		isnull[20] = {0};
	const LaLogin *login = &row->login;
	int64		alert_id;
	bool		idnull;
	int			ret;

	values[0] = CStringGetTextDatum(v->failed ? "scoring_failed" : "anomaly");
	values[1] = ObjectIdGetDatum(RelationGetRelid(trigdata->tg_relation));
	values[2] = row->login_ref ? CStringGetTextDatum(row->login_ref) : (Datum) 0;
	isnull[2] = row->login_ref == NULL;
	values[3] = CStringGetTextDatum(row->user_id ? clip(row->user_id, ALERT_USER_ID_MAX)
									: "(unknown)");
	values[4] = TimestampTzGetDatum(row->ts);
	isnull[4] = !row->has_ts;
	values[5] = row->ip;
	isnull[5] = !row->has_ip;
	values[6] = text_or_null(row->field[COL_COUNTRY], &isnull[6]);
	values[7] = text_or_null(row->field[COL_REGION], &isnull[7]);
	values[8] = text_or_null(row->field[COL_CITY], &isnull[8]);
	values[9] = Float8GetDatum(row->lat);
	isnull[9] = !row->has_lat || !isfinite(row->lat);
	values[10] = Float8GetDatum(row->lon);
	isnull[10] = !row->has_lon || !isfinite(row->lon);
	isnull[11] = row->field[COL_USER_AGENT] == NULL;
	if (!isnull[11])
		values[11] = CStringGetTextDatum(clip(text_to_cstring(row->field[COL_USER_AGENT]),
											  ALERT_USER_AGENT_MAX));
	for (int i = 0; i < 3; i++)
	{
		LaField		f = LA_BROWSER + i;

		isnull[12 + i] = !row->encoded;
		if (row->encoded)
			values[12 + i] = PointerGetDatum(cstring_to_text_with_len(login->label[f],
																	  login->label_len[f]));
	}
	values[15] = Float8GetDatum(v->score);
	isnull[15] = v->failed || !v->has_model;
	values[16] = Float8GetDatum(config_threshold(cfg));
	values[17] = CStringGetTextDatum(alert_risk(v));
	if (v->reasons != (Datum) 0)
		values[18] = v->reasons;
	else
	{
		Datum		item = CStringGetTextDatum(v->failed ? "scoring failed" :
											   !v->has_model ? "no model for this user yet" :
											   "unusual combination of usual values");

		values[18] = PointerGetDatum(construct_array(&item, 1, TEXTOID, -1, false, TYPALIGN_INT));
	}
	values[19] = v->error ? CStringGetTextDatum(v->error) : (Datum) 0;
	isnull[19] = v->error == NULL;

	for (int i = 0; i < 20; i++)
		nulls[i] = isnull[i] ? 'n' : ' ';

	SPI_connect();
	if (insert_plan == NULL)
	{
		SPIPlanPtr	plan = SPI_prepare(
									   "INSERT INTO login_anomaly.alerts (kind, login_table, login_ref, user_id, "
									   "login_ts, ip, country, region, city, lat, lon, user_agent, browser, os, "
									   "device, score, threshold, risk, reasons, error) "
									   "VALUES ($1, $2::pg_catalog.regclass, $3, $4, $5, $6, $7, $8, $9, $10, $11, "
									   "$12, $13, $14, $15, $16, $17, $18, $19, $20) RETURNING alert_id",
									   20, types);

		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		SPI_keepplan(plan);
		insert_plan = plan;
	}
	ret = SPI_execute_plan(insert_plan, values, nulls, false, 1);
	if (ret != SPI_OK_INSERT_RETURNING || SPI_processed != 1)
		elog(ERROR, "could not insert into login_anomaly.alerts: %s",
			 SPI_result_code_string(ret));
	alert_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
										   SPI_tuptable->tupdesc, 1, &idnull));
	SPI_finish();
	return alert_id;
}

/*
 * Send the wake-up.  The payload is a small JSON object: the alert id, its
 * kind, score and risk level, well under NOTIFY's 8000-byte limit whatever
 * the login held.  It names no user and no place, because any role that
 * can connect may LISTEN: the details stay in the outbox, behind its
 * privileges.
 */
static void
notify_alert(const TriggerConfig *cfg, int64 alert_id, const LoginRow *row,
			 const Verdict *v)
{
	StringInfoData buf;
	double		usage;

	usage = DatumGetFloat8(DirectFunctionCall1(pg_notification_queue_usage, (Datum) 0));
	if (usage > stat_queue_peak)
		stat_queue_peak = usage;
	if (usage > la_notify_queue_limit)
	{
		stat_notify_skipped++;
		ereport(WARNING,
				(errmsg("login_anomaly skipped NOTIFY for alert " INT64_FORMAT ": the notification queue is %.1f%% full",
						alert_id, usage * 100.0),
				 errdetail("The alert is in login_anomaly.alerts; a mailer polling the outbox still finds it."),
				 errhint("Check for a session that is listening but not reading its notifications.")));
		return;
	}
	if (usage > la_notify_queue_warning)
	{
		TimestampTz now = GetCurrentTimestamp();

		if (last_queue_warning == 0 ||
			TimestampDifferenceExceeds(last_queue_warning, now, NOTIFY_WARNING_INTERVAL_MS))
		{
			last_queue_warning = now;
			ereport(WARNING,
					(errmsg("the notification queue is %.1f%% full", usage * 100.0),
					 errdetail("check_login stops sending NOTIFY above %.1f%% (login_anomaly.notify_queue_limit); alerts are still written to login_anomaly.alerts.",
							   la_notify_queue_limit * 100.0),
					 errhint("Check for a session that is listening but not reading its notifications.")));
		}
	}

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"alert_id\": " INT64_FORMAT ", \"kind\": \"%s\"",
					 alert_id, v->failed ? "scoring_failed" : "anomaly");
	if (v->has_model && !v->failed)
		appendStringInfo(&buf, ", \"score\": %.4f", v->score);
	appendStringInfo(&buf, ", \"risk\": \"%s\"}", alert_risk(v));

	Async_Notify(config_channel(cfg), buf.data);
}

/*
 * check_login(): AFTER INSERT FOR EACH ROW trigger on a logins table.
 * Arguments are key=value pairs: user_id, ts, ip, country, region, city,
 * user_agent, lat, lon and login_ref name the columns (defaults: the same
 * names, and login_ref defaults to login_id, then id); threshold and
 * channel override the settings of the same names.
 */
Datum
la_check_login(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TriggerConfig cfg;
	LoginRow	row;
	Verdict		v;
	bool		alert;
	int64		alert_id;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("check_login() must be called as a trigger")));
	if (!TRIGGER_FIRED_AFTER(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		!TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("check_login() must be an AFTER INSERT ... FOR EACH ROW trigger")));

	if (!la_enabled)
		return PointerGetDatum(NULL);

	/* a copy: a cache invalidation while scoring may drop the entry */
	cfg = *get_config(trigdata);
	memset(&row, 0, sizeof(row));
	memset(&v, 0, sizeof(v));

	score_login_safely(trigdata, &cfg, &row, &v);
	if (cfg.types_known)
		remember_column_types(&cfg);

	if (v.failed)
	{
		stat_failures++;
		alert = true;
	}
	else if (!v.has_model)
	{
		stat_without_model++;
		alert = la_alert_without_model;
	}
	else
	{
		stat_scored++;
		alert = !v.below && v.score > config_threshold(&cfg);
	}
	if (!alert)
		return PointerGetDatum(NULL);

	alert_id = insert_alert(trigdata, &cfg, &row, &v);
	stat_alerts++;
	notify_alert(&cfg, alert_id, &row, &v);
	elog(DEBUG2, "login_anomaly: alert " INT64_FORMAT " for user \"%s\"", alert_id,
		 row.user_id ? row.user_id : "(unknown)");

	return PointerGetDatum(NULL);
}

/*
 * trigger_stats(): what check_login did in this session.  Version 0.1.0
 * declared the first five columns only; a library newer than the SQL
 * declaration fills those.
 */
Datum
la_trigger_stats(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[6];
	bool		nulls[6] = {0};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	check_result_columns(tupdesc, tupdesc->natts == 5 ? 5 : 6);
	values[0] = Int64GetDatum(stat_scored);
	values[1] = Int64GetDatum(stat_without_model);
	values[2] = Int64GetDatum(stat_alerts);
	values[3] = Int64GetDatum(stat_failures);
	values[4] = Int64GetDatum(stat_notify_skipped);
	values[5] = Float8GetDatum(stat_queue_peak);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

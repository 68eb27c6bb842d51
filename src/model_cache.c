/*
 * model_cache.c
 *		A per-backend cache of decoded models, keyed by user id, and the
 *		functions that score a login by user id through it.
 *
 * A statement trigger on login_anomaly.models calls models_changed(), which
 * registers a relcache invalidation of that table.  Every backend receives
 * it when the changing transaction commits (and the changing backend at its
 * next command), and its relcache callback marks the whole cache stale; the
 * next lookup then empties it.  Users without a model are cached too, so a
 * new user costs one index probe per invalidation, not one per login.
 *
 * Each model is decoded into its own small memory context, so a model that
 * fails to decode leaves nothing behind, and eviction frees exactly it.
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "login_anomaly.h"
#include "model_cache.h"

/* User ids up to this many bytes are cached; longer ones are looked up */
#define CACHE_KEY_MAX 128

/* Past this many users the cache is emptied and starts again */
#define CACHE_MAX_USERS 50000

typedef struct CacheEntry
{
	char		key[CACHE_KEY_MAX];
	LaModel    *model;			/* NULL: the user has no model */
	MemoryContext context;		/* holds model; NULL when model is NULL */
} CacheEntry;

static HTAB *model_cache = NULL;
static MemoryContext cache_context = NULL;
static bool cache_stale = false;
static Oid	models_relid = InvalidOid;
static SPIPlanPtr lookup_plan = NULL;

PG_FUNCTION_INFO_V1(la_models_changed);

static void
relcache_callback(Datum arg, Oid relid)
{
	/* the table may have been dropped and created again: look it up anew */
	if (relid == InvalidOid || relid == models_relid)
	{
		cache_stale = true;
		models_relid = InvalidOid;
	}
}

void
la_model_cache_init(void)
{
	CacheRegisterRelcacheCallback(relcache_callback, (Datum) 0);
}

static void
reset_cache(void)
{
	HASHCTL		ctl;

	if (cache_context == NULL)
		cache_context = AllocSetContextCreate(TopMemoryContext,
											  "login_anomaly model cache",
											  ALLOCSET_DEFAULT_SIZES);
	else
		MemoryContextReset(cache_context);

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = CACHE_KEY_MAX;
	ctl.entrysize = sizeof(CacheEntry);
	ctl.hcxt = cache_context;
	model_cache = hash_create("login_anomaly models", 1024, &ctl,
							  HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	cache_stale = false;
}

/* The OID of login_anomaly.models, looked up by qualified name */
static Oid
get_models_relid(void)
{
	if (!OidIsValid(models_relid))
	{
		Oid			nsp = get_namespace_oid("login_anomaly", false);

		models_relid = get_relname_relid("models", nsp);
		if (!OidIsValid(models_relid))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_TABLE),
					 errmsg("table login_anomaly.models does not exist"),
					 errhint("Reinstall the extension with CREATE EXTENSION login_anomaly.")));
	}
	return models_relid;
}

/*
 * Read and decode a user's model.  Returns NULL when the user has none.
 * The model is allocated in *context, a new child of parent.
 */
static LaModel *
load_model(const char *user_id, MemoryContext parent, MemoryContext *context)
{
	Datum		arg = CStringGetTextDatum(user_id);
	LaModel    *model = NULL;
	int			ret;

	*context = NULL;
	SPI_connect();
	if (lookup_plan == NULL)
	{
		Oid			argtypes[1] = {TEXTOID};
		SPIPlanPtr	plan;

		plan = SPI_prepare("SELECT model FROM login_anomaly.models WHERE user_id OPERATOR(pg_catalog.=) $1",
						   1, argtypes);
		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		SPI_keepplan(plan);
		lookup_plan = plan;
	}

	ret = SPI_execute_plan(lookup_plan, &arg, NULL, true, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(ret));

	if (SPI_processed > 0)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		if (!isnull)
		{
			MemoryContext ctx = AllocSetContextCreate(parent, "login_anomaly model",
													  ALLOCSET_SMALL_SIZES);
			MemoryContext old = MemoryContextSwitchTo(ctx);

			PG_TRY();
			{
				model = la_model_decode(PG_DETOAST_DATUM_COPY(d));
			}
			PG_CATCH();
			{
				MemoryContextSwitchTo(old);
				MemoryContextDelete(ctx);
				PG_RE_THROW();
			}
			PG_END_TRY();
			MemoryContextSwitchTo(old);
			*context = ctx;
		}
	}
	SPI_finish();
	return model;
}

/*
 * Return the decoded model of a user, or NULL when the user has none.  The
 * result stays valid until the next call.
 */
const LaModel *
la_cached_model(const char *user_id)
{
	CacheEntry *entry;
	bool		found;
	MemoryContext ctx;
	LaModel    *model;
	static MemoryContext uncached = NULL;

	(void) get_models_relid();
	if (model_cache == NULL || cache_stale ||
		hash_get_num_entries(model_cache) >= CACHE_MAX_USERS)
		reset_cache();

	if (strlen(user_id) >= CACHE_KEY_MAX)
	{
		/* too long to cache: keep only the latest such model */
		if (uncached != NULL)
			MemoryContextDelete(uncached);
		uncached = NULL;
		return load_model(user_id, TopMemoryContext, &uncached);
	}

	entry = hash_search(model_cache, user_id, HASH_FIND, &found);
	if (found)
		return entry->model;

	/* decode first, so that an error leaves no half-built entry */
	model = load_model(user_id, cache_context, &ctx);
	entry = hash_search(model_cache, user_id, HASH_ENTER, &found);
	entry->model = model;
	entry->context = ctx;
	return model;
}

/*
 * models_changed(): statement trigger on login_anomaly.models that makes
 * every backend drop its cached models.
 */
Datum
la_models_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("models_changed() must be called as a trigger")));

	CacheInvalidateRelcache(trigdata->tg_relation);
	return PointerGetDatum(NULL);
}

/* Encode the login given as arguments 1 to 8 of a by-user function */
static void
login_from_args(FunctionCallInfo fcinfo, LaLogin *login)
{
#define ARG_TEXT(n) (PG_ARGISNULL(n) ? NULL : PG_GETARG_TEXT_PP(n))
	la_encode_login(login,
					!PG_ARGISNULL(1), PG_ARGISNULL(1) ? 0 : PG_GETARG_TIMESTAMPTZ(1),
					PG_ARGISNULL(2) ? (Datum) 0 : PG_GETARG_DATUM(2), PG_ARGISNULL(2),
					ARG_TEXT(3), ARG_TEXT(4), ARG_TEXT(5), ARG_TEXT(6),
					!PG_ARGISNULL(7), PG_ARGISNULL(7) ? 0 : PG_GETARG_FLOAT8(7),
					!PG_ARGISNULL(8), PG_ARGISNULL(8) ? 0 : PG_GETARG_FLOAT8(8));
#undef ARG_TEXT
}

PG_FUNCTION_INFO_V1(la_score_user);
PG_FUNCTION_INFO_V1(la_explain_user);

/*
 * score(user_id, ts, ip, country, region, city, user_agent, lat, lon):
 * NULL when user_id is NULL or the user has no model.
 */
Datum
la_score_user(PG_FUNCTION_ARGS)
{
	const LaModel *model;
	LaLogin		login;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	model = la_cached_model(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	if (model == NULL)
		PG_RETURN_NULL();
	login_from_args(fcinfo, &login);
	PG_RETURN_FLOAT8(la_score(model, &login));
}

/* explain(user_id, ...): the reasons, or one item saying there is no model */
Datum
la_explain_user(PG_FUNCTION_ARGS)
{
	const LaModel *model;
	LaLogin		login;
	Datum		item;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	model = la_cached_model(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	if (model == NULL)
	{
		item = CStringGetTextDatum("no model for this user yet");
		PG_RETURN_DATUM(PointerGetDatum(construct_array(&item, 1, TEXTOID, -1,
														false, TYPALIGN_INT)));
	}
	login_from_args(fcinfo, &login);
	PG_RETURN_DATUM(la_explain(model, &login));
}
